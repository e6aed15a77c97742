//! Durability work: group commit for `sync` mode (one fsync round covers every request and
//! partition that arrived while the previous round ran) and the periodic background job
//! (interval flushes, flushing rolled segments, writing recovery checkpoints).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::Partition;

struct SyncRequest {
    partitions: Vec<Arc<Partition>>,
    done: oneshot::Sender<Result<(), String>>,
}

/// Handle to the group-commit task.
#[derive(Clone)]
pub struct GroupCommit {
    tx: mpsc::UnboundedSender<SyncRequest>,
}

impl GroupCommit {
    /// Starts the group-commit task on the current runtime.
    pub fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run_group_commit(rx));
        Self { tx }
    }

    /// Waits until everything appended to `partitions` so far is fsynced.
    pub async fn sync(&self, partitions: Vec<Arc<Partition>>) -> Result<(), String> {
        let (done, wait) = oneshot::channel();
        self.tx.send(SyncRequest { partitions, done }).map_err(|_| "broker is shutting down".to_string())?;
        wait.await.map_err(|_| "broker is shutting down".to_string())?
    }
}

async fn run_group_commit(mut rx: mpsc::UnboundedReceiver<SyncRequest>) {
    while let Some(first) = rx.recv().await {
        let mut round = vec![first];
        while let Ok(more) = rx.try_recv() {
            round.push(more);
        }
        // Each partition once per round, keyed by identity.
        let mut index: HashMap<usize, usize> = HashMap::new();
        let mut unique: Vec<Arc<Partition>> = Vec::new();
        for req in &round {
            for p in &req.partitions {
                index.entry(Arc::as_ptr(p) as usize).or_insert_with(|| {
                    unique.push(p.clone());
                    unique.len() - 1
                });
            }
        }
        let results = flush_batched(unique).await;
        for req in round {
            let failed = req
                .partitions
                .iter()
                .find_map(|p| index.get(&(Arc::as_ptr(p) as usize)).and_then(|&i| results[i].clone().err()));
            let _ = req.done.send(failed.map_or(Ok(()), Err));
        }
    }
}

/// Fsyncs a round's partitions on at most [`FLUSH_THREADS`] blocking threads (not one thread
/// hand-off per partition), returning one result per partition in order.
async fn flush_batched(parts: Vec<Arc<Partition>>) -> Vec<Result<(), String>> {
    let chunk = parts.len().div_ceil(FLUSH_THREADS).max(1);
    let handles: Vec<_> = parts
        .chunks(chunk)
        .map(|c| {
            let c = c.to_vec();
            tokio::task::spawn_blocking(move || {
                c.iter().map(|p| p.flush().map_err(|e| e.to_string())).collect::<Vec<_>>()
            })
        })
        .collect();
    let mut out = Vec::with_capacity(parts.len());
    for (h, c) in handles.into_iter().zip(parts.chunks(chunk)) {
        match h.await {
            Ok(r) => out.extend(r),
            Err(e) => out.extend(c.iter().map(|_| Err(format!("flush task failed: {e}")))),
        }
    }
    out
}

/// Blocking threads one group-commit round uses.
const FLUSH_THREADS: usize = 2;

/// Runs `f` on each partition on blocking threads, in parallel.
pub async fn flush_all(
    parts: Vec<Arc<Partition>>,
    f: fn(&Partition) -> std::io::Result<()>,
) -> Vec<Result<(), String>> {
    let handles: Vec<_> =
        parts.into_iter().map(|p| tokio::task::spawn_blocking(move || f(&p).map_err(|e| e.to_string()))).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.unwrap_or_else(|e| Err(format!("flush task failed: {e}"))));
    }
    out
}

/// How often the background job runs when no flush interval asks for more.
pub const DEFAULT_TICK: Duration = Duration::from_millis(1000);
