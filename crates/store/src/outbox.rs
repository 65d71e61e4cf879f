//! The outbox: mail items decided by the scheduler, each with a unique key, drained by
//! the dispatcher. An item is marked sent only after the mail server accepted it.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde::Serialize;

use crate::audit::{self, Change};
use crate::entity::outbox_item;
use crate::{Stamp, Store, StoreError};

pub use crate::entity::outbox_item::{ItemId, Kind, State};

/// What a deadline item's payload holds: who acts on the deadline and what the reader
/// is to do, as decided when the item was written. Items written before either was
/// kept have neither; a value hjul does not know is an error, never a default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemPayload {
    #[serde(default)]
    pub responsible: Option<hjul_wheel::Party>,
    #[serde(default)]
    pub task: Option<hjul_wheel::Task>,
    /// On a deadline taken over: the name of who had it before.
    #[serde(default)]
    pub from: Option<String>,
}

impl ItemPayload {
    pub fn json(&self) -> String {
        let mut json = serde_json::json!({ "responsible": self.responsible, "task": self.task });
        // Only where there is one: an item without it reads as it always did.
        if let Some(from) = &self.from {
            json["from"] = from.as_str().into();
        }
        json.to_string()
    }
}

/// An item the scheduler wants in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem {
    pub key: String,
    pub cycle: Option<i32>,
    pub unit_id: Option<String>,
    pub deadline: Option<hjul_wheel::Deadline>,
    pub kind: Kind,
    pub days_before: Option<i32>,
    pub party: hjul_wheel::Party,
    pub due_on: Option<NaiveDate>,
    pub due_at: DateTime<Utc>,
    /// Pending, or folded for a moment that a later one replaces.
    pub state: State,
    pub payload: Option<String>,
    /// A person it goes to by name, whoever the party is when it is sent.
    pub to: Option<crate::Addressee>,
}

impl NewItem {
    /// A note to the secretariat about no deadline in particular: a digest, a dead
    /// letter, a cycle's end.
    pub fn to_secretariat(key: String, kind: Kind, due_at: DateTime<Utc>, payload: String) -> Self {
        Self {
            key,
            cycle: None,
            unit_id: None,
            deadline: None,
            kind,
            days_before: None,
            party: hjul_wheel::Party::Secretariat,
            due_on: None,
            due_at,
            state: State::Pending,
            payload: Some(payload),
            to: None,
        }
    }

    fn row(self, now: DateTime<Utc>) -> outbox_item::ActiveModel {
        outbox_item::ActiveModel {
            id: Set(ItemId::new()),
            key: Set(self.key),
            cycle: Set(self.cycle),
            unit_id: Set(self.unit_id),
            deadline: Set(self.deadline),
            kind: Set(self.kind),
            days_before: Set(self.days_before),
            party: Set(self.party),
            due_on: Set(self.due_on),
            due_at: Set(self.due_at),
            state: Set(self.state),
            attempts: Set(0),
            next_attempt_at: Set(self.due_at),
            last_error: Set(None),
            payload: Set(self.payload),
            recipient: Set(None),
            message_id: Set(None),
            sent_at: Set(None),
            created_at: Set(now),
            to_email: Set(self.to.as_ref().map(|a| a.email.clone())),
            to_name: Set(self.to.as_ref().map(|a| a.name.clone())),
            to_language: Set(self.to.as_ref().map(|a| a.language)),
        }
    }
}

