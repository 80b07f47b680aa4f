//! `zerortt serve`, `connect` and `probe` over real sockets on 127.0.0.1, against servers
//! the tests start themselves: `zerortt serve` (a child process) and a rustls server on a
//! thread; plus the bad inputs that need no OpenSSL.

mod live_support;

use live_support::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

fn ca() -> String {
    ca_pem().display().to_string()
}

#[test]
fn probe_against_zerortt_serve_with_anti_replay_passes_every_check_and_exits_0() {
    let server = zerortt_serve(&["--half-rtt"]);
    let (report, ran) = probe_json(&[&server.addr(), "--sni", "localhost", "--ca", &ca()]);
    assert_eq!(ran.code, Some(0), "{}\n{}", ran.stdout, ran.stderr);
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
    assert_eq!(outcome(&report, "freshness"), "not_applicable");
    assert_eq!(report["max_early_data"], 16384);
    assert!(evidence(&report, "replay").contains("resumed no, early data rejected"));
    // The server's own view of the replay (connection 4): the single-use ticket was gone,
    // so it made a full handshake and read no early data.
    let replay = server.conn_line(4);
    assert!(
        replay.contains("resumed=no early_data=rejected early_bytes=0"),
        "{replay}"
    );
    let over = server.conn_line(6);
    assert!(over.contains("TooMuchEarlyData"), "{over}");
}

#[test]
fn probe_against_zerortt_serve_without_anti_replay_fails_the_replay_check_and_exits_1() {
    let server = zerortt_serve(&["--no-anti-replay", "--half-rtt"]);
    let (report, ran) = probe_json(&[&server.addr(), "--sni", "localhost", "--ca", &ca()]);
    assert_eq!(ran.code, Some(1), "{}\n{}", ran.stdout, ran.stderr);
    assert_eq!(report["exit_code"], 1);
    assert_eq!(outcome(&report, "replay"), "fail");
    assert_eq!(outcome(&report, "ticket_reuse"), "warn");
    assert_eq!(outcome(&report, "limit_over"), "pass");
    let ev = evidence(&report, "replay");
    assert!(
        ev.contains("early data accepted by EncryptedExtensions"),
        "{ev}"
    );
    // The probe decrypted the server's 0.5-RTT answer to the replay.
    assert!(
        ev.contains("bytes of 0.5-RTT data: \"HTTP/1.1 200 OK\""),
        "{ev}"
    );
    // And the server says it handed the replayed early data to its application.
    let request_len = live_request_len();
    let replay = server.conn_line(4);
    assert!(
        replay.contains(&format!(
            "resumed=yes early_data=accepted early_bytes={request_len}"
        )),
        "{replay}"
    );
    assert!(replay.contains("handshake=incomplete"), "{replay}");
}

/// The default request's length for SNI `localhost`.
fn live_request_len() -> usize {
    zerortt_sim::live::probe::default_request("localhost").len()
}

#[test]
fn a_replay_later_than_the_ticket_age_tolerance_is_rejected_by_the_freshness_check() {
    let server = zerortt_serve(&["--no-anti-replay", "--ticket-age-tolerance-ms", "1000"]);
    let (report, ran) = probe_json(&[
        &server.addr(),
        "--sni",
        "localhost",
        "--ca",
        &ca(),
        "--replay-after",
        "2500ms",
    ]);
    // The immediate replay is accepted (exit 1), the late one is not.
    assert_eq!(ran.code, Some(1), "{}", ran.stdout);
    assert_eq!(outcome(&report, "replay"), "fail");
    assert_eq!(outcome(&report, "freshness"), "pass");
    let ev = evidence(&report, "freshness");
    assert!(ev.contains("after 2500 ms"), "{ev}");
    assert!(ev.contains("resumed yes, early data rejected"), "{ev}");
}

