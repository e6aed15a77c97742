//! The `brook` client commands against a running broker: `transactions` (the CLI view of
//! KIP-664's tools: list, describe, describe-producers and abort of an open transaction),
//! `topic` (create, list, describe, alter-config, delete), `group` (list, describe with lag
//! and assignment, reset-offsets, delete) and `cluster info`, as tables and JSON, and their
//! one-line errors for unknown ids and topics and an unreachable broker.

use kafka_protocol::messages::*;
use serde_json::Value;

use crate::common::groups::{stable_single, NONE};
use crate::common::txn::{init_txn, txn_produce};
use crate::common::*;

/// Runs `brook transactions <args> --bootstrap-server <addr>`: (exit ok, stdout, stderr).
async fn brook(addr: &str, args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["transactions"];
    all.extend(args);
    brook_cmd(addr, &all).await
}

/// Runs `brook <args> --bootstrap-server <addr>`: (exit ok, stdout, stderr).
async fn brook_cmd(addr: &str, args: &[&str]) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_brook"));
    cmd.args(args).args(["--bootstrap-server", addr, "--timeout-ms", "5000"]);
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.expect("join").expect("run brook");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

async fn brook_json(addr: &str, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["transactions"];
    all.extend(args);
    json_of(addr, &all).await.as_array().expect("an array").clone()
}

