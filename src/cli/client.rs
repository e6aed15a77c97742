//! A small Kafka client for the `brook` commands: one connection per broker (plain TCP or TLS,
//! logged in with SASL when the security protocol says so: `connect.rs`), requests encoded
//! and responses decoded with `kafka-protocol`, each request's version the highest that both
//! the broker (its ApiVersions) and the command (the range it was written for) know. It talks
//! to any Kafka broker, Brook or Apache Kafka. Every wait is bounded by the command's timeout.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::connect::{self, Transport};
use super::secure::Security;

/// What a command reports as its one line of error.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot connect to {addr}: {error}")]
    Connect { addr: String, error: std::io::Error },
    #[error("{addr}: {error}")]
    Io { addr: String, error: std::io::Error },
    #[error("{addr} timed out after {timeout:?}")]
    Timeout { addr: String, timeout: Duration },
    #[error("{addr} does not serve {api:?} in versions {ours:?} (it serves {theirs:?})")]
    Unsupported { addr: String, api: ApiKey, ours: RangeInclusive<i16>, theirs: Option<(i16, i16)> },
    #[error("{addr}: cannot decode the {api:?} response: {error}")]
    Decode { addr: String, api: ApiKey, error: String },
    /// A Kafka error code answered for what the command asked.
    #[error("{0}")]
    Kafka(String),
    #[error("{0}")]
    Usage(String),
}

/// The largest response accepted (a broker's answer to these commands is small).
const MAX_RESPONSE: usize = 64 << 20;

/// How a command connects: its timeout and its security, shared by all its connections.
#[derive(Debug, Clone)]
pub struct Connector {
    pub timeout: Duration,
    pub security: Arc<Security>,
}

impl Connector {
    pub fn new(timeout: Duration, security: Security) -> Self {
        Self { timeout, security: Arc::new(security) }
    }
}

/// One connection to one broker.
pub struct Conn {
    addr: String,
    stream: Box<dyn Transport>,
    connector: Connector,
    next_correlation: i32,
    /// Each API the broker serves: (min, max) version.
    versions: HashMap<i16, (i16, i16)>,
    /// When a SASL session must be renewed (KIP-368: the broker closes the connection when the
    /// session it granted ends, so the client logs in again before that).
    reauthenticate_at: Option<Instant>,
}

