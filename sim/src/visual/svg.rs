//! Ladder (sequence) diagrams of a run as hand-written SVG: one lifeline per endpoint,
//! time going down to scale, one arrow per segment labelled with its TLS content, Nagle
//! holds, delayed ACKs and retransmission timeouts as spans on the lifelines, lost
//! segments as arrows that stop, retransmissions and replays marked, and the timing
//! report's milestones on the axis.
//!
//! The text is a pure function of the run (no floats printed beyond one decimal, no
//! map iteration order), so it is snapshot-tested as is. `scripts/render-svg` turns it
//! into a PNG for a person to look at.

use super::{connections, esc, Conn};
use crate::net::{NetEvent, NodeId, SimTime, TcpEvent};
use crate::report;
use crate::world::{Role, World};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;
use zerortt_core::conn::events::KeyEpoch;
use zerortt_core::msgs::enums::ContentType;
use zerortt_core::Event;

/// What an arrow carries, which picks its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// SYN, FIN, RST or a pure ACK.
    Control,
    /// Early data (the client's first flight).
    Early,
    /// Handshake records.
    Handshake,
    /// Application data.
    Data,
    /// Anything the attacker sends.
    Replay,
}

impl Kind {
    fn colour(self) -> &'static str {
        match self {
            Kind::Control => "#8c8c8c",
            Kind::Early => "#d35400",
            Kind::Handshake => "#1f618d",
            Kind::Data => "#1e8449",
            Kind::Replay => "#8e44ad",
        }
    }

    /// Which colour wins when a segment carries several kinds: early data, then
    /// handshake, then application data.
    fn rank(self) -> u8 {
        match self {
            Kind::Control => 0,
            Kind::Data => 1,
            Kind::Handshake => 2,
            Kind::Early => 3,
            Kind::Replay => 4,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Control => "ctl",
            Kind::Early => "early",
            Kind::Handshake => "hs",
            Kind::Data => "data",
            Kind::Replay => "replay",
        }
    }
}

/// One arrow: a segment (or several sent together with the same fate).
#[derive(Clone, Debug)]
struct Arrow {
    from: usize,
    to: usize,
    sent: SimTime,
    /// `None`: lost on the link.
    arrival: Option<SimTime>,
    label: String,
    kind: Kind,
    /// "lost (loss)", "retransmission (rto)", "duplicate", ...
    notes: Vec<String>,
}

/// What a span on a lifeline is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SpanKind {
    /// Nagle held unsent data.
    Nagle,
    /// An ACK waited for the delayed-ACK timer.
    DelayedAck,
    /// The retransmission timer ran until it expired.
    Rto,
}

impl SpanKind {
    /// (fill, text colour).
    fn colours(self) -> (&'static str, &'static str) {
        match self {
            SpanKind::Nagle => ("#e67e22", "#a04000"),
            SpanKind::DelayedAck => ("#5d6d7e", "#2c3e50"),
            SpanKind::Rto => ("#c0392b", "#922b21"),
        }
    }
}

/// A span on one lifeline: a Nagle hold, a delayed ACK, a retransmission timeout.
#[derive(Clone, Debug)]
struct Span {
    lane: usize,
    start: SimTime,
    end: SimTime,
    label: String,
    kind: SpanKind,
}

impl Span {
    /// The span of `length` that ends at `end`, labelled `what` and its length.
    fn ending(lane: usize, end: SimTime, length: &Duration, what: &str, kind: SpanKind) -> Span {
        let d = length.as_nanos() as u64;
        Span {
            lane,
            start: SimTime::from_nanos(end.as_nanos().saturating_sub(d)),
            end,
            label: format!("{what} {}", ms_text(d)),
            kind,
        }
    }
}

