//! PLY (Stanford polygon format): ascii, binary little-endian and binary big-endian.

use std::io::{self, BufRead, Write};

use crate::error::{ErrorKind, Location, ReadError};
use crate::format::{Format, Parsed};
use crate::input::Source;
use crate::mesh::Mesh;

/// PLY encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Ascii,
    BinaryLittleEndian,
    BinaryBigEndian,
}

pub(crate) fn parse<R: BufRead>(src: &mut Source<R>) -> Result<Parsed, ReadError> {
    Err(ReadError::new(
        Format::Ply,
        Location::Byte(src.offset()),
        ErrorKind::Unsupported { what: "PLY reading is not written yet".into() },
    ))
}

pub fn write<W: Write>(_mesh: &Mesh, _encoding: Encoding, _w: W) -> io::Result<()> {
    Err(io::Error::other("PLY writing is not written yet"))
}
