//! `facevault subject export SUBJECT OUT`: the data subject's access and portability package
//! (built by `facevault-export`), encrypted to a passphrase and written with `write_private`.
//!
//! The audit log lives in `vault.db` behind `SqlLogStore`, which blocks on a runtime of its own
//! and so must not run on the command's async runtime: its entries are read on a plain scoped
//! thread that the command joins (the current-thread runtime has nothing else to run
//! meanwhile). The package therefore holds the entries appended before this command; the
//! export's own decision is appended when the command ends, like every other.

use std::path::Path;

use anyhow::Result;
use facevault_export::{audit_about, objects_of, ExportError, Seal};
use facevault_policy::Action;
use facevault_store_sql::SqlLogStore;
use facevault_vault::{SubjectId, Target};
use zeroize::Zeroizing;

use super::vault::{fail, write_private, Ctx, Vault, DB_FILE};
use super::Failure;

/// The variable an export's passphrase may come from (else one is generated and printed).
pub const PASSPHRASE_VAR: &str = "FACEVAULT_EXPORT_PASSPHRASE";

/// Runs the export: decides it, collects the package and the audit entries, writes `out`.
pub(crate) async fn export(
    vault: &Vault,
    ctx: &Ctx<'_>,
    subject: SubjectId,
    out: &Path,
    purpose: &str,
) -> Result<()> {
    let (seal, generated) = passphrase()?;
    let grant = ctx
        .authorize(vault, "subject.export", Action::Export, purpose, Target::Subject(subject), &None)
        .await?;
    let package = vault.subject_package(&grant, subject).await.map_err(fail)?.into_access();
    let objects = objects_of(&package);
    let db = ctx.dir.join(DB_FILE);
    let audit = std::thread::scope(|s| {
        s.spawn(|| {
            let store = SqlLogStore::open_sqlite(&db).map_err(|e| ExportError::Audit(e.to_string()))?;
            let read = audit_about(&store, subject, &objects);
            store.close();
            read
        })
        .join()
        .unwrap_or_else(|_| Err(ExportError::Audit("the reader thread failed".into())))
    })
    .map_err(|e| Failure::Damaged(e.to_string()))?;
    let sealed = facevault_export::package(&package, &audit, seal)?;
    write_private(out, &sealed)?;
    eprintln!(
        "access export of subject {subject} -> {} ({} scan(s), {} derivative(s), {} consent(s), \
         {} disclosure(s), {} audit entries; age, passphrase-encrypted)",
        out.display(),
        package.scans.len(),
        package.derivatives.len(),
        package.consents.len(),
        package.disclosures.len(),
        audit.len()
    );
    if let Some(p) = generated {
        eprintln!(
            "passphrase: {}\nGive it to the patient through another channel than the file \
             (in person, by phone); it is not stored anywhere. Open with: age -d -o export.tar {}",
            p.as_str(),
            out.display()
        );
    }
    Ok(())
}

/// The passphrase from $FACEVAULT_EXPORT_PASSPHRASE, or a generated one (returned a second
/// time to be shown once).
fn passphrase() -> Result<(Seal, Option<Zeroizing<String>>)> {
    if let Ok(p) = std::env::var(PASSPHRASE_VAR) {
        if p.is_empty() {
            return Err(Failure::Input(format!("${PASSPHRASE_VAR} is empty")).into());
        }
        return Ok((Seal::Passphrase(p.into()), None));
    }
    let p = facevault_export::generate_passphrase()?;
    Ok((Seal::Passphrase(p.as_str().to_owned().into()), Some(p)))
}
