//! InitProducerId (key 22): an idempotent producer gets a fresh producer id (epoch 0); a
//! transactional one gets its id's producer id and next epoch from the transaction
//! coordinator, which fences the previous instance (KIP-98) and lets a producer recover from
//! an error with its last id and epoch (KIP-360, v3+).

use futures::FutureExt;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::{ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::{Handler, Reply, RequestContext, ResponseErrors, Subject, NONE};
use crate::auth::{AclOperation, ResourceType};

pub struct InitProducerId;

/// The version from which a fenced producer is told PRODUCER_FENCED (KIP-588).
const FENCED_SINCE: i16 = 4;

impl Handler for InitProducerId {
    type Request = InitProducerIdRequest;
    type Response = InitProducerIdResponse;
    const KEY: ApiKey = ApiKey::InitProducerId;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;

    /// A transactional producer needs WRITE on its transactional id; an idempotent one
    /// IDEMPOTENT_WRITE on the cluster or WRITE on some topic (Kafka's
    /// `handleInitProducerIdRequest`).
    fn authorize(ctx: &RequestContext, req: &Self::Request) -> Result<(), i16> {
        match &req.transactional_id {
            Some(id) => ctx.require(
                AclOperation::Write,
                ResourceType::TransactionalId,
                id,
                E::TransactionalIdAuthorizationFailed,
            ),
            None if ctx.cluster_authorized(AclOperation::IdempotentWrite)
                || ctx.authorized_any(AclOperation::Write, ResourceType::Topic) =>
            {
                Ok(())
            }
            None => Err(E::ClusterAuthorizationFailed.code()),
        }
    }

    fn handle(ctx: &RequestContext, req: InitProducerIdRequest) -> Reply<InitProducerIdResponse> {
        if let Some(id) = &req.transactional_id {
            let expected = (req.producer_id.0 >= 0).then_some((req.producer_id.0, req.producer_epoch));
            let version = ctx.api_version;
            let flow = crate::txn::ops::init_producer_id(
                ctx.broker.clone(),
                id.to_string(),
                req.transaction_timeout_ms,
                expected,
            );
            return Reply::Later(
                async move {
                    match flow.await {
                        Ok((producer_id, epoch)) => InitProducerIdResponse::default()
                            .with_error_code(NONE)
                            .with_producer_id(ProducerId(producer_id))
                            .with_producer_epoch(epoch),
                        Err(e) => Self::error_response(&req, e.code_for(version, FENCED_SINCE)),
                    }
                }
                .boxed(),
            );
        }
        Reply::Now(match ctx.broker.producer_ids.next() {
            Ok(id) => InitProducerIdResponse::default()
                .with_error_code(NONE)
                .with_producer_id(ProducerId(id))
                .with_producer_epoch(0),
            Err(e) => {
                tracing::error!("cannot persist the producer id block: {e}");
                Self::error_response(&req, E::CoordinatorNotAvailable.code())
            }
        })
    }

    fn error_response(_req: &InitProducerIdRequest, code: i16) -> InitProducerIdResponse {
        InitProducerIdResponse::default().with_error_code(code).with_producer_id(ProducerId(-1)).with_producer_epoch(-1)
    }

    fn subject(req: &InitProducerIdRequest) -> Option<Subject> {
        req.transactional_id.as_ref().map(|id| Subject::TransactionalId(id.0.clone()))
    }

    fn errors(resp: &InitProducerIdResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}
