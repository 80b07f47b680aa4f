//! Regenerates the seed corpora of the fuzz targets from real handshakes:
//!
//! ```text
//! cargo run -p zerortt-core --example gen_corpus            # write seeds
//! cargo run -p zerortt-core --example gen_corpus -- --clean # remove old seeds first
//! cargo run -p zerortt-core --example gen_corpus -- --print # also print each record run
//! ```
//!
//! - `corpus/codec/`: every record of a full handshake and of a resumed 0-RTT handshake
//!   (both directions), the decrypted inner plaintexts, every handshake message with and
//!   without its header, and the encoded sessions.
//! - `corpus/server_records/`, `corpus/client_records/`: encoded
//!   [`RecordScenario`]s for the flows that matter (0-RTT accepted, refused, after HRR, over
//!   the limit, wrong Finished, EndOfEarlyData with a body, replays, a second hello, ...),
//!   and real first flights as raw records.
//!
//! File names are the first 16 hex digits of the content's SHA-256, so a regeneration
//! writes the same files. `regressions/` is never touched.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use zerortt_core::conn::config::{ClientConfig, ServerConfig};
use zerortt_core::conn::events::KeyEpoch;
use zerortt_core::crypto::key_schedule::Secret;
use zerortt_core::crypto::keylog::KeyLogLabel;
use zerortt_core::crypto::record_protection::RecordDecrypter;
use zerortt_core::crypto::suites::TLS13_AES_128_GCM_SHA256;
use zerortt_core::harness::records::{AlpnChoice, RECV_MAX_EARLY_DATA};
use zerortt_core::harness::{
    client_records, server_records, AppCall, EpochChoice, HarnessRng, RecordScenario, Step, Target,
};
use zerortt_core::identity::test_identity;
use zerortt_core::msgs::enums::ContentType;
use zerortt_core::time::Timestamp;
use zerortt_core::verify::ServerTrust;
use zerortt_core::{Connection, Event, ReadEarlyData};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let clean = args.iter().any(|a| a == "--clean");
    let print = args.iter().any(|a| a == "--print");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("corpus");

    let mut seeds: BTreeMap<Target, Vec<Vec<u8>>> = BTreeMap::new();
    let flights = real_handshakes();
    seeds.insert(Target::Codec, codec_seeds(&flights));
    let mut records: Vec<Vec<u8>> = scenarios().iter().map(RecordScenario::to_bytes).collect();
    // Real first flights as raw records: a full handshake's ClientHello and a resumed
    // ClientHello with its early data, from connections other than the harness's own.
    for flight in [&flights.full_c2s, &flights.resumed_c2s] {
        let raw = RecordScenario {
            steps: vec![Step::Raw(flight.clone()), Step::Forward(8)],
            ..RecordScenario::default()
        };
        records.push(raw.to_bytes());
    }
    seeds.insert(Target::ServerRecords, records.clone());
    seeds.insert(Target::ClientRecords, records);

    // Inputs that showed bugs (now fixed): corpus/<target>/regressions/<name>, replayed by
    // the corpus replay test. A new, unfixed one is written as known-bug-<name> by hand.
    for (target, name, scenario) in regressions() {
        let dir = root.join(target.name()).join("regressions");
        std::fs::create_dir_all(&dir).expect("create the regressions directory");
        std::fs::write(dir.join(name), scenario.to_bytes()).expect("write a regression input");
    }

    for (target, inputs) in &seeds {
        let dir = root.join(target.name());
        std::fs::create_dir_all(&dir).expect("create the corpus directory");
        if clean {
            remove_seeds(&dir);
        }
        for input in inputs {
            if print && *target != Target::Codec {
                let report = match target {
                    Target::ServerRecords => server_records(input),
                    _ => client_records(input),
                };
                println!("=== {} {}\n{report}", target.name(), name_of(input));
            } else {
                // Every seed must pass its harness.
                target.run(input);
            }
            let path = dir.join(name_of(input));
            std::fs::write(&path, input).expect("write a seed");
        }
        println!(
            "{}: {} seeds in {}",
            target.name(),
            inputs.len(),
            dir.display()
        );
    }
}

fn name_of(input: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, input);
    digest.as_ref()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn remove_seeds(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for f in files {
        let _ = std::fs::remove_file(f);
    }
}

