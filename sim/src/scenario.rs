//! Scenarios: what a run sets up and does, written in TOML (serde) or built in Rust.
//! Every field has a default, so a scenario file names only what it changes. Unknown
//! fields are refused (`deny_unknown_fields`) so a typo is an error with its location,
//! not a silently ignored knob.

use crate::net::DelayedAck;
use crate::subject::{Knob, Stack};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One scenario: network, TCP, servers, client script, attacker.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// Stable identifier users type (`zerortt run accepted`).
    pub name: String,
    /// One line for `zerortt scenarios`.
    pub description: String,
    /// Links between the client and the servers.
    pub network: Network,
    /// TCP socket options.
    pub tcp: Tcp,
    /// The server(s).
    pub server: Server,
    /// The client application's script.
    pub client: Client,
    /// The attacker's replays of the client's first flight.
    pub attack: Attack,
    /// Ranges an `explore` run draws knobs from (swarm testing).
    pub explore: Explore,
    /// What the 0-RTT connection must end with, checked as the `scenario_expectations`
    /// invariant on every seed.
    pub expect: Expect,
}

/// Declared outcome of the 0-RTT connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Expect {
    /// Early data status at the server: `accepted`, `rejected` or `not_sent`.
    pub status: Option<String>,
    /// `completed` (the response arrived) or `aborted` (a fatal error).
    pub outcome: Option<String>,
}

/// Link parameters, the same in both directions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Network {
    /// One-way latency.
    pub latency_ms: f64,
    /// Uniform extra delay 0..=jitter per packet.
    pub jitter_ms: f64,
    /// Serialisation rate; 0 means unlimited.
    pub bandwidth_kbps: u64,
    /// Probability that a packet is lost, 0..1.
    pub loss: f64,
    /// Probability that a packet is duplicated, 0..1.
    pub duplicate: f64,
    /// Link MTU in bytes (the MSS is MTU - 40).
    pub mtu: usize,
    /// Lose every packet the client sends when its first flight (ClientHello and early
    /// data) leaves on the 0-RTT connection: a deterministic "loss on the first flight".
    pub lose_first_flight: bool,
}

impl Default for Network {
    fn default() -> Self {
        Self {
            latency_ms: 25.0,
            jitter_ms: 0.0,
            bandwidth_kbps: 0,
            loss: 0.0,
            duplicate: 0.0,
            mtu: 1500,
            lose_first_flight: false,
        }
    }
}

/// TCP options.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tcp {
    /// TCP_NODELAY on the client socket (Nagle off).
    pub client_nodelay: bool,
    /// Turn Nagle back on once the TLS handshake is complete (the man page's advice).
    pub client_nagle_after_handshake: bool,
    /// TCP_NODELAY on the server sockets.
    pub server_nodelay: bool,
    /// `linux` (quick ACKs at the start until the socket turns interactive, then 40 ms:
    /// see `DelayedAck::Linux`), `off`, `quickack` (16 quick ACKs, then 40 ms) or a
    /// fixed delay such as `40ms`.
    pub delayed_ack: String,
    /// Initial congestion window in segments (RFC 6928: 10).
    pub initial_cwnd: u32,
    /// `linux`: timers on kernel ticks of `hz` through the timer wheel, the timestamps
    /// option (1448 payload bytes per 1460 MSS) and Linux's RTO rule; `rfc`: timers
    /// exactly when due, no timestamps, RFC 6298's RTO rule (see `TcpConfig`).
    pub profile: String,
    /// The kernel's HZ for the `linux` profile (250 on Debian and Ubuntu kernels).
    pub hz: u32,
}

impl Default for Tcp {
    fn default() -> Self {
        Self {
            client_nodelay: false,
            client_nagle_after_handshake: false,
            server_nodelay: true,
            delayed_ack: "linux".into(),
            initial_cwnd: 10,
            profile: "linux".into(),
            hz: 250,
        }
    }
}

