//! When the scheduler must next look at a unit: kept on its standing row, so the steady
//! tick reads the units that changed or whose mail moment has come, not every event of
//! the cycle each minute.
//!
//! - Every rewrite of a row (each change that moves the unit's standing) empties its
//!   `mail_at`, which means "look now", and gives it a new random `revision`.
//! - The tick reads the rows to look at (with their revision) *before* it reads the
//!   units' facts, decides their mail, and in the transaction that writes the mail keeps
//!   each unit's next mail moment, but only where the row still has the revision it read.
//!   A change committed while the tick worked left a new revision and an empty `mail_at`,
//!   so the next tick looks at that unit again: no change is lost between two ticks, on
//!   one database or several instances.

use chrono::{DateTime, TimeZone, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::entity::unit_standing;
use crate::{Store, StoreError};

/// Kept for a unit with no mail moment left (every deadline met): never due.
fn never() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// A unit's row as the tick found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub unit_id: String,
    pub revision: i64,
    /// The moment kept; `None`: the row changed since the tick last looked.
    pub mail_at: Option<DateTime<Utc>>,
}

impl Watched {
    /// Whether the row already keeps `next` (the tick need not write it again).
    pub fn keeps(&self, next: Option<DateTime<Utc>>) -> bool {
        self.mail_at == Some(next.unwrap_or_else(never))
    }
}

/// What the tick found a unit's next mail moment to be, for the rewrite it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Looked {
    pub cycle: i32,
    pub unit_id: String,
    pub revision: i64,
    /// `None`: no moment is left.
    pub next: Option<DateTime<Utc>>,
}

impl Store {
    /// The rows of cycle `year` the tick is to look at by `now`: changed since it last
    /// looked, or with a moment that has come. With `None`, every row.
    pub async fn watched(
        &self,
        year: i32,
        now: Option<DateTime<Utc>>,
    ) -> Result<Vec<Watched>, StoreError> {
        let mut query = unit_standing::Entity::find()
            .select_only()
            .columns([
                unit_standing::Column::UnitId,
                unit_standing::Column::Revision,
                unit_standing::Column::MailAt,
            ])
            .filter(unit_standing::Column::Cycle.eq(year));
        if let Some(now) = now {
            // Both arms use the index on (cycle, mail_at).
            query = query.filter(
                Condition::any()
                    .add(unit_standing::Column::MailAt.is_null())
                    .add(unit_standing::Column::MailAt.lte(now)),
            );
        }
        let rows: Vec<(String, i64, Option<DateTime<Utc>>)> =
            query.into_tuple().all(&self.db).await?;
        Ok(rows
            .into_iter()
            .map(|(unit_id, revision, mail_at)| Watched {
                unit_id,
                revision,
                mail_at,
            })
            .collect())
    }

    /// Builds the standing rows of `ids` in cycle `year`, which have none (a repair: the
    /// tick found active units without a row, which only a migration cut short leaves).
    pub async fn build_standing(&self, year: i32, ids: &[String]) -> Result<usize, StoreError> {
        let (txn, _turn) = self.write().await?;
        let written =
            crate::standing::refresh(&txn, year, crate::standing::Which::Units(ids)).await?;
        txn.commit().await?;
        Ok(written)
    }
}

/// Keeps each unit's next moment where its row is still the rewrite the tick read; in
/// the tick's transaction. Units that share a moment and a rewrite are one statement.
pub(crate) async fn record_looked(
    db: &impl ConnectionTrait,
    looked: &[Looked],
) -> Result<(), StoreError> {
    let mut groups: std::collections::BTreeMap<(i32, i64, DateTime<Utc>), Vec<&str>> =
        std::collections::BTreeMap::new();
    for l in looked {
        groups
            .entry((l.cycle, l.revision, l.next.unwrap_or_else(never)))
            .or_default()
            .push(&l.unit_id);
    }
    for ((cycle, revision, at), ids) in groups {
        for chunk in ids.chunks(500) {
            unit_standing::Entity::update_many()
                .col_expr(unit_standing::Column::MailAt, Expr::value(at))
                .filter(unit_standing::Column::Cycle.eq(cycle))
                .filter(unit_standing::Column::Revision.eq(revision))
                .filter(unit_standing::Column::UnitId.is_in(chunk.iter().copied()))
                .exec(db)
                .await?;
        }
    }
    Ok(())
}
