//! `facevault request open|list|show|verify|start|extend|complete|deny|cancel|vendor-confirmed`:
//! data-subject requests (access, delete, correct, opt-out, limit-use) with their legal
//! deadlines, and completions that act on the vault for real: an access request writes the
//! age-encrypted package, a delete crypto-shreds the subject (certificate, vendor notices), a
//! correction re-seals the details, an opt-out or limit-use sets the restriction.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use facevault_domain::request::{due_within, overdue, HolidayCalendar, Request, RequestKind, Requester};
use facevault_policy::{gates, Action, Role};
use facevault_vault::oversight::{parse_law, Opened, RequestIntake};
use facevault_vault::{parse_level, parse_request_kind, Restriction, SubjectDetails, SubjectId, Target};

use super::audit::Record;
use super::vault::{fail, Ctx, Vault};
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
        /// The law whose deadlines apply (CCPA, GDPR, MHMDA, BIPA, CUBI, other); default from
        /// the subject's consent.
        #[arg(long)]
        law: Option<String>,
        /// Made by an authorized agent with this pseudonymous id.
        #[arg(long)]
        agent: Option<String>,
        /// When it was received (RFC 3339; default now).
        #[arg(long)]
        received: Option<String>,
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
    /// Record the agent's proof of authority (the subject's signed permission).
    AgentAuthority { id: String },
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

pub(crate) fn calendar() -> HolidayCalendar {
    facevault_domain::settings::request_calendar(chrono::Datelike::year(&chrono::Utc::now()))
}

