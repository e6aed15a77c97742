//! The HTTP endpoint (`metrics_listen`): `/metrics` scraped during a produce/consume run
//! (partition offsets and sizes move, a consumer group's lag grows while it does not commit
//! and falls to zero when it catches up, connections and transactional ids are counted), the
//! health endpoints (ready only once the coordinators are loaded), other paths and methods
//! refused, and the endpoint disabled.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::groups::commit_standalone;
use crate::common::txn::init_txn;
use crate::common::*;

/// One HTTP request to the broker's endpoint: (status, body).
async fn http(b: &TestBroker, method: &str, path: &str) -> (u16, String) {
    let addr = b.handle.as_ref().expect("running").metrics.as_ref().expect("metrics on").addr;
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes()).await.expect("write");
    let mut out = String::new();
    tokio::time::timeout(IO_TIMEOUT, s.read_to_string(&mut out)).await.expect("in time").expect("read");
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).expect("a status line");
    let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// The value of the sample `name{labels}` in a scrape.
fn sample(page: &str, name_and_labels: &str) -> Option<f64> {
    page.lines().find_map(|l| l.strip_prefix(name_and_labels)?.strip_prefix(' ')?.trim().parse().ok())
}

async fn scrape(b: &TestBroker) -> String {
    let (status, page) = http(b, "GET", "/metrics").await;
    assert_eq!(status, 200);
    page
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_follow_produce_consume_and_lag() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "m", 2).await;
    produce_ok(&mut c, "m", 0, batch(&[b"1", b"2", b"3", b"4", b"5"])).await;
    commit_standalone(&mut c, "lagging", &[("m", 0, 2, None)]).await;
    let page = scrape(&b).await;
    assert_eq!(sample(&page, r#"brook_partition_high_watermark{topic="m",partition="0"}"#), Some(5.0));
    assert_eq!(sample(&page, r#"brook_partition_log_start_offset{topic="m",partition="0"}"#), Some(0.0));
    assert!(sample(&page, r#"brook_partition_size_bytes{topic="m",partition="0"}"#).is_some_and(|s| s > 0.0));
    assert_eq!(
        sample(&page, r#"brook_consumer_group_committed_offset{group="lagging",topic="m",partition="0"}"#),
        Some(2.0)
    );
    assert_eq!(sample(&page, r#"brook_consumer_group_lag{group="lagging",topic="m",partition="0"}"#), Some(3.0));
    assert_eq!(sample(&page, r#"brook_consumer_group_state{group="lagging",state="Empty"}"#), Some(1.0));
    assert!(sample(&page, "brook_connections").is_some_and(|n| n >= 1.0));
    assert!(page.contains("# TYPE brook_consumer_group_lag gauge\n"), "typed families");
    // Per-API counters and latency histograms, bytes and records per topic.
    let produced = sample(&page, r#"brook_requests_total{api="Produce"}"#).expect("produce counted");
    assert!(produced >= 1.0);
    assert_eq!(sample(&page, r#"brook_request_duration_seconds_count{api="Produce"}"#), Some(produced));
    assert_eq!(sample(&page, r#"brook_request_duration_seconds_bucket{api="Produce",le="+Inf"}"#), Some(produced));
    assert_eq!(sample(&page, r#"brook_topic_records_in_total{topic="m"}"#), Some(5.0));
    let bytes_in = sample(&page, r#"brook_topic_bytes_in_total{topic="m"}"#).expect("bytes in");
    assert!(bytes_in > 61.0, "a whole batch: {bytes_in}");
    assert_eq!(sample(&page, r#"brook_topic_bytes_out_total{topic="m"}"#), Some(0.0));
    assert_eq!(sample(&page, r#"brook_topic_records_out_total{topic="m"}"#), Some(0.0));
    let fetched = fetch(&mut c, "m", 0, 0).await;
    let page = scrape(&b).await;
    let out = fetched.records.as_ref().map_or(0, |r| r.len()) as f64;
    assert_eq!(sample(&page, r#"brook_topic_bytes_out_total{topic="m"}"#), Some(out), "what the fetch read");
    assert_eq!(sample(&page, r#"brook_topic_records_out_total{topic="m"}"#), Some(5.0));
    assert!(sample(&page, r#"brook_requests_total{api="Fetch"}"#).is_some_and(|n| n >= 1.0));
    // acks=all produces waited for group-commit rounds.
    let rounds = sample(&page, "brook_fsync_round_duration_seconds_count").expect("fsync rounds");
    assert!(rounds >= 1.0, "rounds {rounds}");
    assert_eq!(sample(&page, r#"brook_fsync_round_duration_seconds_bucket{le="+Inf"}"#), Some(rounds));
    assert!(sample(&page, "brook_fsync_partitions_total").is_some_and(|n| n >= rounds));
    assert!(
        sample(&page, r#"brook_requests_total{api="Produce"}"#) == Some(produced),
        "scrapes are not Kafka requests"
    );

    // The group does not commit while records arrive: its lag grows; it catches up: zero.
    produce_ok(&mut c, "m", 0, batch(&[b"6", b"7", b"8", b"9"])).await;
    let page = scrape(&b).await;
    assert_eq!(sample(&page, r#"brook_consumer_group_lag{group="lagging",topic="m",partition="0"}"#), Some(7.0));
    commit_standalone(&mut c, "lagging", &[("m", 0, 9, None)]).await;
    let page = scrape(&b).await;
    assert_eq!(sample(&page, r#"brook_consumer_group_lag{group="lagging",topic="m",partition="0"}"#), Some(0.0));

    // Error codes are counted per API and code: each partition of a response counts.
    assert_eq!(sample(&page, r#"brook_request_errors_total{api="Fetch",error="OFFSET_OUT_OF_RANGE"}"#), None);
    for _ in 0..2 {
        assert_eq!(fetch(&mut c, "m", 0, 1_000).await.error_code, 1, "OFFSET_OUT_OF_RANGE");
    }
    assert_eq!(produce(&mut c, "m", 7, batch(&[b"x"])).await.error_code, 3, "UNKNOWN_TOPIC_OR_PARTITION");
    let page = scrape(&b).await;
    assert_eq!(sample(&page, r#"brook_request_errors_total{api="Fetch",error="OFFSET_OUT_OF_RANGE"}"#), Some(2.0));
    assert_eq!(
        sample(&page, r#"brook_request_errors_total{api="Produce",error="UNKNOWN_TOPIC_OR_PARTITION"}"#),
        Some(1.0)
    );
    assert!(page.contains("# TYPE brook_request_errors_total counter\n"));

    init_txn(&mut c, "metrics-txn", 60_000).await;
    let page = scrape(&b).await;
    assert_eq!(sample(&page, r#"brook_transactional_ids{state="Empty"}"#), Some(1.0));
    assert_eq!(sample(&page, r#"brook_coordinator_loading{coordinator="group"}"#), Some(0.0));

    assert_eq!(http(&b, "GET", "/health/live").await, (200, "ok\n".to_string()));
    assert_eq!(http(&b, "GET", "/health/ready").await.0, 200);
    assert_eq!(http(&b, "GET", "/nope").await.0, 404);
    assert_eq!(http(&b, "POST", "/metrics").await.0, 405);
    drop(c);
    b.stop().await;
}

/// Ready only once the coordinators are loaded: partition 0 of `__consumer_offsets` cannot
/// be replayed (an injected EIO) until the fault is lifted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_waits_for_the_coordinators() {
    use brook::log::faults::{self, Fault, Point};
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "m", 1).await;
    let group = (0..1000)
        .map(|i| format!("r-{i}"))
        .find(|g| brook::cluster::coordinator_partition(g, 3) == 0)
        .expect("a group of partition 0");
    commit_standalone(&mut c, &group, &[("m", 0, 0, None)]).await;
    drop(c);
    b.handle.take().expect("running").shutdown().await.expect("shutdown");
    let armed = faults::arm(Point::ReplayRead, b.path().join("__consumer_offsets-0"), Fault::eio());
    b.start_loading(|_| {}).await;
    assert_eq!(http(&b, "GET", "/health/live").await.0, 200, "live while loading");
    assert_eq!(http(&b, "GET", "/health/ready").await.0, 503, "not ready while loading");
    let page = scrape(&b).await;
    assert_eq!(sample(&page, r#"brook_coordinator_loading{coordinator="group"}"#), Some(1.0));
    drop(armed);
    b.wait_coordinators_loaded().await;
    assert_eq!(http(&b, "GET", "/health/ready").await, (200, "ready\n".to_string()));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_can_be_disabled_and_moved() {
    let b = TestBroker::start_with(|c| c.metrics_listen = None).await;
    assert!(b.handle.as_ref().expect("running").metrics.is_none());
    b.stop().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let b =
        TestBroker::start_with(|c| c.metrics_listen = Some(format!("127.0.0.1:{port}").parse().expect("addr"))).await;
    assert_eq!(b.handle.as_ref().expect("running").metrics.as_ref().expect("on").addr.port(), port);
    assert_eq!(http(&b, "GET", "/health/live").await.0, 200);
    b.stop().await;
}

/// The cleaner's work shows in `/metrics`: after a pass over a compacted topic whose keys
/// were each written twice, it read every record and kept one per key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleaner_progress_is_counted() {
    let b = TestBroker::start_with(|c| c.log_cleaner_enable = false).await;
    let mut c = b.client().await;
    let configs = [
        ("cleanup.policy", "compact"),
        ("segment.bytes", "100"),
        ("min.cleanable.dirty.ratio", "0.01"),
        ("min.compaction.lag.ms", "0"),
    ];
    create_topic_with(&mut c, "cleaned", 1, &configs).await;
    for _ in 0..3 {
        // Keys k0, k1, k2 each time: the last round's values are the latest.
        produce_ok(&mut c, "cleaned", 0, batch(&[b"a", b"b", b"c"])).await;
    }
    let page = scrape(&b).await;
    assert_eq!(sample(&page, "brook_log_cleaner_cleanings_total"), Some(0.0));
    let broker = b.handle.as_ref().expect("running").broker.clone();
    let logs = broker.logs.clone();
    tokio::task::spawn_blocking(move || logs.clean_once(now_ms())).await.expect("pass");
    let page = scrape(&b).await;
    assert_eq!(sample(&page, "brook_log_cleaner_cleanings_total"), Some(1.0));
    let read = sample(&page, "brook_log_cleaner_records_read_total").expect("read");
    let kept = sample(&page, "brook_log_cleaner_records_kept_total").expect("kept");
    assert!(read >= 6.0 && kept < read, "read {read}, kept {kept}");
    assert!(sample(&page, "brook_log_cleaner_read_bytes_total").is_some_and(|n| n > 0.0));
    drop((c, broker));
    b.stop().await;
}
