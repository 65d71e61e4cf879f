//! The dialogue's data sheet: one unit on a page or two, made for its quality dialogue:
//! each measure's series beside the area's, the latest verdict, the cycle's focus themes,
//! and the last cycle's goals with their grades.

use chrono::NaiveDate;
use hjul_store::Store;
use hjul_wheel::text::Catalogue;
use hjul_wheel::{Deadline, Language, UnitId};
use serde::Serialize;

use crate::ReportError;
use crate::chart::{Drawing, Trend};
use crate::model::{GoalRow, MeasureRow, goal_rows, measure_row, value};

/// A unit's data sheet, every value written out for its reader.
#[derive(Debug, Clone, Serialize)]
pub struct Sheet {
    pub language: &'static str,
    pub unit_id: String,
    pub name: String,
    pub area: String,
    pub level: u8,
    pub cycle: i32,
    pub made_on: String,
    pub made_on_iso: NaiveDate,
    pub themes: Vec<String>,
    pub measures: Vec<SheetMeasure>,
    /// The last cycle's agreement in force, with its grades.
    pub previous: Option<Previous>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SheetMeasure {
    #[serde(flatten)]
    pub row: MeasureRow,
    /// `lower` or `higher` is better.
    pub direction: &'static str,
    /// The unit's values, period by period ("2023/24: 5,1 %"); a hidden one says so.
    pub series: Vec<String>,
    /// The area's averages in the same periods.
    pub area_series: Vec<String>,
    /// The unit's trend beside the area's, as the data of a ```chart block.
    pub chart: crate::render::ChartData,
}

#[derive(Debug, Clone, Serialize)]
pub struct Previous {
    pub cycle: i32,
    pub revision: u32,
    pub score: Option<String>,
    pub goals: Vec<GoalRow>,
}

/// The data sheet of unit `id` for the cycle running on `today`.
pub async fn build_sheet(
    store: &Store,
    id: &UnitId,
    language: Language,
    today: NaiveDate,
) -> Result<Sheet, ReportError> {
    let cat = Catalogue::wheel(language);
    let directory = store.directory().await?;
    let unit = directory
        .unit(id.as_str())
        .filter(|u| u.active)
        .ok_or_else(|| ReportError::UnknownUnit(id.to_string()))?;
    let def = &store.wheel().definition;
    let cycle = def.cycles.cycle_containing(today);
    let themes = store
        .milestones(cycle.year())
        .await?
        .into_iter()
        .find(|m| m.milestone == Deadline::ThemesPublished)
        .map(|m| m.themes)
        .unwrap_or_default();
    let too_few = match language {
        Language::Da => "for få besvarelser",
        Language::En => "too few responses",
    };
    let measures = store
        .data_sheet(id)
        .await?
        .iter()
        .map(|m| SheetMeasure {
            row: measure_row(m, cat),
            direction: match m.direction {
                hjul_wheel::indicators::Direction::Lower => "lower",
                hjul_wheel::indicators::Direction::Higher => "higher",
            },
            series: m
                .series
                .iter()
                .map(|p| {
                    let v = p
                        .value
                        .map_or_else(|| too_few.to_owned(), |v| value(cat, m.unit, v));
                    format!("{}: {v}", p.period)
                })
                .collect(),
            area_series: m
                .area_series
                .iter()
                .filter_map(|a| Some(format!("{}: {}", a.period, value(cat, m.unit, a.value?))))
                .collect(),
            chart: crate::render::ChartData(Drawing::Trend(Trend::of(m, cat)).data()),
        })
        .collect();
    // The last cycle, as it stood on its last day.
    let last = def
        .cycles
        .cycle_containing(cycle.starts().pred_opt().unwrap_or(today));
    let previous = if last.year() < cycle.year()
        && store.cycles().await?.iter().any(|c| c.year == last.year())
    {
        let t = store.timeline(id, last.ends(), None).await?;
        t.agreements
            .iter()
            .filter(|a| a.signed_on.is_some())
            .max_by_key(|a| a.revision)
            .map(|a| Previous {
                cycle: last.year(),
                revision: a.revision,
                score: a.score.map(|s| cat.percent(s.percent())),
                goals: goal_rows(a, &store.wheel().catalogue, cat),
            })
    } else {
        None
    };
    Ok(Sheet {
        language: language.key(),
        unit_id: unit.id.clone(),
        name: unit.name.clone(),
        area: cat.word(&format!("area.{}", unit.area)).to_owned(),
        level: u8::try_from(unit.level).unwrap_or(0),
        cycle: cycle.year(),
        made_on: cat.date(today),
        made_on_iso: today,
        themes,
        measures,
        previous,
    })
}
