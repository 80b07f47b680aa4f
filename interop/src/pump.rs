//! The in-memory pump: one connection attempt between any client and any server, in
//! bounded rounds, following the call order of SSL_read_early_data(3): the client writes
//! early data first, the server reads early data until it is finished, both complete the
//! handshake, and a client whose early data was not accepted sends it again as 1-RTT data
//! (RFC 9846 4.3.10: "the client application MAY opt to retransmit the Application Data
//! previously sent in early data once the handshake has been completed").

use std::fmt;

/// Most rounds (client output to server, server output to client) a handshake may take.
/// A TLS 1.3 handshake with HelloRetryRequest and EndOfEarlyData needs four.
pub const MAX_ROUNDS: usize = 16;

/// What the server sends back once the handshake is complete, so that both directions of
/// 1-RTT data are exercised and the client reads (and so processes) the tickets.
pub const REPLY: &[u8] = b"reply from the server";

/// Why a connection attempt failed: which side, which step, and the library's error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure(pub String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failure {}

/// An early-data status as `SSL_get_early_data_status(3)` names it. rustls's server has no
/// such call; it only says whether early data was accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// `SSL_EARLY_DATA_NOT_SENT`.
    NotSent,
    /// `SSL_EARLY_DATA_ACCEPTED`.
    Accepted,
    /// `SSL_EARLY_DATA_REJECTED`.
    Rejected,
    /// Not accepted, from a peer that cannot tell "not sent" from "rejected" (rustls's
    /// server: `ServerConnection::early_data()` is `None`).
    NotAccepted,
}

/// The calls a TLS client and a TLS server have in common, as the pump drives them.
pub trait Endpoint {
    /// Advances the handshake with the input so far; true once it is complete.
    fn handshake(&mut self) -> Result<bool, Failure>;
    /// Writes application data after the handshake.
    fn write(&mut self, data: &[u8]) -> Result<(), Failure>;
    /// Appends the application data available now to `out` (a client also processes
    /// tickets).
    fn read(&mut self, out: &mut Vec<u8>) -> Result<(), Failure>;
    /// True if the handshake resumed a session.
    fn resumed(&self) -> bool;
    /// The negotiated suite's code point.
    fn suite(&self) -> Option<u16>;
    /// The negotiated ALPN protocol.
    fn alpn(&self) -> Option<Vec<u8>>;
    /// Sends close_notify.
    fn close(&mut self) -> Result<(), Failure>;
    /// Takes the bytes to send to the peer.
    fn take_output(&mut self) -> Vec<u8>;
    /// Hands in bytes from the peer (processed by the next call).
    fn give_input(&mut self, bytes: &[u8]);
}

/// A TLS client as the pump drives it.
pub trait ClientEnd: Endpoint {
    /// Writes `data` as early data; the bytes taken (fewer if the session's limit is
    /// smaller; 0 if the session allows none and nothing was sent).
    fn write_early_data(&mut self, data: &[u8]) -> Result<usize, Failure>;
    /// The early-data status.
    fn status(&mut self) -> Status;
    /// Tickets (NewSessionTicket) received so far.
    fn tickets(&self) -> usize;
}

/// A TLS server as the pump drives it.
pub trait ServerEnd: Endpoint {
    /// `SSL_read_early_data`: appends early data read now to `out`; true once no more
    /// early data can come (FINISH).
    fn read_early_data(&mut self, out: &mut Vec<u8>) -> Result<bool, Failure>;
    /// The early-data status.
    fn status(&mut self) -> Status;
}

/// What one connection attempt did, seen from both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Early data bytes the client's write_early_data took.
    pub early_written: usize,
    /// What the server read with its early-data API.
    pub early_read: Vec<u8>,
    /// The client sent the early data again as 1-RTT data (it was not accepted).
    pub resent: bool,
    /// What the server read as 1-RTT application data.
    pub app_read: Vec<u8>,
    /// What the client read after the handshake (the server's [`REPLY`]).
    pub reply_read: Vec<u8>,
    /// The client's early-data status once the handshake is complete.
    pub client_status: Status,
    /// The server's.
    pub server_status: Status,
    /// The client resumed.
    pub client_resumed: bool,
    /// The server resumed.
    pub server_resumed: bool,
    /// The client's negotiated suite.
    pub client_suite: Option<u16>,
    /// The server's negotiated suite.
    pub server_suite: Option<u16>,
    /// The client's negotiated ALPN protocol.
    pub client_alpn: Option<Vec<u8>>,
    /// The server's negotiated ALPN protocol.
    pub server_alpn: Option<Vec<u8>>,
    /// Tickets the client holds from this connection.
    pub tickets: usize,
}

/// Moves `from`'s output to `to`'s input; the bytes moved.
pub fn transfer(from: &mut impl Endpoint, to: &mut impl Endpoint) -> usize {
    let bytes = from.take_output();
    to.give_input(&bytes);
    bytes.len()
}

