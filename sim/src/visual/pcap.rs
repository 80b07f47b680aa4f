//! A run as a pcapng file: every segment of every connection as an Ethernet/IPv4/TCP
//! packet with the model's real sequence and acknowledgement numbers, flags and window,
//! timestamped in virtual nanoseconds (on the TLS layer's clock, from 2026-01-01), and the
//! run's TLS secrets in a Decryption Secrets Block so Wireshark decrypts it with no extra
//! file.
//!
//! The writer is hand-written (about a hundred lines of fixed block layouts): the
//! pcap-file crate (2.x, 3.0 release candidates) has no Decryption Secrets Block type,
//! and carrying one as its raw unknown block would bring a proc-macro dependency for
//! four block layouts. The format is pcapng (draft-ietf-opsawg-pcapng), checked by
//! tshark in `sim/tests/pcap_tshark.rs`.
//!
//! Vantage point: the opener's host (the client, or the attacker for a replay), as a
//! capture on the client machine sees it. Its segments appear when they leave, lost
//! ones included (with a comment saying so); the server's appear when they arrive, and
//! those lost on the way never appear. Wireshark's RTT and retransmission analysis then
//! reads as it would on a real client.

use super::{connections, keylog, Conn};
use crate::net::{NodeId, Segment, SimTime};
use crate::world::World;

/// pcapng block types (draft-ietf-opsawg-pcapng 4.1, 4.2, 4.3, 4.7).
const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const DSB: u32 = 0x0000_000A;
/// Secrets type of a TLS key log in a Decryption Secrets Block ("TLSK").
const SECRETS_TLS_KEY_LOG: u32 = 0x544c_534b;
/// LINKTYPE_ETHERNET.
const LINKTYPE_ETHERNET: u16 = 1;
/// Largest segment the model could emit, with headers: no truncation.
const SNAPLEN: u32 = 262_144;

/// One packet of the capture.
struct Packet {
    time: SimTime,
    /// Send order, to keep equal times stable.
    order: usize,
    frame: Vec<u8>,
    outbound: bool,
    comment: Option<String>,
}

/// The pcapng bytes of a run made with [`World::run_captured`] (a run without capture
/// gives a file with the secrets and no packets).
pub fn pcapng(world: &World) -> Vec<u8> {
    let conns = connections(world);
    let by_node = |node: NodeId| {
        conns
            .iter()
            .find(|c| c.opener == node || c.server_node == node)
    };
    let end = world.fabric.now();
    let shifts = window_shifts(world, &conns);
    let mut ip_id = vec![0u16; conns.len() * 2];
    let mut packets = Vec::new();
    let mut seen = vec![false; conns.len()];
    for (order, cs) in world.fabric.captured().iter().enumerate() {
        let Some(conn) = by_node(cs.from) else {
            continue;
        };
        let pos = conns.iter().position(|c| c == conn).unwrap_or(0);
        let from_opener = cs.from == conn.opener;
        let side = pos * 2 + usize::from(!from_opener);
        let id = ip_id.get_mut(side).map_or(0, |v| {
            *v = v.wrapping_add(1);
            *v
        });
        let shift = shifts.get(side).copied().unwrap_or(0);
        let frame = frame(conn, from_opener, &cs.segment, id, shift);
        if from_opener {
            let lost = cs
                .fate
                .err()
                .map(|why| format!("lost on the link ({})", why.as_str()));
            // The first SYN of each connection names it, as the simulator's trace does.
            let named =
                (cs.segment.flags.syn && !std::mem::replace(&mut seen[pos], true)).then(|| {
                    let who = if conn.is_replay() {
                        "attacker"
                    } else {
                        "client"
                    };
                    format!(
                        "zerortt connection {}: {who} to server{}",
                        conn.name, conn.server
                    )
                });
            let comment = match (named, lost) {
                (Some(a), Some(b)) => Some(format!("{a}; {b}")),
                (a, b) => a.or(b),
            };
            packets.push(Packet {
                time: cs.time,
                order,
                frame,
                outbound: true,
                comment,
            });
        } else if let Ok((arrival, duplicate)) = cs.fate {
            for (at, comment) in [
                (Some(arrival), None),
                (duplicate, Some("duplicated by the link")),
            ] {
                if let Some(at) = at.filter(|t| *t <= end) {
                    packets.push(Packet {
                        time: at,
                        order,
                        frame: frame.clone(),
                        outbound: false,
                        comment: comment.map(str::to_owned),
                    });
                }
            }
        }
    }
    packets.sort_by_key(|p| (p.time, p.order));
    let mut out = Vec::new();
    section_header(&mut out);
    interface(&mut out);
    let secrets = keylog::nss_text(&keylog::secrets(world));
    if !secrets.is_empty() {
        decryption_secrets(&mut out, secrets.as_bytes());
    }
    for p in &packets {
        enhanced_packet(&mut out, p);
    }
    out
}

