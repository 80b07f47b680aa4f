//! Stateless session tickets: the server seals its session state into the ticket itself
//! (RFC 9846 section 4.7.1: the ticket "MAY be either a database lookup key or a
//! self-encrypted and self-authenticated value").
//!
//! Wire layout of a ticket:
//!
//! ```text
//! key_name[16] || nonce[12] || AEAD(key, nonce, aad = key_name, plaintext) || tag[16]
//! ```
//!
//! The key name selects the key, so that keys can rotate while old tickets are still out
//! there, and servers in a cluster that share the keys (built with [`TicketKey::new`] from
//! the same bytes) open each other's tickets. The name is authenticated as AAD. The nonce
//! comes from the injected [`Random`], so a seeded simulation issues identical tickets.
//!
//! Opening is total: a truncated, tampered or unknown-key ticket gives `None` and the
//! server does a full handshake (RFC 9846 section 8.1: "If an unknown ticket is provided,
//! the server would then fall back to a full handshake").
//!
//! Stateless tickets alone are not single use: the same ticket opens every time. Pair them
//! with a [`StrikeRegister`](super::strike::StrikeRegister) and the freshness check before
//! accepting early data (RFC 9846 sections 8.2 and 8.3).
//!
//! ## Rotation policy
//!
//! A [`Ticketer`] holds the current key, used to seal and open, and at most one previous
//! key, used only to open. [`Ticketer::rotate`] makes the new key current and the current
//! key previous; the key that was previous is dropped. So a ticket opens until the second
//! rotation after it was sealed: rotate at an interval at least as long as the ticket
//! lifetime and every ticket stays openable for its whole lifetime (the policy of rustls'
//! `TicketRotator`). [`Ticketer::retire_previous`] drops the previous key early, for
//! instance after a key compromise.
//!
//! Nonces are random (96 bits): rotate the key well before 2^32 tickets are sealed under it
//! (the NIST SP 800-38D bound for random GCM nonces).

use crate::rand::Random;
use ring::aead;
use std::fmt;

/// Length of a key name.
pub const KEY_NAME_LEN: usize = 16;
/// Length of the per-ticket nonce.
pub const NONCE_LEN: usize = aead::NONCE_LEN;
/// Length of the AEAD tag.
pub const TAG_LEN: usize = 16;
/// Bytes a ticket adds to its plaintext.
pub const TICKET_OVERHEAD: usize = KEY_NAME_LEN + NONCE_LEN + TAG_LEN;
/// The longest ticket TLS can carry (RFC 9846 section 4.7.1: `opaque ticket<1..2^16-1>`).
pub const MAX_TICKET_LEN: usize = 0xffff;
/// The longest plaintext [`Ticketer::seal`] accepts.
pub const MAX_PLAINTEXT_LEN: usize = MAX_TICKET_LEN - TICKET_OVERHEAD;

/// The AEAD that protects tickets; both take a 32-byte key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TicketAead {
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305.
    ChaCha20Poly1305,
}

impl TicketAead {
    fn algorithm(self) -> &'static aead::Algorithm {
        match self {
            Self::Aes256Gcm => &aead::AES_256_GCM,
            Self::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }

    /// The key length in bytes (32 for both).
    pub fn key_len(self) -> usize {
        self.algorithm().key_len()
    }
}

/// Why a ticket key could not be built or installed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TicketKeyError {
    /// The key bytes have the wrong length for the AEAD.
    WrongKeyLength {
        /// The length the AEAD needs.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// [`Ticketer::rotate`] was given a key with the current key's name; tickets could
    /// not say which of the two sealed them.
    DuplicateKeyName,
}

impl fmt::Display for TicketKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongKeyLength { expected, got } => {
                write!(f, "ticket key must be {expected} bytes, got {got}")
            }
            Self::DuplicateKeyName => write!(f, "new ticket key has the current key's name"),
        }
    }
}

impl std::error::Error for TicketKeyError {}

