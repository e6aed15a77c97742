//! EndTxn (key 26): commit or abort the producer's transaction. Answered once the outcome
//! is stored in `__transaction_state` and the markers were written (a marker that could not
//! be written yet is retried by the coordinator; the transaction stays prepared until then).
//! v5 (transaction version 2, an epoch bump per transaction) is not served yet: clients fall
//! back to v4 without the `transaction.version` feature.

use futures::FutureExt;
use kafka_protocol::messages::{ApiKey, EndTxnRequest, EndTxnResponse};

use super::{Handler, Reply, RequestContext, NONE};

pub struct EndTxn;

/// The version from which a fenced producer is told PRODUCER_FENCED (KIP-588).
const FENCED_SINCE: i16 = 2;

impl Handler for EndTxn {
    type Request = EndTxnRequest;
    type Response = EndTxnResponse;
    const KEY: ApiKey = ApiKey::EndTxn;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 4;

    fn handle(ctx: &RequestContext, req: EndTxnRequest) -> Reply<EndTxnResponse> {
        let version = ctx.api_version;
        let flow = crate::txn::ops::end_transaction(
            ctx.broker.clone(),
            req.transactional_id.0.to_string(),
            req.producer_id.0,
            req.producer_epoch,
            req.committed,
            true,
        );
        Reply::Later(
            async move {
                let code = match flow.await {
                    Ok(()) => NONE,
                    Err(e) => e.code_for(version, FENCED_SINCE),
                };
                EndTxnResponse::default().with_error_code(code)
            }
            .boxed(),
        )
    }

    fn error_response(_req: &EndTxnRequest, code: i16) -> EndTxnResponse {
        EndTxnResponse::default().with_error_code(code)
    }
}
