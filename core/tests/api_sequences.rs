//! Any sequence of application calls, byte moves, losses and clock steps on a resumed
//! client/server pair (bolero, s2n-quic style: an `Op` enum and an oracle checked after
//! every step). The same property runs under `cargo test` (a bounded number of random
//! sequences) and under a fuzzer (`cargo bolero test`).
//!
//! Checked after every step:
//! - no call panics, and no call fails with `Error::Internal` (a state the code thought
//!   impossible);
//! - without losses, the only fatal errors are the early data limits being enforced on a
//!   client that wrote more than them (SSL_read_early_data(3): "If a client sends more data
//!   than this then the connection will abort") and the client receiving that alert;
//! - once both sides report `is_init_finished()`, their `early_data_status()` agree;
//! - the early data the server read is a prefix of what the client wrote, and never more
//!   than min(session max_early_data, recv_max_early_data) (nothing when the server's
//!   max_early_data is 0);
//! - application data (0.5-RTT included) read on one side is a prefix of what the other
//!   side wrote.
//!
//! And at the end of a lossless sequence without fatal errors, after driving both sides to
//! completion: both finished, statuses agree, and accepted early data arrived whole.

#[path = "common/pair.rs"]
mod pair;

use pair::{client_config, rng, tickets_from_full_handshake, SERVER_NAME};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use zerortt_core::conn::config::{ClientConfig, ServerConfig};
use zerortt_core::identity::{test_identity, CertifiedKey};
use zerortt_core::msgs::enums::AlertDescription;
use zerortt_core::tickets::session::{ClientSession, ServerSessionValue};
use zerortt_core::time::Timestamp;
use zerortt_core::{ConnError, Connection, EarlyDataStatus, Error, PeerMisbehaved, ReadEarlyData};

/// Which end an operation acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, bolero::TypeGenerator)]
enum End {
    Client,
    Server,
}

/// One step. Lengths are reduced modulo [`MAX_WRITE`] so that several writes can fit in
/// an early data budget.
#[derive(Clone, Copy, Debug, bolero::TypeGenerator)]
enum Op {
    WriteEarlyData(End, u16),
    ReadEarlyData(End),
    DoHandshake(End),
    Read(End),
    Write(End, u16),
    /// Moves up to this many pending bytes (0: all) from the client to the server.
    DeliverToServer(u16),
    /// Moves up to this many pending bytes (0: all) from the server to the client.
    DeliverToClient(u16),
    /// Loses every byte in flight towards this end.
    DropPendingTo(End),
    /// Advances the clock by this many milliseconds times 16 (up to about 17 minutes).
    AdvanceTime(u16),
}

/// One sequence's limits, chosen from values that sit on either side of each other and of
/// the default recv_max_early_data (16384), and biases that keep random sequences from
/// spending most runs on the dull paths.
#[derive(Clone, Copy, Debug, bolero::TypeGenerator)]
struct Setup {
    session_max_early_data: u8,
    server_max_early_data: u8,
    recv_max_early_data: u8,
    /// The client's first call is write_early_data (of a small length).
    client_opens_with_early_data: Option<u8>,
    /// The server's first call is read_early_data.
    server_opens_with_read_early_data: bool,
    /// Drops only lose bytes in one sequence out of four, so that most sequences reach
    /// the end-of-sequence checks, which need a lossless run.
    loss: u8,
}

const LIMITS: [u32; 6] = [0, 1, 100, 3000, 16384, 20000];
const MAX_WRITE: u16 = 4096;

/// A write length from a generated `u16`: below [`MAX_WRITE`], shifted right by 0 to 7
/// bits so that short writes, which fit the small limits, are as common as long ones.
fn write_len(len: u16) -> usize {
    usize::from(len % MAX_WRITE) >> ((len / MAX_WRITE) % 8)
}
/// Enough 1024-byte reads to drain the most a sequence can write (64 ops of < 4096 bytes).
const MAX_BUFFERED_READS: usize = 64 * 4;

fn limit(pick: u8) -> u32 {
    LIMITS[usize::from(pick) % LIMITS.len()]
}

/// Computed once: a ticket from a real full handshake, the server's session value for
/// it, and the configs.
struct Fixture {
    client_config: Arc<ClientConfig>,
    identity: CertifiedKey,
    session: ClientSession,
    value: ServerSessionValue,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let client_config = client_config();
        let sc = pair::server_config(16384);
        let session = tickets_from_full_handshake(&client_config, &sc, 1)
            .pop()
            .expect("a ticket");
        let value = sc
            .session_cache
            .lock()
            .unwrap()
            .get(&session.ticket, Timestamp::SIM_EPOCH)
            .cloned()
            .expect("the ticket is in the server's cache");
        Fixture {
            client_config,
            identity: test_identity::ed25519(),
            session,
            value,
        }
    })
}

