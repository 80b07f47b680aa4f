//! `zerortt connect HOST:PORT`: one client connection with optional early data and session
//! file, in the manner of `openssl s_client -sess_in/-sess_out -early_data`, printing the
//! early data status, timings and the server's answer. [`attempt`] is also the probe's
//! building block.

use super::driver::{Driver, End, SharedKeyLog, Stop};
use super::{session_file, LiveError, Target};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zerortt_core::conn::events::EarlyDataRejectReason;
use zerortt_core::msgs::enums::CipherSuite;
use zerortt_core::tickets::session::ClientSession;
use zerortt_core::time::Timestamp;
use zerortt_core::{ApiMisuse, ClientConfig, ConnError, Connection, EarlyDataStatus, Event};

/// What every client connection of a command shares.
#[derive(Clone)]
pub struct ClientSetup {
    /// Where to connect.
    pub target: Target,
    /// The SNI name (also the name the certificate is checked against).
    pub server_name: String,
    /// Trust, ALPN, suites.
    pub config: Arc<ClientConfig>,
    /// Bound of each connect and of each handshake.
    pub timeout: Duration,
    /// How long the server may stay silent before its answer counts as complete.
    pub idle: Duration,
    /// TCP_NODELAY.
    pub nodelay: bool,
    /// Where secrets go.
    pub keylog: Option<SharedKeyLog>,
}

/// What one client connection should do.
pub struct Plan<'a> {
    /// The session to resume.
    pub session: Option<ClientSession>,
    /// Seed of the connection's random stream.
    pub seed: [u8; 32],
    /// The time the ClientHello is built at (the ticket age is computed from it).
    pub hello_at: Timestamp,
    /// Early data to send in the first flight.
    pub early_data: Option<&'a [u8]>,
    /// Data to send once the handshake is complete (the request, when it did not go early).
    pub after_handshake: Option<&'a [u8]>,
    /// Complete the handshake. False for the probe's replay: an attacker who replays a
    /// flight cannot send the client's Finished, so neither does the probe.
    pub finish: bool,
    /// Send the early data again after the handshake if the server rejected it.
    pub resend_rejected: bool,
}

/// Milliseconds from the start of the TCP connect.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timings {
    /// TCP connected.
    pub connected_ms: f64,
    /// The first flight (ClientHello, and early data if any) written.
    pub first_flight_ms: Option<f64>,
    /// The first byte of the server's flight arrived.
    pub server_flight_ms: Option<f64>,
    /// The handshake completed on this side.
    pub handshake_done_ms: Option<f64>,
}

/// What happened on one client connection.
pub struct Attempt {
    /// The bytes of the first flight, exactly as written to the socket.
    pub first_flight: Vec<u8>,
    /// Early data bytes written in the first flight.
    pub early_bytes: usize,
    /// Why no early data was sent although some was asked for.
    pub early_refused: Option<ApiMisuse>,
    /// `SSL_get_early_data_status` at the end.
    pub early_status: EarlyDataStatus,
    /// Whether the server resumed the session; `None` when the client cannot tell.
    pub resumed: Option<bool>,
    /// The handshake completed.
    pub handshake_complete: bool,
    /// The negotiated suite.
    pub suite: Option<CipherSuite>,
    /// The negotiated ALPN protocol.
    pub alpn: Option<Vec<u8>>,
    /// Application data from the server (0.5-RTT and later).
    pub response: Vec<u8>,
    /// How reading the answer ended.
    pub end: End,
    /// New sessions (tickets) from the server.
    pub sessions: Vec<ClientSession>,
    /// Timings.
    pub timings: Timings,
    /// The connection's events.
    pub events: Vec<Event>,
    /// The handshake failed: the error, already in words.
    pub failure: Option<LiveError>,
}

fn ms_since(start: Instant) -> f64 {
    super::instant()
        .saturating_duration_since(start)
        .as_secs_f64()
        * 1000.0
}

