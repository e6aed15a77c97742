//! Transaction helpers shared by the transaction tests: Kafka's error codes they expect and
//! DescribeTransactions of one id.

use kafka_protocol::messages::{
    DescribeTransactionsRequest, InitProducerIdRequest, ProduceRequest, ProducerId, TransactionalId,
};

use super::{produce_request, sb, txn_batch, Client};

pub const INVALID_REQUEST: i16 = 42;
pub const INVALID_PRODUCER_EPOCH: i16 = 47;
pub const INVALID_TXN_STATE: i16 = 48;
pub const INVALID_PRODUCER_ID_MAPPING: i16 = 49;
pub const INVALID_TRANSACTION_TIMEOUT: i16 = 50;
pub const CONCURRENT_TRANSACTIONS: i16 = 51;
pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
pub const UNSTABLE_OFFSET_COMMIT: i16 = 88;
pub const PRODUCER_FENCED: i16 = 90;
pub const TRANSACTIONAL_ID_NOT_FOUND: i16 = 105;
pub const TRANSACTION_ABORTABLE: i16 = 120;

/// DescribeTransactions of one id: (error, state, producer id, epoch, partitions).
pub async fn describe(c: &mut Client, id: &str) -> (i16, String, i64, i16, Vec<(String, i32)>) {
    let req = DescribeTransactionsRequest::default().with_transactional_ids(vec![TransactionalId(sb(id))]);
    let r = c.call(&req, 0).await;
    let s = &r.transaction_states[0];
    let parts = s.topics.iter().flat_map(|t| t.partitions.iter().map(move |p| (t.topic.0.to_string(), *p))).collect();
    (s.error_code, s.transaction_state.to_string(), s.producer_id.0, s.producer_epoch, parts)
}

/// A Produce request (acks=all) of one transactional batch of `id`'s producer:
/// `producer` is (producer id, epoch, first sequence).
pub fn txn_produce(
    id: &str,
    topic: &str,
    partition: i32,
    producer: (i64, i16, i32),
    values: &[&str],
) -> ProduceRequest {
    let (pid, epoch, seq) = producer;
    let mut req = produce_request(topic, partition, txn_batch(pid, epoch, seq, values), -1);
    req.transactional_id = Some(TransactionalId(sb(id)));
    req
}

/// InitProducerId v5 of a new transactional producer: (producer id, epoch).
pub async fn init_txn(c: &mut Client, id: &str, timeout_ms: i32) -> (i64, i16) {
    let req = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(sb(id))))
        .with_transaction_timeout_ms(timeout_ms)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let r = c.call(&req, 5).await;
    assert_eq!(r.error_code, 0, "InitProducerId of {id}");
    (r.producer_id.0, r.producer_epoch)
}
