//! `facevault consent|restrict|hold|purpose|retention`: the governance of a vault on the
//! command line. Every change is journaled for the audit log by the caller (`vault::run`);
//! identities (a typed signature, a hold's docket) are stored sealed and never printed or
//! logged: the audit log gets pseudonymous ids and, for a hold, the SHA-256 of its reference.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use facevault_domain::consent_form::ConsentForm;
use facevault_domain::{ConsentDraft, Date, Destruction, PurposeId, Target as DomainTarget};
use facevault_policy::{gates, Role};
use facevault_vault::{parse_hold_kind, Enforced, Restriction, SubjectId};
use zeroize::Zeroizing;

use super::audit::Record;
use super::vault::{fail, Ctx, Vault};
use super::Failure;

#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Record a subject's consent from a TOML file (`-` for standard input; see
    /// docs/examples/consent-il.toml). It is checked against what the subject's jurisdiction
    /// requires, and refused naming the first missing element. It supersedes any earlier one.
    Add { subject: SubjectId, file: PathBuf },
    /// Show the subject's current consent: jurisdiction, notice (version and SHA-256),
    /// purposes with their retention, share and limit-use choices, status.
    Show { subject: SubjectId },
    /// Withdraw the subject's consent now: every later access is refused, and the retention
    /// engine destroys the data (see `retention plan`).
    Withdraw { subject: SubjectId },
    /// Print the subject's consent as a FHIR R4 Consent resource (JSON), for an EHR. The
    /// patient is the pseudonymous `Patient/<subject id>`; the typed signature is not included.
    Fhir { subject: SubjectId },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RestrictionArg {
    /// Opt out of sale and sharing (CCPA/CPRA 1798.120).
    OptOut,
    /// Limit the use of sensitive personal information to the care asked for (1798.121).
    LimitUse,
}

