//! Client and server paired in memory: one test per rule of SSL_read_early_data(3) that
//! concerns a single connection, named after the rule. Tickets and anti-replay have their
//! own file.

#[path = "common/pair.rs"]
mod pair;

use pair::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use zerortt_core::conn::config::{ClientConfig, HelloRetryPolicy, ServerConfig};
use zerortt_core::conn::events::EarlyDataRejectReason;
use zerortt_core::crypto::suites;
use zerortt_core::identity::test_identity;
use zerortt_core::msgs::enums::{AlertDescription, HandshakeType};
use zerortt_core::tickets::session::ClientSession;
use zerortt_core::verify::ServerTrust;
use zerortt_core::{
    ApiMisuse, ConnError, EarlyDataStatus, Error, Event, PeerMisbehaved, ReadEarlyData,
};

fn setup(max_early_data: u32) -> (Arc<ClientConfig>, Arc<ServerConfig>, ClientSession) {
    let (cc, sc) = (client_config(), server_config(max_early_data));
    let mut tickets = tickets_from_full_handshake(&cc, &sc, 1);
    (cc, sc, tickets.pop().expect("a ticket"))
}

fn rejected_reason(events: &[Event]) -> Option<EarlyDataRejectReason> {
    events.iter().find_map(|e| match e {
        Event::EarlyDataRejected { reason } => Some(*reason),
        _ => None,
    })
}

/// Client writes `data` as early data, server reads with read_early_data to Finish,
/// then both complete. Returns (early data the server read, server events).
fn zero_rtt(pair: &mut Pair, data: &[u8]) -> (Vec<u8>, Vec<Event>) {
    pair.client.write_early_data(data, pair.now).unwrap();
    let got = pair.server_read_all_early_data();
    pair.handshake();
    (got, pair.server.take_events())
}

// ----- client rules ---------------------------------------------------------------------

#[test]
fn write_early_data_must_be_the_first_io_call_on_a_client() {
    let (cc, sc, ticket) = setup(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    assert_eq!(pair.client.do_handshake(pair.now), Err(ConnError::WantRead));
    assert_eq!(
        pair.client.write_early_data(b"late", pair.now),
        Err(ConnError::Misuse(ApiMisuse::WriteEarlyDataNotFirstIo))
    );
    pair.handshake();
    assert_eq!(pair.client.early_data_status(), EarlyDataStatus::NotSent);
    assert_eq!(pair.server.early_data_status(), EarlyDataStatus::NotSent);
}

#[test]
fn write_early_data_needs_a_session_whose_max_early_data_is_not_zero() {
    let (cc, sc) = (client_config(), server_config(16384));
    let mut no_session = Pair::new(&cc, &sc, None, 2);
    assert_eq!(
        no_session.client.write_early_data(b"x", no_session.now),
        Err(ConnError::Misuse(ApiMisuse::SessionDoesNotAllowEarlyData))
    );
    let (cc, sc, ticket) = setup(0);
    assert_eq!(
        ticket.max_early_data(),
        0,
        "a server with max_early_data 0 says so in its tickets"
    );
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 3);
    assert_eq!(
        pair.client.write_early_data(b"x", pair.now),
        Err(ConnError::Misuse(ApiMisuse::SessionDoesNotAllowEarlyData))
    );
    // The refused call was not the first I/O: the handshake still works.
    pair.handshake();
}

