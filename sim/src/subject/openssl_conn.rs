//! An OpenSSL connection behind the [`Subject`] API, on the contexts of
//! [`super::openssl_stack`]: an `SslStream` over [`MemoryDuplex`], a pair of byte queues
//! whose read says `WouldBlock` when empty, so every OpenSSL call returns
//! `SSL_ERROR_WANT_READ` where a socket would block.
//!
//! The calls are the man page's own (`SSL_write_early_data`, `SSL_read_early_data`,
//! `SSL_do_handshake`, `SSL_read_ex`, `SSL_write_ex`, `SSL_get_early_data_status`), so no
//! result is translated beyond naming. The events are derived as for rustls: `RecordSent`
//! from the record headers OpenSSL writes (application_data records that leave during a
//! client's `SSL_write_early_data` calls are early data), `HandshakeSent` from the first
//! handshake record each side writes, the server's `HandshakeReceived(ClientHello)` and
//! its early data decision once its flight is written (from `SSL_get_early_data_status`),
//! `HandshakeReceived(EndOfEarlyData)` when `SSL_read_early_data` returns FINISH after
//! accepting, `HandshakeComplete` when `SSL_is_init_finished` turns true, and the secrets
//! from OpenSSL's key log callback. A rejection's reason is `ServerDeclined`: OpenSSL does
//! not say why.

use super::openssl_stack::{enter, KeyLines, NewSessions, SessionClock};
use super::rustls_stack::SeededStream;
use super::{Session, Subject, SubjectError, WriteBoundaries};
use openssl::ssl::{ErrorCode, Ssl, SslSession, SslStream, SslVersion};
use std::fmt;
use std::sync::Arc;
use zerortt_core::conn::events::{EarlyDataRejectReason, KeyEpoch};
use zerortt_core::crypto::keylog::{KeyLogEntry, KeyLogLabel};
use zerortt_core::msgs::enums::{CipherSuite, ContentType, HandshakeType};
use zerortt_core::msgs::handshake::HELLO_RETRY_REQUEST_RANDOM;
use zerortt_core::time::Timestamp;
use zerortt_core::{ApiMisuse, EarlyDataStatus, Event, ReadEarlyData};
use zerortt_ossl::ffi;

/// An OpenSSL client session (a ticket). OpenSSL sessions are reference counted: a clone
/// shares it.
#[derive(Clone)]
pub struct OpensslSession {
    session: SslSession,
    /// The creation time OpenSSL gave it (wall clock, seconds).
    original: i64,
    /// Virtual time the client received it.
    received: Timestamp,
}

impl OpensslSession {
    fn new(session: SslSession, received: Timestamp) -> Self {
        Self {
            original: session.time(),
            session,
            received,
        }
    }

    /// Dates the session back by its virtual age at `now` (see
    /// [`super::openssl_stack::SessionClock`]), so the client reports that age.
    fn redate(&mut self, now: Timestamp) {
        let age = super::openssl_stack::whole_secs(self.received, now);
        ffi::set_session_time(&mut self.session, self.original - age);
    }

    /// `SSL_SESSION_get_max_early_data`.
    pub fn max_early_data(&self) -> u32 {
        self.session.max_early_data()
    }

    /// A copy of this session with `SSL_SESSION_set_max_early_data(limit)` (the original,
    /// which OpenSSL may share, is left alone).
    pub fn with_max_early_data(&self, limit: u32) -> Option<Self> {
        let mut copy = SslSession::from_der(&self.session.to_der().ok()?).ok()?;
        ffi::set_session_max_early_data(&mut copy, limit).then_some(Self {
            session: copy,
            original: self.original,
            received: self.received,
        })
    }
}

impl fmt::Debug for OpensslSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpensslSession")
            .field("max_early_data", &self.max_early_data())
            .finish_non_exhaustive()
    }
}

pub use zerortt_ossl::MemoryDuplex;