#[derive(Debug, Subcommand)]
pub enum HoldCommand {
    /// Place a legal hold: destruction of the subject's data is suspended until release.
    Place {
        subject: SubjectId,
        /// warrant, subpoena or litigation.
        #[arg(long)]
        kind: String,
        /// The docket or case reference (stored sealed; the audit log keeps only its SHA-256).
        #[arg(long)]
        reference: String,
        /// Why (stored sealed). Do not name the patient.
        #[arg(long)]
        reason: String,
    },
    /// Release a legal hold: what fell due meanwhile becomes due today.
    Release {
        subject: SubjectId,
        #[arg(long)]
        reference: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PurposeCommand {
    /// List the purpose catalogue (the vault's purposes.toml, else the defaults).
    List,
    /// Record that a purpose is satisfied for a subject: its data becomes due for destruction
    /// that day (BIPA: "when the initial purpose ... has been satisfied").
    Satisfied {
        subject: SubjectId,
        purpose: String,
        /// The day (YYYY-MM-DD, default today).
        #[arg(long)]
        on: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Dry run: what will be destroyed, when and under which rule, as known on a day.
    Plan {
        /// The day to plan from (YYYY-MM-DD, default today).
        #[arg(long)]
        at: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Destroy what is due today: crypto-shred subjects whose every purpose lapsed, delete
    /// single objects (with their derivatives) when only some did. Each destruction is
    /// audited and gets a signed deletion certificate in the vault's certificates/ folder.
    Enforce,
}

fn input(msg: String) -> anyhow::Error {
    Failure::Input(msg).into()
}

pub(crate) fn parse_day(s: &str, what: &str) -> Result<Date> {
    s.parse::<Date>().map_err(|_| input(format!("{what} {s:?} is not a YYYY-MM-DD date")))
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads and checks the consent file (the domain's `ConsentForm` in TOML): every problem names
/// the file and the field.
fn read_consent(
    ctx: &Ctx<'_>,
    path: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(facevault_domain::Jurisdiction, ConsentDraft)> {
    let name = path.display().to_string();
    let text = Zeroizing::new(if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::Read::take(std::io::stdin(), 1 << 20), &mut s)?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| input(format!("{name}: {e}")))?
    });
    let form: ConsentForm = toml::from_str(&text).map_err(|e| input(format!("{name}: {e}")))?;
    let read_notice = |file: &str| {
        let at = path.parent().unwrap_or(Path::new(".")).join(file);
        std::fs::read_to_string(&at).map_err(|e| format!("notice file {}: {e}", at.display()))
    };
    form.draft(ctx.policy.catalogue(), now, read_notice).map_err(|e| input(format!("{name}: {e}")))
}

/// Governance changes are not reads of scan data, so Cedar (role x action x purpose) does not
/// decide them; these fixed role lists do, and a refusal is audited like any denial.
/// A patient acts only on their own data: the actor must be the subject's id.
fn require_role(ctx: &Ctx<'_>, roles: &[Role], action: &'static str, object: String) -> Result<()> {
    ctx.require_role(roles, action, object, "administration")
}

fn subject_object(s: SubjectId) -> String {
    format!("subject:{s}")
}

pub(crate) async fn consent(vault: &Vault, ctx: &Ctx<'_>, cmd: ConsentCommand) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match cmd {
        ConsentCommand::Add { subject, file } => {
            require_role(ctx, gates::CONSENT, "consent.add", subject_object(subject))?;
            let now = super::now_ms();
            let (j, draft) = read_consent(ctx, &file, now)?;
            match vault.record_consent(subject, j, &draft).await {
                Ok(id) => {
                    let purposes: Vec<&str> = draft.purposes.iter().map(|p| p.purpose.id.as_str()).collect();
                    ctx.push(Record::change(
                        "consent.add",
                        "consent",
                        subject_object(subject),
                        format!("consent {id} ({j}) for {}", purposes.join(", ")),
                    ));
                    writeln!(out, "{id}")?;
                    eprintln!("consent {id} recorded for subject {subject} ({j}: {})", purposes.join(", "));
                }
                Err(facevault_vault::VaultError::ConsentRefused { reason, .. }) => {
                    ctx.push(Record {
                        action: "consent.add",
                        purpose: "consent".into(),
                        object: subject_object(subject),
                        allowed: false,
                        reason: reason.clone(),
                    });
                    return Err(Failure::Denied(format!("subject {subject}: {reason}")).into());
                }
                Err(e) => return Err(fail(e)),
            }
        }
        ConsentCommand::Show { subject } => {
            require_role(ctx, gates::CONSENT, "consent.read", subject_object(subject))?;
            let c =
                vault.consent(subject).await.map_err(fail)?.ok_or_else(|| {
                    Failure::NotFound(format!("subject {subject} has no consent on record"))
                })?;
            let a = c.record.consent();
            let now = chrono::Utc::now();
            writeln!(out, "consent       {}", c.id)?;
            writeln!(out, "subject       {subject}")?;
            writeln!(out, "jurisdiction  {}", a.jurisdiction())?;
            writeln!(
                out,
                "notice        version {} sha256 {}",
                a.notice().version(),
                a.notice().sha256_hex()
            )?;
            writeln!(
                out,
                "signed        {} ({:?})",
                a.signature().at.format("%Y-%m-%d %H:%M UTC"),
                a.signature().method
            )?;
            writeln!(out, "share         {}", if a.share() { "consented" } else { "not consented" })?;
            writeln!(out, "limit use     {}", if a.limit_use() { "asked" } else { "no" })?;
            writeln!(out, "expires       {}", a.expires().map_or("never".into(), |e| e.to_string()))?;
            writeln!(out, "status        {:?}", c.record.status_at(now))?;
            writeln!(out, "purposes")?;
            for (p, r) in a.purposes() {
                writeln!(out, "  {:<26} kept {r}", p.id.as_str())?;
            }
            ctx.push(Record::change("consent.read", "consent", subject_object(subject), "consent shown"));
        }
        ConsentCommand::Fhir { subject } => {
            require_role(ctx, gates::CONSENT, "consent.read", subject_object(subject))?;
            let c =
                vault.consent(subject).await.map_err(fail)?.ok_or_else(|| {
                    Failure::NotFound(format!("subject {subject} has no consent on record"))
                })?;
            let resource = facevault_domain::fhir::consent_resource(
                &c.record,
                &c.id.to_string(),
                &format!("Patient/{subject}"),
                None,
                chrono::Utc::now(),
            );
            super::print_json(&resource)?;
            ctx.push(Record::change(
                "consent.read",
                "consent",
                subject_object(subject),
                "consent exported as FHIR",
            ));
        }
        ConsentCommand::Withdraw { subject } => {
            require_role(ctx, gates::CONSENT, "consent.withdraw", subject_object(subject))?;
            let at = vault.withdraw_consent(subject).await.map_err(fail)?;
            ctx.push(Record::change(
                "consent.withdraw",
                "consent",
                subject_object(subject),
                "consent withdrawn",
            ));
            eprintln!(
                "subject {subject}: consent withdrawn at {}; every later access is refused",
                super::utc(at)
            );
        }
    }
    Ok(())
}

pub(crate) async fn restrict(
    vault: &Vault,
    ctx: &Ctx<'_>,
    subject: SubjectId,
    what: RestrictionArg,
    lift: bool,
) -> Result<()> {
    require_role(ctx, gates::RESTRICTION, "restriction.set", subject_object(subject))?;
    let (r, name) = match what {
        RestrictionArg::OptOut => (Restriction::OptOut, "opt-out"),
        RestrictionArg::LimitUse => (Restriction::LimitUse, "limit-use"),
    };
    vault.set_restriction(subject, r, !lift).await.map_err(fail)?;
    let verb = if lift { "lifted" } else { "set" };
    ctx.push(Record::change("restriction.set", name, subject_object(subject), format!("{name} {verb}")));
    eprintln!("subject {subject}: {name} {verb}");
    Ok(())
}

pub(crate) async fn hold(vault: &Vault, ctx: &Ctx<'_>, cmd: HoldCommand) -> Result<()> {
    match cmd {
        HoldCommand::Place { subject, kind, reference, reason } => {
            require_role(ctx, gates::COMPLIANCE, "hold.place", subject_object(subject))?;
            let k = parse_hold_kind(&kind)
                .ok_or_else(|| input(format!("--kind {kind:?}: use warrant, subpoena or litigation")))?;
            if reference.trim().is_empty() || reason.trim().is_empty() {
                return Err(input("--reference and --reason must not be empty".into()));
            }
            vault.place_hold(subject, k, &reference, &reason).await.map_err(fail)?;
            ctx.push(Record::change(
                "hold.place",
                "legal-hold",
                subject_object(subject),
                format!("{kind} hold placed, reference sha256:{}", sha256_hex(&reference)),
            ));
            eprintln!("subject {subject}: {kind} hold placed; destruction is suspended until it is released");
        }
        HoldCommand::Release { subject, reference } => {
            require_role(ctx, gates::COMPLIANCE, "hold.release", subject_object(subject))?;
            vault.release_hold(subject, &reference).await.map_err(fail)?;
            ctx.push(Record::change(
                "hold.release",
                "legal-hold",
                subject_object(subject),
                format!("hold released, reference sha256:{}", sha256_hex(&reference)),
            ));
            eprintln!("subject {subject}: hold released");
        }
    }
    Ok(())
}

pub(crate) async fn purpose(vault: &Vault, ctx: &Ctx<'_>, cmd: PurposeCommand) -> Result<()> {
    match cmd {
        PurposeCommand::List => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<26}  {:>9}  {:<5}  {:<4}  {:<7}  DESCRIPTION",
                "PURPOSE", "RETENTION", "SHARE", "SALE", "ENABLED"
            )?;
            for p in ctx.policy.catalogue().iter() {
                writeln!(
                    out,
                    "{:<26}  {:>9}  {:<5}  {:<4}  {:<7}  {}",
                    p.id.as_str(),
                    p.retention.to_string(),
                    p.share,
                    p.sale,
                    p.enabled,
                    p.description
                )?;
            }
        }
        PurposeCommand::Satisfied { subject, purpose, on } => {
            require_role(ctx, gates::SATISFIED, "purpose.satisfied", subject_object(subject))?;
            let today = chrono::Utc::now().date_naive();
            let day = match on {
                Some(d) => parse_day(&d, "--on")?,
                None => today,
            };
            if day > today {
                return Err(input(format!("--on {day}: a purpose is satisfied on a day that has come")));
            }
            let id =
                PurposeId::new(purpose.clone()).map_err(|e| input(format!("purpose {purpose:?}: {e}")))?;
            if ctx.policy.catalogue().get(&purpose).is_none() {
                return Err(input(format!(
                    "purpose {purpose:?} is not in the catalogue (see `facevault purpose list`)"
                )));
            }
            vault.mark_satisfied(subject, &id, day).await.map_err(fail)?;
            ctx.push(Record::change(
                "purpose.satisfied",
                &purpose,
                subject_object(subject),
                format!("purpose satisfied on {day}"),
            ));
            eprintln!(
                "subject {subject}: {purpose} satisfied on {day}; its data is due for destruction that day"
            );
        }
    }
    Ok(())
}

