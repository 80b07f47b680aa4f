//! Runs and sweeps: one run gives a [`Verdict`]; `explore` draws knob values per seed
//! (swarm testing: each seed also switches fault kinds off) and runs many seeds on all
//! cores.

use crate::invariants::{self, Finding, Severity};
use crate::report;
use crate::scenario::Scenario;
use crate::world::World;
use rand_core::{Rng, SeedableRng};

/// The result of one run.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// FNV-1a of the text trace.
    pub trace_hash: u64,
    /// Findings (violations and expected ones).
    pub findings: Vec<Finding>,
    /// Early data status of the 0-RTT connection at the client.
    pub status: String,
}

impl Verdict {
    /// True if any invariant was violated.
    pub fn violated(&self) -> bool {
        self.findings
            .iter()
            .any(|f| f.severity == Severity::Violation)
    }
}

/// The scenario as a given seed of an explore run varies it.
pub fn vary(base: &Scenario, seed: u64) -> Scenario {
    let mut s = base.clone();
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(seed ^ 0x0005_eed0_fe79_107e);
    let mut unit = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    let e = s.explore.clone();
    let pick = |r: [f64; 2], u: f64| r[0] + (r[1] - r[0]) * u;
    // Swarm testing: each fault kind is on for about half of the seeds.
    let (loss_on, jitter_on) = (unit() < 0.5, unit() < 0.5);
    let latency = e.latency_ms.unwrap_or([1.0, 100.0]);
    s.network.latency_ms = (pick(latency, unit()) * 1000.0).round() / 1000.0;
    if jitter_on {
        s.network.jitter_ms =
            (pick(e.jitter_ms.unwrap_or([0.0, 5.0]), unit()) * 1000.0).round() / 1000.0;
    }
    if loss_on {
        s.network.loss = pick(e.loss.unwrap_or([0.0, 0.05]), unit());
    }
    if let Some([lo, hi]) = e.early_data_bytes {
        let total = lo + ((hi.saturating_sub(lo)) as f64 * unit()) as usize;
        let parts = 1 + (unit() * 4.0) as usize;
        s.client.early_data_chunks = (0..parts)
            .map(|i| total / parts + usize::from(i < total % parts))
            .collect();
    }
    s
}

/// Runs one scenario with one seed and checks every invariant.
pub fn run_one(scenario: &Scenario, seed: u64) -> (World, Verdict) {
    let world = World::run(scenario, seed);
    let text = report::trace_text(&report::trace(&world));
    let findings = invariants::check(&world);
    let status = world
        .connections
        .iter()
        .find(|c| c.borrow().role == crate::world::Role::ZeroRtt)
        .and_then(|c| c.borrow().client_status)
        .map_or("-".to_owned(), |s| format!("{s:?}"));
    let verdict = Verdict {
        scenario: scenario.name.clone(),
        seed,
        trace_hash: report::trace_hash(&text),
        findings,
        status,
    };
    (world, verdict)
}

/// One explore job: scenario, seed, and whether it also checks determinism.
pub fn explore_one(base: &Scenario, seed: u64, check_determinism: bool) -> Verdict {
    let s = vary(base, seed);
    let (_, mut v) = run_one(&s, seed);
    if check_determinism {
        let (_, again) = run_one(&s, seed);
        if again.trace_hash != v.trace_hash {
            v.findings.push(Finding {
                invariant: "determinism",
                severity: Severity::Violation,
                detail: format!(
                    "trace hash {:016x} then {:016x}",
                    v.trace_hash, again.trace_hash
                ),
            });
        }
    }
    v
}
