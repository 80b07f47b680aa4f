//! zerortt against the system OpenSSL 3 (through the `openssl` crate), both directions, in
//! memory. OpenSSL's statuses come from `SSL_get_early_data_status` (openssl_ffi).
//!
//! HelloRetryRequest from an OpenSSL server to zerortt's client (which supports X25519 only
//! and always shares it) is possible only with a cookie, through `SSL_stateless`; that is
//! tested with a full handshake. Not with early data: `SSL_stateless` clears the connection
//! before each ClientHello and then fails on the early data records that follow the first
//! one on the same stream ("unexpected message" in ssl3_read_bytes, OpenSSL 3.0.19), so it
//! cannot be combined with 0-RTT on one stream.

use openssl::ssl::{SslContext, SslSession};
use std::sync::Arc;
use zerortt_core::conn::config::{ClientConfig, HelloRetryPolicy, ServerConfig};
use zerortt_core::conn::events::PskRejectReason;
use zerortt_core::msgs::enums::HandshakeType;
use zerortt_core::tickets::session::ClientSession;
use zerortt_core::Event;
use zerortt_interop::openssl_ffi;
use zerortt_interop::openssl_peer::{self, Openssl, OpensslClientContext, ServerOptions};
use zerortt_interop::zerortt::{self, Zerortt};
use zerortt_interop::{complete_handshake, pump, ClientEnd, Outcome, ServerEnd, Status, Suite};

/// Early data whose every byte depends on its position.
fn early_data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// `got == want`, reported by length and first difference rather than by dumping bytes.
#[track_caller]
fn assert_bytes(got: &[u8], want: &[u8], what: &str) {
    let first_diff = got.iter().zip(want).position(|(a, b)| a != b);
    assert!(
        got == want,
        "{what}: got {} bytes, want {}, first difference at {first_diff:?}",
        got.len(),
        want.len()
    );
}

#[test]
fn the_system_openssl_is_version_3() {
    assert!(
        openssl_peer::version().starts_with("OpenSSL 3."),
        "{}",
        openssl_peer::version()
    );
}

// ----- zerortt client, OpenSSL server -----------------------------------------------------

fn openssl_server(options: ServerOptions) -> SslContext {
    openssl_peer::server_context(&options).expect("OpenSSL server context")
}

/// One connection from a zerortt client (`session`, `early`) to an OpenSSL server.
fn zerortt_to_openssl(
    server: &SslContext,
    suites: &[Suite],
    session: Option<ClientSession>,
    early: &[u8],
    seed: u64,
) -> (Outcome, Zerortt) {
    let mut s = Openssl::server(server, false, None).expect("OpenSSL server");
    zerortt_to(&mut s, suites, session, early, seed)
}

fn zerortt_to(
    server: &mut Openssl,
    suites: &[Suite],
    session: Option<ClientSession>,
    early: &[u8],
    seed: u64,
) -> (Outcome, Zerortt) {
    zerortt_config_to(server, zerortt::client_config(suites), session, early, seed)
}

fn zerortt_config_to(
    server: &mut Openssl,
    config: ClientConfig,
    session: Option<ClientSession>,
    early: &[u8],
    seed: u64,
) -> (Outcome, Zerortt) {
    let mut client = Zerortt::client(config, session, seed);
    let outcome = pump(&mut client, server, early).expect("zerortt client to OpenSSL");
    (outcome, client)
}

/// The newest ticket a full handshake from a zerortt client to `server` gives.
fn ticket_from_openssl(server: &SslContext, suites: &[Suite]) -> ClientSession {
    let (outcome, mut client) = zerortt_to_openssl(server, suites, None, b"", 1);
    assert_eq!(outcome.tickets, 2, "OpenSSL sends two tickets");
    client.sessions.pop().expect("a ticket")
}

#[test]
fn a_zerortt_client_completes_a_full_handshake_with_an_openssl_server_and_gets_two_tickets() {
    let server = openssl_server(ServerOptions::default());
    let (outcome, client) = zerortt_to_openssl(&server, &[], None, b"", 1);
    assert!(!outcome.client_resumed && !outcome.server_resumed);
    assert_eq!(outcome.reply_read, zerortt_interop::pump::REPLY);
    assert_eq!(outcome.tickets, 2);
    assert!(client.sessions.iter().all(|s| s.max_early_data() == 16384));
}

