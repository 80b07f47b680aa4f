//! The trace (typed events rendered one line each, hashed), the JSON-lines form, and the
//! timing report of the 0-RTT connection.

use crate::net::{NetEvent, SimTime, TcpEvent};
use crate::world::{ConnRecord, Role, World};
use std::fmt::Write as _;
use zerortt_core::msgs::enums::HandshakeType;
use zerortt_core::Event;

/// One trace line: when, where, what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceLine {
    /// Virtual time.
    pub time: SimTime,
    /// Node name (`client/0rtt`, `server0/replay1`, ...).
    pub node: String,
    /// `net` (TCP and links) or `tls` (zerortt-core events).
    pub layer: &'static str,
    /// The event, rendered.
    pub text: String,
}

/// Merges the fabric's network trace with every connection's TLS events: by time, then
/// network before TLS, then each source's own order. Deterministic by construction.
pub fn trace(world: &World) -> Vec<TraceLine> {
    let mut lines: Vec<(SimTime, u8, u64, TraceLine)> = Vec::new();
    for (i, entry) in world.fabric.trace().iter().enumerate() {
        let node = world.fabric.node_name(entry.node).unwrap_or("?").to_owned();
        lines.push((
            entry.time,
            0,
            i as u64,
            TraceLine {
                time: entry.time,
                node,
                layer: "net",
                text: entry.event.to_string(),
            },
        ));
    }
    for conn in &world.connections {
        let c = conn.borrow();
        let client = match c.role {
            Role::Replay(_) => format!("attacker/{}", c.name),
            _ => format!("client/{}", c.name),
        };
        let server = format!("server{}/{}", c.server, c.name);
        for (node, events) in [(&client, &c.client_events), (&server, &c.server_events)] {
            for (t, seq, e) in events {
                lines.push((
                    *t,
                    1,
                    *seq,
                    TraceLine {
                        time: *t,
                        node: node.clone(),
                        layer: "tls",
                        text: render_event(e),
                    },
                ));
            }
        }
    }
    lines.sort_by_key(|(t, src, seq, _)| (*t, *src, *seq));
    lines.into_iter().map(|(_, _, _, l)| l).collect()
}

/// A TLS event in the trace's stable form.
pub fn render_event(e: &Event) -> String {
    match e {
        // The key log line itself (NSS format) is what a user wants to paste into Wireshark.
        Event::SecretDerived(entry) => format!("keylog {entry}"),
        other => format!("{other:?}"),
    }
}

/// The text form: `   1025.000ms client/0rtt        tls HandshakeSent(ClientHello)`.
pub fn trace_text(lines: &[TraceLine]) -> String {
    let mut out = String::new();
    for l in lines {
        let _ = writeln!(
            out,
            "{:>12} {:<18} {} {}",
            l.time.to_string(),
            l.node,
            l.layer,
            l.text
        );
    }
    out
}

/// JSON lines: one object per trace line.
pub fn trace_json(lines: &[TraceLine]) -> String {
    let mut out = String::new();
    for l in lines {
        let v = serde_json::json!({"t_ns": l.time.as_nanos(), "node": l.node, "layer": l.layer, "event": l.text});
        let _ = writeln!(out, "{v}");
    }
    out
}

