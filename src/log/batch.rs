//! Record batch (magic v2) header: the only part of a batch the broker reads or writes.
//!
//! Layout (big-endian), as in the Kafka protocol guide:
//! ```text
//!  0 baseOffset i64 | 8 batchLength i32 | 12 partitionLeaderEpoch i32 | 16 magic i8
//! 17 crc u32 (crc32c of bytes 21..end) | 21 attributes i16 | 23 lastOffsetDelta i32
//! 27 baseTimestamp i64 | 35 maxTimestamp i64 | 43 producerId i64 | 51 producerEpoch i16
//! 53 baseSequence i32 | 57 recordsCount i32 | 61 records...
//! ```
//! `batchLength` counts the bytes after itself, so a batch occupies `12 + batchLength` bytes.
//! The broker owns `baseOffset`, `partitionLeaderEpoch` and (for LogAppendTime topics)
//! `maxTimestamp`; everything else is stored exactly as the producer sent it.

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Bytes of the fixed v2 batch header.
pub const HEADER_LEN: usize = 61;
/// Bytes before and including `batchLength` (the "log overhead").
pub const LOG_OVERHEAD: usize = 12;
/// Offset of the CRC field; the CRC covers `CRC_START..end`.
const CRC_OFFSET: usize = 17;
const CRC_START: usize = 21;
/// Attribute bits.
pub const ATTR_COMPRESSION_MASK: i16 = 0x07;
pub const ATTR_TIMESTAMP_TYPE: i16 = 0x08;
pub const ATTR_TRANSACTIONAL: i16 = 0x10;
pub const ATTR_CONTROL: i16 = 0x20;
/// "No producer" marker values from the protocol.
pub const NO_PRODUCER_ID: i64 = -1;
pub const NO_SEQUENCE: i32 = -1;

/// Why a batch was rejected; mapped to a Kafka error code by the produce handler.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("record batch is truncated or has an inconsistent length")]
    Truncated,
    #[error("unsupported record batch magic {0} (only v2 is supported)")]
    UnsupportedMagic(i8),
    #[error("record batch CRC mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    CrcMismatch { stored: u32, computed: u32 },
    #[error("record batch header is invalid: {0}")]
    Invalid(&'static str),
}

/// A decoded copy of the fixed header fields of one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: i64,
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub records_count: i32,
}

impl BatchHeader {
    /// Parses the header at the start of `buf` (which must hold at least [`HEADER_LEN`] bytes).
    pub fn parse(mut buf: &[u8]) -> Result<Self, BatchError> {
        if buf.len() < HEADER_LEN {
            return Err(BatchError::Truncated);
        }
        let base_offset = buf.get_i64();
        let batch_length = buf.get_i32();
        let partition_leader_epoch = buf.get_i32();
        let magic = buf.get_i8();
        if magic != 2 {
            return Err(BatchError::UnsupportedMagic(magic));
        }
        Ok(Self {
            base_offset,
            batch_length,
            partition_leader_epoch,
            magic,
            crc: buf.get_u32(),
            attributes: buf.get_i16(),
            last_offset_delta: buf.get_i32(),
            base_timestamp: buf.get_i64(),
            max_timestamp: buf.get_i64(),
            producer_id: buf.get_i64(),
            producer_epoch: buf.get_i16(),
            base_sequence: buf.get_i32(),
            records_count: buf.get_i32(),
        })
    }

    /// Total bytes this batch occupies on disk and on the wire.
    pub fn total_len(&self) -> usize {
        LOG_OVERHEAD + self.batch_length.max(0) as usize
    }
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }
    pub fn next_offset(&self) -> i64 {
        self.last_offset() + 1
    }
    pub fn compression(&self) -> i16 {
        self.attributes & ATTR_COMPRESSION_MASK
    }
    pub fn is_transactional(&self) -> bool {
        self.attributes & ATTR_TRANSACTIONAL != 0
    }
    pub fn is_control(&self) -> bool {
        self.attributes & ATTR_CONTROL != 0
    }
    pub fn has_producer_id(&self) -> bool {
        self.producer_id != NO_PRODUCER_ID
    }
    /// Sequence number of the last record, wrapping at i32::MAX as the protocol specifies.
    pub fn last_sequence(&self) -> i32 {
        if self.base_sequence == NO_SEQUENCE {
            return NO_SEQUENCE;
        }
        let last = self.base_sequence as i64 + self.last_offset_delta as i64;
        if last > i32::MAX as i64 {
            (last - i32::MAX as i64 - 1) as i32
        } else {
            last as i32
        }
    }
}

