//! Handshake messages (RFC 9846 section 4): `struct { HandshakeType msg_type; uint24
//! length; ... } Handshake;` and every body TLS 1.3 defines.
//!
//! Decoding is strict where the RFC fixes a length (legacy_session_id<0..32>,
//! cipher_suites<2..2^16-2>, ticket<1..2^16-1>, ...) and refuses trailing bytes at every
//! level, so that decode-then-encode reproduces the received bytes exactly: the transcript
//! hash is taken over the raw bytes, and the PSK binders over a prefix of them.
//!
//! The extensions block of ClientHello and ServerHello is required. RFC 9846 section 4.2.2
//! lets a pre-TLS-1.2 peer omit it; such a peer cannot speak TLS 1.3, so the message is a
//! decode_error here.

use crate::codec::{
    put_list, put_u24, put_vec, read_list, read_u24, read_vec, Codec, LengthPrefix, LengthPrefixed,
    Reader,
};
use crate::error::InvalidMessage;
use crate::msgs::enums::{
    CipherSuite, ExtensionType, HandshakeType, KeyUpdateRequest, NamedGroup, ProtocolVersion,
    PskKeyExchangeMode, ServerNameType, SignatureScheme,
};
use crate::msgs::extensions::{
    find, put_extensions, read_client_extensions, read_extensions, CertificateExtension,
    CertificateRequestExtension, ClientExtension, HelloRetryExtension, KeyShareEntry,
    NewSessionTicketExtension, PresharedKeyOffer, ServerExtension, ServerExtensions,
};

/// The ServerHello.random that marks a HelloRetryRequest: SHA-256("HelloRetryRequest")
/// (RFC 9846 section 4.2.3).
pub const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Bytes of a handshake message header: type and u24 length.
pub const HANDSHAKE_HEADER_LEN: usize = 4;

/// Longest `legacy_session_id` (RFC 9846 section 4.2.2).
const MAX_SESSION_ID_LEN: usize = 32;

fn read_random(r: &mut Reader<'_>) -> Result<[u8; 32], InvalidMessage> {
    let mut random = [0u8; 32];
    random.copy_from_slice(r.take(32)?);
    Ok(random)
}

fn read_session_id(r: &mut Reader<'_>) -> Result<Vec<u8>, InvalidMessage> {
    let id = read_vec(r, LengthPrefix::U8, 0)?;
    if id.len() > MAX_SESSION_ID_LEN {
        return Err(InvalidMessage::LengthOutOfRange("legacy_session_id"));
    }
    Ok(id)
}

/// ClientHello (RFC 9846 section 4.2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientHello {
    /// `legacy_version`: 0x0303 for TLS 1.3 clients.
    pub legacy_version: ProtocolVersion,
    /// 32 bytes from the client's RNG.
    pub random: [u8; 32],
    /// `legacy_session_id<0..32>`; non-empty in middlebox compatibility mode.
    pub legacy_session_id: Vec<u8>,
    /// `cipher_suites<2..2^16-2>`, in preference order.
    pub cipher_suites: Vec<CipherSuite>,
    /// `legacy_compression_methods<1..2^8-1>`: exactly `[0]` for TLS 1.3 (the connection
    /// checks this; it is an illegal_parameter, not a decode error).
    pub legacy_compression_methods: Vec<u8>,
    /// `extensions<8..2^16-1>`; pre_shared_key, if present, is last.
    pub extensions: Vec<ClientExtension>,
}

impl Codec for ClientHello {
    fn encode(&self, out: &mut Vec<u8>) {
        self.legacy_version.encode(out);
        out.extend_from_slice(&self.random);
        put_vec(LengthPrefix::U8, &self.legacy_session_id, out);
        put_list(LengthPrefix::U16, &self.cipher_suites, out);
        put_vec(LengthPrefix::U8, &self.legacy_compression_methods, out);
        put_extensions(&self.extensions, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            legacy_version: ProtocolVersion::read(r)?,
            random: read_random(r)?,
            legacy_session_id: read_session_id(r)?,
            cipher_suites: read_list(r, LengthPrefix::U16, true)?,
            legacy_compression_methods: read_vec(r, LengthPrefix::U8, 1)?,
            extensions: read_client_extensions(r)?,
        })
    }
}

impl ClientHello {
    /// The extension of type `typ`, if present.
    pub fn find_extension(&self, typ: ExtensionType) -> Option<&ClientExtension> {
        find(&self.extensions, typ)
    }

