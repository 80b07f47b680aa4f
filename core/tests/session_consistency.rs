//! What a client may do with a session it holds, and what a server does with what a client
//! offers: psk_key_exchange_modes and tickets (RFC 9846 4.3.9, 4.7.1), the server name and
//! ALPN a session is bound to (4.7.1, 4.3.10; OpenSSL's INCONSISTENT_EARLY_DATA_SNI/ALPN),
//! ticket lifetime (4.3.11.1), the single Finish of read_early_data, and the key_share a
//! HelloRetryRequest may ask for (4.3.8). Each test failed before its rule was enforced.

#[path = "common/pair.rs"]
mod pair;
#[path = "common/scripted.rs"]
mod scripted;

use pair::*;
use scripted::*;
use std::sync::Arc;
use std::time::Duration;
use zerortt_core::codec::Codec;
use zerortt_core::conn::config::{ClientConfig, ServerConfig};
use zerortt_core::conn::events::{EarlyDataRejectReason, SessionNotOfferedReason};
use zerortt_core::crypto::hash::Transcript;
use zerortt_core::crypto::key_schedule::verify_data;
use zerortt_core::crypto::keylog::KeyLogLabel;
use zerortt_core::crypto::record_protection::{RecordDecrypter, RecordEncrypter};
use zerortt_core::crypto::suites;
use zerortt_core::msgs::alert::Alert;
use zerortt_core::msgs::deframer::HandshakeJoiner;
use zerortt_core::msgs::enums::{
    AlertDescription, CipherSuite, ContentType, ExtensionType, HandshakeType, NamedGroup,
    ProtocolVersion, PskKeyExchangeMode,
};
use zerortt_core::msgs::extensions::{ClientExtension, HelloRetryExtension};
use zerortt_core::msgs::handshake::{HandshakeMessage, HandshakePayload, HelloRetryRequest};
use zerortt_core::tickets::session::ClientSession;
use zerortt_core::time::Timestamp;
use zerortt_core::verify::ServerTrust;
use zerortt_core::{
    ApiMisuse, ConnError, Connection, EarlyDataStatus, Error, Event, PeerMisbehaved, ReadEarlyData,
};

const EARLY: &[u8] = b"GET /early";

fn server_events_rejection(events: &[Event]) -> Option<EarlyDataRejectReason> {
    events.iter().find_map(|e| match e {
        Event::EarlyDataRejected { reason } => Some(*reason),
        _ => None,
    })
}

fn resumed(events: &[Event]) -> Option<bool> {
    events.iter().find_map(|e| match e {
        Event::HandshakeComplete { resumed, .. } => Some(*resumed),
        _ => None,
    })
}

fn ticket_for(cc: &Arc<ClientConfig>, sc: &Arc<ServerConfig>, seed: u64) -> ClientSession {
    tickets_from_full_handshake(cc, sc, seed)
        .pop()
        .expect("a ticket from the full handshake")
}

/// A client for `server_name` and a server, moving bytes by hand.
struct Named {
    client: Connection,
    server: Connection,
    now: Timestamp,
}

impl Named {
    fn new(
        cc: &Arc<ClientConfig>,
        sc: &Arc<ServerConfig>,
        server_name: &str,
        session: Option<ClientSession>,
        now: Timestamp,
    ) -> Self {
        Self {
            client: Connection::client(cc.clone(), server_name, session, rng(21)),
            server: Connection::server(sc.clone(), rng(22)),
            now,
        }
    }

