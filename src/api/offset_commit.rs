//! OffsetCommit (key 8): generation/member checks, standalone commits (generation -1) for
//! assign()-style consumers, metadata round-trip; acknowledged once durable in
//! `__consumer_offsets`.

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::offset_commit_response::{OffsetCommitResponsePartition, OffsetCommitResponseTopic};
use kafka_protocol::messages::{ApiKey, OffsetCommitRequest, OffsetCommitResponse};

use super::{Handler, Reply, RequestContext, ResponseErrors, Subject, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::codec::OffsetValue;
use crate::group::state::MemberRef;
use crate::group::GroupError;
use crate::util::now_ms;

pub struct OffsetCommit;

/// Per-partition codes: the group-level `code` unless a partition has its own problem.
fn response(req: &OffsetCommitRequest, code_for: impl Fn(&str, i32) -> i16) -> OffsetCommitResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            let parts = t
                .partitions
                .iter()
                .map(|p| {
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code_for(&t.name.0, p.partition_index))
                })
                .collect();
            OffsetCommitResponseTopic::default().with_name(t.name.clone()).with_partitions(parts)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

impl Handler for OffsetCommit {
    type Request = OffsetCommitRequest;
    type Response = OffsetCommitResponse;
    const KEY: ApiKey = ApiKey::OffsetCommit;
    const MIN_VERSION: i16 = 2;
    const MAX_VERSION: i16 = 9;

    /// READ on the group (Kafka's `handleOffsetCommitRequest`).
    fn authorize(ctx: &RequestContext, req: &Self::Request) -> Result<(), i16> {
        ctx.require(AclOperation::Read, ResourceType::Group, &req.group_id, E::GroupAuthorizationFailed)
    }

    fn handle(ctx: &RequestContext, req: OffsetCommitRequest) -> Reply<OffsetCommitResponse> {
        let broker = &ctx.broker;
        let coord = &broker.groups;
        // An empty group id is valid here (Kafka only rejects null, for old clients).
        let member = MemberRef {
            member_id: &req.member_id,
            group_instance_id: req.group_instance_id.as_deref(),
            generation_id: req.generation_id_or_member_epoch,
        };
        let group = match coord.get(&req.group_id.0) {
            Ok(Some(g)) => Ok(g),
            Ok(None) if member.generation_id < 0 => coord.group_or_create(&req.group_id.0),
            // Kafka's OffsetMetadataManager: v9+ says the group is not there; older versions
            // keep ILLEGAL_GENERATION for the clients of their time.
            Ok(None) if ctx.api_version >= 9 => Err(GroupError::GroupIdNotFound),
            Ok(None) => Err(GroupError::IllegalGeneration),
            Err(e) => Err(e),
        };
        let group = match group {
            Ok(g) => g,
            Err(e) => return Reply::Now(Self::error_response(&req, e.code())),
        };
        let now = tokio::time::Instant::now();
        let mut g = group.lock();
        let admitted = match &g.consumer {
            Some(c) => c.validate_offset_commit(member.member_id, member.generation_id, ctx.api_version),
            None => g.check_commit(member, now),
        };
        if let Err(e) = admitted {
            return Reply::Now(Self::error_response(&req, e.code()));
        }
        // Per-partition validation: unknown topic/partition, oversized metadata.
        let mut bad: Vec<(String, i32, GroupError)> = Vec::new();
        let mut offsets = Vec::new();
        let ts = now_ms();
        for t in &req.topics {
            let topic = broker.topics.get(&t.name.0);
            let denied = !ctx.authorized(AclOperation::Read, ResourceType::Topic, &t.name);
            for p in &t.partitions {
                let meta = p.committed_metadata.as_deref().unwrap_or("");
                let invalid = if denied {
                    Some(GroupError::TopicAuthorizationFailed)
                } else if !topic.as_ref().is_some_and(|tp| tp.has_partition(p.partition_index)) {
                    Some(GroupError::UnknownTopicOrPartition)
                } else if meta.len() > coord.config.max_metadata_bytes {
                    Some(GroupError::OffsetMetadataTooLarge)
                } else {
                    None
                };
                if let Some(e) = invalid {
                    bad.push((t.name.0.to_string(), p.partition_index, e));
                    continue;
                }
                offsets.push((
                    t.name.0.to_string(),
                    p.partition_index,
                    OffsetValue {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata: meta.to_string(),
                        commit_timestamp: ts,
                    },
                ));
            }
        }
        // The code of each partition: its own problem, else the commit's outcome.
        let code_of = move |bad: &[(String, i32, GroupError)], t: &str, p: i32, stored: &Result<(), GroupError>| {
            let own = bad.iter().find(|(bt, bp, _)| bt == t && *bp == p).map(|(_, _, e)| e);
            match (own, stored) {
                (Some(e), _) | (None, Err(e)) => e.code(),
                (None, Ok(())) => NONE,
            }
        };
        let (part, undo) = match coord.store_offsets(&mut g, offsets) {
            Ok(stored) => stored,
            Err(e) => {
                let failed = Err(e);
                return Reply::Now(response(&req, |t, p| code_of(&bad, t, p, &failed)));
            }
        };
        drop(g);
        let stored = coord.wait_stored(vec![part]);
        Reply::Later(
            async move {
                // As Kafka answers a commit whose offsets partition failed to store it:
                // clients treat NOT_COORDINATOR as retriable (look the coordinator up
                // again), whereas KAFKA_STORAGE_ERROR is not an OffsetCommit error to
                // them (the Java consumer fails the commit as unexpected).
                let stored = stored.await;
                if stored.is_err() {
                    // Answered as failed, so not served by OffsetFetch either.
                    undo.apply(&mut group.lock());
                }
                response(&req, |t, p| code_of(&bad, t, p, &stored))
            }
            .boxed(),
        )
    }

    fn error_response(req: &OffsetCommitRequest, code: i16) -> OffsetCommitResponse {
        response(req, |_, _| code)
    }

    fn subject(req: &OffsetCommitRequest) -> Option<Subject> {
        Some(Subject::Group(req.group_id.0.clone()))
    }

    fn errors(resp: &OffsetCommitResponse, seen: &mut ResponseErrors) {
        for t in &resp.topics {
            for p in &t.partitions {
                seen.topic(&t.name, p.error_code);
            }
        }
    }
}
