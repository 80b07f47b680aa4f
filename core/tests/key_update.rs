//! KeyUpdate after the handshake (RFC 9846 4.7.3), with real records: a KeyUpdate injected
//! as the client would send it (under the client's logged application secret), and the
//! server's answer read by the real client.
//!
//! "Upon receiving a KeyUpdate, the receiver MUST update its receiving keys." "If the
//! request_update field is set to "update_requested", then the receiver MUST send a
//! KeyUpdate of its own with request_update set to "update_not_requested" prior to
//! sending its next Application Data record."

#[path = "common/pair.rs"]
mod pair;
#[path = "common/scripted.rs"]
mod scripted;
#[path = "common/wire.rs"]
mod wire;

use pair::*;
use scripted::{encrypter_at, handshake_bytes, logged_secret};
use wire::{completed_suite, move_bytes, wire_records};
use zerortt_core::crypto::key_schedule::next_application_traffic_secret;
use zerortt_core::crypto::keylog::KeyLogLabel;
use zerortt_core::msgs::enums::{ContentType, HandshakeType, KeyUpdateRequest};
use zerortt_core::msgs::handshake::HandshakePayload;
use zerortt_core::time::Timestamp;
use zerortt_core::{ConnError, Error, Event};

const NOW: Timestamp = Timestamp::SIM_EPOCH;

/// A completed pair, the client's tickets processed, and every server event so far.
fn complete(seed: u64) -> (Pair, Vec<Event>) {
    let mut pair = Pair::new(&client_config(), &server_config(16384), None, seed);
    pair.handshake();
    pair.client.process_new_packets(NOW).unwrap();
    let events = pair.server.take_events();
    (pair, events)
}

#[test]
fn a_server_asked_to_update_switches_its_read_keys_and_answers_with_its_own_key_update() {
    let (mut pair, mut server_events) = complete(1);
    let client_events = pair.client.take_events();
    let suite = completed_suite(&server_events);
    let client_app = logged_secret(&client_events, KeyLogLabel::ClientTrafficSecret0).unwrap();
    // The client has sent nothing under its application keys yet: sequence number 0.
    let mut old = encrypter_at(suite, &client_app, 0);
    let ku = handshake_bytes(HandshakePayload::KeyUpdate(
        KeyUpdateRequest::UpdateRequested,
    ));
    pair.deliver_to_server(&old.encrypt(ContentType::Handshake, &ku, 0).unwrap());
    let next = next_application_traffic_secret(&client_app);
    let mut new = encrypter_at(suite, &next, 0);
    pair.deliver_to_server(
        &new.encrypt(ContentType::ApplicationData, b"after", 0)
            .unwrap(),
    );
    let mut buf = [0u8; 16];
    assert_eq!(
        pair.server.read(&mut buf, NOW),
        Ok(5),
        "read under the new keys"
    );
    assert_eq!(&buf[..5], b"after");

    // The server's answer: KeyUpdate(update_not_requested) under its old keys, then its
    // data under new ones, which the real client follows.
    pair.server.write(b"reply", NOW).unwrap();
    server_events.extend(pair.server.take_events());
    assert!(server_events.contains(&Event::HandshakeSent(HandshakeType::KeyUpdate)));
    let wire = move_bytes(&mut pair.server, &mut pair.client);
    assert_eq!(wire_records(&wire).len(), 2, "KeyUpdate, then the data");
    assert_eq!(pair.client.read(&mut buf, NOW), Ok(5));
    assert_eq!(&buf[..5], b"reply");
    assert!(pair
        .client
        .take_events()
        .contains(&Event::HandshakeReceived(HandshakeType::KeyUpdate)));
    // The server did not ask the client to update: the client sends nothing back.
    assert!(!pair.client.wants_write());
}

#[test]
fn a_key_update_not_requesting_one_back_changes_only_the_read_keys() {
    let (mut pair, server_events) = complete(2);
    let client_events = pair.client.take_events();
    let suite = completed_suite(&server_events);
    let client_app = logged_secret(&client_events, KeyLogLabel::ClientTrafficSecret0).unwrap();
    let mut old = encrypter_at(suite, &client_app, 0);
    let ku = handshake_bytes(HandshakePayload::KeyUpdate(
        KeyUpdateRequest::UpdateNotRequested,
    ));
    pair.deliver_to_server(&old.encrypt(ContentType::Handshake, &ku, 0).unwrap());
    // Data under the old keys no longer opens.
    pair.deliver_to_server(
        &old.encrypt(ContentType::ApplicationData, b"stale", 0)
            .unwrap(),
    );
    assert_eq!(
        pair.server.read(&mut [0u8; 16], NOW),
        Err(ConnError::Fatal(Error::DecryptError))
    );
    let events = pair.server.take_events();
    assert!(events.contains(&Event::HandshakeReceived(HandshakeType::KeyUpdate)));
    assert!(!events.contains(&Event::HandshakeSent(HandshakeType::KeyUpdate)));
}

#[test]
fn the_server_key_update_is_sent_under_its_old_keys_and_its_next_data_under_new_ones() {
    let (mut pair, mut server_events) = complete(3);
    let client_events = pair.client.take_events();
    let suite = completed_suite(&server_events);
    let client_app = logged_secret(&client_events, KeyLogLabel::ClientTrafficSecret0).unwrap();
    let ku = handshake_bytes(HandshakePayload::KeyUpdate(
        KeyUpdateRequest::UpdateRequested,
    ));
    let mut enc = encrypter_at(suite, &client_app, 0);
    pair.deliver_to_server(&enc.encrypt(ContentType::Handshake, &ku, 0).unwrap());
    pair.server.process_new_packets(NOW).unwrap();
    pair.server.write(b"x", NOW).unwrap();
    server_events.extend(pair.server.take_events());
    let mut sent = Vec::new();
    pair.server.write_tls(&mut sent);
    let server_app = logged_secret(&server_events, KeyLogLabel::ServerTrafficSecret0).unwrap();
    let records = wire_records(&sent);
    assert_eq!(records.len(), 2);
    // Record 0 is the KeyUpdate under traffic secret 0; its sequence number is the number
    // of records the server sent under it before (its tickets).
    let tickets = server_events
        .iter()
        .filter(|e| matches!(e, Event::HandshakeSent(HandshakeType::NewSessionTicket)))
        .count() as u64;
    let opened = open_at(suite, &server_app, tickets, &records[0]);
    assert_eq!(
        opened,
        (
            ContentType::Handshake,
            handshake_bytes(HandshakePayload::KeyUpdate(
                KeyUpdateRequest::UpdateNotRequested
            ))
        )
    );
    let next = next_application_traffic_secret(&server_app);
    assert_eq!(
        open_at(suite, &next, 0, &records[1]),
        (ContentType::ApplicationData, b"x".to_vec())
    );
}

fn open_at(
    suite: &'static zerortt_core::crypto::suites::Tls13CipherSuite,
    secret: &zerortt_core::crypto::key_schedule::Secret,
    seq: u64,
    record: &zerortt_core::msgs::record::Record,
) -> (ContentType, Vec<u8>) {
    let mut dec =
        zerortt_core::crypto::record_protection::RecordDecrypter::new(suite, secret).unwrap();
    for _ in 0..seq {
        // Each failed attempt uses one sequence number up (see scripted::open_alert).
        let _ = dec.decrypt(&record.header(), &record.payload);
    }
    dec.decrypt(&record.header(), &record.payload).unwrap()
}
