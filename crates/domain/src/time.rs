//! Dates, timestamps, retention periods and the injectable clock. All UTC: a retention day is a
//! UTC calendar day, and a destruction due on day D happens on D, not the day before.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Days, Months, NaiveDate, Utc};

use crate::DomainError;

/// An instant, UTC.
pub type Timestamp = DateTime<Utc>;
/// A UTC calendar day.
pub type Date = NaiveDate;

/// Where "now" comes from. The vault passes the system clock; tests pass a [`SimClock`].
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
    fn today(&self) -> Date {
        self.now().date_naive()
    }
}

/// A clock that moves only when told to, so a test can live through years in microseconds.
#[derive(Debug)]
pub struct SimClock {
    secs: AtomicI64,
}

impl SimClock {
    pub fn at(t: Timestamp) -> Self {
        Self { secs: AtomicI64::new(t.timestamp()) }
    }
    /// Midnight UTC at the start of `day`.
    pub fn on(day: Date) -> Self {
        Self::at(day.and_time(chrono::NaiveTime::MIN).and_utc())
    }
    pub fn set(&self, t: Timestamp) {
        self.secs.store(t.timestamp(), Ordering::SeqCst);
    }
    pub fn advance_days(&self, days: u32) {
        self.secs.fetch_add(i64::from(days) * 86_400, Ordering::SeqCst);
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        // Out-of-range seconds only arise from absurd advances; stay at the latest instant.
        DateTime::from_timestamp(self.secs.load(Ordering::SeqCst), 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

/// How long something is kept, in the units a notice states it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum RetentionPeriod {
    Days(u32),
    Months(u32),
    Years(u32),
}

impl RetentionPeriod {
    /// The day the period ends, counted from `from`. Calendar months and years: a year from
    /// 29 February ends on 28 February. Saturates at the last representable day.
    pub fn after(self, from: Date) -> Date {
        let end = match self {
            Self::Days(d) => from.checked_add_days(Days::new(u64::from(d))),
            Self::Months(m) => from.checked_add_months(Months::new(m)),
            Self::Years(y) => y.checked_mul(12).and_then(|m| from.checked_add_months(Months::new(m))),
        };
        end.unwrap_or(NaiveDate::MAX)
    }
}

impl fmt::Display for RetentionPeriod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Days(n) => write!(f, "{n}d"),
            Self::Months(n) => write!(f, "{n}m"),
            Self::Years(n) => write!(f, "{n}y"),
        }
    }
}

impl FromStr for RetentionPeriod {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::BadPeriod { text: s.to_owned() };
        let t = s.trim();
        let unit = t.chars().last().ok_or_else(bad)?;
        let n: u32 = t[..t.len() - unit.len_utf8()].parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        match unit {
            'd' => Ok(Self::Days(n)),
            'm' => Ok(Self::Months(n)),
            'y' => Ok(Self::Years(n)),
            _ => Err(bad()),
        }
    }
}

impl TryFrom<String> for RetentionPeriod {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, DomainError> {
        s.parse()
    }
}

impl From<RetentionPeriod> for String {
    fn from(p: RetentionPeriod) -> String {
        p.to_string()
    }
}
