//! OpenSSL 3 (the system library, through the `openssl` crate and `zerortt-ossl`) as a
//! subject: contexts, the run's shared parts, and what this stack can be asked to do.
//!
//! Deterministic means, as for rustls: the same seed and the same calls at the same virtual
//! times give the same TLS records. Every random byte OpenSSL draws (client and server
//! random, legacy session id, X25519 keys, ticket nonces, `age_add`, session ids, the
//! contexts' ticket keys) goes through `RAND_bytes_ex`/`RAND_priv_bytes_ex`, which honour
//! a `RAND_METHOD` (crypto/rand/rand_lib.c, OpenSSL 3.0); `zerortt_ossl::ffi::with_random`
//! installs one that reads the calling thread's [`SeededStream`], and every OpenSSL call
//! here runs inside it ([`enter`]). Without a stream OpenSSL's draws fail, never fall back.
//! Signing is Ed25519 (deterministic, RFC 8032).
//!
//! What stays outside the seed: OpenSSL reads the wall clock (`time(NULL)`, whole seconds)
//! for a session's creation time and a ticket's age. A run takes milliseconds of wall time,
//! so OpenSSL sees every ticket as about 0 s old, whatever the virtual delay; the
//! obfuscated ticket age in a resuming ClientHello is `age_add` (from the seed) plus 1000
//! per wall-clock second boundary crossed between the ticket's arrival and the
//! resumption, so it (and every secret after it) changes only in a run that straddles a
//! second boundary. `--check-determinism` therefore compares OpenSSL runs without the key
//! log lines ([`crate::explore`]); statuses, outcomes, findings and milestones never read
//! the wall clock.

use super::rustls_stack::SeededStream;
use openssl::pkey::PKey;
use openssl::ssl::{
    SslContext, SslContextBuilder, SslMethod, SslOptions, SslSession, SslSessionCacheMode,
    SslVerifyMode, SslVersion,
};
use openssl::x509::X509;
use std::sync::{Arc, Mutex};
use zerortt_core::time::Timestamp;
use zerortt_ossl::ffi;

/// The test CA (DER), the trust anchor of every client.
pub const CA: &[u8] = include_bytes!("../../../core/testdata/ca.der");
/// The Ed25519 server certificate for `localhost` (DER), as zerortt-core's test identity.
pub const CERT: &[u8] = include_bytes!("../../../core/testdata/server-ed25519.der");
/// Its PKCS#8 private key.
pub const KEY: &[u8] = include_bytes!("../../../core/testdata/server-ed25519.key.pk8");

/// The session id context every server context shares: sessions move between them through
/// the external cache, and OpenSSL resumes a session only in the context it names.
const SESSION_ID_CONTEXT: &[u8] = b"zerortt-sim";

/// The TLS 1.3 suites of the simulator's clients (as the zerortt client offers them).
const CLIENT_SUITES: &str = "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";

/// The shipped test identity, parsed once per process: OpenSSL's DER decoders cost a
/// quarter of an OpenSSL run (measured with callgrind), and the objects are immutable and
/// reference counted.
struct Identity {
    ca: X509,
    cert: X509,
    key: PKey<openssl::pkey::Private>,
}

