//! Timeline tests of the TCP model over the fabric, smoltcp style: every expected
//! virtual time is computed by hand in the comment above its assertion.
//!
//! Unless a test says otherwise: one-way latency 10 ms, no bandwidth limit, no loss,
//! MSS 1460, ISN 0 on both ends (so the first data byte has sequence number 1).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use zerortt_sim::net::link::Partition;
use zerortt_sim::net::tcp::RetransmitCause;
use zerortt_sim::net::*;

const MSS: usize = 1460;

fn ms(millis: u64) -> SimTime {
    SimTime::from_millis(millis)
}

fn link_10ms() -> LinkConfig {
    LinkConfig::with_latency(Duration::from_millis(10))
}

/// A server that delays ACKs by a fixed 40 ms (no quick-ACK phase).
fn delay_40ms() -> TcpConfig {
    TcpConfig {
        delayed_ack: DelayedAck::Delay(Duration::from_millis(40)),
        ..TcpConfig::default()
    }
}

fn nodelay() -> TcpConfig {
    TcpConfig {
        nodelay: true,
        ..TcpConfig::default()
    }
}

/// Payload-carrying segments a node sent: (time, seq, payload length).
fn data_sent(fabric: &Fabric, node: NodeId) -> Vec<(SimTime, u32, usize)> {
    fabric
        .trace()
        .iter()
        .filter(|entry| entry.node == node)
        .filter_map(|entry| match &entry.event {
            NetEvent::Sent(h) if h.payload_len > 0 => Some((entry.time, h.seq, h.payload_len)),
            _ => None,
        })
        .collect()
}

/// Every segment a node sent: (time, header).
fn sent(fabric: &Fabric, node: NodeId) -> Vec<(SimTime, SegmentHeader)> {
    fabric
        .trace()
        .iter()
        .filter(|entry| entry.node == node)
        .filter_map(|entry| match &entry.event {
            NetEvent::Sent(h) => Some((entry.time, *h)),
            _ => None,
        })
        .collect()
}

/// Pure ACKs (ACK flag only, no payload) a node sent: (time, ack number).
fn pure_acks(fabric: &Fabric, node: NodeId) -> Vec<(SimTime, u32)> {
    sent(fabric, node)
        .into_iter()
        .filter(|(_, h)| h.flags == TcpFlags::ACK && h.payload_len == 0)
        .map(|(time, h)| (time, h.ack))
        .collect()
}

/// TCP events a node reported: (time, event).
fn tcp_events(fabric: &Fabric, node: NodeId) -> Vec<(SimTime, TcpEvent)> {
    fabric
        .trace()
        .iter()
        .filter(|entry| entry.node == node)
        .filter_map(|entry| match entry.event {
            NetEvent::Tcp(event) => Some((entry.time, event)),
            _ => None,
        })
        .collect()
}

/// When a node entered `state`.
fn entered(fabric: &Fabric, node: NodeId, state: TcpState) -> Option<SimTime> {
    tcp_events(fabric, node)
        .into_iter()
        .find(|(_, event)| matches!(event, TcpEvent::StateChanged { to, .. } if *to == state))
        .map(|(time, _)| time)
}

/// An application that, the first time its socket is established, makes one write
/// call per entry of `writes` (each a separate push, like separate `write(2)` calls),
/// then closes if `close` is set.
fn writes_once_established(writes: Vec<usize>, close: bool) -> Box<dyn Application> {
    let mut done = false;
    Box::new(move |ctx: &mut AppCtx<'_>| {
        let established = ctx.socket().is_some_and(TcpSocket::is_established);
        if done || !established {
            return;
        }
        done = true;
        for (index, len) in writes.iter().enumerate() {
            let byte = index as u8;
            assert_eq!(ctx.write(&vec![byte; *len]), *len);
        }
        if close {
            ctx.close();
        }
    })
}

/// An application that reads everything it receives into the returned buffer.
fn sink() -> (Rc<RefCell<Vec<u8>>>, Box<dyn Application>) {
    let received = Rc::new(RefCell::new(Vec::new()));
    let shared = Rc::clone(&received);
    let app = Box::new(move |ctx: &mut AppCtx<'_>| {
        let mut buffer = shared.borrow_mut();
        ctx.recv(&mut buffer);
    });
    (received, app)
}

fn run(fabric: &mut Fabric) {
    assert_eq!(fabric.run_until_idle(100_000), RunOutcome::Idle);
}

// ----- handshake -----

#[test]
fn the_handshake_takes_one_round_trip_and_early_written_data_rides_on_the_final_ack() {
    let (mut fabric, client, server) =
        Fabric::client_server(1, TcpConfig::default(), TcpConfig::default(), link_10ms());
    // Written at time 0, right after connect, while the socket is in SYN-SENT.
    fabric.at(SimTime::ZERO, client, |ctx| {
        ctx.write(&[7; 100]);
    });
    let (received, app) = sink();
    fabric.set_application(server, app);
    run(&mut fabric);

    let client_sent = sent(&fabric, client);
    // SYN at 0; it arrives at 10 and the SYN-ACK leaves at once; it arrives at 20,
    // and the ACK leaves at 20 carrying the 100 bytes (no separate pure ACK).
    assert_eq!(client_sent[0].0, ms(0));
    assert!(client_sent[0].1.flags.syn && !client_sent[0].1.flags.ack);
    assert_eq!(client_sent[0].1.mss, Some(1460));
    assert_eq!(client_sent[1].0, ms(20));
    assert_eq!(client_sent[1].1.payload_len, 100);
    assert!(client_sent[1].1.flags.ack && client_sent[1].1.flags.psh);
    assert_eq!(client_sent.len(), 2, "{}", fabric.trace_text());
    let server_sent = sent(&fabric, server);
    assert_eq!(server_sent[0].0, ms(10));
    assert!(server_sent[0].1.flags.syn && server_sent[0].1.flags.ack);

    let client_socket = fabric.socket(client).unwrap();
    let server_socket = fabric.socket(server).unwrap();
    assert_eq!(client_socket.established_at(), Some(ms(20)));
    assert_eq!(server_socket.established_at(), Some(ms(30)));
    // Each end timed its SYN: 20 ms round trip.
    assert_eq!(client_socket.srtt(), Some(Duration::from_millis(20)));
    assert_eq!(server_socket.srtt(), Some(Duration::from_millis(20)));
    assert_eq!(*received.borrow(), vec![7; 100]);
}

