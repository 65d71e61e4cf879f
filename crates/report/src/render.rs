//! The report written out from its templates. One template per language,
//! `config/report/LANG/report.md` (minijinja, like the mail templates), makes the
//! Markdown; the HTML is that Markdown in the frame `config/report/frame.html`, so a
//! municipality changes the wording once for every format. The built-in copies are used
//! for files a configuration directory does not have.

use std::path::Path;

use minijinja::value::ValueKind;
use minijinja::{AutoEscape, Environment, Value};

use crate::{Report, ReportError};

/// What a report is written as (`pdf`, `html`, `md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[serde(rename = "md")]
    Markdown,
    Html,
    Pdf,
}

impl Format {
    pub const ALL: [Format; 3] = [Self::Pdf, Self::Html, Self::Markdown];

    pub fn key(self) -> &'static str {
        match self {
            Self::Markdown => "md",
            Self::Html => "html",
            Self::Pdf => "pdf",
        }
    }

    /// The format a key names.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.key() == key)
    }
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
    /// The hosts a template's links may go to (`[report] link_hosts`).
    link_hosts: Vec<String>,
    /// How much Markdown a PDF is laid out in at once (see [`crate::pdf::PART_BYTES`]).
    part_bytes: usize,
}

impl Templates {
    /// The templates in `dir` (a `report` directory with `da` and `en` in it), falling
    /// back on the built-in copy of each file `dir` lacks.
    pub fn load(dir: Option<&Path>) -> Result<Self, ReportError> {
        let mut env = hjul_templates::environment(dir, BUILTIN);
        let frame_typ = match dir.map(|d| d.join("frame.typ")) {
            Some(path) if path.is_file() => {
                std::fs::read_to_string(&path).map_err(|e| ReportError::Template {
                    name: path.display().to_string(),
                    message: e.to_string(),
                })?
            }
            _ => FRAME_TYP.to_owned(),
        };
        // Every value a template inserts is text: HTML escapes it, and Markdown too (see
        // `markdown_text`), so a goal's title, a unit's name or a theme is never read as a
        // link, an image, a quotation or a code block. Only the template's own text, the
        // filters below and the charts' data are markup.
        env.set_auto_escape_callback(|name| {
            if name.ends_with(".html") {
                AutoEscape::Html
            } else {
                AutoEscape::Custom(MARKDOWN.into())
            }
        });
        env.set_formatter(|out, state, value| {
            if !matches!(state.auto_escape(), AutoEscape::Custom(m) if m == MARKDOWN) {
                return minijinja::escape_formatter(out, state, value);
            }
            let text = if value.is_safe() {
                value.to_string()
            } else if let Some(s) = value.as_str() {
                markdown_text(s)
            } else {
                match value.kind() {
                    // Nothing is written as nothing, a number or a yes/no as it is.
                    ValueKind::Undefined | ValueKind::None => String::new(),
                    ValueKind::Number | ValueKind::Bool => value.to_string(),
                    _ => markdown_text(&value.to_string()),
                }
            };
            out.write_str(&text).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())
            })
        });
        // A table cell: text, with no `|` to end the cell and no line to end the row.
        env.add_filter("cell", |v: Value| {
            Value::from_safe_string(if v.is_safe() {
                v.to_string().replace('\n', " ")
            } else {
                markdown_text(&v.to_string())
            })
        });
        env.add_filter("quote", |v: String| Value::from_safe_string(quote(&v)));
        hjul_templates::compile_all(&env, BUILTIN).map_err(|(name, e)| template_error(name, &e))?;
        Ok(Self {
            env,
            frame_typ,
            link_hosts: Vec::new(),
            part_bytes: crate::pdf::PART_BYTES,
        })
    }

    /// The municipality's own hosts (`[report] link_hosts`; a host's subdomains too):
    /// a link a template writes is kept only to a web or mail address at one of them,
    /// and is its words otherwise. With none, no link is kept.
    #[must_use]
    pub fn with_link_hosts(mut self, hosts: Vec<String>) -> Self {
        self.link_hosts = hosts;
        self
    }

    /// Lays a PDF out in parts of about `bytes` of Markdown instead of
    /// [`crate::pdf::PART_BYTES`]: less memory, more pages started early. For measuring
    /// the trade, and for tests that need parts from a short report.
    #[must_use]
    pub fn with_part_bytes(mut self, bytes: usize) -> Self {
        self.part_bytes = bytes.max(1);
        self
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
        // Serialized for minijinja, so the charts' data keeps its mark as markup.
        let r = Value::from(minijinja::value::Serde(value));
        let template = format!("{}/{name}.md", meta.language);
        let markdown = self
            .env
            .get_template(&template)
            .and_then(|t| t.render(minijinja::context! { r => r.clone() }))
            .map_err(|e| template_error(&template, &e))?;
        match format {
            Format::Markdown => Ok(markdown.into_bytes()),
            Format::Pdf => crate::pdf::pdf(
                meta,
                &markdown,
                &self.frame_typ,
                &self.link_hosts,
                self.part_bytes,
            ),
            Format::Html => {
                let body = html_of(&markdown, &self.link_hosts)?;
                let title = title_of(&markdown);
                let title = title.as_str();
                // The frame's policy names its own style by hash, so it is rendered
                // first with a mark where the policy goes, and the mark is replaced.
                let html = self
                    .env
                    .get_template("frame.html")
                    .and_then(|t| {
                        t.render(minijinja::context! {
                            r => r, lang => meta.language, title => title, body => body,
                            csp => POLICY_MARK,
                        })
                    })
                    .map_err(|e| template_error("frame.html", &e))?;
                let policy = html_policy(html.as_bytes(), false);
                Ok(html.replace(POLICY_MARK, &policy).into_bytes())
            }
        }
    }
}

