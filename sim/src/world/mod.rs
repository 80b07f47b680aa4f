//! The world: TLS connections (`zerortt-core`) running over the simulated TCP fabric.
//!
//! A run has three kinds of connection, each its own pair of fabric nodes so every TCP
//! connection keeps its own sequence space and statistics:
//! - `warmup`: a full handshake at time zero that gives the client its tickets;
//! - `0rtt`: the client resumes with a ticket and sends early data (the subject of the
//!   run), and `retry` if it aborted and retries without early data;
//! - `replay#i`: the attacker sends the first flight it tapped from `0rtt` to a server.
//!
//! Applications are scripted from the [`Scenario`]. Everything is a function of the seed.

mod apps;

use crate::net::{DelayedAck, Fabric, LinkConfig, Partition, SimTime, TcpConfig, TcpSocket};
use crate::scenario::{parse_allow_policy, parse_delayed_ack, AllowPolicy, Scenario, Sharing};
use crate::subject::openssl_conn::OpensslSubject;
use crate::subject::openssl_stack::{
    self, ClientContext as OsslClient, ServerContext as OsslServer,
};
use crate::subject::rustls_conn::{KeyLogSink, RustlsSubject};
use crate::subject::rustls_stack::{
    self, SeededStream, SeededTicketer, SessionStore, TicketMode, VirtualClock,
};
use crate::subject::zerortt::ZerorttSubject;
use crate::subject::{Session, Stack, Subject};
use apps::{AttackerApp, ClientApp, ConnLog, ServerApp, Shared};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use zerortt_core::conn::config::{
    AllowEarlyData, ClientConfig, HelloRetryPolicy, ServerConfig, TicketKind,
};
use zerortt_core::crypto::memo::PublicKeyMemo;
use zerortt_core::crypto::suites;
use zerortt_core::identity::test_identity;
use zerortt_core::tickets::cache::SessionCache;
use zerortt_core::tickets::session::{ClientSession, ServerSessionValue};
use zerortt_core::tickets::store::ClientSessionStore;
use zerortt_core::tickets::strike::{SharedStrikeRegister, StrikeRegister};
use zerortt_core::tickets::ticketer::{TicketAead, TicketKey, Ticketer};
use zerortt_core::time::Timestamp;
use zerortt_core::verify::ServerTrust;

pub use apps::{ConnRecord, Role, HALF_RTT_BYTES, RESPONSE_BYTES};

/// Virtual time after which a run stops, whatever is pending.
pub const RUN_TIME_MAX: Duration = Duration::from_secs(300);
/// Steps after which a run stops (a bound, not an expectation).
pub const RUN_STEPS_MAX: u64 = 2_000_000;

/// The identity an external-PSK scenario provisions on both sides.
const EXTERNAL_PSK_IDENTITY: &[u8] = b"zerortt external psk";

/// Converts milliseconds (possibly fractional) to a Duration, exactly for whole µs.
pub fn ms(v: f64) -> Duration {
    Duration::from_nanos((v.max(0.0) * 1_000_000.0).round() as u64)
}

/// Virtual time as the TLS layer sees it.
pub fn timestamp(t: SimTime) -> Timestamp {
    Timestamp::from_nanos(Timestamp::SIM_EPOCH.as_nanos() + t.as_nanos())
}

/// The outcome of one run: every connection's log plus the network trace.
pub struct World {
    /// The scenario that ran.
    pub scenario: Scenario,
    /// The master seed.
    pub seed: u64,
    /// The fabric (network trace, sockets, links).
    pub fabric: Fabric,
    /// One record per TLS connection, in creation order.
    pub connections: Vec<Rc<RefCell<ConnRecord>>>,
    /// Per server: the allow-policy counter and such.
    shared: Rc<RefCell<Shared>>,
    /// Memoized public-key results shared by every endpoint of the run, if asked for.
    memo: Option<Arc<PublicKeyMemo>>,
    /// The run's rustls parts, used when a side's stack is rustls.
    rustls: RustlsParts,
    /// The run's OpenSSL parts, used when a side's stack is OpenSSL.
    ossl: OsslParts,
}