#[test]
fn without_data_to_send_the_client_acknowledges_the_syn_ack_at_once() {
    let (mut fabric, client, server) =
        Fabric::client_server(1, TcpConfig::default(), delay_40ms(), link_10ms());
    run(&mut fabric);
    // The ACK of the SYN-ACK is never delayed: it leaves at 20 ms and arrives at 30.
    assert_eq!(pure_acks(&fabric, client), vec![(ms(20), 1)]);
    assert_eq!(
        entered(&fabric, server, TcpState::Established),
        Some(ms(30))
    );
}

#[test]
fn the_trace_renders_one_stable_line_per_event() {
    let (mut fabric, client, server) =
        Fabric::client_server(1, TcpConfig::default(), TcpConfig::default(), link_10ms());
    fabric.set_application(client, writes_once_established(vec![300], false));
    let (_, app) = sink();
    fabric.set_application(server, app);
    run(&mut fabric);
    let expected = r"
     0.000ms server app listen
     0.000ms server tcp state CLOSED -> LISTEN
     0.000ms client app connect
     0.000ms client tcp state CLOSED -> SYN-SENT
     0.000ms client send SYN seq=0 win=65536 mss=1460 len=0
    10.000ms server recv SYN seq=0 win=65536 mss=1460 len=0
    10.000ms server tcp state LISTEN -> SYN-RECEIVED
    10.000ms server send SYN+ACK seq=0 ack=1 win=65536 mss=1460 len=0
    20.000ms client recv SYN+ACK seq=0 ack=1 win=65536 mss=1460 len=0
    20.000ms client tcp rtt sample=20.000ms srtt=20.000ms rto=200.000ms
    20.000ms client tcp state SYN-SENT -> ESTABLISHED
    20.000ms client send ACK seq=1 ack=1 win=65536 len=0
    20.000ms client app write 300/300
    20.000ms client send PSH+ACK seq=1 ack=1 win=65536 len=300
    30.000ms server recv ACK seq=1 ack=1 win=65536 len=0
    30.000ms server tcp rtt sample=20.000ms srtt=20.000ms rto=200.000ms
    30.000ms server tcp state SYN-RECEIVED -> ESTABLISHED
    30.000ms server recv PSH+ACK seq=1 ack=1 win=65536 len=300
    30.000ms server send ACK seq=1 ack=301 win=65236 len=0
    30.000ms server app read 300
    40.000ms client recv ACK seq=1 ack=301 win=65236 len=0
    40.000ms client tcp rtt sample=20.000ms srtt=20.000ms rto=200.000ms
";
    assert_eq!(fabric.trace_text(), expected.trim_start_matches('\n'));
}

// ----- Nagle -----

#[test]
fn nagle_holds_a_second_small_write_until_the_delayed_ack_of_the_first_arrives() {
    // The SSL_read_early_data(3) NOTES scenario: the ClientHello goes in the first
    // packet, a second small write waits for the ACK of the first.
    let (mut fabric, client, server) =
        Fabric::client_server(1, TcpConfig::default(), delay_40ms(), link_10ms());
    fabric.set_application(client, writes_once_established(vec![300, 200], false));
    let (received, app) = sink();
    fabric.set_application(server, app);
    run(&mut fabric);

    // 300 bytes leave at 20 (nothing in flight). 200 bytes are sub-MSS with 300 in
    // flight: held. The server gets 300 at 30 and, with nothing to piggyback on,
    // ACKs at 30 + 40 = 70; it arrives at 80, and the 200 bytes leave at
    // 20 + 10 + 40 + 10 = 80.
    assert_eq!(
        data_sent(&fabric, client),
        vec![(ms(20), 1, 300), (ms(80), 301, 200)]
    );
    // Server ACKs: 70 for the 300 bytes, then 80 + 10 + 40 = 130 for the 200.
    assert_eq!(
        pure_acks(&fabric, server),
        vec![(ms(70), 301), (ms(130), 501)]
    );
    let stats = *fabric.socket(client).unwrap().stats();
    assert_eq!(stats.nagle_holds, 1);
    assert_eq!(stats.nagle_held_total, Duration::from_millis(60));
    let hold_end = tcp_events(&fabric, client)
        .into_iter()
        .find(|(_, event)| matches!(event, TcpEvent::NagleHoldEnded { .. }));
    assert_eq!(
        hold_end,
        Some((
            ms(80),
            TcpEvent::NagleHoldEnded {
                held_since: ms(20),
                held_for: Duration::from_millis(60),
                bytes_sent: 200
            }
        ))
    );
    assert_eq!(fabric.socket(server).unwrap().stats().delayed_acks_sent, 2);
    let mut expected = vec![0u8; 300];
    expected.extend([1u8; 200]);
    assert_eq!(*received.borrow(), expected);
}

#[test]
fn with_linux_quick_acks_nagle_still_costs_the_second_write_a_full_round_trip() {
    // Default server: quick ACKs at the start of the connection.
    let (mut fabric, client, _server) =
        Fabric::client_server(1, TcpConfig::default(), TcpConfig::default(), link_10ms());
    fabric.set_application(client, writes_once_established(vec![300, 200], false));
    run(&mut fabric);
    // The ACK of the 300 bytes leaves the server at 30, arrives at 40: the 200 bytes
    // leave at 40, one round trip after the first write.
    assert_eq!(
        data_sent(&fabric, client),
        vec![(ms(20), 1, 300), (ms(40), 301, 200)]
    );
    assert_eq!(
        fabric.socket(client).unwrap().stats().nagle_held_total,
        Duration::from_millis(20)
    );
}

#[test]
fn with_nodelay_both_small_writes_leave_at_once() {
    let (mut fabric, client, _server) =
        Fabric::client_server(1, nodelay(), delay_40ms(), link_10ms());
    fabric.set_application(client, writes_once_established(vec![300, 200], false));
    run(&mut fabric);
    assert_eq!(
        data_sent(&fabric, client),
        vec![(ms(20), 1, 300), (ms(20), 301, 200)]
    );
    assert_eq!(fabric.socket(client).unwrap().stats().nagle_holds, 0);
}

