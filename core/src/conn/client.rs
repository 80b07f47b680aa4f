//! The client half of the handshake (RFC 9846 section 2.3 and 4) with OpenSSL's client-side
//! early data rules (SSL_write_early_data(3)).

use super::events::{EarlyDataRejectReason, Event, KeyEpoch, SessionNotOfferedReason};
use super::{ApiMisuse, ClientConfig, ConnError, Connection, EarlyDataStatus, State};
use crate::codec::Codec;
use crate::crypto::hash::{Transcript, TranscriptBuffer};
use crate::crypto::key_schedule::{
    verify_data, verify_finished, KeyScheduleEarly, KeyScheduleHandshake, KeyScheduleMaster,
    PskKind as BinderKind, Secret,
};
use crate::crypto::keylog::KeyLogLabel;
use crate::crypto::kx::X25519KeyShare;
use crate::crypto::sign::certificate_verify_message;
use crate::crypto::suites::{self, Tls13CipherSuite};
use crate::error::{Error, PeerMisbehaved};
use crate::msgs::enums::{
    CipherSuite, ExtensionType, HandshakeType, NamedGroup, ProtocolVersion, PskKeyExchangeMode,
    ServerNameType,
};
use crate::msgs::extensions::{
    ClientExtension, KeyShareEntry, PresharedKeyIdentity, PresharedKeyOffer, ServerExtensions,
    ServerNameEntry,
};
use crate::msgs::handshake::{
    truncate_for_binders, ClientHello, HandshakeMessage, HandshakePayload, HelloRetryRequest,
    NewSessionTicket, ServerHello,
};
use crate::tickets::session::{ClientSession, PskKind};
use crate::time::Timestamp;
use crate::verify::{
    certificate_covers_name, verify_certificate_verify_memo, verify_server_cert_memo, ServerTrust,
};
use std::sync::Arc;

/// Where the client is in the handshake: one variant per expected message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expect {
    /// Nothing sent yet.
    Start,
    ServerHello,
    EncryptedExtensions,
    Certificate,
    CertificateVerify,
    Finished,
    /// The server's flight is verified; EndOfEarlyData and Finished wait for the
    /// application to leave its early data phase (do_handshake or write).
    ClientFinishedPending,
    /// Handshake complete: NewSessionTicket, KeyUpdate, application data.
    Traffic,
}

impl Expect {
    fn name(self) -> &'static str {
        match self {
            Self::Start => "ClientStart",
            Self::ServerHello => "ExpectServerHello",
            Self::EncryptedExtensions => "ExpectEncryptedExtensions",
            Self::Certificate => "ExpectCertificate",
            Self::CertificateVerify => "ExpectCertificateVerify",
            Self::Finished => "ExpectFinished",
            Self::ClientFinishedPending => "ExpectApplicationToFinish",
            Self::Traffic => "ExpectTraffic",
        }
    }
}

pub(super) struct ClientState {
    config: Arc<ClientConfig>,
    server_name: String,
    /// The PSK offered: a ticket session or an external PSK.
    session: Option<ClientSession>,
    pub(super) expect: Expect,
    random: [u8; 32],
    session_id: Vec<u8>,
    key_share: Option<X25519KeyShare>,
    /// Hello messages before the hash is known.
    buffer: Option<TranscriptBuffer>,
    transcript: Option<Transcript>,
    hello_retry: Option<HelloRetryRequest>,
    early_data_offered: bool,
    suite: Option<&'static Tls13CipherSuite>,
    psk_accepted: bool,
    alpn: Option<Vec<u8>>,
    handshake: Option<KeyScheduleHandshake>,
    handshake_master: Option<KeyScheduleMaster>,
    client_hs_secret: Option<Secret>,
    server_hs_secret: Option<Secret>,
    client_app_secret: Option<Secret>,
    server_app_secret: Option<Secret>,
    resumption_master_secret: Option<Secret>,
    server_certs: Vec<Vec<u8>>,
    /// The middlebox-compatibility ChangeCipherSpec has been sent.
    ccs_sent: bool,
}

impl ClientState {
    pub(super) fn new(
        config: Arc<ClientConfig>,
        server_name: &str,
        session: Option<ClientSession>,
    ) -> Self {
        let session = session.or_else(|| config.external_psk.clone());
        Self {
            config,
            server_name: server_name.to_owned(),
            session,
            expect: Expect::Start,
            random: [0; 32],
            session_id: Vec::new(),
            key_share: None,
            buffer: Some(TranscriptBuffer::new()),
            transcript: None,
            hello_retry: None,
            early_data_offered: false,
            suite: None,
            psk_accepted: false,
            alpn: None,
            handshake: None,
            handshake_master: None,
            client_hs_secret: None,
            server_hs_secret: None,
            client_app_secret: None,
            server_app_secret: None,
            resumption_master_secret: None,
            server_certs: Vec::new(),
            ccs_sent: false,
        }
    }

