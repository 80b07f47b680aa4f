//! Configuration shared by many connections: the `SSL_CTX` of OpenSSL. Values a running
//! server may change (max_early_data, recv_max_early_data, no_anti_replay) are atomics so
//! that a shared `Arc<ServerConfig>` can be adjusted while connections come and go; each new
//! connection copies them, as `SSL_new` copies from its `SSL_CTX`.

use crate::crypto::memo::PublicKeyMemo;
use crate::crypto::suites::{Tls13CipherSuite, ALL_CIPHER_SUITES};
use crate::identity::CertifiedKey;
use crate::tickets::cache::{SessionCache, SessionStoreCallbacks};
use crate::tickets::session::{ClientSession, ServerSessionValue};
use crate::tickets::strike::SharedStrikeRegister;
use crate::tickets::ticketer::Ticketer;
use crate::verify::ServerTrust;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `SSL_CTX_set_recv_max_early_data`'s default: "The default value for this setting is
/// 16,384 bytes".
pub const DEFAULT_RECV_MAX_EARLY_DATA: u32 = 16_384;

/// OpenSSL sends two NewSessionTickets after a full handshake (`SSL_CTX_set_num_tickets`).
pub const DEFAULT_NUM_TICKETS: usize = 2;

/// Facts the allow-early-data callback can look at (the `SSL *` it is given).
#[derive(Clone, Debug)]
pub struct EarlyDataCallbackInfo {
    /// The SNI host name sent by the client.
    pub server_name: Option<String>,
    /// The negotiated ALPN protocol.
    pub alpn: Option<Vec<u8>>,
    /// True when the PSK is external (no ticket).
    pub external_psk: bool,
    /// max_early_data of the session.
    pub session_max_early_data: u32,
}

/// `SSL_allow_early_data_cb_fn`: return true to allow early data.
pub type AllowEarlyData = Arc<dyn Fn(&EarlyDataCallbackInfo) -> bool + Send + Sync>;

/// `SSL_CTX_set_psk_find_session_callback`: maps an external PSK identity to a session.
pub type FindExternalPsk = Arc<dyn Fn(&[u8]) -> Option<ServerSessionValue> + Send + Sync>;

/// External session cache callbacks (`SSL_CTX_sess_set_new_cb` / `remove_cb` / `get_cb`).
pub type ExternalSessionStore = Arc<Mutex<dyn SessionStoreCallbacks<ServerSessionValue> + Send>>;

/// How the server forces a HelloRetryRequest (RFC 9846 section 4.2.4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HelloRetryPolicy {
    /// Only when the client sent no usable key share.
    #[default]
    WhenNeeded,
    /// Always answer the first ClientHello with an HRR carrying a cookie, as a server
    /// does to verify the client's address.
    AlwaysWithCookie,
}

/// Which kind of ticket the server issues when tickets are reusable.
#[derive(Clone)]
pub enum TicketKind {
    /// The ticket names a session in the server's cache.
    Stateful,
    /// The ticket is the session state sealed under a ticket key.
    Stateless(Arc<Mutex<Ticketer>>),
}

/// Server-wide settings (`SSL_CTX`).
pub struct ServerConfig {
    /// Certificate chain and key.
    pub identity: CertifiedKey,
    /// Cipher suites in preference order.
    pub cipher_suites: Vec<&'static Tls13CipherSuite>,
    /// ALPN protocols in preference order; empty means ALPN is not used.
    pub alpn_protocols: Vec<Vec<u8>>,
    max_early_data: AtomicU32,
    recv_max_early_data: AtomicU32,
    no_anti_replay: AtomicBool,
    /// Tickets sent after each full or resumed handshake.
    pub num_tickets: usize,
    /// Ticket lifetime advertised in NewSessionTicket (RFC 9846 4.7.1: at most 7 days).
    pub ticket_lifetime: Duration,
    /// Stateful or stateless tickets when anti-replay does not force stateful ones.
    pub ticket_kind: TicketKind,
    /// The internal session cache (single-use tickets live here).
    pub session_cache: Arc<Mutex<SessionCache<ServerSessionValue>>>,
    /// External cache callbacks; the internal removal always happens before
    /// `remove_session` is called (the man page's race window).
    pub session_store: Option<ExternalSessionStore>,
    /// Optional ClientHello strike register (RFC 9846 8.2), shareable across servers.
    pub strike_register: Option<SharedStrikeRegister>,
    /// Allowed difference between the client's and the server's view of the ticket age
    /// (RFC 9846 8.3). OpenSSL allows 10 s.
    pub ticket_age_tolerance: Duration,
    /// When to send a HelloRetryRequest.
    pub hello_retry: HelloRetryPolicy,
    /// `SSL_CTX_set_allow_early_data_cb`.
    pub allow_early_data: Option<AllowEarlyData>,
    /// `SSL_CTX_set_psk_find_session_callback`.
    pub find_external_psk: Option<FindExternalPsk>,
    /// Memoized X25519 and CertificateVerify signing results, for simulations that replay
    /// the same keys many times ([`PublicKeyMemo`]; off by default, never with real keys).
    pub public_key_memo: Option<Arc<PublicKeyMemo>>,
}

