//! rustls 0.23 (ring provider) as a deterministic subject: the building blocks.
//!
//! Deterministic means: the same seed and the same calls at the same virtual times give
//! byte-identical TLS records in both directions. rustls takes every random byte it uses
//! from its provider's [`SecureRandom`] (client and server `random`, the legacy session id,
//! the ClientHello extension-order seed, each ticket's nonce, `age_add` and stateful id)
//! and every timestamp from its [`TimeProvider`] (certificate validity, ticket age and
//! freshness). Three things in a stock rustls do not go through those two and are replaced
//! here:
//!
//! * the ring provider's key exchange draws its ephemeral key from ring's `SystemRandom`
//!   (rustls `crypto/ring/kx.rs`, `KxGroup::start`): replaced by [`SEEDED_X25519`], X25519
//!   over `x25519-dalek` with the private key from the seeded stream, as the core does;
//! * rustls's stateless `Ticketer` reads `UnixTime::now()` and `SystemRandom`
//!   (`crypto/ring/ticketer.rs`, `ticketer.rs`): replaced by [`SeededTicketer`];
//! * signing: the server signs with the core's [`CertifiedKey`] (Ed25519, deterministic by
//!   RFC 8032; ECDSA there uses RFC 6979 nonces), never with ring's randomized ECDSA.
//!
//! rustls wants `secure_random` and each key-exchange group as `&'static dyn` (fields of
//! [`CryptoProvider`]), so a per-run stream cannot live inside the provider. The provider's
//! two statics draw from the [`SeededStream`] installed on the calling thread by
//! [`SeededStream::enter`]; with none installed they fail (`GetRandomFailed`), so a
//! forgotten `enter` is an error, never a silent fall-back to OS randomness. Wrap every
//! rustls call of an endpoint (`ClientConnection::new`, `process_new_packets`, writes) in
//! that endpoint's `enter`. What each side draws (pinned by a test): a client 98 bytes per
//! ClientHello (`ClientConnection::new`: legacy session id 32, extension-order seed 2,
//! random 32, X25519 key 32); a server 64 bytes for its ServerHello (random, X25519 key)
//! and, once the client's Finished is processed, 68 per stateful ticket (nonce 32,
//! `age_add` 4, id 32) or 48 per stateless one (nonce 32, `age_add` 4, AEAD nonce 12).

use crate::net::rng::{MasterSeed, SimRng};
use ring::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, NONCE_LEN};
use rustls::client::{
    ClientSessionStore, Resumption, Tls12ClientSessionValue, Tls13ClientSessionValue,
};
use rustls::crypto::{
    ring as ring_provider, ActiveKeyExchange, CryptoProvider, GetRandomFailed, SecureRandom,
    SharedSecret, SupportedKxGroup,
};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::{ProducesTickets, ServerSessionMemoryCache, StoresServerSessions};
use rustls::sign::{Signer, SingleCertAndKey};
use rustls::time_provider::TimeProvider;
use rustls::{
    ClientConfig, ClientConnection, NamedGroup, PeerMisbehaved, RootCertStore, ServerConfig,
    SignatureAlgorithm, SignatureScheme, SupportedCipherSuite,
};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use x25519_dalek::{PublicKey, StaticSecret};
use zerortt_core::identity::{test_identity, CertifiedKey};
use zerortt_core::msgs::enums::{CipherSuite, SignatureScheme as CoreScheme};
use zerortt_core::time::Timestamp;

/// The name the client connects to; both shipped test certificates are valid for it.
pub const SERVER_NAME: &str = "localhost";

/// The three TLS 1.3 suites, in the core's names, in rustls's default preference order.
pub const ALL_SUITES: [CipherSuite; 3] = [
    CipherSuite::TLS13_AES_256_GCM_SHA384,
    CipherSuite::TLS13_AES_128_GCM_SHA256,
    CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
];

/// Locks a mutex whose data stays consistent even if a holder panicked (every critical
/// section here is a single draw or a queue operation).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------
// Randomness

/// One endpoint's seeded random stream, shared between rustls's `SecureRandom` and the
/// X25519 group (and the ticket nonces of [`SeededTicketer`]) while the endpoint runs.
/// Cloning shares the stream.
#[derive(Clone)]
pub struct SeededStream {
    inner: Arc<Mutex<StreamState>>,
}

struct StreamState {
    rng: SimRng,
    bytes_drawn: u64,
}

thread_local! {
    /// The stream rustls draws from on this thread (see the module docs for why).
    static CURRENT: RefCell<Option<SeededStream>> = const { RefCell::new(None) };
}

/// Puts the previous stream back when [`SeededStream::enter`] returns or unwinds.
struct Restore(Option<SeededStream>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        CURRENT.with(|current| *current.borrow_mut() = previous);
    }
}

impl SeededStream {
    /// Wraps a simulator stream.
    pub fn new(rng: SimRng) -> Self {
        Self {
            inner: Arc::new(Mutex::new(StreamState {
                rng,
                bytes_drawn: 0,
            })),
        }
    }

    /// The stream named `label` of `seed` (for example `rustls/client/0`).
    pub fn from_seed(seed: MasterSeed, label: &str) -> Self {
        Self::new(seed.stream(label))
    }

    /// Runs `f` with this stream installed for rustls on the current thread; the previous
    /// one (if any) is restored afterwards, also if `f` panics.
    pub fn enter<R>(&self, f: impl FnOnce() -> R) -> R {
        let previous = CURRENT.with(|current| current.borrow_mut().replace(self.clone()));
        let _restore = Restore(previous);
        f()
    }

    /// Fills `dest` from the stream.
    pub fn fill(&self, dest: &mut [u8]) {
        let mut state = lock(&self.inner);
        state.rng.fill_bytes(dest);
        state.bytes_drawn = state.bytes_drawn.saturating_add(dest.len() as u64);
    }

    /// How many bytes have been drawn so far (a cheap fingerprint of how far the endpoint
    /// got, and proof that rustls used this stream at all).
    pub fn bytes_drawn(&self) -> u64 {
        lock(&self.inner).bytes_drawn
    }

    /// Fills `dest` from the stream installed on this thread; `false` if there is none.
    fn fill_current(dest: &mut [u8]) -> bool {
        CURRENT.with(|current| match current.borrow().as_ref() {
            Some(stream) => {
                stream.fill(dest);
                true
            }
            None => false,
        })
    }
}

impl fmt::Debug for SeededStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeededStream")
            .field("bytes_drawn", &self.bytes_drawn())
            .finish_non_exhaustive()
    }
}

/// rustls's `SecureRandom`: the stream installed by [`SeededStream::enter`].
#[derive(Debug)]
struct SeededRandom;

impl SecureRandom for SeededRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        if SeededStream::fill_current(buf) {
            Ok(())
        } else {
            Err(GetRandomFailed)
        }
    }
}

static SEEDED_RANDOM: SeededRandom = SeededRandom;

// ---------------------------------------------------------------------------------------
// Key exchange

/// X25519 (RFC 7748) whose private keys come from the installed [`SeededStream`], computed
/// with `x25519-dalek` as core/src/crypto/kx.rs does.
#[derive(Debug)]
struct SeededX25519;

/// The only key-exchange group of [`provider`]: X25519 from the seeded stream.
pub static SEEDED_X25519: &dyn SupportedKxGroup = &SeededX25519;

