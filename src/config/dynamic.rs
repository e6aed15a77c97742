//! Dynamic broker configs (KIP-226): the settings IncrementalAlterConfigs and AlterConfigs
//! change while the broker runs, for every broker (the empty resource name) or for this one
//! (its id). This broker's own value wins over the cluster default, which wins over the
//! static setting (flag, variable, file). This module says which names are dynamic and lays
//! them over a static config; `config::live` stores them and swaps the effective config.

use std::collections::BTreeMap;
use std::time::Duration;

use super::describe::ConfigSource;
use super::BrokerConfig;

/// The dynamic broker configs as stored: Kafka names to values, per scope.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DynamicBrokerConfigs {
    /// Resource name `""`: the default of every broker.
    #[serde(default)]
    pub cluster_default: BTreeMap<String, String>,
    /// Resource name = this broker's id.
    #[serde(default)]
    pub this_broker: BTreeMap<String, String>,
}

impl DynamicBrokerConfigs {
    /// The dynamic value of `name` and where it was set, this broker's first.
    pub fn get(&self, name: &str) -> Option<(&str, ConfigSource)> {
        self.levels(name).into_iter().next()
    }

    /// Every dynamic level `name` is set at, most specific first (DescribeConfigs synonyms).
    pub fn levels(&self, name: &str) -> Vec<(&str, ConfigSource)> {
        let mut out = Vec::new();
        if let Some(v) = self.this_broker.get(name) {
            out.push((v.as_str(), ConfigSource::DynamicBroker));
        }
        if let Some(v) = self.cluster_default.get(name) {
            out.push((v.as_str(), ConfigSource::DynamicDefaultBroker));
        }
        out
    }

    /// The configs of one scope.
    pub fn scope(&self, per_broker: bool) -> &BTreeMap<String, String> {
        if per_broker {
            &self.this_broker
        } else {
            &self.cluster_default
        }
    }

    pub fn scope_mut(&mut self, per_broker: bool) -> &mut BTreeMap<String, String> {
        if per_broker {
            &mut self.this_broker
        } else {
            &mut self.cluster_default
        }
    }
}

type Setter = fn(&mut BrokerConfig, &str) -> Result<(), String>;

fn set<T>(slot: &mut T, value: Result<T, String>) -> Result<(), String> {
    *slot = value?;
    Ok(())
}

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(v: &str, min: T) -> Result<T, String> {
    let n: T = v.trim().parse().map_err(|_| format!("Invalid value {v}: not a number"))?;
    if n < min {
        return Err(format!("Invalid value {v}: must be at least {min}"));
    }
    Ok(n)
}

/// The broker settings Brook applies live, by Kafka name: those of Kafka's dynamic configs
/// (`DynamicBrokerConfig.AllDynamicConfigs`) that Brook has. The other topic-config
/// defaults (`log.cleanup.policy`, `log.cleaner.delete.retention.ms`...) are dynamic too:
/// topic configs read them from [`DynamicBrokerConfigs`] (see `topic::config`).
const SETTERS: &[(&str, Setter)] = &[
    ("log.segment.bytes", |c, v| set(&mut c.log_segment_bytes, number(v, 14))),
    ("log.roll.ms", |c, v| set(&mut c.log_roll_ms, number(v, 1))),
    ("log.retention.ms", |c, v| set(&mut c.log_retention_ms, number(v, -1))),
    ("log.retention.bytes", |c, v| set(&mut c.log_retention_bytes, number(v, i64::MIN))),
    ("log.index.interval.bytes", |c, v| set(&mut c.log_index_interval_bytes, number(v, 0))),
    ("message.max.bytes", |c, v| set(&mut c.message_max_bytes, number(v, 0))),
    ("log.cleaner.threads", |c, v| set(&mut c.log_cleaner_threads, number(v, 1))),
    ("log.cleaner.dedupe.buffer.size", |c, v| set(&mut c.log_cleaner_dedupe_buffer_size, number(v, 0))),
    ("log.cleaner.io.max.bytes.per.second", |c, v| {
        set(&mut c.log_cleaner_io_max_bytes_per_second, number(v, f64::MIN_POSITIVE))
    }),
    ("log.cleaner.backoff.ms", |c, v| {
        set(&mut c.log_cleaner_backoff, number::<u64>(v, 0).map(|ms| Duration::from_millis(ms.max(1))))
    }),
    ("max.connections", |c, v| set(&mut c.max_connections, number::<i32>(v, 0).map(|n| n as usize))),
    ("max.connections.per.ip", |c, v| set(&mut c.max_connections_per_ip, number::<i32>(v, 0).map(|n| n as usize))),
    ("max.connections.per.ip.overrides", |c, v| {
        set(&mut c.max_connections_per_ip_overrides, crate::server::limits::parse_overrides(v))
    }),
];

