//! Handshake cost of zerortt against rustls 0.23 (ring provider), side by side, in memory.
//!
//! Two handshakes, each done by both libraries with the same work on both sides:
//! - `full_handshake`: Ed25519 certificate from `core/testdata`, X25519,
//!   TLS13_AES_128_GCM_SHA256, certificate path validation to `core/testdata/ca.der`.
//! - `resumed_0rtt_1KiB`: PSK-DHE resumption (X25519) with 1 KiB of early data that the
//!   server reads in full before the handshake completes.
//!
//! Both count from creating the two connections to the client having processed the server's
//! two NewSessionTickets (both servers send two after every handshake: OpenSSL's and
//! rustls's default), so ticket issuing, storing and receiving are in both measurements.
//!
//! Tickets. Both servers keep tickets in a stateful cache and take them out when they are
//! used: zerortt because max_early_data > 0 turns on replay protection (SSL_read_early_data(3),
//! REPLAY PROTECTION: "sessions are forced to be single use only"), rustls 0.23 because its
//! TLS 1.3 stateful resumption always calls `StoresServerSessions::take`. So every resumed
//! handshake needs a fresh ticket, and we give it one the way rustls's client does by
//! itself: each resumption uses the newest ticket the client holds and leaves the two it
//! received for the next iteration (zerortt: a ticket pool in this file; rustls: its
//! `ClientSessionMemoryCache`, which pops the newest). We do not use `set_no_anti_replay`:
//! rustls has no reusable stateful ticket, so reuse on our side only would compare a cache
//! `get` with a cache `take` plus a lookup in a cache that keeps growing.
//!
//! After criterion's benchmarks, a plain timing section runs each handshake N times and
//! prints `zerortt X/s, rustls Y/s, ratio Z` lines (Z = zerortt time / rustls time) for the
//! README; criterion itself reports no ratios.
//!
//! Run: `cargo bench -p zerortt-core --bench handshake` (about 40 s after the build on an
//! idle 2-core machine). Only the timing section, under callgrind, for instruction counts:
//! `ZERORTT_BENCH_ITERATIONS=200 valgrind --tool=callgrind <bench binary> --bench none`
//! (a criterion filter that matches nothing).

use criterion::Criterion;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use std::hint::black_box;
use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::time::Duration;

/// Bytes of early data in the resumed handshake.
const EARLY_DATA_LEN: usize = 1024;
/// The name both test server certificates are valid for.
const SERVER_NAME: &str = "localhost";
/// max_early_data on both servers (and recv_max_early_data's default on ours).
const MAX_EARLY_DATA: u32 = 16384;

/// The zerortt side.
mod zerortt {
    use super::*;
    use zerortt_core::conn::config::{ClientConfig, ServerConfig};
    use zerortt_core::crypto::suites::TLS13_AES_128_GCM_SHA256;
    use zerortt_core::identity::test_identity;
    use zerortt_core::tickets::session::ClientSession;
    use zerortt_core::time::Timestamp;
    use zerortt_core::verify::ServerTrust;
    use zerortt_core::{ConnError, Connection, EarlyDataStatus, ReadEarlyData};

    /// Tickets kept for the next resumptions; rustls's client keeps 8 per server name.
    const TICKETS_KEPT: usize = 8;

    /// Configs, a seed counter (every connection gets its own ChaCha stream, so ticket
    /// ids and key shares differ between iterations) and the client's ticket pool.
    pub struct Bench {
        client_config: Arc<ClientConfig>,
        server_config: Arc<ServerConfig>,
        seed: u64,
        tickets: Vec<ClientSession>,
        now: Timestamp,
    }

    impl Bench {
        pub fn new() -> Self {
            let mut server = ServerConfig::new(test_identity::ed25519());
            server.cipher_suites = vec![&TLS13_AES_128_GCM_SHA256];
            server.set_max_early_data(MAX_EARLY_DATA);
            let mut client = ClientConfig::new(ServerTrust::test_ca());
            client.cipher_suites = vec![&TLS13_AES_128_GCM_SHA256];
            Self {
                client_config: Arc::new(client),
                server_config: Arc::new(server),
                seed: 0,
                tickets: Vec::new(),
                now: Timestamp::SIM_EPOCH,
            }
        }

