//! `zerortt serve`: a zerortt-core server on a real port, one connection at a time (as
//! `openssl s_server`), with the knobs of a scenario's `[server]`. Per connection it reads
//! early data (`SSL_read_early_data`), completes the handshake, answers the request with a
//! short text saying what it saw, and prints one line: resumed, early data status and
//! bytes, and what it answered.

use super::driver::{Driver, End, SharedKeyLog, Stop};
use super::LiveError;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;
use zerortt_core::conn::config::HelloRetryPolicy;
use zerortt_core::identity::CertifiedKey;
use zerortt_core::{ConnError, Connection, EarlyDataStatus, Event, ReadEarlyData, ServerConfig};

/// Most early data rounds read on one connection (each returns at least one byte).
const EARLY_READS_MAX: usize = 1 << 16;

/// `zerortt serve`'s options.
pub struct ServeOptions {
    /// Address to listen on (`127.0.0.1:0` picks a free port, printed on start).
    pub listen: String,
    /// Certificate chain and key.
    pub identity: CertifiedKey,
    /// SSL_CTX_set_max_early_data: advertised in tickets; 0 turns early data off.
    pub max_early_data: u32,
    /// SSL_CTX_set_recv_max_early_data.
    pub recv_max_early_data: u32,
    /// SSL_OP_NO_ANTI_REPLAY: tickets become reusable, so 0-RTT can be replayed.
    pub no_anti_replay: bool,
    /// The allow-early-data callback's answer.
    pub allow_early_data: bool,
    /// Answer every first ClientHello with a HelloRetryRequest (cookie).
    pub hello_retry: bool,
    /// ALPN protocols, preferred first.
    pub alpn: Vec<Vec<u8>>,
    /// Answer with 0.5-RTT data right after the first early data read.
    pub half_rtt: bool,
    /// Tickets sent after each handshake.
    pub num_tickets: usize,
    /// Ticket age tolerance (RFC 9846 8.3).
    pub ticket_age_tolerance: Duration,
    /// Where secrets go.
    pub keylog: Option<SharedKeyLog>,
    /// Stop after this many connections (for scripts and tests); forever if `None`.
    pub max_connections: Option<u64>,
    /// Bound of each connection's handshake and of the wait for its request.
    pub timeout: Duration,
}

/// What one connection did, as `serve` prints it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConnReport {
    /// 1-based connection number.
    pub number: u64,
    /// The client's address.
    pub peer: String,
    /// A PSK was accepted.
    pub resumed: bool,
    /// `SSL_get_early_data_status` at the end.
    pub early_status: Option<EarlyDataStatus>,
    /// Early data bytes read by the application.
    pub early_bytes: usize,
    /// 0.5-RTT bytes sent.
    pub half_rtt_bytes: usize,
    /// The request's length (accepted early data, or the first data after the handshake).
    pub request_bytes: usize,
    /// Bytes of the answer.
    pub answered_bytes: usize,
    /// The handshake completed.
    pub handshake_complete: bool,
    /// Why the connection ended early, if it did.
    pub error: Option<String>,
}

impl ConnReport {
    /// One line, `key=value` separated by spaces, for people and scripts.
    pub fn line(&self) -> String {
        let status = match self.early_status {
            Some(s) => super::connect::status_word(s).replace(' ', "_"),
            None => "none".into(),
        };
        let mut line = format!(
            "conn={} peer={} resumed={} early_data={} early_bytes={} half_rtt_bytes={} \
             request_bytes={} answered_bytes={} handshake={}",
            self.number,
            self.peer,
            if self.resumed { "yes" } else { "no" },
            status,
            self.early_bytes,
            self.half_rtt_bytes,
            self.request_bytes,
            self.answered_bytes,
            if self.handshake_complete {
                "complete"
            } else {
                "incomplete"
            },
        );
        if let Some(e) = &self.error {
            line.push_str(&format!(" error=\"{}\"", e.replace('"', "'")));
        }
        line
    }
}

