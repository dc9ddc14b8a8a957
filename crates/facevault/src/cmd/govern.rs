//! `facevault consent|restrict|hold|purpose|retention`: the governance of a vault on the
//! command line, over the application's use cases (which decide and journal);
//! identities (a typed signature, a hold's docket) are stored sealed and never printed or
//! logged: the audit log gets pseudonymous ids and, for a hold, the SHA-256 of its reference.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use facevault_app::time::minutes;
use facevault_app::Retained;
use facevault_domain::consent_form::ConsentForm;
use facevault_domain::{Destruction, Target as DomainTarget};
use facevault_vault::{Restriction, SubjectId};
use zeroize::Zeroizing;

use super::vault::Ctx;
use super::Failure;

#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Record a subject's consent from a TOML file (`-` for standard input; see
    /// docs/examples/consent-il.toml). It is checked against what the subject's jurisdiction
    /// requires, and refused naming the first missing element. Once in force it supersedes any
    /// earlier one. Recorded by staff for a purpose beyond care, or after the patient withdrew,
    /// it is pending and grants nothing until the patient confirms it (in the portal, or
    /// `consent confirm` as the patient) or the privacy officer approves it (`consent approve`).
    Add { subject: SubjectId, file: PathBuf },
    /// Show the subject's latest consent: state (pending, active, withdrawn, expired), who
    /// recorded and who confirmed it, jurisdiction, notice (version and SHA-256), purposes with
    /// their retention, share and limit-use choices.
    Show { subject: SubjectId },
    /// Approve a pending consent against the signed form (the privacy officer): it is in force
    /// from now on. Give the form's SHA-256, or the scanned form itself to hash.
    Approve {
        subject: SubjectId,
        consent: String,
        /// The SHA-256 (64 hex digits) of the signed form kept on file.
        #[arg(long, conflicts_with = "form", required_unless_present = "form")]
        form_sha256: Option<String>,
        /// The signed form's file (a scan or PDF): its SHA-256 is recorded, not its content.
        #[arg(long)]
        form: Option<PathBuf>,
    },
    /// Confirm a pending consent as the patient (`--role patient --actor SUBJECT`): it is in
    /// force from now on.
    Confirm { subject: SubjectId, consent: String },
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

/// Reads the consent file (the domain's `ConsentForm` in TOML) and a reader of the notice
/// files it names, beside it; every problem names the file.
fn read_consent(path: &Path) -> Result<(ConsentForm, impl FnOnce(&str) -> Result<String, String>)> {
    let name = path.display().to_string();
    let text = Zeroizing::new(if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::Read::take(std::io::stdin(), 1 << 20), &mut s)?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| input(format!("{name}: {e}")))?
    });
    let form: ConsentForm = toml::from_str(&text).map_err(|e| input(format!("{name}: {e}")))?;
    let folder = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let read_notice = move |file: &str| {
        let at = folder.join(file);
        std::fs::read_to_string(&at).map_err(|e| format!("notice file {}: {e}", at.display()))
    };
    Ok((form, read_notice))
}

pub(crate) async fn consent(ctx: &Ctx<'_>, cmd: ConsentCommand) -> Result<()> {
    let (app, me) = (ctx.app, &ctx.session);
    let mut out = std::io::stdout().lock();
    match cmd {
        ConsentCommand::Add { subject, file } => {
            let (form, read_notice) = read_consent(&file)?;
            let c = app.record_consent(me, subject, &form, read_notice).await.map_err(|e| match e.field {
                // A field of the form: name the file too.
                Some(field) => Failure::Input(format!("{}: {field}: {}", file.display(), e.message)),
                None => Failure::App(e),
            })?;
            writeln!(out, "{}", c.id)?;
            eprintln!(
                "consent {} recorded for subject {subject} ({}: {})",
                c.id,
                c.jurisdiction,
                c.purposes.join(", ")
            );
            if let Some(why) = &c.pending {
                eprintln!(
                    "consent {} is PENDING and grants nothing ({why}): the patient confirms it, or the \
                     privacy officer approves it with `consent approve {subject} {} --form FILE`",
                    c.id, c.id
                );
            }
        }
        ConsentCommand::Approve { subject, consent, form_sha256, form } => {
            let consent = facevault_app::parse_consent_id(&consent)?;
            let hash = match (form_sha256, form) {
                (Some(h), _) => h,
                (None, Some(path)) => {
                    use sha2::Digest;
                    let bytes =
                        std::fs::read(&path).map_err(|e| input(format!("{}: {e}", path.display())))?;
                    sha2::Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
                }
                (None, None) => return Err(input("give --form-sha256 HEX or --form FILE".into())),
            };
            let (_, done) = app.approve_consent(me, subject, consent, &hash).await?;
            eprintln!(
                "consent {consent} of subject {subject} approved against form sha256:{}; in force from now on",
                done.form_sha256.unwrap_or_default()
            );
        }
        ConsentCommand::Confirm { subject, consent } => {
            let consent = facevault_app::parse_consent_id(&consent)?;
            app.confirm_consent(me, subject, consent).await?;
            eprintln!("consent {consent} of subject {subject} confirmed; in force from now on");
        }
        ConsentCommand::Show { subject } => {
            let c = app.consent(me, subject, "consent shown").await?;
            let a = c.record.consent();
            let now = chrono::Utc::now();
            writeln!(out, "consent       {}", c.id)?;
            writeln!(out, "subject       {subject}")?;
            writeln!(out, "state         {}", c.state_at(now))?;
            if let Some(why) = &c.pending {
                writeln!(out, "pending       {why}")?;
            }
            if let Some(by) = &c.recorded_by {
                writeln!(out, "recorded by   {by}")?;
            }
            if let Some(x) = &c.confirmation {
                let form = x.form_sha256.as_ref().map_or(String::new(), |h| format!(", form sha256 {h}"));
                writeln!(out, "confirmed     by {} {} at {}{form}", x.kind.as_str(), x.by, minutes(x.at))?;
            }
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
            writeln!(out, "purposes")?;
            for (p, r) in a.purposes() {
                writeln!(out, "  {:<26} kept {r}", p.id.as_str())?;
            }
        }
        ConsentCommand::Fhir { subject } => {
            let c = app.consent(me, subject, "consent exported as FHIR").await?;
            let now = chrono::Utc::now();
            let mut resource = facevault_domain::fhir::consent_resource(
                &c.record,
                &c.id.to_string(),
                &format!("Patient/{subject}"),
                None,
                now,
            );
            // A consent waiting for confirmation is not in force: FHIR's code for that.
            if c.state_at(now) == "pending" {
                resource["status"] = "proposed".into();
            }
            super::print_json(&resource)?;
        }
        ConsentCommand::Withdraw { subject } => {
            let at = app.withdraw_consent(me, subject).await?;
            eprintln!(
                "subject {subject}: consent withdrawn at {}; every later access is refused",
                minutes(at)
            );
        }
    }
    Ok(())
}