/// Writes items whose key is not there yet; an existing key is left as it is, so any
/// number of ticks, in any number of processes, create each item once.
pub(crate) async fn insert_new(
    db: &impl ConnectionTrait,
    items: Vec<NewItem>,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let mut inserted = 0;
    let mut rows = items.into_iter().map(|i| i.row(now)).peekable();
    while rows.peek().is_some() {
        // 20 columns a row: 1,000 rows stay under SQLite's 32,766 parameters and
        // PostgreSQL's 65,535, and make a catch-up of many thousand items quick.
        let chunk: Vec<_> = rows.by_ref().take(1_000).collect();
        inserted += outbox_item::Entity::insert_many(chunk)
            .on_conflict(
                OnConflict::column(outbox_item::Column::Key)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
    }
    Ok(inserted)
}

/// Nothing is sent for a deadline that is met: its pending items are voided, in the
/// transaction that records it met.
pub(crate) async fn void_pending(
    db: &impl ConnectionTrait,
    cycle: i32,
    unit_id: Option<&str>,
    deadline: hjul_wheel::Deadline,
) -> Result<u64, StoreError> {
    let mut q = outbox_item::Entity::update_many()
        .col_expr(outbox_item::Column::State, Expr::value(State::Void.key()))
        // The same test as `state = 'pending'`, but one no index on state can answer: for
        // a department deadline (unit IS NULL) SQLite would otherwise take the index on
        // (state, next attempt) and read every pending item, hundreds of thousands after
        // a large catch-up, on every tick. Found through (cycle, unit, deadline) instead.
        // (A literal: the key is hjul's own, and a `?` would not become `$n` here.)
        .filter(Expr::cust(format!(
            "state || '' = '{}'",
            State::Pending.key()
        )))
        .filter(outbox_item::Column::Cycle.eq(cycle))
        .filter(outbox_item::Column::Deadline.eq(deadline));
    q = match unit_id {
        Some(u) => q.filter(outbox_item::Column::UnitId.eq(u)),
        None => q.filter(outbox_item::Column::UnitId.is_null()),
    };
    Ok(q.exec(db).await?.rows_affected)
}

/// Voids everything pending about a unit's deadlines in cycle `cycle`: none of them is
/// its any more (it sits the cycle out).
pub(crate) async fn void_pending_of_unit(
    db: &impl ConnectionTrait,
    cycle: i32,
    unit_id: &str,
) -> Result<u64, StoreError> {
    Ok(outbox_item::Entity::update_many()
        .col_expr(outbox_item::Column::State, Expr::value(State::Void.key()))
        .filter(outbox_item::Column::State.eq(State::Pending))
        .filter(outbox_item::Column::Cycle.eq(cycle))
        .filter(outbox_item::Column::UnitId.eq(unit_id))
        // A cancellation of an entry mail put in a calendar still goes.
        .filter(outbox_item::Column::Kind.ne(Kind::Withdrawn))
        .exec(db)
        .await?
        .rows_affected)
}

/// Voids what is pending about one time of a unit's follow-up: the one due on `due`.
pub(crate) async fn void_pending_due(
    db: &impl ConnectionTrait,
    cycle: i32,
    unit_id: &str,
    deadline: hjul_wheel::Deadline,
    due: NaiveDate,
) -> Result<u64, StoreError> {
    Ok(outbox_item::Entity::update_many()
        .col_expr(outbox_item::Column::State, Expr::value(State::Void.key()))
        .filter(outbox_item::Column::State.eq(State::Pending))
        .filter(outbox_item::Column::Cycle.eq(cycle))
        .filter(outbox_item::Column::UnitId.eq(unit_id))
        .filter(outbox_item::Column::Deadline.eq(deadline))
        .filter(outbox_item::Column::DueOn.eq(due))
        .exec(db)
        .await?
        .rows_affected)
}

/// One unit's deadline passes from one party to act on to another (a submitted
/// agreement is the signer's to sign, no longer the leader's to write).
///
/// What was pending for the one who acted before, or for their superior about them, is
/// voided. If a mail already put the deadline in their calendar on a day still ahead, a
/// `withdrawn` item cancels that entry under its UID. A withdrawal still on its way to
/// the one who acts now is voided: the entry they kept applies again.
pub(crate) async fn hand_over(
    db: &impl ConnectionTrait,
    cycle: i32,
    unit_id: &str,
    was: &hjul_wheel::DeadlineStatus,
    now: &hjul_wheel::DeadlineStatus,
    def: &hjul_wheel::WheelDefinition,
    stamp: &Stamp,
) -> Result<(), StoreError> {
    let deadline = now.deadline;
    let of_deadline = || {
        outbox_item::Entity::update_many()
            .col_expr(outbox_item::Column::State, Expr::value(State::Void.key()))
            .filter(outbox_item::Column::State.eq(State::Pending))
            .filter(outbox_item::Column::Cycle.eq(cycle))
            .filter(outbox_item::Column::UnitId.eq(unit_id))
            .filter(outbox_item::Column::Deadline.eq(deadline))
    };
    of_deadline()
        .filter(outbox_item::Column::Party.is_in([was.responsible, was.escalate_to]))
        .exec(db)
        .await?;
    of_deadline()
        .filter(outbox_item::Column::Party.eq(now.responsible))
        .filter(outbox_item::Column::Kind.eq(Kind::Withdrawn))
        .exec(db)
        .await?;
    // The latest entry a mail put in their calendar (escalations put none there).
    let entry = outbox_item::Entity::find()
        .filter(outbox_item::Column::Cycle.eq(cycle))
        .filter(outbox_item::Column::UnitId.eq(unit_id))
        .filter(outbox_item::Column::Deadline.eq(deadline))
        .filter(outbox_item::Column::Party.eq(was.responsible))
        .filter(outbox_item::Column::MessageId.is_not_null())
        .filter(outbox_item::Column::Kind.ne(Kind::Escalation))
        .order_by_desc(outbox_item::Column::SentAt)
        .one(db)
        .await?;
    let Some(entry) = entry.filter(|e| e.kind != Kind::Withdrawn) else {
        return Ok(());
    };
    let Some(due) = entry.due_on.filter(|d| *d >= stamp.today) else {
        return Ok(());
    };
    let item = NewItem {
        key: format!(
            "{cycle}:{unit_id}:{}:withdrawn:{}:{}",
            now.deadline.key(),
            was.responsible.key(),
            stamp.at.timestamp_micros()
        ),
        cycle: Some(cycle),
        unit_id: Some(unit_id.to_owned()),
        deadline: Some(now.deadline),
        kind: Kind::Withdrawn,
        days_before: None,
        party: was.responsible,
        due_on: Some(due),
        // With the day's mail, or at once when that has gone.
        due_at: hjul_wheel::reminders::mail_instant(def.mail_time, stamp.today),
        state: State::Pending,
        payload: Some(
            ItemPayload {
                responsible: Some(now.responsible),
                task: Some(was.task),
                from: None,
            }
            .json(),
        ),
        to: None,
    };
    insert_new(db, vec![item], stamp.at).await?;
    Ok(())
}

/// A person's part in units ends: a deputy's turn, a leader replaced or a unit closed.
pub(crate) struct Leaving<'a> {
    /// The unit and those under it: as its leader they hold the dialogues and sign the
    /// agreements below.
    pub units: &'a HashSet<String>,
    /// Who had the part, as mail reached them.
    pub from: &'a crate::Addressee,
    /// Names the change in the items' keys, so each is written once however often this
    /// runs.
    pub why: &'a str,
    /// Whether their calendar entries are cancelled (not for a leader who keeps copies
    /// of a deputy's mail).
    pub withdraw: bool,
    /// Whether someone takes the deadlines over (not for a closed unit): whoever holds
    /// them when the mail goes is told what is now theirs.
    pub handed: bool,
}

