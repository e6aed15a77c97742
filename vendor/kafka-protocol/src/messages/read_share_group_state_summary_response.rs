//! ReadShareGroupStateSummaryResponse
//!
//! See the schema for this message [here](https://github.com/apache/kafka/blob/trunk/clients/src/main/resources/common/message/ReadShareGroupStateSummaryResponse.json).
// WARNING: the items of this module are generated and should not be edited directly
// Brook patch: regenerated for Kafka 4.2's ReadShareGroupStateSummaryResponse.json: valid versions 0-1; v1 adds the partition's DeliveryCompleteCount (int32, default -1, ignorable; KIP-1226). Each changed line below is marked "Brook patch: Kafka 4.2 schema."
#![allow(unused)]

use std::borrow::Borrow;
use std::collections::BTreeMap;

use anyhow::{bail, Result};
use bytes::Bytes;
use uuid::Uuid;

use crate::protocol::{
    buf::{ByteBuf, ByteBufMut},
    compute_unknown_tagged_fields_size, types, write_unknown_tagged_fields, Decodable, Decoder,
    Encodable, Encoder, HeaderVersion, Message, StrBytes, VersionRange,
};

// Brook patch: Kafka 4.2 schema.
/// Valid versions: 0-1
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionResult {
    /// The partition index.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub partition: i32,

    /// The error code, or 0 if there was no error.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub error_code: i16,

    /// The error message, or null if there was no error.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub error_message: Option<StrBytes>,

    /// The state epoch of the share-partition.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub state_epoch: i32,

    /// The leader epoch of the share-partition.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub leader_epoch: i32,

    /// The share-partition start offset.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub start_offset: i64,

    // Brook patch: Kafka 4.2 schema.
    /// The number of offsets greater than or equal to share-partition start offset for which delivery has been completed.
    ///
    /// Supported API versions: 1
    pub delivery_complete_count: i32,

    /// Other tagged fields
    pub unknown_tagged_fields: BTreeMap<i32, Bytes>,
}

impl PartitionResult {
    /// Sets `partition` to the passed value.
    ///
    /// The partition index.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_partition(mut self, value: i32) -> Self {
        self.partition = value;
        self
    }
    /// Sets `error_code` to the passed value.
    ///
    /// The error code, or 0 if there was no error.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_error_code(mut self, value: i16) -> Self {
        self.error_code = value;
        self
    }
    /// Sets `error_message` to the passed value.
    ///
    /// The error message, or null if there was no error.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_error_message(mut self, value: Option<StrBytes>) -> Self {
        self.error_message = value;
        self
    }
    /// Sets `state_epoch` to the passed value.
    ///
    /// The state epoch of the share-partition.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_state_epoch(mut self, value: i32) -> Self {
        self.state_epoch = value;
        self
    }
    /// Sets `leader_epoch` to the passed value.
    ///
    /// The leader epoch of the share-partition.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_leader_epoch(mut self, value: i32) -> Self {
        self.leader_epoch = value;
        self
    }
    /// Sets `start_offset` to the passed value.
    ///
    /// The share-partition start offset.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_start_offset(mut self, value: i64) -> Self {
        self.start_offset = value;
        // Brook patch: Kafka 4.2 schema.
        self
    }
    /// Sets `delivery_complete_count` to the passed value.
    ///
    /// The number of offsets greater than or equal to share-partition start offset for which delivery has been completed.
    ///
    /// Supported API versions: 1
    pub fn with_delivery_complete_count(mut self, value: i32) -> Self {
        self.delivery_complete_count = value;
        self
    }
    /// Sets unknown_tagged_fields to the passed value.
    pub fn with_unknown_tagged_fields(mut self, value: BTreeMap<i32, Bytes>) -> Self {
        self.unknown_tagged_fields = value;
        self
    }
    /// Inserts an entry into unknown_tagged_fields.
    pub fn with_unknown_tagged_field(mut self, key: i32, value: Bytes) -> Self {
        self.unknown_tagged_fields.insert(key, value);
        self
    }
}

