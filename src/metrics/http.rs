//! A minimal HTTP/1.1 endpoint: one request per connection (`Connection: close`), its head
//! bounded in size and time, GET only. Enough for Prometheus scrapes and orchestrators'
//! probes without a web framework.

use std::net::SocketAddr;
use std::sync::Weak;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::broker::Broker;

/// The most a request head may take.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client has to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The running endpoint: its address; it stops when dropped.
pub struct MetricsEndpoint {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binds `addr` and serves until the endpoint is dropped or the broker is gone.
pub async fn serve(addr: SocketAddr, broker: Weak<Broker>) -> std::io::Result<MetricsEndpoint> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(_) => {
                    // Out of file descriptors, say: back off rather than spin.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let broker = broker.clone();
            tokio::spawn(async move {
                let _ = answer(stream, broker).await;
            });
        }
    });
    Ok(MetricsEndpoint { addr, task })
}

/// Reads one request head and writes its answer.
async fn answer(mut stream: TcpStream, broker: Weak<Broker>) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(READ_TIMEOUT, async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await?;
            if n == 0 || head.len() + n > MAX_HEAD {
                return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "incomplete or oversized request"));
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok(())
    })
    .await;
    let (status, kind, body) = match read {
        Ok(Ok(())) => route(&head, &broker),
        _ => (400, "text/plain", "bad request\n".to_string()),
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "Bad Request",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

/// (status, content type, body) of a request head.
fn route(head: &[u8], broker: &Weak<Broker>) -> (u16, &'static str, String) {
    let line = head.split(|b| *b == b'\r').next().unwrap_or_default();
    let mut parts = std::str::from_utf8(line).unwrap_or_default().split(' ');
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let path = target.split('?').next().unwrap_or_default();
    if method != "GET" {
        return (405, "text/plain", "only GET\n".into());
    }
    let Some(b) = broker.upgrade() else { return (503, "text/plain", "stopping\n".into()) };
    match path {
        "/metrics" => (200, "text/plain; version=0.0.4; charset=utf-8", super::render(&b)),
        "/health/live" => (200, "text/plain", "ok\n".into()),
        "/health/ready" if b.groups.loading() || b.txns.loading() => {
            (503, "text/plain", "loading the coordinators' internal topics\n".into())
        }
        "/health/ready" => (200, "text/plain", "ready\n".into()),
        _ => (404, "text/plain", "not found\n".into()),
    }
}
