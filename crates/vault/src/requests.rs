//! Data-subject requests kept by the vault: each is stored as what opened it plus its event
//! history, and rebuilt by replaying the history through `facevault_domain::Request`, so a
//! stored request can only ever be in a state the domain's transitions allow. Requests name the
//! subject by pseudonymous id only and outlive an erasure (they are its record). Vendor notices
//! of an erasure are tracked here until each vendor confirms.

use chrono::{DateTime, Utc};
use facevault_crypto::Id;
use facevault_domain::request::{
    HolidayCalendar, NewRequest, Request, RequestChange, RequestError, RequestId, RequestKind, Requester,
    VerificationLevel,
};
use serde::{Deserialize, Serialize};

use crate::error::VaultError;
use crate::ids::{SubjectId, Timestamp};
use crate::model::{RequestRow, VendorNotice};
use crate::ports::{BlobStore, Clock, KeyProvider, MetadataStore};
use crate::vault::Vault;

#[derive(Serialize, Deserialize)]
struct RequestDoc {
    kind: String,
    law: String,
    agent: Option<AgentDoc>,
    involves_biometric: bool,
    received: i64,
    events: Vec<EventDoc>,
}

#[derive(Serialize, Deserialize)]
struct AgentDoc {
    id: String,
    proof_of_authority: bool,
}

#[derive(Serialize, Deserialize)]
struct EventDoc {
    at: i64,
    change: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    notice_sent: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    legal_basis: Option<String>,
}

/// Parses a request kind as the CLI and storage write it.
pub fn parse_request_kind(s: &str) -> Option<RequestKind> {
    RequestKind::ALL.into_iter().find(|k| k.to_string() == s)
}

fn level_code(l: VerificationLevel) -> &'static str {
    match l {
        VerificationLevel::None => "none",
        VerificationLevel::Standard => "standard",
        VerificationLevel::Strong => "strong",
    }
}

/// Parses a verification level: none, standard or strong.
pub fn parse_level(s: &str) -> Option<VerificationLevel> {
    [VerificationLevel::None, VerificationLevel::Standard, VerificationLevel::Strong]
        .into_iter()
        .find(|l| level_code(*l) == s)
}

fn ts(ms: i64) -> Result<DateTime<Utc>, String> {
    DateTime::<Utc>::from_timestamp_millis(ms).ok_or_else(|| "time out of range".to_owned())
}

fn doc_of(r: &Request) -> RequestDoc {
    RequestDoc {
        kind: r.kind().to_string(),
        law: r.law().to_string(),
        agent: match r.requester() {
            Requester::Subject => None,
            Requester::Agent { agent_id, proof_of_authority } => {
                Some(AgentDoc { id: agent_id.clone(), proof_of_authority: *proof_of_authority })
            }
        },
        involves_biometric: r.involves_biometric(),
        received: r.received().timestamp_millis(),
        events: r
            .events()
            .iter()
            .skip(1)
            .map(|e| {
                let mut d = EventDoc {
                    at: e.at.timestamp_millis(),
                    change: String::new(),
                    level: None,
                    notice_sent: None,
                    reason: None,
                    legal_basis: None,
                };
                d.change = match &e.change {
                    RequestChange::Received { .. } => "received",
                    RequestChange::Acknowledged => "acknowledged",
                    RequestChange::AgentAuthorityReceived => "agent-authority",
                    RequestChange::VerificationStarted => "verification-started",
                    RequestChange::Verified { level } => {
                        d.level = Some(level_code(*level).to_owned());
                        "verified"
                    }
                    RequestChange::Started => "started",
                    RequestChange::Extended { notice_sent, reason } => {
                        d.notice_sent = Some(notice_sent.timestamp_millis());
                        d.reason = Some(reason.clone());
                        "extended"
                    }
                    RequestChange::Completed => "completed",
                    RequestChange::Denied { reason, legal_basis } => {
                        d.reason = Some(reason.clone());
                        d.legal_basis = Some(legal_basis.clone());
                        "denied"
                    }
                    RequestChange::Canceled => "canceled",
                    RequestChange::BackupsPurged => "backups-purged",
                }
                .to_owned();
                d
            })
            .collect(),
    }
}

/// Rebuilds a request by replaying its history; a history the domain refuses is damage.
fn replay(id: &str, subject: &str, doc: RequestDoc, calendar: &HolidayCalendar) -> Result<Request, String> {
    let kind = parse_request_kind(&doc.kind).ok_or("unknown kind")?;
    let law = crate::oversight::parse_law(&doc.law).ok_or("unknown law")?;
    let requester = match doc.agent {
        None => Requester::Subject,
        // Authority is replayed as its own event.
        Some(a) => Requester::Agent { agent_id: a.id, proof_of_authority: false },
    };
    let mut r = Request::receive(
        NewRequest {
            id: RequestId(id.to_owned()),
            subject: facevault_domain::SubjectId(subject.to_owned()),
            kind,
            law,
            requester,
            involves_biometric: doc.involves_biometric,
            received: ts(doc.received)?,
        },
        calendar,
    );
    for e in doc.events {
        let at = ts(e.at)?;
        let done = match e.change.as_str() {
            "acknowledged" => r.acknowledge(at),
            "agent-authority" => r.record_agent_authority(at),
            "verification-started" => r.begin_verification(at),
            "verified" => r.verify(at, e.level.as_deref().and_then(parse_level).ok_or("bad level")?),
            "started" => r.start(at),
            "extended" => {
                r.extend(at, ts(e.notice_sent.ok_or("no notice time")?)?, e.reason.as_deref().unwrap_or(""))
            }
            "completed" => r.complete(at),
            "denied" => r.deny(at, e.reason.as_deref().unwrap_or(""), e.legal_basis.as_deref().unwrap_or("")),
            "canceled" => r.cancel(at),
            "backups-purged" => r.record_backups_purged(at),
            other => return Err(format!("unknown event {other:?}")),
        };
        done.map_err(|e| e.to_string())?;
    }
    Ok(r)
}

