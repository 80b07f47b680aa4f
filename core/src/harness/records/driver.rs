//! The run: a real client and server with the harness on the wire between them, moving,
//! decrypting, re-encrypting and making up records as the [`Step`]s say.

use super::fixture::fixture;
use super::{
    AlpnChoice, AppCall, EpochChoice, HarnessReport, RecordScenario, Step, TraceEntry, ALPN_H2,
    LATE_BY_MORE_THAN_TOLERANCE, SERVER_NAME,
};
use crate::codec::Codec;
use crate::conn::config::{ClientConfig, HelloRetryPolicy, ServerConfig};
use crate::conn::events::KeyEpoch;
use crate::crypto::key_schedule::{next_application_traffic_secret, Secret};
use crate::crypto::keylog::KeyLogLabel;
use crate::crypto::record_protection::{RecordDecrypter, RecordEncrypter};
use crate::crypto::suites::{self, HashAlgorithm, Tls13CipherSuite, ALL_CIPHER_SUITES};
use crate::error::Error;
use crate::harness::HarnessRng;
use crate::msgs::enums::{ContentType, HandshakeType};
use crate::msgs::handshake::{HandshakeMessage, HandshakePayload};
use crate::msgs::record::{MAX_FRAGMENT_LEN, RECORD_HEADER_LEN};
use crate::time::Timestamp;
use crate::{ConnError, Connection, Event, ReadEarlyData, Side};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

/// Rounds of the final phase that completes the handshake after the steps.
const DRAIN_ROUNDS: usize = 12;

/// A protected record's content type byte plus its 16-byte AEAD tag (every suite here).
pub(super) const MIN_PROTECTED_OVERHEAD: usize = 1 + 16;

/// Most iterations of one read loop (each reads up to 16 KiB).
const READ_LOOP_MAX: usize = 16;

/// A record the peer sent, decrypted.
#[derive(Clone, Debug)]
pub(super) struct PeerRecord {
    epoch: KeyEpoch,
    typ: ContentType,
    content: Vec<u8>,
    wire: Vec<u8>,
}

/// Keys of one epoch in the peer-to-target direction: a decrypter for what the peer sends
/// and an encrypter (with the harness's own sequence numbers) for what the target gets.
pub(super) struct Lane {
    suite: &'static Tls13CipherSuite,
    from_peer: RecordDecrypter,
    peer_secret: Secret,
    to_target: RecordEncrypter,
    target_secret: Secret,
}

impl Lane {
    pub(super) fn new(suite: &'static Tls13CipherSuite, secret: &[u8]) -> Option<Self> {
        let secret = Secret::from_bytes(suite.hash, secret)?;
        Some(Self {
            suite,
            from_peer: RecordDecrypter::new(suite, &secret).ok()?,
            peer_secret: secret.clone(),
            to_target: RecordEncrypter::new(suite, &secret).ok()?,
            target_secret: secret,
        })
    }
}

/// Keys nobody holds: records under them are well-formed garbage to the target.
fn dummy_encrypter() -> Option<RecordEncrypter> {
    let secret = Secret::from_bytes(HashAlgorithm::Sha256, &[0x42; 32])?;
    RecordEncrypter::new(&suites::TLS13_AES_128_GCM_SHA256, &secret).ok()
}

