//! The Reader/Codec pattern (after rustls `msgs/codec.rs`): a [`Reader`] walks a borrowed
//! slice, every wire type implements [`Codec`], and length prefixes are written once by
//! [`LengthPrefixed`]. Reading never panics and never allocates more than the bytes that
//! are actually present, so an untrusted length cannot ask for memory the input does not hold.

use crate::msgs::enums::{ContentType, ExtensionType, WireEnum};

/// Bytes that do not decode as the message they claim to be.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidMessage {
    /// The input ended inside a field.
    Truncated,
    /// Bytes were left over after the named structure.
    TrailingData(&'static str),
    /// A vector that must hold at least one element (or byte) was empty.
    EmptyVector,
    /// The same extension appeared twice in one message (RFC 9846 section 4.3).
    DuplicateExtension(ExtensionType),
    /// A TLSPlaintext fragment over 2^14 bytes, or a TLSCiphertext over 2^14 + 256
    /// (RFC 9846 section 5.1, 5.2).
    RecordOverflow,
    /// A zero-length fragment where RFC 9846 section 5.1 forbids one (handshake, alert).
    EmptyFragment(ContentType),
    /// A record whose content type is not one of the four TLS 1.3 knows.
    UnknownContentType(u8),
    /// TLSInnerPlaintext that was all zeros: no content type (RFC 9846 section 5.4).
    NoInnerContentType,
    /// A field held a value the RFC forbids in this position.
    IllegalParameter(&'static str),
    /// The handshake message type is not one this crate decodes.
    UnknownHandshakeType(u8),
    /// A handshake message longer than this implementation buffers.
    HandshakeMessageTooLarge,
    /// pre_shared_key was not the last extension of a ClientHello (RFC 9846 section 4.3.11).
    PreSharedKeyNotLast,
    /// A vector or value whose length is outside the range its declaration allows, for
    /// example a legacy_session_id over 32 bytes or a PSK binder under 32 (RFC 9846
    /// section 6.2: decode_error is for "some field was out of the specified range").
    LengthOutOfRange(&'static str),
}

/// A cursor over bytes received from the peer.
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    offset: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, offset: 0 }
    }

    /// Takes exactly `len` bytes, or fails with [`InvalidMessage::Truncated`].
    pub fn take(&mut self, len: usize) -> Result<&'a [u8], InvalidMessage> {
        let end = self
            .offset
            .checked_add(len)
            .filter(|end| *end <= self.buf.len())
            .ok_or(InvalidMessage::Truncated)?;
        let out = &self.buf[self.offset..end];
        self.offset = end;
        Ok(out)
    }

    /// Takes everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.offset..];
        self.offset = self.buf.len();
        out
    }

    /// Bytes not yet consumed.
    pub fn left(&self) -> usize {
        self.buf.len() - self.offset
    }

    /// True once every byte has been consumed.
    pub fn is_empty(&self) -> bool {
        self.left() == 0
    }

    /// Bytes consumed so far.
    pub fn used(&self) -> usize {
        self.offset
    }

    /// Reads a `len`-byte sub-reader whose length is given by a `prefix`-byte big-endian
    /// length field (1, 2 or 3 bytes, as in RFC 9846 section 3.4 vectors).
    pub fn sub(&mut self, prefix: LengthPrefix) -> Result<Reader<'a>, InvalidMessage> {
        let len = prefix.read(self)?;
        Ok(Reader::new(self.take(len)?))
    }

    /// Fails with [`InvalidMessage::TrailingData`] unless every byte was consumed
    /// (RFC 9846 section 4: a message with extra bytes is a decode_error).
    pub fn expect_empty(&self, what: &'static str) -> Result<(), InvalidMessage> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(InvalidMessage::TrailingData(what))
        }
    }
}

/// Size of a vector's length field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LengthPrefix {
    /// `<0..2^8-1>`
    U8,
    /// `<0..2^16-1>`
    U16,
    /// `<0..2^24-1>`
    U24,
}

impl LengthPrefix {
    fn width(self) -> usize {
        match self {
            Self::U8 => 1,
            Self::U16 => 2,
            Self::U24 => 3,
        }
    }

    fn max(self) -> usize {
        (1usize << (8 * self.width())) - 1
    }

    /// Reads the length field.
    pub fn read(self, r: &mut Reader<'_>) -> Result<usize, InvalidMessage> {
        let bytes = r.take(self.width())?;
        Ok(bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)))
    }
}

/// Writes a length prefix once the body is known (the guard pattern of rustls
/// `LengthPrefixedBuffer`): call [`LengthPrefixed::new`], write the body into `buf`, then
/// [`LengthPrefixed::finish`].
#[derive(Debug)]
#[must_use = "call finish() to fill in the length"]
pub struct LengthPrefixed {
    prefix: LengthPrefix,
    at: usize,
}

impl LengthPrefixed {
    /// Reserves the length field at the end of `buf`.
    pub fn new(prefix: LengthPrefix, buf: &mut Vec<u8>) -> Self {
        let at = buf.len();
        buf.resize(at + prefix.width(), 0);
        Self { prefix, at }
    }

