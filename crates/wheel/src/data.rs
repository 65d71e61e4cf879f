//! Indicator data: the numbers the wheel turns around. A measurement is one unit's value
//! of one measure over one period (never a child's or an employee's: units only). This
//! module reads the files the municipality's systems export, keeps values from too few
//! respondents out of sight, and judges a unit's trend by the measure's direction. Pure:
//! the store keeps the rows, the CLI, the API and the dashboard show what this says.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::config_error::Lines;
use crate::indicators::{Direction, Indicator, IndicatorCatalogue, IndicatorCode};
use crate::limits::clip;
use crate::org::{RowError, UnitId};
use crate::organisation::Area;
use crate::text::{Arg, Text};

/// Rows of one measurement file: twelve measures over eight periods for 10,000 units
/// fit.
pub const MAX_DATA_ROWS: usize = 1_000_000;
/// Characters of a measurement's source.
pub const MAX_SOURCE_CHARS: usize = 200;
/// Fewer respondents than this and a value is kept but never shown (the setting's
/// default).
pub const DEFAULT_MIN_RESPONSES: u32 = 5;

/// The span a value is measured over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// `2024/25`: 1 August 2024 to 31 July 2025.
    SchoolYear(i32),
    /// `2025`.
    Year(i32),
    /// `2025H1` or `2025H2`.
    Half(i32, u8),
    /// `2025Q1` … `2025Q4`.
    Quarter(i32, u8),
}

/// What kind of span a period is: a trend compares periods of one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    SchoolYear,
    Year,
    Half,
    Quarter,
}

impl Period {
    /// Reads `2024/25`, `2025`, `2025H1` or `2025Q3` (years 1990–2100).
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let year = |s: &str| -> Option<i32> {
            (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
                .filter(|y| (1990..=2100).contains(y))
        };
        if let Some((a, b)) = t.split_once('/') {
            let start = year(a)?;
            let next: i32 = (b.len() == 2 && b.bytes().all(|c| c.is_ascii_digit()))
                .then(|| b.parse().ok())
                .flatten()?;
            return (next == (start + 1) % 100).then_some(Self::SchoolYear(start));
        }
        if t.len() == 6 {
            let (y, rest) = t.split_at(4);
            let y = year(y)?;
            let mut c = rest.chars();
            let (kind, n) = (c.next()?.to_ascii_uppercase(), c.next()?.to_digit(10)?);
            let n = u8::try_from(n).ok()?;
            return match kind {
                'H' if (1..=2).contains(&n) => Some(Self::Half(y, n)),
                'Q' if (1..=4).contains(&n) => Some(Self::Quarter(y, n)),
                _ => None,
            };
        }
        year(t).map(Self::Year)
    }

    pub fn kind(self) -> PeriodKind {
        match self {
            Self::SchoolYear(_) => PeriodKind::SchoolYear,
            Self::Year(_) => PeriodKind::Year,
            Self::Half(..) => PeriodKind::Half,
            Self::Quarter(..) => PeriodKind::Quarter,
        }
    }

    /// Its first day.
    pub fn starts(self) -> NaiveDate {
        let (y, m) = match self {
            Self::SchoolYear(y) => (y, 8),
            Self::Year(y) => (y, 1),
            Self::Half(y, h) => (y, if h == 1 { 1 } else { 7 }),
            Self::Quarter(y, q) => (y, u32::from(q) * 3 - 2),
        };
        NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(NaiveDate::MIN)
    }

    /// Its last day.
    pub fn ends(self) -> NaiveDate {
        let next = match self {
            Self::SchoolYear(y) => Self::SchoolYear(y + 1),
            Self::Year(y) => Self::Year(y + 1),
            Self::Half(y, 1) => Self::Half(y, 2),
            Self::Half(y, _) => Self::Half(y + 1, 1),
            Self::Quarter(y, 4) => Self::Quarter(y + 1, 1),
            Self::Quarter(y, q) => Self::Quarter(y, q + 1),
        };
        next.starts().pred_opt().unwrap_or(NaiveDate::MIN)
    }

