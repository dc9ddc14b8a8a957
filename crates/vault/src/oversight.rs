//! What the privacy office's front ends (the CLI and the server) gather from the vault the same
//! way: opening a data-subject request (the law from the subject's consent, whether biometric
//! data is involved, the duplicate check) and the findings of the privacy posture report (the
//! retention plan, vendors missing terms, overdue requests, disclosures the consent did not
//! cover, outputs of automated processing, consents that no longer pass their jurisdiction's
//! capture check). The audit log's break-glass entries are read by the caller, which owns the
//! log, and turned into findings by [`break_glass_uses`].

use std::collections::{BTreeMap, BTreeSet};

use facevault_domain::posture::{
    AutomatedOutput, BreakGlassUse, ConsentGap, OverdueRequest, PastRetention, PostureInput,
    UncoveredDisclosure, VendorGap,
};
use facevault_domain::request::{
    find_duplicate, overdue, Duplicate, DuplicatePolicy, HolidayCalendar, Law, NewRequest, Request,
    RequestId, RequestKind, Requester,
};
use facevault_domain::{
    check_capture, missing_terms, ConsentDraft, PurposeGrant, Target as DomainTarget, VendorRegistry,
};

use crate::error::VaultError;
use crate::governance::Target;
use crate::ids::{Node, SubjectId};
use crate::model::DerivativeKind;
use crate::ports::{BlobStore, Clock, KeyProvider, MetadataStore};
use crate::vault::Vault;

/// What a completed erasure keeps, as both front ends record it: the law requires these, and
/// they name the subject only by pseudonymous id.
pub const ERASURE_KEEPS: &str = "kept: audit entries (HIPAA 164.316(b)(2), 6 years), this request's record, \
                                 disclosure records; all pseudonymous, none holds biometric data";

/// Parses a law as a front end takes it, in any case: CCPA, GDPR, MHMDA, BIPA, CUBI, other.
pub fn parse_law(s: &str) -> Option<Law> {
    Law::ALL.into_iter().find(|x| x.to_string().eq_ignore_ascii_case(s))
}

/// A data-subject request as a front end received it.
#[derive(Clone, Debug)]
pub struct RequestIntake {
    pub subject: SubjectId,
    pub kind: RequestKind,
    /// The law whose deadlines apply; `None`: from the subject's consent (else `other`).
    pub law: Option<Law>,
    /// Made by an authorized agent with this pseudonymous id.
    pub agent: Option<String>,
    pub received: chrono::DateTime<chrono::Utc>,
}

/// What opening a request did.
#[derive(Clone, Debug)]
pub enum Opened {
    /// Stored under a fresh id.
    Opened(Request),
    /// Refused: it duplicates an earlier request (`allow_duplicate` was not given).
    Duplicate(Duplicate),
}

/// The emergency (break-glass) access an audit entry records, if it records one: its reason
/// names break-glass, allowed or refused.
pub fn break_glass_use(
    entry: u64,
    actor: &str,
    role: &str,
    object: &str,
    reason: &str,
    at: String,
) -> Option<BreakGlassUse> {
    is_break_glass(reason).then(|| BreakGlassUse {
        entry,
        actor: format!("{actor} ({role})"),
        object: object.to_owned(),
        at,
    })
}

/// Whether an audit reason records an emergency (break-glass) access.
pub fn is_break_glass(reason: &str) -> bool {
    reason.contains("BREAK-GLASS") || reason.contains("break-glass")
}

/// Every break-glass access the audit log records, in order: the whole log is read once. An
/// entry that does not decode is an error naming its index.
pub fn break_glass_uses<S: facevault_audit::LogStore>(store: &S) -> Result<Vec<BreakGlassUse>, String> {
    let size = store.size().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut bad = None;
    let mut index = 0u64;
    store
        .for_each_entry(0, size, &mut |bytes| {
            let i = index;
            index += 1;
            match facevault_audit::AuditEntry::decode(bytes) {
                Ok(e) => out.extend(break_glass_use(
                    i,
                    e.actor.as_str(),
                    e.role.as_str(),
                    e.object.as_str(),
                    e.reason.as_str(),
                    e.time.to_string(),
                )),
                Err(e) => {
                    bad.get_or_insert(format!("entry {i}: {e}"));
                }
            }
        })
        .map_err(|e| e.to_string())?;
    match bad {
        Some(why) => Err(why),
        None => Ok(out),
    }
}

impl<M: MetadataStore, B: BlobStore, K: KeyProvider, C: Clock> Vault<M, B, K, C> {
    /// Every vendor that received data of `subject` (sorted, once each): an erasure notifies
    /// each of them before the key that could read the data goes.
    pub async fn disclosed_vendors(&self, subject: SubjectId) -> Result<Vec<String>, VaultError> {
        let vendors: BTreeSet<String> =
            self.disclosures_of(subject).await?.into_iter().filter_map(|d| d.vendor).collect();
        Ok(vendors.into_iter().collect())
    }

