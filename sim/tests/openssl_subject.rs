//! OpenSSL 3 as a subject: its randomness comes from the seed, its ticket ages from virtual
//! time, the man page's TLS 1.2 rows, and the upstream 0-RTT behaviours the catalog shows
//! (openssl#6734, openssl#32215, stateless tickets without replay protection, the external
//! cache's race window), each beside zerortt-core.

use std::cell::Ref;
use zerortt_core::msgs::enums::ContentType;
use zerortt_core::{EarlyDataStatus, Event, ReadEarlyData};
use zerortt_sim::catalog;
use zerortt_sim::explore::{determinism_hash, run_one};
use zerortt_sim::scenario::Scenario;
use zerortt_sim::subject::openssl_conn::OpensslSubject;
use zerortt_sim::subject::openssl_stack::{self, SessionClock, Versions};
use zerortt_sim::subject::rustls_stack::SeededStream;
use zerortt_sim::subject::{Stack, Subject};
use zerortt_sim::world::{ConnRecord, Role, World};

fn on(name: &str, client: Stack, server: Stack) -> Scenario {
    let mut s = catalog::load(name).unwrap();
    s.client.stack = client;
    s.server.stack = server;
    s
}

fn conn(world: &World, role: Role) -> Ref<'_, ConnRecord> {
    world
        .connections
        .iter()
        .find(|c| c.borrow().role == role)
        .expect("connection")
        .borrow()
}

#[test]
fn the_same_seed_gives_openssl_the_same_client_hello_bytes_and_another_seed_others() {
    let s = on("accepted", Stack::Openssl, Stack::Openssl);
    let hello = |seed| {
        let (w, _) = run_one(&s, seed);
        let c = conn(&w, Role::Warmup);
        assert!(c.capture.len() > 200, "a ClientHello was captured");
        c.capture.clone()
    };
    assert_eq!(hello(7), hello(7));
    assert_ne!(hello(7), hello(8));
}

#[test]
fn every_openssl_pair_gives_the_same_trace_for_the_same_seed_and_another_for_another_seed() {
    for (client, server) in [
        (Stack::Openssl, Stack::Openssl),
        (Stack::Zerortt, Stack::Openssl),
        (Stack::Openssl, Stack::Zerortt),
        (Stack::Rustls, Stack::Openssl),
        (Stack::Openssl, Stack::Rustls),
    ] {
        // Stateless tickets too: their sessions carry the virtual second, not the wall one.
        for name in ["accepted", "replay_no_anti_replay"] {
            let s = on(name, client, server);
            let (a, va) = run_one(&s, 7);
            let (b, _) = run_one(&s, 7);
            let (_, vc) = run_one(&s, 8);
            assert_eq!(
                determinism_hash(&a),
                determinism_hash(&b),
                "{name} {client}/{server}"
            );
            // Another seed: other keys, so other secrets in the key log.
            assert_ne!(va.trace_hash, vc.trace_hash, "{name} {client}/{server}");
        }
    }
}

#[test]
fn openssl_accepts_a_zerortt_clients_millisecond_ticket_age_because_its_tickets_age_in_virtual_time(
) {
    // OpenSSL takes early data only if the client's age is at most its own + 1000 ms, its
    // own counted in whole seconds of time(NULL) - session time: 5.3 s of virtual age
    // must look like 5 s to it, not 0.
    let mut s = on("accepted", Stack::Zerortt, Stack::Openssl);
    s.client.resume_after_ms = 5_300.0;
    let (w, v) = run_one(&s, 3);
    assert!(v.findings.is_empty(), "{:?}", v.findings);
    assert_eq!(
        conn(&w, Role::ZeroRtt).server_status,
        Some(EarlyDataStatus::Accepted)
    );
}

/// Bytes from one subject to the other until neither has anything to send.
fn pump(a: &mut dyn Subject, b: &mut dyn Subject) -> usize {
    let mut moved = 0;
    for _ in 0..8 {
        let (mut ab, mut ba) = (Vec::new(), Vec::new());
        a.write_tls(&mut ab);
        b.write_tls(&mut ba);
        if ab.is_empty() && ba.is_empty() {
            break;
        }
        moved += ab.len() + ba.len();
        b.read_tls(&ab);
        a.read_tls(&ba);
    }
    moved
}