    /// The period of the same kind just before it.
    pub fn previous(self) -> Self {
        match self {
            Self::SchoolYear(y) => Self::SchoolYear(y - 1),
            Self::Year(y) => Self::Year(y - 1),
            Self::Half(y, 1) => Self::Half(y - 1, 2),
            Self::Half(y, _) => Self::Half(y, 1),
            Self::Quarter(y, 1) => Self::Quarter(y - 1, 4),
            Self::Quarter(y, q) => Self::Quarter(y, q - 1),
        }
    }
}

/// In time order (by first day), a longer span first where two start together.
impl Ord for Period {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.starts(), self.kind()).cmp(&(other.starts(), other.kind()))
    }
}

impl PartialOrd for Period {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SchoolYear(y) => write!(f, "{y}/{:02}", (y + 1) % 100),
            Self::Year(y) => write!(f, "{y}"),
            Self::Half(y, h) => write!(f, "{y}H{h}"),
            Self::Quarter(y, q) => write!(f, "{y}Q{q}"),
        }
    }
}

impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a period: write 2024/25, 2025, 2025H1 or 2025Q3"
            ))
        })
    }
}

/// A value as people may see it: from too few respondents it is kept on record but
/// shown as "too few responses", and counts in no average shown for a single unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Reading {
    Value(f64),
    TooFew,
}

impl Reading {
    /// `value` from `n` respondents (unknown when `None`), shown only from
    /// `min_responses` on.
    pub fn of(value: f64, n: Option<u32>, min_responses: u32) -> Self {
        match n {
            Some(n) if n < min_responses => Self::TooFew,
            _ => Self::Value(value),
        }
    }

    pub fn value(self) -> Option<f64> {
        match self {
            Self::Value(v) => Some(v),
            Self::TooFew => None,
        }
    }
}

/// How a unit is doing on a measure since the period before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Better,
    Worse,
    /// Moved no more than the measure's tolerance.
    Unchanged,
    /// No comparable earlier value, or one of the two is not shown.
    Insufficient,
}

/// The verdict from `previous` to `latest` for a measure whose `direction` is better and
/// whose `tolerance` is noise.
pub fn verdict(
    direction: Direction,
    tolerance: f64,
    previous: Option<Reading>,
    latest: Option<Reading>,
) -> Verdict {
    let (Some(before), Some(now)) = (
        previous.and_then(Reading::value),
        latest.and_then(Reading::value),
    ) else {
        return Verdict::Insufficient;
    };
    let change = now - before;
    if change.abs() <= tolerance {
        return Verdict::Unchanged;
    }
    match (direction, change > 0.0) {
        (Direction::Higher, true) | (Direction::Lower, false) => Verdict::Better,
        _ => Verdict::Worse,
    }
}

/// A unit's series on one measure, read: the latest period, the one before it of the
/// same kind, the change and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Trend {
    pub latest: Option<(Period, Reading)>,
    pub previous: Option<(Period, Reading)>,
    /// Latest minus previous, when both are shown.
    pub change: Option<f64>,
    pub verdict: Verdict,
}

/// Reads `series` (any order, one reading a period) for a measure.
pub fn trend(series: &[(Period, Reading)], measure: &Indicator) -> Trend {
    let latest = series.iter().copied().max_by_key(|(p, _)| *p);
    let previous =
        latest.and_then(|(p, _)| series.iter().copied().find(|(q, _)| *q == p.previous()));
    let change = match (latest, previous) {
        (Some((_, a)), Some((_, b))) => a.value().zip(b.value()).map(|(a, b)| a - b),
        _ => None,
    };
    Trend {
        latest,
        previous,
        change,
        verdict: verdict(
            measure.direction,
            measure.tolerance,
            previous.map(|(_, r)| r),
            latest.map(|(_, r)| r),
        ),
    }
}

