//! Integration tests of the mesh crate, built into one binary.

mod obj;
mod ply;
mod stl;
