//! zerortt-core as a subject: a thin wrapper, so its traces are exactly those of the
//! connection itself.

use super::{Session, Subject, SubjectError, WriteBoundaries};
use zerortt_core::time::Timestamp;
use zerortt_core::{Connection, EarlyDataStatus, Event, ReadEarlyData};

/// A zerortt-core [`Connection`] behind the [`Subject`] API.
pub struct ZerorttSubject {
    conn: Connection,
}

impl ZerorttSubject {
    /// Wraps `conn`.
    pub fn new(conn: Connection) -> Self {
        Self { conn }
    }
}

impl Subject for ZerorttSubject {
    fn read_tls(&mut self, bytes: &[u8]) -> usize {
        self.conn.read_tls(bytes)
    }

    fn write_tls(&mut self, out: &mut Vec<u8>) -> usize {
        self.conn.write_tls(out)
    }

    fn buffered_tls(&self) -> usize {
        self.conn.buffered_tls()
    }

    fn take_events(&mut self) -> Vec<Event> {
        self.conn.take_events()
    }

    fn write_early_data(&mut self, data: &[u8], now: Timestamp) -> Result<usize, SubjectError> {
        Ok(self.conn.write_early_data(data, now)?)
    }

    fn read_early_data(
        &mut self,
        buf: &mut [u8],
        now: Timestamp,
    ) -> Result<ReadEarlyData, SubjectError> {
        Ok(self.conn.read_early_data(buf, now)?)
    }

    fn do_handshake(&mut self, now: Timestamp) -> Result<(), SubjectError> {
        Ok(self.conn.do_handshake(now)?)
    }

    fn read(&mut self, buf: &mut [u8], now: Timestamp) -> Result<usize, SubjectError> {
        Ok(self.conn.read(buf, now)?)
    }

    fn write(&mut self, data: &[u8], now: Timestamp) -> Result<usize, SubjectError> {
        Ok(self.conn.write(data, now)?)
    }

    fn early_data_status(&self) -> EarlyDataStatus {
        self.conn.early_data_status()
    }

    fn is_init_finished(&self) -> bool {
        self.conn.is_init_finished()
    }

    fn send_close_notify(&mut self) {
        self.conn.send_close_notify()
    }

    fn failed(&self) -> bool {
        self.conn.error().is_some()
    }

    fn take_new_sessions(&mut self) -> Vec<Session> {
        self.conn
            .take_new_sessions()
            .into_iter()
            .map(Session::Zerortt)
            .collect()
    }

    /// zerortt-core has OpenSSL's API, so its applications are OpenSSL's: one write per
    /// call, the server's tickets (queued by the `do_handshake` that completes) in their
    /// own write, before the response.
    fn write_boundaries(&self) -> WriteBoundaries {
        WriteBoundaries::PerCall
    }
}
