//! A blocking driver of a core [`Connection`] over a [`TcpStream`]: call the application
//! API, flush what the connection wants to send, and when it needs bytes from the peer
//! read the socket with a timeout (the call order of `zerortt_core::conn`).
//!
//! Every loop is bounded by a deadline and a step count; nothing here blocks without one.

use super::keylog::KeyLogWriter;
use super::{Failure, LiveError};
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zerortt_core::error::Error;
use zerortt_core::msgs::enums::AlertDescription;
use zerortt_core::time::Timestamp;
use zerortt_core::{ConnError, Connection, Event};

/// A key log file shared by the connections of one command.
pub type SharedKeyLog = Arc<Mutex<KeyLogWriter<File>>>;

/// Most application calls one [`Driver::call`] makes before giving up: a handshake needs a
/// few dozen; this only stops a connection that makes no progress.
const CALL_STEPS_MAX: usize = 10_000;
/// Most bytes of application data kept from one connection's answer.
pub const RESPONSE_BYTES_MAX: usize = 1 << 20;
/// Socket reads at most this much at once (one maximal TLS record and its header).
const READ_CHUNK: usize = 16_384 + 256;
/// The bytes kept from the start of what the peer sent, to tell "not TLS" apart.
const FIRST_BYTES_KEPT: usize = 16;

/// Why a driven call did not complete.
#[derive(Debug)]
pub enum Stop {
    /// The connection returned an error other than "want read".
    Conn(ConnError),
    /// The peer closed the TCP connection (FIN or reset) before the call could complete.
    PeerClosed,
    /// Nothing arrived before the deadline.
    Timeout,
    /// Another socket error.
    Io(std::io::Error),
    /// The connection stopped taking bytes without making progress (a bug, not the peer).
    Stalled,
}

/// How reading an answer ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// Nothing more arrived within the idle time.
    Idle,
    /// The peer sent close_notify.
    CloseNotify,
    /// The peer closed TCP without close_notify.
    Eof,
    /// The connection failed (the peer's alert, or our own).
    Failed(Error),
    /// The overall deadline passed.
    Deadline,
    /// [`RESPONSE_BYTES_MAX`] bytes were read; the rest was not.
    Truncated,
}

impl End {
    /// For people.
    pub fn describe(&self) -> String {
        match self {
            Self::Idle => "server idle".into(),
            Self::CloseNotify => "close_notify".into(),
            Self::Eof => "TCP close without close_notify".into(),
            Self::Failed(Error::AlertReceived(a)) => format!("alert {}", alert_name(*a)),
            Self::Failed(e) => format!("failed: {e}"),
            Self::Deadline => "deadline".into(),
            Self::Truncated => format!("truncated at {RESPONSE_BYTES_MAX} bytes"),
        }
    }
}

/// An alert's name as in RFC 9846 section 6 (`unexpected_message`).
pub fn alert_name(a: AlertDescription) -> String {
    let debug = format!("{a:?}");
    let mut out = String::new();
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_lowercase());
    }
    out
}

/// A connection and its socket.
pub struct Driver {
    /// The core connection.
    pub conn: Connection,
    stream: TcpStream,
    peer: String,
    /// Received bytes the connection has not taken yet (its record buffer is bounded).
    inbox: Vec<u8>,
    eof: bool,
    keylog: Option<SharedKeyLog>,
    /// Every event of the connection, in order.
    pub events: Vec<Event>,
    /// When the first byte from the peer arrived.
    pub first_byte_at: Option<Instant>,
    /// The first bytes the peer sent.
    pub first_bytes: Vec<u8>,
    /// Bytes sent and received on the socket.
    pub bytes_out: usize,
    /// Bytes received.
    pub bytes_in: usize,
}

