//! The broker: the layers every connection shares, wired together once. Handlers reach
//! storage only through them: the [`MetadataCache`] (what Metadata and FindCoordinator
//! answer), the [`TopicRegistry`] (the durable topic metadata), the [`ReplicaManager`]
//! (appends with acks and durability, reads with leader-epoch checks) over the
//! [`LogManager`] (the partitions' logs), the group coordinator and the producer ids.
//! Also owns the background jobs (group timers, flushes, retention, checkpoints).

use std::sync::Arc;
use std::time::Duration;

use crate::auth::{AllowAll, Authorizer};
use crate::cluster::MetadataCache;
use crate::config::live::LiveConfig;
use crate::config::{BrokerConfig, Durability};
use crate::group::GroupCoordinator;
use crate::log::flush::DEFAULT_TICK;
use crate::log::manager::CleanerSettings;
use crate::log::LogManager;
use crate::producer::ids::ProducerIdAllocator;
use crate::replica::ReplicaManager;
use crate::server::limits::ConnectionLimits;
use crate::topic::registry::LoadReport;
use crate::topic::TopicRegistry;
use crate::txn::TransactionCoordinator;

pub struct Broker {
    /// The settings at startup (static, with the stored dynamic configs over them). The
    /// dynamic ones may change later: read those through `live`.
    pub config: Arc<BrokerConfig>,
    /// The settings now, and the dynamic broker and group configs under them.
    pub live: Arc<LiveConfig>,
    /// `max.connections` and its per-address kin, for the listener.
    pub connection_limits: Arc<ConnectionLimits>,
    pub metadata: MetadataCache,
    pub topics: Arc<TopicRegistry>,
    pub logs: Arc<LogManager>,
    pub replicas: Arc<ReplicaManager>,
    pub groups: GroupCoordinator,
    /// Share groups' share partitions, sessions and durable state (KIP-932).
    pub shares: crate::share::ShareManager,
    pub producer_ids: Arc<ProducerIdAllocator>,
    /// The transaction coordinator.
    pub txns: Arc<TransactionCoordinator>,
    /// SASL mechanisms, PLAIN users and the OAUTHBEARER validator.
    pub sasl: crate::auth::sasl::exchange::SaslConfig,
    /// Users' SCRAM credentials (`scram-credentials.json`).
    pub credentials: crate::auth::credentials::CredentialStore,
    /// The ACLs (`acls.json`), when an authorizer is configured.
    pub acls: Option<crate::auth::acl::AclStore>,
    /// Checks each request's principal against the resources it touches.
    pub authorizer: Arc<dyn Authorizer>,
    /// Per-API request counts and latencies (`/metrics`).
    pub requests: crate::metrics::RequestStats,
    /// Set by [`Broker::shutdown`] before the logs close; the group timer holds the lock for
    /// its tick (which may append group records), so none appends after the final flush,
    /// even if a task still holds the broker then.
    stopped: parking_lot::Mutex<bool>,
    /// Held by the transaction coordinator's tick (which may append markers and state);
    /// shutdown takes it after setting `stopped`, so no tick appends after the final flush.
    txn_tick: tokio::sync::Mutex<()>,
}

impl Broker {
    /// Opens the data directory (recovering logs). Must run inside a tokio runtime.
    pub fn open(config: BrokerConfig) -> std::io::Result<(Arc<Self>, LoadReport)> {
        std::fs::create_dir_all(&config.data_dir)?;
        let live = Arc::new(LiveConfig::open(Arc::new(config))?);
        let config = live.current();
        let cluster_id = load_or_create_cluster_id(&config.data_dir)?;
        let logs = Arc::new(LogManager::open(config.clone())?);
        let (topics, report) = TopicRegistry::open(live.clone(), logs.clone())?;
        let topics = Arc::new(topics);
        let metadata = MetadataCache::new(&config, cluster_id, logs.clone());
        let replicas = Arc::new(ReplicaManager::new(config.clone(), logs.clone())?);
        let producer_ids = Arc::new(ProducerIdAllocator::open(&config.data_dir)?);
        let groups = GroupCoordinator::open(topics.clone(), logs.clone(), replicas.clone(), config.group_config());
        let share_store = crate::share::store::ShareStateStore::open(
            topics.clone(),
            logs.clone(),
            replicas.clone(),
            config.share.state_partitions,
        );
        let shares = crate::share::ShareManager::new(share_store, config.share.clone());
        let txns = Arc::new(TransactionCoordinator::open(
            topics.clone(),
            logs.clone(),
            replicas.clone(),
            producer_ids.clone(),
            config.transactions.clone(),
        ));
        let sasl = crate::auth::sasl::exchange::SaslConfig {
            enabled: config.sasl.enabled.clone(),
            plain_users: crate::auth::sasl::plain::PlainUsers::parse(&config.sasl.plain_users)
                .map_err(std::io::Error::other)?,
            oauthbearer: Default::default(),
            max_reauth_ms: config.sasl.max_reauth_ms,
        };
        let credentials = crate::auth::credentials::CredentialStore::open(&config.data_dir)?;
        let (acls, authorizer): (_, Arc<dyn Authorizer>) = if config.acl.enabled {
            let auth = Arc::new(
                crate::auth::acl::AclAuthorizer::from_settings(
                    &config.acl.super_users,
                    config.acl.allow_everyone_if_no_acl_found,
                )
                .map_err(std::io::Error::other)?,
            );
            let store = crate::auth::acl::AclStore::open(&config.data_dir, auth.clone())?;
            (Some(store), auth)
        } else {
            (None, Arc::new(AllowAll))
        };
        let broker = Arc::new(Self {
            connection_limits: Arc::new(ConnectionLimits::new(&config)),
            config,
            live,
            metadata,
            topics,
            logs,
            replicas,
            groups,
            shares,
            producer_ids,
            txns,
            sasl,
            credentials,
            acls,
            authorizer,
            requests: Default::default(),
            stopped: parking_lot::Mutex::new(false),
            txn_tick: tokio::sync::Mutex::new(()),
        });
        broker.logs.start_cleaners();
        tokio::spawn(load_coordinators(Arc::downgrade(&broker)));
        tokio::spawn(maintenance(Arc::downgrade(&broker)));
        tokio::spawn(group_timers(Arc::downgrade(&broker)));
        tokio::spawn(txn_timers(Arc::downgrade(&broker)));
        Ok((broker, report))
    }

