//! `facevault vendor add|list`, `facevault disclose` and `facevault docs generate`: the vendor
//! registry, disclosures to vendors, and the documents generated from the live configuration.
//!
//! The registry is `vendors.toml` in the vault directory (`[[vendor]]` tables), next to
//! `purposes.toml` and `policy.cedar`; who the clinic is for the documents is `clinic.toml`.
//! Configuration, not personal data: nothing here names a subject but by pseudonymous id.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Subcommand;
use facevault_domain::settings;
use facevault_domain::{
    check_disclosure, missing_terms, ClinicInfo, DataCategory, DisclosureKind, Documents, VendorRegistry,
};
use facevault_mesh::{FileFormat, ReadOptions};
use facevault_policy::{gates, Action, Role};
use facevault_vault::{Node, ScanId, Target, VaultError};
use zeroize::Zeroizing;

use super::vault::{fail, write_private, Ctx, Vault};
use super::Failure;
use facevault_app::Record;

/// The vendor registry in the vault directory.
pub(crate) const VENDORS_FILE: &str = "vendors.toml";
/// Who the clinic is, for the generated documents.
pub(crate) const CLINIC_FILE: &str = "clinic.toml";

#[derive(Debug, Subcommand)]
pub enum VendorCommand {
    /// Add vendors from a TOML file of `[[vendor]]` tables (id, name, role, terms, purposes,
    /// categories, region, contact; see docs/examples/vendors.toml). The registry is checked
    /// as a whole against the purpose catalogue before it is saved.
    Add { file: PathBuf },
    /// List the registry: role, region, allowed purposes and categories, and the contract
    /// terms its role requires that are missing (a vendor missing terms receives nothing).
    List,
}

#[derive(Debug, Subcommand)]
pub enum DocsCommand {
    /// Write the record of processing (GDPR Art. 30), the public biometric retention schedule
    /// (BIPA 15(a)) and the consent notices per jurisdiction, as Markdown, HTML and JSON, from
    /// the vault's live configuration (purposes.toml, vendors.toml, clinic.toml).
    Generate {
        /// Where to write them (default: the vault's docs/ folder).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn input(msg: String) -> anyhow::Error {
    Failure::Input(msg).into()
}

/// The registry from `vendors.toml` (empty when the file is absent), checked against the
/// catalogue.
pub(crate) fn registry(ctx: &Ctx<'_>) -> Result<VendorRegistry> {
    let path = ctx.dir.join(VENDORS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(input(format!("{}: {e}", path.display()))),
    };
    parse_registry(&text, ctx, &path)
}

fn parse_registry(text: &str, ctx: &Ctx<'_>, path: &Path) -> Result<VendorRegistry> {
    settings::vendor_registry(text, ctx.policy().catalogue())
        .map_err(|e| input(format!("{}: {e}", path.display())))
}

fn require(ctx: &Ctx<'_>, roles: &[Role], action: &'static str) -> Result<()> {
    ctx.require_role(roles, action, "vendors".into(), "administration")
}

pub(crate) fn vendor(ctx: &Ctx<'_>, cmd: VendorCommand) -> Result<()> {
    match cmd {
        VendorCommand::Add { file } => {
            require(ctx, gates::COMPLIANCE, "vendor.add")?;
            let added =
                std::fs::read_to_string(&file).map_err(|e| input(format!("{}: {e}", file.display())))?;
            // Check the file alone first, so an error names the file it is in.
            let new = parse_registry(&added, ctx, &file)?;
            let path = ctx.dir.join(VENDORS_FILE);
            let current = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => return Err(input(format!("{}: {e}", path.display()))),
            };
            let combined = format!("{}\n{}\n", current.trim_end(), added.trim_end());
            parse_registry(&combined, ctx, &file)?;
            write_private(&path, combined.trim_start().as_bytes())?;
            for v in new.vendors() {
                let missing = missing_terms(v);
                ctx.push(Record::change(
                    "vendor.add",
                    "administration",
                    format!("vendor:{}", v.id.as_str()),
                    format!("{:?} in {}; {} contract term(s) missing", v.role, v.region, missing.len()),
                ));
                println!("{}", v.id.as_str());
                if !missing.is_empty() {
                    eprintln!(
                        "vendor {}: its contract lacks {} required term(s); nothing is disclosed to it until they are added",
                        v.id.as_str(),
                        missing.len()
                    );
                }
            }
        }
        VendorCommand::List => {
            let reg = registry(ctx)?;
            let mut out = std::io::stdout().lock();
            for v in reg.vendors() {
                let purposes: Vec<&str> = v.purposes.iter().map(|p| p.as_str()).collect();
                let categories: Vec<&str> = v.categories.iter().map(|c| c.id()).collect();
                writeln!(out, "{}  {} ({:?}, {})", v.id.as_str(), v.name, v.role, v.region)?;
                writeln!(out, "    purposes    {}", purposes.join(", "))?;
                writeln!(out, "    categories  {}", categories.join(", "))?;
                let missing = missing_terms(v);
                if missing.is_empty() {
                    writeln!(out, "    contract    complete for its role")?;
                } else {
                    for t in missing {
                        writeln!(out, "    MISSING     {t}")?;
                    }
                }
            }
            ctx.push(Record::change("vendor.list", "administration", "vendors".into(), "listed"));
        }
    }
    Ok(())
}

