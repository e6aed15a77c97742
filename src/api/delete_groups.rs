//! DeleteGroups (key 42): removes empty groups and their committed offsets.

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{ApiKey, DeleteGroupsRequest, DeleteGroupsResponse};

use super::{Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;

pub struct DeleteGroups;

impl Handler for DeleteGroups {
    type Request = DeleteGroupsRequest;
    type Response = DeleteGroupsResponse;
    const KEY: ApiKey = ApiKey::DeleteGroups;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;

    fn handle(ctx: &RequestContext, req: DeleteGroupsRequest) -> Reply<DeleteGroupsResponse> {
        let mut durable = Vec::new();
        let mut seen = std::collections::HashSet::new();
        // Kafka answers each distinct group id once.
        let results = req
            .groups_names
            .iter()
            .filter(|id| seen.insert(id.0.clone()))
            .map(|id| {
                if !ctx.authorized(AclOperation::Delete, ResourceType::Group, id) {
                    let code = E::GroupAuthorizationFailed.code();
                    return DeletableGroupResult::default().with_group_id(id.clone()).with_error_code(code);
                }
                // A share group's delivery state goes first (Kafka deletes the share
                // coordinator's state before the group), and only from an empty group.
                if ctx.broker.groups.share_member_count(id) == Some(0) {
                    let partitions = ctx.broker.shares.partitions_of(id);
                    match ctx.broker.shares.delete(id, &partitions) {
                        Ok(parts) => durable.extend(parts),
                        Err(code) => {
                            return DeletableGroupResult::default().with_group_id(id.clone()).with_error_code(code)
                        }
                    }
                }
                let code = match ctx.broker.groups.delete_group(id) {
                    Ok(p) => {
                        durable.push(p);
                        NONE
                    }
                    Err(e) => e.code(),
                };
                DeletableGroupResult::default().with_group_id(id.clone()).with_error_code(code)
            })
            .collect();
        let resp = DeleteGroupsResponse::default().with_results(results);
        if durable.is_empty() {
            return Reply::Now(resp);
        }
        let stored = ctx.broker.groups.wait_stored(durable);
        Reply::Later(
            async move {
                let mut resp = resp;
                if let Err(e) = stored.await {
                    // The tombstones are not durable: the deletions that were answered with
                    // success are retriable failures instead (they come back after a restart).
                    for r in resp.results.iter_mut().filter(|r| r.error_code == NONE) {
                        r.error_code = e.code();
                    }
                }
                resp
            }
            .boxed(),
        )
    }

    fn error_response(req: &DeleteGroupsRequest, code: i16) -> DeleteGroupsResponse {
        let results = req
            .groups_names
            .iter()
            .map(|id| DeletableGroupResult::default().with_group_id(id.clone()).with_error_code(code))
            .collect();
        DeleteGroupsResponse::default().with_results(results)
    }

    fn errors(resp: &DeleteGroupsResponse, seen: &mut ResponseErrors) {
        for g in &resp.results {
            seen.group(&g.group_id, g.error_code);
        }
    }
}
