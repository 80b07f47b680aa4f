//! What replay protection costs a server: time per session cache operation and per strike
//! register check, and memory per stored entry.
//!
//! - `session_cache/insert_take`: a ticket is issued (insert) and then used (take, the
//!   single-use lookup of SSL_read_early_data(3) REPLAY PROTECTION) in a cache holding
//!   10,000 sessions.
//! - `session_cache/insert_full`: an insert into a cache at OpenSSL's default size (20,480
//!   sessions), which evicts the oldest: the steady state of a busy server. At present every
//!   such insert also walks the whole cache for expired entries (`flush_expired`), so this
//!   figure grows linearly with the capacity: see the ignored test
//!   `inserting_into_a_full_session_cache_costs_about_the_same_at_openssls_default_size_as_at_a_small_size`
//!   in `tests/anti_replay.rs`.
//! - `strike_register/check_and_record_fresh`: a new ClientHello binder at 1,000 accepted
//!   0-RTT handshakes per second with a 20 s window (twice OpenSSL's 10 s ticket age
//!   allowance), so the register holds about 20,000 entries and prunes one per call.
//! - `strike_register/check_and_record_replay`: the same register asked about a binder it
//!   holds.
//!
//! Memory per entry. The workspace forbids `unsafe` (benches included), so there is no
//! counting global allocator here. Two figures instead:
//! - `rss`: the growth of the process's resident set (Linux `/proc/self/status` VmRSS)
//!   while N entries are stored, divided by N: includes B-tree slack and malloc overhead.
//! - `floor`: capacity math from `size_of` and the heap payloads, with no B-tree node slack
//!   and no allocator overhead: a lower bound.
//!
//! After criterion's benchmarks, the figures are printed again one per line in a stable form
//! the README can quote: `metric <name> <value> <unit>`.
//!
//! Run: `cargo bench -p zerortt-core --bench tickets`.

use criterion::Criterion;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::Duration;
use zerortt_core::msgs::enums::CipherSuite;
use zerortt_core::tickets::cache::{SessionCache, SSL_SESSION_CACHE_MAX_SIZE_DEFAULT};
use zerortt_core::tickets::freshness::OPENSSL_TICKET_AGE_ALLOWANCE;
use zerortt_core::tickets::session::ServerSessionValue;
use zerortt_core::tickets::strike::{StrikeRegister, StrikeVerdict};
use zerortt_core::time::Timestamp;

/// Sessions in the cache for `insert_take`.
const CACHE_PREFILL: usize = 10_000;
/// Accepted 0-RTT handshakes per second in the strike register benchmark.
const ZERO_RTT_PER_S: u64 = 1_000;
/// Entries stored to measure memory.
const MEMORY_ENTRIES: usize = 100_000;

/// A session as the server stores it after a handshake with ALPN "h2" and SNI "localhost"
/// on TLS13_AES_128_GCM_SHA256 (32-byte resumption PSK).
fn session_value() -> ServerSessionValue {
    ServerSessionValue {
        suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
        psk: vec![0x5a; 32],
        max_early_data: 16384,
        alpn: Some(b"h2".to_vec()),
        server_name: Some("localhost".to_owned()),
        age_add: 0x1234_5678,
        issued_at: Timestamp::SIM_EPOCH,
        lifetime_s: 7200,
    }
}

/// `n` random 32-byte ticket ids, as the server draws them (RFC 9846 4.7.1 leaves the
/// format to the server; ours are 32 random bytes).
fn random_ids(n: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let mut id = vec![0u8; 32];
            rng.fill_bytes(&mut id);
            id
        })
        .collect()
}

/// A 32-byte binder that differs for every `i` (a verified binder is an HMAC output).
fn binder(i: u64) -> [u8; 32] {
    let mut b = [0xb1u8; 32];
    b[..8].copy_from_slice(&i.to_be_bytes());
    b
}

// ----- the operations measured -------------------------------------------------------------

/// A cache of `CACHE_PREFILL` sessions and ids to insert and take.
struct InsertTake {
    cache: SessionCache<ServerSessionValue>,
    value: ServerSessionValue,
    ids: Vec<Vec<u8>>,
    next: usize,
}

impl InsertTake {
    fn new() -> Self {
        let mut cache = SessionCache::new();
        let value = session_value();
        for id in random_ids(CACHE_PREFILL, 1) {
            cache.insert(id, value.clone(), Timestamp::SIM_EPOCH);
        }
        Self {
            cache,
            value,
            ids: random_ids(4096, 2),
            next: 0,
        }
    }

