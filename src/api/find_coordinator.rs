//! FindCoordinator (key 10): the node leading the `__consumer_offsets` partition a group
//! hashes to, or the `__transaction_state` partition a transactional id hashes to (the
//! metadata cache says which; creating the topic on first use, as Kafka).
//! v4+ batches several keys in one request; v6 (KIP-932) adds share-partition keys
//! (`groupId:topicId:partition`), whose share coordinator is this broker (the share state is
//! in-process). Every answer names the node as reached on the listener the request came in on.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{ApiKey, BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::{kafka_message, sb, Handler, Reply, RequestContext, ResponseErrors, Subject, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::cluster::Node;

pub struct FindCoordinator;

const KEY_TYPE_GROUP: i8 = 0;
const KEY_TYPE_TRANSACTION: i8 = 1;
const KEY_TYPE_SHARE: i8 = 2;

/// The coordinator of one key, or the (error code, message) to answer instead. The principal
/// must DESCRIBE the group or transactional id; share keys are for brokers (CLUSTER_ACTION),
/// as Kafka's `getCoordinator` checks them.
fn find(ctx: &RequestContext, key: &str, key_type: i8, version: i16) -> Result<Node, (i16, String)> {
    let refused = |e: E| Err((e.code(), kafka_message(e)));
    match key_type {
        KEY_TYPE_GROUP if !ctx.authorized(AclOperation::Describe, ResourceType::Group, key) => {
            return refused(E::GroupAuthorizationFailed)
        }
        KEY_TYPE_TRANSACTION if !ctx.authorized(AclOperation::Describe, ResourceType::TransactionalId, key) => {
            return refused(E::TransactionalIdAuthorizationFailed)
        }
        KEY_TYPE_SHARE if version >= 6 && !ctx.cluster_authorized(AclOperation::ClusterAction) => {
            return refused(E::ClusterAuthorizationFailed)
        }
        _ => {}
    }
    let broker = &ctx.broker;
    let unavailable = |e: String| (E::CoordinatorNotAvailable.code(), e);
    let topic = match key_type {
        KEY_TYPE_GROUP if key.is_empty() => {
            return Err((E::InvalidRequest.code(), "group id must not be empty".into()))
        }
        KEY_TYPE_GROUP => broker.groups.offsets_topic().map_err(|e| unavailable(e.to_string()))?,
        KEY_TYPE_TRANSACTION if key.is_empty() => {
            return Err((E::InvalidRequest.code(), "transactional id must not be empty".into()))
        }
        KEY_TYPE_TRANSACTION => broker.txns.state_topic().map_err(|e| unavailable(e.to_string()))?,
        // Kafka's getCoordinator: INVALID_REQUEST below v6, and from v6 when the broker has no
        // share coordinator (share groups not enabled).
        KEY_TYPE_SHARE if version < 6 => {
            return Err((E::InvalidRequest.code(), "share coordinator keys need FindCoordinator v6".into()))
        }
        KEY_TYPE_SHARE => {
            // Kafka's SharePartitionKey: "groupId:topicId:partition".
            let mut parts = key.rsplitn(3, ':');
            let (p, t, g) = (parts.next(), parts.next(), parts.next());
            let valid = p.is_some_and(|p| p.parse::<i32>().is_ok_and(|p| p >= 0))
                && t.is_some_and(|t| !t.is_empty())
                && g.is_some_and(|g| !g.is_empty());
            if !valid {
                return Err((E::InvalidRequest.code(), format!("Invalid coordinator key {key:?}")));
            }
            return Ok(broker.metadata.this_node().clone());
        }
        // Kafka's CoordinatorType.forId fails the request.
        other => return Err((E::InvalidRequest.code(), format!("Unknown coordinator type received: {other}"))),
    };
    broker
        .metadata
        .coordinator_for(Some(&topic), key)
        .cloned()
        .ok_or_else(|| (E::CoordinatorNotAvailable.code(), "the coordinator's partition has no leader".into()))
}

impl Handler for FindCoordinator {
    type Request = FindCoordinatorRequest;
    type Response = FindCoordinatorResponse;
    const KEY: ApiKey = ApiKey::FindCoordinator;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 6;

    fn handle(ctx: &RequestContext, req: FindCoordinatorRequest) -> Reply<FindCoordinatorResponse> {
        let b = &ctx.broker;
        if ctx.api_version >= 4 {
            let coordinators = req
                .coordinator_keys
                .iter()
                .map(|k| {
                    let c = Coordinator::default().with_key(k.clone());
                    match find(ctx, k, req.key_type, ctx.api_version) {
                        Ok(n) => {
                            let n = b.metadata.on_listener(&n, &ctx.session.listener);
                            c.with_error_code(NONE).with_node_id(BrokerId(n.id)).with_host(sb(n.host)).with_port(n.port)
                        }
                        Err((code, msg)) => c
                            .with_error_code(code)
                            .with_error_message(Some(sb(msg)))
                            .with_node_id(BrokerId(-1))
                            .with_host(StrBytes::default())
                            .with_port(-1),
                    }
                })
                .collect();
            return Reply::Now(FindCoordinatorResponse::default().with_coordinators(coordinators));
        }
        let resp = FindCoordinatorResponse::default();
        Reply::Now(
            match find(ctx, &req.key, req.key_type, ctx.api_version)
                .map(|n| b.metadata.on_listener(&n, &ctx.session.listener))
            {
                Ok(n) => {
                    resp.with_error_code(NONE).with_node_id(BrokerId(n.id)).with_host(sb(n.host)).with_port(n.port)
                }
                Err((code, msg)) => resp
                    .with_error_code(code)
                    .with_error_message(Some(sb(msg)))
                    .with_node_id(BrokerId(-1))
                    .with_port(-1),
            },
        )
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

    fn subject(req: &FindCoordinatorRequest) -> Option<Subject> {
        Some(Subject::CoordinatorKey(req.key.clone()))
    }

    fn errors(resp: &FindCoordinatorResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
        for c in &resp.coordinators {
            seen.add(c.error_code, Some(Subject::CoordinatorKey(c.key.clone())));
        }
    }
}
