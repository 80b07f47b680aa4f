//! The input: configuration knobs and [`Step`]s, and the byte format every corpus file is
//! written in ([`RecordScenario::from_bytes`] / [`RecordScenario::to_bytes`]).
//!
//! The types implement [`Arbitrary`] by reading exactly that format (one opcode byte and
//! its arguments, zeros past the end), so a fuzz target can take a typed
//! `RecordScenario` and the checked-in corpora, whose seeds come from real handshakes
//! through `to_bytes`, still decode to the same scenarios. A derived `Arbitrary` would read
//! another format (a 4-byte discriminant per step, a continuation byte before every
//! element of a `Vec`): see the fuzzing section of the README for the measurement that kept
//! this one.

use crate::crypto::suites::ALL_CIPHER_SUITES;
use arbitrary::{Arbitrary, Unstructured};

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

/// The corpus format's reader over arbitrary's [`Unstructured`]: bytes one at a time,
/// big-endian u16s, zeros past the end (as arbitrary's integers), so every input
/// (including the empty one) is a scenario and no read fails.
struct ByteSource<'u, 'a>(&'u mut Unstructured<'a>);

impl ByteSource<'_, '_> {
    fn u8(&mut self) -> u8 {
        u8::arbitrary(self.0).unwrap_or(0)
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// `n` bytes, or as many as are left.
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        let n = n.min(self.0.len());
        self.0.bytes(n).map(<[u8]>::to_vec).unwrap_or_default()
    }

    fn exhausted(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> Arbitrary<'a> for AppCall {
    /// An opcode byte (modulo 7) and its argument, as in the corpus files.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self::decode(&mut ByteSource(u)))
    }
}

impl<'a> Arbitrary<'a> for Step {
    /// An opcode byte (modulo 11) and its arguments, as in the corpus files.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self::decode(&mut ByteSource(u)))
    }
}

impl<'a> Arbitrary<'a> for RecordScenario {
    /// [`RecordScenario::from_bytes`] on the rest of the input: the steps run to its end.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self::decode(&mut ByteSource(u)))
    }
}

impl AppCall {
    fn decode(src: &mut ByteSource<'_, '_>) -> Self {
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
    fn decode(src: &mut ByteSource<'_, '_>) -> Self {
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
        Self::decode(&mut ByteSource(&mut Unstructured::new(data)))
    }

    fn decode(src: &mut ByteSource<'_, '_>) -> Self {
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
            steps.push(Step::decode(src));
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
