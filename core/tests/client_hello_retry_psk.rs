//! Whether a client offers its ticket again in the ClientHello that answers a
//! HelloRetryRequest. RFC 9846 4.1.4: the cipher suite of the HelloRetryRequest is the
//! one the server will use, and a PSK can only be used with a suite of its own hash
//! (4.3.11): so the ticket is offered again only when the hashes match.

#[path = "common/pair.rs"]
mod pair;

use pair::*;
use std::sync::Arc;
use zerortt_core::conn::config::{HelloRetryPolicy, ServerConfig};
use zerortt_core::crypto::suites::{ALL_CIPHER_SUITES, TLS13_AES_256_GCM_SHA384};
use zerortt_core::identity::test_identity;
use zerortt_core::time::Timestamp;
use zerortt_core::Event;

const NOW: Timestamp = Timestamp::SIM_EPOCH;

/// A server that always retries, sharing `sc`'s session cache, preferring `first`.
fn retrying(
    sc: &Arc<ServerConfig>,
    first: Option<&'static zerortt_core::crypto::suites::Tls13CipherSuite>,
) -> Arc<ServerConfig> {
    let mut hrr = ServerConfig::new(test_identity::ed25519());
    hrr.hello_retry = HelloRetryPolicy::AlwaysWithCookie;
    hrr.session_cache = sc.session_cache.clone();
    hrr.set_max_early_data(16384);
    if let Some(first) = first {
        let mut suites = vec![first];
        suites.extend(
            ALL_CIPHER_SUITES
                .iter()
                .copied()
                .filter(|s| s.suite != first.suite),
        );
        hrr.cipher_suites = suites;
    }
    Arc::new(hrr)
}

fn resumed(events: &[Event]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, Event::HandshakeComplete { resumed: true, .. }))
}

#[test]
fn after_a_hello_retry_request_in_a_suite_of_the_sessions_hash_the_client_offers_its_ticket_again_and_resumes(
) {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 1).pop().unwrap();
    let mut pair = Pair::new(&cc, &retrying(&sc, None), Some(ticket), 2);
    pair.handshake();
    let events = pair.server.take_events();
    assert!(events.contains(&Event::HelloRetryRequest));
    assert!(resumed(&events));
}

#[test]
fn after_a_hello_retry_request_in_a_suite_of_another_hash_the_client_keeps_its_ticket_for_later() {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 3).pop().unwrap();
    assert_ne!(
        ticket.suite, TLS13_AES_256_GCM_SHA384.suite,
        "a SHA-256 session"
    );
    let id = ticket.ticket.clone();
    let mut pair = Pair::new(
        &cc,
        &retrying(&sc, Some(&TLS13_AES_256_GCM_SHA384)),
        Some(ticket.clone()),
        4,
    );
    pair.handshake();
    let events = pair.server.take_events();
    assert!(events.contains(&Event::HelloRetryRequest));
    assert!(!resumed(&events));
    // No PSK was offered in ClientHello2: the server looked nothing up, so the single-use
    // ticket is still in its cache...
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::PskRejected { .. } | Event::TicketConsumed { .. })));
    assert!(sc.session_cache.lock().unwrap().contains(&id, NOW));
    // ...and resumes with the server that issued it.
    let mut again = Pair::new(&cc, &sc, Some(ticket), 5);
    again.handshake();
    assert!(resumed(&again.server.take_events()));
}
