//! The secretariat's pages: the mail queue (pending, sent, dead; a dead item can be
//! sent again), the audit log (by unit, person and date), the organisation (the tree,
//! and an import of the CSV with every problem shown on the page and nothing written
//! while there is one), access tokens (made, shown once; revoked), and the cycles with
//! their milestones and focus themes.

use std::collections::BTreeMap;

use axum::extract::{Multipart, Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use hjul_store::{OutboxState, Role};
use hjul_wheel::{Deadline, Organisation, Text};
use minijinja::{Value, context};
use serde::{Deserialize, Serialize};

use super::editor::upload;
use super::pages::{flash, form_date, query, refusal_view};
use super::{
    Choice, Lang, Page, Visitor, answer, error_page, fresh, pressed, read_form, refuse,
    stale_problem,
};
use crate::AppState;
use crate::problem::Problem;

/// An instant as the municipality's clock showed it, in the page's date format.
fn local(state: &AppState, lang: Lang, at: chrono::DateTime<chrono::Utc>) -> String {
    let zone = state.core().wheel().definition.mail_time.zone;
    let t = at.with_timezone(&zone);
    format!(
        "{} {}",
        state.words().of(lang).date(t.date_naive()),
        t.format("%H:%M")
    )
}

/// Who started a cycle, and how, in the page's words.
fn starter(state: &AppState, lang: Lang, c: &hjul_store::Cycle) -> String {
    let who = c
        .started_by
        .trim_start_matches("api:")
        .trim_start_matches("cli:");
    let how = match c.started_how {
        hjul_store::StartedHow::Early => state.words().word(lang, "cycles.by_hand"),
        hjul_store::StartedHow::OnFirstDay => state.words().word(lang, "cycles.on_first_day"),
    };
    format!("{who}, {how}")
}

/// The secretariat's, or a refusal that says so: the one check of the dashboard's pages
/// and forms that only the secretariat uses (the `Secretariat` extractor asks it too).
pub(super) fn only_secretariat(v: &Visitor) -> Result<(), Problem> {
    v.who
        .require_secretariat("this page")
        .map_err(|p| p.retext(Text::new("error.secretariat_only")))
}

/// A signed-in visitor of the secretariat: the pages and forms only the secretariat uses
/// take this instead of `Visitor`, and anyone else gets the page that says so; a form
/// sent by anyone else is a refused attempt, put on record.
pub struct Secretariat(pub Visitor);

impl axum::extract::FromRequestParts<AppState> for Secretariat {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let v = Visitor::from_request_parts(parts, state).await?;
        match only_secretariat(&v) {
            Ok(()) => Ok(Self(v)),
            Err(p) if parts.method == axum::http::Method::GET => {
                Err(error_page(state, v.lang, Some(&v), p))
            }
            Err(p) => {
                let path = parts.uri.path().to_owned();
                Err(refuse(state, &v, "use a secretariat's form", ("page", &path), p).await)
            }
        }
    }
}

pub async fn outbox(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    uri: Uri,
) -> Response {
    let q = query(&uri);
    let lang = v.lang;
    let wanted = q.get("state").and_then(|s| OutboxState::parse(s));
    let items = match state.core().outbox(&v.who, wanted, 500).await {
        Ok(i) => i,
        Err(e) => return error_page(&state, lang, Some(&v), e.into()),
    };
    let words = state.words();
    let names = state.core().directory(&v.who).await.ok();
    let rows: Vec<Value> = items
        .iter()
        .map(|i| {
            let unit_name = i
                .unit_id
                .as_deref()
                .and_then(|u| names.as_ref().and_then(|d| d.unit_name(u)))
                .map(str::to_owned);
            context! {
                id => i.id.to_string(),
                state => i.state.key(),
                state_name => words.word(lang, &format!("outbox.state.{}", i.state)),
                kind => words.word(lang, &format!("outbox.kind.{}", i.kind)),
                unit_id => i.unit_id.clone(),
                unit_name => unit_name,
                deadline => i.deadline.map(|d| words.word(lang, &format!("deadline.{d}"))),
                due => i.due_on.map(|d| d.to_string()),
                party => words.word(lang, &format!("party.{}", i.party)),
                recipient => i.recipient.clone(),
                at => local(&state, lang, i.sent_at.unwrap_or(i.due_at)),
                attempts => i.attempts,
                error => i.last_error.as_deref().map(|e| hjul_wheel::limits::clip(e, 300)),
            }
        })
        .collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for i in &items {
        *counts.entry(i.state.key()).or_default() += 1;
    }
    Page::of(&state, &v, "outbox.html", "outbox.title")
        .message(flash(&state, lang, &q))
        .render(OutboxPage {
            rows,
            states: OutboxState::all()
                .into_iter()
                .map(|s| Choice {
                    key: s.key(),
                    name: words.word(lang, &format!("outbox.state.{s}")),
                })
                .collect(),
            wanted: wanted.map(OutboxState::key),
        })
}

