//! WriteTxnMarkers (key 27): commit or abort markers written to the partitions named, for a
//! producer id and epoch. Kafka's coordinators send it to partition leaders; admins send it
//! through `kafka-transactions.sh abort` to end a transaction stuck on a partition (KIP-664).
//! Brook's own coordinator writes its markers directly. Each partition answers its own code.

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::write_txn_markers_request::WritableTxnMarker;
use kafka_protocol::messages::write_txn_markers_response::{
    WritableTxnMarkerPartitionResult, WritableTxnMarkerResult, WritableTxnMarkerTopicResult,
};
use kafka_protocol::messages::{ApiKey, WriteTxnMarkersRequest, WriteTxnMarkersResponse};

use super::{Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::AclOperation;
use crate::error::ErrorCode;
use crate::txn::markers::append_markers;
use crate::txn::TxnError;

pub struct WriteTxnMarkers;

impl Handler for WriteTxnMarkers {
    type Request = WriteTxnMarkersRequest;
    type Response = WriteTxnMarkersResponse;
    const KEY: ApiKey = ApiKey::WriteTxnMarkers;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 1;

    /// Only brokers write markers: ALTER or CLUSTER_ACTION on the cluster (Kafka's
    /// `handleWriteTxnMarkersRequest`).
    fn authorize(ctx: &RequestContext, _req: &Self::Request) -> Result<(), i16> {
        if ctx.cluster_authorized(AclOperation::Alter) || ctx.cluster_authorized(AclOperation::ClusterAction) {
            Ok(())
        } else {
            Err(E::ClusterAuthorizationFailed.code())
        }
    }

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
                    // A partition's own append error is its answer (UNKNOWN_TOPIC_OR_PARTITION,
                    // a storage error...), not the coordinator's NOT_COORDINATOR.
                    let mut codes = results.into_iter().map(|r| match r {
                        Ok(()) => NONE,
                        Err(TxnError::WriteRejected(e)) => e.code(),
                        Err(e) => e.code(),
                    });
                    markers.push(result(m, |_| codes.next().unwrap_or(NONE)));
                }
                WriteTxnMarkersResponse::default().with_markers(markers)
            }
            .boxed(),
        )
    }

    fn error_response(req: &WriteTxnMarkersRequest, code: i16) -> WriteTxnMarkersResponse {
        WriteTxnMarkersResponse::default().with_markers(req.markers.iter().map(|m| result(m, |_| code)).collect())
    }

    fn errors(resp: &WriteTxnMarkersResponse, seen: &mut ResponseErrors) {
        for m in &resp.markers {
            for t in &m.topics {
                for p in &t.partitions {
                    seen.topic(&t.name, p.error_code);
                }
            }
        }
    }
}

/// One marker's answer: each of its partitions, in order, with the code `code` gives it.
fn result(m: &WritableTxnMarker, mut code: impl FnMut(i32) -> i16) -> WritableTxnMarkerResult {
    let topics = m
        .topics
        .iter()
        .map(|t| {
            WritableTxnMarkerTopicResult::default().with_name(t.name.clone()).with_partitions(
                t.partition_indexes
                    .iter()
                    .map(|p| {
                        WritableTxnMarkerPartitionResult::default().with_partition_index(*p).with_error_code(code(*p))
                    })
                    .collect(),
            )
        })
        .collect();
    WritableTxnMarkerResult::default().with_producer_id(m.producer_id).with_topics(topics)
}
