//! Fuzz harnesses over whole simulated runs, so that `cargo fuzz run scenario`,
//! `cargo test` (sim/tests/corpus_replay.rs replays `corpus/<target>/`) and
//! `zerortt replay` run the very same function on the same bytes.
//!
//! Like `zerortt_core::harness`, each harness takes arbitrary bytes and **panics when it
//! finds a bug**: a panic inside the simulator or the library, or an invariant finding of
//! [`Severity::Violation`], reported as `oracle <invariant>: <detail>` followed by the seed
//! and the decoded scenario as TOML. Every input decodes to some scenario (a small
//! deterministic byte reader, zeros past the end, no `arbitrary` crate); one that fails
//! [`Scenario::validate`] is skipped, not a bug.
//!
//! Inputs have a fixed layout (byte offsets below), so a mutation changes one knob. A knob
//! byte of 0 keeps the catalog scenario's own value, so `[i]` alone is catalog scenario `i`
//! as written.
//!
//! Targets:
//! - [`scenario`]: a catalog scenario with network, TCP, server and client knobs.
//! - [`replay`]: an attacker's schedule of replays against one of the replay scenarios.
//!
//! The catalog's `[expect]` is kept only while the input varies the scenario the way
//! `zerortt explore` does (network latency, jitter and loss and the early data total, inside
//! the scenario's `[explore]` ranges): that is where the declared outcome is meant to hold.
//! Any other knob clears it. The other invariants always apply and know which
//! configurations promise what (an accepted replay in a replayable configuration is an
//! `Expected` finding).

use crate::catalog;
use crate::explore::within_explore_ranges;
use crate::invariants::{self, Severity};
use crate::scenario::{Expect, Replay, Scenario, Sharing};
use crate::world::World;
use std::sync::{Arc, OnceLock};
use zerortt_core::crypto::memo::PublicKeyMemo;

/// The targets, by the names used for `fuzz/fuzz_targets/<name>.rs` and `corpus/<name>/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SimTarget {
    /// [`scenario`].
    Scenario,
    /// [`replay`].
    Replay,
}

impl SimTarget {
    /// Every target, in a fixed order.
    pub const ALL: [SimTarget; 2] = [SimTarget::Scenario, SimTarget::Replay];

    /// The stable name (`scenario`, `replay`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Scenario => "scenario",
            Self::Replay => "replay",
        }
    }

    /// The target called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Decodes `data` into the scenario and seed this target would run.
    pub fn decode(self, data: &[u8]) -> (Scenario, u64) {
        match self {
            Self::Scenario => decode_scenario(data),
            Self::Replay => decode_replay(data),
        }
    }

    /// Runs the harness on `data` (panics on a bug, see the module documentation).
    pub fn run(self, data: &[u8]) {
        let (s, seed) = self.decode(data);
        check(&s, seed);
    }
}

/// The `scenario` fuzz target: decode, validate, run, panic on a violation.
pub fn scenario(data: &[u8]) {
    SimTarget::Scenario.run(data);
}

/// The `replay` fuzz target: decode an attacker's schedule, validate, run, panic on a
/// violation.
pub fn replay(data: &[u8]) {
    SimTarget::Replay.run(data);
}

/// The scenario and seed that target `target` (`scenario` or `replay`) runs for `data`;
/// `None` for an unknown target or an input that decodes to an invalid scenario (which the
/// harness skips). For `zerortt replay --target scenario --input F`.
pub fn describe(target: &str, data: &[u8]) -> Option<(Scenario, u64)> {
    let (s, seed) = SimTarget::from_name(target)?.decode(data);
    s.validate("fuzz input").ok()?;
    Some((s, seed))
}

/// Runs a decoded scenario and panics with `oracle <invariant>:` on the first violation
/// (an invalid scenario is skipped).
pub fn check(s: &Scenario, seed: u64) {
    if s.validate("fuzz input").is_err() {
        return;
    }
    // The invariants only: the trace text and its hash (`run_one`) cost a fuzzer about a
    // tenth of its runs and nothing here reads them.
    let world = World::run_memo(s, seed, memo());
    let findings = invariants::check(&world);
    if let Some(f) = findings.iter().find(|f| f.severity == Severity::Violation) {
        let text = toml::to_string(s).unwrap_or_else(|e| format!("(not TOML: {e}) {s:?}"));
        panic!(
            "oracle {}: {}\nseed {seed}\nscenario:\n{text}",
            f.invariant, f.detail
        );
    }
}

