//! Invariants: named, documented oracles checked on every run. A configuration that is
//! documented as replayable (external PSKs, no_anti_replay without a strike register,
//! shared ticket keys, the external-cache race window) reports an accepted replay as an
//! expected finding, not a violation.

use crate::scenario::Sharing;
use crate::world::{ConnRecord, Role, World};
use zerortt_core::conn::events::EarlyDataRejectReason;
use zerortt_core::{EarlyDataStatus, Event};

/// A named invariant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invariant {
    /// Stable name users type and grep for.
    pub name: &'static str,
    /// One line saying what it checks.
    pub doc: &'static str,
}

/// Every invariant, in report order.
pub const INVARIANTS: &[Invariant] = &[
    Invariant { name: "no_replayed_early_data_accepted", doc: "at most one connection gets early data accepted from one first flight where the configuration promises replay protection" },
    Invariant { name: "recv_max_enforced", doc: "no server accepts more early data than min(session max_early_data, recv_max_early_data)" },
    Invariant { name: "early_data_prefix_exactly_once", doc: "early data reaches the server application once, in order, as a prefix of what the client wrote, and never when rejected" },
    Invariant { name: "early_data_status_agrees", doc: "client and server report the same early_data_status once both finished the handshake" },
    Invariant { name: "api_contract", doc: "no API call the script makes in a valid order is refused, and nothing panics" },
    Invariant { name: "liveness", doc: "the 0-RTT connection (or its retry without early data) completes or fails cleanly within the time bound" },
    Invariant { name: "scenario_expectations", doc: "the 0-RTT connection ends with the early data status and outcome the scenario declares in [expect]" },
    Invariant { name: "determinism", doc: "the same scenario and seed give the same trace hash (explore --check-determinism)" },
];

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Documented behaviour of a replayable configuration.
    Expected,
    /// A broken guarantee.
    Violation,
}

/// One result of checking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The invariant's name.
    pub invariant: &'static str,
    /// Violation or expected.
    pub severity: Severity,
    /// What was seen.
    pub detail: String,
}

/// Whether the run's configuration promises that a replayed first flight never gets its
/// early data accepted, and if not, why (the documented weakness).
pub fn replay_promise(world: &World) -> Result<(), &'static str> {
    let s = &world.scenario.server;
    if s.external_psk {
        return Err(
            "external PSKs have no replay protection (SSL_read_early_data(3) REPLAY PROTECTION)",
        );
    }
    match s.sharing {
        Sharing::StrikeRegister => Ok(()),
        Sharing::TicketKeys => Err("shared stateless ticket keys without a strike register let any server accept a replay"),
        Sharing::ExternalCache => Err("the external cache's remove callback runs after the internal removal: a window for replays (the man page's warning)"),
        Sharing::Nothing | Sharing::Cache if s.no_anti_replay => Err("SSL_OP_NO_ANTI_REPLAY: tickets are reusable"),
        Sharing::Nothing | Sharing::Cache => Ok(()),
    }
}

/// Either TCP endpoint of `c` still has sequence space sent and not acknowledged.
fn still_retransmitting(world: &World, c: &ConnRecord) -> bool {
    c.nodes.is_some_and(|(a, b)| {
        [a, b].into_iter().any(|n| {
            world
                .fabric
                .socket(n)
                .is_some_and(|s| s.bytes_in_flight() > 0)
        })
    })
}

fn accepted_early(c: &ConnRecord) -> bool {
    c.server_accepted_early_data() && !c.early_read.is_empty()
}

