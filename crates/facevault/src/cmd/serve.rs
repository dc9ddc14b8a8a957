//! `facevault serve`: the HTTP API over one vault (see `facevault-server`). It opens the vault
//! as any command does (passphrase or `FACEVAULT_KEK`), unseals the audit signing key, and
//! serves until Ctrl-C or SIGTERM, finishing the requests in flight.

use std::path::PathBuf;

use anyhow::Result;
use facevault_audit::AuditLog;
use facevault_server::{AppState, Backend, Config, SignedLog};
use facevault_store_sql::SqlLogStore;
use facevault_vault::{DynBlobStore, DynMetadataStore, SubjectStore as _};

use super::Failure;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A TOML configuration file (keys: listen, vault, max_body_bytes, max_upload_bytes,
    /// request_timeout_secs, max_concurrent, tls_cert, tls_key, session_idle_minutes,
    /// session_max_hours, login_max_failures, lockout_minutes); environment variables
    /// (FACEVAULT_LISTEN, ...) override it.
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

/// Opens the vault of `config` and serves it; `ready` is called with the address once the
/// server listens.
pub(crate) fn serve(config: Config, ready: impl FnOnce(&str)) -> Result<()> {
    let dir = config.vault.clone();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let erased = |meta, blobs| (DynMetadataStore::new(meta), DynBlobStore::new(blobs));
    let (vault, _) = rt.block_on(super::vault::open_as(&dir, erased))?;
    let key = super::audit::signing_key(&dir, vault.id(), vault.key_provider().as_ref())?;
    let policy = super::vault::load_policy(&dir)?;
    let damaged = |e: &dyn std::fmt::Display| Failure::Damaged(format!("audit log: {e}"));
    let store = SqlLogStore::open_sqlite(&dir.join(super::vault::DB_FILE)).map_err(|e| damaged(&e))?;
    let log = AuditLog::open(store).map_err(|e| damaged(&e))?;
    let origin = super::audit::origin(vault.id());
    let backend = Backend { vault, policy, log: SignedLog { log, key, origin } };
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
        let listener = tokio::net::TcpListener::bind(&listen)
            .await
            .map_err(|e| Failure::Output(format!("{listen}: {e}")))?;
        eprintln!("FaceVault listening on http://{listen} (API docs at http://{listen}/docs/)");
        ready(&listen);
        let meta = state.vault().metadata_store().clone();
        let served = facevault_server::serve_on(listener, state, shutdown).await;
        meta.close().await;
        served.map_err(|e| Failure::Output(format!("{listen}: {e}")).into())
    })
}
