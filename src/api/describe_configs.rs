//! DescribeConfigs (key 32): topic and broker configs with values, sources, types and
//! (on request) synonyms.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{ApiKey, DescribeConfigsRequest, DescribeConfigsResponse};

use super::{sb, Handler, Reply, RequestContext, NONE};
use crate::topic::config::{describe_broker, DescribedConfig};

pub struct DescribeConfigs;

pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;

fn row(c: DescribedConfig, synonyms: bool, documentation: bool, read_only: bool) -> DescribeConfigsResourceResult {
    let syns = if synonyms {
        c.synonyms
            .into_iter()
            .map(|(n, v, s)| {
                DescribeConfigsSynonym::default().with_name(sb(n)).with_value(Some(sb(v))).with_source(s as i8)
            })
            .collect()
    } else {
        Vec::new()
    };
    DescribeConfigsResourceResult::default()
        .with_name(sb(c.name))
        .with_value(Some(sb(c.value)))
        .with_read_only(read_only)
        .with_config_source(c.source as i8)
        .with_is_sensitive(false)
        .with_synonyms(syns)
        .with_config_type(c.kind as i8)
        .with_documentation(if documentation { c.documentation.map(sb) } else { None })
}

impl Handler for DescribeConfigs {
    type Request = DescribeConfigsRequest;
    type Response = DescribeConfigsResponse;
    const KEY: ApiKey = ApiKey::DescribeConfigs;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 4;

    fn handle(ctx: &RequestContext, req: DescribeConfigsRequest) -> Reply<DescribeConfigsResponse> {
        let broker = &ctx.broker;
        let docs = ctx.api_version >= 3 && req.include_documentation;
        let results = req
            .resources
            .iter()
            .map(|r| {
                let base = DescribeConfigsResult::default()
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone());
                let (rows, read_only) = match r.resource_type {
                    RESOURCE_TOPIC => match broker.topics.get(&r.resource_name) {
                        Some(t) => (t.configs().describe(&broker.config), false),
                        None => {
                            return base
                                .with_error_code(E::UnknownTopicOrPartition.code())
                                .with_error_message(Some(sb(format!("Topic {} does not exist", &*r.resource_name))))
                        }
                    },
                    RESOURCE_BROKER => {
                        let name = r.resource_name.as_str();
                        if !name.is_empty() && name != broker.metadata.this_node().id.to_string() {
                            return base
                                .with_error_code(E::InvalidRequest.code())
                                .with_error_message(Some(sb(format!("Unexpected broker id {name}"))));
                        }
                        (describe_broker(&broker.config), true)
                    }
                    other => {
                        return base
                            .with_error_code(E::InvalidRequest.code())
                            .with_error_message(Some(sb(format!("Unsupported resource type {other}"))))
                    }
                };
                let configs = rows
                    .into_iter()
                    .filter(|c| {
                        r.configuration_keys.as_ref().is_none_or(|keys| keys.iter().any(|k| k.as_str() == c.name))
                    })
                    .map(|c| row(c, req.include_synonyms, docs, read_only))
                    .collect();
                base.with_error_code(NONE).with_configs(configs)
            })
            .collect();
        Reply::Now(DescribeConfigsResponse::default().with_results(results))
    }

    fn error_response(req: &DescribeConfigsRequest, code: i16) -> DescribeConfigsResponse {
        let results = req
            .resources
            .iter()
            .map(|r| {
                DescribeConfigsResult::default()
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone())
                    .with_error_code(code)
            })
            .collect();
        DescribeConfigsResponse::default().with_results(results)
    }
}
