//! SaslHandshake (key 17, v0-1): the client names the SASL mechanism it will authenticate
//! with; an enabled one starts the connection's exchange, any other is
//! UNSUPPORTED_SASL_MECHANISM with the list of enabled ones (as Kafka answers). A handshake on
//! an authenticated connection starts a re-authentication (KIP-368). v0's raw-token exchange
//! (tokens outside Kafka requests) is not served: clients since Kafka 1.0 use v1.

use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::{ApiKey, SaslHandshakeRequest, SaslHandshakeResponse};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors};
use crate::auth::sasl::exchange::Exchange;
use crate::auth::sasl::Mechanism;

pub struct SaslHandshake;

impl Handler for SaslHandshake {
    type Request = SaslHandshakeRequest;
    type Response = SaslHandshakeResponse;
    const KEY: ApiKey = ApiKey::SaslHandshake;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 1;

    fn handle(ctx: &RequestContext, req: SaslHandshakeRequest) -> Reply<SaslHandshakeResponse> {
        let sasl = &ctx.broker.sasl;
        let enabled: Vec<_> = sasl.enabled.iter().map(|m| sb(m.name())).collect();
        let resp = SaslHandshakeResponse::default().with_mechanisms(enabled);
        if !ctx.session.protocol.uses_sasl() {
            // Kafka answers a handshake on a listener without SASL as an illegal state.
            return Reply::Now(resp.with_error_code(E::IllegalSaslState.code()));
        }
        match Mechanism::from_name(&req.mechanism).filter(|m| sasl.enabled.contains(m)) {
            Some(m) => {
                *ctx.session.exchange.lock() = Some((m, Exchange::new(m)));
                Reply::Now(resp)
            }
            None => Reply::Now(resp.with_error_code(E::UnsupportedSaslMechanism.code())),
        }
    }

    fn error_response(_req: &SaslHandshakeRequest, code: i16) -> SaslHandshakeResponse {
        SaslHandshakeResponse::default().with_error_code(code)
    }

    fn errors(resp: &SaslHandshakeResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}
