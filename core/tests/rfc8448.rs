//! Known-answer tests against `tests/data/tls13-vectors-draft07.txt` (the last draft of
//! RFC 8448). Section 3 is a full 1-RTT handshake, section 4 the resumed 0-RTT handshake
//! that uses section 3's ticket. Every expected value is read from the document; every
//! transcript hash is computed from the document's handshake message bytes.

#[path = "common/vectors.rs"]
mod vectors;

use zerortt_core::crypto::hash::{HashValue, Transcript, TranscriptBuffer};
use zerortt_core::crypto::key_schedule::{
    self, finished_key, next_application_traffic_secret, resumption_psk, verify_data,
    verify_finished, KeyScheduleEarly, KeyScheduleHandshake, KeyScheduleMaster, PskKind, Secret,
};
use zerortt_core::crypto::keylog::{KeyLogEntry, KeyLogLabel};
use zerortt_core::crypto::kx::X25519KeyShare;
use zerortt_core::crypto::record_protection::{RecordDecrypter, RecordEncrypter, TrafficKeys};
use zerortt_core::crypto::suites::{HashAlgorithm, TLS13_AES_128_GCM_SHA256 as SUITE};
use zerortt_core::msgs::enums::{AlertDescription, ContentType};
use zerortt_core::{Error, PeerMisbehaved};

const SHA256: HashAlgorithm = HashAlgorithm::Sha256;

/// The first step of `section` by `who` whose action starts with `action` and that carries
/// `label` (the document also has value-less "(same as server)" steps with the same prefix).
fn doc(section: u32, who: &str, action: &str, label: &str) -> &'static [u8] {
    vectors::steps()
        .iter()
        .filter(|s| s.section == section && s.who == who && s.action.starts_with(action))
        .find_map(|s| {
            s.values
                .iter()
                .find(|(l, _)| l == label)
                .map(|(_, v)| v.as_slice())
        })
        .unwrap_or_else(|| panic!("section {section} {{{who}}} {action:?} has no {label:?}"))
}

/// The `n`th record `who` sends with this action (`send handshake record`, ...).
fn record(section: u32, who: &str, action: &str, n: usize) -> (&'static [u8], &'static [u8]) {
    let step = vectors::step(section, who, action, n);
    (step.get("payload"), step.get("complete record"))
}

fn message(section: u32, who: &str, name: &str) -> &'static [u8] {
    doc(
        section,
        who,
        &format!("construct a {name} handshake message"),
        name,
    )
}

fn hash_of(messages: &[&[u8]]) -> HashValue {
    let mut t = Transcript::new(SHA256);
    for m in messages {
        t.add(m);
    }
    t.current_hash()
}

