//! Finding 11: a patient set a request's `received` date (2000 or 2999) and named any agent.
//! The app now sets the date; staff may backdate with a reason (audited), never into the future
//! nor before the subject was registered; only staff name an agent, whose authority is recorded
//! before the request moves.

use axum::http::StatusCode;
use serde_json::json;

use super::fixture;
use crate::common::post;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_cannot_date_a_request_or_name_an_agent() {
    let f = fixture("requests-dates", |_| ()).await;
    let live = f.serve().await;
    let me = f.login("patient-a").await;
    for received in ["2000-01-01T00:00:00Z", "2999-01-01T00:00:00Z"] {
        let body = json!({"subject": f.a.to_string(), "kind": "access", "received": received});
        let r = live.send(post("/api/requests", Some(&me), &body)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "received {received}: {}", r.text);
        assert_eq!(r.body["field"], "received", "{}", r.text);
    }
    let body = json!({"subject": f.a.to_string(), "kind": "delete", "agent": "agent-x"});
    let r = live.send(post("/api/requests", Some(&me), &body)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.body["field"], "agent", "{}", r.text);
    // Their own request, dated by the server.
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let body = json!({"subject": f.a.to_string(), "kind": "access"});
    let r = live.send(post("/api/requests", Some(&me), &body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let received: chrono::DateTime<chrono::Utc> = r.body["received"].as_str().unwrap().parse().unwrap();
    assert!(received >= before && received <= chrono::Utc::now(), "{received}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_backdate_only_with_a_reason_and_within_the_subjects_life() {
    let f = fixture("requests-backdate", |_| ()).await;
    let live = f.serve().await;
    let desk = f.login("front_desk").await;
    let open = |received: String, reason: Option<&str>| {
        json!({"subject": f.a.to_string(), "kind": "access", "received": received,
               "received_reason": reason})
    };
    let future = (chrono::Utc::now() + chrono::Duration::days(3)).to_rfc3339();
    let r = live.send(post("/api/requests", Some(&desk), &open(future, Some("typo")))).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("received")),
        "{}",
        r.text
    );
    let r = live
        .send(post("/api/requests", Some(&desk), &open("2000-01-01T00:00:00Z".into(), Some("old"))))
        .await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("received")),
        "{}",
        r.text
    );
    assert!(r.text.contains("before subject"), "{}", r.text);
    let earlier = (chrono::Utc::now() - chrono::Duration::seconds(30)).to_rfc3339();
    let r = live.send(post("/api/requests", Some(&desk), &open(earlier.clone(), None))).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("received_reason")),
        "{}",
        r.text
    );
    let r = live
        .send(post(
            "/api/requests",
            Some(&desk),
            &open(earlier, Some("letter arrived before it was typed in")),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let audit = f.audit().await;
    let entry = audit
        .iter()
        .find(|e| e["action"] == "request.open" && e["object"] == format!("request:{id}"))
        .unwrap_or_else(|| panic!("no request.open entry for {id}"));
    let reason = entry["reason"].as_str().unwrap();
    assert!(reason.contains("backdated") && reason.contains("letter arrived"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_request_moves_only_once_authority_is_recorded_with_its_evidence() {
    let f = fixture("requests-agent", |_| ()).await;
    let live = f.serve().await;
    let desk = f.login("front_desk").await;
    let body = json!({"subject": f.a.to_string(), "kind": "delete", "agent": "agent-x"});
    let r = live.send(post("/api/requests", Some(&desk), &body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["agent"]["proof_of_authority"], false, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let po = f.session("privacy_officer").await;
    let verify = json!({"level": "strong"});
    let r = live.send(post(&format!("/api/requests/{id}/verify"), Some(&po), &verify)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "no authority yet: {}", r.text);
    // Authority without its evidence is refused.
    let path = format!("/api/requests/{id}/agent-authority");
    let r = live.send(post(&path, Some(&po), &json!({}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = live.send(post(&path, Some(&po), &json!({"evidence_sha256": "not-a-hash"}))).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("evidence_sha256")),
        "{}",
        r.text
    );
    let evidence = "0f".repeat(32);
    let r = live.send(post(&path, Some(&po), &json!({"evidence_sha256": evidence}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = live.send(post(&format!("/api/requests/{id}/verify"), Some(&po), &verify)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let audit = f.audit().await;
    assert!(
        audit.iter().any(|e| e["action"] == "request.agent-authority"
            && e["reason"].as_str().unwrap().contains(&format!("evidence sha256:{evidence}"))),
        "the evidence is journaled"
    );
}
