//! Fetch (key 1): reads whole batches from the log (bytes as stored, never re-encoded) with
//! long-poll: if less than `min_bytes` is available, the request waits until an append
//! advances a requested partition's high watermark (or its last stable offset) or
//! `max_wait_ms` passes. Fetch sessions are answered sessionless (session id 0), which every
//! client supports.
//!
//! Isolation (Kafka's `FetchIsolation`): read_uncommitted reads up to the high watermark,
//! transaction markers and open transactions included; read_committed (`isolation_level = 1`)
//! reads only below the last stable offset and gets the aborted transactions overlapping what
//! it read, so the client drops their records.
//!
//! Size: a response's record bytes stay within the request's `max_bytes`, the broker's
//! `fetch.max.bytes` and what the connection's [`ResponseBudget`] has left, whatever the
//! partitions' `partition_max_bytes` add up to; only the response's first batch may exceed
//! them (KIP-74, so a consumer always progresses past a large batch).
//!
//! v13+ names topics by id. v18 adds only a follower's `high_watermark` per partition
//! (KIP-1166), which a consumer's request leaves at its default and Brook, with no
//! followers, ignores.

use std::sync::Arc;
use std::time::Duration;

use futures::future::select_all;
use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::fetch_response::{AbortedTransaction, FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse, ProducerId, TopicName};
use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

