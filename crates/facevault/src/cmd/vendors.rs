//! `facevault vendor add|list`, `facevault disclose` and `facevault docs generate`: the
//! recipient registry (vendors under contract, health care providers), disclosures to them, and the documents generated from the live configuration.
//!
//! The registry is `vendors.toml` in the vault directory (`[[vendor]]` tables), next to
//! `purposes.toml` and `policy.cedar`; who the clinic is for the documents is `clinic.toml`.
//! Configuration, not personal data: nothing here names a subject but by pseudonymous id.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use facevault_app::{Document, ScanExport};
use facevault_domain::missing_terms;
use facevault_mesh::FileFormat;
use facevault_vault::ScanId;

use super::vault::Ctx;
use super::Failure;

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

pub(crate) async fn vendor(ctx: &Ctx<'_>, cmd: VendorCommand) -> Result<()> {
    match cmd {
        VendorCommand::Add { file } => {
            let added =
                std::fs::read_to_string(&file).map_err(|e| input(format!("{}: {e}", file.display())))?;
            let new = ctx.app.add_vendors(&ctx.session, &file.display().to_string(), &added).await?;
            for v in new.vendors() {
                println!("{}", v.id.as_str());
                let missing = missing_terms(v);
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
            let reg = ctx.app.vendors(&ctx.session).await?;
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
    /// The registered recipient (`facevault vendor list`).
    #[arg(long)]
    pub vendor: String,
    /// The purpose of the disclosure: one the vendor's contract and the subject's consent allow.
    #[arg(long)]
    pub purpose: String,
    /// Output format (as for `mesh convert`); default from OUT's extension, else binary PLY.
    #[arg(long)]
    pub format: Option<FileFormat>,
}

/// Disclose a scan to a registered recipient: the same disclosure path as `scan export`
/// (the application's `disclose_scan`: the policy, then the recipient's rules; recorded before
/// the file is written).
pub(crate) async fn disclose(ctx: &Ctx<'_>, a: DiscloseArgs) -> Result<()> {
    let x = ScanExport { purpose: a.purpose, recipient: a.vendor.clone(), break_glass: None };
    let (kind, _) =
        super::scans::disclose_to_file(ctx.app, &ctx.session, a.scan, x, &a.out, a.format).await?;
    eprintln!("scan {} disclosed to {} ({kind}) -> {}; recorded", a.scan, a.vendor, a.out.display());
    Ok(())
}

pub(crate) async fn docs(ctx: &Ctx<'_>, cmd: DocsCommand) -> Result<()> {
    match cmd {
        DocsCommand::Generate { out } => {
            let docs = ctx.app.documents(&ctx.session, Document::All, "files").await?;
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
        }
    }
    Ok(())
}
