//! The server's configuration: `facevault.toml` keys over documented defaults, each overridable
//! by an environment variable.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where the server listens unless configured otherwise: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The server's configuration. Environment variables override the file: `FACEVAULT_LISTEN`,
/// `FACEVAULT_DIR`, `FACEVAULT_MAX_BODY_BYTES`, `FACEVAULT_MAX_UPLOAD_BYTES`,
/// `FACEVAULT_REQUEST_TIMEOUT_SECS`, `FACEVAULT_MAX_CONCURRENT`, `FACEVAULT_TLS_CERT`,
/// `FACEVAULT_TLS_KEY`, `FACEVAULT_SESSION_IDLE_MINUTES`, `FACEVAULT_SESSION_MAX_HOURS`,
/// `FACEVAULT_BODY_TIMEOUT_SECS`, `FACEVAULT_BODY_MIN_BYTES`,
/// `FACEVAULT_MAX_CONNECTIONS_PER_ADDRESS`, `FACEVAULT_MAX_CONCURRENT_EXPORTS`, `FACEVAULT_RETENTION_TIME`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port (default 127.0.0.1:8080).
    pub listen: String,
    /// The vault directory (default ./facevault-vault).
    pub vault: PathBuf,
    /// The largest JSON request body, in bytes (default 1 MiB).
    pub max_body_bytes: usize,
    /// The largest scan upload, in bytes (default 512 MiB: an 860k-vertex binary PLY is ~33 MB).
    pub max_upload_bytes: usize,
    /// How long one request may take once its body has arrived, in seconds (default 120). A
    /// client that sends its body too slowly is cut off by `body_timeout_secs` instead.
    pub request_timeout_secs: u64,
    /// Requests handled at once across the server; more wait (default 256). A request takes
    /// its permit only once its body (up to `max_body_bytes`) has arrived, so slow bodies
    /// cannot hold them.
    pub max_concurrent: usize,
    /// TLS certificate chain (PEM). With `tls_key`, the server speaks HTTPS only (rustls),
    /// and the session cookie is marked Secure.
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM, PKCS#8, PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
    /// A session unused this long is logged off (default 15 minutes; HIPAA automatic logoff).
    pub session_idle_minutes: u64,
    /// A session ends this long after login whatever its use (default 8 hours).
    pub session_max_hours: u64,
    /// Failed logins in a row that lock an account (default 5).
    pub login_max_failures: u32,
    /// How long a locked account stays locked (default 15 minutes).
    pub lockout_minutes: u64,
    /// Login attempts one client address may make per minute (default 30).
    pub login_per_minute: u32,
    /// How long a client may take to send a request's headers before the connection is closed
    /// (default 30 seconds; slow-client protection).
    pub header_timeout_secs: u64,
    /// Live sessions one account may hold; a login past it ends the account's oldest session
    /// (default 5).
    pub sessions_per_user: usize,
    /// How often expired sessions are swept from memory, in seconds (default 60).
    pub session_sweep_secs: u64,
    /// Failed logins on one account, from any addresses, after which it is slowed: each further
    /// attempt from an address that has not logged in to it waits a doubling delay, at most
    /// 60 s (default 20). It is never locked for everyone.
    pub account_slow_after: u32,
    /// Authentication failures (a bad session cookie, token or CSRF token) written to the
    /// audit log per client address per minute; more are counted and summed up in the next
    /// entry (default 10).
    pub auth_failures_audited_per_minute: u32,
    /// How long a request body may go without bringing `body_min_bytes` more bytes, in seconds
    /// (default 10): a body smaller than that must arrive whole within this time. Separate from
    /// the request timeout, which covers the work; a request waits for no permit while its body
    /// is still arriving.
    pub body_timeout_secs: u64,
    /// The bytes a body must bring in each `body_timeout_secs` window (default 256 KiB, so at
    /// least ~26 KiB/s; a 512 MiB upload over a 1 Mbit/s line still gets through).
    pub body_min_bytes: u64,
    /// Open connections one client address may hold (default 64); more are closed at once.
    pub max_connections_per_address: usize,
    /// Access packages sealed at once across the server (default 2): a passphrase export runs
    /// scrypt with 256 MiB of memory. A user's second export while their first runs is
    /// answered 429.
    pub max_concurrent_exports: usize,
    /// When the server enforces retention each day, `HH:MM` UTC (default `03:00`): it destroys
    /// what is due as `facevault retention enforce` does, journaled with its certificates; a
    /// day missed while the server was down is caught up when it starts.
    pub retention_time: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN.into(),
            vault: PathBuf::from("facevault-vault"),
            max_body_bytes: 1 << 20,
            max_upload_bytes: 512 << 20,
            request_timeout_secs: 120,
            max_concurrent: 256,
            tls_cert: None,
            tls_key: None,
            session_idle_minutes: 15,
            session_max_hours: 8,
            login_max_failures: 5,
            lockout_minutes: 15,
            login_per_minute: 30,
            header_timeout_secs: 30,
            sessions_per_user: 5,
            session_sweep_secs: 60,
            account_slow_after: 20,
            auth_failures_audited_per_minute: 10,
            body_timeout_secs: 10,
            body_min_bytes: 256 << 10,
            max_connections_per_address: 64,
            max_concurrent_exports: 2,
            retention_time: DEFAULT_RETENTION_TIME.into(),
        }
    }
}

/// When retention is enforced each day unless configured otherwise (UTC).
pub const DEFAULT_RETENTION_TIME: &str = "03:00";

