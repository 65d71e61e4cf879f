//! The agreement editor and the midway form.
//!
//! The editor shows one block per goal; goals are added and removed with buttons that
//! send the form and come back with it as it was (no JavaScript needed); with
//! JavaScript, the weights' total follows the typing and the draft is saved every few
//! seconds. Every problem is shown at once, beside its field, in the page's language;
//! the goal-fixation warnings show before the agreement is submitted, which then asks
//! to submit anyway. A new revision starts from the one in force. What is typed is kept
//! on the server per unit until it is submitted: a refused submit, a closed tab or a
//! session that ran out loses nothing. An agreement file can still be uploaded: it
//! fills the editor, to look over before submitting.
//!
//! The midway form has a row per goal of the agreement in force (fully, partly or not
//! met, and a note) and shows the weighted score before and after it is saved.

use std::collections::BTreeMap;

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hjul_app::{AgreementText, GradesText};
use hjul_store::DraftKind;
use hjul_wheel::agreement::{
    GOAL_FIELDS, MAX_DRAFT_WORD_CHARS, draft_problems, draft_warnings, grade_draft_problems,
    preview_score,
};
use hjul_wheel::data::Proposal;
use hjul_wheel::limits::MAX_GOALS;
use hjul_wheel::{
    Agreement, Dimension, EventKind, GoalDraft, GoalKind, GradeDraft, Horizon, Text, UnitId,
};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use super::pages::{form_date, problem_lines, saved};
use super::sessions::{SESSION_COOKIE, lang_of, to_login};
use super::{Choice, Page, UnitName, Visitor, error_page, fresh, read_pairs, stale_problem};
use crate::AppState;
use crate::auth::cookie_in;
use crate::problem::Problem;

/// How long after a session ran out its holder's draft is still kept when they save.
const GRACE: chrono::Duration = chrono::Duration::hours(24);

/// The editor's form as kept between requests.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct AgreementDraft {
    pub(crate) on: String,
    pub(crate) goals: Vec<GoalDraft>,
}

/// The midway form as kept.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct MidwayDraft {
    pub(crate) on: String,
    pub(crate) grades: Vec<GradeDraft>,
}

/// The goals of an editor's form: `g3.title`, `g3.weight`, … (`g3.activities` one a
/// line), and the button pressed (`op`).
pub(crate) fn goals_of(pairs: &[(String, String)]) -> (AgreementDraft, String, bool) {
    let mut goals: BTreeMap<usize, GoalDraft> = BTreeMap::new();
    let mut draft = AgreementDraft::default();
    let mut op = String::new();
    let mut confirmed = false;
    for (k, v) in pairs {
        match k.as_str() {
            "on" => draft.on = v.clone(),
            // The warnings were shown and the leader submits anyway.
            "op" if v == "submit_confirmed" => {
                op = "submit".to_owned();
                confirmed = true;
            }
            "op" => op = v.clone(),
            "confirm" => confirmed = v == "1",
            _ => {
                let Some((index, field)) = k
                    .strip_prefix('g')
                    .and_then(|rest| rest.split_once('.'))
                    .and_then(|(i, f)| Some((i.parse::<usize>().ok()?, f)))
                else {
                    continue;
                };
                // At most one goal more than an agreement may have: the one being added.
                if index > MAX_GOALS {
                    continue;
                }
                let g = goals.entry(index).or_default();
                match field {
                    "title" => g.title = v.clone(),
                    "dimension" => g.dimension = v.clone(),
                    "kind" => g.kind = v.clone(),
                    "horizon" => g.horizon = v.clone(),
                    "weight" => g.weight = v.clone(),
                    "indicator" => g.indicator = v.clone(),
                    "baseline" => g.baseline = v.clone(),
                    "partly_met" => g.partly_met = v.clone(),
                    "fully_met" => g.fully_met = v.clone(),
                    "baseline_value" => g.baseline_value = v.clone(),
                    "partly_met_value" => g.partly_met_value = v.clone(),
                    "fully_met_value" => g.fully_met_value = v.clone(),
                    "activities" => {
                        g.activities = v
                            .lines()
                            .map(|l| l.trim().to_owned())
                            .filter(|l| !l.is_empty())
                            .collect();
                    }
                    "target_date" => g.target_date = v.clone(),
                    _ => {}
                }
            }
        }
    }
    draft.goals = goals.into_values().collect();
    (draft, op, confirmed)
}

fn empty_goal() -> GoalDraft {
    GoalDraft::default()
}

