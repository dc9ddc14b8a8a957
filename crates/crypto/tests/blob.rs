//! Blob sealing: round trips at every size that matters, and every kind of tampering.

use std::io::Read;

use facevault_crypto::{
    open, open_stream, seal, seal_slice, seal_stream, sealed_len, BlobContext, CryptoError, DataKey, Id,
    ObjectKind, CHUNK_SIZE, HEADER_LEN, TAG_LEN,
};
use proptest::prelude::*;

const C: usize = CHUNK_SIZE;
const STRIDE: usize = CHUNK_SIZE + TAG_LEN;

fn ctx(object: u8) -> BlobContext {
    BlobContext {
        vault: Id::from_bytes([1; 16]),
        subject: Id::from_bytes([2; 16]),
        object: Id::from_bytes([object; 16]),
        kind: ObjectKind::Scan,
        version: 1,
    }
}

fn plaintext(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 + i / 251) as u8).collect()
}

fn key() -> DataKey {
    DataKey::from_bytes([9; 32])
}

fn failed(c: &BlobContext) -> CryptoError {
    CryptoError::DecryptionFailed { object: c.object }
}

/// Open both ways; both must agree: the plaintext, or DecryptionFailed naming the object.
fn open_both(k: &DataKey, c: &BlobContext, sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let in_place = open(k, c, sealed.to_vec());
    let mut out = Vec::new();
    let streamed = open_stream(k, c, sealed, &mut out).map(|_| out);
    assert_eq!(in_place, streamed, "in-place and streaming open disagree");
    in_place
}

/// A reader that hands out at most `step` bytes per call, to exercise partial reads.
struct Dribble<'a> {
    data: &'a [u8],
    step: usize,
}

impl Read for Dribble<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn round_trips_at_chunk_boundaries() {
    let k = key();
    for n in [0, 1, 15, 16, 17, C - 1, C, C + 1, 2 * C - 1, 2 * C, 2 * C + 1, 3 * C + 12345] {
        let p = plaintext(n);
        let c = ctx(3);
        let sealed = seal_slice(&k, &c, &p).unwrap();
        assert_eq!(Some(sealed.len()), sealed_len(n), "size {n}");
        assert_eq!(&sealed[..4], b"FVBL");
        assert_eq!(open_both(&k, &c, &sealed).unwrap(), p, "size {n}");
        let mut streamed = Vec::new();
        assert_eq!(seal_stream(&k, &c, Dribble { data: &p, step: 7001 }, &mut streamed).unwrap(), n as u64);
        assert_eq!(streamed.len(), sealed.len(), "both sealers write one format");
        assert_eq!(open_both(&k, &c, &streamed).unwrap(), p, "size {n} streamed");
        let mut out = Vec::new();
        open_stream(&k, &c, Dribble { data: &sealed, step: 4093 }, &mut out).unwrap();
        assert_eq!(out, p);
    }
}

#[test]
fn sealing_twice_gives_different_ciphertext_and_hides_the_plaintext() {
    let k = key();
    let p = plaintext(3 * C);
    let a = seal_slice(&k, &ctx(3), &p).unwrap();
    let b = seal_slice(&k, &ctx(3), &p).unwrap();
    assert_ne!(a, b);
    // No 16-byte run of the plaintext survives into the ciphertext.
    let needle = &p[C + 100..C + 116];
    assert!(!a.windows(16).any(|w| w == needle));
}

#[test]
fn flipping_any_byte_of_a_small_blob_fails_naming_the_object() {
    let k = key();
    let c = ctx(4);
    let sealed = seal_slice(&k, &c, &plaintext(300)).unwrap();
    for i in 0..sealed.len() {
        for bit in [0x01, 0x80] {
            let mut t = sealed.clone();
            t[i] ^= bit;
            assert_eq!(open_both(&k, &c, &t), Err(failed(&c)), "byte {i} bit {bit:#x}");
        }
    }
}

#[test]
fn flipping_bytes_across_a_multi_chunk_blob_fails() {
    let k = key();
    let c = ctx(5);
    let sealed = seal_slice(&k, &c, &plaintext(2 * C + 1000)).unwrap();
    let mut positions: Vec<usize> = (0..HEADER_LEN).collect();
    for chunk_start in [HEADER_LEN, HEADER_LEN + STRIDE, HEADER_LEN + 2 * STRIDE] {
        positions.extend(chunk_start..chunk_start + 20);
        positions.extend((chunk_start..sealed.len().min(chunk_start + STRIDE)).step_by(4099));
    }
    positions.extend(sealed.len() - 40..sealed.len());
    for i in positions {
        let mut t = sealed.clone();
        t[i] ^= 0x20;
        assert_eq!(open_both(&k, &c, &t), Err(failed(&c)), "byte {i}");
    }
}

#[test]
fn swapped_blobs_fail_naming_the_object_asked_for() {
    let k = key();
    let (a, b) = (ctx(6), ctx(7));
    let sa = seal_slice(&k, &a, &plaintext(1000)).unwrap();
    let sb = seal_slice(&k, &b, &plaintext(1000)).unwrap();
    assert_eq!(open_both(&k, &a, &sb), Err(failed(&a)));
    assert_eq!(open_both(&k, &b, &sa), Err(failed(&b)));
}

