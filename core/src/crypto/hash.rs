//! The transcript hash (RFC 9846 section 4.1): a running hash over the handshake
//! messages, readable at any point without being consumed.
//!
//! The client hashes its ClientHello before it knows the cipher suite, so it starts with a
//! [`TranscriptBuffer`] and turns it into a [`Transcript`] once ServerHello (or
//! HelloRetryRequest) names the hash.

use super::suites::HashAlgorithm;
use ring::digest;
use std::fmt;

/// A hash output (at most [`HashAlgorithm::MAX_OUTPUT_LEN`] bytes), kept inline so that it
/// can be copied around freely.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashValue {
    bytes: [u8; HashAlgorithm::MAX_OUTPUT_LEN],
    len: u8,
}

impl HashValue {
    /// Wraps a hash output; `None` if it is longer than any supported hash.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut out = Self {
            bytes: [0; HashAlgorithm::MAX_OUTPUT_LEN],
            len: u8::try_from(bytes.len()).ok()?,
        };
        out.bytes.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(out)
    }

    fn from_digest(d: digest::Digest) -> Self {
        // A ring digest is at most 64 bytes; the two we construct are at most 48.
        Self::from_slice(d.as_ref()).unwrap_or(Self {
            bytes: [0; HashAlgorithm::MAX_OUTPUT_LEN],
            len: 0,
        })
    }
}

impl AsRef<[u8]> for HashValue {
    fn as_ref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

impl fmt::Debug for HashValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashValue(")?;
        for b in self.as_ref() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

impl HashAlgorithm {
    /// `Hash(data)` in one call.
    pub fn hash(self, data: &[u8]) -> HashValue {
        HashValue::from_digest(digest::digest(self.digest_algorithm(), data))
    }

    /// `Transcript-Hash("")`, the context of the "derived" secrets (RFC 9846 section 7.1).
    pub fn empty_hash(self) -> HashValue {
        self.hash(&[])
    }
}

/// Handshake type 254, `message_hash` (RFC 9846 section 4.1).
const MESSAGE_HASH: u8 = 0xfe;

/// The running transcript hash once the cipher suite's hash is known.
#[derive(Clone)]
pub struct Transcript {
    algorithm: HashAlgorithm,
    ctx: digest::Context,
}

impl Transcript {
    /// An empty transcript.
    pub fn new(algorithm: HashAlgorithm) -> Self {
        Self {
            algorithm,
            ctx: digest::Context::new(algorithm.digest_algorithm()),
        }
    }

    /// The hash this transcript uses.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// Appends one encoded handshake message (header included, no record framing).
    pub fn add(&mut self, message: &[u8]) {
        self.ctx.update(message);
    }

    /// `Transcript-Hash` of everything added so far; the transcript keeps running.
    pub fn current_hash(&self) -> HashValue {
        HashValue::from_digest(self.ctx.clone().finish())
    }

    /// The hash of the transcript followed by `extra`, without adding `extra`. This is how
    /// a PSK binder's hash covers the truncated ClientHello: `Transcript-Hash(ClientHello1,
    /// HelloRetryRequest, Truncate(ClientHello2))` after a HelloRetryRequest, or
    /// `Transcript-Hash(Truncate(ClientHello1))` on an empty transcript (RFC 9846 section
    /// 4.3.11.2).
    pub fn hash_with(&self, extra: &[u8]) -> HashValue {
        let mut ctx = self.ctx.clone();
        ctx.update(extra);
        HashValue::from_digest(ctx.finish())
    }

    /// Applies the HelloRetryRequest rule of RFC 9846 section 4.1 to a transcript that
    /// holds exactly ClientHello1: it is replaced by the synthetic message
    /// `message_hash (0xfe) || 00 00 Hash.length || Hash(ClientHello1)`. Add the
    /// HelloRetryRequest and everything after it to the result.
    pub fn into_hello_retry_transcript(self) -> Self {
        let ch1_hash = self.current_hash();
        let mut out = Self::new(self.algorithm);
        out.add(&message_hash_header(ch1_hash.as_ref().len()));
        out.add(ch1_hash.as_ref());
        out
    }
}

fn message_hash_header(hash_len: usize) -> [u8; 4] {
    // hash_len is 32 or 48, so it always fits the 24-bit length's low byte.
    [
        MESSAGE_HASH,
        0,
        0,
        u8::try_from(hash_len).unwrap_or(u8::MAX),
    ]
}

impl fmt::Debug for Transcript {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transcript")
            .field("algorithm", &self.algorithm)
            .field("current_hash", &self.current_hash())
            .finish()
    }
}

/// Handshake messages buffered before the hash is known (the client's ClientHello1).
///
/// Only our own messages go in here before the hash is chosen, so its size is bounded by
/// what we send, not by anything the peer controls.
#[derive(Clone, Debug, Default)]
pub struct TranscriptBuffer {
    messages: Vec<u8>,
}

impl TranscriptBuffer {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one encoded handshake message.
    pub fn add(&mut self, message: &[u8]) {
        self.messages.extend_from_slice(message);
    }

    /// The bytes buffered so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.messages
    }

    /// Starts hashing with the negotiated hash, over everything buffered.
    pub fn start_hash(self, algorithm: HashAlgorithm) -> Transcript {
        let mut t = Transcript::new(algorithm);
        t.add(&self.messages);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_hash_does_not_consume_the_transcript() {
        let mut t = Transcript::new(HashAlgorithm::Sha256);
        t.add(b"hello ");
        let first = t.current_hash();
        assert_eq!(first, HashAlgorithm::Sha256.hash(b"hello "));
        t.add(b"world");
        assert_eq!(t.current_hash(), HashAlgorithm::Sha256.hash(b"hello world"));
        assert_ne!(first, t.current_hash());
    }

    #[test]
    fn hash_with_covers_the_extra_bytes_without_adding_them() {
        let mut t = Transcript::new(HashAlgorithm::Sha384);
        t.add(b"abc");
        assert_eq!(t.hash_with(b"def"), HashAlgorithm::Sha384.hash(b"abcdef"));
        assert_eq!(t.current_hash(), HashAlgorithm::Sha384.hash(b"abc"));
        assert_eq!(t.current_hash().as_ref().len(), 48);
    }

    #[test]
    fn a_buffer_hashes_the_same_as_a_transcript_started_early() {
        let mut buf = TranscriptBuffer::new();
        buf.add(b"client hello");
        let mut t = buf.start_hash(HashAlgorithm::Sha256);
        t.add(b"server hello");
        assert_eq!(
            t.current_hash(),
            HashAlgorithm::Sha256.hash(b"client helloserver hello")
        );
    }

    #[test]
    fn a_hello_retry_replaces_client_hello1_by_its_message_hash() {
        for alg in [HashAlgorithm::Sha256, HashAlgorithm::Sha384] {
            let ch1 = b"\x01\x00\x00\x02ab";
            let mut t = Transcript::new(alg);
            t.add(ch1);
            let mut t = t.into_hello_retry_transcript();
            t.add(b"hrr");
            let mut expected = vec![0xfe, 0, 0, alg.output_len() as u8];
            expected.extend_from_slice(alg.hash(ch1).as_ref());
            expected.extend_from_slice(b"hrr");
            assert_eq!(t.current_hash(), alg.hash(&expected));
        }
    }

    #[test]
    fn a_hash_value_refuses_more_than_48_bytes() {
        assert!(HashValue::from_slice(&[0; 49]).is_none());
        assert_eq!(HashValue::from_slice(&[7; 48]).unwrap().as_ref(), &[7; 48]);
    }
}
