//! The standing projection: per cycle and unit, what `status` shows (step, next deadline
//! and its due date, who is to act, the agreement's state and score).
//!
//! Every answer to "where does each institution stand" used to be a fold of every event
//! of the cycle; at national scale that is a second per request. The projection is kept
//! in the same transaction as each change that moves it (an event, a milestone, a
//! correction, an organisation import, a cycle's start), so `status` is one indexed read.
//! How late a unit is depends on the day asked and is not kept: it is the day minus the
//! due date.
//!
//! The projection and the fold are one computation (`compute`): the projection is the
//! fold over every fact on record, a status for a day before some of them is the fold as
//! of that day. `status_folded` gives the fold's answer, against which the property test
//! and `hjul doctor` check the projection.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;
use hjul_wheel::{
    AgreementState, Area, Deadline, Level, NextDeadline, Party, Score, Step, WheelDefinition,
};
use sea_orm::sea_query::{Alias, Expr, JoinType, LockType, Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, Change};
use crate::entity::{cycle, organisation_version, person, unit, unit_event, unit_standing};
use crate::facts::level_of;
use crate::facts::{
    BY_ID, definition_of, fold_events, insert_chunked, level_on_record, milestones_of,
    recorded_years,
};
use crate::status::{AgreementView, StatusFilter, StatusRow, scores};
use crate::{Stamp, Store, StoreError};

/// Which units a computation covers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Which<'a> {
    All,
    Units(&'a [String]),
}

/// What `status` shows of one unit in a cycle, but for how many days late it is, which
/// is the day asked minus the due date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Projected {
    pub unit_id: String,
    pub step: Option<Step>,
    pub next_deadline: Option<NextDeadline>,
    pub responsible: Party,
    /// The unit whose leader is to act; `None`: the secretariat.
    pub responsible_unit: Option<String>,
    pub agreement: Option<AgreementState>,
    pub score: Option<Score>,
    /// The latest day of any fact counted (an event, a milestone, a grade): a status
    /// asked for an earlier day cannot use this row.
    pub facts_through: Option<NaiveDate>,
}

impl Projected {
    fn overdue_days(&self, at: NaiveDate) -> i64 {
        self.next_deadline.map_or(0, |n| n.overdue_days(at))
    }

    /// The row kept for this unit: a rewrite (`revision`) the tick has not looked at.
    fn active_model(&self, cycle: i32, revision: i64, counted: i64) -> unit_standing::ActiveModel {
        unit_standing::ActiveModel {
            cycle: Set(cycle),
            unit_id: Set(self.unit_id.clone()),
            step: Set(self.step),
            next_deadline: Set(self.next_deadline.map(|n| n.deadline)),
            next_due: Set(self.next_deadline.map(|n| n.due)),
            responsible: Set(self.responsible.key().to_owned()),
            responsible_unit: Set(self.responsible_unit.clone()),
            agreement: Set(self.agreement),
            score: Set(self
                .score
                .and_then(|s| i32::try_from(s.basis_points()).ok())),
            facts_through: Set(self.facts_through),
            mail_at: Set(None),
            revision: Set(revision),
            counted: Set(counted),
        }
    }

    /// A kept row, or `None` when a key in it names nothing (then the unit is folded).
    fn from_model(m: unit_standing::Model) -> Option<Self> {
        Some(Self {
            step: m.step,
            next_deadline: match (m.next_deadline, m.next_due) {
                (Some(deadline), Some(due)) => Some(NextDeadline { deadline, due }),
                (None, None) => None,
                _ => return None,
            },
            responsible: Party::parse(&m.responsible)?,
            responsible_unit: m.responsible_unit,
            agreement: m.agreement,
            score: match m.score {
                Some(s) => Some(Score::from_basis_points(u32::try_from(s).ok()?)),
                None => None,
            },
            facts_through: m.facts_through,
            unit_id: m.unit_id,
        })
    }

    /// What differs between this (kept) and `other` (from the events), field by field.
    pub fn differences(&self, other: &Projected) -> Vec<String> {
        let mut out = Vec::new();
        let mut field = |name: &str, a: String, b: String| {
            if a != b {
                out.push(format!("{name}: kept {a}, from the events {b}"));
            }
        };
        let show = |v: Option<String>| v.unwrap_or_else(|| "none".into());
        field(
            "step",
            show(self.step.map(|s| s.key().into())),
            show(other.step.map(|s| s.key().into())),
        );
        let next =
            |n: Option<NextDeadline>| show(n.map(|n| format!("{} due {}", n.deadline, n.due)));
        field(
            "next deadline",
            next(self.next_deadline),
            next(other.next_deadline),
        );
        field(
            "responsible",
            format!(
                "{} ({})",
                self.responsible,
                show(self.responsible_unit.clone())
            ),
            format!(
                "{} ({})",
                other.responsible,
                show(other.responsible_unit.clone())
            ),
        );
        field(
            "agreement",
            show(self.agreement.map(|a| a.key().into())),
            show(other.agreement.map(|a| a.key().into())),
        );
        field(
            "score",
            show(self.score.map(|s| s.to_string())),
            show(other.score.map(|s| s.to_string())),
        );
        field(
            "facts through",
            show(self.facts_through.map(|d| d.to_string())),
            show(other.facts_through.map(|d| d.to_string())),
        );
        out
    }
}