#[test]
fn write_early_data_may_be_called_repeatedly_to_stream_data() {
    let (cc, sc, ticket) = setup(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    for chunk in [&b"one "[..], b"two ", b"three"] {
        assert_eq!(
            pair.client.write_early_data(chunk, pair.now),
            Ok(chunk.len())
        );
    }
    let got = pair.server_read_all_early_data();
    assert_eq!(got, b"one two three");
}

#[test]
fn a_write_beyond_the_session_max_early_data_is_refused_and_nothing_of_it_is_sent() {
    let (cc, sc, ticket) = setup(1000);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    pair.client.write_early_data(&[1; 600], pair.now).unwrap();
    let before = pair.take_client_output().len();
    assert!(before > 600);
    assert_eq!(
        pair.client.write_early_data(&[2; 401], pair.now),
        Err(ConnError::Misuse(ApiMisuse::EarlyDataLimitExceeded {
            remaining: 400
        }))
    );
    assert!(!pair.client.wants_write(), "the refused write sent nothing");
    assert_eq!(pair.client.write_early_data(&[3; 400], pair.now), Ok(400));
}

#[test]
fn after_the_first_early_write_the_client_may_interleave_reads_with_more_early_writes() {
    let (cc, sc, ticket) = setup(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    pair.client.write_early_data(b"first ", pair.now).unwrap();
    pair.client_to_server();
    let mut buf = [0u8; 64];
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Ok(ReadEarlyData::Success(6))
    );
    pair.server.write_early_data(b"0.5-RTT", pair.now).unwrap();
    pair.server_to_client();
    // The client reads the server's 0.5-RTT data without finishing its handshake ...
    assert_eq!(pair.client.read(&mut buf, pair.now), Ok(7));
    assert_eq!(&buf[..7], b"0.5-RTT");
    assert!(!pair.client.is_init_finished());
    // ... and keeps writing early data.
    assert_eq!(pair.client.write_early_data(b"second", pair.now), Ok(6));
    pair.client_to_server();
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Ok(ReadEarlyData::Success(6))
    );
    assert_eq!(&buf[..6], b"second");
}

#[test]
fn do_handshake_sends_end_of_early_data_only_when_early_data_was_accepted() {
    let (cc, sc, ticket) = setup(16384);
    let mut accepted = Pair::new(&cc, &sc, Some(ticket.clone()), 2);
    zero_rtt(&mut accepted, b"hi");
    assert!(sent(
        &accepted.client.take_events(),
        HandshakeType::EndOfEarlyData
    ));

    let (cc, sc, ticket) = setup(16384);
    sc.set_max_early_data(0);
    let mut rejected = Pair::new(&cc, &sc, Some(ticket), 3);
    let (got, _) = zero_rtt(&mut rejected, b"hi");
    assert!(got.is_empty());
    let events = rejected.client.take_events();
    assert!(!sent(&events, HandshakeType::EndOfEarlyData));
    assert!(sent(&events, HandshakeType::Finished));
}