#[cfg(feature = "broker")]
impl Encodable for PartitionResult {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, version: i16) -> Result<()> {
        // Brook patch: Kafka 4.2 schema.
        if version < 0 || version > 1 {
            bail!("specified version not supported by this message type");
        }
        types::Int32.encode(buf, &self.partition)?;
        types::Int16.encode(buf, &self.error_code)?;
        types::CompactString.encode(buf, &self.error_message)?;
        types::Int32.encode(buf, &self.state_epoch)?;
        types::Int32.encode(buf, &self.leader_epoch)?;
        types::Int64.encode(buf, &self.start_offset)?;
        // Brook patch: Kafka 4.2 schema.
        if version >= 1 {
            types::Int32.encode(buf, &self.delivery_complete_count)?;
        }
        let num_tagged_fields = self.unknown_tagged_fields.len();
        if num_tagged_fields > std::u32::MAX as usize {
            bail!(
                "Too many tagged fields to encode ({} fields)",
                num_tagged_fields
            );
        }
        types::UnsignedVarInt.encode(buf, num_tagged_fields as u32)?;

        write_unknown_tagged_fields(buf, 0.., &self.unknown_tagged_fields)?;
        Ok(())
    }
    fn compute_size(&self, version: i16) -> Result<usize> {
        let mut total_size = 0;
        total_size += types::Int32.compute_size(&self.partition)?;
        total_size += types::Int16.compute_size(&self.error_code)?;
        total_size += types::CompactString.compute_size(&self.error_message)?;
        total_size += types::Int32.compute_size(&self.state_epoch)?;
        total_size += types::Int32.compute_size(&self.leader_epoch)?;
        total_size += types::Int64.compute_size(&self.start_offset)?;
        // Brook patch: Kafka 4.2 schema.
        if version >= 1 {
            total_size += types::Int32.compute_size(&self.delivery_complete_count)?;
        }
        let num_tagged_fields = self.unknown_tagged_fields.len();
        if num_tagged_fields > std::u32::MAX as usize {
            bail!(
                "Too many tagged fields to encode ({} fields)",
                num_tagged_fields
            );
        }
        total_size += types::UnsignedVarInt.compute_size(num_tagged_fields as u32)?;

        total_size += compute_unknown_tagged_fields_size(&self.unknown_tagged_fields)?;
        Ok(total_size)
    }
}

#[cfg(feature = "client")]
impl Decodable for PartitionResult {
    fn decode<B: ByteBuf>(buf: &mut B, version: i16) -> Result<Self> {
        // Brook patch: Kafka 4.2 schema.
        if version < 0 || version > 1 {
            bail!("specified version not supported by this message type");
        }
        let partition = types::Int32.decode(buf)?;
        let error_code = types::Int16.decode(buf)?;
        let error_message = types::CompactString.decode(buf)?;
        let state_epoch = types::Int32.decode(buf)?;
        let leader_epoch = types::Int32.decode(buf)?;
        let start_offset = types::Int64.decode(buf)?;
        // Brook patch: Kafka 4.2 schema.
        let delivery_complete_count = if version >= 1 {
            types::Int32.decode(buf)?
        } else {
            -1
        };
        let mut unknown_tagged_fields = BTreeMap::new();
        let num_tagged_fields = types::UnsignedVarInt.decode(buf)?;
        for _ in 0..num_tagged_fields {
            let tag: u32 = types::UnsignedVarInt.decode(buf)?;
            let size: u32 = types::UnsignedVarInt.decode(buf)?;
            let unknown_value = buf.try_get_bytes(size as usize)?;
            unknown_tagged_fields.insert(tag as i32, unknown_value);
        }
        Ok(Self {
            partition,
            error_code,
            error_message,
            state_epoch,
            leader_epoch,
            start_offset,
            // Brook patch: Kafka 4.2 schema.
            delivery_complete_count,
            unknown_tagged_fields,
        })
    }
}

impl Default for PartitionResult {
    fn default() -> Self {
        Self {
            partition: 0,
            error_code: 0,
            error_message: None,
            state_epoch: 0,
            leader_epoch: 0,
            start_offset: 0,
            // Brook patch: Kafka 4.2 schema.
            delivery_complete_count: -1,
            unknown_tagged_fields: BTreeMap::new(),
        }
    }
}