impl Conn {
    /// Connects (TCP, then TLS for SSL and SASL_SSL), asks the broker which versions it
    /// serves, and logs in for SASL_PLAINTEXT and SASL_SSL.
    pub async fn connect(addr: &str, connector: &Connector) -> Result<Self, CliError> {
        let stream = connect::open(addr, connector).await?;
        let mut conn = Conn {
            addr: addr.to_string(),
            stream,
            connector: connector.clone(),
            next_correlation: 1,
            versions: HashMap::new(),
            reauthenticate_at: None,
        };
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("brook-cli"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let resp: ApiVersionsResponse = conn.call_at(&req, 3).await?;
        conn.versions = resp.api_keys.iter().map(|k| (k.api_key, (k.min_version, k.max_version))).collect();
        conn.login().await?;
        Ok(conn)
    }

    /// Logs in when the security protocol asks for SASL, and notes when to do it again.
    async fn login(&mut self) -> Result<(), CliError> {
        let Some(login) = self.connector.security.sasl.clone() else {
            return Ok(());
        };
        let lifetime = connect::authenticate(self, &login).await?;
        // Kafka's client renews at 85-95% of the session; 85% leaves time for a slow login.
        // A lifetime past what an Instant can hold (a hostile i64::MAX) is no deadline at all.
        self.reauthenticate_at = lifetime.and_then(|l| Instant::now().checked_add(l.mul_f64(0.85)));
        Ok(())
    }

    /// Logs in again if the session is about to end.
    async fn renew_session(&mut self) -> Result<(), CliError> {
        match self.reauthenticate_at {
            Some(at) if Instant::now() >= at => self.login().await,
            _ => Ok(()),
        }
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The version to send `R` at: the highest in `ours` the broker serves.
    pub fn version<R: Request>(&self, ours: RangeInclusive<i16>) -> Result<i16, CliError> {
        let theirs = self.versions.get(&R::KEY).copied();
        let best = theirs.and_then(|(min, max)| {
            let v = (*ours.end()).min(max);
            (v >= min && v >= *ours.start()).then_some(v)
        });
        best.ok_or_else(|| CliError::Unsupported { addr: self.addr.clone(), api: api_key::<R>(), ours, theirs })
    }

    /// Sends `req` at the best version in `ours`: (that version, the response).
    pub async fn call<R: Request>(
        &mut self,
        req: &R,
        ours: RangeInclusive<i16>,
    ) -> Result<(i16, R::Response), CliError> {
        self.renew_session().await?;
        self.call_in_session(req, ours).await
    }

    /// [`Conn::call`] without renewing the session first: the SASL exchange's own requests.
    pub(super) async fn call_in_session<R: Request>(
        &mut self,
        req: &R,
        ours: RangeInclusive<i16>,
    ) -> Result<(i16, R::Response), CliError> {
        let v = self.version::<R>(ours)?;
        Ok((v, self.call_at(req, v).await?))
    }

    /// Sends `req` without waiting for an answer (a produce with acks=0 gets none).
    pub async fn send_only<R: Request>(&mut self, req: &R, ours: RangeInclusive<i16>) -> Result<(), CliError> {
        self.renew_session().await?;
        let v = self.version::<R>(ours)?;
        let correlation = self.next_correlation;
        self.next_correlation += 1;
        let frame = encode(req, v, correlation).map_err(|error| self.decode_error(api_key::<R>(), error))?;
        let addr = self.addr.clone();
        let timeout = self.connector.timeout;
        match tokio::time::timeout(timeout, self.stream.write_all(&frame)).await {
            Ok(r) => r.map_err(|error| CliError::Io { addr, error }),
            Err(_) => Err(CliError::Timeout { addr, timeout }),
        }
    }

    async fn call_at<R: Request>(&mut self, req: &R, version: i16) -> Result<R::Response, CliError> {
        let correlation = self.next_correlation;
        self.next_correlation += 1;
        let api = api_key::<R>();
        let frame = encode(req, version, correlation).map_err(|error| self.decode_error(api, error))?;
        let addr = self.addr.clone();
        let timeout = self.connector.timeout;
        let security = self.connector.security.clone();
        let io = |error| CliError::Io { addr: addr.clone(), error: connect::explain(error, &security) };
        let exchange = async {
            self.stream.write_all(&frame).await.map_err(io)?;
            let len = self.stream.read_i32().await.map_err(io)?;
            let len = usize::try_from(len)
                .ok()
                .filter(|n| (4..=MAX_RESPONSE).contains(n))
                .ok_or_else(|| io(connect::bad_length(len, &security)))?;
            let mut buf = vec![0u8; len];
            self.stream.read_exact(&mut buf).await.map_err(io)?;
            Ok::<_, CliError>(Bytes::from(buf))
        };
        let mut body = match tokio::time::timeout(timeout, exchange).await {
            Ok(r) => r?,
            Err(_) => return Err(CliError::Timeout { addr: self.addr.clone(), timeout }),
        };
        let header = ResponseHeader::decode(&mut body, api.response_header_version(version))
            .map_err(|e| self.decode_error(api, e.to_string()))?;
        if header.correlation_id != correlation {
            return Err(
                self.decode_error(api, format!("correlation id {} (sent {correlation})", header.correlation_id))
            );
        }
        R::Response::decode(&mut body, version).map_err(|e| self.decode_error(api, e.to_string()))
    }

    fn decode_error(&self, api: ApiKey, error: String) -> CliError {
        CliError::Decode { addr: self.addr.clone(), api, error }
    }
}

fn api_key<R: Request>() -> ApiKey {
    ApiKey::try_from(R::KEY).unwrap_or(ApiKey::ApiVersions)
}

/// A request frame: length, header, body.
fn encode<R: Request>(req: &R, version: i16, correlation: i32) -> Result<Bytes, String> {
    let api = api_key::<R>();
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation)
        .with_client_id(Some(StrBytes::from_static_str("brook-cli")));
    let mut body = BytesMut::new();
    header.encode(&mut body, api.request_header_version(version)).map_err(|e| e.to_string())?;
    req.encode(&mut body, version).map_err(|e| e.to_string())?;
    let mut frame = BytesMut::with_capacity(4 + body.len());
    frame.put_i32(body.len() as i32);
    frame.put(body);
    Ok(frame.freeze())
}

/// A Kafka error code as Kafka names it (`TRANSACTIONAL_ID_NOT_FOUND (105)`), for a
/// command's error line.
pub fn describe_code(code: i16) -> String {
    match crate::api::error_report::error_name(code) {
        Some(name) => format!("{name} ({code})"),
        None => format!("error code {code}"),
    }
}

/// A refusal for a command's error line: the code by name, then the broker's message, and
/// what to do about the refusals a security command meets (Kafka's own messages, such as
/// "Cluster authorization failed.", do not say).
pub fn kafka_error(code: i16, message: Option<&StrBytes>) -> String {
    let guidance = match code {
        31 => "managing users and ACLs needs ALTER on the cluster, listing them DESCRIBE: log in as a super user or a principal granted it",
        54 => "the broker has no authorizer (set authorizer.class.name to use ACLs)",
        _ => "",
    };
    let message = message.map(|m| m.as_str().trim()).filter(|m| !m.is_empty());
    match (message, guidance) {
        (Some(m), "") => format!("{}: {m}", describe_code(code)),
        (Some(m), g) => format!("{}: {m} ({g})", describe_code(code)),
        (None, "") => describe_code(code),
        (None, g) => format!("{}: {g}", describe_code(code)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn refusals_carry_the_brokers_message_or_a_hint() {
        let m = kafka_protocol::protocol::StrBytes::from_static_str("Too few iterations");
        assert_eq!(super::kafka_error(93, Some(&m)), "UNACCEPTABLE_CREDENTIAL (93): Too few iterations");
        assert!(super::kafka_error(31, None)
            .starts_with("CLUSTER_AUTHORIZATION_FAILED (31): managing users and ACLs needs ALTER"));
        let m = kafka_protocol::protocol::StrBytes::from_static_str("Cluster authorization failed.");
        assert!(super::kafka_error(31, Some(&m))
            .starts_with("CLUSTER_AUTHORIZATION_FAILED (31): Cluster authorization failed. (managing"));
        assert_eq!(super::kafka_error(3, None), "UNKNOWN_TOPIC_OR_PARTITION (3)");
    }

    #[test]
    fn codes_read_as_kafkas_names() {
        assert_eq!(super::describe_code(105), "TRANSACTIONAL_ID_NOT_FOUND (105)");
        assert_eq!(super::describe_code(3), "UNKNOWN_TOPIC_OR_PARTITION (3)");
        assert_eq!(super::describe_code(-12345), "error code -12345");
    }
}
