//! The law's access right and the one disclosure path over HTTP (issue 13, findings 14 and
//! 15). Access and portability (GDPR Art. 15/20, CCPA 1798.110/.130, MHMDA .040(1)(a), HIPAA
//! 164.524) do not depend on consent, retention or a limit-use request: the patient's own
//! export and a verified access request completed by the privacy officer both answer with every
//! scan and derivative after a withdrawal, a limit-use request, and a lapsed retention. Every
//! scan leaving the clinic names a registered recipient, is recorded in the accounting of
//! disclosures, and the recipient is sent a notice when the subject is erased.

use std::io::Read as _;

use axum::http::StatusCode;
use facevault_domain::PurposeId;
use facevault_vault::{Restriction, SubjectId};
use serde_json::{json, Value};

use crate::common::{self, get, post, post_empty, send, Fixture, Subjects};

/// Patients A and B in Illinois; A has two scans.
async fn fixture(name: &str) -> Fixture {
    let subjects = Subjects { jurisdiction: "US-IL", b_scanned: true };
    common::fixture(&format!("law-access-{name}"), subjects, |_| ()).await
}

/// The package's manifest, opened with the age identity and read from the tar.
fn manifest(sealed: &[u8], key: &age::x25519::Identity) -> Value {
    let decryptor = age::Decryptor::new(sealed).unwrap();
    let mut reader = decryptor.decrypt(std::iter::once(key as &dyn age::Identity)).unwrap();
    let mut tar = Vec::new();
    reader.read_to_end(&mut tar).unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        if entry.path().unwrap().to_string_lossy() == "manifest.json" {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            return serde_json::from_slice(&bytes).unwrap();
        }
    }
    panic!("no manifest.json in the package");
}

