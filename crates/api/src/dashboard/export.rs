//! The dashboard's downloads: the status (with the overview's filters), and a unit's
//! deadlines, as `.xlsx` or CSV.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use hjul_wheel::Text;

use super::pages::{filter_of, query, visible_rows};
use super::{Visitor, error_page};
use crate::AppState;
use crate::export::{Table, deadlines_table, status_table, to_csv, to_xlsx};
use crate::problem::Problem;

pub(super) fn download(table: &Table, file: &str, v: &Visitor) -> Result<Response, Problem> {
    let language = v.lang.language();
    let (body, content_type) = if file.ends_with(".xlsx") {
        (
            to_xlsx(table).map_err(|e| {
                tracing::error!(error = %e, "a workbook could not be written");
                Problem::new(
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the workbook could not be written",
                )
            })?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    } else if file.ends_with(".csv") {
        (
            to_csv(table, language).into_bytes(),
            "text/csv; charset=utf-8",
        )
    } else {
        return Err(Problem::not_found("no such file").text(Text::new("error.no_page")));
    };
    let mut r = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

/// `/export/status.xlsx`, `/export/overdue.csv`, … with the overview's filters.
pub async fn status(
    State(state): State<AppState>,
    v: Visitor,
    Path(file): Path<String>,
    uri: Uri,
) -> Response {
    let mut filter = filter_of(&query(&uri));
    let name = match file.as_str() {
        "status.xlsx" | "status.csv" => "status",
        "overdue.xlsx" | "overdue.csv" => {
            filter.overdue = true;
            "overdue"
        }
        _ => {
            return error_page(
                &state,
                v.lang,
                Some(&v),
                Problem::not_found("no such file").text(Text::new("error.no_page")),
            );
        }
    };
    let result = async {
        let rows = visible_rows(&state, &v, (&filter, hjul_app::View::Export)).await?;
        let mut table = status_table(&rows, v.lang.language());
        if name == "overdue" {
            table.name = state.words().word(v.lang, "export.overdue_sheet");
        }
        let stamp = state.today();
        let ext = if file.ends_with(".xlsx") {
            "xlsx"
        } else {
            "csv"
        };
        download(&table, &format!("{name}-{stamp}.{ext}"), &v)
    }
    .await;
    result.unwrap_or_else(|p| error_page(&state, v.lang, Some(&v), p))
}

/// `/units/{unit}/export/deadlines.xlsx` (or `.csv`).
pub async fn unit_deadlines(
    State(state): State<AppState>,
    v: Visitor,
    Path((unit_id, file)): Path<(String, String)>,
) -> Response {
    let result = async {
        if !matches!(file.as_str(), "deadlines.xlsx" | "deadlines.csv") {
            return Err(Problem::not_found("no such file").text(Text::new("error.no_page")));
        }
        let t = state
            .core()
            .timeline(&v.who, &unit_id, state.today())
            .await?;
        let table = deadlines_table(&t.unit.name, &t.deadlines, v.lang.language());
        let ext = if file.ends_with(".xlsx") {
            "xlsx"
        } else {
            "csv"
        };
        download(&table, &format!("{unit_id}-{}.{ext}", t.cycle), &v)
    }
    .await;
    result.unwrap_or_else(|p| error_page(&state, v.lang, Some(&v), p))
}

/// `/reports/2025/kvalitetsrapport-udkast.pdf` (or `.html`): a draft of the cycle's
/// report over the units the visitor sees; `/reports/2025/kvalitetsrapport.pdf`: the
/// final report as kept.
pub async fn report(
    State(state): State<AppState>,
    v: Visitor,
    Path((year, file)): Path<(String, String)>,
) -> Response {
    let result = async {
        let cycle: i32 = year
            .parse()
            .ok()
            .filter(|y| state.core().wheel().definition.cycle(*y).is_ok())
            .ok_or_else(|| Problem::not_found("no such cycle").text(Text::new("error.no_page")))?;
        match file.as_str() {
            "kvalitetsrapport.pdf" => crate::reports::kept(&state, cycle).await,
            "kvalitetsrapport-udkast.pdf" | "kvalitetsrapport-udkast.html" => {
                let format = if file.ends_with(".pdf") {
                    hjul_report::Format::Pdf
                } else {
                    hjul_report::Format::Html
                };
                crate::reports::draft(&state, &v.who, cycle, format, v.lang.language()).await
            }
            _ => Err(Problem::not_found("no such file").text(Text::new("error.no_page"))),
        }
    }
    .await;
    result.unwrap_or_else(|p| error_page(&state, v.lang, Some(&v), p))
}

/// `/units/{unit}/sheet/datablad.pdf` (or `.html`): the unit's data sheet for its
/// quality dialogue.
pub async fn sheet(
    State(state): State<AppState>,
    v: Visitor,
    Path((unit_id, file)): Path<(String, String)>,
) -> Response {
    let result = async {
        let format = match file.as_str() {
            "datablad.pdf" => hjul_report::Format::Pdf,
            "datablad.html" => hjul_report::Format::Html,
            _ => return Err(Problem::not_found("no such file").text(Text::new("error.no_page"))),
        };
        crate::reports::sheet(&state, &v.who, &unit_id, format, v.lang.language()).await
    }
    .await;
    result.unwrap_or_else(|p| error_page(&state, v.lang, Some(&v), p))
}
