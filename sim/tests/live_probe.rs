//! `zerortt serve`, `connect` and `probe` over real sockets on 127.0.0.1, against servers
//! the tests start themselves: `zerortt serve` (a child process) and a rustls server on a
//! thread; plus the bad inputs that need no OpenSSL.

mod live_support;

use live_support::*;
use std::io::{Read, Write};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

#[test]
fn probe_against_zerortt_serve_with_anti_replay_passes_every_check_and_exits_0() {
    let server = zerortt_serve(&["--half-rtt"]);
    let (report, ran) = probe(&server.addr(), &[]);
    ran.assert_exit(0);
    assert_pass(&report, &EVERY_CHECK);
    assert_eq!(outcome(&report, "freshness"), "not_applicable");
    assert_eq!(report["max_early_data"], 16384);
    assert!(evidence(&report, "replay").contains("resumed no, early data rejected"));
    // The server's own view of the replay (connection 4): the single-use ticket was gone,
    // so it made a full handshake and read no early data.
    assert_contains(
        &server.conn_line(4),
        "resumed=no early_data=rejected early_bytes=0",
    );
    assert_contains(&server.conn_line(6), "TooMuchEarlyData");
}

#[test]
fn probe_against_zerortt_serve_without_anti_replay_fails_the_replay_check_and_exits_1() {
    let server = zerortt_serve(&["--no-anti-replay", "--half-rtt"]);
    let (report, ran) = probe(&server.addr(), &[]);
    ran.assert_exit(1);
    assert_eq!(report["exit_code"], 1);
    assert_eq!(outcome(&report, "replay"), "fail");
    assert_eq!(outcome(&report, "ticket_reuse"), "warn");
    assert_eq!(outcome(&report, "limit_over"), "pass");
    let ev = evidence(&report, "replay");
    assert_contains(&ev, "early data accepted by EncryptedExtensions");
    // The probe decrypted the server's 0.5-RTT answer to the replay.
    assert_contains(&ev, "bytes of 0.5-RTT data: \"HTTP/1.1 200 OK\"");
    // And the server says it handed the replayed early data to its application.
    let request_len = live_request_len();
    let replay = server.conn_line(4);
    assert_contains(
        &replay,
        &format!("resumed=yes early_data=accepted early_bytes={request_len}"),
    );
    assert_contains(&replay, "handshake=incomplete");
}

/// The default request's length for SNI `localhost`.
fn live_request_len() -> usize {
    zerortt_sim::live::probe::default_request("localhost").len()
}

#[test]
fn a_replay_later_than_the_ticket_age_tolerance_is_rejected_by_the_freshness_check() {
    let server = zerortt_serve(&["--no-anti-replay", "--ticket-age-tolerance-ms", "1000"]);
    let (report, ran) = probe(&server.addr(), &["--replay-after", "2500ms"]);
    // The immediate replay is accepted (exit 1), the late one is not.
    ran.assert_exit(1);
    assert_eq!(outcome(&report, "replay"), "fail");
    assert_eq!(outcome(&report, "freshness"), "pass");
    let ev = evidence(&report, "freshness");
    assert_contains(&ev, "after 2500 ms");
    assert_contains(&ev, "resumed yes, early data rejected");
}

#[test]
fn a_server_that_sends_no_tickets_makes_every_replay_check_not_applicable_and_exit_0() {
    let server = zerortt_serve(&["--num-tickets", "0"]);
    let (report, ran) = probe(&server.addr(), &[]);
    ran.assert_exit(0);
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
    let (sess_s, early_s) = (sess.display().to_string(), early.display().to_string());
    let first = connect(
        &server.addr(),
        &["--request", &early_s, "--sess-out", &sess_s],
    );
    first.assert_exit(0);
    assert_contains(&first.stdout, "early data: not sent");
    let text = std::fs::read_to_string(&sess).unwrap();
    assert!(text.starts_with("zerortt-session 1\n"), "{text}");
    assert_contains(&text, "max_early_data: 16384");

    let second = connect(
        &server.addr(),
        &["--early-data", &early_s, "--sess-in", &sess_s],
    );
    second.assert_exit(0);
    assert_contains(&second.stdout, "resumed yes");
    assert_contains(&second.stdout, "early data: accepted");
    assert_serve_accepted_early_data(&server, &second.stdout, 2, 22);
}

#[test]
fn client_and_server_key_logs_hold_the_same_nss_lines_for_a_0rtt_connection() {
    let dir = temp_dir("keylog");
    let (client_log, server_log) = (dir.join("client.log"), dir.join("server.log"));
    let server = zerortt_serve(&["--keylog", &server_log.display().to_string()]);
    let (_, ran) = probe(
        &server.addr(),
        &["--keylog", &client_log.display().to_string()],
    );
    ran.assert_exit(0);
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
    let config = Arc::new(rustls_server_config());
    let addr = tcp_server(8, move |stream| serve_rustls(&config, stream));
    let (report, ran) = probe(&addr, &[]);
    ran.assert_exit(0);
    assert_pass(&report, &EVERY_CHECK);
    assert!(evidence(&report, "early_data_accepted").contains("rustls answers"));
}

