//! Topics: names, configs, partitions, and the durable registry that owns them.

pub mod config;
pub mod registry;

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use uuid::Uuid;

use config::TopicConfigs;

pub use registry::{TopicError, TopicRegistry};

/// A topic's metadata. Partitions only grow (CreatePartitions); their logs belong to the
/// [`crate::log::LogManager`].
pub struct Topic {
    pub name: Arc<str>,
    pub id: Uuid,
    pub internal: bool,
    configs: RwLock<TopicConfigs>,
    partition_count: AtomicI32,
}

impl Topic {
    pub fn partition_count(&self) -> i32 {
        self.partition_count.load(Ordering::Acquire)
    }
    /// Whether `index` names one of this topic's partitions.
    pub fn has_partition(&self, index: i32) -> bool {
        (0..self.partition_count()).contains(&index)
    }
    pub fn configs(&self) -> TopicConfigs {
        self.configs.read().clone()
    }
}

/// Kafka's topic name rules: 1..=249 chars of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return Err("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > 249 {
        return Err(format!("Topic name is illegal, it can't be longer than 249 characters, topic name: {name}"));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        return Err(format!(
            "Topic name {name} is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// Kafka's "collision" rule: `a.b` and `a_b` would clash in metric names.
pub fn collision_key(name: &str) -> String {
    name.replace('.', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_name_rules() {
        assert!(validate_name("orders.v1_x-y").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("..").is_err());
        assert!(validate_name("bad name").is_err());
        assert!(validate_name("bad/name").is_err());
        assert!(validate_name(&"x".repeat(250)).is_err());
        assert_eq!(collision_key("a.b"), collision_key("a_b"));
    }
}