/// What the OpenSSL endpoints of one run share: the client context (a client resumes on
/// the context that got the ticket, as one client process) and what changes on the servers
/// after the warm-up.
#[derive(Default)]
struct OsslParts {
    client: Option<Result<OsslClient, String>>,
    /// `SSL_set_max_early_data` on server connections made after the warm-up
    /// (`server.max_early_data_after_tickets`).
    max_early_data_now: Option<u32>,
    /// Server connections made after the warm-up allow TLS 1.2 only
    /// (`server.tls12_after_tickets`).
    tls12_now: bool,
    /// The servers' ticket clock (virtual ticket ages).
    clock: Arc<openssl_stack::SessionClock>,
}

/// What the rustls endpoints of one run share: the virtual clock, and the client's ticket
/// store and config (a rustls client resumes only on the config that got the ticket).
struct RustlsParts {
    clock: VirtualClock,
    key_log: Arc<KeyLogSink>,
    sessions: Arc<SessionStore>,
    client: Option<Result<Arc<rustls::ClientConfig>, String>>,
}

struct Cluster {
    configs: Vec<Arc<ServerConfig>>,
    /// One per server when the server stack is rustls.
    rustls: Vec<Result<Arc<rustls::ServerConfig>, String>>,
    /// One per server when the server stack is OpenSSL (one shared context when the
    /// cluster shares a session cache).
    openssl: Vec<Result<OsslServer, String>>,
    external: Option<Arc<Mutex<apps::LatentExternalCache>>>,
}

impl World {
    /// Builds and runs `scenario` with `seed` to completion.
    pub fn run(scenario: &Scenario, seed: u64) -> World {
        Self::run_memo(scenario, seed, None)
    }

    /// [`World::run`] with every endpoint's X25519 and signature results memoized in
    /// `memo` ([`PublicKeyMemo`]): the same trace, byte for byte, faster when runs repeat
    /// keys (a fuzzer mutating knobs of one seed).
    pub fn run_memo(scenario: &Scenario, seed: u64, memo: Option<Arc<PublicKeyMemo>>) -> World {
        Self::run_inner(scenario, seed, memo, false)
    }

    /// [`World::run`] keeping every segment's payload ([`Fabric::captured`]) for pcap
    /// files and ladder diagrams: the same run, event for event.
    pub fn run_captured(scenario: &Scenario, seed: u64) -> World {
        Self::run_inner(scenario, seed, None, true)
    }

    fn run_inner(
        scenario: &Scenario,
        seed: u64,
        memo: Option<Arc<PublicKeyMemo>>,
        capture: bool,
    ) -> World {
        let mut world = World {
            scenario: scenario.clone(),
            seed,
            fabric: Fabric::with_limits(seed, 1 << 16, 1 << 18),
            connections: Vec::new(),
            shared: Rc::new(RefCell::new(Shared::default())),
            memo,
            rustls: RustlsParts {
                clock: VirtualClock::new(Timestamp::SIM_EPOCH),
                key_log: KeyLogSink::new(),
                sessions: SessionStore::new(),
                client: None,
            },
            ossl: OsslParts::default(),
        };
        if capture {
            world.fabric.capture_segments();
        }
        world.execute();
        world
    }

