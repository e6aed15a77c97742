//! Topic configuration: Kafka's topic config names, their defaults (from the broker's
//! settings where Kafka has a broker synonym), validation, and the describe view.

use std::collections::BTreeMap;

use crate::config::BrokerConfig;
use crate::log::LogConfig;

/// Kafka's DescribeConfigs config types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    Boolean = 1,
    String = 2,
    Int = 3,
    Long = 5,
    Double = 6,
    List = 7,
}

/// Kafka's DescribeConfigs config sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    DynamicTopic = 1,
    StaticBroker = 4,
    Default = 5,
}

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

/// One row of a DescribeConfigs answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedConfig {
    pub name: String,
    pub value: String,
    pub source: ConfigSource,
    pub kind: ConfigType,
    /// (synonym name, value, source), most specific first, for include_synonyms.
    pub synonyms: Vec<(String, String, ConfigSource)>,
    /// What the config does (DescribeConfigs v3+ `include_documentation`), where Brook has it.
    pub documentation: Option<String>,
}

/// A topic's explicit config overrides (what CreateTopics/AlterConfigs set).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TopicConfigs(pub BTreeMap<String, String>);

fn broker_value(def: &TopicConfigDef, b: &BrokerConfig) -> String {
    match def.default {
        TopicDefault::Kafka(value) => value.to_string(),
        TopicDefault::Broker(value) => value(b),
    }
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

    /// Every topic config with its effective value and source (DescribeConfigs).
    pub fn describe(&self, broker: &BrokerConfig) -> Vec<DescribedConfig> {
        DEFS.iter()
            .map(|d| {
                let broker_v = broker_value(d, broker);
                let mut synonyms = Vec::new();
                if let Some(v) = self.0.get(d.name) {
                    synonyms.push((d.name.to_string(), v.clone(), ConfigSource::DynamicTopic));
                }
                let broker_source =
                    if broker_v != default_value(d) { ConfigSource::StaticBroker } else { ConfigSource::Default };
                if let Some(syn) = d.broker_synonym {
                    synonyms.push((syn.to_string(), broker_v.clone(), broker_source));
                }
                let (value, source) = match self.0.get(d.name) {
                    Some(v) => (v.clone(), ConfigSource::DynamicTopic),
                    None => (broker_v, broker_source),
                };
                let documentation = d.broker_synonym.and_then(setting_doc);
                DescribedConfig { name: d.name.to_string(), value, source, kind: d.kind, synonyms, documentation }
            })
            .collect()
    }
}

/// The doc line of the broker setting with Kafka name `kafka_name`, as plain text (the
/// settings table's Markdown links reduced to their text).
fn setting_doc(kafka_name: &str) -> Option<String> {
    let s = crate::config::SETTINGS.iter().find(|s| s.kafka == Some(kafka_name))?;
    let doc = s.doc();
    let mut out = String::with_capacity(doc.len());
    let mut rest = doc.as_str();
    // `[text](#anchor)` -> `text`
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|c| open + c) else { break };
        let Some(end) = rest[close..].find(')').map(|e| close + e) else { break };
        out.push_str(&rest[..open]);
        out.push_str(&rest[open + 1..close]);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The broker's own configs as DescribeConfigs reports them. The default of a setting Brook
