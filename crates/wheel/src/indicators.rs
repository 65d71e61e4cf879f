//! The indicator catalogue: the beacons (pejlemærker) and their indicators, as versioned
//! data (`config/indicators.toml`). The set changes over time, so a cycle keeps the
//! version it started with.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::config_error::{self, ConfigError, Lines, Problems};
use crate::organisation::Area;

/// Viborg's three beacons and twelve indicators, as shipped in `config/indicators.toml`.
pub const BUILTIN_INDICATORS_TOML: &str = include_str!("../../../config/indicators.toml");

/// Whether a lower or a higher value of an indicator is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Lower,
    Higher,
}

/// An indicator's code, such as `absence`: lowercase letters, digits and underscores.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct IndicatorCode(String);

impl IndicatorCode {
    pub fn parse(text: &str) -> Option<Self> {
        let ok = !text.is_empty()
            && text.len() <= 64
            && text.starts_with(|c: char| c.is_ascii_lowercase())
            && text
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        ok.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IndicatorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a measure's numbers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeasureUnit {
    /// Percent (of pupils, of days, of budget).
    Percent,
    /// A score on the measure's own scale (a wellbeing survey's 1–5).
    Score,
    /// A count or a rate.
    Number,
}

impl MeasureUnit {
    /// How many decimals its values are written with: a survey's score needs two to show
    /// a change of its tolerance (0.1) apart from rounding.
    pub fn decimals(self) -> usize {
        match self {
            Self::Percent | Self::Number => 1,
            Self::Score => 2,
        }
    }
}

/// An indicator, or another measure data is collected on (economy, staff wellbeing):
/// what its numbers are, which values can be true, and which way is better.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    pub code: IndicatorCode,
    pub name_da: String,
    pub name_en: String,
    pub direction: Direction,
    /// The areas it applies to; empty means all.
    pub areas: Vec<Area>,
    pub unit: MeasureUnit,
    /// The lowest and highest value that can be true: anything outside is a mistake.
    pub min: f64,
    pub max: f64,
    /// A change no larger than this is noise: the verdict is "unchanged".
    pub tolerance: f64,
    /// The department's own target, when it set one ("hæves til 92 % i 2025").
    pub target: Option<Target>,
}

/// A value the department aims for by a year.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub value: f64,
    pub year: i32,
}

impl Indicator {
    pub fn applies_to(&self, area: Area) -> bool {
        self.areas.is_empty() || self.areas.contains(&area)
    }

    /// Whether `value` reaches the department's target, read the measure's way (at or
    /// above it when higher is better, at or below when lower is); `None` without one.
    pub fn meets_target(&self, value: f64) -> Option<bool> {
        self.target.map(|t| match self.direction {
            Direction::Higher => value >= t.value,
            Direction::Lower => value <= t.value,
        })
    }
}

/// A beacon (pejlemærke) and the indicators that show progress towards it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Beacon {
    pub code: IndicatorCode,
    pub name_da: String,
    pub name_en: String,
    pub indicators: Vec<Indicator>,
}

/// One version of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorCatalogue {
    pub version: String,
    pub beacons: Vec<Beacon>,
    /// Measures outside the beacons: economy and staff wellbeing.
    pub measures: Vec<Indicator>,
}

impl IndicatorCatalogue {
    pub fn builtin() -> Self {
        // The built-in file is checked by the tests; failing here is a build defect.
        #[allow(clippy::expect_used)]
        Self::from_toml(BUILTIN_INDICATORS_TOML, "built-in indicators.toml")
            .expect("the built-in indicator catalogue is valid")
    }

    /// The beacons' indicators, which goals aim at.
    pub fn indicators(&self) -> impl Iterator<Item = &Indicator> {
        self.beacons.iter().flat_map(|b| &b.indicators)
    }

    /// Everything data is collected on: the indicators, then the other measures.
    pub fn all_measures(&self) -> impl Iterator<Item = &Indicator> {
        self.indicators().chain(&self.measures)
    }

    /// A measure (an indicator or another) by its code.
    pub fn get(&self, code: &str) -> Option<&Indicator> {
        self.all_measures().find(|i| i.code.as_str() == code)
    }

