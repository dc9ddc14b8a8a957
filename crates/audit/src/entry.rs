//! The audit entry and its canonical byte encoding, the bytes the Merkle tree commits to.
//!
//! Encoding v1 (all lengths big-endian u16, all text UTF-8; see `docs/audit-log.md`):
//! `0x01 | actor | role | action | purpose | object | decision | reason | time`, where each text
//! field is `len || bytes`, `decision` is one byte (`0x00` denied, `0x01` allowed) and `time` is
//! the 27-byte RFC 3339 form `YYYY-MM-DDTHH:MM:SS.ffffffZ`. One value has exactly one encoding:
//! the decoder refuses anything the encoder would not write. Entries hold pseudonymous ids and
//! words from a fixed vocabulary, never biometric data or a plaintext identity.

use std::fmt;

use crate::error::EntryError;

/// Version byte of the current encoding.
pub const ENCODING_VERSION: u8 = 1;
/// Longest id token, in bytes.
pub const MAX_TOKEN: usize = 128;
/// Longest reason, in bytes.
pub const MAX_REASON: usize = 1024;

/// An identifier: a pseudonymous actor or object id, a role, an action or a purpose name.
/// 1 to 128 bytes of `A-Z a-z 0-9 . _ : @ / -`; no spaces, so no "Jane Doe".
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(String);

impl Token {
    pub fn new(field: &'static str, s: &str) -> Result<Token, EntryError> {
        check_token(field, s.as_bytes())?;
        Ok(Token(s.to_owned()))
    }

    /// Free text (a purpose typed by a user) made into a token: lower-cased, every character
    /// outside the token alphabet replaced by `-`, cut to 128 bytes; `unspecified` if empty.
    pub fn from_text(s: &str) -> Token {
        let t: String =
            s.trim()
                .chars()
                .take(MAX_TOKEN)
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._:@/-".contains(c) {
                        c.to_ascii_lowercase()
                    } else {
                        '-'
                    }
                })
                .collect();
        Token(if t.is_empty() { "unspecified".into() } else { t })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check_token(field: &'static str, b: &[u8]) -> Result<(), EntryError> {
    if b.is_empty() || b.len() > MAX_TOKEN {
        return Err(EntryError::BadField { field, reason: "must be 1 to 128 bytes" });
    }
    if !b.iter().all(|c| c.is_ascii_alphanumeric() || b"._:@/-".contains(c)) {
        return Err(EntryError::BadField { field, reason: "allowed characters are A-Z a-z 0-9 . _ : @ / -" });
    }
    Ok(())
}

fn check_reason(s: &str) -> Result<(), EntryError> {
    if s.len() > MAX_REASON {
        return Err(EntryError::BadField { field: "reason", reason: "longer than 1024 bytes" });
    }
    if s.chars().any(char::is_control) {
        return Err(EntryError::BadField { field: "reason", reason: "contains a control character" });
    }
    Ok(())
}

/// The outcome of an access decision, or `Allowed` for a change that was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Allowed,
    Denied,
}

/// A point in time, microseconds since 1970-01-01T00:00:00Z, up to the end of year 9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

/// 9999-12-31T23:59:59.999999Z.
const MAX_MICROS: i64 = 253_402_300_799_999_999;

impl Timestamp {
    pub fn from_unix_micros(micros: i64) -> Result<Timestamp, EntryError> {
        if (0..=MAX_MICROS).contains(&micros) {
            Ok(Timestamp(micros))
        } else {
            Err(EntryError::BadTime(micros.to_string()))
        }
    }

    pub fn unix_micros(&self) -> i64 {
        self.0
    }

    /// Parses the canonical form `YYYY-MM-DDTHH:MM:SS.ffffffZ` only.
    pub fn parse(s: &str) -> Result<Timestamp, EntryError> {
        let bad = || EntryError::BadTime(s.chars().take(40).collect());
        let b = s.as_bytes();
        if b.len() != 27 {
            return Err(bad());
        }
        let num = |range: std::ops::Range<usize>| -> Result<i64, EntryError> {
            let digits = b.get(range).ok_or_else(bad)?;
            digits.iter().try_fold(0i64, |acc, &d| {
                if d.is_ascii_digit() {
                    Ok(acc * 10 + i64::from(d - b'0'))
                } else {
                    Err(bad())
                }
            })
        };
        for (i, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (26, b'Z')] {
            if b[i] != c {
                return Err(bad());
            }
        }
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, se, us) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..26)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 59 {
            return Err(bad());
        }
        let days = days_from_civil(y, mo, d);
        let t = Timestamp::from_unix_micros(((days * 24 + h) * 60 + mi) * 60_000_000 + se * 1_000_000 + us)
            .map_err(|_| bad())?;
        // Refuses dates like 02-30, which would otherwise roll over.
        if t.to_string() != s {
            return Err(bad());
        }
        Ok(t)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, rem) = (self.0.div_euclid(86_400_000_000), self.0.rem_euclid(86_400_000_000));
        let (y, mo, d) = civil_from_days(days);
        let secs = rem / 1_000_000;
        write!(
            f,
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            rem % 1_000_000
        )
    }
}

// Howard Hinnant's proleptic Gregorian conversions.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { yoe + era * 400 + 1 } else { yoe + era * 400 }, m, d)
}

