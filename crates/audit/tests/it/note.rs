//! Signed notes and checkpoints: the exact C2SP text, key encodings, and refusals.

use facevault_audit::{
    key_id, open_checkpoint, open_note, sign_checkpoint, sign_note, Checkpoint, Hash, NoteError, SigningKey,
    VerifierKey,
};
use sha2::{Digest, Sha256};

const ORIGIN: &str = "facevault.example/audit";

fn key() -> SigningKey {
    SigningKey::from_seed(ORIGIN, &[7u8; 32]).unwrap()
}

fn checkpoint() -> Checkpoint {
    Checkpoint { origin: ORIGIN.into(), size: 12, root: Hash([0xab; 32]) }
}

#[test]
fn rfc8032_test_1_public_key_is_derived_from_the_seed() {
    let seed: [u8; 32] =
        hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").try_into().unwrap();
    let k = SigningKey::from_seed("a", &seed).unwrap();
    assert_eq!(
        k.verifier().public_key().to_vec(),
        hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    );
}

#[test]
fn key_id_is_sha256_of_name_newline_type_and_key() {
    let k = key().verifier();
    let mut h = Sha256::new();
    h.update(ORIGIN.as_bytes());
    h.update([0x0a, 0x01]);
    h.update(k.public_key());
    assert_eq!(k.key_id(), h.finalize()[..4]);
    assert_eq!(key_id(ORIGIN, &k.public_key()), k.key_id());
}

#[test]
fn signed_checkpoint_has_the_c2sp_layout() {
    let note = sign_checkpoint(&checkpoint(), &key()).unwrap();
    let root = "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=";
    let (body, sig) = note.split_once("\n\n").unwrap();
    assert_eq!(body, format!("{ORIGIN}\n12\n{root}"));
    let sig = sig.strip_prefix("\u{2014} facevault.example/audit ").unwrap();
    let sig = sig.strip_suffix('\n').unwrap();
    assert!(!sig.contains('\n'));
    use base64::Engine as _;
    let blob = base64::engine::general_purpose::STANDARD.decode(sig).unwrap();
    assert_eq!(blob.len(), 68);
    assert_eq!(blob[..4], key().verifier().key_id());
    assert_eq!(open_checkpoint(&note, &key().verifier(), ORIGIN).unwrap(), checkpoint());
}

#[test]
fn keys_round_trip_through_their_text_forms() {
    let k = key();
    let v = k.verifier();
    assert_eq!(VerifierKey::parse(&v.to_string()).unwrap(), v);
    let secret = k.to_secret_string();
    assert!(secret.starts_with("PRIVATE+KEY+facevault.example/audit+"));
    assert_eq!(SigningKey::parse(&secret).unwrap().verifier(), v);
    // A key id that does not match the key is refused.
    let s = v.to_string();
    let mut parts: Vec<&str> = s.split('+').collect();
    parts[1] = "00000000";
    assert!(VerifierKey::parse(&parts.join("+")).is_err());
    // Debug shows the name, never the seed.
    let dbg = format!("{k:?}");
    assert!(dbg.contains("facevault.example/audit") && !dbg.contains("7, 7"), "{dbg}");
}

#[test]
fn go_note_package_example_key_and_signature() {
    // The example key and note from golang.org/x/mod/sumdb/note's documentation.
    let skey = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    let vkey = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    let text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
    let k = SigningKey::parse(skey).unwrap();
    assert_eq!(k.verifier().to_string(), vkey);
    let note = sign_note(text, &k).unwrap();
    assert_eq!(
        note,
        format!("{text}\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n")
    );
    assert_eq!(open_note(&note, &VerifierKey::parse(vkey).unwrap()).unwrap(), text);
}

#[test]
fn altered_or_foreign_notes_are_refused() {
    let v = key().verifier();
    let note = sign_checkpoint(&checkpoint(), &key()).unwrap();
    // Another size under the same signature.
    let forged = note.replacen("\n12\n", "\n13\n", 1);
    assert_eq!(open_checkpoint(&forged, &v, ORIGIN), Err(NoteError::BadSignature { name: ORIGIN.into() }));
    // Signed by another key with the same name: its key id differs, so it is not ours.
    let other = SigningKey::from_seed(ORIGIN, &[8u8; 32]).unwrap();
    let foreign = sign_checkpoint(&checkpoint(), &other).unwrap();
    assert_eq!(
        open_checkpoint(&foreign, &v, ORIGIN),
        Err(NoteError::NoValidSignature { name: ORIGIN.into() })
    );
    // Another log's checkpoint, validly signed.
    let elsewhere = Checkpoint { origin: "other.example/log".into(), ..checkpoint() };
    let note2 = sign_checkpoint(&elsewhere, &key()).unwrap();
    assert!(matches!(open_checkpoint(&note2, &v, ORIGIN), Err(NoteError::BadCheckpoint { line: 1, .. })));
    // Extra signatures by unknown keys are ignored; a hyphen instead of the em dash is not a signature line.
    let cosigned = format!("{note}\u{2014} witness.example AAAAAAAAAAAAAAAA\n");
    assert!(open_checkpoint(&cosigned, &v, ORIGIN).is_ok());
    assert!(matches!(open_note(&note.replace('\u{2014}', "-"), &v), Err(NoteError::Malformed(_))));
    // Missing final newline, missing blank line.
    assert!(open_note(note.trim_end(), &v).is_err());
    assert!(open_note(&note.replacen("\n\n", "\n", 1), &v).is_err());
}

#[test]
fn checkpoint_bodies_are_parsed_strictly() {
    let root = Hash([1; 32]).to_base64();
    assert!(Checkpoint::parse(&format!("o\n0\n{root}\n")).is_ok());
    assert!(Checkpoint::parse(&format!("o\n5\n{root}\next one\n")).is_ok());
    for bad in [
        format!("o\n05\n{root}\n"),
        format!("o\n+5\n{root}\n"),
        format!("o\n5\n{root}"),
        format!("\n5\n{root}\n"),
        "o\n5\nAAAA\n".to_string(),
        format!("o\n5\n{root}\n\n"),
        format!("o\n18446744073709551616\n{root}\n"),
    ] {
        assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
    }
    assert!(sign_note("no newline", &key()).is_err());
    assert!(sign_note("tab\there\n", &key()).is_err());
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}
