//! The TLS 1.3 wire format against the RFC 8448 draft-07 trace, constructed values of
//! every message, malformed input with the alert each failure sends, and bolero
//! properties that no input makes a decoder panic and that whatever decodes re-encodes
//! to the very same bytes.
#[path = "common/vectors.rs"]
mod vectors;

use std::fmt::Debug;

use zerortt_core::codec::{Codec, Reader};
use zerortt_core::msgs::alert::Alert;
use zerortt_core::msgs::deframer::{
    HandshakeJoiner, RecordDeframer, DEFRAMER_CAPACITY, MAX_HANDSHAKE_MESSAGE_LEN,
};
use zerortt_core::msgs::enums::{
    AlertDescription, AlertLevel, CipherSuite, ContentType, ExtensionType, HandshakeType,
    KeyUpdateRequest, NamedGroup, ProtocolVersion, PskKeyExchangeMode, ServerNameType,
    SignatureScheme,
};
use zerortt_core::msgs::extensions::{
    put_extensions, read_client_extensions, read_extensions, CertificateExtension,
    CertificateRequestExtension, ClientExtension, HelloRetryExtension, KeyShareEntry,
    NewSessionTicketExtension, PresharedKeyIdentity, PresharedKeyOffer, ServerExtension,
    ServerExtensions, ServerNameEntry,
};
use zerortt_core::msgs::handshake::{
    truncate_for_binders, CertificateEntry, CertificatePayload, CertificateRequest,
    CertificateVerify, ClientHello, HandshakeMessage, HandshakePayload, HelloRetryRequest,
    NewSessionTicket, ServerHello, HELLO_RETRY_REQUEST_RANDOM,
};
use zerortt_core::msgs::record::{
    InnerPlaintext, Record, MAX_CIPHERTEXT_LEN, MAX_FRAGMENT_LEN, RECORD_HEADER_LEN,
};
use zerortt_core::InvalidMessage;

// ---------------------------------------------------------------------------------------
// Helpers

fn decode_message(bytes: &[u8]) -> HandshakeMessage {
    let msg = HandshakeMessage::read_bytes(bytes)
        .unwrap_or_else(|e| panic!("vector message does not decode: {e:?}"));
    assert_eq!(
        msg.get_encoding(),
        bytes,
        "re-encoding {:?} changed the bytes",
        msg.typ
    );
    msg
}

fn construct(section: u32, who: &str, what: &str, n: usize) -> &'static [u8] {
    vectors::step(
        section,
        who,
        &format!("construct a {what} handshake message"),
        n,
    )
    .get(what)
}

fn client_hello(msg: HandshakeMessage) -> ClientHello {
    match msg.payload {
        HandshakePayload::ClientHello(ch) => ch,
        other => panic!("expected ClientHello, got {other:?}"),
    }
}

fn server_hello(msg: HandshakeMessage) -> ServerHello {
    match msg.payload {
        HandshakePayload::ServerHello(sh) => sh,
        other => panic!("expected ServerHello, got {other:?}"),
    }
}

fn encrypted_extensions(msg: HandshakeMessage) -> Vec<ServerExtension> {
    match msg.payload {
        HandshakePayload::EncryptedExtensions(ee) => ee,
        other => panic!("expected EncryptedExtensions, got {other:?}"),
    }
}

fn new_session_ticket(msg: HandshakeMessage) -> NewSessionTicket {
    match msg.payload {
        HandshakePayload::NewSessionTicket(t) => t,
        other => panic!("expected NewSessionTicket, got {other:?}"),
    }
}

/// The section 4 (resumed, 0-RTT) ClientHello as sent, binders included. The trace's
/// "ClientHello" value in that section is the binder-less prefix.
fn resumed_client_hello_bytes() -> &'static [u8] {
    vectors::step(4, "client", "send handshake record", 0).get("payload")
}

fn assert_fails<T: Debug>(
    got: Result<T, InvalidMessage>,
    want: InvalidMessage,
    alert: AlertDescription,
) {
    match got {
        Err(e) => {
            assert_eq!(e, want);
            assert_eq!(e.alert(), alert, "{e:?} sends the wrong alert");
        }
        Ok(v) => panic!("expected {want:?}, decoded {v:?}"),
    }
}

fn roundtrip<T: Codec + PartialEq + Debug>(value: &T) {
    let bytes = value.get_encoding();
    assert_eq!(
        T::read_bytes(&bytes).as_ref(),
        Ok(value),
        "bytes {bytes:02x?}"
    );
}

// ---------------------------------------------------------------------------------------
// Known answers: section 3 (full handshake)

#[test]
fn the_full_handshake_client_hello_decodes_and_re_encodes_byte_for_byte() {
    let ch = client_hello(decode_message(construct(3, "client", "ClientHello", 0)));
    assert_eq!(ch.legacy_version, ProtocolVersion::Tls12);
    assert_eq!(
        ch.cipher_suites,
        vec![
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
            CipherSuite::TLS13_AES_256_GCM_SHA384
        ]
    );
    assert_eq!(ch.legacy_compression_methods, vec![0]);
    assert_eq!(ch.server_name(), Some(&b"server"[..]));
    assert_eq!(ch.supported_versions(), Some(&[ProtocolVersion::Tls13][..]));
    assert_eq!(ch.psk_modes(), Some(&[PskKeyExchangeMode::PskDheKe][..]));
    let shares = ch.key_shares().unwrap();
    assert_eq!(shares.len(), 1);
    assert_eq!(shares[0].group, NamedGroup::X25519);
    assert_eq!(
        shares[0].payload,
        vectors::step(3, "client", "create an ephemeral x25519 key pair", 0).get("public key")
    );
    assert_eq!(ch.named_groups().unwrap()[0], NamedGroup::X25519);
    assert_eq!(
        ch.signature_schemes().unwrap()[0],
        SignatureScheme::EcdsaSecp256r1Sha256
    );
    assert!(!ch.early_data_offered());
    assert!(ch.psk_offer().is_none());
    assert_eq!(ch.binders_len(), 0);
    // renegotiation_info, session_ticket and record_size_limit are kept opaque.
    for unknown in [0xff01, 0x0023, 0x001c] {
        assert!(matches!(
            ch.find_extension(ExtensionType::from(unknown)),
            Some(ClientExtension::Unknown { .. })
        ));
    }
}