#[test]
fn switching_nodelay_on_flushes_the_data_nagle_is_holding() {
    let (mut fabric, client, _server) =
        Fabric::client_server(1, TcpConfig::default(), delay_40ms(), link_10ms());
    fabric.set_application(client, writes_once_established(vec![300, 200], false));
    fabric.at(ms(25), client, |ctx| ctx.set_nodelay(true));
    run(&mut fabric);
    // Held at 20; TCP_NODELAY at 25 sends it then, not at 80.
    assert_eq!(
        data_sent(&fabric, client),
        vec![(ms(20), 1, 300), (ms(25), 301, 200)]
    );
    assert_eq!(
        fabric.socket(client).unwrap().stats().nagle_held_total,
        Duration::from_millis(5)
    );
}

#[test]
fn nagle_can_be_switched_back_on_after_the_handshake() {
    // The man page's advice: disable Nagle for the handshake, re-enable it after.
    let (mut fabric, client, _server) =
        Fabric::client_server(1, nodelay(), delay_40ms(), link_10ms());
    fabric.set_application(client, writes_once_established(vec![300, 200], false));
    fabric.at(ms(100), client, |ctx| {
        ctx.set_nodelay(false);
        ctx.write(&[9; 100]);
        ctx.write(&[9; 100]);
    });
    run(&mut fabric);
    // 20: both writes at once (nodelay). The server ACKs 500 bytes at 30 + 40 = 70,
    // received at 80, so nothing is in flight at 100. With Nagle back on, the first
    // 100 bytes leave at 100, the second are held until the delayed ACK:
    // 100 + 10 + 40 + 10 = 160.
    assert_eq!(
        data_sent(&fabric, client),
        vec![
            (ms(20), 1, 300),
            (ms(20), 301, 200),
            (ms(100), 501, 100),
            (ms(160), 601, 100)
        ]
    );
}

#[test]
fn a_full_segment_is_never_held_and_only_the_sub_mss_tail_waits() {
    let (mut fabric, client, _server) =
        Fabric::client_server(1, TcpConfig::default(), delay_40ms(), link_10ms());
    fabric.set_application(client, writes_once_established(vec![300, 2000], false));
    run(&mut fabric);
    // 20: 300 bytes, then a full 1460-byte segment (not sub-MSS, so Nagle lets it go).
    // The 540-byte tail waits. The server holds 1760 bytes < 2 * 1460 unacknowledged,
    // so its ACK is delayed to 30 + 40 = 70; the tail leaves at 80.
    assert_eq!(
        data_sent(&fabric, client),
        vec![(ms(20), 1, 300), (ms(20), 301, 1460), (ms(80), 1761, 540)]
    );
}

#[test]
fn a_fin_is_not_held_by_nagle() {
    let (mut fabric, client, server) =
        Fabric::client_server(1, TcpConfig::default(), delay_40ms(), link_10ms());
    fabric.set_application(client, writes_once_established(vec![300, 200], true));
    run(&mut fabric);
    // close() right after the second write: the 200 bytes carry the FIN and leave at
    // 20 even though 300 bytes are unacknowledged.
    let client_sent = sent(&fabric, client);
    let last_data = client_sent
        .iter()
        .find(|(_, h)| h.payload_len == 200)
        .unwrap();
    assert_eq!(last_data.0, ms(20));
    assert!(last_data.1.flags.fin);
    // The server ACKs the FIN at once when it arrives at 30.
    assert_eq!(pure_acks(&fabric, server), vec![(ms(30), 502)]);
}

// ----- initial window, slow start -----

#[test]
fn twenty_full_segments_leave_as_ten_then_ten_after_one_round_trip() {
    let (mut fabric, client, server) =
        Fabric::client_server(1, TcpConfig::default(), TcpConfig::default(), link_10ms());
    fabric.at(SimTime::ZERO, client, |ctx| {
        assert_eq!(ctx.write(&[5; 20 * MSS]), 20 * MSS);
    });
    let (received, app) = sink();
    fabric.set_application(server, app);
    run(&mut fabric);
    // Initial window 10 segments (RFC 6928): 10 leave at 20 ms. The server quick-ACKs
    // each at 30; the ACKs arrive at 40, each growing cwnd by one MSS (slow start),
    // which releases the other 10 at 40 ms.
    let times: Vec<SimTime> = data_sent(&fabric, client).iter().map(|d| d.0).collect();
    let mut expected = vec![ms(20); 10];
    expected.extend(vec![ms(40); 10]);
    assert_eq!(times, expected);
    assert!(data_sent(&fabric, client).iter().all(|d| d.2 == MSS));
    // The second ten arrive at 50: six use up the 16 quick ACKs, the last four are
    // ACKed in pairs (two full segments unacknowledged). Slow start adds one MSS per
    // ACK: 10 + 10 + 6 + 2 = 28 segments.
    assert_eq!(fabric.socket(client).unwrap().cwnd_bytes(), 28 * MSS as u64);
    assert_eq!(pure_acks(&fabric, server).len(), 18);
    assert_eq!(received.borrow().len(), 20 * MSS);
}

#[test]
fn a_custom_initial_window_of_four_segments_needs_more_round_trips() {
    let client_config = TcpConfig {
        initial_cwnd_segments: 4,
        ..TcpConfig::default()
    };
    let server_config = TcpConfig {
        delayed_ack: DelayedAck::Off,
        ..TcpConfig::default()
    };
    let (mut fabric, client, _server) =
        Fabric::client_server(1, client_config, server_config, link_10ms());
    fabric.at(SimTime::ZERO, client, |ctx| {
        ctx.write(&[5; 20 * MSS]);
    });
    run(&mut fabric);
    // cwnd 4 -> 8 -> 16 -> 32 segments, one round trip (20 ms) apart:
    // 4 at 20, 8 at 40, the remaining 8 at 60.
    let times: Vec<SimTime> = data_sent(&fabric, client).iter().map(|d| d.0).collect();
    let mut expected = vec![ms(20); 4];
    expected.extend(vec![ms(40); 8]);
    expected.extend(vec![ms(60); 8]);
    assert_eq!(times, expected);
}

// ----- delayed ACK -----

fn server_acks_for_one_write(delayed_ack: DelayedAck, write_len: usize) -> Vec<(SimTime, u32)> {
    let server_config = TcpConfig {
        delayed_ack,
        ..TcpConfig::default()
    };
    let (mut fabric, client, server) =
        Fabric::client_server(1, nodelay(), server_config, link_10ms());
    fabric.set_application(client, writes_once_established(vec![write_len], false));
    run(&mut fabric);
    pure_acks(&fabric, server)
}

