//! Deletion certificates: issued from a log, verified offline, and every kind of tampering
//! refused with the check that failed, whether or not the tamperer could re-sign.

use facevault_audit::{
    deletion_reason, issue_certificate, sign_checkpoint, verify_certificate, AuditEntry, AuditLog,
    CertificateError, Checkpoint, Decision, Deletion, DeletionCertificate, Destroyed, Hash, MemoryStore,
    NoteError, ProofError, Reason, SigningKey, Timestamp, Token, MAX_DESTROYED, MAX_REASON,
};
use proptest::prelude::*;

const ORIGIN: &str = "facevault.vault/0123456789abcdef0123456789abcdef";
const OTHER: &str = "facevault.vault/fedcba9876543210fedcba9876543210";
const SUBJECT: &str = "s-7f3a9c2e";
/// The deletion entry's index in [`fixture`]'s log.
const INDEX: u64 = 5;
const AT: i64 = 1_790_000_000_123_456;

fn key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, &[5u8; 32]).unwrap()
}

fn other_key() -> SigningKey {
    SigningKey::from_seed(OTHER, &[6u8; 32]).unwrap()
}

fn item(id: &str, kind: &str) -> Destroyed {
    Destroyed { id: id.into(), kind: kind.into() }
}

fn deletion() -> Deletion {
    Deletion {
        subject: SUBJECT.into(),
        destroyed: vec![
            item("scan:0b1c", "scan"),
            item("derivative:77aa", "derivative"),
            item("subject-details:s-7f3a9c2e", "subject-details"),
            item("subject-key:s-7f3a9c2e", "data-key"),
        ],
        rule: "bipa-3y".into(),
        key_id: Some("subject-key:s-7f3a9c2e".into()),
    }
}

fn token(field: &'static str, s: &str) -> Token {
    Token::new(field, s).unwrap()
}

/// Some other entry of the log.
fn noise(i: u64) -> AuditEntry {
    AuditEntry {
        actor: token("actor", "u-17"),
        role: token("role", "surgeon"),
        action: token("action", "read"),
        purpose: token("purpose", "treatment-planning"),
        object: token("object", &format!("scan:{i}")),
        decision: Decision::Allowed,
        reason: Reason::new("policy p-1").unwrap(),
        time: Timestamp::from_unix_micros(AT - 1_000_000 + i as i64).unwrap(),
    }
}

/// The entry the vault writes for `d`.
fn deletion_entry(d: &Deletion) -> AuditEntry {
    AuditEntry {
        actor: token("actor", "retention-engine"),
        role: token("role", "system"),
        action: token("action", "subject-shred"),
        purpose: token("purpose", "retention"),
        object: token("object", &format!("subject:{}", d.subject)),
        decision: Decision::Allowed,
        reason: Reason::new(&deletion_reason(&d.rule, &d.destroyed).unwrap()).unwrap(),
        time: Timestamp::from_unix_micros(AT).unwrap(),
    }
}

/// A log of `INDEX` entries, then `entry`, then four more; signed by `key` under `origin`.
fn log_with(entry: &AuditEntry) -> AuditLog<MemoryStore> {
    let mut log = AuditLog::open(MemoryStore::new()).unwrap();
    let mut all: Vec<AuditEntry> = (0..INDEX).map(noise).collect();
    all.push(entry.clone());
    all.extend((INDEX + 1..INDEX + 5).map(noise));
    log.append_batch(&all).unwrap();
    log
}

fn note(log: &AuditLog<MemoryStore>, size: u64, origin: &str, key: &SigningKey) -> String {
    let cp = Checkpoint { origin: origin.into(), size, root: log.root_at(size).unwrap() };
    sign_checkpoint(&cp, key).unwrap()
}

/// Issues the certificate of `d` from a fresh log signed under `origin` by `key`.
fn issue_with(
    d: &Deletion,
    entry: &AuditEntry,
    origin: &str,
    key: &SigningKey,
) -> Result<DeletionCertificate, CertificateError> {
    let log = log_with(entry);
    let proof = log.inclusion_proof(INDEX, log.size()).unwrap();
    issue_certificate(d, &entry.encode(), &proof, &note(&log, log.size(), origin, key), key)
}

fn cert() -> DeletionCertificate {
    issue_with(&deletion(), &deletion_entry(&deletion()), ORIGIN, &key()).unwrap()
}

fn pinned(c: &DeletionCertificate) -> Result<(), CertificateError> {
    verify_certificate(c, Some(&key().verifier())).map(|_| ())
}