fn retention_time(s: &str) -> Option<chrono::NaiveTime> {
    (s.len() == 5).then(|| chrono::NaiveTime::parse_from_str(s, "%H:%M").ok()).flatten()
}

/// A configuration problem, naming the file or variable and the value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{file}: {message}")]
    File { file: String, message: String },
    #[error("${var}={value:?}: {message}")]
    Env { var: &'static str, value: String, message: String },
}

fn number<T: std::str::FromStr>(var: &'static str, v: String) -> Result<T, ConfigError> {
    v.parse().map_err(|_| ConfigError::Env { var, value: v, message: "not a positive whole number".into() })
}

impl Config {
    /// When retention is enforced each day (UTC); the default if `retention_time` is not a
    /// time (a loaded configuration's always is).
    pub fn retention_at(&self) -> chrono::NaiveTime {
        retention_time(&self.retention_time)
            .or_else(|| retention_time(DEFAULT_RETENTION_TIME))
            .unwrap_or(chrono::NaiveTime::MIN)
    }

    /// Reads `file` (if given) over the defaults, then the environment over that.
    pub fn load(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut c = match file {
            Some(path) => {
                let bad = |message: String| ConfigError::File { file: path.display().to_string(), message };
                let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
                toml::from_str(&text).map_err(|e| bad(e.to_string()))?
            }
            None => Config::default(),
        };
        if let Some(v) = env("FACEVAULT_LISTEN") {
            c.listen = v;
        }
        if let Some(v) = env("FACEVAULT_DIR") {
            c.vault = PathBuf::from(v);
        }
        if let Some(v) = env("FACEVAULT_TLS_CERT") {
            c.tls_cert = Some(PathBuf::from(v));
        }
        if let Some(v) = env("FACEVAULT_TLS_KEY") {
            c.tls_key = Some(PathBuf::from(v));
        }
        if let Some(v) = env("FACEVAULT_MAX_BODY_BYTES") {
            c.max_body_bytes = number("FACEVAULT_MAX_BODY_BYTES", v)?;
        }
        if let Some(v) = env("FACEVAULT_MAX_UPLOAD_BYTES") {
            c.max_upload_bytes = number("FACEVAULT_MAX_UPLOAD_BYTES", v)?;
        }
        if let Some(v) = env("FACEVAULT_REQUEST_TIMEOUT_SECS") {
            c.request_timeout_secs = number("FACEVAULT_REQUEST_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = env("FACEVAULT_MAX_CONCURRENT") {
            c.max_concurrent = number("FACEVAULT_MAX_CONCURRENT", v)?;
        }
        if let Some(v) = env("FACEVAULT_SESSION_IDLE_MINUTES") {
            c.session_idle_minutes = number("FACEVAULT_SESSION_IDLE_MINUTES", v)?;
        }
        if let Some(v) = env("FACEVAULT_RETENTION_TIME") {
            c.retention_time = v;
        }
        if retention_time(&c.retention_time).is_none() {
            return Err(ConfigError::Env {
                var: "FACEVAULT_RETENTION_TIME",
                value: c.retention_time.clone(),
                message: "retention_time is HH:MM, UTC (e.g. 03:00)".into(),
            });
        }
        if let Some(v) = env("FACEVAULT_SESSION_MAX_HOURS") {
            c.session_max_hours = number("FACEVAULT_SESSION_MAX_HOURS", v)?;
        }
        if let Some(v) = env("FACEVAULT_BODY_TIMEOUT_SECS") {
            c.body_timeout_secs = number("FACEVAULT_BODY_TIMEOUT_SECS", v)?;
        }
        if let Some(v) = env("FACEVAULT_BODY_MIN_BYTES") {
            c.body_min_bytes = number("FACEVAULT_BODY_MIN_BYTES", v)?;
        }
        if let Some(v) = env("FACEVAULT_MAX_CONNECTIONS_PER_ADDRESS") {
            c.max_connections_per_address = number("FACEVAULT_MAX_CONNECTIONS_PER_ADDRESS", v)?;
        }
        if let Some(v) = env("FACEVAULT_MAX_CONCURRENT_EXPORTS") {
            c.max_concurrent_exports = number("FACEVAULT_MAX_CONCURRENT_EXPORTS", v)?;
        }
        c.listen.parse::<SocketAddr>().map_err(|e| ConfigError::Env {
            var: "FACEVAULT_LISTEN",
            value: c.listen.clone(),
            message: format!("not an address:port ({e})"),
        })?;
        let limits = [
            c.max_concurrent as u64,
            c.request_timeout_secs,
            c.max_body_bytes as u64,
            c.max_upload_bytes as u64,
            c.session_idle_minutes,
            c.session_max_hours,
            u64::from(c.login_max_failures),
            c.lockout_minutes,
            u64::from(c.login_per_minute),
            c.header_timeout_secs,
            c.sessions_per_user as u64,
            c.session_sweep_secs,
            u64::from(c.account_slow_after),
            u64::from(c.auth_failures_audited_per_minute),
            c.body_timeout_secs,
            c.body_min_bytes,
            c.max_connections_per_address as u64,
            c.max_concurrent_exports as u64,
        ];
        if limits.contains(&0) {
            return Err(ConfigError::File {
                file: "configuration".into(),
                message: "limits must be above zero".into(),
            });
        }
        if c.tls_cert.is_some() != c.tls_key.is_some() {
            return Err(ConfigError::File {
                file: "configuration".into(),
                message: "tls_cert and tls_key go together: give both or neither".into(),
            });
        }
        Ok(c)
    }
}
