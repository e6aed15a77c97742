//! DescribeProducers (key 61, KIP-664): each partition's active producers as its log's
//! producer state knows them (id, epoch, last sequence and timestamp, coordinator epoch, the
//! first offset of an ongoing transaction): what `kafka-transactions.sh find-hanging` reads to
//! find a transaction stuck on a partition.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_producers_response::{PartitionResponse, ProducerState, TopicResponse};
use kafka_protocol::messages::{ApiKey, DescribeProducersRequest, DescribeProducersResponse, ProducerId};

use super::{kafka_message, sb, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;

pub struct DescribeProducers;

impl Handler for DescribeProducers {
    type Request = DescribeProducersRequest;
    type Response = DescribeProducersResponse;
    const KEY: ApiKey = ApiKey::DescribeProducers;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;

    fn handle(ctx: &RequestContext, req: DescribeProducersRequest) -> Reply<DescribeProducersResponse> {
        let topics = req
            .topics
            .iter()
            .map(|t| {
                let denied = !ctx.authorized(AclOperation::Read, ResourceType::Topic, &t.name);
                let partitions = t
                    .partition_indexes
                    .iter()
                    .map(|&index| {
                        let base = PartitionResponse::default().with_partition_index(index);
                        if denied {
                            let refused = E::TopicAuthorizationFailed;
                            return base
                                .with_error_code(refused.code())
                                .with_error_message(Some(sb(kafka_message(refused))));
                        }
                        match ctx.broker.replicas.partition(&t.name.0, index) {
                            Ok(log) => base.with_error_code(NONE).with_active_producers(
                                log.active_producers()
                                    .into_iter()
                                    .map(|p| {
                                        ProducerState::default()
                                            .with_producer_id(ProducerId(p.producer_id))
                                            .with_producer_epoch(i32::from(p.epoch))
                                            .with_last_sequence(p.last_sequence)
                                            .with_last_timestamp(p.last_timestamp)
                                            .with_coordinator_epoch(p.coordinator_epoch)
                                            .with_current_txn_start_offset(p.current_txn_start_offset)
                                    })
                                    .collect(),
                            ),
                            Err(e) => base.with_error_code(e.code()),
                        }
                    })
                    .collect();
                TopicResponse::default().with_name(t.name.clone()).with_partitions(partitions)
            })
            .collect();
        Reply::Now(DescribeProducersResponse::default().with_topics(topics))
    }

    fn error_response(req: &DescribeProducersRequest, code: i16) -> DescribeProducersResponse {
        let topics = req
            .topics
            .iter()
            .map(|t| {
                let partitions = t
                    .partition_indexes
                    .iter()
                    .map(|&index| PartitionResponse::default().with_partition_index(index).with_error_code(code))
                    .collect();
                TopicResponse::default().with_name(t.name.clone()).with_partitions(partitions)
            })
            .collect();
        DescribeProducersResponse::default().with_topics(topics)
    }

    fn errors(resp: &DescribeProducersResponse, seen: &mut ResponseErrors) {
        for t in &resp.topics {
            for p in &t.partitions {
                seen.topic(&t.name, p.error_code);
            }
        }
    }
}
