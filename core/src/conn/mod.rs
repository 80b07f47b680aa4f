//! Sans-I/O client and server connections with the early-data semantics of OpenSSL's
//! `SSL_read_early_data(3)` on top of TLS 1.3 (RFC 9846).
//!
//! # Call order
//! 1. Create with [`Connection::client`] or [`Connection::server`].
//! 2. Make the application calls the man page describes: a client calls
//!    [`Connection::write_early_data`] first (or [`Connection::do_handshake`] when it has no
//!    early data); a server calls [`Connection::read_early_data`] until it returns
//!    [`ReadEarlyData::Finish`] (or [`Connection::do_handshake`] to refuse early data).
//! 3. After every call, move bytes: [`Connection::write_tls`] takes what must be sent, and
//!    [`Connection::read_tls`] hands in what arrived (it accepts only what the bounded
//!    buffers hold; offer the rest later). A call that returns [`ConnError::WantRead`] needs
//!    more bytes from the peer.
//! 4. [`Connection::take_events`] drains what happened, for traces and key logs.
//!
//! Every application call takes `now`; nothing here reads a clock.

pub mod api;
mod client;
pub mod config;
pub mod decide;
pub mod events;
mod record_layer;
mod server;

pub use api::{ApiMisuse, ConnError, EarlyDataStatus, ReadEarlyData};
pub use config::{ClientConfig, ServerConfig};
pub use events::{
    EarlyDataRejectReason, Event, KeyEpoch, PskRejectReason, SessionNotOfferedReason,
};

use crate::error::Error;
use crate::msgs::enums::{AlertDescription, ContentType};
use crate::rand::Random;
use crate::tickets::session::ClientSession;
use crate::time::Timestamp;
use config::AllowEarlyData;
use record_layer::RecordLayer;
use std::collections::VecDeque;
use std::sync::Arc;

/// Most plaintext application data buffered for the application before `read_tls` stops
/// accepting bytes (back-pressure instead of growth): 64 KiB plus one record.
pub const MAX_BUFFERED_PLAINTEXT: usize = 64 * 1024;

/// Which end of the connection this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// The TLS client.
    Client,
    /// The TLS server.
    Server,
}

/// A TLS 1.3 connection, client or server. See the module documentation for the call order.
pub struct Connection {
    side: Side,
    rng: Box<dyn Random>,
    rl: RecordLayer,
    /// Decrypted application data waiting for `read` (0.5-RTT data on a client, normal data
    /// after the handshake on both sides).
    plaintext: VecDeque<u8>,
    /// Accepted early data waiting for `read_early_data` (server).
    early_plaintext: VecDeque<u8>,
    events: Vec<Event>,
    /// Sticky fatal error (rustls style): every later call returns it.
    error: Option<Error>,
    peer_closed: bool,
    /// We sent close_notify: no more application data from us (RFC 9846 6.1).
    close_sent: bool,
    /// An application I/O call has been made (the man page's "first IO function").
    io_started: bool,
    early: EarlyData,
    /// SSL_set_max_early_data (server: the limit advertised and accepted; client: unused).
    max_early_data: u32,
    /// SSL_set_recv_max_early_data.
    recv_max_early_data: u32,
    allow_early_data: Option<AllowEarlyData>,
    handshake_complete: bool,
    state: Option<State>,
    /// Sessions (tickets) received by a client, newest last.
    new_sessions: Vec<ClientSession>,
}

/// Early data bookkeeping for both sides (rustls keeps the same: a state and a byte budget).
#[derive(Clone, Debug, Default)]
struct EarlyData {
    status: Option<EarlyDataStatus>,
    /// Client: bytes written so far. Server: bytes received so far (accepted or skipped).
    bytes: usize,
    /// Client: the session's max_early_data. Server: min(session max, recv_max).
    limit: usize,
    /// Client: the app is still in its early-data phase (has not asked to complete the
    /// handshake). Server: read_early_data has not yet returned Finish.
    in_progress: bool,
    /// Server: read_early_data has returned at least once (Success or Finish), so 0.5-RTT
    /// writes are allowed.
    read_returned: bool,
    /// Server: EndOfEarlyData received, or no (more) early data can arrive.
    finished: bool,
    /// The client learned that its early data was rejected (EE without early_data, HRR).
    rejected_seen: bool,
}

