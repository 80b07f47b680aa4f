//! What a real server puts in its NewSessionTickets (RFC 9846 4.7.1), read back from the
//! wire: how many, their nonces, lifetime and early_data extension, whether the ticket is
//! a cache id or sealed state (SSL_read_early_data(3), REPLAY PROTECTION), and what an
//! external session store hears about them (SSL_CTX_sess_set_new_cb / remove_cb / get_cb).

#[path = "common/pair.rs"]
mod pair;
#[path = "common/scripted.rs"]
mod scripted;
#[path = "common/wire.rs"]
mod wire;

use pair::{client_config, rng, SERVER_NAME};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use wire::*;
use zerortt_core::conn::config::{ClientConfig, ServerConfig, TicketKind};
use zerortt_core::conn::events::PskRejectReason;
use zerortt_core::identity::test_identity;
use zerortt_core::msgs::extensions::NewSessionTicketExtension;
use zerortt_core::msgs::handshake::{HandshakePayload, NewSessionTicket};
use zerortt_core::tickets::cache::{RemovalReason, SessionCache, SessionStoreCallbacks};
use zerortt_core::tickets::session::{ClientSession, ServerSessionValue};
use zerortt_core::tickets::ticketer::{TicketAead, TicketKey, Ticketer, KEY_NAME_LEN};
use zerortt_core::time::Timestamp;
use zerortt_core::{ConnError, Connection, EarlyDataStatus, Event, ReadEarlyData, Side};

const NOW: Timestamp = Timestamp::SIM_EPOCH;

/// A completed handshake: both connections, and everything the server wrote and logged.
struct Done {
    client: Connection,
    server: Connection,
    server_wire: Vec<u8>,
    server_events: Vec<Event>,
}

impl Done {
    /// The NewSessionTickets the server sent, decrypted from its records.
    fn tickets(&self) -> Vec<NewSessionTicket> {
        let suite = completed_suite(&self.server_events);
        let opened = open_sent(Side::Server, &self.server_events, &self.server_wire, suite);
        handshake_messages(&opened)
            .into_iter()
            .filter_map(|m| match m {
                HandshakePayload::NewSessionTicket(nst) => Some(nst),
                _ => None,
            })
            .collect()
    }

    fn client_sessions(&mut self) -> Vec<ClientSession> {
        self.client.take_new_sessions()
    }
}

/// Runs a handshake (with `early` as early data when given) to completion on both sides;
/// the client then processes the tickets that followed.
fn handshake(
    cc: &Arc<ClientConfig>,
    sc: &Arc<ServerConfig>,
    session: Option<ClientSession>,
    early: Option<&[u8]>,
    seed: u64,
) -> Done {
    let mut client = Connection::client(cc.clone(), SERVER_NAME, session, rng(seed));
    let mut server = Connection::server(sc.clone(), rng(seed + 1));
    let (mut server_wire, mut server_events) = (Vec::new(), Vec::new());
    let mut finished_early = false;
    for round in 0..10 {
        let r = match (round, early) {
            (0, Some(data)) => client.write_early_data(data, NOW).map(|_| ()),
            _ => client.do_handshake(NOW),
        };
        assert!(matches!(r, Ok(()) | Err(ConnError::WantRead)), "{r:?}");
        move_bytes(&mut client, &mut server);
        while !finished_early {
            match server.read_early_data(&mut [0u8; 1024], NOW) {
                Ok(ReadEarlyData::Success(_)) => {}
                Ok(ReadEarlyData::Finish) => finished_early = true,
                Err(ConnError::WantRead) => break,
                Err(e) => panic!("read_early_data: {e}"),
            }
        }
        if finished_early {
            let r = server.do_handshake(NOW);
            assert!(matches!(r, Ok(()) | Err(ConnError::WantRead)), "{r:?}");
        }
        server_wire.extend(move_bytes(&mut server, &mut client));
        server_events.extend(server.take_events());
        if client.is_init_finished() && server.is_init_finished() {
            client.process_new_packets(NOW).unwrap();
            return Done {
                client,
                server,
                server_wire,
                server_events,
            };
        }
    }
    panic!("no handshake");
}

fn config(max_early_data: u32, edit: impl FnOnce(&mut ServerConfig)) -> Arc<ServerConfig> {
    let mut sc = ServerConfig::new(test_identity::ed25519());
    sc.set_max_early_data(max_early_data);
    edit(&mut sc);
    Arc::new(sc)
}

fn ticketer() -> Arc<Mutex<Ticketer>> {
    let key = TicketKey::new([7; KEY_NAME_LEN], TicketAead::Aes256Gcm, &[7; 32]).unwrap();
    Arc::new(Mutex::new(Ticketer::new(key)))
}