#[test]
fn a_zerortt_client_resumes_and_openssl_accepts_and_reads_its_early_data_intact() {
    let server = openssl_server(ServerOptions::default());
    let ticket = ticket_from_openssl(&server, &[]);
    let data = early_data(1000);
    let (outcome, _) = zerortt_to_openssl(&server, &[], Some(ticket), &data, 2);
    assert_eq!(outcome.early_written, data.len());
    assert_eq!(
        outcome.early_read, data,
        "SSL_read_early_data returned it intact"
    );
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
    assert!(outcome.client_resumed && outcome.server_resumed);
    assert!(!outcome.resent && outcome.app_read.is_empty());
    // statem_srvr.c: "In a resumption we only ever send a maximum of one new ticket."
    assert_eq!(outcome.tickets, 1);
}

#[test]
fn a_zerortt_client_and_an_openssl_server_do_0rtt_with_each_tls13_suite() {
    for suite in Suite::ALL {
        let server = openssl_server(ServerOptions {
            suites: vec![suite],
            ..ServerOptions::default()
        });
        let ticket = ticket_from_openssl(&server, &[suite]);
        let data = early_data(300);
        let (outcome, _) = zerortt_to_openssl(&server, &[suite], Some(ticket), &data, 2);
        assert_eq!(outcome.client_suite, Some(suite.code()), "{suite:?}");
        assert_eq!(outcome.server_suite, Some(suite.code()), "{suite:?}");
        assert_bytes(&outcome.early_read, &data, &format!("{suite:?}"));
        assert_eq!(outcome.client_status, Status::Accepted, "{suite:?}");
        assert_eq!(outcome.server_status, Status::Accepted, "{suite:?}");
    }
}

#[test]
fn an_openssl_server_whose_callback_refuses_early_data_resumes_and_the_zerortt_client_resends() {
    let refusing = openssl_server(ServerOptions {
        refuse_early_data: true,
        ..ServerOptions::default()
    });
    let ticket = ticket_from_openssl(&refusing, &[]);
    let data = early_data(16384);
    let (outcome, _) = zerortt_to_openssl(&refusing, &[], Some(ticket), &data, 2);
    assert!(outcome.client_resumed && outcome.server_resumed);
    assert!(outcome.early_read.is_empty());
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, Status::Rejected);
    assert!(outcome.resent);
    assert_eq!(
        outcome.app_read, data,
        "the resent data arrived as 1-RTT data"
    );
}

/// `SSL_set_max_early_data(0)` also turns off OpenSSL's stateful (single-use) tickets for
/// that connection, so the ticket is not found: a full handshake, early data rejected.
#[test]
fn an_openssl_server_with_max_early_data_zero_rejects_the_early_data_and_it_arrives_as_1rtt() {
    let server = openssl_server(ServerOptions::default());
    let ticket = ticket_from_openssl(&server, &[]);
    let data = early_data(16384);
    let mut s = Openssl::server(&server, false, Some(0)).expect("OpenSSL server");
    let (outcome, _) = zerortt_to(&mut s, &[], Some(ticket), &data, 2);
    assert!(!outcome.client_resumed && !outcome.server_resumed);
    assert!(outcome.early_read.is_empty());
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, Status::Rejected);
    assert_bytes(&outcome.app_read, &data, "1-RTT data read");
}

#[test]
fn a_ticket_unknown_to_the_openssl_server_gives_a_full_handshake_and_the_data_arrives_as_1rtt() {
    let ticket = ticket_from_openssl(&openssl_server(ServerOptions::default()), &[]);
    let other = openssl_server(ServerOptions::default());
    let data = early_data(1000);
    let (outcome, _) = zerortt_to_openssl(&other, &[], Some(ticket), &data, 2);
    assert!(!outcome.client_resumed && !outcome.server_resumed);
    assert!(outcome.early_read.is_empty());
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, Status::Rejected);
    assert_bytes(&outcome.app_read, &data, "1-RTT data read");
}

