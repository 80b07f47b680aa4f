//! The server half of the handshake with OpenSSL's server-side early data rules
//! (SSL_read_early_data(3)): PSK selection, the early data decision, skipping rejected
//! early data, 0.5-RTT data, EndOfEarlyData, and ticket issuance.

use super::config::{EarlyDataCallbackInfo, HelloRetryPolicy, TicketKind};
use super::decide::{decide_early_data, EarlyDataFacts, LibraryDecision, StrikeFact};
use super::events::{ticket_id, EarlyDataRejectReason, Event, KeyEpoch, PskRejectReason};
use super::{ApiMisuse, ConnError, Connection, EarlyDataStatus, ServerConfig};
use crate::codec::Codec;
use crate::crypto::hash::{Transcript, TranscriptBuffer};
use crate::crypto::key_schedule::{
    resumption_psk, verify_data, verify_finished, KeyScheduleEarly, KeyScheduleMaster,
    PskKind as BinderKind, Secret,
};
use crate::crypto::keylog::KeyLogLabel;
use crate::crypto::kx::X25519KeyShare;
use crate::crypto::sign::certificate_verify_message;
use crate::crypto::suites::{self, Tls13CipherSuite};
use crate::error::{Error, PeerMisbehaved};
use crate::msgs::enums::{
    ExtensionType, HandshakeType, NamedGroup, ProtocolVersion, PskKeyExchangeMode,
};
use crate::msgs::extensions::{
    CertificateExtension, HelloRetryExtension, KeyShareEntry, NewSessionTicketExtension,
    ServerExtension,
};
use crate::msgs::handshake::{
    truncate_for_binders, CertificateEntry, CertificatePayload, CertificateVerify, ClientHello,
    HandshakeMessage, HandshakePayload, HelloRetryRequest, NewSessionTicket, ServerHello,
};
use crate::planted::{self, Bug};
use crate::tickets::freshness::check_freshness;
use crate::tickets::session::ServerSessionValue;
use crate::tickets::strike::StrikeVerdict;
use crate::time::Timestamp;
use std::sync::Arc;

/// Where the server is: one variant per expected message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Expect {
    ClientHello,
    /// After a HelloRetryRequest; application_data records before it are skipped.
    SecondClientHello,
    /// Accepted early data until EndOfEarlyData.
    EarlyData,
    Finished,
    Traffic,
}

impl Expect {
    fn name(self) -> &'static str {
        match self {
            Self::ClientHello => "ExpectClientHello",
            Self::SecondClientHello => "ExpectSecondClientHello",
            Self::EarlyData => "ExpectEarlyData",
            Self::Finished => "ExpectFinished",
            Self::Traffic => "ExpectTraffic",
        }
    }
}

/// The PSK the server chose.
struct ChosenPsk {
    index: u16,
    value: ServerSessionValue,
    external: bool,
    binder: Vec<u8>,
    obfuscated_ticket_age: u32,
}

pub(super) struct ServerState {
    config: Arc<ServerConfig>,
    pub(super) expect: Expect,
    transcript: Option<Transcript>,
    suite: Option<&'static Tls13CipherSuite>,
    client_random: [u8; 32],
    alpn: Option<Vec<u8>>,
    server_name: Option<String>,
    hello_retry: Option<HelloRetryRequest>,
    cookie: Option<Vec<u8>>,
    resumed: bool,
    ccs_sent: bool,
    client_hs_secret: Option<Secret>,
    client_app_secret: Option<Secret>,
    server_app_secret: Option<Secret>,
    master: Option<KeyScheduleMaster>,
    tickets_issued: u64,
    /// The ClientHello offered psk_dhe_ke, the only mode we resume with: tickets are sent
    /// only then (RFC 9846 4.3.9: "Servers SHOULD NOT send NewSessionTicket with tickets
    /// that are not compatible with the advertised modes").
    psk_dhe_ke_offered: bool,
}

impl ServerState {
    pub(super) fn new(config: Arc<ServerConfig>) -> Self {
        Self {
            config,
            expect: Expect::ClientHello,
            transcript: None,
            suite: None,
            client_random: [0; 32],
            alpn: None,
            server_name: None,
            hello_retry: None,
            cookie: None,
            resumed: false,
            ccs_sent: false,
            client_hs_secret: None,
            client_app_secret: None,
            server_app_secret: None,
            master: None,
            tickets_issued: 0,
            psk_dhe_ke_offered: false,
        }
    }

