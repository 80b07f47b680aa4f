//! The smallest stateless ticket: an empty plaintext seals to exactly the ticket overhead
//! (key name, nonce, tag) and opens again; one byte less is not a ticket.

use rand_core::SeedableRng;
use zerortt_core::tickets::ticketer::{
    TicketAead, TicketKey, Ticketer, KEY_NAME_LEN, TICKET_OVERHEAD,
};

#[test]
fn an_empty_plaintext_seals_to_exactly_the_overhead_and_opens_while_a_shorter_ticket_does_not() {
    for aead in [TicketAead::Aes256Gcm, TicketAead::ChaCha20Poly1305] {
        let t = Ticketer::new(TicketKey::new([4; KEY_NAME_LEN], aead, &[4; 32]).unwrap());
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let ticket = t.seal(b"", &mut rng).unwrap();
        assert_eq!(ticket.len(), TICKET_OVERHEAD);
        assert_eq!(t.open(&ticket), Some(Vec::new()));
        assert_eq!(t.open(&ticket[..TICKET_OVERHEAD - 1]), None);
    }
}