/// Scenarios that once failed an oracle (the bug they showed is fixed).
fn regressions() -> Vec<(Target, &'static str, RecordScenario)> {
    // RFC 9846 6.1: "Any data received after a closure alert has been received MUST be
    // ignored." The handshake completes, the peer sends close_notify, then one more
    // application data record, which the application must not read.
    let after_close = |closer: Step, reader: Step| RecordScenario {
        steps: vec![
            Step::Forward(8),
            Step::Forward(8),
            closer,
            Step::Forward(8),
            Step::AppData {
                epoch: EpochChoice::Application,
                len: 10,
            },
            reader,
        ],
        ..RecordScenario::default()
    };
    vec![
        (
            Target::ServerRecords,
            "data-after-close-notify",
            after_close(
                Step::ClientCall(AppCall::CloseNotify),
                Step::ServerCall(AppCall::Read),
            ),
        ),
        (
            Target::ClientRecords,
            "data-after-close-notify",
            after_close(
                Step::ServerCall(AppCall::CloseNotify),
                Step::ClientCall(AppCall::Read),
            ),
        ),
    ]
}

/// The scenarios every record target starts from.
fn scenarios() -> Vec<RecordScenario> {
    let zero_rtt = RecordScenario {
        client_early_data: 1000,
        ..RecordScenario::default()
    };
    let with = |steps: Vec<Step>| RecordScenario {
        steps,
        ..zero_rtt.clone()
    };
    vec![
        // Resumption without early data, and a full handshake.
        RecordScenario::default(),
        RecordScenario {
            session: None,
            ..RecordScenario::default()
        },
        // 0-RTT accepted; refused by a server that does not read early data; after HRR;
        // over recv_max_early_data; a ticket without early data; a server with
        // max_early_data 0; anti-replay off; ALPN same and different; suite mismatches;
        // middlebox compatibility mode.
        zero_rtt.clone(),
        RecordScenario {
            server_reads_early_data: false,
            ..zero_rtt.clone()
        },
        RecordScenario {
            hrr: true,
            ..zero_rtt.clone()
        },
        RecordScenario {
            recv_max_early_data: RECV_MAX_EARLY_DATA[2],
            ..zero_rtt.clone()
        },
        RecordScenario {
            session: Some(2),
            ..zero_rtt.clone()
        },
        RecordScenario {
            max_early_data: 0,
            ..zero_rtt.clone()
        },
        RecordScenario {
            no_anti_replay: true,
            ..zero_rtt.clone()
        },
        RecordScenario {
            session: Some(3),
            alpn: AlpnChoice::Same,
            ..zero_rtt.clone()
        },
        RecordScenario {
            session: Some(3),
            alpn: AlpnChoice::Other,
            ..zero_rtt.clone()
        },
        RecordScenario {
            suite: 1,
            ..zero_rtt.clone()
        },
        RecordScenario {
            suite: 2,
            ..zero_rtt.clone()
        },
        RecordScenario {
            middlebox_compat: true,
            ..zero_rtt.clone()
        },
        // An attacker's forged binder; a ClientHello past the freshness window.
        RecordScenario {
            forged_binder: true,
            ..zero_rtt.clone()
        },
        RecordScenario {
            late_client_hello: true,
            ..zero_rtt.clone()
        },
        // Limits at their boundaries: early data one byte over recv_max_early_data, and
        // rejected early data that overruns the skip budget.
        RecordScenario {
            recv_max_early_data: RECV_MAX_EARLY_DATA[2],
            client_early_data: 1,
            steps: vec![
                Step::Forward(2),
                Step::AppData {
                    epoch: EpochChoice::Early,
                    len: RECV_MAX_EARLY_DATA[2] as u16,
                },
            ],
            ..zero_rtt.clone()
        },
        RecordScenario {
            server_reads_early_data: false,
            recv_max_early_data: RECV_MAX_EARLY_DATA[2],
            ..zero_rtt.clone()
        },
        // Structured records.
        with(vec![
            Step::Forward(2),
            Step::AppData {
                epoch: EpochChoice::Early,
                len: 100,
            },
            Step::AppData {
                epoch: EpochChoice::Early,
                len: 16384,
            },
        ]),
        with(vec![Step::Forward(2), Step::EndOfEarlyData { body_len: 1 }]),
        with(vec![Step::Forward(2), Step::EndOfEarlyData { body_len: 0 }]),
        with(vec![
            Step::Forward(2),
            Step::ClientCall(AppCall::DoHandshake),
            Step::Forward(1),
            Step::Finished { wrong_mac: true },
        ]),
        with(vec![Step::Forward(2), Step::Finished { wrong_mac: true }]),
        with(vec![Step::Forward(2), Step::SecondHello]),
        with(vec![Step::Forward(3), Step::Replay(1)]),
        with(vec![Step::Drop, Step::Forward(8)]),
        with(vec![Step::Forward(1), Step::Drop, Step::Forward(8)]),
        with(vec![
            Step::Forward(2),
            Step::ServerCall(AppCall::WriteEarlyData(50)),
            Step::ClientCall(AppCall::WriteEarlyData(200)),
            Step::Forward(8),
        ]),
        with(vec![
            Step::Forward(8),
            Step::ClientCall(AppCall::DoHandshake),
            Step::ServerCall(AppCall::ReadEarlyData),
            Step::ServerCall(AppCall::DoHandshake),
            Step::Forward(8),
            Step::KeyUpdate { request: true },
            Step::AppData {
                epoch: EpochChoice::Application,
                len: 30,
            },
            Step::ClientCall(AppCall::Write(40)),
            Step::ServerCall(AppCall::Write(40)),
            Step::Forward(8),
            Step::ClientCall(AppCall::CloseNotify),
            Step::Forward(8),
        ]),
        RecordScenario {
            steps: vec![
                Step::Forward(8),
                Step::Forward(8),
                Step::KeyUpdate { request: true },
                Step::AppData {
                    epoch: EpochChoice::Application,
                    len: 30,
                },
                Step::ServerCall(AppCall::Write(20)),
                Step::ClientCall(AppCall::Write(20)),
            ],
            ..RecordScenario::default()
        },
        with(vec![
            Step::ServerCall(AppCall::DoHandshake),
            Step::ServerCall(AppCall::Write(5)),
            Step::ClientCall(AppCall::ReadEarlyData),
        ]),
    ]
}

