//! A one-way link: latency, jitter, bandwidth (serialisation delay, packets queue
//! behind each other), random loss and duplication, scheduled partitions and an MTU.
//!
//! The fate of each packet is decided when it enters the link, in this order:
//! 1. larger than the MTU: dropped ([`DropReason::Mtu`]), no bandwidth used;
//! 2. sent inside a partition window: dropped ([`DropReason::Partition`]);
//! 3. the transmit queue would exceed `queue_bytes_max`: tail drop
//!    ([`DropReason::QueueFull`]);
//! 4. otherwise it is serialised after the packets ahead of it, and exactly four
//!    numbers are drawn from the link's stream: loss, duplication, the jitter of the
//!    packet and the jitter of its duplicate. Drawing the same count for every packet
//!    keeps the stream aligned when only a probability changes. A lost packet still
//!    used the bandwidth (it is lost on the wire).
//!
//! Arrival = end of serialisation + latency + uniform jitter in `0..=jitter`. There is
//! no other reordering: with zero jitter a link is FIFO; with jitter a later packet
//! may overtake an earlier one, as with `netem`'s jitter.

use std::time::Duration;

use super::rng::SimRng;
use super::time::{duration_nanos, SimTime};

/// Bytes of IPv4 and TCP headers without options, added to every TCP payload on the
/// wire; the TCP layer's default MSS is MTU minus this.
pub const IP_TCP_HEADER_BYTES: usize = 40;

/// A window of virtual time `[start, end)` in which the link drops every packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    /// First instant of the outage.
    pub start: SimTime,
    /// First instant after the outage.
    pub end: SimTime,
}

impl Partition {
    /// Whether a packet sent at `time` is dropped by this partition.
    pub fn contains(&self, time: SimTime) -> bool {
        self.start <= time && time < self.end
    }
}

/// The behaviour of one direction of a link.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub latency: Duration,
    /// Maximum extra delay, drawn uniformly in `0..=jitter` per packet.
    pub jitter: Duration,
    /// Bandwidth in bits per second; `None` means serialisation takes no time.
    pub bandwidth_bps: Option<u64>,
    /// Probability that a packet is lost on the wire.
    pub loss_probability: f64,
    /// Probability that a delivered packet arrives twice.
    pub duplicate_probability: f64,
    /// Outages: packets sent inside any of these windows are dropped.
    pub partitions: Vec<Partition>,
    /// Largest packet (headers included) the link carries; bigger ones are dropped.
    pub mtu_bytes: usize,
    /// Largest backlog of bytes waiting for serialisation; `None` is unbounded.
    /// Only meaningful with a bandwidth.
    pub queue_bytes_max: Option<usize>,
}

impl Default for LinkConfig {
    /// A perfect Ethernet-sized link: no delay, no loss, MTU 1500.
    fn default() -> LinkConfig {
        LinkConfig {
            latency: Duration::ZERO,
            jitter: Duration::ZERO,
            bandwidth_bps: None,
            loss_probability: 0.0,
            duplicate_probability: 0.0,
            partitions: Vec::new(),
            mtu_bytes: 1500,
            queue_bytes_max: None,
        }
    }
}

impl LinkConfig {
    /// A perfect link with the given one-way latency.
    pub fn with_latency(latency: Duration) -> LinkConfig {
        LinkConfig {
            latency,
            ..LinkConfig::default()
        }
    }
}

/// Why a packet did not arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DropReason {
    /// Random loss.
    Loss,
    /// Sent during a scheduled partition.
    Partition,
    /// Bigger than the link MTU.
    Mtu,
    /// The link's transmit queue was full.
    QueueFull,
    /// No link leads from the sender to its peer.
    NoRoute,
}

impl DropReason {
    /// Stable lower-case name used in traces.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::Partition => "partition",
            DropReason::Mtu => "mtu",
            DropReason::QueueFull => "queue-full",
            DropReason::NoRoute => "no-route",
        }
    }
}

/// The fate of one packet handed to a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transmission {
    /// The packet never arrives.
    Dropped(DropReason),
    /// The packet arrives at `arrival`, and a copy at `duplicate_arrival` if the link
    /// duplicated it.
    Delivered {
        /// When the packet arrives.
        arrival: SimTime,
        /// When its duplicate arrives, if any.
        duplicate_arrival: Option<SimTime>,
    },
}

