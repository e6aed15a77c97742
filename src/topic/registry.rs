//! The topic registry: looks topics up by name or id without a global lock (DashMap), and
//! persists topic metadata (`topics.json`, written atomically) so it survives restarts.
//! Admin operations (create, delete, add partitions) are serialised by one mutex; the
//! produce/fetch path never takes it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::config::TopicConfigs;
use super::{collision_key, validate_name, Topic};
use crate::config::BrokerConfig;
use crate::log::faults::Point;
use crate::log::partition::RecoveryReport;
use crate::log::{Partition, RecoveryPoint};
use crate::util::{write_atomic, write_atomic_failpoint};

const TOPICS_FILE: &str = "topics.json";
const CHECKPOINT_FILE: &str = "recovery-point-offset-checkpoint.json";
const CLEAN_SHUTDOWN_FILE: &str = ".clean-shutdown";

#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("Topic '{0}' already exists.")]
    AlreadyExists(String),
    #[error("{0}")]
    InvalidName(String),
    #[error("{0}")]
    InvalidPartitions(String),
    #[error("{0}")]
    InvalidReplicationFactor(String),
    #[error("{0}")]
    InvalidReplicaAssignment(String),
    #[error("{0}")]
    InvalidConfig(String),
    #[error("This server does not host this topic-partition.")]
    Unknown,
    #[error("storage error: {0}")]
    Storage(#[from] std::io::Error),
}

