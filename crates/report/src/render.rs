//! The report written out from its templates. One template per language,
//! `config/report/LANG/report.md` (minijinja, like the mail templates), makes the
//! Markdown; the HTML is that Markdown in the frame `config/report/frame.html`, so a
//! municipality changes the wording once for every format. The built-in copies are used
//! for files a configuration directory does not have.

use std::path::{Path, PathBuf};

use minijinja::Environment;

use crate::{Report, ReportError};

/// What a report is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
    Pdf,
}

const BUILTIN: &[(&str, &str)] = &[
    (
        "da/report.md",
        include_str!("../../../config/report/da/report.md"),
    ),
    (
        "en/report.md",
        include_str!("../../../config/report/en/report.md"),
    ),
    (
        "da/sheet.md",
        include_str!("../../../config/report/da/sheet.md"),
    ),
    (
        "en/sheet.md",
        include_str!("../../../config/report/en/sheet.md"),
    ),
    (
        "frame.html",
        include_str!("../../../config/report/frame.html"),
    ),
];

/// The PDF's frame (Typst, not minijinja).
const FRAME_TYP: &str = include_str!("../../../config/report/frame.typ");

/// The report templates, each checked when loaded.
pub struct Templates {
    env: Environment<'static>,
    frame_typ: String,
}

impl Templates {
    /// The templates in `dir` (a `report` directory with `da` and `en` in it), falling
    /// back on the built-in copy of each file `dir` lacks.
    pub fn load(dir: Option<&Path>) -> Result<Self, ReportError> {
        let dir: Option<PathBuf> = dir.map(Path::to_path_buf);
        let mut env = Environment::new();
        let frame_typ = match dir.as_ref().map(|d| d.join("frame.typ")) {
            Some(path) if path.is_file() => {
                std::fs::read_to_string(&path).map_err(|e| ReportError::Template {
                    name: path.display().to_string(),
                    message: e.to_string(),
                })?
            }
            _ => FRAME_TYP.to_owned(),
        };
        env.set_loader(move |name| {
            if let Some(dir) = &dir {
                let path = dir.join(name);
                if path.is_file() {
                    return std::fs::read_to_string(&path).map(Some).map_err(|e| {
                        minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!("cannot read {}: {e}", path.display()),
                        )
                    });
                }
            }
            Ok(BUILTIN
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, text)| (*text).to_owned()))
        });
        // HTML escapes what it inserts; Markdown is plain text.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                minijinja::AutoEscape::Html
            } else {
                minijinja::AutoEscape::None
            }
        });
        // A table cell: a `|` in a name would end the cell.
        env.add_filter("cell", |v: String| v.replace('|', "\\|").replace('\n', " "));
        env.add_filter("quote", quote);
        for (name, _) in BUILTIN {
            env.get_template(name)
                .map_err(|e| template_error(name, &e))?;
        }
        Ok(Self { env, frame_typ })
    }

    /// `report` written as `format`.
    pub fn render(&self, report: &Report, format: Format) -> Result<Vec<u8>, ReportError> {
        self.document("report", report, &crate::pdf::Meta::of(report), format)
    }

    /// A unit's data sheet written as `format`.
    pub fn render_sheet(
        &self,
        sheet: &crate::Sheet,
        format: Format,
    ) -> Result<Vec<u8>, ReportError> {
        let meta = crate::pdf::Meta {
            language: sheet.language,
            made_on: sheet.made_on_iso,
            ident: format!("hjul-sheet-{}-{}", sheet.cycle, sheet.unit_id),
            compact: true,
        };
        self.document("sheet", sheet, &meta, format)
    }

    /// The template `LANG/NAME.md` filled from `value`, written as `format`.
    fn document(
        &self,
        name: &str,
        value: &impl serde::Serialize,
        meta: &crate::pdf::Meta,
        format: Format,
    ) -> Result<Vec<u8>, ReportError> {
        let r = minijinja::Value::from(minijinja::value::Serde(value));
        let template = format!("{}/{name}.md", meta.language);
        let markdown = self
            .env
            .get_template(&template)
            .and_then(|t| t.render(minijinja::context! { r => r.clone() }))
            .map_err(|e| template_error(&template, &e))?;
        match format {
            Format::Markdown => Ok(markdown.into_bytes()),
            Format::Pdf => crate::pdf::pdf(meta, &markdown, &self.frame_typ),
            Format::Html => {
                let body = html_of(&markdown)?;
                let title = title_of(&markdown);
                self.env
                    .get_template("frame.html")
                    .and_then(|t| {
                        t.render(minijinja::context! {
                            r => r, lang => meta.language, title => title, body => body
                        })
                    })
                    .map(String::into_bytes)
                    .map_err(|e| template_error("frame.html", &e))
            }
        }
    }
}

/// A document's title: its first `# ` heading.
pub(crate) fn title_of(markdown: &str) -> &str {
    markdown
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("")
}

/// The Markdown as HTML (tables on), each chart drawn inline as SVG. Raw HTML in the
/// Markdown is written as text: what a name holds never becomes markup.
fn html_of(markdown: &str) -> Result<String, ReportError> {
    use pulldown_cmark::{Event, html};
    let events = crate::chart::pieces(markdown)?
        .into_iter()
        .map(|p| match p {
            crate::chart::Piece::Event(Event::Html(t) | Event::InlineHtml(t)) => Event::Text(t),
            crate::chart::Piece::Event(other) => other,
            crate::chart::Piece::Chart(d) => Event::Html(format!("{}\n", d.svg()).into()),
        });
    let mut out = String::new();
    html::push_html(&mut out, events);
    Ok(out)
}

/// A person's text as a Markdown quotation: each line quoted and kept as a line, and
/// every character Markdown reads as structure escaped, so a note's `#` or `|` stays
/// text and cannot start a heading or a table of its own.
fn quote(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        out.push_str("> ");
        for c in line.chars() {
            if "\\`*_[]<>#+-.!|~=(){}&".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
        // A line break inside a paragraph is kept (a trailing backslash); an empty line
        // ends the paragraph.
        if !line.is_empty() && lines.get(i + 1).is_some_and(|next| !next.is_empty()) {
            out.push('\\');
        }
        out.push('\n');
    }
    out
}

fn template_error(name: &str, e: &minijinja::Error) -> ReportError {
    let line = e.line().map(|l| format!(", line {l}")).unwrap_or_default();
    ReportError::Template {
        name: format!("{name}{line}"),
        message: e.to_string(),
    }
}
