//! The fabric: TCP endpoints wired through links and one event queue, stepped to the
//! next event (quinn's test `Pair`, grown to N nodes).
//!
//! Each node is one [`TcpSocket`] paired with one peer; each direction between a
//! pair is its own [`Link`] with its own random stream (`link/<i>:<name>-><j>:<name>`).
//! A server with several clients is several nodes.
//!
//! Processing one event at node N (segment arrival, timer, scheduled action,
//! application wake-up): feed it to N's socket, drain N's transmit queue into the link
//! and re-arm N's timer. After an arrival or a fired timer, N's [`Application`] hook
//! runs as its own event queued behind everything already due at that instant: as in a
//! kernel, every segment that arrived together is taken (and acknowledged, if the ACK
//! policy says so) before the process it wakes runs. Every [`AppCtx`] call that can produce segments (write,
//! nodelay, close, ...) flushes at once, as a `write(2)` system call would: two
//! writes are two pushes, which is what makes Nagle visible.
//!
//! Everything that happens is recorded as a [`TraceEntry`]; [`Fabric::trace_text`]
//! renders it one line per entry in a stable text form, so equal seeds give equal
//! text.

use core::fmt;
use std::collections::BTreeMap;

use super::link::{DropReason, Link, LinkConfig, Transmission};
use super::queue::{EventQueue, QueueFull};
use super::rng::MasterSeed;
use super::tcp::{Segment, SegmentHeader, TcpConfig, TcpEvent, TcpSocket, TcpState};
use super::time::SimTime;

/// Default bound on pending events.
pub const QUEUE_CAPACITY_DEFAULT: usize = 1 << 16;
/// Default bound on recorded trace entries; later entries are counted, not kept.
pub const TRACE_ENTRIES_MAX_DEFAULT: usize = 1 << 20;
/// Bound on segments one node may emit in one flush.
pub const SEGMENTS_PER_FLUSH_MAX: usize = 1 << 12;
/// Bound on steps taken by [`Fabric::run_until`].
pub const RUN_UNTIL_STEPS_MAX: u64 = 1 << 24;

/// A node of the fabric (an index; only meaningful for the fabric that made it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(usize);

impl NodeId {
    /// The index, in order of `add_node` calls.
    pub fn index(self) -> usize {
        self.0
    }
}

/// Something that happened in the network, as recorded in the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// The node sent a segment.
    Sent(SegmentHeader),
    /// A segment arrived at the node.
    Received(SegmentHeader),
    /// A segment the node sent will never arrive.
    Dropped {
        /// The segment.
        segment: SegmentHeader,
        /// Why.
        reason: DropReason,
    },
    /// A segment the node sent will arrive twice.
    Duplicated(SegmentHeader),
    /// The node's TCP endpoint reported an event.
    Tcp(TcpEvent),
    /// The application opened a connection.
    AppConnect,
    /// The application started listening.
    AppListen,
    /// An application call was refused by the socket state.
    AppRefused {
        /// The call.
        operation: &'static str,
        /// The state that refused it.
        state: TcpState,
    },
    /// The application wrote bytes.
    AppWrite {
        /// Bytes offered.
        offered: usize,
        /// Bytes the send buffer took.
        accepted: usize,
    },
    /// The application read bytes.
    AppRead {
        /// Bytes read.
        bytes: usize,
    },
    /// The application set `TCP_NODELAY`.
    AppNoDelay(bool),
    /// The application half-closed.
    AppClose,
    /// The application aborted.
    AppAbort,
    /// The event queue refused an event; the run stops.
    QueueOverflow(QueueFull),
}

impl fmt::Display for NetEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetEvent::Sent(segment) => write!(f, "send {segment}"),
            NetEvent::Received(segment) => write!(f, "recv {segment}"),
            NetEvent::Dropped { segment, reason } => {
                write!(f, "drop {} {segment}", reason.as_str())
            }
            NetEvent::Duplicated(segment) => write!(f, "dup {segment}"),
            NetEvent::Tcp(event) => write!(f, "tcp {event}"),
            NetEvent::AppConnect => f.write_str("app connect"),
            NetEvent::AppListen => f.write_str("app listen"),
            NetEvent::AppRefused { operation, state } => {
                write!(f, "app {operation} refused in {state}")
            }
            NetEvent::AppWrite { offered, accepted } => {
                write!(f, "app write {accepted}/{offered}")
            }
            NetEvent::AppRead { bytes } => write!(f, "app read {bytes}"),
            NetEvent::AppNoDelay(on) => write!(f, "app nodelay {on}"),
            NetEvent::AppClose => f.write_str("app close"),
            NetEvent::AppAbort => f.write_str("app abort"),
            NetEvent::QueueOverflow(full) => write!(f, "queue overflow: {full}"),
        }
    }
}

