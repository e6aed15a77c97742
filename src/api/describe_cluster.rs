//! DescribeCluster (key 60): the cluster id, the controller and the live brokers from the
//! metadata cache, as the Java AdminClient's `describeCluster` asks for them (KIP-700), with
//! the cluster's authorized operations when asked. A broker listener serves the BROKER
//! endpoint type only (KIP-919).

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{ApiKey, BrokerId, DescribeClusterRequest, DescribeClusterResponse};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType, CLUSTER_NAME};

pub struct DescribeCluster;

/// KIP-919 endpoint types.
const ENDPOINT_BROKER: i8 = 1;
const ENDPOINT_CONTROLLER: i8 = 2;

/// Kafka's placeholder when authorized operations were not asked for.
const NOT_REQUESTED: i32 = i32::MIN;

impl Handler for DescribeCluster {
    type Request = DescribeClusterRequest;
    type Response = DescribeClusterResponse;
    const KEY: ApiKey = ApiKey::DescribeCluster;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;

    fn handle(ctx: &RequestContext, req: DescribeClusterRequest) -> Reply<DescribeClusterResponse> {
        // v0 has no endpoint type: it means BROKER.
        let wanted = if ctx.api_version >= 1 { req.endpoint_type } else { ENDPOINT_BROKER };
        if wanted != ENDPOINT_BROKER {
            let (code, message) = if wanted == ENDPOINT_CONTROLLER {
                (
                    E::MismatchedEndpointType.code(),
                    "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
                        .to_string(),
                )
            } else {
                (E::UnsupportedEndpointType.code(), format!("Unsupported endpoint type {wanted}"))
            };
            return Reply::Now(Self::error_response(&req, code).with_error_message(Some(sb(message))));
        }
        let metadata = &ctx.broker.metadata;
        let brokers = metadata
            .alive_nodes_on(&ctx.session.listener)
            .iter()
            .map(|n| {
                DescribeClusterBroker::default()
                    .with_broker_id(BrokerId(n.id))
                    .with_host(sb(n.host.clone()))
                    .with_port(n.port)
                    .with_rack(n.rack.clone().map(sb))
            })
            .collect();
        // Without DESCRIBE on the cluster, none (Kafka's computeDescribeClusterResponse).
        let operations = if req.include_cluster_authorized_operations {
            match ctx.cluster_authorized(AclOperation::Describe) {
                true => ctx.authorized_operations(ResourceType::Cluster, CLUSTER_NAME),
                false => 0,
            }
        } else {
            NOT_REQUESTED
        };
        let mut resp = DescribeClusterResponse::default()
            .with_error_code(NONE)
            .with_cluster_id(sb(metadata.cluster_id().to_string()))
            .with_controller_id(BrokerId(metadata.controller_id()))
            .with_brokers(brokers)
            .with_cluster_authorized_operations(operations);
        if ctx.api_version >= 1 {
            resp.endpoint_type = ENDPOINT_BROKER;
        }
        Reply::Now(resp)
    }

    fn error_response(_req: &DescribeClusterRequest, code: i16) -> DescribeClusterResponse {
        DescribeClusterResponse::default()
            .with_error_code(code)
            .with_controller_id(BrokerId(-1))
            .with_cluster_authorized_operations(NOT_REQUESTED)
    }

    fn errors(resp: &DescribeClusterResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}
