//! The KIP-932 share-group records, byte-compatible with Apache Kafka 4.2: the group
//! coordinator's types 9-15 of `__consumer_offsets` (`ShareGroup*Key`/`Value`) and the share
//! coordinator's `__share_group_state` records ShareSnapshot (key type 0) and ShareUpdate (key
//! type 1). Framing as in `group::consumer_records`: a key is `int16 type` + a non-flexible struct
//! (int16-length strings); a value is `int16 version` (always 0) + a flexible struct (compact
//! strings and arrays, a tagged-field section after every struct, tagged fields at their default
//! not written). Type 9 (ShareGroupPartitionMetadata, 4.0 only, skipped on load since 4.1) has
//! only its key here: Brook never writes its value, it only tombstones it.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use uuid::Uuid;

use crate::group::consumer_records::{get_topic_partitions, put_topic_partitions, TopicPartitions};
use crate::group::flexible::{
    get_compact_array, get_compact_opt_str, get_compact_str, get_tagged_fields, put_compact_array, put_compact_opt_str,
    put_compact_str, put_tagged_fields, skip_tagged_fields, value_codec,
};
use crate::wire::{get_str, put_str};

pub const PARTITION_METADATA: i16 = 9;
pub const MEMBER_METADATA: i16 = 10;
pub const GROUP_METADATA: i16 = 11;
pub const TARGET_ASSIGNMENT_METADATA: i16 = 12;
pub const TARGET_ASSIGNMENT_MEMBER: i16 = 13;
pub const CURRENT_MEMBER_ASSIGNMENT: i16 = 14;
pub const STATE_PARTITION_METADATA: i16 = 15;

/// `__share_group_state` key types.
pub const SHARE_SNAPSHOT: i16 = 0;
pub const SHARE_UPDATE: i16 = 1;

/// The key of a share-group record of `__consumer_offsets`: the group, and for some types a
/// member id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    PartitionMetadata { group: String },
    MemberMetadata { group: String, member: String },
    GroupMetadata { group: String },
    TargetAssignmentMetadata { group: String },
    TargetAssignmentMember { group: String, member: String },
    CurrentMemberAssignment { group: String, member: String },
    StatePartitionMetadata { group: String },
}

impl RecordKey {
    /// `int16 type`, GroupId, then MemberId where the type has one.
    pub fn encode(&self) -> Bytes {
        let (kind, group, member) = self.parts();
        let mut b = BytesMut::with_capacity(6 + group.len() + member.map_or(0, str::len));
        b.put_i16(kind);
        put_str(&mut b, group);
        if let Some(member) = member {
            put_str(&mut b, member);
        }
        b.freeze()
    }

    pub fn group(&self) -> &str {
        self.parts().1
    }

    /// The record type, the group, and the member id.
    fn parts(&self) -> (i16, &str, Option<&str>) {
        match self {
            Self::PartitionMetadata { group } => (PARTITION_METADATA, group, None),
            Self::MemberMetadata { group, member } => (MEMBER_METADATA, group, Some(member)),
            Self::GroupMetadata { group } => (GROUP_METADATA, group, None),
            Self::TargetAssignmentMetadata { group } => (TARGET_ASSIGNMENT_METADATA, group, None),
            Self::TargetAssignmentMember { group, member } => (TARGET_ASSIGNMENT_MEMBER, group, Some(member)),
            Self::CurrentMemberAssignment { group, member } => (CURRENT_MEMBER_ASSIGNMENT, group, Some(member)),
            Self::StatePartitionMetadata { group } => (STATE_PARTITION_METADATA, group, None),
        }
    }
}

/// The key of a share-group record (types 9-15); None for other types (0-8, 16, 17) or damage.
pub fn decode_key(mut b: Bytes) -> Option<RecordKey> {
    let kind = b.try_get_i16().ok()?;
    if !(PARTITION_METADATA..=STATE_PARTITION_METADATA).contains(&kind) {
        return None;
    }
    let group = get_str(&mut b)?;
    Some(match kind {
        PARTITION_METADATA => RecordKey::PartitionMetadata { group },
        GROUP_METADATA => RecordKey::GroupMetadata { group },
        TARGET_ASSIGNMENT_METADATA => RecordKey::TargetAssignmentMetadata { group },
        STATE_PARTITION_METADATA => RecordKey::StatePartitionMetadata { group },
        MEMBER_METADATA => RecordKey::MemberMetadata { group, member: get_str(&mut b)? },
        TARGET_ASSIGNMENT_MEMBER => RecordKey::TargetAssignmentMember { group, member: get_str(&mut b)? },
        _ => RecordKey::CurrentMemberAssignment { group, member: get_str(&mut b)? },
    })
}

