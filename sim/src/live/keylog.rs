//! NSS key log files (`SSLKEYLOGFILE`, read by Wireshark) from the core's
//! [`Event::SecretDerived`] events: one line per secret, `LABEL CLIENT_RANDOM SECRET`.
//!
//! The writer works on any `io::Write`, so simulated runs can write key logs with it too.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;
use zerortt_core::Event;

/// The key log lines (without newlines) of the secrets in `events`, in order.
pub fn lines(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::SecretDerived(entry) => Some(entry.to_string()),
            _ => None,
        })
        .collect()
}

/// Appends key log lines to a writer.
pub struct KeyLogWriter<W: Write> {
    out: W,
    lines_written: usize,
}

impl KeyLogWriter<File> {
    /// Opens `path` for appending (created if missing), as NSS and OpenSSL do with
    /// `SSLKEYLOGFILE`, so several runs can share one file.
    pub fn append(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self::new(file))
    }
}

impl<W: Write> KeyLogWriter<W> {
    /// A writer onto `out`.
    pub fn new(out: W) -> Self {
        Self {
            out,
            lines_written: 0,
        }
    }

    /// Writes the lines of the secrets in `events` and flushes, so a capture tool reading
    /// the file meanwhile sees them. Returns how many lines were written.
    pub fn write_events(&mut self, events: &[Event]) -> io::Result<usize> {
        let lines = lines(events);
        for line in &lines {
            writeln!(self.out, "{line}")?;
        }
        self.out.flush()?;
        self.lines_written += lines.len();
        Ok(lines.len())
    }

    /// Lines written so far.
    pub fn lines_written(&self) -> usize {
        self.lines_written
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerortt_core::crypto::keylog::{KeyLogEntry, KeyLogLabel};

    #[test]
    fn only_secret_events_become_lines_in_nss_format() {
        let events = vec![
            Event::HelloRetryRequest,
            Event::SecretDerived(KeyLogEntry::new(
                KeyLogLabel::ClientEarlyTrafficSecret,
                [0x11; 32],
                vec![0xab, 0xcd],
            )),
        ];
        let mut w = KeyLogWriter::new(Vec::new());
        assert_eq!(w.write_events(&events).unwrap(), 1);
        let text = String::from_utf8(w.into_inner()).unwrap();
        assert_eq!(
            text,
            format!("CLIENT_EARLY_TRAFFIC_SECRET {} abcd\n", "11".repeat(32))
        );
    }
}