/// Checks every invariant but determinism (which needs two runs).
pub fn check(world: &World) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut push = |invariant, severity, detail: String| {
        out.push(Finding {
            invariant,
            severity,
            detail,
        })
    };
    let conns: Vec<_> = world.connections.iter().map(|c| c.borrow()).collect();

    // no_replayed_early_data_accepted
    let flights: Vec<&ConnRecord> = conns
        .iter()
        .filter(|c| matches!(c.role, Role::ZeroRtt | Role::Replay(_)))
        .map(|c| &**c)
        .collect();
    let accepted: Vec<&str> = flights
        .iter()
        .filter(|c| accepted_early(c))
        .map(|c| c.name.as_str())
        .collect();
    if accepted.len() > 1 {
        let detail = format!(
            "early data of one first flight accepted {} times: {}",
            accepted.len(),
            accepted.join(", ")
        );
        match replay_promise(world) {
            Ok(()) => push(
                "no_replayed_early_data_accepted",
                Severity::Violation,
                detail,
            ),
            Err(why) => push(
                "no_replayed_early_data_accepted",
                Severity::Expected,
                format!("{detail} ({why})"),
            ),
        }
    }

    let recv_max = world.scenario.server.recv_max_early_data as usize;
    for c in &conns {
        // recv_max_enforced
        let limit = c.server_events.iter().find_map(|(_, _, e)| match e {
            Event::EarlyDataAccepted { limit } => Some(*limit as usize),
            _ => None,
        });
        let received: usize = c
            .server_events
            .iter()
            .filter_map(|(_, _, e)| match e {
                Event::EarlyDataReceived { bytes, .. } => Some(*bytes),
                _ => None,
            })
            .sum();
        if let Some(limit) = limit {
            if received > limit
                || limit > recv_max.max(limit.min(recv_max))
                || c.early_read.len() > limit
            {
                push(
                    "recv_max_enforced",
                    Severity::Violation,
                    format!("{}: {received} bytes accepted with limit {limit}", c.name),
                );
            }
        }
        // early_data_prefix_exactly_once
        if !c.early_written.starts_with(&c.early_read) {
            push(
                "early_data_prefix_exactly_once",
                Severity::Violation,
                format!(
                    "{}: the server read {} bytes that are not a prefix of the {} written",
                    c.name,
                    c.early_read.len(),
                    c.early_written.len()
                ),
            );
        }
        if !c.early_read.is_empty() && c.server_status == Some(EarlyDataStatus::Rejected) {
            push(
                "early_data_prefix_exactly_once",
                Severity::Violation,
                format!("{}: rejected early data was delivered", c.name),
            );
        }
        // early_data_status_agrees
        if let (Some(a), Some(b), Some(_), Some(_)) = (
            c.client_status,
            c.server_status,
            c.client_done,
            c.server_done,
        ) {
            if a != b {
                push(
                    "early_data_status_agrees",
                    Severity::Violation,
                    format!("{}: client {a:?}, server {b:?}", c.name),
                );
            }
        }
        // api_contract
        for m in &c.unexpected_misuse {
            push(
                "api_contract",
                Severity::Violation,
                format!("{}: {m}", c.name),
            );
        }
    }

    // liveness
    let zero = conns.iter().find(|c| c.role == Role::ZeroRtt);
    let retry = conns.iter().find(|c| c.role == Role::Retry);
    // A connection whose TCP still has unacknowledged bytes at the bound is held up by the
    // network (loss with RTO backoff up to 60 s can outlast any bound): a finding, not a
    // stall of the TLS state machine or the applications.
    let severity = |c: &ConnRecord| match still_retransmitting(world, c) {
        true => Severity::Expected,
        false => Severity::Violation,
    };
    match (zero, retry) {
        (Some(z), _) if z.response_received.is_some() => {}
        (Some(z), Some(r)) if z.client_error.is_some() => {
            if r.response_received.is_none() {
                // A TLS 1.3-only client cannot retry against a server downgraded to TLS
                // 1.2, and SSL_read_early_data(3) says "it is inadvisable to retry with a
                // lower maximum protocol version": documented, not a stall.
                let tls13_only = world.scenario.server.tls12_after_tickets
                    && world.scenario.client.stack != crate::subject::Stack::Openssl;
                push(
                    "liveness",
                    if tls13_only {
                        Severity::Expected
                    } else {
                        severity(r)
                    },
                    format!(
                        "the retry without early data did not complete: {:?}",
                        r.client_error
                    ),
                );
            }
        }
        (Some(z), None)
            if z.client_error.is_some() && !world.scenario.client.retry_without_early_data => {}
        (Some(z), None) if z.client_error.is_some() && !z.retry_requested => {}
        (Some(z), _) => push(
            "liveness",
            severity(z),
            format!(
                "0rtt did not complete within the bound (error: {:?})",
                z.client_error
            ),
        ),
        (None, _) => {}
    }
    // scenario_expectations
    if let Some(z) = zero {
        let e = &world.scenario.expect;
        if let Some(want) = &e.status {
            let got = match z.server_status {
                Some(EarlyDataStatus::Accepted) => "accepted",
                Some(EarlyDataStatus::Rejected) => "rejected",
                Some(EarlyDataStatus::NotSent) => "not_sent",
                None => "unknown",
            };
            // Loss can delay the NewSessionTickets past the freshness tolerance; the server
            // then rightly rejects 0-RTT (RFC 9846 8.3): a finding, not a bug.
            let late_tickets = z.server_events.iter().any(|(_, _, e)| {
                matches!(
                    e,
                    Event::EarlyDataRejected {
                        reason: EarlyDataRejectReason::TicketAgeOutsideTolerance
                    }
                )
            });
            if got != want && !(got == "unknown" && z.server_error.is_some()) {
                let (severity, why) = if late_tickets {
                    (
                        Severity::Expected,
                        " (ticket age outside the tolerance: the network delayed the tickets)",
                    )
                } else {
                    (Severity::Violation, "")
                };
                push(
                    "scenario_expectations",
                    severity,
                    format!("0rtt early data status {got}, expected {want}{why}"),
                );
            }
        }
        if let Some(want) = &e.outcome {
            let got = if z.response_received.is_some() {
                "completed"
            } else if z.client_error.is_some() {
                "aborted"
            } else {
                "unfinished"
            };
            if got != want {
                push(
                    "scenario_expectations",
                    Severity::Violation,
                    format!(
                        "0rtt {got}, expected {want} (client error: {:?}, server error: {:?})",
                        z.client_error, z.server_error
                    ),
                );
            }
        }
    }
    if world.fabric.overflow().is_some() {
        push(
            "liveness",
            Severity::Violation,
            "the event queue overflowed".into(),
        );
    }
    out
}
