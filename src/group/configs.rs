//! Group configs (KIP-848, KIP-932): the settings one group may set for itself with
//! IncrementalAlterConfigs on a GROUP resource (`consumer.session.timeout.ms`,
//! `share.record.lock.duration.ms`...), their broker defaults and bounds
//! (`group.consumer.*`, `group.share.*`), Kafka's validation, and the describe view.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::describe::{ConfigSource, ConfigType, DescribedConfig};

/// A group config's broker default and the bounds a group's own value must keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded {
    pub default: i32,
    pub min: i32,
    pub max: i32,
}

/// The broker's settings behind the group configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupDefaults {
    pub consumer_session_timeout: Bounded,
    pub consumer_heartbeat_interval: Bounded,
    pub share_session_timeout: Bounded,
    pub share_heartbeat_interval: Bounded,
    pub share_record_lock_duration: Bounded,
    pub share_delivery_count_limit: Bounded,
}

/// Where the broker keeps an INT group config's default and bounds: the accessor, and the
/// settings' names (default, min, max) for messages.
type BrokerBounds = (fn(&GroupDefaults) -> Bounded, [&'static str; 3]);

/// One group config: its name, the broker settings behind it (default, min, max) and what
/// it does.
struct GroupConfigDef {
    name: &'static str,
    kind: ConfigType,
    /// Where the broker keeps its default and bounds (INT configs).
    bounds: Option<BrokerBounds>,
    /// The default of a STRING config.
    fixed_default: &'static str,
    doc: &'static str,
}

const fn int(
    name: &'static str,
    bounds: fn(&GroupDefaults) -> Bounded,
    broker: [&'static str; 3],
    doc: &'static str,
) -> GroupConfigDef {
    GroupConfigDef { name, kind: ConfigType::Int, bounds: Some((bounds, broker)), fixed_default: "", doc }
}

const fn string(name: &'static str, default: &'static str, doc: &'static str) -> GroupConfigDef {
    GroupConfigDef { name, kind: ConfigType::String, bounds: None, fixed_default: default, doc }
}

pub const CONSUMER_SESSION_TIMEOUT: &str = "consumer.session.timeout.ms";
pub const CONSUMER_HEARTBEAT_INTERVAL: &str = "consumer.heartbeat.interval.ms";
pub const SHARE_SESSION_TIMEOUT: &str = "share.session.timeout.ms";
pub const SHARE_HEARTBEAT_INTERVAL: &str = "share.heartbeat.interval.ms";
pub const SHARE_RECORD_LOCK_DURATION: &str = "share.record.lock.duration.ms";
pub const SHARE_DELIVERY_COUNT_LIMIT: &str = "share.delivery.count.limit";
pub const SHARE_AUTO_OFFSET_RESET: &str = "share.auto.offset.reset";
pub const SHARE_ISOLATION_LEVEL: &str = "share.isolation.level";
pub const DLQ_TOPIC_NAME: &str = "errors.deadletterqueue.topic.name";
pub const DLQ_COPY_RECORD: &str = "errors.deadletterqueue.copy.record.enable";

/// Kafka's group configs (4.2's consumer and share ones, and 4.3's delivery count limit,
/// KIP-1240), in name order. Brook has no streams groups, so no `streams.*` configs.
const DEFS: &[GroupConfigDef] = &[
    int(
        CONSUMER_HEARTBEAT_INTERVAL,
        |d| d.consumer_heartbeat_interval,
        [
            "group.consumer.heartbeat.interval.ms",
            "group.consumer.min.heartbeat.interval.ms",
            "group.consumer.max.heartbeat.interval.ms",
        ],
        "The heartbeat interval given to the members of a consumer group.",
    ),
    int(
        CONSUMER_SESSION_TIMEOUT,
        |d| d.consumer_session_timeout,
        [
            "group.consumer.session.timeout.ms",
            "group.consumer.min.session.timeout.ms",
            "group.consumer.max.session.timeout.ms",
        ],
        "The timeout to detect client failures when using the consumer group protocol.",
    ),
    GroupConfigDef {
        name: DLQ_COPY_RECORD,
        kind: ConfigType::Boolean,
        bounds: None,
        fixed_default: "false",
        doc: "Whether a share group's dead-lettered records carry the original key and value \
              (KIP-1191); otherwise only the headers saying where they came from and why.",
    },
    string(
        DLQ_TOPIC_NAME,
        "",
        "The topic a share group's records go to when a consumer rejects them or they reach \
         the delivery count limit (KIP-1191); empty: they are only archived.",
    ),
    string(
        SHARE_AUTO_OFFSET_RESET,
        "latest",
        "The strategy to initialize the share-partition start offset: earliest, latest, or \
         by_duration:<ISO-8601 duration> (that long before now).",
    ),
    int(
        SHARE_DELIVERY_COUNT_LIMIT,
        |d| d.share_delivery_count_limit,
        [
            "group.share.delivery.count.limit",
            "group.share.min.delivery.count.limit",
            "group.share.max.delivery.count.limit",
        ],
        "The maximum number of delivery attempts for a record delivered to a share group.",
    ),
    int(
        SHARE_HEARTBEAT_INTERVAL,
        |d| d.share_heartbeat_interval,
        [
            "group.share.heartbeat.interval.ms",
            "group.share.min.heartbeat.interval.ms",
            "group.share.max.heartbeat.interval.ms",
        ],
        "The heartbeat interval given to the members of a share group.",
    ),
    string(
        SHARE_ISOLATION_LEVEL,
        "read_uncommitted",
        "Controls how to read records written transactionally: read_committed delivers only \
         committed transactional records, read_uncommitted all records.",
    ),
    int(
        SHARE_RECORD_LOCK_DURATION,
        |d| d.share_record_lock_duration,
        [
            "group.share.record.lock.duration.ms",
            "group.share.min.record.lock.duration.ms",
            "group.share.max.record.lock.duration.ms",
        ],
        "The record acquisition lock duration in milliseconds for share groups.",
    ),
    int(
        SHARE_SESSION_TIMEOUT,
        |d| d.share_session_timeout,
        ["group.share.session.timeout.ms", "group.share.min.session.timeout.ms", "group.share.max.session.timeout.ms"],
        "The timeout to detect client failures when using the share group protocol.",
    ),
];

impl GroupDefaults {
    /// Each default within its bounds, as Kafka's GroupCoordinatorConfig requires at
    /// startup; Err names the broker setting.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        for d in DEFS {
            let Some((get, [default, min, max])) = d.bounds else { continue };
            let b = get(self);
            if b.min < 1 {
                return Err((min, "must be at least 1".into()));
            }
            if b.default < b.min {
                return Err((default, format!("must be greater than or equal to {min}")));
            }
            if b.default > b.max {
                return Err((default, format!("must be less than or equal to {max}")));
            }
        }
        Ok(())
    }
}

/// A share group's `share.auto.offset.reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AutoOffsetReset {
    Earliest,
    Latest,
    /// The offset of the first record at most this long before now.
    ByDuration(Duration),
}

