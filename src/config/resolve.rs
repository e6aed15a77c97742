//! `BrokerConfig`: the settings merged (flag > environment > file > default), converted to
//! the types the broker uses, and checked.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use super::settings::{FileConfig, ServeArgs, Settings};
use super::Durability;
use crate::group::configs::{Bounded, GroupDefaults};
use crate::group::consumer::MigrationPolicy;

/// Fully resolved broker settings.
/// How log lines are written (`log_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The ACL authorizer's settings (`authorizer.class.name`, `super.users`,
/// `allow.everyone.if.no.acl.found`).
#[derive(Debug, Clone)]
pub struct AclSettings {
    pub enabled: bool,
    pub super_users: String,
    pub allow_everyone_if_no_acl_found: bool,
}

/// The SASL settings (`sasl.enabled.mechanisms`, the PLAIN users, re-authentication).
#[derive(Debug, Clone)]
pub struct SaslSettings {
    pub enabled: Vec<crate::auth::sasl::Mechanism>,
    /// `user:password,...`, checked at resolve.
    pub plain_users: String,
    pub max_reauth_ms: i64,
}

#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// The first listener's bind address (`listen`, or the first of `listeners`).
    pub listen: SocketAddr,
    /// Every listener, the first being the default (`listen`/`advertised_*` mirror it).
    pub listeners: Vec<super::listeners::Listener>,
    /// The TLS listeners' keystore, truststore and client authentication.
    pub tls: super::listeners::TlsSettings,
    /// The SASL listeners' mechanisms and PLAIN users.
    pub sasl: SaslSettings,
    /// Whether ACLs are enforced, and who is exempt.
    pub acl: AclSettings,
    pub advertised_host: String,
    pub advertised_port: i32,
    pub data_dir: PathBuf,
    pub log_level: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// Where `/metrics` and the health endpoints are served (None: not at all).
    pub metrics_listen: Option<SocketAddr>,
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
    /// `log.cleaner.enable`: run the cleaner threads.
    pub log_cleaner_enable: bool,
    /// `log.cleaner.threads`.
    pub log_cleaner_threads: usize,
    /// `log.cleaner.dedupe.buffer.size`: memory of all cleaners' key maps.
    pub log_cleaner_dedupe_buffer_size: u64,
    /// `log.cleaner.io.max.bytes.per.second`.
    pub log_cleaner_io_max_bytes_per_second: f64,
    /// `log.cleaner.backoff.ms`: a cleaner's pause when nothing needs cleaning.
    pub log_cleaner_backoff: Duration,
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
    /// `group.consumer.max.size`.
    pub group_consumer_max_size: i32,
    /// `group.consumer.assignors`, by their short names; the first is the default.
    pub group_consumer_assignors: Vec<String>,
    /// `group.consumer.migration.policy`.
    pub group_consumer_migration_policy: MigrationPolicy,
    /// The broker's defaults of the group configs (`group.consumer.*`, `group.share.*`) and
    /// the bounds a group's own value must keep.
    pub group_defaults: GroupDefaults,
    pub offsets_retention_minutes: i64,
    pub offsets_topic_num_partitions: i32,
    /// The share groups' settings (`group.share.*`, `share.coordinator.*`).
    pub share: crate::share::ShareConfig,
    /// `offsets.topic.segment.bytes`.
    pub offsets_topic_segment_bytes: i32,
    /// The transaction coordinator's settings (`transaction.*`).
    pub transactions: crate::txn::TxnConfig,
    /// `producer.id.expiration.ms`: a partition forgets a producer idle this long.
    pub producer_id_expiration_ms: i64,
    /// `producer.id.expiration.check.interval.ms`.
    pub producer_id_expiration_check_interval: Duration,
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
    /// The dynamic configs laid over the static settings above (empty at startup until
    /// `config::live` applies the stored ones); topic-config defaults without a field here
    /// are read from it, and DescribeConfigs reports each value's source from it.
    pub dynamic: std::sync::Arc<super::dynamic::DynamicBrokerConfigs>,
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
    #[error("invalid value {value:?} in {var}: {message}")]
    Env { var: String, value: String, message: String },
}

fn invalid(name: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { name, message: message.into() }
}

