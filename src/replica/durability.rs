//! Waiting until appended data is durable: the group-commit round an `acks=all` produce or
//! a coordinator write joins, and the background rounds for `acks=0/1` data and rolled
//! segments.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::ReplicaManager;
use crate::config::Durability;
use crate::error::StorageError;
use crate::log::Partition;

/// A future that resolves once appended data is durable (one outcome per partition).
pub type DurabilityWaiter = futures::future::BoxFuture<'static, Vec<Result<(), StorageError>>>;

impl ReplicaManager {
    /// Waits until appends to `partitions` are durable per the configured mode: a
    /// group-commit round in `acks`/`sync`, nothing in `interval`/`os`. The round is asked
    /// for at the call (see [`crate::log::flush::GroupCommit::sync`]); the future only waits.
    pub fn wait_durable(
        &self,
        partitions: Vec<Arc<Partition>>,
    ) -> impl Future<Output = Result<(), StorageError>> + Send + 'static {
        let wanted = if self.config.durability.group_commit() { partitions } else { Vec::new() };
        self.group_commit.sync(wanted)
    }

    /// [`ReplicaManager::wait_durable`] with an outcome per partition, in the order given
    /// (produce answers each partition on its own: one partition's failed fsync must not
    /// fail the others).
    pub fn wait_durable_each(
        &self,
        partitions: Vec<Arc<Partition>>,
    ) -> impl Future<Output = Vec<Result<(), StorageError>>> + Send + 'static {
        let n = partitions.len();
        let wanted = if self.config.durability.group_commit() { partitions } else { Vec::new() };
        let each = self.group_commit.sync_each(wanted);
        async move {
            let mut each = each.await;
            each.resize(n, Ok(()));
            each
        }
    }

    /// Notes `bytes` of acks=0/1 data written without an fsync in `acks` mode; once
    /// `flush_bytes` of it has piled up, a background round starts without waiting for the
    /// flush interval. This keeps every round small on a busy broker, and so the wait of the
    /// acks=all produces and offset commits queued behind one.
    pub fn note_unflushed(self: &Arc<Self>, bytes: u64) {
        if self.config.durability != Durability::Acks {
            return;
        }
        let total = self.unflushed_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        if total >= self.config.flush_bytes && !self.background_flushing.swap(true, Ordering::AcqRel) {
            let r = self.clone();
            tokio::spawn(async move { r.flush_dirty().await });
        }
    }

    /// Starts a background round over every partition with unflushed data, unless one is
    /// running (the maintenance job's interval flush). Returns whether it ran.
    pub async fn flush_dirty_if_idle(&self) -> bool {
        if self.background_flushing.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.flush_dirty().await;
        true
    }

    /// One background round over every partition holding unflushed data (or segments rolled
    /// since the last round). The caller holds `background_flushing`; this releases it.
    async fn flush_dirty(&self) {
        self.unflushed_bytes.store(0, Ordering::Relaxed);
        // A poisoned partition (its failure already logged) stays dirty: leave it out.
        let dirty: Vec<_> = self
            .logs
            .all()
            .into_iter()
            .filter(|p| (p.is_dirty() || p.has_unflushed_segments()) && !p.is_poisoned())
            .collect();
        if let Err(e) = self.group_commit.sync(dirty).await {
            tracing::warn!("background flush failed: {e}");
        }
        self.background_flushing.store(false, Ordering::Release);
    }

    /// Fsyncs the segments that rolled since the last round (they are never written again).
    pub async fn flush_rolled(&self) {
        let rolled: Vec<_> =
            self.logs.all().into_iter().filter(|p| p.has_unflushed_segments() && !p.is_poisoned()).collect();
        if let Err(e) = self.group_commit.sync_rolled(rolled).await {
            tracing::warn!("fsync of rolled segments failed: {e}");
        }
    }
}