fn identity() -> Result<&'static Identity, String> {
    static IDENTITY: std::sync::OnceLock<Result<Identity, String>> = std::sync::OnceLock::new();
    IDENTITY
        .get_or_init(|| {
            let err = |what: &str, e: openssl::error::ErrorStack| format!("OpenSSL {what}: {e}");
            Ok(Identity {
                ca: X509::from_der(CA).map_err(|e| err("CA", e))?,
                cert: X509::from_der(CERT).map_err(|e| err("certificate", e))?,
                key: PKey::private_key_from_der(KEY).map_err(|e| err("key", e))?,
            })
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// Runs `f` with OpenSSL's randomness drawn from `stream` on this thread.
pub fn enter<R>(stream: &SeededStream, f: impl FnOnce() -> R) -> R {
    let s = stream.clone();
    ffi::with_random(move |buf| s.fill(buf), f)
}

/// The protocol versions a context allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Versions {
    /// TLS 1.2 and 1.3 (OpenSSL's default range on current systems).
    Tls12And13,
    /// TLS 1.3 only.
    Tls13,
    /// TLS 1.2 only (the man page's TLS 1.2 rows).
    Tls12,
}

impl Versions {
    fn apply(self, ctx: &mut SslContextBuilder) -> Result<(), String> {
        let (min, max) = match self {
            Versions::Tls12And13 => (SslVersion::TLS1_2, SslVersion::TLS1_3),
            Versions::Tls13 => (SslVersion::TLS1_3, SslVersion::TLS1_3),
            Versions::Tls12 => (SslVersion::TLS1_2, SslVersion::TLS1_2),
        };
        ctx.set_min_proto_version(Some(min))
            .and_then(|()| ctx.set_max_proto_version(Some(max)))
            .map_err(|e| format!("OpenSSL protocol versions: {e}"))
    }
}

/// Key log lines (NSS format) OpenSSL reported, to be taken by the subject whose call
/// produced them (every OpenSSL call of a subject completes before another subject's).
#[derive(Debug, Default)]
pub struct KeyLines(Mutex<Vec<String>>);

impl KeyLines {
    /// Takes the lines logged so far.
    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }

    fn push(&self, line: &str) {
        if let Ok(mut l) = self.0.lock() {
            l.push(line.to_owned());
        }
    }
}

/// Sessions a client context received (NewSessionTicket), taken by the subject whose call
/// received them.
#[derive(Default)]
pub struct NewSessions(Mutex<Vec<SslSession>>);

impl NewSessions {
    /// Takes the sessions received so far, oldest first.
    pub fn take(&self) -> Vec<SslSession> {
        self.0
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }
}

/// A client context and the sinks its callbacks fill.
#[derive(Clone)]
pub struct ClientContext {
    /// The context (shared by the run's client connections, as one client process).
    pub ctx: SslContext,
    /// Its key log.
    pub keys: Arc<KeyLines>,
    /// Its new sessions.
    pub sessions: Arc<NewSessions>,
}

/// Builds the run's client context (call inside [`enter`]: `SSL_CTX_new` draws its ticket
/// keys).
pub fn client_context(versions: Versions) -> Result<ClientContext, String> {
    let err = |what: &str, e: openssl::error::ErrorStack| format!("OpenSSL client {what}: {e}");
    let mut ctx = SslContext::builder(SslMethod::tls_client()).map_err(|e| err("context", e))?;
    versions.apply(&mut ctx)?;
    ctx.set_ciphersuites(CLIENT_SUITES)
        .map_err(|e| err("ciphersuites", e))?;
    ctx.cert_store_mut()
        .add_cert(identity()?.ca.clone())
        .map_err(|e| err("CA", e))?;
    ctx.set_verify(SslVerifyMode::PEER);
    // The new-session callback runs for clients only with client-side caching on.
    ctx.set_session_cache_mode(SslSessionCacheMode::CLIENT);
    let sessions = Arc::new(NewSessions::default());
    let sink = sessions.clone();
    ctx.set_new_session_callback(move |_, session| {
        if let Ok(mut s) = sink.0.lock() {
            s.push(session);
        }
    });
    let keys = Arc::new(KeyLines::default());
    let log = keys.clone();
    ctx.set_keylog_callback(move |_, line| log.push(line));
    Ok(ClientContext {
        ctx: ctx.build(),
        keys,
        sessions,
    })
}

/// An external session cache as OpenSSL's callbacks see it: sessions as DER by id.
pub trait ExternalCache: Send + Sync {
    /// `SSL_CTX_sess_set_new_cb`: a session was added to the internal cache.
    fn new_session(&self, id: &[u8], der: Vec<u8>);
    /// `SSL_CTX_sess_set_remove_cb`: a session was removed from the internal cache.
    fn remove_session(&self, id: &[u8]);
    /// `SSL_CTX_sess_set_get_cb`: a lookup the internal cache missed.
    fn get_session(&self, id: &[u8]) -> Option<Vec<u8>>;
}