/// Which `__share_group_state` record a [`StateKey`] heads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateKind {
    /// Type 0: the share partition's full state. Its tombstone deletes the state.
    Snapshot,
    /// Type 1: the batches written by one WriteShareGroupState, on top of the last snapshot.
    Update,
}

/// The key of a ShareSnapshot or ShareUpdate record: one share partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateKey {
    pub group: String,
    pub topic_id: Uuid,
    pub partition: i32,
}

impl StateKey {
    /// `int16 type` (0 snapshot, 1 update), GroupId, TopicId, Partition.
    pub fn encode(&self, kind: StateKind) -> Bytes {
        let mut b = BytesMut::with_capacity(2 + 2 + self.group.len() + 16 + 4);
        b.put_i16(match kind {
            StateKind::Snapshot => SHARE_SNAPSHOT,
            StateKind::Update => SHARE_UPDATE,
        });
        put_str(&mut b, &self.group);
        b.put_slice(self.topic_id.as_bytes());
        b.put_i32(self.partition);
        b.freeze()
    }
}

/// The key of a `__share_group_state` record and which record it heads; None for other types or
/// damage.
pub fn decode_state_key(mut b: Bytes) -> Option<(StateKind, StateKey)> {
    let kind = match b.try_get_i16().ok()? {
        SHARE_SNAPSHOT => StateKind::Snapshot,
        SHARE_UPDATE => StateKind::Update,
        _ => return None,
    };
    let group = get_str(&mut b)?;
    let topic_id = get_uuid(&mut b)?;
    let partition = b.try_get_i32().ok()?;
    Some((kind, StateKey { group, topic_id, partition }))
}

/// Type 10: a member's subscription and client details.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberMetadataValue {
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// Sorted.
    pub subscribed_topic_names: Vec<String>,
}

/// Type 11: the group epoch and the hash of the subscribed topics' metadata (a plain field, not
/// tagged as in type 3; 4.0 records, which lack it, are not read).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupMetadataValue {
    pub epoch: i32,
    pub metadata_hash: i64,
}

/// Types 12 and 13 (the target assignment's epoch, one member's target) have the layout of
/// the consumer-group records 6 and 7, so their types are shared.
pub use crate::group::consumer_records::{TargetAssignmentMemberValue, TargetAssignmentMetadataValue};

/// Type 14: one member's current assignment. There is no revocation in share groups.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CurrentMemberAssignmentValue {
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    /// Always 0 (STABLE).
    pub state: i8,
    pub assigned_partitions: Vec<TopicPartitions>,
}

/// A topic's partitions with share state (initializing or initialized), in type 15.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicPartitionsInfo {
    pub topic_id: Uuid,
    pub topic_name: String,
    pub partitions: Vec<i32>,
}

/// A topic whose share state is being deleted, in type 15.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicInfo {
    pub topic_id: Uuid,
    pub topic_name: String,
}

/// Type 15: which topics' share state is initializing, initialized or being deleted; always
/// rewritten whole.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatePartitionMetadataValue {
    pub initializing_topics: Vec<TopicPartitionsInfo>,
    pub initialized_topics: Vec<TopicPartitionsInfo>,
    pub deleting_topics: Vec<TopicInfo>,
}

/// A run of offsets with one delivery state and count, in ShareSnapshot and ShareUpdate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StateBatch {
    pub first_offset: i64,
    pub last_offset: i64,
    /// 0 Available, 2 Acknowledged, 4 Archived.
    pub delivery_state: i8,
    pub delivery_count: i16,
}

/// ShareSnapshot (key type 0): a share partition's full state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareSnapshotValue {
    pub snapshot_epoch: i32,
    pub state_epoch: i32,
    pub leader_epoch: i32,
    pub start_offset: i64,
    /// Tag 0 (4.2+), -1 (the default, not written) when unknown.
    pub delivery_complete_count: i32,
    pub create_timestamp: i64,
    pub write_timestamp: i64,
    pub state_batches: Vec<StateBatch>,
}

impl Default for ShareSnapshotValue {
    fn default() -> Self {
        Self {
            snapshot_epoch: 0,
            state_epoch: 0,
            leader_epoch: 0,
            start_offset: 0,
            delivery_complete_count: -1,
            create_timestamp: 0,
            write_timestamp: 0,
            state_batches: Vec::new(),
        }
    }
}

/// ShareUpdate (key type 1): the batches written by one request, on top of the last snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareUpdateValue {
    pub snapshot_epoch: i32,
    pub leader_epoch: i32,
    /// -1: unchanged.
    pub start_offset: i64,
    /// Tag 0, -1 (the default, not written) when unknown.
    pub delivery_complete_count: i32,
    pub state_batches: Vec<StateBatch>,
}

impl Default for ShareUpdateValue {
    fn default() -> Self {
        Self {
            snapshot_epoch: 0,
            leader_epoch: 0,
            start_offset: -1,
            delivery_complete_count: -1,
            state_batches: Vec::new(),
        }
    }
}