/// Where an editor page starts: the kept draft, else the latest revision's goals (a new
/// revision starts from the one before), else one empty goal.
async fn starting_draft(
    state: &AppState,
    v: &Visitor,
    unit: &UnitId,
) -> Result<AgreementDraft, Problem> {
    let core = state.core();
    if let Some(d) = core
        .draft(&v.who, unit.as_str(), DraftKind::Agreement)
        .await?
        && let Ok(draft) = serde_json::from_str::<AgreementDraft>(&d.content)
    {
        return Ok(draft);
    }
    let t = core.timeline(&v.who, unit.as_str(), state.today()).await?;
    let goals: Vec<GoalDraft> = match t.agreements.last() {
        Some(a) => a
            .goals
            .iter()
            .map(|g| GoalDraft {
                title: g.title.clone(),
                dimension: g.dimension.key().to_owned(),
                kind: g.kind.key().to_owned(),
                horizon: g.horizon.key().to_owned(),
                weight: g.weight.to_string(),
                indicator: g.indicator.clone().unwrap_or_default(),
                baseline: g.baseline.clone(),
                partly_met: g.partly_met.clone(),
                fully_met: g.fully_met.clone(),
                activities: g.activities.clone(),
                target_date: g.target_date.to_string(),
                ..GoalDraft::with_values(g.measured)
            })
            .collect(),
        None => vec![empty_goal()],
    };
    Ok(AgreementDraft {
        on: state.today().to_string(),
        goals,
    })
}

/// What the editor shows besides the draft.
#[derive(Default)]
struct EditorView {
    problem: Option<Problem>,
    warnings: Vec<String>,
    /// The submit asks to be confirmed (warnings were shown).
    confirm: bool,
    /// The problems are a check's answer (nothing was to be recorded).
    checked: bool,
    message: Option<String>,
    status: Option<StatusCode>,
}

