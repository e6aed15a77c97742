//! A classic group handing its members over to the consumer group protocol (online upgrade,
//! KIP-848): whoever waits in a join or sync is told to rejoin, and the classic membership
//! is cleared (the offsets stay with the group).

use super::{Group, GroupState, JoinError};
use crate::group::GroupError;

impl Group {
    /// Answers every waiting JoinGroup and SyncGroup with REBALANCE_IN_PROGRESS and clears
    /// the classic members, leader and generation.
    pub fn hand_over_members(&mut self) {
        for m in self.members.values_mut() {
            if let Some(w) = m.join_waiter.take() {
                let _ = w.send(Err(JoinError::new(GroupError::RebalanceInProgress, &m.id)));
            }
            if let Some(w) = m.sync_waiter.take() {
                let _ = w.send(Err(GroupError::RebalanceInProgress));
            }
        }
        self.members.clear();
        self.pending.clear();
        self.static_members.clear();
        self.pending_sync.clear();
        self.leader = None;
        self.protocol = None;
        self.protocol_type = None;
        self.generation = 0;
        self.rebalance_deadline = None;
        self.delay_until = None;
        self.delay_limit = None;
        self.sync_deadline = None;
        self.store_pending = false;
        self.set_state(GroupState::Empty);
    }
}
