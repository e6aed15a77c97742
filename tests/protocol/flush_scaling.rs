//! Background flushes of many partitions go through the one group-commit thread: a flush
//! interval that finds hundreds of dirty partitions makes them all durable without a thread
//! per partition. (Run in a process of its own, see `rerun_alone`, so that the process's
//! thread count is this test's.)

use std::time::{Duration, Instant};

use brook::config::Durability;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::ProduceRequest;

use crate::common::*;

const PARTITIONS: i32 = 300;

fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Threads:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_flush_of_many_partitions_needs_no_thread_per_partition() {
    if rerun_alone(module_path!(), "interval_flush_of_many_partitions_needs_no_thread_per_partition").await {
        return;
    }
    for mode in [Durability::Interval, Durability::Acks] {
        let b = TestBroker::start_with(|c| {
            c.durability = mode;
            c.flush_interval = Duration::from_millis(100);
        })
        .await;
        let mut c = b.client().await;
        create_topic(&mut c, "many", PARTITIONS).await;
        let parts = (0..PARTITIONS)
            .map(|p| PartitionProduceData::default().with_index(p).with_records(Some(batch(&[b"v"]))))
            .collect();
        let req = ProduceRequest::default()
            .with_acks(1)
            .with_timeout_ms(5000)
            .with_topic_data(vec![TopicProduceData::default().with_name(tn("many")).with_partition_data(parts)]);
        let baseline = threads();
        let resp = c.call(&req, PRODUCE_V).await;
        assert!(resp.responses[0].partition_responses.iter().all(|p| p.error_code == 0), "{resp:?}");
        let logs = &b.handle.as_ref().expect("running").broker.logs;
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut most = baseline;
        loop {
            most = most.max(threads());
            let pending = (0..PARTITIONS)
                .filter(|&p| logs.get("many", p).expect("partition").recovery_point().offset < 1)
                .count();
            if pending == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "{mode:?}: {pending} partitions still not fsynced after 20 s");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        assert!(
            most <= baseline + 8,
            "{mode:?}: flushing {PARTITIONS} partitions took the process from {baseline} to {most} threads"
        );
        b.stop().await;
    }
}
