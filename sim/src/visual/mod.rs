//! Reports a person can look at: a pcapng file with the TLS secrets inside
//! ([`pcap`]), the NSS key log ([`keylog`]), ladder diagrams ([`svg`]) and the
//! self-contained HTML explore report ([`html`]).
//!
//! Everything here reads a finished [`World`] run with [`World::run_captured`] (the
//! fabric then keeps every segment's payload); nothing feeds back into the run.

pub mod html;
pub mod keylog;
pub mod pcap;
pub mod svg;

use crate::net::NodeId;
use crate::world::{Role, World};

/// One TCP connection of a run, with the addresses the pcap gives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conn {
    /// Position in [`World::connections`].
    pub index: usize,
    /// Its role.
    pub role: Role,
    /// Its stable name (`warmup`, `0rtt`, `replay0`, `retry`).
    pub name: String,
    /// The server it talks to.
    pub server: usize,
    /// The opener's node (client or attacker).
    pub opener: NodeId,
    /// The server's node.
    pub server_node: NodeId,
    /// The opener's IPv4 address: the client is 10.0.0.1, the attacker 10.0.0.66.
    pub opener_addr: [u8; 4],
    /// The server's IPv4 address: server k is 10.0.1.(k+1).
    pub server_addr: [u8; 4],
    /// The opener's port: 49152 + index, so every connection is its own TCP stream.
    pub opener_port: u16,
    /// The server's port: 443, so Wireshark dissects TLS without being told.
    pub server_port: u16,
}

impl Conn {
    /// Whether the attacker opened it.
    pub fn is_replay(&self) -> bool {
        matches!(self.role, Role::Replay(_))
    }
}

/// The run's TCP connections, in creation order (only those that got nodes).
pub fn connections(world: &World) -> Vec<Conn> {
    let mut out = Vec::new();
    for (index, c) in world.connections.iter().enumerate() {
        let c = c.borrow();
        let Some((opener, server_node)) = c.nodes else {
            continue;
        };
        let attacker = matches!(c.role, Role::Replay(_));
        out.push(Conn {
            index,
            role: c.role,
            name: c.name.clone(),
            server: c.server,
            opener,
            server_node,
            opener_addr: if attacker {
                [10, 0, 0, 66]
            } else {
                [10, 0, 0, 1]
            },
            server_addr: [10, 0, 1, (c.server as u8).wrapping_add(1)],
            opener_port: 49152u16.wrapping_add(index as u16),
            server_port: 443,
        });
    }
    out
}

/// `s` as XML/HTML text or attribute value: the four characters that end either escaped.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