fn editor_page(
    state: &AppState,
    v: &Visitor,
    unit_id: &str,
    unit_name: &str,
    cycle: i32,
    draft: &AgreementDraft,
    view: EditorView,
) -> Response {
    let lang = v.lang;
    let words = state.words();
    let catalogue = &state.core().wheel().catalogue;
    // Problems beside their fields: (goal, field) → words. Every problem is also listed
    // at the top, under the banner that says the draft was not submitted, each linking
    // to its field: an error by goal 4's field is 2,800 px down the page.
    let mut at_field: BTreeMap<(usize, String), Vec<String>> = BTreeMap::new();
    let mut summary: Vec<Value> = Vec::new();
    let mut at_total: Vec<String> = Vec::new();
    let goal_word = words.word(lang, "editor.goal");
    if let Some(p) = &view.problem {
        for t in &p.texts {
            let text = words.text(lang, &t.text);
            match (t.item, t.field.as_deref()) {
                (Some(i), Some(f)) if i >= 1 && i <= draft.goals.len() => {
                    let label = field_label(state, lang, f);
                    summary.push(context! {
                        text => format!("{goal_word} {i} · {label}: {text}"),
                        href => format!("#g{}-{}", i - 1, field_anchor(f)),
                    });
                    at_field
                        .entry((i - 1, f.to_owned()))
                        .or_default()
                        .push(text);
                }
                (Some(i), _) if i >= 1 && i <= draft.goals.len() => {
                    summary.push(context! {
                        text => format!("{goal_word} {i}: {text}"),
                        href => format!("#goal-{i}"),
                    });
                }
                // The weights' total belongs to the whole agreement: by the total.
                (None, Some("weight")) => {
                    summary.push(context! { text => text.clone(), href => "#weight-total" });
                    at_total.push(text);
                }
                (None, Some("on")) => {
                    summary.push(context! { text => text, href => "#on" });
                }
                _ => summary.push(context! { text => text, href => "" }),
            }
        }
        if p.texts.is_empty() {
            for line in problem_lines(state, lang, p) {
                summary.push(context! { text => line, href => "" });
            }
        }
    }
    let total: i64 = draft
        .goals
        .iter()
        .filter_map(|g| {
            g.weight
                .trim()
                .trim_end_matches('%')
                .trim()
                .parse::<i64>()
                .ok()
        })
        .sum();
    let goals: Vec<Value> = draft
        .goals
        .iter()
        .enumerate()
        .map(|(i, g)| {
            // Every field is named, with no words when it is fine: the page asks each.
            let errors: BTreeMap<&str, Vec<String>> = GOAL_FIELDS
                .iter()
                .map(|f| {
                    let words = at_field.get(&(i, (*f).to_owned()));
                    (*f, words.cloned().unwrap_or_default())
                })
                .collect();
            context! {
                index => i,
                number => i + 1,
                title => g.title.clone(),
                dimension => Dimension::parse(&g.dimension).map_or_else(|| g.dimension.clone(), |d| d.key().to_owned()),
                kind => GoalKind::parse(&g.kind).map_or_else(|| g.kind.clone(), |k| k.key().to_owned()),
                horizon => Horizon::parse(&g.horizon).map_or_else(|| g.horizon.clone(), |h| h.key().to_owned()),
                weight => g.weight.clone(),
                indicator => g.indicator.clone(),
                baseline => g.baseline.clone(),
                partly_met => g.partly_met.clone(),
                fully_met => g.fully_met.clone(),
                baseline_value => g.baseline_value.clone(),
                partly_met_value => g.partly_met_value.clone(),
                fully_met_value => g.fully_met_value.clone(),
                activities => g.activities.join("\n"),
                target_date => g.target_date.clone(),
                errors => errors,
            }
        })
        .collect();
    let options = |group: &str, keys: &[&'static str]| -> Vec<Choice> {
        keys.iter()
            .map(|k| Choice {
                key: (*k).to_owned(),
                name: words.word(lang, &format!("{group}.{k}")),
            })
            .collect()
    };
    let indicators: Vec<Value> = catalogue
        .beacons
        .iter()
        .map(|b| {
            context! {
                name => if lang == super::Lang::Da { b.name_da.clone() } else { b.name_en.clone() },
                indicators => b.indicators.iter().map(|i| context! {
                    code => i.code.to_string(),
                    name => if lang == super::Lang::Da { i.name_da.clone() } else { i.name_en.clone() },
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    // A check records nothing, so it does not say "not recorded".
    let banner = if view.checked {
        "form.checked_fields"
    } else {
        "form.not_saved_fields"
    };
    let error = view.problem.as_ref().map(|_| words.word(lang, banner));
    Page::of(state, v, "editor.html", "editor.title")
        .title(format!(
            "{} · {unit_name}",
            words.word(lang, "editor.title")
        ))
        .message(view.message)
        .error(error)
        .status(view.status.unwrap_or(StatusCode::OK))
        .render(EditorPage {
            unit: UnitName {
                unit_id: unit_id.to_owned(),
                name: unit_name.to_owned(),
            },
            cycle,
            on: draft.on.clone(),
            goals,
            total,
            max_goals: MAX_GOALS,
            dimensions: options("dimension", &Dimension::ALL.map(Dimension::key)),
            kinds: options("kind", &GoalKind::ALL.map(GoalKind::key)),
            horizons: options("horizon", &Horizon::ALL.map(Horizon::key)),
            beacons: indicators,
            summary,
            at_total,
            warnings: view.warnings,
            confirm: view.confirm,
        })
}

/// What the agreement editor (`editor.html`) shows.
#[derive(Serialize)]
struct EditorPage {
    unit: UnitName,
    cycle: i32,
    on: String,
    /// Each goal as typed, with the problems beside its fields.
    goals: Vec<Value>,
    /// The weights as typed, added up.
    total: i64,
    max_goals: usize,
    dimensions: Vec<Choice>,
    kinds: Vec<Choice>,
    horizons: Vec<Choice>,
    /// The indicator catalogue's beacons, each with its indicators.
    beacons: Vec<Value>,
    /// Every problem, in the form's order, with the anchor of its field (`text`, `href`).
    summary: Vec<Value>,
    /// Problems of the weights' total, shown beside it as well.
    at_total: Vec<String>,
    warnings: Vec<String>,
    confirm: bool,
}

/// A goal field's label, as the editor shows it.
fn field_label(state: &AppState, lang: super::Lang, field: &str) -> String {
    if GOAL_FIELDS.contains(&field) {
        state.words().word(lang, &format!("editor.field.{field}"))
    } else {
        field.to_owned()
    }
}

/// The id suffix of a goal field's input in `editor.html` (`g0-target` for goal 1's
/// target date).
fn field_anchor(field: &str) -> &str {
    match field {
        "partly_met" => "partly",
        "fully_met" => "fully",
        "baseline_value" => "baseline-value",
        "partly_met_value" => "partly-value",
        "fully_met_value" => "fully-value",
        "target_date" => "target",
        other => other,
    }
}

/// The unit (its id and name) and its cycle, if the visitor may draft its agreement now:
/// the wheel's rules and their rights.
async fn may_draft(
    state: &AppState,
    v: &Visitor,
    unit_id: &str,
    kind: EventKind,
) -> Result<(UnitId, String, i32), Problem> {
    let t = state
        .core()
        .timeline(&v.who, unit_id, state.today())
        .await?;
    let unit = v.who.may(state, kind, unit_id)?;
    if !t.allowed.contains(&kind) {
        let text = Text::new("editor.not_now").arg(
            "step",
            hjul_wheel::text::key("step", t.step.map_or("none", hjul_wheel::Step::key)),
        );
        return Err(Problem::new(StatusCode::CONFLICT, "refused", text.to_string()).text(text));
    }
    Ok((unit, t.unit.name, t.cycle))
}

pub async fn agreement_page(
    State(state): State<AppState>,
    v: Visitor,
    Path(unit_id): Path<String>,
) -> Response {
    let (unit, name, cycle) =
        match may_draft(&state, &v, &unit_id, EventKind::AgreementSubmitted).await {
            Ok(x) => x,
            Err(p) => return error_page(&state, v.lang, Some(&v), p),
        };
    let draft = match starting_draft(&state, &v, &unit).await {
        Ok(d) => d,
        Err(p) => return error_page(&state, v.lang, Some(&v), p),
    };
    let warnings = warnings_of(&state, &v, &draft.goals);
    editor_page(
        &state,
        &v,
        &unit_id,
        &name,
        cycle,
        &draft,
        EditorView {
            warnings,
            ..EditorView::default()
        },
    )
}

fn warnings_of(state: &AppState, v: &Visitor, goals: &[GoalDraft]) -> Vec<String> {
    let catalogue = &state.core().wheel().catalogue;
    draft_warnings(goals, catalogue)
        .iter()
        .map(|w| state.words().text(v.lang, &w.text(Some(catalogue))))
        .collect()
}

async fn keep(
    state: &AppState,
    who: &crate::auth::Principal,
    unit: &UnitId,
    kind: DraftKind,
    content: &impl Serialize,
) -> Result<(), Problem> {
    let json = serde_json::to_string(content).unwrap_or_default();
    state
        .core()
        .save_draft(who, unit.as_str(), kind, &json)
        .await?;
    Ok(())
}

/// The holder of a session that ran out lately, if the form sent with it is its own (its
/// CSRF value): enough to keep what they typed, never to act.
async fn lapsed_holder(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    csrf: &str,
) -> Option<crate::auth::Principal> {
    let id = cookie_in(headers, SESSION_COOKIE)?;
    let (session, actor) = state.core().lapsed_session(&id, GRACE).await.ok()??;
    if csrf.is_empty() || csrf != session.csrf {
        return None;
    }
    Some(crate::auth::Principal(actor))
}

/// Keeps a draft for the holder of a lapsed session, if they may draft it at all.
async fn keep_lapsed(
    state: &AppState,
    who: &crate::auth::Principal,
    unit_id: &str,
    kind: DraftKind,
    content: &impl Serialize,
) -> bool {
    let json = serde_json::to_string(content).unwrap_or_default();
    state
        .core()
        .save_draft(who, unit_id, kind, &json)
        .await
        .is_ok()
}

/// A form that keeps a draft, read whole: its fields and the CSRF value it carried.
/// One that cannot be read is refused (on record when the visitor is signed in).
async fn form_of(
    state: &AppState,
    visitor: Option<&Visitor>,
    headers: &axum::http::HeaderMap,
    req: axum::extract::Request,
    attempted: &str,
    unit_id: &str,
) -> Result<(Vec<(String, String)>, String), Response> {
    let pairs = match read_pairs(req, super::FORM_LIMIT).await {
        Ok(p) => p,
        Err(p) => {
            return Err(match visitor {
                Some(v) => super::refuse(state, v, attempted, ("unit", unit_id), p).await,
                None => error_page(state, lang_of(headers), None, p),
            });
        }
    };
    let csrf = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    Ok((pairs, csrf))
}

pub async fn agreement_post(
    State(state): State<AppState>,
    visitor: Result<Visitor, Response>,
    Path(unit_id): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let headers = req.headers().clone();
    let (pairs, csrf) = match form_of(
        &state,
        visitor.as_ref().ok(),
        &headers,
        req,
        "draft an agreement",
        &unit_id,
    )
    .await
    {
        Ok(form) => form,
        Err(page) => return page,
    };
    let (mut draft, op, confirmed) = goals_of(&pairs);
    let v = match visitor {
        Ok(v) => v,
        Err(login) => {
            // Signed out while typing: keep what was typed, then sign in again.
            let kept = match lapsed_holder(&state, &headers, &csrf).await {
                Some(who) => {
                    keep_lapsed(&state, &who, &unit_id, DraftKind::Agreement, &draft).await
                }
                None => false,
            };
            if op == "autosave" {
                return StatusCode::UNAUTHORIZED.into_response();
            }
            return if kept {
                to_login(&format!(
                    "/units/{}/agreement",
                    super::percent_encode(&unit_id)
                ))
            } else {
                login
            };
        }
    };
    if !fresh(&v, &csrf) {
        return super::refuse(
            &state,
            &v,
            "draft an agreement",
            ("unit", &unit_id),
            stale_problem(),
        )
        .await;
    }
    let (unit, name, cycle) = match may_draft(&state, &v, &unit_id, EventKind::AgreementSubmitted)
        .await
    {
        Ok(x) => x,
        Err(p) => {
            return super::refuse(&state, &v, "draft an agreement", ("unit", &unit_id), p).await;
        }
    };
    let mut view = EditorView::default();
    match op.as_str() {
        "add" if draft.goals.len() < MAX_GOALS => draft.goals.push(empty_goal()),
        "add" => {
            view.message = Some(
                state
                    .words()
                    .text(v.lang, &Text::new("editor.full").arg("max", MAX_GOALS)),
            );
        }
        other if other.starts_with("remove:") => {
            if let Some(i) = other["remove:".len()..].parse::<usize>().ok()
                && i < draft.goals.len()
            {
                draft.goals.remove(i);
            }
        }
        _ => {}
    }
    draft.goals.truncate(MAX_GOALS);
    // A field longer than the agreement could take is not kept: the page comes back with
    // what was typed and the field named (the browser's maxlength stops most before).
    let mut over = draft_problems(&draft.goals);
    over.extend(date_too_long(&draft.on));
    if !over.is_empty() {
        if op == "autosave" {
            return StatusCode::UNPROCESSABLE_ENTITY.into_response();
        }
        let p = field_problem("too_long", "a field is longer than it may be", over);
        super::audit(&state, &v, "draft an agreement", ("unit", &unit_id), &p).await;
        view.status = Some(StatusCode::UNPROCESSABLE_ENTITY);
        view.problem = Some(p);
        return editor_page(&state, &v, &unit_id, &name, cycle, &draft, view);
    }
    if let Err(p) = keep(&state, &v.who, &unit, DraftKind::Agreement, &draft).await {
        return error_page(&state, v.lang, Some(&v), p);
    }
    if op == "autosave" {
        return StatusCode::NO_CONTENT.into_response();
    }
    if op == "save" {
        view.message = Some(state.words().word(v.lang, "editor.saved"));
    }
    if op == "check" || op == "submit" {
        // A submission refused by the rules is put on record by the core.
        let checked = state
            .core()
            .check_goals(&v.who, &unit_id, &draft.goals, op == "submit")
            .await;
        match checked {
            Err(e) => {
                let p = Problem::from(e);
                view.status = Some(p.status_code());
                view.problem = Some(p);
                view.checked = op == "check";
            }
            Ok(warnings) if op == "submit" && (warnings.is_empty() || confirmed) => {
                return submit(&state, &v, (&unit, cycle), &draft).await;
            }
            Ok(warnings) => {
                let catalogue = &state.core().wheel().catalogue;
                view.warnings = warnings
                    .iter()
                    .map(|w| state.words().text(v.lang, &w.text(Some(catalogue))))
                    .collect();
                view.confirm = op == "submit";
                if warnings.is_empty() {
                    view.message = Some(state.words().word(v.lang, "editor.checked"));
                }
            }
        }
    } else {
        view.warnings = warnings_of(&state, &v, &draft.goals);
    }
    editor_page(&state, &v, &unit_id, &name, cycle, &draft, view)
}

/// Submits the draft from the editor of cycle `cycle`: a date typed in another cycle is
/// refused, naming it.
async fn submit(
    state: &AppState,
    v: &Visitor,
    (unit, cycle): (&UnitId, i32),
    draft: &AgreementDraft,
) -> Response {
    let unit_id = unit.as_str();
    let on = if draft.on.trim().is_empty() {
        Ok(state.today())
    } else {
        form_date(&draft.on)
    };
    let result = match on {
        Ok(on) => state
            .core()
            .submit_agreement(
                &v.who,
                unit_id,
                (on, Some(cycle)),
                AgreementText::Editor(&draft.goals),
            )
            .await
            .map_err(Problem::from),
        Err(p) => Err(p),
    };
    match result {
        // The draft is dropped by the core once the agreement is on record.
        Ok(s) => saved(unit_id, "agreement", s.cycle, Some(s.revision)),
        Err(p) => {
            super::audit(state, v, "submit an agreement", ("unit", unit_id), &p).await;
            let (_, name, cycle) =
                match may_draft(state, v, unit_id, EventKind::AgreementSubmitted).await {
                    Ok(x) => x,
                    Err(p) => return error_page(state, v.lang, Some(v), p),
                };
            let status = p.status_code();
            editor_page(
                state,
                v,
                unit_id,
                &name,
                cycle,
                draft,
                EditorView {
                    problem: Some(p),
                    status: Some(status),
                    ..EditorView::default()
                },
            )
        }
    }
}

/// An agreement file uploaded: its goals fill the editor, with the problems of reading
/// it, to look over and submit.
pub async fn agreement_upload(
    State(state): State<AppState>,
    v: Visitor,
    Path(unit_id): Path<String>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let attempted = "upload an agreement file";
    let (csrf, file) = match upload(multipart, "file").await {
        Ok(x) => x,
        Err(p) => return super::refuse(&state, &v, attempted, ("unit", &unit_id), p).await,
    };
    if !fresh(&v, &csrf) {
        return super::refuse(&state, &v, attempted, ("unit", &unit_id), stale_problem()).await;
    }
    let (unit, name, cycle) =
        match may_draft(&state, &v, &unit_id, EventKind::AgreementSubmitted).await {
            Ok(x) => x,
            Err(p) => return super::refuse(&state, &v, attempted, ("unit", &unit_id), p).await,
        };
    let Ok(text) = String::from_utf8(file) else {
        return super::refuse(
            &state,
            &v,
            attempted,
            ("unit", &unit_id),
            Problem::bad_request("the file is not UTF-8").text(Text::new("editor.not_utf8")),
        )
        .await;
    };
    let (goals, problems) = Agreement::drafts_from_toml(&text);
    let draft = AgreementDraft {
        on: state.today().to_string(),
        goals: if goals.is_empty() {
            vec![empty_goal()]
        } else {
            goals
        },
    };
    if let Err(p) = keep(&state, &v.who, &unit, DraftKind::Agreement, &draft).await {
        return error_page(&state, v.lang, Some(&v), p);
    }
    let mut view = EditorView {
        warnings: warnings_of(&state, &v, &draft.goals),
        message: Some(state.words().word(v.lang, "editor.uploaded")),
        ..EditorView::default()
    };
    if !problems.is_empty() {
        view.status = Some(StatusCode::UNPROCESSABLE_ENTITY);
        view.problem = Some(field_problem(
            "invalid_file",
            "the file has problems",
            problems,
        ));
    }
    editor_page(&state, &v, &unit_id, &name, cycle, &draft, view)
}

/// A form's date field (`on`) longer than any date: named, as a draft's field over its
/// limit is.
fn date_too_long(on: &str) -> Option<hjul_wheel::config_error::Problem> {
    let n = on.chars().count();
    (n > MAX_DRAFT_WORD_CHARS).then(|| {
        hjul_wheel::config_error::Problem::text(
            None,
            "on",
            Text::new("goal.too_long")
                .arg("count", n)
                .arg("max", MAX_DRAFT_WORD_CHARS),
        )
    })
}

/// A 422 whose words are the domain's problems, each at its goal and field.
fn field_problem(
    kind: &'static str,
    detail: &'static str,
    problems: Vec<hjul_wheel::config_error::Problem>,
) -> Problem {
    let mut p = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, kind, detail);
    for x in problems {
        if let Some(t) = x.text {
            p.texts.push(crate::problem::FieldText {
                item: x.item,
                field: x.field.map(str::to_owned),
                line: x.line,
                text: t,
            });
        }
    }
    p
}

/// A multipart form's CSRF value and one file field, bounded.
pub async fn upload(
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
    field_name: &str,
) -> Result<(String, Vec<u8>), Problem> {
    let unreadable = || {
        Problem::bad_request("the form could not be read: reload the page and try again")
            .text(Text::new("error.form"))
    };
    let mut multipart = multipart.map_err(|_| unreadable())?;
    let mut csrf = String::new();
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::too_large(crate::BODY_LIMIT)
                .text(crate::problem::too_large_text(crate::BODY_LIMIT))
        } else {
            unreadable()
        }
    })? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(|_| unreadable())?,
            Some(n) if n == field_name => {
                let bytes = field.bytes().await.map_err(|e| {
                    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                        Problem::too_large(crate::BODY_LIMIT)
                            .text(crate::problem::too_large_text(crate::BODY_LIMIT))
                    } else {
                        unreadable()
                    }
                })?;
                file = Some(bytes.to_vec());
            }
            _ => {}
        }
    }
    let file = file
        .filter(|f| !f.is_empty())
        .ok_or_else(|| Problem::bad_request("choose a file").text(Text::new("editor.no_file")))?;
    Ok((csrf, file))
}