    pub(super) fn alpn(&self) -> Option<&[u8]> {
        self.alpn.as_deref()
    }

    /// Between our ClientHello and the server's Finished.
    pub(super) fn ccs_allowed(&self) -> bool {
        !matches!(
            self.expect,
            Expect::Start | Expect::ClientFinishedPending | Expect::Traffic
        )
    }

    /// Why write_early_data may not send early data with this session, checked before
    /// anything is sent (OpenSSL fails SSL_write_early_data for the same reasons).
    fn early_data_refusal(&self, now: Timestamp) -> Option<ApiMisuse> {
        let Some(session) = self.session.as_ref() else {
            return Some(ApiMisuse::SessionDoesNotAllowEarlyData);
        };
        if session.is_expired(now) {
            return Some(ApiMisuse::SessionExpired);
        }
        if session.max_early_data() == 0 || self.psk_suite().is_none() {
            return Some(ApiMisuse::SessionDoesNotAllowEarlyData);
        }
        // RFC 9846 4.7.1 (same SNI) and OpenSSL's SSL_R_INCONSISTENT_EARLY_DATA_SNI: a
        // server does not accept early data for another name than the session's.
        let other_name = session
            .server_name
            .as_deref()
            .is_some_and(|n| n != self.server_name);
        if other_name || self.session_not_offerable(now).is_some() {
            return Some(ApiMisuse::InconsistentEarlyDataSni);
        }
        // RFC 9846 4.3.10: the server checks "The selected ALPN protocol" against the
        // session's; OpenSSL's SSL_R_INCONSISTENT_EARLY_DATA_ALPN.
        if let Some(alpn) = &session.alpn {
            if !self.config.alpn_protocols.contains(alpn) {
                return Some(ApiMisuse::InconsistentEarlyDataAlpn);
            }
        }
        None
    }

    /// Why the session must not be offered at all (no PSK, full handshake), if so.
    fn session_not_offerable(&self, now: Timestamp) -> Option<SessionNotOfferedReason> {
        let session = self.session.as_ref()?;
        if session.is_expired(now) {
            return Some(SessionNotOfferedReason::Expired);
        }
        // Only a trust that checks names checks them on resumption too: a pinned or
        // insecure trust never looked at the name.
        let checks_names = matches!(self.config.trust, ServerTrust::Anchors(_));
        let covered = session
            .server_cert
            .as_deref()
            .is_none_or(|cert| certificate_covers_name(cert, &self.server_name));
        if checks_names && !covered {
            return Some(SessionNotOfferedReason::CertificateDoesNotCoverServerName);
        }
        None
    }

    /// The session's suite, if it is one we offer.
    fn psk_suite(&self) -> Option<&'static Tls13CipherSuite> {
        let s = self.session.as_ref()?;
        suites::lookup(s.suite).filter(|suite| self.config.cipher_suites.contains(suite))
    }

    fn transcript(&mut self) -> Result<&mut Transcript, Error> {
        self.transcript
            .as_mut()
            .ok_or(Error::Internal("client transcript missing"))
    }
}

impl Connection {
    fn with_client<R>(
        &mut self,
        f: impl FnOnce(&mut Self, &mut ClientState) -> Result<R, Error>,
    ) -> Result<R, Error> {
        let Some(State::Client(mut c)) = self.state.take() else {
            return Err(Error::Internal("client state missing"));
        };
        let r = f(self, &mut c);
        self.state = Some(State::Client(c));
        r
    }

    pub(super) fn client_write_early_data(
        &mut self,
        data: &[u8],
        now: Timestamp,
    ) -> Result<usize, ConnError> {
        if self.handshake_complete {
            return Err(ApiMisuse::EarlyDataAfterHandshake.into());
        }
        if self.io_started && !self.early.in_progress {
            return Err(ApiMisuse::WriteEarlyDataNotFirstIo.into());
        }
        if !self.io_started {
            let (refusal, max) = match &self.state {
                Some(State::Client(c)) => (
                    c.early_data_refusal(now),
                    c.session.as_ref().map_or(0, |s| s.max_early_data()),
                ),
                _ => (Some(ApiMisuse::SessionDoesNotAllowEarlyData), 0),
            };
            if let Some(refusal) = refusal {
                return Err(refusal.into());
            }
            self.io_started = true;
            self.early.in_progress = true;
            self.early.limit = max as usize;
            let r = self.client_start(now, true);
            r.map_err(|e| self.fail(e))?;
        }
        if self.early.rejected_seen {
            // RFC 9846 4.3.10: after a HelloRetryRequest the client must not send early
            // data; after a plain rejection it would only be skipped. Refuse either way so
            // the application resends after the handshake.
            return Err(ApiMisuse::EarlyDataRejected.into());
        }
        let remaining = self.early.limit - self.early.bytes;
        if data.len() > remaining {
            return Err(ApiMisuse::EarlyDataLimitExceeded { remaining }.into());
        }
        let r = self.rl.send_application_data(data, &mut self.events);
        r.map_err(|e| self.fail(e))?;
        self.early.bytes += data.len();
        self.events.push(Event::EarlyDataWritten {
            bytes: data.len(),
            total: self.early.bytes,
        });
        // Reading may be interleaved from here on (the man page).
        let r = self.drive(now);
        r?;
        Ok(data.len())
    }

