//! The early-data calls of `<openssl/ssl.h>` (OpenSSL 3.0) that the `openssl` crate 0.10
//! does not offer safely, each behind a safe function. The only module of the workspace
//! that allows `unsafe_code` (see the crate documentation for why).
#![allow(unsafe_code)]

use foreign_types::ForeignTypeRef;
use openssl::ssl::{SslContextBuilder, SslRef, SslSessionRef};
use openssl_sys::{SSL, SSL_CTX};
use std::ffi::{c_int, c_void};

/// `SSL_EARLY_DATA_NOT_SENT` (`<openssl/ssl.h>`).
pub const SSL_EARLY_DATA_NOT_SENT: c_int = 0;
/// `SSL_EARLY_DATA_REJECTED`.
pub const SSL_EARLY_DATA_REJECTED: c_int = 1;
/// `SSL_EARLY_DATA_ACCEPTED`.
pub const SSL_EARLY_DATA_ACCEPTED: c_int = 2;

/// `SSL_KEY_UPDATE_REQUESTED`: the peer must answer with a KeyUpdate of its own.
const SSL_KEY_UPDATE_REQUESTED: c_int = 1;

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

/// `SSL_set_session(3)`. The `openssl` crate marks it unsafe because the session must
/// belong to a context compatible with `ssl`'s. Crate-private: its only caller,
/// [`crate::openssl_peer::Openssl::client`], passes sessions that a TLS client context of
/// this crate received through its new-session callback, or DER copies of them.
pub(crate) fn set_session(ssl: &mut SslRef, session: &SslSessionRef) -> Result<(), String> {
    // SAFETY: both pointers are valid for the borrows; the session comes from a TLS 1.3
    // client context of this crate (see above); SSL_set_session takes its own reference
    // (SSL_SESSION_up_ref), so `session` may be dropped later.
    unsafe { ssl.set_session(session) }.map_err(|e| format!("SSL_set_session: {e}"))
}