/// `brook <args> --format json`, parsed.
async fn json_of(addr: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let (ok, out, err) = brook_cmd(addr, &all).await;
    assert!(ok, "brook {args:?} failed: {err}");
    serde_json::from_str::<Value>(&out).expect("JSON output")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_listed_described_and_aborted_from_the_cli() {
    let b = TestBroker::start().await;
    let addr = b.addr().to_string();
    let mut c = b.client().await;
    create_topic(&mut c, "cli-t", 1).await;
    let (pid, _) = init_txn(&mut c, "cli-txn", 60_000).await;
    // A transaction version 2 produce opens the transaction on cli-t-0 at offset 0.
    let req = txn_produce("cli-txn", "cli-t", 0, (pid, 0, 0), &["open"]);
    assert_eq!(c.call(&req, 12).await.responses[0].partition_responses[0].error_code, NONE);

    let listed = brook_json(&addr, &["list"]).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["TransactionalId"], "cli-txn");
    assert_eq!(listed[0]["ProducerId"], pid);
    assert_eq!(listed[0]["TransactionState"], "Ongoing");
    assert_eq!(brook_json(&addr, &["list", "--state", "CompleteCommit"]).await.len(), 0, "the state filter");
    let (ok, table, _) = brook(&addr, &["list"]).await;
    assert!(ok);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["TransactionalId", "Coordinator", "ProducerId", "TransactionState"]
    );
    assert!(lines[1].starts_with("cli-txn") && lines[1].ends_with("Ongoing"), "{table}");

    let described = brook_json(&addr, &["describe", "--transactional-id", "cli-txn"]).await;
    assert_eq!(described[0]["TopicPartitions"], "cli-t-0");
    assert_eq!(
        (described[0]["ProducerEpoch"].as_i64(), described[0]["TransactionTimeoutMs"].as_i64()),
        (Some(0), Some(60_000))
    );
    assert!(described[0]["TransactionDurationMs"].as_i64().is_some_and(|d| d >= 0));

    let producers = brook_json(&addr, &["describe-producers", "--topic", "cli-t", "--partition", "0"]).await;
    assert_eq!(producers.len(), 1);
    assert_eq!(
        (producers[0]["ProducerId"].as_i64(), producers[0]["CurrentTransactionStartOffset"].as_i64()),
        (Some(pid), Some(0))
    );

    // The hanging transaction is aborted by its start offset: the LSO moves past it.
    assert_eq!(fetch_committed(&mut c, "cli-t", 0).await.1, 0, "the open transaction holds the LSO");
    let aborted = brook_json(&addr, &["abort", "--topic", "cli-t", "--partition", "0", "--start-offset", "0"]).await;
    assert_eq!(aborted[0]["Result"], "aborted");
    let (values, lso, gone) = fetch_committed(&mut c, "cli-t", 0).await;
    assert_eq!((values.len(), lso, gone), (0, 2, vec![(pid, 0)]), "aborted: invisible, the LSO past its marker");
    let producers = brook_json(&addr, &["describe-producers", "--topic", "cli-t", "--partition", "0"]).await;
    assert_eq!(producers[0]["CurrentTransactionStartOffset"], Value::Null);

    // Errors: one line on stderr, a failing exit.
    let (ok, out, err) = brook(&addr, &["describe", "--transactional-id", "nope"]).await;
    assert!(!ok && out.is_empty());
    assert_eq!(err.trim(), "brook: transactional id nope: TRANSACTIONAL_ID_NOT_FOUND (105)");
    let (ok, _, err) = brook(&addr, &["describe-producers", "--topic", "nope", "--partition", "0"]).await;
    assert!(!ok && err.contains("UNKNOWN_TOPIC_OR_PARTITION"), "{err}");
    let (ok, _, err) = brook(&addr, &["abort", "--topic", "cli-t", "--partition", "0", "--start-offset", "7"]).await;
    assert!(!ok && err.contains("no open transaction starts at offset 7"), "{err}");
    let (ok, _, err) = brook("127.0.0.1:1", &["list"]).await;
    assert!(!ok && err.starts_with("brook: cannot connect to 127.0.0.1:1"), "{err}");
    assert_eq!(err.lines().count(), 1);
    drop(c);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topics_are_created_described_altered_and_deleted_from_the_cli() {
    let b = TestBroker::start().await;
    let addr = b.addr().to_string();
    let created = json_of(&addr, &["topic", "create", "cli-a", "cli-b", "-p", "3", "-c", "retention.ms=3600000"]).await;
    assert_eq!(created, serde_json::json!([{"Topic": "cli-a", "Status": "OK"}, {"Topic": "cli-b", "Status": "OK"}]));
    let (ok, _, err) = brook_cmd(&addr, &["topic", "create", "cli-a"]).await;
    assert!(!ok && err.trim().starts_with("brook: cli-a: TOPIC_ALREADY_EXISTS (36)"), "{err}");
    let listed = json_of(&addr, &["topic", "list"]).await;
    assert_eq!(
        listed,
        serde_json::json!([{"Name": "cli-a", "Partitions": 3, "Replicas": 1}, {"Name": "cli-b", "Partitions": 3, "Replicas": 1}])
    );
    let mut c = b.client().await;
    produce_ok(&mut c, "cli-a", 1, batch(&[b"x", b"y"])).await;
    let d = json_of(&addr, &["topic", "describe", "cli-a"]).await;
    assert_eq!(d["name"], "cli-a");
    assert_eq!(d["partitions"].as_array().map(|p| p.len()), Some(3));
    assert_eq!(d["partitions"][1]["HighWatermark"], 2);
    assert_eq!(d["partitions"][1]["LogStartOffset"], 0);
    let config =
        |d: &Value, key: &str| d["configs"].as_array().and_then(|cs| cs.iter().find(|c| c["Key"] == key).cloned());
    assert_eq!(
        config(&d, "retention.ms"),
        Some(serde_json::json!({"Key": "retention.ms", "Value": "3600000", "Source": "DYNAMIC_TOPIC_CONFIG"}))
    );
    assert_eq!(config(&d, "cleanup.policy").map(|c| c["Source"].clone()), Some(serde_json::json!("DEFAULT_CONFIG")));
    json_of(&addr, &["topic", "alter-config", "cli-a", "--set", "cleanup.policy=compact", "--delete", "retention.ms"])
        .await;
    let d = json_of(&addr, &["topic", "describe", "cli-a"]).await;
    assert_eq!(config(&d, "cleanup.policy").map(|c| c["Value"].clone()), Some(serde_json::json!("compact")));
    assert_eq!(config(&d, "retention.ms").map(|c| c["Source"].clone()), Some(serde_json::json!("DEFAULT_CONFIG")));
    let (ok, table, _) = brook_cmd(&addr, &["topic", "describe", "cli-a"]).await;
    assert!(ok && table.starts_with("NAME      cli-a\n") && table.contains("PARTITIONS\nPartition  Leader"), "{table}");
    json_of(&addr, &["topic", "delete", "cli-b"]).await;
    let (ok, _, err) = brook_cmd(&addr, &["topic", "describe", "cli-b"]).await;
    assert_eq!((ok, err.trim()), (false, "brook: topic cli-b: UNKNOWN_TOPIC_OR_PARTITION (3)"));
    let (ok, _, err) = brook_cmd(&addr, &["topic", "alter-config", "cli-a", "--set", "nonsense"]).await;
    assert!(!ok && err.contains("expected key=value"), "{err}");
    let (ok, _, err) = brook_cmd("127.0.0.1:1", &["topic", "list"]).await;
    assert!(!ok && err.starts_with("brook: cannot connect to 127.0.0.1:1") && err.lines().count() == 1, "{err}");
    drop(c);
    b.stop().await;
}

