//! TLS 1.3 cryptography on `ring`: transcript hash, HKDF key schedule, record protection,
//! X25519 from injected randomness, signatures, and the NSS key log.

pub mod hash;
pub mod key_schedule;
pub mod keylog;
pub mod kx;
pub mod memo;
pub mod record_protection;
pub mod sign;
pub mod suites;
