//! The broker: configuration, topic registry, producer ids and durability machinery, shared
//! by every connection. Also owns the background maintenance job.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::config::{BrokerConfig, Durability};
use crate::group::GroupCoordinator;
use crate::log::flush::{GroupCommit, DEFAULT_TICK};
use crate::producer::ids::ProducerIdAllocator;
use crate::topic::registry::LoadReport;
use crate::topic::TopicRegistry;

pub struct Broker {
    pub config: Arc<BrokerConfig>,
    pub topics: Arc<TopicRegistry>,
    pub groups: GroupCoordinator,
    pub producer_ids: ProducerIdAllocator,
    pub cluster_id: String,
    group_commit: GroupCommit,
    /// acks=0/1 bytes appended in `acks` mode since the last background round began.
    unflushed_bytes: AtomicU64,
    /// A background round is running (at most one at a time).
    background_flushing: AtomicBool,
    /// Set by [`Broker::shutdown`] before the logs close; the group timer holds the lock for
    /// its tick (which may append group records), so none appends after the final flush,
    /// even if a task still holds the broker then.
    stopped: parking_lot::Mutex<bool>,
}

impl Broker {
    /// Opens the data directory (recovering logs). Must run inside a tokio runtime.
    pub fn open(config: BrokerConfig) -> std::io::Result<(Arc<Self>, LoadReport)> {
        let config = Arc::new(config);
        std::fs::create_dir_all(&config.data_dir)?;
        let cluster_id = load_or_create_cluster_id(&config.data_dir)?;
        let (topics, report) = TopicRegistry::open(config.clone())?;
        let topics = Arc::new(topics);
        let producer_ids = ProducerIdAllocator::open(&config.data_dir)?;
        let groups = GroupCoordinator::open(topics.clone(), config.group_config())?;
        let group_commit = GroupCommit::start(&config.data_dir)?;
        let broker = Arc::new(Self {
            config,
            topics,
            groups,
            producer_ids,
            cluster_id,
            group_commit,
            unflushed_bytes: AtomicU64::new(0),
            background_flushing: AtomicBool::new(false),
            stopped: parking_lot::Mutex::new(false),
        });
        tokio::spawn(maintenance(Arc::downgrade(&broker)));
        tokio::spawn(group_timers(Arc::downgrade(&broker)));
        Ok((broker, report))
    }

    /// Makes appends to `partitions` durable per the configured mode before acknowledging:
    /// waits for a group-commit round in `acks`/`sync`, returns at once in `interval`/`os`.
    /// The round is asked for at the call (see [`GroupCommit::sync`]); the future only waits.
    pub fn commit(
        &self,
        partitions: Vec<Arc<crate::log::Partition>>,
    ) -> impl std::future::Future<Output = Result<(), crate::error::StorageError>> + Send + 'static {
        let wanted = if self.config.durability.group_commit() { partitions } else { Vec::new() };
        self.group_commit.sync(wanted)
    }

    /// [`Broker::commit`] with an outcome per partition, in the order given (produce answers
    /// each partition on its own: one partition's failed fsync must not fail the others).
    pub fn commit_each(
        &self,
        partitions: Vec<Arc<crate::log::Partition>>,
    ) -> impl std::future::Future<Output = Vec<Result<(), crate::error::StorageError>>> + Send + 'static {
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
            let b = self.clone();
            tokio::spawn(async move { b.flush_dirty().await });
        }
    }

    /// One background round over every partition holding unflushed data (or segments rolled
    /// since the last round). The caller holds `background_flushing`; this releases it.
    async fn flush_dirty(&self) {
        self.unflushed_bytes.store(0, Ordering::Relaxed);
        // A poisoned partition (its failure already logged) stays dirty: leave it out.
        let dirty: Vec<_> = self
            .topics
            .all_partitions()
            .into_iter()
            .filter(|p| (p.is_dirty() || p.has_unflushed_segments()) && !p.is_poisoned())
            .collect();
        if let Err(e) = self.group_commit.sync(dirty).await {
            tracing::warn!("background flush failed: {e}");
        }
        self.background_flushing.store(false, Ordering::Release);
    }

    /// Graceful shutdown of the storage (flush, snapshots, checkpoints, clean marker). Stops
    /// the background jobs first (waiting for a group timer tick in progress).
    pub fn shutdown(&self) -> std::io::Result<()> {
        *self.stopped.lock() = true;
        self.topics.shutdown()
    }
}