/// The group view follows the group: a member and its assignment, the lag of each committed
/// partition growing with the log and gone after a reset to latest; a reset is refused while
/// the group has members; a deleted group is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_described_with_lag_reset_and_deleted_from_the_cli() {
    let b = TestBroker::start().await;
    let addr = b.addr().to_string();
    let mut c = b.client().await;
    create_topic(&mut c, "cli-g", 2).await;
    produce_ok(&mut c, "cli-g", 0, batch(&[b"1", b"2", b"3", b"4", b"5"])).await;
    let reset = json_of(&addr, &["group", "reset-offsets", "cli-group", "--topic", "cli-g", "--to", "1"]).await;
    assert_eq!(reset.as_array().map(|r| r.len()), Some(2));
    let d = json_of(&addr, &["group", "describe", "cli-group"]).await;
    assert_eq!(d["state"], "Empty");
    let lag = |d: &Value, p: i64| {
        d["partitions"].as_array().and_then(|ps| ps.iter().find(|r| r["Partition"] == p).map(|r| r["Lag"].clone()))
    };
    assert_eq!(lag(&d, 0), Some(serde_json::json!(4)), "5 records, committed at 1");
    assert_eq!(lag(&d, 1), Some(serde_json::json!(0)));
    produce_ok(&mut c, "cli-g", 0, batch(&[b"6", b"7"])).await;
    assert_eq!(
        lag(&json_of(&addr, &["group", "describe", "cli-group"]).await, 0),
        Some(serde_json::json!(6)),
        "the lag grows"
    );
    json_of(&addr, &["group", "reset-offsets", "cli-group", "--topic", "cli-g", "--to", "latest"]).await;
    assert_eq!(
        lag(&json_of(&addr, &["group", "describe", "cli-group"]).await, 0),
        Some(serde_json::json!(0)),
        "caught up"
    );

    // A live member: shown with its assignment; the reset is refused.
    use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedPartition;
    use kafka_protocol::protocol::Encodable;
    let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(vec![AssignedPartition::default()
        .with_topic(tn("cli-g"))
        .with_partitions(vec![0, 1])]);
    let mut bytes = bytes::BytesMut::new();
    bytes::BufMut::put_i16(&mut bytes, 0);
    assignment.encode(&mut bytes, 0).expect("encode");
    let (member, _) = stable_single(&mut c, "cli-live", &["cli-g"], &bytes).await;
    let d = json_of(&addr, &["group", "describe", "cli-live"]).await;
    assert_eq!((d["state"].as_str(), d["protocol"].as_str()), (Some("Stable"), Some("range")));
    assert_eq!(d["members"][0]["member_id"], member.as_str());
    assert_eq!(
        d["members"][0]["assignment"],
        serde_json::json!([{"topic": "cli-g", "partition": 0}, {"topic": "cli-g", "partition": 1}])
    );
    assert_eq!(d["partitions"][0]["MemberId"], member.as_str(), "an assigned partition names its owner");
    let (ok, _, err) =
        brook_cmd(&addr, &["group", "reset-offsets", "cli-live", "--topic", "cli-g", "--to", "earliest"]).await;
    assert!(!ok && err.contains("has 1 members (Stable): stop its consumers first"), "{err}");
    let listed = json_of(&addr, &["group", "list"]).await;
    let names: Vec<&str> = listed.as_array().expect("array").iter().filter_map(|g| g["Group"].as_str()).collect();
    assert_eq!(names, ["cli-group", "cli-live"]);

    assert_eq!(
        json_of(&addr, &["group", "delete", "cli-group"]).await,
        serde_json::json!([{"Group": "cli-group", "Status": "deleted"}])
    );
    let (ok, _, err) = brook_cmd(&addr, &["group", "delete", "cli-live"]).await;
    assert_eq!((ok, err.trim()), (false, "brook: cli-live: NON_EMPTY_GROUP (68)"));
    let (ok, _, err) = brook_cmd(&addr, &["group", "describe", "cli-group"]).await;
    assert!(!ok && err.contains("GROUP_ID_NOT_FOUND"), "{err}");
    drop(c);
    b.stop().await;
}

