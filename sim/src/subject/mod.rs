//! Subjects: the TLS stack under test is a choice of the scenario (DESIGN.md, "Subjects").
//!
//! The world's client, server and attacker drive a [`Subject`] only: the man page's
//! early-data API (`write_early_data`, `read_early_data` → Success | Finish,
//! `do_handshake`, `read`, `write`, `early_data_status`, close_notify), bytes in and out,
//! the sessions a full handshake yields, and the events the invariants and the timing
//! report read. The vocabulary is zerortt-core's ([`ReadEarlyData`], [`EarlyDataStatus`],
//! [`ApiMisuse`], [`Event`]) because it is the man page's; another stack maps its own
//! results onto it. A knob a stack lacks is a [`Knob`] missing from its capabilities, and a
//! scenario that needs it is refused by name, never run with the knob silently ignored.

pub mod openssl_conn;
pub mod openssl_stack;
pub mod rustls_conn;
pub mod rustls_stack;
pub mod zerortt;

use serde::{Deserialize, Serialize};
use std::fmt;
use zerortt_core::time::Timestamp;
use zerortt_core::{ApiMisuse, ConnError, EarlyDataStatus, Event, ReadEarlyData};

/// A TLS stack that can sit on either side of a scenario.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Stack {
    /// zerortt-core, this workspace's engine.
    #[default]
    Zerortt,
    /// rustls 0.23 with the ring provider, made deterministic (see [`rustls_stack`]).
    Rustls,
    /// The system OpenSSL 3, the library the man page describes, made as deterministic as
    /// it allows (see [`openssl_stack`]).
    Openssl,
}

impl Stack {
    /// Every stack, in the order tables list them.
    pub const ALL: [Stack; 3] = [Stack::Zerortt, Stack::Rustls, Stack::Openssl];

    /// The name users type (`--client-stack rustls`, `stack = "rustls"`).
    pub fn name(self) -> &'static str {
        match self {
            Stack::Zerortt => "zerortt",
            Stack::Rustls => "rustls",
            Stack::Openssl => "openssl",
        }
    }

    /// Parses a name; the error names the valid ones.
    pub fn parse(name: &str) -> Result<Stack, String> {
        Stack::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| {
                let valid: Vec<_> = Stack::ALL.iter().map(|s| s.name()).collect();
                format!("unknown stack {name:?}; valid: {}", valid.join(", "))
            })
    }

    /// The knobs this stack supports, on the side given.
    pub fn supports(self, knob: Knob) -> bool {
        match self {
            // zerortt-core is TLS 1.3 only and offers X25519 only (see the README's
            // section on TLS 1.2).
            Stack::Zerortt => !matches!(
                knob,
                Knob::Tls12Client | Knob::Tls12AfterTickets | Knob::HelloRetryForKeyShare
            ),
            Stack::Rustls => rustls_supports(knob),
            Stack::Openssl => openssl_stack::supports(knob),
        }
    }
}

/// What rustls 0.23 can be asked to do: [`rustls_stack::CAPABILITIES`] holds the evidence
/// from rustls's code for each.
fn rustls_supports(knob: Knob) -> bool {
    use rustls_stack::Knob as R;
    let needs = match knob {
        Knob::RecvMaxEarlyData => R::RecvMaxEarlyData,
        Knob::AllowEarlyDataCallback => R::AllowEarlyDataCallback,
        Knob::ForcedHelloRetryRequest => R::ForcedHelloRetryRequest,
        // Stateless tickets (not single use); rustls then takes no early data at all.
        Knob::NoAntiReplay => R::StatelessTickets,
        Knob::TicketAgeTolerance => R::TicketAgeTolerance,
        Knob::StrikeRegister => R::StrikeRegister,
        Knob::ExternalPsk => R::ExternalPsk,
        // One ServerSessionMemoryCache shared by the cluster's configs.
        Knob::SharedSessionCache => R::StatefulTickets,
        // Not wired: a max_early_data_size lowered on a later config, an external store
        // with latency (StoresServerSessions could carry one), SSL_SESSION_set_max_early_data
        // (rustls sessions cannot be edited).
        Knob::MaxEarlyDataAfterTickets | Knob::ExternalSessionCache | Knob::SessionMaxEarlyData => {
            return false
        }
        // The subject's rustls is built without `tls12` and its provider offers X25519
        // only.
        Knob::Tls12Client | Knob::Tls12AfterTickets | Knob::HelloRetryForKeyShare => return false,
    };
    rustls_stack::supports(needs)
}

