//! Integration tests of the OBJ reader and writer.