    /// Parses and checks a catalogue; `file` names it in errors.
    pub fn from_toml(text: &str, file: &str) -> Result<Self, ConfigError> {
        let raw: RawCatalogue = toml::from_str(text).map_err(|e| ConfigError {
            file: file.to_owned(),
            problems: vec![config_error::from_toml(text, &e)],
        })?;
        let mut problems = Problems::default();
        let lines = Lines::new(text);
        let line = |span: std::ops::Range<usize>| Some(lines.of(span.start));
        if raw.version.get_ref().trim().is_empty() {
            problems.add(
                line(raw.version.span()),
                "version",
                "is empty: give the catalogue a version; each cycle records the version it started with",
            );
        }
        if raw.beacon.is_empty() {
            problems.add(
                None,
                "beacon",
                "there are no beacons: add [[beacon]] tables with their indicators",
            );
        }
        let mut seen: BTreeMap<String, Option<usize>> = BTreeMap::new();
        let mut code = |text: &str, at: Option<usize>, key: String, problems: &mut Problems| {
            let Some(code) = IndicatorCode::parse(text) else {
                problems.add(
                    at,
                    key,
                    format!("`{text}` is not a code: use lowercase letters, digits and underscores, such as \"high_absence\""),
                );
                return None;
            };
            if let Some(first) = seen.insert(text.to_owned(), at) {
                problems.add(
                    at,
                    key,
                    format!("`{text}` is used twice (also at line {}): codes name one beacon or indicator", first.unwrap_or(0)),
                );
                return None;
            }
            Some(code)
        };
        let mut beacons = Vec::new();
        for b in &raw.beacon {
            let at = line(b.span());
            let rb = b.get_ref();
            let beacon_code = code(&rb.code, at, "beacon.code".into(), &mut problems);
            if rb.indicator.is_empty() {
                problems.add(
                    at,
                    format!("beacon.{}", rb.code),
                    "has no indicators: add [[beacon.indicator]] tables",
                );
            }
            let mut indicators = Vec::new();
            for i in &rb.indicator {
                let at = line(i.span());
                let key = format!("beacon.{}.indicator", rb.code);
                if let Some(c) = code(&i.get_ref().code, at, format!("{key}.code"), &mut problems)
                    && let Some(m) = measure(c, i.get_ref(), at, &key, &mut problems)
                {
                    indicators.push(m);
                }
            }
            if let Some(c) = beacon_code {
                beacons.push(Beacon {
                    code: c,
                    name_da: rb.name_da.clone(),
                    name_en: rb.name_en.clone(),
                    indicators,
                });
            }
        }
        let mut measures = Vec::new();
        for m in &raw.measure {
            let at = line(m.span());
            if let Some(c) = code(&m.get_ref().code, at, "measure.code".into(), &mut problems)
                && let Some(m) = measure(c, m.get_ref(), at, "measure", &mut problems)
            {
                measures.push(m);
            }
        }
        problems.into_result(
            file,
            Self {
                version: raw.version.get_ref().trim().to_owned(),
                beacons,
                measures,
            },
        )
    }
}

