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
//! The report is the application's `posture` use case (the server's `GET /api/posture` calls
//! the same); this command prints it.

use anyhow::Result;

use super::vault::Ctx;

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

pub(crate) async fn posture(ctx: &Ctx<'_>, args: PostureArgs) -> Result<()> {
    let report = ctx.app.posture(&ctx.session, args.at.as_deref()).await?;
    if args.json {
        super::print_json(&report)?;
    } else {
        use std::io::Write;
        std::io::stdout().lock().write_all(report.to_markdown().as_bytes())?;
    }
    Ok(())
}
