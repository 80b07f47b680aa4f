//! The TLS stack as a choice of the scenario: the catalog on every client/server pair of
//! zerortt, rustls and OpenSSL, determinism per pair, refusals that name the stack and the knob, and
//! the side-by-side diff (snapshot-tested).

use zerortt_sim::catalog;
use zerortt_sim::explore::{explore_one, run_one};
use zerortt_sim::scenario::Scenario;
use zerortt_sim::subject::Stack;
use zerortt_sim::world::Role;

fn on(name: &str, client: Stack, server: Stack) -> Scenario {
    let mut s = catalog::load(name).unwrap();
    s.client.stack = client;
    s.server.stack = server;
    s
}

fn pairs() -> Vec<(Stack, Stack)> {
    Stack::ALL
        .into_iter()
        .flat_map(|c| Stack::ALL.into_iter().map(move |s| (c, s)))
        .collect()
}

#[test]
fn every_applicable_catalog_scenario_holds_its_invariants_deterministically_on_every_pair() {
    let (mut ran_with_rustls, mut ran_with_openssl) = (0, 0);
    for base in catalog::all() {
        for (client, server) in pairs() {
            let mut s = base.clone();
            s.client.stack = client;
            s.server.stack = server;
            if s.not_applicable().is_some() {
                continue;
            }
            if client == Stack::Rustls || server == Stack::Rustls {
                ran_with_rustls += 1;
            }
            if client == Stack::Openssl || server == Stack::Openssl {
                ran_with_openssl += 1;
            }
            for seed in 1..=2 {
                let v = explore_one(&s, seed, true);
                assert!(
                    !v.violated(),
                    "{} seed {seed}: {:?}",
                    v.scenario,
                    v.findings
                );
            }
        }
    }
    // Most of the catalog runs on rustls; the rest needs knobs rustls lacks.
    assert!(ran_with_rustls >= 30, "only {ran_with_rustls} rustls runs");
    // OpenSSL has every knob but a strike register, an external PSK, a ticket age
    // tolerance and a cookie HelloRetryRequest.
    assert!(
        ran_with_openssl >= 90,
        "only {ran_with_openssl} OpenSSL runs"
    );
}

#[test]
fn a_rustls_pair_gives_the_same_trace_for_the_same_seed_and_another_for_another_seed() {
    for (client, server) in [
        (Stack::Rustls, Stack::Rustls),
        (Stack::Zerortt, Stack::Rustls),
        (Stack::Rustls, Stack::Zerortt),
    ] {
        let s = on("accepted", client, server);
        let (_, a) = run_one(&s, 7);
        let (_, b) = run_one(&s, 7);
        let (_, c) = run_one(&s, 8);
        assert_eq!(a.trace_hash, b.trace_hash, "{client}/{server}");
        assert_ne!(a.trace_hash, c.trace_hash, "{client}/{server}");
    }
}

#[test]
fn rustls_accepts_early_data_from_zerortt_and_zerortt_from_rustls() {
    for (client, server) in [
        (Stack::Zerortt, Stack::Rustls),
        (Stack::Rustls, Stack::Zerortt),
    ] {
        let (world, v) = run_one(&on("accepted", client, server), 1);
        assert!(v.findings.is_empty(), "{:?}", v.findings);
        let c = world
            .connections
            .iter()
            .find(|c| c.borrow().role == Role::ZeroRtt)
            .unwrap()
            .borrow();
        assert_eq!(v.status, "Accepted");
        assert!(!c.early_written.is_empty());
        assert_eq!(c.early_read, c.early_written, "{client}/{server}");
    }
}

