//! Who is calling: staff and patient accounts, sessions, API tokens.
//!
//! - Passwords are Argon2id hashes (PHC strings, the `argon2` crate's defaults: 19 MiB, t=2).
//! - A TOTP second factor (RFC 6238: HMAC-SHA1, 30 s, 6 digits) is required for the privacy
//!   officer and admin roles and for any account enrolled in it. Its secret is stored sealed
//!   under the server's accounts key, itself wrapped under the vault's KEK; a code is accepted
//!   once.
//! - A browser session is a random 256-bit token in a `fv_session` cookie (HttpOnly,
//!   SameSite=Strict, Secure under TLS). Sessions live in memory only, keyed by the token's
//!   SHA-256; they end after `session_idle_minutes` unused (automatic logoff) and
//!   `session_max_hours` after login. A state-changing request on a session must carry the
//!   session's CSRF token in `X-CSRF-Token`.
//! - API tokens (`Authorization: Bearer fvt_...`) are kept as SHA-256 hashes, scoped to one
//!   role and a list of purposes, and expire. A patient has no API token.
//! - The password and the second factor are checked together, with one answer for any failure;
//!   each attempt is counted before anything is verified. Failures lock an account name (known
//!   or not) for one client address (`login_max_failures`, then `lockout_minutes`, doubling), and
//!   slow it for addresses it never logged in from (`account_slow_after`); it is never locked
//!   for everyone. `docs/authentication.md` has the figures.
//! - Sessions are capped per account (`sessions_per_user`, the oldest ends), swept every
//!   `session_sweep_secs`, and end when their account is removed or changed.
//! - A refused session cookie, CSRF token or API token is journaled (hash prefixes and token
//!   ids, never the secret), within a per-address budget per minute.
//!
//! No password, code, token or session id is logged, returned in an error, or put in a URL.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use facevault_policy::Role;
use facevault_vault::{AccountStore, SubjectId};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::lockout::{Limits, Origin};
use crate::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "fv_session";
/// The header a state-changing browser request carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
pub use facevault_app::accounts::{
    base32, check_new_password, check_username, decoy_hash, hash_password, new_secret, random, sha256_hex,
    totp_code, totp_now, unix_now, verify_password, AccountsKey, TOKEN_PREFIX, TOTP_ROLES,
};

// ---------------------------------------------------------------- sessions and lockout

/// A logged-in browser session.
#[derive(Clone)]
pub(crate) struct Session {
    pub username: String,
    pub role: Role,
    pub subject: Option<SubjectId>,
    pub csrf: String,
    pub started: Instant,
    pub last_seen: Instant,
    /// When the account behind the session was last read.
    pub checked: Instant,
}

/// How long a session goes on its account's last reading before the account is read again: a
/// removed or changed account ends its sessions within this time, and a burst of requests on
/// one session costs one read (about 0.2 ms on SQLite) per interval, not per request.
pub(crate) const ACCOUNT_RECHECK: Duration = Duration::from_secs(2);

impl Session {
    fn expired(&self, idle: Duration, max: Duration, now: Instant) -> bool {
        now.duration_since(self.last_seen) > idle || now.duration_since(self.started) > max
    }
}

#[derive(Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sessions(..)")
    }
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a session; if its account already holds `cap` sessions, the oldest of them ends.
    pub fn insert(&self, token_hash: String, s: Session, cap: usize) {
        let mut map = self.lock();
        loop {
            let mine = map.iter().filter(|(_, o)| o.username == s.username);
            let (count, oldest) = mine.fold((0, None::<(&String, Instant)>), |(n, old), (k, o)| {
                let older = old.is_none_or(|(_, t)| o.started < t);
                (n + 1, if older { Some((k, o.started)) } else { old })
            });
            match oldest {
                Some((k, _)) if count >= cap => {
                    let k = k.clone();
                    map.remove(&k);
                }
                _ => break,
            }
        }
        map.insert(token_hash, s);
    }

    /// How many sessions are held (live or expired and not yet swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn remove(&self, token_hash: &str) {
        self.lock().remove(token_hash);
    }

    /// Removes the expired sessions; how many there were.
    pub fn sweep(&self, idle: Duration, max: Duration, now: Instant) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, s| !s.expired(idle, max, now));
        before - map.len()
    }

    /// The live session of a token, touched; `Err(true)` if it expired, `Err(false)` if none.
    fn touch(&self, token_hash: &str, idle: Duration, max: Duration, now: Instant) -> Result<Session, bool> {
        let mut map = self.lock();
        let Some(s) = map.get_mut(token_hash) else {
            return Err(false);
        };
        if s.expired(idle, max, now) {
            map.remove(token_hash);
            return Err(true);
        }
        s.last_seen = now;
        Ok(s.clone())
    }

    /// Notes that the account behind a session was read at `now`.
    fn checked(&self, token_hash: &str, now: Instant) {
        if let Some(s) = self.lock().get_mut(token_hash) {
            s.checked = now;
        }
    }

    /// Moves a session's clock back by `by` (tests: an expired session without waiting).
    #[doc(hidden)]
    pub fn age_all(&self, by: Duration) {
        for s in self.lock().values_mut() {
            s.last_seen = s.last_seen.checked_sub(by).unwrap_or(s.last_seen);
            s.started = s.started.checked_sub(by).unwrap_or(s.started);
        }
    }
}

