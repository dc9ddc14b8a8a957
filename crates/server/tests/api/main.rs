//! The API's integration tests, one binary: the router in process (`oneshot`) over a real vault
//! (SQLite, blob files, the SQL audit log in a temporary directory), one fixture for all.

mod attacks;
mod clinical;
mod common;
mod completion;
mod governance;
mod law_access;
mod package;
mod schedule;
mod server;