#[test]
fn the_full_handshake_server_hello_carries_the_server_share_and_tls13() {
    let sh = server_hello(decode_message(construct(3, "server", "ServerHello", 0)));
    assert_eq!(sh.cipher_suite, CipherSuite::TLS13_AES_128_GCM_SHA256);
    assert_eq!(sh.selected_version(), Some(ProtocolVersion::Tls13));
    let share = sh.key_share().unwrap();
    assert_eq!(share.group, NamedGroup::X25519);
    assert_eq!(
        share.payload,
        vectors::step(3, "server", "create an ephemeral x25519 key pair", 0).get("public key")
    );
    assert_eq!(sh.selected_psk_identity(), None);
}

#[test]
fn the_full_handshake_encrypted_extensions_do_not_accept_early_data() {
    let ee = encrypted_extensions(decode_message(construct(
        3,
        "server",
        "EncryptedExtensions",
        0,
    )));
    assert!(!ee.early_data_accepted());
    assert!(ee.server_name_acknowledged());
    assert_eq!(ee.named_groups().unwrap().len(), 9);
}

#[test]
fn the_certificate_message_holds_one_der_certificate() {
    let msg = decode_message(construct(3, "server", "Certificate", 0));
    let HandshakePayload::Certificate(cert) = msg.payload else {
        panic!("not a Certificate: {msg:?}");
    };
    assert!(cert.context.is_empty());
    assert_eq!(cert.entries.len(), 1);
    assert_eq!(cert.entries[0].cert_data.len(), 0x1b0);
    assert_eq!(cert.entries[0].cert_data[..2], [0x30, 0x82]);
    assert!(cert.entries[0].extensions.is_empty());
}

#[test]
fn the_certificate_verify_message_carries_an_rsa_pss_signature() {
    let msg = decode_message(construct(3, "server", "CertificateVerify", 0));
    let HandshakePayload::CertificateVerify(cv) = msg.payload else {
        panic!("not a CertificateVerify: {msg:?}");
    };
    assert_eq!(cv.scheme, SignatureScheme::RsaPssRsaeSha256);
    assert_eq!(cv.signature.len(), 128);
}

#[test]
fn finished_messages_carry_the_computed_verify_data() {
    for (section, who) in [(3, "server"), (3, "client"), (4, "server"), (4, "client")] {
        let msg = decode_message(construct(section, who, "Finished", 0));
        // The listing also has "calculate finished (same as ...)" steps without values.
        let verify_data = vectors::steps()
            .iter()
            .filter(|s| s.section == section && s.who == who)
            .filter(|s| s.action.starts_with("calculate finished"))
            .find_map(|s| s.values.iter().find(|(l, _)| l == "finished"))
            .map(|(_, v)| v.as_slice())
            .unwrap();
        assert_eq!(
            msg.payload,
            HandshakePayload::Finished(verify_data.to_vec())
        );
    }
}

#[test]
fn the_new_session_ticket_allows_1024_bytes_of_early_data() {
    let nst = new_session_ticket(decode_message(construct(
        3,
        "server",
        "NewSessionTicket",
        0,
    )));
    assert_eq!(nst.max_early_data_size(), Some(1024));
    assert_eq!(nst.lifetime, 30);
    assert_eq!(nst.nonce, vec![0, 0]);
    assert_eq!(nst.ticket.len(), 0xb2);
}

// ---------------------------------------------------------------------------------------
// Known answers: section 4 (resumed handshake with 0-RTT)

#[test]
fn the_0rtt_client_hello_offers_the_ticket_with_its_obfuscated_age_and_one_binder() {
    let bytes = resumed_client_hello_bytes();
    let ch = client_hello(decode_message(bytes));
    assert!(ch.early_data_offered());
    assert_eq!(
        ch.extensions
            .last()
            .map(|e| matches!(e, ClientExtension::PreSharedKey(_))),
        Some(true)
    );
    let nst = new_session_ticket(decode_message(construct(
        3,
        "server",
        "NewSessionTicket",
        0,
    )));
    let offer = ch.psk_offer().unwrap();
    assert_eq!(offer.identities.len(), 1);
    assert_eq!(offer.identities[0].identity, nst.ticket);
    // ticket_age_add + the ticket's age (5 ms in the trace), mod 2^32 (4.2.11.1).
    assert_eq!(offer.identities[0].obfuscated_ticket_age, 0x933d_0937);
    assert_eq!(
        offer.identities[0]
            .obfuscated_ticket_age
            .wrapping_sub(nst.age_add),
        5
    );
    assert_eq!(offer.binders.len(), 1);
    assert_eq!(offer.binders[0].len(), 32);
    assert_eq!(
        offer.binders[0],
        vectors::step(4, "client", "calculate PSK binder", 0).get("finished")
    );
    assert_eq!(ch.binders_len(), 2 + 1 + 32);
}

#[test]
fn truncate_for_binders_leaves_exactly_the_bytes_before_the_binders_list() {
    let bytes = resumed_client_hello_bytes();
    let ch = client_hello(decode_message(bytes));
    let prefix = truncate_for_binders(bytes, ch.binders_len()).unwrap();
    assert_eq!(
        prefix,
        vectors::step(4, "client", "calculate PSK binder", 0).get("ClientHello prefix")
    );
    assert_eq!(prefix, construct(4, "client", "ClientHello", 0));
    assert_eq!(truncate_for_binders(bytes, bytes.len() + 1), None);
}

