//! The `server_records` and `client_records` targets: a configuration plus a sequence of
//! records fed to one side (the *target*) of a real client/server pair.
//!
//! # How records reach the target
//! The other side (the *peer*) is a real [`Connection`] too: it holds the keys. The
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
//! - `no_internal_error`: no call ever fails with [`Error::Internal`] ("should be impossible").
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

use super::HarnessRng;
use crate::codec::Codec;
use crate::conn::config::{ClientConfig, HelloRetryPolicy, ServerConfig};
use crate::conn::events::KeyEpoch;
use crate::crypto::key_schedule::{next_application_traffic_secret, Secret};
use crate::crypto::keylog::KeyLogLabel;
use crate::crypto::record_protection::{RecordDecrypter, RecordEncrypter};
use crate::crypto::suites::{self, HashAlgorithm, Tls13CipherSuite, ALL_CIPHER_SUITES};
use crate::error::Error;
use crate::identity::{test_identity, CertifiedKey};
use crate::msgs::enums::{AlertDescription, ContentType, HandshakeType};
use crate::msgs::handshake::{HandshakeMessage, HandshakePayload};
use crate::msgs::record::{MAX_FRAGMENT_LEN, RECORD_HEADER_LEN};
use crate::tickets::session::{ClientSession, ServerSessionValue};
use crate::time::Timestamp;
use crate::verify::ServerTrust;
use crate::{ConnError, Connection, EarlyDataStatus, Event, ReadEarlyData, Side};
use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// The SNI every harness client sends (a name the test certificates are valid for).
pub const SERVER_NAME: &str = "localhost";

/// The ALPN protocol of sessions issued with ALPN, and the one a `Same` run negotiates.
pub const ALPN_H2: &[u8] = b"h2";

/// Sessions a scenario can resume: (max_early_data the issuing server advertised, whether
/// ALPN `h2` was negotiated). Each comes from one real full handshake.
pub const SESSIONS: [(u32, bool); 5] = [
    (16384, false),
    (100, false),
    (0, false),
    (16384, true),
    (1, false),
];

/// The server's `max_early_data` choices (`SSL_CTX_set_max_early_data`).
pub const SERVER_MAX_EARLY_DATA: [u32; 4] = [16384, 0, 100, 1];

/// The server's `recv_max_early_data` choices (`SSL_CTX_set_recv_max_early_data`).
pub const RECV_MAX_EARLY_DATA: [u32; 5] = [16384, 0, 100, 16, 65536];

/// How far past the freshness tolerance a `late_client_hello` arrives.
pub const LATE_BY_MORE_THAN_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(1);

/// Most steps decoded from one input.
pub const MAX_STEPS: usize = 64;

/// Rounds of the final phase that completes the handshake after the steps.
const DRAIN_ROUNDS: usize = 12;

/// A protected record's content type byte plus its 16-byte AEAD tag (every suite here).
const MIN_PROTECTED_OVERHEAD: usize = 1 + 16;

/// Most iterations of one read loop (each reads up to 16 KiB).
const READ_LOOP_MAX: usize = 16;

/// Which ALPN protocols the run's client and server configure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlpnChoice {
    /// No ALPN on either side.
    Off,
    /// Both configure `h2`.
    Same,
    /// The client offers `h2` and `http/1.1`, the server only `http/1.1`.
    Other,
}

/// Which keys a structured record is protected with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EpochChoice {
    /// client_early_traffic_secret.
    Early,
    /// The sender's handshake traffic secret.
    Handshake,
    /// The sender's current application traffic secret.
    Application,
}

/// An application call on one side (the man page's API).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppCall {
    /// `write_early_data` of this many bytes.
    WriteEarlyData(u16),
    /// `read_early_data` until it stops returning data.
    ReadEarlyData,
    /// `do_handshake`.
    DoHandshake,
    /// `read` until it stops returning data.
    Read,
    /// `write` of this many bytes.
    Write(u16),
    /// `process_new_packets`.
    ProcessNewPackets,
    /// `send_close_notify`.
    CloseNotify,
}

/// One step of a scenario. "Target" is the side the records are fed to, "peer" the other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// These bytes, as they are.
    Raw(Vec<u8>),
    /// The next `n` records the peer sent, re-encrypted in order.
    Forward(u8),
    /// Discard the next record the peer sent.
    Drop,
    /// An application_data record of `len` bytes under `epoch` keys ("an early data record
    /// of N bytes" when `Early`).
    AppData {
        /// The keys.
        epoch: EpochChoice,
        /// Plaintext bytes (at most 2^14).
        len: u16,
    },
    /// EndOfEarlyData with `body_len` bytes of body (a valid one has none), under the early
    /// keys (toward a server) or the handshake keys (toward a client).
    EndOfEarlyData {
        /// Bytes of body.
        body_len: u8,
    },
    /// The peer's Finished (or, if it has not sent one, a made-up one), with its last MAC
    /// byte flipped if `wrong_mac`.
    Finished {
        /// Flip a bit of verify_data.
        wrong_mac: bool,
    },
    /// The peer's first hello record again: a second ClientHello toward a server, a second
    /// ServerHello (or HelloRetryRequest) toward a client.
    SecondHello,
    /// The k-th record delivered so far (modulo their number), again.
    Replay(u8),
    /// A KeyUpdate under the application keys; the harness follows the key change.
    KeyUpdate {
        /// update_requested.
        request: bool,
    },
    /// An application call on the client.
    ClientCall(AppCall),
    /// An application call on the server.
    ServerCall(AppCall),
}

/// A decoded input: configuration knobs plus steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordScenario {
    /// Index into [`SESSIONS`] of the session the client resumes; `None` for a full
    /// handshake.
    pub session: Option<usize>,
    /// The server's max_early_data.
    pub max_early_data: u32,
    /// The server's recv_max_early_data.
    pub recv_max_early_data: u32,
    /// `SSL_OP_NO_ANTI_REPLAY` on the server.
    pub no_anti_replay: bool,
    /// The server answers the first ClientHello with a HelloRetryRequest.
    pub hrr: bool,
    /// The client uses middlebox compatibility mode (ChangeCipherSpec records).
    pub middlebox_compat: bool,
    /// The server's clock runs the freshness tolerance plus [`LATE_BY_MORE_THAN_TOLERANCE`]
    /// ahead of the client's: the ClientHello looks delayed past the window, like a late
    /// replay, so the server must reject early data (RFC 9846 8.3).
    pub late_client_hello: bool,
    /// The harness flips the last bit of every ClientHello's last PSK binder on the wire:
    /// an attacker who knows a ticket's identity but not its PSK.
    pub forged_binder: bool,
    /// ALPN configuration.
    pub alpn: AlpnChoice,
    /// Index into [`ALL_CIPHER_SUITES`] of the suite the server negotiates.
    pub suite: usize,
    /// The client's first call: `write_early_data` of this many bytes, or `do_handshake`
    /// if 0.
    pub client_early_data: u16,
    /// The server's first call is `read_early_data` (else `do_handshake`, which refuses
    /// early data).
    pub server_reads_early_data: bool,
    /// The steps.
    pub steps: Vec<Step>,
}

impl Default for RecordScenario {
    /// The happy path: a 0-RTT resumption with 16 KiB limits and no steps.
    fn default() -> Self {
        Self::from_bytes(&[])
    }
}

/// A deterministic reader over the input: past the end it yields zeros, so every input
/// (including the empty one) is a scenario.
struct ByteSource<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> ByteSource<'a> {
    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at = self.at.saturating_add(1);
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let start = self.at.min(self.data.len());
        let end = start.saturating_add(n).min(self.data.len());
        self.at = self.at.saturating_add(n);
        self.data[start..end].to_vec()
    }

    fn exhausted(&self) -> bool {
        self.at >= self.data.len()
    }
}

impl AppCall {
    fn decode(src: &mut ByteSource<'_>) -> Self {
        match src.u8() % 7 {
            0 => Self::WriteEarlyData(src.u16()),
            1 => Self::ReadEarlyData,
            2 => Self::DoHandshake,
            3 => Self::Read,
            4 => Self::Write(src.u16()),
            5 => Self::ProcessNewPackets,
            _ => Self::CloseNotify,
        }
    }

    fn encode(self, out: &mut Vec<u8>) {
        match self {
            Self::WriteEarlyData(n) => {
                out.push(0);
                out.extend_from_slice(&n.to_be_bytes());
            }
            Self::ReadEarlyData => out.push(1),
            Self::DoHandshake => out.push(2),
            Self::Read => out.push(3),
            Self::Write(n) => {
                out.push(4);
                out.extend_from_slice(&n.to_be_bytes());
            }
            Self::ProcessNewPackets => out.push(5),
            Self::CloseNotify => out.push(6),
        }
    }
}