/// The units a computation read, with every unit above them, and their leaders: whom a
/// responsible unit's address resolves to.
pub(crate) struct Units {
    units: HashMap<String, unit::Model>,
    people: HashMap<Uuid, (String, String)>,
}

impl Units {
    /// The address and name of whoever acts for `responsible_unit`: its leader, or the
    /// secretariat.
    fn person(
        &self,
        responsible_unit: Option<&str>,
        secretariat: Option<&str>,
    ) -> (String, String) {
        responsible_unit
            .and_then(|u| self.units.get(u))
            .and_then(|u| self.people.get(&u.leader_id))
            .cloned()
            .unwrap_or_else(|| secretariat_person(secretariat))
    }

    /// The unit whose leader acts as `party` for `u`, or `None` for the secretariat.
    fn responsible_unit(&self, u: &unit::Model, level: Level, party: Party) -> Option<String> {
        let up = |u: &unit::Model| u.parent_id.as_ref().and_then(|p| self.units.get(p));
        hjul_wheel::acting_unit(hjul_wheel::chain(u, up), |u| u.level, level, party)
            .map(|acting| acting.id.clone())
    }
}

fn secretariat_person(secretariat: Option<&str>) -> (String, String) {
    (
        secretariat.unwrap_or("secretariat").to_owned(),
        String::new(),
    )
}

/// Reads `which` units with every unit above them, and their leaders.
async fn read_units(db: &impl ConnectionTrait, which: Which<'_>) -> Result<Units, StoreError> {
    let units: Vec<unit::Model> = match which {
        Which::All => unit::Entity::find().all(db).await?,
        Which::Units(ids) => {
            let mut found: HashMap<String, unit::Model> = HashMap::new();
            let mut next: HashSet<String> = ids.iter().cloned().collect();
            // At most four levels; the bound also stops a cycle in bad data.
            for _ in 0..8 {
                if next.is_empty() {
                    break;
                }
                let batch = unit::Entity::find()
                    .filter(unit::Column::Id.is_in(next.drain()))
                    .all(db)
                    .await?;
                for u in batch {
                    if let Some(p) = &u.parent_id
                        && !found.contains_key(p)
                    {
                        next.insert(p.clone());
                    }
                    found.insert(u.id.clone(), u);
                }
                next.retain(|id| !found.contains_key(id));
            }
            found.into_values().collect()
        }
    };
    let people = match which {
        Which::All => person::Entity::find().all(db).await?,
        Which::Units(_) => {
            person::Entity::find()
                .filter(person::Column::Id.is_in(units.iter().map(|u| u.leader_id)))
                .all(db)
                .await?
        }
    };
    Ok(Units {
        units: units.into_iter().map(|u| (u.id.clone(), u)).collect(),
        people: people
            .into_iter()
            .map(|p| (p.id, (p.email, p.name)))
            .collect(),
    })
}