/// A deadline that passes from one person to another, as a handover shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Moving {
    pub cycle: i32,
    pub unit_id: String,
    /// Filled in by who shows it (the outbox knows ids only).
    pub unit_name: String,
    pub deadline: hjul_wheel::Deadline,
    pub due: NaiveDate,
}

/// Moves the deadlines mail told `from` of, still open, in `units`. Each such
/// deadline's latest mail to them (not an escalation: that is about someone else's, nor
/// a withdrawal: that one is gone already) is the entry in their calendar. It becomes
/// a `withdrawn` item addressed to them by name (their party names someone else now),
/// for a day still ahead, when `withdraw`; and a `taken_over` item to whoever holds the
/// party when it is sent, with the name of who had it, when `handed`. Both go with the
/// day's mail. What moved, in the order of the entries.
pub(crate) async fn move_entries_of(
    db: &impl ConnectionTrait,
    leaving: Leaving<'_>,
    def: &hjul_wheel::WheelDefinition,
    stamp: &Stamp,
) -> Result<Vec<Moving>, StoreError> {
    let Leaving {
        units,
        from,
        why,
        withdraw,
        handed,
    } = leaving;
    let sent = outbox_item::Entity::find()
        .filter(outbox_item::Column::Recipient.eq(from.email.as_str()))
        .filter(outbox_item::Column::MessageId.is_not_null())
        .filter(outbox_item::Column::Kind.ne(Kind::Escalation))
        .order_by_desc(outbox_item::Column::SentAt)
        .all(db)
        .await?;
    // One calendar entry per deadline (a follow-up: per time it falls due), its latest
    // mail first.
    let mut seen = HashSet::new();
    let mut entries = Vec::new();
    for e in sent {
        let (Some(cycle), Some(unit_id), Some(deadline), Some(due)) =
            (e.cycle, e.unit_id.clone(), e.deadline, e.due_on)
        else {
            continue;
        };
        if !units.contains(&unit_id) {
            continue;
        }
        let entry = (
            cycle,
            unit_id,
            deadline,
            deadline.is_follow_up().then_some(due),
        );
        if seen.insert(entry.clone()) && e.kind != Kind::Withdrawn {
            entries.push((entry, due, e));
        }
    }
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    // A deadline met since its mail is no one's to take over or to be told is gone.
    let open = crate::facts::open_deadlines(
        db,
        def,
        entries
            .iter()
            .map(|((cycle, unit, _, _), _, _)| (*cycle, unit.as_str())),
    )
    .await?;
    let mut items = Vec::new();
    let mut moved = Vec::new();
    for ((cycle, unit_id, deadline, time), due, e) in entries {
        if !open.contains(&(cycle, unit_id.clone(), deadline, time)) {
            continue;
        }
        let task = e
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str::<ItemPayload>(p).ok())
            .and_then(|p| p.task);
        let of = if deadline.is_follow_up() {
            format!("{}-{due}", deadline.key())
        } else {
            deadline.key().to_owned()
        };
        let item = |kind: Kind, key: String, payload: ItemPayload, to| NewItem {
            key,
            cycle: Some(cycle),
            unit_id: Some(unit_id.clone()),
            deadline: Some(deadline),
            kind,
            days_before: None,
            party: e.party,
            due_on: Some(due),
            due_at: hjul_wheel::reminders::mail_instant(def.mail_time, stamp.today),
            state: State::Pending,
            payload: Some(payload.json()),
            to,
        };
        if withdraw && due >= stamp.today {
            items.push(item(
                Kind::Withdrawn,
                format!("{cycle}:{unit_id}:{of}:withdrawn:{why}:{}", from.email),
                ItemPayload {
                    responsible: handed.then_some(e.party),
                    task,
                    from: None,
                },
                Some(from.clone()),
            ));
        }
        if handed {
            items.push(item(
                Kind::TakenOver,
                format!("{cycle}:{unit_id}:{of}:taken_over:{why}"),
                ItemPayload {
                    responsible: None,
                    task,
                    from: Some(from.name.clone()),
                },
                None,
            ));
        }
        moved.push(Moving {
            cycle,
            unit_name: String::new(),
            unit_id,
            deadline,
            due,
        });
    }
    insert_new(db, items, stamp.at).await?;
    Ok(moved)
}

