//! Broker configuration: clap flags > `BROOK_*` environment > TOML file > Kafka's defaults.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

/// Command line of the `brook` binary.
#[derive(Debug, Parser)]
#[command(name = "brook", version, about = "A single-binary, Kafka wire-protocol compatible message broker")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the broker (the default when no subcommand is given).
    Serve(Box<ServeArgs>),
    /// Print the APIs and versions this build serves, as a Markdown table.
    ApiVersions,
}

/// Every setting can come from a flag, a `BROOK_*` variable or the `--config` TOML file.
#[derive(Debug, Default, Clone, Args)]
pub struct ServeArgs {
    /// TOML file with settings (keys as below, snake_case, or Kafka's dotted names).
    #[arg(long, env = "BROOK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 0.0.0.0:9092].
    #[arg(long, env = "BROOK_LISTEN")]
    pub listen: Option<String>,
    /// host:port clients are told to connect to [default: localhost:9092].
    #[arg(long, env = "BROOK_ADVERTISED_LISTENER")]
    pub advertised_listener: Option<String>,
    /// Directory holding the log and metadata [default: ./data].
    #[arg(long, env = "BROOK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log filter, e.g. `info` or `brook=debug` [default: info].
    #[arg(long, env = "BROOK_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// This broker's node id [default: 1].
    #[arg(long, env = "BROOK_NODE_ID")]
    pub node_id: Option<i32>,
    /// auto.create.topics.enable [default: true].
    #[arg(long, env = "BROOK_AUTO_CREATE_TOPICS_ENABLE")]
    pub auto_create_topics_enable: Option<bool>,
    /// num.partitions for auto-created topics [default: 1].
    #[arg(long, env = "BROOK_NUM_PARTITIONS")]
    pub num_partitions: Option<i32>,
    /// message.max.bytes: largest record batch accepted [default: 1048588].
    #[arg(long, env = "BROOK_MESSAGE_MAX_BYTES")]
    pub message_max_bytes: Option<i32>,
    /// Most bytes a compressed record batch may inflate to; larger ones are refused with
    /// INVALID_RECORD [default: 64 x message.max.bytes].
    #[arg(long, env = "BROOK_MAX_UNCOMPRESSED_BATCH_BYTES")]
    pub max_uncompressed_batch_bytes: Option<u64>,
    /// socket.request.max.bytes: largest request frame [default: 104857600].
    #[arg(long, env = "BROOK_SOCKET_REQUEST_MAX_BYTES")]
    pub socket_request_max_bytes: Option<i32>,
    /// log.segment.bytes [default: 1073741824].
    #[arg(long, env = "BROOK_LOG_SEGMENT_BYTES")]
    pub log_segment_bytes: Option<i32>,
    /// log.roll.ms: roll a segment after this age [default: 604800000 (7 days)].
    #[arg(long, env = "BROOK_LOG_ROLL_MS")]
    pub log_roll_ms: Option<i64>,
    /// log.retention.hours [default: 168].
    #[arg(long, env = "BROOK_LOG_RETENTION_HOURS")]
    pub log_retention_hours: Option<i64>,
    /// log.retention.bytes per partition, -1 for no limit [default: -1].
    #[arg(long, env = "BROOK_LOG_RETENTION_BYTES")]
    pub log_retention_bytes: Option<i64>,
    /// log.retention.check.interval.ms [default: 300000].
    #[arg(long, env = "BROOK_LOG_RETENTION_CHECK_INTERVAL_MS")]
    pub log_retention_check_interval_ms: Option<u64>,
    /// log.index.interval.bytes [default: 4096].
    #[arg(long, env = "BROOK_LOG_INDEX_INTERVAL_BYTES")]
    pub log_index_interval_bytes: Option<i32>,
    /// Durability: `acks` (fsync before acknowledging acks=all produces, acks=1 answered once
    /// written), `sync` (fsync before acknowledging every produce), `interval` (fsync every
    /// flush_interval_ms in the background), `os` (leave flushing to the OS) [default: acks].
    #[arg(long, env = "BROOK_DURABILITY")]
    pub durability: Option<String>,
    /// Background fsync period for `durability=interval`, and for acks=0/1 data in
    /// `durability=acks` [default: 1000].
    #[arg(long, env = "BROOK_FLUSH_INTERVAL_MS")]
    pub flush_interval_ms: Option<u64>,
    /// `durability=acks`: also start the background fsync round once this many bytes of
    /// acks=0/1 data are unflushed, so that no round (and no fsync waiting behind one) has to
    /// write back a whole interval of a busy broker's data [default: 16777216 (16 MiB)].
    #[arg(long, env = "BROOK_FLUSH_BYTES")]
    pub flush_bytes: Option<u64>,
    /// group.initial.rebalance.delay.ms [default: 3000].
    #[arg(long, env = "BROOK_GROUP_INITIAL_REBALANCE_DELAY_MS")]
    pub group_initial_rebalance_delay_ms: Option<i64>,
    /// group.min.session.timeout.ms [default: 6000].
    #[arg(long, env = "BROOK_GROUP_MIN_SESSION_TIMEOUT_MS")]
    pub group_min_session_timeout_ms: Option<i64>,
    /// group.max.session.timeout.ms [default: 1800000].
    #[arg(long, env = "BROOK_GROUP_MAX_SESSION_TIMEOUT_MS")]
    pub group_max_session_timeout_ms: Option<i64>,
    /// group.max.size [default: 2147483647].
    #[arg(long, env = "BROOK_GROUP_MAX_SIZE")]
    pub group_max_size: Option<i32>,
    /// offsets.retention.minutes [default: 10080 (7 days)].
    #[arg(long, env = "BROOK_OFFSETS_RETENTION_MINUTES")]
    pub offsets_retention_minutes: Option<i64>,
    /// offsets.topic.num.partitions [default: 50].
    #[arg(long, env = "BROOK_OFFSETS_TOPIC_NUM_PARTITIONS")]
    pub offsets_topic_num_partitions: Option<i32>,
    /// max.connections: open connections broker-wide; beyond it a new connection is closed
    /// at once [default: 2147483647].
    #[arg(long, env = "BROOK_MAX_CONNECTIONS")]
    pub max_connections: Option<i32>,
    /// max.connections.per.ip: open connections per client address; beyond it a new
    /// connection is closed at once [default: 2147483647].
    #[arg(long, env = "BROOK_MAX_CONNECTIONS_PER_IP")]
    pub max_connections_per_ip: Option<i32>,
    /// max.connections.per.ip.overrides: per-address limits, `host:count,...` (e.g.
    /// `127.0.0.1:200,[::1]:200,gateway:1000`) [default: none].
    #[arg(long, env = "BROOK_MAX_CONNECTIONS_PER_IP_OVERRIDES")]
    pub max_connections_per_ip_overrides: Option<String>,
    /// connections.max.idle.ms: close a connection with no bytes read or written for this
    /// long; negative never [default: 600000].
    #[arg(long, env = "BROOK_CONNECTIONS_MAX_IDLE_MS")]
    pub connections_max_idle_ms: Option<i64>,
    /// fetch.max.bytes: largest fetch response, whatever the request asks [default: 57671680].
    #[arg(long, env = "BROOK_FETCH_MAX_BYTES")]
    pub fetch_max_bytes: Option<i32>,
    /// socket.listen.backlog.size: connections the kernel completes before the broker accepts
    /// them (capped by net.core.somaxconn) [default: 1024].
    #[arg(long, env = "BROOK_SOCKET_LISTEN_BACKLOG_SIZE")]
    pub socket_listen_backlog_size: Option<u32>,
    /// Requests one connection may have read and not yet answered; the connection reads no
    /// more until one is answered (Brook-specific) [default: 64].
    #[arg(long, env = "BROOK_MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION")]
    pub max_in_flight_requests_per_connection: Option<usize>,
}

