//! Admin APIs: CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs.

use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::*;

use crate::common::*;

const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const TOPIC_ALREADY_EXISTS: i16 = 36;
const INVALID_PARTITIONS: i16 = 37;
const INVALID_REPLICATION_FACTOR: i16 = 38;
const INVALID_CONFIG: i16 = 40;
const INVALID_REQUEST: i16 = 42;
const UNKNOWN_TOPIC_ID: i16 = 100;

const SOURCE_DYNAMIC_TOPIC: i8 = 1;
const SOURCE_DEFAULT: i8 = 5;

async fn create_many(
    c: &mut Client,
    topics: Vec<kafka_protocol::messages::create_topics_request::CreatableTopic>,
    validate_only: bool,
) -> Vec<CreatableTopicResult> {
    let req =
        CreateTopicsRequest::default().with_timeout_ms(5000).with_validate_only(validate_only).with_topics(topics);
    c.call(&req, 7).await.topics
}

async fn exists(c: &mut Client, name: &str) -> bool {
    let md = metadata(c, Some(&[name]), false, METADATA_V).await;
    md.topics[0].error_code == 0
}

async fn partition_count(c: &mut Client, name: &str) -> usize {
    let md = metadata(c, Some(&[name]), false, METADATA_V).await;
    assert_eq!(md.topics[0].error_code, 0, "{name} exists");
    md.topics[0].partitions.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_topics_errors() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "dup", 1).await;
    let long_ok = "a".repeat(249);
    let long_bad = "a".repeat(250);
    // (name, partitions, replication factor, configs, expected error)
    type Case<'a> = (&'a str, i32, i16, Vec<(&'a str, &'a str)>, i16);
    let cases: Vec<Case> = vec![
        ("dup", 1, 1, vec![], TOPIC_ALREADY_EXISTS),
        ("bad name", 1, 1, vec![], INVALID_TOPIC_EXCEPTION),
        (&long_bad, 1, 1, vec![], INVALID_TOPIC_EXCEPTION),
        ("", 1, 1, vec![], INVALID_TOPIC_EXCEPTION),
        ("..", 1, 1, vec![], INVALID_TOPIC_EXCEPTION),
        ("slash/name", 1, 1, vec![], INVALID_TOPIC_EXCEPTION),
        ("zero-parts", 0, 1, vec![], INVALID_PARTITIONS),
        ("neg-parts", -5, 1, vec![], INVALID_PARTITIONS),
        ("rf3", 1, 3, vec![], INVALID_REPLICATION_FACTOR),
        ("rf0", 1, 0, vec![], INVALID_REPLICATION_FACTOR),
        ("bad-config", 1, 1, vec![("no.such.config", "1")], INVALID_CONFIG),
        ("bad-value", 1, 1, vec![("segment.bytes", "lots")], INVALID_CONFIG),
        ("bad-enum", 1, 1, vec![("cleanup.policy", "sometimes")], INVALID_CONFIG),
        (&long_ok, 1, 1, vec![], 0),
        ("defaults", -1, -1, vec![], 0),
    ];
    let mut got = Vec::new();
    let mut want = Vec::new();
    for (name, parts, rf, cfgs, code) in &cases {
        let mut t = creatable(name, *parts, cfgs);
        t.replication_factor = *rf;
        let r = create_many(&mut c, vec![t], false).await;
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].name.0.as_str(), *name);
        if r[0].error_code != 0 {
            assert!(r[0].error_message.is_some(), "{name}: errors carry a message");
        }
        got.push((name.to_string(), r[0].error_code));
        want.push((name.to_string(), *code));
    }
    assert_eq!(got, want);

    // Failed creates left nothing behind; the defaults topic got num.partitions (1).
    for name in ["bad-config", "zero-parts", "rf3", "bad-value"] {
        assert!(!exists(&mut c, name).await, "{name} must not exist");
    }
    assert_eq!(partition_count(&mut c, "defaults").await, 1);
    assert_eq!(partition_count(&mut c, &long_ok).await, 1);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_topics_batch_and_collisions() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    // Several topics in one request: each answered on its own.
    let r = create_many(
        &mut c,
        vec![creatable("m1", 2, &[]), creatable("m2", 0, &[]), creatable("m3", 3, &[("retention.ms", "1000")])],
        false,
    )
    .await;
    let codes: Vec<(String, i16)> = r.iter().map(|t| (t.name.0.to_string(), t.error_code)).collect();
    assert_eq!(codes, vec![("m1".to_string(), 0), ("m2".to_string(), INVALID_PARTITIONS), ("m3".to_string(), 0)]);
    assert_eq!(r[0].num_partitions, 2);
    assert_eq!(r[2].num_partitions, 3);
    assert_eq!(partition_count(&mut c, "m3").await, 3);

    // The same name twice in one request: INVALID_REQUEST for it, nothing created.
    // (KRaft Kafka answers a duplicated name with one row; any number of rows is accepted
    // here as long as every one is INVALID_REQUEST.)
    let r = create_many(&mut c, vec![creatable("twice", 1, &[]), creatable("twice", 1, &[])], false).await;
    assert!(!r.is_empty());
    assert!(r.iter().all(|t| t.name.0.as_str() == "twice" && t.error_code == INVALID_REQUEST), "{r:?}");
    assert!(!exists(&mut c, "twice").await);

    // '.' and '_' collide.
    create_topic(&mut c, "a.b", 1).await;
    assert_eq!(create_topic_code(&mut c, "a_b", 1, &[]).await, INVALID_TOPIC_EXCEPTION);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_topics_validate_only_does_not_create() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let r = create_many(&mut c, vec![creatable("vo", 4, &[("retention.ms", "5000")])], true).await;
    assert_eq!(r[0].error_code, 0);
    assert_eq!(r[0].num_partitions, 4);
    assert!(!exists(&mut c, "vo").await, "validate_only must not create");
    let all = metadata(&mut c, None, false, METADATA_V).await;
    assert!(
        all.topics.iter().all(|t| t.is_internal),
        "only internal topics exist: {:?}",
        all.topics.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    // Validation still applies.
    let r = create_many(&mut c, vec![creatable("vo", 1, &[("nope", "1")])], true).await;
    assert_eq!(r[0].error_code, INVALID_CONFIG);
    // Really creating it afterwards works, and validate_only then reports it exists.
    create_topic(&mut c, "vo", 1).await;
    let r = create_many(&mut c, vec![creatable("vo", 1, &[])], true).await;
    assert_eq!(r[0].error_code, TOPIC_ALREADY_EXISTS);
    b.stop().await;
}