/// The parts of a connection its context shares with the run.
pub struct Sinks {
    /// The context's key log.
    pub keys: Arc<KeyLines>,
    /// A client context's new sessions.
    pub sessions: Option<Arc<NewSessions>>,
    /// A server's ticket clock.
    pub clock: Option<Arc<SessionClock>>,
}

/// One OpenSSL endpoint.
pub struct OpensslSubject {
    stream: Option<SslStream<MemoryDuplex>>,
    random: SeededStream,
    sinks: Option<Sinks>,
    is_client: bool,
    events: Vec<Event>,
    error: Option<SubjectError>,
    new_sessions: Vec<Session>,
    /// Bytes OpenSSL has written in total, and the total at the end of the last client
    /// `SSL_write_early_data` call (records below it are the first flight).
    early_end: u64,
    drained: u64,
    first_handshake_record_sent: bool,
    complete_reported: bool,
    // Client.
    /// The session resumed, until the first call dates it (see [`OpensslSession::redate`]).
    resuming: Option<OpensslSession>,
    session_max_early_data: Option<u32>,
    early_written: usize,
    // Server.
    decision_made: bool,
    early_read: usize,
    finish_returned: bool,
    recv_max_early_data: u32,
}

impl OpensslSubject {
    fn new(
        stream: Option<SslStream<MemoryDuplex>>,
        random: SeededStream,
        sinks: Option<Sinks>,
        is_client: bool,
    ) -> Self {
        Self {
            stream,
            random,
            sinks,
            is_client,
            events: Vec::new(),
            error: None,
            new_sessions: Vec::new(),
            early_end: 0,
            drained: 0,
            first_handshake_record_sent: false,
            complete_reported: false,
            resuming: None,
            session_max_early_data: None,
            early_written: 0,
            decision_made: false,
            early_read: 0,
            finish_returned: false,
            recv_max_early_data: 0,
        }
    }

    /// A client on `ctx` for [`super::rustls_stack::SERVER_NAME`], resuming `session` if
    /// given (one that a client context of this run received, or a copy of one).
    pub fn client(
        ctx: &super::openssl_stack::ClientContext,
        session: Option<OpensslSession>,
        random: SeededStream,
    ) -> Self {
        let name = super::rustls_stack::SERVER_NAME;
        let built = enter(&random, || -> Result<SslStream<MemoryDuplex>, String> {
            let mut ssl = Ssl::new(&ctx.ctx).map_err(|e| format!("SSL_new: {e}"))?;
            ssl.set_hostname(name).map_err(|e| format!("SNI: {e}"))?;
            ssl.param_mut()
                .set_host(name)
                .map_err(|e| format!("host check: {e}"))?;
            if let Some(s) = &session {
                ffi::set_session(&mut ssl, &s.session)?;
            }
            ssl.set_connect_state();
            SslStream::new(ssl, MemoryDuplex::default()).map_err(|e| format!("stream: {e}"))
        });
        let sinks = Sinks {
            keys: ctx.keys.clone(),
            sessions: Some(ctx.sessions.clone()),
            clock: None,
        };
        let mut s = Self::new(None, random, Some(sinks), true);
        s.session_max_early_data = session.as_ref().map(|s| s.max_early_data());
        s.resuming = session;
        match built {
            Ok(stream) => s.stream = Some(stream),
            Err(e) => s.error = Some(fatal(e)),
        }
        s
    }

