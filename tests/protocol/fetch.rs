//! Fetch: long-poll wake-ups and timeouts, byte limits, out-of-range offsets.

use std::time::{Duration, Instant};

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::*;

use crate::common::*;

const OFFSET_OUT_OF_RANGE: i16 = 1;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_wakes_on_produce() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "lp", 1).await;
    produce_ok(&mut c, "lp", 0, batch(&[b"before"])).await;

    let addr = b.addr();
    let producer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut p = Client::connect(addr).await;
        produce_ok(&mut p, "lp", 0, batch(&[b"wake-up"])).await
    });
    let start = Instant::now();
    let mut req = fetch_request("lp", 0, 1, 5000);
    req.min_bytes = 1;
    let p = fetch_with(&mut c, req, FETCH_V).await;
    let elapsed = start.elapsed();
    assert_eq!(producer.await.unwrap(), 1, "the late produce lands at offset 1");
    assert_eq!(p.error_code, 0);
    assert!(elapsed >= Duration::from_millis(250), "fetch returned before the produce: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(2500), "fetch was not woken by the produce: {elapsed:?}");
    let recs = decode_records(&p.records);
    assert_eq!(recs.len(), 1, "exactly the new record");
    assert_eq!(recs[0].offset, 1);
    assert_eq!(recs[0].value.as_deref(), Some(&b"wake-up"[..]));
    assert_eq!(p.high_watermark, 2);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_without_data_waits_max_wait() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "idle", 1).await;
    produce_ok(&mut c, "idle", 0, batch(&[b"x"])).await;

    let start = Instant::now();
    let p = fetch_with(&mut c, fetch_request("idle", 0, 1, 500), FETCH_V).await;
    let elapsed = start.elapsed();
    assert_eq!(p.error_code, 0);
    assert!(
        elapsed >= Duration::from_millis(400) && elapsed <= Duration::from_secs(3),
        "empty long-poll took {elapsed:?}, expected about 500ms"
    );
    assert!(decode_records(&p.records).is_empty(), "no records");
    assert_eq!(p.high_watermark, 1);

    // max_wait_ms = 0 answers immediately.
    let start = Instant::now();
    let p = fetch_with(&mut c, fetch_request("idle", 0, 1, 0), FETCH_V).await;
    assert!(start.elapsed() < Duration::from_millis(300));
    assert!(decode_records(&p.records).is_empty());
    b.stop().await;
}

