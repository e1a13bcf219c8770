//! Group commit: many sessions' acceptances written in one transaction.
//!
//! Sessions send their `Commit` and wait. The committer takes everything that is waiting,
//! writes it in one transaction (one fsync), answers each session, and repeats; while one
//! transaction is on its way to disk the next batch gathers. Under load, N concurrent
//! sessions pay for about one fsync, not N.

use hermod_store::{Commit, Store};
use tokio::sync::{mpsc, oneshot};

const MAX_BATCH: usize = 256;

type Job = (Commit, oneshot::Sender<Result<(), String>>);

#[derive(Clone)]
pub struct Committer {
    tx: mpsc::Sender<Job>,
}

impl Committer {
    pub fn start(store: Store) -> Committer {
        let (tx, mut rx) = mpsc::channel::<Job>(4096);
        tokio::spawn(async move {
            let mut jobs: Vec<Job> = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut jobs, MAX_BATCH).await > 0 {
                // Move the commits out rather than copy them: this loop is the hot path.
                let (commits, replies): (Vec<Commit>, Vec<_>) = jobs.drain(..).unzip();
                let results = store.commit_batch(&commits).await;
                if commits.len() > 1 {
                    tracing::debug!(batch = commits.len(), "group commit");
                }
                for (reply, result) in replies.into_iter().zip(results) {
                    let _ = reply.send(result.map_err(|e| e.to_string()));
                }
            }
        });
        Committer { tx }
    }

    /// Commits durably; returns once the transaction is on disk.
    pub async fn commit(&self, commit: Commit) -> Result<(), String> {
        let (reply, wait) = oneshot::channel();
        self.tx
            .send((commit, reply))
            .await
            .map_err(|_| "the committer has stopped".to_string())?;
        wait.await
            .map_err(|_| "the committer has stopped".to_string())?
    }
}