#[test]
fn a_reused_openssl_ticket_is_refused_the_second_time_and_the_data_arrives_as_1rtt() {
    let server = openssl_server(ServerOptions::default());
    let ticket = ticket_from_openssl(&server, &[]);
    let data = early_data(500);
    let (first, _) = zerortt_to_openssl(&server, &[], Some(ticket.clone()), &data, 2);
    assert_eq!(first.server_status, Status::Accepted);
    let (second, _) = zerortt_to_openssl(&server, &[], Some(ticket), &data, 3);
    assert!(
        !second.server_resumed,
        "OpenSSL removed the session from its cache"
    );
    assert!(second.early_read.is_empty());
    assert_eq!(second.client_status, Status::Rejected);
    assert_eq!(second.server_status, Status::Rejected);
    assert_bytes(&second.app_read, &data, "1-RTT data read");
}

#[test]
fn a_zerortt_client_answers_the_hello_retry_request_of_a_stateless_openssl_server() {
    let server = openssl_server(ServerOptions {
        stateless_cookies: true,
        ..ServerOptions::default()
    });
    let mut s = Openssl::server(&server, true, None).expect("OpenSSL server");
    let (outcome, client) = zerortt_to(&mut s, &[], None, b"", 1);
    assert!(client.saw_hello_retry_request());
    assert_eq!(outcome.reply_read, zerortt_interop::pump::REPLY);
    assert_eq!(outcome.tickets, 2);
}

#[test]
fn sixteen_kib_of_early_data_from_a_zerortt_client_are_accepted_and_read_intact_by_openssl() {
    let server = openssl_server(ServerOptions::default());
    let ticket = ticket_from_openssl(&server, &[]);
    let data = early_data(16384);
    let (outcome, _) = zerortt_to_openssl(&server, &[], Some(ticket), &data, 2);
    assert_eq!(outcome.early_written, 16384);
    assert_bytes(&outcome.early_read, &data, "early data read");
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
}

#[test]
fn a_zerortt_client_in_middlebox_compatibility_mode_does_0rtt_with_an_openssl_server() {
    let server = openssl_server(ServerOptions::default());
    let mut config = zerortt::client_config(&[]);
    config.middlebox_compat = true;
    let mut s = Openssl::server(&server, false, None).expect("OpenSSL server");
    let (_, mut client) = zerortt_config_to(&mut s, config.clone(), None, b"", 1);
    let ticket = client.sessions.pop().expect("a ticket");
    let data = early_data(1000);
    let mut s = Openssl::server(&server, false, None).expect("OpenSSL server");
    let (outcome, _) = zerortt_config_to(&mut s, config, Some(ticket), &data, 2);
    assert_bytes(&outcome.early_read, &data, "early data read");
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
}

