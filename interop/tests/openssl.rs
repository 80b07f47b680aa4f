//! zerortt against the system OpenSSL 3 (through the `openssl` crate), both directions, in
//! memory. OpenSSL's statuses come from `SSL_get_early_data_status` (openssl_ffi). The
//! scenarios are in `zerortt_interop::scenario`; what is particular to OpenSSL is said where
//! it is passed.
//!
//! HelloRetryRequest from an OpenSSL server to zerortt's client (which supports X25519 only
//! and always shares it) is possible only with a cookie, through `SSL_stateless`; that is
//! tested with a full handshake. Not with early data: `SSL_stateless` clears the connection
//! before each ClientHello and then fails on the early data records that follow the first
//! one on the same stream ("unexpected message" in ssl3_read_bytes, OpenSSL 3.0.19), so it
//! cannot be combined with 0-RTT on one stream.

use openssl::ssl::{SslContext, SslSession};
use zerortt_core::conn::config::HelloRetryPolicy;
use zerortt_core::conn::events::PskRejectReason;
use zerortt_core::Event;
use zerortt_interop::openssl_peer::{self, Openssl, OpensslClientContext, ServerOptions};
use zerortt_interop::scenario::zerortt_server;
use zerortt_interop::scenario::{
    assert_resent, early_data, zerortt_client, Handshake, MAX_EARLY_DATA,
};
use zerortt_interop::zerortt::Zerortt;
use zerortt_interop::{pump, Status, Suite};

/// `SSL_get_early_data_status` on the server says `SSL_EARLY_DATA_REJECTED` for early data
/// it did not accept.
const REJECTED: Status = Status::Rejected;

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

fn default_server() -> SslContext {
    openssl_server(ServerOptions::default())
}

#[test]
fn a_zerortt_client_completes_a_full_handshake_with_an_openssl_server_and_gets_two_tickets() {
    zerortt_client::full_handshake_gives_tickets(&default_server(), 2);
}

#[test]
fn a_zerortt_client_resumes_and_openssl_accepts_and_reads_its_early_data_intact() {
    // statem_srvr.c: "In a resumption we only ever send a maximum of one new ticket."
    zerortt_client::resumed_early_data_is_accepted(&default_server(), 1);
}

#[test]
fn a_zerortt_client_and_an_openssl_server_do_0rtt_with_each_tls13_suite() {
    for suite in Suite::ALL {
        let server = openssl_server(ServerOptions {
            suites: vec![suite],
            ..ServerOptions::default()
        });
        zerortt_client::early_data_is_accepted_with_suite(&server, suite);
    }
}

#[test]
fn an_openssl_server_whose_callback_refuses_early_data_resumes_and_the_zerortt_client_resends() {
    let refusing = openssl_server(ServerOptions {
        refuse_early_data: true,
        ..ServerOptions::default()
    });
    let server = Openssl::server(&refusing, false, None).expect("OpenSSL server");
    zerortt_client::early_data_not_accepted_is_resent_as_1rtt(
        &refusing,
        server,
        16384,
        Handshake::Resumed,
        REJECTED,
    );
}

/// `SSL_set_max_early_data(0)` also turns off OpenSSL's stateful (single-use) tickets for
/// that connection, so the ticket is not found: a full handshake, early data rejected.
#[test]
fn an_openssl_server_with_max_early_data_zero_rejects_the_early_data_and_it_arrives_as_1rtt() {
    let server = default_server();
    let zero = Openssl::server(&server, false, Some(0)).expect("OpenSSL server");
    zerortt_client::early_data_not_accepted_is_resent_as_1rtt(
        &server,
        zero,
        16384,
        Handshake::Full,
        REJECTED,
    );
}

#[test]
fn a_ticket_unknown_to_the_openssl_server_gives_a_full_handshake_and_the_data_arrives_as_1rtt() {
    let other = Openssl::server(&default_server(), false, None).expect("OpenSSL server");
    zerortt_client::early_data_not_accepted_is_resent_as_1rtt(
        &default_server(),
        other,
        1000,
        Handshake::Full,
        REJECTED,
    );
}

