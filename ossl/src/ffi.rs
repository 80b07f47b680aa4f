//! The calls of `<openssl/ssl.h>` and `<openssl/rand.h>` (OpenSSL 3.0) that the `openssl`
//! crate 0.10 does not offer safely, each behind a safe function. The only module of the
//! workspace that allows `unsafe_code` (see the crate documentation for why).
#![allow(unsafe_code)]

use foreign_types::ForeignTypeRef;
use openssl::error::ErrorStack;
use openssl::ex_data::Index;
use openssl::ssl::{SslContext, SslContextBuilder, SslRef, SslSession, SslSessionRef};
use openssl_sys::{SSL, SSL_CTX, SSL_SESSION};
use std::cell::RefCell;
use std::ffi::{c_int, c_long, c_uchar, c_void};
use std::sync::OnceLock;

/// `SSL_EARLY_DATA_NOT_SENT` (`<openssl/ssl.h>`).
pub const SSL_EARLY_DATA_NOT_SENT: c_int = 0;
/// `SSL_EARLY_DATA_REJECTED`.
pub const SSL_EARLY_DATA_REJECTED: c_int = 1;
/// `SSL_EARLY_DATA_ACCEPTED`.
pub const SSL_EARLY_DATA_ACCEPTED: c_int = 2;

/// `SSL_OP_NO_ANTI_REPLAY` (`<openssl/ssl.h>`: `SSL_OP_BIT(24)`), which the `openssl` crate
/// does not name; use it with `SslOptions::from_bits_retain`.
pub const SSL_OP_NO_ANTI_REPLAY: u64 = 1 << 24;

/// `SSL_KEY_UPDATE_REQUESTED`: the peer must answer with a KeyUpdate of its own.
const SSL_KEY_UPDATE_REQUESTED: c_int = 1;

/// `SSL_CTRL_SET_TLSEXT_TICKET_KEYS` (`<openssl/ssl.h>`), the control behind the
/// `SSL_CTX_set_tlsext_ticket_keys` macro.
const SSL_CTRL_SET_TLSEXT_TICKET_KEYS: c_int = 59;

/// Bytes of a ticket key set: name (16), HMAC secret (32), AES key (32)
/// (`struct ssl_ctx_ext_secure_st` in ssl/ssl_local.h, as the ctrl copies them).
pub const TICKET_KEYS_LEN: usize = 80;

/// `SSL_allow_early_data_cb_fn`.
type AllowEarlyDataCb = unsafe extern "C" fn(s: *mut SSL, arg: *mut c_void) -> c_int;

// Declarations as in <openssl/ssl.h>; openssl-sys 0.9 links libssl.
extern "C" {
    fn SSL_get_early_data_status(s: *const SSL) -> c_int;
    fn SSL_key_update(s: *mut SSL, updatetype: c_int) -> c_int;
    fn SSL_CTX_set_allow_early_data_cb(
        ctx: *mut SSL_CTX,
        cb: Option<AllowEarlyDataCb>,
        arg: *mut c_void,
    );
    fn SSL_CTX_set_recv_max_early_data(ctx: *mut SSL_CTX, recv_max_early_data: u32) -> c_int;
    fn SSL_set_recv_max_early_data(s: *mut SSL, recv_max_early_data: u32) -> c_int;
    fn SSL_SESSION_set_max_early_data(s: *mut SSL_SESSION, max_early_data: u32) -> c_int;
    fn SSL_SESSION_set_time(s: *mut SSL_SESSION, t: c_long) -> c_long;
    fn SSL_CTX_set_session_ticket_cb(
        ctx: *mut SSL_CTX,
        gen_cb: Option<GenerateTicketCb>,
        dec_cb: Option<DecryptTicketCb>,
        arg: *mut c_void,
    ) -> c_int;
}

/// `SSL_CTX_generate_session_ticket_fn`.
type GenerateTicketCb = unsafe extern "C" fn(s: *mut SSL, arg: *mut c_void) -> c_int;
/// `SSL_CTX_decrypt_session_ticket_fn`.
type DecryptTicketCb = unsafe extern "C" fn(
    s: *mut SSL,
    ss: *mut SSL_SESSION,
    keyname: *const c_uchar,
    keyname_length: usize,
    status: c_int,
    arg: *mut c_void,
) -> c_int;

