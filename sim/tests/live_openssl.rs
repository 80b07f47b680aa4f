//! `zerortt probe` and `connect` against `openssl s_server`, and `openssl s_client` against
//! `zerortt serve`, on 127.0.0.1. Skipped, with a visible message, where the `openssl`
//! binary is missing (`.ci/run` installs it).
//!
//! What s_server does, from OpenSSL's apps/s_server.c: `-early_data` sets max_early_data to
//! SSL3_RT_MAX_PLAIN_LENGTH (16384) and reads with SSL_read_early_data before the
//! handshake, printing "Early data received:" then the data, or "Early data was rejected";
//! it keeps an internal session cache (128 entries) and sends two tickets (s_server(1):
//! "The default number of tickets is 2"). Replay protection is on unless `-no_anti_replay`
//! (s_server(1): "A full handshake is forced if a session ticket is used a second or
//! subsequent time. Any early data that was sent will be rejected."). It never writes to
//! the client on its own, and it exits when its stdin ends, so the tests hold stdin open.

mod live_support;

use live_support::*;
use std::path::Path;
use std::time::Duration;

#[test]
fn probe_against_openssl_s_server_early_data_passes_every_check_as_anti_replay_is_on_by_default() {
    if !openssl_available() {
        return;
    }
    let server = s_server(&temp_dir("ossl-probe-on"), &["-early_data"]);
    let (report, ran) = probe(&server.addr(), &[]);
    ran.assert_exit(0);
    assert_pass(&report, &EVERY_CHECK);
    assert_eq!(report["max_early_data"], 16384);
    assert!(evidence(&report, "limit_over").contains("unexpected_message"));
    // s_server's side: the reuse and the replay were both refused early data.
    let out = server.wait_for("Early data was rejected", 2, Duration::from_secs(10));
    assert_eq!(out.matches("Early data received:").count(), 3, "{out}");
}

/// The probe against an `openssl s_server -early_data` holding `identity`: the full
/// handshake's CertificateVerify verifies (else the probe exits 4) and every check passes.
fn probe_passes_against_s_server_holding(identity: &str) {
    let dir = temp_dir(&format!("ossl-probe-{identity}"));
    let server = s_server_with_identity(&dir, identity, &["-early_data"]);
    let (report, ran) = probe(&server.addr(), &[]);
    ran.assert_exit(0);
    assert_pass(
        &report,
        &["tickets", "early_data_accepted", "replay", "limit_over"],
    );
}

#[test]
fn probe_verifies_an_rsa_server_s_rsa_pss_certificate_verify_and_passes_every_check() {
    if !openssl_available() {
        return;
    }
    probe_passes_against_s_server_holding("server-rsa2048");
}

#[test]
fn probe_verifies_an_ecdsa_p384_server_and_passes_every_check() {
    if !openssl_available() {
        return;
    }
    probe_passes_against_s_server_holding("server-ecdsa-p384");
}

#[test]
fn probe_against_openssl_s_server_no_anti_replay_fails_the_replay_check_and_exits_1() {
    if !openssl_available() {
        return;
    }
    let dir = temp_dir("ossl-probe-off");
    let server = s_server(&dir, &["-early_data", "-no_anti_replay"]);
    let (report, ran) = probe(&server.addr(), &[]);
    ran.assert_exit(1);
    assert_eq!(outcome(&report, "replay"), "fail");
    assert!(evidence(&report, "replay").contains("resumed yes, early data accepted"));
    assert_eq!(outcome(&report, "limit_over"), "pass");
    // s_server printed the early data of the first use, the reuse and the replay, and of
    // the two limit checks: two more than with anti-replay on.
    let out = server.wait_for("Early data received:", 5, Duration::from_secs(10));
    assert!(!out.contains("Early data was rejected"), "{out}");
}

