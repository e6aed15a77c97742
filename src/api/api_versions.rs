//! ApiVersions (key 18): the advertised ranges come straight from the handler registry; from
//! v3 the features (KIP-584) too: `transaction.version` 2 is finalized, so Kafka 4.x
//! producers use transactions version 2 (KIP-890 part 2: Produce v12, TxnOffsetCommit v5,
//! EndTxn v5).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::{ApiVersion, FinalizedFeatureKey, SupportedFeatureKey};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};

use super::{encode_frame, DispatchError, Frame, Handler, Reply, RequestContext, ResponseErrors, HANDLERS, NONE};

pub struct ApiVersions;

fn advertised() -> Vec<ApiVersion> {
    HANDLERS
        .iter()
        .map(|e| {
            ApiVersion::default()
                .with_api_key(e.key as i16)
                .with_min_version(e.min_version)
                .with_max_version(e.max_version)
        })
        .collect()
}

/// Kafka's `transaction.version` feature: the levels Brook serves and the one in force.
const TRANSACTION_VERSION: &str = "transaction.version";

/// The finalized features' epoch. Brook's features never change while it runs; Kafka's epoch
/// is the metadata offset they were finalized at, which clients only compare.
const FINALIZED_FEATURES_EPOCH: i64 = 1;

/// The v3+ feature fields of a response.
fn with_features(resp: ApiVersionsResponse) -> ApiVersionsResponse {
    let level = crate::txn::ops::TV_2;
    resp.with_supported_features(vec![SupportedFeatureKey::default()
        .with_name(TRANSACTION_VERSION.into())
        .with_min_version(0)
        .with_max_version(level)])
        .with_finalized_features_epoch(FINALIZED_FEATURES_EPOCH)
        .with_finalized_features(vec![FinalizedFeatureKey::default()
            .with_name(TRANSACTION_VERSION.into())
            .with_min_version_level(level)
            .with_max_version_level(level)])
}

impl Handler for ApiVersions {
    type Request = ApiVersionsRequest;
    type Response = ApiVersionsResponse;
    const KEY: ApiKey = ApiKey::ApiVersions;
    const MIN_VERSION: i16 = 0;
    const MAX_VERSION: i16 = 4;

    fn handle(ctx: &RequestContext, req: ApiVersionsRequest) -> Reply<ApiVersionsResponse> {
        if ctx.api_version >= 3
            && !(valid_software_field(&req.client_software_name) && valid_software_field(&req.client_software_version))
        {
            return Reply::Now(Self::error_response(&req, ResponseError::InvalidRequest.code()));
        }
        Reply::Now(with_features(ApiVersionsResponse::default().with_error_code(NONE).with_api_keys(advertised())))
    }

    fn error_response(_req: &ApiVersionsRequest, code: i16) -> ApiVersionsResponse {
        ApiVersionsResponse::default().with_error_code(code).with_api_keys(advertised())
    }

    fn errors(resp: &ApiVersionsResponse, seen: &mut ResponseErrors) {
        seen.code(resp.error_code);
    }
}

/// KIP-511: client software name and version match `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`.
fn valid_software_field(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'.')
}

/// KIP-511: a client asking with a newer ApiVersions version than we serve gets a v0
/// response carrying UNSUPPORTED_VERSION and our ranges, so it can retry with one we know.
pub fn unsupported_version_frame(correlation_id: i32) -> Result<Frame, DispatchError> {
    let resp = ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(advertised());
    encode_frame(ApiKey::ApiVersions, 0, correlation_id, &resp, &[])
}