#[test]
fn an_issued_certificate_verifies_and_says_whether_the_key_was_pinned() {
    let c = cert();
    assert_eq!(c.origin, ORIGIN);
    assert_eq!(c.subject, SUBJECT);
    assert_eq!(c.destroyed_at, "2026-09-21T14:13:20.123456Z");
    assert_eq!(c.entry_index, INDEX);
    assert_eq!(c.inclusion.size, 10);
    assert_eq!(c.verifier, key().verifier().to_string());

    let v = verify_certificate(&c, None).unwrap();
    assert!(!v.key_pinned);
    assert_eq!(v.verifier, key().verifier());
    assert_eq!(v.checkpoint.size, 10);
    assert_eq!(v.entry, deletion_entry(&deletion()));
    assert!(verify_certificate(&c, Some(&key().verifier())).unwrap().key_pinned);
}

#[test]
fn a_certificate_survives_its_json_form_and_refuses_unknown_fields() {
    let c = cert();
    let json = serde_json::to_string_pretty(&c).unwrap();
    let back: DeletionCertificate = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c);
    pinned(&back).unwrap();
    // The documented field names, in the documented order.
    let names: Vec<&str> =
        json.lines().filter_map(|l| l.strip_prefix("  \"")).map(|l| &l[..l.find('"').unwrap()]).collect();
    assert_eq!(
        names,
        [
            "format",
            "origin",
            "subject",
            "destroyed",
            "destroyed_at",
            "rule",
            "key_id",
            "entry_index",
            "entry",
            "inclusion",
            "checkpoint",
            "verifier",
            "signature"
        ]
    );
    let extra = json.replacen("{", "{\"note\": \"unsigned text\",", 1);
    assert!(serde_json::from_str::<DeletionCertificate>(&extra)
        .unwrap_err()
        .to_string()
        .contains("unknown field"));
}

#[test]
fn the_signed_message_is_length_prefixed_and_starts_with_its_label() {
    let c = cert();
    let m = c.signed_message().unwrap();
    let label = b"facevault deletion certificate v1";
    assert_eq!(m[..4], (label.len() as u32).to_be_bytes());
    assert_eq!(&m[4..4 + label.len()], label);
    assert_eq!(m[4 + label.len()..][..4], 1u32.to_be_bytes(), "format");
    let origin = &m[8 + label.len()..];
    assert_eq!(origin[..4], (ORIGIN.len() as u32).to_be_bytes());
    assert_eq!(&origin[4..4 + ORIGIN.len()], ORIGIN.as_bytes());
    // Never a note text: a note holds no NUL byte.
    assert_eq!(m[0], 0);
    // The entry is signed as its decoded bytes.
    let entry = deletion_entry(&deletion()).encode();
    assert!(m
        .windows(entry.len() + 4)
        .any(|w| w[4..] == entry[..] && w[..4] == (entry.len() as u32).to_be_bytes()));
}

type Tamper = fn(&mut DeletionCertificate);
type Expected = fn(&CertificateError) -> bool;

fn reencode(c: &mut DeletionCertificate, edit: impl FnOnce(&mut AuditEntry)) {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut e = AuditEntry::decode(&b64.decode(&c.entry).unwrap()).unwrap();
    edit(&mut e);
    c.entry = b64.encode(e.encode());
}

