//! OpenSSL 3 for the workspace: the few calls of `<openssl/ssl.h>` and `<openssl/rand.h>`
//! that the `openssl` crate 0.10 does not wrap (early data status, recv_max_early_data,
//! the allow-early-data callback, SSL_OP_NO_ANTI_REPLAY, ticket keys, a session cache's
//! get callback over DER, SSL_SESSION_set_max_early_data, and a RAND method reading a
//! per-thread seeded source), each behind a safe function in [`ffi`].
//!
//! Why a crate of its own: calling an `extern "C"` item needs `unsafe`, the workspace
//! forbids `unsafe_code`, and `forbid` cannot be lowered by an inner attribute. This crate
//! keeps every workspace lint but sets `unsafe_code` to `deny`, and exactly one module,
//! [`ffi`], allows it. Everything it exports is safe; `zerortt-interop` and the
//! simulator's OpenSSL subject use it and keep `forbid`.

pub mod duplex;
pub mod ffi;

pub use duplex::MemoryDuplex;

/// OpenSSL's version string (`OpenSSL_version(OPENSSL_VERSION)`), for reports.
pub fn version() -> &'static str {
    openssl::version::version()
}