/// The mean of the readings that are shown; `None` when none is.
pub fn average(readings: impl IntoIterator<Item = Reading>) -> Option<f64> {
    let (sum, n) = readings
        .into_iter()
        .filter_map(Reading::value)
        .fold((0.0, 0_u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

/// One measure in one area for the secretariat's pre-analysis: how the units stand and
/// how many moved which way. Counts, never a ranking of units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pattern {
    /// Units with a value shown for the period.
    pub units: usize,
    pub average: Option<f64>,
    /// The population standard deviation of the values shown.
    pub spread: Option<f64>,
    pub better: usize,
    pub worse: usize,
    pub unchanged: usize,
    pub insufficient: usize,
}

/// The pattern of the units' trends on one measure.
pub fn pattern(trends: &[Trend]) -> Pattern {
    let values: Vec<f64> = trends
        .iter()
        .filter_map(|t| t.latest.and_then(|(_, r)| r.value()))
        .collect();
    let average = average(values.iter().map(|v| Reading::Value(*v)));
    let spread = average.map(|m| {
        let n = values.len() as f64;
        (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n).sqrt()
    });
    let count = |v: Verdict| trends.iter().filter(|t| t.verdict == v).count();
    Pattern {
        units: values.len(),
        average,
        spread,
        better: count(Verdict::Better),
        worse: count(Verdict::Worse),
        unchanged: count(Verdict::Unchanged),
        insufficient: count(Verdict::Insufficient),
    }
}

/// A figure as people read it: two decimals, without the binary fraction's noise
/// (5.4799999999999995).
fn tidy(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// A value on record, as a data sheet reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<'a> {
    pub unit_id: &'a str,
    pub area: Area,
    pub measure: &'a str,
    pub period: Period,
    pub value: f64,
    pub n: Option<u32>,
}

/// One point of a series as people see it: a value from too few respondents is `None`,
/// and its count is not shown either.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    pub period: Period,
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
}

/// One measure on a unit's data sheet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MeasureView {
    pub measure: IndicatorCode,
    pub name_da: String,
    pub name_en: String,
    pub direction: Direction,
    pub unit: crate::indicators::MeasureUnit,
    pub series: Vec<Point>,
    /// The latest period, and its value when shown.
    pub latest_period: Option<Period>,
    pub latest: Option<f64>,
    pub change: Option<f64>,
    pub verdict: Verdict,
    /// The mean over the units of the same area, and of the whole department, in the
    /// latest period (values from too few respondents count in neither).
    pub area_average: Option<f64>,
    pub department_average: Option<f64>,
    /// The area's mean in each period of the unit's series: the line a chart draws
    /// beside the unit's own.
    pub area_series: Vec<Average>,
    /// The department's target for the measure, drawn as a line; `None` without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<crate::indicators::Target>,
}

/// An average over units in one period; `None` when no unit's value there is shown.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Average {
    pub period: Period,
    pub value: Option<f64>,
}

/// The sums behind the averages a sheet shows, read from every unit's rows once: per
/// measure and period, per area and for the whole department, over the values that are
/// shown. Owned, so a store can keep it between requests until the data change.
#[derive(Debug, Clone, Default)]
pub struct Averages {
    by_measure: HashMap<String, MeasureSums>,
}

#[derive(Debug, Clone, Default)]
struct MeasureSums {
    area: HashMap<(Period, Area), (f64, u32)>,
    department: HashMap<Period, (f64, u32)>,
}

