//! `/api/v1`: everything the command line does, for programs. Read endpoints show what
//! the token's holder may see; write endpoints check the rules of the wheel and the
//! holder's rights, and a refused attempt goes to the audit log with who tried.

use std::future::Future;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use hjul_store::{OutboxState, StatusFilter};
use hjul_wheel::{Area, Deadline, EventKind, Level, Organisation, UnitId};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::Principal;
use crate::problem::{
    ApiJson, ApiPath as Path, ApiQuery, Problem, body_of, check_day, is_media_type, path_param,
};
use hjul_app::UnitRecord;

#[derive(OpenApi)]
#[openapi(
    info(title = "hjul", description = "The quality wheel (kvalitetshjulet): where each institution stands, and what happens in a cycle."),
    modifiers(&Bearer),
    tags((name = "status", description = "Where each unit stands"), (name = "records", description = "What happens in a cycle"), (name = "admin", description = "The secretariat's tools"))
)]
struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "token",
            Vec::<String>::new(),
        )]);
    }
}

pub fn router() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, spec) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(me))
        .routes(routes!(units))
        .routes(routes!(unit))
        .routes(routes!(status))
        .routes(routes!(cycles))
        .routes(routes!(plan))
        .routes(routes!(start_cycle))
        .routes(routes!(milestone))
        .routes(routes!(import))
        .routes(routes!(dialogue))
        .routes(routes!(agreements, submit))
        .routes(routes!(unit_data))
        .routes(routes!(patterns))
        .routes(routes!(report))
        .routes(routes!(final_report, make_final_report))
        .routes(routes!(import_data))
        .routes(routes!(sign))
        .routes(routes!(midway))
        .routes(routes!(goal_status))
        .routes(routes!(review))
        .routes(routes!(deputies, name_deputy))
        .routes(routes!(all_deputies))
        .routes(routes!(next_cycle))
        .routes(routes!(end_deputy))
        .routes(routes!(correct))
        .routes(routes!(outbox))
        .routes(routes!(retry))
        .routes(routes!(audit))
        .routes(routes!(reads))
        .split_for_parts();
    let mut spec = spec;
    crate::problem::document_problems(&mut spec);
    (router, spec)
}

type ApiResult<T> = Result<T, Problem>;

/// Runs a write; if it is refused (no right, or the wheel's rules), the attempt is
/// recorded in the audit log with who tried and why.
async fn write<T>(
    state: &AppState,
    who: &Principal,
    attempted: &str,
    entity: (&str, &str),
    f: impl Future<Output = ApiResult<T>>,
) -> ApiResult<T> {
    let result = f.await;
    if let Err(p) = &result
        && (matches!(p.status, 400 | 403 | 404 | 409 | 413 | 415 | 422) || p.is_busy())
    {
        state
            .audit_refusal(who.stamp(state), attempted, entity, p)
            .await;
    }
    result
}

/// `GET /healthz`: answers without a token while the process runs.
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[derive(Serialize, ToSchema)]
struct Me {
    email: String,
    role: String,
    /// The active units this person leads.
    leads: Vec<String>,
}

/// Who the token belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "status", responses((status = 200, body = Me)))]
async fn me(who: Principal) -> Json<Me> {
    Json(Me {
        email: who.email.clone(),
        role: who.role().key().to_owned(),
        leads: who.leads.clone(),
    })
}

#[derive(Serialize, ToSchema)]
struct UnitDto {
    unit_id: String,
    name: String,
    level: i16,
    area: Area,
    parent_id: Option<String>,
    leader_name: String,
    leader_email: String,
    active: bool,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct UnitsQuery {
    /// The most units one answer holds (default and most: 1000). When there are more,
    /// the `Link` header names the next page (`rel="next"`).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Where the page starts: the cursor in the previous answer's `Link` header.
    #[param(pattern = "^[1-4]:[A-Za-z0-9._-]{1,64}$")]
    cursor: Option<String>,
}

/// The units the token's holder sees (deactivated ones too), by level and id, a page at
/// a time (`limit`, `cursor`): the `Link` header names the next page while there is one.
#[utoipa::path(get, path = "/api/v1/units", tag = "status", params(UnitsQuery),
    responses((status = 200, body = [UnitDto], headers(
        ("link" = String, description = "`</api/v1/units?…&cursor=…>; rel=\"next\"` while more units follow")
    ))))]
async fn units(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<UnitsQuery>,
) -> ApiResult<Response> {
    let limit = page_limit(q.limit)?;
    let cursor = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(unit_cursor(c).ok_or_else(bad_cursor)?),
    };
    let dir = state.core().directory(&who).await?;
    let mut seen: Vec<&hjul_store::Unit> = dir
        .units()
        .filter(|u| who.sees(&u.id))
        .filter(|u| {
            cursor
                .as_ref()
                .is_none_or(|(level, id)| (u.level, &u.id) > (*level, id))
        })
        .collect();
    seen.sort_by(|a, b| (a.level, &a.id).cmp(&(b.level, &b.id)));
    let mut out = Vec::new();
    let mut more = false;
    for u in seen {
        let Some(leader) = dir.leader(&u.id, 0) else {
            continue;
        };
        if out.len() == limit {
            more = true;
            break;
        }
        out.push(UnitDto {
            unit_id: u.id.clone(),
            name: u.name.clone(),
            level: u.level,
            area: u.area,
            parent_id: u.parent_id.clone(),
            leader_name: leader.name,
            leader_email: leader.email,
            active: u.active,
        });
    }
    let link = out.last().filter(|_| more).map(|last| {
        next_link(
            "/api/v1/units",
            &[
                ("limit", limit.to_string()),
                ("cursor", format!("{}:{}", last.level, last.unit_id)),
            ],
        )
    });
    Ok(with_link(Json(out), link))
}

/// A page size asked for: 1 to `PAGE`, `PAGE` when none is given.
fn page_limit(limit: Option<u32>) -> Result<usize, Problem> {
    match limit {
        None => Ok(PAGE as usize),
        Some(n) if (1..=PAGE).contains(&n) => Ok(n as usize),
        Some(n) => {
            Err(Problem::bad_request(format!("{n} is not a page size: 1 to {PAGE}")).field("limit"))
        }
    }
}

fn bad_cursor() -> Problem {
    Problem::bad_request(
        "the cursor is not one this API gave: take it from the `Link` header of the previous page, or leave it out for the first",
    )
    .field("cursor")
}

/// The characters a unit id may have (`hjul_wheel::org::UnitId`), at most 64.
fn unit_id_like(unit: &str) -> bool {
    (1..=64).contains(&unit.len())
        && unit
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// A cursor of `/units`: `level:unit`, exactly as the document's pattern allows.
fn unit_cursor(text: &str) -> Option<(i16, String)> {
    let (level, unit) = text.split_once(':')?;
    let level = Level::new(level.parse().ok()?)?;
    unit_id_like(unit).then(|| (i16::from(level.number()), unit.to_owned()))
}

/// The `Link` header of the page after this one.
fn next_link(path: &str, pairs: &[(&str, String)]) -> String {
    let mut next = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        next.append_pair(k, v);
    }
    format!("<{path}?{}>; rel=\"next\"", next.finish())
}

/// A JSON answer with the `Link` header of the next page, if there is one.
fn with_link(body: impl axum::response::IntoResponse, link: Option<String>) -> Response {
    let mut res = body.into_response();
    if let Some(link) = link
        && let Ok(value) = axum::http::HeaderValue::from_str(&link)
    {
        res.headers_mut().insert(axum::http::header::LINK, value);
    }
    res
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AtQuery {
    // Every date in the document carries this pattern: the years hjul answers for
    // (2000–2199, `check_day`), so a date of another century breaks the schema, and
    // the server's 400 for it is what the document says.
    /// The day to look at (default today).
    #[param(pattern = "^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    at: Option<NaiveDate>,
}

/// One unit's timeline in the cycle running on `at`: events, deadlines met and open,
/// milestones, agreements with goals and grades.
#[utoipa::path(get, path = "/api/v1/units/{unit_id}", tag = "status", params(("unit_id" = String, Path), AtQuery),
    responses((status = 200, body = Object)))]
