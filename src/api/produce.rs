//! Produce (key 0): hands each partition's record batch to the replica manager (which finds
//! the partition, lets the log validate and append it verbatim with broker-assigned
//! offsets, and arranges the durability `acks` asks for), and turns the outcomes into the
//! response: the only place produce errors become codes and messages.
//!
//! Versions: v12 (KIP-890 part 2) is a transaction version 2 client's: its transactional
//! batches add their partitions to the transaction (`produce_txn`). v13 (KIP-516) names each
//! topic by its id: looked up once per request, answered with
//! the id, and an unknown id gets UNKNOWN_TOPIC_ID for each of its partitions (Kafka's
//! `handleProduceRequest`).
//!
//! A transactional batch is verified with the transaction coordinator first (KIP-890, see
//! `produce_txn`). Produces without a transactional id skip this.

use std::sync::Arc;

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::produce_request::TopicProduceData;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ApiKey, ProduceRequest, ProduceResponse, TopicName};

use super::{produce_txn, sb, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::error::ErrorCode;
use crate::log::batch;
use crate::log::validate::ValidationError;
use crate::log::{AppendError, AppendResult};
use crate::replica::{AppendOrigin, ProduceEntry, ProduceError};
use crate::topic::Topic;

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

/// The first version that names topics by id (KIP-516).
const TOPIC_IDS: i16 = 13;

/// How a request names its topics: by name below v13 (nothing to look up), by id from v13,
/// each id looked up once in the topic registry (`None`: no such topic).
pub(super) enum TopicNames {
    Named,
    ById(Vec<Option<Arc<Topic>>>),
}

impl TopicNames {
    fn resolve(ctx: &RequestContext, req: &ProduceRequest) -> Self {
        if ctx.api_version < TOPIC_IDS {
            return TopicNames::Named;
        }
        TopicNames::ById(req.topic_data.iter().map(|td| ctx.broker.topics.get_by_id(&td.topic_id)).collect())
    }

    /// The name of the request's `i`th topic, whose name field is `name`; `None` for an
    /// unknown topic id.
    pub(super) fn name<'a>(&'a self, i: usize, name: &'a TopicName) -> Option<&'a str> {
        match self {
            TopicNames::Named => Some(name.0.as_str()),
            TopicNames::ById(topics) => topics[i].as_deref().map(|t| &*t.name),
        }
    }
}

impl Handler for Produce {
    type Request = ProduceRequest;
    type Response = ProduceResponse;
    const KEY: ApiKey = ApiKey::Produce;
    const MIN_VERSION: i16 = 3;
    const MAX_VERSION: i16 = 13;

    /// A produce into a partition whose append is stuck would wait for it on an async worker
    /// (and a second one would stop the other worker too); such produces go to the blocking
    /// pool instead, still in request order. Normal appends take microseconds.
    fn on_blocking_pool(ctx: &RequestContext, req: &ProduceRequest) -> bool {
        let stalled = req.topic_data.iter().any(|td| {
            let by_id;
            let topic = if ctx.api_version >= TOPIC_IDS {
                by_id = ctx.broker.topics.get_by_id(&td.topic_id);
                match &by_id {
                    Some(t) => &*t.name,
                    None => return false,
                }
            } else {
                td.name.0.as_str()
            };
            td.partition_data
                .iter()
                .any(|pd| ctx.broker.replicas.local(topic, pd.index).is_ok_and(|p| p.write_stalled(STALLED)))
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
        let mut req = req;
        let mut names = TopicNames::resolve(ctx, &req);
        let denied = take_unauthorized(ctx, &mut req, &mut names);
        if !denied.is_empty() {
            return Self::authorized_part(ctx, req, names).map(move |mut resp| {
                resp.responses.extend(denied);
                resp
            });
        }
        Self::authorized_part(ctx, req, names)
    }

    fn error_response(req: &ProduceRequest, code: i16) -> ProduceResponse {
        error_response(req, code)
    }

    fn errors(resp: &ProduceResponse, seen: &mut ResponseErrors) {
        for t in &resp.responses {
            for p in &t.partition_responses {
                seen.topic_or_id(&t.name, t.topic_id, p.error_code);
            }
        }
    }
}

/// Takes the topics the principal may not WRITE out of `req` (Kafka checks before it looks
/// for the topic, so whether one exists is not told): their answers, TOPIC_AUTHORIZATION_FAILED
/// for each partition. An unknown topic id stays, to be answered UNKNOWN_TOPIC_ID.
fn take_unauthorized(
    ctx: &RequestContext,
    req: &mut ProduceRequest,
    names: &mut TopicNames,
) -> Vec<TopicProduceResponse> {
    let may_write = |(i, td): (usize, &TopicProduceData)| {
        names.name(i, &td.name).is_none_or(|n| ctx.authorized(AclOperation::Write, ResourceType::Topic, n))
    };
    // The common case (every topic allowed) allocates nothing.
    if req.topic_data.iter().enumerate().all(may_write) {
        return Vec::new();
    }
    let allowed: Vec<bool> = req.topic_data.iter().enumerate().map(may_write).collect();
    if let TopicNames::ById(topics) = names {
        let mut keep = allowed.iter();
        topics.retain(|_| *keep.next().unwrap_or(&true));
    }
    let mut keep = allowed.iter();
    let (kept, denied): (Vec<_>, Vec<_>) =
        std::mem::take(&mut req.topic_data).into_iter().partition(|_| *keep.next().unwrap_or(&true));
    req.topic_data = kept;
    denied
        .into_iter()
        .map(|td| {
            let code = E::TopicAuthorizationFailed.code();
            let parts = td.partition_data.iter().map(|pd| partition_error(pd.index, code, None)).collect();
            TopicProduceResponse::default()
                .with_name(td.name)
                .with_topic_id(td.topic_id)
                .with_partition_responses(parts)
        })
        .collect()
}

impl Produce {
    /// The produce of the topics the principal may write.
    fn authorized_part(ctx: &RequestContext, req: ProduceRequest, names: TopicNames) -> Reply<ProduceResponse> {
        let Some(id) = req.transactional_id.as_ref().map(|id| id.to_string()) else {
            return answer(&ctx.broker, req, names, Vec::new());
        };
        let version = ctx.api_version;
        if let Some(missing) = produce_txn::implicit_adds(&ctx.broker, version, &id, &req, &names) {
            // Transaction version 2: the partitions join the transaction, then the produce
            // goes on (a partition that could not join is refused by the check, with why).
            let broker = ctx.broker.clone();
            return Reply::Later(
                async move {
                    produce_txn::add(&broker, &id, missing).await;
                    let refused = produce_txn::verify(&broker, version, &id, &req, &names);
                    match answer(&broker, req, names, refused) {
                        Reply::Now(r) => r,
                        Reply::Later(f) => f.await,
                        Reply::None => ProduceResponse::default(), // acks=0 never adds implicitly
                    }
                }
                .boxed(),
            );
        }
        let refused = produce_txn::verify(&ctx.broker, version, &id, &req, &names);
        answer(&ctx.broker, req, names, refused)
    }
}

fn error_response(req: &ProduceRequest, code: i16) -> ProduceResponse {
    let responses = req
        .topic_data
        .iter()
        .map(|td| {
            let parts = td.partition_data.iter().map(|pd| partition_error(pd.index, code, None)).collect();
            TopicProduceResponse::default()
                .with_name(td.name.clone())
                .with_topic_id(td.topic_id)
                .with_partition_responses(parts)
        })
        .collect();
    ProduceResponse::default().with_responses(responses)
}

/// Appends what was not refused (`refused`: (topic, partition, code, message)) and answers.
fn answer(
    broker: &Arc<Broker>,
    req: ProduceRequest,
    names: TopicNames,
    refused: Vec<(String, i32, i16, String)>,
) -> Reply<ProduceResponse> {
    let refusal = |topic: &str, partition: i32| refused.iter().find(|r| r.0 == topic && r.1 == partition);
    // Unknown topic ids append nothing: they are answered below without a result.
    let known = req.topic_data.iter().enumerate().filter_map(|(i, td)| Some((names.name(i, &td.name)?, td)));
    let entries = known.flat_map(|(topic, td)| {
        td.partition_data.iter().map(move |pd| ProduceEntry {
            topic,
            partition: pd.index,
            // A refused partition appends nothing (it is answered with its refusal).
            records: if refusal(topic, pd.index).is_some() { None } else { pd.records.clone() },
        })
    });
    let outcome = broker.replicas.append_records(req.acks, AppendOrigin::Client, entries);
    if req.acks == 0 {
        return Reply::None;
    }
    let mut results = outcome.results.into_iter();
    let mut responses = Vec::with_capacity(req.topic_data.len());
    for (i, td) in req.topic_data.into_iter().enumerate() {
        let Some(topic) = names.name(i, &td.name) else {
            let parts =
                td.partition_data.iter().map(|pd| partition_error(pd.index, E::UnknownTopicId.code(), None)).collect();
            responses.push(TopicProduceResponse::default().with_topic_id(td.topic_id).with_partition_responses(parts));
            continue;
        };
        let mut parts = Vec::with_capacity(td.partition_data.len());
        for pd in &td.partition_data {
            let Some(result) = results.next() else { break };
            if let Some((_, _, code, message)) = refusal(topic, pd.index) {
                parts.push(partition_error(pd.index, *code, Some(message.clone())));
                continue;
            }
            if let Err(e) = &result {
                tracing::debug!(topic, partition = pd.index, code = e.code(), "produce rejected: {e}");
            }
            parts.push(partition_response(pd.index, result));
        }
        // The name below v13, the id from v13 (each is empty in the other's versions).
        responses.push(
            TopicProduceResponse::default()
                .with_name(td.name)
                .with_topic_id(td.topic_id)
                .with_partition_responses(parts),
        );
    }
    let resp = ProduceResponse::default().with_responses(responses);
    let Some(durable) = outcome.durable else { return Reply::Now(resp) };
    Reply::Later(
        async move {
            let mut resp = resp;
            // Only the partitions whose fsync failed are answered with the error: the
            // others are durable, and an error would make the client send them again.
            let mut outcomes = durable.await.into_iter();
            for (i, t) in resp.responses.iter_mut().enumerate() {
                // An unknown topic id appended nothing, so it has no outcome.
                let Some(topic) = names.name(i, &t.name) else { continue };
                for p in t.partition_responses.iter_mut() {
                    let Some(Err(e)) = outcomes.next() else { continue };
                    if p.error_code == NONE {
                        tracing::error!(topic, partition = p.index, "fsync before acknowledging failed: {e}");
                        *p = partition_error(p.index, e.code(), Some(e.to_string()));
                    }
                }
            }
            resp
        }
        .boxed(),
    )
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

    fn produce_body(topic: &str, id: uuid::Uuid, v: i16) -> Bytes {
        let mut body = Vec::new();
        crate::log::records::encode_record(&mut body, 0, 0, None, Some(b"after the stall"), &[]);
        let records = build_batch(0, 1, 1, &body);
        let data = vec![PartitionProduceData::default().with_index(0).with_records(Some(records))];
        let topic = if v >= TOPIC_IDS {
            TopicProduceData::default().with_topic_id(id)
        } else {
            TopicProduceData::default().with_name(TopicName(sb(topic)))
        };
        let req = ProduceRequest::default()
            .with_acks(1)
            .with_timeout_ms(5_000)
            .with_topic_data(vec![topic.with_partition_data(data)]);
        let mut b = BytesMut::new();
        req.encode(&mut b, v).expect("encode");
        b.freeze()
    }

    /// A produce into a partition whose write is stuck does not wait for it on the calling
    /// (async) thread: it is answered later, after the stuck write, with the next offsets.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_produce_behind_a_stuck_write_leaves_the_async_worker() {
        behind_a_stuck_write(9).await;
    }

    /// The same for a v13 produce, which names its topic by id.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_produce_by_topic_id_behind_a_stuck_write_leaves_the_async_worker() {
        behind_a_stuck_write(TOPIC_IDS).await;
    }

    async fn behind_a_stuck_write(v: i16) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (broker, _) = Broker::open(crate::config::BrokerConfig::for_tests(dir.path())).expect("broker");
        broker.topics.create("t", 1, 1, &[], false).expect("topic");
        let id = broker.topics.get("t").expect("topic").id;
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
        let ctx = RequestContext::for_tests(broker.clone(), Arc::new(Lane::default()), v);
        // Dispatch on a plain thread, so a dispatch that waits for the stuck write fails the
        // test instead of hanging it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(run::<Produce>(&ctx, produce_body("t", id, v)).expect("dispatch"));
        });
        let dispatched = rx.recv_timeout(Duration::from_secs(5));
        drop(hold);
        let Ok(Dispatch::Later(answer)) = dispatched else {
            panic!("the produce must be answered later, not appended on the dispatching thread")
        };
        assert_eq!(stuck.join().unwrap(), 0);
        assert!(matches!(answer.await, Deferred::Send(..)));
        assert_eq!(part.offsets().log_end, 3, "the produce appended after the stuck write");
    }

    /// Produce stops short of no version the crate decodes, so a handler capped at v11
    /// stands in: a request at a version decoded but not served gets UNSUPPORTED_VERSION for
    /// every partition (Produce's `error_response`, Kafka's getErrorResponse), known topic or
    /// not, and nothing is appended.
    struct CappedAt11;

    impl Handler for CappedAt11 {
        type Request = ProduceRequest;
        type Response = ProduceResponse;
        const KEY: ApiKey = ApiKey::Produce;
        const MIN_VERSION: i16 = 3;
        const MAX_VERSION: i16 = 11;

        fn handle(_ctx: &RequestContext, _req: ProduceRequest) -> Reply<ProduceResponse> {
            unreachable!("only called within the served range")
        }

        fn error_response(req: &ProduceRequest, code: i16) -> ProduceResponse {
            Produce::error_response(req, code)
        }

        fn errors(resp: &ProduceResponse, seen: &mut ResponseErrors) {
            Produce::errors(resp, seen)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unserved_version_errors_every_partition() {
        use kafka_protocol::messages::ResponseHeader;
        use kafka_protocol::protocol::Decodable;

        let dir = tempfile::tempdir().expect("tempdir");
        let (broker, _) = Broker::open(crate::config::BrokerConfig::for_tests(dir.path())).expect("broker");
        broker.topics.create("uv", 2, 1, &[], false).expect("topic");
        let part = |i| PartitionProduceData::default().with_index(i).with_records(Some(build_batch(0, 1, 1, b"x")));
        let req = ProduceRequest::default().with_acks(-1).with_timeout_ms(5_000).with_topic_data(vec![
            TopicProduceData::default().with_name(TopicName(sb("uv"))).with_partition_data(vec![part(0), part(1)]),
            TopicProduceData::default().with_name(TopicName(sb("uv-missing"))).with_partition_data(vec![part(0)]),
        ]);
        let mut body = BytesMut::new();
        req.encode(&mut body, 12).expect("encode");
        let ctx = RequestContext::for_tests(broker.clone(), Arc::new(Lane::default()), 12);
        let Ok(Dispatch::Ready(frame, errors)) = run::<CappedAt11>(&ctx, body.freeze()) else {
            panic!("an unserved version is answered at once")
        };
        // The error report counts each partition and names its topics.
        let seen: Vec<_> = errors.iter().collect();
        assert_eq!((seen.len(), seen[0].code, seen[0].count), (1, E::UnsupportedVersion.code(), 3));
        let about: Vec<String> = seen[0].subjects.iter().map(|s| s.to_string()).collect();
        assert_eq!(about, ["topic uv", "topic uv-missing"]);
        let mut frame = frame.to_bytes().slice(4..);
        ResponseHeader::decode(&mut frame, ApiKey::Produce.response_header_version(12)).expect("header");
        let resp = ProduceResponse::decode(&mut frame, 12).expect("v12 response");
        let codes: Vec<(String, i32, i16)> = resp
            .responses
            .iter()
            .flat_map(|t| t.partition_responses.iter().map(|p| (t.name.0.to_string(), p.index, p.error_code)))
            .collect();
        let unsupported = E::UnsupportedVersion.code();
        assert_eq!(
            codes,
            [("uv".into(), 0, unsupported), ("uv".into(), 1, unsupported), ("uv-missing".into(), 0, unsupported)]
        );
        for i in 0..2 {
            assert_eq!(broker.logs.get("uv", i).expect("partition").offsets().log_end, 0, "nothing appended");
        }
    }
}
