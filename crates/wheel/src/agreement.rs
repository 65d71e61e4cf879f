//! The coherence agreement (sammenhængsaftale): a unit's two-year development plan of
//! weighted goals, checked when it is submitted, and graded at the midway status.
//!
//! Goals are weighted in whole percent and graded fully, partly or not met (100, 50 or
//! 0 %), so a score is always a multiple of half a percent and is kept exactly, in basis
//! points.
//!
//! A person writes goals in the dashboard's editor or in an agreement file; both become
//! [`GoalDraft`]s (every field as the text typed, so nothing is lost when one is wrong)
//! and are checked by one function, [`Agreement::check`], which reports every problem
//! at once, each naming the goal and the field.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::config_error::{ConfigError, Lines, Problem, Problems};
use crate::indicators::{Direction, IndicatorCatalogue, IndicatorCode};
use crate::limits::{
    MAX_ACTIVITIES, MAX_FILE_BYTES, MAX_GOALS, MAX_TEXT_CHARS, MAX_TITLE_CHARS, breaks_line,
};
use crate::org::Language;
use crate::text::{Arg, Text, key};

mod toml_file;

/// What a goal is about.
#[cfg_attr(feature = "db", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "db",
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Kvalitet
    Quality,
    /// Økonomi
    Economy,
    /// Medarbejdertrivsel
    Wellbeing,
}

/// Common goals hang on the beacons' indicators; local goals are the unit's own.
#[cfg_attr(feature = "db", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "db",
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalKind {
    /// Fælles mål
    Common,
    /// Lokalt mål
    Local,
}

#[cfg_attr(feature = "db", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "db",
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Horizon {
    /// Kortsigtet
    Short,
    /// Langsigtet
    Long,
}

/// A goal's weight in whole percent, 1 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(into = "u8")]
pub struct Weight(u8);

impl Weight {
    pub fn new(percent: i64) -> Option<Self> {
        u8::try_from(percent)
            .ok()
            .filter(|p| (1..=100).contains(p))
            .map(Self)
    }

    pub fn percent(self) -> u8 {
        self.0
    }
}

impl From<Weight> for u8 {
    fn from(w: Weight) -> u8 {
        w.0
    }
}

/// How far a goal was met.
#[cfg_attr(feature = "db", derive(sea_orm::DeriveActiveEnum, sea_orm::EnumIter))]
#[cfg_attr(
    feature = "db",
    sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// Fuldt opfyldt: 100 %
    Full,
    /// Delvist opfyldt: 50 %
    Partly,
    /// Ikke opfyldt: 0 %
    #[serde(rename = "none")]
    #[cfg_attr(feature = "db", sea_orm(string_value = "none"))]
    NotMet,
}

