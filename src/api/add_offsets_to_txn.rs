//! AddOffsetsToTxn (key 25): a transactional producer will commit a group's offsets in its
//! transaction (`sendOffsetsToTransaction`): the group's `__consumer_offsets` partition
//! joins the transaction, so its marker settles the offsets.

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::{AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, ApiKey};

use super::{Handler, Reply, RequestContext, ResponseErrors, Subject, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::error::ErrorCode;
use crate::group::OFFSETS_TOPIC;

pub struct AddOffsetsToTxn;

/// The version from which a fenced producer is told PRODUCER_FENCED (KIP-588).
const FENCED_SINCE: i16 = 2;

impl Handler for AddOffsetsToTxn {
    type Request = AddOffsetsToTxnRequest;
    type Response = AddOffsetsToTxnResponse;
    const KEY: ApiKey = ApiKey::AddOffsetsToTxn;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 4;

    /// WRITE on the transactional id, then READ on the group (Kafka's
    /// `handleAddOffsetsToTxnRequest`).
    fn authorize(ctx: &RequestContext, req: &Self::Request) -> Result<(), i16> {
        let id = &req.transactional_id;
        ctx.require(AclOperation::Write, ResourceType::TransactionalId, id, E::TransactionalIdAuthorizationFailed)?;
        ctx.require(AclOperation::Read, ResourceType::Group, &req.group_id, E::GroupAuthorizationFailed)
    }

    fn handle(ctx: &RequestContext, req: AddOffsetsToTxnRequest) -> Reply<AddOffsetsToTxnResponse> {
        let broker = ctx.broker.clone();
        let version = ctx.api_version;
        let partition = match broker.groups.partition_for(&req.group_id.0) {
            Ok(p) => p.index,
            Err(e) => return Reply::Now(Self::error_response(&req, e.code())),
        };
        let flow = crate::txn::ops::add_partitions(
            broker,
            req.transactional_id.0.to_string(),
            req.producer_id.0,
            req.producer_epoch,
            vec![(OFFSETS_TOPIC.to_string(), partition)],
            crate::txn::ops::TV_0,
        );
        Reply::Later(
            async move {
                let code = match flow.await {
                    Ok(()) => NONE,
                    Err(e) => e.code_for(version, FENCED_SINCE),
                };
                AddOffsetsToTxnResponse::default().with_error_code(code)
            }
            .boxed(),
        )
    }

    fn error_response(_req: &AddOffsetsToTxnRequest, code: i16) -> AddOffsetsToTxnResponse {
        AddOffsetsToTxnResponse::default().with_error_code(code)
    }

    fn subject(req: &AddOffsetsToTxnRequest) -> Option<Subject> {
        Some(Subject::TransactionalId(req.transactional_id.0.clone()))
    }

    fn errors(resp: &AddOffsetsToTxnResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}