impl Driver {
    /// Drives `conn` over `stream`; secrets go to `keylog` if given.
    pub fn new(conn: Connection, stream: TcpStream, keylog: Option<SharedKeyLog>) -> Self {
        let peer = stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "the peer".into());
        Self {
            conn,
            stream,
            peer,
            inbox: Vec::new(),
            eof: false,
            keylog,
            events: Vec::new(),
            first_byte_at: None,
            first_bytes: Vec::new(),
            bytes_out: 0,
            bytes_in: 0,
        }
    }

    /// The peer's address, for messages.
    pub fn peer(&self) -> String {
        self.peer.clone()
    }

    /// Sends what the connection has to send; returns those bytes (the probe keeps the
    /// first flight). Also drains events (key log lines are written here).
    pub fn flush(&mut self) -> Result<Vec<u8>, Stop> {
        self.absorb_events();
        let mut out = Vec::new();
        self.conn.write_tls(&mut out);
        if !out.is_empty() {
            self.send_raw(&out)?;
        }
        Ok(out)
    }

    /// Takes what the connection wants to send without sending it (the probe compares a
    /// rebuilt flight with the captured one before anything leaves).
    pub fn take_outgoing(&mut self) -> Vec<u8> {
        self.absorb_events();
        let mut out = Vec::new();
        self.conn.write_tls(&mut out);
        out
    }

    /// Writes `bytes` to the socket as they are (the probe's replayed flight).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        self.stream.write_all(bytes).map_err(|e| match e.kind() {
            ErrorKind::BrokenPipe | ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
                Stop::PeerClosed
            }
            _ => Stop::Io(e),
        })?;
        self.bytes_out += bytes.len();
        Ok(())
    }

    fn absorb_events(&mut self) {
        let new = self.conn.take_events();
        if new.is_empty() {
            return;
        }
        if let Some(log) = &self.keylog {
            let written = match log.lock() {
                Ok(mut w) => w.write_events(&new).map(|_| ()),
                Err(_) => Ok(()),
            };
            if let Err(e) = written {
                eprintln!("warning: --keylog: {e}");
            }
        }
        self.events.extend(new);
    }

    /// Calls `op` until it completes, sending and receiving as it asks, until `deadline`.
    pub fn call<T>(
        &mut self,
        deadline: Instant,
        mut op: impl FnMut(&mut Connection, Timestamp) -> Result<T, ConnError>,
    ) -> Result<T, Stop> {
        for _ in 0..CALL_STEPS_MAX {
            let r = op(&mut self.conn, super::now());
            // Flush even after an error: it carries our alert.
            let flushed = self.flush();
            match r {
                Ok(v) => {
                    flushed?;
                    return Ok(v);
                }
                Err(ConnError::WantRead) => {
                    flushed?;
                    self.pull(deadline)?;
                }
                Err(e) => return Err(Stop::Conn(e)),
            }
        }
        Err(Stop::Stalled)
    }

    /// Reads application data (`Connection::read`) until the peer is idle for `idle`,
    /// closes, fails, or `deadline` passes. A client still in its early data phase reads
    /// 0.5-RTT data without completing the handshake.
    pub fn read_until_idle(&mut self, idle: Duration, deadline: Instant) -> (Vec<u8>, End) {
        let mut data = Vec::new();
        let mut buf = vec![0u8; 16_384];
        for _ in 0..CALL_STEPS_MAX {
            let r = self.conn.read(&mut buf, super::now());
            let flushed = self.flush();
            match r {
                Ok(n) => {
                    let room = RESPONSE_BYTES_MAX - data.len();
                    data.extend_from_slice(&buf[..n.min(room)]);
                    if n > room || data.len() == RESPONSE_BYTES_MAX {
                        return (data, End::Truncated);
                    }
                    continue;
                }
                Err(ConnError::WantRead) => {}
                Err(ConnError::Closed) => return (data, End::CloseNotify),
                Err(ConnError::Fatal(e)) => return (data, End::Failed(e)),
                Err(ConnError::Misuse(m)) => {
                    return (data, End::Failed(Error::Internal(misuse_text(m))));
                }
            }
            if flushed.is_err() {
                return (data, End::Eof);
            }
            let idle_until = (super::instant() + idle).min(deadline);
            match self.pull(idle_until) {
                Ok(()) => {}
                Err(Stop::Timeout) if super::instant() >= deadline => return (data, End::Deadline),
                Err(Stop::Timeout) => return (data, End::Idle),
                Err(_) => return (data, End::Eof),
            }
        }
        (data, End::Deadline)
    }

    /// Hands the connection more bytes: from the inbox, or else from the socket, waiting
    /// until `until` at most.
    fn pull(&mut self, until: Instant) -> Result<(), Stop> {
        if !self.inbox.is_empty() {
            let n = self.conn.read_tls(&self.inbox);
            self.inbox.drain(..n);
            return if n > 0 { Ok(()) } else { Err(Stop::Stalled) };
        }
        if self.eof {
            return Err(Stop::PeerClosed);
        }
        let wait = until.saturating_duration_since(super::instant());
        if wait.is_zero() {
            return Err(Stop::Timeout);
        }
        self.stream.set_read_timeout(Some(wait)).map_err(Stop::Io)?;
        let mut buf = vec![0u8; READ_CHUNK];
        match self.stream.read(&mut buf) {
            Ok(0) => {
                self.eof = true;
                Err(Stop::PeerClosed)
            }
            Ok(n) => {
                self.first_byte_at.get_or_insert_with(super::instant);
                if self.first_bytes.len() < FIRST_BYTES_KEPT {
                    let take = (FIRST_BYTES_KEPT - self.first_bytes.len()).min(n);
                    self.first_bytes.extend_from_slice(&buf[..take]);
                }
                self.bytes_in += n;
                let taken = self.conn.read_tls(&buf[..n]);
                self.inbox.extend_from_slice(&buf[taken..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(Stop::Timeout)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) =>
            {
                self.eof = true;
                Err(Stop::PeerClosed)
            }
            Err(e) => Err(Stop::Io(e)),
        }
    }

    /// Sends close_notify (best effort) and closes the write side, so a peer such as
    /// OpenSSL keeps the session: OpenSSL removes the session of a connection that ends
    /// without close_notify from its cache (`ssl_clear_bad_session`, ssl/ssl_sess.c).
    pub fn close(&mut self) {
        self.conn.send_close_notify();
        let _ = self.flush();
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
    }

    /// True if the peer's first bytes cannot start a TLS record (content type 20 to 24,
    /// then major version 3): the peer speaks another protocol.
    pub fn peer_is_not_tls(&self) -> bool {
        match self.first_bytes.as_slice() {
            [] => false,
            [t] => !(20..=24).contains(t),
            [t, major, ..] => !(20..=24).contains(t) || *major != 3,
        }
    }

    /// A [`LiveError`] for a call that stopped, in words that say what the peer did.
    pub fn explain(&self, stop: &Stop, phase: &str, timeout: Duration) -> LiveError {
        if self.peer_is_not_tls() {
            return LiveError::new(
                Failure::Handshake,
                format!(
                    "{} is not a TLS server: its first bytes {} are not a TLS record (\"{}\")",
                    self.peer(),
                    hex(&self.first_bytes),
                    super::printable(&self.first_bytes)
                ),
            );
        }
        explain_stop(stop, &self.peer(), phase, timeout)
    }
}

/// Words for a stop, without looking at the peer's bytes.
pub fn explain_stop(stop: &Stop, peer: &str, phase: &str, timeout: Duration) -> LiveError {
    use zerortt_core::error::PeerMisbehaved as P;
    const OFFER: &str = "zerortt offers TLS 1.3 only, with X25519 key exchange and ed25519, \
                         ECDSA P-256/P-384 or RSA-PSS signatures";
    match stop {
        Stop::Conn(ConnError::Fatal(Error::AlertReceived(a))) => {
            let hint = match a {
                AlertDescription::HandshakeFailure
                | AlertDescription::ProtocolVersion
                | AlertDescription::InsufficientSecurity => format!(
                    " ({OFFER}: a TLS 1.2-only server, or one with nothing else in common, \
                     answers this way)"
                ),
                _ => String::new(),
            };
            LiveError::new(
                Failure::Handshake,
                format!("{peer} sent alert {} {phase}{hint}", alert_name(*a)),
            )
        }
        Stop::Conn(ConnError::Fatal(Error::PeerMisbehaved(
            P::UnsupportedProtocolVersion | P::DowngradeAfterEarlyData,
        ))) => LiveError::new(
            Failure::Handshake,
            format!("{peer} does not speak TLS 1.3 (it chose TLS 1.2 or lower) {phase}; {OFFER}"),
        ),
        Stop::Conn(ConnError::Fatal(Error::Certificate { reason, .. })) => LiveError::new(
            Failure::Handshake,
            format!(
                "{peer}: certificate not trusted {phase}: {reason}; pass --ca FILE, --sni NAME \
                 or --insecure"
            ),
        ),
        Stop::Conn(e) => LiveError::new(Failure::Handshake, format!("{peer} {phase}: {e}")),
        Stop::PeerClosed => LiveError::new(
            Failure::Silent,
            format!("{peer} closed the connection {phase} without a TLS alert"),
        ),
        Stop::Timeout => LiveError::new(
            Failure::Silent,
            format!("{peer} sent nothing for {} ms {phase}", timeout.as_millis()),
        ),
        Stop::Io(e) => LiveError::new(Failure::Silent, format!("{peer} {phase}: socket: {e}")),
        Stop::Stalled => LiveError::new(
            Failure::Handshake,
            format!("{peer} {phase}: the connection stopped making progress"),
        ),
    }
}

fn misuse_text(m: zerortt_core::ApiMisuse) -> &'static str {
    match m {
        zerortt_core::ApiMisuse::EarlyDataNotFinished => "read before early data finished",
        _ => "API misuse while reading",
    }
}

/// Lowercase hex with spaces between bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_names_are_spelled_as_in_the_rfc() {
        assert_eq!(
            alert_name(AlertDescription::UnexpectedMessage),
            "unexpected_message"
        );
        assert_eq!(
            alert_name(AlertDescription::HandshakeFailure),
            "handshake_failure"
        );
    }
}
