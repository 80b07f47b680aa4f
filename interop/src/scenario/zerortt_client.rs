//! zerortt's client against a peer's server. Seeds: 1 for the full handshake that gets the
//! ticket, 2 for the resumption, 3 for a second one.

use super::{assert_bytes, early_data, send, ServerPeer, MAX_EARLY_DATA};
use crate::pump::{
    complete_handshake, pump, transfer, ClientEnd, Endpoint, Outcome, ServerEnd, Status, REPLY,
};
use crate::zerortt::{self, Zerortt};
use crate::Suite;
use zerortt_core::conn::config::ClientConfig;
use zerortt_core::msgs::enums::HandshakeType;
use zerortt_core::tickets::session::ClientSession;
use zerortt_core::Event;

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
pub fn connect_to<P: ServerPeer>(
    peer: &P,
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

/// A full handshake: neither side resumed, the reply arrived, and the client holds `tickets`
/// tickets, each allowing [`MAX_EARLY_DATA`] bytes of early data.
#[track_caller]
pub fn full_handshake_gives_tickets(peer: &impl ServerPeer, tickets: usize) {
    let (outcome, client) = connect_to(peer, zerortt::client_config(&[]), None, b"", 1);
    assert!(!outcome.client_resumed && !outcome.server_resumed);
    assert_eq!(outcome.reply_read, REPLY);
    assert_eq!(outcome.tickets, tickets);
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
    let config = zerortt::client_config(&[]);
    let ticket = ticket(peer, &config);
    let data = early_data(1000);
    let (outcome, _) = connect_to(peer, config, Some(ticket), &data, 2);
    assert_eq!(outcome.early_written, data.len());
    assert_eq!(
        outcome.early_read, data,
        "the server's early-data API returned it intact"
    );
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
    assert!(outcome.client_resumed && outcome.server_resumed);
    assert!(!outcome.resent && outcome.app_read.is_empty());
    assert_eq!(outcome.tickets, tickets_after_resumption);
}

/// 0-RTT under `suite` with a `peer` offering only it: both sides negotiated it and the
/// early data was accepted and read intact.
#[track_caller]
pub fn early_data_is_accepted_with_suite(peer: &impl ServerPeer, suite: Suite) {
    let config = zerortt::client_config(&[suite]);
    let ticket = ticket(peer, &config);
    let data = early_data(300);
    let (outcome, _) = connect_to(peer, config, Some(ticket), &data, 2);
    assert_eq!(outcome.client_suite, Some(suite.code()), "{suite:?}");
    assert_eq!(outcome.server_suite, Some(suite.code()), "{suite:?}");
    assert_bytes(&outcome.early_read, &data, &format!("{suite:?}"));
    assert_eq!(outcome.client_status, Status::Accepted, "{suite:?}");
    assert_eq!(outcome.server_status, Status::Accepted, "{suite:?}");
}

/// A ticket from `ticket_from` resumes on `server`, which does not accept early data: `len`
/// bytes of early data are not read, the server reports `server_rejected`, and the client
/// resends them as 1-RTT data.
#[track_caller]
pub fn resumption_without_early_data_resends_as_1rtt<P: ServerPeer>(
    ticket_from: &P,
    mut server: P::End,
    len: usize,
    server_rejected: Status,
) {
    let config = zerortt::client_config(&[]);
    let ticket = ticket(ticket_from, &config);
    let data = early_data(len);
    let (outcome, _) = connect(&mut server, config, Some(ticket), &data, 2);
    assert!(outcome.client_resumed && outcome.server_resumed);
    assert!(outcome.early_read.is_empty());
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, server_rejected);
    assert!(outcome.resent);
    assert_eq!(
        outcome.app_read, data,
        "the resent data arrived as 1-RTT data"
    );
}

/// A ticket from `ticket_from` does not resume on `server`: a full handshake, `len` bytes of
/// early data not read, the server reports `server_rejected`, the data arrives as 1-RTT data.
#[track_caller]
pub fn full_handshake_instead_of_resumption_resends_as_1rtt<P: ServerPeer>(
    ticket_from: &P,
    mut server: P::End,
    len: usize,
    server_rejected: Status,
) {
    let config = zerortt::client_config(&[]);
    let ticket = ticket(ticket_from, &config);
    let data = early_data(len);
    let (outcome, _) = connect(&mut server, config, Some(ticket), &data, 2);
    assert!(!outcome.client_resumed && !outcome.server_resumed);
    assert!(outcome.early_read.is_empty());
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, server_rejected);
    assert!(outcome.resent);
    assert_bytes(&outcome.app_read, &data, "1-RTT data read");
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
    assert!(
        !second.server_resumed,
        "the server took the session out of its store"
    );
    assert!(second.early_read.is_empty());
    assert_eq!(second.client_status, Status::Rejected);
    assert_eq!(second.server_status, server_rejected);
    assert_bytes(&second.app_read, &data, "1-RTT data read");
}

