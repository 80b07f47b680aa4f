//! Regenerates the seed corpora of the simulator fuzz targets:
//!
//! ```text
//! cargo run -p zerortt-sim --example gen_sim_corpus            # write seeds
//! cargo run -p zerortt-sim --example gen_sim_corpus -- --clean # remove old seeds first
//! ```
//!
//! - `corpus/scenario/`: one input per catalog scenario (every knob kept), plus a few with
//!   the knobs that matter turned: loss, a small MTU, HRR, three servers, four chunks.
//! - `corpus/replay/`: one input per replay base scenario with its own schedule, plus the
//!   same bases with six replays spread over every server and over time.
//! - Both: each catalog (or replay base) scenario again on every other stack pair
//!   ([`base_byte`], [`STACK_PAIRS`]) where the pair can run it.
//!
//! File names are the content's FNV-1a hash in hex, so a regeneration
//! writes the same files. `regressions/` is never touched.

use std::path::{Path, PathBuf};
use zerortt_sim::catalog;
use zerortt_sim::harness::{
    base_byte, replay_input, replay_schedule_input, scenario_input, SimTarget, REPLAY_BASES,
    SCENARIO_INPUT_LEN, STACK_PAIRS,
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let clean = args.iter().any(|a| a == "--clean");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("corpus");
    for (target, inputs) in [
        (SimTarget::Scenario, scenario_seeds()),
        (SimTarget::Replay, replay_seeds()),
    ] {
        let dir = root.join(target.name());
        std::fs::create_dir_all(&dir).expect("create the corpus directory");
        if clean {
            remove_seeds(&dir);
        }
        for input in &inputs {
            // A seed must pass its own harness; a violation here is a bug to look at, not
            // a seed.
            target.run(input);
            std::fs::write(dir.join(file_name(input)), input).expect("write a seed");
        }
        println!(
            "{}: {} seeds in {}",
            target.name(),
            inputs.len(),
            dir.display()
        );
    }
}

fn scenario_seeds() -> Vec<Vec<u8>> {
    let n = catalog::CATALOG.len();
    let mut out: Vec<Vec<u8>> = (0..n).map(|i| scenario_input(i as u8, 1)).collect();
    // Offsets as documented on zerortt_sim::harness::decode_scenario; a byte of v means
    // choice v - 1.
    let knob = |base: usize, set: &[(usize, u8)]| {
        let mut v = scenario_input(base as u8, 7);
        for &(at, b) in set {
            v[at] = b;
        }
        debug_assert_eq!(v.len(), SCENARIO_INPUT_LEN);
        v
    };
    out.push(knob(0, &[(4, 6), (3, 6)])); // 5% loss, 5 ms jitter
                                          // MTU 576 and four chunks of 200 bytes.
    out.push(knob(
        0,
        &[
            (6, 0),
            (7, 1),
            (20, 4),
            (22, 200),
            (24, 200),
            (26, 200),
            (28, 200),
        ],
    ));
    out.push(knob(0, &[(17, 1), (8, 1)])); // HRR and a lost first flight
    out.push(knob(6, &[(12, 3), (13, 2)])); // three servers, ticket keys
    out.push(knob(0, &[(14, 4), (15, 5), (30, 8)])); // 100 / 1000 / session 4096
    out.push(knob(0, &[(9, 1), (10, 1), (11, 1), (19, 1), (18, 3)])); // nodelay, cwnd 1
    out.extend(on_other_stacks(SimTarget::Scenario, n, |b| {
        scenario_input(b, 1)
    }));
    out
}

/// `input(base_byte(base, pair))` for every base below `n` and every pair but
/// zerortt/zerortt that can run it.
fn on_other_stacks(target: SimTarget, n: usize, input: impl Fn(u8) -> Vec<u8>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for pair in 1..STACK_PAIRS.len() {
        for b in (0..n).filter_map(|b| base_byte(b, pair)) {
            let v = input(b);
            if target.decode(&v).0.not_applicable().is_none() {
                out.push(v);
            }
        }
    }
    out
}

fn replay_seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for b in 0..REPLAY_BASES.len() as u8 {
        out.push(replay_input(b, 1));
        let spread = [(0, 0), (5, 1), (30, 2), (120, 0), (600, 1), (2000, 2)];
        out.push(replay_schedule_input(b, 3, &spread, 2));
    }
    out.extend(on_other_stacks(
        SimTarget::Replay,
        REPLAY_BASES.len(),
        |b| replay_input(b, 1),
    ));
    out
}

/// FNV-1a (64 bits) of the content in hex, as `zerortt_sim::report::trace_hash` does for
/// traces: the same input always gets the same name.
fn file_name(input: &[u8]) -> String {
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Removes the seeds (regular files) in `dir`, keeping `regressions/` and notes.
fn remove_seeds(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    for f in files {
        std::fs::remove_file(f).expect("remove an old seed");
    }
}
