//! `cargo fuzz run replay`: the harness in `zerortt_sim::harness` is the whole target (it
//! panics with `oracle <invariant>:` on a violation), so `cargo test`
//! (sim/tests/corpus_replay.rs) and `zerortt replay` run the very same function on a crash
//! file. The input is typed: `ReplayKnobs`'s `Arbitrary` reads the fixed-offset corpus
//! format, so `cargo fuzz fmt replay FILE` prints the knobs.
#![no_main]

use zerortt_sim::harness::{check, ReplayKnobs};

libfuzzer_sys::fuzz_target!(|knobs: ReplayKnobs| {
    let (scenario, seed) = knobs.scenario();
    check(&scenario, seed);
});