// ----- counts and nonces ---------------------------------------------------------------

#[test]
fn the_tickets_of_one_connection_carry_the_nonces_0_1_2_and_so_give_distinct_psks() {
    let sc = config(16384, |sc| sc.num_tickets = 3);
    let mut done = handshake(&client_config(), &sc, None, None, 1);
    let tickets = done.tickets();
    let nonces: Vec<Vec<u8>> = tickets.iter().map(|t| t.nonce.clone()).collect();
    // RFC 9846 4.7.1: "The PSK associated with the ticket is computed as
    // HKDF-Expand-Label(resumption_secret, "resumption", ticket_nonce, Hash.length)";
    // the nonce "MUST be unique across all tickets issued on this connection".
    assert_eq!(
        nonces,
        [0u64, 1, 2].map(|n| n.to_be_bytes().to_vec()).to_vec()
    );
    let sessions = done.client_sessions();
    assert_eq!(sessions.len(), 3);
    assert_ne!(sessions[0].psk, sessions[1].psk);
    assert_ne!(sessions[1].psk, sessions[2].psk);
    assert_ne!(sessions[0].psk, sessions[2].psk);
}

#[test]
fn a_server_configured_for_no_tickets_sends_none() {
    let sc = config(16384, |sc| sc.num_tickets = 0);
    let mut done = handshake(&client_config(), &sc, None, None, 3);
    assert!(done.tickets().is_empty());
    assert!(done.client_sessions().is_empty());
    assert!(sc.session_cache.lock().unwrap().is_empty());
}

#[test]
fn a_resumed_connection_issues_tickets_with_nonces_counted_from_zero_again() {
    let (cc, sc) = (client_config(), config(16384, |_| {}));
    let mut first = handshake(&cc, &sc, None, None, 5);
    let ticket = first.client_sessions().pop().unwrap();
    let resumed = handshake(&cc, &sc, Some(ticket), Some(b"early"), 7);
    assert_eq!(
        resumed.server.early_data_status(),
        EarlyDataStatus::Accepted
    );
    let nonces: Vec<Vec<u8>> = resumed.tickets().iter().map(|t| t.nonce.clone()).collect();
    assert_eq!(nonces, [vec![0; 8], 1u64.to_be_bytes().to_vec()]);
}

// ----- lifetime and early_data ---------------------------------------------------------

#[test]
fn a_ticket_lifetime_over_seven_days_is_sent_as_exactly_seven_days() {
    // RFC 9846 4.7.1: "Servers MUST NOT use any value greater than 604800 seconds".
    let sc = config(16384, |sc| {
        sc.ticket_lifetime = Duration::from_secs(8 * 86_400)
    });
    let done = handshake(&client_config(), &sc, None, None, 9);
    assert!(done.tickets().iter().all(|t| t.lifetime == 604_800));
    let sc = config(16384, |sc| sc.ticket_lifetime = Duration::from_secs(3600));
    let done = handshake(&client_config(), &sc, None, None, 11);
    assert!(done.tickets().iter().all(|t| t.lifetime == 3600));
}

#[test]
fn a_ticket_from_a_server_with_early_data_off_carries_no_early_data_extension() {
    let done = handshake(&client_config(), &config(0, |_| {}), None, None, 13);
    let tickets = done.tickets();
    assert_eq!(tickets.len(), 2);
    for t in tickets {
        assert_eq!(t.extensions, [], "not even early_data(0)");
    }
}

#[test]
fn a_ticket_from_a_server_with_early_data_on_carries_its_max_early_data() {
    let done = handshake(&client_config(), &config(5000, |_| {}), None, None, 15);
    for t in done.tickets() {
        assert_eq!(t.extensions, [NewSessionTicketExtension::EarlyData(5000)]);
    }
}

// ----- stateful or stateless -----------------------------------------------------------

#[test]
fn with_early_data_off_a_server_configured_for_stateless_tickets_seals_its_session_state() {
    let t = ticketer();
    let sc = config(0, |sc| sc.ticket_kind = TicketKind::Stateless(t.clone()));
    let done = handshake(&client_config(), &sc, None, None, 17);
    let tickets = done.tickets();
    assert_eq!(tickets.len(), 2);
    for nst in &tickets {
        let plain = t
            .lock()
            .unwrap()
            .open(&nst.ticket)
            .expect("a sealed ticket");
        let value = ServerSessionValue::from_bytes(&plain).unwrap();
        assert_eq!(value.max_early_data, 0);
        assert_eq!(value.server_name.as_deref(), Some(SERVER_NAME));
        assert_eq!(value.age_add, nst.age_add);
        assert_eq!(value.lifetime_s, nst.lifetime);
        assert_eq!(value.issued_at, NOW);
    }
    assert!(
        sc.session_cache.lock().unwrap().is_empty(),
        "nothing cached"
    );
}

