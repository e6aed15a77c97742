//! SyncGroup (key 14): the leader hands in assignments; every member gets its own back once
//! the leader's are stored. The broker relays assignments without reading them.

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::{ApiKey, SyncGroupRequest, SyncGroupResponse};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors, Subject, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::state::{MemberRef, Pending, SyncRequest, SyncResult};
use crate::group::GroupError;

pub struct SyncGroup;

fn failure(code: i16) -> SyncGroupResponse {
    SyncGroupResponse::default()
        .with_error_code(code)
        .with_protocol_type(None)
        .with_protocol_name(None)
        .with_assignment(Default::default())
}

fn response(r: SyncResult) -> SyncGroupResponse {
    match r {
        Ok(o) => SyncGroupResponse::default()
            .with_error_code(NONE)
            .with_protocol_type(o.protocol_type.map(sb))
            .with_protocol_name(o.protocol_name.map(sb))
            .with_assignment(o.assignment),
        Err(e) => failure(e.code()),
    }
}

impl Handler for SyncGroup {
    type Request = SyncGroupRequest;
    type Response = SyncGroupResponse;
    const KEY: ApiKey = ApiKey::SyncGroup;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;
    /// A follower's sync waits for the leader's assignment.
    const LONG_WAIT: bool = true;

    /// READ on the group (Kafka's `handleSyncGroupRequest`).
    fn authorize(ctx: &RequestContext, req: &Self::Request) -> Result<(), i16> {
        ctx.require(AclOperation::Read, ResourceType::Group, &req.group_id, E::GroupAuthorizationFailed)
    }

    fn handle(ctx: &RequestContext, req: SyncGroupRequest) -> Reply<SyncGroupResponse> {
        let coord = &ctx.broker.groups;
        let group = match coord.get(&req.group_id.0) {
            Ok(Some(g)) => g,
            Ok(None) => return Reply::Now(response(Err(GroupError::UnknownMemberId))),
            Err(e) => return Reply::Now(response(Err(e))),
        };
        let pending = {
            let mut g = group.lock();
            // A classic member of a consumer group (KIP-848): its assignment, from the
            // coordinator.
            if let Some(c) = g.consumer.as_mut() {
                let now = tokio::time::Instant::now();
                let synced = c.classic_sync(
                    &req.member_id,
                    req.group_instance_id.as_deref(),
                    req.generation_id,
                    req.protocol_type.as_deref(),
                    now,
                    &*ctx.broker.topics,
                );
                return Reply::Now(match synced {
                    Ok(assignment) => SyncGroupResponse::default()
                        .with_protocol_type(Some(sb("consumer")))
                        .with_protocol_name(req.protocol_name.clone())
                        .with_assignment(assignment),
                    Err(e) => failure(e.code()),
                });
            }
            let sync = SyncRequest {
                member: MemberRef {
                    member_id: &req.member_id,
                    group_instance_id: req.group_instance_id.as_deref(),
                    generation_id: req.generation_id,
                },
                protocol_type: req.protocol_type.as_deref(),
                protocol_name: req.protocol_name.as_deref(),
                assignments: req.assignments.iter().map(|a| (a.member_id.to_string(), a.assignment.clone())).collect(),
            };
            let p = g.sync(sync, tokio::time::Instant::now());
            // The leader's assignment: every waiting member is answered once it is stored.
            coord.store_assignment(&group, &mut g);
            p
        };
        match pending {
            Pending::Now(r) => Reply::Now(response(r)),
            Pending::Wait(rx) => Reply::Later(
                async move { response(rx.await.unwrap_or_else(|_| Err(GroupError::RebalanceInProgress))) }.boxed(),
            ),
        }
    }

    fn error_response(_req: &SyncGroupRequest, code: i16) -> SyncGroupResponse {
        failure(code)
    }

    fn subject(req: &SyncGroupRequest) -> Option<Subject> {
        Some(Subject::Group(req.group_id.0.clone()))
    }

    fn errors(resp: &SyncGroupResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}
