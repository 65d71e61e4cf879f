//! The report as PDF, laid out in-process by Typst (pinned, fonts built in): no browser,
//! no network, and the same bytes for the same report, as its date and identifier come
//! from the report, never from the clock.
//!
//! The report's Markdown is turned into Typst markup, every piece of text as a Typst
//! string, so nothing a name holds is read as markup; the frame (`frame.typ`) places it.
//!
//! A long report is laid out in parts, one after another, and its pages put together
//! into one document before the PDF is written: Typst keeps everything it laid out until
//! a layout ends (2–3 MiB a page of tables), so laid out whole, a department's appendix
//! took gigabytes. In parts it holds one part's layout and the finished pages.

use std::ops::Range;
use std::sync::LazyLock;

use chrono::Datelike;
use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use crate::chart::Piece;
use typst::diag::{FileError, FileResult, SourceDiagnostic};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{DiagSpan, DiagSpanKind, FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World, WorldExt};
use typst_layout::PagedDocument;

use crate::{Report, ReportError};

/// The fonts built in (Libertinus Serif, New Computer Modern, DejaVu Sans Mono), read
/// once.
static FONTS: LazyLock<(LazyHash<FontBook>, Vec<Font>)> = LazyLock::new(|| {
    let fonts: Vec<Font> = typst_assets::fonts()
        .flat_map(|data| Font::iter(Bytes::new(data)))
        .collect();
    (LazyHash::new(FontBook::from_fonts(&fonts)), fonts)
});

static LIBRARY: LazyLock<LazyHash<Library>> = LazyLock::new(|| LazyHash::new(Library::default()));

/// One part of a document as Typst source, and where in it the report's own text is: an
/// error there is the text's, and is named by it, not blamed on the frame.
struct Part {
    source: Source,
    text_at: Range<usize>,
}

/// The document's parts; Typst lays out `main`.
struct ReportWorld {
    parts: Vec<Part>,
    main: usize,
    today: Datetime,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.0
    }

    fn main(&self) -> FileId {
        self.parts[self.main].source.id()
    }

    // The document's own parts, and no other file.
    fn source(&self, id: FileId) -> FileResult<Source> {
        self.parts
            .iter()
            .find(|p| p.source.id() == id)
            .map(|p| p.source.clone())
            .ok_or(FileError::AccessDenied)
    }

    // A report reads no file: the frame cannot reach the disk or the network.
    fn file(&self, _id: FileId) -> FileResult<Bytes> {
        Err(FileError::AccessDenied)
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.1.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        Some(self.today)
    }
}

/// What a PDF says of itself: its language, its date, a stable identifier, and whether
/// it is a page or two (a data sheet) rather than a report with a title page.
pub struct Meta {
    pub language: &'static str,
    pub made_on: chrono::NaiveDate,
    pub ident: String,
    pub compact: bool,
}

impl Meta {
    pub fn of(report: &Report) -> Self {
        Self {
            language: report.language,
            made_on: report.made_on_iso,
            ident: format!("hjul-report-{}-{}", report.cycle, report.scope),
            compact: false,
        }
    }
}

/// Markdown up to about this long is laid out whole; a longer document in parts of about
/// this much (a part's layout holds 2–3 MiB a page; a unit's page of the appendix is
/// about 1 KiB of Markdown).
pub const PART_BYTES: usize = 24 * 1024;

