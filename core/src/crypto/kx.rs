//! X25519 key exchange (RFC 7748) with `x25519-dalek`, built from bytes so that the private
//! key comes from the injected [`Random`] (or from a trace such as RFC 8448) and runs repeat
//! byte for byte.

use crate::crypto::memo::PublicKeyMemo;
use crate::error::PeerMisbehaved;
use crate::msgs::enums::NamedGroup;
use crate::rand::{self, Random};
use std::fmt;
use x25519_dalek::{PublicKey, StaticSecret};

/// Length of an X25519 public key and of its shared secret.
pub const X25519_LEN: usize = 32;

/// One X25519 key pair for a `key_share` entry (RFC 9846 section 4.3.8.2).
pub struct X25519KeyShare {
    private: StaticSecret,
    public: PublicKey,
}

impl X25519KeyShare {
    /// A fresh key pair whose private key is 32 bytes drawn from `rng`.
    pub fn generate(rng: &mut dyn Random) -> Self {
        Self::generate_memo(rng, None)
    }

    /// [`X25519KeyShare::generate`], with the public key from `memo` when it has it.
    pub fn generate_memo(rng: &mut dyn Random, memo: Option<&PublicKeyMemo>) -> Self {
        Self::from_private_bytes_memo(rand::array(rng), memo)
    }

    /// The key pair of a given private key (clamped as RFC 7748 section 5 says).
    pub fn from_private_bytes(private: [u8; X25519_LEN]) -> Self {
        Self::from_private_bytes_memo(private, None)
    }

    /// [`X25519KeyShare::from_private_bytes`], with the public key from `memo` when it has
    /// it.
    pub fn from_private_bytes_memo(
        private: [u8; X25519_LEN],
        memo: Option<&PublicKeyMemo>,
    ) -> Self {
        let secret = StaticSecret::from(private);
        let public = match memo {
            Some(m) => {
                PublicKey::from(m.x25519_public(private, || PublicKey::from(&secret).to_bytes()))
            }
            None => PublicKey::from(&secret),
        };
        Self {
            private: secret,
            public,
        }
    }

    /// The group, for the `key_share` entry.
    pub fn group(&self) -> NamedGroup {
        NamedGroup::X25519
    }

    /// The public key to send.
    pub fn public_key(&self) -> [u8; X25519_LEN] {
        self.public.to_bytes()
    }

    /// The shared secret with the peer's public key. A key that is not 32 bytes, or one
    /// that yields the all-zero secret (a low-order point), is refused: "implementations
    /// MUST check whether the computed Diffie-Hellman shared secret is the all-zero value
    /// and abort if so" (RFC 9846 section 7.4.2, RFC 7748 section 6.1), with
    /// illegal_parameter.
    pub fn agree(&self, peer_public: &[u8]) -> Result<SharedSecret, PeerMisbehaved> {
        self.agree_memo(peer_public, None)
    }

    /// [`X25519KeyShare::agree`], with the shared secret from `memo` when it has it.
    pub fn agree_memo(
        &self,
        peer_public: &[u8],
        memo: Option<&PublicKeyMemo>,
    ) -> Result<SharedSecret, PeerMisbehaved> {
        let peer: [u8; X25519_LEN] = peer_public
            .try_into()
            .map_err(|_| PeerMisbehaved::IllegalParameter("x25519 key share is not 32 bytes"))?;
        let compute = || {
            let shared = self.private.diffie_hellman(&PublicKey::from(peer));
            // was_contributory() is the constant-time all-zero check.
            shared.was_contributory().then(|| shared.to_bytes())
        };
        let shared = match memo {
            Some(m) => m.x25519_shared(&self.private.to_bytes(), &peer, compute),
            None => compute(),
        };
        shared
            .map(SharedSecret)
            .ok_or(PeerMisbehaved::IllegalParameter(
                "x25519 shared secret is all zeros",
            ))
    }
}

impl fmt::Debug for X25519KeyShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("X25519KeyShare")
            .field("public", &self.public.as_bytes())
            .finish_non_exhaustive()
    }
}

