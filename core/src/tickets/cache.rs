//! The server's internal session cache, the mechanism behind OpenSSL's replay protection.
//!
//! SSL_read_early_data(3), REPLAY PROTECTION: "With replay protection enabled sessions are
//! forced to be single use only. [...] Sessions will be added to the cache whenever a
//! session ticket is issued. When a client attempts to resume the session, OpenSSL will
//! check for its presence in the internal cache. If it exists then the resumption is allowed
//! and the session is removed from the cache. If it does not exist then the resumption is
//! not allowed and a full handshake will occur." That is [`SessionCache::insert`] when a
//! ticket is issued and [`SessionCache::take`] when it is offered (RFC 9846 section 8.1,
//! single-use tickets). With `no_anti_replay` a ticket may be reused:
//! [`SessionCache::get`].
//!
//! The cache is bounded in entries ([`SessionCache::capacity`]) and in time
//! ([`SessionCache::timeout`]). It is deterministic: entries are kept in insertion order,
//! eviction removes the oldest first, and [`SessionCache::iter`] and every list of removals
//! follow that order; no hash order can leak into a trace.
//!
//! ## External caches and the remove race
//!
//! [`SessionStoreCallbacks`] mirrors SSL_CTX_sess_set_new_cb / remove_cb / get_cb(3) for an
//! application that keeps an external cache (for instance shared between servers). The man
//! page warns: "OpenSSL will lock the internal cache while a session is removed but that lock
//! is not held when the remove session callback [...] is called. This could result in a
//! small amount of time where the session has been removed from the internal cache but is
//! still available in the external cache." The `*_with` methods reproduce that order: the
//! entry is gone from the internal cache *before* [`SessionStoreCallbacks::remove_session`]
//! runs, and the callback is handed the cache so that it (and a test, or the simulator's
//! attacker) can observe the window in which the external copy is the only one left.

use crate::time::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::Duration;

/// OpenSSL's default internal cache size, `SSL_SESSION_CACHE_MAX_SIZE_DEFAULT` (1024 * 20
/// sessions; a count, not bytes).
pub const SSL_SESSION_CACHE_MAX_SIZE_DEFAULT: usize = 1024 * 20;

/// OpenSSL's default session timeout for TLS: `tls1_default_timeout()` returns 2 hours
/// ("the 24 hours mentioned in the TLSv1 spec is way too long for http, the cache would
/// over fill"). OpenSSL also sends this as the TLS 1.3 `ticket_lifetime`.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(60 * 60 * 2);

/// Why an entry left the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RemovalReason {
    /// Looked up for a resumption and removed (single use).
    Taken,
    /// Removed explicitly ([`SessionCache::remove`], SSL_CTX_remove_session).
    Removed,
    /// Removed because the cache was full (or shrunk) and this was the oldest entry.
    Evicted,
    /// Removed because its timeout had passed.
    Expired,
    /// Replaced by an insert under the same id.
    Replaced,
}

/// An entry that left the cache, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removed<V> {
    /// The session id or ticket bytes it was stored under.
    pub id: Vec<u8>,
    /// The stored value.
    pub value: V,
    /// Why it left.
    pub reason: RemovalReason,
}

/// Callbacks for an application that keeps an external session cache, in the style of
/// SSL_CTX_sess_set_new_cb(3), SSL_CTX_sess_set_remove_cb(3) and SSL_CTX_sess_set_get_cb(3).
/// Every method has a no-op default.
///
/// The man page makes the application responsible for consistency: "It is the
/// application's responsibility to ensure that any sessions in the external cache are also
/// populated in the internal cache and that once removed from the internal cache they are
/// similarly removed from the external cache. Failing to do this could result in an
/// application becoming vulnerable to replay attacks."
pub trait SessionStoreCallbacks<V> {
    /// A session was added to the internal cache (new_session_cb).
    fn new_session(&mut self, cache: &SessionCache<V>, id: &[u8], value: &V) {
        let _ = (cache, id, value);
    }

