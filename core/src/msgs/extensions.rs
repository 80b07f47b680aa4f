//! Hello, EncryptedExtensions, NewSessionTicket and Certificate extensions (RFC 9846
//! section 4.2). Extensions this crate understands are typed; every other one is kept as
//! opaque bytes (`Unknown { typ, body }`) so that a message always re-encodes to the bytes
//! it was decoded from, which the transcript hash and the PSK binders depend on.
//!
//! Each message context has its own enum because the same code point has a different body
//! in each (key_share is a list in ClientHello, one entry in ServerHello and a bare group in
//! HelloRetryRequest, section 4.2.8). Which extensions a message *may* carry is the
//! connection's business; decoding keeps everything so that it can refuse with the right
//! alert.

use std::collections::BTreeSet;

use crate::codec::{
    put_list, put_vec, read_list, read_vec, Codec, LengthPrefix, LengthPrefixed, Reader,
};
use crate::error::InvalidMessage;
use crate::msgs::enums::{
    ExtensionType, NamedGroup, ProtocolVersion, PskKeyExchangeMode, ServerNameType, SignatureScheme,
};

/// Shortest PSK binder (`opaque PskBinderEntry<32..255>`, RFC 9846 section 4.3.11).
pub const MIN_BINDER_LEN: usize = 32;

/// `KeyShareEntry` (RFC 9846 section 4.3.8): a group and its `key_exchange<1..2^16-1>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyShareEntry {
    /// The group the key belongs to.
    pub group: NamedGroup,
    /// The public key (for X25519 the 32-byte u-coordinate).
    pub payload: Vec<u8>,
}

impl Codec for KeyShareEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        self.group.encode(out);
        put_vec(LengthPrefix::U16, &self.payload, out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            group: NamedGroup::read(r)?,
            payload: read_vec(r, LengthPrefix::U16, 1)?,
        })
    }
}

/// One `ServerName` entry of the server_name extension (RFC 6066 section 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerNameEntry {
    /// Always host_name(0) in practice; other types are kept for re-encoding.
    pub typ: ServerNameType,
    /// The DNS host name (ASCII, no trailing dot) or, for other types, the opaque body.
    pub name: Vec<u8>,
}

impl Codec for ServerNameEntry {
    fn encode(&self, out: &mut Vec<u8>) {
        self.typ.encode(out);
        put_vec(LengthPrefix::U16, &self.name, out);
    }

    // RFC 6066 section 3: "all future data structures associated with new NameTypes MUST
    // begin with a 16-bit length field", so every type decodes the same way.
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            typ: ServerNameType::read(r)?,
            name: read_vec(r, LengthPrefix::U16, 1)?,
        })
    }
}

/// `PskIdentity` (RFC 9846 section 4.3.11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresharedKeyIdentity {
    /// `opaque identity<1..2^16-1>`: a ticket, or an external PSK's label.
    pub identity: Vec<u8>,
    /// The ticket age in milliseconds plus the ticket's `ticket_age_add`, mod 2^32
    /// (0 for external PSKs).
    pub obfuscated_ticket_age: u32,
}

impl Codec for PresharedKeyIdentity {
    fn encode(&self, out: &mut Vec<u8>) {
        put_vec(LengthPrefix::U16, &self.identity, out);
        self.obfuscated_ticket_age.encode(out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self {
            identity: read_vec(r, LengthPrefix::U16, 1)?,
            obfuscated_ticket_age: u32::read(r)?,
        })
    }
}

/// `OfferedPsks`, the ClientHello body of pre_shared_key (RFC 9846 section 4.3.11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresharedKeyOffer {
    /// `PskIdentity identities<7..2^16-1>`, in the client's order of preference.
    pub identities: Vec<PresharedKeyIdentity>,
    /// `PskBinderEntry binders<33..2^16-1>`, one per identity, each `<32..255>` bytes.
    pub binders: Vec<Vec<u8>>,
}