/// A full handshake with a `server` that answers with a HelloRetryRequest: the client saw it,
/// the handshake completed, the reply arrived and the client holds `tickets` tickets.
#[track_caller]
pub fn hello_retry_request_is_answered(mut server: impl ServerEnd, tickets: usize) {
    let (outcome, client) = connect(&mut server, zerortt::client_config(&[]), None, b"", 1);
    assert!(client.saw_hello_retry_request());
    assert_eq!(outcome.reply_read, REPLY);
    assert_eq!(outcome.tickets, tickets);
}

/// 16 KiB of early data (a full record): all written, read intact, accepted by both sides.
#[track_caller]
pub fn sixteen_kib_are_accepted(peer: &impl ServerPeer) {
    let config = zerortt::client_config(&[]);
    let ticket = ticket(peer, &config);
    let data = early_data(16384);
    let (outcome, _) = connect_to(peer, config, Some(ticket), &data, 2);
    assert_eq!(outcome.early_written, 16384);
    assert_bytes(&outcome.early_read, &data, "early data read");
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
}

/// 0-RTT from a client in middlebox compatibility mode (RFC 9846 appendix D.4): the early
/// data is read intact and accepted by both sides.
#[track_caller]
pub fn middlebox_compat_does_0rtt(peer: &impl ServerPeer) {
    let mut config = zerortt::client_config(&[]);
    config.middlebox_compat = true;
    let ticket = ticket(peer, &config);
    let data = early_data(1000);
    let (outcome, _) = connect_to(peer, config, Some(ticket), &data, 2);
    assert_bytes(&outcome.early_read, &data, "early data read");
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
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
    assert_bytes(&outcome.early_read, &data, "early data read");
    assert_eq!(outcome.client_status, Status::Accepted);
    assert_eq!(outcome.server_status, Status::Accepted);
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
    let config = zerortt::client_config(&[]);
    let ticket = ticket(peer, &config);
    let mut c = Zerortt::client(config, Some(ticket), 2);
    let mut s = peer.accept().expect("peer server");
    let data = early_data(1000);
    assert_eq!(ClientEnd::write_early_data(&mut c, &data), Ok(data.len()));
    transfer(&mut c, &mut s);
    let mut early = Vec::new();
    assert_eq!(
        s.read_early_data(&mut early),
        Ok(false),
        "EndOfEarlyData not yet"
    );
    assert_bytes(&early, &data, "early data read");
    send_half_rtt(&mut s, b"half-RTT").expect("0.5-RTT data");
    transfer(&mut s, &mut c);
    let mut half = Vec::new();
    c.read(&mut half).expect("read in the early-data phase");
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

/// After 0-RTT, the server requests a KeyUpdate with `request_key_update` (true once
/// queued) and writes: the client reads the data, answers with a KeyUpdate of its own
/// (RFC 9846 4.7.3: the receiver of update_requested "MUST send a KeyUpdate of its own"),
/// and data flows the other way under the new keys.
#[track_caller]
pub fn key_update_from_the_server_is_answered<P: ServerPeer>(
    peer: &P,
    request_key_update: impl FnOnce(&mut P::End) -> bool,
) {
    let config = zerortt::client_config(&[]);
    let ticket = ticket(peer, &config);
    let mut c = Zerortt::client(config, Some(ticket), 2);
    let mut s = peer.accept().expect("peer server");
    let data = early_data(1000);
    assert_eq!(ClientEnd::write_early_data(&mut c, &data), Ok(data.len()));
    let mut early = Vec::new();
    complete_handshake(&mut c, &mut s, &mut early).expect("handshake");
    assert_bytes(&early, &data, "early data read");
    assert!(request_key_update(&mut s), "KeyUpdate requested");
    send(&mut s, &mut c, b"server, new keys");
    assert!(c
        .events
        .contains(&Event::HandshakeSent(HandshakeType::KeyUpdate)));
    send(&mut c, &mut s, b"client, new keys");
}
