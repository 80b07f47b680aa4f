//! The interoperability scenarios, once for every peer: each function runs one scenario
//! between zerortt and a peer stack and asserts its outcome, so a test is one call and a new
//! peer gets the whole suite by implementing [`ClientEnd`]/[`ServerEnd`] for its connections
//! and [`ClientPeer`]/[`ServerPeer`] for its configurations.
//!
//! [`zerortt_client`] has the scenarios in which the peer is the server, [`zerortt_server`]
//! those in which it is the client. What differs between peers (tickets after a resumption,
//! the status a server reports for early data it did not accept, how it sends 0.5-RTT data or
//! a KeyUpdate) is a parameter, explained where each test passes it.
//!
//! The functions panic (assert) on any failure: they are test bodies.

pub mod zerortt_client;
pub mod zerortt_server;

use crate::pump::{complete_handshake, transfer, ClientEnd, Endpoint, Failure, ServerEnd};
use crate::pump::{Outcome, Status, REPLY};
use crate::zerortt::Zerortt;
use zerortt_core::msgs::enums::HandshakeType;
use zerortt_core::Event;

/// The early data limit every server of the scenarios advertises (and so every ticket carries
/// unless the scenario says otherwise): one full record, RFC 9846 4.7.1 `max_early_data_size`.
pub const MAX_EARLY_DATA: u32 = 16384;

/// Whether a connection offering a ticket resumed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handshake {
    /// Both sides resumed the session.
    Resumed,
    /// Neither did: a full handshake.
    Full,
}

/// A peer's server configuration: connections accepted on one share its session store, so a
/// ticket one issues resumes on another.
pub trait ServerPeer {
    /// Its connections.
    type End: ServerEnd;
    /// A new server connection.
    fn accept(&self) -> Result<Self::End, Failure>;
}

/// A peer's client configuration with the sessions (tickets) its clients received.
pub trait ClientPeer {
    /// Its connections.
    type End: ClientEnd;
    /// A new client connection offering the newest ticket received so far and not yet
    /// offered (a full handshake if there is none).
    fn connect(&self) -> Result<Self::End, Failure>;
}

/// Early data whose every byte depends on its position, so a lost, repeated or reordered
/// chunk shows.
pub fn early_data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

/// `got == want`, reported by length and first difference rather than by dumping bytes.
#[track_caller]
pub fn assert_bytes(got: &[u8], want: &[u8], what: &str) {
    let first_diff = got.iter().zip(want).position(|(a, b)| a != b);
    assert!(
        got == want,
        "{what}: got {} bytes, want {}, first difference at {first_diff:?}",
        got.len(),
        want.len()
    );
}

/// `from` writes `data` as application data and `to` reads exactly it.
#[track_caller]
pub fn send(from: &mut impl Endpoint, to: &mut impl Endpoint, data: &[u8]) {
    from.write(data).expect("write");
    transfer(from, to);
    let mut got = Vec::new();
    to.read(&mut got).expect("read");
    assert_eq!(got, data);
}

/// A full handshake: neither side resumed, the server's reply arrived, and the client got
/// `tickets` tickets.
#[track_caller]
pub fn assert_full_handshake(outcome: &Outcome, tickets: usize) {
    assert!(!outcome.client_resumed && !outcome.server_resumed);
    assert_eq!(outcome.reply_read, REPLY);
    assert_eq!(outcome.tickets, tickets);
}

/// The server read `data` intact as early data and both sides report it accepted.
#[track_caller]
pub fn assert_accepted(outcome: &Outcome, data: &[u8], what: &str) {
    assert_bytes(&outcome.early_read, data, what);
    assert_eq!(outcome.client_status, Status::Accepted, "{what}");
    assert_eq!(outcome.server_status, Status::Accepted, "{what}");
}

/// A resumption in which all of `data` was written and accepted as early data, and so
/// nothing was resent.
#[track_caller]
pub fn assert_resumed_0rtt(outcome: &Outcome, data: &[u8]) {
    assert_eq!(outcome.early_written, data.len());
    assert_accepted(
        outcome,
        data,
        "the server's early-data API returned it intact",
    );
    assert!(outcome.client_resumed && outcome.server_resumed);
    assert!(!outcome.resent && outcome.app_read.is_empty());
}

