//! zerortt's client against a peer's server. Seeds: 1 for the full handshake that gets the
//! ticket, 2 for the resumption, 3 for a second one.

use super::{
    assert_accepted, assert_full_handshake, assert_resent, assert_resumed_0rtt, complete_0rtt,
    early_data, early_data_then_half_rtt, handshake_with_early_data, key_update_is_answered,
    Handshake, ServerPeer, MAX_EARLY_DATA,
};
use crate::pump::{pump, Endpoint, Outcome, ServerEnd, Status};
use crate::zerortt::{self, Zerortt};
use crate::Suite;
use zerortt_core::conn::config::ClientConfig;
use zerortt_core::tickets::session::ClientSession;

/// One connection from a zerortt client on `config` (resuming `session`, writing `early`)
/// to `server`.
#[track_caller]
pub fn connect(
    server: &mut impl ServerEnd,
    config: ClientConfig,
    session: Option<ClientSession>,
    early: &[u8],
    seed: u64,
) -> (Outcome, Zerortt) {
    let mut client = Zerortt::client(config, session, seed);
    let outcome = pump(&mut client, server, early).expect("zerortt client to the peer server");
    (outcome, client)
}

/// One connection from a zerortt client on `config` to a new connection of `peer`.
#[track_caller]
pub fn connect_to(
    peer: &impl ServerPeer,
    config: ClientConfig,
    session: Option<ClientSession>,
    early: &[u8],
    seed: u64,
) -> (Outcome, Zerortt) {
    let mut server = peer.accept().expect("peer server");
    connect(&mut server, config, session, early, seed)
}

/// The newest ticket a full handshake from a zerortt client on `config` to `peer` gives.
#[track_caller]
pub fn ticket(peer: &impl ServerPeer, config: &ClientConfig) -> ClientSession {
    let (_, mut client) = connect_to(peer, config.clone(), None, b"", 1);
    client.sessions.pop().expect("a ticket")
}

/// A ticket from `ticket_from` for a client on `config`, then a connection resuming it to
/// `server` with `data` as early data.
#[track_caller]
fn resume_on(
    ticket_from: &impl ServerPeer,
    server: &mut impl ServerEnd,
    config: ClientConfig,
    data: &[u8],
) -> Outcome {
    let ticket = ticket(ticket_from, &config);
    connect(server, config, Some(ticket), data, 2).0
}

/// [`resume_on`] a new connection of `peer`, the ticket's issuer.
#[track_caller]
fn resume(peer: &impl ServerPeer, config: ClientConfig, data: &[u8]) -> Outcome {
    let mut server = peer.accept().expect("peer server");
    resume_on(peer, &mut server, config, data)
}

/// A full handshake: neither side resumed, the reply arrived, and the client holds `tickets`
/// tickets, each allowing [`MAX_EARLY_DATA`] bytes of early data.
#[track_caller]
pub fn full_handshake_gives_tickets(peer: &impl ServerPeer, tickets: usize) {
    let (outcome, client) = connect_to(peer, zerortt::client_config(&[]), None, b"", 1);
    assert_full_handshake(&outcome, tickets);
    assert!(client
        .sessions
        .iter()
        .all(|s| s.max_early_data() == MAX_EARLY_DATA));
}

/// A resumption with 1000 bytes of early data: both sides resumed, the server's early-data
/// API returned the data intact, both report it accepted, nothing was resent, and the client
/// got `tickets_after_resumption` new tickets.
#[track_caller]
pub fn resumed_early_data_is_accepted(peer: &impl ServerPeer, tickets_after_resumption: usize) {
    let data = early_data(1000);
    let outcome = resume(peer, zerortt::client_config(&[]), &data);
    assert_resumed_0rtt(&outcome, &data);
    assert_eq!(outcome.tickets, tickets_after_resumption);
}

/// 0-RTT under `suite` with a `peer` offering only it: both sides negotiated it and the
/// early data was accepted and read intact.
#[track_caller]
pub fn early_data_is_accepted_with_suite(peer: &impl ServerPeer, suite: Suite) {
    let data = early_data(300);
    let outcome = resume(peer, zerortt::client_config(&[suite]), &data);
    assert_eq!(outcome.client_suite, Some(suite.code()), "{suite:?}");
    assert_eq!(outcome.server_suite, Some(suite.code()), "{suite:?}");
    assert_accepted(&outcome, &data, &format!("{suite:?}"));
}

/// A ticket from `ticket_from` offered to `server`, which does not accept `len` bytes of
/// early data with it: the `handshake` was as said (resumed or full), the
/// early data was not read, the server reports `server_rejected`, and the client resent the
/// data as 1-RTT data.
#[track_caller]
pub fn early_data_not_accepted_is_resent_as_1rtt<P: ServerPeer>(
    ticket_from: &P,
    mut server: P::End,
    len: usize,
    handshake: Handshake,
    server_rejected: Status,
) {
    let data = early_data(len);
    let outcome = resume_on(ticket_from, &mut server, zerortt::client_config(&[]), &data);
    assert_resent(&outcome, &data, handshake, server_rejected);
}

