//! Everything a connection does that the outside world may care about leaves as an
//! [`Event`]: plain data, in order. The simulator's trace, the key log, the timing report
//! and the invariants are all built from events, never from scraping logs.

use crate::crypto::keylog::KeyLogEntry;
use crate::msgs::enums::{AlertDescription, CipherSuite, ContentType, HandshakeType};

/// Which keys protect a record (RFC 9846 section 7.1's traffic secrets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyEpoch {
    /// No protection: ClientHello, ServerHello, HelloRetryRequest, middlebox CCS.
    Plaintext,
    /// client_early_traffic_secret (0-RTT).
    Early,
    /// \[sender\]_handshake_traffic_secret.
    Handshake,
    /// \[sender\]_application_traffic_secret_N.
    Application,
}

/// Why a server did not accept early data. Each variant names the rule that refused it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EarlyDataRejectReason {
    /// The server application did not call read_early_data as its first I/O
    /// (OpenSSL only accepts while it is reading early data).
    NotReadingEarlyData,
    /// No PSK was accepted (unknown, expired, replayed or tampered ticket): full handshake.
    NoPskAccepted,
    /// A PSK other than the first offered was selected (RFC 9846 section 4.3.10).
    PskNotFirstIdentity,
    /// The ticket was issued with max_early_data 0.
    TicketDoesNotAllowEarlyData,
    /// The server's current max_early_data is 0.
    ServerMaxEarlyDataZero,
    /// The negotiated cipher suite differs from the session's.
    CipherSuiteMismatch,
    /// The negotiated ALPN protocol differs from the session's.
    AlpnMismatch,
    /// The ClientHello's server name differs from the session's (OpenSSL rejects early
    /// data then and still resumes).
    ServerNameMismatch,
    /// The server sent a HelloRetryRequest (RFC 9846 section 4.3.10).
    HelloRetryRequest,
    /// The ticket age is outside the freshness tolerance (RFC 9846 section 8.3).
    TicketAgeOutsideTolerance,
    /// The ClientHello strike register saw this binder before (RFC 9846 section 8.2).
    ClientHelloReplayed,
    /// The strike register is full and fails safe (rejects rather than forgets).
    StrikeRegisterFull,
    /// The strike register is younger than its window and cannot vouch for the binder.
    StrikeRegisterWarmingUp,
    /// The allow-early-data callback said no.
    CallbackDeclined,
    /// Seen by a client: the server resumed the session but did not accept early data
    /// (the client cannot know which server rule refused it).
    ServerDeclined,
}

/// Why a server did not resume a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PskRejectReason {
    /// The ticket is not in the session cache: never issued, evicted, or already used
    /// (single-use tickets, SSL_read_early_data(3) REPLAY PROTECTION).
    NotInCache,
    /// A stateless ticket that does not open (tampered, truncated or unknown key).
    TicketDoesNotOpen,
    /// The ticket's lifetime has passed.
    Expired,
    /// The session's cipher suite's hash differs from the negotiated one.
    IncompatibleCipherSuite,
    /// The client offered no psk_dhe_ke mode.
    NoSupportedPskMode,
    /// A stateless ticket while anti-replay is on: OpenSSL then behaves as with
    /// SSL_OP_NO_TICKET and only resumes sessions from its cache.
    StatelessTicketWhileAntiReplay,
}

/// Why a client did not offer its session (it sends no pre_shared_key and no early data).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SessionNotOfferedReason {
    /// The ticket is older than its lifetime (RFC 9846 4.3.11.1: "Clients MUST NOT attempt
    /// to use tickets which have ages greater than the ticket_lifetime value").
    Expired,
    /// The certificate of the session's original handshake does not cover the server name
    /// (RFC 9846 4.7.1: "Clients MUST only resume if the new SNI value is valid for the
    /// server certificate presented in the original session").
    CertificateDoesNotCoverServerName,
}

