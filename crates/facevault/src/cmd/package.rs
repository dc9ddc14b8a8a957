//! `facevault subject export SUBJECT OUT`: the data subject's access and portability package
//! (the application's `export_subject`: decided, gathered with the audit entries about the
//! subject, built by `facevault-export`), encrypted to a passphrase and written with
//! `write_private`.

use std::path::Path;

use anyhow::Result;
use facevault_app::Seal;
use facevault_vault::SubjectId;
use zeroize::Zeroizing;

use super::vault::{write_private, Ctx};
use super::Failure;

/// The variable an export's passphrase may come from (else one is generated and printed).
pub const PASSPHRASE_VAR: &str = "FACEVAULT_EXPORT_PASSPHRASE";

/// Runs the export and writes `out`.
pub(crate) async fn export(
    ctx: &Ctx<'_>,
    subject: SubjectId,
    out: &Path,
    purpose: Option<&str>,
) -> Result<()> {
    let (seal, generated) = passphrase()?;
    let sealed = ctx.app.export_subject(&ctx.session, subject, purpose, seal, None).await?;
    written(out, &sealed, generated)
}

/// Writes a sealed package and says how to open it, with the generated passphrase if any.
pub(crate) fn written(out: &Path, sealed: &[u8], generated: Option<Zeroizing<String>>) -> Result<()> {
    write_private(out, sealed)?;
    eprintln!("access package -> {} ({} bytes; age, passphrase-encrypted)", out.display(), sealed.len());
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

/// The passphrase from $FACEVAULT_EXPORT_PASSPHRASE (at least 12 characters, hard enough to
/// guess: `Seal::passphrase`), or a generated one (returned a second
/// time to be shown once).
pub(crate) fn passphrase() -> Result<(Seal, Option<Zeroizing<String>>)> {
    if let Ok(p) = std::env::var(PASSPHRASE_VAR) {
        if p.is_empty() {
            return Err(Failure::Input(format!("${PASSPHRASE_VAR} is empty")).into());
        }
        // Scored as over HTTP: a weak passphrase is refused, naming why.
        let seal = Seal::passphrase(&p).map_err(|e| Failure::Input(format!("${PASSPHRASE_VAR}: {e}")))?;
        return Ok((seal, None));
    }
    let p = facevault_export::generate_passphrase()?;
    Ok((Seal::Passphrase(p.as_str().to_owned().into()), Some(p)))
}
