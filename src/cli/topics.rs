//! `brook topic`: list, create, describe (partitions with their offsets, and configs with
//! their sources), delete and alter-config, over the Kafka protocol, as `rpk topic` does.

use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    BrokerId, CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest, IncrementalAlterConfigsRequest,
    ListOffsetsRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use serde_json::{json, Value};

use super::client::{describe_code, CliError};
use super::cluster::Cluster;
use super::output::{render, Format};

/// DescribeConfigs' resource type of a topic.
const RESOURCE_TOPIC: i8 = 2;
/// ListOffsets' special timestamps.
const EARLIEST: i64 = -2;
const LATEST: i64 = -1;

#[derive(Debug, clap::Args)]
pub struct TopicArgs {
    #[command(flatten)]
    pub common: super::Common,
    #[command(subcommand)]
    pub command: TopicCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum TopicCommand {
    /// Every topic with its partition count (internal topics too with --internal).
    List {
        #[arg(long)]
        internal: bool,
    },
    /// Creates topics.
    Create {
        #[arg(required = true)]
        names: Vec<String>,
        /// Partitions (-1: the broker's num.partitions).
        #[arg(short, long, default_value_t = -1)]
        partitions: i32,
        /// Replication factor (-1: the broker's default).
        #[arg(short, long, default_value_t = -1)]
        replicas: i16,
        /// A topic config, `key=value` (repeatable).
        #[arg(short, long = "config")]
        configs: Vec<String>,
    },
    /// One topic: its partitions (leader, log start and end offsets) and its configs.
    Describe { name: String },
    /// Deletes topics.
    Delete {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Sets (`--set key=value`) or removes (`--delete key`) topic configs.
    AlterConfig {
        name: String,
        #[arg(long)]
        set: Vec<String>,
        #[arg(long)]
        delete: Vec<String>,
    },
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// `key=value` pairs of a command line.
pub fn key_values(items: &[String]) -> Result<Vec<(String, String)>, CliError> {
    items
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(CliError::Usage(format!("expected key=value, got {kv:?}"))),
        })
        .collect()
}

pub async fn run(args: TopicArgs) -> Result<String, CliError> {
    let format = args.common.format;
    let cluster = Cluster::connect(&args.common).await?;
    match args.command {
        TopicCommand::List { internal } => list(&cluster, format, internal).await,
        TopicCommand::Create { names, partitions, replicas, configs } => {
            create(&cluster, format, names, partitions, replicas, key_values(&configs)?).await
        }
        TopicCommand::Describe { name } => describe(&cluster, format, &name).await,
        TopicCommand::Delete { names } => delete(&cluster, format, names).await,
        TopicCommand::AlterConfig { name, set, delete } => {
            alter_config(&cluster, format, &name, key_values(&set)?, delete).await
        }
    }
}

async fn list(cluster: &Cluster, format: Format, internal: bool) -> Result<String, CliError> {
    let meta = cluster.metadata(None).await?;
    let mut rows: Vec<Vec<Value>> = meta
        .topics
        .iter()
        .filter(|t| internal || !t.is_internal)
        .map(|t| {
            let name = t.name.as_ref().map_or(String::new(), |n| n.0.to_string());
            let replicas = t.partitions.first().map_or(0, |p| p.replica_nodes.len());
            vec![json!(name), json!(t.partitions.len()), json!(replicas)]
        })
        .collect();
    rows.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
    Ok(render(format, &["Name", "Partitions", "Replicas"], &rows))
}

/// One row per topic of a per-topic answer: (name, error code, message); an error fails the
/// command after printing every row.
fn results(format: Format, rows: Vec<(String, i16, Option<String>)>) -> Result<String, CliError> {
    let failed: Vec<String> = rows
        .iter()
        .filter(|r| r.1 != 0)
        .map(|(t, code, msg)| {
            format!("{t}: {}{}", describe_code(*code), msg.as_ref().map_or(String::new(), |m| format!(": {m}")))
        })
        .collect();
    if !failed.is_empty() {
        return Err(CliError::Kafka(failed.join("; ")));
    }
    let rows: Vec<Vec<Value>> = rows.into_iter().map(|(t, _, _)| vec![json!(t), json!("OK")]).collect();
    Ok(render(format, &["Topic", "Status"], &rows))
}

async fn create(
    cluster: &Cluster,
    format: Format,
    names: Vec<String>,
    partitions: i32,
    replicas: i16,
    configs: Vec<(String, String)>,
) -> Result<String, CliError> {
    let topics = names
        .iter()
        .map(|n| {
            CreatableTopic::default()
                .with_name(TopicName(s(n)))
                .with_num_partitions(partitions)
                .with_replication_factor(replicas)
                .with_configs(
                    configs
                        .iter()
                        .map(|(k, v)| CreatableTopicConfig::default().with_name(s(k)).with_value(Some(s(v))))
                        .collect(),
                )
        })
        .collect();
    let req = CreateTopicsRequest::default().with_timeout_ms(30_000).with_topics(topics);
    let (_, r) = cluster.admin().await?.call(&req, 2..=7).await?;
    results(
        format,
        r.topics
            .iter()
            .map(|t| (t.name.0.to_string(), t.error_code, t.error_message.as_ref().map(|m| m.to_string())))
            .collect(),
    )
}

async fn delete(cluster: &Cluster, format: Format, names: Vec<String>) -> Result<String, CliError> {
    let mut conn = cluster.admin().await?;
    let v = conn.version::<DeleteTopicsRequest>(1..=6)?;
    let req = if v >= 6 {
        DeleteTopicsRequest::default()
            .with_topics(names.iter().map(|n| DeleteTopicState::default().with_name(Some(TopicName(s(n))))).collect())
    } else {
        DeleteTopicsRequest::default().with_topic_names(names.iter().map(|n| TopicName(s(n))).collect())
    }
    .with_timeout_ms(30_000);
    let (_, r) = conn.call(&req, v..=v).await?;
    results(
        format,
        r.responses
            .iter()
            .map(|t| {
                let name = t.name.as_ref().map_or(String::new(), |n| n.0.to_string());
                (name, t.error_code, t.error_message.as_ref().map(|m| m.to_string()))
            })
            .collect(),
    )
}

async fn alter_config(
    cluster: &Cluster,
    format: Format,
    name: &str,
    set: Vec<(String, String)>,
    delete: Vec<String>,
) -> Result<String, CliError> {
    if set.is_empty() && delete.is_empty() {
        return Err(CliError::Usage("alter-config needs --set key=value or --delete key".into()));
    }
    // IncrementalAlterConfigs operations: 0 SET, 1 DELETE.
    let mut configs: Vec<AlterableConfig> = set
        .iter()
        .map(|(k, v)| AlterableConfig::default().with_name(s(k)).with_config_operation(0).with_value(Some(s(v))))
        .collect();
    configs.extend(delete.iter().map(|k| AlterableConfig::default().with_name(s(k)).with_config_operation(1)));
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
        .with_resource_type(RESOURCE_TOPIC)
        .with_resource_name(s(name))
        .with_configs(configs)]);
    let (_, r) = cluster.admin().await?.call(&req, 0..=1).await?;
    results(
        format,
        r.responses
            .iter()
            .map(|t| (t.resource_name.to_string(), t.error_code, t.error_message.as_ref().map(|m| m.to_string())))
            .collect(),
    )
}

