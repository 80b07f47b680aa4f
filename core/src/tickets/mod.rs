//! Session tickets and anti-replay: the server's bounded session cache (single-use
//! tickets, SSL_read_early_data(3) "REPLAY PROTECTION"), stateless ticket sealing, and a
//! ClientHello strike register (RFC 9846 section 8.2).

pub mod cache;
pub mod strike;
pub mod ticketer;
