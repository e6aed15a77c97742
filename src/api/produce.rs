//! Produce (key 0): validate each partition's record batch (header, CRC32C, then the records'
//! framing, counts and timestamps, walked in place or through a bounded decompressor), append
//! it verbatim with broker-assigned offsets, and acknowledge per `acks` once the configured
//! durability is met.

use std::sync::Arc;

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse};

use super::{sb, Handler, Reply, RequestContext, NONE};
use crate::error::ErrorCode;
use crate::log::batch::{self, BatchError, BatchHeader};
use crate::log::validate::{self, ValidationError};
use crate::log::{AppendError, AppendResult, Partition};
use crate::producer::state::ProducerError;

pub struct Produce;

/// An append writing for longer than this is held up by the page cache (see
/// [`Partition::write_stalled`]).
const STALLED: std::time::Duration = std::time::Duration::from_millis(2);

fn partition_error(index: i32, code: i16, message: Option<String>) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(code)
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
        .with_error_message(message.map(sb))
}

fn batch_error_code(e: &BatchError) -> i16 {
    match e {
        BatchError::Truncated | BatchError::CrcMismatch { .. } => E::CorruptMessage.code(),
        BatchError::UnsupportedMagic(_) | BatchError::Invalid(_) => E::InvalidRecord.code(),
    }
}

fn append_error_code(e: &AppendError) -> i16 {
    match e {
        AppendError::MessageTooLarge { .. } => E::MessageTooLarge.code(),
        AppendError::Producer(ProducerError::InvalidEpoch { .. }) => E::InvalidProducerEpoch.code(),
        AppendError::Producer(ProducerError::OutOfOrder { .. }) => E::OutOfOrderSequenceNumber.code(),
        AppendError::Storage(_) => E::KafkaStorageError.code(),
    }
}

/// A partition's batch refused: the error code, Kafka's message and (KIP-467) the records at
/// fault.
struct Rejected {
    code: i16,
    message: String,
    record_errors: Vec<BatchIndexAndErrorMessage>,
}

impl Rejected {
    fn new(code: i16, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), record_errors: Vec::new() }
    }

    fn response(self, index: i32) -> PartitionProduceResponse {
        partition_error(index, self.code, Some(self.message)).with_record_errors(self.record_errors)
    }
}

impl From<ValidationError> for Rejected {
    fn from(e: ValidationError) -> Self {
        let message = e.to_string();
        let (code, errors) = match e {
            ValidationError::InvalidRecord { record_errors, .. } => (E::InvalidRecord.code(), record_errors),
            ValidationError::InvalidTimestamp { record_errors } => (E::InvalidTimestamp.code(), record_errors),
            ValidationError::Corrupt(_) => (E::CorruptMessage.code(), Vec::new()),
        };
        let record_errors = errors
            .into_iter()
            .map(|r| {
                BatchIndexAndErrorMessage::default()
                    .with_batch_index(r.batch_index)
                    .with_batch_index_error_message(Some(sb(r.message)))
            })
            .collect();
        Self { code, message, record_errors }
    }
}

/// Validates and appends one partition's payload.
fn produce_partition(part: &Partition, records: Option<bytes::Bytes>) -> Result<AppendResult, Rejected> {
    let records =
        records.ok_or_else(|| Rejected::new(E::InvalidRecord.code(), "produce request carries no records"))?;
    let mut batches = batch::split_batches(records).map_err(|e| Rejected::new(batch_error_code(&e), e.to_string()))?;
    if batches.len() != 1 {
        return Err(Rejected::new(
            E::InvalidRecord.code(),
            "Produce requests (v3+) must carry exactly one record batch per partition",
        ));
    }
    let (header, bytes) = batches.pop().expect("exactly one batch");
    batch::validate_produced(&header).map_err(|e| Rejected::new(batch_error_code(&e), e.to_string()))?;
    if header.is_transactional() {
        return Err(Rejected::new(
            E::InvalidTxnState.code(),
            "transactional produce needs a transaction (not yet supported)",
        ));
    }
    let rules = part.record_rules();
    // Size first (Kafka's order): an oversized batch is refused without reading its records.
    if bytes.len() > rules.max_batch_bytes {
        let e = AppendError::MessageTooLarge { size: bytes.len(), max: rules.max_batch_bytes };
        return Err(Rejected::new(append_error_code(&e), e.to_string()));
    }
    let validated = validate::validate_records(&header, &bytes, &rules, crate::util::now_ms())?;
    let (header, bytes) = if validated.header_needs_fix(&header, &rules) {
        // A wrong maxTimestamp is corrected, as Kafka does, in a copy (honest clients never
        // need this); the time index and retention read the header.
        let fixed = batch::with_create_time_max(&bytes, validated.max_timestamp);
        (BatchHeader::parse(&fixed).map_err(|e| Rejected::new(batch_error_code(&e), e.to_string()))?, fixed)
    } else {
        (header, bytes)
    };
    part.append(header, bytes).map_err(|e| Rejected::new(append_error_code(&e), e.to_string()))
}