/// One item of the mail queue (`/admin/outbox/{id}`): what it was about, to whom, and
/// once sent, the mail as its reader read it.
pub async fn outbox_item(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    Path(id): Path<String>,
) -> Response {
    let lang = v.lang;
    let words = state.words();
    let missing = || Problem::not_found("there is no such item").text(Text::new("outbox.no_item"));
    let Ok(id) = id.parse::<uuid::Uuid>() else {
        return error_page(&state, lang, Some(&v), missing());
    };
    let (item, sent) = match state
        .core()
        .outbox_item(&v.who, hjul_store::ItemId(id))
        .await
    {
        Ok(Some(x)) => x,
        Ok(None) => return error_page(&state, lang, Some(&v), missing()),
        Err(e) => return error_page(&state, lang, Some(&v), e.into()),
    };
    let unit_name = match &item.unit_id {
        Some(u) => state
            .core()
            .directory(&v.who)
            .await
            .ok()
            .and_then(|d| d.unit_name(u).map(str::to_owned)),
        None => None,
    };
    let kind = words.word(lang, &format!("outbox.kind.{}", item.kind));
    let what = match item.deadline {
        Some(d) => format!("{kind}: {}", words.word(lang, &format!("deadline.{d}"))),
        None => kind,
    };
    let shown = context! {
        id => item.id.to_string(),
        state => item.state.key(),
        state_name => words.word(lang, &format!("outbox.state.{}", item.state)),
        what => what,
        unit_id => item.unit_id.clone(),
        unit_name => unit_name,
        party => words.word(lang, &format!("party.{}", item.party)),
        recipient => item.recipient.clone(),
        sent => item.sent_at.map(|t| local(&state, lang, t)),
        due_at => local(&state, lang, item.due_at),
        attempts => item.attempts,
        error => item.last_error.clone(),
        message_id => item.message_id.clone(),
    };
    Page::of(&state, &v, "outbox_item.html", "outbox.item_title").render(context! {
        item => shown,
        words => sent.map(|w| context! { subject => w.subject, text => w.text }),
    })
}

/// What the mail queue's page (`outbox.html`) shows.
#[derive(Serialize)]
struct OutboxPage {
    rows: Vec<Value>,
    states: Vec<Choice>,
    /// The state shown, or all.
    wanted: Option<String>,
}

pub async fn retry(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let result = async {
        pressed(&v, req).await?;
        let id: uuid::Uuid = id.parse().map_err(|_| {
            Problem::not_found("there is no such item").text(Text::new("outbox.no_item"))
        })?;
        state
            .core()
            .retry_item(&v.who, hjul_store::ItemId(id))
            .await
            .map(drop)
            .map_err(|e| match e {
                hjul_app::CoreError::Store(hjul_store::StoreError::NoSuchItem(_)) => {
                    Problem::from(e).retext(Text::new("outbox.no_item"))
                }
                hjul_app::CoreError::Store(hjul_store::StoreError::ItemNotDead { .. }) => {
                    Problem::from(e).retext(Text::new("outbox.not_dead"))
                }
                other => other.into(),
            })
    }
    .await;
    let shown = async |p| error_page(&state, v.lang, Some(&v), p);
    let done = |()| "/admin/outbox?state=pending&done=retry".to_owned();
    let attempt = ("retry an outbox item", ("outbox_item", id.as_str()));
    answer(&state, &v, attempt, result, done, shown).await
}

/// A search's term from the query: trimmed, not empty, at most 100 characters.
fn search_field(q: &std::collections::HashMap<String, String>, key: &str) -> Option<String> {
    q.get(key)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .map(|s| hjul_wheel::limits::clip(&s, 100))
}

/// The units a search term names: the one with that id, or those whose name holds it
/// ("Spiren"), in any case.
fn units_named(dir: &hjul_store::Directory, term: &str) -> Vec<String> {
    let needle = term.to_lowercase();
    dir.units()
        .filter(|x| x.id == term || x.name.to_lowercase().contains(&needle))
        .map(|x| x.id.clone())
        .collect()
}

pub async fn audit(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    uri: Uri,
) -> Response {
    let lang = v.lang;
    let search = match audit_rows(&state, &v, &uri).await {
        Ok(s) => s,
        Err(p) => return error_page(&state, lang, Some(&v), p),
    };
    let words = state.words();
    let rows: Vec<Value> = search
        .rows
        .iter()
        .map(|(at, r)| {
            context! {
                at => at,
                who => r.who.clone(),
                sentence => r.sentence.clone(),
                unit_id => r.unit.as_ref().map(|u| u.0.clone()),
                changes => r.changes.clone(),
            }
        })
        .collect();
    let actions: Vec<Value> = super::log::ACTIONS
        .iter()
        .map(|a| {
            context! {
                key => *a,
                name => words.word(lang, &format!("audit.actions.{a}")),
                chosen => search.action.as_deref() == Some(*a),
            }
        })
        .collect();
    Page::of(&state, &v, "audit.html", "audit.title").render(AuditPage {
        rows,
        actions,
        unit: search.unit,
        person: search.person,
        from: search.from.map(|d| d.to_string()),
        to: search.to.map(|d| d.to_string()),
        query: uri.query().unwrap_or_default().to_owned(),
    })
}

/// The audit log as the page's search names it (`unit`: an id or a part of a name;
/// `person`: an address or a part of a name; `action`; `from`, `to`), each row readable
/// in the visitor's language with its time.
struct AuditSearch {
    rows: Vec<(String, super::log::Readable)>,
    unit: Option<String>,
    person: Option<String>,
    action: Option<String>,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
}

async fn audit_rows(state: &AppState, v: &Visitor, uri: &Uri) -> Result<AuditSearch, Problem> {
    let q = query(uri);
    let field = |k: &str| search_field(&q, k);
    let (unit, person) = (field("unit"), field("person"));
    let action = field("action").filter(|a| super::log::ACTIONS.contains(&a.as_str()));
    let date = |k: &str| field(k).and_then(|d| hjul_wheel::agreement::parse_date(&d));
    let (from, to) = (date("from"), date("to"));
    let dir = state.core().directory(&v.who).await?;
    // A unit by its id or a part of its name ("Spiren"); a person by their address or
    // a part of their name, as the rows name them by address.
    let units = unit.as_deref().map(|u| units_named(&dir, u));
    let actors = person.as_ref().map(|p| {
        let needle = p.to_lowercase();
        let mut actors: Vec<String> = dir
            .people_named(&needle)
            .into_iter()
            .map(str::to_owned)
            .collect();
        actors.push(p.clone());
        actors
    });
    let filter = hjul_store::AuditFilter {
        units,
        actors,
        actions: action.clone().map(|a| vec![a]),
        from,
        to,
        limit: 500,
    };
    let found = state.core().audit_where(&v.who, &filter).await?;
    let words = state.words();
    let rows = found
        .iter()
        .map(|r| {
            (
                local(state, v.lang, r.at),
                super::log::readable(words, v.lang, &dir, r),
            )
        })
        .collect();
    Ok(AuditSearch {
        rows,
        unit,
        person,
        action,
        from,
        to,
    })
}