/// How to build one server context.
pub struct ServerKnobs {
    /// Allowed versions.
    pub versions: Versions,
    /// `SSL_CTX_set_max_early_data`.
    pub max_early_data: u32,
    /// `SSL_CTX_set_recv_max_early_data`.
    pub recv_max_early_data: u32,
    /// `SSL_OP_NO_ANTI_REPLAY`.
    pub no_anti_replay: bool,
    /// The key share groups the server takes (`SSL_CTX_set1_groups_list`), or its
    /// default: `P-256` makes a client whose first key share is X25519 get a
    /// HelloRetryRequest.
    pub groups: Option<&'static str>,
    /// The ticket key set (`SSL_CTX_set_tlsext_ticket_keys`).
    pub ticket_keys: [u8; ffi::TICKET_KEYS_LEN],
    /// The allow-early-data policy, if any (`SSL_CTX_set_allow_early_data_cb`).
    pub allow_early_data: Option<Box<dyn Fn() -> bool + Send + Sync>>,
    /// An external session cache, if any.
    pub external: Option<Arc<dyn ExternalCache>>,
    /// The run's ticket clock.
    pub clock: Arc<SessionClock>,
}

/// A server context and its key log.
#[derive(Clone)]
pub struct ServerContext {
    /// The context.
    pub ctx: SslContext,
    /// Its key log.
    pub keys: Arc<KeyLines>,
    /// The run's ticket clock.
    pub clock: Arc<SessionClock>,
}

/// Builds a server context (call inside [`enter`]).
pub fn server_context(knobs: ServerKnobs) -> Result<ServerContext, String> {
    let err = |what: &str, e: openssl::error::ErrorStack| format!("OpenSSL server {what}: {e}");
    let mut ctx = SslContext::builder(SslMethod::tls_server()).map_err(|e| err("context", e))?;
    knobs.versions.apply(&mut ctx)?;
    let id = identity()?;
    ctx.set_certificate(&id.cert)
        .map_err(|e| err("certificate", e))?;
    ctx.set_private_key(&id.key).map_err(|e| err("key", e))?;
    ctx.set_session_id_context(SESSION_ID_CONTEXT)
        .map_err(|e| err("session id context", e))?;
    ctx.set_max_early_data(knobs.max_early_data)
        .map_err(|e| err("max_early_data", e))?;
    if !ffi::set_ctx_recv_max_early_data(&mut ctx, knobs.recv_max_early_data) {
        return Err("OpenSSL server: SSL_CTX_set_recv_max_early_data failed".into());
    }
    if knobs.no_anti_replay {
        ctx.set_options(SslOptions::from_bits_retain(ffi::SSL_OP_NO_ANTI_REPLAY));
    }
    ffi::set_ticket_keys(&mut ctx, &knobs.ticket_keys).map_err(|e| err("ticket keys", e))?;
    if let Some(policy) = knobs.allow_early_data {
        ffi::allow_early_data(&mut ctx, policy).map_err(|e| err("allow_early_data", e))?;
    }
    if let Some(groups) = knobs.groups {
        ctx.set_groups_list(groups).map_err(|e| err("groups", e))?;
    }
    let (generating, decrypting) = (knobs.clock.clone(), knobs.clock.clone());
    let no_anti_replay = knobs.no_anti_replay;
    ffi::set_ticket_time_hooks(
        &mut ctx,
        // OpenSSL's TLS 1.3 tickets are stateful exactly when max_early_data > 0 and
        // anti-replay is on (ssl/statem/statem_srvr.c, tls_construct_new_session_ticket).
        move |ssl, session| {
            let stateless = no_anti_replay || ssl.max_early_data() == 0;
            generating.generating(session, stateless)
        },
        move |session| decrypting.decrypted(session),
    )
    .map_err(|e| err("ticket callbacks", e))?;
    let clock = knobs.clock;
    let run_clock = clock.clone();
    let clock_for_get = clock.clone();
    let new = knobs.external.clone();
    ctx.set_new_session_callback(move |_, session| {
        if let Some(new) = &new {
            if let Ok(der) = session.to_der() {
                new.new_session(session.id(), der);
            }
        }
        clock.record(session);
    });
    if let Some(ext) = knobs.external {
        let (remove, get) = (ext.clone(), ext);
        ctx.set_remove_session_callback(move |_, session| remove.remove_session(session.id()));
        let clock = clock_for_get;
        ffi::set_get_session_der_callback(&mut ctx, move |id| {
            clock.redate_der(get.get_session(id)?)
        });
    }
    let keys = Arc::new(KeyLines::default());
    let log = keys.clone();
    ctx.set_keylog_callback(move |_, line| log.push(line));
    Ok(ServerContext {
        ctx: ctx.build(),
        keys,
        clock: run_clock,
    })
}