/// Everyone mail put a deadline of `unit` in the calendar of (escalations put none).
pub(crate) async fn told_about(
    db: &impl ConnectionTrait,
    unit: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(outbox_item::Entity::find()
        .select_only()
        .column(outbox_item::Column::Recipient)
        .distinct()
        .filter(outbox_item::Column::UnitId.eq(unit))
        .filter(outbox_item::Column::MessageId.is_not_null())
        .filter(outbox_item::Column::Kind.ne(Kind::Escalation))
        .into_tuple::<Option<String>>()
        .all(db)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

/// How many items wait to go about `units` to whoever holds their deadlines (not those
/// addressed to a person by name).
pub(crate) async fn pending_about(
    db: &impl ConnectionTrait,
    units: &HashSet<String>,
) -> Result<u64, StoreError> {
    use sea_orm::PaginatorTrait;
    let ids: Vec<&String> = units.iter().collect();
    let mut n = 0;
    for chunk in ids.chunks(IDS) {
        n += outbox_item::Entity::find()
            .filter(outbox_item::Column::State.eq(State::Pending))
            .filter(outbox_item::Column::ToEmail.is_null())
            .filter(outbox_item::Column::UnitId.is_in(chunk.iter().map(|u| u.as_str())))
            .count(db)
            .await?;
    }
    Ok(n)
}

/// Item ids bound in one statement at most: a batch of mail may carry tens of thousands
/// (one chief's escalations about every house), past SQLite's limit on bound values.
const IDS: usize = 1_000;

/// Marks the items of these mails sent in one statement: each mail's address, Message-ID
/// and time chosen by its items' ids. An item voided (its deadline met) while its mail was
/// on the way stays void, but keeps the mail that went: a correction never brings it back
/// to go again.
async fn mark_sent_together(
    db: &impl ConnectionTrait,
    mails: &[&SentMark],
) -> Result<(), StoreError> {
    if mails.is_empty() {
        return Ok(());
    }
    // Each item joined to its mail's row in a table of values: one pass over the items.
    // (A CASE per column with a branch per mail made every row test every mail's ids,
    // and a statement new to the database each time: a third of the dispatcher's time.)
    let backend = db.get_database_backend();
    let rows: usize = mails.iter().map(|m| m.ids.len()).sum();
    if rows == 0 {
        return Ok(());
    }
    let p = crate::lease::params(backend, rows * 4);
    // The states are the store's own words, written into the statement: SQLite numbers
    // `?` in the order they appear, so only the table's values are bound.
    let (sent, pending, void) = (State::Sent.key(), State::Pending.key(), State::Void.key());
    let values: Vec<String> = p
        .chunks(4)
        .map(|r| format!("({}, {}, {}, {})", r[0], r[1], r[2], r[3]))
        .collect();
    let sql = format!(
        "WITH mail (id, recipient, message_id, sent_at) AS (VALUES {}) \
         UPDATE outbox_item SET \
         state = CASE WHEN outbox_item.state = '{pending}' THEN '{sent}' ELSE outbox_item.state END, \
         recipient = mail.recipient, message_id = mail.message_id, sent_at = mail.sent_at \
         FROM mail WHERE outbox_item.id = mail.id \
         AND (outbox_item.state = '{pending}' OR (outbox_item.state = '{void}' AND outbox_item.message_id IS NULL))",
        values.join(", ")
    );
    let mut bound: Vec<sea_orm::Value> = Vec::with_capacity(rows * 4);
    for m in mails {
        for id in &m.ids {
            bound.extend([
                id.0.into(),
                m.recipient.as_str().into(),
                m.message_id.as_str().into(),
                m.at.into(),
            ]);
        }
    }
    db.execute_raw(sea_orm::Statement::from_sql_and_values(backend, sql, bound))
        .await?;
    Ok(())
}

/// An attempt that failed: one more counted, and why.
fn failed(ids: &[ItemId], error: &str) -> sea_orm::UpdateMany<outbox_item::Entity> {
    outbox_item::Entity::update_many()
        .col_expr(
            outbox_item::Column::Attempts,
            Expr::col(outbox_item::Column::Attempts).add(1),
        )
        .col_expr(outbox_item::Column::LastError, error.into())
        .filter(outbox_item::Column::Id.is_in(ids.iter().copied()))
        .filter(outbox_item::Column::State.eq(State::Pending))
}

/// Databases take a signed limit: anything past that is no limit at all.
fn signed_limit(limit: u64) -> u64 {
    Ord::min(limit, u64::try_from(i64::MAX).unwrap_or(u64::MAX))
}

/// One mail the server accepted, to be marked sent: the items it carried, to whom, its
/// Message-ID and when.
#[derive(Debug, Clone)]
pub struct SentMark {
    pub ids: Vec<ItemId>,
    pub recipient: String,
    pub message_id: String,
    pub at: DateTime<Utc>,
    /// The mail's subject and plain text, kept so the secretariat can read what went
    /// (empty: nothing kept).
    pub subject: String,
    pub text: String,
}

/// A mail that went, in words: what its reader read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SentWords {
    pub message_id: String,
    pub recipient: String,
    pub subject: String,
    pub text: String,
    pub sent_at: DateTime<Utc>,
}

/// Rows of sent mail written per statement (five values each, within every database's
/// limit on bound values).
const WORDS: usize = 200;

/// Keeps the words of these mails, once per Message-ID (a mail sent again after a crash
/// has the same words).
async fn keep_words(db: &impl ConnectionTrait, mails: &[SentMark]) -> Result<(), StoreError> {
    let backend = db.get_database_backend();
    let kept: Vec<&SentMark> = mails
        .iter()
        .filter(|m| !(m.subject.is_empty() && m.text.is_empty()))
        .collect();
    for chunk in kept.chunks(WORDS) {
        let p = crate::lease::params(backend, chunk.len() * 5);
        let values: Vec<String> = p
            .chunks(5)
            .map(|r| format!("({}, {}, {}, {}, {})", r[0], r[1], r[2], r[3], r[4]))
            .collect();
        let sql = format!(
            "INSERT INTO sent_mail (message_id, recipient, subject, body, sent_at) VALUES {} \
             ON CONFLICT (message_id) DO NOTHING",
            values.join(", ")
        );
        let mut bound: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * 5);
        for m in chunk {
            bound.extend([
                m.message_id.as_str().into(),
                m.recipient.as_str().into(),
                m.subject.as_str().into(),
                m.text.as_str().into(),
                m.at.into(),
            ]);
        }
        db.execute_raw(sea_orm::Statement::from_sql_and_values(backend, sql, bound))
            .await?;
    }
    Ok(())
}