/// The audit log's rows as the page's search finds them, as Excel
/// (`/admin/audit/log.xlsx`): time, who, what happened, the unit, what changed.
pub async fn audit_export(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    uri: Uri,
) -> Response {
    let lang = v.lang;
    let search = match audit_rows(&state, &v, &uri).await {
        Ok(s) => s,
        Err(p) => return error_page(&state, lang, Some(&v), p),
    };
    let words = state.words();
    let table = crate::export::Table {
        name: words.word(lang, "audit.title"),
        headers: [
            "audit.when",
            "audit.who",
            "audit.action",
            "word.unit",
            "audit.change",
        ]
        .iter()
        .map(|k| words.word(lang, k))
        .collect(),
        rows: search
            .rows
            .into_iter()
            .map(|(at, r)| {
                use crate::export::Cell;
                vec![
                    Cell::Text(at),
                    Cell::Text(r.who),
                    Cell::Text(r.sentence),
                    r.unit.map_or(Cell::Empty, |u| Cell::Text(u.1)),
                    Cell::Text(r.changes.join("; ")),
                ]
            })
            .collect(),
    };
    match super::export::download(&table, &format!("log-{}.xlsx", state.today()), &v) {
        Ok(r) => r,
        Err(p) => error_page(&state, lang, Some(&v), p),
    }
}

/// The log of reads (`/admin/reads`, the secretariat's): who looked at which unit's or
/// person's data, when, through which view and with which terms; searched by unit (its
/// id or a part of its name), by whose data, by who read, and by days.
pub async fn reads(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    uri: Uri,
) -> Response {
    let q = query(&uri);
    let lang = v.lang;
    let words = state.words();
    let field = |k: &str| search_field(&q, k);
    let (unit, person, actor) = (field("unit"), field("person"), field("actor"));
    let date = |k: &str| field(k).and_then(|d| hjul_wheel::agreement::parse_date(&d));
    let (from, to) = (date("from"), date("to"));
    let dir = match state.core().directory(&v.who).await {
        Ok(d) => d,
        Err(e) => return error_page(&state, lang, Some(&v), e.into()),
    };
    // A unit by its id, or by a part of its name ("Spiren").
    let units = unit.as_deref().map(|u| units_named(&dir, u));
    let filter = hjul_store::ReadFilter {
        units,
        person: person.clone(),
        actor: actor.clone(),
        from,
        to,
        limit: 500,
    };
    let rows = match state.core().read_log(&v.who, &filter).await {
        Ok(r) => r,
        Err(e) => return error_page(&state, lang, Some(&v), e.into()),
    };
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|r| {
            let terms = r
                .terms
                .as_deref()
                .and_then(|t| {
                    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(t).ok()
                })
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(", ")
                });
            context! {
                at => local(&state, lang, r.at),
                actor => super::log::who(&dir, &r.actor),
                view => words.word(lang, &format!("reads.view.{}", r.view)),
                unit => r.unit_id.as_deref().map(|u| dir.unit_name(u).unwrap_or(u).to_owned()),
                unit_id => r.unit_id,
                person => r.person_email,
                terms => terms,
            }
        })
        .collect();
    Page::of(&state, &v, "reads.html", "reads.title").render(ReadsPage {
        rows,
        unit,
        person,
        actor,
        from: from.map(|d| d.to_string()),
        to: to.map(|d| d.to_string()),
    })
}

/// An access request (`/admin/privacy?email=…`, the secretariat's): everything hjul
/// holds about a person, shown as the page the person gets, and as files to send them
/// (`/admin/privacy/export.json`, `/admin/privacy/export.html`).
pub async fn privacy(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    uri: Uri,
) -> Response {
    let q = query(&uri);
    let email = q
        .get("email")
        .map(|e| hjul_wheel::limits::clip(e.trim(), 254))
        .filter(|e| !e.is_empty());
    let (found, problem) = match &email {
        None => (None, None),
        Some(e) => match state.core().person_data(&v.who, e).await {
            Ok(d) => (Some(d), None),
            Err(err) => (None, Some(Problem::from(err))),
        },
    };
    // Whether the person found can be anonymised now, and what it would change (the
    // same work, rolled back), or why not; none for one anonymised already.
    let anonymise = match (&email, &found) {
        (Some(e), Some(d)) if d.name.as_deref() != Some(hjul_store::FORMER_LEADER) => {
            Some(match state.core().anonymise(&v.who, e, false).await {
                Ok(a) => AnonymiseView {
                    refused: None,
                    would: Some(
                        state.words().text(
                            v.lang,
                            &Text::new("privacy.anonymise_would")
                                .arg("person", a.rows.person)
                                .arg("deputyships", a.rows.deputyships)
                                .arg("audit", a.rows.audit_log)
                                .arg("recorded", a.rows.recorded_by)
                                .arg("mail", a.rows.mail)
                                .arg("reads", a.rows.read_log)
                                .arg("access", a.rows.access),
                        ),
                    ),
                },
                Err(err) => AnonymiseView {
                    refused: Some(
                        refusal_view(&state, v.lang, Some(&Problem::from(err)), "form.not_saved")
                            .2
                            .join(" "),
                    ),
                    would: None,
                },
            })
        }
        _ => None,
    };
    let found = found.map(|d| crate::privacy::person_html(&d, v.lang.language()));
    let (status, error, _) = refusal_view(&state, v.lang, problem.as_ref(), "form.not_saved");
    Page::of(&state, &v, "privacy.html", "privacy.heading")
        .error(error)
        .message(flash(&state, v.lang, &q))
        .status(status)
        .render(PrivacyPage {
            anonymise,
            email_query: email
                .as_deref()
                .map(super::percent_encode)
                .unwrap_or_default(),
            email,
            // The person's page, as the file holds it: its body only, in a frame of its own.
            found: found.map(|html| {
                html.split_once("<body>")
                    .and_then(|(_, rest)| rest.split_once("</body>"))
                    .map(|(body, _)| body.to_owned())
                    .unwrap_or_default()
            }),
        })
}