#[test]
fn with_anti_replay_off_a_server_with_early_data_seals_stateless_tickets() {
    let t = ticketer();
    let sc = config(16384, |sc| {
        sc.ticket_kind = TicketKind::Stateless(t.clone());
        sc.set_no_anti_replay(true);
    });
    let done = handshake(&client_config(), &sc, None, None, 19);
    for nst in done.tickets() {
        let plain = t
            .lock()
            .unwrap()
            .open(&nst.ticket)
            .expect("a sealed ticket");
        assert_eq!(
            ServerSessionValue::from_bytes(&plain)
                .unwrap()
                .max_early_data,
            16384
        );
    }
    assert!(sc.session_cache.lock().unwrap().is_empty());
}

#[test]
fn with_replay_protection_on_a_server_configured_for_stateless_tickets_issues_cache_ids() {
    // SSL_read_early_data(3): "Sessions will be added to the cache whenever a session
    // ticket is issued" while replay protection is on (max_early_data > 0).
    let t = ticketer();
    let sc = config(16384, |sc| {
        sc.ticket_kind = TicketKind::Stateless(t.clone())
    });
    let done = handshake(&client_config(), &sc, None, None, 21);
    let tickets = done.tickets();
    assert_eq!(tickets.len(), 2);
    let cache = sc.session_cache.lock().unwrap();
    assert_eq!(cache.len(), 2);
    for nst in &tickets {
        assert_eq!(nst.ticket.len(), 32, "a random id");
        assert!(t.lock().unwrap().open(&nst.ticket).is_none());
        let value = cache.get(&nst.ticket, NOW).expect("cached under its id");
        assert_eq!(value.age_add, nst.age_add);
        assert_eq!(value.max_early_data, 16384);
    }
}

#[test]
fn a_stateful_server_with_early_data_off_caches_reusable_tickets() {
    let sc = config(0, |_| {});
    let (cc, seed) = (client_config(), 23);
    let mut done = handshake(&cc, &sc, None, None, seed);
    let tickets = done.tickets();
    for nst in &tickets {
        assert!(sc.session_cache.lock().unwrap().contains(&nst.ticket, NOW));
    }
    // Reusable: without replay protection a lookup does not remove it.
    let session = done.client_sessions().pop().unwrap();
    for i in 0..2 {
        let again = handshake(&cc, &sc, Some(session.clone()), None, 25 + 2 * i);
        assert!(again
            .server_events
            .iter()
            .any(|e| matches!(e, Event::HandshakeComplete { resumed: true, .. })));
    }
}

// ----- the external session store ------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    New(Vec<u8>),
    Remove(Vec<u8>, RemovalReason),
    Get(Vec<u8>),
}

/// Records every callback; `get_session` answers from `supply`.
#[derive(Default)]
struct Recorder {
    calls: Vec<Call>,
    supply: Option<(Vec<u8>, ServerSessionValue)>,
}

impl SessionStoreCallbacks<ServerSessionValue> for Recorder {
    fn new_session(
        &mut self,
        cache: &SessionCache<ServerSessionValue>,
        id: &[u8],
        value: &ServerSessionValue,
    ) {
        assert_eq!(
            cache.get(id, NOW),
            Some(value),
            "already in the internal cache"
        );
        self.calls.push(Call::New(id.to_vec()));
    }

    fn remove_session(
        &mut self,
        cache: &SessionCache<ServerSessionValue>,
        id: &[u8],
        _value: &ServerSessionValue,
        reason: RemovalReason,
    ) {
        assert!(
            !cache.contains(id, NOW),
            "already gone from the internal cache"
        );
        self.calls.push(Call::Remove(id.to_vec(), reason));
    }

    fn get_session(&mut self, id: &[u8]) -> Option<ServerSessionValue> {
        self.calls.push(Call::Get(id.to_vec()));
        match &self.supply {
            Some((known, value)) if known == id => Some(value.clone()),
            _ => None,
        }
    }
}

fn with_store(max_early_data: u32, store: &Arc<Mutex<Recorder>>) -> Arc<ServerConfig> {
    let store = store.clone();
    config(max_early_data, move |sc| sc.session_store = Some(store))
}