impl PresharedKeyOffer {
    /// Length of the encoded binders list including its 2-byte length prefix. Because
    /// pre_shared_key is the last extension and binders its last field, this many bytes
    /// are the tail of the encoded ClientHello (RFC 9846 section 4.3.11.2).
    pub fn binders_len(&self) -> usize {
        2 + self.binders.iter().map(|b| 1 + b.len()).sum::<usize>()
    }

    fn encode_binders(&self, out: &mut Vec<u8>) {
        let guard = LengthPrefixed::new(LengthPrefix::U16, out);
        for binder in &self.binders {
            put_vec(LengthPrefix::U8, binder, out);
        }
        guard.finish(out);
    }
}

impl Codec for PresharedKeyOffer {
    fn encode(&self, out: &mut Vec<u8>) {
        put_list(LengthPrefix::U16, &self.identities, out);
        self.encode_binders(out);
    }

    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let identities = read_list(r, LengthPrefix::U16, true)?;
        let mut sub = r.sub(LengthPrefix::U16)?;
        let mut binders = Vec::new();
        while !sub.is_empty() {
            let binder = read_vec(&mut sub, LengthPrefix::U8, 0)?;
            if binder.len() < MIN_BINDER_LEN {
                return Err(InvalidMessage::LengthOutOfRange("PskBinderEntry"));
            }
            binders.push(binder);
        }
        if binders.is_empty() {
            return Err(InvalidMessage::EmptyVector);
        }
        // Each binder authenticates the identity at the same index (section 4.2.11.2), so
        // a count mismatch cannot be a valid offer.
        if binders.len() != identities.len() {
            return Err(InvalidMessage::IllegalParameter(
                "pre_shared_key identities and binders differ in number",
            ));
        }
        Ok(Self {
            identities,
            binders,
        })
    }
}

/// A protocol name of ALPN (RFC 7301): `opaque ProtocolName<1..2^8-1>`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ProtocolName(Vec<u8>);

impl Codec for ProtocolName {
    fn encode(&self, out: &mut Vec<u8>) {
        put_vec(LengthPrefix::U8, &self.0, out);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(Self(read_vec(r, LengthPrefix::U8, 1)?))
    }
}

fn put_protocol_names(names: &[Vec<u8>], out: &mut Vec<u8>) {
    let guard = LengthPrefixed::new(LengthPrefix::U16, out);
    for name in names {
        put_vec(LengthPrefix::U8, name, out);
    }
    guard.finish(out);
}

fn read_protocol_names(r: &mut Reader<'_>) -> Result<Vec<Vec<u8>>, InvalidMessage> {
    Ok(read_list::<ProtocolName>(r, LengthPrefix::U16, true)?
        .into_iter()
        .map(|p| p.0)
        .collect())
}

