//! The real endpoints of a calibration run: the scenario's `client.stack` and
//! `server.stack` ([`Subject`]s: zerortt-core, rustls or OpenSSL) over kernel TCP sockets,
//! driven by the scenario's script as the simulated applications drive them
//! (`world::apps`): socket writes where the stack's applications make them
//! ([`Subject::write_boundaries`]: one `write(2)` per API call for OpenSSL and zerortt-core,
//! one per wake-up for rustls), early data chunks at their scheduled times, the server
//! keeping the connection open until the client closes. Each endpoint prints what it did
//! as `<unix ns> <what> [n m]` lines on stdout for the parent to merge with the relay's
//! capture.
//!
//! Randomness: zerortt-core draws from labelled ChaCha streams as before; rustls and
//! OpenSSL from a [`SeededStream`] seeded with this process's start time (a real run is
//! not reproducible anyway, and the simulator's seeds are not touched). OpenSSL's
//! `RAND_METHOD` reads that stream only inside each subject call ([`openssl_stack::enter`]).
//! TLS time is virtual time advanced by the wall clock ([`tls_now`]): OpenSSL's ticket
//! clock and rustls's clock see SIM_EPOCH plus the time since the parent started.

use super::wall_ns;
use crate::net::rng::MasterSeed;
use crate::scenario::Scenario;
use crate::subject::openssl_conn::OpensslSubject;
use crate::subject::openssl_stack::{self, SessionClock};
use crate::subject::rustls_conn::RustlsSubject;
use crate::subject::rustls_stack::{self, SeededStream, SessionStore, TicketMode, VirtualClock};
use crate::subject::zerortt::ZerorttSubject;
use crate::subject::{Session, Stack, Subject, SubjectError, WriteBoundaries};
use crate::world::{HALF_RTT_BYTES, RESPONSE_BYTES};
use rand_core::SeedableRng;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;
use zerortt_core::conn::config::{ClientConfig, ServerConfig};
use zerortt_core::conn::events::KeyEpoch;
use zerortt_core::crypto::suites;
use zerortt_core::identity::test_identity;
use zerortt_core::msgs::enums::ContentType;
use zerortt_core::time::Timestamp;
use zerortt_core::verify::ServerTrust;
use zerortt_core::{ApiMisuse, Connection, Event, ReadEarlyData};

/// Bound on loop iterations of one connection (each waits at most a few ms).
const STEPS_MAX: usize = 200_000;
/// How long one read waits before the loop looks at its timers again.
const POLL: Duration = Duration::from_millis(2);

/// Virtual TLS time from the wall clock: SIM_EPOCH plus the time since the parent's start,
/// so certificates and ticket ages behave as in the simulator.
fn tls_now(epoch_ns: u64) -> Timestamp {
    Timestamp::from_nanos(
        Timestamp::SIM_EPOCH
            .as_nanos()
            .saturating_add(wall_ns().saturating_sub(epoch_ns)),
    )
}

fn log(what: &str) {
    println!("{} {what}", wall_ns());
}

fn rng(label: &str) -> Box<rand_chacha::ChaCha20Rng> {
    let mut seed = [0u8; 32];
    for (i, b) in label.bytes().enumerate() {
        seed[i % 32] ^= b;
    }
    Box::new(rand_chacha::ChaCha20Rng::from_seed(seed))
}

/// The randomness of this process's rustls and OpenSSL endpoints: a stream seeded with
/// the process's start time (see the module comment).
fn stream(label: &str) -> SeededStream {
    use std::sync::OnceLock;
    static SEED: OnceLock<u64> = OnceLock::new();
    let seed = *SEED.get_or_init(|| wall_ns() ^ u64::from(std::process::id()));
    SeededStream::from_seed(MasterSeed::new(seed), label)
}

/// What a server endpoint builds its connections from.
enum ServerParts {
    Zerortt(Arc<ServerConfig>),
    Rustls(Arc<rustls::ServerConfig>, VirtualClock),
    Openssl(openssl_stack::ServerContext),
}

