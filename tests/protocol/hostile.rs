//! Hostile clients: a catalogue of lying batches and frames sent to a broker running as its own
//! process (so its peak memory can be read from /proc). After each one the broker must still
//! answer, still serve an honest client, and have stayed within the memory bound the README
//! states. Each batch class here was accepted before produce validated records (issue 11): a
//! batch claiming 2^31-1 records moved the log end by 2^31-1 and a later timestamp lookup
//! aborted the process allocating for the claimed count; a 100 KiB zstd batch of zeros
//! inflated to gigabytes on lookup. The catalogue ends with a thousand idle connections and a
//! client that pipelines fetches and never reads its answers.

use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use brook::log::batch::{build_batch, compute_crc};
use brook::log::records::{encode_record, put_varint};
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::*;

use crate::common::process::BrokerProcess;
use crate::common::*;

/// The peak RSS the README promises for a broker under this catalogue (see "Resource limits").
const PEAK_RSS_BOUND_MIB: u64 = 64;

const CORRUPT_MESSAGE: i16 = 2;
const INVALID_RECORD: i16 = 87;
const INVALID_TIMESTAMP: i16 = 32;

/// A CRC-valid v2 batch of `body` (encoded records) whose header claims `count` records
/// (lastOffsetDelta to match) and carries `attributes` (compression bits).
fn lying_batch(count: i32, attributes: i16, body: &[u8]) -> Bytes {
    let b = build_batch(0, count, now_ms(), body);
    let mut m = BytesMut::from(&b[..]);
    m[21..23].copy_from_slice(&attributes.to_be_bytes());
    let crc = compute_crc(&m);
    m[17..21].copy_from_slice(&crc.to_be_bytes());
    m.freeze()
}

