//! Connection-level behaviour: malformed frames close only their connection, acks=0 sends
//! no response, and pipelined requests are answered in order.

use std::time::Duration;

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::*;
use tokio::io::AsyncWriteExt;

use crate::common::*;

/// A fresh connection's ApiVersions succeeds (the broker is still serving).
async fn broker_still_serves(b: &TestBroker) {
    let mut c = b.client().await;
    let r = c.call(&ApiVersionsRequest::default(), 0).await;
    assert_eq!(r.error_code, 0, "ApiVersions on a new connection");
    assert!(!r.api_keys.is_empty());
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut f = (body.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(body);
    f
}

/// Request header v1 bytes: key, version, correlation id, client id "t".
fn header_v1(key: i16, version: i16, cid: i32) -> BytesMut {
    let mut h = BytesMut::new();
    h.put_i16(key);
    h.put_i16(version);
    h.put_i32(cid);
    h.put_i16(1);
    h.put_u8(b't');
    h
}

/// Request header v2 (flexible): v1 plus an empty tagged-field section.
fn header_v2(key: i16, version: i16, cid: i32) -> BytesMut {
    let mut h = header_v1(key, version, cid);
    h.put_u8(0);
    h
}

/// Sends `bytes` on a fresh connection, asserts that connection gets closed without a
/// response, then that a new connection still works.
async fn assert_closes(b: &TestBroker, what: &str, bytes: &[u8]) {
    let mut c = b.client().await;
    // Prove the connection works first, so the close is caused by `bytes`.
    let r = c.call(&ApiVersionsRequest::default(), 1).await;
    assert_eq!(r.error_code, 0, "{what}: connection works before the bad frame");
    // The broker may close while we are still writing: a write error is acceptable.
    let _ = c.send_raw(bytes).await;
    c.expect_closed().await;
    broker_still_serves(b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_api_key_closes_connection() {
    let b = TestBroker::start().await;
    assert_closes(&b, "api key 9999", &frame(&header_v1(9999, 0, 5))).await;
    // A known-to-Kafka key Brook does not serve (OffsetCommit = 8) is closed the same way.
    assert_closes(&b, "api key 8", &frame(&header_v1(8, 0, 6))).await;
    assert_closes(&b, "api key -1", &frame(&header_v1(-1, 0, 7))).await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_frames_close_connection() {
    let b = TestBroker::start().await;
    // Pure garbage after a valid length.
    let garbage: Vec<u8> = (0u8..40).map(|i| i.wrapping_mul(97).wrapping_add(0xd3)).collect();
    assert_closes(&b, "garbage body", &frame(&garbage)).await;
    // A known API whose body is garbage: Metadata v1 with a topic name claiming 30000 bytes.
    let mut body = header_v1(3, 1, 9);
    body.put_i32(1); // one topic
    body.put_i16(30000); // name length
    body.extend_from_slice(b"abc");
    assert_closes(&b, "metadata garbage body", &frame(&body)).await;
    // A frame too short to hold a request header.
    assert_closes(&b, "3-byte frame", &frame(&[0, 18, 0])).await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_length_prefixes_close_connection() {
    let b = TestBroker::start().await;
    let max = BrokerConfig::for_tests(b.path()).socket_request_max_bytes;
    assert_eq!(max, 104_857_600);
    // Over socket.request.max.bytes: rejected on the length alone (we send no body).
    assert_closes(&b, "oversized length", &(max + 1).to_be_bytes()).await;
    assert_closes(&b, "i32::MAX length", &i32::MAX.to_be_bytes()).await;
    assert_closes(&b, "negative length", &(-1i32).to_be_bytes()).await;
    assert_closes(&b, "i32::MIN length", &i32::MIN.to_be_bytes()).await;
    assert_closes(&b, "zero length", &0i32.to_be_bytes()).await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_socket_request_max_bytes_is_enforced() {
    let b = TestBroker::start_with(|c| c.socket_request_max_bytes = 4096).await;
    let mut c = b.client().await;
    // Under the limit: served.
    let md = metadata(&mut c, Some(&["x".repeat(200).as_str()]), false, METADATA_V).await;
    assert_eq!(md.topics[0].error_code, 3);
    // Over the limit: a real (well-formed) 5000-byte produce closes the connection.
    let req = produce_request("t", 0, batch(&[&[b'a'; 5000]]), 1);
    let bytes = encode_request(&req, PRODUCE_V, 99);
    assert!(bytes.len() > 4096);
    let _ = c.send_raw(&bytes).await;
    c.expect_closed().await;
    broker_still_serves(&b).await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_frame_then_close() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let full = encode_request(&ApiVersionsRequest::default(), 0, 1);
    // Length says the whole request, but only half the bytes arrive before we close.
    c.send_raw(&full[..full.len() / 2]).await.unwrap();
    c.stream.shutdown().await.unwrap(); // half-close: the broker sees EOF mid-frame
    c.expect_closed().await;
    // Truncated inside the length prefix itself.
    let mut c = b.client().await;
    c.send_raw(&[0, 0]).await.unwrap();
    c.stream.shutdown().await.unwrap();
    c.expect_closed().await;
    broker_still_serves(&b).await;
    b.stop().await;
}

/// Array length prefixes claiming i32::MAX elements (in tiny frames) must not make the broker
/// allocate for them (that would abort this whole test process).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_array_length_prefix_does_not_crash() {
    let b = TestBroker::start().await;
    // Metadata v1: topics array of 2^31-1 entries.
    let mut body = header_v1(3, 1, 1);
    body.put_i32(i32::MAX);
    assert_closes(&b, "metadata v1 array", &frame(&body)).await;
    // Produce v3: transactional id null, acks, timeout, topic_data of 2^31-1.
    let mut body = header_v1(0, 3, 2);
    body.put_i16(-1);
    body.put_i16(1);
    body.put_i32(1000);
    body.put_i32(i32::MAX);
    assert_closes(&b, "produce v3 array", &frame(&body)).await;
    // CreateTopics v2: topics array of 2^31-1.
    let mut body = header_v1(19, 2, 3);
    body.put_i32(i32::MAX);
    assert_closes(&b, "create topics v2 array", &frame(&body)).await;
    // Metadata v12 (flexible): compact array length varint 0xFFFFFFFF (2^32-2 entries).
    let mut body = header_v2(3, 12, 4);
    body.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert_closes(&b, "metadata v12 compact array", &frame(&body)).await;
    // Fetch v4: a topic whose partitions array claims 2^31-1 entries.
    let mut body = header_v1(1, 4, 5);
    body.put_i32(-1); // replica id
    body.put_i32(0); // max wait
    body.put_i32(1); // min bytes
    body.put_i32(1 << 20); // max bytes
    body.put_i8(0); // isolation
    body.put_i32(1); // one topic
    body.put_i16(1);
    body.put_u8(b'x');
    body.put_i32(i32::MAX); // partitions
    assert_closes(&b, "fetch v4 nested array", &frame(&body)).await;
    broker_still_serves(&b).await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_zero_sends_no_response() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "fire", 1).await;
    let produce_cid = c.send(&produce_request("fire", 0, batch(&[b"no-ack-1", b"no-ack-2"]), 0), PRODUCE_V).await;
    let md_req = MetadataRequest::default().with_topics(None);
    let md_cid = c.send(&md_req, METADATA_V).await;
    assert_ne!(produce_cid, md_cid);
    let (got, md) = c.recv::<MetadataRequest>(METADATA_V).await;
    assert_eq!(got, md_cid, "the first response is the Metadata one");
    assert_eq!(md.topics.iter().filter(|t| !t.is_internal).count(), 1);
    // No stray produce response follows.
    let extra = c.read_frame_within(Duration::from_millis(300)).await;
    assert!(
        matches!(&extra, Err(e) if e.kind() == std::io::ErrorKind::TimedOut),
        "no further frame expected, got {extra:?}"
    );

    // The acks=0 data becomes readable (Kafka: immediately; allow a short grace period).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let values = loop {
        let recs = fetch_all(&mut c, "fire", 0, 0).await;
        if recs.len() >= 2 || tokio::time::Instant::now() >= deadline {
            break recs.iter().map(|r| r.value.clone().unwrap().to_vec()).collect::<Vec<_>>();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(values, vec![b"no-ack-1".to_vec(), b"no-ack-2".to_vec()]);
    assert_eq!(list_offsets(&mut c, "fire", 0, -1).await.offset, 2);
    b.stop().await;
}

/// acks=0 errors are silent too: a bad acks=0 produce yields no response.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_zero_error_sends_no_response() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    c.send(&produce_request("missing", 0, batch(&[b"x"]), 0), PRODUCE_V).await;
    let cid = c.send(&ApiVersionsRequest::default(), 0).await;
    let (got, r) = c.recv::<ApiVersionsRequest>(0).await;
    assert_eq!(got, cid);
    assert_eq!(r.error_code, 0);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "pipe", 1).await;

    // 10 requests written back to back before reading anything.
    #[derive(Clone, Copy, Debug)]
    enum Kind {
        Versions,
        Meta,
        Produce,
    }
    let kinds = [
        Kind::Produce,
        Kind::Versions,
        Kind::Meta,
        Kind::Produce,
        Kind::Produce,
        Kind::Meta,
        Kind::Versions,
        Kind::Produce,
        Kind::Meta,
        Kind::Produce,
    ];
    let mut all = BytesMut::new();
    let mut sent = Vec::new();
    let mut n_produce = 0;
    for (i, k) in kinds.iter().enumerate() {
        let cid = 1000 + i as i32 * 7;
        let f = match k {
            Kind::Versions => encode_request(&ApiVersionsRequest::default(), 2, cid),
            Kind::Meta => encode_request(&MetadataRequest::default().with_topics(None), METADATA_V, cid),
            Kind::Produce => {
                n_produce += 1;
                let v = format!("p{n_produce}");
                encode_request(&produce_request("pipe", 0, batch(&[v.as_bytes()]), -1), PRODUCE_V, cid)
            }
        };
        all.extend_from_slice(&f);
        sent.push((cid, *k));
    }
    c.send_raw(&all).await.unwrap();

    let mut expected_offset = 0;
    for (cid, k) in &sent {
        let f = c.read_frame().await.unwrap().expect("a response");
        assert_eq!(frame_correlation_id(&f), *cid, "response order ({k:?})");
        match k {
            Kind::Versions => {
                let (_, r) = decode_response::<ApiVersionsRequest>(f, 2);
                assert_eq!(r.error_code, 0);
            }
            Kind::Meta => {
                let (_, r) = decode_response::<MetadataRequest>(f, METADATA_V);
                assert_eq!(r.topics.iter().filter(|t| !t.is_internal).count(), 1);
            }
            Kind::Produce => {
                let (_, r) = decode_response::<ProduceRequest>(f, PRODUCE_V);
                let p = &r.responses[0].partition_responses[0];
                assert_eq!(p.error_code, 0);
                assert_eq!(p.base_offset, expected_offset, "appends keep request order");
                expected_offset += 1;
            }
        }
    }
    let recs = fetch_all(&mut c, "pipe", 0, 0).await;
    let values: Vec<Vec<u8>> = recs.iter().map(|r| r.value.clone().unwrap().to_vec()).collect();
    let want: Vec<Vec<u8>> = (1..=n_produce).map(|i| format!("p{i}").into_bytes()).collect();
    assert_eq!(values, want);
    b.stop().await;
}

/// A slow (long-poll) request does not let later responses overtake it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_poll_response_is_not_overtaken() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "slow", 1).await;
    let fetch_cid = c.send(&fetch_request("slow", 0, 0, 400), FETCH_V).await;
    let av_cid = c.send(&ApiVersionsRequest::default(), 0).await;
    let f1 = c.read_frame().await.unwrap().unwrap();
    let f2 = c.read_frame().await.unwrap().unwrap();
    assert_eq!((frame_correlation_id(&f1), frame_correlation_id(&f2)), (fetch_cid, av_cid));
    b.stop().await;
}

/// Far more requests in flight than the broker's internal queue (64), written by one task while
/// another reads: every response arrives, in order, including interleaved long-polls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_in_flight_stay_ordered() {
    use tokio::io::AsyncReadExt;
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "many", 1).await;
    let (mut rd, mut wr) = c.stream.into_split();
    const N: i32 = 400;
    let writer = tokio::spawn(async move {
        let mut produced = 0;
        for i in 0..N {
            let f = match i % 5 {
                0 | 1 => encode_request(&ApiVersionsRequest::default(), 1, i),
                2 => encode_request(&fetch_request("many", 0, 1_000_000, 30), FETCH_V, i),
                3 => {
                    produced += 1;
                    encode_request(&produce_request("many", 0, batch(&[b"m"]), 1), PRODUCE_V, i)
                }
                _ => encode_request(&MetadataRequest::default().with_topics(None), 4, i),
            };
            wr.write_all(&f).await.unwrap();
        }
        wr.flush().await.unwrap();
        (wr, produced)
    });
    let reader = tokio::spawn(async move {
        let mut order = Vec::new();
        for _ in 0..N {
            let mut len = [0u8; 4];
            rd.read_exact(&mut len).await.unwrap();
            let mut buf = vec![0u8; i32::from_be_bytes(len) as usize];
            rd.read_exact(&mut buf).await.unwrap();
            order.push(i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]));
        }
        order
    });
    let order = tokio::time::timeout(Duration::from_secs(20), reader).await.expect("all responses within 20s").unwrap();
    let (_wr, produced) = writer.await.unwrap();
    assert_eq!(order, (0..N).collect::<Vec<_>>());
    let mut c2 = b.client().await;
    assert_eq!(list_offsets(&mut c2, "many", 0, -1).await.offset, produced);
    b.stop().await;
}

/// A client that disconnects while its long-poll waits does not disturb the broker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_during_long_poll() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "gone-away", 1).await;
    for _ in 0..5 {
        let mut lp = b.client().await;
        lp.send(&fetch_request("gone-away", 0, 0, 5000), FETCH_V).await;
        drop(lp);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    // The woken fetches find their connections gone; produce and fetch still work.
    assert_eq!(produce_ok(&mut c, "gone-away", 0, batch(&[b"x"])).await, 0);
    let p = fetch(&mut c, "gone-away", 0, 0).await;
    assert_eq!(decode_records(&p.records).len(), 1);
    broker_still_serves(&b).await;
    let start = std::time::Instant::now();
    b.stop().await;
    assert!(start.elapsed() < Duration::from_secs(3), "shutdown took {:?}", start.elapsed());
}
