//! The OpenSSL 3 side, through the `openssl` crate: an `SslStream` over [`MemoryDuplex`], a
//! `Read + Write` pair of byte queues whose read says `WouldBlock` when empty, so every
//! OpenSSL call returns `SSL_ERROR_WANT_READ` where a socket would block.
//!
//! OpenSSL's server with max_early_data > 0 and anti-replay on (the default) issues
//! stateful tickets and removes each session from its cache when it is used
//! (SSL_read_early_data(3), REPLAY PROTECTION: "sessions are forced to be single use only").

use crate::openssl_ffi;
use crate::pump::{ClientEnd, Endpoint, Failure, ServerEnd, Status};
use crate::scenario::{ClientPeer, ServerPeer};
use crate::testdata;
use openssl::pkey::PKey;
use openssl::ssl::{
    AlpnError, ErrorCode, Ssl, SslContext, SslContextBuilder, SslMethod, SslSession,
    SslSessionCacheMode, SslStream, SslVerifyMode, SslVersion,
};
use openssl::x509::X509;
use std::sync::{Arc, Mutex};

/// OpenSSL's version string (`OpenSSL_version(OPENSSL_VERSION)`), for reports.
pub fn version() -> &'static str {
    openssl::version::version()
}

pub use zerortt_ossl::MemoryDuplex;

fn failure(step: &str, e: impl std::fmt::Display) -> Failure {
    Failure(format!("OpenSSL {step}: {e}"))
}

fn tls13_only(ctx: &mut SslContextBuilder, suites: &[crate::Suite]) -> Result<(), Failure> {
    ctx.set_min_proto_version(Some(SslVersion::TLS1_3))
        .map_err(|e| failure("min version", e))?;
    ctx.set_max_proto_version(Some(SslVersion::TLS1_3))
        .map_err(|e| failure("max version", e))?;
    let list = if suites.is_empty() {
        crate::Suite::ALL.to_vec()
    } else {
        suites.to_vec()
    };
    let names: Vec<&str> = list.iter().map(|s| s.iana_name()).collect();
    ctx.set_ciphersuites(&names.join(":"))
        .map_err(|e| failure("ciphersuites", e))
}

/// How to build an OpenSSL server context.
#[derive(Clone, Debug)]
pub struct ServerOptions {
    /// Suites (all three if empty).
    pub suites: Vec<crate::Suite>,
    /// `SSL_CTX_set_max_early_data`.
    pub max_early_data: u32,
    /// Install an allow-early-data callback that refuses (resume, reject early data).
    pub refuse_early_data: bool,
    /// Stateless cookie callbacks, for `SSL_stateless` (a HelloRetryRequest with a cookie).
    pub stateless_cookies: bool,
    /// The one ALPN protocol the server selects when the client offers it.
    pub alpn: Option<Vec<u8>>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            suites: Vec::new(),
            max_early_data: 16384,
            refuse_early_data: false,
            stateless_cookies: false,
            alpn: None,
        }
    }
}

/// A TLS 1.3 server context with the Ed25519 test identity.
pub fn server_context(options: &ServerOptions) -> Result<SslContext, Failure> {
    let mut ctx = SslContext::builder(SslMethod::tls_server()).map_err(|e| failure("ctx", e))?;
    tls13_only(&mut ctx, &options.suites)?;
    let cert = X509::from_der(testdata::CERT).map_err(|e| failure("certificate", e))?;
    let key = PKey::private_key_from_der(testdata::KEY).map_err(|e| failure("key", e))?;
    ctx.set_certificate(&cert)
        .map_err(|e| failure("certificate", e))?;
    ctx.set_private_key(&key).map_err(|e| failure("key", e))?;
    ctx.set_max_early_data(options.max_early_data)
        .map_err(|e| failure("max_early_data", e))?;
    if options.refuse_early_data {
        openssl_ffi::refuse_early_data(&mut ctx);
    }
    if options.stateless_cookies {
        // A fixed application cookie: OpenSSL protects the whole cookie with its own HMAC
        // (the `openssl` crate: "the OpenSSL implementation independently verifies the
        // integrity of application cookies using an HMAC").
        ctx.set_stateless_cookie_generate_cb(|_, buf| {
            let cookie = b"zerortt-interop";
            let n = cookie.len().min(buf.len());
            buf[..n].copy_from_slice(&cookie[..n]);
            Ok(n)
        });
        ctx.set_stateless_cookie_verify_cb(|_, cookie| cookie == b"zerortt-interop");
    }
    if let Some(protocol) = options.alpn.clone() {
        ctx.set_alpn_select_callback(move |_, offered| {
            // `offered` is the wire list: length-prefixed names.
            let mut rest = offered;
            while let Some((&len, tail)) = rest.split_first() {
                let (name, next) = tail.split_at(usize::from(len).min(tail.len()));
                if name == protocol.as_slice() {
                    return Ok(name);
                }
                rest = next;
            }
            Err(AlpnError::NOACK)
        });
    }
    Ok(ctx.build())
}

