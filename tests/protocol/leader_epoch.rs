//! Leader epochs come from each partition's `leader-epoch-checkpoint`: Metadata, ListOffsets
//! and the stored batches carry the epoch it records, and Fetch and ListOffsets check the
//! client's current leader epoch against it as Kafka does (older: FENCED_LEADER_EPOCH, newer:
//! UNKNOWN_LEADER_EPOCH, -1: not checked).

use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, MetadataResponse};

use crate::common::*;

const FENCED_LEADER_EPOCH: i16 = 74;
const UNKNOWN_LEADER_EPOCH: i16 = 75;

fn epoch_of(md: &MetadataResponse) -> i32 {
    md.topics[0].partitions[0].leader_epoch
}

async fn fetch_at_epoch(c: &mut Client, epoch: i32) -> PartitionData {
    let mut req = fetch_request("epochs", 0, 0, 0);
    req.topics[0].partitions[0].current_leader_epoch = epoch;
    fetch_with(c, req, FETCH_V).await
}

async fn list_latest_at_epoch(c: &mut Client, epoch: i32) -> (i16, i32) {
    let mut p = kafka_protocol::messages::list_offsets_request::ListOffsetsPartition::default()
        .with_partition_index(0)
        .with_timestamp(-1);
    p.current_leader_epoch = epoch;
    let req = ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
        kafka_protocol::messages::list_offsets_request::ListOffsetsTopic::default()
            .with_name(tn("epochs"))
            .with_partitions(vec![p]),
    ]);
    let resp = c.call(&req, LIST_OFFSETS_V).await;
    let r = &resp.topics[0].partitions[0];
    (r.error_code, r.leader_epoch)
}

/// `partitionLeaderEpoch` of every batch in a fetched record set.
fn batch_epochs(records: &Option<bytes::Bytes>) -> Vec<i32> {
    let mut out = Vec::new();
    let mut b = records.clone().unwrap_or_default();
    while b.len() >= 61 {
        let len = i32::from_be_bytes(b[8..12].try_into().unwrap()) as usize + 12;
        out.push(i32::from_be_bytes(b[12..16].try_into().unwrap()));
        if len > b.len() {
            break;
        }
        let _ = b.split_to(len);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checkpointed_leader_epoch_is_reported_stamped_and_checked() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "epochs", 1).await;
    produce_ok(&mut c, "epochs", 0, batch(&[b"at epoch 0"])).await;
    let checkpoint = b.path().join("epochs-0").join("leader-epoch-checkpoint");
    assert_eq!(std::fs::read_to_string(&checkpoint).unwrap(), "0\n1\n0 0\n", "epoch 0 starts at offset 0");
    assert_eq!(epoch_of(&metadata(&mut c, Some(&["epochs"]), false, METADATA_V).await), 0);
    drop(c);

    // As if leadership had moved on to epoch 5 from offset 1 (what replication will do).
    b.handle.take().expect("running").shutdown().await.expect("graceful shutdown");
    std::fs::write(&checkpoint, "0\n2\n0 0\n5 1\n").unwrap();
    b.start_again(|_| {}).await;
    let mut c = b.client().await;
    assert_eq!(epoch_of(&metadata(&mut c, Some(&["epochs"]), false, METADATA_V).await), 5);
    produce_ok(&mut c, "epochs", 0, batch(&[b"at epoch 5"])).await;
    let all = fetch_at_epoch(&mut c, -1).await;
    assert_eq!(all.error_code, 0);
    assert_eq!(batch_epochs(&all.records), vec![0, 5], "each batch keeps the epoch it was written in");
    assert_eq!(std::fs::read_to_string(&checkpoint).unwrap(), "0\n2\n0 0\n5 1\n");

    assert_eq!(fetch_at_epoch(&mut c, 5).await.error_code, 0);
    assert_eq!(fetch_at_epoch(&mut c, 4).await.error_code, FENCED_LEADER_EPOCH);
    assert_eq!(fetch_at_epoch(&mut c, 6).await.error_code, UNKNOWN_LEADER_EPOCH);
    assert_eq!(list_latest_at_epoch(&mut c, -1).await, (0, 5));
    assert_eq!(list_latest_at_epoch(&mut c, 4).await.0, FENCED_LEADER_EPOCH);
    assert_eq!(list_latest_at_epoch(&mut c, 6).await.0, UNKNOWN_LEADER_EPOCH);
}
