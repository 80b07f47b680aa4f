//! Time as the caller gives it. `core` never reads a clock: every API that needs the time
//! (ticket ages, freshness, cache timeouts, certificate validity) takes a [`Timestamp`].

use std::time::Duration;

/// A point in time, in nanoseconds since the UNIX epoch. The simulator starts its virtual
/// clock at [`Timestamp::SIM_EPOCH`] so that certificates are valid and runs repeat exactly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// 2026-01-01T00:00:00Z, the origin of simulated time.
    pub const SIM_EPOCH: Timestamp = Timestamp(1_767_225_600 * 1_000_000_000);

    /// From nanoseconds since the UNIX epoch.
    pub const fn from_nanos(nanos: u64) -> Self {
        Self(nanos)
    }

    /// From milliseconds since the UNIX epoch (saturating).
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis.saturating_mul(1_000_000))
    }

    /// From seconds since the UNIX epoch (saturating).
    pub const fn from_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1_000_000_000))
    }

    /// Nanoseconds since the UNIX epoch.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Whole milliseconds since the UNIX epoch (ticket ages are in ms, RFC 9846 4.7.1).
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000_000
    }

    /// Whole seconds since the UNIX epoch.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1_000_000_000
    }

    /// `self + d`, saturating.
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
        )
    }

    /// Time elapsed from `earlier` to `self`; zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elapsed_time_never_goes_negative() {
        let a = Timestamp::from_millis(10);
        let b = Timestamp::from_millis(25);
        assert_eq!(b.saturating_since(a), Duration::from_millis(15));
        assert_eq!(a.saturating_since(b), Duration::ZERO);
        assert_eq!(a.saturating_add(Duration::from_millis(15)), b);
    }
}
