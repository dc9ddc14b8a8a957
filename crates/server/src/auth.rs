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
//! - Failed logins lock the account name (known or not) for `lockout_minutes` after
//!   `login_max_failures` in a row.
//!
//! No password, code, token or session id is logged, returned in an error, or put in a URL.

use std::collections::HashMap;
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

    pub fn insert(&self, token_hash: String, s: Session) {
        let mut map = self.lock();
        map.insert(token_hash, s);
    }

    pub fn remove(&self, token_hash: &str) {
        self.lock().remove(token_hash);
    }

    /// The live session of a token, touched; `Err(true)` if it expired, `Err(false)` if none.
    fn touch(&self, token_hash: &str, idle: Duration, max: Duration, now: Instant) -> Result<Session, bool> {
        let mut map = self.lock();
        let Some(s) = map.get_mut(token_hash) else {
            return Err(false);
        };
        if now.duration_since(s.last_seen) > idle || now.duration_since(s.started) > max {
            map.remove(token_hash);
            return Err(true);
        }
        s.last_seen = now;
        Ok(s.clone())
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

#[derive(Default)]
pub(crate) struct Lockout {
    map: Mutex<HashMap<String, (u32, Option<Instant>)>>,
}

impl std::fmt::Debug for Lockout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lockout(..)")
    }
}

impl Lockout {
    /// Seconds left if the name is locked.
    fn locked(&self, name: &str, now: Instant) -> Option<u64> {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        let until = map.get(name)?.1?;
        (until > now).then(|| until.duration_since(now).as_secs().max(1))
    }

    /// Counts a failure; true if it locked the name.
    fn fail(&self, name: &str, max: u32, lock_for: Duration, now: Instant) -> bool {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() > 100_000 {
            map.retain(|_, (_, until)| until.is_some_and(|u| u > now));
        }
        let e = map.entry(name.to_owned()).or_insert((0, None));
        if e.1.is_some_and(|u| u <= now) {
            *e = (0, None);
        }
        e.0 += 1;
        if e.0 >= max {
            e.1 = Some(now + lock_for);
            return true;
        }
        false
    }

    fn succeed(&self, name: &str) {
        self.map.lock().unwrap_or_else(PoisonError::into_inner).remove(name);
    }
}

/// Login attempts per client address in the current minute: a client over the limit waits
/// for the next minute whatever names it tries (lockout protects a name; this, the server).
#[derive(Default)]
pub(crate) struct LoginRate {
    map: Mutex<HashMap<std::net::IpAddr, (Instant, u32)>>,
}

impl std::fmt::Debug for LoginRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LoginRate(..)")
    }
}

impl LoginRate {
    /// Counts an attempt from `ip`; an error once it is over `per_minute` in this minute.
    pub(crate) fn admit(&self, ip: std::net::IpAddr, per_minute: u32, now: Instant) -> Result<(), ApiError> {
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
            let wait = minute.saturating_sub(now.duration_since(e.0)).as_secs().max(1);
            return Err(ApiError {
                retry_after: Some(wait),
                ..ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate_limited",
                    format!("too many login attempts from this address; try again in {wait} s"),
                )
            });
        }
        Ok(())
    }
}

/// Which TOTP steps have been used, so a code works once.
#[derive(Debug, Default)]
pub(crate) struct UsedCodes(Mutex<HashMap<String, u64>>);

// ---------------------------------------------------------------- login

/// What logging in needs.
pub(crate) struct Login {
    pub username: String,
    pub password: Zeroizing<String>,
    pub totp: Option<String>,
}

/// A successful login: the session token (for the cookie) and what the client is told.
pub(crate) struct LoggedIn {
    pub token: Zeroizing<String>,
    pub session: Session,
}