#[test]
fn a_zerortt_client_resumes_0rtt_with_an_openssl_server_under_the_alpn_protocol_they_agreed() {
    let server = openssl_server(ServerOptions {
        alpn: Some(b"h2".to_vec()),
        ..ServerOptions::default()
    });
    let mut config = zerortt::client_config(&[]);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let mut s = Openssl::server(&server, false, None).expect("OpenSSL server");
    let (full, mut client) = zerortt_config_to(&mut s, config.clone(), None, b"", 1);
    assert_eq!(full.client_alpn.as_deref(), Some(&b"h2"[..]));
    let ticket = client.sessions.pop().expect("a ticket");
    assert_eq!(ticket.alpn.as_deref(), Some(&b"h2"[..]));
    let data = early_data(1000);
    let mut s = Openssl::server(&server, false, None).expect("OpenSSL server");
    let (outcome, _) = zerortt_config_to(&mut s, config, Some(ticket), &data, 2);
    assert_eq!(outcome.client_alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(outcome.server_alpn.as_deref(), Some(&b"h2"[..]));
    assert_bytes(&outcome.early_read, &data, "early data read");
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
}

/// SSL_write_early_data(3): a server "may also call SSL_write_early_data() to send data to
/// the client" after SSL_read_early_data first returned (0.5-RTT data); zerortt's client may
/// read while it still writes early data.
#[test]
fn half_rtt_data_from_an_openssl_server_reaches_the_zerortt_client_before_it_finishes() {
    let server = openssl_server(ServerOptions::default());
    let ticket = ticket_from_openssl(&server, &[]);
    let mut c = Zerortt::client(zerortt::client_config(&[]), Some(ticket), 2);
    let mut s = Openssl::server(&server, false, None).expect("OpenSSL server");
    let data = early_data(1000);
    assert_eq!(ClientEnd::write_early_data(&mut c, &data), Ok(data.len()));
    ServerEnd::give_input(&mut s, &ClientEnd::take_output(&mut c));
    let mut early = Vec::new();
    assert_eq!(
        ServerEnd::read_early_data(&mut s, &mut early),
        Ok(false),
        "EndOfEarlyData not yet"
    );
    assert_bytes(&early, &data, "early data read");
    assert_eq!(s.stream.write_early_data(b"half-RTT").ok(), Some(8));
    ClientEnd::give_input(&mut c, &ServerEnd::take_output(&mut s));
    let mut half = Vec::new();
    ClientEnd::read(&mut c, &mut half).expect("read in the early-data phase");
    assert_eq!(half, b"half-RTT");
    assert!(
        !c.conn.is_init_finished(),
        "the client has not sent its Finished yet"
    );
    complete_handshake(&mut c, &mut s, &mut early).expect("handshake");
    assert_bytes(&early, &data, "early data read");
    assert_eq!(ClientEnd::status(&mut c), Status::Accepted);
    assert_eq!(ServerEnd::status(&mut s), Status::Accepted);
}

/// RFC 9846 4.7.3: on a KeyUpdate with update_requested the receiver "MUST send a KeyUpdate
/// of its own".
#[test]
fn after_0rtt_an_openssl_server_key_update_is_answered_by_the_zerortt_client_and_data_flows() {
    let server = openssl_server(ServerOptions::default());
    let ticket = ticket_from_openssl(&server, &[]);
    let mut c = Zerortt::client(zerortt::client_config(&[]), Some(ticket), 2);
    let mut s = Openssl::server(&server, false, None).expect("OpenSSL server");
    let data = early_data(1000);
    assert_eq!(ClientEnd::write_early_data(&mut c, &data), Ok(data.len()));
    let mut early = Vec::new();
    complete_handshake(&mut c, &mut s, &mut early).expect("handshake");
    assert_bytes(&early, &data, "early data read");
    assert!(openssl_ffi::request_key_update(s.stream.ssl()));
    ServerEnd::write(&mut s, b"server, new keys").expect("write");
    ClientEnd::give_input(&mut c, &ServerEnd::take_output(&mut s));
    let mut got = Vec::new();
    ClientEnd::read(&mut c, &mut got).expect("read");
    assert_eq!(got, b"server, new keys");
    assert!(c
        .events
        .contains(&Event::HandshakeSent(HandshakeType::KeyUpdate)));
    ClientEnd::write(&mut c, b"client, new keys").expect("write");
    ServerEnd::give_input(&mut s, &ClientEnd::take_output(&mut c));
    let mut got = Vec::new();
    ServerEnd::read(&mut s, &mut got).expect("read");
    assert_eq!(got, b"client, new keys");
}

// ----- OpenSSL client, zerortt server -----------------------------------------------------

fn zerortt_server(max: u32, suites: &[Suite]) -> Arc<ServerConfig> {
    Arc::new(zerortt::server_config(max, suites))
}

fn openssl_client(suites: &[Suite], groups: Option<&str>) -> OpensslClientContext {
    OpensslClientContext::new(suites, groups).expect("OpenSSL client context")
}

/// One connection from an OpenSSL client on `client` (resuming `session`) to `server`.
fn openssl_to_zerortt(
    client: &OpensslClientContext,
    session: Option<&SslSession>,
    server: &Arc<ServerConfig>,
    early: &[u8],
    seed: u64,
) -> (Outcome, Zerortt) {
    let mut s = Zerortt::server(server, seed);
    let outcome = openssl_to(client, session, &mut s, early);
    (outcome, s)
}

fn openssl_to(
    client: &OpensslClientContext,
    session: Option<&SslSession>,
    server: &mut Zerortt,
    early: &[u8],
) -> Outcome {
    let mut c = Openssl::client(client, session).expect("OpenSSL client");
    pump(&mut c, server, early).expect("OpenSSL client to zerortt")
}

/// The newest session a full handshake from `client` to `server` gives.
fn session_from_zerortt(client: &OpensslClientContext, server: &Arc<ServerConfig>) -> SslSession {
    let (outcome, _) = openssl_to_zerortt(client, None, server, b"", 1);
    assert_eq!(outcome.tickets, 2);
    client.take_sessions().pop().expect("a session")
}

#[test]
fn an_openssl_client_completes_a_full_handshake_with_a_zerortt_server_and_gets_two_tickets() {
    let (client, server) = (openssl_client(&[], None), zerortt_server(16384, &[]));
    let (outcome, _) = openssl_to_zerortt(&client, None, &server, b"", 1);
    assert!(!outcome.client_resumed && !outcome.server_resumed);
    assert_eq!(outcome.reply_read, zerortt_interop::pump::REPLY);
    assert_eq!(outcome.tickets, 2);
    assert!(client
        .take_sessions()
        .iter()
        .all(|s| s.max_early_data() == 16384));
}

#[test]
fn an_openssl_client_resumes_and_the_zerortt_server_accepts_and_reads_its_early_data() {
    let (client, server) = (openssl_client(&[], None), zerortt_server(16384, &[]));
    let session = session_from_zerortt(&client, &server);
    let data = early_data(1000);
    let (outcome, _) = openssl_to_zerortt(&client, Some(&session), &server, &data, 2);
    assert_eq!(outcome.early_written, data.len());
    assert_eq!(
        outcome.early_read, data,
        "read_early_data returned it intact"
    );
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
    assert!(outcome.client_resumed && outcome.server_resumed);
    assert!(!outcome.resent && outcome.app_read.is_empty());
    assert_eq!(outcome.tickets, 2);
}

#[test]
fn an_openssl_client_and_a_zerortt_server_do_0rtt_with_each_tls13_suite() {
    for suite in Suite::ALL {
        let client = openssl_client(&[suite], None);
        let server = zerortt_server(16384, &[suite]);
        let session = session_from_zerortt(&client, &server);
        let data = early_data(300);
        let (outcome, _) = openssl_to_zerortt(&client, Some(&session), &server, &data, 2);
        assert_eq!(outcome.client_suite, Some(suite.code()), "{suite:?}");
        assert_eq!(outcome.server_suite, Some(suite.code()), "{suite:?}");
        assert_bytes(&outcome.early_read, &data, &format!("{suite:?}"));
        assert_eq!(outcome.client_status, Status::Accepted, "{suite:?}");
        assert_eq!(outcome.server_status, Status::Accepted, "{suite:?}");
    }
}

#[test]
fn a_zerortt_server_with_early_data_off_resumes_and_the_openssl_client_resends_as_1rtt() {
    let (client, server) = (openssl_client(&[], None), zerortt_server(16384, &[]));
    let session = session_from_zerortt(&client, &server);
    let data = early_data(16384);
    let mut s = Zerortt::server(&server, 2);
    s.conn.set_max_early_data(0);
    let outcome = openssl_to(&client, Some(&session), &mut s, &data);
    assert!(outcome.client_resumed && outcome.server_resumed);
    assert!(outcome.early_read.is_empty());
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, Status::Rejected);
    assert!(outcome.resent);
    assert_bytes(&outcome.app_read, &data, "1-RTT data read");
}