/// Each edit, re-signed with the vault's own key (a buggy or dishonest issuer), fails the
/// named check; not re-signed, every one fails the certificate signature.
#[test]
fn every_tampering_is_refused_naming_the_check() {
    let other_log = log_with(&noise(99));
    let table: Vec<(&str, Tamper, Expected)> = vec![
        (
            "destroyed item added",
            |c| c.destroyed.push(item("scan:ffff", "scan")),
            |e| matches!(e, CertificateError::EntryReason { index: INDEX, .. }),
        ),
        (
            "destroyed item dropped",
            |c| {
                c.destroyed.remove(0);
            },
            |e| matches!(e, CertificateError::EntryReason { .. }),
        ),
        (
            "destroyed kind edited",
            |c| c.destroyed[1].kind = "scan".into(),
            |e| matches!(e, CertificateError::EntryReason { .. }),
        ),
        (
            "destroyed reordered",
            |c| c.destroyed.swap(0, 1),
            |e| matches!(e, CertificateError::EntryReason { .. }),
        ),
        (
            "subject",
            |c| c.subject = "s-00000000".into(),
            |e| matches!(e, CertificateError::EntryObject { expected, found, .. } if expected == "subject:s-00000000" && found == "subject:s-7f3a9c2e"),
        ),
        ("rule", |c| c.rule = "cubi-1y".into(), |e| matches!(e, CertificateError::EntryReason { .. })),
        (
            "destroyed_at",
            |c| c.destroyed_at = "2026-09-21T14:13:20.123457Z".into(),
            |e| matches!(e, CertificateError::EntryTime { entry, .. } if entry == "2026-09-21T14:13:20.123456Z"),
        ),
        (
            "entry object",
            |c| reencode(c, |e| e.object = token("object", "subject:s-1")),
            |e| matches!(e, CertificateError::Inclusion { index: INDEX, source: ProofError::RootMismatch }),
        ),
        (
            "entry index",
            |c| c.entry_index += 1,
            |e| matches!(e, CertificateError::Inclusion { index: 6, source: ProofError::RootMismatch }),
        ),
        (
            "entry index past the tree",
            |c| c.entry_index = 10,
            |e| {
                matches!(
                    e,
                    CertificateError::Inclusion {
                        source: ProofError::IndexOutOfRange { index: 10, size: 10 },
                        ..
                    }
                )
            },
        ),
        (
            "proof path hash",
            |c| c.inclusion.path[0].0[0] ^= 1,
            |e| matches!(e, CertificateError::Inclusion { source: ProofError::RootMismatch, .. }),
        ),
        (
            "proof path shortened",
            |c| {
                c.inclusion.path.pop();
            },
            |e| matches!(e, CertificateError::Inclusion { source: ProofError::WrongLength, .. }),
        ),
        (
            "proof size",
            |c| c.inclusion.size = 9,
            |e| matches!(e, CertificateError::ProofSize { proof: 9, checkpoint: 10 }),
        ),
        ("origin", |c| c.origin = OTHER.into(), |e| matches!(e, CertificateError::CheckpointOrigin { .. })),
        (
            "checkpoint edited",
            |c| c.checkpoint = c.checkpoint.replacen("\n10\n", "\n11\n", 1),
            |e| matches!(e, CertificateError::Checkpoint(NoteError::BadSignature { .. })),
        ),
    ];
    for (what, tamper, expected) in table {
        let mut c = cert();
        tamper(&mut c);
        assert_eq!(pinned(&c), Err(CertificateError::Signature), "{what}, not re-signed");
        c.danger_resign(&key()).unwrap();
        let err = pinned(&c).expect_err(what);
        assert!(expected(&err), "{what}, re-signed: {err:?} / {err}");
        assert!(verify_certificate(&c, None).is_err(), "{what}, unpinned");
    }

    // The checkpoint swapped for other valid notes.
    let swaps = [
        // An older checkpoint of the same log, with the proof left for the newer tree.
        (note(&log_with(&deletion_entry(&deletion())), 6, ORIGIN, &key()), "size"),
        // Another log's checkpoint, signed by another vault.
        (note(&other_log, 10, OTHER, &other_key()), "other key"),
        // Another log's checkpoint, same key, same size.
        (note(&other_log, 10, ORIGIN, &key()), "other root"),
        // The same tree under another origin, same key.
        (note(&log_with(&deletion_entry(&deletion())), 10, OTHER, &key()), "other origin"),
    ];
    for (swap, what) in swaps {
        let mut c = cert();
        c.checkpoint = swap;
        assert_eq!(pinned(&c), Err(CertificateError::Signature), "{what}");
        c.danger_resign(&key()).unwrap();
        let err = pinned(&c).unwrap_err();
        let ok = match what {
            "size" => matches!(err, CertificateError::ProofSize { proof: 10, checkpoint: 6 }),
            "other key" => matches!(err, CertificateError::Checkpoint(NoteError::NoValidSignature { .. })),
            "other root" => {
                matches!(err, CertificateError::Inclusion { source: ProofError::RootMismatch, .. })
            }
            _ => matches!(err, CertificateError::CheckpointOrigin { .. }),
        };
        assert!(ok, "checkpoint swap ({what}): {err:?}");
    }
}

