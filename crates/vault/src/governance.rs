//! Governance use cases: consents, restrictions, legal holds, access decisions and retention.
//!
//! - A consent is checked (`facevault_domain::check_capture`) when it is recorded, and stored
//!   sealed under the subject's key with its notice text kept in plaintext; a scan is imported
//!   only under an active consent that covers its purpose.
//! - [`Vault::authorize`] gathers what a decision needs (the subject's consent, the object's
//!   retention day from the retention engine, opt-out, limit-use and open legal holds) and asks
//!   the [`Policy`]. Only an allowed decision yields the `AccessGrant` that the functions
//!   handing out plaintext (`scan_ply`, `export_scan`, `derivative_content`, ...) or deleting
//!   (`shred_subject`) require, and they check that it covers their action and object.
//! - [`Vault::retention_plan`] is the dry run of the retention engine over every subject;
//!   [`Vault::enforce_retention`] carries out what is due on a day: crypto-shred a subject, or
//!   delete single objects (with every derivative of them) when only some purposes lapsed.
//!
//! The audit entries of these decisions and changes are written by the caller (the CLI, the
//! server): every function here returns what happened, allowed or denied.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use facevault_crypto::{self as crypto, Id, ObjectKind};
use facevault_domain::{
    self as domain, check_capture, ConsentDraft, ConsentRecord, Date, Destruction, Enforcement, HoldKind,
    Jurisdiction, LegalHold, Notice, NoticeCovers, PurposeGrant, PurposeId, Signature, SignatureMethod,
    StoredObject, SubjectRetention,
};
use facevault_policy::{
    AccessGrant, AccessRequest, Action, BreakGlass, Decision, Policy, Restrictions, Role,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::VaultError;
use crate::ids::{Node, SubjectId, Timestamp};
use crate::model::{ConsentRow, GovernanceRow};
use crate::ports::{BlobStore, Clock, KeyProvider, MetadataStore};
use crate::vault::{blob_ctx, ShredReport, Vault};

const CONSENT_VERSION: u32 = 1;

/// What an access is about: a whole subject (its identity details) or one scan or derivative.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    Subject(SubjectId),
    Node(Node),
}

impl Target {
    /// The object id a decision and its audit entry name: `subject:<id>`, `scan:<id>`,
    /// `derivative:<id>`.
    pub fn object_id(self) -> domain::ObjectId {
        domain::ObjectId(match self {
            Target::Subject(s) => format!("subject:{s}"),
            Target::Node(Node::Scan(s)) => format!("scan:{s}"),
            Target::Node(Node::Derivative(d)) => format!("derivative:{d}"),
        })
    }
}

/// One access to decide.
#[derive(Clone, Copy, Debug)]
pub struct Ask<'a> {
    pub actor: &'a str,
    pub role: Role,
    pub action: Action,
    pub purpose: &'a str,
    pub target: Target,
    pub break_glass: Option<&'a BreakGlass>,
    /// An export answering the subject's right of access (see
    /// `facevault_policy::AccessRequest::right_of_access`).
    pub right_of_access: bool,
}

/// A subject's restriction, as the subject asked for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restriction {
    /// Opt-out of sale and sharing (CCPA/CPRA 1798.120).
    OptOut,
    /// Limit the use of sensitive personal information (CPRA 1798.121).
    LimitUse,
}

/// The sealed governance state of a subject.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
struct GovernanceDoc {
    opt_out: Option<i64>,
    limit_use: Option<i64>,
    holds: Vec<HoldDoc>,
    /// Purpose id -> the day it was recorded as satisfied (YYYY-MM-DD).
    satisfied: BTreeMap<String, String>,
    /// Consent id -> the confirmation that put a pending consent in force.
    #[serde(default)]
    confirmations: BTreeMap<String, ConfirmDoc>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct ConfirmDoc {
    by: String,
    kind: String,
    at: i64,
    form_sha256: Option<String>,
}

/// Who put a pending consent in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfirmedBy {
    /// The patient, in the portal.
    Patient,
    /// The privacy officer, against the SHA-256 of the signed form.
    PrivacyOfficer,
}

impl ConfirmedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmedBy::Patient => "patient",
            ConfirmedBy::PrivacyOfficer => "privacy-officer",
        }
    }
}

/// The confirmation of a pending consent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmation {
    /// The actor (pseudonymous: a login name or the subject id).
    pub by: String,
    pub kind: ConfirmedBy,
    pub at: Timestamp,
    /// The SHA-256 (hex) of the signed form the privacy officer approved it against.
    pub form_sha256: Option<String>,
}

/// Who records a consent, for the rule of [`facevault_domain::confirmation_needed`].
#[derive(Clone, Copy, Debug)]
pub struct Recorder<'a> {
    /// The actor, kept sealed with the consent.
    pub actor: &'a str,
    /// The subject themself (a patient in the portal).
    pub subject: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
struct HoldDoc {
    kind: String,
    reference: String,
    reason: String,
    placed: i64,
    released: Option<i64>,
}

/// A subject's governance state, as decisions and the retention engine read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GovernanceState {
    pub opt_out: Option<Timestamp>,
    pub limit_use: Option<Timestamp>,
    pub holds: Vec<LegalHold>,
    pub satisfied: BTreeMap<PurposeId, Date>,
    pub confirmations: BTreeMap<Id, Confirmation>,
}

