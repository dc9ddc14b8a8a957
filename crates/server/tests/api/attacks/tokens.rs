//! Finding 2 (token minting escalates) and, from finding 13, break-glass through API tokens: a
//! token never does more with data than the person who issued it may, and break-glass is for
//! people only.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::json;

use super::fixture;
use crate::common::{get, post, Live, Reply, Who};

fn bearer(path: &str, token: &str) -> Request<Body> {
    Request::get(path).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap()
}

async fn mint(live: &Live, who: &Who, role: &str, purposes: &[&str]) -> Reply {
    let body = json!({"name": "integration", "role": role, "purposes": purposes, "expires_in_days": 7});
    live.send(post("/api/tokens", Some(who), &body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_and_privacy_officer_cannot_mint_a_token_above_their_own_rights() {
    let f = fixture("token-escalate", |_| ()).await;
    let live = f.serve().await;
    let scan = f.scan_a;
    let admin = f.session("admin").await;
    let po = f.session("privacy_officer").await;
    // Admin is refused scan data directly.
    let r = live.send(get(&format!("/api/scans/{scan}"), Some(&admin))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);

    // The attack: mint a surgeon (or clinical staff) token and read with it.
    for (who, name) in [(&admin, "admin"), (&po, "privacy_officer")] {
        for role in ["surgeon", "clinical_staff"] {
            let r = mint(&live, who, role, &["treatment-planning"]).await;
            let read = match r.body["token"].as_str() {
                Some(t) => {
                    live.send(bearer(&format!("/api/scans/{scan}?purpose=treatment-planning"), t))
                        .await
                        .status
                }
                None => r.status,
            };
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{name} minted a {role} token: {}", r.text);
            assert!(r.body["token"].is_null(), "{}", r.text);
            assert!(r.body["message"].as_str().unwrap().contains(role), "{}", r.text);
            assert_ne!(read, StatusCode::OK, "a token {name} minted read a scan");
        }
    }
    // Admin may not even mint a token for a role that reads data it may not.
    let r = mint(&live, &admin, "privacy_officer", &["treatment-planning"]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // Within the issuer's rights: the privacy officer's own role, for a purpose they read.
    let r = mint(&live, &po, "privacy_officer", &["post-op-tracking"]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let token = r.body["token"].as_str().unwrap().to_owned();
    let r = live.send(bearer(&format!("/api/scans/{scan}?purpose=post-op-tracking"), &token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A role below the issuer's (marketing reads only marketing images, which the privacy
    // officer may read too) is allowed.
    let r = mint(&live, &po, "marketing", &["marketing-images"]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_glass_through_an_api_token_is_refused_and_audited() {
    let f = fixture("token-glass", |_| ()).await;
    let live = f.serve().await;
    let scan = f.scan_a;
    let po = f.session("privacy_officer").await;
    let r = mint(&live, &po, "privacy_officer", &["treatment-planning"]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let token = r.body["token"].as_str().unwrap().to_owned();
    let id = r.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/scans/{scan}?purpose=treatment-planning&break_glass=emergency%20repair");
    let r = live.send(bearer(&path, &token)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a token used break-glass: {}", r.text);
    assert!(r.body["message"].as_str().unwrap().contains("break-glass"), "{}", r.text);
    // Without break-glass, the same token reads.
    let r = live.send(bearer(&format!("/api/scans/{scan}?purpose=treatment-planning"), &token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The refusal is in the audit log, under the token.
    let entries = live.send(get("/api/audit/entries?denied=true&limit=1000", Some(&po))).await;
    let entries = entries.body.as_array().cloned().unwrap_or_default();
    assert!(
        entries.iter().any(|e| e["actor"] == format!("token:{id}")
            && e["reason"].as_str().unwrap_or_default().contains("break-glass")),
        "{entries:?}"
    );
}