    /// A session left the internal cache (remove_session_cb). Called *after* the internal
    /// removal: `cache` no longer holds `id`.
    fn remove_session(
        &mut self,
        cache: &SessionCache<V>,
        id: &[u8],
        value: &V,
        reason: RemovalReason,
    ) {
        let _ = (cache, id, value, reason);
    }

    /// The internal cache has no entry for `id`; the external cache may supply one
    /// (get_session_cb). Only consulted on a miss, never for an expired internal entry.
    fn get_session(&mut self, id: &[u8]) -> Option<V> {
        let _ = id;
        None
    }
}

struct Entry<V> {
    value: V,
    /// Insertion sequence number: the key of this entry in `SessionCache::order`.
    seq: u64,
    /// Live while `now <= expires_at` (OpenSSL treats a session as timed out once its
    /// timeout lies strictly in the past).
    expires_at: Timestamp,
}

/// A bounded, deterministic session cache keyed by session id / ticket bytes.
pub struct SessionCache<V> {
    entries: BTreeMap<Vec<u8>, Entry<V>>,
    /// Insertion order: sequence number to id. The first entry is the oldest.
    order: BTreeMap<u64, Vec<u8>>,
    /// (expiry, sequence number) of every entry, so expired entries are found without a
    /// scan: an insert into a full cache stays O(log n) (SSL_CTX_flush_sessions walks
    /// everything; a server issuing two tickets per handshake cannot afford that).
    by_expiry: BTreeSet<(Timestamp, u64)>,
    next_seq: u64,
    capacity: usize,
    timeout: Duration,
}

