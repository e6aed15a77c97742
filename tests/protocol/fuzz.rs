//! Protocol fuzzing: for every API version the broker advertises, a valid request and
//! deterministic mutations of it (truncation, bit flips, random bytes, extreme integers,
//! inserted/deleted bytes, bad versions, huge length claims) are each answered or get their
//! connection closed, promptly and without a panic, and the broker keeps serving with a
//! working log throughout.

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::FetchTopic;
use kafka_protocol::messages::incremental_alter_configs_request as incremental;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_delete_request::{OffsetDeleteRequestPartition, OffsetDeleteRequestTopic};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable};
use kafka_protocol::records::Compression;

use crate::common::*;

/// How long a mutated request may go without an answer or a close before it counts as a hang.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to watch a fetch that may legitimately wait longer than half the reply timeout.
const LONG_POLL_GRACE: Duration = Duration::from_millis(100);
/// Correlation id of the ApiVersions probe sent behind every fuzzed frame.
const PROBE_CID: i32 = 0x7072_6f62;
/// Default seed of the mutation PRNG (override with `BROOK_FUZZ_SEED=<decimal>`).
const DEFAULT_SEED: u64 = 0x5eed_b00c;
/// Every valid request's names start with this, so length prefixes can be found before them.
const NEEDLE: &[u8] = b"fuzz";
/// The group most group requests name (JoinGroup uses one per frame, see [`group_for`]).
const GROUP: &str = "fuzz-g";
const MEMBER: &str = "fuzz-member";
const HEADER_CLIENT_ID: &str = "fuzzer";
/// The topic the periodic health checks produce to and fetch from.
const HEALTH_TOPIC: &str = "health";

/// Mutations applied to each valid frame, in order (index 0 sends it unchanged).
const PLAN: [Mutation; 20] = {
    use Mutation::*;
    [
        Unchanged,
        Truncate,
        Truncate,
        FlipBit,
        FlipBit,
        RandomBytes,
        RandomBytes,
        ExtremeI16,
        ExtremeI16,
        ExtremeI32,
        ExtremeI32,
        Insert,
        Insert,
        Delete,
        Delete,
        HugeString,
        HugeArray,
        VersionPastMax,
        VersionBelowMin,
        VersionNegative,
    ]
};

#[derive(Clone, Copy)]
enum Mutation {
    Unchanged,
    Truncate,
    FlipBit,
    RandomBytes,
    ExtremeI16,
    ExtremeI32,
    Insert,
    Delete,
    HugeString,
    HugeArray,
    VersionPastMax,
    VersionBelowMin,
    VersionNegative,
}

/// What the broker did with one fuzzed frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Answered,
    /// No response, but the probe behind it was answered (acks=0 produce).
    Unanswered,
    Closed,
    /// A fetch whose (mutated) max wait is long, still waiting: not waited for.
    LongPoll,
}

/// Panic messages seen since the last [`take_panics`]. The broker runs in this process and
/// catches handler panics (closing the connection), so the hook is how they are noticed.
static PANICS: parking_lot::Mutex<Vec<String>> = parking_lot::Mutex::new(Vec::new());

/// The name of the fuzzed broker's runtime threads (its workers and blocking pool), where its
/// handlers run. The panic hook is the whole process's, and other tests of this binary run
/// beside this one: only a panic on one of these threads is the fuzzed broker's.
const BROKER_THREADS: &str = "fuzzed-broker";

fn record_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().name() == Some(BROKER_THREADS) {
            PANICS.lock().push(info.to_string());
        }
        default(info);
    }));
}

fn take_panics() -> Vec<String> {
    std::mem::take(&mut *PANICS.lock())
}

