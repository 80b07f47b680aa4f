//! Replay protection end to end, one test per sentence of SSL_read_early_data(3) "REPLAY
//! PROTECTION" and per mechanism of RFC 9846 section 8 (single-use tickets 8.1, ClientHello
//! recording 8.2, freshness 8.3), with real handshakes between in-memory connections.
//!
//! The attacker here is a copy of the client's first flight (ClientHello and 0-RTT records,
//! taken from `write_tls`) handed to another server connection. A replayed connection can
//! never complete (the attacker cannot produce the client's Finished), but by then the
//! server may already have handed the early data to its application: that is what every
//! test checks.

#[path = "common/pair.rs"]
mod pair;

use pair::*;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zerortt_core::codec::Codec;
use zerortt_core::conn::config::{ClientConfig, ServerConfig, TicketKind};
use zerortt_core::conn::events::{ticket_id, EarlyDataRejectReason, PskRejectReason};
use zerortt_core::crypto::suites::TLS13_AES_128_GCM_SHA256;
use zerortt_core::identity::test_identity;
use zerortt_core::msgs::handshake::{HandshakeMessage, HandshakePayload};
use zerortt_core::tickets::cache::{RemovalReason, SessionCache, SessionStoreCallbacks};
use zerortt_core::tickets::session::{ClientSession, ServerSessionValue, MAX_TICKET_LIFETIME_S};
use zerortt_core::tickets::strike::{SharedStrikeRegister, StrikeRegister};
use zerortt_core::tickets::ticketer::{
    TicketAead, TicketKey, Ticketer, KEY_NAME_LEN, NONCE_LEN, TICKET_OVERHEAD,
};
use zerortt_core::time::Timestamp;
use zerortt_core::verify::ServerTrust;
use zerortt_core::{ConnError, Connection, EarlyDataStatus, Event, ReadEarlyData};

const MAX_EARLY_DATA: u32 = 16384;

// ----- helpers --------------------------------------------------------------------------

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// `Timestamp::SIM_EPOCH + ms`.
fn at_ms(ms: u64) -> Timestamp {
    Timestamp::SIM_EPOCH.saturating_add(Duration::from_millis(ms))
}

fn early_rejection(events: &[Event]) -> Option<EarlyDataRejectReason> {
    events.iter().find_map(|e| match e {
        Event::EarlyDataRejected { reason } => Some(*reason),
        _ => None,
    })
}

fn early_accepted(events: &[Event]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, Event::EarlyDataAccepted { .. }))
}

fn psk_rejections(events: &[Event]) -> Vec<PskRejectReason> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::PskRejected { reason } => Some(*reason),
            _ => None,
        })
        .collect()
}

fn psk_accepted(events: &[Event]) -> Option<bool> {
    events.iter().find_map(|e| match e {
        Event::PskAccepted { external, .. } => Some(*external),
        _ => None,
    })
}

fn consumed(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::TicketConsumed { ticket_id } => Some(ticket_id.clone()),
            _ => None,
        })
        .collect()
}

fn resumed(events: &[Event]) -> Option<bool> {
    events.iter().find_map(|e| match e {
        Event::HandshakeComplete { resumed, .. } => Some(*resumed),
        _ => None,
    })
}

fn mutable_config(max_early_data: u32) -> ServerConfig {
    let config = ServerConfig::new(test_identity::ed25519());
    config.set_max_early_data(max_early_data);
    config
}

fn ticketer(name: u8) -> Arc<Mutex<Ticketer>> {
    let key = TicketKey::new([name; KEY_NAME_LEN], TicketAead::Aes256Gcm, &[name; 32])
        .expect("a 32-byte key");
    Arc::new(Mutex::new(Ticketer::new(key)))
}

/// Stateless tickets with anti-replay off (`SSL_OP_NO_ANTI_REPLAY`): the only way a
/// server with early data issues them.
fn stateless_config(ticketer: &Arc<Mutex<Ticketer>>) -> ServerConfig {
    let mut config = mutable_config(MAX_EARLY_DATA);
    config.ticket_kind = TicketKind::Stateless(ticketer.clone());
    config.set_no_anti_replay(true);
    config
}

/// A full handshake at `now` (client and server clocks agree); the client's tickets.
fn tickets_at(
    cc: &Arc<ClientConfig>,
    sc: &Arc<ServerConfig>,
    now: Timestamp,
    seed: u64,
) -> Vec<ClientSession> {
    let mut pair = Pair::new(cc, sc, None, seed);
    pair.now = now;
    pair.handshake();
    pair.server_to_client();
    let mut buf = [0u8; 16];
    let _ = pair.client.read(&mut buf, pair.now);
    let tickets = pair.client.take_new_sessions();
    assert!(!tickets.is_empty(), "a full handshake issues tickets");
    tickets
}

fn one_ticket(cc: &Arc<ClientConfig>, sc: &Arc<ServerConfig>, seed: u64) -> ClientSession {
    tickets_at(cc, sc, Timestamp::SIM_EPOCH, seed)
        .pop()
        .expect("a ticket")
}

/// What one real resumption looked like from both sides.
struct Resumption {
    /// The client's first flight exactly as it left `write_tls`.
    flight: Vec<u8>,
    /// Early data the server application read.
    early: Vec<u8>,
    server_events: Vec<Event>,
    client_status: EarlyDataStatus,
    server_status: EarlyDataStatus,
    /// Tickets the server issued on this connection.
    new_tickets: Vec<ClientSession>,
}

