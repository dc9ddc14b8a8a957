//! `facevault subject add|list|show|shred|export`: subjects on the command line. Identity is
//! read from flags or standard input and stored sealed; `list` prints pseudonymous ids only.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Subcommand;
use facevault_policy::Action;
use facevault_vault::{MetadataStore, SubjectDetails, SubjectId, Target};

use super::govern;
use super::keys::bar;
use super::vault::{fail, fail_store, Ctx, Vault};
use super::{is_date, utc, Failure};

#[derive(Debug, Subcommand)]
pub enum SubjectCommand {
    /// Add a subject; prints its id. Name, date of birth, contact and jurisdiction are stored
    /// encrypted under the subject's own data key.
    Add {
        /// The subject's name. A command line can end up in shell history and the process
        /// list; --details-stdin keeps identity off it.
        #[arg(long, required_unless_present = "details_stdin")]
        name: Option<String>,
        /// Date of birth (YYYY-MM-DD).
        #[arg(long)]
        dob: Option<String>,
        #[arg(long)]
        contact: Option<String>,
        /// Where the subject lives, which decides the law that applies (e.g. US-IL, EU-FR).
        #[arg(long)]
        jurisdiction: Option<String>,
        /// Read the details from standard input instead, one `key: value` per line (keys: name,
        /// dob, contact, jurisdiction), so that no identity appears on the command line.
        #[arg(long, conflicts_with_all = ["name", "dob", "contact", "jurisdiction"])]
        details_stdin: bool,
    },
    /// List subjects by pseudonymous id (no identifying detail is decrypted or printed).
    List,
    /// Show a subject's details (decrypted), scans, derivatives and disclosures: a read of
    /// the subject for --purpose, decided by the policy and audited.
    Show {
        subject: SubjectId,
        #[arg(long, default_value = "treatment-planning")]
        purpose: String,
        /// Emergency access (HIPAA break-glass): the reason, which the privacy officer
        /// reviews. Do not name the patient. Valid for one hour.
        #[arg(long, value_name = "REASON")]
        break_glass: Option<String>,
    },
    /// Crypto-shred a subject: destroy its data key, details and records, then delete its
    /// blobs. Irreversible. A delete decision (a legal hold refuses it); writes a signed
    /// deletion certificate.
    Shred {
        subject: SubjectId,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// The purpose the data was held for (default: the first its consent grants).
        #[arg(long)]
        purpose: Option<String>,
        /// The request or reason, recorded as the certificate's rule (e.g. an erasure request id).
        #[arg(long, default_value = "erasure-request")]
        rule: String,
    },
    /// The subject's access and portability export: everything held about them (details,
    /// scans, derivatives with how each was produced, consents and notices, disclosures,
    /// retention, audit entries) in a tar archive encrypted to a passphrase with age
    /// ($FACEVAULT_EXPORT_PASSPHRASE, else one is generated and printed once on stderr).
    /// An export decision; a patient passes `--role patient --actor <subject id>`.
    Export {
        subject: SubjectId,
        /// Where to write the encrypted package (e.g. export.tar.age; mode 0600).
        out: PathBuf,
        #[arg(long, default_value = "treatment-planning")]
        purpose: String,
    },
}

fn optional(field: &Option<String>) -> &str {
    field.as_deref().unwrap_or("-")
}

