//! A copy of the database to keep, made while the service runs, and its way back. On
//! SQLite the copy is SQLite's own `VACUUM INTO`: one read transaction, so the copy is
//! of one moment while others write on. On PostgreSQL the tool is `pg_dump`, of the
//! server's version. Each copy has a manifest: the schema it has, what it holds, and its
//! SHA-256, so a copy is known whole before it is restored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde::{Deserialize, Serialize};

use crate::{CurrentWheel, Location, Store, StoreError};

/// The tables a manifest counts: enough to see at a glance that a copy holds what the
/// database did.
pub const COUNTED: [&str; 9] = [
    "unit",
    "person",
    "unit_event",
    "milestone",
    "agreement",
    "correction",
    "outbox_item",
    "audit_log",
    "measurement",
];

/// What a copy holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupManifest {
    pub made_at: DateTime<Utc>,
    pub made_by: String,
    /// The last migration applied to the copy: its schema.
    pub schema: String,
    pub migrations: usize,
    /// Rows of each table in [`COUNTED`].
    pub counts: BTreeMap<String, u64>,
    pub bytes: u64,
    pub sha256: String,
}

/// What a backup came to.
#[derive(Debug, Clone)]
pub enum Backup {
    /// The SQLite copy, written, with its manifest.
    Copied(BackupManifest),
    /// On PostgreSQL: nothing written; `pg_dump` of this major version or newer makes it.
    PgDump { server_version: String },
}

/// A restored copy: the schema it came with and the migrations that brought it up to
/// date.
#[derive(Debug, Clone)]
pub struct Restored {
    pub schema_before: String,
    pub migrated: Vec<String>,
    /// Where the database that was there before went (never deleted).
    pub moved_aside: Option<PathBuf>,
}

/// The migrations applied to the database behind `db`, in order.
async fn applied(db: &impl ConnectionTrait) -> Result<Vec<String>, StoreError> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations ORDER BY version",
        ))
        .await?;
    rows.iter()
        .map(|r| r.try_get::<String>("", "version").map_err(Into::into))
        .collect()
}

async fn counts(db: &impl ConnectionTrait) -> Result<BTreeMap<String, u64>, StoreError> {
    let mut out = BTreeMap::new();
    for table in COUNTED {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await?;
        let n: i64 = match row {
            Some(r) => r.try_get("", "n")?,
            None => 0,
        };
        out.insert(table.to_owned(), u64::try_from(n).unwrap_or(0));
    }
    Ok(out)
}

/// The file at `path`: its size and SHA-256.
pub fn file_digest(path: &Path) -> std::io::Result<(u64, String)> {
    let bytes = std::fs::read(path)?;
    Ok((bytes.len() as u64, crate::sha256(&bytes)))
}

impl Store {
    /// A copy of the database at `to` (a file that must not exist yet), as of one moment
    /// while others write on, with its manifest; on PostgreSQL the server's version for
    /// `pg_dump` instead.
    pub async fn backup_to(
        &self,
        to: &Path,
        made_at: DateTime<Utc>,
        made_by: &str,
    ) -> Result<Backup, StoreError> {
        if self.backend() == DbBackend::Postgres {
            let row = self
                .db
                .query_one_raw(Statement::from_string(
                    DbBackend::Postgres,
                    "SHOW server_version",
                ))
                .await?;
            let server_version = match row {
                Some(r) => r.try_get::<String>("", "server_version")?,
                None => String::new(),
            };
            return Ok(Backup::PgDump { server_version });
        }
        if to.exists() {
            return Err(StoreError::Backup(format!(
                "{} exists: give a new file, so no copy is overwritten",
                to.display()
            )));
        }
        self.db
            .execute_raw(Statement::from_sql_and_values(
                DbBackend::Sqlite,
                "VACUUM INTO ?",
                [to.display().to_string().into()],
            ))
            .await?;
        // What the copy holds, read from the copy itself.
        let copy = sea_orm::Database::connect(format!("sqlite:{}", to.display())).await?;
        let migrations = applied(&copy).await?;
        let counts = counts(&copy).await?;
        copy.close().await?;
        let (bytes, sha256) = file_digest(to).map_err(|e| {
            StoreError::Backup(format!("the copy at {} cannot be read: {e}", to.display()))
        })?;
        Ok(Backup::Copied(BackupManifest {
            made_at,
            made_by: made_by.to_owned(),
            schema: migrations.last().cloned().unwrap_or_default(),
            migrations: migrations.len(),
            counts,
            bytes,
            sha256,
        }))
    }