fn header(record: &[u8]) -> [u8; 5] {
    record[..5].try_into().unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Encrypts `payload` as the record the document shows, checks it byte for byte, and
/// checks that the receiving side opens it back to `payload`.
fn check_record(
    enc: &mut RecordEncrypter,
    dec: &mut RecordDecrypter,
    inner_type: ContentType,
    (payload, complete): (&[u8], &[u8]),
) {
    let ours = enc.encrypt(inner_type, payload, 0).unwrap();
    assert_eq!(hex(&ours), hex(complete));
    let (typ, plain) = dec.decrypt(&header(complete), &complete[5..]).unwrap();
    assert_eq!(typ, inner_type);
    assert_eq!(plain, payload);
}

/// Checks one "derive ... traffic keys" step against keys derived from `secret`.
fn check_keys(secret: &Secret, section: u32, who: &str, action: &str) {
    assert_eq!(secret.as_bytes(), doc(section, who, action, "PRK"));
    let keys = TrafficKeys::derive(SUITE.aead, secret).unwrap();
    assert_eq!(keys.key(), doc(section, who, action, "key expanded"));
    assert_eq!(keys.iv(), doc(section, who, action, "iv expanded"));
}

/// Checks a `derive secret "<label>"` step: its PRK, transcript hash and output.
fn check_derived(
    ours: &Secret,
    parent: &Secret,
    hash: &HashValue,
    section: u32,
    who: &str,
    label: &str,
) {
    let action = format!("derive secret \"tls13 {label}\"");
    assert_eq!(
        parent.as_bytes(),
        doc(section, who, &action, "PRK"),
        "{label} PRK"
    );
    assert_eq!(
        hash.as_ref(),
        doc(section, who, &action, "hash"),
        "{label} hash"
    );
    assert_eq!(
        ours.as_bytes(),
        doc(section, who, &action, "expanded"),
        "{label}"
    );
}

/// Section 3's messages in transcript order.
struct Section3 {
    ch: &'static [u8],
    sh: &'static [u8],
    ee: &'static [u8],
    cert: &'static [u8],
    cv: &'static [u8],
    server_fin: &'static [u8],
    client_fin: &'static [u8],
    nst: &'static [u8],
}

fn section3() -> Section3 {
    Section3 {
        ch: message(3, "client", "ClientHello"),
        sh: message(3, "server", "ServerHello"),
        ee: message(3, "server", "EncryptedExtensions"),
        cert: message(3, "server", "Certificate"),
        cv: message(3, "server", "CertificateVerify"),
        server_fin: message(3, "server", "Finished"),
        client_fin: message(3, "client", "Finished"),
        nst: message(3, "server", "NewSessionTicket"),
    }
}

/// The section 3 schedule, run from the document's private keys.
fn section3_schedule() -> (KeyScheduleEarly, KeyScheduleHandshake, KeyScheduleMaster) {
    let client = X25519KeyShare::from_private_bytes(
        doc(3, "client", "create an ephemeral x25519", "private key")
            .try_into()
            .unwrap(),
    );
    let server_public = doc(3, "server", "create an ephemeral x25519", "public key");
    let shared = client.agree(server_public).unwrap();
    let early = KeyScheduleEarly::new(SHA256, None);
    let hs = KeyScheduleEarly::new(SHA256, None).into_handshake(Some(shared.as_bytes()));
    let master = KeyScheduleEarly::new(SHA256, None)
        .into_handshake(Some(shared.as_bytes()))
        .into_master();
    (early, hs, master)
}

#[test]
fn section_3_x25519_key_pairs_and_shared_secret_are_reproduced_from_the_private_keys() {
    let step = "create an ephemeral x25519";
    let client = X25519KeyShare::from_private_bytes(
        doc(3, "client", step, "private key").try_into().unwrap(),
    );
    let server = X25519KeyShare::from_private_bytes(
        doc(3, "server", step, "private key").try_into().unwrap(),
    );
    assert_eq!(client.public_key(), doc(3, "client", step, "public key"));
    assert_eq!(server.public_key(), doc(3, "server", step, "public key"));
    let ikm = doc(3, "server", "extract secret \"handshake\"", "IKM");
    assert_eq!(client.agree(&server.public_key()).unwrap().as_bytes(), ikm);
    assert_eq!(server.agree(&client.public_key()).unwrap().as_bytes(), ikm);
}

#[test]
fn section_3_every_key_schedule_secret_matches_the_trace() {
    let m = section3();
    let (early, hs, master) = section3_schedule();

    // Without a PSK the Early Secret extracts Hash.length zeros.
    assert_eq!(
        doc(3, "server", "extract secret \"early\"", "IKM"),
        &[0u8; 32]
    );
    assert_eq!(
        early.early_secret().as_bytes(),
        doc(3, "server", "extract secret \"early\"", "secret")
    );

    let derived = "derive secret for handshake \"tls13 derived\"";
    for who in ["server", "client"] {
        assert_eq!(doc(3, who, derived, "PRK"), early.early_secret().as_bytes());
        assert_eq!(doc(3, who, derived, "hash"), SHA256.empty_hash().as_ref());
        assert_eq!(
            early.derived_secret().as_bytes(),
            doc(3, who, derived, "expanded")
        );
    }
    let extract_hs = "extract secret \"handshake\"";
    assert_eq!(
        early.derived_secret().as_bytes(),
        doc(3, "server", extract_hs, "salt")
    );
    assert_eq!(
        hs.handshake_secret().as_bytes(),
        doc(3, "server", extract_hs, "secret")
    );

    // The client buffers its ClientHello before it knows the suite.
    let mut buffer = TranscriptBuffer::new();
    buffer.add(m.ch);
    let mut transcript = buffer.start_hash(SUITE.hash);
    transcript.add(m.sh);
    let hello_hash = transcript.current_hash();
    let c_hs = hs.client_handshake_traffic_secret(&hello_hash);
    let s_hs = hs.server_handshake_traffic_secret(&hello_hash);
    check_derived(
        &c_hs,
        hs.handshake_secret(),
        &hello_hash,
        3,
        "server",
        "c hs traffic",
    );
    check_derived(
        &s_hs,
        hs.handshake_secret(),
        &hello_hash,
        3,
        "server",
        "s hs traffic",
    );

    let derived = "derive secret for master \"tls13 derived\"";
    assert_eq!(
        doc(3, "server", derived, "PRK"),
        hs.handshake_secret().as_bytes()
    );
    assert_eq!(
        hs.derived_secret().as_bytes(),
        doc(3, "server", derived, "expanded")
    );
    let extract_master = "extract secret \"master\"";
    assert_eq!(
        hs.derived_secret().as_bytes(),
        doc(3, "server", extract_master, "salt")
    );
    assert_eq!(doc(3, "server", extract_master, "IKM"), &[0u8; 32]);
    assert_eq!(
        master.master_secret().as_bytes(),
        doc(3, "server", extract_master, "secret")
    );

    for msg in [m.ee, m.cert, m.cv, m.server_fin] {
        transcript.add(msg);
    }
    let fin_hash = transcript.current_hash();
    let parent = master.master_secret();
    check_derived(
        &master.client_application_traffic_secret_0(&fin_hash),
        parent,
        &fin_hash,
        3,
        "server",
        "c ap traffic",
    );
    check_derived(
        &master.server_application_traffic_secret_0(&fin_hash),
        parent,
        &fin_hash,
        3,
        "server",
        "s ap traffic",
    );
    check_derived(
        &master.exporter_master_secret(&fin_hash),
        parent,
        &fin_hash,
        3,
        "server",
        "exp master",
    );

    transcript.add(m.client_fin);
    let client_fin_hash = transcript.current_hash();
    check_derived(
        &master.resumption_master_secret(&client_fin_hash),
        parent,
        &client_fin_hash,
        3,
        "client",
        "res master",
    );
}

#[test]
fn section_3_every_traffic_key_and_iv_matches_the_trace() {
    let m = section3();
    let (_, hs, master) = section3_schedule();
    let hello_hash = hash_of(&[m.ch, m.sh]);
    let fin_hash = hash_of(&[m.ch, m.sh, m.ee, m.cert, m.cv, m.server_fin]);
    check_keys(
        &hs.server_handshake_traffic_secret(&hello_hash),
        3,
        "server",
        "derive write traffic keys for handshake data",
    );
    check_keys(
        &hs.client_handshake_traffic_secret(&hello_hash),
        3,
        "server",
        "derive read traffic keys for handshake data",
    );
    check_keys(
        &master.server_application_traffic_secret_0(&fin_hash),
        3,
        "server",
        "derive write traffic keys for application data",
    );
    check_keys(
        &master.client_application_traffic_secret_0(&fin_hash),
        3,
        "client",
        "derive write traffic keys for application data",
    );
}

#[test]
fn section_3_both_finished_messages_match_the_trace() {
    let m = section3();
    let (_, hs, _) = section3_schedule();
    let hello_hash = hash_of(&[m.ch, m.sh]);
    let action = "calculate finished \"tls13 finished\"";

    let s_hs = hs.server_handshake_traffic_secret(&hello_hash);
    let server_hash = hash_of(&[m.ch, m.sh, m.ee, m.cert, m.cv]);
    assert_eq!(s_hs.as_bytes(), doc(3, "server", action, "PRK"));
    assert_eq!(
        finished_key(&s_hs).as_bytes(),
        doc(3, "server", action, "expanded")
    );
    let server_verify = verify_data(&s_hs, &server_hash);
    assert_eq!(server_verify.as_ref(), doc(3, "server", action, "finished"));
    assert_eq!(&m.server_fin[..4], &[20, 0, 0, 32]);
    assert_eq!(server_verify.as_ref(), &m.server_fin[4..]);
    assert_eq!(
        verify_finished(&s_hs, &server_hash, &m.server_fin[4..]),
        Ok(())
    );

    let c_hs = hs.client_handshake_traffic_secret(&hello_hash);
    let client_hash = hash_of(&[m.ch, m.sh, m.ee, m.cert, m.cv, m.server_fin]);
    assert_eq!(c_hs.as_bytes(), doc(3, "client", action, "PRK"));
    assert_eq!(
        finished_key(&c_hs).as_bytes(),
        doc(3, "client", action, "expanded")
    );
    let client_verify = verify_data(&c_hs, &client_hash);
    assert_eq!(client_verify.as_ref(), doc(3, "client", action, "finished"));
    assert_eq!(client_verify.as_ref(), &m.client_fin[4..]);
    // The server's Finished does not verify as the client's.
    assert_eq!(
        verify_finished(&c_hs, &client_hash, &m.server_fin[4..]),
        Err(PeerMisbehaved::IncorrectFinished)
    );
}

#[test]
fn section_3_every_protected_record_is_reproduced_byte_for_byte() {
    let m = section3();
    let (_, hs, master) = section3_schedule();
    let hello_hash = hash_of(&[m.ch, m.sh]);
    let fin_hash = hash_of(&[m.ch, m.sh, m.ee, m.cert, m.cv, m.server_fin]);
    let s_hs = hs.server_handshake_traffic_secret(&hello_hash);
    let c_hs = hs.client_handshake_traffic_secret(&hello_hash);
    let s_ap = master.server_application_traffic_secret_0(&fin_hash);
    let c_ap = master.client_application_traffic_secret_0(&fin_hash);
    let pair = |s: &Secret| {
        (
            RecordEncrypter::new(&SUITE, s).unwrap(),
            RecordDecrypter::new(&SUITE, s).unwrap(),
        )
    };

    // Server handshake flight: EE, Certificate, CertificateVerify, Finished in one record.
    let flight = record(3, "server", "send handshake record", 1);
    assert_eq!(flight.0, [m.ee, m.cert, m.cv, m.server_fin].concat());
    let (mut enc, mut dec) = pair(&s_hs);
    check_record(&mut enc, &mut dec, ContentType::Handshake, flight);

    let client_fin = record(3, "client", "send handshake record", 1);
    assert_eq!(client_fin.0, m.client_fin);
    let (mut enc, mut dec) = pair(&c_hs);
    check_record(&mut enc, &mut dec, ContentType::Handshake, client_fin);

    // Server application epoch: NewSessionTicket (seq 0), data (1), alert (2).
    let (mut enc, mut dec) = pair(&s_ap);
    let nst = record(3, "server", "send handshake record", 2);
    assert_eq!(nst.0, m.nst);
    check_record(&mut enc, &mut dec, ContentType::Handshake, nst);
    check_record(
        &mut enc,
        &mut dec,
        ContentType::ApplicationData,
        record(3, "server", "send application_data record", 0),
    );
    check_record(
        &mut enc,
        &mut dec,
        ContentType::Alert,
        record(3, "server", "send alert record", 0),
    );
    assert_eq!(enc.next_sequence_number(), Some(3));

    // Client application epoch: data (seq 0), alert (1).
    let (mut enc, mut dec) = pair(&c_ap);
    check_record(
        &mut enc,
        &mut dec,
        ContentType::ApplicationData,
        record(3, "client", "send application_data record", 0),
    );
    check_record(
        &mut enc,
        &mut dec,
        ContentType::Alert,
        record(3, "client", "send alert record", 0),
    );
}

/// `ticket_nonce` of a NewSessionTicket: after the 4-byte header, lifetime (4) and
/// age_add (4) comes `opaque ticket_nonce<0..255>`.
fn ticket_nonce(nst: &[u8]) -> &[u8] {
    let len = usize::from(nst[12]);
    &nst[13..13 + len]
}

#[test]
fn section_3_ticket_nonce_gives_the_resumption_psk_that_section_4_resumes_with() {
    let m = section3();
    let (_, _, master) = section3_schedule();
    let rms = master.resumption_master_secret(&hash_of(&[
        m.ch,
        m.sh,
        m.ee,
        m.cert,
        m.cv,
        m.server_fin,
        m.client_fin,
    ]));
    let nonce = ticket_nonce(m.nst);
    let action = "generate resumption secret \"tls13 resumption\"";
    assert_eq!(rms.as_bytes(), doc(3, "server", action, "PRK"));
    assert_eq!(nonce, doc(3, "server", action, "hash"));
    let psk = resumption_psk(&rms, nonce).unwrap();
    assert_eq!(psk.as_bytes(), doc(3, "server", action, "expanded"));
    assert_eq!(
        psk.as_bytes(),
        doc(4, "client", "extract secret \"early\"", "IKM")
    );
}

/// Section 4's messages in transcript order; `ch` is the full ClientHello with binders.
struct Section4 {
    ch: &'static [u8],
    sh: &'static [u8],
    ee: &'static [u8],
    server_fin: &'static [u8],
    eoed: &'static [u8],
    client_fin: &'static [u8],
}

fn section4() -> Section4 {
    Section4 {
        ch: record(4, "client", "send handshake record", 0).0,
        sh: message(4, "server", "ServerHello"),
        ee: message(4, "server", "EncryptedExtensions"),
        server_fin: message(4, "server", "Finished"),
        eoed: message(4, "client", "EndOfEarlyData"),
        client_fin: message(4, "client", "Finished"),
    }
}

fn section4_early() -> KeyScheduleEarly {
    let psk = doc(4, "client", "extract secret \"early\"", "IKM");
    KeyScheduleEarly::new(SHA256, Some(psk))
}

fn section4_handshake() -> KeyScheduleHandshake {
    let client = X25519KeyShare::from_private_bytes(
        doc(4, "client", "create an ephemeral x25519", "private key")
            .try_into()
            .unwrap(),
    );
    let shared = client
        .agree(doc(4, "server", "create an ephemeral x25519", "public key"))
        .unwrap();
    section4_early().into_handshake(Some(shared.as_bytes()))
}

#[test]
fn section_4_psk_binder_is_reproduced_over_the_truncated_client_hello() {
    let ch = section4().ch;
    // The binders list closes the ClientHello: u16 list length, u8 binder length, binder.
    let (truncated, binders) = ch.split_at(ch.len() - (2 + 1 + 32));
    assert_eq!(&binders[..3], &[0, 33, 32]);
    let action = "calculate PSK binder";
    assert_eq!(truncated, doc(4, "client", action, "ClientHello prefix"));
    assert_eq!(truncated, message(4, "client", "ClientHello"));

    let early = section4_early();
    assert_eq!(
        early.early_secret().as_bytes(),
        doc(4, "client", "extract secret \"early\"", "secret")
    );
    let binder_hash = hash_of(&[truncated]);
    assert_eq!(
        binder_hash.as_ref(),
        doc(4, "client", action, "binder hash")
    );
    let binder_key = early.binder_key(PskKind::Resumption);
    assert_eq!(binder_key.as_bytes(), doc(4, "client", action, "PRK"));
    assert_eq!(
        finished_key(&binder_key).as_bytes(),
        doc(4, "client", action, "expanded")
    );
    let binder = early.psk_binder(PskKind::Resumption, &binder_hash);
    assert_eq!(binder.as_ref(), doc(4, "client", action, "finished"));
    assert_eq!(binder.as_ref(), &binders[3..]);

    // The server's check: the binder verifies, a flipped bit or the external label does not.
    assert_eq!(
        early.verify_psk_binder(PskKind::Resumption, &binder_hash, &binders[3..]),
        Ok(())
    );
    let mut flipped = binders[3..].to_vec();
    flipped[0] ^= 0x80;
    assert_eq!(
        early.verify_psk_binder(PskKind::Resumption, &binder_hash, &flipped),
        Err(PeerMisbehaved::IncorrectBinder)
    );
    assert_eq!(
        early.verify_psk_binder(PskKind::External, &binder_hash, &binders[3..]),
        Err(PeerMisbehaved::IncorrectBinder)
    );
}

#[test]
fn section_4_early_secrets_keys_and_early_data_records_match_the_trace() {
    let m = section4();
    let early = section4_early();
    let ch_hash = hash_of(&[m.ch]);
    let c_e = early.client_early_traffic_secret(&ch_hash);
    check_derived(
        &c_e,
        early.early_secret(),
        &ch_hash,
        4,
        "client",
        "c e traffic",
    );
    check_derived(
        &early.early_exporter_master_secret(&ch_hash),
        early.early_secret(),
        &ch_hash,
        4,
        "client",
        "e exp master",
    );
    check_keys(
        &c_e,
        4,
        "client",
        "derive write traffic keys for early application data",
    );

    // 0-RTT data is record 0 and EndOfEarlyData record 1 under the early key
    // (RFC 9846 section 4.6: EndOfEarlyData is sent under client_early_traffic_secret).
    let mut enc = RecordEncrypter::new(&SUITE, &c_e).unwrap();
    let mut dec = RecordDecrypter::new(&SUITE, &c_e).unwrap();
    check_record(
        &mut enc,
        &mut dec,
        ContentType::ApplicationData,
        record(4, "client", "send application_data record", 0),
    );
    let eoed = record(4, "client", "send handshake record", 1);
    assert_eq!(eoed.0, m.eoed);
    check_record(&mut enc, &mut dec, ContentType::Handshake, eoed);
}

#[test]
fn section_4_x25519_shared_secret_is_reproduced_from_both_private_keys() {
    let step = "create an ephemeral x25519";
    let client = X25519KeyShare::from_private_bytes(
        doc(4, "client", step, "private key").try_into().unwrap(),
    );
    let server = X25519KeyShare::from_private_bytes(
        doc(4, "server", step, "private key").try_into().unwrap(),
    );
    assert_eq!(client.public_key(), doc(4, "client", step, "public key"));
    assert_eq!(server.public_key(), doc(4, "server", step, "public key"));
    let ikm = doc(4, "server", "extract secret \"handshake\"", "IKM");
    assert_eq!(client.agree(&server.public_key()).unwrap().as_bytes(), ikm);
    assert_eq!(server.agree(&client.public_key()).unwrap().as_bytes(), ikm);
}

#[test]
fn section_4_every_handshake_and_application_secret_matches_the_trace() {
    let m = section4();
    let early = section4_early();
    let derived = "derive secret for handshake \"tls13 derived\"";
    for who in ["server", "client"] {
        assert_eq!(doc(4, who, derived, "PRK"), early.early_secret().as_bytes());
        assert_eq!(
            early.derived_secret().as_bytes(),
            doc(4, who, derived, "expanded")
        );
    }
    let hs = section4_handshake();
    let extract_hs = "extract secret \"handshake\"";
    assert_eq!(
        early.derived_secret().as_bytes(),
        doc(4, "server", extract_hs, "salt")
    );
    assert_eq!(
        hs.handshake_secret().as_bytes(),
        doc(4, "server", extract_hs, "secret")
    );

    let hello_hash = hash_of(&[m.ch, m.sh]);
    check_derived(
        &hs.client_handshake_traffic_secret(&hello_hash),
        hs.handshake_secret(),
        &hello_hash,
        4,
        "server",
        "c hs traffic",
    );
    check_derived(
        &hs.server_handshake_traffic_secret(&hello_hash),
        hs.handshake_secret(),
        &hello_hash,
        4,
        "server",
        "s hs traffic",
    );
    check_keys(
        &hs.server_handshake_traffic_secret(&hello_hash),
        4,
        "server",
        "derive write traffic keys for handshake data",
    );
    check_keys(
        &hs.client_handshake_traffic_secret(&hello_hash),
        4,
        "client",
        "derive write traffic keys for handshake data",
    );

    let derived = "derive secret for master \"tls13 derived\"";
    assert_eq!(
        hs.derived_secret().as_bytes(),
        doc(4, "server", derived, "expanded")
    );
    let master = hs.into_master();
    assert_eq!(
        master.master_secret().as_bytes(),
        doc(4, "server", "extract secret \"master\"", "secret")
    );

    let fin_hash = hash_of(&[m.ch, m.sh, m.ee, m.server_fin]);
    let parent = master.master_secret();
    let c_ap = master.client_application_traffic_secret_0(&fin_hash);
    let s_ap = master.server_application_traffic_secret_0(&fin_hash);
    check_derived(&c_ap, parent, &fin_hash, 4, "server", "c ap traffic");
    check_derived(&s_ap, parent, &fin_hash, 4, "server", "s ap traffic");
    check_derived(
        &master.exporter_master_secret(&fin_hash),
        parent,
        &fin_hash,
        4,
        "server",
        "exp master",
    );
    check_keys(
        &s_ap,
        4,
        "server",
        "derive write traffic keys for application data",
    );
    check_keys(
        &c_ap,
        4,
        "client",
        "derive write traffic keys for application data",
    );

    // The resumption master secret covers EndOfEarlyData and the client Finished.
    let client_fin_hash = hash_of(&[m.ch, m.sh, m.ee, m.server_fin, m.eoed, m.client_fin]);
    check_derived(
        &master.resumption_master_secret(&client_fin_hash),
        parent,
        &client_fin_hash,
        4,
        "client",
        "res master",
    );
}

#[test]
fn section_4_both_finished_messages_match_the_trace() {
    let m = section4();
    let hs = section4_handshake();
    let hello_hash = hash_of(&[m.ch, m.sh]);
    let action = "calculate finished \"tls13 finished\"";

    let s_hs = hs.server_handshake_traffic_secret(&hello_hash);
    let server_verify = verify_data(&s_hs, &hash_of(&[m.ch, m.sh, m.ee]));
    assert_eq!(
        finished_key(&s_hs).as_bytes(),
        doc(4, "server", action, "expanded")
    );
    assert_eq!(server_verify.as_ref(), doc(4, "server", action, "finished"));
    assert_eq!(server_verify.as_ref(), &m.server_fin[4..]);

    // The client Finished covers EndOfEarlyData.
    let c_hs = hs.client_handshake_traffic_secret(&hello_hash);
    let client_hash = hash_of(&[m.ch, m.sh, m.ee, m.server_fin, m.eoed]);
    assert_eq!(c_hs.as_bytes(), doc(4, "client", action, "PRK"));
    assert_eq!(
        finished_key(&c_hs).as_bytes(),
        doc(4, "client", action, "expanded")
    );
    let client_verify = verify_data(&c_hs, &client_hash);
    assert_eq!(client_verify.as_ref(), doc(4, "client", action, "finished"));
    assert_eq!(client_verify.as_ref(), &m.client_fin[4..]);
    assert_eq!(
        verify_finished(&c_hs, &client_hash, &m.client_fin[4..]),
        Ok(())
    );
}

#[test]
fn section_4_every_protected_record_is_reproduced_byte_for_byte() {
    let m = section4();
    let hs = section4_handshake();
    let hello_hash = hash_of(&[m.ch, m.sh]);
    let s_hs = hs.server_handshake_traffic_secret(&hello_hash);
    let c_hs = hs.client_handshake_traffic_secret(&hello_hash);
    let master = hs.into_master();
    let fin_hash = hash_of(&[m.ch, m.sh, m.ee, m.server_fin]);
    let s_ap = master.server_application_traffic_secret_0(&fin_hash);
    let c_ap = master.client_application_traffic_secret_0(&fin_hash);
    let pair = |s: &Secret| {
        (
            RecordEncrypter::new(&SUITE, s).unwrap(),
            RecordDecrypter::new(&SUITE, s).unwrap(),
        )
    };

    let flight = record(4, "server", "send handshake record", 1);
    assert_eq!(flight.0, [m.ee, m.server_fin].concat());
    let (mut enc, mut dec) = pair(&s_hs);
    check_record(&mut enc, &mut dec, ContentType::Handshake, flight);

    let client_fin = record(4, "client", "send handshake record", 2);
    assert_eq!(client_fin.0, m.client_fin);
    let (mut enc, mut dec) = pair(&c_hs);
    check_record(&mut enc, &mut dec, ContentType::Handshake, client_fin);

    let (mut enc, mut dec) = pair(&c_ap);
    check_record(
        &mut enc,
        &mut dec,
        ContentType::ApplicationData,
        record(4, "client", "send application_data record", 1),
    );
    check_record(
        &mut enc,
        &mut dec,
        ContentType::Alert,
        record(4, "client", "send alert record", 0),
    );

    let (mut enc, mut dec) = pair(&s_ap);
    check_record(
        &mut enc,
        &mut dec,
        ContentType::ApplicationData,
        record(4, "server", "send application_data record", 0),
    );
    check_record(
        &mut enc,
        &mut dec,
        ContentType::Alert,
        record(4, "server", "send alert record", 0),
    );
}

#[test]
fn a_tampered_record_fails_with_decrypt_error_and_sends_bad_record_mac() {
    let m = section3();
    let (_, _, master) = section3_schedule();
    let s_ap = master.server_application_traffic_secret_0(&hash_of(&[
        m.ch,
        m.sh,
        m.ee,
        m.cert,
        m.cv,
        m.server_fin,
    ]));
    let (_, complete) = record(3, "server", "send handshake record", 2);

    for at in [5, complete.len() / 2, complete.len() - 1] {
        let mut tampered = complete.to_vec();
        tampered[at] ^= 0x01;
        let mut dec = RecordDecrypter::new(&SUITE, &s_ap).unwrap();
        let err = dec.decrypt(&header(&tampered), &tampered[5..]).unwrap_err();
        assert_eq!(err, Error::DecryptError);
        assert_eq!(err.alert(), Some(AlertDescription::BadRecordMac));
    }
    // The header is authenticated too.
    let mut h = header(complete);
    h[2] = 0x01;
    let mut dec = RecordDecrypter::new(&SUITE, &s_ap).unwrap();
    assert_eq!(dec.decrypt(&h, &complete[5..]), Err(Error::DecryptError));
    // And the untouched record opens.
    let mut dec = RecordDecrypter::new(&SUITE, &s_ap).unwrap();
    assert!(dec.decrypt(&header(complete), &complete[5..]).is_ok());
}

#[test]
fn trial_decryption_skips_rejected_early_data_without_using_up_sequence_numbers() {
    // A server that rejects section 4's 0-RTT reads the client's records with the client
    // handshake key: the early data record and EndOfEarlyData fail and are skipped, and the
    // client Finished (sequence number 0 under that key) still opens.
    let m = section4();
    let c_hs = section4_handshake().client_handshake_traffic_secret(&hash_of(&[m.ch, m.sh]));
    let (_, early_data) = record(4, "client", "send application_data record", 0);
    let (_, eoed) = record(4, "client", "send handshake record", 1);
    let (fin_payload, fin) = record(4, "client", "send handshake record", 2);

    let mut dec = RecordDecrypter::new(&SUITE, &c_hs).unwrap();
    for rejected in [early_data, eoed] {
        assert_eq!(
            dec.trial_decrypt(&header(rejected), &rejected[5..]),
            Err(Error::DecryptError)
        );
        assert_eq!(dec.next_sequence_number(), Some(0));
    }
    let (typ, plain) = dec.trial_decrypt(&header(fin), &fin[5..]).unwrap();
    assert_eq!(
        (typ, plain.as_slice()),
        (ContentType::Handshake, fin_payload)
    );
    assert_eq!(dec.next_sequence_number(), Some(1));

    // A plain decrypt uses the number up, so the Finished would then fail.
    let mut dec = RecordDecrypter::new(&SUITE, &c_hs).unwrap();
    assert_eq!(
        dec.decrypt(&header(early_data), &early_data[5..]),
        Err(Error::DecryptError)
    );
    assert_eq!(
        dec.decrypt(&header(fin), &fin[5..]),
        Err(Error::DecryptError)
    );
}

#[test]
fn key_log_lines_for_the_section_4_secrets_are_formatted_as_nss_writes_them() {
    let m = section4();
    let early = section4_early();
    let hs = section4_handshake();
    let client_random: [u8; 32] = m.ch[6..38].try_into().unwrap();
    let ch_hash = hash_of(&[m.ch]);
    let hello_hash = hash_of(&[m.ch, m.sh]);
    let cases = [
        (
            KeyLogLabel::ClientEarlyTrafficSecret,
            early.client_early_traffic_secret(&ch_hash),
            "derive secret \"tls13 c e traffic\"",
            "client",
            "CLIENT_EARLY_TRAFFIC_SECRET",
        ),
        (
            KeyLogLabel::EarlyExporterSecret,
            early.early_exporter_master_secret(&ch_hash),
            "derive secret \"tls13 e exp master\"",
            "client",
            "EARLY_EXPORTER_SECRET",
        ),
        (
            KeyLogLabel::ClientHandshakeTrafficSecret,
            hs.client_handshake_traffic_secret(&hello_hash),
            "derive secret \"tls13 c hs traffic\"",
            "server",
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        ),
        (
            KeyLogLabel::ServerHandshakeTrafficSecret,
            hs.server_handshake_traffic_secret(&hello_hash),
            "derive secret \"tls13 s hs traffic\"",
            "server",
            "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        ),
    ];
    for (label, secret, action, who, text) in cases {
        let entry = KeyLogEntry {
            label,
            client_random,
            secret: secret.as_bytes().to_vec(),
        };
        let expected = format!(
            "{text} {} {}",
            hex(&m.ch[6..38]),
            hex(doc(4, who, action, "expanded"))
        );
        assert_eq!(entry.to_string(), expected);
        assert_eq!(expected.len(), text.len() + 1 + 64 + 1 + 64);
    }
}

#[test]
fn a_key_update_derives_a_new_secret_that_still_protects_records() {
    // No trace has a KeyUpdate; check the label against a direct Expand-Label.
    let m = section3();
    let (_, _, master) = section3_schedule();
    let c_ap = master.client_application_traffic_secret_0(&hash_of(&[
        m.ch,
        m.sh,
        m.ee,
        m.cert,
        m.cv,
        m.server_fin,
    ]));
    let next = next_application_traffic_secret(&c_ap);
    let mut expected = [0u8; 32];
    key_schedule::hkdf_expand_label(&c_ap, b"traffic upd", b"", &mut expected).unwrap();
    assert_eq!(next.as_bytes(), expected);
    assert_ne!(next.as_bytes(), c_ap.as_bytes());
    let mut enc = RecordEncrypter::new(&SUITE, &next).unwrap();
    let rec = enc
        .encrypt(ContentType::ApplicationData, b"after update", 0)
        .unwrap();
    let mut old = RecordDecrypter::new(&SUITE, &c_ap).unwrap();
    assert_eq!(
        old.decrypt(&header(&rec), &rec[5..]),
        Err(Error::DecryptError)
    );
    let mut new = RecordDecrypter::new(&SUITE, &next).unwrap();
    assert_eq!(
        new.decrypt(&header(&rec), &rec[5..]).unwrap().1,
        b"after update"
    );
}
