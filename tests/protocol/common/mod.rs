//! Shared helpers for the protocol-level integration tests: an in-process broker, a raw
//! Kafka wire client built on the `kafka-protocol` crate, and record-batch builders.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::list_offsets_response::ListOffsetsPartitionResponse;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub mod certs;
pub mod groups;
pub mod process;
pub mod txn;

pub use brook::config::BrokerConfig;
pub use brook::server::ServerHandle;

/// Every read waits at most this long.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------------------
// Broker lifecycle
// ---------------------------------------------------------------------------------------

/// A broker running in-process on a temporary data directory.
pub struct TestBroker {
    pub dir: tempfile::TempDir,
    pub handle: Option<ServerHandle>,
}

impl TestBroker {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut BrokerConfig)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = BrokerConfig::for_tests(dir.path());
        tweak(&mut cfg);
        let handle = brook::server::start(cfg).await.expect("broker starts");
        Self { dir, handle: Some(handle) }
    }

    pub fn addr(&self) -> SocketAddr {
        self.handle.as_ref().expect("broker running").addr
    }

    pub async fn client(&self) -> Client {
        Client::connect(self.addr()).await
    }

    /// A client whose requests carry `client_id`.
    pub async fn client_as(&self, client_id: &str) -> Client {
        Client::connect_as(self.addr(), client_id).await
    }

    /// Graceful shutdown, then a new broker on the same data directory.
    pub async fn restart(&mut self) {
        let h = self.handle.take().expect("broker running");
        h.shutdown().await.expect("graceful shutdown");
        let cfg = BrokerConfig::for_tests(self.dir.path());
        self.handle = Some(brook::server::start(cfg).await.expect("broker restarts"));
        self.wait_coordinators_loaded().await;
    }

    /// Unclean stop: the broker is dropped without `shutdown` (no final flush, checkpoint or
    /// clean-shutdown marker), then a new broker opens the same data directory and recovers.
    /// Drop every client first so the old broker's connection tasks let go of it.
    pub async fn crash_restart(&mut self) {
        let h = self.handle.take().expect("broker running");
        let weak = std::sync::Arc::downgrade(&h.broker);
        drop(h);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while weak.strong_count() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(weak.strong_count(), 0, "the crashed broker is still referenced (a client still open?)");
        self.start_again(|_| {}).await;
    }

    /// [`TestBroker::crash_restart`], the new broker's config tweaked.
    pub async fn crash_restart_with(&mut self, tweak: impl FnOnce(&mut BrokerConfig)) {
        let h = self.handle.take().expect("broker running");
        let weak = std::sync::Arc::downgrade(&h.broker);
        drop(h);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while weak.strong_count() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(weak.strong_count(), 0, "the crashed broker is still referenced (a client still open?)");
        self.start_again(tweak).await;
    }

    /// Starts a broker on this data directory (after the previous one was stopped or taken),
    /// and waits until its groups are loaded.
    pub async fn start_again(&mut self, tweak: impl FnOnce(&mut BrokerConfig)) {
        self.start_loading(tweak).await;
        self.wait_coordinators_loaded().await;
    }

    /// Starts a broker on this data directory without waiting for `__consumer_offsets` to
    /// be replayed (groups answer COORDINATOR_LOAD_IN_PROGRESS meanwhile).
    pub async fn start_loading(&mut self, tweak: impl FnOnce(&mut BrokerConfig)) {
        let mut cfg = BrokerConfig::for_tests(self.dir.path());
        tweak(&mut cfg);
        self.handle = Some(brook::server::start(cfg).await.expect("broker restarts"));
    }

    /// Waits (at most 10 s) until every `__consumer_offsets` and `__transaction_state`
    /// partition is replayed, so a test's raw requests after a restart see the groups and
    /// transactions rather than a retriable COORDINATOR_LOAD_IN_PROGRESS that a real client
    /// would retry.
    pub async fn wait_coordinators_loaded(&self) {
        let broker = &self.handle.as_ref().expect("broker running").broker;
        let deadline = tokio::time::Instant::now() + IO_TIMEOUT;
        while broker.groups.loading() || broker.txns.loading() {
            assert!(tokio::time::Instant::now() < deadline, "groups still loading after {IO_TIMEOUT:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown().await.expect("graceful shutdown");
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

// ---------------------------------------------------------------------------------------
// The process: tests that need it to themselves, its open-files limit
// ---------------------------------------------------------------------------------------

/// Names the one test a child process started by [`rerun_alone`] runs.
const ALONE_ENV: &str = "BROOK_TEST_ALONE";

/// For a test that measures the whole process (its RSS, its thread count), which the other
/// tests of this binary running beside it would disturb: runs test `name` of module `module`
/// (pass `module_path!()`) in a child process of this test binary, alone, and asserts it
/// passed there; true then, and the caller returns. False in that child process, where the
/// caller goes on with the test itself.
pub async fn rerun_alone(module: &str, name: &str) -> bool {
    // `module_path!()` starts with the crate; libtest names a test by the path below it.
    let test = match module.split_once("::") {
        Some((_, path)) => format!("{path}::{name}"),
        None => name.to_string(),
    };
    if std::env::var_os(ALONE_ENV).is_some_and(|t| t == test.as_str()) {
        return false;
    }
    let out = tokio::process::Command::new(std::env::current_exe().expect("the test binary's path"))
        .args([test.as_str(), "--exact", "--test-threads=1", "--nocapture"])
        .env(ALONE_ENV, &test)
        .kill_on_drop(true)
        .output()
        .await
        .expect("run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{test}, alone in a child process:");
    print!("{stdout}");
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{test} failed in a process of its own ({})", out.status);
    assert!(stdout.contains("test result: ok. 1 passed"), "{test} did not run in a process of its own");
    true
}

/// Raises this process's soft open-files limit towards `want` (bounded by the hard limit);
/// returns it. The limit is the whole process's: it is only ever raised.
pub fn raise_nofile(want: u64) -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < want {
            lim.rlim_cur = want.min(lim.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        }
        lim.rlim_cur
    }
}

// ---------------------------------------------------------------------------------------
// Raw wire client
// ---------------------------------------------------------------------------------------

pub struct Client {
    pub stream: TcpStream,
    next_cid: i32,
    /// The client id sent in every request header.
    pub client_id: Option<String>,
}

/// The client id [`Client`]s send unless told otherwise.
pub const DEFAULT_CLIENT_ID: &str = "brook-protocol-tests";

pub fn api_key_of<R: Request>() -> ApiKey {
    ApiKey::try_from(R::KEY).expect("known api key")
}

/// Encodes `length | request header | body` for `req` at `version`.
pub fn encode_request<R: Request>(req: &R, version: i16, correlation_id: i32) -> Bytes {
    encode_request_as(req, version, correlation_id, Some(DEFAULT_CLIENT_ID))
}

/// [`encode_request`] with a chosen header client id.
pub fn encode_request_as<R: Request>(req: &R, version: i16, correlation_id: i32, client_id: Option<&str>) -> Bytes {
    let key = api_key_of::<R>();
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(client_id.map(|c| StrBytes::from_string(c.to_string())));
    let hv = key.request_header_version(version);
    let mut body = BytesMut::new();
    header.encode(&mut body, hv).unwrap_or_else(|e| panic!("encode {key:?} v{version} header: {e}"));
    req.encode(&mut body, version).unwrap_or_else(|e| panic!("encode {key:?} v{version} request: {e}"));
    let mut frame = BytesMut::with_capacity(4 + body.len());
    frame.put_i32(body.len() as i32);
    frame.extend_from_slice(&body);
    frame.freeze()
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect");
        stream.set_nodelay(true).ok();
        Self { stream, next_cid: 1, client_id: Some(DEFAULT_CLIENT_ID.to_string()) }
    }

    /// A connection whose requests carry `client_id` in their header.
    pub async fn connect_as(addr: SocketAddr, client_id: &str) -> Self {
        let mut c = Self::connect(addr).await;
        c.client_id = Some(client_id.to_string());
        c
    }

    pub fn next_correlation_id(&mut self) -> i32 {
        let c = self.next_cid;
        self.next_cid += 1;
        c
    }

    /// Writes one request; returns its correlation id.
    pub async fn send<R: Request>(&mut self, req: &R, version: i16) -> i32 {
        let cid = self.next_correlation_id();
        let frame = encode_request_as(req, version, cid, self.client_id.as_deref());
        self.send_raw(&frame).await.expect("write request");
        cid
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        tokio::time::timeout(IO_TIMEOUT, async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        })
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out"))?
    }

    /// Reads one response frame (without the length prefix). `Ok(None)` on EOF.
    pub async fn read_frame(&mut self) -> std::io::Result<Option<Bytes>> {
        self.read_frame_within(IO_TIMEOUT).await
    }

    pub async fn read_frame_within(&mut self, limit: Duration) -> std::io::Result<Option<Bytes>> {
        tokio::time::timeout(limit, async {
            let mut len = [0u8; 4];
            let mut got = 0;
            while got < 4 {
                let n = self.stream.read(&mut len[got..]).await?;
                if n == 0 {
                    if got == 0 {
                        return Ok(None);
                    }
                    return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "eof inside a length prefix"));
                }
                got += n;
            }
            let size = i32::from_be_bytes(len);
            assert!(size >= 4, "response frame size {size} is too small");
            let mut buf = vec![0u8; size as usize];
            self.stream.read_exact(&mut buf).await?;
            Ok(Some(Bytes::from(buf)))
        })
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "read timed out"))?
    }

    /// Reads one response for an `R` request sent at `version`: (correlation id, body).
    pub async fn recv<R: Request>(&mut self, version: i16) -> (i32, R::Response) {
        let frame = self.read_frame().await.expect("read response").expect("connection closed before the response");
        decode_response::<R>(frame, version)
    }

    /// Sends and reads the matching response (asserting the correlation id).
    pub async fn call<R: Request>(&mut self, req: &R, version: i16) -> R::Response {
        let cid = self.send(req, version).await;
        let (got, resp) = self.recv::<R>(version).await;
        assert_eq!(got, cid, "correlation id of {:?} v{version} response", api_key_of::<R>());
        resp
    }

    /// Asserts the broker closed this connection: a read returns EOF or an error (reset)
    /// within the timeout, without any response bytes.
    pub async fn expect_closed(&mut self) {
        let mut buf = [0u8; 64];
        let r = tokio::time::timeout(IO_TIMEOUT, self.stream.read(&mut buf)).await;
        match r {
            Err(_) => panic!("connection still open after {IO_TIMEOUT:?}"),
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => panic!("expected the connection to be closed, got {n} bytes: {:?}", &buf[..n]),
            Ok(Err(_)) => {} // reset counts as closed
        }
    }
}

