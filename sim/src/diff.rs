//! `zerortt diff`: one scenario on every client/server stack pair, side by side. Runs
//! through [`crate::explore`], shows through [`crate::report`].

use crate::explore::{run_one, Verdict};
use crate::invariants::Severity;
use crate::report::{timing, Timing};
use crate::scenario::Scenario;
use crate::subject::Stack;
use crate::world::{Role, World};
use std::fmt::Write as _;
/// `zerortt diff`: one scenario and seed on every client/server stack pair, side by side:
/// the early data status on each side, the outcome, what the replays got, the invariant
/// verdicts and the timing milestones of the 0-RTT connection. A pair that lacks a knob
/// the scenario needs is shown as not applicable, with the knob. Differences are shown,
/// not hidden; a milestone a stack cannot report (rustls says nothing of EndOfEarlyData)
/// is `-`.
pub fn diff(scenario: &Scenario, seed: u64) -> String {
    let mut columns: Vec<(String, Option<(World, Verdict)>)> = Vec::new();
    let mut not_applicable = Vec::new();
    for client in Stack::ALL {
        for server in Stack::ALL {
            let mut s = scenario.clone();
            s.client.stack = client;
            s.server.stack = server;
            let name = format!("{client}/{server}");
            match s.not_applicable() {
                Some(why) => not_applicable.push(format!("{name}: {why}")),
                None => columns.push((name, Some(run_one(&s, seed)))),
            }
        }
    }
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |label: &str, cells: Vec<String>| rows.push((label.to_owned(), cells));
    let zero = |w: &World| {
        w.connections
            .iter()
            .find(|c| c.borrow().role == Role::ZeroRtt)
            .cloned()
    };
    let cell = |f: &dyn Fn(&World, &Verdict) -> String| -> Vec<String> {
        columns
            .iter()
            .map(|(_, r)| r.as_ref().map_or("-".into(), |(w, v)| f(w, v)))
            .collect()
    };
    let status =
        |s: Option<zerortt_core::EarlyDataStatus>| s.map_or("-".into(), |s| format!("{s:?}"));
    row(
        "client early data status",
        cell(&|w, _| zero(w).map_or("-".into(), |c| status(c.borrow().client_status))),
    );
    row(
        "server early data status",
        cell(&|w, _| zero(w).map_or("-".into(), |c| status(c.borrow().server_status))),
    );
    row(
        "early data written/read",
        cell(&|w, _| {
            zero(w).map_or("-".into(), |c| {
                let c = c.borrow();
                format!("{}/{}", c.early_written.len(), c.early_read.len())
            })
        }),
    );
    row(
        "outcome",
        cell(&|w, _| {
            zero(w).map_or("-".into(), |c| {
                let c = c.borrow();
                if c.response_received.is_some() {
                    "completed".into()
                } else if c.client_error.is_some() {
                    "aborted".into()
                } else {
                    "stalled".into()
                }
            })
        }),
    );
    row(
        "replays with early data accepted",
        cell(&|w, _| {
            let replays: Vec<_> = w
                .connections
                .iter()
                .filter(|c| matches!(c.borrow().role, Role::Replay(_)))
                .collect();
            let accepted = replays
                .iter()
                .filter(|c| c.borrow().server_accepted_early_data())
                .count();
            format!("{accepted} of {}", replays.len())
        }),
    );
    row(
        "verdict",
        cell(&|_, v| {
            let count = |sev| v.findings.iter().filter(|f| f.severity == sev).count();
            match (count(Severity::Violation), count(Severity::Expected)) {
                (0, 0) => "ok".into(),
                (0, e) => format!("{e} expected"),
                (n, _) => format!("{n} VIOLATION"),
            }
        }),
    );
    // Milestones, in the order of the first column that has them.
    let timings: Vec<Option<Timing>> = columns
        .iter()
        .map(|(_, r)| {
            r.as_ref()
                .and_then(|(w, _)| zero(w).map(|c| timing(w, &c.borrow())))
        })
        .collect();
    let mut names: Vec<&'static str> = Vec::new();
    for t in timings.iter().flatten() {
        for (n, _) in &t.milestones {
            if !names.contains(n) {
                names.push(n);
            }
        }
    }
    for n in names {
        let cells = timings
            .iter()
            .map(|t| {
                t.as_ref()
                    .and_then(|t| t.milestones.iter().find(|(m, _)| *m == n))
                    .map_or("-".into(), |(_, v)| v.to_string())
            })
            .collect();
        row(n, cells);
    }
    let mut out = String::new();
    let _ = writeln!(out, "diff of {} (seed {seed})", scenario.name);
    let _ = write!(out, "{:<34}", "client/server");
    for (name, _) in &columns {
        let _ = write!(out, " {name:>16}");
    }
    let _ = writeln!(out);
    for (label, cells) in &rows {
        let _ = write!(out, "{label:<34}");
        for c in cells {
            let _ = write!(out, " {c:>16}");
        }
        let _ = writeln!(out);
    }
    for (name, r) in &columns {
        for f in r.iter().flat_map(|(_, v)| &v.findings) {
            let tag = match f.severity {
                Severity::Violation => "VIOLATION",
                Severity::Expected => "expected finding",
            };
            let _ = writeln!(out, "{name}: {tag}: {}: {}", f.invariant, f.detail);
        }
    }
    for n in &not_applicable {
        let _ = writeln!(out, "n/a {n}");
    }
    out
}