    pub(super) fn alpn(&self) -> Option<&[u8]> {
        self.alpn.as_deref()
    }

    /// Between the client's first ClientHello and its Finished.
    pub(super) fn ccs_allowed(&self) -> bool {
        !matches!(self.expect, Expect::ClientHello | Expect::Traffic)
    }

    fn transcript(&mut self) -> Result<&mut Transcript, Error> {
        self.transcript
            .as_mut()
            .ok_or(Error::Internal("server transcript missing"))
    }
}

impl Connection {
    /// 0.5-RTT data: "Once the initial SSL_read_early_data() call has completed
    /// successfully ... the server may choose to write data immediately to the
    /// unauthenticated client using SSL_write_early_data()".
    pub(super) fn server_write_early_data(
        &mut self,
        data: &[u8],
        _now: Timestamp,
    ) -> Result<usize, ConnError> {
        if !self.early.read_returned {
            return Err(ApiMisuse::WriteEarlyDataBeforeReadEarlyData.into());
        }
        if self.handshake_complete {
            return Err(ApiMisuse::EarlyDataAfterHandshake.into());
        }
        let r = self.rl.send_application_data(data, &mut self.events);
        r.map_err(|e| self.fail(e))?;
        self.events
            .push(Event::ApplicationDataWritten { bytes: data.len() });
        Ok(data.len())
    }

    /// Accepted early data, counted cumulatively over every record whatever the
    /// application has read: "The amount of data that is accepted will always be the
    /// lower of the max_early_data for the session and the recv_max_early_data setting
    /// for the server. If a client sends more data than this then the connection will
    /// abort."
    pub(super) fn server_accept_early_data(&mut self, content: Vec<u8>) -> Result<(), Error> {
        if self.early.finished {
            return Err(PeerMisbehaved::EarlyDataAfterEndOfEarlyData.into());
        }
        self.early.bytes = self.early.bytes.saturating_add(content.len());
        let slack = usize::from(planted::active(Bug::RecvMaxOffByOne));
        if self.early.bytes > self.early.limit + slack {
            return Err(PeerMisbehaved::TooMuchEarlyData.into());
        }
        self.events.push(Event::EarlyDataReceived {
            bytes: content.len(),
            total: self.early.bytes,
        });
        self.early_plaintext.extend(content);
        Ok(())
    }