impl SupportedKxGroup for SeededX25519 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, rustls::Error> {
        let mut private = [0u8; 32];
        if !SeededStream::fill_current(&mut private) {
            return Err(rustls::Error::FailedToGetRandomBytes);
        }
        Ok(Box::new(X25519Exchange::from_private(private)))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

/// One ephemeral X25519 key pair.
struct X25519Exchange {
    private: StaticSecret,
    public: [u8; 32],
}

impl X25519Exchange {
    /// The key pair of `private` (clamped by `x25519-dalek`, RFC 7748 section 5).
    fn from_private(private: [u8; 32]) -> Self {
        let private = StaticSecret::from(private);
        let public = PublicKey::from(&private).to_bytes();
        Self { private, public }
    }
}

impl ActiveKeyExchange for X25519Exchange {
    /// Refuses a key that is not 32 bytes and an all-zero shared secret (a low-order
    /// point): "implementations MUST check whether the computed Diffie-Hellman shared
    /// secret is the all-zero value and abort if so" (RFC 9846 section 7.4.2).
    fn complete(self: Box<Self>, peer_pub_key: &[u8]) -> Result<SharedSecret, rustls::Error> {
        let peer: [u8; 32] = peer_pub_key
            .try_into()
            .map_err(|_| PeerMisbehaved::InvalidKeyShare)?;
        let shared = self.private.diffie_hellman(&PublicKey::from(peer));
        // was_contributory() is the constant-time all-zero check.
        if !shared.was_contributory() {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        Ok(SharedSecret::from(&shared.as_bytes()[..]))
    }

    fn pub_key(&self) -> &[u8] {
        &self.public
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

// ---------------------------------------------------------------------------------------
// Provider

/// Why a configuration could not be built.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// A suite that is not one of the three TLS 1.3 suites.
    UnknownSuite(CipherSuite),
    /// The identity's key type has no rustls signature scheme here.
    UnsupportedKey(CoreScheme),
    /// A certificate (the trust anchor) was refused.
    Certificate(String),
    /// rustls refused the configuration.
    Rustls(rustls::Error),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownSuite(s) => write!(f, "not a TLS 1.3 cipher suite: {s:?}"),
            Self::UnsupportedKey(s) => write!(f, "no rustls signer for key scheme {s:?}"),
            Self::Certificate(e) => write!(f, "certificate refused: {e}"),
            Self::Rustls(e) => write!(f, "rustls: {e}"),
        }
    }
}

impl std::error::Error for ConfigError {}

impl From<rustls::Error> for ConfigError {
    fn from(e: rustls::Error) -> Self {
        Self::Rustls(e)
    }
}

/// The rustls (ring) suite of a core suite name, if it is a TLS 1.3 suite.
pub fn rustls_suite(suite: CipherSuite) -> Option<SupportedCipherSuite> {
    use ring_provider::cipher_suite as cs;
    match suite {
        CipherSuite::TLS13_AES_128_GCM_SHA256 => Some(cs::TLS13_AES_128_GCM_SHA256),
        CipherSuite::TLS13_AES_256_GCM_SHA384 => Some(cs::TLS13_AES_256_GCM_SHA384),
        CipherSuite::TLS13_CHACHA20_POLY1305_SHA256 => Some(cs::TLS13_CHACHA20_POLY1305_SHA256),
        _ => None,
    }
}

/// rustls's ring provider made deterministic: `secure_random` is the installed
/// [`SeededStream`], the only key-exchange group is [`SEEDED_X25519`] (as the core offers
/// only X25519), and the suites are `suites` in that order of preference ([`ALL_SUITES`] if
/// empty). Hashes, HKDF, AEADs and signature verification are ring's, which are
/// deterministic.
pub fn provider(suites: &[CipherSuite]) -> Result<Arc<CryptoProvider>, ConfigError> {
    let wanted = if suites.is_empty() {
        &ALL_SUITES[..]
    } else {
        suites
    };
    let cipher_suites = wanted
        .iter()
        .map(|s| rustls_suite(*s).ok_or(ConfigError::UnknownSuite(*s)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Arc::new(CryptoProvider {
        cipher_suites,
        kx_groups: vec![SEEDED_X25519],
        secure_random: &SEEDED_RANDOM,
        ..ring_provider::default_provider()
    }))
}

// ---------------------------------------------------------------------------------------
// Time

/// Virtual time for rustls: a shared clock the simulator sets before each call. rustls
/// reads it for certificate validity, the ticket's issue time and age on the client, and
/// ticket freshness on the server (`ServerSessionValue::set_freshness`, which compares
/// whole seconds with a 60 s tolerance). rustls's `UnixTime` holds whole seconds, so only
/// the seconds of the virtual time reach rustls. Cloning shares the clock.
#[derive(Clone, Debug)]
pub struct VirtualClock {
    nanos_since_epoch: Arc<AtomicU64>,
}

impl VirtualClock {
    /// A clock showing `now`.
    pub fn new(now: Timestamp) -> Self {
        Self {
            nanos_since_epoch: Arc::new(AtomicU64::new(now.as_nanos())),
        }
    }

    /// Sets the time every rustls config built on this clock sees.
    pub fn set(&self, now: Timestamp) {
        self.nanos_since_epoch
            .store(now.as_nanos(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `by` (saturating).
    pub fn advance(&self, by: Duration) {
        self.set(self.now().saturating_add(by));
    }

    /// The time the clock shows.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_nanos(self.nanos_since_epoch.load(Ordering::SeqCst))
    }
}

impl Default for VirtualClock {
    /// A clock at [`Timestamp::SIM_EPOCH`], where the simulator's runs start.
    fn default() -> Self {
        Self::new(Timestamp::SIM_EPOCH)
    }
}

impl TimeProvider for VirtualClock {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(Duration::from_nanos(
            self.now().as_nanos(),
        )))
    }
}

// ---------------------------------------------------------------------------------------
// Tickets

/// Lifetime of a [`SeededTicketer`]'s tickets: 7 days, the most RFC 9846 section 4.6.1
/// allows ("Servers MUST NOT use any value greater than 604800 seconds (7 days)").
pub const MAX_TICKET_LIFETIME_SECS: u32 = 604_800;

/// Stateless tickets (rustls's [`ProducesTickets`]) under a ChaCha20-Poly1305 key taken
/// from the seed, so that servers of a cluster that share ticket keys can each build one
/// from the same seed and label (or share one `Arc`) and open each other's tickets. A
/// ticket is `nonce (12) || ciphertext || tag (16)`; the nonce comes from the issuing
/// server's installed [`SeededStream`], so two servers with distinct streams never reuse
/// a nonce under the shared key.
///
/// Stateless tickets in rustls are not single use: `decrypt` is all the server does with
/// one (server/tls13.rs `attempt_tls13_ticket_decryption`: `ticketer.decrypt(ticket)`,
/// nothing is recorded), so the same ticket resumes any number of times, on any server
/// holding the key. And rustls refuses early data with them: the server decides
/// `early_data_configured = config.max_early_data_size > 0 && !config.ticketer.enabled()`
/// (`decide_if_early_data_allowed`) and leaves `max_early_data_size` out of the tickets
/// ("We implement RFC8446 section 8.1: by enforcing that 0-RTT is only possible if using
/// stateful resumption", `ExpectFinished::emit_ticket`).
pub struct SeededTicketer {
    /// `None` only if ring refused a 32-byte ChaCha20-Poly1305 key, which it does not; the
    /// ticketer then issues and opens nothing rather than panic.
    key: Option<LessSafeKey>,
    lifetime_secs: u32,
}

/// ChaCha20-Poly1305 tag length.
const TAG_LEN: usize = 16;

impl SeededTicketer {
    /// A ticketer under `key`, tickets living [`MAX_TICKET_LIFETIME_SECS`].
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            key: UnboundKey::new(&aead::CHACHA20_POLY1305, &key)
                .ok()
                .map(LessSafeKey::new),
            lifetime_secs: MAX_TICKET_LIFETIME_SECS,
        }
    }

    /// The ticketer whose key is the first 32 bytes of `seed`'s stream `label` (for
    /// example `ticket-keys/cluster`): the same seed and label give the same key.
    pub fn from_seed(seed: MasterSeed, label: &str) -> Self {
        let mut key = [0u8; 32];
        seed.stream(label).fill_bytes(&mut key);
        Self::new(key)
    }

    /// The same ticketer with tickets advertised to live `secs` (capped at 7 days).
    pub fn with_lifetime(mut self, secs: u32) -> Self {
        self.lifetime_secs = secs.min(MAX_TICKET_LIFETIME_SECS);
        self
    }
}

