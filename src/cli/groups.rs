//! `brook group`: list, describe (members, their assignment, and the lag of every committed
//! partition; a share group's start offsets and backlog), reset-offsets (of a group with no
//! members) and delete, over the Kafka protocol, as `kafka-consumer-groups.sh`,
//! `kafka-share-groups.sh` and `rpk group` do.

use std::collections::BTreeMap;

use bytes::Buf;
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::{
    ConsumerGroupDescribeRequest, ConsumerProtocolAssignment, DeleteGroupsRequest, DescribeGroupsRequest,
    DescribeShareGroupOffsetsRequest, GroupId, ListGroupsRequest, OffsetCommitRequest, OffsetFetchRequest,
    ShareGroupDescribeRequest, TopicName,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use serde_json::{json, Value};

use super::client::{describe_code, CliError, Conn};
use super::cluster::{Cluster, KEY_TYPE_GROUP};
use super::output::{render, Format};

#[derive(Debug, clap::Args)]
pub struct GroupArgs {
    #[command(flatten)]
    pub common: super::Common,
    #[command(subcommand)]
    pub command: GroupCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum GroupCommand {
    /// Every group of every broker, with its state.
    List,
    /// One group: its state, members and assignment, and per partition the committed
    /// offset, the log end offset and the lag.
    Describe { group: String },
    /// Moves a group's committed offsets (the group must have no members).
    ResetOffsets {
        group: String,
        #[arg(long)]
        topic: String,
        /// Only these partitions (default: every partition of the topic).
        #[arg(long)]
        partition: Vec<i32>,
        /// `earliest`, `latest` or an offset.
        #[arg(long)]
        to: String,
    },
    /// Deletes groups with no members, and their committed offsets.
    Delete {
        #[arg(required = true)]
        groups: Vec<String>,
    },
}

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

pub async fn run(args: GroupArgs) -> Result<String, CliError> {
    let format = args.common.format;
    let cluster = Cluster::connect(&args.common).await?;
    match args.command {
        GroupCommand::List => list(&cluster, format).await,
        GroupCommand::Describe { group } => describe(&cluster, format, &group).await,
        GroupCommand::ResetOffsets { group, topic, partition, to } => {
            reset_offsets(&cluster, format, &group, &topic, partition, &to).await
        }
        GroupCommand::Delete { groups } => delete(&cluster, format, groups).await,
    }
}

async fn list(cluster: &Cluster, format: Format) -> Result<String, CliError> {
    let mut rows = Vec::new();
    for &node in cluster.brokers.keys() {
        let (_, r) = cluster.node(node).await?.call(&ListGroupsRequest::default(), 0..=4).await?;
        if r.error_code != 0 {
            return Err(CliError::Kafka(format!("ListGroups on broker {node}: {}", describe_code(r.error_code))));
        }
        for g in r.groups {
            let state = if g.group_state.is_empty() { Value::Null } else { json!(g.group_state.as_str()) };
            rows.push(vec![json!(g.group_id.0.as_str()), json!(node), state, json!(g.protocol_type.as_str())]);
        }
    }
    rows.sort_by(|a, b| a[0].as_str().cmp(&b[0].as_str()));
    Ok(render(format, &["Group", "Coordinator", "State", "ProtocolType"], &rows))
}

/// The group's state as DescribeGroups reports it: (state, protocol type, protocol, members).
struct Described {
    state: String,
    protocol_type: String,
    protocol: String,
    members: Vec<Member>,
}

/// One member as DescribeGroups reports it.
struct Member {
    id: String,
    instance_id: Option<String>,
    client_id: String,
    host: String,
    /// Its assignment's (topic, partition)s (a consumer group's only).
    assigned: Vec<(String, i32)>,
}

async fn describe_group(conn: &mut Conn, group: &str) -> Result<Described, CliError> {
    let req = DescribeGroupsRequest::default().with_groups(vec![GroupId(s(group))]);
    let (_, r) = conn.call(&req, 0..=5).await?;
    let g = r.groups.first().ok_or_else(|| CliError::Kafka("empty DescribeGroups answer".into()))?;
    // A consumer group (KIP-848) is Dead to DescribeGroups: ask ConsumerGroupDescribe.
    if g.group_state.as_str() == "Dead" || g.error_code == GROUP_ID_NOT_FOUND {
        if let Some(d) = describe_consumer_group(conn, group).await? {
            return Ok(d);
        }
        if let Some(d) = describe_share_group(conn, group).await? {
            return Ok(d);
        }
    }
    if g.error_code != 0 {
        return Err(CliError::Kafka(format!("group {group}: {}", describe_code(g.error_code))));
    }
    let members = g
        .members
        .iter()
        .map(|m| {
            let assigned =
                if g.protocol_type.as_str() == "consumer" { assignment(&m.member_assignment) } else { vec![] };
            Member {
                id: m.member_id.to_string(),
                instance_id: m.group_instance_id.as_ref().map(|i| i.to_string()),
                client_id: m.client_id.to_string(),
                host: m.client_host.to_string(),
                assigned,
            }
        })
        .collect();
    Ok(Described {
        state: g.group_state.to_string(),
        protocol_type: g.protocol_type.to_string(),
        protocol: g.protocol_data.to_string(),
        members,
    })
}

/// Kafka's GROUP_ID_NOT_FOUND.
const GROUP_ID_NOT_FOUND: i16 = 69;

/// A consumer-protocol group as ConsumerGroupDescribe reports it (`None`: not one, or the
/// broker does not serve the API).
async fn describe_consumer_group(conn: &mut Conn, group: &str) -> Result<Option<Described>, CliError> {
    let req = ConsumerGroupDescribeRequest::default().with_group_ids(vec![GroupId(s(group))]);
    let Ok((_, r)) = conn.call(&req, 0..=1).await else { return Ok(None) };
    let Some(g) = r.groups.first().filter(|g| g.error_code == 0) else { return Ok(None) };
    let members = g
        .members
        .iter()
        .map(|m| Member {
            id: m.member_id.to_string(),
            instance_id: m.instance_id.as_ref().map(|i| i.to_string()),
            client_id: m.client_id.to_string(),
            host: m.client_host.to_string(),
            assigned: m
                .assignment
                .topic_partitions
                .iter()
                .flat_map(|tp| tp.partitions.iter().map(move |p| (tp.topic_name.0.to_string(), *p)))
                .collect(),
        })
        .collect();
    Ok(Some(Described {
        state: g.group_state.to_string(),
        protocol_type: "consumer".into(),
        protocol: g.assignor_name.to_string(),
        members,
    }))
}

/// A share group (KIP-932) as ShareGroupDescribe reports it (`None`: not one, or the broker
/// does not serve the API).
async fn describe_share_group(conn: &mut Conn, group: &str) -> Result<Option<Described>, CliError> {
    let req = ShareGroupDescribeRequest::default().with_group_ids(vec![GroupId(s(group))]);
    let Ok((_, r)) = conn.call(&req, 1..=1).await else { return Ok(None) };
    let Some(g) = r.groups.first().filter(|g| g.error_code == 0) else { return Ok(None) };
    let members = g
        .members
        .iter()
        .map(|m| Member {
            id: m.member_id.to_string(),
            instance_id: None,
            client_id: m.client_id.to_string(),
            host: m.client_host.to_string(),
            assigned: m
                .assignment
                .topic_partitions
                .iter()
                .flat_map(|tp| tp.partitions.iter().map(move |p| (tp.topic_name.0.to_string(), *p)))
                .collect(),
        })
        .collect();
    Ok(Some(Described {
        state: g.group_state.to_string(),
        protocol_type: "share".into(),
        protocol: g.assignor_name.to_string(),
        members,
    }))
}

/// A share group's share-partition start offsets (every record below is done) and backlog:
/// (topic, partition) -> (start offset, lag).
async fn share_offsets(conn: &mut Conn, group: &str) -> Result<BTreeMap<(String, i32), (i64, i64)>, CliError> {
    use kafka_protocol::messages::describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup;
    let req =
        DescribeShareGroupOffsetsRequest::default().with_groups(vec![DescribeShareGroupOffsetsRequestGroup::default()
            .with_group_id(GroupId(s(group)))
            .with_topics(None)]);
    let (_, r) = conn.call(&req, 0..=1).await?;
    let g = r.groups.first().ok_or_else(|| CliError::Kafka("empty DescribeShareGroupOffsets answer".into()))?;
    if g.error_code != 0 {
        return Err(CliError::Kafka(format!("offsets of {group}: {}", describe_code(g.error_code))));
    }
    Ok(g.topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter(|p| p.error_code == 0 && p.start_offset >= 0)
                .map(move |p| ((t.topic_name.0.to_string(), p.partition_index), (p.start_offset, p.lag)))
        })
        .collect())
}

