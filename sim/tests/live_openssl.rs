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
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn openssl_available() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED: the openssl binary is not installed (apt-get install openssl)");
    }
    ok
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/testdata")
}

/// The test identity `name` (core/testdata: `server-ecdsa-p256`, `server-rsa2048`, ...) as
/// PEM files for OpenSSL.
fn pem_identity(dir: &Path, name: &str) -> (String, String) {
    let key = dir.join("key.pem");
    let ran = run_bounded(
        Command::new("openssl").args([
            "pkey",
            "-inform",
            "DER",
            "-in",
            &testdata()
                .join(format!("{name}.key.pk8"))
                .display()
                .to_string(),
            "-out",
            &key.display().to_string(),
        ]),
        Duration::from_secs(10),
    );
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    (
        testdata().join(format!("{name}.pem")).display().to_string(),
        key.display().to_string(),
    )
}

/// `openssl s_server -accept 127.0.0.1:PORT ... EXTRA` with the ECDSA P-256 identity, once
/// it printed ACCEPT.
fn s_server(dir: &Path, extra: &[&str]) -> Server {
    s_server_with_identity(dir, "server-ecdsa-p256", extra)
}

/// [`s_server`] with the test identity `name`.
fn s_server_with_identity(dir: &Path, name: &str, extra: &[&str]) -> Server {
    let (cert, key) = pem_identity(dir, name);
    let port = free_port();
    let mut child = Command::new("openssl")
        .args(["s_server", "-accept", &format!("127.0.0.1:{port}")])
        .args(["-cert", &cert, "-key", &key])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl s_server");
    let stdout = collect(child.stdout.take().unwrap());
    let stderr = collect(child.stderr.take().unwrap());
    // Both streams into one text, stderr lines appended as they come.
    let merged = Arc::new(Mutex::new(String::new()));
    {
        let (merged, stdout, stderr) = (merged.clone(), stdout.clone(), stderr.clone());
        std::thread::spawn(move || loop {
            let text = format!("{}{}", stdout.lock().unwrap(), stderr.lock().unwrap());
            *merged.lock().unwrap() = text;
            if Arc::strong_count(&merged) == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        });
    }
    let server = Server {
        stdin: child.stdin.take(),
        child,
        port,
        stdout: merged,
    };
    server.wait_for("ACCEPT", 1, Duration::from_secs(10));
    server
}

fn ca() -> String {
    ca_pem().display().to_string()
}

#[test]
fn probe_against_openssl_s_server_early_data_passes_every_check_as_anti_replay_is_on_by_default() {
    if !openssl_available() {
        return;
    }
    let dir = temp_dir("ossl-probe-on");
    let server = s_server(&dir, &["-early_data"]);
    let (report, ran) = probe_json(&[&server.addr(), "--sni", "localhost", "--ca", &ca()]);
    assert_eq!(ran.code, Some(0), "{report}\n{}", ran.stderr);
    for name in [
        "tickets",
        "early_data_accepted",
        "ticket_reuse",
        "replay",
        "limit_exact",
        "limit_over",
    ] {
        assert_eq!(outcome(&report, name), "pass", "{name}: {report}");
    }
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
    let (report, ran) = probe_json(&[&server.addr(), "--sni", "localhost", "--ca", &ca()]);
    assert_eq!(ran.code, Some(0), "{report}\n{}", ran.stderr);
    for name in ["tickets", "early_data_accepted", "replay", "limit_over"] {
        assert_eq!(outcome(&report, name), "pass", "{name}: {report}");
    }
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
    let (report, ran) = probe_json(&[&server.addr(), "--sni", "localhost", "--ca", &ca()]);
    assert_eq!(ran.code, Some(1), "{report}\n{}", ran.stderr);
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
    let first = zerortt(&[
        "connect",
        &server.addr(),
        "--sni",
        "localhost",
        "--ca",
        &ca(),
        "--sess-out",
        &sess,
    ]);
    assert_eq!(first.code, Some(0), "{}\n{}", first.stdout, first.stderr);
    assert!(
        first.stdout.contains("tickets: 2 received"),
        "{}",
        first.stdout
    );
    let second = zerortt(&[
        "connect",
        &server.addr(),
        "--sni",
        "localhost",
        "--ca",
        &ca(),
        "--sess-in",
        &sess,
        "--early-data",
        &early.display().to_string(),
        "--nodelay",
    ]);
    assert_eq!(second.code, Some(0), "{}\n{}", second.stdout, second.stderr);
    assert!(second.stdout.contains("resumed yes"), "{}", second.stdout);
    assert!(
        second.stdout.contains("early data: accepted"),
        "{}",
        second.stdout
    );
    assert!(
        second
            .stdout
            .contains("first flight with 32 bytes of early data"),
        "{}",
        second.stdout
    );
    let out = server.wait_for(
        "zerortt early data for s_server",
        1,
        Duration::from_secs(10),
    );
    assert!(out.contains("Early data received:"), "{out}");
    assert!(out.contains("Reused session-id"), "{out}");
}

