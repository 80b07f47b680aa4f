//! TLS 1.3 wire format: records, alerts, handshake messages and extensions (RFC 9846).

pub mod enums;