impl GovernanceState {
    /// The reference of an open legal hold, if any.
    pub fn open_hold(&self) -> Option<&str> {
        self.holds.iter().find(|h| h.released.is_none()).map(|h| h.reference.as_str())
    }
}

/// The sealed form of a consent: the draft as collected, enough to check it again.
#[derive(Serialize, Deserialize)]
struct ConsentDoc {
    jurisdiction: String,
    notice_version: String,
    notice_text: String,
    covers: [bool; 4],
    purposes: Vec<GrantDoc>,
    collect: bool,
    share: bool,
    limit_use: bool,
    signature: Option<SignatureDoc>,
    expires: Option<String>,
    #[serde(default)]
    sale_authorization: Option<SaleDoc>,
    /// Why the consent waits for confirmation before it grants anything (none: in force).
    #[serde(default)]
    pending: Option<String>,
    /// Who recorded it.
    #[serde(default)]
    recorded_by: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct SaleDoc {
    buyer: String,
    signed: i64,
    expires: String,
}

#[derive(Serialize, Deserialize)]
struct GrantDoc {
    id: String,
    description: String,
    default_retention: String,
    share: bool,
    sale: bool,
    vendor: Option<String>,
    enabled: bool,
    #[serde(default)]
    care: bool,
    retention: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct SignatureDoc {
    method: String,
    typed_name: String,
    at: i64,
}

/// A recorded consent with its stored id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredConsent {
    pub id: Id,
    pub recorded_at: Timestamp,
    pub record: ConsentRecord,
    /// Why it had to wait for confirmation when it was recorded (none: in force at once).
    pub pending: Option<String>,
    /// Who recorded it, when known.
    pub recorded_by: Option<String>,
    /// Who confirmed it, if it had to wait.
    pub confirmation: Option<Confirmation>,
}

impl StoredConsent {
    /// Whether it is in force (it may still be withdrawn or expired): recorded so, or confirmed.
    pub fn in_force(&self) -> bool {
        self.pending.is_none() || self.confirmation.is_some()
    }

    /// When it took effect (or was recorded, while it waits).
    pub fn effective_at(&self) -> Timestamp {
        self.confirmation.as_ref().map_or(self.recorded_at, |c| c.at)
    }

    /// `pending`, `active`, `withdrawn` or `expired` at `t`. A pending consent grants nothing.
    pub fn state_at(&self, t: domain::Timestamp) -> &'static str {
        match self.record.status_at(t) {
            domain::ConsentStatus::Withdrawn { .. } => "withdrawn",
            _ if !self.in_force() => "pending",
            domain::ConsentStatus::Expired { .. } => "expired",
            domain::ConsentStatus::Active => "active",
        }
    }
}

/// What an access decision reads about one subject.
#[derive(Debug)]
pub(crate) struct DecisionInputs {
    consent: Option<StoredConsent>,
    gov: GovernanceState,
    retention: Option<domain::SubjectRetention>,
}

/// Decision inputs per subject with the store's stamp they were read under. A hit needs the
/// stamp read now to be the same, so a change by any process (another server, the CLI) is
/// seen by the next decision; the cache only saves decrypting and re-deriving unchanged state.
#[derive(Debug, Default)]
pub(crate) struct DecisionCache(Mutex<HashMap<SubjectId, (String, Arc<DecisionInputs>)>>);

/// Subjects whose inputs are kept at most; the cache empties when it is full.
const DECISION_CACHE_SUBJECTS: usize = 10_000;

impl DecisionCache {
    fn get(&self, subject: SubjectId, stamp: &str) -> Option<Arc<DecisionInputs>> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(&subject).filter(|(s, _)| s == stamp).map(|(_, i)| i.clone())
    }

    fn put(&self, subject: SubjectId, stamp: String, inputs: Arc<DecisionInputs>) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= DECISION_CACHE_SUBJECTS {
            map.clear();
        }
        map.insert(subject, (stamp, inputs));
    }
}

/// A subject's planned destructions, or why it has none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubjectPlan {
    pub subject: SubjectId,
    /// Empty when `unplanned` says why.
    pub destructions: Vec<Destruction>,
    pub unplanned: Option<String>,
}

/// What retention enforcement did to one subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Enforced {
    /// The subject's key was destroyed (crypto-shred).
    Shredded { destruction: Destruction, report: ShredReport },
    /// Single objects were deleted (each with every derivative of it).
    Deleted { subject: SubjectId, destructions: Vec<Destruction>, removed: Vec<Node> },
}

pub(crate) fn chrono_ts(t: Timestamp) -> domain::Timestamp {
    DateTime::<Utc>::from_timestamp_millis(t.0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn vault_ts(t: domain::Timestamp) -> Timestamp {
    Timestamp(t.timestamp_millis())
}

fn jurisdiction_code(j: Jurisdiction) -> String {
    j.to_string()
}

fn parse_jurisdiction(s: &str) -> Option<Jurisdiction> {
    Jurisdiction::ALL.into_iter().find(|j| j.to_string().eq_ignore_ascii_case(s))
}

fn method_code(m: SignatureMethod) -> &'static str {
    match m {
        SignatureMethod::Handwritten => "handwritten",
        SignatureMethod::Electronic => "electronic",
        SignatureMethod::Verbal => "verbal",
    }
}

fn hold_code(k: HoldKind) -> &'static str {
    match k {
        HoldKind::Warrant => "warrant",
        HoldKind::Subpoena => "subpoena",
        HoldKind::Litigation => "litigation",
    }
}