/// xorshift64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    /// Seeded through splitmix64, so nearby seeds give unrelated streams.
    fn new(seed: u64) -> Self {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Self((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }

    /// An offset for `width` bytes inside `len` that leaves the correlation id (bytes 4..8)
    /// alone, so answers stay attributable.
    fn offset(&mut self, len: usize, width: usize) -> usize {
        loop {
            let at = self.below(len - width + 1);
            if at + width <= 4 || at >= 8 {
                return at;
            }
        }
    }
}

/// State the valid requests refer to.
struct Fixture {
    topic_id: uuid::Uuid,
    records: Bytes,
}

/// A valid request frame without its length prefix.
struct Valid {
    payload: Vec<u8>,
    body_start: usize,
    flexible: bool,
}

/// A JoinGroup frame gets a group of its own: a member (or pending member id) left behind in
/// a shared group by an earlier frame makes a later join legitimately wait for it to rejoin or
/// time out. The names are random, so a mutation of one rarely turns it into another.
fn group_for(key: ApiKey, rng: &mut Rng) -> String {
    if key == ApiKey::JoinGroup {
        format!("{GROUP}-{:08x}", rng.next() as u32)
    } else {
        GROUP.to_string()
    }
}

/// Kafka's embedded consumer protocol bytes: a version, then the struct.
fn consumer_bytes(msg: &impl Encodable) -> Bytes {
    let mut b = BytesMut::new();
    b.put_i16(0);
    msg.encode(&mut b, 0).expect("encode consumer protocol");
    b.freeze()
}

fn body(key: ApiKey, v: i16, req: &impl Encodable) -> BytesMut {
    let mut b = BytesMut::new();
    req.encode(&mut b, v).unwrap_or_else(|e| panic!("encode {key:?} v{v} request: {e}"));
    b
}

/// The body of a valid `key` request at version `v` with realistic content.
fn valid_body(key: ApiKey, v: i16, fx: &Fixture, group: &str) -> BytesMut {
    let topic = || tn("fuzz");
    let gid = || GroupId(sb(group));
    match key {
        ApiKey::Produce if v >= 13 => body(key, v, &produce_request_by_id(fx.topic_id, 0, fx.records.clone(), -1)),
        ApiKey::Produce => body(key, v, &produce_request("fuzz", 0, fx.records.clone(), -1)),
        ApiKey::Fetch => {
            let mut req = fetch_request("fuzz", 0, 0, 0);
            if v >= 13 {
                req.topics = vec![FetchTopic::default()
                    .with_topic_id(fx.topic_id)
                    .with_partitions(std::mem::take(&mut req.topics[0].partitions))];
            }
            body(key, v, &req)
        }
        ApiKey::ListOffsets => body(
            key,
            v,
            &ListOffsetsRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![ListOffsetsTopic::default()
                .with_name(topic())
                .with_partitions(vec![ListOffsetsPartition::default().with_partition_index(0).with_timestamp(-1)])]),
        ),
        ApiKey::Metadata => body(
            key,
            v,
            &MetadataRequest::default()
                .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(topic()))])),
        ),
        ApiKey::OffsetCommit => body(
            key,
            v,
            &OffsetCommitRequest::default().with_group_id(gid()).with_generation_id_or_member_epoch(-1).with_topics(
                vec![OffsetCommitRequestTopic::default().with_name(topic()).with_partitions(vec![
                    OffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(1)
                        .with_committed_metadata(Some(sb("fuzz-meta"))),
                ])],
            ),
        ),
        ApiKey::OffsetFetch => body(
            key,
            v,
            &if v >= 8 {
                OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                    .with_group_id(gid())
                    .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                        .with_name(topic())
                        .with_partition_indexes(vec![0, 1])]))])
            } else {
                OffsetFetchRequest::default().with_group_id(gid()).with_topics(Some(vec![
                    OffsetFetchRequestTopic::default().with_name(topic()).with_partition_indexes(vec![0, 1]),
                ]))
            },
        ),
        ApiKey::FindCoordinator => body(
            key,
            v,
            &if v >= 4 {
                FindCoordinatorRequest::default().with_coordinator_keys(vec![sb(group)])
            } else {
                FindCoordinatorRequest::default().with_key(sb(group))
            },
        ),
        ApiKey::JoinGroup => {
            let subscription = ConsumerProtocolSubscription::default().with_topics(vec![sb("fuzz")]);
            let mut req = JoinGroupRequest::default()
                .with_group_id(gid())
                .with_session_timeout_ms(10_000)
                .with_protocol_type(sb("consumer"))
                .with_protocols(vec![JoinGroupRequestProtocol::default()
                    .with_name(sb("range"))
                    .with_metadata(consumer_bytes(&subscription))]);
            if v >= 1 {
                req.rebalance_timeout_ms = 10_000;
            }
            body(key, v, &req)
        }
        ApiKey::Heartbeat => body(
            key,
            v,
            &HeartbeatRequest::default().with_group_id(gid()).with_generation_id(1).with_member_id(sb(MEMBER)),
        ),
        ApiKey::LeaveGroup => body(
            key,
            v,
            &if v >= 3 {
                LeaveGroupRequest::default()
                    .with_group_id(gid())
                    .with_members(vec![MemberIdentity::default().with_member_id(sb(MEMBER))])
            } else {
                LeaveGroupRequest::default().with_group_id(gid()).with_member_id(sb(MEMBER))
            },
        ),
        ApiKey::SyncGroup => {
            let assignment = ConsumerProtocolAssignment::default()
                .with_assigned_partitions(vec![TopicPartition::default().with_topic(topic()).with_partitions(vec![0])]);
            let mut req = SyncGroupRequest::default()
                .with_group_id(gid())
                .with_generation_id(1)
                .with_member_id(sb(MEMBER))
                .with_assignments(vec![SyncGroupRequestAssignment::default()
                    .with_member_id(sb(MEMBER))
                    .with_assignment(consumer_bytes(&assignment))]);
            if v >= 5 {
                req = req.with_protocol_type(Some(sb("consumer"))).with_protocol_name(Some(sb("range")));
            }
            body(key, v, &req)
        }
        ApiKey::DescribeGroups => body(key, v, &DescribeGroupsRequest::default().with_groups(vec![gid()])),
        ApiKey::ListGroups => {
            let mut req = ListGroupsRequest::default();
            if v >= 4 {
                req.states_filter = vec![sb("Empty"), sb("Stable")];
            }
            if v >= 5 {
                req.types_filter = vec![sb("classic")];
            }
            body(key, v, &req)
        }
        ApiKey::ApiVersions => body(
            key,
            v,
            &if v >= 3 {
                ApiVersionsRequest::default()
                    .with_client_software_name(sb("fuzz-client"))
                    .with_client_software_version(sb("1.0"))
            } else {
                ApiVersionsRequest::default()
            },
        ),
        ApiKey::CreateTopics => body(
            key,
            v,
            &CreateTopicsRequest::default()
                .with_timeout_ms(5000)
                .with_validate_only(true)
                .with_topics(vec![creatable("fuzz-created", 3, &[("retention.ms", "60000")])]),
        ),
        ApiKey::DeleteTopics => body(
            key,
            v,
            &if v >= 6 {
                DeleteTopicsRequest::default()
                    .with_timeout_ms(5000)
                    .with_topics(vec![DeleteTopicState::default().with_name(Some(tn("fuzz-deleted")))])
            } else {
                DeleteTopicsRequest::default().with_timeout_ms(5000).with_topic_names(vec![tn("fuzz-deleted")])
            },
        ),
        ApiKey::InitProducerId => body(
            key,
            v,
            &InitProducerIdRequest::default().with_transactional_id(None).with_transaction_timeout_ms(60_000),
        ),
        ApiKey::DescribeConfigs => {
            let mut req = DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(sb("fuzz"))
                .with_configuration_keys(Some(vec![sb("retention.ms"), sb("cleanup.policy")]))]);
            req.include_synonyms = true;
            if v >= 3 {
                req.include_documentation = true;
            }
            body(key, v, &req)
        }
        ApiKey::AlterConfigs => body(
            key,
            v,
            &AlterConfigsRequest::default().with_resources(vec![AlterConfigsResource::default()
                .with_resource_type(2)
                .with_resource_name(sb("fuzz-conf"))
                .with_configs(vec![AlterableConfig::default()
                    .with_name(sb("retention.ms"))
                    .with_value(Some(sb("3600000")))])]),
        ),
        ApiKey::CreatePartitions => body(
            key,
            v,
            &CreatePartitionsRequest::default()
                .with_timeout_ms(5000)
                .with_validate_only(true)
                .with_topics(vec![CreatePartitionsTopic::default().with_name(tn("fuzz-grow")).with_count(3)]),
        ),
        ApiKey::DeleteGroups => {
            body(key, v, &DeleteGroupsRequest::default().with_groups_names(vec![GroupId(sb("fuzz-dg"))]))
        }
        ApiKey::IncrementalAlterConfigs => body(
            key,
            v,
            &IncrementalAlterConfigsRequest::default().with_resources(vec![
                incremental::AlterConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(sb("fuzz-conf"))
                    .with_configs(vec![incremental::AlterableConfig::default()
                        .with_name(sb("retention.ms"))
                        .with_config_operation(0)
                        .with_value(Some(sb("7200000")))]),
            ]),
        ),
        ApiKey::OffsetDelete => body(
            key,
            v,
            &OffsetDeleteRequest::default().with_group_id(gid()).with_topics(vec![OffsetDeleteRequestTopic::default()
                .with_name(topic())
                .with_partitions(vec![OffsetDeleteRequestPartition::default().with_partition_index(0)])]),
        ),
        // Offset 0: the log start stays (later checks fetch from the start).
        ApiKey::DeleteRecords => body(
            key,
            v,
            &DeleteRecordsRequest::default().with_timeout_ms(1000).with_topics(vec![
                delete_records_request::DeleteRecordsTopic::default().with_name(topic()).with_partitions(vec![
                    delete_records_request::DeleteRecordsPartition::default().with_partition_index(0).with_offset(0),
                ]),
            ]),
        ),
        ApiKey::OffsetForLeaderEpoch => body(
            key,
            v,
            &OffsetForLeaderEpochRequest::default().with_replica_id(BrokerId(-1)).with_topics(vec![
                offset_for_leader_epoch_request::OffsetForLeaderTopic::default().with_topic(topic()).with_partitions(
                    vec![offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                        .with_partition(0)
                        .with_current_leader_epoch(-1)
                        .with_leader_epoch(0)],
                ),
            ]),
        ),
        ApiKey::DescribeLogDirs => body(
            key,
            v,
            &DescribeLogDirsRequest::default().with_topics(Some(vec![
                describe_log_dirs_request::DescribableLogDirTopic::default()
                    .with_topic(topic())
                    .with_partitions(vec![0]),
            ])),
        ),
        ApiKey::ElectLeaders => body(
            key,
            v,
            &ElectLeadersRequest::default().with_timeout_ms(1000).with_topic_partitions(Some(vec![
                elect_leaders_request::TopicPartitions::default().with_topic(topic()).with_partitions(vec![0]),
            ])),
        ),
        ApiKey::DescribeCluster => {
            body(key, v, &DescribeClusterRequest::default().with_include_cluster_authorized_operations(true))
        }
        ApiKey::AddPartitionsToTxn => {
            let topics = vec![add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                .with_name(topic())
                .with_partitions(vec![0])];
            let req = if v <= 3 {
                AddPartitionsToTxnRequest::default()
                    .with_v3_and_below_transactional_id(TransactionalId(sb("fuzz-txn")))
                    .with_v3_and_below_producer_id(ProducerId(1))
                    .with_v3_and_below_producer_epoch(0)
                    .with_v3_and_below_topics(topics)
            } else {
                AddPartitionsToTxnRequest::default().with_transactions(vec![
                    add_partitions_to_txn_request::AddPartitionsToTxnTransaction::default()
                        .with_transactional_id(TransactionalId(sb("fuzz-txn")))
                        .with_producer_id(ProducerId(1))
                        .with_producer_epoch(0)
                        .with_verify_only(true)
                        .with_topics(topics),
                ])
            };
            body(key, v, &req)
        }
        ApiKey::AddOffsetsToTxn => body(
            key,
            v,
            &AddOffsetsToTxnRequest::default()
                .with_transactional_id(TransactionalId(sb("fuzz-txn")))
                .with_producer_id(ProducerId(1))
                .with_group_id(GroupId(sb(group))),
        ),
        ApiKey::EndTxn => body(
            key,
            v,
            &EndTxnRequest::default()
                .with_transactional_id(TransactionalId(sb("fuzz-txn")))
                .with_producer_id(ProducerId(1))
                .with_committed(true),
        ),
        ApiKey::TxnOffsetCommit => body(
            key,
            v,
            &TxnOffsetCommitRequest::default()
                .with_transactional_id(TransactionalId(sb("fuzz-txn")))
                .with_group_id(GroupId(sb(group)))
                .with_producer_id(ProducerId(1))
                .with_generation_id(-1)
                .with_topics(vec![txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                    .with_name(topic())
                    .with_partitions(vec![txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                        .with_partition_index(0)
                        .with_committed_offset(1)])]),
        ),
        ApiKey::DescribeTransactions => body(
            key,
            v,
            &DescribeTransactionsRequest::default().with_transactional_ids(vec![TransactionalId(sb("fuzz-txn"))]),
        ),
        ApiKey::ListTransactions => body(key, v, &ListTransactionsRequest::default().with_duration_filter(-1)),
        ApiKey::DescribeProducers => body(
            key,
            v,
            &DescribeProducersRequest::default().with_topics(vec![describe_producers_request::TopicRequest::default()
                .with_name(topic())
                .with_partition_indexes(vec![0])]),
        ),
        ApiKey::WriteTxnMarkers => body(
            key,
            v,
            &WriteTxnMarkersRequest::default().with_markers(vec![
                write_txn_markers_request::WritableTxnMarker::default()
                    .with_producer_id(ProducerId(1))
                    .with_transaction_result(false)
                    .with_topics(vec![write_txn_markers_request::WritableTxnMarkerTopic::default()
                        .with_name(topic())
                        .with_partition_indexes(vec![0])]),
            ]),
        ),
        ApiKey::ConsumerGroupHeartbeat => body(
            key,
            v,
            &ConsumerGroupHeartbeatRequest::default()
                .with_group_id(gid())
                .with_member_id(sb("fuzz-member"))
                .with_member_epoch(0)
                .with_rebalance_timeout_ms(30_000)
                .with_subscribed_topic_names(Some(vec![topic()]))
                .with_topic_partitions(Some(Vec::new())),
        ),
        ApiKey::ConsumerGroupDescribe => {
            body(key, v, &ConsumerGroupDescribeRequest::default().with_group_ids(vec![gid()]))
        }
        ApiKey::ShareGroupHeartbeat => body(
            key,
            v,
            &ShareGroupHeartbeatRequest::default()
                .with_group_id(gid())
                .with_member_id(sb("fuzz-share-member"))
                .with_member_epoch(0)
                .with_subscribed_topic_names(Some(vec![topic()])),
        ),
        ApiKey::ShareGroupDescribe => body(key, v, &ShareGroupDescribeRequest::default().with_group_ids(vec![gid()])),
        ApiKey::ShareFetch => body(
            key,
            v,
            &ShareFetchRequest::default()
                .with_group_id(Some(gid()))
                .with_member_id(Some(sb("fuzz-share-member")))
                .with_max_records(10)
                .with_max_bytes(1 << 20)
                .with_topics(vec![share_fetch_request::FetchTopic::default()
                    .with_topic_id(fx.topic_id)
                    .with_partitions(vec![share_fetch_request::FetchPartition::default().with_partition_index(0)])]),
        ),
        ApiKey::ShareAcknowledge => body(
            key,
            v,
            &ShareAcknowledgeRequest::default()
                .with_group_id(Some(gid()))
                .with_member_id(Some(sb("fuzz-share-member")))
                .with_share_session_epoch(1),
        ),
        ApiKey::DescribeShareGroupOffsets => body(
            key,
            v,
            &DescribeShareGroupOffsetsRequest::default().with_groups(vec![
                describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup::default()
                    .with_group_id(gid()),
            ]),
        ),
        ApiKey::AlterShareGroupOffsets => body(
            key,
            v,
            &AlterShareGroupOffsetsRequest::default().with_group_id(gid()).with_topics(vec![
                alter_share_group_offsets_request::AlterShareGroupOffsetsRequestTopic::default()
                    .with_topic_name(topic())
                    .with_partitions(vec![
                        alter_share_group_offsets_request::AlterShareGroupOffsetsRequestPartition::default()
                            .with_partition_index(0),
                    ]),
            ]),
        ),
        ApiKey::DeleteShareGroupOffsets => body(
            key,
            v,
            &DeleteShareGroupOffsetsRequest::default()
                .with_group_id(gid())
                .with_topics(vec![delete_share_group_offsets_request::DeleteShareGroupOffsetsRequestTopic::default()
                    .with_topic_name(topic())]),
        ),
        ApiKey::DescribeAcls => body(
            key,
            v,
            &DescribeAclsRequest::default()
                .with_resource_type_filter(1)
                .with_pattern_type_filter(1)
                .with_operation(1)
                .with_permission_type(1),
        ),
        ApiKey::CreateAcls => body(
            key,
            v,
            &CreateAclsRequest::default().with_creations(vec![create_acls_request::AclCreation::default()
                .with_resource_type(2)
                .with_resource_name(sb("fuzz"))
                .with_resource_pattern_type(3)
                .with_principal(sb("User:fuzz"))
                .with_host(sb("*"))
                .with_operation(3)
                .with_permission_type(3)]),
        ),
        ApiKey::DeleteAcls => body(
            key,
            v,
            &DeleteAclsRequest::default().with_filters(vec![delete_acls_request::DeleteAclsFilter::default()
                .with_resource_type_filter(1)
                .with_pattern_type_filter(1)
                .with_operation(1)
                .with_permission_type(1)]),
        ),
        ApiKey::SaslHandshake => body(key, v, &SaslHandshakeRequest::default().with_mechanism(sb("PLAIN"))),
        ApiKey::SaslAuthenticate => {
            body(key, v, &SaslAuthenticateRequest::default().with_auth_bytes(bytes::Bytes::from_static(b"\0u\0p")))
        }
        ApiKey::DescribeUserScramCredentials => body(key, v, &DescribeUserScramCredentialsRequest::default()),
        ApiKey::AlterUserScramCredentials => body(
            key,
            v,
            &AlterUserScramCredentialsRequest::default().with_deletions(vec![
                alter_user_scram_credentials_request::ScramCredentialDeletion::default()
                    .with_name(sb("fuzz-user"))
                    .with_mechanism(1),
            ]),
        ),
        other => panic!("the broker advertises {other:?}: add a valid request for it to valid_body"),
    }
}

