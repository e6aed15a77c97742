//! OffsetForLeaderEpoch (key 23): for each partition, the end offset of a leader epoch (a
//! consumer checks its position after a leader change, KIP-320; a follower finds where to
//! truncate). The answer comes from the partition's leader-epoch cache, after Kafka's check
//! of the client's current leader epoch.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::{ApiKey, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use super::{Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;

pub struct OffsetForLeaderEpoch;

fn answer(partition: i32, code: i16, epoch: i32, end_offset: i64) -> EpochEndOffset {
    EpochEndOffset::default()
        .with_partition(partition)
        .with_error_code(code)
        .with_leader_epoch(epoch)
        .with_end_offset(end_offset)
}

impl Handler for OffsetForLeaderEpoch {
    type Request = OffsetForLeaderEpochRequest;
    type Response = OffsetForLeaderEpochResponse;
    const KEY: ApiKey = ApiKey::OffsetForLeaderEpoch;
    const MIN_VERSION: i16 = 2;
    const MAX_VERSION: i16 = 4;

    fn handle(ctx: &RequestContext, req: OffsetForLeaderEpochRequest) -> Reply<OffsetForLeaderEpochResponse> {
        // A follower (CLUSTER_ACTION) may ask about every topic; a consumer needs DESCRIBE on
        // each (Kafka's `handleOffsetForLeaderEpochRequest`).
        let replica = ctx.cluster_authorized(AclOperation::ClusterAction);
        let topics = req
            .topics
            .into_iter()
            .map(|t| {
                let denied = !replica && !ctx.authorized(AclOperation::Describe, ResourceType::Topic, &t.topic.0);
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        if denied {
                            return answer(p.partition, E::TopicAuthorizationFailed.code(), -1, -1);
                        }
                        match ctx.broker.replicas.partition_at_epoch(&t.topic.0, p.partition, p.current_leader_epoch) {
                            Ok(part) => {
                                let (epoch, end) = part.end_offset_for_epoch(p.leader_epoch);
                                answer(p.partition, NONE, epoch, end)
                            }
                            Err(e) => answer(p.partition, e.code(), -1, -1),
                        }
                    })
                    .collect();
                OffsetForLeaderTopicResult::default().with_topic(t.topic).with_partitions(partitions)
            })
            .collect();
        Reply::Now(OffsetForLeaderEpochResponse::default().with_topics(topics))
    }

    fn error_response(req: &OffsetForLeaderEpochRequest, code: i16) -> OffsetForLeaderEpochResponse {
        let topics = req
            .topics
            .iter()
            .map(|t| {
                let partitions = t.partitions.iter().map(|p| answer(p.partition, code, -1, -1)).collect();
                OffsetForLeaderTopicResult::default().with_topic(t.topic.clone()).with_partitions(partitions)
            })
            .collect();
        OffsetForLeaderEpochResponse::default().with_topics(topics)
    }

    fn errors(resp: &OffsetForLeaderEpochResponse, seen: &mut ResponseErrors) {
        for t in &resp.topics {
            for p in &t.partitions {
                seen.topic(&t.topic, p.error_code);
            }
        }
    }
}
