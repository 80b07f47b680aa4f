//! Which key a `Ticketer` seals under, as it reports it and as the tickets show it: the
//! key name is the first 16 bytes of every ticket (ticketer module docs), so an operator
//! rotating keys can tell which key sealed a ticket.

use zerortt_core::rand::Random;
use zerortt_core::tickets::ticketer::{TicketAead, TicketKey, Ticketer, KEY_NAME_LEN};

fn key(name: u8) -> TicketKey {
    TicketKey::new([name; KEY_NAME_LEN], TicketAead::Aes256Gcm, &[name; 32]).unwrap()
}

fn rng() -> Box<dyn Random> {
    use rand_core::SeedableRng;
    Box::new(rand_chacha::ChaCha20Rng::seed_from_u64(9))
}

#[test]
fn a_ticketer_reports_the_name_of_the_key_its_tickets_start_with() {
    let mut t = Ticketer::new(key(0xa1));
    assert_eq!(t.current_key_name(), [0xa1; KEY_NAME_LEN]);
    let ticket = t.seal(b"state", &mut *rng()).unwrap();
    assert_eq!(ticket[..KEY_NAME_LEN], t.current_key_name());
    assert_eq!(t.previous_key_name(), None);

    t.rotate(key(0xb2)).unwrap();
    assert_eq!(t.current_key_name(), [0xb2; KEY_NAME_LEN]);
    assert_eq!(t.previous_key_name(), Some([0xa1; KEY_NAME_LEN]));
    let ticket = t.seal(b"state", &mut *rng()).unwrap();
    assert_eq!(ticket[..KEY_NAME_LEN], [0xb2; KEY_NAME_LEN]);

    t.retire_previous();
    assert_eq!(t.current_key_name(), [0xb2; KEY_NAME_LEN]);
    assert_eq!(t.previous_key_name(), None);
}

#[test]
fn a_ticket_key_reports_the_name_it_was_given() {
    let k = TicketKey::new([0x3c; KEY_NAME_LEN], TicketAead::ChaCha20Poly1305, &[1; 32]).unwrap();
    assert_eq!(k.name(), [0x3c; KEY_NAME_LEN]);
    assert_eq!(k.aead(), TicketAead::ChaCha20Poly1305);
    assert_eq!(Ticketer::new(k).current_key_name(), [0x3c; KEY_NAME_LEN]);
}
