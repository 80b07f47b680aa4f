//! Session tickets and anti-replay: the single-use session cache (SSL_read_early_data(3),
//! REPLAY PROTECTION), stateless tickets, the ClientHello strike register (RFC 9846
//! section 8.2), the freshness check (section 8.3) and the stored session state.

use rand_core::SeedableRng;
use std::collections::BTreeMap;
use std::time::Duration;
use zerortt_core::msgs::enums::CipherSuite;
use zerortt_core::tickets::cache::{
    RemovalReason, SessionCache, SessionStoreCallbacks, SSL_SESSION_CACHE_MAX_SIZE_DEFAULT,
};
use zerortt_core::tickets::freshness::{
    check_freshness, Freshness, OPENSSL_TICKET_AGE_ALLOWANCE, RUSTLS_BORINGSSL_FRESHNESS_SKEW,
};
use zerortt_core::tickets::session::{ClientSession, PskKind, ServerSessionValue};
use zerortt_core::tickets::strike::{
    ClientHelloRecorder, SharedStrikeRegister, StrikeRegister, StrikeVerdict,
};
use zerortt_core::tickets::ticketer::{TicketAead, TicketKey, Ticketer, TICKET_OVERHEAD};
use zerortt_core::time::Timestamp;

fn at_ms(ms: u64) -> Timestamp {
    Timestamp::SIM_EPOCH.saturating_add(Duration::from_millis(ms))
}

fn rng(seed: u64) -> rand_chacha::ChaCha20Rng {
    rand_chacha::ChaCha20Rng::seed_from_u64(seed)
}

fn server_value() -> ServerSessionValue {
    ServerSessionValue {
        suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
        psk: (0..32).collect(),
        max_early_data: 16384,
        alpn: Some(b"http/1.1".to_vec()),
        server_name: Some("server.example".into()),
        age_add: 0x1234_5678,
        issued_at: at_ms(0),
        lifetime_s: 7200,
    }
}

fn client_session() -> ClientSession {
    let mut s = ClientSession::resumption(
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
        b"opaque ticket".to_vec(),
        vec![0xaa; 32],
        0xdead_beef,
        3600,
        at_ms(0),
    );
    s.set_max_early_data(1024);
    s.alpn = Some(b"h2".to_vec());
    s.server_name = Some("example.com".into());
    s
}

// ---------------------------------------------------------------- session cache

#[test]
fn a_cached_session_can_be_taken_once_and_not_twice() {
    let mut cache = SessionCache::new();
    cache.insert(b"ticket-1".to_vec(), server_value(), at_ms(0));
    assert_eq!(cache.take(b"ticket-1", at_ms(10)), Some(server_value()));
    assert_eq!(cache.take(b"ticket-1", at_ms(11)), None);
    assert!(cache.is_empty());
}

#[test]
fn a_taken_session_can_be_taken_again_only_after_it_is_inserted_again() {
    let mut cache = SessionCache::new();
    cache.insert(b"id".to_vec(), 1u32, at_ms(0));
    assert_eq!(cache.take(b"id", at_ms(1)), Some(1));
    assert_eq!(cache.take(b"id", at_ms(2)), None);
    cache.insert(b"id".to_vec(), 2u32, at_ms(3));
    assert_eq!(cache.take(b"id", at_ms(4)), Some(2));
}

#[test]
fn a_reusable_session_can_be_looked_up_again_and_again_with_get() {
    let mut cache = SessionCache::new();
    cache.insert(b"id".to_vec(), 7u32, at_ms(0));
    for ms in 1..5 {
        assert_eq!(cache.get(b"id", at_ms(ms)), Some(&7));
    }
    assert_eq!(cache.len(), 1);
}

#[test]
fn capacity_evicts_the_oldest_session() {
    let mut cache = SessionCache::with_limits(3, Duration::from_secs(60));
    for (i, id) in ["a", "b", "c"].iter().enumerate() {
        assert!(cache.insert(id.as_bytes().to_vec(), i, at_ms(0)).is_empty());
    }
    let removed = cache.insert(b"d".to_vec(), 3, at_ms(1));
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].id, b"a");
    assert_eq!(removed[0].reason, RemovalReason::Evicted);
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.take(b"a", at_ms(2)), None);
    let left: Vec<&[u8]> = cache.iter().map(|(id, _)| id).collect();
    assert_eq!(left, vec![&b"b"[..], b"c", b"d"]);
}

