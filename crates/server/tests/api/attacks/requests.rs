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