/// Deterministic, position-dependent bytes so that a reordering or a loss inside a
/// stream would show in the prefix checks.
fn pattern(from: usize, len: usize, salt: u8) -> Vec<u8> {
    (from..from + len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(salt) ^ (i >> 8) as u8)
        .collect()
}

struct World {
    client: Connection,
    server: Connection,
    now: Timestamp,
    c2s: Vec<u8>,
    s2c: Vec<u8>,
    lossy: bool,
    loss_allowed: bool,
    recv_max_early_data: usize,
    /// min(session max_early_data, recv_max_early_data), or 0 if the server allows none.
    early_limit: usize,
    client_early_written: Vec<u8>,
    server_early_read: Vec<u8>,
    client_app_written: Vec<u8>,
    server_app_read: Vec<u8>,
    /// 0.5-RTT (server write_early_data) and normal writes, in order.
    server_app_written: Vec<u8>,
    client_app_read: Vec<u8>,
}

impl World {
    fn new(setup: Setup) -> Self {
        let f = fixture();
        let session_max = limit(setup.session_max_early_data);
        let server_max = limit(setup.server_max_early_data);
        let recv_max = limit(setup.recv_max_early_data);
        let config = ServerConfig::new(f.identity.clone());
        config.set_max_early_data(server_max);
        config.set_recv_max_early_data(recv_max);
        // A fresh cache holding the ticket with this sequence's max_early_data, so that
        // single-use tickets stay single use within the sequence.
        let mut value = f.value.clone();
        value.max_early_data = session_max;
        config.session_cache.lock().unwrap().insert(
            f.session.ticket.clone(),
            value,
            Timestamp::SIM_EPOCH,
        );
        let mut session = f.session.clone();
        session.set_max_early_data(session_max);
        let early_limit = if server_max == 0 {
            0
        } else {
            session_max.min(recv_max) as usize
        };
        Self {
            client: Connection::client(f.client_config.clone(), SERVER_NAME, Some(session), rng(2)),
            server: Connection::server(Arc::new(config), rng(3)),
            now: Timestamp::SIM_EPOCH,
            c2s: Vec::new(),
            s2c: Vec::new(),
            lossy: false,
            loss_allowed: setup.loss % 4 == 0,
            recv_max_early_data: recv_max as usize,
            early_limit,
            client_early_written: Vec::new(),
            server_early_read: Vec::new(),
            client_app_written: Vec::new(),
            server_app_read: Vec::new(),
            server_app_written: Vec::new(),
            client_app_read: Vec::new(),
        }
    }

    fn conn(&mut self, end: End) -> &mut Connection {
        match end {
            End::Client => &mut self.client,
            End::Server => &mut self.server,
        }
    }

    fn apply(&mut self, op: Op) {
        let now = self.now;
        let mut buf = [0u8; 1024];
        match op {
            Op::WriteEarlyData(end, len) => {
                let len = write_len(len);
                let (written, salt) = match end {
                    End::Client => (self.client_early_written.len(), 1),
                    End::Server => (self.server_app_written.len(), 2),
                };
                let data = pattern(written, len, salt);
                let r = self.conn(end).write_early_data(&data, now);
                if let Ok(n) = self.check(end, r) {
                    assert_eq!(n, len, "write_early_data writes all or nothing");
                    match end {
                        End::Client => self.client_early_written.extend(data),
                        End::Server => self.server_app_written.extend(data),
                    }
                }
            }
            Op::ReadEarlyData(end) => {
                let r = self.conn(end).read_early_data(&mut buf, now);
                if let Ok(ReadEarlyData::Success(n)) = self.check(end, r) {
                    assert_eq!(end, End::Server, "only a server reads early data");
                    self.server_early_read.extend_from_slice(&buf[..n]);
                }
            }
            Op::DoHandshake(end) => {
                let r = self.conn(end).do_handshake(now);
                let _ = self.check(end, r);
            }
            Op::Read(end) => {
                let r = self.conn(end).read(&mut buf, now);
                if let Ok(n) = self.check(end, r) {
                    match end {
                        End::Client => self.client_app_read.extend_from_slice(&buf[..n]),
                        End::Server => self.server_app_read.extend_from_slice(&buf[..n]),
                    }
                }
            }
            Op::Write(end, len) => {
                let len = write_len(len);
                let (written, salt) = match end {
                    End::Client => (self.client_app_written.len(), 3),
                    End::Server => (self.server_app_written.len(), 2),
                };
                let data = pattern(written, len, salt);
                let r = self.conn(end).write(&data, now);
                if let Ok(n) = self.check(end, r) {
                    assert_eq!(n, len, "write writes all or nothing");
                    match end {
                        End::Client => self.client_app_written.extend(data),
                        End::Server => self.server_app_written.extend(data),
                    }
                }
            }
            Op::DeliverToServer(max) => {
                self.client.write_tls(&mut self.c2s);
                let n = self.c2s.len().min(cap(max));
                let taken = self.server.read_tls(&self.c2s[..n]);
                self.c2s.drain(..taken);
            }
            Op::DeliverToClient(max) => {
                self.server.write_tls(&mut self.s2c);
                let n = self.s2c.len().min(cap(max));
                let taken = self.client.read_tls(&self.s2c[..n]);
                self.s2c.drain(..taken);
            }
            Op::DropPendingTo(_) if !self.loss_allowed => {}
            Op::DropPendingTo(end) => {
                let (from, pending) = match end {
                    End::Server => (&mut self.client, &mut self.c2s),
                    End::Client => (&mut self.server, &mut self.s2c),
                };
                from.write_tls(pending);
                self.lossy |= !pending.is_empty();
                pending.clear();
            }
            Op::AdvanceTime(ms) => {
                self.now = self
                    .now
                    .saturating_add(Duration::from_millis(u64::from(ms) * 16));
            }
        }
        self.invariants();
    }

