//! What DescribeConfigs says about a config, whatever the resource (topic, broker, group):
//! Kafka's config types and sources, the row Brook builds for each config, and the broker's
//! own rows.

use super::BrokerConfig;

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

/// Kafka's DescribeConfigs config sources (`ConfigSource` in the Java client), most
/// specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConfigSource {
    DynamicTopic = 1,
    /// Set with IncrementalAlterConfigs on this broker's id.
    DynamicBroker = 2,
    /// Set with IncrementalAlterConfigs on the empty broker name (every broker's default).
    DynamicDefaultBroker = 3,
    StaticBroker = 4,
    Default = 5,
    /// A group's own value (IncrementalAlterConfigs on a GROUP resource).
    Group = 8,
}

/// One row of a DescribeConfigs answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedConfig {
    pub name: String,
    pub value: String,
    pub source: ConfigSource,
    pub kind: ConfigType,
    /// (synonym name, value, source), most specific first, for include_synonyms.
    pub synonyms: Vec<(String, String, ConfigSource)>,
    /// What the config does (DescribeConfigs v3+ `include_documentation`).
    pub documentation: Option<String>,
    /// Whether IncrementalAlterConfigs may change it.
    pub read_only: bool,
}

/// The levels a broker-level value is set at, most specific first, as DescribeConfigs
/// lists a config's synonyms: this broker's dynamic value, the cluster-wide dynamic default,
/// the static setting (when it differs from the default), the default.
pub fn broker_levels(
    name: &str,
    current: &BrokerConfig,
    fixed: String,
    default: String,
) -> Vec<(String, String, ConfigSource)> {
    let mut out: Vec<_> =
        current.dynamic.levels(name).into_iter().map(|(v, s)| (name.to_string(), v.to_string(), s)).collect();
    if fixed != default {
        out.push((name.to_string(), fixed, ConfigSource::StaticBroker));
    }
    out.push((name.to_string(), default, ConfigSource::Default));
    out
}

/// The broker's own configs as DescribeConfigs reports them for its id: `current` is the
/// effective config, `fixed` the static settings. The default of a setting Brook has is its
/// own (from the settings table); the others' is Kafka's.
pub fn describe_broker(current: &BrokerConfig, fixed: &BrokerConfig) -> Vec<DescribedConfig> {
    let defaults = BrokerConfig::defaults();
    let row = |name: &str, now: String, fixed: String, default: String, kind: ConfigType| {
        let synonyms = broker_levels(name, current, fixed, default);
        DescribedConfig {
            name: name.to_string(),
            value: now,
            source: synonyms.first().map_or(ConfigSource::Default, |s| s.2),
            kind,
            synonyms,
            documentation: setting_doc(name),
            read_only: !super::dynamic::is_dynamic(name),
        }
    };
    // Not dynamic: the same value now as at startup.
    let fixed_row =
        |name: &str, value: String, default: &str, kind| row(name, value.clone(), value, default.into(), kind);
    let setting = |name: &str, value: fn(&BrokerConfig) -> String, kind| {
        row(name, value(current), value(fixed), value(defaults), kind)
    };
    let b = current;
    let mut rows = vec![
        fixed_row(
            "advertised.listeners",
            format!("PLAINTEXT://{}:{}", b.advertised_host, b.advertised_port),
            "",
            ConfigType::String,
        ),
        setting("auto.create.topics.enable", |c| c.auto_create_topics_enable.to_string(), ConfigType::Boolean),
        fixed_row("broker.id", b.node_id.to_string(), "-1", ConfigType::Int),
        setting("brook.durability", |c| c.durability.name().to_string(), ConfigType::String),
        fixed_row("default.replication.factor", "1".into(), "1", ConfigType::Int),
        setting(
            "group.initial.rebalance.delay.ms",
            |c| c.group_initial_rebalance_delay_ms.to_string(),
            ConfigType::Int,
        ),
        fixed_row("listeners", format!("PLAINTEXT://{}", b.listen), "PLAINTEXT://:9092", ConfigType::String),
        fixed_row("log.dirs", b.data_dir.display().to_string(), "", ConfigType::String),
        setting("log.cleaner.backoff.ms", |c| c.log_cleaner_backoff.as_millis().to_string(), ConfigType::Long),
        setting("log.cleaner.dedupe.buffer.size", |c| c.log_cleaner_dedupe_buffer_size.to_string(), ConfigType::Long),
        setting("log.cleaner.enable", |c| c.log_cleaner_enable.to_string(), ConfigType::Boolean),
        setting(
            "log.cleaner.io.max.bytes.per.second",
            |c| kafka_double(c.log_cleaner_io_max_bytes_per_second),
            ConfigType::Double,
        ),
        setting("log.cleaner.threads", |c| c.log_cleaner_threads.to_string(), ConfigType::Int),
        {
            // Set in hours (`log.retention.hours`) statically: Kafka lists that as a synonym.
            let mut r = setting("log.retention.ms", |c| c.log_retention_ms.to_string(), ConfigType::Long);
            let hours = (fixed.log_retention_ms / 3_600_000).to_string();
            let static_at = r.synonyms.iter().position(|s| s.2 >= ConfigSource::StaticBroker).unwrap_or(0);
            let source = r.synonyms.get(static_at).map_or(ConfigSource::Default, |s| s.2);
            r.synonyms.insert(static_at, ("log.retention.hours".into(), hours, source));
            r.documentation = setting_doc("log.retention.hours");
            r
        },
        setting("max.connections", |c| c.max_connections.to_string(), ConfigType::Int),
        setting("max.connections.per.ip", |c| c.max_connections_per_ip.to_string(), ConfigType::Int),
        fixed_row("min.insync.replicas", "1".into(), "1", ConfigType::Int),
        fixed_row("node.id", b.node_id.to_string(), "-1", ConfigType::Int),
        setting("num.partitions", |c| c.num_partitions.to_string(), ConfigType::Int),
        fixed_row("offsets.topic.replication.factor", "1".into(), "3", ConfigType::Int),
        setting("socket.request.max.bytes", |c| c.socket_request_max_bytes.to_string(), ConfigType::Int),
    ];
    // The topic-config defaults (`log.segment.bytes`, `log.cleanup.policy`...).
    for s in crate::topic::config::broker_synonyms(current, fixed) {
        if !rows.iter().any(|r| r.name == s.name) {
            let mut r = row(s.name, s.now, s.fixed, s.default, s.kind);
            r.documentation = r.documentation.or(s.doc.map(str::to_string));
            rows.push(r);
        }
    }
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}