fn records(n: i32, value: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    for i in 0..n {
        encode_record(&mut body, 0, i, Some(b"k"), Some(value), &[]);
    }
    body
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn lz4(data: &[u8]) -> Vec<u8> {
    let mut e = lz4::EncoderBuilder::new().build(Vec::new()).unwrap();
    e.write_all(data).unwrap();
    let (v, r) = e.finish();
    r.unwrap();
    v
}

fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

fn snappy(data: &[u8]) -> Vec<u8> {
    snap::raw::Encoder::new().compress_vec(data).unwrap()
}

/// A shared in-memory sink (encoders take their writer by value).
#[derive(Clone, Default)]
struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One record whose value is `zeros` zero bytes, compressed with `codec` (1 gzip, 3 lz4,
/// 4 zstd) as it is generated, so the test never holds the inflated batch either.
fn zero_bomb(codec: i16, zeros: u64) -> Vec<u8> {
    let sink = Sink::default();
    let mut enc: Box<dyn Write> = match codec {
        1 => Box::new(flate2::write::GzEncoder::new(sink.clone(), flate2::Compression::best())),
        3 => Box::new(lz4::EncoderBuilder::new().build(sink.clone()).unwrap()),
        4 => Box::new(zstd::stream::write::Encoder::new(sink.clone(), 1).unwrap().auto_finish()),
        _ => unreachable!(),
    };
    let mut fields = vec![0u8]; // attributes
    put_varint(&mut fields, 0); // timestamp delta
    put_varint(&mut fields, 0); // offset delta
    put_varint(&mut fields, -1); // null key
    put_varint(&mut fields, zeros as i64); // value length
    let mut head = Vec::new();
    put_varint(&mut head, fields.len() as i64 + zeros as i64 + 1);
    head.extend_from_slice(&fields);
    enc.write_all(&head).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..zeros / chunk.len() as u64 {
        enc.write_all(&chunk).unwrap();
    }
    enc.write_all(&[0]).unwrap(); // no headers
    enc.flush().unwrap();
    drop(enc); // gzip and zstd finish on drop; lz4's end mark is not needed to trip the bound
    let out = std::mem::take(&mut *sink.0.lock().unwrap());
    out
}

/// An honest client still gets a produce acknowledged and reads it back.
async fn honest_round_trip(addr: SocketAddr, n: usize) {
    let mut c = Client::connect(addr).await;
    let value = format!("honest-{n}");
    let offset = produce_ok(&mut c, "honest", 0, batch(&[value.as_bytes()])).await;
    let got = fetch_all(&mut c, "honest", 0, offset).await;
    assert_eq!(got.first().and_then(|r| r.value.clone()).as_deref(), Some(value.as_bytes()));
}

async fn log_end(c: &mut Client, topic: &str) -> i64 {
    list_offsets(c, topic, 0, -1).await.offset
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_catalogue_of_lying_batches_and_frames_never_takes_the_broker_down() {
    let mut broker = BrokerProcess::start();
    let addr = broker.addr;
    let mut admin = Client::connect(addr).await;
    create_topic(&mut admin, "honest", 1).await;
    create_topic(&mut admin, "victim", 1).await;
    honest_round_trip(addr, 0).await;

    let one = records(1, b"v");
    let mut lying_body = records(1, b"v");
    lying_body[0] = 0x7e; // the record's length claims 63 bytes
    let mut key_lie = Vec::new();
    encode_record(&mut key_lie, 0, 0, Some(b"k"), Some(b"v"), &[]);
    key_lie[4] = 0xfe; // key length: a 5-byte varint claiming ~2^31 bytes
    key_lie.splice(5..5, [0xff, 0xff, 0xff, 0x07]);
    let mut header_lie = Vec::new();
    encode_record(&mut header_lie, 0, 0, None, Some(b"v"), &[]);
    let last = header_lie.len() - 1;
    header_lie[last] = 0xfe; // header count ~2^31
    header_lie.extend_from_slice(&[0xff, 0xff, 0xff, 0x07]);
    let mut long_varint = vec![20u8];
    long_varint.extend_from_slice(&[0; 1]);
    long_varint.extend_from_slice(&[0xff; 10]); // a timestamp delta that never ends
    long_varint.extend_from_slice(&[0; 8]);
    let mut trailing = records(1, b"v");
    trailing.extend_from_slice(b"junk after the last record");
    let mut bad_deltas = records(1, b"a");
    encode_record(&mut bad_deltas, 0, 7, Some(b"k"), Some(b"b"), &[]);
    let mut future = Vec::new();
    encode_record(&mut future, 10 * 3_600_000, 0, Some(b"k"), Some(b"late"), &[]);

    let cases: Vec<(&str, Bytes, &[i16])> = vec![
        ("2^31-1 records claimed, one present", lying_batch(i32::MAX, 0, &one), &[INVALID_RECORD]),
        ("more records claimed than present", lying_batch(3, 0, &records(2, b"v")), &[INVALID_RECORD]),
        ("fewer records claimed than present", lying_batch(1, 0, &records(2, b"v")), &[INVALID_RECORD]),
        ("record length past the batch", lying_batch(1, 0, &lying_body), &[INVALID_RECORD]),
        ("key length ~2^31", lying_batch(1, 0, &key_lie), &[INVALID_RECORD]),
        ("header count ~2^31", lying_batch(1, 0, &header_lie), &[INVALID_RECORD]),
        ("a varint of 10 continuation bytes", lying_batch(1, 0, &long_varint), &[INVALID_RECORD]),
        ("bytes after the last record", lying_batch(1, 0, &trailing), &[INVALID_RECORD]),
        ("offset deltas not 0..n-1", lying_batch(2, 0, &bad_deltas), &[INVALID_RECORD]),
        ("a timestamp 10 h in the future", lying_batch(1, 0, &future), &[INVALID_TIMESTAMP]),
        ("gzip: 2^31-1 records claimed", lying_batch(i32::MAX, 1, &gzip(&one)), &[INVALID_RECORD]),
        ("snappy: 2^31-1 records claimed", lying_batch(i32::MAX, 2, &snappy(&one)), &[INVALID_RECORD]),
        ("lz4: 2^31-1 records claimed", lying_batch(i32::MAX, 3, &lz4(&one)), &[INVALID_RECORD]),
        ("zstd: 2^31-1 records claimed", lying_batch(i32::MAX, 4, &zstd(&one)), &[INVALID_RECORD]),
        ("zstd bomb (1 GiB of zeros)", lying_batch(1, 4, &zero_bomb(4, 1 << 30)), &[INVALID_RECORD]),
        ("gzip bomb (256 MiB of zeros)", lying_batch(1, 1, &zero_bomb(1, 256 << 20)), &[INVALID_RECORD]),
        ("lz4 bomb (128 MiB of zeros)", lying_batch(1, 3, &zero_bomb(3, 128 << 20)), &[INVALID_RECORD]),
        ("garbage labelled zstd", lying_batch(1, 4, b"not a zstd frame at all"), &[CORRUPT_MESSAGE]),
        ("garbage labelled gzip", lying_batch(1, 1, b"not a gzip stream at all"), &[CORRUPT_MESSAGE]),
        ("garbage labelled snappy", lying_batch(1, 2, &[0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2]), &[CORRUPT_MESSAGE]),
        ("unknown codec 7", lying_batch(1, 7, &one), &[CORRUPT_MESSAGE, INVALID_RECORD]),
    ];
    let mut c = Client::connect(addr).await;
    for (i, (name, batch, want)) in cases.into_iter().enumerate() {
        let before = log_end(&mut c, "victim").await;
        let started = Instant::now();
        let resp = produce(&mut c, "victim", 0, batch).await;
        eprintln!("{name}: {} {:?} in {:?}", resp.error_code, resp.error_message, started.elapsed());
        assert!(
            want.contains(&resp.error_code),
            "{name}: error {} ({:?}), want one of {want:?}",
            resp.error_code,
            resp.error_message
        );
        assert!(resp.error_message.is_some(), "{name}: an error message says why");
        assert_eq!(log_end(&mut c, "victim").await, before, "{name}: nothing was appended");
        // Timestamp lookups (the path that aborted) still answer.
        let lookup = list_offsets(&mut c, "victim", 0, 0).await;
        assert_eq!(lookup.error_code, 0, "{name}: timestamp lookup");
        broker.assert_alive(name);
        honest_round_trip(addr, i + 1).await;
        let (rss, peak) = broker.rss_mib();
        assert!(peak <= PEAK_RSS_BOUND_MIB, "{name}: peak RSS {peak} MiB (now {rss} MiB) over {PEAK_RSS_BOUND_MIB}");
        assert!(started.elapsed() < Duration::from_secs(20), "{name}: took {:?}", started.elapsed());
    }

    // Frames: each gets the connection closed (or an error answer), never a crash.
    let mut frames: Vec<(&str, Vec<u8>)> = Vec::new();
    frames.push(("negative frame size", (-5i32).to_be_bytes().to_vec()));
    frames.push(("frame over socket.request.max.bytes", (200i32 << 20).to_be_bytes().to_vec()));
    frames.push(("frame too short for a header", vec![0, 0, 0, 2, 0, 3]));
    let mut array_lie = BytesMut::new();
    array_lie.put_i16(3); // Metadata
    array_lie.put_i16(1);
    array_lie.put_i32(77);
    array_lie.put_i16(-1); // null client id
    array_lie.put_i32(i32::MAX); // topics array claims 2^31-1 entries
    let mut f = (array_lie.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(&array_lie);
    frames.push(("array count 2^31-1", f));
    let mut bytes_lie = BytesMut::new();
    bytes_lie.put_i16(0); // Produce v3
    bytes_lie.put_i16(3);
    bytes_lie.put_i32(78);
    bytes_lie.put_i16(-1);
    bytes_lie.put_i16(-1); // transactional id
    bytes_lie.put_i16(1); // acks
    bytes_lie.put_i32(1000); // timeout
    bytes_lie.put_i32(1); // one topic
    bytes_lie.put_i16(6);
    bytes_lie.put_slice(b"victim");
    bytes_lie.put_i32(1); // one partition
    bytes_lie.put_i32(0);
    bytes_lie.put_i32(i32::MAX); // records claim 2 GiB
    let mut f = (bytes_lie.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(&bytes_lie);
    frames.push(("records length 2^31-1", f));
    for (name, frame) in frames {
        let mut bad = Client::connect(addr).await;
        bad.send_raw(&frame).await.expect("send");
        bad.expect_closed().await;
        broker.assert_alive(name);
        honest_round_trip(addr, 100).await;
    }

    // Frames announced but never sent: the connections hold no more than their buffers.
    let mut stalled = Vec::new();
    for _ in 0..200 {
        let mut s = Client::connect(addr).await;
        s.send_raw(&(100i32 << 20).to_be_bytes()).await.expect("send");
        s.send_raw(&[0, 3, 0, 1]).await.expect("send");
        stalled.push(s);
    }
    honest_round_trip(addr, 200).await;
    let (rss, peak) = broker.rss_mib();
    assert!(peak <= PEAK_RSS_BOUND_MIB, "announced frames: peak RSS {peak} MiB (now {rss} MiB)");
    drop(stalled);

    // Many idle connections and a client that pipelines big fetches and never reads.
    raise_nofile(4096);
    let mut idle = Vec::new();
    for _ in 0..1000 {
        match tokio::time::timeout(Duration::from_secs(2), tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(s)) => idle.push(s),
            _ => break,
        }
    }
    assert!(idle.len() >= 500, "only {} idle connections opened", idle.len());
    let mut filler = Client::connect(addr).await;
    create_topic(&mut filler, "big", 1).await;
    let chunk = vec![b'x'; 256 * 1024];
    for _ in 0..8 {
        produce_ok(&mut filler, "big", 0, batch(&[&chunk[..]])).await;
    }
    let sock = tokio::net::TcpSocket::new_v4().expect("socket");
    sock.set_recv_buffer_size(64 * 1024).expect("rcvbuf");
    let mut reader_less = sock.connect(addr).await.expect("connect");
    let mut fetch_all_of_it = fetch_request("big", 0, 0, 0);
    fetch_all_of_it.max_bytes = 64 << 20;
    fetch_all_of_it.topics[0].partitions[0].partition_max_bytes = 64 << 20;
    let frame = encode_request(&fetch_all_of_it, 12, 9);
    for _ in 0..2000 {
        use tokio::io::AsyncWriteExt;
        match tokio::time::timeout(Duration::from_millis(300), reader_less.write_all(&frame)).await {
            Ok(Ok(())) => {}
            _ => break, // the broker stopped reading this client
        }
    }
    honest_round_trip(addr, 300).await;
    broker.assert_alive("idle connections and a client that never reads");
    let (rss, peak) = broker.rss_mib();
    assert!(peak <= PEAK_RSS_BOUND_MIB, "idle + never-reading: peak RSS {peak} MiB (now {rss} MiB)");
    drop(reader_less);
    drop(idle);

    // Internal topics are the broker's: a client cannot write offsets records.
    let mut c = Client::connect(addr).await;
    let _ = metadata(&mut c, Some(&["__consumer_offsets"]), false, 9).await;
    let mut g = Client::connect(addr).await;
    let coordinator =
        g.call(&FindCoordinatorRequest::default().with_key(sb("hostile-group")).with_key_type(0), 3).await;
    assert_eq!(coordinator.error_code, 0);
    let resp = produce(&mut c, "__consumer_offsets", 0, batch(&[b"forged"])).await;
    assert_eq!(resp.error_code, E::InvalidTopicException.code(), "produce to an internal topic");
    broker.assert_alive("internal topic produce");
    let (_, peak) = broker.rss_mib();
    eprintln!("hostile catalogue: broker peak RSS {peak} MiB (bound {PEAK_RSS_BOUND_MIB} MiB)");
}

/// A request array claiming 2^31-1 elements, in a frame of almost 100 MiB (the default
/// `socket.request.max.bytes`): the decoder used to reserve one element per byte remaining
/// up front, about 11 GiB of `CreatableTopic`, which a host with less memory than that
/// refuses, aborting the broker. With the address space capped at 4 GiB the broker must
/// answer or close, and keep serving.
#[tokio::test]
async fn a_huge_array_claim_reserves_no_memory_for_it() {
    let mut broker = BrokerProcess::start_with_address_space(Some(4 << 30));
    let addr = broker.addr;
    create_topic(&mut Client::connect(addr).await, "honest", 1).await;
    honest_round_trip(addr, 1).await;
    let body_len = (100 << 20) - 4096;
    let mut frame = BytesMut::with_capacity(body_len + 4);
    frame.put_i32(body_len as i32);
    frame.put_i16(19); // CreateTopics
    frame.put_i16(4); // non-flexible: arrays carry an Int32 count
    frame.put_i32(7); // correlation id
    frame.put_i16(-1); // null client id
                       // The topics array claims 2^31-1 entries; then 0xFF bytes: the first topic's name length
                       // reads -1 (null, not allowed), so decoding fails at once and only the reservation made
                       // before it can hurt.
    frame.put_i32(i32::MAX);
    frame.resize(body_len + 4, 0xFF);
    let mut s = Client::connect(addr).await;
    let _ = s.send_raw(&frame).await; // the broker may close before reading it all
    let _ = s.read_frame_within(Duration::from_secs(10)).await;
    drop(s);
    broker.assert_alive("a 100 MiB CreateTopics frame claiming 2^31-1 topics");
    honest_round_trip(addr, 1).await;
    broker.assert_alive("an honest client after the huge array claim");
}