/// The arguments of `facevault disclose`.
#[derive(Debug, clap::Args)]
pub struct DiscloseArgs {
    pub scan: ScanId,
    /// Where to write the decrypted scan for the vendor (mode 0600).
    pub out: PathBuf,
    /// The registered vendor (`facevault vendor list`).
    #[arg(long)]
    pub vendor: String,
    /// The purpose of the disclosure: one the vendor's contract and the subject's consent allow.
    #[arg(long)]
    pub purpose: String,
    /// Output format (as for `mesh convert`); default from OUT's extension, else binary PLY.
    #[arg(long)]
    pub format: Option<FileFormat>,
}

/// Disclose a scan to a registered vendor: the policy decides the share for the actor's role,
/// then the vendor rules (contract terms, purposes and categories in the contract, consent,
/// opt-out of sale and sharing); the disclosure is recorded before the file is written.
pub(crate) async fn disclose(vault: &Vault, ctx: &Ctx<'_>, a: DiscloseArgs) -> Result<()> {
    let reg = registry(ctx)?;
    let vendor = reg.get(&a.vendor).ok_or_else(|| {
        input(format!("vendor {:?} is not in the registry (see `facevault vendor list`)", a.vendor))
    })?;
    let purpose = ctx
        .policy()
        .catalogue()
        .get(&a.purpose)
        .ok_or_else(|| input(format!("--purpose {:?} is not in the catalogue", a.purpose)))?
        .clone();
    let format = match a.format {
        Some(f) => f,
        None => a
            .out
            .extension()
            .and_then(|e| e.to_str())
            .and_then(FileFormat::from_extension)
            .unwrap_or(FileFormat::PlyBinaryLittleEndian),
    };
    let target = Target::Node(Node::Scan(a.scan));
    // A disclosure to a service provider under a complete contract for a purpose it names is
    // not a share (CCPA), so the policy decides it as an export; anything else as a share,
    // which an opt-out refuses.
    let action =
        if DisclosureKind::of(vendor, &purpose).is_sale_or_share() { Action::Share } else { Action::Export };
    let grant = ctx.authorize("scan.disclose", action, &a.purpose, target, &None).await?;
    let subject = vault.scan(a.scan).await.map_err(fail)?.subject;
    let consent = vault.consent(subject).await.map_err(fail)?;
    let opted_out = vault.governance(subject).await.map_err(fail)?.opt_out.is_some();
    let now = chrono::Utc::now();
    let kind = match check_disclosure(
        vendor,
        &purpose,
        DataCategory::FaceScan,
        consent.as_ref().map(|c| &c.record),
        opted_out,
        now,
    ) {
        Ok(kind) => kind,
        Err(refusal) => {
            let reason = format!("{refusal} ({})", refusal.source());
            ctx.push(Record {
                action: "scan.disclose",
                purpose: a.purpose.clone(),
                object: target.object_id().0,
                allowed: false,
                reason: format!("vendor {}: {reason}", vendor.id.as_str()),
            });
            return Err(Failure::Denied(format!(
                "disclosure of scan {} to {} refused: {reason}",
                a.scan,
                vendor.id.as_str()
            ))
            .into());
        }
    };
    let kind_text = if kind.is_sale_or_share() {
        format!("{kind:?}").to_lowercase()
    } else {
        "business-purpose".to_owned()
    };
    let ply = Zeroizing::new(
        vault
            .disclose_scan(&grant, a.scan, vendor.id.as_str(), Some(vendor.id.as_str()), &kind_text)
            .await
            .map_err(fail)?,
    );
    ctx.push(Record::change(
        "scan.disclosed",
        &a.purpose,
        target.object_id().0,
        format!("to vendor {} as {kind_text}", vendor.id.as_str()),
    ));
    let bytes = if format == FileFormat::PlyBinaryLittleEndian {
        ply
    } else {
        let mesh = facevault_mesh::read(&ply, &ReadOptions::default())
            .map_err(|e| fail(VaultError::MalformedContent { object: a.scan.0, reason: e.to_string() }))?
            .mesh;
        Zeroizing::new(facevault_mesh::to_bytes(&mesh, format))
    };
    write_private(&a.out, &bytes)?;
    eprintln!(
        "scan {} disclosed to {} ({kind_text}) -> {}; recorded",
        a.scan,
        vendor.id.as_str(),
        a.out.display()
    );
    Ok(())
}