/// A TLS 1.3 client context trusting the test CA, verifying the server's name, keeping
/// every session it receives (NewSessionTicket) for [`Openssl::client`].
pub struct OpensslClientContext {
    ctx: SslContext,
    sessions: Arc<Mutex<Vec<SslSession>>>,
}

impl OpensslClientContext {
    /// `suites` (all three if empty); `groups` is the `SSL_CTX_set1_groups_list` string
    /// (OpenSSL sends a key share for the first group only), or None for the default.
    pub fn new(suites: &[crate::Suite], groups: Option<&str>) -> Result<Self, Failure> {
        Self::with_alpn(suites, groups, None)
    }

    /// [`OpensslClientContext::new`], offering the ALPN protocol `alpn`.
    pub fn with_alpn(
        suites: &[crate::Suite],
        groups: Option<&str>,
        alpn: Option<&[u8]>,
    ) -> Result<Self, Failure> {
        let mut ctx =
            SslContext::builder(SslMethod::tls_client()).map_err(|e| failure("ctx", e))?;
        tls13_only(&mut ctx, suites)?;
        let ca = X509::from_der(testdata::CA).map_err(|e| failure("CA", e))?;
        ctx.cert_store_mut()
            .add_cert(ca)
            .map_err(|e| failure("CA", e))?;
        ctx.set_verify(SslVerifyMode::PEER);
        if let Some(groups) = groups {
            ctx.set_groups_list(groups)
                .map_err(|e| failure("groups", e))?;
        }
        if let Some(protocol) = alpn {
            let len = u8::try_from(protocol.len()).map_err(|e| failure("ALPN", e))?;
            let mut wire = vec![len];
            wire.extend_from_slice(protocol);
            ctx.set_alpn_protos(&wire).map_err(|e| failure("ALPN", e))?;
        }
        // The new-session callback runs for clients only with client-side caching on.
        ctx.set_session_cache_mode(SslSessionCacheMode::CLIENT);
        let sessions = Arc::new(Mutex::new(Vec::new()));
        let store = sessions.clone();
        ctx.set_new_session_callback(move |_, session| {
            if let Ok(mut s) = store.lock() {
                s.push(session);
            }
        });
        Ok(Self {
            ctx: ctx.build(),
            sessions,
        })
    }

    /// Takes the sessions received so far, oldest first.
    pub fn take_sessions(&self) -> Vec<SslSession> {
        self.sessions
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default()
    }

    /// Sessions received so far.
    pub fn session_count(&self) -> usize {
        self.sessions.lock().map(|s| s.len()).unwrap_or_default()
    }
}

/// A stream's pending error: WANT_READ means "call again with more input".
fn want_read(e: &openssl::ssl::Error) -> bool {
    e.code() == ErrorCode::WANT_READ
}

/// One OpenSSL connection, client or server.
pub struct Openssl {
    /// The stream.
    pub stream: SslStream<MemoryDuplex>,
    /// Server: run `SSL_stateless` until it accepts a ClientHello with a cookie.
    stateless_pending: bool,
    /// Client: sessions received on this connection (counted from the context's store).
    sessions_before: usize,
    context: Option<Arc<Mutex<Vec<SslSession>>>>,
}

