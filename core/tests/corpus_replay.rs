//! Replays every checked-in fuzz input through its harness on stable Rust: the seeds in
//! `corpus/<target>/` (regenerate with `cargo run -p zerortt-core --example gen_corpus`)
//! and every input that ever failed, in `corpus/<target>/regressions/`. A harness panics
//! on a bug, so a failing file fails the test, named.
//!
//! A regression input for a bug that is not fixed yet is named `known-bug-*`: it is skipped
//! here and replayed by an `#[ignore = "bug: ..."]` test below; once the bug is fixed, drop
//! the prefix (and the ignore).

use std::path::PathBuf;
use zerortt_core::harness::corpus::{corpus_dir, files_in, replay_corpus, replay_files};
use zerortt_core::harness::Target;

fn replay_target(target: Target) {
    let regenerate = "cargo run -p zerortt-core --example gen_corpus";
    replay_corpus(target.name(), regenerate, |data| target.run(data));
}

fn replay(target: Target, files: &[PathBuf]) -> Vec<String> {
    replay_files(target.name(), files, |data| target.run(data))
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
    let path = corpus_dir(target.name()).join("regressions").join(name);
    let failures = replay(target, &[path]);
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
fn a_server_refusing_a_plaintext_end_of_early_data_passes_the_malformed_oracle() {
    // Issue 11 item 7: the oracle once fired because the server *saw* an EndOfEarlyData
    // after the harness had sent one with a body, though it refused it (unexpected_message).
    let name = "plaintext-end-of-early-data-refused-after-a-made-up-one-with-a-body";
    replay_regression(Target::ServerRecords, name);
    let path = corpus_dir(Target::ServerRecords.name())
        .join("regressions")
        .join(name);
    let report = zerortt_core::harness::server_records(&std::fs::read(path).expect("read"));
    assert!(
        matches!(
            report.server_error,
            Some(zerortt_core::Error::InappropriateHandshakeMessage { .. })
        ),
        "{report}"
    );
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
    for path in files_in(&corpus_dir(Target::ServerRecords.name())) {
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
