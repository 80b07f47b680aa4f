//! The record layer's guards, driven with real records: which plaintext records are still
//! taken once keys are in use (RFC 9846 5), where the skipping of early data rejected by a
//! HelloRetryRequest ends (4.3.10), the `read_tls` back-pressure bound
//! (`MAX_BUFFERED_PLAINTEXT`), and the per-connection early data limits
//! (SSL_set_max_early_data / SSL_set_recv_max_early_data).

#[path = "common/pair.rs"]
mod pair;
#[path = "common/scripted.rs"]
mod scripted;
#[path = "common/wire.rs"]
mod wire;

use pair::*;
use scripted::plaintext_record;
use std::sync::Arc;
use wire::{move_bytes, wire_records};
use zerortt_core::codec::Codec;
use zerortt_core::conn::config::{HelloRetryPolicy, ServerConfig, DEFAULT_RECV_MAX_EARLY_DATA};
use zerortt_core::conn::events::EarlyDataRejectReason;
use zerortt_core::conn::MAX_BUFFERED_PLAINTEXT;
use zerortt_core::identity::test_identity;
use zerortt_core::msgs::alert::Alert;
use zerortt_core::msgs::enums::{AlertDescription, AlertLevel, ContentType as Ct};
use zerortt_core::time::Timestamp;
use zerortt_core::{
    ConnError, Connection, EarlyDataStatus, Error, Event, PeerMisbehaved, ReadEarlyData,
};

const NOW: Timestamp = Timestamp::SIM_EPOCH;

fn plaintext_alert(level: AlertLevel, description: AlertDescription) -> Vec<u8> {
    plaintext_record(Ct::Alert, &Alert { level, description }.get_encoding())
}

fn refused_plaintext_alert() -> ConnError {
    ConnError::Fatal(Error::InappropriateMessage {
        expected: "a protected record",
        got: Ct::Alert,
    })
}

fn complete_pair(seed: u64) -> Pair {
    let mut pair = Pair::new(&client_config(), &server_config(16384), None, seed);
    pair.handshake();
    // The tickets that followed the server's Finished are processed: nothing is pending.
    pair.client.process_new_packets(pair.now).unwrap();
    assert_eq!(pair.client.buffered_tls(), 0);
    pair
}

// ----- plaintext alerts ----------------------------------------------------------------

#[test]
fn a_plaintext_fatal_alert_after_the_handshake_is_refused_as_unexpected_message_on_both_sides() {
    let mut pair = complete_pair(1);
    let forged = plaintext_alert(AlertLevel::Fatal, AlertDescription::HandshakeFailure);
    for conn in [&mut pair.client, &mut pair.server] {
        assert_eq!(conn.read_tls(&forged), forged.len());
        assert_eq!(
            conn.read(&mut [0u8; 16], NOW),
            Err(refused_plaintext_alert())
        );
        assert_eq!(
            conn.take_events()
                .iter()
                .filter(|e| matches!(e, Event::AlertReceived(_)))
                .count(),
            0,
            "the forged alert was not taken as the peer's"
        );
    }
}

#[test]
fn a_plaintext_close_notify_after_the_handshake_does_not_close_the_connection() {
    let mut pair = complete_pair(2);
    let forged = plaintext_alert(AlertLevel::Warning, AlertDescription::CloseNotify);
    assert_eq!(pair.client.read_tls(&forged), forged.len());
    // Taken as the peer's close_notify this would be Err(Closed).
    assert_eq!(
        pair.client.read(&mut [0u8; 16], NOW),
        Err(refused_plaintext_alert())
    );
}

#[test]
fn a_plaintext_alert_from_a_client_that_failed_before_it_had_handshake_keys_ends_the_server_handshake(
) {
    let (cc, sc) = (client_config(), server_config(16384));
    let mut client = Connection::client(cc, SERVER_NAME, None, rng(3));
    let mut server = Connection::server(sc, rng(4));
    assert_eq!(client.do_handshake(NOW), Err(ConnError::WantRead));
    move_bytes(&mut client, &mut server);
    assert_eq!(server.do_handshake(NOW), Err(ConnError::WantRead));
    // The server now reads under the handshake keys; the client gave up on its
    // ServerHello before deriving them, so its alert is in the clear (RFC 9846 5).
    let alert = plaintext_alert(AlertLevel::Fatal, AlertDescription::HandshakeFailure);
    assert_eq!(server.read_tls(&alert), alert.len());
    assert_eq!(
        server.do_handshake(NOW),
        Err(ConnError::Fatal(Error::AlertReceived(
            AlertDescription::HandshakeFailure
        )))
    );
}

