//! Virtual time. Nothing in the simulator reads the wall clock: time is a count of
//! nanoseconds since the start of a run, advanced only by the event queue.

use core::fmt;
use core::ops::{Add, Sub};
use std::time::Duration;

/// An instant of virtual time: nanoseconds since the start of the run.
///
/// Arithmetic saturates instead of overflowing, so no input can make it panic.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime {
    nanos: u64,
}

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime { nanos: 0 };
    /// The end of time; used as "never" by callers that need a bound.
    pub const MAX: SimTime = SimTime { nanos: u64::MAX };

    /// `nanos` nanoseconds after the start.
    pub const fn from_nanos(nanos: u64) -> SimTime {
        SimTime { nanos }
    }

    /// `micros` microseconds after the start (saturating).
    pub const fn from_micros(micros: u64) -> SimTime {
        SimTime {
            nanos: micros.saturating_mul(1_000),
        }
    }

    /// `millis` milliseconds after the start (saturating).
    pub const fn from_millis(millis: u64) -> SimTime {
        SimTime {
            nanos: millis.saturating_mul(1_000_000),
        }
    }

    /// `secs` seconds after the start (saturating).
    pub const fn from_secs(secs: u64) -> SimTime {
        SimTime {
            nanos: secs.saturating_mul(1_000_000_000),
        }
    }

    /// Nanoseconds since the start.
    pub const fn as_nanos(self) -> u64 {
        self.nanos
    }

    /// This instant plus `duration`, or `None` past [`SimTime::MAX`].
    pub fn checked_add(self, duration: Duration) -> Option<SimTime> {
        let nanos = u64::try_from(duration.as_nanos()).ok()?;
        self.nanos.checked_add(nanos).map(SimTime::from_nanos)
    }

    /// This instant plus `duration`, clamped to [`SimTime::MAX`].
    pub fn saturating_add(self, duration: Duration) -> SimTime {
        self.checked_add(duration).unwrap_or(SimTime::MAX)
    }

    /// The time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: SimTime) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }
}

/// Nanoseconds in `duration`, clamped to `u64::MAX` (about 584 years).
pub fn duration_nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl Add<Duration> for SimTime {
    type Output = SimTime;

    /// Saturating: time never wraps around.
    fn add(self, rhs: Duration) -> SimTime {
        self.saturating_add(rhs)
    }
}

impl Sub<SimTime> for SimTime {
    type Output = Duration;

    /// Saturating: an earlier minus a later instant is zero.
    fn sub(self, rhs: SimTime) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

impl fmt::Display for SimTime {
    /// Milliseconds with three decimals (microsecond resolution, truncated), e.g.
    /// `41.200ms`. Traces use this form, so it must stay stable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = self.nanos / 1_000_000;
        let micros = (self.nanos / 1_000) % 1_000;
        let text = format!("{millis}.{micros:03}ms");
        f.pad(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_agree_on_units() {
        assert_eq!(SimTime::from_secs(1), SimTime::from_millis(1_000));
        assert_eq!(SimTime::from_millis(1), SimTime::from_micros(1_000));
        assert_eq!(SimTime::from_micros(1), SimTime::from_nanos(1_000));
    }

    #[test]
    fn display_is_milliseconds_with_three_decimals() {
        assert_eq!(SimTime::from_micros(41_200).to_string(), "41.200ms");
        assert_eq!(SimTime::ZERO.to_string(), "0.000ms");
        assert_eq!(SimTime::from_nanos(1_999_999).to_string(), "1.999ms");
        assert_eq!(format!("{:>10}", SimTime::from_millis(20)), "  20.000ms");
    }

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        assert_eq!(SimTime::MAX + Duration::from_secs(1), SimTime::MAX);
        assert_eq!(SimTime::ZERO - SimTime::from_millis(5), Duration::ZERO);
        assert_eq!(
            SimTime::from_millis(30) - SimTime::from_millis(10),
            Duration::from_millis(20)
        );
        assert_eq!(SimTime::MAX.checked_add(Duration::from_nanos(1)), None);
        assert_eq!(duration_nanos(Duration::MAX), u64::MAX);
    }
}