/// Folds the facts of cycle `year` through `through` (every fact with `None`) into what
/// `status` shows of each active unit `which` covers. One computation for the projection
/// and for a status asked for an earlier day, so the two cannot drift apart.
pub(crate) async fn compute(
    db: &impl ConnectionTrait,
    definition: &WheelDefinition,
    year: i32,
    through: Option<NaiveDate>,
    which: Which<'_>,
) -> Result<(Vec<Projected>, Units), StoreError> {
    let plan = definition.cycle(year)?;
    let milestones = milestones_of(db, year, through).await?;
    // The milestones the fold counts, read once: their latest day is a fact of every unit.
    let last_milestone = Deadline::MILESTONES
        .into_iter()
        .filter_map(|m| milestones.met_on(m))
        .max();
    let units = read_units(db, which).await?;
    let started = crate::facts::started_at(db, year).await?;

    let mut events = unit_event::Entity::find().filter(unit_event::Column::Cycle.eq(year));
    if let Some(t) = through {
        events = events.filter(unit_event::Column::On.lte(t));
    }
    if let Which::Units(ids) = which {
        events = events.filter(unit_event::Column::UnitId.is_in(ids.iter().cloned()));
    }
    let mut by_unit: HashMap<String, Vec<unit_event::Model>> = HashMap::new();
    for e in events.order_by_asc(unit_event::Column::Id).all(db).await? {
        by_unit.entry(e.unit_id.clone()).or_default().push(e);
    }
    let (scores, graded_on) = match which {
        Which::All => scores(db, year, through, None).await?,
        Which::Units(ids) => {
            let mut all = (HashMap::new(), HashMap::new());
            for id in ids {
                let (s, g) = scores(db, year, through, Some(id)).await?;
                all.0.extend(s);
                all.1.extend(g);
            }
            all
        }
    };

    let targets: Vec<&unit::Model> = match which {
        Which::All => units.units.values().collect(),
        Which::Units(ids) => ids.iter().filter_map(|id| units.units.get(id)).collect(),
    };
    // How late does not matter here: the day only counts the days past due, which the
    // projection leaves to the reader.
    let any_day = plan.cycle().starts();
    let mut out = Vec::with_capacity(targets.len());
    for u in targets.into_iter().filter(|u| u.active) {
        let Some(level) = level_of(u) else { continue };
        let recorded = by_unit.get(&u.id);
        let mut facts = fold_events(recorded.into_iter().flatten());
        facts.joined = crate::facts::joined(u, started, definition);
        let standing = plan.standing(level, &milestones, &facts, through.unwrap_or(any_day));
        let revision_in_force = facts
            .agreement
            .as_ref()
            .and_then(|a| a.in_force)
            .map(|s| s.revision);
        let facts_through = recorded
            .into_iter()
            .flatten()
            .map(|e| e.on)
            .chain(last_milestone)
            .chain(graded_on.get(&u.id).copied())
            .max();
        out.push(Projected {
            unit_id: u.id.clone(),
            step: standing.step,
            next_deadline: standing.next_deadline,
            responsible: standing.responsible,
            responsible_unit: units.responsible_unit(u, level, standing.responsible),
            agreement: standing.agreement,
            score: revision_in_force.and_then(|r| scores.get(&(u.id.clone(), r)).copied()),
            facts_through,
        });
    }
    Ok((out, units))
}

/// Replaces the projection of `which` units in cycle `year` with what the events give,
/// inside the caller's transaction. A cycle not on record has no projection.
pub(crate) async fn refresh(
    db: &impl ConnectionTrait,
    year: i32,
    which: Which<'_>,
) -> Result<usize, StoreError> {
    // Serialises the writers of a cycle's projection (several instances on PostgreSQL):
    // the facts are read after the lock, so whoever writes last has seen every change
    // committed before. NO KEY UPDATE, not UPDATE: a row that refers to the cycle holds a
    // key share on it, which two writers both hold; they must not wait for each other's.
    // SQLite has no row locks and serialises writers by itself.
    let Some(c) = cycle::Entity::find_by_id(year)
        .lock(LockType::NoKeyUpdate)
        .one(db)
        .await?
    else {
        return Ok(0);
    };
    let counted = count_change(db, year).await?;
    let definition = definition_of(&c)?;
    let (rows, _) = compute(db, &definition, year, None, which).await?;
    let mut delete =
        unit_standing::Entity::delete_many().filter(unit_standing::Column::Cycle.eq(year));
    if let Which::Units(ids) = which {
        delete = delete.filter(unit_standing::Column::UnitId.is_in(ids.iter().cloned()));
    }
    delete.exec(db).await?;
    let written = rows.len();
    // Random, so no two rewrites of a row share one: the tick's record of what it found
    // holds only for the rewrite it read (`record_looked`).
    let revision = i64::from_ne_bytes(
        Uuid::new_v4().as_bytes()[..8]
            .try_into()
            .unwrap_or_default(),
    );
    insert_chunked::<unit_standing::Entity>(
        db,
        rows.iter()
            .map(|r| r.active_model(year, revision, counted))
            .collect(),
    )
    .await?;
    Ok(written)
}

/// Counts up the cycle's `standing_version`, which says every kept `status` answer of
/// the cycle is out of date, inside the caller's transaction: whoever reads the count
/// after the commit reads the change too. The caller holds (or takes here) the cycle
/// row's lock, so writers count one after another. Returns the new count, which the
/// rows the change writes carry (`unit_standing.counted`).
pub(crate) async fn count_change(db: &impl ConnectionTrait, year: i32) -> Result<i64, StoreError> {
    cycle::Entity::update_many()
        .col_expr(
            cycle::Column::StandingVersion,
            // Not imported: `ExprTrait` is implemented for every type, `i64` too.
            sea_orm::sea_query::ExprTrait::add(Expr::col(cycle::Column::StandingVersion), 1),
        )
        .filter(cycle::Column::Year.eq(year))
        .exec(db)
        .await?;
    // Read back in the same transaction, which holds the row: no one else's count.
    Ok(standing_version(db, year).await?.unwrap_or_default())
}

