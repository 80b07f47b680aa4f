//! The session file of `zerortt connect --sess-out/--sess-in`: one resumable session
//! (ticket, PSK, max_early_data, ALPN, SNI, ticket age data) in a small text format.
//!
//! ```text
//! zerortt-session 1
//! # informational lines, ignored when read:
//! server_name: localhost
//! alpn: h2
//! suite: TLS13_AES_128_GCM_SHA256
//! max_early_data: 16384
//! lifetime_s: 7200
//! received_at_unix_ms: 1767225600000
//! session: 0200130100...
//! ```
//!
//! Only the first line and `session:` count: `session` is the hex of
//! [`ClientSession::to_bytes`] (which carries its own version byte). It is not OpenSSL's
//! `-----BEGIN SSL SESSION PARAMETERS-----` PEM (an ASN.1 `SSL_SESSION`): the two tools
//! cannot read each other's files. The file holds the resumption PSK: keep it private.

use super::LiveError;
use std::path::Path;
use zerortt_core::tickets::session::ClientSession;

/// The first line of every session file; the number is the format version.
pub const MAGIC: &str = "zerortt-session 1";

/// The text of a session file for `session`.
pub fn encode(session: &ClientSession) -> String {
    let mut out = String::new();
    out.push_str(MAGIC);
    out.push('\n');
    out.push_str("# zerortt session file (not OpenSSL's PEM SSL_SESSION); holds a secret PSK\n");
    if let Some(name) = &session.server_name {
        out.push_str(&format!("server_name: {name}\n"));
    }
    if let Some(alpn) = &session.alpn {
        out.push_str(&format!("alpn: {}\n", super::printable(alpn)));
    }
    out.push_str(&format!("suite: {:?}\n", session.suite));
    out.push_str(&format!("max_early_data: {}\n", session.max_early_data()));
    out.push_str(&format!("lifetime_s: {}\n", session.lifetime_s));
    out.push_str(&format!(
        "received_at_unix_ms: {}\n",
        session.received_at.as_millis()
    ));
    out.push_str("session: ");
    for b in session.to_bytes() {
        out.push_str(&format!("{b:02x}"));
    }
    out.push('\n');
    out
}

/// Parses the text of a session file; `origin` names it in messages.
pub fn decode(text: &str, origin: &str) -> Result<ClientSession, LiveError> {
    let mut lines = text.lines();
    if lines.next().map(str::trim_end) != Some(MAGIC) {
        let hint = if text.contains("BEGIN SSL SESSION PARAMETERS") {
            " (this is OpenSSL's -sess_out PEM format, which zerortt cannot read)"
        } else {
            ""
        };
        return Err(LiveError::usage(format!(
            "{origin} line 1: expected '{MAGIC}'{hint}"
        )));
    }
    for (index, line) in text.lines().enumerate().skip(1) {
        let Some(hex) = line.strip_prefix("session:") else {
            continue;
        };
        let bytes = from_hex(hex.trim()).ok_or_else(|| {
            LiveError::usage(format!(
                "{origin} line {}: 'session:' needs an even number of hex digits",
                index + 1
            ))
        })?;
        return ClientSession::from_bytes(&bytes).map_err(|e| {
            LiveError::usage(format!(
                "{origin} line {}: not a session this version can read: {e:?}",
                index + 1
            ))
        });
    }
    Err(LiveError::usage(format!("{origin}: no 'session:' line")))
}

/// Writes `session` to `path`.
pub fn write(path: &Path, session: &ClientSession) -> Result<(), LiveError> {
    std::fs::write(path, encode(session))
        .map_err(|e| LiveError::usage(format!("--sess-out {}: {e}", path.display())))
}

/// Reads a session from `path`.
pub fn read(path: &Path) -> Result<ClientSession, LiveError> {
    let text = super::read_payload(path, "--sess-in", 1 << 20)?;
    let text = String::from_utf8(text).map_err(|_| {
        LiveError::usage(format!(
            "--sess-in {}: not a text file (expected '{MAGIC}' on line 1)",
            path.display()
        ))
    })?;
    decode(&text, &format!("--sess-in {}", path.display()))
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerortt_core::msgs::enums::CipherSuite;
    use zerortt_core::time::Timestamp;

    fn session() -> ClientSession {
        let mut s = ClientSession::resumption(
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            vec![1, 2, 3],
            vec![9; 32],
            77,
            7200,
            Timestamp::from_millis(1_767_225_600_000),
        );
        s.set_max_early_data(16384);
        s.server_name = Some("localhost".into());
        s.alpn = Some(b"h2".to_vec());
        s
    }

    #[test]
    fn a_session_survives_a_round_trip_through_its_file_text() {
        let s = session();
        let text = encode(&s);
        assert!(text.starts_with("zerortt-session 1\n"), "{text}");
        assert!(text.contains("max_early_data: 16384\n"), "{text}");
        assert_eq!(decode(&text, "f").unwrap(), s);
    }

    #[test]
    fn an_openssl_pem_session_is_refused_with_a_message_naming_the_format() {
        let pem =
            "-----BEGIN SSL SESSION PARAMETERS-----\nMIIB\n-----END SSL SESSION PARAMETERS-----\n";
        let e = decode(pem, "s.pem").unwrap_err();
        assert!(e.message.contains("s.pem line 1"), "{}", e.message);
        assert!(
            e.message.contains("OpenSSL's -sess_out PEM"),
            "{}",
            e.message
        );
    }

    #[test]
    fn garbled_hex_or_bytes_name_the_line() {
        let e = decode("zerortt-session 1\nsession: abc\n", "f").unwrap_err();
        assert!(e.message.contains("f line 2"), "{}", e.message);
        let e = decode("zerortt-session 1\nx: y\nsession: 00ff\n", "f").unwrap_err();
        assert!(e.message.contains("f line 3"), "{}", e.message);
        let e = decode("zerortt-session 1\n", "f").unwrap_err();
        assert!(e.message.contains("no 'session:' line"), "{}", e.message);
    }
}