    /// Puts the SQLite copy `from` in place as the database at `to`: checked against its
    /// manifest when one is given (size and SHA-256), refused when a newer hjul made it
    /// (migrations this one does not know), migrated when an older one did. The copy
    /// itself is left as it is; a database already at `to` is moved aside, never deleted.
    pub async fn restore_from(
        from: &Path,
        manifest: Option<&BackupManifest>,
        to: &Path,
        wheel: CurrentWheel,
        now: DateTime<Utc>,
    ) -> Result<(Store, Restored), StoreError> {
        if let Some(m) = manifest {
            let (bytes, sha256) = file_digest(from).map_err(|e| {
                StoreError::Backup(format!("{} cannot be read: {e}", from.display()))
            })?;
            if bytes != m.bytes || sha256 != m.sha256 {
                return Err(StoreError::Backup(format!(
                    "{} is not the copy its manifest describes ({bytes} bytes, SHA-256 {sha256}; the manifest says {} bytes, {}): it is damaged or another file",
                    from.display(),
                    m.bytes,
                    m.sha256
                )));
            }
        }
        // Worked on beside the target, then renamed into place in one step.
        let work = to.with_extension(format!("restoring-{}", now.format("%Y%m%dT%H%M%S")));
        std::fs::copy(from, &work).map_err(|e| {
            StoreError::Backup(format!(
                "{} cannot be copied to {}: {e}",
                from.display(),
                work.display()
            ))
        })?;
        let result = Self::bring_up(&work, wheel.clone()).await;
        let (schema_before, migrated) = match result {
            Ok(x) => x,
            Err(e) => {
                let _ = std::fs::remove_file(&work);
                remove_sides(&work);
                return Err(e);
            }
        };
        let moved_aside = if to.exists() {
            let aside =
                to.with_extension(format!("before-restore-{}", now.format("%Y%m%dT%H%M%S")));
            std::fs::rename(to, &aside).map_err(|e| {
                StoreError::Backup(format!("{} cannot be moved aside: {e}", to.display()))
            })?;
            // A database in WAL mode keeps its latest writes beside it: they go along.
            for side in ["-wal", "-shm"] {
                let from_side = PathBuf::from(format!("{}{side}", to.display()));
                if from_side.exists() {
                    let _ = std::fs::rename(&from_side, format!("{}{side}", aside.display()));
                }
            }
            Some(aside)
        } else {
            None
        };
        std::fs::rename(&work, to).map_err(|e| {
            StoreError::Backup(format!("the copy cannot be put at {}: {e}", to.display()))
        })?;
        let store = Store::open_current(&Location::Sqlite(to.to_path_buf()), wheel).await?;
        Ok((
            store,
            Restored {
                schema_before,
                migrated,
                moved_aside,
            },
        ))
    }

    /// The copy at `path`: refused if a newer hjul made it, else migrated. Its schema
    /// before, and what was applied.
    async fn bring_up(
        path: &Path,
        wheel: CurrentWheel,
    ) -> Result<(String, Vec<String>), StoreError> {
        let store = Store::open(&Location::Sqlite(path.to_path_buf()), wheel, false).await?;
        let before = applied(&store.db).await;
        // Closed whether or not it migrates: a copy refused (from a newer hjul, say) must
        // leave no working files beside the target.
        let migrated = match before {
            Ok(_) => store.migrate(|_, _| {}).await,
            Err(_) => Ok(Vec::new()),
        };
        store.close().await?;
        // The working copy's journal is folded in on close; nothing of it stays beside.
        remove_sides(path);
        Ok((before?.last().cloned().unwrap_or_default(), migrated?))
    }
}

/// Removes a SQLite file's journal beside it (`-wal`, `-shm`), if any.
fn remove_sides(path: &Path) {
    for side in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{side}", path.display()));
    }
}
