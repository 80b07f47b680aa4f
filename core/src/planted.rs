//! Planted bugs, to prove that the tests, the simulator's invariants and the fuzzers have
//! teeth. Only with the cargo feature `planted-bugs` (off by default, never in a normal
//! build); the environment variable `ZERORTT_PLANT` names the one bug to plant. Without the
//! feature [`active`] is a constant `false` and every planted branch compiles away.

/// One deliberately wrong behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bug {
    /// A single-use ticket is looked up but not removed from the cache on resumption.
    TicketNotRemoved,
    /// Accepted early data may exceed the limit by one byte (`>` against `limit + 1`).
    RecvMaxOffByOne,
    /// Rejected early data is skipped without any budget.
    SkipBudgetIgnored,
    /// After a HelloRetryRequest the server does not skip the client's 0-RTT records.
    HrrEarlyRecordsNotSkipped,
    /// The early data decision does not compare the session's ALPN with the new one.
    AlpnNotCompared,
    /// A client whose early data was rejected reports `Accepted`.
    ClientAcceptedAfterReject,
    /// EndOfEarlyData with a body decodes.
    EndOfEarlyDataBodyAccepted,
    /// The ticket age freshness check always passes.
    TicketAgeCheckDisabled,
    /// The server does not verify PSK binders.
    BinderNotVerified,
}

/// Every planted bug with the name `ZERORTT_PLANT` takes.
#[cfg(feature = "planted-bugs")]
pub const ALL: &[(&str, Bug)] = &[
    ("ticket_not_removed", Bug::TicketNotRemoved),
    ("recv_max_off_by_one", Bug::RecvMaxOffByOne),
    ("skip_budget_ignored", Bug::SkipBudgetIgnored),
    (
        "hrr_early_records_not_skipped",
        Bug::HrrEarlyRecordsNotSkipped,
    ),
    ("alpn_not_compared", Bug::AlpnNotCompared),
    (
        "client_accepted_after_reject",
        Bug::ClientAcceptedAfterReject,
    ),
    (
        "end_of_early_data_body_accepted",
        Bug::EndOfEarlyDataBodyAccepted,
    ),
    ("ticket_age_check_disabled", Bug::TicketAgeCheckDisabled),
    ("binder_not_verified", Bug::BinderNotVerified),
];

/// True if `bug` is the planted one.
#[inline]
pub fn active(bug: Bug) -> bool {
    #[cfg(feature = "planted-bugs")]
    {
        selected() == Some(bug)
    }
    #[cfg(not(feature = "planted-bugs"))]
    {
        let _ = bug;
        false
    }
}

#[cfg(feature = "planted-bugs")]
fn selected() -> Option<Bug> {
    static SELECTED: std::sync::OnceLock<Option<Bug>> = std::sync::OnceLock::new();
    *SELECTED.get_or_init(|| {
        let name = std::env::var("ZERORTT_PLANT").ok()?;
        ALL.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
    })
}