#[test]
fn write_completes_the_handshake_transparently_and_then_writes() {
    let (cc, sc, ticket) = setup(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    pair.client.write_early_data(b"early", pair.now).unwrap();
    assert_eq!(pair.server_read_all_early_data(), b"early");
    pair.server_to_client();
    assert_eq!(pair.client.write(b"normal", pair.now), Ok(6));
    assert!(pair.client.is_init_finished());
    pair.client_to_server();
    let mut buf = [0u8; 16];
    assert_eq!(pair.server.read(&mut buf, pair.now), Ok(6));
    assert_eq!(&buf[..6], b"normal");
}

#[test]
fn write_early_data_after_the_handshake_is_an_error() {
    let (cc, sc, ticket) = setup(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    zero_rtt(&mut pair, b"hi");
    assert_eq!(
        pair.client.write_early_data(b"more", pair.now),
        Err(ConnError::Misuse(ApiMisuse::EarlyDataAfterHandshake))
    );
}

// ----- server rules ---------------------------------------------------------------------

#[test]
fn only_servers_may_call_read_early_data() {
    let (cc, sc) = (client_config(), server_config(16384));
    let mut pair = Pair::new(&cc, &sc, None, 2);
    let mut buf = [0u8; 8];
    assert_eq!(
        pair.client.read_early_data(&mut buf, pair.now),
        Err(ConnError::Misuse(ApiMisuse::ReadEarlyDataIsServerOnly))
    );
}

#[test]
fn read_early_data_must_be_the_first_io_call_and_a_server_that_skips_it_rejects_early_data() {
    let (cc, sc, ticket) = setup(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    pair.client.write_early_data(b"ignored", pair.now).unwrap();
    pair.client_to_server();
    assert_eq!(pair.server.do_handshake(pair.now), Err(ConnError::WantRead));
    let mut buf = [0u8; 8];
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Err(ConnError::Misuse(ApiMisuse::ReadEarlyDataNotFirstIo))
    );
    assert_eq!(
        rejected_reason(&pair.server.take_events()),
        Some(EarlyDataRejectReason::NotReadingEarlyData)
    );
    pair.handshake();
    assert_eq!(pair.client.early_data_status(), EarlyDataStatus::Rejected);
    assert_eq!(pair.server.early_data_status(), EarlyDataStatus::Rejected);
}

#[test]
fn read_early_data_returns_finish_at_once_when_no_early_data_was_sent() {
    let (cc, sc, ticket) = setup(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    let _ = pair.client.do_handshake(pair.now);
    pair.client_to_server();
    let mut buf = [0u8; 8];
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Ok(ReadEarlyData::Finish)
    );
    assert!(!pair.server.is_init_finished());
    pair.handshake();
    assert_eq!(pair.server.early_data_status(), EarlyDataStatus::NotSent);
}

#[test]
fn read_early_data_returns_finish_when_early_data_was_rejected() {
    let (cc, sc, ticket) = setup(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    pair.server.set_max_early_data(0);
    pair.client.write_early_data(b"dropped", pair.now).unwrap();
    pair.client_to_server();
    let mut buf = [0u8; 8];
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Ok(ReadEarlyData::Finish)
    );
    pair.handshake();
    assert_eq!(pair.server.early_data_status(), EarlyDataStatus::Rejected);
    assert_eq!(pair.client.early_data_status(), EarlyDataStatus::Rejected);
}

#[test]
fn read_early_data_returns_finish_once_end_of_early_data_arrives_even_before_the_client_finished() {
    let (cc, sc, ticket) = setup(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    pair.client.write_early_data(b"abc", pair.now).unwrap();
    pair.client_to_server();
    let mut buf = [0u8; 8];
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Ok(ReadEarlyData::Success(3))
    );
    pair.server_to_client();
    assert_eq!(pair.client.do_handshake(pair.now), Ok(()));
    // The client's second flight: EndOfEarlyData (early keys), then Finished.
    let records = split_records(&pair.take_client_output());
    assert_eq!(records.len(), 2);
    pair.deliver_to_server(&records[0]);
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Ok(ReadEarlyData::Finish)
    );
    assert!(!pair.server.is_init_finished());
    pair.deliver_to_server(&records[1]);
    assert_eq!(pair.server.do_handshake(pair.now), Ok(()));
}

#[test]
fn a_server_may_not_read_write_or_accept_before_read_early_data_returned_finish() {
    let (cc, sc, ticket) = setup(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    pair.client.write_early_data(b"abc", pair.now).unwrap();
    pair.client_to_server();
    let mut buf = [0u8; 8];
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Ok(ReadEarlyData::Success(3))
    );
    let not_finished = Err(ConnError::Misuse(ApiMisuse::EarlyDataNotFinished));
    assert_eq!(pair.server.read(&mut buf, pair.now), not_finished);
    assert_eq!(
        pair.server.write(b"x", pair.now).map(|_| ()),
        not_finished.clone().map(|_: usize| ())
    );
    assert_eq!(
        pair.server.do_handshake(pair.now),
        not_finished.map(|_: usize| ())
    );
}

#[test]
fn server_write_early_data_is_refused_before_the_first_read_early_data() {
    let (cc, sc) = (client_config(), server_config(16384));
    let mut pair = Pair::new(&cc, &sc, None, 2);
    assert_eq!(
        pair.server.write_early_data(b"too soon", pair.now),
        Err(ConnError::Misuse(
            ApiMisuse::WriteEarlyDataBeforeReadEarlyData
        ))
    );
}

#[test]
fn server_write_early_data_is_refused_after_the_handshake_completed() {
    let (cc, sc, ticket) = setup(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    zero_rtt(&mut pair, b"hi");
    assert!(pair.server.is_init_finished());
    assert_eq!(
        pair.server.write_early_data(b"late", pair.now),
        Err(ConnError::Misuse(ApiMisuse::EarlyDataAfterHandshake))
    );
}

#[test]
fn a_server_that_read_finish_may_send_half_rtt_data_to_a_client_without_early_data() {
    let (cc, sc) = (client_config(), server_config(16384));
    let mut pair = Pair::new(&cc, &sc, None, 2);
    let _ = pair.client.do_handshake(pair.now);
    pair.client_to_server();
    let mut buf = [0u8; 32];
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Ok(ReadEarlyData::Finish)
    );
    assert_eq!(pair.server.write_early_data(b"half-rtt", pair.now), Ok(8));
    pair.server_to_client();
    assert_eq!(pair.client.read(&mut buf, pair.now), Ok(8));
    assert_eq!(&buf[..8], b"half-rtt");
}

// ----- acceptance -----------------------------------------------------------------------

fn rejection_with(
    prepare: impl FnOnce(&mut Pair),
    sc_tweak: impl FnOnce(&ServerConfig),
) -> (Pair, Option<EarlyDataRejectReason>) {
    let (cc, sc, ticket) = setup(16384);
    sc_tweak(&sc);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    prepare(&mut pair);
    let (got, events) = zero_rtt(&mut pair, b"payload");
    assert!(
        got.is_empty(),
        "rejected early data must never be delivered"
    );
    (pair, rejected_reason(&events))
}

#[test]
fn early_data_is_rejected_when_the_servers_current_max_early_data_is_zero() {
    let (pair, reason) = rejection_with(|_| {}, |sc| sc.set_max_early_data(0));
    assert_eq!(reason, Some(EarlyDataRejectReason::ServerMaxEarlyDataZero));
    assert_eq!(pair.client.early_data_status(), EarlyDataStatus::Rejected);
}

#[test]
fn early_data_is_rejected_when_the_ticket_allowed_none_even_if_the_client_raised_its_session_limit()
{
    let (cc, sc) = (client_config(), server_config(0));
    let mut ticket = tickets_from_full_handshake(&cc, &sc, 1).pop().unwrap();
    // SSL_SESSION_set_max_early_data on a ticket that said 0.
    ticket.set_max_early_data(100);
    sc.set_max_early_data(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    let (got, events) = zero_rtt(&mut pair, b"x");
    assert!(got.is_empty());
    assert_eq!(
        rejected_reason(&events),
        Some(EarlyDataRejectReason::TicketDoesNotAllowEarlyData)
    );
}

#[test]
fn early_data_is_rejected_when_the_alpn_differs_from_the_sessions() {
    let mut cc = ClientConfig::new(ServerTrust::test_ca());
    cc.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let cc = Arc::new(cc);
    let mut sc = ServerConfig::new(test_identity::ed25519());
    sc.alpn_protocols = vec![b"h2".to_vec()];
    sc.set_max_early_data(16384);
    let sc = Arc::new(sc);
    let ticket = tickets_from_full_handshake(&cc, &sc, 1).pop().unwrap();
    assert_eq!(ticket.alpn.as_deref(), Some(&b"h2"[..]));
    // The server now prefers http/1.1 (same session cache).
    let mut sc2 = ServerConfig::new(test_identity::ed25519());
    sc2.alpn_protocols = vec![b"http/1.1".to_vec()];
    sc2.session_cache = sc.session_cache.clone();
    sc2.set_max_early_data(16384);
    let sc2 = Arc::new(sc2);
    let mut pair = Pair::new(&cc, &sc2, Some(ticket), 2);
    let (got, events) = zero_rtt(&mut pair, b"x");
    assert!(got.is_empty());
    assert_eq!(
        rejected_reason(&events),
        Some(EarlyDataRejectReason::AlpnMismatch)
    );
    assert_eq!(pair.client.alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[test]
fn early_data_is_rejected_when_the_cipher_suite_differs_from_the_sessions() {
    let (cc, sc, ticket) = setup(16384);
    assert_eq!(ticket.suite, suites::TLS13_AES_128_GCM_SHA256.suite);
    let mut sc2 = ServerConfig::new(test_identity::ed25519());
    sc2.cipher_suites = vec![&suites::TLS13_CHACHA20_POLY1305_SHA256];
    sc2.session_cache = sc.session_cache.clone();
    sc2.set_max_early_data(16384);
    let sc2 = Arc::new(sc2);
    let mut pair = Pair::new(&cc, &sc2, Some(ticket), 2);
    let (got, events) = zero_rtt(&mut pair, b"x");
    assert!(got.is_empty());
    assert_eq!(
        rejected_reason(&events),
        Some(EarlyDataRejectReason::CipherSuiteMismatch)
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::HandshakeComplete { resumed: true, .. })));
}

#[test]
fn early_data_is_rejected_after_a_hello_retry_request_and_its_records_are_skipped() {
    let (cc, sc, ticket) = setup(16384);
    let mut sc2 = ServerConfig::new(test_identity::ed25519());
    sc2.hello_retry = HelloRetryPolicy::AlwaysWithCookie;
    sc2.session_cache = sc.session_cache.clone();
    sc2.set_max_early_data(16384);
    let sc2 = Arc::new(sc2);
    let mut pair = Pair::new(&cc, &sc2, Some(ticket), 2);
    let (got, events) = zero_rtt(&mut pair, &[7; 3000]);
    assert!(got.is_empty());
    assert_eq!(
        rejected_reason(&events),
        Some(EarlyDataRejectReason::HelloRetryRequest)
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::EarlyDataSkipped { .. })));
    assert_eq!(pair.client.early_data_status(), EarlyDataStatus::Rejected);
    assert!(pair.client.is_init_finished() && pair.server.is_init_finished());
}

