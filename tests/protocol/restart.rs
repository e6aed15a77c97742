//! A graceful restart on the same data directory keeps topics, ids, partitions, configs and
//! records exactly.

use kafka_protocol::records::{Compression, Record};

use crate::common::*;

/// (offset, timestamp, key, value)
type Rec = (i64, i64, Vec<u8>, Vec<u8>);
/// ((topic, partition), log start, latest, records)
type PartitionLog = ((String, i32), i64, i64, Vec<Rec>);

#[derive(Debug, PartialEq)]
struct Snapshot {
    cluster_id: Option<String>,
    topics: Vec<(String, uuid::Uuid, usize)>,
    /// (topic, partition) -> (log start, latest, records as (offset, ts, key, value))
    logs: Vec<PartitionLog>,
    config: Option<String>,
}

fn flatten(recs: Vec<Record>) -> Vec<Rec> {
    recs.into_iter()
        .map(|r| {
            (
                r.offset,
                r.timestamp,
                r.key.map(|k| k.to_vec()).unwrap_or_default(),
                r.value.map(|v| v.to_vec()).unwrap_or_default(),
            )
        })
        .collect()
}

async fn snapshot(c: &mut Client) -> Snapshot {
    let md = metadata(c, None, false, METADATA_V).await;
    let mut topics: Vec<(String, uuid::Uuid, usize)> = md
        .topics
        .iter()
        .map(|t| {
            assert_eq!(t.error_code, 0);
            (t.name.as_ref().unwrap().0.to_string(), t.topic_id, t.partitions.len())
        })
        .collect();
    topics.sort();
    let mut logs = Vec::new();
    for (name, _, n) in &topics {
        for p in 0..*n as i32 {
            let start = list_offsets(c, name, p, -2).await.offset;
            let end = list_offsets(c, name, p, -1).await.offset;
            let recs = flatten(fetch_all(c, name, p, 0).await);
            logs.push(((name.clone(), p), start, end, recs));
        }
    }
    let req = kafka_protocol::messages::DescribeConfigsRequest::default().with_resources(vec![
        kafka_protocol::messages::describe_configs_request::DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(sb("keep-b"))
            .with_configuration_keys(Some(vec![sb("retention.ms")])),
    ]);
    let r = c.call(&req, 4).await;
    let config = r.results[0]
        .configs
        .first()
        .and_then(|c| c.value.as_ref().map(|v| format!("{}={}", c.name.as_str(), v.as_str())));
    Snapshot { cluster_id: md.cluster_id.map(|s| s.to_string()), topics, logs, config }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_everything() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "keep-a", 3).await;
    create_topic_with(&mut c, "keep-b", 1, &[("retention.ms", "86400000")]).await;
    let mut expected_end = [0i64; 3];
    for i in 0..12 {
        let p = i % 3;
        let v = format!("a-{i}");
        let vals = [v.as_bytes(), b"second"];
        let ts = 1_700_000_000_000 + i as i64;
        let b = batch_full(
            &[(vals[0], ts), (vals[1], ts + 1)],
            NO_PRODUCER,
            if i % 2 == 0 { Compression::None } else { Compression::Gzip },
        );
        assert_eq!(produce_ok(&mut c, "keep-a", p as i32, b).await, expected_end[p]);
        expected_end[p] += 2;
    }
    for i in 0..5 {
        let v = format!("b-{i}");
        produce_ok(&mut c, "keep-b", 0, batch(&[v.as_bytes()])).await;
    }
    let before = snapshot(&mut c).await;
    assert_eq!(before.topics.len(), 2);
    assert_eq!(before.logs.len(), 4);
    for (i, end) in expected_end.iter().enumerate() {
        assert_eq!(before.logs[i].2, *end);
        assert_eq!(before.logs[i].3.len() as i64, *end, "all records readable before");
    }
    assert_eq!(before.logs[3].3.len(), 5);
    assert_eq!(before.config.as_deref(), Some("retention.ms=86400000"));
    drop(c);

    b.restart().await;
    let mut c = b.client().await;
    let after = snapshot(&mut c).await;
    assert_eq!(after, before, "state after the first restart");

    // Appends continue at the right offsets, and a second restart keeps them too.
    assert_eq!(produce_ok(&mut c, "keep-b", 0, batch(&[b"after"])).await, 5);
    let (pid, _) = init_producer_id(&mut c).await;
    let before2 = snapshot(&mut c).await;
    drop(c);
    b.restart().await;
    let mut c = b.client().await;
    assert_eq!(snapshot(&mut c).await, before2, "state after the second restart");
    let (pid2, _) = init_producer_id(&mut c).await;
    assert_ne!(pid, pid2, "producer ids are not reused after restart");
    b.stop().await;
}

/// Deleted topics stay deleted and grown partition counts stay grown across a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_keeps_admin_changes() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "gone", 1).await;
    produce_ok(&mut c, "gone", 0, batch(&[b"bye"])).await;
    create_topic(&mut c, "grown", 1).await;
    let req = kafka_protocol::messages::DeleteTopicsRequest::default()
        .with_timeout_ms(5000)
        .with_topic_names(vec![tn("gone")]);
    assert_eq!(c.call(&req, 5).await.responses[0].error_code, 0);
    let req = kafka_protocol::messages::CreatePartitionsRequest::default().with_timeout_ms(5000).with_topics(vec![
        kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic::default()
            .with_name(tn("grown"))
            .with_count(4)
            .with_assignments(None),
    ]);
    assert_eq!(c.call(&req, 3).await.results[0].error_code, 0);
    produce_ok(&mut c, "grown", 3, batch(&[b"in-p3"])).await;
    let id = topic_id(&mut c, "grown").await;
    drop(c);

    b.restart().await;
    let mut c = b.client().await;
    let md = metadata(&mut c, None, false, METADATA_V).await;
    let names: Vec<String> = md.topics.iter().map(|t| t.name.as_ref().unwrap().0.to_string()).collect();
    assert_eq!(names, vec!["grown".to_string()]);
    assert_eq!(md.topics[0].partitions.len(), 4);
    assert_eq!(md.topics[0].topic_id, id);
    let recs = fetch_all(&mut c, "grown", 3, 0).await;
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].value.as_deref(), Some(&b"in-p3"[..]));
    // Re-creating the deleted name starts empty.
    create_topic(&mut c, "gone", 1).await;
    assert_eq!(list_offsets(&mut c, "gone", 0, -1).await.offset, 0);
    b.stop().await;
}
