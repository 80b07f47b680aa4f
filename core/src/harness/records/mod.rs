//! The `server_records` and `client_records` targets: a configuration plus a sequence of
//! records fed to one side (the *target*) of a real client/server pair.
//!
//! # How records reach the target
//! The other side (the *peer*) is a real [`Connection`](crate::Connection) too: it holds the keys. The
//! harness sits on the wire between them. Everything the target sends goes to the peer
//! unchanged. Everything the peer sends is decrypted by the harness with the peer's own
//! secrets (from its key log events) and queued; the [`Step`]s then decide what reaches the
//! target: a queued record (re-encrypted with the harness's own sequence numbers, so that
//! dropped or injected records do not break the ones after them), a record the harness
//! builds and encrypts with the real keys ("an early data record of N bytes", "EndOfEarlyData
//! with a body", "Finished with a wrong MAC", "a second hello", a KeyUpdate), a replay of
//! a record delivered before, or raw bytes. So the fuzzer reaches deep states without
//! turning off cryptography.
//!
//! The resumed session comes from one real full handshake per [`SESSIONS`] entry, computed
//! once per process; each run gets a fresh server configuration whose session cache holds
//! that ticket, so single-use tickets (SSL_read_early_data(3), REPLAY PROTECTION) work in
//! every run.
//!
//! # Oracles
//! The harness panics with `oracle <name>: ...` when one of these fails (a panic inside the
//! library is a failure too):
//! - `no_internal_error`: no call ever fails with [`Error::Internal`](crate::Error::Internal) ("should be impossible").
//! - `errors_are_sticky`: after a fatal error every call returns that same error, and
//!   `read_tls` takes no more bytes.
//! - `early_data_is_a_prefix`: the early data the server application reads is a prefix of
//!   the early data sent to it; likewise `application_data_is_a_prefix` on both sides.
//! - `early_data_within_limit`: the server accepts at most min(session max_early_data,
//!   recv_max_early_data) bytes ("The amount of data that is accepted will always be the
//!   lower of the max_early_data for the session and the recv_max_early_data setting for
//!   the server"); the client writes at most the session's max_early_data.
//! - `no_data_after_close_notify`: an application never reads data that arrived after
//!   close_notify (RFC 9846 6.1: "Any data received after a closure alert has been received
//!   MUST be ignored").
//! - `early_data_status_agrees`: when both sides completed the handshake, both report the
//!   same `early_data_status`.
//! - `early_data_accepted_only_when_allowed`: the server never accepts early data when the
//!   scenario's own knobs say it must not: a ticket or server max_early_data of 0, another
//!   cipher suite or ALPN protocol than the session's, a HelloRetryRequest (RFC 9846
//!   4.2.10), a ClientHello later than the freshness tolerance (RFC 9846 8.3), a forged
//!   binder. This model is written from the scenario, not from the server's state.
//! - `psk_binder_verified`: a ClientHello whose binder the harness forged never gets its
//!   PSK accepted (RFC 9846 4.2.11: "If this value does not validate, the server MUST abort
//!   the handshake").
//! - `early_data_status_agrees` also: a client never reports `Accepted` unless the server
//!   accepted (the man page: "SSL_EARLY_DATA_ACCEPTED if the data was accepted by the
//!   server").
//! - `honest_handshake_completes`: when the steps only forward what each side sent, no
//!   binder is forged and the early data fits recv_max_early_data, both sides complete the
//!   handshake.
//! - `single_use_ticket_consumed`: with anti-replay on, a resumption removes the ticket
//!   from the server's session cache (SSL_read_early_data(3), REPLAY PROTECTION).
//! - `skip_budget_enforced`: a server that skipped more rejected early data than
//!   recv_max_early_data does not carry on (the budget rule in `conn/record_layer.rs`).
//!
//! # Layout
//! `scenario` (the input and its byte format), `fixture` (sessions from real handshakes),
//! `driver` (the run: the wire between the two sides), `model` (what the knobs allow),
//! `oracles`, `report` (trace and outcome).

mod driver;
mod fixture;
mod model;
mod oracles;
mod report;
mod scenario;
#[cfg(test)]
mod tests;

pub use self::report::{HarnessReport, TraceEntry};
pub use self::scenario::{
    AlpnChoice, AppCall, EpochChoice, RecordScenario, Step, ALPN_H2, LATE_BY_MORE_THAN_TOLERANCE,
    MAX_STEPS, RECV_MAX_EARLY_DATA, SERVER_MAX_EARLY_DATA, SERVER_NAME, SESSIONS,
};

use self::driver::Run;
use crate::Side;

/// Feeds the scenario decoded from `data` to a real server (the peer is a real client).
/// Panics on a bug, with the violated oracle and the run's whole trace (see the module
/// documentation).
pub fn server_records(data: &[u8]) -> HarnessReport {
    or_panic(trace_records(Side::Server, data))
}

/// Feeds the scenario decoded from `data` to a real client (the peer is a real server).
/// Panics on a bug, with the violated oracle and the run's whole trace.
pub fn client_records(data: &[u8]) -> HarnessReport {
    or_panic(trace_records(Side::Client, data))
}

/// Runs the scenario decoded from `data` against `target` and returns its report, with
/// [`HarnessReport::violation`] set instead of panicking when an oracle fails (for
/// `zerortt replay`, which prints the trace either way). A panic inside the library still
/// unwinds out of this function.
pub fn trace_records(target: Side, data: &[u8]) -> HarnessReport {
    trace_scenario(target, RecordScenario::from_bytes(data))
}

/// Runs a decoded scenario against `target` and returns its report (as [`trace_records`]).
pub fn trace_scenario(target: Side, scenario: RecordScenario) -> HarnessReport {
    Run::new(target, scenario).execute()
}

/// Runs a decoded scenario against `target`, panicking on a bug: the typed entry of the
/// fuzz targets (`fuzz_target!(|s: RecordScenario| ...)`) and of bolero properties.
pub fn check_scenario(target: Side, scenario: RecordScenario) -> HarnessReport {
    or_panic(trace_scenario(target, scenario))
}

fn or_panic(report: HarnessReport) -> HarnessReport {
    if let Some(v) = &report.violation {
        panic!("{v}\n--- trace (the same input replays this exactly) ---\n{report}");
    }
    report
}