/// The early data `data` was not accepted: the `handshake` was as said, the
/// server read no early data, the client reports it rejected and the server
/// `server_rejected`, and the client resent it (RFC 9846 4.3.10), so the server read it as
/// 1-RTT data.
#[track_caller]
pub fn assert_resent(
    outcome: &Outcome,
    data: &[u8],
    handshake: Handshake,
    server_rejected: Status,
) {
    let resumed = handshake == Handshake::Resumed;
    assert_eq!(
        (outcome.client_resumed, outcome.server_resumed),
        (resumed, resumed),
        "resumed (client, server)"
    );
    assert!(outcome.early_read.is_empty(), "no early data read");
    assert_eq!(outcome.client_status, Status::Rejected);
    assert_eq!(outcome.server_status, server_rejected);
    assert!(outcome.resent);
    assert_bytes(
        &outcome.app_read,
        data,
        "the resent data, read as 1-RTT data",
    );
}

/// The client writes `data` as early data; the server reads it (its early-data API does not
/// finish: EndOfEarlyData is not there yet) and sends `half-RTT` with `send_half_rtt`
/// (0.5-RTT data), which is handed to the client. Returns the early data read so far.
#[track_caller]
pub fn early_data_then_half_rtt<S: ServerEnd>(
    c: &mut impl ClientEnd,
    s: &mut S,
    data: &[u8],
    send_half_rtt: impl FnOnce(&mut S, &[u8]) -> Result<(), Failure>,
) -> Vec<u8> {
    assert_eq!(c.write_early_data(data), Ok(data.len()));
    transfer(c, s);
    let mut early = Vec::new();
    assert_eq!(
        s.read_early_data(&mut early),
        Ok(false),
        "EndOfEarlyData not yet"
    );
    assert_bytes(&early, data, "early data read");
    send_half_rtt(s, b"half-RTT").expect("0.5-RTT data");
    transfer(s, c);
    early
}

/// Completes the handshake [`early_data_then_half_rtt`] began: the server read all of `data`
/// as early data (`early`, what it read so far, and the rest) and both sides report it
/// accepted.
#[track_caller]
pub fn complete_0rtt(
    c: &mut impl ClientEnd,
    s: &mut impl ServerEnd,
    mut early: Vec<u8>,
    data: &[u8],
) {
    complete_handshake(c, s, &mut early).expect("handshake");
    assert_bytes(&early, data, "early data read");
    assert_eq!(c.status(), Status::Accepted);
    assert_eq!(s.status(), Status::Accepted);
}

/// The client writes `data` as early data and the handshake completes, the server having
/// read it intact.
#[track_caller]
pub fn handshake_with_early_data(c: &mut impl ClientEnd, s: &mut impl ServerEnd, data: &[u8]) {
    assert_eq!(c.write_early_data(data), Ok(data.len()));
    let mut early = Vec::new();
    complete_handshake(c, s, &mut early).expect("handshake");
    assert_bytes(&early, data, "early data read");
}

/// After the handshake, `peer` requests a KeyUpdate with `request_key_update` (true once
/// queued) and writes: zerortt reads the data and answers with a KeyUpdate of its own
/// (RFC 9846 4.7.3: the receiver of update_requested "MUST send a KeyUpdate of its own"),
/// and data flows back under the new keys.
#[track_caller]
pub fn key_update_is_answered<E: Endpoint>(
    peer: &mut E,
    zerortt: &mut Zerortt,
    request_key_update: impl FnOnce(&mut E) -> bool,
) {
    assert!(request_key_update(peer), "KeyUpdate requested");
    send(peer, zerortt, b"peer, new keys");
    assert!(zerortt
        .events
        .contains(&Event::HandshakeSent(HandshakeType::KeyUpdate)));
    send(zerortt, peer, b"zerortt, new keys");
}
