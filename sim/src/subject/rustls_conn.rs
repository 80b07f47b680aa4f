//! A rustls connection behind the [`Subject`] API, on the deterministic building blocks of
//! [`super::rustls_stack`].
//!
//! rustls reports less than zerortt-core does, so the events are derived from what its API
//! and the wire show: `RecordSent` from the record headers it writes (the epoch from where
//! the handshake is: before the server's flight a client's application_data records are
//! early data), `HandshakeSent(ClientHello)` with the first record, the server's
//! `HandshakeReceived(ClientHello)` from the ClientHello it was given (decoded with
//! zerortt-core's codec, which also says whether early data was offered), early data
//! accepted or rejected from `ServerConnection::early_data()` once the ClientHello is
//! processed, and `HandshakeComplete` when `is_handshaking()` turns false. What rustls does
//! not expose (EndOfEarlyData, the reason for a rejection, secrets) is not invented:
//! a rejection's reason is `ServerDeclined`, and `read_early_data` returns Finish when the
//! handshake completes (rustls has no "EndOfEarlyData arrived" signal).

use super::rustls_stack::{client_connection, SeededStream, SessionStore, VirtualClock};
use super::{Session, Subject, SubjectError, WriteBoundaries};
use rustls::client::Tls13ClientSessionValue;
use rustls::{ClientConfig, HandshakeKind, ServerConfig, ServerConnection};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use zerortt_core::conn::events::{EarlyDataRejectReason, KeyEpoch};
use zerortt_core::crypto::keylog::{KeyLogEntry, KeyLogLabel};
use zerortt_core::msgs::deframer::{HandshakeJoiner, RecordDeframer};
use zerortt_core::msgs::enums::{CipherSuite, ContentType, HandshakeType};
use zerortt_core::msgs::handshake::HandshakePayload;
use zerortt_core::time::Timestamp;
use zerortt_core::{ApiMisuse, EarlyDataStatus, Event, ReadEarlyData};

/// A rustls ticket. rustls's session value cannot be cloned and is used once: a clone of
/// this handle shares it, and the first connection to resume with it takes it.
#[derive(Clone, Debug)]
pub struct RustlsSession {
    value: Arc<Mutex<Option<Tls13ClientSessionValue>>>,
    max_early_data: u32,
}

impl RustlsSession {
    /// Wraps a ticket rustls stored.
    pub fn new(value: Tls13ClientSessionValue) -> Self {
        Self {
            max_early_data: value.max_early_data_size(),
            value: Arc::new(Mutex::new(Some(value))),
        }
    }

    /// The ticket's `max_early_data_size` (0: no early data).
    pub fn max_early_data(&self) -> u32 {
        self.max_early_data
    }

    fn take(&self) -> Option<Tls13ClientSessionValue> {
        self.value.lock().ok()?.take()
    }
}

/// rustls's key log for the simulator: the secrets become `SecretDerived` events, as the
/// core's are, so a rustls trace carries what depends on the seed and a key log can decrypt
/// its records. The log is the config's (shared by its connections); every rustls call of a
/// subject completes before another subject's, so what is logged during a call belongs to
/// the subject that made it, which takes it right after.
#[derive(Debug, Default)]
pub struct KeyLogSink {
    entries: Mutex<Vec<KeyLogEntry>>,
}

impl KeyLogSink {
    /// An empty sink.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn take(&self) -> Vec<KeyLogEntry> {
        self.entries
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
    }
}

impl rustls::KeyLog for KeyLogSink {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        let (Some(label), Ok(random)) = (
            KeyLogLabel::from_nss(label),
            <[u8; 32]>::try_from(client_random),
        ) else {
            return;
        };
        if let Ok(mut e) = self.entries.lock() {
            e.push(KeyLogEntry::new(label, random, secret.to_vec()));
        }
    }

    fn will_log(&self, _label: &str) -> bool {
        true
    }
}

/// A connection not built yet: a client's ClientHello is made (and its ticket taken) at the
/// first call, at that call's virtual time, not when the simulator sets the node up.
enum Pending {
    Client {
        config: Arc<ClientConfig>,
        sessions: Arc<SessionStore>,
        session: Option<RustlsSession>,
    },
    Server(Arc<ServerConfig>),
}

