//! Departed people, anonymised: a person who leads no active unit (and stands in for
//! none) is kept as they are for `[privacy] departed_days` after they left, for the
//! handover and the archive, and then, on the secretariat's request or by the nightly
//! retention job, their name becomes "Tidligere leder" and their address a pseudonym
//! (`tidligere-leder-3f9a1c2b@anonymiseret.invalid`) in every row that holds them.
//!
//! The records stay: the units they led still point at their person, the history says
//! what "Tidligere leder" recorded and when, the audit log keeps every row (changed,
//! through the database's window for it, only in who did it and what changed), and the
//! quality report, which names units and never people, reads as before. The pseudonym
//! is random, not derived from the address, so it cannot be reversed by guessing.
//!
//! What is not rewritten: free text people typed (a dialogue's notes, a goal, a grade's
//! note, a token's note). A name someone wrote there is theirs to find with the
//! access-request export and edit by a correction.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, LikeExpr, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, Set,
};
use serde::Serialize;

use crate::audit::{self, Change};
use crate::entity::{api_token, deputy, outbox_item, person, session, unit};
use crate::{Stamp, Store, StoreError};
use hjul_wheel::Text;

/// The name an anonymised person has everywhere.
pub const FORMER_LEADER: &str = "Tidligere leder";

/// The domain of pseudonyms: `.invalid` is reserved (RFC 2606), so no mail to one can
/// leave the building.
pub const PSEUDONYM_DOMAIN: &str = "anonymiseret.invalid";

/// What anonymising a person changes (or changed), counted by where.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Anonymised {
    /// The address as it was; after, it is on record nowhere.
    pub email: String,
    /// Their name as the organisation file or a deputyship gave it.
    pub name: Option<String>,
    /// What they are called now.
    pub pseudonym: String,
    /// Since when they lead no active unit (none: a deputy named by hand).
    pub left_at: Option<DateTime<Utc>>,
    /// Whether it was written (false: what it would change).
    pub applied: bool,
    pub rows: AnonymisedRows,
}

/// Rows changed, by kind. A row that holds them twice counts twice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AnonymisedRows {
    pub person: u64,
    pub deputyships: u64,
    pub audit_log: u64,
    /// "Recorded by" of events, milestones, corrections, cycles, reports, imports,
    /// settings and drafts.
    pub recorded_by: u64,
    pub mail: u64,
    pub read_log: u64,
    /// Their tokens (revoked) and sign-ins (ended).
    pub access: u64,
}

/// Where a column is counted, and whether it holds JSON (where a whole value equal to
/// the name is replaced too).
#[derive(Clone, Copy)]
enum Kind {
    Audit,
    RecordedBy,
    Mail,
    Reads,
    Deputy,
}

/// Every column that may hold their address or name, with how it is counted and
/// whether it holds JSON. "Recorded by" columns name who did something as the actor
/// (`api:EMAIL`, `oidc:EMAIL`, "Anna Bech for Bo Nielsen (oidc:…)").
const ALL_COLUMNS: &[(&str, &str, Kind, bool)] = &[
    ("unit_event", "recorded_by", Kind::RecordedBy, false),
    ("milestone", "recorded_by", Kind::RecordedBy, false),
    ("correction", "recorded_by", Kind::RecordedBy, false),
    ("cycle", "started_by", Kind::RecordedBy, false),
    ("final_report", "created_by", Kind::RecordedBy, false),
    ("data_import", "imported_by", Kind::RecordedBy, false),
    ("setting", "updated_by", Kind::RecordedBy, false),
    ("draft", "updated_by", Kind::RecordedBy, false),
    ("deputy", "named_by", Kind::Deputy, false),
    ("deputy", "ended_by", Kind::Deputy, false),
    ("audit_log", "actor", Kind::Audit, false),
    ("audit_log", "entity_id", Kind::Audit, false),
    ("audit_log", "before", Kind::Audit, true),
    ("audit_log", "after", Kind::Audit, true),
    ("outbox_item", "recipient", Kind::Mail, false),
    ("outbox_item", "to_email", Kind::Mail, false),
    ("outbox_item", "payload", Kind::Mail, true),
    ("outbox_item", "last_error", Kind::Mail, false),
    ("sent_mail", "recipient", Kind::Mail, false),
    ("sent_mail", "subject", Kind::Mail, false),
    ("sent_mail", "body", Kind::Mail, false),
    ("read_log", "actor", Kind::Reads, false),
    ("read_log", "actor_email", Kind::Reads, false),
    ("read_log", "person_email", Kind::Reads, false),
    ("read_log", "terms", Kind::Reads, true),
    ("deputy", "email", Kind::Deputy, false),
];

