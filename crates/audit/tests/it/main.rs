//! The audit crate's integration tests, built into one binary.

mod certificate;
mod entry;
mod fixture;
mod log;
mod note;
mod tree;
