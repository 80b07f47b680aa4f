//! The simulator against real Linux TCP: each timing scenario of the catalog runs three
//! times over kernel TCP (`zerortt calibrate`'s namespaces, relay and endpoints), and
//! every milestone's median over the three runs must land within [`tolerance`] of the
//! simulated one. The catalog's stacks (zerortt-core) run every timing scenario; OpenSSL
//! on both sides runs `accepted`, `nagle` and `server_nagle`.
//!
//! Needs root and TUN; without them the test says so and passes, except under `CI`,
//! where it fails (CI runs as root on a machine with TUN).

use std::io::Write as _;
use std::sync::Mutex;
use zerortt_sim::calibrate;
use zerortt_sim::catalog;
use zerortt_sim::subject::Stack;

/// One calibration at a time: the tests of this file run on threads of one process, and
/// two real runs at once would measure each other's load.
static SERIAL: Mutex<()> = Mutex::new(());

/// 5 ms plus one kernel tick at HZ=250 (4 ms: where a real timer lands in its tick) ...
const TOLERANCE_MS: f64 = 9.0;
/// ... plus 2 ms per step before the milestone (each distinct earlier milestone time is
/// one hop through the relay and one wake-up of an endpoint): the real endpoints (a
/// debug build, on two cores shared with other work) and the relay spend 1-2 ms there,
/// which the simulator, whose applications take no time, does not.
const PER_STEP_MS: f64 = 2.0;

/// The tolerance for a milestone simulated at `at` among `all` simulated milestones.
fn tolerance(at: f64, all: &[(&str, f64)]) -> f64 {
    let mut earlier: Vec<f64> = all.iter().map(|(_, t)| *t).filter(|t| *t < at).collect();
    earlier.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    TOLERANCE_MS + PER_STEP_MS * earlier.len().saturating_sub(1) as f64
}

const SCENARIOS: [&str; 6] = [
    "accepted",
    "nagle",
    "nagle_nodelay",
    "early_data_beyond_initial_window",
    "loss_on_first_flight",
    "half_rtt_response",
];

/// Known gap, measured ~20 ms: on Linux the tail beyond the initial window leaves two
/// segments at a time, 2 to 16 ms apart (the receiver's window growth, tcp_grow_window, or
/// TCP Small Queues on the TUN device; not modelled). These milestones must be later on
/// Linux than simulated, by at most 40 ms.
const KNOWN_GAPS: [(&str, &str); 5] = [
    (
        "early_data_beyond_initial_window",
        "last early byte leaves client",
    ),
    (
        "early_data_beyond_initial_window",
        "last early byte read by server",
    ),
    (
        "early_data_beyond_initial_window",
        "EndOfEarlyData at server",
    ),
    (
        "early_data_beyond_initial_window",
        "server handshake complete",
    ),
    ("early_data_beyond_initial_window", "response at client"),
];

/// Whether a calibration can run here; if not, says so (a failure under `CI`).
fn available() -> bool {
    let Some(why) = calibrate::unavailable() else {
        return true;
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the calibration: {why}"
    );
    // Straight to stderr, past the test harness's capture, so the skip shows.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED the calibration against Linux TCP: {why}"
    );
    false
}

/// Runs each of `scenarios` three times over real TCP with `stacks` (client, server; the
/// catalog's if `None`) and returns every milestone whose median is out of tolerance.
fn calibrate_scenarios(scenarios: &[&str], stacks: Option<(Stack, Stack)>) -> Vec<String> {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut failures = Vec::new();
    for &name in scenarios {
        // A kernel that behaves differently misses in every round; a round slowed by the
        // shared machine (CI saw one scenario 13-19 ms late once, the rest in tolerance)
        // passes on a later one. Only the last round's misses count.
        let mut missed = Vec::new();
        for _round in 0..ROUNDS {
            missed = calibrate_scenario(name, stacks);
            if missed.is_empty() {
                break;
            }
            let _ = writeln!(std::io::stderr(), "{name}: missed, measuring again");
        }
        failures.extend(missed);
    }
    failures
}

/// Rounds of three real runs a scenario gets before its misses count.
const ROUNDS: usize = 3;

