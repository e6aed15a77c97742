//! `brook consume`: records of a topic's partitions from an offset (earliest, latest or a
//! number), read from each partition's leader with Fetch (read_committed on request, aborted
//! transactions dropped as a consumer drops them), printed one per line (the value, or the
//! key and the value) or as JSON lines; it stops after `--num` records, or at the end of the
//! partitions with `--exit-at-end`, else follows the topic.

use std::collections::BTreeMap;
use std::io::Write;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::RecordBatchDecoder;
use serde_json::json;

use super::client::{describe_code, CliError, Conn};
use super::cluster::Cluster;
use super::output::Format;

#[derive(Debug, clap::Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub common: super::Common,
    pub topic: String,
    /// Only these partitions (default: all).
    #[arg(long)]
    pub partition: Vec<i32>,
    /// Where to start: `earliest`, `latest` or an offset.
    #[arg(long, default_value = "earliest")]
    pub offset: String,
    /// Stop after this many records.
    #[arg(short, long)]
    pub num: Option<usize>,
    /// Stop once every partition is read to the end it had when the command started.
    #[arg(long)]
    pub exit_at_end: bool,
    /// Print each record's key before its value (tab-separated).
    #[arg(long)]
    pub print_key: bool,
    /// Read only committed transactions (isolation level read_committed).
    #[arg(long)]
    pub read_committed: bool,
}

/// One partition being read: its leader, the next offset, and where it ends (for
/// `--exit-at-end`).
struct Cursor {
    leader: i32,
    next: i64,
    end: i64,
}

pub async fn run(args: ConsumeArgs) -> Result<String, CliError> {
    let cluster = Cluster::connect(&args.common).await?;
    let t = cluster.topic(&args.topic).await?;
    let leaders: BTreeMap<i32, i32> = t
        .partitions
        .iter()
        .filter(|p| args.partition.is_empty() || args.partition.contains(&p.partition_index))
        .map(|p| (p.partition_index, p.leader_id.0))
        .collect();
    if let Some(p) = args.partition.iter().find(|p| !leaders.contains_key(p)) {
        return Err(CliError::Kafka(format!("topic {} has no partition {p}", args.topic)));
    }
    let starts = super::topics::start_offsets(&cluster, &args.topic).await?;
    let ends = super::topics::end_offsets(&cluster, &args.topic).await?;
    let mut cursors: BTreeMap<i32, Cursor> = BTreeMap::new();
    for (&p, &leader) in &leaders {
        let next = match args.offset.as_str() {
            "earliest" => starts.get(&p).copied().unwrap_or(0),
            "latest" => ends.get(&p).copied().unwrap_or(0),
            n => n
                .parse()
                .map_err(|_| CliError::Usage(format!("--offset is earliest, latest or a number, not {n:?}")))?,
        };
        cursors.insert(p, Cursor { leader, next, end: ends.get(&p).copied().unwrap_or(0) });
    }
    let mut conns: BTreeMap<i32, Conn> = BTreeMap::new();
    let mut printed = 0usize;
    let mut out = std::io::stdout().lock();
    loop {
        if args.num.is_some_and(|n| printed >= n) || (args.exit_at_end && cursors.values().all(|c| c.next >= c.end)) {
            return Ok(String::new());
        }
        let by_leader: BTreeMap<i32, Vec<i32>> = cursors.iter().fold(BTreeMap::new(), |mut m, (p, c)| {
            m.entry(c.leader).or_insert_with(Vec::new).push(*p);
            m
        });
        for (leader, parts) in by_leader {
            let conn = match conns.entry(leader) {
                std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::btree_map::Entry::Vacant(e) => e.insert(cluster.node(leader).await?),
            };
            let req = FetchRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_max_wait_ms(500)
                .with_min_bytes(1)
                .with_max_bytes(16 << 20)
                .with_isolation_level(i8::from(args.read_committed))
                .with_session_epoch(-1)
                .with_topics(vec![FetchTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(args.topic.clone())))
                    .with_partitions(
                        parts
                            .iter()
                            .map(|p| {
                                FetchPartition::default()
                                    .with_partition(*p)
                                    .with_fetch_offset(cursors[p].next)
                                    .with_partition_max_bytes(1 << 20)
                            })
                            .collect(),
                    )]);
            let (_, r) = conn.call(&req, 4..=12).await?;
            if r.error_code != 0 {
                return Err(CliError::Kafka(format!("fetch: {}", describe_code(r.error_code))));
            }
            for topic in r.responses {
                for pd in topic.partitions {
                    if pd.error_code != 0 {
                        return Err(CliError::Kafka(format!(
                            "{}-{}: {}",
                            args.topic,
                            pd.partition_index,
                            describe_code(pd.error_code)
                        )));
                    }
                    let Some(cursor) = cursors.get_mut(&pd.partition_index) else { continue };
                    let aborted: Vec<(i64, i64)> = pd
                        .aborted_transactions
                        .unwrap_or_default()
                        .iter()
                        .map(|a| (a.producer_id.0, a.first_offset))
                        .collect();
                    let Some(mut bytes) = pd.records else { continue };
                    // Whole batches, each decoded on its own; the cursor moves past each
                    // batch's last offset (a compacted batch may end after its last record).
                    while let Ok(h) = crate::log::batch::BatchHeader::parse(&bytes) {
                        if h.total_len() > bytes.len() || h.total_len() == 0 {
                            break;
                        }
                        let mut one = bytes.split_to(h.total_len());
                        let set = RecordBatchDecoder::decode(&mut one)
                            .map_err(|e| CliError::Kafka(format!("cannot decode the records: {e}")))?;
                        let batch_next = h.next_offset();
                        for rec in set.records {
                            if rec.offset < cursor.next {
                                continue;
                            }
                            cursor.next = rec.offset + 1;
                            let dropped = rec.transactional
                                && aborted.iter().any(|(pid, first)| rec.producer_id == *pid && rec.offset >= *first);
                            if rec.control || dropped || args.num.is_some_and(|n| printed >= n) {
                                continue;
                            }
                            let text =
                                |b: &Option<bytes::Bytes>| b.as_ref().map(|v| String::from_utf8_lossy(v).to_string());
                            let line = match args.common.format {
                                Format::Json => json!({
                                    "topic": args.topic,
                                    "partition": pd.partition_index,
                                    "offset": rec.offset,
                                    "timestamp": rec.timestamp,
                                    "key": text(&rec.key),
                                    "value": text(&rec.value),
                                    "headers": rec.headers.iter().map(|(k, v)| (k.to_string(), text(v))).collect::<BTreeMap<_, _>>(),
                                })
                                .to_string(),
                                Format::Table if args.print_key => {
                                    format!("{}\t{}", text(&rec.key).unwrap_or_default(), text(&rec.value).unwrap_or_default())
                                }
                                Format::Table => text(&rec.value).unwrap_or_default(),
                            };
                            writeln!(out, "{line}").map_err(|e| CliError::Usage(format!("stdout: {e}")))?;
                            printed += 1;
                        }
                        cursor.next = cursor.next.max(batch_next);
                    }
                    // read_committed reads stop at the LSO: a transaction left open ends the
                    // partition there.
                    if args.read_committed && pd.last_stable_offset >= 0 {
                        cursor.end = cursor.end.min(pd.last_stable_offset.max(cursor.next));
                    }
                }
            }
        }
    }
}
