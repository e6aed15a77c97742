//! Timer work: session expiry, lapsed member ids, join deadlines and members that never
//! sent SyncGroup.

use tokio::time::Instant;

use super::{Group, GroupState, GroupTimings, JoinError};
use crate::group::GroupError;

impl Group {
    /// Timer work: expire sessions and pending ids, finish joins whose time is up, and drop
    /// members that never sent SyncGroup. Returns true if anything changed.
    pub fn tick(&mut self, now: Instant, t: &GroupTimings) -> bool {
        let before = (self.state, self.generation, self.members.len());
        self.pending.retain(|_, deadline| *deadline > now);
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| {
                let waiting = (m.awaiting_join() && !m.is_new) || m.sync_waiter.is_some();
                !waiting && m.deadline <= now
            })
            .map(|m| m.id.clone())
            .collect();
        for id in expired {
            tracing::info!(group = %self.id, member = %id, "session timeout: member removed");
            if let Some(mut m) = self.remove_member(&id) {
                if let Some(w) = m.join_waiter.take() {
                    let _ = w.send(Err(JoinError::new(GroupError::UnknownMemberId, &id)));
                }
            }
            self.after_member_removed(now, t);
        }
        let sync_phase = matches!(self.state, GroupState::CompletingRebalance | GroupState::Stable);
        if sync_phase && !self.pending_sync.is_empty() && self.sync_deadline.is_some_and(|d| now >= d) {
            let lagging: Vec<String> = self.pending_sync.drain().collect();
            for id in lagging {
                tracing::info!(group = %self.id, member = %id, "no SyncGroup within the rebalance timeout: member removed");
                self.remove_member(&id);
            }
            self.prepare_rebalance(now, t);
        }
        self.maybe_complete_join(now);
        before != (self.state, self.generation, self.members.len())
    }
}
