//! Topic configuration: Kafka's topic config names, their defaults (from the broker's
//! settings where Kafka has a broker synonym), validation, and the describe view.

use std::collections::BTreeMap;

use crate::config::describe::broker_levels;
pub use crate::config::describe::{ConfigSource, ConfigType, DescribedConfig};
use crate::config::BrokerConfig;
use crate::log::LogConfig;

/// One topic config Brook knows: name, type, the broker setting it defaults to (if any).
struct TopicConfigDef {
    name: &'static str,
    kind: ConfigType,
    broker_synonym: Option<&'static str>,
    default: TopicDefault,
}

/// Where a topic config's default comes from.
#[derive(Clone, Copy)]
enum TopicDefault {
    /// Kafka's default; Brook has no broker setting for it.
    Kafka(&'static str),
    /// The broker setting Brook has: its value now, and at its default the one the settings
    /// table declares (so the default is written in one place).
    Broker(fn(&BrokerConfig) -> String),
}

const fn def(
    name: &'static str,
    kind: ConfigType,
    broker_synonym: Option<&'static str>,
    kafka_default: &'static str,
) -> TopicConfigDef {
    TopicConfigDef { name, kind, broker_synonym, default: TopicDefault::Kafka(kafka_default) }
}

const fn broker_def(
    name: &'static str,
    kind: ConfigType,
    broker_synonym: &'static str,
    value: fn(&BrokerConfig) -> String,
) -> TopicConfigDef {
    TopicConfigDef { name, kind, broker_synonym: Some(broker_synonym), default: TopicDefault::Broker(value) }
}

const LONG_MAX: &str = "9223372036854775807";

/// Every topic-level config Kafka defines. Brook enforces segment.*, index.interval.bytes,
/// max.message.bytes and message.timestamp.type today; retention and compaction read the
/// others as those features land. Unknown names are rejected with INVALID_CONFIG.
const DEFS: &[TopicConfigDef] = &[
    def("cleanup.policy", ConfigType::List, Some("log.cleanup.policy"), "delete"),
    def("compression.type", ConfigType::String, Some("compression.type"), "producer"),
    def("delete.retention.ms", ConfigType::Long, Some("log.cleaner.delete.retention.ms"), "86400000"),
    // KIP-1191: a share group may dead-letter records into this topic only when it is true.
    def("errors.deadletterqueue.group.enable", ConfigType::Boolean, None, "false"),
    def("file.delete.delay.ms", ConfigType::Long, Some("log.segment.delete.delay.ms"), "60000"),
    def("flush.messages", ConfigType::Long, Some("log.flush.interval.messages"), LONG_MAX),
    def("flush.ms", ConfigType::Long, Some("log.flush.interval.ms"), LONG_MAX),
    broker_def("index.interval.bytes", ConfigType::Int, "log.index.interval.bytes", |b| {
        b.log_index_interval_bytes.to_string()
    }),
    def("local.retention.bytes", ConfigType::Long, Some("log.local.retention.bytes"), "-2"),
    def("local.retention.ms", ConfigType::Long, Some("log.local.retention.ms"), "-2"),
    def("max.compaction.lag.ms", ConfigType::Long, Some("log.cleaner.max.compaction.lag.ms"), LONG_MAX),
    broker_def("max.message.bytes", ConfigType::Int, "message.max.bytes", |b| b.message_max_bytes.to_string()),
    def("message.downconversion.enable", ConfigType::Boolean, Some("log.message.downconversion.enable"), "true"),
    // Kafka 4.0 (KIP-1030): records more than an hour in the future are refused by default.
    def("message.timestamp.after.max.ms", ConfigType::Long, Some("log.message.timestamp.after.max.ms"), "3600000"),
    def("message.timestamp.before.max.ms", ConfigType::Long, Some("log.message.timestamp.before.max.ms"), LONG_MAX),
    def(
        "message.timestamp.difference.max.ms",
        ConfigType::Long,
        Some("log.message.timestamp.difference.max.ms"),
        LONG_MAX,
    ),
    def("message.timestamp.type", ConfigType::String, Some("log.message.timestamp.type"), "CreateTime"),
    def("min.cleanable.dirty.ratio", ConfigType::Double, Some("log.cleaner.min.cleanable.ratio"), "0.5"),
    def("min.compaction.lag.ms", ConfigType::Long, Some("log.cleaner.min.compaction.lag.ms"), "0"),
    def("min.insync.replicas", ConfigType::Int, Some("min.insync.replicas"), "1"),
    def("preallocate", ConfigType::Boolean, Some("log.preallocate"), "false"),
    def("remote.storage.enable", ConfigType::Boolean, None, "false"),
    broker_def("retention.bytes", ConfigType::Long, "log.retention.bytes", |b| b.log_retention_bytes.to_string()),
    broker_def("retention.ms", ConfigType::Long, "log.retention.ms", |b| b.log_retention_ms.to_string()),
    broker_def("segment.bytes", ConfigType::Int, "log.segment.bytes", |b| b.log_segment_bytes.to_string()),
    def("segment.index.bytes", ConfigType::Int, Some("log.index.size.max.bytes"), "10485760"),
    def("segment.jitter.ms", ConfigType::Long, Some("log.roll.jitter.ms"), "0"),
    broker_def("segment.ms", ConfigType::Long, "log.roll.ms", |b| b.log_roll_ms.to_string()),
    def("unclean.leader.election.enable", ConfigType::Boolean, Some("unclean.leader.election.enable"), "false"),
];

/// A topic's explicit config overrides (what CreateTopics/AlterConfigs set).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TopicConfigs(pub BTreeMap<String, String>);

/// The broker-level value of a topic config: its broker setting's (which a dynamic config
/// may have changed), else Kafka's default.
fn broker_value(def: &TopicConfigDef, b: &BrokerConfig) -> String {
    match def.default {
        TopicDefault::Kafka(value) => match def.broker_synonym.and_then(|s| b.dynamic.get(s)) {
            Some((dynamic, _)) => dynamic.to_string(),
            None => value.to_string(),
        },
        TopicDefault::Broker(value) => value(b),
    }
}

/// Whether `name` is the broker setting a topic config defaults to (a dynamic broker
/// config: Kafka's `DynamicLogConfig`).
pub fn is_broker_synonym(name: &str) -> bool {
    DEFS.iter().any(|d| d.broker_synonym == Some(name))
}

/// Checks a value of the broker setting `name` as its topic config would be checked; None
/// if `name` is no topic config's broker setting.
pub fn check_broker_synonym(name: &str, value: &str) -> Option<Result<(), String>> {
    let def = DEFS.iter().find(|d| d.broker_synonym == Some(name))?;
    Some(
        check_value(def, value)
            .map_err(|e| e.replacen(&format!("configuration {}", def.name), &format!("configuration {name}"), 1)),
    )
}

/// A topic config's broker-level default, as a broker config (DescribeConfigs on the broker
/// lists them).
pub struct BrokerSynonym {
    pub name: &'static str,
    /// The value now (a dynamic config may have changed it).
    pub now: String,
    /// The static setting's value.
    pub fixed: String,
    pub default: String,
    pub kind: ConfigType,
    pub doc: Option<&'static str>,
}

/// Every topic config's broker-level default.
pub fn broker_synonyms(current: &BrokerConfig, fixed: &BrokerConfig) -> Vec<BrokerSynonym> {
    DEFS.iter()
        .filter_map(|d| {
            Some(BrokerSynonym {
                name: d.broker_synonym?,
                now: broker_value(d, current),
                fixed: broker_value(d, fixed),
                default: default_value(d),
                kind: d.kind,
                doc: topic_doc(d.name),
            })
        })
        .collect()
}

/// The value DescribeConfigs calls the default (a broker left at its defaults gives it).
fn default_value(def: &TopicConfigDef) -> String {
    broker_value(def, BrokerConfig::defaults())
}

fn check_value(def: &TopicConfigDef, value: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("Invalid value {value} for configuration {}: {why}", def.name));
    match def.kind {
        ConfigType::Int if value.parse::<i32>().is_err() => return bad("not a number of type INT"),
        ConfigType::Long if value.parse::<i64>().is_err() => return bad("not a number of type LONG"),
        ConfigType::Double if value.parse::<f64>().is_err() => return bad("not a number of type DOUBLE"),
        ConfigType::Boolean if !matches!(value.to_ascii_lowercase().as_str(), "true" | "false") => {
            return bad("expected true or false")
        }
        _ => {}
    }
    match def.name {
        "cleanup.policy" if value.split(',').map(str::trim).any(|p| !matches!(p, "delete" | "compact")) => {
            return bad("String must be one of: compact, delete");
        }
        "message.timestamp.type" if !matches!(value, "CreateTime" | "LogAppendTime") => {
            return bad("String must be one of: CreateTime, LogAppendTime");
        }
        "compression.type" if !matches!(value, "producer" | "uncompressed" | "gzip" | "snappy" | "lz4" | "zstd") => {
            return bad("String must be one of: uncompressed, zstd, lz4, snappy, gzip, producer");
        }
        "segment.bytes" if value.parse::<i32>().unwrap_or(0) < 14 => return bad("Value must be at least 14"),
        "max.message.bytes" | "index.interval.bytes" | "segment.ms" | "retention.ms"
            if value.parse::<i64>().unwrap_or(-2) < -1 =>
        {
            return bad("Value must be at least -1");
        }
        "min.insync.replicas" if value.parse::<i32>().unwrap_or(0) < 1 => return bad("Value must be at least 1"),
        "min.cleanable.dirty.ratio" if !(0.0..=1.0).contains(&value.parse::<f64>().unwrap_or(-1.0)) => {
            return bad("Value must be between 0 and 1");
        }
        "delete.retention.ms" | "min.compaction.lag.ms" if value.parse::<i64>().unwrap_or(-1) < 0 => {
            return bad("Value must be at least 0");
        }
        "max.compaction.lag.ms" if value.parse::<i64>().unwrap_or(0) < 1 => return bad("Value must be at least 1"),
        _ => {}
    }
    Ok(())
}