/// A measure checked: a range that holds something, a tolerance that is not negative.
fn measure(
    code: IndicatorCode,
    raw: &RawIndicator,
    at: Option<usize>,
    key: &str,
    problems: &mut Problems,
) -> Option<Indicator> {
    let (min, max) = raw.range.unwrap_or(match raw.unit {
        MeasureUnit::Percent => (0.0, 100.0),
        MeasureUnit::Score | MeasureUnit::Number => (0.0, f64::MAX),
    });
    let tolerance = raw.tolerance.unwrap_or(match raw.unit {
        MeasureUnit::Percent => 1.0,
        MeasureUnit::Score => 0.1,
        MeasureUnit::Number => 0.0,
    });
    if !(min.is_finite() && max.is_finite() && min < max) {
        problems.add(
            at,
            format!("{key}.{code}.range"),
            format!("[{min}, {max}] holds no values: give the lowest and the highest value that can be true, such as [0, 100]"),
        );
        return None;
    }
    if !(tolerance.is_finite() && tolerance >= 0.0) {
        problems.add(
            at,
            format!("{key}.{code}.tolerance"),
            format!("{tolerance} is not a tolerance: give the change that is still noise, 0 or more, such as 0.5"),
        );
        return None;
    }
    if let Some(t) = raw.target
        && !(t.value.is_finite()
            && (min..=max).contains(&t.value)
            && (2000..=2100).contains(&t.year))
    {
        problems.add(
            at,
            format!("{key}.{code}.target"),
            format!(
                "{{ value = {}, year = {} }} is not a target: the value must lie in the measure's range [{min}, {max}] and the year be written in full, such as {{ value = 92, year = 2025 }}",
                t.value, t.year
            ),
        );
        return None;
    }
    Some(Indicator {
        code,
        name_da: raw.name_da.clone(),
        name_en: raw.name_en.clone(),
        direction: raw.direction,
        areas: raw.areas.clone(),
        unit: raw.unit,
        min,
        max,
        tolerance,
        target: raw.target,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    version: Spanned<String>,
    #[serde(default)]
    beacon: Vec<Spanned<RawBeacon>>,
    #[serde(default)]
    measure: Vec<Spanned<RawIndicator>>,
}

fn percent() -> MeasureUnit {
    MeasureUnit::Percent
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBeacon {
    code: String,
    name_da: String,
    name_en: String,
    #[serde(default)]
    indicator: Vec<Spanned<RawIndicator>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIndicator {
    code: String,
    name_da: String,
    name_en: String,
    direction: Direction,
    #[serde(default)]
    areas: Vec<Area>,
    /// Catalogues from before units were kept say none: percent, as they all were.
    #[serde(default = "percent")]
    unit: MeasureUnit,
    #[serde(default)]
    range: Option<(f64, f64)>,
    #[serde(default)]
    tolerance: Option<f64>,
    #[serde(default)]
    target: Option<Target>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_catalogue_has_three_beacons_and_twelve_indicators() {
        let c = IndicatorCatalogue::builtin();
        assert_eq!(c.beacons.len(), 3);
        let codes: Vec<&str> = c.indicators().map(|i| i.code.as_str()).collect();
        assert_eq!(
            codes,
            [
                "absence",
                "high_absence",
                "academic_wellbeing",
                "inclusion",
                "language_development",
                "youth_involvement",
                "spare_time_job",
                "social_wellbeing",
                "friend_network",
                "healthy_communities",
                "overweight",
                "sports_club",
            ]
        );
        let lower: Vec<&str> = c
            .indicators()
            .filter(|i| i.direction == Direction::Lower)
            .map(|i| i.code.as_str())
            .collect();
        assert_eq!(lower, ["absence", "high_absence", "overweight"]);
        assert_eq!(
            c.beacons
                .iter()
                .map(|b| b.indicators.len())
                .collect::<Vec<_>>(),
            [7, 2, 3]
        );
        assert!(c.get("absence").unwrap().applies_to(Area::Daycare));
    }

    fn problems(text: &str) -> Vec<String> {
        IndicatorCatalogue::from_toml(text, "indicators.toml")
            .unwrap_err()
            .problems
            .into_iter()
            .map(|p| format!("{}:{}: {}", p.line.unwrap_or(0), p.key, p.message))
            .collect()
    }

    #[test]
    fn bad_catalogues_are_refused_with_line_and_key() {
        let p = problems(
            r#"version = "x"
[[beacon]]
code = "b"
name_da = "B"
name_en = "B"
[[beacon.indicator]]
code = "absence"
name_da = "a"
name_en = "a"
direction = "lower"
[[beacon.indicator]]
code = "absence"
name_da = "a"
name_en = "a"
direction = "higher"
[[beacon.indicator]]
code = "Bad Code"
name_da = "a"
name_en = "a"
direction = "higher"
"#,
        );
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].starts_with(
                "11:beacon.b.indicator.code: `absence` is used twice (also at line 6)"
            ),
            "{p:?}"
        );
        assert!(
            p[1].starts_with("16:beacon.b.indicator.code: `Bad Code` is not a code"),
            "{p:?}"
        );
    }

    #[test]
    fn a_wrong_direction_names_the_line() {
        let e = IndicatorCatalogue::from_toml(
            "version = \"x\"\n[[beacon]]\ncode = \"b\"\nname_da = \"B\"\nname_en = \"B\"\n[[beacon.indicator]]\ncode = \"a\"\nname_da = \"a\"\nname_en = \"a\"\ndirection = \"down\"\n",
            "indicators.toml",
        )
        .unwrap_err();
        assert_eq!(e.problems[0].line, Some(10));
        assert_eq!(e.problems[0].key, "direction");
        assert!(
            e.problems[0].message.contains("unknown variant `down`"),
            "{e}"
        );
    }

    #[test]
    fn an_empty_version_or_no_beacons_is_refused() {
        let p = problems("version = \" \"\n");
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].starts_with("1:version: is empty"));
        assert!(p[1].contains("no beacons"));
    }
}