/// Anonymising the person shown: what it would change, or why it cannot be done now.
#[derive(Serialize)]
struct AnonymiseView {
    would: Option<String>,
    refused: Option<String>,
}

#[derive(Serialize)]
struct PrivacyPage {
    anonymise: Option<AnonymiseView>,
    email: Option<String>,
    /// The address as a query's value.
    email_query: String,
    /// The export's page, written by `privacy::person_html` (escaped there).
    found: Option<String>,
}

/// Anonymises the person the privacy page shows (the secretariat's, with the box
/// ticked): then the page shows what is left under their pseudonym.
pub async fn anonymise(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    req: axum::extract::Request,
) -> Response {
    #[derive(serde::Deserialize)]
    struct Form {
        #[serde(default)]
        csrf: String,
        #[serde(default)]
        email: String,
        #[serde(default)]
        confirm: String,
    }
    let mut email = String::new();
    let result = async {
        let f: Form = read_form(req, 4 * 1024).await?;
        email = f.email.trim().to_owned();
        if !fresh(&v, &f.csrf) {
            return Err(stale_problem());
        }
        if f.confirm != "yes" {
            return Err(Problem::bad_request("the box is not ticked")
                .text(Text::new("privacy.anonymise_confirm")));
        }
        Ok(state.core().anonymise(&v.who, &email, true).await?)
    }
    .await;
    let shown = async |p| error_page(&state, v.lang, Some(&v), p);
    let done = |a: hjul_store::Anonymised| {
        format!(
            "/admin/privacy?email={}&done=anonymised",
            super::percent_encode(&a.pseudonym)
        )
    };
    let attempt = ("anonymise a person", ("person", email.as_str()));
    answer(&state, &v, attempt, result, done, shown).await
}

