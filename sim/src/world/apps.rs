//! The applications at the fabric's nodes: a scripted TLS client, a read_early_data
//! server, an attacker that replays a tapped first flight, and the external session cache
//! reached over a link with latency.

use super::timestamp;
use crate::net::{AppCtx, Application, SimTime};
use crate::scenario::Scenario;
use crate::subject::{Session, Subject, SubjectError, WriteBoundaries};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zerortt_core::conn::events::KeyEpoch;
use zerortt_core::msgs::enums::ContentType;
use zerortt_core::tickets::cache::{RemovalReason, SessionCache, SessionStoreCallbacks};
use zerortt_core::tickets::session::ServerSessionValue;
use zerortt_core::{ApiMisuse, EarlyDataStatus, Event, ReadEarlyData};

/// Bytes of the server's response to the request.
pub const RESPONSE_BYTES: usize = 1000;
/// Bound on application steps per fabric event (each consumes buffered input).
const STEPS_PER_EVENT_MAX: usize = 64;
/// Bytes each application reads per TLS call (one maximal record of plaintext).
const READ_BUF_LEN: usize = 16 * 1024;

/// Bytes of the server's 0.5-RTT response.
pub const HALF_RTT_BYTES: usize = 200;

/// Which connection of the run this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The full handshake that issues tickets.
    Warmup,
    /// The resumed connection with early data.
    ZeroRtt,
    /// The retry without early data after an abort.
    Retry,
    /// The attacker's i-th replay.
    Replay(usize),
}

impl Role {
    /// Stable name used in node names and traces.
    pub fn name(self) -> String {
        match self {
            Role::Warmup => "warmup".into(),
            Role::ZeroRtt => "0rtt".into(),
            Role::Retry => "retry".into(),
            Role::Replay(i) => format!("replay{i}"),
        }
    }
}

/// Everything observed on one TLS connection.
#[derive(Debug)]
pub struct ConnRecord {
    /// Role in the run.
    pub role: Role,
    /// Stable name.
    pub name: String,
    /// Server index.
    pub server: usize,
    /// When the client (or attacker) connects.
    pub start: SimTime,
    /// (client or attacker node, server node).
    pub nodes: Option<(crate::net::NodeId, crate::net::NodeId)>,
    /// Client TLS events with their times.
    pub client_events: Vec<(SimTime, u64, Event)>,
    /// Server TLS events with their times.
    pub server_events: Vec<(SimTime, u64, Event)>,
    /// Early data the client wrote, in order.
    pub early_written: Vec<u8>,
    /// Early data the server application read, in order.
    pub early_read: Vec<u8>,
    /// Client-side stream offsets `[start, end)` of early data records.
    pub early_offsets: Vec<(u64, u64)>,
    /// Bytes the client application wrote into TCP.
    pub client_stream_len: u64,
    /// What a tap on the client's link sees of the first flight: ClientHello, CCS and
    /// every record under the early keys.
    pub capture: Vec<u8>,
    /// Tickets the client received.
    pub tickets: Vec<Session>,
    /// Statuses when each side finished its handshake.
    pub client_status: Option<EarlyDataStatus>,
    /// Server status at handshake completion (or at read_early_data Finish for replays).
    pub server_status: Option<EarlyDataStatus>,
    /// Handshake completion times.
    pub client_done: Option<SimTime>,
    /// Server handshake completion.
    pub server_done: Option<SimTime>,
    /// First 0.5-RTT byte at the client.
    pub half_rtt_at_client: Option<SimTime>,
    /// Fatal errors, as text.
    pub client_error: Option<String>,
    /// Server fatal error.
    pub server_error: Option<String>,
    /// API calls refused that the script did not expect (an API-contract breach).
    pub unexpected_misuse: Vec<String>,
    /// The client asked for a retry without early data.
    pub retry_requested: bool,
    /// The full response arrived at the client.
    pub response_received: Option<SimTime>,
}