/// Sweeps expired sessions every `session_sweep_secs` for as long as the server's state lives.
pub(crate) fn sweep_sessions(state: &Arc<AppState>) {
    let weak = Arc::downgrade(state);
    let every = Duration::from_secs(state.config.session_sweep_secs);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(state) = weak.upgrade() else { return };
            let c = &state.config;
            state.sessions.sweep(
                Duration::from_secs(c.session_idle_minutes * 60),
                Duration::from_secs(c.session_max_hours * 3600),
                Instant::now(),
            );
        }
    });
}

/// Which TOTP steps have been used, so a code works once.
#[derive(Debug, Default)]
pub(crate) struct UsedCodes(Mutex<HashMap<String, u64>>);

// ---------------------------------------------------------------- login

/// What logging in needs: the password and, for an account with a second factor, its code,
/// checked together.
pub(crate) struct Login {
    pub username: String,
    pub password: Zeroizing<String>,
    pub totp: Option<String>,
    pub from: Origin,
}

/// A successful login: the session token (for the cookie) and what the client is told.
pub(crate) struct LoggedIn {
    pub token: Zeroizing<String>,
    pub session: Session,
}

/// The one answer to a wrong name, password or code, or a missing code: which was wrong is
/// not said.
fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "wrong username, password or one-time code",
    )
}

/// Checks a login and opens a session. The attempt is counted before anything is verified;
/// every failure is [`invalid_credentials`] but a lockout.
pub(crate) async fn login(state: &AppState, l: Login) -> Result<LoggedIn, ApiError> {
    let now = Instant::now();
    let c = &state.config;
    let name = l.username.trim().to_owned();
    let limits = Limits {
        max: c.login_max_failures,
        lock_for: Duration::from_secs(c.lockout_minutes * 60),
        slow_after: c.account_slow_after,
    };
    let reserved = state.lockout.reserve(&name, l.from, limits, now).map_err(locked)?;
    let failed = || {
        if reserved.locks {
            locked(limits.lock_for.as_secs())
        } else {
            invalid_credentials()
        }
    };
    let account = state.meta().account(&name).await.map_err(ApiError::internal)?;
    let hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let password = l.password.clone();
    state.password_checks.fetch_add(1, Ordering::Relaxed);
    let good = tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_password(&h, &password),
        None => {
            let _ = verify_password(decoy_hash(), &password);
            false
        }
    })
    .await
    .map_err(ApiError::internal)?;
    let (true, Some(account)) = (good, account) else {
        return Err(failed());
    };
    let role: Role =
        account.role.parse().map_err(|_| ApiError::internal(format!("account {name}: bad role")))?;
    if let Some(sealed) = account.totp_sealed.clone() {
        let Some(code) = l.totp.as_deref().map(str::trim).filter(|c| !c.is_empty()) else {
            return Err(failed());
        };
        state.totp_checks.fetch_add(1, Ordering::Relaxed);
        let secret = state.accounts_key.open(&name, sealed)?;
        let step = unix_now() / 30;
        let matched = [step.saturating_sub(1), step, step + 1]
            .into_iter()
            .find(|s| format!("{:06}", totp_code(&secret, *s)).as_bytes().ct_eq(code.as_bytes()).into());
        let mut used = state.used_codes.0.lock().unwrap_or_else(PoisonError::into_inner);
        match matched {
            Some(s) if used.get(&name).is_none_or(|last| s > *last) => {
                used.insert(name.clone(), s);
            }
            _ => return Err(failed()),
        }
    } else if TOTP_ROLES.contains(&role) {
        return Err(ApiError::forbidden(format!("role {role} needs a second factor; re-create the account")));
    }
    state.lockout.succeed(&name, l.from);
    let subject = account
        .subject
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|_| ApiError::internal("bad subject"))?;
    let (token, hash) = new_secret("")?;
    let (csrf, _) = new_secret("")?;
    let session = Session {
        username: name,
        role,
        subject,
        csrf: csrf.to_string(),
        started: now,
        last_seen: now,
        checked: now,
    };
    state.sessions.insert(hash, session.clone(), c.sessions_per_user);
    Ok(LoggedIn { token, session })
}

