//! DescribeAcls (key 29, v1-3): the ACLs a filter matches, grouped by resource pattern.
//! Needs DESCRIBE on the cluster; SECURITY_DISABLED without an authorizer, as Kafka.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_acls_response::{AclDescription, DescribeAclsResource};
use kafka_protocol::messages::{ApiKey, DescribeAclsRequest, DescribeAclsResponse};

use super::{acls, sb, Handler, Reply, RequestContext, ResponseErrors};
use crate::auth::acl::AclBindingFilter;
use crate::auth::AclOperation;

pub struct DescribeAcls;

impl Handler for DescribeAcls {
    type Request = DescribeAclsRequest;
    type Response = DescribeAclsResponse;
    const KEY: ApiKey = ApiKey::DescribeAcls;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 3;

    fn handle(ctx: &RequestContext, req: DescribeAclsRequest) -> Reply<DescribeAclsResponse> {
        let store = match acls::store(ctx, AclOperation::Describe) {
            Ok(s) => s,
            Err((code, message)) => {
                return Reply::Now(
                    DescribeAclsResponse::default().with_error_code(code).with_error_message(Some(sb(message))),
                )
            }
        };
        let wire = acls::filter(
            req.resource_type_filter,
            req.resource_name_filter.as_deref(),
            req.pattern_type_filter,
            req.principal_filter.as_deref(),
            req.host_filter.as_deref(),
            req.operation,
            req.permission_type,
        );
        let filter = match AclBindingFilter::from_wire(wire) {
            Ok(f) => f,
            Err(e) => {
                return Reply::Now(
                    DescribeAclsResponse::default()
                        .with_error_code(E::InvalidRequest.code())
                        .with_error_message(Some(sb(e.to_string()))),
                )
            }
        };
        // The store answers in binding order: one resource pattern's ACLs are adjacent.
        let mut resources: Vec<DescribeAclsResource> = Vec::new();
        for b in store.describe(&filter) {
            let (rt, name, pt, principal, host, op, perm) = acls::wire(&b);
            let acl = AclDescription::default()
                .with_principal(sb(principal))
                .with_host(sb(host))
                .with_operation(op)
                .with_permission_type(perm);
            match resources.last_mut() {
                Some(r) if r.resource_type == rt && r.resource_name.as_str() == name && r.pattern_type == pt => {
                    r.acls.push(acl)
                }
                _ => resources.push(
                    DescribeAclsResource::default()
                        .with_resource_type(rt)
                        .with_resource_name(sb(name))
                        .with_pattern_type(pt)
                        .with_acls(vec![acl]),
                ),
            }
        }
        Reply::Now(DescribeAclsResponse::default().with_resources(resources))
    }

    fn error_response(_req: &DescribeAclsRequest, code: i16) -> DescribeAclsResponse {
        DescribeAclsResponse::default().with_error_code(code)
    }

    fn errors(resp: &DescribeAclsResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}
