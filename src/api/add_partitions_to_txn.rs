//! AddPartitionsToTxn (key 24): the partitions a transactional producer is about to write
//! join its transaction. v0-3 are the client's (one transaction); v4-5 are Kafka's
//! broker-to-broker form (several transactions, `verify_only` checks without adding,
//! KIP-890), served for completeness. A partition of an unknown topic fails with
//! UNKNOWN_TOPIC_OR_PARTITION and the others with OPERATION_NOT_ATTEMPTED, as in Kafka.

use futures::future::join_all;
use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, ApiKey, TransactionalId};

use super::{Handler, Reply, RequestContext, ResponseErrors, Subject, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::broker::Broker;
use crate::txn::metadata::TopicPartition;

pub struct AddPartitionsToTxn;

/// The version from which a fenced producer is told PRODUCER_FENCED (KIP-588).
const FENCED_SINCE: i16 = 2;
/// The version from which TRANSACTION_ABORTABLE is known (KIP-890); older ones get
/// INVALID_TXN_STATE.
const ABORTABLE_SINCE: i16 = 5;

fn results(
    topics: &[AddPartitionsToTxnTopic],
    mut code: impl FnMut(&str, i32) -> i16,
) -> Vec<AddPartitionsToTxnTopicResult> {
    topics
        .iter()
        .map(|t| {
            AddPartitionsToTxnTopicResult::default().with_name(t.name.clone()).with_results_by_partition(
                t.partitions
                    .iter()
                    .map(|p| {
                        AddPartitionsToTxnPartitionResult::default()
                            .with_partition_index(*p)
                            .with_partition_error_code(code(&t.name.0, *p))
                    })
                    .collect(),
            )
        })
        .collect()
}

fn partitions(topics: &[AddPartitionsToTxnTopic]) -> Vec<TopicPartition> {
    topics.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.name.0.to_string(), *p))).collect()
}

/// One transaction's partitions added (or verified) for its producer (id, epoch): its
/// per-partition codes.
async fn one(
    broker: std::sync::Arc<Broker>,
    version: i16,
    id: String,
    (producer_id, epoch): (i64, i16),
    verify_only: bool,
    topics: Vec<AddPartitionsToTxnTopic>,
    denied: Vec<String>,
) -> Vec<AddPartitionsToTxnTopicResult> {
    let unknown = |t: &str, p: i32| !broker.topics.get(t).is_some_and(|topic| topic.has_partition(p));
    let refused = |t: &str| denied.iter().any(|d| d == t);
    if topics.iter().any(|t| refused(&t.name.0) || t.partitions.iter().any(|p| unknown(&t.name.0, *p))) {
        return results(&topics, |t, p| {
            if refused(t) {
                E::TopicAuthorizationFailed.code()
            } else if unknown(t, p) {
                E::UnknownTopicOrPartition.code()
            } else {
                E::OperationNotAttempted.code()
            }
        });
    }
    let wanted = partitions(&topics);
    let abortable = |code: i16| {
        if code == E::TransactionAbortable.code() && version < ABORTABLE_SINCE {
            E::InvalidTxnState.code()
        } else {
            code
        }
    };
    if verify_only {
        return match crate::txn::ops::verify_partitions(&broker, &id, producer_id, epoch, &wanted) {
            Ok(each) => {
                let mut each = each.into_iter();
                results(&topics, |_, _| match each.next() {
                    Some(Err(e)) => abortable(e.code_for(version, FENCED_SINCE)),
                    _ => NONE,
                })
            }
            Err(e) => results(&topics, |_, _| abortable(e.code_for(version, FENCED_SINCE))),
        };
    }
    // v5 is what a broker sends for a transaction version 2 produce (Kafka's
    // transactionVersionForAddPartitionsToTxn).
    let client_version = if version >= 5 { crate::txn::ops::TV_2 } else { crate::txn::ops::TV_0 };
    let code =
        match crate::txn::ops::add_partitions(broker.clone(), id, producer_id, epoch, wanted, client_version).await {
            Ok(()) => NONE,
            Err(e) => abortable(e.code_for(version, FENCED_SINCE)),
        };
    results(&topics, |_, _| code)
}