impl Step {
    fn decode(src: &mut ByteSource<'_>) -> Self {
        match src.u8() % 11 {
            0 => {
                let n = usize::from(src.u16());
                Self::Raw(src.bytes(n))
            }
            1 => Self::Forward(src.u8() % 8 + 1),
            2 => Self::Drop,
            3 => Self::AppData {
                epoch: match src.u8() % 3 {
                    0 => EpochChoice::Early,
                    1 => EpochChoice::Handshake,
                    _ => EpochChoice::Application,
                },
                len: src.u16(),
            },
            4 => Self::EndOfEarlyData { body_len: src.u8() },
            5 => Self::Finished {
                wrong_mac: src.u8() & 1 == 1,
            },
            6 => Self::SecondHello,
            7 => Self::Replay(src.u8()),
            8 => Self::KeyUpdate {
                request: src.u8() & 1 == 1,
            },
            9 => Self::ClientCall(AppCall::decode(src)),
            _ => Self::ServerCall(AppCall::decode(src)),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Raw(bytes) => {
                out.push(0);
                let n = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
                out.extend_from_slice(&n.to_be_bytes());
                out.extend_from_slice(bytes.get(..usize::from(n)).unwrap_or(bytes));
            }
            Self::Forward(n) => out.extend_from_slice(&[1, n.saturating_sub(1) % 8]),
            Self::Drop => out.push(2),
            Self::AppData { epoch, len } => {
                let e = match epoch {
                    EpochChoice::Early => 0,
                    EpochChoice::Handshake => 1,
                    EpochChoice::Application => 2,
                };
                out.extend_from_slice(&[3, e]);
                out.extend_from_slice(&len.to_be_bytes());
            }
            Self::EndOfEarlyData { body_len } => out.extend_from_slice(&[4, *body_len]),
            Self::Finished { wrong_mac } => out.extend_from_slice(&[5, u8::from(*wrong_mac)]),
            Self::SecondHello => out.push(6),
            Self::Replay(k) => out.extend_from_slice(&[7, *k]),
            Self::KeyUpdate { request } => out.extend_from_slice(&[8, u8::from(*request)]),
            Self::ClientCall(call) => {
                out.push(9);
                call.encode(out);
            }
            Self::ServerCall(call) => {
                out.push(10);
                call.encode(out);
            }
        }
    }
}

fn index_of<T: PartialEq>(table: &[T], v: &T) -> u8 {
    table
        .iter()
        .position(|t| t == v)
        .and_then(|i| u8::try_from(i).ok())
        .unwrap_or(0)
}

impl RecordScenario {
    /// Decodes any bytes into a scenario (total: missing bytes read as zero). Layout: one
    /// byte each for session, max_early_data, recv_max_early_data, flags (bits: no_anti_replay,
    /// hrr, middlebox_compat, alpn (two), !server_reads_early_data, late_client_hello,
    /// forged_binder) and suite; a u16
    /// for the client's first early write; then steps, one opcode byte plus arguments.
    pub fn from_bytes(data: &[u8]) -> Self {
        let mut src = ByteSource { data, at: 0 };
        let session = usize::from(src.u8()) % (SESSIONS.len() + 1);
        let max_early_data =
            SERVER_MAX_EARLY_DATA[usize::from(src.u8()) % SERVER_MAX_EARLY_DATA.len()];
        let recv_max_early_data =
            RECV_MAX_EARLY_DATA[usize::from(src.u8()) % RECV_MAX_EARLY_DATA.len()];
        let flags = src.u8();
        let suite = usize::from(src.u8()) % ALL_CIPHER_SUITES.len();
        let client_early_data = src.u16();
        let mut steps = Vec::new();
        while !src.exhausted() && steps.len() < MAX_STEPS {
            steps.push(Step::decode(&mut src));
        }
        Self {
            session: (session < SESSIONS.len()).then_some(session),
            max_early_data,
            recv_max_early_data,
            no_anti_replay: flags & 1 != 0,
            hrr: flags & 2 != 0,
            middlebox_compat: flags & 4 != 0,
            late_client_hello: flags & 0x40 != 0,
            forged_binder: flags & 0x80 != 0,
            alpn: match (flags >> 3) % 4 {
                1 => AlpnChoice::Same,
                2 => AlpnChoice::Other,
                _ => AlpnChoice::Off,
            },
            server_reads_early_data: flags & 0x20 == 0,
            suite,
            client_early_data,
            steps,
        }
    }

    /// The bytes [`RecordScenario::from_bytes`] decodes back to this scenario (for the seed
    /// corpus). Values outside the tables encode as the tables' first entries.
    pub fn to_bytes(&self) -> Vec<u8> {
        let session = self
            .session
            .filter(|i| *i < SESSIONS.len())
            .unwrap_or(SESSIONS.len());
        let mut flags = 0u8;
        flags |= u8::from(self.no_anti_replay);
        flags |= u8::from(self.hrr) << 1;
        flags |= u8::from(self.middlebox_compat) << 2;
        flags |= match self.alpn {
            AlpnChoice::Off => 0,
            AlpnChoice::Same => 1,
            AlpnChoice::Other => 2,
        } << 3;
        flags |= u8::from(!self.server_reads_early_data) << 5;
        flags |= u8::from(self.late_client_hello) << 6;
        flags |= u8::from(self.forged_binder) << 7;
        let mut out = vec![
            u8::try_from(session).unwrap_or(0),
            index_of(&SERVER_MAX_EARLY_DATA, &self.max_early_data),
            index_of(&RECV_MAX_EARLY_DATA, &self.recv_max_early_data),
            flags,
            u8::try_from(self.suite % ALL_CIPHER_SUITES.len()).unwrap_or(0),
        ];
        out.extend_from_slice(&self.client_early_data.to_be_bytes());
        for step in self.steps.iter().take(MAX_STEPS) {
            step.encode(&mut out);
        }
        out
    }
}

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
    Run::new(target, RecordScenario::from_bytes(data)).execute()
}

fn or_panic(report: HarnessReport) -> HarnessReport {
    if let Some(v) = &report.violation {
        panic!("{v}\n--- trace (the same input replays this exactly) ---\n{report}");
    }
    report
}

// ----- fixture: identities and sessions, computed once ----------------------------------

/// A resumable session: the client's half and the server's cache entry.
#[derive(Clone)]
struct SessionPair {
    client: ClientSession,
    server: ServerSessionValue,
}

struct Fixture {
    identity: CertifiedKey,
    trust: ServerTrust,
    sessions: Vec<SessionPair>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let identity = test_identity::ed25519();
        let trust = ServerTrust::test_ca();
        let sessions = SESSIONS
            .iter()
            .enumerate()
            .map(|(i, (max, alpn))| issue_session(&identity, &trust, *max, *alpn, i as u64))
            .collect();
        Fixture {
            identity,
            trust,
            sessions,
        }
    })
}

/// One full handshake; returns its first ticket and the server's cache entry for it.
fn issue_session(
    identity: &CertifiedKey,
    trust: &ServerTrust,
    max_early_data: u32,
    alpn: bool,
    seed: u64,
) -> SessionPair {
    let now = Timestamp::SIM_EPOCH;
    let protocols = if alpn {
        vec![ALPN_H2.to_vec()]
    } else {
        Vec::new()
    };
    let mut sc = ServerConfig::new(identity.clone());
    sc.alpn_protocols = protocols.clone();
    sc.set_max_early_data(max_early_data);
    let sc = Arc::new(sc);
    let mut cc = ClientConfig::new(trust.clone());
    cc.alpn_protocols = protocols;
    let mut client = Connection::client(
        Arc::new(cc),
        SERVER_NAME,
        None,
        Box::new(HarnessRng::new(seed)),
    );
    let mut server = Connection::server(sc.clone(), Box::new(HarnessRng::new(seed ^ 0x5eed)));
    let mut wire = Vec::new();
    let mut buf = vec![0u8; 1024];
    for _ in 0..8 {
        let _ = client.do_handshake(now);
        client.write_tls(&mut wire);
        server.read_tls(&wire);
        wire.clear();
        let _ = server.do_handshake(now);
        server.write_tls(&mut wire);
        client.read_tls(&wire);
        wire.clear();
        let _ = client.read(&mut buf, now);
        if client.is_init_finished() && server.is_init_finished() {
            break;
        }
    }
    let client_session = client.take_new_sessions().into_iter().next();
    let server_value = client_session.as_ref().and_then(|s| {
        sc.session_cache
            .lock()
            .ok()
            .and_then(|c| c.get(&s.ticket, now).cloned())
    });
    match (client_session, server_value) {
        (Some(client), Some(server)) => SessionPair { client, server },
        _ => panic!(
            "oracle fixture: a full handshake issued no usable ticket (max_early_data \
             {max_early_data}, alpn {alpn}): client {client:?} server {server:?}"
        ),
    }
}

