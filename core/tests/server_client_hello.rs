//! How a real server answers ClientHellos that break (or bend) one rule: each hello is a
//! real client's, re-encoded with one field changed, and each test asserts the server's
//! answer on the wire (a HelloRetryRequest's extensions, a ServerHello, the alert).
//!
//! RFC 9846 sections: ClientHello 4.2.2, HelloRetryRequest 4.2.4, supported_versions
//! 4.3.1, cookie 4.3.2, key_share 4.3.8, early_data 4.3.10; RFC 7301 3.2 (ALPN);
//! RFC 6066 3 (server_name).

#[path = "common/pair.rs"]
mod pair;
#[path = "common/scripted.rs"]
mod scripted;
#[path = "common/wire.rs"]
mod wire;

use pair::*;
use scripted::{handshake_bytes, parse_client_flight, plaintext_record};
use std::sync::Arc;
use wire::*;
use zerortt_core::codec::Codec;
use zerortt_core::conn::config::{ClientConfig, HelloRetryPolicy, ServerConfig};
use zerortt_core::crypto::suites::{self, TLS13_CHACHA20_POLY1305_SHA256};
use zerortt_core::identity::test_identity;
use zerortt_core::msgs::alert::Alert;
use zerortt_core::msgs::enums::{AlertDescription as A, ContentType as Ct};
use zerortt_core::msgs::enums::{NamedGroup, ProtocolVersion};
use zerortt_core::msgs::extensions::{ClientExtension, HelloRetryExtension, ServerExtension};
use zerortt_core::msgs::handshake::{
    ClientHello, HandshakeMessage, HandshakePayload, HelloRetryRequest, ServerHello,
};
use zerortt_core::time::Timestamp;
use zerortt_core::verify::ServerTrust;
use zerortt_core::{ConnError, Connection, Error, Event, PeerMisbehaved, Side};

const NOW: Timestamp = Timestamp::SIM_EPOCH;

fn server_config_with(policy: HelloRetryPolicy) -> Arc<ServerConfig> {
    let mut sc = ServerConfig::new(test_identity::ed25519());
    sc.set_max_early_data(16384);
    sc.hello_retry = policy;
    Arc::new(sc)
}

/// A real client's first ClientHello (full handshake, no PSK, one X25519 share).
fn real_client_hello(seed: u64) -> ClientHello {
    let mut client = Connection::client(client_config(), SERVER_NAME, None, rng(seed));
    assert_eq!(client.do_handshake(NOW), Err(ConnError::WantRead));
    let mut wire = Vec::new();
    client.write_tls(&mut wire);
    parse_client_flight(&wire).hello
}

fn edited(ch: &ClientHello, edit: impl FnOnce(&mut ClientHello)) -> ClientHello {
    let mut ch = ch.clone();
    edit(&mut ch);
    ch
}

fn without_key_share(ch: &ClientHello) -> ClientHello {
    edited(ch, |ch| {
        for ext in &mut ch.extensions {
            if let ClientExtension::KeyShare(shares) = ext {
                shares.clear();
            }
        }
    })
}

fn with_extension(ch: &ClientHello, ext: ClientExtension) -> ClientHello {
    edited(ch, |ch| ch.extensions.push(ext))
}

/// Hands `ch` to `server` as one plaintext record and runs its handshake.
fn send_hello(server: &mut Connection, ch: &ClientHello) -> Result<(), ConnError> {
    let record = plaintext_record(
        Ct::Handshake,
        &handshake_bytes(HandshakePayload::ClientHello(ch.clone())),
    );
    assert_eq!(server.read_tls(&record), record.len());
    server.do_handshake(NOW)
}

/// The plaintext handshake messages `server` wrote since the last call, and its records.
fn written(server: &mut Connection) -> (Vec<HandshakePayload>, Vec<u8>) {
    let mut wire = Vec::new();
    server.write_tls(&mut wire);
    let messages = wire_records(&wire)
        .iter()
        .filter(|r| r.typ == Ct::Handshake)
        .map(|r| {
            HandshakeMessage::read_bytes(&r.payload)
                .expect("one plaintext message per record")
                .payload
        })
        .collect();
    (messages, wire)
}

