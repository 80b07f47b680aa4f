//! Misbehaving peers: a real client against a scripted server that breaks one rule, and a
//! real server fed records a broken client would send. Each test asserts the exact typed
//! error and the alert that went on the wire (decrypted when it was protected).
//!
//! RFC 9846 sections: extensions 4.3, early data 4.3.10, pre_shared_key 4.3.11,
//! EndOfEarlyData 4.6.4, records 5, 0-RTT backward compatibility E.3.

#[path = "common/pair.rs"]
mod pair;
#[path = "common/scripted.rs"]
mod scripted;

use pair::*;
use scripted::*;
use std::sync::Arc;
use zerortt_core::conn::config::{ClientConfig, ServerConfig};
use zerortt_core::crypto::keylog::KeyLogLabel;
use zerortt_core::crypto::record_protection::{record_nonce, TrafficKeys};
use zerortt_core::crypto::suites::{
    self, Tls13CipherSuite, TLS13_AES_128_GCM_SHA256, TLS13_CHACHA20_POLY1305_SHA256,
};
use zerortt_core::identity::test_identity;
use zerortt_core::msgs::alert::Alert;
use zerortt_core::msgs::enums::{AlertDescription as A, ContentType, HandshakeType};
use zerortt_core::msgs::extensions::ServerExtension;
use zerortt_core::msgs::handshake::HandshakePayload;
use zerortt_core::msgs::record::MAX_FRAGMENT_LEN;
use zerortt_core::tickets::session::ClientSession;
use zerortt_core::time::Timestamp;
use zerortt_core::{
    ConnError, Connection, EarlyDataStatus, Error, Event, InvalidMessage, PeerMisbehaved,
    ReadEarlyData,
};

const NOW: Timestamp = Timestamp::SIM_EPOCH;
const EARLY: &[u8] = b"early";

// ----- fixtures ----------------------------------------------------------------------

/// A ticket from a real full handshake with the server of `sc` (whose cache then holds it).
fn ticket_from(cc: &Arc<ClientConfig>, sc: &Arc<ServerConfig>, seed: u64) -> ClientSession {
    let mut tickets = tickets_from_full_handshake(cc, sc, seed);
    tickets.pop().expect("a ticket")
}

fn ticket(seed: u64) -> (Arc<ClientConfig>, ClientSession) {
    let (cc, sc) = (client_config(), server_config(16384));
    let session = ticket_from(&cc, &sc, seed);
    (cc, session)
}

/// A client resuming `session` that wrote [`EARLY`]; its events so far and its first flight.
fn client_with_early_data(
    cc: &Arc<ClientConfig>,
    session: ClientSession,
) -> (Connection, Vec<Event>, ClientFlight) {
    let mut client = Connection::client(cc.clone(), SERVER_NAME, Some(session), rng(7));
    assert_eq!(client.write_early_data(EARLY, NOW), Ok(EARLY.len()));
    let mut wire = Vec::new();
    client.write_tls(&mut wire);
    let flight = parse_client_flight(&wire);
    assert!(flight.hello.early_data_offered());
    let events = client.take_events();
    (client, events, flight)
}

/// A client resuming `session` without early data.
fn client_without_early_data(
    cc: &Arc<ClientConfig>,
    session: Option<ClientSession>,
) -> (Connection, Vec<Event>, ClientFlight) {
    let mut client = Connection::client(cc.clone(), SERVER_NAME, session, rng(8));
    assert_eq!(client.do_handshake(NOW), Err(ConnError::WantRead));
    let mut wire = Vec::new();
    client.write_tls(&mut wire);
    let flight = parse_client_flight(&wire);
    assert!(!flight.hello.early_data_offered());
    let events = client.take_events();
    (client, events, flight)
}

/// Asserts that `result` is the fatal `expected`, that it is sticky, that it maps to
/// `alert`, and that exactly that fatal alert is the last record `conn` wrote.
#[track_caller]
fn assert_fatal<T: std::fmt::Debug>(
    result: Result<T, ConnError>,
    conn: &mut Connection,
    events: &mut Vec<Event>,
    expected: Error,
    alert: A,
) {
    assert_eq!(result.unwrap_err(), ConnError::Fatal(expected.clone()));
    assert_eq!(conn.error(), Some(&expected));
    assert_eq!(expected.alert(), Some(alert), "the error's alert");
    let (written, n) = take_written_alert(conn, events);
    assert!(n > 0, "the alert was written");
    assert_eq!(written, Some(Alert::fatal(alert)), "the alert on the wire");
    assert!(events.contains(&Event::AlertSent(alert)));
}

fn misbehaved(p: PeerMisbehaved) -> Error {
    Error::PeerMisbehaved(p)
}

// ----- a real client against a scripted server ---------------------------------------