/// rustls 0.23 with early data on: it requires stateful resumption for early data and takes
/// each session out of its store when used (`server/tls13.rs`), so tickets are single-use.
fn rustls_server_config() -> rustls::ServerConfig {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let cert = std::fs::read(testdata().join("server-ecdsa-p256.der")).unwrap();
    let key = std::fs::read(testdata().join("server-ecdsa-p256.key.pk8")).unwrap();
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
    let port = refused_port();
    let ran = zerortt(&["probe", &format!("127.0.0.1:{port}"), "--insecure"]);
    ran.assert_exit(3);
    assert_contains(&ran.stderr, "connection refused");
}

#[test]
fn a_server_that_is_not_tls_exits_4_and_shows_its_first_bytes() {
    let addr = tcp_server(1, |mut s| {
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
        thread::sleep(Duration::from_millis(500));
    });
    let ran = zerortt(&["connect", &addr, "--insecure"]);
    ran.assert_exit(4);
    assert_contains(&ran.stderr, "is not a TLS server");
    assert_contains(&ran.stderr, "HTTP/1.1");
}

#[test]
fn a_silent_server_times_out_with_exit_5() {
    let addr = tcp_server(1, |s| {
        thread::sleep(Duration::from_secs(3));
        drop(s);
    });
    let ran = zerortt(&["probe", &addr, "--insecure", "--timeout-ms", "400"]);
    ran.assert_exit(5);
    assert_contains(&ran.stderr, "sent nothing for 400 ms");
}

#[test]
fn a_server_that_closes_after_the_client_hello_exits_5() {
    let addr = tcp_server(1, |mut s| {
        let mut buf = [0u8; 512];
        let _ = s.read(&mut buf);
    });
    let ran = zerortt(&["connect", &addr, "--insecure"]);
    ran.assert_exit(5);
    assert_contains(&ran.stderr, "closed the connection");
}

#[test]
fn bad_arguments_exit_2_naming_the_expected_form() {
    let ran = zerortt(&["probe", "localhost", "--insecure"]);
    ran.assert_exit(2);
    assert_contains(&ran.stderr, "expected HOST:PORT");
    let ran = zerortt(&["serve", "--allow-early-data", "sometimes"]);
    ran.assert_exit(2);
    assert_contains(&ran.stderr, "expected always or never");
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
    ran.assert_exit(2);
    assert_contains(&ran.stderr, "OpenSSL's -sess_out PEM");
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
        let (report, ran) = probe(&server.addr(), &[]);
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
    let (report, ran) = probe(&server.addr(), &[]);
    ran.assert_exit(0);
    assert_eq!(report["max_early_data"], 0);
    assert_eq!(outcome(&report, "tickets"), "pass");
    assert_eq!(outcome(&report, "early_data_accepted"), "not_applicable");
    assert!(evidence(&report, "replay").contains("max_early_data 0"));
    assert_eq!(report["connections"], 1);
}

#[test]
fn connect_negotiates_the_alpn_protocol_serve_prefers_among_those_offered() {
    let server = zerortt_serve(&["--alpn", "h2,http/1.1"]);
    let ran = connect(&server.addr(), &["--alpn", "http/1.1,h2"]);
    ran.assert_exit(0);
    assert_contains(&ran.stdout, "ALPN h2");
}

#[test]
fn a_certificate_from_an_unknown_ca_exits_4_naming_the_way_out() {
    let server = zerortt_serve(&[]);
    let other = testdata().join("other-ca.der").display().to_string();
    let addr = server.addr();
    let ran = zerortt(&["probe", &addr, "--sni", "localhost", "--ca", &other]);
    ran.assert_exit(4);
    assert_contains(&ran.stderr, "certificate not trusted");
    assert_contains(&ran.stderr, "UnknownIssuer");
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
    ran.assert_exit(3);
    assert_contains(&ran.stderr, "cannot connect to");
}

#[test]
fn serve_loads_a_pem_certificate_with_a_der_key_and_refuses_a_key_of_another_certificate() {
    let dir = testdata();
    let cert = dir.join("server-ed25519.pem").display().to_string();
    let key = dir.join("server-ed25519.key.pk8").display().to_string();
    let server = zerortt_serve(&["--cert", &cert, "--key", &key]);
    let addr = server.addr();
    let ran = zerortt(&["connect", &addr, "--sni", "zerortt.test", "--ca", &ca()]);
    ran.assert_exit(0);
    assert_contains(&ran.stdout, "handshake done");

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
    ran.assert_exit(2);
    assert_contains(
        &ran.stderr,
        "the private key does not match the leaf certificate",
    );
}