/// Decodes a response frame (no length prefix) for an `R` request at `version`.
pub fn decode_response<R: Request>(mut frame: Bytes, version: i16) -> (i32, R::Response) {
    let key = api_key_of::<R>();
    let hv = key.response_header_version(version);
    let header = ResponseHeader::decode(&mut frame, hv)
        .unwrap_or_else(|e| panic!("decode {key:?} v{version} response header: {e}"));
    let body = <R::Response as Decodable>::decode(&mut frame, version)
        .unwrap_or_else(|e| panic!("decode {key:?} v{version} response body: {e}"));
    assert_eq!(frame.remaining(), 0, "{key:?} v{version} response has {} trailing bytes", frame.remaining());
    (header.correlation_id, body)
}

/// Peeks the correlation id of a response frame (first 4 bytes).
pub fn frame_correlation_id(frame: &Bytes) -> i32 {
    i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]])
}

// ---------------------------------------------------------------------------------------
// Record batches
// ---------------------------------------------------------------------------------------

pub fn tn(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

pub fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_string())
}

/// Producer identity of a batch: (producer id, epoch, base sequence).
#[derive(Clone, Copy, Debug)]
pub struct Producer {
    pub id: i64,
    pub epoch: i16,
    pub base_sequence: i32,
}

pub const NO_PRODUCER: Producer = Producer { id: -1, epoch: -1, base_sequence: -1 };

