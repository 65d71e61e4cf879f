//! # hjul-api: where each institution stands, over HTTP
//!
//! A JSON API under `/api/v1` for what the CLI does (OpenAPI at `/api/openapi.json`,
//! readable at `/api/docs`), `/healthz`, and the managers' dashboard at `/`:
//! server-rendered HTML that works without JavaScript. Every request but `/healthz` and
//! the sign-in page needs a bearer token (`hjul token create`); the dashboard keeps it in
//! an HttpOnly, SameSite cookie and its forms carry a CSRF token.

mod api;
pub mod auth;
mod dashboard;
pub mod problem;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, header};
use chrono::{DateTime, NaiveDate, Utc};
use hjul_store::Store;
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

/// The biggest request body accepted (an organisation file of ~10,000 units fits).
pub const BODY_LIMIT: usize = 4 << 20;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    secretariat_email: String,
    pages: minijinja::Environment<'static>,
}

impl AppState {
    /// `now` is the clock (injected, so tests and demos can run on another day).
    pub fn new(
        store: Store,
        now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
        secretariat_email: String,
    ) -> Self {
        Self(Arc::new(Inner {
            store,
            now,
            secretariat_email,
            pages: dashboard::pages(),
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0.now)()
    }

    /// The municipality's date at `at`.
    pub fn today_at(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.0.store.wheel().definition.mail_time.zone)
            .date_naive()
    }

    pub fn today(&self) -> NaiveDate {
        self.today_at(self.now())
    }

    pub fn secretariat_email(&self) -> &str {
        &self.0.secretariat_email
    }
}

/// The whole service: API, OpenAPI, docs, health and dashboard.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api::router();
    let spec = openapi.clone();
    Router::new()
        .merge(api)
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let spec = spec.clone();
                async move { axum::Json(spec) }
            }),
        )
        .merge(
            <utoipa_scalar::Scalar<_> as utoipa_scalar::Servable<_>>::with_url(
                "/api/docs",
                openapi,
            ),
        )
        .route("/healthz", axum::routing::get(api::healthz))
        .merge(dashboard::routes())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
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

/// Serves until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
