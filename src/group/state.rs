//! The classic consumer-group state machine (Kafka's GroupMetadata + GroupCoordinator rules):
//! Empty -> PreparingRebalance -> CompletingRebalance -> Stable, and Dead once deleted.
//! Pure logic: no IO. The coordinator persists the group when `take_store_request` says so.
//!
//! The broker never looks inside protocol metadata or assignments: it picks the protocol all
//! members support, hands the leader every member's metadata, and relays the leader's
//! assignments, so every client-side assignor (range, roundrobin, sticky,
//! cooperative-sticky) works unchanged.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError as E;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::codec::{GroupValue, OffsetValue, StoredMember};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Empty,
    PreparingRebalance,
    CompletingRebalance,
    Stable,
    Dead,
}

impl GroupState {
    /// The state names Kafka reports in DescribeGroups/ListGroups.
    pub fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }
}

/// How long a brand-new member may wait in JoinGroup (it cannot heartbeat meanwhile):
/// Kafka's NewMemberJoinTimeoutMs.
const NEW_MEMBER_JOIN_TIMEOUT: Duration = Duration::from_secs(300);

/// What a JoinGroup gets back.
#[derive(Debug, Clone, Default)]
pub struct JoinOutcome {
    pub error: i16,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub leader: String,
    pub member_id: String,
    pub skip_assignment: bool,
    /// (member id, group instance id, metadata of the chosen protocol); leader only.
    pub members: Vec<(String, Option<String>, Bytes)>,
}

impl JoinOutcome {
    pub fn error(code: i16, member_id: &str) -> Self {
        Self { error: code, generation: -1, member_id: member_id.to_string(), ..Default::default() }
    }
}

/// What a SyncGroup gets back.
#[derive(Debug, Clone, Default)]
pub struct SyncOutcome {
    pub error: i16,
    pub protocol_type: Option<String>,
    pub protocol_name: Option<String>,
    pub assignment: Bytes,
}

impl SyncOutcome {
    pub fn error(code: i16) -> Self {
        Self { error: code, ..Default::default() }
    }
}

/// An answer now or once the rebalance moves on.
pub enum Pending<T> {
    Now(T),
    Wait(oneshot::Receiver<T>),
}

/// Timing settings the state machine needs.
#[derive(Debug, Clone)]
pub struct GroupTimings {
    pub initial_rebalance_delay: Duration,
    pub max_size: usize,
}

pub struct Member {
    pub id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout: Duration,
    pub rebalance_timeout: Duration,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    pub assignment: Bytes,
    join_waiter: Option<oneshot::Sender<JoinOutcome>>,
    sync_waiter: Option<oneshot::Sender<SyncOutcome>>,
    /// Session expiry: pushed forward by heartbeats and by any request from the member.
    deadline: Instant,
    /// Joined during the current rebalance: its session still counts while it waits.
    is_new: bool,
}

impl Member {
    fn metadata_for(&self, protocol: &str) -> Bytes {
        self.protocols.iter().find(|(n, _)| n == protocol).map(|(_, m)| m.clone()).unwrap_or_default()
    }
    fn touch(&mut self, now: Instant) {
        self.deadline = now + self.session_timeout;
    }
    fn awaiting_join(&self) -> bool {
        self.join_waiter.is_some()
    }
}

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

pub struct Group {
    pub id: String,
    pub state: GroupState,
    pub generation: i32,
    pub protocol_type: Option<String>,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    pub members: BTreeMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, and when they lapse.
    pending: HashMap<String, Instant>,
    static_members: HashMap<String, String>,
    pub offsets: HashMap<(String, i32), OffsetValue>,
    rebalance_deadline: Option<Instant>,
    delay_until: Option<Instant>,
    delay_limit: Option<Instant>,
    sync_deadline: Option<Instant>,
    /// Members of this generation that have not sent SyncGroup yet (KAFKA-13046).
    pending_sync: std::collections::HashSet<String>,
    /// Wall-clock ms of the last state change (offsets.retention counts from Empty).
    pub state_since_ms: i64,
    /// Group metadata changed in a way that must be persisted (see `take_store_request`).
    store_pending: bool,
}

