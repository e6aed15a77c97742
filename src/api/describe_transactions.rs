//! DescribeTransactions (key 65, KIP-664): a transactional id's state, producer id and
//! epoch, timeout, start time and partitions (`kafka-transactions.sh describe`).

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{
    ApiKey, DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, TopicName,
};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::txn::metadata::TxnState;

pub struct DescribeTransactions;

impl Handler for DescribeTransactions {
    type Request = DescribeTransactionsRequest;
    type Response = DescribeTransactionsResponse;
    const KEY: ApiKey = ApiKey::DescribeTransactions;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 0;

    fn handle(ctx: &RequestContext, req: DescribeTransactionsRequest) -> Reply<DescribeTransactionsResponse> {
        let states =
            req.transactional_ids
                .iter()
                .map(|id| {
                    let base = TransactionState::default().with_transactional_id(id.clone());
                    if !ctx.authorized(AclOperation::Describe, ResourceType::TransactionalId, id) {
                        return base.with_error_code(E::TransactionalIdAuthorizationFailed.code());
                    }
                    if id.0.is_empty() {
                        return base.with_error_code(E::InvalidRequest.code());
                    }
                    let txn = match ctx.broker.txns.get(&id.0) {
                        Ok(Some(txn)) => txn,
                        Ok(None) => return base.with_error_code(E::TransactionalIdNotFound.code()),
                        Err(e) => return base.with_error_code(e.code()),
                    };
                    let m = txn.lock();
                    if m.state == TxnState::Dead {
                        return base.with_error_code(E::TransactionalIdNotFound.code());
                    }
                    let mut topics: Vec<TopicData> = Vec::new();
                    // Only the topics the principal may describe (Kafka's
                    // `handleDescribeTransactionsRequest`).
                    let describable = |t: &str| ctx.authorized(AclOperation::Describe, ResourceType::Topic, t);
                    for (topic, p) in m.partitions.iter().filter(|(t, _)| describable(t)) {
                        match topics.last_mut() {
                            Some(t) if t.topic.0.as_str() == topic => t.partitions.push(*p),
                            _ => topics
                                .push(TopicData::default().with_topic(TopicName(sb(topic))).with_partitions(vec![*p])),
                        }
                    }
                    base.with_error_code(NONE)
                        .with_transaction_state(sb(m.state.name()))
                        .with_transaction_timeout_ms(m.timeout_ms)
                        .with_transaction_start_time_ms(m.start_ms)
                        .with_producer_id(ProducerId(m.producer_id))
                        .with_producer_epoch(m.producer_epoch)
                        .with_topics(topics)
                })
                .collect();
        Reply::Now(DescribeTransactionsResponse::default().with_transaction_states(states))
    }

    fn error_response(req: &DescribeTransactionsRequest, code: i16) -> DescribeTransactionsResponse {
        let states = req
            .transactional_ids
            .iter()
            .map(|id| TransactionState::default().with_transactional_id(id.clone()).with_error_code(code))
            .collect();
        DescribeTransactionsResponse::default().with_transaction_states(states)
    }

    fn errors(resp: &DescribeTransactionsResponse, seen: &mut ResponseErrors) {
        for t in &resp.transaction_states {
            seen.transactional_id(&t.transactional_id, t.error_code);
        }
    }
}
