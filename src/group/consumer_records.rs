//! The KIP-848 consumer-group records of `__consumer_offsets` (types 3-8 and 16), byte-compatible
//! with Apache Kafka's `ConsumerGroup*Key`/`Value` schemas. A key is `int16 type` + a
//! non-flexible struct (int16-length strings); a value is `int16 version` (always 0) + a flexible
//! struct (compact strings and arrays, a tagged-field section after every struct, fields at their
//! default not written). Type 4 (PartitionMetadata, deprecated in 4.1) has only its key here:
//! Brook never writes its value, it only tombstones it.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use uuid::Uuid;

use super::flexible::{
    get_compact_array, get_compact_bytes, get_compact_opt_str, get_compact_str, get_tagged_fields, get_uvarint,
    put_compact_array, put_compact_bytes, put_compact_opt_str, put_compact_str, put_tagged_fields, put_uvarint,
    skip_tagged_fields, value_codec,
};
use crate::wire::{get_str, put_str};

pub const GROUP_METADATA: i16 = 3;
pub const PARTITION_METADATA: i16 = 4;
pub const MEMBER_METADATA: i16 = 5;
pub const TARGET_ASSIGNMENT_METADATA: i16 = 6;
pub const TARGET_ASSIGNMENT_MEMBER: i16 = 7;
pub const CURRENT_MEMBER_ASSIGNMENT: i16 = 8;
pub const REGULAR_EXPRESSION: i16 = 16;

/// The key of a KIP-848 record: the group, and for some types a member id or a regex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    GroupMetadata { group: String },
    PartitionMetadata { group: String },
    MemberMetadata { group: String, member: String },
    TargetAssignmentMetadata { group: String },
    TargetAssignmentMember { group: String, member: String },
    CurrentMemberAssignment { group: String, member: String },
    RegularExpression { group: String, regex: String },
}

impl RecordKey {
    /// `int16 type`, GroupId, then MemberId or RegularExpression where the type has one.
    pub fn encode(&self) -> Bytes {
        let (kind, group, second) = self.parts();
        let mut b = BytesMut::with_capacity(6 + group.len() + second.map_or(0, str::len));
        b.put_i16(kind);
        put_str(&mut b, group);
        if let Some(second) = second {
            put_str(&mut b, second);
        }
        b.freeze()
    }

    pub fn group(&self) -> &str {
        self.parts().1
    }

    /// The record type, the group, and the member id or regex.
    fn parts(&self) -> (i16, &str, Option<&str>) {
        match self {
            Self::GroupMetadata { group } => (GROUP_METADATA, group, None),
            Self::PartitionMetadata { group } => (PARTITION_METADATA, group, None),
            Self::MemberMetadata { group, member } => (MEMBER_METADATA, group, Some(member)),
            Self::TargetAssignmentMetadata { group } => (TARGET_ASSIGNMENT_METADATA, group, None),
            Self::TargetAssignmentMember { group, member } => (TARGET_ASSIGNMENT_MEMBER, group, Some(member)),
            Self::CurrentMemberAssignment { group, member } => (CURRENT_MEMBER_ASSIGNMENT, group, Some(member)),
            Self::RegularExpression { group, regex } => (REGULAR_EXPRESSION, group, Some(regex)),
        }
    }
}

/// The key of a KIP-848 record (types 3-8, 16); None for other types (0-2 classic, share, streams) or damage.
pub fn decode_key(mut b: Bytes) -> Option<RecordKey> {
    let kind = b.try_get_i16().ok()?;
    if !matches!(kind, GROUP_METADATA..=CURRENT_MEMBER_ASSIGNMENT | REGULAR_EXPRESSION) {
        return None;
    }
    let group = get_str(&mut b)?;
    Some(match kind {
        GROUP_METADATA => RecordKey::GroupMetadata { group },
        PARTITION_METADATA => RecordKey::PartitionMetadata { group },
        TARGET_ASSIGNMENT_METADATA => RecordKey::TargetAssignmentMetadata { group },
        MEMBER_METADATA => RecordKey::MemberMetadata { group, member: get_str(&mut b)? },
        TARGET_ASSIGNMENT_MEMBER => RecordKey::TargetAssignmentMember { group, member: get_str(&mut b)? },
        CURRENT_MEMBER_ASSIGNMENT => RecordKey::CurrentMemberAssignment { group, member: get_str(&mut b)? },
        _ => RecordKey::RegularExpression { group, regex: get_str(&mut b)? },
    })
}

