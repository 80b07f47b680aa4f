//! Record protection (RFC 9846 sections 5.2 to 5.4): traffic keys from a traffic secret,
//! the per-record nonce, and AEAD sealing and opening of `TLSInnerPlaintext` with the
//! record header as additional data.

use super::key_schedule::{hkdf_expand_label, Secret};
use super::suites::{AeadAlgorithm, Tls13CipherSuite};
use crate::error::{Error, InvalidMessage, PeerMisbehaved};
use crate::msgs::enums::ContentType;
use ring::aead;
use std::fmt;

/// 2^14: the largest plaintext fragment (RFC 9846 section 5.1).
const MAX_FRAGMENT_LEN: usize = 16384;
/// 2^14 + 256: the largest `encrypted_record` (RFC 9846 section 5.2).
const MAX_CIPHERTEXT_LEN: usize = MAX_FRAGMENT_LEN + 256;
/// Length of a TLSCiphertext header.
pub const HEADER_LEN: usize = 5;
/// `opaque_type` of every protected record (RFC 9846 section 5.2).
const OPAQUE_TYPE: u8 = 23;
/// `legacy_record_version` of every protected record.
const LEGACY_RECORD_VERSION: [u8; 2] = [0x03, 0x03];

/// A write key and IV derived from a traffic secret (RFC 9846 section 7.3). `Debug` does
/// not print them.
#[derive(Clone)]
pub struct TrafficKeys {
    aead: AeadAlgorithm,
    key: [u8; 32],
    iv: [u8; AeadAlgorithm::NONCE_LEN],
}

impl TrafficKeys {
    /// `[sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length)` and
    /// `[sender]_write_iv = HKDF-Expand-Label(Secret, "iv", "", iv_length)`.
    pub fn derive(aead: AeadAlgorithm, secret: &Secret) -> Result<Self, Error> {
        let mut out = Self {
            aead,
            key: [0; 32],
            iv: [0; AeadAlgorithm::NONCE_LEN],
        };
        let key = out
            .key
            .get_mut(..aead.key_len())
            .ok_or(Error::Internal("AEAD key longer than 32 bytes"))?;
        hkdf_expand_label(secret, b"key", b"", key)?;
        hkdf_expand_label(secret, b"iv", b"", &mut out.iv)?;
        Ok(out)
    }

    /// The AEAD these keys are for.
    pub fn aead(&self) -> AeadAlgorithm {
        self.aead
    }

    /// The write key (`key_length` bytes).
    pub fn key(&self) -> &[u8] {
        self.key.get(..self.aead.key_len()).unwrap_or(&self.key)
    }

    /// The write IV.
    pub fn iv(&self) -> &[u8; AeadAlgorithm::NONCE_LEN] {
        &self.iv
    }

    fn less_safe_key(&self) -> Result<aead::LessSafeKey, Error> {
        aead::UnboundKey::new(self.aead.ring_algorithm(), self.key())
            .map(aead::LessSafeKey::new)
            .map_err(|_| Error::Internal("AEAD key of the wrong length"))
    }
}

impl fmt::Debug for TrafficKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrafficKeys")
            .field("aead", &self.aead)
            .finish_non_exhaustive()
    }
}

impl Drop for TrafficKeys {
    fn drop(&mut self) {
        self.key = [0; 32];
    }
}

/// The per-record nonce (RFC 9846 section 5.3): the 64-bit sequence number in network
/// order, left-padded with zeros to `iv_length`, XORed with the write IV.
pub fn record_nonce(
    iv: &[u8; AeadAlgorithm::NONCE_LEN],
    seq: u64,
) -> [u8; AeadAlgorithm::NONCE_LEN] {
    let mut nonce = *iv;
    for (n, s) in nonce[AeadAlgorithm::NONCE_LEN - 8..]
        .iter_mut()
        .zip(seq.to_be_bytes())
    {
        *n ^= s;
    }
    nonce
}

/// What both directions hold: the keys of one traffic secret and the sequence number.
struct Direction {
    keys: TrafficKeys,
    key: aead::LessSafeKey,
    /// `None` once 2^64 - 1 has been used: the number may not wrap (RFC 9846 section 5.3).
    next_seq: Option<u64>,
}

