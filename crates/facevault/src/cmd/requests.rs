//! `facevault request open|list|show|acknowledge|agent-authority|verify|start|extend|complete|deny|cancel|vendor-confirmed`:
//! data-subject requests (access, delete, correct, opt-out, limit-use) with their legal
//! deadlines, and completions that act on the vault for real: an access request writes the
//! age-encrypted package, a delete crypto-shreds the subject (certificate, vendor notices), a
//! correction re-seals the details, an opt-out or limit-use sets the restriction.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use facevault_app::{
    AppError, CompletionInput, CorrectedDetails, Move, NewRequest, Outcome, RequestFilter, Seal,
};
use facevault_domain::request::{due_within, overdue, Request, Requester};
use facevault_vault::SubjectId;
use zeroize::Zeroizing;

use super::vault::Ctx;
use super::Failure;

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Open a request; prints its id and deadlines. A duplicate of an open request (or a third
    /// access request within 12 months) is refused naming the earlier one.
    Open {
        subject: SubjectId,
        /// access, delete, correct, opt-out or limit-use.
        #[arg(long)]
        kind: String,
        /// The law whose deadlines apply (CCPA, GDPR, MHMDA, BIPA, CUBI, HIPAA, other); default
        /// from the subject's consent. HIPAA (a covered clinic): access in 30 days, +30 once.
        #[arg(long)]
        law: Option<String>,
        /// Made by an authorized agent with this pseudonymous id (staff only; record the
        /// agent's proof of authority before the request moves).
        #[arg(long)]
        agent: Option<String>,
        /// When it was received, RFC 3339 (default now); earlier than now only with
        /// --received-reason, never in the future nor before the subject was registered.
        #[arg(long)]
        received: Option<String>,
        /// Why the request is dated earlier than now (journaled).
        #[arg(long)]
        received_reason: Option<String>,
        /// Open it even if it duplicates an earlier one.
        #[arg(long)]
        allow_duplicate: bool,
    },
    /// List requests with their state and deadlines.
    List {
        /// Only those past a deadline.
        #[arg(long)]
        overdue: bool,
        /// Only those with a deadline within N days.
        #[arg(long, value_name = "N")]
        due_within: Option<u32>,
    },
    /// A request's deadlines and history.
    Show { id: String },
    /// Record that receipt was confirmed to the subject (ends the acknowledgement deadline).
    Acknowledge { id: String },
    /// Record the agent's proof of authority (the subject's signed permission).
    AgentAuthority {
        id: String,
        /// The SHA-256 (64 hex digits) of the signed permission or power of attorney.
        #[arg(long)]
        evidence_sha256: String,
    },
    /// Record the identity verification done: none, standard or strong (biometric data needs strong).
    Verify {
        id: String,
        #[arg(long)]
        level: String,
    },
    /// Start work on it (after verification).
    Start { id: String },
    /// Extend the deadline once, with the notice sent to the subject and its reason.
    Extend {
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Carry it out and complete it: access writes the encrypted package to --out; delete
    /// crypto-shreds the subject with a certificate and notifies every vendor that received
    /// data; correct re-seals the details read from standard input (`key: value` lines);
    /// opt-out and limit-use set the restriction.
    Complete {
        id: String,
        /// Where an access request's package goes.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Deny it, with the reason and the legal basis.
    Deny {
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        basis: String,
    },
    /// Cancel it (the subject withdrew it).
    Cancel { id: String },
    /// A vendor confirmed it deleted the data of an erasure request.
    VendorConfirmed { id: String, vendor: String },
    /// The copies in backups and archives are gone too (MHMDA: within 6 months of a deletion).
    BackupsPurged { id: String },
}

fn input(msg: String) -> anyhow::Error {
    Failure::Input(msg).into()
}

fn print_request(out: &mut impl Write, r: &Request) -> std::io::Result<()> {
    let d = r.deadlines();
    writeln!(out, "request       {}", r.id())?;
    writeln!(out, "subject       {}", r.subject())?;
    writeln!(out, "kind          {} under {}", r.kind(), r.law())?;
    if let Requester::Agent { agent_id, proof_of_authority } = r.requester() {
        writeln!(
            out,
            "agent         {agent_id} (authority {})",
            if *proof_of_authority { "shown" } else { "NOT shown" }
        )?;
    }
    writeln!(out, "received      {}", r.received().format("%Y-%m-%d %H:%M UTC"))?;
    writeln!(out, "state         {}", r.state().name())?;
    writeln!(out, "verification  {:?} required", r.required_verification())?;
    match (d.acknowledge_by, r.is_acknowledged()) {
        (_, true) => writeln!(out, "acknowledge   done")?,
        (Some(a), false) => writeln!(out, "acknowledge   by {a}")?,
        (None, false) => {}
    }
    writeln!(out, "respond       by {}", r.respond_by())?;
    if let Some(b) = d.backups_purged_by {
        writeln!(out, "backups       purged by {b}")?;
    }
    writeln!(out, "history")?;
    for e in r.events() {
        writeln!(out, "  {}  {}", e.at.format("%Y-%m-%d %H:%M"), e.change)?;
    }
    Ok(())
}

/// What a completion asks of the person at the terminal: the corrected fields on standard
/// input, the package's passphrase from the environment (else generated) and `--out`.
struct Terminal {
    out: Option<PathBuf>,
    generated: Option<Zeroizing<String>>,
}

impl CompletionInput for Terminal {
    fn corrected(&mut self) -> Result<CorrectedDetails, AppError> {
        corrected().map_err(|e| AppError::field("details", format!("{e:#}")))
    }

    fn seal(&mut self) -> Result<Seal, AppError> {
        if self.out.is_none() {
            return Err(AppError::field("out", "an access request needs --out FILE for the package"));
        }
        let (seal, generated) =
            super::package::passphrase().map_err(|e| AppError::field("passphrase", format!("{e:#}")))?;
        self.generated = generated;
        Ok(seal)
    }
}

pub(crate) async fn request(ctx: &Ctx<'_>, cmd: RequestCommand) -> Result<()> {
    let (app, me) = (ctx.app, &ctx.session);
    let now = facevault_app::time::now_ms();
    let mut out = std::io::stdout().lock();
    let moved = |r: &Request, out: &mut std::io::StdoutLock<'_>| {
        writeln!(out, "request {} is {}", r.id(), r.state().name())
    };
    match cmd {
        RequestCommand::Open { subject, kind, law, agent, received, received_reason, allow_duplicate } => {
            let new = NewRequest { subject, kind, law, agent, received, received_reason, allow_duplicate };
            let r = app.open_request(me, new).await?;
            writeln!(out, "{}", r.id())?;
            eprintln!(
                "{} request {} opened under {}; respond by {}",
                r.kind(),
                r.id(),
                r.law(),
                r.respond_by()
            );
        }
        RequestCommand::List { overdue: only_overdue, due_within: within } => {
            let all = app.requests(me, RequestFilter { overdue: only_overdue, due_within: within }).await?;
            let due = |r: &Request| -> String {
                if only_overdue {
                    return overdue(std::slice::from_ref(r), now)
                        .first()
                        .map_or_else(String::new, |d| format!("{:?} was due {}", d.obligation, d.by));
                }
                if let Some(n) = within {
                    return due_within(std::slice::from_ref(r), now, n)
                        .first()
                        .map_or_else(String::new, |d| format!("{:?} due {}", d.obligation, d.by));
                }
                format!("respond by {}", r.respond_by())
            };
            writeln!(
                out,
                "{:<32}  {:<9}  {:<6}  {:<22}  {:<32}  DUE",
                "REQUEST", "KIND", "LAW", "STATE", "SUBJECT"
            )?;
            for r in &all {
                writeln!(
                    out,
                    "{:<32}  {:<9}  {:<6}  {:<22}  {:<32}  {}",
                    r.id().to_string(),
                    r.kind().to_string(),
                    r.law().to_string(),
                    r.state().name(),
                    r.subject().to_string(),
                    due(r)
                )?;
            }
        }
        RequestCommand::Show { id } => {
            let f = app.request(me, &id).await?;
            print_request(&mut out, &f.request)?;
            for n in &f.vendor_notices {
                let state = if n.confirmed_at.is_some() { "confirmed" } else { "PENDING" };
                writeln!(out, "vendor notice {}  {state}", n.vendor)?;
            }
            if let Some(by) = f.request.backups_pending() {
                writeln!(out, "backups       NOT yet purged (due {by}; `facevault request backups-purged`)")?;
            }
        }
        RequestCommand::Acknowledge { id } => {
            moved(&app.move_request(me, &id, Move::Acknowledge).await?, &mut out)?
        }
        RequestCommand::AgentAuthority { id, evidence_sha256 } => {
            moved(&app.move_request(me, &id, Move::AgentAuthority { evidence_sha256 }).await?, &mut out)?
        }
        RequestCommand::Verify { id, level } => {
            moved(&app.move_request(me, &id, Move::Verify { level }).await?, &mut out)?
        }
        RequestCommand::Start { id } => moved(&app.move_request(me, &id, Move::Start).await?, &mut out)?,
        RequestCommand::Extend { id, reason } => {
            moved(&app.move_request(me, &id, Move::Extend { reason }).await?, &mut out)?
        }
        RequestCommand::Deny { id, reason, basis } => {
            moved(&app.move_request(me, &id, Move::Deny { reason, basis }).await?, &mut out)?
        }
        RequestCommand::Cancel { id } => moved(&app.move_request(me, &id, Move::Cancel).await?, &mut out)?,
        RequestCommand::BackupsPurged { id } => {
            moved(&app.move_request(me, &id, Move::BackupsPurged).await?, &mut out)?
        }
        RequestCommand::VendorConfirmed { id, vendor } => {
            app.vendor_confirmed(me, &id, &vendor).await?;
            writeln!(out, "vendor {vendor} confirmed deletion for request {id}")?;
        }
        RequestCommand::Complete { id, out: package } => {
            let mut term = Terminal { out: package.clone(), generated: None };
            let done = app.complete_request(me, &id, &mut term).await?;
            match done.outcome {
                Outcome::Packaged(sealed) => {
                    if let Some(path) = &package {
                        super::package::written(path, &sealed, term.generated.take())?;
                    }
                }
                Outcome::Erased(e) => {
                    for v in &e.vendor_notices {
                        eprintln!("deletion notice to vendor {v}: pending until it confirms (`facevault request vendor-confirmed`)");
                    }
                    if let Some(kept) = e.kept {
                        eprintln!("{kept}");
                    }
                    eprintln!(
                        "subject {} erased: key, details, {} scan(s), {} derivative(s); {} blob(s) purged",
                        e.subject, e.scans, e.derivatives, e.blobs_purged
                    );
                    super::subjects::certificate_written(&e.certificate);
                }
                Outcome::Corrected(fields) => eprintln!("corrected: {}", fields.join(", ")),
                Outcome::Restricted(name) => eprintln!("{name} set"),
            }
            moved(&done.request, &mut out)?;
        }
    }
    Ok(())
}

/// The corrected fields: `key: value` lines on standard input (name, dob, contact,
/// jurisdiction).
fn corrected() -> Result<CorrectedDetails> {
    use std::io::Read;
    let mut text = zeroize::Zeroizing::new(String::new());
    std::io::stdin().take(64 * 1024).read_to_string(&mut text)?;
    let mut d = CorrectedDetails::default();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| input(format!("standard input line {}: expected `key: value`", n + 1)))?;
        let value = Some(value.trim().to_owned());
        match key.trim() {
            "name" => d.name = value,
            "dob" => d.dob = value,
            "contact" => d.contact = value,
            "jurisdiction" => d.jurisdiction = value,
            other => return Err(input(format!("standard input line {}: unknown key {other:?}", n + 1))),
        }
    }
    Ok(d)
}