fn locked(secs: u64) -> ApiError {
    ApiError {
        retry_after: Some(secs),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "locked_out",
            format!("too many failed logins: try again in {} minute(s)", secs.div_ceil(60)),
        )
    }
}

/// The `Set-Cookie` value of a session (or of its removal, with an empty token).
pub(crate) fn session_cookie(token: &str, secure: bool, max_age: u64) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

// ---------------------------------------------------------------- who is calling

/// How the caller proved who they are.
#[derive(Clone, Debug)]
pub enum Via {
    Session { token_hash: String },
    Token { id: String, purposes: Vec<String> },
}

/// The authenticated caller, for every endpoint but login and health.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The audit log's actor: the login name (a patient's generated one too) or `token:<id>`.
    pub actor: String,
    pub username: String,
    pub role: Role,
    /// A patient's own subject.
    pub subject: Option<SubjectId>,
    pub via: Via,
}

impl Principal {
    /// The caller as the use cases know them: the actor, the role, a patient's own subject, and
    /// an API token's purposes.
    pub fn session(&self) -> facevault_app::Session {
        facevault_app::Session {
            actor: self.actor.clone(),
            role: self.role,
            own_subject: self.subject,
            via: match &self.via {
                Via::Session { .. } => facevault_app::Via::Person,
                Via::Token { id, purposes } => {
                    facevault_app::Via::Token { id: id.clone(), purposes: purposes.clone() }
                }
            },
        }
    }
}

fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        v.split(';').find_map(|kv| kv.trim().strip_prefix(name).and_then(|r| r.strip_prefix('=')))
    })
}

fn unauthenticated(msg: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", msg)
}

/// A refused credential, as the audit log keeps it: never the secret, at most a hash prefix.
struct Refusal<'a> {
    actor: &'a str,
    role: &'a str,
    action: &'static str,
    object: String,
    reason: &'a str,
}

