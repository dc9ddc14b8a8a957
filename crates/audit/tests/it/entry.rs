//! The canonical entry encoding: golden bytes, round trips, refusals, and no panics.

use facevault_audit::{AuditEntry, Decision, EntryError, Reason, Timestamp, Token};
use proptest::prelude::*;

fn entry() -> AuditEntry {
    AuditEntry {
        actor: Token::new("actor", "user:7f3a").unwrap(),
        role: Token::new("role", "surgeon").unwrap(),
        action: Token::new("action", "read").unwrap(),
        purpose: Token::new("purpose", "treatment-planning").unwrap(),
        object: Token::new("object", "scan:01J9").unwrap(),
        decision: Decision::Allowed,
        reason: Reason::new("policy surgeon-read").unwrap(),
        time: Timestamp::parse("2026-11-23T03:10:47.123456Z").unwrap(),
    }
}

#[test]
fn encoding_is_the_documented_bytes() {
    let mut want = vec![1u8];
    for f in ["user:7f3a", "surgeon", "read", "treatment-planning", "scan:01J9"] {
        want.extend_from_slice(&(f.len() as u16).to_be_bytes());
        want.extend_from_slice(f.as_bytes());
    }
    want.push(1);
    for f in ["policy surgeon-read", "2026-11-23T03:10:47.123456Z"] {
        want.extend_from_slice(&(f.len() as u16).to_be_bytes());
        want.extend_from_slice(f.as_bytes());
    }
    assert_eq!(entry().encode(), want);
    assert_eq!(AuditEntry::decode(&want).unwrap(), entry());
}

#[test]
fn timestamps_are_rfc3339_utc_with_microseconds() {
    let check = |s: &str, micros: i64| {
        let t = Timestamp::parse(s).unwrap();
        assert_eq!(t.unix_micros(), micros, "{s}");
        assert_eq!(t.to_string(), s);
        assert_eq!(Timestamp::from_unix_micros(micros).unwrap(), t);
    };
    check("1970-01-01T00:00:00.000000Z", 0);
    check("2000-03-01T00:00:00.000000Z", 951_868_800_000_000);
    check("2024-02-29T23:59:59.999999Z", 1_709_251_199_999_999);
    check("9999-12-31T23:59:59.999999Z", 253_402_300_799_999_999);
    for bad in [
        "2023-02-29T00:00:00.000000Z",
        "2026-13-01T00:00:00.000000Z",
        "2026-11-23T24:00:00.000000Z",
        "2026-11-23T03:10:47Z",
        "2026-11-23T03:10:47.123456+00:00",
        "2026-11-23t03:10:47.123456Z",
        "1969-12-31T23:59:59.999999Z",
    ] {
        assert!(Timestamp::parse(bad).is_err(), "{bad}");
    }
    assert!(Timestamp::from_unix_micros(-1).is_err());
}

#[test]
fn ids_cannot_hold_names_or_free_text() {
    assert!(Token::new("actor", "Jane Doe").is_err());
    assert!(Token::new("actor", "").is_err());
    assert!(Token::new("actor", &"a".repeat(129)).is_err());
    assert!(Token::new("actor", "j\u{e9}r\u{f4}me").is_err());
    assert!(Reason::new("line\nbreak").is_err());
    assert!(Reason::new(&"x".repeat(1025)).is_err());
}

#[test]
fn non_canonical_encodings_are_refused_with_the_offset() {
    let good = entry().encode();
    let mut trailing = good.clone();
    trailing.push(0);
    assert_eq!(
        AuditEntry::decode(&trailing),
        Err(EntryError::BadEncoding { at: good.len(), reason: "trailing bytes" })
    );
    let mut v2 = good.clone();
    v2[0] = 2;
    assert!(matches!(AuditEntry::decode(&v2), Err(EntryError::BadEncoding { at: 0, .. })));
    for cut in 0..good.len() {
        assert!(AuditEntry::decode(&good[..cut]).is_err(), "cut at {cut}");
    }
    // decision byte 2
    let decision_at = 1 + [9, 7, 4, 18, 9].iter().map(|n| 2 + n).sum::<usize>();
    assert_eq!(good[decision_at], 1);
    let mut d = good.clone();
    d[decision_at] = 2;
    assert_eq!(
        AuditEntry::decode(&d),
        Err(EntryError::BadEncoding { at: decision_at, reason: "decision is neither 0 nor 1" })
    );
    // A non-canonical time (no fraction) is refused though it is valid RFC 3339.
    let mut e = entry().encode();
    let t = b"2026-11-23T03:10:47.123456Z";
    let pos = e.len() - t.len();
    e.truncate(pos - 2);
    e.extend_from_slice(&20u16.to_be_bytes());
    e.extend_from_slice(b"2026-11-23T03:10:47Z");
    assert!(matches!(AuditEntry::decode(&e), Err(EntryError::BadEncoding { at, .. }) if at == pos - 2));
}

proptest! {
    #[test]
    fn decode_never_panics_and_accepts_only_what_encode_writes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(e) = AuditEntry::decode(&bytes) {
            prop_assert_eq!(e.encode(), bytes);
        }
    }

    #[test]
    fn every_entry_round_trips(actor in "[a-z0-9:]{1,20}", reason in "[ -~]{0,60}", micros in 0i64..253_402_300_799_999_999, allowed: bool) {
        let e = AuditEntry {
            actor: Token::new("actor", &actor).unwrap(),
            decision: if allowed { Decision::Allowed } else { Decision::Denied },
            reason: Reason::new(&reason).unwrap(),
            time: Timestamp::from_unix_micros(micros).unwrap(),
            ..entry()
        };
        prop_assert_eq!(AuditEntry::decode(&e.encode()).unwrap(), e);
    }
}
