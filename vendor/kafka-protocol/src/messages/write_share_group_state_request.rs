//! WriteShareGroupStateRequest
//!
//! See the schema for this message [here](https://github.com/apache/kafka/blob/trunk/clients/src/main/resources/common/message/WriteShareGroupStateRequest.json).
// WARNING: the items of this module are generated and should not be edited directly
// Brook patch: regenerated for Kafka 4.2's WriteShareGroupStateRequest.json: valid versions 0-1; v1 adds the partition's DeliveryCompleteCount (int32, default -1, ignorable; KIP-1226). Each changed line below is marked "Brook patch: Kafka 4.2 schema."
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
pub struct PartitionData {
    /// The partition index.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub partition: i32,

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

    /// The share-partition start offset, or -1 if the start offset is not being written.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub start_offset: i64,

    // Brook patch: Kafka 4.2 schema.
    /// The number of offsets greater than or equal to share-partition start offset for which delivery has been completed.
    ///
    /// Supported API versions: 1
    pub delivery_complete_count: i32,

    /// The state batches for the share-partition.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub state_batches: Vec<StateBatch>,

    /// Other tagged fields
    pub unknown_tagged_fields: BTreeMap<i32, Bytes>,
}

impl PartitionData {
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
    /// The share-partition start offset, or -1 if the start offset is not being written.
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
    /// Sets `state_batches` to the passed value.
    ///
    /// The state batches for the share-partition.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_state_batches(mut self, value: Vec<StateBatch>) -> Self {
        self.state_batches = value;
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

#[cfg(feature = "client")]
impl Encodable for PartitionData {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, version: i16) -> Result<()> {
        // Brook patch: Kafka 4.2 schema.
        if version < 0 || version > 1 {
            bail!("specified version not supported by this message type");
        }
        types::Int32.encode(buf, &self.partition)?;
        types::Int32.encode(buf, &self.state_epoch)?;
        types::Int32.encode(buf, &self.leader_epoch)?;
        types::Int64.encode(buf, &self.start_offset)?;
        // Brook patch: Kafka 4.2 schema.
        if version >= 1 {
            types::Int32.encode(buf, &self.delivery_complete_count)?;
        }
        types::CompactArray(types::Struct { version }).encode(buf, &self.state_batches)?;
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
        total_size += types::Int32.compute_size(&self.state_epoch)?;
        total_size += types::Int32.compute_size(&self.leader_epoch)?;
        total_size += types::Int64.compute_size(&self.start_offset)?;
        // Brook patch: Kafka 4.2 schema.
        if version >= 1 {
            total_size += types::Int32.compute_size(&self.delivery_complete_count)?;
        }
        total_size +=
            types::CompactArray(types::Struct { version }).compute_size(&self.state_batches)?;
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

#[cfg(feature = "broker")]
impl Decodable for PartitionData {
    fn decode<B: ByteBuf>(buf: &mut B, version: i16) -> Result<Self> {
        // Brook patch: Kafka 4.2 schema.
        if version < 0 || version > 1 {
            bail!("specified version not supported by this message type");
        }
        let partition = types::Int32.decode(buf)?;
        let state_epoch = types::Int32.decode(buf)?;
        let leader_epoch = types::Int32.decode(buf)?;
        let start_offset = types::Int64.decode(buf)?;
        // Brook patch: Kafka 4.2 schema.
        let delivery_complete_count = if version >= 1 {
            types::Int32.decode(buf)?
        } else {
            -1
        };
        let state_batches = types::CompactArray(types::Struct { version }).decode(buf)?;
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
            state_epoch,
            leader_epoch,
            start_offset,
            // Brook patch: Kafka 4.2 schema.
            delivery_complete_count,
            state_batches,
            unknown_tagged_fields,
        })
    }
}

impl Default for PartitionData {
    fn default() -> Self {
        Self {
            partition: 0,
            state_epoch: 0,
            leader_epoch: 0,
            start_offset: 0,
            // Brook patch: Kafka 4.2 schema.
            delivery_complete_count: -1,
            state_batches: Default::default(),
            unknown_tagged_fields: BTreeMap::new(),
        }
    }
}

impl Message for PartitionData {
    // Brook patch: Kafka 4.2 schema.
    const VERSIONS: VersionRange = VersionRange { min: 0, max: 1 };
    const DEPRECATED_VERSIONS: Option<VersionRange> = None;
}

// Brook patch: Kafka 4.2 schema.
/// Valid versions: 0-1
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct StateBatch {
    /// The first offset of this state batch.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub first_offset: i64,

    /// The last offset of this state batch.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub last_offset: i64,

    /// The delivery state - 0:Available,2:Acked,4:Archived.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub delivery_state: i8,

    /// The delivery count.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub delivery_count: i16,

    /// Other tagged fields
    pub unknown_tagged_fields: BTreeMap<i32, Bytes>,
}

