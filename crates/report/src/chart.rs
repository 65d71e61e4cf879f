//! The report's charts. A template places a chart with a fenced block whose info string
//! is `chart` and whose body is the chart's data as JSON (the model writes it:
//! `m.chart`). The chart is drawn once, as SVG: inline in the HTML, and laid out by Typst
//! as vector graphics in the PDF, so both formats show the same drawing.
//!
//! Two kinds:
//! - the pre-analysis' pattern of a measure ([`Chart`]): per area, the average as a bar
//!   on the measure's scale with the department's target as a line, and beside it how
//!   many units got better, stayed, got worse or could not be compared. Nothing in it
//!   ranks units: it is drawn from the areas' counts and averages only;
//! - a unit's trend on its data sheet ([`Trend`]): its values period by period beside
//!   the area's average. A value from too few respondents is a gap, never a point.

use std::fmt::Write as _;

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};

use crate::ReportError;

/// A measure's chart: what the template's `chart` block holds, as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chart {
    /// What the chart shows, in words: the SVG's accessible name.
    pub title: String,
    /// The scale the averages are drawn on.
    pub low: f64,
    pub high: f64,
    pub target: Option<Mark>,
    pub rows: Vec<ChartRow>,
    pub legend: Legend,
}

/// A value marked across the rows: the department's target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mark {
    pub value: f64,
    pub label: String,
}

/// An area: its average (none when no value may be shown) and its units' trends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartRow {
    pub label: String,
    pub value: Option<f64>,
    /// The average as people read it ("85,2 %").
    pub text: String,
    pub better: usize,
    pub unchanged: usize,
    pub worse: usize,
    pub insufficient: usize,
}

/// The chart's words, in the reader's language.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Legend {
    pub average: String,
    pub trend: String,
    pub better: String,
    pub unchanged: String,
    pub worse: String,
    pub insufficient: String,
}

/// What a ```chart block holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Drawing {
    Patterns(Chart),
    Trend(Trend),
}

impl Drawing {
    pub fn svg(&self) -> String {
        match self {
            Self::Patterns(c) => c.svg(),
            Self::Trend(t) => t.svg(),
        }
    }

    pub fn title(&self) -> &str {
        match self {
            Self::Patterns(c) => &c.title,
            Self::Trend(t) => &t.title,
        }
    }

    /// Its width on the PDF's page, of the text's width.
    pub fn width_percent(&self) -> u8 {
        match self {
            Self::Patterns(_) => 100,
            Self::Trend(_) => 60,
        }
    }

    /// The drawing as the JSON of a ```chart block.
    pub fn data(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A unit's values on a measure, period by period, beside its area's average: drawn on
/// the data sheet and on the unit's page in the dashboard alike ([`Trend::of`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trend {
    /// The measure's code: the drawing is `chart-CODE`.
    pub id: String,
    pub title: String,
    /// Every value in words, for a screen reader.
    pub description: String,
    pub periods: Vec<String>,
    /// The unit's value in each period; none where there is none or it is hidden.
    pub unit: Vec<Option<f64>>,
    /// The area's average in each period.
    pub area: Vec<Option<f64>>,
    /// Each point's value in words (what a pointer on it shows).
    pub unit_text: Vec<String>,
    pub area_text: Vec<String>,
    pub target: Option<Mark>,
    /// How the scale's values are written: decimals, a decimal comma, a unit after.
    pub decimals: usize,
    pub comma: bool,
    pub suffix: String,
    pub legend_unit: String,
    pub legend_area: String,
}

/// A chart drawn, or text the Markdown holds.
pub(crate) enum Piece<'a> {
    Event(Event<'a>),
    Chart(Box<Drawing>),
}

/// Whether a link the template writes is one a reader may follow from a report: a web
/// (`https://`, `http://`) or mail (`mailto:`) address at one of the municipality's own
/// hosts (`hosts`, from `hjul.toml`; a host's subdomains too), never a script, a file,
/// another scheme or another site. An address with a user part (`https://kommune.dk@evil`)
/// is refused: it reads as one host and goes to another.
pub(crate) fn followable(dest: &str, hosts: &[String]) -> bool {
    let d = dest.trim().to_ascii_lowercase();
    let host = if let Some(rest) = d
        .strip_prefix("https://")
        .or_else(|| d.strip_prefix("http://"))
    {
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return false;
        }
        authority.rsplit_once(':').map_or(authority, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                authority
            }
        })
    } else if let Some(rest) = d.strip_prefix("mailto:") {
        let address = rest.split('?').next().unwrap_or_default();
        match address.split_once('@') {
            Some((_, domain)) if !domain.contains(['@', ',']) => domain,
            _ => return false,
        }
    } else {
        return false;
    };
    !host.is_empty()
        && hosts.iter().any(|h| {
            let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
            !h.is_empty()
                && (host == h
                    || host
                        .strip_suffix(h.as_str())
                        .is_some_and(|p| p.ends_with('.')))
        })
}