/// The same settings as read from a TOML file. Kafka's dotted names are accepted as aliases.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    #[serde(alias = "advertised.listeners")]
    advertised_listener: Option<String>,
    #[serde(alias = "log.dirs")]
    data_dir: Option<PathBuf>,
    log_level: Option<String>,
    #[serde(alias = "node.id")]
    node_id: Option<i32>,
    #[serde(alias = "auto.create.topics.enable")]
    auto_create_topics_enable: Option<bool>,
    #[serde(alias = "num.partitions")]
    num_partitions: Option<i32>,
    #[serde(alias = "message.max.bytes")]
    message_max_bytes: Option<i32>,
    max_uncompressed_batch_bytes: Option<u64>,
    #[serde(alias = "socket.request.max.bytes")]
    socket_request_max_bytes: Option<i32>,
    #[serde(alias = "log.segment.bytes")]
    log_segment_bytes: Option<i32>,
    #[serde(alias = "log.roll.ms")]
    log_roll_ms: Option<i64>,
    #[serde(alias = "log.retention.hours")]
    log_retention_hours: Option<i64>,
    #[serde(alias = "log.retention.bytes")]
    log_retention_bytes: Option<i64>,
    #[serde(alias = "log.retention.check.interval.ms")]
    log_retention_check_interval_ms: Option<u64>,
    #[serde(alias = "log.index.interval.bytes")]
    log_index_interval_bytes: Option<i32>,
    durability: Option<String>,
    #[serde(alias = "log.flush.interval.ms")]
    flush_interval_ms: Option<u64>,
    flush_bytes: Option<u64>,
    #[serde(alias = "group.initial.rebalance.delay.ms")]
    group_initial_rebalance_delay_ms: Option<i64>,
    #[serde(alias = "group.min.session.timeout.ms")]
    group_min_session_timeout_ms: Option<i64>,
    #[serde(alias = "group.max.session.timeout.ms")]
    group_max_session_timeout_ms: Option<i64>,
    #[serde(alias = "group.max.size")]
    group_max_size: Option<i32>,
    #[serde(alias = "offsets.retention.minutes")]
    offsets_retention_minutes: Option<i64>,
    #[serde(alias = "offsets.topic.num.partitions")]
    offsets_topic_num_partitions: Option<i32>,
    #[serde(alias = "max.connections")]
    max_connections: Option<i32>,
    #[serde(alias = "max.connections.per.ip")]
    max_connections_per_ip: Option<i32>,
    #[serde(alias = "max.connections.per.ip.overrides")]
    max_connections_per_ip_overrides: Option<String>,
    #[serde(alias = "connections.max.idle.ms")]
    connections_max_idle_ms: Option<i64>,
    #[serde(alias = "fetch.max.bytes")]
    fetch_max_bytes: Option<i32>,
    #[serde(alias = "socket.listen.backlog.size")]
    socket_listen_backlog_size: Option<u32>,
    max_in_flight_requests_per_connection: Option<usize>,
}

