//! The overview (the wheel, what waits for the visitor, the overdue list, every unit) and
//! a page per unit with the forms the wheel's rules and the visitor's rights allow: the
//! dialogue, the signature, links to the agreement editor and the midway form, and for
//! the secretariat a correction of any recorded event.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use hjul_app::UnitRecord;
use hjul_store::{Correction, Role, StatusFilter, StatusRow};
use hjul_wheel::{Area, DeadlineState, EventKind, Level, Step, Text, UnitId};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use super::words::Lang;
use super::{Page, Visitor, error_page, fresh, read_form, refuse, stale_problem};
use crate::AppState;
use crate::problem::Problem;

/// A query string's fields (at most a few dozen; the rest are ignored).
pub fn query(uri: &Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .take(50)
        .collect()
}

/// The confirmation a saved form comes back with (`?done=dialogue&cycle=2025`): only
/// known words, with numbers only.
pub fn flash(state: &AppState, lang: Lang, q: &HashMap<String, String>) -> Option<String> {
    let done = q.get("done")?;
    let key = flash_key(&format!("flash.{done}"))?;
    let words = state.words();
    let number = |k: &str| {
        q.get(k)
            .and_then(|v| v.parse::<i64>().ok())
            .map(hjul_wheel::Arg::Number)
            .unwrap_or(hjul_wheel::Arg::Plain(String::new()))
    };
    let text = Text::new(key)
        .arg("cycle", number("cycle"))
        .arg("revision", number("revision"))
        .arg("count", number("count"));
    Some(words.text(lang, &text))
}

/// The confirmations there are (a query string names one; nothing else is shown).
fn flash_key(key: &str) -> Option<&'static str> {
    const KEYS: [&str; 23] = [
        "flash.dialogue",
        "flash.goal_status",
        "flash.review",
        "flash.sign",
        "flash.agreement",
        "flash.midway",
        "flash.correct",
        "flash.draft",
        "flash.import",
        "flash.token",
        "flash.revoked",
        "flash.signed_out",
        "flash.tokens_on",
        "flash.tokens_off",
        "flash.milestone",
        "flash.cycle",
        "flash.retry",
        "flash.final_report",
        "flash.deputy",
        "flash.deputy_ended",
        "flash.sits_out",
        "flash.back_in",
        "flash.anonymised",
    ];
    KEYS.into_iter().find(|k| *k == key)
}

fn area_of(q: &HashMap<String, String>) -> Option<Area> {
    q.get("area").and_then(|a| Area::parse(a))
}

fn level_of(q: &HashMap<String, String>) -> Option<Level> {
    q.get("level")
        .and_then(|l| l.parse::<u8>().ok())
        .and_then(Level::new)
}

/// The overview's filter, as the page and the exports read it.
pub fn filter_of(q: &HashMap<String, String>) -> StatusFilter {
    StatusFilter {
        area: area_of(q),
        level: level_of(q),
        overdue: q.get("overdue").is_some_and(|v| v == "1" || v == "on"),
    }
}

/// The filter as a query string, for links that keep it.
pub fn filter_query(f: &StatusFilter) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    if let Some(a) = f.area {
        s.append_pair("area", a.key());
    }
    if let Some(l) = f.level {
        s.append_pair("level", &l.number().to_string());
    }
    if f.overdue {
        s.append_pair("overdue", "1");
    }
    s.finish()
}

/// How many rows a long table of the overview shows at a time.
pub const PAGE: usize = 100;

/// The rows of the status the visitor sees.
pub async fn visible_rows(
    state: &AppState,
    v: &Visitor,
    (filter, view): (&StatusFilter, hjul_app::View),
) -> Result<Vec<StatusRow>, Problem> {
    Ok(state
        .core()
        .status(&v.who, state.today(), (view, &filter.terms()))
        .await?
        .rows()
        .filter(|r| filter.keeps(r))
        .cloned()
        .collect())
}

/// A status row as the pages show it.
pub fn row_value(state: &AppState, lang: Lang, r: &StatusRow) -> RowView {
    let words = state.words();
    let step = r.step.map_or("none", Step::key);
    RowView {
        unit_id: r.unit_id.clone(),
        name: r.name.clone(),
        level: r.level,
        area: words.word(lang, &format!("area.{}", r.area)),
        step,
        step_name: words.word(lang, &format!("step.{step}")),
        deadline_name: r
            .next_deadline
            .map(|n| words.word(lang, &format!("deadline.{}", n.deadline.key()))),
        due: r.next_deadline.map(|n| n.due.to_string()),
        overdue_days: r.overdue_days,
        responsible: r.responsible.clone(),
        responsible_name: if r.responsible_name.is_empty() {
            words.word(lang, "party.secretariat")
        } else {
            r.responsible_name.clone()
        },
        agreement: r.agreement.as_ref().map(|a| AgreementBrief {
            state: words.word(lang, &format!("agreement_state.{}", a.state.key())),
            score: a.score.map(hjul_wheel::Score::percent),
        }),
    }
}

