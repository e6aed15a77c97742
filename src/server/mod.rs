//! The TCP frontend: accepts connections and runs one task per connection.

pub mod connection;
pub mod frame;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::broker::Broker;
use crate::config::BrokerConfig;
use crate::topic::registry::LoadReport;

/// A running broker: its address and a way to stop it.
pub struct ServerHandle {
    pub addr: SocketAddr,
    pub broker: Arc<Broker>,
    pub load_report: LoadReport,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    /// Stops accepting, then flushes and checkpoints the storage.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        let _ = self.task.await;
        let broker = self.broker.clone();
        tokio::task::spawn_blocking(move || broker.shutdown()).await.map_err(std::io::Error::other)?
    }
}

/// Binds the listener, opens the broker and starts serving. A zero advertised port means
/// "the port we bound" (handy for tests and ephemeral ports).
pub async fn start(mut config: BrokerConfig) -> std::io::Result<ServerHandle> {
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    if config.advertised_port == 0 {
        config.advertised_port = addr.port() as i32;
    }
    let (broker, load_report) = {
        let config = config.clone();
        // Recovery does blocking file IO.
        tokio::task::block_in_place(|| Broker::open(config))?
    };
    let (stop, mut stopped) = watch::channel(false);
    let b = broker.clone();
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let b = b.clone();
                        tokio::spawn(async move { connection::serve(stream, peer, b).await });
                    }
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                },
                _ = stopped.changed() => break,
            }
        }
    });
    Ok(ServerHandle { addr, broker, load_report, stop, task })
}
