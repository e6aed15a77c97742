//! Kafka's per-API authorization (the `authHelper.authorize` / `filterByAuthorized` checks of
//! `KafkaApis.scala`) with raw requests: a broker with SASL PLAIN users and the ACL
//! authorizer, a super user `admin` who creates topics and ACLs, and `alice`, whose every
//! request is answered first without the ACL it needs (the exact error code Kafka answers) and
//! then with it. Kafka is the reference, not Brook's code; where the two would differ the test
//! follows Kafka.
//!
//! One module per area; the helpers shared by all are here.

mod admin;
mod consumer_groups;
mod groups;
mod metadata;
mod produce_fetch;
mod semantics;
mod transactions;

use kafka_protocol::messages::create_acls_request::AclCreation;
use kafka_protocol::messages::*;

use brook::config::listeners::resolve;

use crate::common::*;

// Kafka's error codes (org.apache.kafka.common.protocol.Errors).
pub const NONE: i16 = 0;
pub const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
pub const LEADER_NOT_AVAILABLE: i16 = 5;
pub const TOPIC_AUTHORIZATION_FAILED: i16 = 29;
pub const GROUP_AUTHORIZATION_FAILED: i16 = 30;
pub const CLUSTER_AUTHORIZATION_FAILED: i16 = 31;
pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: i16 = 53;
pub const OPERATION_NOT_ATTEMPTED: i16 = 55;
pub const UNKNOWN_TOPIC_ID: i16 = 100;

// Resource types (org.apache.kafka.common.resource.ResourceType).
pub const TOPIC: i8 = 2;
pub const GROUP: i8 = 3;
pub const CLUSTER: i8 = 4;
pub const TRANSACTIONAL_ID: i8 = 5;
/// The one CLUSTER resource's name.
pub const KAFKA_CLUSTER: &str = "kafka-cluster";

// Operations (org.apache.kafka.common.acl.AclOperation).
pub const ALL: i8 = 2;
pub const READ: i8 = 3;
pub const WRITE: i8 = 4;
pub const CREATE: i8 = 5;
pub const DELETE: i8 = 6;
pub const ALTER: i8 = 7;
pub const DESCRIBE: i8 = 8;
pub const CLUSTER_ACTION: i8 = 9;
pub const DESCRIBE_CONFIGS: i8 = 10;
pub const ALTER_CONFIGS: i8 = 11;
pub const IDEMPOTENT_WRITE: i8 = 12;

// Pattern types and permissions.
const LITERAL: i8 = 3;
const PREFIXED: i8 = 4;
const DENY: i8 = 2;
const ALLOW: i8 = 3;

/// The `authorized_operations` bit of each operation (KIP-430: bit n for operation code n).
pub fn bits(ops: &[i8]) -> i32 {
    ops.iter().fold(0, |acc, op| acc | (1 << op))
}

/// The default (unset) value of the `authorized_operations` fields.
pub const OPERATIONS_OMITTED: i32 = i32::MIN;

/// SASL PLAIN users on a SASL_PLAINTEXT listener, the ACL authorizer, `admin` a super user.
pub fn acl_config(c: &mut BrokerConfig) {
    c.listeners = resolve(c.listen, "SASL_PLAINTEXT://127.0.0.1:0", "", "SASL_PLAINTEXT:SASL_PLAINTEXT").unwrap();
    c.sasl.plain_users = "admin:admin-pw,alice:alice-pw,bob:bob-pw".into();
    c.acl.enabled = true;
    c.acl.super_users = "User:admin".into();
}

/// A connection authenticated as `user` (SASL PLAIN, password `<user>-pw`).
pub async fn login(b: &TestBroker, user: &str) -> Client {
    let mut c = b.client().await;
    let h = c.call(&SaslHandshakeRequest::default().with_mechanism(sb("PLAIN")), 1).await;
    assert_eq!(h.error_code, NONE);
    let msg = format!("\0{user}\0{user}-pw");
    let r = c.call(&SaslAuthenticateRequest::default().with_auth_bytes(bytes::Bytes::from(msg)), 2).await;
    assert_eq!(r.error_code, NONE, "{user} logs in");
    c
}

