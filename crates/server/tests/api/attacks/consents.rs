//! Finding 5 (consent forged by staff) and finding 17 (opt-out lifted by staff; Global Privacy
//! Control ignored), through real HTTP.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::{json, Value};

use super::fixture;
use crate::common::{get, post, small_ply, Live, Who};

/// An Illinois consent form as the front desk types it: a typed name, the given purposes.
fn form(purposes: &[&str]) -> Value {
    json!({
        "jurisdiction": "IL",
        "collect": true,
        "share": false,
        "notice": {
            "version": "il-2026-01",
            "text": "We collect your face geometry for the purposes listed and keep it as stated.",
            "covers": ["purposes", "retention", "withdrawal"]
        },
        "signature": {"method": "electronic", "typed_name": "Typed By Front Desk"},
        "purpose": purposes.iter().map(|p| json!({"id": p, "retention": "1y"})).collect::<Vec<_>>()
    })
}

/// GET `path` with the Sec-GPC header.
fn get_gpc(path: &str, who: &Who) -> Request<Body> {
    Request::get(path).header(header::COOKIE, &who.cookie).header("sec-gpc", "1").body(Body::empty()).unwrap()
}

async fn upload(live: &Live, who: &Who, subject: &str, purpose: &str) -> String {
    let req = Request::post(format!("/api/subjects/{subject}/scans?purpose={purpose}"))
        .header(header::COOKIE, &who.cookie)
        .header("x-csrf-token", &who.csrf)
        .body(Body::from(small_ply()))
        .unwrap();
    let r = live.send(req).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketing_consent_typed_by_the_front_desk_does_not_let_marketing_read() {
    let f = fixture("consent-forged", |_| ()).await;
    let live = f.serve().await;
    let c = f.c.to_string();
    let (desk, surgeon, marketing) =
        (f.session("front_desk").await, f.session("surgeon").await, f.session("marketing").await);
    let path = format!("/api/subjects/{c}/consent");
    // The front desk's daily work: a consent for care is active at once.
    let r = live.send(post(&path, Some(&desk), &form(&["treatment-planning"]))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["state"], "active", "{}", r.text);
    let scan = upload(&live, &surgeon, &c, "treatment-planning").await;

    // The attack: the front desk types a consent with marketing added.
    let r = live.send(post(&path, Some(&desk), &form(&["treatment-planning", "marketing-images"]))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["state"], "pending", "a staff-typed marketing consent took effect: {}", r.text);
    let consent = r.body["id"].as_str().unwrap().to_owned();
    for read in [
        format!("/api/subjects/{c}?purpose=marketing-images"),
        format!("/api/scans/{scan}/ply?purpose=marketing-images"),
    ] {
        let r = live.send(get(&read, Some(&marketing))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "marketing read {read} on a forged consent: {}", r.text);
    }
    // Care goes on under the consent in force.
    let r = live.send(get(&format!("/api/scans/{scan}?purpose=treatment-planning"), Some(&surgeon))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let shown = live.send(get(&path, Some(&desk))).await;
    assert_eq!(
        (shown.body["id"].as_str(), shown.body["state"].as_str()),
        (Some(consent.as_str()), Some("pending"))
    );

    // Staff cannot confirm it for the patient; the patient can, in the portal.
    let confirm = format!("{path}/{consent}/confirm");
    let r = live.send(post(&confirm, Some(&desk), &json!({}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let pc = f.session("patient-c").await;
    let r = live.send(post(&confirm, Some(&pc), &json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["state"], "active", "{}", r.text);
    let r =
        live.send(get(&format!("/api/scans/{scan}/ply?purpose=marketing-images"), Some(&marketing))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let shown = live.send(get(&path, Some(&desk))).await;
    // The patient is named by their portal account.
    assert_eq!(shown.body["confirmed_by"], f.username("patient-c"), "{}", shown.text);
    assert_eq!(shown.body["confirmation"], "patient", "{}", shown.text);

    let log = f.audit().await;
    assert!(
        log.iter().any(|e| e["action"] == "consent.confirm" && e["decision"] == "allowed"),
        "no confirmation in the audit log"
    );
    assert!(log.iter().any(|e| e["action"] == "consent.confirm" && e["decision"] == "denied"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_withdrawal_a_consent_typed_by_staff_waits_for_the_patient_or_the_signed_form() {
    let f = fixture("consent-rewithdrawn", |_| ()).await;
    let live = f.serve().await;
    let a = f.a.to_string();
    let read = format!("/api/scans/{}/ply?purpose=treatment-planning", f.scan_a);
    let (desk, surgeon, pa) =
        (f.session("front_desk").await, f.session("surgeon").await, f.session("patient-a").await);
    let path = format!("/api/subjects/{a}/consent");
    assert_eq!(live.send(get(&read, Some(&surgeon))).await.status, StatusCode::OK);
    let r = live.send(post(&format!("{path}/withdraw"), Some(&pa), &json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(live.send(get(&read, Some(&surgeon))).await.status, StatusCode::FORBIDDEN);

    // The attack: the front desk records a new consent (for care only) and the surgeon reads.
    let r = live.send(post(&path, Some(&desk), &form(&["treatment-planning"]))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["state"], "pending", "{}", r.text);
    let consent = r.body["id"].as_str().unwrap().to_owned();
    let r = live.send(get(&read, Some(&surgeon))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "the surgeon read after a withdrawal: {}", r.text);

    // Approval is the privacy officer's, with the signed form's SHA-256.
    let approve = format!("{path}/{consent}/approve");
    let sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let r = live.send(post(&approve, Some(&desk), &json!({"form_sha256": sha}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let po = f.session("privacy_officer").await;
    let r = live.send(post(&approve, Some(&po), &json!({"form_sha256": "not a hash"}))).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("form_sha256")),
        "{}",
        r.text
    );
    assert_eq!(live.send(get(&read, Some(&surgeon))).await.status, StatusCode::FORBIDDEN);
    let r = live.send(post(&approve, Some(&po), &json!({"form_sha256": sha}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!((r.body["state"].as_str(), r.body["form_sha256"].as_str()), (Some("active"), Some(sha)));
    assert_eq!(live.send(get(&read, Some(&surgeon))).await.status, StatusCode::OK);
    // Approved once: a second approval is a conflict.
    let r = live.send(post(&approve, Some(&po), &json!({"form_sha256": sha}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);

    let log = f.audit().await;
    let approved = log
        .iter()
        .find(|e| e["action"] == "consent.approve" && e["decision"] == "allowed")
        .expect("no approval in the audit log");
    assert!(approved["reason"].as_str().unwrap().contains(sha), "{approved}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_cannot_lift_an_opt_out_only_the_consumer_can() {
    let f = fixture("optout-lift", |_| ()).await;
    let live = f.serve().await;
    let path = format!("/api/subjects/{}/restrictions", f.a);
    let desk = f.session("front_desk").await;
    let r = live.send(post(&path, Some(&desk), &json!({"restriction": "opt-out"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for user in ["front_desk", "privacy_officer", "admin"] {
        let w = f.session(user).await;
        let r = live.send(post(&path, Some(&w), &json!({"restriction": "opt-out", "lift": true}))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{user} lifted an opt-out: {}", r.text);
        assert!(r.body["message"].as_str().unwrap().contains("1798.135"), "{}", r.text);
    }
    let pa = f.session("patient-a").await;
    let r = live.send(post(&path, Some(&pa), &json!({"restriction": "opt-out", "lift": true}))).await;
    assert_eq!((r.status, r.body["active"].as_bool()), (StatusCode::OK, Some(false)), "{}", r.text);
    let log = f.audit().await;
    let denied = log
        .iter()
        .filter(|e| {
            e["action"] == "restriction.set" && e["decision"] == "denied" && e["purpose"] == "opt-out"
        })
        .count();
    assert_eq!(denied, 3, "the staff attempts are not all in the audit log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn global_privacy_control_on_a_patients_session_is_an_opt_out() {
    let f = fixture("gpc", |_| ()).await;
    let live = f.serve().await;
    let pa = f.session("patient-a").await;
    let consent = format!("/api/subjects/{}/consent", f.a);
    let r = live.send(get_gpc(&consent, &pa)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.headers.get("facevault-gpc").and_then(|v| v.to_str().ok()),
        Some("opt-out-recorded"),
        "GPC not honoured: {:?}",
        r.headers
    );
    // Once: a second signal finds the opt-out on record.
    let r = live.send(get_gpc(&consent, &pa)).await;
    assert_eq!(r.headers.get("facevault-gpc").and_then(|v| v.to_str().ok()), Some("opt-out-on-record"));
    // Staff sending the header opt nobody out.
    let desk = f.session("front_desk").await;
    let r = live.send(get_gpc(&format!("/api/subjects/{}/consent", f.b), &desk)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.headers.get("facevault-gpc").is_none());
    let log = f.audit().await;
    let gpc: Vec<&Value> = log
        .iter()
        .filter(|e| {
            e["action"] == "restriction.set"
                && e["reason"].as_str().is_some_and(|r| r.contains("Global Privacy Control"))
        })
        .collect();
    assert_eq!(gpc.len(), 1, "{gpc:?}");
    assert_eq!(gpc[0]["object"], format!("subject:{}", f.a));
    // The opt-out is the restriction's: staff cannot lift it.
    let path = format!("/api/subjects/{}/restrictions", f.a);
    let r = live.send(post(&path, Some(&desk), &json!({"restriction": "opt-out", "lift": true}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
}
