//! The endpoints under `/api`. Each one that touches a subject's data asks the vault's policy
//! for a decision on a purpose (`Vault::authorize`, as the CLI does) and journals it, allowed
//! or denied; each change is journaled too. The journal is appended to the audit log before
//! the response is sent, so nothing is released unrecorded. Listings and metadata that carry
//! no biometric or identifying content are gated by role, and a patient sees only their own.
//!
//! One module per resource, each with its routes and its OpenAPI `Api`; this one merges their
//! routes and holds what they share: a request's journal (`Jot`), the decision and the role gate
//! (`AppState::decide`, `gate`), the JSON body extractor and the id and date parsers.

use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use facevault_policy::{AccessGrant, Action, BreakGlass, Role};
use facevault_vault::{Ask, Node, SubjectId, Target, Timestamp};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use crate::auth::{Principal, Via};
use crate::error::ApiError;
use crate::journal::Record;
use crate::AppState;

mod accounts;
mod audit;
mod clinical;
mod completion;
mod consents;
mod documents;
mod package;
mod requests;
mod retention;
mod scans;
mod sessions;
mod subjects;
mod tokens;
mod vendors;

pub(crate) use accounts::Api as AccountsApi;
pub(crate) use audit::Api as AuditApi;
pub(crate) use clinical::Api as ClinicalApi;
pub(crate) use completion::Api as CompletionApi;
pub(crate) use consents::Api as ConsentsApi;
pub(crate) use documents::Api as DocumentsApi;
pub(crate) use package::Api as PackageApi;
pub(crate) use requests::Api as RequestsApi;
pub(crate) use retention::Api as RetentionApi;
pub(crate) use scans::Api as ScansApi;
pub(crate) use sessions::Api as SessionsApi;
pub(crate) use subjects::Api as SubjectsApi;
pub(crate) use tokens::Api as TokensApi;
pub(crate) use vendors::Api as VendorsApi;

pub(crate) type S = State<Arc<AppState>>;

/// Who may do what the policy does not decide: the lists the CLI uses too.
pub(crate) use facevault_policy::gates::{CAPTURE, CARE, COMPLIANCE, CONSENT};
/// The default purpose of a clinical read.
pub(crate) const CLINICAL: &str = "treatment-planning";
/// How long a patient's invitation stays open.
/// How long a break-glass access lasts.
const BREAK_GLASS_MINUTES: i64 = 60;

/// What every endpoint shares: the session cookie or an API token. `openapi()` (lib.rs) merges
/// each module's `Api` into this one.
#[derive(OpenApi)]
#[openapi(security(("session" = []), ("token" = [])))]
pub(crate) struct Api;

pub(crate) fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let _ = state;
    Router::new()
        .merge(sessions::routes())
        .merge(tokens::routes())
        .merge(accounts::routes())
        .merge(subjects::routes())
        .merge(scans::routes())
        .merge(consents::routes())
        .merge(retention::routes())
        .merge(audit::routes())
        .merge(requests::routes())
        .merge(vendors::routes())
        .merge(documents::routes())
        .merge(completion::routes())
        .merge(package::routes())
        .merge(clinical::routes())
}

// ---------------------------------------------------------------- the journal of a request

/// The audit records one request makes; appended in one go when it ends.
#[derive(Default)]
pub(crate) struct Jot(Mutex<Vec<Record>>);

impl Jot {
    pub(crate) fn push(&self, r: Record) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).push(r);
    }
    /// Pushes `r` and returns its place in the request's journal (its audit index is the
    /// journal's first index plus this).
    pub(crate) fn push_at(&self, r: Record) -> usize {
        let mut records = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        records.push(r);
        records.len() - 1
    }
    pub(crate) fn change(
        &self,
        action: &'static str,
        purpose: &str,
        object: String,
        reason: impl Into<String>,
    ) {
        self.push(Record::change(action, purpose, object, reason));
    }
}

impl AppState {
    /// Appends what a request journaled, before its response leaves.
    pub(crate) async fn commit(&self, p: &Principal, jot: Jot) -> Result<(), ApiError> {
        self.commit_at(p, jot).await.map(|_| ())
    }

    /// As [`AppState::commit`]; returns the audit index of the journal's first record.
    pub(crate) async fn commit_at(&self, p: &Principal, jot: Jot) -> Result<u64, ApiError> {
        let records = jot.0.into_inner().unwrap_or_else(PoisonError::into_inner);
        self.journal.append(&p.actor, p.role.as_str(), records).await.map_err(ApiError::internal)
    }