impl Direction {
    fn new(keys: TrafficKeys) -> Result<Self, Error> {
        Ok(Self {
            key: keys.less_safe_key()?,
            keys,
            next_seq: Some(0),
        })
    }

    /// The number the next record uses, without using it up.
    fn seq(&self) -> Result<u64, Error> {
        self.next_seq
            .ok_or(Error::Internal("record sequence number would wrap"))
    }

    /// Uses up `seq` (the number [`Direction::seq`] returned).
    fn advance(&mut self, seq: u64) {
        self.next_seq = seq.checked_add(1);
    }

    /// The per-record nonce (RFC 9846 section 5.3).
    fn nonce(&self, seq: u64) -> aead::Nonce {
        aead::Nonce::assume_unique_for_key(record_nonce(&self.keys.iv, seq))
    }

    fn debug(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("aead", &self.keys.aead)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

/// Protects outgoing records under one traffic secret. A new secret (next epoch,
/// KeyUpdate) needs a new encrypter, which starts again at sequence number 0.
pub struct RecordEncrypter(Direction);

impl RecordEncrypter {
    /// An encrypter for the suite's AEAD keyed from `secret`.
    pub fn new(suite: &Tls13CipherSuite, secret: &Secret) -> Result<Self, Error> {
        Self::from_keys(TrafficKeys::derive(suite.aead, secret)?)
    }

    /// An encrypter from already derived keys.
    pub fn from_keys(keys: TrafficKeys) -> Result<Self, Error> {
        Direction::new(keys).map(Self)
    }

    /// The sequence number the next record will use, or `None` once they are used up.
    pub fn next_sequence_number(&self) -> Option<u64> {
        self.0.next_seq
    }

    /// Builds one complete protected record: header `17 03 03 len`, then the AEAD output of
    /// `TLSInnerPlaintext { content, type = inner_type, zeros[padding] }` sealed with the
    /// header as additional data (RFC 9846 section 5.2).
    ///
    /// Refuses (with [`Error::Internal`], the caller's bug) an inner plaintext over
    /// 2^14 + 1 bytes ("the full encoded TLSInnerPlaintext MUST NOT exceed 2^14 + 1
    /// octets", section 5.4), and a record after sequence number 2^64 - 1 ("If a TLS
    /// implementation would need to wrap a sequence number, it MUST either rekey ... or
    /// terminate the connection", section 5.3).
    pub fn encrypt(
        &mut self,
        inner_type: ContentType,
        content: &[u8],
        padding: usize,
    ) -> Result<Vec<u8>, Error> {
        let inner_len = content
            .len()
            .checked_add(1)
            .and_then(|n| n.checked_add(padding))
            .filter(|n| *n <= MAX_FRAGMENT_LEN + 1)
            .ok_or(Error::Internal("TLSInnerPlaintext over 2^14 + 1 bytes"))?;
        let seq = self.0.seq()?;
        let record_len = inner_len + self.0.keys.aead.tag_len();
        let record_len_u16 =
            u16::try_from(record_len).map_err(|_| Error::Internal("record length over 2^16"))?;

        let mut out = Vec::with_capacity(HEADER_LEN + record_len);
        out.push(OPAQUE_TYPE);
        out.extend_from_slice(&LEGACY_RECORD_VERSION);
        out.extend_from_slice(&record_len_u16.to_be_bytes());
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(&out);
        out.extend_from_slice(content);
        out.push(inner_type.get());
        out.resize(HEADER_LEN + inner_len, 0);

        let tag = self
            .0
            .key
            .seal_in_place_separate_tag(
                self.0.nonce(seq),
                aead::Aad::from(header),
                &mut out[HEADER_LEN..],
            )
            .map_err(|_| Error::Internal("AEAD seal failed"))?;
        out.extend_from_slice(tag.as_ref());
        self.0.advance(seq);
        Ok(out)
    }
}

impl fmt::Debug for RecordEncrypter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug("RecordEncrypter", f)
    }
}

/// Opens incoming protected records under one traffic secret.
pub struct RecordDecrypter(Direction);

