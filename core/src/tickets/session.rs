//! The session state each side keeps between connections, and its byte encoding.
//!
//! - [`ClientSession`]: what a client stores per ticket (or per external PSK) to resume and
//!   to send early data: the PSK identity, the resumption PSK, the ticket's
//!   `max_early_data_size`, `ticket_age_add` and lifetime, and the context (cipher suite,
//!   ALPN, SNI) the early data must be sent under.
//! - [`ServerSessionValue`]: what a server needs to resume that session. A stateful server
//!   keeps it in a [`SessionCache`](super::cache::SessionCache); a stateless server seals
//!   [`ServerSessionValue::to_bytes`] into the ticket with a [`Ticketer`](super::ticketer::Ticketer).
//!
//! Both encode with a leading version byte so that stored sessions survive a restart and a
//! format change is detected rather than misread. Decoding arbitrary bytes never panics: it
//! returns [`InvalidMessage`] and the caller falls back to a full handshake.

use crate::codec::{put_vec, read_vec, Codec, LengthPrefix, Reader};
use crate::error::InvalidMessage;
use crate::msgs::enums::CipherSuite;
use crate::time::Timestamp;
use std::fmt;
use std::time::Duration;

/// RFC 9846 section 4.7.1: "Servers MUST NOT use any value greater than 604800 seconds
/// (7 days)" and "Clients MUST NOT use tickets for longer than 7 days after issuance,
/// regardless of the ticket_lifetime".
pub const MAX_TICKET_LIFETIME_S: u32 = 604_800;

/// Version byte of the [`ClientSession`] encoding.
const CLIENT_SESSION_VERSION: u8 = 2;
/// Version byte of the [`ServerSessionValue`] encoding.
const SERVER_SESSION_VERSION: u8 = 1;

/// Where a PSK came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PskKind {
    /// Derived from a NewSessionTicket (RFC 9846 section 4.7.1); subject to OpenSSL's
    /// single-use replay protection.
    Resumption,
    /// Provisioned out of band (SSL_CTX_set_psk_use_session_callback(3)). The man page:
    /// "The OpenSSL replay protection does not apply to external Pre Shared Keys (PSKs)".
    External,
}

impl PskKind {
    fn to_u8(self) -> u8 {
        match self {
            Self::Resumption => 0,
            Self::External => 1,
        }
    }

    fn from_u8(v: u8) -> Result<Self, InvalidMessage> {
        match v {
            0 => Ok(Self::Resumption),
            1 => Ok(Self::External),
            _ => Err(InvalidMessage::IllegalParameter("session psk kind")),
        }
    }
}

/// What a client keeps per ticket (OpenSSL's client-side `SSL_SESSION`).
///
/// The `Debug` output redacts the PSK.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientSession {
    /// The cipher suite of the connection that issued the ticket; early data must use it
    /// (RFC 9846 section 4.3.10).
    pub suite: CipherSuite,
    /// The PSK identity: the NewSessionTicket `ticket`, or an external PSK's identity.
    /// Encoded as `opaque<0..2^16-1>`; a longer value does not round-trip.
    pub ticket: Vec<u8>,
    /// The resumption PSK (RFC 9846 section 4.7.1, HKDF-Expand-Label(resumption_secret,
    /// "resumption", ticket_nonce, Hash.length)) or the external PSK.
    pub psk: Vec<u8>,
    /// The ticket's `max_early_data_size`; 0 means the session cannot carry early data.
    max_early_data: u32,
    /// The ALPN protocol negotiated in the original connection, if any.
    pub alpn: Option<Vec<u8>>,
    /// The SNI of the original connection, if any (RFC 9846 section 4.7.1: clients SHOULD
    /// only resume with the same SNI).
    pub server_name: Option<String>,
    /// The ticket's `ticket_age_add`; 0 for an external PSK.
    pub age_add: u32,
    /// The ticket's `ticket_lifetime` in seconds.
    pub lifetime_s: u32,
    /// When the client received the NewSessionTicket: the ticket age counts from here
    /// (RFC 9846 section 4.3.11.1).
    pub received_at: Timestamp,
    /// Resumption or external PSK.
    pub kind: PskKind,
    /// The end-entity certificate (DER) the server presented in the full handshake this
    /// session descends from; `None` for an external PSK. RFC 9846 4.7.1: "Clients MUST
    /// only resume if the new SNI value is valid for the server certificate presented in
    /// the original session".
    pub server_cert: Option<Vec<u8>>,
}