/// Computes the CRC32C the batch header should carry.
pub fn compute_crc(batch: &[u8]) -> u32 {
    crc32c::crc32c(&batch[CRC_START..])
}

/// Validates one complete batch (`batch` is exactly the batch's bytes): structure and CRC.
/// Producer-facing rules (record count, sequence) are in [`validate_produced`].
pub fn validate(batch: &[u8]) -> Result<BatchHeader, BatchError> {
    let header = BatchHeader::parse(batch)?;
    if header.batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32 || header.total_len() != batch.len() {
        return Err(BatchError::Truncated);
    }
    let computed = compute_crc(batch);
    if computed != header.crc {
        return Err(BatchError::CrcMismatch { stored: header.crc, computed });
    }
    Ok(header)
}

/// Extra checks applied to batches arriving from producers (Kafka's LogValidator rules that do
/// not need the individual records).
pub fn validate_produced(header: &BatchHeader) -> Result<(), BatchError> {
    if header.records_count <= 0 {
        return Err(BatchError::Invalid("batch has no records"));
    }
    if header.last_offset_delta != header.records_count - 1 {
        return Err(BatchError::Invalid("lastOffsetDelta does not match the record count"));
    }
    if header.is_control() {
        return Err(BatchError::Invalid("Clients are not allowed to write control records"));
    }
    if header.has_producer_id() && header.base_sequence < 0 {
        return Err(BatchError::Invalid("idempotent batch has no sequence number"));
    }
    Ok(())
}

/// Splits a produce payload (one or more concatenated batches) into validated batches.
pub fn split_batches(mut records: Bytes) -> Result<Vec<(BatchHeader, Bytes)>, BatchError> {
    let mut out = Vec::with_capacity(1);
    while !records.is_empty() {
        // Legacy (magic 0/1) message sets can be shorter than a v2 header: look at the magic
        // byte first so they are reported as unsupported, not as truncated.
        if records.len() > 16 && records[16] != 2 {
            return Err(BatchError::UnsupportedMagic(records[16] as i8));
        }
        if records.len() < HEADER_LEN {
            return Err(BatchError::Truncated);
        }
        let header = BatchHeader::parse(&records)?;
        let len = header.total_len();
        if header.batch_length < (HEADER_LEN - LOG_OVERHEAD) as i32 || len > records.len() {
            return Err(BatchError::Truncated);
        }
        let batch = records.split_to(len);
        let header = validate(&batch)?;
        out.push((header, batch));
    }
    if out.is_empty() {
        return Err(BatchError::Invalid("produce request carries no record batch"));
    }
    Ok(out)
}

/// The 16 leading header bytes with the broker-owned fields (`baseOffset`,
/// `partitionLeaderEpoch`) patched; written in place of the client's first 16 bytes so the
/// rest of the batch goes to disk untouched.
pub fn patched_prefix(batch: &[u8], base_offset: i64, leader_epoch: i32) -> [u8; 16] {
    let mut prefix = [0u8; 16];
    prefix[0..8].copy_from_slice(&base_offset.to_be_bytes());
    prefix[8..12].copy_from_slice(&batch[8..12]);
    prefix[12..16].copy_from_slice(&leader_epoch.to_be_bytes());
    prefix
}

/// Rewrites a batch for a LogAppendTime topic: sets the timestamp-type bit and `maxTimestamp`,
/// then recomputes the CRC (these fields are covered by it). One of the two cases where the
/// broker must copy the batch.
pub fn with_log_append_time(batch: &[u8], now_ms: i64) -> Bytes {
    with_timestamps(batch, true, now_ms)
}