/// Its key, as files, the API and the catalogues' names (`grade.full`) write it.
impl fmt::Display for Grade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` keeps a table's width (`{:<17}`), as the keys written as text did.
        f.pad(self.key())
    }
}

impl Grade {
    pub const ALL: [Grade; 3] = [Grade::Full, Grade::Partly, Grade::NotMet];

    /// The key, or its Danish word (`fuldt`, `delvist`, `ikke`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_lowercase().as_str() {
            "full" | "fully" | "fuldt" | "fuld" => Some(Self::Full),
            "partly" | "delvist" | "delvis" => Some(Self::Partly),
            "none" | "not_met" | "ikke" | "ingen" => Some(Self::NotMet),
            _ => None,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Partly => "partly",
            Self::NotMet => "none",
        }
    }

    pub fn percent(self) -> u32 {
        match self {
            Self::Full => 100,
            Self::Partly => 50,
            Self::NotMet => 0,
        }
    }
}

/// An agreement's score: the weighted sum of its grades, exact, in basis points (1/100
/// of a percent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(u32);

impl Score {
    /// The weighted sum of graded goals.
    pub fn weighted(grades: impl IntoIterator<Item = (Weight, Grade)>) -> Self {
        Self(
            grades
                .into_iter()
                .map(|(w, g)| u32::from(w.percent()) * g.percent())
                .sum(),
        )
    }

    pub fn basis_points(self) -> u32 {
        self.0
    }

    /// A score kept as its basis points (the store's projection keeps it so).
    pub fn from_basis_points(points: u32) -> Self {
        Self(points)
    }

    /// The score in percent (exact: always a multiple of 0.5).
    pub fn percent(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

impl Serialize for Score {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.percent())
    }
}

impl fmt::Display for Score {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / 100, self.0 % 100);
        if frac == 0 {
            write!(f, "{whole} %")
        } else if frac % 10 == 0 {
            write!(f, "{whole}.{} %", frac / 10)
        } else {
            write!(f, "{whole}.{frac:02} %")
        }
    }
}

/// One goal of an agreement, valid by construction (see [`Agreement::check`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Goal {
    pub title: String,
    pub dimension: Dimension,
    pub kind: GoalKind,
    pub horizon: Horizon,
    pub weight: Weight,
    pub indicator: Option<IndicatorCode>,
    pub baseline: String,
    pub partly_met: String,
    pub fully_met: String,
    pub activities: Vec<String>,
    pub target_date: NaiveDate,
    /// The criteria as numbers on the goal's indicator, when the leader gave them: what
    /// the midway status proposes a grade from.
    pub measured: Option<Criteria>,
}

/// A goal's baseline and its partly-met and fully-met thresholds as values of its
/// indicator, each better than the one before in the indicator's direction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Criteria {
    pub baseline: f64,
    pub partly_met: f64,
    pub fully_met: f64,
}

// The values are checked finite when read (never NaN), so equality is total.
impl Eq for Criteria {}

impl Criteria {
    /// The grade a value earns, read the indicator's way: at or past fully met is full,
    /// at or past partly met is partly, anything short of it none.
    pub fn grade(self, direction: Direction, value: f64) -> Grade {
        let reaches = |threshold: f64| match direction {
            Direction::Higher => value >= threshold,
            Direction::Lower => value <= threshold,
        };
        if reaches(self.fully_met) {
            Grade::Full
        } else if reaches(self.partly_met) {
            Grade::Partly
        } else {
            Grade::NotMet
        }
    }
}

/// The fields of a goal, by the names files and forms use; problems name them.
pub const GOAL_FIELDS: [&str; 14] = [
    "title",
    "dimension",
    "kind",
    "horizon",
    "weight",
    "indicator",
    "baseline",
    "partly_met",
    "fully_met",
    "baseline_value",
    "partly_met_value",
    "fully_met_value",
    "activities",
    "target_date",
];

/// The fields that give the criteria as numbers, all three or none.
pub const VALUE_FIELDS: [&str; 3] = ["baseline_value", "partly_met_value", "fully_met_value"];

/// A goal as a person wrote it, before it is checked: every field as the text typed
/// (an empty text is a field left out), so a form refused for one field comes back with
/// the others as they were.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GoalDraft {
    pub title: String,
    /// `quality`, `economy` or `wellbeing` (or the Danish word).
    pub dimension: String,
    /// `common` or `local`.
    pub kind: String,
    /// `short` or `long`.
    pub horizon: String,
    /// Whole percent.
    pub weight: String,
    /// An indicator's code.
    pub indicator: String,
    pub baseline: String,
    pub partly_met: String,
    pub fully_met: String,
    pub activities: Vec<String>,
    /// `YYYY-MM-DD`.
    pub target_date: String,
    /// The criteria as numbers on the indicator (`6.1` or `6,1`); all three or none.
    pub baseline_value: String,
    pub partly_met_value: String,
    pub fully_met_value: String,
}

impl From<&Goal> for GoalDraft {
    fn from(g: &Goal) -> Self {
        Self {
            title: g.title.clone(),
            dimension: g.dimension.key().to_owned(),
            kind: g.kind.key().to_owned(),
            horizon: g.horizon.key().to_owned(),
            weight: g.weight.percent().to_string(),
            indicator: g
                .indicator
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            baseline: g.baseline.clone(),
            partly_met: g.partly_met.clone(),
            fully_met: g.fully_met.clone(),
            activities: g.activities.clone(),
            target_date: g.target_date.to_string(),
            ..GoalDraft::with_values(g.measured)
        }
    }
}

impl GoalDraft {
    /// A draft with only the numeric criteria filled in (as a form shows them), from the
    /// criteria of a goal on record; the rest with `..`.
    pub fn with_values(measured: Option<Criteria>) -> Self {
        let text =
            |pick: fn(Criteria) -> f64| measured.map(|c| pick(c).to_string()).unwrap_or_default();
        Self {
            baseline_value: text(|c| c.baseline),
            partly_met_value: text(|c| c.partly_met),
            fully_met_value: text(|c| c.fully_met),
            ..Self::default()
        }
    }
}

/// A warning about an agreement that is valid but may not be good (goal fixation,
/// målfiksering): every goal on one dimension, one indicator, or no local goal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum Warning {
    OneDimension { dimension: Dimension },
    OneIndicator { indicator: IndicatorCode },
    NoLocalGoal,
    NoBaseline { goal: String },
}

impl Warning {
    /// What to tell people; `catalogue` names the indicator in their language.
    pub fn text(&self, catalogue: Option<&IndicatorCatalogue>) -> Text {
        match self {
            Self::OneDimension { dimension } => Text::new("warning.one_dimension")
                .arg("dimension", key("dimension", dimension.key())),
            Self::OneIndicator { indicator } => {
                let name = catalogue
                    .and_then(|c| c.get(indicator.as_str()))
                    .map_or_else(
                        || Arg::Plain(indicator.to_string()),
                        |i| Arg::Names {
                            da: i.name_da.clone(),
                            en: i.name_en.clone(),
                        },
                    );
                Text::new("warning.one_indicator").arg("indicator", name)
            }
            Self::NoLocalGoal => Text::new("warning.no_local_goal"),
            Self::NoBaseline { goal } => {
                Text::new("warning.no_baseline").arg("goal", goal.as_str())
            }
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.text(None))
    }
}

/// Its key, as files, the API and the catalogues' names (`grade.full`) write it.
impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` keeps a table's width (`{:<17}`), as the keys written as text did.
        f.pad(self.key())
    }
}

impl Dimension {
    pub const ALL: [Dimension; 3] = [Dimension::Quality, Dimension::Economy, Dimension::Wellbeing];