impl Message for PartitionResult {
    // Brook patch: Kafka 4.2 schema.
    const VERSIONS: VersionRange = VersionRange { min: 0, max: 1 };
    const DEPRECATED_VERSIONS: Option<VersionRange> = None;
}

// Brook patch: Kafka 4.2 schema.
/// Valid versions: 0-1
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct ReadShareGroupStateSummaryResponse {
    /// The read results.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub results: Vec<ReadStateSummaryResult>,

    /// Other tagged fields
    pub unknown_tagged_fields: BTreeMap<i32, Bytes>,
}

impl ReadShareGroupStateSummaryResponse {
    /// Sets `results` to the passed value.
    ///
    /// The read results.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_results(mut self, value: Vec<ReadStateSummaryResult>) -> Self {
        self.results = value;
        self
    }
    /// Sets unknown_tagged_fields to the passed value.
    pub fn with_unknown_tagged_fields(mut self, value: BTreeMap<i32, Bytes>) -> Self {
        self.unknown_tagged_fields = value;
        self
    }
    /// Inserts an entry into unknown_tagged_fields.
    pub fn with_unknown_tagged_field(mut self, key: i32, value: Bytes) -> Self {
        self.unknown_tagged_fields.insert(key, value);
        self
    }
}

#[cfg(feature = "broker")]
impl Encodable for ReadShareGroupStateSummaryResponse {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, version: i16) -> Result<()> {
        // Brook patch: Kafka 4.2 schema.
        if version < 0 || version > 1 {
            bail!("specified version not supported by this message type");
        }
        types::CompactArray(types::Struct { version }).encode(buf, &self.results)?;
        let num_tagged_fields = self.unknown_tagged_fields.len();
        if num_tagged_fields > std::u32::MAX as usize {
            bail!(
                "Too many tagged fields to encode ({} fields)",
                num_tagged_fields
            );
        }
        types::UnsignedVarInt.encode(buf, num_tagged_fields as u32)?;

        write_unknown_tagged_fields(buf, 0.., &self.unknown_tagged_fields)?;
        Ok(())
    }
    fn compute_size(&self, version: i16) -> Result<usize> {
        let mut total_size = 0;
        total_size += types::CompactArray(types::Struct { version }).compute_size(&self.results)?;
        let num_tagged_fields = self.unknown_tagged_fields.len();
        if num_tagged_fields > std::u32::MAX as usize {
            bail!(
                "Too many tagged fields to encode ({} fields)",
                num_tagged_fields
            );
        }
        total_size += types::UnsignedVarInt.compute_size(num_tagged_fields as u32)?;

        total_size += compute_unknown_tagged_fields_size(&self.unknown_tagged_fields)?;
        Ok(total_size)
    }
}

#[cfg(feature = "client")]
impl Decodable for ReadShareGroupStateSummaryResponse {
    fn decode<B: ByteBuf>(buf: &mut B, version: i16) -> Result<Self> {
        // Brook patch: Kafka 4.2 schema.
        if version < 0 || version > 1 {
            bail!("specified version not supported by this message type");
        }
        let results = types::CompactArray(types::Struct { version }).decode(buf)?;
        let mut unknown_tagged_fields = BTreeMap::new();
        let num_tagged_fields = types::UnsignedVarInt.decode(buf)?;
        for _ in 0..num_tagged_fields {
            let tag: u32 = types::UnsignedVarInt.decode(buf)?;
            let size: u32 = types::UnsignedVarInt.decode(buf)?;
            let unknown_value = buf.try_get_bytes(size as usize)?;
            unknown_tagged_fields.insert(tag as i32, unknown_value);
        }
        Ok(Self {
            results,
            unknown_tagged_fields,
        })
    }
}

impl Default for ReadShareGroupStateSummaryResponse {
    fn default() -> Self {
        Self {
            results: Default::default(),
            unknown_tagged_fields: BTreeMap::new(),
        }
    }
}