/// Rewrites a CreateTime batch whose header disagrees with its records: clears the
/// timestamp-type bit and sets `maxTimestamp` to the records' largest (Kafka's
/// `setMaxTimestamp`), recomputing the CRC.
pub fn with_create_time_max(batch: &[u8], max_timestamp: i64) -> Bytes {
    with_timestamps(batch, false, max_timestamp)
}

fn with_timestamps(batch: &[u8], log_append_time: bool, max_timestamp: i64) -> Bytes {
    let mut out = BytesMut::with_capacity(batch.len());
    out.extend_from_slice(batch);
    let mut attrs = i16::from_be_bytes([batch[21], batch[22]]) & !ATTR_TIMESTAMP_TYPE;
    if log_append_time {
        attrs |= ATTR_TIMESTAMP_TYPE;
    }
    out[21..23].copy_from_slice(&attrs.to_be_bytes());
    out[35..43].copy_from_slice(&max_timestamp.to_be_bytes());
    let crc = compute_crc(&out);
    out[CRC_OFFSET..CRC_START].copy_from_slice(&crc.to_be_bytes());
    out.freeze()
}

/// Control record types (Kafka's `ControlRecordType`): the `type` in a control record's key.
pub const CONTROL_ABORT: i16 = 0;
pub const CONTROL_COMMIT: i16 = 1;
/// Bytes of a control record key (`version i16, type i16`) and of an end-transaction marker's
/// value (`version i16, coordinator_epoch i32`), Kafka's current (version 0) layouts.
pub const CONTROL_KEY_LEN: usize = 4;
pub const END_TXN_VALUE_LEN: usize = 6;

/// A commit or abort marker (Kafka's `EndTransactionMarker`): the one record of a control
/// batch the transaction coordinator writes to each partition of a completed transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndTxnMarker {
    pub commit: bool,
    pub coordinator_epoch: i32,
}

/// The control batch of a transaction marker (Kafka's `MemoryRecords.withEndTransactionMarker`):
/// magic 2, attributes transactional | control, uncompressed, base sequence -1, one record whose
/// key is `version 0, type` (0 abort, 1 commit) and whose value is `version 0,
/// coordinator_epoch`. Its base offset and leader epoch are the broker's to assign at append.
pub fn control_batch(
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
    timestamp_ms: i64,
) -> Bytes {
    use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
    let mut key = BytesMut::with_capacity(CONTROL_KEY_LEN);
    key.put_i16(0);
    key.put_i16(if commit { CONTROL_COMMIT } else { CONTROL_ABORT });
    let mut value = BytesMut::with_capacity(END_TXN_VALUE_LEN);
    value.put_i16(0);
    value.put_i32(coordinator_epoch);
    let record = Record {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id,
        producer_epoch,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        // One record at offset 0 with sequence -1: the encoder writes base sequence -1.
        sequence: NO_SEQUENCE,
        timestamp: timestamp_ms,
        key: Some(key.freeze()),
        value: Some(value.freeze()),
        headers: Default::default(),
    };
    let mut out = BytesMut::with_capacity(HEADER_LEN + 32);
    RecordBatchEncoder::encode(
        &mut out,
        [&record],
        &RecordEncodeOptions { version: 2, compression: Compression::None },
    )
    .expect("one small uncompressed record always encodes");
    out.freeze()
}

/// Why a control record is not a transaction marker Brook can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkerError {
    #[error("{0}")]
    Invalid(String),
    /// A control record of another type (KRaft's, or one this broker does not know).
    #[error("control record type {0} is not a transaction marker")]
    NotAMarker(i16),
}