/// The cycle's count of changes (`standing_version`); `None`: the cycle has not started.
pub(crate) async fn standing_version(
    db: &impl ConnectionTrait,
    year: i32,
) -> Result<Option<i64>, StoreError> {
    Ok(cycle::Entity::find_by_id(year)
        .select_only()
        .column(cycle::Column::StandingVersion)
        .into_tuple()
        .one(db)
        .await?)
}

/// The organisation's count of imports that changed a unit or a person.
pub(crate) async fn organisation_version(
    db: &impl ConnectionTrait,
) -> Result<Option<i64>, StoreError> {
    Ok(organisation_version::Entity::find()
        .select_only()
        .column(organisation_version::Column::Version)
        .into_tuple()
        .one(db)
        .await?)
}

/// Serialises what reads the whole unit tree for the projection against what changes it,
/// on PostgreSQL: an organisation import, and a cycle's start (which computes every
/// unit's row). Without it a cycle started while an import is uncommitted would read the
/// old tree, and the import would not see the new cycle to refresh it. Held to the end
/// of the transaction; SQLite runs one writer at a time anyway.
pub(crate) async fn lock_unit_tree(db: &impl ConnectionTrait) -> Result<(), StoreError> {
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({UNIT_TREE_LOCK})"))
            .await?;
    }
    Ok(())
}

/// The key of the advisory lock on the unit tree: arbitrary and hjul's own ("hjul" in
/// ASCII). Public for the test that holds it from another session.
pub const UNIT_TREE_LOCK: i64 = 1_752_790_380;

/// Refreshes `which` units in every cycle on record: what an organisation import moves
/// (a unit's place in the tree is in every cycle's answer).
pub(crate) async fn refresh_recorded(
    db: &impl ConnectionTrait,
    which: Which<'_>,
) -> Result<usize, StoreError> {
    let mut written = 0;
    for year in recorded_years(db).await? {
        written += refresh(db, year, which).await?;
    }
    Ok(written)
}

/// A unit whose kept standing differs from what its events give.
#[derive(Debug, Clone, Serialize)]
pub struct StandingDifference {
    pub cycle: i32,
    pub unit_id: String,
    /// What is kept; `None`: no row (or one hjul cannot read).
    pub kept: Option<Projected>,
    /// What the events give; `None`: the unit should have no row (inactive or gone).
    pub computed: Option<Projected>,
}

impl StandingDifference {
    /// What differs, in a line a person can read.
    pub fn describe(&self) -> String {
        match (&self.kept, &self.computed) {
            (None, Some(_)) => "no standing kept".into(),
            (Some(_), None) => "standing kept for a unit that is not active".into(),
            (Some(k), Some(c)) => k.differences(c).join("; "),
            (None, None) => String::new(),
        }
    }
}