    /// Puts the effective config as it is now to work (after a dynamic config changed it):
    /// topic-config defaults reach every topic that does not override them, the cleaner
    /// threads restart with their settings, the connection limits change. Reading the
    /// current config (not the one a caller swapped in) keeps two concurrent changes from
    /// applying out of order. Blocking: it may join cleaner threads.
    pub fn apply_config(&self) {
        let config = self.live.current();
        self.topics.reapply_log_configs();
        self.logs.reconfigure_cleaners(CleanerSettings::of(&config));
        self.connection_limits.reconfigure(&config);
    }

    /// The group configs a share partition of `group` runs with now.
    pub fn share_settings(&self, group: &str) -> crate::share::manager::GroupSettings {
        let defaults = self.live.current().group_defaults;
        crate::share::manager::GroupSettings::of(
            &self.live.group_configs(group),
            &defaults,
            self.shares.config.max_record_locks,
        )
    }

    /// Graceful shutdown of the storage (flush, snapshots, checkpoints, clean marker). Stops
    /// the background jobs first (waiting for a group timer tick in progress).
    pub fn shutdown(&self) -> std::io::Result<()> {
        *self.stopped.lock() = true;
        // Runs on the blocking pool (`ServerHandle::shutdown`): waits for a tick in progress.
        drop(self.txn_tick.blocking_lock());
        self.logs.shutdown()
    }
}

/// How long a coordinator partition that could not be replayed waits before another try.
const LOAD_RETRY: Duration = Duration::from_secs(1);

/// Replays `__transaction_state` and `__consumer_offsets` in the background, as Kafka's
/// coordinators load: the broker serves at once, and a transactional id or group whose
/// partition is not replayed yet is answered COORDINATOR_LOAD_IN_PROGRESS (clients retry).
/// A partition that failed to read is retried.
async fn load_coordinators(broker: std::sync::Weak<Broker>) {
    loop {
        let Some(b) = broker.upgrade() else { return };
        if *b.stopped.lock() {
            return;
        }
        let loaded = move || b.txns.load() & b.groups.load() & b.shares.store.load();
        if tokio::task::spawn_blocking(loaded).await.unwrap_or(false) {
            return;
        }
        tokio::time::sleep(LOAD_RETRY).await;
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
            let mut touched = b.groups.tick();
            touched.extend(crate::share::dead_letter::tick(&b));
            touched
        };
        if !touched.is_empty() {
            tokio::spawn(b.replicas.wait_durable(touched));
        }
    }
}

/// Drives the transaction coordinator's duties: prepared transactions completed (at once
/// after a start, then each tick), timed-out ones aborted every
/// `transaction.abort.timed.out.transaction.cleanup.interval.ms`, idle ids expired every
/// `transaction.remove.expired.transaction.cleanup.interval.ms`.
async fn txn_timers(broker: std::sync::Weak<Broker>) {
    let (abort_every, expire_every) = match broker.upgrade() {
        Some(b) => (b.txns.config.abort_check_interval, b.txns.config.expiration_check_interval),
        None => return,
    };
    let mut timer = tokio::time::interval(abort_every.min(Duration::from_secs(1)));
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut last_abort_check = tokio::time::Instant::now();
    let mut last_expiry_check = tokio::time::Instant::now();
    let mut first = true;
    loop {
        timer.tick().await;
        let Some(b) = broker.upgrade() else { return };
        let _tick = b.txn_tick.lock().await;
        if *b.stopped.lock() {
            return;
        }
        let abort = first || last_abort_check.elapsed() >= abort_every;
        let expire = last_expiry_check.elapsed() >= expire_every;
        first = false;
        if abort {
            last_abort_check = tokio::time::Instant::now();
        }
        if expire {
            last_expiry_check = tokio::time::Instant::now();
        }
        crate::txn::timers::tick(&b, crate::util::now_ms(), abort, expire).await;
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
    let mut last_producer_expiry = tokio::time::Instant::now();
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
        if flush_dirty && b.replicas.flush_dirty_if_idle().await {
            last_flush = tokio::time::Instant::now();
        } else {
            b.replicas.flush_rolled().await;
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
            b.logs.enforce_retention(crate::util::now_ms());
        }
        if last_producer_expiry.elapsed() >= b.config.producer_id_expiration_check_interval {
            last_producer_expiry = tokio::time::Instant::now();
            b.logs.expire_producers(crate::util::now_ms(), b.config.producer_id_expiration_ms);
        }
        if last_checkpoint.elapsed() >= Duration::from_secs(2) {
            last_checkpoint = tokio::time::Instant::now();
            let b2 = b.clone();
            let written = tokio::task::spawn_blocking(move || {
                let stopped = b2.stopped.lock();
                if *stopped {
                    return Ok(());
                }
                b2.logs.write_checkpoints().and_then(|()| b2.logs.write_log_starts())
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
