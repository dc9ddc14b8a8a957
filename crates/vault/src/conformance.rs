//! The one suite every adapter of a port must pass, so the in-memory, SQLite, PostgreSQL,
//! file-system and S3 adapters behave alike. Each check returns what went wrong instead of
//! panicking; an adapter's test calls it on a fresh, empty store.

use facevault_crypto::{Id, KekVersion, WrappedKey, WRAPPED_KEY_LEN};
use facevault_mesh::Unit;

use crate::error::StoreError;
use crate::ids::{DerivativeId, Node, ScanId, SubjectId, Timestamp};
use crate::model::{
    AccountRow, BlobRef, Capture, ConsentRow, Derivative, DerivativeKind, Disclosure, GovernanceRow, Purpose,
    RequestRow, Scan, SubjectRecord, TokenRow, VendorNotice,
};
use crate::ports::{AccountStore, BlobStore, MetadataStore};

fn ensure(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

fn id(n: u8) -> Id {
    Id::from_bytes([n; 16])
}

/// A blob store: put, get, overwrite, list, delete (idempotent), missing blobs.
pub async fn blob_store<B: BlobStore>(store: &B) -> Result<(), String> {
    let e = |e: crate::StoreError| e.to_string();
    ensure(store.list().await.map_err(e)?.is_empty(), "a fresh store lists nothing")?;
    ensure(store.get(id(1)).await.map_err(e)?.is_none(), "a missing blob is None")?;
    let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    store.put(id(1), b"one".to_vec()).await.map_err(e)?;
    store.put(id(2), big.clone()).await.map_err(e)?;
    store.put(id(3), Vec::new()).await.map_err(e)?;
    ensure(
        store.get(id(1)).await.map_err(e)?.as_deref() == Some(&b"one"[..]),
        "get returns what put stored",
    )?;
    ensure(store.get(id(2)).await.map_err(e)? == Some(big), "a large blob comes back whole")?;
    ensure(store.get(id(3)).await.map_err(e)? == Some(Vec::new()), "an empty blob is not a missing one")?;
    store.put(id(1), b"uno".to_vec()).await.map_err(e)?;
    ensure(store.get(id(1)).await.map_err(e)?.as_deref() == Some(&b"uno"[..]), "put replaces")?;
    let mut listed = store.list().await.map_err(e)?;
    listed.sort();
    ensure(listed == vec![id(1), id(2), id(3)], "list names every blob once")?;
    store.delete(id(2)).await.map_err(e)?;
    store.delete(id(2)).await.map_err(e)?;
    store.delete(id(9)).await.map_err(e)?;
    ensure(store.get(id(2)).await.map_err(e)?.is_none(), "a deleted blob is gone")?;
    ensure(store.list().await.map_err(e)?.len() == 2, "list forgets deleted blobs")?;
    Ok(())
}

fn wrapped(version: u32, fill: u8) -> Result<WrappedKey, String> {
    let mut b = [fill; WRAPPED_KEY_LEN];
    b[0] = 1;
    WrappedKey::from_parts(KekVersion(version), &b).map_err(|e| e.to_string())
}

fn subject(n: u8) -> Result<SubjectRecord, String> {
    Ok(SubjectRecord {
        id: SubjectId(id(n)),
        created_at: Timestamp(1_000 + i64::from(n)),
        wrapped_key: wrapped(1, n)?,
        details: vec![n; 70],
        details_version: 1,
    })
}

fn scan(n: u8, of: u8) -> Scan {
    Scan {
        id: ScanId(id(n)),
        subject: SubjectId(id(of)),
        capture: Capture {
            device: "Vectra H2".into(),
            captured_on: "2025-06-01".into(),
            purpose: Purpose("surgical planning".into()),
        },
        source_unit: Unit::Centimetre,
        vertices: 860_000,
        triangles: 1_700_000,
        imported_at: Timestamp(2_000),
        blob: BlobRef { object: id(n), version: 1, len: 123_456_789 },
    }
}

fn derivative(n: u8, of: u8, parents: Vec<Node>) -> Derivative {
    Derivative {
        id: DerivativeId(id(n)),
        subject: SubjectId(id(of)),
        kind: DerivativeKind::Render,
        producer: "facevault-analysis 0.1".into(),
        parameters: r#"{"view":"front"}"#.into(),
        parents,
        created_at: Timestamp(3_000),
        blob: BlobRef { object: id(n), version: 1, len: 42 },
    }
}

/// A metadata store: identity, subjects, CAS on wrapped keys, scans, derivatives and lineage,
/// referential rules, shredding and the rotation marker.
pub async fn metadata_store<M: MetadataStore>(store: &M) -> Result<(), String> {
    let e = |e: crate::StoreError| e.to_string();
    ensure(store.vault_id_or_init(id(0xaa)).await.map_err(e)? == id(0xaa), "the first id is kept")?;
    ensure(store.vault_id_or_init(id(0xbb)).await.map_err(e)? == id(0xaa), "the vault id never changes")?;
    let (a, b) = (subject(1)?, subject(2)?);
    store.insert_subject(a.clone()).await.map_err(e)?;
    store.insert_subject(b.clone()).await.map_err(e)?;
    ensure(store.insert_subject(a.clone()).await.is_err(), "a duplicate subject is refused")?;
    ensure(store.subject(a.id).await.map_err(e)? == Some(a.clone()), "a subject reads back exactly")?;
    ensure(store.subject(SubjectId(id(9))).await.map_err(e)?.is_none(), "a missing subject is None")?;
    ensure(store.subjects().await.map_err(e)?.len() == 2, "subjects lists both")?;

    ensure(store.insert_scan(scan(10, 9)).await.is_err(), "a scan of a missing subject is refused")?;
    store.insert_scan(scan(10, 1)).await.map_err(e)?;
    store.insert_scan(scan(11, 1)).await.map_err(e)?;
    store.insert_scan(scan(12, 2)).await.map_err(e)?;
    ensure(store.insert_scan(scan(10, 1)).await.is_err(), "a duplicate scan is refused")?;
    ensure(store.scan(ScanId(id(10))).await.map_err(e)? == Some(scan(10, 1)), "a scan reads back exactly")?;
    ensure(store.scans_of(a.id).await.map_err(e)?.len() == 2, "scans_of lists the subject's scans")?;

    let s10 = Node::Scan(ScanId(id(10)));
    let d20 = derivative(20, 1, vec![s10]);
    let d21 = derivative(21, 1, vec![Node::Derivative(DerivativeId(id(20))), Node::Scan(ScanId(id(11)))]);
    ensure(
        store.insert_derivative(derivative(22, 1, vec![Node::Scan(ScanId(id(77)))])).await.is_err(),
        "a derivative of a missing parent is refused",
    )?;
    store.insert_derivative(d20.clone()).await.map_err(e)?;
    store.insert_derivative(d21.clone()).await.map_err(e)?;
    store.insert_derivative(derivative(23, 2, vec![Node::Scan(ScanId(id(12)))])).await.map_err(e)?;
    ensure(
        store.derivative(d21.id).await.map_err(e)? == Some(d21.clone()),
        "a derivative reads back exactly",
    )?;
    ensure(store.derivatives_of(a.id).await.map_err(e)?.len() == 2, "derivatives_of lists the subject's")?;
    ensure(store.children(s10).await.map_err(e)? == vec![d20.id], "children of a scan")?;
    ensure(
        store.children(Node::Derivative(d20.id)).await.map_err(e)? == vec![d21.id],
        "children of a derivative",
    )?;

    let new_key = wrapped(2, 0x77)?;
    ensure(
        !store.replace_wrapped_key(a.id, KekVersion(5), new_key.clone()).await.map_err(e)?,
        "a stale compare-and-swap does nothing",
    )?;
    ensure(
        store.replace_wrapped_key(a.id, KekVersion(1), new_key.clone()).await.map_err(e)?,
        "CAS succeeds",
    )?;
    ensure(
        store.subject(a.id).await.map_err(e)?.map(|s| s.wrapped_key) == Some(new_key),
        "the new wrapped key is stored",
    )?;

    ensure(store.rotation_target().await.map_err(e)?.is_none(), "no rotation at first")?;
    store.set_rotation_target(Some(KekVersion(2))).await.map_err(e)?;
    ensure(store.rotation_target().await.map_err(e)? == Some(KekVersion(2)), "the marker is stored")?;
    store.set_rotation_target(None).await.map_err(e)?;
    ensure(store.rotation_target().await.map_err(e)?.is_none(), "the marker clears")?;

    let seen = |n: u8, purpose: &str, at: i64| Disclosure {
        node: Node::Scan(ScanId(id(n))),
        subject: SubjectId(id(1)),
        purpose: Purpose(purpose.into()),
        recipient: format!("recipient {n}"),
        vendor: (n == 11).then(|| "lab-3d".to_owned()),
        kind: if n == 11 { "business-purpose".into() } else { "export".into() },
        at: Timestamp(at),
    };
    store.record_disclosure(seen(10, "second opinion", 5)).await.map_err(e)?;
    store.record_disclosure(seen(11, "patient request", 6)).await.map_err(e)?;
    let shown = store.disclosures_of(a.id).await.map_err(e)?;
    ensure(
        shown == vec![seen(10, "second opinion", 5), seen(11, "patient request", 6)],
        "disclosures in order",
    )?;
    ensure(store.disclosures_of(b.id).await.map_err(e)?.is_empty(), "disclosures are per subject")?;

    governance(store, a.id, b.id).await?;

    let removed = store.shred_subject(a.id).await.map_err(e)?.ok_or("shred finds the subject")?;
    let mut blobs = removed.blobs.clone();
    blobs.sort();
    ensure(blobs == vec![id(10), id(11), id(20), id(21)], "shred returns every blob of the subject")?;
    ensure(removed.scans.len() == 2 && removed.derivatives.len() == 2, "shred counts scans and derivatives")?;
    let mut queued = store.purge_queue().await.map_err(e)?;
    queued.sort();
    ensure(queued == blobs, "shred queues every blob of the subject for purging")?;
    store.dequeue_purged(vec![id(10), id(20)]).await.map_err(e)?;
    let mut left = store.purge_queue().await.map_err(e)?;
    left.sort();
    ensure(left == vec![id(11), id(21)], "dequeue forgets only what it is given")?;
    store.dequeue_purged(left).await.map_err(e)?;
    ensure(store.purge_queue().await.map_err(e)?.is_empty(), "the queue empties")?;
    ensure(store.subject(a.id).await.map_err(e)?.is_none(), "the shredded subject is gone")?;
    ensure(store.scan(ScanId(id(10))).await.map_err(e)?.is_none(), "its scans are gone")?;
    ensure(store.derivative(d20.id).await.map_err(e)?.is_none(), "its derivatives are gone")?;
    ensure(store.children(s10).await.map_err(e)?.is_empty(), "its lineage is gone")?;
    ensure(store.shred_subject(a.id).await.map_err(e)?.is_none(), "a second shred finds nothing")?;
    ensure(store.disclosures_of(a.id).await.map_err(e)?.len() == 2, "disclosures outlive a shred")?;
    ensure(store.subject(b.id).await.map_err(e)? == Some(b), "the other subject is untouched")?;
    ensure(store.scans_of(SubjectId(id(2))).await.map_err(e)?.len() == 1, "the other subject's scans stay")?;
    ensure(store.derivatives_of(SubjectId(id(2))).await.map_err(e)?.len() == 1, "and its derivatives")?;
    ensure(store.consents_of(a.id).await.map_err(e)?.is_empty(), "the shredded subject's consents are gone")?;
    ensure(store.governance(a.id).await.map_err(e)?.is_none(), "and its governance state")?;
    ensure(
        store.consents_of(SubjectId(id(2))).await.map_err(e)?.len() == 1,
        "the other subject's consent stays",
    )?;

    // Deleting single objects: only the named ones of that subject, their blobs queued.
    let (s12, d23) = (Node::Scan(ScanId(id(12))), Node::Derivative(DerivativeId(id(23))));
    let wrong = store.delete_objects(a.id, vec![s12]).await.map_err(e)?;
    ensure(wrong.scans.is_empty(), "delete_objects ignores another subject's objects")?;
    let gone = store.delete_objects(SubjectId(id(2)), vec![s12, d23]).await.map_err(e)?;
    ensure(gone.scans.len() == 1 && gone.derivatives.len() == 1, "delete_objects removes both")?;
    ensure(store.scan(ScanId(id(12))).await.map_err(e)?.is_none(), "the scan is gone")?;
    ensure(store.children(s12).await.map_err(e)?.is_empty(), "and the lineage into its derivative")?;
    let mut queued = store.purge_queue().await.map_err(e)?;
    queued.sort();
    ensure(queued == vec![id(12), id(23)], "their blobs are queued for purging")?;
    ensure(store.subject(SubjectId(id(2))).await.map_err(e)?.is_some(), "the subject itself stays")?;
    requests(store).await
}

/// Requests (insert, then replace state and history) and vendor notices (confirm once).
async fn requests<M: MetadataStore>(store: &M) -> Result<(), String> {
    let e = |e: crate::StoreError| e.to_string();
    let row = |rid: &str, state: &str, at: i64| RequestRow {
        id: rid.into(),
        subject: id(1).to_string(),
        kind: "delete".into(),
        state: state.into(),
        received_at: Timestamp(at),
        doc: format!("{{\"state\":\"{state}\"}}"),
    };
    store.put_request(row("r-2", "received", 20)).await.map_err(e)?;
    store.put_request(row("r-1", "received", 10)).await.map_err(e)?;
    store.put_request(row("r-2", "completed", 20)).await.map_err(e)?;
    ensure(
        store.requests().await.map_err(e)? == vec![row("r-1", "received", 10), row("r-2", "completed", 20)],
        "requests read back in order, the replaced one changed",
    )?;
    let notice = |vendor: &str, confirmed: Option<i64>| VendorNotice {
        request: "r-2".into(),
        subject: SubjectId(id(1)),
        vendor: vendor.into(),
        sent_at: Timestamp(30),
        confirmed_at: confirmed.map(Timestamp),
    };
    store.put_vendor_notice(notice("lab-3d", None)).await.map_err(e)?;
    store.put_vendor_notice(notice("photo-agency", None)).await.map_err(e)?;
    store.put_vendor_notice(notice("lab-3d", Some(1))).await.map_err(e)?;
    ensure(
        store.confirm_vendor_notice("r-2".into(), "lab-3d".into(), Timestamp(40)).await.map_err(e)?,
        "confirm",
    )?;
    ensure(
        store.confirm_vendor_notice("r-2".into(), "lab-3d".into(), Timestamp(50)).await.map_err(e)?,
        "again",
    )?;
    ensure(
        !store.confirm_vendor_notice("r-9".into(), "lab-3d".into(), Timestamp(50)).await.map_err(e)?,
        "none",
    )?;
    ensure(
        store.vendor_notices().await.map_err(e)?
            == vec![notice("lab-3d", Some(40)), notice("photo-agency", None)],
        "notices: one per vendor, the first confirmation kept",
    )?;
    Ok(())
}

fn consent(n: u8, subject: SubjectId, recorded: i64) -> ConsentRow {
    ConsentRow {
        id: id(n),
        subject,
        jurisdiction: "IL".into(),
        notice_version: "v1".into(),
        notice_sha256: "ab".repeat(32),
        notice_text: "We keep your scan for planning, 3 years.".into(),
        signed_at: Timestamp(recorded - 10),
        recorded_at: Timestamp(recorded),
        withdrawn_at: None,
        sealed: vec![n; 40],
    }
}

/// Consents (history, withdrawal that keeps the first time) and the governance state's
/// compare and swap.
async fn governance<M: MetadataStore>(store: &M, a: SubjectId, b: SubjectId) -> Result<(), String> {
    let e = |e: crate::StoreError| e.to_string();
    ensure(
        store.insert_consent(consent(30, SubjectId(id(9)), 100)).await.is_err(),
        "a consent of a missing subject is refused",
    )?;
    store.insert_consent(consent(30, a, 100)).await.map_err(e)?;
    store.insert_consent(consent(31, a, 200)).await.map_err(e)?;
    store.insert_consent(consent(32, b, 150)).await.map_err(e)?;
    ensure(store.insert_consent(consent(31, a, 300)).await.is_err(), "a duplicate consent is refused")?;
    ensure(
        store.consents_of(a).await.map_err(e)? == vec![consent(30, a, 100), consent(31, a, 200)],
        "consents read back exactly, oldest first",
    )?;
    ensure(store.withdraw_consent(id(31), Timestamp(500)).await.map_err(e)?, "withdraw finds the consent")?;
    ensure(store.withdraw_consent(id(31), Timestamp(900)).await.map_err(e)?, "a second withdrawal is fine")?;
    ensure(!store.withdraw_consent(id(99), Timestamp(900)).await.map_err(e)?, "no such consent")?;
    let now = store.consents_of(a).await.map_err(e)?;
    ensure(now[1].withdrawn_at == Some(Timestamp(500)), "the first withdrawal time is kept")?;
    ensure(now[0].withdrawn_at.is_none(), "other consents are untouched")?;

    let row = |version: u32, byte: u8| GovernanceRow {
        subject: a,
        version,
        updated_at: Timestamp(i64::from(version)),
        sealed: vec![byte; 33],
    };
    ensure(store.governance(a).await.map_err(e)?.is_none(), "no governance state at first")?;
    ensure(!store.put_governance(row(2, 1)).await.map_err(e)?, "a first state must be version 1")?;
    ensure(store.put_governance(row(1, 1)).await.map_err(e)?, "version 1 is stored")?;
    ensure(!store.put_governance(row(1, 2)).await.map_err(e)?, "a second version 1 loses the race")?;
    ensure(store.put_governance(row(2, 3)).await.map_err(e)?, "version 2 follows")?;
    ensure(!store.put_governance(row(4, 4)).await.map_err(e)?, "a skipped version is refused")?;
    ensure(store.governance(a).await.map_err(e)? == Some(row(2, 3)), "the state reads back exactly")?;
    ensure(store.governance(b).await.map_err(e)?.is_none(), "governance is per subject")?;
    Ok(())
}

fn is_conflict<T>(r: &Result<T, StoreError>) -> bool {
    matches!(r, Err(StoreError::Conflict { .. }))
}

fn staff(name: &str, at: i64) -> AccountRow {
    AccountRow {
        username: name.into(),
        role: "clinician".into(),
        subject: None,
        password_hash: Some(format!("$argon2id$v=19$m=19456,t=2,p=1${name}")),
        totp_sealed: Some(vec![7; 44]),
        invite_hash: None,
        invite_expires: None,
        created_at: at,
        invited_by: None,
    }
}

fn token(tid: &str, hash: u8, at: i64) -> TokenRow {
    TokenRow {
        id: tid.into(),
        token_hash: format!("{hash:02x}").repeat(32),
        name: format!("integration {tid}"),
        role: "clinician".into(),
        purposes: "treatment-planning,post-op-tracking".into(),
        created_by: "adam".into(),
        created_at: at,
        expires_at: at + 86_400,
        revoked: false,
    }
}

/// An account store: accounts (unique names and invitations, an invitation accepted once,
/// a subject's accounts removed), API tokens (unique, ordered, revoked) and server keys
/// (written once).
pub async fn account_store<A: AccountStore>(store: &A) -> Result<(), String> {
    let e = |e: StoreError| e.to_string();
    ensure(store.accounts().await.map_err(e)?.is_empty(), "a fresh store has no accounts")?;
    let invite = "ab".repeat(32);
    let patient = AccountRow {
        username: "patient-0a1b2c3d4e".into(),
        role: "patient".into(),
        subject: Some(id(1).to_string()),
        password_hash: None,
        totp_sealed: None,
        invite_hash: Some(invite.clone()),
        invite_expires: Some(1_700_604_800),
        created_at: 1_700_000_000,
        invited_by: Some("zoe".into()),
    };
    store.add_account(&staff("zoe", 10)).await.map_err(e)?;
    store.add_account(&staff("adam", 20)).await.map_err(e)?;
    store.add_account(&patient).await.map_err(e)?;
    ensure(is_conflict(&store.add_account(&staff("zoe", 30)).await), "a taken username is a conflict")?;
    let twin = AccountRow { username: "patient-ffffffffff".into(), ..patient.clone() };
    ensure(is_conflict(&store.add_account(&twin).await), "a taken invitation is a conflict")?;
    let second = AccountRow { invite_hash: Some("ef".repeat(32)), ..twin.clone() };
    ensure(is_conflict(&store.add_account(&second).await), "a second account for a subject is a conflict")?;
    ensure(
        store.account("zoe").await.map_err(e)? == Some(staff("zoe", 10)),
        "an account reads back exactly",
    )?;
    ensure(store.account("nobody").await.map_err(e)?.is_none(), "a missing account is None")?;
    let names: Vec<String> = store.accounts().await.map_err(e)?.into_iter().map(|a| a.username).collect();
    ensure(names == ["adam", "patient-0a1b2c3d4e", "zoe"], "accounts are listed by username")?;
    ensure(
        store.account_by_invite(&invite).await.map_err(e)? == Some(patient.clone()),
        "the invitation finds its account",
    )?;
    ensure(store.account_by_invite(&"cd".repeat(32)).await.map_err(e)?.is_none(), "an unknown invitation")?;
    ensure(store.accept_invite(&invite, "$argon2id$new").await.map_err(e)?, "the invitation is accepted")?;
    let accepted = store.account(&patient.username).await.map_err(e)?.ok_or("the patient is still there")?;
    ensure(
        accepted.password_hash.as_deref() == Some("$argon2id$new")
            && accepted.invite_hash.is_none()
            && accepted.invite_expires.is_none(),
        "accepting sets the password and uses the invitation up",
    )?;
    ensure(!store.accept_invite(&invite, "$argon2id$again").await.map_err(e)?, "an invitation works once")?;
    ensure(store.account_by_invite(&invite).await.map_err(e)?.is_none(), "a used invitation finds nothing")?;
    ensure(
        store.remove_subject_accounts(&id(1).to_string()).await.map_err(e)? == 1,
        "the patient is removed",
    )?;
    ensure(store.account(&patient.username).await.map_err(e)?.is_none(), "the patient's account is gone")?;
    ensure(store.remove_subject_accounts(&id(1).to_string()).await.map_err(e)? == 0, "a second removal")?;
    ensure(store.accounts().await.map_err(e)?.len() == 2, "staff accounts stay")?;

    store.add_token(&token("t-b", 2, 20)).await.map_err(e)?;
    store.add_token(&token("t-c", 3, 10)).await.map_err(e)?;
    store.add_token(&token("t-a", 1, 20)).await.map_err(e)?;
    ensure(is_conflict(&store.add_token(&token("t-a", 9, 30)).await), "a taken token id is a conflict")?;
    ensure(is_conflict(&store.add_token(&token("t-d", 2, 30)).await), "a taken token hash is a conflict")?;
    ensure(
        store.tokens().await.map_err(e)?
            == vec![token("t-c", 3, 10), token("t-a", 1, 20), token("t-b", 2, 20)],
        "tokens read back exactly, oldest first, then by id",
    )?;
    let hash = token("t-b", 2, 20).token_hash;
    ensure(
        store.token_by_hash(&hash).await.map_err(e)? == Some(token("t-b", 2, 20)),
        "a token is found by hash",
    )?;
    ensure(store.token_by_hash(&"ee".repeat(32)).await.map_err(e)?.is_none(), "an unknown hash")?;
    ensure(store.revoke_token("t-b").await.map_err(e)?, "revoke finds the token")?;
    ensure(store.revoke_token("t-b").await.map_err(e)?, "a second revocation is fine")?;
    ensure(!store.revoke_token("t-z").await.map_err(e)?, "no such token")?;
    ensure(store.token_by_hash(&hash).await.map_err(e)?.is_some_and(|t| t.revoked), "the token is revoked")?;
    ensure(
        store.tokens().await.map_err(e)?.iter().filter(|t| t.revoked).count() == 1,
        "only that token is revoked",
    )?;

    ensure(store.server_key("accounts").await.map_err(e)?.is_none(), "no server key at first")?;
    store.put_server_key("accounts", &[1, 2, 3]).await.map_err(e)?;
    ensure(is_conflict(&store.put_server_key("accounts", &[9]).await), "a server key is written once")?;
    ensure(
        store.server_key("accounts").await.map_err(e)?.as_deref() == Some(&[1u8, 2, 3][..]),
        "the first server key is kept",
    )?;
    ensure(store.server_key("other").await.map_err(e)?.is_none(), "server keys are by name")?;
    Ok(())
}