/// A client resumes `session` (with `early` as 0-RTT data if given) at `sc`, its first
/// flight built at `client_now` and everything on the server at `server_now`; the handshake
/// runs to completion on both sides.
fn resume_at(
    cc: &Arc<ClientConfig>,
    sc: &Arc<ServerConfig>,
    session: Option<&ClientSession>,
    early: Option<&[u8]>,
    client_now: Timestamp,
    server_now: Timestamp,
    seed: u64,
) -> Resumption {
    let mut pair = Pair::new(cc, sc, session.cloned(), seed);
    pair.now = server_now;
    let (flight, got) = match early {
        Some(data) => {
            assert_eq!(
                pair.client.write_early_data(data, client_now),
                Ok(data.len())
            );
            let flight = pair.take_client_output();
            pair.deliver_to_server(&flight);
            (flight, pair.server_read_all_early_data())
        }
        None => {
            assert_eq!(
                pair.client.do_handshake(client_now),
                Err(ConnError::WantRead)
            );
            let flight = pair.take_client_output();
            pair.deliver_to_server(&flight);
            (flight, Vec::new())
        }
    };
    pair.handshake();
    pair.server_to_client();
    let mut buf = [0u8; 16];
    let _ = pair.client.read(&mut buf, pair.now);
    Resumption {
        flight,
        early: got,
        server_events: pair.server.take_events(),
        client_status: pair.client.early_data_status(),
        server_status: pair.server.early_data_status(),
        new_tickets: pair.client.take_new_sessions(),
    }
}

fn resume(
    cc: &Arc<ClientConfig>,
    sc: &Arc<ServerConfig>,
    session: &ClientSession,
    early: Option<&[u8]>,
    seed: u64,
) -> Resumption {
    let now = Timestamp::SIM_EPOCH;
    resume_at(cc, sc, Some(session), early, now, now, seed)
}

/// What a server did with a replayed first flight.
struct Replayed {
    /// Early data handed to the server application.
    early: Vec<u8>,
    /// read_early_data returned Finish (early data rejected, or none sent); otherwise it
    /// wants more bytes (accepted early data, waiting for EndOfEarlyData that never comes).
    finished: bool,
    events: Vec<Event>,
    server: Connection,
}

/// Hands `flight` to a new connection of `sc` as its first bytes and reads early data
/// from it as a server application would.
fn replay(sc: &Arc<ServerConfig>, flight: &[u8], now: Timestamp, seed: u64) -> Replayed {
    let mut server = Connection::server(sc.clone(), rng(seed));
    let mut rest = flight;
    let mut early = Vec::new();
    let mut buf = [0u8; 4096];
    let mut finished = false;
    for _ in 0..64 {
        let n = server.read_tls(rest);
        rest = &rest[n..];
        match server.read_early_data(&mut buf, now) {
            Ok(ReadEarlyData::Success(n)) => early.extend_from_slice(&buf[..n]),
            Ok(ReadEarlyData::Finish) => {
                finished = true;
                break;
            }
            Err(ConnError::WantRead) if rest.is_empty() => break,
            Err(ConnError::WantRead) => {}
            Err(e) => panic!("a replayed flight must not break the server: {e}"),
        }
    }
    Replayed {
        early,
        finished,
        events: server.take_events(),
        server,
    }
}

// ----- single-use tickets (the man page's first two paragraphs) ----------------------------

#[test]
fn a_ticket_resumes_once_and_a_second_attempt_gets_a_full_handshake_with_its_early_data_ignored() {
    let (cc, sc) = (client_config(), server_config(MAX_EARLY_DATA));
    let ticket = one_ticket(&cc, &sc, 1);
    let id = ticket_id(&ticket.ticket);

    let first = resume(&cc, &sc, &ticket, Some(b"GET /once"), 2);
    assert_eq!(first.early, b"GET /once");
    assert_eq!(consumed(&first.server_events), vec![id.clone()]);
    assert_eq!(psk_accepted(&first.server_events), Some(false));
    assert_eq!(resumed(&first.server_events), Some(true));
    assert_eq!(first.client_status, EarlyDataStatus::Accepted);

    // "If a client attempts to reuse a session ticket more than once, then the second and
    // subsequent attempts will fall back to a full handshake (and any early data that was
    // submitted will be ignored)."
    for seed in [3, 4] {
        let again = resume(&cc, &sc, &ticket, Some(b"GET /once"), seed);
        assert!(
            again.early.is_empty(),
            "reused ticket's early data reached the app"
        );
        assert_eq!(
            psk_rejections(&again.server_events),
            vec![PskRejectReason::NotInCache]
        );
        assert_eq!(
            early_rejection(&again.server_events),
            Some(EarlyDataRejectReason::NoPskAccepted)
        );
        assert!(consumed(&again.server_events).is_empty());
        assert_eq!(resumed(&again.server_events), Some(false));
        assert_eq!(again.client_status, EarlyDataStatus::Rejected);
        assert_eq!(again.server_status, EarlyDataStatus::Rejected);
    }
}

#[test]
fn single_use_tickets_are_enforced_even_if_a_client_does_not_send_any_early_data() {
    let (cc, sc) = (client_config(), server_config(MAX_EARLY_DATA));
    let ticket = one_ticket(&cc, &sc, 1);

    let first = resume(&cc, &sc, &ticket, None, 2);
    assert_eq!(
        consumed(&first.server_events),
        vec![ticket_id(&ticket.ticket)]
    );
    assert_eq!(resumed(&first.server_events), Some(true));
    assert_eq!(first.server_status, EarlyDataStatus::NotSent);

    let second = resume(&cc, &sc, &ticket, None, 3);
    assert_eq!(
        psk_rejections(&second.server_events),
        vec![PskRejectReason::NotInCache]
    );
    assert_eq!(resumed(&second.server_events), Some(false));
    // And a ticket first used without early data cannot carry early data afterwards.
    let third = resume(&cc, &sc, &ticket, Some(b"late"), 4);
    assert!(third.early.is_empty());
    assert_eq!(resumed(&third.server_events), Some(false));
}