#[test]
fn expired_sessions_are_gone() {
    let mut cache = SessionCache::with_limits(8, Duration::from_secs(10));
    cache.insert(b"old".to_vec(), 1u32, at_ms(0));
    cache.insert(b"new".to_vec(), 2u32, at_ms(5_000));
    let now = at_ms(10_001);
    assert_eq!(cache.get(b"old", now), None);
    assert!(!cache.contains(b"old", now));
    let flushed = cache.flush_expired(now);
    assert_eq!(flushed.len(), 1);
    assert_eq!(
        (flushed[0].id.as_slice(), flushed[0].reason),
        (&b"old"[..], RemovalReason::Expired)
    );
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.take(b"new", now), Some(2));
}

#[test]
fn an_expired_session_cannot_be_taken() {
    let mut cache = SessionCache::with_limits(8, Duration::from_secs(10));
    cache.insert(b"id".to_vec(), 1u32, at_ms(0));
    assert_eq!(cache.take(b"id", at_ms(10_001)), None);
    assert!(cache.is_empty());
}

#[test]
fn the_default_cache_is_as_large_as_openssls() {
    let cache: SessionCache<()> = SessionCache::default();
    assert_eq!(cache.capacity(), SSL_SESSION_CACHE_MAX_SIZE_DEFAULT);
    assert_eq!(cache.capacity(), 20480);
}

/// What a callback saw, in order.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    New {
        id: Vec<u8>,
        in_internal: bool,
    },
    Remove {
        id: Vec<u8>,
        reason: RemovalReason,
        in_internal: bool,
        in_external: bool,
    },
    Get {
        id: Vec<u8>,
    },
}

/// An application's external cache, kept in step through the callbacks.
#[derive(Default)]
struct ExternalCache {
    store: BTreeMap<Vec<u8>, u32>,
    seen: Vec<Seen>,
}

fn holds(cache: &SessionCache<u32>, id: &[u8]) -> bool {
    cache.iter().any(|(k, _)| k == id)
}

impl SessionStoreCallbacks<u32> for ExternalCache {
    fn new_session(&mut self, cache: &SessionCache<u32>, id: &[u8], value: &u32) {
        self.seen.push(Seen::New {
            id: id.to_vec(),
            in_internal: holds(cache, id),
        });
        self.store.insert(id.to_vec(), *value);
    }

    fn remove_session(
        &mut self,
        cache: &SessionCache<u32>,
        id: &[u8],
        _value: &u32,
        reason: RemovalReason,
    ) {
        self.seen.push(Seen::Remove {
            id: id.to_vec(),
            reason,
            in_internal: holds(cache, id),
            in_external: self.store.contains_key(id),
        });
        self.store.remove(id);
    }

    fn get_session(&mut self, id: &[u8]) -> Option<u32> {
        self.seen.push(Seen::Get { id: id.to_vec() });
        self.store.get(id).copied()
    }
}

#[test]
fn the_remove_callback_runs_after_the_internal_removal() {
    let mut cache = SessionCache::new();
    let mut external = ExternalCache::default();
    cache.insert_with(b"s".to_vec(), 5, at_ms(0), &mut external);
    assert_eq!(cache.take_with(b"s", at_ms(1), &mut external), Some(5));
    assert_eq!(
        external.seen,
        vec![
            Seen::New {
                id: b"s".to_vec(),
                in_internal: true
            },
            // The man page's window: gone from the internal cache, still in the external one.
            Seen::Remove {
                id: b"s".to_vec(),
                reason: RemovalReason::Taken,
                in_internal: false,
                in_external: true
            },
        ]
    );
    assert!(external.store.is_empty());
    assert_eq!(cache.take_with(b"s", at_ms(2), &mut external), None);
}

#[test]
fn a_session_supplied_by_the_external_cache_is_single_use_too() {
    let mut cache = SessionCache::new();
    let mut external = ExternalCache::default();
    external.store.insert(b"ext".to_vec(), 9);
    assert_eq!(cache.take_with(b"ext", at_ms(0), &mut external), Some(9));
    assert_eq!(cache.take_with(b"ext", at_ms(1), &mut external), None);
    assert_eq!(
        external.seen,
        vec![
            Seen::Get {
                id: b"ext".to_vec()
            },
            Seen::Remove {
                id: b"ext".to_vec(),
                reason: RemovalReason::Taken,
                in_internal: false,
                in_external: true
            },
            Seen::Get {
                id: b"ext".to_vec()
            },
        ]
    );
}

