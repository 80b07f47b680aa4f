//! Helpers for the live tests: run the `zerortt` binary (or `openssl`) with a time bound,
//! start `zerortt serve` or `openssl s_server` on 127.0.0.1, read a probe's JSON report.
//! A child's output is collected from a thread.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The binary under test.
pub const ZERORTT: &str = env!("CARGO_BIN_EXE_zerortt");

/// Every check the probe runs when the server accepts early data.
pub const EVERY_CHECK: [&str; 6] = [
    "tickets",
    "early_data_accepted",
    "ticket_reuse",
    "replay",
    "limit_exact",
    "limit_over",
];

/// core/testdata: the test CA and the servers' identities.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/testdata")
}

/// The shipped test CA (PEM), which issued the servers' certificates, as an argument.
pub fn ca() -> String {
    testdata().join("ca.pem").display().to_string()
}

/// A fresh directory for one test's files.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zerortt-live-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Fails the test unless `text` contains `needle`, showing `text`.
#[track_caller]
pub fn assert_contains(text: &str, needle: &str) {
    assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
}

/// Output of a finished command, as text.
pub struct Ran {
    /// Exit status code.
    pub code: Option<i32>,
    /// stdout.
    pub stdout: String,
    /// stderr.
    pub stderr: String,
}

impl Ran {
    /// Fails the test unless the command exited with `code`, showing both outputs.
    #[track_caller]
    pub fn assert_exit(&self, code: i32) {
        assert_eq!(
            self.code,
            Some(code),
            "stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
    }
}

/// Runs `cmd` to its end, killing it (and failing the test) after `limit`.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Ran {
    run(cmd, None, limit)
}

/// [`run_bounded`] with `input` written to the child's stdin, which stays open until the
/// child exits (`openssl s_client` quits when its stdin ends).
pub fn run_fed(cmd: &mut Command, input: &[u8], limit: Duration) -> Ran {
    run(cmd, Some(input), limit)
}

fn run(cmd: &mut Command, input: Option<&[u8]>, limit: Duration) -> Ran {
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut stdin = child.stdin.take();
    if let (Some(pipe), Some(text)) = (stdin.as_mut(), input) {
        pipe.write_all(text).unwrap();
    }
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let status = wait_bounded(&mut child, cmd, &out, limit);
    drop(stdin);
    // Give the reader threads a moment to see EOF.
    thread::sleep(Duration::from_millis(50));
    let stdout = out.lock().unwrap().clone();
    let stderr = err.lock().unwrap().clone();
    Ran {
        code: status.code(),
        stdout,
        stderr,
    }
}

/// Waits for `child` to exit, killing it (and failing the test) after `limit`.
fn wait_bounded(
    child: &mut Child,
    cmd: &Command,
    out: &Mutex<String>,
    limit: Duration,
) -> ExitStatus {
    let start = zerortt_sim::live::instant();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{cmd:?} did not end within {limit:?}; stdout so far:\n{}",
                out.lock().unwrap()
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Reads everything `r` produces into a shared string, on a thread.
pub fn collect(mut r: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => sink
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
    });
    text
}

/// `zerortt ARGS` to its end (60 s bound).
pub fn zerortt(args: &[&str]) -> Ran {
    run_bounded(Command::new(ZERORTT).args(args), Duration::from_secs(60))
}

/// `zerortt VERB ADDR --sni localhost --ca CA EXTRA...`: `connect` or `probe` to a server
/// holding the test identity.
pub fn zerortt_at(verb: &str, addr: &str, extra: &[&str]) -> Ran {
    let ca = ca();
    let mut args = vec![verb, addr, "--sni", "localhost", "--ca", &ca];
    args.extend_from_slice(extra);
    zerortt(&args)
}

/// [`zerortt_at`] with `connect`.
pub fn connect(addr: &str, extra: &[&str]) -> Ran {
    zerortt_at("connect", addr, extra)
}

/// `zerortt probe ADDR --sni localhost --ca CA EXTRA... --json`: the report of a probe of
/// a server holding the test identity.
pub fn probe(addr: &str, extra: &[&str]) -> (serde_json::Value, Ran) {
    let ca = ca();
    let mut args = vec![addr, "--sni", "localhost", "--ca", &ca];
    args.extend_from_slice(extra);
    probe_json(&args)
}

/// The probe's JSON report and exit status.
pub fn probe_json(args: &[&str]) -> (serde_json::Value, Ran) {
    let mut all = vec!["probe"];
    all.extend_from_slice(args);
    all.push("--json");
    let ran = zerortt(&all);
    let json = serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", ran.stdout, ran.stderr));
    (json, ran)
}

/// Check `name` of a probe report.
fn check<'r>(report: &'r serde_json::Value, name: &str) -> &'r serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report}"))
}

/// The outcome of check `name` in a probe report.
pub fn outcome(report: &serde_json::Value, name: &str) -> String {
    check(report, name)["outcome"].as_str().unwrap().to_owned()
}

/// The evidence of check `name`.
pub fn evidence(report: &serde_json::Value, name: &str) -> String {
    check(report, name)["evidence"].as_str().unwrap().to_owned()
}

/// Fails the test unless every check in `names` passed.
#[track_caller]
pub fn assert_pass(report: &serde_json::Value, names: &[&str]) {
    for name in names {
        assert_eq!(outcome(report, name), "pass", "{name}: {report}");
    }
}