/// Connects and runs `plan`. `Err` only when no TCP connection could be made; a failed
/// handshake is an [`Attempt`] with `failure` set, so the probe can report it as evidence.
pub fn attempt(
    setup: &ClientSetup,
    plan: &Plan<'_>,
    replay_flight: Option<&[u8]>,
) -> Result<Attempt, LiveError> {
    let start = super::instant();
    let stream = setup.target.dial(setup.timeout, setup.nodelay)?;
    let mut timings = Timings {
        connected_ms: ms_since(start),
        ..Timings::default()
    };
    let conn = Connection::client(
        setup.config.clone(),
        &setup.server_name,
        plan.session.clone(),
        super::rng_from_seed(plan.seed),
    );
    let mut d = Driver::new(conn, stream, setup.keylog.clone());
    let deadline = super::instant() + setup.timeout;
    let mut early_bytes = 0;
    let mut early_refused = None;
    let mut first_flight = Vec::new();
    let mut failure = None;

    // The first flight: write_early_data (ClientHello + early data) or do_handshake.
    let first = match plan.early_data.filter(|e| !e.is_empty()) {
        Some(early) => {
            let allowed = plan
                .session
                .as_ref()
                .map_or(0, |s| s.max_early_data() as usize);
            let now_early = &early[..early.len().min(allowed.max(1))];
            match d.conn.write_early_data(now_early, plan.hello_at) {
                Ok(n) => {
                    early_bytes = n;
                    Ok(())
                }
                Err(ConnError::Misuse(m)) => {
                    early_refused = Some(m);
                    d.conn.do_handshake(plan.hello_at)
                }
                Err(e) => Err(e),
            }
        }
        None => d.conn.do_handshake(plan.hello_at),
    };
    let flight = d.take_outgoing();
    // The replay sends the captured bytes only once the rebuilt flight equals them.
    if replay_flight.is_some_and(|expected| expected != flight.as_slice()) {
        failure = Some(LiveError::new(
            super::Failure::Handshake,
            "the replaying client did not rebuild the captured flight byte for byte; nothing \
             was sent",
        ));
    } else {
        match d.send_raw(&flight) {
            Ok(()) => first_flight = flight,
            Err(stop) => {
                failure = Some(d.explain(&stop, "while sending the ClientHello", setup.timeout))
            }
        }
    }
    timings.first_flight_ms = Some(ms_since(start));
    if let Err(e) = first {
        if !matches!(e, ConnError::WantRead) && failure.is_none() {
            failure = Some(d.explain(&Stop::Conn(e), "building the ClientHello", setup.timeout));
        }
    }

    let mut response = Vec::new();
    let mut end = End::Idle;
    if failure.is_none() && plan.finish {
        match d.call(deadline, |c, now| c.do_handshake(now)) {
            Ok(()) => {
                timings.handshake_done_ms = Some(ms_since(start));
                let mut writes: Vec<&[u8]> = Vec::new();
                if let Some(early) = plan.early_data {
                    let rejected = d.conn.early_data_status() != EarlyDataStatus::Accepted;
                    if plan.resend_rejected && rejected {
                        writes.push(early);
                    } else if early_bytes < early.len() && !rejected {
                        writes.push(&early[early_bytes..]);
                    }
                }
                if let Some(after) = plan.after_handshake {
                    writes.push(after);
                }
                for data in writes.into_iter().filter(|w| !w.is_empty()) {
                    if let Err(stop) = d.call(deadline, |c, now| c.write(data, now)) {
                        failure =
                            Some(d.explain(&stop, "writing after the handshake", setup.timeout));
                        break;
                    }
                }
                if failure.is_none() {
                    let read_until = super::instant() + setup.timeout;
                    (response, end) = d.read_until_idle(setup.idle, read_until);
                    if matches!(
                        end,
                        End::Idle | End::CloseNotify | End::Deadline | End::Truncated
                    ) {
                        d.close();
                    }
                }
            }
            Err(stop) => {
                failure = Some(d.explain(&stop, "during the handshake", setup.timeout));
            }
        }
    } else if failure.is_none() {
        // Replay: read the server's flight and any 0.5-RTT data, never finish.
        let read_until = super::instant() + setup.timeout;
        (response, end) = d.read_until_idle(setup.idle, read_until);
    }
    if let Some(at) = d.first_byte_at {
        timings.server_flight_ms = Some(at.saturating_duration_since(start).as_secs_f64() * 1000.0);
    }
    if failure.is_none() && !d.conn.is_init_finished() && d.first_bytes.is_empty() {
        // Only the replay gets here (a finishing handshake failed above): the server
        // answered its flight with nothing, within the idle time or until it closed.
        let (stop, waited) = match end {
            End::Eof => (Stop::PeerClosed, setup.timeout),
            End::Idle => (Stop::Timeout, setup.idle),
            _ => (Stop::Timeout, setup.timeout),
        };
        failure = Some(d.explain(&stop, "before answering the ClientHello", waited));
    }
    if failure.is_none() && d.peer_is_not_tls() {
        failure = Some(d.explain(&Stop::Timeout, "", setup.timeout));
    }
    let mut suite = None;
    let mut resumed = None;
    for e in &d.events {
        match e {
            Event::HandshakeComplete {
                suite: s,
                resumed: r,
            } => {
                suite = Some(*s);
                resumed = Some(*r);
            }
            Event::EarlyDataAccepted { .. } => resumed = Some(true),
            Event::EarlyDataRejected { reason } if resumed.is_none() => {
                resumed = match reason {
                    EarlyDataRejectReason::ServerDeclined => Some(true),
                    EarlyDataRejectReason::NoPskAccepted => Some(false),
                    _ => None,
                }
            }
            _ => {}
        }
    }
    Ok(Attempt {
        first_flight,
        early_bytes,
        early_refused,
        early_status: d.conn.early_data_status(),
        resumed,
        handshake_complete: d.conn.is_init_finished(),
        suite,
        alpn: d.conn.alpn_protocol().map(<[u8]>::to_vec),
        response,
        end,
        sessions: d.conn.take_new_sessions(),
        timings,
        events: std::mem::take(&mut d.events),
        failure,
    })
}