/// One v2 record batch holding `values` with the given timestamps.
pub fn batch_full(values: &[(&[u8], i64)], producer: Producer, compression: Compression) -> Bytes {
    assert!(!values.is_empty());
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, (v, ts))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: producer.id,
            producer_epoch: producer.epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // Keeps offset - sequence constant so the encoder emits a single batch; with no
            // producer this yields baseSequence = -1.
            sequence: producer.base_sequence.wrapping_add(i as i32),
            timestamp: *ts,
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::copy_from_slice(v)),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(&mut buf, records.iter(), &RecordEncodeOptions { version: 2, compression })
        .expect("encode record batch");
    let out = buf.freeze();
    // Sanity: exactly one batch with the expected count.
    let count = i32::from_be_bytes([out[57], out[58], out[59], out[60]]);
    assert_eq!(count as usize, values.len(), "encoder produced one batch");
    let batch_len = i32::from_be_bytes([out[8], out[9], out[10], out[11]]) as usize;
    assert_eq!(batch_len + 12, out.len(), "encoder produced exactly one batch");
    out
}

/// One uncompressed, non-idempotent batch of `values` stamped with `now`.
pub fn batch(values: &[&[u8]]) -> Bytes {
    let ts = now_ms();
    let v: Vec<(&[u8], i64)> = values.iter().map(|v| (*v, ts)).collect();
    batch_full(&v, NO_PRODUCER, Compression::None)
}

