//! Subjects: the TLS stack under test is a choice of the scenario (DESIGN.md, "Subjects").
//! The world's applications drive a subject through one early-data API, the man page's;
//! each stack implements it over its own library.

pub mod rustls_stack;