/// Header and body of a valid request (no length prefix).
fn valid_frame(key: ApiKey, version: i16, cid: i32, fx: &Fixture, group: &str) -> Valid {
    let header_version = key.request_header_version(version);
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(cid)
        .with_client_id(Some(sb(HEADER_CLIENT_ID)));
    let mut buf = BytesMut::new();
    header.encode(&mut buf, header_version).unwrap_or_else(|e| panic!("encode {key:?} v{version} header: {e}"));
    let body_start = buf.len();
    buf.extend_from_slice(&valid_body(key, version, fx, group));
    Valid { payload: buf.to_vec(), body_start, flexible: header_version >= 2 }
}

/// An unsigned varint claiming about 2^32 elements or bytes (compact arrays and strings).
const HUGE_VARINT: [u8; 5] = [0xff, 0xff, 0xff, 0xff, 0x0f];

/// Applies `m` to `valid`; returns a description (enough to reproduce it) and the payload.
fn mutate(m: Mutation, valid: &Valid, (min, max): (i16, i16), rng: &mut Rng) -> (String, Vec<u8>) {
    let mut p = valid.payload.clone();
    let len = p.len();
    let what = match m {
        Mutation::Unchanged => "unchanged".to_string(),
        Mutation::Truncate => {
            let from = if valid.body_start < len { valid.body_start } else { 1 };
            let at = from + rng.below(len - from);
            p.truncate(at);
            format!("truncated to {at} of {len} bytes")
        }
        Mutation::FlipBit => {
            let (at, bit) = (rng.offset(len, 1), rng.below(8));
            p[at] ^= 1 << bit;
            format!("flipped bit {bit} of byte {at}")
        }
        Mutation::RandomBytes => {
            let mut changes = Vec::new();
            for _ in 0..1 + rng.below(4) {
                let (at, byte) = (rng.offset(len, 1), rng.next() as u8);
                p[at] = byte;
                changes.push(format!("[{at}]={byte:#04x}"));
            }
            format!("overwrote bytes {}", changes.join(" "))
        }
        Mutation::ExtremeI16 => {
            let (at, x) = (rng.offset(len, 2), rng.pick(&[-1, 0, i16::MAX, i16::MIN]));
            p[at..at + 2].copy_from_slice(&x.to_be_bytes());
            format!("i16 at byte {at} = {x}")
        }
        Mutation::ExtremeI32 => {
            let (at, x) = (rng.offset(len, 4), rng.pick(&[-1, 0, i32::MAX, i32::MIN]));
            p[at..at + 4].copy_from_slice(&x.to_be_bytes());
            format!("i32 at byte {at} = {x}")
        }
        Mutation::Insert => {
            let at = 8 + rng.below(len - 8 + 1);
            let bytes: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
            let what = format!("inserted {bytes:02x?} at byte {at}");
            p.splice(at..at, bytes);
            what
        }
        Mutation::Delete => {
            let at = 8 + rng.below(len - 8);
            let n = (1 + rng.below(8)).min(len - at);
            p.drain(at..at + n);
            format!("deleted {n} bytes at byte {at}")
        }
        Mutation::HugeString | Mutation::HugeArray => huge_length(m, valid, &mut p, rng),
        Mutation::VersionPastMax | Mutation::VersionBelowMin | Mutation::VersionNegative => {
            let v = match m {
                Mutation::VersionPastMax => max + 1,
                Mutation::VersionBelowMin => min - 1,
                _ => i16::MIN,
            };
            p[2..4].copy_from_slice(&v.to_be_bytes());
            format!("version set to {v}")
        }
    };
    (what, p)
}

