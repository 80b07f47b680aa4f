//! What an external session store hears from the internal cache's `*_with` methods
//! (SSL_CTX_sess_set_new_cb / remove_cb): exactly the sessions it was told about, each
//! removal with its reason, and nothing about a session that was never stored.

use std::time::Duration;
use zerortt_core::tickets::cache::{RemovalReason, SessionCache, SessionStoreCallbacks};
use zerortt_core::time::Timestamp;

#[derive(Debug, PartialEq, Eq)]
enum Heard {
    New(Vec<u8>, u32),
    Removed(Vec<u8>, u32, RemovalReason),
}

#[derive(Default)]
struct Store(Vec<Heard>);

impl SessionStoreCallbacks<u32> for Store {
    fn new_session(&mut self, _cache: &SessionCache<u32>, id: &[u8], value: &u32) {
        self.0.push(Heard::New(id.to_vec(), *value));
    }

    fn remove_session(
        &mut self,
        _cache: &SessionCache<u32>,
        id: &[u8],
        value: &u32,
        reason: RemovalReason,
    ) {
        self.0.push(Heard::Removed(id.to_vec(), *value, reason));
    }
}

const NOW: Timestamp = Timestamp::SIM_EPOCH;

#[test]
fn a_cache_of_capacity_zero_tells_the_external_store_nothing() {
    let mut cache = SessionCache::with_limits(0, Duration::from_secs(60));
    let mut store = Store::default();
    cache.insert_with(b"a".to_vec(), 1, NOW, &mut store);
    assert_eq!(store.0, []);
    assert!(cache.is_empty());
}

#[test]
fn reinserting_an_id_reports_the_replaced_session_then_the_new_one() {
    let mut cache = SessionCache::with_limits(4, Duration::from_secs(60));
    let mut store = Store::default();
    cache.insert_with(b"a".to_vec(), 1, NOW, &mut store);
    cache.insert_with(b"a".to_vec(), 2, NOW, &mut store);
    assert_eq!(
        store.0,
        [
            Heard::New(b"a".to_vec(), 1),
            Heard::Removed(b"a".to_vec(), 1, RemovalReason::Replaced),
            Heard::New(b"a".to_vec(), 2),
        ]
    );
    assert_eq!(cache.len(), 1);
}

#[test]
fn a_full_cache_reports_the_evicted_session_and_the_new_one() {
    let mut cache = SessionCache::with_limits(1, Duration::from_secs(60));
    let mut store = Store::default();
    cache.insert_with(b"a".to_vec(), 1, NOW, &mut store);
    cache.insert_with(b"b".to_vec(), 2, NOW, &mut store);
    assert_eq!(
        store.0,
        [
            Heard::New(b"a".to_vec(), 1),
            Heard::Removed(b"a".to_vec(), 1, RemovalReason::Evicted),
            Heard::New(b"b".to_vec(), 2),
        ]
    );
}

#[test]
fn a_cache_holding_a_session_is_not_empty_until_it_is_taken() {
    let mut cache = SessionCache::with_limits(4, Duration::from_secs(60));
    assert!(cache.is_empty());
    let _ = cache.insert(b"a".to_vec(), 1, NOW);
    assert!(!cache.is_empty());
    assert_eq!(cache.take(b"a", NOW), Some(1));
    assert!(cache.is_empty());
}

#[test]
fn flushing_expired_sessions_reports_each_to_the_external_store_and_counts_them() {
    let mut cache = SessionCache::with_limits(8, Duration::from_secs(10));
    let mut store = Store::default();
    cache.insert_with(b"a".to_vec(), 1, NOW, &mut store);
    cache.insert_with(b"b".to_vec(), 2, NOW, &mut store);
    let later = NOW.saturating_add(Duration::from_secs(5));
    cache.insert_with(b"c".to_vec(), 3, later, &mut store);
    store.0.clear();
    let past_ab = NOW.saturating_add(Duration::from_millis(10_001));
    assert_eq!(cache.flush_expired_with(past_ab, &mut store), 2);
    assert_eq!(
        store.0,
        [
            Heard::Removed(b"a".to_vec(), 1, RemovalReason::Expired),
            Heard::Removed(b"b".to_vec(), 2, RemovalReason::Expired),
        ]
    );
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.flush_expired_with(past_ab, &mut store), 0);
}
