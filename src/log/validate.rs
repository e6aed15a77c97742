//! Produce-side validation of a batch's records (Kafka's LogValidator): the header's count is
//! the number of records present, each record's framing fits the batch, offset deltas run
//! 0..n-1, timestamps are within the topic's bounds, compacted topics get keys. Reads only:
//! the batch is stored as sent, except that a wrong `maxTimestamp` is corrected as Kafka does.

use super::batch::{BatchHeader, ATTR_TIMESTAMP_TYPE};
use super::records::{self, RecordsError};

/// The rules a partition applies to produced batches (from its topic's configs).
#[derive(Debug, Clone, Copy)]
pub struct RecordRules {
    /// `message.timestamp.type=LogAppendTime`: the broker stamps batches.
    pub log_append_time: bool,
    /// `message.timestamp.before.max.ms` / `after.max.ms` (CreateTime topics).
    pub timestamp_before_max_ms: i64,
    pub timestamp_after_max_ms: i64,
    /// `cleanup.policy` includes `compact`: every record needs a key.
    pub compacted: bool,
    /// Most bytes a compressed batch may inflate to.
    pub max_uncompressed_bytes: u64,
    /// `max.message.bytes`: largest batch accepted (checked before the records are read).
    pub max_batch_bytes: usize,
}

/// A record rejected with its position in the batch (KIP-467's `record_errors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub batch_index: i32,
    pub message: String,
}

/// Why a produced batch is refused; the produce handler maps each to its Kafka error code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValidationError {
    /// INVALID_RECORD, with the records at fault when known.
    #[error("{message}")]
    InvalidRecord { message: String, record_errors: Vec<RecordError> },
    /// INVALID_TIMESTAMP, per record.
    #[error("One or more records have been rejected due to invalid timestamp")]
    InvalidTimestamp { record_errors: Vec<RecordError> },
    /// CORRUPT_MESSAGE: the payload cannot be decompressed.
    #[error("{0}")]
    Corrupt(String),
}

/// What validation learned that the append needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validated {
    /// Largest record timestamp (-1 if none has one): the batch's true `maxTimestamp`.
    pub max_timestamp: i64,
}

impl Validated {
    /// Whether the header's `maxTimestamp` or timestamp type must be rewritten (Kafka sets
    /// them from the records on CreateTime topics instead of refusing the batch).
    pub fn header_needs_fix(&self, header: &BatchHeader, rules: &RecordRules) -> bool {
        !rules.log_append_time
            && (header.max_timestamp != self.max_timestamp || header.attributes & ATTR_TIMESTAMP_TYPE != 0)
    }
}

/// Kafka shows at most this many record errors in the message (all go in `record_errors`).
const SHOWN_ERRORS: usize = 3;
/// At most this many record errors are collected per batch (a response stays small).
const MAX_RECORD_ERRORS: usize = 1000;

