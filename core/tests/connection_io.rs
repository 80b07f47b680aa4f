//! The byte-moving half of the `Connection` API (module docs, "Call order"): `read_tls`,
//! `buffered_tls`, `write_tls`, `wants_write`, `process_new_packets`, driven with real
//! records from a real peer.

#[path = "common/pair.rs"]
mod pair;
#[path = "common/scripted.rs"]
mod scripted;
#[path = "common/wire.rs"]
mod wire;

use pair::*;
use wire::{move_bytes, wire_records};
use zerortt_core::codec::Codec;
use zerortt_core::conn::events::EarlyDataRejectReason;
use zerortt_core::msgs::enums::HandshakeType;
use zerortt_core::time::Timestamp;
use zerortt_core::{ConnError, EarlyDataStatus, Event, ReadEarlyData};

const NOW: Timestamp = Timestamp::SIM_EPOCH;

#[test]
fn buffered_tls_counts_the_bytes_of_a_record_not_yet_complete() {
    let mut pair = Pair::new(&client_config(), &server_config(16384), None, 1);
    pair.handshake();
    pair.client.process_new_packets(NOW).unwrap();
    pair.server.write(b"hello", NOW).unwrap();
    let mut wire = Vec::new();
    pair.server.write_tls(&mut wire);
    assert_eq!(pair.client.buffered_tls(), 0);
    assert_eq!(pair.client.read_tls(&wire[..7]), 7);
    pair.client.process_new_packets(NOW).unwrap();
    assert_eq!(pair.client.buffered_tls(), 7, "half a record waits");
    assert_eq!(pair.client.read_tls(&wire[7..]), wire.len() - 7);
    assert_eq!(
        pair.client.buffered_tls(),
        wire.len(),
        "taken, not yet processed"
    );
    let mut buf = [0u8; 16];
    assert_eq!(pair.client.read(&mut buf, NOW), Ok(5));
    assert_eq!(pair.client.buffered_tls(), 0);
}

#[test]
fn process_new_packets_on_a_server_before_its_first_io_call_leaves_the_client_hello_for_read_early_data(
) {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 2).pop().unwrap();
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 3);
    pair.client.write_early_data(b"early", NOW).unwrap();
    pair.client_to_server();
    let buffered = pair.server.buffered_tls();
    assert!(buffered > 0);
    // The man page: the first I/O call decides whether early data can be accepted, so
    // nothing may be processed before it.
    assert_eq!(pair.server.process_new_packets(NOW), Ok(()));
    assert_eq!(pair.server.buffered_tls(), buffered);
    assert!(!pair.server.wants_write());
    assert!(pair.server.take_events().is_empty());
    let mut buf = [0u8; 16];
    assert_eq!(
        pair.server.read_early_data(&mut buf, NOW),
        Ok(ReadEarlyData::Success(5))
    );
    assert_eq!(pair.server.early_data_status(), EarlyDataStatus::Accepted);
}

#[test]
fn process_new_packets_on_a_server_after_its_first_io_call_processes_what_arrived() {
    let (cc, sc) = (client_config(), server_config(16384));
    let mut pair = Pair::new(&cc, &sc, None, 4);
    assert_eq!(
        pair.server.do_handshake(NOW),
        Err(ConnError::WantRead),
        "the first I/O call, before anything arrived"
    );
    assert_eq!(pair.client.do_handshake(NOW), Err(ConnError::WantRead));
    pair.client_to_server();
    assert_eq!(pair.server.process_new_packets(NOW), Ok(()));
    assert_eq!(pair.server.buffered_tls(), 0);
    assert!(pair.server.wants_write(), "the server's flight is ready");
}

#[test]
fn a_server_that_skipped_read_early_data_rejects_the_early_data_of_a_client_hello_processed_then() {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 6).pop().unwrap();
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 7);
    pair.client.write_early_data(b"early", NOW).unwrap();
    pair.client_to_server();
    assert_eq!(pair.server.do_handshake(NOW), Err(ConnError::WantRead));
    assert!(pair
        .server
        .take_events()
        .contains(&Event::EarlyDataRejected {
            reason: EarlyDataRejectReason::NotReadingEarlyData
        }));
}

#[test]
fn record_received_events_give_each_records_length_on_the_wire_header_included() {
    let mut pair = Pair::new(&client_config(), &server_config(16384), None, 8);
    pair.handshake();
    pair.client.process_new_packets(NOW).unwrap();
    pair.client.take_events();
    pair.server.write(&[3; 1000], NOW).unwrap();
    let wire = move_bytes(&mut pair.server, &mut pair.client);
    let record = wire_records(&wire).pop().unwrap();
    assert_eq!(record.get_encoding().len(), 1000 + 17 + 5);
    assert_eq!(pair.client.read(&mut [0u8; 2000], NOW), Ok(1000));
    let lens: Vec<usize> = pair
        .client
        .take_events()
        .iter()
        .filter_map(|e| match e {
            Event::RecordReceived { len, .. } => Some(*len),
            _ => None,
        })
        .collect();
    assert_eq!(lens, [wire.len()]);
}

#[test]
fn a_client_that_wrote_early_data_sends_end_of_early_data_and_finished_from_write_and_then_writes()
{
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 9).pop().unwrap();
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 10);
    pair.client.write_early_data(b"early", NOW).unwrap();
    pair.client_to_server();
    let mut buf = [0u8; 16];
    assert_eq!(
        pair.server.read_early_data(&mut buf, NOW),
        Ok(ReadEarlyData::Success(5))
    );
    pair.server_to_client();
    // No do_handshake: SSL_write_ex completes the handshake transparently.
    assert_eq!(pair.client.write(b"normal", NOW), Ok(6));
    assert!(pair.client.is_init_finished());
    let sent: Vec<HandshakeType> = pair
        .client
        .take_events()
        .iter()
        .filter_map(|e| match e {
            Event::HandshakeSent(t) => Some(*t),
            _ => None,
        })
        .collect();
    assert_eq!(
        sent,
        [
            HandshakeType::ClientHello,
            HandshakeType::EndOfEarlyData,
            HandshakeType::Finished
        ]
    );
    pair.client_to_server();
    assert_eq!(
        pair.server.read_early_data(&mut buf, NOW),
        Ok(ReadEarlyData::Finish)
    );
    assert_eq!(pair.server.read(&mut buf, NOW), Ok(6));
    assert_eq!(&buf[..6], b"normal");
}
