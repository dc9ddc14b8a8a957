//! `facevault certificate verify FILE`: checks a deletion certificate offline (no vault, no
//! passphrase). The application issues them (`facevault_app`, from a destruction's durable
//! audit entry).
//!
//! The format and the checks are in `docs/audit-log.md` ("Deletion certificates"); the work is
//! `facevault_audit::certificate`. Exit codes: 3 if FILE is not a certificate (or `--verifier`
//! is not a key), 7 if it does not verify.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Subcommand;
use facevault_audit::{verify_certificate, DeletionCertificate, Destroyed, VerifiedDeletion, VerifierKey};
use serde::Serialize;

use super::Failure;

/// Certificates larger than this are refused unread (100 000 objects fit in far less).
const MAX_FILE: u64 = 64 << 20;

#[derive(Debug, Subcommand)]
pub enum CertificateCommand {
    /// Check a deletion certificate offline: its signature, the signed checkpoint, the
    /// inclusion proof of the deletion's audit entry, and that the entry records this
    /// deletion. Exit code 7, naming the failed check, if it does not verify.
    Verify {
        /// The certificate (JSON).
        file: PathBuf,
        /// The vault's published verifier key (`<name>+<id>+<key>`, as `facevault audit
        /// checkpoint` prints it), or a file holding it. Without it the certificate is checked
        /// against the key it carries, and the output says the key was not pinned.
        #[arg(long, value_name = "KEY")]
        verifier: Option<String>,
        /// Print the verified certificate's summary as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: CertificateCommand) -> Result<()> {
    match cmd {
        CertificateCommand::Verify { file, verifier, json } => verify(&file, verifier.as_deref(), json),
    }
}

/// The `--verifier` key: the vkey text itself, or a file holding it.
fn pinned_key(arg: &str) -> Result<VerifierKey> {
    if let Ok(k) = VerifierKey::parse(arg.trim()) {
        return Ok(k);
    }
    let text = std::fs::read_to_string(arg)
        .map_err(|_| Failure::Input(format!("--verifier: not a verifier key, nor a readable file: {arg}")))?;
    VerifierKey::parse(text.trim()).map_err(|e| Failure::Input(format!("--verifier {arg}: {e}")).into())
}

fn read_certificate(path: &Path) -> Result<DeletionCertificate> {
    let input = |why: String| Failure::Input(format!("{}: {why}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| input(e.to_string()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1).read_to_end(&mut bytes).map_err(|e| input(e.to_string()))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(input("larger than 64 MiB; not a deletion certificate".into()).into());
    }
    serde_json::from_slice(&bytes).map_err(|e| input(format!("not a deletion certificate: {e}")).into())
}

fn verify(path: &Path, verifier: Option<&str>, json: bool) -> Result<()> {
    let trusted = verifier.map(pinned_key).transpose()?;
    let cert = read_certificate(path)?;
    let v = verify_certificate(&cert, trusted.as_ref()).map_err(|e| {
        Failure::Damaged(format!("{}: the deletion certificate does not verify: {e}", path.display()))
    })?;
    if json {
        super::print_json(&Summary::new(&cert, &v))?;
    } else {
        print_summary(path, &cert, &v);
    }
    Ok(())
}

/// The `--json` output: what the certificate says and what verification established.
#[derive(Serialize)]
struct Summary<'a> {
    verified: bool,
    key_pinned: bool,
    subject: &'a str,
    destroyed: &'a [Destroyed],
    destroyed_at: &'a str,
    rule: &'a str,
    key_id: Option<&'a str>,
    entry_index: u64,
    action: &'a str,
    actor: &'a str,
    origin: &'a str,
    checkpoint_size: u64,
    checkpoint_root: String,
    verifier: String,
}

impl<'a> Summary<'a> {
    fn new(cert: &'a DeletionCertificate, v: &'a VerifiedDeletion) -> Summary<'a> {
        Summary {
            verified: true,
            key_pinned: v.key_pinned,
            subject: &cert.subject,
            destroyed: &cert.destroyed,
            destroyed_at: &cert.destroyed_at,
            rule: &cert.rule,
            key_id: cert.key_id.as_deref(),
            entry_index: cert.entry_index,
            action: v.entry.action.as_str(),
            actor: v.entry.actor.as_str(),
            origin: &v.checkpoint.origin,
            checkpoint_size: v.checkpoint.size,
            checkpoint_root: v.checkpoint.root.to_base64(),
            verifier: v.verifier.to_string(),
        }
    }
}

