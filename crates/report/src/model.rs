//! What a report holds: the cycle, its phases and milestones, the pre-analysis' patterns,
//! the focus themes, the dialogues, the agreements, the midway status, and a page per
//! unit. Gathered from the store for one cycle and one scope, with every value already
//! written in the reader's language, so the templates only place them.
//!
//! The data issue's privacy rules hold here as everywhere: a value from too few
//! respondents is never written (the store never hands it out), and nothing ranks units:
//! the appendix goes in the organisation's order, and averages and counts are over the
//! scope.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use hjul_store::{Over, StatusFilter, Store};
use hjul_wheel::data::{MeasureView, Verdict};
use hjul_wheel::indicators::MeasureUnit;
use hjul_wheel::text::Catalogue;
use hjul_wheel::{Area, Deadline, Language, Milestones, Step, UnitId, WheelDefinition};
use serde::Serialize;

use crate::ReportError;
use crate::chart::{Chart, ChartRow, Drawing, Legend, Mark};
use crate::render::ChartData;

/// The most units a report has an appendix page for. Laid out in parts (see
/// `pdf::PART_BYTES`), each page still costs about 0.9 MiB of memory until the PDF is
/// written, and 15–20 ms of a core (docs/benchmarks.md: 500 units took 544 MiB and 10 s);
/// a department of thousands of units gets the report without its appendix, a document
/// of thousands of pages nobody reads whole, and each area's or chief's report, and each
/// unit's data sheet, holds the pages.
pub const APPENDIX_UNITS: usize = 500;

/// Which units a report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every unit: the department's report.
    Department,
    /// The units of one area (daycare, school, family).
    Area(Area),
    /// A unit and every unit below it: an area leader's or a chief's report, or one
    /// unit's.
    Subtree(String),
    /// The units a person sees (a manager's subtree, a leader's unit): named after the
    /// highest of them.
    Units(std::collections::HashSet<String>),
}

/// A report to make: which cycle, which units, in which language, as of which day.
#[derive(Debug, Clone)]
pub struct Request {
    pub cycle: i32,
    pub scope: Scope,
    pub language: Language,
    /// The day it is made: written on the title page, and the day the cycle is read as
    /// of (its last day, once it has ended).
    pub today: NaiveDate,
    /// The final report, as `report_final` is recorded on this day; a draft without.
    pub fin: Option<NaiveDate>,
}

