//! Audit gaps (finding 8 of the review): a revoked or expired API token, an invalid session
//! cookie and a CSRF failure each leave an entry, without the secret; reads of the audit log are
//! themselves audited; and an unauthenticated flood cannot fill the log without bound.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use facevault_app::accounts::{new_secret, unix_now, TOKEN_PREFIX};
use facevault_vault::{AccountStore, TokenRow};
use serde_json::{json, Value};

use super::fixture;
use crate::common::{get, json_req, Fixture, Live, Who};

/// The entries with `action`, as the privacy officer lists them.
async fn entries(f: &Fixture, action: &str) -> Vec<Value> {
    f.audit().await.into_iter().filter(|e| e["action"] == action).collect()
}

/// A token of `role` stored as the API stores one, revoked or expired as asked.
async fn token(f: &Fixture, id: &str, revoked: bool, expires_at: i64) -> String {
    let (secret, hash) = new_secret(TOKEN_PREFIX).unwrap();
    let row = TokenRow {
        id: id.into(),
        token_hash: hash,
        name: format!("{id}-app"),
        role: "surgeon".into(),
        purposes: "post-op-tracking".into(),
        created_by: "privacy_officer".into(),
        created_at: unix_now() as i64 - 10,
        expires_at,
        revoked,
    };
    f.state.app().vault().metadata_store().add_token(&row).await.unwrap();
    secret.to_string()
}

async fn bearer(live: &Live, token: &str) -> StatusCode {
    let req = Request::get("/api/subjects").header(header::AUTHORIZATION, format!("Bearer {token}"));
    live.send(req.body(Body::empty()).unwrap()).await.status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_and_expired_tokens_leave_an_entry() {
    let f = fixture("audit-tokens", |_| ()).await;
    let live = f.serve().await;
    let revoked = token(&f, "tok-revoked", true, unix_now() as i64 + 3600).await;
    let expired = token(&f, "tok-expired", false, unix_now() as i64 - 60).await;
    assert_eq!(bearer(&live, &revoked).await, StatusCode::UNAUTHORIZED);
    assert_eq!(bearer(&live, &expired).await, StatusCode::UNAUTHORIZED);
    let found = entries(&f, "auth.token").await;
    let text = serde_json::to_string(&found).unwrap();
    for id in ["tok-revoked", "tok-expired"] {
        assert!(
            found.iter().any(|e| e["object"] == format!("token:{id}") && e["decision"] == "denied"),
            "no denied auth.token entry for {id}: {text}"
        );
    }
    for secret in [&revoked, &expired] {
        assert!(!text.contains(&secret[TOKEN_PREFIX.len()..]), "a token's secret is in the log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_session_cookie_leaves_an_entry() {
    let f = fixture("audit-cookie", |_| ()).await;
    let live = f.serve().await;
    let forged = Who { cookie: "fv_session=forged-cookie-value-1234".into(), csrf: String::new() };
    let r = live.send(get("/api/subjects", Some(&forged))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let found = entries(&f, "auth.session").await;
    let text = serde_json::to_string(&found).unwrap();
    assert!(found.iter().any(|e| e["decision"] == "denied"), "no auth.session entry: {text}");
    assert!(!text.contains("forged-cookie-value"), "the cookie's value is in the log: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_csrf_failure_leaves_an_entry() {
    let f = fixture("audit-csrf", |_| ()).await;
    let live = f.serve().await;
    let w = f.login("front_desk").await;
    let bad = Who { csrf: "not-the-token".into(), ..w.clone() };
    let r = live.send(json_req(Method::POST, "/api/subjects", Some(&bad), &json!({"name": "X"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let found = entries(&f, "auth.csrf").await;
    let text = serde_json::to_string(&found).unwrap();
    assert!(
        found.iter().any(|e| e["actor"] == "front_desk" && e["decision"] == "denied"),
        "no auth.csrf entry naming the session's account: {text}"
    );
    assert!(!text.contains(&w.csrf) && !text.contains(&w.cookie["fv_session=".len()..]), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_of_the_audit_log_are_audited() {
    let f = fixture("audit-reads", |_| ()).await;
    let live = f.serve().await;
    let po = f.session("privacy_officer").await;
    for path in ["/api/audit/entries?limit=5", "/api/audit/checkpoint", "/api/audit/verify"] {
        let r = live.send(get(path, Some(&po))).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
    }
    let all = f.audit().await;
    for action in ["audit.list", "audit.checkpoint", "audit.verify"] {
        assert!(
            all.iter().any(|e| e["action"] == action && e["actor"] == "privacy_officer"),
            "no {action} entry"
        );
    }
    // One entry per read request, not per entry read.
    let lists = all.iter().filter(|e| e["action"] == "audit.list").count();
    assert!(lists <= 2, "{lists} audit.list entries for two listings");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unauthenticated_flood_does_not_fill_the_log() {
    let f = fixture("audit-flood", |_| ()).await;
    let live = f.serve().await;
    let size = |all: &[Value]| all.len();
    let before = size(&f.audit().await);
    for i in 0..150 {
        let forged = Who { cookie: format!("fv_session=flood-{i}"), csrf: String::new() };
        assert_eq!(live.send(get("/api/subjects", Some(&forged))).await.status, StatusCode::UNAUTHORIZED);
    }
    let all = f.audit().await;
    let flood = entries(&f, "auth.session").await.len();
    let budget = f.state.config().auth_failures_audited_per_minute as usize;
    assert!(flood >= 1, "the flood left no entry at all");
    assert!(flood <= budget + 1, "{flood} entries for 150 forged cookies from one address (budget {budget})");
    assert!(size(&all) - before < budget + 10, "the log grew by {}", size(&all) - before);
}