/// What an acknowledged write survives; see README "Durability".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `acks=all` produces are fsynced (group commit) before the ack, like `Sync`; `acks=0/1`
    /// produces are answered once written to the OS, as Kafka's `acks=1` promises only the
    /// leader's write, and reach the disk within `flush_interval` (a background round).
    /// Consumers see data once written, as on a single Kafka broker.
    Acks,
    /// Data is fsynced (group commit) before the produce is acknowledged and before consumers
    /// see it: survives process crash and power loss.
    Sync,
    /// Data is written to the OS before the ack (survives a process crash, `kill -9`) and
    /// fsynced in the background every interval: power loss can lose the last interval.
    Interval,
    /// Data is written to the OS before the ack (survives `kill -9`); the OS decides when it
    /// reaches the disk. Segments are fsynced when they roll and at clean shutdown.
    Os,
}

impl Durability {
    /// Whether consumers only see fsynced data (the high watermark follows the fsyncs).
    pub fn fsync_before_visible(&self) -> bool {
        matches!(self, Durability::Sync)
    }

    /// Whether produces and offset commits wait for their fsync (a group-commit round).
    pub fn group_commit(&self) -> bool {
        matches!(self, Durability::Acks | Durability::Sync)
    }

    /// Whether a produce with this `acks` waits for its fsync before the answer.
    pub fn fsync_before_ack(&self, acks: i16) -> bool {
        match self {
            Durability::Sync => acks != 0,
            Durability::Acks => acks == -1,
            Durability::Interval | Durability::Os => false,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Durability::Acks => "acks",
            Durability::Sync => "sync",
            Durability::Interval => "interval",
            Durability::Os => "os",
        }
    }
}

