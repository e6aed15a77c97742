//! The TCP frontend: accepts connections within the connection limits, runs one task per
//! connection, and shuts down gracefully: stop accepting, let every connection answer what it
//! has read (bounded), then close the logs.

mod answered;
pub mod connection;
pub mod frame;
pub mod limits;
pub mod tls;
pub mod transport;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use crate::broker::Broker;
use crate::config::BrokerConfig;
use crate::topic::registry::LoadReport;
use limits::ConnectionLimits;

/// How long shutdown lets connections answer the requests they have read before closing them.
const DRAIN: Duration = Duration::from_secs(5);
/// Then how long it waits for handlers already running on the blocking pool (they cannot be
/// cancelled) before giving up on a clean close.
const STRAGGLERS: Duration = Duration::from_secs(2);

/// A running broker: its addresses and a way to stop it.
pub struct ServerHandle {
    /// The first listener's bound address.
    pub addr: SocketAddr,
    /// Every listener's name and bound address.
    pub listeners: Vec<(String, SocketAddr)>,
    pub broker: Arc<Broker>,
    pub load_report: LoadReport,
    limits: Arc<ConnectionLimits>,
    stop: watch::Sender<bool>,
    /// The accept loop; ends with whether every connection and handler finished.
    task: tokio::task::JoinHandle<bool>,
    /// `/metrics` and the health endpoints, if `metrics_listen` is set and could be bound.
    pub metrics: Option<crate::metrics::MetricsEndpoint>,
}

impl ServerHandle {
    /// Stops accepting; tells every connection to read no more requests and waits (up to
    /// [`DRAIN`]) for them to answer the ones they have, closing those still busy after that;
    /// then flushes and checkpoints the storage and marks the shutdown clean. If a handler
    /// is still running after that (a write stuck on the disk), the logs are left as they are
    /// for the next start to recover, and this returns an error.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        drop(self.metrics.take());
        let _ = self.stop.send(true);
        let finished = self.task.await.unwrap_or(false);
        if !finished {
            return Err(std::io::Error::other(
                "requests still running after the shutdown grace period; logs left for recovery at the next start",
            ));
        }
        let broker = self.broker.clone();
        tokio::task::spawn_blocking(move || broker.shutdown()).await.map_err(std::io::Error::other)?
    }

    /// Connections open now (each holds a slot in the connection limits).
    pub fn open_connections(&self) -> usize {
        self.limits.open()
    }
}

/// Binds the listeners, opens the broker and starts serving. A zero advertised port means
/// "the port we bound" (handy for tests and ephemeral ports).
pub async fn start(mut config: BrokerConfig) -> std::io::Result<ServerHandle> {
    // The first listener follows `listen` and the advertised address (what the single-listener
    // form and the tests set).
    let first = &mut config.listeners[0];
    first.bind = config.listen;
    first.advertised_host = config.advertised_host.clone();
    first.advertised_port = config.advertised_port;
    if config.listeners.iter().any(|l| l.protocol.uses_sasl()) && config.sasl.enabled.is_empty() {
        return Err(std::io::Error::other("SASL listeners need at least one of sasl.enabled.mechanisms"));
    }
    let tls = if config.listeners.iter().any(|l| l.protocol.uses_tls()) {
        Some(tls::ListenerTls::load(&config.tls).map_err(|e| std::io::Error::other(format!("TLS listener: {e}")))?)
    } else {
        None
    };
    let mut bound = Vec::with_capacity(config.listeners.len());
    for l in &mut config.listeners {
        let socket = if l.bind.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?; // as TcpListener::bind: rebind at once after a restart
        socket
            .bind(l.bind)
            .map_err(|e| std::io::Error::new(e.kind(), format!("listener {} on {}: {e}", l.name, l.bind)))?;
        let listener = socket.listen(config.socket_listen_backlog_size)?;
        l.bind = listener.local_addr()?;
        if l.advertised_port == 0 {
            l.advertised_port = l.bind.port() as i32;
        }
        bound.push(listener);
    }
    let addr = config.listeners[0].bind;
    config.listen = addr;
    config.advertised_port = config.listeners[0].advertised_port;
    let names = config.listeners.iter().map(|l| (l.name.clone(), l.bind)).collect();
    let specs: Vec<Arc<crate::config::listeners::Listener>> = config.listeners.iter().cloned().map(Arc::new).collect();
    let (broker, load_report) = {
        let config = config.clone();
        // Recovery does blocking file IO.
        tokio::task::block_in_place(|| Broker::open(config))?
    };
    let limits = broker.connection_limits.clone();
    let (stop, stopped) = watch::channel(false);
    let listeners: Vec<_> = bound.into_iter().zip(specs).collect();
    let task = tokio::spawn(accept_loop(listeners, tls, broker.clone(), limits.clone(), stopped));
    // A metrics port that cannot be bound does not keep the broker from serving clients.
    let metrics = match config.metrics_listen {
        Some(at) => match crate::metrics::serve(at, Arc::downgrade(&broker)).await {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::error!("metrics endpoint disabled: cannot bind {at}: {e}");
                None
            }
        },
        None => None,
    };
    Ok(ServerHandle { addr, listeners: names, broker, load_report, limits, stop, task, metrics })
}