    fn client_output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.client.write_tls(&mut out);
        out
    }

    /// Server reads early data to Finish, then both complete; returns what it read.
    fn run(&mut self) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let mut server_reading = true;
        for _ in 0..40 {
            let wire = self.client_output();
            assert_eq!(self.server.read_tls(&wire), wire.len());
            if server_reading {
                match self.server.read_early_data(&mut buf, self.now) {
                    Ok(ReadEarlyData::Success(n)) => got.extend_from_slice(&buf[..n]),
                    Ok(ReadEarlyData::Finish) => server_reading = false,
                    Err(ConnError::WantRead) => {}
                    Err(e) => panic!("read_early_data: {e}"),
                }
            } else {
                let _ = self.server.do_handshake(self.now);
            }
            let mut back = Vec::new();
            self.server.write_tls(&mut back);
            assert_eq!(self.client.read_tls(&back), back.len());
            let _ = self.client.do_handshake(self.now);
            if self.client.is_init_finished() && self.server.is_init_finished() {
                return got;
            }
        }
        panic!("handshake did not complete: {:?}", self.client.error());
    }
}

// ----- psk_key_exchange_modes and tickets (RFC 9846 4.3.9, 4.7.1) -----------------------

#[test]
fn a_full_handshake_client_hello_offers_psk_dhe_ke_so_that_servers_send_tickets() {
    let mut client = Connection::client(client_config(), SERVER_NAME, None, rng(1));
    assert_eq!(
        client.do_handshake(Timestamp::SIM_EPOCH),
        Err(ConnError::WantRead)
    );
    let mut wire = Vec::new();
    client.write_tls(&mut wire);
    let flight = parse_client_flight(&wire);
    assert!(flight.hello.psk_offer().is_none(), "no session, no PSK");
    assert_eq!(
        flight.hello.psk_modes(),
        Some(&[PskKeyExchangeMode::PskDheKe][..])
    );
}

/// Runs a full handshake with a server whose client sent the ClientHello of a real
/// zerortt client with `edit` applied. The client part is scripted from the secrets the
/// server logs (the edited ClientHello breaks the real client's transcript). Returns the
/// server's events after the client's Finished.
fn full_handshake_with_edited_client_hello(edit: impl Fn(&mut Vec<ClientExtension>)) -> Vec<Event> {
    let now = Timestamp::SIM_EPOCH;
    let mut client = Connection::client(client_config(), SERVER_NAME, None, rng(3));
    let _ = client.do_handshake(now);
    let mut wire = Vec::new();
    client.write_tls(&mut wire);
    let mut hello = parse_client_flight(&wire).hello;
    edit(&mut hello.extensions);
    let hello_raw = HandshakeMessage::new(HandshakePayload::ClientHello(hello)).get_encoding();

    let sc = server_config(16384);
    let mut server = Connection::server(sc, rng(4));
    server.read_tls(&plaintext_record(ContentType::Handshake, &hello_raw));
    assert_eq!(server.do_handshake(now), Err(ConnError::WantRead));
    let mut events = server.take_events();
    let mut flight = Vec::new();
    server.write_tls(&mut flight);

    let server_hs = logged_secret(&events, KeyLogLabel::ServerHandshakeTrafficSecret).unwrap();
    let client_hs = logged_secret(&events, KeyLogLabel::ClientHandshakeTrafficSecret).unwrap();
    let suite = suites::lookup(CipherSuite::TLS13_AES_128_GCM_SHA256).unwrap();
    let mut transcript = Transcript::new(suite.hash);
    transcript.add(&hello_raw);
    let mut decrypter = RecordDecrypter::new(suite, &server_hs).unwrap();
    let mut joiner = HandshakeJoiner::new();
    let mut finished_seen = false;
    for record in records(&flight) {
        match record.typ {
            ContentType::Handshake => transcript.add(&record.payload), // ServerHello
            ContentType::ApplicationData => {
                let (typ, content) = decrypter
                    .decrypt(&record.header(), &record.payload)
                    .unwrap();
                assert_eq!(typ, ContentType::Handshake);
                joiner.push(&content).unwrap();
                while let Some((msg, raw)) = joiner.pop().unwrap() {
                    transcript.add(&raw);
                    finished_seen |= msg.typ == HandshakeType::Finished;
                }
            }
            _ => {}
        }
    }
    assert!(finished_seen, "the server's flight ends with Finished");
    let fin = verify_data(&client_hs, &transcript.current_hash());
    let fin_raw =
        HandshakeMessage::new(HandshakePayload::Finished(fin.as_ref().to_vec())).get_encoding();
    let mut encrypter = RecordEncrypter::new(suite, &client_hs).unwrap();
    server.read_tls(
        &encrypter
            .encrypt(ContentType::Handshake, &fin_raw, 0)
            .unwrap(),
    );
    assert_eq!(server.do_handshake(now), Ok(()));
    events.extend(server.take_events());
    events
}