/// has is its own (from the settings table); the others' is Kafka's.
pub fn describe_broker(b: &BrokerConfig) -> Vec<DescribedConfig> {
    // Synonyms as Kafka lists a broker config's: each level it is defined at, most specific
    // first (the static file or flags, then the default).
    let row = |name: &str, value: String, default: &str, kind: ConfigType| {
        let source = if value == default { ConfigSource::Default } else { ConfigSource::StaticBroker };
        let mut synonyms = vec![(name.to_string(), value.clone(), source)];
        if source == ConfigSource::StaticBroker {
            synonyms.push((name.to_string(), default.to_string(), ConfigSource::Default));
        }
        DescribedConfig { name: name.to_string(), source, value, kind, synonyms, documentation: setting_doc(name) }
    };
    let defaults = BrokerConfig::defaults();
    let setting =
        |name: &str, value: fn(&BrokerConfig) -> String, kind: ConfigType| row(name, value(b), &value(defaults), kind);
    vec![
        row(
            "advertised.listeners",
            format!("PLAINTEXT://{}:{}", b.advertised_host, b.advertised_port),
            "",
            ConfigType::String,
        ),
        setting("auto.create.topics.enable", |c| c.auto_create_topics_enable.to_string(), ConfigType::Boolean),
        row("broker.id", b.node_id.to_string(), "-1", ConfigType::Int),
        setting("brook.durability", |c| c.durability.name().to_string(), ConfigType::String),
        row("default.replication.factor", "1".into(), "1", ConfigType::Int),
        setting(
            "group.initial.rebalance.delay.ms",
            |c| c.group_initial_rebalance_delay_ms.to_string(),
            ConfigType::Int,
        ),
        row("listeners", format!("PLAINTEXT://{}", b.listen), "PLAINTEXT://:9092", ConfigType::String),
        row("log.dirs", b.data_dir.display().to_string(), "", ConfigType::String),
        setting("log.cleaner.backoff.ms", |c| c.log_cleaner_backoff.as_millis().to_string(), ConfigType::Long),
        setting("log.cleaner.dedupe.buffer.size", |c| c.log_cleaner_dedupe_buffer_size.to_string(), ConfigType::Long),
        setting("log.cleaner.enable", |c| c.log_cleaner_enable.to_string(), ConfigType::Boolean),
        setting(
            "log.cleaner.io.max.bytes.per.second",
            |c| kafka_double(c.log_cleaner_io_max_bytes_per_second),
            ConfigType::Double,
        ),
        setting("log.cleaner.threads", |c| c.log_cleaner_threads.to_string(), ConfigType::Int),
        setting("log.index.interval.bytes", |c| c.log_index_interval_bytes.to_string(), ConfigType::Int),
        setting("log.retention.bytes", |c| c.log_retention_bytes.to_string(), ConfigType::Long),
        {
            // Set in hours (`log.retention.hours`): Kafka lists that as the synonym.
            let mut r = setting("log.retention.ms", |c| c.log_retention_ms.to_string(), ConfigType::Long);
            let hours = (b.log_retention_ms / 3_600_000).to_string();
            r.synonyms.insert(0, ("log.retention.hours".into(), hours, r.source));
            r.documentation = setting_doc("log.retention.hours");
            r
        },
        setting("log.roll.ms", |c| c.log_roll_ms.to_string(), ConfigType::Long),
        setting("log.segment.bytes", |c| c.log_segment_bytes.to_string(), ConfigType::Int),
        setting("message.max.bytes", |c| c.message_max_bytes.to_string(), ConfigType::Int),
        row("min.insync.replicas", "1".into(), "1", ConfigType::Int),
        row("node.id", b.node_id.to_string(), "-1", ConfigType::Int),
        setting("num.partitions", |c| c.num_partitions.to_string(), ConfigType::Int),
        row("offsets.topic.replication.factor", "1".into(), "3", ConfigType::Int),
        setting("socket.request.max.bytes", |c| c.socket_request_max_bytes.to_string(), ConfigType::Int),
    ]
}

/// A double as Java prints it for the extremes (`1.7976931348623157E308`), plainly otherwise.
fn kafka_double(v: f64) -> String {
    if v == f64::MAX {
        "1.7976931348623157E308".to_string()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let d = c.describe(&b);
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
        let d = TopicConfigs::default().describe(&b);
        assert!(d.iter().all(|r| r.source == ConfigSource::Default && r.synonyms.iter().all(|s| s.2 == r.source)));
        let statics: Vec<_> = describe_broker(&b)
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
        for r in TopicConfigs::default().describe(&b) {
            let expect = if changed.contains(&r.name.as_str()) || r.name == "segment.ms" {
                ConfigSource::StaticBroker
            } else {
                ConfigSource::Default
            };
            assert_eq!(r.source, expect, "{}", r.name);
        }
        let defaults: Vec<_> =
            describe_broker(&b).into_iter().filter(|r| r.source == ConfigSource::Default).map(|r| r.name).collect();
        assert_eq!(defaults, ["default.replication.factor", "min.insync.replicas"]);
    }
}
