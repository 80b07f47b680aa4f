//! The `zerortt` command line: list, run, explore, replay and report scenarios.

use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use zerortt_sim::explore::{
    explore_one, explore_one_timed, label, replay_command, run_one, run_one_captured, vary, Verdict,
};
use zerortt_sim::invariants::{Severity, INVARIANTS};
use zerortt_sim::scenario::Scenario;
use zerortt_sim::subject::Stack;
use zerortt_sim::{catalog, report};

#[derive(Parser)]
#[command(
    name = "zerortt",
    version,
    about = "Deterministic simulation of TLS 1.3 0-RTT (early data)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Which TLS stack runs on each side (overrides the scenario's `stack` fields).
#[derive(Args, Clone, Debug, Default)]
struct StackArgs {
    /// The client's TLS stack: zerortt, rustls or openssl.
    #[arg(long)]
    client_stack: Option<String>,
    /// The servers' TLS stack: zerortt, rustls or openssl.
    #[arg(long)]
    server_stack: Option<String>,
}

impl StackArgs {
    /// Sets the stacks on `s`, then refuses a scenario a stack cannot run.
    fn apply(&self, s: &mut Scenario) -> Result<(), String> {
        if let Some(name) = &self.client_stack {
            s.client.stack = Stack::parse(name).map_err(|e| format!("--client-stack: {e}"))?;
        }
        if let Some(name) = &self.server_stack {
            s.server.stack = Stack::parse(name).map_err(|e| format!("--server-stack: {e}"))?;
        }
        match s.not_applicable() {
            Some(why) => Err(format!("not applicable: {why}")),
            None => Ok(()),
        }
    }
}

/// Files a run can also write: a pcapng with the TLS secrets inside, the NSS key log, a
/// ladder diagram.
#[derive(Args, Clone, Debug, Default)]
struct OutputArgs {
    /// Write every segment as a pcapng file, the TLS secrets in a Decryption Secrets Block.
    #[arg(long, value_name = "FILE")]
    pcap: Option<std::path::PathBuf>,
    /// Write the TLS secrets as an NSS key log (SSLKEYLOGFILE format).
    #[arg(long, value_name = "FILE")]
    keylog: Option<std::path::PathBuf>,
    /// Write a ladder diagram of the run as SVG.
    #[arg(long, value_name = "FILE")]
    svg: Option<std::path::PathBuf>,
}

impl OutputArgs {
    fn any(&self) -> bool {
        self.pcap.is_some() || self.keylog.is_some() || self.svg.is_some()
    }

    /// Runs like `run_one`, keeping payloads when a file needs them.
    fn run(
        &self,
        s: &Scenario,
        seed: u64,
    ) -> (zerortt_sim::world::World, zerortt_sim::explore::Verdict) {
        if self.any() {
            run_one_captured(s, seed)
        } else {
            run_one(s, seed)
        }
    }

    fn write(&self, world: &zerortt_sim::world::World) -> Result<(), String> {
        use zerortt_sim::visual::{keylog, pcap, svg};
        let put = |path: &std::path::Path, bytes: &[u8], what: &str| {
            std::fs::write(path, bytes).map_err(|e| format!("--{what} {}: {e}", path.display()))?;
            eprintln!("wrote {what} {}", path.display());
            Ok::<(), String>(())
        };
        if let Some(path) = &self.pcap {
            put(path, &pcap::pcapng(world), "pcap")?;
        }
        if let Some(path) = &self.keylog {
            put(
                path,
                keylog::nss_text(&keylog::secrets(world)).as_bytes(),
                "keylog",
            )?;
        }
        if let Some(path) = &self.svg {
            put(
                path,
                svg::ladder(&[svg::Panel::of(world)]).as_bytes(),
                "svg",
            )?;
        }
        Ok(())
    }
}

