//! DescribeConfigs (key 32): topic, broker and group configs with values, sources, types,
//! and on request synonyms and documentation.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::{ApiKey, DescribeConfigsRequest, DescribeConfigsResponse};

use super::config_resources::{authorize, RESOURCE_BROKER, RESOURCE_GROUP, RESOURCE_TOPIC};
use super::{sb, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::AclOperation;
use crate::config::describe::{describe_broker, describe_broker_defaults, DescribedConfig};

pub struct DescribeConfigs;

fn row(c: DescribedConfig, synonyms: bool, documentation: bool) -> DescribeConfigsResourceResult {
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
        .with_read_only(c.read_only)
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
                let fail = |code: i16, message: String| {
                    base.clone().with_error_code(code).with_error_message(Some(sb(message)))
                };
                let name = r.resource_name.as_str();
                if let Err((code, message)) = authorize(ctx, AclOperation::DescribeConfigs, r.resource_type, name) {
                    return fail(code, message);
                }
                let rows = match r.resource_type {
                    RESOURCE_TOPIC => match broker.topics.get(&r.resource_name) {
                        Some(t) => t.configs().describe(&broker.live.current(), broker.live.fixed()),
                        None => {
                            return fail(
                                E::UnknownTopicOrPartition.code(),
                                format!("Topic {} does not exist", &*r.resource_name),
                            )
                        }
                    },
                    RESOURCE_BROKER => {
                        let name = r.resource_name.as_str();
                        let this = broker.metadata.this_node().id;
                        if name.is_empty() {
                            describe_broker_defaults(&broker.live.current())
                        } else {
                            match name.parse::<i32>() {
                                Ok(id) if id == this => describe_broker(&broker.live.current(), broker.live.fixed()),
                                Ok(_) => {
                                    return fail(
                                        E::InvalidRequest.code(),
                                        format!(
                                        "Unexpected broker id, expected {this} or empty string, but received {name}"
                                    ),
                                    )
                                }
                                Err(_) => {
                                    return fail(
                                        E::InvalidRequest.code(),
                                        format!("Broker id must be an integer, but it is: {name}"),
                                    )
                                }
                            }
                        }
                    }
                    RESOURCE_GROUP => {
                        if r.resource_name.is_empty() {
                            return fail(E::InvalidRequest.code(), "Group name must not be empty".into());
                        }
                        let defaults = broker.live.current().group_defaults;
                        broker.live.group_configs(&r.resource_name).describe(&defaults)
                    }
                    other => return fail(E::InvalidRequest.code(), format!("Unsupported resource type: {other}")),
                };
                let configs = rows
                    .into_iter()
                    .filter(|c| {
                        r.configuration_keys
                            .as_ref()
                            .is_none_or(|keys| keys.is_empty() || keys.iter().any(|k| k.as_str() == c.name))
                    })
                    .map(|c| row(c, req.include_synonyms, docs))
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

    fn errors(resp: &DescribeConfigsResponse, seen: &mut ResponseErrors) {
        for r in &resp.results {
            seen.resource(&r.resource_name, r.error_code);
        }
    }
}