/// `%`, `_` and `\` taken literally in a LIKE pattern escaped with `\`.
fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Replaces `from` with `to` in `table.column` where the column matches `pattern` (a
/// LIKE pattern, `\` escaping): how many rows.
async fn replace_in(
    txn: &DatabaseTransaction,
    (table, column): (&str, &str),
    pattern: String,
    from: &str,
    to: &str,
) -> Result<u64, StoreError> {
    let col = Alias::new(column);
    let stmt = Query::update()
        .table(Alias::new(table))
        .value(
            col.clone(),
            Func::cust(Alias::new("REPLACE"))
                .arg(Expr::col(col.clone()))
                .arg(from)
                .arg(to),
        )
        .and_where(Expr::col(col).like(LikeExpr::new(pattern).escape('\\')))
        .to_owned();
    Ok(txn.execute(&stmt).await?.rows_affected())
}

/// Replaces the person in one column: their address anywhere, and their name where an
/// actor names them ("X for NAME (…)", "NAME for X (…)") or, in JSON, where a value is
/// their name.
async fn rewrite_column(
    txn: &DatabaseTransaction,
    at: (&str, &str),
    json: bool,
    who: &Who<'_>,
) -> Result<u64, StoreError> {
    let mut n = replace_in(
        txn,
        at,
        format!("%{}%", like_literal(who.email)),
        who.email,
        &who.pseudonym,
    )
    .await?;
    for name in &who.names {
        let (as_leader, as_deputy) = (format!(" for {name} ("), format!("{name} for "));
        n += replace_in(
            txn,
            at,
            format!("%{}%", like_literal(&as_leader)),
            &as_leader,
            &format!(" for {FORMER_LEADER} ("),
        )
        .await?;
        n += replace_in(
            txn,
            at,
            format!("{}%", like_literal(&as_deputy)),
            &as_deputy,
            &format!("{FORMER_LEADER} for "),
        )
        .await?;
        if json {
            // A JSON string equal to the name, quotes and all: never part of another.
            let quoted = serde_json::to_string(name).unwrap_or_default();
            let former = serde_json::to_string(FORMER_LEADER).unwrap_or_default();
            n += replace_in(
                txn,
                at,
                format!("%{}%", like_literal(&quoted)),
                &quoted,
                &former,
            )
            .await?;
        }
    }
    Ok(n)
}

struct Who<'a> {
    email: &'a str,
    pseudonym: String,
    names: Vec<String>,
}

impl Store {
    /// Anonymises the person at `email` (lower case, as kept), or says what it would
    /// change when `!apply` (the same work, rolled back). Refused while they lead an
    /// active unit, stand in for one, or mail waits to be sent to them, and for an
    /// address hjul holds nothing of.
    pub async fn anonymise(
        &self,
        email: &str,
        stamp: &Stamp,
        apply: bool,
    ) -> Result<Anonymised, StoreError> {
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            let done = anonymise_in(&txn, email, stamp).await?;
            if apply {
                crate::org::organisation_changed(&txn).await?;
                txn.commit().await?;
            } else {
                txn.rollback().await?;
            }
            Ok(Anonymised {
                applied: apply,
                ..done
            })
        })
    }

    /// The people whose time after leaving (`departed_days`) has passed by `now`, and
    /// who are not anonymised yet: the retention job's to do.
    pub async fn departed_before(&self, before: DateTime<Utc>) -> Result<Vec<String>, StoreError> {
        // One read of the people: who left before then and is not anonymised, and
        // every address of the organisation (a deputy who is one goes with the person).
        let people = person::Entity::find().all(&self.db).await?;
        let mut out: Vec<String> = people
            .iter()
            .filter(|p| p.anonymised_at.is_none() && p.left_at.is_some_and(|at| at < before))
            .map(|p| p.email.clone())
            .collect();
        let people: std::collections::HashSet<String> =
            people.into_iter().map(|p| p.email).collect();
        // Deputies named by hand, not in the organisation: gone once every deputyship
        // they had ended before then.
        let mut last: std::collections::BTreeMap<String, Option<NaiveDate>> = Default::default();
        for d in deputy::Entity::find().all(&self.db).await? {
            if people.contains(&d.email) || d.email.ends_with(PSEUDONYM_DOMAIN) {
                continue;
            }
            let ended = match (d.ended_at, d.ends_on) {
                (Some(at), _) => Some(at.date_naive()),
                (None, until) => until,
            };
            let seen = last.entry(d.email).or_insert(ended);
            *seen = match (*seen, ended) {
                (Some(a), Some(b)) => Some(std::cmp::max(a, b)),
                _ => None,
            };
        }
        out.extend(
            last.into_iter()
                .filter(|(_, ended)| ended.is_some_and(|d| d < before.date_naive()))
                .map(|(email, _)| email),
        );
        Ok(out)
    }
}

