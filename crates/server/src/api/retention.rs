//! The retention plan under `/api`: `GET /retention/plan`, a dry run of what is destroyed
//! when, and why, per subject (privacy officer, admin): the app's `retention_plan`.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::S;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(retention_plan),
    components(schemas(PlanView, DestructionView)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/retention/plan", get(retention_plan))
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
    let (_, plan) = s.app().retention_plan(&p.session(), q.at.as_deref()).await?;
    Ok(Json(
        plan.into_iter()
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
            .collect(),
    ))
}