enum State {
    Client(Box<client::ClientState>),
    Server(Box<server::ServerState>),
}

impl Connection {
    /// `SSL_new` + `SSL_set_connect_state`: a client for `server_name`, resuming `session`
    /// if given (a ticket, or an external PSK session).
    pub fn client(
        config: Arc<ClientConfig>,
        server_name: &str,
        session: Option<ClientSession>,
        rng: Box<dyn Random>,
    ) -> Self {
        let mut conn = Self::new(
            Side::Client,
            rng,
            0,
            config::DEFAULT_RECV_MAX_EARLY_DATA,
            None,
        );
        conn.state = Some(State::Client(Box::new(client::ClientState::new(
            config,
            server_name,
            session,
        ))));
        conn
    }

    /// `SSL_new` + `SSL_set_accept_state`: a server; max_early_data, recv_max_early_data
    /// and the allow-early-data callback are copied from `config` now.
    pub fn server(config: Arc<ServerConfig>, rng: Box<dyn Random>) -> Self {
        let mut conn = Self::new(
            Side::Server,
            rng,
            config.max_early_data(),
            config.recv_max_early_data(),
            config.allow_early_data.clone(),
        );
        conn.state = Some(State::Server(Box::new(server::ServerState::new(config))));
        conn
    }

    fn new(
        side: Side,
        rng: Box<dyn Random>,
        max_early_data: u32,
        recv_max_early_data: u32,
        allow_early_data: Option<AllowEarlyData>,
    ) -> Self {
        Self {
            side,
            rng,
            rl: RecordLayer::new(),
            plaintext: VecDeque::new(),
            early_plaintext: VecDeque::new(),
            events: Vec::new(),
            error: None,
            peer_closed: false,
            close_sent: false,
            io_started: false,
            early: EarlyData::default(),
            max_early_data,
            recv_max_early_data,
            allow_early_data,
            handshake_complete: false,
            state: None,
            new_sessions: Vec::new(),
        }
    }

    /// Client or server.
    pub fn side(&self) -> Side {
        self.side
    }

    // ----- bytes in, bytes out -------------------------------------------------------

    /// Hands in bytes received from the peer. Returns how many were taken: the record
    /// buffer is bounded (one maximal record), so offer the rest after the next call.
    pub fn read_tls(&mut self, bytes: &[u8]) -> usize {
        if self.error.is_some() {
            return 0;
        }
        if self.plaintext.len() > MAX_BUFFERED_PLAINTEXT {
            return 0;
        }
        self.rl.deframer.push(bytes)
    }

    /// Appends every byte waiting to be sent to `out`; returns how many.
    pub fn write_tls(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.rl.sendable.len();
        out.append(&mut self.rl.sendable);
        n
    }

    /// True if `write_tls` has bytes to give.
    pub fn wants_write(&self) -> bool {
        !self.rl.sendable.is_empty()
    }

    /// Bytes handed in with `read_tls` that no call has processed yet.
    pub fn buffered_tls(&self) -> usize {
        self.rl.deframer.buffered_len()
    }

    /// Drains the events recorded since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Processes buffered records without an application call. A server does nothing
    /// until its application made its first I/O call, because that call decides whether
    /// early data can be accepted (read_early_data) or not (anything else).
    pub fn process_new_packets(&mut self, now: Timestamp) -> Result<(), ConnError> {
        self.check_error()?;
        if self.side == Side::Server && !self.io_started {
            return Ok(());
        }
        self.drive(now)
    }

    // ----- the man page's API ----------------------------------------------------------

    /// `SSL_write_early_data`. Client: must be the first I/O call with a session whose
    /// max_early_data > 0; may be repeated while the total stays within it; a write that
    /// would exceed it is refused whole. Server: 0.5-RTT data after read_early_data first
    /// returned, until the handshake completes.
    pub fn write_early_data(&mut self, data: &[u8], now: Timestamp) -> Result<usize, ConnError> {
        self.check_error()?;
        match self.side {
            Side::Client => self.client_write_early_data(data, now),
            Side::Server => self.server_write_early_data(data, now),
        }
    }

