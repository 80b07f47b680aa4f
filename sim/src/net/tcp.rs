//! A sans-I/O TCP endpoint, one per connection end, in the style of smoltcp: segments
//! are plain structs, and the caller moves them and the clock.
//!
//! Call order, for every input: [`TcpSocket::handle_segment`] or
//! [`TcpSocket::handle_timeout`] (or an application call such as
//! [`TcpSocket::send`]), then [`TcpSocket::poll_transmit`] until it returns `None`,
//! then [`TcpSocket::poll_event`] until `None`, then arm a timer at
//! [`TcpSocket::poll_timeout`]. Time only moves forward. Same inputs, same outputs.
//!
//! What is modelled (RFC 9293 unless noted):
//! - the three-way handshake with the MSS option (RFC 9293 3.7.1; 536 bytes if the
//!   peer sends none), SYN and SYN-ACK retransmission;
//! - MSS segmentation, default MSS 1460 (a 1500-byte MTU minus 40 header bytes);
//! - Nagle's algorithm, on by default as on a real socket (see
//!   [`TcpSocket::set_nodelay`]), optionally with Minshall's variant as in Linux;
//! - delayed ACK ([`DelayedAck`]): a timer, an immediate ACK once two full segments are
//!   unacknowledged, and piggybacking on outgoing segments;
//! - congestion control: initial window of 10 segments (RFC 6928), slow start and
//!   congestion avoidance (RFC 5681 3.1), fast retransmit after 3 duplicate ACKs with
//!   NewReno recovery (RFC 5681 3.2, RFC 6582);
//! - retransmission timeout (RFC 6298): initial RTO 1 s, SRTT/RTTVAR from samples timed
//!   one segment at a time, Karn's rule, exponential backoff, a 200 ms floor as on
//!   Linux, and go-back-N retransmission from the first unacknowledged byte;
//! - in-order delivery through a bounded receive buffer that is the advertised window,
//!   a bounded out-of-order store, zero-window probes;
//! - FIN (half close), RST (sent on abort and in reply to segments for a closed
//!   socket; accepted only inside the window).
//!
//! The Linux profile ([`TcpConfig::linux`]) adds kernel ticks, the timestamps option's
//! 12 bytes, Linux's delayed-ACK and RTO rules and Minshall's Nagle.
//!
//! Not modelled: simultaneous open, TCP Fast Open, window scaling (the window field is
//! a plain byte count, as if scaling had been agreed), Linux's receive-window growth
//! from a small initial window (`tcp_grow_window`), autocorking, SACK, the
//! TIME-WAIT timer (TIME-WAIT lasts forever and ignores RST, RFC 1337), keep-alive.
//!
//! Sequence numbers on the wire are `u32` and wrap; internally every position is a
//! `u64` offset from the initial sequence number, so comparisons never wrap.

use core::fmt;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use super::link::IP_TCP_HEADER_BYTES;
use super::time::{duration_nanos, SimTime};

/// The default MSS: a 1500-byte Ethernet MTU minus 40 bytes of IPv4 and TCP headers.
pub const DEFAULT_MSS_BYTES: u16 = 1460;
/// The MSS assumed when the peer's SYN carries no MSS option (RFC 9293 3.7.1).
pub const DEFAULT_PEER_MSS_BYTES: u16 = 536;
/// Linux's delayed-ACK timeout (`TCP_DELACK_MIN`, 40 ms).
pub const LINUX_DELAYED_ACK: Duration = Duration::from_millis(40);
/// Linux's number of quick ACKs at the start of a connection (`TCP_MAX_QUICKACKS`).
pub const QUICK_ACKS_MAX: u32 = 16;
/// RTO after the handshake when the SYN was retransmitted and no RTT sample exists
/// (RFC 6298 5.7).
pub const RTO_AFTER_SYN_LOSS: Duration = Duration::from_secs(3);
/// Bytes the timestamps option takes in every segment once agreed (RFC 7323 3: 10 bytes,
/// padded to 12 with two NOPs as Linux sends it), out of the payload the MSS allows.
pub const TIMESTAMPS_OPTION_BYTES: u16 = 12;
/// Linux timer-wheel levels: each level is 8 times coarser (`LVL_CLK_SHIFT` 3) and holds
/// 64 buckets (`LVL_BITS` 6), kernel/time/timer.c.
const TIMER_WHEEL_LEVEL_SHIFT: u32 = 3;
/// Buckets per timer-wheel level, as a power of two.
const TIMER_WHEEL_LEVEL_BITS: u32 = 6;
/// Bytes of the MSS option on a SYN.
const MSS_OPTION_BYTES: usize = 4;
/// Bound on segments kept in the out-of-order store.
const OUT_OF_ORDER_SEGMENTS_MAX: usize = 64;
/// Bound on undrained events; the oldest are dropped (and counted) beyond it.
const EVENTS_MAX: usize = 4096;

/// The control bits of a segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags {
    /// Synchronise sequence numbers.
    pub syn: bool,
    /// The acknowledgement field is significant.
    pub ack: bool,
    /// No more data from the sender.
    pub fin: bool,
    /// Reset the connection.
    pub rst: bool,
    /// Push: this segment empties the sender's buffer.
    pub psh: bool,
}

impl TcpFlags {
    /// Only ACK set.
    pub const ACK: TcpFlags = TcpFlags {
        syn: false,
        ack: true,
        fin: false,
        rst: false,
        psh: false,
    };
}

impl fmt::Display for TcpFlags {
    /// `SYN+ACK`, `PSH+ACK`, `FIN+ACK`, `RST`, ... in a fixed order; `-` for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [
            (self.syn, "SYN"),
            (self.fin, "FIN"),
            (self.rst, "RST"),
            (self.psh, "PSH"),
            (self.ack, "ACK"),
        ];
        let mut first = true;
        for (set, name) in names {
            if set {
                if !first {
                    f.write_str("+")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if first {
            f.write_str("-")?;
        }
        Ok(())
    }
}

/// A TCP segment: header fields and payload. Ports are left out: the fabric pairs
/// endpoints explicitly.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// Sequence number of the first byte (or of the SYN/FIN).
    pub seq: u32,
    /// Next sequence number expected from the peer (if `flags.ack`).
    pub ack: u32,
    /// Control bits.
    pub flags: TcpFlags,
    /// Receive window in bytes (unscaled: as if window scaling had been agreed).
    pub window: u32,
    /// The MSS option, sent on SYN and SYN-ACK.
    pub mss: Option<u16>,
    /// Application bytes.
    pub payload: Vec<u8>,
}

impl Segment {
    /// Sequence space the segment occupies: payload plus one each for SYN and FIN.
    pub fn sequence_len(&self) -> u64 {
        self.payload.len() as u64 + u64::from(self.flags.syn) + u64::from(self.flags.fin)
    }

    /// Size on the wire with IPv4 and TCP headers and options, for links and MTUs.
    pub fn wire_len_bytes(&self) -> usize {
        let options = if self.mss.is_some() {
            MSS_OPTION_BYTES
        } else {
            0
        };
        IP_TCP_HEADER_BYTES + options + self.payload.len()
    }

    /// The header with the payload replaced by its length (what traces keep).
    pub fn header(&self) -> SegmentHeader {
        SegmentHeader {
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            mss: self.mss,
            payload_len: self.payload.len(),
        }
    }
}

/// A segment's header and payload length, as recorded in traces.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SegmentHeader {
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Control bits.
    pub flags: TcpFlags,
    /// Receive window in bytes.
    pub window: u32,
    /// The MSS option.
    pub mss: Option<u16>,
    /// Payload length in bytes.
    pub payload_len: usize,
}

impl fmt::Display for SegmentHeader {
    /// `PSH+ACK seq=1 ack=1 win=65536 len=300`; `ack=` only with ACK, `mss=` only when
    /// present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} seq={}", self.flags, self.seq)?;
        if self.flags.ack {
            write!(f, " ack={}", self.ack)?;
        }
        write!(f, " win={}", self.window)?;
        if let Some(mss) = self.mss {
            write!(f, " mss={mss}")?;
        }
        write!(f, " len={}", self.payload_len)
    }
}

/// Connection states (RFC 9293 3.3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TcpState {
    /// No connection.
    Closed,
    /// Waiting for a SYN.
    Listen,
    /// SYN sent, waiting for SYN-ACK.
    SynSent,
    /// SYN received and SYN-ACK sent, waiting for its ACK.
    SynReceived,
    /// Data flows both ways.
    Established,
    /// FIN sent, not yet acknowledged.
    FinWait1,
    /// Our FIN acknowledged, waiting for the peer's.
    FinWait2,
    /// The peer's FIN received; we may still send.
    CloseWait,
    /// Both FINs sent, ours not yet acknowledged.
    Closing,
    /// Our FIN sent after the peer's, waiting for its ACK.
    LastAck,
    /// Both FINs sent and acknowledged (lasts forever in this model).
    TimeWait,
}

