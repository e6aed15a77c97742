//! ShareFetch (key 78, v1): a share consumer's fetch in its share session (KIP-932). It carries
//! acknowledgements of records fetched before, and acquires records for the member from every
//! partition of its session: whole log batches as stored (never re-encoded) with the offset
//! ranges the member now holds and their delivery counts. With nothing to acquire it waits up
//! to MaxWaitMs for new records, releases or expired locks. Epoch -1 acknowledges, fetches
//! nothing and closes the session, releasing what the member still holds. v2 adds the
//! acquire mode (KIP-1206: whole batches, or exactly MaxRecords) and renewals (KIP-1222:
//! RENEW acknowledgements restart locks; nothing is fetched).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::select_all;
use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::share_fetch_response::{AcquiredRecords, PartitionData, ShareFetchableTopicResponse};
use kafka_protocol::messages::{ApiKey, ShareFetchRequest, ShareFetchResponse};
use tokio::time::Instant;
use uuid::Uuid;

use super::share_acks::{self, AckResult, Acks};
use super::{sb, Handler, Reply, RequestContext, ResponseErrors, Subject};
use crate::auth::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::error::ErrorCode;
use crate::share::group::MAX_MEMBER_ID_LEN;
use crate::share::manager::{FetchBudget, GroupSettings, PartitionFetch};
use crate::share::partition::AcquireMode;
use crate::share::session::{FINAL_EPOCH, INITIAL_EPOCH};

pub struct ShareFetch;

fn top_level(code: i16, message: Option<&str>) -> ShareFetchResponse {
    ShareFetchResponse::default().with_error_code(code).with_error_message(message.map(sb))
}

/// What one fetch round got, by partition.
type Round = BTreeMap<(Uuid, i32), PartitionFetch>;

/// Fetches every session partition once (in session order), within the request's record and
/// byte budgets.
fn fetch_round(
    broker: &Broker,
    group: &Arc<str>,
    member: &Arc<str>,
    partitions: &[(Uuid, i32)],
    budget: FetchBudget,
    settings: &GroupSettings,
) -> Round {
    let mut out = Round::new();
    let (mut records_left, mut bytes_left) = (budget.max_records, budget.max_bytes);
    for &(topic_id, partition) in partitions {
        let Some(topic) = broker.topics.get_by_id(&topic_id) else {
            out.insert((topic_id, partition), PartitionFetch { error: E::UnknownTopicId.code(), ..Default::default() });
            continue;
        };
        let log = match broker.replicas.partition(&topic.name, partition) {
            Ok(l) => l,
            Err(e) => {
                out.insert((topic_id, partition), PartitionFetch { error: e.code(), ..Default::default() });
                continue;
            }
        };
        let key = (group.clone(), topic_id, partition);
        let left = FetchBudget { max_records: records_left, max_bytes: bytes_left, mode: budget.mode };
        let got = broker.shares.fetch(&key, &topic.name, log.as_ref(), member, left, settings);
        let taken: i64 = got.acquired.iter().map(|a| a.last_offset - a.first_offset + 1).sum();
        records_left = records_left.saturating_sub(taken.max(0) as usize);
        bytes_left = bytes_left.saturating_sub(got.records.len());
        out.insert((topic_id, partition), got);
    }
    out
}