    /// Checks the error half of a call's result, and returns the result.
    fn check<T>(&self, end: End, r: Result<T, ConnError>) -> Result<T, ConnError> {
        match &r {
            Ok(_) | Err(ConnError::WantRead | ConnError::Misuse(_)) => {}
            Err(ConnError::Closed) => panic!("{end:?}: closed, but nobody sent close_notify"),
            Err(ConnError::Fatal(e)) => {
                assert!(
                    !matches!(e, Error::Internal(_)),
                    "{end:?}: internal error {e:?}"
                );
                if !self.lossy {
                    assert!(
                        self.lossless_fatal_is_expected(end, e),
                        "{end:?}: fatal {e:?} without any loss"
                    );
                }
            }
        }
        r
    }

    fn invariants(&self) {
        if self.client.is_init_finished() && self.server.is_init_finished() {
            assert_eq!(
                self.client.early_data_status(),
                self.server.early_data_status(),
                "both finished: the early data statuses agree"
            );
        }
        assert!(
            self.client_early_written
                .starts_with(&self.server_early_read),
            "the server read early data the client did not write"
        );
        assert!(
            self.server_early_read.len() <= self.early_limit,
            "read {} bytes of early data, limit {}",
            self.server_early_read.len(),
            self.early_limit
        );
        assert!(self.client_app_written.starts_with(&self.server_app_read));
        assert!(self.server_app_written.starts_with(&self.client_app_read));
        if self.server.early_data_status() != EarlyDataStatus::Accepted {
            assert!(self.server_early_read.is_empty());
        }
    }

    /// Without losses, a fatal error can only be a limit being enforced because the client
    /// wrote more than it: the server aborting on too much accepted early data (more than
    /// min(session max, recv_max)) or too much skipped rejected early data (more than
    /// recv_max: a skipped record counts its plaintext length, and the client pads
    /// nothing), and the client receiving the alert that says so.
    fn lossless_fatal_is_expected(&self, end: End, e: &Error) -> bool {
        let written = self.client_early_written.len();
        match (end, e) {
            (End::Server, Error::PeerMisbehaved(PeerMisbehaved::TooMuchEarlyData)) => {
                written > self.early_limit
            }
            (
                End::Server,
                Error::PeerMisbehaved(PeerMisbehaved::TooMuchRejectedEarlyDataSkipped),
            ) => written > self.recv_max_early_data,
            (End::Client, Error::AlertReceived(AlertDescription::UnexpectedMessage)) => {
                matches!(
                    self.server.error(),
                    Some(Error::PeerMisbehaved(
                        PeerMisbehaved::TooMuchEarlyData
                            | PeerMisbehaved::TooMuchRejectedEarlyDataSkipped
                    ))
                )
            }
            _ => false,
        }
    }

    fn failed(&self) -> bool {
        self.client.error().is_some() || self.server.error().is_some()
    }