fn hello_retry_request(server: &mut Connection) -> HelloRetryRequest {
    match written(server).0.as_slice() {
        [HandshakePayload::HelloRetryRequest(hrr)] => hrr.clone(),
        other => panic!("expected one HelloRetryRequest, got {other:?}"),
    }
}

fn server_hello(server: &mut Connection) -> ServerHello {
    match written(server).0.first() {
        Some(HandshakePayload::ServerHello(sh)) => sh.clone(),
        other => panic!("expected a ServerHello, got {other:?}"),
    }
}

/// The call failed with `error`, and the last record written is the plaintext fatal
/// `alert` (the server has no keys yet).
fn assert_refused(server: &mut Connection, r: Result<(), ConnError>, error: Error, alert: A) {
    assert_eq!(r, Err(ConnError::Fatal(error)));
    let (_, wire) = written(server);
    let last = wire_records(&wire).pop().expect("an alert record");
    assert_eq!(last.typ, Ct::Alert);
    assert_eq!(last.payload, Alert::fatal(alert).get_encoding());
}

fn misbehaved(p: PeerMisbehaved) -> Error {
    Error::PeerMisbehaved(p)
}

// ----- the first ClientHello ----------------------------------------------------------

#[test]
fn a_client_hello_without_tls13_in_supported_versions_is_refused_with_protocol_version() {
    let ch = edited(&real_client_hello(1), |ch| {
        for ext in &mut ch.extensions {
            if let ClientExtension::SupportedVersions(v) = ext {
                *v = vec![ProtocolVersion::Tls12];
            }
        }
    });
    let mut server = Connection::server(server_config(16384), rng(2));
    let r = send_hello(&mut server, &ch);
    assert_refused(
        &mut server,
        r,
        misbehaved(PeerMisbehaved::UnsupportedProtocolVersion),
        A::ProtocolVersion,
    );
}

#[test]
fn a_client_hello_with_a_compression_method_besides_null_is_an_illegal_parameter() {
    let ch = edited(&real_client_hello(3), |ch| {
        ch.legacy_compression_methods = vec![0, 1];
    });
    let mut server = Connection::server(server_config(16384), rng(4));
    let r = send_hello(&mut server, &ch);
    assert_refused(
        &mut server,
        r,
        misbehaved(PeerMisbehaved::IllegalParameter(
            "legacy_compression_methods",
        )),
        A::IllegalParameter,
    );
}

#[test]
fn a_client_hello_without_x25519_in_supported_groups_fails_for_want_of_a_common_group() {
    let ch = edited(&real_client_hello(5), |ch| {
        for ext in &mut ch.extensions {
            if let ClientExtension::SupportedGroups(g) = ext {
                *g = vec![NamedGroup::from(23)]; // secp256r1
            }
        }
    });
    let mut server = Connection::server(server_config(16384), rng(6));
    let r = send_hello(&mut server, &ch);
    assert_refused(
        &mut server,
        r,
        misbehaved(PeerMisbehaved::NoCommonParameters("group")),
        A::HandshakeFailure,
    );
}

#[test]
fn a_client_hello_with_an_x25519_share_gets_a_server_hello_at_once() {
    let mut server = Connection::server(server_config(16384), rng(7));
    assert_eq!(
        send_hello(&mut server, &real_client_hello(8)),
        Err(ConnError::WantRead)
    );
    let sh = server_hello(&mut server);
    assert_eq!(sh.key_share().map(|k| k.group), Some(NamedGroup::X25519));
}

// ----- HelloRetryRequest -------------------------------------------------------------