#[test]
fn a_plaintext_alert_from_a_server_after_its_server_hello_ends_the_client_handshake() {
    let (cc, sc) = (client_config(), server_config(16384));
    let mut client = Connection::client(cc, SERVER_NAME, None, rng(5));
    let mut server = Connection::server(sc, rng(6));
    assert_eq!(client.do_handshake(NOW), Err(ConnError::WantRead));
    move_bytes(&mut client, &mut server);
    assert_eq!(server.do_handshake(NOW), Err(ConnError::WantRead));
    let mut flight = Vec::new();
    server.write_tls(&mut flight);
    let server_hello = wire_records(&flight).remove(0).get_encoding();
    let alert = plaintext_alert(AlertLevel::Fatal, AlertDescription::InternalError);
    for bytes in [&server_hello, &alert] {
        assert_eq!(client.read_tls(bytes), bytes.len());
    }
    assert_eq!(
        client.do_handshake(NOW),
        Err(ConnError::Fatal(Error::AlertReceived(
            AlertDescription::InternalError
        )))
    );
}

#[test]
fn a_plaintext_alert_while_the_server_reads_accepted_early_data_is_the_clients_alert() {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 7).pop().unwrap();
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 8);
    pair.client.write_early_data(b"early", NOW).unwrap();
    pair.client_to_server();
    let mut buf = [0u8; 64];
    assert_eq!(
        pair.server.read_early_data(&mut buf, NOW),
        Ok(ReadEarlyData::Success(5))
    );
    assert_eq!(pair.server.early_data_status(), EarlyDataStatus::Accepted);
    let alert = plaintext_alert(AlertLevel::Fatal, AlertDescription::BadCertificate);
    pair.deliver_to_server(&alert);
    assert_eq!(
        pair.server.read_early_data(&mut buf, NOW),
        Err(ConnError::Fatal(Error::AlertReceived(
            AlertDescription::BadCertificate
        )))
    );
}

// ----- skipping after a HelloRetryRequest --------------------------------------------

/// A server that always sends a HelloRetryRequest, sharing `sc`'s tickets.
fn hrr_server_config(sc: &Arc<ServerConfig>) -> Arc<ServerConfig> {
    let mut hrr = ServerConfig::new(test_identity::ed25519());
    hrr.hello_retry = HelloRetryPolicy::AlwaysWithCookie;
    hrr.session_cache = sc.session_cache.clone();
    hrr.set_max_early_data(16384);
    Arc::new(hrr)
}

#[test]
fn a_warning_alert_between_early_data_records_rejected_by_a_hello_retry_request_does_not_end_the_skipping(
) {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 9).pop().unwrap();
    let mut pair = Pair::new(&cc, &hrr_server_config(&sc), Some(ticket), 10);
    pair.client.write_early_data(b"one", NOW).unwrap();
    pair.client.write_early_data(b"two", NOW).unwrap();
    let records = wire_records(&pair.take_client_output());
    assert_eq!(
        records.iter().map(|r| r.typ).collect::<Vec<_>>(),
        [Ct::Handshake, Ct::ApplicationData, Ct::ApplicationData]
    );
    // ClientHello, early record, user_canceled (a warning: RFC 9846 6.1), early record.
    let user_canceled = plaintext_alert(AlertLevel::Warning, AlertDescription::UserCanceled);
    for bytes in [
        records[0].get_encoding(),
        records[1].get_encoding(),
        user_canceled,
        records[2].get_encoding(),
    ] {
        pair.deliver_to_server(&bytes);
    }
    let got = pair.server_read_all_early_data();
    assert!(got.is_empty());
    pair.handshake();
    let events = pair.server.take_events();
    let skipped = events
        .iter()
        .filter(|e| matches!(e, Event::EarlyDataSkipped { .. }))
        .count();
    assert_eq!(skipped, 2, "both early records were skipped");
    assert!(events.contains(&Event::AlertReceived(AlertDescription::UserCanceled)));
}

