//! An in-memory client/server pair (quinn-proto's `Pair`, without a network): bytes move
//! only when a test says so, so tests can observe every intermediate state.
#![allow(dead_code)]

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::sync::Arc;
use zerortt_core::conn::config::{ClientConfig, ServerConfig};
use zerortt_core::identity::test_identity;
use zerortt_core::tickets::session::ClientSession;
use zerortt_core::time::Timestamp;
use zerortt_core::verify::ServerTrust;
use zerortt_core::Connection;

pub const SERVER_NAME: &str = "localhost";

pub fn rng(seed: u64) -> Box<ChaCha20Rng> {
    Box::new(ChaCha20Rng::seed_from_u64(seed))
}

/// A server config with early data enabled at `max_early_data`.
pub fn server_config(max_early_data: u32) -> Arc<ServerConfig> {
    let config = ServerConfig::new(test_identity::ed25519());
    config.set_max_early_data(max_early_data);
    Arc::new(config)
}

pub fn client_config() -> Arc<ClientConfig> {
    Arc::new(ClientConfig::new(ServerTrust::test_ca()))
}

pub struct Pair {
    pub client: Connection,
    pub server: Connection,
    pub now: Timestamp,
    c2s: Vec<u8>,
    s2c: Vec<u8>,
}

impl Pair {
    pub fn new(
        client_config: &Arc<ClientConfig>,
        server_config: &Arc<ServerConfig>,
        session: Option<ClientSession>,
        seed: u64,
    ) -> Self {
        Self {
            client: Connection::client(client_config.clone(), SERVER_NAME, session, rng(seed)),
            server: Connection::server(server_config.clone(), rng(seed ^ 0x5eed)),
            now: Timestamp::SIM_EPOCH,
            c2s: Vec::new(),
            s2c: Vec::new(),
        }
    }

    /// Moves everything the client has written to the server's input. Returns bytes moved.
    pub fn client_to_server(&mut self) -> usize {
        self.client.write_tls(&mut self.c2s);
        let n = self.server.read_tls(&self.c2s);
        self.c2s.drain(..n);
        n
    }

    pub fn server_to_client(&mut self) -> usize {
        self.server.write_tls(&mut self.s2c);
        let n = self.client.read_tls(&self.s2c);
        self.s2c.drain(..n);
        n
    }

    /// Bytes the client has produced but not yet moved.
    pub fn take_client_output(&mut self) -> Vec<u8> {
        self.client.write_tls(&mut self.c2s);
        std::mem::take(&mut self.c2s)
    }

    /// Drives both sides with do_handshake until both are complete (bounded).
    pub fn handshake(&mut self) {
        for _ in 0..20 {
            let _ = self.client.do_handshake(self.now);
            self.client_to_server();
            let _ = self.server.do_handshake(self.now);
            self.server_to_client();
            if self.client.is_init_finished() && self.server.is_init_finished() {
                let _ = self.client.do_handshake(self.now);
                return;
            }
        }
        panic!(
            "handshake did not complete: client {:?} server {:?}",
            self.client, self.server
        );
    }

    /// Server side of an early-data-aware accept: read_early_data until Finish, collecting
    /// what was read, moving bytes as needed. Returns the early data.
    pub fn server_read_all_early_data(&mut self) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        for _ in 0..100 {
            self.client_to_server();
            match self.server.read_early_data(&mut buf, self.now) {
                Ok(zerortt_core::ReadEarlyData::Success(n)) => got.extend_from_slice(&buf[..n]),
                Ok(zerortt_core::ReadEarlyData::Finish) => return got,
                Err(zerortt_core::ConnError::WantRead) => {
                    self.server_to_client();
                    let _ = self.client.do_handshake(self.now);
                }
                Err(e) => panic!("read_early_data failed: {e}"),
            }
        }
        panic!("read_early_data never finished");
    }
}

/// Runs a full handshake and returns the client's tickets.
pub fn tickets_from_full_handshake(
    client_config: &Arc<ClientConfig>,
    server_config: &Arc<ServerConfig>,
    seed: u64,
) -> Vec<ClientSession> {
    let mut pair = Pair::new(client_config, server_config, None, seed);
    pair.handshake();
    // Tickets follow the server's handshake completion.
    pair.server_to_client();
    let mut buf = [0u8; 16];
    let _ = pair.client.read(&mut buf, pair.now);
    pair.client.take_new_sessions()
}

/// Splits a byte stream into complete TLS records (header + payload).
pub fn split_records(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 5 {
        let len = usize::from(u16::from_be_bytes([rest[3], rest[4]]));
        let end = (5 + len).min(rest.len());
        out.push(rest[..end].to_vec());
        rest = &rest[end..];
    }
    out
}

/// True if `events` contains a handshake message of type `typ` sent by this side.
pub fn sent(events: &[zerortt_core::Event], typ: zerortt_core::msgs::enums::HandshakeType) -> bool {
    events
        .iter()
        .any(|e| matches!(e, zerortt_core::Event::HandshakeSent(t) if *t == typ))
}

impl Pair {
    /// Hands raw bytes to the server (for tests that cut the client's output up).
    pub fn deliver_to_server(&mut self, bytes: &[u8]) {
        let n = self.server.read_tls(bytes);
        assert_eq!(n, bytes.len(), "server buffer full");
    }
}
