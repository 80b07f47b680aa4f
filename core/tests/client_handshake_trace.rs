//! What a real client reports and keeps as its handshake runs: the states it enters (the
//! `StateEntered` events a trace is built from) and which NewSessionTickets it keeps.

#[path = "common/pair.rs"]
mod pair;

use pair::*;
use std::sync::Arc;
use std::time::Duration;
use zerortt_core::conn::config::{HelloRetryPolicy, ServerConfig};
use zerortt_core::identity::test_identity;
use zerortt_core::time::Timestamp;
use zerortt_core::{ConnError, Event, ReadEarlyData};

const NOW: Timestamp = Timestamp::SIM_EPOCH;

fn states(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::StateEntered(name) => Some(*name),
            _ => None,
        })
        .collect()
}

/// `states`, with a state repeated right after itself counted once.
fn distinct_states(events: &[Event]) -> Vec<&'static str> {
    let mut out = states(events);
    out.dedup();
    out
}

#[test]
fn a_client_reports_the_states_of_a_full_handshake_in_order_by_name() {
    let mut pair = Pair::new(&client_config(), &server_config(16384), None, 1);
    pair.handshake();
    assert_eq!(
        distinct_states(&pair.client.take_events()),
        [
            "ExpectServerHello",
            "ExpectEncryptedExtensions",
            "ExpectCertificate",
            "ExpectCertificateVerify",
            "ExpectFinished",
            "ExpectTraffic"
        ]
    );
}

#[test]
fn a_client_reports_each_state_it_enters_once() {
    let mut pair = Pair::new(&client_config(), &server_config(16384), None, 1);
    pair.handshake();
    let events = pair.client.take_events();
    assert_eq!(states(&events), distinct_states(&events));
}

#[test]
fn a_resuming_client_still_in_its_early_data_phase_waits_for_the_application_before_finished() {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 2).pop().unwrap();
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 3);
    pair.client.write_early_data(b"early", NOW).unwrap();
    pair.client_to_server();
    let mut buf = [0u8; 16];
    assert_eq!(
        pair.server.read_early_data(&mut buf, NOW),
        Ok(ReadEarlyData::Success(5))
    );
    pair.server_to_client();
    // An interleaved read keeps the client in its early data phase (the man page).
    assert_eq!(pair.client.read(&mut buf, NOW), Err(ConnError::WantRead));
    assert_eq!(
        distinct_states(&pair.client.take_events()),
        [
            "ExpectServerHello",
            "ExpectEncryptedExtensions",
            "ExpectFinished",
            "ExpectApplicationToFinish"
        ]
    );
    assert_eq!(pair.client.do_handshake(NOW), Ok(()));
    assert_eq!(
        distinct_states(&pair.client.take_events()),
        ["ExpectTraffic"]
    );
}

#[test]
fn a_client_answering_a_hello_retry_request_stays_in_expect_server_hello() {
    let mut sc = ServerConfig::new(test_identity::ed25519());
    sc.hello_retry = HelloRetryPolicy::AlwaysWithCookie;
    let mut pair = Pair::new(&client_config(), &Arc::new(sc), None, 4);
    pair.handshake();
    let events = pair.client.take_events();
    assert!(events.contains(&Event::HelloRetryRequest));
    assert_eq!(
        states(&events)[..2],
        ["ExpectServerHello", "ExpectEncryptedExtensions"]
    );
}

#[test]
fn a_ticket_with_a_lifetime_of_zero_is_discarded_by_the_client() {
    // RFC 9846 4.7.1: "The value of zero indicates that the ticket should be discarded
    // immediately."
    let mut sc = ServerConfig::new(test_identity::ed25519());
    sc.set_max_early_data(16384);
    sc.ticket_lifetime = Duration::ZERO;
    let tickets = tickets_from_full_handshake(&client_config(), &Arc::new(sc), 5);
    assert!(tickets.is_empty());
}

#[test]
fn a_ticket_with_a_lifetime_of_one_second_is_kept_with_what_the_client_negotiated() {
    let mut sc = ServerConfig::new(test_identity::ed25519());
    sc.set_max_early_data(1000);
    sc.ticket_lifetime = Duration::from_secs(1);
    let tickets = tickets_from_full_handshake(&client_config(), &Arc::new(sc), 6);
    assert_eq!(tickets.len(), 2);
    for t in &tickets {
        assert_eq!(t.max_early_data(), 1000);
        assert_eq!(t.server_name.as_deref(), Some(SERVER_NAME));
        assert!(!t.is_expired(NOW.saturating_add(Duration::from_secs(1))));
        assert!(t.is_expired(NOW.saturating_add(Duration::from_millis(1001))));
    }
}
