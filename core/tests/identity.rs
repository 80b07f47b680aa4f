//! The shipped test identity, CertificateVerify signing and verification, and the client's
//! server-certificate checks (RFC 9846 sections 4.5.1.3 and 4.5.2).

use std::time::Duration;
use zerortt_core::crypto::sign::{
    certificate_verify_message, verify_signature, SignatureError, SigningKey,
};
use zerortt_core::identity::{test_identity, CertifiedKey};
use zerortt_core::msgs::enums::{AlertDescription, SignatureScheme};
use zerortt_core::time::Timestamp;
use zerortt_core::verify::{verify_certificate_verify, verify_server_cert, CertError, ServerTrust};

/// A CA that issued neither test server certificate (made by core/testdata/regenerate.sh).
const OTHER_CA: &[u8] = include_bytes!("../testdata/other-ca.der");

/// 2099-12-31T23:59:59Z, the notAfter of the shipped certificates.
const NOT_AFTER: Timestamp = Timestamp::from_secs(4_102_444_799);

fn identities() -> [CertifiedKey; 2] {
    [test_identity::ed25519(), test_identity::ecdsa_p256()]
}

fn leaf(id: &CertifiedKey) -> &[u8] {
    id.end_entity_cert().expect("test identities have a leaf")
}

fn server_content() -> Vec<u8> {
    // Any 32-byte transcript hash will do; SHA-256 sized like TLS_AES_128_GCM_SHA256's.
    certificate_verify_message(true, &[0x5a; 32])
}

#[test]
fn both_test_identities_sign_a_certificate_verify_the_client_accepts() {
    let content = server_content();
    for id in identities() {
        let signature = id.key.sign(&content);
        assert_eq!(
            verify_certificate_verify(leaf(&id), id.scheme(), &content, &signature),
            Ok(())
        );
        // The raw-key path on ring agrees with the certificate path on webpki.
        assert_eq!(
            verify_signature(id.scheme(), &id.key.public_key(), &content, &signature),
            Ok(())
        );
    }
}

#[test]
fn the_test_identities_use_ed25519_and_ecdsa_p256_with_der_encoded_ecdsa_signatures() {
    let [ed, ec] = identities();
    assert_eq!(ed.scheme(), SignatureScheme::Ed25519);
    assert_eq!(ec.scheme(), SignatureScheme::EcdsaSecp256r1Sha256);
    assert_eq!(ed.key.sign(b"m").len(), 64);
    // ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 9846 section 4.3.3).
    let sig = ec.key.sign(b"m");
    assert_eq!(sig.first(), Some(&0x30));
    assert_eq!(usize::from(sig[1]) + 2, sig.len());
    assert_eq!(sig.get(2), Some(&0x02));
}

#[test]
fn ecdsa_signing_is_deterministic() {
    let key = test_identity::ecdsa_p256().key;
    let content = server_content();
    let first = key.sign(&content);
    assert_eq!(key.sign(&content), first);
    // A freshly loaded copy of the key signs the same bytes too: no hidden RNG state.
    let reloaded =
        SigningKey::ecdsa_p256_from_pkcs8(include_bytes!("../testdata/server-ecdsa-p256.key.pk8"))
            .unwrap();
    assert_eq!(reloaded.sign(&content), first);
    // And a different message gives a different signature (the nonce depends on it).
    assert_ne!(
        key.sign(&certificate_verify_message(true, &[0x5b; 32])),
        first
    );
}

#[test]
fn a_server_signature_does_not_verify_as_a_client_signature() {
    let hash = [0x11; 48];
    for id in identities() {
        let signature = id.key.sign(&certificate_verify_message(true, &hash));
        let as_client = certificate_verify_message(false, &hash);
        let err = verify_certificate_verify(leaf(&id), id.scheme(), &as_client, &signature);
        assert_eq!(err, Err(CertError::BadSignature));
    }
}