/// Reads a control record's key and value as a transaction marker (Kafka's
/// `ControlRecordType.parse` and `EndTransactionMarker.deserializeValue`): the key needs at
/// least 4 bytes and a non-negative version, the value at least 6 bytes and a non-negative
/// version; later versions are read as version 0, as Kafka does.
pub fn parse_end_txn_marker(key: Option<&[u8]>, value: Option<&[u8]>) -> Result<EndTxnMarker, MarkerError> {
    let key = key.unwrap_or_default();
    if key.len() < CONTROL_KEY_LEN {
        return Err(MarkerError::Invalid(format!(
            "Invalid value size found for end control record key. Must have at least {CONTROL_KEY_LEN} bytes, but found only {}",
            key.len()
        )));
    }
    let version = i16::from_be_bytes([key[0], key[1]]);
    if version < 0 {
        return Err(MarkerError::Invalid(format!(
            "Invalid version found for control record: {version}. May indicate data corruption"
        )));
    }
    let commit = match i16::from_be_bytes([key[2], key[3]]) {
        CONTROL_ABORT => false,
        CONTROL_COMMIT => true,
        other => return Err(MarkerError::NotAMarker(other)),
    };
    let value = value.unwrap_or_default();
    if value.len() < END_TXN_VALUE_LEN {
        return Err(MarkerError::Invalid(format!(
            "Invalid value size found for end transaction marker. Must have at least {END_TXN_VALUE_LEN} bytes, but found only {}",
            value.len()
        )));
    }
    let version = i16::from_be_bytes([value[0], value[1]]);
    if version < 0 {
        return Err(MarkerError::Invalid(format!(
            "Invalid version found for end transaction marker: {version}. May indicate data corruption"
        )));
    }
    Ok(EndTxnMarker { commit, coordinator_epoch: i32::from_be_bytes([value[2], value[3], value[4], value[5]]) })
}

/// The marker a control batch carries (its first record, Kafka's `ProducerAppendInfo.append`),
/// or `None` for a control batch without records (one the cleaner emptied). Compressed control
/// batches are read through the bounded decompressor (at most `limit` bytes).
pub fn end_txn_marker(h: &BatchHeader, batch: &[u8], limit: u64) -> Result<Option<EndTxnMarker>, MarkerError> {
    use super::cleaner::filter;
    if h.records_count <= 0 {
        return Ok(None);
    }
    let payload = filter::payload(h, batch, limit).map_err(|e| MarkerError::Invalid(e.to_string()))?;
    let first = filter::first_record(h, &payload).map_err(|e| MarkerError::Invalid(e.to_string()))?;
    match first {
        None => Ok(None),
        Some(r) => parse_end_txn_marker(r.key, r.value).map(Some),
    }
}

/// The offset after the last whole batch in `buf` (which starts at a batch), or `None` if it
/// holds none: the upper bound of what a fetch returned.
pub fn next_offset_after(buf: &[u8]) -> Option<i64> {
    let mut off = 0;
    let mut next = None;
    while let Ok(h) = BatchHeader::parse(&buf[off..]) {
        if h.total_len() < HEADER_LEN || off + h.total_len() > buf.len() {
            break;
        }
        next = Some(h.next_offset());
        off += h.total_len();
    }
    next
}

/// The records in the whole data batches of `buf` (which starts at a batch; control batches
/// are not client records): what a fetch handed a client, from the batch headers alone.
pub fn data_records_in(buf: &[u8]) -> u64 {
    let mut off = 0;
    let mut records = 0u64;
    while let Ok(h) = BatchHeader::parse(&buf[off..]) {
        if h.total_len() < HEADER_LEN || off + h.total_len() > buf.len() {
            break;
        }
        if !h.is_control() {
            records += u64::try_from(h.records_count).unwrap_or(0);
        }
        off += h.total_len();
    }
    records
}