impl ClientSession {
    /// A session from a NewSessionTicket received at `received_at`. The early data limit
    /// starts at 0; set it from the ticket's early_data extension with
    /// [`ClientSession::set_max_early_data`].
    pub fn resumption(
        suite: CipherSuite,
        ticket: Vec<u8>,
        psk: Vec<u8>,
        age_add: u32,
        lifetime_s: u32,
        received_at: Timestamp,
    ) -> Self {
        Self {
            suite,
            ticket,
            psk,
            max_early_data: 0,
            alpn: None,
            server_name: None,
            age_add,
            lifetime_s,
            received_at,
            kind: PskKind::Resumption,
            server_cert: None,
        }
    }

    /// A session for an external PSK with the given identity (a PSK session file, as in
    /// SSL_CTX_set_psk_use_session_callback(3)). It has no age and never expires by age;
    /// its early data limit starts at 0 and is set with [`ClientSession::set_max_early_data`].
    pub fn external(suite: CipherSuite, identity: Vec<u8>, psk: Vec<u8>) -> Self {
        Self {
            suite,
            ticket: identity,
            psk,
            max_early_data: 0,
            alpn: None,
            server_name: None,
            age_add: 0,
            lifetime_s: MAX_TICKET_LIFETIME_S,
            received_at: Timestamp::default(),
            kind: PskKind::External,
            server_cert: None,
        }
    }

    /// SSL_SESSION_get_max_early_data(): "If the session cannot be used then this function
    /// will return 0. Otherwise it will return the maximum number of early data bytes that
    /// can be sent."
    pub fn max_early_data(&self) -> u32 {
        self.max_early_data
    }

    /// SSL_SESSION_set_max_early_data(): "sets the maximum number of early data bytes that
    /// can be sent for a session. [...] If using a ticket based PSK then this is set
    /// automatically to the value provided by the server."
    pub fn set_max_early_data(&mut self, max_early_data: u32) {
        self.max_early_data = max_early_data;
    }

    /// The client's view of the ticket's age in milliseconds: time since the
    /// NewSessionTicket was received (RFC 9846 section 4.3.11.1), truncated to 32 bits.
    pub fn ticket_age_ms(&self, now: Timestamp) -> u32 {
        // Ages past 2^32 ms (49 days) belong to expired tickets; wrap as the field does.
        now.saturating_since(self.received_at).as_millis() as u32
    }

    /// The `obfuscated_ticket_age` to send in the pre_shared_key extension
    /// (RFC 9846 section 4.3.11.1): "taking the age in milliseconds and adding the
    /// ticket_age_add value [...] modulo 2^32". 0 for an external PSK (section 4.3.11:
    /// "For identities established externally, an obfuscated_ticket_age of 0 SHOULD be
    /// used").
    pub fn obfuscated_ticket_age(&self, now: Timestamp) -> u32 {
        match self.kind {
            PskKind::External => 0,
            PskKind::Resumption => self.ticket_age_ms(now).wrapping_add(self.age_add),
        }
    }

    /// Whether the ticket may no longer be offered at `now`.
    ///
    /// RFC 9846 section 4.3.11.1: "Clients MUST NOT attempt to use tickets which have ages
    /// greater than the ticket_lifetime value"; section 4.7.1: a lifetime of zero "indicates
    /// that the ticket should be discarded immediately", and no ticket is used for longer
    /// than 7 days whatever its lifetime. An age equal to the lifetime is still usable.
    /// External PSKs never expire by age.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        match self.kind {
            PskKind::External => false,
            PskKind::Resumption => lifetime_exceeded(self.lifetime_s, self.received_at, now),
        }
    }

    /// The encoding, with a leading version byte; inverse of [`ClientSession::from_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        self.get_encoding()
    }

    /// Decodes bytes written by [`ClientSession::to_bytes`]. Any other input, including an
    /// unknown version or trailing bytes, is an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        Self::read_bytes(bytes)
    }
}