impl RecordDecrypter {
    /// A decrypter for the suite's AEAD keyed from `secret`.
    pub fn new(suite: &Tls13CipherSuite, secret: &Secret) -> Result<Self, Error> {
        Self::from_keys(TrafficKeys::derive(suite.aead, secret)?)
    }

    /// A decrypter from already derived keys.
    pub fn from_keys(keys: TrafficKeys) -> Result<Self, Error> {
        Direction::new(keys).map(Self)
    }

    /// The sequence number the next record is expected to carry.
    pub fn next_sequence_number(&self) -> Option<u64> {
        self.0.next_seq
    }

    /// Opens one record: `header` is the received 5-byte header exactly as it arrived (it
    /// is the additional data), `payload` the `encrypted_record`. Returns the inner content
    /// type and the content with the zero padding removed (RFC 9846 section 5.4).
    ///
    /// The record uses up its sequence number whether or not it opens: after
    /// [`Error::DecryptError`] (bad_record_mac) the connection is over anyway.
    pub fn decrypt(
        &mut self,
        header: &[u8; HEADER_LEN],
        payload: &[u8],
    ) -> Result<(ContentType, Vec<u8>), Error> {
        let seq = self.0.seq()?;
        self.0.advance(seq);
        let plain = self.open(seq, header, payload)?;
        unpad(plain)
    }

    /// Like [`RecordDecrypter::decrypt`], but an AEAD failure leaves the sequence number
    /// where it was. A server that rejected 0-RTT uses this with the handshake key: "The
    /// server then skips past early data by attempting to deprotect received records using
    /// the handshake traffic key, discarding records which fail deprotection (up to the
    /// configured max_early_data_size)" (RFC 9846 section 4.3.10); the caller keeps that
    /// budget. Failures after the AEAD succeeded (bad padding, oversize) are real errors
    /// and do use the number up.
    pub fn trial_decrypt(
        &mut self,
        header: &[u8; HEADER_LEN],
        payload: &[u8],
    ) -> Result<(ContentType, Vec<u8>), Error> {
        let seq = self.0.seq()?;
        let plain = self.open(seq, header, payload)?;
        self.0.advance(seq);
        unpad(plain)
    }

    fn open(&self, seq: u64, header: &[u8; HEADER_LEN], payload: &[u8]) -> Result<Vec<u8>, Error> {
        // "An endpoint that receives a record that exceeds this length MUST terminate the
        // connection with a record_overflow alert" (RFC 9846 section 5.2).
        if payload.len() > MAX_CIPHERTEXT_LEN {
            return Err(InvalidMessage::RecordOverflow.into());
        }
        let mut buf = payload.to_vec();
        let plain_len = self
            .0
            .key
            .open_in_place(self.0.nonce(seq), aead::Aad::from(*header), &mut buf)
            .map_err(|_| Error::DecryptError)?
            .len();
        buf.truncate(plain_len);
        Ok(buf)
    }
}

impl fmt::Debug for RecordDecrypter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.debug("RecordDecrypter", f)
    }
}