#[test]
fn connect_resumes_with_early_data_that_openssl_s_server_accepts_and_prints() {
    if !openssl_available() {
        return;
    }
    let dir = temp_dir("ossl-connect");
    let server = s_server(&dir, &["-early_data"]);
    let sess = dir.join("sess.txt").display().to_string();
    let early = dir.join("early.txt");
    std::fs::write(&early, b"zerortt early data for s_server\n").unwrap();
    let first = connect(&server.addr(), &["--sess-out", &sess]);
    first.assert_exit(0);
    assert_contains(&first.stdout, "tickets: 2 received");
    let early = early.display().to_string();
    let second = connect(
        &server.addr(),
        &["--sess-in", &sess, "--early-data", &early, "--nodelay"],
    );
    second.assert_exit(0);
    assert_contains(&second.stdout, "resumed yes");
    assert_contains(&second.stdout, "early data: accepted");
    assert_contains(&second.stdout, "first flight with 32 bytes of early data");
    let out = server.wait_for(
        "zerortt early data for s_server",
        1,
        Duration::from_secs(10),
    );
    assert_contains(&out, "Early data received:");
    assert_contains(&out, "Reused session-id");
}

#[test]
fn openssl_s_client_resumes_with_early_data_that_zerortt_serve_accepts() {
    if !openssl_available() {
        return;
    }
    let dir = temp_dir("ossl-s-client");
    let sess = dir.join("sess.pem").display().to_string();
    let early = dir.join("early.txt");
    std::fs::write(&early, b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let server = zerortt_serve(&[]);
    let (addr, ca) = (server.addr(), ca());
    let common = [
        "-connect",
        &addr,
        "-servername",
        "localhost",
        "-CAfile",
        &ca,
    ];
    let first = s_client(&[&common[..], &["-sess_out", &sess]].concat(), b"hello\n");
    assert_contains(&first.stdout, "New, TLSv1.3");
    assert_contains(&first.stdout, "Early data was not sent");
    assert_contains(
        &first.stdout,
        "zerortt serve: connection 1, resumed no, early data not sent, request 6 bytes",
    );
    let early = early.display().to_string();
    let resume = ["-sess_in", &sess, "-early_data", &early];
    let second = s_client(&[&common[..], &resume].concat(), b"");
    // Both sides agree: resumed, early data accepted.
    assert_contains(&second.stdout, "Reused, TLSv1.3");
    assert_contains(&second.stdout, "Early data was accepted");
    assert_serve_accepted_early_data(&server, &second.stdout, 2, 18);
}

#[test]
fn a_tls_1_2_only_server_makes_the_probe_exit_4_with_an_alert_explained() {
    if !openssl_available() {
        return;
    }
    let server = s_server(&temp_dir("ossl-tls12"), &["-tls1_2"]);
    let ran = zerortt_at("probe", &server.addr(), &[]);
    ran.assert_exit(4);
    assert_contains(&ran.stderr, "sent alert protocol_version");
    assert_contains(&ran.stderr, "TLS 1.2-only server");
}

#[test]
fn the_key_log_of_a_0rtt_connection_equals_the_one_openssl_s_server_writes() {
    if !openssl_available() {
        return;
    }
    let dir = temp_dir("ossl-keylog");
    let server_log = dir.join("server.log");
    let client_log = dir.join("client.log");
    let server = s_server(
        &dir,
        &[
            "-early_data",
            "-keylogfile",
            &server_log.display().to_string(),
        ],
    );
    let sess = dir.join("sess.txt").display().to_string();
    let early = dir.join("early.txt");
    std::fs::write(&early, b"key log me\n").unwrap();
    let keylog = ["--keylog", &client_log.display().to_string()];
    let first = connect(
        &server.addr(),
        &[&keylog[..], &["--sess-out", &sess]].concat(),
    );
    first.assert_exit(0);
    let early = early.display().to_string();
    let resume = ["--sess-in", &sess, "--early-data", &early];
    let ran = connect(&server.addr(), &[&keylog[..], &resume].concat());
    assert_contains(&ran.stdout, "early data: accepted");
    server.wait_for("key log me", 1, Duration::from_secs(10));
    let sorted = |path: &Path| {
        let mut lines: Vec<String> = std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    let ours = sorted(&client_log);
    // Two connections: five secrets each (handshake and application traffic both ways,
    // exporter), plus the early traffic and early exporter secrets of the 0-RTT one.
    assert_eq!(ours.len(), 12, "{ours:#?}");
    assert!(ours
        .iter()
        .any(|l| l.starts_with("CLIENT_EARLY_TRAFFIC_SECRET ")));
    assert_eq!(ours, sorted(&server_log));
}
