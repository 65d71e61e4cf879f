//! The quality report (kvalitetsrapporten) of a cycle: gathered from the store
//! ([`model::build`]) and written out from templates the municipality can change
//! ([`render::Templates`]), as Markdown, HTML or PDF.

pub mod chart;
pub mod model;
pub mod pdf;
pub mod render;
pub mod sheet;

pub use model::{Report, Request, Scope, build};
pub use render::{Format, Templates, html_policy};
pub use sheet::{Sheet, build_sheet};

/// The department's report of cycle `year` as the final one, `report_final` met on
/// `on`: dated by the milestone and showing the record as of that day (in Danish, the
/// committee's language), whenever it is made.
pub async fn final_report(
    store: &hjul_store::Store,
    year: i32,
    on: chrono::NaiveDate,
) -> Result<Report, ReportError> {
    build(
        store,
        &Request {
            cycle: year,
            scope: Scope::Department,
            language: hjul_wheel::Language::Da,
            today: on,
            fin: Some(on),
        },
    )
    .await
}

/// The final report as it is kept: its PDF and its Markdown.
pub fn final_file(
    templates: &Templates,
    report: &Report,
) -> Result<hjul_store::FinalReportFile, ReportError> {
    let pdf = templates.render(report, Format::Pdf)?;
    let markdown = String::from_utf8(templates.render(report, Format::Markdown)?)
        .map_err(|_| ReportError::MarkdownNotUtf8)?;
    Ok(hjul_store::FinalReportFile {
        pdf,
        markdown,
        language: hjul_wheel::Language::parse(report.language).unwrap_or_default(),
        made_on: report.made_on_iso,
    })
}

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cycle {0} has not been started, so there is nothing to report on")]
    NoCycle(i32),
    #[error("there is no unit {0}")]
    UnknownUnit(String),
    /// The Markdown template wrote bytes that are no text.
    #[error("the Markdown report is not UTF-8 text")]
    MarkdownNotUtf8,
    /// The wheel definition the cycle keeps cannot be read (a database edited by hand).
    #[error("the definition stored with cycle {year} cannot be read: {problem}")]
    StoredDefinition {
        year: i32,
        problem: hjul_wheel::ConfigError,
    },
    /// Typst could not be given the report (its own words, for the log).
    #[error("the PDF could not be laid out: {0}")]
    Layout(String),
    #[error(transparent)]
    Store(#[from] hjul_store::StoreError),
    #[error(transparent)]
    Cycle(#[from] hjul_wheel::calendar::NoCycle),
    /// Typst could not lay out the report's text near these words (a theme, title or
    /// note whose shape the layout cannot take, or the Markdown template's own text).
    #[error("the report's text could not be laid out near «{near}»: {message}")]
    Text { near: String, message: String },
    #[error("the report template {name}: {message}")]
    Template { name: String, message: String },
}
