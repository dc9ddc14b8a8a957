//! Integration tests of the mesh crate, built into one binary.

mod hostile;
mod inspect;
mod obj;
mod ply;
mod stl;
