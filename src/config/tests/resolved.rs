//! The resolved values: defaults, derived values, checks and the TOML file's keys.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{parse_host_port, BrokerConfig, ConfigError, Durability, ServeArgs};

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
    assert!(c.log_cleaner_enable);
    assert_eq!((c.log_cleaner_threads, c.log_cleaner_dedupe_buffer_size), (1, 128 << 20));
    assert_eq!(c.log_cleaner_io_max_bytes_per_second, 104_857_600.0);
    assert_eq!(c.log_cleaner_backoff, Duration::from_millis(15_000));
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
    let a = ServeArgs { log_retention_hours: Some(i64::MAX / 1000), ..Default::default() };
    assert!(matches!(resolve(a), Err(ConfigError::Invalid { name: "log_retention_hours", .. })));
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
    // Unquoted, a dotted Kafka name is a TOML table (`log` here), not a key: rejected too.
    for text in ["no_such_setting = 1\n", "log.segment.bytes = 1024\n", "num.partitions = 2\n"] {
        std::fs::write(&path, text).unwrap();
        let args = ServeArgs { config: Some(path.clone()), ..Default::default() };
        match BrokerConfig::resolve(&args) {
            Err(ConfigError::Parse { source, .. }) => assert!(source.to_string().contains("unknown field"), "{source}"),
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn host_port_parsing() {
    assert_eq!(parse_host_port("PLAINTEXT://h:1"), Some(("h".into(), 1)));
    assert_eq!(parse_host_port("[::1]:9092"), Some(("::1".into(), 9092)));
    assert_eq!(parse_host_port("nohost"), None);
}