impl Handler for Produce {
    type Request = ProduceRequest;
    type Response = ProduceResponse;
    const KEY: ApiKey = ApiKey::Produce;
    const MIN_VERSION: i16 = 3;
    const MAX_VERSION: i16 = 11;

    /// A produce into a partition whose append is stuck would wait for it on an async worker
    /// (and a second one would stop the other worker too); such produces go to the blocking
    /// pool instead, still in request order. Normal appends take microseconds.
    fn on_blocking_pool(ctx: &RequestContext, req: &ProduceRequest) -> bool {
        let stalled = req.topic_data.iter().any(|td| {
            ctx.broker.topics.get(&td.name.0).is_some_and(|t| {
                td.partition_data.iter().any(|pd| t.partition(pd.index).is_some_and(|p| p.write_stalled(STALLED)))
            })
        });
        if stalled {
            tracing::debug!(
                correlation_id = ctx.correlation_id,
                "produce moved to the blocking pool: a write it follows is stuck"
            );
        }
        stalled
    }

    fn handle(ctx: &RequestContext, req: ProduceRequest) -> Reply<ProduceResponse> {
        if !(-1..=1).contains(&req.acks) {
            return Reply::Now(Self::error_response(&req, E::InvalidRequiredAcks.code()));
        }
        let broker = &ctx.broker;
        let mut appended: Vec<Arc<Partition>> = Vec::new();
        let mut appended_bytes = 0u64;
        let mut responses = Vec::with_capacity(req.topic_data.len());
        for td in req.topic_data {
            let topic = broker.topics.get(&td.name.0);
            let mut parts = Vec::with_capacity(td.partition_data.len());
            for pd in td.partition_data {
                let Some(part) = topic.as_ref().and_then(|t| t.partition(pd.index)) else {
                    parts.push(partition_error(pd.index, E::UnknownTopicOrPartition.code(), None));
                    continue;
                };
                if topic.as_ref().is_some_and(|t| t.internal) {
                    // Kafka: clients cannot append to internal topics (the broker writes them).
                    let message = format!("Cannot append to internal topic {}", td.name.0.as_str());
                    parts.push(partition_error(pd.index, E::InvalidTopicException.code(), Some(message)));
                    continue;
                }
                let len = pd.records.as_ref().map_or(0, |r| r.len() as u64);
                match produce_partition(&part, pd.records) {
                    Ok(r) => {
                        appended_bytes += len;
                        // A duplicate's original may still await its fsync: wait for it too.
                        appended.push(part.clone());
                        parts.push(
                            PartitionProduceResponse::default()
                                .with_index(pd.index)
                                .with_error_code(NONE)
                                .with_base_offset(r.base_offset)
                                .with_log_append_time_ms(r.log_append_time)
                                .with_log_start_offset(r.log_start_offset),
                        );
                    }
                    Err(rejected) => {
                        tracing::debug!(
                            topic = %td.name.0,
                            partition = pd.index,
                            code = rejected.code,
                            "produce rejected: {}",
                            rejected.message
                        );
                        parts.push(rejected.response(pd.index));
                    }
                }
            }
            responses.push(TopicProduceResponse::default().with_name(td.name).with_partition_responses(parts));
        }
        let durability = broker.config.durability;
        if !durability.fsync_before_ack(req.acks) {
            broker.note_unflushed(appended_bytes);
            if durability.fsync_before_visible() && !appended.is_empty() {
                // Nobody waits for the fsync, but it must still happen for the high watermark
                // (and so consumers) to move past this data.
                tokio::spawn(broker.commit(appended.clone()));
            }
        }
        if req.acks == 0 {
            return Reply::None;
        }
        let resp = ProduceResponse::default().with_responses(responses);
        if appended.is_empty() || !durability.fsync_before_ack(req.acks) {
            return Reply::Now(resp);
        }
        // Joins the fsync round now, in request order, rather than when the task first runs.
        let durable = broker.commit_each(appended.clone());
        Reply::Later(
            async move {
                let mut resp = resp;
                // Only the partitions whose fsync failed are answered with the error: the
                // others are durable, and an error would make the client send them again.
                for (part, outcome) in appended.iter().zip(durable.await) {
                    let Err(e) = outcome else { continue };
                    tracing::error!(topic = %part.topic, partition = part.index, "fsync before acknowledging failed: {e}");
                    for t in resp.responses.iter_mut().filter(|t| *part.topic == *t.name.0) {
                        for p in t.partition_responses.iter_mut().filter(|p| p.index == part.index) {
                            if p.error_code == NONE {
                                *p = partition_error(p.index, e.code(), Some(e.to_string()));
                            }
                        }
                    }
                }
                resp
            }
            .boxed(),
        )
    }

