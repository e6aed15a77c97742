//! AlterConfigs (key 33, replaces a topic's overrides) and IncrementalAlterConfigs (key 44:
//! SET, DELETE, APPEND, SUBTRACT per config). Broker configs are static in Brook.

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse as IncResult;
use kafka_protocol::messages::{
    alter_configs_response::AlterConfigsResourceResponse, AlterConfigsRequest, AlterConfigsResponse, ApiKey,
    IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::describe_configs::{RESOURCE_BROKER, RESOURCE_TOPIC};
use super::{sb, Handler, Reply, RequestContext, NONE};
use crate::broker::Broker;
use crate::error::ErrorCode;
use crate::topic::TopicError;

pub struct AlterConfigs;
pub struct IncrementalAlterConfigs;

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

/// (code, message) for altering one resource to the overrides `build` computes from the
/// current ones.
fn alter(
    broker: &Broker,
    resource_type: i8,
    name: &str,
    validate_only: bool,
    build: impl FnOnce(BTreeMap<String, String>) -> Result<BTreeMap<String, String>, String>,
) -> (i16, Option<String>) {
    match resource_type {
        RESOURCE_TOPIC => {}
        RESOURCE_BROKER => {
            return (
                E::InvalidRequest.code(),
                Some("Brook's broker configs are static; restart with new settings".into()),
            )
        }
        other => return (E::InvalidRequest.code(), Some(format!("Unsupported resource type {other}"))),
    }
    let Some(topic) = broker.topics.get(name) else {
        return (E::UnknownTopicOrPartition.code(), Some(format!("Topic {name} does not exist")));
    };
    let next = match build(topic.configs().0) {
        Ok(n) => n,
        Err(e) => return (E::InvalidConfig.code(), Some(e)),
    };
    let pairs: Vec<(String, Option<String>)> = next.into_iter().map(|(k, v)| (k, Some(v))).collect();
    match broker.topics.set_configs(name, &pairs, validate_only) {
        Ok(()) => (NONE, None),
        Err(e @ TopicError::Storage(_)) => {
            tracing::error!(topic = name, "alter configs failed: {e}");
            (e.code(), Some(e.to_string()))
        }
        Err(e) => (e.code(), Some(e.to_string())),
    }
}

impl Handler for AlterConfigs {
    type Request = AlterConfigsRequest;
    type Response = AlterConfigsResponse;
    const KEY: ApiKey = ApiKey::AlterConfigs;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;

    fn handle(ctx: &RequestContext, req: AlterConfigsRequest) -> Reply<AlterConfigsResponse> {
        let responses = req
            .resources
            .iter()
            .map(|r| {
                let (code, msg) = alter(&ctx.broker, r.resource_type, &r.resource_name, req.validate_only, |_| {
                    let mut next = BTreeMap::new();
                    for c in &r.configs {
                        let v = c.value.as_ref().ok_or_else(|| format!("Null value not supported for {}", &*c.name))?;
                        next.insert(c.name.to_string(), v.to_string());
                    }
                    Ok(next)
                });
                AlterConfigsResourceResponse::default()
                    .with_error_code(code)
                    .with_error_message(msg.map(sb))
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

fn list_items(v: &str) -> Vec<String> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

impl Handler for IncrementalAlterConfigs {
    type Request = IncrementalAlterConfigsRequest;
    type Response = IncrementalAlterConfigsResponse;
    const KEY: ApiKey = ApiKey::IncrementalAlterConfigs;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;

    fn handle(ctx: &RequestContext, req: IncrementalAlterConfigsRequest) -> Reply<IncrementalAlterConfigsResponse> {
        let broker = &ctx.broker;
        let responses = req
            .resources
            .iter()
            .map(|r| {
                let (code, msg) = alter(broker, r.resource_type, &r.resource_name, req.validate_only, |mut cur| {
                    for c in &r.configs {
                        let name = c.name.to_string();
                        let value = c.value.as_ref().map(StrBytes::to_string);
                        let effective = || {
                            cur.get(&name).cloned().or_else(|| {
                                broker.topics.get(&r.resource_name).and_then(|t| t.configs().get(&name, &broker.config))
                            })
                        };
                        match c.config_operation {
                            SET => {
                                cur.insert(
                                    name.clone(),
                                    value.ok_or_else(|| format!("Null value not supported for {name}"))?,
                                );
                            }
                            DELETE => {
                                cur.remove(&name);
                            }
                            APPEND | SUBTRACT => {
                                let mut items = list_items(&effective().unwrap_or_default());
                                for v in list_items(&value.unwrap_or_default()) {
                                    if c.config_operation == APPEND && !items.contains(&v) {
                                        items.push(v);
                                    } else if c.config_operation == SUBTRACT {
                                        items.retain(|x| *x != v);
                                    }
                                }
                                cur.insert(name.clone(), items.join(","));
                            }
                            op => return Err(format!("Unknown config operation {op} for {name}")),
                        }
                    }
                    Ok(cur)
                });
                IncResult::default()
                    .with_error_code(code)
                    .with_error_message(msg.map(sb))
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
                IncResult::default()
                    .with_error_code(code)
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone())
            })
            .collect();
        IncrementalAlterConfigsResponse::default().with_responses(responses)
    }
}