/// The (EC)DHE shared secret, input to the Handshake Secret. `Debug` does not print it.
pub struct SharedSecret([u8; X25519_LEN]);

impl SharedSecret {
    /// The secret's bytes, for [`crate::crypto::key_schedule::KeyScheduleEarly::into_handshake`].
    pub fn as_bytes(&self) -> &[u8; X25519_LEN] {
        &self.0
    }
}

impl AsRef<[u8]> for SharedSecret {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(..)")
    }
}

impl Drop for SharedSecret {
    fn drop(&mut self) {
        self.0 = [0; X25519_LEN];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    #[test]
    fn rfc_7748_section_6_1_key_agreement_vector() {
        let alice = X25519KeyShare::from_private_bytes(hex32(
            "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
        ));
        let bob = X25519KeyShare::from_private_bytes(hex32(
            "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
        ));
        assert_eq!(
            alice.public_key(),
            hex32("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        );
        let k = hex32("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        assert_eq!(alice.agree(&bob.public_key()).unwrap().as_bytes(), &k);
        assert_eq!(bob.agree(&alice.public_key()).unwrap().as_bytes(), &k);
    }

    #[test]
    fn a_low_order_peer_key_giving_an_all_zero_secret_is_an_illegal_parameter() {
        let me = X25519KeyShare::from_private_bytes([9; 32]);
        // The identity (u = 0) and u = 1 both have small order.
        for low in [[0u8; 32], {
            let mut one = [0u8; 32];
            one[0] = 1;
            one
        }] {
            let err = me.agree(&low).unwrap_err();
            assert_eq!(
                err,
                PeerMisbehaved::IllegalParameter("x25519 shared secret is all zeros")
            );
            assert_eq!(
                err.alert(),
                crate::msgs::enums::AlertDescription::IllegalParameter
            );
        }
    }

    #[test]
    fn a_peer_key_of_the_wrong_length_is_an_illegal_parameter() {
        let me = X25519KeyShare::from_private_bytes([9; 32]);
        for len in [0usize, 31, 33, 65] {
            assert!(matches!(
                me.agree(&vec![5; len]),
                Err(PeerMisbehaved::IllegalParameter(_))
            ));
        }
    }

    #[test]
    fn generated_keys_come_from_the_injected_random_source() {
        let mut a = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let mut b = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let ka = X25519KeyShare::generate(&mut a);
        let kb = X25519KeyShare::generate(&mut b);
        assert_eq!(ka.public_key(), kb.public_key());
        let kc = X25519KeyShare::generate(&mut a);
        assert_ne!(ka.public_key(), kc.public_key());
        assert_eq!(
            ka.agree(&kc.public_key()).unwrap().as_bytes(),
            kc.agree(&ka.public_key()).unwrap().as_bytes()
        );
    }

    #[test]
    fn memoized_x25519_gives_the_bytes_the_computation_gives() {
        let memo = PublicKeyMemo::new();
        let a = X25519KeyShare::from_private_bytes([1; 32]);
        let b = X25519KeyShare::from_private_bytes([2; 32]);
        for _ in 0..2 {
            let am = X25519KeyShare::from_private_bytes_memo([1; 32], Some(&memo));
            assert_eq!(am.public_key(), a.public_key());
            let plain = a.agree(&b.public_key()).expect("contributory");
            let memoized = am
                .agree_memo(&b.public_key(), Some(&memo))
                .expect("contributory");
            assert_eq!(plain.as_bytes(), memoized.as_bytes());
        }
        assert_eq!(
            memo.stats(),
            crate::crypto::memo::MemoStats { hits: 2, misses: 2 }
        );
    }

    #[test]
    fn a_memoized_low_order_point_is_still_refused() {
        let memo = PublicKeyMemo::new();
        let a = X25519KeyShare::from_private_bytes_memo([1; 32], Some(&memo));
        for _ in 0..2 {
            assert!(a.agree_memo(&[0; 32], Some(&memo)).is_err());
        }
    }
}
