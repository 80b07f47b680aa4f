//! ClientHello recording (RFC 9846 section 8.2): a strike register that remembers the
//! validated PSK binder of every ClientHello whose 0-RTT was accepted, for as long as a
//! replay of it could still pass the freshness check, and refuses 0-RTT to repeats.
//!
//! "If no matching ClientHello is found, then it accepts 0-RTT and then stores the
//! ClientHello for as long as the expected_arrival_time is inside the window." and "The
//! server MUST derive the storage key only from validated sections of the ClientHello":
//! pass the binder of the identity the server selected, after verifying it. The register
//! stores SHA-256 of the binder, so every entry has the same small size whatever the
//! binder length, and lookups are exact (no false positives from the key itself).
//!
//! # False negatives and false positives
//!
//! A false negative (a replay let through) breaks the "at most once per server instance"
//! guarantee of section 8: it is a security failure. A false positive (a fresh ClientHello
//! treated as a possible replay) only costs its early data, which the client sends again
//! after the handshake: it is a performance cost. Every choice here trades performance for
//! security:
//!
//! - When the register is full, [`StrikeVerdict::Full`] refuses 0-RTT for the new
//!   ClientHello rather than forgetting an older one: forgetting would reopen a replay
//!   window for the forgotten one.
//! - Entries are kept until strictly after their window has passed.
//! - [`StrikeRegister::with_warm_up`] refuses 0-RTT after a restart until a whole window
//!   has passed (section 8.2: freshly started implementations "SHOULD reject 0-RTT as long
//!   as any portion of their recording window overlaps the startup time").
//!
//! False negatives remain possible only outside what one register sees: a replay sent to a
//! server that does not share this register (share one with [`SharedStrikeRegister`], or
//! accept that replays are limited to one per register, as section 8.2's "separate storage
//! for each zone" design), a window shorter than the span the freshness check accepts (see
//! [`StrikeRegister::for_freshness_tolerance`]), or a restart without warm-up.
//!
//! # Sizing
//!
//! The register must hold every 0-RTT ClientHello accepted within one window: capacity
//! = peak accepted 0-RTT handshakes per second x window in seconds. Each entry costs a
//! 32-byte key, two timestamps and two B-tree slots (roughly 100-150 bytes).

use crate::time::Timestamp;
use ring::digest;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the register says about a ClientHello.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StrikeVerdict {
    /// Not seen within the window; now recorded. 0-RTT may be accepted.
    Fresh,
    /// Seen within the window: a replay. Reject 0-RTT (section 8.2: "it either aborts the
    /// handshake with an illegal_parameter alert or accepts the PSK but rejects 0-RTT").
    Replay,
    /// Not seen, but the register is full and could not record it. Reject 0-RTT (a false
    /// positive) and complete the 1-RTT handshake.
    Full,
    /// Not seen, and now recorded, but the register started less than one window ago and
    /// cannot know what was accepted before it started. Reject 0-RTT.
    WarmingUp,
}

impl StrikeVerdict {
    /// Only [`StrikeVerdict::Fresh`] lets 0-RTT through.
    pub fn allows_early_data(self) -> bool {
        self == Self::Fresh
    }
}

/// Anything that can record ClientHellos: a [`StrikeRegister`] owned by one server, or a
/// [`SharedStrikeRegister`] shared by several.
pub trait ClientHelloRecorder {
    /// Looks up the validated `binder` at `now` and records it if it was not seen.
    fn check_and_record(&mut self, binder: &[u8], now: Timestamp) -> StrikeVerdict;
}

/// A bounded, deterministic strike register (see the module docs).
#[derive(Clone, Debug)]
pub struct StrikeRegister {
    window: Duration,
    capacity: usize,
    /// SHA-256(binder) to the last instant the entry is still held.
    seen: BTreeMap<[u8; 32], Timestamp>,
    /// (held until, insertion sequence) to key, so that pruning pops the front.
    by_expiry: BTreeMap<(Timestamp, u64), [u8; 32]>,
    next_seq: u64,
    /// Refuse 0-RTT before this instant.
    warm_until: Option<Timestamp>,
}

impl Default for StrikeRegister {
    /// A register for OpenSSL's 10 s ticket age allowance
    /// ([`OPENSSL_TICKET_AGE_ALLOWANCE`](super::freshness::OPENSSL_TICKET_AGE_ALLOWANCE),
    /// so a 20 s window) holding as many entries as OpenSSL's default session cache.
    fn default() -> Self {
        Self::for_freshness_tolerance(
            super::freshness::OPENSSL_TICKET_AGE_ALLOWANCE,
            super::cache::SSL_SESSION_CACHE_MAX_SIZE_DEFAULT,
        )
    }
}

impl StrikeRegister {
    /// A register that holds each entry for `window` after it is recorded and at most
    /// `capacity` entries.
    pub fn new(window: Duration, capacity: usize) -> Self {
        Self {
            window,
            capacity,
            seen: BTreeMap::new(),
            by_expiry: BTreeMap::new(),
            next_seq: 0,
            warm_until: None,
        }
    }

    /// A register matching a freshness check of `tolerance`
    /// ([`check_freshness`](super::freshness::check_freshness)): the window is
    /// `2 * tolerance`. A ClientHello accepted at the early edge of its freshness span
    /// (`expected_arrival - tolerance`) can be replayed, and still be fresh, until the late
    /// edge (`expected_arrival + tolerance`); a window of only `tolerance` would forget it
    /// half way.
    pub fn for_freshness_tolerance(tolerance: Duration, capacity: usize) -> Self {
        Self::new(tolerance.saturating_mul(2), capacity)
    }

