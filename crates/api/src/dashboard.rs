//! The managers' dashboard: server-rendered HTML that works without JavaScript, in
//! Danish with an English switch. The wheel is drawn as SVG with its six phases and
//! today's position; below it the units at each step, the overdue list, and a page per
//! unit. Sign-in takes a token and keeps it in an HttpOnly, SameSite cookie; every form
//! carries a CSRF token.

use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::fmt::Write as _;

use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::NaiveDate;
use hjul_store::StatusFilter;
use hjul_wheel::{Area, DeadlineState, Level, Step};
use minijinja::value::Serde;
use minijinja::{Value, context};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::{Principal, SESSION_COOKIE, cookie, cookie_in, principal, token_of};
use crate::problem::Problem;

const LANG_COOKIE: &str = "hjul_lang";
const LOGIN_CSRF_COOKIE: &str = "hjul_login_csrf";

const TEMPLATES: [(&str, &str); 4] = [
    ("layout.html", include_str!("../templates/layout.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("index.html", include_str!("../templates/index.html")),
    ("unit.html", include_str!("../templates/unit.html")),
];

pub fn pages() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    for (name, text) in TEMPLATES {
        // The templates are part of the binary; a mistake in one is a build defect that
        // the tests catch on the first page.
        if let Err(e) = env.add_template(name, text) {
            tracing::error!(template = name, error = %e, "a dashboard template does not compile");
        }
    }
    env
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/units/{unit_id}", get(unit))
        // dialogue, agreement, midway or sign
        .route("/units/{unit_id}/{action}", post(unit_form))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/lang/{lang}", get(set_lang))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Da,
    En,
}

impl Lang {
    fn of(parts: &Parts) -> Self {
        match cookie(parts, LANG_COOKIE).as_deref() {
            Some("en") => Self::En,
            _ => Self::Da,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::Da => "da",
            Self::En => "en",
        }
    }

    fn language(self) -> hjul_wheel::Language {
        match self {
            Self::Da => hjul_wheel::Language::Da,
            Self::En => hjul_wheel::Language::En,
        }
    }
}

/// The page's words.
fn texts(lang: Lang) -> BTreeMap<&'static str, &'static str> {
    let pairs: &[(&str, &str, &str)] = &[
        ("wheel", "Kvalitetshjulet", "The quality wheel"),
        ("sign_in", "Log ind", "Sign in"),
        ("sign_out", "Log ud", "Sign out"),
        ("token", "Adgangsnøgle", "Access token"),
        (
            "token_help",
            "Sekretariatet giver dig en adgangsnøgle (hjul token create).",
            "The secretariat gives you an access token (hjul token create).",
        ),
        ("role_secretariat", "sekretariat", "secretariat"),
        ("role_manager", "chef", "manager"),
        ("role_leader", "leder", "leader"),
        ("cycle", "Cyklus", "Cycle"),
        ("phases", "Faser", "Phases"),
        ("open_now", "åben nu", "open now"),
        ("units_per_step", "Enheder pr. trin", "Units per step"),
        ("step", "Trin", "Step"),
        ("units", "Enheder", "Units"),
        ("total", "I alt", "Total"),
        ("filter", "Udvalg", "Filter"),
        ("area", "Område", "Area"),
        ("level", "Niveau", "Level"),
        ("all", "alle", "all"),
        ("show", "Vis", "Show"),
        ("overdue", "Overskredne frister", "Overdue"),
        (
            "nothing_overdue",
            "Ingen frister er overskredet.",
            "Nothing is overdue.",
        ),
        ("unit", "Enhed", "Unit"),
        ("deadline", "Frist", "Deadline"),
        ("due", "Senest", "Due"),
        ("days_late", "Dage over", "Days late"),
        ("days", "dage", "days"),
        ("responsible", "Ansvarlig", "Responsible"),
        ("all_units", "Alle enheder", "All units"),
        ("next_deadline", "Næste frist", "Next deadline"),
        ("agreement", "Sammenhængsaftale", "Agreement"),
        ("under", "under", "under"),
        ("leader", "Leder", "Leader"),
        ("deadlines", "Frister", "Deadlines"),
        ("state", "Status", "State"),
        (
            "record_dialogue",
            "Registrér kvalitetssamtalen",
            "Record the quality dialogue",
        ),
        ("held_on", "Afholdt den", "Held on"),
        ("notes", "Referat", "Notes"),
        ("save", "Gem", "Save"),
        (
            "submit_agreement",
            "Indsend sammenhængsaftalen",
            "Submit the coherence agreement",
        ),
        (
            "agreement_help",
            "Aftalen som TOML-fil, som i docs/files.md (eksempel: examples/agreement.toml).",
            "The agreement as a TOML file, as in docs/files.md (example: examples/agreement.toml).",
        ),
        ("submitted_on", "Indsendt den", "Submitted on"),
        (
            "give_midway",
            "Giv midtvejsstatus",
            "Give the midway status",
        ),
        (
            "midway_help",
            "En vurdering pr. mål som TOML, som i docs/files.md (eksempel: examples/grades.toml).",
            "A grade per goal as TOML, as in docs/files.md (example: examples/grades.toml).",
        ),
        ("given_on", "Givet den", "Given on"),
        ("submit", "Indsend", "Submit"),
        ("not_saved", "Ikke gemt", "Not saved"),
        ("sign_agreement", "Underskriv aftalen", "Sign the agreement"),
        ("signed_on", "Underskrevet den", "Signed on"),
        ("sign", "Underskriv", "Sign"),
        ("events", "Hændelser", "Events"),
        ("date", "Dato", "Date"),
        ("event", "Hændelse", "Event"),
        ("recorded_by", "Registreret af", "Recorded by"),
        ("revision", "revision", "revision"),
        ("no_events", "Ingen hændelser endnu.", "No events yet."),
        ("submitted", "Indsendt", "Submitted"),
        ("signed", "underskrevet", "signed"),
        ("not_signed", "ikke underskrevet", "not signed"),
        ("score", "score", "score"),
        ("goal", "Mål", "Goal"),
        ("dimension", "Dimension", "Dimension"),
        ("weight", "Vægt", "Weight"),
        ("criteria", "Kriterier", "Criteria"),
        ("grade", "Vurdering", "Grade"),
        ("partly", "Delvist", "Partly"),
        ("fully", "Fuldt", "Fully"),
        ("met", "opfyldt", "met"),
        ("opens", "åbner", "opens"),
        ("waits", "venter", "waiting"),
        ("open", "åben", "open"),
        ("late", "dage over", "days late"),
        ("none", "—", "—"),
    ];
    pairs
        .iter()
        .map(|(k, da, en)| (*k, if lang == Lang::Da { *da } else { *en }))
        .collect()
}

fn area_name(a: &str, lang: Lang) -> &'static str {
    match (a, lang) {
        ("daycare", Lang::Da) => "Dagtilbud",
        ("school", Lang::Da) => "Skole",
        ("family", Lang::Da) => "Familie og rådgivning",
        ("department", Lang::Da) => "Hele Børn & Unge",
        ("daycare", Lang::En) => "Daycare",
        ("school", Lang::En) => "School",
        ("family", Lang::En) => "Family and counselling",
        _ => "Whole department",
    }
}