    /// Issue a ticket, then resume with it.
    fn run(&mut self) {
        let id = &self.ids[self.next % self.ids.len()];
        self.next += 1;
        let now = Timestamp::SIM_EPOCH;
        let evicted = self.cache.insert(id.clone(), self.value.clone(), now);
        assert!(evicted.is_empty());
        let taken = self.cache.take(black_box(id), now);
        assert!(taken.is_some());
    }
}

/// A full cache at OpenSSL's default size; every insert evicts the oldest entry.
struct InsertFull {
    cache: SessionCache<ServerSessionValue>,
    value: ServerSessionValue,
    /// Twice the capacity: an id is evicted long before it comes round again.
    ids: Vec<Vec<u8>>,
    next: usize,
}

impl InsertFull {
    fn new() -> Self {
        let capacity = SSL_SESSION_CACHE_MAX_SIZE_DEFAULT;
        let mut this = Self {
            cache: SessionCache::new(),
            value: session_value(),
            ids: random_ids(2 * capacity, 3),
            next: 0,
        };
        for _ in 0..capacity {
            this.insert();
        }
        assert_eq!(this.cache.len(), capacity);
        this
    }

    fn insert(&mut self) -> usize {
        let id = self.ids[self.next % self.ids.len()].clone();
        self.next += 1;
        let evicted = self
            .cache
            .insert(id, self.value.clone(), Timestamp::SIM_EPOCH);
        evicted.len()
    }

    fn run(&mut self) {
        assert_eq!(self.insert(), 1);
    }
}

/// A strike register in its steady state: one new binder per millisecond, each held 20 s.
struct Strike {
    register: StrikeRegister,
    next: u64,
}

impl Strike {
    fn new() -> Self {
        let mut this = Self {
            register: StrikeRegister::for_freshness_tolerance(
                OPENSSL_TICKET_AGE_ALLOWANCE,
                SSL_SESSION_CACHE_MAX_SIZE_DEFAULT,
            ),
            next: 0,
        };
        // Fill one whole window, then one more second so that pruning is under way.
        let warm = (this.register.window().as_secs() + 1) * ZERO_RTT_PER_S;
        for _ in 0..warm {
            this.fresh();
        }
        this
    }

    fn now(&self) -> Timestamp {
        Timestamp::SIM_EPOCH.saturating_add(Duration::from_micros(
            self.next * 1_000_000 / ZERO_RTT_PER_S,
        ))
    }

    /// A new ClientHello.
    fn fresh(&mut self) {
        let now = self.now();
        let verdict = self.register.check_and_record(&binder(self.next), now);
        assert_eq!(verdict, StrikeVerdict::Fresh);
        self.next += 1;
    }

    /// A replay of the newest ClientHello, one millisecond later.
    fn replay(&mut self) {
        let newest = self.next - 1;
        let now = self.now();
        let verdict = self
            .register
            .check_and_record(black_box(&binder(newest)), now);
        assert_eq!(verdict, StrikeVerdict::Replay);
    }
}

// ----- memory ----------------------------------------------------------------------------