/// Where the frame's `{{ csp }}` goes, until the style it allows is known.
const POLICY_MARK: &str = "hjul-policy-mark-8c1d";

/// The policy an HTML report is shown under: nothing but its own `<style>` elements,
/// each by its SHA-256, so no other style (one a goal's title might try to bring) and
/// nothing else at all applies: no script, no picture, no font from elsewhere, no form.
/// `header`: for the HTTP header (which also says no page may frame it; a `<meta>`
/// policy cannot say that).
pub fn html_policy(html: &[u8], header: bool) -> String {
    use sha2::Digest;
    let text = String::from_utf8_lossy(html);
    let mut hashes = Vec::new();
    let mut rest: &str = &text;
    while let Some(open) = rest.find("<style") {
        let Some(start) = rest[open..].find('>').map(|gt| open + gt + 1) else {
            break;
        };
        let Some(len) = rest[start..].find("</style>") else {
            break;
        };
        let digest = sha2::Sha256::digest(&rest.as_bytes()[start..start + len]);
        hashes.push(format!("'sha256-{}'", base64(&digest)));
        rest = &rest[start + len..];
    }
    let styles = if hashes.is_empty() {
        "'none'".to_owned()
    } else {
        hashes.join(" ")
    };
    let framing = if header {
        " frame-ancestors 'none';"
    } else {
        ""
    };
    format!("default-src 'none'; style-src {styles};{framing} base-uri 'none'; form-action 'none'")
}

/// Standard base64 with padding, as CSP's hashes are written.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((v >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A document's title: its first `# ` heading, as text (a name's escapes taken off).
pub(crate) fn title_of(markdown: &str) -> String {
    let heading = markdown
        .lines()
        .find_map(|l| l.strip_prefix("# "))
        .unwrap_or("");
    let mut out = String::with_capacity(heading.len());
    let mut chars = heading.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek().is_some_and(char::is_ascii_punctuation) {
            continue;
        }
        out.push(c);
    }
    out
}

/// The name of the auto-escape that writes a value as Markdown text.
const MARKDOWN: &str = "markdown";