impl ServerParts {
    fn new(scenario: &Scenario, epoch_ns: u64) -> Result<ServerParts, String> {
        let sc = &scenario.server;
        Ok(match sc.stack {
            Stack::Zerortt => {
                let config = ServerConfig::new(test_identity::ed25519());
                config.set_max_early_data(sc.max_early_data);
                config.set_recv_max_early_data(sc.recv_max_early_data);
                ServerParts::Zerortt(Arc::new(config))
            }
            Stack::Rustls => {
                let clock = VirtualClock::new(tls_now(epoch_ns));
                let knobs = rustls_stack::ServerKnobs {
                    max_early_data: sc.max_early_data,
                    tickets: TicketMode::stateful(),
                    send_half_rtt_data: sc.half_rtt_response,
                    clock: clock.clone(),
                    ..rustls_stack::ServerKnobs::default()
                };
                let config = rustls_stack::server_config(&knobs)
                    .map_err(|e| format!("rustls server config: {e}"))?;
                ServerParts::Rustls(config, clock)
            }
            Stack::Openssl => {
                let random = stream("openssl/ctx/server");
                let mut ticket_keys = [0u8; zerortt_ossl::ffi::TICKET_KEYS_LEN];
                random.fill(&mut ticket_keys);
                let knobs = openssl_stack::ServerKnobs {
                    versions: openssl_stack::Versions::Tls12And13,
                    max_early_data: sc.max_early_data,
                    recv_max_early_data: sc.recv_max_early_data,
                    no_anti_replay: sc.no_anti_replay,
                    groups: sc.hello_retry_for_key_share.then_some("P-256"),
                    ticket_keys,
                    allow_early_data: None,
                    external: None,
                    clock: Arc::new(SessionClock::default()),
                };
                let ctx = openssl_stack::enter(&random, || openssl_stack::server_context(knobs))?;
                ServerParts::Openssl(ctx)
            }
        })
    }

    fn connection(&self, scenario: &Scenario, index: usize, epoch_ns: u64) -> Box<dyn Subject> {
        match self {
            ServerParts::Zerortt(config) => Box::new(ZerorttSubject::new(Connection::server(
                config.clone(),
                rng(&format!("server{index}")),
            ))),
            ServerParts::Rustls(config, clock) => {
                clock.set(tls_now(epoch_ns));
                let random = stream(&format!("server{index}"));
                Box::new(
                    RustlsSubject::server(config.clone(), random, clock.clone())
                        .unwrap_or_else(|e| RustlsSubject::broken(e.to_string())),
                )
            }
            ServerParts::Openssl(ctx) => Box::new(OpensslSubject::server(
                ctx,
                None,
                scenario.server.recv_max_early_data,
                false,
                stream(&format!("server{index}")),
            )),
        }
    }
}

/// What a client endpoint builds its connections from.
enum ClientParts {
    Zerortt(Arc<ClientConfig>),
    Rustls(Arc<rustls::ClientConfig>, Arc<SessionStore>, VirtualClock),
    Openssl(openssl_stack::ClientContext),
}

impl ClientParts {
    fn new(scenario: &Scenario, epoch_ns: u64) -> Result<ClientParts, String> {
        // The simulator's clients offer these two suites, whatever the stack.
        Ok(match scenario.client.stack {
            Stack::Zerortt => {
                let mut config = ClientConfig::new(ServerTrust::test_ca());
                config.cipher_suites = vec![
                    &suites::TLS13_AES_128_GCM_SHA256,
                    &suites::TLS13_CHACHA20_POLY1305_SHA256,
                ];
                ClientParts::Zerortt(Arc::new(config))
            }
            Stack::Rustls => {
                let clock = VirtualClock::new(tls_now(epoch_ns));
                let sessions = SessionStore::new();
                let knobs = rustls_stack::ClientKnobs {
                    suites: vec![
                        suites::TLS13_AES_128_GCM_SHA256.suite,
                        suites::TLS13_CHACHA20_POLY1305_SHA256.suite,
                    ],
                    sessions: sessions.clone(),
                    clock: clock.clone(),
                    ..rustls_stack::ClientKnobs::default()
                };
                let config = rustls_stack::client_config(&knobs)
                    .map_err(|e| format!("rustls client config: {e}"))?;
                ClientParts::Rustls(config, sessions, clock)
            }
            Stack::Openssl => {
                let versions = match scenario.client.tls12_only {
                    true => openssl_stack::Versions::Tls12,
                    false => openssl_stack::Versions::Tls12And13,
                };
                let random = stream("openssl/ctx/client");
                let ctx =
                    openssl_stack::enter(&random, || openssl_stack::client_context(versions))?;
                ClientParts::Openssl(ctx)
            }
        })
    }

