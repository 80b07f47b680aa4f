//! Runs and sweeps: one run gives a [`Verdict`]; `explore` draws knob values per seed
//! (swarm testing: each seed also switches fault kinds off) and runs many seeds on all
//! cores.

use crate::invariants::{self, Finding, Severity};
use crate::report;
use crate::scenario::Scenario;
use crate::subject::Stack;
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

/// Latency range explore draws from when a scenario declares none.
pub const DEFAULT_LATENCY_MS: [f64; 2] = [1.0, 100.0];
/// Jitter range explore draws from when a scenario declares none.
pub const DEFAULT_JITTER_MS: [f64; 2] = [0.0, 5.0];
/// Loss range explore draws from when a scenario declares none.
pub const DEFAULT_LOSS: [f64; 2] = [0.0, 0.05];

/// True if `s` is `base` changed only where [`vary`] changes it and within the same ranges
/// (latency, jitter and loss inside `[explore]` or the defaults; the early data total inside
/// `early_data_bytes`, split evenly into 1-4 chunks), ignoring `[expect]`. A scenario's
/// declared outcome is meant to hold across exactly these variations.
pub fn within_explore_ranges(base: &Scenario, s: &Scenario) -> bool {
    let e = &base.explore;
    let inside = |v: f64, was: f64, r: [f64; 2]| v == was || (r[0]..=r[1]).contains(&v);
    let n = &s.network;
    let network_ok = inside(
        n.latency_ms,
        base.network.latency_ms,
        e.latency_ms.unwrap_or(DEFAULT_LATENCY_MS),
    ) && inside(
        n.jitter_ms,
        base.network.jitter_ms,
        e.jitter_ms.unwrap_or(DEFAULT_JITTER_MS),
    ) && inside(n.loss, base.network.loss, e.loss.unwrap_or(DEFAULT_LOSS));
    let chunks = &s.client.early_data_chunks;
    let chunks_ok = *chunks == base.client.early_data_chunks
        || e.early_data_bytes.is_some_and(|[lo, hi]| {
            let total: usize = chunks.iter().sum();
            let (min, max) = (chunks.iter().min(), chunks.iter().max());
            (1..=4).contains(&chunks.len())
                && (lo..=hi).contains(&total)
                && matches!((min, max), (Some(a), Some(b)) if b - a <= 1)
        });
    let mut rest = s.clone();
    rest.network.latency_ms = base.network.latency_ms;
    rest.network.jitter_ms = base.network.jitter_ms;
    rest.network.loss = base.network.loss;
    rest.client.early_data_chunks = base.client.early_data_chunks.clone();
    rest.expect = base.expect.clone();
    network_ok && chunks_ok && rest == *base
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
    let latency = e.latency_ms.unwrap_or(DEFAULT_LATENCY_MS);
    s.network.latency_ms = (pick(latency, unit()) * 1000.0).round() / 1000.0;
    if jitter_on {
        s.network.jitter_ms =
            (pick(e.jitter_ms.unwrap_or(DEFAULT_JITTER_MS), unit()) * 1000.0).round() / 1000.0;
    }
    if loss_on {
        s.network.loss = pick(e.loss.unwrap_or(DEFAULT_LOSS), unit());
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

/// The name a scenario's results go under: its own name on zerortt-core at both ends,
/// `name [client/server]` on any other pair of stacks.
pub fn label(s: &Scenario) -> String {
    match (s.client.stack, s.server.stack) {
        (Stack::Zerortt, Stack::Zerortt) => s.name.clone(),
        (c, v) => format!("{} [{c}/{v}]", s.name),
    }
}

/// The command that replays `seed` of `s` (as explore varied it), stacks included.
pub fn replay_command(s: &Scenario, seed: u64) -> String {
    let mut cmd = format!("zerortt replay --scenario {} --seed {seed}", s.name);
    if s.client.stack != Stack::Zerortt {
        cmd.push_str(&format!(" --client-stack {}", s.client.stack));
    }
    if s.server.stack != Stack::Zerortt {
        cmd.push_str(&format!(" --server-stack {}", s.server.stack));
    }
    cmd
}

/// Runs one scenario with one seed and checks every invariant.
pub fn run_one(scenario: &Scenario, seed: u64) -> (World, Verdict) {
    verdict_of(World::run(scenario, seed), scenario, seed)
}

/// [`run_one`] keeping every segment's payload, for pcap files and ladder diagrams
/// ([`World::run_captured`]): the same run and verdict.
pub fn run_one_captured(scenario: &Scenario, seed: u64) -> (World, Verdict) {
    verdict_of(World::run_captured(scenario, seed), scenario, seed)
}

fn verdict_of(world: World, scenario: &Scenario, seed: u64) -> (World, Verdict) {
    let text = report::trace_text(&report::trace(&world));
    let findings = invariants::check(&world);
    let status = world
        .connections
        .iter()
        .find(|c| c.borrow().role == crate::world::Role::ZeroRtt)
        .and_then(|c| c.borrow().client_status)
        .map_or("-".to_owned(), |s| format!("{s:?}"));
    let verdict = Verdict {
        scenario: label(scenario),
        seed,
        trace_hash: report::trace_hash(&text),
        findings,
        status,
    };
    (world, verdict)
}

/// What `--check-determinism` compares: the trace's hash, except that a run with an
/// OpenSSL side leaves out the key log lines. OpenSSL computes ticket ages from the wall
/// clock in whole seconds (see [`crate::subject::openssl_stack`]): in a run that straddles
/// a second boundary the obfuscated ticket age, and with it every secret from the
/// ClientHello on, differ, and a stateless ticket encrypts its creation second. Every
/// other line (events, record lengths, TCP, statuses, milestones) is compared.
pub fn determinism_hash(world: &World) -> u64 {
    let openssl = world.scenario.client.stack == Stack::Openssl
        || world.scenario.server.stack == Stack::Openssl;
    let mut lines = report::trace(world);
    if openssl {
        lines.retain(|l| !(l.layer == "tls" && l.text.starts_with("keylog ")));
    }
    report::trace_hash(&report::trace_text(&lines))
}

/// One explore job: scenario, seed, and whether it also checks determinism.
pub fn explore_one(base: &Scenario, seed: u64, check_determinism: bool) -> Verdict {
    explore_inner(base, seed, check_determinism, false).0
}

/// [`explore_one`] plus the 0-RTT connection's timing milestones (ms from its SYN), for
/// the HTML report's distributions over seeds.
pub fn explore_one_timed(
    base: &Scenario,
    seed: u64,
    check_determinism: bool,
) -> (Verdict, Vec<(&'static str, crate::net::SimTime)>) {
    explore_inner(base, seed, check_determinism, true)
}

fn explore_inner(
    base: &Scenario,
    seed: u64,
    check_determinism: bool,
    timed: bool,
) -> (Verdict, Vec<(&'static str, crate::net::SimTime)>) {
    let s = vary(base, seed);
    let (world, mut v) = run_one(&s, seed);
    let milestones = world
        .connections
        .iter()
        .filter(|_| timed)
        .find(|c| c.borrow().role == crate::world::Role::ZeroRtt)
        .map(|c| report::timing(&world, &c.borrow()).milestones)
        .unwrap_or_default();
    if check_determinism {
        let (again_world, _) = run_one(&s, seed);
        let (first, second) = (determinism_hash(&world), determinism_hash(&again_world));
        if first != second {
            v.findings.push(Finding {
                invariant: "determinism",
                severity: Severity::Violation,
                detail: format!("trace hash {first:016x} then {second:016x}"),
            });
        }
    }
    (v, milestones)
}