/// Claims a huge length for a string starting with [`NEEDLE`] in the body (or the array that
/// string opens); without one, for the header's client id.
fn huge_length(m: Mutation, valid: &Valid, p: &mut Vec<u8>, rng: &mut Rng) -> String {
    // The string's own length prefix (a varint byte or an i16) must lie in the body.
    let prefix = if valid.flexible { 1 } else { 2 };
    let starts: Vec<usize> = (valid.body_start + prefix..p.len()).filter(|&i| p[i..].starts_with(NEEDLE)).collect();
    if starts.is_empty() {
        p[8..10].copy_from_slice(&i16::MAX.to_be_bytes());
        return "client id length = i16::MAX".to_string();
    }
    let s = rng.pick(&starts);
    match (m, valid.flexible) {
        (Mutation::HugeString, true) => {
            p.splice(s - 1..s, HUGE_VARINT);
            format!("compact string length before byte {s} = 2^32 varint")
        }
        (Mutation::HugeString, false) => {
            p[s - 2..s].copy_from_slice(&i16::MAX.to_be_bytes());
            format!("string length before byte {s} = i16::MAX")
        }
        (_, true) => {
            p.splice(s - 2..s - 1, HUGE_VARINT);
            format!("compact array length 2 bytes before byte {s} = 2^32 varint")
        }
        (_, false) => {
            let at = (s - 6).max(8);
            p[at..at + 4].copy_from_slice(&i32::MAX.to_be_bytes());
            format!("array length at byte {at} (before the string at {s}) = i32::MAX")
        }
    }
}

