//! The log of reads (opslagslog): who looked at which unit's or person's data, when,
//! through which view, and with which terms. The core gathers the reads and hands them
//! here in batches after its answers; the secretariat reads them, and a person who asks
//! for access is told the dates and purposes of the reads of their data.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::entity::read_log;
pub use crate::entity::read_log::Model as ReadEntry;
use crate::facts::insert_chunked;
use crate::{Store, StoreError};

/// A read to put on record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRead {
    pub at: DateTime<Utc>,
    /// Who read, as the audit log names them.
    pub actor: String,
    pub actor_email: Option<String>,
    /// Which kind of view (`unit`, `status`, `export`, …).
    pub view: &'static str,
    pub unit_id: Option<String>,
    /// Whose data it was: the unit's leader when it was read.
    pub person_email: Option<String>,
    /// The terms of a search or filter, as JSON.
    pub terms: Option<String>,
}

/// Which reads to list: of units, of a person's data, by someone, between days (the
/// municipality's), newest first.
#[derive(Debug, Clone, Default)]
pub struct ReadFilter {
    pub units: Option<Vec<String>>,
    pub person: Option<String>,
    pub actor: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub limit: u64,
}

impl Store {
    /// Puts a batch of reads on record, in one transaction.
    pub async fn write_reads(&self, reads: &[NewRead]) -> Result<(), StoreError> {
        if reads.is_empty() {
            return Ok(());
        }
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            let rows = reads
                .iter()
                .map(|r| read_log::ActiveModel {
                    id: sea_orm::ActiveValue::Set(Uuid::now_v7()),
                    at: sea_orm::ActiveValue::Set(r.at),
                    actor: sea_orm::ActiveValue::Set(r.actor.clone()),
                    actor_email: sea_orm::ActiveValue::Set(r.actor_email.clone()),
                    view: sea_orm::ActiveValue::Set(r.view.to_owned()),
                    unit_id: sea_orm::ActiveValue::Set(r.unit_id.clone()),
                    person_email: sea_orm::ActiveValue::Set(r.person_email.clone()),
                    terms: sea_orm::ActiveValue::Set(r.terms.clone()),
                })
                .collect();
            insert_chunked::<read_log::Entity>(&txn, rows).await?;
            txn.commit().await?;
            Ok(())
        })
    }

    /// The reads on record that `filter` names, newest first (at most 10,000).
    pub async fn reads(&self, filter: &ReadFilter) -> Result<Vec<ReadEntry>, StoreError> {
        let zone = self.wheel.definition.mail_time.zone;
        let start = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .and_then(|t| t.and_local_timezone(zone).earliest())
                .map(|t| t.with_timezone(&Utc))
        };
        let mut q = read_log::Entity::find();
        if let Some(units) = &filter.units {
            q = q.filter(read_log::Column::UnitId.is_in(units.iter().cloned()));
        }
        if let Some(p) = &filter.person {
            q = q.filter(read_log::Column::PersonEmail.eq(p.as_str()));
        }
        if let Some(a) = &filter.actor {
            q = q.filter(read_log::Column::Actor.contains(a.as_str()));
        }
        if let Some(t) = filter.from.and_then(start) {
            q = q.filter(read_log::Column::At.gte(t));
        }
        if let Some(t) = filter.to.and_then(|d| d.succ_opt()).and_then(start) {
            q = q.filter(read_log::Column::At.lt(t));
        }
        Ok(q.order_by_desc(read_log::Column::At)
            .order_by_desc(read_log::Column::Id)
            .limit(filter.limit.clamp(1, 10_000))
            .all(&self.db)
            .await?)
    }
}
