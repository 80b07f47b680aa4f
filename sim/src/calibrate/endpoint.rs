//! The real endpoints of a calibration run: zerortt-core over kernel TCP sockets, driven
//! by the scenario's script as the simulated applications drive it (`world::apps`): one
//! `write(2)` per API call's output (OpenSSL's boundaries, [`WriteBoundaries::PerCall`]),
//! early data chunks at their scheduled times, the server keeping the connection open
//! until the client closes. Each endpoint prints what it did as `<unix ns> <what> [n m]`
//! lines on stdout for the parent to merge with the relay's capture.
//!
//! [`WriteBoundaries::PerCall`]: crate::subject::WriteBoundaries::PerCall

use super::wall_ns;
use crate::scenario::Scenario;
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
use zerortt_core::tickets::session::ClientSession;
use zerortt_core::time::Timestamp;
use zerortt_core::verify::ServerTrust;
use zerortt_core::{ConnError, Connection, Event, ReadEarlyData};

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

    /// One `write(2)` of everything this API call produced (OpenSSL's BIO flush), after
    /// logging the events the call caused.
    fn call_done(&mut self, conn: &mut Connection) -> std::io::Result<()> {
        let mut out = Vec::new();
        conn.write_tls(&mut out);
        let mut at = self.stream_len;
        for e in conn.take_events() {
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

    /// Reads what the kernel has (waiting up to `wait`) and feeds TLS.
    fn pump_in(&mut self, conn: &mut Connection, wait: Duration) -> std::io::Result<()> {
        if !self.inbox.is_empty() {
            let n = conn.read_tls(&self.inbox);
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
        let n = conn.read_tls(&self.inbox);
        self.inbox.drain(..n);
        Ok(())
    }
}

fn fatal(e: ConnError) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// The server: accepts the warm-up and the 0-RTT connection, runs the read_early_data
/// script on each.
pub fn server(scenario: &Scenario, listen: SocketAddr, epoch_ns: u64) -> std::io::Result<()> {
    let config = ServerConfig::new(test_identity::ed25519());
    config.set_max_early_data(scenario.server.max_early_data);
    config.set_recv_max_early_data(scenario.server.recv_max_early_data);
    let config = Arc::new(config);
    let listener = TcpListener::bind(listen)?;
    log("listening");
    for index in 0..2 {
        let (stream, _) = listener.accept()?;
        let mut io = Io::new(stream, scenario.tcp.server_nodelay, index == 1)?;
        let mut conn = Connection::server(config.clone(), rng(&format!("server{index}")));
        serve(scenario, &mut io, &mut conn, epoch_ns, index == 1)?;
    }
    Ok(())
}

fn serve(
    scenario: &Scenario,
    io: &mut Io,
    conn: &mut Connection,
    epoch_ns: u64,
    logged: bool,
) -> std::io::Result<()> {
    let mut buf = vec![0u8; 16 * 1024];
    let mut phase = 0; // 0 early data, 1 handshake, 2 request, 3 done
    let mut half_rtt_sent = false;
    let mut request = 0usize;
    let want = scenario.client.request_bytes.max(1);
    for _ in 0..STEPS_MAX {
        io.pump_in(conn, POLL)?;
        let now = tls_now(epoch_ns);
        if phase == 0 {
            for _ in 0..1024 {
                let r = conn.read_early_data(&mut buf, now);
                io.call_done(conn)?;
                match r {
                    Ok(ReadEarlyData::Success(_)) | Ok(ReadEarlyData::Finish) => {
                        if scenario.server.half_rtt_response && !half_rtt_sent {
                            half_rtt_sent = true;
                            let r = conn.write_early_data(&[b'h'; HALF_RTT_BYTES], now);
                            io.call_done(conn)?;
                            r.map_err(fatal)?;
                        }
                        if matches!(r, Ok(ReadEarlyData::Finish)) {
                            phase = 1;
                            break;
                        }
                    }
                    Err(ConnError::WantRead) => break,
                    Err(e) => return Err(fatal(e)),
                }
                let n = conn.read_tls(&io.inbox);
                io.inbox.drain(..n);
            }
        }
        if phase == 1 {
            let r = conn.do_handshake(now);
            io.call_done(conn)?;
            match r {
                Ok(()) => {
                    phase = 2;
                    if logged {
                        log("server_done");
                    }
                }
                Err(ConnError::WantRead) => {}
                Err(e) => return Err(fatal(e)),
            }
        }
        if phase == 2 {
            for _ in 0..64 {
                let n = conn.read_tls(&io.inbox);
                io.inbox.drain(..n);
                let r = conn.read(&mut buf, now);
                io.call_done(conn)?;
                match r {
                    Ok(n) => request += n,
                    Err(ConnError::WantRead) | Err(ConnError::Closed) => break,
                    Err(e) => return Err(fatal(e)),
                }
            }
            if request >= want {
                let r = conn.write(&[b'r'; RESPONSE_BYTES], now);
                io.call_done(conn)?;
                r.map_err(fatal)?;
                phase = 3;
            }
        }
        // Keep-alive: close once the client has closed (as the simulated server does).
        if io.closed {
            return Ok(());
        }
    }
    Err(std::io::Error::other("server: step bound reached"))
}

/// The client: a warm-up connection for a ticket, then the 0-RTT connection with the
/// scenario's early data script.
pub fn client(scenario: &Scenario, server: SocketAddr, epoch_ns: u64) -> std::io::Result<()> {
    let mut config = ClientConfig::new(ServerTrust::test_ca());
    config.cipher_suites = vec![
        &suites::TLS13_AES_128_GCM_SHA256,
        &suites::TLS13_CHACHA20_POLY1305_SHA256,
    ];
    let config = Arc::new(config);
    let warm = Connection::client(config.clone(), "localhost", None, rng("client-warmup"));
    let tickets = connect_and_run(scenario, server, warm, &[], epoch_ns, false)?;
    let session = tickets.into_iter().last();
    if session.is_none() {
        return Err(std::io::Error::other("client: the warm-up gave no ticket"));
    }
    std::thread::sleep(Duration::from_millis(50));
    let conn = Connection::client(config, "localhost", session, rng("client-0rtt"));
    let chunks = scenario.client.early_data_chunks.clone();
    connect_and_run(scenario, server, conn, &chunks, epoch_ns, true)?;
    Ok(())
}

fn connect_and_run(
    scenario: &Scenario,
    server: SocketAddr,
    mut conn: Connection,
    chunks: &[usize],
    epoch_ns: u64,
    logged: bool,
) -> std::io::Result<Vec<ClientSession>> {
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
    for _ in 0..STEPS_MAX {
        let now = tls_now(epoch_ns);
        while let Some(at) = next_chunk {
            if at > wall_ns() {
                break;
            }
            let data: Vec<u8> = (0..chunks[chunk]).map(|i| (chunk + i) as u8).collect();
            let r = conn.write_early_data(&data, now);
            io.call_done(&mut conn)?;
            let stop = r.is_err();
            chunk += 1;
            next_chunk = (chunk < chunks.len() && !stop)
                .then(|| wall_ns().saturating_add(interval.as_nanos() as u64));
        }
        let wait = match next_chunk {
            Some(at) => Duration::from_nanos(at.saturating_sub(wall_ns())).min(POLL),
            None => POLL,
        };
        io.pump_in(&mut conn, wait)?;
        if next_chunk.is_none() && !conn.is_init_finished() {
            let r = conn.do_handshake(now);
            io.call_done(&mut conn)?;
            match r {
                Ok(()) | Err(ConnError::WantRead) => {}
                Err(e) => return Err(fatal(e)),
            }
        }
        if conn.is_init_finished() {
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
                let r = conn.write(&vec![b'q'; scenario.client.request_bytes.max(1)], now);
                io.call_done(&mut conn)?;
                r.map_err(fatal)?;
            }
        }
        for _ in 0..64 {
            let n = conn.read_tls(&io.inbox);
            io.inbox.drain(..n);
            let r = conn.read(&mut buf, now);
            io.call_done(&mut conn)?;
            match r {
                Ok(n) => {
                    if logged && n > 0 && scenario.server.half_rtt_response && !half_rtt_seen {
                        half_rtt_seen = true;
                        log("half_rtt");
                    }
                    response += n;
                }
                Err(ConnError::WantRead) | Err(ConnError::Closed) => break,
                Err(ConnError::Misuse(_)) => break,
                Err(e) => return Err(fatal(e)),
            }
        }
        tickets.extend(conn.take_new_sessions());
        if response >= expected {
            if logged {
                log("response");
            }
            conn.send_close_notify();
            io.call_done(&mut conn)?;
            let _ = io.stream.shutdown(std::net::Shutdown::Both);
            return Ok(tickets);
        }
        if io.closed {
            return Err(std::io::Error::other("client: the server closed early"));
        }
    }
    Err(std::io::Error::other("client: step bound reached"))
}