/// OpenSSL's clock for tickets, made virtual: OpenSSL computes a ticket's age as
/// `time(NULL)` minus the session's creation time, in whole seconds, on both sides. A run
/// takes milliseconds of wall time, so without this every ticket would look 0 s old while
/// a zerortt-core client reports its virtual age in ms: a 1.05 s old ticket is then "older
/// than ours + 1000 ms" and OpenSSL refuses its early data (extensions_srvr.c). Before each
/// call at virtual time `now`, every session is dated back by its virtual age in whole
/// seconds (`SSL_SESSION_set_time`): the cached sessions of stateful tickets here, the ones
/// decrypted from stateless tickets in the decrypt callback, a client's in its subject. A
/// session is recognised by its master key (the resumption PSK), the same at issue and
/// after a ticket is decrypted.
///
/// A stateless ticket encrypts its session's creation time, so its bytes would change with
/// the wall-clock second; when a ticket is made, its session gets the virtual second
/// instead (the wall-clock one is kept here, by master key, for the age arithmetic), and
/// the ticket's bytes follow from the seed alone.
#[derive(Default)]
pub struct SessionClock {
    now: Mutex<Option<Timestamp>>,
    issued: Mutex<Vec<Issued>>,
    /// Wall-clock creation times of tickets' sessions, by master key, from when they were
    /// made.
    originals: Mutex<Vec<(Vec<u8>, i64)>>,
}

struct Issued {
    session: SslSession,
    master_key: Vec<u8>,
    /// The creation time OpenSSL gave it (wall clock, seconds).
    original: i64,
    /// Virtual time of issue (stamped after the call that issued it).
    at: Option<Timestamp>,
}

/// A session's master key (the TLS 1.3 resumption PSK).
fn master_key(session: &openssl::ssl::SslSessionRef) -> Vec<u8> {
    let mut key = vec![0u8; session.master_key_len()];
    let n = session.master_key(&mut key);
    key.truncate(n);
    key
}

/// Whole seconds from `from` to `to` (0 if `to` is earlier).
pub fn whole_secs(from: Timestamp, to: Timestamp) -> i64 {
    i64::try_from(to.as_nanos().saturating_sub(from.as_nanos()) / 1_000_000_000).unwrap_or(0)
}

impl SessionClock {
    fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
        m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A server issued `session` during the current call.
    fn record(&self, session: SslSession) {
        let key = master_key(&session);
        let original = Self::lock(&self.originals)
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(session.time(), |(_, t)| *t);
        let entry = Issued {
            master_key: key,
            original,
            session,
            at: None,
        };
        Self::lock(&self.issued).push(entry);
    }

    /// A ticket for `session` is about to be made: remembers its wall-clock creation time
    /// and, if the ticket is `stateless`, gives it the virtual second.
    fn generating(&self, session: &openssl::ssl::SslSessionRef, stateless: bool) -> Option<i64> {
        Self::lock(&self.originals).push((master_key(session), session.time()));
        let now = (*Self::lock(&self.now))?;
        let secs = i64::try_from(now.as_nanos() / 1_000_000_000).ok()?;
        stateless.then_some(secs)
    }

    /// Before a server call at `now`: dates every issued session back by its virtual age.
    pub fn before_call(&self, now: Timestamp) {
        *Self::lock(&self.now) = Some(now);
        for e in Self::lock(&self.issued).iter_mut() {
            if let Some(at) = e.at {
                ffi::set_session_time(&mut e.session, e.original - whole_secs(at, now));
            }
        }
    }

    /// After a server call at `now`: the sessions it issued were issued at `now`.
    pub fn after_call(&self, now: Timestamp) {
        for e in Self::lock(&self.issued).iter_mut() {
            e.at.get_or_insert(now);
        }
    }

