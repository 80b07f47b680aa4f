//! The TLS 1.3 key schedule (RFC 9846 section 7.1) as a typestate, after rustls:
//! [`KeyScheduleEarly`] (from a PSK or zeros) → [`KeyScheduleHandshake`] (after the
//! (EC)DHE shared secret) → [`KeyScheduleMaster`] (traffic, exporter and resumption
//! secrets). Each stage only offers the secrets RFC 9846 derives from it, and moving on
//! consumes the previous stage.
//!
//! HKDF-Extract and HKDF-Expand (RFC 5869) are written over `ring`'s HMAC rather than its
//! `hkdf` module: ring hides PRK bytes, but the key log and the RFC 8448 known-answer tests
//! need every secret, and an HMAC-based expand is total for every length TLS asks for.

use super::hash::HashValue;
use super::suites::HashAlgorithm;
use crate::error::{Error, PeerMisbehaved};
use ring::hmac;
use std::fmt;

/// A secret of the key schedule: exactly `Hash.length` bytes of the hash it was made
/// with. Its `Debug` never prints the bytes; [`Secret::as_bytes`] is for the key log.
#[derive(Clone)]
pub struct Secret {
    algorithm: HashAlgorithm,
    bytes: [u8; HashAlgorithm::MAX_OUTPUT_LEN],
}

impl Secret {
    /// A secret from its bytes (for example a resumption secret kept in a session);
    /// `None` unless `bytes` is exactly `algorithm.output_len()` long.
    pub fn from_bytes(algorithm: HashAlgorithm, bytes: &[u8]) -> Option<Self> {
        if bytes.len() != algorithm.output_len() {
            return None;
        }
        let mut out = Self::zero(algorithm);
        out.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(out)
    }

    fn zero(algorithm: HashAlgorithm) -> Self {
        Self {
            algorithm,
            bytes: [0; HashAlgorithm::MAX_OUTPUT_LEN],
        }
    }

    /// The hash this secret belongs to.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// The secret's bytes, for the NSS key log and for storage in a session.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.algorithm.output_len()]
    }

    fn hmac_key(&self) -> hmac::Key {
        hmac::Key::new(self.algorithm.hmac_algorithm(), self.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secret")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: do not leave key material behind in freed memory.
        self.bytes = [0; HashAlgorithm::MAX_OUTPUT_LEN];
    }
}

/// `HKDF-Extract(salt, IKM)` = `HMAC-Hash(salt, IKM)` (RFC 5869 section 2.2). An empty
/// salt is the same as `Hash.length` zero bytes, the "0" of RFC 9846 section 7.1.
pub fn hkdf_extract(algorithm: HashAlgorithm, salt: &[u8], ikm: &[u8]) -> Secret {
    let tag = hmac::sign(&hmac::Key::new(algorithm.hmac_algorithm(), salt), ikm);
    let mut out = Secret::zero(algorithm);
    copy_prefix(&mut out.bytes, tag.as_ref());
    out
}

/// Longest label accepted: `"tls13 " + Label` must fit `opaque label<7..255>`.
const MAX_LABEL_LEN: usize = 255 - LABEL_PREFIX.len();
const LABEL_PREFIX: &[u8] = b"tls13 ";
/// `opaque context<0..255>`.
const MAX_CONTEXT_LEN: usize = 255;

/// `HKDF-Expand-Label(Secret, Label, Context, Length)` (RFC 9846 section 7.1), filling
/// `out` (`Length` = `out.len()`). `label` is given without the `"tls13 "` prefix.
///
/// Fails with [`Error::Internal`] if the label is longer than 249 bytes, the context longer
/// than 255 bytes, or `out` longer than HKDF can produce (255 × `Hash.length`).
pub fn hkdf_expand_label(
    secret: &Secret,
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    if label.len() > MAX_LABEL_LEN {
        return Err(Error::Internal("HKDF-Expand-Label label over 249 bytes"));
    }
    if context.len() > MAX_CONTEXT_LEN {
        return Err(Error::Internal("HKDF-Expand-Label context over 255 bytes"));
    }
    if out.len() > 255 * secret.algorithm.output_len() {
        return Err(Error::Internal("HKDF-Expand output over 255 blocks"));
    }
    expand_label_unchecked(secret, label, context, out);
    Ok(())
}

