//! Checkpoints (C2SP tlog-checkpoint) and the Ed25519 signed notes (C2SP signed-note) that
//! carry them, with the key types and their text encodings (the Go `note` package's vkey and
//! skey forms). The signing key is a secret type: zeroized on drop, no revealing `Debug`.

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey as DalekSigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::hash::Hash;

/// Signature type byte of Ed25519 in C2SP signed notes.
const ALG_ED25519: u8 = 0x01;
/// The prefix of every signature line: U+2014 EM DASH and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// Notes larger than this or with more signatures are refused before parsing.
const MAX_NOTE: usize = 1 << 20;
const MAX_SIGNATURES: usize = 100;

/// Why a note, key or checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("malformed key: {0}")]
    BadKey(&'static str),
    #[error("key name must be non-empty, without spaces or '+'")]
    BadKeyName,
    #[error("the note has no valid signature by key {name}")]
    NoValidSignature { name: String },
    #[error("signature by key {name} does not verify")]
    BadSignature { name: String },
    #[error("malformed checkpoint, line {line}: {reason}")]
    BadCheckpoint { line: usize, reason: &'static str },
    #[error("the system random source failed")]
    Random,
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(NoteError::BadKeyName);
    }
    Ok(())
}

/// The 4-byte key id: the first 4 bytes of SHA-256(name || 0x0A || 0x01 || public key).
pub fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(public_key);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// An Ed25519 note signing key with its name. Zeroized on drop; `Debug` shows the name only.
pub struct SigningKey {
    name: String,
    key: DalekSigningKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey").field("name", &self.name).finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh key from the operating system's random source.
    pub fn generate(name: &str) -> Result<SigningKey, NoteError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut()).map_err(|_| NoteError::Random)?;
        SigningKey::from_seed(name, &seed)
    }

    /// The key whose RFC 8032 secret seed is `seed`.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<SigningKey, NoteError> {
        check_name(name)?;
        Ok(SigningKey { name: name.to_owned(), key: DalekSigningKey::from_bytes(seed) })
    }

    /// Parses `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`.
    pub fn parse(s: &str) -> Result<SigningKey, NoteError> {
        let rest = s.strip_prefix("PRIVATE+KEY+").ok_or(NoteError::BadKey("missing PRIVATE+KEY+ prefix"))?;
        let (name, id, body) = split_key(rest)?;
        let raw = Zeroizing::new(STANDARD.decode(body).map_err(|_| NoteError::BadKey("key is not base64"))?);
        let seed: Zeroizing<[u8; 32]> = match raw.split_first() {
            Some((&ALG_ED25519, seed)) => {
                Zeroizing::new(seed.try_into().map_err(|_| NoteError::BadKey("seed is not 32 bytes"))?)
            }
            _ => return Err(NoteError::BadKey("not an Ed25519 key")),
        };
        let key = SigningKey::from_seed(name, &seed)?;
        if key.verifier().id != id {
            return Err(NoteError::BadKey("key id does not match"));
        }
        Ok(key)
    }

    /// The `PRIVATE+KEY+...` text form. Keep it secret.
    pub fn to_secret_string(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new(vec![ALG_ED25519]);
        raw.extend_from_slice(self.key.as_bytes());
        let id = self.verifier().id;
        Zeroizing::new(format!("PRIVATE+KEY+{}+{}+{}", self.name, hex4(id), STANDARD.encode(raw.as_slice())))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// A plain Ed25519 signature over `msg`, for documents other than notes (deletion
    /// certificates). Callers must make `msg` unlike any note text (see `certificate.rs`).
    pub(crate) fn sign_bytes(&self, msg: &[u8]) -> [u8; 64] {
        self.key.sign(msg).to_bytes()
    }

    /// The matching public key.
    pub fn verifier(&self) -> VerifierKey {
        let key = self.key.verifying_key();
        VerifierKey { name: self.name.clone(), id: key_id(&self.name, key.as_bytes()), key }
    }
}

/// An Ed25519 note verifier key with its name and key id.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

/// The vkey form `<name>+<hex id>+<base64(0x01 || public key)>`.
impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        write!(f, "{}+{}+{}", self.name, hex4(self.id), STANDARD.encode(raw))
    }
}

impl VerifierKey {
    /// Parses the vkey form.
    pub fn parse(s: &str) -> Result<VerifierKey, NoteError> {
        let (name, id, body) = split_key(s)?;
        check_name(name)?;
        let raw = STANDARD.decode(body).map_err(|_| NoteError::BadKey("key is not base64"))?;
        let key = match raw.split_first() {
            Some((&ALG_ED25519, k)) => {
                k.try_into().map_err(|_| NoteError::BadKey("public key is not 32 bytes"))?
            }
            _ => return Err(NoteError::BadKey("not an Ed25519 key")),
        };
        let key =
            VerifyingKey::from_bytes(&key).map_err(|_| NoteError::BadKey("not a valid Ed25519 point"))?;
        if key_id(name, key.as_bytes()) != id {
            return Err(NoteError::BadKey("key id does not match"));
        }
        Ok(VerifierKey { name: name.to_owned(), id, key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> [u8; 4] {
        self.id
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// Checks a plain Ed25519 signature made by [`SigningKey::sign_bytes`] (strict RFC 8032
    /// verification, as for notes).
    pub(crate) fn verify_bytes(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
        self.key.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig)).is_ok()
    }
}

/// Splits `<name>+<8 hex>+<base64>` (the name holds no '+').
fn split_key(s: &str) -> Result<(&str, [u8; 4], &str), NoteError> {
    let mut parts = s.splitn(3, '+');
    let (Some(name), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::BadKey("expected <name>+<id>+<key>"));
    };
    if id.len() != 8 || !id.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
        return Err(NoteError::BadKey("key id is not 8 lower-case hex digits"));
    }
    let n = u32::from_str_radix(id, 16).map_err(|_| NoteError::BadKey("key id is not hex"))?;
    Ok((name, n.to_be_bytes(), body))
}

