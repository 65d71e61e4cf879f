//! A measure's trend as a small SVG line chart, drawn on the server so the page needs
//! no script: the unit's own values as a solid line with a dot per period, the area's
//! average as a dashed line beside it, and the department's target, when it set one, as
//! a dotted level line. A value from too few respondents is a gap in the line, never a
//! point: the chart can show nothing the tables hide.

use std::fmt::Write as _;

use hjul_wheel::data::MeasureView;
use hjul_wheel::text::Catalogue;
use hjul_wheel::{MeasureUnit, Target};

use super::drawing::escape;
use super::words::{Lang, Words};

const W: f64 = 360.0;
const H: f64 = 150.0;
/// Room for the value labels on the left and the periods below.
const LEFT: f64 = 46.0;
/// Room for the last period's label, centred on the last point.
const RIGHT: f64 = 28.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 40.0;
const UNIT_COLOR: &str = "#2f5f8f";
const AREA_COLOR: &str = "#6b7280";
const TARGET_COLOR: &str = "#2e7d32";

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
        &hjul_wheel::Text::new("figures.target")
            .arg("value", value(cat, Some(unit), t.value))
            .arg("year", t.year.to_string()),
    )
}

/// The vertical scale: the values drawn, padded, and never narrower than a few steps of
/// the smallest change the page writes, so noise does not fill the chart.
fn scale(values: impl Iterator<Item = f64>, decimals: usize) -> Option<(f64, f64)> {
    let (lo, hi) = values.fold(None, |acc: Option<(f64, f64)>, v| {
        Some(acc.map_or((v, v), |(a, b)| (a.min(v), b.max(v))))
    })?;
    let least = 40.0 * 10f64.powi(-(decimals as i32));
    let span = (hi - lo).max(least);
    let mid = (hi + lo) / 2.0;
    Some((mid - span * 0.6, mid + span * 0.6))
}

/// The chart of `m` in `lang`; an empty string when no value can be drawn.
pub fn trend(words: &Words, lang: Lang, m: &MeasureView) -> String {
    let cat = words.of(lang);
    let name = match lang {
        Lang::Da => &m.name_da,
        Lang::En => &m.name_en,
    };
    let own = m.series.iter().map(|p| p.value);
    let area = m.area_series.iter().map(|a| a.value);
    let Some((lo, hi)) = scale(own.clone().chain(area.clone()).flatten(), m.unit.decimals()) else {
        return String::new();
    };
    let n = m.series.len();
    let x = |i: usize| {
        if n == 1 {
            LEFT + (W - LEFT - RIGHT) / 2.0
        } else {
            LEFT + (W - LEFT - RIGHT) * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| TOP + (H - TOP - BOTTOM) * (hi - v) / (hi - lo);
    let mut svg = String::new();
    let id = m.measure.as_str();
    // What a screen reader says instead of the picture: every value, as the table has it.
    let described: Vec<String> = m
        .series
        .iter()
        .zip(&m.area_series)
        .map(|(p, a)| {
            let own = p.value.map_or_else(
                || cat.word("figures.too_few").to_owned(),
                |v| value(cat, Some(m.unit), v),
            );
            let area = a
                .value
                .map_or_else(|| "–".to_owned(), |v| value(cat, Some(m.unit), v));
            format!(
                "{}: {own} ({} {area})",
                p.period,
                cat.word("figures.legend_area").to_lowercase()
            )
        })
        .collect();
    let _ = write!(
        svg,
        r##"<svg class="trend" id="chart-{id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" aria-labelledby="chart-{id}-title chart-{id}-desc"><title id="chart-{id}-title">{}</title><desc id="chart-{id}-desc">{}</desc>"##,
        escape(&cat.render(&hjul_wheel::Text::new("figures.chart").arg("measure", name.as_str()))),
        escape(&described.join("; ")),
    );
    // Three guide lines with their values.
    for k in 0..3 {
        let v = lo + (hi - lo) * (0.1 + 0.4 * f64::from(k));
        let gy = y(v);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" y1="{gy:.1}" x2="{:.1}" y2="{gy:.1}" stroke="#e3e7ec"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="10" fill="#4b5563">{}</text>"##,
            W - RIGHT,
            LEFT - 4.0,
            gy + 3.0,
            escape(&value(cat, Some(m.unit), v))
        );
    }
    for (i, p) in m.series.iter().enumerate() {
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="#4b5563">{}</text>"##,
            x(i),
            H - BOTTOM + 14.0,
            p.period
        );
    }
    if let Some(t) = m.target {
        let ty = y(t.value);
        let label = target(cat, m.unit, t);
        let _ = write!(
            svg,
            r##"<line class="target" x1="{LEFT}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="{TARGET_COLOR}" stroke-width="1.5" stroke-dasharray="2 3"/><text x="{:.1}" y="{:.1}" text-anchor="end" font-size="10" fill="{TARGET_COLOR}">{}</text>"##,
            W - RIGHT,
            W - RIGHT,
            ty - 4.0,
            escape(&label)
        );
    }
    line(
        &mut svg,
        area.clone().enumerate(),
        &x,
        &y,
        AREA_COLOR,
        Some("5 4"),
    );
    // The area's points too, hollow: with one period (or gaps) there is no line to show.
    for (i, a) in m.area_series.iter().enumerate() {
        if let Some(v) = a.value {
            let _ = write!(
                svg,
                r##"<circle class="area" cx="{:.1}" cy="{:.1}" r="2.5" fill="#fff" stroke="{AREA_COLOR}" stroke-width="1.5"><title>{}: {}</title></circle>"##,
                x(i),
                y(v),
                a.period,
                escape(&value(cat, Some(m.unit), v))
            );
        }
    }
    line(&mut svg, own.enumerate(), &x, &y, UNIT_COLOR, None);
    for (i, p) in m.series.iter().enumerate() {
        if let Some(v) = p.value {
            let _ = write!(
                svg,
                r##"<circle class="unit" cx="{:.1}" cy="{:.1}" r="3.5" fill="{UNIT_COLOR}"><title>{}: {}</title></circle>"##,
                x(i),
                y(v),
                p.period,
                escape(&value(cat, Some(m.unit), v))
            );
        }
    }
    // The legend, below the periods.
    let ly = H - 8.0;
    let _ = write!(
        svg,
        r##"<line x1="{LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{UNIT_COLOR}" stroke-width="2"/><text x="{:.1}" y="{ly:.1}" font-size="10">{}</text><line x1="170" y1="{:.1}" x2="190" y2="{:.1}" stroke="{AREA_COLOR}" stroke-width="2" stroke-dasharray="5 4"/><text x="194" y="{ly:.1}" font-size="10">{}</text></svg>"##,
        ly - 3.0,
        LEFT + 20.0,
        ly - 3.0,
        LEFT + 24.0,
        escape(cat.word("figures.legend_unit")),
        ly - 3.0,
        ly - 3.0,
        escape(cat.word("figures.legend_area")),
    );
    svg
}

