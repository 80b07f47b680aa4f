//! The client's ticket store: NewSessionTickets per server name, newest first, each handed
//! out once. RFC 9846 appendix C.4: "Clients SHOULD NOT reuse a ticket for multiple
//! connections", and a reused ticket is what lets a passive observer link connections.

use super::session::ClientSession;
use crate::time::Timestamp;
use std::collections::{BTreeMap, VecDeque};

/// Tickets kept per server name (rustls keeps the same number).
pub const TICKETS_PER_SERVER_MAX: usize = 8;

/// Sessions received from servers, keyed by server name, each usable once.
#[derive(Debug, Default)]
pub struct ClientSessionStore {
    by_server: BTreeMap<String, VecDeque<ClientSession>>,
}

impl ClientSessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps `session` for `server_name`; the oldest goes when more than
    /// [`TICKETS_PER_SERVER_MAX`] are held.
    pub fn insert(&mut self, server_name: &str, session: ClientSession) {
        let q = self.by_server.entry(server_name.to_owned()).or_default();
        q.push_front(session);
        q.truncate(TICKETS_PER_SERVER_MAX);
    }

    /// Takes the newest unexpired session for `server_name`, removing it so it is never
    /// offered twice. Expired sessions met on the way are dropped.
    pub fn take(&mut self, server_name: &str, now: Timestamp) -> Option<ClientSession> {
        let q = self.by_server.get_mut(server_name)?;
        while let Some(s) = q.pop_front() {
            if !s.is_expired(now) {
                return Some(s);
            }
        }
        None
    }

    /// Sessions held for `server_name`.
    pub fn len(&self, server_name: &str) -> usize {
        self.by_server.get(server_name).map_or(0, VecDeque::len)
    }

    /// Serialises every session (a client that restarts keeps its tickets): per entry the
    /// server name and the session's own encoding, length-prefixed.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, q) in &self.by_server {
            for s in q.iter().rev() {
                crate::codec::put_vec(crate::codec::LengthPrefix::U16, name.as_bytes(), &mut out);
                crate::codec::put_vec(crate::codec::LengthPrefix::U24, &s.to_bytes(), &mut out);
            }
        }
        out
    }

    /// Restores a store written by [`ClientSessionStore::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::error::InvalidMessage> {
        use crate::codec::{read_vec, LengthPrefix, Reader};
        let mut r = Reader::new(bytes);
        let mut store = Self::new();
        while !r.is_empty() {
            let name = read_vec(&mut r, LengthPrefix::U16, 1)?;
            let name = String::from_utf8(name)
                .map_err(|_| crate::error::InvalidMessage::IllegalParameter("server name"))?;
            let session = ClientSession::from_bytes(&read_vec(&mut r, LengthPrefix::U24, 1)?)?;
            store.insert(&name, session);
        }
        Ok(store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msgs::enums::CipherSuite;

    fn session(ticket: u8, lifetime_s: u32) -> ClientSession {
        ClientSession::resumption(
            CipherSuite::TLS13_AES_128_GCM_SHA256,
            vec![ticket; 4],
            vec![0; 32],
            7,
            lifetime_s,
            Timestamp::from_secs(1000),
        )
    }

    #[test]
    fn a_ticket_is_handed_out_once_newest_first() {
        let mut store = ClientSessionStore::new();
        store.insert("a", session(1, 100));
        store.insert("a", session(2, 100));
        let now = Timestamp::from_secs(1001);
        assert_eq!(store.take("a", now).unwrap().ticket, vec![2; 4]);
        assert_eq!(store.take("a", now).unwrap().ticket, vec![1; 4]);
        assert!(store.take("a", now).is_none());
        assert!(store.take("b", now).is_none());
    }

    #[test]
    fn expired_tickets_are_dropped_and_the_store_is_bounded() {
        let mut store = ClientSessionStore::new();
        store.insert("a", session(1, 100));
        store.insert("a", session(2, 1));
        assert_eq!(
            store.take("a", Timestamp::from_secs(1050)).unwrap().ticket,
            vec![1; 4]
        );
        for i in 0..20 {
            store.insert("a", session(i, 100));
        }
        assert_eq!(store.len("a"), TICKETS_PER_SERVER_MAX);
    }

    #[test]
    fn a_restarted_client_keeps_its_tickets_in_order() {
        let mut store = ClientSessionStore::new();
        store.insert("a", session(1, 100));
        store.insert("a", session(2, 100));
        store.insert("b", session(3, 100));
        let mut restored = ClientSessionStore::from_bytes(&store.to_bytes()).unwrap();
        let now = Timestamp::from_secs(1001);
        assert_eq!(restored.take("a", now).unwrap().ticket, vec![2; 4]);
        assert_eq!(restored.take("b", now).unwrap().ticket, vec![3; 4]);
        assert!(ClientSessionStore::from_bytes(&[0, 5, 1]).is_err());
    }
}
