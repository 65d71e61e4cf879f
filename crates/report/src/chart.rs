//! The pre-analysis' patterns as charts. A template places a chart with a fenced block
//! whose info string is `chart` and whose body is the chart's data as JSON (the model
//! writes it: `m.chart`). The chart is drawn once, as SVG: inline in the HTML, and laid
//! out by Typst as vector graphics in the PDF, so both formats show the same drawing.
//!
//! A chart shows, per area, the average as a bar on the measure's scale with the
//! department's target as a line, and beside it how many units got better, stayed,
//! got worse or could not be compared. Nothing in it ranks units: it is drawn from the
//! areas' counts and averages only.

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

/// A chart drawn, or text the Markdown holds.
pub(crate) enum Piece<'a> {
    Event(Event<'a>),
    Chart(Chart),
}

/// The Markdown's events (CommonMark with tables), with each `chart` block read into
/// its chart. A block that is not a chart's data is refused with what is wrong.
pub(crate) fn pieces(markdown: &str) -> Result<Vec<Piece<'_>>, ReportError> {
    let mut out = Vec::new();
    let mut chart: Option<String> = None;
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match (&mut chart, event) {
            (None, Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))))
                if info.trim() == "chart" =>
            {
                chart = Some(String::new());
            }
            (Some(body), Event::Text(t)) => body.push_str(&t),
            (Some(body), Event::End(TagEnd::CodeBlock)) => {
                let parsed: Chart =
                    serde_json::from_str(body.trim()).map_err(|e| ReportError::Template {
                        name: "chart".to_owned(),
                        message: format!(
                            "a ```chart block holds a chart's data as the report gives it \
                             (`{{{{ m.chart }}}}`): {e}"
                        ),
                    })?;
                out.push(Piece::Chart(parsed));
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

/// A scale's end as a short number: 0, 100, 4.5.
fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// `text` safe inside SVG (XML) text and attributes.
fn esc(text: &str) -> String {
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
mod tests {
    use super::*;

    fn chart(label: &str) -> Chart {
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
        let data = serde_json::to_string(&chart("Dagtilbud")).unwrap_or_default();
        let md = format!("Før\n\n```chart\n{data}\n```\n\nEfter\n");
        let read = pieces(&md).unwrap_or_default();
        assert_eq!(
            read.iter()
                .filter(|p| matches!(p, Piece::Chart(c) if c.rows.len() == 2))
                .count(),
            1
        );
        let broken = pieces("```chart\n{\"title\": 1}\n```\n");
        assert!(
            matches!(&broken, Err(ReportError::Template { name, message })
                if name == "chart" && message.contains("m.chart")),
            "{:?}",
            broken.err()
        );
    }
}