/// The process's resident set in bytes, if the OS says (Linux).
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line
        .trim_start_matches("VmRSS:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Bytes per entry, measured and estimated.
struct Memory {
    cache_rss: Option<f64>,
    cache_floor: usize,
    strike_rss: Option<f64>,
    strike_floor: usize,
}

/// Stores `MEMORY_ENTRIES` sessions and as many binders on fresh heap (both structures
/// stay alive until both are measured, so neither reuses memory the other freed), and
/// divides the growth of the resident set by the count.
fn memory() -> Memory {
    let n = MEMORY_ENTRIES;
    let value = session_value();
    let mut ids = random_ids(1, 4).pop().unwrap_or_default();

    let before = rss_bytes();
    let mut cache = SessionCache::with_limits(n, Duration::from_secs(7200));
    for i in 0..n {
        // A new heap id per entry, as the server allocates one per ticket.
        ids[..8].copy_from_slice(&(i as u64).to_be_bytes());
        cache.insert(ids.clone(), value.clone(), Timestamp::SIM_EPOCH);
    }
    let after = rss_bytes();
    assert_eq!(cache.len(), n);
    let cache_rss = before
        .zip(after)
        .map(|(b, a)| a.saturating_sub(b) as f64 / n as f64);

    let before = rss_bytes();
    // A window long enough that nothing is pruned while filling.
    let mut register = StrikeRegister::new(Duration::from_secs(3600), n);
    for i in 0..n as u64 {
        let verdict = register.check_and_record(&binder(i), Timestamp::SIM_EPOCH);
        assert_eq!(verdict, StrikeVerdict::Fresh);
    }
    let after = rss_bytes();
    assert_eq!(register.len(), n);
    let strike_rss = before
        .zip(after)
        .map(|(b, a)| a.saturating_sub(b) as f64 / n as f64);
    black_box((&cache, &register));

    // Capacity math. The cache keeps `id -> (value, seq, expires_at)` and `seq -> id`,
    // each in a B-tree slot, and the id twice on the heap; the value owns its PSK, ALPN
    // and SNI on the heap.
    let vec = std::mem::size_of::<Vec<u8>>();
    let slots = (vec + std::mem::size_of::<ServerSessionValue>() + 8 + 8) + (8 + vec);
    let heap = 2 * ids.len()
        + value.psk.len()
        + value.alpn.as_ref().map_or(0, Vec::len)
        + value.server_name.as_ref().map_or(0, String::len);
    // The register keeps `sha256(binder) -> held_until` and `(held_until, seq) -> key`.
    let strike_floor = (32 + 8) + (8 + 8 + 32);
    Memory {
        cache_rss,
        cache_floor: slots + heap,
        strike_rss,
        strike_floor,
    }
}

// ----- criterion and the plain timing section ----------------------------------------------

fn criterion_config() -> Criterion {
    // Four benchmarks of about 4 s each; with set-up, memory and the timing section the
    // run stays well under a minute.
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

fn benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("session_cache");
    let mut insert_take = InsertTake::new();
    group.bench_function("insert_take", |b| b.iter(|| insert_take.run()));
    let mut insert_full = InsertFull::new();
    group.bench_function("insert_full", |b| b.iter(|| insert_full.run()));
    group.finish();

    let mut group = c.benchmark_group("strike_register");
    let mut strike = Strike::new();
    group.bench_function("check_and_record_fresh", |b| b.iter(|| strike.fresh()));
    group.bench_function("check_and_record_replay", |b| b.iter(|| strike.replay()));
    group.finish();
}

/// Mean time of `f` over a time budget: batches double until one takes at least `budget`
/// (or `max_iterations` calls), so a slow operation cannot stretch the run.
// A benchmark measures wall-clock time; the determinism rule (no clock in core and sim)
// does not apply to this bench binary, which only times calls into the library.
#[allow(clippy::disallowed_methods)]
fn ns_per_op(budget: Duration, max_iterations: u64, mut f: impl FnMut()) -> f64 {
    let mut batch = 1u64;
    loop {
        let start = std::time::Instant::now();
        for _ in 0..batch {
            f();
        }
        let elapsed = start.elapsed();
        if elapsed >= budget || batch >= max_iterations {
            return elapsed.as_nanos() as f64 / batch as f64;
        }
        batch *= 2;
    }
}

fn metric(name: &str, value: f64, unit: &str) {
    println!("metric {name} {value:.0} {unit}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // Memory first, on a heap nothing else has used yet.
    let memory = memory();

    let mut criterion = criterion_config();
    benches(&mut criterion);
    criterion.final_summary();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes --bench; `cargo test --benches` only wants a smoke run.
    let (budget, max_iterations) = if args.iter().any(|a| a == "--bench") {
        (Duration::from_secs(1), 1 << 22)
    } else {
        (Duration::ZERO, 64)
    };
    println!("\nreplay protection costs (`metric <name> <value> <unit>`):");
    let mut insert_take = InsertTake::new();
    metric(
        "session_cache.insert_take",
        ns_per_op(budget, max_iterations, || insert_take.run()),
        "ns/op",
    );
    let mut insert_full = InsertFull::new();
    metric(
        "session_cache.insert_full_evicting",
        ns_per_op(budget, max_iterations, || insert_full.run()),
        "ns/op",
    );
    let mut strike = Strike::new();
    metric(
        "strike_register.check_and_record_fresh",
        ns_per_op(budget, max_iterations, || strike.fresh()),
        "ns/op",
    );
    metric(
        "strike_register.check_and_record_replay",
        ns_per_op(budget, max_iterations, || strike.replay()),
        "ns/op",
    );
    match memory.cache_rss {
        Some(b) => metric("session_cache.bytes_per_entry_rss", b, "bytes"),
        None => println!("metric session_cache.bytes_per_entry_rss n/a bytes"),
    }
    metric(
        "session_cache.bytes_per_entry_floor",
        memory.cache_floor as f64,
        "bytes",
    );
    match memory.strike_rss {
        Some(b) => metric("strike_register.bytes_per_entry_rss", b, "bytes"),
        None => println!("metric strike_register.bytes_per_entry_rss n/a bytes"),
    }
    metric(
        "strike_register.bytes_per_entry_floor",
        memory.strike_floor as f64,
        "bytes",
    );
    if let Some(b) = memory.cache_rss {
        let default = SSL_SESSION_CACHE_MAX_SIZE_DEFAULT as f64;
        metric(
            "session_cache.kib_at_openssl_default_size",
            b * default / 1024.0,
            "KiB",
        );
    }
}