// SSL_TICKET_STATUS and SSL_TICKET_RETURN values (<openssl/ssl.h>).
const SSL_TICKET_NONE: c_int = 2;
const SSL_TICKET_EMPTY: c_int = 3;
const SSL_TICKET_NO_DECRYPT: c_int = 4;
const SSL_TICKET_SUCCESS: c_int = 5;
const SSL_TICKET_SUCCESS_RENEW: c_int = 6;
const SSL_TICKET_RETURN_ABORT: c_int = 0;
const SSL_TICKET_RETURN_IGNORE: c_int = 1;
const SSL_TICKET_RETURN_IGNORE_RENEW: c_int = 2;
const SSL_TICKET_RETURN_USE: c_int = 3;
const SSL_TICKET_RETURN_USE_RENEW: c_int = 4;

/// `RAND_METHOD` (`struct rand_meth_st` in `<openssl/rand.h>`, OpenSSL 3.0).
#[repr(C)]
struct RandMethod {
    seed: Option<unsafe extern "C" fn(buf: *const c_void, num: c_int) -> c_int>,
    bytes: Option<unsafe extern "C" fn(buf: *mut c_uchar, num: c_int) -> c_int>,
    cleanup: Option<unsafe extern "C" fn()>,
    add: Option<unsafe extern "C" fn(buf: *const c_void, num: c_int, randomness: f64) -> c_int>,
    pseudorand: Option<unsafe extern "C" fn(buf: *mut c_uchar, num: c_int) -> c_int>,
    status: Option<unsafe extern "C" fn() -> c_int>,
}

// Declarations as in <openssl/rand.h> (deprecated in 3.0, still built by default and
// honoured by RAND_bytes_ex and RAND_priv_bytes_ex: crypto/rand/rand_lib.c).
extern "C" {
    fn RAND_set_rand_method(meth: *const RandMethod) -> c_int;
}

/// `SSL_get_early_data_status(3)`: one of the three `SSL_EARLY_DATA_*` values.
pub fn early_data_status(ssl: &SslRef) -> c_int {
    // SAFETY: `ssl.as_ptr()` is a valid `SSL *` for the borrow's lifetime, and the call
    // only reads `s->ext.early_data`.
    unsafe { SSL_get_early_data_status(ssl.as_ptr()) }
}

/// `SSL_key_update(3)` with `SSL_KEY_UPDATE_REQUESTED`: the KeyUpdate is queued and goes
/// out with the next write (or `SSL_do_handshake`). Fails (returns false) before the
/// handshake is complete.
pub fn request_key_update(ssl: &SslRef) -> bool {
    // SAFETY: `ssl.as_ptr()` is a valid `SSL *` for the borrow. `SslRef` is an opaque
    // foreign type (its state lives behind the pointer, as for the crate's own `&self`
    // setters), and the call only sets the connection's pending key update.
    unsafe { SSL_key_update(ssl.as_ptr(), SSL_KEY_UPDATE_REQUESTED) == 1 }
}

/// The callback [`refuse_early_data`] installs: "returning 0 will reject it"
/// (SSL_CTX_set_allow_early_data_cb(3)).
extern "C" fn refuse(_s: *mut SSL, _arg: *mut c_void) -> c_int {
    0
}

/// `SSL_CTX_set_allow_early_data_cb(3)` with a callback that always refuses: connections
/// from this context still resume sessions but reject early data.
pub fn refuse_early_data(ctx: &mut SslContextBuilder) {
    // SAFETY: `ctx.as_ptr()` is a valid `SSL_CTX *`; `refuse` has the C signature of
    // `SSL_allow_early_data_cb_fn`, lives for the whole program and ignores its arguments,
    // so the null `arg` is never read.
    unsafe { SSL_CTX_set_allow_early_data_cb(ctx.as_ptr(), Some(refuse), std::ptr::null_mut()) }
}