#[test]
fn early_data_is_rejected_when_the_ticket_age_is_outside_the_tolerance_but_the_session_resumes() {
    let (cc, sc, ticket) = setup(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    // The client's clock runs 11 s behind the server's: its ticket age is 11 s short,
    // past OpenSSL's 10 s allowance.
    pair.client.write_early_data(b"stale?", pair.now).unwrap();
    pair.now = pair.now.saturating_add(Duration::from_secs(11));
    let got = pair.server_read_all_early_data();
    pair.handshake();
    assert!(got.is_empty());
    let events = pair.server.take_events();
    assert_eq!(
        rejected_reason(&events),
        Some(EarlyDataRejectReason::TicketAgeOutsideTolerance)
    );
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::HandshakeComplete { resumed: true, .. })));
}

#[test]
fn the_allow_early_data_callback_is_called_only_when_the_library_itself_would_accept() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let (cc, sc, ticket) = setup(16384);
    let mut sc2 = ServerConfig::new(test_identity::ed25519());
    sc2.session_cache = sc.session_cache.clone();
    sc2.set_max_early_data(0);
    sc2.allow_early_data = Some(Arc::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        true
    }));
    let sc2 = Arc::new(sc2);
    let mut pair = Pair::new(&cc, &sc2, Some(ticket), 2);
    zero_rtt(&mut pair, b"x");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        0,
        "library rejected first: no call"
    );
}