#[test]
fn an_allow_early_data_callback_cannot_reopen_a_used_ticket_while_replay_protection_is_on() {
    // "the built-in replay protection feature will still be used even if a callback is
    // present unless it has been explicitly disabled using the SSL_OP_NO_ANTI_REPLAY option"
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let mut config = mutable_config(MAX_EARLY_DATA);
    config.allow_early_data = Some(Arc::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
        true
    }));
    let (cc, sc) = (client_config(), Arc::new(config));
    let ticket = one_ticket(&cc, &sc, 1);
    assert_eq!(resume(&cc, &sc, &ticket, Some(b"x"), 2).early, b"x");
    let again = resume(&cc, &sc, &ticket, Some(b"x"), 3);
    assert!(again.early.is_empty());
    assert_eq!(resumed(&again.server_events), Some(false));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the library refused first: the callback was not asked the second time"
    );
}

#[test]
fn with_no_anti_replay_the_same_ticket_resumes_twice_and_the_allow_early_data_callback_decides() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let mut config = mutable_config(MAX_EARLY_DATA);
    config.set_no_anti_replay(true);
    // The application's own replay policy: early data on the first use of a session only.
    config.allow_early_data = Some(Arc::new(move |_| {
        counter.fetch_add(1, Ordering::SeqCst) == 0
    }));
    let (cc, sc) = (client_config(), Arc::new(config));
    let ticket = one_ticket(&cc, &sc, 1);

    let first = resume(&cc, &sc, &ticket, Some(b"first"), 2);
    assert_eq!(first.early, b"first");
    assert_eq!(resumed(&first.server_events), Some(true));
    assert!(first
        .server_events
        .contains(&Event::AllowEarlyDataCallback { allowed: true }));
    assert!(
        consumed(&first.server_events).is_empty(),
        "no_anti_replay: looked up, not taken"
    );

    let second = resume(&cc, &sc, &ticket, Some(b"second"), 3);
    assert!(second.early.is_empty());
    assert_eq!(resumed(&second.server_events), Some(true), "reused ticket");
    assert!(second
        .server_events
        .contains(&Event::AllowEarlyDataCallback { allowed: false }));
    assert_eq!(
        early_rejection(&second.server_events),
        Some(EarlyDataRejectReason::CallbackDeclined)
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(sc
        .session_cache
        .lock()
        .unwrap()
        .contains(&ticket.ticket, Timestamp::SIM_EPOCH));
}

// ----- stateless tickets ----------------------------------------------------------------

#[test]
fn a_stateless_ticket_with_one_flipped_bit_falls_back_to_a_full_handshake_without_a_panic() {
    let keys = ticketer(7);
    let (cc, sc) = (client_config(), Arc::new(stateless_config(&keys)));
    let ticket = one_ticket(&cc, &sc, 1);
    assert!(ticket.ticket.len() > TICKET_OVERHEAD, "a sealed ticket");
    assert!(
        sc.session_cache.lock().unwrap().is_empty(),
        "no server state"
    );

    let len_bits = ticket.ticket.len() * 8;
    let bits = [
        0,                                   // key name
        KEY_NAME_LEN * 8 + 5,                // nonce
        (KEY_NAME_LEN + NONCE_LEN) * 8 + 17, // ciphertext
        len_bits - 1,                        // tag
    ];
    for (i, bit) in bits.into_iter().enumerate() {
        let mut tampered = ticket.clone();
        tampered.ticket[bit / 8] ^= 1 << (bit % 8);
        let r = resume(&cc, &sc, &tampered, Some(b"tampered"), 10 + i as u64);
        assert!(r.early.is_empty(), "bit {bit}");
        assert_eq!(
            psk_rejections(&r.server_events),
            vec![PskRejectReason::TicketDoesNotOpen],
            "bit {bit}"
        );
        assert_eq!(resumed(&r.server_events), Some(false), "bit {bit}");
        assert_eq!(r.client_status, EarlyDataStatus::Rejected);
    }
}

#[test]
fn an_intact_stateless_ticket_resumes_and_can_be_reused_while_anti_replay_is_off() {
    let keys = ticketer(7);
    let (cc, sc) = (client_config(), Arc::new(stateless_config(&keys)));
    let ticket = one_ticket(&cc, &sc, 1);
    for seed in [2, 3] {
        let r = resume(&cc, &sc, &ticket, Some(b"again"), seed);
        assert_eq!(r.early, b"again", "use with seed {seed}");
        assert_eq!(resumed(&r.server_events), Some(true));
        assert!(consumed(&r.server_events).is_empty());
    }
    // Stateless all the way: the resumptions' own tickets are sealed too.
    assert!(sc.session_cache.lock().unwrap().is_empty());
}

// ----- external PSKs --------------------------------------------------------------------

