//! rustls 0.23 (ring provider) as a deterministic subject.
