//! SyncGroup: members collect the assignments the leader hands in.

use std::collections::HashMap;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{Group, GroupState, MemberRef, Pending};
use crate::group::GroupError;

/// The fields of a SyncGroup request the state machine uses.
pub struct SyncRequest<'a> {
    pub member: MemberRef<'a>,
    /// v5+: checked against the group's when given.
    pub protocol_type: Option<&'a str>,
    pub protocol_name: Option<&'a str>,
    /// The leader's assignments: (member id, assignment).
    pub assignments: Vec<(String, Bytes)>,
}

/// What a successful SyncGroup gets back.
#[derive(Debug, Clone, Default)]
pub struct SyncOutcome {
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

pub type SyncResult = Result<SyncOutcome, GroupError>;

impl Group {
    /// SyncGroup.
    pub fn sync(&mut self, req: SyncRequest<'_>, now: Instant) -> Pending<SyncResult> {
        let member_id = req.member.member_id;
        if let Err(e) = self.check_member(req.member) {
            return Pending::Now(Err(e));
        }
        if req.protocol_type.is_some_and(|p| Some(p) != self.protocol_type.as_deref())
            || req.protocol_name.is_some_and(|p| Some(p) != self.protocol.as_deref())
        {
            return Pending::Now(Err(GroupError::InconsistentGroupProtocol));
        }
        if let Some(m) = self.members.get_mut(member_id) {
            m.touch(now);
        }
        self.pending_sync.remove(member_id);
        if self.pending_sync.is_empty() {
            self.sync_deadline = None;
        }
        match self.state {
            GroupState::PreparingRebalance | GroupState::Empty | GroupState::Dead => {
                Pending::Now(Err(GroupError::RebalanceInProgress))
            }
            GroupState::Stable => Pending::Now(Ok(self.sync_outcome(member_id))),
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = self.members.get_mut(member_id) {
                    m.sync_waiter = Some(tx);
                }
                if self.leader.as_deref() == Some(member_id) {
                    let mut given: HashMap<String, Bytes> = req.assignments.into_iter().collect();
                    for m in self.members.values_mut() {
                        m.assignment = given.remove(&m.id).unwrap_or_default();
                    }
                    self.set_state(GroupState::Stable);
                    self.store_pending = true;
                    let ids: Vec<String> = self.members.keys().cloned().collect();
                    for id in ids {
                        let outcome = self.sync_outcome(&id);
                        if let Some(w) = self.members.get_mut(&id).and_then(|m| m.sync_waiter.take()) {
                            let _ = w.send(Ok(outcome));
                        }
                    }
                    tracing::info!(group = %self.id, generation = self.generation, "rebalance: stable");
                }
                Pending::Wait(rx)
            }
        }
    }

    fn sync_outcome(&self, member_id: &str) -> SyncOutcome {
        SyncOutcome {
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            assignment: self.members.get(member_id).map(|m| m.assignment.clone()).unwrap_or_default(),
        }
    }
}