/// The cluster-wide dynamic defaults, as DescribeConfigs reports them for the empty broker
/// name (Kafka lists only those).
pub fn describe_broker_defaults(current: &BrokerConfig) -> Vec<DescribedConfig> {
    let known = describe_broker(current, current);
    current
        .dynamic
        .cluster_default
        .iter()
        .map(|(name, value)| {
            let known = known.iter().find(|r| &r.name == name);
            DescribedConfig {
                name: name.clone(),
                value: value.clone(),
                source: ConfigSource::DynamicDefaultBroker,
                kind: known.map_or(ConfigType::String, |r| r.kind),
                synonyms: vec![(name.clone(), value.clone(), ConfigSource::DynamicDefaultBroker)],
                documentation: known.and_then(|r| r.documentation.clone()),
                read_only: false,
            }
        })
        .collect()
}

/// The doc line of the broker setting with Kafka name `kafka_name`, as plain text (the
/// settings table's Markdown links reduced to their text).
pub fn setting_doc(kafka_name: &str) -> Option<String> {
    let s = super::SETTINGS.iter().find(|s| s.kafka == Some(kafka_name))?;
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

/// A double as Java's `Double.toString` prints it (what Kafka's DescribeConfigs answers):
/// plain with at least one decimal in [1e-3, 1e7), else `1.048576E8`-style, both with the
/// shortest digits that read back to the same value.
fn kafka_double(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return if v == 0.0 { "0.0".to_string() } else { v.to_string() };
    }
    let a = v.abs();
    if (1e-3..1e7).contains(&a) {
        let s = v.to_string();
        return if s.contains('.') { s } else { format!("{s}.0") };
    }
    // Rust's `{:e}` gives the shortest digits as `1.048576e8`; Java wants a decimal point.
    let e = format!("{v:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let mantissa = if mantissa.contains('.') { mantissa.to_string() } else { format!("{mantissa}.0") };
    format!("{mantissa}E{exp}")
}

#[cfg(test)]
mod double_tests {
    #[test]
    fn doubles_print_as_java_does() {
        assert_eq!(super::kafka_double(f64::MAX), "1.7976931348623157E308");
        assert_eq!(super::kafka_double(104_857_600.0), "1.048576E8");
        assert_eq!(super::kafka_double(0.5), "0.5");
        assert_eq!(super::kafka_double(0.9), "0.9");
        assert_eq!(super::kafka_double(100.0), "100.0");
        assert_eq!(super::kafka_double(1e7), "1.0E7");
        assert_eq!(super::kafka_double(0.0001), "1.0E-4");
    }
}