impl TcpState {
    /// The RFC name, e.g. `SYN-SENT`.
    pub fn as_str(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN-SENT",
            TcpState::SynReceived => "SYN-RECEIVED",
            TcpState::Established => "ESTABLISHED",
            TcpState::FinWait1 => "FIN-WAIT-1",
            TcpState::FinWait2 => "FIN-WAIT-2",
            TcpState::CloseWait => "CLOSE-WAIT",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST-ACK",
            TcpState::TimeWait => "TIME-WAIT",
        }
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When the receiver acknowledges data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DelayedAck {
    /// Every data segment is acknowledged at once.
    Off,
    /// Linux: the first [`QUICK_ACKS_MAX`] data segments are acknowledged at once
    /// (quick-ACK mode on first data, `tcp_incr_quickack`), then ACKs wait up to
    /// [`LINUX_DELAYED_ACK`].
    QuickAckAtStart,
    /// ACKs wait up to this long for data to piggyback on.
    Delay(Duration),
    /// Linux (net/ipv4/tcp_input.c, tcp_output.c, tcp_timer.c): quick ACKs at the start
    /// as [`DelayedAck::QuickAckAtStart`], but a socket that sends data less than `ato`
    /// (40 ms) after it last received some enters "pingpong" (interactive) mode
    /// (`tcp_event_data_sent`) and then delays its ACKs even while quick ACKs remain
    /// (`tcp_in_quickack_mode`); a delayed ACK that had to be sent by its timer leaves
    /// pingpong mode again (`tcp_delack_timer_handler`). Not modelled: `ato` growing
    /// with the inter-arrival time and backing off up to 200 ms.
    Linux,
}

/// How the RTO follows from the RTT estimates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RtoRule {
    /// RFC 6298 2.3: RTO = SRTT + 4·RTTVAR, then floored at `rto_min` (2.4).
    #[default]
    Rfc6298,
    /// Linux `tcp_set_rto`: RTO = SRTT + max(4·RTTVAR, `tcp_rto_min`), the floor applying
    /// to the variance term, not the sum: one 50 ms sample gives 250 ms, not 200 ms.
    /// (Linux's per-window `mdev_max` tracking is approximated by RFC 6298's RTTVAR.)
    Linux,
}

/// Linux kernel ticks: timers are kept in jiffies of `tick` (1/HZ: 4 ms at HZ=250, the
/// Debian/Ubuntu default; 1 ms at HZ=1000) and fire from the timer wheel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelTicks {
    /// The length of one jiffy.
    pub tick: Duration,
}

impl KernelTicks {
    /// Ticks for kernel constant `HZ` (clamped to 1..=10000).
    pub fn hz(hz: u32) -> KernelTicks {
        KernelTicks {
            tick: Duration::from_nanos(1_000_000_000 / u64::from(hz.clamp(1, 10_000))),
        }
    }

    /// When a timer armed at `now` for `delay` fires. The delay is converted to jiffies
    /// rounding up (`usecs_to_jiffies`), added to the current jiffy (time truncated to
    /// the tick), and the expiry rounded up past the granularity of its wheel level,
    /// which never lets a timer fire early (`calc_index`: `(expires >> LVL_SHIFT) + 1`):
    /// a 40 ms delayed ACK at HZ=250 fires 40 to 44 ms later, a 300 ms RTO (75 jiffies,
    /// level 1, 8-jiffy buckets) 304 to 332 ms later.
    pub fn deadline(&self, now: SimTime, delay: Duration) -> SimTime {
        let tick = duration_nanos(self.tick).max(1);
        let ticks = duration_nanos(delay).div_ceil(tick);
        let jiffies = now.as_nanos() / tick;
        let expires = jiffies.saturating_add(ticks);
        let mut level = 0;
        while level < 8
            && ticks >= 1u64 << (TIMER_WHEEL_LEVEL_BITS + level * TIMER_WHEEL_LEVEL_SHIFT)
        {
            level += 1;
        }
        let shift = level * TIMER_WHEEL_LEVEL_SHIFT;
        let bucket = ((expires >> shift).saturating_add(1)) << shift;
        SimTime::from_nanos(bucket.saturating_mul(tick))
    }
}

/// Endpoint configuration. `Default` is a Linux-like socket: MSS 1460, Nagle on,
/// quick ACKs then 40 ms delayed ACKs, initial window 10 segments, RTO 1 s initial,
/// 200 ms minimum, 60 s maximum.
#[derive(Clone, Debug, PartialEq)]
pub struct TcpConfig {
    /// Largest payload this end sends and advertises (the MSS option).
    pub mss_bytes: u16,
    /// Bound of the send buffer (unacknowledged plus unsent bytes).
    pub send_buffer_bytes: usize,
    /// Bound of the receive buffer; its free space is the advertised window.
    pub recv_buffer_bytes: usize,
    /// `TCP_NODELAY`: `false` means Nagle's algorithm is on.
    pub nodelay: bool,
    /// Delayed-ACK policy.
    pub delayed_ack: DelayedAck,
    /// Initial congestion window in segments (RFC 6928: 10).
    pub initial_cwnd_segments: u32,
    /// RTO before any RTT sample (RFC 6298 2.1: 1 s).
    pub rto_initial: Duration,
    /// RTO floor (Linux `TCP_RTO_MIN`, 200 ms; RFC 6298 2.4 says 1 s).
    pub rto_min: Duration,
    /// RTO ceiling after backoff (RFC 6298 2.5: at least 60 s).
    pub rto_max: Duration,
    /// SYN or SYN-ACK retransmissions before giving up (Linux `tcp_syn_retries`: 6).
    pub syn_retries_max: u32,
    /// Consecutive data retransmission timeouts without hearing from the peer before
    /// giving up (Linux `tcp_retries2`: 15).
    pub retries_max: u32,
    /// Fast retransmit on three duplicate ACKs (RFC 5681 3.2).
    pub fast_retransmit: bool,
    /// Initial sequence number. A constant keeps traces readable; use a seeded value
    /// to exercise wrap-around.
    pub isn: u32,
    /// Timers on kernel ticks ([`KernelTicks`]); `None`: exactly when due.
    pub kernel_ticks: Option<KernelTicks>,
    /// The timestamps option (RFC 7323; Linux `tcp_timestamps=1`, on by default): every
    /// segment carries [`TIMESTAMPS_OPTION_BYTES`] more, so 1448 payload bytes where the
    /// MSS is 1460. Both ends must agree (the world configures both alike).
    pub timestamps: bool,
    /// How the RTO follows from the RTT estimates.
    pub rto_rule: RtoRule,
    /// Minshall's variant of Nagle, as Linux has it (`tcp_nagle_check`,
    /// `tcp_minshall_check`): a sub-MSS segment waits only while an earlier *sub-MSS*
    /// segment is unacknowledged, so the small tail of a large write leaves with it.
    /// Off: RFC 9293 3.7.4's rule, any unacknowledged data holds it.
    pub nagle_minshall: bool,
}

impl TcpConfig {
    /// The Linux profile: [`DelayedAck::Linux`], [`RtoRule::Linux`], timestamps on and
    /// timers on ticks of `hz`, over `self`'s other settings (MSS, buffers, windows).
    pub fn linux(self, hz: u32) -> TcpConfig {
        TcpConfig {
            delayed_ack: DelayedAck::Linux,
            rto_rule: RtoRule::Linux,
            timestamps: true,
            kernel_ticks: Some(KernelTicks::hz(hz)),
            nagle_minshall: true,
            ..self
        }
    }
}

impl Default for TcpConfig {
    fn default() -> TcpConfig {
        TcpConfig {
            mss_bytes: DEFAULT_MSS_BYTES,
            send_buffer_bytes: 64 * 1024,
            recv_buffer_bytes: 64 * 1024,
            nodelay: false,
            delayed_ack: DelayedAck::QuickAckAtStart,
            initial_cwnd_segments: 10,
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(60),
            syn_retries_max: 6,
            retries_max: 15,
            fast_retransmit: true,
            isn: 0,
            kernel_ticks: None,
            timestamps: false,
            rto_rule: RtoRule::Rfc6298,
            nagle_minshall: false,
        }
    }
}