/// Each partition's offsets at `timestamp` (EARLIEST / LATEST), asked of its leader.
async fn offsets(
    cluster: &Cluster,
    topic: &str,
    leaders: &[(i32, i32)],
    timestamp: i64,
) -> Result<std::collections::BTreeMap<i32, i64>, CliError> {
    let mut by_leader: std::collections::BTreeMap<i32, Vec<i32>> = Default::default();
    for (p, leader) in leaders {
        by_leader.entry(*leader).or_default().push(*p);
    }
    let mut out = std::collections::BTreeMap::new();
    for (leader, parts) in by_leader {
        let mut conn = cluster.node(leader).await?;
        let req =
            ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![ListOffsetsTopic::default()
                .with_name(TopicName(s(topic)))
                .with_partitions(
                    parts
                        .iter()
                        .map(|p| ListOffsetsPartition::default().with_partition_index(*p).with_timestamp(timestamp))
                        .collect(),
                )]);
        let (_, r) = conn.call(&req, 1..=8).await?;
        for t in r.topics {
            for p in t.partitions {
                out.insert(p.partition_index, if p.error_code == 0 { p.offset } else { -1 });
            }
        }
    }
    Ok(out)
}

/// Each partition's `(partition, leader)` of a topic (none for an unknown topic).
async fn leaders(cluster: &Cluster, topic: &str) -> Result<Vec<(i32, i32)>, CliError> {
    let meta = cluster.metadata(Some(&[topic.to_string()])).await?;
    Ok(meta
        .topics
        .iter()
        .filter(|t| t.error_code == 0)
        .flat_map(|t| t.partitions.iter().map(|p| (p.partition_index, p.leader_id.0)))
        .collect())
}

