//! Logging in (findings 6, 10 and 13 of the review): the lockout race, the password oracle of
//! the second factor, staff locked out by anyone, and sessions never swept nor capped.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use axum::http::{Method, StatusCode};
use facevault_app::accounts::totp_now;
use facevault_vault::AccountStore;
use serde_json::json;

use super::fixture;
use crate::common::{get, json_req, password, Live, Reply};

/// A value of the server's `/metrics`.
pub(crate) async fn metric(live: &Live, name: &str) -> f64 {
    let r = live.send(get("/metrics", None)).await;
    r.text
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("/metrics has no {name}:\n{}", r.text))
}

/// A login from `from` (127.0.0.1 when `None`).
async fn login_from(live: &Live, from: Option<[u8; 4]>, user: &str, pw: &str, totp: Option<String>) -> Reply {
    let body = json!({"username": user, "password": pw, "totp": totp});
    let from = from.map(|ip| IpAddr::V4(Ipv4Addr::from(ip)));
    live.send_from(from, json_req(Method::POST, "/api/login", None, &body)).await
}

fn code(r: &Reply) -> (StatusCode, &str) {
    (r.status, r.body["code"].as_str().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_parallel_wrong_passwords_run_at_most_the_allowed_verifications() {
    let f = fixture("parallel-guesses", |_| ()).await;
    let live = f.serve().await;
    let before = metric(&live, "facevault_password_verifications_total").await;
    let guesses = (0..30).map(|i| {
        let live = &live;
        async move { login_from(live, None, "surgeon", &format!("guess-{i}"), None).await }
    });
    let replies = futures_util::future::join_all(guesses).await;
    let verified = metric(&live, "facevault_password_verifications_total").await - before;
    assert!(replies.iter().all(|r| r.status != StatusCode::OK));
    let allowed = f64::from(f.state.config().login_max_failures);
    assert!(verified <= allowed, "{verified} passwords verified for 30 parallel guesses (limit {allowed})");
    // The second factor is reserved the same way: parallel wrong codes with the right password.
    let before = metric(&live, "facevault_totp_verifications_total").await;
    let pw = password("admin");
    let guesses = (0..30).map(|i| {
        let (live, pw) = (&live, pw.clone());
        let code = Some(format!("{:06}", i * 7919 % 1_000_000));
        async move { login_from(live, Some([127, 0, 0, 2]), "admin", &pw, code).await }
    });
    futures_util::future::join_all(guesses).await;
    let codes = metric(&live, "facevault_totp_verifications_total").await - before;
    assert!(codes <= allowed, "{codes} codes verified for 30 parallel guesses (limit {allowed})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_right_password_without_its_code_says_nothing_and_counts() {
    let f = fixture("totp-oracle", |c| c.login_max_failures = 3).await;
    let live = f.serve().await;
    let right =
        login_from(&live, Some([127, 0, 0, 2]), "privacy_officer", &password("privacy_officer"), None).await;
    let wrong = login_from(&live, Some([127, 0, 0, 3]), "privacy_officer", "not-the-password", None).await;
    let good_code = totp_now(&f.secrets["privacy_officer"]);
    let wrong_with_code =
        login_from(&live, Some([127, 0, 0, 4]), "privacy_officer", "not-it", good_code).await;
    assert_eq!(code(&right), (StatusCode::UNAUTHORIZED, "invalid_credentials"), "{}", right.text);
    assert_eq!(right.body, wrong.body, "the right password must answer as a wrong one");
    assert_eq!(right.body, wrong_with_code.body);
    // And it is a failure that counts: the third locks this address out of the account.
    for i in 2..=3 {
        let r =
            login_from(&live, Some([127, 0, 0, 2]), "privacy_officer", &password("privacy_officer"), None)
                .await;
        let want = if i < 3 { StatusCode::UNAUTHORIZED } else { StatusCode::TOO_MANY_REQUESTS };
        assert_eq!(r.status, want, "attempt {i}: {}", r.text);
    }
    // The complete pair from another address still logs in.
    let totp = totp_now(&f.secrets["privacy_officer"]);
    let r =
        login_from(&live, Some([127, 0, 0, 5]), "privacy_officer", &password("privacy_officer"), totp).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_address_cannot_lock_a_clinician_out() {
    let f = fixture("lock-others-out", |_| ()).await;
    let live = f.serve().await;
    // An attacker at 127.0.0.9 fails on the surgeon's account until refused.
    let mut refused = false;
    for i in 0..12 {
        let r = login_from(&live, Some([127, 0, 0, 9]), "surgeon", &format!("guess-{i}"), None).await;
        refused |= r.status == StatusCode::TOO_MANY_REQUESTS;
    }
    assert!(refused, "the attacking address was never slowed");
    // The surgeon, at their own desk, logs in at once.
    let r = login_from(&live, None, "surgeon", &password("surgeon"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_addresses_are_slowed_on_one_account_but_its_owner_is_not() {
    let f = fixture("botnet", |c| c.account_slow_after = 8).await;
    let live = f.serve().await;
    // The clinician has logged in from their desk before.
    let r = login_from(&live, None, "clinical_staff", &password("clinical_staff"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let before = metric(&live, "facevault_password_verifications_total").await;
    // Forty addresses, two guesses each: 80 guesses, far over the account's threshold.
    let mut slowed = 0;
    for n in 0..40u8 {
        for i in 0..2 {
            let r = login_from(&live, Some([127, 0, 1, n + 1]), "clinical_staff", &format!("g{n}-{i}"), None)
                .await;
            slowed += usize::from(r.status == StatusCode::TOO_MANY_REQUESTS);
        }
    }
    let verified = metric(&live, "facevault_password_verifications_total").await - before;
    assert!(verified < 20.0, "{verified} guesses verified on one account in a burst from 40 addresses");
    assert!(slowed > 60, "{slowed} of 80 guesses slowed");
    // The owner, from the address they logged in from, is not held up.
    let r = login_from(&live, None, "clinical_staff", &password("clinical_staff"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_capped_per_user() {
    let f = fixture("session-cap", |_| ()).await;
    let live = f.serve().await;
    let cap = f.state.config().sessions_per_user;
    let mut cookies = Vec::new();
    for _ in 0..=cap {
        let r = login_from(&live, None, "surgeon", &password("surgeon"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let set = r.headers[axum::http::header::SET_COOKIE].to_str().unwrap();
        cookies.push(set.split(';').next().unwrap().to_owned());
    }
    let me = |cookie: &str| {
        axum::http::Request::get("/api/me")
            .header(axum::http::header::COOKIE, cookie)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let r = live.send(me(&cookies[0])).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the oldest of {} sessions still works", cap + 1);
    for c in &cookies[1..] {
        assert_eq!(live.send(me(c)).await.status, StatusCode::OK);
    }
    assert_eq!(metric(&live, "facevault_sessions").await as usize, cap);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_are_swept_without_being_used() {
    let f = fixture("session-sweep", |c| c.session_sweep_secs = 1).await;
    let live = f.serve().await;
    for user in ["surgeon", "front_desk", "marketing"] {
        let r = login_from(&live, None, user, &password(user), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    assert_eq!(metric(&live, "facevault_sessions").await, 3.0);
    f.state.age_sessions(Duration::from_secs(16 * 60));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(metric(&live, "facevault_sessions").await, 0.0, "expired sessions are still held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_of_a_removed_account_ends() {
    let f = fixture("removed-account", |_| ()).await;
    let live = f.serve().await;
    let patient = f.session("patient-a").await;
    let r = live.send(get("/api/me", Some(&patient))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let meta = f.state.app().vault().metadata_store();
    meta.remove_subject_accounts(&f.a.to_string()).await.unwrap();
    // The account is read again at most every 2 s per session.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = live.send(get("/api/me", Some(&patient))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let r = live.send(get(&format!("/api/subjects/{}", f.a), Some(&patient))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
}