fn tickets_issued(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::TicketIssued { .. }))
        .count()
}

#[test]
fn a_server_sends_tickets_to_a_client_that_offered_psk_dhe_ke() {
    let events = full_handshake_with_edited_client_hello(|_| {});
    assert_eq!(
        tickets_issued(&events),
        2,
        "ServerConfig's default num_tickets"
    );
}

#[test]
fn a_server_sends_no_ticket_to_a_client_that_offered_no_psk_key_exchange_modes() {
    let events = full_handshake_with_edited_client_hello(|exts| {
        exts.retain(|e| !matches!(e, ClientExtension::PskKeyExchangeModes(_)));
    });
    assert_eq!(resumed(&events), Some(false), "the handshake completed");
    assert_eq!(tickets_issued(&events), 0);
}

#[test]
fn a_server_sends_no_ticket_to_a_client_that_offered_only_psk_ke() {
    let events = full_handshake_with_edited_client_hello(|exts| {
        for e in exts.iter_mut() {
            if let ClientExtension::PskKeyExchangeModes(modes) = e {
                *modes = vec![PskKeyExchangeMode::PskKe];
            }
        }
    });
    assert_eq!(resumed(&events), Some(false));
    assert_eq!(tickets_issued(&events), 0);
}

#[test]
fn a_server_aborts_a_pre_shared_key_offer_without_psk_key_exchange_modes() {
    let (cc, sc) = (client_config(), server_config(16384));
    let session = ticket_for(&cc, &sc, 5);
    let mut client = Connection::client(cc, SERVER_NAME, Some(session), rng(6));
    let _ = client.do_handshake(Timestamp::SIM_EPOCH);
    let mut wire = Vec::new();
    client.write_tls(&mut wire);
    let mut hello = parse_client_flight(&wire).hello;
    assert!(hello.psk_offer().is_some());
    hello
        .extensions
        .retain(|e| !matches!(e, ClientExtension::PskKeyExchangeModes(_)));
    let raw = HandshakeMessage::new(HandshakePayload::ClientHello(hello)).get_encoding();
    let mut server = Connection::server(sc, rng(7));
    server.read_tls(&plaintext_record(ContentType::Handshake, &raw));
    let expected = Error::PeerMisbehaved(PeerMisbehaved::MissingExtension(
        ExtensionType::PskKeyExchangeModes,
    ));
    assert_eq!(
        server.do_handshake(Timestamp::SIM_EPOCH),
        Err(ConnError::Fatal(expected.clone()))
    );
    assert_eq!(expected.alert(), Some(AlertDescription::MissingExtension));
    let mut events = Vec::new();
    let (alert, _) = take_written_alert(&mut server, &mut events);
    assert_eq!(
        alert,
        Some(Alert::fatal(AlertDescription::MissingExtension))
    );
}

// ----- the server name a session is bound to (RFC 9846 4.7.1) --------------------------

