//! `facevault certificate verify` on certificates built with the audit library (the vault
//! commands that issue them come separately): a good one is summarised (exit 0), an edited one
//! is refused naming the failed check (exit 7), a file that is no certificate is exit 3.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use facevault_audit::{
    deletion_reason, issue_certificate, sign_checkpoint, AuditEntry, AuditLog, Decision, Deletion,
    DeletionCertificate, Destroyed, MemoryStore, Reason, SigningKey, Timestamp, Token,
};

const ORIGIN: &str = "facevault.vault/5f0c7e1a9b2d4c6e8f0a1b2c3d4e5f60";
const SUBJECT: &str = "s-9d41c0";

fn fv(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_facevault"));
    cmd.args(args).stdin(Stdio::null());
    for var in ["FACEVAULT_PASSPHRASE", "FACEVAULT_DIR", "FACEVAULT_KEK"] {
        cmd.env_remove(var);
    }
    cmd.output().unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("facevault-certificate-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn token(field: &'static str, s: &str) -> Token {
    Token::new(field, s).unwrap()
}

/// A log of a few reads, the deletion of SUBJECT, one more read; the certificate of that
/// deletion against the signed checkpoint of all seven.
fn certificate(key: &SigningKey) -> DeletionCertificate {
    let deletion = Deletion {
        subject: SUBJECT.into(),
        destroyed: vec![
            Destroyed { id: "scan:3f9a".into(), kind: "scan".into() },
            Destroyed { id: "derivative:77c1".into(), kind: "derivative".into() },
            Destroyed { id: format!("subject-key:{SUBJECT}"), kind: "data-key".into() },
        ],
        rule: "bipa-3y".into(),
        key_id: Some(format!("subject-key:{SUBJECT}")),
    };
    let entry = |i: i64, object: &str, action: &str, reason: &str| AuditEntry {
        actor: token("actor", "retention-engine"),
        role: token("role", "system"),
        action: token("action", action),
        purpose: token("purpose", "retention"),
        object: token("object", object),
        decision: Decision::Allowed,
        reason: Reason::new(reason).unwrap(),
        time: Timestamp::from_unix_micros(1_795_000_000_000_000 + i).unwrap(),
    };
    let reason = deletion_reason(&deletion.rule, &deletion.destroyed).unwrap();
    let mut all: Vec<AuditEntry> = (0..5).map(|i| entry(i, "scan:3f9a", "read", "policy p-1")).collect();
    all.push(entry(5, &format!("subject:{SUBJECT}"), "retention-enforce", &reason));
    all.push(entry(6, "scan:0000", "read", "policy p-1"));
    let mut log = AuditLog::open(MemoryStore::new()).unwrap();
    log.append_batch(&all).unwrap();
    let note = sign_checkpoint(&log.checkpoint(ORIGIN), key).unwrap();
    let proof = log.inclusion_proof(5, log.size()).unwrap();
    issue_certificate(&deletion, &all[5].encode(), &proof, &note, key).unwrap()
}

fn write(dir: &Path, name: &str, value: &impl serde::Serialize) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn failed(o: &Output, code: i32) -> String {
    assert_eq!(o.status.code(), Some(code), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stdout.is_empty());
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn a_certificate_verifies_and_is_summarised() {
    let dir = scratch("good");
    let key = SigningKey::generate(ORIGIN).unwrap();
    let file = write(&dir, "cert.json", &certificate(&key));

    let text = stdout(&fv(&["certificate", "verify", &file]));
    for line in [
        "deletion certificate OK: ",
        "subject       s-9d41c0\n",
        "destroyed     3 object(s)\n",
        "  scan        scan:3f9a\n",
        "  derivative  derivative:77c1\n",
        "  data-key    subject-key:s-9d41c0\n",
        "destroyed at  2026-11-18T11:06:40.000005Z\n",
        "rule          bipa-3y\n",
        "key shredded  subject-key:s-9d41c0\n",
        "audit entry   5 (retention-enforce by retention-engine)\n",
        &format!("checkpoint    {ORIGIN} size 7, root "),
        &format!("signed by     {}\n", key.verifier()),
        "key           NOT pinned",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }

    // Pinned to the vault's key, given as text or as a file.
    let vkey = key.verifier().to_string();
    let text = stdout(&fv(&["certificate", "verify", &file, "--verifier", &vkey]));
    assert!(text.contains("key           pinned"), "{text}");
    let vkey_file = dir.join("vault.vkey");
    std::fs::write(&vkey_file, format!("{vkey}\n")).unwrap();
    let json =
        stdout(&fv(&["certificate", "verify", &file, "--verifier", vkey_file.to_str().unwrap(), "--json"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["key_pinned"], true);
    assert_eq!(v["subject"], SUBJECT);
    assert_eq!(v["destroyed"][2]["kind"], "data-key");
    assert_eq!(v["entry_index"], 5);
    assert_eq!(v["checkpoint_size"], 7);
    assert_eq!(v["action"], "retention-enforce");
}

#[test]
fn an_edited_certificate_exits_7_naming_the_check() {
    let dir = scratch("edited");
    let key = SigningKey::generate(ORIGIN).unwrap();
    let good = certificate(&key);

    // One field edited: the signature no longer verifies.
    let mut c = good.clone();
    c.destroyed.remove(0);
    let err = failed(&fv(&["certificate", "verify", &write(&dir, "dropped.json", &c)]), 7);
    assert!(
        err.contains("dropped.json: the deletion certificate does not verify: the certificate signature"),
        "{err}"
    );

    // Edited and re-signed by the vault key: the audit entry no longer matches.
    c.danger_resign(&key).unwrap();
    let err = failed(&fv(&["certificate", "verify", &write(&dir, "resigned.json", &c)]), 7);
    assert!(err.contains("entry 5's reason"), "{err}");
    let mut c = good.clone();
    c.destroyed_at = "2026-11-18T11:06:40.000006Z".into();
    c.danger_resign(&key).unwrap();
    let err = failed(&fv(&["certificate", "verify", &write(&dir, "time.json", &c)]), 7);
    assert!(err.contains("not at destroyed_at 2026-11-18T11:06:40.000006Z"), "{err}");

    // Another vault's key pinned.
    let other = SigningKey::generate("facevault.vault/other").unwrap().verifier().to_string();
    let file = write(&dir, "good.json", &good);
    let err = failed(&fv(&["certificate", "verify", &file, "--verifier", &other]), 7);
    assert!(err.contains("not by the pinned key"), "{err}");
}

#[test]
fn a_file_that_is_not_a_certificate_exits_3() {
    let dir = scratch("input");
    let key = SigningKey::generate(ORIGIN).unwrap();
    let not_json = dir.join("scan.ply");
    std::fs::write(&not_json, "ply\nformat ascii 1.0\n").unwrap();
    let err = failed(&fv(&["certificate", "verify", not_json.to_str().unwrap()]), 3);
    assert!(err.contains("scan.ply: not a deletion certificate"), "{err}");

    let mut v = serde_json::to_value(certificate(&key)).unwrap();
    v.as_object_mut().unwrap().remove("signature");
    let err = failed(&fv(&["certificate", "verify", &write(&dir, "unsigned.json", &v)]), 3);
    assert!(err.contains("missing field `signature`"), "{err}");
    let missing = dir.join("absent.json");
    failed(&fv(&["certificate", "verify", missing.to_str().unwrap()]), 3);
    let file = write(&dir, "good.json", &certificate(&key));
    let err = failed(&fv(&["certificate", "verify", &file, "--verifier", "not-a-key"]), 3);
    assert!(err.contains("--verifier"), "{err}");
}
