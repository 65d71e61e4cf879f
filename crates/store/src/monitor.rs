//! What the monitoring asks the database at each scrape (`GET /metrics`): the outbox by
//! state, the due mail and its oldest, the leases held and the connection pool. Read
//! from the database rather than counted in the process, so every instance of a
//! PostgreSQL deployment reports the same queue.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Func};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QuerySelect, Statement,
};

use crate::entity::outbox_item::{self, State};
use crate::{Store, StoreError};

/// The database's part of the figures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Monitored {
    /// Outbox items by state key (`pending`, `sent`, …).
    pub mail: Vec<(String, u64)>,
    /// Pending items whose time has come, and when the oldest of them was due.
    pub due: u64,
    pub oldest_due_at: Option<DateTime<Utc>>,
    /// Leases held now by kind: the part of the name before `:` (`tick`, `mail`).
    pub leases: Vec<(String, u64)>,
    /// Connections of this process's pool: in use, idle, and at most.
    pub pool_in_use: u64,
    pub pool_idle: u64,
    pub pool_max: u64,
}

impl Store {
    /// The figures as the database holds them at `now`: three short queries, each on an
    /// index or a small table.
    pub async fn monitored(&self, now: DateTime<Utc>) -> Result<Monitored, StoreError> {
        let count = |c: outbox_item::Column| Expr::from(Func::count(Expr::col(c)));
        let mail: Vec<(String, i64)> = outbox_item::Entity::find()
            .select_only()
            .column(outbox_item::Column::State)
            .column_as(count(outbox_item::Column::Id), "n")
            .group_by(outbox_item::Column::State)
            .into_tuple()
            .all(&self.db)
            .await?;
        let (due, oldest): (i64, Option<DateTime<Utc>>) = outbox_item::Entity::find()
            .filter(outbox_item::Column::State.eq(State::Pending))
            .filter(outbox_item::Column::DueAt.lte(now))
            .select_only()
            .column_as(count(outbox_item::Column::Id), "n")
            .column_as(
                Expr::from(Func::min(Expr::col(outbox_item::Column::DueAt))),
                "oldest",
            )
            .into_tuple()
            .one(&self.db)
            .await?
            .unwrap_or_default();
        let backend = self.db.get_database_backend();
        let (kind, now_ms) = match backend {
            DbBackend::Postgres => (
                "split_part(name, ':', 1)",
                "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT",
            ),
            _ => (
                "CASE WHEN instr(name, ':') > 0 THEN substr(name, 1, instr(name, ':') - 1) ELSE name END",
                "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
            ),
        };
        let rows = self
            .db
            .query_all_raw(Statement::from_string(
                backend,
                format!(
                    "SELECT {kind} AS kind, COUNT(*) AS n FROM lease WHERE until_ms > {now_ms} GROUP BY 1"
                ),
            ))
            .await?;
        let mut leases = Vec::with_capacity(rows.len());
        for r in rows {
            leases.push((
                r.try_get::<String>("", "kind")?,
                unsigned(r.try_get::<i64>("", "n")?),
            ));
        }
        let (size, idle, max) = match backend {
            DbBackend::Postgres => {
                let p = self.db.get_postgres_connection_pool();
                (p.size(), p.num_idle(), p.options().get_max_connections())
            }
            _ => {
                let p = self.db.get_sqlite_connection_pool();
                (p.size(), p.num_idle(), p.options().get_max_connections())
            }
        };
        let idle = u64::try_from(idle).unwrap_or(u64::MAX);
        Ok(Monitored {
            mail: mail.into_iter().map(|(s, n)| (s, unsigned(n))).collect(),
            due: unsigned(due),
            oldest_due_at: oldest,
            leases,
            pool_in_use: u64::from(size).saturating_sub(idle),
            pool_idle: idle,
            pool_max: u64::from(max),
        })
    }
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