impl Codec for ClientSession {
    fn encode(&self, out: &mut Vec<u8>) {
        CLIENT_SESSION_VERSION.encode(out);
        self.kind.to_u8().encode(out);
        self.suite.encode(out);
        put_vec(LengthPrefix::U16, &self.ticket, out);
        put_vec(LengthPrefix::U16, &self.psk, out);
        self.max_early_data.encode(out);
        put_alpn(self.alpn.as_deref(), out);
        put_server_name(self.server_name.as_deref(), out);
        self.age_add.encode(out);
        self.lifetime_s.encode(out);
        put_timestamp(self.received_at, out);
        put_opaque_option(self.server_cert.as_deref(), out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        if u8::read(r)? != CLIENT_SESSION_VERSION {
            return Err(InvalidMessage::IllegalParameter("client session version"));
        }
        Ok(Self {
            kind: PskKind::from_u8(u8::read(r)?)?,
            suite: CipherSuite::read(r)?,
            ticket: read_vec(r, LengthPrefix::U16, 0)?,
            psk: read_vec(r, LengthPrefix::U16, 0)?,
            max_early_data: u32::read(r)?,
            alpn: read_alpn(r)?,
            server_name: read_server_name(r)?,
            age_add: u32::read(r)?,
            lifetime_s: u32::read(r)?,
            received_at: read_timestamp(r)?,
            server_cert: read_opaque_option(r)?,
        })
    }
}

impl fmt::Debug for ClientSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientSession")
            .field("suite", &self.suite)
            .field("ticket_len", &self.ticket.len())
            .field("psk", &"<redacted>")
            .field("max_early_data", &self.max_early_data)
            .field("alpn", &self.alpn)
            .field("server_name", &self.server_name)
            .field("age_add", &self.age_add)
            .field("lifetime_s", &self.lifetime_s)
            .field("received_at", &self.received_at)
            .field("kind", &self.kind)
            .field("server_cert_len", &self.server_cert.as_ref().map(Vec::len))
            .finish()
    }
}

/// What a server needs to resume a session and decide on its early data: the value of a
/// [`SessionCache`](super::cache::SessionCache) entry, or the plaintext of a stateless
/// ticket.
///
/// The `Debug` output redacts the PSK.
#[derive(Clone, PartialEq, Eq)]
pub struct ServerSessionValue {
    /// The cipher suite of the issuing connection; early data is only accepted under the
    /// same suite (RFC 9846 section 4.3.10).
    pub suite: CipherSuite,
    /// The resumption PSK. Encoded as `opaque<0..2^16-1>`.
    pub psk: Vec<u8>,
    /// The `max_early_data_size` sent in the ticket; 0 if the ticket allowed none.
    pub max_early_data: u32,
    /// The ALPN protocol of the issuing connection; early data needs the same one
    /// (RFC 9846 section 4.3.10).
    pub alpn: Option<Vec<u8>>,
    /// The SNI of the issuing connection.
    pub server_name: Option<String>,
    /// The `ticket_age_add` sent in the ticket, to recover the client's ticket age.
    pub age_add: u32,
    /// When the ticket was issued. For the freshness check (RFC 9846 section 8.3) a server
    /// may store `creation_time + estimated_RTT` here (the RFC's adjusted_creation_time).
    pub issued_at: Timestamp,
    /// The `ticket_lifetime` sent in the ticket, in seconds.
    pub lifetime_s: u32,
}

impl ServerSessionValue {
    /// Whether the ticket has outlived its lifetime at `now` (same rule as
    /// [`ClientSession::is_expired`]; RFC 9846 section 4.7.1: "A server MAY treat a ticket
    /// as valid for a shorter period of time than what is stated in the ticket_lifetime").
    pub fn is_expired(&self, now: Timestamp) -> bool {
        lifetime_exceeded(self.lifetime_s, self.issued_at, now)
    }

    /// The encoding, with a leading version byte; inverse of [`ServerSessionValue::from_bytes`].
    pub fn to_bytes(&self) -> Vec<u8> {
        self.get_encoding()
    }

    /// Decodes bytes written by [`ServerSessionValue::to_bytes`] (for instance the plaintext
    /// of an opened ticket). Any other input is an error, never a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        Self::read_bytes(bytes)
    }
}

