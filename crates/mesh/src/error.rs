//! Errors. A [`ReadError`] always says which format was being read, where (byte offset or line)
//! and what was wrong, in a typed [`ErrorKind`] that tests and callers can match on.

use std::fmt;

use crate::format::Format;

/// Where in the input a problem was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A byte offset from the start of the input (binary data, headers).
    Byte(u64),
    /// A 1-based line number (text formats).
    Line(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Byte(b) => write!(f, "byte {b}"),
            Location::Line(l) => write!(f, "line {l}"),
        }
    }
}

/// What was wrong with the input.
///
/// # How to fix
/// Most of these mean the file is damaged or was not written by a mesh exporter: re-export the
/// scan from the scanner software. [`ErrorKind::UnknownFormat`] on a good file means it is not
/// PLY, OBJ or STL; convert it first.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("the input is empty")]
    Empty,
    #[error("not a PLY, OBJ or STL file")]
    UnknownFormat,
    #[error("bad header: {reason}")]
    BadHeader { reason: String },
    #[error("unsupported: {what}")]
    Unsupported { what: String },
    #[error("the input ends early, while reading {reading}")]
    Truncated { reading: String },
    #[error("{what} count {count} cannot fit: the {available} bytes left hold at most {max}")]
    CountTooLarge { what: String, count: u64, available: u64, max: u64 },
    #[error("face {face} lists {len} vertices, more than the limit of {max}")]
    ListTooLong { face: u64, len: u64, max: u64 },
    #[error("face {face} has {len} vertices; a face needs at least 3")]
    TooFewVertices { face: u64, len: u64 },
    #[error("vertex {vertex} has a non-finite {what}")]
    NonFinite { vertex: u64, what: &'static str },
    #[error("face {face} refers to vertex {index}, but there are {vertices} vertices")]
    BadIndex { face: u64, index: i64, vertices: u64 },
    #[error("cannot read {token:?} as {expected}")]
    BadNumber { token: String, expected: &'static str },
    #[error("a line is longer than {max} bytes")]
    LineTooLong { max: u64 },
    #[error("a line is not valid UTF-8 text")]
    NotText,
    #[error("{what}")]
    Inconsistent { what: String },
    #[error("read failed: {message}")]
    Io { message: String },
}

impl ErrorKind {
    /// A stable short name for the kind, used by the hostile-input corpus and `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::Empty => "empty",
            ErrorKind::UnknownFormat => "unknown-format",
            ErrorKind::BadHeader { .. } => "bad-header",
            ErrorKind::Unsupported { .. } => "unsupported",
            ErrorKind::Truncated { .. } => "truncated",
            ErrorKind::CountTooLarge { .. } => "count-too-large",
            ErrorKind::ListTooLong { .. } => "list-too-long",
            ErrorKind::TooFewVertices { .. } => "too-few-vertices",
            ErrorKind::NonFinite { .. } => "non-finite",
            ErrorKind::BadIndex { .. } => "bad-index",
            ErrorKind::BadNumber { .. } => "bad-number",
            ErrorKind::LineTooLong { .. } => "line-too-long",
            ErrorKind::NotText => "not-text",
            ErrorKind::Inconsistent { .. } => "inconsistent",
            ErrorKind::Io { .. } => "io",
        }
    }
}

/// A failure to read a mesh: which format, where, and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{at}: {kind}", format.map(|f| format!("{f} ")).unwrap_or_default())]
pub struct ReadError {
    /// The format being read, once it is known.
    pub format: Option<Format>,
    pub at: Location,
    pub kind: ErrorKind,
}

impl ReadError {
    pub fn new(format: Format, at: Location, kind: ErrorKind) -> Self {
        ReadError { format: Some(format), at, kind }
    }
}

/// A mesh whose parts do not fit together, from [`crate::Mesh::new`] and friends.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MeshError {
    #[error("triangle {face} refers to vertex {index}, but there are {vertices} vertices")]
    BadIndex { face: usize, index: u32, vertices: usize },
    #[error("vertex {vertex} has a non-finite coordinate")]
    NonFinite { vertex: usize },
    #[error("{what} has {got} entries, but there are {vertices} vertices")]
    AttributeLength { what: &'static str, got: usize, vertices: usize },
    #[error("{vertices} vertices do not fit in 32-bit indices")]
    TooManyVertices { vertices: usize },
}
