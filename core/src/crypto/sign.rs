//! Signatures for CertificateVerify (RFC 9846 section 4.5.2): signing with the server's
//! private key, verifying with a raw public key, and the signed content.
//!
//! Signing is deterministic, so a seeded run produces byte-identical handshakes: Ed25519
//! is deterministic by construction (RFC 8032), and ECDSA P-256 uses RFC 6979 nonces
//! (RustCrypto `p256`), because `ring`'s ECDSA signing needs a `SecureRandom` that cannot
//! be implemented outside `ring` and `core` must not read OS randomness.
//!
//! Certificate-based verification (the public key taken from the peer's end-entity
//! certificate) is [`crate::verify::verify_certificate_verify`].

use crate::msgs::enums::SignatureScheme;
use p256::ecdsa::signature::Signer;
use p256::pkcs8::DecodePrivateKey;
use ring::signature::{self as ring_sig, Ed25519KeyPair, KeyPair};
use std::fmt;
use std::sync::Arc;

/// The TLS 1.3 signature schemes this crate signs with (a server's identity), in preference
/// order. The client verifies more: see [`crate::verify::OFFERED_SIGNATURE_SCHEMES`].
pub const SUPPORTED_SCHEMES: [SignatureScheme; 2] = [
    SignatureScheme::Ed25519,
    SignatureScheme::EcdsaSecp256r1Sha256,
];

/// A private key that signs CertificateVerify content.
#[derive(Clone)]
#[non_exhaustive]
pub enum SigningKey {
    /// An Ed25519 key (`ed25519`, RFC 8032). Shared because `ring`'s key pair is not `Clone`.
    Ed25519(Arc<Ed25519KeyPair>),
    /// An ECDSA key on P-256 (`ecdsa_secp256r1_sha256`), signing with RFC 6979 nonces.
    EcdsaP256(p256::ecdsa::SigningKey),
}

/// Why private key bytes were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// The bytes are not an unencrypted PKCS#8 Ed25519 private key.
    InvalidEd25519Pkcs8,
    /// The bytes are not an unencrypted PKCS#8 ECDSA private key on P-256.
    InvalidEcdsaP256Pkcs8,
    /// The bytes are neither of the two key types this crate supports.
    UnsupportedKey,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidEd25519Pkcs8 => "not a PKCS#8 Ed25519 private key",
            Self::InvalidEcdsaP256Pkcs8 => "not a PKCS#8 ECDSA P-256 private key",
            Self::UnsupportedKey => "not a PKCS#8 Ed25519 or ECDSA P-256 private key",
        })
    }
}

impl std::error::Error for KeyError {}

impl SigningKey {
    /// An Ed25519 key from unencrypted PKCS#8 DER, v1 (what `openssl genpkey` writes) or
    /// v2 (with the public key, which is then checked against the private key).
    pub fn ed25519_from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .map(|pair| Self::Ed25519(Arc::new(pair)))
            .map_err(|_| KeyError::InvalidEd25519Pkcs8)
    }

    /// An ECDSA P-256 key from unencrypted PKCS#8 DER (RFC 5915 ECPrivateKey inside).
    pub fn ecdsa_p256_from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        p256::ecdsa::SigningKey::from_pkcs8_der(der)
            .map(Self::EcdsaP256)
            .map_err(|_| KeyError::InvalidEcdsaP256Pkcs8)
    }

    /// A key of either supported type from unencrypted PKCS#8 DER; the algorithm
    /// identifier inside decides which.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        Self::ed25519_from_pkcs8(der)
            .or_else(|_| Self::ecdsa_p256_from_pkcs8(der))
            .map_err(|_| KeyError::UnsupportedKey)
    }

    /// The signature scheme this key signs with (RFC 9846 section 4.3.3).
    pub fn scheme(&self) -> SignatureScheme {
        match self {
            Self::Ed25519(_) => SignatureScheme::Ed25519,
            Self::EcdsaP256(_) => SignatureScheme::EcdsaSecp256r1Sha256,
        }
    }

    /// The public key as it appears in a certificate's subjectPublicKey bit string:
    /// 32 bytes for Ed25519 (RFC 8410), the 65-byte uncompressed point for P-256 (SEC 1).
    pub fn public_key(&self) -> Vec<u8> {
        match self {
            Self::Ed25519(pair) => pair.public_key().as_ref().to_vec(),
            Self::EcdsaP256(key) => key.verifying_key().to_sec1_point(false).as_bytes().to_vec(),
        }
    }

    /// Signs `message` as the CertificateVerify `signature` field wants it: the 64-byte
    /// Ed25519 signature, or for ECDSA the DER `ECDSA-Sig-Value` over SHA-256(message)
    /// (RFC 9846 section 4.3.3: "represented as a DER-encoded \[X690\] ECDSA-Sig-Value").
    /// Deterministic: the same key and message always give the same bytes.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Ed25519(pair) => pair.sign(message).as_ref().to_vec(),
            Self::EcdsaP256(key) => {
                let sig: p256::ecdsa::DerSignature = key.sign(message);
                sig.as_bytes().to_vec()
            }
        }
    }
}

