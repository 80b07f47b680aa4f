//! What the simulator costs in wall time.
//!
//! Three numbers, each printed as one stable line after criterion's output:
//! 1. `sim events`: simulated events (`Fabric::steps`, one per delivered segment, timer,
//!    scheduled action or wake-up) and trace lines per second of `World::run` on the
//!    `accepted` scenario.
//! 2. `sim vs in-memory`: one `World::run(accepted)` against the same TLS work done on two
//!    in-memory connection pairs with no network at all, as a ratio (target: at most 1.3).
//!    Both sides build the server and client configs `World::run` builds (Ed25519 test
//!    identity, test CA, AES-128-GCM and ChaCha20-Poly1305 on the client), then
//!    - warm-up: a full handshake, a 100-byte request, a 1000-byte response, the client's
//!      two NewSessionTickets and close_notify;
//!    - 0-RTT: resumption on the newest ticket, 500 bytes of early data written by the
//!      client and read by the server with read_early_data until Finish, the handshake
//!      completed, the same request and response, close_notify.
//!
//!    `World::run` adds everything the network costs: the TCP model (three-way handshake,
//!    Nagle, delayed ACK, FIN), the links, the event queue, the network trace, the apps'
//!    event logs, plus what it builds and does not use in `accepted` (a shared ticket key
//!    and a strike register). Neither side renders the trace or checks invariants.
//! 3. `explore`: seeds per second over the whole catalog on every core, calling
//!    `explore::explore_one` (knob draws, run, trace rendering and hash, invariants;
//!    without the determinism re-run) for each scenario × seed.
//!
//! Run: `cargo bench -p zerortt-sim --bench sim` (about a minute on 2 cores).

use criterion::Criterion;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use zerortt_core::EarlyDataStatus;
use zerortt_sim::catalog;
use zerortt_sim::explore::{explore_one, run_one, Verdict};
use zerortt_sim::scenario::Scenario;
use zerortt_sim::world::{Role, World};

/// The scenario of measurements 1 and 2.
const SCENARIO: &str = "accepted";
/// Seeds per catalog scenario in the explore measurement (400 runs, about 2 s on 2 cores).
const EXPLORE_SEEDS: u64 = 20;

/// The TLS work of `World::run(accepted)` on in-memory pairs (after core's
/// `tests/common/pair.rs`): bytes move between the two connections by function calls.
mod in_memory {
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;
    use std::sync::Arc;
    use std::time::Duration;
    use zerortt_core::conn::config::{ClientConfig, ServerConfig};
    use zerortt_core::crypto::suites;
    use zerortt_core::identity::test_identity;
    use zerortt_core::tickets::session::ClientSession;
    use zerortt_core::time::Timestamp;
    use zerortt_core::verify::ServerTrust;
    use zerortt_core::{ConnError, Connection, EarlyDataStatus, ReadEarlyData};

    /// The `accepted` scenario's numbers (scenario.rs defaults, apps.rs constants).
    const EARLY_DATA_BYTES: usize = 500;
    const REQUEST_BYTES: usize = 100;
    const RESPONSE_BYTES: usize = 1000;
    const MAX_EARLY_DATA: u32 = 16384;
    const RESUME_AFTER: Duration = Duration::from_secs(1);

    /// What one run did, for the bench to check.
    pub struct Outcome {
        /// Early data bytes the server read on the resumed connection.
        pub early_read: usize,
        /// Both sides' early data status on the resumed connection.
        pub status: (EarlyDataStatus, EarlyDataStatus),
    }

    /// The configs `World::run` builds for `accepted` (world/mod.rs `client_config`,
    /// `build_cluster` with one server and nothing shared).
    fn configs() -> (Arc<ClientConfig>, Arc<ServerConfig>) {
        let mut client = ClientConfig::new(ServerTrust::test_ca());
        client.cipher_suites = vec![
            &suites::TLS13_AES_128_GCM_SHA256,
            &suites::TLS13_CHACHA20_POLY1305_SHA256,
        ];
        let mut server = ServerConfig::new(test_identity::ed25519());
        server.set_max_early_data(MAX_EARLY_DATA);
        server.set_recv_max_early_data(MAX_EARLY_DATA);
        server.ticket_age_tolerance = Duration::from_secs(10);
        (Arc::new(client), Arc::new(server))
    }

    fn rng(seed: u64) -> Box<ChaCha20Rng> {
        Box::new(ChaCha20Rng::seed_from_u64(seed))
    }

    /// Moves everything `from` has to send into `to`.
    fn transfer(from: &mut Connection, to: &mut Connection, wire: &mut Vec<u8>) {
        from.write_tls(wire);
        let n = to.read_tls(wire);
        wire.drain(..n);
        assert!(wire.is_empty(), "read_tls refused {} bytes", wire.len());
    }

    /// The apps take every event (apps.rs `Pump::output`); so do we, and drop them.
    fn drain_events(client: &mut Connection, server: &mut Connection) {
        std::hint::black_box(client.take_events());
        std::hint::black_box(server.take_events());
    }

