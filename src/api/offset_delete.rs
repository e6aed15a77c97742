//! OffsetDelete (key 47): deletes a group's committed offsets for partitions of topics that
//! no current member subscribes to.

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::offset_delete_response::{OffsetDeleteResponsePartition, OffsetDeleteResponseTopic};
use kafka_protocol::messages::{ApiKey, OffsetDeleteRequest, OffsetDeleteResponse};

use super::{Handler, Reply, RequestContext, ResponseErrors, Subject, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::codec;
use crate::group::state::GroupState;
use crate::group::GroupError;

pub struct OffsetDelete;

impl Handler for OffsetDelete {
    type Request = OffsetDeleteRequest;
    type Response = OffsetDeleteResponse;
    const KEY: ApiKey = ApiKey::OffsetDelete;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;

    /// DELETE on the group (Kafka's `handleOffsetDeleteRequest`); each topic's READ is
    /// checked in `handle`.
    fn authorize(ctx: &RequestContext, req: &Self::Request) -> Result<(), i16> {
        ctx.require(AclOperation::Delete, ResourceType::Group, &req.group_id, E::GroupAuthorizationFailed)
    }

    fn handle(ctx: &RequestContext, req: OffsetDeleteRequest) -> Reply<OffsetDeleteResponse> {
        let coord = &ctx.broker.groups;
        let failed = |e: GroupError| OffsetDeleteResponse::default().with_error_code(e.code());
        let group = match coord.get(&req.group_id.0) {
            Ok(Some(g)) => g,
            Ok(None) => return Reply::Now(failed(GroupError::GroupIdNotFound)),
            Err(e) => return Reply::Now(failed(e)),
        };
        let mut g = group.lock();
        if g.state == GroupState::Dead {
            return Reply::Now(failed(GroupError::GroupIdNotFound));
        }
        // Without the consumer protocol we cannot tell which topics an active group uses.
        if g.state != GroupState::Empty && g.protocol_type.as_deref() != Some("consumer") {
            return Reply::Now(failed(GroupError::NonEmptyGroup));
        }
        let subscribed = g.subscribed_topics();
        let mut tombstones = Vec::new();
        let topics = req
            .topics
            .iter()
            .map(|t| {
                let in_use = subscribed.iter().any(|s| *s == *t.name.0);
                let denied = !ctx.authorized(AclOperation::Read, ResourceType::Topic, &t.name);
                let parts = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let code = if denied {
                            GroupError::TopicAuthorizationFailed.code()
                        } else if in_use {
                            GroupError::GroupSubscribedToTopic.code()
                        } else {
                            if g.offsets.remove(&(t.name.0.to_string(), p.partition_index)).is_some() {
                                tombstones.push((codec::offset_key(&g.id, &t.name.0, p.partition_index), None));
                            }
                            NONE
                        };
                        OffsetDeleteResponsePartition::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(code)
                    })
                    .collect();
                OffsetDeleteResponseTopic::default().with_name(t.name.clone()).with_partitions(parts)
            })
            .collect();
        let resp = OffsetDeleteResponse::default().with_error_code(NONE).with_topics(topics);
        let part = match coord.append(&g.id, tombstones) {
            Ok(p) => p,
            Err(e) => {
                // As a failed OffsetCommit append: COORDINATOR_NOT_AVAILABLE, whatever failed.
                tracing::error!(group = %g.id, "cannot delete offsets: {e}");
                return Reply::Now(failed(GroupError::CoordinatorNotAvailable));
            }
        };
        drop(g);
        let stored = coord.wait_stored(vec![part]);
        Reply::Later(
            async move {
                match stored.await {
                    Ok(()) => resp,
                    // Not durable: retriable for the client, as an OffsetCommit that failed so.
                    Err(e) => failed(e),
                }
            }
            .boxed(),
        )
    }

    fn error_response(_req: &OffsetDeleteRequest, code: i16) -> OffsetDeleteResponse {
        OffsetDeleteResponse::default().with_error_code(code)
    }

    fn subject(req: &OffsetDeleteRequest) -> Option<Subject> {
        Some(Subject::Group(req.group_id.0.clone()))
    }

    fn errors(resp: &OffsetDeleteResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
        for t in &resp.topics {
            for p in &t.partitions {
                seen.topic(&t.name, p.error_code);
            }
        }
    }
}