/// The response's partitions: each fetched one (only those with records or an error after the
/// session's first fetch) and each acknowledged one.
fn response(round: Round, acks: BTreeMap<(Uuid, i32), AckResult>, all: bool, lock_ms: i32) -> ShareFetchResponse {
    let mut by_topic: BTreeMap<Uuid, Vec<PartitionData>> = BTreeMap::new();
    let mut acks = acks;
    for ((topic_id, partition), f) in round {
        let ack = acks.remove(&(topic_id, partition));
        if !all && f.acquired.is_empty() && f.error == 0 && ack.is_none() {
            continue;
        }
        let (ack_code, ack_message) = ack.unwrap_or((0, None));
        let acquired = f
            .acquired
            .iter()
            .map(|a| {
                AcquiredRecords::default()
                    .with_first_offset(a.first_offset)
                    .with_last_offset(a.last_offset)
                    .with_delivery_count(a.delivery_count)
            })
            .collect();
        by_topic.entry(topic_id).or_default().push(
            PartitionData::default()
                .with_partition_index(partition)
                .with_error_code(f.error)
                .with_acknowledge_error_code(ack_code)
                .with_acknowledge_error_message(ack_message.map(sb))
                .with_records(Some(f.records))
                .with_acquired_records(acquired),
        );
    }
    for ((topic_id, partition), (code, message)) in acks {
        by_topic.entry(topic_id).or_default().push(
            PartitionData::default()
                .with_partition_index(partition)
                .with_acknowledge_error_code(code)
                .with_acknowledge_error_message(message.map(sb))
                .with_records(Some(Default::default())),
        );
    }
    let responses = by_topic
        .into_iter()
        .map(|(t, parts)| ShareFetchableTopicResponse::default().with_topic_id(t).with_partitions(parts))
        .collect();
    ShareFetchResponse::default().with_acquisition_lock_timeout_ms(lock_ms).with_responses(responses)
}

impl Handler for ShareFetch {
    type Request = ShareFetchRequest;
    type Response = ShareFetchResponse;
    const KEY: ApiKey = ApiKey::ShareFetch;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 2;
    /// Waits for records to acquire (up to MaxWaitMs).
    const LONG_WAIT: bool = true;