/// The Markdown's events (CommonMark with tables), with each `chart` block read into
/// its chart. A block that is not a chart's data is refused with what is wrong. Images
/// are only the report's own charts: an image in the Markdown is its words; a link
/// that is not to a web or mail address at one of `hosts` is its words too.
pub(crate) fn pieces<'a>(
    markdown: &'a str,
    hosts: &[String],
) -> Result<Vec<Piece<'a>>, ReportError> {
    let mut out = Vec::new();
    let mut chart: Option<String> = None;
    // Per open link: whether it is kept.
    let mut links: Vec<bool> = Vec::new();
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        let event = match event {
            Event::Start(Tag::Image { .. }) | Event::End(TagEnd::Image) => continue,
            Event::Start(Tag::Link { ref dest_url, .. }) => {
                let keep = followable(dest_url, hosts);
                links.push(keep);
                if !keep {
                    continue;
                }
                event
            }
            Event::End(TagEnd::Link) => {
                if !links.pop().unwrap_or(false) {
                    continue;
                }
                event
            }
            other => other,
        };
        match (&mut chart, event) {
            (None, Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))))
                if info.trim() == "chart" =>
            {
                chart = Some(String::new());
            }
            (Some(body), Event::Text(t)) => body.push_str(&t),
            (Some(body), Event::End(TagEnd::CodeBlock)) => {
                let parsed: Drawing =
                    serde_json::from_str(body.trim()).map_err(|e| ReportError::Template {
                        name: "chart".to_owned(),
                        message: format!(
                            "a ```chart block holds a chart's data as the report gives it \
                             (`{{{{ m.chart }}}}`): {e}"
                        ),
                    })?;
                out.push(Piece::Chart(Box::new(parsed)));
                chart = None;
            }
            (Some(_), _) => {}
            (None, event) => out.push(Piece::Event(event)),
        }
    }
    Ok(out)
}

const WIDTH: f64 = 640.0;
const LABEL_W: f64 = 150.0;
const BAR_X: f64 = 160.0;
const BAR_W: f64 = 230.0;
const TREND_X: f64 = 430.0;
const TREND_W: f64 = 200.0;
const TOP: f64 = 26.0;
const ROW_H: f64 = 26.0;
const BAR_H: f64 = 14.0;

const AVERAGE: &str = "#3b6ea5";
const TARGET: &str = "#a3262a";
const BETTER: &str = "#4c9a2a";
const UNCHANGED: &str = "#9e9e9e";
const WORSE: &str = "#d9822b";
const INSUFFICIENT: &str = "#dedede";
const AREA: &str = "#6b7280";
const GOAL: &str = "#2e7d32";