fn new_member_id(prefix: &str) -> String {
    format!("{}-{}", if prefix.is_empty() { "member" } else { prefix }, uuid::Uuid::new_v4())
}

impl Group {
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_string(),
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending: HashMap::new(),
            static_members: HashMap::new(),
            offsets: HashMap::new(),
            rebalance_deadline: None,
            delay_until: None,
            delay_limit: None,
            sync_deadline: None,
            pending_sync: Default::default(),
            state_since_ms: crate::util::now_ms(),
            store_pending: false,
        }
    }

    /// Whether the group's metadata must be written to `__consumer_offsets` (clears the flag).
    pub fn take_store_request(&mut self) -> bool {
        std::mem::take(&mut self.store_pending)
    }

    fn set_state(&mut self, s: GroupState) {
        self.state = s;
        self.state_since_ms = crate::util::now_ms();
    }

    /// Protocols every member supports (the candidates), in no particular order.
    fn candidates(&self) -> Vec<String> {
        let mut it = self.members.values();
        let Some(first) = it.next() else { return Vec::new() };
        let mut c: Vec<String> = first.protocols.iter().map(|(n, _)| n.clone()).collect();
        for m in it {
            c.retain(|p| m.protocols.iter().any(|(n, _)| n == p));
        }
        c
    }

    /// Kafka's vote: each member votes for its most preferred candidate; most votes wins.
    fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidates();
        let mut votes: Vec<(String, usize)> = candidates.iter().map(|c| (c.clone(), 0)).collect();
        for m in self.members.values() {
            if let Some((name, _)) = m.protocols.iter().find(|(n, _)| candidates.contains(n)) {
                if let Some(v) = votes.iter_mut().find(|(c, _)| c == name) {
                    v.1 += 1;
                }
            }
        }
        votes.into_iter().max_by_key(|(_, n)| *n).map(|(c, _)| c)
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

    pub fn is_static_fenced(&self, member_id: &str, instance_id: Option<&str>) -> bool {
        match instance_id {
            Some(i) => self.static_members.get(i).is_some_and(|m| m != member_id),
            None => false,
        }
    }

    fn max_rebalance_timeout(&self) -> Duration {
        self.members.values().map(|m| m.rebalance_timeout).max().unwrap_or(Duration::ZERO)
    }

    /// JoinGroup.
    pub fn join(&mut self, req: JoinRequest, now: Instant, t: &GroupTimings) -> Pending<JoinOutcome> {
        if self.state == GroupState::Dead {
            return Pending::Now(JoinOutcome::error(E::CoordinatorNotAvailable.code(), &req.member_id));
        }
        if !self.supports(&req.protocol_type, &req.protocols) {
            return Pending::Now(JoinOutcome::error(E::InconsistentGroupProtocol.code(), &req.member_id));
        }
        if req.member_id.is_empty() {
            self.join_unknown(req, now, t)
        } else {
            self.join_known(req, now, t)
        }
    }

    fn join_unknown(&mut self, req: JoinRequest, now: Instant, t: &GroupTimings) -> Pending<JoinOutcome> {
        if let Some(instance) = req.instance_id.clone() {
            let new_id = new_member_id(&instance);
            if let Some(old_id) = self.static_members.get(&instance).cloned() {
                return self.replace_static_member(&old_id, new_id, req, now, t);
            }
            return self.add_member_and_rebalance(new_id, req, now, t);
        }
        if self.members.len() + self.pending.len() >= t.max_size {
            return Pending::Now(JoinOutcome::error(E::GroupMaxSizeReached.code(), ""));
        }
        let new_id = new_member_id(&req.client_id);
        if req.require_known_member_id {
            self.pending.insert(new_id.clone(), now + req.session_timeout);
            return Pending::Now(JoinOutcome::error(E::MemberIdRequired.code(), &new_id));
        }
        self.add_member_and_rebalance(new_id, req, now, t)
    }

    fn join_known(&mut self, req: JoinRequest, now: Instant, t: &GroupTimings) -> Pending<JoinOutcome> {
        let id = req.member_id.clone();
        if self.pending.remove(&id).is_some() {
            if self.members.len() >= t.max_size {
                return Pending::Now(JoinOutcome::error(E::GroupMaxSizeReached.code(), &id));
            }
            return self.add_member_and_rebalance(id, req, now, t);
        }
        if self.is_static_fenced(&id, req.instance_id.as_deref()) {
            return Pending::Now(JoinOutcome::error(E::FencedInstanceId.code(), &id));
        }
        let Some(member) = self.members.get_mut(&id) else {
            return Pending::Now(JoinOutcome::error(E::UnknownMemberId.code(), &id));
        };
        member.touch(now);
        let unchanged = member.protocols == req.protocols;
        member.protocols = req.protocols;
        member.session_timeout = req.session_timeout;
        member.rebalance_timeout = req.rebalance_timeout;
        let is_leader = self.leader.as_deref() == Some(id.as_str());
        match self.state {
            GroupState::PreparingRebalance => self.await_join(&id, now),
            GroupState::CompletingRebalance if unchanged => Pending::Now(self.current_join_outcome(&id, false)),
            GroupState::Stable if unchanged && !is_leader => Pending::Now(self.current_join_outcome(&id, false)),
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
    ) -> Pending<JoinOutcome> {
        let Some(mut member) = self.members.remove(old_id) else {
            self.static_members.remove(req.instance_id.as_deref().unwrap_or_default());
            return self.add_member_and_rebalance(new_id, req, now, t);
        };
        // Fence the old instance: anything it was waiting for fails.
        if let Some(w) = member.join_waiter.take() {
            let _ = w.send(JoinOutcome::error(E::FencedInstanceId.code(), old_id));
        }
        if let Some(w) = member.sync_waiter.take() {
            let _ = w.send(SyncOutcome::error(E::FencedInstanceId.code()));
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
                    return Pending::Now(self.current_join_outcome(&new_id, was_leader));
                }
                // Older clients: report the leader as it was (the old member id) so a restarted
                // leader does not think it must assign.
                let mut outcome = self.current_join_outcome(&new_id, false);
                outcome.members.clear();
                outcome.leader = previous_leader.unwrap_or_default();
                Pending::Now(outcome)
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
    ) -> Pending<JoinOutcome> {
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

    fn await_join(&mut self, id: &str, now: Instant) -> Pending<JoinOutcome> {
        let (tx, rx) = oneshot::channel();
        if let Some(m) = self.members.get_mut(id) {
            if let Some(old) = m.join_waiter.replace(tx) {
                let _ = old.send(JoinOutcome::error(E::UnknownMemberId.code(), id));
            }
        }
        self.maybe_complete_join(now);
        Pending::Wait(rx)
    }

    fn current_join_outcome(&self, id: &str, with_members: bool) -> JoinOutcome {
        let protocol = self.protocol.clone().unwrap_or_default();
        let is_leader = self.leader.as_deref() == Some(id);
        JoinOutcome {
            error: 0,
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

    /// Starts (or restarts) a rebalance: members must rejoin within the rebalance timeout.
    pub fn prepare_rebalance(&mut self, now: Instant, t: &GroupTimings) {
        if self.state == GroupState::CompletingRebalance {
            for m in self.members.values_mut() {
                m.assignment = Bytes::new();
                if let Some(w) = m.sync_waiter.take() {
                    let _ = w.send(SyncOutcome::error(E::RebalanceInProgress.code()));
                }
            }
        }
        let timeout = self.max_rebalance_timeout();
        if self.state == GroupState::Empty && !t.initial_rebalance_delay.is_zero() {
            self.delay_until = Some(now + t.initial_rebalance_delay.min(timeout));
            self.delay_limit = Some(now + timeout);
        }
        self.sync_deadline = None;
        self.pending_sync.clear();
        self.rebalance_deadline = Some(now + timeout);
        self.set_state(GroupState::PreparingRebalance);
    }

    fn maybe_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        if self.delay_until.is_some_and(|d| now < d) && self.rebalance_deadline.is_none_or(|d| now < d) {
            return;
        }
        let all_joined = self.members.values().all(|m| m.awaiting_join()) && self.pending.is_empty();
        if all_joined || self.rebalance_deadline.is_some_and(|d| now >= d) {
            self.complete_join(now);
        }
    }

    fn remove_member(&mut self, id: &str) -> Option<Member> {
        let m = self.members.remove(id)?;
        self.pending_sync.remove(id);
        if let Some(i) = &m.instance_id {
            if self.static_members.get(i).map(String::as_str) == Some(id) {
                self.static_members.remove(i);
            }
        }
        if self.leader.as_deref() == Some(id) {
            self.leader = None;
        }
        Some(m)
    }

    /// Ends the join phase: drops members that did not rejoin, starts the next generation
    /// and answers every waiting JoinGroup (the leader gets the member list).
    fn complete_join(&mut self, now: Instant) {
        // Dynamic members that did not rejoin are gone; static ones keep their place (and
        // their assignment) until their session expires (KIP-345). If nobody rejoined at all,
        // everyone goes.
        let anyone = self.members.values().any(|m| m.awaiting_join());
        let laggards: Vec<String> = self
            .members
            .values()
            .filter(|m| !m.awaiting_join() && (m.instance_id.is_none() || !anyone))
            .map(|m| m.id.clone())
            .collect();
        for id in laggards {
            tracing::info!(group = %self.id, member = %id, "member did not rejoin in time; removed");
            self.remove_member(&id);
        }
        self.delay_until = None;
        self.delay_limit = None;
        self.rebalance_deadline = None;
        self.generation += 1;
        if self.members.is_empty() {
            self.protocol = None;
            self.set_state(GroupState::Empty);
            self.store_pending = true;
            return;
        }
        self.protocol = self.select_protocol();
        if self.leader.as_ref().and_then(|l| self.members.get(l)).is_none_or(|m| !m.awaiting_join()) {
            self.leader = self.members.values().find(|m| m.awaiting_join()).map(|m| m.id.clone());
        }
        self.set_state(GroupState::CompletingRebalance);
        self.sync_deadline = Some(now + self.max_rebalance_timeout());
        self.pending_sync = self.members.values().filter(|m| m.awaiting_join()).map(|m| m.id.clone()).collect();
        let ids: Vec<String> = self.members.keys().cloned().collect();
        for id in ids {
            let outcome = self.current_join_outcome(&id, false);
            if let Some(m) = self.members.get_mut(&id) {
                m.is_new = false;
                m.touch(now);
                if let Some(w) = m.join_waiter.take() {
                    let _ = w.send(outcome);
                }
            }
        }
        tracing::info!(group = %self.id, generation = self.generation, members = self.members.len(), protocol = ?self.protocol, "rebalance: join complete");
    }

    /// Common member/generation checks of SyncGroup, Heartbeat and OffsetCommit.
    fn check_member(&self, member_id: &str, instance_id: Option<&str>, generation: i32) -> Result<(), i16> {
        if self.state == GroupState::Dead {
            return Err(E::CoordinatorNotAvailable.code());
        }
        if self.is_static_fenced(member_id, instance_id) {
            return Err(E::FencedInstanceId.code());
        }
        if !self.members.contains_key(member_id) {
            return Err(E::UnknownMemberId.code());
        }
        if generation != self.generation {
            return Err(E::IllegalGeneration.code());
        }
        Ok(())
    }

    /// SyncGroup.
    #[allow(clippy::too_many_arguments)]
    pub fn sync(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Vec<(String, Bytes)>,
        now: Instant,
    ) -> Pending<SyncOutcome> {
        if let Err(code) = self.check_member(member_id, instance_id, generation) {
            return Pending::Now(SyncOutcome::error(code));
        }
        if protocol_type.is_some_and(|p| Some(p) != self.protocol_type.as_deref())
            || protocol_name.is_some_and(|p| Some(p) != self.protocol.as_deref())
        {
            return Pending::Now(SyncOutcome::error(E::InconsistentGroupProtocol.code()));
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
                Pending::Now(SyncOutcome::error(E::RebalanceInProgress.code()))
            }
            GroupState::Stable => Pending::Now(self.sync_outcome(member_id)),
            GroupState::CompletingRebalance => {
                let (tx, rx) = oneshot::channel();
                if let Some(m) = self.members.get_mut(member_id) {
                    m.sync_waiter = Some(tx);
                }
                if self.leader.as_deref() == Some(member_id) {
                    let mut given: HashMap<String, Bytes> = assignments.into_iter().collect();
                    for m in self.members.values_mut() {
                        m.assignment = given.remove(&m.id).unwrap_or_default();
                    }
                    self.set_state(GroupState::Stable);
                    self.store_pending = true;
                    let ids: Vec<String> = self.members.keys().cloned().collect();
                    for id in ids {
                        let outcome = self.sync_outcome(&id);
                        if let Some(w) = self.members.get_mut(&id).and_then(|m| m.sync_waiter.take()) {
                            let _ = w.send(outcome);
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
            error: 0,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            assignment: self.members.get(member_id).map(|m| m.assignment.clone()).unwrap_or_default(),
        }
    }

    /// Heartbeat.
    pub fn heartbeat(&mut self, member_id: &str, instance_id: Option<&str>, generation: i32, now: Instant) -> i16 {
        if self.state == GroupState::Empty {
            return E::UnknownMemberId.code();
        }
        if let Err(code) = self.check_member(member_id, instance_id, generation) {
            return code;
        }
        if let Some(m) = self.members.get_mut(member_id) {
            m.touch(now);
        }
        match self.state {
            GroupState::PreparingRebalance => E::RebalanceInProgress.code(),
            _ => 0,
        }
    }

    /// OffsetCommit admission: `Ok` when the commit may be stored.
    pub fn check_commit(
        &mut self,
        member_id: &str,
        instance_id: Option<&str>,
        generation: i32,
        now: Instant,
    ) -> Result<(), i16> {
        if self.state == GroupState::Dead {
            return Err(E::CoordinatorNotAvailable.code());
        }
        if self.is_static_fenced(member_id, instance_id) {
            return Err(E::FencedInstanceId.code());
        }
        if generation < 0 && self.state == GroupState::Empty {
            return Ok(()); // standalone / assign() consumers and admin tools
        }
        self.check_member(member_id, instance_id, generation)?;
        match self.state {
            GroupState::CompletingRebalance => Err(E::RebalanceInProgress.code()),
            _ => {
                if let Some(m) = self.members.get_mut(member_id) {
                    m.touch(now);
                }
                Ok(())
            }
        }
    }

    /// LeaveGroup for one member (by member id, or by instance id for static members).
    pub fn leave(&mut self, member_id: &str, instance_id: Option<&str>, now: Instant, t: &GroupTimings) -> i16 {
        let id = match instance_id {
            Some(i) => match self.static_members.get(i) {
                Some(m) if member_id.is_empty() || m == member_id => m.clone(),
                Some(_) => return E::FencedInstanceId.code(),
                None => return E::UnknownMemberId.code(),
            },
            None => member_id.to_string(),
        };
        if self.pending.remove(&id).is_some() {
            return 0;
        }
        let Some(mut m) = self.remove_member(&id) else { return E::UnknownMemberId.code() };
        if let Some(w) = m.join_waiter.take() {
            let _ = w.send(JoinOutcome::error(E::UnknownMemberId.code(), &id));
        }
        tracing::info!(group = %self.id, member = %id, "member left");
        self.after_member_removed(now, t);
        0
    }

    fn after_member_removed(&mut self, now: Instant, t: &GroupTimings) {
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(now, t),
            GroupState::PreparingRebalance => {}
            GroupState::Empty | GroupState::Dead => return,
        }
        self.maybe_complete_join(now);
    }

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
                    let _ = w.send(JoinOutcome::error(E::UnknownMemberId.code(), &id));
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

    /// The persisted form of the group.
    pub fn to_value(&self) -> GroupValue {
        GroupValue {
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            generation: self.generation,
            protocol: self.protocol.clone(),
            leader: self.leader.clone(),
            state_timestamp: self.state_since_ms,
            members: self
                .members
                .values()
                .map(|m| StoredMember {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    rebalance_timeout: m.rebalance_timeout.as_millis() as i32,
                    session_timeout: m.session_timeout.as_millis() as i32,
                    subscription: self.protocol.as_deref().map(|p| m.metadata_for(p)).unwrap_or_default(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
        }
    }

    /// Restores a group loaded from `__consumer_offsets` (members get a fresh session).
    pub fn restore(&mut self, v: GroupValue, now: Instant) {
        self.generation = v.generation;
        self.protocol_type = (!v.protocol_type.is_empty()).then_some(v.protocol_type);
        self.protocol = v.protocol.clone();
        self.leader = v.leader;
        self.members.clear();
        self.static_members.clear();
        for m in v.members {
            if let Some(i) = &m.group_instance_id {
                self.static_members.insert(i.clone(), m.member_id.clone());
            }
            let session = Duration::from_millis(m.session_timeout.max(0) as u64);
            self.members.insert(
                m.member_id.clone(),
                Member {
                    id: m.member_id,
                    instance_id: m.group_instance_id,
                    client_id: m.client_id,
                    client_host: m.client_host,
                    session_timeout: session,
                    rebalance_timeout: Duration::from_millis(m.rebalance_timeout.max(0) as u64),
                    protocol_type: self.protocol_type.clone().unwrap_or_default(),
                    protocols: v.protocol.clone().map(|p| vec![(p, m.subscription)]).unwrap_or_default(),
                    assignment: m.assignment,
                    join_waiter: None,
                    sync_waiter: None,
                    deadline: now + session,
                    is_new: false,
                },
            );
        }
        self.state = if self.members.is_empty() { GroupState::Empty } else { GroupState::Stable };
        self.state_since_ms = if v.state_timestamp > 0 { v.state_timestamp } else { crate::util::now_ms() };
    }

    /// Topics the members subscribe to (consumer protocol), for OffsetDelete.
    pub fn subscribed_topics(&self) -> Vec<String> {
        use kafka_protocol::messages::ConsumerProtocolSubscription;
        use kafka_protocol::protocol::Decodable;
        if self.protocol_type.as_deref() != Some("consumer") {
            return Vec::new();
        }
        let Some(p) = &self.protocol else { return Vec::new() };
        let mut out = Vec::new();
        for m in self.members.values() {
            let mut meta = m.metadata_for(p);
            if meta.len() < 2 {
                continue;
            }
            let version = i16::from_be_bytes([meta[0], meta[1]]);
            let _ = bytes::Buf::get_i16(&mut meta);
            if let Ok(sub) = ConsumerProtocolSubscription::decode(&mut meta, version.clamp(0, 3)) {
                out.extend(sub.topics.into_iter().map(|t| t.to_string()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timings() -> GroupTimings {
        GroupTimings { initial_rebalance_delay: Duration::ZERO, max_size: 100 }
    }

    fn req(member_id: &str, instance: Option<&str>) -> JoinRequest {
        JoinRequest {
            member_id: member_id.into(),
            instance_id: instance.map(str::to_string),
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout: Duration::from_secs(10),
            rebalance_timeout: Duration::from_secs(30),
            protocol_type: "consumer".into(),
            protocols: vec![("range".into(), Bytes::from_static(b"meta"))],
            require_known_member_id: true,
            supports_skip_assignment: true,
        }
    }

    fn now_outcome(p: Pending<JoinOutcome>) -> JoinOutcome {
        match p {
            Pending::Now(o) => o,
            Pending::Wait(mut rx) => rx.try_recv().expect("join completed"),
        }
    }

    fn join_fresh(g: &mut Group, now: Instant) -> JoinOutcome {
        let first = now_outcome(g.join(req("", None), now, &timings()));
        assert_eq!(first.error, E::MemberIdRequired.code());
        now_outcome(g.join(req(&first.member_id, None), now, &timings()))
    }

    #[test]
    fn first_member_becomes_leader_and_group_stabilises() {
        let now = Instant::now();
        let mut g = Group::new("g");
        let j = join_fresh(&mut g, now);
        assert_eq!((j.error, j.generation), (0, 1));
        assert_eq!(j.leader, j.member_id);
        assert_eq!(j.members.len(), 1);
        assert_eq!(g.state, GroupState::CompletingRebalance);
        let s = g.sync(&j.member_id, None, 1, None, None, vec![(j.member_id.clone(), Bytes::from_static(b"A"))], now);
        let Pending::Wait(mut rx) = s else { panic!("leader sync waits for its own answer") };
        assert_eq!(rx.try_recv().unwrap().assignment.as_ref(), b"A");
        assert_eq!(g.state, GroupState::Stable);
        assert!(g.take_store_request());
        assert_eq!(g.heartbeat(&j.member_id, None, 1, now), 0);
        assert_eq!(g.heartbeat(&j.member_id, None, 0, now), E::IllegalGeneration.code());
        assert_eq!(g.heartbeat("nobody", None, 1, now), E::UnknownMemberId.code());
    }

    #[test]
    fn session_timeout_removes_member_and_rebalances() {
        let now = Instant::now();
        let mut g = Group::new("g");
        let a = join_fresh(&mut g, now);
        let _ = g.sync(&a.member_id, None, 1, None, None, vec![], now);
        assert_eq!(g.state, GroupState::Stable);
        assert!(g.tick(now + Duration::from_secs(11), &timings()));
        assert_eq!(g.state, GroupState::Empty);
        assert!(g.members.is_empty());
    }

    #[test]
    fn static_member_rejoins_without_rebalance_and_old_id_is_fenced() {
        let now = Instant::now();
        let mut g = Group::new("g");
        let a = now_outcome(g.join(req("", Some("inst-a")), now, &timings()));
        assert_eq!(a.error, 0, "static members skip MEMBER_ID_REQUIRED");
        let _ = g.sync(
            &a.member_id,
            Some("inst-a"),
            1,
            None,
            None,
            vec![(a.member_id.clone(), Bytes::from_static(b"P"))],
            now,
        );
        assert_eq!(g.state, GroupState::Stable);
        let again = now_outcome(g.join(req("", Some("inst-a")), now, &timings()));
        assert_eq!((again.error, again.generation), (0, 1), "same generation: no rebalance");
        assert_ne!(again.member_id, a.member_id);
        assert_eq!(g.state, GroupState::Stable);
        assert_eq!(g.heartbeat(&a.member_id, Some("inst-a"), 1, now), E::FencedInstanceId.code());
        match g.sync(&again.member_id, Some("inst-a"), 1, None, None, vec![], now) {
            Pending::Now(s) => assert_eq!(s.assignment.as_ref(), b"P", "keeps its old assignment"),
            Pending::Wait(_) => panic!("stable group answers sync at once"),
        }
    }

    #[test]
    fn inconsistent_protocols_are_rejected() {
        let now = Instant::now();
        let mut g = Group::new("g");
        join_fresh(&mut g, now);
        let mut other = req("", None);
        other.protocols = vec![("roundrobin".into(), Bytes::new())];
        assert_eq!(now_outcome(g.join(other, now, &timings())).error, E::InconsistentGroupProtocol.code());
    }
}
