//! A server's identity: its certificate chain and the private key that signs
//! CertificateVerify, loaded from DER / PKCS#8 bytes, plus a shipped test identity so that
//! a server can be started without generating anything.

use crate::crypto::sign::{KeyError, SigningKey};
use crate::msgs::enums::SignatureScheme;
use pki_types::CertificateDer;
use std::fmt;

/// A certificate chain and the key for its end-entity certificate.
#[derive(Clone, Debug)]
pub struct CertifiedKey {
    /// X.509 certificates in DER, end-entity (leaf) first, then any intermediates, in the
    /// order the Certificate message carries them (RFC 9846 section 4.5.1).
    pub cert_chain: Vec<Vec<u8>>,
    /// The private key matching the leaf's public key.
    pub key: SigningKey,
}

/// Why certificate or key bytes were refused when building a [`CertifiedKey`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityError {
    /// The chain holds no certificate.
    EmptyChain,
    /// The certificate at this index of the chain is not DER X.509.
    BadCertificate {
        /// Position in the chain, 0 being the leaf.
        index: usize,
    },
    /// The private key bytes were refused.
    Key(KeyError),
    /// The private key does not belong to the leaf certificate (a signature made with it
    /// does not verify with the leaf's public key).
    KeyDoesNotMatchCertificate,
}

impl fmt::Display for IdentityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EmptyChain => f.write_str("the certificate chain is empty"),
            Self::BadCertificate { index } => {
                write!(f, "certificate {index} of the chain is not DER X.509")
            }
            Self::Key(e) => write!(f, "private key refused: {e}"),
            Self::KeyDoesNotMatchCertificate => {
                f.write_str("the private key does not match the leaf certificate")
            }
        }
    }
}

impl std::error::Error for IdentityError {}

impl From<KeyError> for IdentityError {
    fn from(e: KeyError) -> Self {
        Self::Key(e)
    }
}

impl CertifiedKey {
    /// Builds an identity from a DER certificate chain (leaf first) and the leaf's private
    /// key in unencrypted PKCS#8 DER (Ed25519 or ECDSA P-256). Checks that every
    /// certificate parses and that the key matches the leaf; does not check the chain
    /// against any trust anchor (that is the client's job, [`crate::verify`]).
    pub fn from_der(cert_chain: Vec<Vec<u8>>, key_pkcs8: &[u8]) -> Result<Self, IdentityError> {
        let key = SigningKey::from_pkcs8(key_pkcs8)?;
        Self::new(cert_chain, key)
    }

    /// Builds an identity from a DER chain (leaf first) and an already loaded key, with the
    /// same checks as [`CertifiedKey::from_der`].
    pub fn new(cert_chain: Vec<Vec<u8>>, key: SigningKey) -> Result<Self, IdentityError> {
        if cert_chain.is_empty() {
            return Err(IdentityError::EmptyChain);
        }
        for (index, der) in cert_chain.iter().enumerate() {
            let der = CertificateDer::from(der.as_slice());
            if webpki::EndEntityCert::try_from(&der).is_err() {
                return Err(IdentityError::BadCertificate { index });
            }
        }
        let this = Self { cert_chain, key };
        // Sign a probe and verify it with the leaf's public key, exactly as a peer would
        // check CertificateVerify; both signers are deterministic so this needs no RNG.
        let probe = b"zerortt identity key/certificate consistency probe";
        let leaf = this
            .cert_chain
            .first()
            .map(Vec::as_slice)
            .unwrap_or_default();
        crate::verify::verify_certificate_verify(
            leaf,
            this.key.scheme(),
            probe,
            &this.key.sign(probe),
        )
        .map_err(|_| IdentityError::KeyDoesNotMatchCertificate)?;
        Ok(this)
    }

    /// The end-entity certificate, if the chain is not empty.
    pub fn end_entity_cert(&self) -> Option<&[u8]> {
        self.cert_chain.first().map(Vec::as_slice)
    }

    /// The signature scheme CertificateVerify uses with this identity.
    pub fn scheme(&self) -> SignatureScheme {
        self.key.scheme()
    }
}

/// A deterministic test identity shipped with the crate (`core/testdata/`, made once by
/// `core/testdata/regenerate.sh`): a test CA (Ed25519) and two server certificates it
/// signed, for the DNS names [`test_identity::SERVER_NAMES`], valid from 2025-01-01 to
/// 2099-12-31 (the simulator's clock starts at [`crate::time::Timestamp::SIM_EPOCH`],
/// 2026-01-01).
///
/// The private keys are public. Use these for tests, simulations and experiments only.
pub mod test_identity {
    use super::CertifiedKey;
    use std::sync::OnceLock;

