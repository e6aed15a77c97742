//! JoinGroup: new members (KIP-394 member ids), known members rejoining, and static members
//! replacing their previous instance (KIP-345).

use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{Group, GroupState, GroupTimings, Member, Pending};
use crate::group::GroupError;

/// How long a brand-new member may wait in JoinGroup (it cannot heartbeat meanwhile):
/// Kafka's NewMemberJoinTimeoutMs.
const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_secs(300);

/// The fields of a JoinGroup request the state machine uses.
pub struct JoinRequest {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// JoinGroup v4+: dynamic members must first learn their id (KIP-394).
    pub require_known_member_id: bool,
    /// JoinGroup v9+: a static leader rejoining without a rebalance may skip assignment.
    pub supports_skip_assignment: bool,
}

/// What a successful JoinGroup gets back.
#[derive(Debug, Clone, Default)]
pub struct JoinOutcome {
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    pub skip_assignment: bool,
    /// (member id, group instance id, metadata of the chosen protocol); leader only.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

/// A failed JoinGroup: the error and the member id the answer carries (the id handed out,
/// with MEMBER_ID_REQUIRED).
#[derive(Debug, Clone)]
pub struct JoinError {
    pub error: GroupError,
    pub member_id: String,
}

impl JoinError {
    pub fn new(error: GroupError, member_id: &str) -> Self {
        Self { error, member_id: member_id.to_string() }
    }
}

pub type JoinResult = Result<JoinOutcome, JoinError>;

fn fail(error: GroupError, member_id: &str) -> Pending<JoinResult> {
    Pending::Now(Err(JoinError::new(error, member_id)))
}

fn new_member_id(prefix: &str) -> String {
    format!("{}-{}", if prefix.is_empty() { "member" } else { prefix }, uuid::Uuid::new_v4())
}

impl Group {
    /// Protocols every member supports (the candidates), in no particular order.
    pub(super) fn candidates(&self) -> Vec<String> {
        let mut it = self.members.values();
        let Some(first) = it.next() else { return Vec::new() };
        let mut c: Vec<String> = first.protocols.iter().map(|(n, _)| n.clone()).collect();
        for m in it {
            c.retain(|p| m.protocols.iter().any(|(n, _)| n == p));
        }
        c
    }

    fn supports(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        if protocol_type.is_empty() || protocols.is_empty() {
            return false;
        }
        if self.members.is_empty() {
            return true;
        }
        self.protocol_type.as_deref() == Some(protocol_type)
            && self.candidates().iter().any(|c| protocols.iter().any(|(n, _)| n == c))
    }

    /// JoinGroup.
    pub fn join(&mut self, req: JoinRequest, now: Instant, t: &GroupTimings) -> Pending<JoinResult> {
        if self.state == GroupState::Dead {
            return fail(GroupError::CoordinatorNotAvailable, &req.member_id);
        }
        if !self.supports(&req.protocol_type, &req.protocols) {
            return fail(GroupError::InconsistentGroupProtocol, &req.member_id);
        }
        if req.member_id.is_empty() {
            self.join_unknown(req, now, t)
        } else {
            self.join_known(req, now, t)
        }
    }

    fn join_unknown(&mut self, req: JoinRequest, now: Instant, t: &GroupTimings) -> Pending<JoinResult> {
        if let Some(instance) = req.instance_id.clone() {
            let new_id = new_member_id(&instance);
            if let Some(old_id) = self.static_members.get(&instance).cloned() {
                return self.replace_static_member(&old_id, new_id, req, now, t);
            }
            return self.add_member_and_rebalance(new_id, req, now, t);
        }
        if self.members.len() + self.pending.len() >= t.max_size {
            return fail(GroupError::GroupMaxSizeReached, "");
        }
        let new_id = new_member_id(&req.client_id);
        if req.require_known_member_id {
            self.pending.insert(new_id.clone(), now + req.session_timeout);
            return fail(GroupError::MemberIdRequired, &new_id);
        }
        self.add_member_and_rebalance(new_id, req, now, t)
    }

    fn join_known(&mut self, req: JoinRequest, now: Instant, t: &GroupTimings) -> Pending<JoinResult> {
        let id = req.member_id.clone();
        if self.pending.remove(&id).is_some() {
            if self.members.len() >= t.max_size {
                return fail(GroupError::GroupMaxSizeReached, &id);
            }
            return self.add_member_and_rebalance(id, req, now, t);
        }
        if self.is_static_fenced(&id, req.instance_id.as_deref()) {
            return fail(GroupError::FencedInstanceId, &id);
        }
        let Some(member) = self.members.get_mut(&id) else {
            return fail(GroupError::UnknownMemberId, &id);
        };
        member.touch(now);
        let unchanged = member.protocols == req.protocols;
        member.protocols = req.protocols;
        member.session_timeout = req.session_timeout;
        member.rebalance_timeout = req.rebalance_timeout;
        let is_leader = self.leader.as_deref() == Some(id.as_str());
        match self.state {
            GroupState::PreparingRebalance => self.await_join(&id, now),
            GroupState::CompletingRebalance if unchanged => Pending::Now(Ok(self.current_join_outcome(&id, false))),
            GroupState::Stable if unchanged && !is_leader => Pending::Now(Ok(self.current_join_outcome(&id, false))),
            _ => {
                self.prepare_rebalance(now, t);
                self.await_join(&id, now)
            }
        }
    }

