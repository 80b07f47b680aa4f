//! Session tickets and anti-replay: the server's bounded session cache (single-use
//! tickets, SSL_read_early_data(3) "REPLAY PROTECTION"), stateless ticket sealing, a
//! ClientHello strike register (RFC 9846 section 8.2), the freshness check (section 8.3),
//! and the serialised session state both sides keep.

pub mod cache;
pub mod freshness;
pub mod session;
pub mod strike;
pub mod ticketer;