fn print_summary(path: &Path, cert: &DeletionCertificate, v: &VerifiedDeletion) {
    println!("deletion certificate OK: {}", path.display());
    println!("subject       {}", cert.subject);
    println!("destroyed     {} object(s)", cert.destroyed.len());
    let width = cert.destroyed.iter().map(|d| d.kind.chars().count()).max().unwrap_or(0);
    for d in &cert.destroyed {
        println!("  {:<width$}  {}", d.kind, d.id);
    }
    println!("destroyed at  {}", cert.destroyed_at);
    println!("rule          {}", cert.rule);
    println!("key shredded  {}", cert.key_id.as_deref().unwrap_or("none"));
    println!("audit entry   {} ({} by {})", cert.entry_index, v.entry.action, v.entry.actor);
    println!("checkpoint    {} size {}, root {}", v.checkpoint.origin, v.checkpoint.size, v.checkpoint.root);
    println!("signed by     {}", v.verifier);
    if v.key_pinned {
        println!("key           pinned: the --verifier key signed it");
    } else {
        println!(
            "key           NOT pinned: compare the key above with the vault's published verifier key, \
             or pass it with --verifier"
        );
    }
}

#[cfg(test)]
mod tests {
    use facevault_audit::{issue_from_log, AuditLog, Deletion, DeletionCertificate, Destroyed, SigningKey};
    use facevault_store_sql::SqlLogStore;

    /// Issues the deletion certificate for audit entry `index` (already appended) against the
    /// signed checkpoint `note` (already signed by `key` over a tree that holds the entry): reads
    /// the entry and builds its inclusion proof to the note's size. The entry's reason must be
    /// `facevault_audit::deletion_reason(rule, &destroyed)`, its object `subject:<subject>`, and a
    /// shredded `key_id` must also be listed in `destroyed` with kind `data-key`.
    #[allow(clippy::too_many_arguments)]
    fn issue_for_entry(
        log: &AuditLog<SqlLogStore>,
        note: &str,
        key: &SigningKey,
        index: u64,
        subject: &str,
        destroyed: Vec<Destroyed>,
        rule: &str,
        key_id: Option<String>,
    ) -> Result<DeletionCertificate> {
        let deletion = Deletion { subject: subject.to_owned(), destroyed, rule: rule.to_owned(), key_id };
        issue_from_log(log, note, key, index, &deletion).map_err(|e| {
            Failure::Damaged(format!("deletion certificate for audit entry {index}: {e}")).into()
        })
    }

    use facevault_audit::{
        deletion_reason, sign_checkpoint, AuditEntry, CertificateError, Decision, Reason, Timestamp, Token,
    };

    use super::*;

    const ORIGIN: &str = "facevault.vault/test";

    fn deletion_entry(reason: &str) -> AuditEntry {
        let t = |f, s: &str| Token::new(f, s).unwrap();
        AuditEntry {
            actor: t("actor", "retention-engine"),
            role: t("role", "system"),
            action: t("action", "retention-enforce"),
            purpose: t("purpose", "retention"),
            object: t("object", "subject:s-42"),
            decision: Decision::Allowed,
            reason: Reason::new(reason).unwrap(),
            time: Timestamp::from_unix_micros(1_800_000_000_000_000).unwrap(),
        }
    }

    #[test]
    fn issue_for_entry_proves_a_logged_deletion_from_the_sql_log() {
        let dir = std::env::temp_dir().join(format!("facevault-certificate-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = SigningKey::generate(ORIGIN).unwrap();
        let destroyed = vec![
            Destroyed { id: "scan:1".into(), kind: "scan".into() },
            Destroyed { id: "subject-key:s-42".into(), kind: "data-key".into() },
        ];
        let reason = deletion_reason("request-9", &destroyed).unwrap();
        let mut log = AuditLog::open(SqlLogStore::open_sqlite(&dir.join("vault.db")).unwrap()).unwrap();
        let other = AuditEntry { object: Token::new("object", "scan:7").unwrap(), ..deletion_entry("read") };
        log.append_batch(&[other.clone(), other.clone(), other.clone()]).unwrap();
        let index = log.append(&deletion_entry(&reason)).unwrap();
        log.append(&other).unwrap();
        let note = sign_checkpoint(&log.checkpoint(ORIGIN), &key).unwrap();

        let issue = |rule: &str, index| {
            issue_for_entry(
                &log,
                &note,
                &key,
                index,
                "s-42",
                destroyed.clone(),
                rule,
                Some("subject-key:s-42".into()),
            )
        };
        let cert = issue("request-9", index).unwrap();
        assert_eq!((cert.entry_index, cert.inclusion.size), (3, 5));
        let v = verify_certificate(&cert, Some(&key.verifier())).unwrap();
        assert_eq!(v.entry, deletion_entry(&reason));

        // Another rule than the logged one, another entry, an entry past the checkpoint.
        let err = issue("bipa-3y", index).unwrap_err();
        assert!(err.to_string().contains("reason"), "{err:#}");
        let err = issue("request-9", 1).unwrap_err();
        assert!(err.to_string().contains("entry 1"), "{err:#}");
        let err = issue("request-9", 5).unwrap_err();
        assert!(err.to_string().contains("covers only 5"), "{err:#}");
        assert!(matches!(
            verify_certificate(&cert, Some(&SigningKey::generate(ORIGIN).unwrap().verifier())),
            Err(CertificateError::UntrustedKey { .. })
        ));
        log.into_store().close();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