impl Averages {
    /// The averages of `rows`, values from fewer than `min_responses` left out.
    pub fn of(rows: &[Row<'_>], min_responses: u32) -> Self {
        let mut by_measure: HashMap<String, MeasureSums> = HashMap::new();
        for r in rows {
            if let Some(v) = Reading::of(r.value, r.n, min_responses).value() {
                let m = match by_measure.get_mut(r.measure) {
                    Some(m) => m,
                    None => by_measure.entry(r.measure.to_owned()).or_default(),
                };
                for slot in [
                    m.area.entry((r.period, r.area)).or_default(),
                    m.department.entry(r.period).or_default(),
                ] {
                    slot.0 += v;
                    slot.1 += 1;
                }
            }
        }
        Self { by_measure }
    }

    fn mean((sum, n): (f64, u32)) -> Option<f64> {
        (n > 0).then(|| tidy(sum / f64::from(n)))
    }

    /// The mean of `area`'s units in `period`; `None` when none is shown.
    pub fn area(&self, measure: &str, period: Period, area: Area) -> Option<f64> {
        self.by_measure
            .get(measure)
            .and_then(|m| m.area.get(&(period, area)))
            .copied()
            .and_then(Self::mean)
    }

    /// The mean of every unit in `period`; `None` when none is shown.
    pub fn department(&self, measure: &str, period: Period) -> Option<f64> {
        self.by_measure
            .get(measure)
            .and_then(|m| m.department.get(&period))
            .copied()
            .and_then(Self::mean)
    }
}

/// A unit's data sheet: each measure collected for its `area` that it has values on, in
/// the catalogue's order. `rows` are the values on record for all units (for the
/// averages); `min_responses` hides what rests on fewer respondents.
pub fn sheet(
    unit_id: &str,
    area: Area,
    catalogue: &IndicatorCatalogue,
    rows: &[Row<'_>],
    min_responses: u32,
) -> Vec<MeasureView> {
    let own: Vec<Row<'_>> = rows
        .iter()
        .filter(|r| r.unit_id == unit_id)
        .copied()
        .collect();
    sheet_with(
        area,
        catalogue,
        &own,
        &Averages::of(rows, min_responses),
        min_responses,
    )
}

/// A unit's data sheet from its own rows (`own`) and the averages of every unit's,
/// computed before (a store keeps them until the data change).
pub fn sheet_with(
    area: Area,
    catalogue: &IndicatorCatalogue,
    own: &[Row<'_>],
    sums: &Averages,
    min_responses: u32,
) -> Vec<MeasureView> {
    let mut own_rows: HashMap<&str, Vec<&Row<'_>>> = HashMap::new();
    for r in own {
        own_rows.entry(r.measure).or_default().push(r);
    }
    let mut out = Vec::new();
    for m in catalogue.all_measures().filter(|m| m.applies_to(area)) {
        let code = m.code.as_str();
        let Some(own) = own_rows.get_mut(code) else {
            continue;
        };
        own.sort_by_key(|r| r.period);
        let series: Vec<(Period, Reading)> = own
            .iter()
            .map(|r| (r.period, Reading::of(r.value, r.n, min_responses)))
            .collect();
        let t = trend(&series, m);
        let latest_period = t.latest.map(|(p, _)| p);
        out.push(MeasureView {
            measure: m.code.clone(),
            name_da: m.name_da.clone(),
            name_en: m.name_en.clone(),
            direction: m.direction,
            unit: m.unit,
            series: own
                .iter()
                .zip(&series)
                .map(|(r, (period, reading))| Point {
                    period: *period,
                    value: reading.value(),
                    n: reading.value().and(r.n),
                })
                .collect(),
            latest_period,
            latest: t.latest.and_then(|(_, r)| r.value()),
            change: t.change.map(tidy),
            verdict: t.verdict,
            area_average: latest_period.and_then(|p| sums.area(code, p, area)),
            department_average: latest_period.and_then(|p| sums.department(code, p)),
            area_series: series
                .iter()
                .map(|(p, _)| Average {
                    period: *p,
                    value: sums.area(code, *p, area),
                })
                .collect(),
            target: m.target,
        });
    }
    out
}

/// One measure in one area, in one period: the pattern the secretariat's pre-analysis
/// (phase 1) reads and phase 2 discusses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaPattern {
    pub measure: IndicatorCode,
    pub area: Area,
    pub period: Period,
    #[serde(flatten)]
    pub pattern: Pattern,
    /// With a department target: how many of the units with a value shown reach it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_met: Option<usize>,
}

/// The patterns of every measure in every area it is collected for, each in the latest
/// period that had ended before `before` (the data a cycle's pre-analysis has): the
/// average and spread of the units' values, and how many got better, worse or stayed.
pub fn patterns(
    catalogue: &IndicatorCatalogue,
    rows: &[Row<'_>],
    min_responses: u32,
    before: NaiveDate,
) -> Vec<AreaPattern> {
    // One pass: the rows of each measure and area that the pre-analysis can read.
    let mut groups: HashMap<(&str, Area), Vec<&Row<'_>>> = HashMap::new();
    for r in rows.iter().filter(|r| r.period.ends() < before) {
        groups.entry((r.measure, r.area)).or_default().push(r);
    }
    let mut out = Vec::new();
    for m in catalogue.all_measures() {
        let code = m.code.as_str();
        for area in Area::ALL.into_iter().filter(|a| m.applies_to(*a)) {
            let Some(here) = groups.get(&(code, area)) else {
                continue;
            };
            let Some(period) = here.iter().map(|r| r.period).max() else {
                continue;
            };
            // Each unit's series of the period's kind, up to it; every unit with a
            // value of the measure here is counted, comparable or not. In the units'
            // order, so the sums (and their rounding) are the same every time.
            let mut series: BTreeMap<&str, Vec<(Period, Reading)>> = BTreeMap::new();
            for r in here {
                let s = series.entry(r.unit_id).or_default();
                if r.period.kind() == period.kind() && r.period <= period {
                    s.push((r.period, Reading::of(r.value, r.n, min_responses)));
                }
            }
            let trends: Vec<Trend> = series
                .values()
                .map(|series| {
                    let t = trend(series, m);
                    // A unit with no value for the period says nothing about it.
                    if t.latest.is_some_and(|(p, _)| p == period) {
                        t
                    } else {
                        Trend {
                            latest: None,
                            previous: None,
                            change: None,
                            verdict: Verdict::Insufficient,
                        }
                    }
                })
                .collect();
            let mut pattern = pattern(&trends);
            pattern.average = pattern.average.map(tidy);
            pattern.spread = pattern.spread.map(tidy);
            let target_met = m.target.map(|_| {
                trends
                    .iter()
                    .filter_map(|t| t.latest.and_then(|(_, r)| r.value()))
                    .filter(|v| m.meets_target(*v) == Some(true))
                    .count()
            });
            out.push(AreaPattern {
                measure: m.code.clone(),
                area,
                period,
                pattern,
                target_met,
            });
        }
    }
    out
}

/// One row of a measurement file, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    pub unit_id: UnitId,
    pub measure: IndicatorCode,
    pub period: Period,
    pub value: f64,
    /// Respondents (or children, pupils) the value rests on, when the source says.
    pub n: Option<u32>,
    pub source: Option<String>,
    /// Its line in the file.
    pub line: usize,
}

const REQUIRED: [&str; 4] = ["unit_id", "measure", "period", "value"];
const OPTIONAL: [&str; 2] = ["n", "source"];

/// Column names that say a file holds people, not units: refused whatever the rest.
const PERSONAL: [&str; 16] = [
    "cpr",
    "cpr_nr",
    "cprnr",
    "name",
    "navn",
    "fornavn",
    "efternavn",
    "child",
    "barn",
    "elev",
    "pupil",
    "student",
    "employee",
    "medarbejder",
    "person",
    "birthday",
];

/// What may stand between a CPR number's date of birth and its four digits: nothing, a
/// hyphen, a space, an en or em dash, a dot or a slash.
const CPR_SEPARATORS: [char; 6] = ['-', ' ', '\u{2013}', '\u{2014}', '.', '/'];

/// Whether `text` holds something shaped like a CPR number: a date of birth with a
/// valid day and month, written `ddmmyy` or `dd.mm.yy` (or with hyphens or slashes
/// between), then at most one separator ([`CPR_SEPARATORS`]) and four digits, not
/// inside a longer run of digits.
pub fn looks_like_cpr(text: &str) -> bool {
    let c: Vec<char> = text.chars().collect();
    let digit = |i: usize| c.get(i).is_some_and(char::is_ascii_digit);
    let two = |i: usize| {
        (digit(i) && digit(i + 1))
            .then(|| c[i].to_digit(10).unwrap_or(0) * 10 + c[i + 1].to_digit(10).unwrap_or(0))
    };
    (0..c.len()).any(|i| {
        if i > 0 && digit(i - 1) {
            return false;
        }
        let Some(day) = two(i) else {
            return false;
        };
        // `ddmmyy`, or `dd.mm.yy` with the same mark twice.
        let (month_at, year_at) = match c.get(i + 2) {
            Some(d) if d.is_ascii_digit() => (i + 2, i + 4),
            Some(m @ ('.' | '-' | '/')) if c.get(i + 5) == Some(m) => (i + 3, i + 6),
            _ => return false,
        };
        let (Some(month), Some(_year)) = (two(month_at), two(year_at)) else {
            return false;
        };
        let mut rest = year_at + 2;
        if c.get(rest).is_some_and(|s| CPR_SEPARATORS.contains(s)) {
            rest += 1;
        }
        (rest..rest + 4).all(digit)
            && !digit(rest + 4)
            && (1..=31).contains(&day)
            && (1..=12).contains(&month)
    })
}

/// A number as Danish and English exports write it: `6.1` or `6,1`, a leading minus;
/// no thousands separators (they are ambiguous between the two).
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim();
    if t.is_empty() || t.len() > 32 || t.matches([',', '.']).count() > 1 {
        return None;
    }
    let v: f64 = t.replace(',', ".").parse().ok()?;
    v.is_finite().then_some(v)
}

/// Every problem in a measurement file (the first [`MAX_PROBLEMS`](crate::limits::MAX_PROBLEMS), then a count);
/// nothing is imported while there is one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DataErrors(pub Vec<RowError>);

impl fmt::Display for DataErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::org::write_problems(f, "the data file", &self.0)
    }
}