    /// A server on `ctx`. `max_early_data` overrides the context's for this connection
    /// (`SSL_set_max_early_data`); `tls12_only` caps it at TLS 1.2 (a server downgraded
    /// after it issued TLS 1.3 tickets).
    pub fn server(
        ctx: &super::openssl_stack::ServerContext,
        max_early_data: Option<u32>,
        recv_max_early_data: u32,
        tls12_only: bool,
        random: SeededStream,
    ) -> Self {
        let built = enter(&random, || -> Result<SslStream<MemoryDuplex>, String> {
            let mut ssl = Ssl::new(&ctx.ctx).map_err(|e| format!("SSL_new: {e}"))?;
            if let Some(max) = max_early_data {
                ssl.set_max_early_data(max)
                    .map_err(|e| format!("SSL_set_max_early_data: {e}"))?;
            }
            // The context has it too; per connection as SSL_set_max_early_data above.
            if !ffi::set_recv_max_early_data(&mut ssl, recv_max_early_data) {
                return Err("SSL_set_recv_max_early_data failed".into());
            }
            if tls12_only {
                ssl.set_max_proto_version(Some(SslVersion::TLS1_2))
                    .map_err(|e| format!("SSL_set_max_proto_version: {e}"))?;
            }
            ssl.set_accept_state();
            SslStream::new(ssl, MemoryDuplex::default()).map_err(|e| format!("stream: {e}"))
        });
        let sinks = Sinks {
            keys: ctx.keys.clone(),
            sessions: None,
            clock: Some(ctx.clock.clone()),
        };
        let mut s = Self::new(None, random, Some(sinks), false);
        s.recv_max_early_data = recv_max_early_data;
        match built {
            Ok(stream) => s.stream = Some(stream),
            Err(e) => s.error = Some(fatal(e)),
        }
        s
    }

    /// An endpoint whose context could not be built: every call fails with `message`.
    pub fn broken(message: String, is_client: bool) -> Self {
        let random = SeededStream::new(crate::net::rng::MasterSeed::new(0).stream("broken"));
        let mut s = Self::new(None, random, None, is_client);
        s.error = Some(fatal(message));
        s
    }

