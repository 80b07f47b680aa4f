//! Replays every checked-in fuzz input through its harness on stable Rust: the seeds in
//! `corpus/<target>/` (regenerate with `cargo run -p zerortt-core --example gen_corpus`)
//! and every input that ever failed, in `corpus/<target>/regressions/`. A harness panics
//! on a bug, so a failing file fails the test, named.
//!
//! A regression input for a bug that is not fixed yet is named `known-bug-*`: it is skipped
//! here and replayed by an `#[ignore = "bug: ..."]` test below; once the bug is fixed, drop
//! the prefix (and the ignore).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use zerortt_core::harness::Target;

fn corpus_dir(target: Target) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("corpus")
        .join(target.name())
}

/// Regular files directly in `dir`, sorted; none if it does not exist.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    files
}

fn is_known_bug(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("known-bug-"))
}

/// Runs each file through the target's harness; returns (files run, failures).
fn replay(target: Target, files: &[PathBuf]) -> (usize, Vec<String>) {
    let mut failures = Vec::new();
    for path in files {
        let data = std::fs::read(path).expect("read a corpus file");
        let outcome = catch_unwind(AssertUnwindSafe(|| target.run(&data)));
        if let Err(panic) = outcome {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!(
                "{}: {msg}\n  replay: cargo fuzz run {} {}",
                path.display(),
                target.name(),
                path.display()
            ));
        }
    }
    (files.len(), failures)
}

fn replay_target(target: Target) {
    let dir = corpus_dir(target);
    let seeds = files_in(&dir);
    assert!(
        !seeds.is_empty(),
        "no seeds in {}: run `cargo run -p zerortt-core --example gen_corpus`",
        dir.display()
    );
    let regressions: Vec<PathBuf> = files_in(&dir.join("regressions"))
        .into_iter()
        .filter(|p| !is_known_bug(p))
        .collect();
    let all: Vec<PathBuf> = seeds.into_iter().chain(regressions).collect();
    let (n, failures) = replay(target, &all);
    assert!(
        failures.is_empty(),
        "{} of {n} {} inputs fail:\n{}",
        failures.len(),
        target.name(),
        failures.join("\n")
    );
}

#[test]
fn every_codec_corpus_file_round_trips_through_the_codec_harness() {
    replay_target(Target::Codec);
}

#[test]
fn every_server_records_corpus_file_passes_the_server_oracles() {
    replay_target(Target::ServerRecords);
}

#[test]
fn every_client_records_corpus_file_passes_the_client_oracles() {
    replay_target(Target::ClientRecords);
}

fn replay_regression(target: Target, name: &str) {
    let path = corpus_dir(target).join("regressions").join(name);
    let (_, failures) = replay(target, &[path]);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_server_ignores_application_data_after_close_notify() {
    replay_regression(Target::ServerRecords, "data-after-close-notify");
}

#[test]
fn a_client_ignores_application_data_after_close_notify() {
    replay_regression(Target::ClientRecords, "data-after-close-notify");
}

#[test]
fn the_seed_corpora_reach_accepted_rejected_and_failed_handshakes() {
    // Seeds are only useful if they start the fuzzer in deep states: check that the
    // server_records seeds include an accepted 0-RTT handshake, a rejected one, and one
    // the server aborts.
    use zerortt_core::EarlyDataStatus;
    let mut accepted = false;
    let mut rejected = false;
    let mut aborted = false;
    for path in files_in(&corpus_dir(Target::ServerRecords)) {
        let data = std::fs::read(&path).expect("read a corpus file");
        let report = zerortt_core::harness::server_records(&data);
        let done = report.client_finished && report.server_finished;
        accepted |= done && report.server_status == EarlyDataStatus::Accepted;
        rejected |= done && report.server_status == EarlyDataStatus::Rejected;
        aborted |= report.server_error.is_some();
    }
    assert!(
        accepted && rejected && aborted,
        "accepted {accepted} rejected {rejected} aborted {aborted}"
    );
}