/// Strips `TLSInnerPlaintext` padding: the content type is the last non-zero byte
/// (RFC 9846 section 5.4).
fn unpad(mut plain: Vec<u8>) -> Result<(ContentType, Vec<u8>), Error> {
    // "If a receiving implementation does not find a non-zero octet in the cleartext, it
    // MUST terminate the connection with an unexpected_message alert."
    let at = plain
        .iter()
        .rposition(|b| *b != 0)
        .ok_or(InvalidMessage::NoInnerContentType)?;
    let typ = ContentType::from(plain[at]);
    plain.truncate(at);
    if plain.len() > MAX_FRAGMENT_LEN {
        return Err(InvalidMessage::RecordOverflow.into());
    }
    match typ {
        ContentType::Handshake | ContentType::Alert if plain.is_empty() => {
            // "Implementations MUST NOT send zero-length fragments of Handshake types"
            // and alerts have a fixed two-byte body (section 5.1).
            Err(InvalidMessage::EmptyFragment(typ).into())
        }
        ContentType::Handshake | ContentType::Alert | ContentType::ApplicationData => {
            Ok((typ, plain))
        }
        // "An implementation which ... receives a protected change_cipher_spec record MUST
        // abort the handshake with an unexpected_message alert" (section 5).
        ContentType::ChangeCipherSpec => Err(PeerMisbehaved::IllegalChangeCipherSpec.into()),
        ContentType::Unknown(v) => Err(InvalidMessage::UnknownContentType(v).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::suites::{ALL_CIPHER_SUITES, TLS13_AES_128_GCM_SHA256};

    fn pair(suite: &Tls13CipherSuite) -> (RecordEncrypter, RecordDecrypter) {
        let secret = Secret::from_bytes(suite.hash, &[7; 48][..suite.hash.output_len()]).unwrap();
        (
            RecordEncrypter::new(suite, &secret).unwrap(),
            RecordDecrypter::new(suite, &secret).unwrap(),
        )
    }

    fn split(record: &[u8]) -> ([u8; 5], &[u8]) {
        let mut h = [0u8; 5];
        h.copy_from_slice(&record[..5]);
        (h, &record[5..])
    }

    #[test]
    fn every_suite_round_trips_a_padded_record() {
        for suite in ALL_CIPHER_SUITES {
            let (mut enc, mut dec) = pair(suite);
            for (i, padding) in [0usize, 1, 100].into_iter().enumerate() {
                let rec = enc
                    .encrypt(ContentType::ApplicationData, b"hello", padding)
                    .unwrap();
                assert_eq!(rec.len(), 5 + 5 + 1 + padding + 16);
                assert_eq!(&rec[..3], &[0x17, 0x03, 0x03]);
                let (h, p) = split(&rec);
                let (typ, body) = dec.decrypt(&h, p).unwrap();
                assert_eq!(
                    (typ, body.as_slice()),
                    (ContentType::ApplicationData, &b"hello"[..])
                );
                assert_eq!(dec.next_sequence_number(), Some(i as u64 + 1));
            }
        }
    }

    #[test]
    fn the_nonce_is_the_iv_xored_with_the_sequence_number() {
        let iv = [0xff; 12];
        let n = record_nonce(&iv, 0x0102_0304_0506_0708);
        assert_eq!(
            n,
            [0xff, 0xff, 0xff, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7]
        );
        assert_eq!(record_nonce(&iv, 0), iv);
    }

    #[test]
    fn an_all_zero_inner_plaintext_has_no_content_type() {
        // Seal a plaintext of zeros directly: the encrypter always writes a type.
        let (enc, mut dec) = pair(&TLS13_AES_128_GCM_SHA256);
        let header = [0x17, 3, 3, 0, 20];
        let mut body = vec![0u8; 4];
        let tag = enc
            .0
            .key
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(record_nonce(&enc.0.keys.iv, 0)),
                aead::Aad::from(header),
                &mut body,
            )
            .unwrap();
        body.extend_from_slice(tag.as_ref());
        assert_eq!(
            dec.decrypt(&header, &body),
            Err(Error::InvalidMessage(InvalidMessage::NoInnerContentType))
        );
    }

    #[test]
    fn an_inner_plaintext_over_2_pow_14_plus_1_is_refused_by_the_sender() {
        let (mut enc, _) = pair(&TLS13_AES_128_GCM_SHA256);
        assert!(enc
            .encrypt(ContentType::ApplicationData, &[1; 16384], 0)
            .is_ok());
        assert!(enc
            .encrypt(ContentType::ApplicationData, &[1; 16384], 1)
            .is_err());
        assert!(enc
            .encrypt(ContentType::ApplicationData, &[], usize::MAX)
            .is_err());
        assert_eq!(enc.next_sequence_number(), Some(1));
    }

    #[test]
    fn content_over_2_pow_14_is_a_record_overflow_even_when_it_decrypts() {
        // The peer's sender may not enforce the limit; build its record by hand.
        let (enc, mut dec) = pair(&TLS13_AES_128_GCM_SHA256);
        let mut body = vec![1u8; 16385];
        body.push(23);
        let header = [0x17, 3, 3, 0x40, 0x12];
        let tag = enc
            .0
            .key
            .seal_in_place_separate_tag(
                aead::Nonce::assume_unique_for_key(record_nonce(&enc.0.keys.iv, 0)),
                aead::Aad::from(header),
                &mut body,
            )
            .unwrap();
        body.extend_from_slice(tag.as_ref());
        assert_eq!(
            dec.decrypt(&header, &body),
            Err(Error::InvalidMessage(InvalidMessage::RecordOverflow))
        );
    }

    #[test]
    fn a_ciphertext_over_2_pow_14_plus_256_is_a_record_overflow() {
        let (_, mut dec) = pair(&TLS13_AES_128_GCM_SHA256);
        let body = vec![0u8; 16384 + 257];
        assert_eq!(
            dec.decrypt(&[0x17, 3, 3, 0x41, 0x01], &body),
            Err(Error::InvalidMessage(InvalidMessage::RecordOverflow))
        );
    }

    #[test]
    fn a_payload_shorter_than_the_tag_is_a_decrypt_error() {
        let (_, mut dec) = pair(&TLS13_AES_128_GCM_SHA256);
        assert_eq!(
            dec.decrypt(&[0x17, 3, 3, 0, 3], &[1, 2, 3]),
            Err(Error::DecryptError)
        );
        assert_eq!(
            dec.trial_decrypt(&[0x17, 3, 3, 0, 0], &[]),
            Err(Error::DecryptError)
        );
        assert_eq!(dec.next_sequence_number(), Some(1));
    }

    #[test]
    fn protected_change_cipher_spec_and_unknown_types_are_refused() {
        let (mut enc, mut dec) = pair(&TLS13_AES_128_GCM_SHA256);
        let rec = enc.encrypt(ContentType::ChangeCipherSpec, &[1], 0).unwrap();
        let (h, p) = split(&rec);
        assert_eq!(
            dec.decrypt(&h, p),
            Err(Error::PeerMisbehaved(
                PeerMisbehaved::IllegalChangeCipherSpec
            ))
        );
        let rec = enc.encrypt(ContentType::Unknown(99), &[1], 0).unwrap();
        let (h, p) = split(&rec);
        assert_eq!(
            dec.decrypt(&h, p),
            Err(Error::InvalidMessage(InvalidMessage::UnknownContentType(
                99
            )))
        );
        let rec = enc.encrypt(ContentType::Handshake, &[], 3).unwrap();
        let (h, p) = split(&rec);
        assert_eq!(
            dec.decrypt(&h, p),
            Err(Error::InvalidMessage(InvalidMessage::EmptyFragment(
                ContentType::Handshake
            )))
        );
    }

    #[test]
    fn the_sequence_number_is_never_wrapped() {
        let (mut enc, mut dec) = pair(&TLS13_AES_128_GCM_SHA256);
        enc.0.next_seq = Some(u64::MAX);
        dec.0.next_seq = Some(u64::MAX);
        let rec = enc
            .encrypt(ContentType::ApplicationData, b"last", 0)
            .unwrap();
        assert_eq!(enc.next_sequence_number(), None);
        assert!(matches!(
            enc.encrypt(ContentType::ApplicationData, b"one more", 0),
            Err(Error::Internal(_))
        ));
        let (h, p) = split(&rec);
        assert_eq!(dec.decrypt(&h, p).unwrap().1, b"last");
        assert!(matches!(dec.decrypt(&h, p), Err(Error::Internal(_))));
        assert!(matches!(dec.trial_decrypt(&h, p), Err(Error::Internal(_))));
    }

    #[test]
    fn traffic_keys_have_the_aead_key_length_and_do_not_print_it() {
        for suite in ALL_CIPHER_SUITES {
            let s = Secret::from_bytes(suite.hash, &[1; 48][..suite.hash.output_len()]).unwrap();
            let k = TrafficKeys::derive(suite.aead, &s).unwrap();
            assert_eq!(k.key().len(), suite.aead.key_len());
            let printed = format!("{k:?}");
            assert!(
                !printed.contains("key:") && !printed.contains("iv:"),
                "{printed}"
            );
        }
    }
}