impl Chart {
    /// The chart as an SVG drawing, every text escaped.
    pub fn svg(&self) -> String {
        let rows = self.rows.len() as f64;
        let axis_y = TOP + rows * ROW_H + 2.0;
        let height = axis_y + 48.0;
        let span = if self.high > self.low {
            self.high - self.low
        } else {
            1.0
        };
        let x_of = |v: f64| BAR_X + BAR_W * ((v - self.low) / span).clamp(0.0, 1.0);
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" role="img" aria-label="{}" font-family="Helvetica, Arial, sans-serif" font-size="11">"#,
            esc(&self.title)
        );
        let _ = write!(s, "<title>{}</title>", esc(&self.title));
        let _ = write!(
            s,
            r#"<text x="{BAR_X}" y="12" font-weight="bold">{}</text><text x="{TREND_X}" y="12" font-weight="bold">{}</text>"#,
            esc(&self.legend.average),
            esc(&self.legend.trend)
        );
        for (i, row) in self.rows.iter().enumerate() {
            let y = TOP + i as f64 * ROW_H;
            let mid = y + BAR_H / 2.0 + 4.0;
            let _ = write!(
                s,
                r#"<text x="{}" y="{mid}" text-anchor="end">{}</text>"#,
                LABEL_W,
                esc(&row.label)
            );
            let _ = write!(
                s,
                r##"<rect x="{BAR_X}" y="{y}" width="{BAR_W}" height="{BAR_H}" fill="#f2f2f2"/>"##
            );
            match row.value {
                Some(v) => {
                    let end = x_of(v);
                    let _ = write!(
                        s,
                        r#"<rect x="{BAR_X}" y="{y}" width="{:.1}" height="{BAR_H}" fill="{AVERAGE}"/>"#,
                        end - BAR_X
                    );
                    // The figure sits after the bar, or inside its end when the bar is
                    // nearly full.
                    let (x, anchor, fill) = if end + 40.0 > BAR_X + BAR_W {
                        (end - 3.0, "end", "#ffffff")
                    } else {
                        (end + 3.0, "start", "#1b1b1b")
                    };
                    let _ = write!(
                        s,
                        r#"<text x="{x:.1}" y="{mid}" text-anchor="{anchor}" fill="{fill}">{}</text>"#,
                        esc(&row.text)
                    );
                }
                None => {
                    let _ = write!(
                        s,
                        r#"<text x="{}" y="{mid}">{}</text>"#,
                        BAR_X + 3.0,
                        esc(&row.text)
                    );
                }
            }
            let total = row.better + row.unchanged + row.worse + row.insufficient;
            let mut x = TREND_X;
            for (count, colour) in [
                (row.better, BETTER),
                (row.unchanged, UNCHANGED),
                (row.worse, WORSE),
                (row.insufficient, INSUFFICIENT),
            ] {
                if count == 0 || total == 0 {
                    continue;
                }
                let w = TREND_W * count as f64 / total as f64;
                let _ = write!(
                    s,
                    r##"<rect x="{x:.1}" y="{y}" width="{w:.1}" height="{BAR_H}" fill="{colour}" stroke="#ffffff" stroke-width="0.5"/>"##
                );
                if w >= 14.0 {
                    let ink = if colour == INSUFFICIENT {
                        "#1b1b1b"
                    } else {
                        "#ffffff"
                    };
                    let _ = write!(
                        s,
                        r#"<text x="{:.1}" y="{mid}" text-anchor="middle" fill="{ink}">{count}</text>"#,
                        x + w / 2.0
                    );
                }
                x += w;
            }
        }
        // The scale under the averages, and the target across them.
        let _ = write!(
            s,
            r##"<line x1="{BAR_X}" y1="{axis_y}" x2="{}" y2="{axis_y}" stroke="#555555" stroke-width="0.6"/>"##,
            BAR_X + BAR_W
        );
        for (v, anchor) in [(self.low, "start"), (self.high, "end")] {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{}" text-anchor="{anchor}" fill="#555555" font-size="9">{}</text>"##,
                x_of(v),
                axis_y + 11.0,
                number(v)
            );
        }
        if let Some(t) = &self.target {
            let x = x_of(t.value);
            let _ = write!(
                s,
                r#"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{axis_y}" stroke="{TARGET}" stroke-width="1.4" stroke-dasharray="4 2"/>"#,
                TOP - 4.0
            );
            let _ = write!(
                s,
                r#"<text x="{x:.1}" y="{}" text-anchor="middle" fill="{TARGET}" font-size="9">{}</text>"#,
                axis_y + 22.0,
                esc(&t.label)
            );
        }
        // The legend of the trends, on its own line, ending at the right edge.
        let legend = [
            (&self.legend.better, BETTER),
            (&self.legend.unchanged, UNCHANGED),
            (&self.legend.worse, WORSE),
            (&self.legend.insufficient, INSUFFICIENT),
        ];
        // Room for a word: a rough width per character of the 9-point type.
        let room = |word: &str| 11.0 + 5.0 * word.chars().count() as f64 + 10.0;
        let total: f64 = legend.iter().map(|(w, _)| room(w)).sum();
        let mut x = (WIDTH - total).max(0.0);
        let y = axis_y + 40.0;
        for (word, colour) in legend {
            let _ = write!(
                s,
                r#"<rect x="{x:.1}" y="{}" width="8" height="8" fill="{colour}"/><text x="{:.1}" y="{y}" font-size="9">{}</text>"#,
                y - 7.5,
                x + 11.0,
                esc(word)
            );
            x += room(word);
        }
        s.push_str("</svg>");
        s
    }
}