#[test]
fn with_delayed_ack_off_every_data_segment_is_acknowledged_on_arrival() {
    // 300 bytes arrive at 30 and are ACKed at 30.
    assert_eq!(
        server_acks_for_one_write(DelayedAck::Off, 300),
        vec![(ms(30), 301)]
    );
    // Three full segments arrive at 30: three ACKs at 30.
    assert_eq!(
        server_acks_for_one_write(DelayedAck::Off, 3 * MSS),
        vec![(ms(30), 1461), (ms(30), 2921), (ms(30), 4381)]
    );
}

#[test]
fn a_delayed_ack_leaves_exactly_the_delay_after_the_data_arrived() {
    // 300 bytes arrive at 30; ACK at 30 + 40 = 70.
    assert_eq!(
        server_acks_for_one_write(DelayedAck::Delay(Duration::from_millis(40)), 300),
        vec![(ms(70), 301)]
    );
    // Same with a 100 ms delay: 130.
    assert_eq!(
        server_acks_for_one_write(DelayedAck::Delay(Duration::from_millis(100)), 300),
        vec![(ms(130), 301)]
    );
}

#[test]
fn a_delayed_ack_as_long_as_the_rto_causes_a_spurious_retransmission() {
    // Delay 200 ms (the traditional BSD maximum) against the client's RTO of 200 ms
    // (20 ms handshake sample, floored): data at 20, RTO expires at 220 and the
    // segment is sent again; the server's delayed ACK fires at 30 + 200 = 230, and the
    // duplicate, arriving at 230 too, is re-acknowledged at once.
    assert_eq!(
        server_acks_for_one_write(DelayedAck::Delay(Duration::from_millis(200)), 300),
        vec![(ms(230), 301), (ms(230), 301)]
    );
}

#[test]
fn two_full_unacknowledged_segments_force_an_immediate_ack() {
    // Three full segments arrive at 30: the second makes 2 * MSS unacknowledged, so
    // the ACK leaves at once at 30; the third waits for the timer, 30 + 40 = 70.
    assert_eq!(
        server_acks_for_one_write(DelayedAck::Delay(Duration::from_millis(40)), 3 * MSS),
        vec![(ms(30), 2921), (ms(70), 4381)]
    );
}

#[test]
fn quick_ack_mode_acknowledges_the_first_sixteen_data_segments_at_once() {
    let (mut fabric, client, server) =
        Fabric::client_server(1, nodelay(), TcpConfig::default(), link_10ms());
    // One 100-byte write every 50 ms from 50 ms: each arrives 10 ms later, alone.
    for index in 0..17u64 {
        fabric.at(ms(50 + 50 * index), client, |ctx| {
            ctx.write(&[1; 100]);
        });
    }
    run(&mut fabric);
    let ack_times: Vec<SimTime> = pure_acks(&fabric, server).iter().map(|a| a.0).collect();
    // The first 16 are ACKed on arrival (60, 110, ..., 810); the 17th, arriving at
    // 860, waits Linux's 40 ms: 900.
    let mut expected: Vec<SimTime> = (0..16).map(|k| ms(60 + 50 * k)).collect();
    expected.push(ms(900));
    assert_eq!(ack_times, expected);
}

#[test]
fn a_delayed_ack_rides_on_the_response_instead_of_leaving_alone() {
    let (mut fabric, client, server) =
        Fabric::client_server(1, TcpConfig::default(), delay_40ms(), link_10ms());
    fabric.set_application(client, writes_once_established(vec![300], false));
    // An echo-like server: answers 100 bytes as soon as it reads the request.
    let mut answered = false;
    fabric.set_application(
        server,
        Box::new(move |ctx: &mut AppCtx<'_>| {
            if !ctx.read_all().is_empty() && !answered {
                answered = true;
                ctx.write(&[2; 100]);
            }
        }),
    );
    run(&mut fabric);
    // The request arrives at 30; the response leaves at 30 carrying ack=301.
    let server_data = sent(&fabric, server)
        .into_iter()
        .filter(|(_, h)| h.payload_len > 0)
        .collect::<Vec<_>>();
    assert_eq!(server_data.len(), 1);
    assert_eq!(server_data[0].0, ms(30));
    assert_eq!(server_data[0].1.ack, 301);
    assert!(pure_acks(&fabric, server).is_empty());
    let stats = fabric.socket(server).unwrap().stats();
    assert_eq!(stats.acks_piggybacked, 1);
    assert_eq!(stats.delayed_acks_sent, 0);
}

// ----- retransmission -----

fn partitioned(start_ms: u64, end_ms: u64) -> LinkConfig {
    LinkConfig {
        partitions: vec![Partition {
            start: ms(start_ms),
            end: ms(end_ms),
        }],
        ..link_10ms()
    }
}

/// A client and server where only the client-to-server direction has `forward`.
fn asymmetric(forward: LinkConfig) -> (Fabric, NodeId, NodeId) {
    let mut fabric = Fabric::new(1);
    let client = fabric.add_node("client", TcpSocket::new(TcpConfig::default()));
    let server = fabric.add_node("server", TcpSocket::new(TcpConfig::default()));
    fabric.connect_nodes(client, server, forward, link_10ms());
    fabric.act(server, |ctx| ctx.listen());
    fabric.at(SimTime::ZERO, client, |ctx| ctx.connect());
    (fabric, client, server)
}

#[test]
fn a_lost_syn_is_retransmitted_after_the_initial_rto_of_one_second() {
    let (mut fabric, client, _server) = asymmetric(partitioned(0, 1));
    run(&mut fabric);
    let syn_times: Vec<SimTime> = sent(&fabric, client)
        .iter()
        .filter(|(_, h)| h.flags.syn)
        .map(|(time, _)| *time)
        .collect();
    // SYN at 0 dropped; RTO 1 s (RFC 6298 2.1): again at 1000, answered at 1020.
    assert_eq!(syn_times, vec![ms(0), ms(1000)]);
    let socket = fabric.socket(client).unwrap();
    assert_eq!(socket.established_at(), Some(ms(1020)));
    // Karn: the SYN-ACK acknowledges a retransmitted SYN, so no RTT sample; RFC 6298
    // 5.7 sets the RTO to 3 s and RFC 5681 3.1 the initial window to one segment.
    assert_eq!(socket.srtt(), None);
    assert_eq!(socket.rto(), Duration::from_secs(3));
    assert_eq!(socket.cwnd_bytes(), MSS as u64);
}

