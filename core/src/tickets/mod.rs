//! Session tickets and anti-replay: the server's bounded session cache (single-use
//! tickets, SSL_read_early_data(3) "REPLAY PROTECTION"), stateless ticket sealing, a
//! ClientHello strike register (RFC 9846 section 8.2), the freshness check (section 8.3),
//! and the serialised session state both sides keep.
//!
//! Everything here is plain data: no clock (every call takes `now`), no OS randomness
//! (nonces come from an injected [`Random`](crate::rand::Random)), deterministic iteration.
//!
//! # How a server uses these
//!
//! Issuing a ticket after the handshake (RFC 9846 section 4.7.1): build a
//! [`ServerSessionValue`](session::ServerSessionValue) with a fresh random `age_add`, then
//! either
//! - *stateful, OpenSSL's replay protection* (on when `max_early_data > 0` and
//!   `no_anti_replay` is off): the ticket is a random id, and
//!   [`SessionCache::insert`](cache::SessionCache::insert) stores the value under it; or
//! - *stateless*: the ticket is
//!   [`Ticketer::seal`](ticketer::Ticketer::seal)`(value.to_bytes())`.
//!
//! Resuming, for the identity the server selected and whose binder verified:
//! 1. Recover the value: [`SessionCache::take`](cache::SessionCache::take) (single use; a
//!    miss means full handshake), or [`SessionCache::get`](cache::SessionCache::get) with
//!    `no_anti_replay`, or [`Ticketer::open`](ticketer::Ticketer::open) then
//!    [`ServerSessionValue::from_bytes`](session::ServerSessionValue::from_bytes).
//! 2. For early data, [`check_freshness`](freshness::check_freshness) with the client's
//!    `obfuscated_ticket_age`; not fresh means reject 0-RTT.
//! 3. For stateless (reusable) tickets,
//!    [`StrikeRegister::check_and_record`](strike::StrikeRegister::check_and_record) with the
//!    verified binder; only [`StrikeVerdict::Fresh`](strike::StrikeVerdict::Fresh) lets 0-RTT
//!    through.
//!
//! The client keeps a [`ClientSession`](session::ClientSession) per ticket and sends
//! [`ClientSession::obfuscated_ticket_age`](session::ClientSession::obfuscated_ticket_age).

pub mod cache;
pub mod freshness;
pub mod session;
pub mod store;
pub mod strike;
pub mod ticketer;