const LINE_W: f64 = 360.0;
const LINE_H: f64 = 150.0;
const T_LEFT: f64 = 46.0;
const T_RIGHT: f64 = 28.0;
const T_TOP: f64 = 10.0;
const T_BOTTOM: f64 = 40.0;

impl Trend {
    /// The trend of `m` in the words of `cat` (the wheel's catalogue, or a page's built
    /// on it): a hidden value is a gap, and only the numbers shown are in it.
    pub fn of(m: &hjul_wheel::data::MeasureView, cat: &hjul_wheel::text::Catalogue) -> Self {
        use hjul_wheel::Language;
        let name = match cat.language() {
            Language::Da => &m.name_da,
            Language::En => &m.name_en,
        };
        let shown = |v: f64| crate::model::value(cat, m.unit, v);
        let area: Vec<Option<f64>> = m
            .series
            .iter()
            .map(|p| {
                m.area_series
                    .iter()
                    .find(|a| a.period == p.period)
                    .and_then(|a| a.value)
            })
            .collect();
        let unit_text: Vec<String> = m
            .series
            .iter()
            .map(|p| {
                p.value
                    .map_or_else(|| cat.word("report.too_few").to_owned(), shown)
            })
            .collect();
        let area_text: Vec<String> = area
            .iter()
            .map(|v| v.map_or_else(|| "–".to_owned(), shown))
            .collect();
        let area_word = cat.word("report.chart_area").to_lowercase();
        let description = m
            .series
            .iter()
            .zip(unit_text.iter().zip(&area_text))
            .map(|(p, (own, area))| format!("{}: {own} ({area_word} {area})", p.period))
            .collect::<Vec<_>>()
            .join("; ");
        Self {
            id: m.measure.as_str().to_owned(),
            title: cat.word("report.trend_title").replace("{measure}", name),
            description,
            periods: m.series.iter().map(|p| p.period.to_string()).collect(),
            unit: m.series.iter().map(|p| p.value).collect(),
            area,
            unit_text,
            area_text,
            target: m.target.map(|t| Mark {
                value: t.value,
                label: cat.render(
                    &hjul_wheel::Text::new("report.trend_target")
                        .arg("value", shown(t.value))
                        .arg("year", t.year.to_string()),
                ),
            }),
            decimals: m.unit.decimals(),
            comma: cat.language() == Language::Da,
            suffix: if m.unit == hjul_wheel::indicators::MeasureUnit::Percent {
                "%".to_owned()
            } else {
                String::new()
            },
            legend_unit: cat.word("report.chart_unit").to_owned(),
            legend_area: cat.word("report.chart_area").to_owned(),
        }
    }

    /// Whether it has a value to draw.
    pub fn is_empty(&self) -> bool {
        self.unit.iter().chain(&self.area).all(Option::is_none)
    }

    /// A value as the scale writes it.
    fn number(&self, v: f64) -> String {
        let places = self.decimals;
        let s = format!("{v:.places$}");
        let s = if self.comma { s.replace('.', ",") } else { s };
        if self.suffix.is_empty() {
            s
        } else {
            format!("{s} {}", self.suffix)
        }
    }

    /// The value axis from `lo` to `hi` for values between `low` and `high`: from zero,
    /// to the least round number (1, 2, 2.5 or 5 times a power of ten) above the highest
    /// value by a tenth, and at most 100 for a percentage that stays under it.
    fn scale(&self, low: f64, high: f64) -> (f64, f64) {
        let lo = low.min(0.0);
        let top = (high.max(0.0) * 1.1).max(f64::EPSILON);
        let power = 10f64.powf(top.log10().floor());
        let round = [1.0, 2.0, 2.5, 5.0, 10.0]
            .into_iter()
            .map(|m| m * power)
            .find(|r| *r >= top)
            .unwrap_or(10.0 * power);
        let hi = if self.suffix == "%" && high <= 100.0 {
            round.min(100.0)
        } else {
            round
        };
        (lo, if hi > lo { hi } else { lo + 1.0 })
    }

