//! The zerortt side: a [`Connection`] with a seeded ChaCha20 RNG and a fixed clock, fed from
//! an input queue (its `read_tls` takes one record buffer at a time, so every call feeds it
//! again until the call stops asking for bytes).

use crate::pump::{ClientEnd, Endpoint, Failure, ServerEnd, Status};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::sync::Arc;
use zerortt_core::conn::config::{ClientConfig, ServerConfig};
use zerortt_core::crypto::suites::{self, Tls13CipherSuite};
use zerortt_core::identity::test_identity;
use zerortt_core::msgs::enums::CipherSuite;
use zerortt_core::tickets::session::ClientSession;
use zerortt_core::time::Timestamp;
use zerortt_core::verify::ServerTrust;
use zerortt_core::{ConnError, Connection, EarlyDataStatus, Event, ReadEarlyData};

/// Most feed-and-call repetitions in one call (a 16 KiB flight is two records).
const MAX_FEEDS: usize = 64;

/// The zerortt suite for a [`crate::Suite`].
pub fn suite(s: crate::Suite) -> &'static Tls13CipherSuite {
    match s {
        crate::Suite::Aes128GcmSha256 => &suites::TLS13_AES_128_GCM_SHA256,
        crate::Suite::Aes256GcmSha384 => &suites::TLS13_AES_256_GCM_SHA384,
        crate::Suite::Chacha20Poly1305Sha256 => &suites::TLS13_CHACHA20_POLY1305_SHA256,
    }
}

/// A client config trusting the test CA, offering `suites` (all three if empty).
pub fn client_config(suites: &[crate::Suite]) -> ClientConfig {
    let mut config = ClientConfig::new(ServerTrust::test_ca());
    if !suites.is_empty() {
        config.cipher_suites = suites.iter().map(|s| suite(*s)).collect();
    }
    config
}

/// A server config with the Ed25519 test identity, early data up to `max_early_data`,
/// offering `suites` (all three if empty).
pub fn server_config(max_early_data: u32, suites: &[crate::Suite]) -> ServerConfig {
    let mut config = ServerConfig::new(test_identity::ed25519());
    config.set_max_early_data(max_early_data);
    if !suites.is_empty() {
        config.cipher_suites = suites.iter().map(|s| suite(*s)).collect();
    }
    config
}

/// One zerortt connection, client or server.
pub struct Zerortt {
    /// The connection.
    pub conn: Connection,
    /// The time every call passes (core reads no clock).
    pub now: Timestamp,
    incoming: Vec<u8>,
    /// Every event so far, in order.
    pub events: Vec<Event>,
    /// Sessions received (client), oldest first.
    pub sessions: Vec<ClientSession>,
}

impl Zerortt {
    /// A client for [`crate::SERVER_NAME`] resuming `session`, with RNG seed `seed`.
    pub fn client(config: ClientConfig, session: Option<ClientSession>, seed: u64) -> Self {
        let rng = Box::new(ChaCha20Rng::seed_from_u64(seed));
        Self::new(Connection::client(
            Arc::new(config),
            crate::SERVER_NAME,
            session,
            rng,
        ))
    }

    /// A server on `config` with RNG seed `seed`.
    pub fn server(config: &Arc<ServerConfig>, seed: u64) -> Self {
        let rng = Box::new(ChaCha20Rng::seed_from_u64(seed));
        Self::new(Connection::server(config.clone(), rng))
    }

    fn new(conn: Connection) -> Self {
        Self {
            conn,
            now: Timestamp::SIM_EPOCH,
            incoming: Vec::new(),
            events: Vec::new(),
            sessions: Vec::new(),
        }
    }