#[derive(Subcommand)]
enum Command {
    /// List the built-in scenarios and the invariants.
    Scenarios,
    /// Run one scenario (a built-in name or a .toml file) and print its timing report and verdict.
    Run {
        /// Scenario name or path to a .toml file.
        scenario: String,
        /// Master seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Also print the full trace.
        #[arg(long)]
        trace: bool,
        /// Print the trace as JSON lines instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        stacks: StackArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Run many seeds of scenarios with varied knobs; exit 1 on any violation.
    Explore {
        /// Scenarios to explore (repeatable); all built-in ones by default.
        #[arg(long = "scenario")]
        scenarios: Vec<String>,
        /// Seeds per scenario.
        #[arg(long, default_value_t = 20)]
        seeds: u64,
        /// First seed.
        #[arg(long, default_value_t = 1)]
        start_seed: u64,
        /// Worker threads (default: all cores).
        #[arg(long)]
        jobs: Option<usize>,
        /// Run only shard K of N (`K/N`, 1-based) of the jobs, for splitting a sweep over machines.
        #[arg(long)]
        shard: Option<String>,
        /// Run every seed twice and compare trace hashes.
        #[arg(long)]
        check_determinism: bool,
        #[command(flatten)]
        stack: StackArgs,
        /// Run every scenario on several client/server stack pairs: `all`, or a comma list
        /// of CLIENT/SERVER pairs such as `rustls/zerortt,zerortt/rustls`.
        #[arg(long, conflicts_with_all = ["client_stack", "server_stack"])]
        stacks: Option<String>,
        /// Also write the report as one self-contained HTML file: the summary, milestone
        /// histograms over seeds, and each finding's replay command and ladder diagram.
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
    },
    /// Re-run one seed of an explore run (same knob draws), or one fuzz input, and print the
    /// full trace and verdict.
    Replay {
        /// Scenario name or .toml file (with --seed).
        #[arg(long, required_unless_present = "target", conflicts_with = "target")]
        scenario: Option<String>,
        /// The seed to replay.
        #[arg(long, requires = "scenario")]
        seed: Option<u64>,
        /// A fuzz target (codec, server_records, client_records, scenario, replay), with --input.
        #[arg(long, requires = "input")]
        target: Option<String>,
        /// A fuzz input file (a crash artifact or a corpus file).
        #[arg(long)]
        input: Option<std::path::PathBuf>,
        /// Print the trace as JSON lines.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        stacks: StackArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// One scenario on every client/server stack pair, side by side: statuses, outcome,
    /// replays, verdicts and timing milestones.
    Diff {
        /// Scenario name or .toml file.
        scenario: String,
        /// Master seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Timing report of a scenario plus a comparison across Nagle/NODELAY, loss, RTT and
    /// early data size.
    Report {
        /// Scenario name or .toml file.
        scenario: String,
        /// Master seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        stacks: StackArgs,
    },
    // --- live: real TCP sockets (issue 14) ---
    /// A zerortt-core server on a real TCP port; prints one line per connection.
    Serve(live_cli::ServeArgs),
    /// One client connection with optional early data and session file (like s_client).
    Connect(live_cli::ConnectArgs),
    /// Does a live server accept a replayed 0-RTT flight? Named checks, exit 1 if so.
    Probe(live_cli::ProbeArgs),
    // --- end live ---
    /// Run a scenario over real Linux TCP (two network namespaces joined by a user-space
    /// relay that applies its latency, jitter and loss) and print the real timing beside
    /// the simulated one, milestone by milestone. Linux, as root.
    Calibrate {
        /// Scenario name or .toml file.
        scenario: String,
        /// Real runs to make.
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        /// Also print every segment of each real run's 0-RTT connection (the relay's
        /// capture; sequence numbers relative to each side's ISN, windows unscaled).
        #[arg(long)]
        capture: bool,
        #[command(flatten)]
        stacks: StackArgs,
        /// Internal: run one endpoint (client or server) inside its namespace.
        #[arg(long, hide = true)]
        endpoint: Option<String>,
        /// Internal: the parent's start time (unix ns), the endpoints' common TLS epoch.
        #[arg(long, hide = true, default_value_t = 0)]
        epoch_ns: u64,
    },
}

fn main() -> ExitCode {
    exit_quietly_when_stdout_closes();
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// `zerortt run nagle | head` closes stdout early; `println!` then panics with EPIPE (Rust
/// ignores SIGPIPE, and changing that needs `unsafe`). A reader that stopped reading is not
/// an error of ours: exit as a process killed by SIGPIPE would (128 + 13), without a trace.
fn exit_quietly_when_stdout_closes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// `zerortt calibrate`: the real runs and the side-by-side table (or, internally, one
/// endpoint inside its namespace).
fn calibrate(
    name: &str,
    repeat: usize,
    capture: bool,
    stacks: &StackArgs,
    endpoint: Option<&str>,
    epoch_ns: u64,
) -> Result<ExitCode, String> {
    let mut scenario = load(name)?;
    if let Some(role) = endpoint {
        zerortt_sim::calibrate::endpoint(role, &scenario, epoch_ns)?;
        return Ok(ExitCode::SUCCESS);
    }
    // The endpoints get the scenario with its stacks set (run_real writes it for them).
    stacks.apply(&mut scenario)?;
    let exe = std::env::current_exe().map_err(|e| format!("this program's path: {e}"))?;
    let mut runs = Vec::new();
    for _ in 0..repeat.clamp(1, 20) {
        runs.push(zerortt_sim::calibrate::run_real(&scenario, &exe)?);
    }
    println!(
        "scenario {} ({} client, {} server) over Linux TCP (relay: one-way {} ms) beside the simulator",
        scenario.name, scenario.client.stack, scenario.server.stack, scenario.network.latency_ms
    );
    print!("{}", zerortt_sim::calibrate::table(&scenario, &runs));
    if capture {
        for (i, run) in runs.iter().enumerate() {
            println!("capture of real run #{} (ms from the SYN):", i + 1);
            for line in &run.capture {
                println!("  {line}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn load(name: &str) -> Result<Scenario, String> {
    catalog::load(name).map_err(|e| e.to_string())
}

fn print_verdict(v: &Verdict) {
    println!(
        "scenario {} seed {} trace {:016x} early data status {}",
        v.scenario, v.seed, v.trace_hash, v.status
    );
    if v.findings.is_empty() {
        println!("verdict: ok ({} invariants hold)", INVARIANTS.len() - 1);
    }
    for f in &v.findings {
        let tag = match f.severity {
            Severity::Violation => "VIOLATION",
            Severity::Expected => "expected finding",
        };
        println!("{tag}: {}: {}", f.invariant, f.detail);
    }
}

fn run(command: Command) -> Result<ExitCode, String> {
    match command {
        // --- live (issue 14) ---
        Command::Serve(args) => Ok(live_cli::serve(args)),
        Command::Connect(args) => Ok(live_cli::connect(args)),
        Command::Probe(args) => Ok(live_cli::probe(args)),
        // --- end live ---
        Command::Calibrate {
            scenario,
            repeat,
            capture,
            stacks,
            endpoint,
            epoch_ns,
        } => calibrate(
            &scenario,
            repeat,
            capture,
            &stacks,
            endpoint.as_deref(),
            epoch_ns,
        ),
        Command::Scenarios => {
            println!("scenarios:");
            for s in catalog::all() {
                println!("  {:<38} {}", s.name, s.description);
            }
            println!("\ninvariants:");
            for i in INVARIANTS {
                println!("  {:<38} {}", i.name, i.doc);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            scenario,
            seed,
            trace,
            json,
            stacks,
            out,
        } => {
            let mut s = load(&scenario)?;
            stacks.apply(&mut s)?;
            let (world, v) = out.run(&s, seed);
            out.write(&world)?;
            if trace || json {
                let lines = report::trace(&world);
                print!(
                    "{}",
                    if json {
                        report::trace_json(&lines)
                    } else {
                        report::trace_text(&lines)
                    }
                );
            }
            print_report(&world);
            print_verdict(&v);
            if v.violated() {
                println!("replay: {}", replay_command(&s, seed));
            }
            Ok(if v.violated() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Replay {
            target: Some(target),
            input: Some(input),
            out,
            ..
        } => replay_fuzz_input(&target, &input, &out),
        Command::Replay {
            scenario,
            seed,
            json,
            stacks,
            out,
            ..
        } => {
            let (Some(scenario), Some(seed)) = (scenario, seed) else {
                return Err(
                    "replay needs --scenario S --seed N, or --target T --input FILE".into(),
                );
            };
            let mut base = load(&scenario)?;
            stacks.apply(&mut base)?;
            let s = vary(&base, seed);
            let (world, v) = out.run(&s, seed);
            out.write(&world)?;
            let lines = report::trace(&world);
            print!(
                "{}",
                if json {
                    report::trace_json(&lines)
                } else {
                    report::trace_text(&lines)
                }
            );
            println!(
                "knobs: latency {} ms, jitter {} ms, loss {:.4}",
                s.network.latency_ms, s.network.jitter_ms, s.network.loss
            );
            print_report(&world);
            print_verdict(&v);
            Ok(if v.violated() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Diff { scenario, seed } => {
            let s = load(&scenario)?;
            print!("{}", zerortt_sim::diff::diff(&s, seed));
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            scenario,
            seed,
            stacks,
        } => {
            let mut s = load(&scenario)?;
            stacks.apply(&mut s)?;
            let (world, v) = run_one(&s, seed);
            print_report(&world);
            print_verdict(&v);
            println!("\n{}", report::comparison(&s, seed));
            Ok(ExitCode::SUCCESS)
        }
        Command::Explore {
            scenarios,
            seeds,
            start_seed,
            jobs,
            shard,
            check_determinism,
            stack,
            stacks,
            html,
        } => {
            let pairs = parse_pairs(stacks.as_deref(), &stack)?;
            explore(
                scenarios,
                &pairs,
                seeds,
                start_seed,
                jobs,
                shard,
                check_determinism,
                html.as_deref(),
            )
        }
    }
}

/// Replays one fuzz input through the same harness the fuzzer ran, with its trace.
fn replay_fuzz_input(
    target: &str,
    input: &std::path::Path,
    out: &OutputArgs,
) -> Result<ExitCode, String> {
    use zerortt_core::harness::{trace_records, Target};
    let bytes =
        std::fs::read(input).map_err(|e| format!("{}: cannot read: {e}", input.display()))?;
    let valid = "valid: codec, server_records, client_records, scenario, replay";
    let core_target = Target::from_name(target);
    if core_target.is_some() && out.any() {
        return Err(format!(
            "--pcap, --keylog and --svg draw a simulated run; fuzz target {target:?} runs no \
             network (they work with --target scenario or replay, or --scenario and --seed)"
        ));
    }
    match core_target {
        Some(Target::Codec) => {
            let r = std::panic::catch_unwind(|| zerortt_core::harness::codec(&bytes));
            println!(
                "codec: {} bytes: {}",
                bytes.len(),
                if r.is_ok() {
                    "ok"
                } else {
                    "VIOLATION (see the panic above)"
                }
            );
            Ok(if r.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Some(t) => {
            let side = if t == Target::ServerRecords {
                zerortt_core::Side::Server
            } else {
                zerortt_core::Side::Client
            };
            let report = trace_records(side, &bytes);
            println!("{report}");
            Ok(if report.violation.is_some() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        None => {
            let (scenario, seed) = zerortt_sim::harness::describe(target, &bytes)
                .ok_or_else(|| format!("unknown fuzz target {target:?}; {valid}"))?;
            println!(
                "# decoded {target} input: seed {seed}\n{}",
                toml::to_string(&scenario).unwrap_or_default()
            );
            let (world, v) = out.run(&scenario, seed);
            out.write(&world)?;
            print!("{}", report::trace_text(&report::trace(&world)));
            print_report(&world);
            print_verdict(&v);
            Ok(if v.violated() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

fn print_report(world: &zerortt_sim::world::World) {
    for c in &world.connections {
        let c = c.borrow();
        if matches!(
            c.role,
            zerortt_sim::world::Role::ZeroRtt | zerortt_sim::world::Role::Retry
        ) {
            print!("{}", report::timing_text(world, &c));
        }
    }
}

fn panicked(scenario: &str, seed: u64, panic: Box<dyn std::any::Any + Send>) -> Verdict {
    let message = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "non-string panic".into());
    Verdict {
        scenario: scenario.to_owned(),
        seed,
        trace_hash: 0,
        findings: vec![zerortt_sim::invariants::Finding {
            invariant: "api_contract",
            severity: Severity::Violation,
            detail: format!("panic: {message}"),
        }],
        status: "-".into(),
    }
}

fn parse_shard(shard: Option<String>) -> Result<(u64, u64), String> {
    let Some(text) = shard else { return Ok((0, 1)) };
    let bad = || format!("--shard {text:?}: expected K/N with 1 <= K <= N, e.g. 2/8");
    let (k, n) = text.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if k == 0 || n == 0 || k > n {
        return Err(bad());
    }
    Ok((k - 1, n))
}

/// A client and a server stack; `None` keeps the scenario's own.
type StackPair = (Option<Stack>, Option<Stack>);

/// The (client, server) stack pairs of an explore run: `--stacks`, else the
/// `--client-stack`/`--server-stack` overrides (each `None`: the scenario's own).
fn parse_pairs(pairs: Option<&str>, single: &StackArgs) -> Result<Vec<StackPair>, String> {
    let Some(text) = pairs else {
        let parse = |o: &Option<String>, flag: &str| {
            o.as_deref()
                .map(|n| Stack::parse(n).map_err(|e| format!("{flag}: {e}")))
                .transpose()
        };
        return Ok(vec![(
            parse(&single.client_stack, "--client-stack")?,
            parse(&single.server_stack, "--server-stack")?,
        )]);
    };
    if text == "all" {
        return Ok(Stack::ALL
            .into_iter()
            .flat_map(|c| Stack::ALL.into_iter().map(move |s| (Some(c), Some(s))))
            .collect());
    }
    text.split(',')
        .map(|pair| {
            let bad = || format!("--stacks {pair:?}: expected CLIENT/SERVER or all");
            let (c, s) = pair.split_once('/').ok_or_else(bad)?;
            let stack = |n: &str| Stack::parse(n).map_err(|e| format!("--stacks: {e}"));
            Ok((Some(stack(c)?), Some(stack(s)?)))
        })
        .collect()
}

#[allow(clippy::too_many_arguments)] // one per explore flag
fn explore(
    names: Vec<String>,
    pairs: &[StackPair],
    seeds: u64,
    start_seed: u64,
    jobs: Option<usize>,
    shard: Option<String>,
    check_determinism: bool,
    html: Option<&std::path::Path>,
) -> Result<ExitCode, String> {
    let bases: Vec<Scenario> = if names.is_empty() {
        catalog::all()
    } else {
        names.iter().map(|n| load(n)).collect::<Result<_, _>>()?
    };
    // One row per scenario and stack pair; a pair that lacks a knob the scenario needs is
    // listed as not applicable, with the reason, and not run.
    let mut scenarios = Vec::new();
    let mut not_applicable = Vec::new();
    for base in &bases {
        for (client, server) in pairs {
            let mut s = base.clone();
            if let Some(c) = client {
                s.client.stack = *c;
            }
            if let Some(v) = server {
                s.server.stack = *v;
            }
            match s.not_applicable() {
                Some(why) => not_applicable.push((label(&s), why)),
                None => scenarios.push(s),
            }
        }
    }
    if scenarios.is_empty() {
        return Err("no scenario is applicable to the stacks asked for".into());
    }
    if seeds == 0 || seeds > 10_000_000 {
        return Err(format!("--seeds {seeds}: valid 1 to 10000000"));
    }
    let (shard_index, shard_count) = parse_shard(shard)?;
    let all: Vec<(usize, u64)> = scenarios
        .iter()
        .enumerate()
        .flat_map(|(i, _)| (start_seed..start_seed.saturating_add(seeds)).map(move |s| (i, s)))
        .enumerate()
        .filter(|(n, _)| *n as u64 % shard_count == shard_index)
        .map(|(_, job)| job)
        .collect();
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 256);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<zerortt_sim::visual::html::Run>> = Mutex::new(Vec::new());
    // Progress on stderr only, so stdout stays stable for snapshots and scripts.
    // Wall time for the progress rate shown on stderr only; it never reaches a result.
    #[allow(clippy::disallowed_methods)]
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(si, seed)) = all.get(i) else { break };
                // A panic anywhere in a run is an api_contract violation of that seed, not
                // the end of the sweep.
                let v = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    if html.is_some() {
                        explore_one_timed(&scenarios[si], seed, check_determinism)
                    } else {
                        (
                            explore_one(&scenarios[si], seed, check_determinism),
                            Vec::new(),
                        )
                    }
                }))
                .unwrap_or_else(|panic| {
                    (panicked(&label(&scenarios[si]), seed, panic), Vec::new())
                });
                if let Ok(mut r) = results.lock() {
                    r.push(v);
                }
                let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                if d % 10 == 0 || d == all.len() {
                    let rate = d as f64 / started.elapsed().as_secs_f64().max(1e-9);
                    eprint!("\rexplore: {d}/{} runs ({rate:.0} runs/s)   ", all.len());
                    let _ = std::io::stderr().flush();
                }
            });
        }
    });
    eprintln!();
    let mut runs = results.into_inner().unwrap_or_default();
    runs.sort_by(|(a, _), (b, _)| {
        (a.scenario.as_str(), a.seed).cmp(&(b.scenario.as_str(), b.seed))
    });
    let results: Vec<Verdict> = runs.iter().map(|(v, _)| v.clone()).collect();
    println!(
        "{:<38} {:>6} {:>10} {:>9} {:>9}",
        "scenario", "runs", "violations", "expected", "accepted"
    );
    let mut violations = Vec::new();
    let mut replay_of = std::collections::BTreeMap::new();
    for s in &scenarios {
        let name = label(s);
        replay_of.insert(name.clone(), s.clone());
        let rs: Vec<&Verdict> = results.iter().filter(|v| v.scenario == name).collect();
        let bad = rs.iter().filter(|v| v.violated()).count();
        let expected = rs
            .iter()
            .filter(|v| v.findings.iter().any(|f| f.severity == Severity::Expected))
            .count();
        let accepted = rs.iter().filter(|v| v.status == "Accepted").count();
        println!(
            "{:<38} {:>6} {:>10} {:>9} {:>9}",
            name,
            rs.len(),
            bad,
            expected,
            accepted
        );
        violations.extend(rs.into_iter().filter(|v| v.violated()));
    }
    for v in &violations {
        for f in v
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Violation)
        {
            println!(
                "VIOLATION {} seed {}: {}: {}",
                v.scenario, v.seed, f.invariant, f.detail
            );
        }
        if let Some(s) = replay_of.get(&v.scenario) {
            println!("  replay: {}", replay_command(s, v.seed));
        }
    }
    for (name, why) in &not_applicable {
        println!("n/a {name}: {why}");
    }
    if let Some(path) = html {
        let rows: Vec<zerortt_sim::visual::html::ScenarioRuns<'_>> = scenarios
            .iter()
            .map(|s| {
                let name = label(s);
                zerortt_sim::visual::html::ScenarioRuns {
                    scenario: s,
                    runs: runs.iter().filter(|(v, _)| v.scenario == name).collect(),
                    label: name,
                }
            })
            .collect();
        let seeds_text = format!(
            "seeds {start_seed}..{}{}",
            start_seed.saturating_add(seeds) - 1,
            if shard_count > 1 {
                format!(", shard {}/{shard_count}", shard_index + 1)
            } else {
                String::new()
            }
        );
        let text = zerortt_sim::visual::html::explore_report(&rows, &not_applicable, &seeds_text);
        std::fs::write(path, text).map_err(|e| format!("--html {}: {e}", path.display()))?;
        eprintln!("wrote html {}", path.display());
    }
    Ok(if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

// --- live: `zerortt serve`, `connect`, `probe` over real TCP sockets (issue 14) ---
mod live_cli {
    use clap::Args;
    use std::path::PathBuf;
    use std::process::ExitCode;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use zerortt_core::identity::test_identity;
    use zerortt_core::ClientConfig;
    use zerortt_sim::live::connect::{self, ClientSetup, ConnectOptions};
    use zerortt_sim::live::driver::SharedKeyLog;
    use zerortt_sim::live::keylog::KeyLogWriter;
    use zerortt_sim::live::probe::{self, ProbeOptions};
    use zerortt_sim::live::serve::{self, ServeOptions};
    use zerortt_sim::live::{self, LiveError, Target};

    /// Options every client command shares.
    #[derive(Args, Debug)]
    pub struct ClientArgs {
        /// HOST:PORT to connect to.
        target: String,
        /// Server name for SNI and the certificate check (default: the host).
        #[arg(long)]
        sni: Option<String>,
        /// ALPN protocols to offer, comma-separated (h2,http/1.1).
        #[arg(long)]
        alpn: Option<String>,
        /// Trust anchors (PEM or DER) instead of the system CA bundle.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// Accept any server certificate (for experiments only).
        #[arg(long)]
        insecure: bool,
        /// Disable Nagle (TCP_NODELAY) so each flight leaves at once.
        #[arg(long)]
        nodelay: bool,
        /// Bound of each TCP connect and each handshake, in ms.
        #[arg(long, default_value_t = 5000)]
        timeout_ms: u64,
        /// Silence after which the server's answer counts as complete, in ms.
        #[arg(long, default_value_t = 500)]
        wait_ms: u64,
        /// Append NSS key log lines (SSLKEYLOGFILE format) to this file.
        #[arg(long)]
        keylog: Option<PathBuf>,
    }

    /// `zerortt connect`.
    #[derive(Args, Debug)]
    pub struct ConnectArgs {
        #[command(flatten)]
        client: ClientArgs,
        /// Send this file as early data (needs --sess-in with a ticket that allows it).
        #[arg(long)]
        early_data: Option<PathBuf>,
        /// Send this file after the handshake.
        #[arg(long)]
        request: Option<PathBuf>,
        /// Resume the session in this zerortt session file.
        #[arg(long)]
        sess_in: Option<PathBuf>,
        /// Write the newest session (ticket) to this file.
        #[arg(long)]
        sess_out: Option<PathBuf>,
    }

    /// `zerortt probe`.
    #[derive(Args, Debug)]
    pub struct ProbeArgs {
        #[command(flatten)]
        client: ClientArgs,
        /// The request sent as early data (default: an HTTP HEAD for the SNI name).
        #[arg(long)]
        request: Option<PathBuf>,
        /// Replay the captured flight once more after this delay (the freshness check):
        /// a number with a unit, e.g. 500ms, 11s, 2m; at most 10m.
        #[arg(long)]
        replay_after: Option<String>,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    }

    /// `zerortt serve`.
    #[derive(Args, Debug)]
    pub struct ServeArgs {
        /// Address to listen on; port 0 picks a free one (printed on start).
        #[arg(long, default_value = "127.0.0.1:4433")]
        listen: String,
        /// Certificate chain (PEM or DER); default: the shipped ECDSA P-256 test identity
        /// for localhost and zerortt.test.
        #[arg(long, requires = "key")]
        cert: Option<PathBuf>,
        /// The certificate's PKCS#8 key (PEM or DER; Ed25519 or ECDSA P-256).
        #[arg(long, requires = "cert")]
        key: Option<PathBuf>,
        /// max_early_data advertised in tickets; 0 turns early data off.
        #[arg(long, default_value_t = 16384)]
        max_early_data: u32,
        /// recv_max_early_data: the most early data accepted.
        #[arg(long, default_value_t = 16384)]
        recv_max_early_data: u32,
        /// SSL_OP_NO_ANTI_REPLAY: reusable tickets, replayable 0-RTT.
        #[arg(long)]
        no_anti_replay: bool,
        /// The allow-early-data callback: always or never.
        #[arg(long, default_value = "always")]
        allow_early_data: String,
        /// Answer every first ClientHello with a HelloRetryRequest (cookie).
        #[arg(long)]
        hello_retry: bool,
        /// ALPN protocols, preferred first, comma-separated.
        #[arg(long)]
        alpn: Option<String>,
        /// Answer early data with 0.5-RTT data before the client's Finished.
        #[arg(long)]
        half_rtt: bool,
        /// Tickets sent after each handshake.
        #[arg(long, default_value_t = 2)]
        num_tickets: usize,
        /// Ticket age tolerance in ms (RFC 9846 8.3).
        #[arg(long, default_value_t = 10_000)]
        ticket_age_tolerance_ms: u64,
        /// Stop after this many connections.
        #[arg(long)]
        max_connections: Option<u64>,
        /// Bound of each connection's handshake and request, in ms.
        #[arg(long, default_value_t = 10_000)]
        timeout_ms: u64,
        /// Append NSS key log lines to this file.
        #[arg(long)]
        keylog: Option<PathBuf>,
    }

    fn exit(e: LiveError) -> ExitCode {
        eprintln!("error: {}", e.message);
        ExitCode::from(e.kind.exit_code())
    }

    fn keylog(path: &Option<PathBuf>) -> Result<Option<SharedKeyLog>, LiveError> {
        path.as_ref()
            .map(|p| {
                KeyLogWriter::append(p)
                    .map(|w| Arc::new(Mutex::new(w)))
                    .map_err(|e| LiveError::usage(format!("--keylog {}: {e}", p.display())))
            })
            .transpose()
    }

    fn setup(a: &ClientArgs) -> Result<ClientSetup, LiveError> {
        let target = Target::parse(&a.target)?;
        let mut config = ClientConfig::new(live::trust(a.ca.as_deref(), a.insecure)?);
        config.alpn_protocols = live::parse_alpn(a.alpn.as_deref())?;
        if a.sni.is_none() && target.host.parse::<std::net::IpAddr>().is_ok() {
            // The core always sends SNI; RFC 6066 3 does not permit an address literal.
            eprintln!(
                "note: no --sni given: the address {} goes into SNI and the certificate check",
                target.host
            );
        }
        Ok(ClientSetup {
            server_name: a.sni.clone().unwrap_or_else(|| target.host.clone()),
            target,
            config: Arc::new(config),
            timeout: Duration::from_millis(a.timeout_ms),
            idle: Duration::from_millis(a.wait_ms),
            nodelay: a.nodelay,
            keylog: keylog(&a.keylog)?,
        })
    }

    const PAYLOAD_BYTES_MAX: usize = 1 << 20;

    pub fn connect(a: ConnectArgs) -> ExitCode {
        let run = || -> Result<(), LiveError> {
            let read = |p: &Option<PathBuf>, what| {
                p.as_deref()
                    .map(|p| live::read_payload(p, what, PAYLOAD_BYTES_MAX))
                    .transpose()
            };
            let opts = ConnectOptions {
                setup: setup(&a.client)?,
                early_data: read(&a.early_data, "--early-data")?,
                request: read(&a.request, "--request")?,
                sess_in: a.sess_in.clone(),
                sess_out: a.sess_out.clone(),
            };
            connect::run(&opts)
        };
        match run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => exit(e),
        }
    }

    pub fn probe(a: ProbeArgs) -> ExitCode {
        let run = || -> Result<probe::ProbeReport, LiveError> {
            let setup = setup(&a.client)?;
            let request = match &a.request {
                Some(p) => live::read_payload(p, "--request", PAYLOAD_BYTES_MAX)?,
                None => probe::default_request(&setup.server_name),
            };
            let opts = ProbeOptions {
                setup,
                request,
                replay_after: a
                    .replay_after
                    .as_deref()
                    .map(|t| live::parse_delay(t, "--replay-after"))
                    .transpose()?,
            };
            probe::run(&opts)
        };
        match run() {
            Ok(report) => {
                if a.json {
                    match serde_json::to_string_pretty(&report) {
                        Ok(text) => println!("{text}"),
                        Err(e) => eprintln!("error: JSON: {e}"),
                    }
                } else {
                    print!("{}", probe::table(&report));
                }
                ExitCode::from(report.exit_code)
            }
            Err(e) => exit(e),
        }
    }

    pub fn serve(a: ServeArgs) -> ExitCode {
        let run = || -> Result<(), LiveError> {
            let identity = match (&a.cert, &a.key) {
                (Some(c), Some(k)) => live::load_identity(c, k)?,
                _ => test_identity::ecdsa_p256(),
            };
            let allow_early_data = match a.allow_early_data.as_str() {
                "always" => true,
                "never" => false,
                other => {
                    return Err(LiveError::usage(format!(
                        "--allow-early-data '{other}': expected always or never"
                    )))
                }
            };
            let opts = ServeOptions {
                listen: a.listen.clone(),
                identity,
                max_early_data: a.max_early_data,
                recv_max_early_data: a.recv_max_early_data,
                no_anti_replay: a.no_anti_replay,
                allow_early_data,
                hello_retry: a.hello_retry,
                alpn: live::parse_alpn(a.alpn.as_deref())?,
                half_rtt: a.half_rtt,
                num_tickets: a.num_tickets,
                ticket_age_tolerance: Duration::from_millis(a.ticket_age_tolerance_ms),
                keylog: keylog(&a.keylog)?,
                max_connections: a.max_connections,
                timeout: Duration::from_millis(a.timeout_ms),
            };
            serve::run(&opts)
        };
        match run() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => exit(e),
        }
    }
}
// --- end live ---