#[test]
fn skipping_after_a_hello_retry_request_ends_at_the_second_client_hello_so_the_client_finished_is_read(
) {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 11).pop().unwrap();
    let mut pair = Pair::new(&cc, &hrr_server_config(&sc), Some(ticket), 12);
    pair.client.write_early_data(&[1; 100], NOW).unwrap();
    let got = pair.server_read_all_early_data();
    assert!(got.is_empty());
    pair.handshake();
    let events = pair.server.take_events();
    assert!(events.contains(&Event::EarlyDataRejected {
        reason: EarlyDataRejectReason::HelloRetryRequest
    }));
    let skipped = events
        .iter()
        .filter(|e| matches!(e, Event::EarlyDataSkipped { .. }))
        .count();
    assert_eq!(
        skipped, 1,
        "only the early record, not the client's Finished"
    );
    // Application data flows both ways after the handshake.
    pair.client.write(b"after", NOW).unwrap();
    pair.client_to_server();
    let mut buf = [0u8; 16];
    assert_eq!(pair.server.read(&mut buf, NOW), Ok(5));
}

// ----- back-pressure -------------------------------------------------------------------

/// Offers `wire` to the client until it has taken all of it, processing between offers.
fn feed_all(client: &mut Connection, mut wire: &[u8]) {
    for _ in 0..100 {
        if wire.is_empty() {
            return;
        }
        let n = client.read_tls(wire);
        wire = &wire[n..];
        client.process_new_packets(NOW).unwrap();
    }
    panic!("the client stopped taking bytes");
}

#[test]
fn read_tls_takes_bytes_while_at_most_64_kib_of_plaintext_wait_and_none_beyond() {
    // The documented bound: "64 KiB plus one record".
    assert_eq!(MAX_BUFFERED_PLAINTEXT, 64 * 1024);
    let mut pair = complete_pair(13);
    for _ in 0..4 {
        pair.server.write(&[7; 16384], NOW).unwrap();
    }
    let mut wire = Vec::new();
    pair.server.write_tls(&mut wire);
    feed_all(&mut pair.client, &wire);
    assert_eq!(pair.client.buffered_tls(), 0, "all of it decrypted");

    // Exactly MAX_BUFFERED_PLAINTEXT bytes wait: one more record is still taken and
    // decrypted.
    pair.server.write(&[8], NOW).unwrap();
    let mut one = Vec::new();
    pair.server.write_tls(&mut one);
    assert_eq!(pair.client.read_tls(&one), one.len());
    pair.client.process_new_packets(NOW).unwrap();
    assert_eq!(pair.client.buffered_tls(), 0, "decrypted at the bound");

    // One byte over the bound: nothing is taken until the application reads.
    pair.server.write(&[9], NOW).unwrap();
    let mut another = Vec::new();
    pair.server.write_tls(&mut another);
    assert_eq!(pair.client.read_tls(&another), 0);
    let mut buf = vec![0u8; MAX_BUFFERED_PLAINTEXT + 100];
    assert_eq!(
        pair.client.read(&mut buf, NOW),
        Ok(MAX_BUFFERED_PLAINTEXT + 1)
    );
    assert!(buf[..MAX_BUFFERED_PLAINTEXT].iter().all(|b| *b == 7));
    assert_eq!(buf[MAX_BUFFERED_PLAINTEXT], 8);
    assert_eq!(pair.client.read_tls(&another), another.len());
    assert_eq!(pair.client.read(&mut buf, NOW), Ok(1));
    assert_eq!(buf[0], 9);
}

#[test]
fn a_client_stops_decrypting_once_more_than_max_buffered_plaintext_bytes_wait() {
    let mut pair = complete_pair(14);
    for _ in 0..MAX_BUFFERED_PLAINTEXT / 16384 {
        pair.server.write(&[7; 16384], NOW).unwrap();
    }
    pair.server.write(&[8], NOW).unwrap();
    pair.server.write(&[9], NOW).unwrap();
    let mut wire = Vec::new();
    pair.server.write_tls(&mut wire);
    let last = wire_records(&wire).pop().unwrap().get_encoding();
    let (head, tail) = wire.split_at(wire.len() - last.len());
    feed_all(&mut pair.client, head);
    // MAX_BUFFERED_PLAINTEXT + 1 bytes wait: the next record stays encrypted.
    assert_eq!(pair.client.read_tls(tail), 0);
    let mut buf = vec![0u8; 2 * MAX_BUFFERED_PLAINTEXT];
    assert_eq!(
        pair.client.read(&mut buf, NOW),
        Ok(MAX_BUFFERED_PLAINTEXT + 1)
    );
    feed_all(&mut pair.client, tail);
    assert_eq!(pair.client.read(&mut buf, NOW), Ok(1));
    assert_eq!(buf[0], 9);
}