value_codec!(
    MemberMetadataValue,
    GroupMetadataValue,
    CurrentMemberAssignmentValue,
    StatePartitionMetadataValue,
    ShareSnapshotValue,
    ShareUpdateValue
);

impl MemberMetadataValue {
    fn write(&self, b: &mut BytesMut) {
        put_compact_opt_str(b, self.rack_id.as_deref());
        put_compact_str(b, &self.client_id);
        put_compact_str(b, &self.client_host);
        put_compact_array(b, &self.subscribed_topic_names, |b, t| put_compact_str(b, t));
        put_tagged_fields(b, &[]);
    }

    fn read(b: &mut Bytes) -> Option<Self> {
        let rack_id = get_compact_opt_str(b)?;
        let client_id = get_compact_str(b)?;
        let client_host = get_compact_str(b)?;
        let subscribed_topic_names = get_compact_array(b, 1, get_compact_str)?;
        skip_tagged_fields(b)?;
        Some(Self { rack_id, client_id, client_host, subscribed_topic_names })
    }
}

impl GroupMetadataValue {
    fn write(&self, b: &mut BytesMut) {
        b.put_i32(self.epoch);
        b.put_i64(self.metadata_hash);
        put_tagged_fields(b, &[]);
    }

    fn read(b: &mut Bytes) -> Option<Self> {
        let epoch = b.try_get_i32().ok()?;
        let metadata_hash = b.try_get_i64().ok()?;
        skip_tagged_fields(b)?;
        Some(Self { epoch, metadata_hash })
    }
}

impl CurrentMemberAssignmentValue {
    fn write(&self, b: &mut BytesMut) {
        b.put_i32(self.member_epoch);
        b.put_i32(self.previous_member_epoch);
        b.put_i8(self.state);
        put_topic_partitions(b, &self.assigned_partitions);
        put_tagged_fields(b, &[]);
    }

    fn read(b: &mut Bytes) -> Option<Self> {
        let member_epoch = b.try_get_i32().ok()?;
        let previous_member_epoch = b.try_get_i32().ok()?;
        let state = b.try_get_i8().ok()?;
        let assigned_partitions = get_topic_partitions(b)?;
        skip_tagged_fields(b)?;
        Some(Self { member_epoch, previous_member_epoch, state, assigned_partitions })
    }
}

impl StatePartitionMetadataValue {
    fn write(&self, b: &mut BytesMut) {
        put_topic_partitions_infos(b, &self.initializing_topics);
        put_topic_partitions_infos(b, &self.initialized_topics);
        put_compact_array(b, &self.deleting_topics, |b, t| {
            b.put_slice(t.topic_id.as_bytes());
            put_compact_str(b, &t.topic_name);
            put_tagged_fields(b, &[]);
        });
        put_tagged_fields(b, &[]);
    }

    fn read(b: &mut Bytes) -> Option<Self> {
        let initializing_topics = get_topic_partitions_infos(b)?;
        let initialized_topics = get_topic_partitions_infos(b)?;
        let deleting_topics = get_compact_array(b, 16 + 1 + 1, |b| {
            let topic_id = get_uuid(b)?;
            let topic_name = get_compact_str(b)?;
            skip_tagged_fields(b)?;
            Some(TopicInfo { topic_id, topic_name })
        })?;
        skip_tagged_fields(b)?;
        Some(Self { initializing_topics, initialized_topics, deleting_topics })
    }
}

impl ShareSnapshotValue {
    fn write(&self, b: &mut BytesMut) {
        b.put_i32(self.snapshot_epoch);
        b.put_i32(self.state_epoch);
        b.put_i32(self.leader_epoch);
        b.put_i64(self.start_offset);
        b.put_i64(self.create_timestamp);
        b.put_i64(self.write_timestamp);
        put_state_batches(b, &self.state_batches);
        put_delivery_complete_count(b, self.delivery_complete_count);
    }

    fn read(b: &mut Bytes) -> Option<Self> {
        let snapshot_epoch = b.try_get_i32().ok()?;
        let state_epoch = b.try_get_i32().ok()?;
        let leader_epoch = b.try_get_i32().ok()?;
        let start_offset = b.try_get_i64().ok()?;
        let create_timestamp = b.try_get_i64().ok()?;
        let write_timestamp = b.try_get_i64().ok()?;
        let state_batches = get_state_batches(b)?;
        let delivery_complete_count = get_delivery_complete_count(b)?;
        Some(Self {
            snapshot_epoch,
            state_epoch,
            leader_epoch,
            start_offset,
            delivery_complete_count,
            create_timestamp,
            write_timestamp,
            state_batches,
        })
    }
}

