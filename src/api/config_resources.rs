//! What AlterConfigs and IncrementalAlterConfigs share: Kafka's checks of the resources of
//! a request (each once, no duplicate keys, no null values but for DELETE), and the change
//! of one TOPIC, BROKER or GROUP resource's configs to what the request's operations make
//! of them (Kafka's ConfigAdminManager and its prepareIncrementalConfigs).

use std::collections::{BTreeMap, HashMap, HashSet};

use kafka_protocol::error::ResponseError as E;

use super::RequestContext;
use crate::auth::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::config::describe::{describe_broker, ConfigType};
use crate::config::live::AlterError;
use crate::error::ErrorCode;
use crate::topic::config::TopicConfigs;
use crate::topic::TopicError;

pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;
pub const RESOURCE_GROUP: i8 = 32;

pub const SET: i8 = 0;
pub const DELETE: i8 = 1;
pub const APPEND: i8 = 2;
pub const SUBTRACT: i8 = 3;

/// One config of a request: its name, operation (SET for AlterConfigs) and value.
pub struct ConfigOp<'a> {
    pub name: &'a str,
    pub op: i8,
    pub value: Option<&'a str>,
}

/// How a resource's configs change.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// AlterConfigs: the operations' configs replace all of the resource's.
    Replace,
    /// IncrementalAlterConfigs: each operation changes one config.
    Incremental,
}

/// Kafka's answer for one resource: an error code and message, or success.
pub type Outcome = Result<(), (i16, String)>;

fn invalid_request(message: impl Into<String>) -> (i16, String) {
    (E::InvalidRequest.code(), message.into())
}

/// The resources (type, name) that appear more than once in a request: Kafka answers each
/// of their occurrences INVALID_REQUEST.
pub fn repeated<'a>(resources: impl Iterator<Item = (i8, &'a str)>) -> HashSet<(i8, &'a str)> {
    let mut seen = HashMap::new();
    for r in resources {
        *seen.entry(r).or_insert(0) += 1;
    }
    seen.into_iter().filter(|(_, n)| *n > 1).map(|(r, _)| r).collect()
}

/// The message for a repeated resource.
const REPEATED: &str = "Each resource must appear at most once.";

/// Whether the principal may `op` (DESCRIBE_CONFIGS or ALTER_CONFIGS) the configs of a
/// resource: a topic's or a group's own, the cluster's for a broker's (Kafka's
/// `ConfigHelper` and `ConfigAdminManager`); the (code, message) to answer when not.
pub fn authorize(ctx: &RequestContext, op: AclOperation, resource_type: i8, name: &str) -> Outcome {
    let (allowed, refused) = match resource_type {
        RESOURCE_TOPIC => (ctx.authorized(op, ResourceType::Topic, name), E::TopicAuthorizationFailed),
        RESOURCE_GROUP => (ctx.authorized(op, ResourceType::Group, name), E::GroupAuthorizationFailed),
        _ => (ctx.cluster_authorized(op), E::ClusterAuthorizationFailed),
    };
    if allowed {
        Ok(())
    } else {
        Err((refused.code(), super::kafka_message(refused)))
    }
}

/// One resource of a request answered: its (error code, message), INVALID_REQUEST if the
/// request names it more than once (`twice`), an authorization error if the principal may
/// not ALTER_CONFIGS it, else the outcome of [`alter`].
#[allow(clippy::too_many_arguments)]
pub fn answer(
    ctx: &RequestContext,
    twice: &HashSet<(i8, &str)>,
    resource_type: i8,
    name: &str,
    mode: Mode,
    ops: &[ConfigOp],
    validate_only: bool,
) -> (i16, Option<kafka_protocol::protocol::StrBytes>) {
    let outcome = if twice.contains(&(resource_type, name)) {
        Err(invalid_request(REPEATED))
    } else {
        authorize(ctx, AclOperation::AlterConfigs, resource_type, name)
            .and_then(|()| alter(&ctx.broker, resource_type, name, mode, ops, validate_only))
    };
    outcome.map_or_else(|(c, m)| (c, Some(super::sb(m))), |()| (super::NONE, None))
}

/// Changes one resource's configs (or only validates the change).
pub fn alter(
    broker: &Broker,
    resource_type: i8,
    name: &str,
    mode: Mode,
    ops: &[ConfigOp],
    validate_only: bool,
) -> Outcome {
    let mut names = HashSet::new();
    if !ops.iter().all(|o| names.insert(o.name)) {
        return Err(invalid_request("Error due to duplicate config keys"));
    }
    let nulls: Vec<&str> = ops.iter().filter(|o| o.op != DELETE && o.value.is_none()).map(|o| o.name).collect();
    if !nulls.is_empty() {
        return Err(invalid_request(format!("Null value not supported for : {}", nulls.join(", "))));
    }
    if let Some(o) = ops.iter().find(|o| !(SET..=SUBTRACT).contains(&o.op)) {
        return Err(invalid_request(format!("Unknown operations type {}", o.op)));
    }
    match resource_type {
        RESOURCE_TOPIC => alter_topic(broker, name, mode, ops, validate_only),
        RESOURCE_BROKER => alter_broker(broker, name, mode, ops, validate_only),
        RESOURCE_GROUP => alter_group(broker, name, mode, ops, validate_only),
        other => Err(invalid_request(format!("Unknown resource type {other}"))),
    }
}