impl ConnRecord {
    pub(super) fn new(role: Role, name: String, server: usize, start: SimTime) -> Self {
        Self {
            role,
            name,
            server,
            start,
            nodes: None,
            client_events: Vec::new(),
            server_events: Vec::new(),
            early_written: Vec::new(),
            early_read: Vec::new(),
            early_offsets: Vec::new(),
            client_stream_len: 0,
            capture: Vec::new(),
            tickets: Vec::new(),
            client_status: None,
            server_status: None,
            client_done: None,
            server_done: None,
            half_rtt_at_client: None,
            client_error: None,
            server_error: None,
            unexpected_misuse: Vec::new(),
            retry_requested: false,
            response_received: None,
        }
    }

    /// The client side is done: response received or failed.
    pub fn finished(&self) -> bool {
        self.response_received.is_some() || self.client_error.is_some()
    }

    /// The server accepted early data on this connection.
    pub fn server_accepted_early_data(&self) -> bool {
        self.server_events
            .iter()
            .any(|(_, _, e)| matches!(e, Event::EarlyDataAccepted { .. }))
    }
}

/// State shared by all applications of a run.
#[derive(Default)]
pub struct Shared {
    /// Global order of TLS events at equal times.
    pub seq: u64,
    /// Per server: connections in progress (for `allow_early_data = "load:N"`).
    gauges: BTreeMap<usize, Arc<AtomicUsize>>,
}

impl Shared {
    /// The load gauge of server `index`.
    pub fn load_gauge(&mut self, index: usize) -> Arc<AtomicUsize> {
        self.gauges.entry(index).or_default().clone()
    }
}

/// Appends one side's events to a record.
pub struct ConnLog {
    record: Rc<RefCell<ConnRecord>>,
    client: bool,
}

impl ConnLog {
    pub(super) fn client(record: Rc<RefCell<ConnRecord>>) -> Self {
        Self {
            record,
            client: true,
        }
    }

    pub(super) fn server(record: Rc<RefCell<ConnRecord>>) -> Self {
        Self {
            record,
            client: false,
        }
    }
}

/// Moves TLS output into TCP, keeping what the send buffer refuses, and records events.
struct Pump {
    outbox: Vec<u8>,
    inbox: Vec<u8>,
}

impl Pump {
    fn new() -> Self {
        Self {
            outbox: Vec::new(),
            inbox: Vec::new(),
        }
    }

    fn input(&mut self, ctx: &mut AppCtx<'_>, tls: &mut dyn Subject) {
        ctx.recv(&mut self.inbox);
        self.feed(tls);
    }

    /// Hands TLS as much of the received bytes as its bounded record buffer takes. Called
    /// before every TLS call: bytes TCP already delivered get no second wake-up.
    fn feed(&mut self, tls: &mut dyn Subject) {
        let n = tls.read_tls(&self.inbox);
        self.inbox.drain(..n);
    }

    /// Drains events and output; the client side also maps records to stream offsets.
    fn output(
        &mut self,
        ctx: &mut AppCtx<'_>,
        tls: &mut dyn Subject,
        log: &ConnLog,
        shared: &Rc<RefCell<Shared>>,
    ) {
        let now = ctx.now();
        let mut bytes = Vec::new();
        tls.write_tls(&mut bytes);
        let events = tls.take_events();
        let mut rec = log.record.borrow_mut();
        let mut at = 0usize;
        for e in events {
            if log.client {
                if let Event::RecordSent { epoch, typ, len } = &e {
                    let start = rec.client_stream_len + at as u64;
                    let end = start + *len as u64;
                    if *epoch == KeyEpoch::Early && *typ == ContentType::ApplicationData {
                        rec.early_offsets.push((start, end));
                    }
                    if matches!(epoch, KeyEpoch::Plaintext | KeyEpoch::Early) {
                        let slice = bytes.get(at..at + len).unwrap_or(&[]);
                        rec.capture.extend_from_slice(slice);
                    }
                    at += len;
                }
            }
            let seq = {
                let mut s = shared.borrow_mut();
                s.seq += 1;
                s.seq
            };
            if log.client {
                rec.client_events.push((now, seq, e));
            } else {
                rec.server_events.push((now, seq, e));
            }
        }
        if log.client {
            rec.client_stream_len += bytes.len() as u64;
        }
        drop(rec);
        self.outbox.extend_from_slice(&bytes);
        self.flush(ctx);
    }