#[test]
fn a_server_acknowledging_early_data_the_client_did_not_offer_gets_unsupported_extension() {
    let (cc, session) = ticket(1);
    let (mut client, mut events, flight) = client_without_early_data(&cc, Some(session.clone()));
    let answer = ScriptedServer::new(ServerScript::accept_early_data(&session)).answer(&flight);
    client.read_tls(&answer.bytes());
    let r = client.do_handshake(NOW);
    assert_fatal(
        r,
        &mut client,
        &mut events,
        misbehaved(PeerMisbehaved::EarlyDataAcceptedButNotOffered),
        A::UnsupportedExtension,
    );
}

#[test]
fn a_server_selecting_a_psk_identity_the_client_did_not_offer_gets_illegal_parameter() {
    let (cc, session) = ticket(2);
    let (mut client, mut events, flight) = client_with_early_data(&cc, session.clone());
    // Our client offers exactly one identity, so index 1 was never offered.
    assert_eq!(flight.hello.psk_offer().unwrap().identities.len(), 1);
    let script = ServerScript {
        selected_identity: 1,
        ..ServerScript::accept_early_data(&session)
    };
    client.read_tls(&ScriptedServer::new(script).answer(&flight).bytes());
    let r = client.do_handshake(NOW);
    assert_fatal(
        r,
        &mut client,
        &mut events,
        misbehaved(PeerMisbehaved::SelectedUnofferedPsk),
        A::IllegalParameter,
    );
}

#[test]
fn a_server_accepting_early_data_under_another_suite_with_the_same_hash_gets_illegal_parameter() {
    let (cc, session) = ticket(3);
    assert_eq!(session.suite, TLS13_AES_128_GCM_SHA256.suite);
    assert_eq!(
        TLS13_AES_128_GCM_SHA256.hash,
        TLS13_CHACHA20_POLY1305_SHA256.hash
    );
    let (mut client, mut events, flight) = client_with_early_data(&cc, session.clone());
    let script = ServerScript {
        suite: &TLS13_CHACHA20_POLY1305_SHA256,
        ..ServerScript::accept_early_data(&session)
    };
    client.read_tls(&ScriptedServer::new(script).answer(&flight).bytes());
    let r = client.do_handshake(NOW);
    assert_fatal(
        r,
        &mut client,
        &mut events,
        misbehaved(PeerMisbehaved::EarlyDataAcceptedWithOtherCipherSuite),
        A::IllegalParameter,
    );
}

#[test]
fn a_server_accepting_early_data_with_another_alpn_protocol_gets_illegal_parameter() {
    let mut cc = ClientConfig::new(zerortt_core::verify::ServerTrust::test_ca());
    cc.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let cc = Arc::new(cc);
    let mut sc = ServerConfig::new(test_identity::ed25519());
    sc.alpn_protocols = vec![b"http/1.1".to_vec()];
    sc.set_max_early_data(16384);
    let session = ticket_from(&cc, &Arc::new(sc), 4);
    assert_eq!(session.alpn.as_deref(), Some(&b"http/1.1"[..]));
    let (mut client, mut events, flight) = client_with_early_data(&cc, session.clone());
    let script = ServerScript {
        encrypted_extensions: vec![
            ServerExtension::Alpn(b"h2".to_vec()),
            ServerExtension::EarlyData,
        ],
        ..ServerScript::accept_early_data(&session)
    };
    client.read_tls(&ScriptedServer::new(script).answer(&flight).bytes());
    let r = client.do_handshake(NOW);
    assert_fatal(
        r,
        &mut client,
        &mut events,
        misbehaved(PeerMisbehaved::EarlyDataAcceptedWithOtherAlpn),
        A::IllegalParameter,
    );
}

#[test]
fn a_server_accepting_early_data_in_a_full_handshake_gets_illegal_parameter() {
    let (cc, session) = ticket(5);
    let (mut client, mut events, flight) = client_with_early_data(&cc, session);
    let script = ServerScript {
        encrypted_extensions: vec![ServerExtension::EarlyData],
        ..ServerScript::full_handshake(&TLS13_AES_128_GCM_SHA256)
    };
    client.read_tls(&ScriptedServer::new(script).answer(&flight).bytes());
    let r = client.do_handshake(NOW);
    assert_fatal(
        r,
        &mut client,
        &mut events,
        misbehaved(PeerMisbehaved::EarlyDataAcceptedWithOtherIdentity),
        A::IllegalParameter,
    );
}

