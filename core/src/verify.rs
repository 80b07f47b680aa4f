//! How a client decides to trust the server: the certificate chain (RFC 9846 section
//! 4.5.1.3, path validation per RFC 5280 by `rustls-webpki`) and the CertificateVerify
//! signature (section 4.5.2). The time is passed in; nothing here reads a clock.

use crate::crypto::memo::PublicKeyMemo;
use crate::msgs::enums::{AlertDescription, SignatureScheme};
use crate::time::Timestamp;
use pki_types::{CertificateDer, ServerName, SignatureVerificationAlgorithm, UnixTime};
use std::fmt;
use std::time::Duration;

/// What the client trusts when the server presents its certificate chain.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerTrust {
    /// Accept exactly this end-entity certificate (DER), compared byte for byte. The pin is
    /// the whole trust decision: the name and validity period are not checked.
    Pinned(Vec<u8>),
    /// Accept a chain that leads to one of these root certificates (DER), is valid at
    /// `now`, is good for TLS server authentication, and names the server.
    Anchors(Vec<Vec<u8>>),
    /// Accept any non-empty chain without looking at it. For experiments only: it
    /// authenticates nobody, so an attacker in the middle is accepted too. The
    /// CertificateVerify signature is still checked against the leaf the server sent.
    InsecureAcceptAny,
}

/// Why the server's certificate or CertificateVerify was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertError {
    /// The server sent an empty Certificate message (RFC 9846 section 4.5.1.3: "the
    /// client MUST abort the handshake with a "decode_error" alert").
    NoCertificate,
    /// A certificate is not well-formed DER X.509 (or has malformed extensions).
    Malformed(webpki::Error),
    /// No path leads from the leaf to a configured trust anchor.
    UnknownIssuer,
    /// The leaf (or an intermediate) expired before `now`.
    Expired {
        /// The time the check was made for.
        now: Timestamp,
        /// The certificate's notAfter.
        not_after: Timestamp,
    },
    /// The leaf (or an intermediate) is not valid yet at `now`.
    NotYetValid {
        /// The time the check was made for.
        now: Timestamp,
        /// The certificate's notBefore.
        not_before: Timestamp,
    },
    /// The leaf is not valid for the server name the client asked for.
    NotValidForName(String),
    /// The leaf is not the pinned certificate.
    NotPinned,
    /// A certificate uses a version, critical extension or signature algorithm this
    /// implementation does not support.
    Unsupported(webpki::Error),
    /// Any other refusal by path validation (bad signature in the chain, wrong extended
    /// key usage, CA used as end entity, name constraints, ...).
    Invalid(webpki::Error),
    /// The server name the client was configured with is neither a DNS name nor an IP
    /// address (a local configuration error, not the peer's fault).
    InvalidServerName(String),
    /// A configured trust anchor (by index) is not a usable DER certificate (local
    /// configuration error).
    InvalidTrustAnchor(usize),
    /// CertificateVerify used a scheme other than `ed25519` and `ecdsa_secp256r1_sha256`,
    /// the ones this client offers (RFC 9846 section 4.5.2: "the signature algorithm MUST
    /// be one offered in the client's "signature_algorithms" extension").
    UnsupportedSignatureScheme(SignatureScheme),
    /// CertificateVerify's scheme does not fit the leaf's key (section 4.5.2: "the
    /// signature algorithm MUST be compatible with the key in the sender's end-entity
    /// certificate").
    SchemeDoesNotMatchKey(SignatureScheme),
    /// The CertificateVerify signature does not verify.
    BadSignature,
}

impl CertError {
    /// The alert the connection sends for this refusal (RFC 9846 section 6.2).
    pub fn alert(&self) -> AlertDescription {
        use AlertDescription as A;
        match self {
            Self::NoCertificate => A::DecodeError,
            Self::Malformed(_) | Self::NotValidForName(_) | Self::NotPinned | Self::Invalid(_) => {
                A::BadCertificate
            }
            Self::UnknownIssuer => A::UnknownCa,
            // "certificate_expired: A certificate has expired or is not currently valid."
            Self::Expired { .. } | Self::NotYetValid { .. } => A::CertificateExpired,
            Self::Unsupported(_) => A::UnsupportedCertificate,
            Self::InvalidServerName(_) | Self::InvalidTrustAnchor(_) => A::InternalError,
            Self::UnsupportedSignatureScheme(_) | Self::SchemeDoesNotMatchKey(_) => {
                A::IllegalParameter
            }
            // Section 4.5.2: "If the verification fails, the receiver MUST terminate the
            // handshake with a "decrypt_error" alert."
            Self::BadSignature => A::DecryptError,
        }
    }

