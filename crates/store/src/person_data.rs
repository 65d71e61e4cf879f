//! Everything hjul holds about one person, for their access request: who they are, the
//! units they lead and stand in for, what they did (the audit rows they are the actor
//! of) and the rows that name them, the mails sent to them, their tokens and sign-ins,
//! and when their data was read and through which view (not by whom, as Datatilsynet's
//! decision allows).

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;

use crate::entity::{api_token, audit_log, deputy, outbox_item, person, read_log, session, unit};
use crate::{Store, StoreError};

/// One row of the audit log, as the export shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedChange {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// A mail sent (or tried) to the person, one row per item it carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailSent {
    pub at: Option<DateTime<Utc>>,
    pub kind: String,
    pub state: String,
    pub cycle: Option<i32>,
    pub unit_id: Option<String>,
    pub deadline: Option<String>,
    pub due: Option<chrono::NaiveDate>,
}

/// A read of the person's data: when, and the kind of view (the purpose).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadOfData {
    pub at: DateTime<Utc>,
    pub view: String,
    pub unit_id: Option<String>,
}

/// Everything on record about one person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonData {
    pub email: String,
    /// As the organisation file names them (none: not in it).
    pub name: Option<String>,
    pub language: Option<String>,
    /// The units they lead now (id, name, active).
    pub units_led: Vec<(String, String, bool)>,
    /// Their deputyships: unit, from, to, named by, ended.
    pub deputyships: Vec<serde_json::Value>,
    /// What they did.
    pub their_actions: Vec<LoggedChange>,
    /// Rows written by others that name them (their person, a unit they led, a
    /// deputyship, a token).
    pub rows_naming_them: Vec<LoggedChange>,
    pub mails: Vec<MailSent>,
    /// Their tokens: made, revoked, the role (never the token).
    pub tokens: Vec<serde_json::Value>,
    /// Their sign-ins: opened, last seen, ended or expired.
    pub sessions: Vec<serde_json::Value>,
    pub reads_of_their_data: Vec<ReadOfData>,
}

fn change(r: audit_log::Model) -> LoggedChange {
    let json = |t: Option<String>| t.and_then(|t| serde_json::from_str(&t).ok());
    LoggedChange {
        at: r.at,
        actor: r.actor,
        action: r.action,
        entity: r.entity,
        entity_id: r.entity_id,
        before: json(r.before),
        after: json(r.after),
    }
}

impl Store {
    /// Everything on record about the person at `email` (lower case, as kept).
    pub async fn person_data(&self, email: &str) -> Result<PersonData, StoreError> {
        let db = &self.db;
        let p = person::Entity::find()
            .filter(person::Column::Email.eq(email))
            .one(db)
            .await?;
        let units_led = match &p {
            Some(p) => unit::Entity::find()
                .filter(unit::Column::LeaderId.eq(p.id))
                .order_by_asc(unit::Column::Id)
                .all(db)
                .await?
                .into_iter()
                .map(|u| (u.id, u.name, u.active))
                .collect(),
            None => Vec::new(),
        };
        let deputyships = deputy::Entity::find()
            .filter(deputy::Column::Email.eq(email))
            .order_by_asc(deputy::Column::NamedAt)
            .all(db)
            .await?
            .into_iter()
            .map(|d| {
                serde_json::json!({
                    "unit_id": d.unit_id, "starts_on": d.starts_on, "ends_on": d.ends_on,
                    "named_at": d.named_at, "named_by": d.named_by, "ended_at": d.ended_at,
                })
            })
            .collect();
        // Their own actions name them in the actor (`api:EMAIL`, `oidc:EMAIL`, a
        // deputy's stamp); others' rows name them in what changed.
        let their_actions = audit_log::Entity::find()
            .filter(audit_log::Column::Actor.contains(email))
            .order_by_asc(audit_log::Column::At)
            .all(db)
            .await?
            .into_iter()
            .map(change)
            .collect();
        let rows_naming_them = audit_log::Entity::find()
            .filter(sea_orm::sea_query::ExprTrait::not(
                audit_log::Column::Actor.contains(email),
            ))
            .filter(
                Condition::any()
                    .add(audit_log::Column::Before.contains(email))
                    .add(audit_log::Column::After.contains(email))
                    .add(audit_log::Column::EntityId.eq(email)),
            )
            .order_by_asc(audit_log::Column::At)
            .all(db)
            .await?
            .into_iter()
            .map(change)
            .collect();
        let mails = outbox_item::Entity::find()
            .filter(
                Condition::any()
                    .add(outbox_item::Column::Recipient.eq(email))
                    .add(outbox_item::Column::ToEmail.eq(email)),
            )
            .order_by_asc(outbox_item::Column::CreatedAt)
            .all(db)
            .await?
            .into_iter()
            .map(|i| MailSent {
                at: i.sent_at,
                kind: i.kind.to_string(),
                state: i.state.to_string(),
                cycle: i.cycle,
                unit_id: i.unit_id,
                deadline: i.deadline.map(|d| d.key().to_owned()),
                due: i.due_on,
            })
            .collect();
        let token_rows = api_token::Entity::find()
            .filter(api_token::Column::Email.eq(email))
            .order_by_asc(api_token::Column::CreatedAt)
            .all(db)
            .await?;
        let token_ids: Vec<uuid::Uuid> = token_rows.iter().map(|t| t.id).collect();
        let tokens = token_rows
            .into_iter()
            .map(|t| {
                serde_json::json!({
                    "id": t.id, "role": t.role, "note": t.note,
                    "created_at": t.created_at, "revoked_at": t.revoked_at,
                })
            })
            .collect();
        let sessions = session::Entity::find()
            .filter(
                Condition::any()
                    .add(session::Column::Email.eq(email))
                    .add(session::Column::TokenId.is_in(token_ids)),
            )
            .order_by_asc(session::Column::CreatedAt)
            .all(db)
            .await?
            .into_iter()
            .map(|s| {
                serde_json::json!({
                    "created_at": s.created_at, "last_seen_at": s.last_seen_at,
                    "expires_at": s.expires_at, "ended_at": s.ended_at,
                })
            })
            .collect();
        let reads_of_their_data = read_log::Entity::find()
            .filter(read_log::Column::PersonEmail.eq(email))
            .order_by_asc(read_log::Column::At)
            .all(db)
            .await?
            .into_iter()
            .map(|r| ReadOfData {
                at: r.at,
                view: r.view,
                unit_id: r.unit_id,
            })
            .collect();
        Ok(PersonData {
            email: email.to_owned(),
            name: p.as_ref().map(|p| p.name.clone()),
            language: p.as_ref().map(|p| p.language.key().to_owned()),
            units_led,
            deputyships,
            their_actions,
            rows_naming_them,
            mails,
            tokens,
            sessions,
            reads_of_their_data,
        })
    }
}