// ----- the run -------------------------------------------------------------------------

/// A record the peer sent, decrypted.
#[derive(Clone, Debug)]
struct PeerRecord {
    epoch: KeyEpoch,
    typ: ContentType,
    content: Vec<u8>,
    wire: Vec<u8>,
}

/// Keys of one epoch in the peer-to-target direction: a decrypter for what the peer sends
/// and an encrypter (with the harness's own sequence numbers) for what the target gets.
struct Lane {
    suite: &'static Tls13CipherSuite,
    from_peer: RecordDecrypter,
    peer_secret: Secret,
    to_target: RecordEncrypter,
    target_secret: Secret,
}

impl Lane {
    fn new(suite: &'static Tls13CipherSuite, secret: &[u8]) -> Option<Self> {
        let secret = Secret::from_bytes(suite.hash, secret)?;
        Some(Self {
            suite,
            from_peer: RecordDecrypter::new(suite, &secret).ok()?,
            peer_secret: secret.clone(),
            to_target: RecordEncrypter::new(suite, &secret).ok()?,
            target_secret: secret,
        })
    }
}

/// Keys nobody holds: records under them are well-formed garbage to the target.
fn dummy_encrypter() -> Option<RecordEncrypter> {
    let secret = Secret::from_bytes(HashAlgorithm::Sha256, &[0x42; 32])?;
    RecordEncrypter::new(&suites::TLS13_AES_128_GCM_SHA256, &secret).ok()
}

struct Run {
    target: Side,
    scenario: RecordScenario,
    /// The client's clock, and the server's (later with `late_client_hello`).
    now: Timestamp,
    server_now: Timestamp,
    /// ClientHellos whose binder the harness forged so far.
    forged_hellos: usize,
    /// The server emitted EarlyDataAccepted.
    server_accepted_early_data: bool,
    /// Whether the first EndOfEarlyData delivered to a server target under the real early
    /// keys had a body: the only one a server can end its early data with (later ones, and
    /// any under other keys or in plaintext, are refused whatever their body).
    first_early_eoed_body: Option<bool>,
    /// The last handshake message the server reported receiving.
    server_last_handshake: Option<HandshakeType>,
    /// The server's configuration (its session cache holds the run's ticket).
    server_config: Arc<ServerConfig>,
    client: Connection,
    server: Connection,
    negotiated: &'static Tls13CipherSuite,
    session_suite: Option<&'static Tls13CipherSuite>,
    /// Early, handshake, application.
    lanes: [Option<Lane>; 3],
    pending: VecDeque<PeerRecord>,
    /// Bytes waiting for the target's / the peer's read_tls (bounded buffers push back).
    to_target: Vec<u8>,
    to_peer: Vec<u8>,
    delivered: Vec<Vec<u8>>,
    first_hello: Option<Vec<u8>>,
    /// The sticky error of each side (client, server) once seen.
    sticky: [Option<Error>; 2],
    early_sent: Vec<u8>,
    early_read: Vec<u8>,
    /// Application data sent to / read by (client, server).
    app_sent: [Vec<u8>; 2],
    app_read: [Vec<u8>; 2],
    early_received_total: usize,
    early_written_total: usize,
    /// Application data bytes each side has decrypted (from its RecordReceived events;
    /// every protected record here has no padding), and that count when it received
    /// close_notify.
    app_received: [usize; 2],
    close_cutoff: [Option<usize>; 2],
    client_early_phase: bool,
    server_early_finished: bool,
    pattern_at: u64,
    read_buf: Vec<u8>,
    /// The first oracle violation; the run stops at the end of the step that found it.
    violation: Option<String>,
    /// Bytes taken by either side's read_tls so far (progress of the final phase).
    moved: usize,
    trace: Vec<TraceEntry>,
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}

fn other(side: Side) -> Side {
    match side {
        Side::Client => Side::Server,
        Side::Server => Side::Client,
    }
}

fn lane_index(epoch: KeyEpoch) -> Option<usize> {
    match epoch {
        KeyEpoch::Early => Some(0),
        KeyEpoch::Handshake => Some(1),
        KeyEpoch::Application => Some(2),
        KeyEpoch::Plaintext => None,
    }
}

/// Splits a byte stream into records (an incomplete tail is one last chunk).
fn split_records(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let len = match rest.get(3..5) {
            Some(l) => RECORD_HEADER_LEN + usize::from(u16::from_be_bytes([l[0], l[1]])),
            None => rest.len(),
        };
        let (head, tail) = rest.split_at(len.min(rest.len()));
        out.push(head.to_vec());
        rest = tail;
    }
    out
}

fn format_result<T: fmt::Debug>(r: &Result<T, ConnError>) -> String {
    match r {
        Ok(v) => format!("Ok({v:?})"),
        Err(e) => format!("Err({e})"),
    }
}

impl Run {
    fn new(target: Side, scenario: RecordScenario) -> Self {
        let fx = fixture();
        let now = Timestamp::SIM_EPOCH;
        let negotiated = ALL_CIPHER_SUITES
            .get(scenario.suite)
            .copied()
            .unwrap_or(&suites::TLS13_AES_128_GCM_SHA256);
        let session = scenario.session.and_then(|i| fx.sessions.get(i));
        let session_suite = session.and_then(|s| suites::lookup(s.client.suite));

        let (client_alpn, server_alpn) = match scenario.alpn {
            AlpnChoice::Off => (vec![], vec![]),
            AlpnChoice::Same => (vec![ALPN_H2.to_vec()], vec![ALPN_H2.to_vec()]),
            AlpnChoice::Other => (
                vec![ALPN_H2.to_vec(), b"http/1.1".to_vec()],
                vec![b"http/1.1".to_vec()],
            ),
        };
        let mut sc = ServerConfig::new(fx.identity.clone());
        sc.cipher_suites = vec![negotiated];
        sc.alpn_protocols = server_alpn;
        sc.set_max_early_data(scenario.max_early_data);
        sc.set_recv_max_early_data(scenario.recv_max_early_data);
        sc.set_no_anti_replay(scenario.no_anti_replay);
        if scenario.hrr {
            sc.hello_retry = HelloRetryPolicy::AlwaysWithCookie;
        }
        let server_now = match scenario.late_client_hello {
            true => now
                .saturating_add(sc.ticket_age_tolerance)
                .saturating_add(LATE_BY_MORE_THAN_TOLERANCE),
            false => now,
        };
        if let Some(s) = session {
            if let Ok(mut cache) = sc.session_cache.lock() {
                let _evicted = cache.insert(s.client.ticket.clone(), s.server.clone(), now);
            }
        }
        let mut cc = ClientConfig::new(fx.trust.clone());
        cc.cipher_suites = vec![negotiated];
        if let Some(s) = session_suite.filter(|s| *s != negotiated) {
            cc.cipher_suites.push(s);
        }
        cc.alpn_protocols = client_alpn;
        cc.middlebox_compat = scenario.middlebox_compat;

        let client = Connection::client(
            Arc::new(cc),
            SERVER_NAME,
            session.map(|s| s.client.clone()),
            Box::new(HarnessRng::new(1)),
        );
        let server_config = Arc::new(sc);
        let server = Connection::server(server_config.clone(), Box::new(HarnessRng::new(2)));
        Self {
            target,
            scenario,
            now,
            server_now,
            forged_hellos: 0,
            server_accepted_early_data: false,
            first_early_eoed_body: None,
            server_last_handshake: None,
            server_config,
            client,
            server,
            negotiated,
            session_suite,
            lanes: [None, None, None],
            pending: VecDeque::new(),
            to_target: Vec::new(),
            to_peer: Vec::new(),
            delivered: Vec::new(),
            first_hello: None,
            sticky: [None, None],
            early_sent: Vec::new(),
            early_read: Vec::new(),
            app_sent: [Vec::new(), Vec::new()],
            app_read: [Vec::new(), Vec::new()],
            early_received_total: 0,
            early_written_total: 0,
            app_received: [0, 0],
            close_cutoff: [None, None],
            client_early_phase: false,
            server_early_finished: false,
            pattern_at: 0,
            moved: 0,
            read_buf: Vec::new(),
            violation: None,
            trace: Vec::new(),
        }
    }

