//! Attacks through real HTTP against a running server (the connection loop of `facevault
//! serve` on a TCP port, not `oneshot`): one test or more per finding of the security review
//! (issue 13), each named after what it attacks. Each failed on the code before the fix.

mod invitations;
mod tokens;

use axum::http::StatusCode;

mod audit_gaps;
mod consents;
mod login;

use crate::common::{self, get, Fixture, Subjects};

mod requests;

/// Patients A and B in Illinois, each with a scan.
pub(crate) async fn fixture(name: &str, tweak: impl FnOnce(&mut facevault_server::Config)) -> Fixture {
    let subjects = Subjects { jurisdiction: "US-IL", b_scanned: true };
    common::fixture(&format!("attack-{name}"), subjects, tweak).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_server_answers_over_tcp() {
    let f = fixture("live", |_| ()).await;
    let live = f.serve().await;
    let r = live.send(get("/health", None)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let surgeon = f.login("surgeon").await;
    let r = live.send(get("/api/subjects", Some(&surgeon))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body.as_array().map(Vec::len), Some(3), "{}", r.text);
}

mod passphrases;
mod transport;