/// The man page: "The OpenSSL replay protection does not apply to external Pre Shared Keys
/// (PSKs) (e.g. see SSL_CTX_set_psk_find_session_callback(3)). Therefore, extreme caution
/// should be applied when combining external PSKs with early data." This test shows the
/// weakness: the same first flight delivers its early data to every server connection it
/// is replayed to, now or an hour later (an external PSK's obfuscated ticket age is 0, so
/// there is no freshness check either).
#[test]
fn a_replayed_external_psk_first_flight_is_accepted_again_the_documented_weakness_of_external_psks()
{
    let suite = TLS13_AES_128_GCM_SHA256.suite;
    let identity = b"sensor-17".to_vec();
    let psk = vec![0x42; 32];
    let mut session = ClientSession::external(suite, identity.clone(), psk.clone());
    session.set_max_early_data(MAX_EARLY_DATA);
    let mut cc = ClientConfig::new(ServerTrust::test_ca());
    cc.external_psk = Some(session);
    let cc = Arc::new(cc);

    let mut config = mutable_config(MAX_EARLY_DATA);
    let known = identity.clone();
    config.find_external_psk = Some(Arc::new(move |id: &[u8]| {
        (id == known.as_slice()).then(|| ServerSessionValue {
            suite,
            psk: psk.clone(),
            max_early_data: MAX_EARLY_DATA,
            alpn: None,
            server_name: None,
            age_add: 0,
            issued_at: Timestamp::SIM_EPOCH,
            lifetime_s: MAX_TICKET_LIFETIME_S,
        })
    }));
    let sc = Arc::new(config);

    let real = resume_at(
        &cc,
        &sc,
        None,
        Some(b"unlock door"),
        Timestamp::SIM_EPOCH,
        Timestamp::SIM_EPOCH,
        1,
    );
    assert_eq!(real.early, b"unlock door");
    assert_eq!(psk_accepted(&real.server_events), Some(true), "external");
    assert!(consumed(&real.server_events).is_empty());

    // On the wire: the external identity with obfuscated_ticket_age 0 (RFC 9846 4.2.11).
    let records = split_records(&real.flight);
    let record = records.first().expect("a ClientHello record");
    let msg = HandshakeMessage::read_bytes(&record[5..]).expect("a ClientHello");
    let HandshakePayload::ClientHello(ch) = msg.payload else {
        panic!("first record is not a ClientHello");
    };
    let offer = ch.psk_offer().expect("a pre_shared_key offer");
    assert_eq!(offer.identities.len(), 1);
    assert_eq!(offer.identities[0].identity, identity);
    assert_eq!(offer.identities[0].obfuscated_ticket_age, 0);

    for (seed, now) in [(2, Timestamp::SIM_EPOCH), (3, at_ms(3_600_000))] {
        let r = replay(&sc, &real.flight, now, seed);
        assert_eq!(r.early, b"unlock door", "the replay was ACCEPTED again");
        assert_eq!(psk_accepted(&r.events), Some(true));
        assert!(early_accepted(&r.events));
        assert!(
            !r.finished,
            "waiting for an EndOfEarlyData only the client could send"
        );
    }
}

// ----- replays of resumption first flights ----------------------------------------------

#[test]
fn a_first_flight_replayed_to_a_server_with_replay_protection_gets_no_early_data_and_cannot_complete(
) {
    let (cc, sc) = (client_config(), server_config(MAX_EARLY_DATA));
    let ticket = one_ticket(&cc, &sc, 1);
    let real = resume(&cc, &sc, &ticket, Some(b"POST /pay"), 2);
    assert_eq!(real.early, b"POST /pay");

    let mut r = replay(&sc, &real.flight, Timestamp::SIM_EPOCH, 3);
    assert!(r.finished, "read_early_data gives Finish");
    assert!(r.early.is_empty(), "with nothing");
    assert_eq!(psk_rejections(&r.events), vec![PskRejectReason::NotInCache]);
    assert_eq!(
        early_rejection(&r.events),
        Some(EarlyDataRejectReason::NoPskAccepted)
    );
    // The replayed connection waits for a client Finished that no attacker can forge.
    assert!(!r.server.is_init_finished());
    assert_eq!(
        r.server.do_handshake(Timestamp::SIM_EPOCH),
        Err(ConnError::WantRead)
    );
}

#[test]
fn a_replay_that_reaches_the_server_first_takes_the_early_data_and_the_real_client_falls_back() {
    // Single-use tickets guarantee at most once, not "the real client first".
    let (cc, sc) = (client_config(), server_config(MAX_EARLY_DATA));
    let ticket = one_ticket(&cc, &sc, 1);
    let mut pair = Pair::new(&cc, &sc, Some(ticket), 2);
    pair.client.write_early_data(b"once", pair.now).unwrap();
    let flight = pair.take_client_output();

    let attacker = replay(&sc, &flight, pair.now, 3);
    assert_eq!(attacker.early, b"once");

    pair.deliver_to_server(&flight);
    assert!(pair.server_read_all_early_data().is_empty());
    pair.handshake();
    assert_eq!(pair.client.early_data_status(), EarlyDataStatus::Rejected);
    let events = pair.server.take_events();
    assert_eq!(psk_rejections(&events), vec![PskRejectReason::NotInCache]);
    assert_eq!(resumed(&events), Some(false));
}