/// The partitions of a consumer's assignment (ConsumerProtocolAssignment, its version first).
fn assignment(bytes: &bytes::Bytes) -> Vec<(String, i32)> {
    let mut b = bytes.clone();
    if b.remaining() < 2 {
        return Vec::new();
    }
    let version = b.get_i16();
    ConsumerProtocolAssignment::decode(&mut b, version.clamp(0, 3))
        .map(|a| {
            a.assigned_partitions
                .iter()
                .flat_map(|tp| tp.partitions.iter().map(move |p| (tp.topic.0.to_string(), *p)))
                .collect()
        })
        .unwrap_or_default()
}

/// The group's committed offsets: (topic, partition) -> offset.
async fn committed(conn: &mut Conn, group: &str) -> Result<BTreeMap<(String, i32), i64>, CliError> {
    let req = OffsetFetchRequest::default().with_group_id(GroupId(s(group))).with_topics(None);
    let (_, r) = conn.call(&req, 2..=7).await?;
    if r.error_code != 0 {
        return Err(CliError::Kafka(format!("offsets of {group}: {}", describe_code(r.error_code))));
    }
    Ok(r.topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter(|p| p.error_code == 0 && p.committed_offset >= 0)
                .map(move |p| ((t.name.0.to_string(), p.partition_index), p.committed_offset))
        })
        .collect())
}