#[test]
fn an_expired_internal_session_is_removed_everywhere_and_not_fetched_from_outside() {
    let mut cache = SessionCache::with_limits(4, Duration::from_secs(1));
    let mut external = ExternalCache::default();
    cache.insert_with(b"s".to_vec(), 5, at_ms(0), &mut external);
    assert_eq!(cache.take_with(b"s", at_ms(1_001), &mut external), None);
    assert_eq!(
        external.seen.last(),
        Some(&Seen::Remove {
            id: b"s".to_vec(),
            reason: RemovalReason::Expired,
            in_internal: false,
            in_external: true
        })
    );
    assert!(!external.seen.iter().any(|s| matches!(s, Seen::Get { .. })));
}

#[test]
fn evicted_sessions_are_reported_to_the_remove_callback() {
    let mut cache = SessionCache::with_limits(1, Duration::from_secs(60));
    let mut external = ExternalCache::default();
    cache.insert_with(b"a".to_vec(), 1, at_ms(0), &mut external);
    cache.insert_with(b"b".to_vec(), 2, at_ms(1), &mut external);
    assert!(external.seen.contains(&Seen::Remove {
        id: b"a".to_vec(),
        reason: RemovalReason::Evicted,
        in_internal: false,
        in_external: true
    }));
    assert_eq!(
        external.store.keys().collect::<Vec<_>>(),
        vec![&b"b".to_vec()]
    );
}

#[test]
fn a_reusable_lookup_copies_an_external_session_into_the_internal_cache() {
    let mut cache = SessionCache::new();
    let mut external = ExternalCache::default();
    external.store.insert(b"ext".to_vec(), 4);
    assert_eq!(cache.get_with(b"ext", at_ms(0), &mut external), Some(4));
    assert_eq!(cache.get(b"ext", at_ms(1)), Some(&4));
    assert_eq!(cache.get_with(b"ext", at_ms(2), &mut external), Some(4));
    let gets = external
        .seen
        .iter()
        .filter(|s| matches!(s, Seen::Get { .. }))
        .count();
    assert_eq!(gets, 1, "the second lookup is served internally");
}

/// One step of the cache property.
#[derive(Debug, bolero::TypeGenerator)]
enum CacheOp {
    Insert { id: u8, value: u8 },
    Take(u8),
    Get(u8),
    Remove(u8),
    Advance(u8),
    Flush,
}

/// The specification the cache is checked against: a list in insertion order.
struct CacheModel {
    entries: Vec<(u8, u8, u64)>,
    capacity: usize,
    timeout_ms: u64,
}

impl CacheModel {
    fn live(&self, inserted_ms: u64, now_ms: u64) -> bool {
        now_ms <= inserted_ms + self.timeout_ms
    }

    fn insert(&mut self, id: u8, value: u8, now_ms: u64) {
        self.entries.retain(|e| e.0 != id);
        if self.capacity == 0 {
            return;
        }
        if self.entries.len() >= self.capacity {
            let timeout = self.timeout_ms;
            self.entries.retain(|e| now_ms <= e.2 + timeout);
        }
        while self.entries.len() >= self.capacity {
            self.entries.remove(0);
        }
        self.entries.push((id, value, now_ms));
    }

    fn take(&mut self, id: u8, now_ms: u64) -> Option<u8> {
        let at = self.entries.iter().position(|e| e.0 == id)?;
        let (_, value, inserted) = self.entries.remove(at);
        self.live(inserted, now_ms).then_some(value)
    }

    fn get(&self, id: u8, now_ms: u64) -> Option<u8> {
        self.entries
            .iter()
            .find(|e| e.0 == id && self.live(e.2, now_ms))
            .map(|e| e.1)
    }
}