/// The access request's files: `export.json` or `export.html`.
pub async fn privacy_export(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    Path(file): Path<String>,
    uri: Uri,
) -> Response {
    let q = query(&uri);
    let email = q.get("email").cloned().unwrap_or_default();
    let data = match state.core().person_data(&v.who, &email).await {
        Ok(d) => d,
        Err(e) => return error_page(&state, v.lang, Some(&v), e.into()),
    };
    let (body, content_type) = match file.as_str() {
        "export.json" => (
            serde_json::to_string_pretty(&data).unwrap_or_default(),
            "application/json",
        ),
        "export.html" => (
            crate::privacy::person_html(&data, v.lang.language()),
            "text/html; charset=utf-8",
        ),
        _ => {
            return error_page(
                &state,
                v.lang,
                Some(&v),
                Problem::not_found("no such file").text(Text::new("error.no_page")),
            );
        }
    };
    let name = format!(
        "indsigt-{}.{}",
        email.replace(['@', '.'], "-"),
        if file.ends_with("json") {
            "json"
        } else {
            "html"
        }
    );
    let mut r = ([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response();
    if let Ok(h) = axum::http::HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut()
            .insert(axum::http::header::CONTENT_DISPOSITION, h);
    }
    r
}

/// What the log of reads' page (`reads.html`) shows: the reads found, and the search.
#[derive(Serialize)]
struct ReadsPage {
    rows: Vec<Value>,
    unit: Option<String>,
    person: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// What the audit log's page (`audit.html`) shows: the rows found, and the search.
#[derive(Serialize)]
struct AuditPage {
    rows: Vec<Value>,
    actions: Vec<Value>,
    unit: Option<String>,
    person: Option<String>,
    from: Option<String>,
    to: Option<String>,
    /// The search as asked, for the Excel link.
    query: String,
}

pub async fn organisation(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    uri: Uri,
) -> Response {
    let q = query(&uri);
    let message = flash(&state, v.lang, &q);
    organisation_page(&state, &v, message, None).await
}

async fn organisation_page(
    state: &AppState,
    v: &Visitor,
    message: Option<String>,
    problem: Option<Problem>,
) -> Response {
    organisation_page_with(state, v, message, problem, None).await
}

async fn organisation_page_with(
    state: &AppState,
    v: &Visitor,
    message: Option<String>,
    problem: Option<Problem>,
    preview: Option<Value>,
) -> Response {
    let lang = v.lang;
    let words = state.words();
    let dir = match state.core().directory(&v.who).await {
        Ok(d) => d,
        Err(e) => return error_page(state, lang, Some(v), e.into()),
    };
    // The tree, depth first from the root, each unit with its leader.
    let mut children: BTreeMap<Option<String>, Vec<&hjul_store::Unit>> = BTreeMap::new();
    for u in dir.units().filter(|u| u.active) {
        children.entry(u.parent_id.clone()).or_default().push(u);
    }
    for list in children.values_mut() {
        list.sort_by(|a, b| a.name.cmp(&b.name));
    }
    let mut tree = Vec::new();
    let mut stack: Vec<(&hjul_store::Unit, usize)> = children
        .get(&None)
        .map(|l| l.iter().rev().map(|u| (*u, 0)).collect())
        .unwrap_or_default();
    while let Some((u, depth)) = stack.pop() {
        let leader = dir.leader(&u.id, 0);
        tree.push(context! {
            unit_id => u.id.clone(),
            name => u.name.clone(),
            level => u.level,
            depth => depth,
            area => words.word(lang, &format!("area.{}", u.area)),
            leader_name => leader.as_ref().map(|l| l.name.clone()),
            leader_email => leader.map(|l| l.email),
        });
        if let Some(kids) = children.get(&Some(u.id.clone())) {
            for k in kids.iter().rev() {
                stack.push((k, depth + 1));
            }
        }
    }
    // Who stands in for whom, now and ahead: a leader's absence seen in one place.
    let deputies = match state.core().all_deputies(&v.who).await {
        Ok(d) => d,
        Err(e) => return error_page(state, lang, Some(v), e.into()),
    };
    let today = state.today();
    let deputies: Vec<Value> = deputies
        .into_iter()
        .map(|d| {
            context! {
                unit_id => d.unit_id.clone(),
                unit_name => dir.unit_name(&d.unit_id).unwrap_or(&d.unit_id).to_owned(),
                leader => dir.leader(&d.unit_id, 0).map(|l| l.name),
                name => d.name.clone(),
                email => d.email.clone(),
                starts_on => d.starts_on.map(|x| x.to_string()),
                ends_on => d.ends_on.map(|x| x.to_string()),
                in_force => d.period().covers(today),
            }
        })
        .collect();
    let (status, error, lines) =
        refusal_view(state, lang, problem.as_ref(), "organisation.not_imported");
    Page::of(state, v, "organisation.html", "organisation.title")
        .message(message)
        .error(error)
        .status(status)
        .render(OrganisationPage {
            tree,
            error_lines: lines,
            preview,
            deputies,
        })
}

/// What the organisation's page (`organisation.html`) shows: the tree, depth first, and
/// an uploaded file's preview waiting to be applied.
#[derive(Serialize)]
struct OrganisationPage {
    tree: Vec<Value>,
    error_lines: Vec<String>,
    preview: Option<Value>,
    /// Every deputy in force or ahead.
    deputies: Vec<Value>,
}

/// A file's preview as the page shows it: what changes, what passes from each leader
/// who leaves, and the file itself with the digest of what was shown, to be applied.
fn preview_view(state: &AppState, lang: Lang, r: &hjul_store::ImportReport, text: &str) -> Value {
    let words = state.words();
    let handovers: Vec<Value> = r
        .handovers
        .iter()
        .map(|h| {
            context! {
                unit_id => h.unit_id.clone(),
                unit_name => h.unit_name.clone(),
                from_name => h.from.name.clone(),
                from_email => h.from.email.clone(),
                to => h.to.clone(),
                deadlines => h.deadlines.iter().map(|d| context! {
                    name => words.word(lang, &format!("deadline.{}", d.deadline.key())),
                    unit_name => d.unit_name.clone(),
                    due => d.due.to_string(),
                    overdue => d.due < state.today(),
                }).collect::<Vec<_>>(),
                drafts => h.drafts.iter().map(|k| words.word(lang, &format!("organisation.draft_{k}"))).collect::<Vec<_>>().join(", "),
                pending_mail => h.pending_mail,
            }
        })
        .collect();
    context! {
        created => r.units_created,
        updated => r.units_updated,
        unchanged => r.units_unchanged,
        reactivated => r.units_reactivated,
        deactivated => r.units_deactivated,
        people => r.people_created,
        handovers => handovers,
        text => text,
        digest => preview_digest(r),
    }
}

/// What a preview showed, as a digest the apply form carries: the file is applied only
/// while the import would still do what was shown.
fn preview_digest(r: &hjul_store::ImportReport) -> String {
    hjul_store::sha256(serde_json::to_string(r).unwrap_or_default().as_bytes())
}

/// The organisation file as uploaded, checked: UTF-8 and a valid organisation.
fn organisation_of(bytes: Vec<u8>) -> Result<(String, Organisation), Problem> {
    let text = String::from_utf8(bytes).map_err(|_| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_file",
            "the file is not UTF-8",
        )
        .text(Text::new("organisation.not_utf8"))
    })?;
    let org =
        Organisation::from_csv(&text, |_| {}).map_err(|e| Problem::of_rows(e.to_string(), e.0))?;
    Ok((text, org))
}

/// An uploaded organisation file, checked and previewed (`POST /admin/organisation`):
/// nothing is written until the preview's button applies it.
pub async fn import(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let attempted = "preview the organisation";
    let result: Result<Value, Problem> = async {
        let (csrf, file) = upload(multipart, "file").await?;
        if !fresh(&v, &csrf) {
            return Err(stale_problem());
        }
        let (text, org) = organisation_of(file)?;
        let r = state.core().preview_organisation(&v.who, &org).await?;
        Ok(preview_view(&state, v.lang, &r, &text))
    }
    .await;
    match result {
        Ok(preview) => organisation_page_with(&state, &v, None, None, Some(preview)).await,
        Err(p) => {
            super::audit(&state, &v, attempted, ("organisation", "-"), &p).await;
            organisation_page(&state, &v, None, Some(p)).await
        }
    }
}

#[derive(Deserialize, Default)]
struct ApplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    file: String,
    #[serde(default)]
    digest: String,
}