#[test]
fn the_chain_verifies_against_the_ca_anchor_for_both_names_at_the_simulation_epoch() {
    assert_eq!(test_identity::SERVER_NAMES, ["localhost", "zerortt.test"]);
    let trust = ServerTrust::Anchors(vec![test_identity::ca_cert_der().to_vec()]);
    for id in identities() {
        for name in ["localhost", "zerortt.test"] {
            assert_eq!(
                verify_server_cert(&trust, &id.cert_chain, name, Timestamp::SIM_EPOCH),
                Ok(()),
                "{:?} for {name}",
                id.scheme()
            );
        }
        // Servers may also send the root itself after the leaf.
        let with_root = vec![
            id.cert_chain[0].clone(),
            test_identity::ca_cert_der().to_vec(),
        ];
        assert_eq!(
            verify_server_cert(&trust, &with_root, "localhost", NOT_AFTER),
            Ok(())
        );
    }
}

#[test]
fn a_name_the_certificate_does_not_carry_fails_as_bad_certificate() {
    for id in identities() {
        for name in ["example.com", "test", "sub.zerortt.test", "127.0.0.1"] {
            let err = verify_server_cert(
                &ServerTrust::test_ca(),
                &id.cert_chain,
                name,
                Timestamp::SIM_EPOCH,
            )
            .unwrap_err();
            assert_eq!(err, CertError::NotValidForName(name.to_owned()));
            assert_eq!(err.alert(), AlertDescription::BadCertificate);
        }
    }
}

#[test]
fn a_time_after_2099_fails_as_expired() {
    let after = NOT_AFTER.saturating_add(Duration::from_secs(1));
    for id in identities() {
        let trust = ServerTrust::test_ca();
        assert_eq!(
            verify_server_cert(&trust, &id.cert_chain, "localhost", NOT_AFTER),
            Ok(())
        );
        let err = verify_server_cert(&trust, &id.cert_chain, "localhost", after).unwrap_err();
        assert_eq!(
            err,
            CertError::Expired {
                now: after,
                not_after: NOT_AFTER
            }
        );
        assert_eq!(err.alert(), AlertDescription::CertificateExpired);
    }
}

#[test]
fn a_time_before_2025_fails_as_not_yet_valid() {
    let before = Timestamp::from_secs(1_735_689_600 - 1); // 2024-12-31T23:59:59Z
    let id = test_identity::ed25519();
    let err = verify_server_cert(&ServerTrust::test_ca(), &id.cert_chain, "localhost", before)
        .unwrap_err();
    assert!(
        matches!(err, CertError::NotYetValid { now, .. } if now == before),
        "{err:?}"
    );
    assert_eq!(err.alert(), AlertDescription::CertificateExpired);
}

#[test]
fn a_pinned_leaf_passes_and_another_leaf_fails() {
    let [ed, ec] = identities();
    let pinned = ServerTrust::Pinned(leaf(&ed).to_vec());
    assert_eq!(
        verify_server_cert(&pinned, &ed.cert_chain, "localhost", Timestamp::SIM_EPOCH),
        Ok(())
    );
    let err =
        verify_server_cert(&pinned, &ec.cert_chain, "localhost", Timestamp::SIM_EPOCH).unwrap_err();
    assert_eq!(err, CertError::NotPinned);
    assert_eq!(err.alert(), AlertDescription::BadCertificate);
    // A one-bit change of the pinned leaf is another leaf.
    let mut tampered = leaf(&ed).to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(
        verify_server_cert(&pinned, &[tampered], "localhost", Timestamp::SIM_EPOCH),
        Err(CertError::NotPinned)
    );
}

#[test]
fn a_flipped_signature_bit_fails_with_decrypt_error() {
    let content = server_content();
    for id in identities() {
        let signature = id.key.sign(&content);
        for bit in 0..signature.len() * 8 {
            let mut flipped = signature.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let err =
                verify_certificate_verify(leaf(&id), id.scheme(), &content, &flipped).unwrap_err();
            assert_eq!(err, CertError::BadSignature, "{:?} bit {bit}", id.scheme());
            assert_eq!(err.alert(), AlertDescription::DecryptError);
            assert_eq!(
                verify_signature(id.scheme(), &id.key.public_key(), &content, &flipped),
                Err(SignatureError::BadSignature)
            );
        }
    }
}

