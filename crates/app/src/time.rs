//! Time, once for both front ends: the vault's clock has whole milliseconds, stored times are
//! [`Timestamp`]s (Unix milliseconds), and what people read is UTC.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use facevault_vault::Timestamp;

/// Now, in whole milliseconds: the vault's clock and stored times have no finer grain, so a
/// time taken here never lands after the vault's own "now" for the same instant.
pub fn now_ms() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_default()
}

/// Today in UTC.
pub fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// A stored time as RFC 3339 UTC with milliseconds (`2025-01-31T09:30:00.000Z`), for APIs.
pub fn rfc3339(ts: Timestamp) -> String {
    DateTime::from_timestamp_millis(ts.0)
        .map_or_else(|| ts.0.to_string(), |t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// A stored time to the minute (`2025-01-31 09:30`), for people reading a terminal.
pub fn minutes(ts: Timestamp) -> String {
    DateTime::from_timestamp_millis(ts.0)
        .map_or_else(|| ts.0.to_string(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

/// Unix seconds as RFC 3339 UTC.
pub fn secs_rfc3339(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0).map_or_else(|| secs.to_string(), |t| t.to_rfc3339())
}

/// A `YYYY-MM-DD` date, exactly that shape.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Whether `s` is a `YYYY-MM-DD` date.
pub fn is_date(s: &str) -> bool {
    parse_date(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_render_in_utc() {
        assert_eq!(minutes(Timestamp(0)), "1970-01-01 00:00");
        // 2000-02-29 12:34 UTC, a leap day.
        assert_eq!(minutes(Timestamp(951_827_640_000)), "2000-02-29 12:34");
        assert_eq!(minutes(Timestamp(-60_000)), "1969-12-31 23:59");
        assert_eq!(rfc3339(Timestamp(951_827_640_123)), "2000-02-29T12:34:00.123Z");
        assert_eq!(secs_rfc3339(0), "1970-01-01T00:00:00+00:00");
    }

    #[test]
    fn dates_are_checked_for_shape() {
        assert!(is_date("2025-01-31"));
        assert!(!is_date("2025-1-31"));
        assert!(!is_date("31/01/2025"));
        assert!(!is_date("2025-02-30"));
    }
}
