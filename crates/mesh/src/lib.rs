//! Indexed triangle meshes in millimetres, and readers and writers for PLY, OBJ and STL.
//!
//! For most cases: [`read`] a scan from bytes (format detected from content), inspect it with
//! [`inspect::inspect`], and [`write`] it back out in any [`FileFormat`].
//!
//! This crate does no file-system or network I/O: readers take `&[u8]` or any [`std::io::BufRead`],
//! writers take any [`std::io::Write`]. Every reader treats its input as hostile: a header's
//! counts are checked against the bytes actually present, memory grows only with data really
//! read, and every failure is a [`ReadError`] naming the byte offset or line where it happened.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod error;
mod format;
mod input;
mod mesh;
mod unit;

pub mod clean;
pub mod inspect;
pub mod obj;
pub mod ply;
pub mod stl;

pub use error::{ErrorKind, Location, MeshError, ReadError};
pub use format::{detect, read, read_from, to_bytes, write, FileFormat, Format, Imported, ReadOptions};
pub use mesh::Mesh;
pub use unit::{SourceUnit, Unit, UnitBasis};
