//! Blob sealing: chunked AES-256-GCM under a per-blob key derived from the subject's data key.
//!
//! Layout (version 1, see `docs/ciphertext-format.md`): a 48-byte header, then chunks of
//! 64 KiB plaintext each followed by its 16-byte tag. Chunk nonces are a random 7-byte prefix,
//! a 32-bit big-endian chunk counter and a final-chunk flag byte, so chunks cannot be reordered,
//! dropped or appended. Every chunk's associated data is the header and the [`BlobContext`], so
//! a blob moved to another object, subject, vault, kind or version does not open.
//!
//! [`seal`] and [`open`] work in place on one buffer (no second copy of a large scan);
//! [`seal_stream`] and [`open_stream`] work from a reader to a writer.

use std::io::{self, Read, Write};

use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hkdf;
use zeroize::{Zeroize, Zeroizing};

use crate::error::CryptoError;
use crate::id::Id;
use crate::secret::DataKey;

/// Bytes of the blob header.
pub const HEADER_LEN: usize = 48;
/// Bytes of the authentication tag after each chunk.
pub const TAG_LEN: usize = 16;
const CHUNK_LOG2: u8 = 16;
/// Plaintext bytes per chunk written by this version (the reader accepts 4 KiB to 1 MiB).
pub const CHUNK_SIZE: usize = 1 << CHUNK_LOG2;
const MIN_CHUNK_LOG2: u8 = 12;
const MAX_CHUNK_LOG2: u8 = 20;

const MAGIC: [u8; 4] = *b"FVBL";
const FORMAT: u8 = 1;
/// AES-256-GCM chunks, per-blob key from HKDF-SHA256.
const SUITE: u8 = 1;
const SALT_LEN: usize = 32;
const PREFIX_LEN: usize = 7;
const CONTEXT_LEN: usize = 16 * 3 + 1 + 4;
const KEY_LABEL: &[u8] = b"facevault blob key v1";

/// What a blob holds. Its code is part of the associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectKind {
    /// A subject's identifying details (name, date of birth, contact, jurisdiction).
    SubjectDetails,
    /// A scan's mesh.
    Scan,
    /// Anything derived from a scan: meshes, renders, measurements, reports, inferences.
    Derivative,
    /// A subject's consent record or governance state (restrictions, legal holds, purposes
    /// satisfied): it can name the person (a typed signature, a hold's docket).
    Consent,
}

impl ObjectKind {
    pub const fn code(self) -> u8 {
        match self {
            ObjectKind::SubjectDetails => 1,
            ObjectKind::Scan => 2,
            ObjectKind::Derivative => 3,
            ObjectKind::Consent => 4,
        }
    }
}

/// Everything a blob is bound to. Opening with any field different fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobContext {
    pub vault: Id,
    pub subject: Id,
    pub object: Id,
    pub kind: ObjectKind,
    /// The object's version; bump it when an object's content is replaced, so the old blob
    /// cannot be replayed in its place.
    pub version: u32,
}

impl BlobContext {
    fn encode(&self) -> [u8; CONTEXT_LEN] {
        let mut b = [0u8; CONTEXT_LEN];
        b[..16].copy_from_slice(self.vault.as_bytes());
        b[16..32].copy_from_slice(self.subject.as_bytes());
        b[32..48].copy_from_slice(self.object.as_bytes());
        b[48] = self.kind.code();
        b[49..].copy_from_slice(&self.version.to_be_bytes());
        b
    }
}

struct Header {
    chunk_log2: u8,
    salt: [u8; SALT_LEN],
    prefix: [u8; PREFIX_LEN],
}