/// The work of [`Store::anonymise`], in its transaction.
async fn anonymise_in(
    txn: &DatabaseTransaction,
    email: &str,
    stamp: &Stamp,
) -> Result<Anonymised, StoreError> {
    let refuse =
        |key: &'static str| StoreError::Conflict(Text::new(key).arg("email", email.to_owned()));
    if email.ends_with(PSEUDONYM_DOMAIN) {
        return Err(refuse("store.anonymised_already"));
    }
    let p = person::Entity::find()
        .filter(person::Column::Email.eq(email))
        .one(txn)
        .await?;
    let deputyships = deputy::Entity::find()
        .filter(deputy::Column::Email.eq(email))
        .all(txn)
        .await?;
    let tokens = api_token::Entity::find()
        .filter(api_token::Column::Email.eq(email))
        .count(txn)
        .await?;
    if p.is_none() && deputyships.is_empty() && tokens == 0 {
        return Err(refuse("store.anonymise_unknown"));
    }
    if let Some(p) = &p {
        let leads: Vec<String> = unit::Entity::find()
            .filter(unit::Column::LeaderId.eq(p.id))
            .filter(unit::Column::Active.eq(true))
            .all(txn)
            .await?
            .into_iter()
            .map(|u| format!("{} ({})", u.name, u.id))
            .collect();
        if !leads.is_empty() {
            return Err(StoreError::Conflict(
                Text::new("store.anonymise_leads")
                    .arg("email", email.to_owned())
                    .arg("units", leads.join(", ")),
            ));
        }
    }
    if let Some(d) = deputyships
        .iter()
        .find(|d| d.ended_at.is_none() && d.ends_on.is_none_or(|until| until >= stamp.today))
    {
        return Err(StoreError::Conflict(
            Text::new("store.anonymise_deputy")
                .arg("email", email.to_owned())
                .arg("unit", d.unit_id.clone())
                .arg(
                    "until",
                    d.ends_on
                        .map_or_else(|| "-".to_owned(), |u| u.format("%d.%m.%Y").to_string()),
                ),
        ));
    }
    let waiting = outbox_item::Entity::find()
        .filter(outbox_item::Column::ToEmail.eq(email))
        .filter(outbox_item::Column::State.eq(crate::OutboxState::Pending))
        .count(txn)
        .await?;
    if waiting > 0 {
        return Err(StoreError::Conflict(
            Text::new("store.anonymise_mail_waiting")
                .arg("email", email.to_owned())
                .arg("count", waiting),
        ));
    }

    // The random part of a fresh v7 id: not derived from the address.
    let id = uuid::Uuid::now_v7().simple().to_string();
    let pseudonym = format!("tidligere-leder-{}@{PSEUDONYM_DOMAIN}", &id[id.len() - 8..]);
    let mut names: Vec<String> = p.iter().map(|p| p.name.clone()).collect();
    for d in &deputyships {
        if !names.contains(&d.name) {
            names.push(d.name.clone());
        }
    }
    names.retain(|n| !n.trim().is_empty() && n != FORMER_LEADER);
    let who = Who {
        email,
        pseudonym: pseudonym.clone(),
        names,
    };
    let mut rows = AnonymisedRows::default();

    // Their access ends: tokens revoked, sign-ins ended (before the address goes).
    rows.access += api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(stamp.at))
        .filter(api_token::Column::Email.eq(email))
        .filter(api_token::Column::RevokedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected;
    let token_ids: Vec<uuid::Uuid> = api_token::Entity::find()
        .filter(api_token::Column::Email.eq(email))
        .all(txn)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    rows.access += session::Entity::update_many()
        .col_expr(session::Column::EndedAt, Expr::value(stamp.at))
        .filter(
            sea_orm::Condition::any()
                .add(session::Column::Email.eq(email))
                .add(session::Column::TokenId.is_in(token_ids)),
        )
        .filter(session::Column::EndedAt.is_null())
        .exec(txn)
        .await?
        .rows_affected;
    api_token::Entity::update_many()
        .col_expr(api_token::Column::Email, Expr::value(pseudonym.clone()))
        .filter(api_token::Column::Email.eq(email))
        .exec(txn)
        .await?;
    session::Entity::update_many()
        .col_expr(session::Column::Email, Expr::value(pseudonym.clone()))
        .filter(session::Column::Email.eq(email))
        .exec(txn)
        .await?;

    // Names kept beside an address.
    rows.deputyships += deputy::Entity::update_many()
        .col_expr(deputy::Column::Name, Expr::value(FORMER_LEADER))
        .filter(deputy::Column::Email.eq(email))
        .exec(txn)
        .await?
        .rows_affected;
    rows.mail += outbox_item::Entity::update_many()
        .col_expr(outbox_item::Column::ToName, Expr::value(FORMER_LEADER))
        .filter(outbox_item::Column::ToEmail.eq(email))
        .exec(txn)
        .await?
        .rows_affected;

    // The audit log opens its window for what holds them, and closes it again.
    let marks: Vec<String> = std::iter::once(email.to_owned())
        .chain(who.names.iter().cloned())
        .collect();
    for mark in &marks {
        let stmt = Query::insert()
            .into_table(Alias::new("audit_anonymise"))
            .columns([Alias::new("mark")])
            .values_panic([mark.as_str().into()])
            .to_owned();
        txn.execute(&stmt).await?;
    }
    for &(table, column, kind, json) in ALL_COLUMNS {
        let n = rewrite_column(txn, (table, column), json, &who).await?;
        match kind {
            Kind::Audit => rows.audit_log += n,
            Kind::Mail => rows.mail += n,
            Kind::Reads => rows.read_log += n,
            Kind::Deputy => rows.deputyships += n,
            Kind::RecordedBy => rows.recorded_by += n,
        }
    }
    // A mail they were sent is about them: its words name them anywhere ("Kære Bo
    // Nielsen", the subject), so there the name goes wherever it stands. (Mails to others
    // keep their words, as other free text does.)
    for name in &who.names {
        for column in ["subject", "body"] {
            let col = Alias::new(column);
            let stmt = Query::update()
                .table(Alias::new("sent_mail"))
                .value(
                    col.clone(),
                    Func::cust(Alias::new("REPLACE"))
                        .arg(Expr::col(col.clone()))
                        .arg(name.as_str())
                        .arg(FORMER_LEADER),
                )
                .and_where(Expr::col(Alias::new("recipient")).eq(who.pseudonym.as_str()))
                .and_where(
                    Expr::col(col)
                        .like(LikeExpr::new(format!("%{}%", like_literal(name))).escape('\\')),
                )
                .to_owned();
            rows.mail += txn.execute(&stmt).await?.rows_affected();
        }
    }
    txn.execute(
        &Query::delete()
            .from_table(Alias::new("audit_anonymise"))
            .to_owned(),
    )
    .await?;

    let left_at = p.as_ref().and_then(|p| p.left_at);
    let person_id = match p {
        Some(p) => {
            let id = p.id;
            let mut am = p.into_active_model();
            am.email = Set(pseudonym.clone());
            am.name = Set(FORMER_LEADER.to_owned());
            am.anonymised_at = Set(Some(stamp.at));
            am.updated_at = Set(stamp.at);
            am.update(txn).await?;
            rows.person = 1;
            id.to_string()
        }
        None => pseudonym.clone(),
    };
    // The row that says it was done names the pseudonym, never the address.
    audit::log(
        txn,
        stamp,
        Change::new("person.anonymise", "person", person_id)
            .after(&serde_json::json!({ "pseudonym": pseudonym, "rows": rows })),
    )
    .await?;
    Ok(Anonymised {
        email: email.to_owned(),
        name: who.names.first().cloned(),
        pseudonym,
        left_at,
        applied: false,
        rows,
    })
}