#[test]
fn the_rto_backs_off_exponentially() {
    let (mut fabric, client, _server) = asymmetric(partitioned(0, 3_001));
    run(&mut fabric);
    let syn_times: Vec<SimTime> = sent(&fabric, client)
        .iter()
        .filter(|(_, h)| h.flags.syn)
        .map(|(time, _)| *time)
        .collect();
    // 0, then +1 s, +2 s, +4 s: 1000, 3000, 7000; the last one gets through.
    assert_eq!(syn_times, vec![ms(0), ms(1000), ms(3000), ms(7000)]);
    assert_eq!(
        fabric.socket(client).unwrap().established_at(),
        Some(ms(7020))
    );
    let expiries: Vec<(SimTime, TcpEvent)> = tcp_events(&fabric, client)
        .into_iter()
        .filter(|(_, event)| matches!(event, TcpEvent::RtoExpired { .. }))
        .collect();
    assert_eq!(
        expiries,
        vec![
            (
                ms(1000),
                TcpEvent::RtoExpired {
                    rto: Duration::from_secs(1),
                    backoffs: 1
                }
            ),
            (
                ms(3000),
                TcpEvent::RtoExpired {
                    rto: Duration::from_secs(2),
                    backoffs: 2
                }
            ),
            (
                ms(7000),
                TcpEvent::RtoExpired {
                    rto: Duration::from_secs(4),
                    backoffs: 3
                }
            ),
        ]
    );
}

#[test]
fn a_lost_data_segment_is_retransmitted_after_the_rto_from_the_handshake_sample() {
    // Drop everything the client sends in [20, 221): the first data segment at 20 and
    // its first retransmission at 220.
    let (mut fabric, client, server) = asymmetric(partitioned(20, 221));
    fabric.set_application(client, writes_once_established(vec![300], false));
    let (received, app) = sink();
    fabric.set_application(server, app);
    run(&mut fabric);
    // Handshake sample 20 ms: SRTT 20, RTTVAR 10, RTO = 20 + 4 * 10 = 60 ms, floored at
    // 200 ms. Data at 20 (lost), again at 220 (lost), then with the RTO doubled at
    // 220 + 400 = 620.
    assert_eq!(
        data_sent(&fabric, client),
        vec![(ms(20), 1, 300), (ms(220), 1, 300), (ms(620), 1, 300)]
    );
    let socket = fabric.socket(client).unwrap();
    assert_eq!(socket.stats().retransmissions, 2);
    assert_eq!(socket.stats().rto_expirations, 2);
    // Karn: the ACK of a retransmitted segment gives no sample; SRTT stays 20 ms.
    assert_eq!(socket.srtt(), Some(Duration::from_millis(20)));
    assert_eq!(received.borrow().len(), 300);
    let causes: Vec<RetransmitCause> = tcp_events(&fabric, client)
        .into_iter()
        .filter_map(|(_, event)| match event {
            TcpEvent::Retransmission { cause, .. } => Some(cause),
            _ => None,
        })
        .collect();
    assert_eq!(causes, vec![RetransmitCause::Rto, RetransmitCause::Rto]);
}

#[test]
fn three_duplicate_acks_trigger_a_fast_retransmit_without_waiting_for_the_rto() {
    // Driven by hand, segment by segment, to lose exactly the second data segment.
    let mut client = TcpSocket::new(TcpConfig::default());
    let mut server = TcpSocket::new(TcpConfig {
        delayed_ack: DelayedAck::Off,
        ..TcpConfig::default()
    });
    let t = ms(0);
    server.listen().unwrap();
    client.connect(t).unwrap();
    let syn = client.poll_transmit(t).unwrap();
    server.handle_segment(syn, t);
    let syn_ack = server.poll_transmit(t).unwrap();
    client.handle_segment(syn_ack, t);
    assert_eq!(client.send(&[3; 10 * MSS]), 10 * MSS);
    let flight: Vec<Segment> = core::iter::from_fn(|| client.poll_transmit(t)).collect();
    assert_eq!(flight.len(), 10);
    let lost_seq = flight[1].seq;
    // The call order: after each segment, poll the server's transmissions.
    let mut acks = Vec::new();
    for (index, segment) in flight.into_iter().enumerate() {
        if index != 1 {
            server.handle_segment(segment, t);
            acks.extend(core::iter::from_fn(|| server.poll_transmit(t)));
        }
    }
    // One ACK for segment 1, then one duplicate ACK per out-of-order segment.
    assert_eq!(acks.len(), 9);
    assert!(acks[1..].iter().all(|ack| ack.ack == lost_seq));
    for ack in acks {
        client.handle_segment(ack, t);
    }
    let retransmission = client.poll_transmit(t).unwrap();
    assert_eq!(retransmission.seq, lost_seq);
    assert_eq!(retransmission.payload.len(), MSS);
    assert_eq!(client.stats().fast_retransmits, 1);
    assert_eq!(client.stats().rto_expirations, 0);
    server.handle_segment(retransmission, t);
    let mut delivered = Vec::new();
    server.recv(&mut delivered);
    assert_eq!(delivered, vec![3; 10 * MSS]);
}

// ----- FIN and RST -----

#[test]
fn a_fin_half_closes_and_the_peer_may_still_send_before_closing() {
    let (mut fabric, client, server) =
        Fabric::client_server(1, TcpConfig::default(), TcpConfig::default(), link_10ms());
    fabric.set_application(client, writes_once_established(vec![100], true));
    let (client_received, client_sink) = sink();
    // Client: close after its write, then keep reading.
    let mut client_app = writes_once_established(vec![100], true);
    let mut client_sink = client_sink;
    fabric.set_application(
        client,
        Box::new(move |ctx: &mut AppCtx<'_>| {
            client_app.on_event(ctx);
            client_sink.on_event(ctx);
        }),
    );
    // Server: answer 50 bytes when the client's FIN is in, close at 100 ms.
    let mut answered = false;
    fabric.set_application(
        server,
        Box::new(move |ctx: &mut AppCtx<'_>| {
            ctx.read_all();
            if !answered && ctx.socket().is_some_and(TcpSocket::peer_closed) {
                answered = true;
                ctx.write(&[4; 50]);
            }
        }),
    );
    fabric.at(ms(100), server, |ctx| ctx.close());
    run(&mut fabric);
    // 20: data + FIN. 30: server CLOSE-WAIT, answers at once (the ACK of the FIN
    // rides on it). 40: client FIN-WAIT-2 and reads the 50 bytes. 100: server FIN,
    // LAST-ACK. 110: client TIME-WAIT, ACK. 120: server CLOSED.
    assert_eq!(entered(&fabric, client, TcpState::FinWait1), Some(ms(20)));
    assert_eq!(entered(&fabric, server, TcpState::CloseWait), Some(ms(30)));
    assert_eq!(entered(&fabric, client, TcpState::FinWait2), Some(ms(40)));
    assert_eq!(entered(&fabric, server, TcpState::LastAck), Some(ms(100)));
    assert_eq!(entered(&fabric, client, TcpState::TimeWait), Some(ms(110)));
    assert_eq!(entered(&fabric, server, TcpState::Closed), Some(ms(120)));
    assert_eq!(*client_received.borrow(), vec![4; 50]);
    assert_eq!(fabric.socket(client).unwrap().error(), None);
    assert_eq!(fabric.socket(server).unwrap().error(), None);
}

