//! Middlebox compatibility mode (RFC 9846 appendix E.4, which the code comments cite as
//! D.4, its number in RFC 8446): where the dummy change_cipher_spec goes on the wire, seen
//! record by record in what real connections wrote.
//!
//! - Client, offering early data: "immediately after the first ClientHello".
//! - Client, not offering early data: "immediately before its second flight ... either
//!   before its second ClientHello or before its encrypted handshake flight".
//! - Server: "immediately after its first handshake message ... either after a
//!   ServerHello or a HelloRetryRequest", and only "if the client sends a non-empty
//!   session ID".

#[path = "common/pair.rs"]
mod pair;
#[path = "common/scripted.rs"]
mod scripted;
#[path = "common/wire.rs"]
mod wire;

use pair::{client_config, rng, tickets_from_full_handshake, SERVER_NAME};
use std::sync::Arc;
use wire::*;
use zerortt_core::conn::config::{ClientConfig, HelloRetryPolicy, ServerConfig};
use zerortt_core::identity::test_identity;
use zerortt_core::msgs::enums::{ContentType as Ct, ProtocolVersion};
use zerortt_core::msgs::record::Record;
use zerortt_core::tickets::session::ClientSession;
use zerortt_core::time::Timestamp;
use zerortt_core::verify::ServerTrust;
use zerortt_core::{ConnError, Connection, EarlyDataStatus, ReadEarlyData};

const NOW: Timestamp = Timestamp::SIM_EPOCH;

fn client_config_compat(compat: bool) -> Arc<ClientConfig> {
    let mut cc = ClientConfig::new(ServerTrust::test_ca());
    cc.middlebox_compat = compat;
    Arc::new(cc)
}

fn server_config(hello_retry: HelloRetryPolicy) -> Arc<ServerConfig> {
    let mut sc = ServerConfig::new(test_identity::ed25519());
    sc.set_max_early_data(16384);
    sc.hello_retry = hello_retry;
    Arc::new(sc)
}

/// Every record each side wrote, one entry per flight (a non-empty `write_tls` between
/// two application calls of the other side).
struct Flights {
    client: Vec<Vec<Record>>,
    server: Vec<Vec<Record>>,
    client_status: EarlyDataStatus,
    early_data_read: Vec<u8>,
}

/// Runs a client (writing `early` as early data when given) against a server that reads
/// early data until Finish and then completes the handshake; both must complete.
fn run(
    cc: &Arc<ClientConfig>,
    sc: &Arc<ServerConfig>,
    session: Option<ClientSession>,
    early: Option<&[u8]>,
) -> Flights {
    let mut client = Connection::client(cc.clone(), SERVER_NAME, session, rng(2));
    let mut server = Connection::server(sc.clone(), rng(3));
    let mut flights = Flights {
        client: Vec::new(),
        server: Vec::new(),
        client_status: EarlyDataStatus::NotSent,
        early_data_read: Vec::new(),
    };
    let mut server_finished_early = false;
    for round in 0..10 {
        let r = match (round, early) {
            (0, Some(data)) => client.write_early_data(data, NOW).map(|_| ()),
            _ => client.do_handshake(NOW),
        };
        assert!(matches!(r, Ok(()) | Err(ConnError::WantRead)), "{r:?}");
        let wire = move_bytes(&mut client, &mut server);
        if !wire.is_empty() {
            flights.client.push(wire_records(&wire));
        }
        let mut buf = [0u8; 1024];
        while !server_finished_early {
            match server.read_early_data(&mut buf, NOW) {
                Ok(ReadEarlyData::Success(n)) => flights.early_data_read.extend(&buf[..n]),
                Ok(ReadEarlyData::Finish) => server_finished_early = true,
                Err(ConnError::WantRead) => break,
                Err(e) => panic!("read_early_data: {e}"),
            }
        }
        if server_finished_early {
            let r = server.do_handshake(NOW);
            assert!(matches!(r, Ok(()) | Err(ConnError::WantRead)), "{r:?}");
        }
        let wire = move_bytes(&mut server, &mut client);
        if !wire.is_empty() {
            flights.server.push(wire_records(&wire));
        }
        if client.is_init_finished() && server.is_init_finished() && wire.is_empty() {
            flights.client_status = client.early_data_status();
            return flights;
        }
    }
    panic!("no handshake: client {client:?} server {server:?}");
}

fn ccs_count(flight: &[Record]) -> usize {
    flight
        .iter()
        .filter(|r| r.typ == Ct::ChangeCipherSpec)
        .count()
}

fn total_ccs(flights: &[Vec<Record>]) -> usize {
    flights.iter().map(|f| ccs_count(f)).sum()
}

fn ticket(cc: &Arc<ClientConfig>, sc: &Arc<ServerConfig>) -> ClientSession {
    tickets_from_full_handshake(cc, sc, 1)
        .pop()
        .expect("a ticket")
}

// ----- client ------------------------------------------------------------------------

