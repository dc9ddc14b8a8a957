//! Integration tests of the PLY reader and writer.