/// The policy [`allow_early_data`] stores in the context's ex_data.
type AllowPolicy = Box<dyn Fn() -> bool + Send + Sync>;

/// The ex_data index of the allow-early-data policy, allocated once per process.
fn allow_index() -> Option<Index<SslContext, AllowPolicy>> {
    static INDEX: OnceLock<Option<Index<SslContext, AllowPolicy>>> = OnceLock::new();
    *INDEX.get_or_init(|| SslContext::new_ex_index().ok())
}

/// The C side of [`allow_early_data`]: looks the policy up in the connection's context.
extern "C" fn allow_trampoline(s: *mut SSL, _arg: *mut c_void) -> c_int {
    let Some(index) = allow_index() else {
        return 0;
    };
    // SAFETY: OpenSSL calls this with the connection being handshaken, a valid `SSL *` for
    // the duration of the call; the reference does not outlive it.
    let ssl = unsafe { SslRef::from_ptr(s) };
    // A panic must not unwind into C: it counts as a refusal.
    let allowed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ssl.ssl_context()
            .ex_data(index)
            .is_some_and(|policy| policy())
    }));
    c_int::from(allowed.unwrap_or(false))
}

/// `SSL_CTX_set_allow_early_data_cb(3)` with `policy`: early data is accepted only when
/// it returns true ("returning 0 will reject it"). The policy lives in the context's
/// ex_data, so it is freed with the context.
pub fn allow_early_data(
    ctx: &mut SslContextBuilder,
    policy: impl Fn() -> bool + Send + Sync + 'static,
) -> Result<(), ErrorStack> {
    let index = allow_index().ok_or_else(ErrorStack::get)?;
    ctx.set_ex_data(index, Box::new(policy) as AllowPolicy);
    // SAFETY: `ctx.as_ptr()` is a valid `SSL_CTX *`; `allow_trampoline` has the C signature
    // of `SSL_allow_early_data_cb_fn`, lives for the whole program and ignores `arg`.
    unsafe {
        SSL_CTX_set_allow_early_data_cb(ctx.as_ptr(), Some(allow_trampoline), std::ptr::null_mut())
    };
    Ok(())
}

/// `SSL_CTX_set_recv_max_early_data(3)`: how much early data the server takes.
pub fn set_ctx_recv_max_early_data(ctx: &mut SslContextBuilder, bytes: u32) -> bool {
    // SAFETY: `ctx.as_ptr()` is a valid `SSL_CTX *`; the call sets one field.
    unsafe { SSL_CTX_set_recv_max_early_data(ctx.as_ptr(), bytes) == 1 }
}

/// `SSL_set_recv_max_early_data(3)`: the same for one connection.
pub fn set_recv_max_early_data(ssl: &mut SslRef, bytes: u32) -> bool {
    // SAFETY: `ssl.as_ptr()` is a valid `SSL *` for the exclusive borrow; the call sets one
    // field.
    unsafe { SSL_set_recv_max_early_data(ssl.as_ptr(), bytes) == 1 }
}

/// `SSL_SESSION_set_max_early_data(3)` on a session this process owns the only handle to
/// (a client's copy, made with [`SslSession::from_der`] or taken from its store).
pub fn set_session_max_early_data(session: &mut SslSession, bytes: u32) -> bool {
    // SAFETY: `session.as_ptr()` is a valid `SSL_SESSION *`; `&mut SslSession` is the
    // handle the caller owns, and the call sets one field.
    unsafe { SSL_SESSION_set_max_early_data(session.as_ptr(), bytes) == 1 }
}

/// `SSL_SESSION_set_time(3)` (seconds since the epoch, as `time(NULL)`): OpenSSL computes
/// a ticket's age from it on both sides (ssl/statem/extensions_clnt.c and
/// extensions_srvr.c). The session is reference counted: every handle sees the change.
pub fn set_session_time(session: &mut SslSession, secs: i64) -> bool {
    // `long` is 32 bits on some targets.
    #[allow(irrefutable_let_patterns)]
    let Ok(t) = c_long::try_from(secs) else {
        return false;
    };
    // SAFETY: `session.as_ptr()` is a valid `SSL_SESSION *`; the call sets one field (and
    // the derived expiry) and keeps no pointer.
    unsafe { SSL_SESSION_set_time(session.as_ptr(), t) != 0 }
}

