//! A request frame as the server reads it: API key, version and correlation id from the first
//! eight bytes, then the request header, then the body left for the handler to decode. Kept
//! free of any connection or broker state so fuzz targets decode frames exactly as the
//! server does.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::Decodable;

use super::ApiEntry;

/// What the first bytes of a frame say.
pub enum Parsed {
    /// A request for a served API: its header and undecoded body.
    Request { entry: &'static ApiEntry, version: i16, header: RequestHeader, body: Bytes },
    /// ApiVersions at a version above ours: answered with v0 and our versions (KIP-511),
    /// before its header (whose layout we may not know) is read.
    ApiVersionsTooNew { correlation_id: i32 },
}

/// Splits `frame` (without its length prefix); `Err` says why the connection must close.
pub fn parse(mut frame: Bytes) -> Result<Parsed, String> {
    if frame.len() < 8 {
        return Err(format!("frame of {} bytes is too short for a request header", frame.len()));
    }
    let (key, version) = (i16::from_be_bytes([frame[0], frame[1]]), i16::from_be_bytes([frame[2], frame[3]]));
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let Some(entry) = super::lookup(key) else {
        return Err(format!("unknown or unsupported API key {key} (version {version})"));
    };
    if entry.key == ApiKey::ApiVersions && version > entry.max_version {
        return Ok(Parsed::ApiVersionsTooNew { correlation_id });
    }
    let header_version = entry.key.request_header_version(version);
    let header = RequestHeader::decode(&mut frame, header_version)
        .map_err(|e| format!("bad request header for API {key} v{version}: {e}"))?;
    let body = frame.slice(0..frame.remaining());
    Ok(Parsed::Request { entry, version, header, body })
}