/// One run's ladder, ready to draw; [`ladder`] draws panels side by side on one time
/// scale.
#[derive(Clone, Debug)]
pub struct Panel {
    title: String,
    subtitle: String,
    lanes: Vec<String>,
    origin: SimTime,
    end: SimTime,
    one_way: SimTime,
    arrows: Vec<Arrow>,
    spans: Vec<Span>,
    milestones: Vec<(&'static str, SimTime)>,
}

/// A record of one side's stream: `[start, end)` stream offsets and what it is.
#[derive(Clone, Copy, Debug)]
struct Rec {
    start: u64,
    end: u64,
    epoch: KeyEpoch,
    typ: ContentType,
}

/// The records one side wrote, from its `RecordSent` events, in stream order.
fn records(events: &[(SimTime, u64, Event)], only_first_flight: bool) -> Vec<Rec> {
    let mut out = Vec::new();
    let mut at = 0u64;
    for (_, _, e) in events {
        if let Event::RecordSent { epoch, typ, len } = e {
            if only_first_flight && !matches!(epoch, KeyEpoch::Plaintext | KeyEpoch::Early) {
                continue;
            }
            let end = at + *len as u64;
            out.push(Rec {
                start: at,
                end,
                epoch: *epoch,
                typ: *typ,
            });
            at = end;
        }
    }
    out
}

/// What a record is called on an arrow, and its kind.
fn record_name(client: bool, r: &Rec) -> (String, Kind) {
    use ContentType as C;
    use KeyEpoch as E;
    match (r.epoch, r.typ, client) {
        (E::Plaintext, C::Handshake, true) => ("ClientHello".into(), Kind::Handshake),
        (E::Plaintext, C::Handshake, false) => ("ServerHello".into(), Kind::Handshake),
        (_, C::ChangeCipherSpec, _) => ("CCS".into(), Kind::Control),
        (E::Early, C::ApplicationData, _) => ("early data".into(), Kind::Early),
        (E::Early, C::Handshake, _) => ("EndOfEarlyData".into(), Kind::Handshake),
        // Under handshake keys only handshake messages travel; the rustls subject sees the
        // outer type only (application_data), so both mean the same here.
        (E::Handshake, C::Handshake | C::ApplicationData, true) => {
            ("Finished".into(), Kind::Handshake)
        }
        (E::Handshake, C::Handshake | C::ApplicationData, false) => {
            ("EE … Finished".into(), Kind::Handshake)
        }
        (E::Application, C::Handshake, false) => ("NewSessionTicket".into(), Kind::Handshake),
        (E::Application, C::Handshake, true) => ("KeyUpdate".into(), Kind::Handshake),
        (_, C::ApplicationData, _) => ("app data".into(), Kind::Data),
        (_, C::Alert, _) => ("alert".into(), Kind::Control),
        _ => ("record".into(), Kind::Data),
    }
}

/// Bytes of `[a0, a1)` inside `[b0, b1)`.
fn overlap(a0: u64, a1: u64, b0: u64, b1: u64) -> u64 {
    a1.min(b1).saturating_sub(a0.max(b0))
}

/// The label and kind of a stream range `[start, end)`: the records it carries in
/// order, early and application data as the plaintext bytes it carries (a protected
/// record's plaintext sits between its 5-byte header and its content-type byte and
/// 16-byte tag), records begun in an earlier segment marked `…`, the middlebox CCS left
/// out.
fn segment_label(client: bool, recs: &[Rec], start: u64, end: u64) -> (String, Kind) {
    let mut parts: Vec<String> = Vec::new();
    let mut kind = Kind::Control;
    let mut sums: [Option<(usize, u64)>; 2] = [None, None];
    let mut any = false;
    for r in recs.iter().filter(|r| r.start < end && start < r.end) {
        any = true;
        let (name, k) = record_name(client, r);
        if k.rank() > kind.rank() {
            kind = k;
        }
        if r.typ == ContentType::ChangeCipherSpec {
            continue;
        }
        let slot = match k {
            Kind::Early => Some(0),
            Kind::Data => Some(1),
            _ => None,
        };
        match slot {
            Some(i) => {
                let bytes = overlap(start, end, r.start + 5, r.end.saturating_sub(17));
                match &mut sums[i] {
                    Some((_, total)) => *total += bytes,
                    None => {
                        parts.push(String::new());
                        sums[i] = Some((parts.len() - 1, bytes));
                    }
                }
            }
            None => {
                let name = if r.start < start {
                    format!("…{name}")
                } else {
                    name
                };
                if parts.last() != Some(&name) {
                    parts.push(name);
                }
            }
        }
    }
    for (i, what) in ["early data", "app data"].iter().enumerate() {
        if let Some((at, bytes)) = sums[i] {
            parts[at] = format!("{what} {bytes} B");
        }
    }
    parts.retain(|p| !p.is_empty());
    if parts.is_empty() && any {
        parts.push("CCS".into());
    }
    (parts.join(" + "), kind)
}

impl Panel {
    /// The ladder of `world` (run with [`World::run_captured`]): the 0-RTT connection,
    /// the attacker's replays and the retry; the warm-up handshake is left out. Times
    /// are from the 0-RTT connection's SYN.
    pub fn of(world: &World) -> Panel {
        let conns = connections(world);
        let shown: Vec<&Conn> = conns.iter().filter(|c| c.role != Role::Warmup).collect();
        let shown: Vec<&Conn> = if shown.is_empty() {
            conns.iter().collect()
        } else {
            shown
        };
        let mut lanes: Vec<String> = Vec::new();
        if shown.iter().any(|c| !c.is_replay()) {
            lanes.push("client".into());
        }
        let mut servers: Vec<usize> = shown.iter().map(|c| c.server).collect();
        servers.sort_unstable();
        servers.dedup();
        for s in &servers {
            lanes.push(format!("server{s}"));
        }
        if shown.iter().any(|c| c.is_replay()) {
            lanes.push("attacker".into());
        }
        let lane_of = |name: &str| lanes.iter().position(|l| l == name).unwrap_or(0);
        let zero = world
            .connections
            .iter()
            .find(|c| c.borrow().role == Role::ZeroRtt);
        let origin = zero
            .map(|c| c.borrow().start)
            .or_else(|| {
                shown
                    .iter()
                    .filter_map(|c| world.connections.get(c.index))
                    .map(|c| c.borrow().start)
                    .min()
            })
            .unwrap_or(SimTime::ZERO);
        let victim_first_flight = zero
            .map(|c| records(&c.borrow().client_events, true))
            .unwrap_or_default();

        // Per node: its lane, its peer's lane, and the records it wrote, in stream order.
        struct Side {
            opener: bool,
            lane: usize,
            peer_lane: usize,
            recs: Vec<Rec>,
            replay: bool,
        }
        let mut sides: BTreeMap<NodeId, Side> = BTreeMap::new();
        for c in &shown {
            let Some(rec) = world.connections.get(c.index) else {
                continue;
            };
            let rec = rec.borrow();
            let opener_lane = if c.is_replay() {
                lane_of("attacker")
            } else {
                lane_of("client")
            };
            let server_lane = lane_of(&format!("server{}", c.server));
            let opener_recs = if c.is_replay() {
                victim_first_flight.clone()
            } else {
                records(&rec.client_events, false)
            };
            sides.insert(
                c.opener,
                Side {
                    opener: true,
                    lane: opener_lane,
                    peer_lane: server_lane,
                    recs: opener_recs,
                    replay: c.is_replay(),
                },
            );
            sides.insert(
                c.server_node,
                Side {
                    opener: false,
                    lane: server_lane,
                    peer_lane: opener_lane,
                    recs: records(&rec.server_events, false),
                    replay: false,
                },
            );
        }

        // Retransmissions and spans from the trace.
        let mut retransmitted: BTreeMap<(NodeId, SimTime, u32), &'static str> = BTreeMap::new();
        let mut spans = Vec::new();
        for e in world.fabric.trace() {
            let Some(side) = sides.get(&e.node) else {
                continue;
            };
            match &e.event {
                NetEvent::Tcp(TcpEvent::Retransmission { seq, cause, .. }) => {
                    retransmitted.insert((e.node, e.time, *seq), cause.as_str());
                }
                NetEvent::Tcp(TcpEvent::NagleHoldEnded {
                    held_since,
                    held_for,
                    ..
                }) => spans.push(Span {
                    lane: side.lane,
                    start: *held_since,
                    end: held_since.saturating_add(*held_for),
                    label: format!("Nagle hold {}", ms_text(held_for.as_nanos() as u64)),
                    kind: SpanKind::Nagle,
                }),
                NetEvent::Tcp(TcpEvent::DelayedAckSent { delayed_for }) => {
                    spans.push(Span::ending(
                        side.lane,
                        e.time,
                        delayed_for,
                        "delayed ACK",
                        SpanKind::DelayedAck,
                    ))
                }
                NetEvent::Tcp(TcpEvent::RtoExpired { rto, .. }) => {
                    spans.push(Span::ending(side.lane, e.time, rto, "RTO", SpanKind::Rto))
                }
                _ => {}
            }
        }

        // ISN of each side: the sequence number of its SYN.
        let mut isn: BTreeMap<NodeId, u32> = BTreeMap::new();
        for cs in world.fabric.captured() {
            if cs.segment.flags.syn {
                isn.entry(cs.from).or_insert(cs.segment.seq);
            }
        }

        // Segments one node sent at one instant with one fate form one arrow (a burst
        // within the congestion window reads as one flight), labelled by the stream
        // range they cover together.
        struct Group<'w> {
            first: &'w crate::net::CapturedSegment,
            count: usize,
            start: u64,
            end: u64,
            flags: crate::net::TcpFlags,
            /// Segments with no payload and no SYN, FIN or RST.
            acks: usize,
            /// Segments with payload.
            data: usize,
            retransmission: Option<&'static str>,
        }
        let mut groups: Vec<Group<'_>> = Vec::new();
        for cs in world.fabric.captured() {
            if !sides.contains_key(&cs.from) {
                continue;
            }
            let seg = &cs.segment;
            let base = isn.get(&cs.from).copied().unwrap_or(0).wrapping_add(1);
            let start = u64::from(seg.seq.wrapping_sub(base));
            let end = start + seg.payload.len() as u64;
            let retransmission = retransmitted.get(&(cs.from, cs.time, seg.seq)).copied();
            let f = seg.flags;
            let ack = usize::from(seg.payload.is_empty() && !f.syn && !f.fin && !f.rst);
            if let Some(g) = groups.last_mut() {
                if g.first.from == cs.from
                    && g.first.time == cs.time
                    && g.first.fate == cs.fate
                    && g.retransmission == retransmission
                    && !seg.flags.syn
                    && !g.flags.syn
                {
                    g.count += 1;
                    g.acks += ack;
                    g.data += usize::from(!seg.payload.is_empty());
                    if !seg.payload.is_empty() {
                        if g.end <= g.start {
                            g.start = start;
                        }
                        g.start = g.start.min(start);
                        g.end = g.end.max(end);
                    }
                    g.flags.fin |= seg.flags.fin;
                    g.flags.rst |= seg.flags.rst;
                    continue;
                }
            }
            groups.push(Group {
                first: cs,
                count: 1,
                start,
                end,
                flags: seg.flags,
                acks: ack,
                data: usize::from(!seg.payload.is_empty()),
                retransmission,
            });
        }

