//! STL: ascii and binary; vertices are welded by exact position.

use std::io::{self, BufRead, Write};

use crate::error::{ErrorKind, Location, ReadError};
use crate::format::{Format, Parsed};
use crate::input::Source;
use crate::mesh::Mesh;

/// STL encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Ascii,
    Binary,
}

pub(crate) fn parse<R: BufRead>(src: &mut Source<R>) -> Result<Parsed, ReadError> {
    Err(ReadError::new(
        Format::Stl,
        Location::Byte(src.offset()),
        ErrorKind::Unsupported { what: "STL reading is not written yet".into() },
    ))
}

pub fn write<W: Write>(_mesh: &Mesh, _encoding: Encoding, _w: W) -> io::Result<()> {
    Err(io::Error::other("STL writing is not written yet"))
}