    fn error_response(req: &ProduceRequest, code: i16) -> ProduceResponse {
        let responses = req
            .topic_data
            .iter()
            .map(|td| {
                let parts = td.partition_data.iter().map(|pd| partition_error(pd.index, code, None)).collect();
                TopicProduceResponse::default().with_name(td.name.clone()).with_partition_responses(parts)
            })
            .collect();
        ProduceResponse::default().with_responses(responses)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::{Bytes, BytesMut};
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::protocol::Encodable;

    use super::*;
    use crate::api::{run, Deferred, Dispatch, Lane};
    use crate::broker::Broker;
    use crate::log::batch::{build_batch, BatchHeader};

    fn produce_body(topic: &str) -> Bytes {
        let mut body = Vec::new();
        crate::log::records::encode_record(&mut body, 0, 0, None, Some(b"after the stall"), &[]);
        let records = build_batch(0, 1, 1, &body);
        let req = ProduceRequest::default().with_acks(1).with_timeout_ms(5_000).with_topic_data(vec![
            TopicProduceData::default()
                .with_name(TopicName(sb(topic)))
                .with_partition_data(vec![PartitionProduceData::default().with_index(0).with_records(Some(records))]),
        ]);
        let mut b = BytesMut::new();
        req.encode(&mut b, 9).expect("encode");
        b.freeze()
    }

    /// A produce into a partition whose write is stuck does not wait for it on the calling
    /// (async) thread: it is answered later, after the stuck write, with the next offsets.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_produce_behind_a_stuck_write_leaves_the_async_worker() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (broker, _) = Broker::open(crate::config::BrokerConfig::for_tests(dir.path())).expect("broker");
        let part = broker.topics.create("t", 1, 1, &[], false).expect("topic").partition(0).expect("partition");
        let hold = part.hold_writes();
        let stuck = {
            let part = part.clone();
            std::thread::spawn(move || {
                let b = build_batch(0, 2, 1, b"stuck");
                part.append(BatchHeader::parse(&b).unwrap(), b).unwrap().base_offset
            })
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !part.write_stalled(STALLED) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(part.write_stalled(STALLED), "the first append is stuck in its write");
        let ctx = RequestContext::for_tests(broker.clone(), Arc::new(Lane::default()), 9);
        // Dispatch on a plain thread, so a dispatch that waits for the stuck write fails the
        // test instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(run::<Produce>(&ctx, produce_body("t")).expect("dispatch"));
        });
        let dispatched = rx.recv_timeout(Duration::from_secs(5));
        drop(hold);
        let Ok(Dispatch::Later(answer)) = dispatched else {
            panic!("the produce must be answered later, not appended on the dispatching thread")
        };
        assert_eq!(stuck.join().unwrap(), 0);
        assert!(matches!(answer.await, Deferred::Send(_)));
        assert_eq!(part.offsets().log_end, 3, "the produce appended after the stuck write");
    }
}
