//! AlterShareGroupOffsets (key 91, v0): sets share partitions' start offsets while the share
//! group has no members (KIP-932): their delivery state starts afresh there. An unknown group
//! is created as an empty share group, as Kafka does. Answered once durable.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::alter_share_group_offsets_response::{
    AlterShareGroupOffsetsResponsePartition as PartitionOut, AlterShareGroupOffsetsResponseTopic as TopicOut,
};
use kafka_protocol::messages::{AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse, ApiKey};

use super::share_admin::with_empty_share_group;
use super::{sb, when_stored, Handler, Reply, RequestContext, ResponseErrors, Subject};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;

pub struct AlterShareGroupOffsets;

fn top_level(code: i16, message: Option<String>) -> AlterShareGroupOffsetsResponse {
    AlterShareGroupOffsetsResponse::default().with_error_code(code).with_error_message(message.map(sb))
}

impl Handler for AlterShareGroupOffsets {
    type Request = AlterShareGroupOffsetsRequest;
    type Response = AlterShareGroupOffsetsResponse;
    const KEY: ApiKey = ApiKey::AlterShareGroupOffsets;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;

    fn handle(ctx: &RequestContext, req: AlterShareGroupOffsetsRequest) -> Reply<AlterShareGroupOffsetsResponse> {
        let broker = &ctx.broker;
        let group_id = req.group_id.0.to_string();
        let mut durable = Vec::new();
        let worked = with_empty_share_group(ctx, &group_id, AclOperation::Read, true, |s| {
            let epoch = s.group_epoch;
            let mut responses = Vec::new();
            for t in &req.topics {
                let topic = broker.topics.get(&t.topic_name.0);
                let allowed = ctx.authorized(AclOperation::Read, ResourceType::Topic, &t.topic_name.0);
                let mut done = Vec::new();
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let out = PartitionOut::default().with_partition_index(p.partition_index);
                        let code = match &topic {
                            _ if !allowed => E::TopicAuthorizationFailed.code(),
                            Some(tp) if tp.has_partition(p.partition_index) => {
                                let start = p.start_offset.max(0);
                                match broker.shares.reset(&group_id, tp.id, p.partition_index, start, epoch) {
                                    Ok(part) => {
                                        durable.push(part);
                                        done.push(p.partition_index);
                                        0
                                    }
                                    Err(code) => code,
                                }
                            }
                            _ => E::UnknownTopicOrPartition.code(),
                        };
                        out.with_error_code(code)
                    })
                    .collect();
                if let Some(tp) = &topic {
                    if !done.is_empty() {
                        s.mark_initialized(tp.id, &tp.name, &done);
                    }
                }
                responses.push(
                    TopicOut::default()
                        .with_topic_name(t.topic_name.clone())
                        .with_topic_id(topic.as_ref().map_or(uuid::Uuid::nil(), |t| t.id))
                        .with_partitions(partitions),
                );
            }
            responses
        });
        let responses = match worked {
            Ok((responses, stored)) => {
                durable.extend(stored);
                responses
            }
            Err((code, message)) => return Reply::Now(top_level(code, message)),
        };
        let resp = AlterShareGroupOffsetsResponse::default().with_responses(responses);
        when_stored(broker.groups.wait_stored(durable), resp, |e| top_level(e.code(), None))
    }

    fn error_response(_req: &AlterShareGroupOffsetsRequest, code: i16) -> AlterShareGroupOffsetsResponse {
        top_level(code, None)
    }

    fn subject(req: &AlterShareGroupOffsetsRequest) -> Option<Subject> {
        Some(Subject::Group(req.group_id.0.clone()))
    }

    fn errors(resp: &AlterShareGroupOffsetsResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
        for t in &resp.responses {
            for p in &t.partitions {
                seen.topic(&t.topic_name, p.error_code);
            }
        }
    }
}