#[test]
fn write_early_data_refuses_a_session_from_another_server_name_and_the_handshake_still_resumes() {
    let (cc, sc) = (client_config(), server_config(16384));
    let session = ticket_for(&cc, &sc, 8);
    assert_eq!(session.server_name.as_deref(), Some(SERVER_NAME));
    let mut named = Named::new(
        &cc,
        &sc,
        "zerortt.test",
        Some(session),
        Timestamp::SIM_EPOCH,
    );
    assert_eq!(
        named.client.write_early_data(EARLY, named.now),
        Err(ConnError::Misuse(ApiMisuse::InconsistentEarlyDataSni))
    );
    assert!(named.client_output().is_empty(), "nothing was written");
    // The certificate covers zerortt.test too: resuming is allowed, without early data.
    let got = named.run();
    assert!(got.is_empty());
    assert_eq!(resumed(&named.server.take_events()), Some(true));
    assert_eq!(named.client.early_data_status(), EarlyDataStatus::NotSent);
    assert_eq!(named.server.early_data_status(), EarlyDataStatus::NotSent);
}

#[test]
fn a_client_never_offers_a_session_to_a_name_its_certificate_does_not_cover() {
    let (cc, sc) = (client_config(), server_config(16384));
    let mut session = ticket_for(&cc, &sc, 9);
    assert!(
        session.server_cert.is_some(),
        "the ticket keeps the certificate"
    );
    // Even with no name recorded, the certificate decides.
    session.server_name = None;
    let mut client = Connection::client(cc, "other.test", Some(session), rng(10));
    assert_eq!(
        client.write_early_data(EARLY, Timestamp::SIM_EPOCH),
        Err(ConnError::Misuse(ApiMisuse::InconsistentEarlyDataSni))
    );
    let mut wire = Vec::new();
    assert_eq!(client.write_tls(&mut wire), 0, "nothing was written");
    assert_eq!(
        client.do_handshake(Timestamp::SIM_EPOCH),
        Err(ConnError::WantRead)
    );
    client.write_tls(&mut wire);
    let hello = parse_client_flight(&wire).hello;
    assert!(hello.psk_offer().is_none(), "no pre_shared_key");
    assert!(!hello.early_data_offered());
    assert!(client.take_events().contains(&Event::SessionNotOffered {
        reason: SessionNotOfferedReason::CertificateDoesNotCoverServerName
    }));
}

#[test]
fn a_session_kept_across_a_resumption_still_knows_the_original_certificate() {
    let (cc, sc) = (client_config(), server_config(16384));
    let first = ticket_for(&cc, &sc, 11);
    let mut pair = Pair::new(&cc, &sc, Some(first.clone()), 12);
    pair.handshake();
    pair.server_to_client();
    let mut buf = [0u8; 16];
    let _ = pair.client.read(&mut buf, pair.now);
    let second = pair.client.take_new_sessions().pop().expect("a ticket");
    assert_eq!(resumed(&pair.server.take_events()), Some(true));
    assert_eq!(second.server_cert, first.server_cert);
}

#[test]
fn a_server_rejects_early_data_for_another_server_name_and_still_resumes() {
    let (cc, sc) = (client_config(), server_config(16384));
    let mut session = ticket_for(&cc, &sc, 13);
    // A client that does not check names (the session forgot it); the certificate covers
    // zerortt.test, so the client sends early data. The server's session says localhost.
    session.server_name = None;
    let mut named = Named::new(
        &cc,
        &sc,
        "zerortt.test",
        Some(session),
        Timestamp::SIM_EPOCH,
    );
    assert_eq!(
        named.client.write_early_data(EARLY, named.now),
        Ok(EARLY.len())
    );
    let got = named.run();
    assert!(got.is_empty(), "no early data was accepted");
    let events = named.server.take_events();
    assert_eq!(
        server_events_rejection(&events),
        Some(EarlyDataRejectReason::ServerNameMismatch)
    );
    assert_eq!(resumed(&events), Some(true));
    assert_eq!(named.client.early_data_status(), EarlyDataStatus::Rejected);
    assert_eq!(named.server.early_data_status(), EarlyDataStatus::Rejected);
}

fn external_psk_session() -> ClientSession {
    let mut s = ClientSession::external(
        CipherSuite::TLS13_AES_128_GCM_SHA256,
        b"psk-identity".to_vec(),
        vec![0x11; 32],
    );
    s.set_max_early_data(1024);
    s
}