    pub fn key(self) -> &'static str {
        match self {
            Self::Quality => "quality",
            Self::Economy => "economy",
            Self::Wellbeing => "wellbeing",
        }
    }

    /// The key, or its Danish word.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_lowercase().as_str() {
            "quality" | "kvalitet" => Some(Self::Quality),
            "economy" | "økonomi" | "oekonomi" => Some(Self::Economy),
            "wellbeing" | "trivsel" | "medarbejdertrivsel" => Some(Self::Wellbeing),
            _ => None,
        }
    }
}

/// Its key, as files, the API and the catalogues' names (`grade.full`) write it.
impl fmt::Display for GoalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` keeps a table's width (`{:<17}`), as the keys written as text did.
        f.pad(self.key())
    }
}

impl GoalKind {
    pub const ALL: [GoalKind; 2] = [GoalKind::Common, GoalKind::Local];

    pub fn key(self) -> &'static str {
        match self {
            Self::Common => "common",
            Self::Local => "local",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_lowercase().as_str() {
            "common" | "fælles" | "faelles" => Some(Self::Common),
            "local" | "lokal" | "lokalt" => Some(Self::Local),
            _ => None,
        }
    }
}

/// Its key, as files, the API and the catalogues' names (`grade.full`) write it.
impl fmt::Display for Horizon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` keeps a table's width (`{:<17}`), as the keys written as text did.
        f.pad(self.key())
    }
}

impl Horizon {
    pub const ALL: [Horizon; 2] = [Horizon::Short, Horizon::Long];

    pub fn key(self) -> &'static str {
        match self {
            Self::Short => "short",
            Self::Long => "long",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_lowercase().as_str() {
            "short" | "kort" | "kortsigtet" => Some(Self::Short),
            "long" | "lang" | "langsigtet" => Some(Self::Long),
            _ => None,
        }
    }
}

/// The dates a goal's target date may fall on: from the cycle's first day to the end of
/// the next cycle (an agreement is in force until the next one replaces it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetDates {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

/// A valid set of goals whose weights add up to 100.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agreement {
    goals: Vec<Goal>,
}

/// A goal's name in a problem's English key: `goal 2 "Budget i balance"`.
fn goal_name(i: usize, title: &str) -> String {
    if title.is_empty() {
        format!("goal {}", i + 1)
    } else {
        format!(
            "goal {} \"{}\"",
            i + 1,
            crate::limits::clip(title, MAX_TITLE_CHARS)
        )
    }
}

/// Records problems about one goal's fields, each with its line, English key and text.
struct GoalProblems<'a> {
    problems: &'a mut Problems,
    index: usize,
    name: String,
    line: Option<usize>,
    /// A field the file could not be read for: not reported as missing as well.
    unreadable: &'a BTreeSet<&'static str>,
}

impl GoalProblems<'_> {
    fn add(&mut self, field: &'static str, text: Text) {
        self.problems.push(
            Problem::text(self.line, format!("{}.{field}", self.name), text)
                .at(Some(self.index + 1), Some(field)),
        );
    }

    fn missing(&mut self, field: &'static str) {
        if !self.unreadable.contains(field) {
            self.add(field, Text::new(missing_key(field)));
        }
    }

    /// A text field: at most `max` characters, and `one_line` keeps it on one line.
    fn text(&mut self, field: &'static str, value: &str, max: usize, one_line: bool) {
        let n = value.chars().count();
        if n > max {
            self.add(
                field,
                Text::new("goal.too_long").arg("count", n).arg("max", max),
            );
        } else if one_line && value.chars().any(breaks_line) {
            self.add(field, Text::new("goal.line_break"));
        } else if one_line && let Err(t) = crate::limits::check_visible(value) {
            self.add(field, t);
        }
    }
}

fn missing_key(field: &str) -> &'static str {
    match field {
        "title" => "goal.missing.title",
        "dimension" => "goal.missing.dimension",
        "kind" => "goal.missing.kind",
        "horizon" => "goal.missing.horizon",
        "weight" => "goal.missing.weight",
        "indicator" => "goal.missing.indicator",
        "partly_met" | "fully_met" => "goal.missing.criteria",
        "target_date" => "goal.missing.target_date",
        _ => "goal.missing.other",
    }
}

/// A date as people write it in a file or a form: `2027-06-30`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok()
}

impl Agreement {
    pub fn goals(&self) -> &[Goal] {
        &self.goals
    }

    /// The half-yearly status on the goals as it is kept: one status per goal, in the
    /// agreement's order, each written as `N. title: status`. Every goal needs one, and
    /// the whole is bounded like any notes.
    pub fn goal_status_notes(&self, statuses: &[String]) -> Result<String, Text> {
        if statuses.len() != self.goals.len() {
            return Err(Text::new("goal_status.count")
                .arg("count", statuses.len())
                .arg("goals", self.goals.len()));
        }
        let mut out = String::new();
        for (i, (goal, status)) in self.goals.iter().zip(statuses).enumerate() {
            let status = status.trim();
            if status.is_empty() {
                return Err(Text::new("goal_status.missing")
                    .arg("n", i + 1)
                    .arg("goal", goal.title.clone()));
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("{}. {}: {status}", i + 1, goal.title));
        }
        crate::limits::check_notes(&out)?;
        Ok(out)
    }