/// Type 3: the group epoch; tag 0 MetadataHash (4.1+, written when not 0).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupMetadataValue {
    pub epoch: i32,
    pub metadata_hash: i64,
}

/// A member that joined with the classic protocol (MemberMetadata's tag 0).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClassicMemberMetadata {
    pub session_timeout_ms: i32,
    /// (protocol name, protocol metadata).
    pub supported_protocols: Vec<(String, Bytes)>,
}

/// Type 5: a member's subscription and client details.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberMetadataValue {
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topic_names: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub rebalance_timeout_ms: i32,
    pub server_assignor: Option<String>,
    pub classic_member_metadata: Option<ClassicMemberMetadata>,
}

/// Type 6: the epoch of the group's target assignment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetAssignmentMetadataValue {
    pub assignment_epoch: i32,
}

/// Partitions of one topic, in the target and current assignments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopicPartitions {
    pub topic_id: Uuid,
    pub partitions: Vec<i32>,
}

/// Type 7: one member's target assignment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TargetAssignmentMemberValue {
    pub topic_partitions: Vec<TopicPartitions>,
}

/// Type 8: one member's current assignment and reconciliation state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CurrentMemberAssignmentValue {
    pub member_epoch: i32,
    pub previous_member_epoch: i32,
    /// 0 STABLE, 1 UNREVOKED_PARTITIONS, 2 UNRELEASED_PARTITIONS, 127 UNKNOWN.
    pub state: i8,
    pub assigned_partitions: Vec<TopicPartitions>,
    pub partitions_pending_revocation: Vec<TopicPartitions>,
}

/// Type 16: the topics a subscribed regex resolved to, and when.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RegularExpressionValue {
    pub topics: Vec<String>,
    pub version: i64,
    pub timestamp: i64,
}

value_codec!(
    GroupMetadataValue,
    MemberMetadataValue,
    TargetAssignmentMetadataValue,
    TargetAssignmentMemberValue,
    CurrentMemberAssignmentValue,
    RegularExpressionValue
);

impl GroupMetadataValue {
    fn write(&self, b: &mut BytesMut) {
        b.put_i32(self.epoch);
        let hash = (self.metadata_hash != 0).then(|| (0, Bytes::copy_from_slice(&self.metadata_hash.to_be_bytes())));
        put_tagged_fields(b, hash.as_slice());
    }

    fn read(b: &mut Bytes) -> Option<Self> {
        let epoch = b.try_get_i32().ok()?;
        let mut metadata_hash = 0;
        get_tagged_fields(b, |tag, mut v| {
            if tag == 0 {
                metadata_hash = v.try_get_i64().ok()?;
            }
            Some(())
        })?;
        Some(Self { epoch, metadata_hash })
    }
}

impl ClassicMemberMetadata {
    /// Tag 0's payload. The field is a nullable struct, so Kafka writes a uvarint 1 (present)
    /// before the struct; it reads 0 as null.
    fn tagged_payload(&self) -> Bytes {
        let mut b = BytesMut::new();
        put_uvarint(&mut b, 1);
        b.put_i32(self.session_timeout_ms);
        put_compact_array(&mut b, &self.supported_protocols, |b, (name, metadata)| {
            put_compact_str(b, name);
            put_compact_bytes(b, metadata);
            put_tagged_fields(b, &[]);
        });
        put_tagged_fields(&mut b, &[]);
        b.freeze()
    }