#[test]
fn a_tls12_server_hello_after_early_data_is_a_downgrade_and_the_client_may_retry_without_it() {
    let (cc, session) = ticket(6);
    let (mut client, mut events, flight) = client_with_early_data(&cc, session);
    client.read_tls(&tls12_server_hello(&flight));
    let r = client.do_handshake(NOW);
    assert!(r.as_ref().unwrap_err().should_retry_without_early_data());
    assert_fatal(
        r,
        &mut client,
        &mut events,
        misbehaved(PeerMisbehaved::DowngradeAfterEarlyData),
        A::ProtocolVersion,
    );
}

#[test]
fn a_tls12_server_hello_without_early_data_is_an_unsupported_protocol_version() {
    let (cc, session) = ticket(7);
    let (mut client, mut events, flight) = client_without_early_data(&cc, Some(session));
    client.read_tls(&tls12_server_hello(&flight));
    let r = client.do_handshake(NOW);
    assert!(!r.as_ref().unwrap_err().should_retry_without_early_data());
    assert_fatal(
        r,
        &mut client,
        &mut events,
        misbehaved(PeerMisbehaved::UnsupportedProtocolVersion),
        A::ProtocolVersion,
    );
}

#[test]
fn a_server_finished_with_a_wrong_mac_is_a_decrypt_error() {
    let (cc, session) = ticket(8);
    let (mut client, mut events, flight) = client_with_early_data(&cc, session.clone());
    let script = ServerScript {
        corrupt_finished: true,
        ..ServerScript::accept_early_data(&session)
    };
    client.read_tls(&ScriptedServer::new(script).answer(&flight).bytes());
    let r = client.do_handshake(NOW);
    assert_fatal(
        r,
        &mut client,
        &mut events,
        misbehaved(PeerMisbehaved::IncorrectFinished),
        A::DecryptError,
    );
}

#[test]
fn a_server_finished_with_a_wrong_mac_in_a_full_handshake_is_a_decrypt_error() {
    let (mut client, mut events, flight) = client_without_early_data(&client_config(), None);
    let script = ServerScript {
        corrupt_finished: true,
        ..ServerScript::full_handshake(&TLS13_AES_128_GCM_SHA256)
    };
    client.read_tls(&ScriptedServer::new(script).answer(&flight).bytes());
    let r = client.do_handshake(NOW);
    assert_fatal(
        r,
        &mut client,
        &mut events,
        misbehaved(PeerMisbehaved::IncorrectFinished),
        A::DecryptError,
    );
}

#[test]
fn the_untampered_scripted_flight_completes_the_handshake_so_the_tampering_is_what_fails() {
    let (cc, session) = ticket(9);
    let (mut client, _events, flight) = client_with_early_data(&cc, session.clone());
    let answer = ScriptedServer::new(ServerScript::accept_early_data(&session)).answer(&flight);
    client.read_tls(&answer.bytes());
    assert_eq!(client.do_handshake(NOW), Ok(()));
    assert_eq!(client.early_data_status(), EarlyDataStatus::Accepted);
    // Full handshake too: the scripted Certificate and CertificateVerify verify.
    let (mut client, _events, flight) = client_without_early_data(&client_config(), None);
    let script = ServerScript::full_handshake(&TLS13_AES_128_GCM_SHA256);
    client.read_tls(&ScriptedServer::new(script).answer(&flight).bytes());
    assert_eq!(client.do_handshake(NOW), Ok(()));
}

#[test]
fn a_tampered_encrypted_server_record_is_bad_record_mac() {
    let (cc, session) = ticket(10);
    let (mut client, mut events, flight) = client_with_early_data(&cc, session.clone());
    let mut answer = ScriptedServer::new(ServerScript::accept_early_data(&session)).answer(&flight);
    // Flip one ciphertext bit of EncryptedExtensions (record 1, after its 5-byte header).
    answer.records[1][7] ^= 0x80;
    client.read_tls(&answer.bytes());
    let r = client.do_handshake(NOW);
    assert_fatal(
        r,
        &mut client,
        &mut events,
        Error::DecryptError,
        A::BadRecordMac,
    );
}

#[test]
fn a_second_hello_retry_request_is_an_illegal_parameter() {
    let (cc, session) = ticket(11);
    let (mut client, mut events, flight) = client_with_early_data(&cc, session.clone());
    let mut server = ScriptedServer::new(ServerScript::reject_early_data(&session));
    client.read_tls(&server.hello_retry_request(&flight, b"cookie-1"));
    assert_eq!(client.do_handshake(NOW), Err(ConnError::WantRead));
    events.extend(client.take_events());
    assert!(events.contains(&Event::HelloRetryRequest));
    assert_eq!(client.early_data_status(), EarlyDataStatus::Rejected);
    let mut wire = Vec::new();
    client.write_tls(&mut wire);
    let second = parse_client_flight(&wire);
    assert_eq!(second.hello.cookie(), Some(&b"cookie-1"[..]));
    client.read_tls(&server.hello_retry_request(&second, b"cookie-2"));
    let r = client.do_handshake(NOW);
    assert_fatal(
        r,
        &mut client,
        &mut events,
        misbehaved(PeerMisbehaved::IllegalHelloRetryRequest),
        A::IllegalParameter,
    );
}