#[test]
fn every_context_field_and_the_key_are_bound() {
    let k = key();
    let c = ctx(8);
    let sealed = seal_slice(&k, &c, &plaintext(C + 5)).unwrap();
    let others = [
        BlobContext { vault: Id::from_bytes([0xee; 16]), ..c },
        BlobContext { subject: Id::from_bytes([0xee; 16]), ..c },
        BlobContext { kind: ObjectKind::Derivative, ..c },
        BlobContext { kind: ObjectKind::SubjectDetails, ..c },
        BlobContext { version: 2, ..c },
    ];
    for other in others {
        assert_eq!(open_both(&k, &other, &sealed), Err(failed(&other)), "{other:?}");
    }
    assert_eq!(open_both(&DataKey::from_bytes([8; 32]), &c, &sealed), Err(failed(&c)));
}

#[test]
fn truncation_reordering_and_appending_fail() {
    let k = key();
    let c = ctx(9);
    let p = plaintext(3 * C);
    let sealed = seal_slice(&k, &c, &p).unwrap();
    assert_eq!(sealed.len(), HEADER_LEN + 3 * STRIDE);
    let chunk = |i: usize| &sealed[HEADER_LEN + i * STRIDE..HEADER_LEN + (i + 1) * STRIDE];
    let head = &sealed[..HEADER_LEN];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("header only", head.to_vec()),
        ("last chunk dropped", [head, chunk(0), chunk(1)].concat()),
        ("first chunk only", [head, chunk(0)].concat()),
        ("cut mid-chunk", sealed[..HEADER_LEN + STRIDE + 500].to_vec()),
        ("cut inside a tag", sealed[..sealed.len() - 3].to_vec()),
        ("cut to a tag fragment", sealed[..HEADER_LEN + 2 * STRIDE + 10].to_vec()),
        ("chunks 0 and 1 swapped", [head, chunk(1), chunk(0), chunk(2)].concat()),
        ("chunk 0 repeated", [head, chunk(0), chunk(0), chunk(1), chunk(2)].concat()),
        ("last chunk repeated", [head, chunk(0), chunk(1), chunk(2), chunk(2)].concat()),
        ("trailing byte", [&sealed[..], &[0u8]].concat()),
        ("trailing tag-sized junk", [&sealed[..], &[0u8; 40]].concat()),
    ];
    for (name, t) in cases {
        assert_eq!(open_both(&k, &c, &t), Err(failed(&c)), "{name}");
    }
}

#[test]
fn streaming_open_releases_only_verified_chunks() {
    let k = key();
    let c = ctx(10);
    let p = plaintext(3 * C);
    let sealed = seal_slice(&k, &c, &p).unwrap();
    let mut t = sealed.clone();
    t[HEADER_LEN + 2 * STRIDE + 7] ^= 1; // damage the third chunk
    let mut out = Vec::new();
    assert_eq!(open_stream(&k, &c, &t[..], &mut out), Err(failed(&c)));
    // Only the two authentic chunks before the damage reached the writer.
    assert_eq!(out, &p[..2 * C]);
    // The in-place opener hands out nothing at all.
    assert_eq!(open(&k, &c, t), Err(failed(&c)));
}

#[test]
fn in_place_seal_reuses_a_reserved_buffer() {
    let k = key();
    let c = ctx(11);
    let n = 2 * C + 3;
    let mut buf = Vec::with_capacity(sealed_len(n).unwrap());
    buf.extend_from_slice(&plaintext(n));
    let ptr = buf.as_ptr();
    let sealed = seal(&k, &c, buf).unwrap();
    assert_eq!(sealed.as_ptr(), ptr, "no reallocation, so no second copy of the plaintext");
    let opened = open(&k, &c, sealed).unwrap();
    assert_eq!(opened.as_ptr(), ptr);
    assert_eq!(opened, plaintext(n));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_sizes_round_trip(n in prop_oneof![0usize..300, (C - 40)..(C + 40), (3 * C - 40)..(3 * C + 40)],
                               step in 1usize..70_000, seed in any::<u8>()) {
        let k = DataKey::from_bytes([seed; 32]);
        let c = ctx(seed);
        let p: Vec<u8> = plaintext(n).iter().map(|b| b ^ seed).collect();
        let sealed = seal_slice(&k, &c, &p).unwrap();
        prop_assert_eq!(open(&k, &c, sealed.clone()).unwrap(), p.clone());
        let mut streamed = Vec::new();
        seal_stream(&k, &c, Dribble { data: &p, step }, &mut streamed).unwrap();
        let mut out = Vec::new();
        open_stream(&k, &c, Dribble { data: &streamed, step }, &mut out).unwrap();
        prop_assert_eq!(out, p);
        if !sealed.is_empty() {
            let mut t = sealed.clone();
            let i = (usize::from(seed) * 7919) % t.len();
            t[i] ^= 0x04;
            prop_assert_eq!(open(&k, &c, t), Err(failed(&c)));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Hostile input: any bytes, including ones with a valid header, fail cleanly both ways.
    #[test]
    fn arbitrary_bytes_never_open(mut junk in proptest::collection::vec(any::<u8>(), 0..3000), keep_header in any::<bool>()) {
        if keep_header && junk.len() >= HEADER_LEN {
            let real = seal_slice(&key(), &ctx(12), b"x").unwrap();
            junk[..HEADER_LEN].copy_from_slice(&real[..HEADER_LEN]);
        }
        prop_assert_eq!(open_both(&key(), &ctx(12), &junk), Err(failed(&ctx(12))));
    }
}
