//! The `codec` target: arbitrary bytes into every decoder of the wire codec.
//!
//! Oracle `codec_round_trip`: a value that decodes from all of the input re-encodes to the
//! identical bytes and decodes again to the same value. The transcript hash and the PSK
//! binders are computed over the bytes as received, so a decoder that accepts two spellings
//! of one value would let the two ends hash different bytes (RFC 9846 section 4.4.1).
//! Oracle `deframer_round_trip`: records and handshake messages the deframers pop are
//! exactly the bytes pushed, in order, within their memory bounds, and errors are sticky.

use crate::codec::{Codec, Reader};
use crate::msgs::alert::Alert;
use crate::msgs::deframer::{HandshakeJoiner, RecordDeframer, DEFRAMER_CAPACITY, JOINER_CAPACITY};
use crate::msgs::enums::{
    AlertDescription, AlertLevel, CipherSuite, ContentType, ExtensionType, HandshakeType,
    KeyUpdateRequest, NamedGroup, ProtocolVersion, PskKeyExchangeMode, ServerNameType,
    SignatureScheme,
};
use crate::msgs::extensions::{
    CertificateExtension, CertificateRequestExtension, ClientExtension, HelloRetryExtension,
    KeyShareEntry, NewSessionTicketExtension, PresharedKeyIdentity, PresharedKeyOffer,
    ServerExtension, ServerNameEntry,
};
use crate::msgs::handshake::{
    truncate_for_binders, CertificateEntry, CertificatePayload, CertificateRequest,
    CertificateVerify, ClientHello, HandshakeMessage, HandshakePayload, NewSessionTicket,
};
use crate::msgs::record::{InnerPlaintext, Record};
use crate::tickets::session::{ClientSession, ServerSessionValue};
use std::fmt::Debug;

/// Feeds `data` to every decoder and checks the round-trip oracles; panics on a violation
/// (see the [module documentation](self)).
pub fn codec(data: &[u8]) {
    // Whole-input decoders.
    round_trip::<Record>(data);
    round_trip::<InnerPlaintext>(data);
    round_trip::<Alert>(data);
    round_trip::<ContentType>(data);
    round_trip::<ProtocolVersion>(data);
    round_trip::<HandshakeType>(data);
    round_trip::<CipherSuite>(data);
    round_trip::<ExtensionType>(data);
    round_trip::<NamedGroup>(data);
    round_trip::<SignatureScheme>(data);
    round_trip::<AlertDescription>(data);
    round_trip::<AlertLevel>(data);
    round_trip::<PskKeyExchangeMode>(data);
    round_trip::<ServerNameType>(data);
    round_trip::<KeyUpdateRequest>(data);
    round_trip::<KeyShareEntry>(data);
    round_trip::<ServerNameEntry>(data);
    round_trip::<PresharedKeyIdentity>(data);
    round_trip::<PresharedKeyOffer>(data);
    round_trip::<ClientExtension>(data);
    round_trip::<ServerExtension>(data);
    round_trip::<HelloRetryExtension>(data);
    round_trip::<NewSessionTicketExtension>(data);
    round_trip::<CertificateRequestExtension>(data);
    round_trip::<CertificateExtension>(data);
    round_trip::<CertificateEntry>(data);
    round_trip::<CertificatePayload>(data);
    round_trip::<CertificateRequest>(data);
    round_trip::<CertificateVerify>(data);
    round_trip::<NewSessionTicket>(data);
    round_trip::<ClientSession>(data);
    round_trip::<ServerSessionValue>(data);
    if let Some(ch) = round_trip::<ClientHello>(data) {
        client_hello_binders(&ch);
    }
    if let Some(msg) = round_trip::<HandshakeMessage>(data) {
        assert_eq!(
            msg.typ,
            msg.payload.typ(),
            "oracle codec_round_trip: a decoded handshake message's msg_type {:?} differs \
             from its body's {:?}",
            msg.typ,
            msg.payload.typ()
        );
        if let HandshakePayload::ClientHello(ch) = &msg.payload {
            client_hello_binders(ch);
        }
    }
    // A prefix decoder must stop exactly where the re-encoding ends.
    prefix_round_trip::<Record>(data);
    prefix_round_trip::<HandshakeMessage>(data);
    deframe(data);
    join(data);
}

/// `T::read_bytes(data)`; if it decodes, the encoding is `data` and decodes to the same value.
fn round_trip<T: Codec + Debug + PartialEq>(data: &[u8]) -> Option<T> {
    let value = T::read_bytes(data).ok()?;
    let encoded = value.get_encoding();
    assert!(
        encoded == data,
        "oracle codec_round_trip: {} decoded from {:02x?} re-encodes to {:02x?} ({:?})",
        std::any::type_name::<T>(),
        data,
        encoded,
        value
    );
    let again = T::read_bytes(&encoded);
    assert!(
        again.as_ref() == Ok(&value),
        "oracle codec_round_trip: {} re-decodes differently: {:?} then {:?}",
        std::any::type_name::<T>(),
        value,
        again
    );
    Some(value)
}