impl Message for ReadShareGroupStateSummaryResponse {
    // Brook patch: Kafka 4.2 schema.
    const VERSIONS: VersionRange = VersionRange { min: 0, max: 1 };
    const DEPRECATED_VERSIONS: Option<VersionRange> = None;
}

// Brook patch: Kafka 4.2 schema.
/// Valid versions: 0-1
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct ReadStateSummaryResult {
    /// The topic identifier.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub topic_id: Uuid,

    /// The results for the partitions.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub partitions: Vec<PartitionResult>,

    /// Other tagged fields
    pub unknown_tagged_fields: BTreeMap<i32, Bytes>,
}

impl ReadStateSummaryResult {
    /// Sets `topic_id` to the passed value.
    ///
    /// The topic identifier.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_topic_id(mut self, value: Uuid) -> Self {
        self.topic_id = value;
        self
    }
    /// Sets `partitions` to the passed value.
    ///
    /// The results for the partitions.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_partitions(mut self, value: Vec<PartitionResult>) -> Self {
        self.partitions = value;
        self
    }
    /// Sets unknown_tagged_fields to the passed value.
    pub fn with_unknown_tagged_fields(mut self, value: BTreeMap<i32, Bytes>) -> Self {
        self.unknown_tagged_fields = value;
        self
    }
    /// Inserts an entry into unknown_tagged_fields.
    pub fn with_unknown_tagged_field(mut self, key: i32, value: Bytes) -> Self {
        self.unknown_tagged_fields.insert(key, value);
        self
    }
}

#[cfg(feature = "broker")]
impl Encodable for ReadStateSummaryResult {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, version: i16) -> Result<()> {
        // Brook patch: Kafka 4.2 schema.
        if version < 0 || version > 1 {
            bail!("specified version not supported by this message type");
        }
        types::Uuid.encode(buf, &self.topic_id)?;
        types::CompactArray(types::Struct { version }).encode(buf, &self.partitions)?;
        let num_tagged_fields = self.unknown_tagged_fields.len();
        if num_tagged_fields > std::u32::MAX as usize {
            bail!(
                "Too many tagged fields to encode ({} fields)",
                num_tagged_fields
            );
        }
        types::UnsignedVarInt.encode(buf, num_tagged_fields as u32)?;

        write_unknown_tagged_fields(buf, 0.., &self.unknown_tagged_fields)?;
        Ok(())
    }
    fn compute_size(&self, version: i16) -> Result<usize> {
        let mut total_size = 0;
        total_size += types::Uuid.compute_size(&self.topic_id)?;
        total_size +=
            types::CompactArray(types::Struct { version }).compute_size(&self.partitions)?;
        let num_tagged_fields = self.unknown_tagged_fields.len();
        if num_tagged_fields > std::u32::MAX as usize {
            bail!(
                "Too many tagged fields to encode ({} fields)",
                num_tagged_fields
            );
        }
        total_size += types::UnsignedVarInt.compute_size(num_tagged_fields as u32)?;

        total_size += compute_unknown_tagged_fields_size(&self.unknown_tagged_fields)?;
        Ok(total_size)
    }
}

#[cfg(feature = "client")]
impl Decodable for ReadStateSummaryResult {
    fn decode<B: ByteBuf>(buf: &mut B, version: i16) -> Result<Self> {
        // Brook patch: Kafka 4.2 schema.
        if version < 0 || version > 1 {
            bail!("specified version not supported by this message type");
        }
        let topic_id = types::Uuid.decode(buf)?;
        let partitions = types::CompactArray(types::Struct { version }).decode(buf)?;
        let mut unknown_tagged_fields = BTreeMap::new();
        let num_tagged_fields = types::UnsignedVarInt.decode(buf)?;
        for _ in 0..num_tagged_fields {
            let tag: u32 = types::UnsignedVarInt.decode(buf)?;
            let size: u32 = types::UnsignedVarInt.decode(buf)?;
            let unknown_value = buf.try_get_bytes(size as usize)?;
            unknown_tagged_fields.insert(tag as i32, unknown_value);
        }
        Ok(Self {
            topic_id,
            partitions,
            unknown_tagged_fields,
        })
    }
}

