//! argon2id off the async executor, on a bounded pool. Each run takes 19 MiB and tens of
//! milliseconds of one core; unbounded, a burst of first verifications would take every core
//! and the memory budget. `workers` run at once and at most `queue` more wait; past that a
//! caller is told the pool is saturated at once (503 with Retry-After), never left waiting.
//!
//! Work from a key that is over its failure budget (see `limits`) runs in the suspect lane:
//! one such run at a time in the whole process, none waiting, so a flood of wrong credentials
//! holds at most one worker and delays anyone else's verification by one run at most.

use portico_domain::secret;
use std::sync::{Arc, OnceLock};
use tokio::sync::Semaphore;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    Normal,
    /// The credentials come from a key over its failure budget.
    Suspect,
}

/// The pool could not take the work now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Saturated {
    #[error("the server is busy verifying credentials; retry in {retry_after_seconds} s")]
    Busy { retry_after_seconds: u64 },
    /// The suspect lane is taken: too many failed attempts from this caller.
    #[error("too many failed attempts; retry in {retry_after_seconds} s")]
    Suspect { retry_after_seconds: u64 },
}

pub struct ArgonPool {
    workers: Arc<Semaphore>,
    /// Workers plus queue places: a caller that gets none is refused.
    admission: Arc<Semaphore>,
    suspect: Arc<Semaphore>,
    /// Workers plus queue places, to tell how many are taken.
    capacity: usize,
    worker_count: usize,
}

impl ArgonPool {
    pub fn new(workers: usize, queue: usize) -> Self {
        let workers = workers.max(1);
        Self {
            workers: Arc::new(Semaphore::new(workers)),
            admission: Arc::new(Semaphore::new(workers + queue)),
            suspect: Arc::new(Semaphore::new(1)),
            capacity: workers + queue,
            worker_count: workers,
        }
    }

    /// Sets the pool's gauges (read when metrics are scraped): runs in progress and waiting.
    pub fn sample_metrics(&self) {
        let taken = self.capacity - self.admission.available_permits();
        let running = self.worker_count - self.workers.available_permits();
        metrics::gauge!("portico_argon2_running").set(running as f64);
        metrics::gauge!("portico_argon2_queued").set(taken.saturating_sub(running) as f64);
    }

    /// Runs `job` on a blocking thread when a worker is free. The permits travel with the job,
    /// so a caller that gives up (a client that disconnects) does not free a worker that is
    /// still computing.
    pub async fn run<T: Send + 'static>(
        &self,
        lane: Lane,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Saturated> {
        let answer = self.admit_and_run(lane, job).await;
        if answer.is_err() {
            metrics::counter!("portico_argon2_refused_total").increment(1);
        }
        answer
    }

    async fn admit_and_run<T: Send + 'static>(
        &self,
        lane: Lane,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Saturated> {
        let suspect =
            match lane {
                Lane::Normal => None,
                Lane::Suspect => Some(self.suspect.clone().try_acquire_owned().map_err(|_| {
                    Saturated::Suspect {
                        retry_after_seconds: 1,
                    }
                })?),
            };
        let admitted = self
            .admission
            .clone()
            .try_acquire_owned()
            .map_err(|_| Saturated::Busy {
                retry_after_seconds: 1,
            })?;
        let worker = self
            .workers
            .clone()
            .acquire_owned()
            .await
            .expect("the pool's semaphore is never closed");
        tokio::task::spawn_blocking(move || {
            let started = std::time::Instant::now();
            let out = job();
            drop((worker, admitted, suspect));
            metrics::histogram!("portico_argon2_duration_seconds")
                .record(started.elapsed().as_secs_f64());
            out
        })
        .await
        .map_err(|_| Saturated::Busy {
            retry_after_seconds: 1,
        })
    }

    /// Checks a secret against a PHC string.
    pub async fn verify(&self, lane: Lane, secret: String, phc: String) -> Result<bool, Saturated> {
        let matched = self
            .run(lane, move || secret::verify_secret(&secret, &phc))
            .await?;
        let outcome = if matched { "match" } else { "mismatch" };
        metrics::counter!("portico_argon2_operations_total", "operation" => "verify", "outcome" => outcome)
            .increment(1);
        Ok(matched)
    }

    /// Hashes a new secret or password.
    pub async fn hash(&self, secret: String) -> Result<String, Saturated> {
        let hash = self
            .run(Lane::Normal, move || secret::hash_secret(&secret))
            .await?;
        metrics::counter!("portico_argon2_operations_total", "operation" => "hash", "outcome" => "done")
            .increment(1);
        Ok(hash)
    }
}

impl From<Saturated> for portico_domain::DomainError {
    fn from(e: Saturated) -> Self {
        match e {
            Saturated::Busy {
                retry_after_seconds,
            } => Self::Unavailable {
                retry_after_seconds,
            },
            Saturated::Suspect {
                retry_after_seconds,
            } => Self::TooManyAttempts {
                retry_after_seconds,
            },
        }
    }
}

static POOL: OnceLock<ArgonPool> = OnceLock::new();

/// Sets the process's pool; the first call wins (the server calls it once at start).
pub fn configure(workers: usize, queue: usize) {
    if POOL.set(ArgonPool::new(workers, queue)).is_err() {
        tracing::debug!("the argon2 pool was configured already");
    }
}

/// The process's pool: one argon2 run per two cores, a queue of 16, unless configured.
pub fn pool() -> &'static ArgonPool {
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        ArgonPool::new(cores / 2, 16)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn slow() -> impl FnOnce() -> u8 + Send + 'static {
        || {
            std::thread::sleep(Duration::from_millis(200));
            1
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_pool_refuses_at_once() {
        let pool = Arc::new(ArgonPool::new(1, 1));
        let a = tokio::spawn({
            let p = pool.clone();
            async move { p.run(Lane::Normal, slow()).await }
        });
        let b = tokio::spawn({
            let p = pool.clone();
            async move { p.run(Lane::Normal, slow()).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // One running, one waiting: the third is refused without waiting.
        assert_eq!(
            pool.run(Lane::Normal, || 0u8).await,
            Err(Saturated::Busy {
                retry_after_seconds: 1
            })
        );
        assert_eq!(a.await.unwrap(), Ok(1));
        assert_eq!(b.await.unwrap(), Ok(1));
        assert_eq!(pool.run(Lane::Normal, || 2u8).await, Ok(2));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_suspect_at_a_time() {
        let pool = Arc::new(ArgonPool::new(2, 4));
        let first = tokio::spawn({
            let p = pool.clone();
            async move { p.run(Lane::Suspect, slow()).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(matches!(
            pool.run(Lane::Suspect, || 0u8).await,
            Err(Saturated::Suspect { .. })
        ));
        // Normal work still has a worker of its own.
        assert_eq!(pool.run(Lane::Normal, || 3u8).await, Ok(3));
        assert_eq!(first.await.unwrap(), Ok(1));
        assert_eq!(pool.run(Lane::Suspect, || 4u8).await, Ok(4));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_that_gives_up_keeps_the_worker_busy_until_the_job_ends() {
        let pool = Arc::new(ArgonPool::new(1, 0));
        let gave_up =
            tokio::time::timeout(Duration::from_millis(50), pool.run(Lane::Normal, slow())).await;
        assert!(gave_up.is_err());
        // The abandoned job still runs: the pool is full until it ends.
        assert!(pool.run(Lane::Normal, || 0u8).await.is_err());
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(pool.run(Lane::Normal, || 5u8).await, Ok(5));
    }
}