/// Parses a signature method as stored and as typed on the command line.
pub fn parse_signature_method(s: &str) -> Option<SignatureMethod> {
    [SignatureMethod::Handwritten, SignatureMethod::Electronic, SignatureMethod::Verbal]
        .into_iter()
        .find(|m| method_code(*m) == s)
}

/// Parses a legal hold kind: `warrant`, `subpoena` or `litigation`.
pub fn parse_hold_kind(s: &str) -> Option<HoldKind> {
    [HoldKind::Warrant, HoldKind::Subpoena, HoldKind::Litigation].into_iter().find(|k| hold_code(*k) == s)
}

/// Parses a jurisdiction code: IL, TX, WA, CA, EU or other (any case).
pub fn parse_jurisdiction_code(s: &str) -> Option<Jurisdiction> {
    parse_jurisdiction(s)
}

impl ConsentDoc {
    fn from_draft(j: Jurisdiction, d: &ConsentDraft) -> Self {
        let (notice_version, notice_text, covers) = match &d.notice {
            Some(n) => {
                let c = n.covers();
                (
                    n.version().to_owned(),
                    n.text().to_owned(),
                    [c.purposes, c.retention, c.withdrawal, c.limit_use],
                )
            }
            None => (String::new(), String::new(), [false; 4]),
        };
        ConsentDoc {
            jurisdiction: jurisdiction_code(j),
            notice_version,
            notice_text,
            covers,
            purposes: d
                .purposes
                .iter()
                .map(|g| GrantDoc {
                    id: g.purpose.id.as_str().to_owned(),
                    description: g.purpose.description.clone(),
                    default_retention: g.purpose.retention.to_string(),
                    share: g.purpose.share,
                    sale: g.purpose.sale,
                    vendor: g.purpose.vendor.clone(),
                    enabled: g.purpose.enabled,
                    care: g.purpose.care,
                    retention: g.retention.map(|r| r.to_string()),
                })
                .collect(),
            collect: d.collect,
            share: d.share,
            limit_use: d.limit_use,
            signature: d.signature.as_ref().map(|s| SignatureDoc {
                method: method_code(s.method).to_owned(),
                typed_name: s.typed_name.clone(),
                at: s.at.timestamp_millis(),
            }),
            expires: d.expires.map(|e| e.to_string()),
            sale_authorization: d.sale_authorization.as_ref().map(|a| SaleDoc {
                buyer: a.buyer.clone(),
                signed: a.signed.timestamp_millis(),
                expires: a.expires.to_string(),
            }),
            pending: None,
            recorded_by: None,
        }
    }

    fn into_draft(self) -> Result<(Jurisdiction, ConsentDraft), String> {
        let j = parse_jurisdiction(&self.jurisdiction).ok_or("unknown jurisdiction")?;
        let [purposes, retention, withdrawal, limit_use] = self.covers;
        let notice = Notice::new(
            self.notice_version,
            self.notice_text,
            NoticeCovers { purposes, retention, withdrawal, limit_use },
        );
        let mut grants = Vec::new();
        for g in self.purposes {
            let period = |s: &str| s.parse().map_err(|e: domain::DomainError| e.to_string());
            grants.push(PurposeGrant {
                purpose: domain::Purpose {
                    id: PurposeId::new(g.id).map_err(|e| e.to_string())?,
                    description: g.description,
                    retention: period(&g.default_retention)?,
                    share: g.share,
                    sale: g.sale,
                    vendor: g.vendor,
                    enabled: g.enabled,
                    care: g.care,
                },
                retention: g.retention.as_deref().map(period).transpose()?,
            });
        }
        let signature = match self.signature {
            Some(s) => Some(Signature {
                method: parse_signature_method(&s.method).ok_or("unknown signature method")?,
                typed_name: s.typed_name,
                at: DateTime::<Utc>::from_timestamp_millis(s.at).ok_or("signature time out of range")?,
            }),
            None => None,
        };
        let expires = match self.expires {
            Some(e) => Some(e.parse::<Date>().map_err(|e| e.to_string())?),
            None => None,
        };
        let sale_authorization = match self.sale_authorization {
            Some(a) => Some(domain::SaleAuthorization {
                buyer: a.buyer,
                signed: DateTime::<Utc>::from_timestamp_millis(a.signed)
                    .ok_or("sale authorization time out of range")?,
                expires: a.expires.parse::<Date>().map_err(|e| e.to_string())?,
            }),
            None => None,
        };
        Ok((
            j,
            ConsentDraft {
                notice: Some(notice),
                purposes: grants,
                collect: self.collect,
                share: self.share,
                limit_use: self.limit_use,
                signature,
                expires,
                sale_authorization,
            },
        ))
    }
}

