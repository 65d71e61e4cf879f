//! The append-only audit log: who did what, when (UTC), with the record before and
//! after. Rows are written in the same transaction as the change they describe.

use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use crate::entity::audit_log;
use crate::{Stamp, Store, StoreError, json};

/// One change to be logged.
pub(crate) struct Change<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl<'a> Change<'a> {
    pub fn new(action: &'a str, entity: &'a str, entity_id: impl Into<String>) -> Self {
        Self {
            action,
            entity,
            entity_id: entity_id.into(),
            before: None,
            after: None,
        }
    }

    pub fn before(mut self, value: &impl serde::Serialize) -> Self {
        self.before = Some(json(value));
        self
    }

    pub fn after(mut self, value: &impl serde::Serialize) -> Self {
        self.after = Some(json(value));
        self
    }

    fn row(self, stamp: &Stamp) -> audit_log::ActiveModel {
        audit_log::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            at: Set(stamp.at),
            actor: Set(stamp.actor.clone()),
            action: Set(self.action.to_owned()),
            entity: Set(self.entity.to_owned()),
            entity_id: Set(self.entity_id),
            before: Set(self.before),
            after: Set(self.after),
        }
    }
}

/// Writes audit rows, many to a statement (a large import logs thousands).
pub(crate) async fn log_all(
    db: &impl ConnectionTrait,
    stamp: &Stamp,
    changes: Vec<Change<'_>>,
) -> Result<(), StoreError> {
    // Built before the first await: an iterator holding `stamp` across awaits makes the
    // future lose `Send` for callers generic over lifetimes (axum handlers).
    let mut rows: Vec<audit_log::ActiveModel> = Vec::with_capacity(changes.len());
    for c in changes {
        rows.push(c.row(stamp));
    }
    while !rows.is_empty() {
        let rest = rows.split_off(rows.len().min(500));
        let chunk = std::mem::replace(&mut rows, rest);
        audit_log::Entity::insert_many(chunk)
            .exec_without_returning(db)
            .await?;
    }
    Ok(())
}

pub(crate) async fn log(
    db: &impl ConnectionTrait,
    stamp: &Stamp,
    change: Change<'_>,
) -> Result<(), StoreError> {
    log_all(db, stamp, vec![change]).await
}

/// The most characters of a refusal's reason kept in the audit log.
pub const REFUSAL_CHARS: usize = 2_000;

impl Store {
    /// Records an attempt that was refused (no right, or the wheel's rules), with who
    /// tried and why; the reason is cut to [`REFUSAL_CHARS`].
    pub async fn audit_refusal(
        &self,
        stamp: &Stamp,
        attempted: &str,
        entity: &str,
        entity_id: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        #[derive(serde::Serialize)]
        struct Refused<'a> {
            attempted: &'a str,
            reason: &'a str,
        }
        // Whatever was sent, the row stays small: the audit log is kept for good.
        let reason = hjul_wheel::limits::clip(reason, REFUSAL_CHARS);
        let entity_id = hjul_wheel::limits::clip(entity_id, 100);
        let _turn = self.turn().await?;
        log(
            &self.db,
            stamp,
            Change::new("refused", entity, entity_id).after(&Refused {
                attempted,
                reason: &reason,
            }),
        )
        .await
    }

    /// The audit log, newest first, filtered: rows about a unit, rows by a person (their
    /// address in the actor), rows from and to a day (UTC).
    pub async fn audit_search(
        &self,
        unit: Option<&str>,
        person: Option<&str>,
        from: Option<chrono::NaiveDate>,
        to: Option<chrono::NaiveDate>,
        limit: u64,
    ) -> Result<Vec<audit_log::Model>, StoreError> {
        use sea_orm::QuerySelect;
        let mut q = audit_log::Entity::find();
        if let Some(u) = unit {
            q = q
                .filter(audit_log::Column::Entity.eq("unit"))
                .filter(audit_log::Column::EntityId.eq(u));
        }
        if let Some(p) = person {
            q = q.filter(audit_log::Column::Actor.contains(p));
        }
        if let Some(d) = from.and_then(|d| d.and_hms_opt(0, 0, 0)) {
            q = q.filter(audit_log::Column::At.gte(d.and_utc()));
        }
        if let Some(d) = to
            .and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
        {
            q = q.filter(audit_log::Column::At.lt(d.and_utc()));
        }
        Ok(q.order_by_desc(audit_log::Column::Id)
            .limit(limit.min(10_000))
            .all(&self.db)
            .await?)
    }

    /// The audit log, newest first, optionally for one entity.
    pub async fn audit_log(
        &self,
        entity: Option<(&str, &str)>,
        limit: u64,
    ) -> Result<Vec<audit_log::Model>, StoreError> {
        self.audit_log_where(entity.map(|e| e.0), entity.map(|e| e.1), limit)
            .await
    }

    /// The audit log, newest first: the rows of one kind of entity, of one id (say a
    /// unit's, whatever was done to it), of both, or all.
    pub async fn audit_log_where(
        &self,
        entity: Option<&str>,
        entity_id: Option<&str>,
        limit: u64,
    ) -> Result<Vec<audit_log::Model>, StoreError> {
        use sea_orm::QuerySelect;
        let mut q = audit_log::Entity::find();
        if let Some(entity) = entity {
            q = q.filter(audit_log::Column::Entity.eq(entity));
        }
        if let Some(id) = entity_id {
            q = q.filter(audit_log::Column::EntityId.eq(id));
        }
        Ok(q.order_by_desc(audit_log::Column::Id)
            .limit(limit.min(10_000))
            .all(&self.db)
            .await?)
    }
}
