//! zerortt-sim: a deterministic network (virtual time, links, a TCP model) that drives
//! `zerortt-core` connections, plus scenarios, invariants, timing reports and the CLI.
//!
//! Nothing here reads the wall clock: time is virtual, in nanoseconds, and every random
//! choice comes from a ChaCha stream derived from one master seed.
#![forbid(unsafe_code)]

pub mod calibrate;
pub mod catalog;
pub mod diff;
pub mod explore;
pub mod harness;
pub mod invariants;
pub mod live;
pub mod net;
pub mod report;
pub mod scenario;
pub mod subject;
pub mod visual;
pub mod world;