#[test]
fn set_binders_with_placeholders_then_real_values_reproduces_the_trace() {
    let bytes = resumed_client_hello_bytes();
    let mut ch = client_hello(decode_message(bytes));
    let real = ch.psk_offer().unwrap().binders.clone();
    assert!(ch.set_binders(vec![vec![0; 32]]));
    let placeholder =
        HandshakeMessage::new(HandshakePayload::ClientHello(ch.clone())).get_encoding();
    assert_eq!(
        truncate_for_binders(&placeholder, ch.binders_len()).unwrap(),
        construct(4, "client", "ClientHello", 0)
    );
    assert!(ch.set_binders(real));
    assert_eq!(
        HandshakeMessage::new(HandshakePayload::ClientHello(ch)).get_encoding(),
        bytes
    );
    let mut without_psk = client_hello(decode_message(construct(3, "client", "ClientHello", 0)));
    assert!(!without_psk.set_binders(vec![vec![0; 32]]));
}

#[test]
fn the_0rtt_server_hello_selects_the_first_identity() {
    let sh = server_hello(decode_message(construct(4, "server", "ServerHello", 0)));
    assert_eq!(sh.selected_psk_identity(), Some(0));
    assert_eq!(sh.selected_version(), Some(ProtocolVersion::Tls13));
}

#[test]
fn the_0rtt_encrypted_extensions_accept_early_data() {
    let ee = encrypted_extensions(decode_message(construct(
        4,
        "server",
        "EncryptedExtensions",
        0,
    )));
    assert!(ee.early_data_accepted());
}

#[test]
fn end_of_early_data_is_an_empty_body() {
    let msg = decode_message(construct(4, "client", "EndOfEarlyData", 0));
    assert_eq!(msg.typ, HandshakeType::EndOfEarlyData);
    assert_eq!(msg.payload, HandshakePayload::EndOfEarlyData);
}

// ---------------------------------------------------------------------------------------
// Known answers: section 5 (HelloRetryRequest)

#[test]
fn a_server_hello_with_the_special_random_is_a_hello_retry_request() {
    let bytes = construct(5, "server", "ServerHello", 0);
    assert_eq!(bytes[6..38], HELLO_RETRY_REQUEST_RANDOM);
    let msg = decode_message(bytes);
    let HandshakePayload::HelloRetryRequest(hrr) = msg.payload else {
        panic!("not an HRR: {msg:?}");
    };
    assert_eq!(hrr.selected_version(), Some(ProtocolVersion::Tls13));
    let cookie = hrr.cookie().unwrap().to_vec();
    // ClientHello2 echoes the cookie (RFC 9846 section 4.3.2).
    let ch2 = client_hello(decode_message(construct(5, "client", "ClientHello", 1)));
    assert_eq!(ch2.cookie(), Some(cookie.as_slice()));
}

// ---------------------------------------------------------------------------------------
// Records, deframer and joiner against the trace

#[test]
fn a_plaintext_record_from_the_trace_decodes_with_its_header_intact() {
    let step = vectors::step(3, "client", "send handshake record", 0);
    let wire = step.get("complete record");
    let rec = Record::read_bytes(wire).unwrap();
    assert_eq!(rec.typ, ContentType::Handshake);
    assert_eq!(rec.version, ProtocolVersion::Tls10);
    assert_eq!(rec.payload, step.get("payload"));
    assert_eq!(rec.header(), wire[..RECORD_HEADER_LEN]);
    assert_eq!(rec.get_encoding(), wire);
}

#[test]
fn the_server_flight_deframes_byte_by_byte_and_joins_into_its_messages() {
    let records: Vec<&[u8]> = (0..3)
        .map(|n| vectors::step(3, "server", "send handshake record", n).get("complete record"))
        .collect();
    let stream: Vec<u8> = records.concat();
    let mut deframer = RecordDeframer::new();
    let mut got = Vec::new();
    for byte in &stream {
        assert_eq!(deframer.push(std::slice::from_ref(byte)), 1);
        while let Some(rec) = deframer.pop().unwrap() {
            got.push(rec);
        }
    }
    assert!(deframer.is_empty());
    assert_eq!(got.len(), 3);
    for (rec, wire) in got.iter().zip(&records) {
        assert_eq!(rec.header(), wire[..RECORD_HEADER_LEN]);
        assert_eq!(rec.get_encoding(), *wire);
    }
    assert_eq!(got[1].typ, ContentType::ApplicationData);
    assert_eq!(got[1].version, ProtocolVersion::Tls12);

    // The decrypted content of the second record: EE, Certificate, CV, Finished,
    // fed to the joiner in 7-byte pieces so that every message spans pieces.
    let flight = vectors::step(3, "server", "send handshake record", 1).get("payload");
    let mut joiner = HandshakeJoiner::new();
    let mut messages = Vec::new();
    for piece in flight.chunks(7) {
        joiner.push(piece).unwrap();
        while let Some((msg, raw)) = joiner.pop().unwrap() {
            messages.push((msg.typ, raw));
        }
    }
    assert!(joiner.is_empty());
    let want = [
        (HandshakeType::EncryptedExtensions, "EncryptedExtensions"),
        (HandshakeType::Certificate, "Certificate"),
        (HandshakeType::CertificateVerify, "CertificateVerify"),
        (HandshakeType::Finished, "Finished"),
    ];
    assert_eq!(messages.len(), want.len());
    for ((typ, raw), (want_typ, name)) in messages.iter().zip(want) {
        assert_eq!(*typ, want_typ);
        assert_eq!(raw.as_slice(), construct(3, "server", name, 0));
    }
}