/// The projection read by `status`: every active unit that `filter` keeps, with its kept
/// standing (when there is one) and the leader who is to act.
fn projection_query(year: i32, at: NaiveDate, filter: &StatusFilter) -> SelectStatement {
    // In here only: the trait is implemented for every type, numbers included.
    use sea_orm::sea_query::ExprTrait as _;
    let (u, s, r, p) = (
        Alias::new("u"),
        Alias::new("s"),
        Alias::new("r"),
        Alias::new("p"),
    );
    let mut q = Query::select();
    q.expr_as(Expr::col((u.clone(), unit::Column::Id)), Alias::new("id"))
        .expr_as(
            Expr::col((u.clone(), unit::Column::Name)),
            Alias::new("name"),
        )
        .expr_as(
            Expr::col((u.clone(), unit::Column::Level)),
            Alias::new("level"),
        )
        .expr_as(
            Expr::col((u.clone(), unit::Column::Area)),
            Alias::new("area"),
        );
    for c in [
        unit_standing::Column::Cycle,
        unit_standing::Column::Step,
        unit_standing::Column::NextDeadline,
        unit_standing::Column::NextDue,
        unit_standing::Column::Responsible,
        unit_standing::Column::ResponsibleUnit,
        unit_standing::Column::Agreement,
        unit_standing::Column::Score,
        unit_standing::Column::FactsThrough,
    ] {
        q.column((s.clone(), c));
    }
    q.expr_as(
        Expr::col((p.clone(), person::Column::Email)),
        Alias::new("who"),
    )
    .expr_as(
        Expr::col((p.clone(), person::Column::Name)),
        Alias::new("who_name"),
    )
    .from_as(unit::Entity, u.clone())
    .join_as(
        JoinType::LeftJoin,
        unit_standing::Entity,
        s.clone(),
        Expr::col((s.clone(), unit_standing::Column::UnitId))
            .equals((u.clone(), unit::Column::Id))
            .and(Expr::col((s.clone(), unit_standing::Column::Cycle)).eq(year)),
    )
    .join_as(
        JoinType::LeftJoin,
        unit::Entity,
        r.clone(),
        Expr::col((r.clone(), unit::Column::Id))
            .equals((s.clone(), unit_standing::Column::ResponsibleUnit)),
    )
    .join_as(
        JoinType::LeftJoin,
        person::Entity,
        p.clone(),
        Expr::col((p, person::Column::Id)).equals((r, unit::Column::LeaderId)),
    )
    .and_where(Expr::col((u.clone(), unit::Column::Active)).eq(true));
    if let Some(area) = filter.area {
        q.and_where(Expr::col((u.clone(), unit::Column::Area)).eq(area.key()));
    }
    if let Some(level) = filter.level {
        q.and_where(Expr::col((u, unit::Column::Level)).eq(i16::from(level.number())));
    }
    if filter.overdue {
        // Past due today; a unit without a usable row is kept and folded.
        q.and_where(
            Expr::col((s.clone(), unit_standing::Column::NextDue))
                .lt(at)
                .or(Expr::col((s.clone(), unit_standing::Column::Cycle)).is_null())
                .or(Expr::col((s, unit_standing::Column::FactsThrough)).gt(at)),
        );
    }
    q
}

#[allow(clippy::too_many_arguments)]
fn status_row(
    unit_id: String,
    name: String,
    level: Level,
    area: Area,
    cycle: i32,
    p: &Projected,
    at: NaiveDate,
    (responsible, responsible_name): (String, String),
) -> StatusRow {
    StatusRow {
        unit_id,
        name,
        level: level.number(),
        area,
        cycle,
        step: p.step,
        next_deadline: p.next_deadline,
        overdue_days: p.overdue_days(at),
        responsible,
        responsible_name,
        agreement: p.agreement.map(|state| AgreementView {
            state,
            score: p.score,
        }),
    }
}

/// The order of `status`: level, area, unit.
fn order(r: &StatusRow) -> (u8, &str, &str) {
    (r.level, r.area.key(), &r.unit_id)
}

fn finish(mut rows: Vec<StatusRow>, filter: &StatusFilter) -> Vec<StatusRow> {
    if filter.overdue {
        rows.retain(|r| r.overdue_days > 0);
    }
    // In Rust, not SQL: PostgreSQL's collation would order ids differently from SQLite's.
    rows.sort_by(|a, b| order(a).cmp(&order(b)));
    rows
}

/// A kept answer with the rows read again put in place of theirs. A unit changes its
/// level or area only by an import, after which every row is read, so each row read
/// again replaces one in the same place (or, for a unit the answer lacked, goes in its
/// place in the order).
fn replace_rows(kept: &Arc<Vec<StatusRow>>, changed: Vec<StatusRow>) -> Arc<Vec<StatusRow>> {
    if changed.is_empty() {
        return kept.clone();
    }
    let mut rows = Vec::clone(kept);
    for row in changed {
        match rows.binary_search_by(|r| order(r).cmp(&order(&row))) {
            Ok(i) => rows[i] = row,
            Err(i) => rows.insert(i, row),
        }
    }
    Arc::new(rows)
}

/// Which `status` answer: the cycle, the day and the secretariat's address.
#[derive(PartialEq, Eq)]
struct StatusKey {
    year: i32,
    at: NaiveDate,
    secretariat: Option<String>,
}

/// A `status` answer kept in memory: every active unit's row on one day, as of one count
/// of its cycle's changes (`cycle.standing_version`). Any change on any instance counts
/// up, so an answer is given again only while nothing it shows has changed. Each answer
/// has a lock of its own: one reader reads a changed answer while the others wait for
/// it, and a reader of another day waits for no one.
pub(crate) struct KeptStatus {
    key: StatusKey,
    kept: tokio::sync::Mutex<Option<KeptRows>>,
}