/// Each partition's log end offset (the high watermark).
pub(super) async fn end_offsets(
    cluster: &Cluster,
    topic: &str,
) -> Result<std::collections::BTreeMap<i32, i64>, CliError> {
    offsets(cluster, topic, &leaders(cluster, topic).await?, LATEST).await
}

/// Each partition's log start offset.
pub(super) async fn start_offsets(
    cluster: &Cluster,
    topic: &str,
) -> Result<std::collections::BTreeMap<i32, i64>, CliError> {
    offsets(cluster, topic, &leaders(cluster, topic).await?, EARLIEST).await
}

async fn describe(cluster: &Cluster, format: Format, name: &str) -> Result<String, CliError> {
    let t = cluster.topic(name).await?;
    let mut parts: Vec<_> = t.partitions.iter().collect();
    parts.sort_by_key(|p| p.partition_index);
    let leaders: Vec<(i32, i32)> = parts.iter().map(|p| (p.partition_index, p.leader_id.0)).collect();
    let starts = offsets(cluster, name, &leaders, EARLIEST).await?;
    let ends = offsets(cluster, name, &leaders, LATEST).await?;
    let partition_rows: Vec<Vec<Value>> = parts
        .iter()
        .map(|p| {
            let replicas: Vec<i32> = p.replica_nodes.iter().map(|r| r.0).collect();
            vec![
                json!(p.partition_index),
                json!(p.leader_id.0),
                json!(p.leader_epoch),
                json!(replicas),
                json!(starts.get(&p.partition_index)),
                json!(ends.get(&p.partition_index)),
            ]
        })
        .collect();
    let req = DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
        .with_resource_type(RESOURCE_TOPIC)
        .with_resource_name(s(name))
        .with_configuration_keys(None)]);
    let (_, r) = cluster.admin().await?.call(&req, 1..=4).await?;
    let res = r.results.first().ok_or_else(|| CliError::Kafka("empty DescribeConfigs answer".into()))?;
    if res.error_code != 0 {
        return Err(CliError::Kafka(format!("configs of {name}: {}", describe_code(res.error_code))));
    }
    let config_rows: Vec<Vec<Value>> = res
        .configs
        .iter()
        .map(|c| {
            let value = if c.is_sensitive { Value::Null } else { json!(c.value.as_ref().map(|v| v.to_string())) };
            vec![json!(c.name.to_string()), value, json!(config_source(c.config_source))]
        })
        .collect();
    let id = t.topic_id.to_string();
    let partition_columns = ["Partition", "Leader", "Epoch", "Replicas", "LogStartOffset", "HighWatermark"];
    let config_columns = ["Key", "Value", "Source"];
    Ok(match format {
        Format::Json => {
            let objects = |columns: &[&str], rows: &[Vec<Value>]| -> Value {
                serde_json::from_str(&render(Format::Json, columns, rows)).unwrap_or(Value::Null)
            };
            let doc = json!({
                "name": name,
                "id": id,
                "internal": t.is_internal,
                "partitions": objects(&partition_columns, &partition_rows),
                "configs": objects(&config_columns, &config_rows),
            });
            format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default())
        }
        Format::Table => format!(
            "NAME      {name}\nID        {id}\nINTERNAL  {}\n\nPARTITIONS\n{}\nCONFIGS\n{}",
            t.is_internal,
            render(Format::Table, &partition_columns, &partition_rows),
            render(Format::Table, &config_columns, &config_rows)
        ),
    })
}

/// DescribeConfigs' source ids as Kafka's tools name them.
fn config_source(id: i8) -> &'static str {
    match id {
        1 => "DYNAMIC_TOPIC_CONFIG",
        2 => "DYNAMIC_BROKER_CONFIG",
        3 => "DYNAMIC_DEFAULT_BROKER_CONFIG",
        4 => "STATIC_BROKER_CONFIG",
        5 => "DEFAULT_CONFIG",
        6 => "DYNAMIC_BROKER_LOGGER_CONFIG",
        7 => "CLIENT_METRICS_CONFIG",
        8 => "GROUP_CONFIG",
        _ => "UNKNOWN",
    }
}
