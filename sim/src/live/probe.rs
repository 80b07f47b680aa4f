//! `zerortt probe HOST:PORT`: does a live server accept a replayed 0-RTT flight?
//!
//! The probe is the client, so it holds the PSK and the ephemeral key of every flight it
//! sends. The core is deterministic given its random stream, session and time, so a second
//! client built from the same seed, session and ClientHello time produces the captured
//! first flight byte for byte; the probe checks that equality before sending the flight on
//! a new TCP connection, then lets that client decrypt the server's answer: whether
//! EncryptedExtensions accepted the early data, and any 0.5-RTT data sent to the replay.
//! Like a real attacker, the replaying client never sends its Finished.
//!
//! Connections are made one after the other, each bounded in time, at most
//! [`CONNECTIONS_MAX`] in all; the probe never floods.

use super::connect::{attempt, status_word, yes_no, Attempt, ClientSetup, Plan};
use super::driver::End;
use super::{Failure, LiveError};
use serde::Serialize;
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::Duration;
use zerortt_core::tickets::session::ClientSession;
use zerortt_core::time::Timestamp;
use zerortt_core::EarlyDataStatus;

/// Most TCP connections one probe makes.
pub const CONNECTIONS_MAX: usize = 12;
/// The limit checks send at most this much early data; a ticket advertising more is not
/// tested (that would be a flood, not a probe).
pub const LIMIT_PROBE_BYTES_MAX: u32 = 1 << 20;

/// The request sent when `--request` is not given: an HTTP HEAD, harmless to replay.
pub fn default_request(host: &str) -> Vec<u8> {
    format!(
        "HEAD / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: zerortt-probe\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// The result of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The server behaved as it should.
    Pass,
    /// A replay, or an over-limit flight, was accepted.
    Fail,
    /// Unusual but not a replay (reusable tickets, a server that rejects what it allows).
    Warn,
    /// The check could not apply (no tickets, no 0-RTT, option not given).
    NotApplicable,
}

impl Outcome {
    /// As printed in the table.
    pub fn word(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "FAIL",
            Self::Warn => "warn",
            Self::NotApplicable => "n/a",
        }
    }
}

/// One named check and its evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable name (`replay`, `limit_over`, ...).
    pub name: &'static str,
    /// The result.
    pub outcome: Outcome,
    /// What was observed.
    pub evidence: String,
}

/// The probe's result.
#[derive(Clone, Debug, Serialize)]
pub struct ProbeReport {
    /// `HOST:PORT`.
    pub target: String,
    /// The SNI sent.
    pub server_name: String,
    /// TCP connections made.
    pub connections: usize,
    /// Wall time of the whole probe.
    pub elapsed_ms: u64,
    /// max_early_data of the first ticket, if any.
    pub max_early_data: Option<u32>,
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
    /// The process exit status: 1 when a check failed, else 0.
    pub exit_code: u8,
}

/// `zerortt probe`'s options.
pub struct ProbeOptions {
    /// Shared client settings.
    pub setup: ClientSetup,
    /// The request sent as early data.
    pub request: Vec<u8>,
    /// `--replay-after`: replay the captured flight again after this delay.
    pub replay_after: Option<Duration>,
}

struct Prober<'a> {
    opts: &'a ProbeOptions,
    connections: usize,
    tickets: VecDeque<ClientSession>,
}