    /// The extension types in the order sent.
    pub fn extension_types(&self) -> Vec<ExtensionType> {
        self.extensions.iter().map(|e| e.ext_type()).collect()
    }

    /// pre_shared_key: the offered identities and binders.
    pub fn psk_offer(&self) -> Option<&PresharedKeyOffer> {
        match self.find_extension(ExtensionType::PreSharedKey) {
            Some(ClientExtension::PreSharedKey(offer)) => Some(offer),
            _ => None,
        }
    }

    /// pre_shared_key, mutably (to fill in binders after computing them).
    pub fn psk_offer_mut(&mut self) -> Option<&mut PresharedKeyOffer> {
        self.extensions.iter_mut().find_map(|e| match e {
            ClientExtension::PreSharedKey(offer) => Some(offer),
            _ => None,
        })
    }

    /// early_data: the client is sending 0-RTT data (RFC 9846 section 4.3.10).
    pub fn early_data_offered(&self) -> bool {
        self.find_extension(ExtensionType::EarlyData).is_some()
    }

    /// key_share: the client's shares (possibly empty).
    pub fn key_shares(&self) -> Option<&[KeyShareEntry]> {
        match self.find_extension(ExtensionType::KeyShare) {
            Some(ClientExtension::KeyShare(shares)) => Some(shares),
            _ => None,
        }
    }

    /// ALPN: the offered protocol names.
    pub fn alpn_protocols(&self) -> Option<&[Vec<u8>]> {
        match self.find_extension(ExtensionType::Alpn) {
            Some(ClientExtension::Alpn(names)) => Some(names),
            _ => None,
        }
    }

    /// server_name: the first host_name entry (RFC 6066 allows one per type).
    pub fn server_name(&self) -> Option<&[u8]> {
        match self.find_extension(ExtensionType::ServerName) {
            Some(ClientExtension::ServerName(names)) => names
                .iter()
                .find(|n| n.typ == ServerNameType::HostName)
                .map(|n| n.name.as_slice()),
            _ => None,
        }
    }

    /// supported_versions: the offered versions.
    pub fn supported_versions(&self) -> Option<&[ProtocolVersion]> {
        match self.find_extension(ExtensionType::SupportedVersions) {
            Some(ClientExtension::SupportedVersions(v)) => Some(v),
            _ => None,
        }
    }

    /// cookie: echoed from a HelloRetryRequest.
    pub fn cookie(&self) -> Option<&[u8]> {
        match self.find_extension(ExtensionType::Cookie) {
            Some(ClientExtension::Cookie(c)) => Some(c),
            _ => None,
        }
    }

    /// psk_key_exchange_modes.
    pub fn psk_modes(&self) -> Option<&[PskKeyExchangeMode]> {
        match self.find_extension(ExtensionType::PskKeyExchangeModes) {
            Some(ClientExtension::PskKeyExchangeModes(m)) => Some(m),
            _ => None,
        }
    }

    /// signature_algorithms.
    pub fn signature_schemes(&self) -> Option<&[SignatureScheme]> {
        match self.find_extension(ExtensionType::SignatureAlgorithms) {
            Some(ClientExtension::SignatureAlgorithms(s)) => Some(s),
            _ => None,
        }
    }

    /// supported_groups.
    pub fn named_groups(&self) -> Option<&[NamedGroup]> {
        match self.find_extension(ExtensionType::SupportedGroups) {
            Some(ClientExtension::SupportedGroups(g)) => Some(g),
            _ => None,
        }
    }

    /// Length of the encoded binders list including its 2-byte prefix, which is always the
    /// tail of the encoded message; 0 without pre_shared_key (RFC 9846 section 4.3.11.2).
    pub fn binders_len(&self) -> usize {
        self.psk_offer().map_or(0, PresharedKeyOffer::binders_len)
    }

    /// Replaces the binders of the pre_shared_key offer. Returns false (and changes
    /// nothing) without a pre_shared_key extension. Binders of the same lengths as before
    /// leave every length field, and so the truncated ClientHello, unchanged.
    pub fn set_binders(&mut self, binders: Vec<Vec<u8>>) -> bool {
        match self.psk_offer_mut() {
            Some(offer) => {
                offer.binders = binders;
                true
            }
            None => false,
        }
    }
}

