//! Leases on the database's clock: one instance at a time holds a piece of work (the
//! tick, one person's mail) until its lease runs out or it lets go. A lease is one
//! conditional upsert, so taking it is atomic on SQLite and PostgreSQL alike, and the
//! instances' own clocks never enter into it.

use std::collections::HashSet;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};

use crate::{Store, StoreError};

/// The database's "now" in milliseconds since 1970: the one clock all instances share.
fn now_ms(backend: DbBackend) -> &'static str {
    match backend {
        // clock_timestamp(), not now(): now() is the start of the transaction.
        DbBackend::Postgres => "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT",
        _ => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    }
}

/// `$1, $2…` for PostgreSQL, `?` for SQLite.
pub(crate) fn params(backend: DbBackend, n: usize) -> Vec<String> {
    (1..=n)
        .map(|i| {
            if backend == DbBackend::Postgres {
                format!("${i}")
            } else {
                "?".to_owned()
            }
        })
        .collect()
}

impl Store {
    /// Takes (or renews) the lease `name` for `holder` for `ttl`, if nobody else holds
    /// it now. Says whether `holder` has it.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let backend = self.db.get_database_backend();
        let now = now_ms(backend);
        let p = params(backend, 3);
        let sql = format!(
            "INSERT INTO lease (name, holder, until_ms) VALUES ({}, {}, {now} + {}) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms \
             WHERE lease.holder = excluded.holder OR lease.until_ms < {now} \
             RETURNING name",
            p[0], p[1], p[2]
        );
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let values: [Value; 3] = [name.into(), holder.into(), ttl_ms.into()];
        let _turn = self.turn().await?;
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, values))
            .await?;
        Ok(row.is_some())
    }

    /// Takes (or renews) the leases `names` for `holder` for `ttl` in one statement, each
    /// only if nobody else holds it now. Says which `holder` has. The dispatcher claims a
    /// batch of recipients so, one round trip instead of one a person.
    pub async fn try_leases(
        &self,
        names: &[String],
        holder: &str,
        ttl: Duration,
    ) -> Result<HashSet<String>, StoreError> {
        let backend = self.db.get_database_backend();
        let now = now_ms(backend);
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let mut held = HashSet::new();
        let _turn = self.turn().await?;
        // In one order for every instance: an upsert locks its rows in the order given
        // (those it leaves alone too), and two instances claiming overlapping batches in
        // different orders would deadlock on PostgreSQL.
        let mut names = names.to_vec();
        names.sort_unstable();
        names.dedup();
        // Three values a row; well inside both databases' limits on bound values.
        for chunk in names.chunks(500) {
            let p = params(backend, chunk.len() * 3);
            let rows: Vec<String> = p
                .chunks(3)
                .map(|r| format!("({}, {}, {now} + {})", r[0], r[1], r[2]))
                .collect();
            let sql = format!(
                "INSERT INTO lease (name, holder, until_ms) VALUES {} \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms \
                 WHERE lease.holder = excluded.holder OR lease.until_ms < {now} \
                 RETURNING name",
                rows.join(", ")
            );
            let values: Vec<Value> = chunk
                .iter()
                .flat_map(|n| [n.as_str().into(), holder.into(), ttl_ms.into()])
                .collect();
            for row in self
                .db
                .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
                .await?
            {
                held.insert(row.try_get::<String>("", "name")?);
            }
        }
        Ok(held)
    }

    /// Lets go of the leases `names` that `holder` has, in one statement.
    pub async fn release_leases(&self, names: &[String], holder: &str) -> Result<(), StoreError> {
        let backend = self.db.get_database_backend();
        let _turn = self.turn().await?;
        for chunk in names.chunks(500) {
            let p = params(backend, chunk.len() + 1);
            let sql = format!(
                "DELETE FROM lease WHERE holder = {} AND name IN ({})",
                p[0],
                p[1..].join(", ")
            );
            let values: Vec<Value> = std::iter::once(holder.into())
                .chain(chunk.iter().map(|n| n.as_str().into()))
                .collect();
            self.db
                .execute_raw(Statement::from_sql_and_values(backend, sql, values))
                .await?;
        }
        Ok(())
    }

    /// Lets go of the lease `name` if `holder` has it.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let backend = self.db.get_database_backend();
        let p = params(backend, 2);
        let sql = format!(
            "DELETE FROM lease WHERE name = {} AND holder = {}",
            p[0], p[1]
        );
        let _turn = self.turn().await?;
        self.db
            .execute_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [name.into(), holder.into()],
            ))
            .await?;
        Ok(())
    }

    /// Who holds the lease `name` now, if anyone (for messages and tests).
    pub async fn lease_holder(&self, name: &str) -> Result<Option<String>, StoreError> {
        let backend = self.db.get_database_backend();
        let p = params(backend, 1);
        let sql = format!(
            "SELECT holder FROM lease WHERE name = {} AND until_ms >= {}",
            p[0],
            now_ms(backend)
        );
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(backend, sql, [name.into()]))
            .await?;
        Ok(row.map(|r| r.try_get("", "holder")).transpose()?)
    }
}
