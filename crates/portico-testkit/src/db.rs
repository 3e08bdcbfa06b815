//! A database made for one test: a SQLite file in a temporary directory (or SQLite in memory),
//! or a new PostgreSQL database on the server `PORTICO_TEST_DATABASE_URL` names.

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// `PORTICO_TEST_DATABASE_URL`, when set: a PostgreSQL server where tests may create databases.
pub fn postgres_url() -> Option<String> {
    std::env::var("PORTICO_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

/// [`postgres_url`], or None after [`crate::skip_or_fail`] (which panics under `CI=true`).
#[track_caller]
pub fn require_postgres() -> Option<String> {
    let url = postgres_url();
    if url.is_none() {
        crate::skip_or_fail("PORTICO_TEST_DATABASE_URL is not set: this test needs PostgreSQL");
    }
    url
}

/// A database made for one test. The SQLite directory goes when this is dropped; a PostgreSQL
/// database goes with [`TestDatabase::remove`], or else at the next run (see
/// `drop_stale_databases`).
pub struct TestDatabase {
    pub url: String,
    dir: Option<PathBuf>,
    postgres_name: Option<String>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl TestDatabase {
    /// `sqlite::memory:`: nothing on disk (one connection sees it; use a pool of one).
    pub fn in_memory() -> Self {
        Self {
            url: "sqlite::memory:".into(),
            dir: None,
            postgres_name: None,
        }
    }

    /// Removes the database now; call it once every connection to it is closed. A PostgreSQL
    /// database is dropped even if a connection was left open.
    pub async fn remove(mut self) {
        if let Some(name) = self.postgres_name.take() {
            let admin = connect_admin().await;
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await
                .expect("drop the test database");
            admin.close().await.ok();
        }
    }
}

async fn connect_admin() -> DatabaseConnection {
    let admin_url = postgres_url().expect("PORTICO_TEST_DATABASE_URL");
    Database::connect(&admin_url)
        .await
        .expect("connect to PostgreSQL")
}

/// A fresh, empty database for `backend`: a SQLite file in its own temporary directory, or a
/// new database on the `PORTICO_TEST_DATABASE_URL` server.
pub async fn test_database(backend: Backend) -> TestDatabase {
    let name = format!("portico_test_{}", uuid::Uuid::new_v4().simple());
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(&name);
            std::fs::create_dir_all(&dir).unwrap();
            TestDatabase {
                url: format!("sqlite://{}/portico.db", dir.display()),
                dir: Some(dir),
                postgres_name: None,
            }
        }
        Backend::Postgres => {
            let admin_url = postgres_url().expect("PORTICO_TEST_DATABASE_URL");
            let admin = connect_admin().await;
            drop_stale_databases(&admin).await;
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let (base, _) = admin_url
                .rsplit_once('/')
                .expect("a database URL ends in /<db>");
            TestDatabase {
                url: format!("{base}/{name}"),
                dir: None,
                postgres_name: Some(name),
            }
        }
    }
}

/// Earlier runs' databases: dropped when no longer in use (a running test's is, and stays).
async fn drop_stale_databases(admin: &DatabaseConnection) {
    static ONCE: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    ONCE.get_or_init(|| async {
        let rows = admin
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                "SELECT datname FROM pg_database WHERE datname LIKE 'portico_test_%'",
            ))
            .await
            .unwrap_or_default();
        for row in rows {
            if let Ok(name) = row.try_get::<String>("", "datname") {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                    .await;
            }
        }
    })
    .await;
}