/// A document (whose Markdown is `markdown`) laid out in `frame` as PDF, in parts of
/// about `part_bytes` of Markdown (see [`PART_BYTES`]).
pub fn pdf(
    meta: &Meta,
    markdown: &str,
    frame: &str,
    link_hosts: &[String],
    part_bytes: usize,
) -> Result<Vec<u8>, ReportError> {
    let made = meta.made_on;
    let today = Datetime::from_ymd(
        made.year(),
        u8::try_from(made.month()).unwrap_or(1),
        u8::try_from(made.day()).unwrap_or(1),
    )
    .ok_or_else(|| ReportError::Layout(format!("{made} is not a day Typst knows")))?;
    let title = crate::render::title_of(markdown);
    // A frame of a municipality's own that does not take `pages` (one made before hjul
    // laid reports out in parts) would number each part's pages as if they were all:
    // such a frame gets the report whole, as before, whatever that costs.
    let part_bytes = if names(frame, "pages") {
        part_bytes
    } else {
        usize::MAX
    };
    let bodies = parts(markdown, part_bytes)
        .into_iter()
        .map(|at| typst_markup(&markdown[at], link_hosts))
        .collect::<Result<Vec<_>, _>>()?;
    let head = Head {
        meta,
        title: &title,
        frame,
        whole: bodies.len() == 1,
    };
    let mut world = ReportWorld {
        parts: Vec::new(),
        main: 0,
        today,
    };
    let document = if head.whole {
        world.parts = vec![head.part(0, &bodies[0], Numbers::Own)?];
        lay_out(&world)?
    } else {
        // Each part's pages are numbered on from the part before, of the pages in all,
        // which only the layout tells: the parts are laid out once to count their pages
        // and again to keep them.
        let mut counted = Vec::with_capacity(bodies.len());
        for (k, body) in bodies.iter().enumerate() {
            world.parts = vec![head.part(k, body, Numbers::Own)?];
            counted.push(lay_out(&world)?.pages().len());
        }
        let all = counted.iter().sum();
        let mut parts = Vec::with_capacity(bodies.len());
        let mut first = 1;
        for (k, (body, pages)) in bodies.iter().zip(counted).enumerate() {
            parts.push(head.part(k, body, Numbers::From { first, all })?);
            first += pages;
        }
        world.parts = parts;
        let mut pages = typst::ecow::EcoVec::new();
        let mut info = None;
        for k in 0..world.parts.len() {
            world.main = k;
            let part = lay_out(&world)?;
            info.get_or_insert_with(|| typst::model::Document::info(&part).clone());
            pages.extend(part.pages().iter().cloned());
        }
        PagedDocument::new(pages, info.unwrap_or_default())
    };
    let options = |standards: typst_pdf::PdfStandards| typst_pdf::PdfOptions {
        // The same report gets the same identifier, so the same bytes.
        ident: Smart::Custom(meta.ident.clone()),
        creator: Smart::Custom(Some("hjul".to_owned())),
        // Tagged (Typst's default): headings, paragraphs, lists, tables with their
        // header cells, and each chart with its alternative text, in reading order.
        tagged: true,
        standards,
        ..typst_pdf::PdfOptions::default()
    };
    // Published documents are to be accessible (webtilgængelighedsloven): the report
    // is written to PDF/UA-1 and checked by Typst while it is written. Should some text
    // keep it from conforming, the report is still written, tagged, rather than not at
    // all: no input may stop the wheel.
    let accessible = typst_pdf::PdfStandards::new(&[typst_pdf::PdfStandard::Ua_1])
        .ok()
        .and_then(|standards| typst_pdf::pdf(&document, &options(standards)).ok());
    match accessible {
        Some(bytes) => Ok(bytes),
        None => typst_pdf::pdf(&document, &options(typst_pdf::PdfStandards::default()))
            .map_err(|errors| typst_error(&errors, &world)),
    }
}

/// How a part's pages are numbered: as its own (a document laid out whole, or a part
/// being counted), or on from `first`, of `all`.
#[derive(Clone, Copy)]
enum Numbers {
    Own,
    From { first: usize, all: usize },
}

/// What every part of a document is laid out with.
struct Head<'a> {
    meta: &'a Meta,
    title: &'a str,
    frame: &'a str,
    whole: bool,
}

impl Head<'_> {
    /// Part `k` as Typst source: the names the frame is given (`pages`: the pages in
    /// all, when Typst cannot count them in a part), the part's markup as `body`, and
    /// the frame.
    fn part(&self, k: usize, body: &str, numbers: Numbers) -> Result<Part, ReportError> {
        let made = self.meta.made_on;
        let (first, pages) = match numbers {
            Numbers::Own => (1, "none".to_owned()),
            Numbers::From { first, all } => (first, all.to_string()),
        };
        let mut head = format!(
            "#let lang = {}\n#let compact = {}\n#let title = {}\n#let date = datetime(year: {}, month: {}, day: {})\n#let pages = {pages}\n#let body = [\n",
            string(self.meta.language),
            self.meta.compact,
            string(self.title),
            made.year(),
            made.month(),
            made.day(),
        );
        if first > 1 {
            head.push_str(&format!("#counter(page).update({first})\n"));
        }
        let text_at = head.len()..head.len() + body.len();
        let name = if self.whole {
            "report.typ".to_owned()
        } else {
            // Each part its own file, so no two parts' elements are taken for one.
            format!("report-{k}.typ")
        };
        let id = RootedPath::new(
            VirtualRoot::Project,
            VirtualPath::new(&name).map_err(|e| ReportError::Layout(format!("{e:?}")))?,
        )
        .intern();
        Ok(Part {
            source: Source::new(id, format!("{head}{body}\n]\n{}", self.frame)),
            text_at,
        })
    }
}

