//! The append-only audit log: who did what, when (UTC), with the record before and
//! after. Rows are written in the same transaction as the change they describe.

use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use crate::entity::audit_log;
use crate::{Stamp, StoreError, json};

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
