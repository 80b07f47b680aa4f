//! The record layer of one connection: deframing, the current read and write keys (with
//! their [`KeyEpoch`]), fragmentation of outgoing messages, and the server's skipping of
//! rejected early data.

use super::events::{Event, KeyEpoch};
use crate::codec::Codec;
use crate::crypto::key_schedule::Secret;
use crate::crypto::record_protection::{RecordDecrypter, RecordEncrypter};
use crate::crypto::suites::Tls13CipherSuite;
use crate::error::{Error, PeerMisbehaved};
use crate::msgs::alert::Alert;
use crate::msgs::deframer::{HandshakeJoiner, RecordDeframer};
use crate::msgs::enums::{AlertDescription, AlertLevel, ContentType, ProtocolVersion};
use crate::msgs::record::{Record, MAX_FRAGMENT_LEN};

/// The smallest expansion TLS 1.3 record protection adds to a plaintext: one content type
/// byte plus a 16-byte tag (every TLS 1.3 AEAD has a 16-byte tag).
pub const MIN_RECORD_OVERHEAD: usize = 1 + 16;

/// How rejected early data is being skipped (RFC 9846 4.3.10).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SkipMode {
    /// Rejected without HRR: try the handshake keys, drop what fails.
    TrialDecrypt,
    /// After HRR: drop application_data records until ClientHello2 arrives.
    UntilClientHello,
}

#[derive(Clone, Copy, Debug)]
struct Skip {
    mode: SkipMode,
    used: usize,
    budget: usize,
}

pub(super) struct RecordLayer {
    pub(super) deframer: RecordDeframer,
    pub(super) joiner: HandshakeJoiner,
    encrypter: Option<(KeyEpoch, RecordEncrypter)>,
    decrypter: Option<(KeyEpoch, RecordDecrypter)>,
    /// Bytes waiting for `write_tls`.
    pub(super) sendable: Vec<u8>,
    skip: Option<Skip>,
    /// True until the first ClientHello is sent: its record uses legacy version 0x0301.
    first_record: bool,
}

impl RecordLayer {
    pub(super) fn new() -> Self {
        Self {
            deframer: RecordDeframer::new(),
            joiner: HandshakeJoiner::new(),
            encrypter: None,
            decrypter: None,
            sendable: Vec::new(),
            skip: None,
            first_record: true,
        }
    }

    pub(super) fn set_encrypter(
        &mut self,
        epoch: KeyEpoch,
        suite: &Tls13CipherSuite,
        secret: &Secret,
    ) -> Result<(), Error> {
        self.encrypter = Some((epoch, RecordEncrypter::new(suite, secret)?));
        Ok(())
    }

    /// Back to plaintext (a client that got a HelloRetryRequest drops its 0-RTT keys).
    pub(super) fn clear_encrypter(&mut self) {
        self.encrypter = None;
    }

    /// Installs new read keys. RFC 9846 5.1: "Handshake messages MUST NOT span key
    /// changes"; a fragment still buffered is an unexpected_message.
    pub(super) fn set_decrypter(
        &mut self,
        epoch: KeyEpoch,
        suite: &Tls13CipherSuite,
        secret: &Secret,
    ) -> Result<(), Error> {
        if !self.joiner.is_empty() {
            return Err(PeerMisbehaved::KeyEpochWithPendingFragment.into());
        }
        self.decrypter = Some((epoch, RecordDecrypter::new(suite, secret)?));
        Ok(())
    }

    /// The skip budget for rejected early data: each skipped record counts as the largest
    /// plaintext it could carry (its ciphertext length minus [`MIN_RECORD_OVERHEAD`]), and
    /// the sum may not exceed recv_max_early_data. So a client that sends no more early
    /// data than recv_max_early_data is never aborted, however it splits its records, and
    /// a server never skips more than recv_max_early_data + 17 bytes per record. OpenSSL
    /// counts similarly (plaintext-equivalent bytes against recv_max_early_data).
    pub(super) fn start_skipping_by_trial_decryption(&mut self, recv_max_early_data: u32) {
        self.skip = Some(Skip {
            mode: SkipMode::TrialDecrypt,
            used: 0,
            budget: recv_max_early_data as usize,
        });
    }

    /// After a HelloRetryRequest: the same budget, counted over every application_data
    /// record before ClientHello2.
    pub(super) fn start_skipping_until_client_hello(&mut self, recv_max_early_data: u32) {
        self.skip = Some(Skip {
            mode: SkipMode::UntilClientHello,
            used: 0,
            budget: recv_max_early_data as usize,
        });
    }

