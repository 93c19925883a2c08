//! Throwaway databases: a PostgreSQL database per test, or a SQLite file in a temp dir.

use sea_orm::{ConnectionTrait, Database};

/// The local PostgreSQL server (override with `RESTANCE_TEST_PG_URL`, a URL to a database
/// the test may create databases from).
pub fn admin_url() -> String {
    std::env::var("RESTANCE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// The URL a service uses.
    pub url: String,
    name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// A fresh PostgreSQL database.
    pub async fn postgres() -> anyhow::Result<Self> {
        let name = format!(
            "restance_test_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..16]
        );
        let admin = Database::connect(admin_url())
            .await
            .map_err(|e| anyhow::anyhow!("cannot reach PostgreSQL ({e}); run `just services`"))?;
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        admin.close().await.ok();
        let base = admin_url();
        let url = match base.rsplit_once('/') {
            Some((prefix, _)) => format!("{prefix}/{name}"),
            None => anyhow::bail!("cannot derive a database URL from {base}"),
        };
        Ok(Self {
            url,
            name: Some(name),
            _dir: None,
        })
    }

    /// A fresh SQLite file.
    pub fn sqlite() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("service.db").display()
        );
        Ok(Self {
            url,
            name: None,
            _dir: Some(dir),
        })
    }

    /// Either kind by name (`postgres` | `sqlite`).
    pub async fn of_kind(kind: &str) -> anyhow::Result<Self> {
        match kind {
            "postgres" => Self::postgres().await,
            _ => Self::sqlite(),
        }
    }

    /// Drops a PostgreSQL database (call at the end of a test; SQLite files go with the dir).
    pub async fn drop_database(self) {
        if let Some(name) = &self.name
            && let Ok(admin) = Database::connect(admin_url()).await
        {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            admin.close().await.ok();
        }
    }
}