#[test]
fn a_record_holding_several_messages_yields_them_all_in_order() {
    let flight = vectors::step(4, "server", "send handshake record", 1).get("payload");
    let mut joiner = HandshakeJoiner::new();
    joiner.push(flight).unwrap();
    let (ee, ee_raw) = joiner.pop().unwrap().unwrap();
    let (fin, fin_raw) = joiner.pop().unwrap().unwrap();
    assert_eq!(joiner.pop(), Ok(None));
    assert_eq!(ee.typ, HandshakeType::EncryptedExtensions);
    assert_eq!(fin.typ, HandshakeType::Finished);
    assert_eq!([ee_raw, fin_raw].concat(), flight);
}

#[test]
fn a_pending_fragment_keeps_the_joiner_non_empty() {
    let fin = construct(3, "client", "Finished", 0);
    let mut joiner = HandshakeJoiner::new();
    joiner.push(&fin[..10]).unwrap();
    assert_eq!(joiner.pop(), Ok(None));
    assert!(!joiner.is_empty());
    joiner.push(&fin[10..]).unwrap();
    assert!(joiner.pop().unwrap().is_some());
    assert!(joiner.is_empty());
}

#[test]
fn the_close_notify_alert_from_the_trace_decodes() {
    let payload = vectors::step(3, "client", "send alert record", 0).get("payload");
    let alert = Alert::read_bytes(payload).unwrap();
    assert_eq!(alert, Alert::close_notify());
    assert_eq!(alert.level, AlertLevel::Warning);
    assert_eq!(alert.get_encoding(), payload);
}

// ---------------------------------------------------------------------------------------
// Constructed values of every message type round-trip

fn identity(n: u8) -> PresharedKeyIdentity {
    PresharedKeyIdentity {
        identity: vec![n; 40],
        obfuscated_ticket_age: 0xdead_beef,
    }
}

fn every_client_extension() -> Vec<ClientExtension> {
    vec![
        ClientExtension::ServerName(vec![ServerNameEntry {
            typ: ServerNameType::HostName,
            name: b"example.com".to_vec(),
        }]),
        ClientExtension::SupportedGroups(vec![NamedGroup::X25519, NamedGroup::Secp256r1]),
        ClientExtension::SignatureAlgorithms(vec![
            SignatureScheme::Ed25519,
            SignatureScheme::Unknown(0x0b0b),
        ]),
        ClientExtension::Alpn(vec![b"h2".to_vec(), b"http/1.1".to_vec()]),
        ClientExtension::SupportedVersions(vec![ProtocolVersion::Tls13, ProtocolVersion::Tls12]),
        ClientExtension::KeyShare(vec![KeyShareEntry {
            group: NamedGroup::X25519,
            payload: vec![9; 32],
        }]),
        ClientExtension::PskKeyExchangeModes(vec![
            PskKeyExchangeMode::PskDheKe,
            PskKeyExchangeMode::PskKe,
        ]),
        ClientExtension::EarlyData,
        ClientExtension::Cookie(vec![1, 2, 3]),
        ClientExtension::Unknown {
            typ: ExtensionType::Unknown(0x1a1a),
            body: vec![],
        },
        ClientExtension::PreSharedKey(PresharedKeyOffer {
            identities: vec![identity(1), identity(2)],
            binders: vec![vec![0xaa; 32], vec![0xbb; 48]],
        }),
    ]
}

fn sample_client_hello() -> ClientHello {
    ClientHello {
        legacy_version: ProtocolVersion::Tls12,
        random: [7; 32],
        legacy_session_id: vec![5; 32],
        cipher_suites: vec![
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            CipherSuite::Unknown(0x0a0a),
        ],
        legacy_compression_methods: vec![0],
        extensions: every_client_extension(),
    }
}

fn every_message() -> Vec<HandshakePayload> {
    vec![
        HandshakePayload::ClientHello(sample_client_hello()),
        HandshakePayload::ServerHello(ServerHello {
            legacy_version: ProtocolVersion::Tls12,
            random: [3; 32],
            legacy_session_id_echo: vec![5; 32],
            cipher_suite: CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
            legacy_compression_method: 0,
            extensions: vec![
                ServerExtension::SupportedVersions(ProtocolVersion::Tls13),
                ServerExtension::KeyShare(KeyShareEntry {
                    group: NamedGroup::X25519,
                    payload: vec![4; 32],
                }),
                ServerExtension::PreSharedKey(1),
            ],
        }),
        HandshakePayload::HelloRetryRequest(HelloRetryRequest {
            legacy_version: ProtocolVersion::Tls12,
            legacy_session_id_echo: vec![],
            cipher_suite: CipherSuite::TLS13_AES_256_GCM_SHA384,
            legacy_compression_method: 0,
            extensions: vec![
                HelloRetryExtension::SupportedVersions(ProtocolVersion::Tls13),
                HelloRetryExtension::KeyShare(NamedGroup::Secp256r1),
                HelloRetryExtension::Cookie(vec![0xc0; 100]),
                HelloRetryExtension::Unknown {
                    typ: ExtensionType::Unknown(0x2a2a),
                    body: vec![1],
                },
            ],
        }),
        HandshakePayload::EncryptedExtensions(vec![
            ServerExtension::ServerNameAck,
            ServerExtension::SupportedGroups(vec![NamedGroup::X25519]),
            ServerExtension::Alpn(b"h2".to_vec()),
            ServerExtension::EarlyData,
            ServerExtension::Unknown {
                typ: ExtensionType::Unknown(0x001c),
                body: vec![0x40, 0x01],
            },
        ]),
        HandshakePayload::EncryptedExtensions(vec![]),
        HandshakePayload::Certificate(CertificatePayload {
            context: vec![],
            entries: vec![
                CertificateEntry {
                    cert_data: vec![0x30; 300],
                    extensions: vec![CertificateExtension {
                        typ: ExtensionType::Unknown(5),
                        body: vec![1, 2],
                    }],
                },
                CertificateEntry {
                    cert_data: vec![0x30; 3],
                    extensions: vec![],
                },
            ],
        }),
        HandshakePayload::CertificateRequest(CertificateRequest {
            context: vec![1, 2, 3],
            extensions: vec![
                CertificateRequestExtension::SignatureAlgorithms(vec![SignatureScheme::Ed25519]),
                CertificateRequestExtension::Unknown {
                    typ: ExtensionType::Unknown(47),
                    body: vec![0, 0],
                },
            ],
        }),
        HandshakePayload::CertificateVerify(CertificateVerify {
            scheme: SignatureScheme::EcdsaSecp256r1Sha256,
            signature: vec![0x11; 71],
        }),
        HandshakePayload::Finished(vec![0x22; 48]),
        HandshakePayload::NewSessionTicket(NewSessionTicket {
            lifetime: 604_800,
            age_add: 0x0102_0304,
            nonce: vec![],
            ticket: vec![0x33; 200],
            extensions: vec![
                NewSessionTicketExtension::EarlyData(u32::MAX),
                NewSessionTicketExtension::Unknown {
                    typ: ExtensionType::Unknown(0x3a3a),
                    body: vec![],
                },
            ],
        }),
        HandshakePayload::EndOfEarlyData,
        HandshakePayload::KeyUpdate(KeyUpdateRequest::UpdateRequested),
        HandshakePayload::KeyUpdate(KeyUpdateRequest::UpdateNotRequested),
        HandshakePayload::MessageHash(vec![0x44; 32]),
    ]
}

