//! OffsetFetch (key 9): committed offsets of one group (v1-7) or several groups (v8+);
//! a null topic list means every committed partition. Partitions without a commit answer -1.
//! Offsets of an ongoing transaction are not committed yet: with `require_stable` (v7+,
//! KIP-447) such a partition answers UNSTABLE_OFFSET_COMMIT, and the client retries.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions, OffsetFetchResponseTopic,
    OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{ApiKey, GroupId, OffsetFetchRequest, OffsetFetchResponse, TopicName};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors, Subject, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::{GroupCoordinator, GroupError};

pub struct OffsetFetch;

/// Kafka's UNSTABLE_OFFSET_COMMIT.
const UNSTABLE_OFFSET_COMMIT: i16 = 88;
const TOPIC_AUTHORIZATION_FAILED: i16 = E::TopicAuthorizationFailed.code();

/// (partition, offset, leader epoch, metadata, error code).
type PartitionOffset = (i32, i64, i32, String, i16);

/// (topic, its partitions' offsets) for one group.
type Committed = Vec<(String, Vec<PartitionOffset>)>;

/// The group's committed offsets of the `wanted` partitions (None: every committed one).
/// A topic the principal may not DESCRIBE (`describable`) is answered TOPIC_AUTHORIZATION_FAILED
/// when named, and left out of "every one" (Kafka's `fetchOffsetsForGroup` and
/// `fetchAllOffsetsForGroup`).
fn committed(
    coord: &GroupCoordinator,
    group: &str,
    wanted: Option<Vec<(String, Vec<i32>)>>,
    require_stable: bool,
    member: Option<(Option<&str>, i32)>,
    describable: &dyn Fn(&str) -> bool,
) -> Result<Committed, GroupError> {
    let g = coord.get(group)?;
    let g = g.as_ref().map(|g| g.lock());
    // v9+: a consumer group member asks at its member epoch.
    if let (Some(c), Some((member_id, epoch))) = (g.as_ref().and_then(|g| g.consumer.as_ref()), member) {
        c.validate_offset_fetch(member_id, epoch)?;
    }
    let lookup = |t: &str, p: i32| {
        if require_stable && g.as_ref().is_some_and(|g| g.has_pending_txn_offset(t, p)) {
            return (p, -1, -1, String::new(), UNSTABLE_OFFSET_COMMIT);
        }
        g.as_ref()
            .and_then(|g| g.offsets.get(&(t.to_string(), p)))
            .map(|v| (p, v.offset, v.leader_epoch, v.metadata.clone(), NONE))
            .unwrap_or((p, -1, -1, String::new(), NONE))
    };
    Ok(match wanted {
        Some(topics) => topics
            .into_iter()
            .map(|(t, ps)| {
                let denied = !describable(&t);
                let offsets = ps
                    .into_iter()
                    .map(
                        |p| if denied { (p, -1, -1, String::new(), TOPIC_AUTHORIZATION_FAILED) } else { lookup(&t, p) },
                    )
                    .collect();
                (t, offsets)
            })
            .collect(),
        None => {
            let mut by_topic: std::collections::BTreeMap<String, Vec<PartitionOffset>> = Default::default();
            if let Some(g) = &g {
                let mut partitions: std::collections::BTreeSet<&(String, i32)> = g.offsets.keys().collect();
                if require_stable {
                    partitions.extend(g.txn_offsets.values().flat_map(|o| o.keys()));
                }
                for (t, p) in partitions.into_iter().filter(|(t, _)| describable(t)) {
                    by_topic.entry(t.clone()).or_default().push(lookup(t, *p));
                }
            }
            by_topic
                .into_iter()
                .map(|(t, mut ps)| {
                    ps.sort_by_key(|x| x.0);
                    (t, ps)
                })
                .collect()
        }
    })
}

impl Handler for OffsetFetch {
    type Request = OffsetFetchRequest;
    type Response = OffsetFetchResponse;
    const KEY: ApiKey = ApiKey::OffsetFetch;
    const MIN_VERSION: i16 = 1;
    const MAX_VERSION: i16 = 9;

    /// Below v8, DESCRIBE on the one group (Kafka's `handleOffsetFetchRequest`); from v8 each
    /// group is checked in `handle`.
    fn authorize(ctx: &RequestContext, req: &Self::Request) -> Result<(), i16> {
        if ctx.api_version >= 8 {
            return Ok(());
        }
        ctx.require(AclOperation::Describe, ResourceType::Group, &req.group_id, E::GroupAuthorizationFailed)
    }

