//! Retention: how long each kind of record is kept, and the job that deletes what is past
//! it, in bounded batches (each its own short transaction, so writers wait for no long
//! delete), with one audit row that says how much went.
//!
//! What may go is chosen so that nothing the wheel still runs on is lost: sent mail only
//! of cycles that have ended (the tick writes none for those again, so no mail is sent
//! twice), sessions only once ended or expired, drafts and indicator data only by age.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};
use serde::Serialize;

use crate::audit::{self, Change};
use crate::entity::{
    audit_log, audit_retention, draft, measurement, outbox_item, read_log, session,
};
use crate::{Stamp, Store, StoreError};

/// How many days each kind of record is kept (`[privacy]` in `hjul.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Retention {
    /// The log of reads.
    pub read_log_days: u32,
    /// The audit log of changes.
    pub audit_log_days: u32,
    /// Sessions, from when they ended or expired.
    pub sessions_days: u32,
    /// Mail sent (or given up) about cycles that have ended, and notes to the
    /// secretariat.
    pub mail_days: u32,
    /// Indicator data, from the start of the period it is about.
    pub data_days: u32,
    /// Drafts, from when they were last saved.
    pub drafts_days: u32,
    /// People who lead no active unit and stand in for none, from when they left:
    /// then anonymised (their name "Tidligere leder", their address a pseudonym).
    pub departed_days: u32,
}

impl Default for Retention {
    /// The defaults `docs/operations.md` states.
    fn default() -> Self {
        Self {
            read_log_days: 730,
            audit_log_days: 3650,
            sessions_days: 90,
            mail_days: 730,
            data_days: 3650,
            drafts_days: 365,
            departed_days: 365,
        }
    }
}

/// The fewest days a kind may be kept: mail younger than a month may still be
/// retried, and a log kept for less than that is no log.
pub const MIN_RETENTION_DAYS: u32 = 30;

/// How many records of each kind are past their time (or went).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RetentionCounts {
    pub read_log: u64,
    pub audit_log: u64,
    pub sessions: u64,
    pub mail: u64,
    pub data: u64,
    pub drafts: u64,
    /// People anonymised.
    pub departed: u64,
}

impl RetentionCounts {
    pub fn total(&self) -> u64 {
        self.read_log
            + self.audit_log
            + self.sessions
            + self.mail
            + self.data
            + self.drafts
            + self.departed
    }
}

/// Rows deleted per statement.
const BATCH: u64 = 1_000;

fn cutoff(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    now - chrono::Duration::days(i64::from(days))
}

impl Store {
    /// What is past its time at `now` under `r`, counted, nothing deleted.
    pub async fn retention_due(
        &self,
        r: &Retention,
        now: DateTime<Utc>,
        today: NaiveDate,
    ) -> Result<RetentionCounts, StoreError> {
        let ended = self.ended_cycles(today).await?;
        Ok(RetentionCounts {
            read_log: read_log::Entity::find()
                .filter(read_log::Column::At.lt(cutoff(now, r.read_log_days)))
                .count(&self.db)
                .await?,
            audit_log: audit_log::Entity::find()
                .filter(audit_log::Column::At.lt(cutoff(now, r.audit_log_days)))
                .count(&self.db)
                .await?,
            sessions: session::Entity::find()
                .filter(sessions_past(cutoff(now, r.sessions_days)))
                .count(&self.db)
                .await?,
            mail: outbox_item::Entity::find()
                .filter(mail_past(cutoff(now, r.mail_days), &ended))
                .count(&self.db)
                .await?
                + self
                    .sent_words_before(cutoff(now, r.mail_days), false)
                    .await?,
            data: measurement::Entity::find()
                .filter(measurement::Column::PeriodStart.lt(cutoff(now, r.data_days).date_naive()))
                .count(&self.db)
                .await?,
            drafts: draft::Entity::find()
                .filter(draft::Column::UpdatedAt.lt(cutoff(now, r.drafts_days)))
                .count(&self.db)
                .await?,
            departed: self
                .departed_before(cutoff(now, r.departed_days))
                .await?
                .len() as u64,
        })
    }