    /// The DNS names both server certificates are valid for (subjectAltName).
    pub const SERVER_NAMES: [&str; 2] = ["localhost", "zerortt.test"];

    const CA_CERT: &[u8] = include_bytes!("../testdata/ca.der");
    const ED25519_CERT: &[u8] = include_bytes!("../testdata/server-ed25519.der");
    const ED25519_KEY: &[u8] = include_bytes!("../testdata/server-ed25519.key.pk8");
    const ECDSA_P256_CERT: &[u8] = include_bytes!("../testdata/server-ecdsa-p256.der");
    const ECDSA_P256_KEY: &[u8] = include_bytes!("../testdata/server-ecdsa-p256.key.pk8");

    /// The test CA certificate (DER): the trust anchor that makes both servers verify.
    pub fn ca_cert_der() -> &'static [u8] {
        CA_CERT
    }

    // Defined with the test identity rather than in `verify`, which this module uses for
    // its key/certificate probe: `verify` does not depend on `identity`.
    impl crate::verify::ServerTrust {
        /// Trust the shipped test CA ([`ca_cert_der`]), which issued both shipped test
        /// server certificates.
        pub fn test_ca() -> Self {
            Self::Anchors(vec![CA_CERT.to_vec()])
        }
    }

    /// The server identity with an Ed25519 key (CertificateVerify scheme `ed25519`).
    /// Loaded and checked once per process, as a server loads its key once: loading signs
    /// and verifies a probe, which would otherwise cost every simulated server a signature.
    pub fn ed25519() -> CertifiedKey {
        static KEY: OnceLock<CertifiedKey> = OnceLock::new();
        KEY.get_or_init(|| {
            // Infallible for the shipped bytes; the test below pins that down.
            CertifiedKey::from_der(vec![ED25519_CERT.to_vec()], ED25519_KEY)
                .expect("the shipped Ed25519 test identity is valid")
        })
        .clone()
    }

    /// The server identity with an ECDSA P-256 key (scheme `ecdsa_secp256r1_sha256`),
    /// loaded once per process.
    pub fn ecdsa_p256() -> CertifiedKey {
        static KEY: OnceLock<CertifiedKey> = OnceLock::new();
        KEY.get_or_init(|| {
            CertifiedKey::from_der(vec![ECDSA_P256_CERT.to_vec()], ECDSA_P256_KEY)
                .expect("the shipped ECDSA P-256 test identity is valid")
        })
        .clone()
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::identity::IdentityError;
        use crate::msgs::enums::SignatureScheme;

        #[test]
        fn shipped_identities_load_and_their_keys_match_their_certificates() {
            for (cert, key) in [
                (ED25519_CERT, ED25519_KEY),
                (ECDSA_P256_CERT, ECDSA_P256_KEY),
            ] {
                CertifiedKey::from_der(vec![cert.to_vec()], key).unwrap();
            }
            let ed = ed25519();
            assert_eq!(ed.cert_chain, vec![ED25519_CERT.to_vec()]);
            assert_eq!(ed.scheme(), SignatureScheme::Ed25519);
            let ec = ecdsa_p256();
            assert_eq!(ec.cert_chain, vec![ECDSA_P256_CERT.to_vec()]);
            assert_eq!(ec.scheme(), SignatureScheme::EcdsaSecp256r1Sha256);
        }

        #[test]
        fn a_key_paired_with_another_certificate_is_refused() {
            assert_eq!(
                CertifiedKey::from_der(vec![ECDSA_P256_CERT.to_vec()], ED25519_KEY).err(),
                Some(IdentityError::KeyDoesNotMatchCertificate)
            );
        }

        #[test]
        fn an_empty_or_garbled_chain_is_refused() {
            assert_eq!(
                CertifiedKey::from_der(vec![], ED25519_KEY).err(),
                Some(IdentityError::EmptyChain)
            );
            assert_eq!(
                CertifiedKey::from_der(vec![ED25519_CERT.to_vec(), vec![0x30, 0x00]], ED25519_KEY)
                    .err(),
                Some(IdentityError::BadCertificate { index: 1 })
            );
        }
    }
}