/// Whether Brook changes `name` live.
pub fn is_dynamic(name: &str) -> bool {
    SETTERS.iter().any(|(n, _)| *n == name) || crate::topic::config::is_broker_synonym(name)
}

/// Whether `name` is a broker config Brook knows (a setting's Kafka name, or one its
/// DescribeConfigs lists). Unknown names are custom configs, stored as Kafka stores them.
pub fn is_known(name: &str) -> bool {
    is_dynamic(name)
        || super::SETTINGS.iter().any(|s| s.kafka == Some(name))
        || super::describe::describe_broker(BrokerConfig::defaults(), BrokerConfig::defaults())
            .iter()
            .any(|r| r.name == name)
}

/// The effective config: `dynamic` laid over the static `fixed` (the cluster default first,
/// then this broker's own). An invalid value is an error naming the config.
pub fn apply(fixed: &BrokerConfig, dynamic: &DynamicBrokerConfigs) -> Result<BrokerConfig, String> {
    let mut c = fixed.clone();
    for (name, value) in dynamic.cluster_default.iter().chain(&dynamic.this_broker) {
        if let Some((_, apply_one)) = SETTERS.iter().find(|(n, _)| n == name) {
            apply_one(&mut c, value).map_err(|e| format!("{e} for configuration {name}"))?;
        } else if let Some(Err(e)) = crate::topic::config::check_broker_synonym(name, value) {
            return Err(e);
        }
    }
    c.check().map_err(|e| e.to_string())?;
    c.dynamic = std::sync::Arc::new(dynamic.clone());
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn configs(default: &[(&str, &str)], mine: &[(&str, &str)]) -> DynamicBrokerConfigs {
        let map = |kv: &[(&str, &str)]| kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        DynamicBrokerConfigs { cluster_default: map(default), this_broker: map(mine) }
    }

    #[test]
    fn this_broker_wins_over_the_default_which_wins_over_static() {
        let fixed = BrokerConfig::defaults();
        let d = configs(&[("message.max.bytes", "2000"), ("log.roll.ms", "5")], &[("message.max.bytes", "3000")]);
        let c = apply(fixed, &d).unwrap();
        assert_eq!((c.message_max_bytes, c.log_roll_ms), (3000, 5));
        assert_eq!(c.dynamic.get("message.max.bytes"), Some(("3000", ConfigSource::DynamicBroker)));
        assert_eq!(c.dynamic.get("log.roll.ms"), Some(("5", ConfigSource::DynamicDefaultBroker)));
        assert_eq!(c.dynamic.levels("message.max.bytes").len(), 2);
        assert_eq!(apply(fixed, &DynamicBrokerConfigs::default()).unwrap().message_max_bytes, fixed.message_max_bytes);
    }

    #[test]
    fn bad_values_are_refused_with_the_config_named() {
        let fixed = BrokerConfig::defaults();
        for (k, v) in [
            ("log.segment.bytes", "13"),
            ("log.cleaner.threads", "0"),
            ("max.connections", "lots"),
            ("log.cleanup.policy", "shred"),
            ("log.cleaner.dedupe.buffer.size", "10"),
        ] {
            let e = apply(fixed, &configs(&[(k, v)], &[])).unwrap_err();
            assert!(e.contains(k) || e.contains("dedupe"), "{k}: {e}");
        }
        assert!(apply(fixed, &configs(&[("log.cleanup.policy", "compact")], &[("custom.thing", "x")])).is_ok());
    }

    #[test]
    fn dynamic_and_known_names() {
        assert!(is_dynamic("log.cleanup.policy") && is_dynamic("max.connections") && is_dynamic("log.cleaner.threads"));
        assert!(!is_dynamic("log.dirs") && !is_dynamic("num.partitions") && !is_dynamic("log.retention.hours"));
        assert!(is_known("log.dirs") && is_known("num.partitions") && is_known("broker.id"));
        assert!(!is_known("custom.thing"));
    }
}