    /// True if a HelloRetryRequest was sent (server) or received (client).
    pub fn saw_hello_retry_request(&self) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, Event::HelloRetryRequest))
    }

    fn complete(&self) -> Option<(CipherSuite, bool)> {
        self.events.iter().find_map(|e| match e {
            Event::HandshakeComplete { suite, resumed } => Some((*suite, *resumed)),
            _ => None,
        })
    }

    /// Feeds queued input and makes the call `f`, again while it wants bytes that the
    /// bounded record buffer could not take yet.
    fn call<T>(
        &mut self,
        mut f: impl FnMut(&mut Connection, Timestamp) -> Result<T, ConnError>,
    ) -> Result<T, ConnError> {
        let mut result = Err(ConnError::WantRead);
        for _ in 0..MAX_FEEDS {
            let n = self.conn.read_tls(&self.incoming);
            self.incoming.drain(..n);
            result = f(&mut self.conn, self.now);
            self.events.extend(self.conn.take_events());
            self.sessions.extend(self.conn.take_new_sessions());
            if !matches!(result, Err(ConnError::WantRead)) || self.incoming.is_empty() {
                break;
            }
        }
        result
    }

    fn fail(&self, step: &str, e: ConnError) -> Failure {
        Failure(format!("zerortt {:?} {step}: {e}", self.conn.side()))
    }

    fn status_of(&self) -> Status {
        match self.conn.early_data_status() {
            EarlyDataStatus::NotSent => Status::NotSent,
            EarlyDataStatus::Accepted => Status::Accepted,
            EarlyDataStatus::Rejected => Status::Rejected,
        }
    }

    /// The server's `write_early_data`: 0.5-RTT data, once `read_early_data` has returned
    /// (SSL_write_early_data(3): a server "may also call SSL_write_early_data() to send
    /// data to the client").
    pub fn write_half_rtt(&mut self, data: &[u8]) -> Result<(), Failure> {
        match self.conn.write_early_data(data, self.now) {
            Ok(n) if n == data.len() => Ok(()),
            Ok(n) => Err(Failure(format!(
                "zerortt write_early_data took {n} of {}",
                data.len()
            ))),
            Err(e) => Err(self.fail("write_early_data", e)),
        }
    }
}

impl Endpoint for Zerortt {
    fn handshake(&mut self) -> Result<bool, Failure> {
        match self.call(|c, now| c.do_handshake(now)) {
            Ok(()) => Ok(true),
            Err(ConnError::WantRead) => Ok(false),
            Err(e) => Err(self.fail("do_handshake", e)),
        }
    }

    fn write(&mut self, data: &[u8]) -> Result<(), Failure> {
        match self.call(|c, now| c.write(data, now)) {
            Ok(n) if n == data.len() => Ok(()),
            Ok(n) => Err(Failure(format!("zerortt write took {n} of {}", data.len()))),
            Err(e) => Err(self.fail("write", e)),
        }
    }

    fn read(&mut self, out: &mut Vec<u8>) -> Result<(), Failure> {
        let mut buf = [0u8; 4096];
        for _ in 0..MAX_FEEDS {
            match self.call(|c, now| c.read(&mut buf, now)) {
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(ConnError::WantRead | ConnError::Closed) => return Ok(()),
                Err(e) => return Err(self.fail("read", e)),
            }
        }
        Ok(())
    }

    fn resumed(&self) -> bool {
        self.complete().is_some_and(|(_, r)| r)
    }

    fn suite(&self) -> Option<u16> {
        self.complete().map(|(s, _)| s.get())
    }

    fn alpn(&self) -> Option<Vec<u8>> {
        self.conn.alpn_protocol().map(<[u8]>::to_vec)
    }

    fn close(&mut self) -> Result<(), Failure> {
        self.conn.send_close_notify();
        Ok(())
    }

    fn take_output(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.conn.write_tls(&mut out);
        out
    }

    fn give_input(&mut self, bytes: &[u8]) {
        self.incoming.extend_from_slice(bytes);
    }
}

impl ClientEnd for Zerortt {
    fn write_early_data(&mut self, data: &[u8]) -> Result<usize, Failure> {
        match self.call(|c, now| c.write_early_data(data, now)) {
            Ok(n) => Ok(n),
            Err(e) => Err(self.fail("write_early_data", e)),
        }
    }

    fn status(&mut self) -> Status {
        self.status_of()
    }

    fn tickets(&self) -> usize {
        self.sessions.len()
    }
}

impl ServerEnd for Zerortt {
    fn read_early_data(&mut self, out: &mut Vec<u8>) -> Result<bool, Failure> {
        let mut buf = [0u8; 4096];
        for _ in 0..MAX_FEEDS {
            match self.call(|c, now| c.read_early_data(&mut buf, now)) {
                Ok(ReadEarlyData::Success(n)) => out.extend_from_slice(&buf[..n]),
                Ok(ReadEarlyData::Finish) => return Ok(true),
                Err(ConnError::WantRead) => return Ok(false),
                Err(e) => return Err(self.fail("read_early_data", e)),
            }
        }
        Ok(false)
    }

    fn status(&mut self) -> Status {
        self.status_of()
    }
}
