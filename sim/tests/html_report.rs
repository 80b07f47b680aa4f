//! The HTML explore report (`zerortt explore --html FILE`): one self-contained file with
//! the summary table, milestone histograms over seeds, and every finding's replay command
//! and ladder diagram linked from it.

use zerortt_sim::explore::{explore_one_timed, label};
use zerortt_sim::invariants::{Finding, Severity};
use zerortt_sim::scenario::Scenario;
use zerortt_sim::visual::html::{explore_report, Run, ScenarioRuns};

const SEEDS: std::ops::RangeInclusive<u64> = 1..=3;

fn explored(name: &str) -> (Scenario, Vec<Run>) {
    let s = zerortt_sim::catalog::load(name).expect("catalog scenario");
    let runs = SEEDS
        .map(|seed| explore_one_timed(&s, seed, false))
        .collect();
    (s, runs)
}

fn report(sets: &[(Scenario, Vec<Run>)]) -> String {
    let rows: Vec<ScenarioRuns<'_>> = sets
        .iter()
        .map(|(s, runs)| ScenarioRuns {
            scenario: s,
            label: label(s),
            runs: runs.iter().collect(),
        })
        .collect();
    explore_report(&rows, &[], "seeds 1..3")
}

/// Every `href="#x"` has an element with `id="x"`.
fn dangling_links(html: &str) -> Vec<String> {
    html.split("href=\"#")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|id| !html.contains(&format!("id=\"{id}\"")))
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_report_is_one_file_that_fetches_nothing() {
    let html = report(&[explored("nagle"), explored("external_psk_replay")]);
    for forbidden in ["<script", "src=", "<link", "http://", "https://", "@import"] {
        assert!(!html.contains(forbidden), "found {forbidden}");
    }
    // url() only for the SVG arrowheads, each defined in the file.
    for reference in html.split("url(#").skip(1) {
        let id = reference.split(')').next().unwrap_or("");
        assert!(
            html.contains(&format!("id=\"{id}\"")),
            "url(#{id}) undefined"
        );
    }
    assert!(!html.replace("url(#", "").contains("url("));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
}

#[test]
fn every_expected_finding_has_its_replay_command_and_a_link_to_its_inline_ladder() {
    let set = explored("external_psk_replay");
    let findings: Vec<u64> = set
        .1
        .iter()
        .filter(|(v, _)| v.findings.iter().any(|f| f.severity == Severity::Expected))
        .map(|(v, _)| v.seed)
        .collect();
    assert!(
        !findings.is_empty(),
        "external PSKs are replayable by design"
    );
    let html = report(&[set]);
    for seed in findings {
        let replay =
            format!("<code>zerortt replay --scenario external_psk_replay --seed {seed}</code>");
        assert!(html.contains(&replay), "no replay command for seed {seed}");
        let svg_id = format!("f-external_psk_replay-{seed}-svg");
        assert!(html.contains(&format!("href=\"#{svg_id}\"")));
        let at = html
            .find(&format!("id=\"{svg_id}\""))
            .expect("ladder section");
        assert!(html[at..].contains("<svg"), "an inline SVG follows");
    }
    assert_eq!(dangling_links(&html), Vec::<String>::new());
}

#[test]
fn the_summary_links_each_scenario_to_its_histograms_of_milestones_over_seeds() {
    let html = report(&[explored("nagle"), explored("nagle_nodelay")]);
    for name in ["nagle", "nagle_nodelay"] {
        assert!(html.contains(&format!("<a href=\"#s-{name}\">{name}</a></td><td>3</td>")));
        assert!(html.contains(&format!("<section id=\"s-{name}\">")));
    }
    // Three runs in each histogram of the milestones every run reaches.
    let hist = "last early byte read by server (ms from SYN) <span>n=3 ·";
    assert_eq!(html.matches(hist).count(), 2);
    assert_eq!(dangling_links(&html), Vec::<String>::new());
}

#[test]
fn a_violation_marks_its_row_and_shows_its_replay_command() {
    let (s, mut runs) = explored("accepted");
    // As explore's determinism check records one.
    runs[1].0.findings.push(Finding {
        invariant: "determinism",
        severity: Severity::Violation,
        detail: "trace hash 1 then 2".into(),
    });
    let html = report(&[(s, runs)]);
    assert!(html.contains(
        "<tr class=\"bad\"><td><a href=\"#s-accepted\">accepted</a></td><td>3</td><td>1</td>"
    ));
    assert!(html.contains("VIOLATION</span> seed 2: <b>determinism</b>: trace hash 1 then 2"));
    assert!(html.contains("<code>zerortt replay --scenario accepted --seed 2</code>"));
}

#[test]
fn zerortt_explore_html_writes_one_report_with_every_scenario_asked_for() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("html_report");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("explore.html");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zerortt"))
        .args(["explore", "--seeds", "2", "--jobs", "1"])
        .args([
            "--scenario",
            "accepted",
            "--scenario",
            "external_psk_replay",
        ])
        .arg("--html")
        .arg(&path)
        .output()
        .expect("zerortt runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&path).expect("report");
    assert!(html.contains("2 scenarios, 4 runs (seeds 1..2)"));
    assert!(html.contains("<section id=\"s-accepted\">"));
    assert!(html.contains("<section id=\"s-external_psk_replay\">"));
    assert_eq!(dangling_links(&html), Vec::<String>::new());
}
