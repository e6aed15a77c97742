//! DeleteTopics (key 20): by name (all versions) or by topic id (v6+).

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{ApiKey, DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use std::sync::Arc;

use uuid::Uuid;

use super::{duplicates, sb, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::error::ErrorCode;

pub struct DeleteTopics;

fn result(name: Option<TopicName>, id: Uuid, code: i16, message: Option<String>, version: i16) -> DeletableTopicResult {
    let mut r =
        DeletableTopicResult::default().with_name(name).with_error_code(code).with_error_message(message.map(sb));
    if version >= 6 {
        r.topic_id = id;
    }
    r
}

fn delete_by_name(broker: &Arc<Broker>, name: TopicName, version: i16) -> DeletableTopicResult {
    match broker.topics.delete(&name.0) {
        Ok(id) => {
            let mut touched = broker.groups.on_topic_deleted(&name.0);
            touched.extend(broker.shares.on_topic_deleted(id));
            if !touched.is_empty() {
                tokio::spawn(broker.replicas.wait_durable(touched));
            }
            result(Some(name), id, NONE, None, version)
        }
        Err(e) => result(Some(name), Uuid::nil(), e.code(), Some(e.to_string()), version),
    }
}

/// Deletes a topic the principal may DELETE, with the checks in the order of Kafka's
/// `ControllerApis.deleteTopics`: a topic it may not DESCRIBE is refused (asked by id
/// (`by_id`), without its name), one that does not exist is unknown, one it may not DELETE is
/// refused.
fn delete_authorized(ctx: &RequestContext, name: TopicName, by_id: Option<Uuid>, version: i16) -> DeletableTopicResult {
    let refused = E::TopicAuthorizationFailed.code();
    if !ctx.authorized(AclOperation::Describe, ResourceType::Topic, &name.0) {
        return match by_id {
            Some(id) => result(None, id, refused, None, version),
            None => result(Some(name), Uuid::nil(), refused, None, version),
        };
    }
    let exists = ctx.broker.topics.get(&name.0).is_some();
    if exists && !ctx.authorized(AclOperation::Delete, ResourceType::Topic, &name.0) {
        return result(Some(name), by_id.unwrap_or_default(), refused, None, version);
    }
    delete_by_name(&ctx.broker, name, version)
}

impl Handler for DeleteTopics {
    type Request = DeleteTopicsRequest;
    type Response = DeleteTopicsResponse;
    const KEY: ApiKey = ApiKey::DeleteTopics;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 6;
    const BLOCKING: bool = true;

    fn handle(ctx: &RequestContext, req: DeleteTopicsRequest) -> Reply<DeleteTopicsResponse> {
        let v = ctx.api_version;
        let broker = &ctx.broker;
        let duplicate = |id: Uuid, name: Option<TopicName>| {
            result(name, id, E::InvalidRequest.code(), Some("Duplicate topic name.".into()), v)
        };
        let responses = if v >= 6 {
            // Resolve rows to names first so a topic named twice (by name or id) is caught.
            let resolved: Vec<Option<String>> = req
                .topics
                .iter()
                .map(|t| match &t.name {
                    Some(n) => Some(n.0.to_string()),
                    None => broker.topics.get_by_id(&t.topic_id).map(|tp| tp.name.to_string()),
                })
                .collect();
            let dup = duplicates(resolved.iter().flatten().cloned());
            req.topics
                .into_iter()
                .zip(resolved)
                .map(|(t, name)| match (t.name, t.topic_id.is_nil()) {
                    (n, _) if name.as_ref().is_some_and(|x| dup.contains(x)) => duplicate(t.topic_id, n),
                    (Some(_), false) => result(
                        None,
                        t.topic_id,
                        E::InvalidRequest.code(),
                        Some("Topic name and topic id cannot both be set".into()),
                        v,
                    ),
                    (Some(name), true) => delete_authorized(ctx, name, None, v),
                    (None, _) => match broker.topics.get_by_id(&t.topic_id) {
                        Some(topic) => {
                            delete_authorized(ctx, TopicName(sb(topic.name.to_string())), Some(t.topic_id), v)
                        }
                        None => result(None, t.topic_id, E::UnknownTopicId.code(), None, v),
                    },
                })
                .collect()
        } else {
            let dup = duplicates(req.topic_names.iter().map(|n| n.0.clone()));
            req.topic_names
                .into_iter()
                .map(|n| {
                    if dup.contains(&n.0) {
                        duplicate(Uuid::nil(), Some(n))
                    } else {
                        delete_authorized(ctx, n, None, v)
                    }
                })
                .collect()
        };
        Reply::Now(DeleteTopicsResponse::default().with_responses(responses))
    }

    fn error_response(req: &DeleteTopicsRequest, code: i16) -> DeleteTopicsResponse {
        let mut responses: Vec<_> =
            req.topic_names.iter().map(|n| result(Some(n.clone()), Uuid::nil(), code, None, 0)).collect();
        responses.extend(req.topics.iter().map(|t| result(t.name.clone(), t.topic_id, code, None, 6)));
        DeleteTopicsResponse::default().with_responses(responses)
    }

    fn errors(resp: &DeleteTopicsResponse, seen: &mut ResponseErrors) {
        for t in &resp.responses {
            seen.topic_or_id(&t.name.clone().unwrap_or_default(), t.topic_id, t.error_code);
        }
    }
}
