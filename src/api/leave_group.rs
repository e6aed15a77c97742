//! LeaveGroup (key 13): one member (v0-2) or a batch of members by id or instance id (v3+).

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{ApiKey, LeaveGroupRequest, LeaveGroupResponse};

use super::{Handler, Reply, RequestContext, NONE};
use crate::group::state::GroupTimings;

pub struct LeaveGroup;

/// Answers once the group's new metadata (if any was written) is durable.
fn durably(
    ctx: &RequestContext,
    durable: Option<std::sync::Arc<crate::log::Partition>>,
    resp: LeaveGroupResponse,
) -> Reply<LeaveGroupResponse> {
    let Some(part) = durable else { return Reply::Now(resp) };
    let broker = ctx.broker.clone();
    Reply::Later(Box::pin(async move {
        let _ = broker.replicas.wait_durable(vec![part]).await;
        resp
    }))
}

impl Handler for LeaveGroup {
    type Request = LeaveGroupRequest;
    type Response = LeaveGroupResponse;
    const KEY: ApiKey = ApiKey::LeaveGroup;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;

    fn handle(ctx: &RequestContext, req: LeaveGroupRequest) -> Reply<LeaveGroupResponse> {
        let coord = &ctx.broker.groups;
        let cfg = &coord.config;
        let timings = GroupTimings { initial_rebalance_delay: cfg.initial_rebalance_delay, max_size: cfg.max_size };
        let Some(group) = coord.get(&req.group_id.0) else {
            // v3+: an unknown group is a per-member error, not a request error.
            let mut resp = Self::error_response(&req, E::UnknownMemberId.code());
            if ctx.api_version >= 3 {
                resp.error_code = NONE;
            }
            return Reply::Now(resp);
        };
        let now = tokio::time::Instant::now();
        let mut g = group.lock();
        if ctx.api_version < 3 {
            let code = g.leave(&req.member_id, None, now, &timings);
            let durable = coord.persist(&mut g);
            return durably(ctx, durable, LeaveGroupResponse::default().with_error_code(code));
        }
        let members = req
            .members
            .iter()
            .map(|m| {
                let code = g.leave(&m.member_id, m.group_instance_id.as_deref(), now, &timings);
                MemberResponse::default()
                    .with_member_id(m.member_id.clone())
                    .with_group_instance_id(m.group_instance_id.clone())
                    .with_error_code(code)
            })
            .collect();
        let durable = coord.persist(&mut g);
        durably(ctx, durable, LeaveGroupResponse::default().with_error_code(NONE).with_members(members))
    }

    fn error_response(req: &LeaveGroupRequest, code: i16) -> LeaveGroupResponse {
        let members = req
            .members
            .iter()
            .map(|m| {
                MemberResponse::default()
                    .with_member_id(m.member_id.clone())
                    .with_group_instance_id(m.group_instance_id.clone())
                    .with_error_code(code)
            })
            .collect();
        LeaveGroupResponse::default().with_error_code(code).with_members(members)
    }
}