    /// After both handshakes are done: request, response, tickets, close_notify.
    /// Returns the tickets the client received.
    fn exchange(
        client: &mut Connection,
        server: &mut Connection,
        now: Timestamp,
        wire: &mut Vec<u8>,
    ) -> Vec<ClientSession> {
        let mut buf = vec![0u8; 16 * 1024];
        let sent = client.write(&[b'q'; REQUEST_BYTES], now).expect("request");
        assert_eq!(sent, REQUEST_BYTES);
        transfer(client, server, wire);
        let got = server
            .read(&mut buf, now)
            .expect("server reads the request");
        assert_eq!(got, REQUEST_BYTES);
        server
            .write(&[b'r'; RESPONSE_BYTES], now)
            .expect("response");
        transfer(server, client, wire);
        let mut response = 0;
        while response < RESPONSE_BYTES {
            match client.read(&mut buf, now) {
                Ok(n) => response += n,
                Err(e) => panic!("client reads the response: {e}"),
            }
        }
        let tickets = client.take_new_sessions();
        client.send_close_notify();
        transfer(client, server, wire);
        match server.read(&mut buf, now) {
            Err(ConnError::Closed) => {}
            other => panic!("server sees close_notify: {other:?}"),
        }
        drain_events(client, server);
        tickets
    }

    /// One run: configs, warm-up full handshake, resumed 0-RTT connection.
    pub fn run(seed: u64) -> Outcome {
        let (client_config, server_config) = configs();
        let mut wire = Vec::new();
        let now = Timestamp::SIM_EPOCH;

        // Warm-up: full handshake.
        let mut client = Connection::client(client_config.clone(), "localhost", None, rng(seed));
        let mut server = Connection::server(server_config.clone(), rng(seed ^ 0x5eed));
        for _ in 0..8 {
            let _ = client.do_handshake(now);
            transfer(&mut client, &mut server, &mut wire);
            let _ = server.do_handshake(now);
            transfer(&mut server, &mut client, &mut wire);
            if client.is_init_finished() && server.is_init_finished() {
                break;
            }
        }
        assert!(client.is_init_finished() && server.is_init_finished());
        let mut tickets = exchange(&mut client, &mut server, now, &mut wire);
        let ticket = tickets.pop().expect("the full handshake issues tickets");

        // The resumed connection with early data, one second later.
        let now = now.saturating_add(RESUME_AFTER);
        let mut client = Connection::client(client_config, "localhost", Some(ticket), rng(!seed));
        let mut server = Connection::server(server_config, rng(!seed ^ 0x5eed));
        let early: Vec<u8> = (0..EARLY_DATA_BYTES).map(|i| i as u8).collect();
        let written = client.write_early_data(&early, now).expect("early data");
        assert_eq!(written, EARLY_DATA_BYTES);
        transfer(&mut client, &mut server, &mut wire);
        let mut buf = vec![0u8; 16 * 1024];
        let mut early_read = 0;
        for _ in 0..16 {
            match server.read_early_data(&mut buf, now) {
                Ok(ReadEarlyData::Success(n)) => early_read += n,
                Ok(ReadEarlyData::Finish) => break,
                Err(ConnError::WantRead) => {
                    transfer(&mut server, &mut client, &mut wire);
                    client.do_handshake(now).expect("client completes");
                    transfer(&mut client, &mut server, &mut wire);
                }
                Err(e) => panic!("read_early_data: {e}"),
            }
        }
        server.do_handshake(now).expect("server completes");
        let status = (client.early_data_status(), server.early_data_status());
        exchange(&mut client, &mut server, now, &mut wire);
        Outcome { early_read, status }
    }
}

fn accepted() -> Scenario {
    catalog::load(SCENARIO).expect("the accepted scenario is in the catalog")
}

/// One `World::run`, checked to be the run the comparison assumes: 500 bytes of early
/// data accepted and read, the response received.
fn world_run(scenario: &Scenario, seed: u64) -> World {
    let world = World::run(scenario, seed);
    let zero = world
        .connections
        .iter()
        .find(|c| c.borrow().role == Role::ZeroRtt)
        .expect("a 0-RTT connection");
    {
        let zero = zero.borrow();
        assert_eq!(zero.client_status, Some(EarlyDataStatus::Accepted));
        assert_eq!(zero.early_read.len(), 500);
        assert!(zero.finished() && zero.client_error.is_none());
    }
    world
}

/// One in-memory run, checked to have accepted all of its early data.
fn in_memory_run(seed: u64) {
    let outcome = in_memory::run(seed);
    assert_eq!(outcome.early_read, 500);
    assert_eq!(
        outcome.status,
        (EarlyDataStatus::Accepted, EarlyDataStatus::Accepted)
    );
}