/// The previewed file, applied (`POST /admin/organisation/apply`) while the import would
/// still do what the preview showed; otherwise the new preview is shown to look at.
pub async fn apply(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    req: axum::extract::Request,
) -> Response {
    let attempted = "import the organisation";
    let result: Result<Result<hjul_store::ImportReport, Value>, Problem> = async {
        let f: ApplyForm = read_form(req, crate::BODY_LIMIT).await?;
        if !fresh(&v, &f.csrf) {
            return Err(stale_problem());
        }
        let (text, org) = organisation_of(f.file.into_bytes())?;
        let now = state.core().preview_organisation(&v.who, &org).await?;
        if preview_digest(&now) != f.digest {
            return Ok(Err(preview_view(&state, v.lang, &now, &text)));
        }
        Ok(Ok(state
            .core()
            .import_organisation(&v.who, &org, |_, _| {})
            .await?))
    }
    .await;
    let words = state.words();
    match result {
        Ok(Ok(r)) => {
            let mut message = words.text(
                v.lang,
                &Text::new("organisation.imported")
                    .arg("created", r.units_created)
                    .arg("updated", r.units_updated)
                    .arg("unchanged", r.units_unchanged)
                    .arg("deactivated", r.units_deactivated),
            );
            let handed = r.handovers.iter().filter(|h| h.to.is_some()).count();
            if !r.handovers.is_empty() {
                message.push(' ');
                message.push_str(
                    &words.text(
                        v.lang,
                        &Text::new("organisation.handed")
                            .arg("handed", handed)
                            .arg("left", r.handovers.len()),
                    ),
                );
            }
            organisation_page(&state, &v, Some(message), None).await
        }
        Ok(Err(preview)) => {
            let message = words.text(v.lang, &Text::new("organisation.changed"));
            organisation_page_with(&state, &v, Some(message), None, Some(preview)).await
        }
        Err(p) => {
            super::audit(&state, &v, attempted, ("organisation", "-"), &p).await;
            organisation_page(&state, &v, None, Some(p)).await
        }
    }
}

pub async fn tokens(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    uri: Uri,
) -> Response {
    let q = query(&uri);
    let message = flash(&state, v.lang, &q);
    tokens_page(&state, &v, message, None, None).await
}

async fn tokens_page(
    state: &AppState,
    v: &Visitor,
    message: Option<String>,
    made: Option<(String, String)>,
    problem: Option<Problem>,
) -> Response {
    let lang = v.lang;
    let words = state.words();
    let list = match state.core().tokens(&v.who).await {
        Ok(t) => t,
        Err(e) => return error_page(state, lang, Some(v), e.into()),
    };
    let rows: Vec<Value> = list
        .iter()
        .rev()
        .map(|t| {
            context! {
                id => t.id.to_string(),
                role => words.word(lang, &format!("role.{}", t.role)),
                email => t.email.clone(),
                note => t.note.clone(),
                created => t.created_at.date_naive().to_string(),
                revoked => t.revoked_at.map(|r| r.date_naive().to_string()),
            }
        })
        .collect();
    let (status, error, lines) = refusal_view(state, lang, problem.as_ref(), "form.not_saved");
    Page::of(state, v, "tokens.html", "tokens.title")
        .message(message)
        .error(error)
        .status(status)
        .render(TokensPage {
            rows,
            made: made.map(|(token, email)| MadeToken { token, email }),
            roles: [Role::Secretariat, Role::Manager, Role::Leader]
                .iter()
                .map(|r| Choice {
                    key: r.key().to_owned(),
                    name: words.word(lang, &format!("role.{}", r.key())),
                })
                .collect(),
            error_lines: lines,
            oidc: state.core().oidc().is_some(),
            token_sign_in: state.core().token_sign_in().await,
        })
}

/// What the tokens' page (`tokens.html`) shows.
#[derive(Serialize)]
struct TokensPage {
    /// Whether the municipality's login is set up (then token sign-in may be turned off).
    oidc: bool,
    /// Whether people may sign in to the dashboard with a token.
    token_sign_in: bool,
    rows: Vec<Value>,
    /// A token just made: shown this once.
    made: Option<MadeToken>,
    roles: Vec<Choice>,
    error_lines: Vec<String>,
}

#[derive(Serialize)]
struct MadeToken {
    token: String,
    email: String,
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    note: String,
}

