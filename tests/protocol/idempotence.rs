//! Idempotent producer: dedup of retries, sequence gaps, fencing of old epochs, and producer
//! state surviving a graceful restart.

use crate::common::*;

const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
const INVALID_PRODUCER_EPOCH: i16 = 47;

/// Base offsets of the batches in the partition (fetching from 0).
async fn log_batches(c: &mut Client, topic: &str) -> Vec<i64> {
    let p = fetch(c, topic, 0, 0).await;
    assert_eq!(p.error_code, 0);
    batch_base_offsets(&p.records)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_deduplicated_gaps_and_zombies_rejected() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "idem", 1).await;
    let (pid, epoch) = init_producer_id(&mut c).await;
    assert!(pid >= 0);
    assert_eq!(epoch, 0);

    // seq 0..=2 -> offsets 0..=2
    let first = idempotent_batch(pid, 0, 0, 3);
    let r = produce(&mut c, "idem", 0, first.clone()).await;
    assert_eq!((r.error_code, r.base_offset), (0, 0), "first batch");

    // The exact same batch again (a retry): same base offset, no error, not re-appended.
    let r = produce(&mut c, "idem", 0, first.clone()).await;
    assert_eq!((r.error_code, r.base_offset), (0, 0), "retry of the first batch");
    assert_eq!(list_offsets(&mut c, "idem", 0, -1).await.offset, 3, "log end after retry");
    assert_eq!(log_batches(&mut c, "idem").await, vec![0], "the log holds the batch once");

    // Next batch in sequence.
    let second = idempotent_batch(pid, 0, 3, 2);
    let r = produce(&mut c, "idem", 0, second.clone()).await;
    assert_eq!((r.error_code, r.base_offset), (0, 3), "second batch");

    // A retry of an older (still cached) batch answers with its original offset.
    let r = produce(&mut c, "idem", 0, first.clone()).await;
    assert_eq!((r.error_code, r.base_offset), (0, 0), "late retry of the first batch");
    let r = produce(&mut c, "idem", 0, second.clone()).await;
    assert_eq!((r.error_code, r.base_offset), (0, 3), "retry of the second batch");
    assert_eq!(list_offsets(&mut c, "idem", 0, -1).await.offset, 5);

    // A gap: expected 5, got 7.
    let r = produce(&mut c, "idem", 0, idempotent_batch(pid, 0, 7, 1)).await;
    assert_eq!(r.error_code, OUT_OF_ORDER_SEQUENCE_NUMBER, "sequence gap");
    assert_eq!(r.base_offset, -1);
    // Overlapping but not identical to a cached batch (seq 1..=2): also out of order.
    let r = produce(&mut c, "idem", 0, idempotent_batch(pid, 0, 1, 2)).await;
    assert_eq!(r.error_code, OUT_OF_ORDER_SEQUENCE_NUMBER, "overlapping sequence");
    assert_eq!(list_offsets(&mut c, "idem", 0, -1).await.offset, 5, "gaps append nothing");

    // A higher epoch starts over at sequence 0 ...
    let r = produce(&mut c, "idem", 0, idempotent_batch(pid, 1, 0, 2)).await;
    assert_eq!((r.error_code, r.base_offset), (0, 5), "epoch 1 seq 0");
    // ... a higher epoch that does not start at 0 is out of order ...
    let r = produce(&mut c, "idem", 0, idempotent_batch(pid, 2, 5, 1)).await;
    assert_eq!(r.error_code, OUT_OF_ORDER_SEQUENCE_NUMBER, "new epoch must start at 0");
    // ... and the old epoch is fenced.
    let r = produce(&mut c, "idem", 0, idempotent_batch(pid, 0, 5, 1)).await;
    assert_eq!(r.error_code, INVALID_PRODUCER_EPOCH, "zombie epoch 0");
    let r = produce(&mut c, "idem", 0, first.clone()).await;
    assert_eq!(r.error_code, INVALID_PRODUCER_EPOCH, "retry from the fenced epoch");
    assert_eq!(list_offsets(&mut c, "idem", 0, -1).await.offset, 7);
    assert_eq!(log_batches(&mut c, "idem").await, vec![0, 3, 5]);

    // Another producer id has its own sequence space.
    let (pid2, _) = init_producer_id(&mut c).await;
    assert_ne!(pid2, pid);
    let r = produce(&mut c, "idem", 0, idempotent_batch(pid2, 0, 0, 1)).await;
    assert_eq!((r.error_code, r.base_offset), (0, 7), "second producer");

    // --- graceful restart: producer state survives ---
    drop(c);
    b.restart().await;
    let mut c = b.client().await;
    let epoch1 = idempotent_batch(pid, 1, 0, 2);
    // Note: idempotent_batch stamps the current time; the broker matches on sequence numbers.
    let r = produce(&mut c, "idem", 0, epoch1).await;
    assert_eq!((r.error_code, r.base_offset), (0, 5), "retry of epoch 1 seq 0 after restart is a duplicate");
    let r = produce(&mut c, "idem", 0, idempotent_batch(pid2, 0, 0, 1)).await;
    assert_eq!((r.error_code, r.base_offset), (0, 7), "pid2 retry after restart");
    assert_eq!(list_offsets(&mut c, "idem", 0, -1).await.offset, 8, "no re-append");
    let r = produce(&mut c, "idem", 0, idempotent_batch(pid, 1, 9, 1)).await;
    assert_eq!(r.error_code, OUT_OF_ORDER_SEQUENCE_NUMBER, "gap after restart");
    let r = produce(&mut c, "idem", 0, idempotent_batch(pid, 0, 5, 1)).await;
    assert_eq!(r.error_code, INVALID_PRODUCER_EPOCH, "fenced epoch after restart");
    let r = produce(&mut c, "idem", 0, idempotent_batch(pid, 1, 2, 1)).await;
    assert_eq!((r.error_code, r.base_offset), (0, 8), "next in sequence after restart");
    assert_eq!(log_batches(&mut c, "idem").await, vec![0, 3, 5, 7, 8]);

    // A new InitProducerId after restart never hands out an id already used.
    let (pid3, _) = init_producer_id(&mut c).await;
    assert!(pid3 != pid && pid3 != pid2, "fresh pid after restart: {pid3}");
    b.stop().await;
}

