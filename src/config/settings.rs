//! The one table of broker settings: each row gives the flag, the `BROOK_*` variable, the
//! TOML keys, the default and the doc line (`--help`, README). See `define.rs` for the syntax.
//!
//! To add a setting: add its row here; map it onto a `BrokerConfig` field in `resolve.rs`
//! (the build fails until you do); paste `cargo run -q -- settings` into the README between
//! the config-table markers (tests/readme.rs fails until you do).

use std::path::PathBuf;

use super::define::declare_settings;

declare_settings! {
    /// address to accept clients on
    listen: String = "0.0.0.0:9092".into();

    /// host:port given to clients in Metadata, or Kafka's `NAME://host:port,...` per listener;
    /// empty: each listener's own address (`localhost` for a wildcard one), as Kafka
    advertised_listener: String = "".into(), kafka = "advertised.listeners";

    /// Kafka's listeners, `NAME://host:port,...` (e.g.
    /// `PLAINTEXT://0.0.0.0:9092,SSL://0.0.0.0:9093`); empty: one PLAINTEXT listener on `listen`
    listeners: String = "".into(), kafka = "listeners";

    /// each listener's security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), as
    /// `NAME:PROTOCOL` pairs
    listener_security_protocol_map: String =
        "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL".into(),
        kafka = "listener.security.protocol.map";

    /// SASL mechanisms SASL_PLAINTEXT and SASL_SSL listeners accept: `PLAIN`,
    /// `SCRAM-SHA-256`, `SCRAM-SHA-512`, `OAUTHBEARER` (unsecured JWTs: for development only)
    sasl_enabled_mechanisms: String = "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512".into(), kafka = "sasl.enabled.mechanisms";

    /// the PLAIN mechanism's users, `user:password,...` (Kafka keeps them in the JAAS file as
    /// `user_<name>="<password>"`); SCRAM users are managed with `brook user` or
    /// AlterUserScramCredentials instead
    sasl_plain_users: String = "".into();

    /// longest an authenticated SASL session lasts before the client must re-authenticate
    /// (KIP-368); 0: no limit
    connections_max_reauth_ms: i64 = 0, kafka = "connections.max.reauth.ms";

    /// turns on ACL authorization when set (any value; Kafka's is the authorizer's class
    /// name, e.g. `org.apache.kafka.metadata.authorizer.StandardAuthorizer`): ACLs are then
    /// kept in `acls.json` and checked on every request
    authorizer_class_name: String = "".into(), kafka = "authorizer.class.name";

    /// principals allowed everything, `User:admin;User:ops`
    super_users: String = "".into(), kafka = "super.users";

    /// with an authorizer: allow a request when no ACL at all names its resource
    allow_everyone_if_no_acl_found: bool = false, kafka = "allow.everyone.if.no.acl.found";

    /// format of the TLS keystore: `PEM` (the only one: private key and certificate chain)
    ssl_keystore_type: String = "PEM".into(), kafka = "ssl.keystore.type";

    /// PEM file with the TLS listeners' private key and certificate chain (re-read when it
    /// changes, without a restart)
    ssl_keystore_location: String = "".into(), kafka = "ssl.keystore.location";

    /// the certificate chain itself, PEM, instead of a file
    ssl_keystore_certificate_chain: String = "".into(), kafka = "ssl.keystore.certificate.chain";

    /// the private key itself, PEM (PKCS#8, PKCS#1 or SEC1; an encrypted PKCS#8 key is
    /// decrypted with `ssl.key.password`), instead of a file
    ssl_keystore_key: String = "".into(), kafka = "ssl.keystore.key";

    /// password of an encrypted PKCS#8 private key (`ENCRYPTED PRIVATE KEY`, PBES2 as
    /// `openssl pkcs8 -topk8 -v2 aes-256-cbc` writes it); legacy `Proc-Type: ENCRYPTED` PEM
    /// keys are refused
    ssl_key_password: String = "".into(), kafka = "ssl.key.password";

    /// PEM file of the CA certificates client certificates must chain to
    ssl_truststore_location: String = "".into(), kafka = "ssl.truststore.location";

    /// the CA certificates themselves, PEM, instead of a file
    ssl_truststore_certificates: String = "".into(), kafka = "ssl.truststore.certificates";

    /// client certificates on TLS listeners: `required`, `requested` or `none`
    ssl_client_auth: String = "none".into(), kafka = "ssl.client.auth";

    /// how a client certificate's subject becomes its principal: `DEFAULT` (the whole
    /// distinguished name) or Kafka's `RULE:pattern/replacement/[LU]` list
    ssl_principal_mapping_rules: String = "DEFAULT".into(), kafka = "ssl.principal.mapping.rules";

    /// where logs and metadata live
    data_dir: PathBuf = "./data".into(), kafka = "log.dirs";

    /// tracing filter, e.g. `brook=debug`
    log_level: String = "info".into();

    /// how logs are written: `text` for people, `json` (one object per line) for collectors
    log_format: String = "text".into();

    /// HTTP address of `/metrics` (Prometheus) and `/health/live`, `/health/ready`; empty
    /// disables it
    metrics_listen: String = "127.0.0.1:9644".into();

    /// broker id in Metadata
    node_id: i32 = 1, kafka = "node.id";

    /// create topics on Metadata requests
    auto_create_topics_enable: bool = true, kafka = "auto.create.topics.enable";

    /// partitions of auto-created topics
    num_partitions: i32 = 1, kafka = "num.partitions";

    /// largest record batch (topic: `max.message.bytes`)
    message_max_bytes: i32 = 1_048_588, kafka = "message.max.bytes";

    /// most bytes a compressed batch may inflate to; past it the produce gets `INVALID_RECORD`
    /// (Brook-specific, see [Hostile input](#hostile-input))
    max_uncompressed_batch_bytes: u64 = 64 * (message_max_bytes.max(1 << 14) as u64),
        default_doc = "64 x `message.max.bytes`";

    /// largest request frame; larger closes the connection
    socket_request_max_bytes: i32 = 104_857_600, kafka = "socket.request.max.bytes";

    /// roll a segment at this size (topic: `segment.bytes`)
    log_segment_bytes: i32 = 1 << 30, kafka = "log.segment.bytes";

    /// roll a segment at this age (topic: `segment.ms`)
    log_roll_ms: i64 = 7 * 24 * 3600 * 1000, kafka = "log.roll.ms";

    /// retention by time (topic: `retention.ms`)
    log_retention_hours: i64 = 168, kafka = "log.retention.hours";

    /// retention by size per partition (`-1`: no limit)
    log_retention_bytes: i64 = -1, kafka = "log.retention.bytes";

    /// how often retention runs
    log_retention_check_interval_ms: u64 = 300_000, kafka = "log.retention.check.interval.ms";

    /// bytes between sparse index entries
    log_index_interval_bytes: i32 = 4096, kafka = "log.index.interval.bytes";

    /// run the log cleaner (compaction of `cleanup.policy=compact` topics)
    log_cleaner_enable: bool = true, kafka = "log.cleaner.enable";

    /// cleaner threads; the dedupe buffer is shared between them
    log_cleaner_threads: i32 = 1, kafka = "log.cleaner.threads";

    /// memory for the cleaners' key maps, in total (24 bytes a key; a pass whose keys do not
    /// fit cleans only up to the last offset the map covers)
    log_cleaner_dedupe_buffer_size: u64 = 128 << 20, kafka = "log.cleaner.dedupe.buffer.size";

    /// bytes a cleaner reads and writes per second, at most (Kafka's default is unlimited;
    /// Brook's keeps acks=all latency unchanged during a pass, BENCHMARKS.md)
    log_cleaner_io_max_bytes_per_second: f64 = 104_857_600.0,
        kafka = "log.cleaner.io.max.bytes.per.second";

    /// pause of a cleaner thread when no log needs cleaning
    log_cleaner_backoff_ms: u64 = 15_000, kafka = "log.cleaner.backoff.ms";

    /// `acks`, `sync`, `interval` or `os`: see [Durability](#durability)
    durability: String = "acks".into();

    /// fsync period for `durability=interval`, and for acks=0/1 data in `durability=acks`
    flush_interval_ms: u64 = 1000, kafka = "log.flush.interval.ms";

    /// `durability=acks`: start the background fsync round early once this many bytes of
    /// acks=0/1 data are unflushed
    flush_bytes: u64 = 16 << 20;

    /// wait for more members before the first rebalance of an empty group
    group_initial_rebalance_delay_ms: i64 = 3000, kafka = "group.initial.rebalance.delay.ms";

    /// smallest session timeout a member may ask for
    group_min_session_timeout_ms: i64 = 6000, kafka = "group.min.session.timeout.ms";

    /// largest session timeout a member may ask for
    group_max_session_timeout_ms: i64 = 1_800_000, kafka = "group.max.session.timeout.ms";

    /// members per group (`GROUP_MAX_SIZE_REACHED` beyond)
    group_max_size: i32 = i32::MAX, kafka = "group.max.size";

    /// session timeout of consumer-protocol (KIP-848) members, unless the group sets
    /// `consumer.session.timeout.ms`
    group_consumer_session_timeout_ms: i32 = 45_000, kafka = "group.consumer.session.timeout.ms";

    /// smallest `consumer.session.timeout.ms` a group may set
    group_consumer_min_session_timeout_ms: i32 = 45_000, kafka = "group.consumer.min.session.timeout.ms";

    /// largest `consumer.session.timeout.ms` a group may set
    group_consumer_max_session_timeout_ms: i32 = 60_000, kafka = "group.consumer.max.session.timeout.ms";

    /// heartbeat interval given to consumer-protocol members, unless the group sets
    /// `consumer.heartbeat.interval.ms`
    group_consumer_heartbeat_interval_ms: i32 = 5_000, kafka = "group.consumer.heartbeat.interval.ms";

    /// smallest `consumer.heartbeat.interval.ms` a group may set
    group_consumer_min_heartbeat_interval_ms: i32 = 5_000, kafka = "group.consumer.min.heartbeat.interval.ms";

    /// largest `consumer.heartbeat.interval.ms` a group may set
    group_consumer_max_heartbeat_interval_ms: i32 = 15_000, kafka = "group.consumer.max.heartbeat.interval.ms";

    /// members per consumer-protocol (KIP-848) group (`GROUP_MAX_SIZE_REACHED` beyond)
    group_consumer_max_size: i32 = i32::MAX, kafka = "group.consumer.max.size";

    /// server-side assignors of consumer-protocol groups (`uniform`, `range`; Kafka's class
    /// names are accepted too), the first the default
    group_consumer_assignors: String = "uniform,range".into(), kafka = "group.consumer.assignors";

    /// online migration between the classic and consumer group protocols: `bidirectional`,
    /// `upgrade` (a classic group with members becomes a consumer group when a
    /// consumer-protocol member joins), `downgrade` or `disabled`
    group_consumer_migration_policy: String = "bidirectional".into(), kafka = "group.consumer.migration.policy";

    /// session timeout of share-group members, unless the group sets `share.session.timeout.ms`
    group_share_session_timeout_ms: i32 = 45_000, kafka = "group.share.session.timeout.ms";

    /// smallest `share.session.timeout.ms` a group may set
    group_share_min_session_timeout_ms: i32 = 45_000, kafka = "group.share.min.session.timeout.ms";

    /// largest `share.session.timeout.ms` a group may set
    group_share_max_session_timeout_ms: i32 = 60_000, kafka = "group.share.max.session.timeout.ms";

    /// heartbeat interval given to share-group members, unless the group sets
    /// `share.heartbeat.interval.ms`
    group_share_heartbeat_interval_ms: i32 = 5_000, kafka = "group.share.heartbeat.interval.ms";

    /// smallest `share.heartbeat.interval.ms` a group may set
    group_share_min_heartbeat_interval_ms: i32 = 5_000, kafka = "group.share.min.heartbeat.interval.ms";

    /// largest `share.heartbeat.interval.ms` a group may set
    group_share_max_heartbeat_interval_ms: i32 = 15_000, kafka = "group.share.max.heartbeat.interval.ms";

    /// how long a share consumer holds a record it took, unless the group sets
    /// `share.record.lock.duration.ms`
    group_share_record_lock_duration_ms: i32 = 30_000, kafka = "group.share.record.lock.duration.ms";

    /// smallest `share.record.lock.duration.ms` a group may set
    group_share_min_record_lock_duration_ms: i32 = 15_000, kafka = "group.share.min.record.lock.duration.ms";

    /// largest `share.record.lock.duration.ms` a group may set
    group_share_max_record_lock_duration_ms: i32 = 60_000, kafka = "group.share.max.record.lock.duration.ms";

    /// deliveries of a share-group record before it is archived, unless the group sets
    /// `share.delivery.count.limit`
    group_share_delivery_count_limit: i32 = 5, kafka = "group.share.delivery.count.limit";

    /// smallest `share.delivery.count.limit` a group may set
    group_share_min_delivery_count_limit: i32 = 2, kafka = "group.share.min.delivery.count.limit";

    /// largest `share.delivery.count.limit` a group may set
    group_share_max_delivery_count_limit: i32 = 10, kafka = "group.share.max.delivery.count.limit";

    /// members per share group (`GROUP_MAX_SIZE_REACHED` beyond)
    group_share_max_size: i32 = 200, kafka = "group.share.max.size";

    /// the in-flight window of a share partition: records from its start offset on that
    /// share consumers may hold before new ones wait for acknowledgements
    group_share_partition_max_record_locks: i32 = 2000, kafka = "group.share.partition.max.record.locks";

    /// share sessions (one per share consumer on this broker; `SHARE_SESSION_LIMIT_REACHED`
    /// beyond)
    group_share_max_share_sessions: i32 = 2000, kafka = "group.share.max.share.sessions";

    /// partitions of `__share_group_state`, the share groups' durable delivery state (fixed
    /// once created)
    share_coordinator_state_topic_num_partitions: i32 = 50, kafka = "share.coordinator.state.topic.num.partitions";

    /// committed offsets of a group that stayed empty this long expire
    offsets_retention_minutes: i64 = 10080, kafka = "offsets.retention.minutes";

    /// partitions of `__consumer_offsets` (fixed once created)
    offsets_topic_num_partitions: i32 = 50, kafka = "offsets.topic.num.partitions";

    /// segment size of `__consumer_offsets` when it is created (smaller segments let the
    /// cleaner compact group history sooner, so startup replays less)
    offsets_topic_segment_bytes: i32 = 104_857_600, kafka = "offsets.topic.segment.bytes";

    /// longest `transaction.timeout.ms` a producer may ask for (`INVALID_TRANSACTION_TIMEOUT`
    /// beyond)
    transaction_max_timeout_ms: i32 = 900_000, kafka = "transaction.max.timeout.ms";

    /// a transactional id idle this long (no transaction in progress) expires
    transactional_id_expiration_ms: i32 = 604_800_000, kafka = "transactional.id.expiration.ms";

    /// partitions of `__transaction_state` (fixed once created)
    transaction_state_log_num_partitions: i32 = 50, kafka = "transaction.state.log.num.partitions";

    /// segment size of `__transaction_state` when it is created
    transaction_state_log_segment_bytes: i32 = 104_857_600, kafka = "transaction.state.log.segment.bytes";

    /// a partition forgets a producer id idle this long (its last batch's timestamp), unless
    /// it has a transaction open; a later retry of it is then accepted as new
    producer_id_expiration_ms: i64 = 86_400_000, kafka = "producer.id.expiration.ms";

    /// how often idle producer ids are looked for
    producer_id_expiration_check_interval_ms: i64 = 600_000, kafka = "producer.id.expiration.check.interval.ms";

    /// how often transactions past their timeout are looked for (and aborted)
    transaction_abort_timed_out_transaction_cleanup_interval_ms: i32 = 10_000,
        kafka = "transaction.abort.timed.out.transaction.cleanup.interval.ms";

    /// how often expired transactional ids are looked for (and removed)
    transaction_remove_expired_transaction_cleanup_interval_ms: i32 = 3_600_000,
        kafka = "transaction.remove.expired.transaction.cleanup.interval.ms";

    /// open connections broker-wide; a new one beyond it is closed at once
    max_connections: i32 = i32::MAX, kafka = "max.connections";

    /// open connections per client address; a new one beyond it is closed at once (`0`: only
    /// the overrides' addresses)
    max_connections_per_ip: i32 = i32::MAX, kafka = "max.connections.per.ip";

    /// per-address limits, `host:count,...` (`127.0.0.1:200,[::1]:200,gw:1000`); names resolved
    /// at startup
    max_connections_per_ip_overrides: String = String::new(),
        kafka = "max.connections.per.ip.overrides", default_doc = "none";

    /// close a connection after this long without a byte read or written (negative: never)
    connections_max_idle_ms: i64 = 600_000, kafka = "connections.max.idle.ms";

    /// largest fetch response (record bytes), whatever the request asks
    fetch_max_bytes: i32 = 57_671_680, kafka = "fetch.max.bytes";

    // Kafka's default is 50; a burst of clients reconnecting after a restart overflows that,
    // and the kernel then completes the overflow only by SYN-ACK retries (1 s, 3 s, 7 s...).
    /// connections the kernel completes before the broker accepts them (Kafka: 50; see
    /// [Resource limits](#resource-limits))
    socket_listen_backlog_size: u32 = 1024, kafka = "socket.listen.backlog.size";

    /// requests one connection may have read and not yet answered (Brook-specific; see
    /// [Resource limits](#resource-limits))
    max_in_flight_requests_per_connection: usize = 64;
}