/// Why a plaintext could not be sealed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The sealed ticket would exceed [`MAX_TICKET_LEN`].
    PlaintextTooLong {
        /// The plaintext length.
        len: usize,
        /// [`MAX_PLAINTEXT_LEN`].
        max: usize,
    },
}

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PlaintextTooLong { len, max } => {
                write!(f, "ticket plaintext of {len} bytes exceeds {max}")
            }
        }
    }
}

impl std::error::Error for SealError {}

/// A named ticket key. The `Debug` output shows the name, never the key.
#[derive(Clone)]
pub struct TicketKey {
    name: [u8; KEY_NAME_LEN],
    aead: TicketAead,
    key: aead::LessSafeKey,
}

impl TicketKey {
    /// A key from its name and bytes, so that every server of a cluster can hold the same
    /// key.
    pub fn new(
        name: [u8; KEY_NAME_LEN],
        aead: TicketAead,
        key: &[u8],
    ) -> Result<Self, TicketKeyError> {
        let unbound = aead::UnboundKey::new(aead.algorithm(), key).map_err(|_| {
            TicketKeyError::WrongKeyLength {
                expected: aead.key_len(),
                got: key.len(),
            }
        })?;
        Ok(Self {
            name,
            aead,
            key: aead::LessSafeKey::new(unbound),
        })
    }

    /// A fresh key with a random name, drawn from `rng`.
    pub fn generate(aead: TicketAead, rng: &mut dyn Random) -> Self {
        let name = crate::rand::array::<KEY_NAME_LEN>(rng);
        let mut bytes = vec![0u8; aead.key_len()];
        rng.fill(&mut bytes);
        match Self::new(name, aead, &bytes) {
            Ok(key) => key,
            // ring refuses a key only for its length, which comes from the algorithm itself.
            Err(e) => unreachable!("{e}"),
        }
    }

    /// The key name carried in front of every ticket it seals.
    pub fn name(&self) -> [u8; KEY_NAME_LEN] {
        self.name
    }

    /// The AEAD.
    pub fn aead(&self) -> TicketAead {
        self.aead
    }

    fn seal(&self, plaintext: &[u8], rng: &mut dyn Random) -> Result<Vec<u8>, SealError> {
        if plaintext.len() > MAX_PLAINTEXT_LEN {
            return Err(SealError::PlaintextTooLong {
                len: plaintext.len(),
                max: MAX_PLAINTEXT_LEN,
            });
        }
        let nonce = crate::rand::array::<NONCE_LEN>(rng);
        let mut out = Vec::with_capacity(plaintext.len() + TICKET_OVERHEAD);
        out.extend_from_slice(&self.name);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        // ring only refuses inputs of gigabytes; the length check above rules that out.
        self.key
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(&self.name),
                &mut body,
            )
            .map_err(|_| SealError::PlaintextTooLong {
                len: plaintext.len(),
                max: MAX_PLAINTEXT_LEN,
            })?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens `nonce || ciphertext || tag` (the name already matched).
    fn open(&self, nonce: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let nonce = aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = sealed.to_vec();
        let plain_len = self
            .key
            .open_in_place(nonce, aead::Aad::from(&self.name), &mut body)
            .ok()?
            .len();
        body.truncate(plain_len);
        Some(body)
    }
}

impl fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TicketKey")
            .field("name", &self.name)
            .field("aead", &self.aead)
            .finish_non_exhaustive()
    }
}

/// Seals and opens stateless tickets under a current key and at most one previous key
/// (see the module docs for the rotation policy).
#[derive(Clone, Debug)]
pub struct Ticketer {
    current: TicketKey,
    previous: Option<TicketKey>,
}

impl Ticketer {
    /// A ticketer sealing under `key`.
    pub fn new(key: TicketKey) -> Self {
        Self {
            current: key,
            previous: None,
        }
    }

    /// Seals `plaintext` (for instance [`ServerSessionValue::to_bytes`]) under the current
    /// key with a nonce drawn from `rng`.
    ///
    /// [`ServerSessionValue::to_bytes`]: super::session::ServerSessionValue::to_bytes
    pub fn seal(&self, plaintext: &[u8], rng: &mut dyn Random) -> Result<Vec<u8>, SealError> {
        self.current.seal(plaintext, rng)
    }