#[test]
fn for_any_operations_the_cache_never_takes_an_id_twice_without_a_reinsert_and_stays_bounded() {
    bolero::check!()
        .with_type::<(u8, Vec<CacheOp>)>()
        .for_each(|(capacity, ops)| {
            let capacity = usize::from(capacity % 6);
            let timeout_ms = 40;
            let mut cache = SessionCache::with_limits(capacity, Duration::from_millis(timeout_ms));
            let mut model = CacheModel {
                entries: Vec::new(),
                capacity,
                timeout_ms,
            };
            // ids inserted and not yet taken: the only ones `take` may yield.
            let mut takeable = [false; 8];
            let mut now_ms = 0u64;
            for op in ops {
                let now = at_ms(now_ms);
                match *op {
                    CacheOp::Insert { id, value } => {
                        let id = id % 8;
                        cache.insert(vec![id], value, now);
                        model.insert(id, value, now_ms);
                        takeable[usize::from(id)] = true;
                    }
                    CacheOp::Take(id) => {
                        let id = id % 8;
                        let got = cache.take(&[id], now);
                        assert_eq!(got, model.take(id, now_ms));
                        if got.is_some() {
                            assert!(takeable[usize::from(id)], "id {id} taken twice");
                        }
                        takeable[usize::from(id)] = false;
                    }
                    CacheOp::Get(id) => {
                        let id = id % 8;
                        assert_eq!(cache.get(&[id], now).copied(), model.get(id, now_ms));
                    }
                    CacheOp::Remove(id) => {
                        let id = id % 8;
                        cache.remove(&[id]);
                        model.entries.retain(|e| e.0 != id);
                        takeable[usize::from(id)] = false;
                    }
                    CacheOp::Advance(ms) => now_ms += u64::from(ms),
                    CacheOp::Flush => {
                        cache.flush_expired(now);
                        model.entries.retain(|e| now_ms <= e.2 + timeout_ms);
                    }
                }
                assert!(cache.len() <= capacity);
                let order: Vec<(u8, u8)> = cache
                    .iter()
                    .map(|(id, v)| (id.first().copied().unwrap_or(u8::MAX), *v))
                    .collect();
                let expected: Vec<(u8, u8)> = model.entries.iter().map(|e| (e.0, e.1)).collect();
                assert_eq!(order, expected, "insertion order is the model's");
            }
        });
}

// ---------------------------------------------------------------- stateless tickets

fn key(name: u8, aead: TicketAead) -> TicketKey {
    TicketKey::new([name; 16], aead, &[name.wrapping_mul(31); 32]).unwrap()
}

#[test]
fn a_sealed_ticket_opens_to_its_plaintext_under_both_aeads() {
    for aead in [TicketAead::Aes256Gcm, TicketAead::ChaCha20Poly1305] {
        let t = Ticketer::new(key(1, aead));
        let ticket = t.seal(b"session state", &mut rng(1)).unwrap();
        assert_eq!(t.open(&ticket).as_deref(), Some(&b"session state"[..]));
    }
}

#[test]
fn a_server_session_value_survives_a_round_trip_through_a_ticket() {
    let t = Ticketer::new(TicketKey::generate(TicketAead::Aes256Gcm, &mut rng(2)));
    let ticket = t.seal(&server_value().to_bytes(), &mut rng(3)).unwrap();
    let opened = t.open(&ticket).unwrap();
    assert_eq!(ServerSessionValue::from_bytes(&opened), Ok(server_value()));
}

#[test]
fn a_ticket_with_one_flipped_bit_does_not_open() {
    let t = Ticketer::new(key(1, TicketAead::Aes256Gcm));
    let ticket = t.seal(b"state", &mut rng(1)).unwrap();
    for byte in 0..ticket.len() {
        for bit in 0..8 {
            let mut bad = ticket.clone();
            bad[byte] ^= 1 << bit;
            assert_eq!(t.open(&bad), None, "bit {bit} of byte {byte}");
        }
    }
}

#[test]
fn a_truncated_or_extended_ticket_does_not_open() {
    let t = Ticketer::new(key(1, TicketAead::ChaCha20Poly1305));
    let ticket = t.seal(b"state", &mut rng(1)).unwrap();
    for len in 0..ticket.len() {
        assert_eq!(t.open(&ticket[..len]), None, "len {len}");
    }
    let mut longer = ticket.clone();
    longer.push(0);
    assert_eq!(t.open(&longer), None);
}

#[test]
fn an_unknown_key_name_does_not_open() {
    let sealer = Ticketer::new(key(1, TicketAead::Aes256Gcm));
    let other = Ticketer::new(key(2, TicketAead::Aes256Gcm));
    let ticket = sealer.seal(b"state", &mut rng(1)).unwrap();
    assert_eq!(other.open(&ticket), None);
    // Same key bytes under another name: the name is authenticated too.
    let renamed = Ticketer::new(TicketKey::new([2; 16], TicketAead::Aes256Gcm, &[31; 32]).unwrap());
    let mut relabelled = ticket.clone();
    relabelled[..16].copy_from_slice(&[2; 16]);
    assert_eq!(renamed.open(&relabelled), None);
}

#[test]
fn rotated_keys_still_open_old_tickets() {
    let mut t = Ticketer::new(key(1, TicketAead::Aes256Gcm));
    let old = t.seal(b"old", &mut rng(1)).unwrap();
    t.rotate(key(2, TicketAead::ChaCha20Poly1305)).unwrap();
    let new = t.seal(b"new", &mut rng(2)).unwrap();
    assert_eq!(&new[..16], &[2; 16], "new tickets use the new key");
    assert_eq!(t.open(&old).as_deref(), Some(&b"old"[..]));
    assert_eq!(t.open(&new).as_deref(), Some(&b"new"[..]));
    assert_eq!(t.previous_key_name(), Some([1; 16]));
}

