//! What the `Debug` and `Display` renderings of the connection and ticket types show: the
//! facts an operator needs (sizes, limits, the error), never a secret (PSKs, ticket keys).

#[path = "common/pair.rs"]
mod pair;

use pair::*;
use std::time::Duration;
use zerortt_core::conn::config::{ClientConfig, ServerConfig};
use zerortt_core::identity::test_identity;
use zerortt_core::msgs::enums::CipherSuite;
use zerortt_core::tickets::cache::SessionCache;
use zerortt_core::tickets::session::ServerSessionValue;
use zerortt_core::tickets::ticketer::{
    SealError, TicketAead, TicketKey, TicketKeyError, Ticketer, KEY_NAME_LEN, MAX_PLAINTEXT_LEN,
};
use zerortt_core::time::Timestamp;
use zerortt_core::verify::ServerTrust;
use zerortt_core::{ApiMisuse, ConnError, Error, PeerMisbehaved};

#[test]
fn a_server_session_value_shows_its_parameters_and_redacts_its_psk() {
    let value = ServerSessionValue {
        suite: CipherSuite::TLS13_AES_128_GCM_SHA256,
        psk: vec![0xab; 32],
        max_early_data: 4321,
        alpn: Some(b"h2".to_vec()),
        server_name: Some("example.test".into()),
        age_add: 99,
        issued_at: Timestamp::SIM_EPOCH,
        lifetime_s: 7200,
    };
    let shown = format!("{value:?}");
    assert!(shown.starts_with("ServerSessionValue"), "{shown}");
    assert!(
        shown.contains("4321") && shown.contains("example.test"),
        "{shown}"
    );
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(!shown.contains("171"), "0xab never appears: {shown}");
}

#[test]
fn a_ticket_key_shows_its_name_and_aead_but_not_its_key() {
    let key = TicketKey::new([5; KEY_NAME_LEN], TicketAead::ChaCha20Poly1305, &[0xcd; 32])
        .expect("a 32-byte key");
    let shown = format!("{key:?}");
    assert!(shown.starts_with("TicketKey"), "{shown}");
    assert!(
        shown.contains("ChaCha20Poly1305") && shown.contains("[5, 5"),
        "{shown}"
    );
    assert!(!shown.contains("205"), "0xcd never appears: {shown}");
    let ticketer = Ticketer::new(key);
    assert!(!format!("{ticketer:?}").contains("205"));
}

#[test]
fn ticket_key_and_seal_errors_say_what_was_wrong() {
    let short = TicketKey::new([1; KEY_NAME_LEN], TicketAead::Aes256Gcm, &[0; 16]).unwrap_err();
    assert_eq!(short.to_string(), "ticket key must be 32 bytes, got 16");
    assert_eq!(
        TicketKeyError::DuplicateKeyName.to_string(),
        "new ticket key has the current key's name"
    );
    let ticketer = Ticketer::new(TicketKey::new([1; 16], TicketAead::Aes256Gcm, &[0; 32]).unwrap());
    let err = ticketer
        .seal(&vec![0; MAX_PLAINTEXT_LEN + 1], &mut *rng(1))
        .unwrap_err();
    assert_eq!(
        err,
        SealError::PlaintextTooLong {
            len: MAX_PLAINTEXT_LEN + 1,
            max: MAX_PLAINTEXT_LEN
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "ticket plaintext of {} bytes exceeds {MAX_PLAINTEXT_LEN}",
            MAX_PLAINTEXT_LEN + 1
        )
    );
}

#[test]
fn a_session_cache_shows_its_size_capacity_and_timeout() {
    let mut cache: SessionCache<u8> = SessionCache::with_limits(3, Duration::from_secs(60));
    let _ = cache.insert(vec![1], 1, Timestamp::SIM_EPOCH);
    assert_eq!(
        format!("{cache:?}"),
        "SessionCache { len: 1, capacity: 3, timeout: 60s }"
    );
}

#[test]
fn configs_show_their_early_data_settings() {
    let sc = ServerConfig::new(test_identity::ed25519());
    sc.set_max_early_data(1234);
    sc.set_recv_max_early_data(5678);
    sc.set_no_anti_replay(true);
    let shown = format!("{sc:?}");
    for part in [
        "ServerConfig",
        "max_early_data: 1234",
        "recv_max_early_data: 5678",
        "no_anti_replay: true",
        "num_tickets: 2",
    ] {
        assert!(shown.contains(part), "{part} in {shown}");
    }
    let mut cc = ClientConfig::new(ServerTrust::test_ca());
    cc.middlebox_compat = true;
    let shown = format!("{cc:?}");
    assert!(
        shown.starts_with("ClientConfig") && shown.contains("middlebox_compat: true"),
        "{shown}"
    );
}

#[test]
fn a_connection_shows_its_side_early_data_status_and_error() {
    let mut pair = Pair::new(&client_config(), &server_config(16384), None, 2);
    let shown = format!("{:?}", pair.client);
    for part in [
        "Connection",
        "side: Client",
        "early_data_status: NotSent",
        "handshake_complete: false",
        "error: None",
    ] {
        assert!(shown.contains(part), "{part} in {shown}");
    }
    pair.handshake();
    let shown = format!("{:?}", pair.server);
    assert!(
        shown.contains("side: Server") && shown.contains("handshake_complete: true"),
        "{shown}"
    );
}

#[test]
fn conn_errors_render_as_what_the_application_must_do() {
    assert_eq!(ConnError::WantRead.to_string(), "want read");
    assert_eq!(ConnError::Closed.to_string(), "closed by peer");
    assert_eq!(
        ConnError::from(ApiMisuse::EarlyDataNotFinished).to_string(),
        "API misuse: EarlyDataNotFinished"
    );
    assert_eq!(
        ApiMisuse::EarlyDataLimitExceeded { remaining: 7 }.to_string(),
        "EarlyDataLimitExceeded { remaining: 7 }"
    );
    let fatal = ConnError::from(Error::PeerMisbehaved(PeerMisbehaved::TooMuchEarlyData));
    assert_eq!(
        fatal,
        ConnError::Fatal(Error::PeerMisbehaved(PeerMisbehaved::TooMuchEarlyData))
    );
    assert!(fatal.to_string().starts_with("fatal: "), "{fatal}");
}