#[test]
fn malformed_fields_are_refused_before_any_cryptography() {
    let table: Vec<(&str, Tamper, CertificateError)> = vec![
        ("format", |c| c.format = 2, CertificateError::Format { found: 2 }),
        (
            "signature byte",
            |c| c.signature = c.signature.replacen(&c.signature[..4], "AAAA", 1),
            CertificateError::Signature,
        ),
        (
            "signature length",
            |c| c.signature = "AAAA".into(),
            CertificateError::Field { field: "signature", reason: "is not base64 of 64 bytes" },
        ),
        (
            "entry base64",
            |c| c.entry.push('!'),
            CertificateError::Field { field: "entry", reason: "is not base64" },
        ),
        (
            "destroyed_at form",
            |c| c.destroyed_at = "2026-09-21T14:13:20Z".into(),
            CertificateError::Field {
                field: "destroyed_at",
                reason: "is not RFC 3339 UTC of the form YYYY-MM-DDTHH:MM:SS.ffffffZ",
            },
        ),
        (
            "subject with a space",
            |c| c.subject = "Jane Doe".into(),
            CertificateError::Field {
                field: "subject",
                reason: "subject:<subject> is not an id token (1 to 128 bytes of A-Z a-z 0-9 . _ : @ / -)",
            },
        ),
        (
            "empty destroyed list",
            |c| c.destroyed.clear(),
            CertificateError::Field { field: "destroyed", reason: "lists nothing" },
        ),
        (
            "rule with a newline",
            |c| c.rule = "bipa\n3y".into(),
            CertificateError::Field { field: "rule", reason: "contains a control character" },
        ),
        (
            "key not destroyed",
            |c| c.key_id = Some("subject-key:s-1".into()),
            CertificateError::KeyNotDestroyed { key_id: "subject-key:s-1".into() },
        ),
        (
            "verifier key",
            |c| c.verifier = "x+00000000+AAAA".into(),
            CertificateError::VerifierKey(NoteError::BadKey("not an Ed25519 key")),
        ),
    ];
    for (what, tamper, expected) in table {
        let mut c = cert();
        tamper(&mut c);
        assert_eq!(pinned(&c), Err(expected), "{what}");
    }
    // A certificate signed by someone else's key names both keys (if pinned).
    let mut c = cert();
    c.danger_resign(&other_key()).unwrap();
    assert!(matches!(
        verify_certificate(&c, None),
        Err(CertificateError::Checkpoint(NoteError::NoValidSignature { .. }))
    ));
    assert_eq!(
        pinned(&c),
        Err(CertificateError::UntrustedKey {
            found: other_key().verifier().to_string(),
            pinned: key().verifier().to_string()
        })
    );
}

#[test]
fn another_vaults_certificate_verifies_only_unpinned() {
    let c = issue_with(&deletion(), &deletion_entry(&deletion()), OTHER, &other_key()).unwrap();
    let v = verify_certificate(&c, None).unwrap();
    assert!(!v.key_pinned);
    assert_eq!(v.verifier, other_key().verifier());
    let err = pinned(&c).unwrap_err();
    assert!(matches!(&err, CertificateError::UntrustedKey { .. }), "{err:?}");
    assert!(err.to_string().contains(&key().verifier().to_string()), "{err}");
}

#[test]
fn issue_refuses_what_verify_would_refuse() {
    let d = deletion();
    let entry = deletion_entry(&d);
    let check = |d: &Deletion, e: &AuditEntry| issue_with(d, e, ORIGIN, &key()).unwrap_err();
    let denied = AuditEntry { decision: Decision::Denied, ..entry.clone() };
    assert_eq!(check(&d, &denied), CertificateError::EntryDecision { index: INDEX });
    let other = AuditEntry { object: token("object", "subject:s-1"), ..entry.clone() };
    assert!(matches!(check(&d, &other), CertificateError::EntryObject { .. }));
    let fewer = Deletion { destroyed: d.destroyed[1..].to_vec(), ..d.clone() };
    assert!(matches!(check(&fewer, &entry), CertificateError::EntryReason { .. }));
    let no_key = Deletion { destroyed: d.destroyed[..3].to_vec(), ..d.clone() };
    assert!(matches!(check(&no_key, &deletion_entry(&no_key)), CertificateError::KeyNotDestroyed { .. }));

    // A proof that does not lead to the checkpoint's root, or to another size.
    let log = log_with(&entry);
    let n = note(&log, 10, ORIGIN, &key());
    let mut proof = log.inclusion_proof(INDEX, 10).unwrap();
    proof.path[1] = Hash([0; 32]);
    let err = issue_certificate(&d, &entry.encode(), &proof, &n, &key()).unwrap_err();
    assert_eq!(err, CertificateError::Inclusion { index: INDEX, source: ProofError::RootMismatch });
    let proof = log.inclusion_proof(INDEX, 8).unwrap();
    let err = issue_certificate(&d, &entry.encode(), &proof, &n, &key()).unwrap_err();
    assert_eq!(err, CertificateError::ProofSize { proof: 8, checkpoint: 10 });
    // Another entry than the proof's.
    let proof = log.inclusion_proof(INDEX, 10).unwrap();
    let err = issue_certificate(&d, &noise(0).encode(), &proof, &n, &key()).unwrap_err();
    assert!(matches!(err, CertificateError::Inclusion { .. }), "{err:?}");
    // A checkpoint the key did not sign.
    let err = issue_certificate(&d, &entry.encode(), &proof, &note(&log, 10, OTHER, &other_key()), &key())
        .unwrap_err();
    assert!(matches!(err, CertificateError::Checkpoint(NoteError::NoValidSignature { .. })), "{err:?}");
    // No key was shredded: fine.
    let kept = Deletion { key_id: None, destroyed: d.destroyed[..1].to_vec(), ..d.clone() };
    pinned(&issue_with(&kept, &deletion_entry(&kept), ORIGIN, &key()).unwrap()).unwrap();
}

