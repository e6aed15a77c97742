//! Transaction helpers shared by the transaction tests: Kafka's error codes they expect and
//! DescribeTransactions of one id.

use kafka_protocol::messages::{DescribeTransactionsRequest, TransactionalId};

use super::{sb, Client};

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