    fn from_tagged_payload(mut b: Bytes) -> Option<Option<Self>> {
        if get_uvarint(&mut b)? == 0 {
            return Some(None);
        }
        let session_timeout_ms = b.try_get_i32().ok()?;
        let supported_protocols = get_compact_array(&mut b, 3, |b| {
            let name = get_compact_str(b)?;
            let metadata = get_compact_bytes(b)?;
            skip_tagged_fields(b)?;
            Some((name, metadata))
        })?;
        skip_tagged_fields(&mut b)?;
        Some(Some(Self { session_timeout_ms, supported_protocols }))
    }
}

impl MemberMetadataValue {
    fn write(&self, b: &mut BytesMut) {
        put_compact_opt_str(b, self.instance_id.as_deref());
        put_compact_opt_str(b, self.rack_id.as_deref());
        put_compact_str(b, &self.client_id);
        put_compact_str(b, &self.client_host);
        put_compact_array(b, &self.subscribed_topic_names, |b, t| put_compact_str(b, t));
        put_compact_opt_str(b, self.subscribed_topic_regex.as_deref());
        b.put_i32(self.rebalance_timeout_ms);
        put_compact_opt_str(b, self.server_assignor.as_deref());
        let classic = self.classic_member_metadata.as_ref().map(|c| (0, c.tagged_payload()));
        put_tagged_fields(b, classic.as_slice());
    }

    fn read(b: &mut Bytes) -> Option<Self> {
        let instance_id = get_compact_opt_str(b)?;
        let rack_id = get_compact_opt_str(b)?;
        let client_id = get_compact_str(b)?;
        let client_host = get_compact_str(b)?;
        let subscribed_topic_names = get_compact_array(b, 1, get_compact_str)?;
        let subscribed_topic_regex = get_compact_opt_str(b)?;
        let rebalance_timeout_ms = b.try_get_i32().ok()?;
        let server_assignor = get_compact_opt_str(b)?;
        let mut classic_member_metadata = None;
        get_tagged_fields(b, |tag, v| {
            if tag == 0 {
                classic_member_metadata = ClassicMemberMetadata::from_tagged_payload(v)?;
            }
            Some(())
        })?;
        Some(Self {
            instance_id,
            rack_id,
            client_id,
            client_host,
            subscribed_topic_names,
            subscribed_topic_regex,
            rebalance_timeout_ms,
            server_assignor,
            classic_member_metadata,
        })
    }
}

impl TargetAssignmentMetadataValue {
    fn write(&self, b: &mut BytesMut) {
        b.put_i32(self.assignment_epoch);
        put_tagged_fields(b, &[]);
    }

    fn read(b: &mut Bytes) -> Option<Self> {
        let assignment_epoch = b.try_get_i32().ok()?;
        skip_tagged_fields(b)?;
        Some(Self { assignment_epoch })
    }
}

impl TargetAssignmentMemberValue {
    fn write(&self, b: &mut BytesMut) {
        put_topic_partitions(b, &self.topic_partitions);
        put_tagged_fields(b, &[]);
    }

    fn read(b: &mut Bytes) -> Option<Self> {
        let topic_partitions = get_topic_partitions(b)?;
        skip_tagged_fields(b)?;
        Some(Self { topic_partitions })
    }
}

impl CurrentMemberAssignmentValue {
    fn write(&self, b: &mut BytesMut) {
        b.put_i32(self.member_epoch);
        b.put_i32(self.previous_member_epoch);
        b.put_i8(self.state);
        put_topic_partitions(b, &self.assigned_partitions);
        put_topic_partitions(b, &self.partitions_pending_revocation);
        put_tagged_fields(b, &[]);
    }