/// What [`set_ticket_time_hooks`] stores in the context's ex_data: given the connection
/// and the session of a ticket about to be made, and given a session just decrypted from
/// a ticket, the creation time to give it, if any.
struct TicketTimeHooks {
    generate: GenerateHook,
    decrypt: DecryptHook,
}

/// A creation time for the session of a ticket being made.
type GenerateHook = Box<dyn Fn(&SslRef, &SslSessionRef) -> Option<i64> + Send + Sync>;
/// A creation time for a session decrypted from a ticket.
type DecryptHook = Box<dyn Fn(&SslSessionRef) -> Option<i64> + Send + Sync>;

fn ticket_hook_index() -> Option<Index<SslContext, TicketTimeHooks>> {
    static INDEX: OnceLock<Option<Index<SslContext, TicketTimeHooks>>> = OnceLock::new();
    *INDEX.get_or_init(|| SslContext::new_ex_index().ok())
}

/// Sets a session's creation time from a hook's answer; `ss` must be valid for the call.
fn apply_time(ss: *mut SSL_SESSION, time: std::thread::Result<Option<i64>>) {
    // `long` is 32 bits on some targets.
    #[allow(clippy::useless_conversion)]
    if let Some(t) = time.ok().flatten().and_then(|t| c_long::try_from(t).ok()) {
        // SAFETY: the callers pass the valid session OpenSSL is working on during the
        // callback; the call sets one field.
        unsafe { SSL_SESSION_set_time(ss, t) };
    }
}

/// The C side of [`set_ticket_time_hooks`] for a ticket being made (the session's master
/// key and creation time are set: ssl/statem/statem_srvr.c,
/// tls_construct_new_session_ticket). Returns 1: go on.
extern "C" fn generate_ticket_trampoline(s: *mut SSL, _arg: *mut c_void) -> c_int {
    let Some(index) = ticket_hook_index() else {
        return 1;
    };
    // SAFETY: OpenSSL passes the connection making the ticket, valid for the call.
    let ssl = unsafe { SslRef::from_ptr(s) };
    if let Some(session) = ssl.session() {
        let time = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ssl.ssl_context()
                .ex_data(index)
                .and_then(|hooks| (hooks.generate)(ssl, session))
        }));
        apply_time(session.as_ptr(), time);
    }
    1
}

/// The C side of [`set_ticket_time_hook`]: the default decision for each status (as
/// without a callback, ssl/t1_lib.c tls_decrypt_ticket), after the hook's time change.
extern "C" fn decrypt_ticket_trampoline(
    s: *mut SSL,
    ss: *mut SSL_SESSION,
    _keyname: *const c_uchar,
    _keyname_length: usize,
    status: c_int,
    _arg: *mut c_void,
) -> c_int {
    match status {
        SSL_TICKET_SUCCESS | SSL_TICKET_SUCCESS_RENEW if !ss.is_null() => {
            if let Some(index) = ticket_hook_index() {
                // SAFETY: OpenSSL passes the connection being handshaken and the session it
                // just decrypted, both valid for the call; neither reference outlives it.
                let (ssl, session) = unsafe { (SslRef::from_ptr(s), SslSessionRef::from_ptr(ss)) };
                let time = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    ssl.ssl_context()
                        .ex_data(index)
                        .and_then(|hooks| (hooks.decrypt)(session))
                }));
                apply_time(ss, time);
            }
            if status == SSL_TICKET_SUCCESS {
                SSL_TICKET_RETURN_USE
            } else {
                SSL_TICKET_RETURN_USE_RENEW
            }
        }
        SSL_TICKET_NONE => SSL_TICKET_RETURN_IGNORE,
        SSL_TICKET_EMPTY | SSL_TICKET_NO_DECRYPT => SSL_TICKET_RETURN_IGNORE_RENEW,
        _ => SSL_TICKET_RETURN_ABORT,
    }
}