/// `T::read` from the front of `data`; the re-encoding is exactly the bytes consumed.
fn prefix_round_trip<T: Codec + Debug>(data: &[u8]) {
    let mut r = Reader::new(data);
    let Ok(value) = T::read(&mut r) else {
        return;
    };
    let used = r.used();
    let encoded = value.get_encoding();
    assert!(
        data.get(..used) == Some(encoded.as_slice()),
        "oracle codec_round_trip: {} read {} bytes of {:02x?} but re-encodes to {:02x?}",
        std::any::type_name::<T>(),
        used,
        data,
        encoded
    );
}

/// The binders of a decoded ClientHello are the tail of its encoding (RFC 9846 4.3.11.2),
/// so truncating for binders must work and keep a strict prefix.
fn client_hello_binders(ch: &ClientHello) {
    if ch.psk_offer().is_none() {
        return;
    }
    let encoded = HandshakeMessage::new(HandshakePayload::ClientHello(ch.clone())).get_encoding();
    let truncated = truncate_for_binders(&encoded, ch.binders_len());
    assert!(
        truncated.is_some_and(|t| encoded.starts_with(t) && t.len() < encoded.len()),
        "oracle codec_round_trip: binders of a decoded ClientHello are not its tail: {ch:?}"
    );
}

/// Pushes `data` into a record deframer in slices of varying size (taken from the data
/// itself); the popped records re-encode to exactly the bytes pushed, in order.
fn deframe(data: &[u8]) {
    let mut d = RecordDeframer::new();
    let mut pushed = 0usize;
    let mut popped: Vec<u8> = Vec::new();
    let mut step = 0usize;
    // Bounded: each iteration either pushes at least one byte or ends.
    while pushed < data.len() {
        let want = chunk_len(data, step);
        step += 1;
        let end = pushed.saturating_add(want).min(data.len());
        let took = d.push(&data[pushed..end]);
        pushed += took;
        assert!(
            d.buffered_len() <= DEFRAMER_CAPACITY,
            "oracle deframer_round_trip: the deframer holds {} bytes, over its capacity",
            d.buffered_len()
        );
        loop {
            match d.pop() {
                Ok(Some(record)) => record.encode(&mut popped),
                Ok(None) => break,
                Err(e) => {
                    assert_eq!(
                        d.pop(),
                        Err(e.clone()),
                        "oracle deframer_round_trip: a deframer error is not sticky"
                    );
                    check_prefix(data, &popped, "records");
                    return;
                }
            }
        }
        if took == 0 {
            break;
        }
    }
    check_prefix(data, &popped, "records");
    assert_eq!(
        popped.len() + d.buffered_len(),
        pushed,
        "oracle deframer_round_trip: popped plus buffered bytes differ from bytes pushed"
    );
}

/// Pushes `data` as handshake record contents; popped messages are the bytes pushed, in
/// order, and each message's raw bytes are its encoding.
fn join(data: &[u8]) {
    let mut j = HandshakeJoiner::new();
    let mut pushed = 0usize;
    let mut popped: Vec<u8> = Vec::new();
    let mut step = 3usize;
    while pushed < data.len() {
        let end = pushed.saturating_add(chunk_len(data, step)).min(data.len());
        step += 1;
        if j.push(&data[pushed..end]).is_err() {
            break;
        }
        pushed = end;
        assert!(
            j.buffered_len() <= JOINER_CAPACITY,
            "oracle deframer_round_trip: the joiner holds {} bytes, over its capacity",
            j.buffered_len()
        );
        loop {
            match j.pop() {
                Ok(Some((msg, raw))) => {
                    let encoded = msg.get_encoding();
                    assert!(
                        encoded == raw,
                        "oracle deframer_round_trip: joined message {msg:?} re-encodes to \
                         {encoded:02x?}, not its raw bytes {raw:02x?}"
                    );
                    popped.extend_from_slice(&raw);
                }
                Ok(None) => break,
                Err(e) => {
                    assert_eq!(
                        j.pop(),
                        Err(e.clone()),
                        "oracle deframer_round_trip: a joiner error is not sticky"
                    );
                    check_prefix(data, &popped, "handshake messages");
                    return;
                }
            }
        }
    }
    check_prefix(data, &popped, "handshake messages");
}

/// Slice sizes 1..=1024 driven by the data, so that splits land everywhere.
fn chunk_len(data: &[u8], step: usize) -> usize {
    let b = data.get(step % data.len().max(1)).copied().unwrap_or(0);
    1 + usize::from(b) * 4
}

fn check_prefix(data: &[u8], popped: &[u8], what: &str) {
    assert!(
        data.starts_with(popped),
        "oracle deframer_round_trip: popped {what} are not the bytes pushed: {popped:02x?} vs \
         {data:02x?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codec_harness_accepts_garbage_and_real_records() {
        codec(&[]);
        codec(&[0xff; 3]);
        codec(&[22, 3, 1, 0, 4, 5, 0, 0, 0]);
        codec(&[5, 0, 0, 0]);
        codec(&[21, 3, 3, 0, 2, 2, 40, 23, 3, 3, 0, 1, 0]);
    }
}
