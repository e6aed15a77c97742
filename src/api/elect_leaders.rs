//! ElectLeaders (key 43), answered as a single node does: every partition's leader is its
//! preferred (and only) replica and is alive, so no election is needed
//! (`ELECTION_NOT_NEEDED`); unknown partitions get `UNKNOWN_TOPIC_OR_PARTITION`. A request
//! for all partitions (null) lists only those whose election did something: none.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ApiKey, ElectLeadersRequest, ElectLeadersResponse};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::AclOperation;

pub struct ElectLeaders;

/// Election types (v1+): preferred replica, or unclean.
const PREFERRED: i8 = 0;
const UNCLEAN: i8 = 1;

impl Handler for ElectLeaders {
    type Request = ElectLeadersRequest;
    type Response = ElectLeadersResponse;
    const KEY: ApiKey = ApiKey::ElectLeaders;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;

    /// ALTER on the cluster (Kafka's `handleElectLeaders`).
    fn authorize(ctx: &RequestContext, _req: &Self::Request) -> Result<(), i16> {
        if ctx.cluster_authorized(AclOperation::Alter) {
            Ok(())
        } else {
            Err(E::ClusterAuthorizationFailed.code())
        }
    }

    fn handle(ctx: &RequestContext, req: ElectLeadersRequest) -> Reply<ElectLeadersResponse> {
        let election = if ctx.api_version >= 1 { req.election_type } else { PREFERRED };
        if election != PREFERRED && election != UNCLEAN {
            // Only v1+ carries an election type, and the top-level error code with it.
            let code = E::InvalidRequest.code();
            return Reply::Now(Self::error_response(&req, code).with_error_code(code));
        }
        let Some(wanted) = req.topic_partitions else {
            return Reply::Now(ElectLeadersResponse::default().with_error_code(NONE));
        };
        let results = wanted
            .into_iter()
            .map(|t| {
                let topic = ctx.broker.topics.get(&t.topic.0);
                let partition_result = t
                    .partitions
                    .iter()
                    .map(|&p| {
                        let known = topic.as_ref().is_some_and(|tp| tp.has_partition(p));
                        let (code, message) = if known {
                            let why = if election == PREFERRED {
                                "Leader is already the preferred replica."
                            } else {
                                "The partition has a leader: no unclean election is needed."
                            };
                            (E::ElectionNotNeeded.code(), why)
                        } else {
                            (E::UnknownTopicOrPartition.code(), "This server does not host this topic-partition.")
                        };
                        PartitionResult::default()
                            .with_partition_id(p)
                            .with_error_code(code)
                            .with_error_message(Some(sb(message)))
                    })
                    .collect();
                ReplicaElectionResult::default().with_topic(t.topic).with_partition_result(partition_result)
            })
            .collect();
        Reply::Now(ElectLeadersResponse::default().with_error_code(NONE).with_replica_election_results(results))
    }

    /// Per partition only: v0 has no top-level error code to carry it.
    fn error_response(req: &ElectLeadersRequest, code: i16) -> ElectLeadersResponse {
        let results = req
            .topic_partitions
            .iter()
            .flatten()
            .map(|t| {
                let partition_result = t
                    .partitions
                    .iter()
                    .map(|&p| PartitionResult::default().with_partition_id(p).with_error_code(code))
                    .collect();
                ReplicaElectionResult::default().with_topic(t.topic.clone()).with_partition_result(partition_result)
            })
            .collect();
        ElectLeadersResponse::default().with_error_code(code).with_replica_election_results(results)
    }

    fn errors(resp: &ElectLeadersResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
        for t in &resp.replica_election_results {
            for p in &t.partition_result {
                seen.topic(&t.topic, p.error_code);
            }
        }
    }
}