/// Per (connection, side) the window scale shift that fits its largest window in 16
/// bits (RFC 7323 2.2), announced on its SYN.
fn window_shifts(world: &World, conns: &[Conn]) -> Vec<u8> {
    let mut max = vec![0u32; conns.len() * 2];
    for cs in world.fabric.captured() {
        if let Some(pos) = conns
            .iter()
            .position(|c| c.opener == cs.from || c.server_node == cs.from)
        {
            let side = pos * 2 + usize::from(conns[pos].opener != cs.from);
            if let Some(m) = max.get_mut(side) {
                *m = (*m).max(cs.segment.window);
            }
        }
    }
    max.iter()
        .map(|&m| {
            let mut s = 0u8;
            // RFC 7323 2.3: the shift is at most 14.
            while s < 14 && (m >> s) > 0xffff {
                s += 1;
            }
            s
        })
        .collect()
}

fn mac(addr: [u8; 4]) -> [u8; 6] {
    [0x02, 0x00, addr[0], addr[1], addr[2], addr[3]]
}

/// One's-complement sum folded to 16 bits (RFC 1071).
fn checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum = 0u32;
    for chunk in chunks {
        let mut it = chunk.chunks(2);
        for pair in &mut it {
            let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
            sum += u32::from(word);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet + IPv4 + TCP around `seg`.
fn frame(conn: &Conn, from_opener: bool, seg: &Segment, ip_id: u16, shift: u8) -> Vec<u8> {
    let (src, dst, sport, dport) = if from_opener {
        (
            conn.opener_addr,
            conn.server_addr,
            conn.opener_port,
            conn.server_port,
        )
    } else {
        (
            conn.server_addr,
            conn.opener_addr,
            conn.server_port,
            conn.opener_port,
        )
    };
    // Options on SYNs only: MSS, NOP, window scale (RFC 9293 3.2, RFC 7323 2.2).
    let mut options = Vec::new();
    if seg.flags.syn {
        if let Some(mss) = seg.mss {
            options.extend_from_slice(&[2, 4]);
            options.extend_from_slice(&mss.to_be_bytes());
        }
        options.extend_from_slice(&[1, 3, 3, shift]);
    }
    // A SYN's window is never scaled (RFC 7323 2.2).
    let window = if seg.flags.syn {
        seg.window.min(0xffff)
    } else {
        (seg.window >> shift).min(0xffff)
    } as u16;
    let flags = u8::from(seg.flags.fin)
        | u8::from(seg.flags.syn) << 1
        | u8::from(seg.flags.rst) << 2
        | u8::from(seg.flags.psh) << 3
        | u8::from(seg.flags.ack) << 4;
    let mut tcp = Vec::with_capacity(20 + options.len() + seg.payload.len());
    tcp.extend_from_slice(&sport.to_be_bytes());
    tcp.extend_from_slice(&dport.to_be_bytes());
    tcp.extend_from_slice(&seg.seq.to_be_bytes());
    let ack = if seg.flags.ack { seg.ack } else { 0 };
    tcp.extend_from_slice(&ack.to_be_bytes());
    tcp.push((((20 + options.len()) / 4) as u8) << 4);
    tcp.push(flags);
    tcp.extend_from_slice(&window.to_be_bytes());
    tcp.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    tcp.extend_from_slice(&options);
    tcp.extend_from_slice(&seg.payload);
    // The model's MSS keeps a segment far below IPv4's 64 KiB; saturate rather than wrap.
    let tcp_len = u16::try_from(tcp.len()).unwrap_or(u16::MAX);
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&tcp_len.to_be_bytes());
    let sum = checksum(&[&pseudo, &tcp]);
    tcp[16..18].copy_from_slice(&sum.to_be_bytes());

    let mut ip = Vec::with_capacity(20);
    ip.extend_from_slice(&[0x45, 0]);
    ip.extend_from_slice(&tcp_len.saturating_add(20).to_be_bytes());
    ip.extend_from_slice(&ip_id.to_be_bytes());
    ip.extend_from_slice(&0x4000u16.to_be_bytes()); // don't fragment
    ip.extend_from_slice(&[64, 6, 0, 0]); // TTL, TCP, checksum
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let sum = checksum(&[&ip]);
    ip[10..12].copy_from_slice(&sum.to_be_bytes());

    let mut out = Vec::with_capacity(14 + ip.len() + tcp.len());
    out.extend_from_slice(&mac(dst));
    out.extend_from_slice(&mac(src));
    out.extend_from_slice(&0x0800u16.to_be_bytes());
    out.extend_from_slice(&ip);
    out.extend_from_slice(&tcp);
    out
}

/// Appends a block: type, total length, body padded to 32 bits, total length again.
fn block(out: &mut Vec<u8>, typ: u32, body: &[u8]) {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    out.extend_from_slice(&typ.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(out.len() + padded - body.len(), 0);
    out.extend_from_slice(&total.to_le_bytes());
}

/// Appends one option (code, length, value padded to 32 bits).
fn option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    out.extend_from_slice(&code.to_le_bytes());
    out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + value.len().div_ceil(4) * 4 - value.len(), 0);
}