/// The world's main part laid out.
fn lay_out(world: &ReportWorld) -> Result<PagedDocument, ReportError> {
    let compiled = typst::compile::<PagedDocument>(world).output;
    // Typst memoises what it laid out, for the next compile of a similar document (an
    // editor's). A service makes each report (and each part) once: without this the
    // cache would grow with every part, and with every report for as long as the
    // service runs.
    typst::comemo::evict(0);
    compiled.map_err(|errors| typst_error(&errors, world))
}

/// Where a long document's Markdown is cut into parts: once a part holds `bytes`, before
/// the next `---` (which starts a page anyway, so it is left out) or heading of level 2
/// or 3 (which then starts a page), outside any list, quotation or table. A document
/// shorter than `bytes` is one part; so is a document with nowhere to cut.
pub fn parts(markdown: &str, bytes: usize) -> Vec<Range<usize>> {
    let events = Parser::new_ext(markdown, Options::ENABLE_TABLES).into_offset_iter();
    // A link defined by reference (`[ref]: URL`, in a template of a municipality's own)
    // holds in the whole document, and would be lost in a part without its definition.
    if events.reference_definitions().iter().next().is_some() {
        let whole = 0..markdown.len();
        return vec![whole];
    }
    let mut cuts = Vec::new();
    let mut start = 0_usize;
    let mut depth = 0_usize;
    for (event, at) in events {
        let top = depth == 0;
        match &event {
            Event::Start(_) => depth += 1,
            Event::End(_) => depth = depth.saturating_sub(1),
            _ => {}
        }
        if !top || at.start < start.saturating_add(bytes) {
            continue;
        }
        // Nothing but space since the last cut (a heading right after a rule): no part.
        let something = !markdown[start..at.start].trim().is_empty();
        match event {
            Event::Rule => {
                if something {
                    cuts.push(start..at.start);
                }
                start = at.end;
            }
            Event::Start(Tag::Heading {
                level: HeadingLevel::H2 | HeadingLevel::H3,
                ..
            }) if something => {
                cuts.push(start..at.start);
                start = at.start;
            }
            _ => {}
        }
    }
    // What follows the last cut is a part of its own unless it is nothing but space
    // (after a `---` at the end, which would start an empty page).
    if cuts.is_empty() || !markdown[start..].trim().is_empty() {
        cuts.push(start..markdown.len());
    }
    cuts
}

/// Whether Typst source `code` names `name` (not as part of a longer name).
fn names(code: &str, name: &str) -> bool {
    let part_of_name = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    code.match_indices(name).any(|(at, _)| {
        !code[..at].chars().next_back().is_some_and(part_of_name)
            && !code[at + name.len()..]
                .chars()
                .next()
                .is_some_and(part_of_name)
    })
}

/// What Typst refused, named by where: in the report's text (then by the words nearest
/// to it, so the secretariat can find the theme, title or note that did it), or in the
/// frame (a mistake in `frame.typ`).
fn typst_error(errors: &[SourceDiagnostic], world: &ReportWorld) -> ReportError {
    let message = errors
        .iter()
        .map(|e| e.message.to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let in_text = errors
        .iter()
        .flat_map(|e| std::iter::once(e.span).chain(e.trace.iter().map(|t| DiagSpan::from(t.span))))
        .find_map(|span| {
            let id = match span.get() {
                DiagSpanKind::Number { id, .. } | DiagSpanKind::Range { id, .. } => id,
                DiagSpanKind::Detached => return None,
            };
            let part = world.parts.iter().find(|p| p.source.id() == id)?;
            let at = world.range(span)?;
            part.text_at.contains(&at.start).then_some((part, at))
        });
    match in_text {
        Some((part, at)) => ReportError::Text {
            near: words_near(
                &part.source.text()[part.text_at.clone()],
                at.start - part.text_at.start,
            ),
            message,
        },
        None => ReportError::Template {
            name: "frame.typ".to_owned(),
            message,
        },
    }
}

/// The first piece of text at or after `at` in the report's markup (else the last
/// before it), as the reader wrote it, cut to a line.
fn words_near(markup: &str, at: usize) -> String {
    let literal = markup
        .get(at..)
        .and_then(|rest| rest.find("#\"").map(|i| at + i))
        .or_else(|| markup.get(..at).and_then(|before| before.rfind("#\"")));
    let Some(start) = literal else {
        return String::new();
    };
    let mut words = String::new();
    let mut chars = markup[start + 2..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => words.extend(chars.next()),
            c => words.push(c),
        }
    }
    hjul_wheel::limits::clip(words.trim(), 80)
}

