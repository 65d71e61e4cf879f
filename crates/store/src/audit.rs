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

/// Which rows of the audit log to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Rows about these units.
    pub units: Option<Vec<String>>,
    /// Rows whose actor holds any of these (an address, a name).
    pub actors: Option<Vec<String>>,
    pub actions: Option<Vec<String>>,
    pub from: Option<chrono::NaiveDate>,
    pub to: Option<chrono::NaiveDate>,
    pub limit: u64,
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
        (reason, reason_da): (&str, Option<&str>),
    ) -> Result<(), StoreError> {
        #[derive(serde::Serialize)]
        struct Refused<'a> {
            attempted: &'a str,
            reason: &'a str,
            /// The reason in Danish too, when it was said to a person: the log's page
            /// shows it in the reader's language.
            #[serde(skip_serializing_if = "Option::is_none")]
            reason_da: Option<String>,
        }
        // Whatever was sent, the row stays small: the audit log is kept for good.
        let reason = hjul_wheel::limits::clip(reason, REFUSAL_CHARS);
        let reason_da = reason_da.map(|r| hjul_wheel::limits::clip(r, REFUSAL_CHARS));
        let entity_id = hjul_wheel::limits::clip(entity_id, 100);
        let _turn = self.turn().await?;
        log(
            &self.db,
            stamp,
            Change::new("refused", entity, entity_id).after(&Refused {
                attempted,
                reason: &reason,
                reason_da,
            }),
        )
        .await
    }

    /// The audit log, newest first, filtered: rows about a unit, rows by a person (their
    /// address in the actor), rows from and to a day (the municipality's).
    pub async fn audit_search(
        &self,
        unit: Option<&str>,
        person: Option<&str>,
        from: Option<chrono::NaiveDate>,
        to: Option<chrono::NaiveDate>,
        limit: u64,
    ) -> Result<Vec<audit_log::Model>, StoreError> {
        self.audit_where(&AuditFilter {
            units: unit.map(|u| vec![u.to_owned()]),
            actors: person.map(|p| vec![p.to_owned()]),
            actions: None,
            from,
            to,
            limit,
        })
        .await
    }

    /// The audit log rows `filter` names, newest first (at most 10,000).
    pub async fn audit_where(
        &self,
        filter: &AuditFilter,
    ) -> Result<Vec<audit_log::Model>, StoreError> {
        use sea_orm::{Condition, QuerySelect};
        let zone = self.wheel.definition.mail_time.zone;
        let start = |d: chrono::NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .and_then(|t| t.and_local_timezone(zone).earliest())
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        let mut q = audit_log::Entity::find();
        if let Some(units) = &filter.units {
            q = q
                .filter(audit_log::Column::Entity.eq("unit"))
                .filter(audit_log::Column::EntityId.is_in(units.iter().cloned()));
        }
        if let Some(actors) = &filter.actors {
            let mut any = Condition::any();
            for a in actors {
                any = any.add(audit_log::Column::Actor.contains(a.as_str()));
            }
            q = q.filter(any);
        }
        if let Some(actions) = &filter.actions {
            q = q.filter(audit_log::Column::Action.is_in(actions.iter().cloned()));
        }
        if let Some(t) = filter.from.and_then(start) {
            q = q.filter(audit_log::Column::At.gte(t));
        }
        if let Some(t) = filter.to.and_then(|d| d.succ_opt()).and_then(start) {
            q = q.filter(audit_log::Column::At.lt(t));
        }
        Ok(q.order_by_desc(audit_log::Column::Id)
            .limit(filter.limit.min(10_000))
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