/// The server configuration for `opts`.
pub fn server_config(opts: &ServeOptions) -> ServerConfig {
    let mut c = ServerConfig::new(opts.identity.clone());
    c.set_max_early_data(opts.max_early_data);
    c.set_recv_max_early_data(opts.recv_max_early_data);
    c.set_no_anti_replay(opts.no_anti_replay);
    c.alpn_protocols = opts.alpn.clone();
    c.num_tickets = opts.num_tickets;
    c.ticket_age_tolerance = opts.ticket_age_tolerance;
    if opts.hello_retry {
        c.hello_retry = HelloRetryPolicy::AlwaysWithCookie;
    }
    if !opts.allow_early_data {
        c.allow_early_data = Some(Arc::new(|_| false));
    }
    c
}

/// Runs `zerortt serve`: binds, prints `listening on ADDR`, then serves connections one
/// after the other, printing a [`ConnReport::line`] for each.
pub fn run(opts: &ServeOptions) -> Result<(), LiveError> {
    let listener = TcpListener::bind(&opts.listen)
        .map_err(|e| LiveError::usage(format!("--listen {}: cannot bind: {e}", opts.listen)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| LiveError::usage(format!("--listen {}: {e}", opts.listen)))?;
    let config = Arc::new(server_config(opts));
    println!(
        "listening on {addr} (max_early_data {}, anti-replay {}, early data {}{}{})",
        opts.max_early_data,
        if opts.no_anti_replay { "off" } else { "on" },
        if opts.allow_early_data {
            "allowed"
        } else {
            "refused by callback"
        },
        if opts.hello_retry {
            ", HelloRetryRequest"
        } else {
            ""
        },
        if opts.half_rtt {
            ", 0.5-RTT answers"
        } else {
            ""
        },
    );
    let _ = std::io::stdout().flush();
    let mut number = 0u64;
    for stream in listener.incoming() {
        if opts.max_connections.is_some_and(|max| number >= max) {
            break;
        }
        number += 1;
        let report = match stream {
            Ok(stream) => serve_one(&config, opts, stream, number),
            Err(e) => ConnReport {
                number,
                error: Some(format!("accept: {e}")),
                ..ConnReport::default()
            },
        };
        println!("{}", report.line());
        let _ = std::io::stdout().flush();
        if opts.max_connections.is_some_and(|max| number >= max) {
            break;
        }
    }
    Ok(())
}

/// Serves one connection to its end.
pub fn serve_one(
    config: &Arc<ServerConfig>,
    opts: &ServeOptions,
    stream: TcpStream,
    number: u64,
) -> ConnReport {
    let mut report = ConnReport {
        number,
        peer: stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "?".into()),
        ..ConnReport::default()
    };
    let seed = match super::os_seed() {
        Ok(s) => s,
        Err(e) => {
            report.error = Some(e.message);
            return report;
        }
    };
    let conn = Connection::server(config.clone(), super::rng_from_seed(seed));
    let mut d = Driver::new(conn, stream, opts.keylog.clone());
    let deadline = super::instant() + opts.timeout;
    let result = drive(&mut d, opts, number, &mut report, deadline);
    report.resumed = d
        .events
        .iter()
        .any(|e| matches!(e, Event::PskAccepted { .. }));
    report.early_status = Some(d.conn.early_data_status());
    report.handshake_complete = d.conn.is_init_finished();
    if let Err(stop) = result {
        let phase = if report.handshake_complete {
            "after the handshake"
        } else {
            "during the handshake"
        };
        report.error = Some(d.explain(&stop, phase, opts.timeout).message);
    }
    report
}