    /// Reads an agreement file (`[[goal]]` tables) and checks it against `catalogue`;
    /// `targets`, when given, bounds the goals' target dates. Every problem of the file
    /// comes back at once (up to the limit), syntax and content alike, wherever the
    /// parser could read on.
    pub fn from_toml(
        text: &str,
        file: &str,
        catalogue: &IndicatorCatalogue,
        targets: Option<TargetDates>,
    ) -> Result<(Self, Vec<Warning>), ConfigError> {
        let error = |problems: Vec<Problem>| ConfigError {
            file: file.to_owned(),
            problems,
        };
        if let Some(p) = too_large(text) {
            return Err(error(vec![p]));
        }
        let mut problems = Problems::default();
        let lines = Lines::new(text);
        let read = toml_file::goals(text, &lines, &mut problems);
        let (agreement, warnings) = Self::check_into(
            &read.drafts,
            &read.lines,
            &read.unreadable,
            catalogue,
            targets,
            &mut problems,
        );
        match agreement {
            Some(a) if problems.is_empty() => Ok((a, warnings)),
            _ => Err(error(problems.finish())),
        }
    }

    /// Reads an agreement file into drafts without checking them, with the problems of
    /// reading it (syntax, unknown keys, values of the wrong kind): what the editor shows
    /// when a leader uploads a file, to look over before submitting.
    pub fn drafts_from_toml(text: &str) -> (Vec<GoalDraft>, Vec<Problem>) {
        if let Some(p) = too_large(text) {
            return (Vec::new(), vec![p]);
        }
        let mut problems = Problems::default();
        let lines = Lines::new(text);
        let read = toml_file::goals(text, &lines, &mut problems);
        let mut drafts = read.drafts;
        drafts.truncate(MAX_GOALS);
        (drafts, problems.finish())
    }

    /// Checks drafted goals; `lines` (may be empty) gives each goal's line for errors.
    /// Every problem is reported, each naming the goal and the field.
    pub fn check(
        drafts: &[GoalDraft],
        lines: &[Option<usize>],
        catalogue: &IndicatorCatalogue,
        targets: Option<TargetDates>,
    ) -> Result<(Self, Vec<Warning>), Vec<Problem>> {
        let mut problems = Problems::default();
        let (agreement, warnings) =
            Self::check_into(drafts, lines, &[], catalogue, targets, &mut problems);
        match agreement {
            Some(a) if problems.is_empty() => Ok((a, warnings)),
            _ => Err(problems.finish()),
        }
    }

    fn check_into(
        drafts: &[GoalDraft],
        lines: &[Option<usize>],
        unreadable: &[BTreeSet<&'static str>],
        catalogue: &IndicatorCatalogue,
        targets: Option<TargetDates>,
        problems: &mut Problems,
    ) -> (Option<Self>, Vec<Warning>) {
        if drafts.is_empty() {
            problems.push(Problem::text(None, "goal", Text::new("agreement.no_goals")));
            return (None, Vec::new());
        }
        if drafts.len() > MAX_GOALS {
            problems.push(Problem::text(
                None,
                "goal",
                Text::new("agreement.too_many_goals")
                    .arg("count", drafts.len())
                    .arg("max", MAX_GOALS),
            ));
            return (None, Vec::new());
        }
        let before = problems.count();
        let none = BTreeSet::new();
        let mut titles: BTreeMap<String, usize> = BTreeMap::new();
        let mut goals = Vec::new();
        // Each goal's weight as far as it could be read: the total is told with the
        // other problems (in the same round, not after they are fixed).
        let mut weights: Vec<Option<u32>> = Vec::with_capacity(drafts.len());
        for (i, d) in drafts.iter().enumerate() {
            let title = d.title.trim().to_owned();
            let mut p = GoalProblems {
                problems,
                index: i,
                name: goal_name(i, &title),
                line: lines.get(i).copied().flatten(),
                unreadable: unreadable.get(i).unwrap_or(&none),
            };
            if title.is_empty() {
                p.missing("title");
            } else {
                let n = p.problems.count();
                p.text("title", &title, MAX_TITLE_CHARS, true);
                if p.problems.count() == n
                    && let Some(first) = titles.insert(title.clone(), i + 1)
                {
                    p.add("title", Text::new("goal.title_twice").arg("first", first));
                }
            }
            let dimension = choice(&mut p, "dimension", &d.dimension, Dimension::parse);
            let kind = choice(&mut p, "kind", &d.kind, GoalKind::parse);
            let horizon = choice(&mut p, "horizon", &d.horizon, Horizon::parse);
            let weight = weight(&mut p, &d.weight);
            weights.push(weight.map(|w| u32::from(w.percent())));
            let indicator = indicator(&mut p, &d.indicator, kind, catalogue);
            for (field, text) in [
                ("baseline", &d.baseline),
                ("partly_met", &d.partly_met),
                ("fully_met", &d.fully_met),
            ] {
                p.text(field, text.trim(), MAX_TEXT_CHARS, false);
                if field != "baseline" && text.trim().is_empty() {
                    p.missing(field);
                }
            }
            let activities: Vec<String> = d
                .activities
                .iter()
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty())
                .collect();
            if activities.len() > MAX_ACTIVITIES {
                p.add(
                    "activities",
                    Text::new("goal.too_many_activities")
                        .arg("count", activities.len())
                        .arg("max", MAX_ACTIVITIES),
                );
            } else if let Some(long) = activities
                .iter()
                .find(|a| a.chars().count() > MAX_TEXT_CHARS)
            {
                p.text("activities", long, MAX_TEXT_CHARS, false);
            }
            let target_date = target_date(&mut p, &d.target_date, targets);
            let measured = measured(&mut p, d, indicator.as_ref(), catalogue);
            if let (Some(dimension), Some(kind), Some(horizon), Some(weight), Some(target_date)) =
                (dimension, kind, horizon, weight, target_date)
            {
                goals.push(Goal {
                    title,
                    dimension,
                    kind,
                    horizon,
                    weight,
                    indicator,
                    baseline: d.baseline.trim().to_owned(),
                    partly_met: d.partly_met.trim().to_owned(),
                    fully_met: d.fully_met.trim().to_owned(),
                    activities,
                    target_date,
                    measured,
                });
            }
        }
        let total: Option<u32> = weights.iter().copied().sum();
        if let Some(total) = total
            && total != 100
        {
            problems.push(
                Problem::text(
                    None,
                    "weight",
                    Text::new("agreement.weights").arg("total", total),
                )
                .at(None, Some("weight")),
            );
        }
        if problems.count() > before || !problems.is_empty() {
            return (None, Vec::new());
        }
        let agreement = Self { goals };
        let warnings = agreement.warnings();
        (Some(agreement), warnings)
    }