/// One line of the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEntry {
    /// When.
    pub time: SimTime,
    /// Where.
    pub node: NodeId,
    /// What.
    pub event: NetEvent,
}

/// One segment as it left a node, payload included, and what the link did with it.
/// Recorded only after [`Fabric::capture_segments`] (pcap files and ladder diagrams need
/// the bytes; the trace keeps headers only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapturedSegment {
    /// When it was sent.
    pub time: SimTime,
    /// The sender.
    pub from: NodeId,
    /// The sender's peer, if it has one.
    pub to: Option<NodeId>,
    /// The segment, payload included.
    pub segment: Segment,
    /// When it arrives (and a duplicate's arrival), or why it never does.
    pub fate: Result<(SimTime, Option<SimTime>), DropReason>,
}

/// How a run call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// No event is pending.
    Idle,
    /// The requested time was reached (events may still be pending).
    TimeReached,
    /// The step bound was reached with events still pending.
    StepLimit,
    /// The event queue overflowed; the run cannot continue faithfully.
    QueueOverflow(QueueFull),
}

/// Application code at a node: called after each segment arrival, fired timer and
/// requested wake-up at that node.
pub trait Application {
    /// React to whatever happened; read, write, schedule a wake-up.
    fn on_event(&mut self, ctx: &mut AppCtx<'_>);
}

impl<F: FnMut(&mut AppCtx<'_>)> Application for F {
    fn on_event(&mut self, ctx: &mut AppCtx<'_>) {
        self(ctx);
    }
}

type Action = Box<dyn FnOnce(&mut AppCtx<'_>)>;

enum Scheduled {
    Deliver {
        to: NodeId,
        segment: Segment,
    },
    Timer {
        node: NodeId,
    },
    Action {
        node: NodeId,
        action: Action,
    },
    Wake {
        node: NodeId,
    },
    /// The node's application, after every segment and timer due at this instant: a
    /// kernel takes all the segments that arrived together before the process it wakes
    /// runs.
    AppReady {
        node: NodeId,
    },
}

struct Node {
    name: String,
    socket: TcpSocket,
    peer: Option<NodeId>,
    app: Option<Box<dyn Application>>,
    timer_armed: Option<SimTime>,
    /// An [`Scheduled::AppReady`] for this node is queued.
    app_ready_queued: bool,
}

/// Endpoints, links, the clock, the queue and the trace.
pub struct Fabric {
    seed: MasterSeed,
    now: SimTime,
    queue: EventQueue<Scheduled>,
    nodes: Vec<Node>,
    links: BTreeMap<(NodeId, NodeId), Link>,
    trace: Vec<TraceEntry>,
    trace_entries_max: usize,
    trace_dropped: u64,
    overflow: Option<QueueFull>,
    steps: u64,
    /// Sent segments with payloads, when asked for (bounded like the trace).
    captured: Option<Vec<CapturedSegment>>,
}

impl fmt::Debug for Fabric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fabric")
            .field("seed", &self.seed)
            .field("now", &self.now)
            .field("nodes", &self.nodes.len())
            .field("queue", &self.queue)
            .field("trace_len", &self.trace.len())
            .finish()
    }
}

impl Fabric {
    /// An empty fabric at time zero with default bounds.
    pub fn new(seed: u64) -> Fabric {
        Fabric::with_limits(seed, QUEUE_CAPACITY_DEFAULT, TRACE_ENTRIES_MAX_DEFAULT)
    }

    /// An empty fabric with explicit bounds on pending events and trace entries.
    pub fn with_limits(seed: u64, queue_capacity_max: usize, trace_entries_max: usize) -> Fabric {
        Fabric {
            seed: MasterSeed::new(seed),
            now: SimTime::ZERO,
            queue: EventQueue::new(queue_capacity_max),
            nodes: Vec::new(),
            links: BTreeMap::new(),
            trace: Vec::new(),
            trace_entries_max,
            trace_dropped: 0,
            overflow: None,
            steps: 0,
            captured: None,
        }
    }