use super::{Handler, Reply, RequestContext, ResponseBudget, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::log::batch;
use crate::log::{Isolation, PartitionLog, ReadError};

pub struct Fetch;

/// READ_COMMITTED isolation level.
const READ_COMMITTED: i8 = 1;

/// One requested partition, resolved once per request.
struct Wanted {
    index: i32,
    part: Result<Arc<dyn PartitionLog>, i16>,
    fetch_offset: i64,
    max_bytes: usize,
}

struct WantedTopic {
    name: TopicName,
    id: Uuid,
    partitions: Vec<Wanted>,
}

struct Plan {
    topics: Vec<WantedTopic>,
    max_bytes: usize,
    committed: bool,
}

/// Finds each requested partition, once. A topic the principal may not READ is
/// TOPIC_AUTHORIZATION_FAILED whether it exists or not (Kafka's `handleFetchRequest`); only an
/// unknown topic id is told first, as there is no name to authorize. A fetch naming a replica
/// id is a follower's: it needs CLUSTER_ACTION on the cluster instead, without which every
/// partition is refused.
fn resolve(ctx: &RequestContext, req: &FetchRequest, version: i16) -> Plan {
    let broker = &ctx.broker;
    let replica = if version >= 15 { req.replica_state.replica_id.0 } else { req.replica_id.0 };
    let follower_refused = replica >= 0 && !ctx.cluster_authorized(AclOperation::ClusterAction);
    let topics = req
        .topics
        .iter()
        .map(|ft| {
            let (topic, missing) = if version >= 13 {
                (broker.topics.get_by_id(&ft.topic_id), E::UnknownTopicId.code())
            } else {
                (broker.topics.get(&ft.topic.0), E::UnknownTopicOrPartition.code())
            };
            let name = topic.as_ref().map_or(ft.topic.0.as_str(), |t| &*t.name);
            let denied = follower_refused
                || (replica < 0
                    && (version < 13 || topic.is_some())
                    && !ctx.authorized(AclOperation::Read, ResourceType::Topic, name));
            let partitions = ft
                .partitions
                .iter()
                .map(|fp| Wanted {
                    index: fp.partition,
                    part: match &topic {
                        _ if denied => Err(E::TopicAuthorizationFailed.code()),
                        Some(t) => broker
                            .replicas
                            .partition_at_epoch(&t.name, fp.partition, fp.current_leader_epoch)
                            .map_err(|e| e.code()),
                        None => Err(missing),
                    },
                    fetch_offset: fp.fetch_offset,
                    max_bytes: fp.partition_max_bytes.max(0) as usize,
                })
                .collect();
            WantedTopic { name: ft.topic.clone(), id: ft.topic_id, partitions }
        })
        .collect();
    // Kafka: min(request max_bytes, fetch.max.bytes).
    let max_bytes = req.max_bytes.clamp(0, broker.config.fetch_max_bytes) as usize;
    Plan { topics, max_bytes, committed: req.isolation_level == READ_COMMITTED }
}

fn empty_partition(index: i32, code: i16) -> PartitionData {
    PartitionData::default()
        .with_partition_index(index)
        .with_error_code(code)
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
}

/// Reads every requested partition once; returns the response parts and the bytes gathered.
/// `any_error` is set when a partition failed (errors end a long-poll early, as in Kafka).
/// Reads at most what `budget` allows now (nothing at all if the client has not read what it
/// was already sent).
fn read_all(plan: &Plan, budget: &ResponseBudget) -> (Vec<FetchableTopicResponse>, usize, bool) {
    let allowance = budget.fetch_allowance();
    let limit = plan.max_bytes.min(allowance);
    let mut total = 0usize;
    let mut any_error = false;
    let mut out = Vec::with_capacity(plan.topics.len());
    for wt in &plan.topics {
        let mut parts = Vec::with_capacity(wt.partitions.len());
        for w in &wt.partitions {
            let part = match &w.part {
                Ok(p) => p,
                Err(code) => {
                    any_error = true;
                    parts.push(empty_partition(w.index, *code));
                    continue;
                }
            };
            // Each partition gets what the response has left, so the partitions' own limits
            // cannot add up past the response's.
            let room = limit.saturating_sub(total).min(w.max_bytes);
            let isolation = if plan.committed { Isolation::Committed } else { Isolation::HighWatermark };
            // KIP-74: the first batch goes whole even past `max_bytes` (0 included), so the
            // consumer progresses; not while the client has not read what it was sent.
            match part.read_at(w.fetch_offset, room, total == 0 && allowance > 0, isolation) {
                Ok(r) => {
                    total += r.records.len();
                    part.note_fetched(&r.records);
                    // read_committed: the aborted transactions overlapping what was read (none
                    // when nothing was); read_uncommitted: null, as Kafka sends it.
                    let aborted = plan.committed.then(|| match batch::next_offset_after(&r.records) {
                        Some(upper) => part
                            .aborted_transactions(w.fetch_offset, upper)
                            .into_iter()
                            .map(|(producer_id, first_offset)| {
                                AbortedTransaction::default()
                                    .with_producer_id(ProducerId(producer_id))
                                    .with_first_offset(first_offset)
                            })
                            .collect(),
                        None => Vec::new(),
                    });
                    parts.push(
                        PartitionData::default()
                            .with_partition_index(w.index)
                            .with_error_code(NONE)
                            .with_high_watermark(r.offsets.high_watermark)
                            .with_last_stable_offset(r.offsets.last_stable)
                            .with_log_start_offset(r.offsets.log_start)
                            .with_aborted_transactions(aborted)
                            .with_records(Some(r.records)),
                    );
                }
                Err(ReadError::OffsetOutOfRange { log_start, high_watermark, .. }) => {
                    any_error = true;
                    parts.push(
                        empty_partition(w.index, E::OffsetOutOfRange.code())
                            .with_high_watermark(high_watermark)
                            .with_last_stable_offset(high_watermark)
                            .with_log_start_offset(log_start),
                    );
                }
                Err(ReadError::Storage(e)) => {
                    tracing::error!(topic = part.topic(), partition = w.index, "fetch read failed: {e}");
                    any_error = true;
                    parts.push(empty_partition(w.index, E::KafkaStorageError.code()));
                }
            }
        }
        out.push(
            FetchableTopicResponse::default().with_topic(wt.name.clone()).with_topic_id(wt.id).with_partitions(parts),
        );
    }
    (out, total, any_error)
}

fn response(topics: Vec<FetchableTopicResponse>) -> FetchResponse {
    FetchResponse::default().with_error_code(NONE).with_session_id(0).with_responses(topics)
}

impl Handler for Fetch {
    type Request = FetchRequest;
    type Response = FetchResponse;
    const KEY: ApiKey = ApiKey::Fetch;
    const MIN_VERSION: i16 = 4;
    const MAX_VERSION: i16 = 18;
    /// A long-poll waits for new data (up to `max_wait_ms`).
    const LONG_WAIT: bool = true;

    fn handle(ctx: &RequestContext, req: FetchRequest) -> Reply<FetchResponse> {
        let v = ctx.api_version;
        // Epochs 0 (INITIAL) and -1 (FINAL) are full fetches, served sessionless. Any other
        // epoch continues a session, and we never create one (Kafka's FetchManager rules).
        if v >= 7 && req.session_epoch != 0 && req.session_epoch != -1 {
            return Reply::Now(FetchResponse::default().with_error_code(E::FetchSessionIdNotFound.code()));
        }
        let plan = resolve(ctx, &req, v);
        // Subscribe before the first read so an append in between still wakes us.
        let mut watchers: Vec<watch::Receiver<i64>> = plan
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .filter_map(|w| w.part.as_ref().ok().map(|p| p.subscribe()))
            .collect();
        let (topics, total, any_error) = read_all(&plan, &ctx.budget);
        let min_bytes = req.min_bytes.max(0) as usize;
        if total >= min_bytes.max(1) || any_error || req.max_wait_ms <= 0 || watchers.is_empty() {
            return Reply::Now(response(topics));
        }
        // Nothing read is held while waiting (the response budget does not count a waiting
        // fetch, and a client could park many): the answer is read again when it is due.
        drop(topics);
        let deadline = Instant::now() + Duration::from_millis(req.max_wait_ms as u64);
        let budget = ctx.budget.clone();
        Reply::Later(
            async move {
                loop {
                    let changed = select_all(watchers.iter_mut().map(|w| w.changed().boxed()));
                    match tokio::time::timeout_at(deadline, changed).await {
                        // Deadline, or a partition deleted: answer with what is there now.
                        Err(_) | Ok((Err(_), _, _)) => return response(read_all(&plan, &budget).0),
                        Ok(_) => {}
                    }
                    for w in &mut watchers {
                        w.borrow_and_update();
                    }
                    let (topics, total, any_error) = read_all(&plan, &budget);
                    if total >= min_bytes.max(1) || any_error {
                        return response(topics);
                    }
                }
            }
            .boxed(),
        )
    }

    fn payloads(resp: &FetchResponse) -> Vec<bytes::Bytes> {
        resp.responses.iter().flat_map(|t| t.partitions.iter().filter_map(|p| p.records.clone())).collect()
    }

    fn error_response(req: &FetchRequest, code: i16) -> FetchResponse {
        let topics = req
            .topics
            .iter()
            .map(|ft| {
                let parts = ft.partitions.iter().map(|fp| empty_partition(fp.partition, code)).collect();
                FetchableTopicResponse::default()
                    .with_topic(ft.topic.clone())
                    .with_topic_id(ft.topic_id)
                    .with_partitions(parts)
            })
            .collect();
        FetchResponse::default().with_error_code(code).with_responses(topics)
    }

    fn errors(resp: &FetchResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
        for t in &resp.responses {
            for p in &t.partitions {
                seen.topic_or_id(&t.topic, t.topic_id, p.error_code);
            }
        }
    }
}