    /// Goal fixation and unmeasurable goals: worth a second look, never a refusal.
    pub fn warnings(&self) -> Vec<Warning> {
        warnings_of(&self.goals)
    }

    /// Grades every goal and computes the score. Every goal must be graded exactly once.
    pub fn grade(
        &self,
        grades: &[GradeDraft],
        lines: &[Option<usize>],
    ) -> Result<Grading, Vec<Problem>> {
        let mut problems = Problems::default();
        let grading = self.grade_into(grades, lines, &mut problems);
        match grading {
            Some(g) if problems.is_empty() => Ok(g),
            _ => Err(problems.finish()),
        }
    }

    fn grade_into(
        &self,
        grades: &[GradeDraft],
        lines: &[Option<usize>],
        problems: &mut Problems,
    ) -> Option<Grading> {
        let mut by_title: BTreeMap<&str, (usize, Grade, Option<String>)> = BTreeMap::new();
        let mut listed_titles = false;
        for (i, g) in grades.iter().enumerate() {
            if problems.full() {
                // The rest are only counted; checking them costs without telling more.
                problems.more += grades.len() - i;
                break;
            }
            let at = lines.get(i).copied().flatten();
            let title = g.goal.trim();
            let add = |problems: &mut Problems, field: &'static str, text: Text| {
                problems.push(
                    Problem::text(at, format!("grade {}.{field}", i + 1), text)
                        .at(Some(i + 1), Some(field)),
                );
            };
            let grade = Grade::parse(&g.grade);
            if grade.is_none() {
                if g.grade.trim().is_empty() {
                    add(problems, "grade", Text::new("grade_problem.missing_value"));
                } else {
                    add(
                        problems,
                        "grade",
                        Text::new("grade_problem.unknown_value")
                            .arg("value", crate::limits::clip(g.grade.trim(), 40)),
                    );
                }
            }
            let note = g.note.trim();
            if note.chars().count() > MAX_TEXT_CHARS {
                add(
                    problems,
                    "note",
                    Text::new("goal.too_long")
                        .arg("count", note.chars().count())
                        .arg("max", MAX_TEXT_CHARS),
                );
            }
            if title.is_empty() {
                add(problems, "goal", Text::new("grade_problem.missing_goal"));
            } else if !self.goals.iter().any(|x| x.title == title) {
                let shown = crate::limits::clip(title, MAX_TITLE_CHARS);
                // The goals' titles once, not with every wrong one.
                let text = if listed_titles {
                    Text::new("grade_problem.unknown_goal").arg("title", shown)
                } else {
                    listed_titles = true;
                    Text::new("grade_problem.unknown_goal_list")
                        .arg("title", shown)
                        .arg(
                            "titles",
                            Arg::List(
                                self.goals
                                    .iter()
                                    .map(|x| Arg::Plain(format!("\"{}\"", x.title)))
                                    .collect(),
                            ),
                        )
                };
                add(problems, "goal", text);
            } else if let Some((first, _, _)) = by_title.get(title) {
                add(
                    problems,
                    "goal",
                    Text::new("grade_problem.twice")
                        .arg("title", title)
                        .arg("first", *first),
                );
            } else if let Some(grade) = grade {
                by_title.insert(
                    title,
                    (
                        i + 1,
                        grade,
                        Some(note.to_owned()).filter(|n| !n.is_empty()),
                    ),
                );
            }
        }
        for goal in &self.goals {
            if !by_title.contains_key(goal.title.as_str())
                && !grades.iter().any(|g| g.goal.trim() == goal.title)
            {
                problems.push(Problem::text(
                    None,
                    "grade",
                    Text::new("grade_problem.missing").arg("title", goal.title.as_str()),
                ));
            }
        }
        if !problems.is_empty() {
            return None;
        }
        let graded: Vec<GoalGrade> = self
            .goals
            .iter()
            .filter_map(|goal| {
                by_title
                    .get(goal.title.as_str())
                    .map(|(_, grade, note)| GoalGrade {
                        goal: goal.title.clone(),
                        weight: goal.weight,
                        grade: *grade,
                        note: note.clone(),
                    })
            })
            .collect();
        let score = Score::weighted(graded.iter().map(|g| (g.weight, g.grade)));
        Some(Grading {
            goals: graded,
            score,
        })
    }

    /// Reads a grades file (`[[grade]]` tables) and grades this agreement with it.
    pub fn grade_toml(&self, text: &str, file: &str) -> Result<Grading, ConfigError> {
        let error = |problems: Vec<Problem>| ConfigError {
            file: file.to_owned(),
            problems,
        };
        if let Some(p) = too_large(text) {
            return Err(error(vec![p]));
        }
        let mut problems = Problems::default();
        let lines = Lines::new(text);
        let (drafts, at) = toml_file::grades(text, &lines, &mut problems);
        let grading = self.grade_into(&drafts, &at, &mut problems);
        match grading {
            Some(g) if problems.is_empty() => Ok(g),
            _ => Err(error(problems.finish())),
        }
    }

    /// The agreement as an agreement file: what is kept on record for a revision drawn up
    /// in the dashboard, and what a leader downloads.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        for g in &self.goals {
            out.push_str("[[goal]]\n");
            let mut line = |k: &str, v: String| {
                out.push_str(k);
                out.push_str(" = ");
                out.push_str(&v);
                out.push('\n');
            };
            line("title", toml_string(&g.title));
            line("dimension", toml_string(g.dimension.key()));
            line("kind", toml_string(g.kind.key()));
            line("horizon", toml_string(g.horizon.key()));
            line("weight", g.weight.percent().to_string());
            if let Some(i) = &g.indicator {
                line("indicator", toml_string(i.as_str()));
            }
            line("baseline", toml_string(&g.baseline));
            line("partly_met", toml_string(&g.partly_met));
            line("fully_met", toml_string(&g.fully_met));
            let activities: Vec<String> = g.activities.iter().map(|a| toml_string(a)).collect();
            line("activities", format!("[{}]", activities.join(", ")));
            line("target_date", g.target_date.to_string());
            if let Some(c) = g.measured {
                line("baseline_value", c.baseline.to_string());
                line("partly_met_value", c.partly_met.to_string());
                line("fully_met_value", c.fully_met.to_string());
            }
            out.push('\n');
        }
        out
    }
}

