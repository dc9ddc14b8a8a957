//! Subcommands. Each module parses its own arguments and does its own printing.

pub mod demo;
pub mod mesh;

use std::fmt;

/// Why a command failed, for the exit code: 3 for unreadable or invalid input files, 4 for
/// output that could not be written. (clap uses 2 for bad arguments; anything else is 1.)
#[derive(Debug)]
pub enum Failure {
    Input(String),
    Output(String),
}

impl Failure {
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Input(_) => 3,
            Failure::Output(_) => 4,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Input(m) | Failure::Output(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Failure {}
