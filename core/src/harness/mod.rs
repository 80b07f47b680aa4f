//! Fuzz harnesses that live in library code, so that `cargo fuzz run <target>`,
//! `cargo test` (which replays `corpus/<target>/`) and `zerortt replay` run the very same
//! function on the same bytes.
//!
//! # The harness is the oracle
//! Each harness takes arbitrary bytes and **panics when it finds a bug**: a panic inside the
//! library, or a violated invariant, which the harness reports with a message starting
//! `oracle <name>:`. Any input on which a harness returns normally is, by definition, a
//! pass. Invalid inputs are not failures: every input decodes to *some* test case.
//!
//! Targets (stable names, typed on the command line as in `cargo fuzz run codec`):
//! - [`codec()`]: the bytes go into every wire decoder; whatever decodes must re-encode to the
//!   identical bytes, and decode again to the same value.
//! - [`server_records`] / [`client_records`]: the bytes decode (in the corpus format, which
//!   is also the types' `Arbitrary` implementation) into a [`RecordScenario`]: a configuration
//!   plus a sequence of [`Step`]s, each a record fed to one side (raw bytes, or structured
//!   records the harness encrypts with the real keys) or an application call. The
//!   [`HarnessReport`] holds the typed events of both sides for a trace.

pub mod codec;
pub mod corpus;
pub mod records;

pub use self::codec::codec;
pub use self::records::{
    check_scenario, client_records, server_records, trace_records, trace_scenario, AppCall,
    EpochChoice, HarnessReport, RecordScenario, Step, TraceEntry,
};
/// The `arbitrary` crate the harness input types implement, for the crates whose typed
/// fuzz inputs build on it (sim's `ScenarioKnobs`).
pub use arbitrary;

use crate::rand::Random;

/// The fuzz targets, by the names used for `fuzz/fuzz_targets/<name>.rs` and
/// `corpus/<name>/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// [`codec()`].
    Codec,
    /// [`server_records`].
    ServerRecords,
    /// [`client_records`].
    ClientRecords,
}

impl Target {
    /// Every target, in a fixed order.
    pub const ALL: [Target; 3] = [Target::Codec, Target::ServerRecords, Target::ClientRecords];

    /// The stable name (`codec`, `server_records`, `client_records`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Codec => "codec",
            Self::ServerRecords => "server_records",
            Self::ClientRecords => "client_records",
        }
    }

    /// The target called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// Runs the harness on `data` (panics on a bug, see the module documentation). The
    /// record targets return their report; `codec` has none.
    pub fn run(self, data: &[u8]) -> Option<HarnessReport> {
        match self {
            Self::Codec => {
                codec(data);
                None
            }
            Self::ServerRecords => Some(server_records(data)),
            Self::ClientRecords => Some(client_records(data)),
        }
    }
}

/// A deterministic [`Random`] for harness runs: SHA-256 in counter mode over a seed. The
/// same seed gives the same stream on every machine, so a crash file replays exactly; it
/// is not meant to be unpredictable.
#[derive(Clone, Debug)]
pub struct HarnessRng {
    seed: u64,
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl HarnessRng {
    /// A stream for `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn refill(&mut self) {
        let mut input = [0u8; 16];
        input[..8].copy_from_slice(&self.seed.to_be_bytes());
        input[8..].copy_from_slice(&self.counter.to_be_bytes());
        self.counter = self.counter.wrapping_add(1);
        let digest = ring::digest::digest(&ring::digest::SHA256, &input);
        self.block.copy_from_slice(digest.as_ref());
        self.used = 0;
    }
}

impl Random for HarnessRng {
    fn fill(&mut self, dest: &mut [u8]) {
        for b in dest {
            if self.used >= self.block.len() {
                self.refill();
            }
            *b = self.block[self.used];
            self.used += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_harness_rng_repeats_for_a_seed_and_differs_between_seeds() {
        let (mut a, mut b, mut c) = (HarnessRng::new(1), HarnessRng::new(1), HarnessRng::new(2));
        let (x, y, z): ([u8; 70], [u8; 70], [u8; 70]) = (
            crate::rand::array(&mut a),
            crate::rand::array(&mut b),
            crate::rand::array(&mut c),
        );
        assert_eq!(x, y);
        assert_ne!(x, z);
    }

    #[test]
    fn every_target_is_found_by_its_name() {
        for t in Target::ALL {
            assert_eq!(Target::from_name(t.name()), Some(t));
        }
        assert_eq!(Target::from_name("nope"), None);
    }
}
