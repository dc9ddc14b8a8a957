//! `facevault subject add|list|show|shred|export`: subjects on the command line. Identity is
//! read from flags or standard input and stored sealed; `list` prints pseudonymous ids only.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Subcommand;
use facevault_app::time::minutes;
use facevault_app::NewSubject;
use facevault_vault::SubjectId;
use zeroize::Zeroizing;

use super::vault::{fail, flagged, Ctx};
use super::Failure;

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
        /// The purpose the export is decided for (default: the first the subject consented to,
        /// as over HTTP).
        #[arg(long)]
        purpose: Option<String>,
    },
}

fn optional(field: &Option<String>) -> &str {
    field.as_deref().unwrap_or("-")
}

pub(crate) async fn subject(ctx: &Ctx<'_>, cmd: SubjectCommand) -> Result<()> {
    let (app, me) = (ctx.app, &ctx.session);
    let mut out = std::io::stdout().lock();
    match cmd {
        SubjectCommand::Add { name, dob, contact, jurisdiction, details_stdin } => {
            let (name, date_of_birth, contact, jurisdiction) = if details_stdin {
                details_from_stdin()?
            } else {
                (name.unwrap_or_default(), dob, contact, jurisdiction)
            };
            let new = NewSubject { name: Zeroizing::new(name), date_of_birth, contact, jurisdiction };
            let id = app.add_subject(me, new).await?;
            writeln!(out, "{id}")?;
        }
        SubjectCommand::List => {
            let subjects = app.list_subjects(me).await?;
            writeln!(
                out,
                "{:<32}  {:<16}  {:>5}  {:>11}",
                "SUBJECT", "CREATED (UTC)", "SCANS", "DERIVATIVES"
            )?;
            for s in subjects {
                writeln!(
                    out,
                    "{:<32}  {:<16}  {:>5}  {:>11}",
                    s.id,
                    minutes(s.created_at),
                    s.scans,
                    s.derivatives
                )?;
            }
        }
        SubjectCommand::Show { subject, purpose, break_glass } => {
            let file = app.subject_file(me, subject, Some(&purpose), break_glass.as_deref()).await?;
            flagged(&break_glass, &format!("subject:{subject}"));
            let s = &file.subject;
            let d = &s.details;
            writeln!(out, "subject       {}", s.id)?;
            writeln!(out, "created       {} UTC", minutes(s.created_at))?;
            writeln!(out, "name          {}", d.name)?;
            writeln!(out, "born          {}", optional(&d.date_of_birth))?;
            writeln!(out, "contact       {}", optional(&d.contact))?;
            writeln!(out, "jurisdiction  {}", optional(&d.jurisdiction))?;
            for scan in &file.scans {
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
            for der in &file.derivatives {
                writeln!(out, "derivative    {}  {} by {}", der.id, der.kind, der.producer)?;
            }
            for disc in &file.disclosures {
                writeln!(
                    out,
                    "disclosed     {}  {} UTC  {} for {} to {}",
                    disc.node,
                    minutes(disc.at),
                    disc.kind,
                    disc.purpose,
                    disc.recipient
                )?;
            }
        }
        SubjectCommand::Shred { subject, yes, purpose, rule } => {
            if !yes {
                let scans = ctx.vault().scans_of(subject).await.map_err(fail)?.len();
                confirm_shred(subject, scans)?;
            }
            let e = app.shred_subject(me, subject, purpose.as_deref(), &rule).await?;
            eprintln!(
                "subject {} shredded: data key, details, {} scan(s) and {} derivative(s) destroyed; \
                 {} blob(s) purged (undecryptable already: their key is gone)",
                e.subject, e.scans, e.derivatives, e.blobs_purged
            );
            certificate_written(&e.certificate);
        }
        SubjectCommand::Export { subject, out, purpose } => {
            super::package::export(ctx, subject, &out, purpose.as_deref()).await?
        }
    }
    Ok(())
}

/// Says where a deletion certificate was kept (its path on stdout, for scripts).
pub(crate) fn certificate_written(c: &facevault_app::Certified) {
    println!("certificate {}", c.kept_at);
    eprintln!("deletion certificate written to {} (check it with `facevault certificate verify`)", c.kept_at);
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