impl GovernanceDoc {
    fn state(&self, subject: SubjectId) -> Result<GovernanceState, VaultError> {
        let bad = |reason: String| VaultError::MalformedContent { object: subject.0, reason };
        let ts = |ms: i64| {
            DateTime::<Utc>::from_timestamp_millis(ms).ok_or_else(|| bad("time out of range".into()))
        };
        let mut holds = Vec::new();
        for h in &self.holds {
            holds.push(LegalHold {
                kind: parse_hold_kind(&h.kind).ok_or_else(|| bad(format!("hold kind {:?}", h.kind)))?,
                reference: h.reference.clone(),
                reason: h.reason.clone(),
                placed: ts(h.placed)?,
                released: h.released.map(ts).transpose()?,
            });
        }
        let mut satisfied = BTreeMap::new();
        for (p, d) in &self.satisfied {
            satisfied.insert(
                PurposeId::new(p.clone()).map_err(|e| bad(e.to_string()))?,
                d.parse::<Date>().map_err(|e| bad(e.to_string()))?,
            );
        }
        let mut confirmations = BTreeMap::new();
        for (id, c) in &self.confirmations {
            let kind = match c.kind.as_str() {
                "patient" => ConfirmedBy::Patient,
                "privacy-officer" => ConfirmedBy::PrivacyOfficer,
                k => return Err(bad(format!("confirmation kind {k:?}"))),
            };
            confirmations.insert(
                id.parse::<Id>().map_err(|_| bad(format!("consent id {id:?}")))?,
                Confirmation {
                    by: c.by.clone(),
                    kind,
                    at: Timestamp(c.at),
                    form_sha256: c.form_sha256.clone(),
                },
            );
        }
        Ok(GovernanceState {
            opt_out: self.opt_out.map(Timestamp),
            limit_use: self.limit_use.map(Timestamp),
            holds,
            satisfied,
            confirmations,
        })
    }
}

impl<M: MetadataStore, B: BlobStore, K: KeyProvider, C: Clock> Vault<M, B, K, C> {
    /// Record a subject's consent, checked first against what its jurisdiction requires for a
    /// capture now. A refusal names the missing element and the rule it comes from. The consent
    /// supersedes any earlier one.
    pub async fn record_consent(
        &self,
        subject: SubjectId,
        jurisdiction: Jurisdiction,
        draft: &ConsentDraft,
    ) -> Result<Id, VaultError> {
        self.store_consent(subject, jurisdiction, draft, None, None).await
    }

    /// Record a consent as [`Vault::record_consent`] does, by `by`: a consent staff record for a
    /// purpose beyond care, or after the patient withdrew, waits (granting nothing, the consent
    /// in force staying so) until the patient confirms it or the privacy officer approves it
    /// ([`Vault::confirm_consent`]). Returns its id and why it waits, if it does.
    pub async fn record_consent_by(
        &self,
        subject: SubjectId,
        jurisdiction: Jurisdiction,
        draft: &ConsentDraft,
        by: Recorder<'_>,
    ) -> Result<(Id, Option<String>), VaultError> {
        let history = self.consent_history(subject).await?;
        let last_withdrawal = history.iter().filter_map(|c| c.record.withdrawn()).max();
        let after_withdrawal = last_withdrawal.is_some_and(|w| {
            // Unless the patient has given a consent since, which is in force.
            !history
                .iter()
                .any(|c| c.in_force() && c.record.withdrawn().is_none() && chrono_ts(c.effective_at()) > w)
        });
        let pending = domain::confirmation_needed(draft, by.subject, after_withdrawal);
        let id = self.store_consent(subject, jurisdiction, draft, pending.clone(), Some(by.actor)).await?;
        Ok((id, pending))
    }

    async fn store_consent(
        &self,
        subject: SubjectId,
        jurisdiction: Jurisdiction,
        draft: &ConsentDraft,
        pending: Option<String>,
        by: Option<&str>,
    ) -> Result<Id, VaultError> {
        let record = self.subject_record(subject).await?;
        let now = self.clock.now();
        let active = check_capture(jurisdiction, draft, chrono_ts(now))
            .map_err(|m| VaultError::ConsentRefused { subject, reason: m.refusal(jurisdiction) })?;
        let id = Id::random()?;
        let doc = ConsentDoc {
            pending,
            recorded_by: by.map(str::to_owned),
            ..ConsentDoc::from_draft(jurisdiction, draft)
        };
        let json = Zeroizing::new(
            serde_json::to_vec(&doc)
                .map_err(|e| VaultError::MalformedContent { object: id, reason: e.to_string() })?,
        );
        let key = self.data_key(&record)?;
        let sealed = crypto::seal_slice(
            &key,
            &blob_ctx(self.id, subject, id, ObjectKind::Consent, CONSENT_VERSION),
            &json,
        )?;
        let notice = active.notice();
        self.meta
            .insert_consent(ConsentRow {
                id,
                subject,
                jurisdiction: jurisdiction_code(jurisdiction),
                notice_version: notice.version().to_owned(),
                notice_sha256: notice.sha256_hex(),
                notice_text: notice.text().to_owned(),
                signed_at: vault_ts(active.signature().at),
                recorded_at: now,
                withdrawn_at: None,
                sealed,
            })
            .await?;
        Ok(id)
    }