#[test]
fn a_ticket_stops_opening_at_the_second_rotation_after_it_was_sealed() {
    let mut t = Ticketer::new(key(1, TicketAead::Aes256Gcm));
    let old = t.seal(b"old", &mut rng(1)).unwrap();
    t.rotate(key(2, TicketAead::Aes256Gcm)).unwrap();
    t.rotate(key(3, TicketAead::Aes256Gcm)).unwrap();
    assert_eq!(t.open(&old), None);
}

#[test]
fn a_retired_previous_key_no_longer_opens() {
    let mut t = Ticketer::new(key(1, TicketAead::Aes256Gcm));
    let old = t.seal(b"old", &mut rng(1)).unwrap();
    t.rotate(key(2, TicketAead::Aes256Gcm)).unwrap();
    t.retire_previous();
    assert_eq!(t.open(&old), None);
    assert_eq!(t.previous_key_name(), None);
}

#[test]
fn servers_built_from_the_same_key_bytes_open_each_others_tickets() {
    let a = Ticketer::new(key(7, TicketAead::ChaCha20Poly1305));
    let b = Ticketer::new(key(7, TicketAead::ChaCha20Poly1305));
    let ticket = a.seal(b"cluster", &mut rng(9)).unwrap();
    assert_eq!(b.open(&ticket).as_deref(), Some(&b"cluster"[..]));
}

#[test]
fn two_tickets_for_the_same_state_differ_because_their_nonces_do() {
    let t = Ticketer::new(key(1, TicketAead::Aes256Gcm));
    let mut r = rng(4);
    let a = t.seal(b"same", &mut r).unwrap();
    let b = t.seal(b"same", &mut r).unwrap();
    assert_ne!(a, b);
    assert_eq!(a.len(), 4 + TICKET_OVERHEAD);
}

#[test]
fn opening_any_bytes_never_panics_and_never_succeeds_without_the_key() {
    let t = Ticketer::new(key(1, TicketAead::Aes256Gcm));
    bolero::check!().with_type::<Vec<u8>>().for_each(|bytes| {
        assert_eq!(t.open(bytes), None);
    });
}

// ---------------------------------------------------------------- strike register

#[test]
fn the_strike_register_catches_a_replay() {
    let mut r = StrikeRegister::new(Duration::from_secs(20), 100);
    assert_eq!(
        r.check_and_record(b"binder", at_ms(0)),
        StrikeVerdict::Fresh
    );
    let replay = r.check_and_record(b"binder", at_ms(5));
    assert_eq!(replay, StrikeVerdict::Replay);
    assert!(!replay.allows_early_data());
}

#[test]
fn the_strike_register_misses_nothing_within_its_window() {
    let window_ms = 200;
    let mut r = StrikeRegister::new(Duration::from_millis(window_ms), 1000);
    // A timeline in 1 ms steps: binder i is first seen at i * 7 ms, and at every step every
    // binder still inside its window is replayed, up to the last instant of that window.
    let mut first_seen: Vec<u64> = Vec::new();
    for now in 0..=(49 * 7 + window_ms) {
        if now % 7 == 0 && now / 7 < 50 {
            let i = now / 7;
            assert_eq!(
                r.check_and_record(&i.to_be_bytes(), at_ms(now)),
                StrikeVerdict::Fresh
            );
            first_seen.push(now);
        }
        for (i, &first) in first_seen.iter().enumerate() {
            if now <= first + window_ms {
                assert_eq!(
                    r.check_and_record(&(i as u64).to_be_bytes(), at_ms(now)),
                    StrikeVerdict::Replay,
                    "binder {i} at {now} ms"
                );
            }
        }
    }
}

#[test]
fn distinct_client_hellos_are_never_mistaken_for_replays() {
    let mut r = StrikeRegister::new(Duration::from_secs(20), 10_000);
    for i in 0u32..5_000 {
        assert_eq!(
            r.check_and_record(&i.to_le_bytes(), at_ms(u64::from(i))),
            StrikeVerdict::Fresh
        );
    }
}

