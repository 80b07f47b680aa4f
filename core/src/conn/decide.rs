//! The server's accept/reject choice for early data as one pure function (rustls style),
//! each check quoting the rule it enforces.

use super::events::EarlyDataRejectReason;
use crate::msgs::enums::CipherSuite;

/// Everything the early data decision depends on, gathered by the server state machine.
#[derive(Clone, Debug)]
pub struct EarlyDataFacts<'a> {
    /// The server application called read_early_data as its first I/O. OpenSSL only
    /// accepts early data while it is reading it ("A server uses the SSL_read_early_data()
    /// function to receive early data on a connection for which early data has been
    /// enabled").
    pub reading_early_data: bool,
    /// Index of the PSK identity the server accepted, if any.
    pub selected_identity: Option<u16>,
    /// max_early_data stored with the session (the ticket's, or an external PSK's).
    pub session_max_early_data: u32,
    /// The connection's current max_early_data (SSL_set_max_early_data).
    pub server_max_early_data: u32,
    /// Cipher suite of the session, and the one negotiated now.
    pub session_suite: CipherSuite,
    /// Negotiated cipher suite.
    pub negotiated_suite: CipherSuite,
    /// ALPN protocol of the session.
    pub session_alpn: Option<&'a [u8]>,
    /// ALPN protocol negotiated now.
    pub negotiated_alpn: Option<&'a [u8]>,
    /// Server name (SNI) recorded with the session, if any.
    pub session_server_name: Option<&'a str>,
    /// Server name in this ClientHello, if any.
    pub client_server_name: Option<&'a str>,
    /// A HelloRetryRequest was sent on this connection.
    pub hello_retry_sent: bool,
    /// The ticket age is within the freshness tolerance (always true for external PSKs,
    /// whose obfuscated age is 0 and carries no information).
    pub ticket_age_fresh: bool,
    /// Result of the optional ClientHello strike register.
    pub strike: StrikeFact,
}

/// What the strike register said, if one is configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StrikeFact {
    /// No register configured, or this ClientHello was new.
    Fresh,
    /// Seen before within the window.
    Replay,
    /// The register is full and fails safe.
    Full,
    /// The register started less than one window ago and cannot vouch for this binder.
    WarmingUp,
}

/// The library's own verdict; the allow-early-data callback is only consulted on
/// [`LibraryDecision::Accept`] (SSL_read_early_data(3): "the OpenSSL library may reject
/// early data for other reasons in which case this callback will not get called").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LibraryDecision {
    /// Every rule passes.
    Accept,
    /// The first rule that failed.
    Reject(EarlyDataRejectReason),
}

