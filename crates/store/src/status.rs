//! "Where does each institution stand": one row per active unit, and one unit's whole
//! timeline. The store reads; the wheel explains.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use hjul_wheel::agreement::Weight;
use hjul_wheel::agreement::{Dimension, GoalKind, Horizon};
use hjul_wheel::{
    AgreementState, Area, CyclePlan, DeadlineState, DeadlineStatus, Grade, Level, NextDeadline,
    Party, Score, Step, WheelDefinition,
};
use hjul_wheel::{Deadline, EventKind, UnitId};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::Serialize;
use uuid::Uuid;

use crate::entity::{agreement, cycle, goal, grade, milestone, person, unit, unit_event};
use crate::facts::{BY_ID, definition_of, fold_events, level_of, level_on_record, milestones_of};
use crate::{Store, StoreError};

/// Which units `status` shows.
#[derive(Debug, Clone, Default)]
pub struct StatusFilter {
    pub area: Option<Area>,
    pub level: Option<Level>,
    /// Only units whose next deadline is past due.
    pub overdue: bool,
}

impl StatusFilter {
    /// The filter's terms as the read log keeps them (those set).
    pub fn terms(&self) -> Vec<(&'static str, String)> {
        let mut terms = Vec::new();
        if let Some(a) = self.area {
            terms.push(("area", a.to_string()));
        }
        if let Some(l) = self.level {
            terms.push(("level", l.number().to_string()));
        }
        if self.overdue {
            terms.push(("overdue", "true".to_owned()));
        }
        terms
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusRow {
    pub unit_id: String,
    pub name: String,
    pub level: u8,
    pub area: Area,
    pub cycle: i32,
    pub step: Option<Step>,
    pub next_deadline: Option<NextDeadline>,
    pub overdue_days: i64,
    /// The address of whoever is to act next.
    pub responsible: String,
    /// Their name.
    pub responsible_name: String,
    pub agreement: Option<AgreementView>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgreementView {
    pub state: AgreementState,
    /// The weighted score in percent, once the midway grades are in.
    pub score: Option<Score>,
}

/// Everything read once for a status or a timeline.
struct Snapshot {
    year: i32,
    /// When the cycle was started, if it is on record: units added later joined it late.
    started: Option<DateTime<Utc>>,
    definition: WheelDefinition,
    units: HashMap<String, unit::Model>,
    people: HashMap<Uuid, (String, String)>,
}

impl Snapshot {
    fn plan(&self) -> Result<CyclePlan<'_>, StoreError> {
        Ok(self.definition.cycle(self.year)?)
    }

    /// The address of a party for a unit: its own leader, one up the chain, or the
    /// secretariat's address (when configured).
    fn address(
        &self,
        u: &unit::Model,
        level: Level,
        party: Party,
        secretariat: Option<&str>,
    ) -> String {
        self.person(u, level, party, secretariat).0
    }

    /// The address and name of a party for a unit.
    fn person(
        &self,
        u: &unit::Model,
        level: Level,
        party: Party,
        secretariat: Option<&str>,
    ) -> (String, String) {
        let secretariat = || {
            (
                secretariat.unwrap_or("secretariat").to_owned(),
                String::new(),
            )
        };
        let up = |u: &unit::Model| u.parent_id.as_ref().and_then(|p| self.units.get(p));
        hjul_wheel::acting_unit(hjul_wheel::chain(u, up), |u| u.level, level, party)
            .and_then(|acting| self.people.get(&acting.leader_id).cloned())
            .unwrap_or_else(secretariat)
    }
}

/// The ids of a cycle's agreements (of one unit's, with `unit`), as a subquery
/// (thousands of ids as parameters would be slow, and past SQLite's limit in a large
/// organisation).
fn of_cycle(year: i32, unit: Option<&str>) -> sea_orm::sea_query::SelectStatement {
    let mut q = sea_orm::sea_query::Query::select();
    q.column(agreement::Column::Id)
        .from(agreement::Entity)
        .and_where(agreement::Column::Cycle.eq(year));
    if let Some(unit) = unit {
        q.and_where(agreement::Column::UnitId.eq(unit));
    }
    q.to_owned()
}

/// The most units whose state is read a few at a time (`BY_ID` a statement, each an index
/// lookup); more are read with the whole cycle, whose rows then cost less than the
/// lookups (see docs/benchmarks.md, the whole cycle).
const BY_ID_CHUNKED: usize = 2_048;

impl Store {
    /// Reads the cycle's rules and the units: all of them, or with `chain` only that unit
    /// and those above it (what one unit's addresses need, whatever the organisation's size).
    async fn snapshot(
        &self,
        db: &impl ConnectionTrait,
        at: NaiveDate,
        chain: Option<&str>,
    ) -> Result<Snapshot, StoreError> {
        let year = self.wheel.definition.cycles.cycle_containing(at).year();
        let recorded = cycle::Entity::find_by_id(year).one(db).await?;
        let started = crate::facts::started_at(db, year).await?;
        let definition = match recorded {
            Some(c) => definition_of(&c)?,
            // Not started yet (or before hjul was in use): the rules it would start with.
            None => self.wheel.definition.clone(),
        };
        let (units, people) = match chain {
            None => (
                unit::Entity::find().all(db).await?,
                person::Entity::find().all(db).await?,
            ),
            Some(id) => {
                let mut units: Vec<unit::Model> = Vec::new();
                let mut next = Some(id.to_owned());
                // At most four levels; the bound also stops a cycle in bad data.
                while let Some(id) = next.take()
                    && units.len() < 8
                    && let Some(u) = unit::Entity::find_by_id(id).one(db).await?
                {
                    next.clone_from(&u.parent_id);
                    units.push(u);
                }
                let people = person::Entity::find()
                    .filter(person::Column::Id.is_in(units.iter().map(|u| u.leader_id)))
                    .all(db)
                    .await?;
                (units, people)
            }
        };
        let units = units.into_iter().map(|u| (u.id.clone(), u)).collect();
        let people = people
            .into_iter()
            .map(|p| (p.id, (p.email, p.name)))
            .collect();
        Ok(Snapshot {
            started,
            year,
            definition,
            units,
            people,
        })
    }

    /// One unit's whole story in the cycle running on `at`.
    pub async fn timeline(
        &self,
        unit: &UnitId,
        at: NaiveDate,
        secretariat: Option<&str>,
    ) -> Result<Timeline, StoreError> {
        let unit_id = unit.as_str();
        let db = &self.db;
        let snap = self.snapshot(db, at, Some(unit_id)).await?;
        let u = snap
            .units
            .get(unit_id)
            .ok_or_else(|| StoreError::UnknownUnit(unit_id.to_owned()))?;
        let level = level_on_record(u)?;
        let plan = snap.plan()?;
        let milestone_rows = milestone::Entity::find()
            .filter(milestone::Column::Cycle.eq(snap.year))
            .filter(milestone::Column::MetOn.lte(at))
            .all(db)
            .await?;
        let milestones = milestones_of(db, snap.year, Some(at)).await?;
        let events = unit_event::Entity::find()
            .filter(unit_event::Column::Cycle.eq(snap.year))
            .filter(unit_event::Column::UnitId.eq(unit_id))
            .filter(unit_event::Column::On.lte(at))
            .order_by_asc(unit_event::Column::Id)
            .all(db)
            .await?;
        let mut facts = fold_events(&events);
        facts.joined = crate::facts::joined(u, snap.started, &snap.definition);
        let standing = plan.standing(level, &milestones, &facts, at);
        let allowed = plan.allowed_events(level, &milestones, &facts, at);
        let why_not_sign = plan
            .apply(
                level,
                &milestones,
                &facts,
                hjul_wheel::UnitEvent::AgreementSigned { on: at },
                at,
            )
            .err();
        let leader = person::Entity::find_by_id(u.leader_id).one(db).await?;
        let parent = u.parent_id.as_ref().and_then(|p| snap.units.get(p));

        let agreements = agreement::Entity::find()
            .filter(agreement::Column::Cycle.eq(snap.year))
            .filter(agreement::Column::UnitId.eq(unit_id))
            .order_by_asc(agreement::Column::Revision)
            .all(db)
            .await?;
        let (scores, _) = scores(db, snap.year, Some(at), Some(unit_id)).await?;
        let (mut goals, mut grades) =
            goals_and_grades(db, of_cycle(snap.year, Some(unit_id))).await?;
        let views = agreements
            .into_iter()
            .map(|a| agreement_view(&a, &mut goals, &mut grades, &scores))
            .collect::<Result<_, _>>()?;

        Ok(Timeline {
            unit: UnitView {
                unit_id: u.id.clone(),
                name: u.name.clone(),
                level: level.number(),
                area: u.area,
                active: u.active,
                parent: parent.map(|p| (p.id.clone(), p.name.clone())),
                leader_name: leader.as_ref().map(|l| l.name.clone()).unwrap_or_default(),
                leader_email: leader.as_ref().map(|l| l.email.clone()).unwrap_or_default(),
            },
            cycle: snap.year,
            at,
            step: standing.step,
            next_deadline: standing.next_deadline,
            overdue_days: standing.overdue_days,
            responsible: snap.address(u, level, standing.responsible, secretariat),
            allowed,
            why_not_sign,
            joined: facts.joined,
            milestones: milestone_rows
                .into_iter()
                .map(MilestoneView::of)
                .collect::<Result<_, _>>()?,
            deadlines: standing
                .deadlines
                .iter()
                .map(|d| {
                    let (who, who_name) = snap.person(u, level, d.responsible, secretariat);
                    DeadlineView {
                        state: d.state(at),
                        who,
                        who_name,
                        status: d.clone(),
                    }
                })
                .collect(),
            events: {
                // Folded in the order recorded; shown in the order they happened (a
                // corrected date takes its place among the others).
                let mut shown = events;
                shown.sort_by_key(|e| (e.on, e.kind.rank(), e.recorded_at));
                shown
                    .into_iter()
                    .map(EventView::of)
                    .collect::<Result<_, _>>()?
            },
            agreements: views,
        })
    }
}

/// The weighted scores of cycle `year`'s agreements (of one unit's, with `unit`) by
/// (unit, revision), from the grades given through `through` (all with `None`); and the
/// day each unit was last graded.
pub(crate) async fn scores(
    db: &impl ConnectionTrait,
    year: i32,
    through: Option<NaiveDate>,
    unit: Option<&str>,
) -> Result<(HashMap<(String, u32), Score>, HashMap<String, NaiveDate>), StoreError> {
    let mut agreements = agreement::Entity::find().filter(agreement::Column::Cycle.eq(year));
    if let Some(unit) = unit {
        agreements = agreements.filter(agreement::Column::UnitId.eq(unit));
    }
    let agreements: HashMap<Uuid, agreement::Model> = agreements
        .all(db)
        .await?
        .into_iter()
        .map(|a| (a.id, a))
        .collect();
    let weights: HashMap<Uuid, i32> = goal::Entity::find()
        .filter(goal::Column::AgreementId.in_subquery(of_cycle(year, unit)))
        .all(db)
        .await?
        .into_iter()
        .map(|g| (g.id, g.weight))
        .collect();
    let mut graded: HashMap<Uuid, Vec<(Weight, Grade)>> = HashMap::new();
    let mut graded_on: HashMap<String, NaiveDate> = HashMap::new();
    let mut grades =
        grade::Entity::find().filter(grade::Column::AgreementId.in_subquery(of_cycle(year, unit)));
    if let Some(t) = through {
        grades = grades.filter(grade::Column::GivenOn.lte(t));
    }
    for g in grades.all(db).await? {
        if let Some(a) = agreements.get(&g.agreement_id) {
            let last = graded_on.entry(a.unit_id.clone()).or_insert(g.given_on);
            *last = (*last).max(g.given_on);
        }
        let weight = weights
            .get(&g.goal_id)
            .and_then(|w| Weight::new(i64::from(*w)));
        if let (Some(weight), Some(value)) = (weight, Some(g.grade)) {
            graded
                .entry(g.agreement_id)
                .or_default()
                .push((weight, value));
        }
    }
    let scores = graded
        .into_iter()
        .filter_map(|(id, grades)| {
            let a = agreements.get(&id)?;
            Some((
                (a.unit_id.clone(), u32::try_from(a.revision).ok()?),
                Score::weighted(grades),
            ))
        })
        .collect();
    Ok((scores, graded_on))
}

/// A unit's events and agreements in a cycle, as its timeline has them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UnitRecords {
    pub events: Vec<EventView>,
    pub agreements: Vec<AgreementRevisionView>,
}

impl Store {
    /// Every unit's events and agreements (with goals, grades and scores) in the cycle
    /// running on `at`, as of `at`, in six reads whatever the number of units: what a
    /// report over many units needs, where a timeline per unit would be a dozen reads
    /// each.
    pub async fn cycle_records(
        &self,
        at: NaiveDate,
    ) -> Result<HashMap<String, UnitRecords>, StoreError> {
        let db = &self.db;
        let year = self.wheel.definition.cycles.cycle_containing(at).year();
        let mut out: HashMap<String, UnitRecords> = HashMap::new();
        for e in unit_event::Entity::find()
            .filter(unit_event::Column::Cycle.eq(year))
            .filter(unit_event::Column::On.lte(at))
            .order_by_asc(unit_event::Column::Id)
            .all(db)
            .await?
        {
            out.entry(e.unit_id.clone())
                .or_default()
                .events
                .push(EventView::of(e)?);
        }
        let (scores, _) = scores(db, year, Some(at), None).await?;
        let (mut goals, mut grades) = goals_and_grades(db, of_cycle(year, None)).await?;
        for a in agreement::Entity::find()
            .filter(agreement::Column::Cycle.eq(year))
            .order_by_asc(agreement::Column::UnitId)
            .order_by_asc(agreement::Column::Revision)
            .all(db)
            .await?
        {
            let view = agreement_view(&a, &mut goals, &mut grades, &scores)?;
            out.entry(a.unit_id).or_default().agreements.push(view);
        }
        Ok(out)
    }
}

/// The goals (in their order) and grades of the agreements `of` selects, by agreement.
async fn goals_and_grades(
    db: &impl ConnectionTrait,
    of: sea_orm::sea_query::SelectStatement,
) -> Result<
    (
        HashMap<Uuid, Vec<goal::Model>>,
        HashMap<Uuid, HashMap<Uuid, grade::Model>>,
    ),
    StoreError,
> {
    let mut goals: HashMap<Uuid, Vec<goal::Model>> = HashMap::new();
    for g in goal::Entity::find()
        .filter(goal::Column::AgreementId.in_subquery(of.clone()))
        .order_by_asc(goal::Column::Position)
        .all(db)
        .await?
    {
        goals.entry(g.agreement_id).or_default().push(g);
    }
    let mut grades: HashMap<Uuid, HashMap<Uuid, grade::Model>> = HashMap::new();
    for g in grade::Entity::find()
        .filter(grade::Column::AgreementId.in_subquery(of))
        .all(db)
        .await?
    {
        grades
            .entry(g.agreement_id)
            .or_default()
            .insert(g.goal_id, g);
    }
    Ok((goals, grades))
}

/// An agreement revision as a timeline shows it, its goals and grades taken from those
/// read for it.
fn agreement_view(
    a: &agreement::Model,
    goals: &mut HashMap<Uuid, Vec<goal::Model>>,
    grades: &mut HashMap<Uuid, HashMap<Uuid, grade::Model>>,
    scores: &HashMap<(String, u32), Score>,
) -> Result<AgreementRevisionView, StoreError> {
    let goals = goals.remove(&a.id).unwrap_or_default();
    let grades = grades.remove(&a.id).unwrap_or_default();
    let revision = u32::try_from(a.revision).unwrap_or(0);
    // A goal's kinds were checked when it was submitted; one that reads as none of the
    // wheel's is a database edited by hand, said as such.
    let goals = goals
        .into_iter()
        .map(|g| {
            let grade = grades.get(&g.id);
            Ok(GoalView {
                dimension: g.dimension,
                kind: g.kind,
                horizon: g.horizon,
                grade: grade.map(|x| x.grade),
                title: g.title,
                weight: g.weight,
                indicator: g.indicator,
                baseline: g.baseline,
                partly_met: g.partly_met,
                fully_met: g.fully_met,
                activities: serde_json::from_str(&g.activities).unwrap_or_default(),
                target_date: g.target_date,
                measured: match (g.baseline_value, g.partly_met_value, g.fully_met_value) {
                    (Some(baseline), Some(partly_met), Some(fully_met)) => {
                        Some(hjul_wheel::agreement::Criteria {
                            baseline,
                            partly_met,
                            fully_met,
                        })
                    }
                    _ => None,
                },
                grade_note: grade.and_then(|x| x.note.clone()),
                proposed: grade.and_then(|x| x.proposed.clone()),
                evidence: grade
                    .and_then(|x| x.evidence.as_deref())
                    .and_then(|e| serde_json::from_str(e).ok()),
            })
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(AgreementRevisionView {
        revision,
        submitted_on: a.submitted_on,
        signed_on: a.signed_on,
        score: scores.get(&(a.unit_id.clone(), revision)).copied(),
        goals,
    })
}

impl EventView {
    fn of(e: unit_event::Model) -> Result<Self, StoreError> {
        let kind = e.kind;
        Ok(Self {
            id: e.id,
            superseded: e.superseded_by.is_some(),
            on: e.on,
            kind,
            revision: e.revision,
            notes: e.notes,
            for_report: e.for_report,
            recorded_at: e.recorded_at,
            recorded_by: e.recorded_by,
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub unit: UnitView,
    pub cycle: i32,
    pub at: NaiveDate,
    pub step: Option<Step>,
    pub next_deadline: Option<NextDeadline>,
    pub overdue_days: i64,
    pub responsible: String,
    /// The events the wheel's rules allow the unit on `at`.
    pub allowed: Vec<EventKind>,
    /// Why the agreement cannot be signed on `at`, when it cannot.
    #[serde(skip)]
    pub why_not_sign: Option<hjul_wheel::Refusal>,
    /// The day the unit came along, if it joined this cycle after it began (the next
    /// cycle's first day, while it sits this one out).
    pub joined: Option<NaiveDate>,
    pub milestones: Vec<MilestoneView>,
    pub deadlines: Vec<DeadlineView>,
    pub events: Vec<EventView>,
    pub agreements: Vec<AgreementRevisionView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitView {
    pub unit_id: String,
    pub name: String,
    pub level: u8,
    pub area: Area,
    pub active: bool,
    pub parent: Option<(String, String)>,
    pub leader_name: String,
    pub leader_email: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MilestoneView {
    pub milestone: Deadline,
    pub met_on: NaiveDate,
    pub themes: Vec<String>,
}

impl MilestoneView {
    fn of(m: milestone::Model) -> Result<Self, StoreError> {
        Ok(Self {
            milestone: m.deadline,
            met_on: m.met_on,
            themes: m
                .themes
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or_default(),
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadlineView {
    #[serde(flatten)]
    pub status: DeadlineStatus,
    pub state: DeadlineState,
    /// The responsible party's address.
    pub who: String,
    /// Their name (empty for the secretariat).
    pub who_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub id: Uuid,
    /// Corrected: replaced by another event or withdrawn; it no longer counts.
    pub superseded: bool,
    pub on: NaiveDate,
    pub kind: EventKind,
    pub revision: Option<i32>,
    pub notes: Option<String>,
    /// The notes may be quoted in the quality report.
    pub for_report: bool,
    pub recorded_at: DateTime<Utc>,
    pub recorded_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgreementRevisionView {
    pub revision: u32,
    pub submitted_on: NaiveDate,
    pub signed_on: Option<NaiveDate>,
    pub score: Option<Score>,
    pub goals: Vec<GoalView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GoalView {
    pub title: String,
    pub dimension: Dimension,
    pub kind: GoalKind,
    pub horizon: Horizon,
    pub weight: i32,
    pub indicator: Option<String>,
    pub baseline: String,
    pub partly_met: String,
    pub fully_met: String,
    pub activities: Vec<String>,
    pub target_date: NaiveDate,
    /// The criteria as numbers on the indicator, when given.
    pub measured: Option<hjul_wheel::agreement::Criteria>,
    pub grade: Option<Grade>,
    pub grade_note: Option<String>,
    /// The grade hjul proposed at the midway status, and the measurement it rested on.
    pub proposed: Option<String>,
    pub evidence: Option<serde_json::Value>,
}

/// Every active unit's facts in a cycle, for the scheduler.
#[derive(Debug, Clone)]
pub struct CycleState {
    pub year: i32,
    /// Whether the cycle is on record (started); if not, `definition` is the current one.
    pub started: bool,
    pub definition: WheelDefinition,
    pub milestones: hjul_wheel::Milestones,
    pub units: Vec<UnitState>,
}

#[derive(Debug, Clone)]
pub struct UnitState {
    pub id: String,
    pub level: Level,
    pub area: Area,
    pub facts: hjul_wheel::UnitFacts,
}

impl Store {
    /// The department's milestones of cycle `year` as recorded, with their themes.
    pub async fn milestones(&self, year: i32) -> Result<Vec<MilestoneView>, StoreError> {
        milestone::Entity::find()
            .filter(milestone::Column::Cycle.eq(year))
            .all(&self.db)
            .await?
            .into_iter()
            .map(MilestoneView::of)
            .collect()
    }

    /// The state of every active unit in cycle `year`, as recorded.
    pub async fn cycle_state(&self, year: i32) -> Result<CycleState, StoreError> {
        self.cycle_state_of(year, None).await
    }

    /// The state of cycle `year` with the active units among `ids` (every active unit
    /// with `None`): what the steady tick reads of the few units it looks at.
    pub async fn cycle_state_of(
        &self,
        year: i32,
        ids: Option<&[String]>,
    ) -> Result<CycleState, StoreError> {
        let db = &self.db;
        let recorded = cycle::Entity::find_by_id(year).one(db).await?;
        let definition = match &recorded {
            Some(c) => definition_of(c)?,
            None => self.wheel.definition.clone(),
        };
        let milestones = milestones_of(db, year, None).await?;
        let started = crate::facts::started_at(db, year).await?;
        // A long list of ids is slow to bind (and past SQLite's limit): ids are read
        // `BY_ID` at a time, each an index lookup; only past `BY_ID_CHUNKED` of them is
        // the whole cycle read instead (a morning when every unit's mail is due), and the
        // rest left out here.
        let by_id = ids.filter(|ids| ids.len() <= BY_ID_CHUNKED);
        let wanted: Option<HashSet<&str>> = ids.map(|ids| ids.iter().map(String::as_str).collect());
        let (mut events, mut units) = (Vec::new(), Vec::new());
        let events_of_cycle =
            || unit_event::Entity::find().filter(unit_event::Column::Cycle.eq(year));
        let active = || unit::Entity::find().filter(unit::Column::Active.eq(true));
        // On PostgreSQL each statement is a round trip to another process, and a long
        // list binds cheaply (up to 65,535 parameters): one statement for them all.
        let per_statement = match db.get_database_backend() {
            sea_orm::DbBackend::Postgres => BY_ID_CHUNKED,
            _ => BY_ID,
        };
        match by_id {
            Some(ids) => {
                for chunk in ids.chunks(per_statement) {
                    events.extend(
                        events_of_cycle()
                            .filter(unit_event::Column::UnitId.is_in(chunk.iter().cloned()))
                            .order_by_asc(unit_event::Column::Id)
                            .all(db)
                            .await?,
                    );
                    units.extend(
                        active()
                            .filter(unit::Column::Id.is_in(chunk.iter().cloned()))
                            .all(db)
                            .await?,
                    );
                }
                // In the order of the whole read (a unit's events are all in its chunk,
                // already in order).
                units.sort_by(|a: &unit::Model, b| a.id.cmp(&b.id));
            }
            None => {
                events = events_of_cycle()
                    .order_by_asc(unit_event::Column::Id)
                    .all(db)
                    .await?;
                units = active().order_by_asc(unit::Column::Id).all(db).await?;
            }
        }
        let mut events_of: HashMap<String, Vec<unit_event::Model>> = HashMap::new();
        for e in events {
            if wanted
                .as_ref()
                .is_none_or(|w| w.contains(e.unit_id.as_str()))
            {
                events_of.entry(e.unit_id.clone()).or_default().push(e);
            }
        }
        let units = units
            .into_iter()
            .filter(|u| wanted.as_ref().is_none_or(|w| w.contains(u.id.as_str())))
            .filter_map(|u| {
                let mut facts = fold_events(events_of.get(&u.id).into_iter().flatten());
                facts.joined = crate::facts::joined(&u, started, &definition);
                Some(UnitState {
                    level: level_of(&u)?,
                    area: u.area,
                    facts,
                    id: u.id,
                })
            })
            .collect();
        Ok(CycleState {
            year,
            started: recorded.is_some(),
            definition,
            milestones,
            units,
        })
    }
}
