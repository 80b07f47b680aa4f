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

use crate::pump::{transfer, ClientEnd, Endpoint, Failure, ServerEnd};

/// The early data limit every server of the scenarios advertises (and so every ticket carries
/// unless the scenario says otherwise): one full record, RFC 9846 4.6.1 `max_early_data_size`.
pub const MAX_EARLY_DATA: u32 = 16384;

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