/// Calendar entries already sent, by (cycle, unit, deadline): each one's due date and
/// whether it withdrew the entry, oldest first.
pub type SentEntries = HashMap<(i32, Option<String>, hjul_wheel::Deadline), Vec<(NaiveDate, bool)>>;

impl Store {
    /// The keys already in the outbox for these cycles (and the digests and notices).
    pub async fn outbox_keys(&self, cycles: &[i32]) -> Result<HashSet<String>, StoreError> {
        let keys: Vec<String> = outbox_item::Entity::find()
            .select_only()
            .column(outbox_item::Column::Key)
            .filter(
                outbox_item::Column::Cycle
                    .is_in(cycles.iter().copied())
                    .or(outbox_item::Column::Cycle.is_null()),
            )
            .into_tuple()
            .all(&self.db)
            .await?;
        Ok(keys.into_iter().collect())
    }

    /// Writes new items and voids pending ones whose deadline is met, in one
    /// transaction with the cycle start the tick makes and the next mail moment of each
    /// unit it looked at (`looked`).
    /// `start` starts that cycle in the same transaction (when nobody has yet); says
    /// whether this call started it.
    pub async fn write_tick(
        &self,
        items: Vec<NewItem>,
        met: &[(i32, Option<String>, hjul_wheel::Deadline, Option<NaiveDate>)],
        ended: &[i32],
        looked: &[crate::Looked],
        now: DateTime<Utc>,
        start: Option<(i32, &Stamp)>,
    ) -> Result<bool, StoreError> {
        let (txn, _turn) = self.write().await?;
        let mut started = false;
        if let Some((year, stamp)) = start
            && crate::entity::cycle::Entity::find_by_id(year)
                .one(&txn)
                .await?
                .is_none()
        {
            self.cycle_for_event(&txn, year, stamp).await?;
            started = true;
        }
        insert_new(&txn, items, now).await?;
        for (cycle, unit_id, deadline, time) in met {
            match (unit_id, time) {
                // One time of a follow-up: the others keep their mail.
                (Some(unit_id), Some(due)) => {
                    void_pending_due(&txn, *cycle, unit_id, *deadline, *due).await?;
                }
                _ => {
                    void_pending(&txn, *cycle, unit_id.as_deref(), *deadline).await?;
                }
            }
        }
        // What a cycle that has ended still had pending (the service was down over its
        // end) is not sent: mail is about the present.
        // It runs on every tick once a cycle has ended (an item written about it since, by
        // a correction say, is not sent either), so it must cost little: the few pending
        // items are found through the index that leads with the state. Written
        // `+cycle`, the cycle is not an index column to SQLite's planner, which otherwise
        // took the index that leads with the cycle and read every item of the cycle
        // (100–180 ms a tick at 20,000 units; docs/benchmarks.md). The years are the
        // tick's own numbers, not input.
        if !ended.is_empty() {
            let years = ended
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            outbox_item::Entity::update_many()
                .col_expr(outbox_item::Column::State, Expr::value(State::Void.key()))
                .filter(outbox_item::Column::State.eq(State::Pending))
                .filter(Expr::cust(format!("+\"cycle\" IN ({years})")))
                .exec(&txn)
                .await?;
        }
        crate::watch::record_looked(&txn, looked).await?;
        txn.commit().await?;
        Ok(started)
    }

