//! What a client learns when its early data is rejected, and what it then refuses:
//! SSL_write_early_data(3) is for data the server may still accept, so once the client
//! knows (EncryptedExtensions without early_data, or a HelloRetryRequest: RFC 9846
//! 4.3.10), more early data is refused and the rejection is reported once, with what the
//! client can infer of its reason.

#[path = "common/pair.rs"]
mod pair;

use pair::*;
use std::sync::Arc;
use zerortt_core::conn::config::{HelloRetryPolicy, ServerConfig};
use zerortt_core::conn::events::EarlyDataRejectReason;
use zerortt_core::identity::test_identity;
use zerortt_core::time::Timestamp;
use zerortt_core::{ApiMisuse, ConnError, EarlyDataStatus, Event, ReadEarlyData};

const NOW: Timestamp = Timestamp::SIM_EPOCH;

fn rejections(events: &[Event]) -> Vec<EarlyDataRejectReason> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::EarlyDataRejected { reason } => Some(*reason),
            _ => None,
        })
        .collect()
}

/// The client wrote early data; the server (rejecting it) answered; the client read the
/// answer with an interleaved read, still in its early data phase.
fn after_the_servers_answer(pair: &mut Pair) {
    pair.client.write_early_data(b"early", NOW).unwrap();
    pair.client_to_server();
    let mut buf = [0u8; 16];
    assert_eq!(
        pair.server.read_early_data(&mut buf, NOW),
        Ok(ReadEarlyData::Finish)
    );
    pair.server_to_client();
    assert_eq!(pair.client.read(&mut buf, NOW), Err(ConnError::WantRead));
}

#[test]
fn a_client_told_by_encrypted_extensions_that_its_early_data_was_declined_refuses_more_of_it() {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 1).pop().unwrap();
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    pair.server.set_max_early_data(0);
    after_the_servers_answer(&mut pair);
    assert_eq!(pair.client.early_data_status(), EarlyDataStatus::Rejected);
    assert_eq!(
        rejections(&pair.client.take_events()),
        [EarlyDataRejectReason::ServerDeclined],
        "the session resumed, so the server declined"
    );
    assert_eq!(
        pair.client.write_early_data(b"more", NOW),
        Err(ConnError::Misuse(ApiMisuse::EarlyDataRejected))
    );
    assert!(!pair.client.wants_write(), "nothing of it was sent");
    pair.handshake();
}

#[test]
fn a_client_whose_ticket_was_not_accepted_reports_its_early_data_rejected_for_want_of_a_psk() {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 3).pop().unwrap();
    // Another server, which never issued the ticket: full handshake.
    let mut pair = Pair::new(&cc, &server_config(16384), Some(ticket), 4);
    after_the_servers_answer(&mut pair);
    assert_eq!(
        rejections(&pair.client.take_events()),
        [EarlyDataRejectReason::NoPskAccepted]
    );
}

#[test]
fn a_client_answering_a_hello_retry_request_reports_its_early_data_rejected_once() {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 5).pop().unwrap();
    let mut hrr = ServerConfig::new(test_identity::ed25519());
    hrr.hello_retry = HelloRetryPolicy::AlwaysWithCookie;
    hrr.session_cache = sc.session_cache.clone();
    hrr.set_max_early_data(16384);
    let mut pair = Pair::new(&cc, &Arc::new(hrr), Some(ticket), 6);
    pair.client.write_early_data(b"early", NOW).unwrap();
    assert!(pair.server_read_all_early_data().is_empty());
    pair.handshake();
    assert_eq!(
        rejections(&pair.client.take_events()),
        [EarlyDataRejectReason::HelloRetryRequest],
        "the EncryptedExtensions after ClientHello2 adds no second rejection"
    );
    assert_eq!(pair.client.early_data_status(), EarlyDataStatus::Rejected);
}