async fn delete(c: &mut Client, states: Vec<DeleteTopicState>) -> Vec<DeletableTopicResult> {
    let req = DeleteTopicsRequest::default().with_timeout_ms(5000).with_topics(states);
    c.call(&req, 6).await.responses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_topics_by_name_and_id() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "del-name", 1).await;
    create_topic(&mut c, "del-id", 2).await;
    produce_ok(&mut c, "del-name", 0, batch(&[b"old"])).await;
    let old_id = topic_id(&mut c, "del-name").await;
    let id = topic_id(&mut c, "del-id").await;

    // By name (v5 form).
    let req = DeleteTopicsRequest::default().with_timeout_ms(5000).with_topic_names(vec![tn("del-name")]);
    let r = c.call(&req, 5).await.responses;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].error_code, 0);
    assert!(!exists(&mut c, "del-name").await);
    assert_eq!(produce(&mut c, "del-name", 0, batch(&[b"x"])).await.error_code, UNKNOWN_TOPIC_OR_PARTITION);

    // By id (v6).
    let r = delete(&mut c, vec![DeleteTopicState::default().with_topic_id(id)]).await;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].error_code, 0, "{:?}", r[0].error_message);
    assert_eq!(r[0].topic_id, id);
    assert_eq!(r[0].name.as_ref().map(|n| n.0.as_str()), Some("del-id"));
    assert!(!exists(&mut c, "del-id").await);

    // Unknown name / id.
    let r = delete(&mut c, vec![DeleteTopicState::default().with_name(Some(tn("never")))]).await;
    assert_eq!(r[0].error_code, UNKNOWN_TOPIC_OR_PARTITION);
    let r = delete(&mut c, vec![DeleteTopicState::default().with_topic_id(id)]).await;
    assert_eq!(r[0].error_code, UNKNOWN_TOPIC_ID, "already-deleted id");
    let r = delete(&mut c, vec![DeleteTopicState::default().with_topic_id(uuid::Uuid::new_v4())]).await;
    assert_eq!(r[0].error_code, UNKNOWN_TOPIC_ID, "random id");
    let req = DeleteTopicsRequest::default().with_timeout_ms(5000).with_topic_names(vec![tn("del-name")]);
    let r = c.call(&req, 4).await.responses;
    assert_eq!(r[0].error_code, UNKNOWN_TOPIC_OR_PARTITION, "deleting twice by name");

    // Re-creating the name gives a new, empty topic with a new id.
    create_topic(&mut c, "del-name", 1).await;
    let new_id = topic_id(&mut c, "del-name").await;
    assert_ne!(new_id, old_id);
    assert_eq!(list_offsets(&mut c, "del-name", 0, -1).await.offset, 0);
    assert!(fetch_all(&mut c, "del-name", 0, 0).await.is_empty());
    b.stop().await;
}

