//! CreateAcls (key 30, v1-3): adds ACLs (literal or prefixed patterns, allow or deny) to the
//! durable store the authorizer reads; each creation answered on its own, in request order.
//! Needs ALTER on the cluster; SECURITY_DISABLED without an authorizer, as Kafka.

use kafka_protocol::messages::create_acls_response::AclCreationResult;
use kafka_protocol::messages::{ApiKey, CreateAclsRequest, CreateAclsResponse};

use super::{acls, sb, Handler, Reply, RequestContext, ResponseErrors};
use crate::auth::acl::{AclBinding, WireAcl};
use crate::auth::AclOperation;
use crate::error::ErrorCode;

pub struct CreateAcls;

impl Handler for CreateAcls {
    type Request = CreateAclsRequest;
    type Response = CreateAclsResponse;
    const KEY: ApiKey = ApiKey::CreateAcls;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 3;
    /// Writes and fsyncs the ACL file.
    const BLOCKING: bool = true;

    fn handle(ctx: &RequestContext, req: CreateAclsRequest) -> Reply<CreateAclsResponse> {
        let store = match acls::store(ctx, AclOperation::Alter) {
            Ok(s) => s,
            Err((code, message)) => {
                let results = req
                    .creations
                    .iter()
                    .map(|_| AclCreationResult::default().with_error_code(code).with_error_message(Some(sb(message))))
                    .collect();
                return Reply::Now(CreateAclsResponse::default().with_results(results));
            }
        };
        // Invalid creations are answered in place; the valid ones are stored together.
        let parsed: Vec<_> = req
            .creations
            .iter()
            .map(|c| {
                AclBinding::from_wire(WireAcl {
                    resource_type: c.resource_type,
                    resource_name: c.resource_name.to_string(),
                    pattern_type: c.resource_pattern_type,
                    principal: c.principal.to_string(),
                    host: c.host.to_string(),
                    operation: c.operation,
                    permission: c.permission_type,
                })
            })
            .collect();
        let valid: Vec<AclBinding> = parsed.iter().filter_map(|p| p.as_ref().ok().cloned()).collect();
        let mut stored = store.create(valid).into_iter();
        let results = parsed
            .into_iter()
            .map(|p| {
                let outcome = match p {
                    Ok(_) => stored.next().unwrap_or(Ok(())),
                    Err(e) => Err(e),
                };
                match outcome {
                    Ok(()) => AclCreationResult::default(),
                    Err(e) => AclCreationResult::default()
                        .with_error_code(e.code())
                        .with_error_message(Some(sb(e.to_string()))),
                }
            })
            .collect();
        Reply::Now(CreateAclsResponse::default().with_results(results))
    }

    fn error_response(req: &CreateAclsRequest, code: i16) -> CreateAclsResponse {
        let results = req.creations.iter().map(|_| AclCreationResult::default().with_error_code(code)).collect();
        CreateAclsResponse::default().with_results(results)
    }

    fn errors(resp: &CreateAclsResponse, seen: &mut ResponseErrors) {
        for r in &resp.results {
            seen.code(r.error_code);
        }
    }
}
