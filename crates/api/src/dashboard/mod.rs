//! The dashboard: server-rendered HTML that works without JavaScript, in Danish with an
//! English switch, for the secretariat, the managers and the leaders.
//!
//! - `sessions` — signing in and out, the language switch, who a request is from.
//! - `pages` — the overview with the wheel, and a page per unit with its forms.
//! - `editor` — the agreement editor and the midway form, with drafts kept on the server.
//! - `secretariat` — the mail queue, the audit log, the organisation, tokens, cycles.
//! - `export` — status, the overdue list and a unit's deadlines as `.xlsx` and CSV.
//! - `figures` — a unit's indicator data, and the secretariat's data page (import,
//!   patterns).
//! - `drawing` — the wheel as SVG, with every unit at its step; `chart` — a measure's
//!   trend as SVG.
//! - `words` — the catalogues: every word a page shows, in both languages.
//!
//! Every form carries the session's CSRF value; every refusal of a signed-in person is
//! audited and shown in the site's layout, in the page's language, with a way back.

mod chart;
mod deputies;
mod drawing;
pub(crate) mod editor;
mod export;
pub(crate) mod figures;
mod log;
mod oidc;
mod pages;
mod secretariat;
mod sessions;
pub(crate) mod words;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use minijinja::{Value, context};
use serde::de::DeserializeOwned;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::AppState;
use crate::problem::{Problem, body_of, is_media_type};
pub use pages::deadline_state;
pub use sessions::{SESSION_COOKIE, SignInLimiter, Visitor};
pub use words::{Lang, Words};

