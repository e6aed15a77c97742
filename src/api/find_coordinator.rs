//! FindCoordinator (key 10): this broker coordinates every group (and, later, transaction).
//! v4+ batches several keys in one request.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{ApiKey, BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::{sb, Handler, Reply, RequestContext, NONE};
use crate::broker::Broker;

pub struct FindCoordinator;

const KEY_TYPE_GROUP: i8 = 0;

/// (error code, message) for one key; the coordinator is always this node.
fn check(broker: &Broker, key: &str, key_type: i8) -> (i16, Option<String>) {
    if key_type != KEY_TYPE_GROUP {
        return (E::CoordinatorNotAvailable.code(), Some("transactions and share groups are not supported yet".into()));
    }
    if key.is_empty() {
        return (E::InvalidRequest.code(), Some("group id must not be empty".into()));
    }
    match broker.groups.offsets_topic() {
        Ok(_) => (NONE, None),
        Err(e) => (E::CoordinatorNotAvailable.code(), Some(e)),
    }
}

impl Handler for FindCoordinator {
    type Request = FindCoordinatorRequest;
    type Response = FindCoordinatorResponse;
    const KEY: ApiKey = ApiKey::FindCoordinator;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;

    fn handle(ctx: &RequestContext, req: FindCoordinatorRequest) -> Reply<FindCoordinatorResponse> {
        let b = &ctx.broker;
        let (node, host, port) =
            (BrokerId(b.config.node_id), sb(b.config.advertised_host.clone()), b.config.advertised_port);
        if ctx.api_version >= 4 {
            let coordinators = req
                .coordinator_keys
                .iter()
                .map(|k| {
                    let (code, msg) = check(b, k, req.key_type);
                    let c = Coordinator::default()
                        .with_key(k.clone())
                        .with_error_code(code)
                        .with_error_message(msg.map(sb));
                    if code == NONE {
                        c.with_node_id(node).with_host(host.clone()).with_port(port)
                    } else {
                        c.with_node_id(BrokerId(-1)).with_host(StrBytes::default()).with_port(-1)
                    }
                })
                .collect();
            return Reply::Now(FindCoordinatorResponse::default().with_coordinators(coordinators));
        }
        let (code, msg) = check(b, &req.key, req.key_type);
        let resp = FindCoordinatorResponse::default().with_error_code(code).with_error_message(msg.map(sb));
        Reply::Now(if code == NONE {
            resp.with_node_id(node).with_host(host).with_port(port)
        } else {
            resp.with_node_id(BrokerId(-1)).with_port(-1)
        })
    }

    fn error_response(req: &FindCoordinatorRequest, code: i16) -> FindCoordinatorResponse {
        let coordinators = req
            .coordinator_keys
            .iter()
            .map(|k| {
                Coordinator::default()
                    .with_key(k.clone())
                    .with_error_code(code)
                    .with_node_id(BrokerId(-1))
                    .with_port(-1)
            })
            .collect();
        FindCoordinatorResponse::default()
            .with_error_code(code)
            .with_node_id(BrokerId(-1))
            .with_port(-1)
            .with_coordinators(coordinators)
    }
}