/// Decides whether the server may accept early data, before the callback.
pub fn decide_early_data(f: &EarlyDataFacts<'_>) -> LibraryDecision {
    use EarlyDataRejectReason as R;
    let reject = LibraryDecision::Reject;
    if !f.reading_early_data {
        return reject(R::NotReadingEarlyData);
    }
    let Some(identity) = f.selected_identity else {
        return reject(R::NoPskAccepted);
    };
    // RFC 9846 4.3.10: "the server MUST have selected the first key offered".
    if identity != 0 {
        return reject(R::PskNotFirstIdentity);
    }
    if f.session_max_early_data == 0 {
        return reject(R::TicketDoesNotAllowEarlyData);
    }
    if f.server_max_early_data == 0 {
        return reject(R::ServerMaxEarlyDataZero);
    }
    // RFC 9846 4.3.10: "verify that the following values are the same as those
    // associated with the selected PSK: ... cipher suite ... ALPN".
    if f.session_suite != f.negotiated_suite {
        return reject(R::CipherSuiteMismatch);
    }
    if f.session_alpn != f.negotiated_alpn
        && !crate::planted::active(crate::planted::Bug::AlpnNotCompared)
    {
        return reject(R::AlpnMismatch);
    }
    // RFC 9846 4.7.1: a client "SHOULD only resume if the SNI value matches the one used
    // in the original session". OpenSSL (tls_parse_ctos_server_name) still resumes under
    // another name but takes no early data for it; so do we.
    if f.session_server_name.is_some() && f.session_server_name != f.client_server_name {
        return reject(R::ServerNameMismatch);
    }
    // RFC 9846 4.3.10: after HelloRetryRequest the client "MUST NOT include the
    // early_data extension in its followup ClientHello".
    if f.hello_retry_sent {
        return reject(R::HelloRetryRequest);
    }
    // RFC 9846 4.3.10 / 8.3: "If it is not [within tolerance], the server SHOULD proceed
    // with the handshake but reject 0-RTT".
    if !f.ticket_age_fresh {
        return reject(R::TicketAgeOutsideTolerance);
    }
    match f.strike {
        StrikeFact::Fresh => LibraryDecision::Accept,
        StrikeFact::Replay => reject(R::ClientHelloReplayed),
        StrikeFact::Full => reject(R::StrikeRegisterFull),
        StrikeFact::WarmingUp => reject(R::StrikeRegisterWarmingUp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting() -> EarlyDataFacts<'static> {
        EarlyDataFacts {
            reading_early_data: true,
            selected_identity: Some(0),
            session_max_early_data: 16384,
            server_max_early_data: 16384,
            session_suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
            negotiated_suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
            session_alpn: Some(b"h2"),
            negotiated_alpn: Some(b"h2"),
            session_server_name: Some("localhost"),
            client_server_name: Some("localhost"),
            hello_retry_sent: false,
            ticket_age_fresh: true,
            strike: StrikeFact::Fresh,
        }
    }

    #[test]
    fn every_rule_passing_accepts() {
        assert_eq!(decide_early_data(&accepting()), LibraryDecision::Accept);
    }

    #[test]
    fn a_session_without_a_server_name_accepts_any_client_server_name() {
        let mut f = accepting();
        f.session_server_name = None;
        f.client_server_name = Some("zerortt.test");
        assert_eq!(decide_early_data(&f), LibraryDecision::Accept);
    }

    #[test]
    fn each_failed_rule_rejects_with_its_own_reason() {
        use EarlyDataRejectReason as R;
        type Mutation = fn(&mut EarlyDataFacts<'static>);
        let cases: Vec<(Mutation, R)> = vec![
            (|f| f.reading_early_data = false, R::NotReadingEarlyData),
            (|f| f.selected_identity = None, R::NoPskAccepted),
            (|f| f.selected_identity = Some(1), R::PskNotFirstIdentity),
            (
                |f| f.session_max_early_data = 0,
                R::TicketDoesNotAllowEarlyData,
            ),
            (|f| f.server_max_early_data = 0, R::ServerMaxEarlyDataZero),
            (
                |f| f.negotiated_suite = CipherSuite::TLS13_AES_256_GCM_SHA384,
                R::CipherSuiteMismatch,
            ),
            (|f| f.negotiated_alpn = Some(b"http/1.1"), R::AlpnMismatch),
            (|f| f.negotiated_alpn = None, R::AlpnMismatch),
            (
                |f| f.client_server_name = Some("zerortt.test"),
                R::ServerNameMismatch,
            ),
            (|f| f.client_server_name = None, R::ServerNameMismatch),
            (|f| f.hello_retry_sent = true, R::HelloRetryRequest),
            (|f| f.ticket_age_fresh = false, R::TicketAgeOutsideTolerance),
            (|f| f.strike = StrikeFact::Replay, R::ClientHelloReplayed),
            (|f| f.strike = StrikeFact::Full, R::StrikeRegisterFull),
            (
                |f| f.strike = StrikeFact::WarmingUp,
                R::StrikeRegisterWarmingUp,
            ),
        ];
        for (mutate, reason) in cases {
            let mut f = accepting();
            mutate(&mut f);
            assert_eq!(decide_early_data(&f), LibraryDecision::Reject(reason));
        }
    }
}
