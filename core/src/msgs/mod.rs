//! TLS 1.3 wire format: records, alerts, handshake messages and extensions (RFC 9846).

pub mod alert;
pub mod deframer;
pub mod enums;
pub mod extensions;
pub mod handshake;
pub mod record;