    /// Sorts a path-validation error from webpki into our variants.
    fn from_webpki(e: webpki::Error) -> Self {
        use webpki::Error as W;
        match e {
            W::UnknownIssuer => Self::UnknownIssuer,
            W::CertExpired { time, not_after } => Self::Expired {
                now: Timestamp::from_secs(time.as_secs()),
                not_after: Timestamp::from_secs(not_after.as_secs()),
            },
            W::CertNotValidYet { time, not_before } => Self::NotYetValid {
                now: Timestamp::from_secs(time.as_secs()),
                not_before: Timestamp::from_secs(not_before.as_secs()),
            },
            W::BadDer
            | W::BadDerTime
            | W::TrailingData(_)
            | W::MalformedExtensions
            | W::ExtensionValueInvalid
            | W::InvalidCertValidity
            | W::InvalidSerialNumber
            | W::MalformedDnsIdentifier
            | W::MalformedNameConstraint
            | W::EmptyEkuExtension => Self::Malformed(e),
            W::UnsupportedCertVersion
            | W::UnsupportedCriticalExtension
            | W::UnsupportedSignatureAlgorithmContext(_)
            | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => Self::Unsupported(e),
            other => Self::Invalid(other),
        }
    }
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "server certificate refused: {self:?} (alert {:?})",
            self.alert()
        )
    }
}

impl std::error::Error for CertError {}

/// Decides whether the server's chain (DER, leaf first, as in its Certificate message) is
/// trusted for `server_name` at `now` under `trust`.
pub fn verify_server_cert(
    trust: &ServerTrust,
    chain: &[Vec<u8>],
    server_name: &str,
    now: Timestamp,
) -> Result<(), CertError> {
    verify_server_cert_memo(trust, chain, server_name, now, None)
}

/// [`verify_server_cert`], with the chain's signature checks answered by `memo` when the
/// same signature verified before. Only signatures are memoized: validity periods, names,
/// key usage and path building are checked on every call, at `now`.
pub fn verify_server_cert_memo(
    trust: &ServerTrust,
    chain: &[Vec<u8>],
    server_name: &str,
    now: Timestamp,
    memo: Option<&PublicKeyMemo>,
) -> Result<(), CertError> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Err(CertError::NoCertificate);
    };
    match trust {
        ServerTrust::InsecureAcceptAny => Ok(()),
        ServerTrust::Pinned(pinned) if pinned == leaf => Ok(()),
        ServerTrust::Pinned(_) => Err(CertError::NotPinned),
        ServerTrust::Anchors(roots) => {
            verify_against_anchors(roots, leaf, intermediates, server_name, now, memo)
        }
    }
}

fn verify_against_anchors(
    roots: &[Vec<u8>],
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    server_name: &str,
    now: Timestamp,
    memo: Option<&PublicKeyMemo>,
) -> Result<(), CertError> {
    let name = ServerName::try_from(server_name)
        .map_err(|_| CertError::InvalidServerName(server_name.to_owned()))?;

    let root_ders: Vec<CertificateDer<'_>> = roots
        .iter()
        .map(|r| CertificateDer::from(r.as_slice()))
        .collect();
    let mut anchors = Vec::with_capacity(root_ders.len());
    for (index, der) in root_ders.iter().enumerate() {
        let anchor = webpki::anchor_from_trusted_cert(der)
            .map_err(|_| CertError::InvalidTrustAnchor(index))?;
        anchors.push(anchor);
    }

    let leaf = CertificateDer::from(leaf);
    let end_entity = webpki::EndEntityCert::try_from(&leaf).map_err(CertError::from_webpki)?;
    let intermediates: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let time = UnixTime::since_unix_epoch(Duration::from_nanos(now.as_nanos()));

    // Certificates in the chain may be signed with any algorithm webpki's ring backend
    // knows (CAs still use RSA); only CertificateVerify is restricted.
    let memoized: Vec<Memoized<'_>>;
    let memoized_refs: Vec<&dyn SignatureVerificationAlgorithm>;
    let algs = match memo {
        Some(memo) => {
            memoized = webpki::ALL_VERIFICATION_ALGS
                .iter()
                .map(|&inner| Memoized { inner, memo })
                .collect();
            memoized_refs = memoized
                .iter()
                .map(|m| m as &dyn SignatureVerificationAlgorithm)
                .collect();
            memoized_refs.as_slice()
        }
        None => webpki::ALL_VERIFICATION_ALGS,
    };
    end_entity
        .verify_for_usage(
            algs,
            &anchors,
            &intermediates,
            time,
            webpki::KeyUsage::server_auth(),
            None,
            None,
        )
        .map_err(CertError::from_webpki)?;
    end_entity
        .verify_is_valid_for_subject_name(&name)
        .map_err(|e| match e {
            webpki::Error::CertNotValidForName(_) => {
                CertError::NotValidForName(server_name.to_owned())
            }
            other => CertError::from_webpki(other),
        })
}