/// The pages' templates, built into the binary.
pub const TEMPLATES: [(&str, &str); 21] = [
    ("layout.html", include_str!("../../templates/layout.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("login.html", include_str!("../../templates/login.html")),
    (
        "signed_in.html",
        include_str!("../../templates/signed_in.html"),
    ),
    (
        "signed_out.html",
        include_str!("../../templates/signed_out.html"),
    ),
    (
        "unknown_person.html",
        include_str!("../../templates/unknown_person.html"),
    ),
    ("error.html", include_str!("../../templates/error.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("unit.html", include_str!("../../templates/unit.html")),
    ("editor.html", include_str!("../../templates/editor.html")),
    ("midway.html", include_str!("../../templates/midway.html")),
    ("correct.html", include_str!("../../templates/correct.html")),
    ("outbox.html", include_str!("../../templates/outbox.html")),
    (
        "outbox_item.html",
        include_str!("../../templates/outbox_item.html"),
    ),
    ("audit.html", include_str!("../../templates/audit.html")),
    ("reads.html", include_str!("../../templates/reads.html")),
    ("privacy.html", include_str!("../../templates/privacy.html")),
    (
        "organisation.html",
        include_str!("../../templates/organisation.html"),
    ),
    ("tokens.html", include_str!("../../templates/tokens.html")),
    ("cycles.html", include_str!("../../templates/cycles.html")),
    ("data.html", include_str!("../../templates/data.html")),
];

/// The dashboard's code, for the test that every word it uses is in the catalogues.
#[cfg(test)]
pub const SOURCES: [(&str, &str); 10] = [
    ("mod.rs", include_str!("mod.rs")),
    ("pages.rs", include_str!("pages.rs")),
    ("editor.rs", include_str!("editor.rs")),
    ("secretariat.rs", include_str!("secretariat.rs")),
    ("export.rs", include_str!("export.rs")),
    ("drawing.rs", include_str!("drawing.rs")),
    ("chart.rs", include_str!("chart.rs")),
    ("figures.rs", include_str!("figures.rs")),
    ("sessions.rs", include_str!("sessions.rs")),
    ("auth.rs", include_str!("../auth.rs")),
];

const CSS: &str = include_str!("../../static/hjul.css");
const JS: &str = include_str!("../../static/hjul.js");

/// The largest form the dashboard takes (an agreement at its limits fits); the
/// organisation's upload takes [`crate::BODY_LIMIT`].
pub const FORM_LIMIT: usize = 1 << 20;

pub fn pages(words: Arc<Words>) -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    // A name a page does not give is an error (in the log, and a 500 the tests see), not
    // a blank: a misspelt key or a field a view lost cannot pass unnoticed.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (name, text) in TEMPLATES {
        // The templates are part of the binary; a mistake in one is a build defect that
        // the tests catch on the first page.
        if let Err(e) = env.add_template(name, text) {
            tracing::error!(template = name, error = %e, "a dashboard template does not compile");
        }
    }
    words::register(&mut env, words);
    env
}

pub fn routes() -> Router<AppState> {
    let pages = Router::new()
        .route("/", get(pages::overview))
        .route("/units/{unit_id}", get(pages::unit))
        .route("/units/{unit_id}/dialogue", post(pages::dialogue))
        .route("/units/{unit_id}/sign", post(pages::sign))
        .route("/units/{unit_id}/goal-status", post(pages::goal_status))
        .route("/units/{unit_id}/review", post(pages::review))
        .route("/units/{unit_id}/deputies", post(deputies::name))
        .route("/units/{unit_id}/next-cycle", post(deputies::sit_out))
        .route(
            "/units/{unit_id}/deputies/{deputy_id}/end",
            post(deputies::end),
        )
        .route(
            "/units/{unit_id}/agreement",
            get(editor::agreement_page).post(editor::agreement_post),
        )
        .route(
            "/units/{unit_id}/agreement/upload",
            post(editor::agreement_upload),
        )
        .route(
            "/units/{unit_id}/midway",
            get(editor::midway_page).post(editor::midway_post),
        )
        .route(
            "/units/{unit_id}/events/{event_id}/correct",
            get(pages::correct_page).post(pages::correct),
        )
        .route(
            "/units/{unit_id}/export/{file}",
            get(export::unit_deadlines),
        )
        .route("/export/{file}", get(export::status))
        .route("/reports/{year}/{file}", get(export::report))
        .route("/units/{unit_id}/sheet/{file}", get(export::sheet))
        .route("/admin/outbox", get(secretariat::outbox))
        .route("/admin/outbox/{id}", get(secretariat::outbox_item))
        .route("/admin/outbox/{id}/retry", post(secretariat::retry))
        .route("/admin/audit", get(secretariat::audit))
        .route("/admin/audit/log.xlsx", get(secretariat::audit_export))
        .route("/admin/reads", get(secretariat::reads))
        .route("/admin/privacy", get(secretariat::privacy))
        .route("/admin/privacy/anonymise", post(secretariat::anonymise))
        .route("/admin/privacy/{file}", get(secretariat::privacy_export))
        .route(
            "/admin/organisation",
            get(secretariat::organisation).post(secretariat::import),
        )
        .route("/admin/organisation/apply", post(secretariat::apply))
        .route(
            "/admin/tokens",
            get(secretariat::tokens).post(secretariat::create_token),
        )
        .route("/admin/tokens/{id}/revoke", post(secretariat::revoke_token))
        .route("/admin/sessions/end", post(secretariat::end_sessions))
        .route("/admin/sign-in/tokens", post(secretariat::token_sign_in))
        .route("/admin/data", get(figures::data).post(figures::import))
        .route("/admin/cycles", get(secretariat::cycles))
        .route("/admin/cycles/{year}/start", post(secretariat::start_cycle))
        .route(
            "/admin/cycles/{year}/milestone",
            post(secretariat::milestone),
        )
        .route(
            "/admin/cycles/{year}/final-report",
            post(secretariat::make_final_report),
        )
        .route("/login", get(sessions::login_page).post(sessions::login))
        .route("/login/oidc", get(oidc::start))
        .route("/login/oidc/callback", get(oidc::callback))
        .route("/logout", post(sessions::logout))
        .route("/lang/{lang}", get(sessions::set_lang))
        .route("/was", get(pages::accessibility_statement))
        .route("/data", get(figures::patterns))
        .fallback(not_found)
        // What a page may load and who may frame it: only this site, nobody. A report
        // shown in the browser brings its own, stricter policy (no script at all, its
        // own inline style), which stands.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
                 connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    Router::new()
        .route(
            "/static/hjul.css",
            get(|| async { asset(CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/static/hjul.js",
            get(|| async { asset(JS, "text/javascript; charset=utf-8") }),
        )
        .merge(pages)
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// A page that does not exist: in the signed-in person's layout (their menu, their
/// language), so they find their way on; the sign-in link only for the signed-out.
async fn not_found(
    state: axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
    visitor: Result<Visitor, Response>,
) -> Response {
    let visitor = visitor.ok();
    let lang = visitor
        .as_ref()
        .map_or_else(|| sessions::lang_of(&headers), |v| v.lang);
    error_page(
        &state,
        lang,
        visitor.as_ref(),
        Problem::not_found("there is no such page").text(hjul_wheel::Text::new("error.no_page")),
    )
}

/// A path on this site, so a redirect to it never leaves it: it starts with one `/`, has
/// no backslash and no control character anywhere (browsers drop tabs and line breaks,
/// so `/\t/other.host` is `//other.host` to them), and is not too long.
pub fn local_path(p: &str) -> Option<&str> {
    let ok = p.starts_with('/')
        && !p.starts_with("//")
        && p.len() <= 2_000
        && !p
            .chars()
            .any(|c| c.is_control() || c == '\\' || c.is_whitespace());
    ok.then_some(p)
}

pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_./".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Reads a form body (`application/x-www-form-urlencoded`, at most `limit` bytes) into
/// `T`. A form that cannot be read is a problem, never a parser's message.
pub async fn read_form<T: DeserializeOwned>(
    req: axum::extract::Request,
    limit: usize,
) -> Result<T, Problem> {
    let pairs = read_pairs(req, limit).await?;
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    serde_urlencoded::from_str(&encoded).map_err(|_| {
        Problem::bad_request("the form could not be read: reload the page and try again")
            .text(hjul_wheel::Text::new("error.form"))
    })
}

/// A form body's fields, in order.
pub async fn read_pairs(
    req: axum::extract::Request,
    limit: usize,
) -> Result<Vec<(String, String)>, Problem> {
    if !is_media_type(req.headers(), "application/x-www-form-urlencoded") {
        return Err(Problem::unsupported("application/x-www-form-urlencoded")
            .text(hjul_wheel::Text::new("error.form")));
    }
    let bytes = body_of(req, limit).await.map_err(|p| {
        if p.status_code() == StatusCode::PAYLOAD_TOO_LARGE {
            p.text(crate::problem::too_large_text(limit))
        } else {
            p.text(hjul_wheel::Text::new("error.form"))
        }
    })?;
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}

/// A page in the site's layout.
pub struct Page<'a> {
    state: &'a AppState,
    lang: Lang,
    template: &'static str,
    title: String,
    visitor: Option<&'a Visitor>,
    path: String,
    message: Option<String>,
    error: Option<String>,
    status: StatusCode,
}

impl<'a> Page<'a> {
    /// A page titled by a catalogue key.
    pub fn new(state: &'a AppState, lang: Lang, template: &'static str, title_key: &str) -> Self {
        Self {
            state,
            lang,
            template,
            title: state.words().word(lang, title_key),
            visitor: None,
            path: "/".into(),
            message: None,
            error: None,
            status: StatusCode::OK,
        }
    }

    /// A signed-in visitor's page.
    pub fn of(
        state: &'a AppState,
        v: &'a Visitor,
        template: &'static str,
        title_key: &str,
    ) -> Self {
        Self {
            visitor: Some(v),
            path: v.path.clone(),
            ..Self::new(state, v.lang, template, title_key)
        }
    }

    #[must_use]
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    #[must_use]
    pub fn at(mut self, path: &str) -> Self {
        self.path = path.to_owned();
        self
    }

    #[must_use]
    pub fn message(mut self, message: Option<String>) -> Self {
        self.message = message;
        self
    }

    #[must_use]
    pub fn error(mut self, error: Option<String>) -> Self {
        self.error = error;
        self
    }

    #[must_use]
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The page with its view (a `Serialize` struct of its own) inside the layout.
    pub fn render(self, view: impl serde::Serialize) -> Response {
        let ctx = Value::from(minijinja::value::Serde(view));
        let env = self.state.pages();
        let lang = self.lang.key();
        let who = self.visitor.map(|v| {
            context! {
                email => v.who.email.as_str(),
                name => v.who.name.clone(),
                role => v.who.role().key(),
                secretariat => v.who.role() == hjul_store::Role::Secretariat,
            }
        });
        let csrf = self.visitor.map(|v| v.csrf.clone());
        let accessibility = self.state.accessibility_statement().is_some();
        let render = move || -> Result<String, minijinja::Error> {
            // The body sees what the layout sees: the language and the session's CSRF
            // value for its forms.
            let base = context! {
                lang => lang,
                csrf => csrf.clone().unwrap_or_default(),
                who => who.clone(),
            };
            // The page's own values win: of merged maps, the last one's value is read.
            let body = env
                .get_template(self.template)?
                .render(minijinja::value::merge_maps([base, ctx]))?;
            env.get_template("layout.html")?.render(context! {
                lang => lang,
                title => self.title,
                back => percent_encode(local_path(&self.path).unwrap_or("/")),
                who => who,
                csrf => csrf.unwrap_or_default(),
                body => body,
                message => self.message,
                error => self.error,
                accessibility => accessibility,
            })
        };
        let (status, template) = (self.status, self.template);
        match render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, template, "a dashboard page could not be rendered");

                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page could not be rendered; it is in the log",
                )
                    .into_response()
            }
        }
    }
}

/// What the error page (`error.html`) shows.
#[derive(serde::Serialize)]
struct ErrorPage {
    heading: String,
    lines: Vec<String>,
    signed_in: bool,
}

/// A unit as a page names it: its id (for links) and its name.
#[derive(serde::Serialize)]
pub struct UnitName {
    pub unit_id: String,
    pub name: String,
}

/// One of a list to choose from: its key (what the form sends) and its name.
#[derive(serde::Serialize)]
pub struct Choice {
    pub key: String,
    pub name: String,
}

/// A refusal or failure as a page in the site's layout: what was wrong in the page's
/// language, and a way back.
pub fn error_page(state: &AppState, lang: Lang, v: Option<&Visitor>, p: Problem) -> Response {
    let words = state.words();
    let code = p.status_code();
    let Problem {
        status,
        detail,
        texts,
        ..
    } = p;
    let mut lines: Vec<String> = texts.iter().map(|t| words.text(lang, &t.text)).collect();
    if lines.is_empty() {
        // No words of ours for it: the status's own words, and in English the detail.
        lines.push(words.word(lang, &format!("error.status.{}", group(status))));
        if lang == Lang::En && status < 500 {
            lines.push(detail);
        }
    }
    let title = format!(
        "{status} {}",
        words.word(lang, &format!("error.title.{}", group(status)))
    );
    let page = match v {
        Some(v) => Page::of(state, v, "error.html", "error.title.other"),
        None => Page::new(state, lang, "error.html", "error.title.other"),
    };
    let mut r = page.title(title.clone()).status(code).render(ErrorPage {
        heading: title,
        lines,
        signed_in: v.is_some(),
    });
    if status == 401 {
        // Not a bearer challenge: the dashboard signs in with a form.
        r.headers_mut().remove(header::WWW_AUTHENTICATE);
    }
    r
}

/// The statuses with words of their own.
fn group(status: u16) -> &'static str {
    match status {
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        409 => "409",
        413 => "413",
        415 => "415",
        422 => "422",
        429 => "429",
        503 => "503",
        s if s >= 500 => "500",
        _ => "400",
    }
}

