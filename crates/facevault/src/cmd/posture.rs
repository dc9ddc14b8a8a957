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

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::Result;
use facevault_audit::{AuditEntry, LogStore};
use facevault_domain::posture::{
    assess, AutomatedOutput, BreakGlassUse, ConsentGap, OverdueRequest, PastRetention, PostureInput,
    RiskCriteria, UncoveredDisclosure, VendorGap,
};
use facevault_domain::{
    check_capture, missing_terms, overdue, ConsentDraft, PurposeGrant, Target as DomainTarget, Timestamp,
};
use facevault_policy::Role;
use facevault_store_sql::SqlLogStore;
use facevault_vault::{DerivativeKind, Node, Target};

use super::audit::Record;
use super::vault::{fail, Ctx, Vault, DB_FILE};
use super::Failure;

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
    ctx.require_role(
        &[Role::PrivacyOfficer, Role::Admin],
        "posture.report",
        "posture".into(),
        "administration",
    )
}

/// The criteria from `posture.toml`, else the defaults.
fn criteria(dir: &Path) -> Result<RiskCriteria> {
    let path = dir.join(POSTURE_FILE);
    let c: RiskCriteria = match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).map_err(|e| input(format!("{}: {e}", path.display())))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => RiskCriteria::default(),
        Err(e) => return Err(input(format!("{}: {e}", path.display()))),
    };
    c.validate().map_err(|e| input(format!("{}: {e}", path.display())))?;
    Ok(c)
}

fn chrono_ts(t: facevault_vault::Timestamp) -> Timestamp {
    chrono::DateTime::from_timestamp_millis(t.0).unwrap_or_default()
}