async fn unit(
    State(state): State<AppState>,
    who: Principal,
    Path(unit_id): Path<String>,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> ApiResult<Json<hjul_store::Timeline>> {
    let at = check_day("at", q.at.unwrap_or_else(|| state.today()))?;
    Ok(Json(state.core().timeline(&who, &unit_id, at).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct StatusQuery {
    /// The day to look at (default today).
    #[param(pattern = "^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    at: Option<NaiveDate>,
    /// Only units of this area.
    #[param(value_type = Option<Area>, inline)]
    area: Option<String>,
    /// Only units of this level: 1 is the department, 4 a house.
    #[param(minimum = 1, maximum = 4)]
    level: Option<u8>,
    /// Only units past a deadline.
    overdue: Option<bool>,
    /// The most units one answer holds (default and most: 1000). When there are more,
    /// the `Link` header names the next page (`rel="next"`).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// Where the page starts: the cursor in the previous answer's `Link` header.
    #[param(pattern = "^[1-4]:(daycare|school|family|department):[A-Za-z0-9._-]{1,64}$")]
    cursor: Option<String>,
}

/// The most rows one answer of a list (`/status`, `/units`) holds: a department of
/// 20,000 units is read in pages, so no single answer costs more than a few hundred
/// kilobytes.
const PAGE: u32 = 1000;

/// Where a page of status rows starts: after the row with this (level, area, unit),
/// the order rows come in. Opaque to clients; written as `level:area:unit`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Cursor(u8, String, String);

impl Cursor {
    fn after(r: &hjul_store::StatusRow) -> Self {
        Self(r.level, r.area.key().to_owned(), r.unit_id.clone())
    }

    /// Exactly what the document's pattern allows, and nothing else.
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, ':');
        let level = Level::new(parts.next()?.parse().ok()?)?;
        let area = Area::parse(parts.next()?)?;
        let unit = parts.next()?;
        if !unit_id_like(unit) {
            return None;
        }
        Some(Self(level.number(), area.key().to_owned(), unit.to_owned()))
    }

    fn text(&self) -> String {
        format!("{}:{}:{}", self.0, self.1, self.2)
    }
}

#[derive(Serialize, ToSchema)]
pub struct NextDeadlineDto {
    deadline: Deadline,
    due: NaiveDate,
}

#[derive(Serialize, ToSchema)]
pub struct AgreementDto {
    state: hjul_wheel::AgreementState,
    /// The weighted score in percent, once the midway grades are in.
    score: Option<f64>,
}

/// One unit's standing: the same row as `hjul status --format json`.
#[derive(Serialize, ToSchema)]
pub struct StatusRowDto {
    unit_id: String,
    name: String,
    level: u8,
    area: Area,
    cycle: i32,
    step: Option<hjul_wheel::Step>,
    next_deadline: Option<NextDeadlineDto>,
    overdue_days: i64,
    responsible: String,
    agreement: Option<AgreementDto>,
}

impl From<hjul_store::StatusRow> for StatusRowDto {
    fn from(r: hjul_store::StatusRow) -> Self {
        Self {
            unit_id: r.unit_id,
            name: r.name,
            level: r.level,
            area: r.area,
            cycle: r.cycle,
            step: r.step,
            next_deadline: r.next_deadline.map(|n| NextDeadlineDto {
                deadline: n.deadline,
                due: n.due,
            }),
            overdue_days: r.overdue_days,
            responsible: r.responsible,
            agreement: r.agreement.map(|a| AgreementDto {
                state: a.state,
                score: a.score.map(hjul_wheel::Score::percent),
            }),
        }
    }
}

/// Where every unit the holder sees stands on `at`, a page at a time (`limit`,
/// `cursor`): the `Link` header names the next page while there is one.
#[utoipa::path(get, path = "/api/v1/status", tag = "status", params(StatusQuery),
    responses((status = 200, body = [StatusRowDto], headers(
        ("link" = String, description = "`</api/v1/status?…&cursor=…>; rel=\"next\"` while more units follow")
    ))))]
async fn status(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<StatusQuery>,
) -> ApiResult<Response> {
    let area = match q.area.as_deref() {
        None => None,
        Some(a) => Some(Area::parse(a).ok_or_else(|| {
            Problem::bad_request(format!(
                "`{a}` is not an area: daycare, school, family or department"
            ))
            .field("area")
        })?),
    };
    let level = match q.level {
        None => None,
        Some(n) => Some(Level::new(n).ok_or_else(|| {
            Problem::bad_request(format!("{n} is not a level: 1 to 4")).field("level")
        })?),
    };
    let at = check_day("at", q.at.unwrap_or_else(|| state.today()))?;
    let filter = StatusFilter {
        area,
        level,
        overdue: q.overdue.unwrap_or(false),
    };
    let cursor = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(Cursor::parse(c).ok_or_else(bad_cursor)?),
    };
    let limit = page_limit(q.limit)?;
    // Shared and kept by the store until something changes: a page copies its own rows.
    let seen = state
        .core()
        .status(&who, at, (hjul_app::View::Status, &filter.terms()))
        .await?;
    // The rows come in cursor order, so a page is what follows the cursor.
    let mut page: Vec<&hjul_store::StatusRow> = seen
        .rows()
        .filter(|r| filter.keeps(r))
        .filter(|r| cursor.as_ref().is_none_or(|c| Cursor::after(r) > *c))
        .take(limit + 1)
        .collect();
    let more = page.len() > limit;
    page.truncate(limit);
    let link = page.last().filter(|_| more).map(|last| {
        let mut pairs = vec![("at", at.to_string())];
        if let Some(a) = filter.area {
            pairs.push(("area", a.key().to_owned()));
        }
        if let Some(l) = filter.level {
            pairs.push(("level", l.number().to_string()));
        }
        if filter.overdue {
            pairs.push(("overdue", "true".to_owned()));
        }
        pairs.push(("limit", limit.to_string()));
        pairs.push(("cursor", Cursor::after(last).text()));
        next_link("/api/v1/status", &pairs)
    });
    let body: Vec<StatusRowDto> = page.into_iter().cloned().map(Into::into).collect();
    Ok(with_link(Json(body), link))
}

#[derive(Serialize, ToSchema)]
struct CycleDto {
    year: i32,
    started_at: DateTime<Utc>,
    /// Who started it: `api:EMAIL`, `cli:USER`, or the scheduler.
    started_by: String,
    /// `early`: by the secretariat before its first day; `on_first_day`: on its own.
    started_how: hjul_store::StartedHow,
    definition_version: String,
    catalogue_version: String,
}

impl From<hjul_store::Cycle> for CycleDto {
    fn from(c: hjul_store::Cycle) -> Self {
        Self {
            year: c.year,
            started_at: c.started_at,
            started_by: c.started_by,
            started_how: c.started_how,
            definition_version: c.definition_version,
            catalogue_version: c.catalogue_version,
        }
    }
}

/// The cycles on record.
#[utoipa::path(get, path = "/api/v1/cycles", tag = "status", responses((status = 200, body = [CycleDto])))]
async fn cycles(State(state): State<AppState>, _who: Principal) -> ApiResult<Json<Vec<CycleDto>>> {
    Ok(Json(
        state
            .core()
            .cycles()
            .await?
            .into_iter()
            .map(Into::into)
            .collect(),
    ))
}

/// A cycle's phase windows and deadlines, as `hjul plan --format json`.
#[utoipa::path(get, path = "/api/v1/cycles/{year}/plan", tag = "status", params(("year" = i32, Path)),
    responses((status = 200, body = Object)))]
async fn plan(
    State(state): State<AppState>,
    _who: Principal,
    Path(year): Path<String>,
) -> ApiResult<Json<hjul_wheel::Plan>> {
    Ok(Json(cycle_of(&state, &year)?.plan()))
}

/// The cycle a path's `{year}` names: 400 for no year, 404 for a year with no cycle.
fn cycle_of<'a>(state: &'a AppState, year: &str) -> Result<hjul_wheel::CyclePlan<'a>, Problem> {
    let year: i32 = path_param("year", year, "a year")?;
    state
        .core()
        .wheel()
        .definition
        .cycle(year)
        .map_err(|e| Problem::not_found(e.to_string()).field("year"))
}

/// Starts a cycle now, before its first day (secretariat).
#[utoipa::path(post, path = "/api/v1/cycles/{year}/start", tag = "admin", params(("year" = i32, Path)),
    responses((status = 201, body = CycleDto)))]
async fn start_cycle(
    State(state): State<AppState>,
    who: Principal,
    Path(year): Path<String>,
) -> ApiResult<(StatusCode, Json<CycleDto>)> {
    write(
        &state,
        &who,
        "start a cycle",
        ("cycle", &year.clone()),
        async {
            who.require_secretariat("starting a cycle")?;
            let year: i32 = path_param("year", &year, "a year")?;
            let c = state.core().start_cycle(&who, year).await?;
            Ok((StatusCode::CREATED, Json(c.into())))
        },
    )
    .await
}

