//! The pcapng files of `--pcap`, read by the real tool: tshark (Wireshark's CLI) must see
//! the ClientHello's 0-RTT extensions, decrypt the early data with the secrets embedded in
//! the file's Decryption Secrets Block alone, find EndOfEarlyData, flag the lost first
//! flight's retransmission, and put a replay on its own TCP stream.
//!
//! Without tshark these tests print a SKIPPED line and pass, except under CI (`CI` set),
//! where a missing tshark fails them: `.ci/run` installs it.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use zerortt_sim::report::{trace, trace_text};
use zerortt_sim::subject::Stack;
use zerortt_sim::visual::{connections, keylog, pcap};
use zerortt_sim::world::{Role, World};

/// Whether tshark runs; panics under CI when it does not.
fn tshark_present(test: &str) -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "tshark is not installed, and CI must not skip {test} (.ci/run installs it)"
        );
        // Straight to the stderr handle: the test harness captures eprintln! of a passing
        // test, and a skip must be seen.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED {test}: tshark not found (apt-get install tshark)"
        );
    }
    ok
}

/// Runs a catalog scenario (seed 1) with capture and writes its pcapng.
fn capture(scenario: &str) -> (World, PathBuf) {
    capture_on(scenario, Stack::Zerortt)
}

/// [`capture`] with `stack` at both ends.
fn capture_on(scenario: &str, stack: Stack) -> (World, PathBuf) {
    let mut s = zerortt_sim::catalog::load(scenario).expect("catalog scenario");
    s.client.stack = stack;
    s.server.stack = stack;
    let world = World::run_captured(&s, 1);
    // One file per call: tests run in parallel and must not rewrite a file tshark reads.
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let path = temp(&format!("{scenario}-{stack}-{n}.pcapng"));
    std::fs::write(&path, pcap::pcapng(&world)).expect("write pcap");
    (world, path)
}

fn temp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pcap_tshark");
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// tshark's fields for every frame matching `filter`, one row per frame, fields split on
/// tabs. HTTP is switched off so decrypted application data shows as `data.data`.
fn fields(path: &PathBuf, filter: &str, names: &[&str]) -> Vec<Vec<String>> {
    fields_with(path, &[], filter, names)
}

/// [`fields`] with extra tshark arguments (`-o` preferences).
fn fields_with(path: &PathBuf, extra: &[&str], filter: &str, names: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(path).args(extra).args([
        "--disable-protocol",
        "http",
        "-Y",
        filter,
        "-T",
        "fields",
    ]);
    for n in names {
        cmd.args(["-e", n]);
    }
    let out = cmd.output().expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

/// The opener's port of the connection with `role`.
fn port(world: &World, role: Role) -> String {
    connections(world)
        .iter()
        .find(|c| c.role == role)
        .map(|c| c.opener_port.to_string())
        .expect("connection with that role")
}

fn early_written(world: &World, role: Role) -> Vec<u8> {
    world
        .connections
        .iter()
        .find(|c| c.borrow().role == role)
        .map(|c| c.borrow().early_written.clone())
        .expect("connection with that role")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Concatenated decrypted application data of the client→server frames of the stream
/// from `port`, in frames before the one carrying EndOfEarlyData (handshake type 5).
fn data_before_end_of_early_data(path: &PathBuf, port: &str) -> (String, usize) {
    data_before_end_of_early_data_with(path, &[], port)
}

fn data_before_end_of_early_data_with(
    path: &PathBuf,
    extra: &[&str],
    port: &str,
) -> (String, usize) {
    let rows = fields_with(
        path,
        extra,
        &format!("tcp.srcport == {port}"),
        &["tls.handshake.type", "data.data"],
    );
    let mut data = String::new();
    let mut eoed_frames = 0;
    for row in &rows {
        let types: Vec<&str> = row[0].split(',').collect();
        if types.contains(&"5") {
            eoed_frames += 1;
        }
        if eoed_frames == 0 {
            data.push_str(&row[1].replace(',', ""));
        }
    }
    (data, eoed_frames)
}

/// tshark, reading `path` with `extra` arguments, decrypts on `world`'s 0-RTT stream
/// exactly the early data the client wrote, before the one client frame that carries
/// EndOfEarlyData.
#[track_caller]
fn assert_tshark_decrypts_the_early_data(world: &World, path: &PathBuf, extra: &[&str]) {
    let written = early_written(world, Role::ZeroRtt);
    assert!(!written.is_empty());
    let zero = port(world, Role::ZeroRtt);
    let (data, eoed_frames) = data_before_end_of_early_data_with(path, extra, &zero);
    assert_eq!(data, hex(&written));
    assert_eq!(eoed_frames, 1, "one client frame carries EndOfEarlyData");
}

#[test]
fn accepted_clienthello_offers_early_data_and_pre_shared_key_where_the_warmup_offers_neither() {
    if !tshark_present("accepted_clienthello") {
        return;
    }
    let (world, path) = capture("accepted");
    let rows = fields(
        &path,
        "tls.handshake.type == 1",
        &["tcp.srcport", "tls.handshake.extension.type"],
    );
    let extensions = |port: &str| -> Vec<String> {
        let row = rows
            .iter()
            .find(|r| r[0] == port)
            .unwrap_or_else(|| panic!("no ClientHello from port {port} in {rows:?}"));
        row[1].split(',').map(str::to_owned).collect()
    };
    // RFC 9846 4.2: early_data is extension 42, pre_shared_key 41.
    let zero = extensions(&port(&world, Role::ZeroRtt));
    assert!(zero.contains(&"42".to_owned()), "0rtt extensions {zero:?}");
    assert!(zero.contains(&"41".to_owned()), "0rtt extensions {zero:?}");
    assert_eq!(
        zero.last().map(String::as_str),
        Some("41"),
        "PSK comes last"
    );
    let warm = extensions(&port(&world, Role::Warmup));
    assert!(
        !warm.contains(&"42".to_owned()),
        "warmup extensions {warm:?}"
    );
    assert!(
        !warm.contains(&"41".to_owned()),
        "warmup extensions {warm:?}"
    );
}

#[test]
fn accepted_early_data_decrypted_by_tshark_from_the_embedded_secrets_equals_what_the_client_wrote()
{
    if !tshark_present("accepted_early_data") {
        return;
    }
    let (world, path) = capture("accepted");
    assert_tshark_decrypts_the_early_data(&world, &path, &[]);
}

#[test]
fn accepted_end_of_early_data_and_client_finished_decrypt_on_the_0rtt_stream_only() {
    if !tshark_present("accepted_end_of_early_data") {
        return;
    }
    let (world, path) = capture("accepted");
    let rows = fields(
        &path,
        "tls.handshake.type == 5",
        &["tcp.srcport", "tls.handshake.type"],
    );
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0][0], port(&world, Role::ZeroRtt));
    // EndOfEarlyData (5) then the client's Finished (20), in one flight.
    assert_eq!(rows[0][1], "5,20");
}