/// A ticket offered twice with `len` bytes of early data: accepted the first time; the
/// second time `peer` does not resume (its tickets are single use), reports
/// `server_rejected`, and the data arrives as 1-RTT data.
#[track_caller]
pub fn reused_ticket_is_refused_and_resent_as_1rtt(
    peer: &impl ServerPeer,
    len: usize,
    server_rejected: Status,
) {
    let config = zerortt::client_config(&[]);
    let ticket = ticket(peer, &config);
    let data = early_data(len);
    let (first, _) = connect_to(peer, config.clone(), Some(ticket.clone()), &data, 2);
    assert_eq!(first.server_status, Status::Accepted);
    let (second, _) = connect_to(peer, config, Some(ticket), &data, 3);
    assert_resent(&second, &data, Handshake::Full, server_rejected);
}

/// A full handshake with a `server` that answers with a HelloRetryRequest: the client saw it,
/// the handshake completed, the reply arrived and the client holds `tickets` tickets.
#[track_caller]
pub fn hello_retry_request_is_answered(mut server: impl ServerEnd, tickets: usize) {
    let (outcome, client) = connect(&mut server, zerortt::client_config(&[]), None, b"", 1);
    assert!(client.saw_hello_retry_request());
    assert_full_handshake(&outcome, tickets);
}

/// 16 KiB of early data (a full record): all written, read intact, accepted by both sides.
#[track_caller]
pub fn sixteen_kib_are_accepted(peer: &impl ServerPeer) {
    let data = early_data(16384);
    let outcome = resume(peer, zerortt::client_config(&[]), &data);
    assert_resumed_0rtt(&outcome, &data);
}

/// 0-RTT from a client in middlebox compatibility mode (RFC 9846 appendix E.4): the early
/// data is read intact and accepted by both sides.
#[track_caller]
pub fn middlebox_compat_does_0rtt(peer: &impl ServerPeer) {
    let mut config = zerortt::client_config(&[]);
    config.middlebox_compat = true;
    let data = early_data(1000);
    let outcome = resume(peer, config, &data);
    assert_accepted(&outcome, &data, "early data read");
}

/// The client offers `h2` and `http/1.1` to a `peer` that selects `h2`: the ticket remembers
/// `h2`, and the resumption with early data agrees on it again and accepts the data.
#[track_caller]
pub fn alpn_is_agreed_for_0rtt(peer: &impl ServerPeer) {
    let mut config = zerortt::client_config(&[]);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let (full, mut client) = connect_to(peer, config.clone(), None, b"", 1);
    assert_eq!(full.client_alpn.as_deref(), Some(&b"h2"[..]));
    let ticket = client.sessions.pop().expect("a ticket");
    assert_eq!(ticket.alpn.as_deref(), Some(&b"h2"[..]));
    let data = early_data(1000);
    let (outcome, _) = connect_to(peer, config, Some(ticket), &data, 2);
    assert_eq!(outcome.client_alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(outcome.server_alpn.as_deref(), Some(&b"h2"[..]));
    assert_accepted(&outcome, &data, "early data read");
}

/// A zerortt client resuming a ticket from `peer`, and a new connection of `peer`.
#[track_caller]
fn resuming_pair<P: ServerPeer>(peer: &P) -> (Zerortt, P::End) {
    let config = zerortt::client_config(&[]);
    let ticket = ticket(peer, &config);
    let client = Zerortt::client(config, Some(ticket), 2);
    (client, peer.accept().expect("peer server"))
}

/// After reading the early data, the server sends `half-RTT` with `send_half_rtt` (0.5-RTT
/// data, with its handshake flight); the zerortt client reads it while it is still in the
/// early-data phase (before it sends its Finished), then the handshake completes with the
/// early data accepted.
#[track_caller]
pub fn half_rtt_data_reaches_the_client_before_it_finishes<P: ServerPeer>(
    peer: &P,
    send_half_rtt: impl FnOnce(&mut P::End, &[u8]) -> Result<(), crate::Failure>,
) {
    let (mut c, mut s) = resuming_pair(peer);
    let data = early_data(1000);
    let early = early_data_then_half_rtt(&mut c, &mut s, &data, send_half_rtt);
    let mut half = Vec::new();
    c.read(&mut half).expect("read in the early-data phase");
    assert_eq!(half, b"half-RTT");
    assert!(
        !c.conn.is_init_finished(),
        "the client has not sent its Finished yet"
    );
    complete_0rtt(&mut c, &mut s, early, &data);
}

/// After 0-RTT, the server requests a KeyUpdate with `request_key_update` (true once
/// queued) and writes; the zerortt client answers with a KeyUpdate of its own and data
/// flows both ways ([`super::key_update_is_answered`]).
#[track_caller]
pub fn key_update_from_the_server_is_answered<P: ServerPeer>(
    peer: &P,
    request_key_update: impl FnOnce(&mut P::End) -> bool,
) {
    let (mut c, mut s) = resuming_pair(peer);
    handshake_with_early_data(&mut c, &mut s, &early_data(1000));
    key_update_is_answered(&mut s, &mut c, request_key_update);
}