fn with_length_prefix(payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as i32).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    f
}

/// Whether `payload` is a well-formed Fetch that may legitimately wait (its max wait, e.g.
/// after a mutation, is over half the reply timeout); a hang is then indistinguishable from
/// a long-poll.
fn is_long_poll(payload: &[u8]) -> bool {
    let mut bytes = Bytes::copy_from_slice(payload);
    if bytes.len() < 4 || i16::from_be_bytes([bytes[0], bytes[1]]) != ApiKey::Fetch as i16 {
        return false;
    }
    let version = i16::from_be_bytes([bytes[2], bytes[3]]);
    RequestHeader::decode(&mut bytes, ApiKey::Fetch.request_header_version(version))
        .and_then(|_| FetchRequest::decode(&mut bytes, version))
        .is_ok_and(|req| i64::from(req.max_wait_ms) > REPLY_TIMEOUT.as_millis() as i64 / 2)
}

/// Sends `payload` (framed) and an ApiVersions probe behind it on a fresh connection; the
/// broker must answer the frame (with its correlation id) or close the connection in time.
async fn exchange(b: &TestBroker, payload: &[u8]) -> Result<Outcome, String> {
    let mut c = b.client().await;
    let mut bytes = with_length_prefix(payload);
    bytes.extend_from_slice(&encode_request(&ApiVersionsRequest::default(), 0, PROBE_CID));
    // The broker may close before reading everything: a failed write is not a finding.
    let _ = c.send_raw(&bytes).await;
    let cid = (payload.len() >= 8).then(|| i32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]));
    let long_poll = is_long_poll(payload);
    let first = match c.read_frame_within(if long_poll { LONG_POLL_GRACE } else { REPLY_TIMEOUT }).await {
        Ok(Some(f)) => frame_correlation_id(&f),
        Ok(None) => return Ok(Outcome::Closed),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            if long_poll {
                return Ok(Outcome::LongPoll);
            }
            return Err(format!("hang: no response and no close within {REPLY_TIMEOUT:?}"));
        }
        Err(_) => return Ok(Outcome::Closed), // reset
    };
    if first == PROBE_CID {
        let is_produce = payload.len() >= 2 && i16::from_be_bytes([payload[0], payload[1]]) == ApiKey::Produce as i16;
        return if is_produce {
            Ok(Outcome::Unanswered)
        } else {
            Err("no response (the probe behind it was answered)".to_string())
        };
    }
    if Some(first) != cid {
        return Err(format!("response has correlation id {first}, the request had {cid:?}"));
    }
    match c.read_frame_within(REPLY_TIMEOUT).await {
        Ok(Some(f)) if frame_correlation_id(&f) == PROBE_CID => Ok(Outcome::Answered),
        Ok(Some(f)) => Err(format!("after the response, a frame with correlation id {}", frame_correlation_id(&f))),
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
            Err(format!("hang: answered, but the probe behind it got nothing within {REPLY_TIMEOUT:?}"))
        }
        Ok(None) | Err(_) => Ok(Outcome::Answered), // closed after answering
    }
}