    /// Runs one OpenSSL call on the stream with the seeded randomness, then collects what
    /// it produced (secrets, sessions, completion).
    fn call<R>(
        &mut self,
        now: Timestamp,
        f: impl FnOnce(&mut SslStream<MemoryDuplex>) -> Result<R, openssl::ssl::Error>,
    ) -> Result<R, SubjectError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if let Some(mut session) = self.resuming.take() {
            session.redate(now);
        }
        let clock = self.sinks.as_ref().and_then(|s| s.clock.clone());
        if let Some(c) = &clock {
            c.before_call(now);
        }
        let Some(stream) = self.stream.as_mut() else {
            return Err(fatal("no OpenSSL connection"));
        };
        let r = enter(&self.random, || f(stream));
        if let Some(c) = &clock {
            c.after_call(now);
        }
        self.collect(now);
        r.map_err(|e| self.map_error(e))
    }

    fn map_error(&mut self, e: openssl::ssl::Error) -> SubjectError {
        match e.code() {
            ErrorCode::WANT_READ | ErrorCode::WANT_WRITE => SubjectError::WantRead,
            ErrorCode::ZERO_RETURN => SubjectError::Closed,
            _ => {
                let message = format!("OpenSSL: {e}");
                // SSL_read_early_data(3) NOTES: an aborted connection after early data
                // (an alert from the server, or a version it cannot take early data in).
                let lower = message.to_lowercase();
                let retry = self.is_client
                    && self.early_written > 0
                    && (lower.contains("alert") || lower.contains("version"));
                let err = SubjectError::Fatal {
                    message,
                    retry_without_early_data: retry,
                };
                self.error = Some(err.clone());
                err
            }
        }
    }

    /// Secrets, sessions and completion after a call.
    fn collect(&mut self, now: Timestamp) {
        if let Some(sinks) = &self.sinks {
            for line in sinks.keys.take() {
                if let Some(entry) = parse_key_log(&line) {
                    self.events.push(Event::SecretDerived(entry));
                }
            }
            if let Some(sessions) = &sinks.sessions {
                self.new_sessions.extend(
                    sessions
                        .take()
                        .into_iter()
                        .map(|s| Session::Openssl(OpensslSession::new(s, now))),
                );
            }
        }
        let Some(stream) = self.stream.as_ref() else {
            return;
        };
        let ssl = stream.ssl();
        if !self.is_client && !self.decision_made && !stream.get_ref().outgoing.is_empty() {
            // The server flight is written: the ClientHello was processed and early data
            // decided (a HelloRetryRequest rejects it, RFC 9846 4.2.10).
            self.decision_made = true;
            {
                self.events
                    .push(Event::HandshakeReceived(HandshakeType::ClientHello));
                match ffi::early_data_status(ssl) {
                    ffi::SSL_EARLY_DATA_ACCEPTED => {
                        let session = ssl.session().map_or(0, |s| s.max_early_data());
                        self.events.push(Event::EarlyDataAccepted {
                            limit: session.min(self.recv_max_early_data),
                        });
                    }
                    ffi::SSL_EARLY_DATA_REJECTED => self.events.push(Event::EarlyDataRejected {
                        reason: EarlyDataRejectReason::ServerDeclined,
                    }),
                    _ => {}
                }
            }
        }
        if !self.complete_reported && ssl.is_init_finished() {
            self.complete_reported = true;
            if self.is_client && self.early_written > 0 {
                self.events.push(match ffi::early_data_status(ssl) {
                    ffi::SSL_EARLY_DATA_ACCEPTED => Event::EarlyDataAccepted {
                        limit: u32::try_from(self.early_written).unwrap_or(u32::MAX),
                    },
                    _ => Event::EarlyDataRejected {
                        reason: EarlyDataRejectReason::ServerDeclined,
                    },
                });
            }
            let suite = ssl.current_cipher().map_or(CipherSuite::Unknown(0), |c| {
                CipherSuite::from(u16::from_be_bytes(c.protocol_id()))
            });
            let resumed = ssl.session_reused();
            self.events
                .push(Event::HandshakeComplete { suite, resumed });
        }
    }

    /// RecordSent (and HandshakeSent for the hellos) for the records in `bytes`, which
    /// start at stream offset `at`.
    fn record_events(&mut self, bytes: &[u8], mut at: u64) {
        let handshaking = !self.is_init_finished();
        let mut rest = bytes;
        while rest.len() >= 5 {
            let typ = ContentType::from(rest[0]);
            let len = (5 + usize::from(u16::from_be_bytes([rest[3], rest[4]]))).min(rest.len());
            let epoch = match typ {
                ContentType::Handshake | ContentType::ChangeCipherSpec | ContentType::Alert => {
                    KeyEpoch::Plaintext
                }
                _ if self.is_client && at < self.early_end => KeyEpoch::Early,
                _ if handshaking => KeyEpoch::Handshake,
                _ => KeyEpoch::Application,
            };
            // A HelloRetryRequest is a ServerHello with a special random (RFC 9846 4.1.3):
            // the server's flight comes after the second ClientHello.
            let hrr = !self.is_client
                && typ == ContentType::Handshake
                && rest.get(5).map(|&b| HandshakeType::from(b)) == Some(HandshakeType::ServerHello)
                && rest.get(11..43) == Some(&HELLO_RETRY_REQUEST_RANDOM[..]);
            if hrr {
                self.events
                    .push(Event::HandshakeSent(HandshakeType::ServerHello));
            } else if typ == ContentType::Handshake && !self.first_handshake_record_sent {
                self.first_handshake_record_sent = true;
                if self.is_client {
                    self.events
                        .push(Event::HandshakeSent(HandshakeType::ClientHello));
                } else {
                    // The whole flight leaves together: ServerHello ... Finished.
                    self.events
                        .push(Event::HandshakeSent(HandshakeType::ServerHello));
                    self.events
                        .push(Event::HandshakeSent(HandshakeType::Finished));
                }
            }
            self.events.push(Event::RecordSent { epoch, typ, len });
            rest = &rest[len..];
            at += len as u64;
        }
    }

    fn status(&self) -> EarlyDataStatus {
        match self
            .stream
            .as_ref()
            .map(|s| ffi::early_data_status(s.ssl()))
        {
            Some(ffi::SSL_EARLY_DATA_ACCEPTED) => EarlyDataStatus::Accepted,
            Some(ffi::SSL_EARLY_DATA_REJECTED) => EarlyDataStatus::Rejected,
            _ => EarlyDataStatus::NotSent,
        }
    }
}

