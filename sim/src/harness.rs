//! Fuzz harnesses over whole simulated runs, so that `cargo fuzz run scenario`,
//! `cargo test` (sim/tests/corpus_replay.rs replays `corpus/<target>/`) and
//! `zerortt replay` run the very same function on the same bytes.
//!
//! Like `zerortt_core::harness`, each harness takes arbitrary bytes and **panics when it
//! finds a bug**: a panic inside the simulator or the library, or an invariant finding of
//! [`Severity::Violation`], reported as `oracle <invariant>: <detail>` followed by the seed
//! and the decoded scenario as TOML. Every input decodes to some scenario (zeros past the
//! end); one that fails [`Scenario::validate`] is skipped, not a bug.
//!
//! Inputs have a fixed layout (byte offsets below), so a mutation changes one knob. A knob
//! byte of 0 keeps the catalog scenario's own value, so `[i]` alone is catalog scenario `i`
//! as written. The layout is the `Arbitrary` implementation of the typed inputs
//! [`ScenarioKnobs`] and [`ReplayKnobs`], which the fuzz targets take; a derived
//! `Arbitrary` (a flag byte before every optional knob, so one flip moves every later
//! offset) was measured against it: see the README's fuzzing section.
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
use crate::subject::Stack;
use crate::world::World;
use std::sync::{Arc, OnceLock};
use zerortt_core::crypto::memo::PublicKeyMemo;
use zerortt_core::harness::arbitrary::{self, Arbitrary, Unstructured};

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
    if s.not_applicable().is_some() {
        return None;
    }
    Some((s, seed))
}

