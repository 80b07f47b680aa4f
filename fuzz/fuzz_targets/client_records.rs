//! `cargo fuzz run client_records`: the harness in `zerortt_core::harness` is the whole target (it
//! panics on a bug), so `cargo test` (core/tests/corpus_replay.rs) and `zerortt replay`
//! run the very same function on a crash file.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _report = zerortt_core::harness::client_records(data);
});