pub(crate) async fn posture(vault: &Vault, ctx: &Ctx<'_>, args: PostureArgs) -> Result<()> {
    require(ctx)?;
    let criteria = criteria(&ctx.dir)?;
    let at: Timestamp = match &args.at {
        Some(d) => super::govern::parse_day(d, "--at")?.and_time(chrono::NaiveTime::MIN).and_utc(),
        None => super::now_ms(),
    };
    let day = at.date_naive();

    // Data past retention: due on or before the day and not suspended by a legal hold. Every
    // object in the vault is a face scan or computed from one: biometric.
    let mut past_retention = Vec::new();
    for plan in vault.retention_plan(day).await.map_err(fail)? {
        for d in plan.destructions.iter().filter(|d| d.due <= day && d.suspended_by.is_none()) {
            let object = match &d.target {
                DomainTarget::Subject(s) => format!("subject:{s}"),
                DomainTarget::Object(o, _) => o.0.clone(),
            };
            past_retention.push(PastRetention {
                subject: plan.subject.to_string(),
                object,
                due: d.due,
                rule: d.rule.to_string(),
                biometric: true,
            });
        }
    }

    // Vendors missing contract terms.
    let registry = super::vendors::registry(ctx)?;
    let vendors_missing_terms: Vec<VendorGap> = registry
        .vendors()
        .iter()
        .filter_map(|v| {
            let missing = missing_terms(v);
            (!missing.is_empty()).then(|| VendorGap {
                vendor: v.id.as_str().to_owned(),
                missing: missing.iter().map(|t| t.id().to_owned()).collect(),
            })
        })
        .collect();
    let lacking: BTreeSet<&str> = vendors_missing_terms.iter().map(|v| v.vendor.as_str()).collect();

    // Overdue request obligations.
    let requests = vault.requests(&super::requests::calendar()).await.map_err(fail)?;
    let overdue_requests: Vec<OverdueRequest> = overdue(&requests, at)
        .into_iter()
        .map(|d| OverdueRequest {
            id: d.request.id().to_string(),
            kind: d.request.kind().to_string(),
            law: d.request.law().to_string(),
            obligation: d.obligation.to_string(),
            due: d.by,
        })
        .collect();

    // Per subject: disclosures, outputs of automated processing, the consent checked again.
    let mut disclosures_without_consent = Vec::new();
    let mut automated: BTreeMap<String, AutomatedOutput> = BTreeMap::new();
    let mut consents_missing_elements = Vec::new();
    for subject in vault.subject_ids().await.map_err(fail)? {
        let consent = vault.consent(subject).await.map_err(fail)?;
        for d in vault.disclosures_of(subject).await.map_err(fail)? {
            let when = chrono_ts(d.at);
            let why = match (&consent, &d.vendor) {
                (_, Some(v)) if lacking.contains(v.as_str()) => {
                    Some(format!("vendor {v} is missing required contract terms"))
                }
                (None, _) => Some("no consent on record".to_owned()),
                (Some(c), _) if !c.record.covers(&d.purpose.0, when) => {
                    Some(format!("the current consent does not cover {} at that time", d.purpose.0))
                }
                _ => None,
            };
            if let Some(why) = why {
                disclosures_without_consent.push(UncoveredDisclosure {
                    subject: subject.to_string(),
                    node: Target::Node(d.node).object_id().0,
                    recipient: d.vendor.clone().unwrap_or_else(|| d.recipient.clone()),
                    purpose: d.purpose.0.clone(),
                    at: when,
                    why,
                });
            }
        }
        for scan in vault.scans_of(subject).await.map_err(fail)? {
            for id in vault.descendants(Node::Scan(scan.id)).await.map_err(fail)? {
                let key = id.to_string();
                if automated.contains_key(&key) {
                    continue;
                }
                let der = vault.derivative(id).await.map_err(fail)?;
                let kinds = [
                    DerivativeKind::Measurements,
                    DerivativeKind::Mesh,
                    DerivativeKind::Render,
                    DerivativeKind::Inference,
                ];
                if kinds.contains(&der.kind) {
                    automated.insert(
                        key.clone(),
                        AutomatedOutput {
                            derivative: key,
                            subject: subject.to_string(),
                            kind: der.kind.to_string(),
                            producer: der.producer.clone(),
                        },
                    );
                }
            }
        }
        // The current consent, unless withdrawn or signed after the report's day, checked as if
        // a capture happened at `at`: a refusal (expired, say) is a finding.
        if let Some(c) = consent.filter(|c| c.record.withdrawn().is_none()) {
            let a = c.record.consent();
            if a.signature().at <= at {
                let draft = ConsentDraft {
                    notice: Some(a.notice().clone()),
                    purposes: a
                        .purposes()
                        .iter()
                        .map(|(p, r)| PurposeGrant { purpose: p.clone(), retention: Some(*r) })
                        .collect(),
                    collect: true,
                    share: a.share(),
                    limit_use: a.limit_use(),
                    signature: Some(a.signature().clone()),
                    expires: a.expires(),
                    sale_authorization: a.sale_authorization().cloned(),
                };
                if let Err(m) = check_capture(a.jurisdiction(), &draft, at) {
                    consents_missing_elements.push(ConsentGap {
                        subject: subject.to_string(),
                        jurisdiction: a.jurisdiction().to_string(),
                        element: format!("{m} ({})", m.source(a.jurisdiction())),
                    });
                }
            }
        }
    }

    // Break-glass accesses from the audit log, read on a plain thread (`SqlLogStore` blocks on
    // a runtime of its own).
    let dir = ctx.dir.as_path();
    let break_glass = std::thread::scope(|s| {
        s.spawn(|| read_break_glass(dir))
            .join()
            .unwrap_or_else(|_| Err(Failure::Damaged("audit log: the reader thread failed".into()).into()))
    })?;

    let report = assess(
        &PostureInput {
            at,
            past_retention,
            consents_missing_elements,
            vendors_missing_terms,
            break_glass,
            overdue_requests,
            disclosures_without_consent,
            automated_outputs: automated.into_values().collect(),
        },
        &criteria,
    );
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
    let size = match store.size() {
        Ok(n) => n,
        Err(e) => {
            store.close();
            return Err(damaged(&e).into());
        }
    };
    let mut out = Vec::new();
    let mut index = 0u64;
    let mut bad = None;
    let read = store.for_each_entry(0, size, &mut |bytes| {
        let i = index;
        index += 1;
        match AuditEntry::decode(bytes) {
            Ok(e)
                if e.reason.as_str().contains("BREAK-GLASS") || e.reason.as_str().contains("break-glass") =>
            {
                out.push(BreakGlassUse {
                    entry: i,
                    actor: format!("{} ({})", e.actor.as_str(), e.role.as_str()),
                    object: e.object.as_str().to_owned(),
                    at: e.time.to_string(),
                });
            }
            Ok(_) => {}
            Err(e) => {
                bad.get_or_insert(format!("entry {i}: {e}"));
            }
        }
    });
    store.close();
    read.map_err(|e| damaged(&e))?;
    if let Some(why) = bad {
        return Err(damaged(&why).into());
    }
    Ok(out)
}
