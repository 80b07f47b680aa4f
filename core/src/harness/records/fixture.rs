//! Identities and resumable sessions, computed once per process: one real full handshake
//! per [`SESSIONS`] entry.

use super::{ALPN_H2, SERVER_NAME, SESSIONS};
use crate::conn::config::{ClientConfig, ServerConfig};
use crate::harness::HarnessRng;
use crate::identity::{test_identity, CertifiedKey};
use crate::tickets::session::{ClientSession, ServerSessionValue};
use crate::time::Timestamp;
use crate::verify::ServerTrust;
use crate::Connection;
use std::sync::{Arc, OnceLock};

/// A resumable session: the client's half and the server's cache entry.
#[derive(Clone)]
pub(super) struct SessionPair {
    pub(super) client: ClientSession,
    pub(super) server: ServerSessionValue,
}

pub(super) struct Fixture {
    pub(super) identity: CertifiedKey,
    pub(super) trust: ServerTrust,
    pub(super) sessions: Vec<SessionPair>,
}

pub(super) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let identity = test_identity::ed25519();
        let trust = ServerTrust::test_ca();
        let sessions = SESSIONS
            .iter()
            .enumerate()
            .map(|(i, (max, alpn))| issue_session(&identity, &trust, *max, *alpn, i as u64))
            .collect();
        Fixture {
            identity,
            trust,
            sessions,
        }
    })
}

/// One full handshake; returns its first ticket and the server's cache entry for it.
fn issue_session(
    identity: &CertifiedKey,
    trust: &ServerTrust,
    max_early_data: u32,
    alpn: bool,
    seed: u64,
) -> SessionPair {
    let now = Timestamp::SIM_EPOCH;
    let protocols = if alpn {
        vec![ALPN_H2.to_vec()]
    } else {
        Vec::new()
    };
    let mut sc = ServerConfig::new(identity.clone());
    sc.alpn_protocols = protocols.clone();
    sc.set_max_early_data(max_early_data);
    let sc = Arc::new(sc);
    let mut cc = ClientConfig::new(trust.clone());
    cc.alpn_protocols = protocols;
    let mut client = Connection::client(
        Arc::new(cc),
        SERVER_NAME,
        None,
        Box::new(HarnessRng::new(seed)),
    );
    let mut server = Connection::server(sc.clone(), Box::new(HarnessRng::new(seed ^ 0x5eed)));
    let mut wire = Vec::new();
    let mut buf = vec![0u8; 1024];
    for _ in 0..8 {
        let _ = client.do_handshake(now);
        client.write_tls(&mut wire);
        server.read_tls(&wire);
        wire.clear();
        let _ = server.do_handshake(now);
        server.write_tls(&mut wire);
        client.read_tls(&wire);
        wire.clear();
        let _ = client.read(&mut buf, now);
        if client.is_init_finished() && server.is_init_finished() {
            break;
        }
    }
    let client_session = client.take_new_sessions().into_iter().next();
    let server_value = client_session.as_ref().and_then(|s| {
        sc.session_cache
            .lock()
            .ok()
            .and_then(|c| c.get(&s.ticket, now).cloned())
    });
    match (client_session, server_value) {
        (Some(client), Some(server)) => SessionPair { client, server },
        _ => panic!(
            "oracle fixture: a full handshake issued no usable ticket (max_early_data \
             {max_early_data}, alpn {alpn}): client {client:?} server {server:?}"
        ),
    }
}
