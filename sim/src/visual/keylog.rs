//! The TLS secrets of a run, as NSS key log lines (`SSLKEYLOGFILE`, what Wireshark
//! reads), gathered from every connection's `SecretDerived` events.

use crate::world::World;
use std::collections::BTreeSet;
use zerortt_core::crypto::keylog::KeyLogEntry;
use zerortt_core::Event;

/// Every secret of the run, once per (label, ClientHello.random): connections in
/// creation order, client before server. Wireshark looks secrets up by label and
/// ClientHello.random alone, so a replayed ClientHello (same random) can only carry the
/// victim's secrets; the early secret is the same for both (same PSK, same ClientHello),
/// so the replayed early data still decrypts, and the replay's own handshake does not.
pub fn secrets(world: &World) -> Vec<KeyLogEntry> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for conn in &world.connections {
        let c = conn.borrow();
        for (_, _, e) in c.client_events.iter().chain(c.server_events.iter()) {
            if let Event::SecretDerived(entry) = e {
                if seen.insert((entry.label, entry.client_random)) {
                    out.push(entry.clone());
                }
            }
        }
    }
    out
}

/// The NSS key log file: one line per secret, each ending in a newline.
pub fn nss_text(entries: &[KeyLogEntry]) -> String {
    let mut out = String::new();
    for e in entries {
        out.push_str(&e.to_string());
        out.push('\n');
    }
    out
}
