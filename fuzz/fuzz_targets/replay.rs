//! `cargo fuzz run replay`: the harness in `zerortt_sim::harness` is the whole target (it
//! panics with `oracle <invariant>:` on a violation), so `cargo test`
//! (sim/tests/corpus_replay.rs) and `zerortt replay` run the very same function on a crash
//! file.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    zerortt_sim::harness::replay(data);
});