    /// Refuses 0-RTT ([`StrikeVerdict::WarmingUp`]) until one window after `started_at`
    /// (RFC 9846 section 8.2). Binders seen meanwhile are still recorded.
    pub fn with_warm_up(mut self, started_at: Timestamp) -> Self {
        self.warm_until = Some(started_at.saturating_add(self.window));
        self
    }

    /// How long an entry is held after it is recorded.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// The maximum number of entries.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Entries held (some may have expired and not yet been pruned).
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// True if nothing is held.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Looks up the validated `binder` at `now`: [`StrikeVerdict::Replay`] if it was
    /// recorded within the window; otherwise records it and answers
    /// [`StrikeVerdict::Fresh`] (or [`StrikeVerdict::WarmingUp`]), or, if there is no room,
    /// records nothing and answers [`StrikeVerdict::Full`]. Replay wins over Full and
    /// WarmingUp. An entry recorded at `t` is held while `now <= t + window`.
    pub fn check_and_record(&mut self, binder: &[u8], now: Timestamp) -> StrikeVerdict {
        self.prune(now);
        let key = storage_key(binder);
        if self.seen.contains_key(&key) {
            return StrikeVerdict::Replay;
        }
        if self.seen.len() >= self.capacity {
            return StrikeVerdict::Full;
        }
        let held_until = now.saturating_add(self.window);
        let seq = self.next_seq;
        self.next_seq += 1;
        self.seen.insert(key, held_until);
        self.by_expiry.insert((held_until, seq), key);
        match self.warm_until {
            Some(until) if now < until => StrikeVerdict::WarmingUp,
            _ => StrikeVerdict::Fresh,
        }
    }

    /// Forgets entries whose window has passed at `now`.
    pub fn prune(&mut self, now: Timestamp) {
        while let Some(entry) = self.by_expiry.first_entry() {
            if entry.key().0 >= now {
                break;
            }
            let key = entry.remove();
            self.seen.remove(&key);
        }
    }
}

impl ClientHelloRecorder for StrikeRegister {
    fn check_and_record(&mut self, binder: &[u8], now: Timestamp) -> StrikeVerdict {
        StrikeRegister::check_and_record(self, binder, now)
    }
}

/// A [`StrikeRegister`] shared between servers (threads or simulated nodes): clones refer
/// to the same register, so a ClientHello replayed to another server that shares it is
/// caught (RFC 9846 section 8: replays are then limited across the whole deployment, not
/// per instance).
#[derive(Clone, Debug, Default)]
pub struct SharedStrikeRegister {
    inner: Arc<Mutex<StrikeRegister>>,
}

impl SharedStrikeRegister {
    /// Shares `register`.
    pub fn new(register: StrikeRegister) -> Self {
        Self {
            inner: Arc::new(Mutex::new(register)),
        }
    }

    /// [`StrikeRegister::check_and_record`] under the lock: the lookup and the record are
    /// one atomic step, so two servers racing on the same ClientHello cannot both see
    /// [`StrikeVerdict::Fresh`].
    pub fn check_and_record(&self, binder: &[u8], now: Timestamp) -> StrikeVerdict {
        self.lock().check_and_record(binder, now)
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// True if nothing is held.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StrikeRegister> {
        // No method panics while holding the lock, so a poisoned register is still
        // consistent; keep using it rather than forget every entry.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ClientHelloRecorder for SharedStrikeRegister {
    fn check_and_record(&mut self, binder: &[u8], now: Timestamp) -> StrikeVerdict {
        SharedStrikeRegister::check_and_record(self, binder, now)
    }
}

fn storage_key(binder: &[u8]) -> [u8; 32] {
    let mut key = [0u8; 32];
    key.copy_from_slice(digest::digest(&digest::SHA256, binder).as_ref());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn an_entry_is_held_through_the_last_instant_of_its_window() {
        let mut r = StrikeRegister::new(Duration::from_millis(100), 8);
        assert_eq!(r.check_and_record(b"b", t(0)), StrikeVerdict::Fresh);
        assert_eq!(r.check_and_record(b"b", t(100)), StrikeVerdict::Replay);
        assert_eq!(
            r.check_and_record(b"b", Timestamp::from_nanos(100_000_001)),
            StrikeVerdict::Fresh
        );
    }

    #[test]
    fn a_replay_is_reported_as_a_replay_even_when_the_register_is_full() {
        let mut r = StrikeRegister::new(Duration::from_secs(1), 1);
        assert_eq!(r.check_and_record(b"a", t(0)), StrikeVerdict::Fresh);
        assert_eq!(r.check_and_record(b"a", t(1)), StrikeVerdict::Replay);
        assert_eq!(r.check_and_record(b"b", t(1)), StrikeVerdict::Full);
    }

    #[test]
    fn expired_entries_make_room_again() {
        let mut r = StrikeRegister::new(Duration::from_millis(10), 1);
        assert_eq!(r.check_and_record(b"a", t(0)), StrikeVerdict::Fresh);
        assert_eq!(r.check_and_record(b"b", t(11)), StrikeVerdict::Fresh);
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn a_register_warming_up_refuses_early_data_but_remembers_what_it_saw() {
        let mut r = StrikeRegister::new(Duration::from_millis(100), 8).with_warm_up(t(0));
        let v = r.check_and_record(b"a", t(50));
        assert_eq!(v, StrikeVerdict::WarmingUp);
        assert!(!v.allows_early_data());
        assert_eq!(r.check_and_record(b"a", t(120)), StrikeVerdict::Replay);
        assert_eq!(r.check_and_record(b"b", t(120)), StrikeVerdict::Fresh);
    }

    #[test]
    fn the_default_register_covers_twice_openssls_allowance() {
        let r = StrikeRegister::default();
        assert_eq!(r.window(), Duration::from_secs(20));
        assert_eq!(r.capacity(), 20480);
    }
}
