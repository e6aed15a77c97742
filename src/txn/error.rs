//! Why a transaction coordinator request failed, and the Kafka code each answers.

use std::sync::Arc;

use kafka_protocol::error::ResponseError as E;

use super::metadata::IllegalTransition;
use crate::error::{ErrorCode, StorageError};

#[derive(Debug, Clone, thiserror::Error)]
pub enum TxnError {
    #[error("The request is invalid: {0}")]
    InvalidRequest(&'static str),
    #[error("The transaction timeout is larger than transaction.max.timeout.ms or not positive")]
    InvalidTransactionTimeout,
    #[error("Another request is changing this transaction; retry")]
    ConcurrentTransactions,
    #[error("There is a newer producer with the same transactional id")]
    ProducerFenced,
    #[error("The producer id does not match the transactional id")]
    InvalidProducerIdMapping,
    #[error("The request is not valid in the transaction's state")]
    InvalidTxnState,
    #[error("The producer epoch is not the transaction's")]
    InvalidProducerEpoch,
    #[error("The transactional id is not known")]
    TransactionalIdNotFound,
    /// The partition is not part of the ongoing transaction (KIP-890 verification).
    #[error("The partition was not added to the transaction")]
    TransactionAbortable,
    /// The id's `__transaction_state` partition is still being replayed after a start.
    #[error("The coordinator is loading and hence can't process requests.")]
    CoordinatorLoadInProgress,
    #[error("The transaction state topic is not available: {0}")]
    CoordinatorNotAvailable(String),
    /// A write to `__transaction_state` failed: Kafka answers NOT_COORDINATOR, and the
    /// client finds the coordinator again and retries.
    #[error("The transaction state could not be stored: {0}")]
    NotStored(StorageError),
    #[error("The transaction state could not be written: {0}")]
    WriteRejected(Arc<crate::replica::ProduceError>),
    #[error(transparent)]
    Illegal(Arc<IllegalTransition>),
}

impl From<IllegalTransition> for TxnError {
    fn from(e: IllegalTransition) -> Self {
        tracing::error!("{e}");
        TxnError::Illegal(Arc::new(e))
    }
}

impl ErrorCode for TxnError {
    fn code(&self) -> i16 {
        match self {
            TxnError::InvalidRequest(_) => E::InvalidRequest.code(),
            TxnError::InvalidTransactionTimeout => E::InvalidTransactionTimeout.code(),
            TxnError::ConcurrentTransactions => E::ConcurrentTransactions.code(),
            TxnError::ProducerFenced => E::ProducerFenced.code(),
            TxnError::InvalidProducerIdMapping => E::InvalidProducerIdMapping.code(),
            TxnError::InvalidTxnState => E::InvalidTxnState.code(),
            TxnError::InvalidProducerEpoch => E::InvalidProducerEpoch.code(),
            TxnError::TransactionalIdNotFound => E::TransactionalIdNotFound.code(),
            TxnError::TransactionAbortable => E::TransactionAbortable.code(),
            TxnError::CoordinatorLoadInProgress => E::CoordinatorLoadInProgress.code(),
            TxnError::CoordinatorNotAvailable(_) => E::CoordinatorNotAvailable.code(),
            TxnError::NotStored(_) | TxnError::WriteRejected(_) => E::NotCoordinator.code(),
            TxnError::Illegal(_) => E::UnknownServerError.code(),
        }
    }
}

impl TxnError {
    /// The code for a client of `version` of an API that learnt PRODUCER_FENCED at
    /// `fenced_since` (KIP-588): older versions get INVALID_PRODUCER_EPOCH, as Kafka answers.
    pub fn code_for(&self, version: i16, fenced_since: i16) -> i16 {
        match self {
            TxnError::ProducerFenced if version < fenced_since => E::InvalidProducerEpoch.code(),
            other => other.code(),
        }
    }
}