/// `SSL_CTX_set_session_ticket_cb(3)` with callbacks that let `generate` set the creation
/// time of each ticket's session before it is made (and, for a stateless ticket,
/// encrypted into it), and `decrypt` that of each session decrypted from a ticket;
/// otherwise OpenSSL decides as without callbacks.
pub fn set_ticket_time_hooks(
    ctx: &mut SslContextBuilder,
    generate: impl Fn(&SslRef, &SslSessionRef) -> Option<i64> + Send + Sync + 'static,
    decrypt: impl Fn(&SslSessionRef) -> Option<i64> + Send + Sync + 'static,
) -> Result<(), ErrorStack> {
    let index = ticket_hook_index().ok_or_else(ErrorStack::get)?;
    let hooks = TicketTimeHooks {
        generate: Box::new(generate),
        decrypt: Box::new(decrypt),
    };
    ctx.set_ex_data(index, hooks);
    // SAFETY: `ctx.as_ptr()` is a valid `SSL_CTX *`; the trampoline has the C signature of
    // `SSL_CTX_decrypt_session_ticket_fn`, lives for the whole program and ignores `arg`.
    let r = unsafe {
        SSL_CTX_set_session_ticket_cb(
            ctx.as_ptr(),
            Some(generate_ticket_trampoline),
            Some(decrypt_ticket_trampoline),
            std::ptr::null_mut(),
        )
    };
    if r == 1 {
        Ok(())
    } else {
        Err(ErrorStack::get())
    }
}

/// `SSL_CTX_set_tlsext_ticket_keys`: the key set stateless tickets are made and opened
/// with (servers sharing it accept each other's tickets).
pub fn set_ticket_keys(
    ctx: &mut SslContextBuilder,
    keys: &[u8; TICKET_KEYS_LEN],
) -> Result<(), ErrorStack> {
    // SAFETY: `ctx.as_ptr()` is a valid `SSL_CTX *`; the ctrl copies exactly `larg` (80)
    // bytes out of `parg` (ssl/s3_lib.c, ssl3_ctx_ctrl) and keeps no pointer to it.
    let r = unsafe {
        openssl_sys::SSL_CTX_ctrl(
            ctx.as_ptr(),
            SSL_CTRL_SET_TLSEXT_TICKET_KEYS,
            TICKET_KEYS_LEN as c_long,
            keys.as_ptr() as *mut c_void,
        )
    };
    if r == 1 {
        Ok(())
    } else {
        Err(ErrorStack::get())
    }
}

/// `SSL_CTX_sess_set_get_cb(3)` for an external cache that keeps sessions as DER
/// (`i2d_SSL_SESSION`): `lookup` gets the session id and returns the DER of a session
/// encoded from any context of this process with the same session id context. The
/// session handed to OpenSSL is decoded fresh, so it belongs to no other context (the
/// `openssl` crate's safety condition for the same callback).
pub fn set_get_session_der_callback(
    ctx: &mut SslContextBuilder,
    lookup: impl Fn(&[u8]) -> Option<Vec<u8>> + Send + Sync + 'static,
) {
    let callback = move |_: &mut SslRef, id: &[u8]| -> Option<SslSession> {
        SslSession::from_der(&lookup(id)?).ok()
    };
    // SAFETY: every session the callback returns was just decoded from DER, so it is
    // associated with no context (the crate's condition).
    unsafe { ctx.set_get_session_callback(callback) }
}

/// `SSL_set_session(3)`. The `openssl` crate marks it unsafe because the session must
/// belong to a context compatible with `ssl`'s; here `session` must be one a TLS client
/// context of the caller received through its new-session callback, or a DER copy of one.
pub fn set_session(ssl: &mut SslRef, session: &SslSessionRef) -> Result<(), String> {
    // SAFETY: both pointers are valid for the borrows; the caller passes a session from a
    // client context as documented above; SSL_set_session takes its own reference
    // (SSL_SESSION_up_ref), so `session` may be dropped later.
    unsafe { ssl.set_session(session) }.map_err(|e| format!("SSL_set_session: {e}"))
}

