//! Dead-letter topics for share groups (KIP-1191, beyond Kafka 4.2): a record a consumer
//! REJECTs, or one archived at the delivery count limit, is copied to the group's
//! `errors.deadletterqueue.topic.name` with headers saying where it came from and why, so a
//! poison message is parked instead of silently dropped. Key and value are copied when
//! `errors.deadletterqueue.copy.record.enable` is true. The dead-letter partition is the
//! source partition modulo the dead-letter topic's partition count, as KIP-1191 says, and
//! the topic must allow it (`errors.deadletterqueue.group.enable=true`).
//!
//! Also drives the share partitions' lock expiry (which may archive records at the limit).

use std::sync::Arc;

use bytes::Bytes;

use super::manager::DeadLetters;
use crate::broker::Broker;
use crate::log::{Partition, PartitionLog};

/// Lock expiry for every share partition, and the dead letters it made: the partitions
/// written (to make durable).
pub fn tick(broker: &Arc<Broker>) -> Vec<Arc<Partition>> {
    let (mut parts, dead) = broker.shares.tick(|g| broker.share_settings(g));
    parts.extend(send(broker, dead));
    parts
}

/// Writes dead letters to their groups' dead-letter topics: the partitions written.
pub fn send(broker: &Broker, dead: Vec<DeadLetters>) -> Vec<Arc<Partition>> {
    let mut parts = Vec::new();
    for d in dead {
        let settings = broker.share_settings(&d.group);
        let Some((dlq, copy)) = settings.dlq else { continue };
        let Some(target) = broker.topics.get(&dlq) else {
            tracing::warn!(group = %d.group, topic = %dlq, "dead-letter topic does not exist: records only archived");
            continue;
        };
        let enabled = target.configs().get("errors.deadletterqueue.group.enable", &broker.config);
        if !enabled.is_some_and(|v| v.eq_ignore_ascii_case("true")) {
            tracing::warn!(group = %d.group, topic = %dlq, "dead-letter topic does not set errors.deadletterqueue.group.enable=true: records only archived");
            continue;
        }
        let count = target.partition_count().max(1);
        let source = broker.replicas.partition(&d.topic, d.partition).ok();
        let records = d
            .records
            .iter()
            .map(|a| {
                let (key, value) = match (&source, copy) {
                    (Some(log), true) => read_record(log.as_ref(), a.offset),
                    _ => (None, None),
                };
                let headers = vec![
                    ("__dlq.errors.topic".to_string(), Bytes::from(d.topic.clone())),
                    ("__dlq.errors.partition".to_string(), Bytes::from(d.partition.to_string())),
                    ("__dlq.errors.offset".to_string(), Bytes::from(a.offset.to_string())),
                    ("__dlq.errors.group".to_string(), Bytes::from(d.group.to_string())),
                    ("__dlq.errors.delivery.count".to_string(), Bytes::from(a.delivery_count.to_string())),
                    ("__dlq.errors.message".to_string(), Bytes::from_static(a.cause.message().as_bytes())),
                ];
                (key, value, headers)
            })
            .collect();
        match broker.replicas.append_broker_records(&dlq, d.partition % count, records) {
            Ok(p) => parts.push(p),
            Err(e) => tracing::error!(group = %d.group, topic = %dlq, "cannot write dead letters: {e}"),
        }
    }
    parts
}

/// The key and value of the record at `offset`, if it can still be read.
fn read_record(log: &dyn PartitionLog, offset: i64) -> (Option<Bytes>, Option<Bytes>) {
    let Ok(r) = log.read(offset, 1, true) else { return (None, None) };
    let Ok(set) = kafka_protocol::records::RecordBatchDecoder::decode(&mut r.records.clone()) else {
        return (None, None);
    };
    set.records.into_iter().find(|rec| rec.offset == offset).map_or((None, None), |rec| (rec.key, rec.value))
}