// ---- the midway form ------------------------------------------------------------------

async fn midway_start(
    state: &AppState,
    v: &Visitor,
    unit: &UnitId,
    goals: &[hjul_wheel::Goal],
    proposals: &BTreeMap<String, Proposal>,
) -> MidwayDraft {
    if let Ok(Some(d)) = state
        .core()
        .draft(&v.who, unit.as_str(), DraftKind::Midway)
        .await
        && let Ok(draft) = serde_json::from_str::<MidwayDraft>(&d.content)
    {
        return draft;
    }
    MidwayDraft {
        on: state.today().to_string(),
        grades: goals
            .iter()
            .map(|g| GradeDraft {
                goal: g.title.clone(),
                // hjul's proposal to start from; the leader confirms or changes it.
                grade: proposals
                    .get(&g.title)
                    .map(|p| p.grade.key().to_owned())
                    .unwrap_or_default(),
                ..GradeDraft::default()
            })
            .collect(),
    }
}

/// The agreement a midway status is given on: its revision and goals.
struct InForce<'a> {
    revision: u32,
    agreement: &'a Agreement,
    /// hjul's proposed grades, by goal title.
    proposals: &'a BTreeMap<String, Proposal>,
}

fn midway_page_of(
    state: &AppState,
    v: &Visitor,
    (unit_id, unit_name): (&str, &str),
    in_force: &InForce<'_>,
    draft: &MidwayDraft,
    problem: Option<&Problem>,
) -> Response {
    let (revision, agreement) = (in_force.revision, in_force.agreement);
    let lang = v.lang;
    let words = state.words();
    let cat = words.of(lang);
    let catalogue = &state.core().wheel().catalogue;
    let mut at_row: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut general = Vec::new();
    if let Some(p) = problem {
        for t in &p.texts {
            let text = words.text(lang, &t.text);
            match t.item {
                Some(i) if i >= 1 => at_row.entry(i - 1).or_default().push(text),
                _ => general.push(text),
            }
        }
        if p.texts.is_empty() {
            general.extend(problem_lines(state, lang, p));
        }
    }
    let score = preview_score(agreement.goals(), &draft.grades);
    let rows: Vec<Value> = agreement
        .goals()
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let given = draft.grades.iter().find(|x| x.goal.trim() == g.title);
            context! {
                index => i,
                title => g.title.clone(),
                weight => g.weight.percent(),
                partly_met => g.partly_met.clone(),
                fully_met => g.fully_met.clone(),
                grade => given.and_then(|x| hjul_wheel::Grade::parse(&x.grade)).map(hjul_wheel::Grade::key),
                proposal => in_force.proposals.get(&g.title).map(|p| {
                    let unit = catalogue.get(p.measure.as_str()).map(|m| m.unit);
                    let shown = |x: f64| super::chart::value(cat, unit, x);
                    cat.render(
                        &Text::new("midway.proposal")
                            .arg("grade", hjul_wheel::text::key("grade", p.grade.key()))
                            .arg("period", p.period.to_string())
                            .arg("value", shown(p.value))
                            .arg("partly", shown(p.criteria.partly_met))
                            .arg("fully", shown(p.criteria.fully_met)),
                    )
                }),
                note => given.map(|x| x.note.clone()).unwrap_or_default(),
                errors => at_row.get(&i).cloned().unwrap_or_default(),
            }
        })
        .collect();
    let status = problem.map_or(StatusCode::OK, Problem::status_code);
    Page::of(state, v, "midway.html", "midway.title")
        .title(format!(
            "{} · {unit_name}",
            words.word(lang, "midway.title")
        ))
        .error(
            problem
                .as_ref()
                .map(|_| words.word(lang, "form.not_saved_fields")),
        )
        .status(status)
        .render(MidwayPage {
            unit: UnitName {
                unit_id: unit_id.to_owned(),
                name: unit_name.to_owned(),
            },
            revision,
            on: draft.on.clone(),
            rows,
            grades: hjul_wheel::Grade::ALL
                .iter()
                .map(|g| GradeChoice {
                    key: g.key(),
                    name: words.word(lang, &format!("grade.{}", g.key())),
                    percent: g.percent(),
                })
                .collect(),
            score: score.percent(),
            general,
        })
}

