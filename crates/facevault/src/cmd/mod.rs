//! Subcommands. Each module parses its own arguments and does its own printing; the helpers
//! they share (the exit-code failure, JSON output) are here; times are `facevault_app::time`.

pub mod account;
pub mod analyze;
pub mod audit;
pub mod certificate;
pub mod demo;
pub mod govern;
pub mod keys;
pub mod mesh;
pub mod package;
pub mod posture;
pub mod requests;
pub mod scans;
pub mod serve;
pub mod subjects;
pub mod vault;
pub mod vendors;

use std::fmt;

/// Why a command failed, for the exit code: 3 for unreadable or invalid input files, 4 for
/// output that could not be written, 5 for a wrong passphrase or key, 6 for an unknown (or
/// shredded) subject, scan or derivative, 7 for a damaged vault, 8 for an access or capture
/// the policy or consent refuses, 9 for what the object's present state does not allow (a legal
/// hold, a request's state). (clap uses 2 for bad arguments; anything else is 1.) The
/// application's errors carry their own kind ([`facevault_app::ErrorKind::exit_code`]).
#[derive(Debug)]
pub enum Failure {
    Input(String),
    Output(String),
    Key(String),
    Damaged(String),
    /// A use case of the application failed: its kind says the exit code.
    App(facevault_app::AppError),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Input(_) => 3,
            Failure::Output(_) => 4,
            Failure::Key(_) => 5,
            Failure::Damaged(_) => 7,
            Failure::App(e) => e.kind.exit_code(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Input(m) | Failure::Output(m) | Failure::Key(m) | Failure::Damaged(m) => f.write_str(m),
            Failure::App(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Failure {}

/// Print `value` as pretty JSON on standard output. Errors come back as `io::Error`, so a
/// reader that closes the pipe early (`| head`) ends the command quietly (see `main`).
pub fn print_json(value: &impl serde::Serialize) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)
}