/// The ticket is taken from the cache when its identity is looked up, before the binder is
/// verified, as OpenSSL does (tls_parse_ctos_psk removes the session under "Check for
/// replay" and verifies the binder afterwards). So anyone who has seen a ticket identity
/// (it is sent in clear) can spend it with a forged binder: the handshake aborts, and the
/// real client gets a full handshake and loses its 0-RTT. Denial of 0-RTT, not a replay.
#[test]
fn a_client_hello_with_a_forged_binder_still_uses_up_the_single_use_ticket_as_in_openssl() {
    let (cc, sc) = (client_config(), server_config(MAX_EARLY_DATA));
    let ticket = one_ticket(&cc, &sc, 1);
    let mut pair = Pair::new(&cc, &sc, Some(ticket.clone()), 2);
    pair.client.write_early_data(b"mine", pair.now).unwrap();
    let flight = pair.take_client_output();

    // The binder list ends the ClientHello (RFC 9846 4.2.11), which is the first record.
    let mut forged = split_records(&flight).remove(0);
    let last = forged.len() - 1;
    forged[last] ^= 0x01;
    let mut attacker = Connection::server(sc.clone(), rng(3));
    assert_eq!(attacker.read_tls(&forged), forged.len());
    let err = attacker
        .read_early_data(&mut [0u8; 16], pair.now)
        .unwrap_err();
    assert_eq!(
        err,
        ConnError::Fatal(zerortt_core::Error::PeerMisbehaved(
            zerortt_core::PeerMisbehaved::IncorrectBinder
        ))
    );
    assert_eq!(
        consumed(&attacker.take_events()),
        vec![ticket_id(&ticket.ticket)]
    );

    pair.deliver_to_server(&flight);
    assert!(pair.server_read_all_early_data().is_empty());
    pair.handshake();
    let events = pair.server.take_events();
    assert_eq!(psk_rejections(&events), vec![PskRejectReason::NotInCache]);
    assert_eq!(pair.client.early_data_status(), EarlyDataStatus::Rejected);
}

// ----- external session cache: the remove race -------------------------------------------

/// An external session cache shared by servers (memcached, say): `new_session` stores at
/// once, `remove_session` only queues the removal, which reaches the store when the test
/// calls [`ExternalStore::apply_removals`] (the network latency of the remove message).
#[derive(Clone, Default)]
struct ExternalStore {
    sessions: Arc<Mutex<BTreeMap<Vec<u8>, ServerSessionValue>>>,
    removals_in_flight: Arc<Mutex<VecDeque<Vec<u8>>>>,
}

impl ExternalStore {
    fn apply_removals(&self) -> usize {
        let mut queue = self.removals_in_flight.lock().unwrap();
        let mut sessions = self.sessions.lock().unwrap();
        let n = queue.len();
        for id in queue.drain(..) {
            sessions.remove(&id);
        }
        n
    }

    fn holds(&self, id: &[u8]) -> bool {
        self.sessions.lock().unwrap().contains_key(id)
    }
}

impl SessionStoreCallbacks<ServerSessionValue> for ExternalStore {
    fn new_session(
        &mut self,
        _: &SessionCache<ServerSessionValue>,
        id: &[u8],
        value: &ServerSessionValue,
    ) {
        self.sessions
            .lock()
            .unwrap()
            .insert(id.to_vec(), value.clone());
    }

    fn remove_session(
        &mut self,
        cache: &SessionCache<ServerSessionValue>,
        id: &[u8],
        _: &ServerSessionValue,
        _: RemovalReason,
    ) {
        // The internal removal has already happened (the man page's ordering).
        assert!(!cache.contains(id, Timestamp::SIM_EPOCH));
        self.removals_in_flight
            .lock()
            .unwrap()
            .push_back(id.to_vec());
    }

    fn get_session(&mut self, id: &[u8]) -> Option<ServerSessionValue> {
        self.sessions.lock().unwrap().get(id).cloned()
    }
}

/// "OpenSSL will lock the internal cache while a session is removed but that lock is not
/// held when the remove session callback [...] is called. This could result in a small
/// amount of time where the session has been removed from the internal cache but is still
/// available in the external cache." Server A consumes the ticket; until A's removal
/// reaches the shared store, server B (own internal cache, same external store) finds the
/// session through get_session and accepts a replay of the client's first flight, as often
/// as it is replayed. Once the removal lands, B refuses.
#[test]
fn a_replay_at_another_server_inside_the_external_cache_remove_window_is_accepted_and_refused_after_it(
) {
    let store = ExternalStore::default();
    let server_with_store = || {
        let mut config = mutable_config(MAX_EARLY_DATA);
        config.session_store = Some(Arc::new(Mutex::new(store.clone())));
        Arc::new(config)
    };
    let (a, b) = (server_with_store(), server_with_store());
    assert!(!Arc::ptr_eq(&a.session_cache, &b.session_cache));
    let cc = client_config();
    let ticket = one_ticket(&cc, &a, 1);
    assert!(store.holds(&ticket.ticket), "new_session reached the store");
    assert!(b.session_cache.lock().unwrap().is_empty());

    let real = resume(&cc, &a, &ticket, Some(b"transfer 100"), 2);
    assert_eq!(real.early, b"transfer 100");
    assert_eq!(
        consumed(&real.server_events),
        vec![ticket_id(&ticket.ticket)]
    );
    assert!(
        store.holds(&ticket.ticket),
        "A's removal is still in flight"
    );

    // The race: B accepts the replayed early data, and keeps accepting inside the window
    // (B's own take queues one more removal, which is just as late).
    for seed in [3, 4] {
        let r = replay(&b, &real.flight, Timestamp::SIM_EPOCH, seed);
        assert_eq!(
            r.early, b"transfer 100",
            "replay inside the window is ACCEPTED"
        );
        assert_eq!(consumed(&r.events), vec![ticket_id(&ticket.ticket)]);
        assert!(early_accepted(&r.events));
    }

    assert_eq!(store.apply_removals(), 3, "A's removal and B's two");
    assert!(!store.holds(&ticket.ticket));
    let r = replay(&b, &real.flight, Timestamp::SIM_EPOCH, 5);
    assert!(r.finished && r.early.is_empty());
    assert_eq!(psk_rejections(&r.events), vec![PskRejectReason::NotInCache]);
}