impl ShareUpdateValue {
    fn write(&self, b: &mut BytesMut) {
        b.put_i32(self.snapshot_epoch);
        b.put_i32(self.leader_epoch);
        b.put_i64(self.start_offset);
        put_state_batches(b, &self.state_batches);
        put_delivery_complete_count(b, self.delivery_complete_count);
    }

    fn read(b: &mut Bytes) -> Option<Self> {
        let snapshot_epoch = b.try_get_i32().ok()?;
        let leader_epoch = b.try_get_i32().ok()?;
        let start_offset = b.try_get_i64().ok()?;
        let state_batches = get_state_batches(b)?;
        let delivery_complete_count = get_delivery_complete_count(b)?;
        Some(Self { snapshot_epoch, leader_epoch, start_offset, delivery_complete_count, state_batches })
    }
}

fn get_uuid(b: &mut Bytes) -> Option<Uuid> {
    let mut id = [0; 16];
    b.try_copy_to_slice(&mut id).ok()?;
    Some(Uuid::from_bytes(id))
}

/// `[]TopicPartitionsInfo` of type 15: {TopicId uuid, TopicName string, Partitions []int32}.
fn put_topic_partitions_infos(b: &mut BytesMut, topics: &[TopicPartitionsInfo]) {
    put_compact_array(b, topics, |b, t| {
        b.put_slice(t.topic_id.as_bytes());
        put_compact_str(b, &t.topic_name);
        put_compact_array(b, &t.partitions, |b, p| b.put_i32(*p));
        put_tagged_fields(b, &[]);
    });
}

fn get_topic_partitions_infos(b: &mut Bytes) -> Option<Vec<TopicPartitionsInfo>> {
    get_compact_array(b, 16 + 1 + 1 + 1, |b| {
        let topic_id = get_uuid(b)?;
        let topic_name = get_compact_str(b)?;
        let partitions = get_compact_array(b, 4, |b| b.try_get_i32().ok())?;
        skip_tagged_fields(b)?;
        Some(TopicPartitionsInfo { topic_id, topic_name, partitions })
    })
}

/// `[]StateBatch`: {FirstOffset int64, LastOffset int64, DeliveryState int8, DeliveryCount int16}.
fn put_state_batches(b: &mut BytesMut, batches: &[StateBatch]) {
    put_compact_array(b, batches, |b, s| {
        b.put_i64(s.first_offset);
        b.put_i64(s.last_offset);
        b.put_i8(s.delivery_state);
        b.put_i16(s.delivery_count);
        put_tagged_fields(b, &[]);
    });
}

fn get_state_batches(b: &mut Bytes) -> Option<Vec<StateBatch>> {
    get_compact_array(b, 8 + 8 + 1 + 2 + 1, |b| {
        let first_offset = b.try_get_i64().ok()?;
        let last_offset = b.try_get_i64().ok()?;
        let delivery_state = b.try_get_i8().ok()?;
        let delivery_count = b.try_get_i16().ok()?;
        skip_tagged_fields(b)?;
        Some(StateBatch { first_offset, last_offset, delivery_state, delivery_count })
    })
}

/// The top-level tagged fields of ShareSnapshot and ShareUpdate: tag 0 DeliveryCompleteCount,
/// written when not -1.
fn put_delivery_complete_count(b: &mut BytesMut, count: i32) {
    let dcc = (count != -1).then(|| (0, Bytes::copy_from_slice(&count.to_be_bytes())));
    put_tagged_fields(b, dcc.as_slice());
}