/// FNV-1a 64 of the text trace: a stable fingerprint for determinism checks (not a
/// security hash).
pub fn trace_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Milestones of one connection, in ms from its SYN and in RTTs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timing {
    /// (milestone name, time since SYN) in report order; absent milestones are omitted.
    pub milestones: Vec<(&'static str, SimTime)>,
    /// Data segments the client sent.
    pub client_segments: u64,
    /// Retransmissions on both sides.
    pub retransmissions: u64,
    /// Nagle holds at the client: (count, total held).
    pub nagle_holds: u64,
    /// Sum of Nagle hold durations at the client.
    pub nagle_held: std::time::Duration,
    /// Delayed ACKs sent by the server.
    pub delayed_acks: u64,
    /// Nagle holds at the server (its response waiting for the ACK of its tickets).
    pub server_nagle_holds: u64,
    /// Sum of Nagle hold durations at the server.
    pub server_nagle_held: std::time::Duration,
    /// The scenario's round-trip time (2 x one-way latency).
    pub rtt: std::time::Duration,
}

fn first_tls(events: &[(SimTime, u64, Event)], f: impl Fn(&Event) -> bool) -> Option<SimTime> {
    events.iter().find(|(_, _, e)| f(e)).map(|(t, _, _)| *t)
}

fn last_tls(events: &[(SimTime, u64, Event)], f: impl Fn(&Event) -> bool) -> Option<SimTime> {
    events
        .iter()
        .rev()
        .find(|(_, _, e)| f(e))
        .map(|(t, _, _)| *t)
}

/// The timing of `conn` in `world`.
pub fn timing(world: &World, conn: &ConnRecord) -> Timing {
    let mut t = Timing {
        rtt: crate::world::ms(2.0 * world.scenario.network.latency_ms),
        ..Timing::default()
    };
    let Some((cnode, snode)) = conn.nodes else {
        return t;
    };
    let since =
        |x: SimTime| SimTime::from_nanos(x.as_nanos().saturating_sub(conn.start.as_nanos()));
    let mut m: Vec<(&'static str, SimTime)> = Vec::new();
    let mut first_early_out = None;
    let mut last_early_out = None;
    for e in world.fabric.trace() {
        match &e.event {
            NetEvent::Sent(h) if e.node == cnode => {
                if h.flags.syn && !h.flags.ack && !m.iter().any(|(n, _)| *n == "SYN") {
                    m.push(("SYN", e.time));
                }
                if h.payload_len > 0 {
                    t.client_segments += 1;
                    // Stream offset of the segment's bytes (ISN 0, the SYN takes one).
                    let start = u64::from(h.seq).saturating_sub(1);
                    let end = start + h.payload_len as u64;
                    if conn
                        .early_offsets
                        .iter()
                        .any(|(a, b)| *a < end && start < *b)
                    {
                        first_early_out.get_or_insert(e.time);
                        last_early_out = Some(e.time);
                    }
                }
            }
            NetEvent::Tcp(TcpEvent::Retransmission { .. })
                if e.node == cnode || e.node == snode =>
            {
                t.retransmissions += 1
            }
            NetEvent::Tcp(TcpEvent::NagleHoldEnded { held_for, .. }) if e.node == cnode => {
                t.nagle_holds += 1;
                t.nagle_held += *held_for;
            }
            NetEvent::Tcp(TcpEvent::NagleHoldEnded { held_for, .. }) if e.node == snode => {
                t.server_nagle_holds += 1;
                t.server_nagle_held += *held_for;
            }
            NetEvent::Tcp(TcpEvent::DelayedAckSent { .. }) if e.node == snode => {
                t.delayed_acks += 1
            }
            _ => {}
        }
    }
    let ce = &conn.client_events;
    let se = &conn.server_events;
    let hs =
        |typ: HandshakeType| move |e: &Event| matches!(e, Event::HandshakeSent(x) if *x == typ);
    let hr =
        |typ: HandshakeType| move |e: &Event| matches!(e, Event::HandshakeReceived(x) if *x == typ);
    let push = |m: &mut Vec<(&'static str, SimTime)>, name, v: Option<SimTime>| {
        if let Some(v) = v {
            m.push((name, v));
        }
    };
    push(
        &mut m,
        "ClientHello written",
        first_tls(ce, hs(HandshakeType::ClientHello)),
    );
    push(&mut m, "first early byte leaves client", first_early_out);
    push(&mut m, "last early byte leaves client", last_early_out);
    push(
        &mut m,
        "ClientHello at server",
        first_tls(se, hr(HandshakeType::ClientHello)),
    );
    push(
        &mut m,
        "first early byte read by server",
        first_tls(se, |e| matches!(e, Event::EarlyDataRead { .. })),
    );
    push(
        &mut m,
        "last early byte read by server",
        last_tls(se, |e| matches!(e, Event::EarlyDataRead { .. })),
    );
    push(
        &mut m,
        "server flight written",
        first_tls(se, hs(HandshakeType::Finished)),
    );
    push(&mut m, "0.5-RTT data at client", conn.half_rtt_at_client);
    push(
        &mut m,
        "EndOfEarlyData at server",
        first_tls(se, hr(HandshakeType::EndOfEarlyData)),
    );
    push(&mut m, "client handshake complete", conn.client_done);
    push(&mut m, "server handshake complete", conn.server_done);
    push(&mut m, "response at client", conn.response_received);
    m.sort_by_key(|(_, v)| *v);
    t.milestones = m.into_iter().map(|(n, v)| (n, since(v))).collect();
    t
}

/// The report as stable text.
pub fn timing_text(world: &World, conn: &ConnRecord) -> String {
    let t = timing(world, conn);
    let rtt_ns = t.rtt.as_nanos().max(1) as f64;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "timing of {} (ms from its SYN; RTT {})",
        conn.name,
        SimTime::from_nanos(t.rtt.as_nanos() as u64)
    );
    for (name, v) in &t.milestones {
        let _ = writeln!(
            out,
            "  {:<34} {:>12} {:>7.2} RTT",
            name,
            v.to_string(),
            v.as_nanos() as f64 / rtt_ns
        );
    }
    let _ = writeln!(
        out,
        "  client data segments {}, retransmissions {}, delayed ACKs (server) {}",
        t.client_segments, t.retransmissions, t.delayed_acks
    );
    let _ = writeln!(
        out,
        "  Nagle holds at client: {} totalling {}",
        t.nagle_holds,
        SimTime::from_nanos(t.nagle_held.as_nanos() as u64)
    );
    let _ = writeln!(
        out,
        "  Nagle holds at server: {} totalling {}",
        t.server_nagle_holds,
        SimTime::from_nanos(t.server_nagle_held.as_nanos() as u64)
    );
    out
}

/// Milestones of the 0-RTT connection compared across variants of one scenario:
/// Nagle vs TCP_NODELAY, loss on the first flight, RTT, early data size.
pub fn comparison(base: &crate::scenario::Scenario, seed: u64) -> String {
    let mut variants: Vec<(String, crate::scenario::Scenario)> = Vec::new();
    let mut add = |name: &str, f: &dyn Fn(&mut crate::scenario::Scenario)| {
        let mut s = base.clone();
        f(&mut s);
        variants.push((name.to_owned(), s));
    };
    add("as written", &|_| {});
    add("Nagle on", &|s| s.tcp.client_nodelay = false);
    add("TCP_NODELAY", &|s| s.tcp.client_nodelay = true);
    add("first flight lost", &|s| s.network.lose_first_flight = true);
    add("RTT 10 ms", &|s| s.network.latency_ms = 5.0);
    add("RTT 200 ms", &|s| s.network.latency_ms = 100.0);
    add("early data 2 x 200 B", &|s| {
        s.client.early_data_chunks = vec![200, 200]
    });
    add("early data 12000 B", &|s| {
        s.client.early_data_chunks = vec![12000]
    });
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22} {:>14} {:>14} {:>14} {:>8} {:>10}",
        "variant", "last early out", "last early rd", "response", "Nagle", "status"
    );
    for (name, s) in variants {
        let world = World::run(&s, seed);
        let Some(conn) = world
            .connections
            .iter()
            .find(|c| c.borrow().role == Role::ZeroRtt)
        else {
            continue;
        };
        let c = conn.borrow();
        let t = timing(&world, &c);
        let get = |n: &str| {
            t.milestones
                .iter()
                .find(|(m, _)| *m == n)
                .map_or("-".to_owned(), |(_, v)| v.to_string())
        };
        let status = c.client_status.map_or("-".to_owned(), |s| format!("{s:?}"));
        let _ = writeln!(
            out,
            "{:<22} {:>14} {:>14} {:>14} {:>8} {:>10}",
            name,
            get("last early byte leaves client"),
            get("last early byte read by server"),
            get("response at client"),
            t.nagle_holds,
            status
        );
    }
    out
}