    /// The subject's current consent (the latest recorded), unsealed and checked again.
    /// The purpose a delete of `subject` names when none is given: the first its consent
    /// grants, else treatment planning (deletion stays possible without a consent).
    pub async fn delete_purpose(&self, subject: SubjectId) -> Result<String, VaultError> {
        Ok(match self.consent(subject).await? {
            Some(c) => c.record.consent().purposes().first().map(|(p, _)| p.id.as_str().to_owned()),
            None => None,
        }
        .unwrap_or_else(|| "treatment-planning".into()))
    }

    /// The consent in force (the latest to take effect; a consent waiting for confirmation
    /// is not, and leaves the one before in force).
    pub async fn consent(&self, subject: SubjectId) -> Result<Option<StoredConsent>, VaultError> {
        self.subject_record(subject).await?;
        Ok(self
            .consent_history(subject)
            .await?
            .into_iter()
            .filter(StoredConsent::in_force)
            .max_by_key(|c| (c.effective_at(), c.recorded_at, c.id)))
    }

    /// Put a pending consent in force: confirmed by the patient, or approved by the privacy
    /// officer against the signed form. Refused if it is not the subject's, or not pending
    /// (already in force, confirmed, or withdrawn).
    pub async fn confirm_consent(
        &self,
        subject: SubjectId,
        consent: Id,
        by: &str,
        kind: ConfirmedBy,
        form_sha256: Option<&str>,
    ) -> Result<Confirmation, VaultError> {
        let c = self
            .consent_history(subject)
            .await?
            .into_iter()
            .find(|c| c.id == consent)
            .ok_or(VaultError::UnknownConsent { subject, id: consent })?;
        let state = c.state_at(chrono_ts(self.clock.now()));
        if c.in_force() || state != "pending" {
            let state = if c.confirmation.is_some() { "confirmed" } else { state };
            return Err(VaultError::ConsentNotPending { id: consent, state: state.to_owned() });
        }
        let at = self.clock.now();
        let confirmation =
            Confirmation { by: by.to_owned(), kind, at, form_sha256: form_sha256.map(str::to_owned) };
        let key = consent.to_string();
        self.update_governance(subject, |d| {
            if d.confirmations.contains_key(&key) {
                return Err(VaultError::ConsentNotPending { id: consent, state: "confirmed".into() });
            }
            d.confirmations.insert(
                key.clone(),
                ConfirmDoc {
                    by: by.to_owned(),
                    kind: kind.as_str().to_owned(),
                    at: at.0,
                    form_sha256: form_sha256.map(str::to_owned),
                },
            );
            Ok(())
        })
        .await?;
        Ok(confirmation)
    }

