//! A peer's client against zerortt's server. Seeds: 1 for the full handshake that gives the
//! client its tickets, 2 for the resumption, 3 for a second one.

use super::{
    assert_accepted, assert_bytes, assert_full_handshake, assert_resent, assert_resumed_0rtt,
    complete_0rtt, early_data, early_data_then_half_rtt, handshake_with_early_data,
    key_update_is_answered, ClientPeer, Handshake, MAX_EARLY_DATA,
};
use crate::pump::{pump, Endpoint, Outcome, ServerEnd, Status};
use crate::zerortt::{self, Zerortt};
use crate::{Recorder, Suite};
use std::sync::Arc;
use zerortt_core::conn::config::{HelloRetryPolicy, ServerConfig};
use zerortt_core::conn::events::PskRejectReason;
use zerortt_core::Event;

/// Tickets zerortt's server sends after every handshake.
const TICKETS: usize = 2;

/// The event of a zerortt server that did not find the offered ticket.
const NOT_IN_CACHE: Event = Event::PskRejected {
    reason: PskRejectReason::NotInCache,
};

/// A zerortt server configuration offering `suites` (all three if empty), early data up to
/// [`MAX_EARLY_DATA`].
pub fn server_config(suites: &[Suite]) -> Arc<ServerConfig> {
    Arc::new(zerortt::server_config(MAX_EARLY_DATA, suites))
}

/// One connection from a new client of `peer` (writing `early`) to `server`.
#[track_caller]
pub fn connect(peer: &impl ClientPeer, server: &mut Zerortt, early: &[u8]) -> Outcome {
    let mut client = peer.connect().expect("peer client");
    pump(&mut client, server, early).expect("peer client to zerortt")
}

/// One connection from a new client of `peer` (writing `early`) to a new zerortt server on
/// `config` with RNG seed `seed`.
#[track_caller]
pub fn connect_to(
    peer: &impl ClientPeer,
    config: &Arc<ServerConfig>,
    early: &[u8],
    seed: u64,
) -> (Outcome, Zerortt) {
    let mut server = Zerortt::server(config, seed);
    let outcome = connect(peer, &mut server, early);
    (outcome, server)
}

/// A full handshake so that `peer` holds tickets from `config`.
#[track_caller]
pub fn prime(peer: &impl ClientPeer, config: &Arc<ServerConfig>) {
    let (outcome, _) = connect_to(peer, config, b"", 1);
    assert_eq!(outcome.tickets, TICKETS);
}

/// [`prime`] on `config`, then a connection resuming to a new server on `config` with
/// `data` as early data.
#[track_caller]
fn resume(peer: &impl ClientPeer, config: &Arc<ServerConfig>, data: &[u8]) -> (Outcome, Zerortt) {
    prime(peer, config);
    connect_to(peer, config, data, 2)
}

/// A full handshake: neither side resumed, the reply arrived, the client got two tickets.
#[track_caller]
pub fn full_handshake_gives_tickets(peer: &impl ClientPeer) {
    let (outcome, _) = connect_to(peer, &server_config(&[]), b"", 1);
    assert_full_handshake(&outcome, TICKETS);
}

/// A resumption with 1000 bytes of early data: read_early_data returned it intact, both
/// sides report it accepted and resumed, nothing was resent, two new tickets came.
#[track_caller]
pub fn resumed_early_data_is_accepted(peer: &impl ClientPeer) {
    let data = early_data(1000);
    let (outcome, _) = resume(peer, &server_config(&[]), &data);
    assert_resumed_0rtt(&outcome, &data);
    assert_eq!(outcome.tickets, TICKETS);
}

/// 0-RTT under `suite` with a `peer` offering only it, to a server offering only it: both
/// negotiated it, the early data was read intact and accepted.
#[track_caller]
pub fn early_data_is_accepted_with_suite(peer: &impl ClientPeer, suite: Suite) {
    let data = early_data(300);
    let (outcome, _) = resume(peer, &server_config(&[suite]), &data);
    assert_eq!(outcome.client_suite, Some(suite.code()), "{suite:?}");
    assert_eq!(outcome.server_suite, Some(suite.code()), "{suite:?}");
    assert_accepted(&outcome, &data, &format!("{suite:?}"));
}

/// A resumption to a server connection with early data off (`SSL_set_max_early_data(0)`
/// on it only): 16 KiB of early data are rejected, the session resumes, and the client
/// resends the data as 1-RTT data.
#[track_caller]
pub fn early_data_off_resumes_and_the_client_resends_as_1rtt(peer: &impl ClientPeer) {
    let server = server_config(&[]);
    prime(peer, &server);
    let data = early_data(16384);
    let mut s = Zerortt::server(&server, 2);
    s.conn.set_max_early_data(0);
    let outcome = connect(peer, &mut s, &data);
    assert_resent(&outcome, &data, Handshake::Resumed, Status::Rejected);
}

/// A ticket from one zerortt server offered to another: not in its cache, a full
/// handshake, the early data rejected and resent as 1-RTT data.
#[track_caller]
pub fn unknown_ticket_gives_a_full_handshake_and_1rtt_data(peer: &impl ClientPeer) {
    prime(peer, &server_config(&[]));
    let data = early_data(1000);
    let (outcome, server) = connect_to(peer, &server_config(&[]), &data, 2);
    assert!(server.events.contains(&NOT_IN_CACHE));
    assert_resent(&outcome, &data, Handshake::Full, Status::Rejected);
}