/// The bytes of an encoded ClientHello *message* (header included) that the PSK binders
/// are computed over: everything but the binders list (RFC 9846 section 4.3.11.2), where
/// `binders_len` is [`ClientHello::binders_len`]. `None` if the message is shorter.
pub fn truncate_for_binders(encoded_ch_message: &[u8], binders_len: usize) -> Option<&[u8]> {
    let keep = encoded_ch_message.len().checked_sub(binders_len)?;
    encoded_ch_message.get(..keep)
}

/// ServerHello (RFC 9846 section 4.2.3), when its random is not
/// [`HELLO_RETRY_REQUEST_RANDOM`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerHello {
    /// `legacy_version`: 0x0303.
    pub legacy_version: ProtocolVersion,
    /// 32 bytes from the server's RNG (the last 8 may carry a downgrade sentinel,
    /// section 4.1.3).
    pub random: [u8; 32],
    /// `legacy_session_id_echo<0..32>`.
    pub legacy_session_id_echo: Vec<u8>,
    /// The selected cipher suite.
    pub cipher_suite: CipherSuite,
    /// `legacy_compression_method`: 0.
    pub legacy_compression_method: u8,
    /// `extensions<6..2^16-1>`.
    pub extensions: Vec<ServerExtension>,
}

impl ServerHello {
    /// The extension of type `typ`, if present.
    pub fn find_extension(&self, typ: ExtensionType) -> Option<&ServerExtension> {
        find(&self.extensions, typ)
    }

    /// supported_versions: the selected version.
    pub fn selected_version(&self) -> Option<ProtocolVersion> {
        self.extensions.selected_version()
    }

    /// key_share: the server's share.
    pub fn key_share(&self) -> Option<&KeyShareEntry> {
        self.extensions.key_share()
    }

    /// pre_shared_key: the index of the selected identity.
    pub fn selected_psk_identity(&self) -> Option<u16> {
        self.extensions.selected_psk_identity()
    }
}

/// HelloRetryRequest (RFC 9846 section 4.2.4): a ServerHello whose random is
/// [`HELLO_RETRY_REQUEST_RANDOM`], so the random is not stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelloRetryRequest {
    /// `legacy_version`: 0x0303.
    pub legacy_version: ProtocolVersion,
    /// `legacy_session_id_echo<0..32>`.
    pub legacy_session_id_echo: Vec<u8>,
    /// The cipher suite the ClientHello2 must keep.
    pub cipher_suite: CipherSuite,
    /// `legacy_compression_method`: 0.
    pub legacy_compression_method: u8,
    /// `extensions<6..2^16-1>`.
    pub extensions: Vec<HelloRetryExtension>,
}

impl HelloRetryRequest {
    /// The extension of type `typ`, if present.
    pub fn find_extension(&self, typ: ExtensionType) -> Option<&HelloRetryExtension> {
        find(&self.extensions, typ)
    }

    /// key_share: the group the client must use in ClientHello2.
    pub fn selected_group(&self) -> Option<NamedGroup> {
        match self.find_extension(ExtensionType::KeyShare) {
            Some(HelloRetryExtension::KeyShare(g)) => Some(*g),
            _ => None,
        }
    }

    /// cookie: to echo in ClientHello2.
    pub fn cookie(&self) -> Option<&[u8]> {
        match self.find_extension(ExtensionType::Cookie) {
            Some(HelloRetryExtension::Cookie(c)) => Some(c),
            _ => None,
        }
    }

    /// supported_versions: the selected version.
    pub fn selected_version(&self) -> Option<ProtocolVersion> {
        match self.find_extension(ExtensionType::SupportedVersions) {
            Some(HelloRetryExtension::SupportedVersions(v)) => Some(*v),
            _ => None,
        }
    }
}

/// One `CertificateEntry` (RFC 9846 section 4.5.1), X.509 only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateEntry {
    /// `cert_data<1..2^24-1>`: a DER certificate.
    pub cert_data: Vec<u8>,
    /// Per-certificate extensions (OCSP, SCT), kept opaque.
    pub extensions: Vec<CertificateExtension>,
}

impl Codec for CertificateEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        put_vec(LengthPrefix::U24, &self.cert_data, out);
        put_extensions(&self.extensions, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            cert_data: read_vec(r, LengthPrefix::U24, 1)?,
            extensions: read_extensions(r)?,
        })
    }
}

/// Certificate (RFC 9846 section 4.5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificatePayload {
    /// `certificate_request_context<0..2^8-1>`: empty for server authentication.
    pub context: Vec<u8>,
    /// `certificate_list<0..2^24-1>`, end-entity first.
    pub entries: Vec<CertificateEntry>,
}

