//! The topic registry: the durable metadata store of topics (names, ids, partition counts,
//! configs in `topics.json`, written atomically), looked up by name or id without a global
//! lock (DashMap). Admin operations (create, delete, add partitions, configs) are serialised
//! by one mutex and ask the [`LogManager`] for the logs; the produce/fetch path never takes
//! it. (With a controller quorum this becomes the replicated metadata log.)

use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use dashmap::DashMap;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::config::TopicConfigs;
use super::{collision_key, validate_name, Topic};
use crate::config::live::LiveConfig;
use crate::error::{ErrorCode, StorageContext, StorageError, StorageOp};
use crate::log::partition::RecoveryReport;
use crate::log::LogManager;
use crate::util::write_atomic;

const TOPICS_FILE: &str = "topics.json";

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
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ErrorCode for TopicError {
    fn code(&self) -> i16 {
        use kafka_protocol::error::ResponseError as E;
        match self {
            TopicError::AlreadyExists(_) => E::TopicAlreadyExists.code(),
            TopicError::InvalidName(_) => E::InvalidTopicException.code(),
            TopicError::InvalidPartitions(_) => E::InvalidPartitions.code(),
            TopicError::InvalidReplicationFactor(_) => E::InvalidReplicationFactor.code(),
            TopicError::InvalidReplicaAssignment(_) => E::InvalidReplicaAssignment.code(),
            TopicError::InvalidConfig(_) => E::InvalidConfig.code(),
            TopicError::Unknown => E::UnknownTopicOrPartition.code(),
            TopicError::Storage(e) => e.code(),
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
    /// The broker's settings now: topic configs default to them, and a dynamic change of
    /// one reaches every topic that does not override it.
    live: Arc<LiveConfig>,
    logs: Arc<LogManager>,
    by_name: DashMap<Arc<str>, Arc<Topic>>,
    by_id: DashMap<Uuid, Arc<Topic>>,
    admin: Mutex<()>,
    /// Bumped by every creation, deletion and partition growth: consumer groups re-evaluate
    /// their regular expressions and subscribed topics' hash when it moved (Kafka compares
    /// metadata image versions).
    version: std::sync::atomic::AtomicU64,
}

impl TopicRegistry {
    /// Loads every topic in `data_dir`, opening (recovering) each partition's log.
    pub fn open(live: Arc<LiveConfig>, logs: Arc<LogManager>) -> std::io::Result<(Self, LoadReport)> {
        let broker = live.current();
        let data_dir = broker.data_dir.clone();
        let mut report = LoadReport { clean_shutdown: logs.had_clean_shutdown(), ..LoadReport::default() };
        let file: TopicsFile = match std::fs::read(data_dir.join(TOPICS_FILE)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{TOPICS_FILE}: {e}")))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => TopicsFile { version: 1, topics: Vec::new() },
            Err(e) => return Err(e),
        };
        let reg = Self {
            data_dir,
            live,
            logs: logs.clone(),
            by_name: DashMap::new(),
            by_id: DashMap::new(),
            admin: Mutex::new(()),
            version: Default::default(),
        };
        for rec in file.topics {
            let name: Arc<str> = rec.name.as_str().into();
            logs.load(
                &name,
                rec.partitions.max(0),
                rec.internal,
                &rec.configs.log_config(&broker),
                &mut report.recovery,
            )?;
            report.partitions += rec.partitions.max(0) as usize;
            let topic = Arc::new(Topic {
                name: name.clone(),
                id: rec.id,
                internal: rec.internal,
                configs: RwLock::new(rec.configs),
                partition_count: AtomicI32::new(rec.partitions.max(0)),
            });
            reg.by_id.insert(rec.id, topic.clone());
            reg.by_name.insert(name, topic);
            report.topics += 1;
        }
        logs.startup_complete();
        Ok((reg, report))
    }

    pub fn get(&self, name: &str) -> Option<Arc<Topic>> {
        self.by_name.get(name).map(|t| t.clone())
    }

    pub fn get_by_id(&self, id: &Uuid) -> Option<Arc<Topic>> {
        self.by_id.get(id).map(|t| t.clone())
    }

    /// Moves whenever a topic is created, deleted or grows.
    pub fn version(&self) -> u64 {
        self.version.load(std::sync::atomic::Ordering::Acquire)
    }

    /// All topics, sorted by name.
    pub fn list(&self) -> Vec<Arc<Topic>> {
        let mut v: Vec<Arc<Topic>> = self.by_name.iter().map(|e| e.value().clone()).collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    fn persist(&self) -> Result<(), StorageError> {
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
        let path = self.data_dir.join(TOPICS_FILE);
        serde_json::to_vec_pretty(&TopicsFile { version: 1, topics })
            .map_err(std::io::Error::other)
            .and_then(|bytes| write_atomic(&path, &bytes))
            .storage(StorageOp::Write, Some(&path))
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
        let partitions = if partitions == -1 { self.live.current().num_partitions } else { partitions };
        let configs = self.check_create(name, partitions, replication, configs)?;
        let name: Arc<str> = name.into();
        let topic = Arc::new(Topic {
            name: name.clone(),
            id: Uuid::new_v4(),
            internal: name.starts_with("__"),
            configs: RwLock::new(configs.clone()),
            partition_count: AtomicI32::new(if validate_only { 0 } else { partitions }),
        });
        if validate_only {
            return Ok(topic);
        }
        // Logs first, then the metadata that makes them visible.
        if let Err(e) =
            self.logs.create(&name, 0, partitions, topic.internal, &configs.log_config(&self.live.current()))
        {
            self.logs.delete(&name, &topic.id.simple().to_string());
            return Err(e.into());
        }
        self.by_id.insert(topic.id, topic.clone());
        self.by_name.insert(name.clone(), topic.clone());
        if let Err(e) = self.persist() {
            self.by_name.remove(&name);
            self.by_id.remove(&topic.id);
            self.logs.delete(&name, &topic.id.simple().to_string());
            return Err(e.into());
        }
        self.version.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        tracing::info!(topic = %name, partitions, id = %topic.id, "created topic");
        Ok(topic)
    }

    /// Deletes a topic: unregisters it, persists, then removes its directories.
    pub fn delete(&self, name: &str) -> Result<Uuid, TopicError> {
        let _admin = self.admin.lock();
        let (_, topic) = self.by_name.remove(name).ok_or(TopicError::Unknown)?;
        self.by_id.remove(&topic.id);
        self.persist()?;
        self.logs.delete(name, &topic.id.simple().to_string());
        self.version.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
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
        self.logs.create(&topic.name, current, total, topic.internal, &configs.log_config(&self.live.current()))?;
        topic.partition_count.store(total, Ordering::Release);
        self.persist()?;
        self.version.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
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
        self.logs.set_config(name, &configs.log_config(&self.live.current()));
        tracing::info!(topic = %name, configs = ?configs.0, "altered topic configs");
        Ok(())
    }

    /// Applies the broker's settings as they are now to every topic's logs (after a dynamic
    /// broker config changed a topic-config default).
    pub fn reapply_log_configs(&self) {
        let _admin = self.admin.lock();
        let broker = self.live.current();
        for t in self.by_name.iter() {
            let t = t.value();
            self.logs.set_config(&t.name, &t.configs().log_config(&broker));
        }
    }
}