/// The body of a milestone, as its schema says: `themes` (at least one) with
/// `themes_published`, and with no other milestone.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct MilestoneBody {
    pub(crate) milestone: String,
    pub(crate) on: NaiveDate,
    /// With themes_published: the focus themes in priority order.
    #[serde(default)]
    pub(crate) themes: Option<Vec<String>>,
}

/// A milestone as recorded.
#[derive(Serialize, ToSchema)]
struct MilestoneDto {
    cycle: i32,
    #[schema(value_type = hjul_wheel::Milestone)]
    milestone: &'static str,
    on: NaiveDate,
    /// With `report_final`: the SHA-256 of the final report kept with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    final_report_sha256: Option<String>,
    /// With `report_final`, when its report could not be laid out: why. The milestone
    /// is on record all the same; `POST /api/v1/cycles/{year}/report/final` makes the
    /// report once the cause is corrected.
    #[serde(skip_serializing_if = "Option::is_none")]
    final_report_not_made: Option<String>,
}

/// Records a department milestone (the secretariat, or whom `wheel.toml` names).
#[utoipa::path(post, path = "/api/v1/cycles/{year}/milestones", tag = "records", params(("year" = i32, Path)), request_body = MilestoneBody,
    responses((status = 201, body = MilestoneDto)))]
async fn milestone(
    State(state): State<AppState>,
    who: Principal,
    Path(year): Path<String>,
    body: Result<ApiJson<MilestoneBody>, Problem>,
) -> ApiResult<(StatusCode, Json<MilestoneDto>)> {
    write(
        &state,
        &who,
        "record a milestone",
        ("milestone", &year.clone()),
        async {
            // Who records which milestone (the secretariat; the director when the wheel
            // names them) is asked by the core.
            let year: i32 = path_param("year", &year, "a year")?;
            let ApiJson(b) = body?;
            let m = Deadline::MILESTONES
                .into_iter()
                .find(|d| d.key() == b.milestone)
                .ok_or_else(|| {
                    Problem::bad_request(format!(
                        "`{}` is not a milestone: data_collected, themes_published or report_final",
                        b.milestone
                    ))
                    .field("milestone")
                })?;
            // Which milestone takes themes is the wheel's rule, asked by the core (a body
            // that breaks it is well formed and refused with 422). An empty list is no
            // themes. report_final keeps the final report with it.
            let themes = b.themes.filter(|t| !t.is_empty());
            let report = state
                .core()
                .record_milestone(&who, (year, m, b.on), themes)
                .await?;
            let (final_report_sha256, final_report_not_made) = match report {
                Some(hjul_app::FinalReport::Kept(hash)) => (Some(hash), None),
                Some(hjul_app::FinalReport::NotMade(why)) => (None, Some(why.to_string())),
                None => (None, None),
            };
            Ok((
                StatusCode::CREATED,
                Json(MilestoneDto {
                    cycle: year,
                    milestone: m.key(),
                    on: b.on,
                    final_report_sha256,
                    final_report_not_made,
                }),
            ))
        },
    )
    .await
}

#[derive(Serialize, ToSchema)]
struct ImportDto {
    units_created: usize,
    units_updated: usize,
    units_unchanged: usize,
    units_deactivated: usize,
    units_reactivated: usize,
    people_created: usize,
    people_updated: usize,
    /// Whether this was a preview: then nothing was written.
    preview: bool,
    /// What passes from each leader who leaves a unit (replaced, or the unit closed).
    handovers: Vec<HandoverDto>,
    /// Who leads no active unit after the import: kept as they are for
    /// `[privacy] departed_days`, then anonymised.
    people_left: Vec<String>,
}

#[derive(Serialize, ToSchema)]
struct HandoverDto {
    unit_id: String,
    unit_name: String,
    /// The leader who leaves.
    from: String,
    /// The new leader; none: the unit is closed.
    to: Option<String>,
    /// The open deadlines mail told the leader who leaves of, here and below: the new
    /// leader is told they are theirs now; the old one's calendar entries are cancelled.
    deadlines: Vec<MovingDto>,
    /// The unit's drafts (`agreement`, `midway`): they stay with the unit.
    drafts: Vec<String>,
    /// Mail about these units waiting to go, to whoever holds each deadline then.
    pending_mail: u64,
}

#[derive(Serialize, ToSchema)]
struct MovingDto {
    cycle: i32,
    unit_id: String,
    deadline: &'static str,
    due: NaiveDate,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ImportQuery {
    /// `true`: say what the import would change and hand over, and write nothing.
    preview: Option<bool>,
}

/// A CSV file sent as the body: `text/csv`, at most [`crate::BODY_LIMIT`], UTF-8.
async fn csv_body(req: axum::extract::Request) -> Result<String, Problem> {
    if !is_media_type(req.headers(), "text/csv") {
        return Err(Problem::unsupported("text/csv"));
    }
    let body: Bytes = body_of(req, crate::BODY_LIMIT).await?;
    String::from_utf8(body.to_vec()).map_err(|_| {
        Problem::bad_request(
            "the file is not UTF-8: in Excel, save it as \"CSV UTF-8 (kommasepareret)\"",
        )
    })
}

/// Imports the organisation from CSV (secretariat); the body is the file. With
/// `preview=true` it says what the import would change and hand over, and writes nothing.
#[utoipa::path(post, path = "/api/v1/organisation", tag = "admin", params(ImportQuery), request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportDto)))]
async fn import(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<ImportQuery>,
    req: axum::extract::Request,
) -> ApiResult<Json<ImportDto>> {
    let preview = q.preview.unwrap_or(false);
    write(
        &state,
        &who,
        if preview {
            "preview the organisation"
        } else {
            "import the organisation"
        },
        ("organisation", "-"),
        async {
            who.require_secretariat("importing the organisation")?;
            let text = csv_body(req).await?;
            let org = Organisation::from_csv(&text, |_| {})
                .map_err(|e| Problem::of_rows(e.to_string(), e.0))?;
            let r = if preview {
                state.core().preview_organisation(&who, &org).await?
            } else {
                state
                    .core()
                    .import_organisation(&who, &org, |_, _| {})
                    .await?
            };
            Ok(Json(ImportDto {
                preview,
                handovers: r
                    .handovers
                    .into_iter()
                    .map(|h| HandoverDto {
                        unit_id: h.unit_id,
                        unit_name: h.unit_name,
                        from: h.from.email,
                        to: h.to,
                        deadlines: h
                            .deadlines
                            .into_iter()
                            .map(|d| MovingDto {
                                cycle: d.cycle,
                                unit_id: d.unit_id,
                                deadline: d.deadline.key(),
                                due: d.due,
                            })
                            .collect(),
                        drafts: h.drafts,
                        pending_mail: h.pending_mail,
                    })
                    .collect(),
                units_created: r.units_created,
                units_updated: r.units_updated,
                units_unchanged: r.units_unchanged,
                units_deactivated: r.units_deactivated,
                units_reactivated: r.units_reactivated,
                people_created: r.people_created,
                people_updated: r.people_updated,
                people_left: r.people_left,
            }))
        },
    )
    .await
}

/// A year as JSON writes a whole number: `2025`, or `2025.0` (the same integer to JSON
/// Schema); anything with a fraction is refused.
fn whole_year<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    let Some(n) = Option::<f64>::deserialize(d)? else {
        return Ok(None);
    };
    if n.fract() != 0.0 || !(f64::from(i32::MIN)..=f64::from(i32::MAX)).contains(&n) {
        return Err(serde::de::Error::custom(format!("{n} is not a year")));
    }
    #[allow(clippy::cast_possible_truncation)]
    Ok(Some(n as i32))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DialogueBody {
    #[schema(pattern = "^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub(crate) on: NaiveDate,
    /// The record of the dialogue.
    #[serde(default)]
    pub(crate) notes: Option<String>,
    /// The leader lets the notes be quoted in the quality report; without it they
    /// never reach the report.
    #[serde(default)]
    pub(crate) for_report: bool,
    /// The cycle it is meant for (as the unit page's forms send theirs): a date in
    /// another cycle is refused (409) naming the cycle it falls in. Default: the cycle
    /// the date falls in.
    #[serde(default, deserialize_with = "whole_year")]
    #[schema(minimum = 2000, maximum = 2199)]
    pub(crate) cycle: Option<i32>,
}

/// Records that a unit's quality dialogue was held (its leader, or the secretariat).
#[utoipa::path(post, path = "/api/v1/units/{unit_id}/dialogue", tag = "records", params(("unit_id" = String, Path)), request_body = DialogueBody,
    responses((status = 201)))]