    /// A connection resuming `session` if given; `early` says whether the script writes
    /// early data on it.
    fn connection(
        &self,
        label: &str,
        session: Option<Session>,
        early: bool,
        epoch_ns: u64,
    ) -> Box<dyn Subject> {
        match self {
            ClientParts::Zerortt(config) => {
                let session = match session {
                    Some(Session::Zerortt(s)) => Some(s),
                    _ => None,
                };
                Box::new(ZerorttSubject::new(Connection::client(
                    config.clone(),
                    "localhost",
                    session,
                    rng(label),
                )))
            }
            ClientParts::Rustls(config, sessions, clock) => {
                let session = match session {
                    Some(Session::Rustls(s)) => Some(s),
                    _ => None,
                };
                // As the simulator: rustls offers early data whenever the ticket allows it,
                // so a script without early data runs with it disabled.
                let config = if early {
                    config.clone()
                } else {
                    let mut quiet = rustls::ClientConfig::clone(config);
                    quiet.enable_early_data = false;
                    Arc::new(quiet)
                };
                clock.set(tls_now(epoch_ns));
                Box::new(RustlsSubject::client(
                    config,
                    sessions.clone(),
                    session,
                    stream(label),
                    clock.clone(),
                ))
            }
            ClientParts::Openssl(ctx) => {
                let session = match session {
                    Some(Session::Openssl(s)) => Some(s),
                    _ => None,
                };
                Box::new(OpensslSubject::client(ctx, session, stream(label)))
            }
        }
    }
}

/// One connection's socket plus the TLS bytes not yet handed to TLS.
struct Io {
    stream: TcpStream,
    inbox: Vec<u8>,
    stream_len: u64,
    closed: bool,
    log_records: bool,
}

impl Io {
    fn new(stream: TcpStream, nodelay: bool, log_records: bool) -> std::io::Result<Io> {
        stream.set_nodelay(nodelay)?;
        stream.set_nonblocking(true)?;
        Ok(Io {
            stream,
            inbox: Vec::new(),
            stream_len: 0,
            closed: false,
            log_records,
        })
    }

    /// After an API call: a stack whose applications write once per call (OpenSSL's
    /// buffering BIO, zerortt-core) gets its `write(2)` now.
    fn call_done(&mut self, tls: &mut dyn Subject) -> std::io::Result<()> {
        if tls.write_boundaries() == WriteBoundaries::PerCall {
            self.output(tls)?;
        }
        Ok(())
    }