/// One ACL: ALLOW `User:alice` from any host, a literal name, unless changed.
#[derive(Clone)]
pub struct Acl {
    resource: i8,
    name: String,
    pattern: i8,
    op: i8,
    permission: i8,
    principal: String,
}

/// ALLOW `op` on the resource `name` of `resource` to alice (a literal pattern).
pub fn allow(resource: i8, name: &str, op: i8) -> Acl {
    Acl { resource, name: name.into(), pattern: LITERAL, op, permission: ALLOW, principal: "User:alice".into() }
}

/// DENY `op` on the resource `name` of `resource` to alice (a literal pattern).
pub fn deny(resource: i8, name: &str, op: i8) -> Acl {
    Acl { permission: DENY, ..allow(resource, name, op) }
}

impl Acl {
    /// The same ACL for every resource whose name starts with its name.
    pub fn prefixed(self) -> Self {
        Self { pattern: PREFIXED, ..self }
    }

    /// The same ACL for another principal (`User:*` for everyone).
    pub fn to(self, principal: &str) -> Self {
        Self { principal: principal.into(), ..self }
    }
}

/// A broker with the ACL authorizer and two sessions on it: the super user and alice.
pub struct Setup {
    pub b: TestBroker,
    pub admin: Client,
    pub alice: Client,
}

impl Setup {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// [`acl_config`], then `tweak`.
    pub async fn start_with(tweak: impl FnOnce(&mut BrokerConfig)) -> Self {
        let b = TestBroker::start_with(|c| {
            acl_config(c);
            tweak(c);
        })
        .await;
        let admin = login(&b, "admin").await;
        let alice = login(&b, "alice").await;
        Self { b, admin, alice }
    }

    /// The super user creates `acls` (each must be accepted).
    pub async fn grant(&mut self, acls: &[Acl]) {
        let creations = acls
            .iter()
            .map(|a| {
                AclCreation::default()
                    .with_resource_type(a.resource)
                    .with_resource_name(sb(&a.name))
                    .with_resource_pattern_type(a.pattern)
                    .with_principal(sb(&a.principal))
                    .with_host(sb("*"))
                    .with_operation(a.op)
                    .with_permission_type(a.permission)
            })
            .collect();
        let r = self.admin.call(&CreateAclsRequest::default().with_creations(creations), 3).await;
        assert!(r.results.iter().all(|x| x.error_code == NONE), "CreateAcls: {:?}", r.results);
    }

    /// The super user creates `topics` (one partition each).
    pub async fn topics(&mut self, topics: &[&str]) {
        for t in topics {
            create_topic(&mut self.admin, t, 1).await;
        }
    }

    pub async fn stop(self) {
        drop((self.admin, self.alice));
        self.b.stop().await;
    }
}

/// Every partition's error code of a produce response, by topic name (sorted).
pub fn produce_codes(r: &ProduceResponse) -> Vec<(String, i32, i16)> {
    let mut v: Vec<(String, i32, i16)> = r
        .responses
        .iter()
        .flat_map(|t| t.partition_responses.iter().map(move |p| (t.name.to_string(), p.index, p.error_code)))
        .collect();
    v.sort();
    v
}

/// A topic name as `&str` (the name fields are `Option<TopicName>`).
pub fn name_of(name: &Option<TopicName>) -> Option<&str> {
    name.as_ref().map(|n| n.0.as_str())
}

/// Whether the super user's Metadata (no auto-creation) knows `topic`.
pub async fn exists(admin: &mut Client, topic: &str) -> bool {
    let md = metadata(admin, Some(&[topic]), false, METADATA_V).await;
    md.topics[0].error_code == NONE
}