#[test]
fn a_scenario_needing_a_knob_rustls_lacks_is_refused_naming_the_stack_and_the_knob() {
    let s = on(
        "allow_callback_declining_under_load",
        Stack::Zerortt,
        Stack::Rustls,
    );
    let why = s.not_applicable().expect("refused");
    assert!(why.contains("server.stack = \"rustls\""), "{why}");
    assert!(why.contains("server.allow_early_data"), "{why}");
    let s = on("too_much_early_data", Stack::Rustls, Stack::Zerortt);
    let why = s.not_applicable().expect("refused");
    assert!(why.contains("client.session_max_early_data"), "{why}");
    assert!(on("accepted", Stack::Rustls, Stack::Rustls)
        .not_applicable()
        .is_none());
}

#[test]
fn an_unknown_stack_is_an_error_naming_the_valid_ones() {
    let err = Stack::parse("boringssl").unwrap_err();
    assert!(err.contains("zerortt, rustls"), "{err}");
    let toml = "name = \"x\"\n[server]\nstack = \"boringssl\"\n";
    let err = Scenario::from_toml(toml, "x.toml").unwrap_err().to_string();
    assert!(err.contains("zerortt") && err.contains("rustls"), "{err}");
}

#[test]
fn the_diff_shows_rustls_refusing_early_data_on_stateless_tickets_beside_zerortt_accepting_the_replay(
) {
    let s = catalog::load("replay_cluster_ticket_keys").unwrap();
    let text = zerortt_sim::diff::diff(&s, 1);
    let row = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no row {label:?} in\n{text}"))
            .split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .skip(1)
            .collect::<Vec<_>>()
            .join(" | ")
    };
    // Columns: client zerortt, rustls, openssl, each on server zerortt, rustls, openssl.
    // OpenSSL, like zerortt-core, takes early data on stateless tickets under
    // SSL_OP_NO_ANTI_REPLAY, so the replay gets in wherever the server is not rustls.
    assert_eq!(
        row("server early data status"),
        ["Accepted | NotSent | Accepted"; 3].join(" | ")
    );
    assert_eq!(
        row("replays with early data accepted"),
        ["1 of 1 | 0 of 1 | 1 of 1"; 3].join(" | ")
    );
    insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("diff_replay_cluster_ticket_keys", text);
    });
}

#[test]
fn a_fuzz_input_picks_each_of_the_nine_stack_pairs_and_old_inputs_keep_their_pair() {
    use zerortt_sim::harness::{base_byte, decode_scenario, pair_of, scenario_input, STACK_PAIRS};
    let all = catalog::all();
    // One byte holds 25 scenarios on all nine pairs (harness::pair_of); the catalog's
    // last entries past that reach only the pairs the byte still has room for.
    for (i, pair) in STACK_PAIRS.iter().enumerate() {
        for (n, want) in all.iter().enumerate().take(25) {
            let b = base_byte(n, i).expect("every catalog scenario has a byte on every pair");
            assert_eq!(pair_of(b), (n as u8, i));
            let (s, _) = decode_scenario(&scenario_input(b, 1));
            assert_eq!((s.client.stack, s.server.stack), *pair);
            assert_eq!(s.name, want.name);
        }
    }
    for (n, s) in all.iter().enumerate().skip(25) {
        assert!((0..7).all(|i| base_byte(n, i).is_some()), "{}", s.name);
    }
    // Inputs written before OpenSSL (base % 64 < 32) keep their pair: the top two bits.
    for (b, pair) in [(5u8, 0usize), (64 + 5, 1), (128 + 5, 2), (192 + 5, 3)] {
        let (s, _) = decode_scenario(&scenario_input(b, 1));
        assert_eq!((s.client.stack, s.server.stack), STACK_PAIRS[pair]);
        assert_eq!(s.name, all[5].name);
    }
    // Every byte decodes to some pair and scenario.
    let openssl = (0..=255u8)
        .filter(|&b| {
            STACK_PAIRS[pair_of(b).1].0 == Stack::Openssl
                || STACK_PAIRS[pair_of(b).1].1 == Stack::Openssl
        })
        .count();
    assert_eq!(openssl, 128);
}
