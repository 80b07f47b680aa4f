//! Records (RFC 9846 section 5): the TLSPlaintext / TLSCiphertext framing and the
//! TLSInnerPlaintext that protected records decrypt to.

use crate::codec::{Codec, LengthPrefix, Reader};
use crate::error::InvalidMessage;
use crate::msgs::enums::{ContentType, ProtocolVersion};

/// Largest TLSPlaintext fragment, and largest TLSInnerPlaintext content: 2^14 bytes
/// (RFC 9846 section 5.1).
pub const MAX_FRAGMENT_LEN: usize = 16384;

/// Largest TLSCiphertext `encrypted_record`: 2^14 + 256 bytes (RFC 9846 section 5.2).
pub const MAX_CIPHERTEXT_LEN: usize = 16384 + 256;

/// Bytes of a record header: type, legacy_record_version, length.
pub const RECORD_HEADER_LEN: usize = 5;

/// One record as it travels on the wire: a TLSPlaintext, or the outer TLSCiphertext of a
/// protected record (whose `typ` is then always application_data and whose `payload` is
/// the AEAD ciphertext).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// `type` / `opaque_type`.
    pub typ: ContentType,
    /// `legacy_record_version`: 0x0301 or 0x0303; ignored on receipt (section 5.1).
    pub version: ProtocolVersion,
    /// `fragment` / `encrypted_record`. The encoder writes its length as a u16; callers
    /// keep it within [`MAX_FRAGMENT_LEN`] or [`MAX_CIPHERTEXT_LEN`].
    pub payload: Vec<u8>,
}

impl Record {
    /// The 5 header bytes. For a record decoded from the wire these are exactly the bytes
    /// received (every field round-trips), so they serve as the AEAD additional data
    /// (RFC 9846 section 5.2: `additional_data = TLSCiphertext.opaque_type ||
    /// legacy_record_version || length`).
    pub fn header(&self) -> [u8; RECORD_HEADER_LEN] {
        let typ = self.typ.get();
        let [v0, v1] = self.version.get().to_be_bytes();
        let len = u16::try_from(self.payload.len()).unwrap_or(u16::MAX);
        let [l0, l1] = len.to_be_bytes();
        [typ, v0, v1, l0, l1]
    }

    /// The header of a protected record whose `encrypted_record` will be `len` bytes long,
    /// for computing the additional data before the ciphertext exists.
    pub fn ciphertext_header(len: usize) -> [u8; RECORD_HEADER_LEN] {
        let [v0, v1] = ProtocolVersion::Tls12.get().to_be_bytes();
        let len = u16::try_from(len).unwrap_or(u16::MAX);
        let [l0, l1] = len.to_be_bytes();
        [ContentType::ApplicationData.get(), v0, v1, l0, l1]
    }
}

/// Checks a record header's type and length before the body is read, so that an
/// oversized record is refused as soon as its header arrives.
fn check_header(typ: ContentType, len: usize) -> Result<(), InvalidMessage> {
    match typ {
        ContentType::Handshake | ContentType::Alert | ContentType::ChangeCipherSpec => {
            if len > MAX_FRAGMENT_LEN {
                return Err(InvalidMessage::RecordOverflow);
            }
        }
        ContentType::ApplicationData => {
            if len > MAX_CIPHERTEXT_LEN {
                return Err(InvalidMessage::RecordOverflow);
            }
        }
        ContentType::Unknown(v) => return Err(InvalidMessage::UnknownContentType(v)),
    }
    // "Implementations MUST NOT send zero-length fragments of Handshake types" (5.1);
    // an alert record holds exactly one two-byte alert.
    if len == 0 && matches!(typ, ContentType::Handshake | ContentType::Alert) {
        return Err(InvalidMessage::EmptyFragment(typ));
    }
    Ok(())
}

impl Codec for Record {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.header());
        out.extend_from_slice(&self.payload);
    }

    /// Refuses an unknown content type, a fragment over the limit of its type
    /// (record_overflow) and an empty handshake or alert fragment, all from the header
    /// alone: a [`InvalidMessage::Truncated`] result therefore only ever means "the
    /// header was fine, wait for more bytes".
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let typ = ContentType::read(r)?;
        if let ContentType::Unknown(v) = typ {
            return Err(InvalidMessage::UnknownContentType(v));
        }
        let version = ProtocolVersion::read(r)?;
        let len = LengthPrefix::U16.read(r)?;
        check_header(typ, len)?;
        Ok(Self {
            typ,
            version,
            payload: r.take(len)?.to_vec(),
        })
    }
}

/// `TLSInnerPlaintext` (RFC 9846 section 5.2): `content || type || zeros`, the plaintext
/// inside a protected record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InnerPlaintext {
    /// `content`: handshake messages, one alert, or application data.
    pub content: Vec<u8>,
    /// `type`: the real content type.
    pub typ: ContentType,
    /// Number of zero bytes after the type (section 5.4).
    pub padding_len: usize,
}

impl InnerPlaintext {
    /// Unpadded inner plaintext.
    pub fn new(typ: ContentType, content: Vec<u8>) -> Self {
        Self {
            content,
            typ,
            padding_len: 0,
        }
    }
}

impl Codec for InnerPlaintext {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.content);
        self.typ.encode(out);
        out.resize(out.len() + self.padding_len, 0);
    }

    /// Consumes all of `r` (the AEAD output). Scans from the end for the first non-zero
    /// byte, which is the type (section 5.4); none -> unexpected_message.
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let plain = r.rest();
        // "the full encoded TLSInnerPlaintext MUST NOT exceed 2^14 + 1 octets" (5.4).
        if plain.len() > MAX_FRAGMENT_LEN + 1 {
            return Err(InvalidMessage::RecordOverflow);
        }
        let type_at = plain
            .iter()
            .rposition(|b| *b != 0)
            .ok_or(InvalidMessage::NoInnerContentType)?;
        let (content, tail) = plain.split_at(type_at);
        let typ = ContentType::from(tail.first().copied().unwrap_or(0));
        if let ContentType::Unknown(v) = typ {
            return Err(InvalidMessage::UnknownContentType(v));
        }
        // "Implementations MUST NOT send Handshake and Alert records that have a
        // zero-length TLSInnerPlaintext.content" (5.4).
        if content.is_empty() && matches!(typ, ContentType::Handshake | ContentType::Alert) {
            return Err(InvalidMessage::EmptyFragment(typ));
        }
        Ok(Self {
            content: content.to_vec(),
            typ,
            padding_len: plain.len() - type_at - 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_of_a_decoded_record_is_the_bytes_received() {
        let bytes = [23, 3, 3, 0, 2, 0xaa, 0xbb];
        let rec = Record::read_bytes(&bytes).unwrap();
        assert_eq!(rec.header(), bytes[..5]);
        assert_eq!(Record::ciphertext_header(2), bytes[..5]);
    }

    #[test]
    fn padding_is_stripped_and_counted() {
        let inner = InnerPlaintext::read_bytes(&[1, 2, 22, 0, 0, 0]).unwrap();
        assert_eq!(inner.content, vec![1, 2]);
        assert_eq!(inner.typ, ContentType::Handshake);
        assert_eq!(inner.padding_len, 3);
        assert_eq!(inner.get_encoding(), vec![1, 2, 22, 0, 0, 0]);
    }
}
