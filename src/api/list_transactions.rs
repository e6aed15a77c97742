//! ListTransactions (key 66, KIP-664): the transactional ids this coordinator knows, with
//! their producer id and state, filtered by state, producer id, how long the transaction has
//! run (v1, KIP-994) and an id pattern (v2, KIP-1152: a Java regular expression, matched
//! with the `regex` crate, whose syntax covers what the tools send); unknown state names are
//! listed back, as Kafka does.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{
    ApiKey, ListTransactionsRequest, ListTransactionsResponse, ProducerId, TransactionalId,
};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors, NONE};
use crate::auth::{AclOperation, ResourceType};
use crate::txn::metadata::TxnState;
use crate::util::now_ms;

pub struct ListTransactions;

const STATES: [TxnState; 8] = [
    TxnState::Empty,
    TxnState::Ongoing,
    TxnState::PrepareCommit,
    TxnState::PrepareAbort,
    TxnState::CompleteCommit,
    TxnState::CompleteAbort,
    TxnState::Dead,
    TxnState::PrepareEpochFence,
];

impl Handler for ListTransactions {
    type Request = ListTransactionsRequest;
    type Response = ListTransactionsResponse;
    const KEY: ApiKey = ApiKey::ListTransactions;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;

    fn handle(ctx: &RequestContext, req: ListTransactionsRequest) -> Reply<ListTransactionsResponse> {
        let unknown: Vec<_> =
            req.state_filters.iter().filter(|f| !STATES.iter().any(|s| s.name() == f.as_str())).cloned().collect();
        let pattern = match req.transactional_id_pattern.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => match regex::Regex::new(&format!("^(?:{p})$")) {
                Ok(re) => Some(re),
                Err(_) => return Reply::Now(Self::error_response(&req, E::InvalidRegularExpression.code())),
            },
            None => None,
        };
        // As Kafka: no partial list while some `__transaction_state` partition still loads.
        if ctx.broker.txns.loading() {
            return Reply::Now(Self::error_response(&req, E::CoordinatorLoadInProgress.code()));
        }
        let now = now_ms();
        let states = ctx
            .broker
            .txns
            .list()
            .into_iter()
            .filter_map(|(id, txn)| {
                let m = txn.lock();
                let state_ok =
                    req.state_filters.is_empty() || req.state_filters.iter().any(|f| f.as_str() == m.state.name());
                let pid_ok =
                    req.producer_id_filters.is_empty() || req.producer_id_filters.contains(&ProducerId(m.producer_id));
                // KIP-994: transactions running longer than the filter (their start is set).
                let duration_ok =
                    req.duration_filter < 0 || (m.start_ms >= 0 && now - m.start_ms > req.duration_filter);
                let id_ok = pattern.as_ref().is_none_or(|re| re.is_match(&id))
                    && ctx.authorized(AclOperation::Describe, ResourceType::TransactionalId, &id);
                (state_ok && pid_ok && duration_ok && id_ok && m.state != TxnState::Dead).then(|| {
                    TransactionState::default()
                        .with_transactional_id(TransactionalId(sb(&id)))
                        .with_producer_id(ProducerId(m.producer_id))
                        .with_transaction_state(sb(m.state.name()))
                })
            })
            .collect();
        Reply::Now(
            ListTransactionsResponse::default()
                .with_error_code(NONE)
                .with_unknown_state_filters(unknown)
                .with_transaction_states(states),
        )
    }

    fn error_response(_req: &ListTransactionsRequest, code: i16) -> ListTransactionsResponse {
        ListTransactionsResponse::default().with_error_code(code)
    }

    fn errors(resp: &ListTransactionsResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}