pub(super) struct Run {
    pub(super) target: Side,
    pub(super) scenario: RecordScenario,
    /// The client's clock, and the server's (later with `late_client_hello`).
    pub(super) now: Timestamp,
    pub(super) server_now: Timestamp,
    /// ClientHellos whose binder the harness forged so far.
    pub(super) forged_hellos: usize,
    /// The server emitted EarlyDataAccepted.
    pub(super) server_accepted_early_data: bool,
    /// Whether the first EndOfEarlyData delivered to a server target under the real early
    /// keys had a body: the only one a server can end its early data with (later ones, and
    /// any under other keys or in plaintext, are refused whatever their body).
    pub(super) first_early_eoed_body: Option<bool>,
    /// The last handshake message the server reported receiving.
    pub(super) server_last_handshake: Option<HandshakeType>,
    /// The server's configuration (its session cache holds the run's ticket).
    pub(super) server_config: Arc<ServerConfig>,
    pub(super) client: Connection,
    pub(super) server: Connection,
    pub(super) negotiated: &'static Tls13CipherSuite,
    pub(super) session_suite: Option<&'static Tls13CipherSuite>,
    /// Early, handshake, application.
    pub(super) lanes: [Option<Lane>; 3],
    pub(super) pending: VecDeque<PeerRecord>,
    /// Bytes waiting for the target's / the peer's read_tls (bounded buffers push back).
    pub(super) to_target: Vec<u8>,
    pub(super) to_peer: Vec<u8>,
    pub(super) delivered: Vec<Vec<u8>>,
    pub(super) first_hello: Option<Vec<u8>>,
    /// The sticky error of each side (client, server) once seen.
    pub(super) sticky: [Option<Error>; 2],
    pub(super) early_sent: Vec<u8>,
    pub(super) early_read: Vec<u8>,
    /// Application data sent to / read by (client, server).
    pub(super) app_sent: [Vec<u8>; 2],
    pub(super) app_read: [Vec<u8>; 2],
    pub(super) early_received_total: usize,
    pub(super) early_written_total: usize,
    /// Application data bytes each side has decrypted (from its RecordReceived events;
    /// every protected record here has no padding), and that count when it received
    /// close_notify.
    pub(super) app_received: [usize; 2],
    pub(super) close_cutoff: [Option<usize>; 2],
    pub(super) client_early_phase: bool,
    pub(super) server_early_finished: bool,
    pub(super) pattern_at: u64,
    pub(super) read_buf: Vec<u8>,
    /// The first oracle violation; the run stops at the end of the step that found it.
    pub(super) violation: Option<String>,
    /// Bytes taken by either side's read_tls so far (progress of the final phase).
    pub(super) moved: usize,
    pub(super) trace: Vec<TraceEntry>,
}

pub(super) fn side_index(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}

fn other(side: Side) -> Side {
    match side {
        Side::Client => Side::Server,
        Side::Server => Side::Client,
    }
}

fn lane_index(epoch: KeyEpoch) -> Option<usize> {
    match epoch {
        KeyEpoch::Early => Some(0),
        KeyEpoch::Handshake => Some(1),
        KeyEpoch::Application => Some(2),
        KeyEpoch::Plaintext => None,
    }
}

/// Splits a byte stream into records (an incomplete tail is one last chunk).
fn split_records(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let len = match rest.get(3..5) {
            Some(l) => RECORD_HEADER_LEN + usize::from(u16::from_be_bytes([l[0], l[1]])),
            None => rest.len(),
        };
        let (head, tail) = rest.split_at(len.min(rest.len()));
        out.push(head.to_vec());
        rest = tail;
    }
    out
}

fn format_result<T: fmt::Debug>(r: &Result<T, ConnError>) -> String {
    match r {
        Ok(v) => format!("Ok({v:?})"),
        Err(e) => format!("Err({e})"),
    }
}