    fn handle(ctx: &RequestContext, req: OffsetFetchRequest) -> Reply<OffsetFetchResponse> {
        let coord = &ctx.broker.groups;
        let describable = |t: &str| ctx.authorized(AclOperation::Describe, ResourceType::Topic, t);
        if ctx.api_version >= 8 {
            let groups = req
                .groups
                .iter()
                .map(|rg| {
                    if !ctx.authorized(AclOperation::Describe, ResourceType::Group, &rg.group_id) {
                        return OffsetFetchResponseGroup::default()
                            .with_group_id(GroupId(rg.group_id.0.clone()))
                            .with_error_code(E::GroupAuthorizationFailed.code());
                    }
                    let wanted = rg
                        .topics
                        .as_ref()
                        .map(|ts| ts.iter().map(|t| (t.name.0.to_string(), t.partition_indexes.clone())).collect());
                    let member = Some((rg.member_id.as_deref(), rg.member_epoch));
                    let committed =
                        match committed(coord, &rg.group_id.0, wanted, req.require_stable, member, &describable) {
                            Ok(c) => c,
                            Err(e) => {
                                return OffsetFetchResponseGroup::default()
                                    .with_group_id(GroupId(rg.group_id.0.clone()))
                                    .with_error_code(e.code())
                            }
                        };
                    let topics = committed
                        .into_iter()
                        .map(|(t, ps)| {
                            let parts = ps
                                .into_iter()
                                .map(|(p, o, e, m, code)| {
                                    OffsetFetchResponsePartitions::default()
                                        .with_partition_index(p)
                                        .with_committed_offset(o)
                                        .with_committed_leader_epoch(e)
                                        .with_metadata(Some(sb(m)))
                                        .with_error_code(code)
                                })
                                .collect();
                            OffsetFetchResponseTopics::default().with_name(TopicName(sb(t))).with_partitions(parts)
                        })
                        .collect();
                    OffsetFetchResponseGroup::default()
                        .with_group_id(GroupId(rg.group_id.0.clone()))
                        .with_topics(topics)
                        .with_error_code(NONE)
                })
                .collect();
            return Reply::Now(OffsetFetchResponse::default().with_groups(groups));
        }
        let wanted = req
            .topics
            .as_ref()
            .map(|ts| ts.iter().map(|t| (t.name.0.to_string(), t.partition_indexes.clone())).collect());
        let stable = ctx.api_version >= 7 && req.require_stable;
        let committed = match committed(coord, &req.group_id.0, wanted.clone(), stable, None, &describable) {
            Ok(c) => c,
            // v2+ has a group-level error; v1 only per-partition ones.
            Err(e) if ctx.api_version >= 2 => return Reply::Now(Self::error_response(&req, e.code())),
            Err(e) => wanted
                .unwrap_or_default()
                .into_iter()
                .map(|(t, ps)| (t, ps.into_iter().map(|p| (p, -1, -1, String::new(), e.code())).collect()))
                .collect(),
        };
        let topics = committed
            .into_iter()
            .map(|(t, ps)| {
                let parts = ps
                    .into_iter()
                    .map(|(p, o, e, m, code)| {
                        let mut r = OffsetFetchResponsePartition::default()
                            .with_partition_index(p)
                            .with_committed_offset(o)
                            .with_metadata(Some(sb(m)))
                            .with_error_code(code);
                        if ctx.api_version >= 5 {
                            r.committed_leader_epoch = e;
                        }
                        r
                    })
                    .collect();
                OffsetFetchResponseTopic::default().with_name(TopicName(sb(t))).with_partitions(parts)
            })
            .collect();
        Reply::Now(OffsetFetchResponse::default().with_topics(topics).with_error_code(NONE))
    }

    fn error_response(req: &OffsetFetchRequest, code: i16) -> OffsetFetchResponse {
        let groups = req
            .groups
            .iter()
            .map(|g| OffsetFetchResponseGroup::default().with_group_id(g.group_id.clone()).with_error_code(code))
            .collect();
        OffsetFetchResponse::default().with_error_code(code).with_groups(groups)
    }

    fn subject(req: &OffsetFetchRequest) -> Option<Subject> {
        Some(Subject::Group(req.group_id.0.clone()))
    }

    fn errors(resp: &OffsetFetchResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
        for t in &resp.topics {
            for p in &t.partitions {
                seen.topic(&t.name, p.error_code);
            }
        }
        for g in &resp.groups {
            seen.group(&g.group_id, g.error_code);
            for t in &g.topics {
                for p in &t.partitions {
                    seen.topic(&t.name, p.error_code);
                }
            }
        }
    }
}