    /// One `write(2)` of everything TLS has queued, after logging the events that
    /// produced it.
    fn output(&mut self, tls: &mut dyn Subject) -> std::io::Result<()> {
        let mut out = Vec::new();
        tls.write_tls(&mut out);
        let mut at = self.stream_len;
        for e in tls.take_events() {
            if !self.log_records {
                continue;
            }
            match &e {
                Event::RecordSent { epoch, typ, len } => {
                    if *epoch == KeyEpoch::Early && *typ == ContentType::ApplicationData {
                        log(&format!("early_record {at} {}", at + *len as u64));
                    }
                    at += *len as u64;
                }
                Event::HandshakeSent(t) => log(&format!("sent {t:?}")),
                Event::HandshakeReceived(t) => log(&format!("received {t:?}")),
                Event::EarlyDataRead { .. } => log("early_read"),
                Event::EarlyDataAccepted { .. } => log("early_data accepted"),
                Event::EarlyDataRejected { reason } => {
                    log(&format!("early_data rejected ({reason:?})"))
                }
                Event::HandshakeComplete { resumed, .. } => {
                    log(&format!("handshake_complete resumed={resumed}"))
                }
                _ => {}
            }
        }
        self.stream_len += out.len() as u64;
        if !out.is_empty() {
            // One write(2) when the send buffer takes it all, as a blocking socket would;
            // the rest when it drains.
            let mut at = 0;
            for _ in 0..STEPS_MAX {
                match self.stream.write(&out[at..]) {
                    Ok(n) => at += n,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_micros(100))
                    }
                    Err(e) => return Err(e),
                }
                if at >= out.len() {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Hands TLS as much of the received bytes as it takes (before every TLS call).
    fn feed(&mut self, tls: &mut dyn Subject) {
        let n = tls.read_tls(&self.inbox);
        self.inbox.drain(..n);
    }

    /// Reads what the kernel has (waiting up to `wait`) and feeds TLS.
    fn pump_in(&mut self, tls: &mut dyn Subject, wait: Duration) -> std::io::Result<()> {
        if !self.inbox.is_empty() {
            let n = tls.read_tls(&self.inbox);
            self.inbox.drain(..n);
            if n > 0 {
                return Ok(());
            }
        }
        // Non-blocking reads and short sleeps: SO_RCVTIMEO counts in jiffies (4 ms at
        // HZ=250), too coarse for a 1 ms chunk interval; nanosleep is an hrtimer.
        let until = wall_ns().saturating_add(wait.as_nanos() as u64);
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => self.closed = true,
                Ok(n) => self.inbox.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    let now = wall_ns();
                    if now < until {
                        std::thread::sleep(Duration::from_nanos((until - now).min(100_000)));
                        continue;
                    }
                }
                Err(e) => return Err(e),
            }
            break;
        }
        self.feed(tls);
        Ok(())
    }
}

