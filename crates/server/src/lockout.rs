//! How often someone may try to log in or present a bad credential, kept in memory: the
//! lockout per account and client address with doubling backoff, the per-account slowdown that
//! spares the addresses an account logged in from, the login rate per address, and the budget
//! of refused credentials written to the audit log per address. `docs/authentication.md` has
//! the figures.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::error::ApiError;

/// Where a login comes from: the client's address (`None` in process, with no socket).
pub(crate) type Origin = Option<IpAddr>;

/// Failed logins of one account from one address.
#[derive(Default)]
struct Pair {
    failures: u32,
    until: Option<Instant>,
    /// The account has logged in from this address: the account-wide slowdown spares it.
    trusted: bool,
}

/// Failed logins of one account from every address since its last login.
struct Account {
    failures: u32,
    last: Instant,
    next: Instant,
}

#[derive(Default)]
struct Attempts {
    pairs: HashMap<(String, Origin), Pair>,
    accounts: HashMap<String, Account>,
}

/// The lockout, per (account, address) with exponential backoff, and per account a slowdown
/// that spaces attempts from addresses it never logged in from without ever locking it. An
/// attempt is counted when it is reserved, before any password or code is verified, so
/// parallel guesses cannot outrun the count; a login clears its own count.
#[derive(Default)]
pub(crate) struct Lockout(Mutex<Attempts>);

impl std::fmt::Debug for Lockout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lockout(..)")
    }
}

/// The lockout's figures, from the configuration.
#[derive(Clone, Copy)]
pub(crate) struct Limits {
    /// Failures in a row from one address that lock the pair.
    pub max: u32,
    /// The pair's first lock; each further failure doubles it, up to [`MAX_LOCK`].
    pub lock_for: Duration,
    /// Failures on the account from all addresses after which it is slowed.
    pub slow_after: u32,
}

/// The longest a pair is locked.
const MAX_LOCK: Duration = Duration::from_secs(24 * 3600);
/// The longest the account-wide slowdown spaces two attempts.
const MAX_SLOW: Duration = Duration::from_secs(60);

fn doubled(base: Duration, times: u32, cap: Duration) -> Duration {
    base.saturating_mul(1u32 << times.min(20)).min(cap)
}

/// A reserved attempt: whether its failure locked the pair.
pub(crate) struct Reserved {
    pub locks: bool,
}

impl Lockout {
    fn lock(&self) -> std::sync::MutexGuard<'_, Attempts> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts an attempt on `name` from `from` before it is verified, or refuses it (locked
    /// pair, slowed account) with the seconds to wait.
    pub(crate) fn reserve(&self, name: &str, from: Origin, l: Limits, now: Instant) -> Result<Reserved, u64> {
        let mut a = self.lock();
        if a.pairs.len() + a.accounts.len() > 100_000 {
            a.pairs.retain(|_, p| p.trusted || p.until.is_some_and(|u| u > now));
            a.accounts.retain(|_, c| now.duration_since(c.last) < l.lock_for);
        }
        let wait = |until: Instant| until.duration_since(now).as_secs().max(1);
        let pair = a.pairs.entry((name.to_owned(), from)).or_default();
        if let Some(until) = pair.until.filter(|u| *u > now) {
            return Err(wait(until));
        }
        let trusted = pair.trusted;
        let account =
            a.accounts.entry(name.to_owned()).or_insert(Account { failures: 0, last: now, next: now });
        if now.duration_since(account.last) > l.lock_for {
            account.failures = 0;
        }
        if !trusted && account.failures >= l.slow_after && account.next > now {
            return Err(wait(account.next));
        }
        account.failures += 1;
        account.last = now;
        if account.failures >= l.slow_after {
            account.next = now + doubled(Duration::from_secs(1), account.failures - l.slow_after, MAX_SLOW);
        }
        let pair = a.pairs.entry((name.to_owned(), from)).or_default();
        pair.failures += 1;
        let locks = pair.failures >= l.max;
        if locks {
            pair.until = Some(now + doubled(l.lock_for, pair.failures - l.max, MAX_LOCK));
        }
        Ok(Reserved { locks })
    }

    /// A login from `from`: the pair and the account start afresh, and the address is trusted.
    pub(crate) fn succeed(&self, name: &str, from: Origin) {
        let mut a = self.lock();
        a.accounts.remove(name);
        a.pairs.insert((name.to_owned(), from), Pair { trusted: true, ..Pair::default() });
    }
}

/// Login attempts per client address in the current minute: a client over the limit waits
/// for the next minute whatever names it tries (lockout protects a name; this, the server).
#[derive(Default)]
pub(crate) struct LoginRate {
    map: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl std::fmt::Debug for LoginRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginRate(..)")
    }
}

