//! `facevault serve`: the HTTP API over one vault (see `facevault-server`). It opens the vault
//! as any command does (passphrase or `FACEVAULT_KEK`), unseals the audit signing key, starts
//! the audit journal, hands the server the application (`facevault_app::App`) and serves until
//! Ctrl-C or SIGTERM, finishing the requests in flight. While it serves, it enforces retention
//! every day at `retention_time` (`facevault_server::schedule`).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use facevault_server::schedule::{RetentionSchedule, WallClock};
use facevault_server::{AppState, Backend, Config};

use super::Failure;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A TOML configuration file (keys: listen, vault, max_body_bytes, max_upload_bytes,
    /// request_timeout_secs, max_concurrent, tls_cert, tls_key, session_idle_minutes,
    /// session_max_hours, login_max_failures, lockout_minutes, login_per_minute,
    /// account_slow_after, sessions_per_user, session_sweep_secs,
    /// auth_failures_audited_per_minute (docs/authentication.md), body_timeout_secs,
    /// body_min_bytes, max_connections_per_address, max_concurrent_exports (docs/server.md),
    /// retention_time); environment variables (FACEVAULT_LISTEN, FACEVAULT_RETENTION_TIME, ...)
    /// override it. Retention is enforced daily at retention_time (UTC, default 03:00), a missed
    /// day caught up on start.
    #[arg(long)]
    config: Option<PathBuf>,
}

/// Loads the configuration; `--vault` wins over the file and the environment.
pub(crate) fn config(vault: Option<PathBuf>, file: Option<&std::path::Path>) -> Result<Config> {
    let env = |k: &str| std::env::var(k).ok();
    let mut config = Config::load(file, env).map_err(|e| Failure::Input(e.to_string()))?;
    if let Some(v) = vault {
        config.vault = v;
    }
    Ok(config)
}

pub fn run(vault: Option<PathBuf>, args: ServeArgs) -> Result<()> {
    let config = config(vault, args.config.as_deref())?;
    serve(config, |_| ())
}

/// Opens the vault of `config` as an application (`crate::layout`) and serves it; `ready` is
/// called with the address once the server listens.
pub(crate) fn serve(config: Config, ready: impl FnOnce(&str)) -> Result<()> {
    let dir = config.vault.clone();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let (app, _) = rt.block_on(crate::layout::open_app(&dir))?;
    let backend = Backend { app };
    let listen = config.listen.clone();
    rt.block_on(async {
        let state = AppState::open(config, backend)
            .await
            .map_err(|e| Failure::Damaged(format!("the server could not start: {}", e.message)))?;
        let shutdown = async {
            let term = async {
                #[cfg(unix)]
                if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    s.recv().await;
                    return;
                }
                std::future::pending::<()>().await;
            };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                () = term => {}
            }
            eprintln!("shutting down: finishing the requests in flight");
        };
        // Retention on schedule: a day missed while the server was down is caught up before it
        // listens, then the task runs daily at `retention_time`.
        let mut schedule = RetentionSchedule::new(state.clone(), Arc::new(WallClock));
        schedule.run_due().await;
        let scheduled = tokio::spawn(schedule.run(facevault_server::schedule::TICK));
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| Failure::Output(format!("{listen}: {e}")))?;
        let scheme = if state.config().tls_cert.is_some() { "https" } else { "http" };
        eprintln!("FaceVault listening on {scheme}://{listen} (API docs at {scheme}://{listen}/docs/)");
        ready(&listen);
        let served = facevault_server::serve_on(listener, state.clone(), shutdown).await;
        scheduled.abort();
        // What the last requests journaled is appended, then the stores close.
        crate::layout::close(state.app()).await;
        served.map_err(|e| Failure::Output(format!("{listen}: {e}")).into())
    })
}