#[test]
fn a_compatibility_client_offering_early_data_sends_one_change_cipher_spec_right_after_its_client_hello(
) {
    let cc = client_config_compat(true);
    let sc = server_config(HelloRetryPolicy::WhenNeeded);
    let f = run(&cc, &sc, Some(ticket(&cc, &sc)), Some(b"early"));
    assert_eq!(f.client_status, EarlyDataStatus::Accepted);
    assert_eq!(f.early_data_read, b"early");
    let first = &f.client[0];
    assert_eq!(
        types(first),
        [Ct::Handshake, Ct::ChangeCipherSpec, Ct::ApplicationData]
    );
    assert_eq!(first[0].version, ProtocolVersion::Tls10, "the ClientHello");
    assert_eq!(first[1], compat_ccs());
    assert_eq!(total_ccs(&f.client), 1, "no second one before Finished");
}

#[test]
fn a_compatibility_client_without_early_data_sends_its_change_cipher_spec_just_before_its_finished()
{
    let cc = client_config_compat(true);
    let sc = server_config(HelloRetryPolicy::WhenNeeded);
    let f = run(&cc, &sc, None, None);
    assert_eq!(types(&f.client[0]), [Ct::Handshake]);
    assert_eq!(f.client[1][0], compat_ccs());
    assert_eq!(
        types(&f.client[1]),
        [Ct::ChangeCipherSpec, Ct::ApplicationData]
    );
    assert_eq!(total_ccs(&f.client), 1);
}

#[test]
fn a_compatibility_client_answering_a_hello_retry_request_sends_its_change_cipher_spec_before_the_second_client_hello(
) {
    let cc = client_config_compat(true);
    let sc = server_config(HelloRetryPolicy::AlwaysWithCookie);
    let f = run(&cc, &sc, None, None);
    assert_eq!(types(&f.client[0]), [Ct::Handshake]);
    assert_eq!(f.client[1][0], compat_ccs());
    assert_eq!(types(&f.client[1]), [Ct::ChangeCipherSpec, Ct::Handshake]);
    assert_eq!(types(&f.client[2]), [Ct::ApplicationData]);
    assert_eq!(total_ccs(&f.client), 1);
}

#[test]
fn a_compatibility_client_that_sent_early_data_sends_no_second_change_cipher_spec_after_a_hello_retry_request(
) {
    let cc = client_config_compat(true);
    let sc = server_config(HelloRetryPolicy::AlwaysWithCookie);
    let session = ticket(&cc, &sc);
    let f = run(&cc, &sc, Some(session), Some(b"early"));
    assert_eq!(f.client_status, EarlyDataStatus::Rejected);
    assert_eq!(f.client[0][1], compat_ccs());
    assert_eq!(types(&f.client[1]), [Ct::Handshake], "ClientHello2 alone");
    assert_eq!(total_ccs(&f.client), 1);
}

#[test]
fn a_client_not_in_compatibility_mode_never_sends_change_cipher_spec() {
    let cc = client_config_compat(false);
    for policy in [
        HelloRetryPolicy::WhenNeeded,
        HelloRetryPolicy::AlwaysWithCookie,
    ] {
        let sc = server_config(policy);
        let session = ticket(&cc, &sc);
        for (session, early) in [(None, None), (Some(session), Some(&b"early"[..]))] {
            let f = run(&cc, &sc, session, early);
            assert_eq!(total_ccs(&f.client), 0);
            assert_eq!(
                total_ccs(&f.server),
                0,
                "nor does the server answer with one"
            );
        }
    }
}

// ----- server ------------------------------------------------------------------------

#[test]
fn a_server_answering_a_compatibility_client_sends_change_cipher_spec_right_after_its_server_hello()
{
    let cc = client_config_compat(true);
    let sc = server_config(HelloRetryPolicy::WhenNeeded);
    for (session, early) in [(None, None), (Some(ticket(&cc, &sc)), Some(&b"e"[..]))] {
        let f = run(&cc, &sc, session, early);
        let first = &f.server[0];
        assert_eq!(first[0].typ, Ct::Handshake, "ServerHello");
        assert_eq!(first[1], compat_ccs());
        assert!(first[2..].iter().all(|r| r.typ == Ct::ApplicationData));
        assert_eq!(total_ccs(&f.server), 1);
    }
}

#[test]
fn a_server_sends_its_change_cipher_spec_after_the_hello_retry_request_and_not_again_after_the_server_hello(
) {
    let cc = client_config_compat(true);
    let sc = server_config(HelloRetryPolicy::AlwaysWithCookie);
    let f = run(&cc, &sc, None, None);
    assert_eq!(types(&f.server[0]), [Ct::Handshake, Ct::ChangeCipherSpec]);
    assert_eq!(f.server[0][1], compat_ccs());
    assert_eq!(f.server[1][0].typ, Ct::Handshake, "ServerHello");
    assert_eq!(total_ccs(&f.server), 1);
}

#[test]
fn a_server_sends_no_change_cipher_spec_to_a_client_with_an_empty_session_id() {
    let cc = client_config();
    let sc = server_config(HelloRetryPolicy::AlwaysWithCookie);
    let f = run(&cc, &sc, None, None);
    assert_eq!(
        types(&f.server[0]),
        [Ct::Handshake],
        "the HelloRetryRequest alone"
    );
    assert_eq!(total_ccs(&f.server), 0);
}