/// Builds a minimal valid batch; used by tests.
pub fn build_batch(base_offset: i64, records_count: i32, max_timestamp: i64, body: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(HEADER_LEN + body.len());
    b.put_i64(base_offset);
    b.put_i32((HEADER_LEN - LOG_OVERHEAD + body.len()) as i32);
    b.put_i32(0);
    b.put_i8(2);
    b.put_u32(0);
    b.put_i16(0);
    b.put_i32(records_count - 1);
    b.put_i64(max_timestamp);
    b.put_i64(max_timestamp);
    b.put_i64(NO_PRODUCER_ID);
    b.put_i16(-1);
    b.put_i32(NO_SEQUENCE);
    b.put_i32(records_count);
    b.extend_from_slice(body);
    let crc = compute_crc(&b);
    b[CRC_OFFSET..CRC_START].copy_from_slice(&crc.to_be_bytes());
    b.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_batch_validates_and_roundtrips_header() {
        let b = build_batch(0, 3, 1234, b"abc");
        let h = validate(&b).unwrap();
        assert_eq!(h.records_count, 3);
        assert_eq!(h.last_offset_delta, 2);
        assert_eq!(h.max_timestamp, 1234);
        assert_eq!(h.total_len(), b.len());
    }

    #[test]
    fn flipped_byte_fails_crc() {
        let b = build_batch(0, 1, 1, b"xyz");
        let mut m = b.to_vec();
        let last = m.len() - 1;
        m[last] ^= 0xff;
        assert!(matches!(validate(&m), Err(BatchError::CrcMismatch { .. })));
    }

    #[test]
    fn patched_prefix_keeps_crc_valid() {
        let b = build_batch(0, 1, 1, b"xyz");
        let mut m = b.to_vec();
        m[..16].copy_from_slice(&patched_prefix(&b, 77, 5));
        let h = validate(&m).unwrap();
        assert_eq!(h.base_offset, 77);
        assert_eq!(h.partition_leader_epoch, 5);
    }

    #[test]
    fn log_append_time_rewrite_is_valid() {
        let b = build_batch(0, 1, 1, b"xyz");
        let r = with_log_append_time(&b, 999);
        let h = validate(&r).unwrap();
        assert_eq!(h.max_timestamp, 999);
        assert_ne!(h.attributes & ATTR_TIMESTAMP_TYPE, 0);
    }

    #[test]
    fn split_rejects_trailing_garbage() {
        let mut two = build_batch(0, 1, 1, b"a").to_vec();
        two.extend_from_slice(&build_batch(0, 1, 1, b"b"));
        assert_eq!(split_batches(Bytes::from(two.clone())).unwrap().len(), 2);
        two.extend_from_slice(&[1, 2, 3]);
        assert_eq!(split_batches(Bytes::from(two)), Err(BatchError::Truncated));
    }

    #[test]
    fn sequence_wraps() {
        let mut h = BatchHeader::parse(&build_batch(0, 3, 1, b"")).unwrap();
        h.base_sequence = i32::MAX - 1;
        assert_eq!(h.last_sequence(), 0);
    }

    /// The marker batch as Kafka writes it, read back by the kafka-protocol crate's decoder.
    #[test]
    fn control_batches_are_kafkas_end_transaction_markers() {
        use kafka_protocol::records::RecordBatchDecoder;
        for (commit, kind) in [(false, CONTROL_ABORT), (true, CONTROL_COMMIT)] {
            let b = control_batch(42, 7, commit, 9, 1_700_000_000_123);
            let h = validate(&b).unwrap();
            assert_eq!((h.magic, h.attributes), (2, ATTR_TRANSACTIONAL | ATTR_CONTROL));
            assert_eq!((h.producer_id, h.producer_epoch, h.base_sequence), (42, 7, NO_SEQUENCE));
            assert_eq!((h.records_count, h.last_offset_delta, h.max_timestamp), (1, 0, 1_700_000_000_123));
            let set = RecordBatchDecoder::decode(&mut b.clone()).unwrap();
            assert_eq!(set.records.len(), 1);
            let r = &set.records[0];
            assert!(r.control && r.transactional);
            assert_eq!((r.producer_id, r.producer_epoch, r.sequence), (42, 7, -1));
            let mut key = vec![0, 0];
            key.extend_from_slice(&kind.to_be_bytes());
            assert_eq!(r.key.as_deref(), Some(&key[..]));
            assert_eq!(r.value.as_deref(), Some(&[0, 0, 0, 0, 0, 9][..]));
            assert_eq!(end_txn_marker(&h, &b, 1 << 20), Ok(Some(EndTxnMarker { commit, coordinator_epoch: 9 })));
            // A client-style validation refuses it.
            assert!(matches!(validate_produced(&h), Err(BatchError::Invalid(_))));
        }
    }

    #[test]
    fn marker_records_are_read_as_kafka_reads_them() {
        let ok = |k: &[u8], v: &[u8]| parse_end_txn_marker(Some(k), Some(v));
        assert_eq!(ok(&[0, 0, 0, 1], &[0, 0, 0, 0, 0, 3]), Ok(EndTxnMarker { commit: true, coordinator_epoch: 3 }));
        // Later versions are read as version 0, with trailing bytes ignored.
        assert_eq!(
            ok(&[0, 5, 0, 0, 9], &[0, 1, 255, 255, 255, 255, 1]),
            Ok(EndTxnMarker { commit: false, coordinator_epoch: -1 })
        );
        assert!(matches!(ok(&[0, 0, 0], &[0; 6]), Err(MarkerError::Invalid(_))), "short key");
        assert!(matches!(ok(&[255, 0, 0, 1], &[0; 6]), Err(MarkerError::Invalid(_))), "negative key version");
        assert_eq!(ok(&[0, 0, 0, 2], &[0; 6]), Err(MarkerError::NotAMarker(2)), "a KRaft control record");
        assert!(matches!(ok(&[0, 0, 0, 1], &[0; 5]), Err(MarkerError::Invalid(_))), "short value");
        assert!(
            matches!(ok(&[0, 0, 0, 1], &[128, 0, 0, 0, 0, 0]), Err(MarkerError::Invalid(_))),
            "negative value version"
        );
        assert!(matches!(parse_end_txn_marker(None, None), Err(MarkerError::Invalid(_))));
        // An emptied control batch (the cleaner's) has no marker.
        let mut h = BatchHeader::parse(&control_batch(1, 0, true, 0, 0)).unwrap();
        h.records_count = 0;
        assert_eq!(end_txn_marker(&h, &build_batch(0, 1, 0, b""), 1 << 20), Ok(None));
    }

    #[test]
    fn the_offset_after_fetched_batches() {
        let mut two = build_batch(5, 3, 1, b"a").to_vec();
        two.extend_from_slice(&build_batch(8, 2, 1, b"b"));
        assert_eq!(next_offset_after(&two), Some(10));
        assert_eq!(next_offset_after(&two[..two.len() - 1]), Some(8), "a cut batch does not count");
        assert_eq!(next_offset_after(&[]), None);
    }

    #[test]
    fn data_records_count_whole_batches_and_leave_markers_out() {
        let mut buf = build_batch(5, 3, 1, b"a").to_vec();
        buf.extend_from_slice(&control_batch(1, 0, true, 0, 0));
        buf.extend_from_slice(&build_batch(9, 2, 1, b"b"));
        assert_eq!(data_records_in(&buf), 5);
        assert_eq!(data_records_in(&buf[..buf.len() - 1]), 3, "a cut batch does not count");
        assert_eq!(data_records_in(&[]), 0);
    }

    mod prop {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// Whatever bytes a control batch holds (its CRC fixed so they are read), reading
            /// its marker never panics and never reads past them; a marker it yields comes from
            /// a key and value that were there.
            #[test]
            fn markers_of_arbitrary_control_batches_are_bounded(
                body in proptest::collection::vec(any::<u8>(), 0..64),
                count in 0i32..4,
                compression in 0i16..5,
            ) {
                let mut b = build_batch(0, count.max(1), 1, &body).to_vec();
                b[21..23].copy_from_slice(&(ATTR_TRANSACTIONAL | ATTR_CONTROL | compression).to_be_bytes());
                b[57..61].copy_from_slice(&count.to_be_bytes());
                let crc = compute_crc(&b);
                b[17..21].copy_from_slice(&crc.to_be_bytes());
                let h = validate(&b).unwrap();
                if let Ok(Some(_)) = end_txn_marker(&h, &b, 1 << 16) {
                    prop_assert!(count > 0 && body.len() >= CONTROL_KEY_LEN + END_TXN_VALUE_LEN || compression != 0);
                }
            }

            #[test]
            fn marker_records_of_arbitrary_bytes_are_bounded(
                key in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10)),
                value in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10)),
            ) {
                if let Ok(m) = parse_end_txn_marker(key.as_deref(), value.as_deref()) {
                    let v = value.unwrap();
                    prop_assert_eq!(m.coordinator_epoch, i32::from_be_bytes([v[2], v[3], v[4], v[5]]));
                }
            }
        }
    }
}