#[test]
fn every_constructed_handshake_message_decodes_to_itself() {
    for payload in every_message() {
        let msg = HandshakeMessage::new(payload.clone());
        assert_eq!(msg.typ, payload.typ());
        roundtrip(&msg);
    }
}

#[test]
fn every_client_extension_decodes_to_itself_and_accessors_find_it() {
    for ext in every_client_extension() {
        roundtrip(&ext);
    }
    let ch = sample_client_hello();
    assert_eq!(ch.server_name(), Some(&b"example.com"[..]));
    assert_eq!(ch.alpn_protocols().unwrap().len(), 2);
    assert_eq!(ch.cookie(), Some(&[1u8, 2, 3][..]));
    assert_eq!(ch.psk_offer().unwrap().identities.len(), 2);
    assert_eq!(ch.binders_len(), 2 + 33 + 49);
    let encoded = HandshakeMessage::new(HandshakePayload::ClientHello(ch.clone())).get_encoding();
    let prefix = truncate_for_binders(&encoded, ch.binders_len()).unwrap();
    assert_eq!(encoded[prefix.len()..][..2], [0, 33 + 49]);
}

#[test]
fn records_alerts_and_inner_plaintexts_decode_to_themselves() {
    for (typ, len) in [
        (ContentType::Handshake, MAX_FRAGMENT_LEN),
        (ContentType::Alert, 2),
        (ContentType::ChangeCipherSpec, 1),
        (ContentType::ApplicationData, MAX_CIPHERTEXT_LEN),
        (ContentType::ApplicationData, 0),
    ] {
        roundtrip(&Record {
            typ,
            version: ProtocolVersion::Tls12,
            payload: vec![1; len],
        });
    }
    roundtrip(&Alert::fatal(AlertDescription::IllegalParameter));
    roundtrip(&Alert {
        level: AlertLevel::Unknown(9),
        description: AlertDescription::Unknown(200),
    });
    for padding_len in [0, 1, 100] {
        roundtrip(&InnerPlaintext {
            content: b"GET /".to_vec(),
            typ: ContentType::ApplicationData,
            padding_len,
        });
    }
    roundtrip(&InnerPlaintext::new(ContentType::ApplicationData, vec![]));
    roundtrip(&InnerPlaintext::new(
        ContentType::Handshake,
        vec![0; MAX_FRAGMENT_LEN],
    ));
}

// ---------------------------------------------------------------------------------------
// Malformed input: the specific error and the alert it sends

#[test]
fn a_truncated_client_hello_is_a_decode_error() {
    let bytes = construct(3, "client", "ClientHello", 0);
    for cut in [1, 4, 40, bytes.len() - 1] {
        assert_fails(
            HandshakeMessage::read_bytes(&bytes[..cut]),
            InvalidMessage::Truncated,
            AlertDescription::DecodeError,
        );
    }
}

#[test]
fn an_extension_length_running_past_its_block_is_a_decode_error() {
    // EE with one extension claiming 3 bytes of a 2-byte block.
    let bytes = [8, 0, 0, 6, 0, 4, 0, 42, 0, 3];
    assert_fails(
        HandshakeMessage::read_bytes(&bytes),
        InvalidMessage::Truncated,
        AlertDescription::DecodeError,
    );
}

#[test]
fn a_session_id_over_32_bytes_is_a_decode_error() {
    let mut ch = sample_client_hello();
    ch.legacy_session_id = vec![0; 33];
    assert_fails(
        ClientHello::read_bytes(&ch.get_encoding()),
        InvalidMessage::LengthOutOfRange("legacy_session_id"),
        AlertDescription::DecodeError,
    );
}

#[test]
fn an_empty_ticket_is_a_decode_error() {
    let nst = NewSessionTicket {
        lifetime: 1,
        age_add: 2,
        nonce: vec![],
        ticket: vec![],
        extensions: vec![],
    };
    assert_fails(
        NewSessionTicket::read_bytes(&nst.get_encoding()),
        InvalidMessage::EmptyVector,
        AlertDescription::DecodeError,
    );
}

