//! zerortt against rustls 0.23 (ring provider), both directions, in memory.
//!
//! Not covered here, because rustls cannot do it with a zerortt client: a HelloRetryRequest
//! from a rustls server. rustls's server sends one only for a key share group it supports
//! that the client did not share, and never with a cookie; zerortt's client supports X25519
//! only and always shares it. The other direction (rustls client, zerortt server) has both
//! kinds of HelloRetryRequest below.

use std::sync::Arc;
use zerortt_core::conn::config::{ClientConfig, HelloRetryPolicy, ServerConfig};
use zerortt_core::conn::events::PskRejectReason;
use zerortt_core::msgs::enums::HandshakeType;
use zerortt_core::tickets::session::ClientSession;
use zerortt_core::Event;
use zerortt_interop::rustls_peer::{self, RustlsClient, RustlsServer};
use zerortt_interop::zerortt::{self, Zerortt};
use zerortt_interop::{
    complete_handshake, pump, ClientEnd, Outcome, Recorder, ServerEnd, Status, Suite,
};

/// Early data whose every byte depends on its position, so a lost, repeated or reordered
/// chunk shows.
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

/// One connection from a zerortt client (`session`, `early`) to a rustls server.
fn zerortt_to_rustls(
    server: &Arc<rustls::ServerConfig>,
    suites: &[Suite],
    session: Option<ClientSession>,
    early: &[u8],
    seed: u64,
) -> (Outcome, Zerortt) {
    let config = zerortt::client_config(suites);
    zerortt_config_to_rustls(server, config, session, early, seed)
}

/// [`zerortt_to_rustls`] with a given client config.
fn zerortt_config_to_rustls(
    server: &Arc<rustls::ServerConfig>,
    config: ClientConfig,
    session: Option<ClientSession>,
    early: &[u8],
    seed: u64,
) -> (Outcome, Zerortt) {
    let mut client = Zerortt::client(config, session, seed);
    let mut server = RustlsServer::new(server).expect("rustls server");
    let outcome = pump(&mut client, &mut server, early).expect("zerortt client to rustls");
    (outcome, client)
}

/// The newest ticket a full handshake from a zerortt client to `server` gives.
fn ticket_from_rustls(server: &Arc<rustls::ServerConfig>, suites: &[Suite]) -> ClientSession {
    let (outcome, mut client) = zerortt_to_rustls(server, suites, None, b"", 1);
    assert_eq!(outcome.tickets, 2, "rustls sends two tickets");
    client.sessions.pop().expect("a ticket")
}

#[test]
fn a_zerortt_client_completes_a_full_handshake_with_a_rustls_server_and_gets_two_tickets() {
    let server = rustls_server(&[], 16384, &rustls_peer::session_storage());
    let (outcome, client) = zerortt_to_rustls(&server, &[], None, b"", 1);
    assert!(!outcome.client_resumed && !outcome.server_resumed);
    assert_eq!(outcome.reply_read, zerortt_interop::pump::REPLY);
    assert_eq!(outcome.tickets, 2);
    assert!(client.sessions.iter().all(|s| s.max_early_data() == 16384));
}

#[test]
fn a_zerortt_client_resumes_with_a_rustls_ticket_and_rustls_accepts_and_reads_its_early_data() {
    let server = rustls_server(&[], 16384, &rustls_peer::session_storage());
    let ticket = ticket_from_rustls(&server, &[]);
    let data = early_data(1000);
    let (outcome, _) = zerortt_to_rustls(&server, &[], Some(ticket), &data, 2);
    assert_eq!(outcome.early_written, data.len());
    assert_eq!(
        outcome.early_read, data,
        "rustls read the early data intact"
    );
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
    assert!(outcome.client_resumed && outcome.server_resumed);
    assert!(!outcome.resent && outcome.app_read.is_empty());
    assert_eq!(outcome.tickets, 2, "new tickets after a resumption too");
}