impl TcpConfig {
    /// The default configuration with the MSS fitted to a link MTU (MTU minus 40).
    pub fn for_mtu(mtu_bytes: usize) -> TcpConfig {
        let mss = mtu_bytes.saturating_sub(IP_TCP_HEADER_BYTES).max(1);
        TcpConfig {
            mss_bytes: u16::try_from(mss).unwrap_or(u16::MAX),
            ..TcpConfig::default()
        }
    }
}

/// The payload a segment may carry under MSS `mss`: less the timestamps option if on.
fn payload_mss(config: &TcpConfig, mss: u16) -> u64 {
    let options = if config.timestamps {
        TIMESTAMPS_OPTION_BYTES
    } else {
        0
    };
    u64::from(mss.saturating_sub(options).max(1))
}

/// Why a connection ended abnormally.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TcpError {
    /// The peer sent an acceptable RST (`ECONNRESET`, or `ECONNREFUSED` on connect).
    Reset,
    /// Too many retransmission timeouts (`ETIMEDOUT`).
    TimedOut,
    /// The application called [`TcpSocket::abort`].
    Aborted,
}

impl TcpError {
    /// Stable lower-case name used in traces.
    pub fn as_str(self) -> &'static str {
        match self {
            TcpError::Reset => "reset",
            TcpError::TimedOut => "timed-out",
            TcpError::Aborted => "aborted",
        }
    }
}

impl fmt::Display for TcpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An application call that the current state does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidState {
    /// The state the socket was in.
    pub state: TcpState,
}

impl fmt::Display for InvalidState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "operation not allowed in state {}", self.state)
    }
}

impl std::error::Error for InvalidState {}

/// Why a segment was sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RetransmitCause {
    /// The SYN or SYN-ACK timed out.
    Syn,
    /// The retransmission timer expired.
    Rto,
    /// Three duplicate ACKs, or a partial ACK during recovery.
    FastRetransmit,
}

impl RetransmitCause {
    /// Stable lower-case name used in traces.
    pub fn as_str(self) -> &'static str {
        match self {
            RetransmitCause::Syn => "syn",
            RetransmitCause::Rto => "rto",
            RetransmitCause::FastRetransmit => "fast",
        }
    }
}

/// Something the endpoint did that a trace or report may show. Time is added by the
/// caller (the fabric), which knows when it drained the event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TcpEvent {
    /// The state changed.
    StateChanged {
        /// Old state.
        from: TcpState,
        /// New state.
        to: TcpState,
    },
    /// Nagle's algorithm started holding sub-MSS data.
    NagleHoldStarted {
        /// Unsent bytes being held.
        bytes_held: u64,
    },
    /// Held data left (the ACK arrived, Nagle was switched off, or a full segment
    /// accumulated).
    NagleHoldEnded {
        /// When the hold started.
        held_since: SimTime,
        /// How long the data waited.
        held_for: Duration,
        /// Payload bytes of the segment that ended the hold.
        bytes_sent: u64,
    },
    /// A pure ACK left because the delayed-ACK timer expired.
    DelayedAckSent {
        /// How long the ACK was delayed.
        delayed_for: Duration,
    },
    /// A segment was sent again.
    Retransmission {
        /// Its sequence number.
        seq: u32,
        /// Its payload length.
        len: u64,
        /// Why.
        cause: RetransmitCause,
    },
    /// The retransmission timer expired.
    RtoExpired {
        /// The RTO that expired.
        rto: Duration,
        /// Consecutive backoffs including this one.
        backoffs: u32,
    },
    /// Three duplicate ACKs started fast recovery.
    FastRecoveryStarted {
        /// New slow-start threshold in bytes.
        ssthresh_bytes: u64,
    },
    /// A round-trip time was measured.
    RttSampled {
        /// The sample.
        rtt: Duration,
        /// Smoothed RTT after it.
        srtt: Duration,
        /// RTO after it.
        rto: Duration,
    },
    /// A zero-window probe is due.
    ZeroWindowProbe,
    /// The connection ended abnormally.
    Failed {
        /// Why.
        error: TcpError,
    },
}

/// Formats a duration like [`SimTime`]: milliseconds with three decimals.
fn fmt_ms(duration: Duration) -> String {
    SimTime::from_nanos(duration_nanos(duration)).to_string()
}

impl fmt::Display for TcpEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TcpEvent::StateChanged { from, to } => write!(f, "state {from} -> {to}"),
            TcpEvent::NagleHoldStarted { bytes_held } => {
                write!(f, "nagle-hold start unsent={bytes_held}")
            }
            TcpEvent::NagleHoldEnded {
                held_since,
                held_for,
                bytes_sent,
            } => write!(
                f,
                "nagle-hold end held={} since={held_since} sent={bytes_sent}",
                fmt_ms(*held_for)
            ),
            TcpEvent::DelayedAckSent { delayed_for } => {
                write!(f, "delayed-ack sent after={}", fmt_ms(*delayed_for))
            }
            TcpEvent::Retransmission { seq, len, cause } => {
                write!(f, "retransmit seq={seq} len={len} cause={}", cause.as_str())
            }
            TcpEvent::RtoExpired { rto, backoffs } => {
                write!(f, "rto expired rto={} backoffs={backoffs}", fmt_ms(*rto))
            }
            TcpEvent::FastRecoveryStarted { ssthresh_bytes } => {
                write!(f, "fast-recovery ssthresh={ssthresh_bytes}")
            }
            TcpEvent::RttSampled { rtt, srtt, rto } => write!(
                f,
                "rtt sample={} srtt={} rto={}",
                fmt_ms(*rtt),
                fmt_ms(*srtt),
                fmt_ms(*rto)
            ),
            TcpEvent::ZeroWindowProbe => f.write_str("zero-window probe"),
            TcpEvent::Failed { error } => write!(f, "failed error={error}"),
        }
    }
}