#[test]
fn a_client_hello_without_a_key_share_gets_a_hello_retry_request_for_x25519_and_no_cookie() {
    let mut server = Connection::server(server_config(16384), rng(9));
    let ch = real_client_hello(10);
    assert_eq!(
        send_hello(&mut server, &without_key_share(&ch)),
        Err(ConnError::WantRead)
    );
    let hrr = hello_retry_request(&mut server);
    assert_eq!(hrr.selected_group(), Some(NamedGroup::X25519));
    assert_eq!(
        hrr.cookie(),
        None,
        "nothing to echo: the key share is the change"
    );
    assert!(server.take_events().contains(&Event::HelloRetryRequest));
    // The second ClientHello carries the share; no cookie was asked for.
    assert_eq!(send_hello(&mut server, &ch), Err(ConnError::WantRead));
    let sh = server_hello(&mut server);
    assert_eq!(sh.cipher_suite, hrr.cipher_suite);
}

#[test]
fn a_second_client_hello_still_without_a_key_share_is_an_illegal_parameter() {
    let mut server = Connection::server(server_config(16384), rng(11));
    let ch = without_key_share(&real_client_hello(12));
    assert_eq!(send_hello(&mut server, &ch), Err(ConnError::WantRead));
    hello_retry_request(&mut server);
    let r = send_hello(&mut server, &ch);
    assert_refused(
        &mut server,
        r,
        misbehaved(PeerMisbehaved::IllegalParameter(
            "no X25519 key share after HRR",
        )),
        A::IllegalParameter,
    );
}

#[test]
fn a_server_that_always_retries_asks_a_client_without_a_share_for_both_a_share_and_a_cookie() {
    let mut server = Connection::server(
        server_config_with(HelloRetryPolicy::AlwaysWithCookie),
        rng(13),
    );
    let ch = real_client_hello(14);
    assert_eq!(
        send_hello(&mut server, &without_key_share(&ch)),
        Err(ConnError::WantRead)
    );
    let hrr = hello_retry_request(&mut server);
    assert_eq!(hrr.selected_group(), Some(NamedGroup::X25519));
    let cookie = hrr.cookie().expect("a cookie").to_vec();
    let ch2 = with_extension(&ch, ClientExtension::Cookie(cookie));
    assert_eq!(send_hello(&mut server, &ch2), Err(ConnError::WantRead));
    server_hello(&mut server);
}

#[test]
fn a_server_that_always_retries_sends_a_client_with_a_share_a_cookie_and_no_key_share_request() {
    let mut server = Connection::server(
        server_config_with(HelloRetryPolicy::AlwaysWithCookie),
        rng(15),
    );
    assert_eq!(
        send_hello(&mut server, &real_client_hello(16)),
        Err(ConnError::WantRead)
    );
    let hrr = hello_retry_request(&mut server);
    assert_eq!(hrr.selected_group(), None);
    assert_eq!(hrr.cookie().map(<[u8]>::len), Some(16));
    assert!(hrr
        .extensions
        .contains(&HelloRetryExtension::SupportedVersions(
            ProtocolVersion::Tls13
        )));
}

/// A server that always retries, after its HelloRetryRequest for `ch`; returns the cookie.
fn after_retry(seed: u64, ch: &ClientHello) -> (Connection, Vec<u8>) {
    let mut server = Connection::server(
        server_config_with(HelloRetryPolicy::AlwaysWithCookie),
        rng(seed),
    );
    assert_eq!(send_hello(&mut server, ch), Err(ConnError::WantRead));
    let cookie = hello_retry_request(&mut server)
        .cookie()
        .expect("a cookie")
        .to_vec();
    (server, cookie)
}

#[test]
fn a_second_client_hello_with_another_cookie_or_none_is_an_illegal_parameter() {
    let ch = real_client_hello(17);
    let (mut server, cookie) = after_retry(18, &ch);
    let mut wrong = cookie.clone();
    wrong[0] ^= 1;
    let r = send_hello(
        &mut server,
        &with_extension(&ch, ClientExtension::Cookie(wrong)),
    );
    let cookie_error = misbehaved(PeerMisbehaved::IllegalParameter("cookie"));
    assert_refused(&mut server, r, cookie_error.clone(), A::IllegalParameter);

    let (mut server, _) = after_retry(19, &ch);
    let r = send_hello(&mut server, &ch);
    assert_refused(&mut server, r, cookie_error, A::IllegalParameter);
}

