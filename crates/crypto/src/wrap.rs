//! Wrapping per-subject data keys under a KEK (AES-256-GCM key wrap). The associated data binds
//! the vault id, the subject id and the KEK version, so a wrapped key copied onto another
//! subject, another vault or another version label does not unwrap.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

use crate::error::CryptoError;
use crate::id::Id;
use crate::secret::{DataKey, Kek, KekVersion};

/// Wrapped-key format version (first byte).
const FORMAT: u8 = 1;
/// format(1) || nonce(12) || ciphertext(32) || tag(16).
pub const WRAPPED_KEY_LEN: usize = 1 + NONCE_LEN + 32 + 16;
const LABEL: &[u8] = b"facevault data key v1";

/// Whose data key this is: the associated data of the wrap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyContext {
    pub vault: Id,
    pub subject: Id,
}

/// A data key as stored at rest: encrypted under the KEK of `kek_version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedKey {
    kek_version: KekVersion,
    bytes: [u8; WRAPPED_KEY_LEN],
}

impl WrappedKey {
    /// A wrapped key read back from a store.
    pub fn from_parts(kek_version: KekVersion, bytes: &[u8]) -> Result<WrappedKey, CryptoError> {
        let bytes: [u8; WRAPPED_KEY_LEN] = bytes.try_into().map_err(|_| CryptoError::BadWrappedKey {
            reason: format!("{} bytes, expected {WRAPPED_KEY_LEN}", bytes.len()),
        })?;
        if bytes[0] != FORMAT {
            return Err(CryptoError::BadWrappedKey { reason: format!("unknown format {}", bytes[0]) });
        }
        Ok(WrappedKey { kek_version, bytes })
    }

    pub fn kek_version(&self) -> KekVersion {
        self.kek_version
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

const AAD_LEN: usize = LABEL.len() + 16 + 16 + 4;

fn aad(ctx: &KeyContext, version: KekVersion) -> [u8; AAD_LEN] {
    let mut a = [0u8; AAD_LEN];
    let l = LABEL.len();
    a[..l].copy_from_slice(LABEL);
    a[l..l + 16].copy_from_slice(ctx.vault.as_bytes());
    a[l + 16..l + 32].copy_from_slice(ctx.subject.as_bytes());
    a[l + 32..].copy_from_slice(&version.0.to_be_bytes());
    a
}

fn aead_key(kek: &Kek) -> Result<LessSafeKey, CryptoError> {
    // Only fails for a wrong key length, which the type rules out.
    UnboundKey::new(&AES_256_GCM, kek.expose())
        .map(LessSafeKey::new)
        .map_err(|_| CryptoError::Internal { what: "AES-256-GCM key setup" })
}

/// Wrap `key` under `kek` (whose version is `version`). Providers call this; most code uses
/// [`crate::KeyProvider::wrap`].
pub fn wrap_with(
    kek: &Kek,
    version: KekVersion,
    ctx: &KeyContext,
    key: &DataKey,
) -> Result<WrappedKey, CryptoError> {
    let mut bytes = [0u8; WRAPPED_KEY_LEN];
    bytes[0] = FORMAT;
    let mut nonce = [0u8; NONCE_LEN];
    crate::fill_random(&mut nonce)?;
    bytes[1..13].copy_from_slice(&nonce);
    let (body, tag_out) = bytes[13..].split_at_mut(32);
    body.copy_from_slice(key.expose());
    let tag = aead_key(kek)?
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad(ctx, version)), body)
        .map_err(|_| CryptoError::Internal { what: "key wrap" })?;
    tag_out.copy_from_slice(tag.as_ref());
    Ok(WrappedKey { kek_version: version, bytes })
}

/// Unwrap `wrapped` with `kek`, which must be the KEK of `wrapped.kek_version()`.
pub fn unwrap_with(kek: &Kek, ctx: &KeyContext, wrapped: &WrappedKey) -> Result<DataKey, CryptoError> {
    let fail = CryptoError::KeyUnwrapFailed { subject: ctx.subject, kek_version: wrapped.kek_version };
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&wrapped.bytes[1..13]);
    // The plaintext key only ever sits in this buffer, which is zeroized on drop.
    let mut buf = zeroize::Zeroizing::new([0u8; 48]);
    buf.copy_from_slice(&wrapped.bytes[13..]);
    let plain = aead_key(kek)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(ctx, wrapped.kek_version)),
            &mut buf[..],
        )
        .map_err(|_| fail)?;
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    key.copy_from_slice(plain);
    Ok(DataKey::from_bytes(*key))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ctx(s: u8) -> KeyContext {
        KeyContext { vault: Id::from_bytes([1; 16]), subject: Id::from_bytes([s; 16]) }
    }

    #[test]
    fn wrap_unwrap_round_trip_and_bindings() {
        let kek = Kek::generate().unwrap();
        let other = Kek::generate().unwrap();
        let dk = DataKey::generate().unwrap();
        let w = wrap_with(&kek, KekVersion(3), &ctx(7), &dk).unwrap();
        assert_eq!(w.kek_version(), KekVersion(3));
        assert_eq!(unwrap_with(&kek, &ctx(7), &w).unwrap().expose(), dk.expose());
        // The plaintext key does not appear in the wrapped bytes.
        assert!(!w.as_bytes().windows(32).any(|win| win == dk.expose()));
        let failed =
            CryptoError::KeyUnwrapFailed { subject: Id::from_bytes([8; 16]), kek_version: KekVersion(3) };
        assert_eq!(unwrap_with(&kek, &ctx(8), &w).unwrap_err(), failed);
        let moved_version = WrappedKey::from_parts(KekVersion(2), w.as_bytes()).unwrap();
        assert!(unwrap_with(&kek, &ctx(7), &moved_version).is_err());
        assert!(unwrap_with(&other, &ctx(7), &w).is_err());
        let other_vault = KeyContext { vault: Id::from_bytes([2; 16]), ..ctx(7) };
        assert!(unwrap_with(&kek, &other_vault, &w).is_err());
        for i in 0..WRAPPED_KEY_LEN {
            let mut b = *w.bytes.first_chunk::<WRAPPED_KEY_LEN>().unwrap();
            b[i] ^= 0x01;
            let ok = WrappedKey::from_parts(KekVersion(3), &b).and_then(|t| unwrap_with(&kek, &ctx(7), &t));
            assert!(ok.is_err(), "flipping byte {i} went unnoticed");
        }
        assert!(WrappedKey::from_parts(KekVersion(3), &w.as_bytes()[1..]).is_err());
    }
}