/// An idempotent batch of `n` records starting at `seq`.
pub fn idempotent_batch(pid: i64, epoch: i16, seq: i32, n: usize) -> Bytes {
    let ts = now_ms();
    let vals: Vec<Vec<u8>> = (0..n).map(|i| format!("idem-{seq}-{i}").into_bytes()).collect();
    let v: Vec<(&[u8], i64)> = vals.iter().map(|v| (v.as_slice(), ts)).collect();
    batch_full(&v, Producer { id: pid, epoch, base_sequence: seq }, Compression::None)
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Decodes every record of a fetch response's `records` bytes.
pub fn decode_records(records: &Option<Bytes>) -> Vec<Record> {
    let Some(bytes) = records else {
        return Vec::new();
    };
    let mut b = bytes.clone();
    let sets = RecordBatchDecoder::decode_all(&mut b).expect("decode fetched record batches");
    sets.into_iter().flat_map(|s| s.records).collect()
}

/// Counts the batches in a record bytes blob (walking batch lengths), and returns their
/// base offsets.
pub fn batch_base_offsets(records: &Option<Bytes>) -> Vec<i64> {
    let Some(bytes) = records else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos + 12 <= bytes.len() {
        let base = i64::from_be_bytes(bytes[pos..pos + 8].try_into().unwrap());
        let len = i32::from_be_bytes(bytes[pos + 8..pos + 12].try_into().unwrap()) as usize;
        if pos + 12 + len > bytes.len() {
            break; // partial trailing batch
        }
        out.push(base);
        pos += 12 + len;
    }
    out
}

// ---------------------------------------------------------------------------------------
// Request builders / shortcuts (each at a fixed modern version)
// ---------------------------------------------------------------------------------------

pub const PRODUCE_V: i16 = 9;
pub const FETCH_V: i16 = 12;
pub const LIST_OFFSETS_V: i16 = 7;
pub const METADATA_V: i16 = 12;

pub fn produce_request(topic: &str, partition: i32, records: Bytes, acks: i16) -> ProduceRequest {
    ProduceRequest::default().with_acks(acks).with_timeout_ms(5000).with_topic_data(vec![TopicProduceData::default()
        .with_name(tn(topic))
        .with_partition_data(vec![PartitionProduceData::default().with_index(partition).with_records(Some(records))])])
}

/// A produce request naming its topic by id (v13+, KIP-516).
pub fn produce_request_by_id(id: uuid::Uuid, partition: i32, records: Bytes, acks: i16) -> ProduceRequest {
    ProduceRequest::default().with_acks(acks).with_timeout_ms(5000).with_topic_data(vec![TopicProduceData::default()
        .with_topic_id(id)
        .with_partition_data(vec![PartitionProduceData::default().with_index(partition).with_records(Some(records))])])
}

/// Produces one payload with acks=-1 at PRODUCE_V and returns the partition response.
pub async fn produce(c: &mut Client, topic: &str, partition: i32, records: Bytes) -> PartitionProduceResponse {
    produce_v(c, topic, partition, records, -1, PRODUCE_V).await
}

pub async fn produce_v(
    c: &mut Client,
    topic: &str,
    partition: i32,
    records: Bytes,
    acks: i16,
    version: i16,
) -> PartitionProduceResponse {
    let resp = c.call(&produce_request(topic, partition, records, acks), version).await;
    assert_eq!(resp.responses.len(), 1, "one topic in the produce response");
    let t = &resp.responses[0];
    assert_eq!(t.name.0.as_str(), topic);
    assert_eq!(t.partition_responses.len(), 1);
    assert_eq!(t.partition_responses[0].index, partition);
    t.partition_responses[0].clone()
}

/// Produces and asserts success; returns the base offset.
pub async fn produce_ok(c: &mut Client, topic: &str, partition: i32, records: Bytes) -> i64 {
    let r = produce(c, topic, partition, records).await;
    assert_eq!(r.error_code, 0, "produce to {topic}-{partition} failed: {:?}", r.error_message);
    r.base_offset
}

pub fn fetch_request(topic: &str, partition: i32, offset: i64, max_wait_ms: i32) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(50 * 1024 * 1024)
        .with_topics(vec![FetchTopic::default().with_topic(tn(topic)).with_partitions(vec![FetchPartition::default()
            .with_partition(partition)
            .with_fetch_offset(offset)
            .with_partition_max_bytes(1024 * 1024)])])
}