#[test]
fn a_server_that_sends_no_tickets_makes_every_replay_check_not_applicable_and_exit_0() {
    let server = zerortt_serve(&["--num-tickets", "0"]);
    let (report, ran) = probe_json(&[&server.addr(), "--sni", "localhost", "--ca", &ca()]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(outcome(&report, "tickets"), "not_applicable");
    assert_eq!(outcome(&report, "replay"), "not_applicable");
    assert!(evidence(&report, "tickets").contains("no NewSessionTicket"));
    assert_eq!(report["connections"], 1);
}

#[test]
fn connect_writes_a_session_file_and_resumes_it_with_early_data_that_serve_accepts() {
    let dir = temp_dir("connect");
    let sess = dir.join("sess.txt");
    let early = dir.join("early.txt");
    std::fs::write(&early, b"hello from early data\n").unwrap();
    let server = zerortt_serve(&[]);
    let sess_s = sess.display().to_string();
    let first = zerortt(&[
        "connect",
        &server.addr(),
        "--sni",
        "localhost",
        "--ca",
        &ca(),
        "--request",
        &early.display().to_string(),
        "--sess-out",
        &sess_s,
    ]);
    assert_eq!(first.code, Some(0), "{}\n{}", first.stdout, first.stderr);
    assert!(
        first.stdout.contains("early data: not sent"),
        "{}",
        first.stdout
    );
    let text = std::fs::read_to_string(&sess).unwrap();
    assert!(text.starts_with("zerortt-session 1\n"), "{text}");
    assert!(text.contains("max_early_data: 16384"), "{text}");

    let second = zerortt(&[
        "connect",
        &server.addr(),
        "--sni",
        "localhost",
        "--ca",
        &ca(),
        "--early-data",
        &early.display().to_string(),
        "--sess-in",
        &sess_s,
    ]);
    assert_eq!(second.code, Some(0), "{}\n{}", second.stdout, second.stderr);
    assert!(second.stdout.contains("resumed yes"), "{}", second.stdout);
    assert!(
        second.stdout.contains("early data: accepted"),
        "{}",
        second.stdout
    );
    assert!(
        second.stdout.contains(
            "zerortt serve: connection 2, resumed yes, early data accepted, request 22 bytes"
        ),
        "{}",
        second.stdout
    );
    let line = server.conn_line(2);
    assert!(
        line.contains("resumed=yes early_data=accepted early_bytes=22"),
        "{line}"
    );
}

#[test]
fn client_and_server_key_logs_hold_the_same_nss_lines_for_a_0rtt_connection() {
    let dir = temp_dir("keylog");
    let (client_log, server_log) = (dir.join("client.log"), dir.join("server.log"));
    let server = zerortt_serve(&["--keylog", &server_log.display().to_string()]);
    let (_, ran) = probe_json(&[
        &server.addr(),
        "--sni",
        "localhost",
        "--ca",
        &ca(),
        "--keylog",
        &client_log.display().to_string(),
    ]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    drop(server);
    let client = std::fs::read_to_string(&client_log).unwrap();
    let server = std::fs::read_to_string(&server_log).unwrap();
    let early: Vec<&str> = client
        .lines()
        .filter(|l| l.starts_with("CLIENT_EARLY_TRAFFIC_SECRET "))
        .collect();
    // Early data on the legitimate connection, its replay (same client random, same
    // secret), the reuse and the two limit checks.
    assert!(early.len() >= 4, "{client}");
    for line in client.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields.len(), 3, "{line}");
        assert_eq!(fields[1].len(), 64, "{line}");
        assert!(fields[2].len() == 64 || fields[2].len() == 96, "{line}");
    }
    // Every secret the server derived for a connection that completed is the client's too.
    for label in ["CLIENT_TRAFFIC_SECRET_0 ", "SERVER_TRAFFIC_SECRET_0 "] {
        let server_lines: Vec<&str> = server.lines().filter(|l| l.starts_with(label)).collect();
        assert!(!server_lines.is_empty(), "{server}");
        for l in server_lines {
            assert!(client.contains(l), "server line not in client log: {l}");
        }
    }
}

#[test]
fn probe_against_a_rustls_server_passes_every_check() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = Arc::new(rustls_server_config());
    thread::spawn(move || {
        for stream in listener.incoming().take(8).flatten() {
            serve_rustls(&config, stream);
        }
    });
    let addr = format!("127.0.0.1:{port}");
    let (report, ran) = probe_json(&[&addr, "--sni", "localhost", "--ca", &ca()]);
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
    assert!(evidence(&report, "early_data_accepted").contains("rustls answers"));
}