// ----- freshness (RFC 9846 8.3) -----------------------------------------------------------

/// A ticket issued at the epoch (server and client agree then) is used 60 s later by the
/// client's clock, and the ClientHello reaches the server at `60 s + skew_ms` by the
/// server's clock. Ticket ages are whole milliseconds on the wire and every instant here
/// is a whole millisecond, so the server's skew is exactly `skew_ms`.
fn resume_with_clock_skew(
    cc: &Arc<ClientConfig>,
    sc: &Arc<ServerConfig>,
    ticket: &ClientSession,
    skew_ms: i64,
    seed: u64,
) -> Resumption {
    let client_now = at_ms(60_000);
    let server_ms = 60_000i64 + skew_ms;
    let server_now = at_ms(u64::try_from(server_ms).expect("after the epoch"));
    resume_at(
        cc,
        sc,
        Some(ticket),
        Some(b"fresh?"),
        client_now,
        server_now,
        seed,
    )
}

fn freshness_setup() -> (Arc<ClientConfig>, Arc<ServerConfig>, Vec<ClientSession>) {
    let mut config = mutable_config(MAX_EARLY_DATA);
    config.ticket_age_tolerance = secs(10);
    let (cc, sc) = (client_config(), Arc::new(config));
    let tickets = tickets_at(&cc, &sc, Timestamp::SIM_EPOCH, 1);
    assert_eq!(tickets.len(), 2);
    (cc, sc, tickets)
}

#[test]
fn a_client_clock_exactly_ten_seconds_behind_or_ahead_is_within_a_ten_second_tolerance() {
    let (cc, sc, tickets) = freshness_setup();
    // Behind: the client counts 10 s less than the server, so its ClientHello arrives
    // 10 s after the time its ticket age predicts. Ahead: 10 s before.
    for (ticket, skew_ms) in tickets.iter().zip([10_000, -10_000]) {
        let r = resume_with_clock_skew(&cc, &sc, ticket, skew_ms, 2);
        assert_eq!(r.early, b"fresh?", "skew {skew_ms} ms");
        assert!(early_accepted(&r.server_events));
    }
}

#[test]
fn a_client_clock_ten_seconds_and_one_millisecond_off_either_way_has_its_early_data_rejected() {
    let (cc, sc, tickets) = freshness_setup();
    for (ticket, skew_ms) in tickets.iter().zip([10_001, -10_001]) {
        let r = resume_with_clock_skew(&cc, &sc, ticket, skew_ms, 2);
        assert!(r.early.is_empty(), "skew {skew_ms} ms");
        assert_eq!(
            early_rejection(&r.server_events),
            Some(EarlyDataRejectReason::TicketAgeOutsideTolerance),
            "skew {skew_ms} ms"
        );
        // RFC 9846 8.3: "the server SHOULD proceed with the handshake but reject 0-RTT".
        assert_eq!(resumed(&r.server_events), Some(true));
        assert_eq!(r.client_status, EarlyDataStatus::Rejected);
    }
}

// ----- strike register (RFC 9846 8.2) -----------------------------------------------------

/// Two servers of one cluster: shared ticket keys, anti-replay off (reusable stateless
/// tickets), one shared strike register sized for the freshness tolerance.
fn cluster(register: &SharedStrikeRegister) -> (Arc<ServerConfig>, Arc<ServerConfig>) {
    let keys = ticketer(9);
    let node = || {
        let mut config = stateless_config(&keys);
        config.ticket_age_tolerance = secs(10);
        config.strike_register = Some(register.clone());
        config.num_tickets = 12;
        Arc::new(config)
    };
    (node(), node())
}

#[test]
fn two_servers_sharing_a_strike_register_catch_a_first_flight_replayed_across_them() {
    let register =
        SharedStrikeRegister::new(StrikeRegister::for_freshness_tolerance(secs(10), 1024));
    let (a, b) = cluster(&register);
    let cc = client_config();
    let ticket = one_ticket(&cc, &a, 1);
    let real = resume(&cc, &a, &ticket, Some(b"vote"), 2);
    assert_eq!(real.early, b"vote");
    assert_eq!(register.len(), 1);

    let r = replay(&b, &real.flight, Timestamp::SIM_EPOCH, 3);
    assert!(r.finished && r.early.is_empty());
    assert_eq!(
        psk_accepted(&r.events),
        Some(false),
        "the PSK itself is fine"
    );
    assert_eq!(
        early_rejection(&r.events),
        Some(EarlyDataRejectReason::ClientHelloReplayed)
    );

    // Control: the same cluster node without the register accepts the replay.
    let mut lone = stateless_config(&ticketer(9));
    lone.strike_register = None;
    let r = replay(&Arc::new(lone), &real.flight, Timestamp::SIM_EPOCH, 4);
    assert_eq!(r.early, b"vote");
}