#[test]
fn a_second_client_hello_echoing_the_cookie_gets_a_server_hello() {
    let ch = real_client_hello(20);
    let (mut server, cookie) = after_retry(21, &ch);
    let ch2 = with_extension(&ch, ClientExtension::Cookie(cookie));
    assert_eq!(send_hello(&mut server, &ch2), Err(ConnError::WantRead));
    server_hello(&mut server);
}

#[test]
fn a_second_client_hello_offering_early_data_is_an_illegal_parameter() {
    let ch = real_client_hello(22);
    let (mut server, cookie) = after_retry(23, &ch);
    let ch2 = with_extension(&ch, ClientExtension::Cookie(cookie));
    let ch2 = with_extension(&ch2, ClientExtension::EarlyData);
    let r = send_hello(&mut server, &ch2);
    assert_refused(
        &mut server,
        r,
        misbehaved(PeerMisbehaved::IllegalParameter(
            "early_data in second ClientHello",
        )),
        A::IllegalParameter,
    );
}

#[test]
fn a_second_client_hello_offering_only_another_cipher_suite_is_an_illegal_parameter() {
    let ch = real_client_hello(24);
    let (mut server, cookie) = after_retry(25, &ch);
    let ch2 = edited(
        &with_extension(&ch, ClientExtension::Cookie(cookie)),
        |ch| ch.cipher_suites = vec![TLS13_CHACHA20_POLY1305_SHA256.suite],
    );
    assert_ne!(
        ServerConfig::new(test_identity::ed25519()).cipher_suites[0].suite,
        TLS13_CHACHA20_POLY1305_SHA256.suite,
        "the HelloRetryRequest chose another suite"
    );
    let r = send_hello(&mut server, &ch2);
    assert_refused(
        &mut server,
        r,
        misbehaved(PeerMisbehaved::IllegalParameter("suite changed after HRR")),
        A::IllegalParameter,
    );
}

// ----- ALPN ----------------------------------------------------------------------------

fn alpn_pair(client: &[&[u8]], server: &[&[u8]], seed: u64) -> Pair {
    let mut cc = ClientConfig::new(ServerTrust::test_ca());
    cc.alpn_protocols = client.iter().map(|p| p.to_vec()).collect();
    let mut sc = ServerConfig::new(test_identity::ed25519());
    sc.alpn_protocols = server.iter().map(|p| p.to_vec()).collect();
    Pair::new(&Arc::new(cc), &Arc::new(sc), None, seed)
}