impl TopicConfigs {
    /// A LIST topic config's default (IncrementalAlterConfigs' APPEND starts from it); None
    /// for the others.
    pub fn list_default(name: &str) -> Option<String> {
        DEFS.iter().find(|d| d.name == name && d.kind == ConfigType::List).map(default_value)
    }

    /// Validates and builds overrides from (name, value) pairs of a request.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Result<Self, String> {
        let mut out = BTreeMap::new();
        for (name, value) in pairs {
            let def =
                DEFS.iter().find(|d| d.name == name).ok_or_else(|| format!("Unknown topic config name: {name}"))?;
            let Some(value) = value else {
                return Err(format!("Null value not supported for topic configs: {name}"));
            };
            check_value(def, value)?;
            out.insert(name.to_string(), value.to_string());
        }
        Ok(Self(out))
    }

    /// The effective value of `name` (override, else broker default).
    pub fn get(&self, name: &str, broker: &BrokerConfig) -> Option<String> {
        if let Some(v) = self.0.get(name) {
            return Some(v.clone());
        }
        DEFS.iter().find(|d| d.name == name).map(|d| broker_value(d, broker))
    }

    fn get_i64(&self, name: &str, broker: &BrokerConfig) -> i64 {
        self.get(name, broker).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// The log settings the storage layer enforces.
    pub fn log_config(&self, broker: &BrokerConfig) -> LogConfig {
        let compacted = self.cleanup_policy_has("compact", broker);
        let segment_ms = self.get_i64("segment.ms", broker).max(1);
        let max_compaction_lag_ms = self.get_i64("max.compaction.lag.ms", broker).max(1);
        LogConfig {
            segment_bytes: self.get_i64("segment.bytes", broker).max(14) as u64,
            // Kafka's `maxSegmentMs`: a compacted log also rolls by max.compaction.lag.ms, so
            // its records leave the active segment (which is never cleaned) in time.
            segment_ms: if compacted { segment_ms.min(max_compaction_lag_ms) } else { segment_ms },
            index_interval: self.get_i64("index.interval.bytes", broker).max(0) as u64,
            max_message_bytes: self.get_i64("max.message.bytes", broker).max(0) as usize,
            log_append_time: self.get("message.timestamp.type", broker).as_deref() == Some("LogAppendTime"),
            retention_ms: self.get_i64("retention.ms", broker),
            retention_bytes: self.get_i64("retention.bytes", broker),
            delete_retention: self.cleanup_policy_has("delete", broker),
            compacted,
            timestamp_before_max_ms: self.get_i64("message.timestamp.before.max.ms", broker).max(0),
            timestamp_after_max_ms: self.get_i64("message.timestamp.after.max.ms", broker).max(0),
            max_uncompressed_bytes: broker.max_uncompressed_batch_bytes,
            delete_retention_ms: self.get_i64("delete.retention.ms", broker).max(0),
            min_cleanable_ratio: self
                .get("min.cleanable.dirty.ratio", broker)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.5)
                .clamp(0.0, 1.0),
            min_compaction_lag_ms: self.get_i64("min.compaction.lag.ms", broker).max(0),
            max_compaction_lag_ms,
        }
    }

    fn cleanup_policy_has(&self, policy: &str, broker: &BrokerConfig) -> bool {
        self.get("cleanup.policy", broker).is_some_and(|p| p.split(',').any(|x| x.trim() == policy))
    }

    /// Every topic config with its effective value and source (DescribeConfigs): `current`
    /// is the broker's effective config, `fixed` its static settings.
    pub fn describe(&self, current: &BrokerConfig, fixed: &BrokerConfig) -> Vec<DescribedConfig> {
        DEFS.iter()
            .map(|d| {
                let mut synonyms = Vec::new();
                if let Some(v) = self.0.get(d.name) {
                    synonyms.push((d.name.to_string(), v.clone(), ConfigSource::DynamicTopic));
                }
                if let Some(syn) = d.broker_synonym {
                    synonyms.extend(broker_levels(syn, current, broker_value(d, fixed), default_value(d)));
                }
                let value = self.0.get(d.name).cloned().unwrap_or_else(|| broker_value(d, current));
                DescribedConfig {
                    name: d.name.to_string(),
                    value,
                    source: synonyms.first().map_or(ConfigSource::Default, |s| s.2),
                    kind: d.kind,
                    synonyms,
                    documentation: topic_doc(d.name).map(str::to_string),
                    read_only: false,
                }
            })
            .collect()
    }
}