impl fmt::Display for Stack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scenario knob that a stack may lack. Each names the scenario field that needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Knob {
    /// `server.recv_max_early_data` differing from `server.max_early_data`
    /// (SSL_set_recv_max_early_data).
    RecvMaxEarlyData,
    /// `server.allow_early_data` other than "always" (SSL_CTX_set_allow_early_data_cb).
    AllowEarlyDataCallback,
    /// `server.hello_retry` (a HelloRetryRequest forced with a cookie).
    ForcedHelloRetryRequest,
    /// `server.no_anti_replay` (SSL_OP_NO_ANTI_REPLAY).
    NoAntiReplay,
    /// `server.max_early_data_after_tickets` (SSL_set_max_early_data lowered later).
    MaxEarlyDataAfterTickets,
    /// `server.ticket_age_tolerance_ms` other than the default.
    TicketAgeTolerance,
    /// `server.sharing = "strike_register"` (a ClientHello strike register).
    StrikeRegister,
    /// `server.sharing = "cache"` (one session cache for the cluster).
    SharedSessionCache,
    /// `server.sharing = "external_cache"` (SSL_CTX_sess_set_new_cb / remove_cb / get_cb).
    ExternalSessionCache,
    /// `server.external_psk` / a client offering an external PSK.
    ExternalPsk,
    /// `client.session_max_early_data` (SSL_SESSION_set_max_early_data).
    SessionMaxEarlyData,
    /// `client.tls12_only` (a client that speaks TLS 1.2 only).
    Tls12Client,
    /// `server.tls12_after_tickets` (a server downgraded to TLS 1.2 after issuing TLS 1.3
    /// tickets).
    Tls12AfterTickets,
    /// `server.hello_retry_for_key_share` (a HelloRetryRequest for a P-256 key share; the
    /// client must offer P-256 too).
    HelloRetryForKeyShare,
}

impl Knob {
    /// The scenario field that asks for this knob.
    pub fn field(self) -> &'static str {
        match self {
            Knob::RecvMaxEarlyData => "server.recv_max_early_data",
            Knob::AllowEarlyDataCallback => "server.allow_early_data",
            Knob::ForcedHelloRetryRequest => "server.hello_retry",
            Knob::NoAntiReplay => "server.no_anti_replay",
            Knob::MaxEarlyDataAfterTickets => "server.max_early_data_after_tickets",
            Knob::TicketAgeTolerance => "server.ticket_age_tolerance_ms",
            Knob::StrikeRegister => "server.sharing = \"strike_register\"",
            Knob::SharedSessionCache => "server.sharing = \"cache\"",
            Knob::ExternalSessionCache => "server.sharing = \"external_cache\"",
            Knob::ExternalPsk => "server.external_psk",
            Knob::SessionMaxEarlyData => "client.session_max_early_data",
            Knob::Tls12Client => "client.tls12_only",
            Knob::Tls12AfterTickets => "server.tls12_after_tickets",
            Knob::HelloRetryForKeyShare => "server.hello_retry_for_key_share",
        }
    }
}

/// Why a subject call did not complete: [`ConnError`] without zerortt-core's error type, so
/// that any stack can say it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectError {
    /// More bytes from the peer are needed.
    WantRead,
    /// The call is not allowed now; nothing happened.
    Misuse(ApiMisuse),
    /// The connection failed.
    Fatal {
        /// What the stack said.
        message: String,
        /// The man page's advice applies: retry on a new connection without early data
        /// (the peer aborted, or negotiated an older version after early data).
        retry_without_early_data: bool,
    },
    /// The peer closed the connection cleanly (close_notify).
    Closed,
    /// A client's early data phase was ended by the stack itself, not by the application:
    /// rustls sends EndOfEarlyData as soon as it has processed the server's flight, so later
    /// early writes are impossible there (zerortt-core and OpenSSL stay in the early phase
    /// until the application completes the handshake). Nothing was written; send the rest
    /// after the handshake.
    EarlyDataPhaseEnded,
}

impl SubjectError {
    /// SSL_read_early_data(3) NOTES: "Clients that encounter an aborted connection while
    /// sending early data may want to retry the connection without sending early data".
    pub fn should_retry_without_early_data(&self) -> bool {
        matches!(
            self,
            SubjectError::Fatal {
                retry_without_early_data: true,
                ..
            }
        )
    }
}

impl From<ConnError> for SubjectError {
    fn from(e: ConnError) -> Self {
        let retry_without_early_data = e.should_retry_without_early_data();
        match e {
            ConnError::WantRead => SubjectError::WantRead,
            ConnError::Misuse(m) => SubjectError::Misuse(m),
            ConnError::Closed => SubjectError::Closed,
            ConnError::Fatal(inner) => SubjectError::Fatal {
                retry_without_early_data,
                message: inner.to_string(),
            },
        }
    }
}