/// Counters of one endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpStats {
    /// Segments returned by `poll_transmit`.
    pub segments_sent: u64,
    /// Segments given to `handle_segment`.
    pub segments_received: u64,
    /// Segments sent again (SYN, RTO or fast retransmit).
    pub retransmissions: u64,
    /// Retransmission timer expiries.
    pub rto_expirations: u64,
    /// Fast recoveries entered on three duplicate ACKs.
    pub fast_retransmits: u64,
    /// Duplicate ACKs received.
    pub dup_acks_received: u64,
    /// Times Nagle's algorithm started holding data.
    pub nagle_holds: u64,
    /// Total time data was held by Nagle (holds that ended).
    pub nagle_held_total: Duration,
    /// Pure ACKs sent on delayed-ACK timer expiry.
    pub delayed_acks_sent: u64,
    /// Delayed ACKs that rode on an outgoing data segment instead.
    pub acks_piggybacked: u64,
    /// RST segments sent.
    pub resets_sent: u64,
    /// Window updates sent after the application freed receive buffer.
    pub window_updates: u64,
    /// Application bytes sent for the first time.
    pub bytes_sent: u64,
    /// Application bytes sent again.
    pub bytes_retransmitted: u64,
    /// Application bytes accepted in order into the receive buffer.
    pub bytes_received: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AckState {
    /// Nothing to acknowledge.
    Idle,
    /// An ACK is owed, at the latest at `deadline`.
    Delayed { deadline: SimTime, since: SimTime },
    /// An ACK is owed now.
    Now,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SendMode {
    /// New data from `snd_nxt`.
    New,
    /// Go-back-N after an RTO, from `rtx_next`.
    Rto,
    /// One segment from `snd_una` (fast retransmit).
    Fast,
}

/// One end of a TCP connection. See the module docs for the call order.
#[derive(Clone, Debug)]
pub struct TcpSocket {
    config: TcpConfig,
    state: TcpState,
    error: Option<TcpError>,
    nagle: bool,
    used: bool,
    /// Effective MSS: ours bounded by the peer's option.
    mss: u64,
    opened_at: Option<SimTime>,
    established_at: Option<SimTime>,

    // Send side. Offsets count from our ISN: 0 is the SYN, data byte k is 1 + k.
    iss: u32,
    snd_una: u64,
    snd_nxt: u64,
    rtx_next: Option<u64>,
    fast_rtx_pending: bool,
    syn_resend: bool,
    syn_transmissions: u32,
    snd_wnd: u64,
    snd_wl1: i64,
    snd_wl2: u64,
    send_buf: VecDeque<u8>,
    send_buf_seq: u64,
    fin_queued: bool,
    cwnd: u64,
    ssthresh: u64,
    dup_acks: u32,
    recovery_end: Option<u64>,

    // Timers and RTT (RFC 6298).
    srtt_nanos: Option<u64>,
    rttvar_nanos: u64,
    rto_base_nanos: u64,
    backoffs: u32,
    retries: u32,
    rtt_probe: Option<(u64, SimTime)>,
    rto_deadline: Option<SimTime>,
    persist_deadline: Option<SimTime>,
    probe_pending: bool,

    // Receive side. Offsets count from the peer's ISN.
    irs: u32,
    rcv_nxt: u64,
    recv_buf: VecDeque<u8>,
    out_of_order: BTreeMap<u64, Vec<u8>>,
    out_of_order_bytes: usize,
    peer_fin: Option<u64>,
    fin_received: bool,
    rcv_adv_edge: u64,
    ack_state: AckState,
    rcv_unacked_bytes: u64,
    quick_acks_left: u32,
    /// Linux pingpong (interactive) mode, [`DelayedAck::Linux`].
    pingpong: bool,
    /// When data last arrived (Linux `icsk_ack.lrcvtime`).
    last_data_received: Option<SimTime>,
    /// End of the last sub-MSS segment sent (Linux `snd_sml`).
    snd_sml: u64,

    rst_pending: Option<Segment>,
    nagle_hold_since: Option<SimTime>,
    events: VecDeque<TcpEvent>,
    events_dropped: u64,
    stats: TcpStats,
}

impl TcpSocket {
    /// A closed socket with `config`.
    pub fn new(config: TcpConfig) -> TcpSocket {
        let mss = payload_mss(&config, config.mss_bytes);
        TcpSocket {
            nagle: !config.nodelay,
            used: false,
            mss,
            opened_at: None,
            established_at: None,
            iss: config.isn,
            snd_una: 0,
            snd_nxt: 0,
            rtx_next: None,
            fast_rtx_pending: false,
            syn_resend: false,
            syn_transmissions: 0,
            snd_wnd: 0,
            snd_wl1: 0,
            snd_wl2: 0,
            send_buf: VecDeque::new(),
            send_buf_seq: 1,
            fin_queued: false,
            cwnd: mss.saturating_mul(u64::from(config.initial_cwnd_segments.max(1))),
            ssthresh: u64::MAX,
            dup_acks: 0,
            recovery_end: None,
            srtt_nanos: None,
            rttvar_nanos: 0,
            rto_base_nanos: duration_nanos(config.rto_initial),
            backoffs: 0,
            retries: 0,
            rtt_probe: None,
            rto_deadline: None,
            persist_deadline: None,
            probe_pending: false,
            irs: 0,
            rcv_nxt: 0,
            recv_buf: VecDeque::new(),
            out_of_order: BTreeMap::new(),
            out_of_order_bytes: 0,
            peer_fin: None,
            fin_received: false,
            rcv_adv_edge: 0,
            ack_state: AckState::Idle,
            rcv_unacked_bytes: 0,
            quick_acks_left: QUICK_ACKS_MAX,
            pingpong: false,
            last_data_received: None,
            snd_sml: 0,
            rst_pending: None,
            nagle_hold_since: None,
            events: VecDeque::new(),
            events_dropped: 0,
            stats: TcpStats::default(),
            state: TcpState::Closed,
            error: None,
            config,
        }
    }

    // ----- application API -----

    /// Active open: the SYN leaves at the next `poll_transmit`. Only a fresh socket
    /// can connect. `now` is recorded as the start of the connection.
    pub fn connect(&mut self, now: SimTime) -> Result<(), InvalidState> {
        if self.state != TcpState::Closed || self.used {
            return Err(InvalidState { state: self.state });
        }
        self.used = true;
        self.opened_at = Some(now);
        self.set_state(TcpState::SynSent);
        Ok(())
    }

    /// Passive open: wait for one SYN. Only a fresh socket can listen.
    pub fn listen(&mut self) -> Result<(), InvalidState> {
        if self.state != TcpState::Closed || self.used {
            return Err(InvalidState { state: self.state });
        }
        self.used = true;
        self.set_state(TcpState::Listen);
        Ok(())
    }

    /// Queues application bytes; returns how many fit in the send buffer (0 when the
    /// buffer is full or the socket cannot send: not connected, or closed for
    /// writing). Data written before the handshake completes waits for it.
    pub fn send(&mut self, data: &[u8]) -> usize {
        if !self.may_send() {
            return 0;
        }
        let room = self
            .config
            .send_buffer_bytes
            .saturating_sub(self.send_buf.len());
        let accepted = data.len().min(room);
        self.send_buf.extend(data.iter().take(accepted));
        accepted
    }

    /// Appends every received in-order byte to `out`; returns the count. Freeing
    /// buffer space may owe the peer a window update.
    pub fn recv(&mut self, out: &mut Vec<u8>) -> usize {
        let count = self.recv_buf.len();
        // Two slice copies, not a byte-at-a-time drain (a tenth of a fuzz run's time).
        let (head, tail) = self.recv_buf.as_slices();
        out.extend_from_slice(head);
        out.extend_from_slice(tail);
        self.recv_buf.clear();
        if count > 0 {
            self.maybe_window_update();
        }
        count
    }

    /// Every received in-order byte.
    pub fn read_all(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.recv_buf.len());
        self.recv(&mut out);
        out
    }

    /// Half close: a FIN follows the queued data (RFC 9293 3.10.4). Idempotent. In
    /// LISTEN or SYN-SENT the socket simply closes, discarding queued data; in
    /// SYN-RECEIVED the FIN waits for the handshake to complete.
    pub fn close(&mut self) {
        match self.state {
            TcpState::Listen | TcpState::SynSent => {
                // RFC 9293 3.10.4: CLOSE in SYN-SENT deletes the connection; queued
                // data is discarded. Close after the handshake to send it.
                self.send_buf.clear();
                self.set_state(TcpState::Closed);
            }
            TcpState::SynReceived => self.fin_queued = true,
            TcpState::Established => {
                self.fin_queued = true;
                self.set_state(TcpState::FinWait1);
            }
            TcpState::CloseWait => {
                self.fin_queued = true;
                self.set_state(TcpState::LastAck);
            }
            _ => {}
        }
    }

    /// Abort: in a synchronised state an RST leaves at the next `poll_transmit`
    /// (RFC 9293 3.10.5); the socket is closed with [`TcpError::Aborted`].
    pub fn abort(&mut self) {
        let synchronised = !matches!(
            self.state,
            TcpState::Closed | TcpState::Listen | TcpState::SynSent
        );
        if synchronised {
            self.rst_pending = Some(Segment {
                seq: self.seq_out(self.snd_nxt),
                ack: self.rcv_seq(self.rcv_nxt),
                flags: TcpFlags {
                    rst: true,
                    ack: true,
                    ..TcpFlags::default()
                },
                window: 0,
                mss: None,
                payload: Vec::new(),
            });
        }
        if self.state != TcpState::Closed {
            self.fail(TcpError::Aborted);
        }
    }

    /// `TCP_NODELAY`. `true` switches Nagle's algorithm off; data it was holding leaves
    /// at the next `poll_transmit`. `false` switches it back on, which the man page
    /// suggests after the handshake.
    ///
    /// Nagle's algorithm here is one predicate (RFC 896, smoltcp): a segment shorter
    /// than the MSS is held while unacknowledged data is in flight, unless it carries
    /// the FIN. This is the behaviour `SSL_read_early_data(3)` warns about: "In Nagle's
    /// algorithm the OS will buffer outgoing TCP data if a TCP packet has already been
    /// sent which we have not yet received an ACK for from the peer. The buffered data
    /// will only be transmitted if enough data to fill an entire TCP packet is
    /// accumulated, or if the ACK is received from the peer." Retransmissions are never
    /// held.
    pub fn set_nodelay(&mut self, nodelay: bool) {
        self.nagle = !nodelay;
    }

    /// Whether `TCP_NODELAY` is set (Nagle off).
    pub fn nodelay(&self) -> bool {
        !self.nagle
    }

    // ----- state queries -----

    /// The connection state.
    pub fn state(&self) -> TcpState {
        self.state
    }

    /// Why the connection ended abnormally, if it did.
    pub fn error(&self) -> Option<TcpError> {
        self.error
    }

    /// Whether the state is ESTABLISHED.
    pub fn is_established(&self) -> bool {
        self.state == TcpState::Established
    }

    /// When `connect` was called.
    pub fn opened_at(&self) -> Option<SimTime> {
        self.opened_at
    }

    /// When the handshake completed at this end.
    pub fn established_at(&self) -> Option<SimTime> {
        self.established_at
    }

    /// Whether `send` can accept bytes (state permits and no FIN queued).
    pub fn may_send(&self) -> bool {
        matches!(
            self.state,
            TcpState::SynSent | TcpState::SynReceived | TcpState::Established | TcpState::CloseWait
        ) && !self.fin_queued
    }

    /// Whether the peer has finished sending (its FIN arrived in order).
    pub fn peer_closed(&self) -> bool {
        self.fin_received
    }

    /// Bytes received in order and not yet read.
    pub fn recv_queued(&self) -> usize {
        self.recv_buf.len()
    }

    /// Bytes in the send buffer (unacknowledged plus unsent).
    pub fn send_queued(&self) -> usize {
        self.send_buf.len()
    }

    /// Sequence space sent and not yet acknowledged.
    pub fn bytes_in_flight(&self) -> u64 {
        self.snd_nxt - self.snd_una
    }

    /// The effective MSS (ours bounded by the peer's option).
    pub fn mss_bytes(&self) -> u64 {
        self.mss
    }

    /// Congestion window in bytes.
    pub fn cwnd_bytes(&self) -> u64 {
        self.cwnd
    }

    /// Slow-start threshold in bytes (`u64::MAX` until the first loss).
    pub fn ssthresh_bytes(&self) -> u64 {
        self.ssthresh
    }

    /// The peer's advertised window in bytes.
    pub fn peer_window_bytes(&self) -> u64 {
        self.snd_wnd
    }

    /// Smoothed RTT, once sampled.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt_nanos.map(Duration::from_nanos)
    }

    /// The current retransmission timeout, backoff included.
    pub fn rto(&self) -> Duration {
        let min = duration_nanos(self.config.rto_min);
        let max = duration_nanos(self.config.rto_max);
        let base = self.rto_base_nanos.max(min);
        let factor = 1u64 << self.backoffs.min(63);
        Duration::from_nanos(base.saturating_mul(factor).min(max.max(min)))
    }

    /// Whether Nagle's algorithm is holding unsent data right now.
    pub fn is_nagle_holding(&self) -> bool {
        self.nagle_hold_since.is_some()
    }

    /// Counters so far.
    pub fn stats(&self) -> &TcpStats {
        &self.stats
    }

    /// The configuration.
    pub fn config(&self) -> &TcpConfig {
        &self.config
    }

    /// Events dropped because nobody drained them (bound: 4096 pending).
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    // ----- sans-I/O driver API -----

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<TcpEvent> {
        self.events.pop_front()
    }

    /// The earliest instant at which `handle_timeout` has work: retransmission,
    /// zero-window probe or delayed ACK.
    pub fn poll_timeout(&self) -> Option<SimTime> {
        let ack = match self.ack_state {
            AckState::Delayed { deadline, .. } => Some(deadline),
            _ => None,
        };
        [self.rto_deadline, self.persist_deadline, ack]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs the timers due at `now`. Segments they cause leave via `poll_transmit`.
    pub fn handle_timeout(&mut self, now: SimTime) {
        if self
            .persist_deadline
            .is_some_and(|deadline| deadline <= now)
        {
            self.persist_deadline = None;
            self.probe_pending = true;
            self.backoffs = self.backoffs.saturating_add(1);
            self.push_event(TcpEvent::ZeroWindowProbe);
        }
        if self.rto_deadline.is_some_and(|deadline| deadline <= now) {
            self.rto_deadline = None;
            self.on_rto();
        }
        // A due delayed ACK is sent by the next poll_transmit.
    }

    /// Processes one segment from the peer.
    pub fn handle_segment(&mut self, segment: Segment, now: SimTime) {
        self.stats.segments_received += 1;
        match self.state {
            TcpState::Closed => self.reply_rst(&segment),
            TcpState::Listen => self.handle_listen(&segment),
            TcpState::SynSent => self.handle_syn_sent(&segment, now),
            _ => self.handle_synchronised(&segment, now),
        }
    }

    /// The next segment to send at `now`, if any. Call until `None`.
    pub fn poll_transmit(&mut self, now: SimTime) -> Option<Segment> {
        if let Some(rst) = self.rst_pending.take() {
            self.stats.segments_sent += 1;
            self.stats.resets_sent += 1;
            return Some(rst);
        }
        match self.state {
            TcpState::Closed | TcpState::Listen => None,
            TcpState::SynSent | TcpState::SynReceived => self.syn_segment(now),
            TcpState::Established
            | TcpState::CloseWait
            | TcpState::FinWait1
            | TcpState::Closing
            | TcpState::LastAck => {
                if let Some(segment) = self.data_segment(now) {
                    return Some(segment);
                }
                self.maybe_arm_persist(now);
                self.ack_segment(now)
            }
            TcpState::FinWait2 | TcpState::TimeWait => self.ack_segment(now),
        }
    }

    // ----- internals: bookkeeping -----

    fn push_event(&mut self, event: TcpEvent) {
        if self.events.len() >= EVENTS_MAX {
            self.events.pop_front();
            self.events_dropped += 1;
        }
        self.events.push_back(event);
    }

    fn set_state(&mut self, to: TcpState) {
        if self.state != to {
            let from = self.state;
            self.state = to;
            self.push_event(TcpEvent::StateChanged { from, to });
        }
        if to == TcpState::Closed {
            // A closed socket has no timers (an RST may still be pending).
            self.rto_deadline = None;
            self.persist_deadline = None;
            self.ack_state = AckState::Idle;
        }
    }

    fn fail(&mut self, error: TcpError) {
        self.error = Some(error);
        self.push_event(TcpEvent::Failed { error });
        self.set_state(TcpState::Closed);
        self.send_buf.clear();
        self.rto_deadline = None;
        self.persist_deadline = None;
        self.ack_state = AckState::Idle;
        self.nagle_hold_since = None;
        self.rtx_next = None;
        self.fast_rtx_pending = false;
    }

    /// Our sequence number at offset `offset`.
    fn seq_out(&self, offset: u64) -> u32 {
        self.iss.wrapping_add(offset as u32)
    }

    /// The peer's sequence number at offset `offset`.
    fn rcv_seq(&self, offset: u64) -> u32 {
        self.irs.wrapping_add(offset as u32)
    }

    /// The offset of a peer sequence number, taken as the nearest to `rcv_nxt`.
    fn seq_in(&self, seq: u32) -> i64 {
        let relative = seq.wrapping_sub(self.rcv_seq(self.rcv_nxt)) as i32;
        self.rcv_nxt as i64 + i64::from(relative)
    }

    /// The offset of an acknowledgement number, taken as the nearest to `snd_una`.
    fn ack_offset(&self, ack: u32) -> i64 {
        let relative = ack.wrapping_sub(self.seq_out(self.snd_una)) as i32;
        self.snd_una as i64 + i64::from(relative)
    }

    /// Offset one past the last queued data byte.
    fn data_end(&self) -> u64 {
        self.send_buf_seq + self.send_buf.len() as u64
    }

    fn fin_sent(&self) -> bool {
        self.fin_queued && self.snd_nxt > self.data_end()
    }

    /// Free receive buffer: the window we advertise.
    fn recv_window(&self) -> u64 {
        self.config
            .recv_buffer_bytes
            .saturating_sub(self.recv_buf.len()) as u64
    }

    fn set_peer_mss(&mut self, option: Option<u16>) {
        let peer = option.unwrap_or(DEFAULT_PEER_MSS_BYTES);
        self.mss = payload_mss(&self.config, self.config.mss_bytes.min(peer));
    }

    /// When a timer armed now for `delay` fires: at once when due, or on kernel ticks.
    fn timer_deadline(&self, now: SimTime, delay: Duration) -> SimTime {
        match self.config.kernel_ticks {
            Some(ticks) => ticks.deadline(now, delay),
            None => now + delay,
        }
    }

    fn arm_rto(&mut self, now: SimTime) {
        if self.rto_deadline.is_none() {
            self.rto_deadline = Some(self.timer_deadline(now, self.rto()));
        }
    }

    /// RFC 6298 2.2 and 2.3 (with G = 0), floored at `rto_min` by `rto()`.
    fn rtt_sample(&mut self, rtt: Duration) {
        let rtt_nanos = duration_nanos(rtt);
        match self.srtt_nanos {
            None => {
                self.srtt_nanos = Some(rtt_nanos);
                self.rttvar_nanos = rtt_nanos / 2;
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(rtt_nanos);
                self.rttvar_nanos = (3 * (self.rttvar_nanos / 4)).saturating_add(delta / 4);
                self.srtt_nanos = Some((7 * (srtt / 8)).saturating_add(rtt_nanos / 8));
            }
        }
        let srtt = self.srtt_nanos.unwrap_or(rtt_nanos);
        let variance = self.rttvar_nanos.saturating_mul(4);
        self.rto_base_nanos = match self.config.rto_rule {
            RtoRule::Rfc6298 => srtt.saturating_add(variance),
            RtoRule::Linux => {
                srtt.saturating_add(variance.max(duration_nanos(self.config.rto_min)))
            }
        };
        let event = TcpEvent::RttSampled {
            rtt,
            srtt: Duration::from_nanos(srtt),
            rto: self.rto(),
        };
        self.push_event(event);
    }

    /// Our SYN was acknowledged (either end of the handshake).
    fn on_syn_acked(&mut self, now: SimTime) {
        self.snd_una = 1;
        self.snd_nxt = self.snd_nxt.max(1);
        self.syn_resend = false;
        if let Some((end, sent)) = self.rtt_probe.take() {
            if end <= 1 {
                self.rtt_sample(now - sent);
            }
        }
        self.backoffs = 0;
        self.retries = 0;
        self.rto_deadline = None;
        let segments = if self.syn_transmissions > 1 {
            // RFC 5681 3.1: after a lost SYN or SYN-ACK the initial window is one
            // segment.
            1
        } else {
            u64::from(self.config.initial_cwnd_segments.max(1))
        };
        if self.srtt_nanos.is_none() && self.syn_transmissions > 1 {
            self.rto_base_nanos = self.rto_base_nanos.max(duration_nanos(RTO_AFTER_SYN_LOSS));
        }
        self.cwnd = self.mss.saturating_mul(segments);
        self.established_at = Some(now);
    }

    // ----- internals: input -----

    /// RFC 9293 3.10.7.1: answer a segment for a closed socket with RST.
    fn reply_rst(&mut self, segment: &Segment) {
        if segment.flags.rst {
            return;
        }
        let rst = if segment.flags.ack {
            Segment {
                seq: segment.ack,
                flags: TcpFlags {
                    rst: true,
                    ..TcpFlags::default()
                },
                ..Segment::default()
            }
        } else {
            Segment {
                seq: 0,
                ack: segment.seq.wrapping_add(segment.sequence_len() as u32),
                flags: TcpFlags {
                    rst: true,
                    ack: true,
                    ..TcpFlags::default()
                },
                ..Segment::default()
            }
        };
        self.rst_pending = Some(rst);
    }

    fn handle_listen(&mut self, segment: &Segment) {
        if segment.flags.rst {
            return;
        }
        if segment.flags.ack {
            self.reply_rst(segment);
            return;
        }
        if !segment.flags.syn {
            return;
        }
        // Data on a SYN (TCP Fast Open) is not modelled and is ignored.
        self.irs = segment.seq;
        self.rcv_nxt = 1;
        self.set_peer_mss(segment.mss);
        self.snd_wnd = u64::from(segment.window);
        self.snd_wl1 = 0;
        self.snd_wl2 = 0;
        self.set_state(TcpState::SynReceived);
    }

    fn handle_syn_sent(&mut self, segment: &Segment, now: SimTime) {
        // RFC 9293 3.10.7.3: the ACK must acknowledge our SYN exactly.
        let ack_ok = segment.flags.ack && segment.ack == self.seq_out(1);
        if segment.flags.ack && !ack_ok {
            self.reply_rst(segment);
            return;
        }
        if segment.flags.rst {
            if ack_ok {
                self.fail(TcpError::Reset);
            }
            return;
        }
        if !segment.flags.syn || !ack_ok {
            // A bare SYN would be a simultaneous open, which is not modelled.
            return;
        }
        self.irs = segment.seq;
        self.rcv_nxt = 1;
        self.set_peer_mss(segment.mss);
        self.snd_wnd = u64::from(segment.window);
        self.snd_wl1 = 0;
        self.snd_wl2 = 1;
        self.on_syn_acked(now);
        // The ACK of the SYN-ACK is not delayed; it rides on data if any is queued.
        self.ack_state = AckState::Now;
        self.set_state(TcpState::Established);
    }

    fn handle_synchronised(&mut self, segment: &Segment, now: SimTime) {
        let seg_start = self.seq_in(segment.seq);
        if segment.flags.rst {
            // RFC 9293 3.10.7.4 (and RFC 5961 3): only an RST inside the window counts.
            // RFC 1337: TIME-WAIT ignores RST.
            let window_end = self.rcv_nxt as i64 + self.recv_window().max(1) as i64;
            let in_window = seg_start >= self.rcv_nxt as i64 && seg_start < window_end;
            if in_window && self.state != TcpState::TimeWait {
                self.fail(TcpError::Reset);
            }
            return;
        }
        // Anything acceptable from the peer shows it is alive.
        self.retries = 0;
        if segment.flags.syn {
            if self.state == TcpState::SynReceived {
                // The peer retransmitted its SYN: our SYN-ACK was lost. Send it again.
                self.syn_resend = true;
            } else {
                // A retransmitted SYN-ACK: our ACK of it was lost.
                self.ack_state = AckState::Now;
            }
            return;
        }
        if !segment.flags.ack {
            return;
        }
        let ack_offset = self.ack_offset(segment.ack);
        if self.state == TcpState::SynReceived {
            if ack_offset >= 1 && ack_offset <= self.snd_nxt.max(1) as i64 {
                self.on_syn_acked(now);
                self.snd_wnd = u64::from(segment.window);
                self.snd_wl1 = seg_start;
                self.snd_wl2 = 1;
                let next = if self.fin_queued {
                    TcpState::FinWait1
                } else {
                    TcpState::Established
                };
                self.set_state(next);
            } else {
                self.reply_rst(segment);
                return;
            }
        }
        if ack_offset > self.snd_nxt as i64 {
            // Acknowledges something never sent: ACK and drop (RFC 9293 3.10.7.4).
            self.ack_state = AckState::Now;
            return;
        }
        if ack_offset >= self.snd_una as i64 {
            self.process_ack(segment, seg_start, ack_offset as u64, now);
        }
        if self.state == TcpState::Closed {
            return;
        }
        self.process_payload(segment, seg_start, now);
    }

    fn process_ack(&mut self, segment: &Segment, seg_start: i64, ack_offset: u64, now: SimTime) {
        let window = u64::from(segment.window);
        if ack_offset > self.snd_una {
            let acked = ack_offset - self.snd_una;
            let data_end = self.data_end();
            let drop_count = ack_offset.min(data_end).saturating_sub(self.send_buf_seq);
            let drop_count = (drop_count as usize).min(self.send_buf.len());
            self.send_buf.drain(..drop_count);
            self.send_buf_seq += drop_count as u64;
            self.snd_una = ack_offset;
            if let Some(next) = self.rtx_next {
                if next < ack_offset {
                    self.rtx_next = (ack_offset < self.snd_nxt).then_some(ack_offset);
                }
            }
            if let Some((end, sent)) = self.rtt_probe {
                if ack_offset >= end {
                    self.rtt_probe = None;
                    self.rtt_sample(now - sent);
                }
            }
            match self.recovery_end {
                Some(end) if ack_offset >= end => {
                    // RFC 6582 3.2 step 3, full acknowledgement: deflate the window.
                    self.cwnd = self.ssthresh;
                    self.recovery_end = None;
                }
                Some(_) => {
                    // Partial acknowledgement: retransmit the next hole, deflate by the
                    // amount acknowledged, add back one MSS.
                    self.fast_rtx_pending = true;
                    self.cwnd = self.cwnd.saturating_sub(acked).max(self.mss) + self.mss;
                }
                None if self.cwnd < self.ssthresh => {
                    // RFC 5681 (2): slow start.
                    self.cwnd = self.cwnd.saturating_add(acked.min(self.mss));
                }
                None => {
                    // RFC 5681 (3): congestion avoidance.
                    let increase = (self.mss.saturating_mul(self.mss) / self.cwnd.max(1)).max(1);
                    self.cwnd = self.cwnd.saturating_add(increase);
                }
            }
            self.dup_acks = 0;
            self.backoffs = 0;
            // RFC 6298 5.2 and 5.3.
            self.rto_deadline = if self.snd_una >= self.snd_nxt {
                None
            } else {
                Some(self.timer_deadline(now, self.rto()))
            };
            self.snd_wnd = window;
            self.snd_wl1 = seg_start;
            self.snd_wl2 = ack_offset;
            if self.fin_queued && self.snd_una > self.data_end() {
                match self.state {
                    TcpState::FinWait1 => self.set_state(TcpState::FinWait2),
                    TcpState::Closing => self.set_state(TcpState::TimeWait),
                    TcpState::LastAck => {
                        self.set_state(TcpState::Closed);
                        self.rto_deadline = None;
                    }
                    _ => {}
                }
            }
        } else {
            // RFC 5681 2: a duplicate ACK carries no data, no SYN/FIN, the same window,
            // and arrives while data is outstanding.
            let duplicate = segment.payload.is_empty()
                && !segment.flags.fin
                && window == self.snd_wnd
                && self.snd_nxt > self.snd_una;
            if duplicate {
                self.stats.dup_acks_received += 1;
                self.dup_acks = self.dup_acks.saturating_add(1);
                if self.config.fast_retransmit {
                    if self.dup_acks == 3 && self.recovery_end.is_none() {
                        self.enter_fast_recovery();
                    } else if self.dup_acks > 3 && self.recovery_end.is_some() {
                        self.cwnd = self.cwnd.saturating_add(self.mss);
                    }
                }
            }
            // RFC 9293 3.10.7.4: window update from a newer segment.
            if seg_start > self.snd_wl1 || (seg_start == self.snd_wl1 && ack_offset >= self.snd_wl2)
            {
                self.snd_wnd = window;
                self.snd_wl1 = seg_start;
                self.snd_wl2 = ack_offset;
            }
        }
        if self.snd_wnd > 0 {
            self.persist_deadline = None;
            self.probe_pending = false;
        }
    }

    /// RFC 5681 3.2 steps 2 and 3, with RFC 6582's recovery point.
    fn enter_fast_recovery(&mut self) {
        let flight = self.snd_nxt - self.snd_una;
        self.ssthresh = (flight / 2).max(2 * self.mss);
        self.cwnd = self.ssthresh + 3 * self.mss;
        self.recovery_end = Some(self.snd_nxt);
        self.fast_rtx_pending = true;
        self.rtt_probe = None;
        self.stats.fast_retransmits += 1;
        self.push_event(TcpEvent::FastRecoveryStarted {
            ssthresh_bytes: self.ssthresh,
        });
    }

    fn process_payload(&mut self, segment: &Segment, seg_start: i64, now: SimTime) {
        let data_start = seg_start + i64::from(segment.flags.syn);
        let len = segment.payload.len() as i64;
        let end = data_start + len;
        let accepts_data = matches!(
            self.state,
            TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
        );
        if !accepts_data || self.fin_received {
            if len > 0 || segment.flags.fin {
                // A retransmission of something we already have: re-acknowledge.
                self.ack_state = AckState::Now;
            }
            return;
        }
        let rcv_nxt = self.rcv_nxt as i64;
        let window_end = rcv_nxt + self.recv_window() as i64;
        if len > 0 {
            let accept_start = data_start.max(rcv_nxt);
            let accept_end = end.min(window_end);
            let bytes = if accept_start < accept_end {
                let from = (accept_start - data_start) as usize;
                let to = (accept_end - data_start) as usize;
                segment.payload.get(from..to)
            } else {
                None
            };
            match bytes {
                None => {
                    // Old duplicate, or beyond the window: tell the peer where we are.
                    self.ack_state = AckState::Now;
                }
                Some(bytes) if accept_start == rcv_nxt => {
                    let had_gap = !self.out_of_order.is_empty();
                    self.recv_buf.extend(bytes.iter());
                    self.rcv_nxt += bytes.len() as u64;
                    self.stats.bytes_received += bytes.len() as u64;
                    self.drain_out_of_order();
                    if had_gap || accept_start > data_start {
                        // RFC 5681 4.2: ACK at once when filling a gap.
                        self.ack_state = AckState::Now;
                    } else {
                        self.schedule_ack(bytes.len() as u64, now);
                    }
                }
                Some(bytes) => {
                    let bytes = bytes.to_vec();
                    self.store_out_of_order(accept_start as u64, bytes);
                    // RFC 5681 4.2: an out-of-order segment is acknowledged at once.
                    self.ack_state = AckState::Now;
                }
            }
        }
        if segment.flags.fin && end >= rcv_nxt && end <= window_end && self.peer_fin.is_none() {
            self.peer_fin = Some(end as u64);
        }
        self.check_fin();
    }

    fn check_fin(&mut self) {
        if self.fin_received || self.peer_fin != Some(self.rcv_nxt) {
            return;
        }
        self.rcv_nxt += 1;
        self.fin_received = true;
        self.ack_state = AckState::Now;
        match self.state {
            TcpState::Established => self.set_state(TcpState::CloseWait),
            TcpState::FinWait1 => self.set_state(TcpState::Closing),
            TcpState::FinWait2 => self.set_state(TcpState::TimeWait),
            _ => {}
        }
    }

    fn schedule_ack(&mut self, bytes: u64, now: SimTime) {
        self.last_data_received = Some(now);
        self.rcv_unacked_bytes = self.rcv_unacked_bytes.saturating_add(bytes);
        let delay = match self.config.delayed_ack {
            DelayedAck::Off => None,
            DelayedAck::QuickAckAtStart if self.quick_acks_left > 0 => {
                self.quick_acks_left -= 1;
                None
            }
            DelayedAck::QuickAckAtStart => Some(LINUX_DELAYED_ACK),
            DelayedAck::Linux if self.quick_acks_left > 0 && !self.pingpong => {
                self.quick_acks_left -= 1;
                None
            }
            DelayedAck::Linux => Some(LINUX_DELAYED_ACK),
            DelayedAck::Delay(delay) => Some(delay),
        };
        match delay {
            None => self.ack_state = AckState::Now,
            // RFC 9293 3.8.6.3 / RFC 1122 4.2.3.2: ACK at least every second full segment.
            Some(_) if self.rcv_unacked_bytes >= 2 * self.mss => self.ack_state = AckState::Now,
            Some(delay) => {
                if self.ack_state == AckState::Idle {
                    self.ack_state = AckState::Delayed {
                        deadline: self.timer_deadline(now, delay),
                        since: now,
                    };
                }
            }
        }
    }

    fn drain_out_of_order(&mut self) {
        for _ in 0..=OUT_OF_ORDER_SEGMENTS_MAX {
            let Some((&start, _)) = self.out_of_order.first_key_value() else {
                break;
            };
            if start > self.rcv_nxt {
                break;
            }
            let Some((start, bytes)) = self.out_of_order.pop_first() else {
                break;
            };
            self.out_of_order_bytes = self.out_of_order_bytes.saturating_sub(bytes.len());
            let skip = (self.rcv_nxt - start) as usize;
            let tail = bytes.get(skip..).unwrap_or(&[]);
            let room = self.recv_window() as usize;
            let take = tail.len().min(room);
            self.recv_buf.extend(tail.iter().take(take));
            self.rcv_nxt += take as u64;
            self.stats.bytes_received += take as u64;
        }
    }

    fn store_out_of_order(&mut self, start: u64, bytes: Vec<u8>) {
        if let Some(existing) = self.out_of_order.get(&start) {
            if existing.len() >= bytes.len() {
                return;
            }
        } else if self.out_of_order.len() >= OUT_OF_ORDER_SEGMENTS_MAX {
            return;
        }
        let replaced = self.out_of_order.get(&start).map_or(0, Vec::len);
        let total = self.out_of_order_bytes - replaced + bytes.len();
        if total > self.config.recv_buffer_bytes {
            return;
        }
        self.out_of_order_bytes = total;
        self.out_of_order.insert(start, bytes);
    }

    /// Linux `tcp_cleanup_rbuf`: after a read, announce the window if it at least
    /// doubled (RFC 1122 4.2.3.3 receiver SWS avoidance: by at least min(MSS,
    /// buffer/2)).
    fn maybe_window_update(&mut self) {
        let open = matches!(
            self.state,
            TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
        );
        if !open || self.fin_received {
            return;
        }
        let window = self.recv_window();
        let advertised = self.rcv_adv_edge.saturating_sub(self.rcv_nxt);
        let threshold = self
            .mss
            .min(self.config.recv_buffer_bytes as u64 / 2)
            .max(1);
        if window >= advertised.saturating_mul(2)
            && window - advertised >= threshold
            && self.ack_state != AckState::Now
        {
            self.ack_state = AckState::Now;
            self.stats.window_updates += 1;
        }
    }

    // ----- internals: output -----

    /// Fills in ACK and window, and clears the owed ACK, on an outgoing segment.
    fn finish_segment(&mut self, mut segment: Segment) -> Segment {
        let window = self.recv_window();
        segment.window = u32::try_from(window).unwrap_or(u32::MAX);
        if segment.flags.ack {
            segment.ack = self.rcv_seq(self.rcv_nxt);
            if !segment.payload.is_empty() && matches!(self.ack_state, AckState::Delayed { .. }) {
                self.stats.acks_piggybacked += 1;
            }
            self.ack_state = AckState::Idle;
            self.rcv_unacked_bytes = 0;
            self.rcv_adv_edge = self.rcv_nxt + window;
        }
        self.stats.segments_sent += 1;
        segment
    }

    fn syn_segment(&mut self, now: SimTime) -> Option<Segment> {
        if self.snd_nxt >= 1 && !self.syn_resend {
            return None;
        }
        let retransmission = self.syn_transmissions > 0;
        self.syn_transmissions = self.syn_transmissions.saturating_add(1);
        self.syn_resend = false;
        self.snd_nxt = 1;
        let passive = self.state == TcpState::SynReceived;
        let segment = Segment {
            seq: self.iss,
            ack: 0,
            flags: TcpFlags {
                syn: true,
                ack: passive,
                ..TcpFlags::default()
            },
            window: 0,
            mss: Some(self.config.mss_bytes),
            payload: Vec::new(),
        };
        if retransmission {
            self.stats.retransmissions += 1;
            self.rtt_probe = None;
            self.push_event(TcpEvent::Retransmission {
                seq: self.iss,
                len: 0,
                cause: RetransmitCause::Syn,
            });
        } else {
            self.rtt_probe = Some((1, now));
        }
        self.arm_rto(now);
        Some(self.finish_segment(segment))
    }

    fn data_segment(&mut self, now: SimTime) -> Option<Segment> {
        let data_end = self.data_end();
        let fin_sent = self.fin_sent();
        let (from, mode) = if self.fast_rtx_pending {
            (self.snd_una, SendMode::Fast)
        } else if let Some(next) = self.rtx_next {
            (next, SendMode::Rto)
        } else {
            (self.snd_nxt, SendMode::New)
        };
        let retransmission = mode != SendMode::New;
        let upper = if retransmission {
            self.snd_nxt.min(data_end)
        } else {
            data_end
        };
        let available = upper.saturating_sub(from);
        let room = if mode == SendMode::Fast {
            self.mss
        } else {
            let limit = self.snd_una + self.cwnd.min(self.snd_wnd);
            limit.saturating_sub(from)
        };
        let mut len = available.min(self.mss).min(room);
        let mut probe = false;
        if len == 0
            && available > 0
            && self.snd_wnd == 0
            && (self.probe_pending || (retransmission && from == self.snd_una))
        {
            // Zero-window probe: one byte beyond the window (RFC 9293 3.8.6.1).
            len = 1;
            probe = true;
        }
        let fin = if retransmission {
            fin_sent && from + len == data_end
        } else {
            self.fin_queued && !fin_sent && from + len == data_end
        };
        if len == 0 && !fin {
            if mode == SendMode::Fast {
                self.fast_rtx_pending = false;
            }
            return None;
        }
        let in_flight = self.snd_nxt > self.snd_una;
        if mode == SendMode::New && len > 0 && len < available.min(self.mss) && in_flight && !probe
        {
            // Sender silly-window avoidance (RFC 9293 3.8.6.2.1): while data is in
            // flight, do not send a partial segment because the window is short;
            // wait for ACKs to open it. Not a Nagle hold: the data is not sub-MSS.
            return None;
        }
        let small_in_flight = !self.config.nagle_minshall
            || (self.snd_sml > self.snd_una && self.snd_sml <= self.snd_nxt);
        if mode == SendMode::New
            && self.nagle
            && len > 0
            && len < self.mss
            && in_flight
            && small_in_flight
            && !fin
            && !probe
        {
            // Nagle: hold a sub-MSS segment while unacknowledged data is in flight.
            if self.nagle_hold_since.is_none() {
                self.nagle_hold_since = Some(now);
                self.stats.nagle_holds += 1;
                self.push_event(TcpEvent::NagleHoldStarted {
                    bytes_held: available,
                });
            }
            return None;
        }
        let offset = from.checked_sub(self.send_buf_seq)?;
        let (offset, len_bytes) = (offset as usize, len as usize);
        if offset.saturating_add(len_bytes) > self.send_buf.len() {
            return None;
        }
        let payload: Vec<u8> = self
            .send_buf
            .range(offset..offset + len_bytes)
            .copied()
            .collect();
        let segment = Segment {
            seq: self.seq_out(from),
            ack: 0,
            flags: TcpFlags {
                ack: true,
                fin,
                psh: len > 0 && from + len == data_end,
                ..TcpFlags::default()
            },
            window: 0,
            mss: None,
            payload,
        };
        let end = from + len + u64::from(fin);
        match mode {
            SendMode::Fast => self.fast_rtx_pending = false,
            SendMode::Rto => self.rtx_next = (end < self.snd_nxt).then_some(end),
            SendMode::New => {
                self.snd_nxt = end;
                if len < self.mss {
                    // Linux tcp_minshall_update.
                    self.snd_sml = end;
                }
            }
        }
        if probe {
            self.probe_pending = false;
        }
        if retransmission {
            self.stats.retransmissions += 1;
            self.stats.bytes_retransmitted += len;
            self.rtt_probe = None;
            let cause = if mode == SendMode::Fast {
                RetransmitCause::FastRetransmit
            } else {
                RetransmitCause::Rto
            };
            self.push_event(TcpEvent::Retransmission {
                seq: segment.seq,
                len,
                cause,
            });
        } else {
            self.stats.bytes_sent += len;
            // Linux tcp_event_data_sent: a reply within ato of the last data received
            // makes the connection interactive.
            if len > 0
                && self.config.delayed_ack == DelayedAck::Linux
                && self
                    .last_data_received
                    .is_some_and(|t| now - t < LINUX_DELAYED_ACK)
            {
                self.pingpong = true;
            }
            if self.rtt_probe.is_none() {
                self.rtt_probe = Some((end, now));
            }
            if len > 0 {
                if let Some(since) = self.nagle_hold_since.take() {
                    let held_for = now - since;
                    self.stats.nagle_held_total += held_for;
                    self.push_event(TcpEvent::NagleHoldEnded {
                        held_since: since,
                        held_for,
                        bytes_sent: len,
                    });
                }
            }
        }
        self.arm_rto(now);
        Some(self.finish_segment(segment))
    }

    fn maybe_arm_persist(&mut self, now: SimTime) {
        let unsent = self.data_end() > self.snd_nxt;
        if self.persist_deadline.is_none()
            && !self.probe_pending
            && self.snd_wnd == 0
            && unsent
            && self.snd_nxt == self.snd_una
            && self.rto_deadline.is_none()
        {
            self.persist_deadline = Some(self.timer_deadline(now, self.rto()));
        }
    }

    fn ack_segment(&mut self, now: SimTime) -> Option<Segment> {
        let delayed_since = match self.ack_state {
            AckState::Idle => return None,
            AckState::Now => None,
            AckState::Delayed { deadline, since } => {
                if deadline > now {
                    return None;
                }
                Some(since)
            }
        };
        if let Some(since) = delayed_since {
            // Linux tcp_delack_timer_handler: "Delayed ACK missed: leave pingpong mode".
            self.pingpong = false;
            self.stats.delayed_acks_sent += 1;
            self.push_event(TcpEvent::DelayedAckSent {
                delayed_for: now - since,
            });
        }
        let segment = Segment {
            seq: self.seq_out(self.snd_nxt),
            flags: TcpFlags::ACK,
            ..Segment::default()
        };
        Some(self.finish_segment(segment))
    }

    /// RFC 6298 5.4 to 5.6 and RFC 5681 (4).
    fn on_rto(&mut self) {
        let expired = self.rto();
        self.stats.rto_expirations += 1;
        self.backoffs = self.backoffs.saturating_add(1);
        self.retries = self.retries.saturating_add(1);
        self.push_event(TcpEvent::RtoExpired {
            rto: expired,
            backoffs: self.backoffs,
        });
        match self.state {
            TcpState::SynSent | TcpState::SynReceived => {
                if self.retries > self.config.syn_retries_max {
                    self.fail(TcpError::TimedOut);
                    return;
                }
                self.syn_resend = true;
                self.rtt_probe = None;
            }
            _ => {
                if self.snd_nxt <= self.snd_una {
                    return;
                }
                if self.retries > self.config.retries_max {
                    self.fail(TcpError::TimedOut);
                    return;
                }
                let flight = self.snd_nxt - self.snd_una;
                self.ssthresh = (flight / 2).max(2 * self.mss);
                self.cwnd = self.mss;
                self.rtx_next = Some(self.snd_una);
                self.recovery_end = None;
                self.dup_acks = 0;
                self.fast_rtx_pending = false;
                self.rtt_probe = None;
            }
        }
    }
}