#[test]
fn a_replay_at_the_far_edge_of_the_freshness_span_is_still_caught() {
    // A ClientHello whose expected arrival is E passes the freshness check anywhere in
    // [E - tol, E + tol]. Accepted at the early edge, replayed at the late edge.
    let tol = OPENSSL_TICKET_AGE_ALLOWANCE;
    let mut r = StrikeRegister::for_freshness_tolerance(tol, 100);
    let (age_add, client_age_ms) = (77u32, 30_000u32);
    let obfuscated = client_age_ms.wrapping_add(age_add);
    let issued = at_ms(0);
    let expected_arrival_ms = u64::from(client_age_ms);
    let early = at_ms(expected_arrival_ms - 10_000);
    let late = at_ms(expected_arrival_ms + 10_000);
    assert!(check_freshness(obfuscated, age_add, issued, early, tol).is_fresh());
    assert_eq!(r.check_and_record(b"binder", early), StrikeVerdict::Fresh);
    assert!(check_freshness(obfuscated, age_add, issued, late, tol).is_fresh());
    assert_eq!(r.check_and_record(b"binder", late), StrikeVerdict::Replay);
}

#[test]
fn the_register_shared_by_two_servers_catches_a_cross_server_replay() {
    let shared = SharedStrikeRegister::new(StrikeRegister::new(Duration::from_secs(20), 100));
    let mut server_a: Box<dyn ClientHelloRecorder> = Box::new(shared.clone());
    let mut server_b: Box<dyn ClientHelloRecorder> = Box::new(shared.clone());
    assert_eq!(
        server_a.check_and_record(b"binder", at_ms(0)),
        StrikeVerdict::Fresh
    );
    assert_eq!(
        server_b.check_and_record(b"binder", at_ms(3)),
        StrikeVerdict::Replay
    );
    assert_eq!(shared.len(), 1);
}

#[test]
fn separate_registers_each_accept_a_replay_once() {
    // RFC 9846 section 8.2, separate storage per zone: replays are limited to one per zone.
    let mut zone_a = StrikeRegister::default();
    let mut zone_b = StrikeRegister::default();
    assert_eq!(
        zone_a.check_and_record(b"x", at_ms(0)),
        StrikeVerdict::Fresh
    );
    assert_eq!(
        zone_b.check_and_record(b"x", at_ms(1)),
        StrikeVerdict::Fresh
    );
    assert_eq!(
        zone_a.check_and_record(b"x", at_ms(2)),
        StrikeVerdict::Replay
    );
    assert_eq!(
        zone_b.check_and_record(b"x", at_ms(3)),
        StrikeVerdict::Replay
    );
}

#[test]
fn servers_racing_on_one_client_hello_accept_it_at_most_once() {
    let shared = SharedStrikeRegister::new(StrikeRegister::new(Duration::from_secs(20), 100));
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let shared = shared.clone();
            std::thread::spawn(move || shared.check_and_record(b"raced", at_ms(0)))
        })
        .collect();
    let verdicts: Vec<StrikeVerdict> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let fresh = verdicts.iter().filter(|v| v.allows_early_data()).count();
    assert_eq!(fresh, 1, "{verdicts:?}");
}

#[test]
fn a_full_register_refuses_rather_than_forgets() {
    let mut r = StrikeRegister::new(Duration::from_secs(20), 3);
    for b in [b"a", b"b", b"c"] {
        assert_eq!(r.check_and_record(b, at_ms(0)), StrikeVerdict::Fresh);
    }
    let full = r.check_and_record(b"d", at_ms(1));
    assert_eq!(full, StrikeVerdict::Full);
    assert!(!full.allows_early_data());
    // Nothing was forgotten to make room.
    for b in [b"a", b"b", b"c"] {
        assert_eq!(r.check_and_record(b, at_ms(2)), StrikeVerdict::Replay);
    }
    assert_eq!(r.len(), 3);
    // Once the window has passed there is room again.
    assert_eq!(
        r.check_and_record(b"d", at_ms(20_001)),
        StrikeVerdict::Fresh
    );
}

/// One step of the strike register property.
#[derive(Debug, bolero::TypeGenerator)]
enum StrikeOp {
    Check(u8),
    Advance(u8),
}