#[test]
fn a_tls12_client_makes_openssls_read_early_data_return_finish_with_the_handshake_complete_inside_it(
) {
    // SSL_read_early_data(3): "Calls to SSL_read_early_data() may, in certain
    // circumstances, complete the connection immediately ... if the client is using a
    // protocol version less than TLSv1.3."
    let seed = zerortt_sim::net::rng::MasterSeed::new(5);
    let (client_random, server_random) = (
        SeededStream::from_seed(seed, "c"),
        SeededStream::from_seed(seed, "s"),
    );
    let client_ctx = openssl_stack::enter(&client_random, || {
        openssl_stack::client_context(Versions::Tls12)
    })
    .unwrap();
    let knobs = openssl_stack::ServerKnobs {
        versions: Versions::Tls12And13,
        max_early_data: 16384,
        recv_max_early_data: 16384,
        no_anti_replay: false,
        groups: None,
        ticket_keys: [7; zerortt_ossl::ffi::TICKET_KEYS_LEN],
        allow_early_data: None,
        external: None,
        clock: std::sync::Arc::new(SessionClock::default()),
    };
    let server_ctx =
        openssl_stack::enter(&server_random, || openssl_stack::server_context(knobs)).unwrap();
    let mut client = OpensslSubject::client(&client_ctx, None, client_random);
    let mut server = OpensslSubject::server(&server_ctx, None, 16384, false, server_random);
    let now = zerortt_core::time::Timestamp::SIM_EPOCH;
    let mut buf = [0u8; 4096];
    let mut finished = None;
    for _ in 0..8 {
        let _ = client.do_handshake(now);
        pump(&mut client, &mut server);
        match server.read_early_data(&mut buf, now) {
            Ok(ReadEarlyData::Finish) => {
                finished = Some(server.is_init_finished());
                break;
            }
            Ok(ReadEarlyData::Success(n)) => panic!("{n} bytes of early data from TLS 1.2"),
            Err(e) => assert_eq!(e, zerortt_sim::subject::SubjectError::WantRead),
        }
        pump(&mut client, &mut server);
    }
    assert_eq!(finished, Some(true), "FINISH with the handshake complete");
    assert_eq!(server.early_data_status(), EarlyDataStatus::NotSent);
    pump(&mut client, &mut server);
    assert!(client.do_handshake(now).is_ok());
    assert_eq!(client.early_data_status(), EarlyDataStatus::NotSent);
}

#[test]
fn a_tls12_client_completes_with_openssl_and_is_refused_by_zerortt_core_and_rustls() {
    let (w, v) = run_one(&on("tls12_client", Stack::Openssl, Stack::Openssl), 1);
    assert!(v.findings.is_empty(), "{:?}", v.findings);
    let z = conn(&w, Role::ZeroRtt);
    assert!(z.response_received.is_some());
    assert_eq!(z.server_status, Some(EarlyDataStatus::NotSent));
    assert!(
        z.early_written.is_empty(),
        "a TLS 1.2 session allows no early data"
    );
    for server in [Stack::Zerortt, Stack::Rustls] {
        let (w, v) = run_one(&on("tls12_client", Stack::Openssl, server), 1);
        assert!(!v.violated(), "{:?}", v.findings);
        let z = conn(&w, Role::ZeroRtt);
        let err = z.client_error.clone().unwrap_or_default();
        assert!(err.contains("protocol version"), "{server}: {err}");
    }
}

#[test]
fn after_a_downgrade_to_tls12_openssls_client_goes_on_in_tls12_until_the_servers_alert_and_retries()
{
    // openssl#32215: after offering early data, OpenSSL's client takes the TLS 1.2
    // ServerHello and sends its TLS 1.2 flight (RFC 9846 E.3: it "MUST fail" instead); the
    // server aborts on the early data records; the retry without early data completes.
    let (w, v) = run_one(
        &on("tls12_server_after_tickets", Stack::Openssl, Stack::Openssl),
        1,
    );
    assert!(!v.violated(), "{:?}", v.findings);
    let z = conn(&w, Role::ZeroRtt);
    let handshake_records = z
        .client_events
        .iter()
        .filter(|(_, _, e)| {
            matches!(
                e,
                Event::RecordSent {
                    typ: ContentType::Handshake,
                    ..
                }
            )
        })
        .count();
    assert_eq!(
        handshake_records, 3,
        "ClientHello, then TLS 1.2 ClientKeyExchange and Finished"
    );
    let err = z.client_error.clone().unwrap_or_default();
    assert!(err.contains("unexpected message"), "{err}");
    assert!(z.retry_requested);
    assert!(conn(&w, Role::Retry).response_received.is_some());
    // zerortt-core offers TLS 1.3 only: the downgraded server refuses its ClientHello with
    // protocol_version, it aborts, and its retry can only fail the same way (expected).
    let (w, v) = run_one(
        &on("tls12_server_after_tickets", Stack::Zerortt, Stack::Openssl),
        1,
    );
    assert!(!v.violated(), "{:?}", v.findings);
    let z = conn(&w, Role::ZeroRtt);
    assert_eq!(
        z.client_error.as_deref(),
        Some("fatal: AlertReceived(ProtocolVersion)")
    );
    assert!(z.retry_requested);
    assert!(v.findings.iter().any(|f| f.invariant == "liveness"));
}