async fn describe(cluster: &Cluster, format: Format, group: &str) -> Result<String, CliError> {
    let (node, mut conn) = cluster.coordinator(KEY_TYPE_GROUP, group).await?;
    let d = describe_group(&mut conn, group).await?;
    if d.state == "Dead" {
        return Err(CliError::Kafka(format!("group {group}: GROUP_ID_NOT_FOUND (69)")));
    }
    // A share group's position is its share-partition start offset, with the lag the broker
    // counts (records delivered to completion above the start are not backlog).
    let (offsets, share_lag) = if d.protocol_type == "share" {
        let o = share_offsets(&mut conn, group).await?;
        (o.iter().map(|(k, v)| (k.clone(), v.0)).collect(), o.into_iter().map(|(k, v)| (k, v.1)).collect())
    } else {
        (committed(&mut conn, group).await?, BTreeMap::<(String, i32), i64>::new())
    };
    let mut owner: BTreeMap<(String, i32), usize> = BTreeMap::new();
    for (i, m) in d.members.iter().enumerate() {
        for tp in &m.assigned {
            owner.insert(tp.clone(), i);
        }
    }
    let mut partitions: Vec<(String, i32)> = offsets.keys().cloned().collect();
    partitions.extend(owner.keys().cloned());
    partitions.sort();
    partitions.dedup();
    let mut ends: BTreeMap<String, BTreeMap<i32, i64>> = BTreeMap::new();
    for (t, _) in &partitions {
        if !ends.contains_key(t) {
            ends.insert(t.clone(), super::topics::end_offsets(cluster, t).await?);
        }
    }
    let rows: Vec<Vec<Value>> = partitions
        .iter()
        .map(|tp| {
            let current = offsets.get(tp).copied();
            let end = ends.get(&tp.0).and_then(|e| e.get(&tp.1)).copied().filter(|e| *e >= 0);
            let lag = match (share_lag.get(tp).filter(|l| **l >= 0), current, end) {
                (Some(l), _, _) => json!(l),
                (None, Some(c), Some(e)) => json!((e - c).max(0)),
                _ => Value::Null,
            };
            let m = owner.get(tp).map(|i| &d.members[*i]);
            vec![
                json!(tp.0),
                json!(tp.1),
                json!(current),
                json!(end),
                lag,
                json!(m.map(|m| m.id.clone())),
                json!(m.map(|m| m.client_id.clone())),
                json!(m.map(|m| m.host.clone())),
            ]
        })
        .collect();
    let columns = ["Topic", "Partition", "CurrentOffset", "LogEndOffset", "Lag", "MemberId", "ClientId", "Host"];
    Ok(match format {
        Format::Json => {
            let members: Vec<Value> = d
                .members
                .iter()
                .map(|m| {
                    let assigned: Vec<Value> =
                        m.assigned.iter().map(|(t, p)| json!({"topic": t, "partition": p})).collect();
                    json!({
                        "member_id": m.id,
                        "instance_id": m.instance_id,
                        "client_id": m.client_id,
                        "host": m.host,
                        "assignment": assigned,
                    })
                })
                .collect();
            let partitions: Value = serde_json::from_str(&render(Format::Json, &columns, &rows)).unwrap_or(Value::Null);
            let doc = json!({
                "group": group,
                "coordinator": node,
                "state": d.state,
                "protocol_type": d.protocol_type,
                "protocol": d.protocol,
                "members": members,
                "partitions": partitions,
            });
            format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default())
        }
        Format::Table => format!(
            "GROUP        {group}\nCOORDINATOR  {node}\nSTATE        {}\nPROTOCOL     {}\nMEMBERS      {}\n\n{}",
            d.state,
            if d.protocol.is_empty() { "-" } else { &d.protocol },
            d.members.len(),
            render(Format::Table, &columns, &rows)
        ),
    })
}