#[test]
fn write_early_data_refuses_an_external_psk_recorded_for_another_server_name() {
    let mut session = external_psk_session();
    session.server_name = Some("localhost".into());
    let mut client = Connection::client(client_config(), "zerortt.test", Some(session), rng(14));
    assert_eq!(
        client.write_early_data(EARLY, Timestamp::SIM_EPOCH),
        Err(ConnError::Misuse(ApiMisuse::InconsistentEarlyDataSni))
    );
    let mut wire = Vec::new();
    assert_eq!(client.write_tls(&mut wire), 0);
}

// ----- ALPN (RFC 9846 4.3.10) ----------------------------------------------------------

fn alpn_client(protocols: &[&[u8]]) -> Arc<ClientConfig> {
    let mut c = ClientConfig::new(ServerTrust::test_ca());
    c.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
    Arc::new(c)
}

#[test]
fn write_early_data_refuses_a_session_whose_alpn_the_client_no_longer_offers() {
    let sc = {
        let mut c = ServerConfig::new(zerortt_core::identity::test_identity::ed25519());
        c.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        c.set_max_early_data(16384);
        Arc::new(c)
    };
    let session = ticket_for(&alpn_client(&[b"h2"]), &sc, 15);
    assert_eq!(session.alpn.as_deref(), Some(&b"h2"[..]));
    for offered in [&[&b"http/1.1"[..]][..], &[]] {
        let cc = alpn_client(offered);
        let mut client = Connection::client(cc, SERVER_NAME, Some(session.clone()), rng(16));
        assert_eq!(
            client.write_early_data(EARLY, Timestamp::SIM_EPOCH),
            Err(ConnError::Misuse(ApiMisuse::InconsistentEarlyDataAlpn)),
            "offering {offered:?}"
        );
        let mut wire = Vec::new();
        assert_eq!(client.write_tls(&mut wire), 0, "nothing was written");
    }
    // Still offered: early data goes out.
    let cc = alpn_client(&[b"http/1.1", b"h2"]);
    let mut client = Connection::client(cc, SERVER_NAME, Some(session), rng(17));
    assert_eq!(
        client.write_early_data(EARLY, Timestamp::SIM_EPOCH),
        Ok(EARLY.len())
    );
}

#[test]
fn write_early_data_refuses_an_external_psk_whose_alpn_the_client_does_not_offer() {
    let mut session = external_psk_session();
    session.alpn = Some(b"h2".to_vec());
    let mut client = Connection::client(client_config(), SERVER_NAME, Some(session), rng(18));
    assert_eq!(
        client.write_early_data(EARLY, Timestamp::SIM_EPOCH),
        Err(ConnError::Misuse(ApiMisuse::InconsistentEarlyDataAlpn))
    );
}

// ----- ticket lifetime (RFC 9846 4.3.11.1) ---------------------------------------------

#[test]
fn an_expired_ticket_is_neither_offered_nor_used_for_early_data() {
    let (cc, sc) = (client_config(), server_config(16384));
    let session = ticket_for(&cc, &sc, 19);
    let later = session
        .received_at
        .saturating_add(Duration::from_secs(u64::from(session.lifetime_s) + 1));
    let mut named = Named::new(&cc, &sc, SERVER_NAME, Some(session), later);
    assert_eq!(
        named.client.write_early_data(EARLY, later),
        Err(ConnError::Misuse(ApiMisuse::SessionExpired))
    );
    assert!(named.client_output().is_empty(), "nothing was written");
    assert_eq!(named.client.do_handshake(later), Err(ConnError::WantRead));
    let wire = named.client_output();
    let hello = parse_client_flight(&wire).hello;
    assert!(hello.psk_offer().is_none(), "no pre_shared_key");
    assert!(!hello.early_data_offered());
    assert!(named
        .client
        .take_events()
        .contains(&Event::SessionNotOffered {
            reason: SessionNotOfferedReason::Expired
        }));
    named.server.read_tls(&wire);
    named.run();
    assert_eq!(resumed(&named.server.take_events()), Some(false));
}