        let mut arrows: Vec<Arrow> = Vec::new();
        for g in &groups {
            let Some(side) = sides.get(&g.first.from) else {
                continue;
            };
            let mut parts = Vec::new();
            let f = g.flags;
            if f.syn {
                parts.push(if f.ack { "SYN-ACK" } else { "SYN" }.to_owned());
            }
            let mut kind = Kind::Control;
            if g.end > g.start {
                let (label, k) = segment_label(side.opener, &side.recs, g.start, g.end);
                kind = k;
                if !label.is_empty() {
                    parts.push(label);
                }
            }
            if f.fin {
                parts.push("FIN".into());
            }
            if f.rst {
                parts.push("RST".into());
            }
            if parts.is_empty() || g.acks > 0 {
                parts.push("ACK".into());
            }
            if side.replay {
                kind = Kind::Replay;
            }
            let mut notes = Vec::new();
            if let Some(cause) = g.retransmission {
                notes.push(format!("retransmission ({cause})"));
            }
            if side.replay && g.end > g.start {
                notes.push("replayed".into());
            }
            let mut label = parts.join(" + ");
            // A burst of data segments says how many; a FIN or ACK riding along does not.
            if g.data > 1 {
                label = format!("{} segments: {label}", g.count);
            }
            let mut push = |arrival: Option<SimTime>, extra: Option<String>| {
                let mut notes = notes.clone();
                notes.extend(extra);
                arrows.push(Arrow {
                    from: side.lane,
                    to: side.peer_lane,
                    sent: g.first.time,
                    arrival,
                    label: label.clone(),
                    kind,
                    notes,
                });
            };
            match g.first.fate {
                Err(why) => push(None, Some(format!("lost ({})", why.as_str()))),
                Ok((arrival, duplicate)) => {
                    push(Some(arrival), None);
                    if let Some(d) = duplicate {
                        push(Some(d), Some("duplicate".into()));
                    }
                }
            }
        }
        let arrows = merge(arrows);

