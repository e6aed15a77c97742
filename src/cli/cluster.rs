//! Finding the broker a command must ask: the cluster's brokers (Metadata), a partition's
//! leader, a transactional id's coordinator (FindCoordinator), as Kafka's admin client does.

use std::collections::BTreeMap;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use kafka_protocol::messages::{FindCoordinatorRequest, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::client::{describe_code, CliError, Conn, Connector};

/// FindCoordinator's key type of a group.
pub const KEY_TYPE_GROUP: i8 = 0;
/// FindCoordinator's key type of a transactional id.
pub const KEY_TYPE_TRANSACTION: i8 = 1;

pub struct Cluster {
    bootstrap: String,
    connector: Connector,
    /// Every broker: id -> host:port.
    pub brokers: BTreeMap<i32, String>,
    /// The broker admin requests go to (Kafka forwards them to its controller).
    pub controller: i32,
    pub cluster_id: Option<String>,
}

impl Cluster {
    /// Resolves the command's connection options and asks the bootstrap broker for the
    /// cluster's brokers.
    pub async fn connect(common: &super::Common) -> Result<Self, CliError> {
        Self::connect_with(&common.bootstrap_server, common.connector()?).await
    }

    /// Asks the bootstrap broker for the cluster's brokers.
    pub async fn connect_with(bootstrap: &str, connector: Connector) -> Result<Self, CliError> {
        let mut conn = Conn::connect(bootstrap, &connector).await?;
        let (_, meta) = conn.call(&MetadataRequest::default().with_topics(Some(Vec::new())), 1..=12).await?;
        let brokers = meta.brokers.iter().map(|b| (b.node_id.0, format!("{}:{}", b.host, b.port))).collect();
        Ok(Self {
            bootstrap: bootstrap.to_string(),
            connector,
            brokers,
            controller: meta.controller_id.0,
            cluster_id: meta.cluster_id.map(|c| c.to_string()),
        })
    }

    /// Metadata of `topics` (None: every topic), never creating one.
    pub async fn metadata(&self, topics: Option<&[String]>) -> Result<MetadataResponse, CliError> {
        let mut conn = Conn::connect(&self.bootstrap, &self.connector).await?;
        let topics = topics.map(|ts| {
            ts.iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(TopicName(StrBytes::from_string(t.clone())))))
                .collect()
        });
        // A look-up must not create the topic (Metadata's default allows it).
        let req = MetadataRequest::default().with_allow_auto_topic_creation(false).with_topics(topics);
        Ok(conn.call(&req, 1..=12).await?.1)
    }

    /// One topic's metadata; an unknown topic is the command's error.
    pub async fn topic(&self, topic: &str) -> Result<MetadataResponseTopic, CliError> {
        let meta = self.metadata(Some(&[topic.to_string()])).await?;
        let t =
            meta.topics.into_iter().next().ok_or_else(|| CliError::Kafka(format!("no metadata for topic {topic}")))?;
        if t.error_code != 0 {
            return Err(CliError::Kafka(format!("topic {topic}: {}", describe_code(t.error_code))));
        }
        Ok(t)
    }

    /// A connection for admin requests: the controller, else the bootstrap broker.
    pub async fn admin(&self) -> Result<Conn, CliError> {
        match self.brokers.contains_key(&self.controller) {
            true => self.node(self.controller).await,
            false => Conn::connect(&self.bootstrap, &self.connector).await,
        }
    }

    /// A connection to broker `id` (the bootstrap address if the cluster does not list it).
    pub async fn node(&self, id: i32) -> Result<Conn, CliError> {
        let addr = self.brokers.get(&id).cloned().unwrap_or_else(|| self.bootstrap.clone());
        Conn::connect(&addr, &self.connector).await
    }

    /// A connection to the leader of `topic`-`partition`.
    pub async fn leader(&self, topic: &str, partition: i32) -> Result<Conn, CliError> {
        let t = self.topic(topic).await?;
        let p = t
            .partitions
            .iter()
            .find(|p| p.partition_index == partition)
            .ok_or_else(|| CliError::Kafka(format!("topic {topic} has no partition {partition}")))?;
        self.node(p.leader_id.0).await
    }

    /// A connection to the coordinator of `key` (a transactional id for
    /// [`KEY_TYPE_TRANSACTION`]), and its broker id.
    pub async fn coordinator(&self, key_type: i8, key: &str) -> Result<(i32, Conn), CliError> {
        let mut conn = Conn::connect(&self.bootstrap, &self.connector).await?;
        let v = conn.version::<FindCoordinatorRequest>(1..=4)?;
        let key = StrBytes::from_string(key.to_string());
        let req = if v >= 4 {
            FindCoordinatorRequest::default().with_key_type(key_type).with_coordinator_keys(vec![key])
        } else {
            FindCoordinatorRequest::default().with_key_type(key_type).with_key(key)
        };
        let (v, r) = conn.call(&req, v..=v).await?;
        let (code, node) = match r.coordinators.first() {
            Some(c) if v >= 4 => (c.error_code, c.node_id.0),
            _ => (r.error_code, r.node_id.0),
        };
        if code != 0 {
            return Err(CliError::Kafka(format!("cannot find the coordinator: {}", describe_code(code))));
        }
        Ok((node, self.node(node).await?))
    }
}