/// The grading of these goals with `grades`, as a preview: the score of the goals graded
/// so far (a form shows it before it is saved).
pub fn preview_score(goals: &[Goal], grades: &[GradeDraft]) -> Score {
    Score::weighted(goals.iter().filter_map(|goal| {
        grades
            .iter()
            .find(|g| g.goal.trim() == goal.title)
            .and_then(|g| Grade::parse(&g.grade))
            .map(|grade| (goal.weight, grade))
    }))
}

fn warnings_of(goals: &[Goal]) -> Vec<Warning> {
    let mut w = Vec::new();
    let dimensions: BTreeSet<Dimension> = goals.iter().map(|g| g.dimension).collect();
    if let (1, Some(d)) = (dimensions.len(), dimensions.first()) {
        w.push(Warning::OneDimension { dimension: *d });
    }
    // "Every goal on one indicator": one common goal beside local goals is fine.
    let indicators: BTreeSet<Option<&IndicatorCode>> =
        goals.iter().map(|g| g.indicator.as_ref()).collect();
    if let (1, Some(Some(i))) = (indicators.len(), indicators.first()) {
        w.push(Warning::OneIndicator {
            indicator: (*i).clone(),
        });
    }
    if !goals.iter().any(|g| g.kind == GoalKind::Local) {
        w.push(Warning::NoLocalGoal);
    }
    for g in goals {
        if g.baseline.is_empty() {
            w.push(Warning::NoBaseline {
                goal: g.title.clone(),
            });
        }
    }
    w
}

/// Characters in a draft's one-word fields (a dimension, a weight, a date, a code, a
/// figure): far more than any value that could be right, so a typo is kept, not more.
pub const MAX_DRAFT_WORD_CHARS: usize = 100;