/// Runs s_client with `stdin_text` on its stdin (held open), until it exits (bounded).
fn s_client(args: &[&str], stdin_text: &[u8]) -> Ran {
    let mut child = Command::new("openssl")
        .arg("s_client")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl s_client");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(stdin_text).unwrap();
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let start = zerortt_sim::live::instant();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "s_client did not end:\n{}",
            out.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    std::thread::sleep(Duration::from_millis(50));
    let stdout = out.lock().unwrap().clone();
    let stderr = err.lock().unwrap().clone();
    Ran {
        code: status.code(),
        stdout,
        stderr,
    }
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
    let common = [
        "-connect",
        &server.addr(),
        "-servername",
        "localhost",
        "-CAfile",
        &ca(),
    ];
    let mut args = common.to_vec();
    args.extend(["-sess_out", &sess]);
    let first = s_client(&args, b"hello\n");
    assert!(first.stdout.contains("New, TLSv1.3"), "{}", first.stdout);
    assert!(
        first.stdout.contains("Early data was not sent"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains(
            "zerortt serve: connection 1, resumed no, early data not sent, request 6 bytes"
        ),
        "{}",
        first.stdout
    );
    let early_s = early.display().to_string();
    let mut args = common.to_vec();
    args.extend(["-sess_in", &sess, "-early_data", &early_s]);
    let second = s_client(&args, b"");
    // Both sides agree: resumed, early data accepted.
    assert!(
        second.stdout.contains("Reused, TLSv1.3"),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains("Early data was accepted"),
        "{}",
        second.stdout
    );
    assert!(
        second
            .stdout
            .contains("resumed yes, early data accepted, request 18 bytes"),
        "{}",
        second.stdout
    );
    let line = server.conn_line(2);
    assert!(
        line.contains("resumed=yes early_data=accepted early_bytes=18"),
        "{line}"
    );
}

#[test]
fn a_tls_1_2_only_server_makes_the_probe_exit_4_with_an_alert_explained() {
    if !openssl_available() {
        return;
    }
    let dir = temp_dir("ossl-tls12");
    let server = s_server(&dir, &["-tls1_2"]);
    let ran = zerortt(&["probe", &server.addr(), "--sni", "localhost", "--ca", &ca()]);
    assert_eq!(ran.code, Some(4), "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr.contains("sent alert protocol_version"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("TLS 1.2-only server"), "{}", ran.stderr);
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
    let client_log_s = client_log.display().to_string();
    let common = [
        "connect",
        &server.addr(),
        "--sni",
        "localhost",
        "--ca",
        &ca(),
        "--keylog",
        &client_log_s,
    ];
    let mut first = common.to_vec();
    first.extend(["--sess-out", &sess]);
    assert_eq!(zerortt(&first).code, Some(0));
    let early_s = early.display().to_string();
    let mut second = common.to_vec();
    second.extend(["--sess-in", &sess, "--early-data", &early_s]);
    let ran = zerortt(&second);
    assert!(
        ran.stdout.contains("early data: accepted"),
        "{}",
        ran.stdout
    );
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
