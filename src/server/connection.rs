//! One client connection: a reader that decodes frames and runs handlers in request order,
//! and a writer that sends responses in that same order. Waiting handlers (fsync, long-poll)
//! run as their own tasks, so they block neither this connection's reader nor anyone else.

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::Decodable;
use tokio::io::{AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::frame::{read_frame, FrameError};
use crate::api::{self, api_versions, Deferred, Dispatch, Frame, Lane, RequestContext};
use crate::broker::Broker;

/// Requests a connection may have in flight before the reader waits for the writer.
const MAX_IN_FLIGHT: usize = 64;
/// Read buffer per connection (length prefixes and small requests).
const READ_BUFFER: usize = 4 * 1024;

/// Why a connection ended early.
enum Close {
    /// The peer went away (reset, EOF mid-frame).
    Gone(String),
    /// The peer sent something we refuse (bad size, unknown API, undecodable request).
    Bad(String),
}

enum Pending {
    Ready(Frame),
    Wait(JoinHandle<Deferred>),
}

pub async fn serve(stream: TcpStream, peer: SocketAddr, broker: Arc<Broker>) {
    let _ = stream.set_nodelay(true);
    let (rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::channel(MAX_IN_FLIGHT);
    let writer = tokio::spawn(write_loop(wr, rx));
    let lane = Arc::new(Lane::default());
    // Small: the read buffer is zero-filled up front (all of it resident per idle connection),
    // and frames longer than it are read straight into their own buffer anyway.
    match read_loop(BufReader::with_capacity(READ_BUFFER, rd), tx, &broker, &lane, peer).await {
        Ok(()) => {}
        // A client going away mid-frame is routine; malformed input is worth a warning.
        Err(Close::Gone(reason)) => tracing::debug!(%peer, "connection closed: {reason}"),
        Err(Close::Bad(reason)) => tracing::warn!(%peer, "closing connection: {reason}"),
    }
    let _ = writer.await;
}

async fn write_loop(wr: tokio::net::tcp::OwnedWriteHalf, mut rx: mpsc::Receiver<Pending>) {
    let mut w = BufWriter::with_capacity(16 * 1024, wr);
    while let Some(p) = rx.recv().await {
        let frame = match p {
            Pending::Ready(b) => Some(b),
            Pending::Wait(handle) => match handle.await {
                Ok(Deferred::Send(b)) => Some(b),
                Ok(Deferred::Nothing) => None,
                Ok(Deferred::Close) => return,
                Err(e) => {
                    tracing::error!("request task failed: {e}");
                    return;
                }
            },
        };
        for chunk in frame.iter().flat_map(|f| &f.0) {
            if w.write_all(chunk).await.is_err() {
                return;
            }
        }
        if rx.is_empty() && w.flush().await.is_err() {
            return;
        }
    }
    let _ = w.flush().await;
}

async fn read_loop(
    mut rd: BufReader<tokio::net::tcp::OwnedReadHalf>,
    tx: mpsc::Sender<Pending>,
    broker: &Arc<Broker>,
    lane: &Arc<Lane>,
    peer: SocketAddr,
) -> Result<(), Close> {
    let max = broker.config.socket_request_max_bytes;
    loop {
        let frame = match read_frame(&mut rd, max).await {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(()),
            Err(e @ (FrameError::Io(_) | FrameError::Truncated)) => return Err(Close::Gone(e.to_string())),
            Err(e) => return Err(Close::Bad(e.to_string())),
        };
        let pending = match dispatch(frame, broker, lane, &peer) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(reason) => return Err(Close::Bad(reason)),
        };
        if tx.send(pending).await.is_err() {
            return Ok(()); // writer gone: the client went away
        }
    }
}

/// Decodes the header, finds the handler and runs it. `Err` closes the connection.
fn dispatch(
    mut frame: Bytes,
    broker: &Arc<Broker>,
    lane: &Arc<Lane>,
    peer: &SocketAddr,
) -> Result<Option<Pending>, String> {
    if frame.len() < 8 {
        return Err(format!("frame of {} bytes is too short for a request header", frame.len()));
    }
    let (key, version) = (i16::from_be_bytes([frame[0], frame[1]]), i16::from_be_bytes([frame[2], frame[3]]));
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let Some(entry) = api::lookup(key) else {
        return Err(format!("unknown or unsupported API key {key} (version {version})"));
    };
    if entry.key == ApiKey::ApiVersions && version > entry.max_version {
        return api_versions::unsupported_version_frame(correlation_id)
            .map(|f| Some(Pending::Ready(f)))
            .map_err(|e| e.to_string());
    }
    let header_version = entry.key.request_header_version(version);
    let header = RequestHeader::decode(&mut frame, header_version)
        .map_err(|e| format!("bad request header for API {key} v{version}: {e}"))?;
    let ctx = RequestContext {
        broker: broker.clone(),
        lane: lane.clone(),
        api_version: version,
        correlation_id,
        client_id: header.client_id.map(|s| s.to_string()),
        client_host: format!("/{}", peer.ip()),
    };
    let body = frame.slice(0..frame.remaining());
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| (entry.run)(&ctx, body)))
        .map_err(|_| format!("handler for {:?} v{version} panicked", entry.key))?;
    match outcome.map_err(|e| e.to_string())? {
        Dispatch::Ready(b) => Ok(Some(Pending::Ready(b))),
        Dispatch::Later(fut) => Ok(Some(Pending::Wait(tokio::spawn(fut)))),
        Dispatch::NoResponse => Ok(None),
    }
}