/// With max_early_data > 0 and anti-replay on, OpenSSL removes a session from its cache when
/// it is used (SSL_read_early_data(3), REPLAY PROTECTION).
#[test]
fn a_reused_openssl_ticket_is_refused_the_second_time_and_the_data_arrives_as_1rtt() {
    zerortt_client::reused_ticket_is_refused_and_resent_as_1rtt(&default_server(), 500, REJECTED);
}

#[test]
fn a_zerortt_client_answers_the_hello_retry_request_of_a_stateless_openssl_server() {
    let server = openssl_server(ServerOptions {
        stateless_cookies: true,
        ..ServerOptions::default()
    });
    let stateless = Openssl::server(&server, true, None).expect("OpenSSL server");
    zerortt_client::hello_retry_request_is_answered(stateless, 2);
}

#[test]
fn sixteen_kib_of_early_data_from_a_zerortt_client_are_accepted_and_read_intact_by_openssl() {
    zerortt_client::sixteen_kib_are_accepted(&default_server());
}

#[test]
fn a_zerortt_client_in_middlebox_compatibility_mode_does_0rtt_with_an_openssl_server() {
    zerortt_client::middlebox_compat_does_0rtt(&default_server());
}

#[test]
fn a_zerortt_client_resumes_0rtt_with_an_openssl_server_under_the_alpn_protocol_they_agreed() {
    let server = openssl_server(ServerOptions {
        alpn: Some(b"h2".to_vec()),
        ..ServerOptions::default()
    });
    zerortt_client::alpn_is_agreed_for_0rtt(&server);
}

/// The server sends 0.5-RTT data with `SSL_write_early_data`.
#[test]
fn half_rtt_data_from_an_openssl_server_reaches_the_zerortt_client_before_it_finishes() {
    zerortt_client::half_rtt_data_reaches_the_client_before_it_finishes(
        &default_server(),
        Openssl::write_half_rtt,
    );
}

/// `SSL_key_update(3)` with `SSL_KEY_UPDATE_REQUESTED`.
#[test]
fn after_0rtt_an_openssl_server_key_update_is_answered_by_the_zerortt_client_and_data_flows() {
    zerortt_client::key_update_from_the_server_is_answered(&default_server(), |s| {
        s.request_key_update()
    });
}

// ----- OpenSSL client, zerortt server -----------------------------------------------------

fn openssl_client(suites: &[Suite], groups: Option<&str>) -> OpensslClientContext {
    OpensslClientContext::new(suites, groups).expect("OpenSSL client context")
}

/// OpenSSL sends a key share for its first group only: P-256, which zerortt does not take.
fn openssl_client_sharing_p256() -> OpensslClientContext {
    openssl_client(&[], Some("P-256:X25519"))
}

#[test]
fn an_openssl_client_completes_a_full_handshake_with_a_zerortt_server_and_gets_two_tickets() {
    let client = openssl_client(&[], None);
    zerortt_server::full_handshake_gives_tickets(&client);
    assert!(client
        .take_sessions()
        .iter()
        .all(|s| s.max_early_data() == MAX_EARLY_DATA));
}

#[test]
fn an_openssl_client_resumes_and_the_zerortt_server_accepts_and_reads_its_early_data() {
    zerortt_server::resumed_early_data_is_accepted(&openssl_client(&[], None));
}

#[test]
fn an_openssl_client_and_a_zerortt_server_do_0rtt_with_each_tls13_suite() {
    for suite in Suite::ALL {
        zerortt_server::early_data_is_accepted_with_suite(&openssl_client(&[suite], None), suite);
    }
}

#[test]
fn a_zerortt_server_with_early_data_off_resumes_and_the_openssl_client_resends_as_1rtt() {
    zerortt_server::early_data_off_resumes_and_the_client_resends_as_1rtt(&openssl_client(
        &[],
        None,
    ));
}