impl<V> Default for SessionCache<V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<V> fmt::Debug for SessionCache<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCache")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl<V> SessionCache<V> {
    /// A cache with OpenSSL's defaults: [`SSL_SESSION_CACHE_MAX_SIZE_DEFAULT`] entries and
    /// [`DEFAULT_SESSION_TIMEOUT`].
    pub fn new() -> Self {
        Self::with_limits(SSL_SESSION_CACHE_MAX_SIZE_DEFAULT, DEFAULT_SESSION_TIMEOUT)
    }

    /// A cache holding at most `capacity` entries, each for `timeout` after its insertion.
    ///
    /// Unlike SSL_CTX_sess_set_cache_size(3), where 0 means "no limit", this cache is always
    /// bounded: a capacity of 0 stores nothing, so every `take` misses and every resumption
    /// falls back to a full handshake.
    pub fn with_limits(capacity: usize, timeout: Duration) -> Self {
        Self {
            entries: BTreeMap::new(),
            order: BTreeMap::new(),
            by_expiry: BTreeSet::new(),
            next_seq: 0,
            capacity,
            timeout,
        }
    }

    /// The maximum number of entries.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Changes the capacity; shrinking evicts the oldest entries, which are returned.
    pub fn set_capacity(&mut self, capacity: usize) -> Vec<Removed<V>> {
        self.capacity = capacity;
        let mut out = Vec::new();
        while self.entries.len() > self.capacity {
            match self.pop_oldest(RemovalReason::Evicted) {
                Some(r) => out.push(r),
                None => break,
            }
        }
        out
    }

    /// How long an entry stays live after [`SessionCache::insert`].
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Changes the timeout for entries inserted from now on (as SSL_CTX_set_timeout(3),
    /// which applies to sessions created after the call).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// Entries stored, live or expired but not yet flushed (both occupy memory; the count
    /// never exceeds [`SessionCache::capacity`]).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether a live entry for `id` is stored at `now`.
    pub fn contains(&self, id: &[u8], now: Timestamp) -> bool {
        self.get(id, now).is_some()
    }

    /// Stored entries in insertion order (oldest first), live or expired.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> + '_ {
        self.order.values().filter_map(move |id| {
            self.entries
                .get(id)
                .map(|entry| (id.as_slice(), &entry.value))
        })
    }

    /// Stores `value` under `id` for [`SessionCache::timeout`] from `now` (a ticket was
    /// issued). Returns what had to leave to make room, in order: a previous entry under the
    /// same id ([`RemovalReason::Replaced`]), expired entries, then the oldest live entries
    /// ([`RemovalReason::Evicted`]). With capacity 0 the new entry itself is returned as
    /// evicted.
    pub fn insert(&mut self, id: Vec<u8>, value: V, now: Timestamp) -> Vec<Removed<V>> {
        let timeout = self.timeout;
        self.insert_with_timeout(id, value, now, timeout)
    }

    /// As [`SessionCache::insert`], with a timeout for this entry only (for instance the
    /// ticket's own lifetime).
    pub fn insert_with_timeout(
        &mut self,
        id: Vec<u8>,
        value: V,
        now: Timestamp,
        timeout: Duration,
    ) -> Vec<Removed<V>> {
        let mut out = Vec::new();
        if let Some(old) = self.remove_entry(&id, RemovalReason::Replaced) {
            out.push(old);
        }
        if self.capacity == 0 {
            out.push(Removed {
                id,
                value,
                reason: RemovalReason::Evicted,
            });
            return out;
        }
        if self.entries.len() >= self.capacity {
            // Dead entries go before any live one is sacrificed.
            out.extend(self.flush_expired(now));
        }
        while self.entries.len() >= self.capacity {
            match self.pop_oldest(RemovalReason::Evicted) {
                Some(r) => out.push(r),
                None => break,
            }
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let expires_at = now.saturating_add(timeout);
        self.order.insert(seq, id.clone());
        self.by_expiry.insert((expires_at, seq));
        self.entries.insert(
            id,
            Entry {
                value,
                seq,
                expires_at,
            },
        );
        out
    }

    /// Looks up `id` and removes it: the single-use lookup of OpenSSL's replay protection.
    /// A second `take` of the same id misses until it is inserted again. An expired entry is
    /// removed and misses.
    pub fn take(&mut self, id: &[u8], now: Timestamp) -> Option<V> {
        match self.take_entry(id, now) {
            Some(Removed {
                value,
                reason: RemovalReason::Taken,
                ..
            }) => Some(value),
            _ => None,
        }
    }

    /// Looks up `id` without removing it, for reusable tickets (`no_anti_replay`). An
    /// expired entry misses (and stays until flushed or taken).
    pub fn get(&self, id: &[u8], now: Timestamp) -> Option<&V> {
        self.entries
            .get(id)
            .filter(|entry| now <= entry.expires_at)
            .map(|entry| &entry.value)
    }

    /// Removes `id`, live or expired (SSL_CTX_remove_session).
    pub fn remove(&mut self, id: &[u8]) -> Option<V> {
        self.remove_entry(id, RemovalReason::Removed)
            .map(|r| r.value)
    }

    /// Removes every entry whose timeout has passed at `now`, oldest first
    /// (SSL_CTX_flush_sessions).
    pub fn flush_expired(&mut self, now: Timestamp) -> Vec<Removed<V>> {
        let mut expired: Vec<u64> = self
            .by_expiry
            .iter()
            .take_while(|(expires_at, _)| now > *expires_at)
            .map(|(_, seq)| *seq)
            .collect();
        // Oldest first, as documented, whatever the entries' individual timeouts.
        expired.sort_unstable();
        let ids: Vec<Vec<u8>> = expired
            .iter()
            .filter_map(|seq| self.order.get(seq).cloned())
            .collect();
        ids.iter()
            .filter_map(|id| self.remove_entry(id, RemovalReason::Expired))
            .collect()
    }

    /// [`SessionCache::insert`], then [`SessionStoreCallbacks::remove_session`] for each
    /// entry that had to leave and [`SessionStoreCallbacks::new_session`] for the new one
    /// (if it could be stored).
    pub fn insert_with(
        &mut self,
        id: Vec<u8>,
        value: V,
        now: Timestamp,
        callbacks: &mut dyn SessionStoreCallbacks<V>,
    ) {
        let mut removed = self.insert(id.clone(), value, now);
        // With capacity 0 the new entry itself comes back evicted; the external cache
        // never heard of it, so it gets neither callback.
        removed.retain(|r| !(r.reason == RemovalReason::Evicted && r.id == id));
        self.notify_removed(&removed, callbacks);
        if let Some(entry) = self.entries.get(&id) {
            callbacks.new_session(self, &id, &entry.value);
        }
    }

    /// [`SessionCache::take`] with callbacks. The entry is removed from the internal cache
    /// first, and only then is [`SessionStoreCallbacks::remove_session`] called (the
    /// ordering described by SSL_read_early_data(3); see the module docs).
    ///
    /// On a miss, [`SessionStoreCallbacks::get_session`] may supply the session from an
    /// external cache; it is then single use too: `remove_session` is called for it
    /// ([`RemovalReason::Taken`]) so the external cache deletes it. An expired internal
    /// entry is removed (`remove_session` with [`RemovalReason::Expired`]) and misses
    /// without consulting the external cache. Values from `get_session` are not checked for
    /// expiry here: the caller checks the value's own lifetime (for instance
    /// [`ServerSessionValue::is_expired`](super::session::ServerSessionValue::is_expired)).
    pub fn take_with(
        &mut self,
        id: &[u8],
        now: Timestamp,
        callbacks: &mut dyn SessionStoreCallbacks<V>,
    ) -> Option<V> {
        match self.take_entry(id, now) {
            Some(removed) => {
                callbacks.remove_session(self, &removed.id, &removed.value, removed.reason);
                match removed.reason {
                    RemovalReason::Taken => Some(removed.value),
                    _ => None,
                }
            }
            None => {
                let value = callbacks.get_session(id)?;
                callbacks.remove_session(self, id, &value, RemovalReason::Taken);
                Some(value)
            }
        }
    }

    /// [`SessionCache::get`] with callbacks, for reusable tickets. On a miss the external
    /// cache is asked and a session it supplies is copied into the internal cache (as
    /// OpenSSL does unless SSL_SESS_CACHE_NO_INTERNAL_STORE), without `new_session`; an
    /// expired internal entry is removed (`remove_session`, [`RemovalReason::Expired`]).
    pub fn get_with(
        &mut self,
        id: &[u8],
        now: Timestamp,
        callbacks: &mut dyn SessionStoreCallbacks<V>,
    ) -> Option<V>
    where
        V: Clone,
    {
        if let Some(entry) = self.entries.get(id) {
            if now <= entry.expires_at {
                return Some(entry.value.clone());
            }
            if let Some(removed) = self.remove_entry(id, RemovalReason::Expired) {
                callbacks.remove_session(self, &removed.id, &removed.value, removed.reason);
            }
            return None;
        }
        let value = callbacks.get_session(id)?;
        let removed = self.insert(id.to_vec(), value.clone(), now);
        self.notify_removed(&removed, callbacks);
        Some(value)
    }

    /// [`SessionCache::remove`], then [`SessionStoreCallbacks::remove_session`].
    pub fn remove_with(
        &mut self,
        id: &[u8],
        callbacks: &mut dyn SessionStoreCallbacks<V>,
    ) -> Option<V> {
        let removed = self.remove_entry(id, RemovalReason::Removed)?;
        callbacks.remove_session(self, &removed.id, &removed.value, removed.reason);
        Some(removed.value)
    }

    /// [`SessionCache::flush_expired`], then [`SessionStoreCallbacks::remove_session`] for
    /// each expired entry, oldest first. Returns how many were removed.
    pub fn flush_expired_with(
        &mut self,
        now: Timestamp,
        callbacks: &mut dyn SessionStoreCallbacks<V>,
    ) -> usize {
        let removed = self.flush_expired(now);
        self.notify_removed(&removed, callbacks);
        removed.len()
    }

    fn notify_removed(&self, removed: &[Removed<V>], callbacks: &mut dyn SessionStoreCallbacks<V>) {
        for r in removed {
            callbacks.remove_session(self, &r.id, &r.value, r.reason);
        }
    }

    /// Removes `id` if present: [`RemovalReason::Taken`] if live, otherwise
    /// [`RemovalReason::Expired`].
    fn take_entry(&mut self, id: &[u8], now: Timestamp) -> Option<Removed<V>> {
        let live = now <= self.entries.get(id)?.expires_at;
        let reason = if live {
            RemovalReason::Taken
        } else {
            RemovalReason::Expired
        };
        self.remove_entry(id, reason)
    }

    fn remove_entry(&mut self, id: &[u8], reason: RemovalReason) -> Option<Removed<V>> {
        let (id, entry) = self.entries.remove_entry(id)?;
        self.order.remove(&entry.seq);
        self.by_expiry.remove(&(entry.expires_at, entry.seq));
        Some(Removed {
            id,
            value: entry.value,
            reason,
        })
    }

    fn pop_oldest(&mut self, reason: RemovalReason) -> Option<Removed<V>> {
        let (_, id) = self.order.pop_first()?;
        let entry = self.entries.remove(&id)?;
        self.by_expiry.remove(&(entry.expires_at, entry.seq));
        Some(Removed {
            id,
            value: entry.value,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ms: u64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn the_defaults_are_openssls() {
        let c: SessionCache<u8> = SessionCache::default();
        assert_eq!(c.capacity(), 20480);
        assert_eq!(c.timeout(), Duration::from_secs(7200));
    }

    #[test]
    fn an_entry_is_live_at_exactly_its_timeout_and_expired_just_after() {
        let mut c = SessionCache::with_limits(4, Duration::from_millis(100));
        c.insert(b"a".to_vec(), 1, t(0));
        assert_eq!(c.get(b"a", t(100)), Some(&1));
        assert_eq!(c.get(b"a", Timestamp::from_nanos(100_000_001)), None);
        assert_eq!(c.take(b"a", t(101)), None);
        assert!(c.is_empty(), "an expired take removes the entry");
    }

    #[test]
    fn reinserting_an_id_replaces_it_and_moves_it_to_the_newest_position() {
        let mut c = SessionCache::with_limits(2, Duration::from_secs(1));
        c.insert(b"a".to_vec(), 1, t(0));
        c.insert(b"b".to_vec(), 2, t(0));
        let removed = c.insert(b"a".to_vec(), 3, t(0));
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].reason, RemovalReason::Replaced);
        let evicted = c.insert(b"c".to_vec(), 4, t(0));
        assert_eq!(evicted[0].id, b"b");
        let order: Vec<_> = c.iter().map(|(id, v)| (id.to_vec(), *v)).collect();
        assert_eq!(order, vec![(b"a".to_vec(), 3), (b"c".to_vec(), 4)]);
    }

    #[test]
    fn a_full_cache_drops_expired_entries_before_evicting_live_ones() {
        let mut c = SessionCache::with_limits(2, Duration::from_millis(10));
        c.insert(b"old".to_vec(), 1, t(0));
        c.insert_with_timeout(b"live".to_vec(), 2, t(0), Duration::from_secs(60));
        let removed = c.insert(b"new".to_vec(), 3, t(50));
        assert_eq!(removed.len(), 1);
        assert_eq!(
            (removed[0].id.as_slice(), removed[0].reason),
            (&b"old"[..], RemovalReason::Expired)
        );
        assert!(c.contains(b"live", t(50)));
    }

    #[test]
    fn a_cache_of_capacity_zero_stores_nothing() {
        let mut c = SessionCache::with_limits(0, Duration::from_secs(1));
        let removed = c.insert(b"a".to_vec(), 1, t(0));
        assert_eq!(removed[0].reason, RemovalReason::Evicted);
        assert_eq!(c.take(b"a", t(0)), None);
    }

    #[test]
    fn shrinking_the_capacity_evicts_the_oldest() {
        let mut c = SessionCache::with_limits(3, Duration::from_secs(1));
        for (i, id) in [b"a", b"b", b"c"].iter().enumerate() {
            c.insert(id.to_vec(), i, t(0));
        }
        let removed = c.set_capacity(1);
        let ids: Vec<_> = removed.iter().map(|r| r.id.clone()).collect();
        assert_eq!(ids, vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(c.len(), 1);
    }
}