/// One observable step of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A record left (complete record length including the 5-byte header).
    RecordSent {
        /// Keys used.
        epoch: KeyEpoch,
        /// Inner content type (the real one, not the outer application_data).
        typ: ContentType,
        /// Bytes on the wire.
        len: usize,
    },
    /// A record was accepted by the record layer.
    RecordReceived {
        /// Keys used.
        epoch: KeyEpoch,
        /// Inner content type.
        typ: ContentType,
        /// Bytes on the wire.
        len: usize,
    },
    /// A handshake message was sent.
    HandshakeSent(HandshakeType),
    /// A handshake message was received.
    HandshakeReceived(HandshakeType),
    /// The state machine entered a state (its `Expect*` name).
    StateEntered(&'static str),
    /// The client offered early data in its ClientHello.
    EarlyDataOffered {
        /// The session's max_early_data.
        max_early_data: u32,
    },
    /// The client wrote early data.
    EarlyDataWritten {
        /// Bytes in this write.
        bytes: usize,
        /// Total so far on this connection.
        total: usize,
    },
    /// The server accepted early data.
    EarlyDataAccepted {
        /// The limit enforced: min(session max_early_data, recv_max_early_data).
        limit: u32,
    },
    /// The server rejected early data (or the client learned of the rejection).
    EarlyDataRejected {
        /// Why.
        reason: EarlyDataRejectReason,
    },
    /// The server decrypted early data bytes.
    EarlyDataReceived {
        /// Bytes in this record.
        bytes: usize,
        /// Cumulative total on this connection.
        total: usize,
    },
    /// The server skipped a rejected early data record.
    EarlyDataSkipped {
        /// Ciphertext length of the skipped record.
        len: usize,
        /// Cumulative budget used, in bytes.
        budget_used: usize,
    },
    /// The server's application read early data with read_early_data.
    EarlyDataRead {
        /// Bytes read.
        bytes: usize,
    },
    /// The allow-early-data callback was consulted.
    AllowEarlyDataCallback {
        /// Its answer.
        allowed: bool,
    },
    /// The server resumed a session from a PSK.
    PskAccepted {
        /// Index of the identity in the ClientHello.
        identity: u16,
        /// True for an external PSK.
        external: bool,
    },
    /// The server refused an offered PSK and fell back to a full handshake.
    PskRejected {
        /// Why.
        reason: PskRejectReason,
    },
    /// The client did not offer the session it was given, and makes a full handshake.
    SessionNotOffered {
        /// Why.
        reason: SessionNotOfferedReason,
    },
    /// A NewSessionTicket was issued (server) or stored (client).
    TicketIssued {
        /// First bytes of the ticket, hex, to follow it across a trace.
        ticket_id: String,
        /// max_early_data in the ticket's early_data extension (0 if absent).
        max_early_data: u32,
    },
    /// A single-use ticket was taken out of the session cache.
    TicketConsumed {
        /// First bytes of the ticket, hex.
        ticket_id: String,
    },
    /// The server sent a HelloRetryRequest.
    HelloRetryRequest,
    /// A traffic secret was derived (NSS key log line).
    SecretDerived(KeyLogEntry),
    /// Both Finished messages done on this side.
    HandshakeComplete {
        /// Negotiated suite.
        suite: CipherSuite,
        /// True if a PSK was used.
        resumed: bool,
    },
    /// An alert was sent.
    AlertSent(AlertDescription),
    /// An alert was received.
    AlertReceived(AlertDescription),
    /// The application read application data (after the handshake or 0.5-RTT).
    ApplicationDataRead {
        /// Bytes.
        bytes: usize,
    },
    /// The application wrote application data.
    ApplicationDataWritten {
        /// Bytes.
        bytes: usize,
    },
}

/// Short, stable hex id of a ticket for traces.
pub fn ticket_id(ticket: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, ticket);
    digest.as_ref()[..6]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
