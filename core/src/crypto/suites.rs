//! The three TLS 1.3 cipher suites this crate implements (RFC 9846 appendix B.4), each a
//! hash for the key schedule and an AEAD for record protection, both provided by `ring`.

use crate::msgs::enums::CipherSuite;
use ring::{aead, digest, hkdf, hmac};

/// The hash of a cipher suite: it drives the transcript, HKDF and HMAC (RFC 9846 section 7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-256 (32-byte output).
    Sha256,
    /// SHA-384 (48-byte output).
    Sha384,
}

impl HashAlgorithm {
    /// The largest output of any supported hash, in bytes.
    pub const MAX_OUTPUT_LEN: usize = 48;

    /// `Hash.length` in RFC 9846 section 7.1.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
        }
    }

    /// The `ring` digest algorithm.
    pub fn digest_algorithm(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha256 => &digest::SHA256,
            Self::Sha384 => &digest::SHA384,
        }
    }

    /// The `ring` HKDF algorithm.
    pub fn hkdf_algorithm(self) -> hkdf::Algorithm {
        match self {
            Self::Sha256 => hkdf::HKDF_SHA256,
            Self::Sha384 => hkdf::HKDF_SHA384,
        }
    }

    /// The `ring` HMAC algorithm.
    pub fn hmac_algorithm(self) -> hmac::Algorithm {
        match self {
            Self::Sha256 => hmac::HMAC_SHA256,
            Self::Sha384 => hmac::HMAC_SHA384,
        }
    }
}

/// The AEAD of a cipher suite (RFC 9846 section 5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AeadAlgorithm {
    /// AES-128-GCM (RFC 5116).
    Aes128Gcm,
    /// AES-256-GCM (RFC 5116).
    Aes256Gcm,
    /// ChaCha20-Poly1305 (RFC 8439).
    ChaCha20Poly1305,
}

impl AeadAlgorithm {
    /// Length of the per-record nonce and of the write IV: all three use 12 bytes, the
    /// `iv_length` of RFC 9846 section 5.3 (at least 8, here the AEAD's N_MIN).
    pub const NONCE_LEN: usize = 12;

    /// The `ring` AEAD algorithm.
    pub fn ring_algorithm(self) -> &'static aead::Algorithm {
        match self {
            Self::Aes128Gcm => &aead::AES_128_GCM,
            Self::Aes256Gcm => &aead::AES_256_GCM,
            Self::ChaCha20Poly1305 => &aead::CHACHA20_POLY1305,
        }
    }

    /// `key_length` for "tls13 key" (RFC 9846 section 7.3).
    pub fn key_len(self) -> usize {
        self.ring_algorithm().key_len()
    }

    /// Length of the authentication tag the AEAD appends.
    pub fn tag_len(self) -> usize {
        self.ring_algorithm().tag_len()
    }
}

/// A TLS 1.3 cipher suite: its code point, hash and AEAD.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Tls13CipherSuite {
    /// The code point sent in ClientHello and ServerHello.
    pub suite: CipherSuite,
    /// The hash used by the transcript and key schedule.
    pub hash: HashAlgorithm,
    /// The AEAD used by record protection.
    pub aead: AeadAlgorithm,
}

/// TLS_AES_128_GCM_SHA256 (0x1301), the suite every TLS 1.3 implementation must offer
/// (RFC 9846 section 9.1).
pub static TLS13_AES_128_GCM_SHA256: Tls13CipherSuite = Tls13CipherSuite {
    suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
    hash: HashAlgorithm::Sha256,
    aead: AeadAlgorithm::Aes128Gcm,
};

/// TLS_AES_256_GCM_SHA384 (0x1302).
pub static TLS13_AES_256_GCM_SHA384: Tls13CipherSuite = Tls13CipherSuite {
    suite: CipherSuite::TLS13_AES_256_GCM_SHA384,
    hash: HashAlgorithm::Sha384,
    aead: AeadAlgorithm::Aes256Gcm,
};

/// TLS_CHACHA20_POLY1305_SHA256 (0x1303).
pub static TLS13_CHACHA20_POLY1305_SHA256: Tls13CipherSuite = Tls13CipherSuite {
    suite: CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    hash: HashAlgorithm::Sha256,
    aead: AeadAlgorithm::ChaCha20Poly1305,
};

/// Every supported suite, in the default order of preference.
pub static ALL_CIPHER_SUITES: &[&Tls13CipherSuite] = &[
    &TLS13_AES_128_GCM_SHA256,
    &TLS13_AES_256_GCM_SHA384,
    &TLS13_CHACHA20_POLY1305_SHA256,
];

/// The suite with this code point, if this crate implements it.
pub fn lookup(suite: CipherSuite) -> Option<&'static Tls13CipherSuite> {
    ALL_CIPHER_SUITES.iter().copied().find(|s| s.suite == suite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_suite_is_found_by_its_code_point_and_unknown_ones_are_not() {
        for s in ALL_CIPHER_SUITES {
            assert_eq!(lookup(s.suite), Some(*s));
        }
        assert_eq!(lookup(CipherSuite::from(0x1304)), None);
        assert_eq!(lookup(CipherSuite::from(0x00ff)), None);
    }

    #[test]
    fn hash_and_aead_lengths_match_the_suite_definitions() {
        assert_eq!(TLS13_AES_128_GCM_SHA256.hash.output_len(), 32);
        assert_eq!(TLS13_AES_128_GCM_SHA256.aead.key_len(), 16);
        assert_eq!(TLS13_AES_256_GCM_SHA384.hash.output_len(), 48);
        assert_eq!(TLS13_AES_256_GCM_SHA384.aead.key_len(), 32);
        assert_eq!(TLS13_CHACHA20_POLY1305_SHA256.aead.key_len(), 32);
        for s in ALL_CIPHER_SUITES {
            assert_eq!(s.aead.tag_len(), 16);
            assert_eq!(s.hash.digest_algorithm().output_len(), s.hash.output_len());
            assert!(s.hash.output_len() <= HashAlgorithm::MAX_OUTPUT_LEN);
        }
    }
}