/// Accepts until told to stop, then drains the connections. Returns whether every
/// connection and every handler it started has finished.
async fn accept_loop(
    listeners: Vec<(TcpListener, Arc<crate::config::listeners::Listener>)>,
    tls: Option<tls::ListenerTls>,
    broker: Arc<Broker>,
    limits: Arc<ConnectionLimits>,
    mut stop: watch::Receiver<bool>,
) -> bool {
    // One acceptor task per listener feeds the loop; they end (closing their sockets) when
    // the loop does.
    let (accepted_tx, mut accepted_rx) = mpsc::channel(64);
    let mut acceptors = JoinSet::new();
    for (listener, spec) in listeners {
        let tx = accepted_tx.clone();
        acceptors.spawn(async move {
            loop {
                let accepted = listener.accept().await;
                if tx.send((accepted, spec.clone())).await.is_err() {
                    return;
                }
            }
        });
    }
    drop(accepted_tx);
    // mini-redis' pattern: every connection's lane holds a clone of `open`; when `all_done`
    // yields None, every connection and every handler it started has finished.
    let (open, mut all_done) = mpsc::channel::<()>(1);
    let mut conns = JoinSet::new();
    // Each connection's own stop signal (dropping the sender stops it). Not one shared watch:
    // a connection polls its signal around every request, and waiting on a shared `Notify`
    // takes its lock on each poll, a lock every connection would share.
    let mut stops: HashMap<tokio::task::Id, oneshot::Sender<()>> = HashMap::new();
    loop {
        tokio::select! {
            biased;
            () = stopping(&mut stop) => break,
            Some(done) = conns.join_next_with_id(), if !conns.is_empty() => {
                stops.remove(&done.map_or_else(|e| e.id(), |(id, ())| id));
            }
            Some((accepted, spec)) = accepted_rx.recv() => match accepted {
                // Over a limit, the connection is accepted and closed at once rather than left
                // in the listen backlog as Kafka's acceptor does for max.connections: the
                // client learns now (and backs off) instead of waiting out its request
                // timeout, and the backlog does not fill with connections answered late.
                Ok((stream, peer)) => match limits.try_acquire(peer.ip()) {
                    Ok(slot) => {
                        let (stop_tx, stop_rx) = oneshot::channel();
                        let stop = connection::Stop::new(stop_rx);
                        let acceptor = tls.as_ref().and_then(|t| t.acceptor(spec.protocol));
                        let parts =
                            connection::ConnectionParts { broker: broker.clone(), stop, open: open.clone(), slot, listener: spec };
                        stops.insert(conns.spawn(connection::accept(stream, peer, parts, acceptor)).id(), stop_tx);
                    }
                    Err(why) => {
                        limits.log_refusal(peer, why);
                        drop(stream);
                    }
                },
                Err(e) => {
                    // Out of file descriptors, typically: wait for some to be released.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    acceptors.shutdown().await;
    drop(accepted_rx);
    drop(stops);
    drop(open);
    // The connections saw `stop` too: they read no more requests and answer those they have.
    if tokio::time::timeout(DRAIN, all_done.recv()).await.is_ok() {
        return true;
    }
    tracing::warn!(connections = conns.len(), "connections still answering after {DRAIN:?}: closing them");
    // Aborting waits for each task to stop, which a task blocked in a write to a failing
    // disk never does: bounded like the rest.
    let aborted = tokio::time::timeout(STRAGGLERS, conns.shutdown()).await.is_ok();
    let done = aborted && tokio::time::timeout(STRAGGLERS, all_done.recv()).await.is_ok();
    if !done {
        tracing::error!("handlers still running on the blocking pool after {STRAGGLERS:?}");
    }
    done
}

/// Resolves when shutdown begins: the flag turns true, or the handle was dropped.
async fn stopping(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
