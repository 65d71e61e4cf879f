//! The coherence agreement (sammenhængsaftale): a unit's two-year development plan of
//! weighted goals, checked when it is submitted, and graded at the midway status.
//!
//! Goals are weighted in whole percent and graded fully, partly or not met (100, 50 or
//! 0 %), so a score is always a multiple of half a percent and is kept exactly, in basis
//! points.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config_error::{self, ConfigError, Problem, Problems, line_of};
use crate::indicators::{IndicatorCatalogue, IndicatorCode};
use crate::phase::list;

/// What a goal is about.
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalKind {
    /// Fælles mål
    Common,
    /// Lokalt mål
    Local,
}

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    /// Fuldt opfyldt: 100 %
    Full,
    /// Delvist opfyldt: 50 %
    Partly,
    /// Ikke opfyldt: 0 %
    #[serde(rename = "none")]
    NotMet,
}

impl Grade {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "full" => Some(Self::Full),
            "partly" => Some(Self::Partly),
            "none" => Some(Self::NotMet),
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
}

/// A goal as written in an agreement file, before it is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalDraft {
    #[serde(default)]
    pub title: String,
    pub dimension: Option<Dimension>,
    pub kind: Option<GoalKind>,
    pub horizon: Option<Horizon>,
    pub weight: Option<i64>,
    pub indicator: Option<String>,
    #[serde(default)]
    pub baseline: String,
    #[serde(default)]
    pub partly_met: String,
    #[serde(default)]
    pub fully_met: String,
    #[serde(default)]
    pub activities: Activities,
    pub target_date: Option<toml::value::Datetime>,
}

/// Activities, written as one text or a list of texts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Activities {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl Activities {
    fn into_vec(self) -> Vec<String> {
        match self {
            Self::None => Vec::new(),
            Self::One(s) => vec![s],
            Self::Many(v) => v,
        }
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
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

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OneDimension { dimension } => write!(
                f,
                "every goal is on {}: an agreement covers quality, economy and staff wellbeing",
                dimension.key()
            ),
            Self::OneIndicator { indicator } => write!(
                f,
                "every goal is on the indicator `{indicator}`: steering by one number invites goal fixation"
            ),
            Self::NoLocalGoal => f.write_str(
                "there is no local goal: the agreement is the leader's one steering document, so add the unit's own goals",
            ),
            Self::NoBaseline { goal } => write!(
                f,
                "goal \"{goal}\" has no baseline: without a starting point it cannot be measured"
            ),
        }
    }
}

impl Dimension {
    pub fn key(self) -> &'static str {
        match self {
            Self::Quality => "quality",
            Self::Economy => "economy",
            Self::Wellbeing => "wellbeing",
        }
    }
}

impl GoalKind {
    pub fn key(self) -> &'static str {
        match self {
            Self::Common => "common",
            Self::Local => "local",
        }
    }
}

impl Horizon {
    pub fn key(self) -> &'static str {
        match self {
            Self::Short => "short",
            Self::Long => "long",
        }
    }
}

/// A valid set of goals whose weights add up to 100.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agreement {
    goals: Vec<Goal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAgreement {
    #[serde(default)]
    goal: Vec<Spanned<GoalDraft>>,
}

impl Agreement {
    pub fn goals(&self) -> &[Goal] {
        &self.goals
    }

    /// Reads an agreement file (`[[goal]]` tables) and checks it against `catalogue`.
    pub fn from_toml(
        text: &str,
        file: &str,
        catalogue: &IndicatorCatalogue,
    ) -> Result<(Self, Vec<Warning>), ConfigError> {
        let raw: RawAgreement = toml::from_str(text).map_err(|e| ConfigError {
            file: file.to_owned(),
            problems: vec![config_error::from_toml(text, &e)],
        })?;
        let (lines, drafts): (Vec<_>, Vec<_>) = raw
            .goal
            .into_iter()
            .map(|g| (Some(line_of(text, g.span().start)), g.into_inner()))
            .unzip();
        Self::check(drafts, &lines, catalogue).map_err(|problems| ConfigError {
            file: file.to_owned(),
            problems,
        })
    }