/// POSTs `body` as `user` and returns the status and the raw answer (a package is binary).
async fn post_raw(f: &Fixture, user: &str, path: &str, body: &Value) -> (StatusCode, Vec<u8>) {
    let w = f.session(user).await;
    let res = tower::ServiceExt::oneshot(f.app.clone(), post(path, Some(&w), body)).await.unwrap();
    let status = res.status();
    let bytes = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

/// A surgeon's symmetry analysis of A's first scan: derivatives for the package to carry.
/// Returns how many derivatives A has.
async fn analysed(f: &Fixture) -> usize {
    let w = f.session("surgeon").await;
    let path = format!("/api/scans/{}/symmetry?purpose=treatment-planning", f.scan_a);
    let r = send(&f.app, post_empty(&path, &w)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let n = f.descendants(f.scan_a).await.len();
    assert!(n >= 1, "the analysis stored no derivative");
    n
}

/// What happened to A's consent or governance before the access.
#[derive(Clone, Copy, Debug)]
enum After {
    Withdrawal,
    LimitUse,
    RetentionLapsed,
}

async fn apply(f: &Fixture, after: After) {
    let vault = f.state.app().vault();
    match after {
        After::Withdrawal => {
            vault.withdraw_consent(f.a).await.unwrap();
        }
        After::LimitUse => {
            vault.set_restriction(f.a, Restriction::LimitUse, true).await.unwrap();
        }
        After::RetentionLapsed => {
            // Every purpose consented to was satisfied yesterday: all of A is past retention.
            let yesterday = chrono::Utc::now().date_naive() - chrono::Days::new(1);
            let consent = vault.consent(f.a).await.unwrap().unwrap();
            let purposes: Vec<PurposeId> =
                consent.record.consent().purposes().iter().map(|(p, _)| p.id.clone()).collect();
            for p in purposes {
                vault.mark_satisfied(f.a, &p, yesterday).await.unwrap();
            }
        }
    }
}

/// The surgeon is refused (the restriction is real), yet the patient's own export and the
/// privacy officer's package of a verified access request both carry every scan and
/// derivative.
async fn access_survives(after: After) {
    let f = fixture(&format!("{after:?}").to_lowercase()).await;
    let derivatives = analysed(&f).await;
    apply(&f, after).await;
    // For a purpose beyond care, so a limit-use request is tested too.
    let purpose = "research";
    let surgeon = f.session("surgeon").await;
    let r = send(&f.app, get(&format!("/api/scans/{}?purpose={purpose}", f.scan_a), Some(&surgeon))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{after:?}: the surgeon still reads: {}", r.text);

    let a = f.a.to_string();
    let key = age::x25519::Identity::generate();
    let body = json!({"recipient": key.to_public().to_string()});
    let (status, sealed) =
        post_raw(&f, "patient-a", &format!("/api/subjects/{a}/export?purpose={purpose}"), &body).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{after:?}: the patient's own export: {}",
        String::from_utf8_lossy(&sealed)
    );
    let m = manifest(&sealed, &key);
    assert_eq!(
        (m["counts"]["scans"].as_u64(), m["counts"]["derivatives"].as_u64()),
        (Some(2), Some(derivatives as u64)),
        "{after:?}: {m}"
    );

    // Another patient still may not.
    let (status, _) = post_raw(&f, "patient-b", &format!("/api/subjects/{a}/export"), &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{after:?}: patient B exported A");
    // Nor may the privacy officer outside a verified request: export outside the right of
    // access is still decided on consent, retention and restrictions.
    if matches!(after, After::Withdrawal) {
        let (status, _) = post_raw(&f, "privacy_officer", &format!("/api/subjects/{a}/export"), &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "the privacy officer exported without a request");
    }

    let desk = f.session("front_desk").await;
    let r = send(&f.app, post("/api/requests", Some(&desk), &json!({"subject": a, "kind": "access"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let po = f.session("privacy_officer").await;
    let r = send(&f.app, post(&format!("/api/requests/{id}/verify"), Some(&po), &json!({"level": "strong"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let (status, sealed) =
        post_raw(&f, "privacy_officer", &format!("/api/requests/{id}/package"), &body).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{after:?}: the verified access request: {}",
        String::from_utf8_lossy(&sealed)
    );
    let m = manifest(&sealed, &key);
    assert_eq!(
        (m["counts"]["scans"].as_u64(), m["counts"]["derivatives"].as_u64()),
        (Some(2), Some(derivatives as u64)),
        "{after:?}: {m}"
    );
    // The log says on what basis.
    let log = f.audit().await;
    assert!(
        log.iter().any(|e| e["action"] == "subject.export"
            && e["decision"] == "allowed"
            && e["role"] == "privacy_officer"
            && e["reason"].as_str().unwrap_or("").contains("right of access")),
        "no allowed export on the right of access in the log"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_after_withdrawal_answers_with_every_scan_and_derivative() {
    access_survives(After::Withdrawal).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_after_limit_use_answers_with_every_scan_and_derivative() {
    access_survives(After::LimitUse).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_after_retention_lapsed_answers_with_every_scan_and_derivative() {
    access_survives(After::RetentionLapsed).await;
}

/// A referring clinic, registered as a provider (a treatment disclosure needs no contract).
const PROVIDER: &str = "[[vendor]]\nid = \"rivera-referral\"\nname = \"Dr Rivera Facial Clinic\"\n\
role = \"provider\"\npurposes = [\"treatment-planning\", \"post-op-tracking\"]\n\
categories = [\"face-scan\"]\nregion = \"US-IL\"\n";

async fn export_to(
    f: &Fixture,
    user: &str,
    scan: impl std::fmt::Display,
    body: &Value,
) -> (StatusCode, Vec<u8>) {
    post_raw(f, user, &format!("/api/scans/{scan}/export"), body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_leaves_only_to_a_registered_recipient_recorded_and_told_of_erasure() {
    let f = fixture("recipient").await;
    f.write("vendors.toml", PROVIDER);
    let a: SubjectId = f.a;
    let body = |to: &str| json!({"recipient": to, "purpose": "treatment-planning"});

    // A free-text recipient is refused, naming why and how to register one; nothing recorded.
    let (status, text) = export_to(&f, "surgeon", f.scan_a, &body("Dr. Anyone, anywhere")).await;
    let r: Value = serde_json::from_slice(&text).unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::BAD_REQUEST, "{}", String::from_utf8_lossy(&text));
    assert_eq!(r["field"], "recipient", "{r}");
    let msg = r["message"].as_str().unwrap_or_default();
    assert!(msg.contains("not registered") && msg.contains("vendor add"), "{msg}");
    let surgeon = f.session("surgeon").await;
    let listed = send(&f.app, get(&format!("/api/subjects/{a}/disclosures"), Some(&surgeon))).await;
    assert_eq!(listed.body.as_array().map(Vec::len), Some(0), "{}", listed.text);
    // A malformed id is a 400 naming it.
    let (status, _) = export_to(&f, "surgeon", "not-an-id", &body("rivera-referral")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A role with no export permit is refused by the policy.
    let (status, _) = export_to(&f, "front_desk", f.scan_a, &body("rivera-referral")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The registered provider receives it for treatment, recorded before the bytes leave.
    let (status, ply) = export_to(&f, "surgeon", f.scan_a, &body("rivera-referral")).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&ply));
    assert!(ply.starts_with(b"ply\n"), "not a PLY");
    // But not for research: a provider's basis is the patient's treatment.
    let (status, text) =
        export_to(&f, "surgeon", f.scan_a, &json!({"recipient": "rivera-referral", "purpose": "research"}))
            .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{}", String::from_utf8_lossy(&text));
    let listed = send(&f.app, get(&format!("/api/subjects/{a}/disclosures"), Some(&surgeon))).await;
    let rows = listed.body.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", listed.text);
    assert_eq!(rows[0]["recipient"], "rivera-referral", "{}", listed.text);
    assert_eq!(rows[0]["purpose"], "treatment-planning", "{}", listed.text);

    // The erasure's notices list it.
    let desk = f.session("front_desk").await;
    let r = send(
        &f.app,
        post("/api/requests", Some(&desk), &json!({"subject": a.to_string(), "kind": "delete"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let po = f.session("privacy_officer").await;
    let r = send(&f.app, post(&format!("/api/requests/{id}/verify"), Some(&po), &json!({"level": "strong"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = send(&f.app, post(&format!("/api/requests/{id}/complete"), Some(&po), &json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let notices: Vec<&str> =
        r.body["erasure"]["vendor_notices"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(notices, ["rivera-referral"], "{}", r.text);

    // After the erasure, an access request is still answered: with what is kept (the
    // disclosure records and the audit entries), not a 404.
    let r = send(
        &f.app,
        post("/api/requests", Some(&desk), &json!({"subject": a.to_string(), "kind": "access"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r =
        send(&f.app, post(&format!("/api/requests/{id}/verify"), Some(&po), &json!({"level": "standard"})))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let key = age::x25519::Identity::generate();
    let body = json!({"recipient": key.to_public().to_string()});
    let (status, sealed) =
        post_raw(&f, "privacy_officer", &format!("/api/requests/{id}/package"), &body).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&sealed));
    let m = manifest(&sealed, &key);
    assert_eq!(
        (m["counts"]["scans"].as_u64(), m["counts"]["disclosures"].as_u64()),
        (Some(0), Some(1)),
        "{m}"
    );
    assert!(m["counts"]["audit_entries"].as_u64().unwrap_or(0) > 0, "{m}");
}