/// How several servers share state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sharing {
    /// Nothing shared: a ticket only works where it was issued.
    #[default]
    Nothing,
    /// Stateless tickets under shared ticket keys.
    TicketKeys,
    /// One internal session cache for all servers (single-use tickets cluster-wide).
    Cache,
    /// Shared ticket keys plus a shared ClientHello strike register.
    StrikeRegister,
    /// Separate internal caches plus an external cache reached over a link with latency
    /// (SSL_CTX_sess_set_remove_cb; the man page's race window).
    ExternalCache,
}

/// The server side.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Server {
    /// The TLS stack of every server: `zerortt`, `rustls` or `openssl`.
    pub stack: Stack,
    /// Servers in the cluster (the client talks to server 0).
    pub count: usize,
    /// What the servers share.
    pub sharing: Sharing,
    /// SSL_CTX_set_max_early_data.
    pub max_early_data: u32,
    /// SSL_CTX_set_recv_max_early_data.
    pub recv_max_early_data: u32,
    /// If set, max_early_data is changed to this after the tickets were issued.
    pub max_early_data_after_tickets: Option<u32>,
    /// SSL_OP_NO_ANTI_REPLAY.
    pub no_anti_replay: bool,
    /// Force a HelloRetryRequest (cookie) on every first ClientHello.
    pub hello_retry: bool,
    /// Allow-early-data callback: `always`, `never`, or `load:N` (decline while more than N
    /// connections are in progress on that server).
    pub allow_early_data: String,
    /// Answer with 0.5-RTT data right after the first read_early_data.
    pub half_rtt_response: bool,
    /// Ticket age tolerance (RFC 9846 8.3); OpenSSL uses 10 s.
    pub ticket_age_tolerance_ms: u64,
    /// Latency of the link to the external cache (sharing = external_cache).
    pub external_cache_latency_ms: f64,
    /// Use an external PSK instead of tickets (no replay protection, documented).
    pub external_psk: bool,
    /// After the warm-up (which gets TLS 1.3 tickets), the servers allow TLS 1.2 only:
    /// SSL_read_early_data(3) NOTES, "a server used to support TLSv1.3 but was later
    /// downgraded to TLSv1.2".
    pub tls12_after_tickets: bool,
    /// The servers take P-256 key shares only, so a client whose first key share is X25519
    /// gets a HelloRetryRequest (no cookie) on every connection.
    pub hello_retry_for_key_share: bool,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            stack: Stack::Zerortt,
            count: 1,
            sharing: Sharing::Nothing,
            max_early_data: 16384,
            recv_max_early_data: 16384,
            max_early_data_after_tickets: None,
            no_anti_replay: false,
            hello_retry: false,
            allow_early_data: "always".into(),
            half_rtt_response: false,
            ticket_age_tolerance_ms: TICKET_AGE_TOLERANCE_MS_DEFAULT,
            external_cache_latency_ms: 5.0,
            external_psk: false,
            tls12_after_tickets: false,
            hello_retry_for_key_share: false,
        }
    }
}

/// OpenSSL's ticket age tolerance (10 s); a scenario that sets another needs a stack that
/// lets it be set.
const TICKET_AGE_TOLERANCE_MS_DEFAULT: u64 = 10_000;

/// The client application's script.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Client {
    /// The client's TLS stack: `zerortt`, `rustls` or `openssl`.
    pub stack: Stack,
    /// Early data, in bytes per write_early_data call; empty means no early data.
    pub early_data_chunks: Vec<usize>,
    /// Time between early data writes.
    pub chunk_interval_ms: f64,
    /// Raise the session's max_early_data to this (SSL_SESSION_set_max_early_data) to
    /// send more than the server allowed.
    pub session_max_early_data: Option<u32>,
    /// Bytes of the normal request after the handshake.
    pub request_bytes: usize,
    /// Time between the ticket-issuing connection and the 0-RTT connection.
    pub resume_after_ms: f64,
    /// On an aborted 0-RTT connection, retry once without early data (the man page's
    /// advice).
    pub retry_without_early_data: bool,
    /// The client speaks TLS 1.2 only (the man page: "if the client only supports
    /// TLSv1.2").
    pub tls12_only: bool,
}