#[test]
fn for_any_sequence_a_recorded_binder_is_never_fresh_again_within_its_window() {
    bolero::check!()
        .with_type::<(u8, Vec<StrikeOp>)>()
        .for_each(|(capacity, ops)| {
            let capacity = usize::from(capacity % 8);
            let window_ms = 50u64;
            let mut r = StrikeRegister::new(Duration::from_millis(window_ms), capacity);
            // binder -> when it was last recorded
            let mut recorded: BTreeMap<u8, u64> = BTreeMap::new();
            let mut now_ms = 0u64;
            for op in ops {
                match *op {
                    StrikeOp::Advance(ms) => now_ms += u64::from(ms % 32),
                    StrikeOp::Check(b) => {
                        let b = b % 16;
                        let within = recorded.get(&b).is_some_and(|&t| now_ms <= t + window_ms);
                        let verdict = r.check_and_record(&[b], at_ms(now_ms));
                        if within {
                            assert_eq!(verdict, StrikeVerdict::Replay, "binder {b} at {now_ms}");
                        } else {
                            assert_ne!(verdict, StrikeVerdict::Replay, "binder {b} at {now_ms}");
                        }
                        if verdict == StrikeVerdict::Fresh {
                            recorded.insert(b, now_ms);
                        }
                    }
                }
                assert!(r.len() <= capacity);
            }
        });
}

// ---------------------------------------------------------------- freshness

/// A check where the client's age is `server_age + client_minus_server_ms`.
fn freshness_with_skew(client_minus_server_ms: i64, tolerance: Duration) -> Freshness {
    let age_add = 0x9e37_79b9u32;
    let server_age_ms = 100_000u64;
    let client_age_ms = (server_age_ms as i64 + client_minus_server_ms) as u32;
    check_freshness(
        client_age_ms.wrapping_add(age_add),
        age_add,
        at_ms(0),
        at_ms(server_age_ms),
        tolerance,
    )
    .freshness
}

#[test]
fn a_client_hello_arriving_late_is_fresh_inside_the_tolerance_and_too_old_outside() {
    let tol = OPENSSL_TICKET_AGE_ALLOWANCE;
    // The client's age is smaller than the server's: the ClientHello is late.
    assert_eq!(freshness_with_skew(-9_999, tol), Freshness::Fresh);
    assert_eq!(freshness_with_skew(-10_000, tol), Freshness::Fresh);
    assert_eq!(freshness_with_skew(-10_001, tol), Freshness::TooOld);
}

#[test]
fn a_client_hello_arriving_early_is_fresh_inside_the_tolerance_and_too_new_outside() {
    let tol = OPENSSL_TICKET_AGE_ALLOWANCE;
    // The client's age is larger than the server's: the ClientHello is early.
    assert_eq!(freshness_with_skew(9_999, tol), Freshness::Fresh);
    assert_eq!(freshness_with_skew(10_000, tol), Freshness::Fresh);
    assert_eq!(freshness_with_skew(10_001, tol), Freshness::TooNew);
}

#[test]
fn a_thirty_second_skew_is_refused_by_openssls_allowance_and_accepted_by_rustls() {
    assert_eq!(
        freshness_with_skew(-30_000, OPENSSL_TICKET_AGE_ALLOWANCE),
        Freshness::TooOld
    );
    assert_eq!(
        freshness_with_skew(-30_000, RUSTLS_BORINGSSL_FRESHNESS_SKEW),
        Freshness::Fresh
    );
    assert_eq!(
        freshness_with_skew(60_001, RUSTLS_BORINGSSL_FRESHNESS_SKEW),
        Freshness::TooNew
    );
}

#[test]
fn the_freshness_check_reports_the_ages_it_compared() {
    let c = check_freshness(
        5_500u32.wrapping_add(3),
        3,
        at_ms(0),
        at_ms(6_000),
        Duration::ZERO,
    );
    assert_eq!(c.client_ticket_age_ms, 5_500);
    assert_eq!(c.server_ticket_age_ms, 6_000);
    assert_eq!(c.skew_ns, 500_000_000);
    assert_eq!(c.freshness, Freshness::TooOld);
}

#[test]
fn an_obfuscated_age_that_wrapped_past_2_to_the_32_is_fresh() {
    // The client's obfuscation wraps; the server's unwrapping must too.
    let mut session = client_session();
    session.age_add = u32::MAX - 100;
    let now = at_ms(1_000);
    let obfuscated = session.obfuscated_ticket_age(now);
    assert!(obfuscated < 1_000, "the sum wrapped: {obfuscated}");
    let c = check_freshness(
        obfuscated,
        session.age_add,
        at_ms(0),
        now,
        Duration::from_millis(1),
    );
    assert_eq!(c.client_ticket_age_ms, 1_000);
    assert!(c.is_fresh());
}

