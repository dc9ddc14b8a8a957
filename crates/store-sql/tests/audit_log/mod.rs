//! Several writers on one audit log: the server keeps a `SqlLogStore` open for its whole life
//! while CLI commands open their own on the same database, append and close. Each handle here
//! stands for one process (or one thread of one).

use std::path::Path;

use facevault_audit::{
    leaf_hash, open_checkpoint, sign_checkpoint, verify_log, AuditEntry, AuditLog, Checkpoint, Decision,
    LogStore, Reason, SigningKey, Timestamp, Token,
};
use facevault_store_sql::{SqlLogError, SqlLogStore};

const ORIGIN: &str = "test.example/audit";

/// An entry that names its writer and its sequence number there, so each is unique.
fn entry(writer: &str, seq: u64) -> AuditEntry {
    AuditEntry {
        actor: Token::new("actor", writer).unwrap(),
        role: Token::new("role", "surgeon").unwrap(),
        action: Token::new("action", "scan.read").unwrap(),
        purpose: Token::new("purpose", "treatment_planning").unwrap(),
        object: Token::new("object", &format!("scan-{seq}")).unwrap(),
        decision: Decision::Allowed,
        reason: Reason::new("policy default").unwrap(),
        time: Timestamp::from_unix_micros(1_700_000_000_000_000 + seq as i64).unwrap(),
    }
}

fn batch(writer: &str, from: u64, n: u64) -> Vec<AuditEntry> {
    (from..from + n).map(|s| entry(writer, s)).collect()
}

fn open(path: &Path) -> AuditLog<SqlLogStore> {
    AuditLog::open(SqlLogStore::open_sqlite(path).unwrap()).unwrap()
}

fn signed(log: &AuditLog<SqlLogStore>, key: &SigningKey) -> Checkpoint {
    let note = sign_checkpoint(&log.checkpoint(ORIGIN), key).unwrap();
    open_checkpoint(&note, &key.verifier(), ORIGIN).unwrap()
}

/// Every stored entry, in index order, checked to be exactly indices `0..size` once each.
fn stored(log: &AuditLog<SqlLogStore>) -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    log.store().for_each_entry(0, u64::MAX, &mut |e| all.push(e.to_vec())).unwrap();
    assert_eq!(all.len() as u64, log.size(), "one stored entry per index");
    for (i, e) in all.iter().enumerate() {
        assert_eq!(log.store().entry(i as u64).unwrap().as_ref(), Some(e), "index {i}");
    }
    assert_eq!(log.store().entry(log.size()).unwrap(), None);
    all
}

/// `expected` entries appended by the writers, in any order: each stored exactly once.
fn assert_holds_each_once(log: &AuditLog<SqlLogStore>, mut expected: Vec<Vec<u8>>) {
    let mut got = stored(log);
    got.sort();
    expected.sort();
    assert!(got == expected, "the log holds {} entries, {} were appended", got.len(), expected.len());
}

#[test]
fn two_handles_append_interleaved_batches_and_agree_after_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let (mut a, mut b) = (open(&path), open(&path));
    let mut expected = Vec::new();
    let (mut sa, mut sb) = (0, 0);
    for round in 0..25u64 {
        let (na, nb) = (round % 4 + 1, (round * 7) % 5 + 1);
        let ea = batch("writer-a", sa, na);
        let got = a.append_batch(&ea).unwrap();
        assert_eq!(got.end - got.start, na);
        for (i, e) in got.clone().zip(&ea) {
            assert_eq!(a.entry(i).unwrap(), *e, "a's entry {i} is where append_batch said");
        }
        let eb = batch("writer-b", sb, nb);
        let got = b.append_batch(&eb).unwrap();
        for (i, e) in got.zip(&eb) {
            assert_eq!(b.entry(i).unwrap(), *e, "b's entry {i} is where append_batch said");
        }
        expected.extend(ea.iter().chain(&eb).map(AuditEntry::encode));
        sa += na;
        sb += nb;
    }
    let n = sa + sb;
    // `b` wrote last and knows the whole log; `a` learns of b's last batch by refreshing.
    assert_eq!(b.size(), n);
    assert!(a.size() < n);
    assert_eq!(a.refresh().unwrap(), n);
    assert_eq!(b.refresh().unwrap(), n);
    assert_eq!((a.size(), a.root()), (b.size(), b.root()));
    let fresh = open(&path);
    assert_eq!((fresh.size(), fresh.root()), (n, a.root()));
    // A checkpoint signed by one writer verifies the log as the other stores it.
    let key = SigningKey::generate(ORIGIN).unwrap();
    assert_eq!(verify_log(b.store(), &signed(&a, &key)).unwrap(), n);
    assert_eq!(verify_log(a.store(), &signed(&b, &key)).unwrap(), n);
    // Proofs from either handle cover the other's entries.
    let last_of_b = b.entry(n - 1).unwrap();
    let proof = a.inclusion_proof(n - 1, n).unwrap();
    proof.verify(&leaf_hash(&last_of_b.encode()), &a.root()).unwrap();
    a.consistency_proof(10, n).unwrap().verify(&b.root_at(10).unwrap(), &b.root()).unwrap();
    assert_holds_each_once(&fresh, expected);
}