/// The process-wide [`PublicKeyMemo`] the harnesses run with: a fuzzer mutating the knobs
/// of one seed repeats the same X25519 keys and signatures thousands of times, and a
/// memoized result is the exact bytes the computation gives. `ZERORTT_PUBLIC_KEY_MEMO=off`
/// computes everything every time (to measure the difference).
pub fn memo() -> Option<Arc<PublicKeyMemo>> {
    static MEMO: OnceLock<Option<Arc<PublicKeyMemo>>> = OnceLock::new();
    MEMO.get_or_init(|| {
        let off = std::env::var("ZERORTT_PUBLIC_KEY_MEMO").is_ok_and(|v| v == "off");
        (!off).then(|| Arc::new(PublicKeyMemo::new()))
    })
    .clone()
}

/// A deterministic reader over the input at fixed offsets: past the end it yields zeros,
/// so every input (including the empty one) decodes.
struct ByteSource<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> ByteSource<'a> {
    fn new(data: &'a [u8]) -> Self {
        Self { data, at: 0 }
    }

    fn u8(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at = self.at.saturating_add(1);
        b
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// The seed: the rest of the input, big-endian, at most 8 bytes (none is seed 0).
    fn seed(&mut self) -> u64 {
        let rest = self.data.get(self.at..).unwrap_or(&[]);
        let seed = rest
            .iter()
            .take(8)
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        self.at = self.at.saturating_add(8);
        seed
    }

    /// 0 keeps the catalog value; otherwise `(v - 1) % n`.
    fn choice8(&mut self, n: usize) -> Option<usize> {
        match self.u8() {
            0 => None,
            v => Some((usize::from(v) - 1) % n),
        }
    }

    /// Like [`Self::choice8`] over two bytes.
    fn choice16(&mut self, n: usize) -> Option<usize> {
        match self.u16() {
            0 => None,
            v => Some((usize::from(v) - 1) % n),
        }
    }

    /// 0 keeps, odd is true, even is false.
    fn flag(&mut self) -> Option<bool> {
        match self.u8() {
            0 => None,
            v => Some(v % 2 == 1),
        }
    }
}

/// `sharing` choices, in [`Sharing`] declaration order.
const SHARING: [Sharing; 5] = [
    Sharing::Nothing,
    Sharing::TicketKeys,
    Sharing::Cache,
    Sharing::StrikeRegister,
    Sharing::ExternalCache,
];

/// `tcp.delayed_ack` choices.
const DELAYED_ACK: [&str; 5] = ["off", "quickack", "40ms", "200ms", "1ms"];

/// `max_early_data` / `recv_max_early_data` / session limit choices: the defaults, zero,
/// one byte, and values around the chunk sizes.
const LIMITS: [u32; 8] = [16384, 0, 1, 100, 1000, 4096, 16385, 65536];

/// Largest early data chunk (the 0-20000 bytes).
const CHUNK_MAX: usize = 20_000;

/// Offset of the seed in a `scenario` input: the knobs come first.
pub const SCENARIO_SEED_AT: usize = 31;

/// Byte length of a `scenario` input as the fuzzer writes it (`max_len` in
/// fuzz/options/scenario.options): every knob and a 2-byte seed. See [`SEEDS_FUZZED`].
pub const SCENARIO_INPUT_LEN: usize = SCENARIO_SEED_AT + 2;

/// How many seeds the fuzzer explores per knob setting: inputs are cut to 2 seed bytes.
/// The knobs already vary the network; a seed that comes back finds its X25519 keys,
/// shared secrets and signatures in the [`memo`] (every one a real computation, done once),
/// which roughly doubles the `scenario` target's executions per second over fresh 8-byte
/// seeds. Longer inputs (the corpus, `zerortt replay`) still name any u64 seed.
pub const SEEDS_FUZZED: u64 = 1 << 16;