/// A unit's row in the overview's tables, in the page's words.
#[derive(Serialize)]
pub struct RowView {
    unit_id: String,
    name: String,
    level: u8,
    area: String,
    step: &'static str,
    step_name: String,
    deadline_name: Option<String>,
    due: Option<String>,
    overdue_days: i64,
    responsible: String,
    responsible_name: String,
    agreement: Option<AgreementBrief>,
}

#[derive(Serialize)]
pub struct AgreementBrief {
    state: String,
    score: Option<f64>,
}

/// `/was`: to the municipality's accessibility statement (made in Digitaliseringsstyrelsen's
/// WAS-Tool), as the law asks every public site to link it; signed in or not. Without
/// one in `hjul.toml`, a page that says so.
pub async fn accessibility_statement(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Response {
    match state.accessibility_statement() {
        Some(url) => Redirect::to(url).into_response(),
        None => error_page(
            &state,
            super::sessions::lang_of(&headers),
            None,
            Problem::new(
                axum::http::StatusCode::NOT_FOUND,
                "no_accessibility_statement",
                "no accessibility statement is configured ([web] accessibility_statement)",
            )
            .text(Text::new("layout.no_statement")),
        ),
    }
}

pub async fn overview(State(state): State<AppState>, v: Visitor, uri: Uri) -> Response {
    let lang = v.lang;
    let q = query(&uri);
    let filter = filter_of(&q);
    let today = state.today();
    // Shared with every reader of the day until something changes: the page reads the
    // rows it shows without copying the rest.
    // The filter's terms, and the step picked on the wheel, for the read log.
    let mut terms = filter.terms();
    if let Some(step) = q.get("step") {
        terms.push(("step", step.clone()));
    }
    let seen = match state
        .core()
        .status(&v.who, today, (hjul_app::View::Status, &terms))
        .await
    {
        Ok(seen) => seen,
        Err(e) => return error_page(&state, lang, Some(&v), e.into()),
    };
    let all: Vec<&StatusRow> = seen.rows().collect();
    // A step picked on the wheel (its count's link).
    let step = q
        .get("step")
        .and_then(|s| Step::ALL.into_iter().find(|x| x.key() == s.as_str()));
    let matches = |r: &&StatusRow| {
        filter.area.is_none_or(|a| a == r.area)
            && filter.level.is_none_or(|l| l.number() == r.level)
            && (!filter.overdue || r.overdue_days > 0)
            && step.is_none_or(|s| r.step == Some(s))
    };
    let rows: Vec<&StatusRow> = all.iter().copied().filter(matches).collect();
    // What waits for this visitor's signature comes first.
    let to_sign: Vec<RowView> = all
        .iter()
        // Awaiting signature, and the signature's deadline is open (it may wait for the
        // focus themes: then there is nothing to sign yet).
        .filter(|r| {
            r.step == Some(Step::AwaitingSignature)
                && r.next_deadline
                    .is_some_and(|n| n.deadline == hjul_wheel::Deadline::AgreementSigned)
        })
        .filter(|r| {
            v.who.role() != Role::Secretariat
                && v.who
                    .may(&state, EventKind::AgreementSigned, &r.unit_id)
                    .is_ok()
        })
        .map(|r| row_value(&state, lang, r))
        .collect();
    let (wheel, legend, cycle) = super::drawing::wheel(&state, today, lang, &rows);
    let mut counts: BTreeMap<Option<Step>, usize> = BTreeMap::new();
    for r in &rows {
        *counts.entry(r.step).or_default() += 1;
    }
    let words = state.words();
    let steps: Vec<Value> = counts
        .iter()
        .map(|(s, n)| {
            let key = s.map_or("none", Step::key);
            context! { key => key, name => words.word(lang, &format!("step.{key}")), count => n }
        })
        .collect();
    // Long tables are shown a page at a time: a department of thousands of units is
    // read in one query, but a page of them is what a person reads (and what a browser
    // draws quickly).
    let overdue_rows: Vec<&&StatusRow> = rows.iter().filter(|r| r.overdue_days > 0).collect();
    let overdue: Vec<RowView> = overdue_rows
        .iter()
        .take(PAGE)
        .map(|r| row_value(&state, lang, r))
        .collect();
    let pages = rows.len().div_ceil(PAGE).max(1);
    let page = q
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let listed: Vec<RowView> = rows
        .iter()
        .skip((page - 1) * PAGE)
        .take(PAGE)
        .map(|r| row_value(&state, lang, r))
        .collect();
    let page_query = |n: usize| {
        let mut s = form_urlencoded::Serializer::new(filter_query(&filter));
        if let Some(step) = step {
            s.append_pair("step", step.key());
        }
        s.append_pair("page", &n.to_string());
        s.finish()
    };
    let areas: Vec<Value> = Area::ALL
        .iter()
        .map(
            |a| context! { key => a.key(), name => words.word(lang, &format!("area.{}", a.key())) },
        )
        .collect();
    // Whether the cycle's final report is kept (its hash only: not the file).
    let final_report = state.core().final_report_kept(cycle).await.unwrap_or(false);
    Page::of(&state, &v, "index.html", "overview.title")
        .message(flash(&state, lang, &q))
        .render(OverviewPage {
            cycle,
            final_report,
            today: today.to_string(),
            wheel,
            phases: legend,
            steps,
            total: rows.len(),
            to_sign,
            overdue,
            overdue_total: overdue_rows.len(),
            overdue_more: overdue_rows.len().saturating_sub(PAGE),
            rows: listed,
            page,
            pages,
            first: ((page - 1) * PAGE + 1).min(rows.len()),
            last: (page * PAGE).min(rows.len()),
            prev_query: page_query(page.saturating_sub(1).max(1)),
            next_query: page_query((page + 1).min(pages)),
            areas,
            area: filter.area.map(Area::key),
            level: filter.level.map(Level::number),
            only_overdue: filter.overdue,
            filter_query: filter_query(&filter),
        })
}

/// What the overview (`index.html`) shows.
#[derive(Serialize)]
struct OverviewPage {
    cycle: i32,
    /// Whether the cycle's final report is kept.
    final_report: bool,
    today: String,
    /// The wheel drawn (SVG).
    wheel: String,
    phases: Vec<Value>,
    /// Units per step, with the step's name.
    steps: Vec<Value>,
    total: usize,
    /// What waits for the visitor's signature.
    to_sign: Vec<RowView>,
    overdue: Vec<RowView>,
    overdue_total: usize,
    overdue_more: usize,
    /// This page of every unit.
    rows: Vec<RowView>,
    page: usize,
    pages: usize,
    first: usize,
    last: usize,
    prev_query: String,
    next_query: String,
    areas: Vec<Value>,
    area: Option<&'static str>,
    level: Option<u8>,
    only_overdue: bool,
    filter_query: String,
}

/// What a refused unit form held, shown again with the reason so nothing typed is lost.
pub struct Refused {
    /// Which form: dialogue, sign, goal_status or review.
    pub form: &'static str,
    pub on: String,
    pub text: String,
    /// The goal status form's statuses, one per goal, as typed.
    pub statuses: Vec<String>,
    /// The dialogue's "for the report" box, as ticked.
    pub for_report: bool,
    /// The deputy form, as typed.
    pub deputy: Option<super::deputies::DeputyDraft>,
    /// The cycle the form's date falls in, when it is not the page's: offered as a
    /// button that records it there.
    pub other_cycle: Option<i32>,
    pub problem: Problem,
}

pub async fn unit(
    State(state): State<AppState>,
    v: Visitor,
    Path(unit_id): Path<String>,
    uri: Uri,
) -> Response {
    let q = query(&uri);
    let message = flash(&state, v.lang, &q);
    let cycle = q.get("cycle").and_then(|c| c.parse().ok());
    unit_page(&state, &v, &unit_id, message, None, cycle).await
}

/// The words of a problem's texts in the page's language (the detail when it has none).
pub fn problem_lines(state: &AppState, lang: Lang, p: &Problem) -> Vec<String> {
    let words = state.words();
    let mut lines: Vec<String> = p
        .texts
        .iter()
        .map(|t| {
            let text = words.text(lang, &t.text);
            match (t.line, t.item) {
                (Some(l), _) => format!("{} {l}: {text}", words.word(lang, "word.line")),
                _ => text,
            }
        })
        .collect();
    if lines.is_empty() {
        lines.push(match lang {
            Lang::En => p.detail.clone(),
            Lang::Da => words.word(lang, &format!("error.status.{}", super::group(p.status))),
        });
    }
    lines
}

/// What a page shows of a refused form: its status, the line above the form (`heading`,
/// a catalogue key), and every problem in the page's language.
pub fn refusal_view(
    state: &AppState,
    lang: Lang,
    problem: Option<&Problem>,
    heading: &str,
) -> (axum::http::StatusCode, Option<String>, Vec<String>) {
    match problem {
        Some(p) => (
            p.status_code(),
            Some(state.words().word(lang, heading)),
            problem_lines(state, lang, p),
        ),
        None => (axum::http::StatusCode::OK, None, Vec::new()),
    }
}

/// A deadline's state as pages and spreadsheets name it: its key, the date that goes with
/// it, and the days late.
pub fn deadline_state(state: DeadlineState) -> (&'static str, Option<NaiveDate>, i64) {
    match state {
        DeadlineState::Met { on, late_days } => ("met", Some(on), late_days),
        DeadlineState::Waiting => ("waiting", None, 0),
        DeadlineState::NotOpen { opens } => ("not_open", Some(opens), 0),
        DeadlineState::Open { .. } => ("open", None, 0),
        DeadlineState::Overdue { days } => ("overdue", None, days),
        DeadlineState::NotOwed { joined } => ("not_owed", Some(joined), 0),
    }
}

/// The unit a page is about, if the visitor sees it; else the page that says there is no
/// such unit.
fn seen_unit(state: &AppState, v: &Visitor, unit_id: &str) -> Result<UnitId, Box<Response>> {
    v.who.may_see(unit_id).map_err(|p| {
        Box::new(error_page(
            state,
            v.lang,
            Some(v),
            p.text(Text::new("error.no_unit").arg("unit", hjul_wheel::limits::clip(unit_id, 64))),
        ))
    })
}

pub async fn unit_page(
    state: &AppState,
    v: &Visitor,
    unit_id: &str,
    message: Option<String>,
    refused: Option<Refused>,
    cycle: Option<i32>,
) -> Response {
    let lang = v.lang;
    let unit = match seen_unit(state, v, unit_id) {
        Ok(unit) => unit,
        Err(page) => return *page,
    };
    // The cycle shown: the running one, or another on record the page asks for
    // (`?cycle=2023`), as it stood on its last day. Its forms record in it.
    let on_record: Vec<i32> = state
        .core()
        .cycles()
        .await
        .unwrap_or_default()
        .iter()
        .map(|c| c.year)
        .collect();
    let today = state.today();
    let cycles = &state.core().wheel().definition.cycles;
    let at = cycle
        .filter(|y| on_record.contains(y))
        .and_then(|y| cycles.cycle(y).ok())
        .filter(|c| c.starts() <= today)
        .map_or(today, |c| c.ends().min(today));
    let running = at == today;
    let today = at;
    let t = match state.core().timeline(&v.who, unit.as_str(), today).await {
        Ok(t) => t,
        Err(e) => return error_page(state, lang, Some(v), e.into()),
    };
    let words = state.words();
    let deadlines: Vec<Value> = t
        .deadlines
        .iter()
        .map(|d| {
            let (key, date, days) = deadline_state(d.state);
            context! {
                name => crate::export::deadline_name(&|k| words.word(lang, k), &d.status),
                due => d.status.due.map(|x| x.to_string()),
                state => key,
                date => date.map(|x| x.to_string()),
                days => days,
                who => d.who.clone(),
                who_name => if d.who_name.is_empty() { words.word(lang, "party.secretariat") } else { d.who_name.clone() },
            }
        })
        .collect();
    let may = |k: EventKind| t.allowed.contains(&k) && v.who.may(state, k, unit_id).is_ok();
    let secretariat = v.who.role() == Role::Secretariat;
    // Who recorded what, by name as the log shows them (never `oidc:…` or `api:…`).
    let dir = state.core().directory(&v.who).await.ok();
    let by = |stamp: &str| match &dir {
        Some(d) => super::log::who(d, stamp),
        None => stamp.trim_start_matches("api:").to_owned(),
    };
    let corrections = state
        .core()
        .corrections(&v.who, unit.as_str(), t.cycle)
        .await
        .unwrap_or_default();
    let events: Vec<Value> = t
        .events
        .iter()
        .map(|e| {
            let correction = corrections.iter().find(|c| c.event_id == e.id);
            context! {
                id => e.id.to_string(),
                on => e.on.to_string(),
                kind => words.word(lang, &format!("event.{}", e.kind.key())),
                revision => e.revision,
                notes => e.notes.clone(),
                recorded_by => by(&e.recorded_by),
                superseded => e.superseded,
                correction => correction.map(|c| context! {
                    action => words.word(lang, &format!("correct.action.{}", c.action.key())),
                    reason => c.reason.clone(),
                    by => by(&c.recorded_by),
                }),
            }
        })
        .collect();
    let agreements: Vec<Value> = t
        .agreements
        .iter()
        .map(|a| {
            context! {
                revision => a.revision,
                submitted_on => a.submitted_on.to_string(),
                signed_on => a.signed_on.map(|d| d.to_string()),
                score => a.score.map(hjul_wheel::Score::percent),
                goals => a.goals.iter().map(|g| context! {
                    title => g.title.clone(),
                    dimension => words.word(lang, &format!("dimension.{}", g.dimension)),
                    kind => words.word(lang, &format!("kind.{}", g.kind)),
                    horizon => words.word(lang, &format!("horizon.{}", g.horizon)),
                    weight => g.weight,
                    indicator => g.indicator.as_ref().map(|i| indicator_name(state, lang, i)),
                    baseline => g.baseline.clone(),
                    partly_met => g.partly_met.clone(),
                    fully_met => g.fully_met.clone(),
                    activities => g.activities.clone(),
                    target_date => g.target_date.to_string(),
                    grade => g.grade.as_ref().map(|x| words.word(lang, &format!("grade.{x}"))),
                    grade_note => g.grade_note.clone(),
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    let (deputies, can_name_deputy) = match state.core().deputies(&v.who, unit.as_str()).await {
        Ok(d) => d,
        Err(e) => return error_page(state, lang, Some(v), e.into()),
    };
    // Who stands in now, on any cycle's page: the deputies are of the present.
    let now = state.today();
    let deputy_now = deputies
        .iter()
        .find(|d| d.period().covers(now))
        .map(|d| d.name.clone());
    let deputies: Vec<Value> = deputies
        .iter()
        .map(|d| {
            context! {
                id => d.id.to_string(),
                name => d.name.clone(),
                email => d.email.clone(),
                starts_on => d.starts_on.map(|x| x.to_string()),
                ends_on => d.ends_on.map(|x| x.to_string()),
                now => d.period().covers(now),
                named_by => by(&d.named_by),
            }
        })
        .collect();
    let figures = match super::figures::unit_figures(state, v, &unit).await {
        Ok(f) => f,
        Err(p) => return error_page(state, lang, Some(v), p),
    };
    let step = t.step.map_or("none", Step::key);
    let (status, error, error_lines) = refusal_view(
        state,
        lang,
        refused.as_ref().map(|r| &r.problem),
        "form.not_saved",
    );
    let draft = refused.as_ref().map(|r| UnitDraft {
        form: r.form,
        on: r.on.clone(),
        text: r.text.clone(),
        statuses: r.statuses.clone(),
        for_report: r.for_report,
        deputy: r.deputy.clone(),
        other_cycle: r.other_cycle,
    });
    // The goals of the agreement in force, for the status on each of them.
    let in_force_goals: Vec<String> = t
        .agreements
        .iter()
        .filter(|a| a.signed_on.is_some())
        .max_by_key(|a| a.revision)
        .map(|a| a.goals.iter().map(|g| g.title.clone()).collect())
        .unwrap_or_default();
    let milestones: Vec<Value> = t
        .milestones
        .iter()
        .map(|m| {
            context! {
                name => words.word(lang, &format!("deadline.{}", m.milestone)),
                on => m.met_on.to_string(),
                themes => m.themes.clone(),
            }
        })
        .collect();
    Page::of(state, v, "unit.html", "unit.title")
        .title(t.unit.name.clone())
        .message(message)
        .error(error)
        .status(status)
        .render(UnitPage {
            unit: UnitHead {
                unit_id: t.unit.unit_id.clone(),
                name: t.unit.name.clone(),
                level: t.unit.level,
                area: words.word(lang, &format!("area.{}", t.unit.area)),
                parent_seen: t.unit.parent.as_ref().is_some_and(|(p, _)| v.who.sees(p)),
                parent: t.unit.parent.clone(),
                leader_name: t.unit.leader_name.clone(),
                leader_email: t.unit.leader_email.clone(),
            },
            other_cycles: on_record
                .iter()
                .copied()
                .filter(|y| {
                    *y != t.cycle && cycles.cycle(*y).is_ok_and(|c| c.starts() <= state.today())
                })
                .collect(),
            running,
            cycle: t.cycle,
            step,
            step_name: words.word(lang, &format!("step.{step}")),
            next: t.next_deadline.map(|n| NextView {
                name: words.word(lang, &format!("deadline.{}", n.deadline.key())),
                due: n.due.to_string(),
            }),
            overdue_days: t.overdue_days,
            deadlines,
            milestones,
            events,
            agreements,
            figures,
            min_responses: state.min_responses(),
            can_dialogue: may(EventKind::DialogueHeld),
            can_submit: may(EventKind::AgreementSubmitted),
            can_sign: may(EventKind::AgreementSigned),
            // Awaiting a signature the rules do not allow yet: why, for whoever signs.
            sign_waits: (t.step == Some(Step::AwaitingSignature)
                && !t.allowed.contains(&EventKind::AgreementSigned)
                && v.who
                    .may(state, EventKind::AgreementSigned, unit_id)
                    .is_ok())
            .then(|| t.why_not_sign.as_ref().map(|r| words.text(lang, &r.text())))
            .flatten(),
            can_midway: may(EventKind::MidwayGiven),
            can_goal_status: may(EventKind::GoalStatusGiven),
            can_review: may(EventKind::AgreementReviewed),
            in_force_goals,
            can_correct: secretariat,
            // A unit that came along after the running cycle began: when, and whether it
            // sits the cycle out and takes part from the next.
            joining: t.joined.filter(|_| running).map(|joined| {
                let next = t.cycle + cycles.every_years();
                JoiningView {
                    joined: joined.to_string(),
                    sits_out: cycles.cycle(next).is_ok_and(|c| c.starts() == joined),
                    next,
                    can_change: secretariat,
                }
            }),
            deputies,
            can_name_deputy,
            deputy_now,
            today: today.to_string(),
            error_lines,
            draft,
        })
}

/// What a unit's page (`unit.html`) shows.
#[derive(Serialize)]
struct UnitPage {
    unit: UnitHead,
    cycle: i32,
    /// The other cycles on record, to look at instead (`?cycle=`).
    other_cycles: Vec<i32>,
    /// Whether the cycle shown is the running one.
    running: bool,
    step: &'static str,
    step_name: String,
    next: Option<NextView>,
    overdue_days: i64,
    deadlines: Vec<Value>,
    milestones: Vec<Value>,
    events: Vec<Value>,
    agreements: Vec<Value>,
    figures: Vec<Value>,
    min_responses: u32,
    can_dialogue: bool,
    can_submit: bool,
    can_sign: bool,
    /// Why the signature waits, for whoever signs.
    sign_waits: Option<String>,
    can_midway: bool,
    can_goal_status: bool,
    can_review: bool,
    /// The titles of the goals of the agreement in force.
    in_force_goals: Vec<String>,
    can_correct: bool,
    joining: Option<JoiningView>,
    /// The unit's deputies not ended and not past, and whether the visitor may name or
    /// end them; who stands in today.
    deputies: Vec<Value>,
    can_name_deputy: bool,
    deputy_now: Option<String>,
    today: String,
    error_lines: Vec<String>,
    /// A refused form, as typed.
    draft: Option<UnitDraft>,
}

/// A unit that joined the running cycle after it began.
#[derive(Serialize)]
struct JoiningView {
    joined: String,
    /// It takes part from cycle `next` instead.
    sits_out: bool,
    next: i32,
    /// The secretariat's choice.
    can_change: bool,
}

/// Who and what a unit page is about.
#[derive(Serialize)]
struct UnitHead {
    unit_id: String,
    name: String,
    level: u8,
    area: String,
    parent: Option<(String, String)>,
    parent_seen: bool,
    leader_name: String,
    leader_email: String,
}

#[derive(Serialize)]
struct NextView {
    name: String,
    due: String,
}

/// A refused unit form, as typed.
#[derive(Serialize)]
struct UnitDraft {
    form: &'static str,
    on: String,
    text: String,
    statuses: Vec<String>,
    for_report: bool,
    deputy: Option<super::deputies::DeputyDraft>,
    other_cycle: Option<i32>,
}

/// An indicator's name in the page's language (its code when the catalogue lacks it).
pub fn indicator_name(state: &AppState, lang: Lang, code: &str) -> String {
    state.core().wheel().catalogue.get(code).map_or_else(
        || code.to_owned(),
        |i| match lang {
            Lang::Da => i.name_da.clone(),
            Lang::En => i.name_en.clone(),
        },
    )
}

/// A date as a form sends it.
pub fn form_date(text: &str) -> Result<NaiveDate, Problem> {
    hjul_wheel::agreement::parse_date(text).ok_or_else(|| {
        Problem::bad_request(format!(
            "`{}` is not a date: write it as YYYY-MM-DD",
            hjul_wheel::limits::clip(text, 40)
        ))
        .field("on")
        .text(Text::new("goal.date").arg("value", hjul_wheel::limits::clip(text.trim(), 40)))
    })
}

/// A form with a date: the dialogue, the signature and the follow-ups.
struct DateForm {
    csrf: String,
    on: String,
    text: String,
    statuses: Vec<String>,
    for_report: bool,
    /// The cycle of the page it was sent from (or the one its button named).
    cycle: Option<i32>,
}

impl DateForm {
    fn of(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self {
            csrf: String::new(),
            on: String::new(),
            text: String::new(),
            statuses: Vec::new(),
            for_report: false,
            cycle: None,
        };
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => f.csrf = v,
                "on" => f.on = v,
                "text" => f.text = v,
                "status" => f.statuses.push(v),
                // A ticked box sends its value; an unticked one sends nothing.
                "for_report" => f.for_report = v == "yes",
                // The last one sent counts: the page's, or the button's instead.
                "cycle" => f.cycle = v.trim().parse().ok(),
                _ => {}
            }
        }
        f
    }
}

/// Saved: back to the unit page with a confirmation that names the cycle (a reload does
/// not send the form again).
pub fn saved(unit_id: &str, done: &str, cycle: i32, revision: Option<u32>) -> Response {
    let mut to = format!(
        "/units/{}?done={done}&cycle={cycle}",
        super::percent_encode(unit_id)
    );
    if let Some(r) = revision {
        to.push_str(&format!("&revision={r}"));
    }
    Redirect::to(&to).into_response()
}

/// The unit page's dialogue and signature forms: the same checks in the same order as
/// the API (CSRF, then access, then the input, then the wheel's rules in the store).
async fn date_form(
    state: AppState,
    v: Visitor,
    unit_id: String,
    req: axum::extract::Request,
    kind: EventKind,
) -> Response {
    let (form_name, attempted) = match kind {
        EventKind::DialogueHeld => ("dialogue", "record a dialogue"),
        EventKind::GoalStatusGiven => ("goal_status", "give a status on the goals"),
        EventKind::AgreementReviewed => ("review", "review the agreement"),
        _ => ("sign", "sign an agreement"),
    };
    // Read as pairs: the goal status form sends one `status` per goal, in order.
    let f = match super::read_pairs(req, super::FORM_LIMIT).await {
        Ok(pairs) => DateForm::of(pairs),
        Err(p) => return refuse(&state, &v, attempted, ("unit", &unit_id), p).await,
    };
    let result: Result<i32, Problem> = async {
        if !fresh(&v, &f.csrf) {
            return Err(stale_problem());
        }
        // Access before the input is read, as the API does; the core asks it again.
        v.who.may(&state, kind, &unit_id)?;
        let on = form_date(&f.on)?;
        let record = match kind {
            EventKind::DialogueHeld => UnitRecord::Dialogue {
                on,
                notes: Some(f.text.clone()),
                for_report: f.for_report,
            },
            EventKind::GoalStatusGiven => UnitRecord::GoalStatus {
                on,
                statuses: f.statuses.clone(),
            },
            EventKind::AgreementReviewed => UnitRecord::Review {
                on,
                notes: Some(f.text.clone()),
            },
            _ => UnitRecord::Signature { on },
        };
        // The confirmation names the cycle the event was put in: the page's.
        Ok(state
            .core()
            .record_in(&v.who, &unit_id, record, f.cycle)
            .await?
            .cycle)
    }
    .await;
    match result {
        Ok(cycle) => saved(&unit_id, form_name, cycle, None),
        Err(problem) => {
            super::audit(&state, &v, attempted, ("unit", &unit_id), &problem).await;
            let other_cycle = f.cycle.and_then(|meant| {
                let on = form_date(&f.on).ok()?;
                match state.core().wheel().definition.check_meant_cycle(on, meant) {
                    Err(hjul_wheel::Refusal::OtherCycle { falls_in, .. }) => Some(falls_in),
                    _ => None,
                }
            });
            let refused = Refused {
                form: form_name,
                on: f.on,
                text: f.text,
                statuses: f.statuses,
                for_report: f.for_report,
                deputy: None,
                other_cycle,
                problem,
            };
            unit_page(&state, &v, &unit_id, None, Some(refused), f.cycle).await
        }
    }
}

pub async fn dialogue(
    State(state): State<AppState>,
    v: Visitor,
    Path(unit_id): Path<String>,
    req: axum::extract::Request,
) -> Response {
    date_form(state, v, unit_id, req, EventKind::DialogueHeld).await
}

pub async fn goal_status(
    State(state): State<AppState>,
    v: Visitor,
    Path(unit_id): Path<String>,
    req: axum::extract::Request,
) -> Response {
    date_form(state, v, unit_id, req, EventKind::GoalStatusGiven).await
}

pub async fn review(
    State(state): State<AppState>,
    v: Visitor,
    Path(unit_id): Path<String>,
    req: axum::extract::Request,
) -> Response {
    date_form(state, v, unit_id, req, EventKind::AgreementReviewed).await
}

pub async fn sign(
    State(state): State<AppState>,
    v: Visitor,
    Path(unit_id): Path<String>,
    req: axum::extract::Request,
) -> Response {
    date_form(state, v, unit_id, req, EventKind::AgreementSigned).await
}

/// The correction form of one recorded event (the secretariat's).
pub async fn correct_page(
    State(state): State<AppState>,
    v: Visitor,
    Path((unit_id, event_id)): Path<(String, String)>,
) -> Response {
    show_correct(&state, &v, &unit_id, &event_id, None).await
}

struct CorrectDraft {
    action: String,
    on: String,
    to_unit: String,
    reason: String,
    problem: Problem,
}

async fn show_correct(
    state: &AppState,
    v: &Visitor,
    unit_id: &str,
    event_id: &str,
    refused: Option<CorrectDraft>,
) -> Response {
    let lang = v.lang;
    // The form's refusal path comes here too: checked here, not by an extractor.
    if let Err(p) = super::secretariat::only_secretariat(v) {
        return error_page(state, lang, Some(v), p);
    }
    let unit = match seen_unit(state, v, unit_id) {
        Ok(unit) => unit,
        Err(page) => return *page,
    };
    let today = state.today();
    let mut t = match state.core().timeline(&v.who, unit.as_str(), today).await {
        Ok(t) => t,
        Err(e) => return error_page(state, lang, Some(v), e.into()),
    };
    // An event of an earlier cycle (a unit page shown with `?cycle=2023` links here):
    // that cycle's timeline, as it stood on its last day.
    let wanted = |t: &hjul_store::Timeline| {
        t.events
            .iter()
            .any(|e| e.id.to_string() == event_id && !e.superseded)
    };
    if !wanted(&t) {
        let mut years: Vec<i32> = state
            .core()
            .cycles()
            .await
            .unwrap_or_default()
            .iter()
            .map(|c| c.year)
            .filter(|y| *y != t.cycle)
            .collect();
        years.sort_unstable_by(|a, b| b.cmp(a));
        let cycles = &state.core().wheel().definition.cycles;
        for y in years {
            let Some(end) = cycles.cycle(y).ok().map(|c| c.ends().min(today)) else {
                continue;
            };
            if let Ok(other) = state.core().timeline(&v.who, unit.as_str(), end).await
                && wanted(&other)
            {
                t = other;
                break;
            }
        }
    }
    let Some(e) = t
        .events
        .iter()
        .find(|e| e.id.to_string() == event_id && !e.superseded)
    else {
        return error_page(
            state,
            lang,
            Some(v),
            Problem::not_found("there is no such event in force").text(
                Text::new("correction.no_event").arg("id", hjul_wheel::limits::clip(event_id, 40)),
            ),
        );
    };
    let words = state.words();
    let units: Vec<super::UnitName> = match state.core().directory(&v.who).await {
        Ok(dir) => {
            let mut list: Vec<super::UnitName> = dir
                .units()
                .filter(|u| u.active && u.id != unit_id && i16::from(t.unit.level) == u.level)
                .map(|u| super::UnitName {
                    unit_id: u.id.clone(),
                    name: u.name.clone(),
                })
                .collect();
            list.sort_by(|a, b| a.name.cmp(&b.name));
            list
        }
        Err(e) => return error_page(state, lang, Some(v), e.into()),
    };
    let (status, error, lines) = refusal_view(
        state,
        lang,
        refused.as_ref().map(|r| &r.problem),
        "form.not_saved",
    );
    let draft = refused.as_ref().map(|r| CorrectionDraft {
        action: r.action.clone(),
        on: r.on.clone(),
        to_unit: r.to_unit.clone(),
        reason: r.reason.clone(),
    });
    Page::of(state, v, "correct.html", "correct.title")
        .error(error)
        .status(status)
        .render(CorrectPage {
            unit: super::UnitName {
                unit_id: t.unit.unit_id.clone(),
                name: t.unit.name.clone(),
            },
            cycle: t.cycle,
            event: EventToCorrect {
                id: e.id.to_string(),
                kind: words.word(lang, &format!("event.{}", e.kind.key())),
                movable: e.kind == EventKind::DialogueHeld,
                on: e.on.to_string(),
                revision: e.revision,
            },
            units,
            error_lines: lines,
            draft,
        })
}

/// What the correction form (`correct.html`) shows.
#[derive(Serialize)]
struct CorrectPage {
    unit: super::UnitName,
    cycle: i32,
    event: EventToCorrect,
    /// The units of the same level it may be moved to.
    units: Vec<super::UnitName>,
    error_lines: Vec<String>,
    draft: Option<CorrectionDraft>,
}

#[derive(Serialize)]
struct EventToCorrect {
    id: String,
    kind: String,
    /// A dialogue may be moved to another unit.
    movable: bool,
    on: String,
    /// A dialogue has none.
    revision: Option<i32>,
}

/// A refused correction, as typed.
#[derive(Serialize)]
struct CorrectionDraft {
    action: String,
    on: String,
    to_unit: String,
    reason: String,
}

#[derive(Deserialize)]
struct CorrectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    to_unit: String,
    #[serde(default)]
    reason: String,
}

pub async fn correct(
    State(state): State<AppState>,
    v: Visitor,
    Path((unit_id, event_id)): Path<(String, String)>,
    req: axum::extract::Request,
) -> Response {
    let attempted = "correct a record";
    let f: CorrectForm = match read_form(req, super::FORM_LIMIT).await {
        Ok(f) => f,
        Err(p) => return refuse(&state, &v, attempted, ("unit", &unit_id), p).await,
    };
    let result: Result<hjul_store::Corrected, Problem> = async {
        if !fresh(&v, &f.csrf) {
            return Err(stale_problem());
        }
        super::secretariat::only_secretariat(&v)?;
        let unit = v.who.may_see(&unit_id)?;
        let id: uuid::Uuid = event_id.parse().map_err(|_| {
            Problem::not_found("there is no such event").text(
                Text::new("correction.no_event").arg("id", hjul_wheel::limits::clip(&event_id, 40)),
            )
        })?;
        let correction = match f.action.as_str() {
            "redate" => Correction::Redate {
                on: form_date(&f.on)?,
            },
            // The form offers the units to choose from; only a hand-made post sends
            // text that is no unit's id.
            "move" if f.to_unit.trim().is_empty() => {
                return Err(Problem::bad_request("choose the unit it belongs to")
                    .field("to_unit")
                    .text(Text::new("correct.choose_unit")));
            }
            "move" => Correction::Move {
                unit_id: UnitId::parse(&f.to_unit).map_err(|text| {
                    Problem::bad_request("the unit to move to is no unit's id")
                        .field("to_unit")
                        .text(text)
                })?,
            },
            "withdraw" => Correction::Withdraw,
            _ => {
                return Err(Problem::bad_request("choose what to correct")
                    .field("action")
                    .text(Text::new("correct.choose")));
            }
        };
        Ok(state
            .core()
            .correct(&v.who, unit.as_str(), id, correction, &f.reason)
            .await?)
    }
    .await;
    match result {
        Ok(c) => saved(&c.now_at, "correct", c.cycle, None),
        Err(problem) => {
            super::audit(&state, &v, attempted, ("unit", &unit_id), &problem).await;
            let draft = CorrectDraft {
                action: f.action,
                on: f.on,
                to_unit: f.to_unit,
                reason: f.reason,
                problem,
            };
            show_correct(&state, &v, &unit_id, &event_id, Some(draft)).await
        }
    }
}