    fn read(b: &mut Bytes) -> Option<Self> {
        let member_epoch = b.try_get_i32().ok()?;
        let previous_member_epoch = b.try_get_i32().ok()?;
        let state = b.try_get_i8().ok()?;
        let assigned_partitions = get_topic_partitions(b)?;
        let partitions_pending_revocation = get_topic_partitions(b)?;
        skip_tagged_fields(b)?;
        Some(Self { member_epoch, previous_member_epoch, state, assigned_partitions, partitions_pending_revocation })
    }
}

impl RegularExpressionValue {
    fn write(&self, b: &mut BytesMut) {
        put_compact_array(b, &self.topics, |b, t| put_compact_str(b, t));
        b.put_i64(self.version);
        b.put_i64(self.timestamp);
        put_tagged_fields(b, &[]);
    }

    fn read(b: &mut Bytes) -> Option<Self> {
        let topics = get_compact_array(b, 1, get_compact_str)?;
        let version = b.try_get_i64().ok()?;
        let timestamp = b.try_get_i64().ok()?;
        skip_tagged_fields(b)?;
        Some(Self { topics, version, timestamp })
    }
}

/// `[]TopicPartitions` of the target and current assignments: {TopicId uuid, Partitions []int32}.
/// The share-group records (types 13 and 14) have the same layout.
pub(crate) fn put_topic_partitions(b: &mut BytesMut, tps: &[TopicPartitions]) {
    put_compact_array(b, tps, |b, tp| {
        b.put_slice(tp.topic_id.as_bytes());
        put_compact_array(b, &tp.partitions, |b, p| b.put_i32(*p));
        put_tagged_fields(b, &[]);
    });
}