/// One rustls endpoint.
pub struct RustlsSubject {
    pending: Option<Pending>,
    conn: Option<rustls::Connection>,
    stream: SeededStream,
    clock: VirtualClock,
    key_log: Option<Arc<KeyLogSink>>,
    sessions: Option<Arc<SessionStore>>,
    events: Vec<Event>,
    error: Option<SubjectError>,
    /// Bytes taken by read_tls and not yet processed.
    unprocessed: usize,
    peer_closed: bool,
    // Client.
    early_offered: bool,
    early_written: usize,
    /// The client has processed the server's flight (records it sends now are not early).
    server_flight_seen: bool,
    hello_sent: bool,
    // Server.
    /// Records of the first flight, to find the ClientHello in.
    hello_deframer: RecordDeframer,
    hello_joiner: HandshakeJoiner,
    client_hello_seen: bool,
    client_offered_early_data: bool,
    decision_made: bool,
    early_accepted: bool,
    early_read: usize,
    finish_returned: bool,
    server_flight_sent: bool,
    max_early_data: u32,
    complete_reported: bool,
}

impl RustlsSubject {
    fn new(pending: Option<Pending>, stream: SeededStream, clock: VirtualClock) -> Self {
        let (sessions, max_early_data) = match &pending {
            Some(Pending::Client { sessions, .. }) => (Some(sessions.clone()), 0),
            Some(Pending::Server(c)) => (None, c.max_early_data_size),
            None => (None, 0),
        };
        Self {
            pending,
            conn: None,
            stream,
            clock,
            key_log: None,
            sessions,
            events: Vec::new(),
            error: None,
            unprocessed: 0,
            peer_closed: false,
            early_offered: false,
            early_written: 0,
            server_flight_seen: false,
            hello_sent: false,
            hello_deframer: RecordDeframer::new(),
            hello_joiner: HandshakeJoiner::new(),
            client_hello_seen: false,
            client_offered_early_data: false,
            decision_made: false,
            early_accepted: false,
            early_read: 0,
            finish_returned: false,
            server_flight_sent: false,
            max_early_data,
            complete_reported: false,
        }
    }

    /// A client resuming `session` (if any) on `config`, whose tickets go to `sessions`
    /// (the store `config` was made with: see `rustls_stack::with_sessions`).
    pub fn client(
        config: Arc<ClientConfig>,
        sessions: Arc<SessionStore>,
        session: Option<RustlsSession>,
        stream: SeededStream,
        clock: VirtualClock,
    ) -> Self {
        Self::new(
            Some(Pending::Client {
                config,
                sessions,
                session,
            }),
            stream,
            clock,
        )
    }

    /// An endpoint whose configuration could not be built: every call fails with
    /// `message`, so the run shows the failure instead of silently using another stack.
    pub fn broken(message: String) -> Self {
        let stream = SeededStream::new(crate::net::rng::MasterSeed::new(0).stream("broken"));
        let mut s = Self::new(None, stream, VirtualClock::default());
        s.error = Some(fatal(message));
        s
    }

    /// A server on `config`. Built at once: bytes may arrive before its first call.
    pub fn server(
        config: Arc<ServerConfig>,
        stream: SeededStream,
        clock: VirtualClock,
    ) -> Result<Self, SubjectError> {
        let now = clock.now();
        let mut s = Self::new(Some(Pending::Server(config)), stream, clock);
        s.start(now)?;
        Ok(s)
    }

    /// Turns the secrets rustls logs into `SecretDerived` events (the config must log to
    /// `sink`).
    pub fn with_key_log(mut self, sink: Arc<KeyLogSink>) -> Self {
        self.key_log = Some(sink);
        self.take_secrets();
        self
    }

    fn take_secrets(&mut self) {
        if let Some(sink) = &self.key_log {
            for entry in sink.take() {
                self.events.push(Event::SecretDerived(entry));
            }
        }
    }

    fn is_client(&self) -> bool {
        matches!(self.conn, Some(rustls::Connection::Client(_)))
            || matches!(self.pending, Some(Pending::Client { .. }))
    }