/// Parses `earliest`, `latest` or `by_duration:<ISO-8601 duration>` (Java's
/// `Duration.parse` syntax, `PnDTnHnMn.nS`; negative durations refused).
pub fn parse_auto_offset_reset(value: &str) -> Result<AutoOffsetReset, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "earliest" => return Ok(AutoOffsetReset::Earliest),
        "latest" => return Ok(AutoOffsetReset::Latest),
        _ => {}
    }
    let iso = value.trim().strip_prefix("by_duration:").ok_or_else(|| {
        format!("Invalid value `{value}` for configuration {SHARE_AUTO_OFFSET_RESET}. The value must be either 'earliest', 'latest' or of the format 'by_duration:<PnDTnHnMn.nS.>'.")
    })?;
    parse_iso_duration(iso)
        .map(AutoOffsetReset::ByDuration)
        .map_err(|e| format!("Invalid value `{value}` for configuration {SHARE_AUTO_OFFSET_RESET}: {e}"))
}

/// Java's `Duration.parse` (`PnDTnHnMn.nS`, case-insensitive), non-negative only.
fn parse_iso_duration(s: &str) -> Result<Duration, String> {
    let upper = s.to_ascii_uppercase();
    if upper.starts_with('-') {
        return Err("Negative duration is not supported".into());
    }
    let rest = upper.strip_prefix('+').unwrap_or(&upper);
    let rest = rest.strip_prefix('P').ok_or("not an ISO-8601 duration")?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return Err("not an ISO-8601 duration".into()),
        None => (rest, None),
    };
    let mut total = 0f64;
    let mut any = false;
    let mut take = |part: &str, units: &[(char, f64)]| -> Result<(), String> {
        let mut number = String::new();
        let mut allowed = units.iter();
        for ch in part.chars() {
            if ch.is_ascii_digit() || ch == '.' || (ch == '-' && number.is_empty()) {
                number.push(ch);
                continue;
            }
            let (_, scale) = allowed.by_ref().find(|(u, _)| *u == ch).ok_or("not an ISO-8601 duration")?;
            let n: f64 = number.parse().map_err(|_| "not an ISO-8601 duration")?;
            if n < 0.0 {
                return Err("Negative duration is not supported".into());
            }
            if number.contains('.') && ch != 'S' {
                return Err("not an ISO-8601 duration".into());
            }
            total += n * scale;
            any = true;
            number.clear();
        }
        if number.is_empty() {
            Ok(())
        } else {
            Err("not an ISO-8601 duration".into())
        }
    };
    take(date, &[('D', 86_400.0)])?;
    if let Some(t) = time {
        take(t, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    }
    if !any || !total.is_finite() || total > u64::MAX as f64 / 1000.0 {
        return Err("not an ISO-8601 duration".into());
    }
    Ok(Duration::from_secs_f64(total))
}

