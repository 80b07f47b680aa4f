//! The oracles (listed in the module documentation of [`super`]): per event, per call and
//! at the end of a run. A violation is recorded, and the run stops after the step.

use super::driver::{side_index, Run, MIN_PROTECTED_OVERHEAD};
use super::{AppCall, TraceEntry};
use crate::conn::events::KeyEpoch;
use crate::error::Error;
use crate::msgs::enums::{AlertDescription, ContentType, HandshakeType};
use crate::msgs::record::RECORD_HEADER_LEN;
use crate::{ConnError, EarlyDataStatus, Event, Side};

impl Run {
    /// Keeps events for the trace and checks the per-event oracles.
    pub(super) fn record_events(&mut self, side: Side, events: Vec<Event>) {
        for event in events {
            match (&event, side) {
                (Event::EarlyDataReceived { bytes, .. }, Side::Server) => {
                    self.early_received_total = self.early_received_total.saturating_add(*bytes);
                    let limit = self.server_limit();
                    if self.early_received_total > limit {
                        self.violate(format!(
                        "oracle early_data_within_limit: the server accepted {} bytes of early \
                         data, over min(session max_early_data, recv_max_early_data) = {limit}",
                        self.early_received_total
                        ));
                    }
                }
                (Event::HandshakeReceived(typ), Side::Server) => {
                    self.server_last_handshake = Some(*typ);
                }
                // What the server accepted, not what it saw: it moved on from an
                // EndOfEarlyData, and the one that can end its early data had a body.
                (Event::StateEntered(state), Side::Server)
                    if self.server_last_handshake == Some(HandshakeType::EndOfEarlyData)
                        && self.first_early_eoed_body == Some(true) =>
                {
                    self.violate(format!(
                        "oracle malformed_end_of_early_data_refused: the server took an \
                         EndOfEarlyData with a body under the early keys and entered {state} \
                         (RFC 9846 4.6: `struct {{}} EndOfEarlyData;`, a body is a decode_error)"
                    ));
                }
                (Event::EarlyDataAccepted { limit }, Side::Server) => {
                    self.server_accepted_early_data = true;
                    if let Some(why) = self.early_data_forbidden() {
                        self.violate(format!(
                            "oracle early_data_accepted_only_when_allowed: the server accepted \
                             early data although {why}"
                        ));
                    }
                    let max = self.server_limit();
                    if *limit as usize > max {
                        self.violate(format!(
                            "oracle early_data_within_limit: the server accepted early data with \
                         limit {limit}, over min(session max_early_data, recv_max_early_data) \
                         = {max}"
                        ));
                    }
                }
                (
                    Event::RecordReceived {
                        epoch: KeyEpoch::Application,
                        typ: ContentType::ApplicationData,
                        len,
                    },
                    _,
                ) => {
                    let i = side_index(side);
                    let content = len.saturating_sub(RECORD_HEADER_LEN + MIN_PROTECTED_OVERHEAD);
                    self.app_received[i] = self.app_received[i].saturating_add(content);
                }
                (Event::AlertReceived(AlertDescription::CloseNotify), _) => {
                    let i = side_index(side);
                    if self.close_cutoff[i].is_none() {
                        self.close_cutoff[i] = Some(self.app_received[i]);
                    }
                }
                (
                    Event::PskAccepted {
                        external: false, ..
                    },
                    Side::Server,
                ) if self.anti_replay() && self.ticket_still_cached() => {
                    self.violate(
                        "oracle single_use_ticket_consumed: the server resumed with anti-replay \
                         on and the ticket is still in its session cache (SSL_read_early_data(3): \
                         \"If it exists then the resumption is allowed and the session is \
                         removed from the cache\")"
                            .into(),
                    );
                }
                (Event::PskAccepted { .. }, Side::Server) if self.forged_hellos > 0 => {
                    self.violate(format!(
                        "oracle psk_binder_verified: the server accepted a PSK from a \
                         ClientHello whose binder was forged ({} forged so far; RFC 9846 \
                         4.2.11: \"If this value does not validate, the server MUST abort the \
                         handshake\")",
                        self.forged_hellos
                    ));
                }
                (Event::EarlyDataSkipped { budget_used, .. }, Side::Server)
                    if *budget_used > self.scenario.recv_max_early_data as usize
                        && self.server.error().is_none() =>
                {
                    self.violate(format!(
                        "oracle skip_budget_enforced: the server skipped {budget_used} bytes of \
                         rejected early data, over recv_max_early_data {}, and carried on",
                        self.scenario.recv_max_early_data
                    ));
                }
                (Event::EarlyDataWritten { total, .. }, Side::Client) => {
                    let max = self.session_max();
                    if *total > max {
                        self.violate(format!(
                            "oracle early_data_within_limit: the client wrote {total} bytes of \
                         early data, over the session's max_early_data {max}"
                        ));
                    }
                }
                _ => {}
            }
            self.trace.push(TraceEntry::Event { side, event });
        }
    }

