//! Subcommands. Each module parses its own arguments and does its own printing; the helpers
//! they share (the exit-code failure, JSON output, dates and times) are here.

pub mod account;
pub mod analyze;
pub mod audit;
pub mod certificate;
pub mod demo;
pub mod govern;
pub mod keys;
pub mod mesh;
pub mod package;
pub mod posture;
pub mod requests;
pub mod scans;
pub mod serve;
pub mod subjects;
pub mod vault;
pub mod vendors;

use std::fmt;

use facevault_vault::{SystemClock, Timestamp};

/// Why a command failed, for the exit code: 3 for unreadable or invalid input files, 4 for
/// output that could not be written, 5 for a wrong passphrase or key, 6 for an unknown (or
/// shredded) subject, scan or derivative, 7 for a damaged vault, 8 for an access or capture
/// the policy or consent refuses. (clap uses 2 for bad arguments; anything else is 1.)
#[derive(Debug)]
pub enum Failure {
    Input(String),
    Output(String),
    Key(String),
    NotFound(String),
    Damaged(String),
    Denied(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Input(_) => 3,
            Failure::Output(_) => 4,
            Failure::Key(_) => 5,
            Failure::NotFound(_) => 6,
            Failure::Damaged(_) => 7,
            Failure::Denied(_) => 8,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Input(m)
            | Failure::Output(m)
            | Failure::Key(m)
            | Failure::NotFound(m)
            | Failure::Damaged(m)
            | Failure::Denied(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Failure {}

/// Print `value` as pretty JSON on standard output. Errors come back as `io::Error`, so a
/// reader that closes the pipe early (`| head`) ends the command quietly (see `main`).
pub fn print_json(value: &impl serde::Serialize) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)
}

/// Now, in whole milliseconds: the vault's clock and stored times have no finer grain, so a
/// time taken here never lands after the vault's own "now" for the same instant.
pub(crate) fn now_ms() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(chrono::Utc::now().timestamp_millis()).unwrap_or_default()
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM` UTC.
pub(crate) fn utc(ts: Timestamp) -> String {
    let secs = ts.0.div_euclid(1000);
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}", s / 3600, s % 3600 / 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

pub(crate) fn today() -> String {
    let Timestamp(ms) = facevault_vault::Clock::now(&SystemClock);
    let (y, m, d) = civil(ms.div_euclid(86_400_000));
    format!("{y:04}-{m:02}-{d:02}")
}

pub(crate) fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(Timestamp(0)), "1970-01-01 00:00");
        // 2000-02-29 12:34 UTC, a leap day.
        assert_eq!(utc(Timestamp(951_827_640_000)), "2000-02-29 12:34");
        assert_eq!(utc(Timestamp(-60_000)), "1969-12-31 23:59");
    }

    #[test]
    fn dates_are_checked_for_shape() {
        assert!(is_date("2025-01-31"));
        assert!(!is_date("2025-1-31"));
        assert!(!is_date("31/01/2025"));
    }
}