/// A measurement file's problems, gathered as the organisation file's are.
#[derive(Default)]
struct Errors(crate::org::Errors);

impl Errors {
    fn push(&mut self, line: Option<usize>, field: Option<&str>, text: Text) {
        self.0.push(RowError::new(line, field, text));
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn finish(self) -> DataErrors {
        DataErrors(self.0.into_list())
    }
}

/// Reads and checks a measurement file (CSV with the header
/// `unit_id,measure,period,value,n,source`, `,` or `;` between fields, a decimal point or
/// comma, a byte-order mark or none). `area_of` names the area of each unit on record,
/// or `None` for an id that is not one. All or nothing: every bad line is named with its
/// field, and the file is refused while there is one. `progress` gets the rows read.
pub fn read_measurements(
    text: &str,
    catalogue: &IndicatorCatalogue,
    area_of: impl Fn(&str) -> Option<Area>,
    mut progress: impl FnMut(usize),
) -> Result<Vec<Measurement>, DataErrors> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first_line = text.lines().next().unwrap_or_default();
    let delimiter = if first_line.contains(';') { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut errors = Errors::default();
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.trim().to_lowercase()).collect(),
        Err(e) => {
            errors.push(
                None,
                None,
                Text::new("data.not_csv").arg("detail", e.to_string()),
            );
            return Err(errors.finish());
        }
    };
    // Columns about people are refused as such, before they are called unknown.
    let column = crate::org::header_columns(
        &header,
        (&REQUIRED, &OPTIONAL),
        ("data.column_twice", "data.header_lacks"),
        |name| {
            let key = if PERSONAL.contains(&name) {
                "data.personal_column"
            } else {
                "data.unknown_column"
            };
            Text::new(key).arg("name", clip(name, 40))
        },
        &mut errors.0,
    );
    if !errors.is_empty() {
        return Err(errors.finish());
    }

    let lines = Lines::new(text);
    let mut out = Vec::new();
    let mut seen: HashMap<(String, String, Period), usize> = HashMap::new();
    for (n, record) in reader.records().enumerate() {
        if n >= MAX_DATA_ROWS {
            errors.push(
                None,
                None,
                Text::new("data.too_many_rows").arg("max", MAX_DATA_ROWS),
            );
            return Err(errors.finish());
        }
        progress(n + 1);
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| lines.of_record(text, p.byte()));
                errors.push(
                    line,
                    None,
                    Text::new("data.not_csv").arg("detail", e.to_string()),
                );
                continue;
            }
        };
        let line = record
            .position()
            .map_or(n + 2, |p| lines.of_record(text, p.byte()));
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        // A person's number anywhere in the row: refused before anything else is said.
        if record.iter().any(looks_like_cpr) {
            errors.push(Some(line), None, Text::new("data.cpr"));
            continue;
        }
        let field = |name: &str| {
            column
                .get(name)
                .and_then(|i| record.get(*i))
                .map_or("", str::trim)
        };
        let mut bad = |f: &str, text: Text| errors.push(Some(line), Some(f), text);

        let unit = match UnitId::parse(field("unit_id")) {
            Ok(u) => match area_of(u.as_str()) {
                Some(area) => Some((u, area)),
                None => {
                    bad(
                        "unit_id",
                        Text::new("data.unknown_unit").arg("id", u.as_str()),
                    );
                    None
                }
            },
            Err(t) => {
                bad("unit_id", t);
                None
            }
        };
        let measure = match catalogue.get(field("measure")) {
            Some(m) => Some(m),
            None => {
                bad(
                    "measure",
                    Text::new("data.unknown_measure")
                        .arg("value", clip(field("measure"), 64))
                        .arg("codes", measure_codes(catalogue)),
                );
                None
            }
        };
        let period = Period::parse(field("period"));
        if period.is_none() {
            bad(
                "period",
                Text::new("data.period").arg("value", clip(field("period"), 32)),
            );
        }
        let value = parse_number(field("value"));
        if value.is_none() {
            bad(
                "value",
                Text::new("data.value").arg("value", clip(field("value"), 32)),
            );
        }
        let count = match field("n") {
            "" => Some(None),
            t => match t.parse::<u32>() {
                Ok(c) => Some(Some(c)),
                Err(_) => {
                    bad("n", Text::new("data.n").arg("value", clip(t, 32)));
                    None
                }
            },
        };
        let source = field("source");
        if source.chars().count() > MAX_SOURCE_CHARS
            || source.chars().any(crate::limits::breaks_line)
        {
            bad(
                "source",
                Text::new("data.source").arg("max", MAX_SOURCE_CHARS),
            );
        }
        if let (Some((_, area)), Some(m)) = (&unit, measure)
            && !m.applies_to(*area)
        {
            bad(
                "measure",
                Text::new("data.not_for_area")
                    .arg("measure", m.code.as_str())
                    .arg("area", Arg::Key(format!("area.{}", area.key()))),
            );
            continue;
        }
        if let (Some(m), Some(v)) = (measure, value)
            && !(m.min..=m.max).contains(&v)
        {
            bad(
                "value",
                Text::new("data.range")
                    .arg("value", field("value"))
                    .arg("measure", m.code.as_str())
                    .arg("min", m.min.to_string())
                    .arg("max", m.max.to_string()),
            );
            continue;
        }
        let (Some((unit_id, _)), Some(m), Some(period), Some(value), Some(n)) =
            (unit, measure, period, value, count)
        else {
            continue;
        };
        let key = (
            unit_id.as_str().to_owned(),
            m.code.as_str().to_owned(),
            period,
        );
        if let Some(first) = seen.insert(key, line) {
            errors.push(
                Some(line),
                None,
                Text::new("data.duplicate")
                    .arg("unit", unit_id.as_str())
                    .arg("measure", m.code.as_str())
                    .arg("period", period.to_string())
                    .arg("first", first),
            );
            continue;
        }
        out.push(Measurement {
            unit_id,
            measure: m.code.clone(),
            period,
            value,
            n,
            source: (!source.is_empty()).then(|| source.to_owned()),
            line,
        });
    }
    if !errors.is_empty() {
        return Err(errors.finish());
    }
    if out.is_empty() {
        errors.push(None, None, Text::new("data.empty"));
        return Err(errors.finish());
    }
    Ok(out)
}

