//! Produce (key 0): hands each partition's record batch to the replica manager (which finds
//! the partition, lets the log validate and append it verbatim with broker-assigned
//! offsets, and arranges the durability `acks` asks for), and turns the outcomes into the
//! response: the only place produce errors become codes and messages.

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse};

use super::{sb, Handler, Reply, RequestContext, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::log::batch;
use crate::log::validate::ValidationError;
use crate::log::{AppendError, AppendResult};
use crate::replica::{AppendOrigin, ProduceEntry, ProduceError};

pub struct Produce;

/// An append writing for longer than this is held up by the page cache (see
/// [`crate::log::Partition::write_stalled`]).
const STALLED: std::time::Duration = std::time::Duration::from_millis(2);

/// Whether a partition's first batch is transactional (Kafka's
/// `RequestUtils.hasTransactionalRecords`: one attribute bit, the batch is not parsed).
fn has_transactional_records(req: &ProduceRequest) -> bool {
    req.topic_data.iter().flat_map(|t| t.partition_data.iter()).any(|p| {
        p.records.as_ref().is_some_and(|r| {
            r.len() >= batch::HEADER_LEN
                && r[16] == 2
                && i16::from_be_bytes([r[21], r[22]]) & batch::ATTR_TRANSACTIONAL != 0
        })
    })
}

fn partition_error(index: i32, code: i16, message: Option<String>) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(code)
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
        .with_error_message(message.map(sb))
}

/// One partition's answer: its offsets, or its error with Kafka's message and (KIP-467) the
/// records at fault.
fn partition_response(index: i32, result: Result<AppendResult, ProduceError>) -> PartitionProduceResponse {
    let e = match result {
        Ok(r) => {
            return PartitionProduceResponse::default()
                .with_index(index)
                .with_error_code(NONE)
                .with_base_offset(r.base_offset)
                .with_log_append_time_ms(r.log_append_time)
                .with_log_start_offset(r.log_start_offset)
        }
        Err(e) => e,
    };
    let code = e.code();
    let message = match &e {
        // Kafka answers an unknown partition without a message.
        ProduceError::Partition(_) => None,
        _ => Some(e.to_string()),
    };
    let record_errors = match e {
        ProduceError::Append(AppendError::Invalid(
            ValidationError::InvalidRecord { record_errors, .. } | ValidationError::InvalidTimestamp { record_errors },
        )) => record_errors
            .into_iter()
            .map(|r| {
                BatchIndexAndErrorMessage::default()
                    .with_batch_index(r.batch_index)
                    .with_batch_index_error_message(Some(sb(r.message)))
            })
            .collect(),
        _ => Vec::new(),
    };
    partition_error(index, code, message).with_record_errors(record_errors)
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
            td.partition_data
                .iter()
                .any(|pd| ctx.broker.replicas.local(&td.name.0, pd.index).is_ok_and(|p| p.write_stalled(STALLED)))
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
        // Kafka's handleProduceRequest: transactional records need a transactional id the
        // principal may write, or the whole request fails.
        if has_transactional_records(&req) {
            let allowed = req
                .transactional_id
                .as_ref()
                .is_some_and(|id| ctx.authorized(AclOperation::Write, ResourceType::TransactionalId, id));
            if !allowed {
                return Reply::Now(Self::error_response(&req, E::TransactionalIdAuthorizationFailed.code()));
            }
        }
        let entries = req.topic_data.iter().flat_map(|td| {
            td.partition_data.iter().map(|pd| ProduceEntry {
                topic: td.name.0.as_str(),
                partition: pd.index,
                records: pd.records.clone(),
            })
        });
        let outcome = ctx.broker.replicas.append_records(req.acks, AppendOrigin::Client, entries);
        if req.acks == 0 {
            return Reply::None;
        }
        let mut results = outcome.results.into_iter();
        let mut responses = Vec::with_capacity(req.topic_data.len());
        for td in req.topic_data {
            let mut parts = Vec::with_capacity(td.partition_data.len());
            for pd in &td.partition_data {
                let Some(result) = results.next() else { break };
                if let Err(e) = &result {
                    tracing::debug!(topic = %td.name.0, partition = pd.index, code = e.code(), "produce rejected: {e}");
                }
                parts.push(partition_response(pd.index, result));
            }
            responses.push(TopicProduceResponse::default().with_name(td.name).with_partition_responses(parts));
        }
        let resp = ProduceResponse::default().with_responses(responses);
        let Some(durable) = outcome.durable else { return Reply::Now(resp) };
        Reply::Later(
            async move {
                let mut resp = resp;
                // Only the partitions whose fsync failed are answered with the error: the
                // others are durable, and an error would make the client send them again.
                let mut outcomes = durable.await.into_iter();
                for t in resp.responses.iter_mut() {
                    for p in t.partition_responses.iter_mut() {
                        let Some(Err(e)) = outcomes.next() else { continue };
                        if p.error_code == NONE {
                            tracing::error!(topic = %t.name.0, partition = p.index, "fsync before acknowledging failed: {e}");
                            *p = partition_error(p.index, e.code(), Some(e.to_string()));
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
    use std::sync::Arc;
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
        broker.topics.create("t", 1, 1, &[], false).expect("topic");
        let part = broker.logs.get("t", 0).expect("partition");
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