#[test]
fn the_external_store_hears_of_every_ticket_issued_and_of_a_single_use_ticket_taken() {
    let store = Arc::new(Mutex::new(Recorder::default()));
    let (cc, sc) = (client_config(), with_store(16384, &store));
    let mut done = handshake(&cc, &sc, None, None, 31);
    let ids: Vec<Vec<u8>> = done.tickets().into_iter().map(|t| t.ticket).collect();
    assert_eq!(
        store.lock().unwrap().calls,
        ids.iter().cloned().map(Call::New).collect::<Vec<_>>()
    );
    let session = done.client_sessions().pop().unwrap();
    assert_eq!(session.ticket, ids[1]);
    store.lock().unwrap().calls.clear();
    let resumed = handshake(&cc, &sc, Some(session), Some(b"early"), 33);
    assert_eq!(
        resumed.server.early_data_status(),
        EarlyDataStatus::Accepted
    );
    let calls = store.lock().unwrap().calls.clone();
    assert_eq!(calls[0], Call::Remove(ids[1].clone(), RemovalReason::Taken));
    assert_eq!(calls.len(), 3, "then the two new tickets: {calls:?}");
}

#[test]
fn a_session_only_the_external_store_holds_resumes_once_and_is_removed_from_it() {
    let store = Arc::new(Mutex::new(Recorder::default()));
    let (cc, sc) = (client_config(), with_store(16384, &store));
    let mut done = handshake(&cc, &sc, None, None, 35);
    let session = done.client_sessions().pop().unwrap();
    let id = session.ticket.clone();
    // Another server sharing only the external store: its internal cache is empty.
    let value = sc
        .session_cache
        .lock()
        .unwrap()
        .get(&id, NOW)
        .unwrap()
        .clone();
    let other_store = Arc::new(Mutex::new(Recorder {
        calls: Vec::new(),
        supply: Some((id.clone(), value)),
    }));
    let other = with_store(16384, &other_store);
    let resumed = handshake(&cc, &other, Some(session), Some(b"early"), 37);
    assert_eq!(
        resumed.server.early_data_status(),
        EarlyDataStatus::Accepted
    );
    let calls = other_store.lock().unwrap().calls.clone();
    assert_eq!(
        calls[..2],
        [
            Call::Get(id.clone()),
            Call::Remove(id.clone(), RemovalReason::Taken)
        ]
    );
}

#[test]
fn with_anti_replay_off_a_session_from_the_external_store_is_copied_in_and_not_removed() {
    let store = Arc::new(Mutex::new(Recorder::default()));
    let sc = config(16384, |sc| sc.set_no_anti_replay(true));
    let cc = client_config();
    let mut done = handshake(&cc, &sc, None, None, 39);
    let session = done.client_sessions().pop().unwrap();
    let id = session.ticket.clone();
    let value = sc
        .session_cache
        .lock()
        .unwrap()
        .get(&id, NOW)
        .unwrap()
        .clone();
    store.lock().unwrap().supply = Some((id.clone(), value));
    let other = with_store(16384, &store);
    other.set_no_anti_replay(true);
    let resumed = handshake(&cc, &other, Some(session), None, 41);
    assert!(resumed
        .server_events
        .iter()
        .any(|e| matches!(e, Event::HandshakeComplete { resumed: true, .. })));
    let calls = store.lock().unwrap().calls.clone();
    assert_eq!(calls[0], Call::Get(id.clone()));
    assert!(!calls.contains(&Call::Remove(id.clone(), RemovalReason::Taken)));
    assert!(other.session_cache.lock().unwrap().contains(&id, NOW));
}

#[test]
fn a_server_refuses_a_ticket_older_than_the_lifetime_it_gave_it_even_if_a_client_offers_it() {
    // The client's own check would not offer it (RFC 9846 4.3.11.1); this client keeps
    // a longer lifetime than it was given, so only the server's check stands in the way.
    let sc = config(16384, |sc| sc.ticket_lifetime = Duration::from_secs(10));
    let cc = client_config();
    let mut done = handshake(&cc, &sc, None, None, 43);
    let mut session = done.client_sessions().pop().unwrap();
    assert_eq!(session.lifetime_s, 10);
    session.lifetime_s = 3600;
    let later = NOW.saturating_add(Duration::from_secs(11));
    let mut client = Connection::client(cc.clone(), SERVER_NAME, Some(session), rng(44));
    let mut server = Connection::server(sc.clone(), rng(45));
    assert_eq!(client.do_handshake(later), Err(ConnError::WantRead));
    move_bytes(&mut client, &mut server);
    assert_eq!(server.do_handshake(later), Err(ConnError::WantRead));
    let events = server.take_events();
    assert!(events.contains(&Event::PskRejected {
        reason: PskRejectReason::Expired
    }));
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::PskAccepted { .. })));
}
