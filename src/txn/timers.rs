//! The coordinator's periodic duties: completing prepared transactions whose markers are
//! not written yet (after a restart or a failed write), aborting transactions past their
//! `transaction.timeout.ms` (fencing their producer first, as Kafka does, so a late write of
//! the zombie is refused), and expiring transactional ids idle for
//! `transactional.id.expiration.ms`.

use std::sync::Arc;

use super::markers;
use super::metadata::TxnState;
use super::ops;
use crate::broker::Broker;

/// One round: completions, then timeouts (when `abort` is set) and expirations (when
/// `expire` is set).
pub async fn tick(broker: &Arc<Broker>, now_ms: i64, abort: bool, expire: bool) {
    for (id, txn) in broker.txns.to_complete() {
        markers::complete(broker, &id, &txn).await;
    }
    if abort {
        abort_timed_out(broker, now_ms).await;
    }
    if expire {
        expire_ids(broker, now_ms).await;
    }
}

async fn abort_timed_out(broker: &Arc<Broker>, now_ms: i64) {
    for (id, txn) in broker.txns.list() {
        let fence = {
            let mut m = txn.lock();
            let timed_out = m.state == TxnState::Ongoing
                && m.pending.is_none()
                && m.start_ms.saturating_add(i64::from(m.timeout_ms)) < now_ms;
            if !timed_out {
                continue;
            }
            match m.prepare_fence_epoch() {
                Ok(t) => (m.producer_id, t.producer_epoch, m.client_version),
                Err(e) => {
                    tracing::error!("cannot abort a timed-out transaction: {e}");
                    continue;
                }
            }
        };
        tracing::info!(transactional_id = %id, "aborting a transaction past its timeout");
        if let Err(e) = ops::end_transaction(broker.clone(), id.clone(), fence.0, fence.1, false, false, fence.2).await
        {
            tracing::warn!(transactional_id = %id, "cannot abort the timed-out transaction yet: {e}");
            let mut m = txn.lock();
            if m.pending == Some(TxnState::PrepareEpochFence) {
                m.abandon();
            }
        }
    }
}

async fn expire_ids(broker: &Arc<Broker>, now_ms: i64) {
    let expiration = i64::from(broker.txns.config.id_expiration_ms);
    for (id, txn) in broker.txns.list() {
        let dead = {
            let mut m = txn.lock();
            let idle = matches!(m.state, TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort)
                && m.pending.is_none()
                && m.update_ms.saturating_add(expiration) <= now_ms;
            if !idle {
                continue;
            }
            m.prepare_dead()
        };
        if let Err(e) = dead {
            tracing::error!("cannot expire a transactional id: {e}");
            continue;
        }
        match broker.txns.store(&id, None).await {
            Ok(()) => {
                broker.txns.remove(&id);
                tracing::info!(transactional_id = %id, "transactional id expired");
            }
            Err(e) => {
                txn.lock().abandon();
                tracing::warn!(transactional_id = %id, "cannot expire the transactional id yet: {e}");
            }
        }
    }
}
