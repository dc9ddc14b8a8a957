//! Completing data-subject requests over HTTP (`api/completion.rs`): an erasure with its legal
//! hold exception, vendor notices and a signed deletion certificate; a correction; the
//! restrictions; access requests sent to their package; and who may do any of it.

use axum::http::StatusCode;
use facevault_audit::{verify_certificate, DeletionCertificate};
use facevault_policy::Action;
use facevault_vault::testing::default_policy;
use facevault_vault::{Node, Target};
use serde_json::{json, Value};

use crate::common::{self, get, post, send, Fixture, Subjects};

/// Patients A and B in Illinois; A has two scans, B none.
async fn fixture(name: &str) -> Fixture {
    let subjects = Subjects { jurisdiction: "US-IL", b_scanned: false };
    common::fixture(&format!("completion-{name}"), subjects, |_| ()).await
}

/// Opens a request of `kind` about `subject` at the front desk and verifies it (`level`).
async fn verified(f: &Fixture, subject: &str, kind: &str, level: &str) -> String {
    let desk = f.session("front_desk").await;
    let r =
        send(&f.app, post("/api/requests", Some(&desk), &json!({"subject": subject, "kind": kind}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let po = f.session("privacy_officer").await;
    let r =
        send(&f.app, post(&format!("/api/requests/{id}/verify"), Some(&po), &json!({"level": level}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    id
}

async fn complete(f: &Fixture, user: &str, id: &str, body: &Value) -> common::Reply {
    let w = f.session(user).await;
    send(&f.app, post(&format!("/api/requests/{id}/complete"), Some(&w), body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_over_http_waits_for_a_hold_then_shreds_with_a_certificate_and_vendor_notices() {
    let f = fixture("erasure").await;
    let a = f.a.to_string();
    // The lab received A's scan.
    let vault = f.state.app().vault();
    let share =
        vault.grant_for(default_policy(), Action::Share, Target::Node(Node::Scan(f.scan_a))).await.unwrap();
    vault.disclose_scan(&share, f.scan_a, "Lab", Some("lab-3d"), "business-purpose").await.unwrap();
    // A has scans: biometric data, so strong verification.
    let id = verified(&f, &a, "delete", "strong").await;

    // Only the privacy office completes a request.
    for user in ["surgeon", "front_desk", "clinical_staff", "patient-a"] {
        let r = complete(&f, user, &id, &json!({})).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{user}: {}", r.text);
    }
    // A legal hold refuses the erasure (the request is to be denied with its basis) and the
    // scans stay.
    let po = f.session("privacy_officer").await;
    let hold = json!({"kind": "subpoena", "reference": "SUB-1", "reason": "records requested"});
    let r = send(&f.app, post(&format!("/api/subjects/{a}/holds"), Some(&po), &hold)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let r = complete(&f, "privacy_officer", &id, &json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.body["message"].as_str().unwrap().contains("legal hold"), "{}", r.text);
    let surgeon = f.session("surgeon").await;
    let r = send(&f.app, get(&format!("/api/scans/{}", f.scan_a), Some(&surgeon))).await;
    assert_eq!(r.status, StatusCode::OK, "a held subject's scan must stay: {}", r.text);
    let r = send(
        &f.app,
        post(&format!("/api/subjects/{a}/holds/release"), Some(&po), &json!({"reference": "SUB-1"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // Details belong to a correction only.
    let r = complete(&f, "privacy_officer", &id, &json!({"details": {"name": "X"}})).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("details")),
        "{}",
        r.text
    );

    let r = complete(&f, "privacy_officer", &id, &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["outcome"], "erased");
    assert_eq!(r.body["request"]["state"], "completed");
    let erasure = &r.body["erasure"];
    assert_eq!(erasure["scans"], 2, "{}", r.text);
    assert_eq!(erasure["vendor_notices"], json!(["lab-3d"]));
    assert!(erasure["blobs_purged"].as_u64().unwrap() >= 2, "{}", r.text);
    // The certificate verifies offline, is signed by the key of the log's checkpoints, lists
    // the data key and both scans, and was written beside the vault, owner-only.
    let cert: DeletionCertificate = serde_json::from_value(erasure["certificate"].clone()).unwrap();
    let checked = verify_certificate(&cert, None).unwrap();
    assert_eq!(cert.subject, a);
    assert_eq!(cert.rule, format!("request:{id}"));
    for destroyed in [format!("subject-key:{a}"), format!("scan:{}", f.scan_a), format!("scan:{}", f.post_a)]
    {
        assert!(cert.destroyed.iter().any(|d| d.id == destroyed), "{destroyed} not in {:?}", cert.destroyed);
    }
    let r = send(&f.app, get("/api/audit/checkpoint", Some(&po))).await;
    assert_eq!(r.body["verifier"].as_str(), Some(cert.verifier.as_str()), "{} {checked:?}", r.text);
    let file = f.dir.join("certificates").join(format!("{a}-{}.json", cert.entry_index));
    let meta = std::fs::metadata(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777, 0o600);
    let on_disk: DeletionCertificate = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(on_disk, cert);

    // The data is gone; the request is closed; the vendor's notice waits for its confirmation.
    let r = send(&f.app, get(&format!("/api/scans/{}", f.scan_a), Some(&surgeon))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = complete(&f, "privacy_officer", &id, &json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "completed twice: {}", r.text);
    let r = send(&f.app, get(&format!("/api/requests/{id}"), Some(&po))).await;
    assert_eq!(r.body["vendor_notices"][0]["vendor"], "lab-3d", "{}", r.text);
    assert!(r.body["vendor_notices"][0]["confirmed_at"].is_null(), "{}", r.text);
    let confirmed = format!("/api/requests/{id}/vendor-confirmed");
    let r =
        send(&f.app, post(&confirmed, Some(&f.session("surgeon").await), &json!({"vendor": "lab-3d"}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = send(&f.app, post(&confirmed, Some(&po), &json!({"vendor": "nobody"}))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = send(&f.app, post(&confirmed, Some(&po), &json!({"vendor": "lab-3d"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = send(&f.app, get(&format!("/api/requests/{id}"), Some(&po))).await;
    assert!(r.body["vendor_notices"][0]["confirmed_at"].is_string(), "{}", r.text);

    // The audit log holds the refused erasure, the decided delete, the deletion whose entry
    // the certificate carries, the vendor notice and what was kept.
    let log = f.audit().await;
    let has = |action: &str, allowed: bool| {
        log.iter()
            .any(|e| e["action"] == action && e["decision"] == if allowed { "allowed" } else { "denied" })
    };
    assert!(has("request.erasure", false), "the refusal under the hold is not logged");
    assert!(
        has("subject.delete", true) && has("request.erasure", true) && has("request.vendor-notice", true)
    );
    assert!(has("request.erasure-exceptions", true) && has("request.complete", true));
    let deletion = log.iter().find(|e| e["index"] == cert.entry_index).unwrap();
    assert_eq!(deletion["action"], "request.erasure", "{deletion}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrections_and_restrictions_complete_over_http_and_access_requests_are_sent_to_their_package() {
    let f = fixture("others").await;
    let b = f.b.to_string();
    let po = f.session("privacy_officer").await;

    // A correction needs the corrected fields, each non-empty; then they replace the old ones.
    let id = verified(&f, &b, "correct", "standard").await;
    let r = complete(&f, "privacy_officer", &id, &json!({})).await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("details")),
        "{}",
        r.text
    );
    let r = complete(&f, "privacy_officer", &id, &json!({"details": {"name": "  "}})).await;
    assert_eq!((r.status, r.body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("details.name")));
    // The admin may move requests but not read identity: the policy refuses it the correction.
    let fix = json!({"details": {"name": "Patient B Corrected", "contact": "b@example.org"}});
    let r = complete(&f, "admin", &id, &fix).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = complete(&f, "privacy_officer", &id, &fix).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["outcome"], "corrected");
    assert_eq!(r.body["corrected"], json!(["name", "contact"]));
    let r = send(&f.app, get(&format!("/api/subjects/{b}"), Some(&f.session("surgeon").await))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["details"]["name"], "Patient B Corrected");
    assert_eq!(r.body["details"]["contact"], "b@example.org");
    assert_eq!(r.body["details"]["jurisdiction"], "US-IL", "a field left out must stay");
    // The audit log says what was corrected, never the values.
    let text = serde_json::to_string(&f.audit().await).unwrap();
    assert!(text.contains("name, contact corrected"), "{text}");
    assert!(!text.contains("Patient B Corrected") && !text.contains("b@example.org"));

    // Opt-out and limit-use set the restriction for every later decision.
    assert!(f.state.app().vault().governance(f.b).await.unwrap().opt_out.is_none());
    let id = verified(&f, &b, "opt-out", "none").await;
    let r = complete(&f, "privacy_officer", &id, &json!({})).await;
    assert_eq!((r.status, r.body["outcome"].as_str()), (StatusCode::OK, Some("opt-out set")), "{}", r.text);
    assert!(f.state.app().vault().governance(f.b).await.unwrap().opt_out.is_some());
    let id = verified(&f, &b, "limit-use", "none").await;
    let r = complete(&f, "privacy_officer", &id, &json!({})).await;
    assert_eq!((r.status, r.body["outcome"].as_str()), (StatusCode::OK, Some("limit-use set")), "{}", r.text);
    assert!(f.state.app().vault().governance(f.b).await.unwrap().limit_use.is_some());

    // An access request is completed by its package (`package.rs`): /complete says so, and
    // the request stays open.
    let id = verified(&f, &b, "access", "standard").await;
    let r = complete(&f, "privacy_officer", &id, &json!({})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(
        r.body["message"].as_str().unwrap().contains(&format!("/api/requests/{id}/package")),
        "{}",
        r.text
    );
    let r = send(&f.app, get(&format!("/api/requests/{id}"), Some(&po))).await;
    assert_eq!(r.body["open"], true, "{}", r.text);

    // Unknown and malformed ids.
    let r = complete(&f, "privacy_officer", "0123456789abcdef0123456789abcdef", &json!({})).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = complete(&f, "privacy_officer", "nope", &json!({})).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}