async fn reset_offsets(
    cluster: &Cluster,
    format: Format,
    group: &str,
    topic: &str,
    only: Vec<i32>,
    to: &str,
) -> Result<String, CliError> {
    let (_, mut conn) = cluster.coordinator(KEY_TYPE_GROUP, group).await?;
    // Kafka's tool refuses a group with members: their next commit would undo the reset.
    match describe_group(&mut conn, group).await {
        Ok(d) if !d.members.is_empty() => {
            return Err(CliError::Kafka(format!(
                "group {group} has {} members ({}): stop its consumers first",
                d.members.len(),
                d.state
            )))
        }
        _ => {}
    }
    let ends = super::topics::end_offsets(cluster, topic).await?;
    if ends.is_empty() {
        return Err(CliError::Kafka(format!("topic {topic}: UNKNOWN_TOPIC_OR_PARTITION (3)")));
    }
    let partitions: Vec<i32> = if only.is_empty() { ends.keys().copied().collect() } else { only };
    let targets: BTreeMap<i32, i64> = match to {
        "latest" => partitions.iter().map(|p| (*p, ends.get(p).copied().unwrap_or(-1))).collect(),
        "earliest" => {
            let starts = super::topics::start_offsets(cluster, topic).await?;
            partitions.iter().map(|p| (*p, starts.get(p).copied().unwrap_or(-1))).collect()
        }
        n => {
            let offset: i64 =
                n.parse().map_err(|_| CliError::Usage(format!("--to is earliest, latest or an offset, not {n:?}")))?;
            partitions.iter().map(|p| (*p, offset)).collect()
        }
    };
    if let Some((p, _)) = targets.iter().find(|(_, o)| **o < 0) {
        return Err(CliError::Kafka(format!("{topic} has no partition {p}")));
    }
    let req = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(-1)
        .with_member_id(s(""))
        .with_retention_time_ms(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default().with_name(TopicName(s(topic))).with_partitions(
            targets
                .iter()
                .map(|(p, o)| {
                    OffsetCommitRequestPartition::default()
                        .with_partition_index(*p)
                        .with_committed_offset(*o)
                        .with_committed_leader_epoch(-1)
                })
                .collect(),
        )]);
    let (_, r) = conn.call(&req, 2..=8).await?;
    let failed: Vec<String> = r
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter(|p| p.error_code != 0)
                .map(|p| format!("{}-{}: {}", t.name.0, p.partition_index, describe_code(p.error_code)))
        })
        .collect();
    if !failed.is_empty() {
        return Err(CliError::Kafka(failed.join("; ")));
    }
    let rows: Vec<Vec<Value>> = targets.iter().map(|(p, o)| vec![json!(topic), json!(p), json!(o)]).collect();
    Ok(render(format, &["Topic", "Partition", "NewOffset"], &rows))
}

async fn delete(cluster: &Cluster, format: Format, groups: Vec<String>) -> Result<String, CliError> {
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for group in groups {
        let (_, mut conn) = cluster.coordinator(KEY_TYPE_GROUP, &group).await?;
        let req = DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s(&group))]);
        let (_, r) = conn.call(&req, 0..=2).await?;
        let code = r.results.first().map_or(-1, |g| g.error_code);
        if code != 0 {
            failed.push(format!("{group}: {}", describe_code(code)));
        }
        rows.push(vec![json!(group), json!(if code == 0 { "deleted".to_string() } else { describe_code(code) })]);
    }
    if !failed.is_empty() {
        return Err(CliError::Kafka(failed.join("; ")));
    }
    Ok(render(format, &["Group", "Status"], &rows))
}