/// The school year a day falls in (1 August to 31 July), for placing other periods.
pub fn school_year_of(day: NaiveDate) -> Period {
    let y = day.year();
    Period::SchoolYear(if day.month() >= 8 { y } else { y - 1 })
}

/// The catalogue's measure codes, for a message that names what to write instead.
fn measure_codes(catalogue: &IndicatorCatalogue) -> String {
    catalogue
        .all_measures()
        .map(|m| m.code.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;

/// The grade hjul proposes for a goal with numeric criteria at the midway status, and
/// the measurement it rests on: the unit's latest value of the goal's indicator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Proposal {
    pub grade: crate::agreement::Grade,
    pub measure: IndicatorCode,
    pub period: Period,
    pub value: f64,
    pub criteria: crate::agreement::Criteria,
}

/// The proposal for `criteria` on `measure` from the unit's `series` (any order). None
/// when the unit has no value, or when its latest rests on too few respondents: an older
/// value would propose a grade from a picture that is no longer the latest, and a hidden
/// one must not show through a grade.
pub fn propose(
    measure: &Indicator,
    criteria: crate::agreement::Criteria,
    series: &[(Period, Reading)],
) -> Option<Proposal> {
    let (period, reading) = series.iter().copied().max_by_key(|(p, _)| *p)?;
    let value = reading.value()?;
    Some(Proposal {
        grade: criteria.grade(measure.direction, value),
        measure: measure.code.clone(),
        period,
        value,
        criteria,
    })
}

/// How far the data collection has come on one measure: in the period a cycle's
/// pre-analysis reads (the latest ended before it began), how many of the units the
/// measure is collected for have no value yet. What the secretariat's reminders about
/// the data collection say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataGap {
    /// The measure's code.
    pub measure: String,
    pub name_da: String,
    pub name_en: String,
    /// `None`: no unit has a value of the measure yet.
    pub period: Option<Period>,
    /// Units without a value for the period.
    pub missing: usize,
    /// Units the measure is collected for: those with a value for any period of its kind
    /// up to it. A unit never measured on it is not counted as missing: hjul cannot
    /// tell which units a measure is collected for before it has seen one value.
    pub units: usize,
}