    /// Sends the first ClientHello if it has not been sent. `with_early_data` is true only
    /// from the first write_early_data.
    pub(super) fn client_start(
        &mut self,
        now: Timestamp,
        with_early_data: bool,
    ) -> Result<(), Error> {
        if !matches!(&self.state, Some(State::Client(c)) if c.expect == Expect::Start) {
            return Ok(());
        }
        self.io_started = true;
        self.with_client(|conn, c| {
            if let Some(reason) = c.session_not_offerable(now) {
                c.session = None;
                conn.events.push(Event::SessionNotOffered { reason });
            }
            c.random = crate::rand::array(conn.rng.as_mut());
            if c.config.middlebox_compat {
                c.session_id = crate::rand::array::<32>(conn.rng.as_mut()).to_vec();
            }
            c.key_share = Some(X25519KeyShare::generate_memo(
                conn.rng.as_mut(),
                c.config.public_key_memo.as_deref(),
            ));
            c.early_data_offered = with_early_data;
            let raw = conn.client_hello(c, now)?;
            conn.events
                .push(Event::HandshakeSent(HandshakeType::ClientHello));
            conn.rl.send_handshake(&raw, &mut conn.events)?;
            if let Some(b) = c.buffer.as_mut() {
                b.add(&raw);
            }
            if with_early_data {
                let suite = c
                    .psk_suite()
                    .ok_or(Error::Internal("early data without PSK suite"))?;
                let session = c.session.as_ref().ok_or(Error::Internal("no session"))?;
                conn.early.status = Some(EarlyDataStatus::Rejected);
                conn.events.push(Event::EarlyDataOffered {
                    max_early_data: session.max_early_data(),
                });
                let early = KeyScheduleEarly::new(suite.hash, Some(&session.psk));
                let ch_hash = suite.hash.hash(&raw);
                let secret = early.client_early_traffic_secret(&ch_hash);
                conn.log_secret(KeyLogLabel::ClientEarlyTrafficSecret, &c.random, &secret);
                conn.log_secret(
                    KeyLogLabel::EarlyExporterSecret,
                    &c.random,
                    &early.early_exporter_master_secret(&ch_hash),
                );
                // RFC 9846 E.4: in compatibility mode the CCS goes right after the first
                // ClientHello when early data follows.
                if c.config.middlebox_compat {
                    conn.rl.send_ccs(&mut conn.events);
                    c.ccs_sent = true;
                }
                conn.rl.set_encrypter(KeyEpoch::Early, suite, &secret)?;
            }
            c.expect = Expect::ServerHello;
            conn.events.push(Event::StateEntered(c.expect.name()));
            Ok(())
        })
    }

