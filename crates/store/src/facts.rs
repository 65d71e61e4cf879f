//! What every change and read of the store shares inside its transaction: the
//! definition and catalogue a cycle keeps, the cycles on record, a unit's level, the
//! department's milestones, the fold of a unit's events into its facts, and writing rows
//! in chunks. It imports no module of the store but `entity`, so the modules above it
//! (records, corrections, the standing, the status, the organisation, the reports) import
//! each other one way only, never back.

use chrono::NaiveDate;
use hjul_wheel::{
    Deadline, EventKind, IndicatorCatalogue, Level, Milestones, UnitFacts, WheelDefinition,
};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use crate::entity::{cycle, milestone, organisation_version, unit, unit_event};
use crate::{OnRecord, StoreError};

/// Files parsed lately, by their text. A cycle's definition is read for every event,
/// timeline and tick; parsing and checking its TOML each time was a fortieth of the work
/// of a whole cycle. The text is the key, so an edited file is parsed afresh, and only
/// text that parsed is kept.
type Parsed<T> = std::sync::Mutex<Vec<(String, T)>>;

/// Files kept per kind: a handful of cycles are on record at once.
const KEPT_FILES: usize = 4;

static DEFINITIONS: Parsed<WheelDefinition> = std::sync::Mutex::new(Vec::new());

static CATALOGUES: Parsed<IndicatorCatalogue> = std::sync::Mutex::new(Vec::new());

fn parsed<T: Clone, E>(
    kept: &Parsed<T>,
    text: &str,
    parse: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let lock = || {
        kept.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some((_, value)) = lock().iter().find(|(t, _)| t == text) {
        return Ok(value.clone());
    }
    // Parsed outside the lock: another reader may parse the same text meanwhile, and
    // both keep the same value.
    let value = parse()?;
    let mut kept = lock();
    if !kept.iter().any(|(t, _)| t == text) {
        if kept.len() >= KEPT_FILES {
            kept.remove(0);
        }
        kept.push((text.to_owned(), value.clone()));
    }
    Ok(value)
}

/// The definition a recorded cycle runs under.
pub(crate) fn definition_of(c: &cycle::Model) -> Result<WheelDefinition, StoreError> {
    parsed(&DEFINITIONS, &c.definition_toml, || {
        WheelDefinition::from_toml(
            &c.definition_toml,
            &format!("wheel.toml of cycle {}", c.year),
        )
    })
    .map_err(|problem| StoreError::StoredDefinition {
        year: c.year,
        problem,
    })
}

/// The catalogue a recorded cycle keeps.
pub(crate) fn catalogue_of(c: &cycle::Model) -> Result<IndicatorCatalogue, StoreError> {
    parsed(&CATALOGUES, &c.catalogue_toml, || {
        IndicatorCatalogue::from_toml(
            &c.catalogue_toml,
            &format!("indicators.toml of cycle {}", c.year),
        )
    })
    .map_err(|problem| StoreError::StoredDefinition {
        year: c.year,
        problem,
    })
}

/// The years of the cycles on record.
pub(crate) async fn recorded_years(db: &impl ConnectionTrait) -> Result<Vec<i32>, StoreError> {
    use sea_orm::QuerySelect;
    Ok(cycle::Entity::find()
        .select_only()
        .column(cycle::Column::Year)
        // In order: the projection's writers lock cycles in this order, never crosswise.
        .order_by_asc(cycle::Column::Year)
        .into_tuple::<i32>()
        .all(db)
        .await?)
}

/// The department's milestones of a cycle, as recorded (up to `until`, when given).
pub(crate) async fn milestones_of(
    db: &impl ConnectionTrait,
    year: i32,
    until: Option<NaiveDate>,
) -> Result<Milestones, StoreError> {
    let mut ms = Milestones::default();
    let mut query = milestone::Entity::find().filter(milestone::Column::Cycle.eq(year));
    if let Some(until) = until {
        query = query.filter(milestone::Column::MetOn.lte(until));
    }
    for m in query.all(db).await? {
        match m.deadline {
            Deadline::DataCollected => ms.data_collected = Some(m.met_on),
            Deadline::ThemesPublished => ms.themes_published = Some(m.met_on),
            Deadline::ReportFinal => ms.report_final = Some(m.met_on),
            other => return Err(StoreError::OnRecord(OnRecord::Milestone(other))),
        }
    }
    Ok(ms)
}

/// Folds recorded events into facts: those still in force (not superseded by a
/// correction), in the order of the wheel (by date, revision and kind), so an event that
/// corrects another takes its place whenever it was recorded.
pub(crate) fn fold_events<'a>(
    events: impl IntoIterator<Item = &'a unit_event::Model>,
) -> UnitFacts {
    in_order(events)
        .into_iter()
        .fold(UnitFacts::default(), |facts, (kind, e)| {
            facts.with(kind.on(e.on))
        })
}