impl Codec for ServerSessionValue {
    fn encode(&self, out: &mut Vec<u8>) {
        SERVER_SESSION_VERSION.encode(out);
        self.suite.encode(out);
        put_vec(LengthPrefix::U16, &self.psk, out);
        self.max_early_data.encode(out);
        put_alpn(self.alpn.as_deref(), out);
        put_server_name(self.server_name.as_deref(), out);
        self.age_add.encode(out);
        put_timestamp(self.issued_at, out);
        self.lifetime_s.encode(out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        if u8::read(r)? != SERVER_SESSION_VERSION {
            return Err(InvalidMessage::IllegalParameter("server session version"));
        }
        Ok(Self {
            suite: CipherSuite::read(r)?,
            psk: read_vec(r, LengthPrefix::U16, 0)?,
            max_early_data: u32::read(r)?,
            alpn: read_alpn(r)?,
            server_name: read_server_name(r)?,
            age_add: u32::read(r)?,
            issued_at: read_timestamp(r)?,
            lifetime_s: u32::read(r)?,
        })
    }
}

impl fmt::Debug for ServerSessionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerSessionValue")
            .field("suite", &self.suite)
            .field("psk", &"<redacted>")
            .field("max_early_data", &self.max_early_data)
            .field("alpn", &self.alpn)
            .field("server_name", &self.server_name)
            .field("age_add", &self.age_add)
            .field("issued_at", &self.issued_at)
            .field("lifetime_s", &self.lifetime_s)
            .finish()
    }
}

/// A lifetime of 0 means "discard immediately"; otherwise usable while
/// `now - start <= min(lifetime_s, 7 days)`.
fn lifetime_exceeded(lifetime_s: u32, start: Timestamp, now: Timestamp) -> bool {
    if lifetime_s == 0 {
        return true;
    }
    let limit = Duration::from_secs(u64::from(lifetime_s.min(MAX_TICKET_LIFETIME_S)));
    now.saturating_since(start) > limit
}

/// `Option<opaque<1..2^8-1>>`: a presence byte, then the protocol name (RFC 7301 limits
/// names to 255 bytes; a longer one does not round-trip).
fn put_alpn(alpn: Option<&[u8]>, out: &mut Vec<u8>) {
    match alpn {
        None => 0u8.encode(out),
        Some(name) => {
            1u8.encode(out);
            put_vec(LengthPrefix::U8, name, out);
        }
    }
}

fn read_alpn(r: &mut Reader<'_>) -> Result<Option<Vec<u8>>, InvalidMessage> {
    match u8::read(r)? {
        0 => Ok(None),
        1 => Ok(Some(read_vec(r, LengthPrefix::U8, 0)?)),
        _ => Err(InvalidMessage::IllegalParameter("session alpn presence")),
    }
}

/// `Option<opaque<0..2^16-1>>` holding UTF-8.
fn put_server_name(name: Option<&str>, out: &mut Vec<u8>) {
    match name {
        None => 0u8.encode(out),
        Some(name) => {
            1u8.encode(out);
            put_vec(LengthPrefix::U16, name.as_bytes(), out);
        }
    }
}

fn read_server_name(r: &mut Reader<'_>) -> Result<Option<String>, InvalidMessage> {
    match u8::read(r)? {
        0 => Ok(None),
        1 => String::from_utf8(read_vec(r, LengthPrefix::U16, 0)?)
            .map(Some)
            .map_err(|_| InvalidMessage::IllegalParameter("session server name is not UTF-8")),
        _ => Err(InvalidMessage::IllegalParameter(
            "session server name presence",
        )),
    }
}

/// `Option<opaque<0..2^24-1>>`: a presence byte, then the certificate (a longer one does
/// not round-trip).
fn put_opaque_option(bytes: Option<&[u8]>, out: &mut Vec<u8>) {
    match bytes {
        None => 0u8.encode(out),
        Some(bytes) => {
            1u8.encode(out);
            put_vec(LengthPrefix::U24, bytes, out);
        }
    }
}

