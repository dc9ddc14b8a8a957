//! 128-bit random identifiers (vaults, subjects, objects), printed as 32 lowercase hex digits.

use std::fmt;
use std::str::FromStr;

use crate::error::CryptoError;

/// A 128-bit random identifier. It says nothing about the person it names.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id([u8; 16]);

impl Id {
    pub const fn from_bytes(bytes: [u8; 16]) -> Id {
        Id(bytes)
    }

    /// A fresh random id from the operating system's generator.
    pub fn random() -> Result<Id, CryptoError> {
        let mut b = [0u8; 16];
        crate::fill_random(&mut b)?;
        Ok(Id(b))
    }

    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({self})")
    }
}

/// Why a string is not an [`Id`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an id is 32 hex digits, got {got:?}")]
pub struct ParseIdError {
    pub got: String,
}

impl FromStr for Id {
    type Err = ParseIdError;
    fn from_str(s: &str) -> Result<Id, ParseIdError> {
        let err = || ParseIdError { got: s.chars().take(40).collect() };
        let bytes = s.as_bytes();
        if bytes.len() != 32 {
            return Err(err());
        }
        let mut out = [0u8; 16];
        for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let hi = hex_val(pair[0]).ok_or_else(err)?;
            let lo = hex_val(pair[1]).ok_or_else(err)?;
            *o = hi << 4 | lo;
        }
        Ok(Id(out))
    }
}

pub(crate) fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects() {
        let id = Id::from_bytes([0xab; 16]);
        let s = id.to_string();
        assert_eq!(s, "ab".repeat(16));
        assert_eq!(s.parse::<Id>(), Ok(id));
        assert!("ab".parse::<Id>().is_err());
        assert!("zz".repeat(16).parse::<Id>().is_err());
        assert_ne!(Id::random(), Id::random());
    }
}