#[test]
fn the_allow_early_data_callback_can_decline_under_load() {
    let (cc, sc, ticket) = setup(16384);
    let mut sc2 = ServerConfig::new(test_identity::ed25519());
    sc2.session_cache = sc.session_cache.clone();
    sc2.set_max_early_data(16384);
    // Declining under load, the man page's example.
    let load_percent = 95;
    sc2.allow_early_data = Some(Arc::new(move |_| load_percent < 90));
    let sc2 = Arc::new(sc2);
    let mut pair = Pair::new(&cc, &sc2, Some(ticket), 2);
    let (got, events) = zero_rtt(&mut pair, b"x");
    assert!(got.is_empty());
    assert!(events.contains(&Event::AllowEarlyDataCallback { allowed: false }));
    assert_eq!(
        rejected_reason(&events),
        Some(EarlyDataRejectReason::CallbackDeclined)
    );
}

#[test]
fn the_connection_level_callback_overrides_the_config_level_callback() {
    let (cc, sc, ticket) = setup(16384);
    let mut sc2 = ServerConfig::new(test_identity::ed25519());
    sc2.session_cache = sc.session_cache.clone();
    sc2.set_max_early_data(16384);
    sc2.allow_early_data = Some(Arc::new(|_| false));
    let sc2 = Arc::new(sc2);
    let mut pair = Pair::new(&cc, &sc2, Some(ticket), 2);
    pair.server
        .set_allow_early_data_cb(Some(Arc::new(|_| true)));
    let (got, _) = zero_rtt(&mut pair, b"allowed");
    assert_eq!(got, b"allowed");
    assert_eq!(pair.server.early_data_status(), EarlyDataStatus::Accepted);
}

