//! NSS key log lines (the `SSLKEYLOGFILE` format read by Wireshark) as plain data: the
//! connection emits [`KeyLogEntry`] values as events, and whoever writes the file prints
//! them with `Display`.

use std::fmt;

/// The label of a key log line, one per TLS 1.3 secret that decrypts or exports traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyLogLabel {
    /// client_early_traffic_secret (0-RTT data).
    ClientEarlyTrafficSecret,
    /// client_handshake_traffic_secret.
    ClientHandshakeTrafficSecret,
    /// server_handshake_traffic_secret.
    ServerHandshakeTrafficSecret,
    /// client_application_traffic_secret_0.
    ClientTrafficSecret0,
    /// server_application_traffic_secret_0.
    ServerTrafficSecret0,
    /// early_exporter_master_secret.
    EarlyExporterSecret,
    /// exporter_master_secret.
    ExporterSecret,
}

impl KeyLogLabel {
    /// Every label, in key schedule order.
    pub const ALL: [KeyLogLabel; 7] = [
        Self::ClientEarlyTrafficSecret,
        Self::ClientHandshakeTrafficSecret,
        Self::ServerHandshakeTrafficSecret,
        Self::ClientTrafficSecret0,
        Self::ServerTrafficSecret0,
        Self::EarlyExporterSecret,
        Self::ExporterSecret,
    ];

    /// The label NSS spells `name`; `None` for others (TLS 1.2's `CLIENT_RANDOM`, ...).
    pub fn from_nss(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == name)
    }

    /// The label exactly as NSS writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientEarlyTrafficSecret => "CLIENT_EARLY_TRAFFIC_SECRET",
            Self::ClientHandshakeTrafficSecret => "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            Self::ServerHandshakeTrafficSecret => "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            Self::ClientTrafficSecret0 => "CLIENT_TRAFFIC_SECRET_0",
            Self::ServerTrafficSecret0 => "SERVER_TRAFFIC_SECRET_0",
            Self::EarlyExporterSecret => "EARLY_EXPORTER_SECRET",
            Self::ExporterSecret => "EXPORTER_SECRET",
        }
    }
}

impl fmt::Display for KeyLogLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One key log line: the label, the ClientHello.random that identifies the connection,
/// and the secret. `Display` writes the line without a trailing newline.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyLogEntry {
    /// Which secret this is.
    pub label: KeyLogLabel,
    /// The client's `ClientHello.random`.
    pub client_random: [u8; 32],
    /// The secret (`Hash.length` bytes).
    pub secret: Vec<u8>,
}

impl KeyLogEntry {
    /// An entry for `secret` of the connection whose ClientHello.random is `client_random`.
    pub fn new(label: KeyLogLabel, client_random: [u8; 32], secret: Vec<u8>) -> Self {
        Self {
            label,
            client_random,
            secret,
        }
    }
}

impl fmt::Display for KeyLogEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.label)?;
        for b in &self.client_random {
            write!(f, "{b:02x}")?;
        }
        f.write_str(" ")?;
        for b in &self.secret {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for KeyLogEntry {
    /// Shows which secret and connection without the secret itself, so that a trace
    /// printed with `{:?}` does not leak keys; use `Display` to write the key log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLogEntry")
            .field("label", &self.label)
            .field("secret_len", &self.secret.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_prints_as_one_nss_line_in_lowercase_hex() {
        let e = KeyLogEntry::new(
            KeyLogLabel::ClientEarlyTrafficSecret,
            [0xab; 32],
            vec![0x01, 0xfe],
        );
        assert_eq!(
            e.to_string(),
            format!("CLIENT_EARLY_TRAFFIC_SECRET {} 01fe", "ab".repeat(32))
        );
    }

    #[test]
    fn every_label_reads_back_from_its_nss_spelling_and_others_do_not() {
        for l in KeyLogLabel::ALL {
            assert_eq!(KeyLogLabel::from_nss(l.as_str()), Some(l));
        }
        assert_eq!(KeyLogLabel::from_nss("CLIENT_RANDOM"), None);
    }

    #[test]
    fn every_label_is_spelled_as_nss_spells_it() {
        let all = [
            (
                KeyLogLabel::ClientEarlyTrafficSecret,
                "CLIENT_EARLY_TRAFFIC_SECRET",
            ),
            (
                KeyLogLabel::ClientHandshakeTrafficSecret,
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
            ),
            (
                KeyLogLabel::ServerHandshakeTrafficSecret,
                "SERVER_HANDSHAKE_TRAFFIC_SECRET",
            ),
            (KeyLogLabel::ClientTrafficSecret0, "CLIENT_TRAFFIC_SECRET_0"),
            (KeyLogLabel::ServerTrafficSecret0, "SERVER_TRAFFIC_SECRET_0"),
            (KeyLogLabel::EarlyExporterSecret, "EARLY_EXPORTER_SECRET"),
            (KeyLogLabel::ExporterSecret, "EXPORTER_SECRET"),
        ];
        for (label, text) in all {
            assert_eq!(label.to_string(), text);
        }
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let e = KeyLogEntry {
            label: KeyLogLabel::ExporterSecret,
            client_random: [0; 32],
            secret: vec![0x5a; 32],
        };
        let printed = format!("{e:?}");
        assert!(
            !printed.contains("90") && !printed.contains("5a"),
            "{printed}"
        );
    }
}