impl Codec for CertificatePayload {
    fn encode(&self, out: &mut Vec<u8>) {
        put_vec(LengthPrefix::U8, &self.context, out);
        put_list(LengthPrefix::U24, &self.entries, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            context: read_vec(r, LengthPrefix::U8, 0)?,
            entries: read_list(r, LengthPrefix::U24, false)?,
        })
    }
}

/// CertificateRequest (RFC 9846 section 4.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRequest {
    /// `certificate_request_context<0..2^8-1>`.
    pub context: Vec<u8>,
    /// `extensions<0..2^16-1>` (signature_algorithms is required; the connection checks).
    pub extensions: Vec<CertificateRequestExtension>,
}

impl Codec for CertificateRequest {
    fn encode(&self, out: &mut Vec<u8>) {
        put_vec(LengthPrefix::U8, &self.context, out);
        put_extensions(&self.extensions, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            context: read_vec(r, LengthPrefix::U8, 0)?,
            extensions: read_extensions(r)?,
        })
    }
}

/// CertificateVerify (RFC 9846 section 4.5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateVerify {
    /// The signature algorithm used.
    pub scheme: SignatureScheme,
    /// `signature<0..2^16-1>` over the transcript hash with the context string.
    pub signature: Vec<u8>,
}

impl Codec for CertificateVerify {
    fn encode(&self, out: &mut Vec<u8>) {
        self.scheme.encode(out);
        put_vec(LengthPrefix::U16, &self.signature, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            scheme: SignatureScheme::read(r)?,
            signature: read_vec(r, LengthPrefix::U16, 0)?,
        })
    }
}

/// NewSessionTicket (RFC 9846 section 4.7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSessionTicket {
    /// `ticket_lifetime` in seconds (at most 604800, checked by the receiver).
    pub lifetime: u32,
    /// `ticket_age_add`: added mod 2^32 to the ticket age to obfuscate it.
    pub age_add: u32,
    /// `ticket_nonce<0..255>`, input to the PSK derivation.
    pub nonce: Vec<u8>,
    /// `ticket<1..2^16-1>`: the PSK identity to offer.
    pub ticket: Vec<u8>,
    /// `extensions<0..2^16-2>`.
    pub extensions: Vec<NewSessionTicketExtension>,
}

impl NewSessionTicket {
    /// early_data: the server accepts up to this many bytes of 0-RTT data with this
    /// ticket (RFC 9846 section 4.7.1); `None` means no early data.
    pub fn max_early_data_size(&self) -> Option<u32> {
        match find(&self.extensions, ExtensionType::EarlyData) {
            Some(NewSessionTicketExtension::EarlyData(n)) => Some(*n),
            _ => None,
        }
    }
}

impl Codec for NewSessionTicket {
    fn encode(&self, out: &mut Vec<u8>) {
        self.lifetime.encode(out);
        self.age_add.encode(out);
        put_vec(LengthPrefix::U8, &self.nonce, out);
        put_vec(LengthPrefix::U16, &self.ticket, out);
        put_extensions(&self.extensions, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            lifetime: u32::read(r)?,
            age_add: u32::read(r)?,
            nonce: read_vec(r, LengthPrefix::U8, 0)?,
            ticket: read_vec(r, LengthPrefix::U16, 1)?,
            extensions: read_extensions(r)?,
        })
    }
}

/// The body of a handshake message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HandshakePayload {
    /// client_hello(1)
    ClientHello(ClientHello),
    /// server_hello(2) with an ordinary random.
    ServerHello(ServerHello),
    /// server_hello(2) with [`HELLO_RETRY_REQUEST_RANDOM`].
    HelloRetryRequest(HelloRetryRequest),
    /// encrypted_extensions(8): `extensions<0..2^16-1>`; see [`ServerExtensions`] for
    /// accessors.
    EncryptedExtensions(Vec<ServerExtension>),
    /// certificate(11)
    Certificate(CertificatePayload),
    /// certificate_request(13)
    CertificateRequest(CertificateRequest),
    /// certificate_verify(15)
    CertificateVerify(CertificateVerify),
    /// finished(20): `verify_data[Hash.length]`. The length depends on the cipher suite's
    /// hash, so it is kept opaque here and checked by the connection.
    Finished(Vec<u8>),
    /// new_session_ticket(4)
    NewSessionTicket(NewSessionTicket),
    /// end_of_early_data(5): `struct {}`.
    EndOfEarlyData,
    /// key_update(24)
    KeyUpdate(KeyUpdateRequest),
    /// message_hash(254): the synthetic message holding Hash(ClientHello1) in the
    /// transcript after a HelloRetryRequest (section 4.4.1). Never sent on the wire.
    MessageHash(Vec<u8>),
}

