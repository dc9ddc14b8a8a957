//! The privacy office's endpoints (`api/governance.rs`) in process (`oneshot`) over a real vault
//! (SQLite, blob files, the SQL audit log in a temporary directory): data-subject requests and
//! their moves, the vendor registry read from `vendors.toml`, disclosures, the generated
//! documents and the posture report; who is refused and who is let through, per endpoint.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::common::{self, example, get, post, send, Fixture, Subjects, USERS};

/// Patients A and B in Illinois; A has a scan (a request about them involves biometric data), B
/// has none.
async fn fixture(name: &str) -> Fixture {
    let subjects = Subjects { jurisdiction: "US-IL", b_scanned: false };
    common::fixture(&format!("governance-{name}"), subjects, |_| ()).await
}

const COMPLIANCE: &[&str] = &["privacy_officer", "admin"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_opened_by_the_front_desk_and_the_patient_for_themself_only() {
    let f = fixture("open").await;
    let who = f.everyone().await;
    let (a, b) = (f.a, f.b);

    // Opening: the front desk, the privacy office, and a patient for their own subject.
    let mut wrong = String::new();
    for (user, kind) in [
        ("front_desk", "access"),
        ("privacy_officer", "opt-out"),
        ("admin", "limit-use"),
        ("patient-a", "delete"),
        ("surgeon", "correct"),
        ("clinical_staff", "correct"),
        ("marketing", "correct"),
        ("vendor", "correct"),
        ("patient-b", "correct"),
    ] {
        let r = send(
            &f.app,
            post("/api/requests", Some(&who[user]), &json!({"subject": a.to_string(), "kind": kind})),
        )
        .await;
        let want = if user == "patient-b" || kind == "correct" {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::CREATED
        };
        if r.status != want {
            wrong.push_str(&format!("open {kind} for A as {user}: {} (want {want}) {}\n", r.status, r.text));
        }
    }
    assert!(wrong.is_empty(), "{wrong}");
    // Patient A may not open one for patient B.
    let r = send(
        &f.app,
        post("/api/requests", Some(&who["patient-a"]), &json!({"subject": b.to_string(), "kind": "access"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert_eq!(r.body["code"], "forbidden");
    // Patient B for themself: no scans, so no biometric data and standard verification.
    let r = send(
        &f.app,
        post(
            "/api/requests",
            Some(&who["patient-b"]),
            &json!({"subject": b.to_string(), "kind": "access", "law": "ccpa"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["subject"], b.to_string());
    assert_eq!(r.body["law"], "CCPA");
    assert_eq!(r.body["state"], "received");
    assert_eq!(r.body["required_verification"], "standard");
    assert!(r.body["acknowledge_by"].is_string(), "{}", r.body);
    assert_eq!(r.body["overdue"], false);

    // Subject A's scan makes a request about them need strong verification.
    let all = send(&f.app, get("/api/requests", Some(&who["privacy_officer"]))).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    let rows = all.body.as_array().unwrap();
    assert_eq!(rows.len(), 5, "{}", all.text);
    let access_a = rows.iter().find(|r| r["subject"] == a.to_string() && r["kind"] == "access").unwrap();
    assert_eq!(access_a["required_verification"], "strong");

    // The CLI's duplicate rule: a second open access request for A is refused naming the first.
    let again = json!({"subject": a.to_string(), "kind": "access"});
    let r = send(&f.app, post("/api/requests", Some(&who["front_desk"]), &again)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.body["message"].as_str().unwrap().contains(access_a["id"].as_str().unwrap()), "{}", r.text);
    let mut forced = again.clone();
    forced["allow_duplicate"] = json!(true);
    let r = send(&f.app, post("/api/requests", Some(&who["front_desk"]), &forced)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);

    // An agent's request records the agent, with no authority shown yet.
    let r = send(
        &f.app,
        post(
            "/api/requests",
            Some(&who["front_desk"]),
            &json!({"subject": b.to_string(), "kind": "delete", "agent": "agent-7"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["agent"], json!({"id": "agent-7", "proof_of_authority": false}));

    // Bad input names the field; an unknown subject is a 404; no login is a 401.
    for (body, field) in [
        (json!({"subject": a.to_string(), "kind": "erase"}), "kind"),
        (json!({"subject": a.to_string(), "kind": "access", "law": "hippa"}), "law"),
        (json!({"subject": a.to_string(), "kind": "access", "received": "yesterday"}), "received"),
        (json!({"subject": "nope", "kind": "access"}), "subject"),
    ] {
        let r = send(&f.app, post("/api/requests", Some(&who["privacy_officer"]), &body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {}", r.text);
        assert_eq!(r.body["field"], field, "{}", r.text);
    }
    let ghost = "0123456789abcdef0123456789abcdef";
    let r = send(
        &f.app,
        post("/api/requests", Some(&who["front_desk"]), &json!({"subject": ghost, "kind": "access"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = send(&f.app, get("/api/requests", None)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    // The refusal of patient A's attempt on B is in the audit log.
    let denied = send(
        &f.app,
        get(
            &format!("/api/audit/entries?denied=true&limit=1000&object=subject:{b}"),
            Some(&who["privacy_officer"]),
        ),
    )
    .await
    .body;
    assert!(
        denied
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "request.open" && e["actor"] == f.username("patient-a").as_str()),
        "{denied}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_read_and_moved_by_the_privacy_office_only() {
    let f = fixture("moves").await;
    let who = f.everyone().await;
    let b = f.b;
    let open = |kind: &str, law: &str| json!({"subject": b.to_string(), "kind": kind, "law": law});
    let r = send(&f.app, post("/api/requests", Some(&who["front_desk"]), &open("access", "CCPA"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();

    f.check_reads(&who, "/api/requests", COMPLIANCE).await;
    f.check_reads(&who, &format!("/api/requests/{id}"), COMPLIANCE).await;
    let po = &who["privacy_officer"];
    let r = send(&f.app, get("/api/requests/0123456789abcdef0123456789abcdef", Some(po))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = send(&f.app, get("/api/requests/not-an-id", Some(po))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);

    // Every move is the privacy office's: the front desk and the patient are refused.
    for user in ["front_desk", "surgeon", "patient-b"] {
        let r = send(
            &f.app,
            post(&format!("/api/requests/{id}/verify"), Some(&who[user]), &json!({"level": "standard"})),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "verify as {user}: {}", r.text);
        let r = send(&f.app, post(&format!("/api/requests/{id}/cancel"), Some(&who[user]), &json!({}))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "cancel as {user}: {}", r.text);
    }
    // An access request needs verification before work starts: the domain refuses, 409.
    let r = send(&f.app, post(&format!("/api/requests/{id}/start"), Some(po), &json!({}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r =
        send(&f.app, post(&format!("/api/requests/{id}/verify"), Some(po), &json!({"level": "loud"}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body["field"], "level");
    let r =
        send(&f.app, post(&format!("/api/requests/{id}/verify"), Some(po), &json!({"level": "standard"})))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["state"], "in progress");
    assert_eq!(r.body["verified"], "standard");
    let r = send(&f.app, post(&format!("/api/requests/{id}/verify"), Some(po), &json!({"level": "strong"})))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "verified twice: {}", r.text);
    // The one extension, with its reason; a second is refused.
    let r = send(
        &f.app,
        post(&format!("/api/requests/{id}/extend"), Some(po), &json!({"reason": "large archive"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["state"], "extended");
    let r = send(&f.app, post(&format!("/api/requests/{id}/extend"), Some(po), &json!({"reason": "again"})))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    // Denial needs a reason and a basis; then the request is closed.
    let r = send(
        &f.app,
        post(&format!("/api/requests/{id}/deny"), Some(po), &json!({"reason": "", "basis": "x"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.body["field"], "reason");
    let r = send(
        &f.app,
        post(
            &format!("/api/requests/{id}/deny"),
            Some(po),
            &json!({"reason": "no such records", "basis": "Cal. Civ. Code 1798.145"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["state"], "denied");
    assert_eq!(r.body["open"], false);
    let r = send(&f.app, post(&format!("/api/requests/{id}/cancel"), Some(po), &json!({}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "a closed request cannot be canceled: {}", r.text);

    // The history is kept and shown.
    let r = send(&f.app, get(&format!("/api/requests/{id}"), Some(&who["admin"]))).await;
    assert_eq!(r.status, StatusCode::OK);
    let changes: Vec<&str> =
        r.body["events"].as_array().unwrap().iter().map(|e| e["change"].as_str().unwrap()).collect();
    assert_eq!(changes.len(), 5, "{changes:?}");
    assert!(changes[0].starts_with("received access under CCPA"), "{changes:?}");

    // An agent's request cannot be verified until the agent's authority is recorded.
    let r = send(
        &f.app,
        post(
            "/api/requests",
            Some(&who["front_desk"]),
            &json!({"subject": b.to_string(), "kind": "access", "agent": "agent-9", "allow_duplicate": true}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let agent_req = r.body["id"].as_str().unwrap().to_owned();
    let verify = json!({"level": "standard"});
    let r = send(&f.app, post(&format!("/api/requests/{agent_req}/verify"), Some(po), &verify)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = send(
        &f.app,
        post(
            &format!("/api/requests/{agent_req}/agent-authority"),
            Some(po),
            &json!({"evidence_sha256": "ab".repeat(32)}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["agent"]["proof_of_authority"], true);
    let r = send(&f.app, post(&format!("/api/requests/{agent_req}/verify"), Some(po), &verify)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["state"], "in progress");
    let r = send(&f.app, post(&format!("/api/requests/{agent_req}/cancel"), Some(&who["admin"]), &json!({})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["state"], "canceled");

    // A request received long ago is overdue, and the filter finds only it.
    let r = send(
        &f.app,
        post(
            "/api/requests",
            Some(&who["front_desk"]),
            &json!({"subject": f.a.to_string(), "kind": "limit-use", "law": "CCPA", "received": month_ago(), "received_reason": "letter received a month ago"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let late = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["overdue"], true, "{}", r.text);
    let r = send(&f.app, get("/api/requests?overdue=true", Some(po))).await;
    let ids: Vec<&str> = r.body.as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec![late.as_str()], "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendors_disclosures_documents_and_posture_are_gated_by_role() {
    let f = fixture("registry").await;
    let who = f.everyone().await;
    let (a, b) = (f.a, f.b);
    let po = &who["privacy_officer"];

    // No vendors.toml: an empty registry.
    let r = send(&f.app, get("/api/vendors", Some(po))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body, json!([]));
    // The registry as `facevault vendor add docs/examples/vendors.toml` leaves it, plus a vendor
    // whose contract lacks its terms.
    let lacking =
        "\n[[vendor]]\nid = \"cloud-render\"\nname = \"Render Farm\"\nrole = \"service-provider\"\n\
                   purposes = [\"treatment-planning\"]\ncategories = [\"images\"]\nregion = \"EU\"\n";
    f.write("vendors.toml", &format!("{}{lacking}", example("vendors.toml")));
    f.check_reads(&who, "/api/vendors", COMPLIANCE).await;
    let r = send(&f.app, get("/api/vendors", Some(&who["admin"]))).await;
    let vendors = r.body.as_array().unwrap();
    let ids: Vec<&str> = vendors.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["cloud-render", "lab-3d", "photo-agency"], "{}", r.text);
    assert_eq!(vendors[1]["role"], "service-provider");
    assert_eq!(vendors[1]["purposes"], json!(["treatment-planning"]));
    assert_eq!(vendors[1]["missing_terms"], json!([]), "{}", r.text);
    assert_eq!(vendors[2]["role"], "third-party");
    assert!(!vendors[0]["missing_terms"].as_array().unwrap().is_empty(), "{}", r.text);

    // Disclosures: care roles and the patient themself.
    let path = format!("/api/subjects/{a}/disclosures");
    f.check_reads(
        &who,
        &path,
        &["surgeon", "clinical_staff", "front_desk", "privacy_officer", "admin", "patient-a"],
    )
    .await;
    let r = send(&f.app, get(&path, Some(&who["patient-a"]))).await;
    assert_eq!(r.body, json!([]));
    let r = send(&f.app, get(&format!("/api/subjects/{b}/disclosures"), Some(&who["patient-a"]))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(&f.app, get("/api/subjects/0123456789abcdef0123456789abcdef/disclosures", Some(po))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // Documents need clinic.toml.
    let r = send(&f.app, get("/api/documents/retention-schedule", Some(po))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    f.write("clinic.toml", &example("clinic.toml"));
    let everybody: Vec<&str> = USERS.to_vec();
    f.check_reads(&who, "/api/documents/retention-schedule", &everybody).await;
    f.check_reads(&who, "/api/documents/consent-notices?format=html", &everybody).await;
    f.check_reads(&who, "/api/documents/record-of-processing", COMPLIANCE).await;
    let doc = |name: &str, format: &str, user: &str| {
        send(&f.app, get(&format!("/api/documents/{name}?format={format}"), Some(&who[user])))
    };
    let r = doc("retention-schedule", "md", "patient-a").await;
    assert!(r.content_type.starts_with("text/markdown"), "{}", r.content_type);
    assert!(r.text.contains("Example Facial Plastic Surgery"), "{}", r.text);
    let r = doc("consent-notices", "html", "surgeon").await;
    assert!(r.content_type.starts_with("text/html"), "{}", r.content_type);
    assert!(r.text.contains("</"), "{}", r.text);
    let r = doc("record-of-processing", "json", "admin").await;
    assert_eq!(r.content_type, "application/json");
    assert_eq!(r.body["controller"]["name"], "Example Facial Plastic Surgery", "{}", r.text);
    assert!(r.text.contains("lab-3d"), "the vendors are the recipients: {}", r.text);
    let r = doc("record-of-processing", "pdf", "admin").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = doc("secrets", "md", "admin").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // The posture report: the privacy office only; it sees the vendor missing terms and an
    // overdue request.
    let r = send(
        &f.app,
        post(
            "/api/requests",
            Some(&who["front_desk"]),
            &json!({"subject": f.a.to_string(), "kind": "opt-out", "law": "CCPA", "received": month_ago(), "received_reason": "letter received a month ago"}),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let late_id = r.body["id"].as_str().unwrap().to_owned();
    f.check_reads(&who, "/api/posture", COMPLIANCE).await;
    let r = send(&f.app, get("/api/posture", Some(po))).await;
    let findings = r.body["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 8, "{}", r.text);
    let records = |category: &str| {
        findings.iter().find(|x| x["category"] == category).unwrap()["records"].as_array().unwrap().clone()
    };
    let gaps = records("vendor-missing-terms");
    assert_eq!(gaps.len(), 1, "{}", r.text);
    assert!(gaps[0].to_string().contains("cloud-render"), "{}", r.text);
    let late = records("overdue-requests");
    assert!(!late.is_empty() && late.iter().all(|x| x.to_string().contains(&late_id)), "{}", r.text);
    assert!(r.body["summary"]["findings_with_records"].as_u64().unwrap() >= 2, "{}", r.text);
    let r = send(&f.app, get("/api/posture?at=2026-13-40", Some(po))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // The clinic's criteria come from posture.toml.
    f.write("posture.toml", "acceptable-score = 20\n");
    let r = send(&f.app, get("/api/posture", Some(po))).await;
    assert_eq!(r.body["criteria"]["acceptable-score"], 20, "{}", r.text);

    // A broken vendors.toml is the server's configuration problem: a generic 500, logged.
    f.write("vendors.toml", "[[vendor]]\nid = 3\n");
    let r = send(&f.app, get("/api/vendors", Some(po))).await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text);
    assert!(!r.text.contains("vendors.toml"), "no file path to the client: {}", r.text);
}

#[tokio::test]
async fn the_openapi_document_lists_the_governance_endpoints() {
    let doc = serde_json::to_value(facevault_server::openapi()).unwrap();
    for path in [
        "/api/requests",
        "/api/requests/{id}",
        "/api/requests/{id}/verify",
        "/api/requests/{id}/deny",
        "/api/requests/{id}/complete",
        "/api/requests/{id}/vendor-confirmed",
        "/api/requests/{id}/backups-purged",
        "/api/vendors",
        "/api/subjects/{id}/disclosures",
        "/api/documents/{name}",
        "/api/posture",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    let open = &doc["paths"]["/api/requests"]["post"]["responses"];
    for status in ["201", "400", "401", "403", "404", "409", "413", "415"] {
        assert!(open[status].is_object(), "POST /api/requests lacks {status}");
    }
}

/// Thirty days ago, RFC 3339: a staff-backdated receipt within A's life (A's scans were
/// captured on 2026-11-01 in the fixture).
fn month_ago() -> String {
    (chrono::Utc::now() - chrono::TimeDelta::days(30)).to_rfc3339()
}

/// The latest day before today whose 30th day after is a Saturday (within A's life).
fn received_for_a_saturday_deadline() -> chrono::NaiveDate {
    use chrono::Datelike;
    let today = chrono::Utc::now().date_naive();
    (1..=7)
        .map(|n| today - chrono::TimeDelta::days(n))
        .find(|d| (*d + chrono::TimeDelta::days(30)).weekday() == chrono::Weekday::Sat)
        .unwrap()
}

#[tokio::test]
async fn hipaa_access_is_answered_in_30_calendar_days_plus_30_once() {
    let f = fixture("hipaa").await;
    let desk = f.session("front_desk").await;
    let day = received_for_a_saturday_deadline();
    let body = json!({"subject": f.a.to_string(), "kind": "access", "law": "HIPAA",
        "received": format!("{day}T16:00:00Z"), "received_reason": "letter received that day"});
    let r = send(&f.app, post("/api/requests", Some(&desk), &body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["law"], "HIPAA");
    // Calendar days: the 30th falls on a Saturday and stays there (45 CFR 164.524(b)(2)).
    let due = day + chrono::TimeDelta::days(30);
    assert_eq!(r.body["respond_by"], due.to_string(), "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let po = f.session("privacy_officer").await;
    let r = send(
        &f.app,
        post(&format!("/api/requests/{id}/extend"), Some(&po), &json!({"reason": "records offsite"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["respond_by"], (due + chrono::TimeDelta::days(30)).to_string(), "{}", r.text);
    let r = send(&f.app, post(&format!("/api/requests/{id}/extend"), Some(&po), &json!({"reason": "again"})))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
}

#[tokio::test]
async fn acknowledging_a_request_ends_its_acknowledgement_deadline() {
    let f = fixture("acknowledge").await;
    let desk = f.session("front_desk").await;
    let body = json!({"subject": f.a.to_string(), "kind": "access", "law": "CCPA",
        "received": month_ago(), "received_reason": "letter received a month ago"});
    let r = send(&f.app, post("/api/requests", Some(&desk), &body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let late = |v: &Value| -> Vec<String> {
        v["overdue_obligations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["obligation"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(late(&r.body), ["acknowledge"], "{}", r.text);
    let path = format!("/api/requests/{id}/acknowledge");
    let r = send(&f.app, post(&path, Some(&desk), &json!({}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let po = f.session("privacy_officer").await;
    let r = send(&f.app, post(&path, Some(&po), &json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(late(&r.body).is_empty(), "{}", r.text);
    assert_eq!(r.body["overdue"], false);
    let r = send(&f.app, post(&path, Some(&po), &json!({}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = send(&f.app, post("/api/requests/nope/acknowledge", Some(&po), &json!({}))).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let audit = f.audit().await;
    assert!(
        audit.iter().any(|e| e["action"] == "request.acknowledge" && e["object"] == format!("request:{id}")),
        "no request.acknowledge entry"
    );
}

/// BIPA 15(a) lets only a warrant or subpoena delay destruction: a litigation hold on an
/// Illinois subject still suspends it, but its answer and the posture report flag it as outside
/// the statute, for counsel.
#[tokio::test]
async fn a_litigation_hold_on_an_illinois_subject_is_flagged_outside_bipa() {
    let f = fixture("holds").await;
    let po = f.session("privacy_officer").await;
    let hold = |kind: &str, reference: &str| json!({"kind": kind, "reference": reference, "reason": "records requested"});
    // A's consent, taken under Illinois law (the law whose rules on holds apply).
    let desk = f.session("front_desk").await;
    let il = json!({
        "jurisdiction": "IL", "collect": true, "share": false,
        "notice": {"version": "il-2026-01",
                   "text": "We collect your face geometry for treatment planning and keep it 3 years.",
                   "covers": ["purposes", "retention", "withdrawal"]},
        "purpose": [{"id": "treatment-planning", "retention": "3y"}],
        "signature": {"method": "electronic", "typed_name": "A. Patient"}
    });
    let r = send(&f.app, post(&format!("/api/subjects/{}/consent", f.a), Some(&desk), &il)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let path = format!("/api/subjects/{}/holds", f.a);
    let r = send(&f.app, post(&path, Some(&po), &hold("subpoena", "SUB-1"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert!(r.body.get("outside_statute").is_none(), "{}", r.text);
    let r = send(&f.app, post(&path, Some(&po), &hold("litigation", "LIT-1"))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let why = r.body["outside_statute"].as_str().unwrap_or_else(|| panic!("not flagged: {}", r.text));
    assert!(why.contains("BIPA 740 ILCS 14/15(a)") && why.contains("suspended"), "{why}");
    // Destruction is suspended all the same.
    let r = send(&f.app, get("/api/retention/plan?at=2099-01-01", Some(&po))).await;
    let plan = r.body.as_array().unwrap().iter().find(|p| p["subject"] == f.a.to_string()).unwrap().clone();
    let destructions = plan["destructions"].as_array().unwrap();
    assert!(!destructions.is_empty() && destructions.iter().all(|d| !d["suspended_by"].is_null()), "{plan}");
    let r = send(&f.app, get("/api/posture", Some(&po))).await;
    let finding = r.body["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["category"] == "hold-outside-statute")
        .unwrap_or_else(|| panic!("no hold-outside-statute finding: {}", r.text))
        .clone();
    let records = finding["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{finding}");
    let detail = records[0]["detail"].as_str().unwrap();
    assert!(detail.contains("litigation hold") && detail.contains("BIPA 740 ILCS 14/15(a)"), "{detail}");
    assert!(!detail.contains("LIT-1"), "the docket itself is never in the report: {detail}");
    let audit = f.audit().await;
    assert!(
        audit
            .iter()
            .any(|e| e["action"] == "hold.place"
                && e["reason"].as_str().unwrap().contains("outside the statute")),
        "the audit entry says so"
    );
}