#[test]
fn the_server_picks_its_most_preferred_protocol_the_client_offers_and_both_sides_report_it() {
    let mut pair = alpn_pair(&[b"h2", b"http/1.1"], &[b"http/1.1", b"h2"], 26);
    assert_eq!(
        pair.server.alpn_protocol(),
        None,
        "not before the ClientHello"
    );
    pair.handshake();
    assert_eq!(pair.server.alpn_protocol(), Some(&b"http/1.1"[..]));
    assert_eq!(pair.client.alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[test]
fn a_server_without_alpn_ignores_the_clients_offer_and_neither_side_reports_a_protocol() {
    let mut pair = alpn_pair(&[b"h2"], &[], 27);
    pair.handshake();
    assert_eq!(pair.server.alpn_protocol(), None);
    assert_eq!(pair.client.alpn_protocol(), None);
}

#[test]
fn a_client_without_alpn_negotiates_no_protocol_with_a_server_that_has_alpn() {
    let mut pair = alpn_pair(&[], &[b"h2"], 28);
    pair.handshake();
    assert_eq!(pair.server.alpn_protocol(), None);
    assert_eq!(pair.client.alpn_protocol(), None);
}

#[test]
fn a_client_offering_no_protocol_the_server_speaks_gets_no_application_protocol() {
    let mut pair = alpn_pair(&[b"spdy/3"], &[b"h2"], 29);
    assert_eq!(pair.client.do_handshake(NOW), Err(ConnError::WantRead));
    pair.client_to_server();
    let r = pair.server.do_handshake(NOW);
    assert_refused(
        &mut pair.server,
        r,
        misbehaved(PeerMisbehaved::NoApplicationProtocol),
        A::NoApplicationProtocol,
    );
}

// ----- server_name acknowledgement ---------------------------------------------------

/// The EncryptedExtensions a server sent to a real client resuming `session` (or not).
fn encrypted_extensions(resume: bool, seed: u64) -> Vec<ServerExtension> {
    let (cc, sc) = (client_config(), server_config(16384));
    let session = if resume {
        Some(tickets_from_full_handshake(&cc, &sc, seed).pop().unwrap())
    } else {
        None
    };
    let mut client = Connection::client(cc, SERVER_NAME, session, rng(seed + 1));
    let mut server = Connection::server(sc, rng(seed + 2));
    assert_eq!(client.do_handshake(NOW), Err(ConnError::WantRead));
    move_bytes(&mut client, &mut server);
    assert_eq!(server.do_handshake(NOW), Err(ConnError::WantRead));
    let mut wire = Vec::new();
    server.write_tls(&mut wire);
    let events = server.take_events();
    let sh = wire_records(&wire).remove(0);
    let HandshakePayload::ServerHello(sh) =
        HandshakeMessage::read_bytes(&sh.payload).unwrap().payload
    else {
        panic!("a ServerHello first");
    };
    assert_eq!(sh.selected_psk_identity().is_some(), resume);
    let suite = suites::lookup(sh.cipher_suite).unwrap();
    let opened = open_sent(Side::Server, &events, &wire, suite);
    handshake_messages(&opened)
        .into_iter()
        .find_map(|m| match m {
            HandshakePayload::EncryptedExtensions(ee) => Some(ee),
            _ => None,
        })
        .expect("EncryptedExtensions")
}

#[test]
fn the_server_acknowledges_the_server_name_in_a_full_handshake_and_not_when_resuming() {
    // RFC 6066 3: the server includes an empty server_name extension when it used the
    // name; "When resuming a session, the server MUST NOT include a server_name extension".
    assert!(encrypted_extensions(false, 30).contains(&ServerExtension::ServerNameAck));
    assert!(!encrypted_extensions(true, 40).contains(&ServerExtension::ServerNameAck));
}

// ----- state trace ---------------------------------------------------------------------

fn states(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::StateEntered(name) => Some(*name),
            _ => None,
        })
        .collect()
}

#[test]
fn the_server_reports_each_state_it_enters_once_by_name() {
    let (cc, sc) = (client_config(), server_config(16384));
    let ticket = tickets_from_full_handshake(&cc, &sc, 50).pop().unwrap();

    let mut full = Pair::new(&cc, &sc, None, 51);
    full.handshake();
    assert_eq!(
        states(&full.server.take_events()),
        ["ExpectFinished", "ExpectTraffic"]
    );

    let mut zero_rtt = Pair::new(&cc, &sc, Some(ticket), 52);
    zero_rtt.client.write_early_data(b"early", NOW).unwrap();
    assert_eq!(zero_rtt.server_read_all_early_data(), b"early");
    zero_rtt.handshake();
    assert_eq!(
        states(&zero_rtt.server.take_events()),
        ["ExpectEarlyData", "ExpectFinished", "ExpectTraffic"]
    );

    let mut retry = Pair::new(
        &cc,
        &server_config_with(HelloRetryPolicy::AlwaysWithCookie),
        None,
        53,
    );
    retry.handshake();
    assert_eq!(
        states(&retry.server.take_events()),
        ["ExpectSecondClientHello", "ExpectFinished", "ExpectTraffic"]
    );
}
