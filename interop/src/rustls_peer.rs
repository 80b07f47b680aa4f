//! The rustls 0.23 side (ring provider, TLS 1.3 only), with the core's test identity.
//!
//! rustls's server keeps TLS 1.3 sessions in its `session_storage` and takes each out when
//! it is used (server/tls13.rs `attempt_tls13_ticket_decryption` calls
//! `StoresServerSessions::take` unless a ticketer is configured), so its tickets are single
//! use, like OpenSSL's with anti-replay on. Early data needs `max_early_data_size > 0` and
//! no ticketer (tls13.rs `decide_if_early_data_allowed`).

use crate::pump::{ClientEnd, Endpoint, Failure, ServerEnd, Status};
use crate::scenario::{ClientPeer, ServerPeer};
use crate::testdata;
use rustls::client::Resumption;
use rustls::crypto::{ring as provider, CryptoProvider, SupportedKxGroup};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::{ServerSessionMemoryCache, StoresServerSessions};
use rustls::{
    ClientConfig, ClientConnection, ConnectionCommon, HandshakeKind, RootCertStore, ServerConfig,
    ServerConnection, SideData, SupportedCipherSuite,
};
use std::io::{ErrorKind, Read, Write};
use std::sync::Arc;

/// The rustls suite for a [`crate::Suite`].
pub fn suite(s: crate::Suite) -> SupportedCipherSuite {
    match s {
        crate::Suite::Aes128GcmSha256 => provider::cipher_suite::TLS13_AES_128_GCM_SHA256,
        crate::Suite::Aes256GcmSha384 => provider::cipher_suite::TLS13_AES_256_GCM_SHA384,
        crate::Suite::Chacha20Poly1305Sha256 => {
            provider::cipher_suite::TLS13_CHACHA20_POLY1305_SHA256
        }
    }
}

/// The ring provider restricted to `suites` (all TLS 1.3 suites if empty) and `groups` (the
/// default groups if empty), in that order of preference.
pub fn provider(
    suites: &[crate::Suite],
    groups: &[&'static dyn SupportedKxGroup],
) -> Arc<CryptoProvider> {
    let default = provider::default_provider();
    let cipher_suites = if suites.is_empty() {
        crate::Suite::ALL.iter().map(|s| suite(*s)).collect()
    } else {
        suites.iter().map(|s| suite(*s)).collect()
    };
    let kx_groups = if groups.is_empty() {
        default.kx_groups.clone()
    } else {
        groups.to_vec()
    };
    Arc::new(CryptoProvider {
        cipher_suites,
        kx_groups,
        ..default
    })
}

/// A TLS 1.3 server with the Ed25519 test identity, early data up to `max_early_data`, two
/// tickets per handshake (rustls's default) kept in `sessions`.
pub fn server_config(
    provider: Arc<CryptoProvider>,
    max_early_data: u32,
    sessions: Arc<dyn StoresServerSessions>,
) -> Result<Arc<ServerConfig>, Failure> {
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| Failure(format!("rustls server config: {e}")))?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(testdata::CERT.to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(testdata::KEY.to_vec())),
        )
        .map_err(|e| Failure(format!("rustls server identity: {e}")))?;
    config.max_early_data_size = max_early_data;
    config.session_storage = sessions;
    Ok(Arc::new(config))
}

/// A fresh in-memory session store for [`server_config`].
pub fn session_storage() -> Arc<dyn StoresServerSessions> {
    ServerSessionMemoryCache::new(256)
}

/// A TLS 1.3 client trusting the test CA, early data enabled, rustls's default in-memory
/// ticket store (which hands each ticket out once, newest first).
pub fn client_config(provider: Arc<CryptoProvider>) -> Result<Arc<ClientConfig>, Failure> {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(testdata::CA.to_vec()))
        .map_err(|e| Failure(format!("test CA: {e}")))?;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| Failure(format!("rustls client config: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.enable_early_data = true;
    config.resumption = Resumption::in_memory_sessions(256);
    Ok(Arc::new(config))
}

/// One rustls connection, client or server, with its input queue.
pub struct Rustls<C> {
    /// The connection.
    pub conn: C,
    incoming: Vec<u8>,
    early_written: usize,
}

/// A rustls client.
pub type RustlsClient = Rustls<ClientConnection>;
/// A rustls server.
pub type RustlsServer = Rustls<ServerConnection>;

impl RustlsClient {
    /// A client for [`crate::SERVER_NAME`]; it resumes with a ticket from `config`'s store
    /// if it has one.
    pub fn new(config: &Arc<ClientConfig>) -> Result<Self, Failure> {
        let name = ServerName::try_from(crate::SERVER_NAME)
            .map_err(|e| Failure(format!("server name: {e}")))?;
        let conn = ClientConnection::new(config.clone(), name)
            .map_err(|e| Failure(format!("rustls client: {e}")))?;
        Ok(Self::wrap(conn))
    }
}

impl RustlsServer {
    /// A server on `config`.
    pub fn new(config: &Arc<ServerConfig>) -> Result<Self, Failure> {
        let conn = ServerConnection::new(config.clone())
            .map_err(|e| Failure(format!("rustls server: {e}")))?;
        Ok(Self::wrap(conn))
    }
}

impl<C, S> Rustls<C>
where
    C: std::ops::DerefMut<Target = ConnectionCommon<S>>,
    S: SideData,
{
    fn wrap(conn: C) -> Self {
        Self {
            conn,
            incoming: Vec::new(),
            early_written: 0,
        }
    }

    /// Hands the queued input to rustls and processes it.
    fn process(&mut self) -> Result<(), Failure> {
        let mut rest = &self.incoming[..];
        let mut result = Ok(());
        while !rest.is_empty() {
            match self.conn.read_tls(&mut rest) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    result = Err(Failure(format!("rustls read_tls: {e}")));
                    break;
                }
            }
            if let Err(e) = self.conn.process_new_packets() {
                result = Err(Failure(format!("rustls: {e}")));
                break;
            }
        }
        let taken = self.incoming.len() - rest.len();
        self.incoming.drain(..taken);
        result
    }
}

