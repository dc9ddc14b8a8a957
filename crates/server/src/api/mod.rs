//! The endpoints under `/api`. Each one that touches a subject's data asks the vault's policy
//! for a decision on a purpose (`Vault::authorize`, as the CLI does) and journals it, allowed
//! or denied; each change is journaled too. The journal is appended to the audit log before
//! the response is sent, so nothing is released unrecorded. Listings and metadata that carry
//! no biometric or identifying content are gated by role, and a patient sees only their own.

use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use facevault_audit::{open_checkpoint, verify_log, Decision as AuditDecision, LogStore};
use facevault_crypto::Id;
use facevault_mesh::{ReadOptions, Unit};
use facevault_policy::{AccessGrant, Action, BreakGlass, Role};
use facevault_vault::{
    AccountStore, Ask, Capture, DerivativeId, Node, Purpose, ScanId, ScanStore, SubjectDetails, SubjectId,
    SubjectStore, Target, Timestamp, TokenRow, VaultError,
};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use zeroize::Zeroizing;

use crate::auth::{self, Principal, Via};
use crate::error::ApiError;
use crate::journal::Record;
use crate::AppState;

mod clinical;
mod completion;
mod governance;
mod package;

pub(crate) use clinical::Api as ClinicalApi;
pub(crate) use completion::Api as CompletionApi;
pub(crate) use governance::Api as GovernanceApi;
pub(crate) use package::Api as PackageApi;

pub(crate) type S = State<Arc<AppState>>;

/// Who may do what the policy does not decide: the lists the CLI uses too.
pub(crate) use facevault_policy::gates::{CAPTURE, CARE, COMPLIANCE, CONSENT};
/// The default purpose of a clinical read.
pub(crate) const CLINICAL: &str = "treatment-planning";
/// How long a patient's invitation stays open.
/// How long a break-glass access lasts.
const BREAK_GLASS_MINUTES: i64 = 60;

#[derive(OpenApi)]
#[openapi(
    paths(
        login, logout, me, create_token, list_tokens, revoke_token, invite, accept_invitation,
        list_subjects, create_subject, get_subject, upload_scan, get_scan, get_scan_ply, get_derivative,
        get_lineage, get_consent, withdraw_consent, list_purposes, retention_plan, audit_checkpoint,
        audit_proof, audit_consistency, audit_verify, audit_entries
    ),
    components(schemas(
        LoginBody, LoginView, Me, NewToken, IssuedToken, TokenView, InvitationView, AcceptBody, AccountView,
        SubjectSummary, NewSubject, Created, SubjectView, DetailsView, ScanView, DerivativeView, DisclosureView,
        DerivativeContent, LineageView, ConsentView, ConsentPurpose, WithdrawnView, PurposeView, PlanView,
        DestructionView, CheckpointView, ProofView, ConsistencyView, VerifyView, EntryView
    )),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    let upload_limit = axum::extract::DefaultBodyLimit::disable();
    let _ = state;
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/me", get(me))
        .route("/tokens", post(create_token).get(list_tokens))
        .route("/tokens/{id}", delete(revoke_token))
        .route("/invitations/accept", post(accept_invitation))
        .route("/subjects", get(list_subjects).post(create_subject))
        .route("/subjects/{id}", get(get_subject))
        .route("/subjects/{id}/invitation", post(invite))
        .route("/subjects/{id}/scans", post(upload_scan).layer(upload_limit))
        .route("/subjects/{id}/consent", get(get_consent))
        .route("/subjects/{id}/consent/withdraw", post(withdraw_consent))
        .route("/scans/{id}", get(get_scan))
        .route("/scans/{id}/ply", get(get_scan_ply))
        .route("/derivatives/{id}", get(get_derivative))
        .route("/lineage/{id}", get(get_lineage))
        .route("/purposes", get(list_purposes))
        .route("/retention/plan", get(retention_plan))
        .route("/audit/checkpoint", get(audit_checkpoint))
        .route("/audit/proof/{index}", get(audit_proof))
        .route("/audit/consistency", get(audit_consistency))
        .route("/audit/verify", get(audit_verify))
        .route("/audit/entries", get(audit_entries))
        .merge(governance::routes())
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

// ---------------------------------------------------------------- accounts and sessions

#[derive(Deserialize, ToSchema)]
pub(crate) struct LoginBody {
    username: String,
    password: String,
    /// The 6-digit code of the account's authenticator (privacy officer and admin).
    totp: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LoginView {
    username: String,
    role: String,
    /// A patient's own subject id.
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    /// Send this in X-CSRF-Token on every request that changes data.
    csrf_token: String,
    idle_timeout_secs: u64,
    max_age_secs: u64,
}

/// Logs in and sets the session cookie. Five failures in a row lock the name for 15 minutes.
#[utoipa::path(post, path = "/login", request_body = LoginBody, security(()),
    responses((status = 413, body = ApiError), (status = 415, body = ApiError), (status = 200, body = LoginView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 429, body = ApiError)))]
