//! `brook produce`: records from stdin or a file, one per line (the key split off at a
//! delimiter, or one key for all), to a topic: each record to its `--partition`, or by its
//! key's murmur2 hash as Kafka's default partitioner places it, or round-robin. One batch per
//! partition and request, sent to the partition's leader; prints each batch's base offset.

use std::collections::BTreeMap;
use std::io::BufRead;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use serde_json::json;

use super::client::{describe_code, CliError};
use super::cluster::Cluster;
use super::output::render;

/// Records per produced batch.
const BATCH_RECORDS: usize = 1000;

#[derive(Debug, clap::Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub common: super::Common,
    pub topic: String,
    /// Every record to this partition (default: by key, or round-robin without one).
    #[arg(long)]
    pub partition: Option<i32>,
    /// The key of every record.
    #[arg(long, conflicts_with = "delimiter")]
    pub key: Option<String>,
    /// Each line is `key<delimiter>value`.
    #[arg(long)]
    pub delimiter: Option<String>,
    /// A header of every record, `key=value` (repeatable).
    #[arg(long)]
    pub header: Vec<String>,
    /// Read the records from this file instead of stdin.
    #[arg(long)]
    pub file: Option<std::path::PathBuf>,
    /// -1 (all in-sync replicas, durable), 1 (the leader) or 0 (no answer).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub acks: i16,
    #[arg(long, value_enum, default_value = "none")]
    pub compression: Codec,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Codec {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

impl Codec {
    fn compression(self) -> Compression {
        match self {
            Codec::None => Compression::None,
            Codec::Gzip => Compression::Gzip,
            Codec::Snappy => Compression::Snappy,
            Codec::Lz4 => Compression::Lz4,
            Codec::Zstd => Compression::Zstd,
        }
    }
}

/// Kafka's `Utils.murmur2` (the default partitioner's hash of a key).
pub fn murmur2(data: &[u8]) -> i32 {
    const M: i32 = 0x5bd1_e995;
    let len = data.len() as i32;
    let mut h: i32 = (0x9747_b28c_u32 as i32) ^ len;
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = i32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= ((k as u32) >> 24) as i32;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let rest = chunks.remainder();
    if rest.len() >= 3 {
        h ^= i32::from(rest[2]) << 16;
    }
    if rest.len() >= 2 {
        h ^= i32::from(rest[1]) << 8;
    }
    if !rest.is_empty() {
        h ^= i32::from(rest[0]);
        h = h.wrapping_mul(M);
    }
    h ^= ((h as u32) >> 13) as i32;
    h = h.wrapping_mul(M);
    h ^= ((h as u32) >> 15) as i32;
    h
}

/// The partition Kafka's default partitioner gives a key.
pub fn partition_for_key(key: &[u8], partitions: i32) -> i32 {
    (murmur2(key) & 0x7fff_ffff) % partitions.max(1)
}

pub async fn run(args: ProduceArgs) -> Result<String, CliError> {
    let cluster = Cluster::connect(&args.common).await?;
    let t = cluster.topic(&args.topic).await?;
    let leaders: BTreeMap<i32, i32> = t.partitions.iter().map(|p| (p.partition_index, p.leader_id.0)).collect();
    let count = leaders.len() as i32;
    if let Some(p) = args.partition.filter(|p| !leaders.contains_key(p)) {
        return Err(CliError::Kafka(format!("topic {} has no partition {p}", args.topic)));
    }
    let headers: IndexMap<StrBytes, Option<Bytes>> = super::topics::key_values(&args.header)?
        .into_iter()
        .map(|(k, v)| (StrBytes::from_string(k), Some(Bytes::from(v))))
        .collect();
    let lines: Vec<String> = match &args.file {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", path.display())))?
            .lines()
            .map(str::to_string)
            .collect(),
        None => std::io::stdin()
            .lock()
            .lines()
            .collect::<Result<_, _>>()
            .map_err(|e| CliError::Usage(format!("stdin: {e}")))?,
    };
    let now = crate::util::now_ms();
    let mut by_partition: BTreeMap<i32, Vec<Record>> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let (key, value) = match (&args.delimiter, &args.key) {
            (Some(d), _) => match line.split_once(d.as_str()) {
                Some((k, v)) => (Some(k.to_string()), v.to_string()),
                None => (None, line.clone()),
            },
            (None, Some(k)) => (Some(k.clone()), line.clone()),
            (None, None) => (None, line.clone()),
        };
        let partition = match (args.partition, &key) {
            (Some(p), _) => p,
            (None, Some(k)) => partition_for_key(k.as_bytes(), count),
            (None, None) => i as i32 % count.max(1),
        };
        let records = by_partition.entry(partition).or_default();
        records.push(Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: records.len() as i64,
            sequence: -1,
            timestamp: now,
            key: key.map(Bytes::from),
            value: Some(Bytes::from(value)),
            headers: headers.clone(),
        });
    }
    let options = RecordEncodeOptions { version: 2, compression: args.compression.compression() };
    let mut rows = Vec::new();
    for (partition, records) in by_partition {
        let leader = leaders
            .get(&partition)
            .ok_or_else(|| CliError::Kafka(format!("topic {} has no partition {partition}", args.topic)))?;
        let mut conn = cluster.node(*leader).await?;
        for chunk in records.chunks(BATCH_RECORDS) {
            let mut offset_fixed: Vec<Record> = chunk.to_vec();
            for (i, r) in offset_fixed.iter_mut().enumerate() {
                // The encoder starts a new batch where offset - sequence changes; with no
                // producer this keeps one batch whose base sequence is -1.
                r.offset = i as i64;
                r.sequence = (i as i32).wrapping_sub(1);
            }
            let mut buf = BytesMut::new();
            RecordBatchEncoder::encode(&mut buf, offset_fixed.iter(), &options)
                .map_err(|e| CliError::Usage(format!("cannot encode the records: {e}")))?;
            let req = ProduceRequest::default().with_acks(args.acks).with_timeout_ms(30_000).with_topic_data(vec![
                TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_string(args.topic.clone())))
                    .with_partition_data(vec![PartitionProduceData::default()
                        .with_index(partition)
                        .with_records(Some(buf.freeze()))]),
            ]);
            if args.acks == 0 {
                conn.send_only(&req, 3..=11).await?;
                rows.push(vec![json!(partition), serde_json::Value::Null, json!(chunk.len())]);
                continue;
            }
            let (_, r) = conn.call(&req, 3..=11).await?;
            let p = r
                .responses
                .first()
                .and_then(|t| t.partition_responses.first())
                .ok_or_else(|| CliError::Kafka("empty Produce answer".into()))?;
            if p.error_code != 0 {
                let msg = p.error_message.as_ref().map_or(String::new(), |m| format!(": {m}"));
                return Err(CliError::Kafka(format!(
                    "{}-{partition}: {}{msg}",
                    args.topic,
                    describe_code(p.error_code)
                )));
            }
            rows.push(vec![json!(partition), json!(p.base_offset), json!(chunk.len())]);
        }
    }
    Ok(render(args.common.format, &["Partition", "BaseOffset", "Records"], &rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur2_is_kafkas() {
        // Kafka's UtilsTest.testMurmur2 cases.
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973932308),
            (b"foobar", -790332482),
            (b"a-little-bit-long-string", -985981536),
            (b"a-little-bit-longer-string", -1486304829),
            (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
            (b"abc", 479470107),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data), want, "{:?}", String::from_utf8_lossy(data));
        }
        assert!((0..100).all(|i| (0..6).contains(&partition_for_key(format!("k{i}").as_bytes(), 6))));
    }
}
