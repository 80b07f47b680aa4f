//! Replays every checked-in input of the simulator fuzz targets through its harness on
//! stable Rust: the seeds in `corpus/<target>/` (regenerate with
//! `cargo run -p zerortt-sim --example gen_sim_corpus`) and every input that ever failed,
//! in `corpus/<target>/regressions/`. A harness panics with `oracle <invariant>:` on a
//! violation, so a failing file fails the test, named.
//!
//! A regression input for a bug that is not fixed yet is named `known-bug-*`: it is skipped
//! here and replayed by an `#[ignore = "bug: ..."]` test below; once the bug is fixed, drop
//! the prefix (and the ignore).

use std::path::PathBuf;
use zerortt_core::harness::corpus::{corpus_dir, files_in, replay_corpus, replay_files};
use zerortt_sim::harness::SimTarget;

fn replay_target(target: SimTarget) {
    let regenerate = "cargo run -p zerortt-sim --example gen_sim_corpus";
    replay_corpus(target.name(), regenerate, |data| target.run(data));
}

fn replay(target: SimTarget, files: &[PathBuf]) -> Vec<String> {
    replay_files(target.name(), files, |data| target.run(data))
}

#[test]
fn every_scenario_corpus_file_runs_without_an_invariant_violation() {
    replay_target(SimTarget::Scenario);
}

#[test]
fn every_replay_corpus_file_runs_without_an_invariant_violation() {
    replay_target(SimTarget::Replay);
}

#[test]
fn the_scenario_seeds_cover_every_catalog_scenario() {
    // One seed per catalog scenario is what starts the fuzzer everywhere the catalog goes.
    let mut names: Vec<String> = files_in(&corpus_dir(SimTarget::Scenario.name()))
        .iter()
        .map(|p| {
            let data = std::fs::read(p).expect("read a corpus file");
            SimTarget::Scenario.decode(&data).0.name
        })
        .collect();
    names.sort();
    names.dedup();
    let mut want = zerortt_sim::catalog::names();
    want.sort();
    assert_eq!(names, want);
}

/// The regression inputs in `corpus/scenario/regressions/` whose names start with `prefix`.
fn scenario_regressions(prefix: &str) -> Vec<PathBuf> {
    files_in(&corpus_dir(SimTarget::Scenario.name()).join("regressions"))
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
        })
        .collect()
}

#[test]
fn a_client_script_over_the_session_limit_is_not_an_api_contract_violation() {
    // 500 bytes of early data on a ticket that allows 100: core refuses a write past
    // SSL_SESSION_get_max_early_data, so the client must fit its writes to it.
    let paths = scenario_regressions("script-writes-past-session-max-early-data");
    assert_eq!(paths.len(), 1);
    let data = std::fs::read(&paths[0]).expect("read the regression input");
    let (s, _) = SimTarget::Scenario.decode(&data);
    assert_eq!(s.client.early_data_chunks, vec![500]);
    assert_eq!(s.server.max_early_data, 100);
    let failures = replay(SimTarget::Scenario, &paths);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Early data and the client's EndOfEarlyData and Finished arriving in one burst: when
/// read_early_data completed the handshake before returning the data, the server's 0.5-RTT
/// write was refused (EarlyDataAfterHandshake) and the client, expecting those 200 bytes
/// plus the response, never finished (liveness).
#[test]
fn half_rtt_data_is_not_lost_when_the_client_finished_arrives_with_the_early_data() {
    // Two inputs: 21% loss delays the early data until the Finished; and 9439 bytes of
    // early data on a loss-free link, whose last segments come with the Finished.
    let paths = scenario_regressions("half-rtt-data-lost");
    assert_eq!(paths.len(), 2);
    let failures = replay(SimTarget::Scenario, &paths);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_second_client_hello_behind_skipped_early_data_is_processed() {
    let path = corpus_dir(SimTarget::Scenario.name())
        .join("regressions")
        .join("hrr-second-client-hello-not-processed-after-skipped-early-data");
    let failures = replay(SimTarget::Scenario, &[path]);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
