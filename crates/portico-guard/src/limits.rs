//! Failure budgets shared by every node (the database holds each key's state), with a bounded
//! memory of keys this node saw over budget so a refused flood costs no query per request.
//!
//! Two kinds of key, so that no stranger can lock a partner out:
//! - **hard** keys are the caller's own (its source network): over budget, an attempt is
//!   refused before any argon2 work;
//! - **soft** keys are what the caller names (a client id, a login id), which anyone can name:
//!   over budget, an attempt is still verified, in the argon2 pool's suspect lane, so the right
//!   credentials still pass while a flood of wrong ones holds one worker at most.

use portico_domain::{DomainResult, FailureBudget, FailureKey, repo::FailureStore};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where an attempt stands before it is verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    Clear,
    /// A soft key is over budget: verify in the suspect lane; a failure answers 429.
    Suspect {
        retry_after_seconds: u64,
    },
    /// A hard key is over budget: refuse without verifying.
    Refused {
        retry_after_seconds: u64,
    },
}

impl Standing {
    /// The argon2 lane a verification in this standing runs in, or the seconds to wait when it
    /// must not run at all.
    pub fn lane(self) -> Result<crate::Lane, u64> {
        match self {
            Standing::Clear => Ok(crate::Lane::Normal),
            Standing::Suspect { .. } => Ok(crate::Lane::Suspect),
            Standing::Refused {
                retry_after_seconds,
            } => Err(retry_after_seconds),
        }
    }
}

/// How many over-budget keys a node remembers. Past it nothing is added, and the database
/// answers for the rest: forgetting costs a query, never a refusal.
const REMEMBERED: usize = 10_000;

pub struct Limiter {
    store: Arc<dyn FailureStore>,
    over: Mutex<HashMap<String, i64>>,
}

impl Limiter {
    pub fn new(store: Arc<dyn FailureStore>) -> Self {
        Self {
            store,
            over: Mutex::new(HashMap::new()),
        }
    }

    /// This node's memory of `key`, if it is over budget now.
    fn remembered(&self, key: &str, budget: FailureBudget, now_ms: i64) -> Option<u64> {
        let mut over = self.over.lock().expect("limiter lock");
        let state = *over.get(key)?;
        let retry = budget.retry_after(Some(state), now_ms);
        if retry.is_none() {
            over.remove(key);
        }
        retry
    }

    fn remember(&self, key: String, state: i64) {
        let mut over = self.over.lock().expect("limiter lock");
        if over.len() < REMEMBERED || over.contains_key(&key) {
            over.insert(key, state);
        }
    }

    /// Where an attempt by `hard` naming `soft` stands. One query, unless this node already
    /// knows a hard key is over budget.
    pub async fn standing(
        &self,
        hard: &[FailureKey],
        soft: &[FailureKey],
        budget: FailureBudget,
        now_ms: i64,
    ) -> DomainResult<Standing> {
        let hard: Vec<String> = hard.iter().map(FailureKey::as_key).collect();
        let soft: Vec<String> = soft.iter().map(FailureKey::as_key).collect();
        if let Some(retry) = hard
            .iter()
            .filter_map(|k| self.remembered(k, budget, now_ms))
            .max()
        {
            refused(&hard);
            return Ok(Standing::Refused {
                retry_after_seconds: retry,
            });
        }
        let keys: Vec<String> = hard.iter().chain(&soft).cloned().collect();
        let states = self.store.failure_states(&keys).await?;
        let mut standing = Standing::Clear;
        for (i, (key, state)) in keys.iter().zip(states).enumerate() {
            let Some(retry) = budget.retry_after(state, now_ms) else {
                continue;
            };
            if let Some(s) = state {
                self.remember(key.clone(), s);
            }
            standing = match (standing, i < hard.len()) {
                (
                    Standing::Refused {
                        retry_after_seconds,
                    },
                    _,
                ) => Standing::Refused {
                    retry_after_seconds: retry_after_seconds.max(retry),
                },
                (_, true) => Standing::Refused {
                    retry_after_seconds: retry,
                },
                (
                    Standing::Suspect {
                        retry_after_seconds,
                    },
                    false,
                ) => Standing::Suspect {
                    retry_after_seconds: retry_after_seconds.max(retry),
                },
                (Standing::Clear, false) => Standing::Suspect {
                    retry_after_seconds: retry,
                },
            };
        }
        if matches!(standing, Standing::Refused { .. }) {
            refused(&hard);
        }
        Ok(standing)
    }