    /// The line chart, every text escaped: the unit's values as a solid line with a dot
    /// per period, the area's as a dashed one with hollow dots, the target as a dotted
    /// level line. Nothing but its title when no value can be drawn.
    pub fn svg(&self) -> String {
        let id = esc(&self.id);
        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg class="trend" id="chart-{id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {LINE_W} {LINE_H}" width="{LINE_W}" height="{LINE_H}" role="img" aria-labelledby="chart-{id}-title chart-{id}-desc" font-family="Helvetica, Arial, sans-serif" font-size="10"><title id="chart-{id}-title">{}</title><desc id="chart-{id}-desc">{}</desc>"#,
            esc(&self.title),
            esc(&self.description)
        );
        let values = self
            .unit
            .iter()
            .chain(&self.area)
            .flatten()
            .copied()
            .chain(self.target.as_ref().map(|t| t.value));
        let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        if self.is_empty() {
            s.push_str("</svg>");
            return s;
        }
        // An honest scale: from zero (or below it, for a value under zero) to a round
        // top above the highest value, so a change of 3 points looks like 3 points and
        // not like a plunge. A percentage never runs past 100 unless a value does.
        let (lo, hi) = self.scale(lo, hi);
        let n = self.periods.len();
        let x = |i: usize| {
            if n <= 1 {
                T_LEFT + (LINE_W - T_LEFT - T_RIGHT) / 2.0
            } else {
                T_LEFT + (LINE_W - T_LEFT - T_RIGHT) * i as f64 / (n - 1) as f64
            }
        };
        let y = |v: f64| T_TOP + (LINE_H - T_TOP - T_BOTTOM) * (hi - v) / (hi - lo);
        for k in 0..=4 {
            let v = lo + (hi - lo) * f64::from(k) / 4.0;
            let gy = y(v);
            let _ = write!(
                s,
                r##"<line x1="{T_LEFT}" y1="{gy:.1}" x2="{:.1}" y2="{gy:.1}" stroke="#e3e7ec"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#4b5563">{}</text>"##,
                LINE_W - T_RIGHT,
                T_LEFT - 4.0,
                gy + 3.0,
                esc(&self.number(v))
            );
        }
        for (i, p) in self.periods.iter().enumerate() {
            let _ = write!(
                s,
                r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="#4b5563">{}</text>"##,
                x(i),
                LINE_H - T_BOTTOM + 14.0,
                esc(p)
            );
        }
        if let Some(t) = &self.target {
            let ty = y(t.value);
            let _ = write!(
                s,
                r#"<line class="target" x1="{T_LEFT}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="{GOAL}" stroke-width="1.5" stroke-dasharray="2 3"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="{GOAL}">{}</text>"#,
                LINE_W - T_RIGHT,
                LINE_W - T_RIGHT,
                ty - 4.0,
                esc(&t.label)
            );
        }
        for (class, values, texts, colour, dash, radius, fill) in [
            (
                "area",
                &self.area,
                &self.area_text,
                AREA,
                r#" stroke-dasharray="5 4""#,
                2.5,
                "#ffffff",
            ),
            (
                "unit",
                &self.unit,
                &self.unit_text,
                AVERAGE,
                "",
                3.5,
                AVERAGE,
            ),
        ] {
            // A line through neighbouring values; a missing one breaks it.
            let mut runs: Vec<Vec<String>> = vec![Vec::new()];
            for (i, v) in values.iter().enumerate() {
                match v {
                    Some(v) => {
                        if let Some(run) = runs.last_mut() {
                            run.push(format!("{:.1},{:.1}", x(i), y(*v)));
                        }
                    }
                    None => runs.push(Vec::new()),
                }
            }
            for points in runs.iter().filter(|p| p.len() > 1) {
                let _ = write!(
                    s,
                    r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>"#,
                    points.join(" ")
                );
            }
            for (i, v) in values.iter().enumerate() {
                if let Some(v) = v {
                    let _ = write!(
                        s,
                        r#"<circle class="{class}" cx="{:.1}" cy="{:.1}" r="{radius}" fill="{fill}" stroke="{colour}" stroke-width="1.5"><title>{}: {}</title></circle>"#,
                        x(i),
                        y(*v),
                        esc(self.periods.get(i).map_or("", String::as_str)),
                        esc(texts.get(i).map_or("", String::as_str))
                    );
                }
            }
        }
        let ly = LINE_H - 8.0;
        let _ = write!(
            s,
            r#"<line x1="{T_LEFT}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{AVERAGE}" stroke-width="2"/><text x="{:.1}" y="{ly:.1}">{}</text><line x1="170" y1="{:.1}" x2="190" y2="{:.1}" stroke="{AREA}" stroke-width="2" stroke-dasharray="5 4"/><text x="194" y="{ly:.1}">{}</text></svg>"#,
            ly - 3.0,
            T_LEFT + 20.0,
            ly - 3.0,
            T_LEFT + 24.0,
            esc(&self.legend_unit),
            ly - 3.0,
            ly - 3.0,
            esc(&self.legend_area),
        );
        s
    }
}