#[test]
fn a_chain_from_an_unknown_ca_fails_as_unknown_ca() {
    let trust = ServerTrust::Anchors(vec![OTHER_CA.to_vec()]);
    for id in identities() {
        let err = verify_server_cert(&trust, &id.cert_chain, "localhost", Timestamp::SIM_EPOCH)
            .unwrap_err();
        assert_eq!(err, CertError::UnknownIssuer);
        assert_eq!(err.alert(), AlertDescription::UnknownCa);
    }
    // No anchors at all: nothing is trusted.
    let err = verify_server_cert(
        &ServerTrust::Anchors(vec![]),
        &test_identity::ed25519().cert_chain,
        "localhost",
        Timestamp::SIM_EPOCH,
    )
    .unwrap_err();
    assert_eq!(err, CertError::UnknownIssuer);
}

#[test]
fn a_scheme_the_client_does_not_verify_certificate_verify_with_is_an_illegal_parameter() {
    let id = test_identity::ecdsa_p256();
    let content = server_content();
    let signature = id.key.sign(&content);
    for scheme in [
        SignatureScheme::RsaPkcs1Sha256,
        SignatureScheme::EcdsaSecp521r1Sha512,
        SignatureScheme::RsaPssPssSha256,
        SignatureScheme::Ed448,
        SignatureScheme::EcdsaSha1,
        SignatureScheme::Unknown(0xfefe),
    ] {
        let err = verify_certificate_verify(leaf(&id), scheme, &content, &signature).unwrap_err();
        assert_eq!(err, CertError::UnsupportedSignatureScheme(scheme));
        assert_eq!(err.alert(), AlertDescription::IllegalParameter);
    }
}

#[test]
fn a_scheme_that_does_not_fit_the_leaf_key_is_an_illegal_parameter() {
    let [ed, ec] = identities();
    let content = server_content();
    // An ECDSA signature claimed as ed25519 against the ECDSA leaf, and the reverse; a P-256
    // key claimed as P-384 (TLS 1.3 binds the curve); RSA-PSS claimed for a non-RSA key.
    for (id, claimed) in [
        (&ec, SignatureScheme::Ed25519),
        (&ed, SignatureScheme::EcdsaSecp256r1Sha256),
        (&ec, SignatureScheme::EcdsaSecp384r1Sha384),
        (&ed, SignatureScheme::RsaPssRsaeSha256),
    ] {
        let err = verify_certificate_verify(leaf(id), claimed, &content, &id.key.sign(&content))
            .unwrap_err();
        assert_eq!(err, CertError::SchemeDoesNotMatchKey(claimed));
        assert_eq!(err.alert(), AlertDescription::IllegalParameter);
    }
}

#[test]
fn an_identity_loads_from_user_given_der_and_pkcs8() {
    let id = CertifiedKey::from_der(
        vec![include_bytes!("../testdata/server-ed25519.der").to_vec()],
        include_bytes!("../testdata/server-ed25519.key.pk8"),
    )
    .unwrap();
    assert_eq!(id.scheme(), SignatureScheme::Ed25519);
    let content = server_content();
    assert_eq!(
        verify_certificate_verify(leaf(&id), id.scheme(), &content, &id.key.sign(&content)),
        Ok(())
    );
}

#[test]
fn truncated_certificates_and_keys_never_panic_and_are_refused() {
    let cert = test_identity::ed25519().cert_chain[0].clone();
    let key: &[u8] = include_bytes!("../testdata/server-ecdsa-p256.key.pk8");
    let content = server_content();
    for len in 0..cert.len() {
        let short = vec![cert[..len].to_vec()];
        assert!(verify_server_cert(
            &ServerTrust::test_ca(),
            &short,
            "localhost",
            Timestamp::SIM_EPOCH
        )
        .is_err());
        assert!(
            verify_certificate_verify(&short[0], SignatureScheme::Ed25519, &content, &[0; 64])
                .is_err()
        );
    }
    for len in 0..key.len() {
        assert!(
            SigningKey::from_pkcs8(&key[..len]).is_err(),
            "prefix of {len} bytes"
        );
    }
}