/// Why a request change failed: the domain refused the move, or the store did.
#[derive(Debug, thiserror::Error)]
pub enum RequestUpdateError {
    #[error(transparent)]
    Refused(#[from] RequestError),
    #[error(transparent)]
    Vault(#[from] VaultError),
}

impl<M: MetadataStore, B: BlobStore, K: KeyProvider, C: Clock> Vault<M, B, K, C> {
    fn request_row(&self, r: &Request) -> Result<RequestRow, VaultError> {
        let bad =
            |e: serde_json::Error| VaultError::Store(crate::StoreError::Corrupt { what: e.to_string() });
        Ok(RequestRow {
            id: r.id().0.clone(),
            subject: r.subject().0.clone(),
            kind: r.kind().to_string(),
            state: r.state().name().to_owned(),
            received_at: Timestamp(r.received().timestamp_millis()),
            doc: serde_json::to_string(&doc_of(r)).map_err(bad)?,
        })
    }

    fn rebuild(&self, row: RequestRow, calendar: &HolidayCalendar) -> Result<Request, VaultError> {
        let doc: RequestDoc = serde_json::from_str(&row.doc).map_err(|e| {
            VaultError::Store(crate::StoreError::Corrupt { what: format!("request {}: {e}", row.id) })
        })?;
        replay(&row.id, &row.subject, doc, calendar).map_err(|e| {
            VaultError::Store(crate::StoreError::Corrupt { what: format!("request {}: {e}", row.id) })
        })
    }

    /// Store a new request under a fresh id (the caller checked for duplicates with
    /// `find_duplicate`; `new.id` is replaced).
    pub async fn open_request(
        &self,
        mut new: NewRequest,
        calendar: &HolidayCalendar,
    ) -> Result<Request, VaultError> {
        new.id = RequestId(Id::random()?.to_string());
        let r = Request::receive(new, calendar);
        self.meta.put_request(self.request_row(&r)?).await?;
        Ok(r)
    }

    /// Every request, oldest first.
    pub async fn requests(&self, calendar: &HolidayCalendar) -> Result<Vec<Request>, VaultError> {
        let mut out = Vec::new();
        for row in self.meta.requests().await? {
            out.push(self.rebuild(row, calendar)?);
        }
        out.sort_by(|a, b| a.received().cmp(&b.received()).then_with(|| a.id().cmp(b.id())));
        Ok(out)
    }

    /// One request.
    pub async fn request(&self, id: &str, calendar: &HolidayCalendar) -> Result<Request, VaultError> {
        let row = self
            .meta
            .requests()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| VaultError::UnknownRequest { id: id.to_owned() })?;
        self.rebuild(row, calendar)
    }

    /// Apply a transition and store the request; the domain's refusal comes back unchanged.
    pub async fn update_request(
        &self,
        id: &str,
        calendar: &HolidayCalendar,
        change: impl FnOnce(&mut Request) -> Result<(), RequestError>,
    ) -> Result<Request, RequestUpdateError> {
        let mut r = self.request(id, calendar).await?;
        change(&mut r)?;
        self.meta.put_request(self.request_row(&r)?).await.map_err(VaultError::from)?;
        Ok(r)
    }

    /// Record that a vendor was sent a deletion notice for an erasure request.
    pub async fn notify_vendor(
        &self,
        request: &str,
        subject: SubjectId,
        vendor: &str,
    ) -> Result<(), VaultError> {
        let notice = VendorNotice {
            request: request.to_owned(),
            subject,
            vendor: vendor.to_owned(),
            sent_at: self.clock.now(),
            confirmed_at: None,
        };
        Ok(self.meta.put_vendor_notice(notice).await?)
    }

    /// Record a vendor's confirmation that it deleted the data; `false` if no such notice.
    pub async fn confirm_vendor(&self, request: &str, vendor: &str) -> Result<bool, VaultError> {
        Ok(self.meta.confirm_vendor_notice(request.to_owned(), vendor.to_owned(), self.clock.now()).await?)
    }

    /// Every vendor notice, pending and confirmed.
    pub async fn vendor_notices(&self) -> Result<Vec<VendorNotice>, VaultError> {
        Ok(self.meta.vendor_notices().await?)
    }
}
