//! The `zerortt` command line: list, run, explore, replay and report scenarios.

use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use zerortt_sim::explore::{explore_one, label, replay_command, run_one, vary, Verdict};
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
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
        } => {
            let mut s = load(&scenario)?;
            stacks.apply(&mut s)?;
            let (world, v) = run_one(&s, seed);
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
            ..
        } => replay_fuzz_input(&target, &input),
        Command::Replay {
            scenario,
            seed,
            json,
            stacks,
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
            let (world, v) = run_one(&s, seed);
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
            )
        }
    }
}

/// Replays one fuzz input through the same harness the fuzzer ran, with its trace.
fn replay_fuzz_input(target: &str, input: &std::path::Path) -> Result<ExitCode, String> {
    use zerortt_core::harness::{trace_records, Target};
    let bytes =
        std::fs::read(input).map_err(|e| format!("{}: cannot read: {e}", input.display()))?;
    let valid = "valid: codec, server_records, client_records, scenario, replay";
    match Target::from_name(target) {
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
            let (world, v) = run_one(&scenario, seed);
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

fn explore(
    names: Vec<String>,
    pairs: &[StackPair],
    seeds: u64,
    start_seed: u64,
    jobs: Option<usize>,
    shard: Option<String>,
    check_determinism: bool,
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
    let results: Mutex<Vec<Verdict>> = Mutex::new(Vec::new());
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
                    explore_one(&scenarios[si], seed, check_determinism)
                }))
                .unwrap_or_else(|panic| panicked(&label(&scenarios[si]), seed, panic));
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
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by(|a, b| (a.scenario.as_str(), a.seed).cmp(&(b.scenario.as_str(), b.seed)));
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
    Ok(if violations.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