impl fmt::Debug for SeededTicketer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeededTicketer")
            .field("lifetime_secs", &self.lifetime_secs)
            .finish_non_exhaustive()
    }
}

impl ProducesTickets for SeededTicketer {
    fn enabled(&self) -> bool {
        true
    }

    fn lifetime(&self) -> u32 {
        self.lifetime_secs
    }

    /// `None` (rustls then sends no ticket) if no stream is installed.
    fn encrypt(&self, plain: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        if !SeededStream::fill_current(&mut nonce) {
            return None;
        }
        let key = self.key.as_ref()?;
        let mut sealed = plain.to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::empty(),
            &mut sealed,
        )
        .ok()?;
        let mut ticket = Vec::with_capacity(NONCE_LEN + sealed.len());
        ticket.extend_from_slice(&nonce);
        ticket.extend_from_slice(&sealed);
        Some(ticket)
    }

    /// `None` for anything that is not a ticket sealed under this key (too short, altered,
    /// another key).
    fn decrypt(&self, cipher: &[u8]) -> Option<Vec<u8>> {
        if cipher.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, sealed) = cipher.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = sealed.to_vec();
        let plain_len = self
            .key
            .as_ref()?
            .open_in_place(nonce, Aad::empty(), &mut buf)
            .ok()?
            .len();
        buf.truncate(plain_len);
        Some(buf)
    }
}

/// How a server issues tickets.
#[derive(Clone, Debug)]
pub enum TicketMode {
    /// Stateful tickets: the ticket is a random 32-byte id of a session kept in the store;
    /// single use, because rustls *takes* the session out of the store when a ClientHello
    /// offers its id (server/tls13.rs `attempt_tls13_ticket_decryption` calls
    /// `StoresServerSessions::take`, which for [`ServerSessionMemoryCache`] is a `remove`),
    /// before it checks the binder and whether or not the handshake then completes. Servers
    /// sharing one store share that single use. The only mode in which rustls accepts
    /// early data.
    Stateful(Arc<dyn StoresServerSessions>),
    /// Stateless tickets sealed by a (possibly shared) [`SeededTicketer`]: not single use,
    /// and never with early data (see [`SeededTicketer`]).
    Stateless(Arc<SeededTicketer>),
}

/// How many sessions [`TicketMode::stateful`] keeps.
pub const SESSION_CACHE_SIZE: usize = 256;

impl TicketMode {
    /// Stateful tickets in a fresh [`ServerSessionMemoryCache`] of
    /// [`SESSION_CACHE_SIZE`] sessions.
    pub fn stateful() -> Self {
        Self::Stateful(ServerSessionMemoryCache::new(SESSION_CACHE_SIZE))
    }

    /// Stateless tickets sealed by `ticketer`.
    pub fn stateless(ticketer: Arc<SeededTicketer>) -> Self {
        Self::Stateless(ticketer)
    }
}

// ---------------------------------------------------------------------------------------
// Identity

/// The core's signing key as a rustls signer, so the server signs exactly as a zerortt
/// server with the same identity does (deterministically).
#[derive(Clone, Debug)]
struct CoreKey {
    key: zerortt_core::crypto::sign::SigningKey,
    scheme: SignatureScheme,
    algorithm: SignatureAlgorithm,
}

impl CoreKey {
    fn new(key: zerortt_core::crypto::sign::SigningKey) -> Result<Self, ConfigError> {
        let (scheme, algorithm) = match key.scheme() {
            CoreScheme::Ed25519 => (SignatureScheme::ED25519, SignatureAlgorithm::ED25519),
            CoreScheme::EcdsaSecp256r1Sha256 => (
                SignatureScheme::ECDSA_NISTP256_SHA256,
                SignatureAlgorithm::ECDSA,
            ),
            other => return Err(ConfigError::UnsupportedKey(other)),
        };
        Ok(Self {
            key,
            scheme,
            algorithm,
        })
    }
}

impl rustls::sign::SigningKey for CoreKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&self.scheme)
            .then(|| Box::new(self.clone()) as Box<dyn Signer>)
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }
}

impl Signer for CoreKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        Ok(self.key.sign(message))
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}

// ---------------------------------------------------------------------------------------
// Client session store

/// Most tickets kept per server name, as rustls's own `ClientSessionMemoryCache`.
pub const TICKETS_PER_SERVER: usize = 8;

/// A client session store the simulator can inspect and seed: it counts the tickets it
/// received and handed out, and sessions can be moved from one store to another (rustls's
/// `Tls13ClientSessionValue` is not `Clone`, so a session can be used by one connection
/// only; replaying a ticket means replaying the ClientHello bytes, as an attacker does).
/// Like rustls's `ClientSessionMemoryCache` it hands out the newest ticket first and keeps
/// at most [`TICKETS_PER_SERVER`] per server name.
#[derive(Debug, Default)]
pub struct SessionStore {
    inner: Mutex<StoreState>,
}

#[derive(Debug, Default)]
struct StoreState {
    /// Per server name, oldest first.
    tickets: Vec<(ServerName<'static>, VecDeque<Tls13ClientSessionValue>)>,
    kx_hints: Vec<(ServerName<'static>, NamedGroup)>,
    received: u64,
    taken: u64,
}

impl StoreState {
    fn queue(&mut self, name: &ServerName<'_>) -> Option<&mut VecDeque<Tls13ClientSessionValue>> {
        self.tickets
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, q)| q)
    }

    fn push(&mut self, name: ServerName<'static>, ticket: Tls13ClientSessionValue) {
        if self.queue(&name).is_none() {
            self.tickets.push((name.clone(), VecDeque::new()));
        }
        if let Some(queue) = self.queue(&name) {
            if queue.len() >= TICKETS_PER_SERVER {
                queue.pop_front();
            }
            queue.push_back(ticket);
        }
    }
}

impl SessionStore {
    /// An empty store.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Tickets (NewSessionTicket) rustls stored here so far.
    pub fn tickets_received(&self) -> u64 {
        lock(&self.inner).received
    }

    /// Tickets rustls took out to offer in a ClientHello so far.
    pub fn tickets_taken(&self) -> u64 {
        lock(&self.inner).taken
    }

    /// Tickets held now for `name`.
    pub fn tickets_held(&self, name: &str) -> usize {
        let Ok(name) = ServerName::try_from(name) else {
            return 0;
        };
        lock(&self.inner).queue(&name).map_or(0, |q| q.len())
    }

    /// The early data allowance (`max_early_data_size`, 0 if none) of each ticket held for
    /// `name`, newest first (the order they will be used in).
    pub fn early_data_allowances(&self, name: &str) -> Vec<u32> {
        let Ok(name) = ServerName::try_from(name) else {
            return Vec::new();
        };
        lock(&self.inner).queue(&name).map_or(Vec::new(), |q| {
            q.iter().rev().map(|t| t.max_early_data_size()).collect()
        })
    }

    /// Takes the newest ticket for `name` out of this store (to move it to another; see
    /// [`with_sessions`] for which configs can then resume with it).
    pub fn take_newest(&self, name: &str) -> Option<Tls13ClientSessionValue> {
        let name = ServerName::try_from(name).ok()?;
        lock(&self.inner).queue(&name)?.pop_back()
    }

    /// Puts a ticket for `name` into this store as its newest; it is not counted as
    /// received. `false` if `name` is not a valid server name.
    pub fn seed(&self, name: &str, ticket: Tls13ClientSessionValue) -> bool {
        let Ok(name) = ServerName::try_from(name.to_owned()) else {
            return false;
        };
        lock(&self.inner).push(name, ticket);
        true
    }
}

impl ClientSessionStore for SessionStore {
    fn set_kx_hint(&self, server_name: ServerName<'static>, group: NamedGroup) {
        let mut state = lock(&self.inner);
        state.kx_hints.retain(|(n, _)| *n != server_name);
        state.kx_hints.push((server_name, group));
    }