        let milestones = zero
            .map(|c| report::timing(world, &c.borrow()).milestones)
            .unwrap_or_default()
            .into_iter()
            .map(|(n, t)| (n, SimTime::from_nanos(origin.as_nanos() + t.as_nanos())))
            .collect::<Vec<_>>();
        let mut end = origin;
        for a in &arrows {
            end = end.max(a.arrival.unwrap_or(a.sent));
        }
        for s in &spans {
            end = end.max(s.end);
        }
        for (_, t) in &milestones {
            end = end.max(*t);
        }
        let sc = &world.scenario;
        let status = zero
            .and_then(|c| c.borrow().client_status)
            .map_or("-".to_owned(), |s| format!("{s:?}"));
        Panel {
            title: format!("{} · seed {}", sc.name, world.seed),
            subtitle: format!(
                "one-way {} ms · client {} · delayed ACK {} · early data {}",
                trim(sc.network.latency_ms),
                if sc.tcp.client_nodelay {
                    "TCP_NODELAY"
                } else {
                    "Nagle on"
                },
                sc.tcp.delayed_ack,
                status
            ),
            lanes,
            origin,
            end,
            one_way: SimTime::from_nanos(crate::world::ms(sc.network.latency_ms).as_nanos() as u64),
            arrows,
            spans,
            milestones,
        }
    }