    /// Checks drafted goals; `lines` (may be empty) gives each goal's line for errors.
    /// Every problem is reported, each naming the goal and the key.
    pub fn check(
        drafts: Vec<GoalDraft>,
        lines: &[Option<usize>],
        catalogue: &IndicatorCatalogue,
    ) -> Result<(Self, Vec<Warning>), Vec<Problem>> {
        let mut problems = Problems::default();
        if drafts.is_empty() {
            problems.add(
                None,
                "goal",
                "the agreement has no goals: add [[goal]] tables",
            );
        }
        let mut titles: BTreeMap<String, usize> = BTreeMap::new();
        let mut goals = Vec::new();
        for (i, d) in drafts.into_iter().enumerate() {
            let at = lines.get(i).copied().flatten();
            let title = d.title.trim().to_owned();
            let name = if title.is_empty() {
                format!("goal {}", i + 1)
            } else {
                format!("goal {} \"{title}\"", i + 1)
            };
            let missing = |key: &str, what: &str, problems: &mut Problems| {
                problems.add(at, format!("{name}.{key}"), format!("is missing: {what}"));
            };
            if title.is_empty() {
                missing(
                    "title",
                    "give every goal a title (grades refer to goals by title)",
                    &mut problems,
                );
            } else if title.chars().any(char::is_control) {
                problems.add(
                    at,
                    format!("{name}.title"),
                    "contains a line break or control character: keep the title on one line",
                );
            } else if let Some(first) = titles.insert(title.clone(), i + 1) {
                problems.add(at, format!("{name}.title"), format!("is the same as goal {first}'s: titles must differ, since grades refer to goals by title"));
            }
            if d.dimension.is_none() {
                missing(
                    "dimension",
                    "one of quality, economy, wellbeing",
                    &mut problems,
                );
            }
            if d.kind.is_none() {
                missing(
                    "kind",
                    "common (tied to an indicator) or local",
                    &mut problems,
                );
            }
            if d.horizon.is_none() {
                missing("horizon", "short or long", &mut problems);
            }
            let weight = match d.weight {
                None => {
                    missing(
                        "weight",
                        "the goal's weight in whole percent; the weights add up to 100",
                        &mut problems,
                    );
                    None
                }
                Some(w) => {
                    let weight = Weight::new(w);
                    if weight.is_none() {
                        problems.add(
                            at,
                            format!("{name}.weight"),
                            format!("is {w}: a weight is a whole percent from 1 to 100"),
                        );
                    }
                    weight
                }
            };
            let indicator = match d.indicator.as_deref().map(str::trim) {
                None | Some("") => {
                    if d.kind == Some(GoalKind::Common) {
                        missing(
                            "indicator",
                            "a common goal names the indicator it works on",
                            &mut problems,
                        );
                    }
                    None
                }
                Some(code) => {
                    let found = catalogue.get(code).map(|i| i.code.clone());
                    if found.is_none() {
                        let known: Vec<&str> =
                            catalogue.indicators().map(|i| i.code.as_str()).collect();
                        problems.add(
                            at,
                            format!("{name}.indicator"),
                            format!(
                                "`{code}` is not in indicator catalogue {}; it has {}",
                                catalogue.version,
                                list(&known)
                            ),
                        );
                    }
                    found
                }
            };
            for (key, text) in [("partly_met", &d.partly_met), ("fully_met", &d.fully_met)] {
                if text.trim().is_empty() {
                    missing(
                        key,
                        "what counts as met; every goal needs both partly_met and fully_met",
                        &mut problems,
                    );
                }
            }
            let target_date = match d.target_date {
                None => {
                    missing(
                        "target_date",
                        "the date the goal is to be met by, such as 2027-06-30",
                        &mut problems,
                    );
                    None
                }
                Some(dt) => {
                    let date = dt.date.filter(|_| dt.time.is_none()).and_then(|x| {
                        NaiveDate::from_ymd_opt(
                            i32::from(x.year),
                            u32::from(x.month),
                            u32::from(x.day),
                        )
                    });
                    if date.is_none() {
                        problems.add(
                            at,
                            format!("{name}.target_date"),
                            format!("is {dt}: give a date, such as 2027-06-30"),
                        );
                    }
                    date
                }
            };
            if let (Some(dimension), Some(kind), Some(horizon), Some(weight), Some(target_date)) =
                (d.dimension, d.kind, d.horizon, weight, target_date)
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
                    activities: d.activities.into_vec(),
                    target_date,
                });
            }
        }
        if problems.0.is_empty() {
            let total: u32 = goals.iter().map(|g| u32::from(g.weight.percent())).sum();
            if total != 100 {
                problems.add(
                    None,
                    "weight",
                    format!(
                        "the goals' weights add up to {total} %, not 100 %: adjust them so they do"
                    ),
                );
            }
        }
        if !problems.0.is_empty() {
            return Err(problems.0);
        }
        let agreement = Self { goals };
        let warnings = agreement.warnings();
        Ok((agreement, warnings))
    }

    /// Goal fixation and unmeasurable goals: worth a second look, never a refusal.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut w = Vec::new();
        let dimensions: BTreeSet<Dimension> = self.goals.iter().map(|g| g.dimension).collect();
        if let (1, Some(d)) = (dimensions.len(), dimensions.first()) {
            w.push(Warning::OneDimension { dimension: *d });
        }
        // "Every goal on one indicator": one common goal beside local goals is fine.
        let indicators: BTreeSet<Option<&IndicatorCode>> =
            self.goals.iter().map(|g| g.indicator.as_ref()).collect();
        if let (1, Some(Some(i))) = (indicators.len(), indicators.first()) {
            w.push(Warning::OneIndicator {
                indicator: (*i).clone(),
            });
        }
        if !self.goals.iter().any(|g| g.kind == GoalKind::Local) {
            w.push(Warning::NoLocalGoal);
        }
        for g in &self.goals {
            if g.baseline.is_empty() {
                w.push(Warning::NoBaseline {
                    goal: g.title.clone(),
                });
            }
        }
        w
    }

    /// Grades every goal and computes the score. Every goal must be graded exactly once.
    pub fn grade(
        &self,
        grades: &[GradeEntry],
        lines: &[Option<usize>],
    ) -> Result<Grading, Vec<Problem>> {
        let mut problems = Problems::default();
        let mut by_title: BTreeMap<&str, (usize, &GradeEntry)> = BTreeMap::new();
        for (i, g) in grades.iter().enumerate() {
            let at = lines.get(i).copied().flatten();
            let title = g.goal.trim();
            let key = format!("grade {}.goal", i + 1);
            if !self.goals.iter().any(|x| x.title == title) {
                let titles: Vec<String> = self
                    .goals
                    .iter()
                    .map(|x| format!("\"{}\"", x.title))
                    .collect();
                problems.add(
                    at,
                    key,
                    format!(
                        "\"{title}\" is not a goal of this agreement; its goals are {}",
                        list(&titles)
                    ),
                );
            } else if let Some((first, _)) = by_title.insert(title, (i + 1, g)) {
                problems.add(
                    at,
                    key,
                    format!("\"{title}\" is graded twice (also in grade {first})"),
                );
            }
        }
        for goal in &self.goals {
            if !by_title.contains_key(goal.title.as_str()) {
                problems.add(
                    None,
                    "grade",
                    format!(
                        "goal \"{}\" has no grade: grade every goal full, partly or none",
                        goal.title
                    ),
                );
            }
        }
        if !problems.0.is_empty() {
            return Err(problems.0);
        }
        let graded: Vec<GoalGrade> = self
            .goals
            .iter()
            .filter_map(|goal| {
                by_title.get(goal.title.as_str()).map(|(_, g)| GoalGrade {
                    goal: goal.title.clone(),
                    weight: goal.weight,
                    grade: g.grade,
                    note: g
                        .note
                        .as_deref()
                        .map(str::trim)
                        .filter(|n| !n.is_empty())
                        .map(str::to_owned),
                })
            })
            .collect();
        let score = Score::weighted(graded.iter().map(|g| (g.weight, g.grade)));
        Ok(Grading {
            goals: graded,
            score,
        })
    }

    /// Reads a grades file (`[[grade]]` tables) and grades this agreement with it.
    pub fn grade_toml(&self, text: &str, file: &str) -> Result<Grading, ConfigError> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct RawGrades {
            #[serde(default)]
            grade: Vec<Spanned<GradeEntry>>,
        }
        let raw: RawGrades = toml::from_str(text).map_err(|e| ConfigError {
            file: file.to_owned(),
            problems: vec![config_error::from_toml(text, &e)],
        })?;
        let (lines, entries): (Vec<_>, Vec<_>) = raw
            .grade
            .into_iter()
            .map(|g| (Some(line_of(text, g.span().start)), g.into_inner()))
            .unzip();
        self.grade(&entries, &lines)
            .map_err(|problems| ConfigError {
                file: file.to_owned(),
                problems,
            })
    }
}

/// One goal's grade as written in a grades file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradeEntry {
    /// The goal's title.
    pub goal: String,
    pub grade: Grade,
    #[serde(default)]
    pub note: Option<String>,
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

#[cfg(test)]
mod tests;
