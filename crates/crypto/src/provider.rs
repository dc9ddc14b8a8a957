//! The `KeyProvider` port and the providers that hold KEKs in this process: [`MemoryKeys`]
//! (tests), [`EnvKey`] (CI), and [`crate::KeyFile`] (the embedded default, in `keyfile.rs`).
//! An external KMS implements the same trait, overriding `wrap` and `unwrap` so the KEK never
//! leaves it.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::RwLock;

use base64::Engine;
use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::id::hex_val;
use crate::secret::{DataKey, Kek, KekVersion};
use crate::wrap::{unwrap_with, wrap_with, KeyContext, WrappedKey};

/// Where key-encryption keys come from: the port every vault operation gets its KEK through.
pub trait KeyProvider: Send + Sync {
    /// The version new data keys are wrapped under.
    fn current_version(&self) -> Result<KekVersion, CryptoError>;

    /// The KEK of a version (older versions stay available until a rotation has finished).
    fn kek(&self, version: KekVersion) -> Result<Kek, CryptoError>;

    /// Make a new KEK version the current one. Existing wrapped keys stay valid under their
    /// old version until rewrapped.
    fn rotate(&self) -> Result<KekVersion, CryptoError> {
        Err(CryptoError::RotationUnsupported { how: "this provider's keys are fixed".into() })
    }

    /// Wrap a data key under the current KEK.
    fn wrap(&self, ctx: &KeyContext, key: &DataKey) -> Result<WrappedKey, CryptoError> {
        let version = self.current_version()?;
        wrap_with(&self.kek(version)?, version, ctx, key)
    }

    /// Unwrap a data key with the KEK version it was wrapped under.
    fn unwrap(&self, ctx: &KeyContext, wrapped: &WrappedKey) -> Result<DataKey, CryptoError> {
        unwrap_with(&self.kek(wrapped.kek_version())?, ctx, wrapped)
    }

    /// Re-encrypt a wrapped data key under the current KEK (the key itself does not change).
    fn rewrap(&self, ctx: &KeyContext, wrapped: &WrappedKey) -> Result<WrappedKey, CryptoError> {
        self.wrap(ctx, &self.unwrap(ctx, wrapped)?)
    }
}

macro_rules! forward_provider {
    ($($ptr:ty),*) => {$(
        impl<T: KeyProvider + ?Sized> KeyProvider for $ptr {
            fn current_version(&self) -> Result<KekVersion, CryptoError> {
                (**self).current_version()
            }
            fn kek(&self, version: KekVersion) -> Result<Kek, CryptoError> {
                (**self).kek(version)
            }
            fn rotate(&self) -> Result<KekVersion, CryptoError> {
                (**self).rotate()
            }
            fn wrap(&self, ctx: &KeyContext, key: &DataKey) -> Result<WrappedKey, CryptoError> {
                (**self).wrap(ctx, key)
            }
            fn unwrap(&self, ctx: &KeyContext, wrapped: &WrappedKey) -> Result<DataKey, CryptoError> {
                (**self).unwrap(ctx, wrapped)
            }
            fn rewrap(&self, ctx: &KeyContext, wrapped: &WrappedKey) -> Result<WrappedKey, CryptoError> {
                (**self).rewrap(ctx, wrapped)
            }
        }
    )*};
}

// A provider shared by several vault handles (a restart in tests, server workers).
forward_provider!(&T, std::sync::Arc<T>, Box<T>);

/// Versioned KEKs with one current version.
pub struct Keyring {
    current: KekVersion,
    keys: BTreeMap<KekVersion, Kek>,
}

impl Keyring {
    /// A keyring holding one KEK as its current version.
    pub fn single(version: KekVersion, kek: Kek) -> Keyring {
        Keyring { current: version, keys: BTreeMap::from([(version, kek)]) }
    }

    /// A keyring with one fresh random KEK, version 1.
    pub fn generate() -> Result<Keyring, CryptoError> {
        Ok(Keyring::single(KekVersion(1), Kek::generate()?))
    }

    pub fn current(&self) -> KekVersion {
        self.current
    }