#[test]
fn a_server_accepting_early_data_after_a_hello_retry_request_gets_unsupported_extension() {
    let (cc, session) = ticket(12);
    let (mut client, mut events, flight) = client_with_early_data(&cc, session.clone());
    let mut server = ScriptedServer::new(ServerScript::accept_early_data(&session));
    client.read_tls(&server.hello_retry_request(&flight, b"cookie"));
    assert_eq!(client.do_handshake(NOW), Err(ConnError::WantRead));
    let mut wire = Vec::new();
    client.write_tls(&mut wire);
    let second = parse_client_flight(&wire);
    assert!(!second.hello.early_data_offered());
    client.read_tls(&server.answer(&second).bytes());
    let r = client.do_handshake(NOW);
    assert_fatal(
        r,
        &mut client,
        &mut events,
        misbehaved(PeerMisbehaved::EarlyDataAcceptedAfterHelloRetryRequest),
        A::UnsupportedExtension,
    );
}

#[test]
fn a_server_hello_sharing_its_record_with_part_of_the_next_message_is_unexpected_message() {
    let (cc, session) = ticket(13);
    let (mut client, mut events, flight) = client_with_early_data(&cc, session.clone());
    let answer = ScriptedServer::new(ServerScript::accept_early_data(&session)).answer(&flight);
    // RFC 9846 5.1: "Handshake messages MUST NOT span key changes": ServerHello and the
    // first bytes of an (EncryptedExtensions) header in one plaintext record.
    let sh = &records(&answer.records[0])[0].payload;
    let mut payload = sh.clone();
    payload.extend_from_slice(&[HandshakeType::EncryptedExtensions.get(), 0]);
    client.read_tls(&plaintext_record(ContentType::Handshake, &payload));
    let r = client.do_handshake(NOW);
    assert_fatal(
        r,
        &mut client,
        &mut events,
        misbehaved(PeerMisbehaved::KeyEpochWithPendingFragment),
        A::UnexpectedMessage,
    );
}

#[test]
fn a_change_cipher_spec_after_the_server_finished_is_unexpected_message() {
    let (cc, session) = ticket(14);
    let (mut client, mut events, flight) = client_with_early_data(&cc, session.clone());
    let answer = ScriptedServer::new(ServerScript::accept_early_data(&session)).answer(&flight);
    client.read_tls(&answer.bytes());
    // Still writing early data: the server's Finished is verified, the client's is not sent.
    assert_eq!(client.process_new_packets(NOW), Ok(()));
    assert!(!client.is_init_finished());
    client.read_tls(&plaintext_record(ContentType::ChangeCipherSpec, &[1]));
    let r = client.process_new_packets(NOW);
    assert_fatal(
        r,
        &mut client,
        &mut events,
        misbehaved(PeerMisbehaved::IllegalChangeCipherSpec),
        A::UnexpectedMessage,
    );
}

// ----- a real server fed a broken client's records ----------------------------------

/// A real server that accepted a real client's early data and read [`EARLY`]: what a test
/// needs to inject records after it.
struct AcceptedEarlyData {
    server: Connection,
    events: Vec<Event>,
    client: Connection,
    client_events: Vec<Event>,
    flight: ClientFlight,
    suite: &'static Tls13CipherSuite,
    /// The server's flight (ServerHello .. Finished), taken from its output.
    server_flight: Vec<u8>,
}

impl AcceptedEarlyData {
    fn new(seed: u64) -> Self {
        let (cc, sc) = (client_config(), server_config(16384));
        let session = ticket_from(&cc, &sc, seed);
        let suite = suites::lookup(session.suite).unwrap();
        let (client, client_events, flight) = client_with_early_data(&cc, session);
        let mut server = Connection::server(sc, rng(seed ^ 0xabc));
        let wire = wire_of(&flight);
        assert_eq!(server.read_tls(&wire), wire.len());
        let mut buf = [0u8; 64];
        assert_eq!(
            server.read_early_data(&mut buf, NOW),
            Ok(ReadEarlyData::Success(EARLY.len()))
        );
        assert_eq!(&buf[..EARLY.len()], EARLY);
        assert_eq!(server.early_data_status(), EarlyDataStatus::Accepted);
        let events = server.take_events();
        let mut server_flight = Vec::new();
        server.write_tls(&mut server_flight);
        Self {
            server,
            events,
            client,
            client_events,
            flight,
            suite,
            server_flight,
        }
    }

