//! Finding 9: an export's passphrase is the only thing between whoever copies the file and the
//! patient's face; twelve spaces, `aaaaaaaaaaaa` and `123456789012` were accepted. A passphrase
//! is scored (zxcvbn) and refused below the documented score, naming why; nothing is exported.

use axum::http::StatusCode;
use serde_json::json;

use super::fixture;
use crate::common::post;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weak_export_passphrases_are_refused() {
    let f = fixture("passphrases", |_| ()).await;
    let live = f.serve().await;
    let w = f.session("patient-a").await;
    let export = format!("/api/subjects/{}/export?purpose=treatment-planning", f.a);
    let package = format!("/api/requests/{}/package", "0123456789abcdef0123456789abcdef");
    for weak in ["            ", "aaaaaaaaaaaa", "123456789012", "password1234", "qwertyuiopas"] {
        for path in [&export, &package] {
            let r = live.send(post(path, Some(&w), &json!({ "passphrase": weak }))).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{weak:?} on {path}: {}", r.text);
            assert_eq!(r.body["field"], "passphrase", "{}", r.text);
            let message = r.body["message"].as_str().unwrap_or_default();
            assert!(message.contains("too easy to guess"), "{weak:?}: {message}");
            assert!(weak.trim().is_empty() || !message.contains(weak), "the passphrase came back: {message}");
        }
    }
    let r = live.send(post(&export, Some(&w), &json!({"passphrase": "tulip-granite-harbour-violin"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}