/// An NSS key log line (`LABEL <client random hex> <secret hex>`) as an entry; TLS 1.2's
/// `CLIENT_RANDOM` and unknown labels give none.
fn parse_key_log(line: &str) -> Option<KeyLogEntry> {
    let mut parts = line.split(' ');
    let (label, random, secret) = (parts.next()?, parts.next()?, parts.next()?);
    let label = KeyLogLabel::from_nss(label)?;
    let random = <[u8; 32]>::try_from(hex(random)?).ok()?;
    Some(KeyLogEntry::new(label, random, hex(secret)?))
}

fn hex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The text of `ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED` (crypto/err/err.c): a call in the
/// wrong state, which leaves the connection as it was.
const SHOULD_NOT_CALL: &str = "called a function you should not call";

fn fatal(e: impl ToString) -> SubjectError {
    SubjectError::Fatal {
        message: e.to_string(),
        retry_without_early_data: false,
    }
}

impl Subject for OpensslSubject {
    fn read_tls(&mut self, bytes: &[u8]) -> usize {
        match self.stream.as_mut() {
            Some(s) if self.error.is_none() => {
                s.get_mut().incoming.extend(bytes);
                bytes.len()
            }
            _ => 0,
        }
    }

    fn write_tls(&mut self, out: &mut Vec<u8>) -> usize {
        let Some(stream) = self.stream.as_mut() else {
            return 0;
        };
        let bytes = std::mem::take(&mut stream.get_mut().outgoing);
        let at = self.drained;
        self.drained += bytes.len() as u64;
        self.record_events(&bytes, at);
        out.extend_from_slice(&bytes);
        bytes.len()
    }

    fn buffered_tls(&self) -> usize {
        self.stream
            .as_ref()
            .map_or(0, |s| s.get_ref().incoming.len())
    }

    fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    fn write_early_data(&mut self, data: &[u8], now: Timestamp) -> Result<usize, SubjectError> {
        if self.is_client {
            // SSL_write_early_data(3): "the total number of bytes written must not exceed
            // the value returned from SSL_SESSION_get_max_early_data()".
            let max = self.session_max_early_data.unwrap_or(0) as usize;
            if max == 0 {
                return Err(SubjectError::Misuse(
                    ApiMisuse::SessionDoesNotAllowEarlyData,
                ));
            }
            let remaining = max.saturating_sub(self.early_written);
            if data.len() > remaining {
                return Err(SubjectError::Misuse(ApiMisuse::EarlyDataLimitExceeded {
                    remaining,
                }));
            }
            if self.is_init_finished() {
                return Err(SubjectError::EarlyDataPhaseEnded);
            }
        }
        let first = self.early_written == 0;
        let r = self.call(now, |s| s.write_early_data(data));
        // What this call wrote is the first flight, unless it completed the handshake:
        // after a rejection OpenSSL's SSL_write_early_data finishes the handshake and
        // sends the data as ordinary application data (ssl/ssl_lib.c, the
        // SSL_EARLY_DATA_WRITE_RETRY case goes through SSL_write_ex).
        if self.is_client && !self.is_init_finished() {
            let total = self
                .stream
                .as_ref()
                .map_or(0, |s| s.get_ref().outgoing.len());
            self.early_end = self.drained + total as u64;
        }
        let n = match r {
            Ok(n) => n,
            Err(SubjectError::Fatal { message, .. })
                if self.is_client && !first && message.contains(SHOULD_NOT_CALL) =>
            {
                // OpenSSL refuses early writes once the early phase is over
                // (ERR_R_SHOULD_NOT_HAVE_BEEN_CALLED): the connection lives on.
                self.error = None;
                return Err(match self.status() {
                    EarlyDataStatus::Rejected => SubjectError::Misuse(ApiMisuse::EarlyDataRejected),
                    _ => SubjectError::EarlyDataPhaseEnded,
                });
            }
            Err(e) => return Err(e),
        };
        if self.is_client {
            if first {
                self.events.insert(
                    0,
                    Event::EarlyDataOffered {
                        max_early_data: self.session_max_early_data.unwrap_or(0),
                    },
                );
            }
            self.early_written += n;
            self.events.push(Event::EarlyDataWritten {
                bytes: n,
                total: self.early_written,
            });
        }
        Ok(n)
    }

