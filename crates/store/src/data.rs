//! Indicator data on record: measurement files imported all or nothing, a value
//! superseded (never overwritten) by a later import of the same unit, measure and
//! period, and each unit's series read back. What the numbers mean is `hjul-wheel`'s
//! (`data`): this module stores and reads.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use hjul_wheel::data::{
    AreaPattern, Averages, MeasureView, Measurement, Period, Row, patterns, sheet_with,
};
use hjul_wheel::{Area, UnitId};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use crate::audit::{self, Change};
use crate::entity::{audit_log, data_import, measurement, unit};
use crate::{Stamp, Store, StoreError};

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataImportReport {
    pub import_id: Uuid,
    pub rows: usize,
    /// Values for a unit, measure and period that had none.
    pub new: usize,
    /// Values that superseded one in force (kept on record as superseded).
    pub replaced: usize,
}

/// A value in force, as read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredMeasurement {
    pub unit_id: String,
    pub measure: String,
    pub period: Period,
    pub value: f64,
    pub n: Option<u32>,
    pub source: Option<String>,
}

impl StoredMeasurement {
    fn of(m: measurement::Model) -> Option<Self> {
        Some(Self {
            period: Period::parse(&m.period)?,
            unit_id: m.unit_id,
            measure: m.measure,
            value: m.value,
            n: m.n.and_then(|n| u32::try_from(n).ok()),
            source: m.source,
        })
    }
}

/// A value in force, read with only what the data rules need (no ids, no source).
struct Value {
    unit_id: String,
    measure: String,
    period: Period,
    value: f64,
    n: Option<u32>,
}

/// The averages of every unit's values, kept between requests: a unit's page reads its
/// own rows and these, not every value on record. `version` says what they were
/// computed from (the latest data import and the latest change to a unit, which may move
/// it to another area or deactivate it); another instance's import changes it too.
/// The pre-analysis' patterns over every unit are kept the same way, per cycle start.
#[derive(Default)]
pub(crate) struct DataCache {
    version: (Option<Uuid>, Option<Uuid>),
    averages: Option<Arc<Averages>>,
    patterns: HashMap<chrono::NaiveDate, Arc<Vec<AreaPattern>>>,
}

/// Whose values a pattern counts.
pub enum Over<'a> {
    /// Every unit (the secretariat's): kept between requests.
    Everyone,
    /// The units a caller sees (a manager's subtree, a leader's unit).
    Only(&'a (dyn Fn(&str) -> bool + Sync)),
}

/// The values in force as the wheel's data rules read them, each with its unit's area
/// (a deactivated unit's values count in no average).
fn rows_of<'a>(stored: &'a [Value], areas: &HashMap<String, Area>) -> Vec<Row<'a>> {
    stored
        .iter()
        .filter_map(|m| {
            Some(Row {
                unit_id: &m.unit_id,
                area: *areas.get(&m.unit_id)?,
                measure: &m.measure,
                period: m.period,
                value: m.value,
                n: m.n,
            })
        })
        .collect()
}

/// Rows written per statement: 11 columns each stays far under SQLite's and
/// PostgreSQL's limits on parameters.
const CHUNK: usize = 1_000;