/// One kept answer and the counts it was read at.
struct KeptRows {
    /// The cycle's `standing_version`: rows written after it are read again.
    version: i64,
    /// The organisation's version: an import may rename or move any unit or person
    /// without rewriting its row, so after one every row is read again.
    organisation: i64,
    rows: Arc<Vec<StatusRow>>,
    /// Whether a row was folded because its unit's facts come after the day: such a row
    /// is not the projection's, so no later day's answer is derived from this one.
    folded: bool,
}

impl KeptRows {
    /// The same answer on a later day of the cycle, if this one can give it: every row
    /// is the projection's (its facts on or before this day, so on or before the later
    /// one too), and of a projection row only the days overdue change with the day. A
    /// new day (the weekly digest, the first page on a Monday) then reads only what
    /// changed since, not every row.
    fn on_later_day(&self, at: NaiveDate) -> Option<Self> {
        if self.folded {
            return None;
        }
        let rows = self
            .rows
            .iter()
            .map(|r| StatusRow {
                overdue_days: r.next_deadline.map_or(0, |n| n.overdue_days(at)),
                ..r.clone()
            })
            .collect();
        Some(Self {
            version: self.version,
            organisation: self.organisation,
            rows: Arc::new(rows),
            folded: false,
        })
    }
}

/// The answers kept, the latest asked for last.
pub(crate) type KeptAnswers = Vec<Arc<KeptStatus>>;

/// Answers kept at once: today's for the pages and the API (the secretariat's address),
/// the report's or a digest's (none), and two other days asked for. Each is about 300
/// bytes a unit; the oldest asked for goes first.
const KEPT_STATUS: usize = 4;

impl StatusFilter {
    /// Whether `row` is one this filter shows.
    pub fn keeps(&self, row: &StatusRow) -> bool {
        self.area.is_none_or(|a| a == row.area)
            && self.level.is_none_or(|l| l.number() == row.level)
            && (!self.overdue || row.overdue_days > 0)
    }
}

impl Store {
    /// Where every active unit stands on `at` (see `status_read`), filtered; from the
    /// answer kept in memory while nothing it shows has changed.
    pub async fn status(
        &self,
        at: NaiveDate,
        filter: &StatusFilter,
        secretariat: Option<&str>,
    ) -> Result<Vec<StatusRow>, StoreError> {
        Ok(self
            .status_all(at, secretariat)
            .await?
            .iter()
            .filter(|r| filter.keeps(r))
            .cloned()
            .collect())
    }

    /// Where every active unit stands on `at`, in the order of `status`, shared: a page
    /// or a filter reads what it needs of it without copying the rest. Read from the
    /// projection once per change (on any instance) and kept until the next: asking again
    /// costs one read of the cycle's count of changes.
    pub async fn status_all(
        &self,
        at: NaiveDate,
        secretariat: Option<&str>,
    ) -> Result<Arc<Vec<StatusRow>>, StoreError> {
        let year = self.wheel.definition.cycles.cycle_containing(at).year();
        // Read before the rows: a change committed in between is in the rows, or counts
        // past this version and is read again next time; never kept as if older.
        let Some(version) = standing_version(&self.db, year).await? else {
            // Not started: nothing is kept, and only a cycle's start changes that.
            let rows = self
                .status_folded(at, &StatusFilter::default(), secretariat)
                .await?;
            return Ok(Arc::new(rows));
        };
        let key = StatusKey {
            year,
            at,
            secretariat: secretariat.map(str::to_owned),
        };
        let slot = {
            let mut slots = self
                .status_cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(i) = slots.iter().position(|s| s.key == key) {
                // The latest asked for goes last, so the oldest is the one to go.
                let slot = slots.remove(i);
                slots.push(slot.clone());
                slot
            } else {
                if slots.len() >= KEPT_STATUS {
                    slots.remove(0);
                }
                let slot = Arc::new(KeptStatus {
                    key,
                    kept: tokio::sync::Mutex::new(None),
                });
                slots.push(slot.clone());
                slot
            }
        };
        let mut kept = slot.kept.lock().await;
        if kept.is_none() {
            *kept = self.earlier_day(&slot.key);
        }
        if let Some(k) = kept.as_ref()
            && k.version >= version
        {
            return Ok(k.rows.clone());
        }
        // Read after the cycle's count, before the rows, for the same reason.
        let organisation = organisation_version(&self.db).await?.unwrap_or_default();
        let (rows, folded) = match kept.as_ref() {
            // Only rows rewritten since: a change of one unit reads one row.
            Some(k) if k.organisation == organisation => {
                let (changed, folded) = self
                    .read_projection(at, &StatusFilter::default(), secretariat, Some(k.version))
                    .await?;
                (replace_rows(&k.rows, changed), k.folded || folded)
            }
            _ => {
                let (rows, folded) = self
                    .read_projection(at, &StatusFilter::default(), secretariat, None)
                    .await?;
                (Arc::new(rows), folded)
            }
        };
        *kept = Some(KeptRows {
            version,
            organisation,
            rows: rows.clone(),
            folded,
        });
        Ok(rows)
    }

