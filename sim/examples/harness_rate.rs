//! Inputs per second of the `scenario` or `replay` fuzz harness over a corpus directory,
//! without libFuzzer's instrumentation, and the public-key memo's hit rate:
//!
//! ```text
//! cargo run --release -p zerortt-sim --example harness_rate -- scenario corpus/scenario
//! ZERORTT_PUBLIC_KEY_MEMO=off cargo run --release -p zerortt-sim --example harness_rate -- scenario DIR
//! ```
//!
//! Inputs that trip an oracle are counted like any other (their panic is caught).
#![allow(clippy::disallowed_methods)] // wall-clock rate for display only

use std::path::PathBuf;
use zerortt_sim::harness::{memo, SimTarget};

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "scenario".into());
    let Some(target) = SimTarget::from_name(&name) else {
        eprintln!("unknown target {name:?}: choose scenario or replay");
        std::process::exit(2);
    };
    let dir = PathBuf::from(args.next().unwrap_or_else(|| format!("corpus/{name}")));
    let mut inputs = Vec::new();
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{}: {e}", dir.display());
            std::process::exit(2);
        }
    };
    for path in entries.flatten().map(|e| e.path()) {
        if path.is_file() && path.extension().is_none() {
            if let Ok(bytes) = std::fs::read(&path) {
                inputs.push(bytes);
            }
        }
    }
    std::panic::set_hook(Box::new(|_| {}));
    let start = std::time::Instant::now();
    let mut violations = 0;
    for input in &inputs {
        if std::panic::catch_unwind(|| target.run(input)).is_err() {
            violations += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let stats = memo().map(|m| m.stats());
    println!(
        "{name}: {} inputs in {secs:.2} s = {:.0} inputs/s ({violations} tripped an oracle); \
         memo: {}",
        inputs.len(),
        inputs.len() as f64 / secs.max(1e-9),
        match stats {
            Some(s) => format!(
                "{} hits, {} misses ({:.0}% hits)",
                s.hits,
                s.misses,
                s.hit_rate() * 100.0
            ),
            None => "off".into(),
        }
    );
}