    fn kx_hint(&self, server_name: &ServerName<'_>) -> Option<NamedGroup> {
        lock(&self.inner)
            .kx_hints
            .iter()
            .find(|(n, _)| n == server_name)
            .map(|(_, g)| *g)
    }

    /// TLS 1.2 is not built (rustls without its `tls12` feature): nothing to keep.
    fn set_tls12_session(&self, _: ServerName<'static>, _: Tls12ClientSessionValue) {}

    fn tls12_session(&self, _: &ServerName<'_>) -> Option<Tls12ClientSessionValue> {
        None
    }

    fn remove_tls12_session(&self, _: &ServerName<'static>) {}

    fn insert_tls13_ticket(
        &self,
        server_name: ServerName<'static>,
        value: Tls13ClientSessionValue,
    ) {
        let mut state = lock(&self.inner);
        state.received = state.received.saturating_add(1);
        state.push(server_name, value);
    }

    /// Each ticket at most once, as the trait requires.
    fn take_tls13_ticket(
        &self,
        server_name: &ServerName<'static>,
    ) -> Option<Tls13ClientSessionValue> {
        let mut state = lock(&self.inner);
        let ticket = state.queue(server_name)?.pop_back()?;
        state.taken = state.taken.saturating_add(1);
        Some(ticket)
    }
}

// ---------------------------------------------------------------------------------------
// Configurations

/// The knobs of a rustls server.
#[derive(Clone, Debug)]
pub struct ServerKnobs {
    /// `ServerConfig::max_early_data_size`: advertised in tickets *and* enforced on
    /// receipt (rustls has no separate receive limit); 0 disables early data.
    pub max_early_data: u32,
    /// Suites in preference order ([`ALL_SUITES`] if empty).
    pub suites: Vec<CipherSuite>,
    /// ALPN protocols, most preferred first; empty: no ALPN.
    pub alpn: Vec<Vec<u8>>,
    /// Stateful or stateless tickets. Cloned knobs share the store or ticketer, as the
    /// servers of a cluster sharing a session cache or ticket keys do.
    pub tickets: TicketMode,
    /// Tickets sent after each handshake (`send_tls13_tickets`; rustls's default is 2).
    pub num_tickets: usize,
    /// Send 0.5-RTT data (`send_half_rtt_data`).
    pub send_half_rtt_data: bool,
    /// Certificate chain and signing key.
    pub identity: CertifiedKey,
    /// The virtual clock.
    pub clock: VirtualClock,
}

impl Default for ServerKnobs {
    /// Early data up to 16384 bytes, all suites, no ALPN, stateful tickets in a fresh
    /// store, 2 tickets, no 0.5-RTT data, the core's Ed25519 test identity, a clock at
    /// [`Timestamp::SIM_EPOCH`].
    fn default() -> Self {
        Self {
            max_early_data: 16_384,
            suites: Vec::new(),
            alpn: Vec::new(),
            tickets: TicketMode::stateful(),
            num_tickets: 2,
            send_half_rtt_data: false,
            identity: test_identity::ed25519(),
            clock: VirtualClock::default(),
        }
    }
}

/// The knobs of a rustls client.
#[derive(Clone, Debug)]
pub struct ClientKnobs {
    /// Suites in preference order ([`ALL_SUITES`] if empty).
    pub suites: Vec<CipherSuite>,
    /// ALPN protocols to offer; empty: no ALPN.
    pub alpn: Vec<Vec<u8>>,
    /// `enable_early_data`: offer early data when a ticket allows it.
    pub enable_early_data: bool,
    /// Trust anchors (DER certificates).
    pub trust_anchors: Vec<Vec<u8>>,
    /// Where tickets are kept and taken from.
    pub sessions: Arc<SessionStore>,
    /// The virtual clock.
    pub clock: VirtualClock,
}

impl Default for ClientKnobs {
    /// All suites, no ALPN, early data enabled, trusting the core's test CA, a fresh
    /// [`SessionStore`], a clock at [`Timestamp::SIM_EPOCH`].
    fn default() -> Self {
        Self {
            suites: Vec::new(),
            alpn: Vec::new(),
            enable_early_data: true,
            trust_anchors: vec![test_identity::ca_cert_der().to_vec()],
            sessions: SessionStore::new(),
            clock: VirtualClock::default(),
        }
    }
}

/// A TLS 1.3-only rustls server config on the deterministic [`provider`] and the knobs'
/// clock.
pub fn server_config(knobs: &ServerKnobs) -> Result<Arc<ServerConfig>, ConfigError> {
    let chain = knobs
        .identity
        .cert_chain
        .iter()
        .map(|der| CertificateDer::from(der.clone()))
        .collect();
    let key = Arc::new(CoreKey::new(knobs.identity.key.clone())?);
    let certified = rustls::sign::CertifiedKey::new(chain, key);
    let mut config =
        ServerConfig::builder_with_details(provider(&knobs.suites)?, Arc::new(knobs.clock.clone()))
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
    config.max_early_data_size = knobs.max_early_data;
    config.alpn_protocols = knobs.alpn.clone();
    config.send_tls13_tickets = knobs.num_tickets;
    config.send_half_rtt_data = knobs.send_half_rtt_data;
    match &knobs.tickets {
        TicketMode::Stateful(store) => config.session_storage = store.clone(),
        TicketMode::Stateless(ticketer) => config.ticketer = ticketer.clone(),
    }
    Ok(Arc::new(config))
}

/// A TLS 1.3-only rustls client config on the deterministic [`provider`] and the knobs'
/// clock, resuming from (and storing tickets in) the knobs' [`SessionStore`].
pub fn client_config(knobs: &ClientKnobs) -> Result<Arc<ClientConfig>, ConfigError> {
    let mut roots = RootCertStore::empty();
    for der in &knobs.trust_anchors {
        roots
            .add(CertificateDer::from(der.clone()))
            .map_err(|e| ConfigError::Certificate(e.to_string()))?;
    }
    let mut config =
        ClientConfig::builder_with_details(provider(&knobs.suites)?, Arc::new(knobs.clock.clone()))
            .with_protocol_versions(&[&rustls::version::TLS13])?
            .with_root_certificates(roots)
            .with_no_client_auth();
    config.alpn_protocols = knobs.alpn.clone();
    config.enable_early_data = knobs.enable_early_data;
    config.resumption = Resumption::store(knobs.sessions.clone());
    Ok(Arc::new(config))
}

/// `config` with its tickets kept in (and taken from) `sessions` instead. A session
/// resumes only on a config with the same certificate verifier and client-certificate
/// resolver (rustls compares the `Arc` pointers: `ClientSessionCommon::compatible_config`
/// in msgs/persist.rs), so clients that pass sessions between their stores must be
/// derived from one config by this function, not built separately.
pub fn with_sessions(config: &Arc<ClientConfig>, sessions: Arc<SessionStore>) -> Arc<ClientConfig> {
    let mut config = ClientConfig::clone(config);
    config.resumption = Resumption::store(sessions);
    Arc::new(config)
}

/// A client connection to [`SERVER_NAME`] on `config`, created inside `stream` (creating
/// it draws the ClientHello's random values and key share). It resumes with the newest
/// ticket of the config's [`SessionStore`], if any, and then offers early data if that
/// ticket allows it: write it with `ClientConnection::early_data()`.
pub fn client_connection(
    config: &Arc<ClientConfig>,
    stream: &SeededStream,
) -> Result<ClientConnection, ConfigError> {
    let name = ServerName::try_from(SERVER_NAME)
        .map_err(|e| ConfigError::Certificate(format!("server name {SERVER_NAME}: {e}")))?;
    stream
        .enter(|| ClientConnection::new(config.clone(), name))
        .map_err(ConfigError::Rustls)
}

// ---------------------------------------------------------------------------------------
// Capabilities

/// A configuration knob of the subject API (the core's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Knob {
    /// `max_early_data`: the early data limit advertised in tickets.
    MaxEarlyData,
    /// `recv_max_early_data`: a separate limit enforced on receipt.
    RecvMaxEarlyData,
    /// `no_anti_replay`: turning the server's replay protection off.
    NoAntiReplay,
    /// An allow-early-data callback deciding per connection.
    AllowEarlyDataCallback,
    /// Forcing a HelloRetryRequest.
    ForcedHelloRetryRequest,
    /// ALPN.
    Alpn,
    /// Restricting the cipher suites.
    Suites,
    /// Stateful (single-use) tickets.
    StatefulTickets,
    /// Stateless tickets under (shareable) ticket keys.
    StatelessTickets,
    /// Early data on a session resumed from a stateless ticket.
    StatelessTicketEarlyData,
    /// The number of tickets sent after a handshake.
    NumTickets,
    /// 0.5-RTT data.
    HalfRttData,
    /// The ticket lifetime the server advertises.
    TicketLifetime,
    /// The tolerance between the client's and the server's ticket age (RFC 9846 8.3).
    TicketAgeTolerance,
    /// A ClientHello strike register (RFC 9846 8.2).
    StrikeRegister,
    /// External (out-of-band) PSKs.
    ExternalPsk,
}

impl Knob {
    /// The knob's name as scenarios and messages spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::MaxEarlyData => "max_early_data",
            Self::RecvMaxEarlyData => "recv_max_early_data",
            Self::NoAntiReplay => "no_anti_replay",
            Self::AllowEarlyDataCallback => "allow_early_data_cb",
            Self::ForcedHelloRetryRequest => "forced_hrr",
            Self::Alpn => "alpn",
            Self::Suites => "suites",
            Self::StatefulTickets => "stateful_tickets",
            Self::StatelessTickets => "stateless_tickets",
            Self::StatelessTicketEarlyData => "stateless_ticket_early_data",
            Self::NumTickets => "num_tickets",
            Self::HalfRttData => "half_rtt_data",
            Self::TicketLifetime => "ticket_lifetime",
            Self::TicketAgeTolerance => "ticket_age_tolerance",
            Self::StrikeRegister => "strike_register",
            Self::ExternalPsk => "external_psk",
        }
    }
}

