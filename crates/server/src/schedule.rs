//! The retention schedule: the server enforces retention every day at the configured time
//! (`retention_time`, UTC), and a day missed while it was down is caught up when it starts.
//! Each run is the app's `enforce_retention`, the one `facevault retention enforce` runs:
//! journaled under the actor [`ACTOR`] (a nothing-due run too), each destruction with its
//! signed deletion certificate kept in the vault directory.
//!
//! When a run is due is a pure function of the last day enforced, now and the time
//! ([`due_day`]); the task only reads its clock every tick, so a test drives it with a
//! simulated clock.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use facevault_app::{Session, Via};
use facevault_domain::Clock;
use facevault_policy::Role;

use crate::AppState;

/// The system's clock, for the schedule of a real server.
#[derive(Clone, Copy, Debug, Default)]
pub struct WallClock;

impl Clock for WallClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The audit log's actor of a scheduled run.
pub const ACTOR: &str = "system:retention-schedule";

/// How often the task looks at its clock (a run starts at most this late).
pub const TICK: Duration = Duration::from_secs(30);

/// A failed run is tried again at the next tick this many times in a row (a transient failure,
/// such as the database busy with another writer), then after [`RETRY`].
const QUICK_RETRIES: u32 = 3;
/// How long a run that keeps failing waits before it is tried again.
const RETRY: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// The day a run at `now` enforces, if one is due: the latest day whose scheduled time `at` has
/// come (today once `at` passed, else yesterday), unless `last` already covers it. Enforcing a
/// day destroys everything due on or before it, so one run catches up any days missed.
pub fn due_day(last: Option<NaiveDate>, now: DateTime<Utc>, at: NaiveTime) -> Option<NaiveDate> {
    let today = now.date_naive();
    let latest = if now.time() >= at { today } else { today.pred_opt()? };
    match last {
        Some(done) if done >= latest => None,
        _ => Some(latest),
    }
}

/// When the next scheduled run after `now` is.
pub fn next_run(now: DateTime<Utc>, at: NaiveTime) -> DateTime<Utc> {
    let today = now.date_naive().and_time(at).and_utc();
    if now < today {
        today
    } else {
        today + chrono::TimeDelta::days(1)
    }
}

/// The schedule's state: the last day enforced (in memory: after a restart the latest due day
/// is enforced again, which destroys nothing twice and journals the run).
pub struct RetentionSchedule {
    state: Arc<AppState>,
    clock: Arc<dyn Clock>,
    at: NaiveTime,
    last: Option<NaiveDate>,
    retry_after: Option<DateTime<Utc>>,
    failures: u32,
}

impl std::fmt::Debug for RetentionSchedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetentionSchedule")
            .field("at", &self.at)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl RetentionSchedule {
    /// The schedule of `state`'s configured time, reading `clock`.
    pub fn new(state: Arc<AppState>, clock: Arc<dyn Clock>) -> RetentionSchedule {
        let at = state.config().retention_at();
        RetentionSchedule { state, clock, at, last: None, retry_after: None, failures: 0 }
    }

    fn session() -> Session {
        Session { actor: ACTOR.into(), role: Role::PrivacyOfficer, own_subject: None, via: Via::Person }
    }

    /// Enforces retention if a run is due now; returns the day enforced. A failed run is logged
    /// (its detail for the operator, no subject data) and tried again at the next ticks, then
    /// hourly.
    pub async fn run_due(&mut self) -> Option<NaiveDate> {
        let now = self.clock.now();
        if self.retry_after.is_some_and(|t| now < t) {
            return None;
        }
        let day = due_day(self.last, now, self.at)?;
        match self.state.app().enforce_retention(&Self::session(), day).await {
            Ok(run) => {
                self.last = Some(day);
                self.retry_after = None;
                self.failures = 0;
                eprintln!(
                    "retention enforced for {day}: {} subject(s) acted on, {} certificate(s); next run {}",
                    run.done.len(),
                    run.certificates.len(),
                    next_run(now, self.at).to_rfc3339()
                );
                Some(day)
            }
            Err(e) => {
                self.failures += 1;
                let when = if self.failures > QUICK_RETRIES {
                    self.retry_after = Some(now + RETRY);
                    "in an hour"
                } else {
                    "at the next tick"
                };
                eprintln!(
                    "retention enforcement for {day} failed ({:?}): {}; retrying {when}",
                    e.kind, e.message
                );
                None
            }
        }
    }

    /// Runs what is due every `tick`, for as long as the task lives.
    pub async fn run(mut self, tick: Duration) {
        loop {
            self.run_due().await;
            tokio::time::sleep(tick).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }
    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_run_is_due_once_a_day_after_its_time() {
        let at = NaiveTime::from_hms_opt(3, 0, 0).unwrap();
        // First start after 03:00: today; before 03:00: yesterday's missed run.
        assert_eq!(due_day(None, t("2027-03-10T03:00:00Z"), at), Some(d("2027-03-10")));
        assert_eq!(due_day(None, t("2027-03-10T02:59:59Z"), at), Some(d("2027-03-09")));
        // Done today: nothing until tomorrow's time.
        assert_eq!(due_day(Some(d("2027-03-10")), t("2027-03-10T23:59:00Z"), at), None);
        assert_eq!(due_day(Some(d("2027-03-10")), t("2027-03-11T02:00:00Z"), at), None);
        assert_eq!(due_day(Some(d("2027-03-10")), t("2027-03-11T03:00:01Z"), at), Some(d("2027-03-11")));
        // Down for three days: one run for the latest day catches them up.
        assert_eq!(due_day(Some(d("2027-03-07")), t("2027-03-10T12:00:00Z"), at), Some(d("2027-03-10")));
        // Midnight.
        let midnight = NaiveTime::MIN;
        assert_eq!(
            due_day(Some(d("2027-03-09")), t("2027-03-10T00:00:00Z"), midnight),
            Some(d("2027-03-10"))
        );
    }

    #[test]
    fn the_next_run_is_today_or_tomorrow_at_its_time() {
        let at = NaiveTime::from_hms_opt(3, 0, 0).unwrap();
        assert_eq!(next_run(t("2027-03-10T01:00:00Z"), at), t("2027-03-10T03:00:00Z"));
        assert_eq!(next_run(t("2027-03-10T03:00:00Z"), at), t("2027-03-11T03:00:00Z"));
        assert_eq!(next_run(t("2027-12-31T23:00:00Z"), at), t("2028-01-01T03:00:00Z"));
    }
}
