//! The access package over HTTP (`api/package.rs`): a patient downloads their own through the
//! portal, encrypted to a passphrase they chose; the privacy officer completes an access
//! request with a package encrypted to the patient's age key; each opened here with the age
//! crate and read as a tar archive, as a patient's `age -d` and `tar` would.

use std::io::Read as _;

use axum::http::{header, StatusCode};
use serde_json::{json, Value};

use crate::common::{self, post, send, Fixture, Subjects};

/// Patients A and B in Illinois; A has two scans, B none.
async fn fixture(name: &str) -> Fixture {
    let subjects = Subjects { jurisdiction: "US-IL", b_scanned: false };
    common::fixture(&format!("package-{name}"), subjects, |_| ()).await
}

/// The archive's files by path, from the decrypted tar.
fn files(tar: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut archive = tar::Archive::new(tar);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        out.insert(path, bytes);
    }
    out
}

fn decrypt(sealed: &[u8], identity: &dyn age::Identity) -> Vec<u8> {
    let decryptor = age::Decryptor::new(sealed).unwrap();
    let mut reader = decryptor.decrypt(std::iter::once(identity)).unwrap();
    let mut plain = Vec::new();
    reader.read_to_end(&mut plain).unwrap();
    plain
}

fn manifest(files: &std::collections::BTreeMap<String, Vec<u8>>) -> Value {
    serde_json::from_slice(&files["manifest.json"]).unwrap()
}

async fn raw_post(
    f: &Fixture,
    user: &str,
    path: &str,
    body: &Value,
) -> (StatusCode, Vec<u8>, axum::http::HeaderMap) {
    let w = f.session(user).await;
    let r = send(&f.app, post(path, Some(&w), body)).await;
    (r.status, r.text.into_bytes(), r.headers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patient_downloads_their_own_package_encrypted_to_their_passphrase() {
    let f = fixture("patient").await;
    let a = f.a.to_string();
    let path = format!("/api/subjects/{a}/export");
    let passphrase = "correct horse battery staple";

    // Bad bodies name their field; nothing is released.
    for (body, field) in [
        (json!({}), "body"),
        (json!({"passphrase": passphrase, "recipient": "age1x"}), "body"),
        (json!({"passphrase": "short"}), "passphrase"),
        (json!({"recipient": "not-a-key"}), "recipient"),
    ] {
        let w = f.session("patient-a").await;
        let r = send(&f.app, post(&path, Some(&w), &body)).await;
        assert_eq!(
            (r.status, r.body["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{body}: {}",
            r.text
        );
        assert!(!r.text.contains("short"), "the passphrase came back in an error: {}", r.text);
    }
    // Another patient, and roles the policy lets no export, are refused.
    for user in ["patient-b", "front_desk", "clinical_staff", "admin"] {
        let w = f.session(user).await;
        let r = send(&f.app, post(&path, Some(&w), &json!({"passphrase": passphrase}))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{user}: {}", r.text);
    }

    let w = f.session("patient-a").await;
    let res = f.app.clone();
    let req = post(&path, Some(&w), &json!({"passphrase": passphrase}));
    let res = tower::ServiceExt::oneshot(res, req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()[header::CONTENT_TYPE], "application/octet-stream");
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
    let disposition = res.headers()[header::CONTENT_DISPOSITION].to_str().unwrap().to_owned();
    assert!(disposition.contains(&format!("facevault-access-{a}.tar.age")), "{disposition}");
    let sealed = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    assert!(sealed.starts_with(b"age-encryption.org/v1\n"), "not an age file");
    assert!(!sealed.windows(9).any(|w| w == b"Patient A"), "plaintext identity in the package");
    let identity = age::scrypt::Identity::new(passphrase.to_owned().into());
    let files = files(&decrypt(&sealed, &identity));
    let m = manifest(&files);
    assert_eq!(m["format"], "facevault-access-export");
    assert_eq!(m["subject"], a.as_str());
    assert_eq!(m["counts"]["scans"], 2, "{m}");
    for scan in [f.scan_a, f.post_a] {
        let ply = &files[&format!("scans/{scan}.ply")];
        assert!(ply.starts_with(b"ply\n"), "scan {scan} is not a PLY");
    }
    let details: Value = serde_json::from_slice(&files["details.json"]).unwrap();
    assert_eq!(details["name"], "Patient A");
    // The audit entries about A are in it, the refusals of the others included.
    let audit: Value = serde_json::from_slice(&files["audit.json"]).unwrap();
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "subject.export" && e["decision"] == "denied"),
        "{audit}"
    );
    // The export itself is in the log.
    let log = f.audit().await;
    assert!(log.iter().any(|e| e["action"] == "subject.export"
        && e["decision"] == "allowed"
        && e["role"] == "patient"
        && e["object"] == format!("subject:{a}")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_access_request_is_completed_with_a_package_for_the_patients_age_key() {
    let f = fixture("request").await;
    let b = f.b.to_string();
    let desk = f.session("front_desk").await;
    let r = send(&f.app, post("/api/requests", Some(&desk), &json!({"subject": b, "kind": "access"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let key = age::x25519::Identity::generate();
    let body = json!({"recipient": key.to_public().to_string()});
    let path = format!("/api/requests/{id}/package");

    // Not before the identity is verified (the domain's rule), and the privacy office only.
    let (status, text, _) = raw_post(&f, "privacy_officer", &path, &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{}", String::from_utf8_lossy(&text));
    let po = f.session("privacy_officer").await;
    let r =
        send(&f.app, post(&format!("/api/requests/{id}/verify"), Some(&po), &json!({"level": "standard"})))
            .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    for user in ["front_desk", "surgeon", "patient-b"] {
        let (status, _, _) = raw_post(&f, user, &path, &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{user}");
    }
    // The admin moves requests but may not export data: the policy refuses, nothing completes.
    let (status, _, _) = raw_post(&f, "admin", &path, &body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // /complete points to here for an access request.
    let r = send(&f.app, post(&format!("/api/requests/{id}/complete"), Some(&po), &json!({}))).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    assert!(r.body["message"].as_str().unwrap().contains(&path), "{}", r.text);

    let w = f.session("privacy_officer").await;
    let res = tower::ServiceExt::oneshot(f.app.clone(), post(&path, Some(&w), &body)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["x-request-state"], "completed");
    let sealed = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    let files = files(&decrypt(&sealed, &key));
    let m = manifest(&files);
    assert_eq!(m["subject"], b.as_str());
    assert_eq!(m["counts"]["scans"], 0, "{m}");
    // Every file the manifest lists is there with its digest.
    for file in m["files"].as_array().unwrap() {
        let bytes = &files[file["path"].as_str().unwrap()];
        assert_eq!(file["size"].as_u64().unwrap() as usize, bytes.len(), "{file}");
    }
    // Completed once: a second package is refused, and another key cannot open this one.
    let (status, _, _) = raw_post(&f, "privacy_officer", &path, &body).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let other = age::x25519::Identity::generate();
    let decryptor = age::Decryptor::new(&sealed[..]).unwrap();
    assert!(decryptor.decrypt(std::iter::once(&other as &dyn age::Identity)).is_err());
    // A package is only for an access request.
    let r = send(&f.app, post("/api/requests", Some(&desk), &json!({"subject": b, "kind": "opt-out"}))).await;
    let opt_out = r.body["id"].as_str().unwrap().to_owned();
    let (status, text, _) =
        raw_post(&f, "privacy_officer", &format!("/api/requests/{opt_out}/package"), &body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{}", String::from_utf8_lossy(&text));
}