    /// `SSL_read_early_data` (server only; must be the first I/O call).
    pub fn read_early_data(
        &mut self,
        buf: &mut [u8],
        now: Timestamp,
    ) -> Result<ReadEarlyData, ConnError> {
        self.check_error()?;
        if self.side == Side::Client {
            return Err(ApiMisuse::ReadEarlyDataIsServerOnly.into());
        }
        if self.io_started && !self.early.in_progress && !self.early.read_returned {
            return Err(ApiMisuse::ReadEarlyDataNotFirstIo.into());
        }
        if !self.io_started {
            self.io_started = true;
            self.early.in_progress = true;
        }
        if !self.early.in_progress {
            // The man page's state machine reaches FINISH once; OpenSSL answers a later
            // call with SSL_READ_EARLY_DATA_ERROR ("should not have been called").
            return Err(ApiMisuse::ReadEarlyDataAfterFinish.into());
        }
        self.drive(now)?;
        if !self.early_plaintext.is_empty() {
            let n = take_into(&mut self.early_plaintext, buf);
            self.early.read_returned = true;
            self.events.push(Event::EarlyDataRead { bytes: n });
            return Ok(ReadEarlyData::Success(n));
        }
        if self.early.finished {
            self.early.in_progress = false;
            self.early.read_returned = true;
            return Ok(ReadEarlyData::Finish);
        }
        Err(ConnError::WantRead)
    }

    /// `SSL_get_early_data_status`, on either side.
    pub fn early_data_status(&self) -> EarlyDataStatus {
        self.early.status.unwrap_or(EarlyDataStatus::NotSent)
    }

    /// `SSL_is_init_finished`: this side has completed the handshake.
    pub fn is_init_finished(&self) -> bool {
        self.handshake_complete
    }

    /// `SSL_do_handshake` (`SSL_connect` / `SSL_accept`): drives the handshake to its end.
    /// `Ok(())` once complete; [`ConnError::WantRead`] while the peer must answer.
    pub fn do_handshake(&mut self, now: Timestamp) -> Result<(), ConnError> {
        self.check_error()?;
        self.begin_normal_io()?;
        if self.side == Side::Client {
            self.client_finish_early_phase(now)?;
        }
        self.drive(now)?;
        if self.handshake_complete {
            Ok(())
        } else {
            Err(ConnError::WantRead)
        }
    }

    /// `SSL_read_ex`: application data. A client still writing early data may read
    /// (0.5-RTT data) without completing its handshake; otherwise the handshake is
    /// completed first.
    pub fn read(&mut self, buf: &mut [u8], now: Timestamp) -> Result<usize, ConnError> {
        self.check_error()?;
        let interleaved = self.side == Side::Client && self.early.in_progress;
        if !interleaved {
            self.begin_normal_io()?;
            if self.side == Side::Client {
                self.client_finish_early_phase(now)?;
            }
        }
        self.drive(now)?;
        if !self.plaintext.is_empty() {
            let n = take_into(&mut self.plaintext, buf);
            self.events.push(Event::ApplicationDataRead { bytes: n });
            return Ok(n);
        }
        if self.peer_closed {
            return Err(ConnError::Closed);
        }
        Err(ConnError::WantRead)
    }

    /// `SSL_write_ex`: completes the handshake transparently (a client sends
    /// EndOfEarlyData and Finished here), then writes. Until the handshake is complete
    /// nothing is written and [`ConnError::WantRead`] is returned.
    pub fn write(&mut self, data: &[u8], now: Timestamp) -> Result<usize, ConnError> {
        self.check_error()?;
        self.begin_normal_io()?;
        if self.side == Side::Client {
            self.client_finish_early_phase(now)?;
        }
        self.drive(now)?;
        if !self.handshake_complete {
            return Err(ConnError::WantRead);
        }
        if self.close_sent {
            return Err(ApiMisuse::WriteAfterCloseNotify.into());
        }
        let r = self.rl.send_application_data(data, &mut self.events);
        r.map_err(|e| self.fail(e))?;
        self.events
            .push(Event::ApplicationDataWritten { bytes: data.len() });
        Ok(data.len())
    }

    /// Sends close_notify.
    pub fn send_close_notify(&mut self) {
        if self.error.is_none() && !self.close_sent {
            self.close_sent = true;
            self.rl
                .send_alert(AlertDescription::CloseNotify, &mut self.events);
        }
    }