/// The body of one extension in one message context; [`read_extensions`] and
/// [`put_extensions`] add the `extension_type` and `extension_data` length around it.
pub trait ExtensionBody: Sized {
    /// The `extension_type` on the wire.
    fn ext_type(&self) -> ExtensionType;
    /// Appends `extension_data` (without its length prefix).
    fn encode_body(&self, out: &mut Vec<u8>);
    /// Decodes `extension_data` of type `typ`; `body` holds exactly those bytes and must be
    /// consumed entirely (checked by the caller).
    fn read_body(typ: ExtensionType, body: &mut Reader<'_>) -> Result<Self, InvalidMessage>;
}

fn encode_extension<T: ExtensionBody>(ext: &T, out: &mut Vec<u8>) {
    ext.ext_type().encode(out);
    let guard = LengthPrefixed::new(LengthPrefix::U16, out);
    ext.encode_body(out);
    guard.finish(out);
}

fn read_extension<T: ExtensionBody>(r: &mut Reader<'_>) -> Result<T, InvalidMessage> {
    let typ = ExtensionType::read(r)?;
    let mut body = r.sub(LengthPrefix::U16)?;
    let ext = T::read_body(typ, &mut body)?;
    body.expect_empty("extension_data")?;
    Ok(ext)
}

/// Writes `Extension extensions<..2^16-1>`.
pub fn put_extensions<T: ExtensionBody>(exts: &[T], out: &mut Vec<u8>) {
    let guard = LengthPrefixed::new(LengthPrefix::U16, out);
    for ext in exts {
        encode_extension(ext, out);
    }
    guard.finish(out);
}

/// Reads `Extension extensions<0..2^16-1>`, refusing a type that appears twice
/// (RFC 9846 section 4.3: "There MUST NOT be more than one extension of the same type in a
/// given extension block").
pub fn read_extensions<T: ExtensionBody>(r: &mut Reader<'_>) -> Result<Vec<T>, InvalidMessage> {
    let mut sub = r.sub(LengthPrefix::U16)?;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    while !sub.is_empty() {
        let ext: T = read_extension(&mut sub)?;
        let typ = ext.ext_type();
        if !seen.insert(typ.get()) {
            return Err(InvalidMessage::DuplicateExtension(typ));
        }
        out.push(ext);
    }
    Ok(out)
}

/// Reads a ClientHello's extensions: no duplicates, and pre_shared_key, if present, last
/// (RFC 9846 section 4.3.11: "The "pre_shared_key" extension MUST be the last extension in
/// the ClientHello ... Servers MUST check that it is the last extension and otherwise fail
/// the handshake with an "illegal_parameter" alert").
pub fn read_client_extensions(r: &mut Reader<'_>) -> Result<Vec<ClientExtension>, InvalidMessage> {
    let exts: Vec<ClientExtension> = read_extensions(r)?;
    let psk_at = exts
        .iter()
        .position(|e| e.ext_type() == ExtensionType::PreSharedKey);
    match psk_at {
        Some(i) if i + 1 != exts.len() => Err(InvalidMessage::PreSharedKeyNotLast),
        _ => Ok(exts),
    }
}

macro_rules! extension_codec {
    ($name:ident) => {
        impl $name {
            /// The `extension_type` on the wire (also available through
            /// [`ExtensionBody`], without importing it).
            pub fn ext_type(&self) -> ExtensionType {
                ExtensionBody::ext_type(self)
            }
        }

        impl Codec for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                encode_extension(self, out)
            }
            fn read(r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
                read_extension(r)
            }
        }
    };
}

fn unknown_body(typ: ExtensionType, body: &mut Reader<'_>) -> (ExtensionType, Vec<u8>) {
    (typ, body.rest().to_vec())
}

/// An extension of a ClientHello (RFC 9846 section 4.3, "CH" in the table).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientExtension {
    /// server_name: `ServerName server_name_list<1..2^16-1>` (RFC 6066).
    ServerName(Vec<ServerNameEntry>),
    /// supported_groups: `named_group_list<2..2^16-1>`.
    SupportedGroups(Vec<NamedGroup>),
    /// signature_algorithms: `supported_signature_algorithms<2..2^16-2>`.
    SignatureAlgorithms(Vec<SignatureScheme>),
    /// application_layer_protocol_negotiation: `ProtocolName protocol_name_list<2..2^16-1>`.
    Alpn(Vec<Vec<u8>>),
    /// supported_versions: `ProtocolVersion versions<2..254>`.
    SupportedVersions(Vec<ProtocolVersion>),
    /// key_share: `KeyShareEntry client_shares<0..2^16-1>` (may be empty, section 4.2.8).
    KeyShare(Vec<KeyShareEntry>),
    /// psk_key_exchange_modes: `ke_modes<1..255>`.
    PskKeyExchangeModes(Vec<PskKeyExchangeMode>),
    /// pre_shared_key: `OfferedPsks`; must be the last extension.
    PreSharedKey(PresharedKeyOffer),
    /// early_data: empty in a ClientHello (section 4.3.10).
    EarlyData,
    /// cookie: `opaque cookie<1..2^16-1>`, echoed from a HelloRetryRequest.
    Cookie(Vec<u8>),
    /// Any other extension, kept as opaque bytes. Do not use it for a type listed above:
    /// it would decode back as the typed variant.
    Unknown {
        /// `extension_type`
        typ: ExtensionType,
        /// `extension_data`
        body: Vec<u8>,
    },
}