/// Checks a login and opens a session. Every outcome is a plain "wrong username or password"
/// to the client except a lockout and a missing second factor.
pub(crate) async fn login(state: &AppState, l: Login) -> Result<LoggedIn, ApiError> {
    let now = Instant::now();
    let c = &state.config;
    let name = l.username.trim().to_owned();
    if let Some(secs) = state.lockout.locked(&name, now) {
        return Err(locked(secs));
    }
    let account = state.meta().account(&name).await.map_err(ApiError::internal)?;
    let hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let password = l.password.clone();
    let good = tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_password(&h, &password),
        None => {
            let _ = verify_password(decoy_hash(), &password);
            false
        }
    })
    .await
    .map_err(ApiError::internal)?;
    let lock_for = Duration::from_secs(c.lockout_minutes * 60);
    let failed = |state: &AppState| {
        if state.lockout.fail(&name, c.login_max_failures, lock_for, now) {
            locked(lock_for.as_secs())
        } else {
            ApiError::new(StatusCode::UNAUTHORIZED, "bad_credentials", "wrong username or password")
        }
    };
    let (true, Some(account)) = (good, account) else {
        return Err(failed(state));
    };
    let role: Role =
        account.role.parse().map_err(|_| ApiError::internal(format!("account {name}: bad role")))?;
    if let Some(sealed) = account.totp_sealed.clone() {
        let Some(code) = l.totp.as_deref().map(str::trim).filter(|c| !c.is_empty()) else {
            return Err(ApiError {
                field: Some("totp".into()),
                ..ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "totp_required",
                    "this account needs its one-time code",
                )
            });
        };
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
            _ => {
                drop(used);
                return Err(failed(state));
            }
        }
    } else if TOTP_ROLES.contains(&role) {
        return Err(ApiError::forbidden(format!("role {role} needs a second factor; re-create the account")));
    }
    state.lockout.succeed(&name);
    let subject = account
        .subject
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|_| ApiError::internal("bad subject"))?;
    let (token, hash) = new_secret("")?;
    let (csrf, _) = new_secret("")?;
    let session =
        Session { username: name, role, subject, csrf: csrf.to_string(), started: now, last_seen: now };
    state.sessions.insert(hash, session.clone());
    Ok(LoggedIn { token, session })
}

fn locked(secs: u64) -> ApiError {
    ApiError {
        retry_after: Some(secs),
        ..ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "locked_out",
            format!(
                "too many failed logins: this account is locked for {} more minute(s)",
                secs.div_ceil(60)
            ),
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

impl FromRequestParts<Arc<AppState>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Principal, ApiError> {
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let token = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim)
                .filter(|t| t.starts_with(TOKEN_PREFIX))
                .ok_or_else(|| unauthenticated("the Authorization header is not `Bearer fvt_...`"))?;
            let row = state
                .meta()
                .token_by_hash(&sha256_hex(token.as_bytes()))
                .await
                .map_err(ApiError::internal)?
                .ok_or_else(|| unauthenticated("unknown API token"))?;
            if row.revoked {
                return Err(unauthenticated("this API token is revoked"));
            }
            if row.expires_at <= unix_now() as i64 {
                return Err(ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "session_expired",
                    "this API token has expired",
                ));
            }
            let role =
                row.role.parse().map_err(|_| ApiError::internal(format!("token {}: bad role", row.id)))?;
            return Ok(Principal {
                actor: format!("token:{}", row.id),
                username: row.name,
                role,
                subject: None,
                via: Via::Token {
                    id: row.id,
                    purposes: row.purposes.split(',').filter(|p| !p.is_empty()).map(str::to_owned).collect(),
                },
            });
        }
        let token = cookie(parts, SESSION_COOKIE)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| unauthenticated("log in first (POST /api/login), or send an API token"))?;
        let hash = sha256_hex(token.as_bytes());
        let c = &state.config;
        let session = state
            .sessions
            .touch(
                &hash,
                Duration::from_secs(c.session_idle_minutes * 60),
                Duration::from_secs(c.session_max_hours * 3600),
                Instant::now(),
            )
            .map_err(|expired| {
                if expired {
                    ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "session_expired",
                        "the session has expired; log in again",
                    )
                } else {
                    unauthenticated("no such session; log in again")
                }
            })?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts.headers.get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
            if !bool::from(sent.ct_eq(session.csrf.as_bytes())) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "this request changes data and must carry the session's X-CSRF-Token header",
                ));
            }
        }
        Ok(Principal {
            // A patient too is named by their account, so what the portal does is traceable to
            // the login that did it (the subject is `subject` below).
            actor: session.username.clone(),
            username: session.username,
            role: session.role,
            subject: session.subject,
            via: Via::Session { token_hash: hash },
        })
    }
}