impl Run {
    pub(super) fn new(target: Side, scenario: RecordScenario) -> Self {
        let fx = fixture();
        let now = Timestamp::SIM_EPOCH;
        let negotiated = ALL_CIPHER_SUITES
            .get(scenario.suite)
            .copied()
            .unwrap_or(&suites::TLS13_AES_128_GCM_SHA256);
        let session = scenario.session.and_then(|i| fx.sessions.get(i));
        let session_suite = session.and_then(|s| suites::lookup(s.client.suite));

        let (client_alpn, server_alpn) = match scenario.alpn {
            AlpnChoice::Off => (vec![], vec![]),
            AlpnChoice::Same => (vec![ALPN_H2.to_vec()], vec![ALPN_H2.to_vec()]),
            AlpnChoice::Other => (
                vec![ALPN_H2.to_vec(), b"http/1.1".to_vec()],
                vec![b"http/1.1".to_vec()],
            ),
        };
        let mut sc = ServerConfig::new(fx.identity.clone());
        sc.cipher_suites = vec![negotiated];
        sc.alpn_protocols = server_alpn;
        sc.set_max_early_data(scenario.max_early_data);
        sc.set_recv_max_early_data(scenario.recv_max_early_data);
        sc.set_no_anti_replay(scenario.no_anti_replay);
        if scenario.hrr {
            sc.hello_retry = HelloRetryPolicy::AlwaysWithCookie;
        }
        let server_now = match scenario.late_client_hello {
            true => now
                .saturating_add(sc.ticket_age_tolerance)
                .saturating_add(LATE_BY_MORE_THAN_TOLERANCE),
            false => now,
        };
        if let Some(s) = session {
            if let Ok(mut cache) = sc.session_cache.lock() {
                let _evicted = cache.insert(s.client.ticket.clone(), s.server.clone(), now);
            }
        }
        let mut cc = ClientConfig::new(fx.trust.clone());
        cc.cipher_suites = vec![negotiated];
        if let Some(s) = session_suite.filter(|s| *s != negotiated) {
            cc.cipher_suites.push(s);
        }
        cc.alpn_protocols = client_alpn;
        cc.middlebox_compat = scenario.middlebox_compat;

        let client = Connection::client(
            Arc::new(cc),
            SERVER_NAME,
            session.map(|s| s.client.clone()),
            Box::new(HarnessRng::new(1)),
        );
        let server_config = Arc::new(sc);
        let server = Connection::server(server_config.clone(), Box::new(HarnessRng::new(2)));
        Self {
            target,
            scenario,
            now,
            server_now,
            forged_hellos: 0,
            server_accepted_early_data: false,
            first_early_eoed_body: None,
            server_last_handshake: None,
            server_config,
            client,
            server,
            negotiated,
            session_suite,
            lanes: [None, None, None],
            pending: VecDeque::new(),
            to_target: Vec::new(),
            to_peer: Vec::new(),
            delivered: Vec::new(),
            first_hello: None,
            sticky: [None, None],
            early_sent: Vec::new(),
            early_read: Vec::new(),
            app_sent: [Vec::new(), Vec::new()],
            app_read: [Vec::new(), Vec::new()],
            early_received_total: 0,
            early_written_total: 0,
            app_received: [0, 0],
            close_cutoff: [None, None],
            client_early_phase: false,
            server_early_finished: false,
            pattern_at: 0,
            moved: 0,
            read_buf: Vec::new(),
            violation: None,
            trace: Vec::new(),
        }
    }