/// A report, every value written out for its reader.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// `da` or `en`.
    pub language: &'static str,
    pub cycle: i32,
    /// The cycle's years, "2025–2027".
    pub years: String,
    /// Whom it covers: "Hele Børn & Unge", an area's name, or a unit's.
    pub scope: String,
    pub starts: String,
    pub ends: String,
    pub made_on: String,
    pub made_on_iso: NaiveDate,
    pub fin: bool,
    /// The wheel definition's version the cycle runs under.
    pub definition: String,
    pub phases: Vec<PhaseRow>,
    pub milestones: Vec<MilestoneRow>,
    pub themes: Vec<String>,
    /// The period the pre-analysis reads (the latest that ended before the cycle began).
    pub patterns: Vec<MeasurePatterns>,
    pub dialogues: Dialogues,
    pub agreements: Agreements,
    pub midway: Midway,
    pub units: Vec<UnitPage>,
    /// How many units the report covers when that is more than [`APPENDIX_UNITS`]: the
    /// appendix is then left out (`units` is empty).
    pub appendix_left_out: Option<usize>,
    /// [`APPENDIX_UNITS`], for the template to say.
    pub appendix_max: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhaseRow {
    pub name: String,
    pub opens: String,
    pub closes: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MilestoneRow {
    pub name: String,
    pub due: Option<String>,
    /// The day it was met, or nothing yet.
    pub met: Option<String>,
}

/// One measure's pattern in each area it is collected in.
#[derive(Debug, Clone, Serialize)]
pub struct MeasurePatterns {
    pub name: String,
    /// `lower` or `higher` is better.
    pub direction: &'static str,
    /// The department's target in words ("92,0 % i 2025"), when there is one.
    pub target: Option<String>,
    pub areas: Vec<PatternRow>,
    /// The chart of the areas' averages and trends, as the data of a ```chart block.
    pub chart: ChartData,
}

#[derive(Debug, Clone, Serialize)]
pub struct PatternRow {
    pub area: String,
    pub period: String,
    pub units: usize,
    pub average: Option<String>,
    pub spread: Option<String>,
    pub better: usize,
    pub worse: usize,
    pub unchanged: usize,
    pub insufficient: usize,
    /// Of the units with a value shown, how many reach the target.
    pub target_met: Option<usize>,
}

/// The quality dialogues of the units in scope that hold one.
#[derive(Debug, Clone, Serialize)]
pub struct Dialogues {
    pub due: usize,
    pub held: usize,
    pub first: Option<String>,
    pub last: Option<String>,
    pub by_area: Vec<Count>,
    /// The notes the leaders marked for the report, in the organisation's order.
    pub notes: Vec<DialogueNote>,
}

/// A dialogue's notes, quoted because the leader marked them for the report.
#[derive(Debug, Clone, Serialize)]
pub struct DialogueNote {
    pub unit_id: String,
    pub unit: String,
    pub on: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Count {
    pub name: String,
    pub due: usize,
    pub done: usize,
}

/// The agreements in force: how many, and what their goals aim at.
#[derive(Debug, Clone, Serialize)]
pub struct Agreements {
    /// Units in scope that make an agreement.
    pub due: usize,
    pub signed: usize,
    pub goals: usize,
    pub by_dimension: Vec<Share>,
    pub by_kind: Vec<Share>,
    /// The indicators the common goals aim at, with how many goals aim at each.
    pub indicators: Vec<Share>,
}

/// A group of goals: how many, and the share of the agreements' weight they carry.
#[derive(Debug, Clone, Serialize)]
pub struct Share {
    pub name: String,
    pub goals: usize,
    /// The group's share of all the goals' weight, in percent, written out.
    pub weight: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Midway {
    pub due: usize,
    pub given: usize,
    /// The average weighted score of the midway statuses given, written out.
    pub average_score: Option<String>,
    pub by_grade: Vec<Share>,
}

/// A unit's page in the appendix.
#[derive(Debug, Clone, Serialize)]
pub struct UnitPage {
    pub unit_id: String,
    pub name: String,
    pub area: String,
    pub level: u8,
    pub step: String,
    pub dialogue_on: Option<String>,
    pub agreement: Option<UnitAgreement>,
    pub measures: Vec<MeasureRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnitAgreement {
    pub revision: u32,
    pub signed_on: Option<String>,
    pub score: Option<String>,
    pub goals: Vec<GoalRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GoalRow {
    pub title: String,
    pub dimension: String,
    pub kind: String,
    pub weight: i32,
    pub indicator: Option<String>,
    pub grade: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MeasureRow {
    pub name: String,
    pub period: Option<String>,
    /// The latest value; nothing when it rests on too few respondents (`hidden`) or
    /// there is none.
    pub latest: Option<String>,
    pub hidden: bool,
    /// `better`, `worse`, `unchanged` or `insufficient`.
    pub verdict: &'static str,
    pub area_average: Option<String>,
}

/// Gathers the report `req` asks for.
pub async fn build(store: &Store, req: &Request) -> Result<Report, ReportError> {
    let cat = Catalogue::wheel(req.language);
    let lang = req.language;
    let cycles = store.cycles().await?;
    let recorded = cycles
        .iter()
        .find(|c| c.year == req.cycle)
        .ok_or(ReportError::NoCycle(req.cycle))?;
    let def = WheelDefinition::from_toml(&recorded.definition_toml, "the cycle's wheel.toml")
        .map_err(|problem| ReportError::StoredDefinition {
            year: req.cycle,
            problem,
        })?;
    let plan = def.cycle(req.cycle)?;
    let cycle = plan.cycle();
    // The cycle as it stands on the day the report is made, or on its last day.
    let at = req.today.min(cycle.ends()).max(cycle.starts());

    let directory = store.directory().await?;
    let in_scope = |unit_id: &str| -> bool {
        match &req.scope {
            Scope::Department => true,
            Scope::Area(area) => directory.unit(unit_id).is_some_and(|u| u.area == *area),
            Scope::Subtree(top) => {
                let mut id = Some(unit_id.to_owned());
                while let Some(u) = id.as_deref().and_then(|i| directory.unit(i)) {
                    if u.id == *top {
                        return true;
                    }
                    id.clone_from(&u.parent_id);
                }
                false
            }
            Scope::Units(ids) => ids.contains(unit_id),
        }
    };
    let scope = match &req.scope {
        Scope::Department => cat.word("area.department").to_owned(),
        Scope::Area(a) => cat.word(&format!("area.{}", a.key())).to_owned(),
        Scope::Subtree(top) => directory
            .unit_name(top)
            .ok_or_else(|| ReportError::UnknownUnit(top.clone()))?
            .to_owned(),
        Scope::Units(ids) => {
            let mut tops: Vec<&str> = ids
                .iter()
                .filter_map(|id| directory.unit(id))
                .filter(|u| u.parent_id.as_ref().is_none_or(|p| !ids.contains(p)))
                .map(|u| u.name.as_str())
                .collect();
            tops.sort_unstable();
            tops.join(", ")
        }
    };

    let milestones_on_record = store.milestones(req.cycle).await?;
    let met = |d: Deadline| {
        milestones_on_record
            .iter()
            .find(|m| m.milestone == d)
            .map(|m| m.met_on)
    };
    let facts = Milestones {
        data_collected: met(Deadline::DataCollected),
        themes_published: met(Deadline::ThemesPublished),
        // The final report is made as its milestone is recorded: it is met then.
        report_final: met(Deadline::ReportFinal).or(req.fin),
    };
    let milestones = plan
        .milestone_deadlines(&facts)
        .into_iter()
        .map(|m| MilestoneRow {
            name: cat
                .word(&format!("deadline.{}", m.deadline.key()))
                .to_owned(),
            due: m.due.map(|d| cat.date(d)),
            met: m.met_on.map(|d| cat.date(d)),
        })
        .collect();
    let themes = milestones_on_record
        .iter()
        .find(|m| m.milestone == Deadline::ThemesPublished)
        .map(|m| m.themes.clone())
        .unwrap_or_default();
    let phases = plan
        .phases()
        .into_iter()
        .filter_map(|p| {
            let window = def.phase(p.phase)?;
            Some(PhaseRow {
                name: match lang {
                    Language::Da => window.name_da.clone(),
                    Language::En => window.name_en.clone(),
                },
                opens: cat.date(p.opens),
                closes: cat.date(p.closes),
            })
        })
        .collect();

    let catalogue = &store.wheel().catalogue;
    let filter = |id: &str| in_scope(id);
    let over = match req.scope {
        Scope::Department => Over::Everyone,
        _ => Over::Only(&filter),
    };
    let patterns = patterns(
        &store.data_patterns(cycle.starts(), over).await?,
        catalogue,
        cat,
    );

    // The units in scope, in the organisation's order (never by how they do).
    let mut rows: Vec<_> = store
        .status(at, &StatusFilter::default(), None)
        .await?
        .into_iter()
        .filter(|r| r.cycle == req.cycle && in_scope(&r.unit_id))
        .collect();
    // The organisation's order is its tree read from the top: each unit before the
    // units under it, siblings by id (the department first, then each area's chief and
    // their units).
    rows.sort_by_cached_key(|r| {
        let mut path = Vec::new();
        let mut id = Some(r.unit_id.clone());
        while let Some(u) = id.as_deref().and_then(|i| directory.unit(i)) {
            path.push(u.id.clone());
            // A tree is checked on import; the bound only keeps a hand-edited
            // database from looping.
            if path.len() > 64 {
                break;
            }
            id.clone_from(&u.parent_id);
        }
        path.reverse();
        path
    });

    let appendix = rows.len() <= APPENDIX_UNITS;
    let mut units = Vec::new();
    let mut dialogue_days = Vec::new();
    let mut dialogue_by_area: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut dialogue_notes = Vec::new();
    let mut gathered = Gathered::default();
    // Every unit's events and agreements in a few reads, not a timeline each.
    let records = store.cycle_records(at).await?;
    let none = hjul_store::UnitRecords::default();
    for row in &rows {
        let t = records.get(&row.unit_id).unwrap_or(&none);
        let area = cat.word(&format!("area.{}", row.area)).to_owned();
        let dialogue_on = t
            .events
            .iter()
            .filter(|e| !e.superseded && e.kind == hjul_wheel::EventKind::DialogueHeld)
            .map(|e| e.on)
            .min();
        dialogue_notes.extend(
            t.events
                .iter()
                .filter(|e| {
                    !e.superseded && e.kind == hjul_wheel::EventKind::DialogueHeld && e.for_report
                })
                .filter_map(|e| {
                    Some(DialogueNote {
                        unit_id: row.unit_id.clone(),
                        unit: row.name.clone(),
                        on: cat.date(e.on),
                        // Recorded before the bound for the report, notes may be
                        // longer: the report quotes as much as it quotes of any.
                        text: e
                            .notes
                            .as_deref()
                            .filter(|n| !n.trim().is_empty())
                            .map(|n| {
                                hjul_wheel::limits::clip(
                                    n,
                                    hjul_wheel::limits::MAX_REPORT_NOTES_CHARS,
                                )
                            })?,
                    })
                }),
        );
        if let Some(level) = hjul_wheel::Level::new(row.level)
            && def.unit_rule(Deadline::DialogueHeld, level).is_some()
        {
            let entry = dialogue_by_area.entry(area.clone()).or_default();
            entry.0 += 1;
            if let Some(on) = dialogue_on {
                entry.1 += 1;
                dialogue_days.push(on);
            }
        }
        let agreement = t
            .agreements
            .iter()
            .filter(|a| a.signed_on.is_some())
            .max_by_key(|a| a.revision);
        if row.step.is_some() {
            gathered.agreements_due += 1;
            if row.step >= Some(Step::InForce) || agreement.is_some() {
                gathered.midway_due += 1;
            }
        }
        if let Some(a) = agreement {
            gathered.add(a, catalogue, cat);
        }
        if !appendix {
            continue;
        }
        // Ids on record were checked when the organisation was imported.
        let id = UnitId::parse(&row.unit_id)
            .map_err(|_| ReportError::UnknownUnit(row.unit_id.clone()))?;
        let measures = store
            .data_sheet(&id)
            .await?
            .iter()
            .map(|m| measure_row(m, cat))
            .collect();
        units.push(UnitPage {
            unit_id: row.unit_id.clone(),
            name: row.name.clone(),
            area,
            level: row.level,
            step: cat
                .word(&format!("step.{}", row.step.map_or("none", Step::key)))
                .to_owned(),
            dialogue_on: dialogue_on.map(|d| cat.date(d)),
            agreement: agreement.map(|a| UnitAgreement {
                revision: a.revision,
                signed_on: a.signed_on.map(|d| cat.date(d)),
                score: a.score.map(|s| cat.percent(s.percent())),
                goals: goal_rows(a, catalogue, cat),
            }),
            measures,
        });
    }
    dialogue_days.sort_unstable();
    Ok(Report {
        language: lang.key(),
        cycle: req.cycle,
        years: format!(
            "{}–{}",
            cycle.starts().format("%Y"),
            cycle.ends().format("%Y")
        ),
        scope,
        starts: cat.date(cycle.starts()),
        ends: cat.date(cycle.ends()),
        made_on: cat.date(req.today),
        made_on_iso: req.today,
        fin: req.fin.is_some(),
        definition: def.version.clone(),
        phases,
        milestones,
        themes,
        patterns,
        dialogues: Dialogues {
            due: dialogue_by_area.values().map(|c| c.0).sum(),
            held: dialogue_days.len(),
            first: dialogue_days.first().map(|d| cat.date(*d)),
            last: dialogue_days.last().map(|d| cat.date(*d)),
            by_area: dialogue_by_area
                .into_iter()
                .map(|(name, (due, done))| Count { name, due, done })
                .collect(),
            notes: dialogue_notes,
        },
        agreements: gathered.agreements(cat),
        midway: gathered.midway(cat),
        units,
        appendix_left_out: (!appendix).then_some(rows.len()),
        appendix_max: APPENDIX_UNITS,
    })
}

/// The counts over the agreements in force, as they are gathered unit by unit.
#[derive(Default)]
struct Gathered {
    agreements_due: usize,
    signed: usize,
    goals: usize,
    weight: f64,
    by_dimension: BTreeMap<String, (usize, f64)>,
    by_kind: BTreeMap<String, (usize, f64)>,
    indicators: BTreeMap<String, (usize, f64)>,
    midway_due: usize,
    scores: Vec<f64>,
    by_grade: BTreeMap<String, (usize, f64)>,
    /// The weight of the goals graded: the grades' shares are of this.
    graded_weight: f64,
}

impl Gathered {
    fn add(
        &mut self,
        a: &hjul_store::AgreementRevisionView,
        catalogue: &hjul_wheel::IndicatorCatalogue,
        cat: &Catalogue,
    ) {
        self.signed += 1;
        if let Some(s) = a.score {
            self.scores.push(s.percent());
        }
        for g in &a.goals {
            let w = f64::from(g.weight);
            self.goals += 1;
            self.weight += w;
            let add = |map: &mut BTreeMap<String, (usize, f64)>, key: String| {
                let e = map.entry(key).or_default();
                e.0 += 1;
                e.1 += w;
            };
            add(
                &mut self.by_dimension,
                cat.word(&format!("dimension.{}", g.dimension)).to_owned(),
            );
            add(
                &mut self.by_kind,
                cat.word(&format!("kind.{}", g.kind)).to_owned(),
            );
            if let Some(i) = &g.indicator {
                add(
                    &mut self.indicators,
                    indicator_name(catalogue, i, cat.language()),
                );
            }
            if let Some(grade) = &g.grade {
                self.graded_weight += w;
                add(
                    &mut self.by_grade,
                    cat.word(&format!("grade.{grade}")).to_owned(),
                );
            }
        }
    }

    /// Each group's goals and share of `total` weight.
    fn shares(map: &BTreeMap<String, (usize, f64)>, total: f64, cat: &Catalogue) -> Vec<Share> {
        map.iter()
            .map(|(name, (goals, weight))| {
                let share = if total > 0.0 {
                    100.0 * weight / total
                } else {
                    0.0
                };
                Share {
                    name: name.clone(),
                    goals: *goals,
                    weight: cat.percent(share),
                }
            })
            .collect()
    }

    fn agreements(&self, cat: &Catalogue) -> Agreements {
        Agreements {
            due: self.agreements_due,
            signed: self.signed,
            goals: self.goals,
            by_dimension: Self::shares(&self.by_dimension, self.weight, cat),
            by_kind: Self::shares(&self.by_kind, self.weight, cat),
            indicators: Self::shares(&self.indicators, self.weight, cat),
        }
    }

    fn midway(&self, cat: &Catalogue) -> Midway {
        let average = (!self.scores.is_empty())
            .then(|| self.scores.iter().sum::<f64>() / self.scores.len() as f64);
        Midway {
            due: self.midway_due,
            given: self.scores.len(),
            average_score: average.map(|a| cat.percent(a)),
            by_grade: Self::shares(&self.by_grade, self.graded_weight, cat),
        }
    }
}

fn indicator_name(
    catalogue: &hjul_wheel::IndicatorCatalogue,
    code: &str,
    lang: Language,
) -> String {
    catalogue.get(code).map_or_else(
        || code.to_owned(),
        |i| match lang {
            Language::Da => i.name_da.clone(),
            Language::En => i.name_en.clone(),
        },
    )
}

/// The goals of an agreement revision as the report's tables show them.
pub(crate) fn goal_rows(
    a: &hjul_store::AgreementRevisionView,
    catalogue: &hjul_wheel::IndicatorCatalogue,
    cat: &Catalogue,
) -> Vec<GoalRow> {
    a.goals
        .iter()
        .map(|g| GoalRow {
            title: g.title.clone(),
            dimension: cat.word(&format!("dimension.{}", g.dimension)).to_owned(),
            kind: cat.word(&format!("kind.{}", g.kind)).to_owned(),
            weight: g.weight,
            indicator: g
                .indicator
                .as_deref()
                .map(|i| indicator_name(catalogue, i, cat.language())),
            grade: g
                .grade
                .as_ref()
                .map(|x| cat.word(&format!("grade.{x}")).to_owned()),
        })
        .collect()
}

/// A value of a measure as people read it: "92,0 %", "3,85".
pub fn value(cat: &Catalogue, unit: MeasureUnit, v: f64) -> String {
    match unit {
        MeasureUnit::Percent => cat.percent(v),
        u => cat.decimal(v, u.decimals()),
    }
}

fn verdict_key(v: Verdict) -> &'static str {
    match v {
        Verdict::Better => "better",
        Verdict::Worse => "worse",
        Verdict::Unchanged => "unchanged",
        Verdict::Insufficient => "insufficient",
    }
}

pub(crate) fn measure_row(m: &MeasureView, cat: &Catalogue) -> MeasureRow {
    let hidden = m.latest.is_none()
        && m.latest_period
            .is_some_and(|p| m.series.iter().any(|s| s.period == p && s.value.is_none()));
    MeasureRow {
        name: match cat.language() {
            Language::Da => m.name_da.clone(),
            Language::En => m.name_en.clone(),
        },
        period: m.latest_period.map(|p| p.to_string()),
        latest: m.latest.map(|v| value(cat, m.unit, v)),
        hidden,
        verdict: verdict_key(m.verdict),
        area_average: m.area_average.map(|v| value(cat, m.unit, v)),
    }
}

fn patterns(
    found: &[hjul_wheel::data::AreaPattern],
    catalogue: &hjul_wheel::IndicatorCatalogue,
    cat: &Catalogue,
) -> Vec<MeasurePatterns> {
    let mut out: Vec<MeasurePatterns> = Vec::new();
    let codes: BTreeSet<&str> = found.iter().map(|p| p.measure.as_str()).collect();
    for measure in catalogue
        .all_measures()
        .filter(|m| codes.contains(m.code.as_str()))
    {
        let target = measure.target;
        let rows: Vec<PatternRow> = found
            .iter()
            .filter(|p| p.measure.as_str() == measure.code.as_str())
            .map(|p| PatternRow {
                area: cat.word(&format!("area.{}", p.area.key())).to_owned(),
                period: p.period.to_string(),
                units: p.pattern.units,
                average: p.pattern.average.map(|v| value(cat, measure.unit, v)),
                spread: p.pattern.spread.map(|v| value(cat, measure.unit, v)),
                better: p.pattern.better,
                worse: p.pattern.worse,
                unchanged: p.pattern.unchanged,
                insufficient: p.pattern.insufficient,
                target_met: p.target_met,
            })
            .collect();
        if rows.is_empty() {
            continue;
        }
        let name = match cat.language() {
            Language::Da => measure.name_da.clone(),
            Language::En => measure.name_en.clone(),
        };
        let chart = chart(
            measure,
            &name,
            found
                .iter()
                .filter(|p| p.measure.as_str() == measure.code.as_str()),
            cat,
        );
        out.push(MeasurePatterns {
            name,
            direction: match measure.direction {
                hjul_wheel::indicators::Direction::Lower => "lower",
                hjul_wheel::indicators::Direction::Higher => "higher",
            },
            target: target.map(|t| format!("{} ({})", value(cat, measure.unit, t.value), t.year)),
            areas: rows,
            chart,
        });
    }
    out
}

/// The round number (1, 2, 2.5 or 5 times a power of ten) at or above `v`.
fn round_up(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let power = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|step| step * power)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * power)
}

/// A measure's chart, as the JSON a template's ```chart block holds.
fn chart<'a>(
    measure: &hjul_wheel::indicators::Indicator,
    name: &str,
    areas: impl Iterator<Item = &'a hjul_wheel::data::AreaPattern>,
    cat: &Catalogue,
) -> ChartData {
    let rows: Vec<ChartRow> = areas
        .map(|p| ChartRow {
            label: cat.word(&format!("area.{}", p.area.key())).to_owned(),
            value: p.pattern.average,
            text: p
                .pattern
                .average
                .map_or_else(|| "—".to_owned(), |v| value(cat, measure.unit, v)),
            better: p.pattern.better,
            unchanged: p.pattern.unchanged,
            worse: p.pattern.worse,
            insufficient: p.pattern.insufficient,
        })
        .collect();
    // A score keeps its scale (1–5 means something); a percentage or a count runs to a
    // round number a little above the largest value or the target, so small numbers
    // such as absence are not lost at the foot of 0–100.
    let (low, high) = match measure.unit {
        MeasureUnit::Score => (measure.min, measure.max),
        MeasureUnit::Percent | MeasureUnit::Number => {
            let largest = rows
                .iter()
                .filter_map(|r| r.value)
                .chain(measure.target.map(|t| t.value))
                .fold(0.0_f64, f64::max);
            let low = measure.min.max(0.0);
            let high = round_up(largest * 1.1).min(measure.max);
            (low, if high > low { high } else { measure.max })
        }
    };
    let word = |key: &str| cat.word(key).to_owned();
    let chart = Chart {
        title: word("report.chart_title").replace("{measure}", name),
        low,
        high,
        target: measure.target.map(|t| Mark {
            value: t.value,
            label: format!(
                "{} {}",
                word("report.chart_target"),
                value(cat, measure.unit, t.value)
            ),
        }),
        rows,
        legend: Legend {
            average: word("report.chart_average"),
            trend: word("report.chart_trend"),
            better: word("verdict.better"),
            unchanged: word("verdict.unchanged"),
            worse: word("verdict.worse"),
            insufficient: word("verdict.insufficient"),
        },
    };
    ChartData(Drawing::Patterns(chart).data())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_scale_ends_at_a_round_number() {
        for (v, up) in [
            (6.05, 10.0),
            (94.7, 100.0),
            (2.2, 2.5),
            (0.3, 0.5),
            (120.0, 200.0),
            (0.0, 1.0),
        ] {
            assert!(
                (super::round_up(v) - up).abs() < 1e-9,
                "{v} → {up}, not {}",
                super::round_up(v)
            );
        }
    }
}