/// Decodes a `scenario` input:
///
/// | offset | knob | 0 keeps the catalog value, else |
/// |---|---|---|
/// | 0 | base catalog scenario | `b % catalog size` (always read) |
/// | 1-2 | network.latency_ms | 0-200 ms |
/// | 3 | network.jitter_ms | 0-20 ms |
/// | 4 | network.loss | 0.00-0.30 |
/// | 5 | network.duplicate | 0.00-0.30 |
/// | 6-7 | network.mtu | 576-9000 |
/// | 8 | network.lose_first_flight | odd: true |
/// | 9 | tcp.client_nodelay | odd: true |
/// | 10 | tcp.delayed_ack | off, quickack, 40ms, 200ms, 1ms |
/// | 11 | tcp.initial_cwnd | 1-20 |
/// | 12 | server.count | 1-3 |
/// | 13 | server.sharing | nothing, ticket_keys, cache, strike_register, external_cache |
/// | 14 | server.max_early_data | one of [`LIMITS`] |
/// | 15 | server.recv_max_early_data | one of [`LIMITS`] |
/// | 16 | server.no_anti_replay | odd: true |
/// | 17 | server.hello_retry | odd: true |
/// | 18 | server.allow_early_data | always, never, load:0-3 |
/// | 19 | server.half_rtt_response | odd: true |
/// | 20 | client chunk count | 1-4 (sizes from 21-28) |
/// | 21-28 | four chunk sizes, u16 each | 0-20000 bytes |
/// | 29 | client.chunk_interval_ms | 0-50 ms |
/// | 30 | client.session_max_early_data | 1: none, else one of [`LIMITS`] |
/// | 31- | seed: the rest of the input, big-endian, at most 8 bytes | (always read) |
///
/// Replays of the base scenario aimed past a lowered server count go to the last server.
/// Chunks may exceed the session's max_early_data: the simulated client fits its writes
/// to the limit (corpus/scenario/regressions/script-writes-past-session-max-early-data).
pub fn decode_scenario(data: &[u8]) -> (Scenario, u64) {
    let mut src = ByteSource::new(data);
    let catalog = base(&mut src, None);
    let mut s = catalog.clone();
    let n = &mut s.network;
    if let Some(v) = src.choice16(201) {
        n.latency_ms = v as f64;
    }
    if let Some(v) = src.choice8(21) {
        n.jitter_ms = v as f64;
    }
    if let Some(v) = src.choice8(31) {
        n.loss = v as f64 / 100.0;
    }
    if let Some(v) = src.choice8(31) {
        n.duplicate = v as f64 / 100.0;
    }
    if let Some(v) = src.choice16(9000 - 576 + 1) {
        n.mtu = 576 + v;
    }
    if let Some(v) = src.flag() {
        n.lose_first_flight = v;
    }
    if let Some(v) = src.flag() {
        s.tcp.client_nodelay = v;
    }
    if let Some(v) = src.choice8(DELAYED_ACK.len()) {
        s.tcp.delayed_ack = DELAYED_ACK[v].into();
    }
    if let Some(v) = src.choice8(20) {
        s.tcp.initial_cwnd = 1 + v as u32;
    }
    let sv = &mut s.server;
    if let Some(v) = src.choice8(3) {
        sv.count = 1 + v;
    }
    if let Some(v) = src.choice8(SHARING.len()) {
        sv.sharing = SHARING[v];
    }
    if let Some(v) = src.choice8(LIMITS.len()) {
        sv.max_early_data = LIMITS[v];
    }
    if let Some(v) = src.choice8(LIMITS.len()) {
        sv.recv_max_early_data = LIMITS[v];
    }
    if let Some(v) = src.flag() {
        sv.no_anti_replay = v;
    }
    if let Some(v) = src.flag() {
        sv.hello_retry = v;
    }
    if let Some(v) = src.choice8(6) {
        sv.allow_early_data = match v {
            0 => "always".into(),
            1 => "never".into(),
            n => format!("load:{}", n - 2),
        };
    }
    if let Some(v) = src.flag() {
        sv.half_rtt_response = v;
    }
    let chunks = src.choice8(4);
    let sizes = [src.u16(), src.u16(), src.u16(), src.u16()];
    if let Some(k) = chunks {
        s.client.early_data_chunks = sizes
            .iter()
            .take(k + 1)
            .map(|&b| usize::from(b) % (CHUNK_MAX + 1))
            .collect();
    }
    if let Some(v) = src.choice8(51) {
        s.client.chunk_interval_ms = v as f64;
    }
    match src.u8() {
        0 => {}
        1 => s.client.session_max_early_data = None,
        v => s.client.session_max_early_data = Some(LIMITS[usize::from(v - 2) % LIMITS.len()]),
    }
    let seed = src.seed();
    let count = s.server.count;
    for r in &mut s.attack.replays {
        r.server = r.server.min(count - 1);
    }
    (with_expectations(s, &catalog), seed)
}