    /// Pending items due by `now`, oldest first.
    pub async fn due_items(
        &self,
        now: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<outbox_item::Model>, StoreError> {
        Ok(outbox_item::Entity::find()
            .filter(outbox_item::Column::State.eq(State::Pending))
            .filter(outbox_item::Column::NextAttemptAt.lte(now))
            .order_by_asc(outbox_item::Column::NextAttemptAt)
            .order_by_asc(outbox_item::Column::Id)
            .limit(signed_limit(limit))
            .all(&self.db)
            .await?)
    }

    /// When the next pending item falls due, if any.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(outbox_item::Entity::find()
            .filter(outbox_item::Column::State.eq(State::Pending))
            .order_by_asc(outbox_item::Column::NextAttemptAt)
            .one(&self.db)
            .await?
            .map(|i| i.next_attempt_at))
    }

    /// Marks the items of mails the server accepted sent, in one transaction: the
    /// dispatcher's batches (one commit for many mails instead of one each).
    pub async fn mark_sent_many(&self, mails: &[SentMark]) -> Result<(), StoreError> {
        if mails.is_empty() {
            return Ok(());
        }
        let (txn, _turn) = self.write().await?;
        // Mails together up to `IDS` items a statement; a mail that carries more (one
        // person's many items) is marked a chunk of its items at a time.
        let mut group: Vec<&SentMark> = Vec::new();
        let mut in_group = 0;
        for m in mails {
            if m.ids.len() > IDS {
                for ids in m.ids.chunks(IDS) {
                    let part = SentMark {
                        ids: ids.to_vec(),
                        recipient: m.recipient.clone(),
                        message_id: m.message_id.clone(),
                        at: m.at,
                        subject: String::new(),
                        text: String::new(),
                    };
                    mark_sent_together(&txn, &[&part]).await?;
                }
                continue;
            }
            if in_group + m.ids.len() > IDS {
                mark_sent_together(&txn, &group).await?;
                group.clear();
                in_group = 0;
            }
            in_group += m.ids.len();
            group.push(m);
        }
        mark_sent_together(&txn, &group).await?;
        keep_words(&txn, mails).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Another try later, after a transient failure.
    pub async fn mark_retry(
        &self,
        ids: &[ItemId],
        error: &str,
        next: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (txn, _turn) = self.write().await?;
        for ids in ids.chunks(IDS) {
            failed(ids, error)
                .col_expr(outbox_item::Column::NextAttemptAt, next.into())
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Gives up on items (a permanent refusal, or too many failures) and, unless they
    /// were themselves the notice, tells the secretariat in the same transaction.
    pub async fn mark_dead(
        &self,
        ids: &[ItemId],
        error: &str,
        notice: Option<NewItem>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (txn, _turn) = self.write().await?;
        for ids in ids.chunks(IDS) {
            failed(ids, error)
                .col_expr(outbox_item::Column::State, Expr::value(State::Dead.key()))
                .exec(&txn)
                .await?;
        }
        if let Some(notice) = notice {
            insert_new(&txn, vec![notice], now).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Items in a state (all when `None`), newest first.
    pub async fn outbox(
        &self,
        in_state: Option<State>,
        limit: u64,
    ) -> Result<Vec<outbox_item::Model>, StoreError> {
        let mut q = outbox_item::Entity::find();
        if let Some(s) = in_state {
            q = q.filter(outbox_item::Column::State.eq(s));
        }
        let limit = signed_limit(limit);
        Ok(q.order_by_desc(outbox_item::Column::DueAt)
            .order_by_desc(outbox_item::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?)
    }

    /// One item of the queue.
    pub async fn outbox_item(&self, id: ItemId) -> Result<Option<outbox_item::Model>, StoreError> {
        Ok(outbox_item::Entity::find_by_id(id).one(&self.db).await?)
    }

    /// The words of the mail with this Message-ID, while they are kept.
    pub async fn sent_words(&self, message_id: &str) -> Result<Option<SentWords>, StoreError> {
        let backend = self.db.get_database_backend();
        let p = crate::lease::params(backend, 1);
        let row = self
            .db
            .query_one_raw(sea_orm::Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT message_id, recipient, subject, body, sent_at FROM sent_mail \
                     WHERE message_id = {}",
                    p[0]
                ),
                [message_id.into()],
            ))
            .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        Ok(Some(SentWords {
            message_id: row.try_get("", "message_id")?,
            recipient: row.try_get("", "recipient")?,
            subject: row.try_get("", "subject")?,
            text: row.try_get("", "body")?,
            sent_at: row.try_get("", "sent_at")?,
        }))
    }

    /// Puts a dead item back in the queue, to go at once.
    pub async fn retry_item(
        &self,
        id: ItemId,
        stamp: &Stamp,
    ) -> Result<outbox_item::Model, StoreError> {
        let (txn, _turn) = self.write().await?;
        let item = outbox_item::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or(StoreError::NoSuchItem(id))?;
        if item.state != State::Dead {
            return Err(StoreError::ItemNotDead {
                id,
                state: item.state,
            });
        }
        let before = item.state;
        let mut am = item.into_active_model();
        am.state = Set(State::Pending);
        am.attempts = Set(0);
        am.next_attempt_at = Set(stamp.at);
        let updated = am.update(&txn).await?;
        #[derive(Serialize)]
        struct InState {
            state: State,
        }
        audit::log(
            &txn,
            stamp,
            Change::new("outbox.retry", "outbox_item", id.to_string())
                .before(&InState { state: before })
                .after(&InState {
                    state: State::Pending,
                }),
        )
        .await?;
        txn.commit().await?;
        Ok(updated)
    }
}

impl Store {
    /// Moves items to a later time without counting an attempt (one mail a day: what
    /// comes after today's mail waits for the next one).
    pub async fn postpone(&self, ids: &[ItemId], until: DateTime<Utc>) -> Result<(), StoreError> {
        let (txn, _turn) = self.write().await?;
        for ids in ids.chunks(IDS) {
            outbox_item::Entity::update_many()
                .col_expr(outbox_item::Column::NextAttemptAt, until.into())
                .filter(outbox_item::Column::Id.is_in(ids.iter().copied()))
                .filter(outbox_item::Column::State.eq(State::Pending))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Voids pending items that no longer have anything to say.
    pub async fn void(&self, ids: &[ItemId]) -> Result<(), StoreError> {
        let (txn, _turn) = self.write().await?;
        for ids in ids.chunks(IDS) {
            outbox_item::Entity::update_many()
                .col_expr(outbox_item::Column::State, Expr::value(State::Void.key()))
                .filter(outbox_item::Column::Id.is_in(ids.iter().copied()))
                .filter(outbox_item::Column::State.eq(State::Pending))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Which of `ids` are still pending: another instance may have sent or voided the
    /// rest since they were read.
    pub async fn still_pending(&self, ids: &[ItemId]) -> Result<HashSet<ItemId>, StoreError> {
        let mut pending = HashSet::new();
        for ids in ids.chunks(IDS) {
            let some: Vec<ItemId> = outbox_item::Entity::find()
                .select_only()
                .column(outbox_item::Column::Id)
                .filter(outbox_item::Column::Id.is_in(ids.iter().copied()))
                .filter(outbox_item::Column::State.eq(State::Pending))
                .into_tuple()
                .all(&self.db)
                .await?;
            pending.extend(some);
        }
        Ok(pending)
    }

    /// Whether `email` was sent a mail at or after `since`.
    pub async fn had_mail_since(
        &self,
        email: &str,
        since: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // Any item a mail went out with counts, one voided on the way too.
        Ok(outbox_item::Entity::find()
            .filter(outbox_item::Column::Recipient.eq(email))
            .filter(outbox_item::Column::SentAt.gte(since))
            .one(&self.db)
            .await?
            .is_some())
    }

    /// Which of `emails` were sent a mail at or after `since` (through the index on
    /// recipient and time): for the people a dispatch has mail for, and again under their
    /// leases, a batch at a time.
    pub async fn had_mail_among(
        &self,
        emails: &[String],
        since: DateTime<Utc>,
    ) -> Result<HashSet<String>, StoreError> {
        let mut had = HashSet::new();
        for chunk in emails.chunks(500) {
            let sent: Vec<Option<String>> = outbox_item::Entity::find()
                .select_only()
                .column(outbox_item::Column::Recipient)
                .filter(outbox_item::Column::Recipient.is_in(chunk.iter().cloned()))
                .filter(outbox_item::Column::SentAt.gte(since))
                .distinct()
                .into_tuple()
                .all(&self.db)
                .await?;
            had.extend(sent.into_iter().flatten());
        }
        Ok(had)
    }

    /// The calendar entries already sent for these deadlines (a batch of mail), by
    /// (cycle, unit, deadline), oldest first: each one's due date and whether it withdrew
    /// the entry. Numbers each entry's versions (SEQUENCE). Every item a mail carried
    /// counts, one voided on its way too: it reached the calendar.
    pub async fn sent_entries_of(
        &self,
        wanted: &[(i32, Option<String>, hjul_wheel::Deadline)],
    ) -> Result<SentEntries, StoreError> {
        let mut out: SentEntries = HashMap::new();
        if wanted.is_empty() {
            return Ok(out);
        }
        let wanted_set: HashSet<&(i32, Option<String>, hjul_wheel::Deadline)> =
            wanted.iter().collect();
        let cycles: HashSet<i32> = wanted.iter().map(|w| w.0).collect();
        let units: HashSet<&str> = wanted.iter().filter_map(|w| w.1.as_deref()).collect();
        let department = wanted.iter().any(|w| w.1.is_none());
        let units: Vec<&str> = units.into_iter().collect();
        for chunk in units
            .chunks(500)
            .map(Some)
            .chain(department.then_some(None))
        {
            let mut q = outbox_item::Entity::find()
                .filter(outbox_item::Column::MessageId.is_not_null())
                .filter(outbox_item::Column::Cycle.is_in(cycles.iter().copied()))
                .filter(outbox_item::Column::Kind.ne(Kind::Escalation));
            q = match chunk {
                Some(units) => q.filter(
                    outbox_item::Column::UnitId.is_in(units.iter().map(|u| (*u).to_owned())),
                ),
                None => q.filter(outbox_item::Column::UnitId.is_null()),
            };
            for i in q
                .order_by_asc(outbox_item::Column::SentAt)
                .order_by_asc(outbox_item::Column::Id)
                .all(&self.db)
                .await?
            {
                let (Some(cycle), Some(deadline), Some(due)) = (i.cycle, i.deadline, i.due_on)
                else {
                    continue;
                };
                let key = (cycle, i.unit_id.clone(), deadline);
                if wanted_set.contains(&key) {
                    out.entry(key)
                        .or_default()
                        .push((due, i.kind == Kind::Withdrawn));
                }
            }
        }
        Ok(out)
    }
}