/// Fetches one partition by name at FETCH_V (no waiting) and returns its data.
pub async fn fetch(c: &mut Client, topic: &str, partition: i32, offset: i64) -> PartitionData {
    fetch_with(c, fetch_request(topic, partition, offset, 0), FETCH_V).await
}

pub async fn fetch_with(c: &mut Client, req: FetchRequest, version: i16) -> PartitionData {
    let resp = c.call(&req, version).await;
    assert_eq!(resp.error_code, 0, "fetch top-level error");
    assert_eq!(resp.responses.len(), 1);
    assert_eq!(resp.responses[0].partitions.len(), 1);
    resp.responses[0].partitions[0].clone()
}

pub async fn list_offsets(c: &mut Client, topic: &str, partition: i32, timestamp: i64) -> ListOffsetsPartitionResponse {
    list_offsets_v(c, topic, partition, timestamp, LIST_OFFSETS_V).await
}

pub async fn list_offsets_v(
    c: &mut Client,
    topic: &str,
    partition: i32,
    timestamp: i64,
    version: i16,
) -> ListOffsetsPartitionResponse {
    let req = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default().with_name(tn(topic)).with_partitions(vec![
            ListOffsetsPartition::default().with_partition_index(partition).with_timestamp(timestamp),
        ])]);
    let resp = c.call(&req, version).await;
    assert_eq!(resp.topics.len(), 1);
    assert_eq!(resp.topics[0].partitions.len(), 1);
    resp.topics[0].partitions[0].clone()
}

pub fn creatable(name: &str, partitions: i32, configs: &[(&str, &str)]) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(tn(name))
        .with_num_partitions(partitions)
        .with_replication_factor(1)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| CreatableTopicConfig::default().with_name(sb(k)).with_value(Some(sb(v))))
                .collect(),
        )
}

/// CreateTopics (v7) for one topic; returns the error code.
pub async fn create_topic_code(c: &mut Client, name: &str, partitions: i32, configs: &[(&str, &str)]) -> i16 {
    let req =
        CreateTopicsRequest::default().with_timeout_ms(5000).with_topics(vec![creatable(name, partitions, configs)]);
    let resp = c.call(&req, 7).await;
    assert_eq!(resp.topics.len(), 1);
    resp.topics[0].error_code
}

pub async fn create_topic(c: &mut Client, name: &str, partitions: i32) {
    create_topic_with(c, name, partitions, &[]).await
}

pub async fn create_topic_with(c: &mut Client, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let code = create_topic_code(c, name, partitions, configs).await;
    assert_eq!(code, 0, "create topic {name}");
}

/// Metadata at `version` for the given names (None = all topics).
pub async fn metadata(c: &mut Client, topics: Option<&[&str]>, allow_auto: bool, version: i16) -> MetadataResponse {
    let req = MetadataRequest::default()
        .with_topics(
            topics.map(|ts| ts.iter().map(|t| MetadataRequestTopic::default().with_name(Some(tn(t)))).collect()),
        )
        .with_allow_auto_topic_creation(allow_auto);
    c.call(&req, version).await
}

/// The topic id reported by Metadata (v12).
pub async fn topic_id(c: &mut Client, topic: &str) -> uuid::Uuid {
    let md = metadata(c, Some(&[topic]), false, METADATA_V).await;
    assert_eq!(md.topics.len(), 1);
    assert_eq!(md.topics[0].error_code, 0, "metadata for {topic}");
    let id = md.topics[0].topic_id;
    assert!(!id.is_nil(), "topic {topic} has a topic id");
    id
}

pub async fn init_producer_id(c: &mut Client) -> (i64, i16) {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let resp = c.call(&req, 4).await;
    assert_eq!(resp.error_code, 0, "InitProducerId");
    (resp.producer_id.0, resp.producer_epoch)
}