async fn login(
    State(s): S,
    ext: axum::http::Extensions,
    JsonBody(b): JsonBody<LoginBody>,
) -> Result<Response, ApiError> {
    let name = b.username.trim().to_owned();
    // The client's address when the server knows it (over a socket; not in-process tests
    // that do not set it): too many attempts from one address are refused before any check.
    let peer = ext.get::<axum::extract::ConnectInfo<crate::Peer>>().map(|c| c.0 .0.ip());
    let outcome = match peer
        .map(|ip| s.login_rate.admit(ip, s.config.login_per_minute, std::time::Instant::now()))
    {
        Some(Err(e)) => Err(e),
        _ => {
            auth::login(
                &s,
                auth::Login { username: name.clone(), password: Zeroizing::new(b.password), totp: b.totp },
            )
            .await
        }
    };
    // A name that is no account is not logged: people type passwords into the name field.
    let known = match &outcome {
        Ok(_) => true,
        Err(_) => s.meta().account(&name).await.map_err(ApiError::internal)?.is_some(),
    };
    let object = if known {
        format!("account:{}", facevault_audit::Token::from_text(&name).as_str())
    } else {
        "account:unknown".to_owned()
    };
    let (actor, role, allowed, reason) = match &outcome {
        Ok(l) => (l.session.username.clone(), l.session.role.as_str(), true, "logged in".to_owned()),
        Err(e) => ("anonymous".to_owned(), "none", false, format!("login refused: {}", e.code)),
    };
    s.journal
        .append(
            &actor,
            role,
            vec![Record { action: "auth.login", purpose: "administration".into(), object, allowed, reason }],
        )
        .await
        .map_err(ApiError::internal)?;
    let l = outcome?;
    let c = &s.config;
    let max_age = c.session_max_hours * 3600;
    let view = LoginView {
        username: l.session.username.clone(),
        role: l.session.role.as_str().into(),
        subject: l.session.subject.map(|s| s.to_string()),
        csrf_token: l.session.csrf.clone(),
        idle_timeout_secs: c.session_idle_minutes * 60,
        max_age_secs: max_age,
    };
    let cookie = auth::session_cookie(&l.token, c.tls_cert.is_some(), max_age);
    Ok(([(header::SET_COOKIE, cookie), (header::CACHE_CONTROL, "no-store".into())], Json(view))
        .into_response())
}

/// Ends the session (the cookie is cleared too).
#[utoipa::path(post, path = "/logout", responses((status = 204), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn logout(State(s): S, p: Principal) -> Result<Response, ApiError> {
    if let Via::Session { token_hash } = &p.via {
        s.sessions.remove(token_hash);
    }
    s.journal
        .append(
            &p.actor,
            p.role.as_str(),
            vec![Record {
                action: "auth.logout",
                purpose: "administration".into(),
                object: format!("account:{}", p.username),
                allowed: true,
                reason: "logged out".into(),
            }],
        )
        .await
        .map_err(ApiError::internal)?;
    let cookie = auth::session_cookie("", s.config.tls_cert.is_some(), 0);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Me {
    username: String,
    role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<String>,
    /// `session` or `token`.
    via: String,
    /// An API token's purposes.
    #[serde(skip_serializing_if = "Option::is_none")]
    purposes: Option<Vec<String>>,
}

/// Who the caller is.
#[utoipa::path(get, path = "/me", responses((status = 200, body = Me), (status = 401, body = ApiError)))]
async fn me(p: Principal) -> Json<Me> {
    let (via, purposes) = match &p.via {
        Via::Session { .. } => ("session", None),
        Via::Token { purposes, .. } => ("token", Some(purposes.clone())),
    };
    Json(Me {
        username: p.username,
        role: p.role.as_str().into(),
        subject: p.subject.map(|s| s.to_string()),
        via: via.into(),
        purposes,
    })
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct NewToken {
    /// What the token is for (an integration's name: a-z 0-9 . _ -).
    name: String,
    /// The role the token acts in (not patient).
    role: String,
    /// The purposes it may be used for (at least one).
    purposes: Vec<String>,
    /// Days until it expires (1 to 365).
    expires_in_days: u32,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct IssuedToken {
    id: String,
    /// Shown once: only its hash is kept.
    token: String,
    role: String,
    purposes: Vec<String>,
    expires_at: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TokenView {
    id: String,
    name: String,
    role: String,
    purposes: Vec<String>,
    created_by: String,
    expires_at: String,
    revoked: bool,
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

/// Issues an API token for an integration (privacy officer and admin, logged in).
#[utoipa::path(post, path = "/tokens", request_body = NewToken,
    responses((status = 413, body = ApiError), (status = 415, body = ApiError), (status = 201, body = IssuedToken), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn create_token(
    State(s): S,
    p: Principal,
    JsonBody(b): JsonBody<NewToken>,
) -> Result<Response, ApiError> {
    let jot = Jot::default();
    let r = async {
        session_only(&p)?;
        s.gate(&p, &jot, COMPLIANCE, "token.create", "tokens".into(), None)?;
        auth::check_username(&b.name)
            .map_err(|_| ApiError::field("name", "3 to 64 of a-z, 0-9, '.', '_', '-'"))?;
        let role: Role =
            b.role.parse().map_err(|_| ApiError::field("role", format!("{:?} is not a role", b.role)))?;
        if role == Role::Patient {
            return Err(ApiError::field("role", "a patient acts through their own login, not a token"));
        }
        if b.purposes.is_empty() {
            return Err(ApiError::field("purposes", "name at least one purpose"));
        }
        for purpose in &b.purposes {
            if s.policy.catalogue().get(purpose).is_none() {
                return Err(ApiError::field(
                    "purposes",
                    format!("{purpose:?} is not a purpose of the catalogue"),
                ));
            }
        }
        if !(1..=365).contains(&b.expires_in_days) {
            return Err(ApiError::field("expires_in_days", "1 to 365"));
        }
        let (secret, hash) = auth::new_secret(auth::TOKEN_PREFIX)?;
        let id = Id::random().map_err(ApiError::internal)?.to_string();
        let now = chrono::Utc::now().timestamp();
        let row = TokenRow {
            id: id.clone(),
            token_hash: hash,
            name: b.name.clone(),
            role: role.as_str().into(),
            purposes: b.purposes.join(","),
            created_by: p.username.clone(),
            created_at: now,
            expires_at: now + i64::from(b.expires_in_days) * 86_400,
            revoked: false,
        };
        s.meta().add_token(&row).await.map_err(ApiError::internal)?;
        jot.change(
            "token.create",
            "administration",
            format!("token:{id}"),
            format!("role {role} for {}", row.purposes),
        );
        Ok(IssuedToken {
            id,
            token: secret.to_string(),
            role: row.role,
            purposes: b.purposes.clone(),
            expires_at: secs_utc(row.expires_at),
        })
    }
    .await;
    let t = audited(&s, &p, jot, r).await?;
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], Json(t)).into_response())
}

/// The API tokens (never their secrets).
#[utoipa::path(get, path = "/tokens", responses((status = 200, body = [TokenView]), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn list_tokens(State(s): S, p: Principal) -> Result<Json<Vec<TokenView>>, ApiError> {
    let jot = Jot::default();
    let r = async {
        s.gate(&p, &jot, COMPLIANCE, "token.list", "tokens".into(), None)?;
        let rows = s.meta().tokens().await.map_err(ApiError::internal)?;
        Ok(rows
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                name: t.name,
                role: t.role,
                purposes: t.purposes.split(',').map(str::to_owned).collect(),
                created_by: t.created_by,
                expires_at: secs_utc(t.expires_at),
                revoked: t.revoked,
            })
            .collect())
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

/// Revokes an API token at once.
#[utoipa::path(delete, path = "/tokens/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn revoke_token(State(s): S, p: Principal, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let jot = Jot::default();
    let r = async {
        session_only(&p)?;
        s.gate(&p, &jot, COMPLIANCE, "token.revoke", "tokens".into(), None)?;
        let id: Id = parse_id("id", &id)?;
        if !s.meta().revoke_token(&id.to_string()).await.map_err(ApiError::internal)? {
            return Err(ApiError::not_found(format!("no token {id}")));
        }
        jot.change("token.revoke", "administration", format!("token:{id}"), "revoked");
        Ok(StatusCode::NO_CONTENT)
    }
    .await;
    audited(&s, &p, jot, r).await
}

