//! IncrementalAlterConfigs (key 44): SET, DELETE, APPEND and SUBTRACT per config, on a
//! topic, the broker (this broker's id, or the empty name for every broker's default) or a
//! group. See `config_resources`.

use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{ApiKey, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};

use super::config_resources::{answer, repeated, ConfigOp, Mode, RESOURCE_BROKER};
use super::{Handler, Reply, RequestContext, ResponseErrors};

pub struct IncrementalAlterConfigs;

impl Handler for IncrementalAlterConfigs {
    type Request = IncrementalAlterConfigsRequest;
    type Response = IncrementalAlterConfigsResponse;
    const KEY: ApiKey = ApiKey::IncrementalAlterConfigs;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;

    /// A broker config change may restart the cleaner threads (joining a pass that is
    /// aborting) and rewrites files: off the async workers.
    fn on_blocking_pool(_ctx: &RequestContext, req: &IncrementalAlterConfigsRequest) -> bool {
        req.resources.iter().any(|r| r.resource_type == RESOURCE_BROKER)
    }

    fn handle(ctx: &RequestContext, req: IncrementalAlterConfigsRequest) -> Reply<IncrementalAlterConfigsResponse> {
        let twice = repeated(req.resources.iter().map(|r| (r.resource_type, r.resource_name.as_str())));
        let responses = req
            .resources
            .iter()
            .map(|r| {
                let ops: Vec<ConfigOp> = r
                    .configs
                    .iter()
                    .map(|c| ConfigOp { name: c.name.as_str(), op: c.config_operation, value: c.value.as_deref() })
                    .collect();
                let (code, msg) =
                    answer(ctx, &twice, r.resource_type, &r.resource_name, Mode::Incremental, &ops, req.validate_only);
                AlterConfigsResourceResponse::default()
                    .with_error_code(code)
                    .with_error_message(msg)
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone())
            })
            .collect();
        Reply::Now(IncrementalAlterConfigsResponse::default().with_responses(responses))
    }

    fn error_response(req: &IncrementalAlterConfigsRequest, code: i16) -> IncrementalAlterConfigsResponse {
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
        IncrementalAlterConfigsResponse::default().with_responses(responses)
    }

    fn errors(resp: &IncrementalAlterConfigsResponse, seen: &mut ResponseErrors) {
        for r in &resp.responses {
            seen.resource(&r.resource_name, r.error_code);
        }
    }
}