    pub fn versions(&self) -> impl Iterator<Item = KekVersion> + '_ {
        self.keys.keys().copied()
    }

    pub fn get(&self, version: KekVersion) -> Result<Kek, CryptoError> {
        self.keys.get(&version).map(Kek::duplicate).ok_or(CryptoError::UnknownKekVersion { version })
    }

    /// Add a fresh random KEK as the next version and make it current.
    pub fn add_generated(&mut self) -> Result<KekVersion, CryptoError> {
        let last = self.keys.keys().next_back().copied().unwrap_or(KekVersion(0));
        let next =
            KekVersion(last.0.checked_add(1).ok_or(CryptoError::Internal { what: "KEK version overflow" })?);
        self.keys.insert(next, Kek::generate()?);
        self.current = next;
        Ok(next)
    }

    /// Insert a KEK under `version`; the highest version becomes current.
    pub fn insert(&mut self, version: KekVersion, kek: Kek) {
        self.keys.insert(version, kek);
        self.current = self.current.max(version);
    }

    /// An independent copy of every version.
    pub fn duplicate(&self) -> Keyring {
        Keyring { current: self.current, keys: self.keys.iter().map(|(v, k)| (*v, k.duplicate())).collect() }
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = (KekVersion, &Kek)> {
        self.keys.iter().map(|(v, k)| (*v, k))
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("current", &self.current).field("versions", &self.keys.len()).finish()
    }
}

/// KEKs held only in memory: for tests, and for anything that must not touch disk.
pub struct MemoryKeys(RwLock<Keyring>);

impl MemoryKeys {
    pub fn new(keyring: Keyring) -> MemoryKeys {
        MemoryKeys(RwLock::new(keyring))
    }

    /// One fresh random KEK, version 1.
    pub fn generate() -> Result<MemoryKeys, CryptoError> {
        Ok(MemoryKeys::new(Keyring::generate()?))
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, Keyring>, CryptoError> {
        self.0.read().map_err(|_| CryptoError::Internal { what: "keyring lock poisoned" })
    }
}

impl fmt::Debug for MemoryKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MemoryKeys")
    }
}

impl KeyProvider for MemoryKeys {
    fn current_version(&self) -> Result<KekVersion, CryptoError> {
        Ok(self.read()?.current())
    }

    fn kek(&self, version: KekVersion) -> Result<Kek, CryptoError> {
        self.read()?.get(version)
    }

    fn rotate(&self) -> Result<KekVersion, CryptoError> {
        self.0.write().map_err(|_| CryptoError::Internal { what: "keyring lock poisoned" })?.add_generated()
    }
}

/// KEKs from an environment variable, for CI and tests.
///
/// The value is one key, or comma-separated `VERSION:KEY` entries (the highest version is
/// current), each key 32 bytes as 64 hex digits or standard base64. To rotate, add a new
/// higher-versioned entry, rewrap, then drop the old one.
pub struct EnvKey {
    var: String,
    keyring: Keyring,
}

impl EnvKey {
    /// The conventional variable name.
    pub const VAR: &'static str = "FACEVAULT_KEK";

    /// Read keys from the variable `var`.
    pub fn from_env(var: &str) -> Result<EnvKey, CryptoError> {
        let value =
            Zeroizing::new(std::env::var(var).map_err(|_| CryptoError::EnvMissing { var: var.into() })?);
        EnvKey::parse(var, &value)
    }

    /// Parse a variable's value (`var` only names it in errors; the value never appears).
    pub fn parse(var: &str, value: &str) -> Result<EnvKey, CryptoError> {
        let bad = |reason: String| CryptoError::EnvInvalid { var: var.into(), reason };
        let entries: Vec<&str> = value.split(',').map(str::trim).filter(|e| !e.is_empty()).collect();
        let mut keyring: Option<Keyring> = None;
        for (n, entry) in entries.iter().enumerate() {
            let (version, key) = match entry.split_once(':') {
                Some((v, k)) => {
                    let v: u32 = v
                        .trim()
                        .parse()
                        .map_err(|_| bad(format!("entry {}: version is not a number", n + 1)))?;
                    (KekVersion(v), k.trim())
                }
                None if entries.len() == 1 => (KekVersion(1), *entry),
                None => return Err(bad(format!("entry {}: several keys need VERSION:KEY", n + 1))),
            };
            let kek = decode_key(key).ok_or_else(|| {
                bad(format!("entry {}: a key is 32 bytes as 64 hex digits or base64", n + 1))
            })?;
            match keyring.as_mut() {
                None => keyring = Some(Keyring::single(version, kek)),
                Some(k) if k.keys.contains_key(&version) => {
                    return Err(bad(format!("entry {}: version {version} given twice", n + 1)))
                }
                Some(k) => k.insert(version, kek),
            }
        }
        let keyring = keyring.ok_or_else(|| bad("it is empty".into()))?;
        Ok(EnvKey { var: var.into(), keyring })
    }
}