/// A fresh connection's ApiVersions works, and a record produced to `topic` is fetched back.
async fn assert_healthy(b: &TestBroker, topic: &str, when: &str) {
    let mut c = b.client().await;
    let cid = c.send(&ApiVersionsRequest::default(), 0).await;
    let frame = match c.read_frame().await {
        Ok(Some(f)) => f,
        other => panic!("{when}: ApiVersions on a fresh connection got {other:?}"),
    };
    let (got, r) = decode_response::<ApiVersionsRequest>(frame, 0);
    assert_eq!((got, r.error_code), (cid, 0), "{when}: ApiVersions on a fresh connection");
    let value = format!("health check {when}");
    let p = produce(&mut c, topic, 0, batch(&[value.as_bytes()])).await;
    assert_eq!(p.error_code, 0, "{when}: produce to {topic}: {:?}", p.error_message);
    let fetched = fetch(&mut c, topic, 0, p.base_offset).await;
    let back = decode_records(&fetched.records);
    assert!(
        back.iter().any(|r| r.offset == p.base_offset && r.value.as_deref() == Some(value.as_bytes())),
        "{when}: the record produced to {topic} at offset {} is not fetched back",
        p.base_offset
    );
}

/// Whatever the fuzzed produce requests appended to "fuzz" still fetches and decodes (unless a
/// mutated DeleteTopics deleted the topic).
async fn assert_fuzz_log_readable(c: &mut Client) {
    let md = metadata(c, Some(&["fuzz"]), false, METADATA_V).await;
    if md.topics[0].error_code != 0 {
        return;
    }
    for p in &md.topics[0].partitions {
        fetch_all(c, "fuzz", p.partition_index, 0).await;
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
}

/// Creates the topics and data the valid requests refer to; returns them and the advertised
/// version ranges.
async fn setup(b: &TestBroker) -> (Fixture, Vec<ApiVersion>) {
    let mut c = b.client().await;
    create_topic(&mut c, "fuzz", 2).await;
    create_topic(&mut c, "fuzz-conf", 1).await;
    create_topic(&mut c, "fuzz-grow", 2).await;
    // Never named by a fuzzed request (mutated DeleteTopics frames may delete "fuzz" itself).
    create_topic(&mut c, HEALTH_TOPIC, 1).await;
    // Data at fetch offset 0, so a fetch whose max wait was mutated still returns at once.
    produce_ok(&mut c, "fuzz", 0, batch(&[b"first"])).await;
    let fx = Fixture {
        topic_id: topic_id(&mut c, "fuzz").await,
        records: batch_full(&[(b"v", 1_700_000_000_000)], NO_PRODUCER, Compression::None),
    };
    let versions = ApiVersionsRequest::default()
        .with_client_software_name(sb("fuzz-client"))
        .with_client_software_version(sb("1.0"));
    let advertised = c.call(&versions, 3).await;
    assert_eq!(advertised.error_code, 0, "ApiVersions");
    (fx, advertised.api_keys)
}

/// [`exchange`], plus: no panic meanwhile, and the unmutated request is answered.
async fn check(b: &TestBroker, m: Mutation, payload: &[u8]) -> Result<Outcome, String> {
    let result = exchange(b, payload).await;
    let panics = take_panics();
    if !panics.is_empty() {
        return Err(format!("broker panicked: {}", panics.join(" | ")));
    }
    match (m, result) {
        (Mutation::Unchanged, Ok(o)) if o != Outcome::Answered => {
            Err(format!("the valid request was not answered: {o:?}"))
        }
        (_, result) => result,
    }
}

#[test]
fn mutated_requests_are_answered_or_closed() {
    record_panics();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(BROKER_THREADS)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(fuzz_every_advertised_version());
}

async fn fuzz_every_advertised_version() {
    // The broker's tasks and blocking work run on the threads whose panics are recorded.
    let worker = tokio::spawn(async { std::thread::current().name().map(String::from) }).await.expect("task");
    let blocking = tokio::task::spawn_blocking(|| std::thread::current().name().map(String::from)).await.expect("task");
    assert_eq!((worker.as_deref(), blocking.as_deref()), (Some(BROKER_THREADS), Some(BROKER_THREADS)));
    let seed = std::env::var("BROOK_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED);
    let b = TestBroker::start().await;
    let (fx, advertised) = setup(&b).await;

    let started = Instant::now();
    let (mut findings, mut sent) = (Vec::new(), 0);
    let mut outcomes = std::collections::BTreeMap::<Outcome, usize>::new();
    'apis: for range in &advertised {
        let key = ApiKey::try_from(range.api_key).expect("advertised api key is known");
        for version in range.min_version..=range.max_version {
            let mut rng = Rng::new(seed ^ ((range.api_key as u64) << 16 | version as u16 as u64));
            for (index, m) in PLAN.into_iter().enumerate() {
                sent += 1;
                let valid = valid_frame(key, version, sent, &fx, &group_for(key, &mut rng));
                let (what, payload) = mutate(m, &valid, (range.min_version, range.max_version), &mut rng);
                match check(&b, m, &payload).await {
                    Ok(o) => *outcomes.entry(o).or_default() += 1,
                    Err(problem) => {
                        let finding = format!(
                            "{key:?} v{version} #{index} ({what}): {problem}\n    frame: {}",
                            hex(&with_length_prefix(&payload))
                        );
                        println!("FINDING {finding}");
                        let hang = problem.starts_with("hang");
                        findings.push(finding);
                        if hang {
                            break 'apis; // the broker may be wedged: stop here
                        }
                    }
                }
            }
        }
        assert_healthy(&b, HEALTH_TOPIC, &format!("after fuzzing {key:?}")).await;
    }
    println!(
        "protocol fuzz: seed {seed}, {sent} frames in {:.1?}, outcomes {outcomes:?}, {} finding(s)",
        started.elapsed(),
        findings.len()
    );

    // Mutated admin requests may have created or deleted topics: check the log with a new one.
    let mut c = b.client().await;
    create_topic(&mut c, "fuzz-final", 2).await;
    assert_healthy(&b, "fuzz-final", "after fuzzing").await;
    assert_fuzz_log_readable(&mut c).await;
    assert!(
        findings.is_empty(),
        "{} protocol fuzz finding(s) with BROOK_FUZZ_SEED={seed}:\n{}",
        findings.len(),
        findings.join("\n")
    );
    b.stop().await;
}