fn read_opaque_option(r: &mut Reader<'_>) -> Result<Option<Vec<u8>>, InvalidMessage> {
    match u8::read(r)? {
        0 => Ok(None),
        1 => Ok(Some(read_vec(r, LengthPrefix::U24, 0)?)),
        _ => Err(InvalidMessage::IllegalParameter(
            "session certificate presence",
        )),
    }
}

/// A timestamp as 8 big-endian bytes of nanoseconds.
fn put_timestamp(t: Timestamp, out: &mut Vec<u8>) {
    out.extend_from_slice(&t.as_nanos().to_be_bytes());
}

fn read_timestamp(r: &mut Reader<'_>) -> Result<Timestamp, InvalidMessage> {
    let mut b = [0u8; 8];
    b.copy_from_slice(r.take(8)?);
    Ok(Timestamp::from_nanos(u64::from_be_bytes(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> ClientSession {
        let mut s = ClientSession::resumption(
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            b"ticket".to_vec(),
            vec![7; 32],
            0xffff_fff0,
            7200,
            Timestamp::from_secs(1000),
        );
        s.set_max_early_data(16384);
        s.alpn = Some(b"h2".to_vec());
        s.server_name = Some("example.com".into());
        s.server_cert = Some(vec![0x30, 0x82, 0x01]);
        s
    }

    #[test]
    fn the_obfuscated_ticket_age_wraps_modulo_2_to_the_32() {
        let s = client();
        let now = Timestamp::from_secs(1000).saturating_add(Duration::from_millis(20));
        // 20 + 0xffff_fff0 = 2^32 + 4
        assert_eq!(s.obfuscated_ticket_age(now), 4);
    }

    #[test]
    fn an_external_psk_sends_an_obfuscated_age_of_zero_and_never_expires() {
        let s = ClientSession::external(
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            b"id".to_vec(),
            vec![1; 32],
        );
        let late = Timestamp::from_secs(u64::from(u32::MAX));
        assert_eq!(s.obfuscated_ticket_age(late), 0);
        assert!(!s.is_expired(late));
    }

    #[test]
    fn a_ticket_is_usable_at_exactly_its_lifetime_and_expired_one_nanosecond_later() {
        let s = client();
        let edge = Timestamp::from_secs(1000 + 7200);
        assert!(!s.is_expired(edge));
        assert!(s.is_expired(Timestamp::from_nanos(edge.as_nanos() + 1)));
    }

    #[test]
    fn a_ticket_with_lifetime_zero_is_expired_at_once() {
        let mut s = client();
        s.lifetime_s = 0;
        assert!(s.is_expired(s.received_at));
    }

    #[test]
    fn no_ticket_lives_longer_than_seven_days_whatever_its_lifetime() {
        let mut s = client();
        s.lifetime_s = u32::MAX;
        let week = Duration::from_secs(u64::from(MAX_TICKET_LIFETIME_S));
        assert!(!s.is_expired(s.received_at.saturating_add(week)));
        assert!(s.is_expired(s.received_at.saturating_add(week + Duration::from_nanos(1))));
    }

    #[test]
    fn the_session_debug_output_does_not_show_the_psk() {
        let s = client();
        let shown = format!("{s:?}");
        assert!(shown.contains("<redacted>"));
        assert!(!shown.contains("[7, 7"));
    }

    #[test]
    fn an_unknown_session_version_is_refused() {
        let mut bytes = client().to_bytes();
        // 1: the format before sessions kept the server's certificate.
        for version in [0, 1, 3] {
            bytes[0] = version;
            assert_eq!(
                ClientSession::from_bytes(&bytes),
                Err(InvalidMessage::IllegalParameter("client session version"))
            );
        }
        bytes[0] = CLIENT_SESSION_VERSION;
        assert!(ClientSession::from_bytes(&bytes).is_ok());
        bytes[0] = 9;
        assert_eq!(
            ClientSession::from_bytes(&bytes),
            Err(InvalidMessage::IllegalParameter("client session version"))
        );
    }

    #[test]
    fn every_truncation_of_a_session_is_refused() {
        let bytes = client().to_bytes();
        for len in 0..bytes.len() {
            assert!(
                ClientSession::from_bytes(&bytes[..len]).is_err(),
                "len {len}"
            );
        }
    }
}