/// The base scenarios of the `replay` target.
pub const REPLAY_BASES: [&str; 7] = [
    "replay_same_server",
    "replay_cluster_nothing_shared",
    "replay_cluster_shared_cache",
    "replay_cluster_strike_register",
    "replay_cluster_ticket_keys",
    "external_cache_race",
    "external_psk_replay",
];

/// Most replays the `replay` target schedules (keeps a run to a few milliseconds).
pub const REPLAYS_MAX: usize = 6;

/// Offset of the seed in a `replay` input.
pub const REPLAY_SEED_AT: usize = 8 + 3 * REPLAYS_MAX;

/// Byte length of a `replay` input as the fuzzer writes it: every knob and a 2-byte seed
/// (as for [`SCENARIO_INPUT_LEN`]).
pub const REPLAY_INPUT_LEN: usize = REPLAY_SEED_AT + 2;

/// Decodes a `replay` input:
///
/// | offset | knob | 0 keeps the base value, else |
/// |---|---|---|
/// | 0 | base scenario | `b % 7` of [`REPLAY_BASES`] (always read) |
/// | 1 | server.count | 1-3 |
/// | 2 | server.sharing | as in [`decode_scenario`] |
/// | 3 | server.no_anti_replay | odd: true |
/// | 4 | server.external_cache_latency_ms | 0-200 ms |
/// | 5-6 | network.latency_ms | 0-200 ms |
/// | 7 | replay count | 1-6, each from 8 + 3i |
/// | 8 + 3i | replay i: at_ms (u16), server (u8) | 0-2000 ms, `server % count` |
/// | 26- | seed: the rest of the input, big-endian, at most 8 bytes | (always read) |
pub fn decode_replay(data: &[u8]) -> (Scenario, u64) {
    let mut src = ByteSource::new(data);
    let catalog = base(&mut src, Some(&REPLAY_BASES));
    let mut s = catalog.clone();
    if let Some(v) = src.choice8(3) {
        s.server.count = 1 + v;
    }
    if let Some(v) = src.choice8(SHARING.len()) {
        s.server.sharing = SHARING[v];
    }
    if let Some(v) = src.flag() {
        s.server.no_anti_replay = v;
    }
    if let Some(v) = src.choice8(201) {
        s.server.external_cache_latency_ms = v as f64;
    }
    if let Some(v) = src.choice16(201) {
        s.network.latency_ms = v as f64;
    }
    let n = src.choice8(REPLAYS_MAX);
    let count = s.server.count;
    let mut replays = Vec::with_capacity(REPLAYS_MAX);
    for _ in 0..REPLAYS_MAX {
        let at = src.u16() % 2001;
        let server = usize::from(src.u8()) % count;
        replays.push(Replay {
            at_ms: f64::from(at),
            server,
        });
    }
    match n {
        Some(k) => {
            replays.truncate(k + 1);
            s.attack.replays = replays;
        }
        None => {
            for r in &mut s.attack.replays {
                r.server = r.server.min(count - 1);
            }
        }
    }
    let seed = src.seed();
    (with_expectations(s, &catalog), seed)
}

