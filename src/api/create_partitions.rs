//! CreatePartitions (key 37): grows a topic's partition count (never shrinks).

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{ApiKey, CreatePartitionsRequest, CreatePartitionsResponse};

use super::{duplicates, sb, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;

pub struct CreatePartitions;

impl Handler for CreatePartitions {
    type Request = CreatePartitionsRequest;
    type Response = CreatePartitionsResponse;
    const KEY: ApiKey = ApiKey::CreatePartitions;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 3;
    const BLOCKING: bool = true;

    fn handle(ctx: &RequestContext, req: CreatePartitionsRequest) -> Reply<CreatePartitionsResponse> {
        let metadata = &ctx.broker.metadata;
        let dup = duplicates(req.topics.iter().map(|t| t.name.0.clone()));
        let results =
            req.topics
                .iter()
                .map(|t| {
                    let r = CreatePartitionsTopicResult::default().with_name(t.name.clone());
                    if dup.contains(&t.name.0) {
                        return r
                            .with_error_code(E::InvalidRequest.code())
                            .with_error_message(Some(sb("Duplicate topic name.")));
                    }
                    if !ctx.authorized(AclOperation::Alter, ResourceType::Topic, &t.name) {
                        return r
                            .with_error_code(E::TopicAuthorizationFailed.code())
                            .with_error_message(Some(sb("The topic authorization is failed.")));
                    }
                    let bad_assignment =
                        t.assignments.iter().flatten().any(|a| {
                            a.broker_ids.iter().any(|b| metadata.node(b.0).is_none()) || a.broker_ids.is_empty()
                        });
                    if bad_assignment {
                        let live: Vec<i32> = metadata.alive_nodes().iter().map(|n| n.id).collect();
                        return r
                            .with_error_code(E::InvalidReplicaAssignment.code())
                            .with_error_message(Some(sb(format!("Assignments may only name live brokers {live:?}"))));
                    }
                    match ctx.broker.topics.add_partitions(&t.name.0, t.count, req.validate_only) {
                        Ok(()) => r.with_error_code(NONE),
                        Err(e) => r.with_error_code(e.code()).with_error_message(Some(sb(e.to_string()))),
                    }
                })
                .collect();
        Reply::Now(CreatePartitionsResponse::default().with_results(results))
    }

    fn error_response(req: &CreatePartitionsRequest, code: i16) -> CreatePartitionsResponse {
        let results = req
            .topics
            .iter()
            .map(|t| CreatePartitionsTopicResult::default().with_name(t.name.clone()).with_error_code(code))
            .collect();
        CreatePartitionsResponse::default().with_results(results)
    }

    fn errors(resp: &CreatePartitionsResponse, seen: &mut ResponseErrors) {
        for t in &resp.results {
            seen.topic(&t.name, t.error_code);
        }
    }
}