async fn dialogue(
    State(state): State<AppState>,
    who: Principal,
    Path(unit_id): Path<String>,
    body: Result<ApiJson<DialogueBody>, Problem>,
) -> ApiResult<StatusCode> {
    write(
        &state,
        &who,
        "record a dialogue",
        ("unit", &unit_id),
        async {
            // Access before the body is read: one who may not gets 403/404 whatever
            // they sent. The core asks the same rule again as it records.
            who.may(&state, EventKind::DialogueHeld, &unit_id)?;
            let ApiJson(b) = body?;
            let record = UnitRecord::Dialogue {
                on: b.on,
                notes: b.notes,
                for_report: b.for_report,
            };
            state
                .core()
                .record_in(&who, &unit_id, record, b.cycle)
                .await?;
            Ok(StatusCode::CREATED)
        },
    )
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitBody {
    /// The day it was submitted (default today).
    #[serde(default)]
    #[schema(pattern = "^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub(crate) on: Option<NaiveDate>,
    /// The agreement file (TOML with `[[goal]]` tables), as text.
    pub(crate) agreement: String,
}

#[derive(Serialize, ToSchema)]
struct SubmittedDto {
    revision: u32,
    /// Goal fixation and unmeasurable goals: worth a second look, not a refusal.
    warnings: Vec<String>,
}

/// A unit's agreements: every revision with its goals and grades.
#[utoipa::path(get, path = "/api/v1/units/{unit_id}/agreements", tag = "status", params(("unit_id" = String, Path), AtQuery),
    responses((status = 200, body = [Object])))]
async fn agreements(
    State(state): State<AppState>,
    who: Principal,
    Path(unit_id): Path<String>,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> ApiResult<Json<Vec<hjul_store::AgreementRevisionView>>> {
    let at = check_day("at", q.at.unwrap_or_else(|| state.today()))?;
    Ok(Json(
        state.core().timeline(&who, &unit_id, at).await?.agreements,
    ))
}

/// A unit's indicator data: per measure collected for its area, the series, the latest
/// value, the change since the period before of its kind, the verdict, and the area's and
/// the department's averages. A value from too few respondents is `null`, without its
/// count, and counts in no average; units are never ranked.
#[utoipa::path(get, path = "/api/v1/units/{unit_id}/data", tag = "status", params(("unit_id" = String, Path)),
    responses((status = 200, body = Object)))]
async fn unit_data(
    State(state): State<AppState>,
    who: Principal,
    Path(unit_id): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let (_, sheet) = state.core().data_sheet(&who, &unit_id).await?;
    Ok(Json(
        serde_json::json!({ "unit_id": unit_id, "measures": sheet }),
    ))
}

/// The pre-analysis' patterns for a cycle: per measure and area, in the latest period
/// that ended before the cycle began, the units' average and spread and how many got
/// better, worse or stayed. Counts, never a ranking. A manager's patterns cover the units
/// below them, a leader's their own unit; the secretariat's every unit.
#[utoipa::path(get, path = "/api/v1/cycles/{year}/patterns", tag = "status", params(("year" = i32, Path)),
    responses((status = 200, body = Object)))]
async fn patterns(
    State(state): State<AppState>,
    who: Principal,
    Path(year): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let cycle = cycle_of(&state, &year)?.cycle();
    let before = cycle.starts();
    let all = state.core().patterns(&who, before).await?;
    Ok(Json(serde_json::json!({
        "cycle": cycle.year(),
        "data_before": before,
        "patterns": all.as_slice(),
    })))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    /// pdf (default), html or md.
    #[param(value_type = Option<hjul_report::Format>, inline)]
    format: Option<String>,
    /// da (default) or en.
    #[param(value_type = Option<hjul_wheel::Language>, inline)]
    lang: Option<String>,
}

/// A draft of the cycle's quality report, made now, over the units the caller sees: the
/// department's for the secretariat, a manager's subtree, a leader's unit. Values from
/// too few respondents are never in it, and nothing ranks units.
#[utoipa::path(get, path = "/api/v1/cycles/{year}/report", tag = "status", params(("year" = i32, Path), ReportQuery),
    responses((status = 200, description = "the report", content(("application/pdf"), ("text/html"), ("text/markdown")))))]
async fn report(
    State(state): State<AppState>,
    who: Principal,
    Path(year): Path<String>,
    ApiQuery(q): ApiQuery<ReportQuery>,
) -> ApiResult<Response> {
    let cycle = cycle_of(&state, &year)?.cycle().year();
    let format = crate::reports::format(q.format.as_deref().unwrap_or("pdf"))?;
    let language = match q.lang.as_deref().unwrap_or("da") {
        "da" => hjul_wheel::Language::Da,
        "en" => hjul_wheel::Language::En,
        other => {
            return Err(Problem::bad_request(format!(
                "`{}` is not a language: use da or en",
                hjul_wheel::limits::clip(other, 20)
            ))
            .field("lang"));
        }
    };
    crate::reports::draft(&state, &who, cycle, format, language)
        .await
        .map(crate::reports::as_attachment)
}

/// The cycle's final quality report as kept when `report_final` was recorded: the PDF
/// the committee read, unchanged since (its SHA-256 in `ETag`). 404 until then.
#[utoipa::path(get, path = "/api/v1/cycles/{year}/report/final", tag = "status", params(("year" = i32, Path)),
    responses((status = 200, description = "the final report", content(("application/pdf")))))]
async fn final_report(
    State(state): State<AppState>,
    _who: Principal,
    Path(year): Path<String>,
) -> ApiResult<Response> {
    let cycle = cycle_of(&state, &year)?.cycle().year();
    crate::reports::kept(&state, cycle)
        .await
        .map(crate::reports::as_attachment)
}

/// A final report as kept.
#[derive(Serialize, ToSchema)]
struct KeptReportDto {
    cycle: i32,
    /// The PDF's SHA-256, in hex.
    sha256: String,
}

/// Makes and keeps the cycle's final report when `report_final` was recorded without it
/// (its layout failed then). Whoever may record `report_final` may; 409 when the
/// milestone is not on record or a final report is kept (it is never replaced).
#[utoipa::path(post, path = "/api/v1/cycles/{year}/report/final", tag = "records", params(("year" = i32, Path)),
    responses((status = 201, body = KeptReportDto)))]
async fn make_final_report(
    State(state): State<AppState>,
    who: Principal,
    Path(year): Path<String>,
) -> ApiResult<(StatusCode, Json<KeptReportDto>)> {
    write(
        &state,
        &who,
        "make the final report",
        ("milestone", &format!("{year}/report_final")),
        async {
            let cycle: i32 = path_param("year", &year, "a year")?;
            let sha256 = state.core().make_final_report(&who, cycle).await?;
            Ok((StatusCode::CREATED, Json(KeptReportDto { cycle, sha256 })))
        },
    )
    .await
}

#[derive(Serialize, ToSchema)]
struct DataImportDto {
    /// The values in the file.
    rows: usize,
    /// Values for a unit, measure and period that had none.
    new: usize,
    /// Values that replace one on record (the old one is kept, marked replaced).
    replaced: usize,
}

/// Imports a measurement file (secretariat); the body is the CSV with the header
/// `unit_id,measure,period,value,n,source`. All or nothing: every bad line is named.
#[utoipa::path(post, path = "/api/v1/data", tag = "admin", request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = DataImportDto)))]
async fn import_data(
    State(state): State<AppState>,
    who: Principal,
    req: axum::extract::Request,
) -> ApiResult<Json<DataImportDto>> {
    write(&state, &who, "import data", ("data", "-"), async {
        who.require_secretariat("importing data")?;
        let text = csv_body(req).await?;
        let r = crate::dashboard::figures::import_text(&state, &who, &text, "api").await?;
        Ok(Json(DataImportDto {
            rows: r.rows,
            new: r.new,
            replaced: r.replaced,
        }))
    })
    .await
}

/// Submits a new revision of a unit's agreement (its leader, or the secretariat).
#[utoipa::path(post, path = "/api/v1/units/{unit_id}/agreements", tag = "records", params(("unit_id" = String, Path)), request_body = SubmitBody,
    responses((status = 201, body = SubmittedDto)))]