/// One round of [`calibrate_scenarios`] for `name`: three real runs, the milestones whose
/// median is out of tolerance.
fn calibrate_scenario(name: &str, stacks: Option<(Stack, Stack)>) -> Vec<String> {
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_zerortt"));
    let mut failures = Vec::new();
    {
        let mut scenario = catalog::load(name).unwrap();
        if let Some((client, server)) = stacks {
            scenario.client.stack = client;
            scenario.server.stack = server;
            assert_eq!(
                scenario.not_applicable(),
                None,
                "{name} on {client}/{server}"
            );
        }
        let (sim, _) = calibrate::simulated(&scenario);
        let mut runs = Vec::new();
        for _ in 0..3 {
            runs.push(calibrate::run_real(&scenario, exe).unwrap());
        }
        // The measured tables belong in the log even when the test passes.
        let _ = write!(
            std::io::stderr(),
            "{name} ({} client, {} server)\n{}",
            scenario.client.stack,
            scenario.server.stack,
            calibrate::table(&scenario, &runs)
        );
        // The same early data decision as simulated, in every run: a milestone of a
        // rejected run measures another protocol path.
        let decision = calibrate::simulated_early_data(&scenario);
        for (i, r) in runs.iter().enumerate() {
            let real = r.early_data.as_deref().unwrap_or("-");
            if real.split(' ').next() != Some(decision.as_str()) {
                failures.push(format!(
                    "{name}: real run #{} early data {:?}, simulated {decision}",
                    i + 1,
                    r.early_data
                ));
            }
        }
        for (milestone, simulated) in &sim {
            // The median of the three runs: one run slowed by a busy machine (two shared
            // cores) is noise, not the kernel.
            let mut reals: Vec<f64> = runs.iter().filter_map(|r| r.get(milestone)).collect();
            if reals.len() < runs.len() {
                failures.push(format!("{name}: a real run never reached {milestone}"));
                continue;
            }
            reals.sort_by(f64::total_cmp);
            let real = reals[reals.len() / 2];
            let known = KNOWN_GAPS.contains(&(name, milestone));
            let within = tolerance(*simulated, &sim);
            let ok = if known {
                real >= *simulated - within && real <= *simulated + 40.0
            } else {
                (real - simulated).abs() <= within
            };
            if !ok {
                failures.push(format!(
                    "{name}: {milestone} simulated {simulated:.1} ms, real median {real:.1} ms"
                ));
            }
        }
    }
    failures
}

#[test]
fn every_timing_milestone_of_the_catalog_lands_within_tolerance_of_real_linux_tcp() {
    if !available() {
        return;
    }
    let failures = calibrate_scenarios(&SCENARIOS, None);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `server_nagle` too: the stall of the response behind OpenSSL's own write of its
/// tickets (issue 16) is simulated from the subject's write boundaries; here a real
/// OpenSSL server makes those writes.
#[test]
fn openssl_endpoints_land_within_tolerance_in_accepted_nagle_and_server_nagle() {
    if !available() {
        return;
    }
    let failures = calibrate_scenarios(
        &["accepted", "nagle", "server_nagle"],
        Some((Stack::Openssl, Stack::Openssl)),
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_scenario_whose_knob_the_real_endpoints_do_not_set_up_is_refused_by_name() {
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_zerortt"));
    let lowered = catalog::load("max_early_data_lowered_after_tickets").unwrap();
    // Refused before any namespace is made, so also without root.
    let why = calibrate::run_real(&lowered, exe).unwrap_err();
    assert!(why.contains("server.max_early_data_after_tickets"), "{why}");
    let replay = catalog::load("replay_same_server").unwrap();
    let why = calibrate::not_calibratable(&replay).unwrap();
    assert!(why.contains("attack.replays"), "{why}");
    // The calibrated ones run, on the catalog's stacks and on OpenSSL.
    for name in SCENARIOS.iter().chain(&["server_nagle"]) {
        let mut scenario = catalog::load(name).unwrap();
        assert_eq!(calibrate::not_calibratable(&scenario), None, "{name}");
        scenario.client.stack = Stack::Openssl;
        scenario.server.stack = Stack::Openssl;
        assert_eq!(
            calibrate::not_calibratable(&scenario),
            None,
            "{name} on OpenSSL"
        );
    }
}