    /// The completed erasure request of `subject` when the subject is gone (crypto-shredded by
    /// it); `None` while the subject exists or if no erasure request removed it.
    pub async fn erasure_of(
        &self,
        subject: SubjectId,
        calendar: &HolidayCalendar,
    ) -> Result<Option<facevault_domain::request::Request>, VaultError> {
        if self.meta.subject(subject).await?.is_some() {
            return Ok(None);
        }
        let id = subject.to_string();
        Ok(self.requests(calendar).await?.into_iter().find(|r| {
            r.subject().0 == id
                && r.kind() == facevault_domain::request::RequestKind::Delete
                && matches!(r.state(), facevault_domain::RequestState::Completed)
        }))
    }

    /// Opens a data-subject request: the law defaults to the one of the subject's consent,
    /// biometric data is involved when the subject has scans (which decides the verification
    /// it needs), and a duplicate of an earlier request (an open one of the same kind, a
    /// recently completed one, a third access request within 12 months) is refused naming it
    /// unless `allow_duplicate`. An unknown subject is [`VaultError::UnknownSubject`].
    pub async fn open_request_checked(
        &self,
        intake: RequestIntake,
        allow_duplicate: bool,
        calendar: &HolidayCalendar,
    ) -> Result<Opened, VaultError> {
        let subject = intake.subject;
        // An erased subject may still ask what is kept of them: the law of their erasure
        // request, and no biometric data left to verify against.
        let erasure = self.erasure_of(subject, calendar).await?;
        let law = match (intake.law, &erasure) {
            (Some(l), _) => l,
            (None, Some(e)) => e.law(),
            (None, None) => match self.consent(subject).await? {
                Some(c) => Law::for_jurisdiction(c.record.consent().jurisdiction()),
                None => Law::Other,
            },
        };
        let involves_biometric = erasure.is_none() && !self.scans_of(subject).await?.is_empty();
        let requester = match intake.agent {
            Some(agent_id) => Requester::Agent { agent_id, proof_of_authority: false },
            None => Requester::Subject,
        };
        let candidate = NewRequest {
            id: RequestId("new".into()),
            subject: facevault_domain::SubjectId(subject.to_string()),
            kind: intake.kind,
            law,
            requester,
            involves_biometric,
            received: intake.received,
        };
        let existing = self.requests(calendar).await?;
        if let Some(dup) = find_duplicate(&existing, &candidate, &DuplicatePolicy::default()) {
            if !allow_duplicate {
                return Ok(Opened::Duplicate(dup));
            }
        }
        Ok(Opened::Opened(self.open_request(candidate, calendar).await?))
    }

    /// The live data of the privacy posture report as of `at`, from the vault and the vendor
    /// registry; `break_glass` comes from the audit log (see [`break_glass_uses`]). Every
    /// object in the vault is a face scan or computed from one, so all of it is biometric.
    pub async fn posture_input(
        &self,
        at: facevault_domain::Timestamp,
        registry: &VendorRegistry,
        calendar: &HolidayCalendar,
        break_glass: Vec<BreakGlassUse>,
    ) -> Result<PostureInput, VaultError> {
        let day = at.date_naive();

        // Data past retention: due on or before the day and not suspended by a legal hold.
        let mut past_retention = Vec::new();
        for plan in self.retention_plan(day).await? {
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
        let requests = self.requests(calendar).await?;
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
        for subject in self.subject_ids().await? {
            let consent = self.consent(subject).await?;
            for d in self.disclosures_of(subject).await? {
                let when = crate::governance::chrono_ts(d.at);
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
            for scan in self.scans_of(subject).await? {
                for id in self.descendants(Node::Scan(scan.id)).await? {
                    let key = id.to_string();
                    if automated.contains_key(&key) {
                        continue;
                    }
                    let der = self.derivative(id).await?;
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
            // The current consent, unless withdrawn or signed after the report's day, checked
            // as if a capture happened at `at`: a refusal (expired, say) is a finding.
            if let Some(gap) = consent.filter(|c| c.record.withdrawn().is_none()).and_then(|c| {
                let a = c.record.consent();
                if a.signature().at > at {
                    return None;
                }
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
                check_capture(a.jurisdiction(), &draft, at).err().map(|m| ConsentGap {
                    subject: subject.to_string(),
                    jurisdiction: a.jurisdiction().to_string(),
                    element: format!("{m} ({})", m.source(a.jurisdiction())),
                })
            }) {
                consents_missing_elements.push(gap);
            }
        }

        Ok(PostureInput {
            at,
            past_retention,
            consents_missing_elements,
            vendors_missing_terms,
            break_glass,
            overdue_requests,
            disclosures_without_consent,
            automated_outputs: automated.into_values().collect(),
            // Filled by the application, which names a hold by its reference's SHA-256.
            holds_outside_statute: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn laws_parse_in_any_case() {
        assert_eq!(parse_law("ccpa"), Some(Law::Ccpa));
        assert_eq!(parse_law("GDPR"), Some(Law::Gdpr));
        assert_eq!(parse_law("Other"), Some(Law::Other));
        assert_eq!(parse_law("hipaa"), Some(Law::Hipaa));
        assert_eq!(parse_law("hippa"), None);
    }

    #[test]
    fn break_glass_is_read_from_the_reason() {
        let u = break_glass_use(7, "dr-a", "surgeon", "scan:1", "allowed; BREAK-GLASS: trauma", "t".into());
        assert_eq!(u.map(|u| (u.entry, u.actor)), Some((7, "dr-a (surgeon)".to_owned())));
        assert!(break_glass_use(1, "a", "admin", "x", "role permitted", "t".into()).is_none());
    }
}
