//! The interop fixture in `tests/fixtures/`, read by the independent Python verifier
//! (`tests/interop/test_audit.py`). This test rebuilds it and fails if the committed files
//! differ from what the code produces now; `UPDATE_EXPECT=1` rewrites them.

use std::path::PathBuf;

use facevault_audit::{
    sign_checkpoint, AuditEntry, AuditLog, Checkpoint, Decision, Hash, MemoryStore, Reason, SigningKey,
    Timestamp, Token,
};

const ORIGIN: &str = "clinic.example/facevault-audit";
const SIZE: u64 = 37;

/// A fixed test-only key: its seed is public, so nothing it signs is trusted anywhere else.
fn key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, &[0x42; 32]).unwrap()
}

fn entry(i: u64) -> AuditEntry {
    let roles = ["surgeon", "clinical-staff", "front-desk", "marketing", "privacy-officer"];
    let actions = ["read", "analyze", "export", "share", "delete", "consent.record"];
    AuditEntry {
        actor: Token::new("actor", &format!("actor:{:08x}", i.wrapping_mul(2_654_435_761) % 9973)).unwrap(),
        role: Token::new("role", roles[i as usize % roles.len()]).unwrap(),
        action: Token::new("action", actions[i as usize % actions.len()]).unwrap(),
        purpose: Token::new("purpose", if i % 4 == 0 { "research" } else { "treatment-planning" }).unwrap(),
        object: Token::new("object", &format!("scan:{:04}", i * 7 % 50)).unwrap(),
        decision: if i % 3 == 0 { Decision::Denied } else { Decision::Allowed },
        reason: Reason::new(if i % 3 == 0 {
            "no active consent covers the purpose"
        } else {
            "policy default-allow"
        })
        .unwrap(),
        time: Timestamp::from_unix_micros(1_795_000_000_000_000 + i as i64 * 1_250_001).unwrap(),
    }
}

fn files() -> Vec<(&'static str, String)> {
    let mut log = AuditLog::open(MemoryStore::new()).unwrap();
    let entries: Vec<AuditEntry> = (0..SIZE).map(entry).collect();
    log.append_batch(&entries).unwrap();
    let b64 = |b: &[u8]| {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    let roots: Vec<Hash> = (0..=SIZE).map(|n| log.root_at(n).unwrap()).collect();
    let mut inclusion = vec![];
    for n in [1, 2, 7, 8, 13, SIZE] {
        for i in 0..n {
            inclusion.push(log.inclusion_proof(i, n).unwrap());
        }
    }
    let mut consistency = vec![];
    for n in [8, 13, SIZE] {
        for m in 0..=n {
            consistency.push(log.consistency_proof(m, n).unwrap());
        }
    }
    let key = key();
    let checkpoint = sign_checkpoint(&log.checkpoint(ORIGIN), &key).unwrap();
    // Serialised straight from typed values, never through `serde_json::Value`: a `Value` map
    // sorts its keys or keeps insertion order depending on whether some other crate in the
    // build turns on serde_json's `preserve_order` (cedar-policy does), and this file must not
    // change with the workspace around it.
    #[derive(serde::Serialize)]
    struct Fixture<'a, I: serde::Serialize, C: serde::Serialize> {
        origin: &'a str,
        verifier_key: String,
        entries: Vec<String>,
        roots: &'a [Hash],
        inclusion: &'a [I],
        consistency: &'a [C],
    }
    let json = Fixture {
        origin: ORIGIN,
        verifier_key: key.verifier().to_string(),
        entries: entries.iter().map(|e| b64(&e.encode())).collect(),
        roots: &roots,
        inclusion: &inclusion,
        consistency: &consistency,
    };
    // Checkpoints that must not verify: a changed size under the genuine signature, and the
    // right body signed by another key of the same name.
    let forged_size = checkpoint.replacen(&format!("\n{SIZE}\n"), &format!("\n{}\n", SIZE - 1), 1);
    let other = SigningKey::from_seed(ORIGIN, &[0x43; 32]).unwrap();
    let other_key = sign_checkpoint(&log.checkpoint(ORIGIN), &other).unwrap();
    let stale = Checkpoint { size: SIZE - 1, root: roots[SIZE as usize - 1], origin: ORIGIN.into() };
    vec![
        ("log.json", serde_json::to_string_pretty(&json).unwrap() + "\n"),
        ("checkpoint.txt", checkpoint),
        ("verifier.vkey", key.verifier().to_string() + "\n"),
        ("fail_checkpoint_size.txt", forged_size),
        ("fail_checkpoint_other_key.txt", other_key),
        // Genuine, but for 36 entries: verifying all 37 against it must fail.
        ("fail_checkpoint_stale.txt", sign_checkpoint(&stale, &key).unwrap()),
    ]
}

#[test]
fn committed_interop_fixture_matches_the_code() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    for (name, content) in files() {
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &content).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == content,
            "{name} differs from what the code produces; rerun with UPDATE_EXPECT=1"
        );
    }
}