// ----- limits ---------------------------------------------------------------------------

fn too_much(
    session_max: u32,
    recv_max: u32,
    client_limit: u32,
    send: usize,
) -> Result<Vec<u8>, ConnError> {
    let (cc, sc, mut ticket) = setup(session_max);
    sc.set_recv_max_early_data(recv_max);
    ticket.set_max_early_data(client_limit);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    let data = vec![0x42; send];
    for chunk in data.chunks(1000) {
        pair.client.write_early_data(chunk, pair.now).unwrap();
    }
    // Deliver everything first, read nothing: the limit counts records, not reads.
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    for _ in 0..100 {
        pair.client_to_server();
        match pair.server.read_early_data(&mut buf, pair.now)? {
            ReadEarlyData::Success(n) => got.extend_from_slice(&buf[..n]),
            ReadEarlyData::Finish => return Ok(got),
        }
    }
    Ok(got)
}

#[test]
fn early_data_exactly_at_min_of_session_max_and_recv_max_is_accepted() {
    let (cc, sc, ticket) = setup(4000);
    sc.set_recv_max_early_data(4000);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    let (got, _) = zero_rtt(&mut pair, &[9; 4000]);
    assert_eq!(got.len(), 4000);
}

#[test]
fn accepted_early_data_beyond_the_sessions_max_early_data_aborts_with_unexpected_message() {
    let err = too_much(2000, 16384, 5000, 2001).unwrap_err();
    assert_eq!(
        err,
        ConnError::Fatal(Error::PeerMisbehaved(PeerMisbehaved::TooMuchEarlyData))
    );
    if let ConnError::Fatal(e) = err {
        assert_eq!(e.alert(), Some(AlertDescription::UnexpectedMessage));
    }
}

#[test]
fn accepted_early_data_beyond_recv_max_early_data_aborts_whatever_the_application_has_read() {
    let err = too_much(16384, 3000, 16384, 3001).unwrap_err();
    assert_eq!(
        err,
        ConnError::Fatal(Error::PeerMisbehaved(PeerMisbehaved::TooMuchEarlyData))
    );
}

#[test]
fn rejected_early_data_within_the_skip_budget_is_skipped_and_the_handshake_completes() {
    let (cc, sc, ticket) = setup(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    pair.server.set_max_early_data(0);
    for _ in 0..16 {
        pair.client.write_early_data(&[1; 1024], pair.now).unwrap();
    }
    let got = pair.server_read_all_early_data();
    pair.handshake();
    assert!(got.is_empty());
    let skipped = pair
        .server
        .take_events()
        .iter()
        .filter(|e| matches!(e, Event::EarlyDataSkipped { .. }))
        .count();
    assert_eq!(skipped, 16);
}

#[test]
fn rejected_early_data_beyond_the_skip_budget_aborts_the_connection() {
    let (cc, sc, mut ticket) = setup(16384);
    ticket.set_max_early_data(20000);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    pair.server.set_max_early_data(0);
    pair.server.set_recv_max_early_data(8192);
    for _ in 0..9 {
        pair.client.write_early_data(&[1; 1024], pair.now).unwrap();
    }
    pair.client_to_server();
    let mut buf = [0u8; 16];
    // Rejected: read_early_data says Finish at once ("if the early data was rejected");
    // the skipping happens while the handshake completes, and aborts there.
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Ok(ReadEarlyData::Finish)
    );
    let err = pair.server.do_handshake(pair.now).unwrap_err();
    assert_eq!(
        err,
        ConnError::Fatal(Error::PeerMisbehaved(
            PeerMisbehaved::TooMuchRejectedEarlyDataSkipped
        ))
    );
}

