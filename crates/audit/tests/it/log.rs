//! The log over a store, and whole-log verification naming the first bad entry for every kind
//! of tampering: edit, delete, reorder, insert, truncate, append, checkpoint swap.

use facevault_audit::{
    empty_root, leaf_hash, open_checkpoint, sign_checkpoint, verify_log, AppendBatch, AuditEntry, AuditError,
    AuditLog, Checkpoint, Decision, Hash, LogStore, MemoryStore, NodeId, NoteError, Reason, SigningKey,
    Timestamp, Token, VerifyError,
};

const ORIGIN: &str = "clinic.example/facevault-audit";

fn entry(i: u64) -> AuditEntry {
    AuditEntry {
        actor: Token::new("actor", &format!("user:{:04x}", i % 7)).unwrap(),
        role: Token::new("role", if i % 3 == 0 { "surgeon" } else { "front-desk" }).unwrap(),
        action: Token::new("action", "read").unwrap(),
        purpose: Token::new("purpose", "treatment-planning").unwrap(),
        object: Token::new("object", &format!("scan:{i}")).unwrap(),
        decision: if i % 5 == 0 { Decision::Denied } else { Decision::Allowed },
        reason: Reason::new("policy p-1").unwrap(),
        time: Timestamp::from_unix_micros(1_790_000_000_000_000 + i as i64 * 1_000).unwrap(),
    }
}

fn key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, &[3u8; 32]).unwrap()
}

fn log_of(n: u64) -> AuditLog<MemoryStore> {
    let mut log = AuditLog::open(MemoryStore::new()).unwrap();
    let batch: Vec<AuditEntry> = (0..n).map(entry).collect();
    for chunk in batch.chunks(17) {
        log.append_batch(chunk).unwrap();
    }
    log
}

/// Signs the log's checkpoint and opens it again, as a verifier would.
fn signed(log: &AuditLog<MemoryStore>) -> Checkpoint {
    let note = sign_checkpoint(&log.checkpoint(ORIGIN), &key()).unwrap();
    open_checkpoint(&note, &key().verifier(), ORIGIN).unwrap()
}

/// Verifies `log`'s store after `tamper` rewrote its entry list (hashes untouched).
fn check(n: u64, tamper: impl FnOnce(&mut Vec<Vec<u8>>)) -> Result<u64, VerifyError> {
    let log = log_of(n);
    let cp = signed(&log);
    let mut store = log.into_store();
    let mut entries = store.entries();
    tamper(&mut entries);
    store.danger_replace_entries(&entries);
    verify_log(&store, &cp)
}

fn bad_entry(r: Result<u64, VerifyError>) -> u64 {
    match r {
        Err(VerifyError::BadEntry { index }) => index,
        other => panic!("expected BadEntry, got {other:?}"),
    }
}

#[test]
fn an_untouched_log_verifies() {
    for n in [0, 1, 2, 3, 100, 1000] {
        let log = log_of(n);
        assert_eq!(verify_log(log.store(), &signed(&log)).unwrap(), n);
    }
}

#[test]
fn an_edited_entry_is_named() {
    for n in [1u64, 2, 5, 64, 65, 1000] {
        for i in [0, n / 2, n - 1] {
            let got = check(n, |e| {
                let mut other = entry(i);
                other.decision =
                    if other.decision == Decision::Allowed { Decision::Denied } else { Decision::Allowed };
                e[i as usize] = other.encode();
            });
            assert_eq!(bad_entry(got), i, "edit {i} of {n}");
        }
    }
    // A single flipped bit anywhere in the entry.
    assert_eq!(bad_entry(check(300, |e| e[123][40] ^= 0x20)), 123);
}

