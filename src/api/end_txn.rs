//! EndTxn (key 26): commit or abort the producer's transaction. Answered once the outcome
//! is stored in `__transaction_state` and the markers were written (a marker that could not
//! be written yet is retried by the coordinator; the transaction stays prepared until then).
//! v5 is transaction version 2 (KIP-890): every end bumps the producer epoch, and the answer
//! carries the producer id and epoch the client continues with.

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::{ApiKey, EndTxnRequest, EndTxnResponse, ProducerId};

use super::{Handler, Reply, RequestContext, ResponseErrors, Subject, NONE};
use crate::auth::{AclOperation, ResourceType};

pub struct EndTxn;

/// The version from which a fenced producer is told PRODUCER_FENCED (KIP-588).
const FENCED_SINCE: i16 = 2;
/// The version of transaction version 2 clients (Kafka's transactionVersionForEndTxn).
const TV2_SINCE: i16 = 5;

impl Handler for EndTxn {
    type Request = EndTxnRequest;
    type Response = EndTxnResponse;
    const KEY: ApiKey = ApiKey::EndTxn;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;

    /// WRITE on the transactional id (Kafka's `handleEndTxnRequest`).
    fn authorize(ctx: &RequestContext, req: &Self::Request) -> Result<(), i16> {
        let id = &req.transactional_id;
        ctx.require(AclOperation::Write, ResourceType::TransactionalId, id, E::TransactionalIdAuthorizationFailed)
    }

    fn handle(ctx: &RequestContext, req: EndTxnRequest) -> Reply<EndTxnResponse> {
        let version = ctx.api_version;
        let flow = crate::txn::ops::end_transaction(
            ctx.broker.clone(),
            req.transactional_id.0.to_string(),
            req.producer_id.0,
            req.producer_epoch,
            req.committed,
            true,
            if version >= TV2_SINCE { crate::txn::ops::TV_2 } else { crate::txn::ops::TV_0 },
        );
        Reply::Later(
            async move {
                match flow.await {
                    Ok((producer_id, epoch)) => EndTxnResponse::default()
                        .with_error_code(NONE)
                        .with_producer_id(ProducerId(producer_id))
                        .with_producer_epoch(epoch),
                    Err(e) => Self::error_response(&req, e.code_for(version, FENCED_SINCE)),
                }
            }
            .boxed(),
        )
    }

    fn error_response(_req: &EndTxnRequest, code: i16) -> EndTxnResponse {
        EndTxnResponse::default().with_error_code(code).with_producer_id(ProducerId(-1)).with_producer_epoch(-1)
    }

    fn subject(req: &EndTxnRequest) -> Option<Subject> {
        Some(Subject::TransactionalId(req.transactional_id.0.clone()))
    }

    fn errors(resp: &EndTxnResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}