/// Duplicates are detected per partition: the same sequence on another partition is new data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequences_are_per_partition() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "idem2", 2).await;
    let (pid, _) = init_producer_id(&mut c).await;
    let batch0 = idempotent_batch(pid, 0, 0, 1);
    for p in 0..2 {
        let r = produce(&mut c, "idem2", p, batch0.clone()).await;
        assert_eq!((r.error_code, r.base_offset), (0, 0), "partition {p}");
    }
    for p in 0..2 {
        assert_eq!(list_offsets(&mut c, "idem2", p, -1).await.offset, 1);
    }
    b.stop().await;
}

/// Producer state spread over many rolled segments (snapshots at each roll) is rebuilt at
/// restart: the last five batches are still recognised as duplicates; older retries are out
/// of order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedup_across_segments_and_restart() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "idem-seg", 1, &[("segment.bytes", "150")]).await;
    let (pid, _) = init_producer_id(&mut c).await;
    let mut batches = Vec::new();
    for i in 0..8 {
        let bt = idempotent_batch(pid, 0, i * 2, 2);
        let r = produce(&mut c, "idem-seg", 0, bt.clone()).await;
        assert_eq!((r.error_code, r.base_offset), (0, i as i64 * 2), "batch {i}");
        batches.push(bt);
    }
    let segments = std::fs::read_dir(b.path().join("idem-seg-0"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "log"))
        .count();
    assert!(segments >= 4, "only {segments} segments");
    for round in 0..2 {
        for (i, bt) in batches.iter().enumerate().skip(3) {
            let r = produce(&mut c, "idem-seg", 0, bt.clone()).await;
            assert_eq!((r.error_code, r.base_offset), (0, i as i64 * 2), "round {round}: retry of batch {i}");
        }
        let r = produce(&mut c, "idem-seg", 0, batches[0].clone()).await;
        assert_eq!(r.error_code, OUT_OF_ORDER_SEQUENCE_NUMBER, "round {round}: evicted retry");
        assert_eq!(list_offsets(&mut c, "idem-seg", 0, -1).await.offset, 16);
        if round == 0 {
            drop(c);
            b.restart().await;
            c = b.client().await;
        }
    }
    let r = produce(&mut c, "idem-seg", 0, idempotent_batch(pid, 0, 16, 1)).await;
    assert_eq!((r.error_code, r.base_offset), (0, 16));
    b.stop().await;
}
