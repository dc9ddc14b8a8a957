//! Synthetic faces with ground truth, for tests and benchmarks.
#![forbid(unsafe_code)]