#[test]
fn abort_sends_a_reset_and_the_peer_reports_the_connection_reset() {
    let (mut fabric, client, server) =
        Fabric::client_server(1, TcpConfig::default(), TcpConfig::default(), link_10ms());
    fabric.at(ms(50), client, |ctx| ctx.abort());
    run(&mut fabric);
    let rst = sent(&fabric, client)
        .into_iter()
        .find(|(_, h)| h.flags.rst)
        .unwrap();
    assert_eq!(rst.0, ms(50));
    assert_eq!(entered(&fabric, server, TcpState::Closed), Some(ms(60)));
    assert_eq!(
        fabric.socket(server).unwrap().error(),
        Some(TcpError::Reset)
    );
    assert_eq!(
        fabric.socket(client).unwrap().error(),
        Some(TcpError::Aborted)
    );
}

#[test]
fn a_syn_to_a_port_nobody_listens_on_is_refused_with_a_reset() {
    let mut fabric = Fabric::new(1);
    let client = fabric.add_node("client", TcpSocket::new(TcpConfig::default()));
    let server = fabric.add_node("server", TcpSocket::new(TcpConfig::default()));
    fabric.connect_nodes(client, server, link_10ms(), link_10ms());
    fabric.at(SimTime::ZERO, client, |ctx| ctx.connect());
    run(&mut fabric);
    // SYN at 0, RST+ACK from the closed socket at 10, client CLOSED at 20.
    let reply = sent(&fabric, server);
    assert_eq!(reply.len(), 1);
    assert_eq!(reply[0].0, ms(10));
    assert!(reply[0].1.flags.rst && reply[0].1.flags.ack);
    assert_eq!(reply[0].1.ack, 1);
    assert_eq!(entered(&fabric, client, TcpState::Closed), Some(ms(20)));
    assert_eq!(
        fabric.socket(client).unwrap().error(),
        Some(TcpError::Reset)
    );
}

// ----- links: bandwidth, MTU, windows -----

#[test]
fn bandwidth_adds_serialisation_delay_and_segments_queue_behind_each_other() {
    // 8 Mbit/s: one byte takes exactly 1 us. SYN and SYN-ACK are 44 bytes on the wire
    // (40 header + 4 MSS option), full segments 1500.
    let link = LinkConfig {
        bandwidth_bps: Some(8_000_000),
        ..link_10ms()
    };
    let (mut fabric, client, server) =
        Fabric::client_server(1, TcpConfig::default(), TcpConfig::default(), link);
    fabric.at(SimTime::ZERO, client, |ctx| {
        ctx.write(&[1; 3 * MSS]);
    });
    run(&mut fabric);
    let us = SimTime::from_micros;
    // SYN: 44 us + 10 ms -> 10.044; SYN-ACK: 10.044 + 0.044 + 10 -> 20.088.
    assert_eq!(
        fabric.socket(client).unwrap().established_at(),
        Some(us(20_088))
    );
    // Three 1500-byte segments enter the link at 20.088 and leave it 1.5 ms apart:
    // arrivals 20.088 + 1.5 + 10 = 31.588, then 33.088, 34.588.
    let arrivals: Vec<SimTime> = fabric
        .trace()
        .iter()
        .filter(|e| e.node == server)
        .filter_map(|e| match &e.event {
            NetEvent::Received(h) if h.payload_len > 0 => Some(e.time),
            _ => None,
        })
        .collect();
    assert_eq!(arrivals, vec![us(31_588), us(33_088), us(34_588)]);
}

#[test]
fn the_mss_option_limits_the_segments_the_peer_sends() {
    let server_config = TcpConfig::for_mtu(576);
    assert_eq!(server_config.mss_bytes, 536);
    let (mut fabric, client, _server) =
        Fabric::client_server(1, TcpConfig::default(), server_config, link_10ms());
    fabric.at(SimTime::ZERO, client, |ctx| {
        ctx.write(&[1; 2000]);
    });
    run(&mut fabric);
    let sizes: Vec<usize> = data_sent(&fabric, client).iter().map(|d| d.2).collect();
    assert_eq!(sizes, vec![536, 536, 536, 392]);
}

#[test]
fn segments_bigger_than_the_link_mtu_are_dropped() {
    let link = LinkConfig {
        mtu_bytes: 576,
        ..link_10ms()
    };
    let (mut fabric, client, _server) =
        Fabric::client_server(1, TcpConfig::default(), TcpConfig::default(), link);
    fabric.at(SimTime::ZERO, client, |ctx| {
        ctx.write(&[1; 1000]);
    });
    fabric.run_until(ms(100));
    // The handshake fits; 1040 bytes of data segment do not.
    let drops: Vec<(SimTime, DropReason)> = fabric
        .trace()
        .iter()
        .filter_map(|e| match &e.event {
            NetEvent::Dropped { reason, .. } => Some((e.time, *reason)),
            _ => None,
        })
        .collect();
    assert_eq!(drops, vec![(ms(20), DropReason::Mtu)]);
}