/// With min_bytes above what arrives, the fetch waits for max_wait and then returns what it
/// has (not an empty response).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_min_bytes_returns_partial_data_at_deadline() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "minb", 1).await;
    let addr = b.addr();
    let producer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let mut p = Client::connect(addr).await;
        produce_ok(&mut p, "minb", 0, batch(&[b"small"])).await
    });
    let mut req = fetch_request("minb", 0, 0, 800);
    req.min_bytes = 1 << 20;
    let start = Instant::now();
    let p = fetch_with(&mut c, req, FETCH_V).await;
    let elapsed = start.elapsed();
    producer.await.unwrap();
    assert!(
        elapsed >= Duration::from_millis(700) && elapsed <= Duration::from_secs(3),
        "min_bytes fetch took {elapsed:?}, expected about 800ms"
    );
    let recs = decode_records(&p.records);
    assert_eq!(recs.len(), 1, "data that arrived during the wait is returned");
    assert_eq!(recs[0].value.as_deref(), Some(&b"small"[..]));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_batch_is_returned_whole_even_if_over_limits() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "big", 2).await;
    let v = vec![b'v'; 1000];
    let first = batch(&[&v, &v, &v]);
    assert!(first.len() > 3000);
    produce_ok(&mut c, "big", 0, first.clone()).await;
    produce_ok(&mut c, "big", 0, batch(&[b"second"])).await;
    produce_ok(&mut c, "big", 1, batch(&[&v, &v])).await;

    // partition_max_bytes smaller than the first batch.
    let mut req = fetch_request("big", 0, 0, 0);
    req.topics[0].partitions[0].partition_max_bytes = 100;
    let p = fetch_with(&mut c, req, FETCH_V).await;
    assert_eq!(p.error_code, 0);
    let recs = p.records.clone().expect("records");
    assert!(recs.len() >= first.len(), "whole first batch: got {} bytes", recs.len());
    assert_eq!(batch_base_offsets(&p.records), vec![0]);
    let decoded = decode_records(&Some(recs.slice(0..first.len())));
    assert_eq!(decoded.len(), 3);
    assert!(decoded.iter().all(|r| r.value.as_deref() == Some(&v[..])));

    // Fetching from the middle of that batch still returns it whole.
    let mut req = fetch_request("big", 0, 2, 0);
    req.topics[0].partitions[0].partition_max_bytes = 1;
    let p = fetch_with(&mut c, req, FETCH_V).await;
    assert_eq!(batch_base_offsets(&p.records), vec![0]);

    // Request-level max_bytes smaller than the first batch (KIP-74): still the first batch of
    // the first partition; the second partition gets nothing (its batch does not fit).
    let req = FetchRequest::default().with_max_wait_ms(0).with_min_bytes(1).with_max_bytes(100).with_topics(vec![
        FetchTopic::default().with_topic(tn("big")).with_partitions(vec![
            FetchPartition::default().with_partition(0).with_fetch_offset(0).with_partition_max_bytes(1 << 20),
            FetchPartition::default().with_partition(1).with_fetch_offset(0).with_partition_max_bytes(1 << 20),
        ]),
    ]);
    let resp = c.call(&req, FETCH_V).await;
    assert_eq!(resp.error_code, 0);
    let parts = &resp.responses[0].partitions;
    assert_eq!(parts.len(), 2);
    assert_eq!(parts[0].error_code, 0);
    assert_eq!(batch_base_offsets(&parts[0].records), vec![0], "p0 first batch");
    assert_eq!(parts[1].error_code, 0);
    assert!(parts[1].records.as_ref().is_none_or(|r| r.is_empty()), "p1 gets no bytes once max_bytes is used up");
    assert_eq!(parts[1].high_watermark, 2);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_out_of_range() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "oor", 1).await;
    produce_ok(&mut c, "oor", 0, batch(&[b"a", b"b", b"c"])).await;

    for offset in [4i64, 100, i64::MAX, -5] {
        let p = fetch(&mut c, "oor", 0, offset).await;
        assert_eq!(p.error_code, OFFSET_OUT_OF_RANGE, "fetch at {offset}");
        assert_eq!(p.high_watermark, 3, "high watermark reported at {offset}");
        assert_eq!(p.log_start_offset, 0, "log start reported at {offset}");
        assert!(decode_records(&p.records).is_empty());
    }
    // Out of range ends a long-poll immediately rather than waiting.
    let start = Instant::now();
    let p = fetch_with(&mut c, fetch_request("oor", 0, 10, 3000), FETCH_V).await;
    assert_eq!(p.error_code, OFFSET_OUT_OF_RANGE);
    assert!(start.elapsed() < Duration::from_secs(1), "{:?}", start.elapsed());

    // Exactly at the high watermark is in range and empty.
    let p = fetch(&mut c, "oor", 0, 3).await;
    assert_eq!(p.error_code, 0);
    assert!(decode_records(&p.records).is_empty());
    assert_eq!(p.high_watermark, 3);
    b.stop().await;
}

/// Fetch sessions (KIP-227), as Kafka's FetchManager.newContext handles them: a "full" request
/// (epoch 0 = INITIAL or -1 = FINAL) is served whatever session id it names (the named
/// session is closed); an incremental request (epoch > 0) naming a session the broker does not
/// have gets FETCH_SESSION_ID_NOT_FOUND (70), including session id 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_session_semantics() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "sess", 1).await;
    produce_ok(&mut c, "sess", 0, batch(&[b"s"])).await;
    let mut got = Vec::new();
    for (session_id, epoch) in [(0, -1), (0, 0), (1234, -1), (1234, 0), (1234, 5), (0, 3)] {
        let mut req = fetch_request("sess", 0, 0, 0);
        req.session_id = session_id;
        req.session_epoch = epoch;
        let resp = c.call(&req, FETCH_V).await;
        let records = resp
            .responses
            .first()
            .and_then(|t| t.partitions.first())
            .map(|p| decode_records(&p.records).len())
            .unwrap_or(0);
        got.push(((session_id, epoch), resp.error_code, records));
    }
    assert_eq!(
        got,
        vec![
            ((0, -1), 0, 1),
            ((0, 0), 0, 1),
            ((1234, -1), 0, 1),
            ((1234, 0), 0, 1),
            ((1234, 5), 70, 0),
            ((0, 3), 70, 0),
        ],
        "((session id, epoch), error, records)"
    );
    b.stop().await;
}

