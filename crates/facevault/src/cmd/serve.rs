//! `facevault serve`: the HTTP API over one vault (see `facevault-server`). It opens the vault
//! as any command does (passphrase or `FACEVAULT_KEK`), unseals the audit signing key, starts
//! the audit journal, hands the server the application (`facevault_app::App`) and serves until
//! Ctrl-C or SIGTERM, finishing the requests in flight.

use std::path::{Path, PathBuf};

use anyhow::Result;
use facevault_app::{App, AppError, ClinicFiles, ErrorKind, Journal, SignedLog};
use facevault_server::{AppState, Backend, Config};
use facevault_store_sql::SqlLogStore;

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
    let (vault, _) = rt.block_on(super::vault::open(&dir))?;
    let key = super::audit::signing_key(&dir, vault.id(), vault.key_provider().as_ref())?;
    let policy = super::vault::load_policy(&dir)?;
    let damaged = |e: &dyn std::fmt::Display| Failure::Damaged(format!("audit log: {e}"));
    let store = SqlLogStore::open_sqlite(&dir.join(super::vault::DB_FILE)).map_err(|e| damaged(&e))?;
    let origin = super::audit::origin(vault.id());
    let log = SignedLog::open(store, key, origin).map_err(|e| damaged(&e))?;
    let journal = Journal::start(log)?;
    let files = Box::new(VaultFiles { dir: dir.clone() });
    let backend = Backend { app: App::new(vault, policy, journal.clone(), files) };
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
        let meta = state.app().vault().metadata_store().clone();
        let served = facevault_server::serve_on(listener, state, shutdown).await;
        // What the last requests journaled is appended, then the log store closes.
        journal.close().await;
        meta.close().await;
        served.map_err(|e| Failure::Output(format!("{listen}: {e}")).into())
    })
}

/// The clinic's files in the vault directory: its configuration texts, and the deletion
/// certificates under `certificates/`, each written owner-only and atomically.
struct VaultFiles {
    dir: PathBuf,
}

impl VaultFiles {
    fn write(&self, path: &Path, bytes: &[u8]) -> Result<String, AppError> {
        let failed = |e: std::io::Error| AppError::new(ErrorKind::Output, format!("{}: {e}", path.display()));
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(failed)?;
        }
        facevault_crypto::write_private(path, bytes).map_err(failed)?;
        Ok(path.display().to_string())
    }
}

impl ClinicFiles for VaultFiles {
    fn config(&self, name: &str) -> Result<Option<String>, AppError> {
        let path = self.dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(AppError::internal(format!("{}: {e}", path.display()))),
        }
    }

    fn write_config(&self, name: &str, text: &str) -> Result<(), AppError> {
        self.write(&self.dir.join(name), text.as_bytes()).map(|_| ())
    }

    fn keep_certificate(&self, name: &str, json: &[u8]) -> Result<String, AppError> {
        self.write(&self.dir.join(super::vault::CERTIFICATE_DIR).join(name), json)
    }
}