/// rustls 0.23 with early data on: it requires stateful resumption for early data and takes
/// each session out of its store when used (`server/tls13.rs`), so tickets are single-use.
fn rustls_server_config() -> rustls::ServerConfig {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/testdata");
    let cert = std::fs::read(dir.join("server-ecdsa-p256.der")).unwrap();
    let key = std::fs::read(dir.join("server-ecdsa-p256.key.pk8")).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut c = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        )
        .unwrap();
    c.max_early_data_size = 16384;
    c
}

fn serve_rustls(config: &Arc<rustls::ServerConfig>, mut sock: std::net::TcpStream) {
    let _ = sock.set_read_timeout(Some(Duration::from_secs(3)));
    let Ok(mut conn) = rustls::ServerConnection::new(config.clone()) else {
        return;
    };
    while conn.is_handshaking() {
        if conn.complete_io(&mut sock).is_err() {
            return;
        }
        if let Some(mut early) = conn.early_data() {
            let mut sink = Vec::new();
            let _ = early.read_to_end(&mut sink);
        }
    }
    let _ = conn.writer().write_all(b"rustls answers\n");
    conn.send_close_notify();
    let _ = conn.complete_io(&mut sock);
}

#[test]
fn a_refused_connection_exits_3_with_a_message_saying_so() {
    let port = free_port();
    let ran = zerortt(&["probe", &format!("127.0.0.1:{port}"), "--insecure"]);
    assert_eq!(ran.code, Some(3), "{}", ran.stderr);
    assert!(ran.stderr.contains("connection refused"), "{}", ran.stderr);
}

#[test]
fn a_server_that_is_not_tls_exits_4_and_shows_its_first_bytes() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
            thread::sleep(Duration::from_millis(500));
        }
    });
    let ran = zerortt(&["connect", &format!("127.0.0.1:{port}"), "--insecure"]);
    assert_eq!(ran.code, Some(4), "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stderr.contains("is not a TLS server"), "{}", ran.stderr);
    assert!(ran.stderr.contains("HTTP/1.1"), "{}", ran.stderr);
}

#[test]
fn a_silent_server_times_out_with_exit_5() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((s, _)) = listener.accept() {
            thread::sleep(Duration::from_secs(3));
            drop(s);
        }
    });
    let ran = zerortt(&[
        "probe",
        &format!("127.0.0.1:{port}"),
        "--insecure",
        "--timeout-ms",
        "400",
    ]);
    assert_eq!(ran.code, Some(5), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("sent nothing for 400 ms"),
        "{}",
        ran.stderr
    );
}

#[test]
fn a_server_that_closes_after_the_client_hello_exits_5() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf);
        }
    });
    let ran = zerortt(&["connect", &format!("127.0.0.1:{port}"), "--insecure"]);
    assert_eq!(ran.code, Some(5), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("closed the connection"),
        "{}",
        ran.stderr
    );
}

#[test]
fn bad_arguments_exit_2_naming_the_expected_form() {
    let ran = zerortt(&["probe", "localhost", "--insecure"]);
    assert_eq!(ran.code, Some(2));
    assert!(ran.stderr.contains("expected HOST:PORT"), "{}", ran.stderr);
    let ran = zerortt(&["serve", "--allow-early-data", "sometimes"]);
    assert_eq!(ran.code, Some(2));
    assert!(
        ran.stderr.contains("expected always or never"),
        "{}",
        ran.stderr
    );
    let dir = temp_dir("badsess");
    let pem = dir.join("s.pem");
    std::fs::write(&pem, "-----BEGIN SSL SESSION PARAMETERS-----\n").unwrap();
    let ran = zerortt(&[
        "connect",
        "127.0.0.1:1",
        "--insecure",
        "--sess-in",
        &pem.display().to_string(),
    ]);
    assert_eq!(ran.code, Some(2));
    assert!(
        ran.stderr.contains("OpenSSL's -sess_out PEM"),
        "{}",
        ran.stderr
    );
}