    /// A start for the kept answer of `key` from the latest earlier day's kept answer of
    /// the same cycle and secretariat, if there is one no reader holds just now.
    fn earlier_day(&self, key: &StatusKey) -> Option<KeptRows> {
        let slots = self
            .status_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        slots
            .iter()
            .filter(|s| {
                s.key.year == key.year && s.key.secretariat == key.secretariat && s.key.at < key.at
            })
            .max_by_key(|s| s.key.at)
            // Never waits: a reader of that day (perhaps waiting on this one's lock) would
            // otherwise hold up this one, and reading afresh is always right.
            .and_then(|s| s.kept.try_lock().ok()?.as_ref()?.on_later_day(key.at))
    }

    /// Where every active unit stands on `at`, in the cycle running that day, read from
    /// the standing projection now (`status` keeps it); a unit whose kept standing counts
    /// facts after `at` (a status asked for an earlier day) is folded from its events
    /// instead. `secretariat` is the address deadlines of the secretariat go to.
    pub async fn status_read(
        &self,
        at: NaiveDate,
        filter: &StatusFilter,
        secretariat: Option<&str>,
    ) -> Result<Vec<StatusRow>, StoreError> {
        Ok(self.read_projection(at, filter, secretariat, None).await?.0)
    }

    /// `status_read`, of the units whose row was written after the cycle's count
    /// `since` only (all with `None`); and whether a row was folded for facts after `at`.
    async fn read_projection(
        &self,
        at: NaiveDate,
        filter: &StatusFilter,
        secretariat: Option<&str>,
        since: Option<i64>,
    ) -> Result<(Vec<StatusRow>, bool), StoreError> {
        let db = &self.db;
        let year = self.wheel.definition.cycles.cycle_containing(at).year();
        let Some(c) = cycle::Entity::find_by_id(year).one(db).await? else {
            // Not started: nothing is kept, and nothing has happened in it either.
            return Ok((self.status_folded(at, filter, secretariat).await?, true));
        };
        let mut rows = Vec::new();
        let mut stale: Vec<String> = Vec::new();
        let mut query = projection_query(year, at, filter);
        if let Some(since) = since {
            query.and_where(sea_orm::sea_query::ExprTrait::gt(
                Expr::col((Alias::new("s"), unit_standing::Column::Counted)),
                since,
            ));
        }
        for r in db.query_all(&query).await? {
            let unit_id: String = r.try_get("", "id")?;
            let level = u8::try_from(r.try_get::<i16>("", "level")?)
                .ok()
                .and_then(Level::new);
            let area: Area = r.try_get("", "area")?;
            let Some(level) = level else {
                continue;
            };
            let kept = match r.try_get::<Option<i32>>("", "cycle")? {
                None => None,
                Some(_) => Projected::from_model(unit_standing::Model {
                    cycle: year,
                    unit_id: unit_id.clone(),
                    step: r.try_get("", "step")?,
                    next_deadline: r.try_get("", "next_deadline")?,
                    next_due: r.try_get("", "next_due")?,
                    responsible: r.try_get("", "responsible")?,
                    responsible_unit: r.try_get("", "responsible_unit")?,
                    agreement: r.try_get("", "agreement")?,
                    score: r.try_get("", "score")?,
                    facts_through: r.try_get("", "facts_through")?,
                    // What the scheduler keeps is not part of the answer.
                    mail_at: None,
                    revision: 0,
                    counted: 0,
                }),
            };
            match kept.filter(|k| k.facts_through.is_none_or(|d| d <= at)) {
                Some(k) => {
                    let who: Option<String> = r.try_get("", "who")?;
                    let who_name: Option<String> = r.try_get("", "who_name")?;
                    let person = match who {
                        Some(who) => (who, who_name.unwrap_or_default()),
                        None => secretariat_person(secretariat),
                    };
                    let name = r.try_get("", "name")?;
                    rows.push(status_row(unit_id, name, level, area, year, &k, at, person));
                }
                None => stale.push(unit_id),
            }
        }
        let folded = !stale.is_empty();
        if folded {
            let definition = definition_of(&c)?;
            let which = if stale.len() > BY_ID {
                Which::All
            } else {
                Which::Units(&stale)
            };
            let (folded, units) = compute(db, &definition, year, Some(at), which).await?;
            let wanted: HashSet<&String> = stale.iter().collect();
            for p in folded.iter().filter(|p| wanted.contains(&p.unit_id)) {
                rows.push(folded_row(&units, p, year, at, secretariat)?);
            }
        }
        Ok((finish(rows, filter), folded))
    }