    /// After each API call: output of a stack whose applications write once per call
    /// (OpenSSL's) is written now, in a write of its own ([`WriteBoundaries`]).
    fn call_done(
        &mut self,
        ctx: &mut AppCtx<'_>,
        tls: &mut dyn Subject,
        log: &ConnLog,
        shared: &Rc<RefCell<Shared>>,
    ) {
        if tls.write_boundaries() == WriteBoundaries::PerCall {
            self.output(ctx, tls, log, shared);
        }
    }

    fn flush(&mut self, ctx: &mut AppCtx<'_>) {
        if !self.outbox.is_empty()
            && ctx
                .socket()
                .is_some_and(|s| s.is_established() || s.may_send())
        {
            let n = ctx.write(&self.outbox);
            self.outbox.drain(..n);
        }
    }
}

/// Deterministic early data content: chunk index and position, so a reordering or a
/// duplicate is visible in the bytes.
fn early_bytes(chunk: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (chunk as u8).wrapping_mul(31).wrapping_add(i as u8))
        .collect()
}

/// The scripted client.
pub struct ClientApp {
    tls: Box<dyn Subject>,
    read_buf: Vec<u8>,
    log: ConnLog,
    pump: Pump,
    shared: Rc<RefCell<Shared>>,
    chunks: Vec<usize>,
    chunk_index: usize,
    next_chunk_at: Option<SimTime>,
    early_stopped: bool,
    /// The current chunk was cut to the session's remaining max_early_data: early data
    /// ends with it.
    last_chunk: bool,
    connected: bool,
    request_sent: bool,
    response_len: usize,
    expected_response: usize,
    nagle_restored: bool,
    failed: bool,
    scenario: Scenario,
}

impl ClientApp {
    pub(super) fn new(
        tls: Box<dyn Subject>,
        log: ConnLog,
        chunks: Vec<usize>,
        scenario: Scenario,
        shared: Rc<RefCell<Shared>>,
    ) -> Self {
        let expected_response = RESPONSE_BYTES
            + if scenario.server.half_rtt_response {
                HALF_RTT_BYTES
            } else {
                0
            };
        Self {
            tls,
            read_buf: Vec::new(),
            log,
            pump: Pump::new(),
            shared,
            chunks,
            chunk_index: 0,
            next_chunk_at: None,
            early_stopped: false,
            last_chunk: false,
            connected: false,
            request_sent: false,
            response_len: 0,
            expected_response,
            nagle_restored: false,
            failed: false,
            scenario,
        }
    }

    fn fail(&mut self, ctx: &mut AppCtx<'_>, e: SubjectError) {
        let mut rec = self.log.record.borrow_mut();
        rec.client_error = Some(e.to_string());
        // SSL_read_early_data(3) NOTES: retry without early data after an abort.
        rec.retry_requested = !rec.early_written.is_empty() && e.should_retry_without_early_data();
        drop(rec);
        self.failed = true;
        self.pump
            .output(ctx, self.tls.as_mut(), &self.log, &self.shared);
        ctx.close();
    }

    /// The socket write that follows an API call, where the stack's applications make one.
    fn call_done(&mut self, ctx: &mut AppCtx<'_>) {
        self.pump
            .call_done(ctx, self.tls.as_mut(), &self.log, &self.shared);
    }