impl TopicError {
    pub fn code(&self) -> i16 {
        use kafka_protocol::error::ResponseError as E;
        match self {
            TopicError::AlreadyExists(_) => E::TopicAlreadyExists.code(),
            TopicError::InvalidName(_) => E::InvalidTopicException.code(),
            TopicError::InvalidPartitions(_) => E::InvalidPartitions.code(),
            TopicError::InvalidReplicationFactor(_) => E::InvalidReplicationFactor.code(),
            TopicError::InvalidReplicaAssignment(_) => E::InvalidReplicaAssignment.code(),
            TopicError::InvalidConfig(_) => E::InvalidConfig.code(),
            TopicError::Unknown => E::UnknownTopicOrPartition.code(),
            TopicError::Storage(_) => E::KafkaStorageError.code(),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct TopicRecord {
    name: String,
    id: Uuid,
    partitions: i32,
    #[serde(default)]
    internal: bool,
    configs: TopicConfigs,
}

#[derive(Serialize, Deserialize)]
struct TopicsFile {
    version: u32,
    topics: Vec<TopicRecord>,
}

/// Startup summary of what was loaded and recovered.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub topics: usize,
    pub partitions: usize,
    pub clean_shutdown: bool,
    pub recovery: RecoveryReport,
}

pub struct TopicRegistry {
    data_dir: PathBuf,
    broker: Arc<BrokerConfig>,
    by_name: DashMap<Arc<str>, Arc<Topic>>,
    by_id: DashMap<Uuid, Arc<Topic>>,
    admin: Mutex<()>,
    /// The last checkpoint written, to skip rewriting an unchanged file.
    last_checkpoint: Mutex<Vec<u8>>,
}

fn partition_dir(data_dir: &Path, topic: &str, p: i32) -> PathBuf {
    data_dir.join(format!("{topic}-{p}"))
}

impl TopicRegistry {
    /// Loads every topic in `data_dir`, recovering each partition's log.
    pub fn open(broker: Arc<BrokerConfig>) -> std::io::Result<(Self, LoadReport)> {
        let data_dir = broker.data_dir.clone();
        std::fs::create_dir_all(&data_dir)?;
        let mut report = LoadReport::default();
        let clean_marker = data_dir.join(CLEAN_SHUTDOWN_FILE);
        report.clean_shutdown = clean_marker.exists();
        let checkpoints: HashMap<String, RecoveryPoint> = std::fs::read(data_dir.join(CHECKPOINT_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let file: TopicsFile = match std::fs::read(data_dir.join(TOPICS_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{TOPICS_FILE}: {e}")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => TopicsFile { version: 1, topics: Vec::new() },
            Err(e) => return Err(e),
        };
        let reg = Self {
            data_dir: data_dir.clone(),
            broker: broker.clone(),
            by_name: DashMap::new(),
            by_id: DashMap::new(),
            admin: Mutex::new(()),
            last_checkpoint: Mutex::new(Vec::new()),
        };
        remove_deleted_dirs(&data_dir);
        for rec in file.topics {
            let name: Arc<str> = rec.name.as_str().into();
            let mut parts = Vec::with_capacity(rec.partitions.max(0) as usize);
            for p in 0..rec.partitions {
                let dir = partition_dir(&data_dir, &rec.name, p);
                let key = format!("{}-{p}", rec.name);
                let (part, rep) = Partition::open(
                    dir,
                    name.clone(),
                    p,
                    rec.configs.log_config(&broker),
                    checkpoints.get(&key).copied(),
                    broker.durability.fsync_before_visible(),
                )?;
                if rep.truncated_bytes > 0 || rep.dropped_segments > 0 {
                    tracing::warn!(topic = %rec.name, partition = p, truncated_bytes = rep.truncated_bytes, dropped_segments = rep.dropped_segments, "recovered a torn or corrupt log tail");
                }
                report.recovery.truncated_bytes += rep.truncated_bytes;
                report.recovery.validated_bytes += rep.validated_bytes;
                report.recovery.segments += rep.segments;
                report.recovery.indexes_rebuilt += rep.indexes_rebuilt;
                report.recovery.dropped_segments += rep.dropped_segments;
                report.recovery.producers += rep.producers;
                parts.push(Arc::new(part));
                report.partitions += 1;
            }
            let topic = Arc::new(Topic {
                name: name.clone(),
                id: rec.id,
                internal: rec.internal,
                configs: RwLock::new(rec.configs),
                partitions: RwLock::new(parts),
            });
            reg.by_id.insert(rec.id, topic.clone());
            reg.by_name.insert(name, topic);
            report.topics += 1;
        }
        // From here on a crash is unclean until the next graceful shutdown.
        let _ = std::fs::remove_file(&clean_marker);
        Ok((reg, report))
    }

    pub fn get(&self, name: &str) -> Option<Arc<Topic>> {
        self.by_name.get(name).map(|t| t.clone())
    }

    pub fn get_by_id(&self, id: &Uuid) -> Option<Arc<Topic>> {
        self.by_id.get(id).map(|t| t.clone())
    }

    /// All topics, sorted by name.
    pub fn list(&self) -> Vec<Arc<Topic>> {
        let mut v: Vec<Arc<Topic>> = self.by_name.iter().map(|e| e.value().clone()).collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.by_name.iter().flat_map(|e| e.value().partitions()).collect()
    }

    fn persist(&self) -> std::io::Result<()> {
        let topics = self
            .list()
            .into_iter()
            .map(|t| TopicRecord {
                name: t.name.to_string(),
                id: t.id,
                partitions: t.partition_count(),
                internal: t.internal,
                configs: t.configs(),
            })
            .collect();
        let bytes = serde_json::to_vec_pretty(&TopicsFile { version: 1, topics }).map_err(std::io::Error::other)?;
        write_atomic(&self.data_dir.join(TOPICS_FILE), &bytes)
    }

    fn open_partition(&self, name: &Arc<str>, p: i32, configs: &TopicConfigs) -> std::io::Result<Arc<Partition>> {
        let dir = partition_dir(&self.data_dir, name, p);
        // A fresh partition must not inherit files left by an older topic of the same name.
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
        let (part, _) = Partition::open(
            dir,
            name.clone(),
            p,
            configs.log_config(&self.broker),
            None,
            self.broker.durability.fsync_before_visible(),
        )?;
        Ok(Arc::new(part))
    }

    /// Checks a create request without side effects.
    pub fn check_create(
        &self,
        name: &str,
        partitions: i32,
        replication: i16,
        configs: &[(String, Option<String>)],
    ) -> Result<TopicConfigs, TopicError> {
        validate_name(name).map_err(TopicError::InvalidName)?;
        if self.by_name.contains_key(name) {
            return Err(TopicError::AlreadyExists(name.to_string()));
        }
        let key = collision_key(name);
        if self.by_name.iter().any(|e| collision_key(e.key()) == key) {
            return Err(TopicError::InvalidName(format!(
                "Topic '{name}' collides with an existing topic ('.' and '_' are interchangeable in topic names)."
            )));
        }
        if partitions < 1 {
            return Err(TopicError::InvalidPartitions(format!(
                "Number of partitions was set to an invalid non-positive value: {partitions}."
            )));
        }
        if partitions > 100_000 {
            return Err(TopicError::InvalidPartitions(format!(
                "Number of partitions {partitions} is larger than the broker allows (100000)."
            )));
        }
        if replication < 1 && replication != -1 {
            return Err(TopicError::InvalidReplicationFactor(
                "Replication factor must be larger than 0, or -1 to use the default value.".into(),
            ));
        }
        if replication > 1 {
            return Err(TopicError::InvalidReplicationFactor(format!("Unable to replicate the partition {replication} time(s): The target replication factor of {replication} cannot be reached because only 1 broker(s) are registered.")));
        }
        TopicConfigs::from_pairs(configs.iter().map(|(k, v)| (k.as_str(), v.as_deref())))
            .map_err(TopicError::InvalidConfig)
    }

    /// Creates a topic (or only validates it). Partitions default to `num.partitions`.
    pub fn create(
        &self,
        name: &str,
        partitions: i32,
        replication: i16,
        configs: &[(String, Option<String>)],
        validate_only: bool,
    ) -> Result<Arc<Topic>, TopicError> {
        let _admin = self.admin.lock();
        let partitions = if partitions == -1 { self.broker.num_partitions } else { partitions };
        let configs = self.check_create(name, partitions, replication, configs)?;
        let name: Arc<str> = name.into();
        let make = |parts| Topic {
            name: name.clone(),
            id: Uuid::new_v4(),
            internal: name.starts_with("__"),
            configs: RwLock::new(configs.clone()),
            partitions: RwLock::new(parts),
        };
        if validate_only {
            return Ok(Arc::new(make(Vec::new())));
        }
        let mut parts = Vec::with_capacity(partitions as usize);
        for p in 0..partitions {
            parts.push(self.open_partition(&name, p, &configs)?);
        }
        let topic = Arc::new(make(parts));
        self.by_id.insert(topic.id, topic.clone());
        self.by_name.insert(name.clone(), topic.clone());
        if let Err(e) = self.persist() {
            self.by_name.remove(&name);
            self.by_id.remove(&topic.id);
            return Err(e.into());
        }
        tracing::info!(topic = %name, partitions, id = %topic.id, "created topic");
        Ok(topic)
    }

    /// Deletes a topic: unregisters it, persists, then removes its directories.
    pub fn delete(&self, name: &str) -> Result<Uuid, TopicError> {
        let _admin = self.admin.lock();
        let (_, topic) = self.by_name.remove(name).ok_or(TopicError::Unknown)?;
        self.by_id.remove(&topic.id);
        self.persist()?;
        for p in topic.partitions() {
            let dir = p.dir().to_path_buf();
            let doomed = dir.with_file_name(format!(
                "{}.{}-delete",
                dir.file_name().and_then(|s| s.to_str()).unwrap_or("x"),
                topic.id.simple()
            ));
            if std::fs::rename(&dir, &doomed).is_ok() {
                let _ = std::fs::remove_dir_all(&doomed);
            }
        }
        tracing::info!(topic = %name, id = %topic.id, "deleted topic");
        Ok(topic.id)
    }

    /// Grows a topic to `total` partitions (or only validates).
    pub fn add_partitions(&self, name: &str, total: i32, validate_only: bool) -> Result<(), TopicError> {
        let _admin = self.admin.lock();
        let topic = self.get(name).ok_or(TopicError::Unknown)?;
        let current = topic.partition_count();
        if total <= current {
            return Err(TopicError::InvalidPartitions(format!(
                "Topic currently has {current} partitions, {total} would not be an increase."
            )));
        }
        if total > 100_000 {
            return Err(TopicError::InvalidPartitions(format!(
                "Number of partitions {total} is larger than the broker allows (100000)."
            )));
        }
        if validate_only {
            return Ok(());
        }
        let configs = topic.configs();
        let mut new = Vec::new();
        for p in current..total {
            new.push(self.open_partition(&topic.name, p, &configs)?);
        }
        topic.partitions.write().extend(new);
        self.persist()?;
        tracing::info!(topic = %name, from = current, to = total, "added partitions");
        Ok(())
    }

    /// Replaces a topic's config overrides (AlterConfigs / IncrementalAlterConfigs), applying
    /// the new log settings to every partition (or only validating).
    pub fn set_configs(
        &self,
        name: &str,
        overrides: &[(String, Option<String>)],
        validate_only: bool,
    ) -> Result<(), TopicError> {
        let _admin = self.admin.lock();
        let topic = self.get(name).ok_or(TopicError::Unknown)?;
        let configs = TopicConfigs::from_pairs(overrides.iter().map(|(k, v)| (k.as_str(), v.as_deref())))
            .map_err(TopicError::InvalidConfig)?;
        if validate_only {
            return Ok(());
        }
        let old = std::mem::replace(&mut *topic.configs.write(), configs.clone());
        if let Err(e) = self.persist() {
            *topic.configs.write() = old;
            return Err(e.into());
        }
        let log_config = configs.log_config(&self.broker);
        for p in topic.partitions() {
            p.set_config(log_config.clone());
        }
        tracing::info!(topic = %name, configs = ?configs.0, "altered topic configs");
        Ok(())
    }

    /// Writes every partition's recovery point (last fsynced position) atomically.
    pub fn write_checkpoints(&self) -> std::io::Result<()> {
        let mut map = BTreeMap::new();
        for t in self.list() {
            for p in t.partitions() {
                if let Err(e) = p.persist_indexes() {
                    tracing::warn!(topic = %t.name, partition = p.index, "cannot write index files: {e}");
                }
                map.insert(format!("{}-{}", t.name, p.index), p.recovery_point());
            }
        }
        let bytes = serde_json::to_vec(&map).map_err(std::io::Error::other)?;
        let mut last = self.last_checkpoint.lock();
        if *last == bytes {
            return Ok(());
        }
        write_atomic_failpoint(Point::CheckpointWrite, &self.data_dir.join(CHECKPOINT_FILE), &bytes)?;
        *last = bytes;
        Ok(())
    }

    /// Graceful shutdown: flush everything, snapshot producer state, checkpoint, mark clean.
    /// A partition that cannot be closed (poisoned by a write or fsync failure, or failing
    /// now) does not stop the others from closing nor the checkpoint (which keeps its last
    /// good recovery point); the shutdown then reports the first error and is not marked
    /// clean.
    pub fn shutdown(&self) -> std::io::Result<()> {
        let mut first_error = None;
        for p in self.all_partitions() {
            if let Err(e) = p.close() {
                tracing::error!(topic = %p.topic, partition = p.index, "cannot close the partition cleanly: {e}");
                first_error.get_or_insert(e);
            }
        }
        self.write_checkpoints()?;
        match first_error {
            Some(e) => Err(e),
            None => write_atomic(&self.data_dir.join(CLEAN_SHUTDOWN_FILE), b""),
        }
    }
}

fn remove_deleted_dirs(data_dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(data_dir) {
        for e in entries.flatten() {
            if e.file_name().to_str().is_some_and(|n| n.ends_with("-delete")) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
}