#[test]
fn loss_on_first_flight_tshark_marks_the_resent_clienthello_as_a_retransmission() {
    if !tshark_present("loss_on_first_flight") {
        return;
    }
    let (world, path) = capture("loss_on_first_flight");
    let zero = port(&world, Role::ZeroRtt);
    let retransmitted = fields(
        &path,
        "tcp.analysis.retransmission",
        &["tcp.srcport", "tcp.seq", "frame.time_relative"],
    );
    assert_eq!(retransmitted.len(), 1, "{retransmitted:?}");
    assert_eq!(retransmitted[0][0], zero);
    // The first data byte (relative seq 1): the ClientHello and its early data.
    assert_eq!(retransmitted[0][1], "1");
    let originals = fields(
        &path,
        &format!("tcp.srcport == {zero} && tls.handshake.type == 1"),
        &["frame.comment", "frame.time_relative"],
    );
    assert_eq!(originals.len(), 1, "{originals:?}");
    assert_eq!(originals[0][0], "lost on the link (partition)");
    let lost: f64 = originals[0][1].parse().expect("time");
    let resent: f64 = retransmitted[0][2].parse().expect("time");
    assert!(resent > lost, "resent at {resent}, lost at {lost}");
    // The same scenario without the loss has nothing to retransmit.
    let (_, clean) = capture("accepted");
    assert!(fields(&clean, "tcp.analysis.retransmission", &["frame.number"]).is_empty());
}

#[test]
fn replay_same_server_the_replayed_clienthello_comes_from_the_attacker_on_its_own_tcp_stream() {
    if !tshark_present("replay_same_server") {
        return;
    }
    let (world, path) = capture("replay_same_server");
    let rows = fields(
        &path,
        "tls.handshake.type == 1",
        &[
            "tcp.stream",
            "ip.src",
            "tcp.srcport",
            "tls.handshake.random",
        ],
    );
    let zero = port(&world, Role::ZeroRtt);
    let replay = port(&world, Role::Replay(0));
    let victim = rows
        .iter()
        .find(|r| r[2] == zero)
        .expect("0rtt ClientHello");
    let replayed = rows
        .iter()
        .find(|r| r[2] == replay)
        .expect("replayed ClientHello");
    assert_eq!(victim[1], "10.0.0.1");
    assert_eq!(replayed[1], "10.0.0.66");
    assert_ne!(victim[0], replayed[0], "its own TCP stream");
    assert_eq!(victim[3], replayed[3], "the same ClientHello.random");
    // Each connection's first SYN carries its name.
    let named = fields(
        &path,
        "tcp.flags.syn == 1 && tcp.flags.ack == 0",
        &["frame.comment"],
    );
    let names: Vec<&str> = named.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        names,
        [
            "zerortt connection warmup: client to server0",
            "zerortt connection 0rtt: client to server0",
            "zerortt connection replay0: attacker to server0",
        ]
    );
    // Same PSK and ClientHello, so the same early secret: the replayed early data
    // decrypts to the victim's bytes.
    let written = early_written(&world, Role::ZeroRtt);
    let (data, _) = data_before_end_of_early_data(&path, &replay);
    assert_eq!(data, hex(&written));
}