/// Whether the end-entity certificate `leaf_der` names `server_name` (a DNS name or an IP
/// address in its subjectAltName). A certificate or name that does not parse names
/// nothing. Used before resuming under another name (RFC 9846 4.7.1).
pub fn certificate_covers_name(leaf_der: &[u8], server_name: &str) -> bool {
    let Ok(name) = ServerName::try_from(server_name) else {
        return false;
    };
    let leaf = CertificateDer::from(leaf_der);
    webpki::EndEntityCert::try_from(&leaf)
        .is_ok_and(|cert| cert.verify_is_valid_for_subject_name(&name).is_ok())
}

/// The client's `signature_algorithms`, in preference order: every CertificateVerify scheme
/// [`verify_certificate_verify`] checks, then the RSA PKCS#1 schemes, which RFC 9846
/// section 4.3.3 allows "solely to signatures which appear in certificates" (most public
/// CAs still sign with them; webpki checks chains with any of its ring algorithms).
/// Without RSA-PSS a client cannot resume with the many servers that hold RSA keys.
pub const OFFERED_SIGNATURE_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::Ed25519,
    SignatureScheme::EcdsaSecp256r1Sha256,
    SignatureScheme::EcdsaSecp384r1Sha384,
    SignatureScheme::RsaPssRsaeSha256,
    SignatureScheme::RsaPssRsaeSha384,
    SignatureScheme::RsaPssRsaeSha512,
    SignatureScheme::RsaPkcs1Sha256,
    SignatureScheme::RsaPkcs1Sha384,
    SignatureScheme::RsaPkcs1Sha512,
];

/// Verifies a CertificateVerify `signature` over `message` (built with
/// [`crate::crypto::sign::certificate_verify_message`]) with the public key of the
/// end-entity certificate `leaf_der`. Accepted: `ed25519`, `ecdsa_secp256r1_sha256`,
/// `ecdsa_secp384r1_sha384` and `rsa_pss_rsae_sha256/384/512`; an `rsa_pkcs1_*` scheme gets
/// `illegal_parameter` (section 4.3.3: "MUST NOT be offered" for CertificateVerify).
pub fn verify_certificate_verify(
    leaf_der: &[u8],
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CertError> {
    verify_certificate_verify_memo(leaf_der, scheme, message, signature, None)
}

/// [`verify_certificate_verify`], answered by `memo` when the same signature verified
/// before.
pub fn verify_certificate_verify_memo(
    leaf_der: &[u8],
    scheme: SignatureScheme,
    message: &[u8],
    signature: &[u8],
    memo: Option<&PublicKeyMemo>,
) -> Result<(), CertError> {
    let inner: &'static dyn SignatureVerificationAlgorithm = match scheme {
        SignatureScheme::Ed25519 => webpki::ring::ED25519,
        // TLS 1.3 binds the ECDSA curve to the hash (section 4.3.3), as these algorithms do.
        SignatureScheme::EcdsaSecp256r1Sha256 => webpki::ring::ECDSA_P256_SHA256,
        SignatureScheme::EcdsaSecp384r1Sha384 => webpki::ring::ECDSA_P384_SHA384,
        // rsae: the key is an rsaEncryption key, the signature RSASSA-PSS (section 4.3.3).
        SignatureScheme::RsaPssRsaeSha256 => webpki::ring::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        SignatureScheme::RsaPssRsaeSha384 => webpki::ring::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        SignatureScheme::RsaPssRsaeSha512 => webpki::ring::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
        other => return Err(CertError::UnsupportedSignatureScheme(other)),
    };
    let memoized;
    let alg: &dyn SignatureVerificationAlgorithm = match memo {
        Some(memo) => {
            memoized = Memoized { inner, memo };
            &memoized
        }
        None => inner,
    };
    let leaf = CertificateDer::from(leaf_der);
    let end_entity = webpki::EndEntityCert::try_from(&leaf).map_err(CertError::from_webpki)?;
    end_entity
        .verify_signature(alg, message, signature)
        .map_err(|e| match e {
            webpki::Error::InvalidSignatureForPublicKey => CertError::BadSignature,
            // With the `alloc` feature webpki reports the context variant, not the deprecated one.
            webpki::Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
                CertError::SchemeDoesNotMatchKey(scheme)
            }
            other => CertError::from_webpki(other),
        })
}

