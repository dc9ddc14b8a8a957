//! Owner-only files replaced atomically: what every private file outside the encrypted store
//! (deletion certificates, access packages, exported scans, the demo's logins) is written
//! with, by the CLI and the server alike.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;

/// Writes `bytes` to `path`, readable and writable by the owner only (0600 on Unix), replacing
/// it atomically: a hidden temporary file beside it is written, synced and renamed into place,
/// then the directory is synced so the rename survives a crash. A failure leaves no temporary
/// file behind and the old file, if any, untouched.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(".facevault-partial");
    let tmp = path.with_file_name(name);
    let _ = std::fs::remove_file(&tmp);
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let result = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        File::open(parent)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