#[test]
fn an_empty_psk_identity_or_cookie_is_a_decode_error() {
    let mut offer = PresharedKeyOffer {
        identities: vec![identity(1)],
        binders: vec![vec![0; 32]],
    };
    offer.identities[0].identity.clear();
    assert_fails(
        ClientExtension::read_bytes(&ClientExtension::PreSharedKey(offer).get_encoding()),
        InvalidMessage::EmptyVector,
        AlertDescription::DecodeError,
    );
    assert_fails(
        ClientExtension::read_bytes(&ClientExtension::Cookie(vec![]).get_encoding()),
        InvalidMessage::EmptyVector,
        AlertDescription::DecodeError,
    );
}

#[test]
fn a_binder_shorter_than_32_bytes_is_a_decode_error() {
    let offer = PresharedKeyOffer {
        identities: vec![identity(1)],
        binders: vec![vec![0; 31]],
    };
    assert_fails(
        PresharedKeyOffer::read_bytes(&offer.get_encoding()),
        InvalidMessage::LengthOutOfRange("PskBinderEntry"),
        AlertDescription::DecodeError,
    );
}

#[test]
fn more_binders_than_identities_is_an_illegal_parameter() {
    let offer = PresharedKeyOffer {
        identities: vec![identity(1)],
        binders: vec![vec![0; 32], vec![0; 32]],
    };
    assert!(matches!(
        PresharedKeyOffer::read_bytes(&offer.get_encoding()),
        Err(e @ InvalidMessage::IllegalParameter(_)) if e.alert() == AlertDescription::IllegalParameter
    ));
}

#[test]
fn a_server_alpn_naming_two_protocols_is_an_illegal_parameter() {
    let two = ClientExtension::Alpn(vec![b"h2".to_vec(), b"h3".to_vec()]).get_encoding();
    assert!(matches!(
        ServerExtension::read_bytes(&two),
        Err(e @ InvalidMessage::IllegalParameter(_)) if e.alert() == AlertDescription::IllegalParameter
    ));
}

#[test]
fn a_zero_length_alpn_name_is_a_decode_error() {
    let ext = ClientExtension::Alpn(vec![vec![]]).get_encoding();
    assert_fails(
        ClientExtension::read_bytes(&ext),
        InvalidMessage::EmptyVector,
        AlertDescription::DecodeError,
    );
}

#[test]
fn a_duplicate_extension_is_an_illegal_parameter() {
    let exts = vec![
        ServerExtension::EarlyData,
        ServerExtension::ServerNameAck,
        ServerExtension::EarlyData,
    ];
    let mut body = Vec::new();
    put_extensions(&exts, &mut body);
    assert_fails(
        read_extensions::<ServerExtension>(&mut Reader::new(&body)),
        InvalidMessage::DuplicateExtension(ExtensionType::EarlyData),
        AlertDescription::IllegalParameter,
    );
    let mut ch = sample_client_hello();
    ch.extensions.insert(0, ClientExtension::EarlyData);
    assert_fails(
        ClientHello::read_bytes(&ch.get_encoding()),
        InvalidMessage::DuplicateExtension(ExtensionType::EarlyData),
        AlertDescription::IllegalParameter,
    );
}

#[test]
fn pre_shared_key_before_another_extension_is_an_illegal_parameter() {
    let mut ch = client_hello(decode_message(resumed_client_hello_bytes()));
    let psk = ch.extensions.pop().unwrap();
    ch.extensions.insert(0, psk);
    assert_fails(
        ClientHello::read_bytes(&ch.get_encoding()),
        InvalidMessage::PreSharedKeyNotLast,
        AlertDescription::IllegalParameter,
    );
    let mut body = Vec::new();
    put_extensions(&ch.extensions, &mut body);
    assert_fails(
        read_client_extensions(&mut Reader::new(&body)),
        InvalidMessage::PreSharedKeyNotLast,
        AlertDescription::IllegalParameter,
    );
}

#[test]
fn trailing_bytes_are_a_decode_error_at_every_level() {
    // After the message.
    let mut bytes = construct(3, "server", "Finished", 0).to_vec();
    bytes.push(0);
    assert!(matches!(
        HandshakeMessage::read_bytes(&bytes),
        Err(e @ InvalidMessage::TrailingData(_)) if e.alert() == AlertDescription::DecodeError
    ));
    // Inside the body: EndOfEarlyData is `struct {}`.
    assert_fails(
        HandshakeMessage::read_bytes(&[5, 0, 0, 1, 0]),
        InvalidMessage::TrailingData("EndOfEarlyData"),
        AlertDescription::DecodeError,
    );
    // Inside an extension: early_data in EE is empty.
    assert_fails(
        HandshakeMessage::read_bytes(&[8, 0, 0, 7, 0, 5, 0, 42, 0, 1, 0]),
        InvalidMessage::TrailingData("extension_data"),
        AlertDescription::DecodeError,
    );
    // An alert record holds exactly one alert.
    assert!(matches!(
        Alert::read_bytes(&[2, 10, 0]),
        Err(e @ InvalidMessage::TrailingData(_)) if e.alert() == AlertDescription::DecodeError
    ));
}

#[test]
fn a_key_update_with_an_unknown_request_is_an_illegal_parameter() {
    assert_fails(
        HandshakeMessage::read_bytes(&[24, 0, 0, 1, 2]),
        InvalidMessage::IllegalParameter("KeyUpdateRequest"),
        AlertDescription::IllegalParameter,
    );
}

#[test]
fn an_unknown_handshake_type_is_an_unexpected_message() {
    assert_fails(
        HandshakeMessage::read_bytes(&[3, 0, 0, 0]),
        InvalidMessage::UnknownHandshakeType(3),
        AlertDescription::UnexpectedMessage,
    );
}

fn header(typ: u8, len: usize) -> Vec<u8> {
    let mut h = vec![typ, 3, 3];
    h.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
    h
}

