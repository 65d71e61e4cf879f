//! A measure's trend as a small SVG line chart, drawn on the server so the page needs
//! no script, by the same drawing as the data sheet's (`hjul_report::chart::Trend`):
//! the unit's own values as a solid line with a dot per period, the area's average as a
//! dashed line beside it, and the department's target, when it set one, as a dotted
//! level line. A value from too few respondents is a gap in the line, never a point:
//! the chart can show nothing the tables hide.

use hjul_wheel::data::MeasureView;
use hjul_wheel::text::Catalogue;
use hjul_wheel::{MeasureUnit, Target};

use super::words::{Lang, Words};

/// A value as the page writes it, in its measure's unit (`None`: a measure this
/// catalogue does not know, two decimals) and the page's language.
pub fn value(cat: &Catalogue, unit: Option<MeasureUnit>, v: f64) -> String {
    match unit {
        Some(MeasureUnit::Percent) => cat.percent(v),
        Some(u) => cat.decimal(v, u.decimals()),
        None => cat.decimal(v, 2),
    }
}

/// The department's target in words: "mål 92,0 % i 2025".
pub fn target(cat: &Catalogue, unit: MeasureUnit, t: Target) -> String {
    cat.render(
        &hjul_wheel::Text::new("report.trend_target")
            .arg("value", value(cat, Some(unit), t.value))
            .arg("year", t.year.to_string()),
    )
}

/// The chart of `m` in `lang`, drawn as the data sheet draws it; an empty string when no
/// value can be drawn.
pub fn trend(words: &Words, lang: Lang, m: &MeasureView) -> String {
    let trend = hjul_report::chart::Trend::of(m, words.of(lang));
    if trend.is_empty() {
        String::new()
    } else {
        trend.svg()
    }
}
