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

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use facevault_crypto::{
    open as open_blob, seal_slice, BlobContext, DataKey, Id, KeyContext, KeyProvider, ObjectKind, WrappedKey,
};
use facevault_policy::Role;
use facevault_vault::{AccountRow, AccountStore, SubjectId};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "fv_session";
/// The header a state-changing browser request carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// API tokens start with this, so a leaked one is recognisable (and scannable).
pub const TOKEN_PREFIX: &str = "fvt_";
/// Stands in for a subject id when the accounts key is wrapped; no subject has it.
const ACCOUNTS_KEY_ID: Id = Id::from_bytes(*b"facevault-accts\0");
const ACCOUNTS_KEY_NAME: &str = "accounts-key";

/// The roles that must log in with a second factor.
pub const TOTP_ROLES: &[Role] = &[Role::PrivacyOfficer, Role::Admin];

/// Random bytes from the system.
pub(crate) fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, ApiError> {
    let mut b = Zeroizing::new([0u8; N]);
    getrandom::fill(b.as_mut()).map_err(|e| ApiError::internal(format!("no system randomness: {e}")))?;
    Ok(b)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let d = Sha256::digest(bytes);
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new secret as URL-safe base64 with `prefix`, and its hash as stored.
pub(crate) fn new_secret(prefix: &str) -> Result<(Zeroizing<String>, String), ApiError> {
    let bytes = random::<32>()?;
    let secret = Zeroizing::new(format!("{prefix}{}", B64URL.encode(&bytes[..])));
    let hash = sha256_hex(secret.as_bytes());
    Ok((secret, hash))
}

// ---------------------------------------------------------------- passwords

/// The Argon2id hash of a password (PHC string with its own salt).
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = random::<16>()?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), salt.as_ref())
        .map(|h| h.to_string())
        .map_err(ApiError::internal)
}

fn verify_password(hash: &str, password: &str) -> bool {
    PasswordVerifier::<str>::verify_password(&Argon2::default(), password.as_bytes(), hash).is_ok()
}

/// A hash no password matches, verified against when the account does not exist so that a
/// wrong name takes as long as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy: no account has this").unwrap_or_default())
}

/// What a new password must be: 12 to 1024 characters.
pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if !(12..=1024).contains(&n) {
        return Err(ApiError::field("password", "a password has 12 to 1024 characters"));
    }
    Ok(())
}

// ---------------------------------------------------------------- TOTP

/// The RFC 6238 code for time step `step` (30 s steps since the epoch), 6 digits.
pub fn totp_code(secret: &[u8], step: u64) -> u32 {
    use hmac::{Hmac, KeyInit, Mac};
    let Ok(mut mac) = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(secret) else {
        return u32::MAX;
    };
    mac.update(&step.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let o = usize::from(h[h.len() - 1] & 0x0f);
    let bin = u32::from_be_bytes([h[o] & 0x7f, h[o + 1], h[o + 2], h[o + 3]]);
    bin % 1_000_000
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The current code of a secret given in base32 (as an authenticator app shows it).
pub fn totp_now(secret_base32: &str) -> Option<String> {
    let secret = base32_decode(secret_base32)?;
    Some(format!("{:06}", totp_code(&secret, unix_now() / 30)))
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, the form authenticator apps take.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let v = u64::from_be_bytes([0, 0, 0, buf[0], buf[1], buf[2], buf[3], buf[4]]);
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            out.push(char::from(B32[((v >> (35 - 5 * i)) & 31) as usize]));
        }
    }
    out
}

fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut acc = 0u64;
    let mut out = Vec::new();
    for c in s.trim().trim_end_matches('=').bytes() {
        let v = B32.iter().position(|&b| b == c.to_ascii_uppercase())?;
        acc = (acc << 5) | v as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The server's key for sealing TOTP secrets: a data key wrapped under the vault's KEK and
/// kept in `server_keys`; created on first use.
pub struct AccountsKey {
    vault: Id,
    key: DataKey,
}

impl std::fmt::Debug for AccountsKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountsKey(..)")
    }
}

impl AccountsKey {
    pub async fn load(
        vault: Id,
        meta: &impl AccountStore,
        keys: &dyn KeyProvider,
    ) -> Result<AccountsKey, ApiError> {
        let kctx = KeyContext { vault, subject: ACCOUNTS_KEY_ID };
        let unwrap = |bytes: Vec<u8>| -> Result<AccountsKey, ApiError> {
            let (version, wrapped) =
                bytes.split_first_chunk::<4>().ok_or_else(|| ApiError::internal("accounts key: short"))?;
            let wrapped =
                WrappedKey::from_parts(facevault_crypto::KekVersion(u32::from_be_bytes(*version)), wrapped)
                    .map_err(ApiError::internal)?;
            let key = keys.unwrap(&kctx, &wrapped).map_err(ApiError::internal)?;
            Ok(AccountsKey { vault, key })
        };
        if let Some(bytes) = meta.server_key(ACCOUNTS_KEY_NAME).await.map_err(ApiError::internal)? {
            return unwrap(bytes);
        }
        let key = DataKey::generate().map_err(ApiError::internal)?;
        let wrapped = keys.wrap(&kctx, &key).map_err(ApiError::internal)?;
        let mut bytes = wrapped.kek_version().0.to_be_bytes().to_vec();
        bytes.extend_from_slice(wrapped.as_bytes());
        match meta.put_server_key(ACCOUNTS_KEY_NAME, &bytes).await {
            Ok(()) => Ok(AccountsKey { vault, key }),
            // Another process created it first: use theirs.
            Err(facevault_vault::StoreError::Conflict { .. }) => {
                let bytes = meta.server_key(ACCOUNTS_KEY_NAME).await.map_err(ApiError::internal)?;
                unwrap(bytes.ok_or_else(|| ApiError::internal("accounts key vanished"))?)
            }
            Err(e) => Err(ApiError::internal(e)),
        }
    }