async fn submit(
    State(state): State<AppState>,
    who: Principal,
    Path(unit_id): Path<String>,
    body: Result<ApiJson<SubmitBody>, Problem>,
) -> ApiResult<(StatusCode, Json<SubmittedDto>)> {
    write(
        &state,
        &who,
        "submit an agreement",
        ("unit", &unit_id),
        async {
            who.may(&state, EventKind::AgreementSubmitted, &unit_id)?;
            let ApiJson(b) = body?;
            let on = b.on.unwrap_or_else(|| state.today());
            let text = hjul_app::AgreementText::File {
                text: &b.agreement,
                name: "agreement",
            };
            let s = state
                .core()
                .submit_agreement(&who, &unit_id, (on, None), text)
                .await?;
            Ok((
                StatusCode::CREATED,
                Json(SubmittedDto {
                    revision: s.revision,
                    warnings: s.warnings.iter().map(ToString::to_string).collect(),
                }),
            ))
        },
    )
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignBody {
    #[schema(pattern = "^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    on: NaiveDate,
    /// The cycle it is meant for (as the unit page's forms send theirs): a date in
    /// another cycle is refused (409) naming the cycle it falls in. Default: the cycle
    /// the date falls in.
    #[serde(default, deserialize_with = "whole_year")]
    #[schema(minimum = 2000, maximum = 2199)]
    cycle: Option<i32>,
}

#[derive(Serialize, ToSchema)]
struct SignedDto {
    revision: u32,
}

/// The superior signs the latest revision (the manager of the unit above, or the
/// secretariat).
#[utoipa::path(post, path = "/api/v1/units/{unit_id}/agreements/sign", tag = "records", params(("unit_id" = String, Path)), request_body = SignBody,
    responses((status = 200, body = SignedDto)))]
async fn sign(
    State(state): State<AppState>,
    who: Principal,
    Path(unit_id): Path<String>,
    body: Result<ApiJson<SignBody>, Problem>,
) -> ApiResult<Json<SignedDto>> {
    write(
        &state,
        &who,
        "sign an agreement",
        ("unit", &unit_id),
        async {
            who.may(&state, EventKind::AgreementSigned, &unit_id)?;
            let ApiJson(b) = body?;
            let recorded = state
                .core()
                .record_in(&who, &unit_id, UnitRecord::Signature { on: b.on }, b.cycle)
                .await?;
            Ok(Json(SignedDto {
                revision: recorded.revision.unwrap_or_default(),
            }))
        },
    )
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MidwayBody {
    /// The day it was given (default today).
    #[serde(default)]
    #[schema(pattern = "^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub(crate) on: Option<NaiveDate>,
    /// The grades file (TOML with `[[grade]]` tables), as text.
    pub(crate) grades: String,
}

#[derive(Serialize, ToSchema)]
struct MidwayDto {
    /// In percent.
    score: f64,
    goals: usize,
}

/// Gives the midway status: a grade for every goal of the agreement in force.
#[utoipa::path(post, path = "/api/v1/units/{unit_id}/midway", tag = "records", params(("unit_id" = String, Path)), request_body = MidwayBody,
    responses((status = 201, body = MidwayDto)))]
async fn midway(
    State(state): State<AppState>,
    who: Principal,
    Path(unit_id): Path<String>,
    body: Result<ApiJson<MidwayBody>, Problem>,
) -> ApiResult<(StatusCode, Json<MidwayDto>)> {
    write(
        &state,
        &who,
        "give the midway status",
        ("unit", &unit_id),
        async {
            who.may(&state, EventKind::MidwayGiven, &unit_id)?;
            let ApiJson(b) = body?;
            let on = b.on.unwrap_or_else(|| state.today());
            let grades = hjul_app::GradesText::File {
                text: &b.grades,
                name: "grades",
            };
            let g = state
                .core()
                .give_midway(&who, &unit_id, (on, None), grades)
                .await?
                .grading;
            Ok((
                StatusCode::CREATED,
                Json(MidwayDto {
                    score: g.score.percent(),
                    goals: g.goals.len(),
                }),
            ))
        },
    )
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GoalStatusBody {
    /// The day it was given (default today).
    #[serde(default)]
    #[schema(pattern = "^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub(crate) on: Option<NaiveDate>,
    /// Where each goal of the agreement in force stands, one text per goal in the
    /// agreement's order.
    pub(crate) statuses: Vec<String>,
    /// The cycle it is meant for (as the unit page's forms send theirs): a date in
    /// another cycle is refused (409) naming the cycle it falls in. Default: the cycle
    /// the date falls in.
    #[serde(default, deserialize_with = "whole_year")]
    #[schema(minimum = 2000, maximum = 2199)]
    pub(crate) cycle: Option<i32>,
}

/// The half-yearly status on each goal of a unit's agreement in force (its leader, or
/// the secretariat), while a time of it is open.
#[utoipa::path(post, path = "/api/v1/units/{unit_id}/goal-status", tag = "records", params(("unit_id" = String, Path)), request_body = GoalStatusBody,
    responses((status = 201)))]
async fn goal_status(
    State(state): State<AppState>,
    who: Principal,
    Path(unit_id): Path<String>,
    body: Result<ApiJson<GoalStatusBody>, Problem>,
) -> ApiResult<StatusCode> {
    write(
        &state,
        &who,
        "give a status on the goals",
        ("unit", &unit_id),
        async {
            who.may(&state, EventKind::GoalStatusGiven, &unit_id)?;
            let ApiJson(b) = body?;
            let record = UnitRecord::GoalStatus {
                on: b.on.unwrap_or_else(|| state.today()),
                statuses: b.statuses,
            };
            state
                .core()
                .record_in(&who, &unit_id, record, b.cycle)
                .await?;
            Ok(StatusCode::CREATED)
        },
    )
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReviewBody {
    /// The day it was reviewed (default today).
    #[serde(default)]
    #[schema(pattern = "^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub(crate) on: Option<NaiveDate>,
    /// What the leader and the superior concluded.
    #[serde(default)]
    pub(crate) notes: Option<String>,
    /// The cycle it is meant for (as the unit page's forms send theirs): a date in
    /// another cycle is refused (409) naming the cycle it falls in. Default: the cycle
    /// the date falls in.
    #[serde(default, deserialize_with = "whole_year")]
    #[schema(minimum = 2000, maximum = 2199)]
    pub(crate) cycle: Option<i32>,
}

/// The yearly review: the unit's agreement in force was gone through and stands as it is
/// (its leader, or the secretariat). A changed agreement is submitted as a new revision.
#[utoipa::path(post, path = "/api/v1/units/{unit_id}/review", tag = "records", params(("unit_id" = String, Path)), request_body = ReviewBody,
    responses((status = 201)))]
async fn review(
    State(state): State<AppState>,
    who: Principal,
    Path(unit_id): Path<String>,
    body: Result<ApiJson<ReviewBody>, Problem>,
) -> ApiResult<StatusCode> {
    write(
        &state,
        &who,
        "review the agreement",
        ("unit", &unit_id),
        async {
            who.may(&state, EventKind::AgreementReviewed, &unit_id)?;
            let ApiJson(b) = body?;
            let record = UnitRecord::Review {
                on: b.on.unwrap_or_else(|| state.today()),
                notes: b.notes,
            };
            state
                .core()
                .record_in(&who, &unit_id, record, b.cycle)
                .await?;
            Ok(StatusCode::CREATED)
        },
    )
    .await
}

/// The body of a correction, as its schema says: redate with `on`, move with `unit_id`,
/// withdraw alone; each with a reason.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CorrectBody {
    /// redate (give `on`), move (give `unit_id`; a dialogue only) or withdraw.
    pub(crate) correction: String,
    /// The right day (with redate).
    #[serde(default)]
    pub(crate) on: Option<NaiveDate>,
    /// The unit the event belongs to (with move).
    #[serde(default)]
    pub(crate) unit_id: Option<String>,
    /// Why: kept with the correction.
    pub(crate) reason: String,
}

#[derive(Serialize, ToSchema)]
struct CorrectedDto {
    correction: uuid::Uuid,
    cycle: i32,
    /// The unit the event is now recorded against.
    unit_id: String,
    /// The event that takes the corrected one's place (none for a withdrawal).
    new_event: Option<uuid::Uuid>,
}