#[test]
fn a_full_receive_buffer_stops_the_sender_until_the_application_reads() {
    let server_config = TcpConfig {
        recv_buffer_bytes: 4_000,
        ..TcpConfig::default()
    };
    let (mut fabric, client, server) =
        Fabric::client_server(1, TcpConfig::default(), server_config, link_10ms());
    fabric.at(SimTime::ZERO, client, |ctx| {
        ctx.write(&[6; 10_000]);
    });
    // The server application only starts reading at 500 ms.
    let received = Rc::new(RefCell::new(Vec::new()));
    let shared = Rc::clone(&received);
    fabric.set_application(
        server,
        Box::new(move |ctx: &mut AppCtx<'_>| {
            if ctx.now() >= ms(500) {
                ctx.recv(&mut shared.borrow_mut());
            }
        }),
    );
    fabric.at(ms(500), server, |ctx| ctx.wake_at(ms(500)));
    assert_eq!(fabric.run_until(ms(499)), RunOutcome::TimeReached);
    // Before any read, the server holds at most its 4000-byte buffer.
    assert_eq!(fabric.socket(server).unwrap().recv_queued(), 4_000);
    assert_eq!(fabric.socket(client).unwrap().peer_window_bytes(), 0);
    run(&mut fabric);
    assert_eq!(*received.borrow(), vec![6; 10_000]);
}

// ----- determinism and faults -----

fn lossy_transfer(seed: u64) -> (String, Vec<u8>) {
    let link = LinkConfig {
        loss_probability: 0.1,
        duplicate_probability: 0.1,
        jitter: Duration::from_millis(5),
        ..link_10ms()
    };
    let (mut fabric, client, server) =
        Fabric::client_server(seed, TcpConfig::default(), TcpConfig::default(), link);
    // Closing in SYN-SENT would abandon the connection (RFC 9293 3.10.4), so the
    // client writes at once and closes when established.
    fabric.at(SimTime::ZERO, client, |ctx| {
        ctx.write(&[8; 30_000]);
    });
    fabric.set_application(client, writes_once_established(Vec::new(), true));
    let (received, app) = sink();
    fabric.set_application(server, app);
    run(&mut fabric);
    let data = received.borrow().clone();
    (fabric.trace_text(), data)
}

#[test]
fn the_same_seed_gives_the_same_trace_text_and_different_seeds_differ() {
    let (first, first_data) = lossy_transfer(42);
    let (again, _) = lossy_transfer(42);
    let (other, other_data) = lossy_transfer(43);
    assert_eq!(first, again);
    assert_ne!(first, other);
    // Loss, duplication and jitter really happened.
    assert!(first.contains("drop loss"), "{first}");
    assert!(first.contains(" dup "), "{first}");
    assert_eq!(first_data, vec![8; 30_000]);
    assert_eq!(other_data, vec![8; 30_000]);
}

/// A byte pattern that shows misordering: position `i` holds `i * 7 + salt`.
fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(7).wrapping_add(salt))
        .collect()
}

#[test]
fn with_up_to_30_percent_loss_every_seed_delivers_both_streams_complete_and_in_order() {
    // Swarm style: each seed also draws its fault mix. The time bound: even with
    // the worst backoff streaks seen, both directions finish well inside it.
    let time_bound = SimTime::from_secs(30 * 60);
    for seed in 0..48u64 {
        let mut knobs = MasterSeed::new(seed).stream("test/knobs");
        let loss_probability = knobs.below(31) as f64 / 100.0;
        let link = LinkConfig {
            loss_probability,
            duplicate_probability: knobs.below(11) as f64 / 100.0,
            jitter: Duration::from_micros(knobs.below(20_001)),
            latency: Duration::from_millis(1 + knobs.below(50)),
            ..LinkConfig::default()
        };
        let robust = |isn: u32, nodelay: bool| TcpConfig {
            isn,
            nodelay,
            syn_retries_max: 40,
            retries_max: 60,
            rto_max: Duration::from_secs(10),
            ..TcpConfig::default()
        };
        // ISNs near the top of the sequence space exercise wrap-around.
        let client_config = robust(u32::MAX - knobs.below(40_000) as u32, knobs.below(2) == 0);
        let server_config = robust(knobs.next_u32(), knobs.below(2) == 0);
        let (mut fabric, client, server) =
            Fabric::client_server(seed, client_config, server_config, link);
        let upload = pattern(40_000, 1);
        let download = pattern(12_000, 2);
        let (from_client, server_sink) = sink();
        let (from_server, client_sink) = sink();
        let upload_copy = upload.clone();
        fabric.at(SimTime::ZERO, client, move |ctx| {
            assert_eq!(ctx.write(&upload_copy), upload_copy.len());
        });
        let mut client_closer = writes_once_established(Vec::new(), true);
        let mut client_sink = client_sink;
        fabric.set_application(
            client,
            Box::new(move |ctx: &mut AppCtx<'_>| {
                client_sink.on_event(ctx);
                client_closer.on_event(ctx);
            }),
        );
        let mut server_app = server_sink;
        let download_copy = download.clone();
        let mut responded = false;
        fabric.set_application(
            server,
            Box::new(move |ctx: &mut AppCtx<'_>| {
                server_app.on_event(ctx);
                if !responded && ctx.socket().is_some_and(TcpSocket::is_established) {
                    responded = true;
                    assert_eq!(ctx.write(&download_copy), download_copy.len());
                    ctx.close();
                }
            }),
        );
        let outcome = fabric.run_until_idle(1_000_000);
        let context = format!("seed {seed}, loss {loss_probability}, now {}", fabric.now());
        assert_eq!(outcome, RunOutcome::Idle, "{context}");
        assert!(fabric.now() <= time_bound, "{context}");
        assert!(*from_client.borrow() == upload, "{context}: upload differs");
        assert!(
            *from_server.borrow() == download,
            "{context}: download differs"
        );
        for node in [client, server] {
            let socket = fabric.socket(node).unwrap();
            assert_eq!(socket.error(), None, "{context}");
            assert!(
                matches!(socket.state(), TcpState::TimeWait | TcpState::Closed),
                "{context}: {}",
                socket.state()
            );
        }
    }
}

// ----- the fabric's own bounds -----

#[test]
fn a_tiny_event_queue_reports_overflow_instead_of_panicking() {
    let mut fabric = Fabric::with_limits(1, 2, 1_000);
    let client = fabric.add_node("client", TcpSocket::new(TcpConfig::default()));
    let server = fabric.add_node("server", TcpSocket::new(TcpConfig::default()));
    fabric.connect_nodes(client, server, link_10ms(), link_10ms());
    fabric.act(server, |ctx| ctx.listen());
    for index in 0..3 {
        fabric.at(ms(index), client, |ctx| ctx.connect());
    }
    assert!(matches!(
        fabric.run_until_idle(1_000),
        RunOutcome::QueueOverflow(QueueFull {
            capacity_max: 2,
            ..
        })
    ));
    assert!(fabric.trace_text().contains("queue overflow"));
}