/// One group's own configs (what IncrementalAlterConfigs set on it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupConfigs(pub BTreeMap<String, String>);

impl GroupConfigs {
    /// Kafka's GroupConfig.validate: known names, parsable values within the broker's
    /// bounds (checked with the defaults filled in), session timeouts above heartbeats.
    pub fn validate(&self, defaults: &GroupDefaults) -> Result<(), String> {
        for name in self.0.keys() {
            if !DEFS.iter().any(|d| d.name == name) {
                return Err(format!("Unknown group config name: {name}"));
            }
        }
        let mut ints = BTreeMap::new();
        for d in DEFS {
            let value = self.value(d, defaults);
            let Some((get, [_, min_name, max_name])) = d.bounds else { continue };
            let n: i32 = value
                .trim()
                .parse()
                .map_err(|_| format!("Invalid value {value} for configuration {}: Not a number of type INT", d.name))?;
            let b = get(defaults);
            if n < 1 {
                return Err(format!("Invalid value {n} for configuration {}: Value must be at least 1", d.name));
            }
            if n < b.min {
                return Err(format!("{} must be greater than or equal to {min_name}", d.name));
            }
            if n > b.max {
                return Err(format!("{} must be less than or equal to {max_name}", d.name));
            }
            ints.insert(d.name, n);
        }
        for (session, heartbeat) in
            [(CONSUMER_SESSION_TIMEOUT, CONSUMER_HEARTBEAT_INTERVAL), (SHARE_SESSION_TIMEOUT, SHARE_HEARTBEAT_INTERVAL)]
        {
            if ints[session] <= ints[heartbeat] {
                return Err(format!("{session} must be greater than {heartbeat}"));
            }
        }
        parse_auto_offset_reset(&self.value(def(SHARE_AUTO_OFFSET_RESET), defaults))?;
        if self.value(def(DLQ_TOPIC_NAME), defaults).starts_with("__") {
            return Err(format!("{DLQ_TOPIC_NAME} cannot be an internal topic (its name starts with __)"));
        }
        let copy = self.value(def(DLQ_COPY_RECORD), defaults);
        if !matches!(copy.to_ascii_lowercase().as_str(), "true" | "false") {
            return Err(format!(
                "Invalid value {copy} for configuration {DLQ_COPY_RECORD}: Expected value to be either true or false"
            ));
        }
        let level = self.value(def(SHARE_ISOLATION_LEVEL), defaults);
        if !matches!(level.as_str(), "read_committed" | "read_uncommitted") {
            return Err(format!(
                "Invalid value {level} for configuration {SHARE_ISOLATION_LEVEL}: String must be one of: read_committed, read_uncommitted"
            ));
        }
        Ok(())
    }

    fn value(&self, d: &GroupConfigDef, defaults: &GroupDefaults) -> String {
        self.0.get(d.name).cloned().unwrap_or_else(|| default_of(d, defaults))
    }

    /// The effective value of an INT group config (the group's own, else the broker's).
    pub fn int(&self, name: &str, defaults: &GroupDefaults) -> i32 {
        let d = def(name);
        let fallback = d.bounds.map_or(0, |(get, _)| get(defaults).default);
        self.0.get(name).and_then(|v| v.trim().parse().ok()).unwrap_or(fallback)
    }

    /// The effective value of a STRING group config.
    pub fn string(&self, name: &str, defaults: &GroupDefaults) -> String {
        self.value(def(name), defaults)
    }

