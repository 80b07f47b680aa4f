//! TLS 1.3 cryptography on `ring`: transcript hash, HKDF key schedule, record protection,
//! X25519 from injected randomness, signatures, and the NSS key log.
