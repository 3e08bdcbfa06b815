//! Failure budgets: one upsert per counted failure, read by every node.

use crate::{Store, storage};
use async_trait::async_trait;
use portico_domain::{DomainResult, FailureBudget, repo::FailureStore};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

/// The new state is computed in the statement, so concurrent failures on several nodes all
/// count (no read-modify-write race).
const RECORD_PG: &str = "INSERT INTO failure_budgets (\"key\", state) VALUES ($1, $2) \
    ON CONFLICT (\"key\") DO UPDATE SET state = GREATEST(failure_budgets.state, $3) + $4 \
    RETURNING state";
const RECORD_SQLITE: &str = "INSERT INTO failure_budgets (\"key\", state) VALUES (?, ?) \
    ON CONFLICT (\"key\") DO UPDATE SET state = max(failure_budgets.state, ?) + ? \
    RETURNING state";

#[async_trait]
impl FailureStore for Store {
    async fn record_failure(
        &self,
        key: &str,
        budget: FailureBudget,
        now_ms: i64,
    ) -> DomainResult<i64> {
        let backend = self.backend();
        let sql = if backend == DbBackend::Postgres {
            RECORD_PG
        } else {
            RECORD_SQLITE
        };
        let values: [Value; 4] = [
            key.into(),
            budget.after_failure(None, now_ms).into(),
            now_ms.into(),
            budget.interval_ms.into(),
        ];
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .map_err(storage)?
            .ok_or_else(|| portico_domain::DomainError::storage("the upsert returned no row"))?;
        row.try_get_by_index::<i64>(0).map_err(storage)
    }

    async fn failure_states(&self, keys: &[String]) -> DomainResult<Vec<Option<i64>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let backend = self.backend();
        let placeholders: Vec<String> = (1..=keys.len())
            .map(|i| {
                if backend == DbBackend::Postgres {
                    format!("${i}")
                } else {
                    "?".to_owned()
                }
            })
            .collect();
        let sql = format!(
            "SELECT \"key\", state FROM failure_budgets WHERE \"key\" IN ({})",
            placeholders.join(", ")
        );
        let values: Vec<Value> = keys.iter().map(|k| k.as_str().into()).collect();
        let rows = self
            .db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
            .await
            .map_err(storage)?;
        let mut found = std::collections::HashMap::with_capacity(rows.len());
        for row in rows {
            let key: String = row.try_get_by_index(0).map_err(storage)?;
            let state: i64 = row.try_get_by_index(1).map_err(storage)?;
            found.insert(key, state);
        }
        Ok(keys.iter().map(|k| found.get(k).copied()).collect())
    }

    async fn purge_failures(&self, now_ms: i64) -> DomainResult<u64> {
        let backend = self.backend();
        let sql = if backend == DbBackend::Postgres {
            "DELETE FROM failure_budgets WHERE state < $1"
        } else {
            "DELETE FROM failure_budgets WHERE state < ?"
        };
        Ok(self
            .db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [now_ms.into()],
            ))
            .await
            .map_err(storage)?
            .rows_affected())
    }
}
