//! Measurement only (not in .ci/fuzz-smoke): `scenario` with a *derived* `Arbitrary` input,
//! the knobs as one would write them for `#[derive(Arbitrary)]` (an `Option` per knob,
//! enums for the choices), mapped onto the same `ScenarioKnobs`. Measured side by side with
//! `scenario` (README, fuzzing section); the checked-in seeds mean nothing to it.
#![no_main]

use arbitrary::Arbitrary;
use zerortt_sim::harness::{check, ScenarioKnobs};

#[derive(Arbitrary, Debug)]
enum DelayedAck {
    Off,
    Quickack,
    Ms40,
    Ms200,
    Ms1,
}

#[derive(Arbitrary, Debug)]
enum Sharing {
    Nothing,
    TicketKeys,
    Cache,
    StrikeRegister,
    ExternalCache,
}

#[derive(Arbitrary, Debug)]
enum AllowEarlyData {
    Always,
    Never,
    Load(u8),
}

#[derive(Arbitrary, Debug)]
struct Knobs {
    base: u8,
    latency_ms: Option<u16>,
    jitter_ms: Option<u8>,
    loss_percent: Option<u8>,
    duplicate_percent: Option<u8>,
    mtu_above_576: Option<u16>,
    lose_first_flight: Option<bool>,
    client_nodelay: Option<bool>,
    delayed_ack: Option<DelayedAck>,
    initial_cwnd_above_1: Option<u8>,
    server_count_above_1: Option<u8>,
    sharing: Option<Sharing>,
    max_early_data: Option<u8>,
    recv_max_early_data: Option<u8>,
    no_anti_replay: Option<bool>,
    hello_retry: Option<bool>,
    allow_early_data: Option<AllowEarlyData>,
    half_rtt_response: Option<bool>,
    early_data_chunks: Option<Vec<u16>>,
    chunk_interval_ms: Option<u8>,
    session_max_early_data: Option<Option<u8>>,
    // Two bytes, as the `scenario` target's inputs (max_len) carry.
    seed: u16,
}

libfuzzer_sys::fuzz_target!(|k: Knobs| {
    let knobs = ScenarioKnobs {
        base: k.base,
        latency_ms: k.latency_ms,
        jitter_ms: k.jitter_ms,
        loss_percent: k.loss_percent,
        duplicate_percent: k.duplicate_percent,
        mtu_above_576: k.mtu_above_576,
        lose_first_flight: k.lose_first_flight,
        client_nodelay: k.client_nodelay,
        delayed_ack: k.delayed_ack.map(|d| d as u8),
        initial_cwnd_above_1: k.initial_cwnd_above_1,
        server_count_above_1: k.server_count_above_1,
        sharing: k.sharing.map(|s| s as u8),
        max_early_data: k.max_early_data,
        recv_max_early_data: k.recv_max_early_data,
        no_anti_replay: k.no_anti_replay,
        hello_retry: k.hello_retry,
        allow_early_data: k.allow_early_data.map(|a| match a {
            AllowEarlyData::Always => 0,
            AllowEarlyData::Never => 1,
            AllowEarlyData::Load(n) => 2 + n % 4,
        }),
        half_rtt_response: k.half_rtt_response,
        early_data_chunks: k.early_data_chunks,
        chunk_interval_ms: k.chunk_interval_ms,
        session_max_early_data: k.session_max_early_data,
        seed: u64::from(k.seed),
    };
    let (scenario, seed) = knobs.scenario();
    check(&scenario, seed);
});