#[test]
fn read_early_data_stops_at_end_of_early_data_so_half_rtt_writes_stay_possible() {
    let (cc, sc, ticket) = setup(16384);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    pair.client.write_early_data(b"early", pair.now).unwrap();
    pair.client_to_server();
    let mut buf = [0u8; 16];
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Ok(ReadEarlyData::Success(5))
    );
    pair.server_to_client();
    pair.client.do_handshake(pair.now).unwrap();
    // EndOfEarlyData and the client Finished arrive together.
    pair.client_to_server();
    assert_eq!(
        pair.server.read_early_data(&mut buf, pair.now),
        Ok(ReadEarlyData::Finish)
    );
    assert!(
        !pair.server.is_init_finished(),
        "the Finished waits for do_handshake"
    );
    assert_eq!(pair.server.write_early_data(b"half", pair.now), Ok(4));
    assert_eq!(pair.server.do_handshake(pair.now), Ok(()));
}

// ----- sessions, statuses, compatibility --------------------------------------------------

#[test]
fn a_serialised_session_restored_by_a_restarted_client_still_sends_accepted_early_data() {
    let (cc, sc, ticket) = setup(16384);
    let restored = ClientSession::from_bytes(&ticket.to_bytes()).unwrap();
    let mut pair = Pair::new(&cc, &sc, Some(restored), 2);
    let (got, _) = zero_rtt(&mut pair, b"after restart");
    assert_eq!(got, b"after restart");
}

#[test]
fn client_and_server_agree_on_the_early_data_status_in_every_outcome() {
    // accepted, rejected, not sent
    let (cc, sc, ticket) = setup(16384);
    let mut p = Pair::new(&cc, &sc, Some(ticket), 2);
    zero_rtt(&mut p, b"a");
    assert_eq!(p.client.early_data_status(), EarlyDataStatus::Accepted);
    assert_eq!(p.server.early_data_status(), EarlyDataStatus::Accepted);
    let (pair, _) = rejection_with(|_| {}, |sc| sc.set_max_early_data(0));
    assert_eq!(
        pair.client.early_data_status(),
        pair.server.early_data_status()
    );
    let (cc, sc) = (client_config(), server_config(16384));
    let mut p = Pair::new(&cc, &sc, None, 4);
    p.handshake();
    assert_eq!(p.client.early_data_status(), EarlyDataStatus::NotSent);
    assert_eq!(p.server.early_data_status(), EarlyDataStatus::NotSent);
}

#[test]
fn a_middlebox_compatibility_client_sends_change_cipher_spec_and_the_server_tolerates_it() {
    let mut cc = ClientConfig::new(ServerTrust::test_ca());
    cc.middlebox_compat = true;
    let cc = Arc::new(cc);
    let sc = server_config(16384);
    let ticket = tickets_from_full_handshake(&cc, &sc, 1).pop().unwrap();
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    let (got, _) = zero_rtt(&mut pair, b"compat");
    assert_eq!(got, b"compat");
}

#[test]
fn a_full_handshake_with_an_ecdsa_p256_certificate_completes() {
    let cc = client_config();
    let sc = Arc::new(ServerConfig::new(test_identity::ecdsa_p256()));
    let mut pair = Pair::new(&cc, &sc, None, 2);
    pair.handshake();
}

#[test]
fn a_fatal_error_is_sticky_and_its_alert_can_still_be_sent() {
    let (cc, sc, ticket) = setup(16384);
    sc.set_recv_max_early_data(100);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    pair.client.write_early_data(&[0; 200], pair.now).unwrap();
    pair.client_to_server();
    let mut buf = [0u8; 8];
    let first = pair.server.read_early_data(&mut buf, pair.now).unwrap_err();
    assert!(pair.server.wants_write(), "the alert waits in write_tls");
    assert_eq!(pair.server.do_handshake(pair.now), Err(first.clone()));
    assert_eq!(pair.server.read(&mut buf, pair.now), Err(first));
    assert_eq!(pair.server.read_tls(b"more"), 0);
    pair.server_to_client();
    let err = pair.client.do_handshake(pair.now).unwrap_err();
    assert!(err.should_retry_without_early_data(), "{err}");
}

#[test]
fn a_write_after_our_own_close_notify_is_refused() {
    let (cc, sc) = (client_config(), server_config(16384));
    let mut pair = Pair::new(&cc, &sc, None, 2);
    pair.handshake();
    pair.client.send_close_notify();
    assert_eq!(
        pair.client.write(b"late", pair.now),
        Err(ConnError::Misuse(ApiMisuse::WriteAfterCloseNotify))
    );
}