/// A button: a form of nothing but the session's CSRF value, read within a few
/// kilobytes and checked. A stale or foreign one is refused like any problem.
pub async fn pressed(v: &Visitor, req: axum::extract::Request) -> Result<(), Problem> {
    #[derive(serde::Deserialize)]
    struct Button {
        #[serde(default)]
        csrf: String,
    }
    let f: Button = read_form(req, 4 * 1024).await?;
    if fresh(v, &f.csrf) {
        Ok(())
    } else {
        Err(stale_problem())
    }
}

/// How a button's form ends (and, in time, every form's): done, to the page `done` names
/// (a redirect, so that a reload does not post again); refused, the refusal on record
/// and `again`, the page that shows the form with what was typed and why.
pub async fn answer<T>(
    state: &AppState,
    v: &Visitor,
    (attempted, entity): (&str, (&str, &str)),
    result: Result<T, Problem>,
    done: impl FnOnce(T) -> String,
    again: impl AsyncFnOnce(Problem) -> Response,
) -> Response {
    match result {
        Ok(t) => axum::response::Redirect::to(&done(t)).into_response(),
        Err(p) => {
            audit(state, v, attempted, entity, &p).await;
            again(p).await
        }
    }
}

/// A refused attempt of a signed-in person: on record in the audit log, then shown.
pub async fn refuse(
    state: &AppState,
    v: &Visitor,
    attempted: &str,
    entity: (&str, &str),
    p: Problem,
) -> Response {
    audit(state, v, attempted, entity, &p).await;
    error_page(state, v.lang, Some(v), p)
}