/// The fields of drafted goals that hold more than the agreement could ever take: a draft
/// keeps what was typed, but each field only up to its own limit, so every later view of
/// the draft is bounded per field (40 goals of 10,000-character titles would fit a limit
/// on the whole). Each field over is named with its length and the most; a draft with
/// none is kept as it is, errors and all.
pub fn draft_problems(drafts: &[GoalDraft]) -> Vec<Problem> {
    let mut out = Vec::new();
    let over = |out: &mut Vec<Problem>, i: usize, field: &'static str, value: &str, max: usize| {
        let n = value.chars().count();
        if n > max {
            out.push(
                Problem::text(
                    None,
                    format!("goal[{i}].{field}"),
                    Text::new("goal.too_long").arg("count", n).arg("max", max),
                )
                .at(Some(i + 1), Some(field)),
            );
        }
    };
    for (i, d) in drafts.iter().enumerate().take(MAX_GOALS) {
        over(&mut out, i, "title", &d.title, MAX_TITLE_CHARS);
        for (field, value) in [
            ("baseline", &d.baseline),
            ("partly_met", &d.partly_met),
            ("fully_met", &d.fully_met),
        ] {
            over(&mut out, i, field, value, MAX_TEXT_CHARS);
        }
        for (field, value) in [
            ("dimension", &d.dimension),
            ("kind", &d.kind),
            ("horizon", &d.horizon),
            ("weight", &d.weight),
            ("indicator", &d.indicator),
            ("target_date", &d.target_date),
            ("baseline_value", &d.baseline_value),
            ("partly_met_value", &d.partly_met_value),
            ("fully_met_value", &d.fully_met_value),
        ] {
            over(&mut out, i, field, value, MAX_DRAFT_WORD_CHARS);
        }
        if d.activities.len() > MAX_ACTIVITIES {
            out.push(
                Problem::text(
                    None,
                    format!("goal[{i}].activities"),
                    Text::new("goal.too_many_activities")
                        .arg("count", d.activities.len())
                        .arg("max", MAX_ACTIVITIES),
                )
                .at(Some(i + 1), Some("activities")),
            );
        } else if let Some(long) = d
            .activities
            .iter()
            .find(|a| a.chars().count() > MAX_TEXT_CHARS)
        {
            over(&mut out, i, "activities", long, MAX_TEXT_CHARS);
        }
    }
    out
}

/// The same for a midway draft: each grade's note within a text's limit, its grade a
/// word.
pub fn grade_draft_problems(drafts: &[GradeDraft]) -> Vec<Problem> {
    let mut out = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        for (field, value, max) in [
            ("grade", &d.grade, MAX_DRAFT_WORD_CHARS),
            ("note", &d.note, MAX_TEXT_CHARS),
        ] {
            let n = value.chars().count();
            if n > max {
                out.push(
                    Problem::text(
                        None,
                        format!("grade[{i}].{field}"),
                        Text::new("goal.too_long").arg("count", n).arg("max", max),
                    )
                    .at(Some(i + 1), Some(field)),
                );
            }
        }
    }
    out
}

/// The warnings of drafted goals that are complete enough to tell: what the editor shows
/// before the leader submits.
pub fn draft_warnings(drafts: &[GoalDraft], catalogue: &IndicatorCatalogue) -> Vec<Warning> {
    match Agreement::check(drafts, &[], catalogue, None) {
        Ok((_, w)) => w,
        Err(_) => Vec::new(),
    }
}

fn too_large(text: &str) -> Option<Problem> {
    (text.len() > MAX_FILE_BYTES).then(|| {
        Problem::text(
            None,
            "",
            Text::new("file.too_large")
                .arg("size", text.len() / 1024)
                .arg("max", MAX_FILE_BYTES / 1024),
        )
    })
}

fn choice<T>(
    p: &mut GoalProblems<'_>,
    field: &'static str,
    value: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Option<T> {
    let v = value.trim();
    if v.is_empty() {
        p.missing(field);
        return None;
    }
    let parsed = parse(v);
    if parsed.is_none() {
        p.add(
            field,
            Text::new(match field {
                "dimension" => "goal.unknown.dimension",
                "kind" => "goal.unknown.kind",
                _ => "goal.unknown.horizon",
            })
            .arg("value", crate::limits::clip(v, 40)),
        );
    }
    parsed
}

fn weight(p: &mut GoalProblems<'_>, value: &str) -> Option<Weight> {
    let v = value.trim().trim_end_matches('%').trim();
    if v.is_empty() {
        p.missing("weight");
        return None;
    }
    let w = v.parse::<i64>().ok().and_then(Weight::new);
    if w.is_none() {
        p.add(
            "weight",
            Text::new("goal.weight").arg("value", crate::limits::clip(value.trim(), 20)),
        );
    }
    w
}

fn indicator(
    p: &mut GoalProblems<'_>,
    value: &str,
    kind: Option<GoalKind>,
    catalogue: &IndicatorCatalogue,
) -> Option<IndicatorCode> {
    let code = value.trim();
    if code.is_empty() {
        if kind == Some(GoalKind::Common) {
            p.missing("indicator");
        }
        return None;
    }
    let found = catalogue.get(code).map(|i| i.code.clone());
    if found.is_none() {
        p.add(
            "indicator",
            Text::new("goal.unknown.indicator")
                .arg("code", crate::limits::clip(code, 64))
                .arg("version", catalogue.version.as_str())
                .arg(
                    "known",
                    Arg::List(
                        catalogue
                            .indicators()
                            .map(|i| Arg::Plain(i.code.to_string()))
                            .collect(),
                    ),
                ),
        );
    }
    found
}

fn target_date(
    p: &mut GoalProblems<'_>,
    value: &str,
    targets: Option<TargetDates>,
) -> Option<NaiveDate> {
    let v = value.trim();
    if v.is_empty() {
        p.missing("target_date");
        return None;
    }
    let Some(date) = parse_date(v) else {
        p.add(
            "target_date",
            Text::new("goal.date").arg("value", crate::limits::clip(v, 40)),
        );
        return None;
    };
    if let Some(t) = targets
        && !(t.first..=t.last).contains(&date)
    {
        p.add(
            "target_date",
            Text::new("goal.date_range")
                .arg("value", date)
                .arg("first", t.first)
                .arg("last", t.last),
        );
        return None;
    }
    Some(date)
}

/// A TOML basic string: quoted, with what must be escaped escaped.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One goal's grade as a person wrote it (in the midway form or a grades file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GradeDraft {
    /// The goal's title.
    pub goal: String,
    /// `full`, `partly` or `none` (or `fuldt`, `delvist`, `ikke`).
    pub grade: String,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoalGrade {
    pub goal: String,
    pub weight: Weight,
    pub grade: Grade,
    pub note: Option<String>,
}

/// Every goal's grade and the agreement's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grading {
    pub goals: Vec<GoalGrade>,
    pub score: Score,
}