/// Fully resolved broker settings.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    pub listen: SocketAddr,
    pub advertised_host: String,
    pub advertised_port: i32,
    pub data_dir: PathBuf,
    pub log_level: String,
    pub node_id: i32,
    pub auto_create_topics_enable: bool,
    pub num_partitions: i32,
    pub message_max_bytes: i32,
    /// Bound on a compressed batch's inflated size (produce validation, timestamp lookups).
    pub max_uncompressed_batch_bytes: u64,
    pub socket_request_max_bytes: i32,
    pub log_segment_bytes: i32,
    pub log_roll_ms: i64,
    pub log_retention_ms: i64,
    pub log_retention_bytes: i64,
    pub log_index_interval_bytes: i32,
    pub log_retention_check_interval_ms: u64,
    pub durability: Durability,
    /// Period of the background fsync of `interval` mode, and of `acks` mode's background
    /// group-commit round for data nobody waited on (`log.flush.interval.ms`).
    pub flush_interval: Duration,
    /// `acks` mode: unflushed acks=0/1 bytes that start a background round early.
    pub flush_bytes: u64,
    pub group_initial_rebalance_delay_ms: i64,
    pub group_min_session_timeout_ms: i64,
    pub group_max_session_timeout_ms: i64,
    pub group_max_size: i32,
    pub offsets_retention_minutes: i64,
    pub offsets_topic_num_partitions: i32,
    /// `max.connections`: open connections broker-wide.
    pub max_connections: usize,
    /// `max.connections.per.ip`: open connections per client address, unless overridden.
    pub max_connections_per_ip: usize,
    /// `max.connections.per.ip.overrides`, resolved to addresses at startup.
    pub max_connections_per_ip_overrides: HashMap<IpAddr, usize>,
    /// `connections.max.idle.ms`: a connection without socket reads or writes for this long
    /// is closed; `None` (a negative setting) never.
    pub connections_max_idle: Option<Duration>,
    /// `fetch.max.bytes`: upper bound of a fetch response's record bytes.
    pub fetch_max_bytes: i32,
    /// Requests a connection may have read and not yet answered.
    pub max_in_flight_requests_per_connection: usize,
    /// `socket.listen.backlog.size`: the listen(2) backlog.
    pub socket_listen_backlog_size: u32,
}

/// Configuration errors, reported at startup with the offending setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid config file {path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
    #[error("invalid value for {name}: {message}")]
    Invalid { name: &'static str, message: String },
}

fn invalid(name: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { name, message: message.into() }
}

impl BrokerConfig {
    /// The group coordinator's settings.
    pub fn group_config(&self) -> crate::group::GroupConfig {
        let ms = |v: i64| Duration::from_millis(v.max(0) as u64);
        crate::group::GroupConfig {
            initial_rebalance_delay: ms(self.group_initial_rebalance_delay_ms),
            min_session_timeout: ms(self.group_min_session_timeout_ms),
            max_session_timeout: ms(self.group_max_session_timeout_ms),
            max_size: self.group_max_size as usize,
            offsets_retention: ms(self.offsets_retention_minutes.saturating_mul(60_000)),
            offsets_partitions: self.offsets_topic_num_partitions,
            max_metadata_bytes: 4096,
        }
    }