impl Default for ReadStateSummaryResult {
    fn default() -> Self {
        Self {
            topic_id: Uuid::nil(),
            partitions: Default::default(),
            unknown_tagged_fields: BTreeMap::new(),
        }
    }
}

impl Message for ReadStateSummaryResult {
    // Brook patch: Kafka 4.2 schema.
    const VERSIONS: VersionRange = VersionRange { min: 0, max: 1 };
    const DEPRECATED_VERSIONS: Option<VersionRange> = None;
}

impl HeaderVersion for ReadShareGroupStateSummaryResponse {
    fn header_version(version: i16) -> i16 {
        1
    }
}

// Brook patch: Brook's tests of this message's Kafka 4.2 versions (not upstream code).
#[cfg(all(test, feature = "client", feature = "broker"))]
mod brook_tests {
    use super::*;

    /// Encodes `m` at `version`, checking that `compute_size` agrees with the bytes written.
    fn encode<M: Encodable>(m: &M, version: i16) -> Result<Vec<u8>> {
        let mut buf = Vec::new();
        m.encode(&mut buf, version)?;
        assert_eq!(
            m.compute_size(version)?,
            buf.len(),
            "compute_size at v{version}"
        );
        Ok(buf)
    }

    /// Decodes a whole message at `version`; no byte may be left over.
    fn decode<M: Decodable>(mut bytes: &[u8], version: i16) -> M {
        let m = M::decode(&mut bytes, version).unwrap();
        assert!(
            bytes.is_empty(),
            "{} bytes left over at v{version}",
            bytes.len()
        );
        m
    }

    fn response(delivery_complete_count: i32) -> ReadShareGroupStateSummaryResponse {
        ReadShareGroupStateSummaryResponse::default().with_results(vec![
            ReadStateSummaryResult::default()
                .with_topic_id(Uuid::from_u128(1))
                .with_partitions(vec![PartitionResult::default()
                    .with_partition(2)
                    .with_state_epoch(3)
                    .with_leader_epoch(4)
                    .with_start_offset(5)
                    .with_delivery_complete_count(delivery_complete_count)]),
        ])
    }

    fn v1_bytes() -> Vec<u8> {
        let mut b = vec![0x02]; // Results: 1
        b.extend_from_slice(&Uuid::from_u128(1).into_bytes()); // TopicId
        b.extend_from_slice(&[
            0x02, // Partitions: 1
            0, 0, 0, 2, // Partition
            0, 0,    // ErrorCode
            0x00, // ErrorMessage: null
            0, 0, 0, 3, // StateEpoch
            0, 0, 0, 4, // LeaderEpoch
            0, 0, 0, 0, 0, 0, 0, 5, // StartOffset
            0, 0, 0, 6, // DeliveryCompleteCount (v1+)
            0, 0, 0, // partition, result and top-level tagged fields
        ]);
        b
    }

    #[test]
    fn v1_encodes_the_delivery_complete_count_byte_exact() {
        let bytes = encode(&response(6), 1).unwrap();
        assert_eq!(bytes, v1_bytes());
        let back: ReadShareGroupStateSummaryResponse = decode(&bytes, 1);
        assert_eq!(back, response(6));
    }

    #[test]
    fn v0_drops_the_ignorable_count_which_defaults_to_minus_one() {
        assert_eq!(PartitionResult::default().delivery_complete_count, -1);
        let v0 = encode(&response(6), 0).unwrap();
        let mut expected = v1_bytes();
        expected.drain(41..45); // DeliveryCompleteCount
        assert_eq!(v0, expected);
        let back: ReadShareGroupStateSummaryResponse = decode(&v0, 0);
        assert_eq!(back, response(-1));
    }

    #[test]
    fn versions_are_0_to_1() {
        assert_eq!(
            ReadShareGroupStateSummaryResponse::VERSIONS,
            VersionRange { min: 0, max: 1 }
        );
        assert!(encode(&response(6), 2).is_err());
    }
}
