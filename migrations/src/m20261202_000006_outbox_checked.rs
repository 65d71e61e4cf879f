//! The outbox's kind, party, deadline and state hold only the keys hjul knows: CHECK
//! constraints refuse any other text, so a row the code cannot read cannot be written.
//!
//! A row already holding a value hjul does not know (written by hand, or by a build
//! that knew another) is not given a default: its stored values are kept in its error,
//! and one still to be sent becomes a dead letter that the secretariat is told of in a
//! notice of its own (one already dead stays dead, with its payload wrapped so that a
//! retry cannot send it under a stand-in kind; one sent, folded or void stays so).

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The keys as this migration knows them (a migration is a picture of its day: later
/// ones add keys, never edit these).
pub(crate) const KINDS: &[&str] = &[
    "opened",
    "reminder",
    "overdue",
    "escalation",
    "digest",
    "dead_letter",
    "cycle_ended",
    "withdrawn",
];
const PARTIES: &[&str] = &[
    "secretariat",
    "director",
    "leader",
    "superior",
    "superior_of_superior",
];
pub(crate) const DEADLINES: &[&str] = &[
    "data_collected",
    "themes_published",
    "dialogue_held",
    "report_final",
    "agreement_signed",
    "midway_status",
];
const STATES: &[&str] = &["pending", "sent", "dead", "folded", "void"];

pub(crate) fn list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each CHECK: its name and condition.
fn checks() -> [(&'static str, String); 4] {
    [
        (
            "outbox_item_kind_known",
            format!("kind IN ({})", list(KINDS)),
        ),
        (
            "outbox_item_party_known",
            format!("party IN ({})", list(PARTIES)),
        ),
        (
            "outbox_item_deadline_known",
            format!("deadline IS NULL OR deadline IN ({})", list(DEADLINES)),
        ),
        (
            "outbox_item_state_known",
            format!("state IN ({})", list(STATES)),
        ),
    ]
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on every backend: SQLite's rebuild is several statements that
    /// must run on one connection and stand or fall together.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let backend = db.get_database_backend();
        dead_letter_unknown(db, backend).await?;
        match backend {
            DbBackend::Postgres => {
                for (name, condition) in checks() {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE outbox_item ADD CONSTRAINT {name} CHECK ({condition})"
                    ))
                    .await?;
                }
            }
            _ => {
                let constraints: Vec<String> = checks()
                    .iter()
                    .map(|(name, condition)| format!("CONSTRAINT {name} CHECK ({condition})"))
                    .collect();
                rebuild_sqlite(db, |body| format!("{body}, {}", constraints.join(", "))).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match db.get_database_backend() {
            DbBackend::Postgres => {
                for (name, _) in checks() {
                    db.execute_unprepared(&format!(
                        "ALTER TABLE outbox_item DROP CONSTRAINT IF EXISTS {name}"
                    ))
                    .await?;
                }
                Ok(())
            }
            _ => {
                rebuild_sqlite(db, |body| {
                    match body.find(", CONSTRAINT outbox_item_kind_known") {
                        Some(at) => body[..at].to_owned(),
                        None => body.to_owned(),
                    }
                })
                .await
            }
        }
    }
}

/// SQLite adds a CHECK only by building the table anew (its documented way: a new
/// table from the old one's definition, the rows copied, the old dropped, the new
/// renamed, its indexes made again). `body` turns the column list into the new one.
pub(crate) async fn rebuild_sqlite(
    db: &SchemaManagerConnection<'_>,
    body: impl Fn(&str) -> String,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let sql_of = |query: &str| Statement::from_string(backend, query.to_owned());
    let table: String = db
        .query_one_raw(sql_of(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox_item'",
        ))
        .await?
        .ok_or_else(|| DbErr::Migration("the outbox_item table is missing".to_owned()))?
        .try_get("", "sql")?;
    let indexes: Vec<String> = db
        .query_all_raw(sql_of(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox_item' \
             AND sql IS NOT NULL",
        ))
        .await?
        .into_iter()
        .map(|r| r.try_get::<String>("", "sql"))
        .collect::<Result<_, _>>()?;
    let (Some(open), Some(close)) = (table.find('('), table.rfind(')')) else {
        return Err(DbErr::Migration(format!(
            "cannot read the outbox_item table's definition: {table}"
        )));
    };
    let columns = &table[open + 1..close];
    db.execute_unprepared(&format!(
        "CREATE TABLE outbox_item_checked ({})",
        body(columns)
    ))
    .await?;
    db.execute_unprepared("INSERT INTO outbox_item_checked SELECT * FROM outbox_item")
        .await?;
    db.execute_unprepared("DROP TABLE outbox_item").await?;
    db.execute_unprepared("ALTER TABLE outbox_item_checked RENAME TO outbox_item")
        .await?;
    for index in indexes {
        db.execute_unprepared(&index).await?;
    }
    Ok(())
}

/// Rows with a value hjul does not know become dead letters that keep what was stored,
/// each told to the secretariat.
async fn dead_letter_unknown(
    db: &SchemaManagerConnection<'_>,
    backend: DbBackend,
) -> Result<(), DbErr> {
    let unknown = format!(
        "SELECT id, key, kind, party, deadline, state, payload FROM outbox_item \
         WHERE kind NOT IN ({k}) OR party NOT IN ({p}) \
         OR (deadline IS NOT NULL AND deadline NOT IN ({d})) OR state NOT IN ({s})",
        k = list(KINDS),
        p = list(PARTIES),
        d = list(DEADLINES),
        s = list(STATES),
    );
    let rows = db
        .query_all_raw(Statement::from_string(backend, unknown))
        .await?;
    let param = |n: usize| match backend {
        DbBackend::Postgres => format!("${n}"),
        _ => "?".to_owned(),
    };
    for row in rows {
        let id: uuid::Uuid = row.try_get("", "id")?;
        let key: String = row.try_get("", "key")?;
        let kind: String = row.try_get("", "kind")?;
        let party: String = row.try_get("", "party")?;
        let deadline: Option<String> = row.try_get("", "deadline")?;
        let state: String = row.try_get("", "state")?;
        let payload: Option<String> = row.try_get("", "payload")?;
        let error = format!(
            "hjul does not know what this item holds (kind '{kind}', party '{party}', \
             deadline '{}', state '{state}'), as found when the database was migrated; \
             an item still to be sent was not sent",
            deadline.as_deref().unwrap_or("")
        );
        let pick = |value: &str, known: &[&str], neutral: &str| {
            if known.contains(&value) {
                value.to_owned()
            } else {
                neutral.to_owned()
            }
        };
        // Still to be sent: it becomes a dead letter the secretariat hears of. One dead
        // already was told of when it died; one sent, folded or void needs nothing.
        let waiting = state == "pending" || !STATES.contains(&state.as_str());
        let dead = waiting || state == "dead";
        // A dead one's payload is wrapped in a field no reader knows, so a retry cannot
        // send it under the stand-in kind: it is refused as unreadable, and told again.
        let payload = if dead {
            Some(
                serde_json::json!({ "unreadable": error.clone(), "stored_payload": payload })
                    .to_string(),
            )
        } else {
            payload
        };
        // The stored values are in the error; the columns take values hjul can read.
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "UPDATE outbox_item SET state = {}, kind = {}, party = {}, deadline = {}, \
                 last_error = {}, payload = {} WHERE id = {}",
                param(1),
                param(2),
                param(3),
                param(4),
                param(5),
                param(6),
                param(7)
            ),
            [
                Value::from(if dead {
                    "dead".to_owned()
                } else {
                    state.clone()
                }),
                Value::from(pick(&kind, KINDS, "opened")),
                Value::from(pick(&party, PARTIES, "secretariat")),
                Value::from(deadline.filter(|d| DEADLINES.contains(&d.as_str()))),
                Value::from(error.clone()),
                Value::from(payload),
                Value::from(id),
            ],
        ))
        .await?;
        if !waiting {
            continue;
        }
        // Not sent to anyone, so no address: the role is in the error.
        let notice = serde_json::json!({
            "to": "",
            "error": error,
            "items": [],
            "item": key,
        })
        .to_string();
        // Due when the item was: the next round of mail carries it.
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            format!(
                "INSERT INTO outbox_item (id, key, kind, party, state, attempts, due_at, \
                 next_attempt_at, payload, created_at) SELECT {}, {}, 'dead_letter', \
                 'secretariat', 'pending', 0, due_at, due_at, {}, created_at \
                 FROM outbox_item WHERE id = {} ON CONFLICT (key) DO NOTHING",
                param(1),
                param(2),
                param(3),
                param(4)
            ),
            [
                Value::from(uuid::Uuid::now_v7()),
                Value::from(format!("dead:{id}")),
                Value::from(notice),
                Value::from(id),
            ],
        ))
        .await?;
    }
    Ok(())
}
