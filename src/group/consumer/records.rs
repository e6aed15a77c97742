//! A consumer group's state as Kafka's records (their byte layout is
//! [`crate::group::consumer_records`]): what each operation writes, and the replay that
//! rebuilds the group from them at start.

use std::collections::BTreeSet;

use bytes::Bytes;
use tokio::time::Instant;

use super::member::ClassicMember;
use super::{Assignment, ConsumerGroup, ConsumerMember, MemberState, Record, ResolvedRegex};
use crate::group::consumer_records::{
    ClassicMemberMetadata, CurrentMemberAssignmentValue, GroupMetadataValue, MemberMetadataValue, RecordKey,
    RegularExpressionValue, TargetAssignmentMemberValue, TargetAssignmentMetadataValue, TopicPartitions,
};

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

pub fn group_metadata(group: &str, epoch: i32, metadata_hash: i64) -> Record {
    let v = GroupMetadataValue { epoch, metadata_hash };
    (key(RecordKey::GroupMetadata { group: group.into() }), Some(v.encode()))
}

pub fn group_metadata_tombstone(group: &str) -> Record {
    (key(RecordKey::GroupMetadata { group: group.into() }), None)
}

pub fn partition_metadata_tombstone(group: &str) -> Record {
    (key(RecordKey::PartitionMetadata { group: group.into() }), None)
}

pub fn member_metadata(group: &str, m: &ConsumerMember) -> Record {
    let v = MemberMetadataValue {
        instance_id: m.instance_id.clone(),
        rack_id: m.rack_id.clone(),
        client_id: m.client_id.clone(),
        client_host: m.client_host.clone(),
        subscribed_topic_names: m.subscribed_topic_names.iter().cloned().collect(),
        subscribed_topic_regex: (!m.subscribed_topic_regex.is_empty()).then(|| m.subscribed_topic_regex.clone()),
        rebalance_timeout_ms: m.rebalance_timeout_ms,
        server_assignor: m.server_assignor.clone(),
        classic_member_metadata: m.classic.as_ref().map(|c| ClassicMemberMetadata {
            session_timeout_ms: c.session_timeout_ms,
            supported_protocols: c.protocols.clone(),
        }),
    };
    (key(RecordKey::MemberMetadata { group: group.into(), member: m.id.clone() }), Some(v.encode()))
}

pub fn member_metadata_tombstone(group: &str, member: &str) -> Record {
    (key(RecordKey::MemberMetadata { group: group.into(), member: member.into() }), None)
}

pub fn current_assignment(group: &str, m: &ConsumerMember) -> Record {
    let v = CurrentMemberAssignmentValue {
        member_epoch: m.member_epoch,
        previous_member_epoch: m.previous_member_epoch,
        state: m.state.code(),
        assigned_partitions: to_topic_partitions(&m.assigned),
        partitions_pending_revocation: to_topic_partitions(&m.pending_revocation),
    };
    (key(RecordKey::CurrentMemberAssignment { group: group.into(), member: m.id.clone() }), Some(v.encode()))
}

pub fn current_assignment_tombstone(group: &str, member: &str) -> Record {
    (key(RecordKey::CurrentMemberAssignment { group: group.into(), member: member.into() }), None)
}

pub fn target_member(group: &str, member: &str, a: &Assignment) -> Record {
    let v = TargetAssignmentMemberValue { topic_partitions: to_topic_partitions(a) };
    (key(RecordKey::TargetAssignmentMember { group: group.into(), member: member.into() }), Some(v.encode()))
}

pub fn target_member_tombstone(group: &str, member: &str) -> Record {
    (key(RecordKey::TargetAssignmentMember { group: group.into(), member: member.into() }), None)
}

pub fn target_metadata(group: &str, epoch: i32) -> Record {
    let v = TargetAssignmentMetadataValue { assignment_epoch: epoch };
    (key(RecordKey::TargetAssignmentMetadata { group: group.into() }), Some(v.encode()))
}

pub fn target_metadata_tombstone(group: &str) -> Record {
    (key(RecordKey::TargetAssignmentMetadata { group: group.into() }), None)
}

pub fn regex(group: &str, regex: &str, r: &ResolvedRegex) -> Record {
    let v = RegularExpressionValue {
        topics: r.topics.iter().cloned().collect(),
        version: r.version,
        timestamp: r.timestamp_ms,
    };
    (key(RecordKey::RegularExpression { group: group.into(), regex: regex.into() }), Some(v.encode()))
}

