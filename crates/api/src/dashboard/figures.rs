//! The indicator data on the pages: a unit's figures (each measure with its trend chart,
//! the verdict in words and the averages beside), and the secretariat's data page (the
//! import of a measurement file, and the pre-analysis' patterns for a cycle). What is
//! hidden, what a trend says and what a pattern counts are `hjul_wheel::data`'s rules;
//! this only words and draws them.

use axum::extract::{Multipart, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use hjul_wheel::data::{MeasureView, Verdict};
use hjul_wheel::{Direction, Text};
use minijinja::{Value, context};

use super::chart;
use super::pages::{query, refusal_view};
use super::secretariat::Secretariat;
use super::{Lang, Page, Visitor, error_page, fresh, stale_problem};
use crate::AppState;
use crate::problem::Problem;

fn verdict_key(v: Verdict) -> &'static str {
    match v {
        Verdict::Better => "better",
        Verdict::Worse => "worse",
        Verdict::Unchanged => "unchanged",
        Verdict::Insufficient => "insufficient",
    }
}

fn name(lang: Lang, m: &MeasureView) -> String {
    match lang {
        Lang::Da => m.name_da.clone(),
        Lang::En => m.name_en.clone(),
    }
}

/// A unit's figures as its page shows them, one entry per measure it has values on.
pub async fn unit_figures(
    state: &AppState,
    v: &Visitor,
    unit: &hjul_wheel::UnitId,
) -> Result<Vec<Value>, Problem> {
    let lang = v.lang;
    let (_, sheet) = state.core().data_sheet(&v.who, unit.as_str()).await?;
    let words = state.words();
    let cat = words.of(lang);
    let shown = |m: &MeasureView, v: Option<f64>| {
        v.map_or_else(|| "–".to_owned(), |v| chart::value(cat, Some(m.unit), v))
    };
    Ok(sheet
        .iter()
        .map(|m| {
            context! {
                id => m.measure.as_str(),
                name => name(lang, m),
                direction => words.word(lang, match m.direction {
                    Direction::Lower => "figures.lower",
                    Direction::Higher => "figures.higher",
                }),
                period => m.latest_period.map(|p| p.to_string()),
                latest => match (m.latest_period, m.latest) {
                    (Some(_), None) => words.word(lang, "figures.too_few"),
                    (_, v) => shown(m, v),
                },
                change => m.change.map(|c| {
                    let sign = if c > 0.0 { "+" } else { "" };
                    format!("{sign}{}", cat.decimal(c, m.unit.decimals()))
                }),
                verdict => verdict_key(m.verdict),
                verdict_word => words.word(lang, &format!("figures.verdict.{}", verdict_key(m.verdict))),
                area => shown(m, m.area_average),
                department => shown(m, m.department_average),
                chart => chart::trend(words, lang, m),
            }
        })
        .collect())
}

/// The secretariat's data page: `?cycle=YEAR` picks whose pre-analysis to show (the
/// running cycle's by default).
pub async fn data(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    uri: Uri,
) -> Response {
    let cycle = query(&uri).get("cycle").and_then(|c| c.parse().ok());
    data_page(&state, &v, cycle, None, None).await
}

/// The patterns page of a manager (`/data`, anyone signed in): the pre-analysis over
/// the units they see, per measure and area and never a ranking, and a link to each
/// of those units' data sheets. The secretariat's own page adds the import.
pub async fn patterns(State(state): State<AppState>, v: Visitor, uri: Uri) -> Response {
    let cycle = query(&uri).get("cycle").and_then(|c| c.parse().ok());
    let units = match state
        .core()
        .status(&v.who, state.today(), (hjul_app::View::Patterns, &[]))
        .await
    {
        Ok(seen) => seen
            .rows()
            .map(|r| UnitLink {
                id: r.unit_id.clone(),
                name: r.name.clone(),
                area: state
                    .words()
                    .word(v.lang, &format!("area.{}", r.area.key())),
            })
            .collect(),
        Err(e) => return error_page(&state, v.lang, Some(&v), e.into()),
    };
    patterns_page(&state, &v, cycle, Some(units), None, None).await
}

/// A unit on the patterns page, with its data sheet.
#[derive(serde::Serialize)]
struct UnitLink {
    id: String,
    name: String,
    area: String,
}

async fn data_page(
    state: &AppState,
    v: &Visitor,
    cycle: Option<i32>,
    message: Option<String>,
    problem: Option<Problem>,
) -> Response {
    patterns_page(state, v, cycle, None, message, problem).await
}