fn drive(
    d: &mut Driver,
    opts: &ServeOptions,
    number: u64,
    report: &mut ConnReport,
    deadline: std::time::Instant,
) -> Result<(), Stop> {
    let mut early = Vec::new();
    let mut buf = vec![0u8; 16_384];
    let mut answered = false;
    // SSL_read_early_data(3): call it until it returns FINISH.
    for _ in 0..EARLY_READS_MAX {
        match d.call(deadline, |c, now| c.read_early_data(&mut buf, now))? {
            ReadEarlyData::Success(n) => {
                early.extend_from_slice(&buf[..n]);
                report.early_bytes = early.len();
                if opts.half_rtt && !answered {
                    // 0.5-RTT: the answer leaves before the client's Finished arrives.
                    let answer = answer_for(number, true, &early, d.conn.early_data_status());
                    report.half_rtt_bytes =
                        d.call(deadline, |c, now| c.write_early_data(&answer, now))?;
                    report.answered_bytes = report.half_rtt_bytes;
                    report.request_bytes = early.len();
                    answered = true;
                }
            }
            ReadEarlyData::Finish => break,
        }
    }
    d.call(deadline, |c, now| c.do_handshake(now))?;
    let resumed = d
        .events
        .iter()
        .any(|e| matches!(e, Event::PskAccepted { .. }));
    if !answered {
        let request = if early.is_empty() {
            // The request comes after the handshake: wait for its first bytes.
            match d.call(deadline, |c, now| c.read(&mut buf, now)) {
                Ok(n) => buf[..n].to_vec(),
                Err(Stop::Conn(ConnError::Closed)) => {
                    report.error = Some("the client closed without a request".into());
                    d.close();
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
        } else {
            early.clone()
        };
        report.request_bytes = request.len();
        let answer = answer_for(number, resumed, &request, d.conn.early_data_status());
        d.call(deadline, |c, now| c.write(&answer, now))?;
        report.answered_bytes = answer.len();
    }
    d.close();
    // Drain what the client still sends (its close_notify) so closing does not reset the
    // connection under the answer; bounded.
    let (_, end) = d.read_until_idle(
        Duration::from_millis(300),
        super::instant() + Duration::from_secs(2),
    );
    if let End::Failed(e) = end {
        report.error = Some(format!("after answering: {e}"));
    }
    Ok(())
}

/// The answer to a request: one line saying what the server saw, inside an HTTP/1.1
/// response when the request looks like HTTP (a HEAD gets no body).
pub fn answer_for(number: u64, resumed: bool, request: &[u8], status: EarlyDataStatus) -> Vec<u8> {
    let body = format!(
        "zerortt serve: connection {number}, resumed {}, early data {}, request {} bytes\n",
        if resumed { "yes" } else { "no" },
        super::connect::status_word(status),
        request.len()
    );
    let first_line = request.split(|&b| b == b'\n').next().unwrap_or_default();
    let is_http = first_line.windows(6).any(|w| w == b" HTTP/");
    if !is_http {
        return body.into_bytes();
    }
    let head = first_line.starts_with(b"HEAD ");
    let mut out = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head {
        out.extend_from_slice(body.as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_http_request_gets_an_http_answer_and_other_bytes_a_plain_line() {
        let a = answer_for(
            3,
            true,
            b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            EarlyDataStatus::Accepted,
        );
        let text = String::from_utf8(a).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(
            text.ends_with("connection 3, resumed yes, early data accepted, request 27 bytes\n"),
            "{text}"
        );
        let head = answer_for(
            1,
            false,
            b"HEAD / HTTP/1.1\r\n\r\n",
            EarlyDataStatus::NotSent,
        );
        assert!(String::from_utf8(head).unwrap().ends_with("\r\n\r\n"));
        let plain = answer_for(1, false, b"hello", EarlyDataStatus::Rejected);
        assert_eq!(
            plain,
            b"zerortt serve: connection 1, resumed no, early data rejected, request 5 bytes\n"
        );
    }

    #[test]
    fn a_report_line_is_key_value_pairs() {
        let r = ConnReport {
            number: 2,
            peer: "127.0.0.1:5".into(),
            resumed: true,
            early_status: Some(EarlyDataStatus::Accepted),
            early_bytes: 11,
            error: Some("x \"y\"".into()),
            ..ConnReport::default()
        };
        assert_eq!(
            r.line(),
            "conn=2 peer=127.0.0.1:5 resumed=yes early_data=accepted early_bytes=11 \
             half_rtt_bytes=0 request_bytes=0 answered_bytes=0 handshake=incomplete error=\"x 'y'\""
        );
    }
}
