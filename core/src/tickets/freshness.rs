//! The freshness check of RFC 9846 section 8.3, as one pure function.
//!
//! The server recovers the client's view of the ticket age from `obfuscated_ticket_age`
//! and the ticket's `ticket_age_add`, computes
//!
//! ```text
//! expected_arrival_time = adjusted_creation_time + clients_ticket_age
//! ```
//!
//! and compares it with `now`: "if they differ by more than a certain amount, 0-RTT is
//! rejected, though the 1-RTT handshake can be allowed to complete". A stale ClientHello
//! (a replay recorded long ago, or one delayed in the network) arrives later than expected:
//! [`Freshness::TooOld`]. A client whose claimed age is larger than the server's measured
//! age (a fast client clock, or a forged age) arrives earlier than expected:
//! [`Freshness::TooNew`].
//!
//! Freshness alone does not stop replays inside the window (section 8.3: "it does not
//! detect them during the error window"); pair it with a
//! [`StrikeRegister`](super::strike::StrikeRegister) or single-use tickets.
//!
//! ## Tolerances in the wild
//!
//! - OpenSSL ([`OPENSSL_TICKET_AGE_ALLOWANCE`], 10 s): `TICKET_AGE_ALLOWANCE` in
//!   `ssl_local.h`. Its check is asymmetric: with the server's age `agems` it allows a
//!   client age in `[agems + 1000 - 10000, agems + 1000]` ms, i.e. 9 s too old, 1 s too new.
//! - rustls (`MAX_FRESHNESS_SKEW_MS`) and BoringSSL (`kMaxTicketAgeSkewSeconds`) allow
//!   60 s either way ([`RUSTLS_BORINGSSL_FRESHNESS_SKEW`]).
//!
//! This function is symmetric: `|now - expected_arrival_time| <= tolerance` is fresh. The
//! RFC notes that the optimal range may be asymmetric; call it with the larger tolerance and
//! inspect [`FreshnessCheck::skew_ns`] for a tighter one-sided rule.

use crate::time::Timestamp;
use std::time::Duration;

/// OpenSSL's allowance between the client's ticket age and its own (`TICKET_AGE_ALLOWANCE`,
/// "We allow for 10 seconds").
pub const OPENSSL_TICKET_AGE_ALLOWANCE: Duration = Duration::from_secs(10);

/// The skew rustls (`MAX_FRESHNESS_SKEW_MS`) and BoringSSL (`kMaxTicketAgeSkewSeconds`)
/// allow, in either direction.
pub const RUSTLS_BORINGSSL_FRESHNESS_SKEW: Duration = Duration::from_secs(60);

/// The verdict of the freshness check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Freshness {
    /// `now` is within the tolerance of the expected arrival time: 0-RTT may be accepted
    /// (subject to the other checks).
    Fresh,
    /// The ClientHello arrived more than the tolerance after its expected arrival time:
    /// reject 0-RTT.
    TooOld,
    /// The ClientHello arrived more than the tolerance before its expected arrival time
    /// (the client claims an age the ticket cannot have yet): reject 0-RTT.
    TooNew,
}

/// The result of [`check_freshness`], with the ages it compared, for the event log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FreshnessCheck {
    /// The verdict.
    pub freshness: Freshness,
    /// The expected age: the client's view, `obfuscated_ticket_age - ticket_age_add`
    /// modulo 2^32, in milliseconds.
    pub client_ticket_age_ms: u32,
    /// The actual age: `now - issued_at` as measured by the server, in whole milliseconds
    /// (0 if `now` is before `issued_at`).
    pub server_ticket_age_ms: u64,
    /// `now - expected_arrival_time` in nanoseconds: positive when the ClientHello is late
    /// (towards [`Freshness::TooOld`]), negative when early.
    pub skew_ns: i128,
}

impl FreshnessCheck {
    /// True for [`Freshness::Fresh`].
    pub fn is_fresh(&self) -> bool {
        self.freshness == Freshness::Fresh
    }
}

/// RFC 9846 section 8.3: is a ClientHello offering a ticket issued at `issued_at` with
/// `obfuscated_ticket_age` fresh at `now`?
///
/// `issued_at` is the ticket's creation time, or the RFC's `adjusted_creation_time =
/// creation_time + estimated_RTT` if the server stored that. The comparison is exact in
/// nanoseconds: a skew equal to `tolerance` is fresh, one nanosecond more is not.
///
/// The client's age is recovered with a wrapping subtraction (section 4.3.11.1: the
/// obfuscated age is the age plus ticket_age_add "modulo 2^32"), so an obfuscated value
/// that wrapped past 2^32 gives back the true age.
pub fn check_freshness(
    obfuscated_ticket_age: u32,
    age_add: u32,
    issued_at: Timestamp,
    now: Timestamp,
    tolerance: Duration,
) -> FreshnessCheck {
    let client_ticket_age_ms = obfuscated_ticket_age.wrapping_sub(age_add);
    let expected_arrival_ns =
        i128::from(issued_at.as_nanos()) + i128::from(client_ticket_age_ms) * 1_000_000;
    let skew_ns = i128::from(now.as_nanos()) - expected_arrival_ns;
    // A Duration holds at most ~2^94 ns, well inside i128.
    let tolerance_ns = i128::try_from(tolerance.as_nanos()).unwrap_or(i128::MAX);
    let freshness = if skew_ns > tolerance_ns {
        Freshness::TooOld
    } else if skew_ns < -tolerance_ns {
        Freshness::TooNew
    } else {
        Freshness::Fresh
    };
    FreshnessCheck {
        freshness,
        client_ticket_age_ms,
        server_ticket_age_ms: now.saturating_since(issued_at).as_millis() as u64,
        skew_ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_age_matching_the_server_age_is_fresh_with_zero_skew() {
        let issued = Timestamp::from_secs(100);
        let now = Timestamp::from_secs(105);
        let c = check_freshness(5000u32.wrapping_add(77), 77, issued, now, Duration::ZERO);
        assert_eq!(c.freshness, Freshness::Fresh);
        assert_eq!(c.skew_ns, 0);
        assert_eq!(
            (c.client_ticket_age_ms, c.server_ticket_age_ms),
            (5000, 5000)
        );
    }

    #[test]
    fn a_clock_that_went_backwards_gives_a_server_age_of_zero_not_a_panic() {
        let c = check_freshness(
            0,
            0,
            Timestamp::from_secs(10),
            Timestamp::from_secs(5),
            Duration::from_secs(1),
        );
        assert_eq!(c.server_ticket_age_ms, 0);
        assert_eq!(c.freshness, Freshness::TooNew);
    }

    #[test]
    fn extreme_inputs_do_not_overflow() {
        let c = check_freshness(
            u32::MAX,
            0,
            Timestamp::from_nanos(u64::MAX),
            Timestamp::from_nanos(0),
            Duration::MAX,
        );
        assert_eq!(c.freshness, Freshness::Fresh);
    }
}