    /// Counts one failure against each key.
    pub async fn failed(
        &self,
        keys: &[FailureKey],
        budget: FailureBudget,
        now_ms: i64,
    ) -> DomainResult<()> {
        for key in keys {
            let key = key.as_key();
            let state = self.store.record_failure(&key, budget, now_ms).await?;
            if budget.retry_after(Some(state), now_ms).is_some() {
                self.remember(key, state);
            }
        }
        Ok(())
    }

    /// Drops memories of keys back within budget, and the stored keys whose budget is whole.
    pub async fn purge(&self, now_ms: i64) -> DomainResult<u64> {
        self.over
            .lock()
            .expect("limiter lock")
            .retain(|_, state| *state > now_ms);
        self.store.purge_failures(now_ms).await
    }
}

/// Counts a refusal under the kind of its keys (`client-src`, `login-src`, `signup-src`...).
fn refused(hard: &[String]) {
    let kind = hard
        .first()
        .and_then(|k| k.split(':').next())
        .map_or_else(|| "other".to_owned(), str::to_owned);
    metrics::counter!("portico_rate_limit_refusals_total", "key" => kind).increment(1);
}

/// Milliseconds since the epoch, the unit of failure budgets.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_domain::AppId;

    async fn store() -> Arc<portico_store::Store> {
        let store = portico_store::Store::connect("sqlite::memory:", 1)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        Arc::new(store)
    }

    async fn limiter() -> Limiter {
        Limiter::new(store().await)
    }

    #[tokio::test]
    async fn hard_keys_refuse_soft_keys_suspect() {
        let l = limiter().await;
        let budget = FailureBudget::new(2, 6);
        let addr = FailureKey::client_source("192.0.2.1".parse().unwrap());
        let other = FailureKey::client_source("192.0.2.2".parse().unwrap());
        let client = FailureKey::Client(AppId::new());
        let now = 1_000_000;
        assert_eq!(
            l.standing(
                std::slice::from_ref(&addr),
                std::slice::from_ref(&client),
                budget,
                now
            )
            .await
            .unwrap(),
            Standing::Clear
        );
        for _ in 0..2 {
            l.failed(&[addr.clone(), client.clone()], budget, now)
                .await
                .unwrap();
        }
        assert_eq!(
            l.standing(
                std::slice::from_ref(&addr),
                std::slice::from_ref(&client),
                budget,
                now
            )
            .await
            .unwrap(),
            Standing::Refused {
                retry_after_seconds: 10
            }
        );
        // Another caller naming the same client is not refused: it is verified as a suspect.
        assert_eq!(
            l.standing(
                std::slice::from_ref(&other),
                std::slice::from_ref(&client),
                budget,
                now
            )
            .await
            .unwrap(),
            Standing::Suspect {
                retry_after_seconds: 10
            }
        );
        // Time gives the budget back.
        assert_eq!(
            l.standing(&[addr], &[client], budget, now + 10_000)
                .await
                .unwrap(),
            Standing::Clear
        );
    }

    #[tokio::test]
    async fn a_refusal_survives_a_new_limiter_on_the_same_store() {
        let store = store().await;
        let budget = FailureBudget::new(1, 1);
        let key = FailureKey::sign_in_source("198.51.100.9".parse().unwrap());
        Limiter::new(store.clone())
            .failed(std::slice::from_ref(&key), budget, 0)
            .await
            .unwrap();
        // A restarted node (a fresh limiter, nothing in memory) reads it from the store.
        let fresh = Limiter::new(store);
        assert!(matches!(
            fresh.standing(&[key], &[], budget, 1).await.unwrap(),
            Standing::Refused { .. }
        ));
    }
}