impl Default for Client {
    fn default() -> Self {
        Self {
            stack: Stack::Zerortt,
            early_data_chunks: vec![500],
            chunk_interval_ms: 0.0,
            session_max_early_data: None,
            request_bytes: 100,
            resume_after_ms: 1000.0,
            retry_without_early_data: true,
            tls12_only: false,
        }
    }
}

/// Replays of the client's recorded first flight.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Attack {
    /// Each replay: when (ms after the 0-RTT connection starts) and to which server.
    pub replays: Vec<Replay>,
}

/// One replay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replay {
    /// Milliseconds after the 0-RTT connection's SYN.
    pub at_ms: f64,
    /// Target server index.
    pub server: usize,
}

/// Knob ranges for `explore` (each seed draws one value per range).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Explore {
    /// One-way latency range in ms.
    pub latency_ms: Option<[f64; 2]>,
    /// Loss probability range.
    pub loss: Option<[f64; 2]>,
    /// Jitter range in ms.
    pub jitter_ms: Option<[f64; 2]>,
    /// Total early data range in bytes (split into 1-4 chunks).
    pub early_data_bytes: Option<[usize; 2]>,
}

/// A problem in a scenario, with where it is and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// `file:line:column` or the field path.
    pub location: String,
    /// What is wrong and the valid choices.
    pub message: String,
}

impl std::fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for ScenarioError {}

impl Scenario {
    /// The knobs the server side of this scenario needs beyond every stack's basics.
    pub fn server_knobs(&self) -> Vec<Knob> {
        let s = &self.server;
        let mut knobs = Vec::new();
        if s.recv_max_early_data != s.max_early_data {
            knobs.push(Knob::RecvMaxEarlyData);
        }
        if s.allow_early_data != "always" {
            knobs.push(Knob::AllowEarlyDataCallback);
        }
        if s.hello_retry {
            knobs.push(Knob::ForcedHelloRetryRequest);
        }
        if s.no_anti_replay {
            knobs.push(Knob::NoAntiReplay);
        }
        if s.max_early_data_after_tickets.is_some() {
            knobs.push(Knob::MaxEarlyDataAfterTickets);
        }
        if s.ticket_age_tolerance_ms != TICKET_AGE_TOLERANCE_MS_DEFAULT {
            knobs.push(Knob::TicketAgeTolerance);
        }
        match s.sharing {
            Sharing::Nothing | Sharing::TicketKeys => {}
            Sharing::StrikeRegister => knobs.push(Knob::StrikeRegister),
            Sharing::Cache => knobs.push(Knob::SharedSessionCache),
            Sharing::ExternalCache => knobs.push(Knob::ExternalSessionCache),
        }
        if s.external_psk {
            knobs.push(Knob::ExternalPsk);
        }
        if s.tls12_after_tickets {
            knobs.push(Knob::Tls12AfterTickets);
        }
        if s.hello_retry_for_key_share {
            knobs.push(Knob::HelloRetryForKeyShare);
        }
        knobs
    }

    /// The knobs the client side of this scenario needs.
    pub fn client_knobs(&self) -> Vec<Knob> {
        let mut knobs = Vec::new();
        if self.client.session_max_early_data.is_some() {
            knobs.push(Knob::SessionMaxEarlyData);
        }
        if self.server.external_psk {
            knobs.push(Knob::ExternalPsk);
        }
        if self.client.tls12_only {
            knobs.push(Knob::Tls12Client);
        }
        if self.server.hello_retry_for_key_share {
            knobs.push(Knob::HelloRetryForKeyShare);
        }
        knobs
    }

