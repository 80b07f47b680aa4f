//! Turning a byte stream into records, and handshake record contents into messages, with
//! hard memory bounds: a peer that streams bytes without ever completing a record or a
//! message cannot make either buffer grow past a fixed size.

use crate::codec::{Codec, Reader};
use crate::error::InvalidMessage;
use crate::msgs::handshake::{read_handshake_header, HandshakeMessage, HANDSHAKE_HEADER_LEN};
use crate::msgs::record::{Record, MAX_CIPHERTEXT_LEN, MAX_FRAGMENT_LEN, RECORD_HEADER_LEN};

/// Most bytes a [`RecordDeframer`] buffers: one maximal record, header included
/// (5 + 2^14 + 256 = 16645 bytes). Every record that passes the header checks fits, so the
/// bound never stalls a valid stream.
pub const DEFRAMER_CAPACITY: usize = RECORD_HEADER_LEN + MAX_CIPHERTEXT_LEN;

/// Splits the incoming byte stream into [`Record`]s.
///
/// Call [`RecordDeframer::push`] with received bytes (it takes only what fits in
/// [`DEFRAMER_CAPACITY`]), then [`RecordDeframer::pop`] until it returns `Ok(None)`, then
/// push the rest. A header that announces an unknown type, an oversized or an empty
/// handshake/alert record fails as soon as its 5 bytes are buffered. Errors are sticky:
/// the offending bytes stay at the front, so every later `pop` repeats the error.
#[derive(Debug, Default)]
pub struct RecordDeframer {
    buf: Vec<u8>,
}

impl RecordDeframer {
    /// An empty deframer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Buffers as much of `data` as fits and returns how many bytes were taken.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let take = data.len().min(self.free_space());
        self.buf.extend_from_slice(&data[..take]);
        take
    }

    /// Bytes [`RecordDeframer::push`] would accept now.
    pub fn free_space(&self) -> usize {
        DEFRAMER_CAPACITY.saturating_sub(self.buf.len())
    }

    /// Bytes buffered that are not yet a complete record.
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// True when no bytes are buffered (a record boundary).
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next complete record, `Ok(None)` if more bytes are needed, or the error the
    /// front record's header (or body) causes. The record's raw header is
    /// [`Record::header`].
    pub fn pop(&mut self) -> Result<Option<Record>, InvalidMessage> {
        let mut r = Reader::new(&self.buf);
        match Record::read(&mut r) {
            Ok(record) => {
                let used = r.used();
                self.buf.drain(..used);
                Ok(Some(record))
            }
            // Record::read checks the header before taking the body, so Truncated only
            // means the record is still incomplete.
            Err(InvalidMessage::Truncated) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Largest handshake message body this crate accepts: 64 KiB. The largest messages are
/// Certificate chains; RFC 9846 allows 2^24-1 bytes, which a peer could announce and
/// then trickle in, so the limit bounds the memory a peer can pin per connection.
pub const MAX_HANDSHAKE_MESSAGE_LEN: usize = 0x1_0000;

/// Most bytes a [`HandshakeJoiner`] buffers: one maximal message (header included) plus
/// one record's content, which may start the next message.
pub const JOINER_CAPACITY: usize =
    HANDSHAKE_HEADER_LEN + MAX_HANDSHAKE_MESSAGE_LEN + MAX_FRAGMENT_LEN;

/// Reassembles handshake messages from the contents of handshake records (plaintext
/// fragments or decrypted TLSInnerPlaintext content): messages may span records and a
/// record may hold several messages (RFC 9846 section 5.1).
///
/// Push one record's content, then pop until `Ok(None)`. A message announcing more than
/// [`MAX_HANDSHAKE_MESSAGE_LEN`] bytes fails with
/// [`InvalidMessage::HandshakeMessageTooLarge`] as soon as its header is seen.
#[derive(Debug, Default)]
pub struct HandshakeJoiner {
    buf: Vec<u8>,
}

impl HandshakeJoiner {
    /// An empty joiner.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one record's handshake content. Fails without buffering if the buffer
    /// would exceed [`JOINER_CAPACITY`] (only possible if the caller stopped popping), and
    /// fails if the pending message announces more than [`MAX_HANDSHAKE_MESSAGE_LEN`].
    pub fn push(&mut self, fragment: &[u8]) -> Result<(), InvalidMessage> {
        if self.buf.len().saturating_add(fragment.len()) > JOINER_CAPACITY {
            return Err(InvalidMessage::HandshakeMessageTooLarge);
        }
        self.buf.extend_from_slice(fragment);
        self.pending_len().map(|_| ())
    }

    /// True when no partial message is buffered. RFC 9846 section 5.1: "Handshake messages
    /// MUST NOT span key changes", so the connection refuses a key change unless this
    /// holds.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes buffered.
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// The total length (header included) of the message at the front, once its header is
    /// buffered.
    fn pending_len(&self) -> Result<Option<usize>, InvalidMessage> {
        let mut r = Reader::new(&self.buf);
        match read_handshake_header(&mut r) {
            Ok((_, len)) if len > MAX_HANDSHAKE_MESSAGE_LEN => {
                Err(InvalidMessage::HandshakeMessageTooLarge)
            }
            Ok((_, len)) => Ok(Some(HANDSHAKE_HEADER_LEN + len)),
            Err(_) => Ok(None),
        }
    }

    /// The next complete message with its raw bytes (header included: what the
    /// transcript hash takes), or `Ok(None)` if more content is needed. A message that
    /// does not decode is an error and stays buffered, so the error is sticky.
    pub fn pop(&mut self) -> Result<Option<(HandshakeMessage, Vec<u8>)>, InvalidMessage> {
        let total = match self.pending_len()? {
            Some(total) if total <= self.buf.len() => total,
            _ => return Ok(None),
        };
        let raw = &self.buf[..total];
        let msg = HandshakeMessage::read_bytes(raw)?;
        let raw = self.buf.drain(..total).collect();
        Ok(Some((msg, raw)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deframer_never_buffers_more_than_one_maximal_record() {
        let mut d = RecordDeframer::new();
        let junk = vec![23u8; 100_000];
        assert_eq!(d.push(&junk), DEFRAMER_CAPACITY);
        assert_eq!(d.push(&junk), 0);
        assert_eq!(d.buffered_len(), DEFRAMER_CAPACITY);
    }

    #[test]
    fn a_message_announcing_more_than_the_bound_fails_at_its_header() {
        let mut j = HandshakeJoiner::new();
        assert_eq!(
            j.push(&[11, 0x01, 0x00, 0x01]),
            Err(InvalidMessage::HandshakeMessageTooLarge)
        );
    }
}
