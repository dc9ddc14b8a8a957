//! `facevault serve`: the HTTP server (health, readiness, metrics, OpenAPI and Swagger UI so
//! far; the data endpoints come with authentication). Ctrl-C or SIGTERM finish the requests in
//! flight, then stop.

use std::path::PathBuf;

use anyhow::Result;
use facevault_server::Config;

use super::Failure;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A TOML configuration file (keys: listen, vault, max_body_bytes, request_timeout_secs,
    /// max_concurrent); environment variables override it.
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(vault: Option<PathBuf>, args: ServeArgs) -> Result<()> {
    let env = |k: &str| std::env::var(k).ok();
    let mut config = Config::load(args.config.as_deref(), env).map_err(|e| Failure::Input(e.to_string()))?;
    if let Some(v) = vault {
        config.vault = v;
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let listen = config.listen.clone();
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
        eprintln!("FaceVault listening on http://{listen} (API docs at http://{listen}/docs/)");
        facevault_server::serve(config, shutdown)
            .await
            .map_err(|e| Failure::Output(format!("{listen}: {e}")).into())
    })
}
