//! The one error type of this crate. Decryption errors are coarse on purpose: they name the
//! object that failed and nothing about why, so they leak nothing about keys or plaintext.

use std::path::PathBuf;

use crate::id::Id;
use crate::secret::KekVersion;

/// Everything that can go wrong in key handling and blob encryption.
///
/// # How to fix
/// - [`CryptoError::DecryptionFailed`]: the blob was altered, truncated, swapped with another
///   object's blob, or its subject was shredded. Restore it from a backup taken before the
///   damage; `facevault fsck` lists every such object.
/// - [`CryptoError::WrongPassphrase`]: type the passphrase again; if the key file itself was
///   damaged, restore it from its backup (without it the vault cannot be opened).
/// - [`CryptoError::UnknownKekVersion`]: the key provider no longer holds the KEK that wrapped a
///   subject key; restore that key version or finish the rotation that retired it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    #[error("object {object} cannot be decrypted: it was altered, truncated, swapped or its key is gone")]
    DecryptionFailed { object: Id },
    #[error("the data key of subject {subject} cannot be unwrapped with KEK version {kek_version}")]
    KeyUnwrapFailed { subject: Id, kek_version: KekVersion },
    #[error("wrong passphrase for key file {path:?} (or the key file is damaged)")]
    WrongPassphrase { path: PathBuf },
    #[error("key file {path:?} already exists; refusing to overwrite a key")]
    KeyFileExists { path: PathBuf },
    #[error("key file {path:?} is not a valid FaceVault key file: {reason}")]
    BadKeyFile { path: PathBuf, reason: String },
    #[error("key file {path:?}: {message}")]
    KeyFileIo { path: PathBuf, message: String },
    #[error("environment variable {var} is not set")]
    EnvMissing { var: String },
    #[error("environment variable {var} does not hold a key: {reason}")]
    EnvInvalid { var: String, reason: String },
    #[error("the key provider holds no KEK version {version}")]
    UnknownKekVersion { version: KekVersion },
    #[error("this key provider cannot create a new KEK version: {how}")]
    RotationUnsupported { how: String },
    #[error("unsafe key-derivation parameters: {reason}")]
    WeakKdfParams { reason: String },
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    #[error("malformed wrapped key: {reason}")]
    BadWrappedKey { reason: String },
    #[error("blob of object {object} is too large to seal ({len} bytes)")]
    TooLarge { object: Id, len: u64 },
    #[error("I/O error while {doing} object {object}: {message}")]
    Io { object: Id, doing: &'static str, message: String },
    #[error("the operating system's random number generator failed")]
    RandomUnavailable,
    #[error("internal cryptographic failure in {what}")]
    Internal { what: &'static str },
}