/// `zerortt connect`'s options.
pub struct ConnectOptions {
    /// Shared client settings.
    pub setup: ClientSetup,
    /// `--early-data FILE`'s bytes.
    pub early_data: Option<Vec<u8>>,
    /// `--request FILE`'s bytes, sent after the handshake.
    pub request: Option<Vec<u8>>,
    /// `--sess-in FILE`.
    pub sess_in: Option<PathBuf>,
    /// `--sess-out FILE`.
    pub sess_out: Option<PathBuf>,
}

/// Runs `zerortt connect`, printing as it goes; `Ok` when the handshake completed.
pub fn run(opts: &ConnectOptions) -> Result<(), LiveError> {
    let session = match &opts.sess_in {
        Some(path) => Some(session_file::read(path)?),
        None => None,
    };
    let setup = &opts.setup;
    println!("connecting to {} (sni {})", setup.target, setup.server_name);
    let now = super::now();
    if let Some(s) = &session {
        println!(
            "session: max_early_data {}, ticket age {} ms, lifetime {} s{}",
            s.max_early_data(),
            s.ticket_age_ms(now),
            s.lifetime_s,
            if s.is_expired(now) {
                " (expired: it will not be offered)"
            } else {
                ""
            }
        );
    }
    if opts.early_data.is_some() && session.is_none() {
        println!("early data: no --sess-in session, so it is sent after the handshake");
    }
    let plan = Plan {
        session,
        seed: super::os_seed()?,
        hello_at: now,
        early_data: opts.early_data.as_deref(),
        after_handshake: opts.request.as_deref(),
        finish: true,
        resend_rejected: true,
    };
    let a = attempt(setup, &plan, None)?;
    let t = &a.timings;
    println!("tcp connected at {:.1} ms", t.connected_ms);
    if let Some(ms) = t.first_flight_ms {
        if a.early_bytes > 0 {
            println!(
                "first flight with {} bytes of early data written at {ms:.1} ms",
                a.early_bytes
            );
        } else {
            println!("first flight (ClientHello) written at {ms:.1} ms");
        }
    }
    if let Some(m) = a.early_refused {
        println!("early data not sent: {m}");
    }
    if let Some(ms) = t.server_flight_ms {
        println!("server flight began at {ms:.1} ms");
    }
    if let Some(e) = &a.failure {
        return Err(e.clone());
    }
    if let Some(ms) = t.handshake_done_ms {
        println!(
            "handshake done at {ms:.1} ms: TLS 1.3 {}, resumed {}, ALPN {}",
            a.suite.map_or("?".into(), |s| format!("{s:?}")),
            yes_no(a.resumed),
            a.alpn.as_deref().map_or("none".into(), super::printable)
        );
    }
    println!(
        "early data: {}{}",
        status_word(a.early_status),
        if a.early_status == EarlyDataStatus::Rejected {
            " (resent after the handshake)"
        } else {
            ""
        }
    );
    println!(
        "response: {} bytes, ended by {}",
        a.response.len(),
        a.end.describe()
    );
    if !a.response.is_empty() {
        println!("{}", String::from_utf8_lossy(&a.response));
    }
    println!("tickets: {} received", a.sessions.len());
    if let Some(path) = &opts.sess_out {
        match a.sessions.last() {
            Some(s) => {
                session_file::write(path, s)?;
                println!("session written to {}", path.display());
            }
            None => {
                return Err(LiveError::new(
                    super::Failure::Handshake,
                    format!(
                    "--sess-out {}: the server sent no ticket within {} ms of idleness (--wait-ms)",
                    path.display(),
                    setup.idle.as_millis()
                ),
                ))
            }
        }
    }
    Ok(())
}

/// `SSL_get_early_data_status` in words.
pub fn status_word(s: EarlyDataStatus) -> &'static str {
    match s {
        EarlyDataStatus::NotSent => "not sent",
        EarlyDataStatus::Accepted => "accepted",
        EarlyDataStatus::Rejected => "rejected",
    }
}

/// yes / no / unknown.
pub fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}