/// Counters of one link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Packets handed to the link.
    pub packets_offered: u64,
    /// Packets that will arrive (duplicates not counted).
    pub packets_delivered: u64,
    /// Extra copies created by duplication.
    pub packets_duplicated: u64,
    /// Packets lost at random.
    pub dropped_loss: u64,
    /// Packets dropped by a partition.
    pub dropped_partition: u64,
    /// Packets dropped for exceeding the MTU.
    pub dropped_mtu: u64,
    /// Packets dropped by a full transmit queue.
    pub dropped_queue_full: u64,
}

/// One direction of a link, with its own random stream.
#[derive(Clone, Debug)]
pub struct Link {
    config: LinkConfig,
    rng: SimRng,
    busy_until: SimTime,
    stats: LinkStats,
}

impl Link {
    /// A link behaving as `config`, drawing from `rng` (its own stream).
    pub fn new(config: LinkConfig, rng: SimRng) -> Link {
        Link {
            config,
            rng,
            busy_until: SimTime::ZERO,
            stats: LinkStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LinkConfig {
        &self.config
    }

    /// The counters so far.
    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    /// Time to put `size_bytes` on the wire, rounded up to the nanosecond.
    pub fn serialisation_delay(&self, size_bytes: usize) -> Duration {
        match self.config.bandwidth_bps {
            None | Some(0) => Duration::ZERO,
            Some(bandwidth_bps) => {
                let bits = (size_bytes as u128).saturating_mul(8);
                let nanos = (bits * 1_000_000_000).div_ceil(u128::from(bandwidth_bps));
                Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
            }
        }
    }

    /// Bytes still waiting to be serialised at `now`.
    fn backlog_bytes(&self, now: SimTime) -> u128 {
        let Some(bandwidth_bps) = self.config.bandwidth_bps else {
            return 0;
        };
        let waiting_nanos = u128::from(duration_nanos(self.busy_until - now));
        waiting_nanos * u128::from(bandwidth_bps) / 8 / 1_000_000_000
    }

    /// Hands a packet of `size_bytes` (headers included) to the link at `now`.
    pub fn transmit(&mut self, now: SimTime, size_bytes: usize) -> Transmission {
        self.stats.packets_offered += 1;
        if size_bytes > self.config.mtu_bytes {
            self.stats.dropped_mtu += 1;
            return Transmission::Dropped(DropReason::Mtu);
        }
        if self.config.partitions.iter().any(|p| p.contains(now)) {
            self.stats.dropped_partition += 1;
            return Transmission::Dropped(DropReason::Partition);
        }
        if let Some(queue_bytes_max) = self.config.queue_bytes_max {
            let backlog_bytes = self.backlog_bytes(now);
            if backlog_bytes + size_bytes as u128 > queue_bytes_max as u128 {
                self.stats.dropped_queue_full += 1;
                return Transmission::Dropped(DropReason::QueueFull);
            }
        }
        let start = self.busy_until.max(now);
        let done = start + self.serialisation_delay(size_bytes);
        self.busy_until = done;

        let lost = self.rng.chance(self.config.loss_probability);
        let duplicated = self.rng.chance(self.config.duplicate_probability);
        let jitter = self.rng.duration_up_to(self.config.jitter);
        let duplicate_jitter = self.rng.duration_up_to(self.config.jitter);
        if lost {
            self.stats.dropped_loss += 1;
            return Transmission::Dropped(DropReason::Loss);
        }
        self.stats.packets_delivered += 1;
        let arrival = done + self.config.latency + jitter;
        let duplicate_arrival = if duplicated {
            self.stats.packets_duplicated += 1;
            Some(done + self.config.latency + duplicate_jitter)
        } else {
            None
        };
        Transmission::Delivered {
            arrival,
            duplicate_arrival,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::rng::MasterSeed;

    fn link(config: LinkConfig) -> Link {
        Link::new(config, MasterSeed::new(1).stream("link/test"))
    }

    fn arrival(transmission: Transmission) -> SimTime {
        match transmission {
            Transmission::Delivered { arrival, .. } => arrival,
            Transmission::Dropped(reason) => panic!("dropped: {reason:?}"),
        }
    }

    #[test]
    fn a_packet_arrives_after_exactly_the_latency() {
        let mut link = link(LinkConfig::with_latency(Duration::from_millis(10)));
        let sent = SimTime::from_millis(5);
        assert_eq!(arrival(link.transmit(sent, 100)), SimTime::from_millis(15));
    }

    #[test]
    fn packets_queue_behind_each_other_at_the_bandwidth() {
        // 8 Mbit/s: a 1000-byte packet takes 1 ms to serialise.
        let mut link = link(LinkConfig {
            bandwidth_bps: Some(8_000_000),
            latency: Duration::from_millis(10),
            ..LinkConfig::default()
        });
        assert_eq!(link.serialisation_delay(1000), Duration::from_millis(1));
        assert_eq!(
            arrival(link.transmit(SimTime::ZERO, 1000)),
            SimTime::from_millis(11)
        );
        assert_eq!(
            arrival(link.transmit(SimTime::ZERO, 1000)),
            SimTime::from_millis(12)
        );
        // After the link went idle, no queueing.
        assert_eq!(
            arrival(link.transmit(SimTime::from_millis(50), 1000)),
            SimTime::from_millis(61)
        );
    }

    #[test]
    fn oversized_packets_are_dropped_by_the_mtu() {
        let mut link = link(LinkConfig::default());
        assert_eq!(
            link.transmit(SimTime::ZERO, 1501),
            Transmission::Dropped(DropReason::Mtu)
        );
        assert!(matches!(
            link.transmit(SimTime::ZERO, 1500),
            Transmission::Delivered { .. }
        ));
        assert_eq!(link.stats().dropped_mtu, 1);
    }

    #[test]
    fn a_partition_drops_exactly_the_packets_sent_inside_it() {
        let mut link = link(LinkConfig {
            partitions: vec![Partition {
                start: SimTime::from_millis(10),
                end: SimTime::from_millis(20),
            }],
            ..LinkConfig::default()
        });
        let fate = |link: &mut Link, ms| link.transmit(SimTime::from_millis(ms), 100);
        assert!(matches!(fate(&mut link, 9), Transmission::Delivered { .. }));
        assert_eq!(
            fate(&mut link, 10),
            Transmission::Dropped(DropReason::Partition)
        );
        assert_eq!(
            fate(&mut link, 19),
            Transmission::Dropped(DropReason::Partition)
        );
        assert!(matches!(
            fate(&mut link, 20),
            Transmission::Delivered { .. }
        ));
    }

    #[test]
    fn jitter_stays_within_its_bound_and_is_reproducible() {
        let config = LinkConfig {
            latency: Duration::from_millis(10),
            jitter: Duration::from_millis(5),
            ..LinkConfig::default()
        };
        let mut first = link(config.clone());
        let mut second = link(config);
        let mut distinct = std::collections::BTreeSet::new();
        for _ in 0..100 {
            let a = arrival(first.transmit(SimTime::ZERO, 100));
            assert_eq!(a, arrival(second.transmit(SimTime::ZERO, 100)));
            assert!(a >= SimTime::from_millis(10) && a <= SimTime::from_millis(15));
            distinct.insert(a);
        }
        assert!(
            distinct.len() > 50,
            "jitter should vary: {}",
            distinct.len()
        );
    }

    #[test]
    fn loss_and_duplication_happen_at_about_their_rates() {
        let mut link = link(LinkConfig {
            loss_probability: 0.25,
            duplicate_probability: 0.5,
            ..LinkConfig::default()
        });
        for _ in 0..4000 {
            link.transmit(SimTime::ZERO, 100);
        }
        let stats = *link.stats();
        assert!((800..1200).contains(&stats.dropped_loss), "{stats:?}");
        assert_eq!(stats.packets_delivered + stats.dropped_loss, 4000);
        let delivered = stats.packets_delivered;
        assert!(
            (delivered * 2 / 5..delivered * 3 / 5).contains(&stats.packets_duplicated),
            "{stats:?}"
        );
    }

    #[test]
    fn a_full_transmit_queue_tail_drops() {
        // 8 Mbit/s, 1000-byte packets, room for 2500 bytes of backlog.
        let mut link = link(LinkConfig {
            bandwidth_bps: Some(8_000_000),
            queue_bytes_max: Some(2_500),
            ..LinkConfig::default()
        });
        assert!(matches!(
            link.transmit(SimTime::ZERO, 1000),
            Transmission::Delivered { .. }
        ));
        assert!(matches!(
            link.transmit(SimTime::ZERO, 1000),
            Transmission::Delivered { .. }
        ));
        assert_eq!(
            link.transmit(SimTime::ZERO, 1000),
            Transmission::Dropped(DropReason::QueueFull)
        );
        // One millisecond later one packet has left the queue.
        assert!(matches!(
            link.transmit(SimTime::from_millis(1), 1000),
            Transmission::Delivered { .. }
        ));
    }
}
