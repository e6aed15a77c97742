//! A produce payload through the broker's whole validation (batch split, header rules, CRC,
//! records walked in place or through the bounded decompressor). Whatever it accepts must be
//! decodable record by record with exactly the header's count.
#![no_main]

use brook::log::batch;
use brook::log::validate::{validate_records, RecordRules};
use libfuzzer_sys::fuzz_target;

const RULES: RecordRules = RecordRules {
    log_append_time: false,
    timestamp_before_max_ms: i64::MAX,
    timestamp_after_max_ms: i64::MAX,
    compacted: false,
    max_uncompressed_bytes: 1 << 20,
    max_batch_bytes: 1 << 20,
};

fuzz_target!(|data: &[u8]| {
    // Most inputs fail the CRC; the first variant fixes it up so the record walk is reached.
    for fix_crc in [true, false] {
        let mut bytes = data.to_vec();
        if fix_crc && bytes.len() >= batch::HEADER_LEN {
            let crc = batch::compute_crc(&bytes);
            bytes[17..21].copy_from_slice(&crc.to_be_bytes());
        }
        let Ok(mut batches) = batch::split_batches(bytes::Bytes::from(bytes)) else { continue };
        let Some((header, b)) = batches.pop() else { continue };
        if batch::validate_produced(&header).is_err() {
            continue;
        }
        if validate_records(&header, &b, &RULES, 1_700_000_000_000).is_ok() {
            match kafka_protocol::records::RecordBatchDecoder::decode(&mut b.clone()) {
                Ok(decoded) => assert_eq!(decoded.records.len(), header.records_count as usize),
                // Kafka (Java) and Brook accept any bytes in header keys; kafka-protocol wants
                // UTF-8. Its snappy reader also wants the whole 16-byte xerial header where
                // Java and librdkafka check the 8-byte magic.
                Err(e) if e.to_string().contains("utf-8") || header.compression() == 2 => {}
                Err(e) => panic!("a batch the validator accepts does not decode: {e}"),
            }
        }
    }
});
