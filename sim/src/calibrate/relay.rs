//! The user-space relay between the two namespaces: it reads IPv4 packets from one TUN
//! device and writes them to the other after the scenario's serialisation delay
//! (bandwidth, one queue per direction) and latency (plus uniform jitter), as the
//! simulator's links do; it duplicates them with the scenario's probability and drops
//! them with its loss probability or, for
//! `lose_first_flight`, the client's first flight of the 0-RTT connection (its handshake
//! ACK, and its data segments in the first millisecond). This kernel has no netem; the
//! relay also sees, and records, every segment.

use super::wall_ns;
use crate::scenario::Scenario;
use rand_core::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One captured TCP segment.
#[derive(Clone, Debug)]
pub struct Captured {
    /// When the relay read it (unix ns).
    pub at_ns: u64,
    /// Client to server.
    pub from_client: bool,
    /// Source port (tells the two connections apart).
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// The TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10).
    pub flags: u8,
    /// The window field (unscaled).
    pub window: u16,
    /// SYN flag.
    pub syn: bool,
    /// Payload bytes.
    pub payload_len: usize,
    /// Dropped by the relay.
    pub dropped: bool,
}

/// The fields of one IPv4/TCP packet the capture keeps.
struct Parsed {
    src: u16,
    dst: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    payload_len: usize,
}

/// Parses an IPv4/TCP packet; `None` for anything else.
fn parse(packet: &[u8]) -> Option<Parsed> {
    let version = packet.first()? >> 4;
    if version != 4 || *packet.get(9)? != 6 {
        return None;
    }
    let ihl = usize::from(packet[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*packet.get(2)?, *packet.get(3)?]));
    let tcp = packet.get(ihl..total.min(packet.len()))?;
    let src = u16::from_be_bytes([*tcp.first()?, *tcp.get(1)?]);
    let dst = u16::from_be_bytes([*tcp.get(2)?, *tcp.get(3)?]);
    let seq = u32::from_be_bytes([*tcp.get(4)?, *tcp.get(5)?, *tcp.get(6)?, *tcp.get(7)?]);
    let ack = u32::from_be_bytes([*tcp.get(8)?, *tcp.get(9)?, *tcp.get(10)?, *tcp.get(11)?]);
    let offset = usize::from(tcp.get(12)? >> 4) * 4;
    let flags = *tcp.get(13)?;
    let window = u16::from_be_bytes([*tcp.get(14)?, *tcp.get(15)?]);
    Some(Parsed {
        src,
        dst,
        seq,
        ack,
        flags,
        window,
        payload_len: tcp.len().saturating_sub(offset),
    })
}