/// The gaps on every measure of `catalogue` for the pre-analysis before `before`: each
/// measure with a unit missing, and each with no value at all; complete ones are left
/// out. With no values at all, none: a department that keeps its data elsewhere is not
/// told each time that hjul holds none.
pub fn gaps(catalogue: &IndicatorCatalogue, rows: &[Row<'_>], before: NaiveDate) -> Vec<DataGap> {
    let mut out = Vec::new();
    if rows.is_empty() {
        return out;
    }
    let mut by_measure: HashMap<&str, Vec<&Row<'_>>> = HashMap::new();
    for r in rows.iter().filter(|r| r.period.ends() < before) {
        by_measure.entry(r.measure).or_default().push(r);
    }
    for m in catalogue.all_measures() {
        let code = m.code.as_str();
        let here = by_measure.get(code).map_or(&[][..], Vec::as_slice);
        let period = here.iter().map(|r| r.period).max();
        let (missing, units) = match period {
            None => (0, 0),
            Some(p) => {
                // Units collected for (a value of the period's kind) and those with one
                // for the period itself.
                let mut collected: HashSet<&str> = HashSet::new();
                let mut has: HashSet<&str> = HashSet::new();
                for r in here.iter().filter(|r| r.period.kind() == p.kind()) {
                    collected.insert(r.unit_id);
                    if r.period == p {
                        has.insert(r.unit_id);
                    }
                }
                (collected.len() - has.len(), collected.len())
            }
        };
        if period.is_none() || missing > 0 {
            out.push(DataGap {
                measure: m.code.to_string(),
                name_da: m.name_da.clone(),
                name_en: m.name_en.clone(),
                period,
                missing,
                units,
            });
        }
    }
    out
}