pub(crate) async fn subject(vault: &Vault, ctx: &Ctx<'_>, cmd: SubjectCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        SubjectCommand::Add { name, dob, contact, jurisdiction, details_stdin } => {
            let (name, dob, contact, jurisdiction) = if details_stdin {
                details_from_stdin()?
            } else {
                (name.unwrap_or_default(), dob, contact, jurisdiction)
            };
            if name.trim().is_empty() {
                return Err(Failure::Input("--name is empty".into()).into());
            }
            if dob.as_deref().is_some_and(|d| !is_date(d)) {
                return Err(Failure::Input("--dob is not a YYYY-MM-DD date".into()).into());
            }
            let details = SubjectDetails { name, date_of_birth: dob, contact, jurisdiction };
            let id = vault.create_subject(&details).await.map_err(fail)?;
            writeln!(out, "{id}")?;
        }
        SubjectCommand::List => {
            let meta = vault.metadata_store();
            let mut subjects = meta.subjects().await.map_err(fail_store)?;
            subjects.sort_by_key(|s| (s.created_at, s.id));
            writeln!(
                out,
                "{:<32}  {:<16}  {:>5}  {:>11}",
                "SUBJECT", "CREATED (UTC)", "SCANS", "DERIVATIVES"
            )?;
            for s in subjects {
                let scans = meta.scans_of(s.id).await.map_err(fail_store)?.len();
                let derived = meta.derivatives_of(s.id).await.map_err(fail_store)?.len();
                writeln!(out, "{:<32}  {:<16}  {scans:>5}  {derived:>11}", s.id, utc(s.created_at))?;
            }
        }
        SubjectCommand::Show { subject, purpose, break_glass } => {
            let grant = ctx
                .authorize(
                    vault,
                    "subject.read",
                    Action::Read,
                    &purpose,
                    Target::Subject(subject),
                    &break_glass,
                )
                .await?;
            let s = vault.subject(&grant, subject).await.map_err(fail)?;
            let d = &s.details;
            writeln!(out, "subject       {}", s.id)?;
            writeln!(out, "created       {} UTC", utc(s.created_at))?;
            writeln!(out, "name          {}", d.name)?;
            writeln!(out, "born          {}", optional(&d.date_of_birth))?;
            writeln!(out, "contact       {}", optional(&d.contact))?;
            writeln!(out, "jurisdiction  {}", optional(&d.jurisdiction))?;
            for scan in vault.scans_of(subject).await.map_err(fail)? {
                writeln!(
                    out,
                    "scan          {}  captured {} on {}  purpose {:?}  {} vertices, {} triangles",
                    scan.id,
                    scan.capture.captured_on,
                    scan.capture.device,
                    scan.capture.purpose.0,
                    scan.vertices,
                    scan.triangles
                )?;
            }
            for der in vault.metadata_store().derivatives_of(subject).await.map_err(fail_store)? {
                writeln!(out, "derivative    {}  {} by {}", der.id, der.kind, der.producer)?;
            }
            for disc in vault.disclosures_of(subject).await.map_err(fail)? {
                writeln!(
                    out,
                    "disclosed     {}  {} UTC  {} for {} to {}",
                    disc.node,
                    utc(disc.at),
                    disc.kind,
                    disc.purpose,
                    disc.recipient
                )?;
            }
        }
        SubjectCommand::Shred { subject, yes, purpose, rule } => {
            let scans = vault.scans_of(subject).await.map_err(fail)?.len();
            let purpose = match purpose {
                Some(p) => p,
                None => govern::held_for(vault, subject).await?,
            };
            let grant = ctx
                .authorize(vault, "subject.delete", Action::Delete, &purpose, Target::Subject(subject), &None)
                .await?;
            if !yes {
                confirm_shred(subject, scans)?;
            }
            let report = vault.shred_subject(&grant, subject).await.map_err(fail)?;
            ctx.deletion(subject, &rule, "subject.shred", report.destroyed(), true);
            eprintln!(
                "subject {} shredded: data key, details, {} scan(s) and {} derivative(s) destroyed",
                report.subject, report.scans, report.derivatives
            );
            let pb = bar(Some(report.blobs_queued as u64), "purging blobs");
            let purged = vault
                .purge_blobs(|done, total| {
                    pb.set_length(total as u64);
                    pb.set_position(done as u64);
                })
                .await
                .map_err(fail)?;
            pb.finish_and_clear();
            eprintln!("{purged} blob(s) purged (undecryptable already: their key is gone)");
        }
        SubjectCommand::Export { subject, out, purpose } => {
            super::package::export(vault, ctx, subject, &out, &purpose).await?
        }
    }
    Ok(())
}

fn confirm_shred(subject: SubjectId, scans: usize) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("not shredding subject {subject} without confirmation: pass --yes");
    }
    eprint!(
        "Shred subject {subject}? Its data key, details and {scans} scan(s) are destroyed for good.\n\
         Type `shred` to confirm: "
    );
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() != "shred" {
        bail!("not confirmed; subject {subject} is unchanged");
    }
    Ok(())
}

/// Name, date of birth, contact, jurisdiction.
type Details = (String, Option<String>, Option<String>, Option<String>);

/// Subject details as `key: value` lines on standard input (see `subject add --details-stdin`).
fn details_from_stdin() -> Result<Details> {
    use std::io::Read;
    let mut text = zeroize::Zeroizing::new(String::new());
    std::io::stdin().take(64 * 1024).read_to_string(&mut text)?;
    let (mut name, mut dob, mut contact, mut jurisdiction) = (String::new(), None, None, None);
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let Some((key, value)) = line.split_once(':') else {
            return Err(
                Failure::Input(format!("standard input line {}: expected `key: value`", n + 1)).into()
            );
        };
        let value = value.trim().to_string();
        match key.trim() {
            "name" => name = value,
            "dob" => dob = Some(value),
            "contact" => contact = Some(value),
            "jurisdiction" => jurisdiction = Some(value),
            other => {
                return Err(Failure::Input(format!(
                    "standard input line {}: unknown key {other:?} (use name, dob, contact, jurisdiction)",
                    n + 1
                ))
                .into())
            }
        }
    }
    Ok((name, dob, contact, jurisdiction))
}