/// Reads `[]TopicPartitions`, skipping their tagged fields (trunk's AssignmentEpochs is tag 0).
pub(crate) fn get_topic_partitions(b: &mut Bytes) -> Option<Vec<TopicPartitions>> {
    get_compact_array(b, 16 + 1 + 1, |b| {
        let mut id = [0; 16];
        b.try_copy_to_slice(&mut id).ok()?;
        let partitions = get_compact_array(b, 4, |b| b.try_get_i32().ok())?;
        skip_tagged_fields(b)?;
        Some(TopicPartitions { topic_id: Uuid::from_bytes(id), partitions })
    })
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

    #[test]
    fn keys_golden() {
        let cases = [
            (RecordKey::GroupMetadata { group: "g".into() }, "00 03 | 00 01 67"),
            (RecordKey::PartitionMetadata { group: "g".into() }, "00 04 | 00 01 67"),
            (RecordKey::MemberMetadata { group: "g".into(), member: "m".into() }, "00 05 | 00 01 67 | 00 01 6d"),
            (RecordKey::TargetAssignmentMetadata { group: "g".into() }, "00 06 | 00 01 67"),
            (
                RecordKey::TargetAssignmentMember { group: "g".into(), member: "m".into() },
                "00 07 | 00 01 67 | 00 01 6d",
            ),
            (
                RecordKey::CurrentMemberAssignment { group: "g".into(), member: "m".into() },
                "00 08 | 00 01 67 | 00 01 6d",
            ),
            (
                RecordKey::RegularExpression { group: "g".into(), regex: "t.*".into() },
                "00 10 | 00 01 67 | 00 03 74 2e 2a",
            ),
        ];
        for (key, bytes) in cases {
            assert_eq!(key.encode(), hex(bytes), "{key:?}");
            assert_eq!(decode_key(hex(bytes)), Some(key.clone()));
            assert_eq!(key.group(), "g");
        }
        // Classic offset (1), classic group (2), share (9) and streams (17) keys are not ours.
        for other in
            ["00 01 | 00 01 67 | 00 01 74 | 00 00 00 00", "00 02 | 00 01 67", "00 09 | 00 01 67", "00 11 | 00 01 67"]
        {
            assert_eq!(decode_key(hex(other)), None);
        }
    }

    #[test]
    fn group_metadata_value_golden() {
        let plain = GroupMetadataValue { epoch: 7, metadata_hash: 0 };
        let hashed = GroupMetadataValue { epoch: 7, metadata_hash: 0x0102_0304_0506_0708 };
        for (v, bytes) in [
            (plain, "00 00 | 00 00 00 07 | 00"),
            (hashed, "00 00 | 00 00 00 07 | 01 00 08 01 02 03 04 05 06 07 08"),
            (
                GroupMetadataValue { epoch: -1, metadata_hash: -1 },
                "00 00 | ff ff ff ff | 01 00 08 ff ff ff ff ff ff ff ff",
            ),
        ] {
            assert_eq!(v.encode(), hex(bytes));
            assert_eq!(GroupMetadataValue::decode(hex(bytes)), Some(v));
        }
    }

    #[test]
    fn member_metadata_value_golden() {
        let mut v = MemberMetadataValue {
            instance_id: None,
            rack_id: Some("r".into()),
            client_id: "c".into(),
            client_host: "/h".into(),
            subscribed_topic_names: vec!["a".into(), "b".into()],
            subscribed_topic_regex: None,
            rebalance_timeout_ms: 300_000,
            server_assignor: Some("uniform".into()),
            classic_member_metadata: None,
        };
        let bytes = "00 00 | 00 | 02 72 | 02 63 | 03 2f 68 | 03 02 61 02 62 | 00 | 00 04 93 e0 \
                     | 08 75 6e 69 66 6f 72 6d | 00";
        assert_eq!(v.encode(), hex(bytes));
        assert_eq!(MemberMetadataValue::decode(hex(bytes)), Some(v.clone()));

        // Tag 0, size 17: presence 1, SessionTimeoutMs 45000, [("range", [1, 2])] each with its
        // (empty) tags, the struct's (empty) tags.
        v.classic_member_metadata = Some(ClassicMemberMetadata {
            session_timeout_ms: 45_000,
            supported_protocols: vec![("range".into(), Bytes::from_static(&[1, 2]))],
        });
        let bytes = "00 00 | 00 | 02 72 | 02 63 | 03 2f 68 | 03 02 61 02 62 | 00 | 00 04 93 e0 \
                     | 08 75 6e 69 66 6f 72 6d \
                     | 01 00 11 | 01 | 00 00 af c8 | 02 06 72 61 6e 67 65 03 01 02 00 | 00";
        assert_eq!(v.encode(), hex(bytes));
        assert_eq!(MemberMetadataValue::decode(hex(bytes)), Some(v.clone()));

        // A null ClassicMemberMetadata written as present-but-null (uvarint 0) reads as None.
        let null_classic = "00 00 | 00 | 02 72 | 02 63 | 03 2f 68 | 03 02 61 02 62 | 00 | 00 04 93 e0 \
                            | 08 75 6e 69 66 6f 72 6d | 01 00 01 00";
        v.classic_member_metadata = None;
        assert_eq!(MemberMetadataValue::decode(hex(null_classic)), Some(v));
    }

    #[test]
    fn assignment_values_golden() {
        let v = CurrentMemberAssignmentValue {
            member_epoch: 10,
            previous_member_epoch: 9,
            state: 1,
            assigned_partitions: vec![TopicPartitions { topic_id: uuid_0_to_15(), partitions: vec![0, 2] }],
            partitions_pending_revocation: vec![TopicPartitions {
                topic_id: Uuid::from_u128(0xff),
                partitions: vec![1],
            }],
        };
        let bytes = "00 00 | 00 00 00 0a | 00 00 00 09 | 01 \
                     | 02 | 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f | 03 00 00 00 00 00 00 00 02 | 00 \
                     | 02 | 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 ff | 02 00 00 00 01 | 00 \
                     | 00";
        assert_eq!(v.encode(), hex(bytes));
        assert_eq!(CurrentMemberAssignmentValue::decode(hex(bytes)), Some(v));

        let v = TargetAssignmentMemberValue { topic_partitions: vec![] };
        assert_eq!(v.encode(), hex("00 00 | 01 | 00"));
        let v = TargetAssignmentMetadataValue { assignment_epoch: 3 };
        assert_eq!(v.encode(), hex("00 00 | 00 00 00 03 | 00"));
        let v = RegularExpressionValue { topics: vec!["a".into()], version: 3, timestamp: 5 };
        assert_eq!(v.encode(), hex("00 00 | 02 02 61 | 00 00 00 00 00 00 00 03 | 00 00 00 00 00 00 00 05 | 00"));
    }

    #[test]
    fn unknown_tagged_fields_are_skipped() {
        // Trunk's CreationTimeMs (tag 1) and an unknown tag 7 after MetadataHash.
        let v =
            "00 00 | 00 00 00 07 | 03 | 00 08 00 00 00 00 00 00 00 09 | 01 08 00 00 00 00 00 00 00 01 | 07 02 aa bb";
        assert_eq!(GroupMetadataValue::decode(hex(v)), Some(GroupMetadataValue { epoch: 7, metadata_hash: 9 }));
        // 4.3's AssignmentTimestamp (tag 0).
        let v = "00 00 | 00 00 00 03 | 01 00 08 00 00 00 00 00 00 00 2a";
        assert_eq!(
            TargetAssignmentMetadataValue::decode(hex(v)),
            Some(TargetAssignmentMetadataValue { assignment_epoch: 3 })
        );
        // Trunk's AssignmentEpochs (tag 0 of TopicPartitions) and an unknown top-level tag.
        let v = "00 00 | 00 00 00 0a | 00 00 00 09 | 00 \
                 | 02 | 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f | 02 00 00 00 04 | 01 00 05 02 00 00 00 0a \
                 | 01 | 01 05 01 ff";
        let expected = CurrentMemberAssignmentValue {
            member_epoch: 10,
            previous_member_epoch: 9,
            state: 0,
            assigned_partitions: vec![TopicPartitions { topic_id: uuid_0_to_15(), partitions: vec![4] }],
            partitions_pending_revocation: vec![],
        };
        assert_eq!(CurrentMemberAssignmentValue::decode(hex(v)), Some(expected));
        // Unknown tags inside ClassicMemberMetadata, inside a protocol, and at the top level.
        let v = "00 00 | 00 | 00 | 01 | 01 | 01 | 00 | ff ff ff ff | 00 \
                 | 02 | 00 0e | 01 | 00 00 00 01 | 02 01 01 01 03 00 | 01 04 00 | 05 01 00";
        let expected = MemberMetadataValue {
            client_id: String::new(),
            client_host: String::new(),
            rebalance_timeout_ms: -1,
            classic_member_metadata: Some(ClassicMemberMetadata {
                session_timeout_ms: 1,
                supported_protocols: vec![(String::new(), Bytes::new())],
            }),
            ..Default::default()
        };
        assert_eq!(MemberMetadataValue::decode(hex(v)), Some(expected));
        let v = "00 00 | 02 02 61 | 00 00 00 00 00 00 00 01 | 00 00 00 00 00 00 00 02 | 01 09 00";
        let expected = RegularExpressionValue { topics: vec!["a".into()], version: 1, timestamp: 2 };
        assert_eq!(RegularExpressionValue::decode(hex(v)), Some(expected));
    }

    #[test]
    fn damage_and_other_versions_are_rejected() {
        assert_eq!(GroupMetadataValue::decode(hex("00 01 | 00 00 00 07 | 00")), None, "version 1");
        assert_eq!(GroupMetadataValue::decode(hex("00 00 | 00 00 00")), None, "short epoch");
        assert_eq!(GroupMetadataValue::decode(hex("00 00 | 00 00 00 07 | 01 00 04 00 00 00 01")), None, "short hash");
        assert_eq!(TargetAssignmentMemberValue::decode(hex("00 00 | 00 | 00")), None, "null array");
        assert_eq!(RegularExpressionValue::decode(hex("00 00 | 02 00 | 00")), None, "null topic");
        assert_eq!(decode_key(hex("00 05 | 00 01 67")), None, "no member id");
        assert_eq!(decode_key(hex("00 03 | ff ff")), None, "null group id");
        // Trailing bytes are accepted.
        let mut b = BytesMut::from(&GroupMetadataValue { epoch: 1, metadata_hash: 2 }.encode()[..]);
        b.put_slice(b"junk");
        assert_eq!(GroupMetadataValue::decode(b.freeze()), Some(GroupMetadataValue { epoch: 1, metadata_hash: 2 }));
    }

    #[test]
    fn huge_claimed_counts_fail_fast() {
        // uvarint 2^31 + 1: a compact array or string of 2^31, with 10 bytes behind it.
        let huge = "81 80 80 80 08 | 00 00 00 00 00 00 00 00 00 00";
        let start = Instant::now();
        assert_eq!(TargetAssignmentMemberValue::decode(hex(&format!("00 00 | {huge}"))), None);
        assert_eq!(RegularExpressionValue::decode(hex(&format!("00 00 | {huge}"))), None);
        assert_eq!(MemberMetadataValue::decode(hex(&format!("00 00 | {huge}"))), None);
        assert_eq!(MemberMetadataValue::decode(hex(&format!("00 00 | 00 00 01 01 | {huge}"))), None);
        let partitions = format!("00 00 | 02 | 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f | {huge}");
        assert_eq!(TargetAssignmentMemberValue::decode(hex(&partitions)), None);
        // 2^32 - 1 tagged fields claimed.
        assert_eq!(GroupMetadataValue::decode(hex(&format!("00 00 | 00 00 00 01 | ff ff ff ff 0f {huge}"))), None);
        // A protocol array inside ClassicMemberMetadata.
        let classic = format!("00 00 | 00 00 01 01 01 00 | 00 00 00 00 | 00 | 01 00 10 | 01 00 00 00 00 {huge}");
        assert_eq!(MemberMetadataValue::decode(hex(&classic)), None);
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    fn name() -> impl Strategy<Value = String> {
        ".{0,6}"
    }

    fn topic_partitions() -> impl Strategy<Value = Vec<TopicPartitions>> {
        let tp = (any::<u128>(), vec(any::<i32>(), 0..5))
            .prop_map(|(id, partitions)| TopicPartitions { topic_id: Uuid::from_u128(id), partitions });
        vec(tp, 0..4)
    }

    fn classic() -> impl Strategy<Value = ClassicMemberMetadata> {
        let protocol = (name(), vec(any::<u8>(), 0..8)).prop_map(|(n, m)| (n, Bytes::from(m)));
        (any::<i32>(), vec(protocol, 0..3)).prop_map(|(session_timeout_ms, supported_protocols)| {
            ClassicMemberMetadata { session_timeout_ms, supported_protocols }
        })
    }

    fn member_metadata() -> impl Strategy<Value = MemberMetadataValue> {
        (of(name()), of(name()), name(), name(), vec(name(), 0..4), of(name()), any::<i32>(), of(name()), of(classic()))
            .prop_map(|(instance_id, rack_id, client_id, client_host, topics, regex, rebalance, assignor, classic)| {
                MemberMetadataValue {
                    instance_id,
                    rack_id,
                    client_id,
                    client_host,
                    subscribed_topic_names: topics,
                    subscribed_topic_regex: regex,
                    rebalance_timeout_ms: rebalance,
                    server_assignor: assignor,
                    classic_member_metadata: classic,
                }
            })
    }

    fn key() -> impl Strategy<Value = RecordKey> {
        (0..7, name(), name()).prop_map(|(kind, group, second)| match kind {
            0 => RecordKey::GroupMetadata { group },
            1 => RecordKey::PartitionMetadata { group },
            2 => RecordKey::MemberMetadata { group, member: second },
            3 => RecordKey::TargetAssignmentMetadata { group },
            4 => RecordKey::TargetAssignmentMember { group, member: second },
            5 => RecordKey::CurrentMemberAssignment { group, member: second },
            _ => RecordKey::RegularExpression { group, regex: second },
        })
    }

    /// Runs every decoder; a decoded value never holds more items than the input had bytes.
    fn decode_all(b: &Bytes) {
        let n = b.len();
        if let Some(v) = MemberMetadataValue::decode(b.clone()) {
            let protocols = v.classic_member_metadata.map_or(0, |c| c.supported_protocols.len());
            assert!(v.subscribed_topic_names.len() + protocols <= n);
        }
        if let Some(v) = TargetAssignmentMemberValue::decode(b.clone()) {
            assert!(v.topic_partitions.iter().map(|tp| 16 + tp.partitions.len() * 4).sum::<usize>() <= n);
        }
        if let Some(v) = CurrentMemberAssignmentValue::decode(b.clone()) {
            let all = v.assigned_partitions.iter().chain(&v.partitions_pending_revocation);
            assert!(all.map(|tp| 16 + tp.partitions.len() * 4).sum::<usize>() <= n);
        }
        if let Some(v) = RegularExpressionValue::decode(b.clone()) {
            assert!(v.topics.len() <= n);
        }
        let _ = GroupMetadataValue::decode(b.clone());
        let _ = TargetAssignmentMetadataValue::decode(b.clone());
        let _ = decode_key(b.clone());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn keys_round_trip(k in key()) {
            prop_assert_eq!(decode_key(k.encode()), Some(k));
        }

        #[test]
        fn values_round_trip(epoch in any::<i32>(), hash in any::<i64>(), member in member_metadata(),
                             target in topic_partitions(), assigned in topic_partitions(),
                             pending in topic_partitions(), state in any::<i8>(), epochs in any::<(i32, i32)>(),
                             topics in vec(name(), 0..4), version in any::<i64>(), timestamp in any::<i64>()) {
            let v = GroupMetadataValue { epoch, metadata_hash: hash };
            prop_assert_eq!(GroupMetadataValue::decode(v.encode()), Some(v));
            prop_assert_eq!(MemberMetadataValue::decode(member.encode()), Some(member));
            let v = TargetAssignmentMetadataValue { assignment_epoch: epoch };
            prop_assert_eq!(TargetAssignmentMetadataValue::decode(v.encode()), Some(v));
            let v = TargetAssignmentMemberValue { topic_partitions: target };
            prop_assert_eq!(TargetAssignmentMemberValue::decode(v.encode()), Some(v));
            let v = CurrentMemberAssignmentValue {
                member_epoch: epochs.0,
                previous_member_epoch: epochs.1,
                state,
                assigned_partitions: assigned,
                partitions_pending_revocation: pending,
            };
            prop_assert_eq!(CurrentMemberAssignmentValue::decode(v.encode()), Some(v));
            let v = RegularExpressionValue { topics, version, timestamp };
            prop_assert_eq!(RegularExpressionValue::decode(v.encode()), Some(v));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512), kind in prop_oneof![3i16..=8, Just(16)]) {
            decode_all(&Bytes::from(bytes.clone()));
            // Past the version or the key type, so the structs themselves get arbitrary bytes.
            let mut b = BytesMut::new();
            b.put_i16(0);
            b.put_slice(&bytes);
            decode_all(&b.freeze());
            let mut b = BytesMut::new();
            b.put_i16(kind);
            b.put_slice(&bytes);
            let _ = decode_key(b.freeze());
        }
    }
}
