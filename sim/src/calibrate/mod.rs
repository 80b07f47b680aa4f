//! `zerortt calibrate SCENARIO`: the scenario over real kernel TCP beside the simulator.
//!
//! Two network namespaces (client and server) each get one end of a user-space relay on
//! TUN devices ([`relay`]) that applies the scenario's latency, jitter and loss; the
//! endpoints ([`endpoint`]) are the scenario's stacks (zerortt-core, rustls, OpenSSL) over
//! real sockets, run as child processes in their namespace (`ip netns exec`), driven by
//! the scenario's script. The relay records
//! every segment; the endpoints report their TLS milestones. The result is the real
//! timing, milestone by milestone, beside the simulated one. Linux only, as root.
//!
//! The wall clock is read here (and only in this module tree): it is what is measured.

pub mod endpoint;
pub mod relay;

use crate::report;
use crate::scenario::Scenario;
use crate::subject::{Knob, Stack};
use crate::world::{Role, World};
use std::fmt::Write as _;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Prefix of the namespaces and TUN devices this command creates.
const PREFIX: &str = "zrttcal";
/// Client and server addresses inside the namespaces.
const CLIENT_ADDR: &str = "10.77.0.1";
/// The server's address.
const SERVER_ADDR: &str = "10.77.0.2";
/// The server's port.
const SERVER_PORT: u16 = 4433;
/// Bound on one real run.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// Unix time in nanoseconds.
// The wall clock is what a calibration measures: real packets, real kernel timers.
#[allow(clippy::disallowed_methods)]
pub fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Why a calibration cannot run here, in words a user can act on.
pub fn unavailable() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(2))
        == Some("0");
    if !root {
        return Some("calibrate needs root (network namespaces and TUN devices)".into());
    }
    if !std::path::Path::new("/dev/net/tun").exists() {
        return Some("calibrate needs TUN: /dev/net/tun is missing (modprobe tun)".into());
    }
    match Command::new("ip").args(["netns", "list"]).output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "calibrate needs network namespaces: `ip netns list` failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("calibrate needs iproute2's `ip`: {e}")),
    }
}

/// Whether the real endpoints wire `knob` on `stack` ([`endpoint`] sets it up as the
/// simulator does); any other knob would be silently ignored by the real run.
fn wired(stack: Stack, knob: Knob) -> bool {
    match (stack, knob) {
        (Stack::Zerortt, Knob::RecvMaxEarlyData) => true,
        // SSL_CTX_set_recv_max_early_data, SSL_OP_NO_ANTI_REPLAY, the P-256 groups list,
        // a TLS 1.2-only client context.
        (
            Stack::Openssl,
            Knob::RecvMaxEarlyData
            | Knob::NoAntiReplay
            | Knob::HelloRetryForKeyShare
            | Knob::Tls12Client,
        ) => true,
        _ => false,
    }
}