    /// The same answer as `status`, by folding every event of the cycle: what the
    /// projection is checked against, and the answer for a cycle not started.
    pub async fn status_folded(
        &self,
        at: NaiveDate,
        filter: &StatusFilter,
        secretariat: Option<&str>,
    ) -> Result<Vec<StatusRow>, StoreError> {
        let db = &self.db;
        let year = self.wheel.definition.cycles.cycle_containing(at).year();
        let definition = match cycle::Entity::find_by_id(year).one(db).await? {
            Some(c) => definition_of(&c)?,
            None => self.wheel.definition.clone(),
        };
        let (folded, units) = compute(db, &definition, year, Some(at), Which::All).await?;
        let mut rows = Vec::with_capacity(folded.len());
        for p in &folded {
            let row = folded_row(&units, p, year, at, secretariat)?;
            if filter.area.is_some_and(|a| a != row.area)
                || filter.level.is_some_and(|l| l.number() != row.level)
            {
                continue;
            }
            rows.push(row);
        }
        Ok(finish(rows, filter))
    }

    /// Compares the kept standing of every cycle on record with what the events give;
    /// every difference is returned (none when the projection is right).
    pub async fn check_standing(&self) -> Result<Vec<StandingDifference>, StoreError> {
        let db = &self.db;
        let mut out = Vec::new();
        for c in cycle::Entity::find()
            .order_by_asc(cycle::Column::Year)
            .all(db)
            .await?
        {
            let definition = definition_of(&c)?;
            let (computed, _) = compute(db, &definition, c.year, None, Which::All).await?;
            let mut kept: HashMap<String, Option<Projected>> = unit_standing::Entity::find()
                .filter(unit_standing::Column::Cycle.eq(c.year))
                .all(db)
                .await?
                .into_iter()
                .map(|m| (m.unit_id.clone(), Projected::from_model(m)))
                .collect();
            for p in computed {
                match kept.remove(&p.unit_id).flatten() {
                    Some(k) if k == p => {}
                    k => out.push(StandingDifference {
                        cycle: c.year,
                        unit_id: p.unit_id.clone(),
                        kept: k,
                        computed: Some(p),
                    }),
                }
            }
            for (unit_id, k) in kept {
                out.push(StandingDifference {
                    cycle: c.year,
                    unit_id,
                    kept: k,
                    computed: None,
                });
            }
        }
        out.sort_by(|a, b| (a.cycle, &a.unit_id).cmp(&(b.cycle, &b.unit_id)));
        Ok(out)
    }

    /// Replaces the kept standing of every cycle on record with what the events give, in
    /// one transaction with its audit row. Returns the rows written.
    pub async fn rebuild_standing(&self, stamp: &Stamp) -> Result<usize, StoreError> {
        let (txn, _turn) = self.write().await?;
        let written = refresh_recorded(&txn, Which::All).await?;
        audit::log(
            &txn,
            stamp,
            Change::new("standing.rebuild", "unit_standing", "all".to_owned())
                .after(&serde_json::json!({ "rows": written })),
        )
        .await?;
        txn.commit().await?;
        Ok(written)
    }

    /// Builds the projection of every cycle on record that has none (a database migrated
    /// from before it was kept).
    pub(crate) async fn build_missing_standing(&self) -> Result<(), StoreError> {
        let (txn, _turn) = self.write().await?;
        for year in recorded_years(&txn).await? {
            let kept = unit_standing::Entity::find()
                .filter(unit_standing::Column::Cycle.eq(year))
                .one(&txn)
                .await?;
            if kept.is_none() {
                refresh(&txn, year, Which::All).await?;
            }
        }
        txn.commit().await?;
        Ok(())
    }
}

/// A status row from a fold, its names and addresses from the units it read.
fn folded_row(
    units: &Units,
    p: &Projected,
    year: i32,
    at: NaiveDate,
    secretariat: Option<&str>,
) -> Result<StatusRow, StoreError> {
    let u = units
        .units
        .get(&p.unit_id)
        .ok_or_else(|| StoreError::UnknownUnit(p.unit_id.clone()))?;
    let level = level_on_record(u)?;
    let area = u.area;
    Ok(status_row(
        u.id.clone(),
        u.name.clone(),
        level,
        area,
        year,
        p,
        at,
        units.person(p.responsible_unit.as_deref(), secretariat),
    ))
}