    /// Builds and encodes a ClientHello (the first, or the second after `c.hello_retry`),
    /// computing the PSK binder over the truncated message (RFC 9846 4.3.11.2).
    fn client_hello(&mut self, c: &mut ClientState, now: Timestamp) -> Result<Vec<u8>, Error> {
        let key_share = c
            .key_share
            .as_ref()
            .ok_or(Error::Internal("no key share"))?;
        let mut exts = vec![
            ClientExtension::ServerName(vec![ServerNameEntry {
                typ: ServerNameType::HostName,
                name: c.server_name.as_bytes().to_vec(),
            }]),
            ClientExtension::SupportedGroups(vec![NamedGroup::X25519]),
            ClientExtension::SignatureAlgorithms(crate::verify::OFFERED_SIGNATURE_SCHEMES.to_vec()),
        ];
        if !c.config.alpn_protocols.is_empty() {
            exts.push(ClientExtension::Alpn(c.config.alpn_protocols.clone()));
        }
        exts.push(ClientExtension::SupportedVersions(vec![
            ProtocolVersion::Tls13,
        ]));
        exts.push(ClientExtension::KeyShare(vec![KeyShareEntry {
            group: NamedGroup::X25519,
            payload: key_share.public_key().to_vec(),
        }]));
        if let Some(cookie) = c.hello_retry.as_ref().and_then(|h| h.cookie()) {
            exts.push(ClientExtension::Cookie(cookie.to_vec()));
        }
        let psk_suite = c.psk_suite();
        // After HRR the PSK must match the HRR's hash (RFC 9846 4.2.4).
        let psk_suite = match (&c.hello_retry, psk_suite) {
            (Some(hrr), Some(s)) => suites::lookup(hrr.cipher_suite)
                .filter(|h| h.hash == s.hash)
                .map(|_| s),
            (_, s) => s,
        };
        // Always, not only with a PSK: RFC 9846 4.7.1, a server sends NewSessionTicket only
        // "If the client's hello contained a suitable psk_key_exchange_modes extension"
        // (rustls sends no ticket otherwise).
        exts.push(ClientExtension::PskKeyExchangeModes(vec![
            PskKeyExchangeMode::PskDheKe,
        ]));
        // RFC 9846 4.3.10: never in the ClientHello that follows an HRR.
        if c.early_data_offered && c.hello_retry.is_none() {
            exts.push(ClientExtension::EarlyData);
        }
        if let (Some(suite), Some(session)) = (psk_suite, c.session.as_ref()) {
            let hash_len = suite.hash.output_len();
            exts.push(ClientExtension::PreSharedKey(PresharedKeyOffer {
                identities: vec![PresharedKeyIdentity {
                    identity: session.ticket.clone(),
                    obfuscated_ticket_age: session.obfuscated_ticket_age(now),
                }],
                binders: vec![vec![0u8; hash_len]],
            }));
        }
        let suites_offered: Vec<CipherSuite> =
            c.config.cipher_suites.iter().map(|s| s.suite).collect();
        let mut ch = ClientHello {
            legacy_version: ProtocolVersion::Tls12,
            random: c.random,
            legacy_session_id: c.session_id.clone(),
            cipher_suites: suites_offered,
            legacy_compression_methods: vec![0],
            extensions: exts,
        };
        if let (Some(suite), Some(session)) = (psk_suite, c.session.as_ref()) {
            let encoded =
                HandshakeMessage::new(HandshakePayload::ClientHello(ch.clone())).get_encoding();
            let truncated = truncate_for_binders(&encoded, ch.binders_len())
                .ok_or(Error::Internal("binder truncation"))?;
            let hash = match &c.transcript {
                // ClientHello2: message_hash(CH1) || HRR || truncated CH2.
                Some(t) => t.hash_with(truncated),
                None => suite.hash.hash(truncated),
            };
            let kind = match session.kind {
                PskKind::External => BinderKind::External,
                PskKind::Resumption => BinderKind::Resumption,
            };
            let binder =
                KeyScheduleEarly::new(suite.hash, Some(&session.psk)).psk_binder(kind, &hash);
            ch.set_binders(vec![binder.as_ref().to_vec()]);
        }
        Ok(HandshakeMessage::new(HandshakePayload::ClientHello(ch)).get_encoding())
    }

    /// The application is done with early data (do_handshake, write or read outside the
    /// early phase): send EndOfEarlyData and Finished if the server's flight is in.
    pub(super) fn client_finish_early_phase(&mut self, now: Timestamp) -> Result<(), ConnError> {
        let r = self.client_start(now, false);
        r.map_err(|e| self.fail(e))?;
        self.early.in_progress = false;
        if matches!(&self.state, Some(State::Client(c)) if c.expect == Expect::ClientFinishedPending)
        {
            let r = self.with_client(|conn, c| conn.client_send_finished(c));
            r.map_err(|e| self.fail(e))?;
        }
        Ok(())
    }