async fn create_partitions(c: &mut Client, name: &str, count: i32, validate_only: bool) -> i16 {
    let req =
        CreatePartitionsRequest::default().with_timeout_ms(5000).with_validate_only(validate_only).with_topics(vec![
            CreatePartitionsTopic::default().with_name(tn(name)).with_count(count).with_assignments(None),
        ]);
    let r = c.call(&req, 3).await.results;
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].name.0.as_str(), name);
    r[0].error_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_partitions_grow_and_reject_shrink() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "grow", 1).await;
    produce_ok(&mut c, "grow", 0, batch(&[b"p0"])).await;

    assert_eq!(create_partitions(&mut c, "grow", 5, true).await, 0, "validate only");
    assert_eq!(partition_count(&mut c, "grow").await, 1, "validate_only did not grow");

    assert_eq!(create_partitions(&mut c, "grow", 3, false).await, 0);
    assert_eq!(partition_count(&mut c, "grow").await, 3);
    assert_eq!(produce_ok(&mut c, "grow", 2, batch(&[b"p2"])).await, 0);
    assert_eq!(list_offsets(&mut c, "grow", 0, -1).await.offset, 1, "p0 kept its data");

    assert_eq!(create_partitions(&mut c, "grow", 2, false).await, INVALID_PARTITIONS, "shrink");
    assert_eq!(create_partitions(&mut c, "grow", 3, false).await, INVALID_PARTITIONS, "same");
    assert_eq!(partition_count(&mut c, "grow").await, 3);
    assert_eq!(create_partitions(&mut c, "missing", 3, false).await, UNKNOWN_TOPIC_OR_PARTITION);
    b.stop().await;
}