/// The clinic's details from `clinic.toml`.
fn clinic(ctx: &Ctx<'_>) -> Result<ClinicInfo> {
    let path = ctx.dir.join(CLINIC_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        input(format!(
            "{}: {e}; write it with name, contact, privacy_officer and region (see docs/examples/clinic.toml)",
            path.display()
        ))
    })?;
    settings::clinic_info(&text).map_err(|e| input(format!("{}: {e}", path.display())))
}

pub(crate) fn docs(ctx: &Ctx<'_>, cmd: DocsCommand) -> Result<()> {
    match cmd {
        DocsCommand::Generate { out } => {
            let reg = registry(ctx)?;
            let clinic = clinic(ctx)?;
            let docs = Documents::generate(ctx.policy().catalogue(), reg.vendors(), &clinic);
            let out = out.unwrap_or_else(|| ctx.dir.join("docs"));
            std::fs::create_dir_all(&out).map_err(|e| Failure::Output(format!("{}: {e}", out.display())))?;
            let write = |name: &str, text: &str| -> Result<()> {
                let path = out.join(name);
                std::fs::write(&path, text)
                    .map_err(|e| Failure::Output(format!("{}: {e}", path.display())))?;
                println!("{}", path.display());
                Ok(())
            };
            write("record-of-processing.md", &docs.record_of_processing.to_markdown())?;
            write("record-of-processing.html", &docs.record_of_processing.to_html())?;
            write("record-of-processing.json", &docs.record_of_processing.to_json()?)?;
            write("retention-schedule.md", &docs.retention_schedule.to_markdown())?;
            write("retention-schedule.html", &docs.retention_schedule.to_html())?;
            write("retention-schedule.json", &docs.retention_schedule.to_json()?)?;
            write("consent-notices.md", &docs.consent_notices.to_markdown())?;
            write("consent-notices.html", &docs.consent_notices.to_html())?;
            write("consent-notices.json", &docs.consent_notices.to_json()?)?;
            ctx.push(Record::change(
                "docs.generate",
                "administration",
                "documents".into(),
                "generated from live configuration",
            ));
        }
    }
    Ok(())
}
