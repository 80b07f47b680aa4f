//! A scripted TLS 1.3 server (and the record tools to script a client) built from the
//! crate's own codec and crypto, so that a real `Connection` can be fed a flight that is
//! correct in every byte except the one a test tampers with.
//!
//! The server answers a real client's first flight (parsed from its `write_tls` bytes) with
//! ServerHello, EncryptedExtensions, [Certificate, CertificateVerify], Finished, each in its
//! own record so that a test can corrupt one of them. It never verifies the client: it is
//! here to misbehave, not to check.
//!
//! Alerts are read back with [`take_written_alert`], which decrypts a protected alert with
//! the secrets the connection itself logged (its `SecretDerived` events), so a test asserts
//! the alert that actually went on the wire, whichever keys protected it.
#![allow(dead_code)]

use zerortt_core::codec::Codec;
use zerortt_core::conn::events::Event;
use zerortt_core::crypto::hash::Transcript;
use zerortt_core::crypto::key_schedule::{verify_data, KeyScheduleEarly, Secret};
use zerortt_core::crypto::keylog::KeyLogLabel;
use zerortt_core::crypto::kx::X25519KeyShare;
use zerortt_core::crypto::record_protection::{RecordDecrypter, RecordEncrypter};
use zerortt_core::crypto::sign::certificate_verify_message;
use zerortt_core::crypto::suites::{self, Tls13CipherSuite, ALL_CIPHER_SUITES};
use zerortt_core::identity::test_identity;
use zerortt_core::msgs::alert::Alert;
use zerortt_core::msgs::deframer::{HandshakeJoiner, RecordDeframer};
use zerortt_core::msgs::enums::{
    AlertDescription, CipherSuite, ContentType, NamedGroup, ProtocolVersion,
};
use zerortt_core::msgs::extensions::{HelloRetryExtension, KeyShareEntry, ServerExtension};
use zerortt_core::msgs::handshake::{
    CertificateEntry, CertificatePayload, CertificateVerify, ClientHello, HandshakeMessage,
    HandshakePayload, HelloRetryRequest, ServerHello,
};
use zerortt_core::msgs::record::Record;
use zerortt_core::tickets::session::ClientSession;
use zerortt_core::{Connection, Side};

/// Splits `wire` into complete records (our own peers' output: malformed input is a test
/// bug, hence the panics). Trailing bytes of an incomplete record are ignored.
pub fn records(wire: &[u8]) -> Vec<Record> {
    let mut deframer = RecordDeframer::new();
    let mut out = Vec::new();
    let mut rest = wire;
    loop {
        let n = deframer.push(rest);
        rest = &rest[n..];
        while let Some(record) = deframer.pop().expect("well-formed records") {
            out.push(record);
        }
        if n == 0 {
            return out;
        }
    }
}

/// A plaintext record of `typ` around `payload`, legacy version 0x0303.
pub fn plaintext_record(typ: ContentType, payload: &[u8]) -> Vec<u8> {
    Record {
        typ,
        version: ProtocolVersion::Tls12,
        payload: payload.to_vec(),
    }
    .get_encoding()
}

/// The encoding of one handshake message.
pub fn handshake_bytes(payload: HandshakePayload) -> Vec<u8> {
    HandshakeMessage::new(payload).get_encoding()
}

/// A client's first flight: the ClientHello and whatever records followed it (CCS, early
/// data).
#[derive(Clone, Debug)]
pub struct ClientFlight {
    /// The decoded ClientHello.
    pub hello: ClientHello,
    /// The ClientHello message exactly as sent (handshake header included).
    pub hello_raw: Vec<u8>,
    /// The complete records after the ClientHello's.
    pub after: Vec<Record>,
}

/// Parses a client's `write_tls` output that starts with a plaintext ClientHello.
pub fn parse_client_flight(wire: &[u8]) -> ClientFlight {
    let mut recs = records(wire).into_iter();
    let mut joiner = HandshakeJoiner::new();
    loop {
        let record = recs.next().expect("a ClientHello record");
        assert_eq!(
            record.typ,
            ContentType::Handshake,
            "ClientHello is plaintext"
        );
        joiner.push(&record.payload).expect("ClientHello fits");
        if let Some((msg, raw)) = joiner.pop().expect("a ClientHello that decodes") {
            let HandshakePayload::ClientHello(hello) = msg.payload else {
                panic!("expected a ClientHello, got {:?}", msg.typ);
            };
            return ClientFlight {
                hello,
                hello_raw: raw,
                after: recs.collect(),
            };
        }
    }
}