    /// Encrypts `inner_type` `content` (with `padding` zeros) under the client's early
    /// traffic keys, as the record after the client's [`EARLY`] record (sequence 1).
    fn early_record(&self, inner_type: ContentType, content: &[u8], padding: usize) -> Vec<u8> {
        let secret = logged_secret(&self.client_events, KeyLogLabel::ClientEarlyTrafficSecret)
            .expect("client early secret");
        let mut enc = encrypter_at(self.suite, &secret, 1);
        enc.encrypt(inner_type, content, padding).unwrap()
    }

    /// Hands `bytes` to the server and makes the call its application would make next.
    fn deliver(&mut self, bytes: &[u8]) -> Result<ReadEarlyData, ConnError> {
        self.server.read_tls(bytes);
        let mut buf = [0u8; 64];
        self.server.read_early_data(&mut buf, NOW)
    }

    #[track_caller]
    fn assert_fatal<T: std::fmt::Debug>(
        &mut self,
        r: Result<T, ConnError>,
        expected: Error,
        alert: A,
    ) {
        assert_fatal(r, &mut self.server, &mut self.events, expected, alert);
    }
}

/// The client's first flight re-encoded: the ClientHello record and what followed it.
fn wire_of(flight: &ClientFlight) -> Vec<u8> {
    use zerortt_core::codec::Codec;
    let mut wire = plaintext_record(ContentType::Handshake, &flight.hello_raw);
    for r in &flight.after {
        wire.extend_from_slice(&r.get_encoding());
    }
    wire
}

fn end_of_early_data() -> Vec<u8> {
    handshake_bytes(HandshakePayload::EndOfEarlyData)
}

#[test]
fn end_of_early_data_with_a_body_is_a_decode_error() {
    let mut t = AcceptedEarlyData::new(20);
    // `struct {} EndOfEarlyData` with one body byte (RFC 9846 4.6.4).
    let eoed = [HandshakeType::EndOfEarlyData.get(), 0, 0, 1, 0];
    let rec = t.early_record(ContentType::Handshake, &eoed, 0);
    let r = t.deliver(&rec);
    t.assert_fatal(
        r,
        Error::InvalidMessage(InvalidMessage::TrailingData("EndOfEarlyData")),
        A::DecodeError,
    );
}

#[test]
fn an_honest_end_of_early_data_injected_the_same_way_is_accepted() {
    let mut t = AcceptedEarlyData::new(21);
    let rec = t.early_record(ContentType::Handshake, &end_of_early_data(), 0);
    assert_eq!(t.deliver(&rec), Ok(ReadEarlyData::Finish));
}

#[test]
fn a_second_client_hello_in_the_clear_is_unexpected_message() {
    let mut t = AcceptedEarlyData::new(22);
    let ch = plaintext_record(ContentType::Handshake, &t.flight.hello_raw);
    let r = t.deliver(&ch);
    t.assert_fatal(
        r,
        Error::InappropriateMessage {
            expected: "a protected record",
            got: ContentType::Handshake,
        },
        A::UnexpectedMessage,
    );
}

#[test]
fn a_second_client_hello_under_the_early_keys_is_unexpected_message() {
    let mut t = AcceptedEarlyData::new(23);
    let rec = t.early_record(ContentType::Handshake, &t.flight.hello_raw.clone(), 0);
    let r = t.deliver(&rec);
    t.assert_fatal(
        r,
        Error::InappropriateHandshakeMessage {
            expected: "EndOfEarlyData",
            got: HandshakeType::ClientHello,
        },
        A::UnexpectedMessage,
    );
}

#[test]
fn application_data_under_the_early_keys_after_end_of_early_data_is_bad_record_mac() {
    let mut t = AcceptedEarlyData::new(24);
    let secret = logged_secret(&t.client_events, KeyLogLabel::ClientEarlyTrafficSecret).unwrap();
    let mut enc = encrypter_at(t.suite, &secret, 1);
    let mut wire = enc
        .encrypt(ContentType::Handshake, &end_of_early_data(), 0)
        .unwrap();
    wire.extend(
        enc.encrypt(ContentType::ApplicationData, b"late", 0)
            .unwrap(),
    );
    // read_early_data stops at EndOfEarlyData; the late record is met when the handshake
    // is completed.
    assert_eq!(t.deliver(&wire), Ok(ReadEarlyData::Finish));
    let r = t.server.do_handshake(NOW);
    t.assert_fatal(r, Error::DecryptError, A::BadRecordMac);
}

#[test]
fn end_of_early_data_sharing_its_record_with_part_of_the_finished_is_unexpected_message() {
    let mut t = AcceptedEarlyData::new(25);
    let mut content = end_of_early_data();
    content.extend_from_slice(&[HandshakeType::Finished.get(), 0, 0]);
    let rec = t.early_record(ContentType::Handshake, &content, 0);
    let r = t.deliver(&rec);
    t.assert_fatal(
        r,
        misbehaved(PeerMisbehaved::KeyEpochWithPendingFragment),
        A::UnexpectedMessage,
    );
}