fn decode_key(s: &str) -> Option<Kek> {
    let mut out = Zeroizing::new([0u8; 32]);
    if s.len() == 64 {
        for (o, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
            *o = hex_val(pair[0])? << 4 | hex_val(pair[1])?;
        }
    } else {
        let bytes = Zeroizing::new(base64::engine::general_purpose::STANDARD.decode(s).ok()?);
        if bytes.len() != 32 {
            return None;
        }
        out.copy_from_slice(&bytes);
    }
    Some(Kek::from_bytes(*out))
}

impl fmt::Debug for EnvKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvKey").field("var", &self.var).field("keyring", &self.keyring).finish()
    }
}

impl KeyProvider for EnvKey {
    fn current_version(&self) -> Result<KekVersion, CryptoError> {
        Ok(self.keyring.current())
    }

    fn kek(&self, version: KekVersion) -> Result<Kek, CryptoError> {
        self.keyring.get(version)
    }

    fn rotate(&self) -> Result<KekVersion, CryptoError> {
        Err(CryptoError::RotationUnsupported {
            how: format!("add a higher VERSION:KEY entry to {} and rewrap", self.var),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::id::Id;

    const HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn env_key_parses_hex_base64_and_versions() {
        let one = EnvKey::parse("K", HEX).unwrap();
        assert_eq!(one.current_version().unwrap(), KekVersion(1));
        assert_eq!(one.kek(KekVersion(1)).unwrap().expose()[31], 0x1f);
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let two = EnvKey::parse("K", &format!("1:{HEX}, 2:{b64}")).unwrap();
        assert_eq!(two.current_version().unwrap(), KekVersion(2));
        assert_eq!(two.kek(KekVersion(2)).unwrap().expose(), &[7u8; 32]);
        assert_eq!(
            two.kek(KekVersion(3)).unwrap_err(),
            CryptoError::UnknownKekVersion { version: KekVersion(3) }
        );
        assert!(matches!(two.rotate(), Err(CryptoError::RotationUnsupported { .. })));
    }

    #[test]
    fn env_key_errors_never_echo_the_value() {
        for bad in ["", "abc", &HEX[..62], &format!("{HEX},{HEX}"), &format!("1:{HEX},1:{HEX}"), "x:abcd"] {
            let err = EnvKey::parse("FACEVAULT_KEK", bad).unwrap_err();
            assert!(matches!(err, CryptoError::EnvInvalid { .. }), "{bad:?} gave {err:?}");
            let shown = err.to_string();
            assert!(shown.contains("FACEVAULT_KEK"));
            assert!(bad.len() < 8 || !shown.contains(&bad[..8]), "{shown}");
        }
        assert!(format!("{:?}", EnvKey::parse("K", HEX).unwrap()).find("0001").is_none());
    }

    #[test]
    fn rotation_keeps_old_versions_and_rewrap_moves_keys() {
        let keys = MemoryKeys::generate().unwrap();
        let ctx = KeyContext { vault: Id::from_bytes([1; 16]), subject: Id::from_bytes([2; 16]) };
        let dk = DataKey::generate().unwrap();
        let w1 = keys.wrap(&ctx, &dk).unwrap();
        assert_eq!(keys.rotate().unwrap(), KekVersion(2));
        assert_eq!(keys.unwrap(&ctx, &w1).unwrap().expose(), dk.expose());
        let w2 = keys.rewrap(&ctx, &w1).unwrap();
        assert_eq!(w2.kek_version(), KekVersion(2));
        assert_eq!(keys.unwrap(&ctx, &w2).unwrap().expose(), dk.expose());
    }
}