impl BrokerConfig {
    /// The group coordinator's settings.
    pub fn group_config(&self) -> crate::group::CoordinatorConfig {
        let ms = |v: i64| Duration::from_millis(v.max(0) as u64);
        crate::group::CoordinatorConfig {
            initial_rebalance_delay: ms(self.group_initial_rebalance_delay_ms),
            min_session_timeout: ms(self.group_min_session_timeout_ms),
            max_session_timeout: ms(self.group_max_session_timeout_ms),
            max_size: self.group_max_size as usize,
            consumer_max_size: self.group_consumer_max_size as usize,
            consumer_assignors: self.group_consumer_assignors.clone(),
            migration_policy: self.group_consumer_migration_policy,
            consumer_session_timeout: ms(i64::from(self.group_defaults.consumer_session_timeout.default)),
            share_session_timeout: ms(i64::from(self.group_defaults.share_session_timeout.default)),
            offsets_retention: ms(self.offsets_retention_minutes.saturating_mul(60_000)),
            offsets_partitions: self.offsets_topic_num_partitions,
            offsets_segment_bytes: self.offsets_topic_segment_bytes,
            max_metadata_bytes: 4096,
        }
    }

    /// Resolves flags/env (already merged into `args`) over the optional TOML file over defaults.
    pub fn resolve(args: &ServeArgs) -> Result<Self, ConfigError> {
        let file = match &args.config {
            Some(path) => load_file(path)?,
            None => FileConfig::default(),
        };
        Self::from_settings(Settings::merge(args, &file))
    }