/// Bytes of real handshakes, per direction, with the secrets to read them.
struct Flights {
    full_c2s: Vec<u8>,
    full_s2c: Vec<u8>,
    resumed_c2s: Vec<u8>,
    resumed_s2c: Vec<u8>,
    /// (sender side is client, label) -> secret, per handshake.
    full_secrets: Vec<(KeyLogLabel, Vec<u8>)>,
    resumed_secrets: Vec<(KeyLogLabel, Vec<u8>)>,
    sessions: Vec<Vec<u8>>,
}

struct Captured {
    c2s: Vec<u8>,
    s2c: Vec<u8>,
    secrets: Vec<(KeyLogLabel, Vec<u8>)>,
}

/// Drives a pair to completion, the server reading early data first, recording every byte.
fn drive(client: &mut Connection, server: &mut Connection, early: &[u8]) -> Captured {
    let now = Timestamp::SIM_EPOCH;
    let mut cap = Captured {
        c2s: Vec::new(),
        s2c: Vec::new(),
        secrets: Vec::new(),
    };
    let mut buf = vec![0u8; 16384];
    if !early.is_empty() {
        client.write_early_data(early, now).expect("early data");
    }
    let mut early_done = early.is_empty();
    for _ in 0..10 {
        if early.is_empty() {
            let _ = client.do_handshake(now);
        }
        let mut out = Vec::new();
        client.write_tls(&mut out);
        server.read_tls(&out);
        cap.c2s.extend_from_slice(&out);
        if !early_done {
            loop {
                match server.read_early_data(&mut buf, now) {
                    Ok(ReadEarlyData::Success(_)) => continue,
                    Ok(ReadEarlyData::Finish) => early_done = true,
                    Err(_) => {}
                }
                break;
            }
        } else {
            let _ = server.do_handshake(now);
        }
        let mut out = Vec::new();
        server.write_tls(&mut out);
        client.read_tls(&out);
        cap.s2c.extend_from_slice(&out);
        let _ = client.do_handshake(now);
        let _ = client.read(&mut buf, now);
        if client.is_init_finished() && server.is_init_finished() && early_done {
            let _ = server.read(&mut buf, now);
            let mut out = Vec::new();
            client.write_tls(&mut out);
            cap.c2s.extend_from_slice(&out);
            break;
        }
    }
    for e in client.take_events() {
        if let Event::SecretDerived(entry) = e {
            cap.secrets.push((entry.label, entry.secret));
        }
    }
    server.take_events();
    cap
}