async fn describe(
    c: &mut Client,
    resource_type: i8,
    name: &str,
    keys: Option<&[&str]>,
    synonyms: bool,
) -> DescribeConfigsResult {
    let req = DescribeConfigsRequest::default().with_include_synonyms(synonyms).with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(resource_type)
            .with_resource_name(sb(name))
            .with_configuration_keys(keys.map(|k| k.iter().map(|s| sb(s)).collect())),
    ]);
    let mut r = c.call(&req, 4).await.results;
    assert_eq!(r.len(), 1);
    r.remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_configs_topic_and_broker() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic_with(&mut c, "cfg", 1, &[("max.message.bytes", "5000")]).await;

    let r = describe(&mut c, 2, "cfg", None, true).await;
    assert_eq!(r.error_code, 0);
    assert_eq!(r.resource_name.as_str(), "cfg");
    assert_eq!(r.resource_type, 2);
    let find =
        |n: &str| r.configs.iter().find(|c| c.name.as_str() == n).unwrap_or_else(|| panic!("{n} listed")).clone();
    let m = find("max.message.bytes");
    assert_eq!(m.value.as_deref(), Some("5000"));
    assert_eq!(m.config_source, SOURCE_DYNAMIC_TOPIC);
    assert!(!m.read_only);
    let syns: Vec<(String, Option<String>, i8)> =
        m.synonyms.iter().map(|s| (s.name.to_string(), s.value.as_ref().map(|v| v.to_string()), s.source)).collect();
    assert_eq!(
        syns,
        vec![
            ("max.message.bytes".into(), Some("5000".into()), SOURCE_DYNAMIC_TOPIC),
            ("message.max.bytes".into(), Some("1048588".into()), SOURCE_DEFAULT),
        ]
    );
    let cp = find("cleanup.policy");
    assert_eq!((cp.value.as_deref(), cp.config_source), (Some("delete"), SOURCE_DEFAULT));
    let rm = find("retention.ms");
    assert_eq!((rm.value.as_deref(), rm.config_source), (Some("604800000"), SOURCE_DEFAULT));

    // The override is enforced, too.
    let big = vec![b'x'; 6000];
    assert_eq!(produce(&mut c, "cfg", 0, batch(&[&big])).await.error_code, 10);

    // configuration_keys filters.
    let r = describe(&mut c, 2, "cfg", Some(&["retention.ms", "max.message.bytes"]), false).await;
    let mut names: Vec<&str> = r.configs.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    assert_eq!(names, vec!["max.message.bytes", "retention.ms"]);
    assert!(r.configs.iter().all(|c| c.synonyms.is_empty()), "no synonyms unless asked");

    // Unknown topic.
    let r = describe(&mut c, 2, "nope", None, false).await;
    assert_eq!(r.error_code, UNKNOWN_TOPIC_OR_PARTITION);
    assert!(r.configs.is_empty());

    // The broker resource (node id 1).
    let r = describe(&mut c, 4, "1", None, false).await;
    assert_eq!(r.error_code, 0);
    let mmb =
        r.configs.iter().find(|c| c.name.as_str() == "message.max.bytes").expect("broker lists message.max.bytes");
    assert_eq!(mmb.value.as_deref(), Some("1048588"));
    assert_eq!(mmb.config_source, SOURCE_DEFAULT);
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_configs_reflects_broker_settings() {
    let b = TestBroker::start_with(|c| c.message_max_bytes = 2_000_000).await;
    let mut c = b.client().await;
    create_topic(&mut c, "inherit", 1).await;
    let r = describe(&mut c, 4, "1", Some(&["message.max.bytes"]), false).await;
    assert_eq!(r.configs.len(), 1);
    assert_eq!(r.configs[0].value.as_deref(), Some("2000000"));
    assert_eq!(r.configs[0].config_source, 4, "STATIC_BROKER_CONFIG");
    // The topic inherits the broker value through max.message.bytes.
    let r = describe(&mut c, 2, "inherit", Some(&["max.message.bytes"]), false).await;
    assert_eq!(r.configs[0].value.as_deref(), Some("2000000"));
    assert_eq!(r.configs[0].config_source, 4);
    b.stop().await;
}

const INVALID_REPLICA_ASSIGNMENT: i16 = 39;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_assignments_and_mixed_requests() {
    use kafka_protocol::messages::create_partitions_request::CreatePartitionsAssignment;
    use kafka_protocol::messages::create_topics_request::CreatableReplicaAssignment;
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let assign = |ids: &[&[i32]]| -> Vec<CreatableReplicaAssignment> {
        ids.iter()
            .enumerate()
            .map(|(i, b)| {
                CreatableReplicaAssignment::default()
                    .with_partition_index(i as i32)
                    .with_broker_ids(b.iter().map(|x| BrokerId(*x)).collect())
            })
            .collect()
    };
    let manual = |name: &str, a| creatable(name, -1, &[]).with_replication_factor(-1).with_assignments(a);
    let r = create_many(&mut c, vec![manual("man-ok", assign(&[&[1], &[1], &[1]]))], false).await;
    assert_eq!(r[0].error_code, 0, "{:?}", r[0].error_message);
    assert_eq!(partition_count(&mut c, "man-ok").await, 3);
    let r = create_many(&mut c, vec![manual("man-other", assign(&[&[2]]))], false).await;
    assert_eq!(r[0].error_code, INVALID_REPLICA_ASSIGNMENT, "broker 2 does not exist");
    let r = create_many(&mut c, vec![manual("man-two", assign(&[&[1, 1]]))], false).await;
    assert_eq!(r[0].error_code, INVALID_REPLICA_ASSIGNMENT, "two replicas on one broker");
    let both = creatable("man-both", 2, &[]).with_assignments(assign(&[&[1]]));
    let r = create_many(&mut c, vec![both], false).await;
    assert_eq!(r[0].error_code, INVALID_REQUEST, "num_partitions and assignments both set");
    for n in ["man-other", "man-two", "man-both"] {
        assert!(!exists(&mut c, n).await, "{n} not created");
    }

    // CreatePartitions with an assignment naming another broker.
    let req =
        CreatePartitionsRequest::default().with_timeout_ms(5000).with_topics(vec![CreatePartitionsTopic::default()
            .with_name(tn("man-ok"))
            .with_count(4)
            .with_assignments(Some(vec![CreatePartitionsAssignment::default().with_broker_ids(vec![BrokerId(7)])]))]);
    let r = c.call(&req, 3).await.results;
    assert_eq!(r[0].error_code, INVALID_REPLICA_ASSIGNMENT);
    assert_eq!(partition_count(&mut c, "man-ok").await, 3);

    // DeleteTopics v6 naming both a name and an id: INVALID_REQUEST, nothing deleted.
    let id = topic_id(&mut c, "man-ok").await;
    let r = delete(&mut c, vec![DeleteTopicState::default().with_name(Some(tn("man-ok"))).with_topic_id(id)]).await;
    assert_eq!(r[0].error_code, INVALID_REQUEST);
    assert!(exists(&mut c, "man-ok").await);
    b.stop().await;
}