impl Prober<'_> {
    fn run(&mut self, plan: &Plan<'_>, replay: Option<&[u8]>) -> Result<Attempt, LiveError> {
        if self.connections >= CONNECTIONS_MAX {
            return Err(LiveError::new(
                Failure::Silent,
                format!("the probe stops at {CONNECTIONS_MAX} connections"),
            ));
        }
        self.connections += 1;
        let a = attempt(&self.opts.setup, plan, replay)?;
        self.tickets.extend(a.sessions.iter().cloned());
        Ok(a)
    }

    fn full_handshake(&mut self) -> Result<Attempt, LiveError> {
        let plan = Plan {
            session: None,
            seed: super::os_seed()?,
            hello_at: super::now(),
            early_data: None,
            after_handshake: Some(&self.opts.request),
            finish: true,
            resend_rejected: false,
        };
        self.run(&plan, None)
    }

    /// A fresh ticket: from those collected, or from one more full handshake.
    fn ticket(&mut self) -> Result<Option<ClientSession>, LiveError> {
        if self.tickets.is_empty() {
            let a = self.full_handshake()?;
            if let Some(e) = a.failure {
                return Err(e);
            }
        }
        Ok(self.tickets.pop_front())
    }

    fn early(
        &mut self,
        session: ClientSession,
        data: &[u8],
        resend: bool,
    ) -> Result<Attempt, LiveError> {
        let plan = Plan {
            session: Some(session),
            seed: super::os_seed()?,
            hello_at: super::now(),
            early_data: Some(data),
            after_handshake: None,
            finish: true,
            resend_rejected: resend,
        };
        self.run(&plan, None)
    }
}

/// The flight the replay checks resend, and what rebuilds it.
struct Captured {
    session: ClientSession,
    seed: [u8; 32],
    hello_at: Timestamp,
    early: Vec<u8>,
    flight: Vec<u8>,
}

/// Runs the probe. `Err` when the first full handshake fails (the server cannot be probed);
/// later failures are evidence in the checks.
pub fn run(opts: &ProbeOptions) -> Result<ProbeReport, LiveError> {
    let started = super::instant();
    let mut p = Prober {
        opts,
        connections: 0,
        tickets: VecDeque::new(),
    };
    let mut checks = Vec::new();
    let max_early_data;

    let first = p.full_handshake()?;
    if let Some(e) = first.failure {
        return Err(e);
    }
    let na = |name, why: &str| Check {
        name,
        outcome: Outcome::NotApplicable,
        evidence: why.to_owned(),
    };
    let later = [
        "early_data_accepted",
        "ticket_reuse",
        "replay",
        "limit_exact",
        "limit_over",
        "freshness",
    ];
    match p.tickets.front() {
        None => {
            checks.push(na(
                "tickets",
                &format!(
                    "no NewSessionTicket after a full handshake (waited {} ms of silence): \
                     no resumption, so no 0-RTT to replay",
                    opts.setup.idle.as_millis()
                ),
            ));
            for name in later {
                checks.push(na(name, "the server issues no tickets"));
            }
            return Ok(finish(opts, p.connections, started, None, checks));
        }
        Some(t) => {
            max_early_data = Some(t.max_early_data());
            checks.push(Check {
                name: "tickets",
                outcome: Outcome::Pass,
                evidence: format!(
                    "{} tickets after a full handshake; max_early_data {}, lifetime {} s",
                    p.tickets.len(),
                    t.max_early_data(),
                    t.lifetime_s
                ),
            });
        }
    }

    // 0-RTT offered and accepted, with the first flight captured.
    let Some(t1) = p.ticket()? else {
        unreachable_tickets(&mut checks, &later);
        return Ok(finish(opts, p.connections, started, max_early_data, checks));
    };
    if t1.max_early_data() == 0 {
        for name in later {
            checks.push(na(
                name,
                "the tickets allow no early data (max_early_data 0)",
            ));
        }
        return Ok(finish(opts, p.connections, started, max_early_data, checks));
    }
    let early: Vec<u8> =
        opts.request[..opts.request.len().min(t1.max_early_data() as usize)].to_vec();
    let seed = super::os_seed()?;
    let hello_at = super::now();
    let plan = Plan {
        session: Some(t1.clone()),
        seed,
        hello_at,
        early_data: Some(&early),
        after_handshake: None,
        finish: true,
        resend_rejected: true,
    };
    let a = p.run(&plan, None)?;
    let accepted = a.early_status == EarlyDataStatus::Accepted;
    checks.push(Check {
        name: "early_data_accepted",
        outcome: if accepted {
            Outcome::Pass
        } else {
            Outcome::Warn
        },
        evidence: format!("{}{}", describe(&a), answer_note(&a)),
    });
    if !accepted {
        for name in &later[1..] {
            checks.push(na(
                name,
                "the server did not accept early data on a fresh ticket",
            ));
        }
        return Ok(finish(opts, p.connections, started, max_early_data, checks));
    }
    let captured = Captured {
        session: t1.clone(),
        seed,
        hello_at,
        early,
        flight: a.first_flight.clone(),
    };

    // The same ticket with a new ClientHello.
    let reuse = p.early(t1, &captured.early, true)?;
    checks.push(Check {
        name: "ticket_reuse",
        outcome: if reuse.early_status == EarlyDataStatus::Accepted {
            Outcome::Warn
        } else {
            Outcome::Pass
        },
        evidence: if reuse.early_status == EarlyDataStatus::Accepted {
            format!(
                "the ticket was used twice and early data accepted both times: tickets are not \
                 single-use, so only a ClientHello record (RFC 9846 8.2) can stop a replay; {}",
                describe(&reuse)
            )
        } else {
            format!(
                "second use of the ticket, new ClientHello: {}",
                describe(&reuse)
            )
        },
    });

    // The captured flight, byte for byte, on a new connection.
    checks.push(replay_check(&mut p, &captured, "replay", None)?);

    // Limits: exactly max_early_data, then one byte more.
    limit_checks(&mut p, &mut checks)?;

    match opts.replay_after {
        Some(delay) => {
            std::thread::sleep(delay);
            checks.push(replay_check(&mut p, &captured, "freshness", Some(delay))?);
        }
        None => checks.push(na("freshness", "--replay-after not given")),
    }
    Ok(finish(opts, p.connections, started, max_early_data, checks))
}

