//! A socket stand-in for an `SslStream`: OpenSSL reads and writes in memory, and the caller
//! moves the bytes (the simulator's TCP model, or an in-memory peer).

use std::collections::VecDeque;
use std::io::{self, Read, Write};

/// Two byte queues standing in for a socket.
#[derive(Debug, Default)]
pub struct MemoryDuplex {
    /// Bytes from the peer, not yet read by OpenSSL.
    pub incoming: VecDeque<u8>,
    /// Bytes OpenSSL wrote, not yet taken by the caller.
    pub outgoing: Vec<u8>,
}

impl Read for MemoryDuplex {
    /// `WouldBlock` when empty, so OpenSSL reports `SSL_ERROR_WANT_READ`, not EOF.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.incoming.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.incoming.len());
        for (dst, src) in buf.iter_mut().zip(self.incoming.drain(..n)) {
            *dst = src;
        }
        Ok(n)
    }
}

impl Write for MemoryDuplex {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