impl ExtensionBody for ClientExtension {
    fn ext_type(&self) -> ExtensionType {
        match self {
            Self::ServerName(_) => ExtensionType::ServerName,
            Self::SupportedGroups(_) => ExtensionType::SupportedGroups,
            Self::SignatureAlgorithms(_) => ExtensionType::SignatureAlgorithms,
            Self::Alpn(_) => ExtensionType::Alpn,
            Self::SupportedVersions(_) => ExtensionType::SupportedVersions,
            Self::KeyShare(_) => ExtensionType::KeyShare,
            Self::PskKeyExchangeModes(_) => ExtensionType::PskKeyExchangeModes,
            Self::PreSharedKey(_) => ExtensionType::PreSharedKey,
            Self::EarlyData => ExtensionType::EarlyData,
            Self::Cookie(_) => ExtensionType::Cookie,
            Self::Unknown { typ, .. } => *typ,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Self::ServerName(names) => put_list(LengthPrefix::U16, names, out),
            Self::SupportedGroups(groups) => put_list(LengthPrefix::U16, groups, out),
            Self::SignatureAlgorithms(schemes) => put_list(LengthPrefix::U16, schemes, out),
            Self::Alpn(names) => put_protocol_names(names, out),
            Self::SupportedVersions(versions) => put_list(LengthPrefix::U8, versions, out),
            Self::KeyShare(shares) => put_list(LengthPrefix::U16, shares, out),
            Self::PskKeyExchangeModes(modes) => put_list(LengthPrefix::U8, modes, out),
            Self::PreSharedKey(offer) => offer.encode(out),
            Self::EarlyData => {}
            Self::Cookie(cookie) => put_vec(LengthPrefix::U16, cookie, out),
            Self::Unknown { body, .. } => out.extend_from_slice(body),
        }
    }

    fn read_body(typ: ExtensionType, r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(match typ {
            ExtensionType::ServerName => Self::ServerName(read_list(r, LengthPrefix::U16, true)?),
            ExtensionType::SupportedGroups => {
                Self::SupportedGroups(read_list(r, LengthPrefix::U16, true)?)
            }
            ExtensionType::SignatureAlgorithms => {
                Self::SignatureAlgorithms(read_list(r, LengthPrefix::U16, true)?)
            }
            ExtensionType::Alpn => Self::Alpn(read_protocol_names(r)?),
            ExtensionType::SupportedVersions => {
                Self::SupportedVersions(read_list(r, LengthPrefix::U8, true)?)
            }
            ExtensionType::KeyShare => Self::KeyShare(read_list(r, LengthPrefix::U16, false)?),
            ExtensionType::PskKeyExchangeModes => {
                Self::PskKeyExchangeModes(read_list(r, LengthPrefix::U8, true)?)
            }
            ExtensionType::PreSharedKey => Self::PreSharedKey(PresharedKeyOffer::read(r)?),
            ExtensionType::EarlyData => Self::EarlyData,
            ExtensionType::Cookie => Self::Cookie(read_vec(r, LengthPrefix::U16, 1)?),
            _ => {
                let (typ, body) = unknown_body(typ, r);
                Self::Unknown { typ, body }
            }
        })
    }
}

extension_codec!(ClientExtension);

