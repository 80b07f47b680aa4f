//! The seeded RAND method: OpenSSL's random bytes are the installed source's, and without
//! one OpenSSL's draws fail instead of falling back to its own DRBG.

use zerortt_ossl::ffi::{install_seeded_random, with_random};

#[test]
fn openssl_draws_its_random_bytes_from_the_source_installed_on_the_calling_thread() {
    assert!(install_seeded_random());
    let mut counter = 0u8;
    let source = move |buf: &mut [u8]| {
        for b in buf {
            *b = counter;
            counter = counter.wrapping_add(1);
        }
    };
    let mut buf = [0u8; 8];
    with_random(source, || openssl::rand::rand_bytes(&mut buf)).unwrap();
    assert_eq!(buf, [0, 1, 2, 3, 4, 5, 6, 7]);
    // RAND_priv_bytes (private keys) goes through the same method.
    let mut key = [0u8; 4];
    with_random(
        |b: &mut [u8]| b.fill(9),
        || openssl::rand::rand_priv_bytes(&mut key),
    )
    .unwrap();
    assert_eq!(key, [9; 4]);
}

#[test]
fn without_a_source_openssls_random_bytes_fail_instead_of_falling_back() {
    assert!(install_seeded_random());
    let mut buf = [0u8; 8];
    assert!(openssl::rand::rand_bytes(&mut buf).is_err());
    // Another thread's source is not this thread's.
    let handle = std::thread::spawn(|| {
        let mut buf = [0u8; 8];
        with_random(
            |b: &mut [u8]| b.fill(1),
            || openssl::rand::rand_bytes(&mut buf),
        )
        .map(|()| buf)
    });
    assert_eq!(handle.join().unwrap().unwrap(), [1; 8]);
    assert!(openssl::rand::rand_bytes(&mut buf).is_err());
}

#[test]
fn an_x25519_key_generated_by_openssl_follows_from_the_source() {
    let key = |fill: u8| {
        with_random(
            move |b: &mut [u8]| b.fill(fill),
            || {
                let k = openssl::pkey::PKey::generate_x25519().unwrap();
                k.raw_public_key().unwrap()
            },
        )
    };
    assert_eq!(key(3), key(3));
    assert_ne!(key(3), key(4));
}