/// Validates the records of `batch` (already CRC-checked, with `header` parsed from it) against
/// `rules`, at time `now_ms`.
pub fn validate_records(
    header: &BatchHeader,
    batch: &[u8],
    rules: &RecordRules,
    now_ms: i64,
) -> Result<Validated, ValidationError> {
    let mut errors: Vec<RecordError> = Vec::new();
    let mut bad_timestamp = false;
    let mut max_timestamp = -1i64;
    let mut structural: Option<String> = None;
    let batch_says_append_time = header.attributes & ATTR_TIMESTAMP_TYPE != 0;
    let earliest = now_ms.saturating_sub(rules.timestamp_before_max_ms);
    let latest = now_ms.saturating_add(rules.timestamp_after_max_ms);
    let walked = records::walk(header, batch, rules.max_uncompressed_bytes, |r| {
        let mut fail = |message: String, timestamp: bool| {
            bad_timestamp |= timestamp;
            if errors.len() < MAX_RECORD_ERRORS {
                errors.push(RecordError { batch_index: r.index, message });
            }
        };
        if r.offset_delta != r.index {
            structural = Some(format!(
                "Inner record at index {} has offset delta {}, expected {} (offsets must run 0..n-1)",
                r.index, r.offset_delta, r.index
            ));
            return false;
        }
        // A batch marked LogAppendTime gives every record its maxTimestamp (as Kafka reads it).
        let ts = if batch_says_append_time {
            header.max_timestamp
        } else {
            let Some(ts) = header.base_timestamp.checked_add(r.timestamp_delta) else {
                structural = Some(format!("Record at index {} has a timestamp delta that overflows", r.index));
                return false;
            };
            ts
        };
        if rules.compacted && r.key_len < 0 {
            fail("Compacted topic cannot accept message without key".into(), false);
        } else if !rules.log_append_time && ts != -1 {
            let (before, after) = (earliest, latest);
            if ts < before || ts > after {
                fail(
                    format!(
                        "Timestamp {ts} of message with offset {} is out of range. The timestamp should be within [{before}, {after}]",
                        r.offset_delta
                    ),
                    true,
                );
            }
        } else if batch_says_append_time {
            fail(
                "Invalid timestamp type in message. Producer should not set timestamp type to LogAppendTime.".into(),
                true,
            );
        }
        max_timestamp = max_timestamp.max(ts);
        true
    });
    match walked {
        Ok(()) => {}
        Err(RecordsError::Invalid(m)) => {
            return Err(ValidationError::InvalidRecord { message: m, record_errors: vec![] })
        }
        Err(e @ RecordsError::TooLarge { .. }) => {
            return Err(ValidationError::InvalidRecord { message: e.to_string(), record_errors: vec![] })
        }
        Err(RecordsError::Corrupt(m)) => return Err(ValidationError::Corrupt(m)),
    }
    if let Some(message) = structural {
        return Err(ValidationError::InvalidRecord { message, record_errors: vec![] });
    }
    if !errors.is_empty() {
        if bad_timestamp {
            return Err(ValidationError::InvalidTimestamp { record_errors: errors });
        }
        let shown: Vec<String> = errors
            .iter()
            .take(SHOWN_ERRORS)
            .map(|e| format!("RecordError(batchIndex={}, message='{}')", e.batch_index, e.message))
            .collect();
        let message = format!(
            "One or more records have been rejected due to {} record errors in total, and only showing the first three errors at most: [{}]",
            errors.len(),
            shown.join(", ")
        );
        return Err(ValidationError::InvalidRecord { message, record_errors: errors });
    }
    Ok(Validated { max_timestamp })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::{self, build_batch};
    use crate::log::records::tests::record;

    const NOW: i64 = 1_700_000_000_000;

    fn rules() -> RecordRules {
        RecordRules {
            log_append_time: false,
            timestamp_before_max_ms: i64::MAX,
            timestamp_after_max_ms: 3_600_000,
            compacted: false,
            max_uncompressed_bytes: 1 << 20,
            max_batch_bytes: 1 << 20,
        }
    }

    fn check(body: &[u8], count: i32, base_ts: i64, rules: &RecordRules) -> Result<Validated, ValidationError> {
        let b = build_batch(0, count, base_ts, body);
        let h = batch::validate(&b).unwrap();
        validate_records(&h, &b, rules, NOW)
    }

    #[test]
    fn honest_batch_passes_and_reports_its_max_timestamp() {
        let mut body = record(0, 0, Some(b"a"), b"1", 0);
        body.extend(record(7, 1, Some(b"b"), b"2", 1));
        let v = check(&body, 2, NOW - 10, &rules()).unwrap();
        assert_eq!(v.max_timestamp, NOW - 3);
    }

    #[test]
    fn offset_deltas_must_run_from_zero() {
        let mut body = record(0, 0, None, b"1", 0);
        body.extend(record(0, 5, None, b"2", 0));
        assert!(matches!(check(&body, 2, NOW, &rules()), Err(ValidationError::InvalidRecord { .. })));
    }

    #[test]
    fn future_timestamps_are_refused_per_record() {
        let mut body = record(0, 0, None, b"1", 0);
        body.extend(record(7_200_000, 1, None, b"2", 0));
        match check(&body, 2, NOW, &rules()) {
            Err(ValidationError::InvalidTimestamp { record_errors }) => {
                assert_eq!(record_errors.len(), 1);
                assert_eq!(record_errors[0].batch_index, 1);
            }
            other => panic!("expected INVALID_TIMESTAMP, got {other:?}"),
        }
    }

    #[test]
    fn compacted_topics_need_keys() {
        let mut body = record(0, 0, Some(b"k"), b"1", 0);
        body.extend(record(0, 1, None, b"2", 0));
        let r = RecordRules { compacted: true, ..rules() };
        match check(&body, 2, NOW, &r) {
            Err(ValidationError::InvalidRecord { record_errors, message }) => {
                assert_eq!(record_errors[0].batch_index, 1);
                assert!(message.contains("1 record errors"), "{message}");
            }
            other => panic!("expected INVALID_RECORD, got {other:?}"),
        }
    }

    mod prop {
        use bytes::{Bytes, BytesMut};
        use kafka_protocol::records::{
            Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
        };
        use proptest::prelude::*;

        use super::*;

        /// (key, value, header count) of one record.
        type Spec = (Option<Vec<u8>>, Vec<u8>, usize);

        fn encode(values: &[Spec], compression: Compression) -> Bytes {
            let records: Vec<Record> = values
                .iter()
                .enumerate()
                .map(|(i, (k, v, headers))| Record {
                    transactional: false,
                    control: false,
                    delete_horizon: false,
                    partition_leader_epoch: -1,
                    producer_id: -1,
                    producer_epoch: -1,
                    timestamp_type: TimestampType::Creation,
                    offset: i as i64,
                    // offset - sequence constant keeps the encoder to one batch (baseSequence -1).
                    sequence: (i as i32).wrapping_sub(1),
                    timestamp: NOW - i as i64,
                    key: k.clone().map(Bytes::from),
                    value: Some(Bytes::from(v.clone())),
                    headers: (0..*headers).map(|h| (format!("h{h}").into(), Some(Bytes::from_static(b"x")))).collect(),
                })
                .collect();
            let mut buf = BytesMut::new();
            RecordBatchEncoder::encode(&mut buf, records.iter(), &RecordEncodeOptions { version: 2, compression })
                .unwrap();
            buf.freeze()
        }

        fn codec() -> impl Strategy<Value = Compression> {
            prop_oneof![
                Just(Compression::None),
                Just(Compression::Gzip),
                Just(Compression::Snappy),
                Just(Compression::Lz4),
                Just(Compression::Zstd)
            ]
        }

        fn records() -> impl Strategy<Value = Vec<Spec>> {
            proptest::collection::vec(
                (
                    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..20)),
                    proptest::collection::vec(any::<u8>(), 0..200),
                    0usize..3,
                ),
                1..30,
            )
        }

        /// Accepted => decodable record by record with exactly the header's count.
        fn accepted_means_decodable(b: &Bytes) -> Result<bool, TestCaseError> {
            let Ok(h) = batch::validate(b) else { return Ok(false) };
            if batch::validate_produced(&h).is_err() || validate_records(&h, b, &rules(), NOW).is_err() {
                return Ok(false);
            }
            let decoded = RecordBatchDecoder::decode(&mut b.clone());
            if decoded.as_ref().is_err_and(|e| e.to_string().contains("utf-8")) {
                // Header keys are strings, but Kafka (Java) decodes them leniently and accepts
                // any bytes, as Brook does; kafka-protocol insists on UTF-8.
                return Ok(true);
            }
            prop_assert!(decoded.is_ok(), "accepted batch does not decode: {:?}", decoded.err());
            prop_assert_eq!(decoded.unwrap().records.len(), h.records_count as usize);
            Ok(true)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn honest_batches_are_accepted(values in records(), c in codec()) {
                let b = encode(&values, c);
                prop_assert!(accepted_means_decodable(&b)?, "an honest batch was refused");
            }

            #[test]
            fn whatever_is_accepted_decodes_with_the_header_count(
                values in records(),
                c in codec(),
                edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
                count in prop_oneof![Just(None), (0i32..40).prop_map(Some), Just(Some(i32::MAX))],
            ) {
                let mut m = encode(&values, c).to_vec();
                for (at, byte) in edits {
                    let i = batch::HEADER_LEN + at % (m.len() - batch::HEADER_LEN);
                    // The oracle (kafka-protocol) wants all 16 bytes of the xerial snappy header;
                    // Java and librdkafka, like Brook, check only its 8-byte magic and read the
                    // version fields after it. Edits there are no disagreement about records.
                    if matches!(c, Compression::Snappy) && (batch::HEADER_LEN + 8..batch::HEADER_LEN + 16).contains(&i) {
                        continue;
                    }
                    m[i] = byte;
                }
                if let Some(n) = count {
                    m[57..61].copy_from_slice(&n.to_be_bytes());
                    m[23..27].copy_from_slice(&(n - 1).to_be_bytes());
                }
                let crc = batch::compute_crc(&m);
                m[17..21].copy_from_slice(&crc.to_be_bytes());
                accepted_means_decodable(&Bytes::from(m))?;
            }
        }
    }
}