#[test]
fn after_a_hello_retry_request_openssl_skips_the_early_data_and_its_single_use_ticket_is_spent() {
    let s = on("hello_retry_for_key_share", Stack::Openssl, Stack::Openssl);
    let (w, v) = run_one(&s, 1);
    assert!(v.findings.is_empty(), "{:?}", v.findings);
    let z = conn(&w, Role::ZeroRtt);
    assert!(z.early_read.is_empty() && !z.early_written.is_empty());
    let resumed = |events: &[(zerortt_sim::net::SimTime, u64, Event)]| {
        events.iter().find_map(|(_, _, e)| match e {
            Event::HandshakeComplete { resumed, .. } => Some(*resumed),
            _ => None,
        })
    };
    // The first ClientHello took the ticket out of the cache (single use); the second
    // one offers a ticket that is gone.
    assert_eq!(resumed(&z.server_events), Some(false));
    // With SSL_OP_NO_ANTI_REPLAY the ticket is stateless and resumes after the HRR.
    let mut s = s.clone();
    s.server.no_anti_replay = true;
    let (w, _) = run_one(&s, 1);
    assert_eq!(resumed(&conn(&w, Role::ZeroRtt).server_events), Some(true));
}

#[test]
fn an_openssl_3_0_client_writing_early_data_after_a_hello_retry_request_fails_with_internal_error()
{
    // Found by the simulator (not in the catalog: it is a client bug, not a configuration
    // property). SSL_write_early_data(3) lets a client interleave SSL_read and
    // SSL_write_early_data; after its SSL_read processed a HelloRetryRequest, the next
    // SSL_write_early_data waits for the server's flight and then fails in tls13_enc with
    // an internal_error alert. This test fails once OpenSSL refuses the write cleanly.
    let toml = "name = \"write_after_hrr\"\n[server]\nstack = \"openssl\"\nhello_retry_for_key_share = true\n[client]\nstack = \"openssl\"\nearly_data_chunks = [300, 300]\nchunk_interval_ms = 60.0\n";
    let s = Scenario::from_toml(toml, "write_after_hrr.toml").unwrap();
    let (w, _) = run_one(&s, 1);
    let z = conn(&w, Role::ZeroRtt);
    let err = z.client_error.clone().unwrap_or_default();
    assert!(err.contains("tls13_enc:internal error"), "{err}");
    assert_eq!(
        z.early_written.len(),
        300,
        "only the write before the HRR went out"
    );
}

#[test]
fn the_external_cache_race_lets_a_replay_in_on_openssl_as_on_zerortt_core_inside_the_window_only() {
    for client in [Stack::Zerortt, Stack::Openssl] {
        for server in [Stack::Zerortt, Stack::Openssl] {
            let (w, v) = run_one(&on("external_cache_race", client, server), 1);
            assert!(!v.violated(), "{client}/{server}: {:?}", v.findings);
            // Replay 0 at 20 ms lands inside the 50 ms removal window, replay 1 at 200 ms
            // after it.
            let inside = conn(&w, Role::Replay(0)).server_accepted_early_data();
            let after = conn(&w, Role::Replay(1)).server_accepted_early_data();
            assert_eq!((inside, after), (true, false), "{client}/{server}");
        }
    }
}

#[test]
fn the_openssl_capabilities_name_each_missing_knob_with_the_reason() {
    let s = on(
        "replay_cluster_strike_register",
        Stack::Zerortt,
        Stack::Openssl,
    );
    let why = s.not_applicable().expect("refused");
    assert!(why.contains("server.stack = \"openssl\""), "{why}");
    assert!(why.contains("strike_register"), "{why}");
    let s = on("hello_retry_request", Stack::Zerortt, Stack::Openssl);
    assert!(s.not_applicable().is_some());
    for c in openssl_stack::CAPABILITIES {
        assert_eq!(openssl_stack::supports(c.knob), c.supported, "{:?}", c.knob);
        assert!(!c.evidence.is_empty());
    }
}
