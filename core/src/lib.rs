//! zerortt-core: a sans-I/O TLS 1.3 engine focused on early data (0-RTT), with the
//! semantics of OpenSSL's `SSL_read_early_data(3)`.
//!
//! Fully deterministic: no clock (the caller passes `now`), no OS randomness (an RNG is
//! injected), no I/O (bytes in, bytes out).
#![forbid(unsafe_code)]

pub mod codec;
pub mod conn;
pub mod crypto;
pub mod error;
#[cfg(feature = "harness")]
pub mod harness;
pub mod identity;
pub mod msgs;
// Public only where bugs can be planted; otherwise `active` is a constant `false`.
#[cfg(feature = "planted-bugs")]
pub mod planted;
#[cfg(not(feature = "planted-bugs"))]
mod planted;
pub mod rand;
pub mod tickets;
pub mod time;
pub mod verify;

pub use conn::{
    ApiMisuse, ClientConfig, ConnError, Connection, EarlyDataStatus, Event, ReadEarlyData,
    ServerConfig, Side,
};
pub use error::{Error, InvalidMessage, PeerMisbehaved};
