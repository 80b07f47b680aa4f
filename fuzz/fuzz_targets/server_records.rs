//! `cargo fuzz run server_records`: the harness in `zerortt_core::harness` is the whole target (it
//! panics on a bug), so `cargo test` (core/tests/corpus_replay.rs) and `zerortt replay`
//! run the very same function on a crash file. The input is typed: `RecordScenario`'s
//! `Arbitrary` reads the corpus format (`RecordScenario::from_bytes`), so
//! `cargo fuzz fmt server_records FILE` prints the decoded scenario.
#![no_main]

use zerortt_core::harness::{check_scenario, RecordScenario};
use zerortt_core::Side;

libfuzzer_sys::fuzz_target!(|scenario: RecordScenario| {
    let _report = check_scenario(Side::Server, scenario);
});