fn criterion_config() -> Criterion {
    // About 4 s per benchmark, 3 benchmarks; with the timing section below the whole
    // `cargo bench` run stays near a minute on a 2-core machine.
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

fn benches(c: &mut Criterion) {
    let scenario = accepted();
    let mut group = c.benchmark_group("accepted");
    let mut seed = 0u64;
    group.bench_function("world_run", |b| {
        b.iter(|| {
            seed += 1;
            black_box(world_run(&scenario, seed))
        })
    });
    group.bench_function("run_one_with_trace_and_invariants", |b| {
        b.iter(|| {
            seed += 1;
            black_box(run_one(&scenario, seed))
        })
    });
    group.bench_function("in_memory_full_then_resumed_0rtt_500B", |b| {
        b.iter(|| {
            seed += 1;
            in_memory_run(seed)
        })
    });
    group.finish();
}

// A benchmark measures wall-clock time; the determinism rule (no clock in core and sim)
// does not apply to this bench binary, which only times calls into the library.
#[allow(clippy::disallowed_methods)]
fn stopwatch() -> std::time::Instant {
    std::time::Instant::now()
}

/// Measurement 1: events and trace lines per second of `World::run(accepted)`.
fn event_rate(runs: u64) {
    let scenario = accepted();
    let (mut wall, mut events, mut net_lines, mut all_lines) = (Duration::ZERO, 0u64, 0, 0);
    for seed in 0..runs {
        let start = stopwatch();
        let world = world_run(&scenario, seed);
        wall += start.elapsed();
        events += world.fabric.steps();
        net_lines += world.fabric.trace().len();
        // The merged trace is the network trace plus every TLS event the apps logged.
        all_lines += world.fabric.trace().len()
            + world
                .connections
                .iter()
                .map(|c| {
                    let c = c.borrow();
                    c.client_events.len() + c.server_events.len()
                })
                .sum::<usize>();
    }
    let secs = wall.as_secs_f64();
    println!(
        "sim events ({SCENARIO}, {runs} runs): {:.0} events/s, {:.0} net trace lines/s, \
         {:.0} trace lines/s ({} events, {} net + {} tls trace lines per run, {:.1} us per run)",
        events as f64 / secs,
        net_lines as f64 / secs,
        all_lines as f64 / secs,
        events / runs,
        net_lines as u64 / runs,
        (all_lines - net_lines) as u64 / runs,
        secs * 1e6 / runs as f64,
    );
}

/// Measurement 2: `World::run(accepted)` against the in-memory runs, alternating in
/// rounds so that load from other processes falls on both alike.
fn ratio(runs: u64) {
    const ROUNDS: u64 = 8;
    let scenario = accepted();
    let per_round = (runs / ROUNDS).max(1);
    let (mut sim, mut mem) = (Duration::ZERO, Duration::ZERO);
    let mut seed = 0;
    for round in 0..=ROUNDS {
        let start = stopwatch();
        for _ in 0..per_round {
            seed += 1;
            black_box(world_run(&scenario, seed));
        }
        let sim_round = start.elapsed();
        let start = stopwatch();
        for _ in 0..per_round {
            seed += 1;
            in_memory_run(seed);
        }
        // Round 0 warms caches and allocators and is not counted.
        if round > 0 {
            sim += sim_round;
            mem += start.elapsed();
        }
    }
    let n = (per_round * ROUNDS) as f64;
    let (a, b) = (sim.as_secs_f64() * 1e6 / n, mem.as_secs_f64() * 1e6 / n);
    println!(
        "sim vs in-memory ({SCENARIO}, {} runs each): World::run {a:.1} us, in-memory full + \
         resumed 0-RTT handshake {b:.1} us, ratio {:.2} (target <= 1.30), network {:.1} us",
        n as u64,
        a / b,
        a - b
    );
}

/// Measurement 3: `explore_one` over catalog × seeds on every core.
fn explore_rate(seeds: u64) {
    let scenarios = catalog::all();
    let jobs: Vec<(usize, u64)> = (0..scenarios.len())
        .flat_map(|i| (0..seeds).map(move |s| (i, s)))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = AtomicUsize::new(0);
    let verdicts: Mutex<Vec<Verdict>> = Mutex::new(Vec::new());
    let start = stopwatch();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(si, seed)) = jobs.get(i) else {
                    break;
                };
                let v = explore_one(&scenarios[si], seed, false);
                verdicts.lock().expect("no thread panicked").push(v);
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let verdicts = verdicts.into_inner().expect("no thread panicked");
    assert_eq!(verdicts.len(), jobs.len());
    println!(
        "explore ({} scenarios x {seeds} seeds = {} runs, {threads} threads): {:.1} seeds/s \
         ({:.2} s wall, {} violations)",
        scenarios.len(),
        jobs.len(),
        jobs.len() as f64 / secs,
        secs,
        verdicts.iter().filter(|v| v.violated()).count(),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut criterion = criterion_config();
    benches(&mut criterion);
    criterion.final_summary();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes --bench; `cargo test --benches` does not, and `-- --test` is
    // criterion's smoke mode: both only want a smoke run.
    let full = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
    println!();
    event_rate(if full { 400 } else { 2 });
    ratio(if full { 800 } else { 8 });
    explore_rate(if full { EXPLORE_SEEDS } else { 1 });
}