fn fatal(e: SubjectError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// The server: accepts the warm-up and the 0-RTT connection, runs the read_early_data
/// script on each with the scenario's server stack.
pub fn server(scenario: &Scenario, listen: SocketAddr, epoch_ns: u64) -> std::io::Result<()> {
    let parts = ServerParts::new(scenario, epoch_ns).map_err(std::io::Error::other)?;
    let listener = TcpListener::bind(listen)?;
    log("listening");
    // Every connection lives until the endpoint ends, as in the simulator: freeing an
    // OpenSSL connection that sent no close_notify removes its session (the last ticket's)
    // from the cache (ssl/ssl_sess.c, ssl_clear_bad_session, called by SSL_free), and the
    // 0-RTT connection then finds no PSK.
    let mut served = Vec::new();
    for index in 0..2 {
        let (stream, _) = listener.accept()?;
        let mut io = Io::new(stream, scenario.tcp.server_nodelay, index == 1)?;
        let mut tls = parts.connection(scenario, index, epoch_ns);
        serve(scenario, &mut io, tls.as_mut(), epoch_ns, index == 1)?;
        served.push(tls);
    }
    Ok(())
}

fn serve(
    scenario: &Scenario,
    io: &mut Io,
    tls: &mut dyn Subject,
    epoch_ns: u64,
    logged: bool,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut phase = 0; // 0 early data, 1 handshake, 2 request, 3 done
    let mut half_rtt_sent = false;
    let mut request = 0usize;
    let want = scenario.client.request_bytes.max(1);
    for _ in 0..STEPS_MAX {
        io.pump_in(tls, POLL)?;
        let now = tls_now(epoch_ns);
        if phase == 0 {
            for _ in 0..1024 {
                io.feed(tls);
                let r = tls.read_early_data(&mut buf, now);
                io.call_done(tls)?;
                match r {
                    Ok(ReadEarlyData::Success(_)) | Ok(ReadEarlyData::Finish) => {
                        if scenario.server.half_rtt_response && !half_rtt_sent {
                            half_rtt_sent = true;
                            let r = tls.write_early_data(&[b'h'; HALF_RTT_BYTES], now);
                            io.call_done(tls)?;
                            r.map_err(fatal)?;
                        }
                        if matches!(r, Ok(ReadEarlyData::Finish)) {
                            phase = 1;
                            break;
                        }
                    }
                    Err(SubjectError::WantRead) | Err(SubjectError::Misuse(_)) => break,
                    Err(e) => return Err(fatal(e)),
                }
            }
        }
        if phase == 1 {
            io.feed(tls);
            let r = tls.do_handshake(now);
            io.call_done(tls)?;
            match r {
                Ok(()) => {
                    phase = 2;
                    if logged {
                        log("server_done");
                    }
                }
                Err(SubjectError::WantRead) => {}
                Err(e) => return Err(fatal(e)),
            }
        }
        if phase == 2 {
            for _ in 0..64 {
                io.feed(tls);
                let r = tls.read(&mut buf, now);
                io.call_done(tls)?;
                match r {
                    Ok(n) => request += n,
                    Err(SubjectError::WantRead) | Err(SubjectError::Closed) => break,
                    Err(e) => return Err(fatal(e)),
                }
            }
            if request >= want {
                let r = tls.write(&[b'r'; RESPONSE_BYTES], now);
                io.call_done(tls)?;
                r.map_err(fatal)?;
                phase = 3;
            }
        }
        // The wake-up's write of a stack that writes once per wake-up (rustls).
        io.output(tls)?;
        // Keep-alive: close once the client has closed (as the simulated server does).
        if io.closed {
            return Ok(());
        }
    }
    Err(std::io::Error::other("server: step bound reached"))
}

/// The client: a warm-up connection for a ticket, then the 0-RTT connection with the
/// scenario's early data script, both with the scenario's client stack.
pub fn client(scenario: &Scenario, server: SocketAddr, epoch_ns: u64) -> std::io::Result<()> {
    let parts = ClientParts::new(scenario, epoch_ns).map_err(std::io::Error::other)?;
    let warm = parts.connection("client-warmup", None, false, epoch_ns);
    let tickets = connect_and_run(scenario, server, warm, &[], epoch_ns, false)?;
    let session = tickets.into_iter().last();
    if session.is_none() {
        return Err(std::io::Error::other("client: the warm-up gave no ticket"));
    }
    std::thread::sleep(Duration::from_millis(50));
    let chunks = scenario.client.early_data_chunks.clone();
    let tls = parts.connection("client-0rtt", session, !chunks.is_empty(), epoch_ns);
    connect_and_run(scenario, server, tls, &chunks, epoch_ns, true)?;
    Ok(())
}

fn connect_and_run(
    scenario: &Scenario,
    server: SocketAddr,
    mut tls: Box<dyn Subject>,
    chunks: &[usize],
    epoch_ns: u64,
    logged: bool,
) -> std::io::Result<Vec<Session>> {
    let tls = tls.as_mut();
    if logged {
        log("connect");
    }
    let stream = TcpStream::connect(server)?;
    let mut io = Io::new(stream, scenario.tcp.client_nodelay, logged)?;
    let interval = crate::world::ms(scenario.client.chunk_interval_ms);
    let mut next_chunk = (!chunks.is_empty()).then(wall_ns);
    let mut chunk = 0;
    let mut buf = vec![0u8; 16 * 1024];
    let mut done_logged = false;
    let mut request_sent = false;
    let mut nagle_restored = false;
    let mut response = 0usize;
    let mut half_rtt_seen = false;
    let mut tickets = Vec::new();
    let expected = RESPONSE_BYTES
        + if scenario.server.half_rtt_response {
            HALF_RTT_BYTES
        } else {
            0
        };
    let mut got = |n: usize, response: &mut usize| {
        if logged && n > 0 && scenario.server.half_rtt_response && !half_rtt_seen {
            half_rtt_seen = true;
            log("half_rtt");
        }
        *response += n;
    };
    for _ in 0..STEPS_MAX {
        let now = tls_now(epoch_ns);
        while let Some(at) = next_chunk {
            if at > wall_ns() {
                break;
            }
            let data: Vec<u8> = (0..chunks[chunk]).map(|i| (chunk + i) as u8).collect();
            let mut stop = false;
            match tls.write_early_data(&data, now) {
                Ok(_) => {}
                // As the simulated client: a rejection, or a stack that ended the early
                // phase itself (rustls), ends the script's early data.
                Err(SubjectError::Misuse(ApiMisuse::EarlyDataLimitExceeded { remaining })) => {
                    stop = true;
                    if remaining > 0 {
                        let _ = tls.write_early_data(&data[..remaining.min(data.len())], now);
                    }
                }
                Err(SubjectError::Misuse(_)) | Err(SubjectError::EarlyDataPhaseEnded) => {
                    stop = true
                }
                // SSL_write_early_data(3): retry with the same data once input arrived.
                Err(SubjectError::WantRead) => break,
                Err(e) => return Err(fatal(e)),
            }
            io.call_done(tls)?;
            chunk += 1;
            next_chunk = (chunk < chunks.len() && !stop)
                .then(|| wall_ns().saturating_add(interval.as_nanos() as u64));
        }
        let wait = match next_chunk {
            Some(at) => Duration::from_nanos(at.saturating_sub(wall_ns())).min(POLL),
            None => POLL,
        };
        io.pump_in(tls, wait)?;
        if next_chunk.is_some() {
            // Still in the early phase: reading is allowed and processes the server's
            // flight (as the simulated client does).
            io.feed(tls);
            let r = tls.read(&mut buf, now);
            io.call_done(tls)?;
            match r {
                Ok(n) => got(n, &mut response),
                Err(SubjectError::WantRead) | Err(SubjectError::Misuse(_)) => {}
                Err(e) => return Err(fatal(e)),
            }
            io.output(tls)?;
            continue;
        }
        if !tls.is_init_finished() {
            io.feed(tls);
            let r = tls.do_handshake(now);
            io.call_done(tls)?;
            match r {
                Ok(()) | Err(SubjectError::WantRead) => {}
                Err(e) => return Err(fatal(e)),
            }
        }
        if tls.is_init_finished() {
            if logged && !done_logged {
                done_logged = true;
                log("client_done");
            }
            if scenario.tcp.client_nagle_after_handshake && !nagle_restored {
                nagle_restored = true;
                io.stream.set_nodelay(false)?;
            }
            if !request_sent {
                request_sent = true;
                let r = tls.write(&vec![b'q'; scenario.client.request_bytes.max(1)], now);
                io.call_done(tls)?;
                r.map_err(fatal)?;
            }
        }
        for _ in 0..64 {
            io.feed(tls);
            let r = tls.read(&mut buf, now);
            io.call_done(tls)?;
            match r {
                Ok(n) => got(n, &mut response),
                Err(SubjectError::WantRead) | Err(SubjectError::Closed) => break,
                Err(SubjectError::Misuse(_)) => break,
                Err(e) => return Err(fatal(e)),
            }
        }
        tickets.extend(tls.take_new_sessions());
        // The wake-up's write of a stack that writes once per wake-up (rustls).
        io.output(tls)?;
        if response >= expected {
            if logged {
                log("response");
            }
            tls.send_close_notify();
            io.output(tls)?;
            let _ = io.stream.shutdown(std::net::Shutdown::Both);
            return Ok(tickets);
        }
        if io.closed {
            return Err(std::io::Error::other("client: the server closed early"));
        }
    }
    Err(std::io::Error::other("client: step bound reached"))
}
