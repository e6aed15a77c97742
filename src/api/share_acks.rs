//! Acknowledgements as ShareFetch (piggybacked) and ShareAcknowledge carry them: validated as
//! Kafka's `validateAcknowledgementBatches` does, applied per share partition (all or nothing),
//! and answered once the new state is durable.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use uuid::Uuid;

use super::RequestContext;
use crate::auth::{AclOperation, ResourceType};
use crate::share::manager::GroupSettings;
use crate::share::partition::{AckBatch, ACK_REJECT, ACK_RENEW};

/// One partition's acknowledgement outcome: error code and message.
pub type AckResult = (i16, Option<String>);

/// A request's acknowledgements by (topic id, partition), a later entry for the same partition
/// replacing an earlier one (as Kafka keeps the last).
pub type Acks = BTreeMap<(Uuid, i32), Vec<AckBatch>>;

/// Kafka's batch checks: ordered, non-overlapping, one type or one per offset, known types
/// (RENEW only with `renew`).
fn valid(batches: &[AckBatch], renew: bool) -> bool {
    let max = if renew { ACK_RENEW } else { ACK_REJECT };
    let mut prev_last: Option<i64> = None;
    for b in batches {
        if b.first_offset > b.last_offset || prev_last.is_some_and(|l| b.first_offset <= l) || b.types.is_empty() {
            return false;
        }
        let span = (b.last_offset - b.first_offset).saturating_add(1);
        if b.types.len() > 1 && b.types.len() as i64 != span {
            return false;
        }
        if b.types.iter().any(|t| *t < 0 || *t > max) {
            return false;
        }
        prev_last = Some(b.last_offset);
    }
    true
}

/// Applies every partition's acknowledgements; the future answers each once durable.
pub fn acknowledge(
    ctx: &RequestContext,
    group: &Arc<str>,
    member: &str,
    acks: Acks,
    renew: bool,
    settings: &GroupSettings,
) -> BoxFuture<'static, BTreeMap<(Uuid, i32), AckResult>> {
    let broker = ctx.broker.clone();
    let mut done: BTreeMap<(Uuid, i32), AckResult> = BTreeMap::new();
    let mut pending = Vec::new();
    let mut dead = Vec::new();
    for ((topic_id, partition), batches) in acks {
        let key = (topic_id, partition);
        let Some(topic) = broker.topics.get_by_id(&topic_id) else {
            done.insert(key, (E::UnknownTopicId.code(), None));
            continue;
        };
        if !valid(&batches, renew) {
            done.insert(key, (E::InvalidRequest.code(), Some("Invalid acknowledgement batches.".into())));
            continue;
        }
        if !ctx.authorized(AclOperation::Read, ResourceType::Topic, &topic.name) {
            done.insert(key, (E::TopicAuthorizationFailed.code(), None));
            continue;
        }
        if !topic.has_partition(partition) {
            done.insert(key, (E::UnknownTopicOrPartition.code(), None));
            continue;
        }
        if batches.is_empty() {
            done.insert(key, (0, None));
            continue;
        }
        match broker.shares.acknowledge(&(group.clone(), topic_id, partition), member, &batches, settings) {
            Ok((p, d)) => {
                pending.push((key, p));
                dead.extend(d);
            }
            Err((code, message)) => {
                done.insert(key, (code, (!message.is_empty()).then_some(message)));
            }
        }
    }
    let mut parts: Vec<_> = pending.iter().filter_map(|(_, p)| p.stored.clone()).collect();
    parts.extend(crate::share::dead_letter::send(&broker, dead));
    let stored = broker.shares.store.wait_stored(parts);
    let settings = settings.clone();
    async move {
        let ok = if pending.is_empty() { true } else { stored.await.is_ok() };
        for (key, p) in pending {
            broker.shares.acked(p, ok, &settings);
            let code = if ok { 0 } else { E::CoordinatorNotAvailable.code() };
            done.insert(key, (code, None));
        }
        done
    }
    .boxed()
}

/// The acknowledgement batches of the wire format.
pub fn batches<'a>(wire: impl Iterator<Item = (i64, i64, &'a [i8])>) -> Vec<AckBatch> {
    wire.map(|(first, last, types)| AckBatch { first_offset: first, last_offset: last, types: types.to_vec() })
        .collect()
}

/// Releases what `member` holds in `partitions` (its share session closed) and stores it.
pub fn release(broker: &crate::broker::Broker, group: &Arc<str>, member: &str, partitions: &[(Uuid, i32)]) {
    let settings = broker.share_settings(group);
    let (mut parts, dead) = broker.shares.release(group, member, partitions, &settings);
    parts.extend(crate::share::dead_letter::send(broker, dead));
    // Also runs when a connection's task is dropped: during a runtime's shutdown there may be
    // no runtime to wait on (the next start replays what reached the log).
    if let (false, Ok(rt)) = (parts.is_empty(), tokio::runtime::Handle::try_current()) {
        rt.spawn(broker.shares.store.wait_stored(parts));
    }
    broker.shares.evict_idle(group);
}

/// Closes `member`'s share session (epoch -1) after its acknowledgements: what it still holds
/// is released.
pub fn close_session(broker: &crate::broker::Broker, group: &Arc<str>, member: &str) {
    if let Some(partitions) = broker.shares.sessions.close(group, member) {
        release(broker, group, member, &partitions);
    }
}