/// Runs a decoded scenario and panics with `oracle <invariant>:` on the first violation
/// (an invalid scenario is skipped).
pub fn check(s: &Scenario, seed: u64) {
    // A knob the chosen stack lacks makes the input as uninteresting as an invalid one.
    if s.validate("fuzz input").is_err() || s.not_applicable().is_some() {
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

/// The fixed-offset reader over arbitrary's [`Unstructured`]: past the end it yields
/// zeros, so every input (including the empty one) decodes and no read fails.
struct ByteSource<'u, 'a>(&'u mut Unstructured<'a>);

impl ByteSource<'_, '_> {
    fn u8(&mut self) -> u8 {
        u8::arbitrary(self.0).unwrap_or(0)
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// The seed: the rest of the input, big-endian, at most 8 bytes (none is seed 0).
    fn seed(&mut self) -> u64 {
        let n = self.0.len().min(8);
        let rest = self.0.bytes(n).unwrap_or_default();
        rest.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    }

    /// 0 keeps the catalog value; otherwise `v - 1` (reduced into its range when applied).
    fn choice8(&mut self) -> Option<u8> {
        self.u8().checked_sub(1)
    }

    /// Like [`Self::choice8`] over two bytes.
    fn choice16(&mut self) -> Option<u16> {
        self.u16().checked_sub(1)
    }

    /// 0 keeps, odd is true, even is false.
    fn flag(&mut self) -> Option<bool> {
        match self.u8() {
            0 => None,
            v => Some(v % 2 == 1),
        }
    }
}

/// `v % n` as an index.
fn pick<T: Into<u64>>(v: T, n: usize) -> usize {
    (v.into() % n.max(1) as u64) as usize
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
pub const LIMITS: [u32; 8] = [16384, 0, 1, 100, 1000, 4096, 16385, 65536];

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
/// | 0 | base catalog scenario, stack pair | [`pair_of`]: scenario modulo the catalog size, one of nine [`STACK_PAIRS`] (always read) |
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
    ScenarioKnobs::from_bytes(data).scenario()
}

/// The knobs of a `scenario` input (the typed input of the `scenario` fuzz target): `None`
/// keeps the catalog scenario's value, a `Some` is reduced into the range of
/// [`decode_scenario`]'s table when applied, so every value is a valid knob.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScenarioKnobs {
    /// The base catalog scenario, modulo the catalog's size.
    pub base: u8,
    /// network.latency_ms, modulo 201.
    pub latency_ms: Option<u16>,
    /// network.jitter_ms, modulo 21.
    pub jitter_ms: Option<u8>,
    /// network.loss in percent, modulo 31.
    pub loss_percent: Option<u8>,
    /// network.duplicate in percent, modulo 31.
    pub duplicate_percent: Option<u8>,
    /// network.mtu above 576, modulo 8425.
    pub mtu_above_576: Option<u16>,
    /// network.lose_first_flight.
    pub lose_first_flight: Option<bool>,
    /// tcp.client_nodelay.
    pub client_nodelay: Option<bool>,
    /// tcp.delayed_ack, an index into off, quickack, 40ms, 200ms, 1ms.
    pub delayed_ack: Option<u8>,
    /// tcp.initial_cwnd above 1, modulo 20.
    pub initial_cwnd_above_1: Option<u8>,
    /// server.count above 1, modulo 3.
    pub server_count_above_1: Option<u8>,
    /// server.sharing, an index in [`Sharing`] declaration order.
    pub sharing: Option<u8>,
    /// server.max_early_data, an index into [`LIMITS`].
    pub max_early_data: Option<u8>,
    /// server.recv_max_early_data, an index into [`LIMITS`].
    pub recv_max_early_data: Option<u8>,
    /// server.no_anti_replay.
    pub no_anti_replay: Option<bool>,
    /// server.hello_retry.
    pub hello_retry: Option<bool>,
    /// server.allow_early_data modulo 6: always, never, load:0-3.
    pub allow_early_data: Option<u8>,
    /// server.half_rtt_response.
    pub half_rtt_response: Option<bool>,
    /// client.early_data_chunks: the first four sizes, each modulo 20001 (none or an empty
    /// list keeps the catalog's).
    pub early_data_chunks: Option<Vec<u16>>,
    /// client.chunk_interval_ms, modulo 51.
    pub chunk_interval_ms: Option<u8>,
    /// client.session_max_early_data: `Some(None)` is no limit, `Some(Some(i))` an index
    /// into [`LIMITS`].
    pub session_max_early_data: Option<Option<u8>>,
    /// The simulation seed.
    pub seed: u64,
}

impl ScenarioKnobs {
    /// Reads the layout of [`decode_scenario`] (the corpus format).
    pub fn from_bytes(data: &[u8]) -> Self {
        Self::read(&mut ByteSource(&mut Unstructured::new(data)))
    }

    fn read(src: &mut ByteSource<'_, '_>) -> Self {
        let base = src.u8();
        let latency_ms = src.choice16();
        let jitter_ms = src.choice8();
        let loss_percent = src.choice8();
        let duplicate_percent = src.choice8();
        let mtu_above_576 = src.choice16();
        let lose_first_flight = src.flag();
        let client_nodelay = src.flag();
        let delayed_ack = src.choice8();
        let initial_cwnd_above_1 = src.choice8();
        let server_count_above_1 = src.choice8();
        let sharing = src.choice8();
        let max_early_data = src.choice8();
        let recv_max_early_data = src.choice8();
        let no_anti_replay = src.flag();
        let hello_retry = src.flag();
        let allow_early_data = src.choice8();
        let half_rtt_response = src.flag();
        let chunks = src.choice8();
        let sizes = [src.u16(), src.u16(), src.u16(), src.u16()];
        let early_data_chunks = chunks.map(|k| sizes[..=pick(k, 4)].to_vec());
        let chunk_interval_ms = src.choice8();
        let session_max_early_data = match src.u8() {
            0 => None,
            1 => Some(None),
            v => Some(Some(v - 2)),
        };
        Self {
            base,
            latency_ms,
            jitter_ms,
            loss_percent,
            duplicate_percent,
            mtu_above_576,
            lose_first_flight,
            client_nodelay,
            delayed_ack,
            initial_cwnd_above_1,
            server_count_above_1,
            sharing,
            max_early_data,
            recv_max_early_data,
            no_anti_replay,
            hello_retry,
            allow_early_data,
            half_rtt_response,
            early_data_chunks,
            chunk_interval_ms,
            session_max_early_data,
            seed: src.seed(),
        }
    }

    /// The scenario and seed these knobs make of their catalog scenario.
    pub fn scenario(&self) -> (Scenario, u64) {
        let catalog = base(self.base, None);
        let mut s = catalog.clone();
        let n = &mut s.network;
        if let Some(v) = self.latency_ms {
            n.latency_ms = pick(v, 201) as f64;
        }
        if let Some(v) = self.jitter_ms {
            n.jitter_ms = pick(v, 21) as f64;
        }
        if let Some(v) = self.loss_percent {
            n.loss = pick(v, 31) as f64 / 100.0;
        }
        if let Some(v) = self.duplicate_percent {
            n.duplicate = pick(v, 31) as f64 / 100.0;
        }
        if let Some(v) = self.mtu_above_576 {
            n.mtu = 576 + pick(v, 9000 - 576 + 1);
        }
        if let Some(v) = self.lose_first_flight {
            n.lose_first_flight = v;
        }
        if let Some(v) = self.client_nodelay {
            s.tcp.client_nodelay = v;
        }
        if let Some(v) = self.delayed_ack {
            s.tcp.delayed_ack = DELAYED_ACK[pick(v, DELAYED_ACK.len())].into();
        }
        if let Some(v) = self.initial_cwnd_above_1 {
            s.tcp.initial_cwnd = 1 + pick(v, 20) as u32;
        }
        let sv = &mut s.server;
        if let Some(v) = self.server_count_above_1 {
            sv.count = 1 + pick(v, 3);
        }
        if let Some(v) = self.sharing {
            sv.sharing = SHARING[pick(v, SHARING.len())];
        }
        if let Some(v) = self.max_early_data {
            sv.max_early_data = LIMITS[pick(v, LIMITS.len())];
        }
        if let Some(v) = self.recv_max_early_data {
            sv.recv_max_early_data = LIMITS[pick(v, LIMITS.len())];
        }
        if let Some(v) = self.no_anti_replay {
            sv.no_anti_replay = v;
        }
        if let Some(v) = self.hello_retry {
            sv.hello_retry = v;
        }
        if let Some(v) = self.allow_early_data {
            sv.allow_early_data = match pick(v, 6) {
                0 => "always".into(),
                1 => "never".into(),
                n => format!("load:{}", n - 2),
            };
        }
        if let Some(v) = self.half_rtt_response {
            sv.half_rtt_response = v;
        }
        if let Some(sizes) = self.early_data_chunks.as_ref().filter(|c| !c.is_empty()) {
            s.client.early_data_chunks = sizes
                .iter()
                .take(4)
                .map(|&b| pick(b, CHUNK_MAX + 1))
                .collect();
        }
        if let Some(v) = self.chunk_interval_ms {
            s.client.chunk_interval_ms = pick(v, 51) as f64;
        }
        match self.session_max_early_data {
            None => {}
            Some(None) => s.client.session_max_early_data = None,
            Some(Some(i)) => s.client.session_max_early_data = Some(LIMITS[pick(i, LIMITS.len())]),
        }
        let count = s.server.count;
        for r in &mut s.attack.replays {
            r.server = r.server.min(count - 1);
        }
        (with_expectations(s, &catalog), self.seed)
    }
}

impl<'a> Arbitrary<'a> for ScenarioKnobs {
    /// The layout of [`decode_scenario`]: the corpus files decode as they always did.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self::read(&mut ByteSource(u)))
    }
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
/// | 0 | base scenario, stack pair | [`pair_of`]: scenario modulo 7 of [`REPLAY_BASES`], one of nine [`STACK_PAIRS`] (always read) |
/// | 1 | server.count | 1-3 |
/// | 2 | server.sharing | as in [`decode_scenario`] |
/// | 3 | server.no_anti_replay | odd: true |
/// | 4 | server.external_cache_latency_ms | 0-200 ms |
/// | 5-6 | network.latency_ms | 0-200 ms |
/// | 7 | replay count | 1-6, each from 8 + 3i |
/// | 8 + 3i | replay i: at_ms (u16), server (u8) | 0-2000 ms, `server % count` |
/// | 26- | seed: the rest of the input, big-endian, at most 8 bytes | (always read) |
pub fn decode_replay(data: &[u8]) -> (Scenario, u64) {
    ReplayKnobs::from_bytes(data).scenario()
}

/// The knobs of a `replay` input (the typed input of the `replay` fuzz target), as
/// [`ScenarioKnobs`]: `None` keeps the base scenario's value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayKnobs {
    /// The base scenario, an index into [`REPLAY_BASES`].
    pub base: u8,
    /// server.count above 1, modulo 3.
    pub server_count_above_1: Option<u8>,
    /// server.sharing, as in [`ScenarioKnobs::sharing`].
    pub sharing: Option<u8>,
    /// server.no_anti_replay.
    pub no_anti_replay: Option<bool>,
    /// server.external_cache_latency_ms, modulo 201.
    pub external_cache_latency_ms: Option<u8>,
    /// network.latency_ms, modulo 201.
    pub latency_ms: Option<u16>,
    /// The attacker's replays: (at_ms modulo 2001, server modulo the count), the first
    /// [`REPLAYS_MAX`] (none or an empty list keeps the base's own, on existing servers).
    pub replays: Option<Vec<(u16, u8)>>,
    /// The simulation seed.
    pub seed: u64,
}

impl ReplayKnobs {
    /// Reads the layout of [`decode_replay`] (the corpus format).
    pub fn from_bytes(data: &[u8]) -> Self {
        Self::read(&mut ByteSource(&mut Unstructured::new(data)))
    }

    fn read(src: &mut ByteSource<'_, '_>) -> Self {
        let base = src.u8();
        let server_count_above_1 = src.choice8();
        let sharing = src.choice8();
        let no_anti_replay = src.flag();
        let external_cache_latency_ms = src.choice8();
        let latency_ms = src.choice16();
        let n = src.choice8();
        let slots: Vec<(u16, u8)> = (0..REPLAYS_MAX).map(|_| (src.u16(), src.u8())).collect();
        let replays = n.map(|k| slots[..=pick(k, REPLAYS_MAX)].to_vec());
        Self {
            base,
            server_count_above_1,
            sharing,
            no_anti_replay,
            external_cache_latency_ms,
            latency_ms,
            replays,
            seed: src.seed(),
        }
    }

    /// The scenario and seed these knobs make of their base scenario.
    pub fn scenario(&self) -> (Scenario, u64) {
        let catalog = base(self.base, Some(&REPLAY_BASES));
        let mut s = catalog.clone();
        if let Some(v) = self.server_count_above_1 {
            s.server.count = 1 + pick(v, 3);
        }
        if let Some(v) = self.sharing {
            s.server.sharing = SHARING[pick(v, SHARING.len())];
        }
        if let Some(v) = self.no_anti_replay {
            s.server.no_anti_replay = v;
        }
        if let Some(v) = self.external_cache_latency_ms {
            s.server.external_cache_latency_ms = pick(v, 201) as f64;
        }
        if let Some(v) = self.latency_ms {
            s.network.latency_ms = pick(v, 201) as f64;
        }
        let count = s.server.count;
        match self.replays.as_ref().filter(|r| !r.is_empty()) {
            Some(replays) => {
                s.attack.replays = replays
                    .iter()
                    .take(REPLAYS_MAX)
                    .map(|&(at, server)| Replay {
                        at_ms: f64::from(at % 2001),
                        server: pick(server, count),
                    })
                    .collect();
            }
            None => {
                for r in &mut s.attack.replays {
                    r.server = r.server.min(count - 1);
                }
            }
        }
        (with_expectations(s, &catalog), self.seed)
    }
}

impl<'a> Arbitrary<'a> for ReplayKnobs {
    /// The layout of [`decode_replay`]: the corpus files decode as they always did.
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(Self::read(&mut ByteSource(u)))
    }
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

/// Every client/server stack pair a fuzz input can pick, in the order of [`pair_of`]: the
/// four zerortt/rustls pairs first (their indices are what the base byte's top two bits
/// chose before OpenSSL was a subject), then the five with an OpenSSL side.
pub const STACK_PAIRS: [(Stack, Stack); 9] = [
    (Stack::Zerortt, Stack::Zerortt),
    (Stack::Zerortt, Stack::Rustls),
    (Stack::Rustls, Stack::Zerortt),
    (Stack::Rustls, Stack::Rustls),
    (Stack::Zerortt, Stack::Openssl),
    (Stack::Openssl, Stack::Zerortt),
    (Stack::Rustls, Stack::Openssl),
    (Stack::Openssl, Stack::Rustls),
    (Stack::Openssl, Stack::Openssl),
];

/// Pairs without an OpenSSL side (the first entries of [`STACK_PAIRS`]).
const PAIRS_BEFORE_OPENSSL: usize = 4;

/// Pairs with an OpenSSL side.
const OPENSSL_PAIRS: usize = STACK_PAIRS.len() - PAIRS_BEFORE_OPENSSL;

/// The base byte `b` as (scenario index, [`STACK_PAIRS`] index). Nine pairs do not fit
/// in the two top bits, so the byte is split in two halves by bit 5, keeping every input
/// written before (all of which have `b % 64 < 32`) meaning what it meant:
///
/// - `b % 64 < 32`: scenario `b % 64`, pair `b / 64` (one of the first four);
/// - `b % 64 >= 32`: with `k = 32 * (b / 64) + b % 32` (0-127), scenario `k / 5`, pair
///   `4 + k % 5` (one with an OpenSSL side), so scenarios 0-24 reach all five.
pub fn pair_of(b: u8) -> (u8, usize) {
    let low = b % 64;
    if low < 32 {
        return (low, usize::from(b / 64));
    }
    let k = 32 * (b / 64) + b % 32;
    (
        k / OPENSSL_PAIRS as u8,
        PAIRS_BEFORE_OPENSSL + usize::from(k) % OPENSSL_PAIRS,
    )
}

/// The base byte for scenario `scenario` on [`STACK_PAIRS`]`[pair]`: the inverse of
/// [`pair_of`], `None` where the encoding has no byte for it.
pub fn base_byte(scenario: usize, pair: usize) -> Option<u8> {
    if pair < PAIRS_BEFORE_OPENSSL {
        return (scenario < 32).then(|| (64 * pair + scenario) as u8);
    }
    let k = OPENSSL_PAIRS * scenario + (pair - PAIRS_BEFORE_OPENSSL);
    (pair < STACK_PAIRS.len() && k < 128).then(|| (64 * (k / 32) + 32 + k % 32) as u8)
}

/// Catalog scenario and stack pair of the base byte `b` (see [`pair_of`]); the scenario
/// from `names` if given, modulo their number.
fn base(b: u8, names: Option<&[&str]>) -> Scenario {
    let (scenario, pair) = pair_of(b);
    let (client, server) = STACK_PAIRS[pair];
    let mut s = catalog_scenario(scenario, names);
    s.client.stack = client;
    s.server.stack = server;
    s
}

/// Catalog scenario `b` (from `names` if given), modulo their number.
fn catalog_scenario(b: u8, names: Option<&[&str]>) -> Scenario {
    // Parsed once per process: parsing 21 TOML files on every input would cost the fuzzer
    // a good share of its runs.
    static CATALOG: std::sync::OnceLock<Vec<Scenario>> = std::sync::OnceLock::new();
    let all = CATALOG.get_or_init(catalog::all);
    let b = usize::from(b);
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
    fn a_one_byte_input_is_the_catalog_scenario_with_its_expectations_on_the_first_pair() {
        let all = catalog::all();
        for (i, c) in all.iter().enumerate() {
            let (s, seed) = decode_scenario(&[i as u8]);
            // The base byte picks the stacks: zerortt-core at both ends for byte i < 32,
            // whatever the catalog file names (the OpenSSL-only rows name openssl).
            let mut want = c.clone();
            (want.client.stack, want.server.stack) = STACK_PAIRS[0];
            assert_eq!(s, want);
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
    fn the_arbitrary_knobs_read_every_corpus_file_as_the_byte_decoders_do() {
        use zerortt_core::harness::corpus::{corpus_dir, files_in};
        for target in SimTarget::ALL {
            let dir = corpus_dir(target.name());
            let mut files = files_in(&dir);
            files.extend(files_in(&dir.join("regressions")));
            assert!(!files.is_empty(), "{}", dir.display());
            for path in files {
                let data = std::fs::read(&path).expect("read a corpus file");
                let want = target.decode(&data);
                let got = match target {
                    SimTarget::Scenario => {
                        ScenarioKnobs::arbitrary_take_rest(Unstructured::new(&data))
                            .map(|k| k.scenario())
                    }
                    SimTarget::Replay => ReplayKnobs::arbitrary_take_rest(Unstructured::new(&data))
                        .map(|k| k.scenario()),
                };
                assert_eq!(got.as_ref(), Ok(&want), "{}", path.display());
            }
        }
    }

    #[test]
    fn any_arbitrary_knobs_hold_every_invariant() {
        // The fuzz targets' property, drawn by bolero from the same `Arbitrary` types
        // (bounded: bolero draws nothing for a type of unbounded size without a max_len).
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let count = || {
            runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        };
        bolero::check!()
            .with_arbitrary::<ScenarioKnobs>()
            .with_max_len(SCENARIO_INPUT_LEN)
            .with_iterations(20)
            .for_each(|k| {
                count();
                let (s, seed) = k.scenario();
                check(&s, seed);
            });
        bolero::check!()
            .with_arbitrary::<ReplayKnobs>()
            .with_max_len(REPLAY_INPUT_LEN)
            .with_iterations(20)
            .for_each(|k| {
                count();
                let (s, seed) = k.scenario();
                check(&s, seed);
            });
        assert_eq!(runs.into_inner(), 40);
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