/// `s` with the catalog's `[expect]` if it only differs from `catalog` the way `zerortt
/// explore` varies it ([`within_explore_ranges`]: the declared outcome holds there), else
/// with none.
fn with_expectations(mut s: Scenario, catalog: &Scenario) -> Scenario {
    s.expect = match within_explore_ranges(catalog, &s) {
        true => catalog.expect.clone(),
        false => Expect::default(),
    };
    s
}

/// Reads byte 0 and returns that catalog scenario (from `names` if given).
fn base(src: &mut ByteSource<'_>, names: Option<&[&str]>) -> Scenario {
    // Parsed once per process: parsing 21 TOML files on every input would cost the fuzzer
    // a good share of its runs.
    static CATALOG: std::sync::OnceLock<Vec<Scenario>> = std::sync::OnceLock::new();
    let all = CATALOG.get_or_init(catalog::all);
    let b = usize::from(src.u8());
    let found = match names {
        Some(names) => {
            let name = names.get(b % names.len().max(1)).copied().unwrap_or("");
            all.iter().find(|s| s.name == name)
        }
        None => all.get(b % all.len().max(1)),
    };
    found.cloned().unwrap_or_default()
}

/// A full-length `scenario` input for catalog scenario `base` (index into
/// [`catalog::CATALOG`]) with every knob kept and `seed`: the inverse of
/// [`decode_scenario`] for the unvaried catalog.
pub fn scenario_input(base: u8, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; SCENARIO_SEED_AT];
    v[0] = base;
    push_seed(&mut v, seed);
    v
}

/// Appends `seed` big-endian in as few bytes as it needs, at least 2 (the fuzzer's length).
fn push_seed(v: &mut Vec<u8>, seed: u64) {
    let bytes = seed.to_be_bytes();
    let skip = (seed.leading_zeros() / 8).min(6) as usize;
    v.extend_from_slice(&bytes[skip..]);
}

/// A full-length `replay` input for [`REPLAY_BASES`]`[base]` with the base's own replays
/// and knobs and `seed`.
pub fn replay_input(base: u8, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; REPLAY_SEED_AT];
    v[0] = base;
    push_seed(&mut v, seed);
    v
}