    /// The whole decision of an access, journaled; the grant or a 403 naming every reason.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn decide(
        &self,
        p: &Principal,
        jot: &Jot,
        audit_action: &'static str,
        action: Action,
        purpose: &str,
        target: Target,
        break_glass: Option<&str>,
    ) -> Result<AccessGrant, ApiError> {
        self.decide_on(p, jot, audit_action, action, purpose, Known::Target(target), break_glass).await
    }

    /// [`AppState::decide`] about a target, or about a scan whose record was just read.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn decide_on(
        &self,
        p: &Principal,
        jot: &Jot,
        audit_action: &'static str,
        action: Action,
        purpose: &str,
        known: Known<'_>,
        break_glass: Option<&str>,
    ) -> Result<AccessGrant, ApiError> {
        let target = match known {
            Known::Target(t) => t,
            Known::Scan(scan) => Target::Node(Node::Scan(scan.id)),
        };
        let glass = break_glass.map(str::trim).filter(|r| !r.is_empty()).map(|r| {
            let from = now_ms();
            BreakGlass {
                reason: r.to_owned(),
                from,
                until: from + chrono::TimeDelta::minutes(BREAK_GLASS_MINUTES),
            }
        });
        let ask = Ask { actor: &p.actor, role: p.role, action, purpose, target, break_glass: glass.as_ref() };
        let decision = match known {
            Known::Target(_) => self.vault.authorize(&self.policy, &ask).await?,
            Known::Scan(scan) => self.vault.authorize_scan(&self.policy, &ask, scan).await?,
        };
        let object = target.object_id().0;
        jot.push(Record {
            action: audit_action,
            purpose: purpose.to_owned(),
            object: object.clone(),
            allowed: decision.allowed(),
            reason: decision.reasons().iter().map(ToString::to_string).collect::<Vec<_>>().join("; "),
        });
        let why = decision.refusal();
        decision.into_grant().ok_or_else(|| {
            ApiError::new(
                StatusCode::FORBIDDEN,
                "denied",
                format!("{action} of {object} for {purpose} by role {} denied: {}", p.role, why),
            )
        })
    }

    /// A role gate for what the policy does not decide (listings, metadata, governance
    /// changes): the role must be listed, and a patient may act only on their own subject.
    pub(crate) fn gate(
        &self,
        p: &Principal,
        jot: &Jot,
        roles: &[Role],
        action: &'static str,
        object: String,
        subject: Option<SubjectId>,
    ) -> Result<(), ApiError> {
        let own = p.role != Role::Patient || (subject.is_some() && subject == p.subject);
        if roles.contains(&p.role) && own {
            return Ok(());
        }
        let reason = if own {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            format!("role {} may not {action} (roles: {})", p.role, names.join(", "))
        } else {
            "a patient may act only on their own data".to_owned()
        };
        jot.push(Record {
            action,
            purpose: "administration".into(),
            object,
            allowed: false,
            reason: reason.clone(),
        });
        Err(ApiError::forbidden(reason))
    }
}

/// What a decision is about: a target, or a scan whose record the endpoint has just read.
#[derive(Clone, Copy)]
pub(crate) enum Known<'a> {
    Target(Target),
    Scan(&'a facevault_vault::Scan),
}

/// Runs a request's work, then appends its journal whatever the outcome.
async fn audited<T>(
    s: &AppState,
    p: &Principal,
    jot: Jot,
    result: Result<T, ApiError>,
) -> Result<T, ApiError> {
    s.commit(p, jot).await?;
    result
}

pub(crate) fn now_ms() -> chrono::DateTime<chrono::Utc> {
    let ms = chrono::Utc::now().timestamp_millis();
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub(crate) fn utc(ts: Timestamp) -> String {
    chrono::DateTime::from_timestamp_millis(ts.0)
        .map_or_else(|| ts.0.to_string(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// A JSON request body whose every rejection is an [`ApiError`]: 415 without a JSON content
/// type, 413 over the body limit, 400 naming what is wrong with the body otherwise.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: serde::de::DeserializeOwned, St: Send + Sync> axum::extract::FromRequest<St> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &St) -> Result<Self, ApiError> {
        use axum::extract::rejection::JsonRejection;
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json",
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is over the server's limit",
            )),
            Err(e) => Err(ApiError::field("body", e.body_text())),
        }
    }
}

pub(crate) fn parse_id<T: std::str::FromStr>(field: &str, s: &str) -> Result<T, ApiError> {
    s.parse().map_err(|_| ApiError::field(field, format!("{s:?} is not an id (32 hex digits)")))
}

/// Which purpose a request is for, and an optional break-glass reason.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PurposeQuery {
    /// A purpose of the catalogue (GET /api/purposes); default `treatment-planning`.
    pub(crate) purpose: Option<String>,
    /// Emergency access (HIPAA break-glass): the reason, reviewed by the privacy officer.
    /// Do not name the patient. Valid for one hour.
    pub(crate) break_glass: Option<String>,
}

pub(crate) fn secs_utc(s: i64) -> String {
    chrono::DateTime::from_timestamp(s, 0).map_or_else(|| s.to_string(), |t| t.to_rfc3339())
}

/// Only a logged-in person (not a token) manages tokens and accounts.
pub(crate) fn session_only(p: &Principal) -> Result<(), ApiError> {
    match p.via {
        Via::Session { .. } => Ok(()),
        Via::Token { .. } => Err(ApiError::forbidden("API tokens cannot manage tokens or accounts; log in")),
    }
}

pub(crate) fn is_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() && s.len() == 10
}