impl Store {
    /// The area of every active unit, to check a measurement file against.
    pub async fn unit_areas(&self) -> Result<HashMap<String, Area>, StoreError> {
        Ok(unit::Entity::find()
            .filter(unit::Column::Active.eq(true))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.area))
            .collect())
    }

    /// Writes a checked measurement file in one transaction: values new to their unit,
    /// measure and period are added; one that had a value supersedes it (the old one
    /// stays on record, marked with this import). One audit row says what came from
    /// where. `progress(done, total)` is called as rows are written.
    pub async fn import_measurements(
        &self,
        file: &str,
        rows: &[Measurement],
        stamp: &Stamp,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<DataImportReport, StoreError> {
        retrying!(self, {
            let (txn, _turn) = self.write().await?;
            let import_id = Uuid::now_v7();
            // What is in force for the measures this file brings.
            let measures: HashSet<&str> = rows.iter().map(|r| r.measure.as_str()).collect();
            let mut in_force: HashMap<(String, String, String), Uuid> = HashMap::new();
            for m in measurement::Entity::find()
                .filter(measurement::Column::ReplacedBy.is_null())
                .filter(measurement::Column::Measure.is_in(measures.iter().copied()))
                .all(&txn)
                .await?
            {
                in_force.insert((m.unit_id, m.measure, m.period), m.id);
            }
            let superseded: Vec<Uuid> = rows
                .iter()
                .filter_map(|r| {
                    in_force
                        .get(&(
                            r.unit_id.as_str().to_owned(),
                            r.measure.as_str().to_owned(),
                            r.period.to_string(),
                        ))
                        .copied()
                })
                .collect();
            for chunk in superseded.chunks(CHUNK) {
                measurement::Entity::update_many()
                    .col_expr(measurement::Column::ReplacedBy, Expr::value(import_id))
                    .filter(measurement::Column::Id.is_in(chunk.iter().copied()))
                    .exec(&txn)
                    .await?;
            }
            let total = rows.len();
            for (i, chunk) in rows.chunks(CHUNK).enumerate() {
                measurement::Entity::insert_many(chunk.iter().map(|r| measurement::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    unit_id: Set(r.unit_id.as_str().to_owned()),
                    measure: Set(r.measure.as_str().to_owned()),
                    period: Set(r.period.to_string()),
                    period_start: Set(r.period.starts()),
                    value: Set(r.value),
                    n: Set(r.n.and_then(|n| i32::try_from(n).ok())),
                    source: Set(r.source.clone()),
                    import_id: Set(import_id),
                    replaced_by: Set(None),
                }))
                .exec_without_returning(&txn)
                .await?;
                progress((i * CHUNK + chunk.len()).min(total), total);
            }
            let report = DataImportReport {
                import_id,
                rows: total,
                new: total - superseded.len(),
                replaced: superseded.len(),
            };
            let count = |n: usize| i32::try_from(n).unwrap_or(i32::MAX);
            data_import::Entity::insert(data_import::ActiveModel {
                id: Set(import_id),
                file: Set(file.to_owned()),
                rows: Set(count(report.rows)),
                new: Set(count(report.new)),
                replaced: Set(count(report.replaced)),
                imported_at: Set(stamp.at),
                imported_by: Set(stamp.actor.clone()),
            })
            .exec_without_returning(&txn)
            .await?;
            #[derive(Serialize)]
            struct Record<'a> {
                file: &'a str,
                rows: usize,
                new: usize,
                replaced: usize,
                measures: Vec<&'a str>,
            }
            let mut measures: Vec<&str> = measures.into_iter().collect();
            measures.sort_unstable();
            audit::log(
                &txn,
                stamp,
                Change::new("data.import", "data_import", import_id.to_string()).after(&Record {
                    file,
                    rows: report.rows,
                    new: report.new,
                    replaced: report.replaced,
                    measures,
                }),
            )
            .await?;
            txn.commit().await?;
            Ok(report)
        })
    }

    /// The values in force for the units given (all units when `None`), by measure and
    /// period.
    pub async fn measurements(
        &self,
        units: Option<&[String]>,
    ) -> Result<Vec<StoredMeasurement>, StoreError> {
        let mut q = measurement::Entity::find().filter(measurement::Column::ReplacedBy.is_null());
        if let Some(units) = units {
            q = q.filter(measurement::Column::UnitId.is_in(units.iter().map(String::as_str)));
        }
        Ok(q.order_by_asc(measurement::Column::Measure)
            .order_by_asc(measurement::Column::PeriodStart)
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(StoredMeasurement::of)
            .collect())
    }

    /// A unit's data sheet, as `hjul_wheel::data::sheet` reads the values on record:
    /// values from fewer respondents than the store's threshold hidden, averages of the
    /// area and the department beside. An unknown or deactivated unit is an error.
    /// Reads the unit's own values and the kept averages (computed again once after the
    /// data or the organisation change).
    pub async fn data_sheet(&self, unit: &UnitId) -> Result<Vec<MeasureView>, StoreError> {
        let unit_id = unit.as_str();
        let unit = unit::Entity::find_by_id(unit_id.to_owned())
            .filter(unit::Column::Active.eq(true))
            .one(&self.db)
            .await?
            .ok_or_else(|| StoreError::UnknownUnit(unit_id.to_owned()))?;
        let area = unit.area;
        let own = self.values(Some(unit_id)).await?;
        let areas = HashMap::from([(unit_id.to_owned(), area)]);
        let rows = rows_of(&own, &areas);
        let averages = self.averages().await?;
        Ok(sheet_with(
            area,
            &self.wheel().catalogue,
            &rows,
            &averages,
            self.min_responses,
        ))
    }

    /// The values in force (of one unit, or all), only the columns the rules read, in
    /// a fixed order so every sum is added up the same way.
    async fn values(&self, unit_id: Option<&str>) -> Result<Vec<Value>, StoreError> {
        let mut q = measurement::Entity::find()
            .select_only()
            .columns([
                measurement::Column::UnitId,
                measurement::Column::Measure,
                measurement::Column::Period,
                measurement::Column::Value,
                measurement::Column::N,
            ])
            .filter(measurement::Column::ReplacedBy.is_null());
        match unit_id {
            // One unit's few values: by its index, in any order (sorted below). An ORDER
            // BY here tempts the planner onto the measure index and a scan of every row.
            Some(u) => q = q.filter(measurement::Column::UnitId.eq(u)),
            None => {
                q = q
                    .order_by_asc(measurement::Column::Measure)
                    .order_by_asc(measurement::Column::PeriodStart)
                    .order_by_asc(measurement::Column::UnitId);
            }
        }
        let mut values: Vec<Value> = q
            .into_tuple::<(String, String, String, f64, Option<i32>)>()
            .all(&self.db)
            .await?
            .into_iter()
            .filter_map(|(unit_id, measure, period, value, n)| {
                Some(Value {
                    period: Period::parse(&period)?,
                    unit_id,
                    measure,
                    value,
                    n: n.and_then(|n| u32::try_from(n).ok()),
                })
            })
            .collect();
        if unit_id.is_some() {
            values.sort_by(|a, b| (&a.measure, a.period).cmp(&(&b.measure, b.period)));
        }
        Ok(values)
    }

    /// What the kept averages depend on: the latest data import and the latest change
    /// to a unit (ids are UUID v7, ordered by time; both reads are one step down an
    /// index).
    async fn data_version(&self) -> Result<(Option<Uuid>, Option<Uuid>), StoreError> {
        let import = data_import::Entity::find()
            .select_only()
            .column(data_import::Column::Id)
            .order_by_desc(data_import::Column::Id)
            .into_tuple::<Uuid>()
            .one(&self.db)
            .await?;
        let unit = audit_log::Entity::find()
            .select_only()
            .column(audit_log::Column::Id)
            .filter(audit_log::Column::Entity.eq("unit"))
            .order_by_desc(audit_log::Column::Id)
            .into_tuple::<Uuid>()
            .one(&self.db)
            .await?;
        Ok((import, unit))
    }

    /// What the cache holds for `version`, if anything (`read` picks it out).
    fn cached<T>(
        &self,
        version: (Option<Uuid>, Option<Uuid>),
        read: impl FnOnce(&DataCache) -> Option<T>,
    ) -> Option<T> {
        let cache = self.data_cache.lock().ok()?;
        cache
            .as_ref()
            .filter(|c| c.version == version)
            .and_then(read)
    }

    /// Keeps something computed for `version`; what was kept for another is dropped.
    fn keep(&self, version: (Option<Uuid>, Option<Uuid>), put: impl FnOnce(&mut DataCache)) {
        if let Ok(mut cache) = self.data_cache.lock() {
            let c = cache.get_or_insert_with(DataCache::default);
            if c.version != version {
                *c = DataCache {
                    version,
                    ..DataCache::default()
                };
            }
            put(c);
        }
    }

    /// The averages of every unit's values, from the cache while the data and the units
    /// are as they were.
    async fn averages(&self) -> Result<Arc<Averages>, StoreError> {
        let version = self.data_version().await?;
        if let Some(a) = self.cached(version, |c| c.averages.clone()) {
            return Ok(a);
        }
        let areas = self.unit_areas().await?;
        let all = self.values(None).await?;
        let averages = Arc::new(Averages::of(&rows_of(&all, &areas), self.min_responses));
        self.keep(version, |c| c.averages = Some(Arc::clone(&averages)));
        Ok(averages)
    }

    /// The pre-analysis' patterns: every measure in every area, in the latest period that
    /// had ended before `before` (see `hjul_wheel::data::patterns`), over every unit
    /// (kept until the data or the organisation change) or only those a caller sees.
    pub async fn data_patterns(
        &self,
        before: chrono::NaiveDate,
        over: Over<'_>,
    ) -> Result<Arc<Vec<AreaPattern>>, StoreError> {
        let version = self.data_version().await?;
        let everyone = matches!(over, Over::Everyone);
        if everyone && let Some(p) = self.cached(version, |c| c.patterns.get(&before).cloned()) {
            return Ok(p);
        }
        let areas = self.unit_areas().await?;
        let stored = self.values(None).await?;
        let mut rows = rows_of(&stored, &areas);
        if let Over::Only(counts) = over {
            rows.retain(|r| counts(r.unit_id));
        }
        let found = Arc::new(patterns(
            &self.wheel().catalogue,
            &rows,
            self.min_responses,
            before,
        ));
        if everyone {
            self.keep(version, |c| {
                c.patterns.insert(before, Arc::clone(&found));
            });
        }
        Ok(found)
    }

    /// How far the data collection for the pre-analysis before `before` has come: per
    /// measure, the units still without a value (see `hjul_wheel::data::gaps`).
    pub async fn data_gaps(
        &self,
        before: chrono::NaiveDate,
    ) -> Result<Vec<hjul_wheel::data::DataGap>, StoreError> {
        let areas = self.unit_areas().await?;
        let stored = self.values(None).await?;
        let rows = rows_of(&stored, &areas);
        Ok(hjul_wheel::data::gaps(
            &self.wheel().catalogue,
            &rows,
            before,
        ))
    }

    /// Every value a unit, measure and period has had, oldest first: what an import
    /// superseded stays on record.
    pub async fn measurement_history(
        &self,
        unit: &UnitId,
        measure: &str,
        period: Period,
    ) -> Result<Vec<(f64, Option<Uuid>)>, StoreError> {
        let unit_id = unit.as_str();
        Ok(measurement::Entity::find()
            .filter(measurement::Column::UnitId.eq(unit_id))
            .filter(measurement::Column::Measure.eq(measure))
            .filter(measurement::Column::Period.eq(period.to_string()))
            .order_by_asc(measurement::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|m| (m.value, m.replaced_by))
            .collect())
    }
}