/// What the scripted server answers; each field is one way to misbehave.
#[derive(Clone, Debug)]
pub struct ServerScript {
    /// The cipher suite put in ServerHello (and used for the keys).
    pub suite: &'static Tls13CipherSuite,
    /// Resume with this PSK (no Certificate/CertificateVerify); `None`: full handshake.
    pub psk: Option<Vec<u8>>,
    /// `selected_identity` in the ServerHello's pre_shared_key (only with `psk`).
    pub selected_identity: u16,
    /// `supported_versions.selected_version`; `None` omits the extension.
    pub selected_version: Option<ProtocolVersion>,
    /// The EncryptedExtensions' extensions.
    pub encrypted_extensions: Vec<ServerExtension>,
    /// Flip one bit of the Finished verify_data.
    pub corrupt_finished: bool,
}

impl ServerScript {
    /// An honest resumption of `session` that accepts its early data.
    pub fn accept_early_data(session: &ClientSession) -> Self {
        Self {
            suite: suites::lookup(session.suite).expect("session suite"),
            psk: Some(session.psk.clone()),
            selected_identity: 0,
            selected_version: Some(ProtocolVersion::Tls13),
            encrypted_extensions: vec![ServerExtension::EarlyData],
            corrupt_finished: false,
        }
    }

    /// An honest resumption of `session` that rejects early data.
    pub fn reject_early_data(session: &ClientSession) -> Self {
        Self {
            encrypted_extensions: Vec::new(),
            ..Self::accept_early_data(session)
        }
    }

    /// An honest full handshake with the test Ed25519 identity.
    pub fn full_handshake(suite: &'static Tls13CipherSuite) -> Self {
        Self {
            suite,
            psk: None,
            selected_identity: 0,
            selected_version: Some(ProtocolVersion::Tls13),
            encrypted_extensions: Vec::new(),
            corrupt_finished: false,
        }
    }
}

/// The server's flight, one record per message, and the secrets behind it.
pub struct ServerFlight {
    /// Wire bytes of each record: ServerHello (plaintext), then one protected record per
    /// message.
    pub records: Vec<Vec<u8>>,
    /// server_handshake_traffic_secret.
    pub server_handshake_secret: Secret,
    /// client_handshake_traffic_secret.
    pub client_handshake_secret: Secret,
}

impl ServerFlight {
    /// All records, concatenated.
    pub fn bytes(&self) -> Vec<u8> {
        self.records.concat()
    }
}

/// A scripted server: remembers the transcript across a HelloRetryRequest.
pub struct ScriptedServer {
    /// What to answer.
    pub script: ServerScript,
    transcript: Option<Transcript>,
    /// Fixed ephemeral key: determinism without an RNG.
    key_share: X25519KeyShare,
}

impl ScriptedServer {
    /// A server that will answer with `script`.
    pub fn new(script: ServerScript) -> Self {
        Self {
            script,
            transcript: None,
            key_share: X25519KeyShare::from_private_bytes([0x42; 32]),
        }
    }

    /// A HelloRetryRequest (with a cookie, so that it changes something: RFC 9846 4.2.4)
    /// for `flight`, as one plaintext record. Starts the HRR transcript (section 4.4.1).
    pub fn hello_retry_request(&mut self, flight: &ClientFlight, cookie: &[u8]) -> Vec<u8> {
        let hash = self.script.suite.hash;
        let mut transcript = match self.transcript.take() {
            Some(t) => t,
            None => {
                let mut t = Transcript::new(hash);
                t.add(&flight.hello_raw);
                t.into_hello_retry_transcript()
            }
        };
        let hrr = handshake_bytes(HandshakePayload::HelloRetryRequest(HelloRetryRequest {
            legacy_version: ProtocolVersion::Tls12,
            legacy_session_id_echo: flight.hello.legacy_session_id.clone(),
            cipher_suite: self.script.suite.suite,
            legacy_compression_method: 0,
            extensions: vec![
                HelloRetryExtension::SupportedVersions(ProtocolVersion::Tls13),
                HelloRetryExtension::Cookie(cookie.to_vec()),
            ],
        }));
        transcript.add(&hrr);
        self.transcript = Some(transcript);
        plaintext_record(ContentType::Handshake, &hrr)
    }