/// Puts a refused attempt on record.
pub async fn audit(
    state: &AppState,
    v: &Visitor,
    attempted: &str,
    entity: (&str, &str),
    p: &Problem,
) {
    state
        .audit_refusal(v.who.stamp(state), attempted, entity, p)
        .await;
}

/// Whether a form's CSRF value is this session's.
pub fn fresh(v: &Visitor, given: &str) -> bool {
    !given.is_empty() && given == v.csrf
}

/// The refusal of a form whose CSRF value is not this session's.
pub fn stale_problem() -> Problem {
    Problem::forbidden("the form is out of date: reload the page and try again")
        .text(hjul_wheel::Text::new("error.stale"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        let mut env = minijinja::Environment::new();
        for (name, text) in TEMPLATES {
            if let Err(e) = env.add_template(name, text) {
                panic!("{name}: {e:#}");
            }
        }
    }

    #[test]
    fn redirects_only_return_to_this_site() {
        assert_eq!(
            local_path("/units/dt-nord-1?x=1"),
            Some("/units/dt-nord-1?x=1")
        );
        for bad in [
            "//evil.example/",
            "/\\evil.example/",
            "https://evil.example/",
            "/\r\nSet-Cookie: x=1",
            "/\t/other.host/x",
            "/\u{1}",
            "/ /x",
            "",
        ] {
            assert_eq!(local_path(bad), None, "{bad:?}");
        }
    }
}
