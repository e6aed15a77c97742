//! One client connection: a reader that decodes frames and runs handlers in request order,
//! and a writer that sends responses in that same order. Waiting handlers (fsync, long-poll)
//! run as their own tasks, so they block neither this connection's reader nor anyone else.
//!
//! What one connection may cost is bounded here: at most
//! `max_in_flight_requests_per_connection` requests read and not yet answered; no new request
//! read while its unwritten responses hold more than the [`ResponseBudget`] allows (a client
//! that does not read its socket stops being read); closed after `connections.max.idle.ms`
//! without a byte read or written; on shutdown it reads no more requests and finishes the ones
//! it has.

use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter, ReadBuf};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::answered::Request;
use super::frame::{read_frame, FrameError};
use super::limits::ConnectionSlot;
use super::transport::Transport;
use crate::api::budget::Charge;
use crate::api::request::{self, Parsed};
use crate::api::{api_versions, Deferred, Dispatch, Frame, Lane, RequestContext, ResponseBudget, ResponseErrors};
use crate::auth::{self, Admission, Session};
use crate::broker::Broker;

/// Read buffer per connection (length prefixes and small requests).
const READ_BUFFER: usize = 4 * 1024;

/// Why a connection ended early.
enum Close {
    /// The peer went away (reset, EOF mid-frame).
    Gone(String),
    /// The peer sent something we refuse (bad size, unknown API, undecodable request).
    Bad(String),
    /// No byte read or written for `connections.max.idle.ms`.
    Idle,
    /// The broker is shutting down.
    Shutdown,
}

/// A response on its way to the writer, holding its bytes against the connection's budget.
enum Pending {
    Ready(Frame, Charge),
    Wait(HandlerTask),
}

/// What a waiting handler's task ends with ([`Deferred`] with its frame charged).
/// A handler's task. `long_wait` ([`crate::api::Handler::LONG_WAIT`]: a long-poll, a
/// rebalance) is not awaited at shutdown, and is aborted once its answer is no longer wanted
/// (the connection ended, or the broker stops): it holds only waiting, and a client could
/// otherwise park such tasks beyond its own connection and its connection limits.
struct HandlerTask {
    task: JoinHandle<Answer>,
    long_wait: bool,
}

impl Drop for HandlerTask {
    fn drop(&mut self) {
        if self.long_wait {
            self.task.abort();
        }
    }
}

enum Answer {
    Send(Frame, Charge),
    Nothing,
    Close,
}

/// What the server hands a connection besides its socket.
pub(super) struct ConnectionParts {
    pub broker: Arc<Broker>,
    /// Fires when the broker shuts down.
    pub stop: Stop,
    /// Held (by the connection's [`Lane`]) until the connection and every handler it started
    /// are done; shutdown waits for all of them.
    pub open: mpsc::Sender<()>,
    /// The connection's place in the connection limits, given back when the connection and
    /// every handler it started are done (it is held by the connection's [`Lane`]).
    pub slot: ConnectionSlot,
    /// The listener it came in on.
    pub listener: Arc<crate::config::listeners::Listener>,
}

