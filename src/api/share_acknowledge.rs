//! ShareAcknowledge (key 79, v1): acknowledgements of records a share consumer holds, in its
//! share session, without fetching (KIP-932). Answered once the share partitions' new state
//! is durable. Epoch -1 acknowledges and then closes the session, releasing what is left. v2
//! carries IsRenewAck (KIP-1222: RENEW acknowledgements restart locks) and answers the lock
//! duration.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::share_acknowledge_response::{PartitionData, ShareAcknowledgeTopicResponse};
use kafka_protocol::messages::{ApiKey, ShareAcknowledgeRequest, ShareAcknowledgeResponse};
use uuid::Uuid;

use super::share_acks::{self, Acks};
use super::{sb, Handler, Reply, RequestContext, ResponseErrors, Subject};
use crate::auth::{AclOperation, ResourceType};
use crate::share::group::MAX_MEMBER_ID_LEN;
use crate::share::session::FINAL_EPOCH;

pub struct ShareAcknowledge;

fn top_level(code: i16, message: Option<&str>) -> ShareAcknowledgeResponse {
    ShareAcknowledgeResponse::default().with_error_code(code).with_error_message(message.map(sb))
}

impl Handler for ShareAcknowledge {
    type Request = ShareAcknowledgeRequest;
    type Response = ShareAcknowledgeResponse;
    const KEY: ApiKey = ApiKey::ShareAcknowledge;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 2;

    fn handle(ctx: &RequestContext, req: ShareAcknowledgeRequest) -> Reply<ShareAcknowledgeResponse> {
        let broker = ctx.broker.clone();
        let group_id = req.group_id.as_ref().map(|g| g.0.to_string()).unwrap_or_default();
        if !ctx.authorized(AclOperation::Read, ResourceType::Group, &group_id) {
            return Reply::Now(top_level(E::GroupAuthorizationFailed.code(), None));
        }
        let member_id = req.member_id.as_deref().unwrap_or("");
        if member_id.is_empty() || member_id.len() > MAX_MEMBER_ID_LEN {
            return Reply::Now(top_level(E::InvalidRequest.code(), Some("Invalid member id in the request.")));
        }
        let group: Arc<str> = Arc::from(group_id.as_str());
        let member = member_id.to_string();
        if let Err((code, message)) = broker.shares.sessions.acknowledge(&group, &member, req.share_session_epoch) {
            return Reply::Now(top_level(code, Some(message)));
        }
        let mut acks = Acks::new();
        for t in &req.topics {
            for p in &t.partitions {
                let wire =
                    p.acknowledgement_batches.iter().map(|b| (b.first_offset, b.last_offset, &b.acknowledge_types[..]));
                acks.insert((t.topic_id, p.partition_index), share_acks::batches(wire));
            }
        }
        let settings = broker.share_settings(&group);
        let acked = share_acks::acknowledge(ctx, &group, &member, acks, req.is_renew_ack, &settings);
        let lock_ms = settings.limits.lock_duration.as_millis().min(i32::MAX as u128) as i32;
        let closing = req.share_session_epoch == FINAL_EPOCH;
        Reply::Later(
            async move {
                let results = acked.await;
                if closing {
                    share_acks::close_session(&broker, &group, &member);
                }
                let mut by_topic: BTreeMap<Uuid, Vec<PartitionData>> = BTreeMap::new();
                for ((topic_id, partition), (code, message)) in results {
                    by_topic.entry(topic_id).or_default().push(
                        PartitionData::default()
                            .with_partition_index(partition)
                            .with_error_code(code)
                            .with_error_message(message.map(sb)),
                    );
                }
                let responses = by_topic
                    .into_iter()
                    .map(|(t, parts)| ShareAcknowledgeTopicResponse::default().with_topic_id(t).with_partitions(parts))
                    .collect();
                ShareAcknowledgeResponse::default().with_acquisition_lock_timeout_ms(lock_ms).with_responses(responses)
            }
            .boxed(),
        )
    }

    fn error_response(_req: &ShareAcknowledgeRequest, code: i16) -> ShareAcknowledgeResponse {
        top_level(code, None)
    }

    fn subject(req: &ShareAcknowledgeRequest) -> Option<Subject> {
        req.group_id.as_ref().map(|g| Subject::Group(g.0.clone()))
    }

    fn errors(resp: &ShareAcknowledgeResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
        for t in &resp.responses {
            for p in &t.partitions {
                seen.topic_or_id(&Default::default(), t.topic_id, p.error_code);
            }
        }
    }
}