#[test]
fn a_shared_strike_register_accepts_every_distinct_resumption_and_misses_no_replay_within_its_window(
) {
    const N: u64 = 12;
    let register =
        SharedStrikeRegister::new(StrikeRegister::for_freshness_tolerance(secs(10), 1024));
    let (a, b) = cluster(&register);
    let cc = client_config();
    let tickets = tickets_at(&cc, &a, Timestamp::SIM_EPOCH, 1);
    assert_eq!(tickets.len() as u64, N);
    let mut flights: Vec<(Vec<u8>, u64)> = Vec::new();
    let mut seed = 100;
    for (i, ticket) in (0..N).zip(&tickets) {
        // One resumption per second, alternating servers; clocks agree.
        let now = at_ms(i * 1000);
        let (here, there) = if i % 2 == 0 { (&a, &b) } else { (&b, &a) };
        seed += 1;
        let real = resume_at(&cc, here, Some(ticket), Some(b"op"), now, now, seed);
        assert_eq!(real.early, b"op", "distinct resumption {i} was accepted");
        flights.push((real.flight, i));
        // Every flight so far, replayed now at both servers.
        for (flight, j) in &flights {
            for server in [here, there] {
                seed += 1;
                let r = replay(server, flight, now, seed);
                assert!(r.early.is_empty(), "replay of {j} at {i} s got through");
                let expected = if i - *j <= 10 {
                    EarlyDataRejectReason::ClientHelloReplayed
                } else {
                    // Older than the tolerance: freshness stops it before the register
                    // is asked (the register's window, twice the tolerance, is a margin).
                    EarlyDataRejectReason::TicketAgeOutsideTolerance
                };
                assert_eq!(early_rejection(&r.events), Some(expected), "{j} at {i}");
            }
        }
    }
    assert_eq!(
        register.len() as u64,
        N,
        "one entry per accepted ClientHello"
    );
}

// ----- max_early_data changed at run time -------------------------------------------------

/// `SSL_CTX_set_max_early_data` at run time turns replay protection on (non-zero) and off
/// (zero), and `server_resolve_identity` follows the value of each new connection. What
/// happens to tickets already out there:
/// - a stateful ticket stays in the internal cache; while max_early_data is 0 a resumption
///   only looks it up (reusable, no early data: ServerMaxEarlyDataZero), and once
///   max_early_data is non-zero again the next resumption takes it (single use again, with
///   early data). So a ticket issued under replay protection may be used any number of
///   times while protection is off, and once more after it is back on.
/// - tickets issued while max_early_data was 0 advertise no early data and are cached too;
///   once protection is on they are single use even though they cannot carry early data.
#[test]
fn changing_max_early_data_at_run_time_switches_outstanding_stateful_tickets_between_single_use_and_reusable(
) {
    let (cc, sc) = (client_config(), server_config(MAX_EARLY_DATA));
    let ticket = one_ticket(&cc, &sc, 1);
    assert_eq!(ticket.max_early_data(), MAX_EARLY_DATA);

    sc.set_max_early_data(0);
    let mut zero_tickets = Vec::new();
    for seed in [2, 3] {
        let r = resume(&cc, &sc, &ticket, Some(b"x"), seed);
        assert_eq!(resumed(&r.server_events), Some(true), "reusable while 0");
        assert!(consumed(&r.server_events).is_empty());
        assert_eq!(
            early_rejection(&r.server_events),
            Some(EarlyDataRejectReason::ServerMaxEarlyDataZero)
        );
        zero_tickets.extend(r.new_tickets);
    }

    sc.set_max_early_data(MAX_EARLY_DATA);
    let r = resume(&cc, &sc, &ticket, Some(b"back on"), 4);
    assert_eq!(
        r.early, b"back on",
        "the outstanding ticket works once more"
    );
    assert_eq!(consumed(&r.server_events), vec![ticket_id(&ticket.ticket)]);
    let r = resume(&cc, &sc, &ticket, Some(b"back on"), 5);
    assert_eq!(
        psk_rejections(&r.server_events),
        vec![PskRejectReason::NotInCache]
    );

    let zero = zero_tickets
        .pop()
        .expect("tickets issued while max_early_data was 0");
    assert_eq!(zero.max_early_data(), 0);
    let r = resume(&cc, &sc, &zero, None, 6);
    assert_eq!(resumed(&r.server_events), Some(true));
    assert_eq!(consumed(&r.server_events), vec![ticket_id(&zero.ticket)]);
    let r = resume(&cc, &sc, &zero, None, 7);
    assert_eq!(resumed(&r.server_events), Some(false), "single use now");
}

/// Stateless tickets carry their state, so the server cannot make them single use: while
/// replay protection is on it refuses them (PskRejectReason::StatelessTicketWhileAntiReplay,
/// OpenSSL behaving as with SSL_OP_NO_TICKET) and issues stateful tickets instead; nothing
/// is consumed, so once protection is off again the same stateless ticket resumes, and the
/// stateful tickets issued meanwhile become reusable.
#[test]
fn stateless_tickets_are_refused_while_replay_protection_is_on_and_resume_again_once_it_is_off() {
    let keys = ticketer(3);
    let (cc, sc) = (client_config(), Arc::new(stateless_config(&keys)));
    let ticket = one_ticket(&cc, &sc, 1);
    assert!(sc.session_cache.lock().unwrap().is_empty());

    sc.set_no_anti_replay(false);
    let r = resume(&cc, &sc, &ticket, Some(b"x"), 2);
    assert!(r.early.is_empty());
    assert_eq!(
        psk_rejections(&r.server_events),
        vec![PskRejectReason::StatelessTicketWhileAntiReplay]
    );
    assert_eq!(resumed(&r.server_events), Some(false));
    let stateful = r.new_tickets.last().cloned().expect("new tickets");
    assert_eq!(stateful.ticket.len(), 32, "a cache id, not a sealed ticket");
    assert_eq!(sc.session_cache.lock().unwrap().len(), r.new_tickets.len());

    sc.set_no_anti_replay(true);
    let r = resume(&cc, &sc, &ticket, Some(b"off again"), 3);
    assert_eq!(r.early, b"off again");
    assert_eq!(resumed(&r.server_events), Some(true));
    for seed in [4, 5] {
        let r = resume(&cc, &sc, &stateful, None, seed);
        assert_eq!(resumed(&r.server_events), Some(true), "reusable now");
        assert!(consumed(&r.server_events).is_empty());
    }

    // max_early_data 0 also switches protection off: the stateless ticket resumes, without
    // early data.
    sc.set_no_anti_replay(false);
    sc.set_max_early_data(0);
    let r = resume(&cc, &sc, &ticket, Some(b"x"), 6);
    assert_eq!(resumed(&r.server_events), Some(true));
    assert_eq!(
        early_rejection(&r.server_events),
        Some(EarlyDataRejectReason::ServerMaxEarlyDataZero)
    );
}

