//! The explore report as one self-contained HTML file (`zerortt explore --html FILE`):
//! the summary table, per scenario histograms of the key milestones over seeds, and for
//! every violation or expected finding its replay command and a link to its ladder
//! diagram, inline. Inline CSS and SVG only: no script, no fetch, no external resource.

use super::esc;
use super::svg::{ladder, Panel};
use crate::explore::{replay_command, run_one_captured, vary, Verdict};
use crate::invariants::Severity;
use crate::net::SimTime;
use crate::scenario::Scenario;
use std::fmt::Write as _;

/// Milestones drawn as histograms over seeds, in this order.
pub const HISTOGRAM_MILESTONES: [&str; 3] = [
    "last early byte leaves client",
    "last early byte read by server",
    "response at client",
];

/// Ladder diagrams inlined per scenario; later findings list their replay command, whose
/// `--svg FILE` draws the same diagram (bounds the file's size on long sweeps).
pub const LADDERS_PER_SCENARIO_MAX: usize = 12;

/// Bars per histogram.
const BINS: usize = 24;

/// One explored run: its verdict and its 0-RTT milestones (ms from the SYN).
pub type Run = (Verdict, Vec<(&'static str, SimTime)>);

/// One row of the report: a scenario (as explored, stacks set) and its runs.
pub struct ScenarioRuns<'a> {
    /// The base scenario (before [`vary`]).
    pub scenario: &'a Scenario,
    /// Its label in the summary (name, plus the stack pair when not zerortt/zerortt).
    pub label: String,
    /// Its runs, in seed order.
    pub runs: Vec<&'a Run>,
}

/// An HTML id from a label: letters, digits and `-` only.
fn anchor(parts: &[&str]) -> String {
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push('-');
        }
        for c in p.chars() {
            out.push(if c.is_ascii_alphanumeric() { c } else { '_' });
        }
    }
    out
}

fn ms(t: SimTime) -> f64 {
    t.as_nanos() as f64 / 1e6
}

/// A small SVG histogram of `values` (ms).
fn histogram(title: &str, values: &[f64]) -> String {
    let mut out = String::new();
    let (w, h, pad) = (360.0, 110.0, 26.0);
    if values.is_empty() {
        let _ = write!(
            out,
            r#"<div class="hist"><div class="ht">{}</div><p class="none">not reached in any run</p></div>"#,
            esc(title)
        );
        return out;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
    let median = sorted[sorted.len() / 2];
    let p90 = sorted[(sorted.len() * 9 / 10).min(sorted.len() - 1)];
    let width = (hi - lo).max(1e-9);
    let mut bins = [0usize; BINS];
    for v in &sorted {
        let i = (((v - lo) / width) * BINS as f64) as usize;
        bins[i.min(BINS - 1)] += 1;
    }
    let top = bins.iter().copied().max().unwrap_or(1).max(1);
    let bar_w = (w - 2.0 * pad) / BINS as f64;
    let _ = write!(
        out,
        r#"<div class="hist"><div class="ht">{} <span>n={} · median {:.1} ms · p90 {:.1} ms</span></div><svg width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img"><title>{}</title>"#,
        esc(title),
        sorted.len(),
        median,
        p90,
        esc(title)
    );
    for (i, n) in bins.iter().enumerate() {
        if *n == 0 {
            continue;
        }
        let bh = (h - 2.0 * pad) * *n as f64 / top as f64;
        let _ = write!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="#d35400"><title>{n} runs</title></rect>"##,
            pad + i as f64 * bar_w + 0.5,
            h - pad - bh,
            bar_w - 1.0,
            bh
        );
    }
    let _ = write!(
        out,
        r##"<line x1="{pad}" y1="{y:.1}" x2="{x2:.1}" y2="{y:.1}" stroke="#444"/><text x="{pad}" y="{ty:.1}" font-size="10">{lo:.1} ms</text><text x="{x2:.1}" y="{ty:.1}" font-size="10" text-anchor="end">{hi:.1} ms</text><text x="{pad}" y="{:.1}" font-size="10">{top} runs</text></svg></div>"##,
        pad - 14.0,
        y = h - pad,
        x2 = w - pad,
        ty = h - pad + 13.0
    );
    out
}