    pub(super) fn check_errors(
        &mut self,
        side: Side,
        call: AppCall,
        before: Option<Error>,
        result: &Result<(), ConnError>,
    ) {
        if let Err(ConnError::Fatal(Error::Internal(what))) = result {
            self.violate(format!(
                "oracle no_internal_error: {side:?}.{call:?} failed with Internal({what:?})"
            ));
        }
        // send_close_notify returns nothing to compare.
        if let Some(e) = before.as_ref().filter(|_| call != AppCall::CloseNotify) {
            if *result != Err(ConnError::Fatal(e.clone())) {
                self.violate(format!(
                    "oracle errors_are_sticky: after {e:?}, {side:?}.{call:?} returned {result:?}"
                ));
            }
        }
        if let Err(ConnError::Fatal(e)) = result {
            let stored = self.conn(side).error().cloned();
            if stored.as_ref() != Some(e) {
                self.violate(format!(
                    "oracle errors_are_sticky: {side:?}.{call:?} failed with {e:?} but the \
                     connection keeps {stored:?} as its error"
                ));
            }
            self.sticky[side_index(side)] = Some(e.clone());
        }
    }

    /// Records an oracle violation (the first one wins).
    pub(super) fn violate(&mut self, msg: String) {
        if self.violation.is_none() {
            self.violation = Some(msg);
        }
    }

    // ----- the end ----------------------------------------------------------------------

    pub(super) fn final_oracles(&mut self) {
        if !self.early_sent.starts_with(&self.early_read) {
            self.violate(format!(
                "oracle early_data_is_a_prefix: the server read {} bytes of early data that are \
             not a prefix of the {} bytes sent",
                self.early_read.len(),
                self.early_sent.len()
            ));
        }
        for side in [Side::Client, Side::Server] {
            let i = side_index(side);
            if !self.app_sent[i].starts_with(&self.app_read[i]) {
                self.violate(format!(
                    "oracle application_data_is_a_prefix: the {side:?} read {} bytes that are not \
                 a prefix of the {} bytes sent to it",
                    self.app_read[i].len(),
                    self.app_sent[i].len()
                ));
            }
        }
        for side in [Side::Client, Side::Server] {
            let i = side_index(side);
            if let Some(cutoff) = self.close_cutoff[i] {
                if self.app_read[i].len() > cutoff {
                    self.violate(format!(
                    "oracle no_data_after_close_notify: the {side:?} application read {} bytes, \
                     but only {cutoff} arrived before close_notify (RFC 9846 6.1: \"Any data \
                     received after a closure alert has been received MUST be ignored\")",
                    self.app_read[i].len()
                    ));
                }
            }
        }
        if self.early_read.len() > self.server_limit() {
            self.violate(format!(
                "oracle early_data_within_limit: the server application read {} bytes of early \
             data, over min(session max_early_data, recv_max_early_data) = {}",
                self.early_read.len(),
                self.server_limit()
            ));
        }
        if self.client.early_data_status() == EarlyDataStatus::Accepted
            && !self.server_accepted_early_data
        {
            self.violate(
                "oracle early_data_status_agrees: the client reports Accepted but the server \
                 never accepted early data"
                    .into(),
            );
        }
        if self.honest_exchange()
            && !(self.client.is_init_finished() && self.server.is_init_finished())
        {
            self.violate(format!(
                "oracle honest_handshake_completes: every record was forwarded as sent, yet \
                 the handshake did not complete (client error {:?}, server error {:?})",
                self.client.error(),
                self.server.error()
            ));
        }
        if self.client.is_init_finished() && self.server.is_init_finished() {
            let (c, s) = (
                self.client.early_data_status(),
                self.server.early_data_status(),
            );
            if c != s {
                self.violate(format!(
                    "oracle early_data_status_agrees: both sides completed the handshake but \
                     the client says {c:?} and the server {s:?}"
                ));
            }
        }
        for side in [Side::Client, Side::Server] {
            if let Some(Error::Internal(what)) = self.conn(side).error() {
                let msg =
                    format!("oracle no_internal_error: {side:?} failed with Internal({what:?})");
                self.violate(msg);
            }
        }
    }
}
