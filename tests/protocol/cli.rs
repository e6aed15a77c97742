//! `brook transactions` (the CLI view of KIP-664's tools) against a running broker: list,
//! describe, describe-producers and abort of an open transaction, as tables and JSON, and its
//! one-line errors for an unknown id, an unknown topic and an unreachable broker.

use kafka_protocol::messages::*;
use serde_json::Value;

use crate::common::groups::NONE;
use crate::common::*;

/// Runs `brook transactions <args> --bootstrap-server <addr>`: (exit ok, stdout, stderr).
async fn brook(addr: &str, args: &[&str]) -> (bool, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_brook"));
    cmd.arg("transactions").args(args).args(["--bootstrap-server", addr, "--timeout-ms", "5000"]);
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.expect("join").expect("run brook");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

async fn brook_json(addr: &str, args: &[&str]) -> Vec<Value> {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let (ok, out, err) = brook(addr, &all).await;
    assert!(ok, "brook transactions {args:?} failed: {err}");
    serde_json::from_str::<Value>(&out).expect("JSON output").as_array().expect("an array").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_listed_described_and_aborted_from_the_cli() {
    let b = TestBroker::start().await;
    let addr = b.addr().to_string();
    let mut c = b.client().await;
    create_topic(&mut c, "cli-t", 1).await;
    let r = c
        .call(
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(TransactionalId(sb("cli-txn"))))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
            5,
        )
        .await;
    let pid = r.producer_id.0;
    // A transaction version 2 produce opens the transaction on cli-t-0 at offset 0.
    let mut req = produce_request("cli-t", 0, txn_batch(pid, 0, 0, &["open"]), -1);
    req.transactional_id = Some(TransactionalId(sb("cli-txn")));
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
