//! AlterUserScramCredentials (key 51, v0): adds, replaces and deletes users' SCRAM
//! credentials (what `kafka-configs.sh --alter --add-config 'SCRAM-SHA-256=[...]'` and the
//! Java AdminClient send: the salt and the salted password, never the password). Deletions
//! first, then upsertions, as Kafka orders them; each user answered on its own, once the
//! credential file is durable. Needs ALTER on the cluster.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse, ApiKey};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors};
use crate::auth::credentials::CredentialChange;
use crate::auth::AclOperation;
use crate::error::ErrorCode;

pub struct AlterUserScramCredentials;

impl Handler for AlterUserScramCredentials {
    type Request = AlterUserScramCredentialsRequest;
    type Response = AlterUserScramCredentialsResponse;
    const KEY: ApiKey = ApiKey::AlterUserScramCredentials;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;
    /// Writes and fsyncs the credential file.
    const BLOCKING: bool = true;

    fn handle(ctx: &RequestContext, req: AlterUserScramCredentialsRequest) -> Reply<AlterUserScramCredentialsResponse> {
        if !ctx.cluster_authorized(AclOperation::Alter) {
            return Reply::Now(Self::error_response(&req, E::ClusterAuthorizationFailed.code()));
        }
        let mut changes: Vec<CredentialChange> = req
            .deletions
            .iter()
            .map(|d| CredentialChange::Delete { user: d.name.to_string(), mechanism: d.mechanism })
            .collect();
        changes.extend(req.upsertions.iter().map(|u| CredentialChange::Upsert {
            user: u.name.to_string(),
            mechanism: u.mechanism,
            iterations: u.iterations,
            salt: u.salt.to_vec(),
            salted_password: u.salted_password.to_vec(),
        }));
        let results = ctx
            .broker
            .credentials
            .alter(&changes)
            .into_iter()
            .map(|(user, r)| {
                let out = AlterUserScramCredentialsResult::default().with_user(sb(user));
                match r {
                    Ok(()) => out,
                    Err(e) => out.with_error_code(e.code()).with_error_message(Some(sb(e.to_string()))),
                }
            })
            .collect();
        Reply::Now(AlterUserScramCredentialsResponse::default().with_results(results))
    }

    fn error_response(req: &AlterUserScramCredentialsRequest, code: i16) -> AlterUserScramCredentialsResponse {
        let users = req.deletions.iter().map(|d| &d.name).chain(req.upsertions.iter().map(|u| &u.name));
        let mut seen: Vec<&kafka_protocol::protocol::StrBytes> = Vec::new();
        let results = users
            .filter(|u| {
                let new = !seen.contains(u);
                seen.push(u);
                new
            })
            .map(|u| AlterUserScramCredentialsResult::default().with_user(u.clone()).with_error_code(code))
            .collect();
        AlterUserScramCredentialsResponse::default().with_results(results)
    }

    fn errors(resp: &AlterUserScramCredentialsResponse, seen: &mut ResponseErrors) {
        for r in &resp.results {
            seen.resource(&r.user, r.error_code);
        }
    }
}
