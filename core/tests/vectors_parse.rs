//! Sanity test of the vector file reader shared by the known-answer tests.
#[path = "common/vectors.rs"]
mod vectors;
