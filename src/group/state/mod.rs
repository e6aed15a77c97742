//! The classic consumer-group state machine (Kafka's GroupMetadata + GroupCoordinator rules):
//! Empty -> PreparingRebalance -> CompletingRebalance -> Stable, and Dead once deleted.
//! Pure logic: no IO. The coordinator persists the group when `take_store_request` says so.
//!
//! The broker never looks inside protocol metadata or assignments: it picks the protocol all
//! members support, hands the leader every member's metadata, and relays the leader's
//! assignments, so every client-side assignor (range, roundrobin, sticky,
//! cooperative-sticky) works unchanged.
//!
//! This module holds the group, its members and the checks every member request shares; each
//! request's rules live in their own file.

mod handover;
mod heartbeat;
mod join;
mod leave;
mod rebalance;
mod stored;
mod sync;
mod timers;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::time::Instant;

pub use join::{JoinError, JoinOutcome, JoinRequest, JoinResult};
pub use sync::{SyncOutcome, SyncRequest, SyncResult};

use super::codec::OffsetValue;
use super::GroupError;

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

/// Who a SyncGroup, Heartbeat or OffsetCommit comes from: the member id, its static instance
/// id (KIP-345) and the generation it believes the group is in.
#[derive(Debug, Clone, Copy)]
pub struct MemberRef<'a> {
    pub member_id: &'a str,
    pub group_instance_id: Option<&'a str>,
    pub generation_id: i32,
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
    join_waiter: Option<oneshot::Sender<JoinResult>>,
    sync_waiter: Option<oneshot::Sender<SyncResult>>,
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
    /// Offsets of ongoing transactions (TxnOffsetCommit), per producer id: stored, and
    /// visible only once the transaction's marker commits them (an abort drops them).
    pub txn_offsets: HashMap<i64, HashMap<(String, i32), OffsetValue>>,
    rebalance_deadline: Option<Instant>,
    delay_until: Option<Instant>,
    delay_limit: Option<Instant>,
    sync_deadline: Option<Instant>,
    /// Members of this generation that have not sent SyncGroup yet (KAFKA-13046).
    pending_sync: HashSet<String>,
    /// Wall-clock ms of the last state change (offsets.retention counts from Empty).
    pub state_since_ms: i64,
    /// Group metadata changed in a way that must be persisted (see `take_store_request`).
    store_pending: bool,
    /// Set when the group speaks the consumer group protocol (KIP-848): its members,
    /// epochs and assignments live there; the classic fields stay unused.
    pub consumer: Option<Box<crate::group::consumer::ConsumerGroup>>,
    /// Set when the group is a share group (KIP-932): its members and assignment live there.
    pub share: Option<Box<crate::share::ShareGroup>>,
}

impl Group {
    /// A transaction of `producer_id` ended: its offsets become the committed ones, or go.
    pub fn complete_transaction(&mut self, producer_id: i64, commit: bool) {
        if let Some(offsets) = self.txn_offsets.remove(&producer_id) {
            if commit {
                self.offsets.extend(offsets);
            }
        }
    }

    /// Whether an ongoing transaction holds an offset for the partition (OffsetFetch's
    /// `require_stable` answers UNSTABLE_OFFSET_COMMIT then).
    pub fn has_pending_txn_offset(&self, topic: &str, partition: i32) -> bool {
        let key = (topic.to_string(), partition);
        self.txn_offsets.values().any(|o| o.contains_key(&key))
    }

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
            txn_offsets: HashMap::new(),
            rebalance_deadline: None,
            delay_until: None,
            delay_limit: None,
            sync_deadline: None,
            pending_sync: Default::default(),
            state_since_ms: crate::util::now_ms(),
            store_pending: false,
            consumer: None,
            share: None,
        }
    }

    /// Kafka's group type: `consumer` (KIP-848 protocol) or `classic`.
    pub fn group_type(&self) -> &'static str {
        if self.share.is_some() {
            "share"
        } else if self.consumer.is_some() {
            "consumer"
        } else {
            "classic"
        }
    }

    /// The state name ListGroups and the metrics report (a consumer group's own states).
    pub fn state_name(&self) -> &'static str {
        if let Some(s) = &self.share {
            return s.state_name();
        }
        match &self.consumer {
            Some(c) => c.state().name(),
            None => self.state.name(),
        }
    }

    /// No member (classic or consumer protocol): DeleteGroups may delete it, its offsets
    /// may expire.
    pub fn has_no_members(&self) -> bool {
        if let Some(s) = &self.share {
            return s.members.is_empty();
        }
        match &self.consumer {
            Some(c) => c.members.is_empty(),
            None => self.members.is_empty() && matches!(self.state, GroupState::Empty | GroupState::Dead),
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

    pub fn is_static_fenced(&self, member_id: &str, instance_id: Option<&str>) -> bool {
        match instance_id {
            Some(i) => self.static_members.get(i).is_some_and(|m| m != member_id),
            None => false,
        }
    }

    /// Common member/generation checks of SyncGroup, Heartbeat and OffsetCommit.
    fn check_member(&self, m: MemberRef<'_>) -> Result<(), GroupError> {
        if self.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        if self.is_static_fenced(m.member_id, m.group_instance_id) {
            return Err(GroupError::FencedInstanceId);
        }
        if !self.members.contains_key(m.member_id) {
            return Err(GroupError::UnknownMemberId);
        }
        if m.generation_id != self.generation {
            return Err(GroupError::IllegalGeneration);
        }
        Ok(())
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

    /// Topics the members subscribe to (consumer protocol, or a consumer group's names and
    /// regular expressions), for OffsetDelete.
    pub fn subscribed_topics(&self) -> Vec<String> {
        use kafka_protocol::messages::ConsumerProtocolSubscription;
        use kafka_protocol::protocol::Decodable;
        if let Some(c) = &self.consumer {
            return c.subscribed_topic_names().into_iter().collect();
        }
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