impl Handler for AddPartitionsToTxn {
    type Request = AddPartitionsToTxnRequest;
    type Response = AddPartitionsToTxnResponse;
    const KEY: ApiKey = ApiKey::AddPartitionsToTxn;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;

    /// A client's request (v0-3) needs WRITE on its transactional id; the batched form (v4+)
    /// comes from brokers: CLUSTER_ACTION (Kafka's `handleAddPartitionsToTxnRequest`).
    fn authorize(ctx: &RequestContext, req: &Self::Request) -> Result<(), i16> {
        if ctx.api_version >= 4 {
            return match ctx.cluster_authorized(AclOperation::ClusterAction) {
                true => Ok(()),
                false => Err(E::ClusterAuthorizationFailed.code()),
            };
        }
        let id = &req.v3_and_below_transactional_id;
        ctx.require(AclOperation::Write, ResourceType::TransactionalId, id, E::TransactionalIdAuthorizationFailed)
    }

    fn handle(ctx: &RequestContext, req: AddPartitionsToTxnRequest) -> Reply<AddPartitionsToTxnResponse> {
        let broker = ctx.broker.clone();
        let version = ctx.api_version;
        if version <= 3 {
            // A client needs WRITE on each topic; internal topics are never its to add (they
            // join through AddOffsetsToTxn).
            let denied = req
                .v3_and_below_topics
                .iter()
                .filter(|t| {
                    let internal = broker.topics.get(&t.name.0).is_some_and(|topic| topic.internal);
                    internal || !ctx.authorized(AclOperation::Write, ResourceType::Topic, &t.name)
                })
                .map(|t| t.name.0.to_string())
                .collect();
            let flow = one(
                broker,
                version,
                req.v3_and_below_transactional_id.0.to_string(),
                (req.v3_and_below_producer_id.0, req.v3_and_below_producer_epoch),
                false,
                req.v3_and_below_topics,
                denied,
            );
            return Reply::Later(
                async move { AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(flow.await) }
                    .boxed(),
            );
        }
        let flows: Vec<_> =
            req.transactions
                .into_iter()
                .map(|t| {
                    let id = t.transactional_id.clone();
                    let flow = one(
                        broker.clone(),
                        version,
                        t.transactional_id.0.to_string(),
                        (t.producer_id.0, t.producer_epoch),
                        t.verify_only,
                        t.topics,
                        Vec::new(),
                    );
                    async move {
                        AddPartitionsToTxnResult::default().with_transactional_id(id).with_topic_results(flow.await)
                    }
                })
                .collect();
        Reply::Later(
            async move {
                AddPartitionsToTxnResponse::default()
                    .with_error_code(NONE)
                    .with_results_by_transaction(join_all(flows).await)
            }
            .boxed(),
        )
    }

    fn error_response(req: &AddPartitionsToTxnRequest, code: i16) -> AddPartitionsToTxnResponse {
        let by_txn = req
            .transactions
            .iter()
            .map(|t| {
                AddPartitionsToTxnResult::default()
                    .with_transactional_id(TransactionalId(t.transactional_id.0.clone()))
                    .with_topic_results(results(&t.topics, |_, _| code))
            })
            .collect();
        AddPartitionsToTxnResponse::default()
            .with_error_code(code)
            .with_results_by_topic_v3_and_below(results(&req.v3_and_below_topics, |_, _| code))
            .with_results_by_transaction(by_txn)
    }

    fn subject(req: &AddPartitionsToTxnRequest) -> Option<Subject> {
        Some(Subject::TransactionalId(req.v3_and_below_transactional_id.0.clone()))
    }

    fn errors(resp: &AddPartitionsToTxnResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
        for t in &resp.results_by_topic_v3_and_below {
            for p in &t.results_by_partition {
                seen.topic(&t.name, p.partition_error_code);
            }
        }
        for txn in &resp.results_by_transaction {
            for t in &txn.topic_results {
                for p in &t.results_by_partition {
                    seen.add(p.partition_error_code, Some(Subject::TransactionalId(txn.transactional_id.0.clone())));
                }
            }
        }
    }
}