    /// The fatal error, if the connection failed.
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Sessions received from the server (NewSessionTicket), oldest first; taking them
    /// removes them so that a TLS 1.3 ticket is never reused by mistake.
    pub fn take_new_sessions(&mut self) -> Vec<ClientSession> {
        std::mem::take(&mut self.new_sessions)
    }

    /// `SSL_get_max_early_data`.
    pub fn max_early_data(&self) -> u32 {
        self.max_early_data
    }

    /// `SSL_set_max_early_data`: a server advertises this in new tickets and accepts early
    /// data only while it is non-zero. Takes effect for decisions not yet made.
    pub fn set_max_early_data(&mut self, v: u32) {
        self.max_early_data = v;
    }

    /// `SSL_get_recv_max_early_data`.
    pub fn recv_max_early_data(&self) -> u32 {
        self.recv_max_early_data
    }

    /// `SSL_set_recv_max_early_data`.
    pub fn set_recv_max_early_data(&mut self, v: u32) {
        self.recv_max_early_data = v;
    }

    /// `SSL_set_allow_early_data_cb`: overrides the config's callback for this connection.
    pub fn set_allow_early_data_cb(&mut self, cb: Option<AllowEarlyData>) {
        self.allow_early_data = cb;
    }

    /// The negotiated ALPN protocol, once known.
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        match &self.state {
            Some(State::Client(c)) => c.alpn(),
            Some(State::Server(s)) => s.alpn(),
            None => None,
        }
    }

    // ----- internals -------------------------------------------------------------------

    fn check_error(&self) -> Result<(), ConnError> {
        match &self.error {
            Some(e) => Err(ConnError::Fatal(e.clone())),
            None => Ok(()),
        }
    }

    /// Records the first normal I/O call; on a server, refuses it while read_early_data
    /// has not returned Finish (SSL_read_early_data(3): "Servers must not call
    /// SSL_read_ex(3) ... until SSL_read_early_data() has returned with
    /// SSL_READ_EARLY_DATA_FINISH").
    fn begin_normal_io(&mut self) -> Result<(), ConnError> {
        if self.side == Side::Server && self.early.in_progress {
            return Err(ApiMisuse::EarlyDataNotFinished.into());
        }
        self.io_started = true;
        Ok(())
    }

    /// Makes a fatal error sticky and queues its alert.
    fn fail(&mut self, e: Error) -> ConnError {
        if self.error.is_none() {
            if let Some(alert) = e.alert() {
                self.rl.send_alert(alert, &mut self.events);
            }
            self.error = Some(e.clone());
        }
        ConnError::Fatal(e)
    }

    /// Processes every complete buffered record (and starts a client's handshake).
    fn drive(&mut self, now: Timestamp) -> Result<(), ConnError> {
        let r = self.drive_inner(now);
        r.map_err(|e| self.fail(e))
    }

    fn drive_inner(&mut self, now: Timestamp) -> Result<(), Error> {
        if self.side == Side::Client {
            self.client_start(now, false)?;
        }
        // Bounded: each iteration consumes one record from a bounded buffer.
        loop {
            if self.plaintext.len() > MAX_BUFFERED_PLAINTEXT {
                break;
            }
            // A server's read_early_data stops at EndOfEarlyData: "Once it has done so the
            // connection to the client still needs to be completed" by accept/do_handshake
            // or read, so 0.5-RTT writes stay possible until then.
            if self.side == Side::Server && self.early.in_progress && self.early.finished {
                break;
            }
            let Some(record) = self.rl.deframer.pop()? else {
                break;
            };
            self.handle_record(record, now)?;
        }
        Ok(())
    }

    fn handle_record(
        &mut self,
        record: crate::msgs::record::Record,
        now: Timestamp,
    ) -> Result<(), Error> {
        use crate::msgs::enums::ContentType as Ct;
        let wire_len = record.payload.len() + crate::msgs::record::RECORD_HEADER_LEN;
        // Middlebox compatibility (RFC 9846 5 / E.4): a plaintext change_cipher_spec with
        // the single byte 0x01 may arrive during the handshake and is dropped.
        if record.typ == Ct::ChangeCipherSpec {
            // RFC 9846 5: only "after the first ClientHello message has been sent or
            // received and before the peer's Finished message has been received".
            let in_window = match &self.state {
                Some(State::Client(c)) => c.ccs_allowed(),
                Some(State::Server(s)) => s.ccs_allowed(),
                None => false,
            };
            if !in_window || record.payload != [1] {
                return Err(crate::error::PeerMisbehaved::IllegalChangeCipherSpec.into());
            }
            return Ok(());
        }
        match self.rl.open(record, &mut self.events)? {
            Some((epoch, typ, content)) => self.dispatch(epoch, typ, content, wire_len, now),
            None => Ok(()),
        }
    }

    fn dispatch(
        &mut self,
        epoch: KeyEpoch,
        typ: ContentType,
        content: Vec<u8>,
        wire_len: usize,
        now: Timestamp,
    ) -> Result<(), Error> {
        use crate::msgs::enums::ContentType as Ct;
        // RFC 9846 6.1: "Any data received after a closure alert has been received MUST be
        // ignored."
        if self.peer_closed {
            return Ok(());
        }
        self.events.push(Event::RecordReceived {
            epoch,
            typ,
            len: wire_len,
        });
        match typ {
            Ct::Handshake => {
                self.rl.joiner.push(&content)?;
                // Bounded by the joiner's buffer.
                while let Some((msg, raw)) = self.rl.joiner.pop()? {
                    self.events.push(Event::HandshakeReceived(msg.typ));
                    self.handle_handshake(msg, raw, epoch, now)?;
                }
                Ok(())
            }
            Ct::ApplicationData => self.handle_application_data(epoch, content),
            Ct::Alert => self.handle_alert(&content),
            _ => Err(Error::InappropriateMessage {
                expected: "handshake, alert or application data",
                got: typ,
            }),
        }
    }

    fn handle_handshake(
        &mut self,
        msg: crate::msgs::handshake::HandshakeMessage,
        raw: Vec<u8>,
        epoch: KeyEpoch,
        now: Timestamp,
    ) -> Result<(), Error> {
        match self.state.take() {
            Some(State::Client(c)) => {
                let next = self.client_handle(c, msg, raw, epoch, now);
                match next {
                    Ok(c) => {
                        self.state = Some(State::Client(c));
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Some(State::Server(s)) => {
                let next = self.server_handle(s, msg, raw, epoch, now);
                match next {
                    Ok(s) => {
                        self.state = Some(State::Server(s));
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            None => Err(Error::Internal("state missing after an earlier failure")),
        }
    }

    fn handle_application_data(&mut self, epoch: KeyEpoch, content: Vec<u8>) -> Result<(), Error> {
        match (self.side, epoch) {
            (Side::Server, KeyEpoch::Early) => self.server_accept_early_data(content),
            (_, KeyEpoch::Application) => {
                self.plaintext.extend(content);
                Ok(())
            }
            _ => Err(Error::InappropriateMessage {
                expected: "handshake",
                got: ContentType::ApplicationData,
            }),
        }
    }

    fn handle_alert(&mut self, content: &[u8]) -> Result<(), Error> {
        use crate::codec::Codec;
        let alert = crate::msgs::alert::Alert::read_bytes(content)?;
        self.events.push(Event::AlertReceived(alert.description));
        // RFC 9846 6.1: close_notify ends the stream; user_canceled is followed by it.
        match alert.description {
            AlertDescription::CloseNotify => {
                self.peer_closed = true;
                Ok(())
            }
            AlertDescription::UserCanceled => Ok(()),
            // RFC 9846 6.2: every other alert is fatal.
            d => {
                self.error = Some(Error::AlertReceived(d));
                Err(Error::AlertReceived(d))
            }
        }
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("side", &self.side)
            .field("early_data_status", &self.early_data_status())
            .field("handshake_complete", &self.handshake_complete)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// Moves up to `buf.len()` bytes out of `q`.
fn take_into(q: &mut VecDeque<u8>, buf: &mut [u8]) -> usize {
    // Slice copies, not a byte loop: this runs for every byte the application reads.
    let n = q.len().min(buf.len());
    let (front, back) = q.as_slices();
    let a = front.len().min(n);
    buf[..a].copy_from_slice(&front[..a]);
    buf[a..n].copy_from_slice(&back[..n - a]);
    q.drain(..n);
    n
}
