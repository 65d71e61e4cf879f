//! The quality report (kvalitetsrapporten) of a cycle: gathered from the store
//! ([`model::build`]) and written out from templates the municipality can change
//! ([`render::Templates`]), as Markdown, HTML or PDF.

pub mod chart;
pub mod model;
pub mod pdf;
pub mod render;
pub mod sheet;

pub use model::{Report, Request, Scope, build};
pub use render::{Format, Templates};
pub use sheet::{Sheet, build_sheet};

/// Records a department milestone. `report_final` goes with the final report: the
/// department's report of this moment, made now and kept with the milestone in one
/// transaction, never changed after. Returns the final report's SHA-256.
pub async fn record_milestone(
    store: &hjul_store::Store,
    templates: &Templates,
    (year, milestone, on): (i32, hjul_wheel::Deadline, chrono::NaiveDate),
    themes: Option<Vec<String>>,
    stamp: &hjul_store::Stamp,
) -> Result<Option<String>, ReportError> {
    // Themes typed for the final report are refused before it is made, not dropped.
    hjul_store::check_themes(milestone, themes.as_deref())?;
    if milestone != hjul_wheel::Deadline::ReportFinal {
        store
            .record_milestone(year, milestone, on, themes, stamp)
            .await?;
        return Ok(None);
    }
    // A milestone the rules refuse is refused by the store below; the report made for
    // it is then dropped.
    let report = final_report(store, year, on, stamp.today).await?;
    let file = final_file(templates, &report)?;
    let hash = store.record_report_final(year, on, file, stamp).await?;
    Ok(Some(hash))
}

/// The department's report of cycle `year` as the final one, `report_final` met on
/// `on`, made on `today` (in Danish, the committee's language).
pub async fn final_report(
    store: &hjul_store::Store,
    year: i32,
    on: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> Result<Report, ReportError> {
    build(
        store,
        &Request {
            cycle: year,
            scope: Scope::Department,
            language: hjul_wheel::Language::Da,
            today,
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
        language: report.language.to_owned(),
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
    #[error("the report template {name}: {message}")]
    Template { name: String, message: String },
}