impl fmt::Debug for SigningKey {
    /// Shows the scheme only; never key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?})", self.scheme())
    }
}

/// Why a signature did not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// The scheme is not one this crate verifies (see [`SUPPORTED_SCHEMES`]).
    UnsupportedScheme(SignatureScheme),
    /// The signature is not valid for this key and message (or the key is malformed).
    BadSignature,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedScheme(s) => write!(f, "unsupported signature scheme {s:?}"),
            Self::BadSignature => f.write_str("signature did not verify"),
        }
    }
}

impl std::error::Error for SignatureError {}

/// Verifies `signature` over `message` with a raw public key (the certificate's
/// subjectPublicKey bits, as [`SigningKey::public_key`] returns them), using `ring`.
pub fn verify_signature(
    scheme: SignatureScheme,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureError> {
    let alg: &dyn ring_sig::VerificationAlgorithm = match scheme {
        SignatureScheme::Ed25519 => &ring_sig::ED25519,
        SignatureScheme::EcdsaSecp256r1Sha256 => &ring_sig::ECDSA_P256_SHA256_ASN1,
        other => return Err(SignatureError::UnsupportedScheme(other)),
    };
    ring_sig::UnparsedPublicKey::new(alg, public_key)
        .verify(message, signature)
        .map_err(|_| SignatureError::BadSignature)
}

/// RFC 9846 section 4.5.2: "The context string for a server signature is
/// "TLS 1.3, server CertificateVerify"".
const SERVER_CONTEXT: &[u8] = b"TLS 1.3, server CertificateVerify";
/// The client's context string (same section).
const CLIENT_CONTEXT: &[u8] = b"TLS 1.3, client CertificateVerify";

/// The content a CertificateVerify signature covers (RFC 9846 section 4.5.2): 64 bytes of
/// 0x20, the context string for the signer's side, a single 0 byte, then the transcript
/// hash (Transcript-Hash(Handshake Context, Certificate)).
pub fn certificate_verify_message(is_server: bool, transcript_hash: &[u8]) -> Vec<u8> {
    let context = if is_server {
        SERVER_CONTEXT
    } else {
        CLIENT_CONTEXT
    };
    let mut out = Vec::with_capacity(64 + context.len() + 1 + transcript_hash.len());
    out.extend_from_slice(&[0x20; 64]);
    out.extend_from_slice(context);
    out.push(0);
    out.extend_from_slice(transcript_hash);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_verify_content_matches_the_rfc_example() {
        // RFC 9846 section 4.5.2, the example with a transcript hash of 32 bytes of 01.
        let expected_hex = concat!(
            "2020202020202020202020202020202020202020202020202020202020202020",
            "2020202020202020202020202020202020202020202020202020202020202020",
            "544c5320312e332c207365727665722043657274696669636174655665726966",
            "79",
            "00",
            "0101010101010101010101010101010101010101010101010101010101010101",
        );
        let got: String = certificate_verify_message(true, &[1; 32])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, expected_hex);
    }

    #[test]
    fn client_and_server_contents_differ_only_in_the_context_string() {
        let server = certificate_verify_message(true, &[7; 48]);
        let client = certificate_verify_message(false, &[7; 48]);
        assert_eq!(server.len(), client.len());
        assert_eq!(&client[64..64 + CLIENT_CONTEXT.len()], CLIENT_CONTEXT);
        let differing: Vec<usize> = (0..server.len())
            .filter(|&i| server[i] != client[i])
            .collect();
        // "server" vs "client" starting at offset 64 + "TLS 1.3, ".len().
        assert_eq!(differing.first(), Some(&(64 + 9)));
        assert!(differing.iter().all(|&i| i < 64 + 9 + 6));
    }

    #[test]
    fn garbage_is_not_a_private_key() {
        assert_eq!(
            SigningKey::from_pkcs8(&[0x30, 0x03, 1, 2, 3]).err(),
            Some(KeyError::UnsupportedKey)
        );
        assert_eq!(
            SigningKey::ed25519_from_pkcs8(&[]).err(),
            Some(KeyError::InvalidEd25519Pkcs8)
        );
        assert_eq!(
            SigningKey::ecdsa_p256_from_pkcs8(&[0xff; 40]).err(),
            Some(KeyError::InvalidEcdsaP256Pkcs8)
        );
    }

    #[test]
    fn schemes_other_than_ed25519_and_p256_are_refused_before_any_crypto() {
        assert_eq!(
            verify_signature(SignatureScheme::RsaPssRsaeSha256, &[], b"m", &[]),
            Err(SignatureError::UnsupportedScheme(
                SignatureScheme::RsaPssRsaeSha256
            ))
        );
    }
}