    fn conn(&mut self, side: Side) -> &mut Connection {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    fn peer(&self) -> Side {
        other(self.target)
    }

    /// The server's limit: min(session max_early_data, recv_max_early_data), 0 without a
    /// session.
    fn server_limit(&self) -> usize {
        let session_max = self
            .scenario
            .session
            .and_then(|i| fixture().sessions.get(i))
            .map_or(0, |s| s.server.max_early_data);
        session_max.min(self.scenario.recv_max_early_data) as usize
    }

    /// Why the scenario forbids accepting early data, if it does: the rules of
    /// SSL_read_early_data(3) and RFC 9846 4.2.10 / 8.3 applied to the knobs alone.
    fn early_data_forbidden(&self) -> Option<String> {
        let Some(session) = self
            .scenario
            .session
            .and_then(|i| fixture().sessions.get(i))
        else {
            return Some("no session was offered".into());
        };
        let session_alpn = session.server.alpn.as_deref();
        let negotiated_alpn: Option<&[u8]> = match self.scenario.alpn {
            AlpnChoice::Off => None,
            AlpnChoice::Same => Some(ALPN_H2),
            AlpnChoice::Other => Some(b"http/1.1"),
        };
        let rules = [
            (
                session.server.max_early_data == 0,
                "the ticket's max_early_data is 0",
            ),
            (
                self.scenario.max_early_data == 0,
                "the server's max_early_data is 0",
            ),
            (
                session.server.suite != self.negotiated.suite,
                "the negotiated cipher suite is not the session's (RFC 9846 4.2.10)",
            ),
            (
                session_alpn != negotiated_alpn,
                "the negotiated ALPN protocol is not the session's (RFC 9846 4.2.10)",
            ),
            (
                self.scenario.hrr,
                "it sent a HelloRetryRequest (RFC 9846 4.2.10)",
            ),
            (
                self.scenario.late_client_hello,
                "the ClientHello came later than the ticket age tolerance (RFC 9846 8.3)",
            ),
            (self.forged_hellos > 0, "the PSK binder was forged"),
        ];
        rules
            .iter()
            .find(|(broken, _)| *broken)
            .map(|(_, why)| (*why).to_string())
    }

    /// Single-use tickets: the server has max_early_data > 0 and no SSL_OP_NO_ANTI_REPLAY.
    fn anti_replay(&self) -> bool {
        self.scenario.max_early_data > 0 && !self.scenario.no_anti_replay
    }

    /// The session cache still holds the run's ticket.
    fn ticket_still_cached(&self) -> bool {
        let Some(session) = self
            .scenario
            .session
            .and_then(|i| fixture().sessions.get(i))
        else {
            return false;
        };
        self.server_config
            .session_cache
            .lock()
            .is_ok_and(|c| c.contains(&session.client.ticket, self.server_now))
    }

    /// The run only forwarded records (no steps but `Forward`), forged nothing, and sent no
    /// more early data than recv_max_early_data (more is a legitimate abort: "too much early
    /// data", or the skip budget).
    fn honest_exchange(&self) -> bool {
        let early = usize::from(self.scenario.client_early_data).min(self.session_max());
        self.scenario
            .steps
            .iter()
            .all(|s| matches!(s, Step::Forward(_)))
            && !self.scenario.forged_binder
            && early <= self.scenario.recv_max_early_data as usize
    }

    fn session_max(&self) -> usize {
        self.scenario
            .session
            .and_then(|i| fixture().sessions.get(i))
            .map_or(0, |s| s.client.max_early_data() as usize)
    }

    fn execute(mut self) -> HarnessReport {
        // The first I/O calls decide whether early data is offered and read.
        let first_client = if self.scenario.client_early_data > 0 {
            AppCall::WriteEarlyData(self.scenario.client_early_data)
        } else {
            AppCall::DoHandshake
        };
        let first_server = if self.scenario.server_reads_early_data {
            AppCall::ReadEarlyData
        } else {
            AppCall::DoHandshake
        };
        self.call(Side::Server, first_server);
        self.call(Side::Client, first_client);
        self.pump();

        let steps = std::mem::take(&mut self.scenario.steps);
        for (index, step) in steps.iter().enumerate() {
            self.trace.push(TraceEntry::Step {
                index,
                step: step.clone(),
            });
            self.step(step);
            self.pump();
            if self.violation.is_some() {
                break;
            }
        }
        self.scenario.steps = steps;
        if self.violation.is_some() {
            return self.report();
        }

        self.trace.push(TraceEntry::Drain);
        for _ in 0..DRAIN_ROUNDS {
            let before = self.moved;
            while !self.pending.is_empty() {
                self.forward_one();
            }
            self.pump();
            let peer = self.peer();
            self.finish_call(peer);
            self.finish_call(self.target);
            self.pump();
            if self.violation.is_some() || (self.pending.is_empty() && self.moved == before) {
                break;
            }
        }
        if self.violation.is_none() {
            self.final_oracles();
        }
        self.report()
    }

    // ----- steps ------------------------------------------------------------------------

    fn step(&mut self, step: &Step) {
        match step {
            Step::Raw(bytes) => self.deliver(bytes.clone(), "raw bytes".into(), None),
            Step::Forward(n) => {
                for _ in 0..*n {
                    self.forward_one();
                }
            }
            Step::Drop => {
                let _ = self.pending.pop_front();
            }
            Step::AppData { epoch, len } => {
                let len = usize::from(*len).min(MAX_FRAGMENT_LEN);
                let content = self.pattern(len);
                let epoch = match epoch {
                    EpochChoice::Early => KeyEpoch::Early,
                    EpochChoice::Handshake => KeyEpoch::Handshake,
                    EpochChoice::Application => KeyEpoch::Application,
                };
                self.send_protected(epoch, ContentType::ApplicationData, content, "made-up");
            }
            Step::EndOfEarlyData { body_len } => {
                let mut content = vec![HandshakeType::EndOfEarlyData.get(), 0, 0, *body_len];
                content.resize(4 + usize::from(*body_len), 0);
                let epoch = match self.target {
                    Side::Server => KeyEpoch::Early,
                    Side::Client => KeyEpoch::Handshake,
                };
                self.send_protected(epoch, ContentType::Handshake, content, "made-up");
            }
            Step::Finished { wrong_mac } => self.finished(*wrong_mac),
            Step::SecondHello => {
                if let Some(hello) = self.first_hello.clone() {
                    self.deliver(hello, "the first hello again".into(), None);
                }
            }
            Step::Replay(k) => {
                if !self.delivered.is_empty() {
                    let i = usize::from(*k) % self.delivered.len();
                    let wire = self.delivered[i].clone();
                    self.deliver(wire, format!("replay of delivery #{i}"), None);
                }
            }
            Step::KeyUpdate { request } => {
                let content = vec![HandshakeType::KeyUpdate.get(), 0, 0, 1, u8::from(*request)];
                let keyed = self.lanes[2].is_some();
                self.send_protected(
                    KeyEpoch::Application,
                    ContentType::Handshake,
                    content,
                    "made-up",
                );
                if let Some(lane) = self.lanes[2].as_mut().filter(|_| keyed) {
                    // RFC 9846 4.7.3: the sender's next record uses the next secret.
                    lane.target_secret = next_application_traffic_secret(&lane.target_secret);
                    if let Ok(enc) = RecordEncrypter::new(lane.suite, &lane.target_secret) {
                        lane.to_target = enc;
                    }
                }
            }
            Step::ClientCall(call) => {
                self.call(Side::Client, *call);
            }
            Step::ServerCall(call) => {
                self.call(Side::Server, *call);
            }
        }
    }

    /// Deterministic application bytes that differ at every offset of the run, so that a
    /// duplicated or reordered chunk can never look like a prefix.
    fn pattern(&mut self, len: usize) -> Vec<u8> {
        let start = self.pattern_at;
        self.pattern_at = self.pattern_at.wrapping_add(len as u64);
        (0..len as u64)
            .map(|i| {
                let x = start.wrapping_add(i);
                (x ^ (x >> 8) ^ (x >> 16)).wrapping_mul(0x9e37_79b9) as u8
            })
            .collect()
    }

    fn finished(&mut self, wrong_mac: bool) {
        let at = self.pending.iter().position(|r| {
            r.typ == ContentType::Handshake
                && r.content.first() == Some(&HandshakeType::Finished.get())
        });
        let (epoch, mut content, what) = match at.and_then(|i| self.pending.remove(i)) {
            Some(r) => (r.epoch, r.content, "the peer's Finished"),
            None => {
                let len = self.negotiated.hash.output_len();
                let mut c = vec![HandshakeType::Finished.get(), 0, 0, len as u8];
                c.resize(4 + len, 0);
                (KeyEpoch::Handshake, c, "a made-up Finished")
            }
        };
        if wrong_mac {
            if let Some(last) = content.last_mut() {
                *last ^= 0x01;
            }
        }
        let what = if wrong_mac {
            format!("{what} with a wrong MAC")
        } else {
            what.to_string()
        };
        self.send_protected(epoch, ContentType::Handshake, content, &what);
    }

    /// Encrypts `content` under the target-bound keys of `epoch` (or keys nobody holds if
    /// the harness has none for it) and delivers it.
    fn send_protected(&mut self, epoch: KeyEpoch, typ: ContentType, content: Vec<u8>, what: &str) {
        let lane = lane_index(epoch).and_then(|i| self.lanes[i].as_mut());
        let (wire, keyed) = match lane {
            Some(lane) => (lane.to_target.encrypt(typ, &content, 0).ok(), true),
            None => (
                dummy_encrypter().and_then(|mut e| e.encrypt(typ, &content, 0).ok()),
                false,
            ),
        };
        let Some(wire) = wire else {
            return;
        };
        let eoed = typ == ContentType::Handshake
            && content.first() == Some(&HandshakeType::EndOfEarlyData.get());
        if keyed && eoed && epoch == KeyEpoch::Early && self.target == Side::Server {
            // `struct {} EndOfEarlyData;`: 4 bytes of header, nothing after (RFC 9846 4.6).
            let body = content.len() > 4;
            self.first_early_eoed_body.get_or_insert(body);
        }
        let keys = if keyed { "" } else { ", unknown keys" };
        let label = format!(
            "{what} {typ:?} record ({epoch:?}{keys}, {} bytes of content)",
            content.len()
        );
        let stream = (keyed && typ == ContentType::ApplicationData).then_some((epoch, content));
        self.deliver(wire, label, stream);
    }

    fn forward_one(&mut self) {
        let Some(r) = self.pending.pop_front() else {
            return;
        };
        if r.epoch == KeyEpoch::Plaintext {
            self.deliver(
                r.wire,
                format!("forwarded {:?} record (Plaintext)", r.typ),
                None,
            );
        } else {
            self.send_protected(r.epoch, r.typ, r.content, "forwarded");
        }
    }

    /// Hands bytes to the target. `stream` is (epoch, plaintext) of application data the
    /// harness sent under real keys, for the prefix oracles.
    fn deliver(&mut self, wire: Vec<u8>, what: String, stream: Option<(KeyEpoch, Vec<u8>)>) {
        self.trace.push(TraceEntry::Delivered {
            to: self.target,
            len: wire.len(),
            what,
        });
        match stream {
            Some((KeyEpoch::Early, data)) if self.target == Side::Server => {
                self.early_sent.extend_from_slice(&data)
            }
            Some((KeyEpoch::Application, data)) => {
                self.app_sent[side_index(self.target)].extend_from_slice(&data)
            }
            _ => {}
        }
        self.to_target.extend_from_slice(&wire);
        self.delivered.push(wire);
        self.offer(self.target);
    }

    /// Offers buffered bytes to `side`'s read_tls.
    fn offer(&mut self, side: Side) {
        let mut buf = match side == self.target {
            true => std::mem::take(&mut self.to_target),
            false => std::mem::take(&mut self.to_peer),
        };
        let sticky = self.sticky[side_index(side)].is_some();
        let n = self.conn(side).read_tls(&buf);
        if sticky && n > 0 {
            self.violate(format!(
            "oracle errors_are_sticky: {side:?} took {n} bytes with read_tls after a fatal error"
            ));
        }
        self.moved += n;
        buf.drain(..n.min(buf.len()));
        match side == self.target {
            true => self.to_target = buf,
            false => self.to_peer = buf,
        }
    }

    // ----- moving bytes and events ------------------------------------------------------

    /// Processes what was delivered: the target continues as its application would, its
    /// output goes to the peer, and the peer processes it.
    fn pump(&mut self) {
        for _ in 0..4 {
            self.offer(self.target);
            self.continue_call(self.target);
            self.collect_target();
            let peer = self.peer();
            self.offer(peer);
            self.call_logged(peer, AppCall::ProcessNewPackets, false);
            self.collect_peer();
            if self.to_target.is_empty() && self.to_peer.is_empty() {
                break;
            }
        }
    }

    /// The call an application makes next while the handshake is under way: a server
    /// reading early data keeps reading it; a client in its early phase reads (0.5-RTT)
    /// without finishing; otherwise do_handshake, then read.
    fn continue_call(&mut self, side: Side) {
        match side {
            Side::Server
                if self.scenario.server_reads_early_data && !self.server_early_finished =>
            {
                self.call(side, AppCall::ReadEarlyData);
            }
            Side::Client if self.client_early_phase => {
                self.call(side, AppCall::Read);
            }
            _ => {
                if self.call(side, AppCall::DoHandshake) {
                    self.call(side, AppCall::Read);
                }
            }
        }
    }

    /// The calls that complete the handshake: a client leaves its early phase.
    fn finish_call(&mut self, side: Side) {
        if side == Side::Client {
            self.client_early_phase = false;
        }
        self.continue_call(side);
    }

    fn collect_target(&mut self) {
        let side = self.target;
        let events = self.conn(side).take_events();
        self.record_events(side, events);
        let mut out = Vec::new();
        self.conn(side).write_tls(&mut out);
        if side == Side::Client && self.scenario.forged_binder {
            let mut forged = Vec::with_capacity(out.len());
            for mut wire in split_records(&out) {
                self.forge_binder(&mut wire);
                forged.extend_from_slice(&wire);
            }
            out = forged;
        }
        self.to_peer.extend_from_slice(&out);
    }

    /// With `forged_binder`, flips the last bit of `wire` if it is a record holding exactly
    /// one ClientHello that offers PSKs: that is the last byte of its last binder (RFC 9846
    /// 4.2.11: pre_shared_key is the last extension, binders its last field).
    fn forge_binder(&mut self, wire: &mut [u8]) {
        if !self.scenario.forged_binder || wire.first() != Some(&ContentType::Handshake.get()) {
            return;
        }
        let offers_psk = matches!(
            wire.get(RECORD_HEADER_LEN..).map(HandshakeMessage::read_bytes),
            Some(Ok(HandshakeMessage {
                payload: HandshakePayload::ClientHello(ch),
                ..
            })) if ch.psk_offer().is_some()
        );
        if let Some(last) = wire.last_mut().filter(|_| offers_psk) {
            *last ^= 0x01;
            self.forged_hellos += 1;
        }
    }

    /// Takes the peer's events (learning its secrets) and splits its output into decrypted
    /// records for the pending queue.
    fn collect_peer(&mut self) {
        let side = self.peer();
        let events = self.conn(side).take_events();
        let mut epochs = VecDeque::new();
        for e in &events {
            match e {
                Event::SecretDerived(entry) => self.learn_secret(entry.label, &entry.secret),
                Event::RecordSent { epoch, .. } => epochs.push_back(*epoch),
                _ => {}
            }
        }
        self.record_events(side, events);
        let mut out = Vec::new();
        self.conn(side).write_tls(&mut out);
        for mut wire in split_records(&out) {
            let epoch = epochs.pop_front().unwrap_or(KeyEpoch::Plaintext);
            if side == Side::Client && epoch == KeyEpoch::Plaintext {
                self.forge_binder(&mut wire);
            }
            let record = self.open_peer_record(epoch, wire);
            if record.epoch == KeyEpoch::Plaintext
                && record.typ == ContentType::Handshake
                && self.first_hello.is_none()
            {
                self.first_hello = Some(record.wire.clone());
            }
            self.pending.push_back(record);
        }
    }

    fn open_peer_record(&mut self, epoch: KeyEpoch, wire: Vec<u8>) -> PeerRecord {
        let typ = ContentType::from(wire.first().copied().unwrap_or(0));
        let raw = PeerRecord {
            epoch: KeyEpoch::Plaintext,
            typ,
            content: wire.get(RECORD_HEADER_LEN..).unwrap_or(&[]).to_vec(),
            wire: wire.clone(),
        };
        let Some(lane) = lane_index(epoch).and_then(|i| self.lanes[i].as_mut()) else {
            return raw;
        };
        let mut header = [0u8; RECORD_HEADER_LEN];
        match wire.get(..RECORD_HEADER_LEN) {
            Some(h) => header.copy_from_slice(h),
            None => return raw,
        }
        let Ok((typ, content)) = lane.from_peer.decrypt(&header, raw.content.as_slice()) else {
            return raw;
        };
        // The peer answers a KeyUpdate(update_requested) with its own and then sends under
        // its next secret (RFC 9846 4.7.3).
        if typ == ContentType::Handshake && content.first() == Some(&HandshakeType::KeyUpdate.get())
        {
            lane.peer_secret = next_application_traffic_secret(&lane.peer_secret);
            if let Ok(dec) = RecordDecrypter::new(lane.suite, &lane.peer_secret) {
                lane.from_peer = dec;
            }
        }
        PeerRecord {
            epoch,
            typ,
            content,
            wire,
        }
    }

    /// Installs the peer-to-target keys of an epoch when the peer logs its secret.
    fn learn_secret(&mut self, label: KeyLogLabel, secret: &[u8]) {
        use KeyLogLabel as L;
        let (index, suite) = match (self.target, label) {
            (Side::Server, L::ClientEarlyTrafficSecret) => (0, self.session_suite),
            (Side::Server, L::ClientHandshakeTrafficSecret)
            | (Side::Client, L::ServerHandshakeTrafficSecret) => (1, Some(self.negotiated)),
            (Side::Server, L::ClientTrafficSecret0) | (Side::Client, L::ServerTrafficSecret0) => {
                (2, Some(self.negotiated))
            }
            _ => return,
        };
        if let Some(lane) = suite.and_then(|s| Lane::new(s, secret)) {
            self.lanes[index] = Some(lane);
        }
    }

    /// Keeps events for the trace and checks the per-event oracles.
    fn record_events(&mut self, side: Side, events: Vec<Event>) {
        for event in events {
            match (&event, side) {
                (Event::EarlyDataReceived { bytes, .. }, Side::Server) => {
                    self.early_received_total = self.early_received_total.saturating_add(*bytes);
                    let limit = self.server_limit();
                    if self.early_received_total > limit {
                        self.violate(format!(
                        "oracle early_data_within_limit: the server accepted {} bytes of early \
                         data, over min(session max_early_data, recv_max_early_data) = {limit}",
                        self.early_received_total
                        ));
                    }
                }
                (Event::HandshakeReceived(typ), Side::Server) => {
                    self.server_last_handshake = Some(*typ);
                }
                // What the server accepted, not what it saw: it moved on from an
                // EndOfEarlyData, and the one that can end its early data had a body.
                (Event::StateEntered(state), Side::Server)
                    if self.server_last_handshake == Some(HandshakeType::EndOfEarlyData)
                        && self.first_early_eoed_body == Some(true) =>
                {
                    self.violate(format!(
                        "oracle malformed_end_of_early_data_refused: the server took an \
                         EndOfEarlyData with a body under the early keys and entered {state} \
                         (RFC 9846 4.6: `struct {{}} EndOfEarlyData;`, a body is a decode_error)"
                    ));
                }
                (Event::EarlyDataAccepted { limit }, Side::Server) => {
                    self.server_accepted_early_data = true;
                    if let Some(why) = self.early_data_forbidden() {
                        self.violate(format!(
                            "oracle early_data_accepted_only_when_allowed: the server accepted \
                             early data although {why}"
                        ));
                    }
                    let max = self.server_limit();
                    if *limit as usize > max {
                        self.violate(format!(
                            "oracle early_data_within_limit: the server accepted early data with \
                         limit {limit}, over min(session max_early_data, recv_max_early_data) \
                         = {max}"
                        ));
                    }
                }
                (
                    Event::RecordReceived {
                        epoch: KeyEpoch::Application,
                        typ: ContentType::ApplicationData,
                        len,
                    },
                    _,
                ) => {
                    let i = side_index(side);
                    let content = len.saturating_sub(RECORD_HEADER_LEN + MIN_PROTECTED_OVERHEAD);
                    self.app_received[i] = self.app_received[i].saturating_add(content);
                }
                (Event::AlertReceived(AlertDescription::CloseNotify), _) => {
                    let i = side_index(side);
                    if self.close_cutoff[i].is_none() {
                        self.close_cutoff[i] = Some(self.app_received[i]);
                    }
                }
                (
                    Event::PskAccepted {
                        external: false, ..
                    },
                    Side::Server,
                ) if self.anti_replay() && self.ticket_still_cached() => {
                    self.violate(
                        "oracle single_use_ticket_consumed: the server resumed with anti-replay \
                         on and the ticket is still in its session cache (SSL_read_early_data(3): \
                         \"If it exists then the resumption is allowed and the session is \
                         removed from the cache\")"
                            .into(),
                    );
                }
                (Event::PskAccepted { .. }, Side::Server) if self.forged_hellos > 0 => {
                    self.violate(format!(
                        "oracle psk_binder_verified: the server accepted a PSK from a \
                         ClientHello whose binder was forged ({} forged so far; RFC 9846 \
                         4.2.11: \"If this value does not validate, the server MUST abort the \
                         handshake\")",
                        self.forged_hellos
                    ));
                }
                (Event::EarlyDataSkipped { budget_used, .. }, Side::Server)
                    if *budget_used > self.scenario.recv_max_early_data as usize
                        && self.server.error().is_none() =>
                {
                    self.violate(format!(
                        "oracle skip_budget_enforced: the server skipped {budget_used} bytes of \
                         rejected early data, over recv_max_early_data {}, and carried on",
                        self.scenario.recv_max_early_data
                    ));
                }
                (Event::EarlyDataWritten { total, .. }, Side::Client) => {
                    let max = self.session_max();
                    if *total > max {
                        self.violate(format!(
                            "oracle early_data_within_limit: the client wrote {total} bytes of \
                         early data, over the session's max_early_data {max}"
                        ));
                    }
                }
                _ => {}
            }
            self.trace.push(TraceEntry::Event { side, event });
        }
    }

    // ----- application calls ------------------------------------------------------------

    /// Makes `call` on `side`, records it, feeds the data streams and checks the error
    /// oracles. Returns true if the call succeeded.
    fn call(&mut self, side: Side, call: AppCall) -> bool {
        self.call_logged(side, call, true)
    }

    /// As [`Run::call`]; with `log` false a plain success is left out of the trace (the
    /// peer's automatic processing after every step).
    fn call_logged(&mut self, side: Side, call: AppCall, log: bool) -> bool {
        let now = match side {
            Side::Client => self.now,
            Side::Server => self.server_now,
        };
        let before = self.sticky[side_index(side)].clone();
        // One read buffer per run, not per call.
        let mut buf = std::mem::take(&mut self.read_buf);
        buf.resize(MAX_FRAGMENT_LEN, 0);
        let (result, ok): (String, Result<(), ConnError>) = match call {
            AppCall::WriteEarlyData(n) => {
                let data = self.pattern(usize::from(n));
                let r = self.conn(side).write_early_data(&data, now);
                if let Ok(written) = r {
                    let data = data.get(..written).unwrap_or(&data);
                    match side {
                        Side::Client => {
                            self.early_written_total += written;
                            if self.target == Side::Client {
                                self.early_sent.extend_from_slice(data);
                            }
                            self.client_early_phase = true;
                        }
                        // 0.5-RTT data goes under the server's application keys.
                        Side::Server => {
                            if self.target == Side::Server {
                                self.app_sent[0].extend_from_slice(data);
                            }
                        }
                    }
                }
                (format_result(&r), r.map(|_| ()))
            }
            AppCall::ReadEarlyData => {
                let mut last = Err(ConnError::WantRead);
                let mut log = Vec::new();
                for _ in 0..READ_LOOP_MAX {
                    let r = self.conn(side).read_early_data(&mut buf, now);
                    log.push(format_result(&r));
                    match r {
                        Ok(ReadEarlyData::Success(n)) => {
                            self.early_read
                                .extend_from_slice(buf.get(..n).unwrap_or(&[]));
                            last = Ok(());
                        }
                        Ok(ReadEarlyData::Finish) => {
                            if side == Side::Server {
                                self.server_early_finished = true;
                            }
                            last = Ok(());
                            break;
                        }
                        Err(e) => {
                            last = Err(e);
                            break;
                        }
                    }
                }
                (log.join(", "), last)
            }
            AppCall::DoHandshake => {
                if side == Side::Client {
                    self.client_early_phase = false;
                }
                let r = self.conn(side).do_handshake(now);
                (format_result(&r), r)
            }
            AppCall::Read => {
                let mut last = Err(ConnError::WantRead);
                let mut log = Vec::new();
                for _ in 0..READ_LOOP_MAX {
                    let r = self.conn(side).read(&mut buf, now);
                    log.push(format_result(&r));
                    match r {
                        Ok(n) => {
                            self.app_read[side_index(side)]
                                .extend_from_slice(buf.get(..n).unwrap_or(&[]));
                            last = Ok(());
                        }
                        Err(e) => {
                            last = Err(e);
                            break;
                        }
                    }
                }
                (log.join(", "), last)
            }
            AppCall::Write(n) => {
                if side == Side::Client {
                    self.client_early_phase = false;
                }
                let data = self.pattern(usize::from(n));
                let r = self.conn(side).write(&data, now);
                if let Ok(written) = r {
                    if side == self.target {
                        let to = side_index(other(side));
                        self.app_sent[to].extend_from_slice(data.get(..written).unwrap_or(&data));
                    }
                }
                (format_result(&r), r.map(|_| ()))
            }
            AppCall::ProcessNewPackets => {
                let r = self.conn(side).process_new_packets(now);
                (format_result(&r), r)
            }
            AppCall::CloseNotify => {
                self.conn(side).send_close_notify();
                ("()".into(), Ok(()))
            }
        };
        self.read_buf = buf;
        if log || ok.is_err() {
            self.trace.push(TraceEntry::Call { side, call, result });
        }
        self.check_errors(side, call, before, &ok);
        ok.is_ok()
    }

    fn check_errors(
        &mut self,
        side: Side,
        call: AppCall,
        before: Option<Error>,
        result: &Result<(), ConnError>,
    ) {
        if let Err(ConnError::Fatal(Error::Internal(what))) = result {
            self.violate(format!(
                "oracle no_internal_error: {side:?}.{call:?} failed with Internal({what:?})"
            ));
        }
        // send_close_notify returns nothing to compare.
        if let Some(e) = before.as_ref().filter(|_| call != AppCall::CloseNotify) {
            if *result != Err(ConnError::Fatal(e.clone())) {
                self.violate(format!(
                    "oracle errors_are_sticky: after {e:?}, {side:?}.{call:?} returned {result:?}"
                ));
            }
        }
        if let Err(ConnError::Fatal(e)) = result {
            let stored = self.conn(side).error().cloned();
            if stored.as_ref() != Some(e) {
                self.violate(format!(
                    "oracle errors_are_sticky: {side:?}.{call:?} failed with {e:?} but the \
                     connection keeps {stored:?} as its error"
                ));
            }
            self.sticky[side_index(side)] = Some(e.clone());
        }
    }

    /// Records an oracle violation (the first one wins).
    fn violate(&mut self, msg: String) {
        if self.violation.is_none() {
            self.violation = Some(msg);
        }
    }

    // ----- the end ----------------------------------------------------------------------

    fn final_oracles(&mut self) {
        if !self.early_sent.starts_with(&self.early_read) {
            self.violate(format!(
                "oracle early_data_is_a_prefix: the server read {} bytes of early data that are \
             not a prefix of the {} bytes sent",
                self.early_read.len(),
                self.early_sent.len()
            ));
        }
        for side in [Side::Client, Side::Server] {
            let i = side_index(side);
            if !self.app_sent[i].starts_with(&self.app_read[i]) {
                self.violate(format!(
                    "oracle application_data_is_a_prefix: the {side:?} read {} bytes that are not \
                 a prefix of the {} bytes sent to it",
                    self.app_read[i].len(),
                    self.app_sent[i].len()
                ));
            }
        }
        for side in [Side::Client, Side::Server] {
            let i = side_index(side);
            if let Some(cutoff) = self.close_cutoff[i] {
                if self.app_read[i].len() > cutoff {
                    self.violate(format!(
                    "oracle no_data_after_close_notify: the {side:?} application read {} bytes, \
                     but only {cutoff} arrived before close_notify (RFC 9846 6.1: \"Any data \
                     received after a closure alert has been received MUST be ignored\")",
                    self.app_read[i].len()
                    ));
                }
            }
        }
        if self.early_read.len() > self.server_limit() {
            self.violate(format!(
                "oracle early_data_within_limit: the server application read {} bytes of early \
             data, over min(session max_early_data, recv_max_early_data) = {}",
                self.early_read.len(),
                self.server_limit()
            ));
        }
        if self.client.early_data_status() == EarlyDataStatus::Accepted
            && !self.server_accepted_early_data
        {
            self.violate(
                "oracle early_data_status_agrees: the client reports Accepted but the server \
                 never accepted early data"
                    .into(),
            );
        }
        if self.honest_exchange()
            && !(self.client.is_init_finished() && self.server.is_init_finished())
        {
            self.violate(format!(
                "oracle honest_handshake_completes: every record was forwarded as sent, yet \
                 the handshake did not complete (client error {:?}, server error {:?})",
                self.client.error(),
                self.server.error()
            ));
        }
        if self.client.is_init_finished() && self.server.is_init_finished() {
            let (c, s) = (
                self.client.early_data_status(),
                self.server.early_data_status(),
            );
            if c != s {
                self.violate(format!(
                    "oracle early_data_status_agrees: both sides completed the handshake but \
                     the client says {c:?} and the server {s:?}"
                ));
            }
        }
        for side in [Side::Client, Side::Server] {
            if let Some(Error::Internal(what)) = self.conn(side).error() {
                let msg =
                    format!("oracle no_internal_error: {side:?} failed with Internal({what:?})");
                self.violate(msg);
            }
        }
    }

    fn report(self) -> HarnessReport {
        HarnessReport {
            target: self.target,
            client_status: self.client.early_data_status(),
            server_status: self.server.early_data_status(),
            client_finished: self.client.is_init_finished(),
            server_finished: self.server.is_init_finished(),
            client_error: self.client.error().cloned(),
            server_error: self.server.error().cloned(),
            early_data_sent: self.early_sent.len(),
            early_data_read: self.early_read.len(),
            violation: self.violation,
            scenario: self.scenario,
            trace: self.trace,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_encodes_to_bytes_that_decode_back_to_it() {
        let s = RecordScenario {
            session: Some(3),
            max_early_data: 100,
            recv_max_early_data: 16,
            no_anti_replay: true,
            hrr: true,
            middlebox_compat: true,
            late_client_hello: true,
            forged_binder: true,
            alpn: AlpnChoice::Other,
            suite: 2,
            client_early_data: 300,
            server_reads_early_data: false,
            steps: vec![
                Step::Raw(vec![1, 2, 3]),
                Step::Forward(3),
                Step::Drop,
                Step::AppData {
                    epoch: EpochChoice::Handshake,
                    len: 7,
                },
                Step::EndOfEarlyData { body_len: 2 },
                Step::Finished { wrong_mac: true },
                Step::SecondHello,
                Step::Replay(9),
                Step::KeyUpdate { request: true },
                Step::ClientCall(AppCall::Write(5)),
                Step::ServerCall(AppCall::WriteEarlyData(6)),
                Step::ServerCall(AppCall::CloseNotify),
            ],
        };
        assert_eq!(RecordScenario::from_bytes(&s.to_bytes()), s);
        let none = RecordScenario {
            session: None,
            ..RecordScenario::default()
        };
        assert_eq!(RecordScenario::from_bytes(&none.to_bytes()), none);
    }

    fn zero_rtt(steps: Vec<Step>) -> RecordScenario {
        RecordScenario {
            client_early_data: 100,
            steps,
            ..RecordScenario::default()
        }
    }

    #[test]
    fn a_forged_binder_makes_the_server_abort_before_choosing_the_psk() {
        for target in [Side::Server, Side::Client] {
            let s = RecordScenario {
                forged_binder: true,
                ..zero_rtt(vec![])
            };
            let report = trace_records(target, &s.to_bytes());
            assert_eq!(report.violation, None, "{report}");
            assert_eq!(
                report.server_error,
                Some(Error::PeerMisbehaved(
                    crate::error::PeerMisbehaved::IncorrectBinder
                )),
                "{report}"
            );
            assert!(!report
                .events(Side::Server)
                .any(|e| matches!(e, Event::PskAccepted { .. })));
        }
    }

    #[test]
    fn a_client_hello_later_than_the_tolerance_resumes_without_early_data() {
        let s = RecordScenario {
            late_client_hello: true,
            ..zero_rtt(vec![])
        };
        let report = server_records(&s.to_bytes());
        assert!(report.client_finished && report.server_finished, "{report}");
        assert_eq!(report.server_status, EarlyDataStatus::Rejected, "{report}");
        assert_eq!(report.early_data_read, 0);
    }

    #[test]
    fn the_acceptance_model_names_each_knob_that_forbids_early_data() {
        let cases = [
            (RecordScenario::default(), None),
            (
                RecordScenario {
                    session: None,
                    ..RecordScenario::default()
                },
                Some("no session"),
            ),
            (
                RecordScenario {
                    session: Some(2),
                    ..RecordScenario::default()
                },
                Some("ticket's max_early_data is 0"),
            ),
            (
                RecordScenario {
                    max_early_data: 0,
                    ..RecordScenario::default()
                },
                Some("server's max_early_data is 0"),
            ),
            (
                RecordScenario {
                    suite: 1,
                    ..RecordScenario::default()
                },
                Some("cipher suite"),
            ),
            (
                RecordScenario {
                    session: Some(3),
                    alpn: AlpnChoice::Other,
                    ..RecordScenario::default()
                },
                Some("ALPN"),
            ),
            (
                RecordScenario {
                    alpn: AlpnChoice::Same,
                    ..RecordScenario::default()
                },
                Some("ALPN"),
            ),
            (
                RecordScenario {
                    session: Some(3),
                    alpn: AlpnChoice::Same,
                    ..RecordScenario::default()
                },
                None,
            ),
            (
                RecordScenario {
                    hrr: true,
                    ..RecordScenario::default()
                },
                Some("HelloRetryRequest"),
            ),
            (
                RecordScenario {
                    late_client_hello: true,
                    ..RecordScenario::default()
                },
                Some("tolerance"),
            ),
        ];
        for (scenario, want) in cases {
            let got = Run::new(Side::Server, scenario.clone()).early_data_forbidden();
            match (want, &got) {
                (None, None) => {}
                (Some(w), Some(g)) if g.contains(w) => {}
                _ => panic!("{scenario:?}: want {want:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn a_finished_with_a_wrong_mac_is_refused_by_the_server_with_incorrect_finished() {
        let s = zero_rtt(vec![
            Step::Forward(2),
            Step::ClientCall(AppCall::DoHandshake),
            Step::Forward(1),
            Step::Finished { wrong_mac: true },
        ]);
        let report = server_records(&s.to_bytes());
        assert_eq!(
            report.server_error,
            Some(Error::PeerMisbehaved(
                crate::error::PeerMisbehaved::IncorrectFinished
            )),
            "{report}"
        );
        assert_eq!(report.early_data_read, 100);
    }

    #[test]
    fn an_end_of_early_data_with_a_body_is_a_decode_error_after_the_early_data() {
        let s = zero_rtt(vec![Step::Forward(2), Step::EndOfEarlyData { body_len: 1 }]);
        let report = server_records(&s.to_bytes());
        assert_eq!(
            report.server_error,
            Some(Error::InvalidMessage(
                crate::error::InvalidMessage::TrailingData("EndOfEarlyData")
            )),
            "{report}"
        );
    }

    #[test]
    fn made_up_early_data_under_the_real_keys_is_read_by_the_server() {
        let s = zero_rtt(vec![
            Step::Forward(2),
            Step::AppData {
                epoch: EpochChoice::Early,
                len: 300,
            },
        ]);
        let report = server_records(&s.to_bytes());
        assert!(report.server_finished && report.client_finished, "{report}");
        assert_eq!(report.early_data_read, 400, "{report}");
    }

    #[test]
    fn a_replayed_early_data_record_is_refused_and_never_read_twice() {
        let s = zero_rtt(vec![Step::Forward(2), Step::Replay(1)]);
        let report = server_records(&s.to_bytes());
        assert_eq!(report.server_error, Some(Error::DecryptError), "{report}");
        assert_eq!(report.early_data_read, 100);
    }

    #[test]
    fn a_key_update_the_harness_sends_is_followed_by_both_sides() {
        let s = RecordScenario {
            // The second Forward takes the client's Finished to a server target.
            steps: vec![
                Step::Forward(8),
                Step::Forward(8),
                Step::KeyUpdate { request: true },
                Step::AppData {
                    epoch: EpochChoice::Application,
                    len: 30,
                },
                Step::ServerCall(AppCall::Write(20)),
            ],
            ..RecordScenario::default()
        };
        for report in [server_records(&s.to_bytes()), client_records(&s.to_bytes())] {
            assert!(
                report.server_error.is_none() && report.client_error.is_none(),
                "{report}"
            );
        }
    }

    #[test]
    fn application_data_after_close_notify_is_not_read() {
        let s = RecordScenario {
            steps: vec![
                Step::Forward(8),
                Step::Forward(8),
                Step::ClientCall(AppCall::CloseNotify),
                Step::Forward(1),
                Step::AppData {
                    epoch: EpochChoice::Application,
                    len: 10,
                },
                Step::ServerCall(AppCall::Read),
            ],
            ..RecordScenario::default()
        };
        let report = server_records(&s.to_bytes());
        assert!(
            report
                .events(Side::Server)
                .any(|e| *e == Event::AlertReceived(AlertDescription::CloseNotify)),
            "{report}"
        );
    }

    fn run_for_oracles() -> Run {
        Run::new(Side::Server, RecordScenario::default())
    }

    fn violated(run: Run, oracle: &str) -> bool {
        run.violation
            .is_some_and(|v| v.starts_with(&format!("oracle {oracle}:")))
    }

    #[test]
    fn a_call_that_succeeds_after_a_fatal_error_violates_errors_are_sticky() {
        let mut run = run_for_oracles();
        let before = Some(Error::DecryptError);
        run.check_errors(Side::Server, AppCall::Read, before, &Ok(()));
        assert!(violated(run, "errors_are_sticky"));
    }

    #[test]
    fn an_internal_error_violates_no_internal_error() {
        let mut run = run_for_oracles();
        let r = Err(ConnError::Fatal(Error::Internal("x")));
        run.check_errors(Side::Client, AppCall::Read, None, &r);
        assert!(violated(run, "no_internal_error"));
    }

    #[test]
    fn early_data_read_that_was_not_sent_violates_the_prefix_oracle() {
        let mut run = run_for_oracles();
        run.early_sent = vec![1, 2, 3];
        run.early_read = vec![1, 3];
        run.final_oracles();
        assert!(violated(run, "early_data_is_a_prefix"));
    }

    #[test]
    fn early_data_received_past_the_limit_violates_the_limit_oracle() {
        let mut run = run_for_oracles();
        let bytes = run.server_limit() + 1;
        run.record_events(
            Side::Server,
            vec![Event::EarlyDataReceived {
                bytes,
                total: bytes,
            }],
        );
        assert!(violated(run, "early_data_within_limit"));
    }

    fn eoed_then(next: Event) -> Vec<Event> {
        vec![
            Event::HandshakeReceived(HandshakeType::EndOfEarlyData),
            next,
        ]
    }

    #[test]
    fn a_server_moving_on_from_an_end_of_early_data_with_a_body_violates_the_malformed_oracle() {
        let mut run = run_for_oracles();
        run.first_early_eoed_body = Some(true);
        run.record_events(
            Side::Server,
            eoed_then(Event::StateEntered("ExpectFinished")),
        );
        assert!(violated(run, "malformed_end_of_early_data_refused"));
    }

    #[test]
    fn a_server_refusing_an_end_of_early_data_satisfies_the_malformed_oracle() {
        // Refused (here as unexpected_message): the server saw it but took nothing.
        let mut run = run_for_oracles();
        run.first_early_eoed_body = Some(true);
        let alert = Event::AlertSent(AlertDescription::UnexpectedMessage);
        run.record_events(Side::Server, eoed_then(alert));
        assert_eq!(run.violation, None);
    }

    #[test]
    fn a_server_moving_on_from_an_empty_end_of_early_data_satisfies_the_malformed_oracle() {
        // The client's own (or a made-up empty one) came first under the early keys.
        let mut run = run_for_oracles();
        run.first_early_eoed_body = Some(false);
        run.record_events(
            Side::Server,
            eoed_then(Event::StateEntered("ExpectFinished")),
        );
        assert_eq!(run.violation, None);
    }

    #[test]
    fn only_the_first_end_of_early_data_under_the_real_early_keys_counts_for_the_oracle() {
        let mut run = Run::new(Side::Server, zero_rtt(vec![]));
        // No early keys yet: a made-up one goes under keys nobody holds.
        run.step(&Step::EndOfEarlyData { body_len: 3 });
        assert_eq!(run.first_early_eoed_body, None);
        run.call(Side::Client, AppCall::WriteEarlyData(10));
        run.collect_peer();
        run.step(&Step::EndOfEarlyData { body_len: 0 });
        run.step(&Step::EndOfEarlyData { body_len: 3 });
        assert_eq!(run.first_early_eoed_body, Some(false));
    }

    #[test]
    #[should_panic(expected = "oracle early_data_within_limit: test")]
    fn a_violated_oracle_panics_with_its_name_and_the_trace() {
        let mut report = trace_records(Side::Server, &[]);
        report.violation = Some("oracle early_data_within_limit: test".into());
        or_panic(report);
    }

    #[test]
    fn the_empty_input_is_an_accepted_zero_rtt_resumption() {
        let s = RecordScenario::default();
        assert_eq!(s.session, Some(0));
        assert!(s.server_reads_early_data);
        let report = server_records(&s.to_bytes());
        assert!(report.client_finished && report.server_finished, "{report}");
        assert_eq!(report.server_status, EarlyDataStatus::NotSent);
        let with_early = RecordScenario {
            client_early_data: 1000,
            ..RecordScenario::default()
        };
        for report in [
            server_records(&with_early.to_bytes()),
            client_records(&with_early.to_bytes()),
        ] {
            assert!(report.client_finished && report.server_finished, "{report}");
            assert_eq!(report.server_status, EarlyDataStatus::Accepted, "{report}");
            assert_eq!(report.early_data_read, 1000, "{report}");
        }
    }
}