fn step_name(s: Option<Step>, lang: Lang) -> String {
    match s {
        Some(s) => step_label(s.key(), lang),
        None => if lang == Lang::Da {
            "ingen trin"
        } else {
            "no steps"
        }
        .to_owned(),
    }
}

fn step_label(key: &str, lang: Lang) -> String {
    hjul_wheel::names::step_name(key, lang.language())
}

fn deadline_label(key: &str, lang: Lang) -> String {
    hjul_wheel::names::deadline_name(key, lang.language())
}

fn csrf_of(token: &str) -> String {
    let digest = Sha256::digest(format!("hjul-csrf:{token}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn percent_encode(s: &str) -> String {
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

/// A signed-in visitor of the dashboard; anyone else is sent to the sign-in page.
struct Visitor {
    who: Principal,
    lang: Lang,
    path: String,
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::of(parts);
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let token = token_of(parts).ok_or_else(|| Redirect::to("/login").into_response())?;
        match principal(state, &token).await {
            Ok(Some(who)) => Ok(Self { who, lang, path }),
            Ok(None) => Err(Redirect::to("/login").into_response()),
            Err(p) => Err(p.into_response()),
        }
    }
}

fn page(
    state: &AppState,
    v: Option<&Visitor>,
    lang: Lang,
    back: &str,
    title: &str,
    body_template: &str,
    ctx: &Value,
) -> Response {
    let env = &state.0.pages;
    let t = texts(lang);
    let render = || -> Result<String, minijinja::Error> {
        let body = env
            .get_template(body_template)?
            .render(context! { t => t.clone(), lang => lang.key(), ..ctx.clone() })?;
        env.get_template("layout.html")?.render(context! {
            t => t.clone(),
            lang => lang.key(),
            title => title,
            back => percent_encode(back),
            who => v.map(|v| context! { email => v.who.email(), role => v.who.role().key() }),
            csrf => v.map(|v| csrf_of(&v.who.token)),
            body => body,
            ..ctx.clone()
        })
    };
    match render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a dashboard page could not be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered; it is in the log",
            )
                .into_response()
        }
    }
}