/// An OpenSSL client.
pub type OpensslClient = Openssl;
/// An OpenSSL server.
pub type OpensslServer = Openssl;

impl Openssl {
    /// A client for [`crate::SERVER_NAME`] on `ctx`, resuming `session` if given (one that
    /// `ctx` received, or a DER copy of one).
    pub fn client(
        ctx: &OpensslClientContext,
        session: Option<&SslSession>,
    ) -> Result<Self, Failure> {
        let mut ssl = Ssl::new(&ctx.ctx).map_err(|e| failure("SSL_new", e))?;
        ssl.set_hostname(crate::SERVER_NAME)
            .map_err(|e| failure("SNI", e))?;
        ssl.param_mut()
            .set_host(crate::SERVER_NAME)
            .map_err(|e| failure("host check", e))?;
        if let Some(session) = session {
            openssl_ffi::set_session(&mut ssl, session).map_err(|e| failure("session", e))?;
        }
        ssl.set_connect_state();
        Self::wrap(ssl, false, Some(ctx))
    }

    /// A server on `ctx`; with `stateless`, the first ClientHello is answered through
    /// `SSL_stateless` (a HelloRetryRequest with a cookie; `ctx` needs cookie callbacks).
    /// `max_early_data` overrides the context's for this connection (`SSL_set_max_early_data`).
    pub fn server(
        ctx: &SslContext,
        stateless: bool,
        max_early_data: Option<u32>,
    ) -> Result<Self, Failure> {
        let mut ssl = Ssl::new(ctx).map_err(|e| failure("SSL_new", e))?;
        if let Some(max) = max_early_data {
            ssl.set_max_early_data(max)
                .map_err(|e| failure("SSL_set_max_early_data", e))?;
        }
        ssl.set_accept_state();
        Self::wrap(ssl, stateless, None)
    }

    /// `ssl` over a new [`MemoryDuplex`]; a client counts its tickets in `client`'s store.
    fn wrap(
        ssl: Ssl,
        stateless_pending: bool,
        client: Option<&OpensslClientContext>,
    ) -> Result<Self, Failure> {
        let stream =
            SslStream::new(ssl, MemoryDuplex::default()).map_err(|e| failure("stream", e))?;
        Ok(Self {
            stream,
            stateless_pending,
            sessions_before: client.map_or(0, OpensslClientContext::session_count),
            context: client.map(|c| c.sessions.clone()),
        })
    }

    fn status_of(&self) -> Status {
        match openssl_ffi::early_data_status(self.stream.ssl()) {
            openssl_ffi::SSL_EARLY_DATA_ACCEPTED => Status::Accepted,
            openssl_ffi::SSL_EARLY_DATA_REJECTED => Status::Rejected,
            _ => Status::NotSent,
        }
    }

    /// A server's `SSL_write_early_data`: 0.5-RTT data, once `SSL_read_early_data` has
    /// returned (SSL_write_early_data(3): a server "may also call SSL_write_early_data() to
    /// send data to the client").
    pub fn write_half_rtt(&mut self, data: &[u8]) -> Result<(), Failure> {
        match self.stream.write_early_data(data) {
            Ok(n) if n == data.len() => Ok(()),
            Ok(n) => Err(failure(
                "SSL_write_early_data",
                format!("took {n} of {}", data.len()),
            )),
            Err(e) => Err(failure("SSL_write_early_data", e)),
        }
    }

    /// `SSL_key_update(3)` with `SSL_KEY_UPDATE_REQUESTED`; true once queued.
    pub fn request_key_update(&self) -> bool {
        openssl_ffi::request_key_update(self.stream.ssl())
    }
}

impl Endpoint for Openssl {
    fn handshake(&mut self) -> Result<bool, Failure> {
        match self.stream.do_handshake() {
            Ok(()) => Ok(true),
            Err(e) if want_read(&e) => Ok(false),
            Err(e) => Err(failure("SSL_do_handshake", e)),
        }
    }