pub async fn create_token(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    req: axum::extract::Request,
) -> Response {
    let attempted = "create a token";
    let result: Result<(String, String), Problem> = async {
        let f: TokenForm = read_form(req, 16 * 1024).await?;
        if !fresh(&v, &f.csrf) {
            return Err(stale_problem());
        }
        let role = Role::parse(&f.role).ok_or_else(|| {
            Problem::bad_request("choose a role").text(Text::new("tokens.choose_role"))
        })?;
        let note = Some(f.note.trim())
            .filter(|n| !n.is_empty())
            .map(|n| hjul_wheel::limits::clip(n, 200));
        let (token, model) = state
            .core()
            .create_token(&v.who, role, &f.email, note.as_deref())
            .await
            .map_err(|e| {
                use hjul_app::CoreError::Store;
                let text = match &e {
                    Store(hjul_store::StoreError::LeadsNothing { .. }) => {
                        Text::new("tokens.leads_nothing")
                    }
                    Store(hjul_store::StoreError::BadAddress(_)) => Text::new("tokens.bad_address"),
                    _ => return Problem::from(e),
                };
                Problem::from(e).retext(text)
            })?;
        Ok((token, model.email))
    }
    .await;
    match result {
        // Shown once, on this page only; it is not kept anywhere.
        Ok(made) => tokens_page(&state, &v, None, Some(made), None).await,
        Err(p) => {
            super::audit(&state, &v, attempted, ("api_token", "-"), &p).await;
            tokens_page(&state, &v, None, None, Some(p)).await
        }
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    Path(id): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let result = async {
        pressed(&v, req).await?;
        if uuid::Uuid::parse_str(&id).is_err() {
            return Err(Problem::not_found("there is no such token").text(Text::new("tokens.none")));
        }
        state
            .core()
            .revoke_token(&v.who, &id)
            .await
            .map_err(|e| Problem::from(e).retext(Text::new("tokens.none")))
    }
    .await;
    let shown = async |p| error_page(&state, v.lang, Some(&v), p);
    let done = |_| "/admin/tokens?done=revoked".to_owned();
    let attempt = ("revoke a token", ("api_token", id.as_str()));
    answer(&state, &v, attempt, result, done, shown).await
}

/// `POST /admin/sign-in/tokens`: turns the dashboard's sign-in with tokens on or off
/// (the secretariat's).
pub async fn token_sign_in(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    req: axum::extract::Request,
) -> Response {
    #[derive(serde::Deserialize)]
    struct Form {
        #[serde(default)]
        csrf: String,
        #[serde(default)]
        turn: String,
    }
    let result = async {
        let f: Form = read_form(req, 4 * 1024).await?;
        if !fresh(&v, &f.csrf) {
            return Err(stale_problem());
        }
        let on = f.turn == "on";
        state.core().set_token_sign_in(&v.who, on).await?;
        Ok(on)
    }
    .await;
    let shown = async |p| error_page(&state, v.lang, Some(&v), p);
    let done = |on: bool| {
        format!(
            "/admin/tokens?done={}",
            if on { "tokens_on" } else { "tokens_off" }
        )
    };
    let attempt = (
        "turn token sign-in on or off",
        ("setting", hjul_store::settings::TOKEN_SIGN_IN),
    );
    answer(&state, &v, attempt, result, done, shown).await
}

/// `POST /admin/sessions/end`: signs a person out everywhere (the secretariat's).
pub async fn end_sessions(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    req: axum::extract::Request,
) -> Response {
    #[derive(serde::Deserialize)]
    struct Form {
        #[serde(default)]
        csrf: String,
        #[serde(default)]
        email: String,
    }
    let mut email = String::new();
    let result = async {
        let f: Form = read_form(req, 4 * 1024).await?;
        email = f.email.trim().to_owned();
        if !fresh(&v, &f.csrf) {
            return Err(stale_problem());
        }
        Ok(state.core().end_sessions_of(&v.who, &email).await?)
    }
    .await;
    let shown = async |p| error_page(&state, v.lang, Some(&v), p);
    let done = |n: u64| format!("/admin/tokens?done=signed_out&count={n}");
    let attempt = ("sign a person out everywhere", ("person", email.as_str()));
    answer(&state, &v, attempt, result, done, shown).await
}

pub async fn cycles(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    uri: Uri,
) -> Response {
    let q = query(&uri);
    let message = flash(&state, v.lang, &q);
    cycles_page(&state, &v, message, None).await
}

struct MilestoneDraft {
    year: String,
    milestone: String,
    on: String,
    themes: String,
    problem: Problem,
}

impl MilestoneDraft {
    /// A button of a cycle's, refused: nothing was typed.
    fn of(year: &str, problem: Problem) -> Self {
        Self {
            year: year.to_owned(),
            milestone: String::new(),
            on: String::new(),
            themes: String::new(),
            problem,
        }
    }
}

async fn cycles_page(
    state: &AppState,
    v: &Visitor,
    message: Option<String>,
    refused: Option<MilestoneDraft>,
) -> Response {
    let lang = v.lang;
    let words = state.words();
    let today = state.today();
    let def = &state.core().wheel().definition;
    let recorded = match state.core().cycles().await {
        Ok(c) => c,
        Err(e) => return error_page(state, lang, Some(v), e.into()),
    };
    let running = def.cycles.cycle_containing(today);
    // The cycles on record, and the one before, the running one and the next whether
    // started or not (the one before, to record in it what happened before hjul).
    let mut years: Vec<i32> = recorded.iter().map(|c| c.year).collect();
    let every = def.cycles.every_years();
    for y in [
        running.year() - every,
        running.year(),
        running.year() + every,
    ] {
        if !years.contains(&y) {
            years.push(y);
        }
    }
    years.sort_unstable();
    let mut list = Vec::new();
    for year in years.into_iter().rev() {
        let Ok(plan) = def.cycle(year) else { continue };
        let started = recorded.iter().find(|c| c.year == year);
        let timeline_milestones = state.core().milestones(year).await.unwrap_or_default();
        let milestones: Vec<Value> = Deadline::MILESTONES
            .iter()
            .map(|m| {
                let met = timeline_milestones.iter().find(|x| x.milestone == *m);
                let due = plan
                    .milestone_deadlines(&hjul_wheel::Milestones::default())
                    .into_iter()
                    .find(|d| d.deadline == *m)
                    .and_then(|d| d.due);
                context! {
                    key => m.key(),
                    name => words.word(lang, &format!("deadline.{}", m.key())),
                    due => due.map(|d| d.to_string()),
                    met_on => met.map(|x| x.met_on.to_string()),
                    themes => met.map(|x| x.themes.clone()).unwrap_or_default(),
                }
            })
            .collect();
        // With report_final met: whether its report is kept (a link), or not (the
        // layout failed then: a button to make it again).
        let final_met = timeline_milestones
            .iter()
            .any(|m| m.milestone == Deadline::ReportFinal);
        let final_report = if final_met {
            let kept = state.core().final_report_kept(year).await.unwrap_or(true);
            Some(if kept { "kept" } else { "missing" })
        } else {
            None
        };
        list.push(context! {
            year => year,
            starts => plan.cycle().starts().to_string(),
            ends => plan.cycle().ends().to_string(),
            started => started.map(|c| context! {
                at => c.started_at.date_naive().to_string(),
                by => starter(state, lang, c),
            }),
            running => year == running.year(),
            // A date the form can take as it stands: today, or the cycle's last day for
            // a past one (today would always be refused there).
            default_on => today.clamp(plan.cycle().starts(), plan.cycle().ends()).to_string(),
            milestones => milestones,
            final_report => final_report,
        });
    }
    let (status, error, lines) = refusal_view(
        state,
        lang,
        refused.as_ref().map(|r| &r.problem),
        "form.not_saved",
    );
    let draft = refused.as_ref().map(|r| MilestoneTyped {
        year: r.year.clone(),
        milestone: r.milestone.clone(),
        on: r.on.clone(),
        themes: r.themes.clone(),
    });
    Page::of(state, v, "cycles.html", "cycles.title")
        .message(message)
        .error(error)
        .status(status)
        .render(CyclesPage {
            cycles: list,
            error_lines: lines,
            draft,
        })
}

/// What the cycles' page (`cycles.html`) shows.
#[derive(Serialize)]
struct CyclesPage {
    /// Each cycle with its milestones, the newest first.
    cycles: Vec<Value>,
    error_lines: Vec<String>,
    /// A refused milestone form, as typed.
    draft: Option<MilestoneTyped>,
}

#[derive(Serialize)]
struct MilestoneTyped {
    year: String,
    milestone: String,
    on: String,
    themes: String,
}

pub async fn start_cycle(
    State(state): State<AppState>,
    Secretariat(v): Secretariat,
    Path(year): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let result = async {
        pressed(&v, req).await?;
        let year = cycle_year(&year)?;
        state.core().start_cycle(&v.who, year).await?;
        Ok(year)
    }
    .await;
    let done = |y| format!("/admin/cycles?done=cycle&cycle={y}");
    let attempt = ("start a cycle", ("cycle", year.as_str()));
    let again = async |p| cycles_page(&state, &v, None, Some(MilestoneDraft::of(&year, p))).await;
    answer(&state, &v, attempt, result, done, again).await
}

/// A cycle's year as a path names it, or "there is no such cycle".
fn cycle_year(year: &str) -> Result<i32, Problem> {
    year.parse()
        .map_err(|_| Problem::not_found("there is no such cycle").text(Text::new("cycles.none")))
}

/// Makes the final report of a cycle whose `report_final` was recorded without it.
pub async fn make_final_report(
    State(state): State<AppState>,
    v: Visitor,
    Path(year): Path<String>,
    req: axum::extract::Request,
) -> Response {
    // Who may is the core's question (who records report_final: the wheel says).
    let result = async {
        pressed(&v, req).await?;
        let y = cycle_year(&year)?;
        state.core().make_final_report(&v.who, y).await?;
        Ok(y)
    }
    .await;
    let done = |y| format!("/admin/cycles?done=final_report&cycle={y}");
    let entity = format!("{year}/report_final");
    let attempt = ("make the final report", ("milestone", entity.as_str()));
    let again = async |p| cycles_page(&state, &v, None, Some(MilestoneDraft::of(&year, p))).await;
    answer(&state, &v, attempt, result, done, again).await
}

#[derive(Deserialize)]
struct MilestoneForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    milestone: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    themes: String,
}