#[test]
fn a_client_hello_sharing_its_record_with_part_of_the_next_message_is_unexpected_message() {
    let (cc, sc) = (client_config(), server_config(16384));
    let session = ticket_from(&cc, &sc, 26);
    let (_client, _, flight) = client_with_early_data(&cc, session);
    let mut server = Connection::server(sc, rng(26));
    let mut events = Vec::new();
    let mut payload = flight.hello_raw.clone();
    payload.extend_from_slice(&[HandshakeType::EndOfEarlyData.get(), 0]);
    server.read_tls(&plaintext_record(ContentType::Handshake, &payload));
    let r = server.read_early_data(&mut [0u8; 64], NOW);
    assert_fatal(
        r,
        &mut server,
        &mut events,
        misbehaved(PeerMisbehaved::KeyEpochWithPendingFragment),
        A::UnexpectedMessage,
    );
}

#[test]
fn garbage_before_the_client_hello_is_unexpected_message() {
    let (cc, sc) = (client_config(), server_config(16384));
    let session = ticket_from(&cc, &sc, 27);
    let (_client, _, flight) = client_with_early_data(&cc, session);
    let mut server = Connection::server(sc, rng(27));
    let mut events = Vec::new();
    let mut wire = b"GET / HTTP/1.1\r\n".to_vec();
    wire.extend(wire_of(&flight));
    server.read_tls(&wire);
    let r = server.read_early_data(&mut [0u8; 64], NOW);
    assert_fatal(
        r,
        &mut server,
        &mut events,
        Error::InvalidMessage(InvalidMessage::UnknownContentType(b'G')),
        A::UnexpectedMessage,
    );
}

#[test]
fn garbage_after_the_client_hello_is_unexpected_message_under_the_server_keys() {
    let mut t = AcceptedEarlyData::new(28);
    let r = t.deliver(b"GET / HTTP/1.1\r\n");
    t.assert_fatal(
        r,
        Error::InvalidMessage(InvalidMessage::UnknownContentType(b'G')),
        A::UnexpectedMessage,
    );
}

#[test]
fn a_garbage_application_data_record_after_accepted_early_data_is_bad_record_mac() {
    let mut t = AcceptedEarlyData::new(29);
    let junk = plaintext_record(ContentType::ApplicationData, &[0xa5; 40]);
    let r = t.deliver(&junk);
    t.assert_fatal(r, Error::DecryptError, A::BadRecordMac);
}

#[test]
fn a_garbage_application_data_record_after_rejected_early_data_is_skipped() {
    let (cc, sc) = (client_config(), server_config(16384));
    let session = ticket_from(&cc, &sc, 30);
    let (mut client, _, flight) = client_with_early_data(&cc, session);
    let mut server = Connection::server(sc, rng(30));
    let mut wire = wire_of(&flight);
    // RFC 9846 4.3.10: a server that rejects skips records that fail to deprotect.
    wire.extend(plaintext_record(ContentType::ApplicationData, &[0xa5; 40]));
    server.read_tls(&wire);
    // do_handshake first: the server application declines early data.
    assert_eq!(server.do_handshake(NOW), Err(ConnError::WantRead));
    assert_eq!(server.early_data_status(), EarlyDataStatus::Rejected);
    let skipped = server
        .take_events()
        .iter()
        .filter(|e| matches!(e, Event::EarlyDataSkipped { .. }))
        .count();
    assert_eq!(skipped, 2, "the client's early record and the junk");
    let mut s2c = Vec::new();
    server.write_tls(&mut s2c);
    client.read_tls(&s2c);
    assert_eq!(client.do_handshake(NOW), Ok(()));
    let mut c2s = Vec::new();
    client.write_tls(&mut c2s);
    server.read_tls(&c2s);
    assert_eq!(server.do_handshake(NOW), Ok(()));
}

#[test]
fn an_application_data_record_over_2_14_plus_256_bytes_is_record_overflow() {
    let mut server = Connection::server(server_config(16384), rng(31));
    let mut events = Vec::new();
    let len = (MAX_FRAGMENT_LEN + 256 + 1) as u16;
    let [l0, l1] = len.to_be_bytes();
    // Refused from the header alone, before the body arrives.
    server.read_tls(&[ContentType::ApplicationData.get(), 3, 3, l0, l1]);
    let r = server.read_early_data(&mut [0u8; 64], NOW);
    assert_fatal(
        r,
        &mut server,
        &mut events,
        Error::InvalidMessage(InvalidMessage::RecordOverflow),
        A::RecordOverflow,
    );
}