    /// Opens a ticket sealed under the current or the previous key. `None` for a ticket
    /// that is truncated, was modified in any bit, or names a key this ticketer does not
    /// hold: the caller does a full handshake.
    pub fn open(&self, ticket: &[u8]) -> Option<Vec<u8>> {
        if ticket.len() < TICKET_OVERHEAD {
            return None;
        }
        let (name, rest) = ticket.split_at(KEY_NAME_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        std::iter::once(&self.current)
            .chain(self.previous.as_ref())
            .find(|key| key.name.as_slice() == name)?
            .open(nonce, sealed)
    }

    /// Makes `key` current; the current key becomes previous (open only) and the old
    /// previous key is dropped. Refuses a key named like the current one.
    pub fn rotate(&mut self, key: TicketKey) -> Result<(), TicketKeyError> {
        if key.name == self.current.name {
            return Err(TicketKeyError::DuplicateKeyName);
        }
        self.previous = Some(std::mem::replace(&mut self.current, key));
        Ok(())
    }

    /// Drops the previous key: tickets sealed under it no longer open.
    pub fn retire_previous(&mut self) {
        self.previous = None;
    }

    /// The name of the key that seals new tickets.
    pub fn current_key_name(&self) -> [u8; KEY_NAME_LEN] {
        self.current.name
    }

    /// The name of the previous key, if one is still held for opening.
    pub fn previous_key_name(&self) -> Option<[u8; KEY_NAME_LEN]> {
        self.previous.as_ref().map(|k| k.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn a_ticket_is_key_name_then_nonce_then_ciphertext_and_tag() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let key = TicketKey::new([9; 16], TicketAead::Aes256Gcm, &[1; 32]).unwrap();
        let t = Ticketer::new(key);
        let ticket = t.seal(b"state", &mut rng).unwrap();
        assert_eq!(ticket.len(), 5 + TICKET_OVERHEAD);
        assert_eq!(&ticket[..16], &[9; 16]);
        assert_ne!(&ticket[28..33], b"state", "the body is encrypted");
    }

    #[test]
    fn the_same_seed_seals_the_same_ticket() {
        let key = TicketKey::new([2; 16], TicketAead::ChaCha20Poly1305, &[3; 32]).unwrap();
        let t = Ticketer::new(key);
        let a = t.seal(b"x", &mut rand_chacha::ChaCha20Rng::seed_from_u64(5));
        let b = t.seal(b"x", &mut rand_chacha::ChaCha20Rng::seed_from_u64(5));
        assert_eq!(a, b);
    }

    #[test]
    fn a_key_of_the_wrong_length_is_refused() {
        assert_eq!(
            TicketKey::new([0; 16], TicketAead::Aes256Gcm, &[0; 16]).unwrap_err(),
            TicketKeyError::WrongKeyLength {
                expected: 32,
                got: 16
            }
        );
    }

    #[test]
    fn a_plaintext_too_long_for_a_ticket_is_refused_and_the_longest_one_fits() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let t = Ticketer::new(TicketKey::generate(TicketAead::Aes256Gcm, &mut rng));
        let longest = t.seal(&vec![0; MAX_PLAINTEXT_LEN], &mut rng).unwrap();
        assert_eq!(longest.len(), MAX_TICKET_LEN);
        assert!(matches!(
            t.seal(&vec![0; MAX_PLAINTEXT_LEN + 1], &mut rng),
            Err(SealError::PlaintextTooLong { .. })
        ));
    }

    #[test]
    fn rotating_to_the_current_key_name_is_refused() {
        let mut t =
            Ticketer::new(TicketKey::new([1; 16], TicketAead::Aes256Gcm, &[0; 32]).unwrap());
        let same_name = TicketKey::new([1; 16], TicketAead::Aes256Gcm, &[5; 32]).unwrap();
        assert_eq!(t.rotate(same_name), Err(TicketKeyError::DuplicateKeyName));
    }
}
