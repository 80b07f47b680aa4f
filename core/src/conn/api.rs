//! The application API's result types: one Rust idiom per `SSL_read_early_data(3)` return
//! convention. No integer return codes.

use crate::error::Error;
use std::fmt;

/// `SSL_get_early_data_status(3)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EarlyDataStatus {
    /// `SSL_EARLY_DATA_NOT_SENT`: no early data was offered.
    NotSent,
    /// `SSL_EARLY_DATA_ACCEPTED`.
    Accepted,
    /// `SSL_EARLY_DATA_REJECTED`. As in OpenSSL, a client that offered early data reports
    /// this until the server's EncryptedExtensions says otherwise.
    Rejected,
}

/// A successful `SSL_read_early_data(3)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadEarlyData {
    /// `SSL_READ_EARLY_DATA_SUCCESS`: this many bytes were read; call again.
    Success(usize),
    /// `SSL_READ_EARLY_DATA_FINISH`: no more early data can be read (none was sent, it was
    /// rejected, or EndOfEarlyData arrived).
    Finish,
}

/// A call that is not allowed at this point. The connection is not harmed: the call
/// simply did nothing (OpenSSL's `SSL_R_SHOULD_NOT_HAVE_BEEN_CALLED` family).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiMisuse {
    /// write_early_data (client) must be the first I/O call on a new connection.
    WriteEarlyDataNotFirstIo,
    /// write_early_data on a client needs a session whose max_early_data is non-zero.
    SessionDoesNotAllowEarlyData,
    /// The write would take the early data total past the session's max_early_data;
    /// nothing of it was sent.
    EarlyDataLimitExceeded {
        /// Bytes the session still allows.
        remaining: usize,
    },
    /// The client already knows its early data was rejected (EncryptedExtensions without
    /// early_data, or a HelloRetryRequest): send the data after the handshake instead.
    EarlyDataRejected,
    /// write_early_data after the handshake was completed.
    EarlyDataAfterHandshake,
    /// Only servers may call read_early_data.
    ReadEarlyDataIsServerOnly,
    /// read_early_data must be the first I/O call on a server connection.
    ReadEarlyDataNotFirstIo,
    /// read_early_data after it returned Finish: Finish is returned exactly once (OpenSSL
    /// then fails with SSL_R_SHOULD_NOT_HAVE_BEEN_CALLED). Complete the handshake with
    /// do_handshake, read or write.
    ReadEarlyDataAfterFinish,
    /// write_early_data (client) with a session from another server name: RFC 9846 4.7.1
    /// and OpenSSL's SSL_R_INCONSISTENT_EARLY_DATA_SNI. Nothing was sent; do_handshake
    /// still connects (resuming without early data when the session's certificate covers
    /// the name).
    InconsistentEarlyDataSni,
    /// write_early_data (client) with a session whose ALPN protocol the client no longer
    /// offers (OpenSSL's SSL_R_INCONSISTENT_EARLY_DATA_ALPN): the server would reject the
    /// early data and the single-use ticket would be wasted. Nothing was sent.
    InconsistentEarlyDataAlpn,
    /// write_early_data (client) with a ticket older than its lifetime (RFC 9846
    /// 4.3.11.1: "Clients MUST NOT attempt to use tickets which have ages greater than
    /// the ticket_lifetime value"). Nothing was sent; do_handshake makes a full handshake.
    SessionExpired,
    /// read/write/do_handshake on a server before read_early_data returned Finish.
    EarlyDataNotFinished,
    /// A server's write_early_data (0.5-RTT) before the first read_early_data result.
    WriteEarlyDataBeforeReadEarlyData,
    /// write after our own close_notify (RFC 9846 6.1: the sender "will not send any more
    /// messages on this connection").
    WriteAfterCloseNotify,
}

impl fmt::Display for ApiMisuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Why an application call did not complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConnError {
    /// More bytes from the peer are needed (`SSL_ERROR_WANT_READ`): feed `read_tls` and call
    /// again.
    WantRead,
    /// The call is not allowed now; nothing happened.
    Misuse(ApiMisuse),
    /// The connection failed; every later call returns the same error. Flush `write_tls`
    /// to send the alert.
    Fatal(Error),
    /// The peer closed the connection cleanly (close_notify).
    Closed,
}

impl ConnError {
    /// True when the client should retry on a new transport connection without early data
    /// (SSL_read_early_data(3) NOTES: "Clients that encounter an aborted connection while
    /// sending early data may want to retry the connection without sending early data").
    pub fn should_retry_without_early_data(&self) -> bool {
        matches!(
            self,
            Self::Fatal(Error::PeerMisbehaved(
                crate::error::PeerMisbehaved::DowngradeAfterEarlyData
            )) | Self::Fatal(Error::AlertReceived(_))
        )
    }
}

impl From<ApiMisuse> for ConnError {
    fn from(m: ApiMisuse) -> Self {
        Self::Misuse(m)
    }
}

impl From<Error> for ConnError {
    fn from(e: Error) -> Self {
        Self::Fatal(e)
    }
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WantRead => f.write_str("want read"),
            Self::Misuse(m) => write!(f, "API misuse: {m}"),
            Self::Fatal(e) => write!(f, "fatal: {e}"),
            Self::Closed => f.write_str("closed by peer"),
        }
    }
}

impl std::error::Error for ConnError {}
