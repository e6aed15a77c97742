//! AlterConfigs (key 33): replaces all of a resource's configs (a topic's overrides, the
//! dynamic broker configs of one scope, a group's configs). See `config_resources`.

use kafka_protocol::messages::{
    alter_configs_response::AlterConfigsResourceResponse, AlterConfigsRequest, AlterConfigsResponse, ApiKey,
};

use super::config_resources::{answer, repeated, ConfigOp, Mode, RESOURCE_BROKER, SET};
use super::{Handler, Reply, RequestContext, ResponseErrors};

pub struct AlterConfigs;

impl Handler for AlterConfigs {
    type Request = AlterConfigsRequest;
    type Response = AlterConfigsResponse;
    const KEY: ApiKey = ApiKey::AlterConfigs;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;

    /// A broker config change may restart the cleaner threads (joining a pass that is
    /// aborting) and rewrites files: off the async workers.
    fn on_blocking_pool(_ctx: &RequestContext, req: &AlterConfigsRequest) -> bool {
        req.resources.iter().any(|r| r.resource_type == RESOURCE_BROKER)
    }

    fn handle(ctx: &RequestContext, req: AlterConfigsRequest) -> Reply<AlterConfigsResponse> {
        let twice = repeated(req.resources.iter().map(|r| (r.resource_type, r.resource_name.as_str())));
        let responses = req
            .resources
            .iter()
            .map(|r| {
                let ops: Vec<ConfigOp> = r
                    .configs
                    .iter()
                    .map(|c| ConfigOp { name: c.name.as_str(), op: SET, value: c.value.as_deref() })
                    .collect();
                let (code, msg) =
                    answer(ctx, &twice, r.resource_type, &r.resource_name, Mode::Replace, &ops, req.validate_only);
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

    fn errors(resp: &AlterConfigsResponse, seen: &mut ResponseErrors) {
        for r in &resp.responses {
            seen.resource(&r.resource_name, r.error_code);
        }
    }
}