#[test]
fn run_until_stops_at_the_requested_time() {
    let (mut fabric, client, _server) =
        Fabric::client_server(1, TcpConfig::default(), TcpConfig::default(), link_10ms());
    assert_eq!(fabric.run_until(ms(15)), RunOutcome::TimeReached);
    assert_eq!(fabric.now(), ms(15));
    assert_eq!(fabric.socket(client).unwrap().state(), TcpState::SynSent);
    assert_eq!(fabric.run_until(ms(20)), RunOutcome::TimeReached);
    assert_eq!(
        fabric.socket(client).unwrap().state(),
        TcpState::Established
    );
}

// ----- same-instant arrivals -----

#[test]
fn segments_arriving_together_are_all_taken_before_the_application_answers() {
    // The client writes 3000 bytes at 20 ms (TCP_NODELAY): three segments leave together
    // and arrive together at 30 ms. The server answers the first bytes it reads; as in a
    // kernel, all three segments are in its receive queue before it runs, so it reads
    // 3000 bytes in one wake-up and its answer acknowledges all of them.
    let (mut fabric, client, server) =
        Fabric::client_server(1, nodelay(), delay_40ms(), link_10ms());
    fabric.set_application(client, writes_once_established(vec![3000], false));
    let reads = Rc::new(RefCell::new(Vec::new()));
    let seen = Rc::clone(&reads);
    let mut answered = false;
    fabric.set_application(
        server,
        Box::new(move |ctx: &mut AppCtx<'_>| {
            let n = ctx.read_all().len();
            if n > 0 {
                seen.borrow_mut().push(n);
                if !answered {
                    answered = true;
                    ctx.write(&[7; 100]);
                }
            }
        }),
    );
    run(&mut fabric);
    assert_eq!(*reads.borrow(), vec![3000]);
    let answer = sent(&fabric, server)
        .into_iter()
        .find(|(_, h)| h.payload_len == 100)
        .expect("the answer");
    assert_eq!(answer.0, ms(30));
    assert_eq!(answer.1.ack, 3001);
}

// ----- the Linux profile -----

#[test]
fn on_hz_250_ticks_a_40_ms_timer_fires_40_to_44_ms_later_and_a_300_ms_one_on_8_jiffy_buckets() {
    let ticks = KernelTicks::hz(250);
    // Armed on a tick edge (jiffy 0): expiry jiffy 10, bucket 11: 44 ms.
    assert_eq!(ticks.deadline(ms(0), Duration::from_millis(40)), ms(44));
    // Armed 3.999 ms into jiffy 0: the same bucket, 40.001 ms later.
    let late = SimTime::from_nanos(3_999_000);
    assert_eq!(ticks.deadline(late, Duration::from_millis(40)), ms(44));
    // 300 ms = 75 jiffies, level 1 (64 to 511 jiffies, 8-jiffy buckets): (75 >> 3) + 1 = 10
    // buckets of 8 jiffies = 80 jiffies, 320 ms.
    assert_eq!(ticks.deadline(ms(0), Duration::from_millis(300)), ms(320));
    // Never early, whatever the phase.
    for micros in (0..20_000).step_by(333) {
        let now = SimTime::from_micros(micros);
        let delay = Duration::from_millis(40);
        let fired = ticks.deadline(now, delay);
        assert!(fired >= now + delay && fired <= now + delay + Duration::from_millis(4));
    }
}

#[test]
fn the_linux_rto_rule_floors_the_variance_term_not_the_sum() {
    // One 20 ms sample: RFC 6298 gives max(20 + 4 * 10, 200) = 200 ms, Linux
    // 20 + max(40, 200) = 220 ms.
    for (rule, rto) in [(RtoRule::Rfc6298, 200), (RtoRule::Linux, 220)] {
        let config = TcpConfig {
            rto_rule: rule,
            ..TcpConfig::default()
        };
        let (mut fabric, client, _) = Fabric::client_server(1, config.clone(), config, link_10ms());
        run(&mut fabric);
        let socket = fabric.socket(client).unwrap();
        assert_eq!(socket.rto(), Duration::from_millis(rto), "{rule:?}");
    }
}

#[test]
fn with_timestamps_a_full_segment_carries_1448_bytes() {
    let config = TcpConfig::default().linux(1000);
    let (mut fabric, client, server) =
        Fabric::client_server(1, config.clone(), config, link_10ms());
    fabric.set_application(client, writes_once_established(vec![3000], false));
    let (received, app) = sink();
    fabric.set_application(server, app);
    run(&mut fabric);
    let lens: Vec<usize> = data_sent(&fabric, client).iter().map(|d| d.2).collect();
    assert_eq!(lens, vec![1448, 1448, 104]);
    assert_eq!(received.borrow().len(), 3000);
}

#[test]
fn with_minshalls_nagle_the_small_tail_of_a_large_write_leaves_at_once_and_a_later_small_write_waits(
) {
    // One 3000-byte write then one 100-byte write, Nagle on, 10 ms each way. RFC rule:
    // the 80-byte tail waits for the first ACK (quick ACK at 30 ms, back at 40 ms), then
    // tail and 100 bytes leave together. Minshall (Linux): the tail is the first small
    // segment, so it leaves at 20 ms with the full ones; the 100 bytes wait for its ACK.
    for (minshall, expected) in [
        (false, vec![(20, 1460), (20, 1460), (40, 180)]),
        (true, vec![(20, 1460), (20, 1460), (20, 80), (40, 100)]),
    ] {
        let config = TcpConfig {
            nagle_minshall: minshall,
            ..TcpConfig::default()
        };
        let (mut fabric, client, server) =
            Fabric::client_server(1, config.clone(), config, link_10ms());
        fabric.set_application(client, writes_once_established(vec![3000, 100], false));
        let (_, app) = sink();
        fabric.set_application(server, app);
        run(&mut fabric);
        let got: Vec<(u64, usize)> = data_sent(&fabric, client)
            .iter()
            .map(|(t, _, len)| (t.as_nanos() / 1_000_000, *len))
            .collect();
        assert_eq!(got, expected, "minshall {minshall}");
    }
}