        fn rng(&mut self) -> Box<ChaCha20Rng> {
            self.seed += 1;
            Box::new(ChaCha20Rng::seed_from_u64(self.seed))
        }

        fn connections(&mut self, session: Option<ClientSession>) -> (Connection, Connection) {
            let client_rng = self.rng();
            let server_rng = self.rng();
            let client =
                Connection::client(self.client_config.clone(), SERVER_NAME, session, client_rng);
            let server = Connection::server(self.server_config.clone(), server_rng);
            (client, server)
        }

        /// A full handshake; returns the two tickets the client received.
        pub fn full_handshake(&mut self) -> Vec<ClientSession> {
            let now = self.now;
            let (mut client, mut server) = self.connections(None);
            let mut wire = Vec::new();
            want_read(client.do_handshake(now), "client sends ClientHello");
            transfer(&mut client, &mut server, &mut wire);
            want_read(server.do_handshake(now), "server sends its flight");
            transfer(&mut server, &mut client, &mut wire);
            client.do_handshake(now).expect("client completes");
            transfer(&mut client, &mut server, &mut wire);
            server.do_handshake(now).expect("server completes");
            transfer(&mut server, &mut client, &mut wire);
            receive_tickets(&mut client, now)
        }

        /// A resumed handshake with 1 KiB of early data on the newest ticket; keeps the new
        /// tickets for later iterations. Returns the early data bytes the server read.
        pub fn resumed_0rtt_handshake(&mut self, early_data: &[u8]) -> usize {
            let now = self.now;
            let session = match self.tickets.pop() {
                Some(t) => t,
                None => {
                    self.tickets = self.full_handshake();
                    self.tickets.pop().expect("a full handshake issues tickets")
                }
            };
            let (mut client, mut server) = self.connections(Some(session));
            let mut wire = Vec::new();
            let written = client
                .write_early_data(early_data, now)
                .expect("write_early_data");
            assert_eq!(written, early_data.len());
            transfer(&mut client, &mut server, &mut wire);

            // SSL_read_early_data(3) until Finish; the client answers the server's flight
            // with EndOfEarlyData and Finished when asked to complete its handshake.
            let mut buf = [0u8; 4096];
            let mut read = 0;
            for _ in 0..16 {
                match server.read_early_data(&mut buf, now) {
                    Ok(ReadEarlyData::Success(n)) => read += n,
                    Ok(ReadEarlyData::Finish) => break,
                    Err(ConnError::WantRead) => {
                        transfer(&mut server, &mut client, &mut wire);
                        client.do_handshake(now).expect("client completes");
                        transfer(&mut client, &mut server, &mut wire);
                    }
                    Err(e) => panic!("read_early_data: {e}"),
                }
            }
            server.do_handshake(now).expect("server completes");
            assert_eq!(server.early_data_status(), EarlyDataStatus::Accepted);
            assert_eq!(client.early_data_status(), EarlyDataStatus::Accepted);
            transfer(&mut server, &mut client, &mut wire);
            let new = receive_tickets(&mut client, now);
            self.tickets.extend(new);
            if self.tickets.len() > TICKETS_KEPT {
                let excess = self.tickets.len() - TICKETS_KEPT;
                self.tickets.drain(..excess);
            }
            read
        }
    }

    fn want_read(r: Result<(), ConnError>, step: &str) {
        match r {
            Err(ConnError::WantRead) => {}
            other => panic!("{step}: expected WantRead, got {other:?}"),
        }
    }

    /// Moves everything `from` has to send into `to` (`wire` keeps what `to` refused).
    fn transfer(from: &mut Connection, to: &mut Connection, wire: &mut Vec<u8>) {
        from.write_tls(wire);
        let n = to.read_tls(wire);
        wire.drain(..n);
        assert!(wire.is_empty(), "read_tls refused {} bytes", wire.len());
    }

