//! Patient accounts for the portal under `/api`: `POST /subjects/{id}/invitation` creates a
//! patient's account with a one-time invitation, and `POST /invitations/accept` lets the
//! patient set their password.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use facevault_app::time::secs_rfc3339;
use facevault_vault::SubjectId;
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};
use zeroize::Zeroizing;

use super::{parse_id, JsonBody, S};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(invite, accept_invitation),
    components(schemas(InvitationView, AcceptBody, AccountView)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/invitations/accept", post(accept_invitation))
        .route("/subjects/{id}/invitation", post(invite))
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
/// accept. Give them the invitation secret in person or through the clinic's messaging. Only a
/// role that may read the patient's record invites (403 otherwise: the secret lets its holder
/// act as the patient). One portal account per subject: when the subject has one, only the
/// privacy officer invites again, which replaces it (409 for anyone else).
#[utoipa::path(post, path = "/subjects/{id}/invitation", params(("id" = String, Path)),
    responses((status = 201, body = InvitationView), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
async fn invite(State(s): S, p: Principal, Path(id): Path<String>) -> Result<Response, ApiError> {
    let subject: SubjectId = parse_id("id", &id)?;
    let i = s.app().invite_patient(&p.session(), subject).await?;
    let v = InvitationView {
        username: i.username,
        invitation: i.secret.to_string(),
        expires_at: secs_rfc3339(i.expires),
    };
    Ok((StatusCode::CREATED, Json(v)).into_response())
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
    let account = s.app().accept_invitation(&b.invitation, &password).await?;
    Ok((StatusCode::CREATED, Json(AccountView { username: account.username, role: account.role }))
        .into_response())
}