fn hex4(id: [u8; 4]) -> String {
    format!("{:08x}", u32::from_be_bytes(id))
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Malformed("text does not end with a newline"));
    }
    if text.chars().any(|c| c.is_ascii_control() && c != '\n') {
        return Err(NoteError::Malformed("text holds an ASCII control character"));
    }
    Ok(())
}

/// Signs `text` (UTF-8, ending in a newline, no control characters but newlines) as a C2SP
/// signed note: the text, a blank line, and `— <name> <base64(key id || signature)>`.
pub fn sign_note(text: &str, key: &SigningKey) -> Result<String, NoteError> {
    check_text(text)?;
    let sig = key.key.sign(text.as_bytes()).to_bytes();
    let mut blob = Vec::with_capacity(68);
    blob.extend_from_slice(&key.verifier().id);
    blob.extend_from_slice(&sig);
    Ok(format!("{text}\n{SIG_PREFIX}{} {}\n", key.name, STANDARD.encode(blob)))
}

/// Opens a signed note: returns its text if `verifier` signed it. Signatures by other keys are
/// ignored, as the spec asks; a signature that claims `verifier`'s name and id but does not
/// verify is an error.
pub fn open_note<'a>(note: &'a str, verifier: &VerifierKey) -> Result<&'a str, NoteError> {
    if note.len() > MAX_NOTE {
        return Err(NoteError::Malformed("note is larger than 1 MiB"));
    }
    let split = note.rfind("\n\n").ok_or(NoteError::Malformed("no blank line before the signatures"))?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    check_text(text)?;
    let sigs = sigs.strip_suffix('\n').ok_or(NoteError::Malformed("signatures do not end with a newline"))?;
    let mut verified = false;
    for (n, line) in sigs.split('\n').enumerate() {
        if n >= MAX_SIGNATURES {
            return Err(NoteError::Malformed("more than 100 signatures"));
        }
        let rest =
            line.strip_prefix(SIG_PREFIX).ok_or(NoteError::Malformed("signature line without '— '"))?;
        let (name, b64) =
            rest.split_once(' ').ok_or(NoteError::Malformed("signature line without a space"))?;
        check_name(name).map_err(|_| NoteError::Malformed("bad key name in a signature line"))?;
        let blob = STANDARD.decode(b64).map_err(|_| NoteError::Malformed("signature is not base64"))?;
        if blob.len() < 5 {
            return Err(NoteError::Malformed("signature is shorter than 5 bytes"));
        }
        if name != verifier.name || blob[..4] != verifier.id {
            continue;
        }
        let sig = <[u8; 64]>::try_from(&blob[4..])
            .map_err(|_| NoteError::BadSignature { name: name.to_owned() })?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        verifier
            .key
            .verify_strict(text.as_bytes(), &sig)
            .map_err(|_| NoteError::BadSignature { name: name.to_owned() })?;
        verified = true;
    }
    if verified {
        Ok(text)
    } else {
        Err(NoteError::NoValidSignature { name: verifier.name.clone() })
    }
}

/// A C2SP tlog-checkpoint: the log's origin, its size and its root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text: `<origin>\n<size>\n<base64 root>\n`.
    pub fn to_text(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, self.root.to_base64())
    }

    /// Parses a checkpoint body. Extension lines after the root are allowed and ignored.
    pub fn parse(text: &str) -> Result<Checkpoint, NoteError> {
        let bad = |line, reason| NoteError::BadCheckpoint { line, reason };
        let body = text.strip_suffix('\n').ok_or(bad(0, "does not end with a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().filter(|o| !o.is_empty()).ok_or(bad(1, "empty origin"))?;
        if origin.chars().any(char::is_control) {
            return Err(bad(1, "control character in origin"));
        }
        let size = lines.next().ok_or(bad(2, "missing tree size"))?;
        let canonical = size == "0" || (!size.starts_with('0') && !size.is_empty());
        let size = match size.parse::<u64>() {
            Ok(n) if canonical && size.bytes().all(|c| c.is_ascii_digit()) => n,
            _ => return Err(bad(2, "tree size is not a decimal number without leading zeros")),
        };
        let root = lines.next().ok_or(bad(3, "missing root hash"))?;
        let root = Hash::from_base64(root).ok_or(bad(3, "root hash is not base64 of 32 bytes"))?;
        if lines.any(str::is_empty) {
            return Err(bad(4, "empty extension line"));
        }
        Ok(Checkpoint { origin: origin.to_owned(), size, root })
    }
}

/// Signs a checkpoint: the C2SP signed note of [`Checkpoint::to_text`].
pub fn sign_checkpoint(checkpoint: &Checkpoint, key: &SigningKey) -> Result<String, NoteError> {
    Checkpoint::parse(&checkpoint.to_text())?;
    sign_note(&checkpoint.to_text(), key)
}

/// Opens a signed checkpoint: checks `verifier`'s signature and that the origin is `origin`.
pub fn open_checkpoint(note: &str, verifier: &VerifierKey, origin: &str) -> Result<Checkpoint, NoteError> {
    let cp = Checkpoint::parse(open_note(note, verifier)?)?;
    if cp.origin != origin {
        return Err(NoteError::BadCheckpoint { line: 1, reason: "origin is not this log's" });
    }
    Ok(cp)
}
