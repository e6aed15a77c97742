//! DeleteShareGroupOffsets (key 92, v0): deletes the share state of topics of an empty share
//! group (KIP-932): a later subscription starts them from `share.auto.offset.reset` again.
//! Answered once durable.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::delete_share_group_offsets_response::DeleteShareGroupOffsetsResponseTopic as TopicOut;
use kafka_protocol::messages::{ApiKey, DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse};

use super::share_admin::with_empty_share_group;
use super::{sb, when_stored, Handler, Reply, RequestContext, ResponseErrors, Subject};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;

pub struct DeleteShareGroupOffsets;

fn top_level(code: i16, message: Option<String>) -> DeleteShareGroupOffsetsResponse {
    DeleteShareGroupOffsetsResponse::default().with_error_code(code).with_error_message(message.map(sb))
}

impl Handler for DeleteShareGroupOffsets {
    type Request = DeleteShareGroupOffsetsRequest;
    type Response = DeleteShareGroupOffsetsResponse;
    const KEY: ApiKey = ApiKey::DeleteShareGroupOffsets;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;

    fn handle(ctx: &RequestContext, req: DeleteShareGroupOffsetsRequest) -> Reply<DeleteShareGroupOffsetsResponse> {
        let broker = &ctx.broker;
        let group_id = req.group_id.0.to_string();
        let stored = broker.shares.partitions_of(&group_id);
        let mut durable = Vec::new();
        let worked = with_empty_share_group(ctx, &group_id, AclOperation::Delete, false, |s| {
            let mut forgotten = Vec::new();
            let responses = req
                .topics
                .iter()
                .map(|t| {
                    let out = TopicOut::default().with_topic_name(t.topic_name.clone());
                    if !ctx.authorized(AclOperation::Read, ResourceType::Topic, &t.topic_name.0) {
                        return out.with_error_code(E::TopicAuthorizationFailed.code());
                    }
                    let Some(topic) = broker.topics.get(&t.topic_name.0) else {
                        return out.with_error_code(E::UnknownTopicOrPartition.code());
                    };
                    let keys: Vec<_> = stored.iter().filter(|(id, _)| *id == topic.id).copied().collect();
                    if keys.is_empty() && !s.initialized.contains_key(&topic.id) {
                        return out
                            .with_topic_id(topic.id)
                            .with_error_code(E::UnknownTopicOrPartition.code())
                            .with_error_message(Some(sb("There is no offset information to delete.")));
                    }
                    match broker.shares.delete(&group_id, &keys) {
                        Ok(parts) => {
                            durable.extend(parts);
                            forgotten.push(topic.id);
                            out.with_topic_id(topic.id)
                        }
                        Err(code) => out.with_topic_id(topic.id).with_error_code(code),
                    }
                })
                .collect();
            s.forget_topics(&forgotten);
            responses
        });
        let responses = match worked {
            Ok((responses, stored)) => {
                durable.extend(stored);
                responses
            }
            Err((code, message)) => return Reply::Now(top_level(code, message)),
        };
        let resp = DeleteShareGroupOffsetsResponse::default().with_responses(responses);
        when_stored(broker.groups.wait_stored(durable), resp, |e| top_level(e.code(), None))
    }

    fn error_response(_req: &DeleteShareGroupOffsetsRequest, code: i16) -> DeleteShareGroupOffsetsResponse {
        top_level(code, None)
    }

    fn subject(req: &DeleteShareGroupOffsetsRequest) -> Option<Subject> {
        Some(Subject::Group(req.group_id.0.clone()))
    }

    fn errors(resp: &DeleteShareGroupOffsetsResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
        for t in &resp.responses {
            seen.topic(&t.topic_name, t.error_code);
        }
    }
}