/// Why the real endpoints cannot run `scenario` as the simulator does (a knob they do
/// not set up, an attacker), naming the field; `None` if they can.
pub fn not_calibratable(scenario: &Scenario) -> Option<String> {
    if !scenario.attack.replays.is_empty() {
        return Some(format!(
            "calibrate runs no attacker: scenario {:?} sets attack.replays",
            scenario.name
        ));
    }
    let sides = [
        ("server", scenario.server.stack, scenario.server_knobs()),
        ("client", scenario.client.stack, scenario.client_knobs()),
    ];
    for (side, stack, knobs) in sides {
        if let Some(k) = knobs.into_iter().find(|k| !wired(stack, *k)) {
            return Some(format!(
                "calibrate's real {side} ({stack}) does not set up {} (scenario {:?} sets \
                 it); it sets up server.max_early_data, recv_max_early_data (zerortt, \
                 openssl), half_rtt_response, no_anti_replay, hello_retry_for_key_share and \
                 client.tls12_only (openssl)",
                k.field(),
                scenario.name
            ));
        }
    }
    None
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The namespaces of one run; removed on drop, whatever happened.
struct Namespaces {
    client: String,
    server: String,
}

impl Namespaces {
    fn create(tag: &str) -> Result<Namespaces, String> {
        let ns = Namespaces {
            client: format!("{PREFIX}-{tag}-c"),
            server: format!("{PREFIX}-{tag}-s"),
        };
        ip(&["netns", "add", &ns.client])?;
        ip(&["netns", "add", &ns.server])?;
        Ok(ns)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        // Deleting a namespace deletes the TUN device moved into it.
        let _ = ip(&["netns", "del", &self.client]);
        let _ = ip(&["netns", "del", &self.server]);
    }
}

/// Removes namespaces left by runs whose process is gone (killed before its Drop ran).
fn remove_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(&format!("{PREFIX}-")) else {
            continue;
        };
        let pid = rest.split('x').next().unwrap_or("");
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// A TUN device in the root namespace, then moved into `ns` and addressed there.
fn tun_into(name: &str, ns: &str, addr: &str, mtu: usize) -> Result<tun::Device, String> {
    let mut config = tun::Configuration::default();
    config.tun_name(name).layer(tun::Layer::L3);
    let dev = tun::create(&config).map_err(|e| format!("TUN device {name}: {e}"))?;
    ip(&["link", "set", name, "netns", ns])?;
    ip(&["-n", ns, "link", "set", "lo", "up"])?;
    ip(&["-n", ns, "addr", "add", &format!("{addr}/24"), "dev", name])?;
    ip(&["-n", ns, "link", "set", name, "mtu", &mtu.to_string()])?;
    ip(&["-n", ns, "link", "set", name, "up"])?;
    Ok(dev)
}

/// Kills a child (ours, by its id) when dropped.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines `<unix ns> <what...>` from an endpoint.
fn parse_log(text: &str) -> Vec<(u64, String)> {
    text.lines()
        .filter_map(|l| {
            let (t, what) = l.split_once(' ')?;
            Some((t.parse().ok()?, what.to_owned()))
        })
        .collect()
}

/// The milestones of one real run, in ms from the 0-RTT connection's SYN, plus counts.
#[derive(Clone, Debug, Default)]
pub struct RealTiming {
    /// (milestone, ms since SYN) in the simulator's names.
    pub milestones: Vec<(&'static str, f64)>,
    /// Data segments the client sent on the 0-RTT connection.
    pub client_segments: u64,
    /// Segments sent again (either direction).
    pub retransmissions: u64,
    /// Every segment of the 0-RTT connection the relay saw, one line each.
    pub capture: Vec<String>,
    /// The server's early data decision on the 0-RTT connection (`accepted`,
    /// `rejected (Reason)`), as its TLS stack reported it.
    pub early_data: Option<String>,
}

impl RealTiming {
    /// The milestone `name`, if reached.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.milestones
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
    }
}

fn real_timing(
    capture: &[relay::Captured],
    client: &[(u64, String)],
    server: &[(u64, String)],
) -> Result<RealTiming, String> {
    let connect = client
        .iter()
        .find(|(_, w)| w == "connect")
        .map(|(t, _)| *t)
        .ok_or("the client never started its 0-RTT connection")?;
    let syn = capture
        .iter()
        .find(|c| c.from_client && c.syn && c.at_ns >= connect)
        .ok_or("the relay saw no SYN of the 0-RTT connection")?;
    let (port, isn, t0) = (syn.src_port, syn.seq, syn.at_ns);
    let ms = |t: u64| (t as f64 - t0 as f64) / 1e6;
    let early: Vec<(u64, u64)> = client
        .iter()
        .filter_map(|(_, w)| {
            let rest = w.strip_prefix("early_record ")?;
            let (a, b) = rest.split_once(' ')?;
            Some((a.parse().ok()?, b.parse().ok()?))
        })
        .collect();
    let mut t = RealTiming::default();
    let mut m: Vec<(&'static str, f64)> = vec![("SYN", 0.0)];
    let mut seen = std::collections::BTreeSet::new();
    let (mut first_early, mut last_early) = (None, None);
    let peer_isn = capture
        .iter()
        .find(|c| !c.from_client && c.syn && c.dst_port == port)
        .map_or(0, |c| c.seq);
    for c in capture.iter().filter(|c| c.at_ns >= t0) {
        let ours = (c.from_client && c.src_port == port) || (!c.from_client && c.dst_port == port);
        if !ours {
            continue;
        }
        let (own, other) = if c.from_client {
            (isn, peer_isn)
        } else {
            (peer_isn, isn)
        };
        let flags: String = [
            (0x02, 'S'),
            (0x01, 'F'),
            (0x04, 'R'),
            (0x08, 'P'),
            (0x10, '.'),
        ]
        .iter()
        .filter(|(bit, _)| c.flags & bit != 0)
        .map(|(_, ch)| *ch)
        .collect();
        t.capture.push(format!(
            "{:>10.3}ms {} [{flags}] seq={} ack={} win={} len={}{}",
            ms(c.at_ns),
            if c.from_client { "client>" } else { "server>" },
            c.seq.wrapping_sub(own),
            c.ack.wrapping_sub(other),
            c.window,
            c.payload_len,
            if c.dropped { " DROPPED" } else { "" }
        ));
        if c.payload_len == 0 {
            continue;
        }
        if !seen.insert((c.from_client, c.seq)) {
            t.retransmissions += 1;
        }
        if c.from_client {
            t.client_segments += 1;
            let start = u64::from(c.seq.wrapping_sub(isn).wrapping_sub(1));
            let end = start + c.payload_len as u64;
            if early.iter().any(|(a, b)| *a < end && start < *b) {
                first_early.get_or_insert(c.at_ns);
                last_early = Some(c.at_ns);
            }
        }
    }
    let first =
        |log: &[(u64, String)], what: &str| log.iter().find(|(_, w)| w == what).map(|(t, _)| *t);
    let last = |log: &[(u64, String)], what: &str| {
        log.iter().rev().find(|(_, w)| w == what).map(|(t, _)| *t)
    };
    let mut push = |name: &'static str, v: Option<u64>| {
        if let Some(v) = v {
            m.push((name, ms(v)));
        }
    };
    push("ClientHello written", first(client, "sent ClientHello"));
    push("first early byte leaves client", first_early);
    push("last early byte leaves client", last_early);
    push(
        "ClientHello at server",
        first(server, "received ClientHello"),
    );
    push(
        "first early byte read by server",
        first(server, "early_read"),
    );
    push("last early byte read by server", last(server, "early_read"));
    push("server flight written", first(server, "sent Finished"));
    push("0.5-RTT data at client", first(client, "half_rtt"));
    push(
        "EndOfEarlyData at server",
        first(server, "received EndOfEarlyData"),
    );
    push("client handshake complete", first(client, "client_done"));
    push("server handshake complete", first(server, "server_done"));
    push("response at client", first(client, "response"));
    m.sort_by(|a, b| a.1.total_cmp(&b.1));
    t.milestones = m;
    t.early_data = server
        .iter()
        .find_map(|(_, w)| w.strip_prefix("early_data "))
        .map(str::to_owned);
    Ok(t)
}

/// Runs `scenario` once over real kernel TCP. `exe` is this program (the endpoints are
/// its hidden `calibrate --endpoint` mode), `scenario_file` the scenario as TOML.
pub fn run_real(scenario: &Scenario, exe: &std::path::Path) -> Result<RealTiming, String> {
    if let Some(why) = not_calibratable(scenario) {
        return Err(why);
    }
    if let Some(why) = unavailable() {
        return Err(why);
    }
    remove_stale();
    let tag = format!("{}x{}", std::process::id(), wall_ns() % 100_000);
    let ns = Namespaces::create(&tag)?;
    let dir = std::env::temp_dir().join(format!("{PREFIX}-{tag}"));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let scenario_file = dir.join("scenario.toml");
    let text = toml::to_string(scenario).map_err(|e| e.to_string())?;
    std::fs::write(&scenario_file, text).map_err(|e| e.to_string())?;
    let short = &tag[tag.len().saturating_sub(6)..];
    let client_tun = tun_into(
        &format!("zc{short}c"),
        &ns.client,
        CLIENT_ADDR,
        scenario.network.mtu,
    )?;
    let server_tun = tun_into(
        &format!("zc{short}s"),
        &ns.server,
        SERVER_ADDR,
        scenario.network.mtu,
    )?;
    let stop = Arc::new(AtomicBool::new(false));
    let relay = {
        let (stop, scenario) = (stop.clone(), scenario.clone());
        std::thread::spawn(move || relay::run(client_tun, server_tun, &scenario, 1, stop))
    };
    let result = (|| {
        let epoch = wall_ns().to_string();
        let endpoint = |netns: &str, role: &str| {
            Command::new("ip")
                .args(["netns", "exec", netns])
                .arg(exe)
                .args(["calibrate", "--endpoint", role, "--epoch-ns", &epoch])
                .arg(&scenario_file)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| format!("starting the {role}: {e}"))
        };
        let mut server = ChildGuard(endpoint(&ns.server, "server")?);
        // The server prints "listening" first; give it a moment to bind.
        std::thread::sleep(Duration::from_millis(100));
        let client = endpoint(&ns.client, "client")?;
        let deadline = wall_ns() + RUN_TIMEOUT.as_nanos() as u64;
        let mut client = ChildGuard(client);
        loop {
            if let Some(status) = client.0.try_wait().map_err(|e| e.to_string())? {
                if !status.success() {
                    let mut err = String::new();
                    if let Some(mut e) = client.0.stderr.take() {
                        let _ = std::io::Read::read_to_string(&mut e, &mut err);
                    }
                    return Err(format!("the real client failed: {}", err.trim()));
                }
                break;
            }
            if wall_ns() > deadline {
                return Err("the real run did not finish in 30 s".into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // Let the server see the close and exit on its own.
        for _ in 0..200 {
            if server.0.try_wait().map_err(|e| e.to_string())?.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let read = |c: &mut ChildGuard| {
            let mut out = String::new();
            if let Some(mut o) = c.0.stdout.take() {
                let _ = std::io::Read::read_to_string(&mut o, &mut out);
            }
            parse_log(&out)
        };
        Ok((read(&mut client), read(&mut server)))
    })();
    stop.store(true, Ordering::Relaxed);
    let capture = relay
        .join()
        .map_err(|_| "the relay thread panicked".to_owned())?
        .map_err(|e| format!("relay: {e}"))?;
    let _ = std::fs::remove_dir_all(&dir);
    drop(ns);
    let (client_log, server_log) = result?;
    real_timing(&capture, &client_log, &server_log)
}

/// The endpoint side (`calibrate --endpoint client|server`), inside its namespace.
pub fn endpoint(role: &str, scenario: &Scenario, epoch_ns: u64) -> Result<(), String> {
    // An endpoint whose parent was killed (its namespaces then removed by the next run)
    // must not wait forever in accept(): it ends itself after the run's bound.
    std::thread::spawn(|| {
        std::thread::sleep(RUN_TIMEOUT + Duration::from_secs(5));
        eprintln!("calibrate endpoint: run bound reached, exiting");
        std::process::exit(3);
    });
    let server: std::net::SocketAddr = format!("{SERVER_ADDR}:{SERVER_PORT}")
        .parse()
        .map_err(|e| format!("{e}"))?;
    match role {
        "server" => endpoint::server(scenario, server, epoch_ns),
        "client" => endpoint::client(scenario, server, epoch_ns),
        other => return Err(format!("unknown endpoint {other:?}; valid: client, server")),
    }
    .map_err(|e| format!("{role}: {e}"))
}

/// The simulated milestones of the 0-RTT connection, in ms from its SYN.
pub fn simulated(scenario: &Scenario) -> (Vec<(&'static str, f64)>, report::Timing) {
    let world = World::run(scenario, 1);
    let timing = world
        .connections
        .iter()
        .find(|c| c.borrow().role == Role::ZeroRtt)
        .map(|c| report::timing(&world, &c.borrow()))
        .unwrap_or_default();
    let ms = timing
        .milestones
        .iter()
        .map(|(n, v)| (*n, v.as_nanos() as f64 / 1e6))
        .collect();
    (ms, timing)
}

/// The simulated server's early data decision on the 0-RTT connection, in the words of
/// [`RealTiming::early_data`].
pub fn simulated_early_data(scenario: &Scenario) -> String {
    let world = World::run(scenario, 1);
    let status = world
        .connections
        .iter()
        .find(|c| c.borrow().role == Role::ZeroRtt)
        .and_then(|c| c.borrow().server_status);
    match status {
        Some(zerortt_core::EarlyDataStatus::Accepted) => "accepted".into(),
        Some(zerortt_core::EarlyDataStatus::Rejected) => "rejected".into(),
        _ => "-".into(),
    }
}

/// The side-by-side table: every simulated milestone, each real run, and the largest
/// difference.
pub fn table(scenario: &Scenario, runs: &[RealTiming]) -> String {
    let (sim, timing) = simulated(scenario);
    let mut out = String::new();
    let _ = write!(out, "{:<34} {:>10}", "milestone (ms from SYN)", "sim");
    for i in 0..runs.len() {
        let _ = write!(out, " {:>10}", format!("real#{}", i + 1));
    }
    let _ = writeln!(out, " {:>10}", "max |diff|");
    for (name, v) in &sim {
        let _ = write!(out, "{name:<34} {v:>10.1}");
        let mut worst: Option<f64> = None;
        for r in runs {
            match r.get(name) {
                Some(x) => {
                    let _ = write!(out, " {x:>10.1}");
                    worst = Some(worst.unwrap_or(0.0).max((x - v).abs()));
                }
                None => {
                    let _ = write!(out, " {:>10}", "-");
                }
            }
        }
        let _ = writeln!(
            out,
            " {:>10}",
            worst.map_or("-".to_owned(), |w| format!("{w:.1}"))
        );
    }
    let _ = write!(
        out,
        "{:<34} {:>10}",
        "early data (server)",
        simulated_early_data(scenario)
    );
    for r in runs {
        let _ = write!(out, " {:>10}", r.early_data.as_deref().unwrap_or("-"));
    }
    let _ = writeln!(out);
    count_row(
        &mut out,
        "client data segments",
        timing.client_segments,
        runs.iter().map(|r| r.client_segments),
    );
    count_row(
        &mut out,
        "retransmissions",
        timing.retransmissions,
        runs.iter().map(|r| r.retransmissions),
    );
    out
}

/// A row of [`table`] for a count: the simulated one, then each real run's.
fn count_row(out: &mut String, name: &str, sim: u64, real: impl Iterator<Item = u64>) {
    let _ = write!(out, "{name:<34} {sim:>10}");
    for x in real {
        let _ = write!(out, " {x:>10}");
    }
    let _ = writeln!(out);
}

/// The worst difference between `run` and the simulation, over the milestones both
/// reached: (milestone, sim ms, real ms). Missing milestones on either side count as
/// a mismatch (`f64::INFINITY`).
pub fn worst_difference(scenario: &Scenario, run: &RealTiming) -> (String, f64, f64) {
    let (sim, _) = simulated(scenario);
    let mut worst = (String::new(), 0.0, 0.0);
    let mut worst_diff = -1.0;
    for (name, v) in &sim {
        let x = run.get(name).unwrap_or(f64::INFINITY);
        if (x - v).abs() > worst_diff {
            worst_diff = (x - v).abs();
            worst = ((*name).to_owned(), *v, x);
        }
    }
    worst
}