impl ServerConfig {
    /// A server with `identity`, early data off (max_early_data 0, OpenSSL's default),
    /// recv_max_early_data 16384, two stateful tickets per handshake.
    pub fn new(identity: CertifiedKey) -> Self {
        Self {
            identity,
            cipher_suites: ALL_CIPHER_SUITES.to_vec(),
            alpn_protocols: Vec::new(),
            max_early_data: AtomicU32::new(0),
            recv_max_early_data: AtomicU32::new(DEFAULT_RECV_MAX_EARLY_DATA),
            no_anti_replay: AtomicBool::new(false),
            num_tickets: DEFAULT_NUM_TICKETS,
            ticket_lifetime: Duration::from_secs(7200),
            ticket_kind: TicketKind::Stateful,
            session_cache: Arc::new(Mutex::new(SessionCache::default())),
            session_store: None,
            strike_register: None,
            ticket_age_tolerance: Duration::from_secs(10),
            hello_retry: HelloRetryPolicy::default(),
            allow_early_data: None,
            find_external_psk: None,
            public_key_memo: None,
        }
    }

    /// `SSL_CTX_get_max_early_data`.
    pub fn max_early_data(&self) -> u32 {
        self.max_early_data.load(Ordering::Relaxed)
    }

    /// `SSL_CTX_set_max_early_data`: applies to connections created afterwards. A non-zero
    /// value turns on replay protection unless `no_anti_replay` is set.
    pub fn set_max_early_data(&self, v: u32) {
        self.max_early_data.store(v, Ordering::Relaxed)
    }

    /// `SSL_CTX_get_recv_max_early_data`.
    pub fn recv_max_early_data(&self) -> u32 {
        self.recv_max_early_data.load(Ordering::Relaxed)
    }

    /// `SSL_CTX_set_recv_max_early_data`.
    pub fn set_recv_max_early_data(&self, v: u32) {
        self.recv_max_early_data.store(v, Ordering::Relaxed)
    }

    /// `SSL_OP_NO_ANTI_REPLAY` is set.
    pub fn no_anti_replay(&self) -> bool {
        self.no_anti_replay.load(Ordering::Relaxed)
    }

    /// Sets or clears `SSL_OP_NO_ANTI_REPLAY`.
    pub fn set_no_anti_replay(&self, v: bool) {
        self.no_anti_replay.store(v, Ordering::Relaxed)
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("alpn_protocols", &self.alpn_protocols)
            .field("max_early_data", &self.max_early_data())
            .field("recv_max_early_data", &self.recv_max_early_data())
            .field("no_anti_replay", &self.no_anti_replay())
            .field("num_tickets", &self.num_tickets)
            .field("hello_retry", &self.hello_retry)
            .finish_non_exhaustive()
    }
}

/// Client-wide settings.
#[derive(Clone)]
pub struct ClientConfig {
    /// How the server certificate is checked.
    pub trust: ServerTrust,
    /// Cipher suites in preference order.
    pub cipher_suites: Vec<&'static Tls13CipherSuite>,
    /// ALPN protocols to offer; empty means none.
    pub alpn_protocols: Vec<Vec<u8>>,
    /// Middlebox compatibility mode (RFC 9846 appendix E.4): a 32-byte legacy_session_id
    /// and a ChangeCipherSpec before the second flight.
    pub middlebox_compat: bool,
    /// `SSL_CTX_set_psk_use_session_callback`: an external PSK session to offer when no
    /// ticket is given.
    pub external_psk: Option<ClientSession>,
    /// Memoized X25519 and signature verification results, for simulations that replay the
    /// same keys many times ([`PublicKeyMemo`]; off by default, never with real keys).
    pub public_key_memo: Option<Arc<PublicKeyMemo>>,
}

impl ClientConfig {
    /// A client that trusts `trust`, offers every suite, no ALPN, no compat mode.
    pub fn new(trust: ServerTrust) -> Self {
        Self {
            trust,
            cipher_suites: ALL_CIPHER_SUITES.to_vec(),
            alpn_protocols: Vec::new(),
            middlebox_compat: false,
            external_psk: None,
            public_key_memo: None,
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("alpn_protocols", &self.alpn_protocols)
            .field("middlebox_compat", &self.middlebox_compat)
            .finish_non_exhaustive()
    }
}