impl HandshakePayload {
    /// The `msg_type` this body is sent under.
    pub fn typ(&self) -> HandshakeType {
        match self {
            Self::ClientHello(_) => HandshakeType::ClientHello,
            Self::ServerHello(_) | Self::HelloRetryRequest(_) => HandshakeType::ServerHello,
            Self::EncryptedExtensions(_) => HandshakeType::EncryptedExtensions,
            Self::Certificate(_) => HandshakeType::Certificate,
            Self::CertificateRequest(_) => HandshakeType::CertificateRequest,
            Self::CertificateVerify(_) => HandshakeType::CertificateVerify,
            Self::Finished(_) => HandshakeType::Finished,
            Self::NewSessionTicket(_) => HandshakeType::NewSessionTicket,
            Self::EndOfEarlyData => HandshakeType::EndOfEarlyData,
            Self::KeyUpdate(_) => HandshakeType::KeyUpdate,
            Self::MessageHash(_) => HandshakeType::MessageHash,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::ClientHello(ch) => ch.encode(out),
            Self::ServerHello(sh) => {
                sh.legacy_version.encode(out);
                out.extend_from_slice(&sh.random);
                put_vec(LengthPrefix::U8, &sh.legacy_session_id_echo, out);
                sh.cipher_suite.encode(out);
                sh.legacy_compression_method.encode(out);
                put_extensions(&sh.extensions, out);
            }
            Self::HelloRetryRequest(hrr) => {
                hrr.legacy_version.encode(out);
                out.extend_from_slice(&HELLO_RETRY_REQUEST_RANDOM);
                put_vec(LengthPrefix::U8, &hrr.legacy_session_id_echo, out);
                hrr.cipher_suite.encode(out);
                hrr.legacy_compression_method.encode(out);
                put_extensions(&hrr.extensions, out);
            }
            Self::EncryptedExtensions(exts) => put_extensions(exts, out),
            Self::Certificate(c) => c.encode(out),
            Self::CertificateRequest(c) => c.encode(out),
            Self::CertificateVerify(c) => c.encode(out),
            Self::Finished(verify_data) => out.extend_from_slice(verify_data),
            Self::NewSessionTicket(t) => t.encode(out),
            Self::EndOfEarlyData => {}
            Self::KeyUpdate(req) => req.encode(out),
            Self::MessageHash(hash) => out.extend_from_slice(hash),
        }
    }

    /// Decodes the body of a `typ` message from all of `r`.
    fn read(typ: HandshakeType, r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let payload = match typ {
            HandshakeType::ClientHello => Self::ClientHello(ClientHello::read(r)?),
            HandshakeType::ServerHello => read_server_hello(r)?,
            HandshakeType::EncryptedExtensions => Self::EncryptedExtensions(read_extensions(r)?),
            HandshakeType::Certificate => Self::Certificate(CertificatePayload::read(r)?),
            HandshakeType::CertificateRequest => {
                Self::CertificateRequest(CertificateRequest::read(r)?)
            }
            HandshakeType::CertificateVerify => {
                Self::CertificateVerify(CertificateVerify::read(r)?)
            }
            HandshakeType::Finished => Self::Finished(r.rest().to_vec()),
            HandshakeType::NewSessionTicket => Self::NewSessionTicket(NewSessionTicket::read(r)?),
            // `struct {} EndOfEarlyData;`: any body is left over and refused below.
            HandshakeType::EndOfEarlyData => {
                if crate::planted::active(crate::planted::Bug::EndOfEarlyDataBodyAccepted) {
                    r.rest();
                }
                Self::EndOfEarlyData
            }
            HandshakeType::KeyUpdate => match KeyUpdateRequest::read(r)? {
                // "If an implementation receives any other value, it MUST terminate the
                // connection with an "illegal_parameter" alert" (4.6.3).
                KeyUpdateRequest::Unknown(_) => {
                    return Err(InvalidMessage::IllegalParameter("KeyUpdateRequest"))
                }
                req => Self::KeyUpdate(req),
            },
            HandshakeType::MessageHash => Self::MessageHash(r.rest().to_vec()),
            HandshakeType::Unknown(v) => return Err(InvalidMessage::UnknownHandshakeType(v)),
        };
        r.expect_empty(handshake_type_name(typ))?;
        Ok(payload)
    }
}