#[derive(Deserialize)]
struct Filter {
    #[serde(default)]
    area: Option<String>,
    #[serde(default)]
    level: Option<String>,
    #[serde(default)]
    msg: Option<String>,
}

/// The wheel as SVG: the cycle's quarters around, each phase an arc over its window
/// (one ring each, as windows overlap), and a hand at today.
fn wheel_svg(state: &AppState, today: NaiveDate, lang: Lang) -> (String, Vec<Value>, i32) {
    const COLORS: [&str; 6] = [
        "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#e15759", "#76b7b2",
    ];
    let def = &state.store().wheel().definition;
    let plan = def.cycle_on(today);
    let cycle = plan.cycle();
    let quarters = f64::from(cycle.length_quarters());
    let (cx, cy) = (210.0, 210.0);
    let angle = |q: f64| -PI / 2.0 + 2.0 * PI * q / quarters;
    let point = |r: f64, a: f64| (cx + r * a.cos(), cy + r * a.sin());
    let mut svg = String::new();
    let title = if lang == Lang::Da {
        "Kvalitetshjulet"
    } else {
        "The quality wheel"
    };
    let _ = write!(
        svg,
        r##"<svg id="wheel" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 420 420" width="420" height="420" role="img" aria-label="{title}">"##
    );
    let _ = write!(
        svg,
        r##"<circle cx="{cx}" cy="{cy}" r="196" fill="#fff" stroke="#cfd6df"/>"##
    );
    for q in 0..cycle.length_quarters() {
        let a = angle(f64::from(q));
        let (x1, y1) = point(60.0, a);
        let (x2, y2) = point(196.0, a);
        let _ = write!(
            svg,
            r##"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" stroke="#e3e6ea"/>"##
        );
        let quarter = cycle.quarter(q);
        let (tx, ty) = point(184.0, angle(f64::from(q) + 0.5));
        let _ = write!(
            svg,
            r##"<text x="{tx:.1}" y="{ty:.1}" font-size="10" text-anchor="middle" fill="#5b6675">{}{} {}</text>"##,
            if lang == Lang::Da { "K" } else { "Q" },
            quarter.number(),
            quarter.year() % 100
        );
    }
    let open = plan.open_phases(today);
    let mut legend = Vec::new();
    for (i, (window, dates)) in def.phases().iter().zip(plan.phases()).enumerate() {
        let r = 168.0 - 18.0 * i as f64;
        let a0 = angle(f64::from(window.first_quarter)) + 0.02;
        let a1 = angle(f64::from(window.last_quarter) + 1.0) - 0.02;
        let (x0, y0) = point(r, a0);
        let (x1, y1) = point(r, a1);
        let large = i32::from(a1 - a0 > PI);
        let color = COLORS[i % COLORS.len()];
        let is_open = open.contains(&window.phase);
        let name = if lang == Lang::Da {
            &window.name_da
        } else {
            &window.name_en
        };
        let _ = write!(
            svg,
            r##"<path class="phase" data-phase="{}" d="M {x0:.1} {y0:.1} A {r} {r} 0 {large} 1 {x1:.1} {y1:.1}" fill="none" stroke="{color}" stroke-width="{}" stroke-linecap="round" opacity="{}"><title>{}</title></path>"##,
            window.phase,
            if is_open { 14 } else { 10 },
            if is_open { "1" } else { "0.55" },
            escape(name),
        );
        legend.push(context! {
            name => name.clone(),
            color => color,
            opens => dates.opens.to_string(),
            closes => dates.closes.to_string(),
            open => is_open,
        });
    }
    // Today: the share of the cycle that has passed.
    let total = (cycle.ends() - cycle.starts()).num_days() as f64 + 1.0;
    let passed = (today - cycle.starts()).num_days() as f64 + 0.5;
    let a = -PI / 2.0 + 2.0 * PI * (passed / total);
    let (hx, hy) = point(196.0, a);
    let _ = write!(
        svg,
        r##"<line id="today" x1="{cx}" y1="{cy}" x2="{hx:.1}" y2="{hy:.1}" stroke="#1d2430" stroke-width="2.5"/><circle cx="{cx}" cy="{cy}" r="5" fill="#1d2430"/>"##
    );
    let _ = write!(
        svg,
        r##"<text x="{cx}" y="{}" font-size="15" text-anchor="middle" font-weight="600">{} {}</text><text x="{cx}" y="{}" font-size="11" text-anchor="middle" fill="#5b6675">{today}</text></svg>"##,
        cy + 28.0,
        if lang == Lang::Da { "Cyklus" } else { "Cycle" },
        cycle.year(),
        cy + 44.0
    );
    (svg, legend, cycle.year())
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn index(
    State(state): State<AppState>,
    v: Visitor,
    axum::extract::Query(f): axum::extract::Query<Filter>,
) -> Response {
    let lang = v.lang;
    let today = state.today();
    let area = f
        .area
        .as_deref()
        .filter(|a| !a.is_empty())
        .and_then(Area::parse);
    let level = f
        .level
        .as_deref()
        .and_then(|l| l.parse::<u8>().ok())
        .and_then(Level::new);
    let filter = StatusFilter {
        area,
        level,
        overdue: false,
    };
    let rows = match state
        .store()
        .status(today, &filter, Some(state.secretariat_email()))
        .await
    {
        Ok(rows) => rows
            .into_iter()
            .filter(|r| v.who.sees(&r.unit_id))
            .collect::<Vec<_>>(),
        Err(e) => return Problem::from(e).into_response(),
    };
    let (wheel, phases, cycle) = wheel_svg(&state, today, lang);
    let mut counts: BTreeMap<Option<Step>, usize> = BTreeMap::new();
    for r in &rows {
        *counts.entry(r.step).or_default() += 1;
    }
    let steps: Vec<Value> = counts
        .iter()
        .map(|(s, n)| context! { key => s.map_or("none", Step::key), name => step_name(*s, lang), count => n })
        .collect();
    let row = |r: &hjul_store::StatusRow| {
        context! {
            unit_id => r.unit_id.clone(),
            name => r.name.clone(),
            level => r.level,
            step_name => step_name(r.step, lang),
            deadline_name => r.next_deadline.map(|n| deadline_label(n.deadline.key(), lang)),
            due => r.next_deadline.map(|n| n.due.to_string()),
            overdue_days => r.overdue_days,
            responsible => r.responsible.clone(),
            agreement => r.agreement.as_ref().map(|a| match a.score {
                Some(s) => format!("{} · {s}", step_label(&serde_json::to_value(a.state).ok().and_then(|x| x.as_str().map(str::to_owned)).unwrap_or_default(), lang)),
                None => step_label(&serde_json::to_value(a.state).ok().and_then(|x| x.as_str().map(str::to_owned)).unwrap_or_default(), lang),
            }).unwrap_or_default(),
        }
    };
    let overdue: Vec<Value> = rows
        .iter()
        .filter(|r| r.overdue_days > 0)
        .map(row)
        .collect();
    let all: Vec<Value> = rows.iter().map(row).collect();
    let areas: Vec<Value> = Area::ALL
        .iter()
        .map(|a| context! { key => a.key(), name => area_name(a.key(), lang) })
        .collect();
    let title = texts(lang)["wheel"];
    page(
        &state,
        Some(&v),
        lang,
        &v.path,
        title,
        "index.html",
        &context! {
            cycle => cycle,
            today => today.to_string(),
            wheel => wheel,
            phases => phases,
            steps => steps,
            total => rows.len(),
            overdue => overdue,
            rows => all,
            areas => areas,
            area => area.map(Area::key),
            level => level.map(Level::number),
            message => f.msg,
        },
    )
}

async fn unit(
    State(state): State<AppState>,
    v: Visitor,
    Path(unit_id): Path<String>,
    axum::extract::Query(f): axum::extract::Query<Filter>,
) -> Response {
    unit_page(&state, &v, &unit_id, f.msg, None).await
}

/// What a refused form held, shown again with the reason so nothing typed is lost.
struct Draft {
    /// Which form: dialogue, agreement, midway or sign.
    form: &'static str,
    on: String,
    text: String,
    problem: Problem,
}

async fn unit_page(
    state: &AppState,
    v: &Visitor,
    unit_id: &str,
    message: Option<String>,
    draft: Option<Draft>,
) -> Response {
    let lang = v.lang;
    if v.who.may_see(unit_id).is_err() {
        return (StatusCode::NOT_FOUND, Html("<h1>404</h1>")).into_response();
    }
    let today = state.today();
    let t = match state
        .store()
        .timeline(unit_id, today, Some(state.secretariat_email()))
        .await
    {
        Ok(t) => t,
        Err(e) => return Problem::from(e).into_response(),
    };
    let words = texts(lang);
    let deadlines: Vec<Value> = t
        .deadlines
        .iter()
        .map(|d| {
            let (state_text, late) = match d.state {
                DeadlineState::Met { on, late_days: 0 } => (format!("{} {on}", words["met"]), false),
                DeadlineState::Met { on, late_days } => (format!("{} {on} ({late_days} {})", words["met"], words["late"]), false),
                DeadlineState::Waiting => (words["waits"].to_owned(), false),
                DeadlineState::NotOpen { opens } => (format!("{} {opens}", words["opens"]), false),
                DeadlineState::Open { .. } => (words["open"].to_owned(), false),
                DeadlineState::Overdue { days } => (format!("{days} {}", words["late"]), true),
            };
            context! {
                name => deadline_label(d.status.deadline.key(), lang),
                due => d.status.due.map(|x| x.to_string()).unwrap_or_else(|| words["none"].to_owned()),
                state => state_text,
                late => late,
                who => d.who.clone(),
            }
        })
        .collect();
    let records = v.who.may_record(unit_id).is_ok();
    let can_dialogue = t.step == Some(Step::AwaitingDialogue) && records;
    let can_submit = matches!(
        t.step,
        Some(Step::AwaitingAgreement | Step::AwaitingSignature)
    ) && records;
    let can_midway = t.step == Some(Step::InForce) && records;
    let can_sign = t.step == Some(Step::AwaitingSignature) && v.who.may_sign(unit_id).is_ok();
    let next = t
        .next_deadline
        .map(|n| format!("{} {}", deadline_label(n.deadline.key(), lang), n.due));
    let status = draft
        .as_ref()
        .map_or(StatusCode::OK, |d| d.problem.status_code());
    let line = if lang == Lang::Da { "linje" } else { "line" };
    let (error, error_items) = draft.as_ref().map_or((None, Vec::new()), |d| {
        (
            Some(format!(
                "{}: {}",
                texts(lang)["not_saved"],
                d.problem.detail
            )),
            d.problem
                .errors
                .iter()
                .map(|e| match (e.line, &e.field) {
                    (Some(l), Some(f)) => format!("{line} {l}, {f}: {}", e.message),
                    (Some(l), None) => format!("{line} {l}: {}", e.message),
                    (None, Some(f)) => format!("{f}: {}", e.message),
                    (None, None) => e.message.clone(),
                })
                .collect(),
        )
    });
    let draft = draft.map(|d| context! { form => d.form, on => d.on, text => d.text });
    let mut response = page(
        state,
        Some(v),
        lang,
        &v.path,
        &t.unit.name.clone(),
        "unit.html",
        &context! {
            unit => Value::from(Serde(&t.unit)),
            cycle => t.cycle,
            step => step_name(t.step, lang),
            next => next,
            deadlines => deadlines,
            events => Value::from(Serde(&t.events)),
            agreements => Value::from(Serde(&t.agreements)),
            can_dialogue => can_dialogue,
            can_submit => can_submit,
            can_midway => can_midway,
            can_sign => can_sign,
            today => today.to_string(),
            message => message,
            error => error,
            error_items => error_items,
            draft => draft,
        },
    );
    *response.status_mut() = status;
    response
}

/// A form of the unit page. The date stays text until it is checked, so a mistyped one
/// comes back in the form with the reason instead of a bare 422.
#[derive(Deserialize)]
struct UnitForm {
    csrf: String,
    on: String,
    /// The dialogue's notes, or the agreement's or the grades' TOML.
    #[serde(default)]
    text: String,
}

impl UnitForm {
    fn date(&self) -> Result<NaiveDate, Problem> {
        self.on.trim().parse().map_err(|_| {
            Problem::bad_request(format!(
                "`{}` is not a date: write it as YYYY-MM-DD",
                self.on
            ))
            .field("on")
        })
    }
}

/// The refusal for a form whose CSRF value does not match the session, or `None`.
fn stale_form(v: &Visitor, given: &str) -> Option<Response> {
    (given != csrf_of(&v.who.token)).then(|| {
        (
            StatusCode::FORBIDDEN,
            Html("<h1>403</h1><p>The form is out of date: reload the page and try again.</p>"),
        )
            .into_response()
    })
}

/// The unit page's forms, by the last part of their path.
#[derive(Clone, Copy)]
enum UnitAction {
    Dialogue,
    Agreement,
    Midway,
    Sign,
}

impl UnitAction {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "dialogue" => Self::Dialogue,
            "agreement" => Self::Agreement,
            "midway" => Self::Midway,
            "sign" => Self::Sign,
            _ => return None,
        })
    }

    /// The form's name in the template, and what was attempted (for the audit log).
    fn names(self) -> (&'static str, &'static str) {
        match self {
            Self::Dialogue => ("dialogue", "record a dialogue"),
            Self::Agreement => ("agreement", "submit an agreement"),
            Self::Midway => ("midway", "give a midway status"),
            Self::Sign => ("sign", "sign an agreement"),
        }
    }
}