/// An extension of a ServerHello or EncryptedExtensions ("SH" and "EE" in RFC 9846
/// section 4.2). The bodies do not collide between the two messages, so one enum serves
/// both; the connection checks which types each message may carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerExtension {
    /// server_name acknowledgement: empty (RFC 6066 section 3), in EE.
    ServerNameAck,
    /// supported_groups: the server's preference, in EE (informational).
    SupportedGroups(Vec<NamedGroup>),
    /// ALPN: the one selected protocol (RFC 7301 section 3.1: "exactly one"), in EE.
    Alpn(Vec<u8>),
    /// supported_versions: `selected_version`, in SH.
    SupportedVersions(ProtocolVersion),
    /// key_share: `KeyShareEntry server_share`, in SH.
    KeyShare(KeyShareEntry),
    /// pre_shared_key: `uint16 selected_identity`, in SH.
    PreSharedKey(u16),
    /// early_data: empty, in EE; the server accepted the client's early data.
    EarlyData,
    /// Any other extension, kept as opaque bytes.
    Unknown {
        /// `extension_type`
        typ: ExtensionType,
        /// `extension_data`
        body: Vec<u8>,
    },
}

impl ExtensionBody for ServerExtension {
    fn ext_type(&self) -> ExtensionType {
        match self {
            Self::ServerNameAck => ExtensionType::ServerName,
            Self::SupportedGroups(_) => ExtensionType::SupportedGroups,
            Self::Alpn(_) => ExtensionType::Alpn,
            Self::SupportedVersions(_) => ExtensionType::SupportedVersions,
            Self::KeyShare(_) => ExtensionType::KeyShare,
            Self::PreSharedKey(_) => ExtensionType::PreSharedKey,
            Self::EarlyData => ExtensionType::EarlyData,
            Self::Unknown { typ, .. } => *typ,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Self::ServerNameAck | Self::EarlyData => {}
            Self::SupportedGroups(groups) => put_list(LengthPrefix::U16, groups, out),
            Self::Alpn(name) => put_protocol_names(std::slice::from_ref(name), out),
            Self::SupportedVersions(v) => v.encode(out),
            Self::KeyShare(share) => share.encode(out),
            Self::PreSharedKey(index) => index.encode(out),
            Self::Unknown { body, .. } => out.extend_from_slice(body),
        }
    }

    fn read_body(typ: ExtensionType, r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(match typ {
            ExtensionType::ServerName => Self::ServerNameAck,
            ExtensionType::SupportedGroups => {
                Self::SupportedGroups(read_list(r, LengthPrefix::U16, true)?)
            }
            ExtensionType::Alpn => {
                let mut names = read_protocol_names(r)?;
                match (names.pop(), names.is_empty()) {
                    (Some(name), true) => Self::Alpn(name),
                    _ => {
                        return Err(InvalidMessage::IllegalParameter(
                            "server ALPN must name exactly one protocol",
                        ))
                    }
                }
            }
            ExtensionType::SupportedVersions => Self::SupportedVersions(ProtocolVersion::read(r)?),
            ExtensionType::KeyShare => Self::KeyShare(KeyShareEntry::read(r)?),
            ExtensionType::PreSharedKey => Self::PreSharedKey(u16::read(r)?),
            ExtensionType::EarlyData => Self::EarlyData,
            _ => {
                let (typ, body) = unknown_body(typ, r);
                Self::Unknown { typ, body }
            }
        })
    }
}

extension_codec!(ServerExtension);

/// An extension of a HelloRetryRequest ("HRR" in RFC 9846 section 4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HelloRetryExtension {
    /// key_share: `NamedGroup selected_group` (section 4.2.8).
    KeyShare(NamedGroup),
    /// cookie: `opaque cookie<1..2^16-1>`.
    Cookie(Vec<u8>),
    /// supported_versions: `selected_version`.
    SupportedVersions(ProtocolVersion),
    /// Any other extension, kept as opaque bytes.
    Unknown {
        /// `extension_type`
        typ: ExtensionType,
        /// `extension_data`
        body: Vec<u8>,
    },
}

impl ExtensionBody for HelloRetryExtension {
    fn ext_type(&self) -> ExtensionType {
        match self {
            Self::KeyShare(_) => ExtensionType::KeyShare,
            Self::Cookie(_) => ExtensionType::Cookie,
            Self::SupportedVersions(_) => ExtensionType::SupportedVersions,
            Self::Unknown { typ, .. } => *typ,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Self::KeyShare(group) => group.encode(out),
            Self::Cookie(cookie) => put_vec(LengthPrefix::U16, cookie, out),
            Self::SupportedVersions(v) => v.encode(out),
            Self::Unknown { body, .. } => out.extend_from_slice(body),
        }
    }

