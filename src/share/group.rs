//! A share group's membership (Kafka's ShareGroup and GroupMetadataManager.shareGroupHeartbeat,
//! KIP-932): members heartbeat with their subscriptions, the coordinator computes a target
//! assignment with the `simple` assignor (members may share partitions), and a member's
//! assignment switches straight to its target: there is no revocation, because records, not
//! partitions, are what members hold. The group's records (types 10-15 of
//! `__consumer_offsets`) are written by each operation and replayed at start.
//!
//! A subscribed partition becomes assignable once its share state is initialized, as in
//! Kafka: the heartbeat that first subscribes the group to it initializes it after computing
//! the assignment (Brook's share state is in the same process, so at once, where Kafka makes a
//! round trip to the share coordinator), and the next heartbeat assigns it. The heartbeat
//! between matters to users: members that start together all get partitions, instead of the
//! first one acquiring every record before the others have joined. The initialized partitions
//! are recorded (type 15) for the admin APIs.
//! See docs/kip932-spec.md §1-2.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;
use uuid::Uuid;

use super::assignor::{self, AssignMember};
use super::records::{
    CurrentMemberAssignmentValue, GroupMetadataValue, MemberMetadataValue, RecordKey, StatePartitionMetadataValue,
    TargetAssignmentMemberValue, TargetAssignmentMetadataValue, TopicInfo, TopicPartitionsInfo,
};
use crate::group::consumer::{metadata_hash, Assignment, Record, Refusal, TopicLookup};
use crate::group::consumer_records::TopicPartitions;
use crate::group::GroupError;

/// The epoch a member leaves with.
pub const LEAVE_EPOCH: i32 = -1;
/// Kafka's limit on member ids in share requests.
pub const MAX_MEMBER_ID_LEN: usize = 36;

#[derive(Debug, Clone)]
pub struct ShareMember {
    pub id: String,
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: BTreeSet<String>,
    pub assigned: Assignment,
    pub session_deadline: Instant,
}

impl ShareMember {
    fn new(id: &str, now: Instant) -> Self {
        Self {
            id: id.to_string(),
            member_epoch: 0,
            previous_member_epoch: -1,
            rack_id: None,
            client_id: String::new(),
            client_host: String::new(),
            subscribed_topic_names: BTreeSet::new(),
            assigned: Assignment::new(),
            session_deadline: now,
        }
    }
}

/// One ShareGroupHeartbeat, as the group needs it.
#[derive(Debug, Clone)]
pub struct ShareHeartbeat {
    pub member_id: String,
    pub member_epoch: i32,
    pub rack_id: Option<String>,
    /// `None`: unchanged.
    pub subscribed_topic_names: Option<Vec<String>>,
    pub client_id: String,
    pub client_host: String,
}

/// What the group's operations need besides the request.
pub struct ShareEnv<'a> {
    pub now: Instant,
    pub topics: &'a dyn TopicLookup,
    /// `group.share.max.size`.
    pub max_size: usize,
    pub session_timeout: Duration,
}

/// The answer to an accepted heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareAnswer {
    pub member_id: String,
    pub member_epoch: i32,
    /// The member's assignment, when it changed or must be repeated.
    pub assignment: Option<Assignment>,
}

/// A topic's partitions with share state, by topic id (record type 15).
pub type StateTopics = BTreeMap<Uuid, (String, BTreeSet<i32>)>;

#[derive(Debug)]
pub struct ShareGroup {
    pub id: String,
    pub group_epoch: i32,
    pub metadata_hash: i64,
    pub assignment_epoch: i32,
    pub members: BTreeMap<String, ShareMember>,
    pub target: BTreeMap<String, Assignment>,
    /// The partitions whose share state exists (assignable, and listed by the offsets APIs).
    pub initialized: StateTopics,
    /// Topics whose share state is being deleted.
    pub deleting: BTreeMap<Uuid, String>,
    records: Vec<Record>,
}

fn key(k: RecordKey) -> Bytes {
    k.encode()
}

fn to_topic_partitions(a: &Assignment) -> Vec<TopicPartitions> {
    a.iter().map(|(t, ps)| TopicPartitions { topic_id: *t, partitions: ps.iter().copied().collect() }).collect()
}