/// What a topic config does (Kafka's documentation of it, shortened).
fn topic_doc(name: &str) -> Option<&'static str> {
    Some(match name {
        "cleanup.policy" => "The retention policy of old segments: \"delete\" discards them by time or size, \"compact\" keeps the latest value of each key (log compaction); both may be given.",
        "compression.type" => "The final compression of the topic's data: uncompressed, gzip, snappy, lz4, zstd, or producer (keep the producer's codec).",
        "delete.retention.ms" => "How long a tombstone of a compacted topic is kept after the cleaner first saw it, so that a consumer reading from the start sees the deletion.",
        "errors.deadletterqueue.group.enable" => "Whether share groups may write dead-lettered records to this topic (KIP-1191).",
        "file.delete.delay.ms" => "The time to wait before deleting a file from the filesystem.",
        "flush.messages" => "Messages written to a partition between forced fsyncs of its log.",
        "flush.ms" => "The longest time a message stays in the log before a forced fsync.",
        "index.interval.bytes" => "How often, in bytes, an entry is added to the offset index.",
        "local.retention.bytes" => "Tiered storage: the most bytes a partition keeps locally before deleting old segments (-2: retention.bytes).",
        "local.retention.ms" => "Tiered storage: how long a partition keeps segments locally (-2: retention.ms).",
        "max.compaction.lag.ms" => "The longest time a message stays ineligible for compaction.",
        "max.message.bytes" => "The largest record batch this topic accepts (its compressed size when compressed).",
        "message.downconversion.enable" => "Whether old message formats are down-converted for old consumers (no effect since Kafka 4.0).",
        "message.timestamp.after.max.ms" => "How far a record's timestamp may be ahead of the broker's clock (CreateTime topics).",
        "message.timestamp.before.max.ms" => "How far a record's timestamp may be behind the broker's clock (CreateTime topics).",
        "message.timestamp.difference.max.ms" => "The largest difference allowed between a record's timestamp and the broker's clock (deprecated: the before/after configs replace it).",
        "message.timestamp.type" => "Whether a record's timestamp is the producer's (CreateTime) or the broker's at append (LogAppendTime).",
        "min.cleanable.dirty.ratio" => "The smallest share of a compacted log that must be uncleaned (dirty) before the cleaner cleans it.",
        "min.compaction.lag.ms" => "The least time a message stays uncompacted in the log.",
        "min.insync.replicas" => "Replicas that must have a write before an acks=all produce succeeds.",
        "preallocate" => "Whether a new segment file is preallocated on disk.",
        "remote.storage.enable" => "Whether tiered storage is enabled for the topic.",
        "retention.bytes" => "The largest size a partition may grow to before old segments are discarded (-1: no limit).",
        "retention.ms" => "How long a log keeps a segment before discarding it (-1: no time limit).",
        "segment.bytes" => "The size of a segment file; retention and compaction work a file at a time.",
        "segment.index.bytes" => "The size of the index that maps offsets to file positions.",
        "segment.jitter.ms" => "The most random jitter subtracted from segment.ms, so that segments do not all roll at once.",
        "segment.ms" => "The time after which a segment is rolled even if it is not full, so that retention and compaction can act on it.",
        "unclean.leader.election.enable" => "Whether a replica outside the ISR may become leader, at the risk of losing data.",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::describe::describe_broker;

    #[test]
    fn unknown_and_invalid_configs_are_rejected() {
        assert!(TopicConfigs::from_pairs([("no.such.config", Some("1"))]).is_err());
        assert!(TopicConfigs::from_pairs([("segment.bytes", Some("abc"))]).is_err());
        assert!(TopicConfigs::from_pairs([("cleanup.policy", Some("compact,delete"))]).is_ok());
        assert!(TopicConfigs::from_pairs([("message.timestamp.type", Some("Sometimes"))]).is_err());
        assert!(TopicConfigs::from_pairs([("min.cleanable.dirty.ratio", Some("1.5"))]).is_err());
        assert!(TopicConfigs::from_pairs([("min.cleanable.dirty.ratio", Some("0.01"))]).is_ok());
        assert!(TopicConfigs::from_pairs([("min.compaction.lag.ms", Some("-1"))]).is_err());
        assert!(TopicConfigs::from_pairs([("max.compaction.lag.ms", Some("0"))]).is_err());
        assert!(TopicConfigs::from_pairs([("delete.retention.ms", Some("-5"))]).is_err());
    }

    /// The compaction configs reach the log, with Kafka's defaults; a compacted log also
    /// rolls by max.compaction.lag.ms.
    #[test]
    fn compaction_configs_reach_the_log() {
        let b = BrokerConfig::resolve(&Default::default()).unwrap();
        let d = TopicConfigs::default().log_config(&b);
        assert_eq!((d.delete_retention_ms, d.min_cleanable_ratio), (86_400_000, 0.5));
        assert_eq!((d.min_compaction_lag_ms, d.max_compaction_lag_ms, d.segment_ms), (0, i64::MAX, 604_800_000));
        let c = TopicConfigs::from_pairs([
            ("cleanup.policy", Some("compact")),
            ("min.cleanable.dirty.ratio", Some("0.1")),
            ("max.compaction.lag.ms", Some("5000")),
            ("min.compaction.lag.ms", Some("7")),
            ("delete.retention.ms", Some("9")),
        ])
        .unwrap()
        .log_config(&b);
        assert!(c.compacted);
        assert_eq!((c.delete_retention_ms, c.min_cleanable_ratio), (9, 0.1));
        assert_eq!((c.min_compaction_lag_ms, c.max_compaction_lag_ms, c.segment_ms), (7, 5000, 5000));
    }

    #[test]
    fn overrides_win_and_are_reported_as_dynamic() {
        let b = BrokerConfig::resolve(&Default::default()).unwrap();
        let c = TopicConfigs::from_pairs([("retention.ms", Some("1000"))]).unwrap();
        let d = c.describe(&b, &b);
        let r = d.iter().find(|x| x.name == "retention.ms").unwrap();
        assert_eq!((r.value.as_str(), r.source), ("1000", ConfigSource::DynamicTopic));
        let s = d.iter().find(|x| x.name == "segment.bytes").unwrap();
        assert_eq!((s.value.as_str(), s.source), ("1073741824", ConfigSource::Default));
        assert!(c.log_config(&b).segment_bytes == 1 << 30);
    }

    /// A broker left at its defaults reports them as defaults; a changed broker setting
    /// shows as StaticBroker on the topic configs that follow it and on the broker's own.
    #[test]
    fn broker_defaults_are_reported_as_defaults() {
        let b = BrokerConfig::resolve(&Default::default()).unwrap();
        let d = TopicConfigs::default().describe(&b, &b);
        assert!(d.iter().all(|r| r.source == ConfigSource::Default && r.synonyms.iter().all(|s| s.2 == r.source)));
        let statics: Vec<_> = describe_broker(&b, &b)
            .into_iter()
            .filter(|r| r.source == ConfigSource::StaticBroker)
            .map(|r| r.name)
            .collect();
        let expected = ["advertised.listeners", "broker.id", "listeners", "log.dirs", "node.id"];
        assert_eq!(statics, [&expected[..], &["offsets.topic.replication.factor"]].concat());

        let mut b = b;
        b.log_index_interval_bytes = 100;
        b.message_max_bytes = 2000;
        b.log_retention_bytes = 5;
        b.log_retention_ms = 6;
        b.log_segment_bytes = 1 << 20;
        b.log_roll_ms = 7;
        b.auto_create_topics_enable = false;
        b.num_partitions = 3;
        b.group_initial_rebalance_delay_ms = 0;
        b.socket_request_max_bytes = 1 << 20;
        b.durability = crate::config::Durability::Sync;
        b.log_cleaner_enable = false;
        b.log_cleaner_threads = 2;
        b.log_cleaner_dedupe_buffer_size = 1 << 20;
        b.log_cleaner_io_max_bytes_per_second = 1e6;
        b.log_cleaner_backoff = std::time::Duration::from_millis(5);
        let changed = ["index.interval.bytes", "max.message.bytes", "retention.bytes", "retention.ms", "segment.bytes"];
        for r in TopicConfigs::default().describe(&b, &b) {
            let expect = if changed.contains(&r.name.as_str()) || r.name == "segment.ms" {
                ConfigSource::StaticBroker
            } else {
                ConfigSource::Default
            };
            assert_eq!(r.source, expect, "{}", r.name);
        }
        let rows = describe_broker(&b, &b);
        let source = |name: &str| rows.iter().find(|r| r.name == name).map(|r| r.source);
        for name in [
            "log.index.interval.bytes",
            "message.max.bytes",
            "log.retention.bytes",
            "log.retention.ms",
            "log.segment.bytes",
            "log.roll.ms",
            "auto.create.topics.enable",
            "num.partitions",
            "brook.durability",
            "log.cleaner.threads",
        ] {
            assert_eq!(source(name), Some(ConfigSource::StaticBroker), "{name}");
        }
        for name in ["default.replication.factor", "min.insync.replicas", "log.cleanup.policy", "max.connections"] {
            assert_eq!(source(name), Some(ConfigSource::Default), "{name}");
        }
    }
}