impl Header {
    fn random() -> Result<Header, CryptoError> {
        let mut h = Header { chunk_log2: CHUNK_LOG2, salt: [0; SALT_LEN], prefix: [0; PREFIX_LEN] };
        crate::fill_random(&mut h.salt)?;
        crate::fill_random(&mut h.prefix)?;
        Ok(h)
    }

    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..4].copy_from_slice(&MAGIC);
        b[4] = FORMAT;
        b[5] = SUITE;
        b[6] = self.chunk_log2;
        b[8..40].copy_from_slice(&self.salt);
        b[40..47].copy_from_slice(&self.prefix);
        b
    }

    /// Parse a header; any deviation is reported by the caller as a decryption failure.
    fn parse(b: &[u8]) -> Option<Header> {
        let b: &[u8; HEADER_LEN] = b.get(..HEADER_LEN)?.try_into().ok()?;
        let ok = b[..4] == MAGIC
            && b[4] == FORMAT
            && b[5] == SUITE
            && (MIN_CHUNK_LOG2..=MAX_CHUNK_LOG2).contains(&b[6])
            && b[7] == 0
            && b[47] == 0;
        if !ok {
            return None;
        }
        let mut h = Header { chunk_log2: b[6], salt: [0; SALT_LEN], prefix: [0; PREFIX_LEN] };
        h.salt.copy_from_slice(&b[8..40]);
        h.prefix.copy_from_slice(&b[40..47]);
        Some(h)
    }

    fn chunk(&self) -> usize {
        1 << self.chunk_log2
    }
}

/// The per-blob AEAD state: derived key, nonce prefix and associated data.
struct ChunkCipher {
    key: LessSafeKey,
    prefix: [u8; PREFIX_LEN],
    aad: [u8; HEADER_LEN + CONTEXT_LEN],
    object: Id,
}

impl ChunkCipher {
    fn new(data_key: &DataKey, ctx: &BlobContext, header: &Header) -> Result<ChunkCipher, CryptoError> {
        let context = ctx.encode();
        let info = [KEY_LABEL, &context[..]];
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, &header.salt).extract(data_key.expose());
        let okm =
            prk.expand(&info, &AES_256_GCM).map_err(|_| CryptoError::Internal { what: "HKDF blob key" })?;
        let mut aad = [0u8; HEADER_LEN + CONTEXT_LEN];
        aad[..HEADER_LEN].copy_from_slice(&header.encode());
        aad[HEADER_LEN..].copy_from_slice(&context);
        Ok(ChunkCipher {
            key: LessSafeKey::new(UnboundKey::from(okm)),
            prefix: header.prefix,
            aad,
            object: ctx.object,
        })
    }

    fn nonce(&self, counter: u32, last: bool) -> Nonce {
        let mut n = [0u8; NONCE_LEN];
        n[..PREFIX_LEN].copy_from_slice(&self.prefix);
        n[PREFIX_LEN..11].copy_from_slice(&counter.to_be_bytes());
        n[11] = u8::from(last);
        Nonce::assume_unique_for_key(n)
    }

    fn seal_chunk(&self, counter: u32, last: bool, plain: &mut [u8]) -> Result<Tag, CryptoError> {
        self.key
            .seal_in_place_separate_tag(self.nonce(counter, last), Aad::from(&self.aad[..]), plain)
            .map_err(|_| CryptoError::TooLarge { object: self.object, len: plain.len() as u64 })
    }

    /// Decrypt `chunk` (ciphertext then tag) in place; the plaintext length on success.
    fn open_chunk(&self, counter: u32, last: bool, chunk: &mut [u8]) -> Result<usize, CryptoError> {
        self.key
            .open_in_place(self.nonce(counter, last), Aad::from(&self.aad[..]), chunk)
            .map(|p| p.len())
            .map_err(|_| CryptoError::DecryptionFailed { object: self.object })
    }
}

fn chunk_count(len: usize, chunk: usize) -> usize {
    len.div_ceil(chunk).max(1)
}

/// The sealed size of `plaintext_len` bytes, or `None` if it would not fit in memory.
pub fn sealed_len(plaintext_len: usize) -> Option<usize> {
    chunk_count(plaintext_len, CHUNK_SIZE)
        .checked_mul(TAG_LEN)?
        .checked_add(plaintext_len)?
        .checked_add(HEADER_LEN)
}

fn counter_of(i: usize, object: Id, len: usize) -> Result<u32, CryptoError> {
    u32::try_from(i).map_err(|_| CryptoError::TooLarge { object, len: len as u64 })
}