    /// Resolves flags/env (already merged by clap) over the optional TOML file over defaults.
    pub fn resolve(args: &ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        macro_rules! pick {
            ($field:ident, $default:expr) => {
                args.$field.clone().or(file.$field.clone()).unwrap_or($default)
            };
        }
        let listen_s = pick!(listen, "0.0.0.0:9092".to_string());
        let listen: SocketAddr = listen_s.parse().map_err(|e| invalid("listen", format!("{listen_s:?}: {e}")))?;
        let advertised = pick!(advertised_listener, "localhost:9092".to_string());
        let (advertised_host, advertised_port) = parse_host_port(&advertised)
            .ok_or_else(|| invalid("advertised_listener", format!("{advertised:?} is not host:port")))?;
        let flush_interval = Duration::from_millis(pick!(flush_interval_ms, 1000).max(1));
        let durability = match pick!(durability, "acks".to_string()).as_str() {
            "acks" => Durability::Acks,
            "sync" => Durability::Sync,
            "interval" => Durability::Interval,
            "os" => Durability::Os,
            other => return Err(invalid("durability", format!("{other:?}: expected acks, sync, interval or os"))),
        };
        let overrides = pick!(max_connections_per_ip_overrides, String::new());
        let max_connections_per_ip_overrides = crate::server::limits::parse_overrides(&overrides)
            .map_err(|e| invalid("max_connections_per_ip_overrides", e))?;
        let non_negative =
            |name: &'static str, v: i32| usize::try_from(v).map_err(|_| invalid(name, format!("{v} is negative")));
        let idle_ms = pick!(connections_max_idle_ms, 600_000);
        let message_max_bytes = pick!(message_max_bytes, 1_048_588);
        let cfg = Self {
            listen,
            advertised_host,
            advertised_port,
            data_dir: pick!(data_dir, PathBuf::from("./data")),
            log_level: pick!(log_level, "info".to_string()),
            node_id: pick!(node_id, 1),
            auto_create_topics_enable: pick!(auto_create_topics_enable, true),
            num_partitions: pick!(num_partitions, 1),
            message_max_bytes,
            max_uncompressed_batch_bytes: pick!(
                max_uncompressed_batch_bytes,
                64 * (message_max_bytes.max(1 << 14) as u64)
            ),
            socket_request_max_bytes: pick!(socket_request_max_bytes, 104_857_600),
            log_segment_bytes: pick!(log_segment_bytes, 1 << 30),
            log_roll_ms: pick!(log_roll_ms, 7 * 24 * 3600 * 1000),
            log_retention_ms: pick!(log_retention_hours, 168) * 3600 * 1000,
            log_retention_bytes: pick!(log_retention_bytes, -1),
            log_index_interval_bytes: pick!(log_index_interval_bytes, 4096),
            log_retention_check_interval_ms: pick!(log_retention_check_interval_ms, 300_000),
            flush_interval,
            flush_bytes: pick!(flush_bytes, 16 << 20).max(1),
            durability,
            group_initial_rebalance_delay_ms: pick!(group_initial_rebalance_delay_ms, 3000),
            group_min_session_timeout_ms: pick!(group_min_session_timeout_ms, 6000),
            group_max_session_timeout_ms: pick!(group_max_session_timeout_ms, 1_800_000),
            group_max_size: pick!(group_max_size, i32::MAX),
            offsets_retention_minutes: pick!(offsets_retention_minutes, 10080),
            offsets_topic_num_partitions: pick!(offsets_topic_num_partitions, 50),
            max_connections: non_negative("max_connections", pick!(max_connections, i32::MAX))?,
            max_connections_per_ip: non_negative("max_connections_per_ip", pick!(max_connections_per_ip, i32::MAX))?,
            max_connections_per_ip_overrides,
            connections_max_idle: u64::try_from(idle_ms).ok().map(Duration::from_millis),
            fetch_max_bytes: pick!(fetch_max_bytes, 57_671_680),
            max_in_flight_requests_per_connection: pick!(max_in_flight_requests_per_connection, 64),
            // Kafka's default is 50; a burst of clients reconnecting after a restart overflows
            // that, and the kernel then completes the overflow only by SYN-ACK retries (1 s, 3 s,
            // 7 s...).
            socket_listen_backlog_size: pick!(socket_listen_backlog_size, 1024).max(1),
        };
        cfg.check()?;
        Ok(cfg)
    }

