//! API tokens for integrations under `/api`: `POST /tokens` issues one (its secret shown
//! once), `GET /tokens` lists them without secrets, `DELETE /tokens/{id}` revokes one. Privacy
//! officer and admin; issuing and revoking need a logged-in person, not a token.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use axum::{Json, Router};
use facevault_app::time::secs_rfc3339;
use facevault_crypto::Id;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::{parse_id, JsonBody, S};
use crate::auth::Principal;
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

/// Issues an API token for an integration (privacy officer and admin, logged in). A token does
/// no more than its issuer: its role may do nothing with data, for its purposes, that the
/// issuer's role may not (403 naming what), and break-glass is never available to it.
#[utoipa::path(post, path = "/tokens", request_body = NewToken,
    responses((status = 413, body = ApiError), (status = 415, body = ApiError), (status = 201, body = IssuedToken), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn create_token(
    State(s): S,
    p: Principal,
    JsonBody(b): JsonBody<NewToken>,
) -> Result<Response, ApiError> {
    let new = facevault_app::accounts::NewToken {
        name: b.name.clone(),
        role: b.role.clone(),
        purposes: b.purposes.clone(),
        expires_in_days: b.expires_in_days,
    };
    let issued = s.app().create_token(&p.session(), new).await?;
    let t = IssuedToken {
        id: issued.row.id,
        token: issued.secret.to_string(),
        role: issued.row.role,
        purposes: b.purposes,
        expires_at: secs_rfc3339(issued.row.expires_at),
    };
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

/// The API tokens (never their secrets).
#[utoipa::path(get, path = "/tokens", responses((status = 200, body = [TokenView]), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn list_tokens(State(s): S, p: Principal) -> Result<Json<Vec<TokenView>>, ApiError> {
    let rows = s.app().tokens(&p.session()).await?;
    Ok(Json(
        rows.into_iter()
            .map(|t| TokenView {
                id: t.id,
                name: t.name,
                role: t.role,
                purposes: t.purposes.split(',').map(str::to_owned).collect(),
                created_by: t.created_by,
                expires_at: secs_rfc3339(t.expires_at),
                revoked: t.revoked,
            })
            .collect(),
    ))
}

/// Revokes an API token at once.
#[utoipa::path(delete, path = "/tokens/{id}", params(("id" = String, Path)),
    responses((status = 204), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn revoke_token(State(s): S, p: Principal, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id: Id = parse_id("id", &id)?;
    s.app().revoke_token(&p.session(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}