/// Journals a refused credential (within the address's budget). A journal failure is logged,
/// not answered: the request is refused either way and has released nothing.
async fn journal_refusal(state: &AppState, parts: &Parts, r: Refusal<'_>) {
    let from = parts.extensions.get::<axum::extract::ConnectInfo<crate::Peer>>().map(|c| c.0 .0.ip());
    let budget = state.config.auth_failures_audited_per_minute;
    let Some(left_out) = state.failure_audit.admit(from, budget, Instant::now()) else {
        state.unaudited_failures.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let mut reason = format!("{}: {} {}", r.reason, parts.method, parts.uri.path());
    if left_out > 0 {
        reason.push_str(&format!(" ({left_out} earlier failures from this address over the audit budget)"));
    }
    let record = facevault_app::Record {
        action: r.action,
        purpose: "administration".into(),
        object: r.object,
        allowed: false,
        reason,
    };
    if let Err(e) = state.app().journal().append(r.actor, r.role, vec![record]).await {
        eprintln!("facevault-server: audit of a refused credential failed: {e}");
    }
}

/// A short prefix of a secret's SHA-256: enough to tell entries about one cookie apart,
/// nothing to find the cookie with.
fn prefix(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Principal, ApiError> {
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return token_principal(parts, state).await;
        }
        let token = cookie(parts, SESSION_COOKIE)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthenticated("log in first (POST /api/login), or send an API token"))?;
        let hash = sha256_hex(token.as_bytes());
        let object = format!("session:{}", prefix(&hash));
        let c = &state.config;
        let now = Instant::now();
        let touched = state.sessions.touch(
            &hash,
            Duration::from_secs(c.session_idle_minutes * 60),
            Duration::from_secs(c.session_max_hours * 3600),
            now,
        );
        let session = match touched {
            Ok(s) => s,
            Err(expired) => {
                let (reason, error) = if expired {
                    let e = ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "session_expired",
                        "the session has expired; log in again",
                    );
                    ("expired session", e)
                } else {
                    ("unknown session cookie", unauthenticated("no such session; log in again"))
                };
                let r = Refusal { actor: "anonymous", role: "none", action: "auth.session", object, reason };
                journal_refusal(state, parts, r).await;
                return Err(error);
            }
        };
        let actor = session.username.clone();
        // The account behind the session still exists, with the same role and subject (an
        // erased subject's portal account is removed): read again every ACCOUNT_RECHECK.
        let same = if now.duration_since(session.checked) < ACCOUNT_RECHECK {
            true
        } else {
            let account = state.meta().account(&session.username).await.map_err(ApiError::internal)?;
            state.sessions.checked(&hash, now);
            account.is_some_and(|a| {
                a.role == session.role.as_str() && a.subject == session.subject.map(|s| s.to_string())
            })
        };
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        let sent = parts.headers.get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
        let refused = if !same {
            state.sessions.remove(&hash);
            let e = unauthenticated("this account no longer exists or has changed; log in again");
            Some(("auth.session", "the session's account was removed or changed; session ended", e))
        } else if !safe && !bool::from(sent.ct_eq(session.csrf.as_bytes())) {
            let e = ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "this request changes data and must carry the session's X-CSRF-Token header",
            );
            Some(("auth.csrf", "CSRF token missing or wrong", e))
        } else {
            None
        };
        if let Some((action, reason, error)) = refused {
            let r = Refusal { actor: &actor, role: session.role.as_str(), action, object, reason };
            journal_refusal(state, parts, r).await;
            return Err(error);
        }
        Ok(Principal {
            // A patient too is named by their account, so what the portal does is traceable to
            // the login that did it (the subject is `subject` below).
            actor,
            username: session.username,
            role: session.role,
            subject: session.subject,
            via: Via::Session { token_hash: hash },
        })
    }
}

/// The caller of an `Authorization: Bearer fvt_...` request; a malformed, unknown, revoked or
/// expired token is refused and journaled (by its id, or the prefix of its hash).
async fn token_principal(parts: &Parts, state: &AppState) -> Result<Principal, ApiError> {
    let refuse = |object: String, reason: &'static str, error: ApiError| async move {
        let r = Refusal { actor: "anonymous", role: "none", action: "auth.token", object, reason };
        journal_refusal(state, parts, r).await;
        Err(error)
    };
    let header = parts.headers.get(header::AUTHORIZATION);
    let token = header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| t.starts_with(TOKEN_PREFIX));
    let Some(token) = token else {
        let e = unauthenticated("the Authorization header is not `Bearer fvt_...`");
        return refuse("token:malformed".into(), "malformed Authorization header", e).await;
    };
    let hash = sha256_hex(token.as_bytes());
    let Some(row) = state.meta().token_by_hash(&hash).await.map_err(ApiError::internal)? else {
        let object = format!("token:unknown:{}", prefix(&hash));
        return refuse(object, "unknown API token", unauthenticated("unknown API token")).await;
    };
    if row.revoked {
        let e = unauthenticated("this API token is revoked");
        return refuse(format!("token:{}", row.id), "revoked API token", e).await;
    }
    if row.expires_at <= unix_now() as i64 {
        let e = ApiError::new(StatusCode::UNAUTHORIZED, "session_expired", "this API token has expired");
        return refuse(format!("token:{}", row.id), "expired API token", e).await;
    }
    let role = row.role.parse().map_err(|_| ApiError::internal(format!("token {}: bad role", row.id)))?;
    Ok(Principal {
        actor: format!("token:{}", row.id),
        username: row.name,
        role,
        subject: None,
        via: Via::Token {
            id: row.id,
            purposes: row.purposes.split(',').filter(|p| !p.is_empty()).map(str::to_owned).collect(),
        },
    })
}