/// One connection attempt: the client writes `early` as early data (if not empty), the
/// server reads early data to its end, both complete the handshake; if the early data was
/// not accepted the client writes it again as 1-RTT data; the server reads it and sends
/// [`REPLY`], which the client reads. Fails if any call fails or a step does not complete
/// within [`MAX_ROUNDS`].
pub fn pump(
    client: &mut impl ClientEnd,
    server: &mut impl ServerEnd,
    early: &[u8],
) -> Result<Outcome, Failure> {
    let early_written = if early.is_empty() {
        client.handshake()?;
        0
    } else {
        client.write_early_data(early)?
    };
    let mut early_read = Vec::new();
    complete_handshake(client, server, &mut early_read)?;
    finish(client, server, early, early_written, early_read)
}

/// Moves bytes until both handshakes are complete, the server reading early data (appended
/// to `early_read`) until its early-data API says FINISH. For a client that has already
/// started (written early data or called `handshake`).
pub fn complete_handshake(
    client: &mut impl ClientEnd,
    server: &mut impl ServerEnd,
    early_read: &mut Vec<u8>,
) -> Result<(), Failure> {
    let (mut early_done, mut server_done, mut client_done) = (false, false, false);
    for _ in 0..MAX_ROUNDS {
        let moved = transfer(client, server);
        if !early_done {
            early_done = server.read_early_data(early_read)?;
        }
        if early_done && !server_done {
            server_done = server.handshake()?;
        }
        let moved = moved + transfer(server, client);
        if !client_done {
            client_done = client.handshake()?;
        }
        if early_done && server_done && client_done && moved == 0 {
            break;
        }
    }
    if !(early_done && server_done && client_done) {
        return Err(Failure(format!(
            "no complete handshake in {MAX_ROUNDS} rounds: early data finished {early_done}, \
             server {server_done}, client {client_done}"
        )));
    }
    Ok(())
}

/// The rest of [`pump()`] after the handshake: resend, 1-RTT both ways, close_notify.
fn finish(
    client: &mut impl ClientEnd,
    server: &mut impl ServerEnd,
    early: &[u8],
    early_written: usize,
    early_read: Vec<u8>,
) -> Result<Outcome, Failure> {
    // RFC 9846 4.3.10: a TLS implementation "SHOULD NOT automatically resend early data",
    // so the application (here) does, once the handshake has been completed.
    let client_status = client.status();
    let resent = early_written > 0 && client_status != Status::Accepted;
    let expected = if resent {
        client.write(&early[..early_written])?;
        early_written
    } else {
        0
    };
    let mut app_read = Vec::new();
    for _ in 0..MAX_ROUNDS {
        transfer(client, server);
        server.read(&mut app_read)?;
        if app_read.len() >= expected {
            break;
        }
    }
    server.write(REPLY)?;
    let mut reply_read = Vec::new();
    for _ in 0..MAX_ROUNDS {
        transfer(server, client);
        client.read(&mut reply_read)?;
        if reply_read.len() >= REPLY.len() {
            break;
        }
    }
    // Both send close_notify. OpenSSL needs it: SSL_free of a connection that did not call
    // SSL_shutdown removes its session from the cache (ssl_clear_bad_session), which would
    // make the next resumption fail for a reason that is not the one under test.
    let server_status = server.status();
    client.close()?;
    server.close()?;
    transfer(client, server);
    transfer(server, client);
    Ok(Outcome {
        early_written,
        early_read,
        resent,
        app_read,
        reply_read,
        client_status,
        server_status,
        client_resumed: client.resumed(),
        server_resumed: server.resumed(),
        client_suite: client.suite(),
        server_suite: server.suite(),
        client_alpn: client.alpn(),
        server_alpn: server.alpn(),
        tickets: client.tickets(),
    })
}

/// A client that keeps a copy of every flight it sends, to replay one to another server.
pub struct Recorder<C> {
    /// The client.
    pub inner: C,
    /// Its flights, in order (one per `take_output` that returned bytes).
    pub flights: Vec<Vec<u8>>,
}

impl<C: ClientEnd> Recorder<C> {
    /// Records `inner`.
    pub fn new(inner: C) -> Self {
        Self {
            inner,
            flights: Vec::new(),
        }
    }
}

impl<C: ClientEnd> Endpoint for Recorder<C> {
    fn handshake(&mut self) -> Result<bool, Failure> {
        self.inner.handshake()
    }
    fn write(&mut self, data: &[u8]) -> Result<(), Failure> {
        self.inner.write(data)
    }
    fn read(&mut self, out: &mut Vec<u8>) -> Result<(), Failure> {
        self.inner.read(out)
    }
    fn resumed(&self) -> bool {
        self.inner.resumed()
    }
    fn suite(&self) -> Option<u16> {
        self.inner.suite()
    }
    fn alpn(&self) -> Option<Vec<u8>> {
        self.inner.alpn()
    }
    fn close(&mut self) -> Result<(), Failure> {
        self.inner.close()
    }
    fn take_output(&mut self) -> Vec<u8> {
        let out = self.inner.take_output();
        if !out.is_empty() {
            self.flights.push(out.clone());
        }
        out
    }
    fn give_input(&mut self, bytes: &[u8]) {
        self.inner.give_input(bytes)
    }
}

impl<C: ClientEnd> ClientEnd for Recorder<C> {
    fn write_early_data(&mut self, data: &[u8]) -> Result<usize, Failure> {
        self.inner.write_early_data(data)
    }
    fn status(&mut self) -> Status {
        self.inner.status()
    }
    fn tickets(&self) -> usize {
        self.inner.tickets()
    }
}
