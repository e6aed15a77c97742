//! DescribeUserScramCredentials (key 50, v0): which SCRAM mechanisms each user has
//! credentials for, and their iteration counts (never the keys). Needs DESCRIBE on the
//! cluster, as in Kafka.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{ApiKey, DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors};
use crate::auth::AclOperation;
use crate::error::ErrorCode;

pub struct DescribeUserScramCredentials;

impl Handler for DescribeUserScramCredentials {
    type Request = DescribeUserScramCredentialsRequest;
    type Response = DescribeUserScramCredentialsResponse;
    const KEY: ApiKey = ApiKey::DescribeUserScramCredentials;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;

    fn handle(
        ctx: &RequestContext,
        req: DescribeUserScramCredentialsRequest,
    ) -> Reply<DescribeUserScramCredentialsResponse> {
        if !ctx.cluster_authorized(AclOperation::Describe) {
            return Reply::Now(Self::error_response(&req, E::ClusterAuthorizationFailed.code()));
        }
        let users: Option<Vec<String>> = req.users.as_ref().map(|u| u.iter().map(|n| n.name.to_string()).collect());
        let results = ctx
            .broker
            .credentials
            .describe(users.as_deref())
            .into_iter()
            .map(|(user, r)| {
                let out = DescribeUserScramCredentialsResult::default().with_user(sb(user));
                match r {
                    Ok(infos) => out.with_credential_infos(
                        infos
                            .into_iter()
                            .map(|i| {
                                CredentialInfo::default()
                                    .with_mechanism(i.mechanism.type_code())
                                    .with_iterations(i.iterations)
                            })
                            .collect(),
                    ),
                    Err(e) => out.with_error_code(e.code()).with_error_message(Some(sb(e.to_string()))),
                }
            })
            .collect();
        Reply::Now(DescribeUserScramCredentialsResponse::default().with_results(results))
    }

    fn error_response(_req: &DescribeUserScramCredentialsRequest, code: i16) -> DescribeUserScramCredentialsResponse {
        DescribeUserScramCredentialsResponse::default().with_error_code(code)
    }

    fn errors(resp: &DescribeUserScramCredentialsResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
        for r in &resp.results {
            seen.resource(&r.user, r.error_code);
        }
    }
}