/// Many tiny segments: every offset is fetchable, from any starting offset, and after restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_across_many_segments() {
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "segs", 1, &[("segment.bytes", "300")]).await;
    let mut expected = Vec::new();
    for i in 0..30 {
        let vals: Vec<String> = (0..(i % 3 + 1)).map(|j| format!("m{i}-{j}")).collect();
        let refs: Vec<&[u8]> = vals.iter().map(|v| v.as_bytes()).collect();
        produce_ok(&mut c, "segs", 0, batch(&refs)).await;
        expected.extend(vals);
    }
    let n = expected.len() as i64;
    let logs = std::fs::read_dir(b.path().join("segs-0"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "log"))
        .count();
    assert!(logs >= 5, "only {logs} segments");
    for round in 0..2 {
        for start in [0i64, 1, 7, n / 2, n - 1] {
            let recs = fetch_all(&mut c, "segs", 0, start).await;
            let values: Vec<String> =
                recs.iter().map(|r| String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap()).collect();
            assert_eq!(values, expected[start as usize..].to_vec(), "round {round} from {start}");
            let offsets: Vec<i64> = recs.iter().map(|r| r.offset).collect();
            assert_eq!(offsets, (start..n).collect::<Vec<_>>());
        }
        if round == 0 {
            drop(c);
            b.restart().await;
            c = b.client().await;
        }
    }
    b.stop().await;
}

/// A batch close to message.max.bytes makes the round trip intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_batch_round_trip() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "large", 1).await;
    let value: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    produce_ok(&mut c, "large", 0, batch(&[&value])).await;
    let recs = fetch_all(&mut c, "large", 0, 0).await;
    assert_eq!(recs.len(), 1);
    assert!(recs[0].value.as_deref() == Some(&value[..]), "value intact");
    // Over the broker default (1048588): MESSAGE_TOO_LARGE.
    let too_big = vec![7u8; 1_100_000];
    assert_eq!(produce(&mut c, "large", 0, batch(&[&too_big])).await.error_code, 10);
    b.stop().await;
}

/// LogAppendTime topics: the broker stamps the batch; the produce response reports the time,
/// fetched records carry it, and CreateTime topics report -1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_append_time_topics() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "lat", 1, &[("message.timestamp.type", "LogAppendTime")]).await;
    create_topic(&mut c, "ct", 1).await;
    let before = now_ms();
    let vals: [(&[u8], i64); 2] = [(b"x", 1000), (b"y", 1001)];
    let r = produce(&mut c, "lat", 0, batch_full(&vals, NO_PRODUCER, kafka_protocol::records::Compression::None)).await;
    let after = now_ms();
    assert_eq!(r.error_code, 0);
    assert!(
        r.log_append_time_ms >= before && r.log_append_time_ms <= after,
        "log_append_time_ms {} not in [{before}, {after}]",
        r.log_append_time_ms
    );
    let recs = fetch_all(&mut c, "lat", 0, 0).await;
    assert_eq!(recs.len(), 2);
    for rec in &recs {
        assert_eq!(rec.timestamp_type, kafka_protocol::records::TimestampType::LogAppend);
    }
    // Record timestamps of a LogAppendTime batch are the batch's maxTimestamp (the
    // kafka-protocol decoder does not apply that rule itself, so check the header).
    let p = fetch(&mut c, "lat", 0, 0).await;
    let raw = p.records.expect("records");
    let attrs = i16::from_be_bytes([raw[21], raw[22]]);
    assert_ne!(attrs & 0x08, 0, "timestamp type bit set");
    let max_ts = i64::from_be_bytes(raw[35..43].try_into().unwrap());
    assert_eq!(max_ts, r.log_append_time_ms, "batch maxTimestamp is the append time");
    // Timestamp lookups use the append time.
    let lo = list_offsets(&mut c, "lat", 0, 1000).await;
    assert_eq!((lo.offset, lo.timestamp), (0, r.log_append_time_ms));

    let r = produce(&mut c, "ct", 0, batch_full(&vals, NO_PRODUCER, kafka_protocol::records::Compression::None)).await;
    assert_eq!((r.error_code, r.log_append_time_ms), (0, -1));
    let recs = fetch_all(&mut c, "ct", 0, 0).await;
    assert_eq!(recs.iter().map(|r| r.timestamp).collect::<Vec<_>>(), vec![1000, 1001]);
    b.stop().await;
}

/// KIP-74: a fetch whose `max_bytes` (and partition limit) is 0 still returns the first
/// batch whole, so a consumer always progresses (review finding: the response budget made a
/// zero limit return nothing, forever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_max_bytes_fetch_still_returns_the_first_batch() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "zero", 1).await;
    produce_ok(&mut c, "zero", 0, batch(&[b"first"])).await;
    produce_ok(&mut c, "zero", 0, batch(&[b"second"])).await;
    let mut req = fetch_request("zero", 0, 0, 0);
    req.max_bytes = 0;
    req.topics[0].partitions[0].partition_max_bytes = 0;
    let p = fetch_with(&mut c, req, 12).await;
    let got = decode_records(&p.records);
    assert_eq!(got.len(), 1, "exactly the first batch");
    assert_eq!(got[0].value.as_deref(), Some(&b"first"[..]));
}
