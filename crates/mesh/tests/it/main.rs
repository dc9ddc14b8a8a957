//! Integration tests of the mesh crate, built into one binary.

mod inspect;
mod obj;
mod ply;
mod stl;