/// A polyline through the points that have a value; a missing one breaks the line.
fn line(
    svg: &mut String,
    points: impl Iterator<Item = (usize, Option<f64>)>,
    x: &impl Fn(usize) -> f64,
    y: &impl Fn(f64) -> f64,
    color: &str,
    dash: Option<&str>,
) {
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (i, v) in points {
        match v {
            Some(v) => {
                if let Some(run) = runs.last_mut() {
                    run.push((x(i), y(v)));
                }
            }
            None => runs.push(Vec::new()),
        }
    }
    for run in runs.iter().filter(|r| r.len() > 1) {
        let pts: Vec<String> = run.iter().map(|(a, b)| format!("{a:.1},{b:.1}")).collect();
        let _ = write!(
            svg,
            r##"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{}/>"##,
            pts.join(" "),
            dash.map(|d| format!(r#" stroke-dasharray="{d}""#))
                .unwrap_or_default()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hjul_wheel::data::{Average, Period, Point, Verdict};

    fn view(values: &[Option<f64>]) -> MeasureView {
        let periods = ["2022/23", "2023/24", "2024/25"];
        MeasureView {
            measure: hjul_wheel::IndicatorCode::parse("absence").unwrap(),
            name_da: "Fravær".into(),
            name_en: "Absence".into(),
            direction: hjul_wheel::Direction::Lower,
            unit: MeasureUnit::Percent,
            series: values
                .iter()
                .zip(periods)
                .map(|(v, p)| Point {
                    period: Period::parse(p).unwrap(),
                    value: *v,
                    n: None,
                })
                .collect(),
            latest_period: None,
            latest: None,
            change: None,
            verdict: Verdict::Insufficient,
            area_average: None,
            department_average: None,
            target: None,
            area_series: values
                .iter()
                .zip(periods)
                .map(|(_, p)| Average {
                    period: Period::parse(p).unwrap(),
                    value: Some(6.0),
                })
                .collect(),
        }
    }

    #[test]
    fn a_hidden_value_is_a_gap_and_never_drawn() {
        let words = Words::load().unwrap();
        let svg = trend(
            &words,
            Lang::Da,
            &view(&[Some(7.5), Some(123.456), Some(5.0)]),
        );
        assert_eq!(svg.matches("<circle class=\"unit\"").count(), 3);
        assert!(svg.contains("123,5 %"), "Danish decimals: {svg}");
        // The middle value hidden: two dots, no unit line (each run has one point), and
        // the hidden number nowhere in the picture.
        let svg = trend(&words, Lang::Da, &view(&[Some(7.5), None, Some(5.0)]));
        assert_eq!(svg.matches("<circle class=\"unit\"").count(), 2);
        // The area's average, 6.0 in each period, as hollow points.
        assert_eq!(svg.matches("<circle class=\"area\"").count(), 3);
        assert_eq!(
            svg.matches("<polyline").count(),
            1,
            "only the area's: {svg}"
        );
        assert!(!svg.contains("123"));
        assert!(svg.contains("for få besvarelser"), "{svg}");
        assert!(svg.contains("role=\"img\""));
        // The department's target: a level line with its value and year.
        let mut with_target = view(&[Some(7.5), Some(6.0)]);
        with_target.target = Some(Target {
            value: 4.0,
            year: 2025,
        });
        let svg = trend(&words, Lang::Da, &with_target);
        assert!(svg.contains("class=\"target\""), "{svg}");
        assert!(svg.contains("mål 4,0 % i 2025"), "{svg}");
        // Nothing to draw: no picture.
        assert_eq!(trend(&words, Lang::En, &view(&[])), "");
    }
}