/// A webpki signature algorithm whose successful verifications `memo` remembers (a pure
/// function of algorithm, key, message and signature).
#[derive(Debug)]
struct Memoized<'a> {
    inner: &'static dyn SignatureVerificationAlgorithm,
    memo: &'a PublicKeyMemo,
}

impl SignatureVerificationAlgorithm for Memoized<'_> {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), pki_types::InvalidSignature> {
        // Both identifiers: ecdsa-with-SHA256 alone names P-256 and P-384 algorithms.
        let mut alg = self.inner.public_key_alg_id().as_ref().to_vec();
        alg.extend_from_slice(self.inner.signature_alg_id().as_ref());
        self.memo
            .verified(&alg, public_key, message, signature, || {
                self.inner.verify_signature(public_key, message, signature)
            })
    }

    fn public_key_alg_id(&self) -> pki_types::AlgorithmIdentifier {
        self.inner.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> pki_types::AlgorithmIdentifier {
        self.inner.signature_alg_id()
    }

    fn fips(&self) -> bool {
        self.inner.fips()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_LEAF: &[u8] = include_bytes!("../testdata/server-rsa2048.der");
    const RSA_KEY: &[u8] = include_bytes!("../testdata/server-rsa2048.key.pk8");
    const P384_LEAF: &[u8] = include_bytes!("../testdata/server-ecdsa-p384.der");
    const P384_KEY: &[u8] = include_bytes!("../testdata/server-ecdsa-p384.key.pk8");
    const CONTENT: &[u8] = b"a CertificateVerify content stand-in";

    /// An RSASSA-PSS signature by the RSA test key (ring needs an RNG for the PSS salt; this
    /// is test code, not the deterministic engine).
    fn rsa_pss_sign(padding: &'static dyn ring::signature::RsaEncoding) -> Vec<u8> {
        let key = ring::signature::RsaKeyPair::from_pkcs8(RSA_KEY).unwrap();
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(padding, &ring::rand::SystemRandom::new(), CONTENT, &mut sig)
            .unwrap();
        sig
    }

    #[test]
    fn rsa_and_p384_leaves_chain_to_the_test_ca_for_their_names() {
        for leaf in [RSA_LEAF, P384_LEAF] {
            verify_server_cert(
                &ServerTrust::test_ca(),
                &[leaf.to_vec()],
                "localhost",
                Timestamp::SIM_EPOCH,
            )
            .unwrap();
        }
    }

    #[test]
    fn an_rsa_pss_rsae_certificate_verify_verifies_with_each_hash_and_fails_when_altered() {
        use ring::signature::{RSA_PSS_SHA256, RSA_PSS_SHA384, RSA_PSS_SHA512};
        for (scheme, padding) in [
            (SignatureScheme::RsaPssRsaeSha256, &RSA_PSS_SHA256),
            (SignatureScheme::RsaPssRsaeSha384, &RSA_PSS_SHA384),
            (SignatureScheme::RsaPssRsaeSha512, &RSA_PSS_SHA512),
        ] {
            let mut sig = rsa_pss_sign(padding);
            verify_certificate_verify(RSA_LEAF, scheme, CONTENT, &sig).unwrap();
            sig[10] ^= 1;
            let err = verify_certificate_verify(RSA_LEAF, scheme, CONTENT, &sig).unwrap_err();
            assert_eq!(err, CertError::BadSignature, "{scheme:?}");
            assert_eq!(err.alert(), AlertDescription::DecryptError);
        }
    }

    #[test]
    fn an_rsa_pkcs1_certificate_verify_is_an_illegal_parameter_though_the_client_offers_it() {
        // Offered for certificates only (RFC 9846 4.3.3); never valid in CertificateVerify.
        assert!(OFFERED_SIGNATURE_SCHEMES.contains(&SignatureScheme::RsaPkcs1Sha256));
        let key = ring::signature::RsaKeyPair::from_pkcs8(RSA_KEY).unwrap();
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            CONTENT,
            &mut sig,
        )
        .unwrap();
        let err =
            verify_certificate_verify(RSA_LEAF, SignatureScheme::RsaPkcs1Sha256, CONTENT, &sig)
                .unwrap_err();
        assert_eq!(
            err,
            CertError::UnsupportedSignatureScheme(SignatureScheme::RsaPkcs1Sha256)
        );
        assert_eq!(err.alert(), AlertDescription::IllegalParameter);
    }

    #[test]
    fn an_ecdsa_p384_certificate_verify_verifies_only_as_ecdsa_secp384r1_sha384() {
        use ring::signature::{EcdsaKeyPair, ECDSA_P384_SHA384_ASN1_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_ASN1_SIGNING, P384_KEY, &rng).unwrap();
        let sig = key.sign(&rng, CONTENT).unwrap();
        verify_certificate_verify(
            P384_LEAF,
            SignatureScheme::EcdsaSecp384r1Sha384,
            CONTENT,
            sig.as_ref(),
        )
        .unwrap();
        // TLS 1.3 binds the curve to the scheme: a P-384 key under the P-256 scheme is refused.
        let err = verify_certificate_verify(
            P384_LEAF,
            SignatureScheme::EcdsaSecp256r1Sha256,
            CONTENT,
            sig.as_ref(),
        )
        .unwrap_err();
        assert_eq!(
            err,
            CertError::SchemeDoesNotMatchKey(SignatureScheme::EcdsaSecp256r1Sha256)
        );
    }

    #[test]
    fn an_rsa_pss_scheme_claimed_for_an_ecdsa_key_does_not_match_the_key() {
        let sig = rsa_pss_sign(&ring::signature::RSA_PSS_SHA256);
        let err =
            verify_certificate_verify(P384_LEAF, SignatureScheme::RsaPssRsaeSha256, CONTENT, &sig)
                .unwrap_err();
        assert_eq!(
            err,
            CertError::SchemeDoesNotMatchKey(SignatureScheme::RsaPssRsaeSha256)
        );
        assert_eq!(err.alert(), AlertDescription::IllegalParameter);
    }

    #[test]
    fn an_empty_chain_is_a_decode_error_whatever_the_trust() {
        for trust in [
            ServerTrust::InsecureAcceptAny,
            ServerTrust::Pinned(vec![1]),
            ServerTrust::test_ca(),
        ] {
            let err =
                verify_server_cert(&trust, &[], "localhost", Timestamp::SIM_EPOCH).unwrap_err();
            assert_eq!(err, CertError::NoCertificate);
            assert_eq!(err.alert(), AlertDescription::DecodeError);
        }
    }

    #[test]
    fn a_garbled_leaf_is_a_bad_certificate() {
        let err = verify_server_cert(
            &ServerTrust::test_ca(),
            &[vec![0x30, 0x03, 0x02, 0x01, 0x00]],
            "localhost",
            Timestamp::SIM_EPOCH,
        )
        .unwrap_err();
        assert!(matches!(err, CertError::Malformed(_)), "{err:?}");
        assert_eq!(err.alert(), AlertDescription::BadCertificate);
    }

    #[test]
    fn a_garbled_trust_anchor_is_a_local_error() {
        let leaf = vec![include_bytes!("../testdata/server-ed25519.der").to_vec()];
        let trust = ServerTrust::Anchors(vec![vec![0xde, 0xad]]);
        let err = verify_server_cert(&trust, &leaf, "localhost", Timestamp::SIM_EPOCH).unwrap_err();
        assert_eq!(err, CertError::InvalidTrustAnchor(0));
        assert_eq!(err.alert(), AlertDescription::InternalError);
    }

    #[test]
    fn insecure_accept_any_accepts_bytes_that_are_not_a_certificate() {
        let chain = [b"not a certificate".to_vec()];
        assert_eq!(
            verify_server_cert(
                &ServerTrust::InsecureAcceptAny,
                &chain,
                "x",
                Timestamp::SIM_EPOCH
            ),
            Ok(())
        );
    }
}