impl StateBatch {
    /// Sets `first_offset` to the passed value.
    ///
    /// The first offset of this state batch.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_first_offset(mut self, value: i64) -> Self {
        self.first_offset = value;
        self
    }
    /// Sets `last_offset` to the passed value.
    ///
    /// The last offset of this state batch.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_last_offset(mut self, value: i64) -> Self {
        self.last_offset = value;
        self
    }
    /// Sets `delivery_state` to the passed value.
    ///
    /// The delivery state - 0:Available,2:Acked,4:Archived.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_delivery_state(mut self, value: i8) -> Self {
        self.delivery_state = value;
        self
    }
    /// Sets `delivery_count` to the passed value.
    ///
    /// The delivery count.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_delivery_count(mut self, value: i16) -> Self {
        self.delivery_count = value;
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

#[cfg(feature = "client")]
impl Encodable for StateBatch {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, version: i16) -> Result<()> {
        // Brook patch: Kafka 4.2 schema.
        if version < 0 || version > 1 {
            bail!("specified version not supported by this message type");
        }
        types::Int64.encode(buf, &self.first_offset)?;
        types::Int64.encode(buf, &self.last_offset)?;
        types::Int8.encode(buf, &self.delivery_state)?;
        types::Int16.encode(buf, &self.delivery_count)?;
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
        total_size += types::Int64.compute_size(&self.first_offset)?;
        total_size += types::Int64.compute_size(&self.last_offset)?;
        total_size += types::Int8.compute_size(&self.delivery_state)?;
        total_size += types::Int16.compute_size(&self.delivery_count)?;
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

#[cfg(feature = "broker")]
impl Decodable for StateBatch {
    fn decode<B: ByteBuf>(buf: &mut B, version: i16) -> Result<Self> {
        // Brook patch: Kafka 4.2 schema.
        if version < 0 || version > 1 {
            bail!("specified version not supported by this message type");
        }
        let first_offset = types::Int64.decode(buf)?;
        let last_offset = types::Int64.decode(buf)?;
        let delivery_state = types::Int8.decode(buf)?;
        let delivery_count = types::Int16.decode(buf)?;
        let mut unknown_tagged_fields = BTreeMap::new();
        let num_tagged_fields = types::UnsignedVarInt.decode(buf)?;
        for _ in 0..num_tagged_fields {
            let tag: u32 = types::UnsignedVarInt.decode(buf)?;
            let size: u32 = types::UnsignedVarInt.decode(buf)?;
            let unknown_value = buf.try_get_bytes(size as usize)?;
            unknown_tagged_fields.insert(tag as i32, unknown_value);
        }
        Ok(Self {
            first_offset,
            last_offset,
            delivery_state,
            delivery_count,
            unknown_tagged_fields,
        })
    }
}

impl Default for StateBatch {
    fn default() -> Self {
        Self {
            first_offset: 0,
            last_offset: 0,
            delivery_state: 0,
            delivery_count: 0,
            unknown_tagged_fields: BTreeMap::new(),
        }
    }
}

impl Message for StateBatch {
    // Brook patch: Kafka 4.2 schema.
    const VERSIONS: VersionRange = VersionRange { min: 0, max: 1 };
    const DEPRECATED_VERSIONS: Option<VersionRange> = None;
}

// Brook patch: Kafka 4.2 schema.
/// Valid versions: 0-1
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct WriteShareGroupStateRequest {
    /// The group identifier.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub group_id: StrBytes,

    /// The data for the topics.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub topics: Vec<WriteStateData>,

    /// Other tagged fields
    pub unknown_tagged_fields: BTreeMap<i32, Bytes>,
}

impl WriteShareGroupStateRequest {
    /// Sets `group_id` to the passed value.
    ///
    /// The group identifier.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_group_id(mut self, value: StrBytes) -> Self {
        self.group_id = value;
        self
    }
    /// Sets `topics` to the passed value.
    ///
    /// The data for the topics.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_topics(mut self, value: Vec<WriteStateData>) -> Self {
        self.topics = value;
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

#[cfg(feature = "client")]
impl Encodable for WriteShareGroupStateRequest {
    fn encode<B: ByteBufMut>(&self, buf: &mut B, version: i16) -> Result<()> {
        // Brook patch: Kafka 4.2 schema.
        if version < 0 || version > 1 {
            bail!("specified version not supported by this message type");
        }
        types::CompactString.encode(buf, &self.group_id)?;
        types::CompactArray(types::Struct { version }).encode(buf, &self.topics)?;
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
        total_size += types::CompactString.compute_size(&self.group_id)?;
        total_size += types::CompactArray(types::Struct { version }).compute_size(&self.topics)?;
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

#[cfg(feature = "broker")]
impl Decodable for WriteShareGroupStateRequest {
    fn decode<B: ByteBuf>(buf: &mut B, version: i16) -> Result<Self> {
        // Brook patch: Kafka 4.2 schema.
        if version < 0 || version > 1 {
            bail!("specified version not supported by this message type");
        }
        let group_id = types::CompactString.decode(buf)?;
        let topics = types::CompactArray(types::Struct { version }).decode(buf)?;
        let mut unknown_tagged_fields = BTreeMap::new();
        let num_tagged_fields = types::UnsignedVarInt.decode(buf)?;
        for _ in 0..num_tagged_fields {
            let tag: u32 = types::UnsignedVarInt.decode(buf)?;
            let size: u32 = types::UnsignedVarInt.decode(buf)?;
            let unknown_value = buf.try_get_bytes(size as usize)?;
            unknown_tagged_fields.insert(tag as i32, unknown_value);
        }
        Ok(Self {
            group_id,
            topics,
            unknown_tagged_fields,
        })
    }
}

impl Default for WriteShareGroupStateRequest {
    fn default() -> Self {
        Self {
            group_id: Default::default(),
            topics: Default::default(),
            unknown_tagged_fields: BTreeMap::new(),
        }
    }
}

impl Message for WriteShareGroupStateRequest {
    // Brook patch: Kafka 4.2 schema.
    const VERSIONS: VersionRange = VersionRange { min: 0, max: 1 };
    const DEPRECATED_VERSIONS: Option<VersionRange> = None;
}

// Brook patch: Kafka 4.2 schema.
/// Valid versions: 0-1
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct WriteStateData {
    /// The topic identifier.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub topic_id: Uuid,

    /// The data for the partitions.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub partitions: Vec<PartitionData>,

    /// Other tagged fields
    pub unknown_tagged_fields: BTreeMap<i32, Bytes>,
}

impl WriteStateData {
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
    /// The data for the partitions.
    ///
    // Brook patch: Kafka 4.2 schema.
    /// Supported API versions: 0-1
    pub fn with_partitions(mut self, value: Vec<PartitionData>) -> Self {
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

#[cfg(feature = "client")]
impl Encodable for WriteStateData {
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

#[cfg(feature = "broker")]
impl Decodable for WriteStateData {
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

impl Default for WriteStateData {
    fn default() -> Self {
        Self {
            topic_id: Uuid::nil(),
            partitions: Default::default(),
            unknown_tagged_fields: BTreeMap::new(),
        }
    }
}

impl Message for WriteStateData {
    // Brook patch: Kafka 4.2 schema.
    const VERSIONS: VersionRange = VersionRange { min: 0, max: 1 };
    const DEPRECATED_VERSIONS: Option<VersionRange> = None;
}

impl HeaderVersion for WriteShareGroupStateRequest {
    fn header_version(version: i16) -> i16 {
        2
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

    fn request(delivery_complete_count: i32) -> WriteShareGroupStateRequest {
        WriteShareGroupStateRequest::default()
            .with_group_id(StrBytes::from_static_str("g"))
            .with_topics(vec![WriteStateData::default()
                .with_topic_id(Uuid::from_u128(1))
                .with_partitions(vec![PartitionData::default()
                    .with_partition(2)
                    .with_state_epoch(3)
                    .with_leader_epoch(4)
                    .with_start_offset(5)
                    .with_delivery_complete_count(delivery_complete_count)
                    .with_state_batches(vec![StateBatch::default()
                        .with_first_offset(5)
                        .with_last_offset(6)
                        .with_delivery_state(2)
                        .with_delivery_count(1)])])])
    }

    fn v1_bytes() -> Vec<u8> {
        let mut b = vec![0x02, b'g', 0x02]; // GroupId, Topics: 1
        b.extend_from_slice(&Uuid::from_u128(1).into_bytes()); // TopicId
        b.extend_from_slice(&[
            0x02, // Partitions: 1
            0, 0, 0, 2, // Partition
            0, 0, 0, 3, // StateEpoch
            0, 0, 0, 4, // LeaderEpoch
            0, 0, 0, 0, 0, 0, 0, 5, // StartOffset
            0, 0, 0, 9,    // DeliveryCompleteCount (v1+)
            0x02, // StateBatches: 1
            0, 0, 0, 0, 0, 0, 0, 5, // FirstOffset
            0, 0, 0, 0, 0, 0, 0, 6, // LastOffset
            2, // DeliveryState = Acked
            0, 1, // DeliveryCount
            0, 0, 0, 0, // batch, partition, topic and top-level tagged fields
        ]);
        b
    }

    #[test]
    fn v1_encodes_the_delivery_complete_count_byte_exact() {
        let bytes = encode(&request(9), 1).unwrap();
        assert_eq!(bytes, v1_bytes());
        let back: WriteShareGroupStateRequest = decode(&bytes, 1);
        assert_eq!(back, request(9));
    }

    #[test]
    fn v0_drops_the_ignorable_count_which_defaults_to_minus_one() {
        assert_eq!(PartitionData::default().delivery_complete_count, -1);
        let v0 = encode(&request(9), 0).unwrap();
        let mut expected = v1_bytes();
        expected.drain(40..44); // DeliveryCompleteCount
        assert_eq!(v0, expected);
        let back: WriteShareGroupStateRequest = decode(&v0, 0);
        assert_eq!(back, request(-1));
    }

    #[test]
    fn versions_are_0_to_1() {
        let range = VersionRange { min: 0, max: 1 };
        assert_eq!(WriteShareGroupStateRequest::VERSIONS, range);
        assert_eq!(
            crate::messages::ApiKey::WriteShareGroupState.valid_versions(),
            range
        );
        assert!(encode(&request(9), 2).is_err());
    }
}