/// A full-length `replay` input with an explicit schedule: `(at_ms, server)` pairs (at
/// most [`REPLAYS_MAX`]; `at_ms` up to 2000), server count 1-3 and seed; other knobs kept.
pub fn replay_schedule_input(base: u8, count: u8, replays: &[(u16, u8)], seed: u64) -> Vec<u8> {
    let mut v = replay_input(base, seed);
    v[1] = count.clamp(1, 3);
    let k = replays.len().clamp(1, REPLAYS_MAX);
    v[7] = k as u8;
    for (i, &(at, server)) in replays.iter().take(REPLAYS_MAX).enumerate() {
        let at = at.min(2000).to_be_bytes();
        v[8 + 3 * i] = at[0];
        v[8 + 3 * i + 1] = at[1];
        v[8 + 3 * i + 2] = server;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_one_byte_input_is_the_catalog_scenario_with_its_expectations() {
        let all = catalog::all();
        for (i, c) in all.iter().enumerate() {
            let (s, seed) = decode_scenario(&[i as u8]);
            assert_eq!(s, *c);
            assert_eq!(seed, 0);
        }
    }

    #[test]
    fn expectations_survive_explore_style_variation_and_no_other_knob() {
        let i = catalog::all()
            .iter()
            .position(|s| s.name == "accepted")
            .expect("catalog scenario") as u8;
        let mut latency = scenario_input(i, 1);
        latency[2] = 51; // 50 ms, inside the default explore range
        let (s, _) = decode_scenario(&latency);
        assert_eq!(s.network.latency_ms, 50.0);
        assert!(s.expect.status.is_some(), "{s:?}");
        let mut nagle = scenario_input(i, 1);
        nagle[9] = 1; // tcp.client_nodelay = true (the catalog has false)
        let (s, _) = decode_scenario(&nagle);
        assert_eq!(s.expect, Expect::default(), "{s:?}");
    }

    #[test]
    fn the_scenario_input_encoder_round_trips_base_and_seed() {
        for seed in [0, 1, 0xbeef, 0xdead_beef, u64::MAX] {
            let input = scenario_input(3, seed);
            let (s, decoded) = decode_scenario(&input);
            assert_eq!(s.name, catalog::all()[3].name);
            assert_eq!(decoded, seed);
            assert_eq!(input.len() <= SCENARIO_INPUT_LEN, seed < SEEDS_FUZZED);
        }
    }

    #[test]
    fn the_seed_is_the_big_endian_tail_of_at_most_eight_bytes() {
        let mut input = vec![0u8; SCENARIO_SEED_AT];
        assert_eq!(decode_scenario(&input).1, 0);
        input.extend([0x12, 0x34]);
        assert_eq!(decode_scenario(&input).1, 0x1234);
        input.extend([0x56; 7]);
        assert_eq!(decode_scenario(&input).1, 0x1234_5656_5656_5656);
    }

    #[test]
    fn every_decoded_knob_stays_in_its_documented_range() {
        for fill in [1u8, 0x7f, 0xff] {
            let (s, _) = decode_scenario(&[fill; SCENARIO_INPUT_LEN]);
            assert!((0.0..=200.0).contains(&s.network.latency_ms));
            assert!((0.0..=0.3).contains(&s.network.loss));
            assert!((576..=9000).contains(&s.network.mtu));
            assert!((1..=20).contains(&s.tcp.initial_cwnd));
            assert!((1..=3).contains(&s.server.count));
            assert!((1..=4).contains(&s.client.early_data_chunks.len()));
            assert!(s.client.early_data_chunks.iter().all(|&c| c <= CHUNK_MAX));
            assert!(s.validate("t").is_ok(), "{s:?}");
        }
    }

    #[test]
    fn a_replay_schedule_decodes_to_those_replays_on_those_servers() {
        let data = replay_schedule_input(1, 2, &[(10, 1), (2500, 7)], 9);
        let (s, seed) = decode_replay(&data);
        assert_eq!(s.name, "replay_cluster_nothing_shared");
        assert_eq!(s.server.count, 2);
        assert_eq!(
            s.attack.replays,
            vec![
                Replay {
                    at_ms: 10.0,
                    server: 1
                },
                Replay {
                    at_ms: 2000.0,
                    server: 1
                }
            ]
        );
        assert_eq!(seed, 9);
    }

    #[test]
    fn every_replay_base_is_a_catalog_scenario() {
        let names = catalog::names();
        for b in REPLAY_BASES {
            assert!(names.iter().any(|n| n == b), "{b}");
        }
    }

    #[test]
    fn the_public_key_memo_changes_no_byte_of_any_catalog_trace() {
        use crate::report;
        let memo = Some(Arc::new(PublicKeyMemo::new()));
        for s in catalog::all() {
            let hash = |w: &World| report::trace_hash(&report::trace_text(&report::trace(w)));
            let plain = hash(&World::run(&s, 7));
            let cold = hash(&World::run_memo(&s, 7, memo.clone()));
            let warm = hash(&World::run_memo(&s, 7, memo.clone()));
            assert_eq!((cold, warm), (plain, plain), "{}", s.name);
        }
        let stats = memo.map(|m| m.stats()).unwrap_or_default();
        assert!(stats.hits > 0 && stats.misses > 0, "{stats:?}");
    }

    #[test]
    fn describe_names_the_target_and_refuses_unknown_ones() {
        assert!(describe("scenario", &[0]).is_some());
        assert!(describe("replay", &[0]).is_some());
        assert!(describe("nope", &[0]).is_none());
    }

    #[test]
    #[should_panic(expected = "oracle scenario_expectations:")]
    fn a_violated_invariant_panics_with_its_name() {
        // The harness clears [expect]; a declared outcome the run cannot meet is the
        // simplest real violation to drive through `check`.
        let mut s = catalog::load("accepted").expect("catalog scenario");
        s.expect.status = Some("rejected".into());
        check(&s, 1);
    }
}