    fn read_early_data(
        &mut self,
        buf: &mut [u8],
        now: Timestamp,
    ) -> Result<ReadEarlyData, SubjectError> {
        if self.is_client {
            return Err(SubjectError::Misuse(ApiMisuse::ReadEarlyDataIsServerOnly));
        }
        if self.finish_returned {
            return Err(SubjectError::Misuse(ApiMisuse::ReadEarlyDataAfterFinish));
        }
        match self.call(now, |s| s.read_early_data(buf))? {
            0 => {
                self.finish_returned = true;
                if self.status() == EarlyDataStatus::Accepted {
                    self.events
                        .push(Event::HandshakeReceived(HandshakeType::EndOfEarlyData));
                }
                Ok(ReadEarlyData::Finish)
            }
            n => {
                self.early_read += n;
                self.events.push(Event::EarlyDataReceived {
                    bytes: n,
                    total: self.early_read,
                });
                self.events.push(Event::EarlyDataRead { bytes: n });
                Ok(ReadEarlyData::Success(n))
            }
        }
    }

    fn do_handshake(&mut self, now: Timestamp) -> Result<(), SubjectError> {
        self.call(now, |s| s.do_handshake())
    }

    fn read(&mut self, buf: &mut [u8], now: Timestamp) -> Result<usize, SubjectError> {
        // A client in its early phase reads only when bytes arrived, as an event loop
        // calls SSL_read on a readable socket: OpenSSL's SSL_read there begins the rest of
        // the handshake, and until the server's flight is processed every
        // SSL_write_early_data says WANT_READ.
        let idle = self
            .stream
            .as_ref()
            .is_some_and(|s| s.get_ref().incoming.is_empty() && s.ssl().pending() == 0);
        if self.is_client && self.early_written > 0 && !self.is_init_finished() && idle {
            return Err(SubjectError::WantRead);
        }
        let n = self.call(now, |s| s.ssl_read(buf))?;
        if n == 0 {
            return Err(SubjectError::WantRead);
        }
        self.events.push(Event::ApplicationDataRead { bytes: n });
        Ok(n)
    }

    fn write(&mut self, data: &[u8], now: Timestamp) -> Result<usize, SubjectError> {
        let n = self.call(now, |s| s.ssl_write(data))?;
        self.events.push(Event::ApplicationDataWritten { bytes: n });
        Ok(n)
    }

    fn early_data_status(&self) -> EarlyDataStatus {
        self.status()
    }

    fn is_init_finished(&self) -> bool {
        self.stream
            .as_ref()
            .is_some_and(|s| s.ssl().is_init_finished())
    }

    fn send_close_notify(&mut self) {
        if let (None, Some(stream)) = (&self.error, self.stream.as_mut()) {
            let _ = enter(&self.random, || stream.shutdown());
        }
    }

    fn failed(&self) -> bool {
        self.error.is_some()
    }

    fn take_new_sessions(&mut self) -> Vec<Session> {
        std::mem::take(&mut self.new_sessions)
    }

    /// An OpenSSL application writes each call's output as it leaves the buffering BIO:
    /// flushed at the end of each flight (`statem_flush`), not after a ClientHello that
    /// early data follows, and a server's tickets in their own write when its handshake
    /// completes, before the response (checked in OpenSSL's ssl/statem; README "Socket
    /// writes as real stacks make them").
    fn write_boundaries(&self) -> WriteBoundaries {
        WriteBoundaries::PerCall
    }
}