    fn handle(ctx: &RequestContext, req: ShareFetchRequest) -> Reply<ShareFetchResponse> {
        let broker = ctx.broker.clone();
        let group_id = req.group_id.as_ref().map(|g| g.0.to_string()).unwrap_or_default();
        if !ctx.authorized(AclOperation::Read, ResourceType::Group, &group_id) {
            return Reply::Now(top_level(E::GroupAuthorizationFailed.code(), None));
        }
        let member_id = req.member_id.as_deref().unwrap_or("");
        if member_id.is_empty() || member_id.len() > MAX_MEMBER_ID_LEN {
            return Reply::Now(top_level(E::InvalidRequest.code(), Some("Invalid member id in the request.")));
        }
        if group_id.is_empty() {
            return Reply::Now(top_level(E::InvalidGroupId.code(), Some("Invalid group id in the request.")));
        }
        // v2 (KIP-1222): a renewal carries acknowledgements only, and fetches nothing.
        let renew = req.is_renew_ack;
        if renew && (req.max_bytes != 0 || req.min_bytes != 0 || req.max_records != 0 || req.max_wait_ms != 0) {
            return Reply::Now(top_level(
                E::InvalidRequest.code(),
                Some("maxBytes must be set to 0, minBytes must be set to 0, maxWaitMs must be set to 0 and maxRecords must be set to 0 if isRenewAck is true."),
            ));
        }
        let mode = match req.share_acquire_mode {
            0 => AcquireMode::BatchOptimized,
            1 => AcquireMode::RecordLimit,
            _ => return Reply::Now(top_level(E::UnknownServerError.code(), Some("Unknown share acquire mode."))),
        };
        let group: Arc<str> = Arc::from(group_id.as_str());
        let member: Arc<str> = Arc::from(member_id);
        let epoch = req.share_session_epoch;
        let mut add = Vec::new();
        let mut acks = Acks::new();
        for t in &req.topics {
            for p in &t.partitions {
                add.push((t.topic_id, p.partition_index));
                if !p.acknowledgement_batches.is_empty() {
                    let wire = p
                        .acknowledgement_batches
                        .iter()
                        .map(|b| (b.first_offset, b.last_offset, &b.acknowledge_types[..]));
                    acks.insert((t.topic_id, p.partition_index), share_acks::batches(wire));
                }
            }
        }
        if epoch == INITIAL_EPOCH && !acks.is_empty() {
            return Reply::Now(top_level(
                E::InvalidRequest.code(),
                Some("Acknowledge data present on initial fetch request"),
            ));
        }
        let forget: Vec<(Uuid, i32)> =
            req.forgotten_topics_data.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.topic_id, *p))).collect();
        let session = match broker.shares.sessions.fetch(&group, &member, epoch, &add, &forget, ctx.session.id) {
            Ok(s) => s,
            Err((code, message)) => return Reply::Now(top_level(code, Some(message))),
        };
        let denied = session.partitions.iter().any(|(t, _)| {
            broker
                .topics
                .get_by_id(t)
                .is_some_and(|t| !ctx.authorized(AclOperation::Read, ResourceType::Topic, &t.name))
        });
        if denied {
            return Reply::Now(top_level(E::TopicAuthorizationFailed.code(), None));
        }
        let settings = broker.share_settings(&group);
        let lock_ms = settings.limits.lock_duration.as_millis().min(i32::MAX as u128) as i32;
        let acked = share_acks::acknowledge(ctx, &group, &member, acks, renew, &settings);
        if epoch == FINAL_EPOCH || renew {
            let closing = epoch == FINAL_EPOCH;
            return Reply::Later(
                async move {
                    let acks = acked.await;
                    if closing {
                        share_acks::close_session(&broker, &group, &member);
                    }
                    response(Round::new(), acks, false, lock_ms)
                }
                .boxed(),
            );
        }
        let mut partitions = session.partitions.clone();
        if !partitions.is_empty() {
            let n = partitions.len();
            partitions.rotate_left(epoch.unsigned_abs() as usize % n);
        }
        let max_records = req.max_records.max(0) as usize;
        let max_bytes = req.max_bytes.clamp(0, broker.config.fetch_max_bytes) as usize;
        let budget = FetchBudget { max_records, max_bytes, mode };
        let wait = Duration::from_millis(req.max_wait_ms.max(0) as u64);
        let all = epoch == INITIAL_EPOCH;
        Reply::Later(
            async move {
                let acks = acked.await;
                let deadline = Instant::now() + wait;
                let mut changed = broker.shares.subscribe();
                let mut watchers: Vec<_> = partitions
                    .iter()
                    .filter_map(|(t, p)| {
                        let topic = broker.topics.get_by_id(t)?;
                        broker.replicas.partition(&topic.name, *p).ok().map(|l| l.subscribe())
                    })
                    .collect();
                loop {
                    changed.borrow_and_update();
                    for w in &mut watchers {
                        w.borrow_and_update();
                    }
                    let round = fetch_round(&broker, &group, &member, &partitions, budget, &settings);
                    let got = round.values().any(|f| !f.acquired.is_empty() || f.error != 0);
                    if got || max_records == 0 || Instant::now() >= deadline || partitions.is_empty() {
                        let served: Vec<(Uuid, i32)> =
                            round.iter().filter(|(_, f)| !f.acquired.is_empty()).map(|(k, _)| *k).collect();
                        broker.shares.sessions.rotate(&group, &member, &served);
                        return response(round, acks, all, lock_ms);
                    }
                    let woke = select_all(
                        watchers
                            .iter_mut()
                            .map(|w| w.changed().map(|_| ()).boxed())
                            .chain([changed.changed().map(|_| ()).boxed()]),
                    );
                    let _ = tokio::time::timeout_at(deadline, woke).await;
                }
            }
            .boxed(),
        )
    }

    fn payloads(resp: &ShareFetchResponse) -> Vec<bytes::Bytes> {
        resp.responses.iter().flat_map(|t| t.partitions.iter().filter_map(|p| p.records.clone())).collect()
    }

    fn error_response(_req: &ShareFetchRequest, code: i16) -> ShareFetchResponse {
        top_level(code, None)
    }

    fn subject(req: &ShareFetchRequest) -> Option<Subject> {
        req.group_id.as_ref().map(|g| Subject::Group(g.0.clone()))
    }

    fn errors(resp: &ShareFetchResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
        for t in &resp.responses {
            for p in &t.partitions {
                seen.topic_or_id(&Default::default(), t.topic_id, p.error_code);
                seen.topic_or_id(&Default::default(), t.topic_id, p.acknowledge_error_code);
            }
        }
    }
}