// ---------------------------------------------------------------------------------------
// Randomness

/// What the installed RAND method reads on this thread.
type Source = Box<dyn FnMut(&mut [u8])>;

thread_local! {
    /// The source the RAND method reads on this thread (see [`with_random`]).
    static SOURCE: RefCell<Option<Source>> = const { RefCell::new(None) };
}

/// `RAND_METHOD.bytes` (and `pseudorand`): fills from this thread's source; fails (0)
/// when none is installed, so a forgotten [`with_random`] is an error inside OpenSSL,
/// never a silent fall-back to its own DRBG.
extern "C" fn rand_bytes(buf: *mut c_uchar, num: c_int) -> c_int {
    let Ok(len) = usize::try_from(num) else {
        return 0;
    };
    if len == 0 {
        return 1;
    }
    if buf.is_null() {
        return 0;
    }
    // SAFETY: OpenSSL passes a buffer of `num` writable bytes (RAND_bytes_ex's contract),
    // alive for the call; the slice does not outlive it.
    let out = unsafe { std::slice::from_raw_parts_mut(buf, len) };
    let filled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        SOURCE.with(|s| match s.try_borrow_mut() {
            Ok(mut source) => match source.as_mut() {
                Some(fill) => {
                    fill(out);
                    true
                }
                None => false,
            },
            Err(_) => false,
        })
    }));
    c_int::from(filled.unwrap_or(false))
}

/// `RAND_METHOD.seed` and `.add`: the seeded stream takes no outside entropy.
extern "C" fn rand_ignore(_buf: *const c_void, _num: c_int) -> c_int {
    1
}

/// `RAND_METHOD.add`.
extern "C" fn rand_add(_buf: *const c_void, _num: c_int, _randomness: f64) -> c_int {
    1
}

/// `RAND_METHOD.status`: ready when this thread has a source.
extern "C" fn rand_status() -> c_int {
    SOURCE.with(|s| c_int::from(s.try_borrow().is_ok_and(|s| s.is_some())))
}

static SEEDED_METHOD: RandMethod = RandMethod {
    seed: Some(rand_ignore),
    bytes: Some(rand_bytes),
    cleanup: None,
    add: Some(rand_add),
    pseudorand: Some(rand_bytes),
    status: Some(rand_status),
};

/// Makes [`with_random`]'s source the process's OpenSSL randomness: `RAND_set_rand_method`
/// with a method that reads the calling thread's source. Once per process; true if
/// OpenSSL took it. After this, any OpenSSL call that needs random bytes outside
/// [`with_random`] fails.
pub fn install_seeded_random() -> bool {
    static INSTALLED: OnceLock<bool> = OnceLock::new();
    *INSTALLED.get_or_init(|| {
        openssl_sys::init();
        // SAFETY: `SEEDED_METHOD` is a `'static` table with the C layout of `RAND_METHOD`
        // whose entries have the C signatures of its members; OpenSSL keeps the pointer.
        unsafe { RAND_set_rand_method(&SEEDED_METHOD) == 1 }
    })
}

/// Puts the previous source back when [`with_random`] returns or unwinds.
struct Restore(Option<Source>);

impl Drop for Restore {
    fn drop(&mut self) {
        let previous = self.0.take();
        SOURCE.with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                *s = previous;
            }
        });
    }
}

/// Runs `f` with every random byte OpenSSL draws on this thread taken from `source` (the
/// seeded method is installed first if needed). The previous source (if any) is restored
/// afterwards, also if `f` panics.
pub fn with_random<R>(source: impl FnMut(&mut [u8]) + 'static, f: impl FnOnce() -> R) -> R {
    install_seeded_random();
    let previous = SOURCE.with(|s| {
        s.try_borrow_mut()
            .ok()
            .and_then(|mut s| s.replace(Box::new(source)))
    });
    let _restore = Restore(previous);
    f()
}
