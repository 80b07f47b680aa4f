//! The built-in catalog: every scenario holds its invariants, shows the outcome it is named
//! after, and its timing report is snapshot-tested (snapshots/ at the top level).

use zerortt_core::EarlyDataStatus;
use zerortt_sim::catalog;
use zerortt_sim::explore::{explore_one, run_one};
use zerortt_sim::invariants::Severity;
use zerortt_sim::report;
use zerortt_sim::scenario::Scenario;
use zerortt_sim::world::{ConnRecord, Role, World};

fn run(name: &str) -> World {
    let s = catalog::load(name).unwrap();
    let (world, verdict) = run_one(&s, 1);
    assert!(!verdict.violated(), "{name}: {:?}", verdict.findings);
    world
}

fn conn(world: &World, role: Role) -> std::cell::Ref<'_, ConnRecord> {
    world
        .connections
        .iter()
        .find(|c| c.borrow().role == role)
        .expect("connection")
        .borrow()
}

fn snapshot(name: &str, world: &World) {
    let text = report::timing_text(world, &conn(world, Role::ZeroRtt));
    insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(format!("timing_{name}"), text);
    });
}

#[test]
fn every_catalog_scenario_holds_every_invariant_for_the_first_seeds() {
    for s in catalog::all() {
        for seed in 1..=3 {
            let v = explore_one(&s, seed, false);
            assert!(!v.violated(), "{} seed {seed}: {:?}", s.name, v.findings);
        }
    }
}

#[test]
fn accepted_early_data_is_read_by_the_server_half_an_rtt_after_the_client_hello() {
    let w = run("accepted");
    let c = conn(&w, Role::ZeroRtt);
    assert_eq!(c.client_status, Some(EarlyDataStatus::Accepted));
    assert_eq!(c.early_read, c.early_written);
    snapshot("accepted", &w);
}

#[test]
fn nagle_holds_the_second_early_write_for_a_round_trip_and_nodelay_does_not() {
    let nagle = run("nagle");
    let nodelay = run("nagle_nodelay");
    let last_out = |w: &World| {
        let t = report::timing(w, &conn(w, Role::ZeroRtt));
        t.milestones
            .iter()
            .find(|(n, _)| *n == "last early byte leaves client")
            .map(|(_, v)| v.as_nanos())
            .unwrap()
    };
    // SYN at 0, SYN-ACK at 50 ms: the ClientHello leaves at 50 ms. With Nagle the second
    // write waits for the ACK of the first segment: the server's flight at 50 + 25 + 25.
    assert_eq!(last_out(&nagle), 100_000_000);
    assert_eq!(last_out(&nodelay), 51_000_000);
    snapshot("nagle", &nagle);
    snapshot("nagle_nodelay", &nodelay);
}

#[test]
fn rejected_early_data_is_skipped_and_never_delivered() {
    for name in [
        "rejected_skipped",
        "hello_retry_request",
        "allow_callback_declining_under_load",
    ] {
        let w = run(name);
        let c = conn(&w, Role::ZeroRtt);
        assert_eq!(c.client_status, Some(EarlyDataStatus::Rejected), "{name}");
        assert!(c.early_read.is_empty(), "{name}");
        assert!(c.response_received.is_some(), "{name}");
    }
    snapshot("hello_retry_request", &run("hello_retry_request"));
}

#[test]
fn an_aborted_zero_rtt_connection_is_retried_without_early_data() {
    for name in [
        "rejected_beyond_skip_budget",
        "too_much_early_data",
        "max_early_data_lowered_after_tickets",
    ] {
        let w = run(name);
        assert!(conn(&w, Role::ZeroRtt).client_error.is_some(), "{name}");
        let retry = conn(&w, Role::Retry);
        assert!(retry.response_received.is_some(), "{name}");
        assert_eq!(
            retry.client_status,
            Some(EarlyDataStatus::NotSent),
            "{name}"
        );
    }
}

#[test]
fn replays_are_refused_where_tickets_are_single_use_or_a_strike_register_is_shared() {
    for name in [
        "replay_same_server",
        "replay_cluster_nothing_shared",
        "replay_cluster_shared_cache",
        "replay_cluster_strike_register",
    ] {
        let w = run(name);
        assert!(
            conn(&w, Role::ZeroRtt).server_accepted_early_data(),
            "{name}"
        );
        let replay = conn(&w, Role::Replay(0));
        assert!(
            replay.early_read.is_empty(),
            "{name}: replay got early data through"
        );
    }
}