    /// The client processes the NewSessionTickets (a read with no application data).
    fn receive_tickets(client: &mut Connection, now: Timestamp) -> Vec<ClientSession> {
        let mut buf = [0u8; 16];
        match client.read(&mut buf, now) {
            Err(ConnError::WantRead) => {}
            other => panic!("client read after the handshake: {other:?}"),
        }
        let tickets = client.take_new_sessions();
        assert_eq!(tickets.len(), 2, "two tickets per handshake");
        tickets
    }
}

/// The rustls side: the same certificate, key, group, suite and early data settings.
mod rustls_side {
    use super::*;
    use rustls::client::{ClientSessionStore, Tls12ClientSessionValue, Tls13ClientSessionValue};
    use rustls::crypto::{ring as provider, CryptoProvider};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use rustls::{ClientConfig, ClientConnection, NamedGroup, RootCertStore, ServerConfig};
    use rustls::{ConnectionCommon, ServerConnection, SideData};

    const CA: &[u8] = include_bytes!("../testdata/ca.der");
    const CERT: &[u8] = include_bytes!("../testdata/server-ed25519.der");
    const KEY: &[u8] = include_bytes!("../testdata/server-ed25519.key.pk8");

    /// A client session store that keeps nothing, so that every handshake of the
    /// full-handshake benchmark is a full one. The client still derives each ticket's PSK
    /// and builds the session value before `insert_tls13_ticket`, as zerortt's does.
    #[derive(Debug)]
    struct NeverResume;

