//! `facevault posture`: the privacy posture report, the risk register behind a CPRA risk
//! assessment or a DPIA, computed from the live vault and scored by `facevault_domain::posture`.
//!
//! The findings come from the retention plan (destructions due and not suspended by a hold),
//! the vendor registry (contract terms missing), the audit log (break-glass accesses), the
//! data-subject requests (deadlines passed), the disclosures (a purpose the subject's current
//! consent does not cover at the disclosure's time, or a vendor missing terms), the derivatives
//! (outputs of automated processing) and each subject's current consent checked again against
//! its jurisdiction as of the report's day. The clinic's acceptance criteria are
//! `posture.toml` in the vault directory (else the defaults). Output names pseudonymous ids only.
//! The gathering is `facevault_vault::oversight` (the server's `GET /api/posture` shares it);
//! this command reads the files and the audit log.

use std::path::Path;

use anyhow::Result;
use facevault_domain::posture::{assess, BreakGlassUse, RiskCriteria};
use facevault_domain::settings;
use facevault_domain::Timestamp;
use facevault_policy::gates;
use facevault_store_sql::SqlLogStore;
use facevault_vault::oversight::break_glass_uses;

use super::vault::{fail, Ctx, Vault, DB_FILE};
use super::Failure;
use facevault_app::Record;

/// The clinic's risk acceptance criteria, in the vault directory.
pub(crate) const POSTURE_FILE: &str = "posture.toml";

/// The arguments of `facevault posture`.
#[derive(Debug, clap::Args)]
pub struct PostureArgs {
    /// Print the report as JSON instead of Markdown.
    #[arg(long)]
    pub json: bool,
    /// The day the report is as of (YYYY-MM-DD, from its start, UTC; default now).
    #[arg(long)]
    pub at: Option<String>,
}

fn input(msg: String) -> anyhow::Error {
    Failure::Input(msg).into()
}

fn require(ctx: &Ctx<'_>) -> Result<()> {
    ctx.require_role(gates::COMPLIANCE, "posture.report", "posture".into(), "administration")
}

/// The criteria from `posture.toml`, else the defaults.
fn criteria(dir: &Path) -> Result<RiskCriteria> {
    let path = dir.join(POSTURE_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(input(format!("{}: {e}", path.display()))),
    };
    settings::risk_criteria(text.as_deref()).map_err(|e| input(format!("{}: {e}", path.display())))
}

pub(crate) async fn posture(vault: &Vault, ctx: &Ctx<'_>, args: PostureArgs) -> Result<()> {
    require(ctx)?;
    let criteria = criteria(&ctx.dir)?;
    let at: Timestamp = match &args.at {
        Some(d) => super::govern::parse_day(d, "--at")?.and_time(chrono::NaiveTime::MIN).and_utc(),
        None => facevault_app::time::now_ms(),
    };
    let registry = super::vendors::registry(ctx)?;
    // Break-glass accesses from the audit log, read on a plain thread (`SqlLogStore` blocks on
    // a runtime of its own).
    let dir = ctx.dir.as_path();
    let break_glass = std::thread::scope(|s| {
        s.spawn(|| read_break_glass(dir))
            .join()
            .unwrap_or_else(|_| Err(Failure::Damaged("audit log: the reader thread failed".into()).into()))
    })?;

    let input =
        vault.posture_input(at, &registry, &facevault_app::calendar(), break_glass).await.map_err(fail)?;
    let report = assess(&input, &criteria);
    let m = &report.summary;
    ctx.push(Record::change(
        "posture.report",
        "administration",
        "posture".into(),
        format!(
            "risk register as of {}: {} finding(s) with records, {} not acceptable (acceptable score {})",
            report.at, m.findings_with_records, m.unacceptable, criteria.acceptable_score
        ),
    ));
    if args.json {
        super::print_json(&report)?;
    } else {
        use std::io::Write;
        std::io::stdout().lock().write_all(report.to_markdown().as_bytes())?;
    }
    Ok(())
}

/// The break-glass entries of the audit log (reason naming BREAK-GLASS), allowed or refused.
fn read_break_glass(dir: &Path) -> Result<Vec<BreakGlassUse>> {
    let damaged = |e: &dyn std::fmt::Display| Failure::Damaged(format!("audit log: {e}"));
    let store = SqlLogStore::open_sqlite(&dir.join(DB_FILE)).map_err(|e| damaged(&e))?;
    let uses = break_glass_uses(&store);
    store.close();
    uses.map_err(|e| damaged(&e).into())
}
