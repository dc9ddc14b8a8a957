//! Secret types. Each wraps a `secrecy::SecretBox`: zeroized on drop, `Debug` prints only the
//! type name, and none of them implements `Serialize`, `Display` or `Clone`-to-plaintext.

use std::fmt;

use secrecy::{ExposeSecret, SecretBox, SecretString};
use zeroize::ZeroizeOnDrop;

use crate::error::CryptoError;

/// The version of a key-encryption key. Version numbers only grow: rotation adds one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KekVersion(pub u32);

impl fmt::Display for KekVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.0)
    }
}

/// A root key-encryption key (KEK): it wraps every subject's [`DataKey`] and nothing else.
pub struct Kek(SecretBox<[u8; 32]>);

/// A subject's data key: it seals that subject's blobs and identifying details. It exists in
/// plaintext only in memory; at rest it is always a [`crate::WrappedKey`].
pub struct DataKey(SecretBox<[u8; 32]>);

/// A passphrase that unlocks a [`crate::KeyFile`].
pub struct Passphrase(SecretString);

macro_rules! key_type {
    ($t:ident) => {
        impl $t {
            /// A key from raw bytes (the caller's copy should be zeroized).
            pub fn from_bytes(bytes: [u8; 32]) -> $t {
                $t(SecretBox::new(Box::new(bytes)))
            }

            /// A fresh random key from the operating system's generator.
            pub fn generate() -> Result<$t, CryptoError> {
                let mut failed = false;
                let key = SecretBox::init_with_mut(|b: &mut [u8; 32]| {
                    failed = crate::fill_random(b).is_err();
                });
                if failed {
                    return Err(CryptoError::RandomUnavailable);
                }
                Ok($t(key))
            }

            pub(crate) fn expose(&self) -> &[u8; 32] {
                self.0.expose_secret()
            }

            /// An independent copy (its own allocation, zeroized on its own drop).
            pub fn duplicate(&self) -> $t {
                $t(SecretBox::new(Box::new(*self.expose())))
            }
        }

        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($t), "([REDACTED])"))
            }
        }

        // The inner SecretBox zeroizes its bytes when dropped.
        impl ZeroizeOnDrop for $t {}
    };
}

key_type!(Kek);
key_type!(DataKey);

impl Passphrase {
    pub fn new(s: String) -> Passphrase {
        Passphrase(SecretString::from(s))
    }

    pub(crate) fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for Passphrase {
    fn from(s: String) -> Passphrase {
        Passphrase::new(s)
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase([REDACTED])")
    }
}

impl ZeroizeOnDrop for Passphrase {}

#[cfg(test)]
mod tests {
    use super::*;

    fn zeroized_on_drop<T: ZeroizeOnDrop>() {}

    #[test]
    fn debug_never_reveals_key_bytes() {
        let k = Kek::from_bytes([0x5a; 32]);
        let d = DataKey::from_bytes([0xc3; 32]);
        let p = Passphrase::new("correct horse".into());
        assert_eq!(format!("{k:?}"), "Kek([REDACTED])");
        assert_eq!(format!("{d:?}"), "DataKey([REDACTED])");
        assert_eq!(format!("{p:?} {:#?}", p), "Passphrase([REDACTED]) Passphrase([REDACTED])");
        for shown in [format!("{k:?}"), format!("{d:#?}")] {
            assert!(!shown.contains("5a") && !shown.contains("90") && !shown.contains("c3"));
        }
        zeroized_on_drop::<Kek>();
        zeroized_on_drop::<DataKey>();
        zeroized_on_drop::<Passphrase>();
    }

    #[test]
    fn generated_keys_differ_and_duplicates_match() {
        let a = DataKey::generate().unwrap();
        let b = DataKey::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.duplicate().expose(), a.expose());
    }
}
