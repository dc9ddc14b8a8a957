//! API tokens for integrations under `/api`: `POST /tokens` issues one (its secret shown
//! once), `GET /tokens` lists them without secrets, `DELETE /tokens/{id}` revokes one. Privacy
//! officer and admin; issuing and revoking need a logged-in person, not a token.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use facevault_app::time::secs_rfc3339;
use facevault_app::{AppError, Jot};
use facevault_crypto::Id;
use facevault_policy::Role;
use facevault_vault::{AccountStore, TokenRow};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::{parse_id, session_only, JsonBody, COMPLIANCE, S};
use crate::auth::{self, Principal};
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(create_token, list_tokens, revoke_token),
    components(schemas(NewToken, IssuedToken, TokenView)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/tokens", post(create_token).get(list_tokens))
        .route("/tokens/{id}", delete(revoke_token))
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

/// Issues an API token for an integration (privacy officer and admin, logged in).
#[utoipa::path(post, path = "/tokens", request_body = NewToken,
    responses((status = 413, body = ApiError), (status = 415, body = ApiError), (status = 201, body = IssuedToken), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn create_token(
    State(s): S,
    p: Principal,
    JsonBody(b): JsonBody<NewToken>,
) -> Result<Response, ApiError> {
    let session = p.session();
    let app = s.app();
    let jot = Jot::new();
    let r = async {
        session_only(&p)?;
        app.gate(&session, &jot, COMPLIANCE, "token.create", "administration", "tokens".into(), None)?;
        auth::check_username(&b.name)
            .map_err(|_| AppError::field("name", "3 to 64 of a-z, 0-9, '.', '_', '-'"))?;
        let role: Role =
            b.role.parse().map_err(|_| AppError::field("role", format!("{:?} is not a role", b.role)))?;
        if role == Role::Patient {
            return Err(AppError::field("role", "a patient acts through their own login, not a token"));
        }
        if b.purposes.is_empty() {
            return Err(AppError::field("purposes", "name at least one purpose"));
        }
        for purpose in &b.purposes {
            if app.policy().catalogue().get(purpose).is_none() {
                return Err(AppError::field(
                    "purposes",
                    format!("{purpose:?} is not a purpose of the catalogue"),
                ));
            }
        }
        if !(1..=365).contains(&b.expires_in_days) {
            return Err(AppError::field("expires_in_days", "1 to 365"));
        }
        // Its only failure is the system's randomness, already logged with its detail.
        let (secret, hash) =
            auth::new_secret(auth::TOKEN_PREFIX).map_err(|e| AppError::internal(e.message))?;
        let id = Id::random().map_err(AppError::internal)?.to_string();
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
        s.meta().add_token(&row).await.map_err(AppError::internal)?;
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
            expires_at: secs_rfc3339(row.expires_at),
        })
    }
    .await;
    let t = app.audited(&session, jot, r).await?;
    Ok((StatusCode::CREATED, [(header::CACHE_CONTROL, "no-store")], Json(t)).into_response())
}

/// The API tokens (never their secrets).
#[utoipa::path(get, path = "/tokens", responses((status = 200, body = [TokenView]), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn list_tokens(State(s): S, p: Principal) -> Result<Json<Vec<TokenView>>, ApiError> {
    let session = p.session();
    let app = s.app();
    let jot = Jot::new();
    let r = async {
        app.gate(&session, &jot, COMPLIANCE, "token.list", "administration", "tokens".into(), None)?;
        let rows = s.meta().tokens().await.map_err(AppError::internal)?;
        Ok(rows
            .into_iter()
            .map(|t| TokenView {
                id: t.id,
                name: t.name,
                role: t.role,
                purposes: t.purposes.split(',').map(str::to_owned).collect(),
                created_by: t.created_by,
                expires_at: secs_rfc3339(t.expires_at),
                revoked: t.revoked,
            })
            .collect())
    }
    .await;
    Ok(Json(app.audited(&session, jot, r).await?))
}

/// Revokes an API token at once.
#[utoipa::path(delete, path = "/tokens/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn revoke_token(State(s): S, p: Principal, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let session = p.session();
    let app = s.app();
    let jot = Jot::new();
    let r = async {
        session_only(&p)?;
        app.gate(&session, &jot, COMPLIANCE, "token.revoke", "administration", "tokens".into(), None)?;
        let id: Id = parse_id("id", &id)?;
        if !s.meta().revoke_token(&id.to_string()).await.map_err(AppError::internal)? {
            return Err(AppError::not_found(format!("no token {id}")));
        }
        jot.change("token.revoke", "administration", format!("token:{id}"), "revoked");
        Ok(StatusCode::NO_CONTENT)
    }
    .await;
    Ok(app.audited(&session, jot, r).await?)
}