    /// Builds the connection at the first call.
    fn start(&mut self, now: Timestamp) -> Result<(), SubjectError> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        self.clock.set(now);
        let conn = match pending {
            Pending::Client {
                config,
                sessions,
                session,
            } => {
                if let Some(ticket) = session.and_then(|s| s.take()) {
                    sessions.seed(super::rustls_stack::SERVER_NAME, ticket);
                }
                let mut c = client_connection(&config, &self.stream).map_err(fatal)?;
                if let Some(early) = c.early_data() {
                    self.early_offered = true;
                    let max = early.bytes_left();
                    self.events.push(Event::EarlyDataOffered {
                        max_early_data: u32::try_from(max).unwrap_or(u32::MAX),
                    });
                }
                rustls::Connection::Client(c)
            }
            Pending::Server(config) => {
                let c = self
                    .stream
                    .enter(|| ServerConnection::new(config))
                    .map_err(|e| fatal(e.to_string()))?;
                rustls::Connection::Server(c)
            }
        };
        self.conn = Some(conn);
        self.take_secrets();
        Ok(())
    }

    /// process_new_packets at `now`, then the events it implies.
    fn process(&mut self, now: Timestamp) -> Result<(), SubjectError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        self.start(now)?;
        self.clock.set(now);
        let Some(conn) = self.conn.as_mut() else {
            return Ok(());
        };
        let stream = self.stream.clone();
        let r = stream.enter(|| conn.process_new_packets());
        self.unprocessed = 0;
        self.take_secrets();
        match r {
            Ok(state) => {
                if state.peer_has_closed() {
                    self.peer_closed = true;
                }
            }
            Err(e) => {
                let retry = self.early_written > 0
                    && matches!(
                        e,
                        rustls::Error::AlertReceived(_) | rustls::Error::PeerIncompatible(_)
                    );
                let err = SubjectError::Fatal {
                    message: e.to_string(),
                    retry_without_early_data: retry,
                };
                self.error = Some(err.clone());
                return Err(err);
            }
        }
        self.observe();
        Ok(())
    }

    /// Events that follow from the connection's state after processing.
    fn observe(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        match conn {
            rustls::Connection::Client(c) => {
                if !self.server_flight_seen && c.handshake_kind().is_some() {
                    self.server_flight_seen = true;
                    if self.early_offered {
                        if c.is_early_data_accepted() {
                            self.events.push(Event::EarlyDataAccepted {
                                limit: u32::try_from(self.early_written).unwrap_or(u32::MAX),
                            });
                        } else if !c.is_handshaking() || c.early_data().is_none() {
                            self.events.push(Event::EarlyDataRejected {
                                reason: EarlyDataRejectReason::ServerDeclined,
                            });
                        }
                    }
                }
            }
            rustls::Connection::Server(s) => {
                if self.client_hello_seen && !self.decision_made {
                    self.decision_made = true;
                    self.early_accepted = s.early_data().is_some();
                    if self.early_accepted {
                        self.events.push(Event::EarlyDataAccepted {
                            limit: self.max_early_data,
                        });
                    } else if self.client_offered_early_data {
                        self.events.push(Event::EarlyDataRejected {
                            reason: EarlyDataRejectReason::ServerDeclined,
                        });
                    }
                }
            }
        }
        if !self.complete_reported && !conn.is_handshaking() {
            self.complete_reported = true;
            let suite = conn
                .negotiated_cipher_suite()
                .map_or(CipherSuite::Unknown(0), |s| {
                    CipherSuite::from(u16::from(s.suite()))
                });
            let resumed = conn.handshake_kind() == Some(HandshakeKind::Resumed);
            self.events
                .push(Event::HandshakeComplete { suite, resumed });
        }
    }

    /// A server looks for the ClientHello in what it is given (to know whether early data
    /// was offered, which rustls does not say).
    fn watch_for_client_hello(&mut self, bytes: &[u8]) {
        if self.client_hello_seen || self.is_client() {
            return;
        }
        let mut rest = bytes;
        // Bounded: each pass consumes input or stops.
        for _ in 0..64 {
            let n = self.hello_deframer.push(rest);
            rest = &rest[n..];
            while let Ok(Some(record)) = self.hello_deframer.pop() {
                if record.typ != ContentType::Handshake {
                    continue;
                }
                if self.hello_joiner.push(&record.payload).is_err() {
                    self.client_hello_seen = true;
                    return;
                }
                if let Ok(Some((msg, _))) = self.hello_joiner.pop() {
                    self.client_hello_seen = true;
                    if let HandshakePayload::ClientHello(ch) = msg.payload {
                        self.client_offered_early_data = ch.early_data_offered();
                        self.events
                            .push(Event::HandshakeReceived(HandshakeType::ClientHello));
                    }
                    return;
                }
            }
            if n == 0 || rest.is_empty() {
                return;
            }
        }
    }

    /// RecordSent (and HandshakeSent for the hellos) for the records in `bytes`.
    fn record_events(&mut self, bytes: &[u8], is_client: bool, handshaking: bool) {
        let mut rest = bytes;
        while rest.len() >= 5 {
            let typ = ContentType::from(rest[0]);
            let len = 5 + usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            let epoch = match typ {
                ContentType::Handshake | ContentType::ChangeCipherSpec | ContentType::Alert => {
                    KeyEpoch::Plaintext
                }
                _ if is_client && self.early_offered && !self.server_flight_seen => KeyEpoch::Early,
                _ if handshaking => KeyEpoch::Handshake,
                _ => KeyEpoch::Application,
            };
            if typ == ContentType::Handshake && is_client && !self.hello_sent {
                self.hello_sent = true;
                self.events
                    .push(Event::HandshakeSent(HandshakeType::ClientHello));
            }
            if typ == ContentType::Handshake && !is_client && !self.server_flight_sent {
                // The whole flight leaves together: ServerHello ... Finished.
                self.server_flight_sent = true;
                self.events
                    .push(Event::HandshakeSent(HandshakeType::ServerHello));
                self.events
                    .push(Event::HandshakeSent(HandshakeType::Finished));
            }
            self.events.push(Event::RecordSent {
                epoch,
                typ,
                len: len.min(rest.len()),
            });
            rest = &rest[len.min(rest.len())..];
        }
    }
}

