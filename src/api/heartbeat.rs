//! Heartbeat (key 12): keeps a member's session alive; tells it when to rejoin.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::{ApiKey, HeartbeatRequest, HeartbeatResponse};

use super::{Handler, Reply, RequestContext};

pub struct Heartbeat;

impl Handler for Heartbeat {
    type Request = HeartbeatRequest;
    type Response = HeartbeatResponse;
    const KEY: ApiKey = ApiKey::Heartbeat;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 4;

    fn handle(ctx: &RequestContext, req: HeartbeatRequest) -> Reply<HeartbeatResponse> {
        let code = match ctx.broker.groups.get(&req.group_id.0) {
            None => E::UnknownMemberId.code(),
            Some(g) => g.lock().heartbeat(
                &req.member_id,
                req.group_instance_id.as_deref(),
                req.generation_id,
                tokio::time::Instant::now(),
            ),
        };
        Reply::Now(HeartbeatResponse::default().with_error_code(code))
    }

    fn error_response(_req: &HeartbeatRequest, code: i16) -> HeartbeatResponse {
        HeartbeatResponse::default().with_error_code(code)
    }
}
