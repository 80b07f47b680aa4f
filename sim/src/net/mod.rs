//! The deterministic network: virtual time, an event queue, seeded random streams,
//! one-way links and a sans-I/O TCP model, wired together by a [`fabric::Fabric`].
//!
//! Everything here is a pure function of the master seed and the calls made: no wall
//! clock, no OS randomness, no hash-map iteration order reaches any output. Every queue
//! and loop is bounded; overflowing a bound is reported, never a panic.
//!
//! Layering, bottom up:
//! - [`time`]: [`time::SimTime`], virtual nanoseconds.
//! - [`rng`]: one master seed, one ChaCha20 stream per stable label.
//! - [`queue`]: the event queue, ordered by (time, insertion sequence).
//! - [`link`]: a one-way link (latency, jitter, bandwidth, loss, duplication,
//!   partitions, MTU).
//! - [`tcp`]: a TCP endpoint (handshake, MSS, Nagle, delayed ACK, congestion window,
//!   RTO, fast retransmit, FIN and RST) as segments in, segments out.
//! - [`fabric`]: endpoints, links and the queue stepped together, with application
//!   hooks and a typed trace.

pub mod fabric;
pub mod link;
pub mod queue;
pub mod rng;
pub mod tcp;
pub mod time;

pub use fabric::{
    AppCtx, Application, CapturedSegment, Fabric, NetEvent, NodeId, RunOutcome, TraceEntry,
};
pub use link::{DropReason, Link, LinkConfig, LinkStats, Partition, Transmission};
pub use queue::{EventQueue, QueueFull};
pub use rng::{MasterSeed, SimRng};
pub use tcp::{
    DelayedAck, InvalidState, KernelTicks, RetransmitCause, RtoRule, Segment, SegmentHeader,
    TcpConfig, TcpError, TcpEvent, TcpFlags, TcpSocket, TcpState, TcpStats,
};
pub use time::SimTime;