/// One handler for the unit page's forms: the same checks in the same order as the API
/// (CSRF, then access, then the input, then the wheel's rules in the store).
async fn unit_form(
    State(state): State<AppState>,
    v: Visitor,
    Path((unit_id, action)): Path<(String, String)>,
    Form(f): Form<UnitForm>,
) -> Response {
    let Some(action) = UnitAction::parse(&action) else {
        return (StatusCode::NOT_FOUND, Html("<h1>404</h1>")).into_response();
    };
    if let Some(r) = stale_form(&v, &f.csrf) {
        return r;
    }
    let result = async {
        match action {
            UnitAction::Sign => v.who.may_sign(&unit_id)?,
            _ => v.who.may_record(&unit_id)?,
        }
        let on = f.date()?;
        let (store, stamp) = (state.store(), v.who.stamp(&state));
        match action {
            UnitAction::Dialogue => {
                let notes = Some(f.text.clone()).filter(|n| !n.trim().is_empty());
                store.record_dialogue(&unit_id, on, notes, &stamp).await?;
            }
            UnitAction::Agreement => {
                store
                    .submit_agreement(&unit_id, on, &f.text, "the form", &stamp)
                    .await?;
            }
            UnitAction::Midway => {
                store
                    .give_midway(&unit_id, on, &f.text, "the form", &stamp)
                    .await?;
            }
            UnitAction::Sign => {
                store.sign_agreement(&unit_id, on, &stamp).await?;
            }
        }
        Ok(())
    }
    .await;
    after_form(&state, &v, &unit_id, action.names(), f, result).await
}