/// Corrects a recorded event of a unit (secretariat): its date, the unit it belongs to,
/// or that it happened. The event stays on record, superseded; deadlines and mail follow.
#[utoipa::path(post, path = "/api/v1/units/{unit_id}/events/{event_id}/correct", tag = "records",
    params(("unit_id" = String, Path), ("event_id" = uuid::Uuid, Path)), request_body = CorrectBody,
    responses((status = 201, body = CorrectedDto)))]
async fn correct(
    State(state): State<AppState>,
    who: Principal,
    Path((unit_id, event_id)): Path<(String, String)>,
    body: Result<ApiJson<CorrectBody>, Problem>,
) -> ApiResult<(StatusCode, Json<CorrectedDto>)> {
    write(
        &state,
        &who,
        "correct a record",
        ("unit", &unit_id),
        async {
            who.require_secretariat("correcting a record")?;
            let unit = who.may_see(&unit_id)?;
            let event_id: uuid::Uuid = path_param("event_id", &event_id, "an event's id")?;
            let ApiJson(b) = body?;
            let correction = match (b.correction.as_str(), b.on, b.unit_id) {
                ("redate", Some(on), None) => hjul_store::Correction::Redate { on },
                ("move", None, Some(u)) => hjul_store::Correction::Move {
                    // Text that is no unit's id names no unit on record.
                    unit_id: UnitId::parse(&u).map_err(|_| hjul_store::StoreError::UnknownUnit(u))?,
                },
                ("withdraw", None, None) => hjul_store::Correction::Withdraw,
                // Known words that do not fit together: well formed, so 422.
                _ => {
                    return Err(Problem::new(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_input",
                        "give `correction`: redate with `on`, move with `unit_id`, or withdraw alone",
                    )
                    .field("correction"));
                }
            };
            let c = state
                .core()
                .correct(&who, unit.as_str(), event_id, correction, &b.reason)
                .await?;
            Ok((
                StatusCode::CREATED,
                Json(CorrectedDto {
                    correction: c.id,
                    cycle: c.cycle,
                    unit_id: c.now_at,
                    new_event: c.new_event,
                }),
            ))
        },
    )
    .await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct OutboxQuery {
    /// Only items in this state.
    #[param(value_type = Option<OutboxState>, inline)]
    state: Option<String>,
    /// The most items to answer (default 100).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<u64>,
}

#[derive(Serialize, ToSchema)]
struct OutboxDto {
    id: uuid::Uuid,
    key: String,
    state: OutboxState,
    kind: hjul_store::OutboxKind,
    unit_id: Option<String>,
    deadline: Option<Deadline>,
    party: hjul_wheel::Party,
    due: Option<NaiveDate>,
    due_at: DateTime<Utc>,
    attempts: i32,
    next_attempt_at: DateTime<Utc>,
    last_error: Option<String>,
    recipient: Option<String>,
    sent_at: Option<DateTime<Utc>>,
}

/// The mail queue (secretariat).
#[utoipa::path(get, path = "/api/v1/outbox", tag = "admin", params(OutboxQuery),
    responses((status = 200, body = [OutboxDto])))]
async fn outbox(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> ApiResult<Json<Vec<OutboxDto>>> {
    let wanted = match q.state.as_deref() {
        None => None,
        Some(s) => Some(OutboxState::parse(s).ok_or_else(|| {
            let states: Vec<String> = OutboxState::all()
                .into_iter()
                .map(OutboxState::key)
                .collect();
            Problem::bad_request(format!("`{s}` is not a state: {}", states.join(", ")))
                .field("state")
        })?),
    };
    let items = state.core().outbox(&who, wanted, limit(q.limit)?).await?;
    Ok(Json(
        items
            .into_iter()
            .map(|i| OutboxDto {
                id: i.id.0,
                key: i.key,
                state: i.state,
                kind: i.kind,
                unit_id: i.unit_id,
                deadline: i.deadline,
                party: i.party,
                due: i.due_on,
                due_at: i.due_at,
                attempts: i.attempts,
                next_attempt_at: i.next_attempt_at,
                last_error: i.last_error,
                recipient: i.recipient,
                sent_at: i.sent_at,
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DeputyBody {
    /// The deputy's address: the unit's mail goes here while they stand in. One that
    /// is no address is a 422 naming `email`.
    #[schema(max_length = 254, format = "email")]
    pub(crate) email: String,
    /// Their name, as mails and the unit's history show it.
    #[schema(min_length = 1, max_length = 200)]
    pub(crate) name: String,
    /// The language of their mail (default da).
    #[serde(default)]
    pub(crate) language: Option<hjul_wheel::Language>,
    /// The first day they stand in (default: at once).
    #[serde(default)]
    #[schema(pattern = "^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub(crate) starts_on: Option<NaiveDate>,
    /// The last day they stand in (default: until ended).
    #[serde(default)]
    #[schema(pattern = "^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    pub(crate) ends_on: Option<NaiveDate>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NextCycleBody {
    /// `true`: the unit, which joined the running cycle late, takes part from the next
    /// cycle instead and owes nothing in the running one; `false`: back into it.
    pub(crate) sit_out: bool,
}

/// A late joiner of the running cycle taken into the next cycle instead, or back
/// (secretariat). 409 for a unit there from the cycle's start.
#[utoipa::path(put, path = "/api/v1/units/{unit_id}/next-cycle", tag = "admin", params(("unit_id" = String, Path)), request_body = NextCycleBody,
    responses((status = 200, body = hjul_store::Joining)))]
async fn next_cycle(
    State(state): State<AppState>,
    who: Principal,
    Path(unit_id): Path<String>,
    body: Result<ApiJson<NextCycleBody>, Problem>,
) -> ApiResult<Json<hjul_store::Joining>> {
    write(
        &state,
        &who,
        "put a unit into the next cycle",
        ("unit", &unit_id),
        async {
            let ApiJson(b) = body?;
            Ok(Json(
                state
                    .core()
                    .sit_out_cycle(&who, &unit_id, b.sit_out)
                    .await?,
            ))
        },
    )
    .await
}

/// Every deputy (stedfortræder) not ended and not past of the units the caller sees
/// (every unit, for the secretariat), by unit.
#[utoipa::path(get, path = "/api/v1/deputies", tag = "records",
    responses((status = 200, body = Vec<hjul_store::Deputy>)))]
async fn all_deputies(
    State(state): State<AppState>,
    who: Principal,
) -> ApiResult<Json<Vec<hjul_store::Deputy>>> {
    Ok(Json(state.core().all_deputies(&who).await?))
}

/// The unit's deputies (stedfortrædere) not ended and not past: who stands in for its
/// leader, and when. Whoever sees the unit.
#[utoipa::path(get, path = "/api/v1/units/{unit_id}/deputies", tag = "records", params(("unit_id" = String, Path)),
    responses((status = 200, body = Vec<hjul_store::Deputy>)))]
async fn deputies(
    State(state): State<AppState>,
    who: Principal,
    Path(unit_id): Path<String>,
) -> ApiResult<Json<Vec<hjul_store::Deputy>>> {
    let (deputies, _) = state.core().deputies(&who, &unit_id).await?;
    Ok(Json(deputies))
}

/// Names a deputy for the unit's leader (the unit's leader, a manager above it, or the
/// secretariat): while their period is in force they get the unit's mail (the leader a
/// copy) and record what the leader may; what they record says whom they stood in for.
/// 409 when the period overlaps another deputy's of the unit.
#[utoipa::path(post, path = "/api/v1/units/{unit_id}/deputies", tag = "records", params(("unit_id" = String, Path)), request_body = DeputyBody,
    responses((status = 201, body = hjul_store::Deputy)))]