pub async fn milestone(
    State(state): State<AppState>,
    v: Visitor,
    Path(year): Path<String>,
    req: axum::extract::Request,
) -> Response {
    let attempted = "record a milestone";
    let f: MilestoneForm = match read_form(req, 64 * 1024).await {
        Ok(f) => f,
        Err(p) => return refuse(&state, &v, attempted, ("milestone", &year), p).await,
    };
    let result: Result<(i32, Option<hjul_app::FinalReport>), Problem> = async {
        if !fresh(&v, &f.csrf) {
            return Err(stale_problem());
        }
        // Who records which milestone is asked by the core, from the wheel.
        let y = cycle_year(&year)?;
        let m = Deadline::MILESTONES
            .into_iter()
            .find(|d| d.key() == f.milestone)
            .ok_or_else(|| {
                Problem::bad_request("choose a milestone").text(Text::new("cycles.choose"))
            })?;
        let on = form_date(&f.on)?;
        let themes: Vec<String> = f
            .themes
            .lines()
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.is_empty())
            .collect();
        // Themes go with their milestone only; typed for another, they are refused, not
        // dropped.
        let themes = (m == Deadline::ThemesPublished || !themes.is_empty()).then_some(themes);
        // report_final keeps the final report with it; the form has its own words for
        // the rule of which milestone takes themes.
        let report = state
            .core()
            .record_milestone(&v.who, (y, m, on), themes)
            .await
            .map_err(|e| match e {
                hjul_app::CoreError::Store(
                    hjul_store::StoreError::ThemesRequired
                    | hjul_store::StoreError::NoThemes
                    | hjul_store::StoreError::TakesNoThemes(_),
                ) => Problem::from(e).retext(Text::new("cycles.themes_needed")),
                other => other.into(),
            })?;
        Ok((y, report))
    }
    .await;
    match result {
        // On record, and its report could not be laid out: said on the page that
        // offers to make it again.
        Ok((_, Some(hjul_app::FinalReport::NotMade(why)))) => {
            let why = why
                .text()
                .unwrap_or_else(|| Text::new("report.layout_failed"));
            let told = Text::new("report.final_not_made").arg("why", why);
            let told = state.words().text(v.lang, &told);
            cycles_page(&state, &v, Some(told), None).await
        }
        Ok((y, _)) => {
            Redirect::to(&format!("/admin/cycles?done=milestone&cycle={y}")).into_response()
        }
        Err(p) => {
            super::audit(&state, &v, attempted, ("milestone", &year), &p).await;
            cycles_page(
                &state,
                &v,
                None,
                Some(MilestoneDraft {
                    year,
                    milestone: f.milestone,
                    on: f.on,
                    themes: f.themes,
                    problem: p,
                }),
            )
            .await
        }
    }
}