/// The report. Findings' ladders are re-run here (captured, same seed and knobs), so the
/// file shows exactly what `zerortt replay` would.
pub fn explore_report(
    rows: &[ScenarioRuns<'_>],
    not_applicable: &[(String, String)],
    seeds: &str,
) -> String {
    let mut out = String::new();
    out.push_str(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>zerortt explore report</title>
<style>
body{font-family:"DejaVu Sans",Helvetica,Arial,sans-serif;font-size:14px;margin:24px;color:#222;max-width:1500px}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child{text-align:left}tr.bad td{background:#fdecea}tr.exp td{background:#fef5e7}
.hists{display:flex;flex-wrap:wrap;gap:12px}.hist{border:1px solid #ddd;padding:6px}.ht{font-weight:bold;font-size:12px}
.ht span{display:block;font-weight:normal;color:#666}.none{color:#888;font-size:12px}code{background:#f4f4f4;padding:1px 4px}
.finding{margin:6px 0}.violation{color:#c0392b;font-weight:bold}.expected{color:#b9770e;font-weight:bold}
details{margin:8px 0}summary{cursor:pointer}section{margin-top:28px;border-top:2px solid #eee}
</style></head><body>
<h1>zerortt explore report</h1>
"#,
    );
    let total: usize = rows.iter().map(|r| r.runs.len()).sum();
    let bad: usize = rows
        .iter()
        .map(|r| r.runs.iter().filter(|(v, _)| v.violated()).count())
        .sum();
    let _ = writeln!(
        out,
        "<p>{} scenarios, {total} runs ({}), <b>{bad}</b> with a violation. Each row links to its section; every finding has its replay command and ladder diagram.</p>",
        rows.len(),
        esc(seeds)
    );
    out.push_str("<table><tr><th>scenario</th><th>runs</th><th>violations</th><th>expected</th><th>accepted</th></tr>\n");
    for r in rows {
        let violations = r.runs.iter().filter(|(v, _)| v.violated()).count();
        let expected = r
            .runs
            .iter()
            .filter(|(v, _)| v.findings.iter().any(|f| f.severity == Severity::Expected))
            .count();
        let accepted = r
            .runs
            .iter()
            .filter(|(v, _)| v.status == "Accepted")
            .count();
        let class = if violations > 0 {
            r#" class="bad""#
        } else if expected > 0 {
            r#" class="exp""#
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r##"<tr{class}><td><a href="#{}">{}</a></td><td>{}</td><td>{violations}</td><td>{expected}</td><td>{accepted}</td></tr>"##,
            anchor(&["s", &r.label]),
            esc(&r.label),
            r.runs.len()
        );
    }
    out.push_str("</table>\n");
    for (name, why) in not_applicable {
        let _ = writeln!(out, "<p class=\"none\">n/a {}: {}</p>", esc(name), esc(why));
    }
    for r in rows {
        let _ = writeln!(
            out,
            r#"<section id="{}"><h2>{}</h2><p>{}</p>"#,
            anchor(&["s", &r.label]),
            esc(&r.label),
            esc(&r.scenario.description)
        );
        out.push_str(r#"<div class="hists">"#);
        for m in HISTOGRAM_MILESTONES {
            let values: Vec<f64> = r
                .runs
                .iter()
                .filter_map(|(_, ms_)| ms_.iter().find(|(n, _)| *n == m).map(|(_, t)| ms(*t)))
                .collect();
            out.push_str(&histogram(&format!("{m} (ms from SYN)"), &values));
        }
        out.push_str("</div>\n");
        let mut ladders = 0;
        for (v, _) in &r.runs {
            if v.findings.is_empty() {
                continue;
            }
            let id = anchor(&["f", &r.label, &v.seed.to_string()]);
            let replay = replay_command(r.scenario, v.seed);
            let _ = writeln!(out, r#"<div class="finding" id="{id}">"#);
            for f in &v.findings {
                let (class, tag) = match f.severity {
                    Severity::Violation => ("violation", "VIOLATION"),
                    Severity::Expected => ("expected", "expected finding"),
                };
                let _ = writeln!(
                    out,
                    r#"<div><span class="{class}">{tag}</span> seed {}: <b>{}</b>: {}</div>"#,
                    v.seed,
                    esc(f.invariant),
                    esc(&f.detail)
                );
            }
            if ladders < LADDERS_PER_SCENARIO_MAX {
                ladders += 1;
                let svg_id = format!("{id}-svg");
                let _ = writeln!(
                    out,
                    r##"<div>replay: <code>{}</code> · <a href="#{svg_id}">ladder diagram</a></div>"##,
                    esc(&replay)
                );
                let s = vary(r.scenario, v.seed);
                let (world, _) = run_one_captured(&s, v.seed);
                let svg = ladder(&[Panel::of(&world)]);
                // Inline SVG in HTML needs no namespace attribute: the file names no URL.
                let svg = svg.replacen(r#" xmlns="http://www.w3.org/2000/svg""#, "", 1);
                // Marker ids unique in the document (one set per inline SVG).
                let svg = svg
                    .replace("id=\"ah-", &format!("id=\"{id}-ah-"))
                    .replace("url(#ah-", &format!("url(#{id}-ah-"));
                let _ = writeln!(
                    out,
                    r#"<details open id="{svg_id}"><summary>ladder of seed {}</summary>{svg}</details>"#,
                    v.seed
                );
            } else {
                let _ = writeln!(
                    out,
                    r#"<div>replay: <code>{} --svg seed{}.svg</code> (ladder not inlined: over {LADDERS_PER_SCENARIO_MAX} per scenario)</div>"#,
                    esc(&replay),
                    v.seed
                );
            }
            out.push_str("</div>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</body></html>\n");
    out
}