/// Kafka (ControllerApis.createPartitions) answers a topic named twice in one CreatePartitions
/// request with INVALID_REQUEST ("Duplicate topic name.") and grows it not at all; the other
/// topics are handled normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_partitions_duplicate_name_is_invalid_request() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "dupe", 1).await;
    create_topic(&mut c, "single", 1).await;
    let cp = |name: &str, count: i32| {
        CreatePartitionsTopic::default().with_name(tn(name)).with_count(count).with_assignments(None)
    };
    let req = CreatePartitionsRequest::default().with_timeout_ms(5000).with_topics(vec![
        cp("dupe", 2),
        cp("single", 2),
        cp("dupe", 3),
    ]);
    let r = c.call(&req, 3).await.results;
    let mut dupe_codes: Vec<i16> = r.iter().filter(|t| t.name.0.as_str() == "dupe").map(|t| t.error_code).collect();
    dupe_codes.dedup();
    let single: Vec<i16> = r.iter().filter(|t| t.name.0.as_str() == "single").map(|t| t.error_code).collect();
    let parts = (partition_count(&mut c, "dupe").await, partition_count(&mut c, "single").await);
    assert_eq!(
        (dupe_codes, single, parts),
        (vec![INVALID_REQUEST], vec![0], (1, 2)),
        "(codes for the duplicate, codes for the single, (partitions of dupe, of single))"
    );
    b.stop().await;
}

/// Kafka (ControllerApis.deleteTopics) answers a name given twice in one DeleteTopics request
/// with INVALID_REQUEST ("Duplicate topic name.") and does not delete it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_topics_duplicate_name_is_invalid_request() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "dupe", 1).await;
    let req = DeleteTopicsRequest::default().with_timeout_ms(5000).with_topic_names(vec![tn("dupe"), tn("dupe")]);
    let d = c.call(&req, 5).await.responses;
    let mut codes: Vec<i16> = d.iter().map(|t| t.error_code).collect();
    codes.dedup();
    let still_there = exists(&mut c, "dupe").await;
    assert_eq!(
        (codes, still_there),
        (vec![INVALID_REQUEST], true),
        "(codes for the duplicated name, topic still exists)"
    );
    b.stop().await;
}

/// Kafka collects the requested Metadata topics into a set: a name given twice is answered
/// once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_duplicate_name_answered_once() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    create_topic(&mut c, "single", 1).await;
    let md = metadata(&mut c, Some(&["single", "single"]), false, METADATA_V).await;
    let names: Vec<String> = md.topics.iter().map(|t| t.name.as_ref().unwrap().0.to_string()).collect();
    assert_eq!(names, vec!["single".to_string()]);
    b.stop().await;
}