    fn context(&self, username: &str) -> BlobContext {
        let d = Sha256::digest(username.as_bytes());
        let mut object = [0u8; 16];
        object.copy_from_slice(&d[..16]);
        BlobContext {
            vault: self.vault,
            subject: ACCOUNTS_KEY_ID,
            object: Id::from_bytes(object),
            kind: ObjectKind::SubjectDetails,
            version: 1,
        }
    }

    fn seal(&self, username: &str, secret: &[u8]) -> Result<Vec<u8>, ApiError> {
        seal_slice(&self.key, &self.context(username), secret).map_err(ApiError::internal)
    }

    fn open(&self, username: &str, sealed: Vec<u8>) -> Result<Zeroizing<Vec<u8>>, ApiError> {
        open_blob(&self.key, &self.context(username), sealed).map(Zeroizing::new).map_err(ApiError::internal)
    }
}

/// A login name: 3 to 64 of `a-z 0-9 . _ -`, starting with a letter (it appears in the audit
/// log as the actor, so it must be a token and should not be a person's full name).
pub fn check_username(name: &str) -> Result<(), ApiError> {
    let ok = (3..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::field("username", "3 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter"))
    }
}

/// A new staff account (from `facevault account add` or the demo). Returns the TOTP secret
/// in base32 when the account has a second factor (required for privacy officer and admin).
pub async fn add_staff(
    meta: &impl AccountStore,
    key: &AccountsKey,
    username: &str,
    role: Role,
    password: &str,
    totp: bool,
) -> Result<Option<String>, ApiError> {
    check_username(username)?;
    if role == Role::Patient {
        return Err(ApiError::field("role", "patient accounts are created by invitation"));
    }
    check_new_password(password)?;
    let totp = totp || TOTP_ROLES.contains(&role);
    let secret = if totp { Some(random::<20>()?) } else { None };
    let row = AccountRow {
        username: username.into(),
        role: role.as_str().into(),
        subject: None,
        password_hash: Some(hash_password(password)?),
        totp_sealed: secret.as_ref().map(|s| key.seal(username, s.as_ref())).transpose()?,
        invite_hash: None,
        invite_expires: None,
        created_at: unix_now() as i64,
    };
    meta.add_account(&row).await.map_err(|e| match e {
        facevault_vault::StoreError::Conflict { .. } => {
            ApiError::new(StatusCode::CONFLICT, "conflict", format!("account {username} exists"))
        }
        e => ApiError::internal(e),
    })?;
    Ok(secret.map(|s| base32(s.as_ref())))
}

/// How long a patient's invitation stays open.
const INVITATION_DAYS: i64 = 7;

/// Creates a patient's portal account for `subject`, with no password until the invitation
/// is accepted: returns the login name (a generated handle), the one-time invitation secret
/// (only its hash is kept) and when it expires (Unix seconds).
pub async fn invite_patient(
    meta: &impl AccountStore,
    subject: SubjectId,
) -> Result<(String, Zeroizing<String>, i64), ApiError> {
    let handle = random::<5>()?;
    let username = format!("patient-{}", handle.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let (secret, hash) = new_secret("fvi_")?;
    let now = unix_now() as i64;
    let expires = now + INVITATION_DAYS * 86_400;
    meta.add_account(&AccountRow {
        username: username.clone(),
        role: Role::Patient.as_str().into(),
        subject: Some(subject.to_string()),
        password_hash: None,
        totp_sealed: None,
        invite_hash: Some(hash),
        invite_expires: Some(expires),
        created_at: now,
    })
    .await
    .map_err(ApiError::internal)?;
    Ok((username, secret, expires))
}

/// A patient accepts an invitation and sets their password; it cannot be accepted twice.
pub async fn accept_invitation(
    meta: &impl AccountStore,
    invitation: &str,
    password: &str,
) -> Result<AccountRow, ApiError> {
    check_new_password(password)?;
    let hash = sha256_hex(invitation.trim().as_bytes());
    let gone = || ApiError::not_found("no open invitation matches; ask the clinic for a new one");
    let account = meta.account_by_invite(&hash).await.map_err(ApiError::internal)?.ok_or_else(gone)?;
    if account.invite_expires.is_none_or(|e| e <= unix_now() as i64) {
        return Err(gone());
    }
    let pw = Zeroizing::new(password.to_owned());
    let phc = tokio::task::spawn_blocking(move || hash_password(&pw)).await.map_err(ApiError::internal)??;
    if !meta.accept_invite(&hash, &phc).await.map_err(ApiError::internal)? {
        return Err(gone());
    }
    Ok(account)
}

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
    /// The audit log's actor: the login name, `token:<id>`, or a patient's subject id.
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
            actor: session.subject.map_or_else(|| session.username.clone(), |s| s.to_string()),
            username: session.username,
            role: session.role,
            subject: session.subject,
            via: Via::Session { token_hash: hash },
        })
    }
}
