//! SyncGroup: members collect their assignments; the leader's are stored before anyone is
//! answered (Kafka's doSyncGroup and its storeGroup callback).

use std::collections::HashMap;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{Group, GroupState, GroupTimings, MemberRef, Pending};
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
    /// SyncGroup. When the leader hands in the assignments, the group asks to be stored
    /// (`take_store_request`) and every waiting member is answered by
    /// [`Group::assignment_stored`], once the store has succeeded or failed.
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
                    // Nobody gets an assignment before it is stored.
                    self.store_pending = true;
                }
                Pending::Wait(rx)
            }
        }
    }

    /// The leader's assignment for `generation` was stored (`Ok`) or could not be (`Err`,
    /// the error members are answered). Stored: the group is Stable and every waiting member
    /// gets its assignment. Not stored: every waiting member gets the error and the group
    /// rebalances (Kafka's resetAndPropagateAssignmentError and maybePrepareRebalance).
    /// Nothing happens if the group has moved on meanwhile (another rebalance began).
    pub fn assignment_stored(
        &mut self,
        generation: i32,
        stored: Result<(), GroupError>,
        now: Instant,
        t: &GroupTimings,
    ) {
        if self.state != GroupState::CompletingRebalance || self.generation != generation {
            return;
        }
        match stored {
            Ok(()) => {
                self.set_state(GroupState::Stable);
                let ids: Vec<String> = self.members.keys().cloned().collect();
                for id in ids {
                    let outcome = self.sync_outcome(&id);
                    if let Some(w) = self.members.get_mut(&id).and_then(|m| m.sync_waiter.take()) {
                        let _ = w.send(Ok(outcome));
                    }
                }
                tracing::info!(group = %self.id, generation, "rebalance: stable");
            }
            Err(e) => {
                tracing::warn!(group = %self.id, generation, "assignment not stored ({e}): rebalancing again");
                for m in self.members.values_mut() {
                    if let Some(w) = m.sync_waiter.take() {
                        let _ = w.send(Err(e.clone()));
                    }
                }
                self.prepare_rebalance(now, t);
                self.maybe_complete_join(now);
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