/// Relays until `stop` is set; returns the capture.
pub fn run(
    client_side: tun::Device,
    server_side: tun::Device,
    scenario: &Scenario,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> std::io::Result<Vec<Captured>> {
    client_side.set_nonblock()?;
    server_side.set_nonblock()?;
    let n = &scenario.network;
    let latency = crate::world::ms(n.latency_ms).as_nanos() as u64;
    let jitter = crate::world::ms(n.jitter_ms).as_nanos() as u64;
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed);
    // (due, sequence) -> (to the server side, packet)
    let mut pending: BTreeMap<(u64, u64), (bool, Vec<u8>)> = BTreeMap::new();
    let mut sequence = 0u64;
    let mut capture = Vec::new();
    let mut syns = 0usize;
    let mut zero_rtt_port = None;
    let mut first_flight: Option<u64> = None;
    // Per direction (to the server, to the client): when the link is free again.
    let mut busy_until = [0u64; 2];
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        let mut idle = true;
        for from_client in [true, false] {
            let dev = if from_client {
                &client_side
            } else {
                &server_side
            };
            // Bounded: a burst of at most 256 packets per turn.
            for _ in 0..256 {
                let len = match dev.recv(&mut buf) {
                    Ok(len) => len,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(e),
                };
                idle = false;
                let now = wall_ns();
                let packet = buf[..len].to_vec();
                let Some(p) = parse(&packet) else {
                    continue;
                };
                let (src, syn, payload_len) = (p.src, p.flags & 0x02 != 0, p.payload_len);
                if from_client && syn {
                    syns += 1;
                    if syns == 2 {
                        zero_rtt_port = Some(src);
                    }
                }
                let mut dropped =
                    n.loss > 0.0 && (rng.next_u64() as f64 / u64::MAX as f64) < n.loss;
                if n.lose_first_flight && from_client && !syn && zero_rtt_port == Some(src) {
                    // The handshake ACK before it, the first data segment, and whatever
                    // follows it within 1 ms (the simulator's partition at that instant).
                    if payload_len > 0 && first_flight.is_none() {
                        first_flight = Some(now);
                    }
                    dropped |= first_flight.is_none_or(|start| now < start + 1_000_000);
                }
                capture.push(Captured {
                    at_ns: now,
                    from_client,
                    src_port: src,
                    dst_port: p.dst,
                    seq: p.seq,
                    ack: p.ack,
                    flags: p.flags,
                    window: p.window,
                    syn,
                    payload_len,
                    dropped,
                });
                if !dropped {
                    // Serialisation at the scenario's rate, queued behind earlier packets.
                    let lane = usize::from(!from_client);
                    let serialise = if n.bandwidth_kbps > 0 {
                        (len as u64 * 8 * 1_000_000).div_ceil(n.bandwidth_kbps)
                    } else {
                        0
                    };
                    let done = now.max(busy_until[lane]) + serialise;
                    busy_until[lane] = done;
                    let copies = if n.duplicate > 0.0
                        && (rng.next_u64() as f64 / u64::MAX as f64) < n.duplicate
                    {
                        2
                    } else {
                        1
                    };
                    for _ in 0..copies {
                        let extra = if jitter > 0 {
                            rng.next_u64() % (jitter + 1)
                        } else {
                            0
                        };
                        sequence += 1;
                        pending.insert(
                            (done + latency + extra, sequence),
                            (from_client, packet.clone()),
                        );
                    }
                }
            }
        }
        let now = wall_ns();
        while let Some(entry) = pending.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let (to_server, packet) = entry.remove();
            let dev = if to_server {
                &server_side
            } else {
                &client_side
            };
            // A full device queue drops the packet, as a full link would.
            let _ = dev.send(&packet);
            idle = false;
        }
        if idle {
            let next = pending.first_key_value().map(|(k, _)| k.0);
            let wait = next.map_or(200_000, |due| due.saturating_sub(now).min(200_000));
            std::thread::sleep(Duration::from_nanos(wait.max(20_000)));
        }
    }
    Ok(capture)
}

#[cfg(test)]
mod tests {
    use super::parse;

    /// A 20-byte IPv4 header and a TCP header with `options` bytes of options.
    fn packet(flags: u8, payload: usize, options: usize) -> Vec<u8> {
        let tcp_len = 20 + options + payload;
        let total = 20 + tcp_len;
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[9] = 6;
        let t = &mut p[20..];
        t[0..2].copy_from_slice(&40000u16.to_be_bytes());
        t[2..4].copy_from_slice(&4433u16.to_be_bytes());
        t[4..8].copy_from_slice(&7u32.to_be_bytes());
        t[8..12].copy_from_slice(&9u32.to_be_bytes());
        t[12] = (((20 + options) / 4) as u8) << 4;
        t[13] = flags;
        t[14..16].copy_from_slice(&63u16.to_be_bytes());
        p
    }

    #[test]
    fn a_tcp_segment_with_timestamps_is_read_with_its_payload_length_net_of_options() {
        let p = parse(&packet(0x18, 1448, 12)).unwrap();
        assert_eq!((p.src, p.dst, p.seq, p.ack), (40000, 4433, 7, 9));
        assert_eq!((p.flags, p.window, p.payload_len), (0x18, 63, 1448));
    }

    #[test]
    fn anything_but_ipv4_tcp_is_skipped_and_truncated_packets_do_not_panic() {
        let mut udp = packet(0x02, 0, 0);
        udp[9] = 17;
        assert!(parse(&udp).is_none());
        let mut v6 = packet(0x02, 0, 0);
        v6[0] = 0x60;
        assert!(parse(&v6).is_none());
        let full = packet(0x10, 100, 0);
        for cut in 0..full.len() {
            let _ = parse(&full[..cut]);
        }
    }
}