// ----- read_early_data returns Finish once (SSL_read_early_data(3)) --------------------

#[test]
fn read_early_data_returns_finish_exactly_once_and_later_calls_are_misuse() {
    let (cc, sc) = (client_config(), server_config(16384));
    let session = ticket_for(&cc, &sc, 20);
    let mut pair = Pair::new(&cc, &sc, Some(session), 21);
    pair.client.write_early_data(EARLY, pair.now).unwrap();
    assert_eq!(pair.server_read_all_early_data(), EARLY);
    let mut buf = [0u8; 64];
    let status = pair.server.early_data_status();
    // Before the handshake completes.
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Err(ConnError::Misuse(ApiMisuse::ReadEarlyDataAfterFinish))
    );
    assert!(!pair.server.is_init_finished());
    assert_eq!(pair.server.early_data_status(), status, "no state change");
    pair.handshake();
    // After it completes.
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Err(ConnError::Misuse(ApiMisuse::ReadEarlyDataAfterFinish))
    );
    assert_eq!(pair.server.error(), None, "misuse is not fatal");
    assert_eq!(pair.server.early_data_status(), EarlyDataStatus::Accepted);
}

#[test]
fn read_early_data_returns_finish_once_when_no_early_data_was_sent() {
    let (cc, sc) = (client_config(), server_config(16384));
    let mut pair = Pair::new(&cc, &sc, None, 22);
    let _ = pair.client.do_handshake(pair.now);
    assert_eq!(pair.server_read_all_early_data(), b"");
    let mut buf = [0u8; 8];
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Err(ConnError::Misuse(ApiMisuse::ReadEarlyDataAfterFinish))
    );
    pair.handshake();
    assert_eq!(pair.server.early_data_status(), EarlyDataStatus::NotSent);
}

// ----- HelloRetryRequest key_share (RFC 9846 4.3.8) ------------------------------------

#[test]
fn a_client_aborts_a_hello_retry_request_that_selects_the_group_it_already_sent_a_share_for() {
    for with_cookie in [true, false] {
        let mut client = Connection::client(client_config(), SERVER_NAME, None, rng(23));
        let _ = client.do_handshake(Timestamp::SIM_EPOCH);
        let mut wire = Vec::new();
        client.write_tls(&mut wire);
        let flight = parse_client_flight(&wire);
        let mut extensions = vec![
            HelloRetryExtension::SupportedVersions(ProtocolVersion::Tls13),
            HelloRetryExtension::KeyShare(NamedGroup::X25519),
        ];
        if with_cookie {
            extensions.push(HelloRetryExtension::Cookie(b"cookie".to_vec()));
        }
        let hrr = HandshakeMessage::new(HandshakePayload::HelloRetryRequest(HelloRetryRequest {
            legacy_version: ProtocolVersion::Tls12,
            legacy_session_id_echo: flight.hello.legacy_session_id.clone(),
            cipher_suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
            legacy_compression_method: 0,
            extensions,
        }))
        .get_encoding();
        client.read_tls(&plaintext_record(ContentType::Handshake, &hrr));
        let r = client.do_handshake(Timestamp::SIM_EPOCH);
        let expected = Error::PeerMisbehaved(PeerMisbehaved::IllegalParameter(
            "HelloRetryRequest selected_group",
        ));
        assert_eq!(r, Err(ConnError::Fatal(expected)), "cookie: {with_cookie}");
        let mut events = Vec::new();
        let (alert, _) = take_written_alert(&mut client, &mut events);
        assert_eq!(
            alert,
            Some(Alert::fatal(AlertDescription::IllegalParameter))
        );
    }
}