/// What the midway form (`midway.html`) shows.
#[derive(Serialize)]
struct MidwayPage {
    unit: UnitName,
    /// The agreement's revision the grades are given on.
    revision: u32,
    on: String,
    /// A row per goal, with its grade as typed.
    rows: Vec<Value>,
    grades: Vec<GradeChoice>,
    /// The score the grades as typed would give.
    score: f64,
    general: Vec<String>,
}

#[derive(Serialize)]
struct GradeChoice {
    key: &'static str,
    name: String,
    percent: u32,
}

pub async fn midway_page(
    State(state): State<AppState>,
    v: Visitor,
    Path(unit_id): Path<String>,
) -> Response {
    let (unit, name, _) = match may_draft(&state, &v, &unit_id, EventKind::MidwayGiven).await {
        Ok(x) => x,
        Err(p) => return error_page(&state, v.lang, Some(&v), p),
    };
    let Ok(Some((revision, agreement, proposals))) =
        state.core().agreement_in_force(&v.who, &unit_id).await
    else {
        return error_page(
            &state,
            v.lang,
            Some(&v),
            Problem::new(StatusCode::CONFLICT, "refused", "no agreement is in force")
                .text(Text::new("refusal.not_in_force")),
        );
    };
    let draft = midway_start(&state, &v, &unit, agreement.goals(), &proposals).await;
    let in_force = InForce {
        revision,
        agreement: &agreement,
        proposals: &proposals,
    };
    midway_page_of(&state, &v, (&unit_id, &name), &in_force, &draft, None)
}

