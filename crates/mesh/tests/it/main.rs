//! Integration tests of the mesh crate, built into one binary.

mod inspect;
mod hostile;
mod obj;
mod ply;
mod stl;