pub fn regex_tombstone(group: &str, regex: &str) -> Record {
    (key(RecordKey::RegularExpression { group: group.into(), regex: regex.into() }), None)
}

/// The member `id` of `g`, created if it is new.
fn member_entry<'a>(g: &'a mut ConsumerGroup, id: &str, now: Instant) -> &'a mut ConsumerMember {
    g.members.entry(id.to_string()).or_insert_with(|| ConsumerMember::new(id, now))
}

impl ConsumerGroup {
    /// Applies one record read back from `__consumer_offsets` (Kafka's replay rules: a value
    /// creates what it names; a tombstone of something unknown is ignored; an undecodable
    /// value is skipped).
    pub fn replay(&mut self, k: &RecordKey, value: Option<Bytes>, now: Instant) {
        match (k, value) {
            (RecordKey::GroupMetadata { .. }, Some(v)) => {
                if let Some(v) = GroupMetadataValue::decode(v) {
                    self.group_epoch = v.epoch;
                    self.metadata_hash = v.metadata_hash;
                }
            }
            (RecordKey::GroupMetadata { .. }, None) => {} // the coordinator drops the group
            (RecordKey::PartitionMetadata { .. }, v) => self.has_partition_metadata = v.is_some(),
            (RecordKey::MemberMetadata { member, .. }, Some(v)) => {
                let Some(v) = MemberMetadataValue::decode(v) else { return };
                let m = member_entry(self, member, now);
                m.instance_id = v.instance_id;
                m.rack_id = v.rack_id;
                m.client_id = v.client_id;
                m.client_host = v.client_host;
                m.subscribed_topic_names = v.subscribed_topic_names.into_iter().collect();
                m.subscribed_topic_regex = v.subscribed_topic_regex.unwrap_or_default();
                m.rebalance_timeout_ms = v.rebalance_timeout_ms;
                m.server_assignor = v.server_assignor;
                m.classic = v.classic_member_metadata.map(|c| ClassicMember {
                    session_timeout_ms: c.session_timeout_ms,
                    protocols: c.supported_protocols,
                });
                if let Some(i) = m.instance_id.clone() {
                    self.static_members.insert(i, member.clone());
                }
            }
            (RecordKey::MemberMetadata { member, .. }, None) => {
                if let Some(m) = self.members.remove(member) {
                    if let Some(i) = &m.instance_id {
                        if self.static_members.get(i) == Some(member) {
                            self.static_members.remove(i);
                        }
                    }
                }
            }
            (RecordKey::CurrentMemberAssignment { member, .. }, Some(v)) => {
                let Some(v) = CurrentMemberAssignmentValue::decode(v) else { return };
                let m = member_entry(self, member, now);
                m.member_epoch = v.member_epoch;
                m.previous_member_epoch = v.previous_member_epoch;
                m.state = MemberState::from_code(v.state);
                m.assigned = from_topic_partitions(v.assigned_partitions);
                m.pending_revocation = from_topic_partitions(v.partitions_pending_revocation);
            }
            (RecordKey::CurrentMemberAssignment { member, .. }, None) => {
                if let Some(m) = self.members.get_mut(member) {
                    m.member_epoch = -1;
                    m.previous_member_epoch = -1;
                    m.assigned.clear();
                    m.pending_revocation.clear();
                }
            }
            (RecordKey::TargetAssignmentMember { member, .. }, Some(v)) => {
                if let Some(v) = TargetAssignmentMemberValue::decode(v) {
                    self.target.insert(member.clone(), from_topic_partitions(v.topic_partitions));
                }
            }
            (RecordKey::TargetAssignmentMember { member, .. }, None) => {
                self.target.remove(member);
            }
            (RecordKey::TargetAssignmentMetadata { .. }, Some(v)) => {
                if let Some(v) = TargetAssignmentMetadataValue::decode(v) {
                    self.assignment_epoch = v.assignment_epoch;
                }
            }
            (RecordKey::TargetAssignmentMetadata { .. }, None) => self.assignment_epoch = -1,
            (RecordKey::RegularExpression { regex, .. }, Some(v)) => {
                if let Some(v) = RegularExpressionValue::decode(v) {
                    let topics: BTreeSet<String> = v.topics.into_iter().collect();
                    self.regexes
                        .insert(regex.clone(), ResolvedRegex { topics, version: v.version, timestamp_ms: v.timestamp });
                }
            }
            (RecordKey::RegularExpression { regex, .. }, None) => {
                self.regexes.remove(regex);
            }
        }
    }
}