/// `text` as a Typst string literal.
fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A table of at most this many rows is kept on one page with the chart after it.
const KEPT_ROWS: usize = 25;

/// The report's Markdown (CommonMark with tables) as Typst markup. Text becomes string
/// literals (`#"…"`), so a `#`, `*` or `$` in a unit's name is only ever text; raw HTML
/// is text too. A chart is its SVG drawing, which Typst lays out as vector graphics.
pub fn typst_markup(markdown: &str, link_hosts: &[String]) -> Result<String, ReportError> {
    let mut out = String::new();
    // Per open list: numbered or not.
    let mut lists: Vec<bool> = Vec::new();
    // The last table, while nothing but a chart may follow it: where it starts in `out`
    // and how many rows it has. A chart right after a short table is kept on its page.
    let mut table: Option<(usize, usize)> = None;
    let mut last_table: Option<(usize, usize)> = None;
    // Where the last heading starts, until a table or a chart follows it: a chart is
    // kept with its table and with the heading and words above them.
    let mut heading_at: Option<usize> = None;
    for piece in crate::chart::pieces(markdown, link_hosts)? {
        let event = match piece {
            Piece::Event(event) => event,
            Piece::Chart(drawing) => {
                let chart = format!(
                    "image(bytes({}), format: \"svg\", width: {}%, alt: {})",
                    string(&drawing.svg()),
                    drawing.width_percent(),
                    string(drawing.title())
                );
                heading_at = None;
                match last_table.take() {
                    Some((at, rows)) if rows <= KEPT_ROWS => {
                        out.insert_str(at, "\n#block(breakable: false)[");
                        out.push_str(&format!("#{chart}]\n"));
                    }
                    _ => out.push_str(&format!("\n#block(breakable: false, {chart})\n")),
                }
                continue;
            }
        };
        match &event {
            Event::End(TagEnd::Table) => {}
            Event::Start(Tag::TableRow | Tag::TableHead) => {
                if let Some((_, rows)) = table.as_mut() {
                    *rows += 1;
                }
            }
            _ if table.is_none() => last_table = None,
            _ => {}
        }
        match event {
            Event::Start(tag) => match tag {
                Tag::Heading { level, .. } => {
                    heading_at = Some(out.len());
                    let n = match level {
                        HeadingLevel::H1 => 1,
                        HeadingLevel::H2 => 2,
                        HeadingLevel::H3 => 3,
                        HeadingLevel::H4 => 4,
                        HeadingLevel::H5 => 5,
                        HeadingLevel::H6 => 6,
                    };
                    out.push('\n');
                    out.push_str(&"=".repeat(n));
                    out.push(' ');
                }
                Tag::Strong => out.push_str("#strong["),
                Tag::BlockQuote(_) => out.push_str("\n#quote(block: true)[\n"),
                Tag::Emphasis => out.push_str("#emph["),
                Tag::List(start) => {
                    lists.push(start.is_some());
                    out.push('\n');
                }
                Tag::Item => {
                    out.push_str(&"  ".repeat(lists.len().saturating_sub(1)));
                    out.push_str(if lists.last() == Some(&true) {
                        "+ "
                    } else {
                        "- "
                    });
                }
                Tag::Table(aligns) => {
                    table = Some((heading_at.take().unwrap_or(out.len()), 0));
                    out.push_str(&format!("\n#table(columns: {},\n", aligns.len()));
                }
                Tag::TableHead => out.push_str("table.header("),
                Tag::TableCell => out.push('['),
                Tag::Link { dest_url, .. } => {
                    out.push_str(&format!("#link({})[", string(&dest_url)));
                }
                _ => {}
            },
            Event::End(tag) => match tag {
                TagEnd::Heading(_) => out.push('\n'),
                TagEnd::Paragraph => out.push_str("\n\n"),
                TagEnd::Strong | TagEnd::Emphasis | TagEnd::Link => out.push(']'),
                TagEnd::BlockQuote(_) => out.push_str("]\n\n"),
                TagEnd::List(_) => {
                    lists.pop();
                    out.push('\n');
                }
                TagEnd::Item => out.push('\n'),
                TagEnd::Table => {
                    out.push_str(")\n\n");
                    last_table = table.take();
                }
                TagEnd::TableHead => out.push_str("),\n"),
                TagEnd::TableRow => out.push('\n'),
                TagEnd::TableCell => out.push_str("], "),
                _ => {}
            },
            Event::Text(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push('#');
                out.push_str(&string(&t));
            }
            Event::Code(t) => out.push_str(&format!("#raw({})", string(&t))),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push_str("#linebreak()"),
            // The template's `---`: a new page (the report's title page, its appendix).
            Event::Rule => out.push_str("\n#pagebreak(weak: true)\n"),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: &str = include_str!("../../../config/report/frame.typ");

    #[test]
    fn markup_never_reads_text_as_code() {
        let m = typst_markup(
            "# Titel\n\nBørnehuset *Sol* #1 \"$x\" \\ [a]\n\n| A | B |\n|---|---|\n| x | y |\n",
            &[],
        )
        .unwrap_or_default();
        assert!(m.contains(r#"= #"Titel""#), "{m}");
        assert!(
            m.contains(r##"#"Børnehuset "#emph[#"Sol"]#" #1 \"$x\" \\ "#"["#"a"#"]""##),
            "{m}"
        );
        assert!(
            m.contains("#table(columns: 2,\ntable.header([#\"A\"], [#\"B\"], ),"),
            "{m}"
        );
    }

    /// A short table and the chart after it are one block no page breaks; a long table
    /// may break, its chart after it; the template's `---` starts a page.
    #[test]
    fn a_chart_stays_with_its_table_and_a_rule_starts_a_page() {
        let chart = serde_json::to_string(&crate::chart::Drawing::Patterns(
            crate::chart::tests::chart("Dagtilbud"),
        ))
        .unwrap_or_default();
        let table = |rows: usize| {
            let mut t = "| A | B |\n|---|---|\n".to_owned();
            for _ in 0..rows {
                t.push_str("| x | y |\n");
            }
            t
        };
        let short = format!(
            "# R\n\n---\n\n## S\n\n{}\n```chart\n{chart}\n```\n",
            table(3)
        );
        let m = typst_markup(&short, &[]).unwrap_or_default();
        assert!(m.contains("#pagebreak(weak: true)"), "{m}");
        // The section's heading and words, its table and its chart: one block.
        let kept = m
            .find("#block(breakable: false)[\n== #\"S\"")
            .unwrap_or(usize::MAX);
        let at_table = m.find("#table(").unwrap_or(0);
        let image = m.find("#image(bytes(").unwrap_or(0);
        assert!(kept < at_table && at_table < image, "{m}");
        let long = format!("## S\n\n{}\n```chart\n{chart}\n```\n", table(40));
        let m = typst_markup(&long, &[]).unwrap_or_default();
        assert!(!m.contains("#block(breakable: false)["), "{m}");
        assert!(m.contains("#block(breakable: false, image("), "{m}");
        // Text between the table and the chart: the chart stands alone.
        let apart = format!("{}\nOm tallene.\n\n```chart\n{chart}\n```\n", table(3));
        assert!(
            !typst_markup(&apart, &[])
                .unwrap_or_default()
                .contains("#block(breakable: false)[")
        );
    }

    /// A long document is cut before a `---` or a heading once a part is long enough,
    /// never inside a list, a quotation or a table, and a rule where it is cut is left
    /// out (the next part starts a page anyway).
    #[test]
    fn a_long_document_is_cut_where_a_page_may_start() {
        let md = "# T\n\nwords words\n\n---\n\n## A\n\n- x\n\n  ## in a list\n\n> ## quoted\n\n| a |\n|---|\n| b |\n\n### B\n\ntext\n\n---\n\n";
        let cut = |bytes| {
            parts(md, bytes)
                .into_iter()
                .map(|r| md[r].trim().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(cut(md.len() * 2), vec![md.trim().to_owned()]);
        let each = cut(1);
        assert_eq!(each.len(), 3, "{each:#?}");
        assert_eq!(each[0], "# T\n\nwords words");
        assert!(
            each[1].starts_with("## A") && each[1].ends_with("| b |"),
            "{each:#?}"
        );
        // The rule at the end starts no empty page of its own.
        assert_eq!(each[2], "### B\n\ntext");
        // A setext heading is cut before its words; a rule or heading in fenced code,
        // none; a document with a link defined by reference, nowhere.
        let md = "# T\n\nwords\n\nSection\n---\n\n```\n---\n## code\n```\n\n## C\n\nend\n";
        let each: Vec<&str> = parts(md, 1).into_iter().map(|r| md[r].trim()).collect();
        assert_eq!(
            each,
            [
                "# T\n\nwords",
                "Section\n---\n\n```\n---\n## code\n```",
                "## C\n\nend"
            ]
        );
        let md = "# T\n\n[a][r]\n\n---\n\n## B\n\n[r]: https://example.org\n";
        let whole = 0..md.len();
        assert_eq!(parts(md, 1), vec![whole]);
    }

    /// A frame names `pages` only as itself.
    #[test]
    fn a_frame_that_takes_the_pages_in_all_is_known() {
        assert!(names(FRAME, "pages"));
        assert!(names("#let x = pages", "pages"));
        assert!(!names(
            "#set page(numbering: \"1 / 1\") // page-pages, my_pages",
            "pages"
        ));
    }

    /// Text whose shape the layout cannot take (here quotations nested deeper than
    /// Typst goes) is named by its own words, not blamed on the frame.
    #[test]
    fn text_the_layout_cannot_take_is_named_by_its_words() {
        let deep = format!("# Rapport\n\n{}Tema om sprog\n", "> ".repeat(80));
        let meta = Meta {
            language: "da",
            made_on: chrono::NaiveDate::from_ymd_opt(2027, 8, 20).unwrap_or_default(),
            ident: "t".into(),
            compact: false,
        };
        let refused = pdf(&meta, &deep, FRAME, &[], PART_BYTES);
        match refused {
            Err(ReportError::Text { near, message }) => {
                assert_eq!(near, "Tema om sprog", "{message}");
            }
            other => panic!("{:?}", other.map(|b| b.len())),
        }
        // The same in the third part of a document laid out in parts.
        let long = format!("# Rapport\n\n---\n\n## A\n\nord\n\n## B\n\n{deep}");
        match pdf(&meta, &long, FRAME, &[], 1) {
            Err(ReportError::Text { near, message }) => {
                assert_eq!(near, "Tema om sprog", "{message}");
            }
            other => panic!("{:?}", other.map(|b| b.len())),
        }
    }

    /// A unit named with everything Typst reads as code still lays out, as text.
    #[test]
    fn any_name_lays_out_as_text() {
        let report = Report {
            language: "da",
            cycle: 2025,
            years: "2025–2027".into(),
            scope: "Børn & Unge".into(),
            starts: "01.10.2025".into(),
            ends: "30.09.2027".into(),
            made_on: "20.08.2027".into(),
            made_on_iso: chrono::NaiveDate::from_ymd_opt(2027, 8, 20).unwrap_or_default(),
            fin: false,
            definition: "viborg-2025".into(),
            phases: Vec::new(),
            milestones: Vec::new(),
            themes: Vec::new(),
            patterns: Vec::new(),
            dialogues: crate::model::Dialogues {
                due: 0,
                held: 0,
                first: None,
                last: None,
                by_area: Vec::new(),
                notes: Vec::new(),
            },
            agreements: crate::model::Agreements {
                due: 0,
                signed: 0,
                goals: 0,
                by_dimension: Vec::new(),
                by_kind: Vec::new(),
                indicators: Vec::new(),
            },
            midway: crate::model::Midway {
                due: 0,
                given: 0,
                average_score: None,
                by_grade: Vec::new(),
            },
            units: Vec::new(),
            appendix_left_out: None,
            appendix_max: crate::model::APPENDIX_UNITS,
        };
        let hostile =
            "# Rapport\n\n### #set text(size: 90pt) $x^2$ *) ] [ \\\" #{ panic() } <a> @b\n";
        // Whole, and in two parts (the heading starts the second).
        for bytes in [PART_BYTES, 1] {
            let pdf = pdf(&Meta::of(&report), hostile, FRAME, &[], bytes);
            assert!(pdf.is_ok_and(|b| b.starts_with(b"%PDF-")), "{bytes}");
        }
    }
}