impl Grading {
    /// A grade may differ from hjul's proposal (the leader knows what the numbers do not
    /// say), but then its note says why: both are kept on record. `proposals` are by goal
    /// title; each problem names the grade (its place among the goals) and its note.
    pub fn against(
        &self,
        proposals: &BTreeMap<String, crate::data::Proposal>,
    ) -> Result<(), Vec<Problem>> {
        let mut problems = Problems::default();
        for (i, g) in self.goals.iter().enumerate() {
            let Some(p) = proposals.get(&g.goal) else {
                continue;
            };
            if p.grade != g.grade && g.note.is_none() {
                problems.push(
                    Problem::text(
                        None,
                        format!("grade {}.note", i + 1),
                        Text::new("grade_problem.override")
                            .arg("title", g.goal.as_str())
                            .arg("proposed", key("grade", p.grade.key()))
                            .arg("given", key("grade", g.grade.key()))
                            .arg("period", p.period.to_string())
                            .arg("value", Arg::decimal(p.value)),
                    )
                    .at(Some(i + 1), Some("note")),
                );
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.finish())
        }
    }
}

/// The words of a dimension, kind, horizon or grade in `language` (for tables).
pub fn word(group: &str, key_: &str, language: Language) -> String {
    crate::text::Catalogue::wheel(language)
        .word(&format!("{group}.{key_}"))
        .to_owned()
}

#[cfg(test)]
mod tests;

/// A goal's criteria as numbers, checked: all three or none, each a number within its
/// indicator's range, and each better than the one before in the indicator's direction
/// (partly met past the baseline, fully met at or past partly met).
fn measured(
    p: &mut GoalProblems<'_>,
    d: &GoalDraft,
    indicator: Option<&IndicatorCode>,
    catalogue: &IndicatorCatalogue,
) -> Option<Criteria> {
    let texts = [
        d.baseline_value.trim(),
        d.partly_met_value.trim(),
        d.fully_met_value.trim(),
    ];
    if texts.iter().all(|t| t.is_empty()) {
        return None;
    }
    let mut values = [0.0; 3];
    let mut ok = true;
    for ((field, text), slot) in VALUE_FIELDS.iter().zip(texts).zip(&mut values) {
        if text.is_empty() {
            p.add(field, Text::new("goal.value_missing"));
            ok = false;
        } else if let Some(v) = crate::data::parse_number(text) {
            *slot = v;
        } else {
            p.add(
                field,
                Text::new("goal.value_not_number").arg("value", crate::limits::clip(text, 40)),
            );
            ok = false;
        }
    }
    let Some(code) = indicator else {
        if ok {
            p.add("baseline_value", Text::new("goal.value_without_indicator"));
        }
        return None;
    };
    let m = catalogue.get(code.as_str())?;
    if !ok {
        return None;
    }
    for (field, v) in VALUE_FIELDS.iter().zip(values) {
        if !(m.min..=m.max).contains(&v) {
            p.add(
                field,
                Text::new("goal.value_range")
                    .arg("value", v.to_string())
                    .arg("indicator", code.as_str())
                    .arg("min", m.min.to_string())
                    .arg("max", m.max.to_string()),
            );
            ok = false;
        }
    }
    let [baseline, partly_met, fully_met] = values;
    let better = |a: f64, b: f64| match m.direction {
        Direction::Higher => a > b,
        Direction::Lower => a < b,
    };
    let direction = match m.direction {
        Direction::Higher => "higher",
        Direction::Lower => "lower",
    };
    if ok && !better(partly_met, baseline) {
        p.add(
            "partly_met_value",
            Text::new("goal.value_order")
                .arg("value", partly_met.to_string())
                .arg("than", baseline.to_string())
                .arg("direction", key("direction", direction)),
        );
        ok = false;
    }
    if ok && better(partly_met, fully_met) {
        p.add(
            "fully_met_value",
            Text::new("goal.value_order_full")
                .arg("value", fully_met.to_string())
                .arg("than", partly_met.to_string())
                .arg("direction", key("direction", direction)),
        );
        ok = false;
    }
    ok.then_some(Criteria {
        baseline,
        partly_met,
        fully_met,
    })
}