    /// Drives both sides the way a well-behaved application would, with every byte
    /// delivered, until both have finished (bounded).
    fn settle(&mut self) {
        // Until read_early_data has returned Finish (or may not be called), the server
        // application keeps reading early data, as the man page's loop does.
        let mut early_done = false;
        for _ in 0..64 {
            self.apply(Op::DeliverToServer(0));
            if !early_done {
                let mut buf = [0u8; 1024];
                let r = self.server.read_early_data(&mut buf, self.now);
                match self.check(End::Server, r) {
                    Ok(ReadEarlyData::Success(n)) => {
                        self.server_early_read.extend_from_slice(&buf[..n]);
                        self.invariants();
                    }
                    Ok(ReadEarlyData::Finish) | Err(ConnError::Misuse(_)) => early_done = true,
                    Err(_) => {}
                }
            }
            if early_done {
                self.apply(Op::DoHandshake(End::Server));
                self.apply(Op::Read(End::Server));
            }
            self.apply(Op::DeliverToClient(0));
            self.apply(Op::DoHandshake(End::Client));
            self.apply(Op::Read(End::Client));
            let idle = self.c2s.is_empty()
                && self.s2c.is_empty()
                && !self.client.wants_write()
                && !self.server.wants_write()
                && self.client.buffered_tls() == 0
                && self.server.buffered_tls() == 0;
            let finished = self.client.is_init_finished() && self.server.is_init_finished();
            if early_done && finished && idle {
                break;
            }
        }
        // Reads return at most a buffer's worth: drain what is left (bounded by what was
        // written).
        for end in [End::Client, End::Server] {
            for _ in 0..(MAX_BUFFERED_READS) {
                let before = self.client_app_read.len() + self.server_app_read.len();
                self.apply(Op::Read(end));
                if self.client_app_read.len() + self.server_app_read.len() == before {
                    break;
                }
            }
        }
    }
}

fn cap(max: u16) -> usize {
    if max == 0 {
        usize::MAX
    } else {
        usize::from(max)
    }
}

#[test]
fn any_api_call_sequence_keeps_early_data_within_limits_and_both_sides_in_agreement() {
    bolero::check!()
        .with_type::<(Setup, Vec<Op>)>()
        .with_iterations(200)
        .for_each(|(setup, ops)| {
            let mut world = World::new(*setup);
            if let Some(len) = setup.client_opens_with_early_data {
                world.apply(Op::WriteEarlyData(End::Client, u16::from(len)));
                world.apply(Op::DeliverToServer(0));
            }
            if setup.server_opens_with_read_early_data {
                world.apply(Op::ReadEarlyData(End::Server));
            }
            for op in ops {
                world.apply(*op);
            }
            if world.lossy || world.failed() {
                return;
            }
            world.settle();
            if world.failed() {
                return;
            }
            assert!(world.client.is_init_finished() && world.server.is_init_finished());
            let status = world.server.early_data_status();
            assert_eq!(world.client.early_data_status(), status);
            if status == EarlyDataStatus::Accepted {
                assert_eq!(
                    world.server_early_read, world.client_early_written,
                    "accepted early data arrives whole"
                );
            }
            // Everything written after the handshake has arrived too.
            assert_eq!(world.server_app_read, world.client_app_written);
            assert_eq!(world.client_app_read, world.server_app_written);
        });
}

#[test]
fn a_plain_resumption_with_early_data_satisfies_the_oracle() {
    // The property's happy path, spelled out, so that a broken harness cannot pass vacuously.
    let mut world = World::new(Setup {
        session_max_early_data: 4,
        server_max_early_data: 4,
        recv_max_early_data: 4,
        client_opens_with_early_data: None,
        server_opens_with_read_early_data: false,
        loss: 1,
    });
    for op in [
        Op::WriteEarlyData(End::Client, 1000),
        Op::DeliverToServer(0),
        Op::ReadEarlyData(End::Server),
        Op::WriteEarlyData(End::Server, 10),
        Op::DeliverToClient(0),
        Op::Read(End::Client),
        Op::DoHandshake(End::Client),
        Op::DeliverToServer(0),
        Op::ReadEarlyData(End::Server),
        Op::DoHandshake(End::Server),
        Op::Write(End::Client, 20),
        Op::DeliverToServer(0),
        Op::Read(End::Server),
    ] {
        world.apply(op);
    }
    assert_eq!(world.server.early_data_status(), EarlyDataStatus::Accepted);
    assert_eq!(world.client.early_data_status(), EarlyDataStatus::Accepted);
    assert_eq!(world.server_early_read.len(), 1000);
    assert_eq!(world.client_app_read.len(), 10);
    assert_eq!(world.server_app_read.len(), 20);
}