#[test]
fn a_handshake_record_over_2_14_bytes_is_record_overflow_under_the_server_keys() {
    let mut t = AcceptedEarlyData::new(32);
    let [l0, l1] = ((MAX_FRAGMENT_LEN + 1) as u16).to_be_bytes();
    let r = t.deliver(&[ContentType::Handshake.get(), 3, 3, l0, l1]);
    t.assert_fatal(
        r,
        Error::InvalidMessage(InvalidMessage::RecordOverflow),
        A::RecordOverflow,
    );
}

/// Seals an arbitrary TLSInnerPlaintext (no length checks: that is the point) under the
/// client's early keys at sequence 1.
fn seal_raw_inner(t: &AcceptedEarlyData, inner: &[u8]) -> Vec<u8> {
    use ring::aead;
    let secret = logged_secret(&t.client_events, KeyLogLabel::ClientEarlyTrafficSecret).unwrap();
    let keys = TrafficKeys::derive(t.suite.aead, &secret).unwrap();
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(t.suite.aead.ring_algorithm(), keys.key()).unwrap(),
    );
    let len = inner.len() + t.suite.aead.tag_len();
    let [l0, l1] = (len as u16).to_be_bytes();
    let header = [ContentType::ApplicationData.get(), 3, 3, l0, l1];
    let mut body = inner.to_vec();
    let nonce = aead::Nonce::assume_unique_for_key(record_nonce(keys.iv(), 1));
    key.seal_in_place_append_tag(nonce, aead::Aad::from(header), &mut body)
        .unwrap();
    let mut out = header.to_vec();
    out.extend(body);
    out
}

#[test]
fn a_protected_record_whose_content_exceeds_2_14_bytes_is_record_overflow() {
    let mut t = AcceptedEarlyData::new(33);
    // 2^14 + 1 content bytes plus the type: the ciphertext (2^14 + 18) is within limits,
    // the plaintext is not (RFC 9846 6.2, record_overflow: "a record decrypted to a
    // TLSPlaintext record with more than 2^14 bytes").
    let mut inner = vec![0x61; MAX_FRAGMENT_LEN + 1];
    inner.push(ContentType::ApplicationData.get());
    let rec = seal_raw_inner(&t, &inner);
    let r = t.deliver(&rec);
    t.assert_fatal(
        r,
        Error::InvalidMessage(InvalidMessage::RecordOverflow),
        A::RecordOverflow,
    );
}

#[test]
fn an_all_zero_inner_plaintext_is_unexpected_message() {
    let mut t = AcceptedEarlyData::new(34);
    // RFC 9846 5.4: "If a receiving implementation does not find a non-zero octet in the
    // cleartext, it MUST terminate the connection with an unexpected_message alert."
    let rec = seal_raw_inner(&t, &[0; 8]);
    let r = t.deliver(&rec);
    t.assert_fatal(
        r,
        Error::InvalidMessage(InvalidMessage::NoInnerContentType),
        A::UnexpectedMessage,
    );
}

#[test]
fn a_change_cipher_spec_with_a_body_other_than_0x01_is_unexpected_message() {
    for (seed, body) in [(35, &[2u8][..]), (36, &[1, 1][..])] {
        let mut t = AcceptedEarlyData::new(seed);
        let r = t.deliver(&plaintext_record(ContentType::ChangeCipherSpec, body));
        t.assert_fatal(
            r,
            misbehaved(PeerMisbehaved::IllegalChangeCipherSpec),
            A::UnexpectedMessage,
        );
    }
}

#[test]
fn the_compatibility_change_cipher_spec_during_the_handshake_is_dropped() {
    let mut t = AcceptedEarlyData::new(37);
    let r = t.deliver(&plaintext_record(ContentType::ChangeCipherSpec, &[1]));
    assert_eq!(r, Err(ConnError::WantRead));
}

#[test]
fn a_protected_change_cipher_spec_is_unexpected_message() {
    let mut t = AcceptedEarlyData::new(38);
    let rec = t.early_record(ContentType::ChangeCipherSpec, &[1], 0);
    let r = t.deliver(&rec);
    t.assert_fatal(
        r,
        misbehaved(PeerMisbehaved::IllegalChangeCipherSpec),
        A::UnexpectedMessage,
    );
}

#[test]
fn a_change_cipher_spec_before_the_client_hello_is_unexpected_message() {
    let mut server = Connection::server(server_config(16384), rng(39));
    let mut events = Vec::new();
    server.read_tls(&plaintext_record(ContentType::ChangeCipherSpec, &[1]));
    let r = server.read_early_data(&mut [0u8; 64], NOW);
    assert_fatal(
        r,
        &mut server,
        &mut events,
        misbehaved(PeerMisbehaved::IllegalChangeCipherSpec),
        A::UnexpectedMessage,
    );
}

