//! Sessions under `/api`: `POST /login` (the session cookie and its CSRF token, with the
//! lockout and the per-address rate limit), `POST /logout`, and `GET /me` (who the caller is).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use facevault_app::Record;
use facevault_vault::AccountStore;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use zeroize::Zeroizing;

use super::{JsonBody, S};
use crate::auth::{self, Principal, Via};
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(login, logout, me),
    components(schemas(LoginBody, LoginView, Me)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/login", post(login)).route("/logout", post(logout)).route("/me", get(me))
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct LoginBody {
    username: String,
    password: String,
    /// The 6-digit code of the account's authenticator, sent with the password (privacy
    /// officer and admin; an account that needs one and gets none fails like a wrong password).
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

/// Logs in and sets the session cookie. The password and, for the privacy officer and admin,
/// the one-time code are checked together: any of them wrong or missing is the same 401
/// `invalid_credentials`. Five failures in a row from one address lock the account for that
/// address (15 minutes, doubling); failures from many addresses slow the account down.
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
        Some(Err(wait)) => Err(crate::lockout::rate_limited(wait)),
        _ => {
            let password = Zeroizing::new(b.password);
            auth::login(&s, auth::Login { username: name.clone(), password, totp: b.totp, from: peer }).await
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
    let record = Record { action: "auth.login", purpose: "administration".into(), object, allowed, reason };
    s.app().journal().append(&actor, role, vec![record]).await?;
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
    Ok(([(header::SET_COOKIE, cookie)], Json(view)).into_response())
}

/// Ends the session (the cookie is cleared too).
#[utoipa::path(post, path = "/logout", responses((status = 204), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn logout(State(s): S, p: Principal) -> Result<Response, ApiError> {
    if let Via::Session { token_hash } = &p.via {
        s.sessions.remove(token_hash);
    }
    let record =
        Record::change("auth.logout", "administration", format!("account:{}", p.username), "logged out");
    s.app().journal().append(&p.actor, p.role.as_str(), vec![record]).await?;
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
    /// For a patient: the login name of the staff member who invited them to the portal (so a
    /// patient can tell whether the invitation they accepted was the one meant for them).
    #[serde(skip_serializing_if = "Option::is_none")]
    invited_by: Option<String>,
    /// For a patient: when they were invited.
    #[serde(skip_serializing_if = "Option::is_none")]
    invited_at: Option<String>,
}

/// Who the caller is; for a patient, also who invited them and when.
#[utoipa::path(get, path = "/me", responses((status = 200, body = Me), (status = 401, body = ApiError)))]
async fn me(State(s): S, p: Principal) -> Result<Json<Me>, ApiError> {
    let (via, purposes) = match &p.via {
        Via::Session { .. } => ("session", None),
        Via::Token { purposes, .. } => ("token", Some(purposes.clone())),
    };
    let invited = s.app().invited_by(&p.session()).await?;
    Ok(Json(Me {
        username: p.username,
        role: p.role.as_str().into(),
        subject: p.subject.map(|s| s.to_string()),
        via: via.into(),
        purposes,
        invited_by: invited.as_ref().and_then(|i| i.by.clone()),
        invited_at: invited.map(|i| facevault_app::time::secs_rfc3339(i.at)),
    }))
}