    fn execute(&mut self) {
        let sc = self.scenario.clone();
        let cluster = self.build_cluster();
        let client_config = Arc::new(self.client_config());
        // 1. Warm-up: a full handshake gives the client its tickets.
        let mut session = if sc.server.external_psk {
            let mut s = ClientSession::external(
                suites::TLS13_AES_128_GCM_SHA256.suite,
                EXTERNAL_PSK_IDENTITY.to_vec(),
                external_psk_secret(),
            );
            s.set_max_early_data(sc.server.max_early_data);
            Some(Session::Zerortt(s))
        } else {
            let warm = self.spawn(
                Role::Warmup,
                &client_config,
                &cluster,
                0,
                None,
                SimTime::ZERO,
                false,
            );
            self.run_until_done(&warm, SimTime::ZERO.saturating_add(Duration::from_secs(60)));
            let tickets = std::mem::take(&mut warm.borrow_mut().tickets);
            take_session(tickets, timestamp(self.fabric.now()))
        };
        if let Some(v) = sc.server.max_early_data_after_tickets {
            for c in &cluster.configs {
                c.set_max_early_data(v);
            }
            self.ossl.max_early_data_now = Some(v);
        }
        self.ossl.tls12_now = sc.server.tls12_after_tickets;
        match (session.as_mut(), sc.client.session_max_early_data) {
            (Some(Session::Zerortt(s)), Some(limit)) => s.set_max_early_data(limit),
            (Some(Session::Openssl(s)), Some(limit)) => {
                if let Some(raised) = s.with_max_early_data(limit) {
                    *s = raised;
                }
            }
            _ => {}
        }
        // 2. The 0-RTT connection, and the attacker's replays of its first flight.
        let start = self
            .fabric
            .now()
            .saturating_add(ms(sc.client.resume_after_ms));
        let zero = self.spawn(
            Role::ZeroRtt,
            &client_config,
            &cluster,
            0,
            session,
            start,
            true,
        );
        let mut replays = Vec::new();
        for (i, r) in sc.attack.replays.iter().enumerate() {
            let at = start.saturating_add(ms(r.at_ms));
            replays.push(self.spawn_replay(i, &zero, &cluster, r.server, at));
        }
        let end = start.saturating_add(RUN_TIME_MAX);
        self.run_until_done(&zero, end);
        // 3. The man page's advice: retry without early data after an abort.
        let retry = zero.borrow().retry_requested && sc.client.retry_without_early_data;
        if retry {
            let at = self.fabric.now().saturating_add(Duration::from_millis(1));
            let r = self.spawn(Role::Retry, &client_config, &cluster, 0, None, at, false);
            self.run_until_done(&r, end);
        }
        // Let replays and closing handshakes play out.
        let _ = self.fabric.run_until(
            self.fabric
                .now()
                .saturating_add(Duration::from_secs(5))
                .min(end),
        );
        if let Some(ext) = &cluster.external {
            if let Ok(mut e) = ext.lock() {
                e.apply_due(SimTime::from_nanos(u64::MAX));
            }
        }
        let _ = replays;
    }

    /// Steps until `conn` is finished (or failed), the bound, or idle.
    fn run_until_done(&mut self, conn: &Rc<RefCell<ConnRecord>>, end: SimTime) {
        for _ in 0..RUN_STEPS_MAX {
            if conn.borrow().finished() || self.fabric.now() >= end {
                return;
            }
            if !self.fabric.step() {
                return;
            }
        }
    }

    fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new(ServerTrust::test_ca());
        c.cipher_suites = vec![
            &suites::TLS13_AES_128_GCM_SHA256,
            &suites::TLS13_CHACHA20_POLY1305_SHA256,
        ];
        c.public_key_memo = self.memo.clone();
        c
    }

    fn build_cluster(&self) -> Cluster {
        let sc = &self.scenario.server;
        let shared_cache = Arc::new(Mutex::new(SessionCache::<ServerSessionValue>::default()));
        let key = || {
            TicketKey::new([7; 16], TicketAead::Aes256Gcm, &[0x42; 32])
                .map(|k| Arc::new(Mutex::new(Ticketer::new(k))))
                .ok()
        };
        let shared_ticketer = key();
        let strike = SharedStrikeRegister::new(StrikeRegister::for_freshness_tolerance(
            Duration::from_millis(sc.ticket_age_tolerance_ms),
            1 << 16,
        ));
        let external = (sc.sharing == Sharing::ExternalCache).then(|| {
            Arc::new(Mutex::new(apps::LatentExternalCache::new(ms(
                sc.external_cache_latency_ms
            ))))
        });
        let policy = parse_allow_policy(&sc.allow_early_data).unwrap_or(AllowPolicy::Always);
        let mut configs = Vec::new();
        for index in 0..sc.count {
            let mut c = ServerConfig::new(test_identity::ed25519());
            c.public_key_memo = self.memo.clone();
            c.set_max_early_data(sc.max_early_data);
            c.set_recv_max_early_data(sc.recv_max_early_data);
            c.set_no_anti_replay(sc.no_anti_replay);
            c.ticket_age_tolerance = Duration::from_millis(sc.ticket_age_tolerance_ms);
            if sc.hello_retry {
                c.hello_retry = HelloRetryPolicy::AlwaysWithCookie;
            }
            match sc.sharing {
                Sharing::Nothing => {
                    if sc.no_anti_replay {
                        // Distinct keys per server: a ticket only opens where it was made.
                        let k = TicketKey::new(
                            [index as u8; 16],
                            TicketAead::Aes256Gcm,
                            &[index as u8 ^ 0x55; 32],
                        );
                        if let Ok(k) = k {
                            c.ticket_kind =
                                TicketKind::Stateless(Arc::new(Mutex::new(Ticketer::new(k))));
                        }
                    }
                }
                Sharing::TicketKeys | Sharing::StrikeRegister => {
                    if let Some(t) = &shared_ticketer {
                        c.ticket_kind = TicketKind::Stateless(t.clone());
                    }
                    if sc.sharing == Sharing::StrikeRegister {
                        c.strike_register = Some(strike.clone());
                    }
                }
                Sharing::Cache => c.session_cache = shared_cache.clone(),
                Sharing::ExternalCache => {
                    if let Some(e) = &external {
                        let store: zerortt_core::conn::config::ExternalSessionStore =
                            Arc::new(Mutex::new(apps::ExternalStoreHandle(e.clone())));
                        c.session_store = Some(store);
                    }
                }
            }
            if sc.external_psk {
                let value = ServerSessionValue {
                    suite: suites::TLS13_AES_128_GCM_SHA256.suite,
                    psk: external_psk_secret(),
                    max_early_data: sc.max_early_data,
                    alpn: None,
                    server_name: None,
                    age_add: 0,
                    issued_at: Timestamp::SIM_EPOCH,
                    lifetime_s: 604_800,
                };
                c.find_external_psk = Some(Arc::new(move |id: &[u8]| {
                    (id == EXTERNAL_PSK_IDENTITY).then(|| value.clone())
                }));
            }
            let shared = self.shared.clone();
            let cb: Option<AllowEarlyData> = match policy {
                AllowPolicy::Always => None,
                AllowPolicy::Never => Some(Arc::new(|_| false)),
                AllowPolicy::Load(n) => {
                    // Sampled into an atomic before each server call (see ServerApp).
                    let load = shared.borrow_mut().load_gauge(index);
                    Some(Arc::new(move |_| {
                        load.load(std::sync::atomic::Ordering::Relaxed) <= n
                    }))
                }
            };
            c.allow_early_data = cb;
            configs.push(Arc::new(c));
        }
        let rustls = match self.scenario.server.stack {
            Stack::Rustls => self.rustls_server_configs(),
            _ => Vec::new(),
        };
        let openssl = match self.scenario.server.stack {
            Stack::Openssl => self.openssl_server_contexts(external.as_ref()),
            _ => Vec::new(),
        };
        Cluster {
            configs,
            rustls,
            openssl,
            external,
        }
    }

    /// OpenSSL servers for the cluster: one context per server (its own internal session
    /// cache and ticket keys), except that a shared session cache is one context for all,
    /// and shared ticket keys are one key set in every context. With replay protection on
    /// and max_early_data > 0, OpenSSL issues stateful single-use tickets; with
    /// SSL_OP_NO_ANTI_REPLAY, stateless ones (SSL_read_early_data(3), REPLAY PROTECTION).
    fn openssl_server_contexts(
        &self,
        external: Option<&Arc<Mutex<apps::LatentExternalCache>>>,
    ) -> Vec<Result<OsslServer, String>> {
        let sc = &self.scenario.server;
        let seed = self.fabric.seed();
        let policy = parse_allow_policy(&sc.allow_early_data).unwrap_or(AllowPolicy::Always);
        let keys = |label: &str| {
            let mut k = [0u8; zerortt_ossl::ffi::TICKET_KEYS_LEN];
            seed.stream(label).fill_bytes(&mut k);
            k
        };
        let build = |index: usize| {
            let ticket_keys = match sc.sharing {
                Sharing::TicketKeys => keys("openssl/ticket-keys/cluster"),
                _ => keys(&format!("openssl/ticket-keys/server{index}")),
            };
            let allow: Option<Box<dyn Fn() -> bool + Send + Sync>> = match policy {
                AllowPolicy::Always => None,
                AllowPolicy::Never => Some(Box::new(|| false)),
                AllowPolicy::Load(n) => {
                    // Sampled into an atomic before each server call (see ServerApp).
                    let load = self.shared.borrow_mut().load_gauge(index);
                    Some(Box::new(move || {
                        load.load(std::sync::atomic::Ordering::Relaxed) <= n
                    }))
                }
            };
            let ext: Option<Arc<dyn openssl_stack::ExternalCache>> = external
                .filter(|_| sc.sharing == Sharing::ExternalCache)
                .map(|e| {
                    Arc::new(apps::OpensslStoreHandle(e.clone()))
                        as Arc<dyn openssl_stack::ExternalCache>
                });
            let knobs = openssl_stack::ServerKnobs {
                versions: openssl_stack::Versions::Tls12And13,
                max_early_data: sc.max_early_data,
                recv_max_early_data: sc.recv_max_early_data,
                no_anti_replay: sc.no_anti_replay,
                groups: sc.hello_retry_for_key_share.then_some("P-256"),
                ticket_keys,
                allow_early_data: allow,
                external: ext,
                clock: self.ossl.clock.clone(),
            };
            let stream = SeededStream::from_seed(seed, &format!("openssl/ctx/server{index}"));
            openssl_stack::enter(&stream, || openssl_stack::server_context(knobs))
        };
        if sc.sharing == Sharing::Cache {
            let one = build(0);
            return (0..sc.count).map(|_| one.clone()).collect();
        }
        (0..sc.count).map(build).collect()
    }

    /// The run's OpenSSL client context (built once: see [`OsslParts`]).
    fn openssl_client_context(&mut self) -> Result<OsslClient, String> {
        if self.ossl.client.is_none() {
            let stream = SeededStream::from_seed(self.fabric.seed(), "openssl/ctx/client");
            let versions = match self.scenario.client.tls12_only {
                true => openssl_stack::Versions::Tls12,
                false => openssl_stack::Versions::Tls12And13,
            };
            self.ossl.client = Some(openssl_stack::enter(&stream, || {
                openssl_stack::client_context(versions)
            }));
        }
        self.ossl
            .client
            .clone()
            .unwrap_or_else(|| Err("OpenSSL client context missing".into()))
    }

    /// rustls servers for the cluster. With replay protection: stateful single-use
    /// tickets (rustls's only mode with early data), in one store when the scenario shares
    /// a session cache. With `no_anti_replay`: stateless tickets, as OpenSSL switches to
    /// under SSL_OP_NO_ANTI_REPLAY, under one key for the cluster when it shares ticket
    /// keys; rustls then resumes but takes no early data ("0-RTT is only possible if using
    /// stateful resumption", its server/tls13.rs).
    fn rustls_server_configs(&self) -> Vec<Result<Arc<rustls::ServerConfig>, String>> {
        let sc = &self.scenario.server;
        let seed = self.fabric.seed();
        let shared_store = TicketMode::stateful();
        let shared_keys = Arc::new(SeededTicketer::from_seed(
            seed,
            "rustls/ticket-keys/cluster",
        ));
        (0..sc.count)
            .map(|index| {
                let tickets = match (sc.no_anti_replay, sc.sharing) {
                    (false, Sharing::Cache) => shared_store.clone(),
                    (false, _) => TicketMode::stateful(),
                    (true, Sharing::TicketKeys) => TicketMode::stateless(shared_keys.clone()),
                    (true, _) => TicketMode::stateless(Arc::new(SeededTicketer::from_seed(
                        seed,
                        &format!("rustls/ticket-keys/server{index}"),
                    ))),
                };
                let knobs = rustls_stack::ServerKnobs {
                    max_early_data: sc.max_early_data,
                    tickets,
                    send_half_rtt_data: sc.half_rtt_response,
                    clock: self.rustls.clock.clone(),
                    ..rustls_stack::ServerKnobs::default()
                };
                rustls_stack::server_config(&knobs)
                    .map(|c| {
                        let mut c = rustls::ServerConfig::clone(&c);
                        c.key_log = self.rustls.key_log.clone();
                        Arc::new(c)
                    })
                    .map_err(|e| e.to_string())
            })
            .collect()
    }

    /// The run's rustls client config (built once: see [`RustlsParts`]).
    fn rustls_client_config(&mut self) -> Result<Arc<rustls::ClientConfig>, String> {
        if self.rustls.client.is_none() {
            let knobs = rustls_stack::ClientKnobs {
                suites: vec![
                    suites::TLS13_AES_128_GCM_SHA256.suite,
                    suites::TLS13_CHACHA20_POLY1305_SHA256.suite,
                ],
                sessions: self.rustls.sessions.clone(),
                clock: self.rustls.clock.clone(),
                ..rustls_stack::ClientKnobs::default()
            };
            let key_log = self.rustls.key_log.clone();
            self.rustls.client = Some(
                rustls_stack::client_config(&knobs)
                    .map(|c| {
                        // Same verifier and resolver: the sessions stay resumable.
                        let mut c = rustls::ClientConfig::clone(&c);
                        c.key_log = key_log;
                        Arc::new(c)
                    })
                    .map_err(|e| e.to_string()),
            );
        }
        self.rustls
            .client
            .clone()
            .unwrap_or_else(|| Err("rustls client config missing".into()))
    }

    /// The seeded stream of one rustls endpoint (the labels of [`World::tls_rng`]).
    fn rustls_stream(&self, name: &str, side: &str) -> SeededStream {
        SeededStream::from_seed(self.fabric.seed(), &format!("tls/{name}/{side}"))
    }

    fn tcp_config(&self, nodelay: bool) -> TcpConfig {
        let t = &self.scenario.tcp;
        let mut c = TcpConfig::for_mtu(self.scenario.network.mtu);
        c.nodelay = nodelay;
        if t.profile == "linux" {
            c = c.linux(t.hz);
        }
        c.delayed_ack = parse_delayed_ack(&t.delayed_ack).unwrap_or(DelayedAck::Linux);
        c.initial_cwnd_segments = t.initial_cwnd;
        c
    }

    fn link_config(&self, lose_window: Option<Partition>) -> LinkConfig {
        let n = &self.scenario.network;
        let mut l = LinkConfig::with_latency(ms(n.latency_ms));
        l.jitter = ms(n.jitter_ms);
        l.bandwidth_bps = (n.bandwidth_kbps > 0).then_some(n.bandwidth_kbps.saturating_mul(1000));
        l.loss_probability = n.loss;
        l.duplicate_probability = n.duplicate;
        l.mtu_bytes = n.mtu;
        l.partitions = lose_window.into_iter().collect();
        l
    }

    /// A labelled ChaCha stream of the master seed for one TLS endpoint.
    fn tls_rng(&self, name: &str, side: &str) -> Box<rand_chacha::ChaCha20Rng> {
        use rand_core::SeedableRng;
        let key = self.fabric.seed().stream_key(&format!("tls/{name}/{side}"));
        Box::new(rand_chacha::ChaCha20Rng::from_seed(key))
    }

    /// Adds one TCP connection: the opener's node (client or attacker) and a server node
    /// with its read_early_data application, linked, listening, and connecting at `at`.
    #[allow(clippy::too_many_arguments)]
    fn add_connection(
        &mut self,
        role: Role,
        server: usize,
        at: SimTime,
        cluster: &Cluster,
        opener: &str,
        opener_nodelay: bool,
        lose: Option<Partition>,
        opener_app: Box<dyn crate::net::Application>,
        log: Rc<RefCell<ConnRecord>>,
    ) {
        let name = role.name();
        self.connections.push(log.clone());
        let opener_node = self.fabric.add_node(
            &format!("{opener}/{name}"),
            TcpSocket::new(self.tcp_config(opener_nodelay)),
        );
        let server_node = self.fabric.add_node(
            &format!("server{server}/{name}"),
            TcpSocket::new(self.tcp_config(self.scenario.tcp.server_nodelay)),
        );
        self.fabric.connect_nodes(
            opener_node,
            server_node,
            self.link_config(lose),
            self.link_config(None),
        );
        let tls_server: Box<dyn Subject> = match self.scenario.server.stack {
            Stack::Zerortt => Box::new(ZerorttSubject::new(zerortt_core::Connection::server(
                cluster.configs[server].clone(),
                self.tls_rng(&name, "server"),
            ))),
            Stack::Rustls => {
                let built = match cluster.rustls.get(server) {
                    Some(Ok(config)) => RustlsSubject::server(
                        config.clone(),
                        self.rustls_stream(&name, "server"),
                        self.rustls.clock.clone(),
                    )
                    .map(|s| s.with_key_log(self.rustls.key_log.clone()))
                    .map_err(|e| e.to_string()),
                    Some(Err(e)) => Err(e.clone()),
                    None => Err(format!("no rustls config for server {server}")),
                };
                Box::new(built.unwrap_or_else(RustlsSubject::broken))
            }
            Stack::Openssl => {
                let sc = &self.scenario.server;
                let random = self.rustls_stream(&name, "server");
                Box::new(match cluster.openssl.get(server) {
                    Some(Ok(ctx)) => OpensslSubject::server(
                        ctx,
                        self.ossl.max_early_data_now,
                        sc.recv_max_early_data,
                        self.ossl.tls12_now,
                        random,
                    ),
                    Some(Err(e)) => OpensslSubject::broken(e.clone(), false),
                    None => OpensslSubject::broken(
                        format!("no OpenSSL context for server {server}"),
                        false,
                    ),
                })
            }
        };
        let server_app = ServerApp::new(
            tls_server,
            ConnLog::server(log.clone()),
            server,
            self.scenario.clone(),
            self.shared.clone(),
            cluster.external.clone(),
        );
        self.fabric.set_application(opener_node, opener_app);
        self.fabric
            .set_application(server_node, Box::new(server_app));
        self.fabric.act(server_node, |ctx| ctx.listen());
        self.fabric.at(at, opener_node, |ctx| ctx.connect());
        log.borrow_mut().nodes = Some((opener_node, server_node));
    }

    /// A scripted client connection (warm-up, 0-RTT or retry).
    #[allow(clippy::too_many_arguments)]
    fn spawn(
        &mut self,
        role: Role,
        client_config: &Arc<ClientConfig>,
        cluster: &Cluster,
        server: usize,
        session: Option<Session>,
        at: SimTime,
        early: bool,
    ) -> Rc<RefCell<ConnRecord>> {
        let name = role.name();
        let log = Rc::new(RefCell::new(ConnRecord::new(
            role,
            name.clone(),
            server,
            at,
        )));
        let sc = self.scenario.clone();
        // The first flight leaves one RTT after the SYN (after the SYN-ACK arrives).
        let lose = (role == Role::ZeroRtt && sc.network.lose_first_flight).then(|| {
            let t = at.saturating_add(ms(2.0 * sc.network.latency_ms));
            Partition {
                start: t,
                end: t.saturating_add(Duration::from_micros(1)),
            }
        });
        let tls_client: Box<dyn Subject> = match sc.client.stack {
            Stack::Zerortt => {
                let session = match session {
                    Some(Session::Zerortt(s)) => Some(s),
                    _ => None,
                };
                Box::new(ZerorttSubject::new(zerortt_core::Connection::client(
                    client_config.clone(),
                    "localhost",
                    session,
                    self.tls_rng(&name, "client"),
                )))
            }
            Stack::Rustls => {
                let session = match session {
                    Some(Session::Rustls(s)) => Some(s),
                    _ => None,
                };
                let stream = self.rustls_stream(&name, "client");
                // rustls offers early data whenever the ticket allows it and the config
                // enables it, whether or not the application writes any: a script without
                // early data runs on a copy with it disabled (same verifier, so the ticket
                // still resumes).
                let writes_early = early && !sc.client.early_data_chunks.is_empty();
                let config = self.rustls_client_config().map(|c| {
                    if writes_early {
                        c
                    } else {
                        let mut quiet = rustls::ClientConfig::clone(&c);
                        quiet.enable_early_data = false;
                        Arc::new(quiet)
                    }
                });
                let subject = match config {
                    Ok(config) => RustlsSubject::client(
                        config,
                        self.rustls.sessions.clone(),
                        session,
                        stream,
                        self.rustls.clock.clone(),
                    )
                    .with_key_log(self.rustls.key_log.clone()),
                    Err(e) => RustlsSubject::broken(e),
                };
                Box::new(subject)
            }
            Stack::Openssl => {
                let session = match session {
                    Some(Session::Openssl(s)) => Some(s),
                    _ => None,
                };
                let random = self.rustls_stream(&name, "client");
                Box::new(match self.openssl_client_context() {
                    Ok(ctx) => OpensslSubject::client(&ctx, session, random),
                    Err(e) => OpensslSubject::broken(e, true),
                })
            }
        };
        let chunks = if early {
            sc.client.early_data_chunks.clone()
        } else {
            Vec::new()
        };
        let nodelay = sc.tcp.client_nodelay;
        let client_app = ClientApp::new(
            tls_client,
            ConnLog::client(log.clone()),
            chunks,
            sc,
            self.shared.clone(),
        );
        self.add_connection(
            role,
            server,
            at,
            cluster,
            "client",
            nodelay,
            lose,
            Box::new(client_app),
            log.clone(),
        );
        log
    }

    /// The attacker's `index`-th replay of `victim`'s tapped first flight.
    fn spawn_replay(
        &mut self,
        index: usize,
        victim: &Rc<RefCell<ConnRecord>>,
        cluster: &Cluster,
        server: usize,
        at: SimTime,
    ) -> Rc<RefCell<ConnRecord>> {
        let role = Role::Replay(index);
        let log = Rc::new(RefCell::new(ConnRecord::new(role, role.name(), server, at)));
        let attacker = AttackerApp::new(victim.clone(), log.clone());
        self.add_connection(
            role,
            server,
            at,
            cluster,
            "attacker",
            true,
            None,
            Box::new(attacker),
            log.clone(),
        );
        log
    }
}

/// The session the 0-RTT connection resumes: the client keeps its tickets in a store that
/// hands each out once, newest first, dropping expired ones.
fn take_session(tickets: Vec<Session>, now: Timestamp) -> Option<Session> {
    let mut store = ClientSessionStore::new();
    let mut newest_other = None;
    for ticket in tickets {
        match ticket {
            Session::Zerortt(t) => store.insert("localhost", t),
            // rustls and OpenSSL check a ticket's age themselves when they offer it.
            other => newest_other = Some(other),
        }
    }
    store
        .take("localhost", now)
        .map(Session::Zerortt)
        .or(newest_other)
}

fn external_psk_secret() -> Vec<u8> {
    vec![0x5a; 32]
}
