//! Client and server paired in memory: one test per rule of SSL_read_early_data(3) that
//! concerns a single connection, named after the rule.

#[path = "common/pair.rs"]
mod pair;

use pair::*;
use zerortt_core::{EarlyDataStatus, ReadEarlyData};

#[test]
fn a_full_handshake_completes_and_issues_two_tickets() {
    let (cc, sc) = (client_config(), server_config(16384));
    let tickets = tickets_from_full_handshake(&cc, &sc, 1);
    assert_eq!(tickets.len(), 2);
    assert!(tickets.iter().all(|t| t.max_early_data() == 16384));
}

#[test]
fn early_data_is_accepted_on_resumption_and_read_before_the_client_finished() {
    let (cc, sc) = (client_config(), server_config(16384));
    let mut tickets = tickets_from_full_handshake(&cc, &sc, 1);
    let mut pair = Pair::new(&cc, &sc, tickets.pop(), 2);
    assert_eq!(
        pair.client.write_early_data(b"hello ", pair.now).unwrap(),
        6
    );
    assert_eq!(pair.client.write_early_data(b"world", pair.now).unwrap(), 5);
    pair.client_to_server();
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    while let ReadEarlyData::Success(n) = pair.server.read_early_data(&mut buf, pair.now).unwrap() {
        got.extend_from_slice(&buf[..n]);
        if got.len() == 11 {
            // The client finishes: EndOfEarlyData then Finished.
            pair.server_to_client();
            let _ = pair.client.do_handshake(pair.now);
            pair.client_to_server();
        }
    }
    assert_eq!(got, b"hello world");
    assert_eq!(pair.server.early_data_status(), EarlyDataStatus::Accepted);
    pair.handshake();
    assert_eq!(pair.client.early_data_status(), EarlyDataStatus::Accepted);
}
