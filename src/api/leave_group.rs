//! LeaveGroup (key 13): one member (v0-2) or a batch of members by id or instance id (v3+).

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{ApiKey, LeaveGroupRequest, LeaveGroupResponse};

use super::{Handler, Reply, RequestContext, ResponseErrors, Subject, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::GroupError;

pub struct LeaveGroup;

fn code(r: Result<(), GroupError>) -> i16 {
    r.map_or_else(|e| e.code(), |()| NONE)
}

impl Handler for LeaveGroup {
    type Request = LeaveGroupRequest;
    type Response = LeaveGroupResponse;
    const KEY: ApiKey = ApiKey::LeaveGroup;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;

    /// READ on the group (Kafka's `handleLeaveGroupRequest`).
    fn authorize(ctx: &RequestContext, req: &Self::Request) -> Result<(), i16> {
        ctx.require(AclOperation::Read, ResourceType::Group, &req.group_id, E::GroupAuthorizationFailed)
    }

    fn handle(ctx: &RequestContext, req: LeaveGroupRequest) -> Reply<LeaveGroupResponse> {
        let coord = &ctx.broker.groups;
        let group = match coord.get(&req.group_id.0) {
            Ok(g) => g,
            Err(e) => return Reply::Now(Self::error_response(&req, e.code())),
        };
        let Some(group) = group else {
            // v3+: an unknown group is a per-member error, not a request error.
            let unknown = GroupError::UnknownMemberId.code();
            let top = if ctx.api_version >= 3 { NONE } else { unknown };
            return Reply::Now(
                LeaveGroupResponse::default().with_error_code(top).with_members(each_member(&req, unknown)),
            );
        };
        let now = tokio::time::Instant::now();
        let timings = coord.timings();
        let topics = &*ctx.broker.topics;
        let (resp, stored) = {
            let mut g = group.lock();
            let mut leave = |id: &str, instance: Option<&str>| match g.consumer.as_mut() {
                // A classic member of a consumer group (KIP-848 online migration).
                Some(c) => c.classic_leave(id, instance, topics),
                None => g.leave(id, instance, now, &timings),
            };
            let resp = if ctx.api_version < 3 {
                let left = leave(&req.member_id, None);
                LeaveGroupResponse::default().with_error_code(code(left))
            } else {
                let members = req
                    .members
                    .iter()
                    .map(|m| {
                        let left = leave(&m.member_id, m.group_instance_id.as_deref());
                        MemberResponse::default()
                            .with_member_id(m.member_id.clone())
                            .with_group_instance_id(m.group_instance_id.clone())
                            .with_error_code(code(left))
                    })
                    .collect();
                LeaveGroupResponse::default().with_error_code(NONE).with_members(members)
            };
            (resp, coord.persist(&mut g))
        };
        // Answered once the group's new metadata (if any was written) is durable; if it cannot
        // be stored, the leave is answered with that error (the member retries).
        match stored {
            Ok(None) => Reply::Now(resp),
            Err(e) => Reply::Now(Self::error_response(&req, e.code())),
            Ok(Some(part)) => {
                let stored = coord.wait_stored(vec![part]);
                Reply::Later(
                    async move {
                        match stored.await {
                            Ok(()) => resp,
                            Err(e) => Self::error_response(&req, e.code()),
                        }
                    }
                    .boxed(),
                )
            }
        }
    }

    /// The request's error alone, no member listed (Kafka's `LeaveGroupRequest.getErrorResponse`).
    fn error_response(_req: &LeaveGroupRequest, code: i16) -> LeaveGroupResponse {
        LeaveGroupResponse::default().with_error_code(code)
    }

    fn subject(req: &LeaveGroupRequest) -> Option<Subject> {
        Some(Subject::Group(req.group_id.0.clone()))
    }

    fn errors(resp: &LeaveGroupResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
        for m in &resp.members {
            seen.code(m.error_code);
        }
    }
}

/// Every member of a v3+ request answered `code`.
fn each_member(req: &LeaveGroupRequest, code: i16) -> Vec<MemberResponse> {
    req.members
        .iter()
        .map(|m| {
            MemberResponse::default()
                .with_member_id(m.member_id.clone())
                .with_group_instance_id(m.group_instance_id.clone())
                .with_error_code(code)
        })
        .collect()
}
