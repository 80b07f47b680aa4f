//! The checked-in corpora (`corpus/<target>/` and `corpus/<target>/regressions/`) and their
//! replay through a harness, shared by the corpus tests of `core` and `sim`.
//!
//! A regression input for a bug that is not fixed yet is named `known-bug-*`: [`replay_corpus`]
//! skips it, and an `#[ignore = "bug: ..."]` test replays it until the bug is fixed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// `corpus/<target>/` of this repository.
pub fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("corpus")
        .join(target)
}

/// Regular files directly in `dir` (notes, `*.md`, left out), sorted; none if it does not
/// exist.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter(|p| p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    files
}

fn is_known_bug(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("known-bug-"))
}

/// Runs each file through `run` (a harness: it panics on a bug; what it returns is unused) and returns one line per
/// failing file, with its panic message and the command that replays it under
/// `cargo fuzz run <target>`.
pub fn replay_files<R>(target: &str, files: &[PathBuf], run: impl Fn(&[u8]) -> R) -> Vec<String> {
    let mut failures = Vec::new();
    for path in files {
        let data = std::fs::read(path).expect("read a corpus file");
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| run(&data))) {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!(
                "{}: {msg}\n  replay: cargo fuzz run {target} {}",
                path.display(),
                path.display()
            ));
        }
    }
    failures
}

/// Replays `corpus/<target>/` (seeds, then `regressions/` but `known-bug-*`) through `run`;
/// panics if there are no seeds (naming `regenerate`, the command that writes them) or
/// naming every failing file.
pub fn replay_corpus<R>(target: &str, regenerate: &str, run: impl Fn(&[u8]) -> R) {
    let dir = corpus_dir(target);
    let seeds = files_in(&dir);
    assert!(
        !seeds.is_empty(),
        "no seeds in {}: run `{regenerate}`",
        dir.display()
    );
    let regressions = files_in(&dir.join("regressions"))
        .into_iter()
        .filter(|p| !is_known_bug(p));
    let all: Vec<PathBuf> = seeds.into_iter().chain(regressions).collect();
    let failures = replay_files(target, &all, run);
    assert!(
        failures.is_empty(),
        "{} of {} {target} inputs fail:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}