/// The pre-analysis' patterns of a cycle over what `v` sees: with `units`, a manager's
/// page and its units' sheets; without, the secretariat's, with the import.
async fn patterns_page(
    state: &AppState,
    v: &Visitor,
    cycle: Option<i32>,
    units: Option<Vec<UnitLink>>,
    message: Option<String>,
    problem: Option<Problem>,
) -> Response {
    let lang = v.lang;
    let words = state.words();
    let cat = words.of(lang);
    let def = &state.core().wheel().definition;
    let running = def.cycles.cycle_containing(state.today());
    let every = def.cycles.every_years();
    // The cycle before, the running one and the next: the pre-analyses someone prepares.
    let choices: Vec<i32> = (-1..=1)
        .map(|k| running.year() + k * every)
        .filter(|y| def.cycle(*y).is_ok())
        .collect();
    let year = cycle
        .filter(|y| def.cycle(*y).is_ok())
        .unwrap_or(running.year());
    let before = match def.cycle(year) {
        Ok(c) => c.cycle().starts(),
        Err(_) => running.starts(),
    };
    let all = match state.core().patterns(&v.who, before).await {
        Ok(p) => p,
        Err(e) => return error_page(state, lang, Some(v), e.into()),
    };
    let catalogue = &state.core().wheel().catalogue;
    let number = |code: &str, x: Option<f64>| {
        x.map_or_else(
            || "–".to_owned(),
            |x| chart::value(cat, catalogue.get(code).map(|m| m.unit), x),
        )
    };
    let rows: Vec<Value> = all
        .iter()
        .map(|p| {
            let code = p.measure.as_str();
            context! {
                measure => catalogue.get(code).map_or_else(|| code.to_owned(), |m| match lang {
                    Lang::Da => m.name_da.clone(),
                    Lang::En => m.name_en.clone(),
                }),
                code => code,
                area => words.word(lang, &format!("area.{}", p.area.key())),
                period => p.period.to_string(),
                units => p.pattern.units,
                average => number(code, p.pattern.average),
                spread => number(code, p.pattern.spread),
                better => p.pattern.better,
                worse => p.pattern.worse,
                unchanged => p.pattern.unchanged,
                insufficient => p.pattern.insufficient,
                target => catalogue.get(code).and_then(|m| m.target.map(|t| (m, t))).zip(p.target_met).map(|((m, t), met)| {
                    let goal = chart::target(cat, m.unit, t);
                    cat.render(
                        &Text::new("patterns.target_met")
                            .arg("met", met)
                            .arg("units", p.pattern.units)
                            .arg("target", goal),
                    )
                }),
            }
        })
        .collect();
    let (status, error, lines) =
        refusal_view(state, lang, problem.as_ref(), "patterns.not_imported");
    let (action, title) = if units.is_some() {
        ("/data", "patterns.chief_title")
    } else {
        ("/admin/data", "patterns.title")
    };
    Page::of(state, v, "data.html", title)
        .message(message)
        .error(error)
        .status(status)
        .render(DataPage {
            import: units.is_none(),
            action,
            units: units.unwrap_or_default(),
            cycle: year,
            choices,
            before: cat.date(before),
            min: state.min_responses(),
            patterns: rows,
            error_lines: lines,
        })
}

/// What the data page (`data.html`) shows.
#[derive(serde::Serialize)]
struct DataPage {
    /// The secretariat's page, with the import form.
    import: bool,
    /// Where the cycle's choice goes.
    action: &'static str,
    /// On a manager's page: the units below, each with its data sheet.
    units: Vec<UnitLink>,
    cycle: i32,
    /// The cycles to choose from.
    choices: Vec<i32>,
    /// The day the patterns are of.
    before: String,
    min: u32,
    patterns: Vec<Value>,
    error_lines: Vec<String>,
}

/// The measurement file, uploaded: checked whole, written whole or not at all.
pub async fn import(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let result: Result<hjul_store::DataImportReport, Problem> = async {
        let (csrf, file) = super::editor::upload(multipart, "file").await?;
        if !fresh(&v, &csrf) {
            return Err(stale_problem());
        }
        let text = String::from_utf8(file).map_err(|_| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_file",
                "the file is not UTF-8",
            )
            .text(Text::new("patterns.not_utf8"))
        })?;
        import_text(&state, &v.who, &text, "upload.csv").await
    }
    .await;
    match result {
        Ok(r) => {
            let message = state.words().text(
                v.lang,
                &Text::new("patterns.imported")
                    .arg("rows", r.rows)
                    .arg("new", r.new)
                    .arg("replaced", r.replaced),
            );
            data_page(&state, &v, None, Some(message), None).await
        }
        Err(p) => {
            super::audit(&state, &v, "import data", ("data", "-"), &p).await;
            data_page(&state, &v, None, None, Some(p)).await
        }
    }
}

/// Checks and writes a measurement file: every problem as a line of the refusal.
pub async fn import_text(
    state: &AppState,
    who: &hjul_app::Actor,
    text: &str,
    file: &str,
) -> Result<hjul_store::DataImportReport, Problem> {
    let areas = state.core().unit_areas().await?;
    let rows = hjul_wheel::data::read_measurements(
        text,
        &state.core().wheel().catalogue,
        |id| areas.get(id).copied(),
        |_| {},
    )
    .map_err(|e| Problem::of_rows(e.to_string(), e.0))?;
    Ok(state
        .core()
        .import_measurements(who, file, &rows, |_, _| {})
        .await?)
}
