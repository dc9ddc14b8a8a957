//! The audit commands on a real vault: vault commands append entries, `audit verify` accepts the
//! log and names the first edited row (exit 7), and the printed proofs check out with the audit
//! crate's verifiers and the published checkpoints alone.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use facevault_audit::{
    leaf_hash, open_checkpoint, AuditEntry, Checkpoint, ConsistencyProof, Decision, InclusionProof,
    VerifierKey,
};

const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const NAME: &str = "Zenobia Quartermaine-Osei";

fn fv(vault: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_facevault"));
    cmd.arg("--vault").arg(vault).args(args).stdin(Stdio::null());
    for var in ["FACEVAULT_PASSPHRASE", "FACEVAULT_DIR", "FACEVAULT_ACTOR", "FACEVAULT_ROLE"] {
        cmd.env_remove(var);
    }
    cmd.env("FACEVAULT_KEK", K1);
    cmd.output().unwrap()
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("facevault-audit-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The signed checkpoint note and the verifier key `audit checkpoint` publishes.
fn checkpoint(vault: &Path) -> (String, VerifierKey) {
    let o = fv(vault, &["audit", "checkpoint"]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let note = ok(o);
    let vkey = err.lines().find_map(|l| l.strip_prefix("verifier key: ")).unwrap();
    (note, VerifierKey::parse(vkey.trim()).unwrap())
}

fn opened(note: &str, vkey: &VerifierKey) -> Checkpoint {
    let origin = note.lines().next().unwrap();
    open_checkpoint(note, vkey, origin).unwrap()
}

fn sql(db: &Path, statement: &'static str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}", db.display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        let done = sqlx::query(statement).execute(&pool).await.unwrap();
        assert_eq!(done.rows_affected(), 1);
        pool.close().await;
    });
}

#[test]
fn vault_commands_are_logged_proven_and_tampering_is_named() {
    let dir = scratch("lifecycle");
    let vault = dir.join("vault");
    ok(fv(&vault, &["init"]));
    let (first_note, vkey) = checkpoint(&vault);
    let first = opened(&first_note, &vkey);
    assert_eq!(first.size, 1, "init is the first entry");

    let subject =
        ok(fv(&vault, &["--actor", "u-17", "--role", "front_desk", "subject", "add", "--name", NAME]));
    let subject = subject.trim();
    // No consent yet: the read is denied, and the denial is logged (entry 2).
    let o = fv(&vault, &["--actor", "u-17", "--role", "surgeon", "subject", "show", subject]);
    assert_eq!(o.status.code(), Some(8), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no consent"));
    let consent = dir.join("consent.toml");
    std::fs::write(
        &consent,
        "jurisdiction = \"IL\"\ncollect = true\n[notice]\nversion = \"il-1\"\ntext = \"We use your scan to plan treatment and keep it 3 years.\"\n\
         covers = [\"purposes\", \"retention\"]\n[signature]\nmethod = \"electronic\"\ntyped_name = \"Z. Q.-O.\"\n\
         [[purpose]]\nid = \"treatment-planning\"\nretention = \"3y\"\n",
    )
    .unwrap();
    ok(fv(
        &vault,
        &["--actor", "u-9", "--role", "front_desk", "consent", "add", subject, consent.to_str().unwrap()],
    ));
    ok(fv(&vault, &["--actor", "u-17", "--role", "surgeon", "subject", "show", subject]));
    ok(fv(&vault, &["subject", "list"]));
    // A name where a pseudonymous id belongs is refused before the command runs.
    let o = fv(&vault, &["--actor", NAME, "subject", "list"]);
    assert_eq!(o.status.code(), Some(3), "{}", String::from_utf8_lossy(&o.stderr));
    // Reads of the log are journaled too: the first `audit checkpoint` is entry 1.
    let out = ok(fv(&vault, &["audit", "verify"]));
    assert!(out.contains("7 entries"), "{out}");

    let printed: serde_json::Value =
        serde_json::from_str(&ok(fv(&vault, &["audit", "prove", "--entry", "3"]))).unwrap();
    let denied = AuditEntry::decode(&B64.decode(printed["entry"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!((denied.action.as_str(), denied.decision), ("subject.read", Decision::Denied));
    assert!(denied.reason.as_str().contains("no consent"), "{}", denied.reason.as_str());

    // Inclusion: entry 5 (the allowed `subject show`) against the checkpoint the proof names,
    // with no FaceVault code but the audit crate's verifier. The published checkpoint covers
    // every entry before the read that fetched it (nine: the reads of the log are entries too).
    let (note, vkey2) = checkpoint(&vault);
    assert_eq!(vkey2.to_string(), vkey.to_string(), "one key for the vault's life");
    let cp = opened(&note, &vkey);
    assert_eq!(cp.size, 9);
    let printed: serde_json::Value =
        serde_json::from_str(&ok(fv(&vault, &["audit", "prove", "--entry", "5"]))).unwrap();
    let proof: InclusionProof = serde_json::from_value(printed.clone()).unwrap();
    let bytes = B64.decode(printed["entry"].as_str().unwrap()).unwrap();
    let at = opened(printed["checkpoint"].as_str().unwrap(), &vkey);
    assert_eq!((proof.size, at.size), (10, 10), "the latest checkpoint: it covers the read before");
    proof.verify(&leaf_hash(&bytes), &at.root).unwrap();
    let other = AuditEntry::decode(&B64.decode(printed["entry"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(
        (other.actor.as_str(), other.role.as_str(), other.action.as_str(), other.decision),
        ("u-17", "surgeon", "subject.read", Decision::Allowed)
    );
    assert_eq!(other.object.as_str(), format!("subject:{subject}"));
    assert!(other.reason.as_str().contains("surgeon-clinical"), "the permitting policy is named");
    assert!(!String::from_utf8_lossy(&bytes).contains("Zenobia"), "no identity in the log");
    // A proof for another entry does not pass for this one.
    let wrong =
        AuditEntry { action: facevault_audit::Token::new("action", "subject.list").unwrap(), ..other };
    assert!(proof.verify(&leaf_hash(&wrong.encode()), &at.root).is_err());

    // Consistency from the checkpoint published right after init to the latest one; the tree
    // the earlier `audit checkpoint` published is a prefix of it too.
    let printed: serde_json::Value =
        serde_json::from_str(&ok(fv(&vault, &["audit", "consistency", "--from", "1"]))).unwrap();
    let proof: ConsistencyProof = serde_json::from_value(printed.clone()).unwrap();
    let latest = opened(printed["checkpoint"].as_str().unwrap(), &vkey);
    assert_eq!((proof.old_size, proof.new_size), (1, latest.size));
    proof.verify(&first.root, &latest.root).unwrap();
    let printed: serde_json::Value =
        serde_json::from_str(&ok(fv(&vault, &["audit", "consistency", "--from", "9"]))).unwrap();
    let proof: ConsistencyProof = serde_json::from_value(printed.clone()).unwrap();
    let latest = opened(printed["checkpoint"].as_str().unwrap(), &vkey);
    proof.verify(&cp.root, &latest.root).unwrap();

    // An attacker with write access to vault.db turns the denial (entry 3) into another entry.
    sql(
        &vault.join("vault.db"),
        "UPDATE audit_entries SET entry = (SELECT entry FROM audit_entries WHERE idx = 4) WHERE idx = 3",
    );
    let o = fv(&vault, &["audit", "verify"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(7), "{err}");
    assert!(err.contains("entry 3 "), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_signing_key_is_sealed_under_the_vault_key() {
    let dir = scratch("sealed");
    let vault = dir.join("vault");
    ok(fv(&vault, &["init"]));
    let (_, vkey) = checkpoint(&vault);
    let file = std::fs::read_to_string(vault.join("audit-signing.key")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&file).unwrap();
    let sealed = B64.decode(json["sealed_key"].as_str().unwrap()).unwrap();
    // The private key (base64 in the note-key text form) appears nowhere in plaintext.
    assert!(!file.contains("PRIVATE+KEY"), "{file}");
    assert!(!String::from_utf8_lossy(&sealed).contains("PRIVATE"));
    // Another KEK cannot open it: the audit commands refuse with exit code 5.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_facevault"));
    cmd.arg("--vault").arg(&vault).args(["audit", "verify"]).stdin(Stdio::null());
    cmd.env("FACEVAULT_KEK", "ff02030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    cmd.env_remove("FACEVAULT_PASSPHRASE");
    let o = cmd.output().unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(json["verifier"].as_str().unwrap() == vkey.to_string());
    let _ = std::fs::remove_dir_all(dir);
}