// ----- the per-connection early data limits ------------------------------------------

#[test]
fn a_server_connection_reports_the_early_data_limits_copied_from_its_config_and_those_set_on_it() {
    let sc = ServerConfig::new(test_identity::ed25519());
    sc.set_max_early_data(12_345);
    sc.set_recv_max_early_data(23_456);
    let mut server = Connection::server(Arc::new(sc), rng(15));
    assert_eq!(server.max_early_data(), 12_345);
    assert_eq!(server.recv_max_early_data(), 23_456);
    server.set_max_early_data(777);
    server.set_recv_max_early_data(888);
    assert_eq!(server.max_early_data(), 777);
    assert_eq!(server.recv_max_early_data(), 888);
}

#[test]
fn a_client_connection_reports_no_max_early_data_and_the_default_recv_max_early_data() {
    let client = Connection::client(client_config(), SERVER_NAME, None, rng(16));
    assert_eq!(client.max_early_data(), 0);
    assert_eq!(client.recv_max_early_data(), DEFAULT_RECV_MAX_EARLY_DATA);
    assert_eq!(DEFAULT_RECV_MAX_EARLY_DATA, 16_384);
}

#[test]
fn a_server_whose_max_early_data_was_set_to_zero_on_the_connection_rejects_early_data() {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 17).pop().unwrap();
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 18);
    pair.server.set_max_early_data(0);
    pair.client.write_early_data(b"early", NOW).unwrap();
    assert!(pair.server_read_all_early_data().is_empty());
    pair.handshake();
    assert!(pair
        .server
        .take_events()
        .contains(&Event::EarlyDataRejected {
            reason: EarlyDataRejectReason::ServerMaxEarlyDataZero
        }));
}

#[test]
fn a_server_whose_recv_max_early_data_was_lowered_on_the_connection_aborts_beyond_it() {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 19).pop().unwrap();
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 20);
    pair.server.set_recv_max_early_data(100);
    pair.client.write_early_data(&[1; 101], NOW).unwrap();
    pair.client_to_server();
    assert_eq!(
        pair.server.read_early_data(&mut [0u8; 256], NOW),
        Err(ConnError::Fatal(Error::PeerMisbehaved(
            PeerMisbehaved::TooMuchEarlyData
        )))
    );
}

#[test]
fn a_server_accepts_early_data_up_to_a_recv_max_early_data_raised_on_the_connection() {
    let (cc, sc) = (client_config(), server_config(16384));
    sc.set_recv_max_early_data(100);
    let ticket = tickets_from_full_handshake(&cc, &sc, 21).pop().unwrap();
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 22);
    pair.server.set_recv_max_early_data(5000);
    pair.client.write_early_data(&[1; 5000], NOW).unwrap();
    assert_eq!(pair.server_read_all_early_data(), vec![1; 5000]);
    assert!(pair
        .server
        .take_events()
        .contains(&Event::EarlyDataAccepted { limit: 5000 }));
}

#[test]
fn a_skipped_early_data_record_is_reported_with_its_wire_length_and_the_budget_it_used() {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 23).pop().unwrap();
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 24);
    pair.server.set_max_early_data(0);
    pair.client.write_early_data(&[1; 100], NOW).unwrap();
    pair.client.write_early_data(&[2; 50], NOW).unwrap();
    assert!(pair.server_read_all_early_data().is_empty());
    pair.handshake();
    let skipped: Vec<Event> = pair
        .server
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, Event::EarlyDataSkipped { .. }))
        .collect();
    // Each record: 5 header bytes, the data, its content type byte and a 16-byte tag; the
    // budget counts the largest plaintext the record could carry (its ciphertext - 17).
    assert_eq!(
        skipped,
        [
            Event::EarlyDataSkipped {
                len: 5 + 100 + 17,
                budget_used: 100
            },
            Event::EarlyDataSkipped {
                len: 5 + 50 + 17,
                budget_used: 150
            }
        ]
    );
}