fn from_topic_partitions(v: Vec<TopicPartitions>) -> Assignment {
    let mut a = Assignment::new();
    for tp in v {
        if !tp.partitions.is_empty() {
            a.entry(tp.topic_id).or_default().extend(tp.partitions);
        }
    }
    a
}

impl ShareGroup {
    pub fn new(id: &str) -> Self {
        Self {
            id: id.to_string(),
            group_epoch: 0,
            metadata_hash: 0,
            assignment_epoch: -1,
            members: BTreeMap::new(),
            target: BTreeMap::new(),
            initialized: StateTopics::new(),
            deleting: BTreeMap::new(),
            records: Vec::new(),
        }
    }

    /// Kafka's share group states: `Empty` without members, else `Stable`.
    pub fn state_name(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else {
            "Stable"
        }
    }

    /// The records the last operations produced (to append, in order).
    pub fn take_records(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.records)
    }

    /// Every topic some member subscribes to.
    pub fn subscribed_topic_names(&self) -> BTreeSet<String> {
        self.members.values().flat_map(|m| m.subscribed_topic_names.iter().cloned()).collect()
    }

    /// One heartbeat (epoch 0 joins, -1 leaves, above 0 heartbeats), checked as Kafka does.
    pub fn heartbeat(&mut self, req: &ShareHeartbeat, env: &ShareEnv<'_>) -> Result<ShareAnswer, Refusal> {
        let gid = self.id.clone();
        if req.member_epoch == LEAVE_EPOCH {
            if !self.members.contains_key(&req.member_id) {
                return Err(Refusal::new(
                    GroupError::UnknownMemberId,
                    format!("Member {} is not a member of group {gid}.", req.member_id),
                ));
            }
            self.fence(&req.member_id, env.topics);
            return Ok(ShareAnswer { member_id: req.member_id.clone(), member_epoch: LEAVE_EPOCH, assignment: None });
        }
        let known = self.members.contains_key(&req.member_id);
        if !known && self.members.len() >= env.max_size {
            return Err(Refusal::new(
                GroupError::GroupMaxSizeReached,
                format!("The share group has reached its maximum capacity of {} members.", env.max_size),
            ));
        }
        let mut member = match self.members.get(&req.member_id) {
            Some(m) => {
                let e = req.member_epoch;
                if e != 0 && (e > m.member_epoch || (e < m.member_epoch && e != m.previous_member_epoch)) {
                    return Err(Refusal::new(
                        GroupError::FencedMemberEpoch,
                        format!(
                            "The share group member has a smaller or larger member epoch ({e}) than the one known by the group coordinator ({}). The member must abandon all its partitions and rejoin.",
                            m.member_epoch
                        ),
                    ));
                }
                m.clone()
            }
            None if req.member_epoch != 0 => {
                return Err(Refusal::new(
                    GroupError::UnknownMemberId,
                    format!("Member {} is not a member of group {gid}.", req.member_id),
                ))
            }
            None => ShareMember::new(&req.member_id, env.now),
        };
        // 1. The member's own details.
        let mut changed = !known;
        let mut bump = false;
        if let Some(rack) = &req.rack_id {
            changed |= member.rack_id.as_ref() != Some(rack);
            member.rack_id = Some(rack.clone());
        }
        if let Some(names) = &req.subscribed_topic_names {
            let names: BTreeSet<String> = names.iter().cloned().collect();
            if names != member.subscribed_topic_names {
                member.subscribed_topic_names = names;
                changed = true;
                bump = true;
            }
        }
        changed |= member.client_id != req.client_id || member.client_host != req.client_host;
        member.client_id = req.client_id.clone();
        member.client_host = req.client_host.clone();
        if changed {
            self.records.push(self.member_metadata(&member));
        }
        self.members.insert(member.id.clone(), member);
        // Partitions initialized since the target was computed are assigned now.
        bump |= self.initialized_assignment_pending(env.topics);
        // 2. The group epoch moves with the subscriptions and the subscribed topics' metadata.
        let hash = self.compute_metadata_hash(env.topics);
        if bump || hash != self.metadata_hash {
            self.metadata_hash = hash;
            self.group_epoch += 1;
            self.records.push(self.group_metadata());
        }
        // 3. A new target assignment when the group epoch moved past it.
        if self.group_epoch > self.assignment_epoch {
            self.compute_target(env.topics);
        }
        // 4. The member moves to its target.
        let m = self.members.get_mut(&req.member_id).expect("inserted above");
        let (before, epoch_before) = (m.assigned.clone(), m.member_epoch);
        if m.member_epoch != self.assignment_epoch {
            m.previous_member_epoch = m.member_epoch;
            m.member_epoch = self.assignment_epoch;
            m.assigned = self.target.get(&m.id).cloned().unwrap_or_default();
        } else if bump {
            m.assigned = self.target.get(&m.id).cloned().unwrap_or_default();
        }
        m.session_deadline = env.now + env.session_timeout;
        let m = m.clone();
        if m.assigned != before || m.member_epoch != epoch_before || !known {
            self.records.push(self.current_assignment(&m));
        }
        // 6. Subscribed partitions without share state get it; the next heartbeat assigns them.
        self.initialize_subscribed(env.topics);
        let full = req.member_epoch == 0 || req.subscribed_topic_names.is_some();
        Ok(ShareAnswer {
            member_id: m.id.clone(),
            member_epoch: m.member_epoch,
            assignment: (full || m.assigned != before).then(|| m.assigned.clone()),
        })
    }

    /// Kafka's `initializedAssignmentPending`: some subscribed, initialized topic has
    /// partitions that no member's target holds (initialized after the target was computed).
    fn initialized_assignment_pending(&self, topics: &dyn TopicLookup) -> bool {
        if self.members.is_empty() {
            return false;
        }
        self.subscribed_topic_names().iter().any(|name| {
            let Some((id, _)) = topics.topic(name) else { return false };
            let Some((_, initialized)) = self.initialized.get(&id) else { return false };
            let targeted: BTreeSet<i32> =
                self.target.values().filter_map(|a| a.get(&id)).flat_map(|ps| ps.iter().copied()).collect();
            *initialized != targeted
        })
    }

    /// Adds the partitions of subscribed topics that have no share state yet (new topics,
    /// grown topics) to the initialized set, writing type 15 when it changed.
    fn initialize_subscribed(&mut self, topics: &dyn TopicLookup) {
        let mut changed = false;
        for name in self.subscribed_topic_names() {
            let Some((id, count)) = topics.topic(&name) else { continue };
            let entry = self.initialized.entry(id).or_insert_with(|| (name.clone(), BTreeSet::new()));
            for p in 0..count.max(0) {
                changed |= entry.1.insert(p);
            }
            changed |= self.deleting.remove(&id).is_some();
        }
        if changed {
            self.records.push(self.state_partition_metadata());
        }
    }

    /// The target assignment at the group epoch: every subscribed, initialized partition.
    fn compute_target(&mut self, topics: &dyn TopicLookup) {
        let mut partitions: BTreeMap<Uuid, Vec<i32>> = BTreeMap::new();
        let inputs: Vec<AssignMember<'_>> = self
            .members
            .values()
            .map(|m| {
                let ids: BTreeSet<Uuid> = m
                    .subscribed_topic_names
                    .iter()
                    .filter_map(|n| topics.topic(n).map(|(id, _)| id))
                    .filter(|id| self.initialized.contains_key(id))
                    .collect();
                for id in &ids {
                    partitions.entry(*id).or_insert_with(|| self.initialized[id].1.iter().copied().collect());
                }
                AssignMember { id: &m.id, topics: ids, current: self.target.get(&m.id) }
            })
            .collect();
        let target = assignor::assign(&inputs, &partitions);
        drop(inputs);
        for (id, a) in &target {
            if self.target.get(id) != Some(a) {
                let v = TargetAssignmentMemberValue { topic_partitions: to_topic_partitions(a) };
                self.records.push((
                    key(RecordKey::TargetAssignmentMember { group: self.id.clone(), member: id.clone() }),
                    Some(v.encode()),
                ));
            }
        }
        self.target = target;
        self.assignment_epoch = self.group_epoch;
        let v = TargetAssignmentMetadataValue { assignment_epoch: self.assignment_epoch };
        self.records.push((key(RecordKey::TargetAssignmentMetadata { group: self.id.clone() }), Some(v.encode())));
    }

    /// Removes a member (leave, session expiry): tombstones in Kafka's order, and the group
    /// epoch moves so the others get its partitions at their next heartbeat. The records it
    /// holds stay acquired until released by its share session or their locks.
    pub fn fence(&mut self, member_id: &str, topics: &dyn TopicLookup) {
        if self.members.remove(member_id).is_none() {
            return;
        }
        let (g, m) = (self.id.clone(), member_id.to_string());
        self.records.push((key(RecordKey::CurrentMemberAssignment { group: g.clone(), member: m.clone() }), None));
        self.records.push((key(RecordKey::TargetAssignmentMember { group: g.clone(), member: m.clone() }), None));
        self.records.push((key(RecordKey::MemberMetadata { group: g, member: m }), None));
        self.target.remove(member_id);
        self.metadata_hash = self.compute_metadata_hash(topics);
        self.group_epoch += 1;
        self.records.push(self.group_metadata());
    }

    /// Members whose session lapsed are fenced. True if any was.
    pub fn tick(&mut self, now: Instant, topics: &dyn TopicLookup) -> bool {
        let expired: Vec<String> =
            self.members.values().filter(|m| m.session_deadline <= now).map(|m| m.id.clone()).collect();
        for id in &expired {
            tracing::info!(group = %self.id, member = %id, "share group member session timed out");
            self.fence(id, topics);
        }
        !expired.is_empty()
    }

    /// After a load: every member's session starts now.
    pub fn arm_timers(&mut self, now: Instant, session_timeout: Duration) {
        for m in self.members.values_mut() {
            m.session_deadline = now + session_timeout;
        }
    }

    /// A topic was deleted: it leaves the initialized and deleting sets.
    pub fn on_topic_deleted(&mut self, id: &Uuid) {
        if self.initialized.remove(id).is_some() | self.deleting.remove(id).is_some() {
            self.records.push(self.state_partition_metadata());
        }
    }

    /// DeleteShareGroupOffsets / DeleteGroups: the topics' share state is deleted, so they
    /// leave the initialized set (a later subscription starts them afresh).
    pub fn forget_topics(&mut self, ids: &[Uuid]) {
        let mut changed = false;
        for id in ids {
            changed |= self.initialized.remove(id).is_some();
            changed |= self.deleting.remove(id).is_some();
        }
        if changed {
            self.records.push(self.state_partition_metadata());
        }
    }

    /// AlterShareGroupOffsets: partitions whose share state was set are initialized.
    pub fn mark_initialized(&mut self, id: Uuid, name: &str, partitions: &[i32]) {
        let entry = self.initialized.entry(id).or_insert_with(|| (name.to_string(), BTreeSet::new()));
        let mut changed = false;
        for p in partitions {
            changed |= entry.1.insert(*p);
        }
        if changed {
            self.records.push(self.state_partition_metadata());
        }
    }

    /// The tombstones that delete the whole group, in Kafka's order.
    pub fn tombstones(&self) -> Vec<Record> {
        let g = &self.id;
        let mut out = Vec::new();
        for id in self.members.keys() {
            out.push((key(RecordKey::CurrentMemberAssignment { group: g.clone(), member: id.clone() }), None));
        }
        for id in self.target.keys() {
            out.push((key(RecordKey::TargetAssignmentMember { group: g.clone(), member: id.clone() }), None));
        }
        out.push((key(RecordKey::TargetAssignmentMetadata { group: g.clone() }), None));
        for id in self.members.keys() {
            out.push((key(RecordKey::MemberMetadata { group: g.clone(), member: id.clone() }), None));
        }
        out.push((key(RecordKey::StatePartitionMetadata { group: g.clone() }), None));
        out.push((key(RecordKey::GroupMetadata { group: g.clone() }), None));
        out
    }

    fn compute_metadata_hash(&self, topics: &dyn TopicLookup) -> i64 {
        metadata_hash(&self.subscribed_topic_names(), topics)
    }

    fn member_metadata(&self, m: &ShareMember) -> Record {
        let v = MemberMetadataValue {
            rack_id: m.rack_id.clone(),
            client_id: m.client_id.clone(),
            client_host: m.client_host.clone(),
            subscribed_topic_names: m.subscribed_topic_names.iter().cloned().collect(),
        };
        (key(RecordKey::MemberMetadata { group: self.id.clone(), member: m.id.clone() }), Some(v.encode()))
    }

    fn group_metadata(&self) -> Record {
        let v = GroupMetadataValue { epoch: self.group_epoch, metadata_hash: self.metadata_hash };
        (key(RecordKey::GroupMetadata { group: self.id.clone() }), Some(v.encode()))
    }

    fn current_assignment(&self, m: &ShareMember) -> Record {
        let v = CurrentMemberAssignmentValue {
            member_epoch: m.member_epoch,
            previous_member_epoch: m.previous_member_epoch,
            state: 0,
            assigned_partitions: to_topic_partitions(&m.assigned),
        };
        (key(RecordKey::CurrentMemberAssignment { group: self.id.clone(), member: m.id.clone() }), Some(v.encode()))
    }

    fn state_partition_metadata(&self) -> Record {
        let v = StatePartitionMetadataValue {
            initializing_topics: Vec::new(),
            initialized_topics: self
                .initialized
                .iter()
                .map(|(id, (name, ps))| TopicPartitionsInfo {
                    topic_id: *id,
                    topic_name: name.clone(),
                    partitions: ps.iter().copied().collect(),
                })
                .collect(),
            deleting_topics: self
                .deleting
                .iter()
                .map(|(id, name)| TopicInfo { topic_id: *id, topic_name: name.clone() })
                .collect(),
        };
        (key(RecordKey::StatePartitionMetadata { group: self.id.clone() }), Some(v.encode()))
    }

    /// Applies a record read back from `__consumer_offsets` (None: a tombstone).
    pub fn replay(&mut self, k: &RecordKey, value: Option<Bytes>, now: Instant) {
        match k {
            RecordKey::PartitionMetadata { .. } => {}
            RecordKey::GroupMetadata { .. } => {
                if let Some(v) = value.and_then(GroupMetadataValue::decode) {
                    self.group_epoch = v.epoch;
                    self.metadata_hash = v.metadata_hash;
                }
            }
            RecordKey::MemberMetadata { member, .. } => match value.and_then(MemberMetadataValue::decode) {
                Some(v) => {
                    let m = self.members.entry(member.clone()).or_insert_with(|| ShareMember::new(member, now));
                    m.rack_id = v.rack_id;
                    m.client_id = v.client_id;
                    m.client_host = v.client_host;
                    m.subscribed_topic_names = v.subscribed_topic_names.into_iter().collect();
                }
                None => {
                    self.members.remove(member);
                }
            },
            RecordKey::TargetAssignmentMetadata { .. } => {
                if let Some(v) = value.and_then(TargetAssignmentMetadataValue::decode) {
                    self.assignment_epoch = v.assignment_epoch;
                }
            }
            RecordKey::TargetAssignmentMember { member, .. } => {
                match value.and_then(TargetAssignmentMemberValue::decode) {
                    Some(v) => {
                        self.target.insert(member.clone(), from_topic_partitions(v.topic_partitions));
                    }
                    None => {
                        self.target.remove(member);
                    }
                }
            }
            RecordKey::CurrentMemberAssignment { member, .. } => {
                if let Some(v) = value.and_then(CurrentMemberAssignmentValue::decode) {
                    let m = self.members.entry(member.clone()).or_insert_with(|| ShareMember::new(member, now));
                    m.member_epoch = v.member_epoch;
                    m.previous_member_epoch = v.previous_member_epoch;
                    m.assigned = from_topic_partitions(v.assigned_partitions);
                }
            }
            RecordKey::StatePartitionMetadata { .. } => {
                if let Some(v) = value.and_then(StatePartitionMetadataValue::decode) {
                    self.initialized = v
                        .initialized_topics
                        .into_iter()
                        .chain(v.initializing_topics)
                        .map(|t| (t.topic_id, (t.topic_name, t.partitions.into_iter().collect())))
                        .collect();
                    self.deleting = v.deleting_topics.into_iter().map(|t| (t.topic_id, t.topic_name)).collect();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
