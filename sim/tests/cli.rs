//! The `zerortt` binary as a shell user meets it.

use std::io::Read;
use std::process::{Command, Stdio};

#[test]
fn a_reader_that_closes_stdout_early_ends_the_run_quietly_like_sigpipe() {
    // `zerortt explore ... | head -1`: the reader goes away while we still print.
    let mut child = Command::new(env!("CARGO_BIN_EXE_zerortt"))
        .args([
            "explore",
            "--scenario",
            "accepted",
            "--seeds",
            "40",
            "--jobs",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn zerortt");
    let mut first = [0u8; 1];
    let mut stdout = child.stdout.take().unwrap();
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Either it finished printing before the pipe closed (0), or it stopped as a process
    // killed by SIGPIPE would (141).
    assert!(
        matches!(out.status.code(), Some(0 | 141)),
        "{:?}",
        out.status
    );
}
