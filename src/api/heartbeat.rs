//! Heartbeat (key 12): keeps a member's session alive; tells it when to rejoin.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::{ApiKey, HeartbeatRequest, HeartbeatResponse};

use super::{Handler, Reply, RequestContext, ResponseErrors, Subject, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::state::MemberRef;
use crate::group::GroupError;

pub struct Heartbeat;

impl Handler for Heartbeat {
    type Request = HeartbeatRequest;
    type Response = HeartbeatResponse;
    const KEY: ApiKey = ApiKey::Heartbeat;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 4;

    /// READ on the group (Kafka's `handleHeartbeatRequest`).
    fn authorize(ctx: &RequestContext, req: &Self::Request) -> Result<(), i16> {
        ctx.require(AclOperation::Read, ResourceType::Group, &req.group_id, E::GroupAuthorizationFailed)
    }

    fn handle(ctx: &RequestContext, req: HeartbeatRequest) -> Reply<HeartbeatResponse> {
        let member = MemberRef {
            member_id: &req.member_id,
            group_instance_id: req.group_instance_id.as_deref(),
            generation_id: req.generation_id,
        };
        let result = match ctx.broker.groups.get(&req.group_id.0) {
            Err(e) => Err(e),
            Ok(None) => Err(GroupError::UnknownMemberId),
            Ok(Some(g)) => {
                let mut g = g.lock();
                let now = tokio::time::Instant::now();
                match g.consumer.as_mut() {
                    // A classic member of a consumer group (KIP-848 online migration).
                    Some(c) => {
                        c.classic_heartbeat(member.member_id, member.group_instance_id, member.generation_id, now)
                    }
                    None => g.heartbeat(member, now),
                }
            }
        };
        Reply::Now(HeartbeatResponse::default().with_error_code(result.map_or_else(|e| e.code(), |()| NONE)))
    }

    fn error_response(_req: &HeartbeatRequest, code: i16) -> HeartbeatResponse {
        HeartbeatResponse::default().with_error_code(code)
    }

    fn subject(req: &HeartbeatRequest) -> Option<Subject> {
        Some(Subject::Group(req.group_id.0.clone()))
    }

    fn errors(resp: &HeartbeatResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}
