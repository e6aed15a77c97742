//! AlterConfigs (key 33): replaces all of a resource's configs (a topic's overrides, the
//! dynamic broker configs of one scope, a group's configs). See `config_resources`.

use kafka_protocol::messages::{
    alter_configs_response::AlterConfigsResourceResponse, AlterConfigsRequest, AlterConfigsResponse, ApiKey,
};

use super::config_resources::{alter, repeated, ConfigOp, Mode, REPEATED, SET};
use super::{sb, Handler, Reply, RequestContext, NONE};

pub struct AlterConfigs;

impl Handler for AlterConfigs {
    type Request = AlterConfigsRequest;
    type Response = AlterConfigsResponse;
    const KEY: ApiKey = ApiKey::AlterConfigs;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;

    fn handle(ctx: &RequestContext, req: AlterConfigsRequest) -> Reply<AlterConfigsResponse> {
        let twice = repeated(req.resources.iter().map(|r| (r.resource_type, r.resource_name.as_str())));
        let responses = req
            .resources
            .iter()
            .map(|r| {
                let outcome = if twice.contains(&(r.resource_type, r.resource_name.as_str())) {
                    Err((kafka_protocol::error::ResponseError::InvalidRequest.code(), REPEATED.to_string()))
                } else {
                    let ops: Vec<ConfigOp> = r
                        .configs
                        .iter()
                        .map(|c| ConfigOp { name: c.name.as_str(), op: SET, value: c.value.as_deref() })
                        .collect();
                    alter(&ctx.broker, r.resource_type, &r.resource_name, Mode::Replace, &ops, req.validate_only)
                };
                let (code, msg) = outcome.map_or_else(|(c, m)| (c, Some(sb(m))), |()| (NONE, None));
                AlterConfigsResourceResponse::default()
                    .with_error_code(code)
                    .with_error_message(msg)
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone())
            })
            .collect();
        Reply::Now(AlterConfigsResponse::default().with_responses(responses))
    }

    fn error_response(req: &AlterConfigsRequest, code: i16) -> AlterConfigsResponse {
        let responses = req
            .resources
            .iter()
            .map(|r| {
                AlterConfigsResourceResponse::default()
                    .with_error_code(code)
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone())
            })
            .collect();
        AlterConfigsResponse::default().with_responses(responses)
    }
}
