//! Injected randomness. `core` never asks the OS for random bytes: every connection and
//! server object is given a [`Random`] at construction (the simulator passes a seeded
//! ChaCha stream, a real client passes an OS-backed generator), so the same inputs give
//! byte-identical outputs.

/// A source of random bytes for key shares, hello randoms, ticket nonces and ages.
pub trait Random: Send {
    /// Fills `dest` with random bytes.
    fn fill(&mut self, dest: &mut [u8]);
}

impl<R: rand_core::CryptoRng + Send> Random for R {
    fn fill(&mut self, dest: &mut [u8]) {
        self.fill_bytes(dest)
    }
}

/// Draws a fixed-size array.
pub fn array<const N: usize>(rng: &mut dyn Random) -> [u8; N] {
    let mut out = [0u8; N];
    rng.fill(&mut out);
    out
}

/// Draws a u32 (ticket_age_add, ticket lifetimes jitter).
pub fn u32(rng: &mut dyn Random) -> u32 {
    u32::from_be_bytes(array(rng))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;

    #[test]
    fn a_seeded_chacha_stream_is_a_random_source_and_repeats_for_the_same_seed() {
        let mut a = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        let mut b = rand_chacha::ChaCha20Rng::seed_from_u64(7);
        assert_eq!(array::<32>(&mut a), array::<32>(&mut b));
    }
}
