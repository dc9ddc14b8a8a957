//! FaceVault's key hierarchy and blob encryption. Pure: no I/O except what a key provider
//! needs (the passphrase key file, an environment variable).
//!
//! For most cases:
//! - get a [`KeyProvider`] ([`KeyFile`] on disk, [`EnvKey`] in CI, [`MemoryKeys`] in tests);
//! - make one [`DataKey`] per subject with [`DataKey::generate`], and store only its
//!   [`WrappedKey`] from [`KeyProvider::wrap`];
//! - [`seal`] and [`open`] blobs under the data key with a [`BlobContext`] naming the vault,
//!   subject, object, kind and version, so a blob cannot be swapped, truncated or replayed.
//!
//! The ciphertext formats are documented in `docs/ciphertext-format.md`. Secrets live in their
//! own types: zeroized on drop, never `Debug`-printed, never serialised.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod blob;
mod error;
mod id;
mod keyfile;
mod private_file;
mod provider;
mod secret;
mod wrap;

pub use blob::{
    open, open_stream, seal, seal_slice, seal_stream, sealed_len, BlobContext, ObjectKind, CHUNK_SIZE,
    HEADER_LEN, TAG_LEN,
};
pub use error::CryptoError;
pub use id::Id;
pub use keyfile::{KdfParams, KeyFile};
pub use private_file::write_private;
pub use provider::{EnvKey, KeyProvider, Keyring, MemoryKeys};
pub use secret::{DataKey, Kek, KekVersion, Passphrase};
pub use wrap::{KeyContext, WrappedKey, WRAPPED_KEY_LEN};

/// Fill `out` from the operating system's random number generator.
pub(crate) fn fill_random(out: &mut [u8]) -> Result<(), CryptoError> {
    use ring::rand::SecureRandom;
    ring::rand::SystemRandom::new().fill(out).map_err(|_| CryptoError::RandomUnavailable)
}
