//! `brook transactions`: the view of transactions `kafka-transactions.sh` gives (KIP-664),
//! for finding and ending stuck ones: `list` (ListTransactions on every broker), `describe`
//! (DescribeTransactions at the id's coordinator), `describe-producers` (DescribeProducers at
//! the partition's leader) and `abort` (WriteTxnMarkers to the leader, for a transaction whose
//! producer is gone).

use kafka_protocol::messages::describe_producers_request::TopicRequest;
use kafka_protocol::messages::write_txn_markers_request::{WritableTxnMarker, WritableTxnMarkerTopic};
use kafka_protocol::messages::{
    DescribeProducersRequest, DescribeTransactionsRequest, ListTransactionsRequest, ProducerId, TopicName,
    TransactionalId, WriteTxnMarkersRequest,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Value};

use super::client::{describe_code, CliError};
use super::cluster::{Cluster, KEY_TYPE_TRANSACTION};
use super::output::{render, Format};
use crate::util::now_ms;

#[derive(Debug, clap::Args)]
pub struct TransactionsArgs {
    #[command(flatten)]
    pub common: super::Common,
    #[command(subcommand)]
    pub command: TransactionsCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum TransactionsCommand {
    /// Every transactional id of every broker, with its state.
    List {
        /// Only these states (Ongoing, PrepareCommit, CompleteAbort...).
        #[arg(long)]
        state: Vec<String>,
        /// Only these producer ids.
        #[arg(long)]
        producer_id: Vec<i64>,
    },
    /// One transactional id: its producer, state, timeout, start and partitions.
    Describe {
        #[arg(long)]
        transactional_id: String,
    },
    /// The producers with state in one partition, with their open transaction's first offset.
    DescribeProducers {
        #[arg(long)]
        topic: String,
        #[arg(long)]
        partition: i32,
    },
    /// Ends a hanging transaction in one partition with an abort marker: the one that starts
    /// at `--start-offset`, or the producer given by id, epoch and coordinator epoch.
    Abort {
        #[arg(long)]
        topic: String,
        #[arg(long)]
        partition: i32,
        #[arg(long, conflicts_with_all = ["producer_id", "producer_epoch", "coordinator_epoch"])]
        start_offset: Option<i64>,
        #[arg(long, requires_all = ["producer_epoch", "coordinator_epoch"])]
        producer_id: Option<i64>,
        #[arg(long)]
        producer_epoch: Option<i16>,
        #[arg(long)]
        coordinator_epoch: Option<i32>,
    },
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// Runs the command: what to print.
pub async fn run(args: TransactionsArgs) -> Result<String, CliError> {
    let cluster = Cluster::connect(&args.common).await?;
    let format = args.common.format;
    match args.command {
        TransactionsCommand::List { state, producer_id } => list(&cluster, format, state, producer_id).await,
        TransactionsCommand::Describe { transactional_id } => describe(&cluster, format, &transactional_id).await,
        TransactionsCommand::DescribeProducers { topic, partition } => {
            let rows = producers(&cluster, &topic, partition).await?;
            let columns = [
                "ProducerId",
                "ProducerEpoch",
                "LatestCoordinatorEpoch",
                "LastSequence",
                "LastTimestamp",
                "CurrentTransactionStartOffset",
            ];
            let rows: Vec<Vec<Value>> = rows
                .iter()
                .map(|p| {
                    vec![
                        json!(p.producer_id),
                        json!(p.epoch),
                        json!(p.coordinator_epoch),
                        json!(p.last_sequence),
                        json!(p.last_timestamp),
                        if p.txn_start_offset >= 0 { json!(p.txn_start_offset) } else { Value::Null },
                    ]
                })
                .collect();
            Ok(render(format, &columns, &rows))
        }
        TransactionsCommand::Abort {
            topic,
            partition,
            start_offset,
            producer_id,
            producer_epoch,
            coordinator_epoch,
        } => {
            let (pid, epoch, coordinator_epoch) = match (start_offset, producer_id, producer_epoch, coordinator_epoch) {
                (Some(offset), ..) => {
                    let found = producers(&cluster, &topic, partition).await?;
                    let p = found.iter().find(|p| p.txn_start_offset == offset).ok_or_else(|| {
                        CliError::Kafka(format!("no open transaction starts at offset {offset} of {topic}-{partition}"))
                    })?;
                    (p.producer_id, p.epoch, p.coordinator_epoch)
                }
                (None, Some(pid), Some(epoch), Some(ce)) => (pid, i32::from(epoch), ce),
                _ => {
                    return Err(CliError::Usage(
                        "abort needs --start-offset, or --producer-id, --producer-epoch and --coordinator-epoch".into(),
                    ))
                }
            };
            abort(&cluster, &topic, partition, pid, epoch, coordinator_epoch).await?;
            let columns = ["Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "Result"];
            let row = vec![
                json!(topic),
                json!(partition),
                json!(pid),
                json!(epoch),
                json!(coordinator_epoch),
                json!("aborted"),
            ];
            Ok(render(format, &columns, &[row]))
        }
    }
}

async fn list(cluster: &Cluster, format: Format, states: Vec<String>, pids: Vec<i64>) -> Result<String, CliError> {
    let mut rows = Vec::new();
    for &node in cluster.brokers.keys() {
        let mut conn = cluster.node(node).await?;
        let req = ListTransactionsRequest::default()
            .with_state_filters(states.iter().map(|x| s(x)).collect())
            .with_producer_id_filters(pids.iter().map(|p| ProducerId(*p)).collect());
        let (_, r) = conn.call(&req, 0..=1).await?;
        if r.error_code != 0 {
            return Err(CliError::Kafka(format!("ListTransactions on broker {node}: {}", describe_code(r.error_code))));
        }
        for t in r.transaction_states {
            rows.push(vec![
                json!(t.transactional_id.0.as_str()),
                json!(node),
                json!(t.producer_id.0),
                json!(t.transaction_state.as_str()),
            ]);
        }
    }
    rows.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
    Ok(render(format, &["TransactionalId", "Coordinator", "ProducerId", "TransactionState"], &rows))
}

async fn describe(cluster: &Cluster, format: Format, id: &str) -> Result<String, CliError> {
    let (node, mut conn) = cluster.coordinator(KEY_TYPE_TRANSACTION, id).await?;
    let req = DescribeTransactionsRequest::default().with_transactional_ids(vec![TransactionalId(s(id))]);
    let (_, r) = conn.call(&req, 0..=0).await?;
    let t = r.transaction_states.first().ok_or_else(|| CliError::Kafka("empty DescribeTransactions answer".into()))?;
    if t.error_code != 0 {
        return Err(CliError::Kafka(format!("transactional id {id}: {}", describe_code(t.error_code))));
    }
    let partitions: Vec<String> =
        t.topics.iter().flat_map(|tp| tp.partitions.iter().map(move |p| format!("{}-{p}", tp.topic.0))).collect();
    let start = t.transaction_start_time_ms;
    let columns = [
        "CoordinatorId",
        "TransactionalId",
        "ProducerId",
        "ProducerEpoch",
        "TransactionState",
        "TransactionTimeoutMs",
        "CurrentTransactionStartTimeMs",
        "TransactionDurationMs",
        "TopicPartitions",
    ];
    let row = vec![
        json!(node),
        json!(id),
        json!(t.producer_id.0),
        json!(t.producer_epoch),
        json!(t.transaction_state.as_str()),
        json!(t.transaction_timeout_ms),
        if start >= 0 { json!(start) } else { Value::Null },
        if start >= 0 { json!(now_ms().saturating_sub(start)) } else { Value::Null },
        json!(partitions.join(",")),
    ];
    Ok(render(format, &columns, &[row]))
}

/// One producer of a partition, as DescribeProducers reports it.
struct Producer {
    producer_id: i64,
    epoch: i32,
    coordinator_epoch: i32,
    last_sequence: i32,
    last_timestamp: i64,
    txn_start_offset: i64,
}

async fn producers(cluster: &Cluster, topic: &str, partition: i32) -> Result<Vec<Producer>, CliError> {
    let mut conn = cluster.leader(topic, partition).await?;
    let req = DescribeProducersRequest::default().with_topics(vec![TopicRequest::default()
        .with_name(TopicName(s(topic)))
        .with_partition_indexes(vec![partition])]);
    let (_, r) = conn.call(&req, 0..=0).await?;
    let p = r
        .topics
        .first()
        .and_then(|t| t.partitions.first())
        .ok_or_else(|| CliError::Kafka("empty DescribeProducers answer".into()))?;
    if p.error_code != 0 {
        return Err(CliError::Kafka(format!("{topic}-{partition}: {}", describe_code(p.error_code))));
    }
    Ok(p.active_producers
        .iter()
        .map(|a| Producer {
            producer_id: a.producer_id.0,
            epoch: a.producer_epoch,
            coordinator_epoch: a.coordinator_epoch,
            last_sequence: a.last_sequence,
            last_timestamp: a.last_timestamp,
            txn_start_offset: a.current_txn_start_offset,
        })
        .collect())
}

async fn abort(
    cluster: &Cluster,
    topic: &str,
    partition: i32,
    producer_id: i64,
    epoch: i32,
    coordinator_epoch: i32,
) -> Result<(), CliError> {
    let epoch = i16::try_from(epoch).map_err(|_| CliError::Usage(format!("producer epoch {epoch} out of range")))?;
    let mut conn = cluster.leader(topic, partition).await?;
    let req = WriteTxnMarkersRequest::default().with_markers(vec![WritableTxnMarker::default()
        .with_producer_id(ProducerId(producer_id))
        .with_producer_epoch(epoch)
        .with_transaction_result(false)
        .with_coordinator_epoch(coordinator_epoch)
        .with_topics(vec![WritableTxnMarkerTopic::default()
            .with_name(TopicName(s(topic)))
            .with_partition_indexes(vec![partition])])]);
    let (_, r) = conn.call(&req, 0..=1).await?;
    let code = r
        .markers
        .first()
        .and_then(|m| m.topics.first())
        .and_then(|t| t.partitions.first())
        .map_or(-1, |p| p.error_code);
    if code != 0 {
        return Err(CliError::Kafka(format!("abort in {topic}-{partition}: {}", describe_code(code))));
    }
    Ok(())
}