#[test]
fn an_openssl_session_unknown_to_the_zerortt_server_gives_a_full_handshake_and_1rtt_data() {
    let client = openssl_client(&[], None);
    let session = session_from_zerortt(&client, &zerortt_server(16384, &[]));
    let other = zerortt_server(16384, &[]);
    let data = early_data(1000);
    let (outcome, server) = openssl_to_zerortt(&client, Some(&session), &other, &data, 2);
    assert!(!outcome.client_resumed && !outcome.server_resumed);
    assert!(server.events.contains(&Event::PskRejected {
        reason: PskRejectReason::NotInCache
    }));
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, Status::Rejected);
    assert_bytes(&outcome.app_read, &data, "1-RTT data read");
}

#[test]
fn an_openssl_session_reused_is_refused_by_the_zerortt_server_and_the_data_arrives_as_1rtt() {
    let (client, server) = (openssl_client(&[], None), zerortt_server(16384, &[]));
    let session = session_from_zerortt(&client, &server);
    // OpenSSL 3.0 refuses to offer the same SSL_SESSION object again once a connection has
    // used it (SSL_write_early_data fails), so the second offer is a copy decoded from DER,
    // as an application that persists sessions would make.
    let copy = SslSession::from_der(&session.to_der().expect("DER")).expect("session");
    let data = early_data(500);
    let (first, _) = openssl_to_zerortt(&client, Some(&session), &server, &data, 2);
    assert_eq!(first.server_status, Status::Accepted);
    let (second, s) = openssl_to_zerortt(&client, Some(&copy), &server, &data, 3);
    assert!(!second.client_resumed && !second.server_resumed);
    assert!(s.events.contains(&Event::PskRejected {
        reason: PskRejectReason::NotInCache
    }));
    assert!(second.early_read.is_empty());
    assert_eq!(second.client_status, Status::Rejected);
    assert_eq!(second.server_status, Status::Rejected);
    assert_bytes(&second.app_read, &data, "1-RTT data read");
}