/// Saved: back to the unit page (a reload does not send the form again). Refused: the
/// refusal goes to the audit log and the page comes again with the form as it was.
async fn after_form(
    state: &AppState,
    v: &Visitor,
    unit_id: &str,
    (form, what): (&'static str, &str),
    f: UnitForm,
    result: Result<(), Problem>,
) -> Response {
    match result {
        Ok(()) => {
            let saved = if v.lang == Lang::Da {
                "Gemt."
            } else {
                "Saved."
            };
            Redirect::to(&format!("/units/{unit_id}?msg={}", percent_encode(saved))).into_response()
        }
        Err(problem) => {
            let _ = state
                .store()
                .audit_refusal(&v.who.stamp(state), what, "unit", unit_id, &problem.detail)
                .await;
            let draft = Draft {
                form,
                on: f.on,
                text: f.text,
                problem,
            };
            unit_page(state, v, unit_id, None, Some(draft)).await
        }
    }
}

async fn login_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let lang = if cookie_in(&headers, LANG_COOKIE).as_deref() == Some("en") {
        Lang::En
    } else {
        Lang::Da
    };
    let csrf: String = uuid::Uuid::new_v4().simple().to_string();
    let mut response = page(
        &state,
        None,
        lang,
        "/login",
        texts(lang)["sign_in"],
        "login.html",
        &context! { csrf => csrf.clone() },
    );
    set_cookie(
        &mut response,
        &headers,
        &format!("{LOGIN_CSRF_COOKIE}={csrf}; HttpOnly; SameSite=Strict; Path=/login"),
    );
    response
}

