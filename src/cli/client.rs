//! A small Kafka client for the `brook` commands: one connection per broker, requests encoded
//! and responses decoded with `kafka-protocol`, each request's version the highest that both
//! the broker (its ApiVersions) and the command (the range it was written for) know. It talks
//! to any Kafka broker, Brook or Apache Kafka. Every wait is bounded by the command's timeout.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// One connection to one broker.
pub struct Conn {
    addr: String,
    stream: TcpStream,
    timeout: Duration,
    next_correlation: i32,
    /// Each API the broker serves: (min, max) version.
    versions: HashMap<i16, (i16, i16)>,
}

impl Conn {
    /// Connects and asks the broker which versions it serves.
    pub async fn connect(addr: &str, timeout: Duration) -> Result<Self, CliError> {
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(error)) => return Err(CliError::Connect { addr: addr.to_string(), error }),
            Err(_) => return Err(CliError::Timeout { addr: addr.to_string(), timeout }),
        };
        stream.set_nodelay(true).ok();
        let mut conn = Conn { addr: addr.to_string(), stream, timeout, next_correlation: 1, versions: HashMap::new() };
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("brook-cli"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let resp: ApiVersionsResponse = conn.call_at(&req, 3).await?;
        conn.versions = resp.api_keys.iter().map(|k| (k.api_key, (k.min_version, k.max_version))).collect();
        Ok(conn)
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
        let v = self.version::<R>(ours)?;
        Ok((v, self.call_at(req, v).await?))
    }

    /// Sends `req` without waiting for an answer (a produce with acks=0 gets none).
    pub async fn send_only<R: Request>(&mut self, req: &R, ours: RangeInclusive<i16>) -> Result<(), CliError> {
        let v = self.version::<R>(ours)?;
        let correlation = self.next_correlation;
        self.next_correlation += 1;
        let frame = encode(req, v, correlation).map_err(|error| self.decode_error(api_key::<R>(), error))?;
        let addr = self.addr.clone();
        match tokio::time::timeout(self.timeout, self.stream.write_all(&frame)).await {
            Ok(r) => r.map_err(|error| CliError::Io { addr, error }),
            Err(_) => Err(CliError::Timeout { addr, timeout: self.timeout }),
        }
    }

    async fn call_at<R: Request>(&mut self, req: &R, version: i16) -> Result<R::Response, CliError> {
        let correlation = self.next_correlation;
        self.next_correlation += 1;
        let api = api_key::<R>();
        let frame = encode(req, version, correlation).map_err(|error| self.decode_error(api, error))?;
        let addr = self.addr.clone();
        let timeout = self.timeout;
        let io = |error| CliError::Io { addr: addr.clone(), error };
        let exchange = async {
            self.stream.write_all(&frame).await.map_err(io)?;
            let len = self.stream.read_i32().await.map_err(io)?;
            let len = usize::try_from(len).ok().filter(|n| (4..=MAX_RESPONSE).contains(n)).ok_or_else(|| {
                io(std::io::Error::new(std::io::ErrorKind::InvalidData, format!("response length {len}")))
            })?;
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

#[cfg(test)]
mod tests {
    #[test]
    fn codes_read_as_kafkas_names() {
        assert_eq!(super::describe_code(105), "TRANSACTIONAL_ID_NOT_FOUND (105)");
        assert_eq!(super::describe_code(3), "UNKNOWN_TOPIC_OR_PARTITION (3)");
        assert_eq!(super::describe_code(-12345), "error code -12345");
    }
}