    fn step(&mut self, ctx: &mut AppCtx<'_>) -> Result<(), SubjectError> {
        // One read buffer per application, not a zeroed 16 KiB allocation per wake-up.
        let mut buf = std::mem::take(&mut self.read_buf);
        buf.resize(READ_BUF_LEN, 0);
        let r = self.step_with(ctx, &mut buf);
        self.read_buf = buf;
        r
    }

    fn step_with(&mut self, ctx: &mut AppCtx<'_>, buf: &mut [u8]) -> Result<(), SubjectError> {
        let now = ctx.now();
        let ts = timestamp(now);
        // Early data chunks at their scheduled times.
        while let Some(at) = self.next_chunk_at {
            if at > now {
                ctx.wake_at(at);
                break;
            }
            let data = early_bytes(self.chunk_index, self.chunks[self.chunk_index]);
            match self.tls.write_early_data(&data, ts) {
                Ok(n) => self
                    .log
                    .record
                    .borrow_mut()
                    .early_written
                    .extend_from_slice(&data[..n]),
                // A rejection, or a stack that ended the early phase itself (rustls): the
                // script's early data stops here.
                Err(SubjectError::Misuse(ApiMisuse::EarlyDataRejected))
                | Err(SubjectError::EarlyDataPhaseEnded) => self.early_stopped = true,
                Err(SubjectError::Misuse(ApiMisuse::SessionDoesNotAllowEarlyData)) => {
                    self.early_stopped = true
                }
                // The man page: "the total number of bytes written must not exceed the
                // value returned from SSL_SESSION_get_max_early_data()". The script cuts
                // this chunk to what still fits, writes it as any other chunk (so a
                // WANT_READ retries it with the same bytes, as SSL_write_ex(3) requires),
                // and ends its early data there.
                Err(SubjectError::Misuse(ApiMisuse::EarlyDataLimitExceeded { remaining })) => {
                    self.last_chunk = true;
                    if remaining > 0 && remaining < data.len() {
                        self.chunks[self.chunk_index] = remaining;
                        continue;
                    }
                    self.early_stopped = true;
                }
                Err(SubjectError::Misuse(m)) => self
                    .log
                    .record
                    .borrow_mut()
                    .unexpected_misuse
                    .push(format!("client write_early_data: {m}")),
                // SSL_write_early_data(3): a failure is handled "as for SSL_write_ex(3)":
                // WANT_READ means call again with the same data once input arrived
                // (OpenSSL's client, after an SSL_read in its early phase, waits for the
                // server's flight). The chunk stays due; input wakes the client.
                Err(SubjectError::WantRead) => break,
                Err(e) => return Err(e),
            }
            self.early_stopped |= self.last_chunk;
            self.call_done(ctx);
            self.chunk_index += 1;
            self.next_chunk_at = (self.chunk_index < self.chunks.len() && !self.early_stopped)
                .then(|| now.saturating_add(super::ms(self.scenario.client.chunk_interval_ms)));
        }
        if self.next_chunk_at.is_some() {
            // Still in the early phase: reading is allowed and processes the server's flight.
            self.pump.feed(self.tls.as_mut());
            let r = self.tls.read(&mut *buf, ts);
            self.call_done(ctx);
            match r {
                Ok(n) => self.got_response(now, n),
                Err(SubjectError::WantRead) => {}
                Err(SubjectError::Misuse(m)) => self
                    .log
                    .record
                    .borrow_mut()
                    .unexpected_misuse
                    .push(format!("client read: {m}")),
                Err(e) => return Err(e),
            }
            return Ok(());
        }
        if !self.tls.is_init_finished() {
            self.pump.feed(self.tls.as_mut());
            let r = self.tls.do_handshake(ts);
            self.call_done(ctx);
            match r {
                Ok(()) | Err(SubjectError::WantRead) => {}
                Err(e) => return Err(e),
            }
        }
        if self.tls.is_init_finished() {
            if self.log.record.borrow().client_done.is_none() {
                let mut rec = self.log.record.borrow_mut();
                rec.client_done = Some(now);
                rec.client_status = Some(self.tls.early_data_status());
            }
            if self.scenario.tcp.client_nagle_after_handshake && !self.nagle_restored {
                self.nagle_restored = true;
                ctx.set_nodelay(false);
            }
            if !self.request_sent {
                self.request_sent = true;
                let request = vec![b'q'; self.scenario.client.request_bytes.max(1)];
                let r = self.tls.write(&request, ts);
                self.call_done(ctx);
                r?;
            }
        }
        // Bounded: each read drains buffered plaintext.
        for _ in 0..64 {
            self.pump.feed(self.tls.as_mut());
            let r = self.tls.read(&mut *buf, ts);
            self.call_done(ctx);
            match r {
                Ok(n) => self.got_response(now, n),
                Err(SubjectError::WantRead) | Err(SubjectError::Closed) => break,
                Err(SubjectError::Misuse(m)) => {
                    self.log
                        .record
                        .borrow_mut()
                        .unexpected_misuse
                        .push(format!("client read: {m}"));
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        let sessions = self.tls.take_new_sessions();
        self.log.record.borrow_mut().tickets.extend(sessions);
        Ok(())
    }

    fn got_response(&mut self, now: SimTime, n: usize) {
        let mut rec = self.log.record.borrow_mut();
        // The server's 0.5-RTT data travels with its flight, so it is the first application
        // data the client sees.
        if self.scenario.server.half_rtt_response && n > 0 && rec.half_rtt_at_client.is_none() {
            rec.half_rtt_at_client = Some(now);
        }
        self.response_len += n;
        if self.response_len >= self.expected_response && rec.response_received.is_none() {
            rec.response_received = Some(now);
        }
    }
}

impl Application for ClientApp {
    fn on_event(&mut self, ctx: &mut AppCtx<'_>) {
        if self.failed {
            let _ = ctx.read_all();
            return;
        }
        self.pump.input(ctx, self.tls.as_mut());
        if !self.connected {
            if !ctx.socket().is_some_and(|s| s.is_established()) {
                return;
            }
            self.connected = true;
            if self.chunks.is_empty() {
                self.next_chunk_at = None;
            } else {
                self.next_chunk_at = Some(ctx.now());
            }
        }
        // Again while TLS takes more of what TCP already delivered (its record buffer holds
        // one record): no later event will hand those bytes over.
        for _ in 0..STEPS_PER_EVENT_MAX {
            let before = self.pump.inbox.len();
            if let Err(e) = self.step(ctx) {
                self.fail(ctx, e);
                return;
            }
            // Progress if TLS now takes more of what is waiting.
            self.pump.feed(self.tls.as_mut());
            if self.pump.inbox.is_empty() && before == 0 || self.pump.inbox.len() == before {
                break;
            }
        }
        self.pump
            .output(ctx, self.tls.as_mut(), &self.log, &self.shared);
        // A server that closes TCP without close_notify or an alert (a stack that gave up,
        // as rustls does on a read_tls error) ends the connection: SSL_read(3) reports an
        // unexpected EOF (SSL_ERROR_SYSCALL). Waiting would wait forever. Still handshaking,
        // it is the man page's "aborted connection while sending early data".
        if self.log.record.borrow().response_received.is_none()
            && self.pump.inbox.is_empty()
            && ctx.socket().is_some_and(|s| s.peer_closed())
        {
            let handshaking = !self.tls.is_init_finished();
            self.fail(
                ctx,
                SubjectError::Fatal {
                    message: "the server closed the connection without close_notify".into(),
                    retry_without_early_data: handshaking,
                },
            );
            return;
        }
        if self.log.record.borrow().response_received.is_some() {
            self.tls.send_close_notify();
            self.pump
                .output(ctx, self.tls.as_mut(), &self.log, &self.shared);
            ctx.close();
            self.failed = true;
        }
    }
}

/// The server application: read_early_data until Finish (optionally answering with 0.5-RTT
/// data), then complete the handshake, read the request, respond.
pub struct ServerApp {
    tls: Box<dyn Subject>,
    read_buf: Vec<u8>,
    log: ConnLog,
    pump: Pump,
    shared: Rc<RefCell<Shared>>,
    index: usize,
    phase: ServerPhase,
    half_rtt_sent: bool,
    request_len: usize,
    scenario: Scenario,
    external: Option<Arc<Mutex<LatentExternalCache>>>,
    counted: bool,
    closed: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerPhase {
    ReadingEarlyData,
    Handshake,
    Request,
    Done,
}

impl ServerApp {
    pub(super) fn new(
        tls: Box<dyn Subject>,
        log: ConnLog,
        index: usize,
        scenario: Scenario,
        shared: Rc<RefCell<Shared>>,
        external: Option<Arc<Mutex<LatentExternalCache>>>,
    ) -> Self {
        Self {
            tls,
            read_buf: Vec::new(),
            log,
            pump: Pump::new(),
            shared,
            index,
            phase: ServerPhase::ReadingEarlyData,
            half_rtt_sent: false,
            request_len: 0,
            scenario,
            external,
            counted: false,
            closed: false,
        }
    }

    fn gauge(&self, delta: isize) {
        let g = self.shared.borrow_mut().load_gauge(self.index);
        if delta > 0 {
            g.fetch_add(1, Ordering::Relaxed);
        } else {
            let _ = g.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1));
        }
    }

    fn half_rtt(
        &mut self,
        ctx: &mut AppCtx<'_>,
        ts: zerortt_core::time::Timestamp,
    ) -> Result<(), SubjectError> {
        if self.scenario.server.half_rtt_response && !self.half_rtt_sent {
            self.half_rtt_sent = true;
            let r = self.tls.write_early_data(&[b'h'; HALF_RTT_BYTES], ts);
            self.call_done(ctx);
            r?;
        }
        Ok(())
    }

    /// The socket write that follows an API call, where the stack's applications make one.
    fn call_done(&mut self, ctx: &mut AppCtx<'_>) {
        self.pump
            .call_done(ctx, self.tls.as_mut(), &self.log, &self.shared);
    }

    fn step(&mut self, ctx: &mut AppCtx<'_>) -> Result<(), SubjectError> {
        // One read buffer per application, not a zeroed 16 KiB allocation per wake-up.
        let mut buf = std::mem::take(&mut self.read_buf);
        buf.resize(READ_BUF_LEN, 0);
        let r = self.step_with(ctx, &mut buf);
        self.read_buf = buf;
        r
    }

    fn step_with(&mut self, ctx: &mut AppCtx<'_>, buf: &mut [u8]) -> Result<(), SubjectError> {
        let now = ctx.now();
        let ts = timestamp(now);
        if self.phase == ServerPhase::ReadingEarlyData {
            for _ in 0..1024 {
                self.pump.feed(self.tls.as_mut());
                let r = self.tls.read_early_data(&mut *buf, ts);
                self.call_done(ctx);
                match r {
                    Ok(ReadEarlyData::Success(n)) => {
                        self.log
                            .record
                            .borrow_mut()
                            .early_read
                            .extend_from_slice(&buf[..n]);
                        self.half_rtt(ctx, ts)?;
                    }
                    Ok(ReadEarlyData::Finish) => {
                        self.half_rtt(ctx, ts)?;
                        self.phase = ServerPhase::Handshake;
                        self.log.record.borrow_mut().server_status =
                            Some(self.tls.early_data_status());
                        break;
                    }
                    Err(SubjectError::WantRead) => break,
                    Err(SubjectError::Misuse(m)) => {
                        self.log
                            .record
                            .borrow_mut()
                            .unexpected_misuse
                            .push(format!("server read_early_data: {m}"));
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        if self.phase == ServerPhase::Handshake {
            self.pump.feed(self.tls.as_mut());
            let r = self.tls.do_handshake(ts);
            self.call_done(ctx);
            match r {
                Ok(()) => {
                    self.phase = ServerPhase::Request;
                    let mut rec = self.log.record.borrow_mut();
                    rec.server_done = Some(now);
                    rec.server_status = Some(self.tls.early_data_status());
                }
                Err(SubjectError::WantRead) => {}
                Err(e) => return Err(e),
            }
        }
        if self.phase == ServerPhase::Request {
            for _ in 0..64 {
                self.pump.feed(self.tls.as_mut());
                let r = self.tls.read(&mut *buf, ts);
                self.call_done(ctx);
                match r {
                    Ok(n) => self.request_len += n,
                    Err(SubjectError::WantRead) | Err(SubjectError::Closed) => break,
                    Err(e) => return Err(e),
                }
            }
            if self.request_len >= self.scenario.client.request_bytes.max(1) {
                let r = self.tls.write(&[b'r'; RESPONSE_BYTES], ts);
                self.call_done(ctx);
                r?;
                self.phase = ServerPhase::Done;
            }
        }
        Ok(())
    }
}

impl Application for ServerApp {
    fn on_event(&mut self, ctx: &mut AppCtx<'_>) {
        if let Some(ext) = &self.external {
            if let Ok(mut e) = ext.lock() {
                e.apply_due(ctx.now());
            }
        }
        self.pump.input(ctx, self.tls.as_mut());
        if self.tls.buffered_tls() == 0
            && self.phase == ServerPhase::ReadingEarlyData
            && !self.counted
        {
            return;
        }
        if !self.counted {
            self.counted = true;
            self.gauge(1);
        }
        let was_done = self.phase == ServerPhase::Done || self.tls.failed();
        // Again while TLS takes more of what TCP already delivered (see ClientApp).
        for _ in 0..STEPS_PER_EVENT_MAX {
            let before = self.pump.inbox.len();
            if self.tls.failed() {
                break;
            }
            if let Err(e) = self.step(ctx) {
                self.log.record.borrow_mut().server_error = Some(e.to_string());
                break;
            }
            // Progress if TLS now takes more of what is waiting.
            self.pump.feed(self.tls.as_mut());
            if self.pump.inbox.is_empty() && before == 0 || self.pump.inbox.len() == before {
                break;
            }
        }
        self.pump
            .output(ctx, self.tls.as_mut(), &self.log, &self.shared);
        let done = self.phase == ServerPhase::Done || self.tls.failed();
        if done && !was_done {
            self.gauge(-1);
        }
        // A failed connection is closed at once; a served one stays open until the client
        // closes (keep-alive). Closing at once would push out what Nagle holds: Linux's
        // tcp_send_fin pushes pending data with TCP_NAGLE_OFF.
        let peer_closed = ctx.socket().is_some_and(|s| s.peer_closed());
        if !self.closed && (self.tls.failed() || (done && peer_closed)) {
            self.closed = true;
            ctx.close();
        }
        if let Some(ext) = &self.external {
            if let Ok(mut e) = ext.lock() {
                e.stamp_pending(ctx.now());
            }
        }
    }
}

/// Sends what it tapped of the victim's first flight, once connected.
pub struct AttackerApp {
    victim: Rc<RefCell<ConnRecord>>,
    log: Rc<RefCell<ConnRecord>>,
    sent: bool,
}

impl AttackerApp {
    pub(super) fn new(victim: Rc<RefCell<ConnRecord>>, log: Rc<RefCell<ConnRecord>>) -> Self {
        Self {
            victim,
            log,
            sent: false,
        }
    }
}

impl Application for AttackerApp {
    fn on_event(&mut self, ctx: &mut AppCtx<'_>) {
        let _ = ctx.read_all();
        if !self.sent && ctx.socket().is_some_and(|s| s.is_established()) {
            self.sent = true;
            let capture = self.victim.borrow().capture.clone();
            self.log.borrow_mut().early_written = self.victim.borrow().early_written.clone();
            let n = ctx.write(&capture);
            self.log.borrow_mut().client_stream_len = n as u64;
        }
    }
}

/// An external session cache (SSL_CTX_sess_set_new_cb / remove_cb / get_cb) reached over a
/// link: new sessions arrive at once, removals arrive `latency` after the server issued
/// them. Between the two, another server can still fetch a session its owner already
/// removed internally — the race the man page warns about.
pub struct LatentExternalCache {
    latency: Duration,
    entries: BTreeMap<Vec<u8>, ServerSessionValue>,
    /// OpenSSL sessions (DER, `i2d_SSL_SESSION`) by id, when the servers are OpenSSL.
    der: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Removals in flight: (due, id); `None` due = not yet stamped with a send time.
    removals: Vec<(Option<SimTime>, Vec<u8>)>,
}

impl LatentExternalCache {
    pub(super) fn new(latency: Duration) -> Self {
        Self {
            latency,
            entries: BTreeMap::new(),
            der: BTreeMap::new(),
            removals: Vec::new(),
        }
    }

    /// Applies every removal that has arrived by `now`.
    pub fn apply_due(&mut self, now: SimTime) {
        let (entries, der) = (&mut self.entries, &mut self.der);
        self.removals.retain(|(due, id)| match due {
            Some(t) if *t <= now => {
                entries.remove(id);
                der.remove(id);
                false
            }
            _ => true,
        });
    }

    /// Gives removals issued during the last server step their arrival time.
    pub fn stamp_pending(&mut self, now: SimTime) {
        for (due, _) in &mut self.removals {
            if due.is_none() {
                *due = Some(now.saturating_add(self.latency));
            }
        }
    }
}

/// The handle a server's config holds (the callbacks run under the config's lock).
pub struct ExternalStoreHandle(pub Arc<Mutex<LatentExternalCache>>);

impl SessionStoreCallbacks<ServerSessionValue> for ExternalStoreHandle {
    fn new_session(
        &mut self,
        _: &SessionCache<ServerSessionValue>,
        id: &[u8],
        value: &ServerSessionValue,
    ) {
        if let Ok(mut c) = self.0.lock() {
            c.entries.insert(id.to_vec(), value.clone());
        }
    }

    fn remove_session(
        &mut self,
        _: &SessionCache<ServerSessionValue>,
        id: &[u8],
        _: &ServerSessionValue,
        _: RemovalReason,
    ) {
        if let Ok(mut c) = self.0.lock() {
            c.removals.push((None, id.to_vec()));
        }
    }

    fn get_session(&mut self, id: &[u8]) -> Option<ServerSessionValue> {
        self.0.lock().ok()?.entries.get(id).cloned()
    }
}

/// The handle an OpenSSL server context's session callbacks hold (they run during the
/// server's OpenSSL calls, never while the application holds the lock).
pub struct OpensslStoreHandle(pub Arc<Mutex<LatentExternalCache>>);

impl crate::subject::openssl_stack::ExternalCache for OpensslStoreHandle {
    fn new_session(&self, id: &[u8], der: Vec<u8>) {
        if let Ok(mut c) = self.0.lock() {
            c.der.insert(id.to_vec(), der);
        }
    }

    fn remove_session(&self, id: &[u8]) {
        if let Ok(mut c) = self.0.lock() {
            c.removals.push((None, id.to_vec()));
        }
    }

    fn get_session(&self, id: &[u8]) -> Option<Vec<u8>> {
        self.0.lock().ok()?.der.get(id).cloned()
    }
}