async fn name_deputy(
    State(state): State<AppState>,
    who: Principal,
    Path(unit_id): Path<String>,
    body: Result<ApiJson<DeputyBody>, Problem>,
) -> ApiResult<(StatusCode, Json<hjul_store::Deputy>)> {
    write(&state, &who, "name a deputy", ("unit", &unit_id), async {
        let ApiJson(b) = body?;
        for (field, day) in [("starts_on", b.starts_on), ("ends_on", b.ends_on)] {
            if let Some(day) = day {
                check_day(field, day)?;
            }
        }
        let named = state
            .core()
            .name_deputy(
                &who,
                &unit_id,
                (
                    &b.email,
                    &b.name,
                    b.language.unwrap_or(hjul_wheel::Language::Da),
                ),
                hjul_wheel::deputy::Period::new(b.starts_on, b.ends_on),
            )
            .await;
        match named {
            Ok(deputy) => Ok((StatusCode::CREATED, Json(deputy))),
            // A string that is no address is the content's fault, like a period that
            // ends before it starts: 422, naming the field (the core put it on record).
            Err(hjul_app::CoreError::Store(hjul_store::StoreError::BadAddress(t))) => {
                let mut p = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_input",
                    t.render(hjul_wheel::Language::En),
                )
                .field("email")
                .text(t);
                p.audited = true;
                Err(p)
            }
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// Ends a deputy now, before their period's end (who may name one may end one).
#[utoipa::path(delete, path = "/api/v1/units/{unit_id}/deputies/{deputy_id}", tag = "records",
    params(("unit_id" = String, Path), ("deputy_id" = uuid::Uuid, Path)),
    responses((status = 200, body = hjul_store::Deputy)))]
async fn end_deputy(
    State(state): State<AppState>,
    who: Principal,
    Path((unit_id, deputy_id)): Path<(String, String)>,
) -> ApiResult<Json<hjul_store::Deputy>> {
    write(&state, &who, "end a deputy", ("unit", &unit_id), async {
        let id: uuid::Uuid = path_param("deputy_id", &deputy_id, "an id")?;
        Ok(Json(state.core().end_deputy(&who, &unit_id, id).await?))
    })
    .await
}

/// Puts a dead item back in the queue (secretariat).
#[utoipa::path(post, path = "/api/v1/outbox/{id}/retry", tag = "admin", params(("id" = uuid::Uuid, Path)),
    responses((status = 200)))]
async fn retry(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    write(
        &state,
        &who,
        "retry an outbox item",
        ("outbox_item", &id),
        async {
            who.require_secretariat("the mail queue")?;
            let id: uuid::Uuid = path_param("id", &id, "an id")?;
            state
                .core()
                .retry_item(&who, hjul_store::ItemId(id))
                .await?;
            Ok(StatusCode::OK)
        },
    )
    .await
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// Only rows about this kind of entity: unit, person, cycle, milestone,
    /// outbox_item, api_token…
    entity: Option<String>,
    /// Only rows about the entity with this id (a unit's id, say).
    entity_id: Option<String>,
    /// The most rows to answer (default 100).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<u64>,
}

/// The most rows a list answers: 1 to 10,000, 100 unless asked.
fn limit(asked: Option<u64>) -> ApiResult<u64> {
    match asked {
        None => Ok(100),
        Some(n @ 1..=10_000) => Ok(n),
        Some(n) => Err(Problem::bad_request(format!(
            "{n} is not a limit: ask for 1 to 10000 rows"
        ))
        .field("limit")),
    }
}

#[derive(Serialize, ToSchema)]
struct AuditDto {
    at: DateTime<Utc>,
    actor: String,
    action: String,
    entity: String,
    entity_id: String,
    /// The record before the change, when there was one.
    #[schema(value_type = Option<Object>)]
    before: Option<serde_json::Value>,
    /// The record after the change, when there is one.
    #[schema(value_type = Option<Object>)]
    after: Option<serde_json::Value>,
}

/// The audit log, newest first (secretariat).
#[utoipa::path(get, path = "/api/v1/audit", tag = "admin", params(AuditQuery),
    responses((status = 200, body = [AuditDto])))]
async fn audit(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> ApiResult<Json<Vec<AuditDto>>> {
    let rows = state
        .core()
        .audit_log(
            &who,
            q.entity.as_deref(),
            q.entity_id.as_deref(),
            limit(q.limit)?,
        )
        .await?;
    let parse = |t: Option<String>| t.and_then(|t| serde_json::from_str(&t).ok());
    Ok(Json(
        rows.into_iter()
            .map(|r| AuditDto {
                at: r.at,
                actor: r.actor,
                action: r.action,
                entity: r.entity,
                entity_id: r.entity_id,
                before: parse(r.before),
                after: parse(r.after),
            })
            .collect(),
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ReadsQuery {
    /// Only reads of this unit (its id).
    unit: Option<String>,
    /// Only reads of this person's data (their address).
    person: Option<String>,
    /// Only reads by someone the audit log names so (a part of it).
    actor: Option<String>,
    /// From this day (the municipality's).
    #[param(pattern = "^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    from: Option<NaiveDate>,
    /// To this day, inclusive.
    #[param(pattern = "^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$")]
    to: Option<NaiveDate>,
    /// The most rows to answer (default 100).
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<u64>,
}

#[derive(Serialize, ToSchema)]
struct ReadDto {
    at: DateTime<Utc>,
    /// Who read, as the audit log names them.
    actor: String,
    /// The kind of view: status, export, unit, data, sheet, report, patterns, deputies,
    /// audit_log, outbox, draft, read_log.
    view: String,
    unit_id: Option<String>,
    /// Whose data it was: the unit's leader when it was read.
    person_email: Option<String>,
    /// The terms of a search or filter.
    #[schema(value_type = Option<Object>)]
    terms: Option<serde_json::Value>,
}

/// The log of reads of personal data, newest first (secretariat): who looked at which
/// unit's or person's data, when, through which view, with which terms.
#[utoipa::path(get, path = "/api/v1/reads", tag = "admin", params(ReadsQuery),
    responses((status = 200, body = [ReadDto])))]
async fn reads(
    State(state): State<AppState>,
    who: Principal,
    ApiQuery(q): ApiQuery<ReadsQuery>,
) -> ApiResult<Json<Vec<ReadDto>>> {
    for (field, day) in [("from", q.from), ("to", q.to)] {
        if let Some(day) = day {
            check_day(field, day)?;
        }
    }
    let filter = hjul_store::ReadFilter {
        units: q.unit.map(|u| vec![u]),
        person: q.person,
        actor: q.actor,
        from: q.from,
        to: q.to,
        limit: limit(q.limit)?,
    };
    let rows = state.core().read_log(&who, &filter).await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| ReadDto {
                at: r.at,
                actor: r.actor,
                view: r.view,
                unit_id: r.unit_id,
                person_email: r.person_email,
                terms: r.terms.and_then(|t| serde_json::from_str(&t).ok()),
            })
            .collect(),
    ))
}

/// The two bodies whose fields depend on each other, written as JSON Schema by hand:
/// `oneOf` says which fields go together, so a client (and schemathesis) can tell a body
/// the server takes from one it refuses without asking it.
mod bodies {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::extensions::Extensions;
    use utoipa::openapi::schema::{
        AdditionalProperties, ArrayBuilder, KnownFormat, ObjectBuilder, OneOfBuilder, Schema,
        SchemaFormat, Type,
    };

    use hjul_wheel::limits::{MAX_NOTES_CHARS, MAX_THEMES, MAX_TITLE_CHARS};

    /// A day, with the years the server answers for (as every date in the document).
    fn day() -> Schema {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)))
            .pattern(Some("^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$"))
            .into()
    }

    fn word(words: &[&str]) -> Schema {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(words.iter().copied()))
            .into()
    }

    /// Characters no name, title or theme may hold: control characters, the line and
    /// paragraph separators, and the format characters that hide or turn text
    /// (`hjul_wheel::limits::check_visible`).
    fn hidden() -> String {
        let mut class = String::from("[\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029");
        for (lo, hi) in hjul_wheel::limits::FORMAT_RANGES {
            let (Some(lo), Some(hi)) = (char::from_u32(*lo), char::from_u32(*hi)) else {
                continue;
            };
            if lo == hi {
                class.push(lo);
            } else {
                class.push(lo);
                class.push('-');
                class.push(hi);
            }
        }
        class.push(']');
        class
    }

    /// A text that is more than blanks, at most `max` characters; `one_line` also keeps
    /// every hidden character out.
    fn text(min_max: (usize, usize), one_line: bool) -> Schema {
        let mut b = ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(min_max.0))
            .max_length(Some(min_max.1))
            .pattern(Some("\\S"));
        if one_line {
            b = b.extensions(Some(Extensions::from_iter([(
                "not",
                serde_json::json!({ "pattern": hidden() }),
            )])));
        }
        b.into()
    }

    fn closed(b: ObjectBuilder) -> Schema {
        b.schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .into()
    }

    pub(super) fn milestone() -> RefOr<Schema> {
        let no_themes = ArrayBuilder::new()
            .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                Type::Array,
                Type::Null,
            ]))
            .items(ObjectBuilder::new().schema_type(Type::String))
            .max_items(Some(0))
            .description(Some("None: only themes_published takes themes."));
        let themes = ArrayBuilder::new()
            .items(RefOr::T(text((1, MAX_TITLE_CHARS), true)))
            .min_items(Some(1))
            .max_items(Some(MAX_THEMES))
            .description(Some("The focus themes in priority order."));
        OneOfBuilder::new()
            .item(closed(
                ObjectBuilder::new()
                    .property("milestone", word(&["data_collected", "report_final"]))
                    .required("milestone")
                    .property("on", day())
                    .required("on")
                    .property("themes", no_themes),
            ))
            .item(closed(
                ObjectBuilder::new()
                    .property("milestone", word(&["themes_published"]))
                    .required("milestone")
                    .property("on", day())
                    .required("on")
                    .property("themes", themes)
                    .required("themes"),
            ))
            .description(Some(
                "A department milestone on its day; themes_published with its focus themes.",
            ))
            .into()
    }

    pub(super) fn correction() -> RefOr<Schema> {
        let reason = || text((1, MAX_NOTES_CHARS), false);
        OneOfBuilder::new()
            .item(closed(
                ObjectBuilder::new()
                    .property("correction", word(&["redate"]))
                    .required("correction")
                    .property("on", day())
                    .required("on")
                    .property("reason", reason())
                    .required("reason")
                    .description(Some("The event happened on another day: `on`.")),
            ))
            .item(closed(
                ObjectBuilder::new()
                    .property("correction", word(&["move"]))
                    .required("correction")
                    .property(
                        "unit_id",
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .min_length(Some(1)),
                    )
                    .required("unit_id")
                    .property("reason", reason())
                    .required("reason")
                    .description(Some(
                        "The dialogue belongs to another unit of the same level: `unit_id`.",
                    )),
            ))
            .item(closed(
                ObjectBuilder::new()
                    .property("correction", word(&["withdraw"]))
                    .required("correction")
                    .property("reason", reason())
                    .required("reason")
                    .description(Some("The event did not happen.")),
            ))
            .into()
    }
}