    /// Deletes what is past its time at `now` under `r`, in batches, and puts one row in
    /// the audit log with how much went (none when nothing did).
    pub async fn apply_retention(
        &self,
        r: &Retention,
        stamp: &Stamp,
    ) -> Result<RetentionCounts, StoreError> {
        let now = stamp.at;
        let ended = self.ended_cycles(stamp.today).await?;
        let mut gone = RetentionCounts::default();
        macro_rules! batches {
            ($entity:ident, $key:expr, $id:ty, $cond:expr) => {{
                let mut n = 0;
                loop {
                    let ids: Vec<$id> = $entity::Entity::find()
                        .select_only()
                        .column($key)
                        .filter($cond)
                        .limit(BATCH)
                        .into_tuple()
                        .all(&self.db)
                        .await?;
                    if ids.is_empty() {
                        break;
                    }
                    let (txn, _turn) = self.write().await?;
                    let deleted = $entity::Entity::delete_many()
                        .filter($key.is_in(ids.clone()))
                        .exec(&txn)
                        .await?
                        .rows_affected;
                    txn.commit().await?;
                    n += deleted;
                    if (ids.len() as u64) < BATCH {
                        break;
                    }
                }
                n
            }};
        }
        gone.read_log = batches!(
            read_log,
            read_log::Column::Id,
            uuid::Uuid,
            read_log::Column::At.lt(cutoff(now, r.read_log_days))
        );
        gone.audit_log = self.delete_old_audit(cutoff(now, r.audit_log_days)).await?;
        gone.sessions = batches!(
            session,
            session::Column::Id,
            String,
            sessions_past(cutoff(now, r.sessions_days))
        );
        gone.mail = batches!(
            outbox_item,
            outbox_item::Column::Id,
            outbox_item::ItemId,
            mail_past(cutoff(now, r.mail_days), &ended)
        ) + self
            .sent_words_before(cutoff(now, r.mail_days), true)
            .await?;
        gone.data = batches!(
            measurement,
            measurement::Column::Id,
            uuid::Uuid,
            measurement::Column::PeriodStart.lt(cutoff(now, r.data_days).date_naive())
        );
        gone.drafts = {
            let (txn, _turn) = self.write().await?;
            let n = draft::Entity::delete_many()
                .filter(draft::Column::UpdatedAt.lt(cutoff(now, r.drafts_days)))
                .exec(&txn)
                .await?
                .rows_affected;
            txn.commit().await?;
            n
        };
        // Each person in a transaction of their own; one who cannot be yet (mail still
        // waits to them) is left for another night.
        for email in self.departed_before(cutoff(now, r.departed_days)).await? {
            match self.anonymise(&email, stamp, true).await {
                Ok(_) => gone.departed += 1,
                // Counted as due, not as gone: `hjul privacy anonymise` says why.
                Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if gone.total() > 0 {
            let (txn, _turn) = self.write().await?;
            audit::log(
                &txn,
                stamp,
                Change::new("retention.apply", "retention", stamp.today.to_string())
                    .after(&serde_json::json!({ "deleted": gone, "kept_days": r })),
            )
            .await?;
            txn.commit().await?;
        }
        Ok(gone)
    }

    /// Deletes audit rows written before `before`, a batch to a transaction: each opens
    /// the database's window for them (`audit_retention`), deletes, and closes it again,
    /// so the audit log stays append-only to everything else.
    async fn delete_old_audit(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut n = 0;
        loop {
            let ids: Vec<uuid::Uuid> = audit_log::Entity::find()
                .select_only()
                .column(audit_log::Column::Id)
                .filter(audit_log::Column::At.lt(before))
                .limit(BATCH)
                .into_tuple()
                .all(&self.db)
                .await?;
            if ids.is_empty() {
                break;
            }
            let (txn, _turn) = self.write().await?;
            let window = audit_retention::ActiveModel {
                before_at: sea_orm::ActiveValue::Set(before),
            };
            audit_retention::Entity::insert(window).exec(&txn).await?;
            n += audit_log::Entity::delete_many()
                .filter(audit_log::Column::Id.is_in(ids.clone()))
                .exec(&txn)
                .await?
                .rows_affected;
            audit_retention::Entity::delete_many().exec(&txn).await?;
            txn.commit().await?;
            if (ids.len() as u64) < BATCH {
                break;
            }
        }
        Ok(n)
    }

    /// The words of mails sent before `before`: counted, or deleted. They go by age
    /// alone, also while their items are kept for a cycle not yet ended: the queue then
    /// says the words are no longer kept.
    async fn sent_words_before(
        &self,
        before: DateTime<Utc>,
        delete: bool,
    ) -> Result<u64, StoreError> {
        let backend = self.db.get_database_backend();
        let p = crate::lease::params(backend, 1);
        if !delete {
            let row = self
                .db
                .query_one_raw(sea_orm::Statement::from_sql_and_values(
                    backend,
                    format!(
                        "SELECT COUNT(*) AS n FROM sent_mail WHERE sent_at < {}",
                        p[0]
                    ),
                    [before.into()],
                ))
                .await?;
            let n: i64 = match row {
                Some(r) => r.try_get("", "n")?,
                None => 0,
            };
            return Ok(u64::try_from(n).unwrap_or(0));
        }
        let (txn, _turn) = self.write().await?;
        let n = txn
            .execute_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                format!("DELETE FROM sent_mail WHERE sent_at < {}", p[0]),
                [before.into()],
            ))
            .await?
            .rows_affected();
        txn.commit().await?;
        Ok(n)
    }

    /// The cycles on record whose last day has passed by `today`.
    async fn ended_cycles(&self, today: NaiveDate) -> Result<Vec<i32>, StoreError> {
        let def = &self.wheel.definition;
        Ok(crate::facts::recorded_years(&self.db)
            .await?
            .into_iter()
            .filter(|y| def.cycle(*y).is_ok_and(|p| p.cycle().ends() < today))
            .collect())
    }
}

/// Sessions ended or expired before `before`.
fn sessions_past(before: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(session::Column::EndedAt.lt(before))
        .add(session::Column::ExpiresAt.lt(before))
}

/// Mail no longer waiting (sent, given up, folded or void) written before `before`,
/// about a cycle that has ended, or about none (the secretariat's notes).
fn mail_past(before: DateTime<Utc>, ended: &[i32]) -> Condition {
    Condition::all()
        .add(outbox_item::Column::CreatedAt.lt(before))
        .add(outbox_item::Column::State.ne(outbox_item::State::Pending))
        .add(
            Condition::any()
                .add(outbox_item::Column::Cycle.is_null())
                .add(outbox_item::Column::Cycle.is_in(ended.iter().copied())),
        )
}