    /// Removes protection from one record. `Ok(None)` means the record was rejected early
    /// data and has been skipped.
    pub(super) fn open(
        &mut self,
        record: Record,
        events: &mut Vec<Event>,
    ) -> Result<Option<(KeyEpoch, ContentType, Vec<u8>)>, Error> {
        if let Some(skip) = self.skip.as_mut() {
            if record.typ == ContentType::ApplicationData {
                let header = record.header();
                let trial = match (skip.mode, self.decrypter.as_mut()) {
                    (SkipMode::TrialDecrypt, Some((epoch, dec))) => dec
                        .trial_decrypt(&header, &record.payload)
                        .ok()
                        .map(|(t, c)| (*epoch, t, c)),
                    _ => None,
                };
                if let Some(opened) = trial {
                    // "Once a record is deprotected successfully, it is treated as the start
                    // of the client's second flight."
                    self.skip = None;
                    return Ok(Some(opened));
                }
                skip.used = skip
                    .used
                    .saturating_add(record.payload.len().saturating_sub(MIN_RECORD_OVERHEAD));
                events.push(Event::EarlyDataSkipped {
                    len: record.payload.len() + 5,
                    budget_used: skip.used,
                });
                if skip.used > skip.budget
                    && !crate::planted::active(crate::planted::Bug::SkipBudgetIgnored)
                {
                    return Err(PeerMisbehaved::TooMuchRejectedEarlyDataSkipped.into());
                }
                return Ok(None);
            }
            if skip.mode == SkipMode::UntilClientHello && record.typ == ContentType::Handshake {
                self.skip = None;
            }
        }
        match (record.typ, self.decrypter.as_mut()) {
            (ContentType::ApplicationData, Some((epoch, dec))) => {
                let (typ, content) = dec.decrypt(&record.header(), &record.payload)?;
                Ok(Some((*epoch, typ, content)))
            }
            // RFC 9846 5: once protection is on, only alerts may still arrive in the clear
            // (a peer that failed before it had our keys).
            // Not once application keys are in use: then a plaintext alert can only be an
            // injection, and would let anyone on the path close the connection.
            (ContentType::Alert, d) if !matches!(d, Some((KeyEpoch::Application, _))) => {
                Ok(Some((KeyEpoch::Plaintext, record.typ, record.payload)))
            }
            (ContentType::Handshake, None) => {
                Ok(Some((KeyEpoch::Plaintext, record.typ, record.payload)))
            }
            (typ, _) => Err(Error::InappropriateMessage {
                expected: "a protected record",
                got: typ,
            }),
        }
    }

    /// Sends a handshake message, fragmented, under the current write keys.
    pub(super) fn send_handshake(
        &mut self,
        raw: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<(), Error> {
        self.send(ContentType::Handshake, raw, events)
    }

    /// Sends application data under the current write keys (early, or application).
    pub(super) fn send_application_data(
        &mut self,
        data: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<(), Error> {
        match self.encrypter.as_ref().map(|(e, _)| *e) {
            Some(KeyEpoch::Early | KeyEpoch::Application) => {
                self.send(ContentType::ApplicationData, data, events)
            }
            _ => Err(Error::Internal("application data without traffic keys")),
        }
    }

    /// Sends an alert; a fatal alert for everything but close_notify (RFC 9846 6).
    pub(super) fn send_alert(&mut self, description: AlertDescription, events: &mut Vec<Event>) {
        let level = if description == AlertDescription::CloseNotify {
            AlertLevel::Warning
        } else {
            AlertLevel::Fatal
        };
        let body = Alert { level, description }.get_encoding();
        events.push(Event::AlertSent(description));
        // An alert that cannot be protected any more is dropped rather than sent in the clear.
        let _ = self.send(ContentType::Alert, &body, events);
    }

    /// The middlebox-compatibility ChangeCipherSpec (RFC 9846 E.4): always plaintext.
    pub(super) fn send_ccs(&mut self, events: &mut Vec<Event>) {
        self.push_plaintext(ContentType::ChangeCipherSpec, &[1], events);
    }

    fn send(
        &mut self,
        typ: ContentType,
        data: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<(), Error> {
        let mut chunks: Vec<&[u8]> = data.chunks(MAX_FRAGMENT_LEN).collect();
        if chunks.is_empty() {
            // An empty application_data record is legal and carries information (none
            // for handshake/alert, whose callers never send empty bodies).
            chunks.push(&[]);
        }
        for chunk in chunks {
            match self.encrypter.as_mut() {
                Some((epoch, enc)) => {
                    let bytes = enc.encrypt(typ, chunk, 0)?;
                    events.push(Event::RecordSent {
                        epoch: *epoch,
                        typ,
                        len: bytes.len(),
                    });
                    self.sendable.extend_from_slice(&bytes);
                }
                None => {
                    if typ == ContentType::ApplicationData {
                        return Err(Error::Internal("application data in the clear"));
                    }
                    self.push_plaintext(typ, chunk, events);
                }
            }
        }
        Ok(())
    }

    fn push_plaintext(&mut self, typ: ContentType, chunk: &[u8], events: &mut Vec<Event>) {
        // RFC 9846 5.1: legacy_record_version 0x0301 is allowed for the initial ClientHello.
        let version = if self.first_record {
            ProtocolVersion::Tls10
        } else {
            ProtocolVersion::Tls12
        };
        self.first_record = false;
        let record = Record {
            typ,
            version,
            payload: chunk.to_vec(),
        };
        let bytes = record.get_encoding();
        events.push(Event::RecordSent {
            epoch: KeyEpoch::Plaintext,
            typ,
            len: bytes.len(),
        });
        self.sendable.extend_from_slice(&bytes);
    }
}