#[test]
fn serve_knobs_that_refuse_early_data_make_the_probe_warn_and_stop_before_the_replay() {
    for (knob, evidence_part) in [
        (&["--hello-retry"][..], "HelloRetryRequest"),
        (
            &["--allow-early-data", "never"][..],
            "resumed yes, early data rejected",
        ),
    ] {
        let server = zerortt_serve(knob);
        let (report, ran) = probe_json(&[&server.addr(), "--sni", "localhost", "--ca", &ca()]);
        assert_eq!(ran.code, Some(0), "{knob:?}: {}", ran.stderr);
        assert_eq!(
            outcome(&report, "early_data_accepted"),
            "warn",
            "{knob:?}: {report}"
        );
        let ev = evidence(&report, "early_data_accepted");
        assert!(ev.contains(evidence_part), "{knob:?}: {ev}");
        assert_eq!(outcome(&report, "replay"), "not_applicable");
        let line = server.conn_line(2);
        assert!(
            line.contains("resumed=yes early_data=rejected"),
            "{knob:?}: {line}"
        );
    }
}

#[test]
fn tickets_with_max_early_data_0_make_the_0rtt_checks_not_applicable() {
    let server = zerortt_serve(&["--max-early-data", "0"]);
    let (report, ran) = probe_json(&[&server.addr(), "--sni", "localhost", "--ca", &ca()]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert_eq!(report["max_early_data"], 0);
    assert_eq!(outcome(&report, "tickets"), "pass");
    assert_eq!(outcome(&report, "early_data_accepted"), "not_applicable");
    assert!(evidence(&report, "replay").contains("max_early_data 0"));
    assert_eq!(report["connections"], 1);
}

#[test]
fn connect_negotiates_the_alpn_protocol_serve_prefers_among_those_offered() {
    let server = zerortt_serve(&["--alpn", "h2,http/1.1"]);
    let ran = zerortt(&[
        "connect",
        &server.addr(),
        "--sni",
        "localhost",
        "--ca",
        &ca(),
        "--alpn",
        "http/1.1,h2",
    ]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stdout.contains("ALPN h2"), "{}", ran.stdout);
}

#[test]
fn a_certificate_from_an_unknown_ca_exits_4_naming_the_way_out() {
    let server = zerortt_serve(&[]);
    let other =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/testdata/other-ca.der");
    let ran = zerortt(&[
        "probe",
        &server.addr(),
        "--sni",
        "localhost",
        "--ca",
        &other.display().to_string(),
    ]);
    assert_eq!(ran.code, Some(4), "{}", ran.stderr);
    assert!(
        ran.stderr.contains("certificate not trusted"),
        "{}",
        ran.stderr
    );
    assert!(ran.stderr.contains("UnknownIssuer"), "{}", ran.stderr);
}

#[test]
fn an_address_nobody_answers_exits_3_within_the_connect_timeout() {
    // 100::/64 is discard-only (RFC 6666): a timeout, or unreachable where IPv6 is off.
    let ran = zerortt(&[
        "connect",
        "[100::1]:443",
        "--insecure",
        "--timeout-ms",
        "300",
    ]);
    assert_eq!(ran.code, Some(3), "{}", ran.stderr);
    assert!(ran.stderr.contains("cannot connect to"), "{}", ran.stderr);
}

#[test]
fn serve_loads_a_pem_certificate_with_a_der_key_and_refuses_a_key_of_another_certificate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/testdata");
    let cert = dir.join("server-ed25519.pem").display().to_string();
    let key = dir.join("server-ed25519.key.pk8").display().to_string();
    let server = zerortt_serve(&["--cert", &cert, "--key", &key]);
    let ran = zerortt(&[
        "connect",
        &server.addr(),
        "--sni",
        "zerortt.test",
        "--ca",
        &ca(),
    ]);
    assert_eq!(ran.code, Some(0), "{}", ran.stderr);
    assert!(ran.stdout.contains("handshake done"), "{}", ran.stdout);

    let wrong = dir.join("server-ecdsa-p256.key.pk8").display().to_string();
    let ran = zerortt(&[
        "serve",
        "--cert",
        &cert,
        "--key",
        &wrong,
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(ran.code, Some(2));
    assert!(
        ran.stderr
            .contains("the private key does not match the leaf certificate"),
        "{}",
        ran.stderr
    );
}