    fn read_body(typ: ExtensionType, r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(match typ {
            ExtensionType::KeyShare => Self::KeyShare(NamedGroup::read(r)?),
            ExtensionType::Cookie => Self::Cookie(read_vec(r, LengthPrefix::U16, 1)?),
            ExtensionType::SupportedVersions => Self::SupportedVersions(ProtocolVersion::read(r)?),
            _ => {
                let (typ, body) = unknown_body(typ, r);
                Self::Unknown { typ, body }
            }
        })
    }
}

extension_codec!(HelloRetryExtension);

/// An extension of a NewSessionTicket ("NST" in RFC 9846 section 4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NewSessionTicketExtension {
    /// early_data: `uint32 max_early_data_size`, the most 0-RTT bytes the server will
    /// accept with this ticket (section 4.3.10).
    EarlyData(u32),
    /// Any other extension, kept as opaque bytes.
    Unknown {
        /// `extension_type`
        typ: ExtensionType,
        /// `extension_data`
        body: Vec<u8>,
    },
}

impl ExtensionBody for NewSessionTicketExtension {
    fn ext_type(&self) -> ExtensionType {
        match self {
            Self::EarlyData(_) => ExtensionType::EarlyData,
            Self::Unknown { typ, .. } => *typ,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Self::EarlyData(max) => max.encode(out),
            Self::Unknown { body, .. } => out.extend_from_slice(body),
        }
    }

    fn read_body(typ: ExtensionType, r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(match typ {
            ExtensionType::EarlyData => Self::EarlyData(u32::read(r)?),
            _ => {
                let (typ, body) = unknown_body(typ, r);
                Self::Unknown { typ, body }
            }
        })
    }
}

extension_codec!(NewSessionTicketExtension);

/// An extension of a CertificateRequest (RFC 9846 section 4.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertificateRequestExtension {
    /// signature_algorithms, which a CertificateRequest must carry.
    SignatureAlgorithms(Vec<SignatureScheme>),
    /// Any other extension, kept as opaque bytes.
    Unknown {
        /// `extension_type`
        typ: ExtensionType,
        /// `extension_data`
        body: Vec<u8>,
    },
}

impl ExtensionBody for CertificateRequestExtension {
    fn ext_type(&self) -> ExtensionType {
        match self {
            Self::SignatureAlgorithms(_) => ExtensionType::SignatureAlgorithms,
            Self::Unknown { typ, .. } => *typ,
        }
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Self::SignatureAlgorithms(schemes) => put_list(LengthPrefix::U16, schemes, out),
            Self::Unknown { body, .. } => out.extend_from_slice(body),
        }
    }

    fn read_body(typ: ExtensionType, r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        Ok(match typ {
            ExtensionType::SignatureAlgorithms => {
                Self::SignatureAlgorithms(read_list(r, LengthPrefix::U16, true)?)
            }
            _ => {
                let (typ, body) = unknown_body(typ, r);
                Self::Unknown { typ, body }
            }
        })
    }
}

extension_codec!(CertificateRequestExtension);

/// An extension of a CertificateEntry (status_request, signed_certificate_timestamp, ...),
/// kept opaque: this crate does not interpret any of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateExtension {
    /// `extension_type`
    pub typ: ExtensionType,
    /// `extension_data`
    pub body: Vec<u8>,
}

impl ExtensionBody for CertificateExtension {
    fn ext_type(&self) -> ExtensionType {
        self.typ
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.body);
    }

    fn read_body(typ: ExtensionType, r: &mut Reader<'_>) -> Result<Self, InvalidMessage> {
        let (typ, body) = unknown_body(typ, r);
        Ok(Self { typ, body })
    }
}

extension_codec!(CertificateExtension);

