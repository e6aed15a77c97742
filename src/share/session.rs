//! Share sessions (Kafka's ShareSessionCache, KIP-932): per (group, member) on this broker, the
//! partitions a share consumer fetches and the epoch its next ShareFetch or ShareAcknowledge
//! must carry. Epoch 0 opens (replacing an old session without releasing its records), -1
//! closes, and anything else must match. A session belongs to the connection that opened it:
//! when that connection closes, the member's records are released.

use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError as E;
use parking_lot::Mutex;
use uuid::Uuid;

/// The epoch that opens a session.
pub const INITIAL_EPOCH: i32 = 0;
/// The epoch that closes one.
pub const FINAL_EPOCH: i32 = -1;

#[derive(Debug)]
struct Session {
    epoch: i32,
    /// In fetch order (partitions that returned records move to the end).
    partitions: Vec<(Uuid, i32)>,
    connection: u64,
}

/// The session a request works in, after its epoch was checked.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub partitions: Vec<(Uuid, i32)>,
    /// The epoch the request was accepted at.
    pub epoch: i32,
}

/// A session that ended with its connection: group, member, partitions.
pub type EndedSession = (Arc<str>, String, Vec<(Uuid, i32)>);

/// A refused session operation: the top-level error.
pub type SessionError = (i16, &'static str);

pub struct Sessions {
    max: usize,
    by_member: Mutex<HashMap<(Arc<str>, String), Session>>,
}

/// Kafka's nextEpoch: wraps to 1 after i32::MAX.
fn next_epoch(e: i32) -> i32 {
    if e == i32::MAX {
        1
    } else {
        e + 1
    }
}

impl Sessions {
    pub fn new(max: usize) -> Self {
        Self { max, by_member: Mutex::new(HashMap::new()) }
    }

    /// A ShareFetch's session: opened at epoch 0 with `add`, else checked and updated (`add`
    /// joins it, `forget` leaves it). Epoch -1 returns the session as it is; the caller closes
    /// it after its acknowledgements ([`Sessions::close`]).
    pub fn fetch(
        &self,
        group: &Arc<str>,
        member: &str,
        epoch: i32,
        add: &[(Uuid, i32)],
        forget: &[(Uuid, i32)],
        connection: u64,
    ) -> Result<SessionView, SessionError> {
        let mut all = self.by_member.lock();
        let key = (group.clone(), member.to_string());
        if epoch == INITIAL_EPOCH {
            if !all.contains_key(&key) && all.len() >= self.max {
                return Err((E::ShareSessionLimitReached.code(), "The share session cache is full."));
            }
            let mut partitions: Vec<(Uuid, i32)> = Vec::with_capacity(add.len());
            for tp in add {
                if !partitions.contains(tp) {
                    partitions.push(*tp);
                }
            }
            all.insert(key, Session { epoch: next_epoch(INITIAL_EPOCH), partitions: partitions.clone(), connection });
            return Ok(SessionView { partitions, epoch });
        }
        let s = all.get_mut(&key).ok_or((E::ShareSessionNotFound.code(), "The share session was not found."))?;
        if epoch == FINAL_EPOCH {
            return Ok(SessionView { partitions: s.partitions.clone(), epoch });
        }
        if epoch != s.epoch {
            return Err((E::InvalidShareSessionEpoch.code(), "The share session epoch is invalid."));
        }
        for tp in add {
            if !s.partitions.contains(tp) {
                s.partitions.push(*tp);
            }
        }
        s.partitions.retain(|tp| !forget.contains(tp));
        s.epoch = next_epoch(epoch);
        s.connection = connection;
        Ok(SessionView { partitions: s.partitions.clone(), epoch })
    }

    /// A ShareAcknowledge's session check (it never changes the partitions).
    pub fn acknowledge(&self, group: &Arc<str>, member: &str, epoch: i32) -> Result<(), SessionError> {
        if epoch == INITIAL_EPOCH {
            return Err((E::InvalidShareSessionEpoch.code(), "The share session epoch is invalid."));
        }
        let mut all = self.by_member.lock();
        let s = all
            .get_mut(&(group.clone(), member.to_string()))
            .ok_or((E::ShareSessionNotFound.code(), "The share session was not found."))?;
        if epoch == FINAL_EPOCH {
            return Ok(());
        }
        if epoch != s.epoch {
            return Err((E::InvalidShareSessionEpoch.code(), "The share session epoch is invalid."));
        }
        s.epoch = next_epoch(epoch);
        Ok(())
    }

    /// Moves partitions that returned records to the end of the session's order, so the next
    /// fetch starts with the others.
    pub fn rotate(&self, group: &Arc<str>, member: &str, served: &[(Uuid, i32)]) {
        if served.is_empty() {
            return;
        }
        let mut all = self.by_member.lock();
        if let Some(s) = all.get_mut(&(group.clone(), member.to_string())) {
            s.partitions.sort_by_key(|tp| served.contains(tp));
        }
    }

    /// Closes a member's session: its partitions (to release the member's records).
    pub fn close(&self, group: &Arc<str>, member: &str) -> Option<Vec<(Uuid, i32)>> {
        self.by_member.lock().remove(&(group.clone(), member.to_string())).map(|s| s.partitions)
    }

    /// The sessions a closed connection owned, removed: (group, member, partitions).
    pub fn connection_closed(&self, connection: u64) -> Vec<EndedSession> {
        let mut all = self.by_member.lock();
        let keys: Vec<(Arc<str>, String)> =
            all.iter().filter(|(_, s)| s.connection == connection).map(|(k, _)| k.clone()).collect();
        keys.into_iter().filter_map(|k| all.remove(&k).map(|s| (k.0, k.1, s.partitions))).collect()
    }

    /// Whether any member of `group` has a session here.
    pub fn has_group(&self, group: &str) -> bool {
        self.by_member.lock().keys().any(|(g, _)| g.as_ref() == group)
    }

    /// Open sessions now.
    pub fn len(&self) -> usize {
        self.by_member.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> (Uuid, i32) {
        (Uuid::from_bytes([1; 16]), p)
    }

    #[test]
    fn epochs_follow_kafkas_rules() {
        let s = Sessions::new(2);
        let g: Arc<str> = Arc::from("g");
        assert_eq!(s.fetch(&g, "m", 3, &[], &[], 1).unwrap_err().0, E::ShareSessionNotFound.code());
        let v = s.fetch(&g, "m", 0, &[tp(0), tp(0), tp(1)], &[], 1).unwrap();
        assert_eq!(v.partitions, vec![tp(0), tp(1)]);
        assert_eq!(s.fetch(&g, "m", 2, &[], &[], 1).unwrap_err().0, E::InvalidShareSessionEpoch.code());
        let v = s.fetch(&g, "m", 1, &[tp(2)], &[tp(0)], 1).unwrap();
        assert_eq!(v.partitions, vec![tp(1), tp(2)]);
        // ShareAcknowledge shares the sequence.
        s.acknowledge(&g, "m", 2).unwrap();
        assert_eq!(s.acknowledge(&g, "m", 0).unwrap_err().0, E::InvalidShareSessionEpoch.code());
        assert!(s.fetch(&g, "m", 3, &[], &[], 1).is_ok());
        assert_eq!(s.close(&g, "m"), Some(vec![tp(1), tp(2)]));
    }

    #[test]
    fn the_cache_is_bounded_and_sessions_end_with_their_connection() {
        let s = Sessions::new(1);
        let g: Arc<str> = Arc::from("g");
        s.fetch(&g, "a", 0, &[tp(0)], &[], 7).unwrap();
        assert_eq!(s.fetch(&g, "b", 0, &[], &[], 8).unwrap_err().0, E::ShareSessionLimitReached.code());
        // Reopening one's own session is not a new one.
        s.fetch(&g, "a", 0, &[tp(1)], &[], 9).unwrap();
        assert!(s.connection_closed(7).is_empty(), "the session moved to connection 9");
        let closed = s.connection_closed(9);
        assert_eq!(closed.len(), 1);
        assert_eq!(closed[0].2, vec![tp(1)]);
        assert!(s.is_empty());
    }
}