    fn write(&mut self, data: &[u8]) -> Result<(), Failure> {
        match self.stream.ssl_write(data) {
            Ok(n) if n == data.len() => Ok(()),
            Ok(n) => Err(failure("SSL_write", format!("took {n} of {}", data.len()))),
            Err(e) => Err(failure("SSL_write", e)),
        }
    }

    fn read(&mut self, out: &mut Vec<u8>) -> Result<(), Failure> {
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.ssl_read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if want_read(&e) => return Ok(()),
                Err(e) => return Err(failure("SSL_read", e)),
            }
        }
    }

    fn resumed(&self) -> bool {
        self.stream.ssl().session_reused()
    }

    fn suite(&self) -> Option<u16> {
        self.stream
            .ssl()
            .current_cipher()
            .map(|c| u16::from_be_bytes(c.protocol_id()))
    }

    fn alpn(&self) -> Option<Vec<u8>> {
        self.stream
            .ssl()
            .selected_alpn_protocol()
            .map(<[u8]>::to_vec)
    }

    /// `SSL_shutdown`: sends close_notify (and marks the session as cleanly closed).
    fn close(&mut self) -> Result<(), Failure> {
        match self.stream.shutdown() {
            Ok(_) => Ok(()),
            Err(e) if want_read(&e) => Ok(()),
            Err(e) => Err(failure("SSL_shutdown", e)),
        }
    }

    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.stream.get_mut().outgoing)
    }

    fn give_input(&mut self, bytes: &[u8]) {
        self.stream.get_mut().incoming.extend(bytes);
    }
}

impl ClientEnd for Openssl {
    /// `SSL_write_early_data`; 0 (nothing sent) when the session allows no early data.
    fn write_early_data(&mut self, data: &[u8]) -> Result<usize, Failure> {
        let allowed = self
            .stream
            .ssl()
            .session()
            .is_some_and(|s| s.max_early_data() > 0);
        if !allowed {
            return Ok(0);
        }
        self.stream
            .write_early_data(data)
            .map_err(|e| failure("SSL_write_early_data", e))
    }

    fn status(&mut self) -> Status {
        self.status_of()
    }

    fn tickets(&self) -> usize {
        let now = self
            .context
            .as_ref()
            .and_then(|c| c.lock().ok().map(|s| s.len()))
            .unwrap_or_default();
        now.saturating_sub(self.sessions_before)
    }
}

impl ServerEnd for Openssl {
    /// `SSL_read_early_data` until FINISH; in stateless mode, `SSL_stateless` until it
    /// accepts a ClientHello, which is FINISH.
    fn read_early_data(&mut self, out: &mut Vec<u8>) -> Result<bool, Failure> {
        if self.stateless_pending {
            if self.stream.get_ref().incoming.is_empty() {
                return Ok(false);
            }
            return match self.stream.stateless() {
                // SSL_stateless accepted a ClientHello with a valid cookie and went on with
                // SSL_accept, so SSL_read_early_data may no longer be called; there is no
                // early data after a HelloRetryRequest anyway (RFC 9846 4.3.10).
                Ok(true) => {
                    self.stateless_pending = false;
                    Ok(true)
                }
                Ok(false) => Ok(false),
                Err(e) => Err(failure("SSL_stateless", e)),
            };
        }
        let mut buf = [0u8; 4096];
        loop {
            match self.stream.read_early_data(&mut buf) {
                Ok(0) => return Ok(true),
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(e) if want_read(&e) => return Ok(false),
                Err(e) => return Err(failure("SSL_read_early_data", e)),
            }
        }
    }

    fn status(&mut self) -> Status {
        self.status_of()
    }
}

/// Connections on one context share its session cache.
impl ServerPeer for SslContext {
    type End = Openssl;
    fn accept(&self) -> Result<Openssl, Failure> {
        Openssl::server(self, false, None)
    }
}

/// The context's store gives the newest session not yet offered.
impl ClientPeer for OpensslClientContext {
    type End = Openssl;
    fn connect(&self) -> Result<Openssl, Failure> {
        let session = self.sessions.lock().ok().and_then(|mut s| s.pop());
        Openssl::client(self, session.as_ref())
    }
}
