//! Vendors and disclosures under `/api`: `GET /vendors`, the vendor registry (`vendors.toml`
//! in the vault directory) with the contract terms each vendor lacks (privacy officer, admin),
//! and `GET /subjects/{id}/disclosures` (care roles, and the patient themself).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use facevault_domain::missing_terms;
use facevault_vault::SubjectId;
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::subjects::{disclosure_view, DisclosureView};
use super::{parse_id, S};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(list_vendors, subject_disclosures),
    components(schemas(VendorView, SubjectDisclosure)),
    security(("session" = []), ("token" = []))
)]
pub(crate) struct Api;

pub(crate) fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/vendors", get(list_vendors))
        .route("/subjects/{id}/disclosures", get(subject_disclosures))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct VendorView {
    id: String,
    name: String,
    /// service-provider, contractor, third-party or business-associate.
    role: String,
    region: String,
    purposes: Vec<String>,
    categories: Vec<String>,
    /// The contract terms the signed contract holds.
    terms: Vec<String>,
    /// The terms its role requires that the contract lacks: nothing is disclosed to it until
    /// they are added.
    missing_terms: Vec<String>,
    contact: Option<String>,
}

/// The vendor registry (`vendors.toml` in the vault directory), with the contract terms each
/// vendor lacks (privacy officer, admin).
#[utoipa::path(get, path = "/vendors",
    responses((status = 200, body = [VendorView]), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
async fn list_vendors(State(s): S, p: Principal) -> Result<Json<Vec<VendorView>>, ApiError> {
    let reg = s.app().vendors(&p.session()).await?;
    Ok(Json(
        reg.vendors()
            .iter()
            .map(|v| VendorView {
                id: v.id.as_str().to_owned(),
                name: v.name.clone(),
                role: serde_name(&v.role),
                region: v.region.clone(),
                purposes: v.purposes.iter().map(|x| x.as_str().to_owned()).collect(),
                categories: v.categories.iter().map(|c| c.id().to_owned()).collect(),
                terms: v.terms.iter().map(|t| t.id().to_owned()).collect(),
                missing_terms: missing_terms(v).iter().map(|t| t.id().to_owned()).collect(),
                contact: v.contact.clone(),
            })
            .collect(),
    ))
}

/// How serde writes a unit enum value (the TOML spelling, e.g. `service-provider`).
fn serde_name(v: &impl Serialize) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[derive(Serialize, ToSchema)]
pub(crate) struct SubjectDisclosure {
    /// The scan or derivative disclosed.
    node: String,
    at: String,
    /// export, business-purpose, share or sale.
    kind: String,
    purpose: String,
    /// Who received it.
    recipient: String,
    /// The registered vendor, if it went to one.
    vendor: Option<String>,
}

/// The disclosures of a subject's data (the accounting of disclosures): care roles, and the
/// patient themself.
#[utoipa::path(get, path = "/subjects/{id}/disclosures", params(("id" = String, Path)),
    responses((status = 200, body = [SubjectDisclosure]), (status = 400, body = ApiError), (status = 401, body = ApiError),
              (status = 403, body = ApiError), (status = 404, body = ApiError)))]
async fn subject_disclosures(
    State(s): S,
    p: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<SubjectDisclosure>>, ApiError> {
    let subject: SubjectId = parse_id("id", &id)?;
    let out = s.app().disclosures(&p.session(), subject).await?;
    Ok(Json(
        out.into_iter()
            .map(|d| {
                let vendor = d.vendor.clone();
                let DisclosureView { node, at, kind, purpose, recipient } = disclosure_view(d);
                SubjectDisclosure { node, at, kind, purpose, recipient, vendor }
            })
            .collect(),
    ))
}