    /// A restarted static member (same group.instance.id, new member id): takes over the old
    /// member's assignment; no rebalance when the group is stable and its protocols are
    /// unchanged (KIP-345).
    fn replace_static_member(
        &mut self,
        old_id: &str,
        new_id: String,
        req: JoinRequest,
        now: Instant,
        t: &GroupTimings,
    ) -> Pending<JoinResult> {
        let Some(mut member) = self.members.remove(old_id) else {
            self.static_members.remove(req.instance_id.as_deref().unwrap_or_default());
            return self.add_member_and_rebalance(new_id, req, now, t);
        };
        // Fence the old instance: anything it was waiting for fails.
        if let Some(w) = member.join_waiter.take() {
            let _ = w.send(Err(JoinError::new(GroupError::FencedInstanceId, old_id)));
        }
        if let Some(w) = member.sync_waiter.take() {
            let _ = w.send(Err(GroupError::FencedInstanceId));
        }
        let unchanged = member.protocols == req.protocols;
        member.id = new_id.clone();
        member.client_id = req.client_id;
        member.client_host = req.client_host;
        member.session_timeout = req.session_timeout;
        member.rebalance_timeout = req.rebalance_timeout;
        member.protocols = req.protocols;
        member.touch(now);
        let previous_leader = self.leader.clone();
        let was_leader = previous_leader.as_deref() == Some(old_id);
        if was_leader {
            self.leader = Some(new_id.clone());
        }
        if let Some(instance) = &member.instance_id {
            self.static_members.insert(instance.clone(), new_id.clone());
        }
        self.members.insert(new_id.clone(), member);
        match self.state {
            GroupState::Stable if unchanged => {
                self.store_pending = true;
                if req.supports_skip_assignment {
                    // v9+: the leader learns the members but is told to skip assignment.
                    return Pending::Now(Ok(self.current_join_outcome(&new_id, was_leader)));
                }
                // Older clients: report the leader as it was (the old member id) so a restarted
                // leader does not think it must assign.
                let mut outcome = self.current_join_outcome(&new_id, false);
                outcome.members.clear();
                outcome.leader = previous_leader.unwrap_or_default();
                Pending::Now(Ok(outcome))
            }
            GroupState::PreparingRebalance => self.await_join(&new_id, now),
            // The leader may already be assigning with the old member id: start over.
            _ => {
                self.prepare_rebalance(now, t);
                self.await_join(&new_id, now)
            }
        }
    }

    fn add_member_and_rebalance(
        &mut self,
        id: String,
        req: JoinRequest,
        now: Instant,
        t: &GroupTimings,
    ) -> Pending<JoinResult> {
        if self.members.is_empty() {
            self.protocol_type = Some(req.protocol_type.clone());
        }
        if let Some(instance) = &req.instance_id {
            self.static_members.insert(instance.clone(), id.clone());
        }
        let member = Member {
            id: id.clone(),
            instance_id: req.instance_id,
            client_id: req.client_id,
            client_host: req.client_host,
            session_timeout: req.session_timeout,
            rebalance_timeout: req.rebalance_timeout,
            protocol_type: req.protocol_type,
            protocols: req.protocols,
            assignment: Bytes::new(),
            join_waiter: None,
            sync_waiter: None,
            deadline: now + NEW_MEMBER_JOIN_TIMEOUT,
            is_new: true,
        };
        self.members.insert(id.clone(), member);
        if let Some(limit) = self.delay_limit {
            // InitialDelayedJoin: each new member extends the delay, up to the limit.
            self.delay_until = Some((now + t.initial_rebalance_delay).min(limit));
        }
        if self.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(now, t);
        }
        self.await_join(&id, now)
    }

    fn await_join(&mut self, id: &str, now: Instant) -> Pending<JoinResult> {
        let (tx, rx) = oneshot::channel();
        if let Some(m) = self.members.get_mut(id) {
            if let Some(old) = m.join_waiter.replace(tx) {
                let _ = old.send(Err(JoinError::new(GroupError::UnknownMemberId, id)));
            }
        }
        self.maybe_complete_join(now);
        Pending::Wait(rx)
    }

    pub(super) fn current_join_outcome(&self, id: &str, with_members: bool) -> JoinOutcome {
        let protocol = self.protocol.clone().unwrap_or_default();
        let is_leader = self.leader.as_deref() == Some(id);
        JoinOutcome {
            generation: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            member_id: id.to_string(),
            skip_assignment: with_members && is_leader,
            members: if is_leader || with_members {
                self.members
                    .values()
                    .map(|m| (m.id.clone(), m.instance_id.clone(), m.metadata_for(&protocol)))
                    .collect()
            } else {
                Vec::new()
            },
        }
    }
}