/// `Derive-Secret(Secret, Label, Messages)` with `Transcript-Hash(Messages)` given
/// (RFC 9846 section 7.1). Fails only for a label over 249 bytes.
pub fn derive_secret(
    secret: &Secret,
    label: &[u8],
    transcript_hash: &HashValue,
) -> Result<Secret, Error> {
    let mut out = Secret::zero(secret.algorithm);
    let len = secret.algorithm.output_len();
    hkdf_expand_label(
        secret,
        label,
        transcript_hash.as_ref(),
        &mut out.bytes[..len],
    )?;
    Ok(out)
}

/// Expand-Label for this module's own labels (constants under 249 bytes) and contexts
/// (hash values, at most 48 bytes), to one `Hash.length` secret.
fn derive(secret: &Secret, label: &[u8], context: &[u8]) -> Secret {
    let mut out = Secret::zero(secret.algorithm);
    let len = secret.algorithm.output_len();
    expand_label_unchecked(secret, label, context, &mut out.bytes[..len]);
    out
}

/// The `HkdfLabel` structure, then HKDF-Expand. Callers have checked the three lengths
/// (see [`hkdf_expand_label`]); nothing here can panic even if they had not.
fn expand_label_unchecked(secret: &Secret, label: &[u8], context: &[u8], out: &mut [u8]) {
    let mut info = Vec::with_capacity(4 + LABEL_PREFIX.len() + label.len() + context.len());
    info.extend_from_slice(&u16::try_from(out.len()).unwrap_or(u16::MAX).to_be_bytes());
    info.push(u8::try_from(LABEL_PREFIX.len() + label.len()).unwrap_or(u8::MAX));
    info.extend_from_slice(LABEL_PREFIX);
    info.extend_from_slice(label);
    info.push(u8::try_from(context.len()).unwrap_or(u8::MAX));
    info.extend_from_slice(context);
    hkdf_expand(secret, &info, out);
}

/// `HKDF-Expand(PRK, info, L)` (RFC 5869 section 2.3): `T(i) = HMAC(PRK, T(i-1) | info | i)`.
fn hkdf_expand(prk: &Secret, info: &[u8], out: &mut [u8]) {
    let key = prk.hmac_key();
    let mut previous: Option<hmac::Tag> = None;
    for (counter, chunk) in (1u8..=255).zip(out.chunks_mut(prk.algorithm.output_len())) {
        let mut ctx = hmac::Context::with_key(&key);
        if let Some(t) = &previous {
            ctx.update(t.as_ref());
        }
        ctx.update(info);
        ctx.update(&[counter]);
        let t = ctx.sign();
        copy_prefix(chunk, t.as_ref());
        previous = Some(t);
    }
}

fn copy_prefix(dest: &mut [u8], src: &[u8]) {
    for (d, s) in dest.iter_mut().zip(src) {
        *d = *s;
    }
}

/// The kind of PSK a binder is for; it picks the binder key's label (RFC 9846 section 7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PskKind {
    /// A PSK from a NewSessionTicket: label "res binder".
    Resumption,
    /// A PSK provisioned outside TLS: label "ext binder".
    External,
}

/// `finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length)`
/// (RFC 9846 section 4.5.3).
pub fn finished_key(base_key: &Secret) -> Secret {
    derive(base_key, b"finished", &[])
}

/// `verify_data = HMAC(finished_key, Transcript-Hash(Handshake Context, Certificate*,
/// CertificateVerify*))` (RFC 9846 section 4.5.3), with the transcript hash given.
/// `base_key` is the sender's handshake traffic secret, or a binder key for a PSK binder.
pub fn verify_data(base_key: &Secret, transcript_hash: &HashValue) -> HashValue {
    let tag = hmac::sign(&finished_key(base_key).hmac_key(), transcript_hash.as_ref());
    // An HMAC tag is at most 64 bytes; ours (SHA-256/384) at most 48.
    HashValue::from_slice(tag.as_ref()).unwrap_or_else(|| HashAlgorithm::Sha256.empty_hash())
}

/// Checks a received Finished (RFC 9846 section 4.5.3: "Recipients of Finished messages
/// MUST verify that the contents are correct and if incorrect MUST terminate the connection
/// with a decrypt_error alert"). The comparison is constant time.
pub fn verify_finished(
    base_key: &Secret,
    transcript_hash: &HashValue,
    received: &[u8],
) -> Result<(), PeerMisbehaved> {
    hmac::verify(
        &finished_key(base_key).hmac_key(),
        transcript_hash.as_ref(),
        received,
    )
    .map_err(|_| PeerMisbehaved::IncorrectFinished)
}