/// The configs after `ops`: `current` replaced (AlterConfigs) or changed one by one.
/// `list_default` gives a LIST config's default (APPEND starts from it); None for a config
/// that is not a list, which APPEND and SUBTRACT refuse.
fn apply_ops(
    current: &BTreeMap<String, String>,
    mode: Mode,
    ops: &[ConfigOp],
    list_default: impl Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, AlterError> {
    if mode == Mode::Replace {
        return Ok(ops.iter().filter_map(|o| Some((o.name.to_string(), o.value?.to_string()))).collect());
    }
    let split = |v: &str| -> Vec<String> { v.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect() };
    let mut next = current.clone();
    for o in ops {
        let value = o.value.unwrap_or_default();
        match o.op {
            SET => {
                next.insert(o.name.to_string(), value.to_string());
            }
            DELETE => {
                next.remove(o.name);
            }
            op => {
                let word = if op == APPEND { "append" } else { "subtract" };
                let default = list_default(o.name).ok_or_else(|| {
                    AlterError::InvalidConfig(format!("Config value {word} is not allowed for config key: {}", o.name))
                })?;
                let mut items = match next.get(o.name) {
                    Some(v) => split(v),
                    None if op == APPEND => split(&default),
                    None => Vec::new(),
                };
                for v in split(value) {
                    if op == SUBTRACT {
                        items.retain(|x| *x != v);
                    } else if !items.contains(&v) {
                        items.push(v);
                    }
                }
                next.insert(o.name.to_string(), items.join(","));
            }
        }
    }
    Ok(next)
}

fn alter_error(e: AlterError) -> (i16, String) {
    if let AlterError::Storage(s) = &e {
        tracing::error!("cannot store a config change: {s}");
    }
    (e.code(), e.to_string())
}

fn alter_topic(broker: &Broker, name: &str, mode: Mode, ops: &[ConfigOp], validate_only: bool) -> Outcome {
    if name.is_empty() {
        return Err(invalid_request("Default topic resources are not allowed."));
    }
    let Some(topic) = broker.topics.get(name) else {
        return Err((E::UnknownTopicOrPartition.code(), format!("Topic {name} does not exist")));
    };
    let current = topic.configs().0;
    let next = apply_ops(&current, mode, ops, TopicConfigs::list_default).map_err(alter_error)?;
    let pairs: Vec<(String, Option<String>)> = next.into_iter().map(|(k, v)| (k, Some(v))).collect();
    broker.topics.set_configs(name, &pairs, validate_only).map_err(|e| {
        if let TopicError::Storage(_) = e {
            tracing::error!(topic = name, "alter configs failed: {e}");
        }
        (e.code(), e.to_string())
    })
}

fn alter_broker(broker: &Broker, name: &str, mode: Mode, ops: &[ConfigOp], validate_only: bool) -> Outcome {
    let this = broker.metadata.this_node().id;
    let per_broker = !name.is_empty();
    if per_broker {
        let id: i32 =
            name.parse().map_err(|_| invalid_request(format!("Node id must be an integer, but it is: {name}")))?;
        if id != this {
            return Err(invalid_request(format!("Unexpected broker id, expected {this}, but received {name}")));
        }
    }
    let rows = describe_broker(broker.live.fixed(), broker.live.fixed());
    let list_default = |config: &str| {
        let row = rows.iter().find(|r| r.name == config && r.kind == ConfigType::List)?;
        row.synonyms.last().map(|s| s.1.clone())
    };
    let changed = broker
        .live
        .alter_broker(per_broker, validate_only, |current| apply_ops(current, mode, ops, list_default))
        .map_err(alter_error)?;
    if changed.is_some() {
        broker.apply_config();
        tracing::info!(resource = name, "altered dynamic broker configs");
    }
    Ok(())
}

fn alter_group(broker: &Broker, name: &str, mode: Mode, ops: &[ConfigOp], validate_only: bool) -> Outcome {
    if name.is_empty() {
        return Err(invalid_request("Default group resources are not allowed."));
    }
    // No group config is a list.
    broker
        .live
        .alter_group(name, validate_only, |current| apply_ops(current, mode, ops, |_| None))
        .map_err(alter_error)?;
    if !validate_only {
        tracing::info!(group = name, "altered group configs");
    }
    Ok(())
}
