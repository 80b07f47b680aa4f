//! zerortt-core against real peers, in memory: rustls 0.23 (ring provider) and the system
//! OpenSSL 3 through the `openssl` crate. The scenarios ([`scenario`]) run both directions
//! with any peer: full handshakes with tickets, resumed 0-RTT (accepted, rejected and resent
//! as 1-RTT), every TLS 1.3 suite, HelloRetryRequest, 16 KiB of early data, ALPN, 0.5-RTT
//! data and KeyUpdate; the tests in `tests/` call them, one scenario a test, for each peer.
//! A new peer implements [`ClientEnd`]/[`ServerEnd`] (and [`Endpoint`]) for its connections
//! and [`scenario::ClientPeer`]/[`scenario::ServerPeer`] for its configurations.
//!
//! Bytes move only when [`pump()`], [`complete_handshake`] or a test hands one side's output
//! to the other side's input: bounded rounds, no sockets, no threads. The zerortt side takes a
//! seeded ChaCha20 RNG and a fixed clock ([`zerortt::Zerortt`]); rustls and OpenSSL use
//! their own randomness and clocks, so their bytes differ from run to run while the
//! outcome does not.
//!
//! The calls the `openssl` crate does not wrap (`SSL_get_early_data_status`,
//! `SSL_CTX_set_allow_early_data_cb`, `SSL_key_update`, and `SSL_set_session`, which it
//! marks unsafe) come safe from `zerortt-ossl`, the workspace's one FFI crate, re-exported
//! here as [`openssl_ffi`]; this crate keeps the workspace's `forbid(unsafe_code)`.

/// The OpenSSL calls the `openssl` crate lacks, from `zerortt-ossl` (moved there so the
/// simulator's OpenSSL subject shares them).
pub use zerortt_ossl::ffi as openssl_ffi;
pub mod openssl_peer;
pub mod pump;
pub mod rustls_peer;
pub mod scenario;
pub mod zerortt;

pub use pump::{
    complete_handshake, pump, transfer, ClientEnd, Endpoint, Failure, Outcome, Recorder, ServerEnd,
    Status,
};

/// The name the test certificates are valid for (core/testdata: `localhost`, `zerortt.test`).
pub const SERVER_NAME: &str = "localhost";

/// The test CA, Ed25519 server certificate and its PKCS#8 key from core/testdata, shared by
/// every peer so that each side verifies the other with the same trust anchor.
pub mod testdata {
    /// The test CA certificate (DER).
    pub const CA: &[u8] = include_bytes!("../../core/testdata/ca.der");
    /// The Ed25519 server certificate for `localhost` (DER).
    pub const CERT: &[u8] = include_bytes!("../../core/testdata/server-ed25519.der");
    /// Its private key (PKCS#8 DER).
    pub const KEY: &[u8] = include_bytes!("../../core/testdata/server-ed25519.key.pk8");
}

/// The three TLS 1.3 cipher suites by IANA code point (RFC 9846 appendix B.4), the unit
/// every peer can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Suite {
    /// TLS_AES_128_GCM_SHA256 (0x1301).
    Aes128GcmSha256,
    /// TLS_AES_256_GCM_SHA384 (0x1302).
    Aes256GcmSha384,
    /// TLS_CHACHA20_POLY1305_SHA256 (0x1303).
    Chacha20Poly1305Sha256,
}

impl Suite {
    /// All three, in zerortt's default preference order.
    pub const ALL: [Suite; 3] = [
        Suite::Aes128GcmSha256,
        Suite::Aes256GcmSha384,
        Suite::Chacha20Poly1305Sha256,
    ];

    /// The IANA code point.
    pub fn code(self) -> u16 {
        match self {
            Suite::Aes128GcmSha256 => 0x1301,
            Suite::Aes256GcmSha384 => 0x1302,
            Suite::Chacha20Poly1305Sha256 => 0x1303,
        }
    }

    /// The IANA name, which is also OpenSSL's `SSL_CTX_set_ciphersuites` name.
    pub fn iana_name(self) -> &'static str {
        match self {
            Suite::Aes128GcmSha256 => "TLS_AES_128_GCM_SHA256",
            Suite::Aes256GcmSha384 => "TLS_AES_256_GCM_SHA384",
            Suite::Chacha20Poly1305Sha256 => "TLS_CHACHA20_POLY1305_SHA256",
        }
    }
}