/// How long a client has to complete its TLS handshake.
const TLS_HANDSHAKE: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves a connection accepted on a listener: a TLS handshake first on SSL listeners (the
/// client certificate's subject, mapped, becomes the principal), then the Kafka protocol.
pub(super) async fn accept(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    parts: ConnectionParts,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let session = Session::new(&parts.listener.name, parts.listener.protocol, peer);
    let Some(tls) = tls else { return serve(stream, peer, parts, session).await };
    let tls_stream = match tokio::time::timeout(TLS_HANDSHAKE, tls.accept(stream)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return tracing::debug!(%peer, "TLS handshake failed: {e}"),
        Err(_) => return tracing::debug!(%peer, "TLS handshake not completed within {TLS_HANDSHAKE:?}"),
    };
    let subject = tls_stream.get_ref().1.peer_certificates().and_then(|c| c.first()).and_then(super::tls::subject_of);
    if let Some(dn) = subject {
        let name = super::tls::map_principal(&parts.broker.config.tls.principal_mapping_rules, &dn);
        session.set_principal(crate::auth::KafkaPrincipal { principal_type: "User".into(), name });
    }
    serve(tls_stream, peer, parts, session).await
}

async fn serve<T: Transport>(stream: T, peer: SocketAddr, parts: ConnectionParts, session: Session) {
    let ConnectionParts { broker, stop, open, slot, listener: _ } = parts;
    let (rd, wr) = stream.into_halves();
    let session = Arc::new(session);
    let _share_sessions = ShareSessionsEnd { broker: broker.clone(), connection: session.id };
    let activity = Arc::new(Activity::new());
    let budget = Arc::new(ResponseBudget::new(broker.config.fetch_max_bytes as usize));
    let (tx, rx) = mpsc::channel(broker.config.max_in_flight_requests_per_connection);
    // Fires (dropped) when the broker stops: the writer then no longer waits for long waits.
    let (draining, drain) = oneshot::channel::<()>();
    let mut writer = AbortOnDrop(tokio::spawn(write_loop(Stamped::new(wr, &activity), rx, Stop::new(drain))));
    let lane = Arc::new(Lane::tracked(open, slot));
    let mut guard = Guard { idle: IdleTimer::new(broker.config.connections_max_idle, activity.clone()), stop };
    // Small: the read buffer is zero-filled up front (all of it resident per idle connection),
    // and frames longer than it are read straight into their own buffer anyway.
    let rd = BufReader::with_capacity(READ_BUFFER, Stamped::new(rd, &activity));
    let conn = Conn { broker: &broker, lane: &lane, budget: &budget, session: &session };
    tracing::debug!(%peer, "connection opened");
    let ended = read_loop(rd, tx, &conn, &mut guard).await;
    match ended {
        Ok(()) => tracing::debug!(%peer, "connection closed by the client"),
        // A client going away mid-frame is routine; malformed input is worth a warning.
        Err(Close::Gone(reason)) => tracing::debug!(%peer, "connection closed: {reason}"),
        Err(Close::Bad(reason)) => tracing::warn!(%peer, "closing connection: {reason}"),
        Err(Close::Idle) => {
            tracing::debug!(%peer, "closing connection idle for connections.max.idle.ms");
            return; // dropping the writer aborts it: nobody reads what it would send
        }
        Err(Close::Shutdown) => {
            // Answer what was read, up to the first long wait (the server closes us if even
            // that takes too long).
            drop(draining);
            let _ = writer.await;
            return;
        }
    }
    // The client is done sending: the writer sends what is queued unless the connection goes
    // idle (a client that does not read) or the broker stops.
    tokio::select! {
        _ = &mut writer => {}
        () = guard.idle.expired() => {}
        () = guard.stop.fired() => {}
    }
}

/// Ends the share sessions a connection opened when it closes, however it closes: the records
/// their members hold are released at once (KIP-932), not when their locks expire.
struct ShareSessionsEnd {
    broker: Arc<crate::broker::Broker>,
    connection: u64,
}

impl Drop for ShareSessionsEnd {
    fn drop(&mut self) {
        for (group, member, partitions) in self.broker.shares.sessions.connection_closed(self.connection) {
            crate::api::share_release(&self.broker, &group, &member, &partitions);
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(wr: Stamped<W>, mut rx: mpsc::Receiver<Pending>, mut draining: Stop) {
    let mut w = BufWriter::with_capacity(16 * 1024, wr);
    while let Some(p) = rx.recv().await {
        let answer = match p {
            Pending::Ready(frame, charge) => Some((frame, charge)),
            Pending::Wait(task) => match finished(task, &mut draining).await {
                // Shutting down, and this answer waits on others (a long-poll, a rebalance):
                // close after what was already written.
                None => {
                    let _ = w.flush().await;
                    return;
                }
                Some(Ok(Answer::Send(frame, charge))) => Some((frame, charge)),
                Some(Ok(Answer::Nothing)) => None,
                Some(Ok(Answer::Close)) => return,
                Some(Err(e)) => {
                    tracing::error!("request task failed: {e}");
                    return;
                }
            },
        };
        if let Some((frame, charge)) = answer {
            for chunk in &frame.0 {
                if w.write_all(chunk).await.is_err() {
                    return;
                }
            }
            // Given back before the flush, so the client's next request finds it free.
            drop((frame, charge));
        }
        if rx.is_empty() && w.flush().await.is_err() {
            return;
        }
    }
    let _ = w.flush().await;
}

/// A handler task's outcome; `None` instead if it is a long wait and the broker is stopping
/// (the task goes on detached: it has no work left, only waiting).
async fn finished(mut t: HandlerTask, draining: &mut Stop) -> Option<Result<Answer, tokio::task::JoinError>> {
    if !t.long_wait {
        return Some((&mut t.task).await);
    }
    tokio::select! {
        biased;
        done = &mut t.task => Some(done),
        () = draining.fired() => None,
    }
}

/// What every request of one connection shares.
struct Conn<'a> {
    broker: &'a Arc<Broker>,
    lane: &'a Arc<Lane>,
    budget: &'a Arc<ResponseBudget>,
    session: &'a Arc<Session>,
}

async fn read_loop<R: AsyncRead + Unpin>(
    mut rd: BufReader<Stamped<R>>,
    tx: mpsc::Sender<Pending>,
    conn: &Conn<'_>,
    guard: &mut Guard,
) -> Result<(), Close> {
    let (max, budget) = (conn.broker.config.socket_request_max_bytes, conn.budget);
    loop {
        if budget.is_spent() {
            // The client is not reading its responses as fast as it sends requests: read no
            // more until the writer has caught up (its requests wait in the socket buffers).
            let caught_up = guard
                .run(async {
                    tokio::select! {
                        () = budget.until_unspent() => true,
                        () = tx.closed() => false,
                    }
                })
                .await?;
            if !caught_up {
                return Ok(()); // writer gone: the client went away
            }
        }
        let frame = match guard.run(read_frame(&mut rd, max)).await? {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(()),
            Err(e @ (FrameError::Io(_) | FrameError::Truncated)) => return Err(Close::Gone(e.to_string())),
            Err(e) => return Err(Close::Bad(e.to_string())),
        };
        let pending = match dispatch(frame, conn) {
            Ok(Some(p)) => p,
            Ok(None) => continue,
            Err(reason) => return Err(Close::Bad(reason)),
        };
        // Cut short by shutdown too (the writer may be waiting on a long wait, and this
        // request's work is done: only its answer is lost, as on Kafka).
        if guard.run(tx.send(pending)).await?.is_err() {
            return Ok(()); // writer gone: the client went away
        }
    }
}

/// Decodes the header, admits the request (the one place authentication is enforced, see
/// [`auth::gate`]), finds the handler and runs it. `Err` closes the connection.
fn dispatch(frame: Bytes, conn: &Conn<'_>) -> Result<Option<Pending>, String> {
    let started = std::time::Instant::now();
    let budget = conn.budget;
    let ready = |f: Frame| {
        let charge = budget.charge(f.len());
        Pending::Ready(f, charge)
    };
    let (entry, version, header, body) = match request::parse(frame)? {
        Parsed::Request { entry, version, header, body } => (entry, version, header, body),
        Parsed::ApiVersionsTooNew { correlation_id } => {
            return api_versions::unsupported_version_frame(correlation_id)
                .map(|f| Some(ready(f)))
                .map_err(|e| e.to_string());
        }
    };
    if let Admission::Refused(reason) = auth::gate(conn.session, entry.key) {
        return Err(reason);
    }
    let request = Request {
        key: entry.key as i16,
        version,
        client_id: header.client_id.as_ref().map(|s| s.to_string()),
        peer: conn.session.peer,
        started,
    };
    let ctx = RequestContext {
        broker: conn.broker.clone(),
        lane: conn.lane.clone(),
        budget: budget.clone(),
        session: conn.session.clone(),
        api_version: version,
        correlation_id: header.correlation_id,
        client_id: request.client_id.clone(),
    };
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| (entry.run)(&ctx, body)))
        .map_err(|_| format!("handler for {:?} v{version} panicked", entry.key))?;
    match outcome.map_err(|e| e.to_string())? {
        Dispatch::Ready(f, errors) => {
            request.answered(conn.broker, &errors);
            Ok(Some(ready(f)))
        }
        Dispatch::Later(fut) => {
            let budget = budget.clone();
            let long_wait = entry.long_wait;
            let broker = conn.broker.clone();
            Ok(Some(Pending::Wait(HandlerTask {
                long_wait,
                task: tokio::spawn(async move {
                    match fut.await {
                        // Charged the moment it exists, in the same poll that produced it.
                        Deferred::Send(f, errors) => {
                            request.answered(&broker, &errors);
                            let charge = budget.charge(f.len());
                            Answer::Send(f, charge)
                        }
                        Deferred::Nothing => {
                            request.answered(&broker, &ResponseErrors::default());
                            Answer::Nothing
                        }
                        Deferred::Close => {
                            request.answered(&broker, &ResponseErrors::default());
                            Answer::Close
                        }
                    }
                }),
            })))
        }
        Dispatch::NoResponse => {
            request.answered(conn.broker, &ResponseErrors::default());
            Ok(None)
        }
    }
}

/// A connection's shutdown signal: fires when the server drops (or uses) the sender. Its own
/// channel, so polling it around every request touches nothing shared.
pub(super) struct Stop {
    rx: oneshot::Receiver<()>,
    fired: bool,
}

impl Stop {
    pub(super) fn new(rx: oneshot::Receiver<()>) -> Self {
        Self { rx, fired: false }
    }

    /// Resolves once the broker is stopping (at once after the first time).
    async fn fired(&mut self) {
        if !self.fired {
            let _ = (&mut self.rx).await;
            self.fired = true; // a oneshot receiver must not be polled again
        }
    }
}

/// Cuts a connection's waits short when it goes idle or the broker stops.
struct Guard {
    idle: IdleTimer,
    stop: Stop,
}

impl Guard {
    /// Runs `f` to completion unless the connection is idle for too long first, or the
    /// broker stops. Shutdown is checked first, so a client whose requests are always ready
    /// cannot keep the connection reading.
    async fn run<F: Future>(&mut self, f: F) -> Result<F::Output, Close> {
        tokio::pin!(f);
        tokio::select! {
            biased;
            () = self.stop.fired() => Err(Close::Shutdown),
            () = self.idle.expired() => Err(Close::Idle),
            out = &mut f => Ok(out),
        }
    }
}

/// When a connection last read or wrote bytes.
struct Activity {
    epoch: Instant,
    /// Milliseconds since `epoch`.
    last_ms: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Self { epoch: Instant::now(), last_ms: AtomicU64::new(0) }
    }

    fn touch(&self) {
        self.last_ms.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let now = self.epoch.elapsed().as_millis() as u64;
        Duration::from_millis(now.saturating_sub(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// `connections.max.idle.ms`, measured on socket reads and writes as Kafka's selector does: a
/// consumer waiting in a long-poll, or a producer whose answers trickle out to it, is not idle.
struct IdleTimer {
    max: Option<Duration>,
    activity: Arc<Activity>,
    /// One timer per connection, pushed back when it fires early (rather than reset per
    /// byte): the reads and writes only store a timestamp.
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl IdleTimer {
    fn new(max: Option<Duration>, activity: Arc<Activity>) -> Self {
        let first = max.unwrap_or(Duration::from_secs(86_400));
        Self { max, activity, sleep: Box::pin(tokio::time::sleep(first)) }
    }

    /// Resolves once the connection has been idle for the limit (never without one).
    async fn expired(&mut self) {
        let Some(max) = self.max else {
            return std::future::pending().await;
        };
        loop {
            self.sleep.as_mut().await;
            let idle = self.activity.idle_for();
            if idle >= max {
                return;
            }
            self.sleep.as_mut().reset(tokio::time::Instant::now() + (max - idle));
        }
    }
}

/// A socket half that notes every successful read or write in its connection's [`Activity`].
struct Stamped<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Stamped<T> {
    fn new(inner: T, activity: &Arc<Activity>) -> Self {
        Self { inner, activity: activity.clone() }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Stamped<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Stamped<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A task that is aborted when its handle is dropped: the writer must not outlive its
/// connection (it could wait forever on a client that does not read).
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    /// A long wait whose answer is no longer wanted (its connection ended) is aborted, so it
    /// releases what it holds; other handler tasks run to completion.
    #[tokio::test]
    async fn dropping_a_long_wait_aborts_it_and_only_it() {
        let held = Arc::new(());
        let spawn = |held: Arc<()>, long_wait: bool| HandlerTask {
            long_wait,
            task: tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(200)).await;
                drop(held);
                Answer::Nothing
            }),
        };
        drop(spawn(held.clone(), true));
        drop(spawn(held.clone(), false));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(Arc::strong_count(&held), 2, "the long wait let go at once, the other still runs");
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(Arc::strong_count(&held), 1, "the other finished");
    }
}