    /// ServerHello, EncryptedExtensions, [Certificate, CertificateVerify], Finished for
    /// `flight` (a first ClientHello, or the second after [`Self::hello_retry_request`]).
    pub fn answer(&mut self, flight: &ClientFlight) -> ServerFlight {
        let s = self.script.clone();
        let mut transcript = self
            .transcript
            .take()
            .unwrap_or_else(|| Transcript::new(s.suite.hash));
        transcript.add(&flight.hello_raw);
        let client_share = flight
            .hello
            .key_shares()
            .and_then(|ks| ks.iter().find(|k| k.group == NamedGroup::X25519))
            .expect("an X25519 key share")
            .payload
            .clone();
        let shared = self.key_share.agree(&client_share).expect("X25519");

        let mut exts = Vec::new();
        if let Some(v) = s.selected_version {
            exts.push(ServerExtension::SupportedVersions(v));
        }
        exts.push(ServerExtension::KeyShare(KeyShareEntry {
            group: NamedGroup::X25519,
            payload: self.key_share.public_key().to_vec(),
        }));
        if s.psk.is_some() {
            exts.push(ServerExtension::PreSharedKey(s.selected_identity));
        }
        let sh = handshake_bytes(HandshakePayload::ServerHello(ServerHello {
            legacy_version: ProtocolVersion::Tls12,
            random: [0x5a; 32],
            legacy_session_id_echo: flight.hello.legacy_session_id.clone(),
            cipher_suite: s.suite.suite,
            legacy_compression_method: 0,
            extensions: exts,
        }));
        transcript.add(&sh);
        let mut out = vec![plaintext_record(ContentType::Handshake, &sh)];

        let hello_hash = transcript.current_hash();
        let hs = KeyScheduleEarly::new(s.suite.hash, s.psk.as_deref())
            .into_handshake(Some(shared.as_ref()));
        let server_hs = hs.server_handshake_traffic_secret(&hello_hash);
        let client_hs = hs.client_handshake_traffic_secret(&hello_hash);
        let mut enc = RecordEncrypter::new(s.suite, &server_hs).expect("keys");
        let mut send = |transcript: &mut Transcript, payload: HandshakePayload| {
            let raw = handshake_bytes(payload);
            transcript.add(&raw);
            out.push(enc.encrypt(ContentType::Handshake, &raw, 0).expect("seal"));
        };
        send(
            &mut transcript,
            HandshakePayload::EncryptedExtensions(s.encrypted_extensions.clone()),
        );
        if s.psk.is_none() {
            let identity = test_identity::ed25519();
            let entries = identity
                .cert_chain
                .iter()
                .map(|der| CertificateEntry {
                    cert_data: der.clone(),
                    extensions: Vec::new(),
                })
                .collect();
            send(
                &mut transcript,
                HandshakePayload::Certificate(CertificatePayload {
                    context: Vec::new(),
                    entries,
                }),
            );
            let message = certificate_verify_message(true, transcript.current_hash().as_ref());
            send(
                &mut transcript,
                HandshakePayload::CertificateVerify(CertificateVerify {
                    scheme: identity.key.scheme(),
                    signature: identity.key.sign(&message),
                }),
            );
        }
        let mut fin = verify_data(&server_hs, &transcript.current_hash())
            .as_ref()
            .to_vec();
        if s.corrupt_finished {
            fin[0] ^= 0x01;
        }
        send(&mut transcript, HandshakePayload::Finished(fin));
        ServerFlight {
            records: out,
            server_handshake_secret: server_hs,
            client_handshake_secret: client_hs,
        }
    }
}

