//! The broker's effective settings: the static ones (flags, variables, file) with the
//! dynamic broker configs laid over them, and each group's configs. Both are stored in
//! `dynamic-configs.json` (Kafka keeps them in its metadata log), rewritten whole and
//! atomically at each change (admin changes are rare) and applied again at every start.
//! Readers take the current config as an `Arc` snapshot; a change swaps in a new one.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::dynamic::{self, DynamicBrokerConfigs};
use super::BrokerConfig;
use crate::error::{ErrorCode, StorageError, StorageOp};
use crate::group::configs::GroupConfigs;

pub const DYNAMIC_CONFIGS_FILE: &str = "dynamic-configs.json";
/// A larger file is not read (it cannot be one Brook wrote for any sane number of groups).
const MAX_FILE_BYTES: u64 = 64 << 20;

/// What the file holds.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct Stored {
    #[serde(default)]
    broker: DynamicBrokerConfigs,
    #[serde(default)]
    groups: BTreeMap<String, BTreeMap<String, String>>,
}

/// Why a config change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AlterError {
    /// Kafka's InvalidRequestException (a broker config that cannot change, a bad value of
    /// a broker config, a malformed resource).
    #[error("{0}")]
    InvalidRequest(String),
    /// Kafka's InvalidConfigurationException (an unknown or bad group config).
    #[error("{0}")]
    InvalidConfig(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ErrorCode for AlterError {
    fn code(&self) -> i16 {
        use kafka_protocol::error::ResponseError as E;
        match self {
            AlterError::InvalidRequest(_) => E::InvalidRequest.code(),
            AlterError::InvalidConfig(_) => E::InvalidConfig.code(),
            AlterError::Storage(e) => e.code(),
        }
    }
}

/// The effective settings and the dynamic configs under them.
pub struct LiveConfig {
    fixed: Arc<BrokerConfig>,
    current: RwLock<Arc<BrokerConfig>>,
    /// Held while a change is validated, written and swapped in, so changes apply in order.
    stored: Mutex<Stored>,
    path: PathBuf,
}

impl LiveConfig {
    /// Reads the stored dynamic configs and lays them over `fixed`. A stored value that is
    /// no longer valid (the static settings changed under it) is dropped with an error in
    /// the log, as Kafka drops invalid dynamic configs; an unreadable file fails the start.
    pub fn open(fixed: Arc<BrokerConfig>) -> std::io::Result<Self> {
        let path = fixed.data_dir.join(DYNAMIC_CONFIGS_FILE);
        let mut stored: Stored = match std::fs::File::open(&path) {
            Ok(f) => {
                let mut bytes = Vec::new();
                std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_FILE_BYTES + 1), &mut bytes)?;
                if bytes.len() as u64 > MAX_FILE_BYTES {
                    return Err(std::io::Error::other(format!("{} is larger than 64 MiB", path.display())));
                }
                serde_json::from_slice(&bytes).map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display()))
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Stored::default(),
            Err(e) => return Err(e),
        };
        let mut kept = DynamicBrokerConfigs::default();
        for per_broker in [false, true] {
            for (name, value) in stored.broker.scope(per_broker) {
                let mut trial = kept.clone();
                trial.scope_mut(per_broker).insert(name.clone(), value.clone());
                match dynamic::apply(&fixed, &trial) {
                    Ok(_) => kept = trial,
                    Err(e) => tracing::error!(config = %name, "ignoring the stored dynamic broker config: {e}"),
                }
            }
        }
        stored.broker = kept;
        let current = dynamic::apply(&fixed, &stored.broker).map_err(std::io::Error::other)?;
        Ok(Self { fixed, current: RwLock::new(Arc::new(current)), stored: Mutex::new(stored), path })
    }

    /// The effective config now.
    pub fn current(&self) -> Arc<BrokerConfig> {
        self.current.read().clone()
    }

    /// The static settings (flags, variables, file).
    pub fn fixed(&self) -> &Arc<BrokerConfig> {
        &self.fixed
    }

    /// Changes one scope of the dynamic broker configs (this broker's own, or the cluster
    /// default) to what `build` makes of its present configs. Refused, as Kafka refuses,
    /// when a name Brook knows cannot change live or a value is invalid. Returns the new
    /// effective config (None when `validate_only`), stored before it is returned.
    pub fn alter_broker(
        &self,
        per_broker: bool,
        validate_only: bool,
        build: impl FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, AlterError>,
    ) -> Result<Option<Arc<BrokerConfig>>, AlterError> {
        let mut stored = self.stored.lock();
        let scope = build(stored.broker.scope(per_broker))?;
        let fixed: Vec<&str> =
            scope.keys().map(String::as_str).filter(|k| dynamic::is_known(k) && !dynamic::is_dynamic(k)).collect();
        if !fixed.is_empty() {
            return Err(AlterError::InvalidRequest(format!(
                "Cannot update these configs dynamically: Set({})",
                fixed.join(", ")
            )));
        }
        let mut next = stored.broker.clone();
        *next.scope_mut(per_broker) = scope;
        let config = dynamic::apply(&self.fixed, &next).map_err(AlterError::InvalidRequest)?;
        check_cleaner_threads(self.current().log_cleaner_threads, config.log_cleaner_threads)?;
        if validate_only {
            return Ok(None);
        }
        let mut updated = stored.clone();
        updated.broker = next;
        self.write(&updated)?;
        *stored = updated;
        let config = Arc::new(config);
        *self.current.write() = config.clone();
        Ok(Some(config))
    }

    /// One group's own configs.
    pub fn group_configs(&self, group: &str) -> GroupConfigs {
        GroupConfigs(self.stored.lock().groups.get(group).cloned().unwrap_or_default())
    }

    /// Changes a group's configs to what `build` makes of its present ones, validated as
    /// Kafka's GroupConfig validates them.
    pub fn alter_group(
        &self,
        group: &str,
        validate_only: bool,
        build: impl FnOnce(&BTreeMap<String, String>) -> Result<BTreeMap<String, String>, AlterError>,
    ) -> Result<(), AlterError> {
        let mut stored = self.stored.lock();
        let empty = BTreeMap::new();
        let next = GroupConfigs(build(stored.groups.get(group).unwrap_or(&empty))?);
        next.validate(&self.current().group_defaults).map_err(AlterError::InvalidConfig)?;
        if validate_only {
            return Ok(());
        }
        let mut updated = stored.clone();
        if next.0.is_empty() {
            updated.groups.remove(group);
        } else {
            updated.groups.insert(group.to_string(), next.0);
        }
        self.write(&updated)?;
        *stored = updated;
        Ok(())
    }

    fn write(&self, stored: &Stored) -> Result<(), StorageError> {
        let bytes = serde_json::to_vec_pretty(stored)
            .map_err(|e| StorageError::new(StorageOp::Write, Some(&self.path), &std::io::Error::other(e)))?;
        crate::util::write_atomic(&self.path, &bytes)
            .map_err(|e| StorageError::new(StorageOp::Write, Some(&self.path), &e))
    }
}

/// Kafka's LogCleaner.validateReconfiguration: at least one thread, and at most double or
/// half the present number in one change.
fn check_cleaner_threads(now: usize, next: usize) -> Result<(), AlterError> {
    let bad = |why: String| Err(AlterError::InvalidRequest(why));
    if next < 1 {
        return bad("Log cleaner threads should be at least 1".into());
    }
    if next < now / 2 {
        return bad(format!("Log cleaner threads cannot be reduced to less than half the current value {now}"));
    }
    if next > now * 2 {
        return bad(format!("Log cleaner threads cannot be increased to more than double the current value {now}"));
    }
    Ok(())
}
