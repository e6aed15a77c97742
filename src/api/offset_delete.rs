//! OffsetDelete (key 47): deletes a group's committed offsets for partitions of topics that
//! no current member subscribes to.

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::offset_delete_response::{OffsetDeleteResponsePartition, OffsetDeleteResponseTopic};
use kafka_protocol::messages::{ApiKey, OffsetDeleteRequest, OffsetDeleteResponse};

use super::{Handler, Reply, RequestContext, NONE};
use crate::group::codec;
use crate::group::state::GroupState;

pub struct OffsetDelete;

impl Handler for OffsetDelete {
    type Request = OffsetDeleteRequest;
    type Response = OffsetDeleteResponse;
    const KEY: ApiKey = ApiKey::OffsetDelete;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;

    fn handle(ctx: &RequestContext, req: OffsetDeleteRequest) -> Reply<OffsetDeleteResponse> {
        let coord = &ctx.broker.groups;
        let Some(group) = coord.get(&req.group_id.0) else {
            return Reply::Now(OffsetDeleteResponse::default().with_error_code(E::GroupIdNotFound.code()));
        };
        let mut g = group.lock();
        if g.state == GroupState::Dead {
            return Reply::Now(OffsetDeleteResponse::default().with_error_code(E::GroupIdNotFound.code()));
        }
        // Without the consumer protocol we cannot tell which topics an active group uses.
        if g.state != GroupState::Empty && g.protocol_type.as_deref() != Some("consumer") {
            return Reply::Now(OffsetDeleteResponse::default().with_error_code(E::NonEmptyGroup.code()));
        }
        let subscribed = g.subscribed_topics();
        let mut tombstones = Vec::new();
        let topics = req
            .topics
            .iter()
            .map(|t| {
                let in_use = subscribed.iter().any(|s| *s == *t.name.0);
                let parts = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let code = if in_use {
                            E::GroupSubscribedToTopic.code()
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
                tracing::error!(group = %g.id, "cannot delete offsets: {e}");
                return Reply::Now(OffsetDeleteResponse::default().with_error_code(E::CoordinatorNotAvailable.code()));
            }
        };
        drop(g);
        let broker = ctx.broker.clone();
        Reply::Later(
            async move {
                match broker.replicas.wait_durable(vec![part]).await {
                    Ok(()) => resp,
                    // Not durable: retriable for the client, as an OffsetCommit that failed so.
                    Err(e) => {
                        tracing::error!("offset delete not durable: {e}");
                        OffsetDeleteResponse::default().with_error_code(E::NotCoordinator.code())
                    }
                }
            }
            .boxed(),
        )
    }

    fn error_response(_req: &OffsetDeleteRequest, code: i16) -> OffsetDeleteResponse {
        OffsetDeleteResponse::default().with_error_code(code)
    }
}