/// Creating a thousand partition directories (seconds on a slow disk) runs on the blocking
/// pool: with a single async worker, another connection is still answered while it goes on.
/// (DeleteTopics and CreatePartitions run there the same way.)
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_large_create_topics_does_not_stall_other_connections() {
    let b = TestBroker::start().await;
    let mut admin = b.client().await;
    let mut other = b.client().await;
    let started = std::time::Instant::now();
    let slow = tokio::spawn(async move {
        create_topic(&mut admin, "wide", 1000).await;
        std::time::Instant::now()
    });
    let mut answers = Vec::new();
    for _ in 0..10_000 {
        if slow.is_finished() {
            break;
        }
        let r = other.call(&ApiVersionsRequest::default(), 2).await;
        assert_eq!(r.error_code, 0);
        answers.push(std::time::Instant::now());
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let done = slow.await.expect("admin task");
    let took = done - started;
    // The last ping may be answered after the create ends; count those answered before.
    let answered_meanwhile = answers.iter().filter(|t| **t < done).count();
    // A stalled worker answers nothing until the create ends. Only a create that takes a while
    // tells the two apart on a loaded machine (here it takes 0.8-2.5 s; a blocking create
    // would have answered 0 pings in that time).
    if took > std::time::Duration::from_millis(300) {
        assert!(answered_meanwhile > 0, "no other request was answered during the {took:?} the create took");
    } else {
        eprintln!("create took only {took:?}: too fast to tell a stalled worker apart");
    }
    b.stop().await;
}

/// Admin requests pipelined on one connection take effect in request order, as on a Kafka
/// broker (which handles one request per connection at a time): create, delete and create
/// again of one name all succeed, and the second create wins. The first create is wide, so
/// running the delete alongside it (rather than after it) would fail the delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_admin_requests_run_in_request_order() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let create = |partitions| {
        CreateTopicsRequest::default().with_timeout_ms(5000).with_topics(vec![creatable("lane", partitions, &[])])
    };
    let delete = DeleteTopicsRequest::default().with_timeout_ms(5000).with_topic_names(vec![tn("lane")]);
    let first = c.send(&create(300), 7).await;
    let second = c.send(&delete, 5).await;
    let third = c.send(&create(2), 7).await;
    let (cid, r) = c.recv::<CreateTopicsRequest>(7).await;
    assert_eq!((cid, r.topics[0].error_code), (first, 0), "first create");
    let (cid, r) = c.recv::<DeleteTopicsRequest>(5).await;
    assert_eq!((cid, r.responses[0].error_code), (second, 0), "delete after the create");
    let (cid, r) = c.recv::<CreateTopicsRequest>(7).await;
    assert_eq!((cid, r.topics[0].error_code), (third, 0), "create after the delete");
    assert_eq!(partition_count(&mut c, "lane").await, 2);
    b.stop().await;
}

/// Requests pipelined behind a CreateTopics wait for it, as on a Kafka broker: Metadata sees
/// the new topic, an acks=0 and an acks=1 produce land in it (in order), and the connection
/// goes on. The create is wide, so the requests behind it would otherwise run first and find
/// no topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_pipelined_behind_create_topics_see_the_topic() {
    let b = TestBroker::start().await;
    let mut c = b.client().await;
    let create = CreateTopicsRequest::default().with_timeout_ms(5000).with_topics(vec![creatable("behind", 300, &[])]);
    let created = c.send(&create, 7).await;
    let md = c
        .send(
            &MetadataRequest::default()
                .with_topics(Some(vec![kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
                    .with_name(Some(tn("behind")))])),
            METADATA_V,
        )
        .await;
    c.send(&produce_request("behind", 0, batch(&[b"fire-and-forget"]), 0), PRODUCE_V).await;
    let produced = c.send(&produce_request("behind", 0, batch(&[b"acked"]), 1), PRODUCE_V).await;
    let (cid, r) = c.recv::<CreateTopicsRequest>(7).await;
    assert_eq!((cid, r.topics[0].error_code), (created, 0));
    let (cid, r) = c.recv::<MetadataRequest>(METADATA_V).await;
    assert_eq!(cid, md);
    assert_eq!(r.topics[0].error_code, 0, "metadata behind the create sees the topic");
    assert_eq!(r.topics[0].partitions.len(), 300);
    let (cid, r) = c.recv::<ProduceRequest>(PRODUCE_V).await;
    assert_eq!(cid, produced, "the acks=0 produce gets no response");
    let p = &r.responses[0].partition_responses[0];
    assert_eq!((p.error_code, p.base_offset), (0, 1), "both produces landed, in order");
    assert_eq!(fetch_all(&mut c, "behind", 0, 0).await.len(), 2);
    b.stop().await;
}