/// Seal `plaintext` in place: the same allocation comes back holding the ciphertext (it grows
/// by [`HEADER_LEN`] plus [`TAG_LEN`] per chunk; reserve [`sealed_len`] to avoid a reallocation).
pub fn seal(key: &DataKey, ctx: &BlobContext, mut buf: Vec<u8>) -> Result<Vec<u8>, CryptoError> {
    let n = buf.len();
    let too_large = || CryptoError::TooLarge { object: ctx.object, len: n as u64 };
    let total = sealed_len(n).ok_or_else(too_large)?;
    let chunks = chunk_count(n, CHUNK_SIZE);
    counter_of(chunks - 1, ctx.object, n)?;
    let header = Header::random()?;
    let cipher = ChunkCipher::new(key, ctx, &header)?;
    buf.resize(total, 0);
    // Back to front, each chunk moves to its final place (never over a chunk not yet moved)
    // and is encrypted there while it is still in cache.
    for i in (0..chunks).rev() {
        let src = i * CHUNK_SIZE;
        let len = CHUNK_SIZE.min(n - src);
        let dst = HEADER_LEN + i * (CHUNK_SIZE + TAG_LEN);
        buf.copy_within(src..src + len, dst);
        let tag =
            cipher.seal_chunk(counter_of(i, ctx.object, n)?, i == chunks - 1, &mut buf[dst..dst + len])?;
        buf[dst + len..dst + len + TAG_LEN].copy_from_slice(tag.as_ref());
    }
    buf[..HEADER_LEN].copy_from_slice(&header.encode());
    Ok(buf)
}

/// Seal a borrowed plaintext into a new buffer.
pub fn seal_slice(key: &DataKey, ctx: &BlobContext, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let total = sealed_len(plaintext.len())
        .ok_or(CryptoError::TooLarge { object: ctx.object, len: plaintext.len() as u64 })?;
    let mut buf = Vec::with_capacity(total);
    buf.extend_from_slice(plaintext);
    seal(key, ctx, buf)
}

/// Open a sealed blob in place. The plaintext is handed out only after every chunk, the last
/// included, has verified; on any failure the buffer is zeroized and dropped, so no partial
/// plaintext escapes. Every failure is [`CryptoError::DecryptionFailed`] naming the object.
pub fn open(key: &DataKey, ctx: &BlobContext, mut buf: Vec<u8>) -> Result<Vec<u8>, CryptoError> {
    let fail = CryptoError::DecryptionFailed { object: ctx.object };
    let Some(header) = Header::parse(&buf) else {
        return Err(fail);
    };
    let chunk = header.chunk();
    let stride = chunk + TAG_LEN;
    let body = buf.len() - HEADER_LEN;
    let (full, rem) = (body / stride, body % stride);
    let (chunks, last_len) = match rem {
        0 => (full, stride),
        r if r >= TAG_LEN => (full + 1, r),
        _ => return Err(fail),
    };
    if chunks == 0 || u32::try_from(chunks - 1).is_err() {
        return Err(fail);
    }
    let cipher = ChunkCipher::new(key, ctx, &header)?;
    let mut out = 0;
    for i in 0..chunks {
        let last = i == chunks - 1;
        let start = HEADER_LEN + i * stride;
        let len = if last { last_len } else { stride };
        // `i` fits in u32: checked above.
        let counter = i as u32;
        match cipher.open_chunk(counter, last, &mut buf[start..start + len]) {
            Ok(plain) => {
                buf.copy_within(start..start + plain, out);
                out += plain;
            }
            Err(e) => {
                buf.zeroize();
                return Err(e);
            }
        }
    }
    buf.truncate(out);
    Ok(buf)
}

/// Read into `buf` until it is full or the reader ends; the number of bytes read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

fn io_err(object: Id, doing: &'static str) -> impl Fn(io::Error) -> CryptoError {
    move |e| CryptoError::Io { object, doing, message: e.to_string() }
}

