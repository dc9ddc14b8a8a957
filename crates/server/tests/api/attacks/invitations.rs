//! Finding 1 (invitation takeover) and, from finding 13, an erased subject's portal account:
//! staff who may not read a subject's data must not get a credential that reads it as the
//! patient; one portal account per subject; a second invitation is the privacy officer's; the
//! patient sees who invited them; what a patient does is logged under their account; erasure
//! closes the account.

use axum::http::StatusCode;
use facevault_vault::AccountStore;
use serde_json::{json, Value};

use super::fixture;
use crate::common::{get, password, post, Live, Reply, Who};

/// Logs `username` in over the live server; the raw answer.
async fn login(live: &Live, username: &str, password: &str) -> Reply {
    live.send(post("/api/login", None, &json!({"username": username, "password": password}))).await
}

/// A session from a successful login answer.
fn who(r: &Reply) -> Who {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let set = r.headers.get("set-cookie").unwrap().to_str().unwrap();
    Who {
        cookie: set.split(';').next().unwrap().to_owned(),
        csrf: r.body["csrf_token"].as_str().unwrap().into(),
    }
}

/// A new subject with no portal account, created by the surgeon over `live`.
async fn new_subject(live: &Live, surgeon: &Who) -> String {
    let r = live.send(post("/api/subjects", Some(surgeon), &json!({"name": "Patient D"}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["id"].as_str().unwrap().to_owned()
}

fn secret(r: &Reply) -> String {
    r.body["invitation"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_desk_cannot_accept_its_own_invitation_and_read_as_the_patient() {
    let f = fixture("invite-takeover", |_| ()).await;
    let live = f.serve().await;
    let desk = f.session("front_desk").await;
    // The front desk is refused the subject's data directly.
    let a = f.a;
    let r = live.send(get(&format!("/api/subjects/{a}"), Some(&desk))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let d = new_subject(&live, &f.session("surgeon").await).await;

    // The attack: invite the patient, accept the invitation with a password of one's own, log in
    // as the patient and read.
    let invited = live.send(post(&format!("/api/subjects/{d}/invitation"), Some(&desk), &json!({}))).await;
    let taken = secret(&invited);
    let accepted = live
        .send(post(
            "/api/invitations/accept",
            None,
            &json!({"invitation": taken, "password": "desk-owns-this-1"}),
        ))
        .await;
    let username = accepted.body["username"].as_str().unwrap_or("nobody").to_owned();
    let as_patient = login(&live, &username, "desk-owns-this-1").await;
    let read = if as_patient.status == StatusCode::OK {
        live.send(get(&format!("/api/subjects/{d}"), Some(&who(&as_patient)))).await.status
    } else {
        as_patient.status
    };

    assert_eq!(invited.status, StatusCode::FORBIDDEN, "the front desk got an invitation: {}", invited.text);
    assert!(taken.is_empty(), "the front desk was handed the invitation secret");
    assert!(
        invited.body["message"].as_str().unwrap_or_default().contains("read"),
        "the refusal says why: {}",
        invited.text
    );
    assert_ne!(accepted.status, StatusCode::CREATED, "{}", accepted.text);
    assert_ne!(read, StatusCode::OK, "the front desk read the subject as the patient");
    // Admin, refused scan data, is refused the same way.
    let admin = f.session("admin").await;
    let r = live.send(post(&format!("/api/subjects/{d}/invitation"), Some(&admin), &json!({}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    assert!(secret(&r).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_invitation_is_refused_unless_the_privacy_officer_replaces_the_account() {
    let f = fixture("invite-second", |_| ()).await;
    let live = f.serve().await;
    let surgeon = f.session("surgeon").await;
    let staff = f.session("clinical_staff").await;
    let po = f.session("privacy_officer").await;
    // A already has a portal account: nobody but the privacy officer invites again.
    let a = f.a;
    for w in [&surgeon, &staff] {
        let r = live.send(post(&format!("/api/subjects/{a}/invitation"), Some(w), &json!({}))).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
        assert!(secret(&r).is_empty());
        assert!(r.body["message"].as_str().unwrap().contains("privacy officer"), "{}", r.text);
    }
    // A new subject: the first invitation is the care team's, the second is refused.
    let d = new_subject(&live, &surgeon).await;
    let first = live.send(post(&format!("/api/subjects/{d}/invitation"), Some(&surgeon), &json!({}))).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    for w in [&surgeon, &staff] {
        let r = live.send(post(&format!("/api/subjects/{d}/invitation"), Some(w), &json!({}))).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    }
    // The privacy officer's invitation replaces the account: the first invitation is dead and
    // the subject has one account.
    let second = live.send(post(&format!("/api/subjects/{d}/invitation"), Some(&po), &json!({}))).await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    let old = live
        .send(post(
            "/api/invitations/accept",
            None,
            &json!({"invitation": secret(&first), "password": "first-one-1234"}),
        ))
        .await;
    assert_eq!(old.status, StatusCode::NOT_FOUND, "{}", old.text);
    let accounts = f.state.app().vault().metadata_store().accounts().await.unwrap();
    let of_d: Vec<_> = accounts.iter().filter(|r| r.subject.as_deref() == Some(d.as_str())).collect();
    assert_eq!(of_d.len(), 1, "{of_d:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_patient_sees_who_invited_them_and_acts_under_their_account() {
    let f = fixture("invite-who", |_| ()).await;
    let live = f.serve().await;
    let surgeon = f.session("surgeon").await;
    let d = new_subject(&live, &surgeon).await;
    let invited = live.send(post(&format!("/api/subjects/{d}/invitation"), Some(&surgeon), &json!({}))).await;
    assert_eq!(invited.status, StatusCode::CREATED, "{}", invited.text);
    let accepted = live
        .send(post(
            "/api/invitations/accept",
            None,
            &json!({"invitation": secret(&invited), "password": "patient-d-pass-1"}),
        ))
        .await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.text);
    let username = accepted.body["username"].as_str().unwrap().to_owned();
    let first = login(&live, &username, "patient-d-pass-1").await;
    let me = live.send(get("/api/me", Some(&who(&first)))).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["invited_by"], "surgeon", "{}", me.text);
    assert!(me.body["invited_at"].as_str().is_some_and(|t| t.starts_with("20")), "{}", me.text);

    // What patient A does is logged under their account's name, not only their subject id.
    let a = f.a;
    let pa = f.username("patient-a");
    let r = login(&live, &pa, &password("patient-a")).await;
    let r = live.send(get(&format!("/api/subjects/{a}"), Some(&who(&r)))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let po = f.session("privacy_officer").await;
    let entries =
        live.send(get(&format!("/api/audit/entries?object=subject:{a}&limit=1000"), Some(&po))).await;
    let entries = entries.body.as_array().cloned().unwrap_or_default();
    let mine: Vec<&Value> = entries.iter().filter(|e| e["role"] == "patient").collect();
    assert!(!mine.is_empty(), "{entries:?}");
    assert!(mine.iter().all(|e| e["actor"] == pa.as_str()), "{mine:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_subjects_portal_login_fails() {
    let f = fixture("invite-erased", |_| ()).await;
    let live = f.serve().await;
    let c = f.c;
    let pc = f.username("patient-c");
    assert_eq!(login(&live, &pc, &password("patient-c")).await.status, StatusCode::OK);
    // Patient C asks for erasure; the privacy officer verifies and completes it.
    let desk = f.session("front_desk").await;
    let r = live
        .send(post("/api/requests", Some(&desk), &json!({"subject": c.to_string(), "kind": "delete"})))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let po = f.session("privacy_officer").await;
    let r =
        live.send(post(&format!("/api/requests/{id}/verify"), Some(&po), &json!({"level": "strong"}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = live.send(post(&format!("/api/requests/{id}/complete"), Some(&po), &json!({}))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The portal account went with the subject.
    let r = login(&live, &pc, &password("patient-c")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text);
    let left = f.state.app().vault().metadata_store().account(&pc).await.unwrap();
    assert!(left.is_none(), "{left:?}");
}