    /// From now on, keeps every sent segment with its payload and fate
    /// ([`Fabric::captured`]); bounded by the trace bound. Changes no timing.
    pub fn capture_segments(&mut self) {
        self.captured.get_or_insert_with(Vec::new);
    }

    /// The segments kept since [`Fabric::capture_segments`], in send order.
    pub fn captured(&self) -> &[CapturedSegment] {
        self.captured.as_deref().unwrap_or(&[])
    }

    /// A client and a listening server joined by `link` in both directions; the
    /// client connects at time zero. Returns `(fabric, client, server)`.
    pub fn client_server(
        seed: u64,
        client: TcpConfig,
        server: TcpConfig,
        link: LinkConfig,
    ) -> (Fabric, NodeId, NodeId) {
        let mut fabric = Fabric::new(seed);
        let client_id = fabric.add_node("client", TcpSocket::new(client));
        let server_id = fabric.add_node("server", TcpSocket::new(server));
        fabric.connect_nodes(client_id, server_id, link.clone(), link);
        fabric.act(server_id, |ctx| ctx.listen());
        fabric.at(SimTime::ZERO, client_id, |ctx| ctx.connect());
        (fabric, client_id, server_id)
    }

    /// The master seed.
    pub fn seed(&self) -> MasterSeed {
        self.seed
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Events processed so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// Adds a node owning `socket`. Names should be unique: they label trace lines.
    pub fn add_node(&mut self, name: &str, socket: TcpSocket) -> NodeId {
        let id = NodeId(self.nodes.len());
        self.nodes.push(Node {
            name: name.to_owned(),
            socket,
            peer: None,
            app: None,
            timer_armed: None,
            app_ready_queued: false,
        });
        id
    }

    /// Makes `a` and `b` peers, joined by a link each way. Returns `false` (and does
    /// nothing) if either node is unknown or they are the same node.
    pub fn connect_nodes(
        &mut self,
        a: NodeId,
        b: NodeId,
        a_to_b: LinkConfig,
        b_to_a: LinkConfig,
    ) -> bool {
        let (Some(name_a), Some(name_b)) = (self.node_name(a), self.node_name(b)) else {
            return false;
        };
        if a == b {
            return false;
        }
        let label_ab = format!("link/{}:{name_a}->{}:{name_b}", a.0, b.0);
        let label_ba = format!("link/{}:{name_b}->{}:{name_a}", b.0, a.0);
        let link_ab = Link::new(a_to_b, self.seed.stream(&label_ab));
        let link_ba = Link::new(b_to_a, self.seed.stream(&label_ba));
        self.links.insert((a, b), link_ab);
        self.links.insert((b, a), link_ba);
        if let Some(node) = self.nodes.get_mut(a.0) {
            node.peer = Some(b);
        }
        if let Some(node) = self.nodes.get_mut(b.0) {
            node.peer = Some(a);
        }
        true
    }

    /// Installs the application hook of `node` (replacing any previous one).
    pub fn set_application(&mut self, node: NodeId, app: Box<dyn Application>) {
        if let Some(n) = self.nodes.get_mut(node.0) {
            n.app = Some(app);
        }
    }

    /// Schedules `action` at `node` at `time` (or now, if `time` has passed).
    pub fn at(
        &mut self,
        time: SimTime,
        node: NodeId,
        action: impl FnOnce(&mut AppCtx<'_>) + 'static,
    ) {
        let time = time.max(self.now);
        self.schedule(
            time,
            Scheduled::Action {
                node,
                action: Box::new(action),
            },
        );
    }

    /// Runs `f` at `node` now, outside the queue, then flushes the node.
    pub fn act<R>(&mut self, node: NodeId, f: impl FnOnce(&mut AppCtx<'_>) -> R) -> R {
        let result = f(&mut AppCtx { fabric: self, node });
        self.flush(node);
        result
    }

    /// The socket of `node`.
    pub fn socket(&self, node: NodeId) -> Option<&TcpSocket> {
        self.nodes.get(node.0).map(|n| &n.socket)
    }

    /// The socket of `node`, mutably. Segments this causes leave at the node's next
    /// event; use [`Fabric::act`] for immediate effect.
    pub fn socket_mut(&mut self, node: NodeId) -> Option<&mut TcpSocket> {
        self.nodes.get_mut(node.0).map(|n| &mut n.socket)
    }

    /// The name of `node`.
    pub fn node_name(&self, node: NodeId) -> Option<&str> {
        self.nodes.get(node.0).map(|n| n.name.as_str())
    }

    /// The link from `from` to `to`.
    pub fn link(&self, from: NodeId, to: NodeId) -> Option<&Link> {
        self.links.get(&(from, to))
    }

    /// Every recorded entry, in order.
    pub fn trace(&self) -> &[TraceEntry] {
        &self.trace
    }

    /// Entries that did not fit in the trace bound.
    pub fn trace_dropped(&self) -> u64 {
        self.trace_dropped
    }

    /// The queue overflow that stopped the run, if any.
    pub fn overflow(&self) -> Option<QueueFull> {
        self.overflow
    }

    /// One entry as a line: time right-aligned, node name padded, event.
    pub fn render_entry(&self, entry: &TraceEntry) -> String {
        let width = self.nodes.iter().map(|n| n.name.len()).max().unwrap_or(0);
        let name = self.node_name(entry.node).unwrap_or("?");
        format!("{:>12} {name:<width$} {}", entry.time, entry.event)
    }

    /// The whole trace, one line per entry, each ending in a newline.
    pub fn trace_text(&self) -> String {
        let mut text = String::new();
        for entry in &self.trace {
            text.push_str(&self.render_entry(entry));
            text.push('\n');
        }
        text
    }

    /// Processes the next event. `false` when none is pending or the queue
    /// overflowed earlier.
    pub fn step(&mut self) -> bool {
        if self.overflow.is_some() {
            return false;
        }
        let Some((time, event)) = self.queue.pop() else {
            return false;
        };
        self.now = self.now.max(time);
        self.steps += 1;
        let now = self.now;
        match event {
            Scheduled::Deliver { to, segment } => {
                self.record(to, NetEvent::Received(segment.header()));
                if let Some(node) = self.nodes.get_mut(to.0) {
                    node.socket.handle_segment(segment, now);
                }
                self.drain_events(to);
                // ACKs the segment calls for leave now (softirq); the application runs
                // once every segment and timer due at this instant has been taken.
                self.flush(to);
                self.app_ready(to);
            }
            Scheduled::Timer { node } => {
                let mut fired = false;
                if let Some(n) = self.nodes.get_mut(node.0) {
                    if n.timer_armed == Some(time) {
                        n.timer_armed = None;
                    }
                    if n.socket
                        .poll_timeout()
                        .is_some_and(|deadline| deadline <= now)
                    {
                        n.socket.handle_timeout(now);
                        fired = true;
                    }
                }
                self.drain_events(node);
                self.flush(node);
                if fired {
                    self.app_ready(node);
                }
            }
            Scheduled::Action { node, action } => {
                action(&mut AppCtx { fabric: self, node });
                self.flush(node);
            }
            Scheduled::Wake { node } => {
                self.run_app(node);
                self.flush(node);
            }
            Scheduled::AppReady { node } => {
                if let Some(n) = self.nodes.get_mut(node.0) {
                    n.app_ready_queued = false;
                }
                self.run_app(node);
                self.flush(node);
            }
        }
        true
    }

    /// Processes every event due at or before `time`, then sets the clock to `time`.
    /// Bounded by [`RUN_UNTIL_STEPS_MAX`] steps.
    pub fn run_until(&mut self, time: SimTime) -> RunOutcome {
        for _ in 0..RUN_UNTIL_STEPS_MAX {
            if let Some(full) = self.overflow {
                return RunOutcome::QueueOverflow(full);
            }
            match self.queue.peek_time() {
                Some(next) if next <= time => {
                    self.step();
                }
                _ => {
                    self.now = self.now.max(time);
                    return RunOutcome::TimeReached;
                }
            }
        }
        RunOutcome::StepLimit
    }

    /// Steps until no event is pending, at most `steps_max` times.
    pub fn run_until_idle(&mut self, steps_max: u64) -> RunOutcome {
        for _ in 0..steps_max {
            if !self.step() {
                break;
            }
        }
        if let Some(full) = self.overflow {
            RunOutcome::QueueOverflow(full)
        } else if self.queue.is_empty() {
            RunOutcome::Idle
        } else {
            RunOutcome::StepLimit
        }
    }

    // ----- internals -----

    fn schedule(&mut self, time: SimTime, event: Scheduled) {
        if self.overflow.is_some() {
            return;
        }
        if let Err(full) = self.queue.push(time, event) {
            self.overflow = Some(full);
            let node = NodeId(0);
            self.record(node, NetEvent::QueueOverflow(full));
        }
    }

    fn record(&mut self, node: NodeId, event: NetEvent) {
        if self.trace.len() >= self.trace_entries_max {
            self.trace_dropped += 1;
            return;
        }
        self.trace.push(TraceEntry {
            time: self.now,
            node,
            event,
        });
    }

    fn drain_events(&mut self, node: NodeId) {
        // Bounded by the socket's own event bound.
        while let Some(event) = self
            .nodes
            .get_mut(node.0)
            .and_then(|n| n.socket.poll_event())
        {
            self.record(node, NetEvent::Tcp(event));
        }
    }

    /// Queues one application run for `node` behind every event already queued for this
    /// instant (ties come out in insertion order).
    fn app_ready(&mut self, node: NodeId) {
        let Some(n) = self.nodes.get_mut(node.0) else {
            return;
        };
        if n.app.is_none() || n.app_ready_queued {
            return;
        }
        n.app_ready_queued = true;
        let now = self.now;
        self.schedule(now, Scheduled::AppReady { node });
    }

    fn run_app(&mut self, node: NodeId) {
        let Some(mut app) = self.nodes.get_mut(node.0).and_then(|n| n.app.take()) else {
            return;
        };
        app.on_event(&mut AppCtx { fabric: self, node });
        if let Some(n) = self.nodes.get_mut(node.0) {
            if n.app.is_none() {
                n.app = Some(app);
            }
        }
    }

    /// Sends everything `node` has to send now, then re-arms its timer.
    fn flush(&mut self, node: NodeId) {
        let now = self.now;
        for _ in 0..SEGMENTS_PER_FLUSH_MAX {
            let Some(n) = self.nodes.get_mut(node.0) else {
                return;
            };
            let Some(segment) = n.socket.poll_transmit(now) else {
                break;
            };
            let peer = n.peer;
            self.drain_events(node);
            self.record(node, NetEvent::Sent(segment.header()));
            self.transmit(node, peer, segment);
        }
        self.drain_events(node);
        self.sync_timer(node);
    }

    fn transmit(&mut self, from: NodeId, peer: Option<NodeId>, segment: Segment) {
        let header = segment.header();
        let link = peer.and_then(|to| self.links.get_mut(&(from, to)).map(|link| (to, link)));
        let Some((to, link)) = link else {
            self.capture(from, peer, &segment, Err(DropReason::NoRoute));
            self.record(
                from,
                NetEvent::Dropped {
                    segment: header,
                    reason: DropReason::NoRoute,
                },
            );
            return;
        };
        let transmission = link.transmit(self.now, segment.wire_len_bytes());
        let fate = match transmission {
            Transmission::Dropped(reason) => Err(reason),
            Transmission::Delivered {
                arrival,
                duplicate_arrival,
            } => Ok((arrival, duplicate_arrival)),
        };
        self.capture(from, peer, &segment, fate);
        match transmission {
            Transmission::Dropped(reason) => {
                self.record(
                    from,
                    NetEvent::Dropped {
                        segment: header,
                        reason,
                    },
                );
            }
            Transmission::Delivered {
                arrival,
                duplicate_arrival,
            } => {
                let copy = duplicate_arrival.map(|time| (time, segment.clone()));
                self.schedule(arrival, Scheduled::Deliver { to, segment });
                if let Some((time, segment)) = copy {
                    self.record(from, NetEvent::Duplicated(header));
                    self.schedule(time, Scheduled::Deliver { to, segment });
                }
            }
        }
    }

    fn capture(
        &mut self,
        from: NodeId,
        to: Option<NodeId>,
        segment: &Segment,
        fate: Result<(SimTime, Option<SimTime>), DropReason>,
    ) {
        let time = self.now;
        if let Some(kept) = &mut self.captured {
            if kept.len() < self.trace_entries_max {
                kept.push(CapturedSegment {
                    time,
                    from,
                    to,
                    segment: segment.clone(),
                    fate,
                });
            }
        }
    }

    /// Keeps one timer event at or before the socket's earliest deadline. A later
    /// deadline leaves the earlier event in place; it fires, finds nothing due, and
    /// re-arms.
    fn sync_timer(&mut self, node: NodeId) {
        let now = self.now;
        let Some(n) = self.nodes.get_mut(node.0) else {
            return;
        };
        let Some(deadline) = n.socket.poll_timeout() else {
            return;
        };
        let deadline = deadline.max(now);
        if n.timer_armed.is_some_and(|armed| armed <= deadline) {
            return;
        }
        n.timer_armed = Some(deadline);
        self.schedule(deadline, Scheduled::Timer { node });
    }
}

/// What application code may do at its node. Every call that can produce segments
/// flushes them at once, like a system call.
pub struct AppCtx<'a> {
    fabric: &'a mut Fabric,
    node: NodeId,
}

impl AppCtx<'_> {
    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.fabric.now
    }