/// A server process the test started; killed when dropped.
pub struct Server {
    /// The child.
    pub child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Everything it printed on stdout so far.
    pub stdout: Arc<Mutex<String>>,
    /// Everything it printed on stderr so far, where the test reads that too.
    pub stderr: Option<Arc<Mutex<String>>>,
    /// Held open: `openssl s_server` quits when its stdin ends.
    pub stdin: Option<ChildStdin>,
}

impl Server {
    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The output so far: stdout, then stderr.
    pub fn output(&self) -> String {
        let mut text = self.stdout.lock().unwrap().clone();
        if let Some(err) = &self.stderr {
            text.push_str(&err.lock().unwrap());
        }
        text
    }

    /// Waits (bounded) until the output contains `needle` `count` times.
    pub fn wait_for(&self, needle: &str, count: usize, limit: Duration) -> String {
        let start = zerortt_sim::live::instant();
        loop {
            let text = self.output();
            if text.matches(needle).count() >= count {
                return text;
            }
            assert!(
                start.elapsed() < limit,
                "server output never held {count} x {needle:?}:\n{text}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The `conn=N ...` line `zerortt serve` printed for connection `n` (waits for it).
    pub fn conn_line(&self, n: usize) -> String {
        let text = self.wait_for(&format!("conn={n} "), 1, Duration::from_secs(20));
        text.lines()
            .find(|l| l.starts_with(&format!("conn={n} ")))
            .unwrap()
            .to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `zerortt serve --listen 127.0.0.1:0 EXTRA...` and reads its port from the first
/// line (`listening on 127.0.0.1:PORT ...`).
pub fn zerortt_serve(extra: &[&str]) -> Server {
    let mut child = Command::new(ZERORTT)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn zerortt serve");
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    let port = first
        .strip_prefix("listening on 127.0.0.1:")
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line of serve: {first:?}"));
    let stdout = collect(reader);
    stdout.lock().unwrap().push_str(&first);
    Server {
        child,
        port,
        stdout,
        stderr: None,
        stdin: None,
    }
}

/// Fails the test unless both sides of `zerortt serve`'s connection `n` say it resumed and
/// handed `bytes` bytes of early data to its application: the answer the client printed
/// (`client_out`) and the server's own `conn=N` line.
#[track_caller]
pub fn assert_serve_accepted_early_data(server: &Server, client_out: &str, n: usize, bytes: usize) {
    assert_contains(
        client_out,
        &format!("zerortt serve: connection {n}, resumed yes, early data accepted, request {bytes} bytes"),
    );
    assert_contains(
        &server.conn_line(n),
        &format!("resumed=yes early_data=accepted early_bytes={bytes}"),
    );
}

/// A port that was free a moment ago (for servers that cannot bind port 0 and report it).
/// A port nothing listens on, below the kernel's ephemeral range (32768-60999 by default),
/// so no listener another test binds to port 0 can take it between the check and its use
/// (a port from [`free_port`] can be handed out again at once, under parallel tests).
pub fn refused_port() -> u16 {
    (20_000..21_000)
        .find(|&p| TcpListener::bind(("127.0.0.1", p)).is_ok())
        .expect("a free port in 20000-20999")
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A TCP listener on 127.0.0.1 whose first `connections` connections a thread hands to
/// `handle`, one after the other; its `127.0.0.1:PORT`.
pub fn tcp_server(
    connections: usize,
    mut handle: impl FnMut(TcpStream) + Send + 'static,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        for stream in listener.incoming().take(connections).flatten() {
            handle(stream);
        }
    });
    addr
}

/// Whether the `openssl` binary runs; prints a SKIPPED line when it does not.
pub fn openssl_available() -> bool {
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

/// The test identity `name` (core/testdata: `server-ecdsa-p256`, `server-rsa2048`, ...) as
/// PEM files for OpenSSL: (certificate, key), the key converted into `dir`.
pub fn pem_identity(dir: &Path, name: &str) -> (String, String) {
    let key = dir.join("key.pem");
    let der = testdata().join(format!("{name}.key.pk8"));
    let ran = run_bounded(
        Command::new("openssl")
            .args(["pkey", "-inform", "DER", "-in"])
            .arg(&der)
            .arg("-out")
            .arg(&key),
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
pub fn s_server(dir: &Path, extra: &[&str]) -> Server {
    s_server_with_identity(dir, "server-ecdsa-p256", extra)
}

/// [`s_server`] with the test identity `name`.
pub fn s_server_with_identity(dir: &Path, name: &str, extra: &[&str]) -> Server {
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
    let server = Server {
        stdout: collect(child.stdout.take().unwrap()),
        stderr: Some(collect(child.stderr.take().unwrap())),
        stdin: child.stdin.take(),
        child,
        port,
    };
    server.wait_for("ACCEPT", 1, Duration::from_secs(10));
    server
}

/// `openssl s_client ARGS` with `stdin_text` on its stdin (held open), until it exits
/// (20 s bound).
pub fn s_client(args: &[&str], stdin_text: &[u8]) -> Ran {
    run_fed(
        Command::new("openssl").arg("s_client").args(args),
        stdin_text,
        Duration::from_secs(20),
    )
}