fn target_text(t: &DomainTarget) -> String {
    match t {
        DomainTarget::Subject(s) => format!("subject:{s}"),
        DomainTarget::Object(o, _) => o.0.clone(),
    }
}

fn destruction_json(d: &Destruction) -> serde_json::Value {
    serde_json::json!({
        "target": target_text(&d.target),
        "due": d.due.to_string(),
        "rule": d.rule.to_string(),
        "reason": d.reason,
        "suspended_by_hold": d.suspended_by.is_some(),
    })
}

pub(crate) async fn retention(vault: &Vault, ctx: &Ctx<'_>, cmd: RetentionCommand) -> Result<()> {
    match cmd {
        RetentionCommand::Plan { at, json } => {
            require_role(ctx, gates::COMPLIANCE, "retention.plan", "vault".into())?;
            let at = match at {
                Some(d) => parse_day(&d, "--at")?,
                None => chrono::Utc::now().date_naive(),
            };
            let plans = vault.retention_plan(at).await.map_err(fail)?;
            ctx.push(Record::change(
                "retention.plan",
                "retention",
                "vault".into(),
                format!("plan as of {at}"),
            ));
            if json {
                let subjects: Vec<serde_json::Value> = plans
                    .iter()
                    .map(|p| {
                        serde_json::json!({
                            "subject": p.subject.to_string(),
                            "destructions": p.destructions.iter().map(destruction_json).collect::<Vec<_>>(),
                            "unplanned": p.unplanned,
                        })
                    })
                    .collect();
                return Ok(super::print_json(
                    &serde_json::json!({ "at": at.to_string(), "subjects": subjects }),
                )?);
            }
            let mut out = std::io::stdout().lock();
            writeln!(out, "retention plan as of {at} (dry run: nothing is destroyed)")?;
            writeln!(out, "{:<10}  {:<18}  {:<52}  REASON", "DUE", "RULE", "WHAT")?;
            for p in &plans {
                if let Some(why) = &p.unplanned {
                    writeln!(
                        out,
                        "{:<10}  {:<18}  {:<52}  {why}",
                        "-",
                        "-",
                        format!("subject:{}", p.subject)
                    )?;
                }
                for d in &p.destructions {
                    let mark = if d.due <= at { " (due)" } else { "" };
                    let held = if d.suspended_by.is_some() { "; SUSPENDED by a legal hold" } else { "" };
                    let what = match &d.target {
                        DomainTarget::Subject(s) => format!("subject:{s} (crypto-shred)"),
                        DomainTarget::Object(o, _) => o.0.clone(),
                    };
                    writeln!(
                        out,
                        "{:<10}  {:<18}  {what:<52}  {}{held}{mark}",
                        d.due.to_string(),
                        d.rule.to_string(),
                        d.reason
                    )?;
                }
            }
        }
        RetentionCommand::Enforce => {
            require_role(ctx, gates::COMPLIANCE, "retention.enforce", "vault".into())?;
            let today = chrono::Utc::now().date_naive();
            let done = vault.enforce_retention(today).await.map_err(fail)?;
            if done.is_empty() {
                ctx.push(Record::change(
                    "retention.enforce",
                    "retention",
                    "vault".into(),
                    format!("nothing due on {today}"),
                ));
                eprintln!("nothing is due on {today}");
            }
            for e in done {
                match e {
                    Enforced::Shredded { destruction, report } => {
                        let destroyed = report.destroyed();
                        ctx.deletion(
                            report.subject,
                            &destruction.rule.to_string(),
                            "retention.shred",
                            destroyed,
                            true,
                        );
                        eprintln!(
                            "subject {} crypto-shredded under {} ({}): {} scan(s), {} derivative(s)",
                            report.subject,
                            destruction.rule,
                            destruction.reason,
                            report.scans,
                            report.derivatives
                        );
                    }
                    Enforced::Deleted { subject, destructions, removed } => {
                        let mut rules: Vec<String> =
                            destructions.iter().map(|d| d.rule.to_string()).collect();
                        rules.dedup();
                        let destroyed = removed.iter().map(|n| n.destroyed()).collect();
                        ctx.deletion(subject, &rules.join("+"), "retention.delete", destroyed, false);
                        eprintln!(
                            "subject {subject}: {} object(s) deleted under {}",
                            removed.len(),
                            rules.join(", ")
                        );
                    }
                }
            }
            let purged = vault.purge_blobs(|_, _| {}).await.map_err(fail)?;
            if purged > 0 {
                eprintln!("{purged} blob(s) purged");
            }
        }
    }
    Ok(())
}

/// The purpose a delete of `subject` names when none is given: the first its consent grants.
pub(crate) async fn held_for(vault: &Vault, subject: SubjectId) -> Result<String> {
    vault.delete_purpose(subject).await.map_err(fail)
}
