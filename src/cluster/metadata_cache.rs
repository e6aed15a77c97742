//! The metadata cache (Kafka's `MetadataCache`): the nodes (this one, today), the controller,
//! the cluster id, and each partition's leadership. On a single node, every partition is led
//! by this node at the epoch its log's leader-epoch checkpoint records, and this node is the
//! only replica and the whole ISR.

use std::sync::Arc;

use crate::config::BrokerConfig;
use crate::log::LogManager;
use crate::topic::Topic;

/// A broker as clients see it (its advertised address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

/// One partition's leadership as Metadata reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionState {
    pub leader: i32,
    pub leader_epoch: i32,
    pub replicas: Vec<i32>,
    pub isr: Vec<i32>,
    pub offline_replicas: Vec<i32>,
}

pub struct MetadataCache {
    cluster_id: String,
    this: Node,
    /// This node's advertised address on each listener: (name, host, port).
    endpoints: Vec<(String, String, i32)>,
    logs: Arc<LogManager>,
}

impl MetadataCache {
    pub fn new(config: &BrokerConfig, cluster_id: String, logs: Arc<LogManager>) -> Self {
        let this =
            Node { id: config.node_id, host: config.advertised_host.clone(), port: config.advertised_port, rack: None };
        let endpoints =
            config.listeners.iter().map(|l| (l.name.clone(), l.advertised_host.clone(), l.advertised_port)).collect();
        Self { cluster_id, this, endpoints, logs }
    }

    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// This broker.
    pub fn this_node(&self) -> &Node {
        &self.this
    }

    /// `node` as clients on `listener` must reach it (Kafka answers Metadata and
    /// FindCoordinator with the endpoints of the listener the request came in on).
    pub fn on_listener(&self, node: &Node, listener: &str) -> Node {
        match self.endpoints.iter().find(|(name, _, _)| name == listener) {
            Some((_, host, port)) if node.id == self.this.id => {
                Node { host: host.clone(), port: *port, ..node.clone() }
            }
            _ => node.clone(),
        }
    }

    /// Every live broker, as clients on `listener` reach them.
    pub fn alive_nodes_on(&self, listener: &str) -> Vec<Node> {
        self.alive_nodes().iter().map(|n| self.on_listener(n, listener)).collect()
    }

    /// Every live broker.
    pub fn alive_nodes(&self) -> &[Node] {
        std::slice::from_ref(&self.this)
    }

    pub fn node(&self, id: i32) -> Option<&Node> {
        self.alive_nodes().iter().find(|n| n.id == id)
    }

    /// The node that answers as controller (KRaft: a random broker; here, this one).
    pub fn controller_id(&self) -> i32 {
        self.this.id
    }

    /// Leadership of partition `index` of `topic`, if it exists.
    pub fn partition_state(&self, topic: &Topic, index: i32) -> Option<PartitionState> {
        if !topic.has_partition(index) {
            return None;
        }
        // A partition's epoch lives with its log (checkpointed); one being created right now
        // has none yet and starts at 0.
        let leader_epoch = self.logs.get(&topic.name, index).map_or(0, |p| p.leader_epoch());
        let id = self.this.id;
        Some(PartitionState {
            leader: id,
            leader_epoch,
            replicas: vec![id],
            isr: vec![id],
            offline_replicas: Vec::new(),
        })
    }

    /// The node leading partition `index` of `topic`.
    pub fn leader_of(&self, topic: &Topic, index: i32) -> Option<&Node> {
        self.partition_state(topic, index).and_then(|s| self.node(s.leader))
    }

    /// The coordinator of `key` (a group id or transactional id): the leader of the
    /// partition of `internal` (the topic keeping that state) the key hashes to. Until the
    /// topic exists, the node that will create it on first use (this one). `None`: the
    /// leader is not available.
    pub fn coordinator_for(&self, internal: Option<&Topic>, key: &str) -> Option<&Node> {
        match internal {
            Some(t) => self.leader_of(t, coordinator_partition(key, t.partition_count())),
            None => Some(&self.this),
        }
    }
}

/// The internal-topic partition that owns `key`: Kafka's `Utils.abs(key.hashCode) % n`, with
/// Java's `String.hashCode` (UTF-16 units), so keys land where they would on Kafka.
pub fn coordinator_partition(key: &str, partitions: i32) -> i32 {
    let hash = key.encode_utf16().fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(c as i32));
    (hash & 0x7fff_ffff) % partitions.max(1)
}