    /// The configuration with every setting at its default (what topic configs and
    /// DescribeConfigs compare against).
    pub fn defaults() -> &'static BrokerConfig {
        static DEFAULTS: OnceLock<BrokerConfig> = OnceLock::new();
        // The built-in defaults pass the checks (config::tests::every_default_is_unchanged).
        DEFAULTS.get_or_init(|| Self::from_settings(Settings::defaults()).expect("the default settings are valid"))
    }

    fn from_settings(settings: Settings) -> Result<Self, ConfigError> {
        // Naming every field (no `..`) makes a new row in the settings table a compile error
        // here until it is mapped to a BrokerConfig field.
        let Settings {
            listen,
            advertised_listener,
            listeners,
            listener_security_protocol_map,
            authorizer_class_name,
            super_users,
            allow_everyone_if_no_acl_found,
            sasl_enabled_mechanisms,
            sasl_plain_users,
            connections_max_reauth_ms,
            ssl_keystore_type,
            ssl_keystore_location,
            ssl_keystore_certificate_chain,
            ssl_keystore_key,
            ssl_key_password,
            ssl_truststore_location,
            ssl_truststore_certificates,
            ssl_client_auth,
            ssl_principal_mapping_rules,
            data_dir,
            log_level,
            log_format,
            metrics_listen,
            node_id,
            auto_create_topics_enable,
            num_partitions,
            message_max_bytes,
            max_uncompressed_batch_bytes,
            socket_request_max_bytes,
            log_segment_bytes,
            log_roll_ms,
            log_retention_hours,
            log_retention_bytes,
            log_retention_check_interval_ms,
            log_index_interval_bytes,
            log_cleaner_enable,
            log_cleaner_threads,
            log_cleaner_dedupe_buffer_size,
            log_cleaner_io_max_bytes_per_second,
            log_cleaner_backoff_ms,
            durability,
            flush_interval_ms,
            flush_bytes,
            group_initial_rebalance_delay_ms,
            group_min_session_timeout_ms,
            group_max_session_timeout_ms,
            group_max_size,
            group_consumer_max_size,
            group_consumer_assignors,
            group_consumer_migration_policy,
            group_consumer_session_timeout_ms,
            group_consumer_min_session_timeout_ms,
            group_consumer_max_session_timeout_ms,
            group_consumer_heartbeat_interval_ms,
            group_consumer_min_heartbeat_interval_ms,
            group_consumer_max_heartbeat_interval_ms,
            group_share_session_timeout_ms,
            group_share_min_session_timeout_ms,
            group_share_max_session_timeout_ms,
            group_share_heartbeat_interval_ms,
            group_share_min_heartbeat_interval_ms,
            group_share_max_heartbeat_interval_ms,
            group_share_record_lock_duration_ms,
            group_share_min_record_lock_duration_ms,
            group_share_max_record_lock_duration_ms,
            group_share_delivery_count_limit,
            group_share_min_delivery_count_limit,
            group_share_max_delivery_count_limit,
            group_share_max_size,
            group_share_partition_max_record_locks,
            group_share_max_share_sessions,
            share_coordinator_state_topic_num_partitions,
            offsets_retention_minutes,
            offsets_topic_num_partitions,
            offsets_topic_segment_bytes,
            transaction_max_timeout_ms,
            transactional_id_expiration_ms,
            transaction_state_log_num_partitions,
            transaction_state_log_segment_bytes,
            producer_id_expiration_ms,
            producer_id_expiration_check_interval_ms,
            transaction_abort_timed_out_transaction_cleanup_interval_ms,
            transaction_remove_expired_transaction_cleanup_interval_ms,
            max_connections,
            max_connections_per_ip,
            max_connections_per_ip_overrides,
            connections_max_idle_ms,
            fetch_max_bytes,
            socket_listen_backlog_size,
            max_in_flight_requests_per_connection,
        } = settings;
        let listen_addr: SocketAddr = listen.parse().map_err(|e| invalid("listen", format!("{listen:?}: {e}")))?;
        let metrics_listen = match metrics_listen.trim() {
            "" => None,
            a => Some(a.parse().map_err(|e| invalid("metrics_listen", format!("{a:?}: {e}")))?),
        };
        let log_format = match log_format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => return Err(invalid("log_format", format!("{other:?} is not text or json"))),
        };
        let listeners =
            super::listeners::resolve(listen_addr, &listeners, &advertised_listener, &listener_security_protocol_map)
                .map_err(|(name, e)| invalid(name, e))?;
        let (listen_addr, advertised_host, advertised_port) =
            (listeners[0].bind, listeners[0].advertised_host.clone(), listeners[0].advertised_port);
        if !ssl_keystore_type.eq_ignore_ascii_case("PEM") {
            return Err(invalid(
                "ssl_keystore_type",
                format!("{ssl_keystore_type:?}: only PEM keystores are supported"),
            ));
        }
        let mut mechanisms = Vec::new();
        for name in sasl_enabled_mechanisms.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let m = crate::auth::sasl::Mechanism::from_name(name).ok_or_else(|| {
                invalid(
                    "sasl_enabled_mechanisms",
                    format!("{name:?}: Brook offers PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER"),
                )
            })?;
            if !mechanisms.contains(&m) {
                mechanisms.push(m);
            }
        }
        crate::auth::sasl::plain::PlainUsers::parse(&sasl_plain_users).map_err(|e| invalid("sasl_plain_users", e))?;
        crate::auth::acl::parse_super_users(&super_users).map_err(|e| invalid("super_users", e))?;
        let acl = AclSettings {
            enabled: !authorizer_class_name.trim().is_empty(),
            super_users,
            allow_everyone_if_no_acl_found,
        };
        let sasl = SaslSettings {
            enabled: mechanisms,
            plain_users: sasl_plain_users,
            max_reauth_ms: connections_max_reauth_ms,
        };
        let tls = super::listeners::TlsSettings {
            keystore_location: ssl_keystore_location,
            keystore_certificate_chain: ssl_keystore_certificate_chain,
            keystore_key: ssl_keystore_key,
            key_password: ssl_key_password,
            truststore_location: ssl_truststore_location,
            truststore_certificates: ssl_truststore_certificates,
            client_auth: super::listeners::ClientAuth::parse(&ssl_client_auth).ok_or_else(|| {
                invalid("ssl_client_auth", format!("{ssl_client_auth:?}: expected required, requested or none"))
            })?,
            principal_mapping_rules: ssl_principal_mapping_rules,
        };
        let durability = match durability.as_str() {
            "acks" => Durability::Acks,
            "sync" => Durability::Sync,
            "interval" => Durability::Interval,
            "os" => Durability::Os,
            other => return Err(invalid("durability", format!("{other:?}: expected acks, sync, interval or os"))),
        };
        let max_connections_per_ip_overrides =
            crate::server::limits::parse_overrides(&max_connections_per_ip_overrides)
                .map_err(|e| invalid("max_connections_per_ip_overrides", e))?;
        // Checked: hours near i64::MAX would overflow milliseconds (a panic in debug builds).
        let log_retention_ms = log_retention_hours.checked_mul(3600 * 1000).ok_or_else(|| {
            invalid("log_retention_hours", format!("{log_retention_hours} hours overflows milliseconds"))
        })?;
        let non_negative =
            |name: &'static str, v: i32| usize::try_from(v).map_err(|_| invalid(name, format!("{v} is negative")));
        let cfg = Self {
            listen: listen_addr,
            listeners,
            tls,
            sasl,
            acl,
            advertised_host,
            advertised_port,
            data_dir,
            log_level,
            log_format,
            metrics_listen,
            node_id,
            auto_create_topics_enable,
            num_partitions,
            message_max_bytes,
            max_uncompressed_batch_bytes,
            socket_request_max_bytes,
            log_segment_bytes,
            log_roll_ms,
            log_retention_ms,
            log_retention_bytes,
            log_index_interval_bytes,
            log_retention_check_interval_ms,
            log_cleaner_enable,
            log_cleaner_threads: usize::try_from(log_cleaner_threads)
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| {
                    invalid("log_cleaner_threads", format!("{log_cleaner_threads}: must be within 1..=64"))
                })?,
            log_cleaner_dedupe_buffer_size,
            log_cleaner_io_max_bytes_per_second,
            log_cleaner_backoff: Duration::from_millis(log_cleaner_backoff_ms.max(1)),
            flush_interval: Duration::from_millis(flush_interval_ms.max(1)),
            flush_bytes: flush_bytes.max(1),
            durability,
            group_initial_rebalance_delay_ms,
            group_min_session_timeout_ms,
            group_max_session_timeout_ms,
            group_max_size,
            group_consumer_max_size,
            group_consumer_assignors: parse_assignors(&group_consumer_assignors)?,
            group_consumer_migration_policy: MigrationPolicy::parse(&group_consumer_migration_policy).ok_or_else(
                || {
                    invalid(
                        "group_consumer_migration_policy",
                        format!(
                            "{group_consumer_migration_policy:?} is not bidirectional, upgrade, downgrade or disabled"
                        ),
                    )
                },
            )?,
            group_defaults: GroupDefaults {
                consumer_session_timeout: Bounded {
                    default: group_consumer_session_timeout_ms,
                    min: group_consumer_min_session_timeout_ms,
                    max: group_consumer_max_session_timeout_ms,
                },
                consumer_heartbeat_interval: Bounded {
                    default: group_consumer_heartbeat_interval_ms,
                    min: group_consumer_min_heartbeat_interval_ms,
                    max: group_consumer_max_heartbeat_interval_ms,
                },
                share_session_timeout: Bounded {
                    default: group_share_session_timeout_ms,
                    min: group_share_min_session_timeout_ms,
                    max: group_share_max_session_timeout_ms,
                },
                share_heartbeat_interval: Bounded {
                    default: group_share_heartbeat_interval_ms,
                    min: group_share_min_heartbeat_interval_ms,
                    max: group_share_max_heartbeat_interval_ms,
                },
                share_record_lock_duration: Bounded {
                    default: group_share_record_lock_duration_ms,
                    min: group_share_min_record_lock_duration_ms,
                    max: group_share_max_record_lock_duration_ms,
                },
                share_delivery_count_limit: Bounded {
                    default: group_share_delivery_count_limit,
                    min: group_share_min_delivery_count_limit,
                    max: group_share_max_delivery_count_limit,
                },
            },
            share: crate::share::ShareConfig {
                max_size: group_share_max_size.max(1) as usize,
                max_record_locks: i64::from(group_share_partition_max_record_locks.max(1)),
                max_sessions: group_share_max_share_sessions.max(1) as usize,
                state_partitions: share_coordinator_state_topic_num_partitions,
            },
            offsets_retention_minutes,
            offsets_topic_num_partitions,
            offsets_topic_segment_bytes,
            transactions: crate::txn::TxnConfig {
                max_timeout_ms: transaction_max_timeout_ms,
                id_expiration_ms: transactional_id_expiration_ms,
                state_partitions: transaction_state_log_num_partitions,
                state_segment_bytes: transaction_state_log_segment_bytes,
                abort_check_interval: Duration::from_millis(
                    transaction_abort_timed_out_transaction_cleanup_interval_ms.max(1) as u64,
                ),
                expiration_check_interval: Duration::from_millis(
                    transaction_remove_expired_transaction_cleanup_interval_ms.max(1) as u64,
                ),
            },
            producer_id_expiration_ms,
            producer_id_expiration_check_interval: Duration::from_millis(
                producer_id_expiration_check_interval_ms.max(1) as u64,
            ),
            max_connections: non_negative("max_connections", max_connections)?,
            max_connections_per_ip: non_negative("max_connections_per_ip", max_connections_per_ip)?,
            max_connections_per_ip_overrides,
            connections_max_idle: u64::try_from(connections_max_idle_ms).ok().map(Duration::from_millis),
            fetch_max_bytes,
            max_in_flight_requests_per_connection,
            socket_listen_backlog_size: socket_listen_backlog_size.max(1),
            dynamic: Default::default(),
        };
        cfg.check()?;
        Ok(cfg)
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
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
        if !(1..=1000).contains(&self.share.max_size) {
            return Err(invalid("group_share_max_size", "must be within 1..=1000"));
        }
        if !(100..=10_000).contains(&self.share.max_record_locks) {
            return Err(invalid("group_share_partition_max_record_locks", "must be within 100..=10000"));
        }
        if self.share.state_partitions < 1 {
            return Err(invalid("share_coordinator_state_topic_num_partitions", "must be at least 1"));
        }
        if self.offsets_topic_num_partitions < 1 {
            return Err(invalid("offsets_topic_num_partitions", "must be at least 1"));
        }
        if self.offsets_topic_segment_bytes < 14 {
            return Err(invalid("offsets_topic_segment_bytes", "must be at least 14"));
        }
        if self.transactions.state_partitions < 1 {
            return Err(invalid("transaction_state_log_num_partitions", "must be at least 1"));
        }
        if self.transactions.state_segment_bytes < 14 {
            return Err(invalid("transaction_state_log_segment_bytes", "must be at least 14"));
        }
        if self.producer_id_expiration_ms < 1 {
            return Err(invalid("producer_id_expiration_ms", "must be at least 1"));
        }
        if self.transactions.max_timeout_ms < 1 {
            return Err(invalid("transaction_max_timeout_ms", "must be at least 1"));
        }
        if self.group_max_size < 1 {
            return Err(invalid("group_max_size", "must be at least 1"));
        }
        if self.group_consumer_max_size < 1 {
            return Err(invalid("group_consumer_max_size", "must be at least 1"));
        }
        self.group_defaults.check().map_err(|(name, message)| invalid(name, message))?;
        if self.log_index_interval_bytes < 0 {
            return Err(invalid("log_index_interval_bytes", "must not be negative"));
        }
        if self.max_connections_per_ip == 0 && self.max_connections_per_ip_overrides.is_empty() {
            // As Kafka: 0 only makes sense as "nobody but the overrides".
            return Err(invalid("max_connections_per_ip", "may be 0 only with max_connections_per_ip_overrides"));
        }
        if self.log_cleaner_dedupe_buffer_size < 1024 * self.log_cleaner_threads as u64 {
            return Err(invalid("log_cleaner_dedupe_buffer_size", "must be at least 1024 bytes per cleaner thread"));
        }
        if self.log_cleaner_io_max_bytes_per_second.is_nan() || self.log_cleaner_io_max_bytes_per_second <= 0.0 {
            return Err(invalid("log_cleaner_io_max_bytes_per_second", "must be positive"));
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
            transaction_state_log_num_partitions: Some(3),
            listen: Some("127.0.0.1:0".into()),
            metrics_listen: Some("127.0.0.1:0".into()),
            advertised_listener: Some("127.0.0.1:0".into()),
            data_dir: Some(data_dir.to_path_buf()),
            ..Default::default()
        };
        Self::resolve(&args).expect("test config is valid")
    }
}

fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    FileConfig::parse(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })
}

impl FileConfig {
    /// Unknown keys are an error (a misspelt setting would otherwise be silently ignored).
    pub(super) fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
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

/// `group.consumer.assignors`: the built-in assignors by name (or Kafka's class names), in
/// order, at least one, none twice.
fn parse_assignors(list: &str) -> Result<Vec<String>, ConfigError> {
    use crate::group::consumer::assignor::{RANGE, UNIFORM};
    let mut out: Vec<String> = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let short = match name {
            UNIFORM | "org.apache.kafka.coordinator.group.assignor.UniformAssignor" => UNIFORM,
            RANGE | "org.apache.kafka.coordinator.group.assignor.RangeAssignor" => RANGE,
            other => return Err(invalid("group_consumer_assignors", format!("{other:?} is not uniform or range"))),
        };
        if out.iter().any(|o| o == short) {
            return Err(invalid("group_consumer_assignors", format!("{short} is listed twice")));
        }
        out.push(short.to_string());
    }
    if out.is_empty() {
        return Err(invalid("group_consumer_assignors", "must name at least one assignor"));
    }
    Ok(out)
}