pub(crate) fn grades_of(
    pairs: &[(String, String)],
    goals: &[hjul_wheel::Goal],
) -> (MidwayDraft, String) {
    let mut draft = MidwayDraft::default();
    let mut op = String::new();
    let mut grades: Vec<GradeDraft> = goals
        .iter()
        .map(|g| GradeDraft {
            goal: g.title.clone(),
            ..GradeDraft::default()
        })
        .collect();
    for (k, v) in pairs {
        match k.as_str() {
            "on" => draft.on = v.clone(),
            "op" => op = v.clone(),
            _ => {
                let Some((i, field)) = k
                    .strip_prefix('r')
                    .and_then(|rest| rest.split_once('.'))
                    .and_then(|(i, f)| Some((i.parse::<usize>().ok()?, f)))
                else {
                    continue;
                };
                if let Some(g) = grades.get_mut(i) {
                    match field {
                        "grade" => g.grade = v.clone(),
                        "note" => g.note = v.clone(),
                        _ => {}
                    }
                }
            }
        }
    }
    draft.grades = grades;
    (draft, op)
}

pub async fn midway_post(
    State(state): State<AppState>,
    visitor: Result<Visitor, Response>,
    Path(unit_id): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let headers = req.headers().clone();
    let attempted = "give the midway status";
    let (pairs, csrf) = match form_of(
        &state,
        visitor.as_ref().ok(),
        &headers,
        req,
        attempted,
        &unit_id,
    )
    .await
    {
        Ok(form) => form,
        Err(page) => return page,
    };
    let v = match visitor {
        Ok(v) => v,
        Err(login) => {
            // The grades typed are kept with the titles of the agreement in force; the
            // session is checked first, so a stranger's post costs one lookup.
            let Some(who) = lapsed_holder(&state, &headers, &csrf).await else {
                return login;
            };
            if let Ok(Some((_, a, _))) = state.core().agreement_in_force(&who, &unit_id).await {
                let (draft, _) = grades_of(&pairs, a.goals());
                if keep_lapsed(&state, &who, &unit_id, DraftKind::Midway, &draft).await {
                    return to_login(&format!(
                        "/units/{}/midway",
                        super::percent_encode(&unit_id)
                    ));
                }
            }
            return login;
        }
    };
    if !fresh(&v, &csrf) {
        return super::refuse(&state, &v, attempted, ("unit", &unit_id), stale_problem()).await;
    }
    let (unit, name, cycle) = match may_draft(&state, &v, &unit_id, EventKind::MidwayGiven).await {
        Ok(x) => x,
        Err(p) => return super::refuse(&state, &v, attempted, ("unit", &unit_id), p).await,
    };
    let Ok(Some((revision, agreement, proposals))) =
        state.core().agreement_in_force(&v.who, &unit_id).await
    else {
        return error_page(
            &state,
            v.lang,
            Some(&v),
            Problem::new(StatusCode::CONFLICT, "refused", "no agreement is in force")
                .text(Text::new("refusal.not_in_force")),
        );
    };
    let (draft, op) = grades_of(&pairs, agreement.goals());
    let in_force = InForce {
        revision,
        agreement: &agreement,
        proposals: &proposals,
    };
    // As in the editor: a field longer than it could be is named, not kept.
    let mut over = grade_draft_problems(&draft.grades);
    over.extend(date_too_long(&draft.on));
    if !over.is_empty() {
        let p = field_problem("too_long", "a field is longer than it may be", over);
        super::audit(&state, &v, attempted, ("unit", &unit_id), &p).await;
        return midway_page_of(&state, &v, (&unit_id, &name), &in_force, &draft, Some(&p));
    }
    if let Err(p) = keep(&state, &v.who, &unit, DraftKind::Midway, &draft).await {
        return error_page(&state, v.lang, Some(&v), p);
    }
    if op != "save" {
        return midway_page_of(&state, &v, (&unit_id, &name), &in_force, &draft, None);
    }
    let result: Result<i32, Problem> = async {
        let on = form_date(&draft.on)?;
        let graded = state
            .core()
            .give_midway(
                &v.who,
                unit.as_str(),
                (on, Some(cycle)),
                GradesText::Form(&draft.grades),
            )
            .await?;
        Ok(graded.cycle)
    }
    .await;
    match result {
        // The draft is dropped by the core once the grades are on record.
        Ok(cycle) => saved(&unit_id, "midway", cycle, Some(revision)),
        Err(p) => {
            super::audit(&state, &v, attempted, ("unit", &unit_id), &p).await;
            midway_page_of(&state, &v, (&unit_id, &name), &in_force, &draft, Some(&p))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editor_round_trip_keeps_every_field() {
        // Form → drafts → agreement → drafts → form fields → drafts: nothing lost.
        let catalogue = hjul_wheel::IndicatorCatalogue::builtin();
        let (a, _) = Agreement::from_toml(
            include_str!("../../../../examples/agreement.toml"),
            "a.toml",
            &catalogue,
            None,
        )
        .unwrap();
        let drafts: Vec<GoalDraft> = a.goals().iter().map(GoalDraft::from).collect();
        let mut pairs = vec![("on".to_owned(), "2026-04-09".to_owned())];
        for (i, g) in drafts.iter().enumerate() {
            for (f, v) in [
                ("title", g.title.clone()),
                ("dimension", g.dimension.clone()),
                ("kind", g.kind.clone()),
                ("horizon", g.horizon.clone()),
                ("weight", g.weight.clone()),
                ("indicator", g.indicator.clone()),
                ("baseline", g.baseline.clone()),
                ("partly_met", g.partly_met.clone()),
                ("fully_met", g.fully_met.clone()),
                ("baseline_value", g.baseline_value.clone()),
                ("partly_met_value", g.partly_met_value.clone()),
                ("fully_met_value", g.fully_met_value.clone()),
                ("activities", g.activities.join("\n")),
                ("target_date", g.target_date.clone()),
            ] {
                pairs.push((format!("g{i}.{f}"), v));
            }
        }
        let (read, op, _) = goals_of(&pairs);
        assert_eq!(op, "");
        assert_eq!(read.goals, drafts);
        let (again, _) = Agreement::check(&read.goals, &[], &catalogue, None).unwrap();
        assert_eq!(again, a);
    }

    #[test]
    fn a_form_cannot_hold_more_goals_than_an_agreement() {
        let pairs: Vec<(String, String)> = (0..10_000)
            .map(|i| (format!("g{i}.title"), "x".to_owned()))
            .collect();
        let (read, _, _) = goals_of(&pairs);
        assert_eq!(read.goals.len(), MAX_GOALS + 1);
    }
}