    /// This node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The master seed (to derive further streams, e.g. for a TLS endpoint).
    pub fn seed(&self) -> MasterSeed {
        self.fabric.seed
    }

    /// This node's socket.
    pub fn socket(&self) -> Option<&TcpSocket> {
        self.fabric.socket(self.node)
    }

    /// This node's socket, mutably; segments it causes leave when the current event
    /// finishes.
    pub fn socket_mut(&mut self) -> Option<&mut TcpSocket> {
        self.fabric.socket_mut(self.node)
    }

    /// Active open.
    pub fn connect(&mut self) {
        let now = self.fabric.now;
        let result = self.fabric.socket_mut(self.node).map(|s| s.connect(now));
        self.after_open("connect", result, NetEvent::AppConnect);
    }

    /// Passive open.
    pub fn listen(&mut self) {
        let result = self.fabric.socket_mut(self.node).map(TcpSocket::listen);
        self.after_open("listen", result, NetEvent::AppListen);
    }

    fn after_open(
        &mut self,
        operation: &'static str,
        result: Option<Result<(), super::tcp::InvalidState>>,
        success: NetEvent,
    ) {
        match result {
            Some(Ok(())) => self.fabric.record(self.node, success),
            Some(Err(refused)) => self.fabric.record(
                self.node,
                NetEvent::AppRefused {
                    operation,
                    state: refused.state,
                },
            ),
            None => {}
        }
        self.fabric.flush(self.node);
    }