#[test]
fn a_plaintext_record_over_2_pow_14_is_a_record_overflow() {
    for typ in [22u8, 21, 20] {
        let mut ok = header(typ, MAX_FRAGMENT_LEN);
        ok.resize(ok.len() + MAX_FRAGMENT_LEN, 1);
        assert!(Record::read_bytes(&ok).is_ok());
        // Refused from the header alone: the body need not be present.
        assert_fails(
            Record::read_bytes(&header(typ, MAX_FRAGMENT_LEN + 1)),
            InvalidMessage::RecordOverflow,
            AlertDescription::RecordOverflow,
        );
    }
}

#[test]
fn a_ciphertext_record_over_2_pow_14_plus_256_is_a_record_overflow() {
    let mut ok = header(23, MAX_CIPHERTEXT_LEN);
    ok.resize(ok.len() + MAX_CIPHERTEXT_LEN, 1);
    assert!(Record::read_bytes(&ok).is_ok());
    assert_fails(
        Record::read_bytes(&header(23, MAX_CIPHERTEXT_LEN + 1)),
        InvalidMessage::RecordOverflow,
        AlertDescription::RecordOverflow,
    );
    let mut deframer = RecordDeframer::new();
    deframer.push(&header(23, MAX_CIPHERTEXT_LEN + 1));
    assert_fails(
        deframer.pop(),
        InvalidMessage::RecordOverflow,
        AlertDescription::RecordOverflow,
    );
    // Sticky: the same header is still at the front.
    assert_eq!(deframer.pop(), Err(InvalidMessage::RecordOverflow));
}

#[test]
fn zero_length_handshake_and_alert_records_are_unexpected_messages() {
    for typ in [ContentType::Handshake, ContentType::Alert] {
        assert_fails(
            Record::read_bytes(&header(typ.get(), 0)),
            InvalidMessage::EmptyFragment(typ),
            AlertDescription::UnexpectedMessage,
        );
        assert_fails(
            InnerPlaintext::read_bytes(&[typ.get(), 0, 0]),
            InvalidMessage::EmptyFragment(typ),
            AlertDescription::UnexpectedMessage,
        );
    }
    // Zero-length application data is allowed (RFC 9846 section 5.1).
    assert!(Record::read_bytes(&header(23, 0)).is_ok());
}

#[test]
fn an_unknown_content_type_is_an_unexpected_message() {
    let mut bytes = header(24, 1);
    bytes.push(0);
    assert_fails(
        Record::read_bytes(&bytes),
        InvalidMessage::UnknownContentType(24),
        AlertDescription::UnexpectedMessage,
    );
    assert_fails(
        InnerPlaintext::read_bytes(&[1, 2, 99, 0]),
        InvalidMessage::UnknownContentType(99),
        AlertDescription::UnexpectedMessage,
    );
}

#[test]
fn an_all_zero_inner_plaintext_has_no_content_type() {
    for plain in [&[][..], &[0], &[0; 100]] {
        assert_fails(
            InnerPlaintext::read_bytes(plain),
            InvalidMessage::NoInnerContentType,
            AlertDescription::UnexpectedMessage,
        );
    }
}

#[test]
fn an_inner_plaintext_over_2_pow_14_plus_1_is_a_record_overflow() {
    let mut plain = vec![1u8; MAX_FRAGMENT_LEN + 1];
    plain.push(23);
    assert_fails(
        InnerPlaintext::read_bytes(&plain),
        InvalidMessage::RecordOverflow,
        AlertDescription::RecordOverflow,
    );
    // Padding counts toward the limit too (RFC 9846 section 5.4).
    let mut padded = vec![1u8; 10];
    padded.push(23);
    padded.resize(MAX_FRAGMENT_LEN + 2, 0);
    assert_fails(
        InnerPlaintext::read_bytes(&padded),
        InvalidMessage::RecordOverflow,
        AlertDescription::RecordOverflow,
    );
}

#[test]
fn a_handshake_message_over_64_kib_is_refused_at_its_header() {
    let len = MAX_HANDSHAKE_MESSAGE_LEN + 1;
    let mut joiner = HandshakeJoiner::new();
    let header = [11, (len >> 16) as u8, (len >> 8) as u8, len as u8];
    assert_fails(
        joiner.push(&header),
        InvalidMessage::HandshakeMessageTooLarge,
        AlertDescription::DecodeError,
    );
    // Exactly the bound is accepted and waits for its body.
    let len = MAX_HANDSHAKE_MESSAGE_LEN;
    let mut joiner = HandshakeJoiner::new();
    joiner
        .push(&[20, (len >> 16) as u8, (len >> 8) as u8, len as u8])
        .unwrap();
    assert_eq!(joiner.pop(), Ok(None));
}

#[test]
fn a_peer_streaming_bytes_cannot_grow_the_buffers_past_their_bounds() {
    let mut deframer = RecordDeframer::new();
    let mut taken = 0;
    for _ in 0..100 {
        taken += deframer.push(&[23; 1000]);
    }
    assert_eq!(taken, DEFRAMER_CAPACITY);
    assert_eq!(deframer.buffered_len(), DEFRAMER_CAPACITY);

    let mut joiner = HandshakeJoiner::new();
    let len = MAX_HANDSHAKE_MESSAGE_LEN;
    joiner
        .push(&[20, (len >> 16) as u8, (len >> 8) as u8, len as u8])
        .unwrap();
    let mut refused = false;
    for _ in 0..10 {
        if joiner.push(&[0; MAX_FRAGMENT_LEN]).is_err() {
            refused = true;
            break;
        }
        // The caller does not pop: only then can the bound be reached.
    }
    assert!(refused);
    assert!(joiner.buffered_len() <= 4 + MAX_HANDSHAKE_MESSAGE_LEN + MAX_FRAGMENT_LEN);
}

// ---------------------------------------------------------------------------------------
// Properties (bolero): no input panics a decoder, and whatever decodes re-encodes to the
// bytes it came from (so decoding those bytes again gives the same value).