    /// Every group config with its value and source (DescribeConfigs on a GROUP resource).
    pub fn describe(&self, defaults: &GroupDefaults) -> Vec<DescribedConfig> {
        DEFS.iter()
            .map(|d| {
                let (value, source) = match self.0.get(d.name) {
                    Some(v) => (v.clone(), ConfigSource::Group),
                    None => (default_of(d, defaults), ConfigSource::Default),
                };
                DescribedConfig {
                    name: d.name.to_string(),
                    synonyms: vec![(d.name.to_string(), value.clone(), source)],
                    value,
                    source,
                    kind: d.kind,
                    documentation: Some(d.doc.to_string()),
                    read_only: false,
                }
            })
            .collect()
    }
}

fn def(name: &str) -> &'static GroupConfigDef {
    DEFS.iter().find(|d| d.name == name).unwrap_or(&DEFS[0])
}

fn default_of(d: &GroupConfigDef, defaults: &GroupDefaults) -> String {
    match d.bounds {
        Some((get, _)) => get(defaults).default.to_string(),
        None => d.fixed_default.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> GroupDefaults {
        crate::config::BrokerConfig::defaults().group_defaults
    }

    fn configs(kv: &[(&str, &str)]) -> GroupConfigs {
        GroupConfigs(kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn kafka_defaults_and_bounds() {
        let d = defaults();
        assert_eq!(d.consumer_session_timeout, Bounded { default: 45_000, min: 45_000, max: 60_000 });
        assert_eq!(d.share_record_lock_duration, Bounded { default: 30_000, min: 15_000, max: 60_000 });
        assert!(d.check().is_ok());
        let empty = GroupConfigs::default();
        assert!(empty.validate(&d).is_ok());
        assert_eq!(empty.int(CONSUMER_HEARTBEAT_INTERVAL, &d), 5_000);
        assert_eq!(empty.string(SHARE_AUTO_OFFSET_RESET, &d), "latest");
        let rows = empty.describe(&d);
        assert_eq!(rows.len(), DEFS.len());
        assert!(rows.iter().all(|r| r.source == ConfigSource::Default));
    }

    #[test]
    fn validation_matches_kafka() {
        let d = defaults();
        let err = |kv: &[(&str, &str)]| configs(kv).validate(&d).unwrap_err();
        assert_eq!(err(&[("nope", "1")]), "Unknown group config name: nope");
        assert_eq!(
            err(&[(CONSUMER_SESSION_TIMEOUT, "1000")]),
            "consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms"
        );
        assert_eq!(
            err(&[(CONSUMER_HEARTBEAT_INTERVAL, "20000")]),
            "consumer.heartbeat.interval.ms must be less than or equal to group.consumer.max.heartbeat.interval.ms"
        );
        assert!(err(&[(SHARE_SESSION_TIMEOUT, "abc")]).contains("Not a number of type INT"));
        assert!(err(&[(SHARE_ISOLATION_LEVEL, "sometimes")]).contains("read_committed"));
        assert!(err(&[(SHARE_AUTO_OFFSET_RESET, "by_duration:-PT1H")]).contains("Negative"));
        assert!(err(&[(SHARE_DELIVERY_COUNT_LIMIT, "11")]).contains("group.share.max.delivery.count.limit"));
        let ok = configs(&[(CONSUMER_SESSION_TIMEOUT, "50000"), (SHARE_AUTO_OFFSET_RESET, "by_duration:P1DT2H")]);
        assert!(ok.validate(&d).is_ok());
        assert_eq!(ok.int(CONSUMER_SESSION_TIMEOUT, &d), 50_000);
        let row = ok.describe(&d).into_iter().find(|r| r.name == CONSUMER_SESSION_TIMEOUT).unwrap();
        assert_eq!((row.value.as_str(), row.source), ("50000", ConfigSource::Group));
    }

    #[test]
    fn iso_durations_parse_as_java_does() {
        let secs = |s: &str| parse_iso_duration(s).map(|d| d.as_secs_f64());
        assert_eq!(secs("PT1H"), Ok(3600.0));
        assert_eq!(secs("P2D"), Ok(172_800.0));
        assert_eq!(secs("pt1m30.5s"), Ok(90.5));
        assert_eq!(secs("P1DT1H1M1S"), Ok(90_061.0));
        for bad in ["", "P", "PT", "1H", "PT1", "P1H", "PT1S1H", "-PT1S", "PT-1S", "P1.5D"] {
            assert!(parse_iso_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_auto_offset_reset("EARLIEST"), Ok(AutoOffsetReset::Earliest));
        assert_eq!(
            parse_auto_offset_reset("by_duration:PT10S"),
            Ok(AutoOffsetReset::ByDuration(Duration::from_secs(10)))
        );
        assert!(parse_auto_offset_reset("middle").is_err());
    }
}