    pub(super) fn client_handle(
        &mut self,
        mut c: Box<ClientState>,
        msg: HandshakeMessage,
        raw: Vec<u8>,
        epoch: KeyEpoch,
        now: Timestamp,
    ) -> Result<Box<ClientState>, Error> {
        let expected = c.expect;
        let events_before = self.events.len();
        let unexpected = |expected: &'static str| Error::InappropriateHandshakeMessage {
            expected,
            got: msg.typ,
        };
        match (expected, msg.payload) {
            (Expect::ServerHello, HandshakePayload::HelloRetryRequest(hrr)) => {
                self.client_hello_retry(&mut c, hrr, &raw, now)?;
            }
            (Expect::ServerHello, HandshakePayload::ServerHello(sh)) => {
                self.client_server_hello(&mut c, sh, &raw)?;
            }
            (Expect::ServerHello, _) => return Err(unexpected("ServerHello")),
            (Expect::EncryptedExtensions, HandshakePayload::EncryptedExtensions(ee)) => {
                self.client_encrypted_extensions(&mut c, &ee)?;
                c.transcript()?.add(&raw);
                c.expect = if c.psk_accepted {
                    Expect::Finished
                } else {
                    Expect::Certificate
                };
            }
            (Expect::EncryptedExtensions, _) => return Err(unexpected("EncryptedExtensions")),
            (Expect::Certificate, HandshakePayload::Certificate(cert)) => {
                // RFC 9846 4.5.1: the server's certificate_request_context is empty.
                if !cert.context.is_empty() {
                    return Err(
                        PeerMisbehaved::IllegalParameter("certificate_request_context").into(),
                    );
                }
                c.server_certs = cert.entries.into_iter().map(|e| e.cert_data).collect();
                let memo = c.config.public_key_memo.as_deref();
                verify_server_cert_memo(
                    &c.config.trust,
                    &c.server_certs,
                    &c.server_name,
                    now,
                    memo,
                )
                .map_err(|e| Error::Certificate {
                    alert: e.alert(),
                    reason: e.to_string(),
                })?;
                c.transcript()?.add(&raw);
                c.expect = Expect::CertificateVerify;
            }
            (Expect::Certificate, _) => return Err(unexpected("Certificate")),
            (Expect::CertificateVerify, HandshakePayload::CertificateVerify(cv)) => {
                let hash = c.transcript()?.current_hash();
                let message = certificate_verify_message(true, hash.as_ref());
                let leaf = c.server_certs.first().ok_or(Error::Internal("no leaf"))?;
                let memo = c.config.public_key_memo.as_deref();
                verify_certificate_verify_memo(leaf, cv.scheme, &message, &cv.signature, memo)
                    .map_err(|e| Error::Certificate {
                        alert: e.alert(),
                        reason: e.to_string(),
                    })?;
                c.transcript()?.add(&raw);
                c.expect = Expect::Finished;
            }
            (Expect::CertificateVerify, _) => return Err(unexpected("CertificateVerify")),
            (Expect::Finished, HandshakePayload::Finished(vd)) => {
                self.client_server_finished(&mut c, &vd, &raw)?;
            }
            (Expect::Finished, _) => return Err(unexpected("Finished")),
            (Expect::Traffic, HandshakePayload::NewSessionTicket(nst)) => {
                self.client_new_session_ticket(&c, nst, now)?;
            }
            (Expect::Traffic, HandshakePayload::KeyUpdate(req)) => {
                self.key_update_received(
                    &mut c.server_app_secret,
                    &mut c.client_app_secret,
                    req,
                    c.suite,
                    epoch,
                )?;
            }
            (Expect::Traffic, _) => return Err(unexpected("NewSessionTicket or KeyUpdate")),
            (Expect::ClientFinishedPending, _) => {
                return Err(unexpected("nothing before the client Finished"))
            }
            (Expect::Start, _) => return Err(unexpected("nothing before the ClientHello")),
        }
        // Once per state: client_send_finished, called from here, reports ExpectTraffic.
        let entered = Event::StateEntered(c.expect.name());
        if c.expect != expected && !self.events[events_before..].contains(&entered) {
            self.events.push(entered);
        }
        Ok(c)
    }

    fn client_hello_retry(
        &mut self,
        c: &mut ClientState,
        hrr: HelloRetryRequest,
        raw: &[u8],
        now: Timestamp,
    ) -> Result<(), Error> {
        // RFC 9846 4.2.4: at most one HRR, and it must change something.
        if c.hello_retry.is_some() {
            return Err(PeerMisbehaved::IllegalHelloRetryRequest.into());
        }
        if hrr.selected_version() != Some(ProtocolVersion::Tls13) {
            return Err(PeerMisbehaved::UnsupportedProtocolVersion.into());
        }
        let suite = suites::lookup(hrr.cipher_suite)
            .filter(|s| c.config.cipher_suites.contains(s))
            .ok_or(PeerMisbehaved::IllegalParameter(
                "HelloRetryRequest cipher suite",
            ))?;
        match (hrr.selected_group(), hrr.cookie()) {
            // RFC 9846 4.3.8: the client "MUST verify that (1) the selected_group field
            // corresponds to a group which was provided in the supported_groups extension
            // [...] and (2) [...] does not correspond to a group which was provided in the
            // key_share extension [...] If either of these checks fails, then the client
            // MUST abort the handshake with an illegal_parameter alert." We offer only
            // X25519 and always send its share, so any selected_group fails one check,
            // with or without a cookie.
            (Some(_), _) => {
                return Err(
                    PeerMisbehaved::IllegalParameter("HelloRetryRequest selected_group").into(),
                )
            }
            (None, Some(_)) => {}
            // RFC 9846 4.1.4: an HRR that would not change the ClientHello.
            (None, None) => return Err(PeerMisbehaved::IllegalHelloRetryRequest.into()),
        }
        self.events.push(Event::HelloRetryRequest);
        if c.early_data_offered {
            // RFC 9846 4.3.10: early data is rejected after HRR; stop sending it.
            self.early.rejected_seen = true;
            self.early.status = Some(EarlyDataStatus::Rejected);
            self.events.push(Event::EarlyDataRejected {
                reason: EarlyDataRejectReason::HelloRetryRequest,
            });
            self.rl.clear_encrypter();
        }
        let buffer = c
            .buffer
            .take()
            .ok_or(Error::Internal("client hello buffer"))?;
        let mut transcript = buffer.start_hash(suite.hash).into_hello_retry_transcript();
        transcript.add(raw);
        c.transcript = Some(transcript);
        c.hello_retry = Some(hrr);
        if c.config.middlebox_compat && !c.ccs_sent {
            self.rl.send_ccs(&mut self.events);
            c.ccs_sent = true;
        }
        let ch2 = self.client_hello(c, now)?;
        self.events
            .push(Event::HandshakeSent(HandshakeType::ClientHello));
        self.rl.send_handshake(&ch2, &mut self.events)?;
        c.transcript()?.add(&ch2);
        Ok(())
    }

    fn client_server_hello(
        &mut self,
        c: &mut ClientState,
        sh: ServerHello,
        raw: &[u8],
    ) -> Result<(), Error> {
        // RFC 9846 E.3 / SSL_read_early_data(3) NOTES: a server that answers with TLS 1.2
        // after we sent early data makes the connection fail; the application retries
        // without early data.
        if sh.selected_version() != Some(ProtocolVersion::Tls13) {
            return Err(if c.early_data_offered {
                PeerMisbehaved::DowngradeAfterEarlyData
            } else {
                PeerMisbehaved::UnsupportedProtocolVersion
            }
            .into());
        }
        if sh.legacy_session_id_echo != c.session_id {
            return Err(PeerMisbehaved::IllegalParameter("legacy_session_id_echo").into());
        }
        let suite = suites::lookup(sh.cipher_suite)
            .filter(|s| c.config.cipher_suites.contains(s))
            .ok_or(PeerMisbehaved::IllegalParameter("ServerHello cipher suite"))?;
        if let Some(hrr) = &c.hello_retry {
            if hrr.cipher_suite != sh.cipher_suite {
                return Err(PeerMisbehaved::IllegalParameter("suite changed after HRR").into());
            }
        }
        let share = sh
            .key_share()
            .filter(|k| k.group == NamedGroup::X25519)
            .ok_or(PeerMisbehaved::MissingExtension(ExtensionType::KeyShare))?;
        let shared = c
            .key_share
            .as_ref()
            .ok_or(Error::Internal("no key share"))?
            .agree_memo(&share.payload, c.config.public_key_memo.as_deref())?;
        let offered_psk = c.psk_suite().is_some() && c.session.is_some();
        let psk = match sh.selected_psk_identity() {
            None => None,
            Some(0) if offered_psk => {
                let session = c.session.as_ref().ok_or(Error::Internal("no session"))?;
                // RFC 9846 4.3.11: the PSK's hash must match the negotiated suite's.
                if suites::lookup(session.suite).map(|s| s.hash) != Some(suite.hash) {
                    return Err(
                        PeerMisbehaved::IllegalParameter("PSK hash differs from suite").into(),
                    );
                }
                Some(session.psk.clone())
            }
            Some(_) => return Err(PeerMisbehaved::SelectedUnofferedPsk.into()),
        };
        c.psk_accepted = psk.is_some();
        c.suite = Some(suite);
        let mut transcript = match c.transcript.take() {
            Some(t) => t,
            None => c
                .buffer
                .take()
                .ok_or(Error::Internal("client hello buffer"))?
                .start_hash(suite.hash),
        };
        transcript.add(raw);
        let hello_hash = transcript.current_hash();
        c.transcript = Some(transcript);
        let hs =
            KeyScheduleEarly::new(suite.hash, psk.as_deref()).into_handshake(Some(shared.as_ref()));
        let client_hs = hs.client_handshake_traffic_secret(&hello_hash);
        let server_hs = hs.server_handshake_traffic_secret(&hello_hash);
        self.log_secret(
            KeyLogLabel::ClientHandshakeTrafficSecret,
            &c.random,
            &client_hs,
        );
        self.log_secret(
            KeyLogLabel::ServerHandshakeTrafficSecret,
            &c.random,
            &server_hs,
        );
        self.rl
            .set_decrypter(KeyEpoch::Handshake, suite, &server_hs)?;
        c.client_hs_secret = Some(client_hs);
        c.server_hs_secret = Some(server_hs);
        c.handshake = Some(hs);
        c.expect = Expect::EncryptedExtensions;
        Ok(())
    }

    fn client_encrypted_extensions(
        &mut self,
        c: &mut ClientState,
        ee: &[crate::msgs::extensions::ServerExtension],
    ) -> Result<(), Error> {
        for ext in ee {
            // RFC 9846 4.3: these belong in ServerHello only.
            if matches!(
                ext.ext_type(),
                ExtensionType::KeyShare
                    | ExtensionType::PreSharedKey
                    | ExtensionType::SupportedVersions
            ) {
                return Err(PeerMisbehaved::IllegalParameter(
                    "extension not allowed in EncryptedExtensions",
                )
                .into());
            }
        }
        if let Some(proto) = ee.alpn_protocol() {
            if !c.config.alpn_protocols.iter().any(|p| p == proto) {
                return Err(PeerMisbehaved::UnsolicitedExtension(ExtensionType::Alpn).into());
            }
            c.alpn = Some(proto.to_vec());
        }
        if ee.early_data_accepted() {
            // RFC 9846 4.3 and 4.2.11: an extension we did not offer, or an acceptance
            // that breaks the 0-RTT rules.
            if c.hello_retry.is_some() && c.early_data_offered {
                return Err(PeerMisbehaved::EarlyDataAcceptedAfterHelloRetryRequest.into());
            }
            if !c.early_data_offered {
                return Err(PeerMisbehaved::EarlyDataAcceptedButNotOffered.into());
            }
            if !c.psk_accepted {
                return Err(PeerMisbehaved::EarlyDataAcceptedWithOtherIdentity.into());
            }
            let session = c.session.as_ref().ok_or(Error::Internal("no session"))?;
            if Some(session.suite) != c.suite.map(|s| s.suite) {
                return Err(PeerMisbehaved::EarlyDataAcceptedWithOtherCipherSuite.into());
            }
            if session.alpn != c.alpn {
                return Err(PeerMisbehaved::EarlyDataAcceptedWithOtherAlpn.into());
            }
            self.early.status = Some(EarlyDataStatus::Accepted);
            self.events.push(Event::EarlyDataAccepted {
                limit: session.max_early_data(),
            });
        } else if c.early_data_offered && !self.early.rejected_seen {
            self.early.rejected_seen = true;
            self.early.status = Some(
                if crate::planted::active(crate::planted::Bug::ClientAcceptedAfterReject) {
                    EarlyDataStatus::Accepted
                } else {
                    EarlyDataStatus::Rejected
                },
            );
            let reason = if c.psk_accepted {
                EarlyDataRejectReason::ServerDeclined
            } else {
                EarlyDataRejectReason::NoPskAccepted
            };
            // The client cannot know the server's reason; report what it can infer.
            self.events.push(Event::EarlyDataRejected { reason });
        }
        Ok(())
    }

    fn client_server_finished(
        &mut self,
        c: &mut ClientState,
        vd: &[u8],
        raw: &[u8],
    ) -> Result<(), Error> {
        let suite = c.suite.ok_or(Error::Internal("no suite"))?;
        let hash = c.transcript()?.current_hash();
        let server_hs = c
            .server_hs_secret
            .as_ref()
            .ok_or(Error::Internal("no server hs secret"))?;
        verify_finished(server_hs, &hash, vd).map_err(|_| PeerMisbehaved::IncorrectFinished)?;
        c.transcript()?.add(raw);
        let finished_hash = c.transcript()?.current_hash();
        let master = c
            .handshake
            .take()
            .ok_or(Error::Internal("no handshake schedule"))?
            .into_master();
        let client_app = master.client_application_traffic_secret_0(&finished_hash);
        let server_app = master.server_application_traffic_secret_0(&finished_hash);
        self.log_secret(KeyLogLabel::ClientTrafficSecret0, &c.random, &client_app);
        self.log_secret(KeyLogLabel::ServerTrafficSecret0, &c.random, &server_app);
        self.log_secret(
            KeyLogLabel::ExporterSecret,
            &c.random,
            &master.exporter_master_secret(&finished_hash),
        );
        self.rl
            .set_decrypter(KeyEpoch::Application, suite, &server_app)?;
        c.client_app_secret = Some(client_app);
        c.server_app_secret = Some(server_app);
        c.handshake_master = Some(master);
        c.expect = Expect::ClientFinishedPending;
        if !self.early.in_progress {
            self.client_send_finished(c)?;
        }
        Ok(())
    }

    /// EndOfEarlyData (only if accepted), [CCS], Finished; then application keys.
    fn client_send_finished(&mut self, c: &mut ClientState) -> Result<(), Error> {
        let suite = c.suite.ok_or(Error::Internal("no suite"))?;
        if self.early.status == Some(EarlyDataStatus::Accepted) {
            // RFC 9846 4.7: EndOfEarlyData under the 0-RTT keys, then the handshake keys.
            let eoed = HandshakeMessage::new(HandshakePayload::EndOfEarlyData).get_encoding();
            self.events
                .push(Event::HandshakeSent(HandshakeType::EndOfEarlyData));
            self.rl.send_handshake(&eoed, &mut self.events)?;
            c.transcript()?.add(&eoed);
        }
        if c.config.middlebox_compat && !c.ccs_sent {
            self.rl.send_ccs(&mut self.events);
            c.ccs_sent = true;
        }
        let hash = c.transcript()?.current_hash();
        let client_hs = c
            .client_hs_secret
            .as_ref()
            .ok_or(Error::Internal("no client hs secret"))?;
        self.rl
            .set_encrypter(KeyEpoch::Handshake, suite, client_hs)?;
        let fin = HandshakeMessage::new(HandshakePayload::Finished(
            verify_data(client_hs, &hash).as_ref().to_vec(),
        ))
        .get_encoding();
        self.events
            .push(Event::HandshakeSent(HandshakeType::Finished));
        self.rl.send_handshake(&fin, &mut self.events)?;
        c.transcript()?.add(&fin);
        let client_app = c
            .client_app_secret
            .as_ref()
            .ok_or(Error::Internal("no client app secret"))?;
        self.rl
            .set_encrypter(KeyEpoch::Application, suite, client_app)?;
        let hash = c.transcript()?.current_hash();
        let master = c
            .handshake_master
            .as_ref()
            .ok_or(Error::Internal("no master schedule"))?;
        c.resumption_master_secret = Some(master.resumption_master_secret(&hash));
        c.expect = Expect::Traffic;
        self.events.push(Event::StateEntered(c.expect.name()));
        self.early.in_progress = false;
        self.handshake_complete = true;
        self.events.push(Event::HandshakeComplete {
            suite: suite.suite,
            resumed: c.psk_accepted,
        });
        Ok(())
    }

    fn client_new_session_ticket(
        &mut self,
        c: &ClientState,
        nst: NewSessionTicket,
        now: Timestamp,
    ) -> Result<(), Error> {
        let suite = c.suite.ok_or(Error::Internal("no suite"))?;
        let rms = c
            .resumption_master_secret
            .as_ref()
            .ok_or(Error::Internal("no resumption secret"))?;
        let psk = crate::crypto::key_schedule::resumption_psk(rms, &nst.nonce)?;
        let mut session = ClientSession::resumption(
            suite.suite,
            nst.ticket.clone(),
            psk.as_bytes().to_vec(),
            nst.age_add,
            nst.lifetime,
            now,
        );
        let max = nst.max_early_data_size().unwrap_or(0);
        session.set_max_early_data(max);
        session.alpn = c.alpn.clone();
        session.server_name = Some(c.server_name.clone());
        // The certificate of this handshake, or, when it resumed, of the one it descends
        // from (RFC 9846 4.7.1 checks a new name against "the original session").
        // (No Certificate message means the handshake resumed `c.session`.)
        session.server_cert = c
            .server_certs
            .first()
            .cloned()
            .or_else(|| c.session.as_ref().and_then(|s| s.server_cert.clone()));
        self.events.push(Event::TicketIssued {
            ticket_id: super::events::ticket_id(&nst.ticket),
            max_early_data: max,
        });
        // RFC 9846 4.7.1: a lifetime of zero means the ticket must not be used.
        if nst.lifetime > 0 {
            self.new_sessions.push(session);
        }
        Ok(())
    }

    pub(super) fn log_secret(
        &mut self,
        label: KeyLogLabel,
        client_random: &[u8; 32],
        secret: &Secret,
    ) {
        self.events.push(Event::SecretDerived(
            crate::crypto::keylog::KeyLogEntry::new(
                label,
                *client_random,
                secret.as_bytes().to_vec(),
            ),
        ));
    }

    /// RFC 9846 4.7.3: a KeyUpdate changes the peer's sending keys; if asked, we update
    /// ours too (once, however many requests arrive before we send).
    pub(super) fn key_update_received(
        &mut self,
        peer_secret: &mut Option<Secret>,
        own_secret: &mut Option<Secret>,
        req: crate::msgs::enums::KeyUpdateRequest,
        suite: Option<&'static Tls13CipherSuite>,
        _epoch: KeyEpoch,
    ) -> Result<(), Error> {
        use crate::msgs::enums::KeyUpdateRequest as K;
        let suite = suite.ok_or(Error::Internal("no suite"))?;
        let next = crate::crypto::key_schedule::next_application_traffic_secret(
            peer_secret
                .as_ref()
                .ok_or(Error::Internal("no peer secret"))?,
        );
        self.rl.set_decrypter(KeyEpoch::Application, suite, &next)?;
        *peer_secret = Some(next);
        match req {
            K::UpdateNotRequested => {}
            K::UpdateRequested => {
                let ku = HandshakeMessage::new(HandshakePayload::KeyUpdate(K::UpdateNotRequested))
                    .get_encoding();
                self.events
                    .push(Event::HandshakeSent(HandshakeType::KeyUpdate));
                self.rl.send_handshake(&ku, &mut self.events)?;
                let own = crate::crypto::key_schedule::next_application_traffic_secret(
                    own_secret
                        .as_ref()
                        .ok_or(Error::Internal("no own secret"))?,
                );
                self.rl.set_encrypter(KeyEpoch::Application, suite, &own)?;
                *own_secret = Some(own);
            }
            K::Unknown(_) => {
                return Err(PeerMisbehaved::IllegalParameter("KeyUpdateRequest").into())
            }
        }
        Ok(())
    }
}