    /// Why this scenario cannot run on its stacks: the side, the stack and the knob it
    /// lacks, as a message naming all three. `None` if it can run.
    pub fn not_applicable(&self) -> Option<String> {
        let sides = [
            ("server", self.server.stack, self.server_knobs()),
            ("client", self.client.stack, self.client_knobs()),
        ];
        for (side, stack, knobs) in sides {
            if let Some(k) = knobs.into_iter().find(|k| !stack.supports(*k)) {
                return Some(format!(
                    "{side}.stack = \"{stack}\" has no {} (scenario {:?} sets it)",
                    k.field(),
                    self.name
                ));
            }
        }
        None
    }

    /// Parses TOML; `origin` names the file in error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| {
            let location = match e.span() {
                Some(span) => {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                    format!("{origin}:{line}:{column}")
                }
                None => origin.to_owned(),
            };
            ScenarioError {
                location,
                message: e.message().to_owned(),
            }
        })?;
        scenario.validate(origin)?;
        Ok(scenario)
    }

    /// Range checks that TOML types cannot express.
    pub fn validate(&self, origin: &str) -> Result<(), ScenarioError> {
        let err = |field: &str, message: String| {
            Err(ScenarioError {
                location: format!("{origin}: {field}"),
                message,
            })
        };
        let n = &self.network;
        for (field, p) in [("network.loss", n.loss), ("network.duplicate", n.duplicate)] {
            if !(0.0..=0.9).contains(&p) {
                return err(field, format!("{p} is out of range; valid: 0.0 to 0.9"));
            }
        }
        for (field, v) in [
            ("network.latency_ms", n.latency_ms),
            ("network.jitter_ms", n.jitter_ms),
            ("client.chunk_interval_ms", self.client.chunk_interval_ms),
            ("client.resume_after_ms", self.client.resume_after_ms),
            (
                "server.external_cache_latency_ms",
                self.server.external_cache_latency_ms,
            ),
        ] {
            if !(0.0..=60_000.0).contains(&v) {
                return err(field, format!("{v} is out of range; valid: 0 to 60000 ms"));
            }
        }
        if !(576..=65_535).contains(&n.mtu) {
            return err(
                "network.mtu",
                format!("{} is out of range; valid: 576 to 65535", n.mtu),
            );
        }
        if !(1..=16).contains(&self.server.count) {
            return err(
                "server.count",
                format!("{} is out of range; valid: 1 to 16", self.server.count),
            );
        }
        if !(1..=100).contains(&self.tcp.initial_cwnd) {
            return err(
                "tcp.initial_cwnd",
                format!("{} is out of range; valid: 1 to 100", self.tcp.initial_cwnd),
            );
        }
        if parse_delayed_ack(&self.tcp.delayed_ack).is_none() {
            return err(
                "tcp.delayed_ack",
                format!(
                    "{:?} is not valid; valid: \"linux\", \"off\", \"quickack\", or a delay such as \"40ms\"",
                    self.tcp.delayed_ack
                ),
            );
        }
        if !matches!(self.tcp.profile.as_str(), "linux" | "rfc") {
            return err(
                "tcp.profile",
                format!(
                    "{:?} is not valid; valid: \"linux\", \"rfc\"",
                    self.tcp.profile
                ),
            );
        }
        if !(100..=1000).contains(&self.tcp.hz) {
            return err(
                "tcp.hz",
                format!("{} is out of range; valid: 100 to 1000", self.tcp.hz),
            );
        }
        if parse_allow_policy(&self.server.allow_early_data).is_none() {
            return err(
                "server.allow_early_data",
                format!(
                    "{:?} is not valid; valid: \"always\", \"never\", \"load:N\"",
                    self.server.allow_early_data
                ),
            );
        }
        let total = self
            .client
            .early_data_chunks
            .iter()
            .fold(0usize, |a, b| a.saturating_add(*b));
        if total > 1 << 20 || self.client.early_data_chunks.len() > 64 {
            return err(
                "client.early_data_chunks",
                "at most 64 chunks and 1 MiB in total".into(),
            );
        }
        if n.bandwidth_kbps > 100_000_000 {
            return err(
                "network.bandwidth_kbps",
                format!(
                    "{} is out of range; valid: 0 (unlimited) to 100000000",
                    n.bandwidth_kbps
                ),
            );
        }
        if self.server.ticket_age_tolerance_ms > 86_400_000 {
            return err(
                "server.ticket_age_tolerance_ms",
                "valid: 0 to 86400000 (one day)".into(),
            );
        }
        let e = &self.explore;
        for (field, r) in [
            ("explore.latency_ms", e.latency_ms),
            ("explore.jitter_ms", e.jitter_ms),
        ] {
            if let Some([lo, hi]) = r {
                if !(0.0..=60_000.0).contains(&lo) || !(lo..=60_000.0).contains(&hi) {
                    return err(
                        field,
                        "valid: [low, high] with 0 <= low <= high <= 60000".into(),
                    );
                }
            }
        }
        if let Some([lo, hi]) = e.loss {
            if !(0.0..=0.9).contains(&lo) || !(lo..=0.9).contains(&hi) {
                return err(
                    "explore.loss",
                    "valid: [low, high] with 0 <= low <= high <= 0.9".into(),
                );
            }
        }
        if let Some([lo, hi]) = e.early_data_bytes {
            if lo > hi || hi > 1 << 20 {
                return err(
                    "explore.early_data_bytes",
                    "valid: [low, high] with low <= high <= 1048576".into(),
                );
            }
        }
        if self.client.request_bytes > 1 << 20 {
            return err("client.request_bytes", "at most 1 MiB".into());
        }
        if let Some(v) = &self.expect.status {
            if !["accepted", "rejected", "not_sent"].contains(&v.as_str()) {
                return err(
                    "expect.status",
                    format!("{v:?} is not valid; valid: \"accepted\", \"rejected\", \"not_sent\""),
                );
            }
        }
        if let Some(v) = &self.expect.outcome {
            if !["completed", "aborted"].contains(&v.as_str()) {
                return err(
                    "expect.outcome",
                    format!("{v:?} is not valid; valid: \"completed\", \"aborted\""),
                );
            }
        }
        if self.attack.replays.len() > 16 {
            return err("attack.replays", "at most 16 replays".into());
        }
        for (i, r) in self.attack.replays.iter().enumerate() {
            if r.server >= self.server.count {
                return err(
                    &format!("attack.replays[{i}].server"),
                    format!(
                        "{} is not a server; valid: 0 to {}",
                        r.server,
                        self.server.count - 1
                    ),
                );
            }
            if !(0.0..=60_000.0).contains(&r.at_ms) {
                return err(
                    &format!("attack.replays[{i}].at_ms"),
                    "valid: 0 to 60000 ms".into(),
                );
            }
        }
        Ok(())
    }
}

/// Parses `tcp.delayed_ack`.
pub fn parse_delayed_ack(s: &str) -> Option<DelayedAck> {
    match s {
        "linux" => Some(DelayedAck::Linux),
        "off" => Some(DelayedAck::Off),
        "quickack" => Some(DelayedAck::QuickAckAtStart),
        other => {
            let ms: u64 = other.strip_suffix("ms")?.parse().ok()?;
            (1..=500)
                .contains(&ms)
                .then(|| DelayedAck::Delay(Duration::from_millis(ms)))
        }
    }
}

/// The allow-early-data policy of `server.allow_early_data`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllowPolicy {
    /// No callback.
    Always,
    /// Decline everything.
    Never,
    /// Decline while more than N connections are in progress on the server.
    Load(usize),
}

/// Parses `server.allow_early_data`.
pub fn parse_allow_policy(s: &str) -> Option<AllowPolicy> {
    match s {
        "always" => Some(AllowPolicy::Always),
        "never" => Some(AllowPolicy::Never),
        other => other
            .strip_prefix("load:")?
            .parse()
            .ok()
            .map(AllowPolicy::Load),
    }
}
