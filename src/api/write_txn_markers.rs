//! WriteTxnMarkers (key 27): commit or abort markers written to the partitions named, for a
//! producer id and epoch. Kafka's coordinators send it to partition leaders; admins send it
//! through `kafka-transactions.sh abort` to end a transaction stuck on a partition (KIP-664).
//! Brook's own coordinator writes its markers directly. Each partition answers its own code.

use futures::FutureExt;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{ApiKey, WriteTxnMarkersRequest, WriteTxnMarkersResponse};

use super::{Handler, Reply, RequestContext, NONE};
use crate::error::ErrorCode;
use crate::txn::markers::append_markers;

pub struct WriteTxnMarkers;

impl Handler for WriteTxnMarkers {
    type Request = WriteTxnMarkersRequest;
    type Response = WriteTxnMarkersResponse;
    const KEY: ApiKey = ApiKey::WriteTxnMarkers;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 1;

    fn handle(ctx: &RequestContext, req: WriteTxnMarkersRequest) -> Reply<WriteTxnMarkersResponse> {
        let broker = ctx.broker.clone();
        Reply::Later(
            async move {
                let mut markers = Vec::with_capacity(req.markers.len());
                for m in &req.markers {
                    let partitions: Vec<(String, i32)> = m
                        .topics
                        .iter()
                        .flat_map(|t| t.partition_indexes.iter().map(move |p| (t.name.0.to_string(), *p)))
                        .collect();
                    let results = append_markers(
                        &broker,
                        m.producer_id.0,
                        m.producer_epoch,
                        m.transaction_result,
                        m.coordinator_epoch,
                        &partitions,
                    )
                    .await;
                    let mut codes = results.into_iter().map(|r| match r {
                        Ok(()) => NONE,
                        Err(e) => e.code(),
                    });
                    let topics = m
                        .topics
                        .iter()
                        .map(|t| {
                            WritableTxnMarkerTopicResult::default().with_name(t.name.clone()).with_partitions(
                                t.partition_indexes
                                    .iter()
                                    .map(|p| {
                                        WritableTxnMarkerPartitionResult::default()
                                            .with_partition_index(*p)
                                            .with_error_code(codes.next().unwrap_or(NONE))
                                    })
                                    .collect(),
                            )
                        })
                        .collect();
                    markers
                        .push(WritableTxnMarkerResult::default().with_producer_id(m.producer_id).with_topics(topics));
                }
                WriteTxnMarkersResponse::default().with_markers(markers)
            }
            .boxed(),
        )
    }

    fn error_response(req: &WriteTxnMarkersRequest, code: i16) -> WriteTxnMarkersResponse {
        let markers = req
            .markers
            .iter()
            .map(|m| {
                let topics = m
                    .topics
                    .iter()
                    .map(|t| {
                        WritableTxnMarkerTopicResult::default().with_name(t.name.clone()).with_partitions(
                            t.partition_indexes
                                .iter()
                                .map(|p| {
                                    WritableTxnMarkerPartitionResult::default()
                                        .with_partition_index(*p)
                                        .with_error_code(code)
                                })
                                .collect(),
                        )
                    })
                    .collect();
                WritableTxnMarkerResult::default().with_producer_id(m.producer_id).with_topics(topics)
            })
            .collect();
        WriteTxnMarkersResponse::default().with_markers(markers)
    }
}