/// Drives group timers (session expiry, rebalance and join deadlines) every 50 ms.
async fn group_timers(broker: std::sync::Weak<Broker>) {
    let mut timer = tokio::time::interval(Duration::from_millis(50));
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        timer.tick().await;
        let Some(b) = broker.upgrade() else { return };
        let touched = {
            let stopped = b.stopped.lock();
            if *stopped {
                return;
            }
            b.groups.tick()
        };
        if !touched.is_empty() {
            tokio::spawn(b.commit(touched));
        }
    }
}

/// Periodic duties: interval fsyncs, fsync of rolled segments, recovery checkpoints.
/// Skips ticks rather than piling up when a round is slow.
async fn maintenance(broker: std::sync::Weak<Broker>) {
    let tick = match broker.upgrade().map(|b| (b.config.durability, b.config.flush_interval)) {
        Some((Durability::Interval | Durability::Acks, d)) => d.min(DEFAULT_TICK),
        _ => DEFAULT_TICK,
    };
    let mut timer = tokio::time::interval(tick);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_checkpoint = tokio::time::Instant::now();
    let mut last_flush = tokio::time::Instant::now();
    let mut last_retention = tokio::time::Instant::now();
    let retention_every = Duration::from_millis(
        broker.upgrade().map(|b| b.config.log_retention_check_interval_ms).unwrap_or(300_000).max(100),
    );
    loop {
        timer.tick().await;
        let Some(b) = broker.upgrade() else { return };
        if *b.stopped.lock() {
            return; // the logs are closed
        }
        // Data answered unflushed (`interval`, and acks=0/1 in `acks`) gets one group-commit
        // round per flush interval, so a power cut loses at most that much and a restart after
        // a crash validates at most that much per partition (`acks` mode also starts a round
        // early once `flush_bytes` is unflushed, see `note_unflushed`). Otherwise only segments
        // that rolled since the last round are fsynced (in `os` too: they are never written
        // again).
        let flush_dirty = matches!(b.config.durability, Durability::Interval | Durability::Acks)
            && last_flush.elapsed() >= b.config.flush_interval;
        if flush_dirty && !b.background_flushing.swap(true, Ordering::AcqRel) {
            last_flush = tokio::time::Instant::now();
            b.flush_dirty().await;
        } else {
            let rolled: Vec<_> = b
                .topics
                .all_partitions()
                .into_iter()
                .filter(|p| p.has_unflushed_segments() && !p.is_poisoned())
                .collect();
            if let Err(e) = b.group_commit.sync_rolled(rolled).await {
                tracing::warn!("fsync of rolled segments failed: {e}");
            }
        }
        // Retention and checkpoints hold `stopped` while they run: shutdown, which sets it,
        // waits for them, and none starts once the logs are being closed (a checkpoint built
        // before the final flush must not land after the clean-shutdown marker).
        if last_retention.elapsed() >= retention_every {
            last_retention = tokio::time::Instant::now();
            let stopped = b.stopped.lock();
            if *stopped {
                return;
            }
            let now = crate::util::now_ms();
            for p in b.topics.all_partitions() {
                p.enforce_retention(now);
            }
        }
        if last_checkpoint.elapsed() >= Duration::from_secs(2) {
            last_checkpoint = tokio::time::Instant::now();
            let b2 = b.clone();
            let written = tokio::task::spawn_blocking(move || {
                let stopped = b2.stopped.lock();
                if *stopped {
                    return Ok(());
                }
                b2.topics.write_checkpoints()
            });
            if let Ok(Err(e)) = written.await {
                tracing::warn!("cannot write recovery checkpoints: {e}");
            }
        }
    }
}

fn load_or_create_cluster_id(dir: &std::path::Path) -> std::io::Result<String> {
    let path = dir.join("cluster-id");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim().to_string();
        if !s.is_empty() {
            return Ok(s);
        }
    }
    // Kafka cluster ids are a UUID in URL-safe base64 without padding (22 chars).
    let id = base64_url(uuid::Uuid::new_v4().as_bytes());
    crate::util::write_atomic(&path, id.as_bytes())?;
    Ok(id)
}

fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 6 {
            bits -= 6;
            out.push(ALPHABET[((acc >> bits) & 63) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((acc << (6 - bits)) & 63) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn cluster_id_is_22_chars() {
        assert_eq!(super::base64_url(&[0u8; 16]).len(), 22);
    }
}