#[test]
fn replays_are_accepted_as_expected_findings_where_the_configuration_is_documented_as_replayable() {
    for name in [
        "replay_cluster_ticket_keys",
        "external_psk_replay",
        "external_cache_race",
    ] {
        let s = catalog::load(name).unwrap();
        let (w, v) = run_one(&s, 1);
        assert!(!conn(&w, Role::Replay(0)).early_read.is_empty(), "{name}");
        assert!(
            v.findings.iter().any(|f| f.severity == Severity::Expected
                && f.invariant == "no_replayed_early_data_accepted"),
            "{name}"
        );
    }
}

#[test]
fn the_external_cache_race_closes_once_the_removal_has_arrived() {
    let w = run("external_cache_race");
    // replay0 arrives inside the 50 ms window, replay1 long after it.
    assert!(!conn(&w, Role::Replay(0)).early_read.is_empty());
    assert!(conn(&w, Role::Replay(1)).early_read.is_empty());
}

#[test]
fn half_rtt_data_reaches_the_client_before_the_server_completes_its_handshake() {
    let w = run("half_rtt_response");
    let c = conn(&w, Role::ZeroRtt);
    let half = c.half_rtt_at_client.unwrap();
    assert!(half <= c.client_done.unwrap());
    assert!(half < c.server_done.unwrap());
    snapshot("half_rtt_response", &w);
}

#[test]
fn a_lost_first_flight_is_retransmitted_after_the_rto_and_still_accepted() {
    let w = run("loss_on_first_flight");
    let t = report::timing(&w, &conn(&w, Role::ZeroRtt));
    assert!(t.retransmissions >= 1);
    assert_eq!(
        conn(&w, Role::ZeroRtt).client_status,
        Some(EarlyDataStatus::Accepted)
    );
    snapshot("loss_on_first_flight", &w);
}

#[test]
fn early_data_beyond_the_initial_window_leaves_in_two_flights() {
    let w = run("early_data_beyond_initial_window");
    snapshot("early_data_beyond_initial_window", &w);
}

#[test]
fn the_same_seed_gives_the_same_trace_and_different_seeds_under_loss_differ() {
    let mut s = catalog::load("accepted").unwrap();
    s.network.loss = 0.2;
    s.network.jitter_ms = 3.0;
    let text = |seed| report::trace_text(&report::trace(&World::run(&s, seed)));
    assert_eq!(text(7), text(7));
    assert_ne!(text(7), text(8));
}

#[test]
fn a_malformed_scenario_file_names_the_location_and_the_valid_choices() {
    let e =
        Scenario::from_toml("name = \"x\"\n[network]\nlatncy_ms = 3\n", "bad.toml").unwrap_err();
    assert_eq!(e.location, "bad.toml:3:1");
    assert!(e.message.contains("latncy_ms"), "{e}");
    let e = Scenario::from_toml("[tcp]\ndelayed_ack = \"sometimes\"\n", "bad.toml").unwrap_err();
    assert!(
        e.to_string()
            .contains("valid: \"linux\", \"off\", \"quickack\""),
        "{e}"
    );
    let e = Scenario::from_toml("[network]\nloss = 2.0\n", "bad.toml").unwrap_err();
    assert!(e.to_string().contains("network.loss"), "{e}");
    let e = catalog::load("acepted").unwrap_err();
    assert!(e.message.contains("valid: accepted, not_sent"), "{e}");
}

#[test]
fn every_snapshot_file_is_referenced_by_a_test_here() {
    // insta fails on a changed snapshot (INSTA_UPDATE=no in CI); this catches the other
    // half: a snapshot no test produces any more.
    let source = include_str!("scenarios.rs");
    let stacks = include_str!("stacks.rs");
    let ladders = include_str!("svg_ladder.rs");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../snapshots");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        assert!(
            !file.ends_with(".snap.new"),
            "pending snapshot {file}: review it with cargo insta review"
        );
        if let Some(name) = file
            .strip_prefix("diff_")
            .and_then(|f| f.strip_suffix(".snap"))
        {
            // sim/tests/stacks.rs: the side-by-side diff reports.
            assert!(
                stacks.contains(&format!("\"diff_{name}\"")),
                "snapshots/{file} is not referenced by any test"
            );
            checked += 1;
            continue;
        }
        if let Some(name) = file
            .strip_prefix("ladder_")
            .and_then(|f| f.strip_suffix(".snap"))
        {
            // sim/tests/svg_ladder.rs: the ladder diagrams' SVG text.
            assert!(
                ladders.contains(&format!("snapshot(\"{name}\"")),
                "snapshots/{file} is not referenced by any test"
            );
            checked += 1;
            continue;
        }
        let Some(name) = file
            .strip_prefix("timing_")
            .and_then(|f| f.strip_suffix(".snap"))
        else {
            panic!("unexpected file in snapshots/: {file}");
        };
        assert!(
            source.contains(&format!("snapshot(\"{name}\"")),
            "snapshots/{file} is not referenced by any test"
        );
        checked += 1;
    }
    assert!(checked >= 6);
}