/// Who handles requests: the privacy officer (and admin); the front desk and the patient may
/// open one, and a patient only their own.
fn allowed(ctx: &Ctx<'_>, action: &'static str, subject: Option<SubjectId>) -> Result<()> {
    let opening = action == "request.open";
    let own =
        subject.is_some_and(|s| ctx.who.actor == s.to_string() || ctx.who.actor == format!("subject:{s}"));
    let ok = if opening {
        gates::REQUEST_OPEN.contains(&ctx.role) && (ctx.role != Role::Patient || own)
    } else {
        gates::COMPLIANCE.contains(&ctx.role)
    };
    if ok {
        return Ok(());
    }
    let reason = format!("role {} may not {action}", ctx.role);
    let object = subject.map_or_else(|| "requests".to_owned(), |s| format!("subject:{s}"));
    ctx.push(Record { action, purpose: "request".into(), object, allowed: false, reason: reason.clone() });
    Err(Failure::Denied(reason).into())
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
    if let Some(a) = d.acknowledge_by {
        writeln!(out, "acknowledge   by {a}")?;
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

fn subject_of(r: &Request) -> Result<SubjectId> {
    r.subject().0.parse().map_err(|e: String| Failure::Damaged(format!("request {}: {e}", r.id())).into())
}

pub(crate) async fn request(vault: &Vault, ctx: &Ctx<'_>, cmd: RequestCommand) -> Result<()> {
    let cal = calendar();
    let now = super::now_ms();
    let mut out = std::io::stdout().lock();
    // Applies a transition, journals it, and prints the new state.
    macro_rules! transition {
        ($id:expr, $action:literal, $f:expr) => {{
            let r = vault.request(&$id, &cal).await.map_err(fail)?;
            allowed(ctx, $action, Some(subject_of(&r)?))?;
            let r = vault.update_request(&$id, &cal, $f).await.map_err(|e| match e {
                facevault_vault::RequestUpdateError::Refused(e) => {
                    Failure::Input(format!("request {}: {e}", $id)).into()
                }
                facevault_vault::RequestUpdateError::Vault(e) => fail(e),
            })?;
            ctx.push(Record::change($action, "request", format!("request:{}", r.id()), r.state().name()));
            writeln!(out, "request {} is {}", r.id(), r.state().name())?;
            r
        }};
    }
    match cmd {
        RequestCommand::Open { subject, kind, law, agent, received, allow_duplicate } => {
            allowed(ctx, "request.open", Some(subject))?;
            let kind = parse_request_kind(&kind).ok_or_else(|| {
                input(format!("--kind {kind:?}: use access, delete, correct, opt-out or limit-use"))
            })?;
            let law = law
                .map(|l| {
                    parse_law(&l).ok_or_else(|| {
                        input(format!("--law {l:?}: use CCPA, GDPR, MHMDA, BIPA, CUBI or other"))
                    })
                })
                .transpose()?;
            let received = match received {
                Some(t) => chrono::DateTime::parse_from_rfc3339(&t)
                    .map_err(|e| input(format!("--received {t:?}: {e}")))?
                    .with_timezone(&chrono::Utc),
                None => now,
            };
            let intake = RequestIntake { subject, kind, law, agent, received };
            let r = match vault.open_request_checked(intake, allow_duplicate, &cal).await.map_err(fail)? {
                Opened::Opened(r) => r,
                Opened::Duplicate(dup) => {
                    let reason = format!("duplicate of request {} ({:?})", dup.of, dup.reason);
                    ctx.push(Record {
                        action: "request.open",
                        purpose: "request".into(),
                        object: format!("subject:{subject}"),
                        allowed: false,
                        reason: reason.clone(),
                    });
                    return Err(Failure::Denied(format!(
                        "{reason}; pass --allow-duplicate to open it anyway"
                    ))
                    .into());
                }
            };
            let law = r.law();
            ctx.push(Record::change(
                "request.open",
                "request",
                format!("request:{}", r.id()),
                format!("{kind} under {law} for subject:{subject}, respond by {}", r.respond_by()),
            ));
            writeln!(out, "{}", r.id())?;
            eprintln!("{} request {} opened under {law}; respond by {}", kind, r.id(), r.respond_by());
        }
        RequestCommand::List { overdue: only_overdue, due_within: within } => {
            allowed(ctx, "request.list", None)?;
            let all = vault.requests(&cal).await.map_err(fail)?;
            let rows: Vec<(&Request, String)> = if only_overdue {
                overdue(&all, now)
                    .into_iter()
                    .map(|d| (d.request, format!("{:?} was due {}", d.obligation, d.by)))
                    .collect()
            } else if let Some(n) = within {
                due_within(&all, now, n)
                    .into_iter()
                    .map(|d| (d.request, format!("{:?} due {}", d.obligation, d.by)))
                    .collect()
            } else {
                all.iter().map(|r| (r, format!("respond by {}", r.respond_by()))).collect()
            };
            writeln!(
                out,
                "{:<32}  {:<9}  {:<6}  {:<22}  {:<32}  DUE",
                "REQUEST", "KIND", "LAW", "STATE", "SUBJECT"
            )?;
            for (r, due) in rows {
                writeln!(
                    out,
                    "{:<32}  {:<9}  {:<6}  {:<22}  {:<32}  {due}",
                    r.id().to_string(),
                    r.kind().to_string(),
                    r.law().to_string(),
                    r.state().name(),
                    r.subject().to_string()
                )?;
            }
            ctx.push(Record::change("request.list", "request", "requests".into(), "listed"));
        }
        RequestCommand::Show { id } => {
            allowed(ctx, "request.show", None)?;
            let r = vault.request(&id, &cal).await.map_err(fail)?;
            print_request(&mut out, &r)?;
            let notices: Vec<_> =
                vault.vendor_notices().await.map_err(fail)?.into_iter().filter(|n| n.request == id).collect();
            for n in notices {
                let state = if n.confirmed_at.is_some() { "confirmed" } else { "PENDING" };
                writeln!(out, "vendor notice {}  {state}", n.vendor)?;
            }
            if let Some(by) = r.backups_pending() {
                writeln!(out, "backups       NOT yet purged (due {by}; `facevault request backups-purged`)")?;
            }
            ctx.push(Record::change("request.show", "request", format!("request:{id}"), "shown"));
        }
        RequestCommand::AgentAuthority { id } => {
            transition!(id, "request.agent-authority", |r| r.record_agent_authority(now));
        }
        RequestCommand::Verify { id, level } => {
            let level = parse_level(&level)
                .ok_or_else(|| input(format!("--level {level:?}: use none, standard or strong")))?;
            transition!(id, "request.verify", |r| {
                if matches!(r.state(), facevault_domain::RequestState::Received) {
                    r.begin_verification(now)?;
                }
                r.verify(now, level)
            });
        }
        RequestCommand::Start { id } => {
            transition!(id, "request.start", |r| r.start(now));
        }
        RequestCommand::Extend { id, reason } => {
            transition!(id, "request.extend", |r| r.extend(now, now, &reason));
        }
        RequestCommand::Deny { id, reason, basis } => {
            transition!(id, "request.deny", |r| r.deny(now, &reason, &basis));
        }
        RequestCommand::Cancel { id } => {
            transition!(id, "request.cancel", |r| r.cancel(now));
        }
        RequestCommand::BackupsPurged { id } => {
            transition!(id, "request.backups-purged", |r| r.record_backups_purged(now));
        }
        RequestCommand::VendorConfirmed { id, vendor } => {
            allowed(ctx, "request.vendor-confirmed", None)?;
            if !vault.confirm_vendor(&id, &vendor).await.map_err(fail)? {
                return Err(
                    Failure::NotFound(format!("request {id} sent no notice to vendor {vendor:?}")).into()
                );
            }
            ctx.push(Record::change(
                "request.vendor-confirmed",
                "request",
                format!("request:{id}"),
                format!("vendor {vendor} confirmed deletion"),
            ));
            writeln!(out, "vendor {vendor} confirmed deletion for request {id}")?;
        }
        RequestCommand::Complete { id, out: package } => {
            let r = vault.request(&id, &cal).await.map_err(fail)?;
            let subject = subject_of(&r)?;
            allowed(ctx, "request.complete", Some(subject))?;
            // Check the move is allowed before acting on the vault.
            let mut dry = r.clone();
            dry.complete(now).map_err(|e| Failure::Input(format!("request {id}: {e}")))?;
            carry_out(vault, ctx, &r, subject, package).await?;
            transition!(id, "request.complete", |r| r.complete(now));
        }
    }
    Ok(())
}

/// What completing a request does to the vault.
async fn carry_out(
    vault: &Vault,
    ctx: &Ctx<'_>,
    r: &Request,
    subject: SubjectId,
    package: Option<PathBuf>,
) -> Result<()> {
    let purpose = super::govern::held_for(vault, subject).await?;
    match r.kind() {
        RequestKind::Access => {
            let out =
                package.ok_or_else(|| input("an access request needs --out FILE for the package".into()))?;
            super::package::export(vault, ctx, subject, &out, &purpose).await?;
        }
        RequestKind::Delete => {
            // A legal hold is an exception the law requires: the data stays, the request is denied.
            if vault.governance(subject).await.map_err(fail)?.open_hold().is_some() {
                let reason = "a legal hold suspends destruction of this subject's data".to_owned();
                ctx.push(Record {
                    action: "request.erasure",
                    purpose: "request".into(),
                    object: format!("request:{}", r.id()),
                    allowed: false,
                    reason: reason.clone(),
                });
                return Err(Failure::Denied(format!(
                    "{reason}; deny the request with its basis: `facevault request deny {} --reason \"legal hold\" \
                     --basis \"...\"`",
                    r.id()
                ))
                .into());
            }
            // Every vendor that received data is told, before the key that could read it goes.
            let vendors = vault.disclosed_vendors(subject).await.map_err(fail)?;
            let grant = ctx
                .authorize(vault, "subject.delete", Action::Delete, &purpose, Target::Subject(subject), &None)
                .await?;
            let report = vault.shred_subject(&grant, subject).await.map_err(fail)?;
            let destroyed = report.destroyed();
            ctx.deletion(subject, &format!("request:{}", r.id()), "request.erasure", destroyed, true);
            for v in &vendors {
                vault.notify_vendor(&r.id().0, subject, v).await.map_err(fail)?;
                ctx.push(Record::change(
                    "request.vendor-notice",
                    "request",
                    format!("request:{}", r.id()),
                    format!("deletion notice to vendor {v}"),
                ));
                eprintln!("deletion notice to vendor {v}: pending until it confirms (`facevault request vendor-confirmed`)");
            }
            // What the law requires keeping, which names the subject only by pseudonymous id.
            let kept = facevault_vault::oversight::ERASURE_KEEPS;
            ctx.push(Record::change(
                "request.erasure-exceptions",
                "request",
                format!("request:{}", r.id()),
                kept,
            ));
            eprintln!("{kept}");
            let purged = vault.purge_blobs(|_, _| {}).await.map_err(fail)?;
            eprintln!(
                "subject {subject} erased: key, details, {} scan(s), {} derivative(s); {purged} blob(s) purged",
                report.scans, report.derivatives
            );
        }
        RequestKind::Correct => {
            let grant = ctx
                .authorize(vault, "subject.correct", Action::Read, &purpose, Target::Subject(subject), &None)
                .await?;
            let current = vault.subject(&grant, subject).await.map_err(fail)?.details;
            let details = corrected(current)?;
            vault.correct_details(&grant, subject, &details).await.map_err(fail)?;
            ctx.push(Record::change(
                "subject.correct",
                "request",
                format!("subject:{subject}"),
                format!("details corrected for request:{}", r.id()),
            ));
        }
        RequestKind::OptOut => {
            vault.set_restriction(subject, Restriction::OptOut, true).await.map_err(fail)?
        }
        RequestKind::LimitUse => {
            vault.set_restriction(subject, Restriction::LimitUse, true).await.map_err(fail)?
        }
    }
    Ok(())
}

/// The corrected details: `key: value` lines on standard input replace those fields.
fn corrected(mut d: SubjectDetails) -> Result<SubjectDetails> {
    use std::io::Read;
    let mut text = zeroize::Zeroizing::new(String::new());
    std::io::stdin().take(64 * 1024).read_to_string(&mut text)?;
    let mut changed = 0;
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| input(format!("standard input line {}: expected `key: value`", n + 1)))?;
        let value = value.trim().to_owned();
        match key.trim() {
            "name" => d.name = value,
            "dob" => d.date_of_birth = Some(value),
            "contact" => d.contact = Some(value),
            "jurisdiction" => d.jurisdiction = Some(value),
            other => return Err(input(format!("standard input line {}: unknown key {other:?}", n + 1))),
        }
        changed += 1;
    }
    if changed == 0 {
        return Err(input("a correction needs the corrected fields on standard input (`name: ...`)".into()));
    }
    Ok(d)
}