/// Seal from a reader to a writer, holding two chunks in memory. Produces exactly the format
/// of [`seal`]. Returns the number of plaintext bytes sealed.
pub fn seal_stream<R: Read, W: Write>(
    key: &DataKey,
    ctx: &BlobContext,
    mut r: R,
    mut w: W,
) -> Result<u64, CryptoError> {
    let header = Header::random()?;
    let cipher = ChunkCipher::new(key, ctx, &header)?;
    let rd = io_err(ctx.object, "reading plaintext of");
    let wr = io_err(ctx.object, "writing ciphertext of");
    w.write_all(&header.encode()).map_err(&wr)?;
    let mut cur = Zeroizing::new(vec![0u8; CHUNK_SIZE + TAG_LEN]);
    let mut next = Zeroizing::new(vec![0u8; CHUNK_SIZE + TAG_LEN]);
    let mut cur_len = read_full(&mut r, &mut cur[..CHUNK_SIZE]).map_err(&rd)?;
    let mut total = 0u64;
    let mut i = 0usize;
    loop {
        // Read one chunk ahead: only then is it known whether this chunk is the last.
        let next_len =
            if cur_len == CHUNK_SIZE { read_full(&mut r, &mut next[..CHUNK_SIZE]).map_err(&rd)? } else { 0 };
        let last = next_len == 0;
        let counter = counter_of(i, ctx.object, total as usize)?;
        let tag = cipher.seal_chunk(counter, last, &mut cur[..cur_len])?;
        cur[cur_len..cur_len + TAG_LEN].copy_from_slice(tag.as_ref());
        w.write_all(&cur[..cur_len + TAG_LEN]).map_err(&wr)?;
        total += cur_len as u64;
        if last {
            break;
        }
        std::mem::swap(&mut cur, &mut next);
        cur_len = next_len;
        i += 1;
    }
    w.flush().map_err(&wr)?;
    Ok(total)
}

/// Open from a reader to a writer, holding two chunks in memory.
///
/// Streaming mode: each chunk is verified before its plaintext is written, and chunks are
/// bound to their position, so what reaches `w` is always an authentic prefix of the blob.
/// A blob cut short, or one with chunks dropped, appended or reordered, fails at the point of
/// damage (at the end for truncation). On error the caller must discard what `w` received
/// (write to a temporary file and rename only on success). Use [`open`] for all-or-nothing.
pub fn open_stream<R: Read, W: Write>(
    key: &DataKey,
    ctx: &BlobContext,
    mut r: R,
    mut w: W,
) -> Result<u64, CryptoError> {
    let fail = || CryptoError::DecryptionFailed { object: ctx.object };
    let rd = io_err(ctx.object, "reading ciphertext of");
    let wr = io_err(ctx.object, "writing plaintext of");
    let mut hbuf = [0u8; HEADER_LEN];
    if read_full(&mut r, &mut hbuf).map_err(&rd)? < HEADER_LEN {
        return Err(fail());
    }
    let header = Header::parse(&hbuf).ok_or_else(fail)?;
    let cipher = ChunkCipher::new(key, ctx, &header)?;
    let stride = header.chunk() + TAG_LEN;
    let mut cur = Zeroizing::new(vec![0u8; stride]);
    let mut next = Zeroizing::new(vec![0u8; stride]);
    let mut cur_len = read_full(&mut r, &mut cur).map_err(&rd)?;
    let mut total = 0u64;
    let mut counter = 0u32;
    loop {
        if cur_len < TAG_LEN {
            return Err(fail());
        }
        let next_len = if cur_len == stride { read_full(&mut r, &mut next).map_err(&rd)? } else { 0 };
        let last = next_len == 0;
        let plain = cipher.open_chunk(counter, last, &mut cur[..cur_len])?;
        w.write_all(&cur[..plain]).map_err(&wr)?;
        total += plain as u64;
        if last {
            break;
        }
        std::mem::swap(&mut cur, &mut next);
        cur_len = next_len;
        counter = counter.checked_add(1).ok_or_else(fail)?;
    }
    w.flush().map_err(&wr)?;
    Ok(total)
}