fn exact<T: Codec + PartialEq + Debug>(bytes: &[u8]) {
    if let Ok(v) = T::read_bytes(bytes) {
        let again = v.get_encoding();
        assert_eq!(again, bytes, "{v:?} re-encodes differently");
        assert_eq!(T::read_bytes(&again).as_ref(), Ok(&v));
    }
}

fn exact_list<T: Codec + PartialEq + Debug>(
    bytes: &[u8],
    read: impl Fn(&mut Reader<'_>) -> Result<Vec<T>, InvalidMessage>,
    put: impl Fn(&[T], &mut Vec<u8>),
) {
    let mut r = Reader::new(bytes);
    if let Ok(list) = read(&mut r) {
        if r.is_empty() {
            let mut again = Vec::new();
            put(&list, &mut again);
            assert_eq!(again, bytes);
            assert_eq!(read(&mut Reader::new(&again)).as_ref(), Ok(&list));
        }
    }
}

fn every_decoder(bytes: &[u8]) {
    exact::<Record>(bytes);
    exact::<InnerPlaintext>(bytes);
    exact::<Alert>(bytes);
    exact::<HandshakeMessage>(bytes);
    exact::<ClientHello>(bytes);
    exact::<ClientExtension>(bytes);
    exact::<ServerExtension>(bytes);
    exact::<HelloRetryExtension>(bytes);
    exact::<NewSessionTicketExtension>(bytes);
    exact::<CertificateRequestExtension>(bytes);
    exact::<CertificateExtension>(bytes);
    exact::<PresharedKeyOffer>(bytes);
    exact_list::<ClientExtension>(bytes, read_client_extensions, put_extensions);
    exact_list::<ServerExtension>(bytes, read_extensions, put_extensions);
    exact_list::<HelloRetryExtension>(bytes, read_extensions, put_extensions);
    exact_list::<NewSessionTicketExtension>(bytes, read_extensions, put_extensions);
    exact_list::<CertificateExtension>(bytes, read_extensions, put_extensions);
    if let Ok(msg) = HandshakeMessage::read_bytes(bytes) {
        if let HandshakePayload::ClientHello(ch) = &msg.payload {
            let prefix = truncate_for_binders(bytes, ch.binders_len()).unwrap();
            assert_eq!(prefix.len() + ch.binders_len(), bytes.len());
        }
    }
    deframe_and_join(bytes);
}

/// Feeds `bytes` through the deframer in uneven pieces and every handshake record's
/// content through the joiner; every record and message that comes out re-encodes to
/// the bytes it came from.
fn deframe_and_join(bytes: &[u8]) {
    let mut deframer = RecordDeframer::new();
    let mut joiner = HandshakeJoiner::new();
    let mut rest = bytes;
    let mut consumed = 0;
    let mut piece = 1;
    // Each round pushes at least one byte or pops at least one record, so this ends.
    for _ in 0..(2 * bytes.len() + 2) {
        let n = deframer.push(&rest[..piece.min(rest.len())]);
        rest = &rest[n..];
        piece = piece % 13 + 1;
        loop {
            match deframer.pop() {
                Ok(Some(rec)) => {
                    let wire = rec.get_encoding();
                    assert_eq!(wire, bytes[consumed..consumed + wire.len()]);
                    consumed += wire.len();
                    if rec.typ == ContentType::Handshake && joiner.push(&rec.payload).is_ok() {
                        while let Ok(Some((msg, raw))) = joiner.pop() {
                            assert_eq!(msg.get_encoding(), raw);
                        }
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
        if rest.is_empty() {
            break;
        }
    }
}

#[test]
fn no_input_panics_a_decoder_and_what_decodes_re_encodes_exactly() {
    bolero::check!()
        .with_iterations(2000)
        .for_each(|bytes: &[u8]| every_decoder(bytes));
}

/// Random bytes rarely get past the first length field, so this property mutates real
/// trace messages and records: `input` picks a seed message, then pairs of (offset, xor)
/// bytes to flip, then optionally a length to cut at.
#[test]
fn mutated_trace_messages_never_panic_and_what_decodes_re_encodes_exactly() {
    let seeds: Vec<&[u8]> = vec![
        construct(3, "client", "ClientHello", 0),
        construct(3, "server", "ServerHello", 0),
        construct(3, "server", "EncryptedExtensions", 0),
        construct(3, "server", "Certificate", 0),
        construct(3, "server", "CertificateVerify", 0),
        construct(3, "server", "NewSessionTicket", 0),
        construct(4, "server", "EncryptedExtensions", 0),
        construct(4, "server", "ServerHello", 0),
        construct(5, "server", "ServerHello", 0),
        resumed_client_hello_bytes(),
        vectors::step(3, "server", "send handshake record", 0).get("complete record"),
        vectors::step(4, "client", "send handshake record", 0).get("complete record"),
    ];
    // The unmutated seeds pass the property too.
    for seed in &seeds {
        every_decoder(seed);
    }
    bolero::check!()
        .with_iterations(2000)
        .for_each(|input: &[u8]| {
            let Some((pick, edits)) = input.split_first() else {
                return;
            };
            let mut msg = seeds[usize::from(*pick) % seeds.len()].to_vec();
            let mut edits = edits.chunks_exact(3);
            for edit in &mut edits {
                let at = usize::from(u16::from_be_bytes([edit[0], edit[1]])) % msg.len();
                msg[at] ^= edit[2];
            }
            if let [cut, ..] = edits.remainder() {
                msg.truncate(msg.len() * usize::from(*cut) / 255);
            }
            every_decoder(&msg);
            // Also strip the leading record/handshake header so that the body parsers
            // (extension lists, ClientHello) see plausible input.
            every_decoder(msg.get(4..).unwrap_or_default());
            every_decoder(msg.get(5..).unwrap_or_default());
        });
}