fn fatal(e: impl ToString) -> SubjectError {
    SubjectError::Fatal {
        message: e.to_string(),
        retry_without_early_data: false,
    }
}

fn would_block(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::WouldBlock
}

impl Subject for RustlsSubject {
    fn read_tls(&mut self, bytes: &[u8]) -> usize {
        // rustls takes an empty read as the peer's EOF: never hand it one.
        if bytes.is_empty() || self.error.is_some() {
            return 0;
        }
        let Some(conn) = self.conn.as_mut() else {
            return 0;
        };
        let mut rd = bytes;
        let n = match conn.read_tls(&mut rd) {
            Ok(n) => n,
            // Back-pressure: the application reads plaintext first, then TLS takes more.
            Err(e) if e.kind() == std::io::ErrorKind::Other => 0,
            // Anything else ends the connection, as rustls's own example servers treat a
            // read_tls error (e.g. "message buffer full": more than one maximal record
            // unprocessed); a 0 here would leave the bytes waiting for a wake-up that never
            // comes.
            Err(e) => {
                self.error = Some(fatal(format!("read_tls: {e}")));
                return 0;
            }
        };
        self.unprocessed += n;
        self.watch_for_client_hello(&bytes[..n]);
        n
    }

    fn write_tls(&mut self, out: &mut Vec<u8>) -> usize {
        let Some(conn) = self.conn.as_mut() else {
            return 0;
        };
        let start = out.len();
        // Bounded: each pass drains queued records.
        for _ in 0..64 {
            if !conn.wants_write() {
                break;
            }
            if conn.write_tls(out).unwrap_or(0) == 0 {
                break;
            }
        }
        let is_client = matches!(conn, rustls::Connection::Client(_));
        let handshaking = conn.is_handshaking();
        self.record_events(&out[start..], is_client, handshaking);
        out.len() - start
    }

    fn buffered_tls(&self) -> usize {
        self.unprocessed
    }

    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn write_early_data(&mut self, data: &[u8], now: Timestamp) -> Result<usize, SubjectError> {
        self.process(now)?;
        match self.conn.as_mut() {
            Some(rustls::Connection::Client(c)) => {
                let Some(mut early) = c.early_data() else {
                    return Err(if !self.early_offered {
                        SubjectError::Misuse(ApiMisuse::SessionDoesNotAllowEarlyData)
                    } else if c.is_early_data_accepted() {
                        // rustls sent EndOfEarlyData with the server's flight.
                        SubjectError::EarlyDataPhaseEnded
                    } else {
                        SubjectError::Misuse(ApiMisuse::EarlyDataRejected)
                    });
                };
                let remaining = early.bytes_left();
                if data.len() > remaining {
                    return Err(SubjectError::Misuse(ApiMisuse::EarlyDataLimitExceeded {
                        remaining,
                    }));
                }
                let n = early.write(data).map_err(fatal)?;
                self.early_written += n;
                self.events.push(Event::EarlyDataWritten {
                    bytes: n,
                    total: self.early_written,
                });
                Ok(n)
            }
            // 0.5-RTT data (ServerConfig::send_half_rtt_data).
            Some(rustls::Connection::Server(s)) => s.writer().write(data).map_err(fatal),
            None => Err(SubjectError::WantRead),
        }
    }