/// A scale's end as a short number: 0, 100, 4.5.
fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// `text` safe inside SVG (XML) text and attributes: every drawing hjul makes, the
/// dashboard's wheel included, escapes with this.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A template's own web and mail links stay links; a script link and an image are
    /// their words.
    #[test]
    fn only_links_to_the_municipalitys_own_hosts_are_links_and_no_image_is_one() {
        let md = "[kommunen](https://skovby.dk) [skriv](mailto:a@skovby.dk) \
                  [intra](https://intra.skovby.dk:8443/kvalitet) \
                  [andet](https://skovby.dk.evil.example/) [bruger](https://skovby.dk@evil.example/) \
                  [ude](mailto:a@evil.example) \
                  [klik](javascript:alert(1)) [fil](file:///etc/passwd) ![logo](http://x/b.png)";
        let Ok(pieces) = pieces(md, &["Skovby.dk".to_owned()]) else {
            panic!("read")
        };
        let mut links = Vec::new();
        let mut words = String::new();
        for p in &pieces {
            match p {
                Piece::Event(Event::Start(Tag::Link { dest_url, .. })) => {
                    links.push(dest_url.to_string());
                }
                Piece::Event(Event::Start(Tag::Image { .. })) => panic!("an image"),
                Piece::Event(Event::Text(t)) => words.push_str(t),
                _ => {}
            }
        }
        assert_eq!(
            links,
            [
                "https://skovby.dk",
                "mailto:a@skovby.dk",
                "https://intra.skovby.dk:8443/kvalitet"
            ]
        );
        assert!(
            ["andet", "bruger", "ude", "klik", "fil", "logo"]
                .iter()
                .all(|w| words.contains(w)),
            "{words}"
        );
    }

    pub(crate) fn chart(label: &str) -> Chart {
        Chart {
            title: "Fravær".into(),
            low: 0.0,
            high: 100.0,
            target: Some(Mark {
                value: 92.0,
                label: "Mål 92,0 %".into(),
            }),
            rows: vec![
                ChartRow {
                    label: label.into(),
                    value: Some(85.2),
                    text: "85,2 %".into(),
                    better: 3,
                    unchanged: 1,
                    worse: 2,
                    insufficient: 0,
                },
                ChartRow {
                    label: "Skole".into(),
                    value: None,
                    text: "—".into(),
                    better: 0,
                    unchanged: 0,
                    worse: 0,
                    insufficient: 4,
                },
            ],
            legend: Legend {
                average: "Gennemsnit".into(),
                trend: "Enhedernes udvikling".into(),
                better: "bedre".into(),
                unchanged: "uændret".into(),
                worse: "dårligere".into(),
                insufficient: "kan ikke sammenlignes".into(),
            },
        }
    }

    #[test]
    fn a_chart_draws_its_bars_to_scale_and_escapes_its_words() {
        let svg = chart("Dag & <tilbud>").svg();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Dag &amp; &lt;tilbud&gt;"), "{svg}");
        // 85.2 of 0–100 over 230 points.
        assert!(svg.contains(r#"width="196.0""#), "{svg}");
        // The target's line at 92 %.
        assert!(svg.contains(r#"x1="371.6""#), "{svg}");
        // 3 of 6 units better: half the trend bar.
        assert!(
            svg.contains(r##"width="100.0" height="14" fill="#4c9a2a""##),
            "{svg}"
        );
        // An area with no value shown has no bar, only its dash.
        assert_eq!(svg.matches(r##"fill="#3b6ea5""##).count(), 1, "{svg}");
    }

    #[test]
    fn a_chart_block_is_read_and_a_broken_one_refused() {
        let data = Drawing::Patterns(chart("Dagtilbud")).data();
        let md = format!("Før\n\n```chart\n{data}\n```\n\nEfter\n");
        let read = pieces(&md, &[]).unwrap_or_default();
        assert_eq!(
            read.iter()
                .filter(|p| matches!(p, Piece::Chart(d) if matches!(**d, Drawing::Patterns(ref c) if c.rows.len() == 2)))
                .count(),
            1
        );
        let broken = pieces("```chart\n{\"title\": 1}\n```\n", &[]);
        assert!(
            matches!(&broken, Err(ReportError::Template { name, message })
                if name == "chart" && message.contains("m.chart")),
            "{:?}",
            broken.err()
        );
    }

    fn view(values: &[Option<f64>]) -> hjul_wheel::data::MeasureView {
        use hjul_wheel::data::{Average, Period, Point, Verdict};
        let periods = ["2022/23", "2023/24", "2024/25"];
        hjul_wheel::data::MeasureView {
            measure: hjul_wheel::IndicatorCode::parse("absence").unwrap(),
            name_da: "Fravær <reduceres>".into(),
            name_en: "Absence".into(),
            direction: hjul_wheel::Direction::Lower,
            unit: hjul_wheel::MeasureUnit::Percent,
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
    fn a_trend_breaks_at_a_hidden_value_and_draws_nothing_it_lacks() {
        let da = hjul_wheel::text::Catalogue::wheel(hjul_wheel::Language::Da);
        let svg = Trend::of(&view(&[Some(7.5), Some(123.456), Some(5.0)]), da).svg();
        assert_eq!(svg.matches("<circle class=\"unit\"").count(), 3);
        assert!(svg.contains("123,5 %"), "Danish decimals: {svg}");
        assert!(svg.contains("Fravær &lt;reduceres&gt;"), "{svg}");
        // The middle value hidden: two dots, no unit line (each run has one point), and
        // the hidden number nowhere in the picture.
        let svg = Trend::of(&view(&[Some(7.5), None, Some(5.0)]), da).svg();
        assert_eq!(svg.matches("<circle class=\"unit\"").count(), 2);
        // The area's average, 6.0 in each period, as hollow points on one line.
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
        with_target.target = Some(hjul_wheel::Target {
            value: 4.0,
            year: 2025,
        });
        let svg = Trend::of(&with_target, da).svg();
        assert!(svg.contains("class=\"target\""), "{svg}");
        assert!(svg.contains("mål 4,0 % i 2025"), "{svg}");
        // Nothing to draw: its title, no point.
        let none = Trend::of(&view(&[]), da);
        assert!(none.is_empty() && !none.svg().contains("<circle"));
    }

    /// The value axis starts at zero and ends at a round number above the values, so a
    /// small change looks small: 86 to 83 % is drawn on 0–100 %, not on 82–87 %.
    #[test]
    fn a_trend_is_drawn_from_zero_to_a_round_top() {
        let da = hjul_wheel::text::Catalogue::wheel(hjul_wheel::Language::Da);
        let trend = Trend::of(&view(&[Some(86.0), Some(83.0)]), da);
        assert_eq!(trend.scale(6.0, 86.0), (0.0, 100.0));
        let svg = trend.svg();
        for label in [">0,0 %<", ">50,0 %<", ">100,0 %<"] {
            assert!(svg.contains(label), "{label}: {svg}");
        }
        // A fall of 3 points is 3 % of the drawing's height.
        let y = |class: &str, nth: usize| -> f64 {
            let at = svg
                .match_indices(&format!("<circle class=\"{class}\""))
                .nth(nth)
                .unwrap()
                .0;
            let cy = &svg[at..][svg[at..].find("cy=\"").unwrap() + 4..];
            cy[..cy.find('"').unwrap()].parse().unwrap()
        };
        let plot = LINE_H - T_TOP - T_BOTTOM;
        assert!(
            ((y("unit", 1) - y("unit", 0)) / plot - 0.03).abs() < 0.005,
            "{svg}"
        );
        // Counts and scores: a round top above the highest value.
        assert_eq!(trend.scale(0.0, 4.2), (0.0, 5.0));
        assert_eq!(trend.scale(0.0, 130.0), (0.0, 200.0));
        let (lo, hi) = trend.scale(-3.0, 0.0);
        assert!(lo == -3.0 && hi > 0.0, "{lo}..{hi}");
    }
}