// ----- property: no ticket is ever accepted twice -----------------------------------------

#[derive(Debug, bolero::TypeGenerator)]
enum Op {
    /// A full handshake; the client keeps the tickets.
    Issue,
    /// A real resumption with ticket `k` (reused tickets included), to completion.
    Resume { k: u8, early_data: bool },
    /// The attacker takes a client's first flight off the wire before the server sees it.
    Intercept { k: u8 },
    /// The attacker replays captured first flight `j` to a new connection.
    Replay { j: u8 },
    /// Time passes (both clocks).
    Advance { ms: u16 },
}

/// Checks one server connection's events and counts its PSK acceptance against the
/// ticket it consumed.
fn account(
    events: &[Event],
    offered: &str,
    issued: &BTreeMap<String, ()>,
    accepted: &mut BTreeMap<String, u32>,
) {
    let Some(external) = psk_accepted(events) else {
        return;
    };
    assert!(!external);
    let ids = consumed(events);
    assert_eq!(
        ids,
        vec![offered.to_owned()],
        "resumed without taking the ticket"
    );
    assert!(
        issued.contains_key(offered),
        "resumed with a ticket never issued"
    );
    let count = accepted.entry(offered.to_owned()).or_default();
    *count += 1;
    assert_eq!(*count, 1, "ticket {offered} accepted twice");
}

#[test]
fn for_any_sequence_of_issues_resumptions_replays_and_delays_no_ticket_is_accepted_twice() {
    bolero::check!()
        .with_type::<Vec<Op>>()
        .with_iterations(16)
        .for_each(|ops| {
            let (cc, sc) = (client_config(), server_config(MAX_EARLY_DATA));
            let mut now_ms = 0u64;
            let mut seed = 0u64;
            let mut tickets: Vec<ClientSession> = Vec::new();
            // Captured first flights with the ticket id they offer.
            let mut flights: Vec<(Vec<u8>, String)> = Vec::new();
            let mut issued = BTreeMap::new();
            let mut accepted = BTreeMap::new();
            let mut next_seed = || {
                seed += 1;
                seed
            };
            for op in ops.iter().take(16) {
                let now = at_ms(now_ms);
                match *op {
                    Op::Issue => {
                        let mut pair = Pair::new(&cc, &sc, None, next_seed());
                        pair.now = now;
                        pair.handshake();
                        pair.server_to_client();
                        let _ = pair.client.read(&mut [0u8; 16], now);
                        for e in pair.server.take_events() {
                            if let Event::TicketIssued { ticket_id, .. } = e {
                                issued.insert(ticket_id, ());
                            }
                        }
                        tickets.extend(pair.client.take_new_sessions());
                    }
                    Op::Resume { k, early_data } if !tickets.is_empty() => {
                        let t = &tickets[usize::from(k) % tickets.len()];
                        let early = early_data.then_some(&b"op"[..]);
                        let r = resume_at(&cc, &sc, Some(t), early, now, now, next_seed());
                        let id = ticket_id(&t.ticket);
                        account(&r.server_events, &id, &issued, &mut accepted);
                        if !r.early.is_empty() {
                            assert_eq!(psk_accepted(&r.server_events), Some(false));
                        }
                        for e in &r.server_events {
                            if let Event::TicketIssued { ticket_id, .. } = e {
                                issued.insert(ticket_id.clone(), ());
                            }
                        }
                        tickets.extend(r.new_tickets);
                        flights.push((r.flight, id));
                    }
                    Op::Intercept { k } if !tickets.is_empty() => {
                        let t = tickets[usize::from(k) % tickets.len()].clone();
                        let id = ticket_id(&t.ticket);
                        let mut client =
                            Connection::client(cc.clone(), SERVER_NAME, Some(t), rng(next_seed()));
                        client.write_early_data(b"op", now).expect("a 0-RTT ticket");
                        let mut flight = Vec::new();
                        client.write_tls(&mut flight);
                        flights.push((flight, id));
                    }
                    Op::Replay { j } if !flights.is_empty() => {
                        let (flight, id) = &flights[usize::from(j) % flights.len()];
                        let r = replay(&sc, flight, now, next_seed());
                        account(&r.events, id, &issued, &mut accepted);
                        if !r.early.is_empty() {
                            assert_eq!(psk_accepted(&r.events), Some(false));
                        }
                    }
                    Op::Advance { ms } => now_ms += u64::from(ms) * 10,
                    _ => {}
                }
            }
        });
}
