//! The quality report for the API and the dashboard alike: a draft over the units the
//! caller sees, made on request, and the final report as kept with `report_final`.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use hjul_report::{Format, ReportError, Scope, Templates};
use hjul_wheel::Language;

use crate::AppState;
use crate::auth::Principal;
use crate::problem::Problem;

/// A report format by its name in a request: `pdf`, `html` or `md`.
pub(crate) fn format(name: &str) -> Result<Format, Problem> {
    Format::parse(name).ok_or_else(|| {
        Problem::bad_request(format!(
            "`{}` is not a report format: use pdf, html or md",
            hjul_wheel::limits::clip(name, 20)
        ))
        .field("format")
    })
}

/// A draft of cycle `cycle`'s report over what `who` sees, as a download.
pub(crate) async fn draft(
    state: &AppState,
    who: &Principal,
    cycle: i32,
    format: Format,
    language: Language,
) -> Result<Response, Problem> {
    let report = state
        .core()
        .report_draft(who, cycle, Scope::Department, language)
        .await?;
    let bytes = render(state, who, move |t| t.render(&report, format)).await?;
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
    who: &Principal,
    unit: &str,
    format: Format,
    language: Language,
) -> Result<Response, Problem> {
    let (unit, sheet) = state.core().sheet(who, unit, language).await?;
    let bytes = render(state, who, move |t| t.render_sheet(&sheet, format)).await?;
    let (content_type, ext) = media(format);
    Ok(download(
        bytes,
        content_type,
        &format!("datablad-{unit}.{ext}"),
    ))
}

/// Writes a report off the request threads, one at a time and one per person in the
/// queue (the core's one layout slot, [`hjul_app::Core::render`]).
async fn render<T: Send + 'static>(
    state: &AppState,
    who: &Principal,
    work: impl FnOnce(&Templates) -> Result<T, ReportError> + Send + 'static,
) -> Result<T, Problem> {
    Ok(state.core().render(who, work).await?)
}

/// Cycle `cycle`'s final report as kept, as a download with its SHA-256 as `ETag`.
pub(crate) async fn kept(state: &AppState, cycle: i32) -> Result<Response, Problem> {
    let kept = state.core().final_report(cycle).await?.ok_or_else(|| {
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
/// What a PDF or Markdown report may load when a browser shows it: no script, no picture
/// from elsewhere, no frame around it (its viewer's own inline style is let be). An HTML report is shown under its own
/// policy (`hjul_report::html_policy`: its own style by hash, nothing else), which it
/// also carries in its frame, so a saved copy keeps it.
pub(crate) const REPORT_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn download(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let policy = if content_type.starts_with("text/html") {
        HeaderValue::from_str(&hjul_report::html_policy(&bytes, true)).ok()
    } else {
        None
    };
    let mut r = ([(header::CONTENT_TYPE, content_type)], bytes).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        policy.unwrap_or(HeaderValue::from_static(REPORT_CSP)),
    );
    r
}

/// A report from the API goes to a file, never shown by the browser as a page of the
/// API's address: a client that wants to show it shows the file.
pub(crate) fn as_attachment(mut r: Response) -> Response {
    let name = r
        .headers()
        .get(header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("inline; "))
        .map(str::to_owned);
    if let Some(v) = name.and_then(|n| HeaderValue::from_str(&format!("attachment; {n}")).ok()) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}