    /// Fills in the length of everything written after the field.
    ///
    /// A body longer than the prefix can express is a bug in the caller (we never build
    /// one from our own data); it is clamped rather than allowed to panic, and the
    /// resulting bytes will fail to decode on the peer.
    pub fn finish(self, buf: &mut [u8]) {
        let start = self.at + self.prefix.width();
        let len = buf.len().saturating_sub(start).min(self.prefix.max());
        let be = (len as u32).to_be_bytes();
        buf[self.at..start].copy_from_slice(&be[4 - self.prefix.width()..]);
    }
}

/// A wire type: `encode` appends its bytes, `read` decodes exactly one value.
pub trait Codec: Sized {
    /// Appends the encoding of `self` to `out`.
    fn encode(&self, out: &mut Vec<u8>);

    /// Decodes one value from the front of `r`.
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage>;

    /// The encoding as a fresh vector.
    fn get_encoding(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }

    /// Decodes one value that must span all of `bytes`.
    fn read_bytes(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let v = Self::read(&mut r)?;
        r.expect_empty(std::any::type_name::<Self>())?;
        Ok(v)
    }
}

// Every protocol code point encodes as its wire value. Implemented here, not in
// `msgs::enums`, so that the enums stay below the codec and its error type.
impl<T: WireEnum> Codec for T
where
    T::Repr: Codec,
{
    fn encode(&self, out: &mut Vec<u8>) {
        self.get().encode(out)
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self::from_repr(T::Repr::read(r)?))
    }
}

impl Codec for u8 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(r.take(1)?[0])
    }
}

impl Codec for u16 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let b = r.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
}

impl Codec for u32 {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let b = r.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Reads a 24-bit big-endian integer (handshake message lengths).
pub fn read_u24(r: &mut Reader<'_>) -> Result<u32, InvalidMessage> {
    let b = r.take(3)?;
    Ok(u32::from_be_bytes([0, b[0], b[1], b[2]]))
}

/// Appends a 24-bit big-endian integer; `v` is clamped to 2^24-1.
pub fn put_u24(v: u32, out: &mut Vec<u8>) {
    let v = v.min(0x00ff_ffff);
    out.extend_from_slice(&v.to_be_bytes()[1..]);
}

/// Writes `body` behind a length prefix.
pub fn put_vec(prefix: LengthPrefix, body: &[u8], out: &mut Vec<u8>) {
    let guard = LengthPrefixed::new(prefix, out);
    out.extend_from_slice(body);
    guard.finish(out);
}

/// Reads an opaque vector `<min..max>` behind a length prefix. `min` lets callers reject
/// zero-length values where the RFC forbids them (for example `opaque identity<1..2^16-1>`).
pub fn read_vec(
    r: &mut Reader<'_>,
    prefix: LengthPrefix,
    min: usize,
) -> Result<Vec<u8>, InvalidMessage> {
    let body = r.sub(prefix)?.rest();
    if body.len() < min {
        return Err(InvalidMessage::EmptyVector);
    }
    Ok(body.to_vec())
}

/// Encodes a list of items behind one length prefix.
pub fn put_list<T: Codec>(prefix: LengthPrefix, items: &[T], out: &mut Vec<u8>) {
    let guard = LengthPrefixed::new(prefix, out);
    for item in items {
        item.encode(out);
    }
    guard.finish(out);
}

/// Decodes a list of items behind one length prefix; with `non_empty`, an empty list is
/// [`InvalidMessage::EmptyVector`]. The list cannot hold more items than bytes present.
pub fn read_list<T: Codec>(
    r: &mut Reader<'_>,
    prefix: LengthPrefix,
    non_empty: bool,
) -> Result<Vec<T>, InvalidMessage> {
    let mut sub = r.sub(prefix)?;
    let mut out = Vec::new();
    while !sub.is_empty() {
        out.push(T::read(&mut sub)?);
    }
    if non_empty && out.is_empty() {
        return Err(InvalidMessage::EmptyVector);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_refuses_to_take_past_the_end() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.take(2).unwrap(), &[1, 2]);
        assert_eq!(r.take(2), Err(InvalidMessage::Truncated));
        assert_eq!(r.take(usize::MAX), Err(InvalidMessage::Truncated));
    }

    #[test]
    fn length_prefixed_vectors_round_trip_for_every_prefix_width() {
        for prefix in [LengthPrefix::U8, LengthPrefix::U16, LengthPrefix::U24] {
            let mut out = Vec::new();
            put_vec(prefix, b"hello", &mut out);
            let mut r = Reader::new(&out);
            assert_eq!(read_vec(&mut r, prefix, 1).unwrap(), b"hello");
            assert!(r.is_empty());
        }
    }

    #[test]
    fn an_empty_vector_is_refused_where_the_minimum_is_one() {
        let mut r = Reader::new(&[0, 0]);
        assert_eq!(
            read_vec(&mut r, LengthPrefix::U16, 1),
            Err(InvalidMessage::EmptyVector)
        );
    }

    #[test]
    fn read_bytes_rejects_trailing_data() {
        assert!(matches!(
            u16::read_bytes(&[0, 1, 2]),
            Err(InvalidMessage::TrailingData(_))
        ));
    }
}