impl<C, S> Endpoint for Rustls<C>
where
    C: std::ops::DerefMut<Target = ConnectionCommon<S>>,
    S: SideData,
{
    fn handshake(&mut self) -> Result<bool, Failure> {
        self.process()?;
        Ok(!self.conn.is_handshaking())
    }

    fn write(&mut self, data: &[u8]) -> Result<(), Failure> {
        self.conn
            .writer()
            .write_all(data)
            .map_err(|e| Failure(format!("rustls write: {e}")))
    }

    fn read(&mut self, out: &mut Vec<u8>) -> Result<(), Failure> {
        self.process()?;
        let mut buf = [0u8; 4096];
        loop {
            match self.conn.reader().read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(Failure(format!("rustls read: {e}"))),
            }
        }
    }

    fn resumed(&self) -> bool {
        matches!(self.conn.handshake_kind(), Some(HandshakeKind::Resumed))
    }

    fn suite(&self) -> Option<u16> {
        self.conn
            .negotiated_cipher_suite()
            .map(|s| u16::from(s.suite()))
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
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut out).is_err() {
                break;
            }
        }
        out
    }

    fn give_input(&mut self, bytes: &[u8]) {
        self.incoming.extend_from_slice(bytes);
    }
}

impl ClientEnd for RustlsClient {
    /// rustls offers early data when `ClientConnection::early_data()` is `Some` (a ticket
    /// allowing it, `enable_early_data`); 0 bytes otherwise.
    fn write_early_data(&mut self, data: &[u8]) -> Result<usize, Failure> {
        let n = match self.conn.early_data() {
            Some(mut early) => early
                .write(data)
                .map_err(|e| Failure(format!("rustls early data write: {e}")))?,
            None => 0,
        };
        self.early_written = n;
        Ok(n)
    }

    /// rustls's client says only whether early data was accepted
    /// (`is_early_data_accepted`); written and not accepted is a rejection.
    fn status(&mut self) -> Status {
        if self.conn.is_early_data_accepted() {
            Status::Accepted
        } else if self.early_written > 0 {
            Status::Rejected
        } else {
            Status::NotSent
        }
    }

    fn tickets(&self) -> usize {
        self.conn.tls13_tickets_received() as usize
    }
}

impl ServerEnd for RustlsServer {
    /// rustls buffers accepted early data while it processes records; it is all read once
    /// the handshake is complete (EndOfEarlyData precedes the client's Finished).
    fn read_early_data(&mut self, out: &mut Vec<u8>) -> Result<bool, Failure> {
        self.process()?;
        if let Some(mut early) = self.conn.early_data() {
            early
                .read_to_end(out)
                .map_err(|e| Failure(format!("rustls early data read: {e}")))?;
        }
        Ok(!self.conn.is_handshaking())
    }

    fn status(&mut self) -> Status {
        if self.conn.early_data().is_some() {
            Status::Accepted
        } else {
            Status::NotAccepted
        }
    }
}

/// A server configuration's connections share its `session_storage`.
impl ServerPeer for Arc<ServerConfig> {
    type End = RustlsServer;
    fn accept(&self) -> Result<RustlsServer, Failure> {
        RustlsServer::new(self)
    }
}

/// rustls's client store (`Resumption::in_memory_sessions`) hands each ticket out once,
/// newest first.
impl ClientPeer for Arc<ClientConfig> {
    type End = RustlsClient;
    fn connect(&self) -> Result<RustlsClient, Failure> {
        RustlsClient::new(self)
    }
}