impl utoipa::PartialSchema for MilestoneBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        bodies::milestone()
    }
}
impl ToSchema for MilestoneBody {}

impl utoipa::PartialSchema for CorrectBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        bodies::correction()
    }
}
impl ToSchema for CorrectBody {}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    fn spec() -> Value {
        serde_json::to_value(super::router().1).unwrap()
    }

    fn operations(spec: &Value) -> Vec<(String, String, &Value)> {
        let mut out = Vec::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                out.push((path.clone(), method.clone(), op));
            }
        }
        out
    }

    /// A client generated from the document sends each parameter where the document
    /// says: a query parameter declared `in: path` is a client that cannot work.
    #[test]
    fn parameters_are_where_the_server_reads_them() {
        let spec = spec();
        let mut queries = 0;
        for (path, method, op) in operations(&spec) {
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let in_path = path.contains(&format!("{{{name}}}"));
                match p["in"].as_str().unwrap() {
                    "path" => {
                        assert!(in_path, "{method} {path}: `{name}` is not in the path");
                        assert_eq!(p["required"], true, "{method} {path} {name}");
                    }
                    "query" => {
                        queries += 1;
                        assert!(!in_path, "{method} {path}: `{name}` is in the path");
                        // Every query parameter of this API has a default.
                        assert_ne!(p["required"], true, "{method} {path} {name}");
                    }
                    other => panic!("{method} {path}: `{name}` in {other}"),
                }
            }
            // Every `{name}` of the path is declared.
            for seg in path.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(['{', '}']);
                assert!(
                    op["parameters"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|p| p["name"] == name && p["in"] == "path"),
                    "{method} {path}: `{name}` undeclared"
                );
            }
        }
        // at (3), area, level, overdue, state, limit (4), cursor (2), entity, entity_id,
        // the report's format and lang, the organisation's preview, the reads' unit,
        // person, actor, from, to and limit.
        assert_eq!(queries, 24);
    }

    /// Every `$ref` names a schema the document holds (a reference it lacks makes a
    /// client generator, or the contract test's fuzzer, skip the parameter), and the
    /// choices a client may send are the domain's own: its keys, not a copy's.
    #[test]
    fn every_reference_resolves_and_choices_are_the_domains() {
        fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
            match v {
                Value::Object(m) => {
                    if let Some(Value::String(r)) = m.get("$ref") {
                        out.push(r);
                    }
                    m.values().for_each(|x| refs(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
                _ => {}
            }
        }
        let spec = spec();
        let mut found = Vec::new();
        refs(&spec, &mut found);
        assert!(!found.is_empty());
        for r in found {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
            assert!(
                spec["components"]["schemas"].get(name).is_some(),
                "`{r}` names no schema of the document"
            );
        }
        let choices = |path: &str, name: &str| -> Vec<String> {
            let op = &spec["paths"][path]["get"];
            let p = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .find(|p| p["name"] == name)
                .unwrap_or_else(|| panic!("{path} {name}"));
            let schema = &p["schema"];
            // An optional choice is `oneOf: [null, {enum}]` or the enum itself.
            let list = schema["enum"].as_array().cloned().or_else(|| {
                schema["oneOf"]
                    .as_array()?
                    .iter()
                    .find_map(|s| s["enum"].as_array().cloned())
            });
            list.unwrap_or_else(|| panic!("{path} {name}: {schema}"))
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let keys = |k: &[&str]| k.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            choices("/api/v1/status", "area"),
            keys(&hjul_wheel::Area::ALL.map(hjul_wheel::Area::key))
        );
        let mut formats = choices("/api/v1/cycles/{year}/report", "format");
        formats.sort();
        assert_eq!(formats, keys(&["html", "md", "pdf"]));
        assert_eq!(
            choices("/api/v1/cycles/{year}/report", "lang"),
            keys(&["da", "en"])
        );
        assert_eq!(
            choices("/api/v1/outbox", "state"),
            hjul_store::OutboxState::all()
                .into_iter()
                .map(hjul_store::OutboxState::key)
                .collect::<Vec<_>>()
        );
    }

    /// Every date a client sends carries the years the server answers for.
    #[test]
    fn every_date_sent_says_which_years() {
        fn walk(v: &Value, at: &str, dates: &mut usize) {
            match v {
                Value::Object(m) => {
                    if m.get("format") == Some(&Value::from("date")) {
                        *dates += 1;
                        assert_eq!(
                            m.get("pattern").and_then(Value::as_str),
                            Some("^2[01][0-9]{2}-[0-9]{2}-[0-9]{2}$"),
                            "{at}"
                        );
                    }
                    for (k, x) in m {
                        walk(x, &format!("{at}/{k}"), dates);
                    }
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, at, dates)),
                _ => {}
            }
        }
        let spec = spec();
        let mut dates = 0;
        for (path, method, op) in operations(&spec) {
            walk(&op["parameters"], &format!("{method} {path}"), &mut dates);
        }
        for name in [
            "MilestoneBody",
            "DialogueBody",
            "SubmitBody",
            "SignBody",
            "MidwayBody",
            "CorrectBody",
        ] {
            walk(&spec["components"]["schemas"][name], name, &mut dates);
        }
        // at (3), the reads' from and to, and `on` of the six bodies (the milestone's in
        // both of its forms).
        assert_eq!(dates, 12);
    }

    /// Every error answer is documented as the problem report it is.
    #[test]
    fn every_error_answer_is_a_documented_problem() {
        let spec = spec();
        for (path, method, op) in operations(&spec) {
            let statuses: &[&str] = if method == "get" {
                &["400", "401", "403", "404", "503"]
            } else {
                &[
                    "400", "401", "403", "404", "409", "413", "415", "422", "503",
                ]
            };
            for s in statuses {
                let schema = &op["responses"][s]["content"]["application/problem+json"]["schema"];
                assert_eq!(
                    schema["$ref"], "#/components/schemas/Problem",
                    "{method} {path} {s}"
                );
            }
            for (s, r) in op["responses"].as_object().unwrap() {
                if s.starts_with('4') || s.starts_with('5') {
                    assert!(r["content"].get("application/json").is_none(), "{path} {s}");
                }
            }
        }
        // The schema says what the server writes: `title` always, `errors` not always.
        let problem = &spec["components"]["schemas"]["Problem"];
        let required: Vec<&str> = problem["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(required, ["type", "title", "status", "detail"]);
        assert!(spec["components"]["schemas"]["ProblemItem"].is_object());
        if let Ok(to) = std::env::var("HJUL_OPENAPI_OUT") {
            std::fs::write(to, serde_json::to_string_pretty(&spec).unwrap()).unwrap();
        }
    }
}
