//! InitProducerId (key 22): hands idempotent producers a fresh producer id (epoch 0).
//! Transactional ids are rejected until the transaction coordinator lands.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::{ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::{Handler, Reply, RequestContext, NONE};

pub struct InitProducerId;

impl Handler for InitProducerId {
    type Request = InitProducerIdRequest;
    type Response = InitProducerIdResponse;
    const KEY: ApiKey = ApiKey::InitProducerId;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 5;

    fn handle(ctx: &RequestContext, req: InitProducerIdRequest) -> Reply<InitProducerIdResponse> {
        if req.transactional_id.is_some() {
            tracing::warn!(client = ?ctx.client_id, "transactional producers are not supported yet");
            return Reply::Now(Self::error_response(&req, E::TransactionalIdAuthorizationFailed.code()));
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
}
