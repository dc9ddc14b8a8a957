//! Wavefront OBJ: v/vt/vn/f, polygons, negative indices.

use std::io::{self, BufRead, Write};

use crate::error::{ErrorKind, Location, ReadError};
use crate::format::{Format, Parsed};
use crate::input::Source;
use crate::mesh::Mesh;


pub(crate) fn parse<R: BufRead>(src: &mut Source<R>) -> Result<Parsed, ReadError> {
    Err(ReadError::new(
        Format::Obj,
        Location::Byte(src.offset()),
        ErrorKind::Unsupported { what: "OBJ reading is not written yet".into() },
    ))
}

pub fn write<W: Write>(_mesh: &Mesh, _w: W) -> io::Result<()> {
    Err(io::Error::other("OBJ writing is not written yet"))
}
