//! The `facevault` binary: the command line over the FaceVault crates.
//!
//! Only this crate touches the file system on behalf of the mesh crate: it opens files, hands
//! their bytes to the readers, and names the file in every error it prints.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod alloc;
mod cmd;
mod layout;

#[global_allocator]
static ALLOCATOR: alloc::HugePageHint = alloc::HugePageHint;

#[derive(Debug, Parser)]
#[command(name = "facevault", version, about = "3D face scans: analysis and governance inside the clinic")]
struct Cli {
    /// The vault directory (default: $FACEVAULT_DIR, else ./facevault-vault).
    #[arg(long, global = true, value_name = "DIR")]
    vault: Option<std::path::PathBuf>,
    /// Who runs vault commands, for the audit log: a pseudonymous id, never a name (default:
    /// $FACEVAULT_ACTOR, else `cli-unattributed`).
    #[arg(long, global = true, value_name = "ID")]
    actor: Option<String>,
    /// The actor's role, which the policy decides every access by, and which the audit log
    /// records: surgeon, clinical_staff, front_desk, marketing, privacy_officer, vendor,
    /// patient or admin (default: $FACEVAULT_ROLE, else `admin`, which reads no scan data).
    #[arg(long, global = true, value_name = "ROLE")]
    role: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read, inspect and convert mesh files (PLY, OBJ, STL).
    #[command(subcommand)]
    Mesh(cmd::mesh::MeshCommand),
    /// Clinical analyses: symmetry of one scan, or comparison of a pre-op and a post-op scan.
    #[command(subcommand)]
    Analyze(cmd::analyze::AnalyzeCommand),
    /// Write sample scans to a folder and inspect each one: a first look at FaceVault.
    Demo(cmd::demo::DemoArgs),
    /// The vault's verifiable audit log: verify it, print proofs and the signed checkpoint.
    #[command(subcommand)]
    Audit(cmd::audit::AuditCommand),
    /// Deletion certificates: check one offline.
    #[command(subcommand)]
    Certificate(cmd::certificate::CertificateCommand),
    /// Run the HTTP server (health, readiness, metrics, OpenAPI at /openapi.json, Swagger UI
    /// at /docs/); listens on 127.0.0.1:8080 unless configured.
    Serve(cmd::serve::ServeArgs),
    /// Print the current one-time code of a TOTP secret (base32, read from standard input).
    Otp,
    #[command(flatten)]
    Vault(cmd::vault::VaultCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let who = cmd::audit::Actor {
        actor: cli
            .actor
            .or_else(|| std::env::var("FACEVAULT_ACTOR").ok())
            .unwrap_or_else(|| "cli-unattributed".into()),
        role: cli.role.or_else(|| std::env::var("FACEVAULT_ROLE").ok()).unwrap_or_else(|| "admin".into()),
    };
    let result = match cli.command {
        Command::Mesh(c) => cmd::mesh::run(c),
        Command::Demo(a) => cmd::demo::run(a),
        Command::Vault(c) => cmd::vault::run(cli.vault, &who, c),
        Command::Serve(a) => cmd::serve::run(cli.vault, a),
        Command::Audit(c) => cmd::audit::run(cli.vault, &who, c),
        Command::Certificate(c) => cmd::certificate::run(c),
        Command::Analyze(c) => cmd::analyze::run(c),
        Command::Otp => cmd::account::otp(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `facevault mesh info big.ply --json | head` is not an error.
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            let code = match (e.downcast_ref::<cmd::Failure>(), e.downcast_ref::<facevault_app::AppError>()) {
                (Some(f), _) => f.exit_code(),
                (None, Some(a)) => a.kind.exit_code(),
                (None, None) => 1,
            };
            ExitCode::from(code)
        }
    }
}
