//! One crate error, with [`Error::alert`] as the single place that maps an error to the
//! alert it sends (RFC 9846 section 6.2).

pub use crate::codec::InvalidMessage;
use crate::msgs::enums::{AlertDescription, ContentType, ExtensionType, HandshakeType};
use std::fmt;

// The alert mapping lives here with every other error's (`InvalidMessage` itself is defined
// in `codec`, below the wire enums it names).
impl InvalidMessage {
    /// The alert this decode failure sends.
    pub fn alert(&self) -> AlertDescription {
        match self {
            Self::RecordOverflow => AlertDescription::RecordOverflow,
            Self::IllegalParameter(_) | Self::DuplicateExtension(_) | Self::PreSharedKeyNotLast => {
                AlertDescription::IllegalParameter
            }
            Self::NoInnerContentType | Self::UnknownContentType(_) | Self::EmptyFragment(_) => {
                AlertDescription::UnexpectedMessage
            }
            Self::UnknownHandshakeType(_) => AlertDescription::UnexpectedMessage,
            Self::Truncated
            | Self::TrailingData(_)
            | Self::EmptyVector
            | Self::LengthOutOfRange(_)
            | Self::HandshakeMessageTooLarge => AlertDescription::DecodeError,
        }
    }
}

/// The peer sent well-formed messages that break the protocol. Variant names are
/// sentences, as in rustls.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PeerMisbehaved {
    /// More early data arrived than min(session max_early_data, recv_max_early_data)
    /// (SSL_read_early_data(3): "If a client sends more data than this then the
    /// connection will abort").
    TooMuchEarlyData,
    /// Rejected early data went past the skip budget derived from recv_max_early_data.
    TooMuchRejectedEarlyDataSkipped,
    /// The server accepted early data the client did not offer (RFC 9846 section 4.3.10).
    EarlyDataAcceptedButNotOffered,
    /// The server accepted early data after a HelloRetryRequest.
    EarlyDataAcceptedAfterHelloRetryRequest,
    /// The server accepted early data while selecting a PSK other than the first.
    EarlyDataAcceptedWithOtherIdentity,
    /// The server accepted early data with another cipher suite than the session's.
    EarlyDataAcceptedWithOtherCipherSuite,
    /// The server accepted early data with another ALPN protocol than the session's.
    EarlyDataAcceptedWithOtherAlpn,
    /// The server selected a PSK identity the client did not offer.
    SelectedUnofferedPsk,
    /// A PSK binder did not verify (RFC 9846 section 4.3.11.2).
    IncorrectBinder,
    /// A Finished MAC did not verify (RFC 9846 section 4.5.3).
    IncorrectFinished,
    /// A CertificateVerify signature did not verify.
    InvalidCertificateVerify,
    /// A handshake message spanned a key change (RFC 9846 section 5.1).
    KeyEpochWithPendingFragment,
    /// Early data arrived after EndOfEarlyData, or after the handshake keys took over.
    EarlyDataAfterEndOfEarlyData,
    /// A ChangeCipherSpec record with a body other than 0x01, or at a forbidden time.
    IllegalChangeCipherSpec,
    /// A second HelloRetryRequest, or a ClientHello2 that does not follow the HRR.
    IllegalHelloRetryRequest,
    /// The peer negotiated TLS 1.2 or lower after the client sent early data
    /// (RFC 9846 appendix E.3); the client must retry without early data.
    DowngradeAfterEarlyData,
    /// The peer does not offer TLS 1.3.
    UnsupportedProtocolVersion,
    /// No cipher suite, group or signature scheme in common.
    NoCommonParameters(&'static str),
    /// A required extension was missing.
    MissingExtension(ExtensionType),
    /// An extension appeared in a message that may not carry it.
    UnsolicitedExtension(ExtensionType),
    /// A field held a value that is valid on the wire but not here.
    IllegalParameter(&'static str),
    /// The server's certificate was refused by the configured trust.
    BadCertificate(String),
    /// The client offered ALPN protocols but none the server supports (RFC 7301 3.2).
    NoApplicationProtocol,
}

impl PeerMisbehaved {
    /// The alert this misbehaviour sends.
    pub fn alert(&self) -> AlertDescription {
        use AlertDescription as A;
        match self {
            Self::TooMuchEarlyData
            | Self::TooMuchRejectedEarlyDataSkipped
            | Self::EarlyDataAfterEndOfEarlyData
            | Self::KeyEpochWithPendingFragment
            | Self::IllegalChangeCipherSpec => A::UnexpectedMessage,
            // RFC 9846 4.3: an extension response the client did not request is
            // unsupported_extension; after HRR, ClientHello2 carries no early_data offer.
            Self::EarlyDataAcceptedButNotOffered
            | Self::EarlyDataAcceptedAfterHelloRetryRequest => A::UnsupportedExtension,
            Self::UnsolicitedExtension(_) => A::UnsupportedExtension,
            Self::EarlyDataAcceptedWithOtherIdentity
            | Self::EarlyDataAcceptedWithOtherCipherSuite
            | Self::EarlyDataAcceptedWithOtherAlpn
            | Self::SelectedUnofferedPsk
            | Self::IllegalHelloRetryRequest
            | Self::IllegalParameter(_) => A::IllegalParameter,
            Self::IncorrectBinder | Self::IncorrectFinished | Self::InvalidCertificateVerify => {
                A::DecryptError
            }
            Self::DowngradeAfterEarlyData | Self::UnsupportedProtocolVersion => A::ProtocolVersion,
            Self::NoCommonParameters(_) => A::HandshakeFailure,
            Self::MissingExtension(_) => A::MissingExtension,
            Self::BadCertificate(_) => A::BadCertificate,
            Self::NoApplicationProtocol => A::NoApplicationProtocol,
        }
    }
}

/// Every fatal failure of a connection. Errors are sticky: once one is returned every
/// later call returns it again, and the alert it produced can still be written out.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that did not decode.
    InvalidMessage(InvalidMessage),
    /// Well-formed bytes that break the protocol.
    PeerMisbehaved(PeerMisbehaved),
    /// A message of a type not allowed in the current state.
    InappropriateMessage {
        /// What the state machine expects.
        expected: &'static str,
        /// What arrived.
        got: ContentType,
    },
    /// A handshake message not allowed in the current state.
    InappropriateHandshakeMessage {
        /// What the state machine expects.
        expected: &'static str,
        /// What arrived.
        got: HandshakeType,
    },
    /// AEAD authentication failed (RFC 9846 section 5.2: bad_record_mac).
    DecryptError,
    /// The peer sent a fatal alert.
    AlertReceived(AlertDescription),
    /// The server's certificate or CertificateVerify was refused.
    Certificate {
        /// The alert chosen by the verifier (bad_certificate, unknown_ca, ...).
        alert: AlertDescription,
        /// What the verifier said.
        reason: String,
    },
    /// Something that should be impossible; the connection cannot continue.
    Internal(&'static str),
}

impl Error {
    /// The alert we send for this error, or `None` where none is sent (the peer's own alert).
    pub fn alert(&self) -> Option<AlertDescription> {
        Some(match self {
            Self::InvalidMessage(e) => e.alert(),
            Self::PeerMisbehaved(e) => e.alert(),
            Self::InappropriateMessage { .. } | Self::InappropriateHandshakeMessage { .. } => {
                AlertDescription::UnexpectedMessage
            }
            Self::DecryptError => AlertDescription::BadRecordMac,
            Self::AlertReceived(_) => return None,
            Self::Certificate { alert, .. } => *alert,
            Self::Internal(_) => AlertDescription::InternalError,
        })
    }
}

impl From<InvalidMessage> for Error {
    fn from(e: InvalidMessage) -> Self {
        Self::InvalidMessage(e)
    }
}

impl From<PeerMisbehaved> for Error {
    fn from(e: PeerMisbehaved) -> Self {
        Self::PeerMisbehaved(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.alert() {
            Some(alert) => write!(f, "{self:?} (sends alert {alert:?})"),
            None => write!(f, "{self:?}"),
        }
    }
}

impl std::error::Error for Error {}