    fn read_early_data(
        &mut self,
        buf: &mut [u8],
        now: Timestamp,
    ) -> Result<ReadEarlyData, SubjectError> {
        if self.is_client() {
            return Err(SubjectError::Misuse(ApiMisuse::ReadEarlyDataIsServerOnly));
        }
        if self.finish_returned {
            return Err(SubjectError::Misuse(ApiMisuse::ReadEarlyDataAfterFinish));
        }
        self.process(now)?;
        if !self.decision_made {
            return Err(SubjectError::WantRead);
        }
        let Some(rustls::Connection::Server(s)) = self.conn.as_mut() else {
            return Err(SubjectError::WantRead);
        };
        if let Some(mut early) = s.early_data() {
            match early.read(buf) {
                Ok(n) if n > 0 => {
                    self.early_read += n;
                    self.events.push(Event::EarlyDataReceived {
                        bytes: n,
                        total: self.early_read,
                    });
                    self.events.push(Event::EarlyDataRead { bytes: n });
                    return Ok(ReadEarlyData::Success(n));
                }
                Ok(_) => {}
                Err(e) if would_block(&e) => {}
                Err(e) => return Err(fatal(e)),
            }
            if s.is_handshaking() {
                return Err(SubjectError::WantRead);
            }
        }
        self.finish_returned = true;
        Ok(ReadEarlyData::Finish)
    }

    fn do_handshake(&mut self, now: Timestamp) -> Result<(), SubjectError> {
        self.process(now)?;
        match &self.conn {
            Some(c) if !c.is_handshaking() => Ok(()),
            _ => Err(SubjectError::WantRead),
        }
    }

    fn read(&mut self, buf: &mut [u8], now: Timestamp) -> Result<usize, SubjectError> {
        self.process(now)?;
        let Some(conn) = self.conn.as_mut() else {
            return Err(SubjectError::WantRead);
        };
        match conn.reader().read(buf) {
            Ok(0) if self.peer_closed => Err(SubjectError::Closed),
            Ok(0) => Err(SubjectError::WantRead),
            Ok(n) => {
                self.events.push(Event::ApplicationDataRead { bytes: n });
                Ok(n)
            }
            Err(e) if would_block(&e) => Err(SubjectError::WantRead),
            Err(e) => Err(fatal(e)),
        }
    }

    fn write(&mut self, data: &[u8], now: Timestamp) -> Result<usize, SubjectError> {
        self.process(now)?;
        let Some(conn) = self.conn.as_mut() else {
            return Err(SubjectError::WantRead);
        };
        let n = conn.writer().write(data).map_err(fatal)?;
        self.events.push(Event::ApplicationDataWritten { bytes: n });
        Ok(n)
    }

    fn early_data_status(&self) -> EarlyDataStatus {
        match &self.conn {
            Some(rustls::Connection::Client(c)) => {
                if !self.early_offered {
                    EarlyDataStatus::NotSent
                } else if c.is_early_data_accepted() {
                    EarlyDataStatus::Accepted
                } else {
                    EarlyDataStatus::Rejected
                }
            }
            Some(rustls::Connection::Server(_)) => {
                if self.early_accepted {
                    EarlyDataStatus::Accepted
                } else if self.client_offered_early_data {
                    EarlyDataStatus::Rejected
                } else {
                    EarlyDataStatus::NotSent
                }
            }
            None => EarlyDataStatus::NotSent,
        }
    }

    fn is_init_finished(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| !c.is_handshaking())
    }

    fn send_close_notify(&mut self) {
        if let Some(c) = self.conn.as_mut() {
            c.send_close_notify();
        }
    }

    fn failed(&self) -> bool {
        self.error.is_some()
    }

    fn take_new_sessions(&mut self) -> Vec<Session> {
        let Some(store) = &self.sessions else {
            return Vec::new();
        };
        let mut newest_first = Vec::new();
        // Bounded by the store's size.
        for _ in 0..64 {
            match store.take_newest(super::rustls_stack::SERVER_NAME) {
                Some(t) => newest_first.push(Session::Rustls(RustlsSession::new(t))),
                None => break,
            }
        }
        newest_first.reverse();
        newest_first
    }

    /// rustls 0.23: `ConnectionCommon::write_tls` writes the whole send queue with one
    /// `write_vectored` (`ChunkVecBuffer::write_to`, up to 64 chunks), and its
    /// tlsserver-mio / tlsclient-mio examples call it once per readiness event, after
    /// `process_new_packets` and the application's writes.
    fn write_boundaries(&self) -> WriteBoundaries {
        WriteBoundaries::PerWakeup
    }
}
