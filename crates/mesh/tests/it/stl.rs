//! Integration tests of the STL reader and writer.