fn real_handshakes() -> Flights {
    let mut sc = ServerConfig::new(test_identity::ed25519());
    sc.set_max_early_data(16384);
    sc.cipher_suites = vec![&TLS13_AES_128_GCM_SHA256];
    let sc = Arc::new(sc);
    let cc = Arc::new(ClientConfig::new(ServerTrust::test_ca()));
    let rng = |seed| Box::new(HarnessRng::new(seed));
    let mut client = Connection::client(cc.clone(), "localhost", None, rng(10));
    let mut server = Connection::server(sc.clone(), rng(11));
    let full = drive(&mut client, &mut server, &[]);
    let tickets = client.take_new_sessions();
    let ticket = tickets
        .first()
        .cloned()
        .expect("a ticket from the full handshake");
    let mut sessions: Vec<Vec<u8>> = tickets.iter().map(|t| t.to_bytes()).collect();
    if let Ok(cache) = sc.session_cache.lock() {
        sessions.extend(cache.iter().map(|(_, v)| v.to_bytes()));
    }
    let mut client = Connection::client(cc, "localhost", Some(ticket), rng(12));
    let mut server = Connection::server(sc, rng(13));
    let resumed = drive(&mut client, &mut server, b"GET / HTTP/1.1\r\n\r\n");
    Flights {
        full_c2s: full.c2s,
        full_s2c: full.s2c,
        resumed_c2s: resumed.c2s,
        resumed_s2c: resumed.s2c,
        full_secrets: full.secrets,
        resumed_secrets: resumed.secrets,
        sessions,
    }
}

/// Records, inner plaintexts, handshake messages (with and without header), sessions.
fn codec_seeds(f: &Flights) -> Vec<Vec<u8>> {
    use KeyLogLabel as L;
    let mut out = Vec::new();
    let dirs = [
        (
            &f.full_c2s,
            &f.full_secrets,
            [
                None,
                Some(L::ClientHandshakeTrafficSecret),
                Some(L::ClientTrafficSecret0),
            ],
        ),
        (
            &f.full_s2c,
            &f.full_secrets,
            [
                None,
                Some(L::ServerHandshakeTrafficSecret),
                Some(L::ServerTrafficSecret0),
            ],
        ),
        (
            &f.resumed_c2s,
            &f.resumed_secrets,
            [
                Some(L::ClientEarlyTrafficSecret),
                Some(L::ClientHandshakeTrafficSecret),
                Some(L::ClientTrafficSecret0),
            ],
        ),
        (
            &f.resumed_s2c,
            &f.resumed_secrets,
            [
                None,
                Some(L::ServerHandshakeTrafficSecret),
                Some(L::ServerTrafficSecret0),
            ],
        ),
    ];
    for (bytes, secrets, labels) in dirs {
        out.push(bytes.clone());
        // Decrypt with each epoch's keys in order, moving on when a record does not open.
        let mut decrypters: Vec<(KeyEpoch, RecordDecrypter)> = labels
            .iter()
            .zip([KeyEpoch::Early, KeyEpoch::Handshake, KeyEpoch::Application])
            .filter_map(|(label, epoch)| {
                let label = (*label)?;
                let (_, s) = secrets.iter().find(|(l, _)| *l == label)?;
                let secret = Secret::from_bytes(TLS13_AES_128_GCM_SHA256.hash, s)?;
                Some((
                    epoch,
                    RecordDecrypter::new(&TLS13_AES_128_GCM_SHA256, &secret).ok()?,
                ))
            })
            .collect();
        let mut rest: &[u8] = bytes;
        while rest.len() >= 5 {
            let len = 5 + usize::from(u16::from_be_bytes([rest[3], rest[4]]));
            let (record, tail) = rest.split_at(len.min(rest.len()));
            rest = tail;
            out.push(record.to_vec());
            let mut header = [0u8; 5];
            header.copy_from_slice(&record[..5]);
            let content = if record[0] == ContentType::ApplicationData.get() {
                let mut opened = None;
                while let Some((_, dec)) = decrypters.first_mut() {
                    if let Ok((typ, content)) = dec.trial_decrypt(&header, &record[5..]) {
                        opened = Some((typ, content));
                        break;
                    }
                    decrypters.remove(0);
                }
                let Some((typ, content)) = opened else {
                    continue;
                };
                let mut inner = content.clone();
                inner.push(typ.get());
                out.push(inner);
                if typ != ContentType::Handshake {
                    continue;
                }
                content
            } else if record[0] == ContentType::Handshake.get() {
                record[5..].to_vec()
            } else {
                continue;
            };
            // One record may hold several messages.
            let mut msgs: &[u8] = &content;
            while msgs.len() >= 4 {
                let len = 4
                    + (usize::from(msgs[1]) << 16
                        | usize::from(msgs[2]) << 8
                        | usize::from(msgs[3]));
                let (msg, tail) = msgs.split_at(len.min(msgs.len()));
                out.push(msg.to_vec());
                out.push(msg[4..].to_vec());
                msgs = tail;
            }
        }
    }
    out.extend(f.sessions.iter().cloned());
    out.sort();
    out.dedup();
    out
}