#[test]
fn accepted_with_rustls_at_both_ends_decrypts_the_early_data_from_the_secrets_rustls_logs() {
    if !tshark_present("accepted_rustls") {
        return;
    }
    let (world, path) = capture_on("accepted", Stack::Rustls);
    assert_tshark_decrypts_the_early_data(&world, &path, &[]);
}

#[test]
fn the_keylog_file_alone_decrypts_the_capture_once_its_embedded_secrets_are_stripped() {
    if !tshark_present("keylog_file") {
        return;
    }
    let (world, path) = capture("accepted");
    let stripped = temp("accepted-no-secrets.pcapng");
    let status = Command::new("editcap")
        .arg("--discard-all-secrets")
        .arg(&path)
        .arg(&stripped)
        .status()
        .expect("editcap (wireshark-common, installed with tshark) runs");
    assert!(status.success());
    let zero = port(&world, Role::ZeroRtt);
    // Without secrets tshark sees no plaintext at all.
    let (none, eoed) = data_before_end_of_early_data(&stripped, &zero);
    assert_eq!((none.as_str(), eoed), ("", 0));
    let keys = temp("accepted.keys");
    std::fs::write(&keys, keylog::nss_text(&keylog::secrets(&world))).expect("write keylog");
    let pref = format!("tls.keylog_file:{}", keys.display());
    assert_tshark_decrypts_the_early_data(&world, &stripped, &["-o", &pref]);
}

#[test]
fn tshark_measures_every_ack_rtt_of_accepted_as_the_scenario_round_trip() {
    if !tshark_present("ack_rtt") {
        return;
    }
    let (world, path) = capture("accepted");
    let rtt = 2.0 * world.scenario.network.latency_ms / 1000.0;
    let rows = fields(&path, "tcp.analysis.ack_rtt", &["tcp.analysis.ack_rtt"]);
    assert!(rows.len() >= 4, "{rows:?}");
    for row in rows {
        let measured: f64 = row[0].parse().expect("seconds");
        assert!(
            (measured - rtt).abs() < 1e-9,
            "ack_rtt {measured}, RTT {rtt}"
        );
    }
}

#[test]
fn capturing_changes_no_event_of_the_run_and_the_same_seed_writes_the_same_bytes() {
    let s = zerortt_sim::catalog::load("loss_on_first_flight").expect("catalog scenario");
    let plain = World::run(&s, 3);
    let captured = World::run_captured(&s, 3);
    assert_eq!(trace_text(&trace(&plain)), trace_text(&trace(&captured)));
    assert!(plain.fabric.captured().is_empty());
    assert!(!captured.fabric.captured().is_empty());
    let again = World::run_captured(&s, 3);
    assert_eq!(pcap::pcapng(&captured), pcap::pcapng(&again));
}

#[test]
fn every_ipv4_and_tcp_checksum_verifies_in_tshark() {
    if !tshark_present("checksums") {
        return;
    }
    for scenario in ["accepted", "loss_on_first_flight", "replay_same_server"] {
        let (world, path) = capture(scenario);
        let checks = [
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
        ];
        // Status 1 is "Good" for both (2 is "Bad").
        let rows = fields_with(
            &path,
            &checks,
            "tcp",
            &["tcp.checksum.status", "ip.checksum.status"],
        );
        let sent = world.fabric.captured().len();
        assert!(rows.len() >= sent / 2, "{scenario}: {} packets", rows.len());
        for row in rows {
            assert_eq!(row, ["1", "1"], "{scenario}");
        }
    }
}

#[test]
fn zerortt_run_writes_the_pcap_keylog_and_svg_it_is_asked_for_equal_to_the_library_output() {
    let (pcap_path, keys, svg) = (temp("cli.pcapng"), temp("cli.keys"), temp("cli.svg"));
    let out = Command::new(env!("CARGO_BIN_EXE_zerortt"))
        .args(["run", "nagle", "--pcap"])
        .arg(&pcap_path)
        .arg("--keylog")
        .arg(&keys)
        .arg("--svg")
        .arg(&svg)
        .output()
        .expect("zerortt runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = zerortt_sim::catalog::load("nagle").expect("catalog scenario");
    let world = World::run_captured(&s, 1);
    assert_eq!(
        std::fs::read(&pcap_path).expect("pcap"),
        pcap::pcapng(&world)
    );
    let lines = std::fs::read_to_string(&keys).expect("keylog");
    assert_eq!(lines, keylog::nss_text(&keylog::secrets(&world)));
    // Warm-up and 0-RTT: CLIENT_EARLY_TRAFFIC_SECRET only on the resumed connection.
    assert_eq!(lines.matches("CLIENT_EARLY_TRAFFIC_SECRET ").count(), 1);
    assert_eq!(lines.matches("CLIENT_HANDSHAKE_TRAFFIC_SECRET ").count(), 2);
    let drawn = std::fs::read_to_string(&svg).expect("svg");
    let panel = zerortt_sim::visual::svg::Panel::of(&world);
    assert_eq!(drawn, zerortt_sim::visual::svg::ladder(&[panel]));
}
