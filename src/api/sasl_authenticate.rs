//! SaslAuthenticate (key 36, v0-2): one step of the exchange SaslHandshake started. The last
//! step authenticates the connection as the principal the mechanism names, with a session
//! lifetime from v1 (KIP-368: the credential's lifetime capped by `connections.max.reauth.ms`;
//! past it the connection may only re-authenticate, as the same principal). A failure is
//! SASL_AUTHENTICATION_FAILED with Kafka's message, answered after
//! `connection.failed.authentication.delay.ms` (a slower guess), and the connection serves
//! nothing more.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError as E;
use kafka_protocol::messages::{ApiKey, SaslAuthenticateRequest, SaslAuthenticateResponse};

use super::{sb, Handler, Reply, RequestContext, ResponseErrors};
use crate::auth::sasl::{session_lifetime_ms, SaslError, Step};
use crate::auth::{KafkaPrincipal, SaslState};
use crate::error::ErrorCode;

pub struct SaslAuthenticate;

/// Kafka's `connection.failed.authentication.delay.ms` default.
const FAILED_AUTHENTICATION_DELAY: Duration = Duration::from_millis(100);

fn failed(code: i16, message: String) -> Reply<SaslAuthenticateResponse> {
    let resp = SaslAuthenticateResponse::default().with_error_code(code).with_error_message(Some(sb(message)));
    Reply::Later(Box::pin(async move {
        tokio::time::sleep(FAILED_AUTHENTICATION_DELAY).await;
        resp
    }))
}

impl Handler for SaslAuthenticate {
    type Request = SaslAuthenticateRequest;
    type Response = SaslAuthenticateResponse;
    const KEY: ApiKey = ApiKey::SaslAuthenticate;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 2;

    fn handle(ctx: &RequestContext, req: SaslAuthenticateRequest) -> Reply<SaslAuthenticateResponse> {
        let broker = &ctx.broker;
        let session = &ctx.session;
        let reauthenticating = session.sasl_state() == SaslState::Done;
        let mut slot = session.exchange.lock();
        let Some((mechanism, exchange)) = slot.as_mut() else {
            session.failed();
            return Reply::Now(
                SaslAuthenticateResponse::default()
                    .with_error_code(E::IllegalSaslState.code())
                    .with_error_message(Some(sb("SaslAuthenticate without a SaslHandshake"))),
            );
        };
        let mechanism = *mechanism;
        let now = crate::util::now_ms();
        match exchange.step(&req.auth_bytes, &broker.sasl, &broker.credentials, now) {
            Ok(Step::Continue(bytes)) => {
                Reply::Now(SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(bytes)))
            }
            Ok(Step::Done { principal, response, expires_at_ms }) => {
                *slot = None;
                let principal = KafkaPrincipal { principal_type: "User".into(), name: principal };
                if reauthenticating && session.principal() != principal {
                    session.failed();
                    return failed(
                        E::SaslAuthenticationFailed.code(),
                        format!(
                            "Cannot change principals during re-authentication from {}: {principal}",
                            session.principal()
                        ),
                    );
                }
                let max_reauth = Some(broker.sasl.max_reauth_ms);
                let lifetime = session_lifetime_ms(expires_at_ms, max_reauth, now);
                session.set_reauth_deadline(if lifetime > 0 { now + lifetime } else { 0 });
                tracing::debug!(peer = %session.peer, %principal, %mechanism, "SASL authentication succeeded");
                session.authenticated(principal);
                let lifetime = if ctx.api_version >= 1 { lifetime } else { 0 };
                Reply::Now(
                    SaslAuthenticateResponse::default()
                        .with_auth_bytes(Bytes::from(response))
                        .with_session_lifetime_ms(lifetime),
                )
            }
            Err(e) => {
                *slot = None;
                if let SaslError::Hidden(why) = &e {
                    tracing::debug!(peer = %session.peer, %mechanism, "SASL authentication failed: {why}");
                }
                session.failed();
                failed(e.code(), e.client_message(mechanism, reauthenticating))
            }
        }
    }

    fn error_response(_req: &SaslAuthenticateRequest, code: i16) -> SaslAuthenticateResponse {
        SaslAuthenticateResponse::default().with_error_code(code)
    }

    fn errors(resp: &SaslAuthenticateResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}