#[test]
fn a_deleted_entry_is_named() {
    for (n, i) in [(10u64, 0u64), (10, 4), (1000, 517), (1000, 998)] {
        assert_eq!(bad_entry(check(n, |e| drop(e.remove(i as usize)))), i, "delete {i} of {n}");
    }
    // Deleting the last entries: they are missing.
    match check(1000, |e| e.truncate(990)) {
        Err(VerifyError::Missing { index: 990, size: 1000 }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn reordered_entries_are_named() {
    assert_eq!(bad_entry(check(1000, |e| e.swap(300, 700))), 300);
    assert_eq!(bad_entry(check(1000, |e| e.swap(0, 1))), 0);
    assert_eq!(bad_entry(check(1000, |e| e[400..410].reverse())), 400);
}

#[test]
fn an_inserted_entry_is_named() {
    for i in [0u64, 1, 511, 512, 999] {
        assert_eq!(
            bad_entry(check(1000, |e| e.insert(i as usize, entry(5000).encode()))),
            i,
            "insert at {i}"
        );
    }
    // A duplicate of a genuine entry is just as bad.
    assert_eq!(bad_entry(check(1000, |e| e.insert(10, e[9].clone()))), 10);
    // Appended after the checkpoint: the rest is unsigned.
    match check(1000, |e| e.push(entry(1000).encode())) {
        Err(VerifyError::Unsigned { index: 1000 }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn swapped_checkpoints_are_refused() {
    let mut log = log_of(500);
    let old = signed(&log);
    log.append(&entry(500)).unwrap();
    // An older genuine checkpoint covers only a prefix.
    match verify_log(log.store(), &old) {
        Err(VerifyError::Unsigned { index: 500 }) => {}
        other => panic!("{other:?}"),
    }
    // A checkpoint with another root or size, re-signed by someone else, does not open.
    let forged = Checkpoint { size: 501, root: Hash([9; 32]), origin: ORIGIN.into() };
    let other_key = SigningKey::from_seed(ORIGIN, &[4u8; 32]).unwrap();
    let note = sign_checkpoint(&forged, &other_key).unwrap();
    assert!(matches!(
        open_checkpoint(&note, &key().verifier(), ORIGIN),
        Err(NoteError::NoValidSignature { .. })
    ));
    // Had it been accepted, the root would not match and the stored hashes cannot explain it.
    assert!(matches!(verify_log(log.store(), &forged), Err(VerifyError::Unlocated { from: 0 })));
}

#[test]
fn rewritten_hashes_still_fail_and_bound_the_damage() {
    let log = log_of(1000);
    let cp = signed(&log);
    let mut store = log.into_store();
    let mut entries = store.entries();
    let mut e = entry(601);
    e.decision = Decision::Denied;
    entries[601] = e.encode();
    store.danger_replace_entries(&entries);
    // The attacker also fixes the leaf hash and its parent, but cannot fix the root.
    store.danger_set_node(NodeId { level: 0, index: 601 }, leaf_hash(&entries[601]));
    match verify_log(&store, &cp) {
        Err(VerifyError::Unlocated { from }) => assert_eq!(from, 600, "the pair holding entry 601"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn appends_are_logarithmic_and_reopening_keeps_the_root() {
    let log = log_of(1000);
    let root = log.root();
    let store = log.into_store();
    // Two hashes an entry, about: one leaf and (amortized) one interior node.
    let nodes: usize = (0..11u8)
        .map(|l| (0..).take_while(|&i| store.node(NodeId { level: l, index: i }).unwrap().is_some()).count())
        .sum();
    assert_eq!(nodes, 1000 + 500 + 250 + 125 + 62 + 31 + 15 + 7 + 3 + 1);
    let mut again = AuditLog::open(store).unwrap();
    assert_eq!(again.root(), root);
    assert_eq!(again.size(), 1000);
    again.append(&entry(1000)).unwrap();
    assert_eq!(again.root_at(1000).unwrap(), root);
    assert_eq!(again.entry(1000).unwrap(), entry(1000));
    // Proofs from the reopened log verify against the roots.
    let p = again.inclusion_proof(42, 1001).unwrap();
    p.verify(&leaf_hash(&entry(42).encode()), &again.root()).unwrap();
    again.consistency_proof(1000, 1001).unwrap().verify(&root, &again.root()).unwrap();
    assert!(matches!(again.inclusion_proof(1001, 1001), Err(AuditError::OutOfRange { .. })));
    assert!(matches!(again.root_at(1002), Err(AuditError::OutOfRange { .. })));
    assert_eq!(AuditLog::open(MemoryStore::new()).unwrap().root(), empty_root());
}

#[test]
fn a_refused_batch_leaves_the_log_unchanged() {
    let mut log = log_of(10);
    let root = log.root();
    let mut store = log.into_store();
    let stray = AppendBatch { first_index: 3, entries: vec![vec![1]], nodes: vec![] };
    assert!(store.append(&stray).is_err());
    let bad_nodes = AppendBatch {
        first_index: 10,
        entries: vec![vec![1]],
        nodes: vec![(NodeId { level: 0, index: 11 }, Hash([0; 32]))],
    };
    assert!(store.append(&bad_nodes).is_err());
    log = AuditLog::open(store).unwrap();
    assert_eq!((log.size(), log.root()), (10, root));
}

#[test]
fn an_edit_is_named_even_when_entries_were_appended_too() {
    let got = check(200, |e| {
        e[77][5] ^= 1;
        e.push(entry(200).encode());
    });
    assert_eq!(bad_entry(got), 77);
    // The empty log's checkpoint does not cover a log with entries.
    let empty = signed(&log_of(0));
    assert!(matches!(verify_log(log_of(3).store(), &empty), Err(VerifyError::Unsigned { index: 0 })));
}