#[test]
fn an_openssl_client_sharing_only_p256_gets_a_hello_retry_request_from_zerortt_and_completes() {
    let client = openssl_client(&[], Some("P-256:X25519"));
    let server = zerortt_server(16384, &[]);
    let (outcome, s) = openssl_to_zerortt(&client, None, &server, b"", 1);
    assert!(s.saw_hello_retry_request());
    assert_eq!(outcome.reply_read, zerortt_interop::pump::REPLY);
    assert_eq!(outcome.tickets, 2);
}

#[test]
fn after_a_hello_retry_request_the_openssl_client_resends_its_rejected_early_data_as_1rtt() {
    // OpenSSL shares P-256 only, the zerortt server wants X25519.
    let client = openssl_client(&[], Some("P-256:X25519"));
    let server = zerortt_server(16384, &[]);
    let session = session_from_zerortt(&client, &server);
    let data = early_data(1000);
    let (outcome, s) = openssl_to_zerortt(&client, Some(&session), &server, &data, 2);
    assert!(s.saw_hello_retry_request());
    assert!(outcome.early_read.is_empty());
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, Status::Rejected);
    assert!(outcome.client_resumed && outcome.server_resumed);
    assert_bytes(&outcome.app_read, &data, "1-RTT data read");
}

#[test]
fn after_a_cookie_hello_retry_request_the_openssl_client_resends_its_early_data_as_1rtt() {
    let client = openssl_client(&[], None);
    let server = zerortt_server(16384, &[]);
    let session = session_from_zerortt(&client, &server);
    let mut retrying = zerortt::server_config(16384, &[]);
    retrying.session_cache = server.session_cache.clone();
    retrying.hello_retry = HelloRetryPolicy::AlwaysWithCookie;
    let data = early_data(1000);
    let (outcome, s) = openssl_to_zerortt(&client, Some(&session), &Arc::new(retrying), &data, 2);
    assert!(s.saw_hello_retry_request());
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, Status::Rejected);
    assert!(outcome.client_resumed && outcome.server_resumed);
    assert_bytes(&outcome.app_read, &data, "1-RTT data read");
}

#[test]
fn sixteen_kib_of_early_data_from_an_openssl_client_are_accepted_and_read_intact_by_zerortt() {
    let (client, server) = (openssl_client(&[], None), zerortt_server(16384, &[]));
    let session = session_from_zerortt(&client, &server);
    let data = early_data(16384);
    let (outcome, _) = openssl_to_zerortt(&client, Some(&session), &server, &data, 2);
    assert_eq!(outcome.early_written, 16384);
    assert_bytes(&outcome.early_read, &data, "early data read");
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
}

