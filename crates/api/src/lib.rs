//! # hjul-api: where each institution stands, over HTTP
//!
//! A JSON API under `/api/v1` for what the CLI does (OpenAPI at `/api/openapi.json`,
//! readable at `/api/docs`), `/healthz`, and the dashboard at `/`: server-rendered HTML
//! that works without JavaScript. The API takes a bearer token (`hjul token create`);
//! the dashboard signs in with one and then keeps a session on the server (the cookie
//! holds only its random id), and its forms carry the session's CSRF value.

mod api;
pub mod auth;
mod dashboard;
mod listen;
pub use listen::Limits;
pub mod export;
#[doc(hidden)]
pub mod fuzz;
pub mod privacy;
pub mod problem;
mod reports;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use chrono::{DateTime, NaiveDate, Utc};
use hjul_store::Store;
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// The biggest request body accepted anywhere: the organisation's upload (an
/// organisation of ~20,000 units fits). Other endpoints take far less (see `problem`).
pub const BODY_LIMIT: usize = 4 << 20;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    /// Where every use case goes: access, validation, the write, the audit.
    core: hjul_app::Core,
    words: Arc<dashboard::Words>,
    pages: minijinja::Environment<'static>,
    sign_in: dashboard::SignInLimiter,
    /// The municipality's accessibility statement (`[web] accessibility_statement`).
    accessibility_statement: Option<String>,
}

impl AppState {
    /// `now` is the clock (injected, so tests and demos can run on another day).
    pub fn new(
        store: Store,
        now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
        secretariat_email: String,
    ) -> Self {
        // The catalogues are built in and checked by the tests; were one broken, the
        // pages would show keys rather than the service not start.
        let words = Arc::new(dashboard::Words::load().unwrap_or_else(|e| {
            tracing::error!(error = %e, "the dashboard's words cannot be read");
            dashboard::Words::empty()
        }));
        let core = hjul_app::Core::new(store, now, secretariat_email, builtin_reports());
        Self(Arc::new(Inner {
            core,
            pages: dashboard::pages(Arc::clone(&words)),
            words,
            sign_in: dashboard::SignInLimiter::default(),
            accessibility_statement: None,
        }))
    }

    /// The state with the municipality's report templates (checked when loaded) instead
    /// of the built-in ones. Call it before the state is shared.
    #[must_use]
    pub fn with_report_templates(mut self, templates: hjul_report::Templates) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.core = hjul_app::Core::new(
                inner.core.store().clone(),
                inner.core.clock(),
                inner.core.secretariat_email().to_owned(),
                templates,
            );
        }
        self
    }

    /// The state with the address of the municipality's accessibility statement,
    /// linked from every page's footer and from `/was`. Call it before the state is
    /// shared.
    #[must_use]
    pub fn with_accessibility_statement(mut self, url: Option<String>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.accessibility_statement = url;
        }
        self
    }

    /// The address of the municipality's accessibility statement, if given.
    pub fn accessibility_statement(&self) -> Option<&str> {
        self.0.accessibility_statement.as_deref()
    }

    /// The application core every handler acts through.
    pub fn core(&self) -> &hjul_app::Core {
        &self.0.core
    }

    /// The privacy threshold: a value resting on fewer respondents is never shown
    /// (hjul.toml `[data] min_responses`, set on the store).
    pub fn min_responses(&self) -> u32 {
        self.0.core.min_responses()
    }

    pub(crate) fn words(&self) -> &dashboard::Words {
        &self.0.words
    }

    pub(crate) fn pages(&self) -> &minijinja::Environment<'static> {
        &self.0.pages
    }

    pub(crate) fn sign_in(&self) -> &dashboard::SignInLimiter {
        &self.0.sign_in
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.0.core.now()
    }

    /// The municipality's date at `at`.
    pub fn today_at(&self, at: DateTime<Utc>) -> NaiveDate {
        self.0.core.today_at(at)
    }

    pub fn today(&self) -> NaiveDate {
        self.0.core.today()
    }

    pub fn secretariat_email(&self) -> &str {
        self.0.core.secretariat_email()
    }

    /// Puts a refused attempt the core has not seen on record (a request it could not
    /// read, say): who tried what, and the answer. One the core refused is on record
    /// already.
    pub(crate) async fn audit_refusal(
        &self,
        stamp: hjul_store::Stamp,
        attempted: &str,
        entity: (&str, &str),
        p: &problem::Problem,
    ) {
        if p.audited {
            return;
        }
        let attempt = hjul_app::Attempt {
            what: attempted,
            entity: entity.0,
            id: entity.1,
        };
        self.core()
            .audit_refusal(stamp, &attempt, &p.detail, p.is_busy())
            .await;
    }
}

/// The whole service: API, OpenAPI, docs, health and dashboard.
pub fn router(state: AppState) -> Router {
    let (api, spec) = api::router();
    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let spec = spec.clone();
                async move { axum::Json(spec) }
            }),
        )
        .route("/api/docs", axum::routing::get(api_docs))
        .route(
            "/api/docs/redoc.standalone.js",
            axum::routing::get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=86400"),
                    ],
                    REDOC,
                )
            }),
        )
        .route("/healthz", axum::routing::get(api::healthz))
        .route("/metrics", axum::routing::get(metrics))
        .route("/api/{*rest}", axum::routing::any(problem::no_endpoint))
        .merge(dashboard::routes())
        .method_not_allowed_fallback(problem::wrong_method)
        .layer(axum::middleware::from_fn_with_state(state.clone(), counted))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // Answers about people are not kept by browsers or proxies.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(TraceLayer::new_for_http())
        // Tokens travel in these: they never reach a log.
        .layer(SetSensitiveHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            header::SET_COOKIE,
        ]))
        .with_state(state)
}

/// Counts each answer by its route's pattern and status, with its latency, for
/// `/metrics`. Inside the router, so the matched route is known; a path no route takes
/// is counted as `unmatched`, never by itself (a scanner's paths would each be a series).
async fn counted(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let started = std::time::Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(request).await;
    state.core().metrics().request(
        method.as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// `GET /metrics`: the service's figures in the Prometheus text format, for a token of
/// the secretariat's made for the monitoring (`docs/operations.md`).
async fn metrics(
    axum::extract::State(state): axum::extract::State<AppState>,
    who: auth::Principal,
) -> Result<axum::response::Response, problem::Problem> {
    use axum::response::IntoResponse;
    let text = state.core().monitoring(&who).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Redoc 2.5.1, served by hjul itself so that `/api/docs` works with no internet
/// (`static/vendor/redoc/README.md` says where it comes from).
const REDOC: &str = include_str!("../static/vendor/redoc/redoc.standalone.js");

/// `GET /api/docs`: the OpenAPI document for people. Redoc draws it with styles it
/// writes inline and a search worker it starts from a blob; nothing else may load.
async fn api_docs() -> impl axum::response::IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'self'; worker-src blob:; \
                 style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
                 connect-src 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ],
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>hjul API</title></head><body>\
         <redoc spec-url=\"/api/openapi.json\"></redoc>\
         <script src=\"/api/docs/redoc.standalone.js\"></script></body></html>\n",
    )
}

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let metrics = state.core().metrics().clone();
    listen::serve(listener, router(state), limits, metrics, shutdown).await
}

/// The built-in report templates: checked by the tests, so failing here is a build
/// defect.
#[allow(clippy::expect_used)]
fn builtin_reports() -> hjul_report::Templates {
    hjul_report::Templates::load(None).expect("the built-in report templates are valid")
}