/// `application_traffic_secret_N+1 = HKDF-Expand-Label(application_traffic_secret_N,
/// "traffic upd", "", Hash.length)` (RFC 9846 section 7.2, after a KeyUpdate).
pub fn next_application_traffic_secret(current: &Secret) -> Secret {
    derive(current, b"traffic upd", &[])
}

/// The PSK a ticket stands for: `HKDF-Expand-Label(resumption_master_secret,
/// "resumption", ticket_nonce, Hash.length)` (RFC 9846 section 4.7.1). The nonce is
/// `opaque ticket_nonce<0..255>`; a longer one is refused with [`Error::Internal`].
pub fn resumption_psk(
    resumption_master_secret: &Secret,
    ticket_nonce: &[u8],
) -> Result<Secret, Error> {
    let mut out = Secret::zero(resumption_master_secret.algorithm);
    let len = out.algorithm.output_len();
    hkdf_expand_label(
        resumption_master_secret,
        b"resumption",
        ticket_nonce,
        &mut out.bytes[..len],
    )?;
    Ok(out)
}

/// Stage one: the Early Secret, from the PSK if there is one.
#[derive(Debug)]
pub struct KeyScheduleEarly {
    early_secret: Secret,
}

impl KeyScheduleEarly {
    /// `Early Secret = HKDF-Extract(0, PSK)`, or with `Hash.length` zeros as the PSK when
    /// no PSK is in use (RFC 9846 section 7.1).
    pub fn new(algorithm: HashAlgorithm, psk: Option<&[u8]>) -> Self {
        let zeros = [0u8; HashAlgorithm::MAX_OUTPUT_LEN];
        let zeros = &zeros[..algorithm.output_len()];
        Self {
            early_secret: hkdf_extract(algorithm, zeros, psk.unwrap_or(zeros)),
        }
    }

    /// The Early Secret.
    pub fn early_secret(&self) -> &Secret {
        &self.early_secret
    }

    /// The hash of this key schedule.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.early_secret.algorithm
    }

    /// `binder_key = Derive-Secret(Early Secret, "ext binder" | "res binder", "")`.
    pub fn binder_key(&self, kind: PskKind) -> Secret {
        let label: &[u8] = match kind {
            PskKind::Resumption => b"res binder",
            PskKind::External => b"ext binder",
        };
        derive(
            &self.early_secret,
            label,
            self.algorithm().empty_hash().as_ref(),
        )
    }

    /// The PSK binder: computed like Finished with the binder key as base key, over
    /// `Transcript-Hash(Truncate(ClientHello))` (RFC 9846 section 4.3.11.2). After a
    /// HelloRetryRequest the hash also covers the message_hash and the HelloRetryRequest.
    pub fn psk_binder(&self, kind: PskKind, truncated_hello_hash: &HashValue) -> HashValue {
        verify_data(&self.binder_key(kind), truncated_hello_hash)
    }

    /// Checks a received binder in constant time. "Prior to accepting PSK key
    /// establishment, the server MUST validate the corresponding binder value ... If this
    /// value is not present or does not validate, the server MUST abort the handshake"
    /// (RFC 9846 section 4.3.11), with decrypt_error (section 6.2).
    pub fn verify_psk_binder(
        &self,
        kind: PskKind,
        truncated_hello_hash: &HashValue,
        received: &[u8],
    ) -> Result<(), PeerMisbehaved> {
        verify_finished(&self.binder_key(kind), truncated_hello_hash, received)
            .map_err(|_| PeerMisbehaved::IncorrectBinder)
    }

    /// `client_early_traffic_secret = Derive-Secret(Early Secret, "c e traffic",
    /// ClientHello)`: the key of 0-RTT data.
    pub fn client_early_traffic_secret(&self, client_hello_hash: &HashValue) -> Secret {
        derive(
            &self.early_secret,
            b"c e traffic",
            client_hello_hash.as_ref(),
        )
    }

    /// `early_exporter_master_secret = Derive-Secret(Early Secret, "e exp master",
    /// ClientHello)`.
    pub fn early_exporter_master_secret(&self, client_hello_hash: &HashValue) -> Secret {
        derive(
            &self.early_secret,
            b"e exp master",
            client_hello_hash.as_ref(),
        )
    }

    /// `Derive-Secret(Early Secret, "derived", "")`, the salt of the Handshake Secret.
    pub fn derived_secret(&self) -> Secret {
        derive(
            &self.early_secret,
            b"derived",
            self.algorithm().empty_hash().as_ref(),
        )
    }

    /// `Handshake Secret = HKDF-Extract(Derive-Secret(Early Secret, "derived", ""),
    /// (EC)DHE)`; without (EC)DHE (psk_ke) the input is `Hash.length` zeros.
    pub fn into_handshake(self, shared_secret: Option<&[u8]>) -> KeyScheduleHandshake {
        let algorithm = self.algorithm();
        let zeros = [0u8; HashAlgorithm::MAX_OUTPUT_LEN];
        let ikm = shared_secret.unwrap_or(&zeros[..algorithm.output_len()]);
        KeyScheduleHandshake {
            handshake_secret: hkdf_extract(algorithm, self.derived_secret().as_bytes(), ikm),
        }
    }
}

