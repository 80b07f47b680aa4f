//! Measurement only (not in .ci/fuzz-smoke): `server_records` with a *derived* `Arbitrary`
//! input, the design `RecordScenario` would have if it derived `Arbitrary` instead of
//! reading the corpus format. The checked-in seeds mean nothing to it (arbitrary has no
//! inverse, and gen_corpus writes seeds from real handshakes in the corpus format), so it
//! is measured side by side with `server_records` (README, fuzzing section).
#![no_main]

use arbitrary::Arbitrary;
use zerortt_core::harness::records::{
    AlpnChoice, RECV_MAX_EARLY_DATA, SERVER_MAX_EARLY_DATA, SESSIONS,
};
use zerortt_core::harness::{check_scenario, AppCall, EpochChoice, RecordScenario, Step};
use zerortt_core::Side;

#[derive(Arbitrary, Debug)]
enum Call {
    WriteEarlyData(u16),
    ReadEarlyData,
    DoHandshake,
    Read,
    Write(u16),
    ProcessNewPackets,
    CloseNotify,
}

#[derive(Arbitrary, Debug)]
enum Epoch {
    Early,
    Handshake,
    Application,
}

#[derive(Arbitrary, Debug)]
enum Alpn {
    Off,
    Same,
    Other,
}

#[derive(Arbitrary, Debug)]
enum DerivedStep {
    Raw(Vec<u8>),
    Forward(u8),
    Drop,
    AppData { epoch: Epoch, len: u16 },
    EndOfEarlyData { body_len: u8 },
    Finished { wrong_mac: bool },
    SecondHello,
    Replay(u8),
    KeyUpdate { request: bool },
    ClientCall(Call),
    ServerCall(Call),
}

#[derive(Arbitrary, Debug)]
struct DerivedScenario {
    session: Option<u8>,
    max_early_data: u8,
    recv_max_early_data: u8,
    no_anti_replay: bool,
    hrr: bool,
    middlebox_compat: bool,
    late_client_hello: bool,
    forged_binder: bool,
    alpn: Alpn,
    suite: u8,
    client_early_data: u16,
    server_reads_early_data: bool,
    steps: Vec<DerivedStep>,
}

fn call(c: Call) -> AppCall {
    match c {
        Call::WriteEarlyData(n) => AppCall::WriteEarlyData(n),
        Call::ReadEarlyData => AppCall::ReadEarlyData,
        Call::DoHandshake => AppCall::DoHandshake,
        Call::Read => AppCall::Read,
        Call::Write(n) => AppCall::Write(n),
        Call::ProcessNewPackets => AppCall::ProcessNewPackets,
        Call::CloseNotify => AppCall::CloseNotify,
    }
}

fn step(s: DerivedStep) -> Step {
    match s {
        DerivedStep::Raw(b) => Step::Raw(b),
        DerivedStep::Forward(n) => Step::Forward(n % 8 + 1),
        DerivedStep::Drop => Step::Drop,
        DerivedStep::AppData { epoch, len } => Step::AppData {
            epoch: match epoch {
                Epoch::Early => EpochChoice::Early,
                Epoch::Handshake => EpochChoice::Handshake,
                Epoch::Application => EpochChoice::Application,
            },
            len,
        },
        DerivedStep::EndOfEarlyData { body_len } => Step::EndOfEarlyData { body_len },
        DerivedStep::Finished { wrong_mac } => Step::Finished { wrong_mac },
        DerivedStep::SecondHello => Step::SecondHello,
        DerivedStep::Replay(k) => Step::Replay(k),
        DerivedStep::KeyUpdate { request } => Step::KeyUpdate { request },
        DerivedStep::ClientCall(c) => Step::ClientCall(call(c)),
        DerivedStep::ServerCall(c) => Step::ServerCall(call(c)),
    }
}

fn scenario(d: DerivedScenario) -> RecordScenario {
    let pick = |v: u8, n: usize| usize::from(v) % n;
    RecordScenario {
        session: d.session.map(|i| pick(i, SESSIONS.len())),
        max_early_data: SERVER_MAX_EARLY_DATA[pick(d.max_early_data, SERVER_MAX_EARLY_DATA.len())],
        recv_max_early_data: RECV_MAX_EARLY_DATA
            [pick(d.recv_max_early_data, RECV_MAX_EARLY_DATA.len())],
        no_anti_replay: d.no_anti_replay,
        hrr: d.hrr,
        middlebox_compat: d.middlebox_compat,
        late_client_hello: d.late_client_hello,
        forged_binder: d.forged_binder,
        alpn: match d.alpn {
            Alpn::Off => AlpnChoice::Off,
            Alpn::Same => AlpnChoice::Same,
            Alpn::Other => AlpnChoice::Other,
        },
        suite: usize::from(d.suite) % 3,
        client_early_data: d.client_early_data,
        server_reads_early_data: d.server_reads_early_data,
        steps: d
            .steps
            .into_iter()
            .take(zerortt_core::harness::records::MAX_STEPS)
            .map(step)
            .collect(),
    }
}

libfuzzer_sys::fuzz_target!(|d: DerivedScenario| {
    let _report = check_scenario(Side::Server, scenario(d));
});