/// Finds the first extension of type `typ`.
pub fn find<T: ExtensionBody>(exts: &[T], typ: ExtensionType) -> Option<&T> {
    exts.iter().find(|e| e.ext_type() == typ)
}

/// Accessors over the extensions a server sends, for ServerHello and for
/// `HandshakePayload::EncryptedExtensions` (a plain `Vec<ServerExtension>`).
pub trait ServerExtensions {
    /// The extension of type `typ`, if present.
    fn find_extension(&self, typ: ExtensionType) -> Option<&ServerExtension>;

    /// EE early_data: the server accepted the early data (RFC 9846 section 4.3.10).
    fn early_data_accepted(&self) -> bool {
        self.find_extension(ExtensionType::EarlyData).is_some()
    }

    /// EE ALPN: the selected protocol.
    fn alpn_protocol(&self) -> Option<&[u8]> {
        match self.find_extension(ExtensionType::Alpn) {
            Some(ServerExtension::Alpn(name)) => Some(name),
            _ => None,
        }
    }

    /// EE server_name: the server used the client's server_name.
    fn server_name_acknowledged(&self) -> bool {
        self.find_extension(ExtensionType::ServerName).is_some()
    }

    /// SH supported_versions: the selected version.
    fn selected_version(&self) -> Option<ProtocolVersion> {
        match self.find_extension(ExtensionType::SupportedVersions) {
            Some(ServerExtension::SupportedVersions(v)) => Some(*v),
            _ => None,
        }
    }

    /// SH key_share: the server's share.
    fn key_share(&self) -> Option<&KeyShareEntry> {
        match self.find_extension(ExtensionType::KeyShare) {
            Some(ServerExtension::KeyShare(share)) => Some(share),
            _ => None,
        }
    }

    /// SH pre_shared_key: the 0-based index of the identity the server selected.
    fn selected_psk_identity(&self) -> Option<u16> {
        match self.find_extension(ExtensionType::PreSharedKey) {
            Some(ServerExtension::PreSharedKey(index)) => Some(*index),
            _ => None,
        }
    }

    /// EE supported_groups: the server's preferred groups.
    fn named_groups(&self) -> Option<&[NamedGroup]> {
        match self.find_extension(ExtensionType::SupportedGroups) {
            Some(ServerExtension::SupportedGroups(groups)) => Some(groups),
            _ => None,
        }
    }
}

impl ServerExtensions for [ServerExtension] {
    fn find_extension(&self, typ: ExtensionType) -> Option<&ServerExtension> {
        find(self, typ)
    }
}

impl ServerExtensions for Vec<ServerExtension> {
    fn find_extension(&self, typ: ExtensionType) -> Option<&ServerExtension> {
        find(self, typ)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_extension_keeps_its_bytes() {
        let bytes = [0xfa, 0xfa, 0, 3, 1, 2, 3];
        let ext = ClientExtension::read_bytes(&bytes).unwrap();
        assert_eq!(
            ext,
            ClientExtension::Unknown {
                typ: ExtensionType::Unknown(0xfafa),
                body: vec![1, 2, 3]
            }
        );
        assert_eq!(ext.get_encoding(), bytes);
    }

    #[test]
    fn a_short_binder_is_out_of_range() {
        let offer = PresharedKeyOffer {
            identities: vec![PresharedKeyIdentity {
                identity: vec![1],
                obfuscated_ticket_age: 0,
            }],
            binders: vec![vec![0; 31]],
        };
        assert_eq!(
            PresharedKeyOffer::read_bytes(&offer.get_encoding()),
            Err(InvalidMessage::LengthOutOfRange("PskBinderEntry"))
        );
    }

    #[test]
    fn binders_len_counts_the_prefix_and_each_entry_length() {
        let offer = PresharedKeyOffer {
            identities: vec![],
            binders: vec![vec![0; 32], vec![0; 48]],
        };
        let mut out = Vec::new();
        offer.encode_binders(&mut out);
        assert_eq!(offer.binders_len(), out.len());
        assert_eq!(out.len(), 2 + 33 + 49);
    }
}