/// Text from the record (a goal's title, a unit's name, a theme, an indicator's name) as
/// Markdown that reads as that text and nothing else: every character Markdown could
/// read as structure inline is escaped (links, images, emphasis, code, raw HTML,
/// entities, table cells), a line break is a space (a value never starts a line of its
/// own), and the ends are trimmed (no indented code, no hard break). Where a value may
/// stand at the start of a line, what would start a list, a quotation, a heading or a
/// rule there is escaped too. So no record can add a link, an image, a block the report's
/// layout cannot nest, or a chart.
pub(crate) fn markdown_text(text: &str) -> String {
    let text = text.trim();
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    // The leading digits of `1.` or `1)`, a list's marker at a line's start.
    let digits = text.chars().take_while(char::is_ascii_digit).count();
    for (i, (at, c)) in text.char_indices().enumerate() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '!' | '|' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            // An entity (`&amp;`, `&#60;`) only: `Børn & Unge` stays as it is.
            '&' if text[at + 1..]
                .chars()
                .next()
                .is_some_and(|n| n.is_ascii_alphanumeric() || n == '#') =>
            {
                out.push('\\');
                out.push(c);
            }
            '-' | '+' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')'
                if i == digits
                    && digits > 0
                    && text[digits + 1..]
                        .chars()
                        .next()
                        .is_none_or(char::is_whitespace) =>
            {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A chart's data, as a template's ```` ```chart ```` block holds it: markup of the
/// report's own (its text is JSON, read by the chart drawer, never as Markdown).
#[derive(Debug, Clone)]
pub struct ChartData(pub String);

impl serde::Serialize for ChartData {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if minijinja::value::serializing_for_value() {
            Value::from_safe_string(self.0.clone()).serialize(s)
        } else {
            s.serialize_str(&self.0)
        }
    }
}

/// The Markdown as HTML (tables on), each chart drawn inline as SVG. Raw HTML in the
/// Markdown is written as text: what a name holds never becomes markup.
fn html_of(markdown: &str, link_hosts: &[String]) -> Result<String, ReportError> {
    use pulldown_cmark::{Event, html};
    let events = crate::chart::pieces(markdown, link_hosts)?
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use pulldown_cmark::{Event, Parser, Tag};

    #[test]
    fn the_html_policy_allows_the_reports_own_style_by_its_hash_and_nothing_else() {
        // sha256("") and sha256("abc"), as CSP writes them.
        assert_eq!(
            html_policy(b"<style></style>", false),
            "default-src 'none'; style-src 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='; base-uri 'none'; form-action 'none'"
        );
        let two = html_policy(
            b"<style media=\"print\">abc</style><p>x</p><style></style>",
            true,
        );
        assert!(
            two.contains("'sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=' 'sha256-47DEQ"),
            "{two}"
        );
        assert!(two.contains("frame-ancestors 'none'") && !two.contains("unsafe"));
        assert!(html_policy(b"<p>no style</p>", true).contains("style-src 'none'"));
    }

    /// What Markdown reads `line` as: the tags it opens, and its text.
    fn read(line: &str) -> (Vec<String>, String) {
        let mut tags = Vec::new();
        let mut text = String::new();
        for e in Parser::new_ext(line, pulldown_cmark::Options::ENABLE_TABLES) {
            match e {
                Event::Start(Tag::Paragraph) => {}
                Event::Start(t) => tags.push(format!("{t:?}")),
                Event::Text(t) | Event::Code(t) => text.push_str(&t),
                Event::Html(t) | Event::InlineHtml(t) => tags.push(format!("html {t}")),
                _ => {}
            }
        }
        (tags, text)
    }

    /// Whatever a value holds, at a line's start or inside one, Markdown reads it as the
    /// value's own words and opens nothing.
    #[test]
    fn a_value_is_read_as_its_own_words_and_nothing_else() {
        for value in [
            "[Klik her](javascript:alert(1)) ![b](http://127.0.0.1:9/b.png)",
            "> > > > > > > > > > > > > > > > citat",
            "- - - - - - - - - - - - - - - - liste",
            "* * *",
            "1. punkt",
            "2) punkt",
            "```chart",
            "~~~",
            "# Overskrift",
            "<b>fed</b> &amp; <script>x</script>",
            "*skrå* __fed__ `kode` ~~streg~~",
            "<http://example.org>",
            "a | b | c",
            "Titel\\",
            "===",
            "+ plus",
            "    indrykket",
        ] {
            let written = markdown_text(value);
            for (place, line) in [
                ("start", written.clone()),
                ("inside", format!("Tema: {written}")),
                ("list item", format!("1. {written}")),
            ] {
                let (tags, text) = read(&line);
                let expected = match place {
                    "start" | "list item" => value.trim().to_owned(),
                    _ => format!("Tema: {}", value.trim()),
                };
                let tags: Vec<&String> = tags
                    .iter()
                    .filter(|t| !t.starts_with("List") && !t.starts_with("Item"))
                    .collect();
                assert!(tags.is_empty(), "{value:?} at the {place}: {tags:?}");
                assert_eq!(text, expected, "{value:?} at the {place}: {line:?}");
            }
        }
        // Numbers and dates are left as they are.
        assert_eq!(markdown_text("86.1"), "86.1");
        assert_eq!(markdown_text("2026-04-10"), "2026-04-10");
        assert_eq!(markdown_text("a\nb"), "a b");
        assert_eq!(markdown_text("Børn & Unge"), "Børn & Unge");
    }

    /// A template's values are escaped; its own text, the filters' and the charts' data
    /// are not.
    #[test]
    fn a_template_writes_values_as_text_and_its_own_markup_as_markup() {
        let mut templates = Templates::load(None).unwrap();
        templates
            .env
            .add_template(
                "test.md",
                "**{{ name }}** [hjem](https://kommune.dk) {{ n }} {{ none }}|{{ chart }}|{{ name|cell }}",
            )
            .unwrap();
        #[derive(serde::Serialize)]
        struct V {
            name: &'static str,
            n: f64,
            none: Option<i32>,
            chart: ChartData,
        }
        let v = Value::from(minijinja::value::Serde(V {
            name: "[x](y) | z",
            n: 86.1,
            none: None,
            chart: ChartData("{\"a\":[1]}".into()),
        }));
        let out = templates
            .env
            .get_template("test.md")
            .unwrap()
            .render(&v)
            .unwrap();
        assert_eq!(
            out,
            "**\\[x\\](y) \\| z** [hjem](https://kommune.dk) 86.1 |{\"a\":[1]}|\\[x\\](y) \\| z"
        );
    }
}