#[test]
fn a_freshly_received_ticket_offered_after_a_round_trip_is_fresh() {
    // Server issues at 0, client receives at 40 ms (one-way delay), offers it at 5 s, and the
    // ClientHello arrives 40 ms later.
    let value = server_value();
    let mut session = client_session();
    session.age_add = value.age_add;
    session.received_at = at_ms(40);
    let obfuscated = session.obfuscated_ticket_age(at_ms(5_000));
    let c = check_freshness(
        obfuscated,
        value.age_add,
        value.issued_at,
        at_ms(5_040),
        OPENSSL_TICKET_AGE_ALLOWANCE,
    );
    assert!(c.is_fresh());
    assert_eq!(c.skew_ns, 80_000_000, "one round trip late");
}

// ---------------------------------------------------------------- session state

#[test]
fn client_session_bytes_round_trip() {
    let s = client_session();
    assert_eq!(ClientSession::from_bytes(&s.to_bytes()), Ok(s));
    let mut external = ClientSession::external(
        CipherSuite::TLS13_AES_256_GCM_SHA384,
        b"psk identity".to_vec(),
        vec![1; 48],
    );
    external.set_max_early_data(512);
    assert_eq!(
        ClientSession::from_bytes(&external.to_bytes()),
        Ok(external.clone())
    );
    assert_eq!(external.kind, PskKind::External);
}

#[test]
fn server_session_value_bytes_round_trip() {
    let v = server_value();
    assert_eq!(ServerSessionValue::from_bytes(&v.to_bytes()), Ok(v));
    let bare = ServerSessionValue {
        alpn: None,
        server_name: None,
        ..server_value()
    };
    assert_eq!(ServerSessionValue::from_bytes(&bare.to_bytes()), Ok(bare));
}

#[test]
fn a_session_reports_the_max_early_data_it_was_given() {
    let mut s = ClientSession::resumption(
        CipherSuite::TLS13_AES_128_GCM_SHA256,
        b"t".to_vec(),
        vec![0; 32],
        0,
        60,
        at_ms(0),
    );
    assert_eq!(
        s.max_early_data(),
        0,
        "a session cannot carry early data by default"
    );
    s.set_max_early_data(16384);
    assert_eq!(s.max_early_data(), 16384);
}

#[test]
fn decoding_any_bytes_as_a_session_never_panics_and_accepts_only_canonical_encodings() {
    bolero::check!().with_type::<Vec<u8>>().for_each(|bytes| {
        if let Ok(s) = ClientSession::from_bytes(bytes) {
            assert_eq!(&s.to_bytes(), bytes);
        }
        if let Ok(v) = ServerSessionValue::from_bytes(bytes) {
            assert_eq!(&v.to_bytes(), bytes);
        }
    });
}

/// The fields of a session, as a generator sees them.
#[derive(Debug, bolero::TypeGenerator)]
struct SessionFields {
    suite: u16,
    ticket: Vec<u8>,
    psk: Vec<u8>,
    max_early_data: u32,
    alpn: Option<Vec<u8>>,
    server_name: Option<String>,
    age_add: u32,
    lifetime_s: u32,
    at_nanos: u64,
    external: bool,
}

#[test]
fn any_session_round_trips_through_its_bytes() {
    bolero::check!().with_type::<SessionFields>().for_each(|f| {
        // The encoding's limits: opaque<0..2^16-1> for ticket and PSK, a 255-byte ALPN
        // protocol name (RFC 7301), opaque<0..2^16-1> for the server name.
        let ticket: Vec<u8> = f.ticket.iter().copied().take(0xffff).collect();
        let psk: Vec<u8> = f.psk.iter().copied().take(0xffff).collect();
        let alpn = f.alpn.as_ref().map(|a| a[..a.len().min(255)].to_vec());
        let server_name = f
            .server_name
            .as_ref()
            .filter(|n| n.len() <= 0xffff)
            .cloned();
        let mut s = ClientSession::resumption(
            CipherSuite::from(f.suite),
            ticket,
            psk.clone(),
            f.age_add,
            f.lifetime_s,
            Timestamp::from_nanos(f.at_nanos),
        );
        s.set_max_early_data(f.max_early_data);
        s.alpn = alpn.clone();
        s.server_name = server_name.clone();
        if f.external {
            s.kind = PskKind::External;
        }
        assert_eq!(ClientSession::from_bytes(&s.to_bytes()).as_ref(), Ok(&s));

        let v = ServerSessionValue {
            suite: CipherSuite::from(f.suite),
            psk,
            max_early_data: f.max_early_data,
            alpn,
            server_name,
            age_add: f.age_add,
            issued_at: Timestamp::from_nanos(f.at_nanos),
            lifetime_s: f.lifetime_s,
        };
        assert_eq!(
            ServerSessionValue::from_bytes(&v.to_bytes()).as_ref(),
            Ok(&v)
        );
    });
}