#[test]
fn a_zerortt_client_and_a_rustls_server_do_0rtt_with_each_tls13_suite() {
    for suite in Suite::ALL {
        let server = rustls_server(&[suite], 16384, &rustls_peer::session_storage());
        let ticket = ticket_from_rustls(&server, &[suite]);
        let data = early_data(300);
        let (outcome, _) = zerortt_to_rustls(&server, &[suite], Some(ticket), &data, 2);
        assert_eq!(outcome.client_suite, Some(suite.code()), "{suite:?}");
        assert_eq!(outcome.server_suite, Some(suite.code()), "{suite:?}");
        assert_bytes(&outcome.early_read, &data, &format!("{suite:?}"));
        assert_eq!(outcome.client_status, Status::Accepted, "{suite:?}");
        assert_eq!(outcome.server_status, Status::Accepted, "{suite:?}");
    }
}

#[test]
fn a_rustls_server_with_early_data_off_resumes_and_the_zerortt_client_resends_as_1rtt() {
    let sessions = rustls_peer::session_storage();
    let ticket = ticket_from_rustls(&rustls_server(&[], 16384, &sessions), &[]);
    let disabled = rustls_server(&[], 0, &sessions);
    let data = early_data(1000);
    let (outcome, _) = zerortt_to_rustls(&disabled, &[], Some(ticket), &data, 2);
    assert!(outcome.client_resumed && outcome.server_resumed);
    assert!(outcome.early_read.is_empty());
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, Status::NotAccepted);
    assert!(outcome.resent);
    assert_eq!(
        outcome.app_read, data,
        "the resent data arrived as 1-RTT data"
    );
}

#[test]
fn a_ticket_unknown_to_the_rustls_server_gives_a_full_handshake_and_the_data_arrives_as_1rtt() {
    let ticket = ticket_from_rustls(
        &rustls_server(&[], 16384, &rustls_peer::session_storage()),
        &[],
    );
    let other = rustls_server(&[], 16384, &rustls_peer::session_storage());
    let data = early_data(1000);
    let (outcome, _) = zerortt_to_rustls(&other, &[], Some(ticket), &data, 2);
    assert!(!outcome.client_resumed && !outcome.server_resumed);
    assert!(outcome.early_read.is_empty());
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, Status::NotAccepted);
    assert_bytes(&outcome.app_read, &data, "1-RTT data read");
}

#[test]
fn a_reused_rustls_ticket_is_refused_the_second_time_and_the_data_arrives_as_1rtt() {
    let server = rustls_server(&[], 16384, &rustls_peer::session_storage());
    let ticket = ticket_from_rustls(&server, &[]);
    let data = early_data(500);
    let (first, _) = zerortt_to_rustls(&server, &[], Some(ticket.clone()), &data, 2);
    assert_eq!(first.server_status, Status::Accepted);
    let (second, _) = zerortt_to_rustls(&server, &[], Some(ticket), &data, 3);
    assert!(
        !second.server_resumed,
        "rustls took the session out of its store"
    );
    assert!(second.early_read.is_empty());
    assert_eq!(second.client_status, Status::Rejected);
    assert_eq!(second.server_status, Status::NotAccepted);
    assert_bytes(&second.app_read, &data, "1-RTT data read");
}

/// rustls counts the rejected early data it skips in ciphertext bytes against
/// `max_early_data_size` (its documentation: "recommended to include some slop in this
/// value"); a full 16 KiB record is 16,401 bytes of ciphertext. And rustls 0.23.46 charges a
/// skipped record again on every later `process_new_packets` call until a record after it
/// decrypts (conn.rs `process_more_input`: a dropped record does not advance
/// `buffer_progress`), here twice: with 32,801 bytes of budget it fails with "cannot decrypt
/// peer's message", with 32,802 it skips. Hence the budget of two records plus slop.
#[test]
fn sixteen_kib_of_rejected_early_data_are_skipped_by_a_rustls_server_and_arrive_as_1rtt() {
    let budget = 2 * (16384 + 256);
    let server = rustls_server(&[], budget, &rustls_peer::session_storage());
    let ticket = ticket_from_rustls(&server, &[]);
    let data = early_data(16384);
    let (first, _) = zerortt_to_rustls(&server, &[], Some(ticket.clone()), &data, 2);
    assert_eq!(first.server_status, Status::Accepted);
    // The reused ticket is unknown now: full handshake, the 16 KiB skipped, then resent.
    let (second, _) = zerortt_to_rustls(&server, &[], Some(ticket), &data, 3);
    assert!(!second.server_resumed);
    assert_eq!(second.client_status, Status::Rejected);
    assert_eq!(second.server_status, Status::NotAccepted);
    assert_bytes(&second.app_read, &data, "1-RTT data read");
}