fn unreachable_tickets(checks: &mut Vec<Check>, later: &[&'static str]) {
    for name in later {
        checks.push(Check {
            name,
            outcome: Outcome::NotApplicable,
            evidence: "no ticket left".into(),
        });
    }
}

fn replay_check(
    p: &mut Prober<'_>,
    c: &Captured,
    name: &'static str,
    delay: Option<Duration>,
) -> Result<Check, LiveError> {
    let plan = Plan {
        session: Some(c.session.clone()),
        seed: c.seed,
        hello_at: c.hello_at,
        early_data: Some(&c.early),
        after_handshake: None,
        finish: false,
        resend_rejected: false,
    };
    let r = p.run(&plan, Some(&c.flight))?;
    let when = match delay {
        Some(d) => format!(" after {} ms", d.as_millis()),
        None => String::new(),
    };
    let head = format!(
        "captured first flight ({} bytes: ClientHello + {} bytes of early data) resent{when} \
         byte for byte",
        c.flight.len(),
        c.early.len()
    );
    if let Some(e) = &r.failure {
        if r.first_flight.is_empty() {
            return Ok(Check {
                name,
                outcome: Outcome::NotApplicable,
                evidence: format!("{head}: {}", e.message),
            });
        }
        return Ok(Check {
            name,
            outcome: Outcome::Pass,
            evidence: format!("{head}: refused: {}", e.message),
        });
    }
    let half_rtt = if r.response.is_empty() {
        "no 0.5-RTT data".to_owned()
    } else {
        format!(
            "{} bytes of 0.5-RTT data: \"{}\"",
            r.response.len(),
            first_line(&r.response)
        )
    };
    let accepted = r.early_status == EarlyDataStatus::Accepted;
    Ok(Check {
        name,
        outcome: if accepted {
            Outcome::Fail
        } else {
            Outcome::Pass
        },
        evidence: format!(
            "{head}: resumed {}, early data {}{}, {half_rtt}",
            yes_no(r.resumed),
            status_word(r.early_status),
            if accepted {
                " by EncryptedExtensions: the server processed the same 0-RTT data twice"
            } else {
                ""
            }
        ),
    })
}

fn limit_checks(p: &mut Prober<'_>, checks: &mut Vec<Check>) -> Result<(), LiveError> {
    for (name, extra) in [("limit_exact", 0u32), ("limit_over", 1)] {
        let Some(mut t) = p.ticket()? else {
            checks.push(Check {
                name,
                outcome: Outcome::NotApplicable,
                evidence: "no fresh ticket left".into(),
            });
            continue;
        };
        let max = t.max_early_data();
        if max > LIMIT_PROBE_BYTES_MAX {
            checks.push(Check {
                name,
                outcome: Outcome::NotApplicable,
                evidence: format!(
                    "the ticket allows {max} bytes; the probe sends at most {LIMIT_PROBE_BYTES_MAX}"
                ),
            });
            continue;
        }
        let size = max + extra;
        // The client refuses to write past the session's limit; raise it by the one byte
        // (the limit is not on the wire: the server knows it from its own ticket).
        t.set_max_early_data(size);
        let data = pad(&p.opts.request, size as usize);
        let a = p.early(t, &data, false)?;
        let accepted = a.early_status == EarlyDataStatus::Accepted;
        let (outcome, evidence) = if extra == 0 {
            if accepted && a.failure.is_none() {
                (
                    Outcome::Pass,
                    format!("{size} bytes (= max_early_data): {}", describe(&a)),
                )
            } else {
                (
                    Outcome::Warn,
                    format!(
                        "{size} bytes (= max_early_data) not accepted although advertised: {}",
                        describe(&a)
                    ),
                )
            }
        } else {
            over_limit_outcome(&a, size)
        };
        checks.push(Check {
            name,
            outcome,
            evidence,
        });
    }
    Ok(())
}

/// RFC 9846 4.2.10: a server that receives more than max_early_data_size bytes of 0-RTT
/// data "MUST terminate the connection with an "unexpected_message" alert".
fn over_limit_outcome(a: &Attempt, size: u32) -> (Outcome, String) {
    let head = format!("{size} bytes (max_early_data + 1)");
    if let Some(e) = &a.failure {
        return (
            Outcome::Pass,
            format!("{head}: server aborted: {}", e.message),
        );
    }
    if a.early_status != EarlyDataStatus::Accepted {
        return (Outcome::Pass, format!("{head}: {}", describe(a)));
    }
    if let End::Failed(_) | End::Eof = a.end {
        return (
            Outcome::Pass,
            format!(
                "{head}: accepted in EncryptedExtensions, then the server aborted ({})",
                a.end.describe()
            ),
        );
    }
    if !a.sessions.is_empty() || !a.response.is_empty() {
        return (
            Outcome::Fail,
            format!(
                "{head}: accepted, and the server went on after our Finished ({} tickets, {} bytes \
                 of answer): it took more early data than it advertises",
                a.sessions.len(),
                a.response.len()
            ),
        );
    }
    (
        Outcome::Warn,
        format!(
            "{head}: accepted in EncryptedExtensions, then silent ({}): inconclusive",
            a.end.describe()
        ),
    )
}

/// `request` padded (or cut) to exactly `size` bytes; an HTTP request gets the padding as
/// a header so it stays a valid request.
pub fn pad(request: &[u8], size: usize) -> Vec<u8> {
    if request.len() >= size {
        return request[..size].to_vec();
    }
    const HEADER: &[u8] = b"X-Zerortt-Pad: ";
    let missing = size - request.len();
    if request.ends_with(b"\r\n\r\n") && missing >= HEADER.len() + 2 {
        let mut out = request[..request.len() - 2].to_vec();
        out.extend_from_slice(HEADER);
        out.extend(std::iter::repeat_n(b'a', missing - HEADER.len() - 2));
        out.extend_from_slice(b"\r\n\r\n");
        return out;
    }
    let mut out = request.to_vec();
    out.resize(size, b'\n');
    out
}

fn describe(a: &Attempt) -> String {
    let hrr = a
        .events
        .iter()
        .any(|e| matches!(e, zerortt_core::Event::HelloRetryRequest));
    let mut s = format!(
        "resumed {}, early data {} ({} bytes sent{})",
        yes_no(a.resumed),
        status_word(a.early_status),
        a.early_bytes,
        if hrr {
            "; the server sent a HelloRetryRequest, which rejects early data (RFC 9846 4.3.10)"
        } else {
            ""
        }
    );
    if let Some(e) = &a.failure {
        let _ = write!(s, "; {}", e.message);
    }
    s
}

fn answer_note(a: &Attempt) -> String {
    if a.response.is_empty() {
        format!("; no answer ({})", a.end.describe())
    } else {
        format!(
            "; answer {} bytes: \"{}\"",
            a.response.len(),
            first_line(&a.response)
        )
    }
}

fn first_line(bytes: &[u8]) -> String {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut text = super::printable(&line[..line.len().min(80)]);
    if line.len() > 80 {
        text.push_str("...");
    }
    text
}

fn finish(
    opts: &ProbeOptions,
    connections: usize,
    started: std::time::Instant,
    max_early_data: Option<u32>,
    checks: Vec<Check>,
) -> ProbeReport {
    let failed = checks.iter().any(|c| c.outcome == Outcome::Fail);
    ProbeReport {
        target: opts.setup.target.to_string(),
        server_name: opts.setup.server_name.clone(),
        connections,
        elapsed_ms: super::instant()
            .saturating_duration_since(started)
            .as_millis() as u64,
        max_early_data,
        checks,
        exit_code: u8::from(failed),
    }
}

/// The report as a table for people.
pub fn table(r: &ProbeReport) -> String {
    let mut out = format!(
        "zerortt probe {} (sni {}): {} connection{} in {:.1} s\n",
        r.target,
        r.server_name,
        r.connections,
        if r.connections == 1 { "" } else { "s" },
        r.elapsed_ms as f64 / 1000.0
    );
    let _ = writeln!(out, "{:<20} {:<6} EVIDENCE", "CHECK", "RESULT");
    for c in &r.checks {
        let _ = writeln!(out, "{:<20} {:<6} {}", c.name, c.outcome.word(), c.evidence);
    }
    let verdict = if r.exit_code == 0 {
        "verdict: no replayed or over-limit 0-RTT flight was accepted"
    } else {
        "verdict: the server ACCEPTED a replayed or over-limit 0-RTT flight"
    };
    let _ = writeln!(out, "{verdict} (exit {})", r.exit_code);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_reaches_the_exact_size_and_keeps_an_http_request_well_formed() {
        let req = default_request("localhost");
        let padded = pad(&req, 200);
        assert_eq!(padded.len(), 200);
        assert!(padded.ends_with(b"aa\r\n\r\n"));
        assert!(padded.starts_with(b"HEAD / HTTP/1.1\r\n"));
        assert_eq!(pad(b"abc", 5), b"abc\n\n");
        assert_eq!(pad(b"abcdef", 2), b"ab");
    }

    fn accepted_attempt() -> Attempt {
        Attempt {
            first_flight: vec![0x16],
            early_bytes: 16385,
            early_refused: None,
            early_status: EarlyDataStatus::Accepted,
            resumed: Some(true),
            handshake_complete: true,
            suite: None,
            alpn: None,
            response: Vec::new(),
            end: End::Idle,
            sessions: Vec::new(),
            timings: Default::default(),
            events: Vec::new(),
            failure: None,
        }
    }

    #[test]
    fn an_over_limit_flight_fails_only_when_the_server_went_on_after_accepting_it() {
        let mut went_on = accepted_attempt();
        went_on.response = b"HTTP/1.1 200 OK".to_vec();
        assert_eq!(over_limit_outcome(&went_on, 16385).0, Outcome::Fail);

        let silent = accepted_attempt();
        assert_eq!(over_limit_outcome(&silent, 16385).0, Outcome::Warn);

        let mut aborted_later = accepted_attempt();
        aborted_later.end = End::Failed(zerortt_core::Error::AlertReceived(
            zerortt_core::msgs::enums::AlertDescription::UnexpectedMessage,
        ));
        assert_eq!(over_limit_outcome(&aborted_later, 16385).0, Outcome::Pass);

        let mut rejected = accepted_attempt();
        rejected.early_status = EarlyDataStatus::Rejected;
        assert_eq!(over_limit_outcome(&rejected, 16385).0, Outcome::Pass);

        let mut refused = accepted_attempt();
        refused.failure = Some(LiveError::new(Failure::Handshake, "alert"));
        assert_eq!(over_limit_outcome(&refused, 16385).0, Outcome::Pass);
    }
}