/// Fetches everything from `offset` up to the high watermark, following batches.
pub async fn fetch_all(c: &mut Client, topic: &str, partition: i32, mut offset: i64) -> Vec<Record> {
    let mut out = Vec::new();
    for _ in 0..1000 {
        let p = fetch(c, topic, partition, offset).await;
        assert_eq!(p.error_code, 0, "fetch {topic}-{partition}@{offset}");
        let recs = decode_records(&p.records);
        let recs: Vec<Record> = recs.into_iter().filter(|r| r.offset >= offset).collect();
        if recs.is_empty() {
            break;
        }
        offset = recs.last().unwrap().offset + 1;
        out.extend(recs);
        if offset >= p.high_watermark {
            break;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Configs
// ---------------------------------------------------------------------------------------

pub const RESOURCE_TOPIC: i8 = 2;
pub const RESOURCE_BROKER: i8 = 4;
pub const RESOURCE_GROUP: i8 = 32;
pub const OP_SET: i8 = 0;
pub const OP_DELETE: i8 = 1;
pub const OP_APPEND: i8 = 2;

/// IncrementalAlterConfigs on one resource: (error code, error message).
pub async fn alter_incremental(
    c: &mut Client,
    resource_type: i8,
    name: &str,
    ops: &[(&str, i8, Option<&str>)],
    validate_only: bool,
) -> (i16, Option<String>) {
    use kafka_protocol::messages::incremental_alter_configs_request as inc;
    let configs = ops
        .iter()
        .map(|(n, op, v)| {
            inc::AlterableConfig::default().with_name(sb(n)).with_config_operation(*op).with_value(v.map(sb))
        })
        .collect();
    let req = IncrementalAlterConfigsRequest::default()
        .with_resources(vec![inc::AlterConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(sb(name))
            .with_configs(configs)])
        .with_validate_only(validate_only);
    let r = c.call(&req, 1).await;
    (r.responses[0].error_code, r.responses[0].error_message.as_ref().map(|m| m.to_string()))
}

/// DescribeConfigs (v4, with synonyms and documentation) of one resource.
pub async fn describe_configs(
    c: &mut Client,
    resource_type: i8,
    name: &str,
) -> kafka_protocol::messages::describe_configs_response::DescribeConfigsResult {
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    let req = DescribeConfigsRequest::default()
        .with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(sb(name))
            .with_configuration_keys(None)])
        .with_include_synonyms(true)
        .with_include_documentation(true);
    c.call(&req, 4).await.results.remove(0)
}

/// The (value, source) of `key` in a DescribeConfigs result, if listed.
pub fn config_row(
    r: &kafka_protocol::messages::describe_configs_response::DescribeConfigsResult,
    key: &str,
) -> Option<(String, i8)> {
    r.configs
        .iter()
        .find(|c| c.name.as_str() == key)
        .map(|c| (c.value.as_deref().unwrap_or("").to_string(), c.config_source))
}

/// A transactional batch of `values` (keys `key-<value>`) from `pid` at `epoch`, sequences from `seq`.
pub fn txn_batch(pid: i64, epoch: i16, seq: i32, values: &[&str]) -> Bytes {
    let ts = now_ms();
    let records: Vec<Record> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: true,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id: pid,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: seq + i as i32,
            timestamp: ts,
            key: Some(Bytes::from(format!("key-{v}"))),
            value: Some(Bytes::from(v.to_string())),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions { version: 2, compression: Compression::None },
    )
    .expect("encode");
    buf.freeze()
}

/// A read_committed fetch of one partition from offset 0, read as a consumer reads it:
/// (values, last stable offset, aborted transactions' (producer id, first offset)). Control
/// records and records of the aborted transactions listed are dropped (a test's partition
/// holds one transaction per producer at a time, so "from its first offset on" is exact).
pub async fn fetch_committed(c: &mut Client, topic: &str, partition: i32) -> (Vec<String>, i64, Vec<(i64, i64)>) {
    let req = fetch_request(topic, partition, 0, 0).with_isolation_level(1);
    let p = fetch_with(c, req, 12).await;
    let aborted: Vec<(i64, i64)> =
        p.aborted_transactions.clone().unwrap_or_default().iter().map(|a| (a.producer_id.0, a.first_offset)).collect();
    let values = decode_records(&p.records)
        .iter()
        .filter(|r| !r.control)
        .filter(|r| !aborted.iter().any(|(pid, first)| r.producer_id == *pid && r.offset >= *first))
        .filter_map(|r| r.value.as_ref().map(|v| String::from_utf8_lossy(v).to_string()))
        .collect();
    (values, p.last_stable_offset, aborted)
}