#[test]
fn sixteen_kib_of_early_data_from_a_zerortt_client_are_accepted_and_read_intact_by_rustls() {
    let server = rustls_server(&[], 16384, &rustls_peer::session_storage());
    let ticket = ticket_from_rustls(&server, &[]);
    let data = early_data(16384);
    let (outcome, _) = zerortt_to_rustls(&server, &[], Some(ticket), &data, 2);
    assert_eq!(outcome.early_written, 16384);
    assert_bytes(&outcome.early_read, &data, "early data read");
    assert_eq!(outcome.server_status, Status::Accepted);
}

#[test]
fn a_zerortt_client_in_middlebox_compatibility_mode_does_0rtt_with_a_rustls_server() {
    let server = rustls_server(&[], 16384, &rustls_peer::session_storage());
    let mut config = zerortt::client_config(&[]);
    config.middlebox_compat = true;
    let (_, mut client) = zerortt_config_to_rustls(&server, config.clone(), None, b"", 1);
    let ticket = client.sessions.pop().expect("a ticket");
    let data = early_data(1000);
    let (outcome, _) = zerortt_config_to_rustls(&server, config, Some(ticket), &data, 2);
    assert_bytes(&outcome.early_read, &data, "early data read");
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
}

#[test]
fn a_zerortt_client_resumes_0rtt_with_a_rustls_server_under_the_alpn_protocol_they_agreed() {
    let mut config = (*rustls_server(&[], 16384, &rustls_peer::session_storage())).clone();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let server = Arc::new(config);
    let mut client_config = zerortt::client_config(&[]);
    client_config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let (full, mut client) = zerortt_config_to_rustls(&server, client_config.clone(), None, b"", 1);
    assert_eq!(full.client_alpn.as_deref(), Some(&b"h2"[..]));
    let ticket = client.sessions.pop().expect("a ticket");
    assert_eq!(ticket.alpn.as_deref(), Some(&b"h2"[..]));
    let data = early_data(1000);
    let (outcome, _) = zerortt_config_to_rustls(&server, client_config, Some(ticket), &data, 2);
    assert_eq!(outcome.client_alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(outcome.server_alpn.as_deref(), Some(&b"h2"[..]));
    assert_bytes(&outcome.early_read, &data, "early data read");
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
}

/// rustls's `send_half_rtt_data`: the server's first application data goes out with its
/// handshake flight (0.5-RTT); zerortt's client may read it while it still writes early data.
#[test]
fn half_rtt_data_from_a_rustls_server_reaches_the_zerortt_client_before_it_finishes() {
    let mut config = (*rustls_server(&[], 16384, &rustls_peer::session_storage())).clone();
    config.send_half_rtt_data = true;
    let server = Arc::new(config);
    let ticket = ticket_from_rustls(&server, &[]);
    let mut c = Zerortt::client(zerortt::client_config(&[]), Some(ticket), 2);
    let mut s = RustlsServer::new(&server).expect("rustls server");
    let data = early_data(1000);
    assert_eq!(ClientEnd::write_early_data(&mut c, &data), Ok(data.len()));
    ServerEnd::give_input(&mut s, &ClientEnd::take_output(&mut c));
    let mut early = Vec::new();
    assert_eq!(
        s.read_early_data(&mut early),
        Ok(false),
        "EndOfEarlyData not yet"
    );
    assert_bytes(&early, &data, "early data read");
    ServerEnd::write(&mut s, b"half-RTT").expect("rustls write");
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
/// of its own"; rustls's `refresh_traffic_keys` sends one requesting an update.
#[test]
fn after_0rtt_a_rustls_server_key_update_is_answered_by_the_zerortt_client_and_data_flows() {
    let server = rustls_server(&[], 16384, &rustls_peer::session_storage());
    let ticket = ticket_from_rustls(&server, &[]);
    let mut c = Zerortt::client(zerortt::client_config(&[]), Some(ticket), 2);
    let mut s = RustlsServer::new(&server).expect("rustls server");
    let data = early_data(1000);
    assert_eq!(ClientEnd::write_early_data(&mut c, &data), Ok(data.len()));
    let mut early = Vec::new();
    complete_handshake(&mut c, &mut s, &mut early).expect("handshake");
    assert_bytes(&early, &data, "early data read");
    s.conn.refresh_traffic_keys().expect("KeyUpdate");
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

// ----- rustls client, zerortt server ------------------------------------------------------

/// A rustls client config offering `suites` and `groups`.
fn rustls_client(
    suites: &[Suite],
    groups: &[&'static dyn rustls::crypto::SupportedKxGroup],
) -> Arc<rustls::ClientConfig> {
    rustls_peer::client_config(rustls_peer::provider(suites, groups)).expect("rustls client")
}

/// One connection from a rustls client on `client` to a zerortt server on `server`.
fn rustls_to_zerortt(
    client: &Arc<rustls::ClientConfig>,
    server: &Arc<ServerConfig>,
    early: &[u8],
    seed: u64,
) -> (Outcome, Zerortt) {
    let mut c = RustlsClient::new(client).expect("rustls client");
    let mut s = Zerortt::server(server, seed);
    let outcome = pump(&mut c, &mut s, early).expect("rustls client to zerortt");
    (outcome, s)
}

fn zerortt_server(max: u32, suites: &[Suite]) -> Arc<ServerConfig> {
    Arc::new(zerortt::server_config(max, suites))
}

/// A full handshake so that `client`'s store holds two tickets from `server`.
fn prime(client: &Arc<rustls::ClientConfig>, server: &Arc<ServerConfig>) {
    let (outcome, _) = rustls_to_zerortt(client, server, b"", 1);
    assert_eq!(outcome.tickets, 2);
}

#[test]
fn a_rustls_client_completes_a_full_handshake_with_a_zerortt_server_and_gets_two_tickets() {
    let (client, server) = (rustls_client(&[], &[]), zerortt_server(16384, &[]));
    let (outcome, _) = rustls_to_zerortt(&client, &server, b"", 1);
    assert!(!outcome.client_resumed && !outcome.server_resumed);
    assert_eq!(outcome.reply_read, zerortt_interop::pump::REPLY);
    assert_eq!(outcome.tickets, 2);
}

#[test]
fn a_rustls_client_resumes_and_the_zerortt_server_accepts_and_reads_its_early_data() {
    let (client, server) = (rustls_client(&[], &[]), zerortt_server(16384, &[]));
    prime(&client, &server);
    let data = early_data(1000);
    let (outcome, _) = rustls_to_zerortt(&client, &server, &data, 2);
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
fn a_rustls_client_and_a_zerortt_server_do_0rtt_with_each_tls13_suite() {
    for suite in Suite::ALL {
        let (client, server) = (
            rustls_client(&[suite], &[]),
            zerortt_server(16384, &[suite]),
        );
        prime(&client, &server);
        let data = early_data(300);
        let (outcome, _) = rustls_to_zerortt(&client, &server, &data, 2);
        assert_eq!(outcome.client_suite, Some(suite.code()), "{suite:?}");
        assert_eq!(outcome.server_suite, Some(suite.code()), "{suite:?}");
        assert_bytes(&outcome.early_read, &data, &format!("{suite:?}"));
        assert_eq!(outcome.client_status, Status::Accepted, "{suite:?}");
        assert_eq!(outcome.server_status, Status::Accepted, "{suite:?}");
    }
}

#[test]
fn a_zerortt_server_with_early_data_off_resumes_and_the_rustls_client_resends_as_1rtt() {
    let (client, server) = (rustls_client(&[], &[]), zerortt_server(16384, &[]));
    prime(&client, &server);
    let data = early_data(16384);
    let mut c = RustlsClient::new(&client).expect("rustls client");
    let mut s = Zerortt::server(&server, 2);
    // SSL_set_max_early_data(0) on this connection only.
    s.conn.set_max_early_data(0);
    let outcome = pump(&mut c, &mut s, &data).expect("pump");
    assert!(outcome.client_resumed && outcome.server_resumed);
    assert!(outcome.early_read.is_empty());
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, Status::Rejected);
    assert!(outcome.resent);
    assert_bytes(&outcome.app_read, &data, "1-RTT data read");
}

#[test]
fn a_rustls_ticket_unknown_to_the_zerortt_server_gives_a_full_handshake_and_1rtt_data() {
    let client = rustls_client(&[], &[]);
    prime(&client, &zerortt_server(16384, &[]));
    let other = zerortt_server(16384, &[]);
    let data = early_data(1000);
    let (outcome, server) = rustls_to_zerortt(&client, &other, &data, 2);
    assert!(!outcome.client_resumed && !outcome.server_resumed);
    assert!(server.events.contains(&Event::PskRejected {
        reason: PskRejectReason::NotInCache
    }));
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, Status::Rejected);
    assert_bytes(&outcome.app_read, &data, "1-RTT data read");
}

/// rustls's client never offers a TLS 1.3 ticket twice (its store hands each out once and
/// the value is not `Clone`), so the reuse is a replay of its first flight.
#[test]
fn a_replayed_rustls_client_hello_finds_its_ticket_used_and_its_early_data_is_not_read() {
    let (client, server) = (rustls_client(&[], &[]), zerortt_server(16384, &[]));
    prime(&client, &server);
    let data = early_data(1000);
    let mut c = Recorder::new(RustlsClient::new(&client).expect("rustls client"));
    let mut s = Zerortt::server(&server, 2);
    let first = pump(&mut c, &mut s, &data).expect("pump");
    assert_bytes(&first.early_read, &data, "early data read");

    let mut replay = Zerortt::server(&server, 3);
    ServerEnd::give_input(&mut replay, &c.flights[0]);
    let mut read = Vec::new();
    let finished = replay.read_early_data(&mut read).expect("read_early_data");
    assert!(
        finished,
        "no early data can be accepted: read_early_data says Finish"
    );
    assert!(read.is_empty());
    assert_eq!(ServerEnd::status(&mut replay), Status::Rejected);
    assert!(replay.events.contains(&Event::PskRejected {
        reason: PskRejectReason::NotInCache
    }));
}

#[test]
fn a_rustls_client_sharing_only_p256_gets_a_hello_retry_request_from_zerortt_and_completes() {
    let groups = [
        rustls::crypto::ring::kx_group::SECP256R1,
        rustls::crypto::ring::kx_group::X25519,
    ];
    let client = rustls_client(&[], &groups);
    let server = zerortt_server(16384, &[]);
    let (outcome, s) = rustls_to_zerortt(&client, &server, b"", 1);
    assert!(s.saw_hello_retry_request());
    assert_eq!(outcome.reply_read, zerortt_interop::pump::REPLY);
    assert_eq!(outcome.tickets, 2);
}

#[test]
fn after_a_hello_retry_request_the_rustls_client_resends_its_rejected_early_data_as_1rtt() {
    let client = rustls_client(&[], &[]);
    let server = zerortt_server(16384, &[]);
    prime(&client, &server);
    // The same session cache, with a HelloRetryRequest for every first ClientHello.
    let mut retrying = zerortt::server_config(16384, &[]);
    retrying.session_cache = server.session_cache.clone();
    retrying.hello_retry = HelloRetryPolicy::AlwaysWithCookie;
    let data = early_data(1000);
    let (outcome, s) = rustls_to_zerortt(&client, &Arc::new(retrying), &data, 2);
    assert!(s.saw_hello_retry_request());
    assert!(outcome.early_read.is_empty());
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, Status::Rejected);
    assert!(outcome.client_resumed && outcome.server_resumed);
    assert_bytes(&outcome.app_read, &data, "1-RTT data read");
}

#[test]
fn sixteen_kib_of_early_data_from_a_rustls_client_are_accepted_and_read_intact_by_zerortt() {
    let (client, server) = (rustls_client(&[], &[]), zerortt_server(16384, &[]));
    prime(&client, &server);
    let data = early_data(16384);
    let (outcome, _) = rustls_to_zerortt(&client, &server, &data, 2);
    assert_eq!(outcome.early_written, 16384);
    assert_bytes(&outcome.early_read, &data, "early data read");
    assert_eq!(outcome.server_status, Status::Accepted);
}

#[test]
fn a_rustls_client_resumes_0rtt_with_a_zerortt_server_under_the_alpn_protocol_they_agreed() {
    let mut client = (*rustls_client(&[], &[])).clone();
    client.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let client = Arc::new(client);
    let mut server = zerortt::server_config(16384, &[]);
    server.alpn_protocols = vec![b"h2".to_vec()];
    let server = Arc::new(server);
    prime(&client, &server);
    let data = early_data(1000);
    let (outcome, _) = rustls_to_zerortt(&client, &server, &data, 2);
    assert_eq!(outcome.client_alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(outcome.server_alpn.as_deref(), Some(&b"h2"[..]));
    assert_bytes(&outcome.early_read, &data, "early data read");
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
}

/// The zerortt server's write_early_data (0.5-RTT data, after read_early_data first
/// returned) reaches the rustls client.
#[test]
fn half_rtt_data_from_a_zerortt_server_reaches_the_rustls_client() {
    let (client, server) = (rustls_client(&[], &[]), zerortt_server(16384, &[]));
    prime(&client, &server);
    let mut c = RustlsClient::new(&client).expect("rustls client");
    let mut s = Zerortt::server(&server, 2);
    let data = early_data(1000);
    assert_eq!(ClientEnd::write_early_data(&mut c, &data), Ok(data.len()));
    ServerEnd::give_input(&mut s, &ClientEnd::take_output(&mut c));
    let mut early = Vec::new();
    assert_eq!(ServerEnd::read_early_data(&mut s, &mut early), Ok(false));
    assert_bytes(&early, &data, "early data read");
    assert_eq!(s.conn.write_early_data(b"half-RTT", s.now), Ok(8));
    ClientEnd::give_input(&mut c, &ServerEnd::take_output(&mut s));
    let mut half = Vec::new();
    ClientEnd::read(&mut c, &mut half).expect("read");
    assert_eq!(
        half, b"half-RTT",
        "rustls reads it once it has the server's Finished"
    );
    complete_handshake(&mut c, &mut s, &mut early).expect("handshake");
    assert_bytes(&early, &data, "early data read");
    assert_eq!(ClientEnd::status(&mut c), Status::Accepted);
    assert_eq!(ServerEnd::status(&mut s), Status::Accepted);
}

#[test]
fn after_0rtt_a_rustls_client_key_update_is_answered_by_the_zerortt_server_and_data_flows() {
    let (client, server) = (rustls_client(&[], &[]), zerortt_server(16384, &[]));
    prime(&client, &server);
    let mut c = RustlsClient::new(&client).expect("rustls client");
    let mut s = Zerortt::server(&server, 2);
    let data = early_data(1000);
    assert_eq!(ClientEnd::write_early_data(&mut c, &data), Ok(data.len()));
    let mut early = Vec::new();
    complete_handshake(&mut c, &mut s, &mut early).expect("handshake");
    assert_bytes(&early, &data, "early data read");
    c.conn.refresh_traffic_keys().expect("KeyUpdate");
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