/// One audit record: who (pseudonym and role) did or tried what, to which object, for which
/// purpose, what was decided and why, and when.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AuditEntry {
    pub actor: Token,
    pub role: Token,
    pub action: Token,
    pub purpose: Token,
    pub object: Token,
    pub decision: Decision,
    pub reason: Reason,
    pub time: Timestamp,
}

/// Free text explaining a decision (a policy id, a break-glass justification): at most 1024
/// bytes, no control characters. Callers keep identities out of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Reason(String);

impl Reason {
    pub fn new(s: &str) -> Result<Reason, EntryError> {
        check_reason(s)?;
        Ok(Reason(s.to_owned()))
    }

    /// Any text made into a reason: control characters replaced by spaces, cut to the limit
    /// on a character boundary.
    pub fn clipped(s: &str) -> Reason {
        let mut out = String::new();
        for c in s.chars().map(|c| if c.is_control() { ' ' } else { c }) {
            if out.len() + c.len_utf8() > MAX_REASON {
                break;
            }
            out.push(c);
        }
        Reason(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AuditEntry {
    /// The canonical encoding (see the module docs).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.reason.0.len());
        out.push(ENCODING_VERSION);
        for t in [&self.actor, &self.role, &self.action, &self.purpose, &self.object] {
            put(&mut out, t.0.as_bytes());
        }
        out.push(match self.decision {
            Decision::Denied => 0,
            Decision::Allowed => 1,
        });
        put(&mut out, self.reason.0.as_bytes());
        put(&mut out, self.time.to_string().as_bytes());
        out
    }

    /// Decodes a canonical encoding; anything else is refused with the byte offset.
    pub fn decode(bytes: &[u8]) -> Result<AuditEntry, EntryError> {
        let mut r = Reader { bytes, at: 0 };
        if r.byte()? != ENCODING_VERSION {
            return Err(EntryError::BadEncoding { at: 0, reason: "unknown encoding version" });
        }
        let token = |r: &mut Reader<'_>, field| -> Result<Token, EntryError> {
            let at = r.at;
            let b = r.field()?;
            check_token(field, b)
                .map_err(|_| EntryError::BadEncoding { at, reason: "not a valid id token" })?;
            Ok(Token(String::from_utf8_lossy(b).into_owned()))
        };
        let actor = token(&mut r, "actor")?;
        let role = token(&mut r, "role")?;
        let action = token(&mut r, "action")?;
        let purpose = token(&mut r, "purpose")?;
        let object = token(&mut r, "object")?;
        let at = r.at;
        let decision = match r.byte()? {
            0 => Decision::Denied,
            1 => Decision::Allowed,
            _ => return Err(EntryError::BadEncoding { at, reason: "decision is neither 0 nor 1" }),
        };
        let at = r.at;
        let reason = std::str::from_utf8(r.field()?)
            .map_err(|_| EntryError::BadEncoding { at, reason: "reason is not UTF-8" })?;
        check_reason(reason)
            .map_err(|_| EntryError::BadEncoding { at, reason: "reason is not allowed text" })?;
        let at = r.at;
        let time = std::str::from_utf8(r.field()?)
            .ok()
            .and_then(|s| Timestamp::parse(s).ok())
            .ok_or(EntryError::BadEncoding { at, reason: "time is not canonical RFC 3339 UTC" })?;
        if r.at != bytes.len() {
            return Err(EntryError::BadEncoding { at: r.at, reason: "trailing bytes" });
        }
        Ok(AuditEntry {
            actor,
            role,
            action,
            purpose,
            object,
            decision,
            reason: Reason(reason.to_owned()),
            time,
        })
    }
}

fn put(out: &mut Vec<u8>, b: &[u8]) {
    // Fields are bounded by their constructors (at most MAX_REASON bytes), so this never truncates.
    out.extend_from_slice(&(b.len() as u16).to_be_bytes());
    out.extend_from_slice(b);
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EntryError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or(EntryError::BadEncoding { at: self.at, reason: "truncated" })?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, EntryError> {
        Ok(self.take(1)?[0])
    }

    fn field(&mut self) -> Result<&'a [u8], EntryError> {
        let len = self.take(2)?;
        let len = u16::from_be_bytes([len[0], len[1]]);
        self.take(usize::from(len))
    }
}

/// An entry as people and tools read it, with its index: what `facevault audit list --json`
/// prints, the API's audit entries hold and an access package's audit file lists. One shape,
/// built once.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EntryView {
    pub index: u64,
    /// RFC 3339 UTC.
    pub time: String,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub purpose: String,
    pub object: String,
    /// `allowed` or `denied`.
    pub decision: String,
    pub reason: String,
}

impl EntryView {
    pub fn of(index: u64, e: &AuditEntry) -> EntryView {
        EntryView {
            index,
            time: e.time.to_string(),
            actor: e.actor.as_str().to_owned(),
            role: e.role.as_str().to_owned(),
            action: e.action.as_str().to_owned(),
            purpose: e.purpose.as_str().to_owned(),
            object: e.object.as_str().to_owned(),
            decision: if e.decision == Decision::Allowed { "allowed" } else { "denied" }.to_owned(),
            reason: e.reason.as_str().to_owned(),
        }
    }
}
