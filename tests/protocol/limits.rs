//! Hostile clients: connection limits (broker-wide and per address), idle expiry, bounded
//! response memory for a client that pipelines fetches and never reads, thousands of idle
//! connections beside an honest client, and graceful shutdown with produces in flight.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;

/// These tests count connections and file descriptors and measure memory: one at a time. The
/// two that measure the process's RSS also run in a process of their own (`rerun_alone`), away
/// from the other tests of this binary.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Sends ApiVersions on `c`: true if answered, false if the broker closed the connection.
async fn answered(c: &mut Client) -> bool {
    let frame = encode_request(&ApiVersionsRequest::default(), 0, 1);
    if c.send_raw(&frame).await.is_err() {
        return false; // reset before we could even write
    }
    match c.read_frame_within(Duration::from_secs(5)).await {
        Ok(Some(_)) => true,
        Ok(None) => false,
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => panic!("neither answered nor closed within 5 s"),
        Err(_) => false, // reset
    }
}

/// A new connection that is served, retrying while the broker has not yet noticed a close.
async fn served_connection(b: &TestBroker) -> Client {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut c = b.client().await;
        if answered(&mut c).await {
            return c;
        }
        assert!(Instant::now() < deadline, "no connection served within 5 s of one closing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_for_open(b: &TestBroker, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let h = b.handle.as_ref().expect("running");
    while h.open_connections() != n {
        assert!(Instant::now() < deadline, "{} connections open, expected {n}", h.open_connections());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Fills `limit` connections, checks the next is closed unanswered, frees one and checks a new
/// one is served (and the one after that refused again).
async fn check_connection_cap(b: &TestBroker, limit: usize) {
    let mut held = Vec::new();
    for i in 0..limit {
        let mut c = b.client().await;
        assert!(answered(&mut c).await, "connection {i} of {limit} is served");
        held.push(c);
    }
    let mut extra = b.client().await;
    assert!(!answered(&mut extra).await, "connection {} is closed without an answer", limit + 1);
    wait_for_open(b, limit).await;
    drop(held.pop());
    held.push(served_connection(b).await);
    let mut extra = b.client().await;
    assert!(!answered(&mut extra).await, "back at the limit: closed again");
    drop(held);
    wait_for_open(b, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_per_ip_closes_the_extra_connection() {
    let _one = SERIAL.lock().await;
    let b = TestBroker::start_with(|c| c.max_connections_per_ip = 3).await;
    check_connection_cap(&b, 3).await;
    b.stop().await;
    // An override for 127.0.0.1 raises its limit.
    let b = TestBroker::start_with(|c| {
        c.max_connections_per_ip = 3;
        c.max_connections_per_ip_overrides = brook::server::limits::parse_overrides("127.0.0.1:5").unwrap();
    })
    .await;
    check_connection_cap(&b, 5).await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_closes_the_extra_connection() {
    let _one = SERIAL.lock().await;
    let b = TestBroker::start_with(|c| c.max_connections = 3).await;
    check_connection_cap(&b, 3).await;
    b.stop().await;
}

/// connections.max.idle.ms=300: a connection that sends nothing is closed by the broker soon
/// after; one sending a request every 100 ms stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_active_ones_are_not() {
    let _one = SERIAL.lock().await;
    let b = TestBroker::start_with(|c| c.connections_max_idle = Some(Duration::from_millis(300))).await;
    let mut idle = b.client().await;
    assert!(answered(&mut idle).await);
    let since = Instant::now();
    let idle_closed = tokio::spawn(async move {
        let mut buf = [0u8; 16];
        let r = tokio::time::timeout(Duration::from_secs(3), idle.stream.read(&mut buf)).await;
        assert!(matches!(r, Ok(Ok(0)) | Ok(Err(_))), "idle connection still open after 3 s: {r:?}");
        since.elapsed()
    });
    let mut active = b.client().await;
    for i in 0..12 {
        assert!(answered(&mut active).await, "active connection answered at request {i}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = idle_closed.await.unwrap();
    assert!(after >= Duration::from_millis(250), "closed after {after:?}, before it was idle for 300 ms");
    drop(active);
    b.stop().await;
}

fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS line");
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("VmRSS value")
}

fn big_fetch(topic: &str) -> FetchRequest {
    FetchRequest::default().with_max_wait_ms(0).with_min_bytes(1).with_max_bytes(50 << 20).with_topics(vec![
        FetchTopic::default().with_topic(tn(topic)).with_partitions(vec![FetchPartition::default()
            .with_partition(0)
            .with_fetch_offset(0)
            .with_partition_max_bytes(50 << 20)]),
    ])
}

/// Writes `topic` full of `n` batches of one 512 KiB record each.
async fn fill(c: &mut Client, topic: &str, n: usize) {
    create_topic(c, topic, 1).await;
    let value = vec![b'x'; 512 * 1024];
    for _ in 0..n {
        produce_ok(c, topic, 0, batch(&[&value])).await;
    }
}

/// A client pipelines hundreds of fetches of a 4 MiB partition (each asking for 50 MiB) and
/// never reads. Before response budgets the broker held one 4 MiB response per request in
/// flight (64 of them, 256 MiB); now it stops reading that client once a few MiB are queued
/// for it, keeps serving others promptly, and its memory stays within 32 MiB of where it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_pins_bounded_memory() {
    if rerun_alone(module_path!(), "a_client_that_never_reads_pins_bounded_memory").await {
        return;
    }
    let _one = SERIAL.lock().await;
    let b = TestBroker::start().await;
    let mut honest = b.client().await;
    fill(&mut honest, "big", 8).await;
    // Warm up the allocator with one full-size response, read normally.
    let warm = fetch_with(&mut honest, big_fetch("big"), FETCH_V).await;
    assert!(warm.records.as_ref().map_or(0, Bytes::len) >= 4 << 20, "4 MiB fetched");
    drop(warm);
    let before = vm_rss_kib();

    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_send_buffer_size(64 * 1024).unwrap();
    sock.set_recv_buffer_size(64 * 1024).unwrap();
    let mut hostile = sock.connect(b.addr()).await.unwrap();
    let request = encode_request(&big_fetch("big"), FETCH_V, 7);
    let mut sent = 0;
    // Bounded: the broker stops reading, the socket buffers fill and a write blocks.
    while sent < 100_000 {
        match tokio::time::timeout(Duration::from_millis(500), hostile.write_all(&request)).await {
            Ok(r) => r.unwrap(),
            Err(_) => break,
        }
        sent += 1;
    }
    assert!(sent < 100_000, "the broker kept reading {sent} pipelined fetches of a client that never reads");
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Another client is served promptly meanwhile.
    let started = Instant::now();
    let offset = produce_ok(&mut honest, "big", 0, batch(&[b"still here"])).await;
    let got = fetch(&mut honest, "big", 0, offset).await;
    assert_eq!(decode_records(&got.records).last().and_then(|r| r.value.clone()).as_deref(), Some(&b"still here"[..]));
    assert!(started.elapsed() < Duration::from_secs(2), "honest client took {:?}", started.elapsed());

    let grown_mib = vm_rss_kib().saturating_sub(before) / 1024;
    eprintln!("RSS grew {grown_mib} MiB; {sent} fetches written before the broker stopped reading");
    assert!(grown_mib <= 32, "RSS grew {grown_mib} MiB with {sent} unread 4 MiB fetches queued");
    drop(hostile);
    b.stop().await;
}

/// fetch.max.bytes bounds a response whatever the request asks (here 1 MiB of a 4 MiB
/// partition for a request allowing 50 MiB), as on Kafka.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_max_bytes_bounds_a_response() {
    let _one = SERIAL.lock().await;
    let b = TestBroker::start_with(|c| c.fetch_max_bytes = 1 << 20).await;
    let mut c = b.client().await;
    fill(&mut c, "capped", 8).await;
    let p = fetch_with(&mut c, big_fetch("capped"), FETCH_V).await;
    let got = p.records.as_ref().map_or(0, Bytes::len);
    assert!(got > 0 && got <= 1 << 20, "{got} bytes fetched with fetch.max.bytes=1 MiB");
    b.stop().await;
}

/// 2,000 connections opened at once and left idle: all are counted and kept, an honest client
/// produces and fetches as usual beside them, and closing them gives every slot back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_idle_connections_beside_an_honest_client() {
    if rerun_alone(module_path!(), "two_thousand_idle_connections_beside_an_honest_client").await {
        return;
    }
    let _one = SERIAL.lock().await;
    // Both ends of each connection are in this process, plus the broker's files.
    let limit = raise_nofile(8192);
    let n = 2000.min((limit as usize).saturating_sub(200) / 2);
    assert!(n >= 1000, "open-files limit {limit} too low for this test");
    let b = TestBroker::start().await;
    let addr = b.addr();
    let before = vm_rss_kib();
    let mut idle = Vec::with_capacity(n);
    // At once, in waves of 250: a wave waits until the broker has accepted the one before, so
    // the listen backlog (socket.listen.backlog.size, 1024) never overflows (the overflow is
    // completed only by the kernel's SYN-ACK retries, seconds later) even on a loaded machine.
    for wave in 0..n.div_ceil(250) {
        let count = 250.min(n - wave * 250);
        let conns = futures::future::join_all((0..count).map(|_| Client::connect(addr))).await;
        idle.extend(conns);
        wait_for_open(&b, idle.len()).await;
    }
    // Both ends of each connection are in this process.
    let per_conn_kib = vm_rss_kib().saturating_sub(before) / n as u64;
    eprintln!("{per_conn_kib} KiB RSS per idle connection (both ends)");
    assert!(per_conn_kib <= 64, "{per_conn_kib} KiB RSS per idle connection");
    let mut honest = b.client().await;
    create_topic(&mut honest, "busy", 1).await;
    let started = Instant::now();
    for i in 0..50 {
        let t = Instant::now();
        let value = format!("v{i}");
        let offset = produce_ok(&mut honest, "busy", 0, batch(&[value.as_bytes()])).await;
        let got = fetch(&mut honest, "busy", 0, offset).await;
        assert_eq!(decode_records(&got.records)[0].value.as_deref(), Some(value.as_bytes()));
        assert!(t.elapsed() < Duration::from_secs(1), "round trip {i} took {:?}", t.elapsed());
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    // The idle ones are still served.
    for c in idle.iter_mut().step_by(n / 20) {
        assert!(answered(c).await, "an idle connection is still open and served");
    }
    drop(idle);
    wait_for_open(&b, 1).await;
    drop(honest);
    b.stop().await;
}

/// Shutdown while a producer pipelines acks=all produces: shutdown completes within its
/// bound, the producer's connection ends (each produce answered or cut off, never answered by
/// a closed log), the next start finds a clean shutdown, and every acknowledged record is
/// there. Before, shutdown left connection tasks running on the closed logs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_with_produces_in_flight() {
    let _one = SERIAL.lock().await;
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "inflight", 1).await;
    drop(c);
    let addr = b.addr();
    let producer = Client::connect(addr).await;
    let (mut rd, mut wr) = producer.stream.into_split();
    let writer = tokio::spawn(async move {
        for i in 0..5000i32 {
            let value = format!("r{i}");
            let req = produce_request("inflight", 0, batch(&[value.as_bytes()]), -1);
            if wr.write_all(&encode_request(&req, PRODUCE_V, i)).await.is_err() {
                return;
            }
        }
    });
    let (first_acks, all_acked) = tokio::sync::oneshot::channel();
    let reader = tokio::spawn(async move {
        let mut acked: HashMap<i64, String> = HashMap::new();
        let mut first_acks = Some(first_acks);
        loop {
            let mut len = [0u8; 4];
            let read = tokio::time::timeout(Duration::from_secs(10), rd.read_exact(&mut len)).await;
            match read {
                Err(_) => panic!("connection neither answered nor closed for 10 s after shutdown began"),
                Ok(Err(_)) => return acked, // EOF or reset: the broker closed the connection
                Ok(Ok(_)) => {}
            }
            let mut buf = vec![0u8; i32::from_be_bytes(len) as usize];
            if rd.read_exact(&mut buf).await.is_err() {
                return acked; // closed mid-response
            }
            let (cid, resp) = decode_response::<ProduceRequest>(Bytes::from(buf), PRODUCE_V);
            let p = &resp.responses[0].partition_responses[0];
            assert_eq!(p.error_code, 0, "produce {cid} failed: {:?}", p.error_message);
            acked.insert(p.base_offset, format!("r{cid}"));
            if acked.len() == 20 {
                let _ = first_acks.take().map(|tx| tx.send(()));
            }
        }
    });
    all_acked.await.expect("20 produces acknowledged before shutdown");
    let started = Instant::now();
    b.handle.take().expect("running").shutdown().await.expect("graceful shutdown");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "shutdown took {took:?}");
    let acked = reader.await.unwrap();
    writer.abort();
    assert!(acked.len() >= 20);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no longer accepting");

    b.start_again(|_| {}).await;
    let report = &b.handle.as_ref().unwrap().load_report;
    assert!(report.clean_shutdown, "the next start finds a clean shutdown");
    // Everything was flushed and checkpointed: the start validates no log tail at all.
    assert_eq!((report.recovery.validated_bytes, report.recovery.truncated_bytes), (0, 0), "tail validation skipped");
    let mut c = b.client().await;
    let stored: HashMap<i64, Bytes> =
        fetch_all(&mut c, "inflight", 0, 0).await.into_iter().map(|r| (r.offset, r.value.unwrap())).collect();
    for (offset, value) in &acked {
        assert_eq!(stored.get(offset).map(|v| v.as_ref()), Some(value.as_bytes()), "acknowledged record at {offset}");
    }
    b.stop().await;
}

/// Shutdown does not wait for answers that wait on others: a 30 s long-poll (and a produce
/// pipelined behind it) does not hold it up; the connection is closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_does_not_wait_for_a_long_poll() {
    let _one = SERIAL.lock().await;
    let mut b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "quiet", 1).await;
    c.send(&fetch_request("quiet", 0, 0, 30_000), FETCH_V).await;
    c.send(&ApiVersionsRequest::default(), 0).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    b.handle.take().expect("running").shutdown().await.expect("graceful shutdown");
    assert!(started.elapsed() < Duration::from_secs(2), "shutdown took {:?}", started.elapsed());
    c.expect_closed().await;
}

/// `max.connections` set dynamically (IncrementalAlterConfigs on the cluster default) caps
/// new connections at once; deleting it lifts the cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_connections_follows_a_dynamic_config() {
    let _one = SERIAL.lock().await;
    let b = TestBroker::start().await;
    let mut admin = b.client().await;
    let cap = [("max.connections", OP_SET, Some("3"))];
    assert_eq!(alter_incremental(&mut admin, RESOURCE_BROKER, "", &cap, false).await, (0, None));
    drop(admin);
    wait_for_open(&b, 0).await;
    check_connection_cap(&b, 3).await;
    let mut admin = served_connection(&b).await;
    let lift = [("max.connections", OP_DELETE, None)];
    assert_eq!(alter_incremental(&mut admin, RESOURCE_BROKER, "", &lift, false).await, (0, None));
    let mut held = Vec::new();
    for i in 0..5 {
        let mut c = b.client().await;
        assert!(answered(&mut c).await, "connection {i} served once the cap is gone");
        held.push(c);
    }
    drop((held, admin));
    b.stop().await;
}
