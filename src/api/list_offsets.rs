//! ListOffsets (key 2): earliest, latest, max-timestamp, and offset-by-timestamp (through the
//! time index; only this path decodes records, of one batch).

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::{ApiKey, ListOffsetsRequest, ListOffsetsResponse};

use super::{duplicates, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::log::PartitionLog;

pub struct ListOffsets;

pub const LATEST: i64 = -1;
pub const EARLIEST: i64 = -2;
pub const MAX_TIMESTAMP: i64 = -3;
pub const EARLIEST_LOCAL: i64 = -4;
pub const LATEST_TIERED: i64 = -5;

fn answer(index: i32, code: i16, offset: i64, timestamp: i64) -> ListOffsetsPartitionResponse {
    ListOffsetsPartitionResponse::default()
        .with_partition_index(index)
        .with_error_code(code)
        .with_offset(offset)
        .with_timestamp(timestamp)
}

/// `leader_epoch` exists from v4 on; the encoder rejects it when set for older versions.
fn with_epoch(
    mut r: ListOffsetsPartitionResponse,
    part: &dyn PartitionLog,
    version: i16,
) -> ListOffsetsPartitionResponse {
    if version >= 4 && r.error_code == NONE && r.offset >= 0 {
        r.leader_epoch = part.leader_epoch();
    }
    r
}

/// Kafka's `fetchOffsetForTimestamp`: `latest` is the last fetchable offset (the last stable
/// offset for read_committed, the high watermark otherwise), and a timestamp lookup finding a
/// record at or past it answers "none" (offset and timestamp -1).
fn lookup(part: &dyn PartitionLog, index: i32, timestamp: i64, committed: bool) -> ListOffsetsPartitionResponse {
    let offsets = part.offsets();
    let last_fetchable = if committed { offsets.last_stable } else { offsets.high_watermark };
    let found = match timestamp {
        LATEST => Ok(Some((last_fetchable, -1))),
        EARLIEST | EARLIEST_LOCAL => Ok(Some((offsets.log_start, -1))),
        LATEST_TIERED => Ok(None),
        MAX_TIMESTAMP => part.max_timestamp_offset(),
        ts => part.offset_for_timestamp(ts.max(0)),
    };
    let found = match (timestamp, found) {
        (LATEST | EARLIEST | EARLIEST_LOCAL, found) => found,
        (_, Ok(Some((offset, _)))) if offset >= last_fetchable => Ok(None),
        (_, found) => found,
    };
    match found {
        Ok(Some((offset, ts))) => answer(index, NONE, offset, ts),
        Ok(None) => answer(index, NONE, -1, -1),
        Err(e) => {
            tracing::error!(topic = part.topic(), partition = index, "list offsets failed: {e}");
            answer(index, e.code(), -1, -1)
        }
    }
}

impl Handler for ListOffsets {
    type Request = ListOffsetsRequest;
    type Response = ListOffsetsResponse;
    const KEY: ApiKey = ApiKey::ListOffsets;
    const MIN_VERSION: i16 = 1;
    /// v10 (KIP-1075) adds a timeout for tiered storage lookups; Brook has none to wait for.
    const MAX_VERSION: i16 = 10;

    fn handle(ctx: &RequestContext, req: ListOffsetsRequest) -> Reply<ListOffsetsResponse> {
        let committed = req.isolation_level == 1;
        let topics = req
            .topics
            .into_iter()
            .map(|t| {
                let dup = duplicates(t.partitions.iter().map(|p| p.partition_index));
                // Kafka authorizes before anything else is looked at.
                let denied = !ctx.authorized(AclOperation::Describe, ResourceType::Topic, &t.name.0);
                let parts = t
                    .partitions
                    .iter()
                    .map(|p| {
                        if denied {
                            return answer(p.partition_index, E::TopicAuthorizationFailed.code(), -1, -1);
                        }
                        if dup.contains(&p.partition_index) {
                            return answer(p.partition_index, E::InvalidRequest.code(), -1, -1);
                        }
                        match ctx.broker.replicas.partition_at_epoch(
                            &t.name.0,
                            p.partition_index,
                            p.current_leader_epoch,
                        ) {
                            Err(e) => answer(p.partition_index, e.code(), -1, -1),
                            Ok(part) => with_epoch(
                                lookup(&*part, p.partition_index, p.timestamp, committed),
                                &*part,
                                ctx.api_version,
                            ),
                        }
                    })
                    .collect();
                ListOffsetsTopicResponse::default().with_name(t.name).with_partitions(parts)
            })
            .collect();
        Reply::Now(ListOffsetsResponse::default().with_topics(topics))
    }

    fn error_response(req: &ListOffsetsRequest, code: i16) -> ListOffsetsResponse {
        let topics = req
            .topics
            .iter()
            .map(|t| {
                let parts = t.partitions.iter().map(|p| answer(p.partition_index, code, -1, -1)).collect();
                ListOffsetsTopicResponse::default().with_name(t.name.clone()).with_partitions(parts)
            })
            .collect();
        ListOffsetsResponse::default().with_topics(topics)
    }

    fn errors(resp: &ListOffsetsResponse, seen: &mut ResponseErrors) {
        for t in &resp.topics {
            for p in &t.partitions {
                seen.topic(&t.name, p.error_code);
            }
        }
    }
}