#[test]
fn an_openssl_client_resumes_0rtt_with_a_zerortt_server_under_the_alpn_protocol_they_agreed() {
    let client = OpensslClientContext::with_alpn(&[], None, Some(b"h2")).expect("client");
    let mut server = zerortt::server_config(16384, &[]);
    server.alpn_protocols = vec![b"h2".to_vec()];
    let server = Arc::new(server);
    let session = session_from_zerortt(&client, &server);
    let data = early_data(1000);
    let (outcome, _) = openssl_to_zerortt(&client, Some(&session), &server, &data, 2);
    assert_eq!(outcome.client_alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(outcome.server_alpn.as_deref(), Some(&b"h2"[..]));
    assert_bytes(&outcome.early_read, &data, "early data read");
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
}

/// The zerortt server's write_early_data (0.5-RTT data, after read_early_data first
/// returned) reaches the OpenSSL client, which reads it once it has completed its handshake.
#[test]
fn half_rtt_data_from_a_zerortt_server_reaches_the_openssl_client() {
    let (client, server) = (openssl_client(&[], None), zerortt_server(16384, &[]));
    let session = session_from_zerortt(&client, &server);
    let mut c = Openssl::client(&client, Some(&session)).expect("OpenSSL client");
    let mut s = Zerortt::server(&server, 2);
    let data = early_data(1000);
    assert_eq!(ClientEnd::write_early_data(&mut c, &data), Ok(data.len()));
    ServerEnd::give_input(&mut s, &ClientEnd::take_output(&mut c));
    let mut early = Vec::new();
    assert_eq!(
        ServerEnd::read_early_data(&mut s, &mut early),
        Ok(false),
        "EndOfEarlyData not yet"
    );
    assert_bytes(&early, &data, "early data read");
    assert_eq!(s.conn.write_early_data(b"half-RTT", s.now), Ok(8));
    ClientEnd::give_input(&mut c, &ServerEnd::take_output(&mut s));
    complete_handshake(&mut c, &mut s, &mut early).expect("handshake");
    assert_bytes(&early, &data, "early data read");
    let mut half = Vec::new();
    ClientEnd::read(&mut c, &mut half).expect("read");
    assert_eq!(half, b"half-RTT");
    assert_eq!(ClientEnd::status(&mut c), Status::Accepted);
    assert_eq!(ServerEnd::status(&mut s), Status::Accepted);
}

#[test]
fn after_0rtt_an_openssl_client_key_update_is_answered_by_the_zerortt_server_and_data_flows() {
    let (client, server) = (openssl_client(&[], None), zerortt_server(16384, &[]));
    let session = session_from_zerortt(&client, &server);
    let mut c = Openssl::client(&client, Some(&session)).expect("OpenSSL client");
    let mut s = Zerortt::server(&server, 2);
    let data = early_data(1000);
    assert_eq!(ClientEnd::write_early_data(&mut c, &data), Ok(data.len()));
    let mut early = Vec::new();
    complete_handshake(&mut c, &mut s, &mut early).expect("handshake");
    assert_bytes(&early, &data, "early data read");
    assert!(openssl_ffi::request_key_update(c.stream.ssl()));
    ClientEnd::write(&mut c, b"client, new keys").expect("write");
    ServerEnd::give_input(&mut s, &ClientEnd::take_output(&mut c));
    let mut got = Vec::new();
    ServerEnd::read(&mut s, &mut got).expect("read");
    assert_eq!(got, b"client, new keys");
    assert!(s
        .events
        .contains(&Event::HandshakeSent(HandshakeType::KeyUpdate)));
    ServerEnd::write(&mut s, b"server, new keys").expect("write");
    ClientEnd::give_input(&mut c, &ServerEnd::take_output(&mut s));
    let mut got = Vec::new();
    ClientEnd::read(&mut c, &mut got).expect("read");
    assert_eq!(got, b"server, new keys");
}