    impl ClientSessionStore for NeverResume {
        fn set_kx_hint(&self, _: ServerName<'static>, _: NamedGroup) {}
        fn kx_hint(&self, _: &ServerName<'_>) -> Option<NamedGroup> {
            None
        }
        fn set_tls12_session(&self, _: ServerName<'static>, _: Tls12ClientSessionValue) {}
        fn tls12_session(&self, _: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
            None
        }
        fn remove_tls12_session(&self, _: &ServerName<'static>) {}
        fn insert_tls13_ticket(&self, _: ServerName<'static>, value: Tls13ClientSessionValue) {
            black_box(value);
        }
        fn take_tls13_ticket(&self, _: &ServerName<'static>) -> Option<Tls13ClientSessionValue> {
            None
        }
    }

    pub struct Bench {
        /// Client for full handshakes (never resumes).
        full_client: Arc<ClientConfig>,
        /// Client for resumptions (rustls's default in-memory ticket store).
        resuming_client: Arc<ClientConfig>,
        /// One server per benchmark, so the two do not share a ticket cache.
        full_server: Arc<ServerConfig>,
        resuming_server: Arc<ServerConfig>,
        name: ServerName<'static>,
    }

    impl Bench {
        pub fn new() -> Self {
            let provider = Arc::new(CryptoProvider {
                cipher_suites: vec![provider::cipher_suite::TLS13_AES_128_GCM_SHA256],
                kx_groups: vec![provider::kx_group::X25519],
                ..provider::default_provider()
            });
            let server = || {
                let mut config = ServerConfig::builder_with_provider(provider.clone())
                    .with_protocol_versions(&[&rustls::version::TLS13])
                    .expect("TLS 1.3 with the ring provider")
                    .with_no_client_auth()
                    .with_single_cert(
                        vec![CertificateDer::from(CERT.to_vec())],
                        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(KEY.to_vec())),
                    )
                    .expect("the Ed25519 test identity loads");
                config.max_early_data_size = MAX_EARLY_DATA;
                Arc::new(config)
            };
            let client = |never_resume: bool| {
                let mut roots = RootCertStore::empty();
                roots
                    .add(CertificateDer::from(CA.to_vec()))
                    .expect("the test CA loads");
                let mut config = ClientConfig::builder_with_provider(provider.clone())
                    .with_protocol_versions(&[&rustls::version::TLS13])
                    .expect("TLS 1.3 with the ring provider")
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                config.enable_early_data = true;
                if never_resume {
                    config.resumption = rustls::client::Resumption::store(Arc::new(NeverResume));
                }
                Arc::new(config)
            };
            Self {
                full_client: client(true),
                resuming_client: client(false),
                full_server: server(),
                resuming_server: server(),
                name: ServerName::try_from(SERVER_NAME).expect("a DNS name"),
            }
        }

        /// A full handshake, through the client processing the two tickets.
        pub fn full_handshake(&mut self) {
            let mut client =
                ClientConnection::new(self.full_client.clone(), self.name.clone()).expect("client");
            let mut server = ServerConnection::new(self.full_server.clone()).expect("server");
            let mut wire = Vec::new();
            transfer(&mut client, &mut server, &mut wire); // ClientHello
            transfer(&mut server, &mut client, &mut wire); // ServerHello .. Finished
            transfer(&mut client, &mut server, &mut wire); // Finished
            transfer(&mut server, &mut client, &mut wire); // NewSessionTicket x2
            assert!(!client.is_handshaking() && !server.is_handshaking());
            assert_eq!(client.tls13_tickets_received(), 2);
        }

        /// A resumed handshake with 1 KiB of early data; returns the bytes the server read.
        pub fn resumed_0rtt_handshake(&mut self, early_data: &[u8]) -> usize {
            let mut client = ClientConnection::new(self.resuming_client.clone(), self.name.clone())
                .expect("client");
            let Some(mut early) = client.early_data() else {
                // No ticket yet (first iteration): get two, as zerortt's side does.
                self.prime();
                return self.resumed_0rtt_handshake(early_data);
            };
            let written = early.write(early_data).expect("early data write");
            assert_eq!(written, early_data.len());
            let mut server = ServerConnection::new(self.resuming_server.clone()).expect("server");
            let mut wire = Vec::new();
            transfer(&mut client, &mut server, &mut wire); // ClientHello + early data
            let mut read = 0;
            let mut buf = [0u8; 4096];
            if let Some(mut reader) = server.early_data() {
                loop {
                    let n = reader.read(&mut buf).expect("early data read");
                    if n == 0 {
                        break;
                    }
                    read += n;
                }
            }
            transfer(&mut server, &mut client, &mut wire); // ServerHello .. Finished
            transfer(&mut client, &mut server, &mut wire); // EndOfEarlyData, Finished
            transfer(&mut server, &mut client, &mut wire); // NewSessionTicket x2
            assert!(client.is_early_data_accepted());
            assert!(!client.is_handshaking() && !server.is_handshaking());
            assert_eq!(client.tls13_tickets_received(), 2);
            read
        }

        /// One full handshake on the resuming client, to fill its ticket store.
        fn prime(&mut self) {
            let mut client = ClientConnection::new(self.resuming_client.clone(), self.name.clone())
                .expect("client");
            let mut server = ServerConnection::new(self.resuming_server.clone()).expect("server");
            let mut wire = Vec::new();
            for _ in 0..4 {
                transfer(&mut client, &mut server, &mut wire);
                transfer(&mut server, &mut client, &mut wire);
            }
            assert_eq!(client.tls13_tickets_received(), 2);
        }
    }

    /// Moves everything `from` has to send into `to` and processes it there.
    fn transfer<A: SideData, B: SideData>(
        from: &mut ConnectionCommon<A>,
        to: &mut ConnectionCommon<B>,
        wire: &mut Vec<u8>,
    ) {
        wire.clear();
        while from.wants_write() {
            from.write_tls(wire).expect("write_tls to a Vec");
        }
        let mut rest = &wire[..];
        while !rest.is_empty() {
            to.read_tls(&mut rest).expect("read_tls from a slice");
            to.process_new_packets().expect("process_new_packets");
        }
    }
}

fn criterion_config() -> Criterion {
    // About 5 s per benchmark, 4 benchmarks: the whole run, with the timing section, stays
    // well under two minutes on a 2-core machine.
    Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args()
}

fn benches(c: &mut Criterion) {
    let early_data = [0x5au8; EARLY_DATA_LEN];
    let mut ours = zerortt::Bench::new();
    let mut theirs = rustls_side::Bench::new();

    let mut group = c.benchmark_group("full_handshake");
    group.bench_function("zerortt", |b| b.iter(|| black_box(ours.full_handshake())));
    group.bench_function("rustls", |b| b.iter(|| theirs.full_handshake()));
    group.finish();

    let mut group = c.benchmark_group("resumed_0rtt_1KiB");
    group.bench_function("zerortt", |b| {
        b.iter(|| {
            let n = ours.resumed_0rtt_handshake(black_box(&early_data));
            assert_eq!(n, EARLY_DATA_LEN);
        })
    });
    group.bench_function("rustls", |b| {
        b.iter(|| {
            let n = theirs.resumed_0rtt_handshake(black_box(&early_data));
            assert_eq!(n, EARLY_DATA_LEN);
        })
    });
    group.finish();
}

/// Rounds the timing section alternates between the two libraries.
const ROUNDS: u32 = 20;

/// Runs `ours` and `theirs` `per_round` times in each of [`ROUNDS`] rounds, alternating, so
/// that load from other processes falls on both alike (after one warm-up round each).
/// Returns handshakes per second for each.
fn rates(per_round: u32, mut ours: impl FnMut(), mut theirs: impl FnMut()) -> (f64, f64) {
    time(per_round, &mut ours);
    time(per_round, &mut theirs);
    let (mut ours_time, mut theirs_time) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..ROUNDS {
        ours_time += time(per_round, &mut ours);
        theirs_time += time(per_round, &mut theirs);
    }
    let n = f64::from(per_round * ROUNDS);
    (n / ours_time.as_secs_f64(), n / theirs_time.as_secs_f64())
}

// A benchmark measures wall-clock time; the determinism rule (no clock in core and sim)
// does not apply to this bench binary, which only times calls into the library.
#[allow(clippy::disallowed_methods)]
fn time(iterations: u32, f: &mut impl FnMut()) -> Duration {
    let start = std::time::Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed()
}

/// Prints the zerortt/rustls ratios that criterion does not compute.
fn ratios(iterations: u32) {
    let early_data = [0x5au8; EARLY_DATA_LEN];
    let mut ours = zerortt::Bench::new();
    let mut theirs = rustls_side::Bench::new();
    let per_round = (iterations / ROUNDS).max(1);
    println!(
        "\nratios over {} handshakes each (ratio = zerortt time / rustls time):",
        per_round * ROUNDS
    );
    let (z, r) = rates(
        per_round,
        || {
            black_box(ours.full_handshake());
        },
        || theirs.full_handshake(),
    );
    println!(
        "full handshake: zerortt {z:.0}/s, rustls {r:.0}/s, ratio {:.2}",
        r / z
    );
    let (z, r) = rates(
        per_round,
        || assert_eq!(ours.resumed_0rtt_handshake(&early_data), EARLY_DATA_LEN),
        || assert_eq!(theirs.resumed_0rtt_handshake(&early_data), EARLY_DATA_LEN),
    );
    println!(
        "resumed 0-RTT handshake (1 KiB early data): zerortt {z:.0}/s, rustls {r:.0}/s, ratio {:.2}",
        r / z
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let mut criterion = criterion_config();
    benches(&mut criterion);
    criterion.final_summary();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    // `cargo bench` passes --bench; `cargo test --benches` does not and only wants a smoke
    // run, as criterion's own test mode does. ZERORTT_BENCH_ITERATIONS overrides both, e.g.
    // for a callgrind run with a criterion filter that matches nothing.
    let iterations = std::env::var("ZERORTT_BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if args.iter().any(|a| a == "--bench") {
            2000
        } else {
            ROUNDS
        });
    ratios(iterations);
}