    fn check(&self) -> Result<(), ConfigError> {
        if self.num_partitions < 1 {
            return Err(invalid("num_partitions", "must be at least 1"));
        }
        if self.message_max_bytes < 0 {
            return Err(invalid("message_max_bytes", "must not be negative"));
        }
        if self.socket_request_max_bytes < 1024 {
            return Err(invalid("socket_request_max_bytes", "must be at least 1024"));
        }
        if self.log_segment_bytes < 14 {
            return Err(invalid("log_segment_bytes", "must be at least 14"));
        }
        if self.offsets_topic_num_partitions < 1 {
            return Err(invalid("offsets_topic_num_partitions", "must be at least 1"));
        }
        if self.group_max_size < 1 {
            return Err(invalid("group_max_size", "must be at least 1"));
        }
        if self.log_index_interval_bytes < 0 {
            return Err(invalid("log_index_interval_bytes", "must not be negative"));
        }
        if self.max_connections_per_ip == 0 && self.max_connections_per_ip_overrides.is_empty() {
            // As Kafka: 0 only makes sense as "nobody but the overrides".
            return Err(invalid("max_connections_per_ip", "may be 0 only with max_connections_per_ip_overrides"));
        }
        if self.fetch_max_bytes < 1024 {
            return Err(invalid("fetch_max_bytes", "must be at least 1024"));
        }
        if !(1..=4096).contains(&self.max_in_flight_requests_per_connection) {
            return Err(invalid("max_in_flight_requests_per_connection", "must be within 1..=4096"));
        }
        Ok(())
    }

    /// A configuration for tests: loopback, ephemeral port, the given data dir.
    pub fn for_tests(data_dir: &Path) -> Self {
        let args = ServeArgs {
            group_initial_rebalance_delay_ms: Some(0),
            offsets_topic_num_partitions: Some(3),
            listen: Some("127.0.0.1:0".into()),
            advertised_listener: Some("127.0.0.1:0".into()),
            data_dir: Some(data_dir.to_path_buf()),
            ..Default::default()
        };
        Self::resolve(&args).expect("test config is valid")
    }
}

fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })
}