impl LoginRate {
    /// Counts an attempt from `ip`: `Err(seconds to wait)` once it is over `per_minute` in this
    /// minute.
    pub(crate) fn admit(&self, ip: IpAddr, per_minute: u32, now: Instant) -> Result<(), u64> {
        let minute = Duration::from_secs(60);
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() > 100_000 {
            map.retain(|_, (start, _)| now.duration_since(*start) < minute);
        }
        let e = map.entry(ip).or_insert((now, 0));
        if now.duration_since(e.0) >= minute {
            *e = (now, 0);
        }
        e.1 += 1;
        if e.1 > per_minute {
            return Err(minute.saturating_sub(now.duration_since(e.0)).as_secs().max(1));
        }
        Ok(())
    }
}

/// The answer to a client over its login rate.
pub(crate) fn rate_limited(wait: u64) -> ApiError {
    ApiError {
        retry_after: Some(wait),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many login attempts from this address; try again in {wait} s"),
        )
    }
}

/// How many authentication failures each address has had written to the audit log this
/// minute, and how many were left out: a flood of forged cookies or tokens writes at most
/// `auth_failures_audited_per_minute` entries per address and minute, the next entry saying how
/// many were left out.
#[derive(Default)]
pub(crate) struct FailureAudit(Mutex<HashMap<Origin, (Instant, u32, u64)>>);

impl std::fmt::Debug for FailureAudit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FailureAudit(..)")
    }
}

impl FailureAudit {
    /// `Some(failures left out before this one)` if this failure is written.
    pub(crate) fn admit(&self, from: Origin, per_minute: u32, now: Instant) -> Option<u64> {
        let minute = Duration::from_secs(60);
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() > 100_000 {
            map.retain(|_, (start, _, _)| now.duration_since(*start) < minute);
        }
        let e = map.entry(from).or_insert((now, 0, 0));
        if now.duration_since(e.0) >= minute {
            (e.0, e.1) = (now, 0);
        }
        if e.1 >= per_minute {
            e.2 += 1;
            return None;
        }
        e.1 += 1;
        Some(std::mem::take(&mut e.2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { max: 5, lock_for: Duration::from_secs(15 * 60), slow_after: 20 };

    fn ip(last: u8) -> Origin {
        Some(IpAddr::from([10, 0, 0, last]))
    }

    /// The seconds each of `n` failed attempts from `from` is told to wait (0: it was verified).
    fn fail(l: &Lockout, from: Origin, n: usize, now: Instant) -> Vec<u64> {
        (0..n).map(|_| l.reserve("dr.lee", from, LIMITS, now).map_or_else(|w| w, |_| 0)).collect()
    }

    #[test]
    fn a_pair_locks_after_five_and_doubles() {
        let l = Lockout::default();
        let t0 = Instant::now();
        assert_eq!(fail(&l, ip(1), 7, t0), [0, 0, 0, 0, 0, 900, 900]);
        // After the lock, one more failure locks for twice as long.
        let t1 = t0 + Duration::from_secs(901);
        assert_eq!(fail(&l, ip(1), 2, t1), [0, 1800]);
        // Another address is not locked.
        assert_eq!(fail(&l, ip(2), 1, t1), [0]);
        // A login from that address clears only its own count.
        l.succeed("dr.lee", ip(2));
        assert_eq!(fail(&l, ip(1), 1, t1 + Duration::from_secs(60)), [1740]);
    }

    #[test]
    fn the_account_is_slowed_never_locked_and_spares_trusted_addresses() {
        let l = Lockout::default();
        let t0 = Instant::now();
        l.succeed("dr.lee", ip(200));
        for n in 0..20 {
            assert_eq!(fail(&l, ip(n), 1, t0), [0]);
        }
        // The 20th failure from anywhere spaces new addresses by 1 s, then 2 s, ..., 60 s at most.
        assert_eq!(fail(&l, ip(100), 1, t0), [1]);
        assert_eq!(fail(&l, ip(101), 1, t0 + Duration::from_secs(1)), [0]);
        assert_eq!(fail(&l, ip(102), 1, t0 + Duration::from_secs(1)), [2]);
        let mut t = t0 + Duration::from_secs(1);
        for n in 0..10 {
            t += Duration::from_secs(61);
            assert_eq!(fail(&l, ip(110 + n), 1, t), [0]);
        }
        assert_eq!(fail(&l, ip(104), 1, t), [60], "the slowdown is capped");
        // The address the account logged in from is not slowed.
        assert_eq!(fail(&l, ip(200), 1, t), [0]);
    }
}
