//! A memo of public-key results, for simulation sweeps and fuzzing.
//!
//! X25519 and signatures are most of a simulated handshake's cost, and a fuzzer that
//! mutates one network knob at a time replays the same seed, hence the same private keys,
//! peer keys and transcripts, thousands of times. Every operation memoized here is a pure
//! function of its inputs (X25519 per RFC 7748, Ed25519 per RFC 8032, ECDSA with RFC 6979
//! nonces, signature verification), so a hit returns exactly the bytes the computation
//! would: traces stay byte-identical with the memo on or off, and every other part of the
//! handshake (HKDF, AEAD, transcript, binders, Finished) is computed as always.
//!
//! Off unless a configuration opts in ([`crate::conn::config::ClientConfig::public_key_memo`],
//! [`crate::conn::config::ServerConfig::public_key_memo`]). The memo holds private keys and
//! shared secrets in memory: it is for simulations and tests with throwaway keys, never for
//! a server holding real keys. Each table is bounded ([`PublicKeyMemo::ENTRIES_MAX`]): when
//! full, the half least recently used is dropped, so memory stays bounded whatever the peer
//! sends.

use crate::crypto::sign::SigningKey;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// X25519 private keys, public keys and shared secrets are 32 bytes (RFC 7748 section 5).
/// Named here rather than taken from `crypto::kx`, which uses this memo: the memo stays a
/// leaf module.
const X25519_LEN: usize = 32;

/// Key of a memoized entry: SHA-256 over the operation's inputs (each length-prefixed), so
/// that large inputs (messages, transcripts) are not stored.
type Digest = [u8; 32];

/// Memoized X25519 and signature results (see the module documentation).
#[derive(Debug, Default)]
pub struct PublicKeyMemo {
    x25519_public: Table<[u8; X25519_LEN], [u8; X25519_LEN]>,
    x25519_shared: Table<Digest, Option<[u8; X25519_LEN]>>,
    signatures: Table<Digest, Vec<u8>>,
    verified: Table<Digest, ()>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// How often a memo answered from a table, and how often it computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoStats {
    /// Results served from the memo.
    pub hits: u64,
    /// Results computed (and then stored).
    pub misses: u64,
}

impl MemoStats {
    /// hits / (hits + misses), 0 when nothing was asked.
    pub fn hit_rate(&self) -> f64 {
        let all = self.hits.saturating_add(self.misses);
        if all == 0 {
            0.0
        } else {
            self.hits as f64 / all as f64
        }
    }
}

/// Two generations of BTreeMap (not HashMap: `core` reads no OS randomness, not even for
/// hash seeds). When the current generation is full it becomes the previous one and the
/// old previous one is dropped; a hit in the previous generation moves back to the
/// current one. So a fuzzer's hot seeds stay memoized while a stream of one-off seeds
/// passes through, and the table never holds more than [`PublicKeyMemo::ENTRIES_MAX`].
#[derive(Debug)]
struct Table<K, V>(Mutex<Generations<K, V>>);

#[derive(Debug)]
struct Generations<K, V> {
    current: BTreeMap<K, V>,
    previous: BTreeMap<K, V>,
}

impl<K, V> Default for Table<K, V> {
    fn default() -> Self {
        Self(Mutex::new(Generations {
            current: BTreeMap::new(),
            previous: BTreeMap::new(),
        }))
    }
}

impl<K: Ord, V: Clone> Table<K, V> {
    fn get(&self, k: &K) -> Option<V> {
        let mut g = self.0.lock().ok()?;
        if let Some(v) = g.current.get(k) {
            return Some(v.clone());
        }
        let (k, v) = g.previous.remove_entry(k)?;
        g.insert(k, v.clone());
        Some(v)
    }