/// A 0-RTT connection whose first flight (ClientHello and early data) is replayed to a
/// second server connection on the same configuration: the ticket is used, no early data
/// can be accepted (read_early_data says Finish at once) and none is read.
#[track_caller]
pub fn replayed_client_hello_finds_its_ticket_used(peer: &impl ClientPeer) {
    let server = server_config(&[]);
    prime(peer, &server);
    let data = early_data(1000);
    let mut c = Recorder::new(peer.connect().expect("peer client"));
    let mut s = Zerortt::server(&server, 2);
    let first = pump(&mut c, &mut s, &data).expect("pump");
    assert_bytes(&first.early_read, &data, "early data read");

    let mut replay = Zerortt::server(&server, 3);
    replay.give_input(&c.flights[0]);
    let mut read = Vec::new();
    let finished = replay.read_early_data(&mut read).expect("read_early_data");
    assert!(
        finished,
        "no early data can be accepted: read_early_data says Finish"
    );
    assert!(read.is_empty());
    assert_eq!(ServerEnd::status(&mut replay), Status::Rejected);
    assert!(replay.events.contains(&NOT_IN_CACHE));
}

/// A full handshake from a `peer` whose first ClientHello shares a key only for a group
/// zerortt does not take (P-256; zerortt wants X25519): a HelloRetryRequest, then the
/// handshake completes with two tickets.
#[track_caller]
pub fn hello_retry_request_for_a_key_share_is_answered(peer: &impl ClientPeer) {
    let (outcome, s) = connect_to(peer, &server_config(&[]), b"", 1);
    assert!(s.saw_hello_retry_request());
    assert_full_handshake(&outcome, TICKETS);
}

/// A resumption with 1000 bytes of early data answered with a HelloRetryRequest (because of
/// `policy`, or because `peer` shares an unwanted key): the early data is rejected (RFC 9846
/// 4.3.10: none after a HelloRetryRequest), the session still resumes, and the client resends
/// the data as 1-RTT data.
#[track_caller]
pub fn after_hello_retry_request_early_data_is_resent_as_1rtt(
    peer: &impl ClientPeer,
    policy: HelloRetryPolicy,
) {
    let server = server_config(&[]);
    prime(peer, &server);
    // The same session cache, with the HelloRetryRequest policy under test.
    let mut retrying = zerortt::server_config(MAX_EARLY_DATA, &[]);
    retrying.session_cache = server.session_cache.clone();
    retrying.hello_retry = policy;
    let data = early_data(1000);
    let (outcome, s) = connect_to(peer, &Arc::new(retrying), &data, 2);
    assert!(s.saw_hello_retry_request());
    assert_resent(&outcome, &data, Handshake::Resumed, Status::Rejected);
}

/// 16 KiB of early data (a full record): all written, read intact, accepted by both sides.
#[track_caller]
pub fn sixteen_kib_are_accepted(peer: &impl ClientPeer) {
    let data = early_data(16384);
    let (outcome, _) = resume(peer, &server_config(&[]), &data);
    assert_resumed_0rtt(&outcome, &data);
}

/// A `peer` offering `h2` resumes with 0-RTT on a server that selects `h2`: both agree on it
/// and the early data is accepted.
#[track_caller]
pub fn alpn_is_agreed_for_0rtt(peer: &impl ClientPeer) {
    let mut server = zerortt::server_config(MAX_EARLY_DATA, &[]);
    server.alpn_protocols = vec![b"h2".to_vec()];
    let data = early_data(1000);
    let (outcome, _) = resume(peer, &Arc::new(server), &data);
    assert_eq!(outcome.client_alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(outcome.server_alpn.as_deref(), Some(&b"h2"[..]));
    assert_accepted(&outcome, &data, "early data read");
}

/// A client of `peer` holding a ticket from a zerortt server, and a new connection of that
/// server.
#[track_caller]
fn resuming_pair<P: ClientPeer>(peer: &P) -> (P::End, Zerortt) {
    let server = server_config(&[]);
    prime(peer, &server);
    let client = peer.connect().expect("peer client");
    (client, Zerortt::server(&server, 2))
}

/// The zerortt server's write_early_data (0.5-RTT data, after read_early_data first
/// returned) reaches the client, which reads it as soon as it has the server's flight (its
/// read processes the flight, which ends with the server's Finished); the early data is
/// accepted.
#[track_caller]
pub fn half_rtt_data_reaches_the_client(peer: &impl ClientPeer) {
    let (mut c, mut s) = resuming_pair(peer);
    let data = early_data(1000);
    let early = early_data_then_half_rtt(&mut c, &mut s, &data, Zerortt::write_half_rtt);
    let mut half = Vec::new();
    c.read(&mut half).expect("read");
    assert_eq!(half, b"half-RTT");
    complete_0rtt(&mut c, &mut s, early, &data);
}

/// After 0-RTT, the client requests a KeyUpdate with `request_key_update` (true once
/// queued) and writes; the zerortt server answers with a KeyUpdate of its own and data
/// flows both ways ([`super::key_update_is_answered`]).
#[track_caller]
pub fn key_update_from_the_client_is_answered<P: ClientPeer>(
    peer: &P,
    request_key_update: impl FnOnce(&mut P::End) -> bool,
) {
    let (mut c, mut s) = resuming_pair(peer);
    handshake_with_early_data(&mut c, &mut s, &early_data(1000));
    key_update_is_answered(&mut c, &mut s, request_key_update);
}
