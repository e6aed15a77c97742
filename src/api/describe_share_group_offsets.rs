//! DescribeShareGroupOffsets (key 90, v0-1): each share partition's start offset (every
//! record below it is done) and, from v1, its lag: the records from the start offset to the
//! high watermark not yet delivered to completion (KIP-932, KIP-1226). Unknown groups,
//! topics and partitions answer -1s, as Kafka does.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_share_group_offsets_response::{
    DescribeShareGroupOffsetsResponseGroup as GroupOut, DescribeShareGroupOffsetsResponsePartition as PartitionOut,
    DescribeShareGroupOffsetsResponseTopic as TopicOut,
};
use kafka_protocol::messages::{
    ApiKey, DescribeShareGroupOffsetsRequest, DescribeShareGroupOffsetsResponse, TopicName,
};
use uuid::Uuid;

use super::{sb, Handler, Reply, RequestContext, ResponseErrors};
use crate::auth::{AclOperation, ResourceType};
use crate::broker::Broker;

pub struct DescribeShareGroupOffsets;

fn partition(broker: &Broker, group: &str, topic: Option<(Uuid, &str)>, index: i32) -> PartitionOut {
    let out = PartitionOut::default().with_partition_index(index).with_start_offset(-1).with_lag(-1);
    let Some((id, name)) = topic else { return out };
    let Some((start, done)) = broker.shares.start_offset(group, id, index) else { return out };
    let lag = broker
        .replicas
        .partition(name, index)
        .map(|l| (l.offsets().high_watermark - start - done).max(0))
        .unwrap_or(-1);
    out.with_start_offset(start).with_lag(lag)
}

fn describe_group(ctx: &RequestContext, group: &str, wanted: Option<Vec<(String, Vec<i32>)>>) -> Vec<TopicOut> {
    let broker = &ctx.broker;
    let wanted = match wanted {
        Some(w) => w,
        None => {
            // Every partition with share state, named topics only (deleted ones left out).
            let mut by_name: BTreeMap<String, Vec<i32>> = BTreeMap::new();
            for (id, p) in broker.shares.partitions_of(group) {
                if let Some(t) = broker.topics.get_by_id(&id) {
                    if ctx.authorized(AclOperation::Describe, ResourceType::Topic, &t.name) {
                        by_name.entry(t.name.to_string()).or_default().push(p);
                    }
                }
            }
            by_name.into_iter().collect()
        }
    };
    wanted
        .into_iter()
        .map(|(name, parts)| {
            let out = TopicOut::default().with_topic_name(TopicName(sb(name.clone())));
            if !ctx.authorized(AclOperation::Describe, ResourceType::Topic, &name) {
                let denied = parts
                    .iter()
                    .map(|p| {
                        PartitionOut::default()
                            .with_partition_index(*p)
                            .with_start_offset(-1)
                            .with_lag(-1)
                            .with_error_code(E::TopicAuthorizationFailed.code())
                    })
                    .collect();
                return out.with_partitions(denied);
            }
            let topic = broker.topics.get(&name);
            let id = topic.as_ref().map(|t| (t.id, &*t.name));
            out.with_topic_id(topic.as_ref().map_or(Uuid::nil(), |t| t.id))
                .with_partitions(parts.iter().map(|p| partition(broker, group, id, *p)).collect())
        })
        .collect()
}

impl Handler for DescribeShareGroupOffsets {
    type Request = DescribeShareGroupOffsetsRequest;
    type Response = DescribeShareGroupOffsetsResponse;
    const KEY: ApiKey = ApiKey::DescribeShareGroupOffsets;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;

    fn handle(ctx: &RequestContext, req: DescribeShareGroupOffsetsRequest) -> Reply<DescribeShareGroupOffsetsResponse> {
        let groups = req
            .groups
            .iter()
            .map(|g| {
                let out = GroupOut::default().with_group_id(g.group_id.clone());
                if !ctx.authorized(AclOperation::Describe, ResourceType::Group, &g.group_id) {
                    return out.with_error_code(E::GroupAuthorizationFailed.code());
                }
                let wanted = g.topics.as_ref().map(|ts| {
                    ts.iter().map(|t| (t.topic_name.0.to_string(), t.partitions.clone())).collect::<Vec<_>>()
                });
                out.with_topics(describe_group(ctx, &g.group_id, wanted))
            })
            .collect();
        Reply::Now(DescribeShareGroupOffsetsResponse::default().with_groups(groups))
    }

    fn error_response(req: &DescribeShareGroupOffsetsRequest, code: i16) -> DescribeShareGroupOffsetsResponse {
        let groups = req
            .groups
            .iter()
            .map(|g| GroupOut::default().with_group_id(g.group_id.clone()).with_error_code(code))
            .collect();
        DescribeShareGroupOffsetsResponse::default().with_groups(groups)
    }

    fn errors(resp: &DescribeShareGroupOffsetsResponse, seen: &mut ResponseErrors) {
        for g in &resp.groups {
            seen.group(&g.group_id, g.error_code);
            for t in &g.topics {
                for p in &t.partitions {
                    seen.topic(&t.topic_name, p.error_code);
                }
            }
        }
    }
}