/// Splits `host:port` (IPv6 hosts in brackets); an optional `PLAINTEXT://` prefix is ignored.
pub fn parse_host_port(s: &str) -> Option<(String, i32)> {
    let s = s.split_once("://").map(|(_, rest)| rest).unwrap_or(s);
    let (host, port) = s.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port: u16 = port.parse().ok()?;
    if host.is_empty() {
        return None;
    }
    Some((host.to_string(), port as i32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_kafka() {
        let c = BrokerConfig::resolve(&ServeArgs::default()).unwrap();
        assert_eq!(c.listen.to_string(), "0.0.0.0:9092");
        assert_eq!((c.advertised_host.as_str(), c.advertised_port), ("localhost", 9092));
        assert!(c.auto_create_topics_enable);
        assert_eq!(c.num_partitions, 1);
        assert_eq!(c.message_max_bytes, 1_048_588);
        assert_eq!(c.socket_request_max_bytes, 104_857_600);
        assert_eq!(c.log_segment_bytes, 1 << 30);
        assert_eq!(c.log_retention_ms, 168 * 3600 * 1000);
        assert_eq!(c.durability, Durability::Acks);
        assert_eq!((c.max_connections, c.max_connections_per_ip), (i32::MAX as usize, i32::MAX as usize));
        assert!(c.max_connections_per_ip_overrides.is_empty());
        assert_eq!(c.connections_max_idle, Some(Duration::from_millis(600_000)));
        assert_eq!(c.fetch_max_bytes, 57_671_680);
        assert_eq!(c.max_in_flight_requests_per_connection, 64);
        assert_eq!(c.socket_listen_backlog_size, 1024);
    }

    /// Every resolved value with no flag, variable or file: written before settings moved
    /// into one table, so it proves the move changed no default.
    #[test]
    fn every_default_is_unchanged() {
        let c = BrokerConfig::resolve(&ServeArgs::default()).unwrap();
        assert_eq!(c.listen, "0.0.0.0:9092".parse::<SocketAddr>().unwrap());
        assert_eq!((c.advertised_host.as_str(), c.advertised_port), ("localhost", 9092));
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert_eq!(c.log_level, "info");
        assert_eq!(c.node_id, 1);
        assert!(c.auto_create_topics_enable);
        assert_eq!(c.num_partitions, 1);
        assert_eq!(c.message_max_bytes, 1_048_588);
        assert_eq!(c.max_uncompressed_batch_bytes, 64 * 1_048_588);
        assert_eq!(c.socket_request_max_bytes, 104_857_600);
        assert_eq!(c.log_segment_bytes, 1_073_741_824);
        assert_eq!(c.log_roll_ms, 604_800_000);
        assert_eq!(c.log_retention_ms, 604_800_000);
        assert_eq!(c.log_retention_bytes, -1);
        assert_eq!(c.log_index_interval_bytes, 4096);
        assert_eq!(c.log_retention_check_interval_ms, 300_000);
        assert_eq!(c.durability, Durability::Acks);
        assert_eq!(c.flush_interval, Duration::from_millis(1000));
        assert_eq!(c.flush_bytes, 16 << 20);
        assert_eq!(c.group_initial_rebalance_delay_ms, 3000);
        assert_eq!(c.group_min_session_timeout_ms, 6000);
        assert_eq!(c.group_max_session_timeout_ms, 1_800_000);
        assert_eq!(c.group_max_size, i32::MAX);
        assert_eq!(c.offsets_retention_minutes, 10080);
        assert_eq!(c.offsets_topic_num_partitions, 50);
        assert_eq!(c.max_connections, i32::MAX as usize);
        assert_eq!(c.max_connections_per_ip, i32::MAX as usize);
        assert!(c.max_connections_per_ip_overrides.is_empty());
        assert_eq!(c.connections_max_idle, Some(Duration::from_millis(600_000)));
        assert_eq!(c.fetch_max_bytes, 57_671_680);
        assert_eq!(c.max_in_flight_requests_per_connection, 64);
        assert_eq!(c.socket_listen_backlog_size, 1024);
    }

    /// The derived values keep their rules: the inflation bound follows message.max.bytes
    /// (floored at 16 KiB), zero periods and sizes are raised to 1, hours become ms, a
    /// negative idle time means never, and the in-flight cap stays within 1..=4096.
    #[test]
    fn derived_values_are_unchanged() {
        let resolve = |a: ServeArgs| BrokerConfig::resolve(&a);
        let c = resolve(ServeArgs { message_max_bytes: Some(2_000_000), ..Default::default() }).unwrap();
        assert_eq!(c.max_uncompressed_batch_bytes, 64 * 2_000_000);
        let c = resolve(ServeArgs { message_max_bytes: Some(100), ..Default::default() }).unwrap();
        assert_eq!(c.max_uncompressed_batch_bytes, 64 << 14);
        let c = resolve(ServeArgs {
            message_max_bytes: Some(100),
            max_uncompressed_batch_bytes: Some(5),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.max_uncompressed_batch_bytes, 5);
        let c = resolve(ServeArgs {
            flush_interval_ms: Some(0),
            flush_bytes: Some(0),
            socket_listen_backlog_size: Some(0),
            log_retention_hours: Some(2),
            connections_max_idle_ms: Some(-5),
            advertised_listener: Some("PLAINTEXT://[::1]:19092".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((c.flush_interval, c.flush_bytes, c.socket_listen_backlog_size), (Duration::from_millis(1), 1, 1));
        assert_eq!(c.log_retention_ms, 2 * 3600 * 1000);
        assert_eq!(c.connections_max_idle, None);
        assert_eq!((c.advertised_host.as_str(), c.advertised_port), ("::1", 19092));
        for bad in [0, 4097] {
            let a = ServeArgs { max_in_flight_requests_per_connection: Some(bad), ..Default::default() };
            assert!(matches!(resolve(a), Err(ConfigError::Invalid { .. })), "{bad}");
        }
        for good in [1, 4096] {
            let a = ServeArgs { max_in_flight_requests_per_connection: Some(good), ..Default::default() };
            assert_eq!(resolve(a).unwrap().max_in_flight_requests_per_connection, good);
        }
        let a = ServeArgs { durability: Some("never".into()), ..Default::default() };
        assert!(matches!(resolve(a), Err(ConfigError::Invalid { name: "durability", .. })));
        let a = ServeArgs { advertised_listener: Some("nohost".into()), ..Default::default() };
        assert!(matches!(resolve(a), Err(ConfigError::Invalid { name: "advertised_listener", .. })));
    }

    #[test]
    fn connection_limits_from_kafka_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("brook.toml");
        let toml = "\"max.connections\" = 10\n\"max.connections.per.ip\" = 0\n\
                    \"max.connections.per.ip.overrides\" = \"127.0.0.1:5,[::1]:6\"\n\
                    \"connections.max.idle.ms\" = -1\n\"fetch.max.bytes\" = 1048576\n";
        std::fs::write(&path, toml).unwrap();
        let args = ServeArgs { config: Some(path), ..Default::default() };
        let c = BrokerConfig::resolve(&args).unwrap();
        assert_eq!((c.max_connections, c.max_connections_per_ip), (10, 0));
        assert_eq!(c.max_connections_per_ip_overrides.get(&"127.0.0.1".parse::<IpAddr>().unwrap()), Some(&5));
        assert_eq!(c.max_connections_per_ip_overrides.get(&"::1".parse::<IpAddr>().unwrap()), Some(&6));
        assert_eq!(c.connections_max_idle, None);
        assert_eq!(c.fetch_max_bytes, 1 << 20);
        let bad = |a: ServeArgs| BrokerConfig::resolve(&a).is_err();
        assert!(bad(ServeArgs { max_connections_per_ip: Some(0), ..Default::default() }));
        assert!(bad(ServeArgs { max_connections: Some(-1), ..Default::default() }));
        assert!(bad(ServeArgs { max_connections_per_ip_overrides: Some("nocount".into()), ..Default::default() }));
        assert!(bad(ServeArgs { fetch_max_bytes: Some(10), ..Default::default() }));
    }

    #[test]
    fn file_is_overridden_by_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("brook.toml");
        std::fs::write(&path, "\"num.partitions\" = 3\nlisten = \"127.0.0.1:1234\"\ndurability = \"os\"\n").unwrap();
        let args = ServeArgs { config: Some(path), listen: Some("127.0.0.1:5555".into()), ..Default::default() };
        let c = BrokerConfig::resolve(&args).unwrap();
        assert_eq!(c.num_partitions, 3);
        assert_eq!(c.listen.port(), 5555);
        assert_eq!(c.durability, Durability::Os);
    }

    #[test]
    fn unknown_file_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("brook.toml");
        std::fs::write(&path, "no_such_setting = 1\n").unwrap();
        let args = ServeArgs { config: Some(path), ..Default::default() };
        assert!(matches!(BrokerConfig::resolve(&args), Err(ConfigError::Parse { .. })));
    }

    #[test]
    fn host_port_parsing() {
        assert_eq!(parse_host_port("PLAINTEXT://h:1"), Some(("h".into(), 1)));
        assert_eq!(parse_host_port("[::1]:9092"), Some(("::1".into(), 9092)));
        assert_eq!(parse_host_port("nohost"), None);
    }
}