/// What a TLS 1.2 server answers to `flight`: a ServerHello without supported_versions
/// (RFC 9846 4.2.1), suite ECDHE-ECDSA-AES128-GCM-SHA256, as one plaintext record.
pub fn tls12_server_hello(flight: &ClientFlight) -> Vec<u8> {
    let sh = handshake_bytes(HandshakePayload::ServerHello(ServerHello {
        legacy_version: ProtocolVersion::Tls12,
        random: [0x12; 32],
        legacy_session_id_echo: flight.hello.legacy_session_id.clone(),
        cipher_suite: CipherSuite::from(0xc02b),
        legacy_compression_method: 0,
        extensions: Vec::new(),
    }));
    plaintext_record(ContentType::Handshake, &sh)
}

/// The secret with `label` among the `SecretDerived` events, if logged.
pub fn logged_secret(events: &[Event], label: KeyLogLabel) -> Option<Secret> {
    events.iter().rev().find_map(|e| match e {
        Event::SecretDerived(entry) if entry.label == label => ALL_CIPHER_SUITES
            .iter()
            .find_map(|s| Secret::from_bytes(s.hash, &entry.secret)),
        _ => None,
    })
}

/// An encrypter under `secret` whose next record uses sequence number `seq`, to inject
/// records into a stream a real peer has already written `seq` records to.
pub fn encrypter_at(suite: &Tls13CipherSuite, secret: &Secret, seq: u64) -> RecordEncrypter {
    let mut enc = RecordEncrypter::new(suite, secret).expect("keys");
    for _ in 0..seq {
        enc.encrypt(ContentType::ApplicationData, &[], 0)
            .expect("seal");
    }
    enc
}

/// The secrets a connection on `side` sends under, as logged in `events`.
fn sending_secrets(side: Side, events: &[Event]) -> Vec<Secret> {
    let labels: &[KeyLogLabel] = match side {
        Side::Client => &[
            KeyLogLabel::ClientEarlyTrafficSecret,
            KeyLogLabel::ClientHandshakeTrafficSecret,
            KeyLogLabel::ClientTrafficSecret0,
        ],
        Side::Server => &[
            KeyLogLabel::ServerHandshakeTrafficSecret,
            KeyLogLabel::ServerTrafficSecret0,
        ],
    };
    labels
        .iter()
        .filter_map(|l| logged_secret(events, *l))
        .collect()
}

/// Most records a peer sends under one key in these tests; bounds the nonce search.
const MAX_SEQ: u64 = 64;

/// Decodes an alert record: plaintext, or protected under one of `secrets` (any suite with
/// a matching hash, any sequence number below [`MAX_SEQ`]).
fn open_alert(record: &Record, secrets: &[Secret]) -> Option<Alert> {
    match record.typ {
        ContentType::Alert => Alert::read_bytes(&record.payload).ok(),
        ContentType::ApplicationData => {
            let header = record.header();
            for secret in secrets {
                for suite in ALL_CIPHER_SUITES
                    .iter()
                    .filter(|s| s.hash == secret.algorithm())
                {
                    let mut dec = RecordDecrypter::new(suite, secret).ok()?;
                    // A failed decrypt uses its sequence number up: this walks the nonces.
                    for _ in 0..MAX_SEQ {
                        if let Ok((typ, content)) = dec.decrypt(&header, &record.payload) {
                            return (typ == ContentType::Alert)
                                .then(|| Alert::read_bytes(&content).ok())
                                .flatten();
                        }
                    }
                }
            }
            None
        }
        _ => None,
    }
}

/// Takes what `conn` wrote and returns the alert in its last record (decrypted with the
/// secrets `conn` logged if it is protected), and how many bytes were written. `events`
/// accumulates every event of `conn` seen so far (this drains the new ones into it).
pub fn take_written_alert(
    conn: &mut Connection,
    events: &mut Vec<Event>,
) -> (Option<Alert>, usize) {
    events.extend(conn.take_events());
    let mut wire = Vec::new();
    let n = conn.write_tls(&mut wire);
    let secrets = sending_secrets(conn.side(), events);
    let alert = records(&wire).last().and_then(|r| open_alert(r, &secrets));
    (alert, n)
}

/// The fatal alert `description`, as it must appear on the wire.
pub fn fatal(description: AlertDescription) -> Alert {
    Alert::fatal(description)
}