pub(crate) async fn restrict(
    ctx: &Ctx<'_>,
    subject: SubjectId,
    what: RestrictionArg,
    lift: bool,
) -> Result<()> {
    let r = match what {
        RestrictionArg::OptOut => Restriction::OptOut,
        RestrictionArg::LimitUse => Restriction::LimitUse,
    };
    ctx.app.set_restriction(&ctx.session, subject, r, lift).await?;
    let verb = if lift { "lifted" } else { "set" };
    eprintln!("subject {subject}: {} {verb}", facevault_app::restriction_name(r));
    Ok(())
}

pub(crate) async fn hold(ctx: &Ctx<'_>, cmd: HoldCommand) -> Result<()> {
    match cmd {
        HoldCommand::Place { subject, kind, reference, reason } => {
            let placed = ctx.app.place_hold(&ctx.session, subject, &kind, &reference, &reason).await?;
            eprintln!("subject {subject}: {kind} hold placed; destruction is suspended until it is released");
            if let Some(why) = placed.outside_statute {
                eprintln!("OUTSIDE THE STATUTE: {why}");
            }
        }
        HoldCommand::Release { subject, reference } => {
            ctx.app.release_hold(&ctx.session, subject, &reference).await?;
            eprintln!("subject {subject}: hold released");
        }
    }
    Ok(())
}

pub(crate) async fn purpose(ctx: &Ctx<'_>, cmd: PurposeCommand) -> Result<()> {
    match cmd {
        PurposeCommand::List => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "{:<26}  {:>9}  {:<5}  {:<4}  {:<7}  DESCRIPTION",
                "PURPOSE", "RETENTION", "SHARE", "SALE", "ENABLED"
            )?;
            for p in ctx.policy().catalogue().iter() {
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
            let day = ctx.app.purpose_satisfied(&ctx.session, subject, &purpose, on.as_deref()).await?;
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

pub(crate) async fn retention(ctx: &Ctx<'_>, cmd: RetentionCommand) -> Result<()> {
    match cmd {
        RetentionCommand::Plan { at, json } => {
            let (at, plans) = ctx.app.retention_plan(&ctx.session, at.as_deref()).await?;
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
            let today = chrono::Utc::now().date_naive();
            let run = ctx.app.enforce_retention(&ctx.session, today).await?;
            if run.done.is_empty() {
                eprintln!("nothing is due on {today}");
            }
            for d in &run.done {
                match d {
                    Retained::Shredded { subject, destruction, scans, derivatives } => eprintln!(
                        "subject {subject} crypto-shredded under {} ({}): {scans} scan(s), {derivatives} derivative(s)",
                        destruction.rule, destruction.reason
                    ),
                    Retained::Deleted { subject, rules, objects } => {
                        eprintln!("subject {subject}: {objects} object(s) deleted under {}", rules.join(", "))
                    }
                }
            }
            if run.blobs_purged > 0 {
                eprintln!("{} blob(s) purged", run.blobs_purged);
            }
            for c in &run.certificates {
                super::subjects::certificate_written(c);
            }
        }
    }
    Ok(())
}