fn end_of_options(out: &mut Vec<u8>) {
    out.extend_from_slice(&[0, 0, 0, 0]);
}

fn section_header(out: &mut Vec<u8>) {
    let mut body = Vec::new();
    body.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes()); // byte-order magic
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&u64::MAX.to_le_bytes()); // section length not given
    option(&mut body, 4, b"zerortt (deterministic simulation)"); // shb_userappl
    end_of_options(&mut body);
    block(out, SHB, &body);
}

fn interface(out: &mut Vec<u8>) {
    let mut body = Vec::new();
    body.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&SNAPLEN.to_le_bytes());
    option(&mut body, 2, b"sim0"); // if_name
    option(&mut body, 3, b"simulated link, virtual time"); // if_description
    option(&mut body, 9, &[9]); // if_tsresol: 10^-9 s, the simulator's nanoseconds
    end_of_options(&mut body);
    block(out, IDB, &body);
}

fn decryption_secrets(out: &mut Vec<u8>, secrets: &[u8]) {
    let mut body = Vec::new();
    body.extend_from_slice(&SECRETS_TLS_KEY_LOG.to_le_bytes());
    body.extend_from_slice(&(secrets.len() as u32).to_le_bytes());
    body.extend_from_slice(secrets);
    block(out, DSB, &body);
}

fn enhanced_packet(out: &mut Vec<u8>, p: &Packet) {
    // The TLS layer's clock (virtual time from 2026-01-01, Timestamp::SIM_EPOCH), so packet
    // times and ticket ages or certificate validity tell one story.
    let ts = crate::world::timestamp(p.time).as_nanos();
    let mut body = Vec::new();
    body.extend_from_slice(&0u32.to_le_bytes()); // interface 0
    body.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ts as u32).to_le_bytes());
    body.extend_from_slice(&(p.frame.len() as u32).to_le_bytes());
    body.extend_from_slice(&(p.frame.len() as u32).to_le_bytes());
    body.extend_from_slice(&p.frame);
    body.resize(body.len().div_ceil(4) * 4, 0);
    // epb_flags: direction inbound (1) or outbound (2) in bits 0-1.
    let direction: u32 = if p.outbound { 2 } else { 1 };
    option(&mut body, 2, &direction.to_le_bytes());
    if let Some(c) = &p.comment {
        option(&mut body, 1, c.as_bytes()); // opt_comment
    }
    end_of_options(&mut body);
    block(out, EPB, &body);
}

#[cfg(test)]
mod tests {
    use super::checksum;

    #[test]
    fn checksum_of_the_rfc_1071_example_is_the_complement_of_its_sum() {
        // RFC 1071 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(checksum(&[&data]), !0xddf2);
    }
}
