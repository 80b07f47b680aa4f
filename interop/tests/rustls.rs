//! zerortt against rustls 0.23 (ring provider), both directions, in memory. The scenarios are
//! in `zerortt_interop::scenario`; what is particular to rustls is said where it is passed.
//!
//! Not covered here, because rustls cannot do it with a zerortt client: a HelloRetryRequest
//! from a rustls server. rustls's server sends one only for a key share group it supports
//! that the client did not share, and never with a cookie; zerortt's client supports X25519
//! only and always shares it. The other direction (rustls client, zerortt server) has both
//! kinds of HelloRetryRequest below.

use std::sync::Arc;
use zerortt_core::conn::config::HelloRetryPolicy;
use zerortt_interop::rustls_peer;
use zerortt_interop::scenario::{zerortt_client, zerortt_server, Handshake, MAX_EARLY_DATA};
use zerortt_interop::{Endpoint, Status, Suite};

/// rustls's server cannot tell early data not sent from rejected
/// (`ServerConnection::early_data()` is `None` for both).
const NOT_ACCEPTED: Status = Status::NotAccepted;

// ----- zerortt client, rustls server ------------------------------------------------------

/// A rustls server config offering `suites` with early data up to `max`, on `sessions`.
fn rustls_server(
    suites: &[Suite],
    max: u32,
    sessions: &Arc<dyn rustls::server::StoresServerSessions>,
) -> Arc<rustls::ServerConfig> {
    rustls_peer::server_config(rustls_peer::provider(suites, &[]), max, sessions.clone())
        .expect("rustls server config")
}

/// A rustls server config with all suites, early data up to [`MAX_EARLY_DATA`], a store of
/// its own.
fn default_server() -> Arc<rustls::ServerConfig> {
    rustls_server(&[], MAX_EARLY_DATA, &rustls_peer::session_storage())
}

#[test]
fn a_zerortt_client_completes_a_full_handshake_with_a_rustls_server_and_gets_two_tickets() {
    zerortt_client::full_handshake_gives_tickets(&default_server(), 2);
}

#[test]
fn a_zerortt_client_resumes_with_a_rustls_ticket_and_rustls_accepts_and_reads_its_early_data() {
    // rustls sends new tickets after a resumption too (two, as after a full handshake).
    zerortt_client::resumed_early_data_is_accepted(&default_server(), 2);
}

#[test]
fn a_zerortt_client_and_a_rustls_server_do_0rtt_with_each_tls13_suite() {
    for suite in Suite::ALL {
        let server = rustls_server(&[suite], MAX_EARLY_DATA, &rustls_peer::session_storage());
        zerortt_client::early_data_is_accepted_with_suite(&server, suite);
    }
}

#[test]
fn a_rustls_server_with_early_data_off_resumes_and_the_zerortt_client_resends_as_1rtt() {
    let sessions = rustls_peer::session_storage();
    let enabled = rustls_server(&[], MAX_EARLY_DATA, &sessions);
    let disabled = rustls_server(&[], 0, &sessions);
    let server = rustls_peer::RustlsServer::new(&disabled).expect("rustls server");
    zerortt_client::early_data_not_accepted_is_resent_as_1rtt(
        &enabled,
        server,
        1000,
        Handshake::Resumed,
        NOT_ACCEPTED,
    );
}

#[test]
fn a_ticket_unknown_to_the_rustls_server_gives_a_full_handshake_and_the_data_arrives_as_1rtt() {
    let other = rustls_peer::RustlsServer::new(&default_server()).expect("rustls server");
    zerortt_client::early_data_not_accepted_is_resent_as_1rtt(
        &default_server(),
        other,
        1000,
        Handshake::Full,
        NOT_ACCEPTED,
    );
}

/// rustls takes a TLS 1.3 session out of its store when it is used (module docs of
/// rustls_peer), so a ticket is single use.
#[test]
fn a_reused_rustls_ticket_is_refused_the_second_time_and_the_data_arrives_as_1rtt() {
    zerortt_client::reused_ticket_is_refused_and_resent_as_1rtt(
        &default_server(),
        500,
        NOT_ACCEPTED,
    );
}

/// rustls counts the rejected early data it skips in ciphertext bytes against
/// `max_early_data_size` (its documentation: "recommended to include some slop in this
/// value"); a full 16 KiB record is 16,401 bytes of ciphertext. And rustls 0.23.46 charges a
/// skipped record again on every later `process_new_packets` call until a record after it
/// decrypts (conn.rs `process_more_input`: a dropped record does not advance
/// `buffer_progress`), here twice: with 32,801 bytes of budget it fails with "cannot decrypt
/// peer's message", with 32,802 it skips. Hence the budget of two records plus slop.
/// The reused ticket is unknown the second time: full handshake, the 16 KiB skipped, then
/// resent.
#[test]
fn sixteen_kib_of_rejected_early_data_are_skipped_by_a_rustls_server_and_arrive_as_1rtt() {
    let budget = 2 * (16384 + 256);
    let server = rustls_server(&[], budget, &rustls_peer::session_storage());
    zerortt_client::reused_ticket_is_refused_and_resent_as_1rtt(&server, 16384, NOT_ACCEPTED);
}

#[test]
fn sixteen_kib_of_early_data_from_a_zerortt_client_are_accepted_and_read_intact_by_rustls() {
    zerortt_client::sixteen_kib_are_accepted(&default_server());
}