fn handshake_type_name(typ: HandshakeType) -> &'static str {
    match typ {
        HandshakeType::ClientHello => "ClientHello",
        HandshakeType::ServerHello => "ServerHello",
        HandshakeType::NewSessionTicket => "NewSessionTicket",
        HandshakeType::EndOfEarlyData => "EndOfEarlyData",
        HandshakeType::EncryptedExtensions => "EncryptedExtensions",
        HandshakeType::Certificate => "Certificate",
        HandshakeType::CertificateRequest => "CertificateRequest",
        HandshakeType::CertificateVerify => "CertificateVerify",
        HandshakeType::Finished => "Finished",
        HandshakeType::KeyUpdate => "KeyUpdate",
        HandshakeType::MessageHash => "MessageHash",
        HandshakeType::Unknown(_) => "handshake message",
    }
}

/// ServerHello and HelloRetryRequest share `msg_type` 2 and are told apart by the random
/// (RFC 9846 section 4.2.3).
fn read_server_hello(r: &mut Reader<'_>) -> Result<HandshakePayload, InvalidMessage> {
    let legacy_version = ProtocolVersion::read(r)?;
    let random = read_random(r)?;
    let legacy_session_id_echo = read_session_id(r)?;
    let cipher_suite = CipherSuite::read(r)?;
    let legacy_compression_method = u8::read(r)?;
    Ok(if random == HELLO_RETRY_REQUEST_RANDOM {
        HandshakePayload::HelloRetryRequest(HelloRetryRequest {
            legacy_version,
            legacy_session_id_echo,
            cipher_suite,
            legacy_compression_method,
            extensions: read_extensions(r)?,
        })
    } else {
        HandshakePayload::ServerHello(ServerHello {
            legacy_version,
            random,
            legacy_session_id_echo,
            cipher_suite,
            legacy_compression_method,
            extensions: read_extensions(r)?,
        })
    })
}

/// One handshake message: `msg_type`, u24 `length`, body (RFC 9846 section 4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandshakeMessage {
    /// `msg_type`. Kept equal to `payload.typ()` by [`HandshakeMessage::new`] and by
    /// decoding; the encoder writes `payload.typ()`.
    pub typ: HandshakeType,
    /// The body.
    pub payload: HandshakePayload,
}

impl HandshakeMessage {
    /// Wraps a body, setting `typ` from it.
    pub fn new(payload: HandshakePayload) -> Self {
        Self {
            typ: payload.typ(),
            payload,
        }
    }
}

impl From<HandshakePayload> for HandshakeMessage {
    fn from(payload: HandshakePayload) -> Self {
        Self::new(payload)
    }
}

impl Codec for HandshakeMessage {
    fn encode(&self, out: &mut Vec<u8>) {
        self.payload.typ().encode(out);
        let guard = LengthPrefixed::new(LengthPrefix::U24, out);
        self.payload.encode(out);
        guard.finish(out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let typ = HandshakeType::read(r)?;
        let mut body = r.sub(LengthPrefix::U24)?;
        let payload = HandshakePayload::read(typ, &mut body)?;
        Ok(Self { typ, payload })
    }
}

/// Reads a handshake header, returning `(msg_type, body length)`.
pub fn read_handshake_header(r: &mut Reader<'_>) -> Result<(HandshakeType, usize), InvalidMessage> {
    let typ = HandshakeType::read(r)?;
    let len = read_u24(r)?;
    Ok((typ, len as usize))
}

/// Writes a handshake header for a body of `len` bytes (the message_hash construction of
/// RFC 9846 section 4.1 needs one without a payload struct).
pub fn put_handshake_header(typ: HandshakeType, len: usize, out: &mut Vec<u8>) {
    typ.encode(out);
    put_u24(u32::try_from(len).unwrap_or(u32::MAX), out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hello_retry_request_random_is_the_sha256_of_its_name() {
        let d = ring::digest::digest(&ring::digest::SHA256, b"HelloRetryRequest");
        assert_eq!(d.as_ref(), HELLO_RETRY_REQUEST_RANDOM);
    }

    #[test]
    fn end_of_early_data_with_a_body_is_trailing_data() {
        assert_eq!(
            HandshakeMessage::read_bytes(&[5, 0, 0, 1, 0]),
            Err(InvalidMessage::TrailingData("EndOfEarlyData"))
        );
    }
}