    pub(super) fn server_handle(
        &mut self,
        mut s: Box<ServerState>,
        msg: HandshakeMessage,
        raw: Vec<u8>,
        epoch: KeyEpoch,
        now: Timestamp,
    ) -> Result<Box<ServerState>, Error> {
        let expected = s.expect;
        let unexpected = |expected: &'static str| Error::InappropriateHandshakeMessage {
            expected,
            got: msg.typ,
        };
        match (expected, msg.payload) {
            (
                Expect::ClientHello | Expect::SecondClientHello,
                HandshakePayload::ClientHello(ch),
            ) => {
                self.server_client_hello(&mut s, ch, &raw, now)?;
            }
            (Expect::ClientHello | Expect::SecondClientHello, _) => {
                return Err(unexpected("ClientHello"))
            }
            (Expect::EarlyData, HandshakePayload::EndOfEarlyData) if epoch == KeyEpoch::Early => {
                // RFC 9846 4.7: EndOfEarlyData, under the 0-RTT keys, ends early data.
                s.transcript()?.add(&raw);
                let suite = s.suite.ok_or(Error::Internal("no suite"))?;
                let secret = s
                    .client_hs_secret
                    .as_ref()
                    .ok_or(Error::Internal("no client hs"))?;
                self.rl.set_decrypter(KeyEpoch::Handshake, suite, secret)?;
                self.early.finished = true;
                s.expect = Expect::Finished;
            }
            (Expect::EarlyData, _) => return Err(unexpected("EndOfEarlyData")),
            (Expect::Finished, HandshakePayload::Finished(vd)) if epoch == KeyEpoch::Handshake => {
                self.server_client_finished(&mut s, &vd, &raw, now)?;
            }
            (Expect::Finished, _) => return Err(unexpected("Finished")),
            (Expect::Traffic, HandshakePayload::KeyUpdate(req)) => {
                let suite = s.suite;
                self.key_update_received(
                    &mut s.client_app_secret,
                    &mut s.server_app_secret,
                    req,
                    suite,
                    epoch,
                )?;
            }
            (Expect::Traffic, _) => return Err(unexpected("KeyUpdate")),
        }
        if s.expect != expected {
            self.events.push(Event::StateEntered(s.expect.name()));
        }
        Ok(s)
    }

    fn server_client_hello(
        &mut self,
        s: &mut ServerState,
        ch: ClientHello,
        raw: &[u8],
        now: Timestamp,
    ) -> Result<(), Error> {
        let second = s.expect == Expect::SecondClientHello;
        // RFC 9846 4.3.2: we speak TLS 1.3 only; a client without it gets protocol_version.
        if !ch
            .supported_versions()
            .is_some_and(|v| v.contains(&ProtocolVersion::Tls13))
        {
            return Err(PeerMisbehaved::UnsupportedProtocolVersion.into());
        }
        if ch.legacy_compression_methods != [0] {
            return Err(PeerMisbehaved::IllegalParameter("legacy_compression_methods").into());
        }
        if second {
            // RFC 9846 4.3.2 / 4.3.10: ClientHello2 must not offer early data and must
            // echo the cookie.
            if ch.early_data_offered() {
                return Err(
                    PeerMisbehaved::IllegalParameter("early_data in second ClientHello").into(),
                );
            }
            if s.cookie.is_some() && ch.cookie() != s.cookie.as_deref() {
                return Err(PeerMisbehaved::IllegalParameter("cookie").into());
            }
        }
        let suite = s
            .config
            .cipher_suites
            .iter()
            .copied()
            .find(|ours| ch.cipher_suites.contains(&ours.suite))
            .ok_or(PeerMisbehaved::NoCommonParameters("cipher suite"))?;
        if let Some(hrr) = &s.hello_retry {
            if hrr.cipher_suite != suite.suite {
                return Err(PeerMisbehaved::IllegalParameter("suite changed after HRR").into());
            }
        }
        let x25519_share = ch
            .key_shares()
            .and_then(|ks| ks.iter().find(|k| k.group == NamedGroup::X25519))
            .map(|k| k.payload.clone());
        let offers_x25519 = ch
            .named_groups()
            .is_some_and(|g| g.contains(&NamedGroup::X25519));
        if !offers_x25519 {
            return Err(PeerMisbehaved::NoCommonParameters("group").into());
        }
        let needs_share = x25519_share.is_none();
        let force = s.config.hello_retry == HelloRetryPolicy::AlwaysWithCookie;
        if !second && (needs_share || force) {
            return self.server_send_hello_retry(s, &ch, raw, suite, needs_share, force);
        }
        let peer_share = x25519_share.ok_or(PeerMisbehaved::IllegalParameter(
            "no X25519 key share after HRR",
        ))?;
        s.client_random = ch.random;
        s.suite = Some(suite);
        s.psk_dhe_ke_offered = ch
            .psk_modes()
            .is_some_and(|m| m.contains(&PskKeyExchangeMode::PskDheKe));
        s.server_name = ch
            .server_name()
            .map(|n| String::from_utf8_lossy(n).into_owned());
        // ALPN (RFC 7301 3.2): the server's preference among the client's offers.
        s.alpn = match ch.alpn_protocols() {
            Some(offered) if !s.config.alpn_protocols.is_empty() => Some(
                s.config
                    .alpn_protocols
                    .iter()
                    .find(|p| offered.contains(p))
                    .cloned()
                    .ok_or(PeerMisbehaved::NoApplicationProtocol)?,
            ),
            _ => None,
        };

        let mut transcript = match s.transcript.take() {
            Some(t) => t,
            None => TranscriptBuffer::new().start_hash(suite.hash),
        };
        let chosen = self.server_choose_psk(s, &ch, raw, &transcript, suite, now)?;
        transcript.add(raw);
        let ch_hash = transcript.current_hash();
        s.transcript = Some(transcript);
        s.resumed = chosen.is_some();

        // The early data decision.
        let offered = ch.early_data_offered();
        let mut accepted_limit = None;
        if offered {
            let decision = self.server_decide(s, chosen.as_ref(), suite, now);
            match decision {
                Ok(limit) => accepted_limit = Some(limit),
                Err(reason) => {
                    self.early.status = Some(EarlyDataStatus::Rejected);
                    self.events.push(Event::EarlyDataRejected { reason });
                }
            }
        }

        // ServerHello.
        let memo = s.config.public_key_memo.as_deref();
        let share = X25519KeyShare::generate_memo(self.rng.as_mut(), memo);
        let shared = share.agree_memo(&peer_share, memo)?;
        let mut exts = vec![
            ServerExtension::SupportedVersions(ProtocolVersion::Tls13),
            ServerExtension::KeyShare(KeyShareEntry {
                group: NamedGroup::X25519,
                payload: share.public_key().to_vec(),
            }),
        ];
        if let Some(c) = &chosen {
            exts.push(ServerExtension::PreSharedKey(c.index));
        }
        let sh = ServerHello {
            legacy_version: ProtocolVersion::Tls12,
            random: crate::rand::array(self.rng.as_mut()),
            legacy_session_id_echo: ch.legacy_session_id.clone(),
            cipher_suite: suite.suite,
            legacy_compression_method: 0,
            extensions: exts,
        };
        let sh_raw = HandshakeMessage::new(HandshakePayload::ServerHello(sh)).get_encoding();
        self.events
            .push(Event::HandshakeSent(HandshakeType::ServerHello));
        self.rl.send_handshake(&sh_raw, &mut self.events)?;
        // RFC 9846 E.4: a compatibility-mode client (non-empty session id) gets a CCS
        // after our first handshake message.
        if !ch.legacy_session_id.is_empty() && !s.ccs_sent {
            self.rl.send_ccs(&mut self.events);
            s.ccs_sent = true;
        }

        // Key schedule.
        let early =
            KeyScheduleEarly::new(suite.hash, chosen.as_ref().map(|c| c.value.psk.as_slice()));
        if let Some(limit) = accepted_limit {
            let secret = early.client_early_traffic_secret(&ch_hash);
            self.log_secret(
                KeyLogLabel::ClientEarlyTrafficSecret,
                &s.client_random,
                &secret,
            );
            self.log_secret(
                KeyLogLabel::EarlyExporterSecret,
                &s.client_random,
                &early.early_exporter_master_secret(&ch_hash),
            );
            self.rl.set_decrypter(KeyEpoch::Early, suite, &secret)?;
            self.early.status = Some(EarlyDataStatus::Accepted);
            self.early.limit = limit as usize;
            self.events.push(Event::EarlyDataAccepted { limit });
        }
        s.transcript()?.add(&sh_raw);
        let hello_hash = s.transcript()?.current_hash();
        let hs = early.into_handshake(Some(shared.as_ref()));
        let client_hs = hs.client_handshake_traffic_secret(&hello_hash);
        let server_hs = hs.server_handshake_traffic_secret(&hello_hash);
        self.log_secret(
            KeyLogLabel::ClientHandshakeTrafficSecret,
            &s.client_random,
            &client_hs,
        );
        self.log_secret(
            KeyLogLabel::ServerHandshakeTrafficSecret,
            &s.client_random,
            &server_hs,
        );
        self.rl
            .set_encrypter(KeyEpoch::Handshake, suite, &server_hs)?;
        if accepted_limit.is_none() {
            self.rl
                .set_decrypter(KeyEpoch::Handshake, suite, &client_hs)?;
            if offered {
                // RFC 9846 4.3.10: skip records that fail to decrypt under the handshake
                // keys, up to the budget (see RecordLayer::skip_budget).
                self.rl
                    .start_skipping_by_trial_decryption(self.recv_max_early_data);
            }
        }

        // EncryptedExtensions.
        let mut ee = Vec::new();
        if let Some(p) = &s.alpn {
            ee.push(ServerExtension::Alpn(p.clone()));
        }
        if accepted_limit.is_some() {
            ee.push(ServerExtension::EarlyData);
        }
        if s.server_name.is_some() && chosen.is_none() {
            ee.push(ServerExtension::ServerNameAck);
        }
        self.server_send(s, HandshakePayload::EncryptedExtensions(ee))?;

        // Certificate + CertificateVerify unless resuming (RFC 9846 2.2).
        if chosen.is_none() {
            let entries = s
                .config
                .identity
                .cert_chain
                .iter()
                .map(|der| CertificateEntry {
                    cert_data: der.clone(),
                    extensions: Vec::<CertificateExtension>::new(),
                })
                .collect();
            self.server_send(
                s,
                HandshakePayload::Certificate(CertificatePayload {
                    context: Vec::new(),
                    entries,
                }),
            )?;
            let hash = s.transcript()?.current_hash();
            let message = certificate_verify_message(true, hash.as_ref());
            let key = &s.config.identity.key;
            let signature = match &s.config.public_key_memo {
                Some(memo) => memo.sign(key, &message),
                None => key.sign(&message),
            };
            let scheme = s.config.identity.key.scheme();
            self.server_send(
                s,
                HandshakePayload::CertificateVerify(CertificateVerify { scheme, signature }),
            )?;
        }

        // Finished, then the application keys for 0.5-RTT data.
        let hash = s.transcript()?.current_hash();
        let fin = verify_data(&server_hs, &hash).as_ref().to_vec();
        self.server_send(s, HandshakePayload::Finished(fin))?;
        let finished_hash = s.transcript()?.current_hash();
        let master = hs.into_master();
        let client_app = master.client_application_traffic_secret_0(&finished_hash);
        let server_app = master.server_application_traffic_secret_0(&finished_hash);
        self.log_secret(
            KeyLogLabel::ClientTrafficSecret0,
            &s.client_random,
            &client_app,
        );
        self.log_secret(
            KeyLogLabel::ServerTrafficSecret0,
            &s.client_random,
            &server_app,
        );
        self.log_secret(
            KeyLogLabel::ExporterSecret,
            &s.client_random,
            &master.exporter_master_secret(&finished_hash),
        );
        self.rl
            .set_encrypter(KeyEpoch::Application, suite, &server_app)?;
        s.client_hs_secret = Some(client_hs);
        s.client_app_secret = Some(client_app);
        s.server_app_secret = Some(server_app);
        s.master = Some(master);
        if accepted_limit.is_some() {
            s.expect = Expect::EarlyData;
        } else {
            // No early data can arrive: read_early_data may now return Finish.
            self.early.finished = true;
            s.expect = Expect::Finished;
        }
        Ok(())
    }

    fn server_send(&mut self, s: &mut ServerState, payload: HandshakePayload) -> Result<(), Error> {
        let msg = HandshakeMessage::new(payload);
        let raw = msg.get_encoding();
        self.events.push(Event::HandshakeSent(msg.typ));
        self.rl.send_handshake(&raw, &mut self.events)?;
        s.transcript()?.add(&raw);
        Ok(())
    }

    fn server_send_hello_retry(
        &mut self,
        s: &mut ServerState,
        ch: &ClientHello,
        raw: &[u8],
        suite: &'static Tls13CipherSuite,
        needs_share: bool,
        with_cookie: bool,
    ) -> Result<(), Error> {
        let mut exts = vec![HelloRetryExtension::SupportedVersions(
            ProtocolVersion::Tls13,
        )];
        if needs_share {
            exts.push(HelloRetryExtension::KeyShare(NamedGroup::X25519));
        }
        if with_cookie || !needs_share {
            let cookie: [u8; 16] = crate::rand::array(self.rng.as_mut());
            s.cookie = Some(cookie.to_vec());
            exts.push(HelloRetryExtension::Cookie(cookie.to_vec()));
        }
        let hrr = HelloRetryRequest {
            legacy_version: ProtocolVersion::Tls12,
            legacy_session_id_echo: ch.legacy_session_id.clone(),
            cipher_suite: suite.suite,
            legacy_compression_method: 0,
            extensions: exts,
        };
        let mut transcript = TranscriptBuffer::new().start_hash(suite.hash);
        transcript.add(raw);
        let mut transcript = transcript.into_hello_retry_transcript();
        let hrr_raw =
            HandshakeMessage::new(HandshakePayload::HelloRetryRequest(hrr.clone())).get_encoding();
        transcript.add(&hrr_raw);
        s.transcript = Some(transcript);
        s.hello_retry = Some(hrr);
        self.events.push(Event::HelloRetryRequest);
        self.events
            .push(Event::HandshakeSent(HandshakeType::ServerHello));
        self.rl.send_handshake(&hrr_raw, &mut self.events)?;
        if !ch.legacy_session_id.is_empty() {
            self.rl.send_ccs(&mut self.events);
            s.ccs_sent = true;
        }
        if ch.early_data_offered() {
            // RFC 9846 4.3.10: "The server then ignores early data by skipping all records
            // with an external content type of application_data ... up to the configured
            // max_early_data_size."
            self.early.status = Some(EarlyDataStatus::Rejected);
            self.events.push(Event::EarlyDataRejected {
                reason: EarlyDataRejectReason::HelloRetryRequest,
            });
            if !planted::active(Bug::HrrEarlyRecordsNotSkipped) {
                self.rl
                    .start_skipping_until_client_hello(self.recv_max_early_data);
            }
        }
        s.expect = Expect::SecondClientHello;
        Ok(())
    }

    /// Walks the offered identities in order and takes the first that resolves and whose
    /// binder verifies. A binder that does not verify aborts the handshake (RFC 9846
    /// 4.2.11: "If this value does not validate, the server MUST abort the handshake").
    fn server_choose_psk(
        &mut self,
        s: &mut ServerState,
        ch: &ClientHello,
        raw: &[u8],
        transcript: &Transcript,
        suite: &'static Tls13CipherSuite,
        now: Timestamp,
    ) -> Result<Option<ChosenPsk>, Error> {
        let Some(offer) = ch.psk_offer() else {
            return Ok(None);
        };
        // RFC 9846 4.3.9: "If clients offer pre_shared_key without a
        // psk_key_exchange_modes extension, servers MUST abort the handshake."
        let Some(modes) = ch.psk_modes() else {
            return Err(
                PeerMisbehaved::MissingExtension(ExtensionType::PskKeyExchangeModes).into(),
            );
        };
        if !modes.contains(&PskKeyExchangeMode::PskDheKe) {
            self.events.push(Event::PskRejected {
                reason: PskRejectReason::NoSupportedPskMode,
            });
            return Ok(None);
        }
        if offer.identities.len() != offer.binders.len() {
            return Err(PeerMisbehaved::IllegalParameter(
                "PSK identities and binders differ in number",
            )
            .into());
        }
        let truncated = truncate_for_binders(raw, ch.binders_len())
            .ok_or(Error::Internal("binder truncation"))?;
        let binder_hash = transcript.hash_with(truncated);
        for (index, (identity, binder)) in offer.identities.iter().zip(&offer.binders).enumerate() {
            let Ok(index) = u16::try_from(index) else {
                break;
            };
            let resolved = self.server_resolve_identity(s, &identity.identity, now);
            let (value, external) = match resolved {
                Ok(v) => v,
                Err(reason) => {
                    self.events.push(Event::PskRejected { reason });
                    continue;
                }
            };
            if value.is_expired(now) {
                self.events.push(Event::PskRejected {
                    reason: PskRejectReason::Expired,
                });
                continue;
            }
            // RFC 9846 4.3.11: the PSK must be usable with the negotiated suite's hash.
            if suites::lookup(value.suite).map(|v| v.hash) != Some(suite.hash) {
                self.events.push(Event::PskRejected {
                    reason: PskRejectReason::IncompatibleCipherSuite,
                });
                continue;
            }
            let kind = if external {
                BinderKind::External
            } else {
                BinderKind::Resumption
            };
            let early = KeyScheduleEarly::new(suite.hash, Some(&value.psk));
            let verified = early.verify_psk_binder(kind, &binder_hash, binder);
            if verified.is_err() && !planted::active(Bug::BinderNotVerified) {
                return Err(PeerMisbehaved::IncorrectBinder.into());
            }
            self.events.push(Event::PskAccepted {
                identity: index,
                external,
            });
            return Ok(Some(ChosenPsk {
                index,
                value,
                external,
                binder: binder.clone(),
                obfuscated_ticket_age: identity.obfuscated_ticket_age,
            }));
        }
        Ok(None)
    }

    /// Finds the session an identity names. With replay protection on (max_early_data > 0
    /// and no no_anti_replay), tickets are single use: "If it exists then the resumption is
    /// allowed and the session is removed from the cache."
    fn server_resolve_identity(
        &mut self,
        s: &ServerState,
        identity: &[u8],
        now: Timestamp,
    ) -> Result<(ServerSessionValue, bool), PskRejectReason> {
        if let Some(find) = &s.config.find_external_psk {
            if let Some(v) = find(identity) {
                return Ok((v, true));
            }
        }
        let anti_replay = self.max_early_data > 0 && !s.config.no_anti_replay();
        let from_cache = {
            let mut cache = s
                .config
                .session_cache
                .lock()
                .map_err(|_| PskRejectReason::NotInCache)?;
            match (&s.config.session_store, anti_replay) {
                (Some(store), true) => {
                    let mut store = store.lock().map_err(|_| PskRejectReason::NotInCache)?;
                    cache.take_with(identity, now, &mut *store)
                }
                (Some(store), false) => {
                    let mut store = store.lock().map_err(|_| PskRejectReason::NotInCache)?;
                    cache.get_with(identity, now, &mut *store)
                }
                (None, true) if planted::active(Bug::TicketNotRemoved) => {
                    cache.get(identity, now).cloned()
                }
                (None, true) => cache.take(identity, now),
                (None, false) => cache.get(identity, now).cloned(),
            }
        };
        if let Some(v) = from_cache {
            if anti_replay {
                self.events.push(Event::TicketConsumed {
                    ticket_id: ticket_id(identity),
                });
            }
            return Ok((v, false));
        }
        if let TicketKind::Stateless(ticketer) = &s.config.ticket_kind {
            let opened = ticketer.lock().ok().and_then(|t| t.open(identity));
            if let Some(bytes) = opened {
                if anti_replay {
                    return Err(PskRejectReason::StatelessTicketWhileAntiReplay);
                }
                return ServerSessionValue::from_bytes(&bytes)
                    .map(|v| (v, false))
                    .map_err(|_| PskRejectReason::TicketDoesNotOpen);
            }
            return Err(PskRejectReason::TicketDoesNotOpen);
        }
        Err(PskRejectReason::NotInCache)
    }

    /// Gathers the facts, runs the pure decision, then (only if the library accepts) the
    /// allow-early-data callback. Returns the accepted limit or the reason.
    fn server_decide(
        &mut self,
        s: &ServerState,
        chosen: Option<&ChosenPsk>,
        suite: &'static Tls13CipherSuite,
        now: Timestamp,
    ) -> Result<u32, EarlyDataRejectReason> {
        let ticket_age_fresh = match chosen {
            Some(_) if planted::active(Bug::TicketAgeCheckDisabled) => true,
            Some(c) if !c.external => check_freshness(
                c.obfuscated_ticket_age,
                c.value.age_add,
                c.value.issued_at,
                now,
                s.config.ticket_age_tolerance,
            )
            .is_fresh(),
            _ => true,
        };
        // Record the ClientHello only when it could otherwise be accepted, so that a
        // rejected attempt does not occupy the register.
        let mut facts = EarlyDataFacts {
            reading_early_data: self.early.in_progress,
            selected_identity: chosen.map(|c| c.index),
            session_max_early_data: chosen.map_or(0, |c| c.value.max_early_data),
            server_max_early_data: self.max_early_data,
            session_suite: chosen.map_or(suite.suite, |c| c.value.suite),
            negotiated_suite: suite.suite,
            session_alpn: chosen.and_then(|c| c.value.alpn.as_deref()),
            negotiated_alpn: s.alpn.as_deref(),
            session_server_name: chosen.and_then(|c| c.value.server_name.as_deref()),
            client_server_name: s.server_name.as_deref(),
            hello_retry_sent: s.hello_retry.is_some(),
            ticket_age_fresh,
            strike: StrikeFact::Fresh,
        };
        if let LibraryDecision::Reject(r) = decide_early_data(&facts) {
            return Err(r);
        }
        if let (Some(register), Some(c)) = (&s.config.strike_register, chosen) {
            facts.strike = match register.check_and_record(&c.binder, now) {
                StrikeVerdict::Fresh => StrikeFact::Fresh,
                StrikeVerdict::Replay => StrikeFact::Replay,
                StrikeVerdict::Full => StrikeFact::Full,
                StrikeVerdict::WarmingUp => StrikeFact::WarmingUp,
            };
        }
        if let LibraryDecision::Reject(r) = decide_early_data(&facts) {
            return Err(r);
        }
        let chosen = chosen.ok_or(EarlyDataRejectReason::NoPskAccepted)?;
        if let Some(cb) = self.allow_early_data.clone() {
            let info = EarlyDataCallbackInfo {
                server_name: s.server_name.clone(),
                alpn: s.alpn.clone(),
                external_psk: chosen.external,
                session_max_early_data: chosen.value.max_early_data,
            };
            let allowed = cb(&info);
            self.events.push(Event::AllowEarlyDataCallback { allowed });
            if !allowed {
                return Err(EarlyDataRejectReason::CallbackDeclined);
            }
        }
        Ok(chosen.value.max_early_data.min(self.recv_max_early_data))
    }

    fn server_client_finished(
        &mut self,
        s: &mut ServerState,
        vd: &[u8],
        raw: &[u8],
        now: Timestamp,
    ) -> Result<(), Error> {
        let suite = s.suite.ok_or(Error::Internal("no suite"))?;
        let hash = s.transcript()?.current_hash();
        let client_hs = s
            .client_hs_secret
            .as_ref()
            .ok_or(Error::Internal("no client hs"))?;
        verify_finished(client_hs, &hash, vd).map_err(|_| PeerMisbehaved::IncorrectFinished)?;
        s.transcript()?.add(raw);
        let client_app = s
            .client_app_secret
            .as_ref()
            .ok_or(Error::Internal("no client app"))?;
        self.rl
            .set_decrypter(KeyEpoch::Application, suite, client_app)?;
        let hash = s.transcript()?.current_hash();
        let rms = s
            .master
            .as_ref()
            .ok_or(Error::Internal("no master"))?
            .resumption_master_secret(&hash);
        s.expect = Expect::Traffic;
        self.handshake_complete = true;
        self.early.finished = true;
        self.events.push(Event::HandshakeComplete {
            suite: suite.suite,
            resumed: s.resumed,
        });
        if s.psk_dhe_ke_offered {
            for _ in 0..s.config.num_tickets {
                self.server_issue_ticket(s, &rms, now)?;
            }
        }
        Ok(())
    }

    /// NewSessionTicket (RFC 9846 4.7.1). With replay protection on, or stateful tickets
    /// configured, the ticket names a cache entry ("Sessions will be added to the cache
    /// whenever a session ticket is issued"); otherwise it is sealed session state.
    fn server_issue_ticket(
        &mut self,
        s: &mut ServerState,
        rms: &Secret,
        now: Timestamp,
    ) -> Result<(), Error> {
        let suite = s.suite.ok_or(Error::Internal("no suite"))?;
        let nonce = s.tickets_issued.to_be_bytes().to_vec();
        s.tickets_issued += 1;
        let psk = resumption_psk(rms, &nonce)?;
        let lifetime_s = u32::try_from(s.config.ticket_lifetime.as_secs())
            .unwrap_or(u32::MAX)
            .min(604_800);
        let value = ServerSessionValue {
            suite: suite.suite,
            psk: psk.as_bytes().to_vec(),
            max_early_data: self.max_early_data,
            alpn: s.alpn.clone(),
            server_name: s.server_name.clone(),
            age_add: crate::rand::u32(self.rng.as_mut()),
            issued_at: now,
            lifetime_s,
        };
        let anti_replay = self.max_early_data > 0 && !s.config.no_anti_replay();
        let ticket = match (&s.config.ticket_kind, anti_replay) {
            (TicketKind::Stateless(ticketer), false) => ticketer
                .lock()
                .map_err(|_| Error::Internal("ticketer lock poisoned"))?
                .seal(&value.to_bytes(), self.rng.as_mut())
                .map_err(|_| Error::Internal("ticket sealing failed"))?,
            _ => {
                let id = crate::rand::array::<32>(self.rng.as_mut()).to_vec();
                let mut cache = s
                    .config
                    .session_cache
                    .lock()
                    .map_err(|_| Error::Internal("cache lock poisoned"))?;
                match &s.config.session_store {
                    Some(store) => {
                        let mut store = store
                            .lock()
                            .map_err(|_| Error::Internal("store lock poisoned"))?;
                        cache.insert_with(id.clone(), value.clone(), now, &mut *store);
                    }
                    None => {
                        let _evicted = cache.insert(id.clone(), value.clone(), now);
                    }
                }
                id
            }
        };
        let mut extensions = Vec::new();
        if value.max_early_data > 0 {
            extensions.push(NewSessionTicketExtension::EarlyData(value.max_early_data));
        }
        self.events.push(Event::TicketIssued {
            ticket_id: ticket_id(&ticket),
            max_early_data: value.max_early_data,
        });
        let nst = NewSessionTicket {
            lifetime: lifetime_s,
            age_add: value.age_add,
            nonce,
            ticket,
            extensions,
        };
        let raw = HandshakeMessage::new(HandshakePayload::NewSessionTicket(nst)).get_encoding();
        self.events
            .push(Event::HandshakeSent(HandshakeType::NewSessionTicket));
        self.rl.send_handshake(&raw, &mut self.events)
    }
}