impl fmt::Display for SubjectError {
    // The same words as ConnError's Display, so traces read the same for every stack.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubjectError::WantRead => f.write_str("want read"),
            SubjectError::Misuse(m) => write!(f, "API misuse: {m}"),
            SubjectError::Fatal { message, .. } => write!(f, "fatal: {message}"),
            SubjectError::Closed => f.write_str("closed by peer"),
            SubjectError::EarlyDataPhaseEnded => f.write_str("early data phase ended by the stack"),
        }
    }
}

impl std::error::Error for SubjectError {}

/// A session a client can resume with, from a subject's full handshake.
#[derive(Clone, Debug)]
pub enum Session {
    /// A zerortt-core session (a ticket or an external PSK).
    Zerortt(zerortt_core::tickets::session::ClientSession),
    /// A rustls ticket.
    Rustls(rustls_conn::RustlsSession),
    /// An OpenSSL session (SSL_SESSION).
    Openssl(openssl_conn::OpensslSession),
}

impl Session {
    /// The session's max_early_data (SSL_SESSION_get_max_early_data).
    pub fn max_early_data(&self) -> u32 {
        match self {
            Session::Zerortt(s) => s.max_early_data(),
            Session::Rustls(s) => s.max_early_data(),
            Session::Openssl(s) => s.max_early_data(),
        }
    }
}

/// Where the applications that use a stack cut its output into socket writes
/// (`send(2)` calls). It matters on the wire: with Nagle on, a second small write waits
/// for the ACK of the first (RFC 9293 3.7.4), so two writes can cost a round trip where
/// one would not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WriteBoundaries {
    /// One write per API call: whatever a call produced is written before the next call
    /// (OpenSSL: the state machine flushes its buffering BIO at the end of each flight,
    /// `statem_flush`, and `SSL_write` writes its records through the BIO; so the
    /// NewSessionTicket a server sends when its handshake completes goes out in its own
    /// write, before the response the application writes next).
    #[default]
    PerCall,
    /// One write per application wake-up: everything queued since the last write
    /// (rustls: `write_tls` hands its whole send queue to one `write_vectored`, and its
    /// example servers call it once per readiness event, after processing the input
    /// and writing the response; tickets emitted while processing the client Finished
    /// leave with the response).
    PerWakeup,
}

/// One end of a TLS connection under test, client or server. The call order is the man
/// page's and zerortt-core's (`zerortt_core::conn` documents it); every call takes the
/// virtual time.
pub trait Subject {
    /// Hands in bytes from the peer; returns how many were taken (back-pressure).
    fn read_tls(&mut self, bytes: &[u8]) -> usize;
    /// Appends the bytes to send; returns how many.
    fn write_tls(&mut self, out: &mut Vec<u8>) -> usize;
    /// Bytes taken by `read_tls` and not yet processed.
    fn buffered_tls(&self) -> usize;
    /// What happened since the last call, in order.
    fn take_events(&mut self) -> Vec<Event>;
    /// `SSL_write_early_data`: client early data, or server 0.5-RTT data.
    fn write_early_data(&mut self, data: &[u8], now: Timestamp) -> Result<usize, SubjectError>;
    /// `SSL_read_early_data` (server).
    fn read_early_data(
        &mut self,
        buf: &mut [u8],
        now: Timestamp,
    ) -> Result<ReadEarlyData, SubjectError>;
    /// `SSL_do_handshake`.
    fn do_handshake(&mut self, now: Timestamp) -> Result<(), SubjectError>;
    /// `SSL_read_ex`.
    fn read(&mut self, buf: &mut [u8], now: Timestamp) -> Result<usize, SubjectError>;
    /// `SSL_write_ex`.
    fn write(&mut self, data: &[u8], now: Timestamp) -> Result<usize, SubjectError>;
    /// `SSL_get_early_data_status`.
    fn early_data_status(&self) -> EarlyDataStatus;
    /// `SSL_is_init_finished`.
    fn is_init_finished(&self) -> bool;
    /// Queues close_notify.
    fn send_close_notify(&mut self);
    /// The connection has failed (every later call fails).
    fn failed(&self) -> bool;
    /// Sessions (tickets) received by a client since the last call.
    fn take_new_sessions(&mut self) -> Vec<Session>;
    /// Where applications using this stack cut its output into socket writes; the
    /// simulated applications write exactly there.
    fn write_boundaries(&self) -> WriteBoundaries {
        WriteBoundaries::PerCall
    }
}
