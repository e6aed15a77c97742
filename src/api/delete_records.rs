//! DeleteRecords (key 21): moves each partition's log start offset forward (Kafka's
//! `deleteRecordsOnLeader`): records below it are gone for consumers (a fetch below gets
//! OFFSET_OUT_OF_RANGE, ListOffsets earliest answers the new start) and whole segments below
//! it are deleted. The new starts are checkpointed before the answer, so an acknowledged
//! deletion survives a crash.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::delete_records_response::{DeleteRecordsPartitionResult, DeleteRecordsTopicResult};
use kafka_protocol::messages::{ApiKey, DeleteRecordsRequest, DeleteRecordsResponse};

use super::{duplicates, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;

pub struct DeleteRecords;

fn result(partition: i32, code: i16, low_watermark: i64) -> DeleteRecordsPartitionResult {
    DeleteRecordsPartitionResult::default()
        .with_partition_index(partition)
        .with_error_code(code)
        .with_low_watermark(low_watermark)
}

impl Handler for DeleteRecords {
    type Request = DeleteRecordsRequest;
    type Response = DeleteRecordsResponse;
    const KEY: ApiKey = ApiKey::DeleteRecords;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;
    /// Deletes segment files and writes the checkpoint: off the async workers.
    const BLOCKING: bool = true;

    fn handle(ctx: &RequestContext, req: DeleteRecordsRequest) -> Reply<DeleteRecordsResponse> {
        let broker = &ctx.broker;
        let mut moved = false;
        let mut topics: Vec<DeleteRecordsTopicResult> = req
            .topics
            .into_iter()
            .map(|t| {
                let dup = duplicates(t.partitions.iter().map(|p| p.partition_index));
                let internal = broker.topics.get(&t.name.0).is_some_and(|tp| tp.internal);
                let denied = !ctx.authorized(AclOperation::Delete, ResourceType::Topic, &t.name);
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        if denied {
                            return result(p.partition_index, E::TopicAuthorizationFailed.code(), -1);
                        }
                        if dup.contains(&p.partition_index) {
                            return result(p.partition_index, E::InvalidRequest.code(), -1);
                        }
                        let part = match broker.replicas.local(&t.name.0, p.partition_index) {
                            Ok(part) => part,
                            Err(e) => return result(p.partition_index, e.code(), -1),
                        };
                        if internal {
                            // Kafka: the data of internal topics is the broker's.
                            return result(p.partition_index, E::InvalidTopicException.code(), -1);
                        }
                        match part.delete_records_before(p.offset) {
                            Ok(low) => {
                                moved = true;
                                result(p.partition_index, NONE, low)
                            }
                            Err(e) => result(p.partition_index, e.code(), -1),
                        }
                    })
                    .collect();
                DeleteRecordsTopicResult::default().with_name(t.name).with_partitions(partitions)
            })
            .collect();
        if moved {
            if let Err(e) = broker.logs.write_log_starts() {
                tracing::error!("cannot checkpoint log starts after DeleteRecords: {e}");
                // The starts moved in memory but would not survive a crash: not acknowledged.
                for p in topics.iter_mut().flat_map(|t| t.partitions.iter_mut()).filter(|p| p.error_code == NONE) {
                    p.error_code = E::KafkaStorageError.code();
                    p.low_watermark = -1;
                }
            }
        }
        Reply::Now(DeleteRecordsResponse::default().with_topics(topics))
    }

    fn error_response(req: &DeleteRecordsRequest, code: i16) -> DeleteRecordsResponse {
        let topics = req
            .topics
            .iter()
            .map(|t| {
                let partitions = t.partitions.iter().map(|p| result(p.partition_index, code, -1)).collect();
                DeleteRecordsTopicResult::default().with_name(t.name.clone()).with_partitions(partitions)
            })
            .collect();
        DeleteRecordsResponse::default().with_topics(topics)
    }

    fn errors(resp: &DeleteRecordsResponse, seen: &mut ResponseErrors) {
        for t in &resp.topics {
            for p in &t.partitions {
                seen.topic(&t.name, p.error_code);
            }
        }
    }
}
