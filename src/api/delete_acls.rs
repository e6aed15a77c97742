//! DeleteAcls (key 31, v1-3): removes the ACLs each filter matches (every filter sees the ACLs
//! as they were before the request) and answers, per filter, the ACLs it removed. Needs ALTER
//! on the cluster; SECURITY_DISABLED without an authorizer, as Kafka.

use kafka_protocol::messages::delete_acls_response::{DeleteAclsFilterResult, DeleteAclsMatchingAcl};
use kafka_protocol::messages::{ApiKey, DeleteAclsRequest, DeleteAclsResponse};

use super::{acls, sb, Handler, Reply, RequestContext, ResponseErrors};
use crate::auth::acl::AclBindingFilter;
use crate::auth::AclOperation;
use crate::error::ErrorCode;

pub struct DeleteAcls;

impl Handler for DeleteAcls {
    type Request = DeleteAclsRequest;
    type Response = DeleteAclsResponse;
    const KEY: ApiKey = ApiKey::DeleteAcls;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 3;
    /// Writes and fsyncs the ACL file.
    const BLOCKING: bool = true;

    fn handle(ctx: &RequestContext, req: DeleteAclsRequest) -> Reply<DeleteAclsResponse> {
        let store = match acls::store(ctx, AclOperation::Alter) {
            Ok(s) => s,
            Err((code, message)) => {
                let results = req
                    .filters
                    .iter()
                    .map(|_| {
                        DeleteAclsFilterResult::default().with_error_code(code).with_error_message(Some(sb(message)))
                    })
                    .collect();
                return Reply::Now(DeleteAclsResponse::default().with_filter_results(results));
            }
        };
        let parsed: Vec<_> = req
            .filters
            .iter()
            .map(|f| {
                AclBindingFilter::from_wire(acls::filter(
                    f.resource_type_filter,
                    f.resource_name_filter.as_deref(),
                    f.pattern_type_filter,
                    f.principal_filter.as_deref(),
                    f.host_filter.as_deref(),
                    f.operation,
                    f.permission_type,
                ))
            })
            .collect();
        let valid: Vec<AclBindingFilter> = parsed.iter().filter_map(|p| p.as_ref().ok().cloned()).collect();
        let mut deleted = store.delete(&valid).into_iter();
        let results = parsed
            .into_iter()
            .map(|p| {
                let outcome = match p {
                    Ok(_) => deleted.next().unwrap_or(Ok(Vec::new())),
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(bindings) => DeleteAclsFilterResult::default().with_matching_acls(
                        bindings
                            .iter()
                            .map(|b| {
                                let (rt, name, pt, principal, host, op, perm) = acls::wire(b);
                                DeleteAclsMatchingAcl::default()
                                    .with_resource_type(rt)
                                    .with_resource_name(sb(name))
                                    .with_pattern_type(pt)
                                    .with_principal(sb(principal))
                                    .with_host(sb(host))
                                    .with_operation(op)
                                    .with_permission_type(perm)
                            })
                            .collect(),
                    ),
                    Err(e) => DeleteAclsFilterResult::default()
                        .with_error_code(e.code())
                        .with_error_message(Some(sb(e.to_string()))),
                }
            })
            .collect();
        Reply::Now(DeleteAclsResponse::default().with_filter_results(results))
    }

    fn error_response(req: &DeleteAclsRequest, code: i16) -> DeleteAclsResponse {
        let results = req.filters.iter().map(|_| DeleteAclsFilterResult::default().with_error_code(code)).collect();
        DeleteAclsResponse::default().with_filter_results(results)
    }

    fn errors(resp: &DeleteAclsResponse, seen: &mut ResponseErrors) {
        for r in &resp.filter_results {
            seen.code(r.error_code);
        }
    }
}
