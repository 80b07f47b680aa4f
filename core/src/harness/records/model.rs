//! The acceptance model: what the scenario's own knobs allow, written from the scenario and
//! never from the server's state, so the oracles can hold the server to it.

use super::driver::Run;
use super::fixture::fixture;
use super::{AlpnChoice, Step, ALPN_H2};

impl Run {
    /// The server's limit: min(session max_early_data, recv_max_early_data), 0 without a
    /// session.
    pub(super) fn server_limit(&self) -> usize {
        let session_max = self
            .scenario
            .session
            .and_then(|i| fixture().sessions.get(i))
            .map_or(0, |s| s.server.max_early_data);
        session_max.min(self.scenario.recv_max_early_data) as usize
    }

    /// Why the scenario forbids accepting early data, if it does: the rules of
    /// SSL_read_early_data(3) and RFC 9846 4.2.10 / 8.3 applied to the knobs alone.
    pub(super) fn early_data_forbidden(&self) -> Option<String> {
        let Some(session) = self
            .scenario
            .session
            .and_then(|i| fixture().sessions.get(i))
        else {
            return Some("no session was offered".into());
        };
        let session_alpn = session.server.alpn.as_deref();
        let negotiated_alpn: Option<&[u8]> = match self.scenario.alpn {
            AlpnChoice::Off => None,
            AlpnChoice::Same => Some(ALPN_H2),
            AlpnChoice::Other => Some(b"http/1.1"),
        };
        let rules = [
            (
                session.server.max_early_data == 0,
                "the ticket's max_early_data is 0",
            ),
            (
                self.scenario.max_early_data == 0,
                "the server's max_early_data is 0",
            ),
            (
                session.server.suite != self.negotiated.suite,
                "the negotiated cipher suite is not the session's (RFC 9846 4.2.10)",
            ),
            (
                session_alpn != negotiated_alpn,
                "the negotiated ALPN protocol is not the session's (RFC 9846 4.2.10)",
            ),
            (
                self.scenario.hrr,
                "it sent a HelloRetryRequest (RFC 9846 4.2.10)",
            ),
            (
                self.scenario.late_client_hello,
                "the ClientHello came later than the ticket age tolerance (RFC 9846 8.3)",
            ),
            (self.forged_hellos > 0, "the PSK binder was forged"),
        ];
        rules
            .iter()
            .find(|(broken, _)| *broken)
            .map(|(_, why)| (*why).to_string())
    }

    /// Single-use tickets: the server has max_early_data > 0 and no SSL_OP_NO_ANTI_REPLAY.
    pub(super) fn anti_replay(&self) -> bool {
        self.scenario.max_early_data > 0 && !self.scenario.no_anti_replay
    }

    /// The session cache still holds the run's ticket.
    pub(super) fn ticket_still_cached(&self) -> bool {
        let Some(session) = self
            .scenario
            .session
            .and_then(|i| fixture().sessions.get(i))
        else {
            return false;
        };
        self.server_config
            .session_cache
            .lock()
            .is_ok_and(|c| c.contains(&session.client.ticket, self.server_now))
    }

    /// The run only forwarded records (no steps but `Forward`), forged nothing, and sent no
    /// more early data than recv_max_early_data (more is a legitimate abort: "too much early
    /// data", or the skip budget).
    pub(super) fn honest_exchange(&self) -> bool {
        let early = usize::from(self.scenario.client_early_data).min(self.session_max());
        self.scenario
            .steps
            .iter()
            .all(|s| matches!(s, Step::Forward(_)))
            && !self.scenario.forged_binder
            && early <= self.scenario.recv_max_early_data as usize
    }

    pub(super) fn session_max(&self) -> usize {
        self.scenario
            .session
            .and_then(|i| fixture().sessions.get(i))
            .map_or(0, |s| s.client.max_early_data() as usize)
    }
}