#[test]
fn two_threads_append_concurrently_on_their_own_handles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    open(&path).into_store().close();
    let writers: Vec<_> = ["thread-a", "thread-b"]
        .into_iter()
        .map(|name| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut log = open(&path);
                let (mut seq, mut placed) = (0, Vec::new());
                for i in 0..200u64 {
                    let entries = batch(name, seq, i % 3 + 1);
                    let at = log.append_batch(&entries).unwrap_or_else(|e| panic!("{name}, batch {i}: {e}"));
                    placed.extend(at.zip(entries.iter().map(AuditEntry::encode)));
                    seq += i % 3 + 1;
                }
                log.into_store().close();
                placed
            })
        })
        .collect();
    let placed: Vec<(u64, Vec<u8>)> = writers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    let log = open(&path);
    assert_eq!(log.size(), 2 * (67 + 2 * 67 + 3 * 66));
    assert_eq!(log.size(), placed.len() as u64);
    let all = stored(&log);
    for (index, bytes) in &placed {
        assert_eq!(&all[*index as usize], bytes, "entry {index} is what its writer was told");
    }
    let key = SigningKey::generate(ORIGIN).unwrap();
    assert_eq!(verify_log(log.store(), &signed(&log, &key)).unwrap(), log.size());
}

/// The bug: the server's handle kept the size it had when a CLI command appended through its
/// own, then wrote indices that existed, and every later append failed with
/// `UNIQUE constraint failed: audit_entries.idx` until the server restarted.
#[test]
fn a_second_writer_does_not_break_the_servers_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let mut server = open(&path);
    server.append_batch(&batch("server", 0, 3)).unwrap();
    let mut expected: Vec<_> = batch("server", 0, 3).iter().map(AuditEntry::encode).collect();
    for command in 0..3u64 {
        // A CLI command: open, append its journal, close.
        let mut cli = open(&path);
        let journal = batch("cli", command * 2, 2);
        assert_eq!(cli.append_batch(&journal).unwrap(), 3 + command * 4..5 + command * 4);
        cli.into_store().close();
        expected.extend(journal.iter().map(AuditEntry::encode));
        // The server's next requests append after the command's entries.
        for request in 0..2u64 {
            let e = entry("server", 3 + command * 2 + request);
            let at = server.append(&e).unwrap();
            assert_eq!(at, 5 + command * 4 + request);
            expected.push(e.encode());
        }
    }
    assert_eq!(server.size(), 15);
    let fresh = open(&path);
    assert_eq!((fresh.size(), fresh.root()), (server.size(), server.root()));
    let key = SigningKey::generate(ORIGIN).unwrap();
    assert_eq!(verify_log(server.store(), &signed(&server, &key)).unwrap(), 15);
    assert_holds_each_once(&fresh, expected);
}

#[test]
fn a_long_lived_reader_sees_other_writers_entries_after_refresh() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let mut server = open(&path);
    assert_eq!(server.refresh().unwrap(), 0, "an empty log refreshes to empty");
    server.append_batch(&batch("server", 0, 5)).unwrap();
    let old_root = server.root();
    let mut cli = open(&path);
    cli.append_batch(&batch("cli", 0, 1000)).unwrap();
    cli.into_store().close();
    // Until it refreshes, the server answers for the tree it knows, consistently.
    assert_eq!(server.size(), 5);
    assert!(server.inclusion_proof(6, 1005).is_err());
    assert_eq!(server.refresh().unwrap(), 1005);
    assert_eq!(server.refresh().unwrap(), 1005, "nothing changed: same size");
    assert_eq!(server.entry(1004).unwrap(), entry("cli", 999));
    let proof = server.inclusion_proof(700, 1005).unwrap();
    proof.verify(&leaf_hash(&entry("cli", 695).encode()), &server.root()).unwrap();
    server.consistency_proof(5, 1005).unwrap().verify(&old_root, &server.root()).unwrap();
    assert_eq!(server.root(), open(&path).root());
}

#[test]
fn a_batch_built_for_a_stale_size_is_refused_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.db");
    let mut stale = open(&path);
    stale.append_batch(&batch("stale", 0, 4)).unwrap();
    let mut other = open(&path);
    other.append_batch(&batch("other", 0, 3)).unwrap();
    // A raw batch that continues the log this handle last saw, not the log as stored.
    let raw = facevault_audit::AppendBatch {
        first_index: 4,
        entries: vec![entry("stale", 4).encode()],
        nodes: vec![(facevault_audit::NodeId { level: 0, index: 4 }, leaf_hash(&entry("stale", 4).encode()))],
    };
    let mut store = stale.into_store();
    let got = store.append(&raw);
    assert!(matches!(got, Err(SqlLogError::Refused { .. })), "{got:?}");
    assert_eq!(store.size().unwrap(), 7, "the store caught up with the other writer");
    store.close();
    let log = open(&path);
    assert_eq!((log.size(), log.root()), (7, other.root()));
}
