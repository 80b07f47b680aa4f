//! Helpers for the live tests: run the `zerortt` binary with a time bound, start
//! `zerortt serve` on an ephemeral port, collect a child's output from a thread.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The binary under test.
pub const ZERORTT: &str = env!("CARGO_BIN_EXE_zerortt");

/// The shipped test CA (PEM), which issued the servers' certificates.
pub fn ca_pem() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/testdata/ca.pem")
}

/// A fresh directory for one test's files.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zerortt-live-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
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

/// Runs `cmd` to its end, killing it (and failing the test) after `limit`.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Ran {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let out = collect(child.stdout.take().unwrap());
    let err = collect(child.stderr.take().unwrap());
    let start = zerortt_sim::live::instant();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
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
    };
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

/// A server process the test started; killed when dropped.
pub struct Server {
    /// The child.
    pub child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Everything it printed so far.
    pub stdout: Arc<Mutex<String>>,
    /// Held open: `openssl s_server` quits when its stdin ends.
    pub stdin: Option<ChildStdin>,
}

impl Server {
    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The output so far.
    pub fn output(&self) -> String {
        self.stdout.lock().unwrap().clone()
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
        stdin: None,
    }
}

/// A port that was free a moment ago (for servers that cannot bind port 0 and report it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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

/// The outcome of check `name` in a probe report.
pub fn outcome(report: &serde_json::Value, name: &str) -> String {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report}"))["outcome"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The evidence of check `name`.
pub fn evidence(report: &serde_json::Value, name: &str) -> String {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap()["evidence"]
        .as_str()
        .unwrap()
        .to_owned()
}
