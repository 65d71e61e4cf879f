//! The unit page's people and cycles: its deputies (stedfortrædere), who stands in for
//! the leader and when, a form to name one and a button to end one, for the unit's
//! leader, a manager above it and the secretariat; and, for a unit that joined the
//! running cycle late, the secretariat's choice to let it take part from the next cycle
//! instead. What is allowed and checked is the core's.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

use super::pages::{Refused, form_date, unit_page};
use super::{Visitor, fresh, read_form, stale_problem};
use crate::AppState;
use crate::problem::Problem;

#[derive(Deserialize, Default)]
struct DeputyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    starts_on: String,
    #[serde(default)]
    ends_on: String,
}

/// A deputy's form as typed, shown again when it was refused.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeputyDraft {
    pub email: String,
    pub name: String,
    pub language: String,
    pub starts_on: String,
    pub ends_on: String,
}

/// A day of the form, or none when the field is empty.
fn optional_day(text: &str, field: &'static str) -> Result<Option<chrono::NaiveDate>, Problem> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    form_date(text).map(Some).map_err(|p| p.field(field))
}

fn back(unit_id: &str, done: &str) -> Response {
    Redirect::to(&format!(
        "/units/{}?done={done}#deputies-heading",
        super::percent_encode(unit_id)
    ))
    .into_response()
}

/// The unit page again with a form of this module refused: its problem, and the
/// deputy as typed.
async fn refused_form(
    state: &AppState,
    v: &Visitor,
    unit_id: &str,
    (form, deputy): (&'static str, Option<DeputyDraft>),
    problem: Problem,
) -> Response {
    let refused = Refused {
        form,
        on: String::new(),
        text: String::new(),
        statuses: Vec::new(),
        for_report: false,
        deputy,
        other_cycle: None,
        problem,
    };
    unit_page(state, v, unit_id, None, Some(refused), None).await
}

/// Names a deputy for the unit (`POST /units/{unit_id}/deputies`).
pub async fn name(
    State(state): State<AppState>,
    v: Visitor,
    Path(unit_id): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let attempted = "name a deputy";
    let f: DeputyForm = match read_form(req, 16 * 1024).await {
        Ok(f) => f,
        Err(p) => return super::refuse(&state, &v, attempted, ("unit", &unit_id), p).await,
    };
    let result: Result<(), Problem> = async {
        if !fresh(&v, &f.csrf) {
            return Err(stale_problem());
        }
        let period = hjul_wheel::deputy::Period::new(
            optional_day(&f.starts_on, "starts_on")?,
            optional_day(&f.ends_on, "ends_on")?,
        );
        let language = hjul_wheel::Language::parse(&f.language).unwrap_or(hjul_wheel::Language::Da);
        state
            .core()
            .name_deputy(&v.who, &unit_id, (&f.email, &f.name, language), period)
            .await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => back(&unit_id, "deputy"),
        Err(problem) => {
            super::audit(&state, &v, attempted, ("unit", &unit_id), &problem).await;
            let typed = DeputyDraft {
                email: f.email,
                name: f.name,
                language: f.language,
                starts_on: f.starts_on,
                ends_on: f.ends_on,
            };
            refused_form(&state, &v, &unit_id, ("deputy", Some(typed)), problem).await
        }
    }
}

#[derive(Deserialize, Default)]
struct EndForm {
    #[serde(default)]
    csrf: String,
}

/// Ends a deputy now (`POST /units/{unit_id}/deputies/{deputy_id}/end`).
pub async fn end(
    State(state): State<AppState>,
    v: Visitor,
    Path((unit_id, deputy_id)): Path<(String, String)>,
    req: axum::extract::Request,
) -> Response {
    let attempted = "end a deputy";
    let result: Result<(), Problem> = async {
        let f: EndForm = read_form(req, 4 * 1024).await?;
        if !fresh(&v, &f.csrf) {
            return Err(stale_problem());
        }
        let id = uuid::Uuid::parse_str(&deputy_id).map_err(|_| {
            Problem::not_found("no such deputy").text(hjul_wheel::Text::new("deputy.no_such"))
        })?;
        state.core().end_deputy(&v.who, &unit_id, id).await?;
        Ok(())
    }
    .await;
    match result {
        Ok(()) => back(&unit_id, "deputy_ended"),
        Err(problem) => {
            super::audit(&state, &v, attempted, ("unit", &unit_id), &problem).await;
            refused_form(&state, &v, &unit_id, ("deputy_end", None), problem).await
        }
    }
}

#[derive(Deserialize, Default)]
struct SitOutForm {
    #[serde(default)]
    csrf: String,
    /// `yes`: from the next cycle; anything else: back into the running one.
    #[serde(default)]
    sit_out: String,
}

/// Lets a late joiner take part from the next cycle instead, or brings it back into the
/// running one (`POST /units/{unit_id}/next-cycle`, the secretariat's).
pub async fn sit_out(
    State(state): State<AppState>,
    v: Visitor,
    Path(unit_id): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let attempted = "put a unit into the next cycle";
    let result: Result<bool, Problem> = async {
        let f: SitOutForm = read_form(req, 4 * 1024).await?;
        if !fresh(&v, &f.csrf) {
            return Err(stale_problem());
        }
        let sit_out = f.sit_out == "yes";
        state
            .core()
            .sit_out_cycle(&v.who, &unit_id, sit_out)
            .await?;
        Ok(sit_out)
    }
    .await;
    match result {
        Ok(sit_out) => Redirect::to(&format!(
            "/units/{}?done={}#joining",
            super::percent_encode(&unit_id),
            if sit_out { "sits_out" } else { "back_in" }
        ))
        .into_response(),
        Err(problem) => {
            super::audit(&state, &v, attempted, ("unit", &unit_id), &problem).await;
            refused_form(&state, &v, &unit_id, ("sit_out", None), problem).await
        }
    }
}