/// Adds a cookie to `response`, marked `Secure` when the request came over HTTPS through
/// a reverse proxy (`X-Forwarded-Proto: https`): the browser then never sends it over
/// plain HTTP. hjul itself speaks plain HTTP, for 127.0.0.1 or behind such a proxy.
fn set_cookie(response: &mut Response, request: &HeaderMap, cookie: &str) {
    let https = request
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let cookie = if https {
        format!("{cookie}; Secure")
    } else {
        cookie.to_owned()
    };
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

#[derive(Deserialize)]
struct LoginForm {
    csrf: String,
    token: String,
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let expected = cookie_in(&headers, LOGIN_CSRF_COOKIE);
    if expected.as_deref() != Some(f.csrf.as_str()) {
        return (StatusCode::FORBIDDEN, Html("<h1>403</h1><p>The sign-in form is out of date: <a href=\"/login\">open it again</a>.</p>")).into_response();
    }
    let token = f.token.trim();
    match state.store().token_holder(token).await {
        Ok(Some(_)) => {
            let mut r = Redirect::to("/").into_response();
            set_cookie(
                &mut r,
                &headers,
                &format!(
                    "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200"
                ),
            );
            r
        }
        Ok(None) => {
            tracing::info!("a sign-in with an unknown or revoked token");
            (
                StatusCode::UNAUTHORIZED,
                Html(
                    "<h1>401</h1><p>That token is not valid. <a href=\"/login\">Try again</a>.</p>",
                ),
            )
                .into_response()
        }
        Err(e) => Problem::from(e).into_response(),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(v: Visitor, headers: HeaderMap, Form(f): Form<CsrfForm>) -> Response {
    if let Some(r) = stale_form(&v, &f.csrf) {
        return r;
    }
    let mut r = Redirect::to("/login").into_response();
    set_cookie(
        &mut r,
        &headers,
        &format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    r
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

async fn set_lang(
    Path(lang): Path<String>,
    headers: HeaderMap,
    axum::extract::Query(b): axum::extract::Query<Back>,
) -> Response {
    let lang = if lang == "en" { "en" } else { "da" };
    let back = b
        .back
        .filter(|p| is_local_path(p))
        .unwrap_or_else(|| "/".to_owned());
    let mut r = Redirect::to(&back).into_response();
    set_cookie(
        &mut r,
        &headers,
        &format!("{LANG_COOKIE}={lang}; SameSite=Lax; Path=/; Max-Age=31536000"),
    );
    r
}

/// A path on this site, so a redirect to it never leaves it (`//host` and `/\host`
/// are other sites to a browser).
fn is_local_path(p: &str) -> bool {
    p.starts_with('/') && !p.starts_with("//") && !p.starts_with("/\\") && !p.contains(['\r', '\n'])
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
    fn the_language_switch_only_returns_to_this_site() {
        assert!(is_local_path("/units/dt-nord-1?x=1"));
        assert!(!is_local_path("//evil.example/"));
        assert!(!is_local_path("/\\evil.example/"));
        assert!(!is_local_path("https://evil.example/"));
        assert!(!is_local_path("/\r\nSet-Cookie: x=1"));
    }

    #[test]
    fn cookies_are_secure_behind_an_https_proxy_only() {
        let cookie_of = |proto: Option<&str>| {
            let mut request = HeaderMap::new();
            if let Some(p) = proto {
                request.insert("x-forwarded-proto", HeaderValue::from_str(p).unwrap());
            }
            let mut response = Redirect::to("/").into_response();
            set_cookie(&mut response, &request, "a=b; HttpOnly");
            response.headers()[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(cookie_of(None), "a=b; HttpOnly");
        assert_eq!(cookie_of(Some("http")), "a=b; HttpOnly");
        assert_eq!(cookie_of(Some("HTTPS")), "a=b; HttpOnly; Secure");
    }
}