/// Whether rustls has a knob, and the evidence (rustls 0.23 source or docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capability {
    /// The knob.
    pub knob: Knob,
    /// True if rustls supports it.
    pub supported: bool,
    /// Where rustls says so.
    pub evidence: &'static str,
}

/// What rustls 0.23 can be configured to do, knob by knob.
pub const CAPABILITIES: [Capability; 16] = [
    Capability {
        knob: Knob::MaxEarlyData,
        supported: true,
        evidence: "ServerConfig::max_early_data_size; server/tls13.rs emit_ticket puts it in \
                   each stateful ticket's early_data extension",
    },
    Capability {
        knob: Knob::RecvMaxEarlyData,
        supported: false,
        evidence: "no such field: the same max_early_data_size is enforced on receipt \
                   (server/tls13.rs: early_data.accept(config.max_early_data_size); \
                   take_received_plaintext refuses more than `left`)",
    },
    Capability {
        knob: Knob::NoAntiReplay,
        supported: false,
        evidence: "no toggle: early data needs stateful tickets \
                   (decide_if_early_data_allowed: max_early_data_size > 0 && \
                   !ticketer.enabled()) and those are taken from session_storage on use \
                   (attempt_tls13_ticket_decryption -> StoresServerSessions::take)",
    },
    Capability {
        knob: Knob::AllowEarlyDataCallback,
        supported: false,
        evidence: "no callback: decide_if_early_data_allowed is a private fn of fixed \
                   criteria (first PSK, fresh, same version/suite/ALPN)",
    },
    Capability {
        knob: Knob::ForcedHelloRetryRequest,
        supported: false,
        evidence: "emit_hello_retry_request is called only when the ClientHello has no \
                   key_share for the selected group (server/tls13.rs handle_client_hello)",
    },
    Capability {
        knob: Knob::Alpn,
        supported: true,
        evidence: "ServerConfig::alpn_protocols, ClientConfig::alpn_protocols",
    },
    Capability {
        knob: Knob::Suites,
        supported: true,
        evidence: "CryptoProvider::cipher_suites",
    },
    Capability {
        knob: Knob::StatefulTickets,
        supported: true,
        evidence: "ServerConfig::session_storage (ServerSessionMemoryCache), used when \
                   the ticketer is disabled",
    },
    Capability {
        knob: Knob::StatelessTickets,
        supported: true,
        evidence: "ServerConfig::ticketer (ProducesTickets); decrypt only, so not single \
                   use (attempt_tls13_ticket_decryption)",
    },
    Capability {
        knob: Knob::StatelessTicketEarlyData,
        supported: false,
        evidence: "server/tls13.rs emit_ticket: \"We implement RFC8446 section 8.1: by \
                   enforcing that 0-RTT is only possible if using stateful resumption\"",
    },
    Capability {
        knob: Knob::NumTickets,
        supported: true,
        evidence: "ServerConfig::send_tls13_tickets (default 2)",
    },
    Capability {
        knob: Knob::HalfRttData,
        supported: true,
        evidence: "ServerConfig::send_half_rtt_data",
    },
    Capability {
        knob: Knob::TicketLifetime,
        supported: false,
        evidence: "stateful tickets always say 24 h (server/tls13.rs emit_ticket: \
                   stateful_lifetime = 24 * 60 * 60); only stateless ones take \
                   ProducesTickets::lifetime (SeededTicketer::with_lifetime)",
    },
    Capability {
        knob: Knob::TicketAgeTolerance,
        supported: false,
        evidence: "fixed: msgs/persist.rs MAX_FRESHNESS_SKEW_MS = 60 s, compared on whole \
                   seconds (ServerSessionValue::set_freshness)",
    },
    Capability {
        knob: Knob::StrikeRegister,
        supported: false,
        evidence: "none: replay protection is only the single use of stateful tickets",
    },
    Capability {
        knob: Knob::ExternalPsk,
        supported: false,
        evidence: "no external PSK API in 0.23 (manual/features.rs lists only resumption \
                   via tickets or session storage)",
    },
];

/// The capability entry of `knob`.
pub fn capability(knob: Knob) -> Capability {
    CAPABILITIES
        .iter()
        .copied()
        .find(|c| c.knob == knob)
        .unwrap_or(Capability {
            knob,
            supported: false,
            evidence: "not described",
        })
}