#[test]
fn any_catalog_scenario_with_any_network_knobs_holds_every_invariant() {
    // The same property `cargo bolero test` or the `scenario` fuzz target explores at
    // length; under `cargo test` a hundred draws.
    let catalog = catalog::all();
    bolero::check!()
        .with_type::<(u8, u8, u8, u8, u64)>()
        .with_iterations(100)
        .for_each(|(pick, latency, loss, jitter, seed)| {
            let mut s = catalog[usize::from(*pick) % catalog.len()].clone();
            s.network.latency_ms = f64::from(*latency);
            s.network.loss = f64::from(*loss % 16) / 100.0;
            s.network.jitter_ms = f64::from(*jitter % 8);
            let (_, v) = run_one(&s, *seed);
            assert!(
                !v.violated(),
                "{} seed {seed} latency {latency} loss {} jitter {}: {:?}",
                s.name,
                s.network.loss,
                s.network.jitter_ms,
                v.findings
            );
        });
}

#[test]
fn bytes_tcp_delivered_beyond_the_tls_record_buffer_are_processed_without_another_wake_up() {
    // Found by the property above: 15 KB records arrive together, TLS takes one record's
    // worth, and the rest used to wait for a TCP event that never came.
    let mut s = catalog::load("early_data_beyond_initial_window").unwrap();
    s.network.latency_ms = 28.0;
    s.network.loss = 0.09;
    s.network.jitter_ms = 2.0;
    let (_, v) = run_one(&s, 2289784023574035876);
    assert!(!v.violated(), "{:?}", v.findings);
}

#[test]
fn absurd_numbers_in_a_scenario_file_are_refused_with_the_field_not_a_panic() {
    for (text, field) in [
        (
            "[client]\nearly_data_chunks = [9223372036854775807, 9223372036854775807, 9223372036854775807]\n",
            "client.early_data_chunks",
        ),
        (
            "[network]\nbandwidth_kbps = 9223372036854775807\n",
            "network.bandwidth_kbps",
        ),
        ("[network]\nlatency_ms = nan\n", "network.latency_ms"),
        ("[network]\njitter_ms = inf\n", "network.jitter_ms"),
        (
            "[explore]\nearly_data_bytes = [0, 99999999999]\n",
            "explore.early_data_bytes",
        ),
        ("[explore]\nloss = [0.5, 0.1]\n", "explore.loss"),
        (
            "[server]\nticket_age_tolerance_ms = 9223372036854775807\n",
            "server.ticket_age_tolerance_ms",
        ),
    ] {
        let e = Scenario::from_toml(text, "x.toml").unwrap_err();
        assert!(e.to_string().contains(field), "{text}: {e}");
    }
}

fn milestone(w: &World, name: &str) -> u64 {
    let t = report::timing(w, &conn(w, Role::ZeroRtt));
    t.milestones
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_nanos())
        .unwrap_or_else(|| panic!("no milestone {name}"))
}

#[test]
fn with_nagle_on_at_the_server_the_response_waits_for_the_clients_delayed_ack_of_the_tickets() {
    let nagle = run("server_nagle");
    let mut s = catalog::load("server_nagle").unwrap();
    s.tcp.server_nodelay = true;
    let (nodelay, _) = run_one(&s, 1);
    // The tickets leave in their own write when the handshake completes; the response,
    // written next, waits for their ACK: the client's 40 ms delayed ACK plus one RTT.
    // On HZ=250 ticks the delayed ACK armed at 1300 ms (jiffy 325, a tick edge) fires at
    // jiffy 325 + 10 + 1, 1344 ms: 44 ms, so the stall is 44 + 50 ms.
    let stall = milestone(&nagle, "response at client") - milestone(&nodelay, "response at client");
    assert_eq!(stall, 94_000_000);
    let t = report::timing(&nagle, &conn(&nagle, Role::ZeroRtt));
    assert_eq!(t.server_nagle_holds, 1);
    assert_eq!(t.server_nagle_held.as_millis(), 94);
    snapshot("server_nagle", &nagle);
}