#[test]
fn a_client_finished_under_the_early_keys_before_end_of_early_data_is_unexpected_message() {
    let mut t = AcceptedEarlyData::new(40);
    let fin = handshake_bytes(HandshakePayload::Finished(vec![0; 32]));
    let rec = t.early_record(ContentType::Handshake, &fin, 0);
    let r = t.deliver(&rec);
    t.assert_fatal(
        r,
        Error::InappropriateHandshakeMessage {
            expected: "EndOfEarlyData",
            got: HandshakeType::Finished,
        },
        A::UnexpectedMessage,
    );
}

#[test]
fn a_client_finished_under_the_handshake_keys_before_end_of_early_data_is_bad_record_mac() {
    let mut t = AcceptedEarlyData::new(41);
    // The real client learns its handshake keys from the server's real flight.
    let s2c = t.server_flight.clone();
    t.client.read_tls(&s2c);
    assert_eq!(t.client.process_new_packets(NOW), Ok(()));
    t.client_events.extend(t.client.take_events());
    let secret =
        logged_secret(&t.client_events, KeyLogLabel::ClientHandshakeTrafficSecret).unwrap();
    // A client that skips EndOfEarlyData sends its Finished under the handshake keys.
    let fin = handshake_bytes(HandshakePayload::Finished(vec![0; 32]));
    let rec = encrypter_at(t.suite, &secret, 0)
        .encrypt(ContentType::Handshake, &fin, 0)
        .unwrap();
    let r = t.deliver(&rec);
    t.assert_fatal(r, Error::DecryptError, A::BadRecordMac);
}

// ----- errors are sticky -------------------------------------------------------------

/// Every application call on a failed connection returns `Fatal(expected)`, `read_tls`
/// takes nothing, and nothing more is written (one alert only).
#[track_caller]
fn assert_sticky(conn: &mut Connection, expected: &Error) {
    let fatal = Err(ConnError::Fatal(expected.clone()));
    let mut buf = [0u8; 16];
    assert_eq!(conn.write_early_data(b"x", NOW), fatal);
    assert_eq!(
        conn.read_early_data(&mut buf, NOW).map(|_| 0),
        fatal.clone()
    );
    assert_eq!(conn.do_handshake(NOW).map(|_| 0), fatal.clone());
    assert_eq!(conn.read(&mut buf, NOW), fatal.clone());
    assert_eq!(conn.write(b"x", NOW), fatal.clone());
    assert_eq!(conn.process_new_packets(NOW).map(|_| 0), fatal);
    assert_eq!(
        conn.read_tls(&[ContentType::Handshake.get(), 3, 3, 0, 1, 0]),
        0
    );
    assert_eq!(conn.buffered_tls(), 0);
    conn.send_close_notify();
    let mut out = Vec::new();
    assert_eq!(conn.write_tls(&mut out), 0, "nothing after the one alert");
    assert_eq!(conn.error(), Some(expected));
}

#[test]
fn after_a_fatal_error_every_server_call_returns_the_same_error_and_read_tls_takes_nothing() {
    let mut t = AcceptedEarlyData::new(42);
    let r = t.deliver(&plaintext_record(ContentType::ChangeCipherSpec, &[2]));
    let expected = misbehaved(PeerMisbehaved::IllegalChangeCipherSpec);
    t.assert_fatal(r, expected.clone(), A::UnexpectedMessage);
    assert_sticky(&mut t.server, &expected);
}

#[test]
fn after_a_fatal_error_every_client_call_returns_the_same_error_and_read_tls_takes_nothing() {
    let (cc, session) = ticket(43);
    let (mut client, mut events, flight) = client_with_early_data(&cc, session);
    client.read_tls(&tls12_server_hello(&flight));
    let r = client.do_handshake(NOW);
    let expected = misbehaved(PeerMisbehaved::DowngradeAfterEarlyData);
    assert_fatal(
        r,
        &mut client,
        &mut events,
        expected.clone(),
        A::ProtocolVersion,
    );
    assert_sticky(&mut client, &expected);
}

#[test]
fn after_the_peer_sends_a_fatal_alert_every_call_returns_it_and_no_alert_is_sent_back() {
    let mut t = AcceptedEarlyData::new(44);
    let rec = t.early_record(ContentType::Alert, &[2, A::HandshakeFailure.get()], 0);
    let r = t.deliver(&rec);
    let expected = Error::AlertReceived(A::HandshakeFailure);
    assert_eq!(r, Err(ConnError::Fatal(expected.clone())));
    assert_eq!(expected.alert(), None);
    let mut out = Vec::new();
    assert_eq!(t.server.write_tls(&mut out), 0, "no alert answers an alert");
    assert_sticky(&mut t.server, &expected);
}
