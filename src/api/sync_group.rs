//! SyncGroup (key 14): the leader hands in assignments; every member gets its own back once
//! the leader's arrive. The broker relays assignments without reading them.

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::{ApiKey, SyncGroupRequest, SyncGroupResponse};

use super::{sb, Handler, Reply, RequestContext};
use crate::group::state::{Pending, SyncOutcome};

pub struct SyncGroup;

fn response(o: SyncOutcome) -> SyncGroupResponse {
    SyncGroupResponse::default()
        .with_error_code(o.error)
        .with_protocol_type(o.protocol_type.map(sb))
        .with_protocol_name(o.protocol_name.map(sb))
        .with_assignment(o.assignment)
}

impl Handler for SyncGroup {
    type Request = SyncGroupRequest;
    type Response = SyncGroupResponse;
    const KEY: ApiKey = ApiKey::SyncGroup;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;
    /// A follower's sync waits for the leader's assignment.
    const LONG_WAIT: bool = true;

    fn handle(ctx: &RequestContext, req: SyncGroupRequest) -> Reply<SyncGroupResponse> {
        let coord = &ctx.broker.groups;
        let Some(group) = coord.get(&req.group_id.0) else {
            return Reply::Now(response(SyncOutcome::error(E::UnknownMemberId.code())));
        };
        let (pending, durable) = {
            let mut g = group.lock();
            let p = g.sync(
                &req.member_id,
                req.group_instance_id.as_deref(),
                req.generation_id,
                req.protocol_type.as_deref(),
                req.protocol_name.as_deref(),
                req.assignments.iter().map(|a| (a.member_id.to_string(), a.assignment.clone())).collect(),
                tokio::time::Instant::now(),
            );
            (p, coord.persist(&mut g))
        };
        let broker = ctx.broker.clone();
        match pending {
            Pending::Now(o) => Reply::Now(response(o)),
            Pending::Wait(rx) => Reply::Later(
                async move {
                    // The assignment is durable before anyone acts on it.
                    if let Some(p) = durable {
                        let _ = broker.replicas.wait_durable(vec![p]).await;
                    }
                    response(rx.await.unwrap_or_else(|_| SyncOutcome::error(E::RebalanceInProgress.code())))
                }
                .boxed(),
            ),
        }
    }

    fn error_response(_req: &SyncGroupRequest, code: i16) -> SyncGroupResponse {
        response(SyncOutcome::error(code))
    }
}