fn get_delivery_complete_count(b: &mut Bytes) -> Option<i32> {
    let mut count = -1;
    get_tagged_fields(b, |tag, mut v| {
        if tag == 0 {
            count = v.try_get_i32().ok()?;
        }
        Some(())
    })?;
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::flexible::hex;
    use proptest::collection::vec;
    use proptest::option::of;
    use proptest::prelude::*;
    use std::time::{Duration, Instant};

    fn uuid_0_to_15() -> Uuid {
        Uuid::from_bytes([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15])
    }

    const UUID_HEX: &str = "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f";

    #[test]
    fn keys_golden() {
        let cases = [
            (RecordKey::PartitionMetadata { group: "g".into() }, "00 09 | 00 01 67"),
            (RecordKey::MemberMetadata { group: "g".into(), member: "m".into() }, "00 0a | 00 01 67 | 00 01 6d"),
            (RecordKey::GroupMetadata { group: "g".into() }, "00 0b | 00 01 67"),
            (RecordKey::TargetAssignmentMetadata { group: "g".into() }, "00 0c | 00 01 67"),
            (
                RecordKey::TargetAssignmentMember { group: "g".into(), member: "m".into() },
                "00 0d | 00 01 67 | 00 01 6d",
            ),
            (
                RecordKey::CurrentMemberAssignment { group: "g".into(), member: "m".into() },
                "00 0e | 00 01 67 | 00 01 6d",
            ),
            (RecordKey::StatePartitionMetadata { group: "g".into() }, "00 0f | 00 01 67"),
        ];
        for (key, bytes) in cases {
            assert_eq!(key.encode(), hex(bytes), "{key:?}");
            assert_eq!(decode_key(hex(bytes)), Some(key.clone()));
            assert_eq!(key.group(), "g");
        }
        // Classic (2), consumer (3, 8, 16) and streams (17) keys are not ours.
        for other in ["00 02 | 00 01 67", "00 03 | 00 01 67", "00 08 | 00 01 67 | 00 01 6d", "00 10 | 00 01 67 | 00 00"]
        {
            assert_eq!(decode_key(hex(other)), None);
        }
        assert_eq!(decode_key(hex("00 11 | 00 01 67")), None);
    }

    #[test]
    fn state_keys_golden() {
        let key = StateKey { group: "g".into(), topic_id: uuid_0_to_15(), partition: 3 };
        let snapshot = format!("00 00 | 00 01 67 | {UUID_HEX} | 00 00 00 03");
        let update = format!("00 01 | 00 01 67 | {UUID_HEX} | 00 00 00 03");
        assert_eq!(key.encode(StateKind::Snapshot), hex(&snapshot));
        assert_eq!(key.encode(StateKind::Update), hex(&update));
        assert_eq!(decode_state_key(hex(&snapshot)), Some((StateKind::Snapshot, key.clone())));
        assert_eq!(decode_state_key(hex(&update)), Some((StateKind::Update, key)));
        assert_eq!(decode_state_key(hex(&format!("00 02 | 00 01 67 | {UUID_HEX} | 00 00 00 03"))), None);
        assert_eq!(decode_state_key(hex(&format!("00 00 | 00 01 67 | {UUID_HEX} | 00 00 00"))), None, "short");
        assert_eq!(decode_state_key(hex("00 00 | 00 01 67 | 00 01 02")), None, "short uuid");
    }

    #[test]
    fn share_snapshot_value_golden() {
        let mut v = ShareSnapshotValue {
            snapshot_epoch: 1,
            state_epoch: 2,
            leader_epoch: 3,
            start_offset: 10,
            delivery_complete_count: -1,
            create_timestamp: 0x100,
            write_timestamp: 0x200,
            state_batches: vec![StateBatch { first_offset: 10, last_offset: 19, delivery_state: 2, delivery_count: 1 }],
        };
        let body = "00 00 00 01 | 00 00 00 02 | 00 00 00 03 | 00 00 00 00 00 00 00 0a \
                    | 00 00 00 00 00 00 01 00 | 00 00 00 00 00 00 02 00 \
                    | 02 | 00 00 00 00 00 00 00 0a | 00 00 00 00 00 00 00 13 | 02 | 00 01 | 00";
        let bytes = format!("00 00 | {body} | 00");
        assert_eq!(v.encode(), hex(&bytes));
        assert_eq!(ShareSnapshotValue::decode(hex(&bytes)), Some(v.clone()));
        // DeliveryCompleteCount 5: tag 0, size 4, after the batches.
        v.delivery_complete_count = 5;
        let bytes = format!("00 00 | {body} | 01 00 04 00 00 00 05");
        assert_eq!(v.encode(), hex(&bytes));
        assert_eq!(ShareSnapshotValue::decode(hex(&bytes)), Some(v));
        assert_eq!(ShareSnapshotValue::default().delivery_complete_count, -1);
    }

    #[test]
    fn share_update_value_golden() {
        let mut v = ShareUpdateValue {
            snapshot_epoch: 1,
            leader_epoch: 3,
            start_offset: -1,
            delivery_complete_count: -1,
            state_batches: vec![
                StateBatch { first_offset: 20, last_offset: 20, delivery_state: 0, delivery_count: 3 },
                StateBatch { first_offset: 21, last_offset: 22, delivery_state: 4, delivery_count: 5 },
            ],
        };
        let body = "00 00 00 01 | 00 00 00 03 | ff ff ff ff ff ff ff ff \
                    | 03 | 00 00 00 00 00 00 00 14 | 00 00 00 00 00 00 00 14 | 00 | 00 03 | 00 \
                    | 00 00 00 00 00 00 00 15 | 00 00 00 00 00 00 00 16 | 04 | 00 05 | 00";
        let bytes = format!("00 00 | {body} | 00");
        assert_eq!(v.encode(), hex(&bytes));
        assert_eq!(ShareUpdateValue::decode(hex(&bytes)), Some(v.clone()));
        v.delivery_complete_count = 0;
        let bytes = format!("00 00 | {body} | 01 00 04 00 00 00 00");
        assert_eq!(v.encode(), hex(&bytes));
        assert_eq!(ShareUpdateValue::decode(hex(&bytes)), Some(v));
        assert_eq!(ShareUpdateValue::default().start_offset, -1);
    }

    #[test]
    fn group_values_golden() {
        let v = GroupMetadataValue { epoch: 7, metadata_hash: 0x0102_0304_0506_0708 };
        let bytes = "00 00 | 00 00 00 07 | 01 02 03 04 05 06 07 08 | 00";
        assert_eq!(v.encode(), hex(bytes));
        assert_eq!(GroupMetadataValue::decode(hex(bytes)), Some(v));
        // A 4.0 value (Epoch only) is not read.
        assert_eq!(GroupMetadataValue::decode(hex("00 00 | 00 00 00 07 | 00")), None);

        let v = MemberMetadataValue {
            rack_id: None,
            client_id: "c".into(),
            client_host: "/h".into(),
            subscribed_topic_names: vec!["a".into(), "b".into()],
        };
        let bytes = "00 00 | 00 | 02 63 | 03 2f 68 | 03 02 61 02 62 | 00";
        assert_eq!(v.encode(), hex(bytes));
        assert_eq!(MemberMetadataValue::decode(hex(bytes)), Some(v));

        let v = CurrentMemberAssignmentValue {
            member_epoch: 10,
            previous_member_epoch: 9,
            state: 0,
            assigned_partitions: vec![TopicPartitions { topic_id: uuid_0_to_15(), partitions: vec![0, 2] }],
        };
        let bytes =
            format!("00 00 | 00 00 00 0a | 00 00 00 09 | 00 | 02 | {UUID_HEX} | 03 00 00 00 00 00 00 00 02 | 00 | 00");
        assert_eq!(v.encode(), hex(&bytes));
        assert_eq!(CurrentMemberAssignmentValue::decode(hex(&bytes)), Some(v));

        let v = TargetAssignmentMemberValue { topic_partitions: vec![] };
        assert_eq!(v.encode(), hex("00 00 | 01 | 00"));
        let v = TargetAssignmentMetadataValue { assignment_epoch: 3 };
        assert_eq!(v.encode(), hex("00 00 | 00 00 00 03 | 00"));

        let v = StatePartitionMetadataValue {
            initializing_topics: vec![],
            initialized_topics: vec![TopicPartitionsInfo {
                topic_id: uuid_0_to_15(),
                topic_name: "t".into(),
                partitions: vec![1],
            }],
            deleting_topics: vec![TopicInfo { topic_id: Uuid::from_u128(0xff), topic_name: "d".into() }],
        };
        let bytes = format!(
            "00 00 | 01 | 02 {UUID_HEX} 02 74 02 00 00 00 01 00 \
             | 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 ff 02 64 00 | 00"
        );
        assert_eq!(v.encode(), hex(&bytes));
        assert_eq!(StatePartitionMetadataValue::decode(hex(&bytes)), Some(v));
    }

    #[test]
    fn unknown_tagged_fields_are_skipped() {
        // 4.3's AssignmentTimestamp (tag 0).
        let v = "00 00 | 00 00 00 03 | 01 00 08 00 00 00 00 00 00 00 2a";
        assert_eq!(
            TargetAssignmentMetadataValue::decode(hex(v)),
            Some(TargetAssignmentMetadataValue { assignment_epoch: 3 })
        );
        // An unknown tag inside a StateBatch, and an unknown tag 3 after DeliveryCompleteCount.
        let v = "00 00 | 00 00 00 01 | 00 00 00 02 | ff ff ff ff ff ff ff ff \
                 | 02 | 00 00 00 00 00 00 00 01 | 00 00 00 00 00 00 00 01 | 02 | 00 01 | 01 07 01 aa \
                 | 02 | 00 04 00 00 00 09 | 03 02 bb cc";
        let expected = ShareUpdateValue {
            snapshot_epoch: 1,
            leader_epoch: 2,
            start_offset: -1,
            delivery_complete_count: 9,
            state_batches: vec![StateBatch { first_offset: 1, last_offset: 1, delivery_state: 2, delivery_count: 1 }],
        };
        assert_eq!(ShareUpdateValue::decode(hex(v)), Some(expected));
        let v = "00 00 | 00 | 01 | 01 | 01 | 01 05 00";
        assert_eq!(MemberMetadataValue::decode(hex(v)), Some(MemberMetadataValue::default()));
    }

    #[test]
    fn damage_and_other_versions_are_rejected() {
        assert_eq!(TargetAssignmentMetadataValue::decode(hex("00 01 | 00 00 00 07 | 00")), None, "version 1");
        assert_eq!(ShareUpdateValue::decode(hex("00 00 | 00 00 00 01 | 00 00 00 02")), None, "short");
        let short_dcc = "00 00 | 00 00 00 01 | 00 00 00 02 | ff ff ff ff ff ff ff ff | 01 | 01 00 02 00 05";
        assert_eq!(ShareUpdateValue::decode(hex(short_dcc)), None, "short tag 0");
        assert_eq!(TargetAssignmentMemberValue::decode(hex("00 00 | 00 | 00")), None, "null array");
        assert_eq!(MemberMetadataValue::decode(hex("00 00 | 00 | 00 | 01 | 01 | 00")), None, "null client id");
        assert_eq!(decode_key(hex("00 0a | 00 01 67")), None, "no member id");
        assert_eq!(decode_key(hex("00 0b | ff ff")), None, "null group id");
    }

    #[test]
    fn huge_claimed_counts_fail_fast() {
        // uvarint 2^31 + 1: a compact array or string of 2^31, with 10 bytes behind it.
        let huge = "81 80 80 80 08 | 00 00 00 00 00 00 00 00 00 00";
        let start = Instant::now();
        let snapshot_head = "00 00 | 00 00 00 01 00 00 00 02 00 00 00 03 | 00 00 00 00 00 00 00 00 \
                             | 00 00 00 00 00 00 00 00 | 00 00 00 00 00 00 00 00";
        assert_eq!(ShareSnapshotValue::decode(hex(&format!("{snapshot_head} | {huge}"))), None);
        let update_head = "00 00 | 00 00 00 01 00 00 00 02 | 00 00 00 00 00 00 00 00";
        assert_eq!(ShareUpdateValue::decode(hex(&format!("{update_head} | {huge}"))), None);
        assert_eq!(TargetAssignmentMemberValue::decode(hex(&format!("00 00 | {huge}"))), None);
        assert_eq!(StatePartitionMetadataValue::decode(hex(&format!("00 00 | {huge}"))), None);
        assert_eq!(StatePartitionMetadataValue::decode(hex(&format!("00 00 | 01 01 | {huge}"))), None);
        let partitions = format!("00 00 | 02 | {UUID_HEX} | 02 74 | {huge}");
        assert_eq!(StatePartitionMetadataValue::decode(hex(&partitions)), None);
        assert_eq!(MemberMetadataValue::decode(hex(&format!("00 00 | 00 | 01 | 01 | {huge}"))), None);
        // 2^32 - 1 tagged fields claimed.
        assert_eq!(ShareUpdateValue::decode(hex(&format!("{update_head} | 01 | ff ff ff ff 0f {huge}"))), None);
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    fn name() -> impl Strategy<Value = String> {
        ".{0,6}"
    }

    fn uuid() -> impl Strategy<Value = Uuid> {
        any::<u128>().prop_map(Uuid::from_u128)
    }

    fn topic_partitions() -> impl Strategy<Value = Vec<TopicPartitions>> {
        let tp = (uuid(), vec(any::<i32>(), 0..5))
            .prop_map(|(topic_id, partitions)| TopicPartitions { topic_id, partitions });
        vec(tp, 0..4)
    }

    fn topic_partitions_infos() -> impl Strategy<Value = Vec<TopicPartitionsInfo>> {
        let t = (uuid(), name(), vec(any::<i32>(), 0..5))
            .prop_map(|(topic_id, topic_name, partitions)| TopicPartitionsInfo { topic_id, topic_name, partitions });
        vec(t, 0..4)
    }

    fn state_batches() -> impl Strategy<Value = Vec<StateBatch>> {
        let batch =
            any::<(i64, i64, i8, i16)>().prop_map(|(first_offset, last_offset, delivery_state, delivery_count)| {
                StateBatch { first_offset, last_offset, delivery_state, delivery_count }
            });
        vec(batch, 0..5)
    }

    /// -1 (not written) a quarter of the time.
    fn delivery_complete_count() -> impl Strategy<Value = i32> {
        prop_oneof![Just(-1), any::<i32>(), any::<i32>(), any::<i32>()]
    }

    fn key() -> impl Strategy<Value = RecordKey> {
        (0..7, name(), name()).prop_map(|(kind, group, member)| match kind {
            0 => RecordKey::PartitionMetadata { group },
            1 => RecordKey::MemberMetadata { group, member },
            2 => RecordKey::GroupMetadata { group },
            3 => RecordKey::TargetAssignmentMetadata { group },
            4 => RecordKey::TargetAssignmentMember { group, member },
            5 => RecordKey::CurrentMemberAssignment { group, member },
            _ => RecordKey::StatePartitionMetadata { group },
        })
    }

    /// Runs every decoder; a decoded value never holds more items than the input had bytes.
    fn decode_all(b: &Bytes) {
        let n = b.len();
        if let Some(v) = MemberMetadataValue::decode(b.clone()) {
            assert!(v.subscribed_topic_names.len() <= n);
        }
        if let Some(v) = TargetAssignmentMemberValue::decode(b.clone()) {
            assert!(v.topic_partitions.iter().map(|tp| 16 + tp.partitions.len() * 4).sum::<usize>() <= n);
        }
        if let Some(v) = CurrentMemberAssignmentValue::decode(b.clone()) {
            assert!(v.assigned_partitions.iter().map(|tp| 16 + tp.partitions.len() * 4).sum::<usize>() <= n);
        }
        if let Some(v) = StatePartitionMetadataValue::decode(b.clone()) {
            let topics = v.initializing_topics.iter().chain(&v.initialized_topics);
            let size = topics.map(|t| 16 + t.partitions.len() * 4).sum::<usize>() + v.deleting_topics.len() * 16;
            assert!(size <= n);
        }
        if let Some(v) = ShareSnapshotValue::decode(b.clone()) {
            assert!(v.state_batches.len() * 19 <= n);
        }
        if let Some(v) = ShareUpdateValue::decode(b.clone()) {
            assert!(v.state_batches.len() * 19 <= n);
        }
        let _ = GroupMetadataValue::decode(b.clone());
        let _ = TargetAssignmentMetadataValue::decode(b.clone());
        let _ = decode_key(b.clone());
        let _ = decode_state_key(b.clone());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn keys_round_trip(k in key(), group in name(), topic_id in uuid(), partition in any::<i32>()) {
            prop_assert_eq!(decode_key(k.encode()), Some(k));
            let key = StateKey { group, topic_id, partition };
            for kind in [StateKind::Snapshot, StateKind::Update] {
                prop_assert_eq!(decode_state_key(key.encode(kind)), Some((kind, key.clone())));
            }
        }

        #[test]
        fn group_values_round_trip(epochs in any::<(i32, i32)>(), hash in any::<i64>(), state in any::<i8>(),
                                   rack_id in of(name()), client in (name(), name()), topics in vec(name(), 0..4),
                                   target in topic_partitions(), assigned in topic_partitions(),
                                   initializing in topic_partitions_infos(), initialized in topic_partitions_infos(),
                                   deleting in vec((uuid(), name()), 0..4)) {
            let v = GroupMetadataValue { epoch: epochs.0, metadata_hash: hash };
            prop_assert_eq!(GroupMetadataValue::decode(v.encode()), Some(v));
            let v = MemberMetadataValue {
                rack_id,
                client_id: client.0,
                client_host: client.1,
                subscribed_topic_names: topics,
            };
            prop_assert_eq!(MemberMetadataValue::decode(v.encode()), Some(v));
            let v = TargetAssignmentMetadataValue { assignment_epoch: epochs.1 };
            prop_assert_eq!(TargetAssignmentMetadataValue::decode(v.encode()), Some(v));
            let v = TargetAssignmentMemberValue { topic_partitions: target };
            prop_assert_eq!(TargetAssignmentMemberValue::decode(v.encode()), Some(v));
            let v = CurrentMemberAssignmentValue {
                member_epoch: epochs.0,
                previous_member_epoch: epochs.1,
                state,
                assigned_partitions: assigned,
            };
            prop_assert_eq!(CurrentMemberAssignmentValue::decode(v.encode()), Some(v));
            let v = StatePartitionMetadataValue {
                initializing_topics: initializing,
                initialized_topics: initialized,
                deleting_topics: deleting.into_iter().map(|(topic_id, topic_name)| TopicInfo { topic_id, topic_name }).collect(),
            };
            prop_assert_eq!(StatePartitionMetadataValue::decode(v.encode()), Some(v));
        }

        #[test]
        fn state_values_round_trip(epochs in any::<(i32, i32, i32)>(), start_offset in any::<i64>(),
                                   dcc in delivery_complete_count(), timestamps in any::<(i64, i64)>(),
                                   batches in state_batches()) {
            let v = ShareSnapshotValue {
                snapshot_epoch: epochs.0,
                state_epoch: epochs.1,
                leader_epoch: epochs.2,
                start_offset,
                delivery_complete_count: dcc,
                create_timestamp: timestamps.0,
                write_timestamp: timestamps.1,
                state_batches: batches.clone(),
            };
            prop_assert_eq!(ShareSnapshotValue::decode(v.encode()), Some(v));
            let v = ShareUpdateValue {
                snapshot_epoch: epochs.0,
                leader_epoch: epochs.2,
                start_offset,
                delivery_complete_count: dcc,
                state_batches: batches,
            };
            prop_assert_eq!(ShareUpdateValue::decode(v.encode()), Some(v));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512), kind in 0i16..=15) {
            decode_all(&Bytes::from(bytes.clone()));
            // Past the version or the key type, so the structs themselves get arbitrary bytes.
            let mut b = BytesMut::new();
            b.put_i16(0);
            b.put_slice(&bytes);
            decode_all(&b.freeze());
            let mut b = BytesMut::new();
            b.put_i16(kind);
            b.put_slice(&bytes);
            let b = b.freeze();
            let _ = decode_key(b.clone());
            let _ = decode_state_key(b);
        }
    }
}