#[test]
fn the_deletion_reason_commits_to_the_list_and_fits_any_length() {
    let r = deletion_reason("bipa-3y", &[item("scan:1", "scan")]).unwrap();
    let hex = r.strip_prefix("rule bipa-3y; destroyed sha256:").unwrap();
    assert_eq!(hex.len(), 64);
    assert!(hex.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    // The digest is SHA-256 of the documented encoding.
    use sha2::{Digest, Sha256};
    // field(label) || u32 count || field(id) || field(kind), each field a u32 length and bytes.
    let b = b"\0\0\0\x1efacevault destroyed objects v1\0\0\0\x01\0\0\0\x06scan:1\0\0\0\x04scan";
    let want: String = Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect();
    assert_eq!(hex, want);

    // Length prefixes keep boundaries: these lists differ, so do their reasons.
    let pairs = [
        (vec![item("a", "bc")], vec![item("ab", "c")]),
        (vec![item("a", "b"), item("c", "d")], vec![item("c", "d"), item("a", "b")]),
        (vec![item("a", "b")], vec![item("a", "b"), item("a", "b")]),
    ];
    for (x, y) in pairs {
        assert_ne!(deletion_reason("r", &x).unwrap(), deletion_reason("r", &y).unwrap(), "{x:?} {y:?}");
    }
    let many: Vec<Destroyed> = (0..MAX_DESTROYED).map(|i| item(&format!("scan:{i}"), "scan")).collect();
    assert!(deletion_reason(&"r".repeat(256), &many).unwrap().len() <= MAX_REASON);
    let field = |e| match e {
        Err(CertificateError::Field { field, .. }) => field,
        other => panic!("{other:?}"),
    };
    let too_many: Vec<Destroyed> = (0..=MAX_DESTROYED).map(|_| item("x", "scan")).collect();
    assert_eq!(field(deletion_reason("r", &too_many)), "destroyed");
    assert_eq!(field(deletion_reason(&"r".repeat(257), &many[..1])), "rule");
    assert_eq!(field(deletion_reason("", &many[..1])), "rule");
    assert_eq!(field(deletion_reason("r\u{7}", &many[..1])), "rule");
    assert_eq!(field(deletion_reason("r", &[item("", "scan")])), "destroyed.id");
    assert_eq!(field(deletion_reason("r", &[item("x", &"k".repeat(257))])), "destroyed.kind");
}

proptest! {
    #[test]
    fn any_valid_rule_and_list_give_a_valid_reason(
        rule in "\\PC{1,64}",
        list in proptest::collection::vec(("\\PC{1,40}", "[a-z-]{1,20}"), 1..50),
    ) {
        let list: Vec<Destroyed> = list.into_iter().map(|(id, kind)| Destroyed { id, kind }).collect();
        let r = deletion_reason(&rule, &list).unwrap();
        prop_assert!(r.len() <= MAX_REASON);
        prop_assert!(Reason::new(&r).is_ok());
    }

    #[test]
    fn an_edited_certificate_never_verifies_and_never_panics(at in 0usize..4000, byte: u8) {
        let c = cert();
        let mut json = serde_json::to_vec_pretty(&c).unwrap();
        let at = at % json.len();
        prop_assume!(json[at] != byte);
        json[at] = byte;
        if let Ok(edited) = serde_json::from_slice::<DeletionCertificate>(&json) {
            if verify_certificate(&edited, None).is_ok() {
                prop_assert_eq!(edited, c);
            }
        }
    }
}