    /// A stored consent unsealed with the subject's key and checked again.
    pub(crate) fn open_consent(
        &self,
        key: &crypto::DataKey,
        row: &ConsentRow,
    ) -> Result<StoredConsent, VaultError> {
        let ctx = blob_ctx(self.id, row.subject, row.id, ObjectKind::Consent, CONSENT_VERSION);
        let json = Zeroizing::new(crypto::open(key, &ctx, row.sealed.clone())?);
        let bad = |reason: String| VaultError::MalformedContent { object: row.id, reason };
        let mut doc: ConsentDoc = serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))?;
        let (pending, recorded_by) = (doc.pending.take(), doc.recorded_by.take());
        let (j, draft) = doc.into_draft().map_err(bad)?;
        let signed = draft.signature.as_ref().map(|s| s.at).ok_or_else(|| bad("no signature".into()))?;
        let active = check_capture(j, &draft, signed).map_err(|m| bad(m.refusal(j)))?;
        let mut rec = ConsentRecord::from(active);
        if let Some(w) = row.withdrawn_at {
            rec.withdraw(chrono_ts(w));
        }
        Ok(StoredConsent {
            id: row.id,
            recorded_at: row.recorded_at,
            record: rec,
            pending,
            recorded_by,
            confirmation: None,
        })
    }

    /// Withdraw the subject's current consent now: every access decided from now on is
    /// refused. Returns the withdrawal time (the first one, if it was already withdrawn).
    /// Consents still waiting for confirmation are withdrawn with it: none can be confirmed
    /// after the patient said no.
    pub async fn withdraw_consent(&self, subject: SubjectId) -> Result<Timestamp, VaultError> {
        let history = self.consent_history(subject).await?;
        let current = history
            .iter()
            .filter(|c| c.in_force())
            .max_by_key(|c| (c.effective_at(), c.recorded_at, c.id))
            .or_else(|| history.last())
            .ok_or(VaultError::NoConsent { subject })?;
        let waiting: Vec<Id> = history
            .iter()
            .filter(|c| !c.in_force() && c.record.withdrawn().is_none())
            .map(|c| c.id)
            .collect();
        let now = self.clock.now();
        for id in waiting {
            self.meta.withdraw_consent(id, now).await?;
        }
        if let Some(w) = current.record.withdrawn() {
            return Ok(vault_ts(w));
        }
        self.meta.withdraw_consent(current.id, now).await?;
        Ok(now)
    }

    async fn governance_doc(&self, subject: SubjectId) -> Result<(GovernanceDoc, u32), VaultError> {
        let Some(row) = self.meta.governance(subject).await? else {
            return Ok((GovernanceDoc::default(), 0));
        };
        let record = self.subject_record(subject).await?;
        let key = self.data_key(&record)?;
        let ctx = blob_ctx(self.id, subject, subject.0, ObjectKind::Consent, row.version);
        let json = Zeroizing::new(crypto::open(&key, &ctx, row.sealed)?);
        let doc = serde_json::from_slice(&json)
            .map_err(|e| VaultError::MalformedContent { object: subject.0, reason: e.to_string() })?;
        Ok((doc, row.version))
    }

    /// The subject's restrictions, legal holds and satisfied purposes.
    pub async fn governance(&self, subject: SubjectId) -> Result<GovernanceState, VaultError> {
        self.subject_record(subject).await?;
        self.governance_doc(subject).await?.0.state(subject)
    }

    /// Read, change and store the governance state (compare and swap on its version).
    async fn update_governance(
        &self,
        subject: SubjectId,
        change: impl Fn(&mut GovernanceDoc) -> Result<(), VaultError>,
    ) -> Result<(), VaultError> {
        let record = self.subject_record(subject).await?;
        for _ in 0..8 {
            let (mut doc, version) = self.governance_doc(subject).await?;
            change(&mut doc)?;
            let json =
                Zeroizing::new(serde_json::to_vec(&doc).map_err(|e| VaultError::MalformedContent {
                    object: subject.0,
                    reason: e.to_string(),
                })?);
            let key = self.data_key(&record)?;
            let ctx = blob_ctx(self.id, subject, subject.0, ObjectKind::Consent, version + 1);
            let sealed = crypto::seal_slice(&key, &ctx, &json)?;
            let row = GovernanceRow { subject, version: version + 1, updated_at: self.clock.now(), sealed };
            if self.meta.put_governance(row).await? {
                return Ok(());
            }
        }
        Err(VaultError::Contended { subject })
    }

    /// Set or lift a restriction (it applies to every decision from now on). Returns whether
    /// this call changed it (false: it was already so), decided inside the compare and swap, so
    /// of two callers at once only one sees the change.
    pub async fn set_restriction(
        &self,
        subject: SubjectId,
        r: Restriction,
        on: bool,
    ) -> Result<bool, VaultError> {
        let now = self.clock.now().0;
        let changed = std::sync::atomic::AtomicBool::new(false);
        self.update_governance(subject, |d| {
            let slot = match r {
                Restriction::OptOut => &mut d.opt_out,
                Restriction::LimitUse => &mut d.limit_use,
            };
            changed.store(slot.is_some() != on, std::sync::atomic::Ordering::Relaxed);
            *slot = if on { Some(slot.unwrap_or(now)) } else { None };
            Ok(())
        })
        .await?;
        Ok(changed.into_inner())
    }

    /// Place a legal hold: every destruction of the subject's data is suspended until it is
    /// released. The reference must be unique among the subject's open holds.
    pub async fn place_hold(
        &self,
        subject: SubjectId,
        kind: HoldKind,
        reference: &str,
        reason: &str,
    ) -> Result<(), VaultError> {
        let now = self.clock.now().0;
        self.update_governance(subject, |d| {
            if d.holds.iter().any(|h| h.reference == reference && h.released.is_none()) {
                return Err(VaultError::HoldExists { subject, reference: reference.to_owned() });
            }
            d.holds.push(HoldDoc {
                kind: hold_code(kind).to_owned(),
                reference: reference.to_owned(),
                reason: reason.to_owned(),
                placed: now,
                released: None,
            });
            Ok(())
        })
        .await
    }

    /// Release an open legal hold; what fell due while it was open becomes due today.
    pub async fn release_hold(&self, subject: SubjectId, reference: &str) -> Result<(), VaultError> {
        let now = self.clock.now().0;
        self.update_governance(subject, |d| {
            let h = d
                .holds
                .iter_mut()
                .find(|h| h.reference == reference && h.released.is_none())
                .ok_or_else(|| VaultError::NoSuchHold { subject, reference: reference.to_owned() })?;
            h.released = Some(now);
            Ok(())
        })
        .await
    }

    /// Record that a purpose has been satisfied (e.g. the surgery and follow-up are done) on
    /// `day`: its data becomes due for destruction that day.
    pub async fn mark_satisfied(
        &self,
        subject: SubjectId,
        purpose: &PurposeId,
        day: Date,
    ) -> Result<(), VaultError> {
        self.update_governance(subject, |d| {
            d.satisfied.insert(purpose.as_str().to_owned(), day.to_string());
            Ok(())
        })
        .await
    }

    /// What the retention engine knows of a subject, or why it cannot plan it.
    pub(crate) async fn retention_of(
        &self,
        subject: SubjectId,
    ) -> Result<Result<SubjectRetention, String>, VaultError> {
        let Some(consent) = self.consent(subject).await? else {
            return Ok(Err("no consent on record: nothing may be captured, nothing is planned".into()));
        };
        let gov = self.governance(subject).await?;
        self.retention_from(subject, consent, gov).await.map(Ok)
    }

    /// As [`Vault::retention_of`], from the consent and governance state already read.
    async fn retention_from(
        &self,
        subject: SubjectId,
        consent: StoredConsent,
        gov: GovernanceState,
    ) -> Result<SubjectRetention, VaultError> {
        let scans = self.meta.scans_of(subject).await?;
        let derivatives = self.meta.derivatives_of(subject).await?;
        let day = |t: Timestamp| chrono_ts(t).date_naive();
        // BIPA's clock: the last time the subject dealt with the clinic (consent, capture).
        let mut last = consent.record.consent().given_on();
        let mut objects = Vec::new();
        let mut purposes_of: BTreeMap<Node, BTreeSet<PurposeId>> = BTreeMap::new();
        for s in &scans {
            last = last.max(day(s.imported_at));
            let p: BTreeSet<PurposeId> = PurposeId::new(s.capture.purpose.0.clone()).into_iter().collect();
            purposes_of.insert(Node::Scan(s.id), p);
        }
        // A derivative is kept for the purposes of what it came from.
        let mut pending: Vec<_> = derivatives.iter().collect();
        pending.sort_by_key(|d| d.created_at);
        for _ in 0..=pending.len() {
            let before = pending.len();
            pending.retain(|d| {
                if d.parents.iter().all(|p| purposes_of.contains_key(p)) {
                    let set = d.parents.iter().flat_map(|p| purposes_of[p].clone()).collect();
                    purposes_of.insert(Node::Derivative(d.id), set);
                    false
                } else {
                    true
                }
            });
            if pending.len() == before {
                break;
            }
        }
        for s in &scans {
            objects.push(StoredObject {
                id: Target::Node(Node::Scan(s.id)).object_id(),
                kind: domain::ObjectKind::Scan,
                purposes: purposes_of.get(&Node::Scan(s.id)).into_iter().flatten().cloned().collect(),
                stored: day(s.imported_at),
            });
        }
        for d in &derivatives {
            objects.push(StoredObject {
                id: Target::Node(Node::Derivative(d.id)).object_id(),
                kind: domain::ObjectKind::Derivative,
                purposes: purposes_of.get(&Node::Derivative(d.id)).into_iter().flatten().cloned().collect(),
                stored: day(d.created_at),
            });
        }
        let mut r = SubjectRetention::new(domain::SubjectId(subject.to_string()), consent.record, last);
        r.objects = objects;
        r.satisfied = gov.satisfied;
        for h in gov.holds {
            r.place_hold(h);
        }
        Ok(r)
    }

    /// What a decision reads about `subject`: from the cache while the store's stamp of the
    /// subject is unchanged (one read), else from the store (and cached).
    async fn decision_inputs(&self, subject: SubjectId) -> Result<Arc<DecisionInputs>, VaultError> {
        let stamp =
            self.meta.subject_stamp(subject).await?.ok_or(VaultError::UnknownSubject { id: subject })?;
        if let Some(hit) = self.decisions.get(subject, &stamp) {
            return Ok(hit);
        }
        let consent = self.consent(subject).await?;
        let gov = self.governance(subject).await?;
        // One read of the consent and the governance state serves every check.
        let retention = match &consent {
            Some(c) => Some(self.retention_from(subject, c.clone(), gov.clone()).await?),
            None => None,
        };
        let inputs = Arc::new(DecisionInputs { consent, gov, retention });
        // Cache what was read only if nothing changed while it was read.
        if self.meta.subject_stamp(subject).await?.as_deref() == Some(stamp.as_str()) {
            self.decisions.put(subject, stamp, inputs.clone());
        }
        Ok(inputs)
    }

    /// Decide one access. Every decision, allowed or denied, is returned for the caller to
    /// append to the audit log; only an allowed one carries the grant.
    pub async fn authorize(&self, policy: &Policy, ask: &Ask<'_>) -> Result<Decision, VaultError> {
        let subject = match ask.target {
            Target::Subject(s) => s,
            Target::Node(n) => self.subject_of_node(n).await?,
        };
        self.decide_for(policy, ask, subject).await
    }

    /// [`Vault::authorize`] of an ask about `scan`, whose record the caller has just read: the
    /// subject comes from it instead of a second read (one store round trip less for a
    /// metadata read). Refused as [`VaultError::NotGranted`] if the ask is about anything else.
    pub async fn authorize_scan(
        &self,
        policy: &Policy,
        ask: &Ask<'_>,
        scan: &crate::model::Scan,
    ) -> Result<Decision, VaultError> {
        if ask.target != Target::Node(Node::Scan(scan.id)) {
            return Err(VaultError::NotGranted {
                needed: ask.action.to_string(),
                object: ask.target.object_id().0,
                granted: format!("nothing: the record given is scan {}", scan.id),
            });
        }
        self.decide_for(policy, ask, scan.subject).await
    }

    async fn decide_for(
        &self,
        policy: &Policy,
        ask: &Ask<'_>,
        subject: SubjectId,
    ) -> Result<Decision, VaultError> {
        let now = chrono_ts(self.clock.now());
        let object = ask.target.object_id();
        let inputs = self.decision_inputs(subject).await?;
        let (consent, gov) = (&inputs.consent, &inputs.gov);
        let retained_until = match &inputs.retention {
            Some(r) => {
                let plan = domain::plan(r, now.date_naive());
                let own =
                    plan.iter().find(|d| matches!(&d.target, domain::Target::Object(o, _) if *o == object));
                let whole = plan.iter().find(|d| matches!(d.target, domain::Target::Subject(_)));
                // A legal hold keeps data past its day, but does not extend its use.
                let kept = own.or(whole).map_or(Date::MAX, |d| d.due);
                kept.min(use_ends(r, ask.purpose, now.date_naive()))
            }
            None => Date::MAX,
        };
        let request = AccessRequest {
            actor: ask.actor,
            role: ask.role,
            action: ask.action,
            purpose: ask.purpose,
            object: &object,
            consent: consent.as_ref().map(|c| &c.record),
            retained_until,
            restrictions: Restrictions {
                opt_out: gov.opt_out.is_some(),
                limit_use: gov.limit_use.is_some(),
                legal_hold: gov.open_hold().is_some(),
            },
            break_glass: ask.break_glass,
            actor_is_subject: ask.actor == subject.to_string() || ask.actor == format!("subject:{subject}"),
            right_of_access: ask.right_of_access,
            at: now,
        };
        Ok(policy.decide(&request))
    }

    /// The retention schedule of every subject as known on `at` (a dry run).
    pub async fn retention_plan(&self, at: Date) -> Result<Vec<SubjectPlan>, VaultError> {
        let mut out = Vec::new();
        let mut subjects = self.meta.subjects().await?;
        subjects.sort_by_key(|s| (s.created_at, s.id));
        for s in subjects {
            out.push(match self.retention_of(s.id).await? {
                Ok(r) => SubjectPlan { subject: s.id, destructions: domain::plan(&r, at), unplanned: None },
                Err(why) => SubjectPlan { subject: s.id, destructions: Vec::new(), unplanned: Some(why) },
            });
        }
        Ok(out)
    }

    /// Carry out what the retention engine says is due on `at`: crypto-shred subjects whose
    /// every purpose lapsed, delete single objects (and every derivative of them) whose
    /// purposes all lapsed. Anything under an open legal hold is kept. Blobs are queued for
    /// [`Vault::purge_blobs`].
    pub async fn enforce_retention(&self, at: Date) -> Result<Vec<Enforced>, VaultError> {
        let mut out = Vec::new();
        for s in self.meta.subjects().await? {
            let Ok(r) = self.retention_of(s.id).await? else { continue };
            match domain::decide(&r, at) {
                Enforcement::Keep => {}
                Enforcement::ShredSubject(destruction) => {
                    let report = self.shred_unchecked(s.id).await?;
                    out.push(Enforced::Shredded { destruction, report });
                }
                Enforcement::DeleteObjects(destructions) => {
                    let mut nodes = BTreeSet::new();
                    for d in &destructions {
                        if let domain::Target::Object(o, _) = &d.target {
                            if let Some(node) = parse_object(&o.0) {
                                nodes.insert(node);
                                nodes.extend(self.descendants(node).await?.into_iter().map(Node::Derivative));
                            }
                        }
                    }
                    let nodes: Vec<Node> = nodes.into_iter().collect();
                    let removed = self.meta.delete_objects(s.id, nodes).await?;
                    let removed = removed
                        .scans
                        .into_iter()
                        .map(Node::Scan)
                        .chain(removed.derivatives.into_iter().map(Node::Derivative))
                        .collect();
                    out.push(Enforced::Deleted { subject: s.id, destructions, removed });
                }
            }
        }
        Ok(out)
    }
}