    pub(super) fn conn(&mut self, side: Side) -> &mut Connection {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    pub(super) fn peer(&self) -> Side {
        other(self.target)
    }

    pub(super) fn execute(mut self) -> HarnessReport {
        // The first I/O calls decide whether early data is offered and read.
        let first_client = if self.scenario.client_early_data > 0 {
            AppCall::WriteEarlyData(self.scenario.client_early_data)
        } else {
            AppCall::DoHandshake
        };
        let first_server = if self.scenario.server_reads_early_data {
            AppCall::ReadEarlyData
        } else {
            AppCall::DoHandshake
        };
        self.call(Side::Server, first_server);
        self.call(Side::Client, first_client);
        self.pump();

        let steps = std::mem::take(&mut self.scenario.steps);
        for (index, step) in steps.iter().enumerate() {
            self.trace.push(TraceEntry::Step {
                index,
                step: step.clone(),
            });
            self.step(step);
            self.pump();
            if self.violation.is_some() {
                break;
            }
        }
        self.scenario.steps = steps;
        if self.violation.is_some() {
            return self.report();
        }

        self.trace.push(TraceEntry::Drain);
        for _ in 0..DRAIN_ROUNDS {
            let before = self.moved;
            while !self.pending.is_empty() {
                self.forward_one();
            }
            self.pump();
            let peer = self.peer();
            self.finish_call(peer);
            self.finish_call(self.target);
            self.pump();
            if self.violation.is_some() || (self.pending.is_empty() && self.moved == before) {
                break;
            }
        }
        if self.violation.is_none() {
            self.final_oracles();
        }
        self.report()
    }

    // ----- steps ------------------------------------------------------------------------

    pub(super) fn step(&mut self, step: &Step) {
        match step {
            Step::Raw(bytes) => self.deliver(bytes.clone(), "raw bytes".into(), None),
            Step::Forward(n) => {
                for _ in 0..*n {
                    self.forward_one();
                }
            }
            Step::Drop => {
                let _ = self.pending.pop_front();
            }
            Step::AppData { epoch, len } => {
                let len = usize::from(*len).min(MAX_FRAGMENT_LEN);
                let content = self.pattern(len);
                let epoch = match epoch {
                    EpochChoice::Early => KeyEpoch::Early,
                    EpochChoice::Handshake => KeyEpoch::Handshake,
                    EpochChoice::Application => KeyEpoch::Application,
                };
                self.send_protected(epoch, ContentType::ApplicationData, content, "made-up");
            }
            Step::EndOfEarlyData { body_len } => {
                let mut content = vec![HandshakeType::EndOfEarlyData.get(), 0, 0, *body_len];
                content.resize(4 + usize::from(*body_len), 0);
                let epoch = match self.target {
                    Side::Server => KeyEpoch::Early,
                    Side::Client => KeyEpoch::Handshake,
                };
                self.send_protected(epoch, ContentType::Handshake, content, "made-up");
            }
            Step::Finished { wrong_mac } => self.finished(*wrong_mac),
            Step::SecondHello => {
                if let Some(hello) = self.first_hello.clone() {
                    self.deliver(hello, "the first hello again".into(), None);
                }
            }
            Step::Replay(k) => {
                if !self.delivered.is_empty() {
                    let i = usize::from(*k) % self.delivered.len();
                    let wire = self.delivered[i].clone();
                    self.deliver(wire, format!("replay of delivery #{i}"), None);
                }
            }
            Step::KeyUpdate { request } => {
                let content = vec![HandshakeType::KeyUpdate.get(), 0, 0, 1, u8::from(*request)];
                let keyed = self.lanes[2].is_some();
                self.send_protected(
                    KeyEpoch::Application,
                    ContentType::Handshake,
                    content,
                    "made-up",
                );
                if let Some(lane) = self.lanes[2].as_mut().filter(|_| keyed) {
                    // RFC 9846 4.7.3: the sender's next record uses the next secret.
                    lane.target_secret = next_application_traffic_secret(&lane.target_secret);
                    if let Ok(enc) = RecordEncrypter::new(lane.suite, &lane.target_secret) {
                        lane.to_target = enc;
                    }
                }
            }
            Step::ClientCall(call) => {
                self.call(Side::Client, *call);
            }
            Step::ServerCall(call) => {
                self.call(Side::Server, *call);
            }
        }
    }

    /// Deterministic application bytes that differ at every offset of the run, so that a
    /// duplicated or reordered chunk can never look like a prefix.
    pub(super) fn pattern(&mut self, len: usize) -> Vec<u8> {
        let start = self.pattern_at;
        self.pattern_at = self.pattern_at.wrapping_add(len as u64);
        (0..len as u64)
            .map(|i| {
                let x = start.wrapping_add(i);
                (x ^ (x >> 8) ^ (x >> 16)).wrapping_mul(0x9e37_79b9) as u8
            })
            .collect()
    }

    pub(super) fn finished(&mut self, wrong_mac: bool) {
        let at = self.pending.iter().position(|r| {
            r.typ == ContentType::Handshake
                && r.content.first() == Some(&HandshakeType::Finished.get())
        });
        let (epoch, mut content, what) = match at.and_then(|i| self.pending.remove(i)) {
            Some(r) => (r.epoch, r.content, "the peer's Finished"),
            None => {
                let len = self.negotiated.hash.output_len();
                let mut c = vec![HandshakeType::Finished.get(), 0, 0, len as u8];
                c.resize(4 + len, 0);
                (KeyEpoch::Handshake, c, "a made-up Finished")
            }
        };
        if wrong_mac {
            if let Some(last) = content.last_mut() {
                *last ^= 0x01;
            }
        }
        let what = if wrong_mac {
            format!("{what} with a wrong MAC")
        } else {
            what.to_string()
        };
        self.send_protected(epoch, ContentType::Handshake, content, &what);
    }

    /// Encrypts `content` under the target-bound keys of `epoch` (or keys nobody holds if
    /// the harness has none for it) and delivers it.
    pub(super) fn send_protected(
        &mut self,
        epoch: KeyEpoch,
        typ: ContentType,
        content: Vec<u8>,
        what: &str,
    ) {
        let lane = lane_index(epoch).and_then(|i| self.lanes[i].as_mut());
        let (wire, keyed) = match lane {
            Some(lane) => (lane.to_target.encrypt(typ, &content, 0).ok(), true),
            None => (
                dummy_encrypter().and_then(|mut e| e.encrypt(typ, &content, 0).ok()),
                false,
            ),
        };
        let Some(wire) = wire else {
            return;
        };
        let eoed = typ == ContentType::Handshake
            && content.first() == Some(&HandshakeType::EndOfEarlyData.get());
        if keyed && eoed && epoch == KeyEpoch::Early && self.target == Side::Server {
            // `struct {} EndOfEarlyData;`: 4 bytes of header, nothing after (RFC 9846 4.6).
            let body = content.len() > 4;
            self.first_early_eoed_body.get_or_insert(body);
        }
        let keys = if keyed { "" } else { ", unknown keys" };
        let label = format!(
            "{what} {typ:?} record ({epoch:?}{keys}, {} bytes of content)",
            content.len()
        );
        let stream = (keyed && typ == ContentType::ApplicationData).then_some((epoch, content));
        self.deliver(wire, label, stream);
    }

    pub(super) fn forward_one(&mut self) {
        let Some(r) = self.pending.pop_front() else {
            return;
        };
        if r.epoch == KeyEpoch::Plaintext {
            self.deliver(
                r.wire,
                format!("forwarded {:?} record (Plaintext)", r.typ),
                None,
            );
        } else {
            self.send_protected(r.epoch, r.typ, r.content, "forwarded");
        }
    }

    /// Hands bytes to the target. `stream` is (epoch, plaintext) of application data the
    /// harness sent under real keys, for the prefix oracles.
    pub(super) fn deliver(
        &mut self,
        wire: Vec<u8>,
        what: String,
        stream: Option<(KeyEpoch, Vec<u8>)>,
    ) {
        self.trace.push(TraceEntry::Delivered {
            to: self.target,
            len: wire.len(),
            what,
        });
        match stream {
            Some((KeyEpoch::Early, data)) if self.target == Side::Server => {
                self.early_sent.extend_from_slice(&data)
            }
            Some((KeyEpoch::Application, data)) => {
                self.app_sent[side_index(self.target)].extend_from_slice(&data)
            }
            _ => {}
        }
        self.to_target.extend_from_slice(&wire);
        self.delivered.push(wire);
        self.offer(self.target);
    }

    /// Offers buffered bytes to `side`'s read_tls.
    pub(super) fn offer(&mut self, side: Side) {
        let mut buf = match side == self.target {
            true => std::mem::take(&mut self.to_target),
            false => std::mem::take(&mut self.to_peer),
        };
        let sticky = self.sticky[side_index(side)].is_some();
        let n = self.conn(side).read_tls(&buf);
        if sticky && n > 0 {
            self.violate(format!(
            "oracle errors_are_sticky: {side:?} took {n} bytes with read_tls after a fatal error"
            ));
        }
        self.moved += n;
        buf.drain(..n.min(buf.len()));
        match side == self.target {
            true => self.to_target = buf,
            false => self.to_peer = buf,
        }
    }

    // ----- moving bytes and events ------------------------------------------------------

    /// Processes what was delivered: the target continues as its application would, its
    /// output goes to the peer, and the peer processes it.
    pub(super) fn pump(&mut self) {
        for _ in 0..4 {
            self.offer(self.target);
            self.continue_call(self.target);
            self.collect_target();
            let peer = self.peer();
            self.offer(peer);
            self.call_logged(peer, AppCall::ProcessNewPackets, false);
            self.collect_peer();
            if self.to_target.is_empty() && self.to_peer.is_empty() {
                break;
            }
        }
    }

    /// The call an application makes next while the handshake is under way: a server
    /// reading early data keeps reading it; a client in its early phase reads (0.5-RTT)
    /// without finishing; otherwise do_handshake, then read.
    pub(super) fn continue_call(&mut self, side: Side) {
        match side {
            Side::Server
                if self.scenario.server_reads_early_data && !self.server_early_finished =>
            {
                self.call(side, AppCall::ReadEarlyData);
            }
            Side::Client if self.client_early_phase => {
                self.call(side, AppCall::Read);
            }
            _ => {
                if self.call(side, AppCall::DoHandshake) {
                    self.call(side, AppCall::Read);
                }
            }
        }
    }

    /// The calls that complete the handshake: a client leaves its early phase.
    pub(super) fn finish_call(&mut self, side: Side) {
        if side == Side::Client {
            self.client_early_phase = false;
        }
        self.continue_call(side);
    }

    pub(super) fn collect_target(&mut self) {
        let side = self.target;
        let events = self.conn(side).take_events();
        self.record_events(side, events);
        let mut out = Vec::new();
        self.conn(side).write_tls(&mut out);
        if side == Side::Client && self.scenario.forged_binder {
            let mut forged = Vec::with_capacity(out.len());
            for mut wire in split_records(&out) {
                self.forge_binder(&mut wire);
                forged.extend_from_slice(&wire);
            }
            out = forged;
        }
        self.to_peer.extend_from_slice(&out);
    }

    /// With `forged_binder`, flips the last bit of `wire` if it is a record holding exactly
    /// one ClientHello that offers PSKs: that is the last byte of its last binder (RFC 9846
    /// 4.2.11: pre_shared_key is the last extension, binders its last field).
    pub(super) fn forge_binder(&mut self, wire: &mut [u8]) {
        if !self.scenario.forged_binder || wire.first() != Some(&ContentType::Handshake.get()) {
            return;
        }
        let offers_psk = matches!(
            wire.get(RECORD_HEADER_LEN..).map(HandshakeMessage::read_bytes),
            Some(Ok(HandshakeMessage {
                payload: HandshakePayload::ClientHello(ch),
                ..
            })) if ch.psk_offer().is_some()
        );
        if let Some(last) = wire.last_mut().filter(|_| offers_psk) {
            *last ^= 0x01;
            self.forged_hellos += 1;
        }
    }

    /// Takes the peer's events (learning its secrets) and splits its output into decrypted
    /// records for the pending queue.
    pub(super) fn collect_peer(&mut self) {
        let side = self.peer();
        let events = self.conn(side).take_events();
        let mut epochs = VecDeque::new();
        for e in &events {
            match e {
                Event::SecretDerived(entry) => self.learn_secret(entry.label, &entry.secret),
                Event::RecordSent { epoch, .. } => epochs.push_back(*epoch),
                _ => {}
            }
        }
        self.record_events(side, events);
        let mut out = Vec::new();
        self.conn(side).write_tls(&mut out);
        for mut wire in split_records(&out) {
            let epoch = epochs.pop_front().unwrap_or(KeyEpoch::Plaintext);
            if side == Side::Client && epoch == KeyEpoch::Plaintext {
                self.forge_binder(&mut wire);
            }
            let record = self.open_peer_record(epoch, wire);
            if record.epoch == KeyEpoch::Plaintext
                && record.typ == ContentType::Handshake
                && self.first_hello.is_none()
            {
                self.first_hello = Some(record.wire.clone());
            }
            self.pending.push_back(record);
        }
    }

    pub(super) fn open_peer_record(&mut self, epoch: KeyEpoch, wire: Vec<u8>) -> PeerRecord {
        let typ = ContentType::from(wire.first().copied().unwrap_or(0));
        let raw = PeerRecord {
            epoch: KeyEpoch::Plaintext,
            typ,
            content: wire.get(RECORD_HEADER_LEN..).unwrap_or(&[]).to_vec(),
            wire: wire.clone(),
        };
        let Some(lane) = lane_index(epoch).and_then(|i| self.lanes[i].as_mut()) else {
            return raw;
        };
        let mut header = [0u8; RECORD_HEADER_LEN];
        match wire.get(..RECORD_HEADER_LEN) {
            Some(h) => header.copy_from_slice(h),
            None => return raw,
        }
        let Ok((typ, content)) = lane.from_peer.decrypt(&header, raw.content.as_slice()) else {
            return raw;
        };
        // The peer answers a KeyUpdate(update_requested) with its own and then sends under
        // its next secret (RFC 9846 4.7.3).
        if typ == ContentType::Handshake && content.first() == Some(&HandshakeType::KeyUpdate.get())
        {
            lane.peer_secret = next_application_traffic_secret(&lane.peer_secret);
            if let Ok(dec) = RecordDecrypter::new(lane.suite, &lane.peer_secret) {
                lane.from_peer = dec;
            }
        }
        PeerRecord {
            epoch,
            typ,
            content,
            wire,
        }
    }

    /// Installs the peer-to-target keys of an epoch when the peer logs its secret.
    pub(super) fn learn_secret(&mut self, label: KeyLogLabel, secret: &[u8]) {
        use KeyLogLabel as L;
        let (index, suite) = match (self.target, label) {
            (Side::Server, L::ClientEarlyTrafficSecret) => (0, self.session_suite),
            (Side::Server, L::ClientHandshakeTrafficSecret)
            | (Side::Client, L::ServerHandshakeTrafficSecret) => (1, Some(self.negotiated)),
            (Side::Server, L::ClientTrafficSecret0) | (Side::Client, L::ServerTrafficSecret0) => {
                (2, Some(self.negotiated))
            }
            _ => return,
        };
        if let Some(lane) = suite.and_then(|s| Lane::new(s, secret)) {
            self.lanes[index] = Some(lane);
        }
    }

    // ----- application calls ------------------------------------------------------------

    /// Makes `call` on `side`, records it, feeds the data streams and checks the error
    /// oracles. Returns true if the call succeeded.
    pub(super) fn call(&mut self, side: Side, call: AppCall) -> bool {
        self.call_logged(side, call, true)
    }

    /// As [`Run::call`]; with `log` false a plain success is left out of the trace (the
    /// peer's automatic processing after every step).
    pub(super) fn call_logged(&mut self, side: Side, call: AppCall, log: bool) -> bool {
        let now = match side {
            Side::Client => self.now,
            Side::Server => self.server_now,
        };
        let before = self.sticky[side_index(side)].clone();
        // One read buffer per run, not per call.
        let mut buf = std::mem::take(&mut self.read_buf);
        buf.resize(MAX_FRAGMENT_LEN, 0);
        let (result, ok): (String, Result<(), ConnError>) = match call {
            AppCall::WriteEarlyData(n) => {
                let data = self.pattern(usize::from(n));
                let r = self.conn(side).write_early_data(&data, now);
                if let Ok(written) = r {
                    let data = data.get(..written).unwrap_or(&data);
                    match side {
                        Side::Client => {
                            self.early_written_total += written;
                            if self.target == Side::Client {
                                self.early_sent.extend_from_slice(data);
                            }
                            self.client_early_phase = true;
                        }
                        // 0.5-RTT data goes under the server's application keys.
                        Side::Server => {
                            if self.target == Side::Server {
                                self.app_sent[0].extend_from_slice(data);
                            }
                        }
                    }
                }
                (format_result(&r), r.map(|_| ()))
            }
            AppCall::ReadEarlyData => {
                let mut last = Err(ConnError::WantRead);
                let mut log = Vec::new();
                for _ in 0..READ_LOOP_MAX {
                    let r = self.conn(side).read_early_data(&mut buf, now);
                    log.push(format_result(&r));
                    match r {
                        Ok(ReadEarlyData::Success(n)) => {
                            self.early_read
                                .extend_from_slice(buf.get(..n).unwrap_or(&[]));
                            last = Ok(());
                        }
                        Ok(ReadEarlyData::Finish) => {
                            if side == Side::Server {
                                self.server_early_finished = true;
                            }
                            last = Ok(());
                            break;
                        }
                        Err(e) => {
                            last = Err(e);
                            break;
                        }
                    }
                }
                (log.join(", "), last)
            }
            AppCall::DoHandshake => {
                if side == Side::Client {
                    self.client_early_phase = false;
                }
                let r = self.conn(side).do_handshake(now);
                (format_result(&r), r)
            }
            AppCall::Read => {
                let mut last = Err(ConnError::WantRead);
                let mut log = Vec::new();
                for _ in 0..READ_LOOP_MAX {
                    let r = self.conn(side).read(&mut buf, now);
                    log.push(format_result(&r));
                    match r {
                        Ok(n) => {
                            self.app_read[side_index(side)]
                                .extend_from_slice(buf.get(..n).unwrap_or(&[]));
                            last = Ok(());
                        }
                        Err(e) => {
                            last = Err(e);
                            break;
                        }
                    }
                }
                (log.join(", "), last)
            }
            AppCall::Write(n) => {
                if side == Side::Client {
                    self.client_early_phase = false;
                }
                let data = self.pattern(usize::from(n));
                let r = self.conn(side).write(&data, now);
                if let Ok(written) = r {
                    if side == self.target {
                        let to = side_index(other(side));
                        self.app_sent[to].extend_from_slice(data.get(..written).unwrap_or(&data));
                    }
                }
                (format_result(&r), r.map(|_| ()))
            }
            AppCall::ProcessNewPackets => {
                let r = self.conn(side).process_new_packets(now);
                (format_result(&r), r)
            }
            AppCall::CloseNotify => {
                self.conn(side).send_close_notify();
                ("()".into(), Ok(()))
            }
        };
        self.read_buf = buf;
        if log || ok.is_err() {
            self.trace.push(TraceEntry::Call { side, call, result });
        }
        self.check_errors(side, call, before, &ok);
        ok.is_ok()
    }

    pub(super) fn report(self) -> HarnessReport {
        HarnessReport {
            target: self.target,
            client_status: self.client.early_data_status(),
            server_status: self.server.early_data_status(),
            client_finished: self.client.is_init_finished(),
            server_finished: self.server.is_init_finished(),
            client_error: self.client.error().cloned(),
            server_error: self.server.error().cloned(),
            early_data_sent: self.early_sent.len(),
            early_data_read: self.early_read.len(),
            violation: self.violation,
            scenario: self.scenario,
            trace: self.trace,
        }
    }
}
