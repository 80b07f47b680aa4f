//! What a run did: its trace and outcome ([`HarnessReport`]).

use super::{AppCall, RecordScenario, Step};
use crate::error::Error;
use crate::{EarlyDataStatus, Event, Side};
use std::fmt;

/// One line of a run's trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEntry {
    /// The harness starts step `index`.
    Step {
        /// Position in the scenario.
        index: usize,
        /// The step.
        step: Step,
    },
    /// The final phase that completes the handshake begins.
    Drain,
    /// Bytes were handed to `to` with `read_tls`.
    Delivered {
        /// The receiving side.
        to: Side,
        /// Bytes on the wire.
        len: usize,
        /// What they were.
        what: String,
    },
    /// An application call and its result.
    Call {
        /// The side called.
        side: Side,
        /// The call.
        call: AppCall,
        /// Its result, formatted.
        result: String,
    },
    /// An event a side emitted.
    Event {
        /// The side.
        side: Side,
        /// The event.
        event: Event,
    },
}

impl fmt::Display for TraceEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Step { index, step } => write!(f, "step {index}: {step:?}"),
            Self::Drain => f.write_str("drain: complete the handshake"),
            Self::Delivered { to, len, what } => write!(f, "  -> {to:?} {len} bytes: {what}"),
            Self::Call { side, call, result } => write!(f, "  {side:?}.{call:?} = {result}"),
            Self::Event { side, event } => write!(f, "    {side:?} event {event:?}"),
        }
    }
}

/// What a record-target run did: the scenario, the trace of both sides, and the outcome.
#[derive(Clone, Debug)]
pub struct HarnessReport {
    /// The side the records were fed to.
    pub target: Side,
    /// The decoded input.
    pub scenario: RecordScenario,
    /// Steps, deliveries, calls and events in order.
    pub trace: Vec<TraceEntry>,
    /// `early_data_status` of the client at the end.
    pub client_status: EarlyDataStatus,
    /// `early_data_status` of the server at the end.
    pub server_status: EarlyDataStatus,
    /// The client completed its handshake.
    pub client_finished: bool,
    /// The server completed its handshake.
    pub server_finished: bool,
    /// The client's fatal error, if any.
    pub client_error: Option<Error>,
    /// The server's fatal error, if any.
    pub server_error: Option<Error>,
    /// Early data bytes sent to the server.
    pub early_data_sent: usize,
    /// Early data bytes the server application read.
    pub early_data_read: usize,
    /// The first oracle violated (`oracle <name>: ...`), if any.
    pub violation: Option<String>,
}

impl HarnessReport {
    /// Every event of `side`, in order.
    pub fn events(&self, side: Side) -> impl Iterator<Item = &Event> + '_ {
        self.trace.iter().filter_map(move |t| match t {
            TraceEntry::Event { side: s, event } if *s == side => Some(event),
            _ => None,
        })
    }
}

impl fmt::Display for HarnessReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "target: {:?}", self.target)?;
        writeln!(f, "scenario: {:?}", self.scenario)?;
        for entry in &self.trace {
            writeln!(f, "{entry}")?;
        }
        writeln!(
            f,
            "outcome: client {:?} finished={} error={:?}; server {:?} finished={} error={:?}; \
             early data sent {} read {}",
            self.client_status,
            self.client_finished,
            self.client_error,
            self.server_status,
            self.server_finished,
            self.server_error,
            self.early_data_sent,
            self.early_data_read
        )?;
        match &self.violation {
            Some(v) => writeln!(f, "VIOLATION: {v}"),
            None => writeln!(f, "all oracles hold"),
        }
    }
}
