//! TxnOffsetCommit (key 28): a transactional producer commits a group's offsets in its
//! transaction (`sendOffsetsToTransaction`). The group's `__consumer_offsets` partition must
//! be in the transaction (AddOffsetsToTxn first; KIP-890's check); the offsets are stored as
//! the producer's transactional batch and stay pending, invisible to OffsetFetch, until the
//! transaction's marker commits them (an abort drops them). From v5 (transaction version 2,
//! KIP-890) the request adds the offsets partition to the transaction itself, with no
//! AddOffsetsToTxn.

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kafka_protocol::messages::{ApiKey, TxnOffsetCommitRequest, TxnOffsetCommitResponse};

use super::{Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::codec::OffsetValue;
use crate::group::state::MemberRef;
use crate::group::OFFSETS_TOPIC;
use crate::util::now_ms;

pub struct TxnOffsetCommit;

/// The version from which TRANSACTION_ABORTABLE is known (KIP-890); older ones get
/// INVALID_TXN_STATE.
const ABORTABLE_SINCE: i16 = 4;
/// The version of transaction version 2 clients: the offsets partition joins implicitly.
const IMPLICIT_ADD_SINCE: i16 = 5;

fn response(req: &TxnOffsetCommitRequest, code: impl Fn(&str, i32) -> i16) -> TxnOffsetCommitResponse {
    let topics = req
        .topics
        .iter()
        .map(|t| {
            TxnOffsetCommitResponseTopic::default().with_name(t.name.clone()).with_partitions(
                t.partitions
                    .iter()
                    .map(|p| {
                        TxnOffsetCommitResponsePartition::default()
                            .with_partition_index(p.partition_index)
                            .with_error_code(code(&t.name.0, p.partition_index))
                    })
                    .collect(),
            )
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}

impl Handler for TxnOffsetCommit {
    type Request = TxnOffsetCommitRequest;
    type Response = TxnOffsetCommitResponse;
    const KEY: ApiKey = ApiKey::TxnOffsetCommit;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;

    /// WRITE on the transactional id, then READ on the group (Kafka's
    /// `handleTxnOffsetCommitRequest`); each topic's READ is checked in `handle`.
    fn authorize(ctx: &RequestContext, req: &Self::Request) -> Result<(), i16> {
        let id = &req.transactional_id;
        ctx.require(AclOperation::Write, ResourceType::TransactionalId, id, E::TransactionalIdAuthorizationFailed)?;
        ctx.require(AclOperation::Read, ResourceType::Group, &req.group_id, E::GroupAuthorizationFailed)
    }

    fn handle(ctx: &RequestContext, req: TxnOffsetCommitRequest) -> Reply<TxnOffsetCommitResponse> {
        let partition = match ctx.broker.groups.partition_for(&req.group_id.0) {
            Ok(p) => p.index,
            Err(e) => return Reply::Now(Self::error_response(&req, e.code())),
        };
        // Kafka answers the topics the principal may not READ so, and commits the others.
        let denied: Vec<String> = req
            .topics
            .iter()
            .filter(|t| !ctx.authorized(AclOperation::Read, ResourceType::Topic, &t.name))
            .map(|t| t.name.0.to_string())
            .collect();
        let version = ctx.api_version;
        if version < IMPLICIT_ADD_SINCE {
            return commit(&ctx.broker, version, partition, req, &denied);
        }
        // Transaction version 2: the offsets partition joins the transaction first (a failure
        // is reported by the check that follows, with its cause).
        let broker = ctx.broker.clone();
        Reply::Later(
            async move {
                let add = crate::txn::ops::add_partitions(
                    broker.clone(),
                    req.transactional_id.0.to_string(),
                    req.producer_id.0,
                    req.producer_epoch,
                    vec![(OFFSETS_TOPIC.to_string(), partition)],
                    crate::txn::ops::TV_2,
                )
                .await;
                if let Err(e) = add {
                    tracing::debug!(transactional_id = %req.transactional_id.0, "offsets partition not added: {e}");
                }
                match commit(&broker, version, partition, req, &denied) {
                    Reply::Now(r) => r,
                    Reply::Later(f) => f.await,
                    Reply::None => TxnOffsetCommitResponse::default(),
                }
            }
            .boxed(),
        )
    }

    fn error_response(req: &TxnOffsetCommitRequest, code: i16) -> TxnOffsetCommitResponse {
        response(req, |_, _| code)
    }

    fn errors(resp: &TxnOffsetCommitResponse, seen: &mut ResponseErrors) {
        for t in &resp.topics {
            for p in &t.partitions {
                seen.topic(&t.name, p.error_code);
            }
        }
    }
}

/// The commit once the group's offsets partition (`partition`) should be in the transaction.
fn commit(
    broker: &std::sync::Arc<crate::broker::Broker>,
    version: i16,
    partition: i32,
    req: TxnOffsetCommitRequest,
    denied: &[String],
) -> Reply<TxnOffsetCommitResponse> {
    let coord = &broker.groups;
    let group_id = req.group_id.0.to_string();
    // The group's offsets partition must be in the producer's transaction.
    let verified = crate::txn::ops::verify_partitions(
        broker,
        &req.transactional_id.0,
        req.producer_id.0,
        req.producer_epoch,
        &[(OFFSETS_TOPIC.to_string(), partition)],
    )
    .and_then(|mut each| each.pop().unwrap_or(Ok(())));
    if let Err(e) = verified {
        let code = match e.code() {
            c if c == E::ProducerFenced.code() => E::InvalidProducerEpoch.code(),
            c if c == E::TransactionAbortable.code() && version < ABORTABLE_SINCE => E::InvalidTxnState.code(),
            c => c,
        };
        return Reply::Now(TxnOffsetCommit::error_response(&req, code));
    }
    let member = MemberRef {
        member_id: &req.member_id,
        group_instance_id: req.group_instance_id.as_deref(),
        generation_id: req.generation_id,
    };
    let group = match coord.group_or_create(&group_id) {
        Ok(g) => g,
        Err(e) => return Reply::Now(TxnOffsetCommit::error_response(&req, e.code())),
    };
    let admitted = {
        let g = group.lock();
        match &g.consumer {
            Some(c) => c.validate_txn_offset_commit(member.member_id, member.group_instance_id, member.generation_id),
            None => g.check_txn_commit(member),
        }
    };
    if let Err(e) = admitted {
        return Reply::Now(TxnOffsetCommit::error_response(&req, e.code()));
    }
    let ts = now_ms();
    let mut bad: Vec<(String, i32, i16)> = Vec::new();
    let mut offsets = Vec::new();
    for t in &req.topics {
        let topic = broker.topics.get(&t.name.0);
        let unauthorized = denied.iter().any(|d| *d == *t.name.0);
        for p in &t.partitions {
            let meta = p.committed_metadata.as_deref().unwrap_or("");
            let invalid = if unauthorized {
                Some(E::TopicAuthorizationFailed.code())
            } else if !topic.as_ref().is_some_and(|tp| tp.has_partition(p.partition_index)) {
                Some(E::UnknownTopicOrPartition.code())
            } else if meta.len() > coord.config.max_metadata_bytes {
                Some(E::OffsetMetadataTooLarge.code())
            } else {
                None
            };
            match invalid {
                Some(code) => bad.push((t.name.0.to_string(), p.partition_index, code)),
                None => offsets.push((
                    (t.name.0.to_string(), p.partition_index),
                    OffsetValue {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata: meta.to_string(),
                        commit_timestamp: ts,
                    },
                )),
            }
        }
    }
    let code_of = move |bad: &[(String, i32, i16)], t: &str, p: i32, stored: i16| {
        bad.iter().find(|(bt, bp, _)| bt == t && *bp == p).map_or(stored, |b| b.2)
    };
    if offsets.is_empty() {
        return Reply::Now(response(&req, |t, p| code_of(&bad, t, p, NONE)));
    }
    let part = match coord.store_txn_offsets(&group_id, req.producer_id.0, req.producer_epoch, &offsets) {
        Ok(part) => part,
        Err(e) => return Reply::Now(response(&req, |t, p| code_of(&bad, t, p, e.code()))),
    };
    let stored = coord.wait_stored(vec![part]);
    let broker = broker.clone();
    let producer_id = req.producer_id.0;
    Reply::Later(
        async move {
            let code = match stored.await {
                Ok(()) => {
                    broker.groups.add_txn_offsets(&group_id, producer_id, offsets);
                    NONE
                }
                Err(e) => e.code(),
            };
            response(&req, |t, p| code_of(&bad, t, p, code))
        }
        .boxed(),
    )
}
