//! Cleaning: each function returns the cleaned mesh and a report of what it changed.