    fn put(&self, k: K, v: V) {
        if let Ok(mut g) = self.0.lock() {
            g.insert(k, v);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.0
            .lock()
            .map(|g| g.current.len() + g.previous.len())
            .unwrap_or(0)
    }
}

impl<K: Ord, V> Generations<K, V> {
    fn insert(&mut self, k: K, v: V) {
        // Results do not depend on what the memo holds, only the speed does.
        if self.current.len() >= PublicKeyMemo::ENTRIES_MAX / 2 {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(k, v);
    }
}

fn digest(label: &[u8], parts: &[&[u8]]) -> Digest {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(label);
    for p in parts {
        ctx.update(&(p.len() as u64).to_be_bytes());
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

impl PublicKeyMemo {
    /// Most entries per table (both generations together).
    pub const ENTRIES_MAX: usize = 8192;

    /// An empty memo.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> MemoStats {
        MemoStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }

    fn lookup<K: Ord, V: Clone>(
        &self,
        table: &Table<K, V>,
        key: K,
        compute: impl FnOnce() -> V,
    ) -> V {
        if let Some(v) = table.get(&key) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return v;
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let v = compute();
        table.put(key, v.clone());
        v
    }

    /// The X25519 public key of (clamped) `private`.
    pub(crate) fn x25519_public(
        &self,
        private: [u8; X25519_LEN],
        compute: impl FnOnce() -> [u8; X25519_LEN],
    ) -> [u8; X25519_LEN] {
        self.lookup(&self.x25519_public, private, compute)
    }

    /// X25519(`private`, `peer`), or `None` for the all-zero (non-contributory) result.
    pub(crate) fn x25519_shared(
        &self,
        private: &[u8; X25519_LEN],
        peer: &[u8; X25519_LEN],
        compute: impl FnOnce() -> Option<[u8; X25519_LEN]>,
    ) -> Option<[u8; X25519_LEN]> {
        let key = digest(b"x25519", &[private, peer]);
        self.lookup(&self.x25519_shared, key, compute)
    }

    /// `key`'s deterministic signature of `message`.
    pub fn sign(&self, key: &SigningKey, message: &[u8]) -> Vec<u8> {
        let public = key.public_key();
        let key_digest = digest(b"sign", &[&public, message]);
        self.lookup(&self.signatures, key_digest, || key.sign(message))
    }

    /// Runs `verify` unless the same (algorithm, public key, message, signature) verified
    /// before. Only successes are kept: a failure is computed again, so its error is exact.
    pub fn verified<E>(
        &self,
        algorithm: &[u8],
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
        verify: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), E> {
        let key = digest(b"verify", &[algorithm, public_key, message, signature]);
        if self.verified.get(&key).is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        verify()?;
        self.verified.put(key, ());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::sign::SigningKey;

    #[test]
    fn memoized_signatures_equal_fresh_ones_and_failed_verifications_are_not_kept() {
        let memo = PublicKeyMemo::new();
        let key =
            SigningKey::ed25519_from_pkcs8(include_bytes!("../../testdata/server-ed25519.key.pk8"))
                .expect("the shipped test key");
        let sig = memo.sign(&key, b"m");
        assert_eq!(sig, key.sign(b"m"));
        assert_eq!(memo.sign(&key, b"m"), sig);
        let mut calls = 0;
        for _ in 0..2 {
            let r: Result<(), ()> = memo.verified(b"alg", b"pk", b"m", &sig, || {
                calls += 1;
                Err(())
            });
            assert!(r.is_err());
        }
        assert_eq!(calls, 2);
        for _ in 0..2 {
            let r: Result<(), ()> = memo.verified(b"alg", b"pk", b"m", &sig, || {
                calls += 1;
                Ok(())
            });
            assert!(r.is_ok());
        }
        assert_eq!(calls, 3);
    }

    #[test]
    fn a_full_table_drops_its_old_generation_instead_of_growing() {
        let t: Table<u32, ()> = Table::default();
        let max = PublicKeyMemo::ENTRIES_MAX as u32;
        for i in 0..(3 * max) {
            t.put(i, ());
            assert!(t.len() <= PublicKeyMemo::ENTRIES_MAX);
        }
        assert!(t.get(&0).is_none(), "the oldest entries are dropped");
        assert!(t.get(&(3 * max - 1)).is_some(), "the newest are kept");
    }

    #[test]
    fn an_entry_in_use_survives_a_stream_of_one_off_entries() {
        let t: Table<u32, u32> = Table::default();
        t.put(u32::MAX, 7);
        for i in 0..(4 * PublicKeyMemo::ENTRIES_MAX as u32) {
            t.put(i, i);
            if i % 64 == 0 {
                assert_eq!(t.get(&u32::MAX), Some(7), "after {i} one-off entries");
            }
        }
    }
}