/// Stage two: the Handshake Secret.
#[derive(Debug)]
pub struct KeyScheduleHandshake {
    handshake_secret: Secret,
}

impl KeyScheduleHandshake {
    /// The Handshake Secret.
    pub fn handshake_secret(&self) -> &Secret {
        &self.handshake_secret
    }

    /// The hash of this key schedule.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.handshake_secret.algorithm
    }

    /// `client_handshake_traffic_secret = Derive-Secret(., "c hs traffic",
    /// ClientHello...ServerHello)`.
    pub fn client_handshake_traffic_secret(&self, hello_hash: &HashValue) -> Secret {
        derive(&self.handshake_secret, b"c hs traffic", hello_hash.as_ref())
    }

    /// `server_handshake_traffic_secret = Derive-Secret(., "s hs traffic",
    /// ClientHello...ServerHello)`.
    pub fn server_handshake_traffic_secret(&self, hello_hash: &HashValue) -> Secret {
        derive(&self.handshake_secret, b"s hs traffic", hello_hash.as_ref())
    }

    /// `Derive-Secret(Handshake Secret, "derived", "")`, the salt of the Master Secret.
    pub fn derived_secret(&self) -> Secret {
        derive(
            &self.handshake_secret,
            b"derived",
            self.algorithm().empty_hash().as_ref(),
        )
    }

    /// `Master Secret = HKDF-Extract(Derive-Secret(Handshake Secret, "derived", ""), 0)`.
    pub fn into_master(self) -> KeyScheduleMaster {
        let algorithm = self.algorithm();
        let zeros = [0u8; HashAlgorithm::MAX_OUTPUT_LEN];
        KeyScheduleMaster {
            master_secret: hkdf_extract(
                algorithm,
                self.derived_secret().as_bytes(),
                &zeros[..algorithm.output_len()],
            ),
        }
    }
}

/// Stage three: the Master Secret, source of the application traffic, exporter and
/// resumption secrets.
#[derive(Debug)]
pub struct KeyScheduleMaster {
    master_secret: Secret,
}

impl KeyScheduleMaster {
    /// The Master Secret.
    pub fn master_secret(&self) -> &Secret {
        &self.master_secret
    }