/// True if rustls supports `knob`.
pub fn supports(knob: Knob) -> bool {
    capability(knob).supported
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::{HandshakeKind, ServerConnection};
    use std::io::{ErrorKind, Read, Write};

    /// Most rounds (client flight to server, server flight to client) of one connection.
    const MAX_ROUNDS: usize = 16;

    /// Every byte each side sent, in order.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Wire {
        client_to_server: Vec<u8>,
        server_to_client: Vec<u8>,
    }

    /// One endpoint: its connection and its stream.
    struct Server {
        conn: ServerConnection,
        stream: SeededStream,
        early: Vec<u8>,
        data: Vec<u8>,
    }

    struct Client {
        conn: ClientConnection,
        stream: SeededStream,
        data: Vec<u8>,
    }

    fn take_output(
        conn: &mut impl std::ops::DerefMut<Target = rustls::ConnectionCommon<impl rustls::SideData>>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        for _ in 0..64 {
            if !conn.wants_write() || conn.write_tls(&mut out).is_err() {
                break;
            }
        }
        out
    }

    fn give_input(
        conn: &mut impl std::ops::DerefMut<Target = rustls::ConnectionCommon<impl rustls::SideData>>,
        mut input: &[u8],
    ) -> Result<(), rustls::Error> {
        for _ in 0..64 {
            if input.is_empty() {
                break;
            }
            match conn.read_tls(&mut input) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(rustls::Error::General(e.to_string())),
            }
            conn.process_new_packets()?;
        }
        Ok(())
    }

    fn read_plain(reader: &mut impl Read, out: &mut Vec<u8>) {
        let mut buf = [0u8; 4096];
        for _ in 0..64 {
            match reader.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => panic!("read: {e}"),
            }
        }
    }

    impl Server {
        fn new(config: &Arc<ServerConfig>, stream: &SeededStream) -> Self {
            Self {
                conn: ServerConnection::new(config.clone()).unwrap(),
                stream: stream.clone(),
                early: Vec::new(),
                data: Vec::new(),
            }
        }

        /// Processes `input`, then reads early data (as SSL_read_early_data would) and
        /// application data.
        fn receive(&mut self, input: &[u8]) -> Result<(), rustls::Error> {
            let conn = &mut self.conn;
            self.stream.enter(|| give_input(conn, input))?;
            if let Some(mut early) = self.conn.early_data() {
                early.read_to_end(&mut self.early).unwrap();
            }
            read_plain(&mut self.conn.reader(), &mut self.data);
            Ok(())
        }

        fn send(&mut self) -> Vec<u8> {
            let conn = &mut self.conn;
            self.stream.enter(|| take_output(conn))
        }
    }

    impl Client {
        fn new(config: &Arc<ClientConfig>, stream: &SeededStream) -> Self {
            Self {
                conn: client_connection(config, stream).unwrap(),
                stream: stream.clone(),
                data: Vec::new(),
            }
        }

        fn receive(&mut self, input: &[u8]) -> Result<(), rustls::Error> {
            let conn = &mut self.conn;
            self.stream.enter(|| give_input(conn, input))?;
            read_plain(&mut self.conn.reader(), &mut self.data);
            Ok(())
        }

        fn send(&mut self) -> Vec<u8> {
            let conn = &mut self.conn;
            self.stream.enter(|| take_output(conn))
        }
    }

    /// Runs flights back and forth until both handshakes are complete and nothing is in
    /// flight; returns the client's first flight (ClientHello and any early data).
    fn pump(client: &mut Client, server: &mut Server, wire: &mut Wire) -> Vec<u8> {
        let mut first_flight = None;
        for _ in 0..MAX_ROUNDS {
            let to_server = client.send();
            first_flight.get_or_insert_with(|| to_server.clone());
            wire.client_to_server.extend_from_slice(&to_server);
            server.receive(&to_server).unwrap();
            let to_client = server.send();
            wire.server_to_client.extend_from_slice(&to_client);
            client.receive(&to_client).unwrap();
            if to_server.is_empty()
                && to_client.is_empty()
                && !client.conn.is_handshaking()
                && !server.conn.is_handshaking()
            {
                return first_flight.unwrap_or_default();
            }
        }
        panic!("no quiescence after {MAX_ROUNDS} rounds");
    }

    /// One connection: early data (if the ticket allows it), the handshake, a request and
    /// a reply.
    struct Outcome {
        first_flight: Vec<u8>,
        client_kind: Option<HandshakeKind>,
        server_kind: Option<HandshakeKind>,
        early_written: usize,
        client_early_accepted: bool,
        server_early_accepted: bool,
        server_early: Vec<u8>,
        server_data: Vec<u8>,
        client_data: Vec<u8>,
    }

    const EARLY: &[u8] = b"GET /early HTTP/1.1\r\n\r\n";
    const REQUEST: &[u8] = b"GET /late HTTP/1.1\r\n\r\n";
    const REPLY: &[u8] = b"HTTP/1.1 200 OK\r\n\r\n";

    /// A full handshake that leaves the client its tickets, then a resumption with them;
    /// the resumption's outcome.
    fn resume_after_full(
        client_config: &Arc<ClientConfig>,
        server_config: &Arc<ServerConfig>,
        client_stream: &SeededStream,
        server_stream: &SeededStream,
        wire: &mut Wire,
    ) -> Outcome {
        connect(
            client_config,
            server_config,
            client_stream,
            server_stream,
            wire,
        );
        connect(
            client_config,
            server_config,
            client_stream,
            server_stream,
            wire,
        )
    }

    fn connect(
        client_config: &Arc<ClientConfig>,
        server_config: &Arc<ServerConfig>,
        client_stream: &SeededStream,
        server_stream: &SeededStream,
        wire: &mut Wire,
    ) -> Outcome {
        let mut client = Client::new(client_config, client_stream);
        let mut server = Server::new(server_config, server_stream);
        let early_written = match client.conn.early_data() {
            Some(mut early) => early.write(EARLY).unwrap(),
            None => 0,
        };
        let first_flight = pump(&mut client, &mut server, wire);
        client.conn.writer().write_all(REQUEST).unwrap();
        server.conn.writer().write_all(REPLY).unwrap();
        pump(&mut client, &mut server, wire);
        Outcome {
            first_flight,
            client_kind: client.conn.handshake_kind(),
            server_kind: server.conn.handshake_kind(),
            early_written,
            client_early_accepted: client.conn.is_early_data_accepted(),
            server_early_accepted: server.conn.early_data().is_some(),
            server_early: server.early,
            server_data: server.data,
            client_data: client.data,
        }
    }

    /// A server that only receives `flight` (a replayed first flight); what it made of it.
    fn replay(
        flight: &[u8],
        server_config: &Arc<ServerConfig>,
        stream: &SeededStream,
    ) -> (Option<HandshakeKind>, bool, Vec<u8>) {
        let mut server = Server::new(server_config, stream);
        server.receive(flight).unwrap();
        (
            server.conn.handshake_kind(),
            server.conn.early_data().is_some(),
            server.early,
        )
    }

    /// A full handshake then a resumed one with early data, under `seed`.
    fn full_then_resumed(seed: u64) -> (Wire, Wire, Outcome, Outcome) {
        let seed = MasterSeed::new(seed);
        let clock = VirtualClock::default();
        let server_config = server_config(&ServerKnobs {
            clock: clock.clone(),
            ..ServerKnobs::default()
        })
        .unwrap();
        let client_config = client_config(&ClientKnobs {
            clock: clock.clone(),
            ..ClientKnobs::default()
        })
        .unwrap();
        let client_stream = SeededStream::from_seed(seed, "rustls/client");
        let server_stream = SeededStream::from_seed(seed, "rustls/server");
        let mut full_wire = Wire::default();
        let full = connect(
            &client_config,
            &server_config,
            &client_stream,
            &server_stream,
            &mut full_wire,
        );
        clock.advance(Duration::from_secs(2));
        let mut resumed_wire = Wire::default();
        let resumed = connect(
            &client_config,
            &server_config,
            &client_stream,
            &server_stream,
            &mut resumed_wire,
        );
        (full_wire, resumed_wire, full, resumed)
    }

    #[test]
    fn a_full_handshake_gives_tickets_and_the_resumed_handshake_delivers_early_data() {
        let (_, _, full, resumed) = full_then_resumed(1);
        assert_eq!(full.client_kind, Some(HandshakeKind::Full));
        assert_eq!(full.server_kind, Some(HandshakeKind::Full));
        assert_eq!(full.early_written, 0);
        assert_eq!(full.server_data, REQUEST);
        assert_eq!(full.client_data, REPLY);

        assert_eq!(resumed.client_kind, Some(HandshakeKind::Resumed));
        assert_eq!(resumed.server_kind, Some(HandshakeKind::Resumed));
        assert_eq!(resumed.early_written, EARLY.len());
        assert!(resumed.client_early_accepted);
        assert!(resumed.server_early_accepted);
        assert_eq!(resumed.server_early, EARLY);
        assert_eq!(resumed.server_data, REQUEST);
        assert_eq!(resumed.client_data, REPLY);
    }

    #[test]
    fn the_same_seed_gives_byte_identical_full_and_resumed_handshakes() {
        let (full_a, resumed_a, ..) = full_then_resumed(42);
        let (full_b, resumed_b, ..) = full_then_resumed(42);
        assert!(!full_a.client_to_server.is_empty() && !resumed_a.server_to_client.is_empty());
        assert_eq!(full_a, full_b);
        assert_eq!(resumed_a, resumed_b);
    }

    #[test]
    fn the_bytes_of_a_seeded_run_are_pinned_across_processes_by_a_golden_digest() {
        // Same seed in another process, on another machine: the same bytes. Changes if
        // rustls (Cargo.lock), the stream derivation or the test identity change.
        let (full, resumed, ..) = full_then_resumed(42);
        let mut all = Vec::new();
        for wire in [&full, &resumed] {
            all.extend_from_slice(&wire.client_to_server);
            all.extend_from_slice(&wire.server_to_client);
        }
        let digest = ring::digest::digest(&ring::digest::SHA256, &all);
        let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, GOLDEN_DIGEST);
    }

    /// SHA-256 of the four byte streams of `full_then_resumed(42)`.
    const GOLDEN_DIGEST: &str = "56dcc9b0a9e2beb4659500a4ea74314644c86d861aaddc6b9edde1d6d9b6aa1f";

    #[test]
    fn a_different_seed_gives_different_bytes_in_both_directions() {
        let (full_a, resumed_a, ..) = full_then_resumed(42);
        let (full_b, resumed_b, ..) = full_then_resumed(43);
        assert_ne!(full_a.client_to_server, full_b.client_to_server);
        assert_ne!(full_a.server_to_client, full_b.server_to_client);
        assert_ne!(resumed_a.client_to_server, resumed_b.client_to_server);
        assert_ne!(resumed_a.server_to_client, resumed_b.server_to_client);
    }

    #[test]
    fn rustls_draws_exactly_the_documented_bytes_from_each_stream() {
        let seed = MasterSeed::new(17);
        let server_config = server_config(&ServerKnobs::default()).unwrap();
        let client_config = client_config(&ClientKnobs::default()).unwrap();
        let client_stream = SeededStream::from_seed(seed, "rustls/client");
        let server_stream = SeededStream::from_seed(seed, "rustls/server");
        let mut wire = Wire::default();
        for connection in 1..=2 {
            connect(
                &client_config,
                &server_config,
                &client_stream,
                &server_stream,
                &mut wire,
            );
            // ClientHello: legacy_session_id 32, extension-order seed 2, random 32,
            // X25519 private key 32.
            assert_eq!(client_stream.bytes_drawn(), connection * CLIENT_HELLO_DRAWS);
            // ServerHello: random 32, X25519 private key 32; then per stateful ticket:
            // ticket_nonce 32, ticket_age_add 4, ticket id 32.
            assert_eq!(
                server_stream.bytes_drawn(),
                connection * (64 + 2 * (32 + 4 + 32))
            );
        }
    }

    const CLIENT_HELLO_DRAWS: u64 = 32 + 2 + 32 + 32;

    #[test]
    fn rustls_draws_nothing_when_no_stream_is_installed() {
        let config = client_config(&ClientKnobs::default()).unwrap();
        let name = ServerName::try_from(SERVER_NAME).unwrap();
        let refused = ClientConnection::new(config, name).err();
        assert_eq!(refused, Some(rustls::Error::FailedToGetRandomBytes));
    }

    #[test]
    fn a_stateful_ticket_is_single_use_so_a_replayed_client_hello_gets_a_full_handshake() {
        let seed = MasterSeed::new(7);
        let knobs = ServerKnobs::default();
        let server_config = server_config(&knobs).unwrap();
        let client_config = client_config(&ClientKnobs::default()).unwrap();
        let client_stream = SeededStream::from_seed(seed, "rustls/client");
        let server_stream = SeededStream::from_seed(seed, "rustls/server");
        let mut wire = Wire::default();
        let resumed = resume_after_full(
            &client_config,
            &server_config,
            &client_stream,
            &server_stream,
            &mut wire,
        );
        assert_eq!(resumed.server_kind, Some(HandshakeKind::Resumed));
        assert_eq!(resumed.server_early, EARLY);

        // The attacker's copy of the same ClientHello and early data, to the same server.
        let (kind, accepted, early) = replay(&resumed.first_flight, &server_config, &server_stream);
        assert_eq!(kind, Some(HandshakeKind::Full));
        assert!(!accepted);
        assert!(early.is_empty());
    }

    #[test]
    fn stateless_tickets_resume_on_every_server_sharing_the_key_any_number_of_times_but_never_with_early_data(
    ) {
        let seed = MasterSeed::new(9);
        let ticketer = Arc::new(SeededTicketer::from_seed(seed, "ticket-keys/cluster"));
        let knobs = ServerKnobs {
            tickets: TicketMode::stateless(ticketer),
            ..ServerKnobs::default()
        };
        let server_a = server_config(&knobs).unwrap();
        // A second server instance: its own config and session cache, the same ticketer
        // rebuilt from the seed, as a cluster sharing ticket keys would.
        let server_b = server_config(&ServerKnobs {
            tickets: TicketMode::stateless(Arc::new(SeededTicketer::from_seed(
                seed,
                "ticket-keys/cluster",
            ))),
            ..ServerKnobs::default()
        })
        .unwrap();
        let sessions = SessionStore::new();
        let client_config = client_config(&ClientKnobs {
            sessions: sessions.clone(),
            ..ClientKnobs::default()
        })
        .unwrap();
        let client_stream = SeededStream::from_seed(seed, "rustls/client");
        let stream_a = SeededStream::from_seed(seed, "rustls/server/a");
        let stream_b = SeededStream::from_seed(seed, "rustls/server/b");
        let mut wire = Wire::default();

        let full = connect(
            &client_config,
            &server_a,
            &client_stream,
            &stream_a,
            &mut wire,
        );
        assert_eq!(full.server_kind, Some(HandshakeKind::Full));
        assert_eq!(sessions.tickets_received(), 2);
        // ServerHello 64, then per ticket: ticket_nonce 32, age_add 4, AEAD nonce 12.
        assert_eq!(stream_a.bytes_drawn(), 64 + 2 * (32 + 4 + 12));
        // rustls leaves max_early_data_size out of stateless tickets.
        assert_eq!(sessions.early_data_allowances(SERVER_NAME), vec![0, 0]);

        let resumed = connect(
            &client_config,
            &server_b,
            &client_stream,
            &stream_b,
            &mut wire,
        );
        assert_eq!(resumed.server_kind, Some(HandshakeKind::Resumed));
        assert_eq!(resumed.early_written, 0);
        assert!(!resumed.server_early_accepted);

        // The same ClientHello again, on both servers: resumed each time.
        for (config, stream) in [
            (&server_b, &stream_b),
            (&server_a, &stream_a),
            (&server_b, &stream_b),
        ] {
            let (kind, accepted, _) = replay(&resumed.first_flight, config, stream);
            assert_eq!(kind, Some(HandshakeKind::Resumed));
            assert!(!accepted);
        }
    }

    #[test]
    fn a_session_moved_to_a_store_of_the_same_config_resumes_and_to_another_config_does_not() {
        let seed = MasterSeed::new(11);
        let server_config = server_config(&ServerKnobs::default()).unwrap();
        let first = ClientKnobs::default();
        let first_config = client_config(&first).unwrap();
        let second = SessionStore::new();
        let second_config = with_sessions(&first_config, second.clone());
        let third = ClientKnobs::default();
        let third_config = client_config(&third).unwrap();
        let client_stream = SeededStream::from_seed(seed, "rustls/client");
        let server_stream = SeededStream::from_seed(seed, "rustls/server");
        let mut wire = Wire::default();
        let connect_with = |config: &Arc<ClientConfig>, wire: &mut Wire| {
            connect(config, &server_config, &client_stream, &server_stream, wire)
        };
        connect_with(&first_config, &mut wire);
        assert_eq!(first.sessions.tickets_held(SERVER_NAME), 2);
        assert_eq!(
            first.sessions.early_data_allowances(SERVER_NAME),
            vec![16_384, 16_384]
        );

        let ticket = first.sessions.take_newest(SERVER_NAME).unwrap();
        assert!(second.seed(SERVER_NAME, ticket));
        let resumed = connect_with(&second_config, &mut wire);
        assert_eq!(second.tickets_taken(), 1);
        assert_eq!(resumed.server_kind, Some(HandshakeKind::Resumed));
        assert_eq!(resumed.server_early, EARLY);

        // A config built separately has another verifier: rustls offers no PSK then.
        let ticket = first.sessions.take_newest(SERVER_NAME).unwrap();
        assert!(third.sessions.seed(SERVER_NAME, ticket));
        let full = connect_with(&third_config, &mut wire);
        assert_eq!(third.sessions.tickets_taken(), 1);
        assert_eq!(full.server_kind, Some(HandshakeKind::Full));
        assert_eq!(full.early_written, 0);
    }

    #[test]
    fn seeded_x25519_refuses_an_all_zero_shared_secret_and_a_short_key() {
        let stream = SeededStream::from_seed(MasterSeed::new(1), "kx");
        let start = || stream.enter(|| SEEDED_X25519.start()).unwrap();
        // u = 0 is a low-order point: the shared secret is all zeros (RFC 7748 section 6.1).
        let zero = start().complete(&[0u8; 32]).err();
        assert_eq!(
            zero,
            Some(rustls::Error::PeerMisbehaved(
                PeerMisbehaved::InvalidKeyShare
            ))
        );
        let short = start().complete(&[9u8; 31]).err();
        assert_eq!(
            short,
            Some(rustls::Error::PeerMisbehaved(
                PeerMisbehaved::InvalidKeyShare
            ))
        );
        // Two seeded key pairs agree.
        let (a, b) = (start(), start());
        let b_pub = b.pub_key().to_vec();
        let a_pub = a.pub_key().to_vec();
        assert_ne!(a_pub, b_pub);
        let ab = a.complete(&b_pub).unwrap();
        let ba = b.complete(&a_pub).unwrap();
        assert_eq!(ab.secret_bytes(), ba.secret_bytes());
    }

    #[test]
    fn a_seeded_ticketer_opens_its_own_and_its_twins_tickets_and_nothing_else() {
        let seed = MasterSeed::new(5);
        let stream = SeededStream::from_seed(seed, "rustls/server");
        let ticketer = SeededTicketer::from_seed(seed, "ticket-keys/a");
        let twin = SeededTicketer::from_seed(seed, "ticket-keys/a");
        let other = SeededTicketer::from_seed(seed, "ticket-keys/b");
        let ticket = stream.enter(|| ticketer.encrypt(b"session state")).unwrap();
        assert_eq!(
            ticketer.decrypt(&ticket).as_deref(),
            Some(&b"session state"[..])
        );
        assert_eq!(
            twin.decrypt(&ticket).as_deref(),
            Some(&b"session state"[..])
        );
        assert_eq!(other.decrypt(&ticket), None);
        let mut altered = ticket.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(ticketer.decrypt(&altered), None);
        assert_eq!(ticketer.decrypt(&ticket[..NONCE_LEN + TAG_LEN - 1]), None);
        assert_eq!(ticketer.decrypt(&[]), None);
        // Without an installed stream there is no nonce, so no ticket.
        assert_eq!(ticketer.encrypt(b"session state"), None);
    }

    #[test]
    fn the_virtual_clock_is_what_rustls_reads() {
        let clock = VirtualClock::new(Timestamp::SIM_EPOCH);
        assert_eq!(
            clock.current_time(),
            Some(UnixTime::since_unix_epoch(Duration::from_secs(
                1_767_225_600
            )))
        );
        clock.advance(Duration::from_millis(1500));
        assert_eq!(
            clock.now(),
            Timestamp::SIM_EPOCH.saturating_add(Duration::from_millis(1500))
        );
        let shared = clock.clone();
        shared.set(Timestamp::from_secs(2_000_000_000));
        assert_eq!(
            clock.current_time(),
            Some(UnixTime::since_unix_epoch(Duration::from_secs(
                2_000_000_000
            )))
        );
    }

    #[test]
    fn a_restricted_suite_list_is_what_both_sides_negotiate() {
        let seed = MasterSeed::new(3);
        let only_chacha = vec![CipherSuite::TLS13_CHACHA20_POLY1305_SHA256];
        let server_config = server_config(&ServerKnobs {
            suites: only_chacha.clone(),
            ..ServerKnobs::default()
        })
        .unwrap();
        let client_config = client_config(&ClientKnobs::default()).unwrap();
        let client_stream = SeededStream::from_seed(seed, "rustls/client");
        let server_stream = SeededStream::from_seed(seed, "rustls/server");
        let mut client = Client::new(&client_config, &client_stream);
        let mut server = Server::new(&server_config, &server_stream);
        pump(&mut client, &mut server, &mut Wire::default());
        let negotiated = client
            .conn
            .negotiated_cipher_suite()
            .map(|s| u16::from(s.suite()));
        assert_eq!(
            negotiated,
            Some(CipherSuite::TLS13_CHACHA20_POLY1305_SHA256.get())
        );
        assert!(matches!(
            provider(&[CipherSuite::Unknown(0x00ff)]),
            Err(ConfigError::UnknownSuite(CipherSuite::Unknown(0x00ff)))
        ));
    }

    #[test]
    fn half_rtt_data_leaves_with_the_servers_first_flight_only_when_enabled() {
        for half_rtt in [false, true] {
            let seed = MasterSeed::new(19);
            let alpn = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
            let server_config = server_config(&ServerKnobs {
                send_half_rtt_data: half_rtt,
                alpn: vec![b"http/1.1".to_vec()],
                ..ServerKnobs::default()
            })
            .unwrap();
            let client_config = client_config(&ClientKnobs {
                alpn,
                ..ClientKnobs::default()
            })
            .unwrap();
            let mut client = Client::new(&client_config, &SeededStream::from_seed(seed, "c"));
            let mut server = Server::new(&server_config, &SeededStream::from_seed(seed, "s"));
            let hello = client.send();
            server.receive(&hello).unwrap();
            server.conn.writer().write_all(REPLY).unwrap();
            let first_flight = server.send();
            client.receive(&first_flight).unwrap();
            assert!(server.conn.is_handshaking());
            assert_eq!(client.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
            let expected: &[u8] = if half_rtt { REPLY } else { b"" };
            assert_eq!(client.data, expected, "send_half_rtt_data = {half_rtt}");
        }
    }

    #[test]
    fn rustls_enforces_the_advertised_early_data_limit_on_the_client() {
        let seed = MasterSeed::new(13);
        let server_config = server_config(&ServerKnobs {
            max_early_data: 10,
            ..ServerKnobs::default()
        })
        .unwrap();
        let client_config = client_config(&ClientKnobs::default()).unwrap();
        let client_stream = SeededStream::from_seed(seed, "rustls/client");
        let server_stream = SeededStream::from_seed(seed, "rustls/server");
        let mut wire = Wire::default();
        let resumed = resume_after_full(
            &client_config,
            &server_config,
            &client_stream,
            &server_stream,
            &mut wire,
        );
        assert_eq!(resumed.early_written, 10);
        assert_eq!(resumed.server_early, &EARLY[..10]);
    }

    #[test]
    fn every_knob_has_exactly_one_capability_entry() {
        for (i, c) in CAPABILITIES.iter().enumerate() {
            assert!(
                CAPABILITIES[i + 1..].iter().all(|d| d.knob != c.knob),
                "{:?}",
                c.knob
            );
            assert_eq!(capability(c.knob), *c);
        }
        assert!(!supports(Knob::RecvMaxEarlyData));
        assert!(!supports(Knob::AllowEarlyDataCallback));
        assert!(!supports(Knob::ForcedHelloRetryRequest));
        assert!(!supports(Knob::NoAntiReplay));
        assert!(supports(Knob::MaxEarlyData));
        assert!(!supports(Knob::StatelessTicketEarlyData));
    }
}