#[derive(Serialize, ToSchema)]
pub(crate) struct InvitationView {
    /// The patient's login name (a generated handle, not their name).
    username: String,
    /// The one-time invitation secret, for the link given to the patient (shown once).
    invitation: String,
    expires_at: String,
}

/// Invites a patient to the portal: creates their account, with no password until they
/// accept. Give them the invitation secret in person or through the clinic's messaging.
#[utoipa::path(post, path = "/subjects/{id}/invitation", params(("id" = String, Path)),
    responses((status = 201, body = InvitationView), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn invite(State(s): S, p: Principal, Path(id): Path<String>) -> Result<Response, ApiError> {
    let jot = Jot::default();
    let r = async {
        session_only(&p)?;
        let subject: SubjectId = parse_id("id", &id)?;
        let object = format!("subject:{subject}");
        s.gate(&p, &jot, facevault_policy::gates::INVITE, "account.invite", object.clone(), Some(subject))?;
        s.vault.scans_of(subject).await?;
        let (username, secret, expires) = auth::invite_patient(s.meta(), subject).await?;
        jot.change("account.invite", "administration", object, format!("patient account {username} invited"));
        Ok(InvitationView { username, invitation: secret.to_string(), expires_at: secs_utc(expires) })
    }
    .await;
    let v = audited(&s, &p, jot, r).await?;
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], Json(v)).into_response())
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct AcceptBody {
    invitation: String,
    /// The patient's new password (12 characters or more).
    password: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AccountView {
    username: String,
    role: String,
}

/// A patient accepts their invitation and sets a password; they can then log in.
#[utoipa::path(post, path = "/invitations/accept", request_body = AcceptBody, security(()),
    responses((status = 413, body = ApiError), (status = 415, body = ApiError), (status = 201, body = AccountView), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
async fn accept_invitation(State(s): S, JsonBody(b): JsonBody<AcceptBody>) -> Result<Response, ApiError> {
    let password = Zeroizing::new(b.password);
    let account = auth::accept_invitation(s.meta(), &b.invitation, &password).await?;
    let actor = account.subject.clone().unwrap_or_else(|| account.username.clone());
    s.journal
        .append(
            &actor,
            Role::Patient.as_str(),
            vec![Record {
                action: "account.accept",
                purpose: "administration".into(),
                object: format!("account:{}", account.username),
                allowed: true,
                reason: "invitation accepted, password set".into(),
            }],
        )
        .await
        .map_err(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(AccountView { username: account.username, role: account.role }))
        .into_response())
}

// ---------------------------------------------------------------- subjects

#[derive(Serialize, ToSchema)]
pub(crate) struct SubjectSummary {
    id: String,
    created_at: String,
    scans: usize,
    derivatives: usize,
}

/// Subjects by pseudonymous id (no identifying detail is decrypted). A patient sees only
/// themselves.
#[utoipa::path(get, path = "/subjects",
    responses((status = 200, body = [SubjectSummary]), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn list_subjects(State(s): S, p: Principal) -> Result<Json<Vec<SubjectSummary>>, ApiError> {
    let jot = Jot::default();
    let r = async {
        let meta = s.meta();
        let mut subjects = if p.role == Role::Patient {
            s.gate(&p, &jot, CONSENT, "subject.list", "subjects".into(), p.subject)?;
            match p.subject {
                Some(id) => meta.subject(id).await.map_err(ApiError::internal)?.into_iter().collect(),
                None => Vec::new(),
            }
        } else {
            s.gate(&p, &jot, CARE, "subject.list", "subjects".into(), None)?;
            meta.subjects().await.map_err(ApiError::internal)?
        };
        subjects.sort_by_key(|x| (x.created_at, x.id));
        let mut out = Vec::with_capacity(subjects.len());
        for x in subjects {
            out.push(SubjectSummary {
                id: x.id.to_string(),
                created_at: utc(x.created_at),
                scans: meta.scans_of(x.id).await.map_err(ApiError::internal)?.len(),
                derivatives: meta.derivatives_of(x.id).await.map_err(ApiError::internal)?.len(),
            });
        }
        jot.change("subject.list", "administration", "subjects".into(), format!("{} listed", out.len()));
        Ok(out)
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct NewSubject {
    name: String,
    /// YYYY-MM-DD.
    date_of_birth: Option<String>,
    contact: Option<String>,
    /// Where the subject lives, which decides the law (e.g. US-IL, US-CA, EU-FR).
    jurisdiction: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct Created {
    id: String,
}

pub(crate) fn is_date(s: &str) -> bool {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok() && s.len() == 10
}

/// Adds a subject; their details are sealed under their own data key.
#[utoipa::path(post, path = "/subjects", request_body = NewSubject,
    responses((status = 413, body = ApiError), (status = 415, body = ApiError), (status = 201, body = Created), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn create_subject(
    State(s): S,
    p: Principal,
    JsonBody(b): JsonBody<NewSubject>,
) -> Result<Response, ApiError> {
    let jot = Jot::default();
    let r = async {
        s.gate(&p, &jot, CARE, "subject.add", "subject:new".into(), None)?;
        let name = Zeroizing::new(b.name);
        if name.trim().is_empty() || name.len() > 1024 {
            return Err(ApiError::field("name", "give the subject's name (at most 1024 bytes)"));
        }
        if b.date_of_birth.as_deref().is_some_and(|d| !is_date(d)) {
            return Err(ApiError::field("date_of_birth", "not a YYYY-MM-DD date"));
        }
        for (field, v) in [("contact", &b.contact), ("jurisdiction", &b.jurisdiction)] {
            if v.as_ref().is_some_and(|v| v.len() > 1024) {
                return Err(ApiError::field(field, "at most 1024 bytes"));
            }
        }
        let details = SubjectDetails {
            name: name.to_string(),
            date_of_birth: b.date_of_birth,
            contact: b.contact,
            jurisdiction: b.jurisdiction,
        };
        let id = s.vault.create_subject(&details).await?;
        jot.change("subject.add", "administration", format!("subject:{id}"), "details sealed");
        Ok(Created { id: id.to_string() })
    }
    .await;
    let c = audited(&s, &p, jot, r).await?;
    Ok((StatusCode::CREATED, Json(c)).into_response())
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DetailsView {
    name: String,
    date_of_birth: Option<String>,
    contact: Option<String>,
    jurisdiction: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ScanView {
    id: String,
    subject: String,
    device: String,
    captured_on: String,
    purpose: String,
    source_unit: String,
    vertices: u64,
    triangles: u64,
    imported_at: String,
}

pub(crate) fn scan_view(x: &facevault_vault::Scan) -> ScanView {
    ScanView {
        id: x.id.to_string(),
        subject: x.subject.to_string(),
        device: x.capture.device.clone(),
        captured_on: x.capture.captured_on.clone(),
        purpose: x.capture.purpose.0.clone(),
        source_unit: x.source_unit.to_string(),
        vertices: x.vertices,
        triangles: x.triangles,
        imported_at: utc(x.imported_at),
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DerivativeView {
    id: String,
    subject: String,
    kind: String,
    producer: String,
    /// The producer's parameters (JSON text).
    parameters: String,
    /// The scans and derivatives it was made from.
    parents: Vec<String>,
    created_at: String,
}

pub(crate) fn derivative_view(d: &facevault_vault::Derivative) -> DerivativeView {
    DerivativeView {
        id: d.id.to_string(),
        subject: d.subject.to_string(),
        kind: d.kind.to_string(),
        producer: d.producer.clone(),
        parameters: d.parameters.clone(),
        parents: d.parents.iter().map(ToString::to_string).collect(),
        created_at: utc(d.created_at),
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DisclosureView {
    node: String,
    at: String,
    kind: String,
    purpose: String,
    recipient: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SubjectView {
    id: String,
    created_at: String,
    details: DetailsView,
    scans: Vec<ScanView>,
    derivatives: Vec<DerivativeView>,
    disclosures: Vec<DisclosureView>,
}

/// A subject's record: details (decrypted), scans, derivatives, disclosures. A read for a
/// purpose, decided by the policy and audited.
#[utoipa::path(get, path = "/subjects/{id}", params(("id" = String, Path), PurposeQuery),
    responses((status = 200, body = SubjectView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_subject(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<PurposeQuery>,
) -> Result<Json<SubjectView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        let subject: SubjectId = parse_id("id", &id)?;
        let purpose = p.purpose(q.purpose.as_deref(), CLINICAL)?;
        let grant = s
            .decide(
                &p,
                &jot,
                "subject.read",
                Action::Read,
                &purpose,
                Target::Subject(subject),
                q.break_glass.as_deref(),
            )
            .await?;
        let x = s.vault.subject(&grant, subject).await?;
        let d = &x.details;
        let derivatives = s.meta().derivatives_of(subject).await.map_err(ApiError::internal)?;
        Ok(SubjectView {
            id: x.id.to_string(),
            created_at: utc(x.created_at),
            details: DetailsView {
                name: d.name.clone(),
                date_of_birth: d.date_of_birth.clone(),
                contact: d.contact.clone(),
                jurisdiction: d.jurisdiction.clone(),
            },
            scans: s.vault.scans_of(subject).await?.iter().map(scan_view).collect(),
            derivatives: derivatives.iter().map(derivative_view).collect(),
            disclosures: s
                .vault
                .disclosures_of(subject)
                .await?
                .into_iter()
                .map(|d| DisclosureView {
                    node: d.node.to_string(),
                    at: utc(d.at),
                    kind: d.kind,
                    purpose: d.purpose.0,
                    recipient: d.recipient,
                })
                .collect(),
        })
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

// ---------------------------------------------------------------- scans

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UploadQuery {
    /// The purpose of collection: a purpose id of the catalogue.
    purpose: String,
    /// The capturing device.
    device: Option<String>,
    /// The capture date, YYYY-MM-DD (default today, UTC).
    captured: Option<String>,
    /// The unit of the file (mm, cm, m, in), overriding what it declares.
    unit: Option<String>,
}

/// Uploads a scan (PLY, OBJ or STL; the body is the file). It is read up to the server's
/// upload limit, refused as soon as it goes over, parsed and validated in memory, and sealed
/// under the subject's key; nothing of it is written in plaintext. Needs the subject's consent
/// covering the purpose.
#[utoipa::path(post, path = "/subjects/{id}/scans", params(("id" = String, Path), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = ScanView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 413, body = ApiError),
              (status = 422, body = ApiError)))]
async fn upload_scan(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let jot = Jot::default();
    let r = async {
        let subject: SubjectId = parse_id("id", &id)?;
        let object = format!("subject:{subject}");
        let purpose = p.purpose(Some(&q.purpose), CLINICAL)?;
        s.gate(&p, &jot, CAPTURE, "scan.import", object.clone(), Some(subject))?;
        if s.policy.catalogue().get(&purpose).filter(|x| x.enabled).is_none() {
            return Err(ApiError::field(
                "purpose",
                format!("{purpose:?} is not an enabled purpose of the catalogue"),
            ));
        }
        let captured_on =
            q.captured.clone().unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d").to_string());
        if !is_date(&captured_on) {
            return Err(ApiError::field("captured", "not a YYYY-MM-DD date"));
        }
        let unit = q
            .unit
            .as_deref()
            .map(|u| u.parse::<Unit>().map_err(|_| ApiError::field("unit", "one of mm, cm, m, in")))
            .transpose()?;
        let device = q.device.clone().unwrap_or_else(|| "unknown".into());
        if device.is_empty() || device.len() > 256 {
            return Err(ApiError::field("device", "1 to 256 bytes"));
        }
        // Fail on an unknown subject before reading a large body.
        s.vault.scans_of(subject).await?;
        let limit = s.config.max_upload_bytes;
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a scan upload is limited to {limit} bytes"),
            )
        };
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut bytes = Zeroizing::new(Vec::with_capacity(declared.map_or(0, |n| n as usize).min(limit)));
        let mut stream = body.into_data_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| ApiError::field("body", format!("the upload broke off: {e}")))?;
            if bytes.len() + chunk.len() > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        let mesh = tokio::task::spawn_blocking(move || {
            facevault_mesh::read(&bytes, &ReadOptions { format: None, unit }).map(|m| m.mesh)
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError {
            field: Some("body".into()),
            ..ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "malformed_mesh",
                format!("the scan is not a valid mesh: {e}"),
            )
        })?;
        let capture = Capture { device, captured_on, purpose: Purpose(purpose.clone()) };
        let scan = match s.vault.import_scan(subject, &mesh, capture).await {
            Ok(id) => id,
            Err(e @ (VaultError::NoConsent { .. } | VaultError::CaptureRefused { .. })) => {
                jot.push(Record {
                    action: "scan.import",
                    purpose,
                    object,
                    allowed: false,
                    reason: e.to_string(),
                });
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        };
        jot.change("scan.import", &purpose, format!("scan:{scan}"), format!("captured for {object}"));
        Ok(scan_view(&s.vault.scan(scan).await?))
    }
    .await;
    let v = audited(&s, &p, jot, r).await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// A scan's metadata (capture, size, purpose): a read for a purpose, decided and audited.
#[utoipa::path(get, path = "/scans/{id}", params(("id" = String, Path), PurposeQuery),
    responses((status = 200, body = ScanView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_scan(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<PurposeQuery>,
) -> Result<Json<ScanView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        let scan: ScanId = parse_id("id", &id)?;
        let purpose = p.purpose(q.purpose.as_deref(), CLINICAL)?;
        // The record is read once: it names the subject the decision needs (an unknown scan
        // is a 404 before any decision, as it would be from the decision's own read).
        let record = s.vault.scan(scan).await?;
        s.decide_on(
            &p,
            &jot,
            "scan.read",
            Action::Read,
            &purpose,
            Known::Scan(&record),
            q.break_glass.as_deref(),
        )
        .await?;
        Ok(scan_view(&record))
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

/// A scan's mesh as binary PLY, for viewing: a read for a purpose, decided and audited.
#[utoipa::path(get, path = "/scans/{id}/ply", params(("id" = String, Path), PurposeQuery),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 400, body = ApiError),
              (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_scan_ply(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<PurposeQuery>,
) -> Result<Response, ApiError> {
    let jot = Jot::default();
    let r = async {
        let scan: ScanId = parse_id("id", &id)?;
        let purpose = p.purpose(q.purpose.as_deref(), CLINICAL)?;
        let grant = s
            .decide(
                &p,
                &jot,
                "scan.read",
                Action::Read,
                &purpose,
                Target::Node(Node::Scan(scan)),
                q.break_glass.as_deref(),
            )
            .await?;
        Ok(s.vault.scan_ply(&grant, scan).await?)
    }
    .await;
    let ply = audited(&s, &p, jot, r).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream"), (header::CACHE_CONTROL, "no-store")], ply)
        .into_response())
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DerivativeContent {
    derivative: DerivativeView,
    /// A report's content (measurements, maps' statistics) as JSON; absent for meshes.
    #[schema(value_type = Option<Object>)]
    content: Option<serde_json::Value>,
}

/// A derivative (an analysis report or a derived mesh's metadata), with a report's content: a
/// read for a purpose, decided and audited.
#[utoipa::path(get, path = "/derivatives/{id}", params(("id" = String, Path), PurposeQuery),
    responses((status = 200, body = DerivativeContent), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_derivative(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
    Query(q): Query<PurposeQuery>,
) -> Result<Json<DerivativeContent>, ApiError> {
    let jot = Jot::default();
    let r = async {
        let der: DerivativeId = parse_id("id", &id)?;
        let purpose = p.purpose(q.purpose.as_deref(), CLINICAL)?;
        let grant = s
            .decide(
                &p,
                &jot,
                "derivative.read",
                Action::Read,
                &purpose,
                Target::Node(Node::Derivative(der)),
                q.break_glass.as_deref(),
            )
            .await?;
        let d = s.vault.derivative(der).await?;
        let content = if d.kind.to_string() == "mesh" {
            None
        } else {
            let bytes = Zeroizing::new(s.vault.derivative_content(&grant, der).await?);
            serde_json::from_slice(&bytes).ok()
        };
        Ok(DerivativeContent { derivative: derivative_view(&d), content })
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LineageView {
    node: String,
    subject: String,
    /// Everything it was made from.
    ancestors: Vec<String>,
    /// Everything made from it.
    descendants: Vec<String>,
}

/// What a scan or derivative came from and what was derived from it (ids only).
#[utoipa::path(get, path = "/lineage/{id}", params(("id" = String, Path)),
    responses((status = 200, body = LineageView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_lineage(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<LineageView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        let raw: Id = parse_id("id", &id)?;
        let (node, subject) = match s.vault.scan(ScanId(raw)).await {
            Ok(x) => (Node::Scan(x.id), x.subject),
            Err(VaultError::UnknownScan { .. }) => {
                let d = s.vault.derivative(DerivativeId(raw)).await.map_err(|e| match e {
                    VaultError::UnknownDerivative { .. } => {
                        ApiError::not_found(format!("no scan or derivative {raw}"))
                    }
                    e => e.into(),
                })?;
                (Node::Derivative(d.id), d.subject)
            }
            Err(e) => return Err(e.into()),
        };
        let mut roles = CARE.to_vec();
        roles.push(Role::Patient);
        s.gate(&p, &jot, &roles, "lineage.read", format!("{node}"), Some(subject))?;
        let ancestors = s.vault.ancestors(node).await?.iter().map(ToString::to_string).collect();
        let descendants =
            s.vault.descendants(node).await?.iter().map(|d| Node::Derivative(*d).to_string()).collect();
        jot.change("lineage.read", "administration", node.to_string(), "lineage listed");
        Ok(LineageView { node: node.to_string(), subject: subject.to_string(), ancestors, descendants })
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

// ---------------------------------------------------------------- consent and purposes

#[derive(Serialize, ToSchema)]
pub(crate) struct ConsentPurpose {
    purpose: String,
    retention: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ConsentView {
    id: String,
    subject: String,
    recorded_at: String,
    jurisdiction: String,
    /// `active`, `withdrawn` or `expired` now.
    status: String,
    purposes: Vec<ConsentPurpose>,
    /// Consent to share with third parties, separate from collection.
    share: bool,
    limit_use: bool,
    given_on: String,
    expires: Option<String>,
    withdrawn_at: Option<String>,
    notice_version: String,
    notice_sha256: String,
}

/// A subject's consent on record (the typed signature is not returned).
#[utoipa::path(get, path = "/subjects/{id}/consent", params(("id" = String, Path)),
    responses((status = 200, body = ConsentView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn get_consent(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<ConsentView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        let subject: SubjectId = parse_id("id", &id)?;
        let object = format!("subject:{subject}");
        s.gate(&p, &jot, CONSENT, "consent.read", object.clone(), Some(subject))?;
        s.vault.scans_of(subject).await?;
        let c = s
            .vault
            .consent(subject)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("subject {subject} has no consent on record")))?;
        let rec = &c.record;
        let a = rec.consent();
        let now = facevault_domain::Timestamp::from(now_ms());
        jot.change("consent.read", "administration", object, "consent shown");
        Ok(ConsentView {
            id: c.id.to_string(),
            subject: subject.to_string(),
            recorded_at: utc(c.recorded_at),
            jurisdiction: format!("{:?}", a.jurisdiction()),
            status: format!("{:?}", rec.status_at(now)).to_lowercase(),
            purposes: a
                .purposes()
                .iter()
                .map(|(purpose, retention)| ConsentPurpose {
                    purpose: purpose.id.to_string(),
                    retention: format!("{retention:?}"),
                })
                .collect(),
            share: a.share(),
            limit_use: a.limit_use(),
            given_on: a.given_on().to_string(),
            expires: a.expires().map(|d| d.to_string()),
            withdrawn_at: rec.withdrawn().map(|t| t.to_string()),
            notice_version: a.notice().version().to_owned(),
            notice_sha256: a.notice().sha256().iter().map(|b| format!("{b:02x}")).collect(),
        })
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct WithdrawnView {
    subject: String,
    withdrawn_at: String,
}

/// Withdraws a subject's consent: every later access is refused at once (deletion stays
/// possible). A patient may withdraw their own.
#[utoipa::path(post, path = "/subjects/{id}/consent/withdraw", params(("id" = String, Path)),
    responses((status = 200, body = WithdrawnView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn withdraw_consent(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<WithdrawnView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        let subject: SubjectId = parse_id("id", &id)?;
        let object = format!("subject:{subject}");
        s.gate(&p, &jot, CONSENT, "consent.withdraw", object.clone(), Some(subject))?;
        let at = s.vault.withdraw_consent(subject).await?;
        jot.change("consent.withdraw", "administration", object, "consent withdrawn");
        Ok(WithdrawnView { subject: subject.to_string(), withdrawn_at: utc(at) })
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct PurposeView {
    id: String,
    description: String,
    retention: String,
    share: bool,
    sale: bool,
    enabled: bool,
}

/// The clinic's purpose catalogue.
#[utoipa::path(get, path = "/purposes", responses((status = 200, body = [PurposeView]), (status = 401, body = ApiError)))]
async fn list_purposes(State(s): S, _p: Principal) -> Json<Vec<PurposeView>> {
    Json(
        s.policy
            .catalogue()
            .iter()
            .map(|x| PurposeView {
                id: x.id.to_string(),
                description: x.description.clone(),
                retention: format!("{:?}", x.retention),
                share: x.share,
                sale: x.sale,
                enabled: x.enabled,
            })
            .collect(),
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct PlanQuery {
    /// The day to plan for, YYYY-MM-DD (default today).
    at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DestructionView {
    target: String,
    due: String,
    rule: String,
    reason: String,
    suspended_by: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct PlanView {
    subject: String,
    destructions: Vec<DestructionView>,
    unplanned: Option<String>,
}

/// The retention plan (dry run): what is destroyed when, and why, per subject.
#[utoipa::path(get, path = "/retention/plan", params(PlanQuery),
    responses((status = 200, body = [PlanView]), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn retention_plan(
    State(s): S,
    p: Principal,
    Query(q): Query<PlanQuery>,
) -> Result<Json<Vec<PlanView>>, ApiError> {
    let jot = Jot::default();
    let r = async {
        s.gate(&p, &jot, COMPLIANCE, "retention.plan", "vault".into(), None)?;
        let at = match q.at.as_deref() {
            Some(d) => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| ApiError::field("at", "not a YYYY-MM-DD date"))?,
            None => chrono::Utc::now().date_naive(),
        };
        let plan = s.vault.retention_plan(at).await?;
        jot.change("retention.plan", "retention", "vault".into(), format!("plan for {at}"));
        Ok(plan
            .into_iter()
            .map(|x| PlanView {
                subject: x.subject.to_string(),
                destructions: x
                    .destructions
                    .iter()
                    .map(|d| DestructionView {
                        target: match &d.target {
                            facevault_domain::Target::Subject(id) => format!("subject:{}", id.0),
                            facevault_domain::Target::Object(o, _) => o.0.clone(),
                        },
                        due: d.due.to_string(),
                        rule: format!("{:?}", d.rule),
                        reason: d.reason.clone(),
                        suspended_by: d.suspended_by.clone(),
                    })
                    .collect(),
                unplanned: x.unplanned,
            })
            .collect())
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

// ---------------------------------------------------------------- the audit log

#[derive(Serialize, ToSchema)]
pub(crate) struct CheckpointView {
    /// The C2SP signed note.
    checkpoint: String,
    size: u64,
    /// The verifier key (name+id+key) to check it with.
    verifier: String,
}

/// Who may read the audit log itself: the privacy office (an auditor logs in with that role).
fn audit_gate(s: &AppState, p: &Principal, jot: &Jot, action: &'static str) -> Result<(), ApiError> {
    s.gate(p, jot, COMPLIANCE, action, "audit-log".into(), None)
}

/// The latest signed checkpoint of the audit log (signed now over every entry).
#[utoipa::path(get, path = "/audit/checkpoint", responses((status = 200, body = CheckpointView), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn audit_checkpoint(State(s): S, p: Principal) -> Result<Json<CheckpointView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        audit_gate(&s, &p, &jot, "audit.checkpoint")?;
        let (note, size, verifier) = s
            .journal
            .read(|l| l.checkpoint().map(|n| (n, l.log.size(), l.key.verifier().to_string())))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
        Ok(CheckpointView { checkpoint: note, size, verifier })
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ProofView {
    index: u64,
    size: u64,
    /// Hex hashes, RFC 9162 order.
    path: Vec<String>,
    /// The encoded entry, base64.
    entry: String,
    leaf_hash: String,
    root: String,
    checkpoint: String,
}

/// The inclusion proof of entry `index` against a checkpoint signed now (RFC 9162).
#[utoipa::path(get, path = "/audit/proof/{index}", params(("index" = u64, Path)),
    responses((status = 200, body = ProofView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn audit_proof(State(s): S, p: Principal, Path(index): Path<u64>) -> Result<Json<ProofView>, ApiError> {
    use base64::Engine as _;
    let jot = Jot::default();
    let r = async {
        audit_gate(&s, &p, &jot, "audit.prove")?;
        s.journal
            .read(move |l| -> Result<ProofView, ApiError> {
                let size = l.log.size();
                if index >= size {
                    return Err(ApiError::not_found(format!("audit entry {index}: the log has {size}")));
                }
                let note = l.checkpoint().map_err(ApiError::internal)?;
                let entry = l
                    .log
                    .store()
                    .entry(index)
                    .map_err(ApiError::internal)?
                    .ok_or_else(|| ApiError::internal("entry missing"))?;
                let proof = l.log.inclusion_proof(index, size).map_err(ApiError::internal)?;
                Ok(ProofView {
                    index,
                    size,
                    path: proof.path.iter().map(ToString::to_string).collect(),
                    entry: base64::engine::general_purpose::STANDARD.encode(&entry),
                    leaf_hash: facevault_audit::leaf_hash(&entry).to_string(),
                    root: l.log.root().to_string(),
                    checkpoint: note,
                })
            })
            .await
            .map_err(ApiError::internal)?
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConsistencyQuery {
    /// The size of the older tree.
    from: u64,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ConsistencyView {
    old_size: u64,
    new_size: u64,
    path: Vec<String>,
    old_root: String,
    new_root: String,
    checkpoint: String,
}

/// The consistency proof from the tree of `from` entries to a checkpoint signed now.
#[utoipa::path(get, path = "/audit/consistency", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyView), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn audit_consistency(
    State(s): S,
    p: Principal,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Json<ConsistencyView>, ApiError> {
    let jot = Jot::default();
    let old = q.from;
    let r = async {
        audit_gate(&s, &p, &jot, "audit.consistency")?;
        s.journal
            .read(move |l| -> Result<ConsistencyView, ApiError> {
                let size = l.log.size();
                if old > size {
                    return Err(ApiError::not_found(format!("audit size {old}: the log has {size}")));
                }
                let note = l.checkpoint().map_err(ApiError::internal)?;
                let proof = l.log.consistency_proof(old, size).map_err(ApiError::internal)?;
                Ok(ConsistencyView {
                    old_size: old,
                    new_size: size,
                    path: proof.path.iter().map(ToString::to_string).collect(),
                    old_root: l.log.root_at(old).map_err(ApiError::internal)?.to_string(),
                    new_root: l.log.root().to_string(),
                    checkpoint: note,
                })
            })
            .await
            .map_err(ApiError::internal)?
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct VerifyView {
    /// `ok`, or `damaged` with the first bad entry named in `problem`.
    status: String,
    entries: u64,
    root: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<String>,
}

/// Checks every entry of the log against a checkpoint signed now, and says where it differs.
#[utoipa::path(get, path = "/audit/verify", responses((status = 200, body = VerifyView), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn audit_verify(State(s): S, p: Principal) -> Result<Json<VerifyView>, ApiError> {
    let jot = Jot::default();
    let r = async {
        audit_gate(&s, &p, &jot, "audit.verify")?;
        s.journal
            .read(|l| -> Result<VerifyView, ApiError> {
                let note = l.checkpoint().map_err(ApiError::internal)?;
                let cp = open_checkpoint(&note, &l.key.verifier(), &l.origin).map_err(ApiError::internal)?;
                Ok(match verify_log(l.log.store(), &cp) {
                    Ok(n) => VerifyView {
                        status: "ok".into(),
                        entries: n,
                        root: cp.root.to_string(),
                        problem: None,
                    },
                    Err(e) => VerifyView {
                        status: "damaged".into(),
                        entries: cp.size,
                        root: cp.root.to_string(),
                        problem: Some(e.to_string()),
                    },
                })
            })
            .await
            .map_err(ApiError::internal)?
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct EntriesQuery {
    /// Start at this entry index (default 0).
    from: Option<u64>,
    /// At most this many entries (default 100, at most 1000).
    limit: Option<usize>,
    /// Only entries about this object (`subject:<id>`, `scan:<id>`).
    object: Option<String>,
    /// Only denied decisions.
    denied: Option<bool>,
    /// Only break-glass accesses: the ones to review.
    flagged: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct EntryView {
    index: u64,
    time: String,
    actor: String,
    role: String,
    action: String,
    purpose: String,
    object: String,
    /// `allowed` or `denied`.
    decision: String,
    reason: String,
}

/// Audit entries, for the privacy officer's review (break-glass uses, denials, an object).
#[utoipa::path(get, path = "/audit/entries", params(EntriesQuery),
    responses((status = 200, body = [EntryView]), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn audit_entries(
    State(s): S,
    p: Principal,
    Query(q): Query<EntriesQuery>,
) -> Result<Json<Vec<EntryView>>, ApiError> {
    let jot = Jot::default();
    let r = async {
        audit_gate(&s, &p, &jot, "audit.list")?;
        let limit = q.limit.unwrap_or(100).min(1000);
        let from = q.from.unwrap_or(0);
        let (object, denied, flagged) =
            (q.object.clone(), q.denied.unwrap_or(false), q.flagged.unwrap_or(false));
        s.journal
            .read(move |l| -> Result<Vec<EntryView>, ApiError> {
                let mut out = Vec::new();
                let mut i = from;
                while i < l.log.size() && out.len() < limit {
                    let e = l.log.entry(i).map_err(ApiError::internal)?;
                    let keep = object.as_deref().is_none_or(|o| e.object.as_str() == o)
                        && (!denied || e.decision == AuditDecision::Denied)
                        && (!flagged || facevault_vault::oversight::is_break_glass(e.reason.as_str()));
                    if keep {
                        out.push(EntryView {
                            index: i,
                            time: e.time.to_string(),
                            actor: e.actor.as_str().into(),
                            role: e.role.as_str().into(),
                            action: e.action.as_str().into(),
                            purpose: e.purpose.as_str().into(),
                            object: e.object.as_str().into(),
                            decision: if e.decision == AuditDecision::Allowed { "allowed" } else { "denied" }
                                .into(),
                            reason: e.reason.as_str().into(),
                        });
                    }
                    i += 1;
                }
                Ok(out)
            })
            .await
            .map_err(ApiError::internal)?
    }
    .await;
    audited(&s, &p, jot, r).await.map(Json)
}