    fn span_ns(&self) -> u64 {
        self.end.as_nanos().saturating_sub(self.origin.as_nanos())
    }

    fn width(&self) -> f64 {
        LEFT + LANE_GAP * (self.lanes.len().max(1) - 1) as f64 + RIGHT
    }
}

/// Joins arrows sent together (same ends, time and fate) into one, labels joined.
fn merge(arrows: Vec<Arrow>) -> Vec<Arrow> {
    let mut out: Vec<Arrow> = Vec::new();
    for a in arrows {
        if let Some(last) = out.last_mut() {
            if last.from == a.from
                && last.to == a.to
                && last.sent == a.sent
                && last.arrival == a.arrival
                && last.notes == a.notes
            {
                if last.label != a.label {
                    last.label = format!("{} · {}", last.label, a.label);
                }
                if a.kind.rank() > last.kind.rank() {
                    last.kind = a.kind;
                }
                continue;
            }
        }
        out.push(a);
    }
    out
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn ms_text(ns: u64) -> String {
    format!("{} ms", trim(ns as f64 / 1e6))
}

const TOP: f64 = 78.0;
const LEFT: f64 = 200.0;
const LANE_GAP: f64 = 330.0;
const RIGHT: f64 = 300.0;
const BOTTOM: f64 = 64.0;
/// Target drawing height for the longest panel.
const HEIGHT_TARGET: f64 = 900.0;
const CHAR_W: f64 = 6.0;

/// Placed text boxes, to push a new label down until it overlaps none.
#[derive(Default)]
struct Placed(Vec<(f64, f64, f64, f64)>);

impl Placed {
    /// The y nearest `y` where a box `[x0, x1] x [y-10, y+2]` is free: `y` itself, then
    /// alternately above and below it, at most `tries` lines away; `None` if none is.
    fn place(&mut self, x0: f64, x1: f64, y: f64, tries: usize) -> Option<f64> {
        let free = |c: f64| {
            !self
                .0
                .iter()
                .any(|&(a0, a1, b0, b1)| x0 < a1 && a0 < x1 && c - 10.0 < b1 && b0 < c + 2.0)
        };
        let chosen = (0..tries).find_map(|k| {
            let up = y - 13.0 * k as f64;
            let down = y + 16.0 + 13.0 * k as f64;
            if free(up) {
                Some(up)
            } else if free(down) {
                Some(down)
            } else {
                None
            }
        })?;
        self.0.push((x0, x1, chosen - 10.0, chosen + 2.0));
        Some(chosen)
    }
}

/// Time-axis tick step (ms) for `px_per_ms`: the smallest nice step at least 36 px apart.
fn tick_step(px_per_ms: f64) -> u64 {
    for step in [
        1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10_000,
    ] {
        if step as f64 * px_per_ms >= 36.0 {
            return step;
        }
    }
    60_000
}

/// The panels side by side on one time scale, as one SVG document.
pub fn ladder(panels: &[Panel]) -> String {
    let longest = panels.iter().map(Panel::span_ns).max().unwrap_or(0).max(1);
    // Whole tenths of a pixel per ms, so the text is stable.
    let px_per_ms = ((HEIGHT_TARGET / (longest as f64 / 1e6)) * 10.0).floor() / 10.0;
    let px_per_ms = px_per_ms.clamp(0.1, 8.0);
    let height = TOP + longest as f64 / 1e6 * px_per_ms + BOTTOM + 40.0;
    let width: f64 = panels.iter().map(Panel::width).sum::<f64>().max(200.0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="11">"##,
        w = width,
        h = height
    );
    out.push_str("<defs>\n");
    for k in [
        Kind::Control,
        Kind::Early,
        Kind::Handshake,
        Kind::Data,
        Kind::Replay,
    ] {
        let _ = writeln!(
            out,
            r##"<marker id="ah-{}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{}"/></marker>"##,
            k.name(),
            k.colour()
        );
    }
    out.push_str("</defs>\n");
    let _ = writeln!(
        out,
        r##"<rect width="{width:.0}" height="{height:.0}" fill="#ffffff"/>"##
    );
    let mut x0 = 0.0;
    for p in panels {
        draw_panel(&mut out, p, x0, px_per_ms, height);
        x0 += p.width();
    }
    out.push_str("</svg>\n");
    out
}

fn draw_panel(out: &mut String, p: &Panel, x0: f64, px_per_ms: f64, height: f64) {
    let y = |t: SimTime| {
        TOP + t.as_nanos().saturating_sub(p.origin.as_nanos()) as f64 / 1e6 * px_per_ms
    };
    let lane_x = |i: usize| x0 + LEFT + LANE_GAP * i as f64;
    let last_x = lane_x(p.lanes.len().max(1) - 1);
    let bottom = y(p.end) + 16.0;
    let _ = writeln!(out, r##"<g class="panel">"##);
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="20" font-size="15" font-weight="bold">{}</text>"##,
        x0 + 12.0,
        esc(&p.title)
    );
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="37" fill="#555">{}</text>"##,
        x0 + 12.0,
        esc(&p.subtitle)
    );
    // Time axis: ms from the 0-RTT SYN.
    let step = tick_step(px_per_ms);
    let span_ms = p.span_ns() / 1_000_000;
    let axis_x = x0 + 52.0;
    let _ = writeln!(
        out,
        r##"<line x1="{axis_x:.1}" y1="{TOP:.1}" x2="{axis_x:.1}" y2="{bottom:.1}" stroke="#444"/>"##
    );
    let mut t = 0;
    while t <= span_ms + step {
        let ty = TOP + t as f64 * px_per_ms;
        if ty > bottom {
            break;
        }
        let _ = writeln!(
            out,
            r##"<line x1="{:.1}" y1="{ty:.1}" x2="{axis_x:.1}" y2="{ty:.1}" stroke="#444"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#444">{t} ms</text>"##,
            axis_x - 5.0,
            axis_x - 7.0,
            ty + 4.0
        );
        t += step;
    }
    // Lifelines.
    for (i, name) in p.lanes.iter().enumerate() {
        let x = lane_x(i);
        let _ = writeln!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="90" height="22" rx="4" fill="#f2f3f4" stroke="#444"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" font-weight="bold">{}</text><line x1="{x:.1}" y1="{TOP:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#444" stroke-width="1.5"/>"##,
            x - 45.0,
            TOP - 30.0,
            TOP - 15.0,
            esc(name)
        );
    }
    let mut placed = Placed::default();
    // Milestones: a faint line across, the name on the right.
    let label_x = last_x + 24.0;
    let mut last_label_y = f64::MIN;
    for (name, t) in &p.milestones {
        let my = y(*t);
        let ly = (my + 4.0).max(last_label_y + 12.0);
        last_label_y = ly;
        let since = t.as_nanos().saturating_sub(p.origin.as_nanos());
        let w = (ms_text(since).len() + 1 + name.len()) as f64 * CHAR_W;
        placed.0.push((label_x, label_x + w, ly - 10.0, ly + 2.0));
        let _ = writeln!(
            out,
            r##"<line x1="{axis_x:.1}" y1="{my:.1}" x2="{last_x:.1}" y2="{my:.1}" stroke="#2e86c1" stroke-opacity="0.25" stroke-dasharray="2,3"/><circle cx="{axis_x:.1}" cy="{my:.1}" r="2.5" fill="#2e86c1"/><polyline points="{last_x:.1},{my:.1} {:.1},{my:.1} {:.1},{:.1}" fill="none" stroke="#2e86c1" stroke-opacity="0.5"/><text x="{label_x:.1}" y="{ly:.1}" fill="#1a5276">{} {}</text>"##,
            last_x + 10.0,
            label_x - 4.0,
            ly - 4.0,
            ms_text(since),
            esc(name)
        );
    }
    // Spans on the lifelines.
    let mut drawn: Vec<(usize, SimTime, SimTime, f64)> = Vec::new();
    for s in &p.spans {
        // Overlapping spans on one lifeline sit side by side.
        let shift = drawn
            .iter()
            .filter(|(l, a, b, _)| *l == s.lane && *a < s.end && s.start < *b)
            .map(|(_, _, _, dx)| dx + 11.0)
            .fold(0.0, f64::max);
        drawn.push((s.lane, s.start, s.end, shift));
        let x = lane_x(s.lane) + if s.lane == 0 { -shift } else { shift };
        let (y0, y1) = (y(s.start), y(s.end));
        let (fill, text) = s.kind.colours();
        let _ = writeln!(
            out,
            r##"<rect x="{:.1}" y="{y0:.1}" width="10" height="{:.1}" fill="{fill}" fill-opacity="0.45" stroke="{fill}"/>"##,
            x - 5.0,
            (y1 - y0).max(1.0)
        );
        let w = s.label.chars().count() as f64 * CHAR_W;
        // Outside the arrows: left of the leftmost lifeline, right of the others.
        let (tx, anchor, bx0, bx1) = if s.lane == 0 {
            (x - 9.0, "end", x - 9.0 - w, x - 9.0)
        } else {
            (x + 9.0, "start", x + 9.0, x + 9.0 + w)
        };
        let ty = (y0 + y1) / 2.0 + 4.0;
        let ty = placed.place(bx0, bx1, ty, 20).unwrap_or(ty);
        let _ = writeln!(
            out,
            r##"<text x="{tx:.1}" y="{ty:.1}" text-anchor="{anchor}" font-style="italic" fill="{text}">{}</text>"##,
            esc(&s.label)
        );
    }
    // Arrows, then their labels.
    struct Label {
        control: bool,
        text: String,
        cx: f64,
        cy: f64,
        angle: f64,
        fill: &'static str,
    }
    let mut labels: Vec<Label> = Vec::new();
    for a in &p.arrows {
        let (xa, xb) = (lane_x(a.from), lane_x(a.to));
        let ya = y(a.sent);
        let colour = a.kind.colour();
        let control = a.kind == Kind::Control;
        let width = if control { 1.0 } else { 1.8 };
        let dash = if a.kind == Kind::Replay {
            r##" stroke-dasharray="6,3""##
        } else {
            ""
        };
        let (xe, ye, lost) = match a.arrival {
            Some(t) => (xb, y(t), false),
            None => {
                // Stops halfway to where it would have arrived.
                let yb = y(p
                    .origin
                    .max(a.sent)
                    .saturating_add(std::time::Duration::from_nanos(p.one_way.as_nanos())));
                (xa + (xb - xa) * 0.5, ya + (yb - ya) * 0.5, true)
            }
        };
        let marker = if lost {
            String::new()
        } else {
            format!(r##" marker-end="url(#ah-{})""##, a.kind.name())
        };
        let _ = writeln!(
            out,
            r##"<line x1="{xa:.1}" y1="{ya:.1}" x2="{xe:.1}" y2="{ye:.1}" stroke="{colour}" stroke-width="{width}"{dash}{marker}/>"##
        );
        if lost {
            let _ = writeln!(
                out,
                r##"<path d="M{:.1},{:.1} l10,10 m0,-10 l-10,10" stroke="#c0392b" stroke-width="2.5"/>"##,
                xe - 5.0,
                ye - 5.0
            );
        }
        let mut text = a.label.clone();
        for n in &a.notes {
            text = format!("{text} [{n}]");
        }
        // Along the arrow, upright, just above it.
        let mut angle = (ye - ya).atan2(xe - xa).to_degrees();
        if angle > 90.0 {
            angle -= 180.0;
        } else if angle < -90.0 {
            angle += 180.0;
        }
        let fill = if a
            .notes
            .iter()
            .any(|n| n.starts_with("lost") || n.starts_with("retrans"))
        {
            "#c0392b"
        } else {
            colour
        };
        labels.push(Label {
            control,
            text,
            cx: (xa + xe) / 2.0,
            cy: (ya + ye) / 2.0,
            angle,
            fill,
        });
    }
    // Labels over the lines: TLS content first; a SYN/ACK/FIN label only where it fits
    // near its arrow (the grey arrow says as much without it).
    for control in [false, true] {
        for l in labels.iter().filter(|l| l.control == control) {
            let w = l.text.chars().count() as f64 * if control { 5.4 } else { CHAR_W };
            let tries = if control { 2 } else { 20 };
            let Some(ty) = placed.place(l.cx - w / 2.0, l.cx + w / 2.0, l.cy, tries) else {
                continue;
            };
            let style = if control {
                r##" font-size="10""##
            } else {
                r##" font-weight="bold""##
            };
            let _ = writeln!(
                out,
                r##"<text x="{cx:.1}" y="{:.1}" transform="rotate({angle:.1} {cx:.1} {ty:.1})" text-anchor="middle" fill="{fill}"{style} stroke="#ffffff" stroke-width="3" paint-order="stroke">{}</text>"##,
                ty - 4.0,
                esc(&l.text),
                cx = l.cx,
                angle = l.angle,
                fill = l.fill,
            );
        }
    }
    // Legend.
    let ly = height - 22.0;
    let mut lx = x0 + 12.0;
    for (k, name) in [
        (Kind::Early, "early data"),
        (Kind::Handshake, "handshake"),
        (Kind::Data, "app data"),
        (Kind::Control, "SYN/ACK/FIN"),
        (Kind::Replay, "replay"),
    ] {
        let _ = writeln!(
            out,
            r##"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{}" stroke-width="2"/><text x="{:.1}" y="{ly:.1}">{name}</text>"##,
            ly - 4.0,
            lx + 18.0,
            ly - 4.0,
            k.colour(),
            lx + 22.0
        );
        lx += 30.0 + name.len() as f64 * CHAR_W;
    }
    let _ = writeln!(
        out,
        r##"<rect x="{lx:.1}" y="{:.1}" width="10" height="10" fill="#e67e22" fill-opacity="0.45"/><text x="{:.1}" y="{ly:.1}">Nagle hold</text>"##,
        ly - 9.0,
        lx + 14.0
    );
    lx += 90.0;
    let _ = writeln!(
        out,
        r##"<rect x="{lx:.1}" y="{:.1}" width="10" height="10" fill="#5d6d7e" fill-opacity="0.45"/><text x="{:.1}" y="{ly:.1}">delayed ACK</text>"##,
        ly - 9.0,
        lx + 14.0
    );
    lx += 100.0;
    let _ = writeln!(
        out,
        r##"<rect x="{lx:.1}" y="{:.1}" width="10" height="10" fill="#c0392b" fill-opacity="0.45"/><text x="{:.1}" y="{ly:.1}">retransmission timeout</text>"##,
        ly - 9.0,
        lx + 14.0
    );
    let _ = writeln!(
        out,
        r##"<text x="{:.1}" y="{:.1}" fill="#777">times from the 0-RTT connection's SYN; warm-up handshake not shown</text>"##,
        x0 + 12.0,
        height - 6.0
    );
    out.push_str("</g>\n");
}