/// The day `u` joined the cycle that started at `started` (on record) when the unit was
/// added after it started (its import's date, in the municipality's zone): it then owes
/// only the deadlines due from that day on (`UnitFacts::joined`).
pub(crate) fn joined(
    u: &unit::Model,
    started: Option<chrono::DateTime<chrono::Utc>>,
    definition: &WheelDefinition,
) -> Option<NaiveDate> {
    let started = started?;
    (u.created_at > started).then(|| {
        // One that sits the cycle out comes along with the next one.
        u.comes_on.or(u.joined_on).unwrap_or_else(|| {
            u.created_at
                .with_timezone(&definition.mail_time.zone)
                .date_naive()
        })
    })
}

/// After when a unit added joined cycle `year` late: once the cycle was started (on
/// record) and the organisation first imported, whichever came last. The units of the
/// first import are the organisation the cycle runs with, even when the cycle started
/// a moment before (a municipality that begins with hjul in a running cycle).
pub(crate) async fn started_at(
    db: &impl ConnectionTrait,
    year: i32,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
    let Some(started) = cycle::Entity::find_by_id(year)
        .one(db)
        .await?
        .map(|c| c.started_at)
    else {
        return Ok(None);
    };
    let first_import = organisation_version::Entity::find()
        .one(db)
        .await?
        .and_then(|o| o.first_import_at);
    Ok(first_import.map(|f| f.max(started)))
}

/// The events in force, with their kinds, in the order of the wheel.
pub(crate) fn in_order<'a>(
    events: impl IntoIterator<Item = &'a unit_event::Model>,
) -> Vec<(EventKind, &'a unit_event::Model)> {
    let mut list: Vec<(EventKind, &unit_event::Model)> = events
        .into_iter()
        .filter(|e| e.superseded_by.is_none())
        .map(|e| (e.kind, e))
        .collect();
    list.sort_by_key(|(k, e)| (e.on, e.revision.unwrap_or(0), k.rank(), e.id));
    list
}

pub(crate) fn level_of(u: &unit::Model) -> Option<Level> {
    u8::try_from(u.level).ok().and_then(Level::new)
}

/// A unit's level as recorded, or the error of a record that holds no level of the
/// wheel's (a database edited by hand).
pub(crate) fn level_on_record(u: &unit::Model) -> Result<Level, StoreError> {
    level_of(u).ok_or_else(|| {
        StoreError::OnRecord(OnRecord::UnitLevel {
            unit: u.id.clone(),
            level: u.level,
        })
    })
}

pub(crate) async fn insert_chunked<E>(
    txn: &impl ConnectionTrait,
    rows: Vec<E::ActiveModel>,
) -> Result<(), StoreError>
where
    E: EntityTrait,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(500).collect();
        E::insert_many(chunk).exec_without_returning(txn).await?;
    }
    Ok(())
}

/// Above this many units a fold reads the whole cycle rather than the units by id (a
/// long list of ids is slow to bind, and past SQLite's limit in a large organisation).
pub(crate) const BY_ID: usize = 64;

/// A deadline of a unit in a cycle (a follow-up's: the time due on that day).
pub(crate) type DeadlineOf = (i32, String, Deadline, Option<NaiveDate>);

/// Which deadlines of these (cycle, unit) pairs are open: not met, and the unit's to meet
/// (not waiting for another, not due before it joined). Units are read whether active or
/// not: a unit closed in the same transaction still had them.
pub(crate) async fn open_deadlines<'a>(
    db: &impl ConnectionTrait,
    current: &WheelDefinition,
    pairs: impl IntoIterator<Item = (i32, &'a str)>,
) -> Result<std::collections::HashSet<DeadlineOf>, StoreError> {
    let mut by_cycle: std::collections::BTreeMap<i32, std::collections::BTreeSet<&str>> =
        std::collections::BTreeMap::new();
    for (cycle, unit) in pairs {
        by_cycle.entry(cycle).or_default().insert(unit);
    }
    let mut open = std::collections::HashSet::new();
    for (year, units) in by_cycle {
        let definition = match cycle::Entity::find_by_id(year).one(db).await? {
            Some(c) => definition_of(&c)?,
            None => current.clone(),
        };
        let Ok(plan) = definition.cycle(year) else {
            continue;
        };
        let milestones = milestones_of(db, year, None).await?;
        let started = started_at(db, year).await?;
        // A handover's units: a subtree, read in chunks under SQLite's limit on bound values.
        let ids: Vec<String> = units.iter().map(|u| (*u).to_owned()).collect();
        for chunk in ids.chunks(BY_ID) {
            let events = unit_event::Entity::find()
                .filter(unit_event::Column::Cycle.eq(year))
                .filter(unit_event::Column::UnitId.is_in(chunk.iter().cloned()))
                .order_by_asc(unit_event::Column::Id)
                .all(db)
                .await?;
            for u in unit::Entity::find()
                .filter(unit::Column::Id.is_in(chunk.iter().cloned()))
                .all(db)
                .await?
            {
                let Some(level) = level_of(&u) else { continue };
                let mut facts = fold_events(events.iter().filter(|e| e.unit_id == u.id));
                facts.joined = joined(&u, started, &definition);
                for s in plan.unit_deadlines(level, &milestones, &facts) {
                    if s.is_actionable() {
                        let time = s.deadline.is_follow_up().then_some(s.due).flatten();
                        open.insert((year, u.id.clone(), s.deadline, time));
                    }
                }
            }
        }
    }
    Ok(open)
}
