//! Reading back what a real connection put on the wire: its records in order, and the
//! content of its protected records, decrypted with the secrets the connection itself
//! logged (its `SecretDerived` events) and the epoch of each record (its `RecordSent`
//! events, one per record, in order). Used by the tests that must see a message, not
//! only its effect (the middlebox-compatibility ChangeCipherSpec, NewSessionTicket
//! fields, EncryptedExtensions).
#![allow(dead_code)]

use zerortt_core::conn::events::{Event, KeyEpoch};
use zerortt_core::crypto::keylog::KeyLogLabel;
use zerortt_core::crypto::record_protection::RecordDecrypter;
use zerortt_core::crypto::suites::{self, Tls13CipherSuite};
use zerortt_core::msgs::deframer::HandshakeJoiner;
use zerortt_core::msgs::enums::{ContentType, ProtocolVersion};
use zerortt_core::msgs::handshake::{HandshakeMessage, HandshakePayload};
use zerortt_core::msgs::record::Record;
use zerortt_core::{Connection, Side};

/// Takes everything `from` wrote, hands all of it to `to`, and returns it. Panics if `to`
/// does not take every byte (these tests move flights well under one maximal record).
pub fn move_bytes(from: &mut Connection, to: &mut Connection) -> Vec<u8> {
    let mut wire = Vec::new();
    from.write_tls(&mut wire);
    let n = to.read_tls(&wire);
    assert_eq!(n, wire.len(), "the receiver took every byte");
    wire
}

/// Every complete record in `wire`, in order (the scripted peer's splitter; every test
/// that includes this module includes `common/scripted.rs` as `scripted`).
pub use crate::scripted::records as wire_records;

/// The middlebox-compatibility ChangeCipherSpec exactly as RFC 9846 E.4 (and section 5)
/// has it on the wire: type 20, legacy_record_version 0x0303, the single byte 0x01.
pub fn compat_ccs() -> Record {
    Record {
        typ: ContentType::ChangeCipherSpec,
        version: ProtocolVersion::Tls12,
        payload: vec![1],
    }
}

/// The outer content types of `records`, for readable assertions.
pub fn types(records: &[Record]) -> Vec<ContentType> {
    records.iter().map(|r| r.typ).collect()
}

/// The suite the connection's handshake completed with.
pub fn completed_suite(events: &[Event]) -> &'static Tls13CipherSuite {
    events
        .iter()
        .find_map(|e| match e {
            Event::HandshakeComplete { suite, .. } => suites::lookup(*suite),
            _ => None,
        })
        .expect("a completed handshake")
}

/// One record as its sender meant it: the epoch that protected it, the inner content
/// type and the plaintext content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The keys it was sent under.
    pub epoch: KeyEpoch,
    /// The (inner) content type.
    pub typ: ContentType,
    /// The plaintext.
    pub content: Vec<u8>,
}

fn label(side: Side, epoch: KeyEpoch) -> Option<KeyLogLabel> {
    Some(match (side, epoch) {
        (_, KeyEpoch::Plaintext) => return None,
        (Side::Client, KeyEpoch::Early) => KeyLogLabel::ClientEarlyTrafficSecret,
        (Side::Client, KeyEpoch::Handshake) => KeyLogLabel::ClientHandshakeTrafficSecret,
        (Side::Client, KeyEpoch::Application) => KeyLogLabel::ClientTrafficSecret0,
        (Side::Server, KeyEpoch::Handshake) => KeyLogLabel::ServerHandshakeTrafficSecret,
        (Side::Server, KeyEpoch::Application) => KeyLogLabel::ServerTrafficSecret0,
        (Side::Server, KeyEpoch::Early) => panic!("a server sends nothing under early keys"),
    })
}

/// Opens every record in `wire` (everything a connection on `side` wrote, from its first
/// byte) with the secrets in `events` (every event it produced, from the first). Each
/// protected record is opened under `suite` with the keys of its `RecordSent` epoch.
/// Handles no KeyUpdate (none of these tests sends one).
pub fn open_sent(
    side: Side,
    events: &[Event],
    wire: &[u8],
    suite: &'static Tls13CipherSuite,
) -> Vec<Opened> {
    let epochs: Vec<KeyEpoch> = events
        .iter()
        .filter_map(|e| match e {
            Event::RecordSent { epoch, .. } => Some(*epoch),
            _ => None,
        })
        .collect();
    let records = wire_records(wire);
    assert_eq!(
        records.len(),
        epochs.len(),
        "one RecordSent event per record"
    );
    let mut decrypters: Vec<(KeyEpoch, RecordDecrypter)> = Vec::new();
    records
        .into_iter()
        .zip(epochs)
        .map(|(record, epoch)| {
            let Some(label) = label(side, epoch) else {
                return Opened {
                    epoch,
                    typ: record.typ,
                    content: record.payload,
                };
            };
            if !decrypters.iter().any(|(e, _)| *e == epoch) {
                let secret = super::scripted::logged_secret(events, label).expect("secret logged");
                decrypters.push((epoch, RecordDecrypter::new(suite, &secret).expect("keys")));
            }
            let (_, dec) = decrypters
                .iter_mut()
                .find(|(e, _)| *e == epoch)
                .expect("decrypter");
            let (typ, content) = dec
                .decrypt(&record.header(), &record.payload)
                .expect("a record its sender protected opens");
            Opened {
                epoch,
                typ,
                content,
            }
        })
        .collect()
}

/// The handshake messages among `opened`, joined across records, in order.
pub fn handshake_messages(opened: &[Opened]) -> Vec<HandshakePayload> {
    let mut joiner = HandshakeJoiner::new();
    let mut out = Vec::new();
    for o in opened.iter().filter(|o| o.typ == ContentType::Handshake) {
        joiner.push(&o.content).expect("fits");
        while let Some((HandshakeMessage { payload, .. }, _)) = joiner.pop().expect("decodes") {
            out.push(payload);
        }
    }
    out
}