#[test]
fn a_zerortt_client_in_middlebox_compatibility_mode_does_0rtt_with_a_rustls_server() {
    zerortt_client::middlebox_compat_does_0rtt(&default_server());
}

#[test]
fn a_zerortt_client_resumes_0rtt_with_a_rustls_server_under_the_alpn_protocol_they_agreed() {
    let mut config = (*default_server()).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    zerortt_client::alpn_is_agreed_for_0rtt(&Arc::new(config));
}

/// rustls's `send_half_rtt_data`: the server's first application data goes out with its
/// handshake flight (0.5-RTT), written with the ordinary `write`.
#[test]
fn half_rtt_data_from_a_rustls_server_reaches_the_zerortt_client_before_it_finishes() {
    let mut config = (*default_server()).clone();
    config.send_half_rtt_data = true;
    zerortt_client::half_rtt_data_reaches_the_client_before_it_finishes(
        &Arc::new(config),
        |s, data| s.write(data),
    );
}

/// rustls's `refresh_traffic_keys` sends a KeyUpdate requesting an update.
#[test]
fn after_0rtt_a_rustls_server_key_update_is_answered_by_the_zerortt_client_and_data_flows() {
    zerortt_client::key_update_from_the_server_is_answered(&default_server(), |s| {
        s.conn.refresh_traffic_keys().is_ok()
    });
}

// ----- rustls client, zerortt server ------------------------------------------------------

/// A rustls client config offering `suites` and `groups`; its store keeps the tickets.
fn rustls_client(
    suites: &[Suite],
    groups: &[&'static dyn rustls::crypto::SupportedKxGroup],
) -> Arc<rustls::ClientConfig> {
    rustls_peer::client_config(rustls_peer::provider(suites, groups)).expect("rustls client")
}

/// rustls's client shares a key for its first group only.
fn rustls_client_sharing_p256() -> Arc<rustls::ClientConfig> {
    let groups = [
        rustls::crypto::ring::kx_group::SECP256R1,
        rustls::crypto::ring::kx_group::X25519,
    ];
    rustls_client(&[], &groups)
}

#[test]
fn a_rustls_client_completes_a_full_handshake_with_a_zerortt_server_and_gets_two_tickets() {
    zerortt_server::full_handshake_gives_tickets(&rustls_client(&[], &[]));
}

#[test]
fn a_rustls_client_resumes_and_the_zerortt_server_accepts_and_reads_its_early_data() {
    zerortt_server::resumed_early_data_is_accepted(&rustls_client(&[], &[]));
}

#[test]
fn a_rustls_client_and_a_zerortt_server_do_0rtt_with_each_tls13_suite() {
    for suite in Suite::ALL {
        zerortt_server::early_data_is_accepted_with_suite(&rustls_client(&[suite], &[]), suite);
    }
}

#[test]
fn a_zerortt_server_with_early_data_off_resumes_and_the_rustls_client_resends_as_1rtt() {
    zerortt_server::early_data_off_resumes_and_the_client_resends_as_1rtt(&rustls_client(&[], &[]));
}

#[test]
fn a_rustls_ticket_unknown_to_the_zerortt_server_gives_a_full_handshake_and_1rtt_data() {
    zerortt_server::unknown_ticket_gives_a_full_handshake_and_1rtt_data(&rustls_client(&[], &[]));
}

/// rustls's client never offers a TLS 1.3 ticket twice (its store hands each out once and
/// the value is not `Clone`), so the reuse is a replay of its first flight.
#[test]
fn a_replayed_rustls_client_hello_finds_its_ticket_used_and_its_early_data_is_not_read() {
    zerortt_server::replayed_client_hello_finds_its_ticket_used(&rustls_client(&[], &[]));
}

#[test]
fn a_rustls_client_sharing_only_p256_gets_a_hello_retry_request_from_zerortt_and_completes() {
    zerortt_server::hello_retry_request_for_a_key_share_is_answered(&rustls_client_sharing_p256());
}

/// A HelloRetryRequest with a cookie for every first ClientHello.
#[test]
fn after_a_hello_retry_request_the_rustls_client_resends_its_rejected_early_data_as_1rtt() {
    zerortt_server::after_hello_retry_request_early_data_is_resent_as_1rtt(
        &rustls_client(&[], &[]),
        HelloRetryPolicy::AlwaysWithCookie,
    );
}

#[test]
fn sixteen_kib_of_early_data_from_a_rustls_client_are_accepted_and_read_intact_by_zerortt() {
    zerortt_server::sixteen_kib_are_accepted(&rustls_client(&[], &[]));
}

#[test]
fn a_rustls_client_resumes_0rtt_with_a_zerortt_server_under_the_alpn_protocol_they_agreed() {
    let mut client = (*rustls_client(&[], &[])).clone();
    client.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    zerortt_server::alpn_is_agreed_for_0rtt(&Arc::new(client));
}

/// rustls reads the 0.5-RTT data as soon as it processes the server's flight, which ends
/// with the server's Finished.
#[test]
fn half_rtt_data_from_a_zerortt_server_reaches_the_rustls_client() {
    zerortt_server::half_rtt_data_reaches_the_client(&rustls_client(&[], &[]));
}

/// rustls's `refresh_traffic_keys` sends a KeyUpdate requesting an update.
#[test]
fn after_0rtt_a_rustls_client_key_update_is_answered_by_the_zerortt_server_and_data_flows() {
    zerortt_server::key_update_from_the_client_is_answered(&rustls_client(&[], &[]), |c| {
        c.conn.refresh_traffic_keys().is_ok()
    });
}