    /// Writes like `write(2)`: queues what fits, then pushes. Returns bytes taken.
    pub fn write(&mut self, data: &[u8]) -> usize {
        let accepted = self
            .fabric
            .socket_mut(self.node)
            .map_or(0, |s| s.send(data));
        self.fabric.record(
            self.node,
            NetEvent::AppWrite {
                offered: data.len(),
                accepted,
            },
        );
        self.fabric.flush(self.node);
        accepted
    }

    /// Reads every received byte into `out`; returns the count (recorded if not 0).
    pub fn recv(&mut self, out: &mut Vec<u8>) -> usize {
        let bytes = self.fabric.socket_mut(self.node).map_or(0, |s| s.recv(out));
        if bytes > 0 {
            self.fabric.record(self.node, NetEvent::AppRead { bytes });
            self.fabric.flush(self.node);
        }
        bytes
    }

    /// Every received byte.
    pub fn read_all(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.recv(&mut out);
        out
    }

    /// `TCP_NODELAY`; switching it on flushes data Nagle was holding.
    pub fn set_nodelay(&mut self, nodelay: bool) {
        if let Some(socket) = self.fabric.socket_mut(self.node) {
            socket.set_nodelay(nodelay);
        }
        self.fabric.record(self.node, NetEvent::AppNoDelay(nodelay));
        self.fabric.flush(self.node);
    }

    /// Half close (FIN after queued data).
    pub fn close(&mut self) {
        if let Some(socket) = self.fabric.socket_mut(self.node) {
            socket.close();
        }
        self.fabric.record(self.node, NetEvent::AppClose);
        self.fabric.flush(self.node);
    }

    /// Abort (RST).
    pub fn abort(&mut self) {
        if let Some(socket) = self.fabric.socket_mut(self.node) {
            socket.abort();
        }
        self.fabric.record(self.node, NetEvent::AppAbort);
        self.fabric.flush(self.node);
    }

    /// Asks for this node's [`Application`] to be called again at `time`.
    pub fn wake_at(&mut self, time: SimTime) {
        let time = time.max(self.fabric.now);
        self.fabric
            .schedule(time, Scheduled::Wake { node: self.node });
    }
}