/// A consumer-protocol group (KIP-848), which DescribeGroups does not describe: the CLI
/// asks ConsumerGroupDescribe and shows its state, assignor and members with their
/// partitions; a reset is refused while it has members.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumer_protocol_groups_are_described_from_the_cli() {
    let b = TestBroker::start().await;
    let addr = b.addr().to_string();
    let mut c = b.client().await;
    create_topic(&mut c, "cli-cg", 2).await;
    let join = ConsumerGroupHeartbeatRequest::default()
        .with_group_id(GroupId(sb("cli-cg-group")))
        .with_member_id(sb("member-1"))
        .with_rebalance_timeout_ms(30_000)
        .with_subscribed_topic_names(Some(vec![tn("cli-cg")]))
        .with_topic_partitions(Some(Vec::new()));
    let r: ConsumerGroupHeartbeatResponse = c.call(&join, 1).await;
    assert_eq!(r.error_code, NONE);
    let d = json_of(&addr, &["group", "describe", "cli-cg-group"]).await;
    assert_eq!((d["state"].as_str(), d["protocol_type"].as_str()), (Some("Stable"), Some("consumer")));
    assert_eq!(d["protocol"], "uniform", "the assignor");
    assert_eq!(d["members"][0]["member_id"], "member-1");
    assert_eq!(
        d["members"][0]["assignment"],
        serde_json::json!([{"topic": "cli-cg", "partition": 0}, {"topic": "cli-cg", "partition": 1}])
    );
    let (ok, _, err) =
        brook_cmd(&addr, &["group", "reset-offsets", "cli-cg-group", "--topic", "cli-cg", "--to", "earliest"]).await;
    assert!(!ok && err.contains("stop its consumers first"), "{err}");
    drop(c);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn share_groups_are_described_with_their_backlog_from_the_cli() {
    use kafka_protocol::messages::share_fetch_request::{AcknowledgementBatch, FetchPartition, FetchTopic};
    let b = TestBroker::start().await;
    let addr = b.addr().to_string();
    let mut c = b.client().await;
    create_topic(&mut c, "cli-sh", 1).await;
    let t = topic_id(&mut c, "cli-sh").await;
    for i in 0..10 {
        produce_ok(&mut c, "cli-sh", 0, batch(&[format!("r{i}").as_bytes()])).await;
    }
    let ops = [("share.auto.offset.reset", OP_SET, Some("earliest"))];
    assert_eq!(alter_incremental(&mut c, RESOURCE_GROUP, "cli-sg", &ops, false).await.0, NONE);
    let join = ShareGroupHeartbeatRequest::default()
        .with_group_id(GroupId(sb("cli-sg")))
        .with_member_id(sb("member-1"))
        .with_subscribed_topic_names(Some(vec![tn("cli-sh")]));
    assert_eq!(c.call(&join, 1).await.error_code, NONE);
    let fetch = |epoch: i32, acks: Vec<AcknowledgementBatch>| {
        ShareFetchRequest::default()
            .with_group_id(Some(GroupId(sb("cli-sg"))))
            .with_member_id(Some(sb("member-1")))
            .with_share_session_epoch(epoch)
            .with_max_records(500)
            .with_max_bytes(1 << 20)
            .with_topics(vec![FetchTopic::default().with_topic_id(t).with_partitions(vec![FetchPartition::default()
                .with_partition_index(0)
                .with_acknowledgement_batches(acks)])])
    };
    assert_eq!(c.call(&fetch(0, vec![]), 1).await.error_code, NONE);
    let accept =
        AcknowledgementBatch::default().with_first_offset(0).with_last_offset(3).with_acknowledge_types(vec![1]);
    let r = c.call(&fetch(1, vec![accept]).with_max_records(0), 1).await;
    assert_eq!(r.error_code, NONE);
    let d = json_of(&addr, &["group", "describe", "cli-sg"]).await;
    assert_eq!(
        (d["state"].as_str(), d["protocol_type"].as_str(), d["protocol"].as_str()),
        (Some("Stable"), Some("share"), Some("simple"))
    );
    assert_eq!(d["members"][0]["member_id"], "member-1");
    let p0 = &d["partitions"][0];
    assert_eq!(
        (p0["CurrentOffset"].as_i64(), p0["LogEndOffset"].as_i64(), p0["Lag"].as_i64()),
        (Some(4), Some(10), Some(6)),
        "{d}"
    );
    let listed = json_of(&addr, &["group", "list"]).await;
    assert!(listed.to_string().contains("cli-sg"), "{listed}");
    drop(c);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_info_names_the_broker_and_counts_topics() {
    let b = TestBroker::start().await;
    let addr = b.addr().to_string();
    let mut c = b.client().await;
    create_topic(&mut c, "cli-info", 4).await;
    let info = json_of(&addr, &["cluster", "info"]).await;
    assert!(info["cluster_id"].as_str().is_some_and(|id| id.len() == 22), "{info}");
    assert_eq!((info["topics"].as_i64(), info["partitions"].as_i64()), (Some(1), Some(4)));
    let broker = &info["brokers"][0];
    assert_eq!(
        (broker["Port"].as_u64(), broker["Controller"].as_bool()),
        (Some(u64::from(b.addr().port())), Some(true))
    );
    assert_eq!(info["controller"], broker["Id"]);
    drop(c);
    b.stop().await;
}

/// `brook produce` places keyed records as Kafka's default partitioner does (murmur2), with
/// their headers; `brook consume` reads them back to the end, as JSON lines or text, stops
/// after `-n`, and with `--read-committed` drops an aborted transaction's records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_produced_and_consumed_from_the_cli() {
    let b = TestBroker::start().await;
    let addr = b.addr().to_string();
    let mut c = b.client().await;
    create_topic(&mut c, "cli-pc", 3).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("records.txt");
    let lines: Vec<String> = (0..30).map(|i| format!("key-{}|value-{i}", i % 7)).collect();
    std::fs::write(&file, lines.join("\n")).expect("write");
    let file = file.to_string_lossy().to_string();
    let produced =
        json_of(&addr, &["produce", "cli-pc", "--file", &file, "--delimiter", "|", "--header", "src=cli"]).await;
    let total: i64 = produced.as_array().expect("array").iter().filter_map(|r| r["Records"].as_i64()).sum();
    assert_eq!(total, 30);

    let (ok, out, err) = brook_cmd(&addr, &["consume", "cli-pc", "--exit-at-end", "--format", "json"]).await;
    assert!(ok, "{err}");
    let records: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(records.len(), 30);
    for r in &records {
        let key = r["key"].as_str().expect("key");
        let want = brook::cli::produce::partition_for_key(key.as_bytes(), 3);
        assert_eq!(r["partition"].as_i64(), Some(i64::from(want)), "{key} placed as Kafka's partitioner does");
        assert_eq!(r["headers"]["src"], "cli");
    }
    // Per key, the values keep their order.
    for k in 0..7 {
        let key = format!("key-{k}");
        let values: Vec<i64> = records
            .iter()
            .filter(|r| r["key"] == key.as_str())
            .filter_map(|r| r["value"].as_str()?.strip_prefix("value-")?.parse().ok())
            .collect();
        assert!(values.windows(2).all(|w| w[0] < w[1]) && !values.is_empty(), "{key}: {values:?}");
    }
    let (ok, out, _) = brook_cmd(&addr, &["consume", "cli-pc", "--partition", "0", "-n", "2", "--print-key"]).await;
    assert!(ok);
    assert_eq!(out.lines().count(), 2);
    assert!(out.lines().all(|l| l.starts_with("key-") && l.contains("\tvalue-")), "{out}");

    // An aborted transaction: read_uncommitted shows its record, read_committed does not.
    create_topic(&mut c, "cli-txn-pc", 1).await;
    let (pid, _) = init_txn(&mut c, "cli-pc-txn", 60_000).await;
    let req = txn_produce("cli-pc-txn", "cli-txn-pc", 0, (pid, 0, 0), &["aborted"]);
    assert_eq!(c.call(&req, 12).await.responses[0].partition_responses[0].error_code, NONE);
    let end = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(sb("cli-pc-txn")))
        .with_producer_id(ProducerId(pid))
        .with_producer_epoch(0)
        .with_committed(false);
    assert_eq!(c.call(&end, 5).await.error_code, NONE);
    let (_, plain, _) = brook_cmd(&addr, &["consume", "cli-txn-pc", "--exit-at-end"]).await;
    let (_, committed, _) = brook_cmd(&addr, &["consume", "cli-txn-pc", "--exit-at-end", "--read-committed"]).await;
    assert_eq!((plain.trim(), committed.trim()), ("aborted", ""));

    let (ok, _, err) = brook_cmd(&addr, &["produce", "nope", "--file", &file]).await;
    assert_eq!((ok, err.trim()), (false, "brook: topic nope: UNKNOWN_TOPIC_OR_PARTITION (3)"));
    drop(c);
    b.stop().await;
}