    /// A session from the external cache (DER, encoded at issue), dated back as the
    /// cached ones are.
    fn redate_der(&self, der: Vec<u8>) -> Option<Vec<u8>> {
        let mut session = SslSession::from_der(&der).ok()?;
        match self.decrypted(&session) {
            Some(t) if ffi::set_session_time(&mut session, t) => session.to_der().ok(),
            _ => Some(der),
        }
    }

    /// The creation time to give a session just decrypted from a ticket.
    fn decrypted(&self, session: &openssl::ssl::SslSessionRef) -> Option<i64> {
        let now = (*Self::lock(&self.now))?;
        let key = master_key(session);
        let issued = Self::lock(&self.issued);
        let e = issued.iter().find(|e| e.master_key == key)?;
        Some(e.original - whole_secs(e.at?, now))
    }
}

/// A knob of the scenario format that OpenSSL 3.0 has or lacks, with the evidence.
#[derive(Clone, Copy, Debug)]
pub struct Capability {
    /// The scenario knob.
    pub knob: super::Knob,
    /// Whether this subject wires it.
    pub supported: bool,
    /// The call, or why not.
    pub evidence: &'static str,
}

/// What the OpenSSL subject can be asked to do.
pub const CAPABILITIES: [Capability; 14] = {
    use super::Knob as K;
    [
        Capability { knob: K::RecvMaxEarlyData, supported: true, evidence: "SSL_CTX_set_recv_max_early_data" },
        Capability { knob: K::AllowEarlyDataCallback, supported: true, evidence: "SSL_CTX_set_allow_early_data_cb" },
        Capability { knob: K::ForcedHelloRetryRequest, supported: false, evidence: "SSL_stateless (the cookie HRR) begins with SSL_clear, so on a TCP connection the 0-RTT records after the first ClientHello are taken as an unexpected_message (measured, as `openssl s_server -stateless` loops it); without it OpenSSL sends a HelloRetryRequest only for a key share it lacks, and zerortt-core and the rustls subject offer X25519 only" },
        Capability { knob: K::NoAntiReplay, supported: true, evidence: "SSL_OP_NO_ANTI_REPLAY (stateless tickets)" },
        Capability { knob: K::MaxEarlyDataAfterTickets, supported: true, evidence: "SSL_set_max_early_data on the connections after the warm-up" },
        Capability { knob: K::TicketAgeTolerance, supported: false, evidence: "fixed: TICKET_AGE_ALLOWANCE (10 s) in ssl/statem/extensions_srvr.c" },
        Capability { knob: K::StrikeRegister, supported: false, evidence: "no ClientHello recording API: OpenSSL's anti-replay is the single-use session cache" },
        Capability { knob: K::SharedSessionCache, supported: true, evidence: "one SSL_CTX (and its internal cache) for the cluster" },
        Capability { knob: K::ExternalSessionCache, supported: true, evidence: "SSL_CTX_sess_set_new_cb / remove_cb / get_cb" },
        Capability { knob: K::ExternalPsk, supported: false, evidence: "not wired (SSL_CTX_set_psk_find_session_callback would carry it)" },
        Capability { knob: K::SessionMaxEarlyData, supported: true, evidence: "SSL_SESSION_set_max_early_data on the client's copy" },
        Capability { knob: K::Tls12Client, supported: true, evidence: "SSL_CTX_set_max_proto_version(TLS1_2_VERSION) on the client context" },
        Capability { knob: K::Tls12AfterTickets, supported: true, evidence: "SSL_set_max_proto_version(TLS1_2_VERSION) on the server connections after the warm-up" },
        Capability { knob: K::HelloRetryForKeyShare, supported: true, evidence: "SSL_CTX_set1_groups_list(\"P-256\") on the servers; OpenSSL's client offers P-256 after its X25519 key share" },
    ]
};

/// Whether the OpenSSL subject supports `knob`.
pub fn supports(knob: super::Knob) -> bool {
    CAPABILITIES
        .iter()
        .find(|c| c.knob == knob)
        .is_some_and(|c| c.supported)
}