    /// The hash of this key schedule.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.master_secret.algorithm
    }

    /// `client_application_traffic_secret_0 = Derive-Secret(., "c ap traffic",
    /// ClientHello...server Finished)`.
    pub fn client_application_traffic_secret_0(&self, server_finished_hash: &HashValue) -> Secret {
        derive(
            &self.master_secret,
            b"c ap traffic",
            server_finished_hash.as_ref(),
        )
    }

    /// `server_application_traffic_secret_0 = Derive-Secret(., "s ap traffic",
    /// ClientHello...server Finished)`.
    pub fn server_application_traffic_secret_0(&self, server_finished_hash: &HashValue) -> Secret {
        derive(
            &self.master_secret,
            b"s ap traffic",
            server_finished_hash.as_ref(),
        )
    }

    /// `exporter_master_secret = Derive-Secret(., "exp master", ClientHello...server
    /// Finished)`.
    pub fn exporter_master_secret(&self, server_finished_hash: &HashValue) -> Secret {
        derive(
            &self.master_secret,
            b"exp master",
            server_finished_hash.as_ref(),
        )
    }

    /// `resumption_master_secret = Derive-Secret(., "res master", ClientHello...client
    /// Finished)`.
    pub fn resumption_master_secret(&self, client_finished_hash: &HashValue) -> Secret {
        derive(
            &self.master_secret,
            b"res master",
            client_finished_hash.as_ref(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn hkdf_matches_rfc_5869_test_case_1() {
        // RFC 5869 appendix A.1 (SHA-256): checks extract and a two-block expand.
        let ikm = [0x0b; 22];
        let salt = hex("000102030405060708090a0b0c");
        let info = hex("f0f1f2f3f4f5f6f7f8f9");
        let prk = hkdf_extract(HashAlgorithm::Sha256, &salt, &ikm);
        assert_eq!(
            prk.as_bytes(),
            hex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5")
        );
        let mut okm = [0u8; 42];
        hkdf_expand(&prk, &info, &mut okm);
        assert_eq!(
            okm.to_vec(),
            hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
        );
    }

    #[test]
    fn expand_label_refuses_lengths_the_hkdf_label_cannot_encode() {
        let s = Secret::from_bytes(HashAlgorithm::Sha256, &[1; 32]).unwrap();
        let mut out = [0u8; 32];
        assert!(hkdf_expand_label(&s, &[b'a'; 250], b"", &mut out).is_err());
        assert!(hkdf_expand_label(&s, &[b'a'; 249], b"", &mut out).is_ok());
        assert!(hkdf_expand_label(&s, b"x", &[0; 256], &mut out).is_err());
        let mut big = vec![0u8; 255 * 32 + 1];
        assert!(hkdf_expand_label(&s, b"x", b"", &mut big).is_err());
        assert!(resumption_psk(&s, &[0; 256]).is_err());
    }

    #[test]
    fn a_secret_does_not_print_its_bytes() {
        let s = Secret::from_bytes(HashAlgorithm::Sha256, &[0xab; 32]).unwrap();
        let printed = format!("{s:?}");
        assert!(!printed.to_lowercase().contains("ab, ab"), "{printed}");
        assert!(!printed.contains("171"), "{printed}");
        assert!(!printed.contains("abab"), "{printed}");
    }

    #[test]
    fn a_secret_must_be_exactly_one_hash_long() {
        assert!(Secret::from_bytes(HashAlgorithm::Sha256, &[0; 31]).is_none());
        assert!(Secret::from_bytes(HashAlgorithm::Sha384, &[0; 32]).is_none());
        assert_eq!(
            Secret::from_bytes(HashAlgorithm::Sha384, &[5; 48])
                .unwrap()
                .as_bytes(),
            &[5; 48]
        );
    }

    #[test]
    fn a_finished_with_one_flipped_bit_is_refused() {
        let base = Secret::from_bytes(HashAlgorithm::Sha384, &[3; 48]).unwrap();
        let h = HashAlgorithm::Sha384.hash(b"transcript");
        let mut good = verify_data(&base, &h).as_ref().to_vec();
        assert_eq!(good.len(), 48);
        assert_eq!(verify_finished(&base, &h, &good), Ok(()));
        good[47] ^= 1;
        assert_eq!(
            verify_finished(&base, &h, &good),
            Err(PeerMisbehaved::IncorrectFinished)
        );
    }

    #[test]
    fn a_binder_for_the_wrong_psk_kind_is_refused() {
        let ks = KeyScheduleEarly::new(HashAlgorithm::Sha256, Some(&[9; 32]));
        let h = HashAlgorithm::Sha256.hash(b"truncated client hello");
        let binder = ks.psk_binder(PskKind::External, &h);
        assert_eq!(
            ks.verify_psk_binder(PskKind::External, &h, binder.as_ref()),
            Ok(())
        );
        assert_eq!(
            ks.verify_psk_binder(PskKind::Resumption, &h, binder.as_ref()),
            Err(PeerMisbehaved::IncorrectBinder)
        );
    }

    #[test]
    fn a_key_update_changes_the_traffic_secret_and_keeps_its_hash() {
        let s = Secret::from_bytes(HashAlgorithm::Sha384, &[1; 48]).unwrap();
        let next = next_application_traffic_secret(&s);
        assert_eq!(next.algorithm(), HashAlgorithm::Sha384);
        assert_ne!(next.as_bytes(), s.as_bytes());
        assert_eq!(next.as_bytes().len(), 48);
    }
}
