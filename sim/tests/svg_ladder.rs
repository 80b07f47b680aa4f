//! Ladder diagrams (`--svg`): what each drawing must show, and the SVG text snapshot-tested
//! (`snapshots/ladder_*.snap`). The side-by-side Nagle drawing is also written to
//! `target/tmp/svg_ladder/` for `scripts/render-svg --docs` (docs/nagle-vs-nodelay.png).

use std::path::PathBuf;
use zerortt_sim::visual::svg::{ladder, Panel};
use zerortt_sim::world::World;

fn panel(scenario: &str) -> Panel {
    let s = zerortt_sim::catalog::load(scenario).expect("catalog scenario");
    Panel::of(&World::run_captured(&s, 1))
}

fn snapshot(name: &str, svg: &str) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("svg_ladder");
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join(format!("{name}.svg")), svg).expect("write svg");
    insta::with_settings!({ snapshot_path => "../../snapshots", prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(format!("ladder_{name}"), svg);
    });
}

/// Text elements whose content contains `needle`.
fn texts_with(svg: &str, needle: &str) -> usize {
    svg.lines()
        .filter(|l| l.contains("<text") && l.contains(needle))
        .count()
}

#[test]
fn nagle_draws_client_nagle_holds_and_a_late_second_early_segment_where_nodelay_draws_none() {
    let nagle = ladder(&[panel("nagle")]);
    let nodelay = ladder(&[panel("nagle_nodelay")]);
    // With Nagle the second early write waits 49 ms for the ACK (the server's flight);
    // with TCP_NODELAY nothing is held until the client turns Nagle back on after its
    // handshake (`client_nagle_after_handshake`), which holds its request (its own socket
    // write) for the round trip until its Finished segment is acknowledged.
    assert_eq!(texts_with(&nagle, "Nagle hold 49 ms"), 1);
    assert_eq!(texts_with(&nodelay, "Nagle hold 49 ms"), 0);
    assert_eq!(texts_with(&nodelay, "Nagle hold 50 ms"), 1);
    // The second early write's segment: a round trip after the first with Nagle
    // (100 ms after the SYN), 1 ms after it without (51 ms).
    assert!(nagle.contains("100 ms last early byte leaves client"));
    assert!(nodelay.contains("51 ms last early byte leaves client"));
    // The server's delayed ACK of the last early segment is drawn in both: Linux's 40 ms
    // minimum, fired on the next 4 ms kernel tick (HZ=250, the default tcp profile).
    assert_eq!(texts_with(&nagle, "delayed ACK 43 ms"), 1);
    assert_eq!(texts_with(&nodelay, "delayed ACK 44 ms"), 1);
}

#[test]
fn nagle_and_nodelay_side_by_side_snapshot() {
    let svg = ladder(&[panel("nagle"), panel("nagle_nodelay")]);
    assert_eq!(svg.matches(r#"<g class="panel">"#).count(), 2);
    snapshot("nagle_vs_nodelay", &svg);
}

#[test]
fn loss_on_first_flight_draws_the_lost_clienthello_stopping_and_its_retransmission() {
    let svg = ladder(&[panel("loss_on_first_flight")]);
    assert_eq!(
        texts_with(
            &svg,
            "ClientHello + early data 500 B + ACK [lost (partition)]"
        ),
        1
    );
    assert_eq!(
        texts_with(
            &svg,
            "ClientHello + early data 500 B [retransmission (rto)]"
        ),
        1
    );
    // The client's retransmission timer runs 250 ms from the lost send: Linux's rule,
    // SRTT (the SYN's 50 ms sample) + max(4 x RTTVAR, 200 ms).
    assert_eq!(texts_with(&svg, ">RTO 250 ms<"), 1);
    // The lost arrow has no head and ends in a cross.
    assert_eq!(
        svg.matches(r##"stroke="#c0392b" stroke-width="2.5""##)
            .count(),
        1
    );
    snapshot("loss_on_first_flight", &svg);
}

#[test]
fn replay_same_server_draws_the_attacker_lifeline_and_its_replayed_first_flight() {
    let svg = ladder(&[panel("replay_same_server")]);
    assert_eq!(texts_with(&svg, ">attacker</text>"), 1);
    assert_eq!(
        texts_with(&svg, "ClientHello + early data 500 B + ACK [replayed]"),
        1
    );
    snapshot("replay_same_server", &svg);
}

#[test]
fn the_same_run_draws_the_same_svg() {
    assert_eq!(ladder(&[panel("nagle")]), ladder(&[panel("nagle")]));
}

/// The sum of the `early data N B` labels on the client's arrows.
fn early_bytes_on_arrows(svg: &str) -> usize {
    svg.lines()
        .filter(|l| l.contains("<text") && l.contains("fill=\"#d35400\""))
        .flat_map(|l| l.split("early data ").skip(1))
        .filter_map(|rest| rest.split(" B").next()?.parse::<usize>().ok())
        .sum()
}

#[test]
fn the_early_data_bytes_on_the_arrows_add_up_to_what_the_client_wrote() {
    for name in ["accepted", "nagle", "early_data_beyond_initial_window"] {
        let s = zerortt_sim::catalog::load(name).expect("catalog scenario");
        let svg = ladder(&[panel(name)]);
        let written: usize = s.client.early_data_chunks.iter().sum();
        assert_eq!(early_bytes_on_arrows(&svg), written, "{name}");
    }
    // The 30 KB leave in two flights: the initial window's ten data segments (with the
    // ACK of the SYN-ACK beside them, 11 in all), then the rest.
    let svg = ladder(&[panel("early_data_beyond_initial_window")]);
    assert!(svg.contains("11 segments: ClientHello + early data 14233 B + ACK"));
}
