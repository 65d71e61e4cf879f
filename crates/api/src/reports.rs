//! The quality report for the API and the dashboard alike: a draft over the units the
//! caller sees, made on request, and the final report as kept with `report_final`.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hjul_report::{Format, ReportError, Scope, Templates};
use hjul_wheel::Language;

use crate::AppState;
use crate::auth::Principal;
use crate::problem::Problem;

/// A report format by its name in a request: `pdf`, `html` or `md`.
pub(crate) fn format(name: &str) -> Result<Format, Problem> {
    match name {
        "pdf" => Ok(Format::Pdf),
        "html" => Ok(Format::Html),
        "md" => Ok(Format::Markdown),
        other => Err(Problem::bad_request(format!(
            "`{}` is not a report format: use pdf, html or md",
            hjul_wheel::limits::clip(other, 20)
        ))
        .field("format")),
    }
}

/// A draft of cycle `cycle`'s report over what `who` sees, as a download.
pub(crate) async fn draft(
    state: &AppState,
    who: &Principal,
    cycle: i32,
    format: Format,
    language: Language,
) -> Result<Response, Problem> {
    let scope = match who.visible() {
        None => Scope::Department,
        Some(units) => Scope::Units(units.clone()),
    };
    let report = hjul_report::build(
        state.store(),
        &hjul_report::Request {
            cycle,
            scope,
            language,
            today: state.today(),
            fin: None,
        },
    )
    .await?;
    let bytes = render(state, move |t| t.render(&report, format)).await?;
    let (content_type, ext) = media(format);
    Ok(download(
        bytes,
        content_type,
        &format!("kvalitetsrapport-{cycle}-udkast.{ext}"),
    ))
}

/// The data sheet of `unit` (one the caller sees) for its quality dialogue.
pub(crate) async fn sheet(
    state: &AppState,
    unit: &hjul_wheel::UnitId,
    format: Format,
    language: Language,
) -> Result<Response, Problem> {
    let sheet = hjul_report::build_sheet(state.store(), unit, language, state.today()).await?;
    let bytes = render(state, move |t| t.render_sheet(&sheet, format)).await?;
    let (content_type, ext) = media(format);
    Ok(download(
        bytes,
        content_type,
        &format!("datablad-{unit}.{ext}"),
    ))
}

/// How long a request waits for the report before it: then it is asked to come back.
const REPORT_WAIT: Duration = Duration::from_secs(30);

/// Writes a report off the request threads, one at a time. A department's PDF takes a
/// core for seconds and its layout a few hundred MiB (docs/benchmarks.md): two at once
/// on the request threads would stop every other page and answer, and many at once
/// could take the machine's memory. A request that waits more than [`REPORT_WAIT`] is
/// answered 503, with what to do.
async fn render<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&Templates) -> Result<T, ReportError> + Send + 'static,
) -> Result<T, Problem> {
    render_within(state, REPORT_WAIT, work).await
}

async fn render_within<T: Send + 'static>(
    state: &AppState,
    wait: Duration,
    work: impl FnOnce(&Templates) -> Result<T, ReportError> + Send + 'static,
) -> Result<T, Problem> {
    let busy = || {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            "another report is being made right now: try again in a minute",
        )
        .text(hjul_wheel::Text::new("report.busy"))
    };
    let _slot = tokio::time::timeout(wait, state.report_slot().acquire())
        .await
        .map_err(|_| busy())?
        .map_err(|_| busy())?;
    let st = state.clone();
    tokio::task::spawn_blocking(move || work(st.report_templates()))
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "the report's layout stopped");
            Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the report could not be made",
            )
        })?
        .map_err(Problem::from)
}

/// Records `report_final` of cycle `cycle` as met on `on`, with the department's report
/// of this moment kept beside it: laid out like any report (one at a time, off the
/// request threads), then written with the milestone in one transaction. Returns its
/// SHA-256.
pub(crate) async fn record_final(
    state: &AppState,
    (cycle, on): (i32, chrono::NaiveDate),
    stamp: &hjul_store::Stamp,
) -> Result<String, Problem> {
    let report = hjul_report::final_report(state.store(), cycle, on, stamp.today).await?;
    let file = render(state, move |t| hjul_report::final_file(t, &report)).await?;
    Ok(state
        .store()
        .record_report_final(cycle, on, file, stamp)
        .await?)
}

/// Cycle `cycle`'s final report as kept, as a download with its SHA-256 as `ETag`.
pub(crate) async fn kept(state: &AppState, cycle: i32) -> Result<Response, Problem> {
    let kept = state.store().final_report(cycle).await?.ok_or_else(|| {
        Problem::not_found(format!(
            "cycle {cycle} has no final report: it is kept when the secretariat records report_final"
        ))
        .text(hjul_wheel::Text::new("report.no_final").arg("cycle", cycle))
    })?;
    let mut response = download(
        kept.pdf,
        "application/pdf",
        &format!("kvalitetsrapport-{cycle}.pdf"),
    );
    if let Ok(tag) = HeaderValue::from_str(&format!("\"{}\"", kept.sha256)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    Ok(response)
}

/// A format's media type and file extension.
fn media(format: Format) -> (&'static str, &'static str) {
    match format {
        Format::Pdf => ("application/pdf", "pdf"),
        Format::Html => ("text/html; charset=utf-8", "html"),
        Format::Markdown => ("text/markdown; charset=utf-8", "md"),
    }
}

/// A report to read: shown in the browser (a PDF in its viewer), saved under `name`.
fn download(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let mut r = ([(header::CONTENT_TYPE, content_type)], bytes).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// While a report is being laid out, the next waits its turn; past the wait it is
    /// asked to come back, and once the first is done it is made.
    #[tokio::test]
    async fn a_report_waits_its_turn_and_past_the_wait_is_asked_to_come_back() {
        let dir = std::env::temp_dir().join(format!("hjul-api-slot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let store = hjul_store::Store::open(
            &hjul_store::Location::Sqlite(dir.join("hjul.db")),
            hjul_store::CurrentWheel::builtin(),
            true,
        )
        .await
        .unwrap();
        let state = AppState::new(store, Arc::new(chrono::Utc::now), "s@x.dk".into());
        let first = state.report_slot().acquire().await.unwrap();
        let wait = Duration::from_millis(50);
        let refused = render_within(&state, wait, |_| Ok(vec![1]))
            .await
            .unwrap_err();
        assert_eq!(refused.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.title(), "Service Unavailable");
        // Said in the reader's language, with what to do.
        assert!(
            format!("{refused:?}").contains("report.busy"),
            "{refused:?}"
        );
        drop(first);
        let made = render_within(&state, wait, |_| Ok(vec![1])).await.unwrap();
        assert_eq!(made, [1]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