#[test]
fn an_openssl_session_unknown_to_the_zerortt_server_gives_a_full_handshake_and_1rtt_data() {
    zerortt_server::unknown_ticket_gives_a_full_handshake_and_1rtt_data(&openssl_client(&[], None));
}

#[test]
fn an_openssl_session_reused_is_refused_by_the_zerortt_server_and_the_data_arrives_as_1rtt() {
    let client = openssl_client(&[], None);
    let server = zerortt_server::server_config(&[]);
    zerortt_server::prime(&client, &server);
    let session = client.take_sessions().pop().expect("a session");
    // OpenSSL 3.0 refuses to offer the same SSL_SESSION object again once a connection has
    // used it (SSL_write_early_data fails), so the second offer is a copy decoded from DER,
    // as an application that persists sessions would make.
    let copy = SslSession::from_der(&session.to_der().expect("DER")).expect("session");
    let data = early_data(500);
    let connect = |session: &SslSession, seed| {
        let mut c = Openssl::client(&client, Some(session)).expect("OpenSSL client");
        let mut s = Zerortt::server(&server, seed);
        (pump(&mut c, &mut s, &data).expect("pump"), s)
    };
    let (first, _) = connect(&session, 2);
    assert_eq!(first.server_status, Status::Accepted);
    let (second, s) = connect(&copy, 3);
    assert!(s.events.contains(&Event::PskRejected {
        reason: PskRejectReason::NotInCache
    }));
    assert_resent(&second, &data, Handshake::Full, Status::Rejected);
}

/// The same reuse as a replay of the client's first flight (ClientHello and early data),
/// the only form of reuse the rustls client allows.
#[test]
fn a_replayed_openssl_client_hello_finds_its_ticket_used_and_its_early_data_is_not_read() {
    zerortt_server::replayed_client_hello_finds_its_ticket_used(&openssl_client(&[], None));
}

#[test]
fn an_openssl_client_sharing_only_p256_gets_a_hello_retry_request_from_zerortt_and_completes() {
    zerortt_server::hello_retry_request_for_a_key_share_is_answered(&openssl_client_sharing_p256());
}

/// The HelloRetryRequest is for the key share (the server's policy is the default).
#[test]
fn after_a_hello_retry_request_the_openssl_client_resends_its_rejected_early_data_as_1rtt() {
    zerortt_server::after_hello_retry_request_early_data_is_resent_as_1rtt(
        &openssl_client_sharing_p256(),
        HelloRetryPolicy::WhenNeeded,
    );
}

#[test]
fn after_a_cookie_hello_retry_request_the_openssl_client_resends_its_early_data_as_1rtt() {
    zerortt_server::after_hello_retry_request_early_data_is_resent_as_1rtt(
        &openssl_client(&[], None),
        HelloRetryPolicy::AlwaysWithCookie,
    );
}

#[test]
fn sixteen_kib_of_early_data_from_an_openssl_client_are_accepted_and_read_intact_by_zerortt() {
    zerortt_server::sixteen_kib_are_accepted(&openssl_client(&[], None));
}

#[test]
fn an_openssl_client_resumes_0rtt_with_a_zerortt_server_under_the_alpn_protocol_they_agreed() {
    let client = OpensslClientContext::with_alpn(&[], None, Some(b"h2")).expect("client");
    zerortt_server::alpn_is_agreed_for_0rtt(&client);
}

/// The OpenSSL client's `SSL_read` completes its handshake with the server's flight, then
/// reads the 0.5-RTT data.
#[test]
fn half_rtt_data_from_a_zerortt_server_reaches_the_openssl_client() {
    zerortt_server::half_rtt_data_reaches_the_client(&openssl_client(&[], None));
}

/// `SSL_key_update(3)` with `SSL_KEY_UPDATE_REQUESTED`.
#[test]
fn after_0rtt_an_openssl_client_key_update_is_answered_by_the_zerortt_server_and_data_flows() {
    zerortt_server::key_update_from_the_client_is_answered(&openssl_client(&[], None), |c| {
        c.request_key_update()
    });
}