/// The day use for `purpose` ends: the retention the consent states for it, or the day it
/// was recorded as satisfied, whichever comes first. Data may be kept longer before it is
/// destroyed (Texas allows a year after the purpose expires), but not used. `Date::MAX` for a
/// purpose the consent does not grant: the consent check refuses those.
fn use_ends(r: &SubjectRetention, purpose: &str, today: Date) -> Date {
    let c = r.consent.consent();
    let Some((_, period)) = c.purposes().iter().find(|(p, _)| p.id.as_str() == purpose) else {
        return Date::MAX;
    };
    let stated = period.after(c.given_on());
    let satisfied =
        r.satisfied.iter().find(|(p, _)| p.as_str() == purpose).map(|(_, &d)| d).filter(|&d| d <= today);
    satisfied.map_or(stated, |d| d.min(stated))
}

/// `scan:<id>` or `derivative:<id>` back to a node.
pub fn parse_object(s: &str) -> Option<Node> {
    let (kind, id) = s.split_once(':')?;
    let id: Id = id.parse().ok()?;
    match kind {
        "scan" => Some(Node::Scan(crate::ScanId(id))),
        "derivative" => Some(Node::Derivative(crate::DerivativeId(id))),
        _ => None,
    }
}

/// Checks that `grant` covers `target` for one of `actions`.
pub(crate) fn check_grant(grant: &AccessGrant, actions: &[Action], target: Target) -> Result<(), VaultError> {
    let object = target.object_id();
    if actions.contains(&grant.action()) && *grant.object() == object {
        Ok(())
    } else {
        Err(VaultError::NotGranted {
            needed: actions.iter().map(|a| a.as_str()).collect::<Vec<_>>().join(" or "),
            object: object.0,
            granted: format!("{} on {}", grant.action(), grant.object()),
        })
    }
}
