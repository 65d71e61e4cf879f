//! The HTTP API on SQLite and PostgreSQL: who may do what (every role × every endpoint ×
//! own unit, a unit below, beside and above), every endpoint's work, and bad input
//! answered with a problem report, never a 500.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chrono::{DateTime, Utc};
use hjul_store::{CurrentWheel, Role, Store};
use hjul_tests::{
    AGREEMENT, GRADES, ORGANISATION, TestDb, eight, skovby_with_themes, stamp, stories, unit_of,
};
use tower::ServiceExt;

stories!(
    every_role_on_every_endpoint_gets_the_right_answer,
    every_endpoint_does_its_work,
    bad_input_is_a_problem_report_never_a_500,
    the_dashboard_forms_save_and_never_lose_what_was_typed,
    drafts_outlive_a_session_and_spreadsheets_keep_the_filter,
    a_unit_sees_its_numbers_and_nothing_that_rests_on_too_few,
    the_report_is_a_download_over_what_the_caller_sees,
    long_tables_are_shown_a_page_at_a_time,
    the_wheel_names_who_records_a_milestone_and_a_refusal_is_on_record_once,
    a_final_report_not_made_is_made_from_the_cycles_page,
    a_date_of_another_cycle_is_refused_on_a_pages_form_and_recorded_there_when_asked,
    deputies_are_named_by_whom_the_unit_answers_to_and_a_past_one_blocks_nothing,
    a_late_joiner_is_put_into_the_next_cycle_from_its_page_and_back_by_the_api,
    every_read_of_personal_data_is_in_the_read_log_with_its_terms,
    the_audit_log_reads_as_sentences_found_by_a_units_name_in_both_languages,
    an_access_request_gets_everything_about_the_person_and_nothing_of_anyone_else,
    a_person_who_left_is_anonymised_from_the_privacy_page_after_a_ticked_box,
);

/// The API at a fixed moment: 15 May 2026, 10:00 in Copenhagen.
fn now() -> DateTime<Utc> {
    eight("2026-05-15") + chrono::Duration::hours(2)
}

struct Api {
    app: axum::Router,
    store: Store,
}

async fn api(db: &TestDb) -> Api {
    let store = skovby_with_themes(db, "2026-05-15").await;
    Api {
        app: hjul_tests::service(db, CurrentWheel::builtin(), now)
            .await
            .router(),
        store,
    }
}

impl Api {
    async fn token(&self, role: Role, email: &str) -> String {
        self.store
            .create_token(role, email, None, &stamp("2026-05-15"))
            .await
            .unwrap()
            .0
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> (StatusCode, serde_json::Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string()))
                .unwrap(),
            None => req.body(Body::empty()).unwrap(),
        };
        self.send(req).await
    }

    /// A GET whose answer is a file: its status, content type, ETag and bytes.
    async fn download(&self, path: &str, token: &str) -> (StatusCode, String, String, Vec<u8>) {
        let req = Request::get(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let res = self.app.clone().oneshot(req).await.unwrap();
        let header = |name: &str| {
            res.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let (status, kind, etag) = (res.status(), header("content-type"), header("etag"));
        let bytes = axum::body::to_bytes(res.into_body(), 16 << 20)
            .await
            .unwrap();
        (status, kind, etag, bytes.to_vec())
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, serde_json::Value) {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 16 << 20)
            .await
            .unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, json)
    }
}

/// A date after "today" (15 May 2026): every allowed write is then refused by the wheel
/// (409, "in the future") and leaves nothing behind, so the matrix shows access alone.
const FUTURE: &str = "2026-06-01";

async fn every_role_on_every_endpoint_gets_the_right_answer(db: TestDb) {
    let api = api(&db).await;
    let secretariat = api.token(Role::Secretariat, "sekretariat@skovby.dk").await;
    // Anna leads dt-nord (level 3): dt-nord-1 is below, dt-syd beside, dt above.
    let manager = api.token(Role::Manager, "anna.bech@skovby.dk").await;
    let leader = api.token(Role::Leader, "anna.bech@skovby.dk").await;
    let targets = ["dt-nord", "dt-nord-1", "dt-syd", "dt"];
    let future = || Some(serde_json::json!({ "on": FUTURE }));
    let agreement = || Some(serde_json::json!({ "on": FUTURE, "agreement": AGREEMENT }));
    let grades = || Some(serde_json::json!({ "on": FUTURE, "grades": GRADES }));

    type BodyFn = fn() -> Option<serde_json::Value>;
    /// [secretariat, manager, leader] × [own, below, beside, above]
    type Expected = [[u16; 4]; 3];
    // Who may do what is read from config/wheel.toml: the superior calls the dialogue
    // (so a manager records their units' dialogues), the superior signs.
    // (what, method, path with {u}, body, expected statuses)
    let unit_endpoints: Vec<(&str, Method, &str, BodyFn, Expected)> = vec![
        (
            "unit",
            Method::GET,
            "/api/v1/units/{u}",
            || None,
            [[200; 4], [200, 200, 404, 404], [200, 200, 404, 404]],
        ),
        (
            "agreements",
            Method::GET,
            "/api/v1/units/{u}/agreements",
            || None,
            [[200; 4], [200, 200, 404, 404], [200, 200, 404, 404]],
        ),
        (
            "data",
            Method::GET,
            "/api/v1/units/{u}/data",
            || None,
            [[200; 4], [200, 200, 404, 404], [200, 200, 404, 404]],
        ),
        (
            "dialogue",
            Method::POST,
            "/api/v1/units/{u}/dialogue",
            future,
            [[409; 4], [409, 409, 404, 404], [409, 403, 404, 404]],
        ),
        (
            "submit",
            Method::POST,
            "/api/v1/units/{u}/agreements",
            agreement,
            [[409; 4], [409, 403, 404, 404], [409, 403, 404, 404]],
        ),
        (
            "sign",
            Method::POST,
            "/api/v1/units/{u}/agreements/sign",
            future,
            [[409; 4], [403, 409, 404, 404], [403, 403, 404, 404]],
        ),
        (
            "midway",
            Method::POST,
            "/api/v1/units/{u}/midway",
            grades,
            [[409; 4], [409, 403, 404, 404], [409, 403, 404, 404]],
        ),
    ];
    let mut failures = Vec::new();
    for (what, method, path, body, expected) in &unit_endpoints {
        for (r, token) in [&secretariat, &manager, &leader].into_iter().enumerate() {
            for (t, unit) in targets.iter().enumerate() {
                let (status, json) = api
                    .call(
                        method.clone(),
                        &path.replace("{u}", unit),
                        Some(token),
                        body(),
                    )
                    .await;
                if status.as_u16() != expected[r][t] {
                    failures.push(format!(
                        "{what} as {} on {unit}: {status}, wanted {} ({json})",
                        ["secretariat", "manager", "leader"][r],
                        expected[r][t]
                    ));
                }
            }
            // Without a token: 401.
            let (status, _) = api
                .call(
                    method.clone(),
                    &path.replace("{u}", "dt-nord"),
                    None,
                    body(),
                )
                .await;
            if status != StatusCode::UNAUTHORIZED {
                failures.push(format!("{what} without a token: {status}"));
            }
        }
    }

    let milestone = || Some(serde_json::json!({ "milestone": "report_final", "on": FUTURE }));
    let org = Some(serde_json::Value::Null);
    type Json = Option<serde_json::Value>;
    let other: Vec<(&str, Method, &str, Json, [u16; 3])> = vec![
        ("me", Method::GET, "/api/v1/me", None, [200, 200, 200]),
        ("units", Method::GET, "/api/v1/units", None, [200, 200, 200]),
        (
            "status",
            Method::GET,
            "/api/v1/status",
            None,
            [200, 200, 200],
        ),
        (
            "cycles",
            Method::GET,
            "/api/v1/cycles",
            None,
            [200, 200, 200],
        ),
        (
            "plan",
            Method::GET,
            "/api/v1/cycles/2025/plan",
            None,
            [200, 200, 200],
        ),
        (
            "start",
            Method::POST,
            "/api/v1/cycles/2025/start",
            None,
            [409, 403, 403],
        ),
        (
            "milestone",
            Method::POST,
            "/api/v1/cycles/2025/milestones",
            milestone(),
            [409, 403, 403],
        ),
        (
            "outbox",
            Method::GET,
            "/api/v1/outbox",
            None,
            [200, 403, 403],
        ),
        (
            "retry",
            Method::POST,
            "/api/v1/outbox/not-an-id/retry",
            None,
            [400, 403, 403],
        ),
        ("audit", Method::GET, "/api/v1/audit", None, [200, 403, 403]),
    ];
    for (what, method, path, body, expected) in &other {
        for (r, token) in [&secretariat, &manager, &leader].into_iter().enumerate() {
            let (status, json) = api
                .call(method.clone(), path, Some(token), body.clone())
                .await;
            if status.as_u16() != expected[r] {
                failures.push(format!(
                    "{what} as {}: {status}, wanted {} ({json})",
                    ["secretariat", "manager", "leader"][r],
                    expected[r]
                ));
            }
        }
        let (status, _) = api.call(method.clone(), path, None, body.clone()).await;
        if status != StatusCode::UNAUTHORIZED {
            failures.push(format!("{what} without a token: {status}"));
        }
    }
    // The organisation upload takes a CSV body.
    let _ = org;
    for (r, token) in [&secretariat, &manager, &leader].into_iter().enumerate() {
        let req = Request::post("/api/v1/organisation")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "text/csv")
            .body(Body::from(ORGANISATION))
            .unwrap();
        let (status, _) = api.send(req).await;
        if status.as_u16() != [200, 403, 403][r] {
            failures.push(format!("organisation as role {r}: {status}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // A file that gives Bo's house a new leader, previewed: who takes over, nothing
    // written (the same preview again says the same), and a leader may not preview.
    let eva = ORGANISATION.replace(
        "Bo Nielsen,bo.nielsen@skovby.dk",
        "Eva Lund,eva.lund@skovby.dk",
    );
    assert_ne!(eva, ORGANISATION);
    let preview = |token: &str| {
        Request::post("/api/v1/organisation?preview=true")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "text/csv")
            .body(Body::from(eva.clone()))
            .unwrap()
    };
    let (status, first) = api.send(preview(&secretariat)).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["preview"], true);
    assert_eq!(first["units_updated"], 1, "{first}");
    assert_eq!(first["handovers"][0]["unit_id"], "dt-nord-1", "{first}");
    assert_eq!(first["handovers"][0]["from"], "bo.nielsen@skovby.dk");
    assert_eq!(first["handovers"][0]["to"], "eva.lund@skovby.dk");
    let (_, again) = api.send(preview(&secretariat)).await;
    assert_eq!(again, first, "a preview writes nothing");
    let (status, _) = api.send(preview(&leader)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // What a manager sees of the organisation: their subtree.
    let (_, rows) = api
        .call(Method::GET, "/api/v1/status", Some(&manager), None)
        .await;
    let seen: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["unit_id"].as_str().unwrap())
        .collect();
    assert_eq!(seen, ["dt-nord", "dt-nord-1", "dt-nord-2", "dt-nord-3"]);
    let (_, units) = api
        .call(Method::GET, "/api/v1/units", Some(&leader), None)
        .await;
    assert_eq!(units.as_array().unwrap().len(), 4);
    let (_, all) = api
        .call(Method::GET, "/api/v1/status", Some(&secretariat), None)
        .await;
    assert_eq!(all.as_array().unwrap().len(), 16);

    // Refused attempts are on record with who tried; the tokens are nowhere in it.
    let log = api.store.audit_log(None, 10_000).await.unwrap();
    let refused: Vec<_> = log.iter().filter(|a| a.action == "refused").collect();
    assert!(
        refused
            .iter()
            .any(|a| a.actor == "api:anna.bech@skovby.dk" && a.entity_id == "dt-syd")
    );
    assert!(refused.iter().any(|a| {
        a.actor == "api:anna.bech@skovby.dk"
            && a.after
                .as_deref()
                .unwrap()
                .contains("is recorded by the superior")
    }));
    for a in &log {
        let text = format!("{} {:?} {:?}", a.actor, a.before, a.after);
        for t in [&secretariat, &manager, &leader] {
            assert!(!text.contains(t.as_str()), "a token in the audit log");
        }
    }
    // A revoked token is refused at once.
    let id = api
        .store
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.role == "leader")
        .unwrap()
        .id;
    api.store
        .revoke_token(&id.to_string(), &stamp("2026-05-15"))
        .await
        .unwrap();
    let (status, _) = api
        .call(Method::GET, "/api/v1/me", Some(&leader), None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn every_endpoint_does_its_work(db: TestDb) {
    let api = api(&db).await;
    let sec = api.token(Role::Secretariat, "sekretariat@skovby.dk").await;
    let anna = api.token(Role::Manager, "anna.bech@skovby.dk").await;
    let bo = api.token(Role::Leader, "bo.nielsen@skovby.dk").await;

    let (s, me) = api.call(Method::GET, "/api/v1/me", Some(&bo), None).await;
    assert_eq!(
        (s, me["role"].as_str(), me["leads"][0].as_str()),
        (StatusCode::OK, Some("leader"), Some("dt-nord-1"))
    );
    // Bo records his dialogue, submits the agreement; Anna signs it.
    let (s, _) = api
        .call(
            Method::POST,
            "/api/v1/units/dt-nord-1/dialogue",
            Some(&bo),
            Some(serde_json::json!({"on": "2026-03-14", "notes": "Referat", "for_report": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // The leave to quote the notes is on record with the event.
    let (_, t) = api
        .call(
            Method::GET,
            "/api/v1/units/dt-nord-1?at=2026-03-20",
            Some(&bo),
            None,
        )
        .await;
    let held = t["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "dialogue_held")
        .unwrap();
    assert_eq!(
        (&held["notes"], &held["for_report"]),
        (&serde_json::json!("Referat"), &serde_json::json!(true))
    );
    let (s, sub) = api
        .call(
            Method::POST,
            "/api/v1/units/dt-nord-1/agreements",
            Some(&bo),
            Some(serde_json::json!({"on": "2026-04-09", "agreement": AGREEMENT})),
        )
        .await;
    assert_eq!(
        (s, sub["revision"].as_u64()),
        (StatusCode::CREATED, Some(1))
    );
    assert!(sub["warnings"].as_array().unwrap().is_empty());
    let (s, signed) = api
        .call(
            Method::POST,
            "/api/v1/units/dt-nord-1/agreements/sign",
            Some(&anna),
            Some(serde_json::json!({"on": "2026-04-20"})),
        )
        .await;
    assert_eq!((s, signed["revision"].as_u64()), (StatusCode::OK, Some(1)));
    // The rules still apply: twice is refused with the reason.
    let (s, p) = api
        .call(
            Method::POST,
            "/api/v1/units/dt-nord-1/agreements/sign",
            Some(&anna),
            Some(serde_json::json!({"on": "2026-04-21"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        p["detail"].as_str().unwrap().contains("already signed"),
        "{p}"
    );
    let (s, unit) = api
        .call(Method::GET, "/api/v1/units/dt-nord-1", Some(&anna), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(unit["step"], "in_force");
    assert_eq!(unit["events"].as_array().unwrap().len(), 3);
    assert_eq!(unit["events"][0]["recorded_by"], "api:bo.nielsen@skovby.dk");
    let (_, agreements) = api
        .call(
            Method::GET,
            "/api/v1/units/dt-nord-1/agreements",
            Some(&bo),
            None,
        )
        .await;
    assert_eq!(agreements[0]["goals"].as_array().unwrap().len(), 3);
    // Status rows are `hjul status`'s rows, with filters.
    let (s, rows) = api
        .call(
            Method::GET,
            "/api/v1/status?area=daycare&level=4&overdue=false",
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit_id"] == "dt-nord-1")
        .unwrap();
    assert_eq!(row["agreement"]["state"], "in_force");
    // Signed: the first status on the goals is what comes next.
    assert_eq!(row["next_deadline"]["deadline"], "goal_status");
    assert_eq!(rows.as_array().unwrap().len(), 5);
    let (_, overdue) = api
        .call(
            Method::GET,
            "/api/v1/status?overdue=true&at=2026-07-15",
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(
        overdue.as_array().unwrap().len(),
        11,
        "level 3–4 units without a dialogue"
    );
    // Milestones, cycles and the plan.
    let (s, _) = api
        .call(
            Method::POST,
            "/api/v1/cycles/2025/milestones",
            Some(&sec),
            Some(serde_json::json!({"milestone": "data_collected", "on": "2025-12-18"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, cycles) = api
        .call(Method::GET, "/api/v1/cycles", Some(&bo), None)
        .await;
    assert_eq!(cycles[0]["year"], 2025);
    let (_, plan) = api
        .call(Method::GET, "/api/v1/cycles/2027/plan", Some(&bo), None)
        .await;
    assert_eq!(plan["starts"], "2027-10-01");
    let (s, _) = api
        .call(Method::GET, "/api/v1/cycles/2026/plan", Some(&bo), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, c) = api
        .call(Method::POST, "/api/v1/cycles/2027/start", Some(&sec), None)
        .await;
    assert_eq!((s, c["year"].as_i64()), (StatusCode::CREATED, Some(2027)));
    // The midway status, for the secretariat on Bo's behalf (dated in Q3 2027 is in the
    // future here, so: refused with the reason).
    let (s, p) = api
        .call(
            Method::POST,
            "/api/v1/units/dt-nord-1/midway",
            Some(&bo),
            Some(serde_json::json!({"grades": GRADES})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("Midway status opens on 2027-07-01"),
        "{p}"
    );
    // The organisation, again: nothing changes.
    let req = Request::post("/api/v1/organisation")
        .header("authorization", format!("Bearer {sec}"))
        .header("content-type", "text/csv")
        .body(Body::from(ORGANISATION))
        .unwrap();
    let (s, r) = api.send(req).await;
    assert_eq!(
        (s, r["units_unchanged"].as_u64()),
        (StatusCode::OK, Some(16))
    );
    // The outbox and a retry of a dead item.
    let item = hjul_store::NewItem {
        key: "test:dead".into(),
        cycle: None,
        unit_id: None,
        deadline: None,
        kind: hjul_store::OutboxKind::Digest,
        days_before: None,
        party: hjul_wheel::Party::Secretariat,
        due_on: None,
        due_at: now(),
        state: hjul_store::OutboxState::Pending,
        payload: None,
        to: None,
    };
    api.store
        .write_tick(vec![item], &[], &[], &[], now(), None)
        .await
        .unwrap();
    let (_, items) = api
        .call(
            Method::GET,
            "/api/v1/outbox?state=pending",
            Some(&sec),
            None,
        )
        .await;
    let id = items[0]["id"].as_str().unwrap().to_owned();
    api.store
        .mark_dead(&[id.parse().unwrap()], "550 no", None, now())
        .await
        .unwrap();
    let (s, _) = api
        .call(
            Method::POST,
            &format!("/api/v1/outbox/{id}/retry"),
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, items) = api
        .call(
            Method::GET,
            "/api/v1/outbox?state=pending",
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(items[0]["id"], id.as_str());
    // The audit log, for one unit.
    let (s, log) = api
        .call(
            Method::GET,
            "/api/v1/audit?entity=unit&entity_id=dt-nord-1&limit=50",
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "unit.agreement_signed"
                && a["actor"] == "api:anna.bech@skovby.dk")
    );
    // OpenAPI and docs, health without a token.
    let (s, spec) = api.call(Method::GET, "/api/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    for path in [
        "/api/v1/status",
        "/api/v1/units/{unit_id}/dialogue",
        "/api/v1/outbox/{id}/retry",
        "/api/v1/audit",
    ] {
        assert!(spec["paths"].get(path).is_some(), "{path} not in the spec");
    }
    let res = api
        .app
        .clone()
        .oneshot(Request::get("/api/docs").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (s, h) = api.call(Method::GET, "/healthz", None, None).await;
    assert_eq!((s, h["status"].as_str()), (StatusCode::OK, Some("ok")));
}

async fn bad_input_is_a_problem_report_never_a_500(db: TestDb) {
    let api = api(&db).await;
    let sec = api.token(Role::Secretariat, "sekretariat@skovby.dk").await;
    let check = |status: StatusCode, p: &serde_json::Value, want: u16, field: Option<&str>| {
        assert_eq!(status.as_u16(), want, "{p}");
        assert_eq!(p["status"].as_u64(), Some(u64::from(want)), "{p}");
        assert!(!p["detail"].as_str().unwrap().is_empty(), "{p}");
        if let Some(f) = field {
            assert_eq!(p["field"].as_str(), Some(f), "{p}");
        }
    };
    // Unknown fields and bad dates name the field.
    let (s, p) = api
        .call(
            Method::POST,
            "/api/v1/units/dt-nord/dialogue",
            Some(&sec),
            Some(serde_json::json!({"on": "2026-03-01", "held_by": "x"})),
        )
        .await;
    check(s, &p, 400, Some("held_by"));
    let (s, p) = api
        .call(
            Method::POST,
            "/api/v1/units/dt-nord/dialogue",
            Some(&sec),
            Some(serde_json::json!({"on": "1. marts"})),
        )
        .await;
    check(s, &p, 400, Some("on"));
    let (s, p) = api
        .call(
            Method::POST,
            "/api/v1/units/dt-nord/dialogue",
            Some(&sec),
            Some(serde_json::json!({})),
        )
        .await;
    check(s, &p, 400, None);
    assert!(
        p["detail"].as_str().unwrap().contains("missing field `on`"),
        "{p}"
    );
    // Notes to be quoted in the report are bounded as the report can hold them; the
    // same notes not for the report are within what any notes may be.
    let long = "Sprog og trivsel. ".repeat(120);
    let (s, p) = api
        .call(
            Method::POST,
            "/api/v1/units/dt-nord-1/dialogue",
            Some(&sec),
            Some(serde_json::json!({"on": "2026-03-14", "notes": long, "for_report": true})),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("at most 2000"),
        "{p}"
    );
    assert_eq!(events_of(&api, &sec, "dt-nord-1").await, 0);
    let (s, p) = api
        .call(
            Method::GET,
            "/api/v1/status?at=2026-02-30",
            Some(&sec),
            None,
        )
        .await;
    check(s, &p, 400, Some("at"));
    let (s, p) = api
        .call(Method::GET, "/api/v1/status?level=7", Some(&sec), None)
        .await;
    check(s, &p, 400, Some("level"));
    let (s, p) = api
        .call(Method::GET, "/api/v1/status?area=forest", Some(&sec), None)
        .await;
    check(s, &p, 400, Some("area"));
    let (s, p) = api
        .call(Method::GET, "/api/v1/status?colour=blue", Some(&sec), None)
        .await;
    check(s, &p, 400, Some("colour"));
    let (s, p) = api
        .call(
            Method::POST,
            "/api/v1/cycles/2025/milestones",
            Some(&sec),
            Some(serde_json::json!({"milestone": "party", "on": "2026-01-05"})),
        )
        .await;
    check(s, &p, 400, Some("milestone"));
    // Not JSON, and not said to be JSON.
    let req = Request::post("/api/v1/units/dt-nord/dialogue")
        .header("authorization", format!("Bearer {sec}"))
        .header("content-type", "application/json")
        .body(Body::from("{\"on\": "))
        .unwrap();
    let (s, p) = api.send(req).await;
    check(s, &p, 400, None);
    let req = Request::post("/api/v1/units/dt-nord/dialogue")
        .header("authorization", format!("Bearer {sec}"))
        .header("content-type", "text/plain")
        .body(Body::from("on=2026-03-01"))
        .unwrap();
    let (s, p) = api.send(req).await;
    check(s, &p, 415, None);
    // Too large.
    let huge = format!(
        "{{\"on\": \"2026-03-01\", \"notes\": \"{}\"}}",
        "x".repeat(hjul_api::BODY_LIMIT + 1)
    );
    let req = Request::post("/api/v1/units/dt-nord/dialogue")
        .header("authorization", format!("Bearer {sec}"))
        .header("content-type", "application/json")
        .body(Body::from(huge))
        .unwrap();
    let (s, p) = api.send(req).await;
    check(s, &p, 413, None);
    // A bad agreement: every problem, with line and key.
    let bad = AGREEMENT.replace("weight = 40", "weight = 45").replace(
        "indicator = \"language_development\"",
        "indicator = \"sprog\"",
    );
    api.call(
        Method::POST,
        "/api/v1/units/dt-nord/dialogue",
        Some(&sec),
        Some(serde_json::json!({"on": "2026-03-01"})),
    )
    .await;
    let (s, p) = api
        .call(
            Method::POST,
            "/api/v1/units/dt-nord/agreements",
            Some(&sec),
            Some(serde_json::json!({"on": "2026-03-25", "agreement": bad})),
        )
        .await;
    check(s, &p, 422, None);
    assert_eq!(p["errors"][0]["line"].as_u64(), Some(6), "{p}");
    assert!(
        p["errors"][0]["field"]
            .as_str()
            .unwrap()
            .ends_with(".indicator"),
        "{p}"
    );
    // A bad organisation file: every row, with its line.
    let req = Request::post("/api/v1/organisation")
        .header("authorization", format!("Bearer {sec}"))
        .header("content-type", "text/csv")
        .body(Body::from(ORGANISATION.replace(
            "dt-nord-2,Børnehuset Spiren,4,dt-nord",
            "dt-nord-2,Børnehuset Spiren,4,nowhere",
        )))
        .unwrap();
    let (s, p) = api.send(req).await;
    check(s, &p, 422, None);
    assert_eq!(p["errors"][0]["line"].as_u64(), Some(9), "{p}");
    // Unknown units and paths.
    let (s, p) = api
        .call(Method::GET, "/api/v1/units/nowhere", Some(&sec), None)
        .await;
    check(s, &p, 404, None);
    let (s, _) = api
        .call(Method::GET, "/api/v1/nothing", Some(&sec), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A wrong token is 401 with a problem report.
    let (s, p) = api
        .call(Method::GET, "/api/v1/me", Some("hjul_not_a_token"), None)
        .await;
    check(s, &p, 401, None);
    // As the OpenAPI document says: a limit of 1 to 10000, a level of 1 to 4; the
    // audit log filtered by an entity's id alone.
    for (path, field) in [
        ("/api/v1/audit?limit=0", "limit"),
        ("/api/v1/outbox?limit=10001", "limit"),
        ("/api/v1/status?level=0", "level"),
        ("/api/v1/status?at=3510-04-25", "at"),
    ] {
        let (s, p) = api.call(Method::GET, path, Some(&sec), None).await;
        check(s, &p, 400, Some(field));
    }
    let (s, log) = api
        .call(
            Method::GET,
            "/api/v1/audit?entity_id=dt-nord",
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{log}");
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .all(|a| a["entity_id"] == "dt-nord"),
        "{log}"
    );
    // Fields that do not fit together are well formed: 422, naming the field.
    let (s, p) = api
        .call(
            Method::POST,
            "/api/v1/cycles/2025/milestones",
            Some(&sec),
            Some(serde_json::json!({"milestone": "report_final", "on": "2026-05-01", "themes": ["Sprog"]})),
        )
        .await;
    check(s, &p, 422, Some("themes"));
    let (s, p) = api
        .call(
            Method::POST,
            "/api/v1/cycles/2025/milestones",
            Some(&sec),
            Some(serde_json::json!({"milestone": "themes_published", "on": "2026-03-20", "themes": []})),
        )
        .await;
    check(s, &p, 422, Some("themes"));
}

impl Api {
    /// The sign-in form posted with `token`, as a browser would (the form's cookie and
    /// CSRF value): the answer.
    async fn post_sign_in(&self, token: &str) -> axum::response::Response {
        let res = self
            .app
            .clone()
            .oneshot(Request::get("/login").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let login_cookie = res.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let csrf = csrf_in(std::str::from_utf8(&bytes).unwrap());
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("csrf", csrf.as_str()), ("token", token), ("next", "/")])
            .finish();
        self.app
            .clone()
            .oneshot(
                Request::post("/login")
                    .header("cookie", login_cookie)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .unwrap()
    }

    /// Signs in on the dashboard as the holder of `token`: the session cookie.
    async fn sign_in(&self, token: &str) -> String {
        let res = self.post_sign_in(token).await;
        if res.status() != StatusCode::SEE_OTHER {
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
                .await
                .unwrap();
            panic!("sign-in: {status} {}", String::from_utf8_lossy(&bytes));
        }
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        // The cookie holds a session id, never the token.
        assert!(!cookie.contains(token), "{cookie}");
        cookie.split(';').next().unwrap().to_owned()
    }

    /// A dashboard page in a session: status and HTML (or where it redirects).
    async fn page(&self, session: &str, path: &str) -> (StatusCode, String) {
        let req = Request::get(path)
            .header("cookie", session)
            .body(Body::empty())
            .unwrap();
        self.html(req).await
    }

    /// Posts a dashboard form (URL-encoded `fields`) in a session.
    async fn form(
        &self,
        session: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let req = Request::post(path)
            .header("cookie", session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.html(req).await
    }

    async fn html(&self, req: Request<Body>) -> (StatusCode, String) {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(res.into_body(), 16 << 20)
            .await
            .unwrap();
        let body = String::from_utf8(bytes.to_vec()).unwrap();
        (status, location.unwrap_or(body))
    }
}

/// The CSRF value a page's forms carry.
fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = html.find(marker).expect("a form with a CSRF value") + marker.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// The events on record for a unit, through the API.
async fn events_of(api: &Api, token: &str, unit: &str) -> usize {
    let (_, t) = api
        .call(
            Method::GET,
            &format!("/api/v1/units/{unit}"),
            Some(token),
            None,
        )
        .await;
    t["events"].as_array().unwrap().len()
}

/// The example agreement's goals as the editor's form fields.
fn goal_fields(csrf: &str, op: &str) -> Vec<(String, String)> {
    let catalogue = hjul_wheel::IndicatorCatalogue::builtin();
    let (a, _) = hjul_wheel::Agreement::from_toml(AGREEMENT, "a.toml", &catalogue, None).unwrap();
    let mut fields = vec![
        ("csrf".to_owned(), csrf.to_owned()),
        ("on".to_owned(), "2026-04-09".to_owned()),
        ("op".to_owned(), op.to_owned()),
    ];
    for (i, g) in a.goals().iter().enumerate() {
        let d = hjul_wheel::GoalDraft::from(g);
        for (f, v) in [
            ("title", d.title),
            ("dimension", d.dimension),
            ("kind", d.kind),
            ("horizon", d.horizon),
            ("weight", d.weight),
            ("indicator", d.indicator),
            ("baseline", d.baseline),
            ("partly_met", d.partly_met),
            ("fully_met", d.fully_met),
            ("activities", d.activities.join("\n")),
            ("target_date", d.target_date),
        ] {
            fields.push((format!("g{i}.{f}"), v));
        }
    }
    fields
}

fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

async fn the_dashboard_forms_save_and_never_lose_what_was_typed(db: TestDb) {
    let api = api(&db).await;
    let sec = api.token(Role::Secretariat, "sekretariat@skovby.dk").await;
    let anna_token = api.token(Role::Manager, "anna.bech@skovby.dk").await;
    let bo_token = api.token(Role::Leader, "bo.nielsen@skovby.dk").await;
    let bo = api.sign_in(&bo_token).await;
    let anna = api.sign_in(&anna_token).await;
    let unit = "/units/dt-nord-1";

    let (s, page) = api.page(&bo, unit).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("id=\"dialogue-form\""), "{page}");
    assert!(
        !page.contains("id=\"sign-form\""),
        "a leader does not sign: {page}"
    );
    let csrf = csrf_in(&page);
    let notes = "Vi talte om sprog & trivsel <i>i år</i>.";

    // No such form; and a unit Bo does not see is not there for him: pages, in Danish.
    let (s, page) = api
        .form(
            &bo,
            "/units/dt-nord-1/approve",
            &[("csrf", &csrf), ("on", "2026-03-14")],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        page.contains("<html lang=\"da\">") && page.contains("Siden findes ikke"),
        "{page}"
    );
    let (s, page) = api
        .form(
            &bo,
            "/units/dt-syd/dialogue",
            &[("csrf", &csrf), ("on", "2026-03-14")],
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(page.contains("Tilbage til overblikket"), "{page}");
    // A form without the session's CSRF value: refused, nothing saved.
    let (s, page) = api
        .form(
            &bo,
            "/units/dt-nord-1/dialogue",
            &[
                ("csrf", "0".repeat(64).as_str()),
                ("on", "2026-03-14"),
                ("text", notes),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(page.contains("Formularen er forældet"), "{page}");
    // A date in the future: refused by the wheel, in Danish; the page comes back with
    // the date and the notes as typed (escaped), and nothing is saved.
    let (s, page) = api
        .form(
            &bo,
            "/units/dt-nord-1/dialogue",
            &[("csrf", &csrf), ("on", "2026-06-01"), ("text", notes)],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("01.06.2026 ligger i fremtiden"), "{page}");
    assert!(page.contains("value=\"2026-06-01\""), "{page}");
    assert!(
        page.contains("Vi talte om sprog &amp; trivsel &lt;i&gt;i år&lt;&#x2f;i&gt;."),
        "{page}"
    );
    // A date that is not one: the same, with what to write.
    let (s, page) = api
        .form(
            &bo,
            "/units/dt-nord-1/dialogue",
            &[("csrf", &csrf), ("on", "14-03-2026"), ("text", notes)],
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
    assert!(
        page.contains("ÅÅÅÅ-MM-DD") && page.contains("trivsel"),
        "{page}"
    );
    // A dialogue dated in a cycle never started: refused with the day likely meant.
    let (s, page) = api
        .form(
            &bo,
            "/units/dt-nord-1/dialogue",
            &[("csrf", &csrf), ("on", "2024-03-14"), ("text", notes)],
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("mente du 14.03.2026?"), "{page}");
    assert_eq!(events_of(&api, &sec, "dt-nord-1").await, 0);
    // The refusals are in the audit log with the person.
    let (_, audit) = api
        .call(
            Method::GET,
            "/api/v1/audit?entity=unit&entity_id=dt-nord-1",
            Some(&sec),
            None,
        )
        .await;
    let refused = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["actor"] == "api:bo.nielsen@skovby.dk" && a["action"] == "refused")
        .count();
    assert!(refused >= 4, "{audit}");

    // Saved: back to the unit page, which names the cycle and now offers the agreement.
    let (s, to) = api
        .form(
            &bo,
            "/units/dt-nord-1/dialogue",
            &[("csrf", &csrf), ("on", "2026-03-14"), ("text", notes)],
        )
        .await;
    assert_eq!(
        (s, to.as_str()),
        (
            StatusCode::SEE_OTHER,
            "/units/dt-nord-1?done=dialogue&cycle=2025"
        ),
    );
    assert_eq!(events_of(&api, &sec, "dt-nord-1").await, 1);
    let (_, page) = api.page(&bo, &to).await;
    assert!(
        page.contains("Kvalitetssamtalen er registreret i cyklus 2025."),
        "{page}"
    );
    assert!(page.contains("id=\"agreement-link\""), "{page}");
    // A confirmation that is not one of ours is not shown.
    let (_, page) = api
        .page(&bo, "/units/dt-nord-1?done=%3Cb%3Ehacked&msg=x")
        .await;
    assert!(
        !page.contains("<b>hacked") && !page.contains("role=\"status\""),
        "{page}"
    );

    // The editor: one empty goal to start; a goal added keeps what was typed.
    let (s, page) = api.page(&bo, "/units/dt-nord-1/agreement").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("id=\"goal-1\"") && !page.contains("id=\"goal-2\""),
        "{page}"
    );
    let (s, page) = api
        .form(
            &bo,
            "/units/dt-nord-1/agreement",
            &[
                ("csrf", &csrf),
                ("op", "add"),
                ("g0.title", "Sprog for alle"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("id=\"goal-2\"") && page.contains("value=\"Sprog for alle\""),
        "{page}"
    );
    // Submitted half done: every problem at once, beside its field, in Danish.
    let (s, page) = api
        .form(
            &bo,
            "/units/dt-nord-1/agreement",
            &[
                ("csrf", &csrf),
                ("op", "submit"),
                ("g0.title", "Sprog for alle"),
                ("g0.weight", "abc"),
                ("g0.target_date", "2027-06-30"),
                ("g1.title", "Sprog for alle"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    for words in [
        "»abc« er ikke en vægt",
        "mangler: kvalitet, økonomi eller medarbejdertrivsel",
        "er den samme som mål 1s",
        "mangler: datoen målet skal være nået",
    ] {
        assert!(page.contains(words), "{words} in {page}");
    }
    assert!(page.contains("value=\"abc\""), "{page}");
    // The draft is kept on the server: the editor opened again shows it.
    let (_, page) = api.page(&bo, "/units/dt-nord-1/agreement").await;
    assert!(
        page.contains("value=\"abc\"") && page.contains("id=\"goal-2\""),
        "{page}"
    );
    // All goals right: submitted, back to the unit page naming the revision and cycle.
    let fields = goal_fields(&csrf, "submit");
    let (s, to) = api
        .form(&bo, "/units/dt-nord-1/agreement", &pairs(&fields))
        .await;
    assert_eq!(
        (s, to.as_str()),
        (
            StatusCode::SEE_OTHER,
            "/units/dt-nord-1?done=agreement&cycle=2025&revision=1"
        ),
    );
    assert_eq!(events_of(&api, &sec, "dt-nord-1").await, 2);

    // Anna, the manager above, signs on the page; Bo cannot.
    let (_, page) = api.page(&anna, "/").await;
    assert!(
        page.contains("Venter på din underskrift") && page.contains("id=\"to-sign-list\""),
        "{page}"
    );
    let (_, page) = api.page(&anna, unit).await;
    assert!(page.contains("id=\"sign-form\""), "{page}");
    let anna_csrf = csrf_in(&page);
    let (s, _) = api
        .form(
            &bo,
            "/units/dt-nord-1/sign",
            &[("csrf", &csrf), ("on", "2026-04-20")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Bo's form value is no good in Anna's session either.
    let (s, _) = api
        .form(
            &anna,
            "/units/dt-nord-1/sign",
            &[("csrf", &csrf), ("on", "2026-04-20")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = api
        .form(
            &anna,
            "/units/dt-nord-1/sign",
            &[("csrf", &anna_csrf), ("on", "2026-04-20")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(events_of(&api, &sec, "dt-nord-1").await, 3);

    // In force: the midway window is a year away, so no midway form is offered.
    let (_, page) = api.page(&bo, unit).await;
    assert!(!page.contains("id=\"midway-link\""), "{page}");
    let (s, _) = api.page(&bo, "/units/dt-nord-1/midway").await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Signed out, the session is over.
    let (_, page) = api.page(&bo, unit).await;
    let (s, _) = api.form(&bo, "/logout", &[("csrf", &csrf_in(&page))]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, to) = api.page(&bo, unit).await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/login?next=/units/dt-nord-1")
    );

    // The API does not take the dashboard's cookie: a page on another site cannot use
    // a signed-in browser to call it.
    let req = Request::post("/api/v1/organisation")
        .header("cookie", &anna)
        .header("content-type", "text/plain")
        .body(Body::from(ORGANISATION))
        .unwrap();
    let (s, p) = api.send(req).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        p["detail"].as_str().unwrap().contains("bearer token"),
        "{p}"
    );
}

/// An app whose clock the test moves.
async fn api_at(db: &TestDb, clock: Arc<std::sync::atomic::AtomicI64>) -> Api {
    let store = skovby_with_themes(db, "2026-05-15").await;
    let now = move || {
        DateTime::from_timestamp(clock.load(std::sync::atomic::Ordering::SeqCst), 0).unwrap()
    };
    Api {
        app: hjul_tests::service(db, CurrentWheel::builtin(), now)
            .await
            .router(),
        store,
    }
}

async fn drafts_outlive_a_session_and_spreadsheets_keep_the_filter(db: TestDb) {
    let clock = Arc::new(std::sync::atomic::AtomicI64::new(now().timestamp()));
    let api = api_at(&db, Arc::clone(&clock)).await;
    let sec_token = api.token(Role::Secretariat, "sekretariat@skovby.dk").await;
    let bo_token = api.token(Role::Leader, "bo.nielsen@skovby.dk").await;
    api.store
        .record_dialogue(
            &unit_of("dt-nord-1"),
            chrono::NaiveDate::from_ymd_opt(2026, 3, 14).unwrap(),
            None,
            &stamp("2026-05-15"),
        )
        .await
        .unwrap();
    let bo = api.sign_in(&bo_token).await;
    let (_, page) = api.page(&bo, "/units/dt-nord-1/agreement").await;
    let csrf = csrf_in(&page);

    // A goal added and removed again, without JavaScript.
    let (_, page) = api
        .form(
            &bo,
            "/units/dt-nord-1/agreement",
            &[("csrf", &csrf), ("op", "add"), ("g0.title", "A")],
        )
        .await;
    assert!(page.contains("id=\"goal-2\""), "{page}");
    let (_, page) = api
        .form(
            &bo,
            "/units/dt-nord-1/agreement",
            &[
                ("csrf", &csrf),
                ("op", "remove:1"),
                ("g0.title", "A"),
                ("g1.title", "B"),
            ],
        )
        .await;
    assert!(
        page.contains("value=\"A\"") && !page.contains("id=\"goal-2\""),
        "{page}"
    );

    // Every goal on one dimension: the warning comes before the submit, which then asks
    // to be confirmed; confirmed, it is submitted.
    let fields: Vec<(String, String)> = goal_fields(&csrf, "submit")
        .into_iter()
        .map(|(k, v)| {
            if k.ends_with(".dimension") {
                (k, "quality".to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    let (s, page) = api
        .form(&bo, "/units/dt-nord-1/agreement", &pairs(&fields))
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("alle mål handler om Kvalitet") && page.contains("id=\"submit-anyway\""),
        "{page}"
    );
    let confirmed: Vec<(String, String)> = fields
        .into_iter()
        .map(|(k, v)| {
            if k == "op" {
                (k, "submit_confirmed".to_owned())
            } else {
                (k, v)
            }
        })
        .collect();
    let (s, to) = api
        .form(&bo, "/units/dt-nord-1/agreement", &pairs(&confirmed))
        .await;
    assert_eq!(
        (s, to.as_str()),
        (
            StatusCode::SEE_OTHER,
            "/units/dt-nord-1?done=agreement&cycle=2025&revision=1"
        )
    );

    // With JavaScript the editor saves itself every few seconds: a closed tab loses
    // nothing.
    let (_, page) = api.page(&bo, "/units/dt-nord-1/agreement").await;
    let csrf = csrf_in(&page);
    let (s, _) = api
        .form(
            &bo,
            "/units/dt-nord-1/agreement",
            &[
                ("csrf", &csrf),
                ("op", "autosave"),
                ("g0.title", "Gemt af sig selv"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, page) = api.page(&bo, "/units/dt-nord-1/agreement").await;
    assert!(page.contains("value=\"Gemt af sig selv\""), "{page}");
    // An agreement file uploaded fills the editor, with the problems of reading it.
    let boundary = "hjul-boundary-7f3a";
    let file = AGREEMENT.replace("target_date = 2026-12-31", "target_date = \"31-12-2026\"");
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"aftale.toml\"\r\n\
         Content-Type: text/plain\r\n\r\n{file}\r\n--{boundary}--\r\n"
    );
    let req = Request::post("/units/dt-nord-1/agreement/upload")
        .header("cookie", &bo)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from(body))
        .unwrap();
    let (s, page) = api.html(req).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(page.contains("Filen er læst ind i editoren"), "{page}");
    assert!(
        page.contains("value=\"Flere børn i positiv sproglig udvikling\""),
        "{page}"
    );
    // What was read is the draft now, kept as it was (the wrong date too, to be fixed).
    let (_, page) = api.page(&bo, "/units/dt-nord-1/agreement").await;
    assert!(page.contains("value=\"31-12-2026\""), "{page}");

    // Typing a new revision while the session runs out (two hours without a request):
    // the draft is kept, the visitor signs in again and finds it.
    let (_, page) = api.page(&bo, "/units/dt-nord-1/agreement").await;
    let csrf = csrf_in(&page);
    clock.fetch_add(3 * 3600, std::sync::atomic::Ordering::SeqCst);
    let (s, to) = api
        .form(
            &bo,
            "/units/dt-nord-1/agreement",
            &[
                ("csrf", &csrf),
                ("op", "save"),
                ("g0.title", "Skrevet lige før udløb"),
            ],
        )
        .await;
    assert_eq!(
        (s, to.as_str()),
        (
            StatusCode::SEE_OTHER,
            "/login?next=/units/dt-nord-1/agreement"
        )
    );
    let bo = api.sign_in(&bo_token).await;
    let (_, page) = api.page(&bo, "/units/dt-nord-1/agreement").await;
    assert!(page.contains("value=\"Skrevet lige før udløb\""), "{page}");
    // Without the session's CSRF value nothing is kept, lapsed or not.
    clock.fetch_add(3 * 3600, std::sync::atomic::Ordering::SeqCst);
    let (s, _) = api
        .form(
            &bo,
            "/units/dt-nord-1/agreement",
            &[("csrf", "x"), ("op", "save"), ("g0.title", "Fremmed")],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let bo = api.sign_in(&bo_token).await;
    let (_, page) = api.page(&bo, "/units/dt-nord-1/agreement").await;
    assert!(!page.contains("Fremmed"), "{page}");

    // The spreadsheets, with the overview's filter.
    let sec = api.sign_in(&sec_token).await;
    let res = api
        .app
        .clone()
        .oneshot(
            Request::get("/export/status.xlsx?area=daycare")
                .header("cookie", &sec)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("status-"),
    );
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 24)
        .await
        .unwrap();
    assert!(bytes.starts_with(b"PK"));
    let (s, csv) = api.page(&sec, "/export/status.csv?area=school").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(csv.starts_with("\u{feff}Enhed;Id;Niveau"), "{csv}");
    let (_, csv) = api
        .page(&sec, "/units/dt-nord-1/export/deadlines.csv")
        .await;
    assert!(
        csv.starts_with("\u{feff}Frist;Senest;Status;Dato;Dage over;Ansvarlig"),
        "{csv}"
    );
    assert!(
        csv.contains("Kvalitetssamtale;30.06.2026") || csv.contains("Kvalitetssamtale;2026-06-30"),
        "{csv}"
    );

    // The API corrects too (the secretariat's): the dialogue's date, by its id.
    let (_, t) = api
        .call(
            Method::GET,
            "/api/v1/units/dt-nord-1",
            Some(&sec_token),
            None,
        )
        .await;
    let id = t["events"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/units/dt-nord-1/events/{id}/correct");
    // A move to text that is no unit's id names no unit: refused, nothing changed (the
    // redate below corrects the same event).
    let (s, c) = api
        .call(
            Method::POST,
            &path,
            Some(&sec_token),
            Some(serde_json::json!({ "correction": "move", "unit_id": "../x", "reason": "Forkert hus" })),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{c}");
    assert!(
        c["detail"].as_str().unwrap_or_default().contains("../x"),
        "{c}"
    );
    // The dashboard's form offers the units to choose from: one not chosen, or (a post
    // made by hand) text that is no unit's id, is told in Danish; nothing changes either.
    let form = format!("/units/dt-nord-1/events/{id}/correct");
    let (s, page) = api.page(&sec, &form).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let csrf = csrf_in(&page);
    for (to_unit, says) in [
        ("sk vest", "»sk vest« indeholder » «"),
        ("", "Vælg den enhed, det hører til."),
    ] {
        let (s, page) = api
            .form(
                &sec,
                &form,
                &[
                    ("csrf", &csrf),
                    ("action", "move"),
                    ("to_unit", to_unit),
                    ("reason", "Forkert hus"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{page}");
        assert!(page.contains(says), "{page}");
    }
    let (s, c) = api
        .call(
            Method::POST,
            &path,
            Some(&sec_token),
            Some(serde_json::json!({ "correction": "redate", "on": "2026-03-13", "reason": "Forkert dag" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!(c["cycle"], 2025);
    let (s, _) = api
        .call(
            Method::POST,
            &path,
            Some(&sec_token),
            Some(serde_json::json!({ "correction": "withdraw", "reason": "igen" })),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api
        .call(
            Method::POST,
            &path,
            Some(&bo_token),
            Some(serde_json::json!({ "correction": "withdraw", "reason": "x" })),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Guessing tokens is slowed down: after five misses, a wait; the right token still
    // signs in.
    let mut last = StatusCode::OK;
    for _ in 0..6 {
        let res = api.post_sign_in("hjul_guess").await;
        last = res.status();
        if last == StatusCode::TOO_MANY_REQUESTS {
            assert!(res.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(
        api.post_sign_in(&bo_token).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

async fn a_unit_sees_its_numbers_and_nothing_that_rests_on_too_few(db: TestDb) {
    let api = api(&db).await;
    let data = include_str!("../../examples/data.csv");
    let csv = |token: &str, body: String, content_type: &str| {
        Request::builder()
            .method(Method::POST)
            .uri("/api/v1/data")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let sec = api.token(Role::Secretariat, "sekretariat@skovby.dk").await;
    let bo = api.token(Role::Leader, "bo.nielsen@skovby.dk").await;
    let anna = api.token(Role::Manager, "anna.bech@skovby.dk").await;
    // Only the secretariat imports, and only CSV.
    let (s, _) = api.send(csv(&bo, data.to_owned(), "text/csv")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = api
        .send(csv(&sec, data.to_owned(), "application/json"))
        .await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A file with a unit that is not one: refused with its line and field, nothing kept.
    let (s, v) = api
        .send(csv(
            &sec,
            format!("{data}sk-nowhere;absence;2024/25;5,0;100;x\n"),
            "text/csv",
        ))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["errors"][0]["line"], 86, "{v}");
    assert_eq!(v["errors"][0]["field"], "unit_id", "{v}");
    assert!(api.store.measurements(None).await.unwrap().is_empty());
    // The file itself, then again: the second time every value replaces its twin.
    let (s, v) = api.send(csv(&sec, data.to_owned(), "text/csv")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, serde_json::json!({"rows": 84, "new": 84, "replaced": 0}));
    let (s, v) = api.send(csv(&sec, data.to_owned(), "text/csv")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["replaced"], 84);
    // The patterns before cycle 2025: the secretariat's cover every area; Anna's only the
    // houses below her (daycare), with counts no larger than hers.
    let (s, all) = api
        .call(
            Method::GET,
            "/api/v1/cycles/2025/patterns",
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{all}");
    let areas = |v: &serde_json::Value| {
        let mut a: Vec<String> = v["patterns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["area"].as_str().unwrap().to_owned())
            .collect();
        a.dedup();
        a
    };
    assert!(areas(&all).contains(&"school".to_owned()), "{all}");
    let (s, hers) = api
        .call(
            Method::GET,
            "/api/v1/cycles/2025/patterns",
            Some(&anna),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{hers}");
    assert_eq!(areas(&hers), ["daycare"], "{hers}");
    let units_below = api
        .store
        .unit_areas()
        .await
        .unwrap()
        .keys()
        .filter(|u| u.starts_with("dt-nord-"))
        .count();
    for p in hers["patterns"].as_array().unwrap() {
        let counted = ["better", "worse", "unchanged", "insufficient"]
            .iter()
            .map(|k| p[k].as_u64().unwrap())
            .sum::<u64>();
        assert!(counted as usize <= units_below, "{p}");
        // No unit is named: counts, never a ranking.
        assert!(!p.to_string().contains("dt-nord-"), "{p}");
    }
    assert_eq!(all["data_before"], "2025-10-01", "{all}");
    let (s, v) = api
        .call(
            Method::GET,
            "/api/v1/cycles/1900/patterns",
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    // Bo sees his house's numbers beside the area's and the department's averages.
    let (s, v) = api
        .call(Method::GET, "/api/v1/units/dt-nord-1/data", Some(&bo), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let absence = v["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["measure"] == "absence")
        .unwrap();
    assert!(
        absence["latest"].is_number() && absence["area_average"].is_number(),
        "{absence}"
    );
    assert_eq!(absence["series"].as_array().unwrap().len(), 3);
    // Not another unit's.
    let (s, _) = api
        .call(Method::GET, "/api/v1/units/sk-by/data", Some(&bo), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Byskolen's 2024/25 wellbeing rests on 4 respondents: null, without its count.
    let (s, v) = api
        .call(Method::GET, "/api/v1/units/sk-by/data", Some(&sec), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let wellbeing = v["measures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["measure"] == "academic_wellbeing")
        .unwrap();
    let last = wellbeing["series"].as_array().unwrap().last().unwrap();
    assert!(last["value"].is_null() && last.get("n").is_none(), "{last}");
    assert_eq!(wellbeing["verdict"], "insufficient");
    // A unit that is not one: 404 with a problem report.
    let (s, v) = api
        .call(Method::GET, "/api/v1/units/nowhere/data", Some(&sec), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
}

/// The report as each reader gets it: the secretariat's covers the department, Anna's
/// her area and its houses, Bo's his house; the final report is 404 until the
/// secretariat records report_final, and then the kept PDF with its hash as ETag.
async fn the_report_is_a_download_over_what_the_caller_sees(db: TestDb) {
    let clock = Arc::new(std::sync::atomic::AtomicI64::new(now().timestamp()));
    let api = api_at(&db, Arc::clone(&clock)).await;
    let sec = api.token(Role::Secretariat, "sekretariat@skovby.dk").await;
    let anna = api.token(Role::Manager, "anna.bech@skovby.dk").await;
    let bo = api.token(Role::Leader, "bo.nielsen@skovby.dk").await;
    let md = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    let (s, kind, _, body) = api
        .download("/api/v1/cycles/2025/report?format=md", &sec)
        .await;
    assert_eq!(
        (s, kind.as_str()),
        (StatusCode::OK, "text/markdown; charset=utf-8")
    );
    let all = md(body);
    assert!(
        all.contains("**Hele Børn & Unge**") && all.contains("(sk-by)"),
        "{all}"
    );
    let (_, _, _, body) = api
        .download("/api/v1/cycles/2025/report?format=md&lang=en", &anna)
        .await;
    let hers = md(body);
    assert!(
        hers.contains("# Quality report 2025–2027") && hers.contains("**Dagtilbud Nord**"),
        "{hers}"
    );
    assert!(
        hers.contains("(dt-nord-3)") && !hers.contains("(sk-by)") && !hers.contains("(dt-syd)"),
        "{hers}"
    );
    let (_, _, _, body) = api
        .download("/api/v1/cycles/2025/report?format=md", &bo)
        .await;
    let his = md(body);
    assert!(
        his.contains("**Børnehuset Mariehønen**") && !his.contains("(dt-nord-2)"),
        "{his}"
    );
    // The HTML report from the API is a file, never a page of the API's address, and
    // carries its own policy: its inline style, no script, nothing from elsewhere.
    let res = api
        .app
        .clone()
        .oneshot(
            Request::get("/api/v1/cycles/2025/report?format=html")
                .header("authorization", format!("Bearer {sec}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let header = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"kvalitetsrapport-2025-udkast.html\""
    );
    // Shown under its own policy: its own style by hash, nothing inline besides, no
    // script; the saved file carries the same in its frame.
    let csp = header("content-security-policy");
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-")
            && !csp.contains("unsafe")
            && !csp.contains("script"),
        "{csp}"
    );
    let style_src = csp
        .split(';')
        .map(str::trim)
        .find(|p| p.starts_with("style-src"))
        .unwrap()
        .to_owned();
    let html = axum::body::to_bytes(res.into_body(), 16 << 20)
        .await
        .unwrap();
    let html = String::from_utf8_lossy(&html);
    assert!(html.contains(&style_src), "not in the frame: {style_src}");
    let (s, kind, _, body) = api.download("/api/v1/cycles/2025/report", &bo).await;
    assert_eq!((s, kind.as_str()), (StatusCode::OK, "application/pdf"));
    assert!(body.starts_with(b"%PDF-"));
    let (s, v) = api
        .call(
            Method::GET,
            "/api/v1/cycles/2025/report?format=docx",
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("format")),
        "{v}"
    );
    // No final report before report_final; then the one kept with it.
    let (s, v) = api
        .call(
            Method::GET,
            "/api/v1/cycles/2025/report/final",
            Some(&anna),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    clock.store(
        (eight("2026-09-24") + chrono::Duration::hours(2)).timestamp(),
        std::sync::atomic::Ordering::SeqCst,
    );
    let (s, v) = api
        .call(
            Method::POST,
            "/api/v1/cycles/2025/milestones",
            Some(&sec),
            Some(serde_json::json!({"milestone": "report_final", "on": "2026-09-24"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, kind, etag, body) = api
        .download("/api/v1/cycles/2025/report/final", &anna)
        .await;
    assert_eq!((s, kind.as_str()), (StatusCode::OK, "application/pdf"));
    assert_eq!(etag, format!("\"{}\"", hjul_store::sha256(&body)));
    // The answer to the milestone names the report kept with it.
    assert_eq!(v["final_report_sha256"], hjul_store::sha256(&body), "{v}");
    let kept = api.store.final_report(2025).await.unwrap().unwrap();
    assert!(
        kept.markdown.contains("Endelig rapport, 24.09.2026."),
        "{}",
        kept.markdown
    );
    // It is made once: asked to make it again, the API says it is kept.
    let (s, v) = api
        .call(
            Method::POST,
            "/api/v1/cycles/2025/report/final",
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    // Fair use: Anna asks for 12 PDFs at once; one is made, the rest are asked to
    // come back when it is done; Bo's report, asked for meanwhile, is made.
    let ask = |token: String, path: &'static str| {
        let app = api.app.clone();
        tokio::spawn(async move {
            let req = Request::get(path)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let res = app.oneshot(req).await.unwrap();
            let retry = res.headers().get("retry-after").cloned();
            (res.status(), retry)
        })
    };
    let hers: Vec<_> = (0..12)
        .map(|_| ask(anna.clone(), "/api/v1/cycles/2025/report?format=pdf"))
        .collect();
    let his = ask(bo.clone(), "/api/v1/cycles/2025/report?format=md");
    let mut made = 0;
    let mut later = 0;
    for h in hers {
        match h.await.unwrap() {
            (StatusCode::OK, _) => made += 1,
            (StatusCode::TOO_MANY_REQUESTS, Some(retry)) => {
                assert!(retry.to_str().unwrap().parse::<u32>().unwrap() > 0);
                later += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    // While one of hers is on its way, the others are turned away (one may be done
    // before the last is asked).
    assert!(
        made >= 1 && later >= 6 && made + later == 12,
        "{made} + {later}"
    );
    assert_eq!(his.await.unwrap().0, StatusCode::OK);
}

/// When `report_final` went on record without its report (its layout failed), the
/// secretariat's cycles page says so and offers to make it; the form makes and keeps
/// it, once: asked again, the page says it is never replaced. A manager may not.
async fn a_final_report_not_made_is_made_from_the_cycles_page(db: TestDb) {
    let clock = Arc::new(std::sync::atomic::AtomicI64::new(
        (eight("2026-10-01") + chrono::Duration::hours(2)).timestamp(),
    ));
    let api = api_at(&db, Arc::clone(&clock)).await;
    // As the core records it when the layout fails: the milestone, no report.
    api.store
        .record_milestone(
            2025,
            hjul_wheel::Deadline::ReportFinal,
            hjul_tests::date("2026-09-24"),
            None,
            &stamp("2026-10-01"),
        )
        .await
        .unwrap();
    let sec = api
        .sign_in(&api.token(Role::Secretariat, "sekretariat@skovby.dk").await)
        .await;
    let (s, page) = api.page(&sec, "/admin/cycles").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("id=\"final-report-2025\"")
            && page.contains("den endelige rapport blev ikke lavet"),
        "{page}"
    );
    let csrf = csrf_in(&page);
    // A manager may not make it.
    let anna = api
        .sign_in(&api.token(Role::Manager, "anna.bech@skovby.dk").await)
        .await;
    let (_, anna_page) = api.page(&anna, "/").await;
    let (s, _) = api
        .form(
            &anna,
            "/admin/cycles/2025/final-report",
            &[("csrf", &csrf_in(&anna_page))],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(api.store.final_report(2025).await.unwrap().is_none());
    // The secretariat makes it: dated by the milestone.
    let (s, _) = api
        .form(&sec, "/admin/cycles/2025/final-report", &[("csrf", &csrf)])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let kept = api.store.final_report(2025).await.unwrap().unwrap();
    assert_eq!(kept.made_on, hjul_tests::date("2026-09-24"));
    let (_, page) = api
        .page(&sec, "/admin/cycles?done=final_report&cycle=2025")
        .await;
    assert!(
        page.contains("Den endelige rapport for cyklus 2025 er lavet og gemt")
            && page.contains("href=\"/reports/2025/kvalitetsrapport.pdf\"")
            && !page.contains("id=\"final-report-2025\""),
        "{page}"
    );
    // Asked again (an old tab): refused, the kept report unchanged.
    let (s, page) = api
        .form(&sec, "/admin/cycles/2025/final-report", &[("csrf", &csrf)])
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("udskiftes aldrig"), "{page}");
    assert_eq!(
        api.store.final_report(2025).await.unwrap().unwrap().sha256,
        kept.sha256
    );
}

/// Follows `Link: <…>; rel="next"` from `first` until there is none, as a client of the
/// API would: the number of answers and every row, in order. Each page holds at most
/// 100 rows, and each link keeps `keep` (the selection goes with the page).
async fn every_page<F, A>(get: F, first: &str, keep: &str) -> (usize, Vec<serde_json::Value>)
where
    F: Fn(String) -> A,
    A: Future<Output = (StatusCode, Option<String>, serde_json::Value)>,
{
    let mut next = Some(first.to_owned());
    let (mut answers, mut all) = (0, Vec::new());
    while let Some(path) = next.take() {
        let (status, link, rows) = get(path.clone()).await;
        assert_eq!(status, StatusCode::OK, "{path}: {rows}");
        let rows = rows.as_array().unwrap();
        assert!(rows.len() <= 100);
        all.extend(rows.iter().cloned());
        answers += 1;
        next = link.map(|l| {
            assert!(l.ends_with("; rel=\"next\""), "{l}");
            assert!(l.contains(keep), "the selection goes with the page: {l}");
            l.trim_start_matches('<')
                .split('>')
                .next()
                .unwrap()
                .to_owned()
        });
    }
    (answers, all)
}

/// The overview of a department of 250 units shows its long tables a page at a time: the
/// "next" link a person follows keeps the selection, the last page holds the rest, a
/// page past the end shows the last one, and the overdue table says how many more there
/// are and where to see them.
async fn long_tables_are_shown_a_page_at_a_time(db: TestDb) {
    let store = db.store().await;
    let org = hjul_wheel::Organisation::from_csv(&hjul_tests::organisation(250), |_| {}).unwrap();
    store
        .import_organisation(&org, &stamp("2026-07-15"), |_, _| {})
        .await
        .unwrap();
    // 15 July: every level 3–4 unit's dialogue (due 30 June) is overdue.
    let at = eight("2026-07-15");
    let api = Api {
        app: hjul_tests::service(&db, CurrentWheel::builtin(), move || at)
            .await
            .router(),
        store,
    };
    let token = api.token(Role::Secretariat, "sekretariat@skovby.dk").await;
    let session = api.sign_in(&token).await;
    let units_in = |page: &str| -> Vec<String> {
        let table = page
            .split("<table id=\"units\">")
            .nth(1)
            .unwrap()
            .split("</table>")
            .next()
            .unwrap();
        table
            .split("<a href=\"/units/")
            .skip(1)
            .map(|x| x.split('"').next().unwrap().to_owned())
            .collect()
    };
    let next_of = |page: &str| -> Option<String> {
        let at = page.find("id=\"page-next\"")?;
        let href = page[at..].split("href=\"").nth(1)?.split('"').next()?;
        Some(href.replace("&amp;", "&"))
    };

    let (status, first) = api.page(&session, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(first.contains("Alle enheder (250)"), "{first}");
    assert!(
        first.contains("Viser 1–100 af 250 · side 1 af 3"),
        "{first}"
    );
    assert!(!first.contains("id=\"page-prev\""));
    let one = units_in(&first);
    assert_eq!(one.len(), 100);
    // The overdue table: the first 100 of 246, and where the rest are.
    assert!(first.contains("Overskredne frister (246)"), "{first}");
    assert!(first.contains("… og 146 flere."), "{first}");

    // Following "next" as a person would, to the end.
    let mut seen = one.clone();
    let mut page = first;
    let mut pages = 1;
    while let Some(next) = next_of(&page) {
        let (status, p) = api.page(&session, &next).await;
        assert_eq!(status, StatusCode::OK, "{next}");
        seen.extend(units_in(&p));
        page = p;
        pages += 1;
    }
    assert_eq!(pages, 3);
    assert!(
        page.contains("Viser 201–250 af 250 · side 3 af 3"),
        "{page}"
    );
    assert!(page.contains("id=\"page-prev\""));
    let unique: std::collections::BTreeSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), unique.len()), (250, 250), "every unit once");

    // A page past the end shows the last; one that is not a number, the first.
    let (_, past) = api.page(&session, "/?page=99").await;
    assert!(past.contains("side 3 af 3"), "{past}");
    let (_, junk) = api.page(&session, "/?page=abc").await;
    assert!(junk.contains("side 1 af 3"), "{junk}");

    // The selection stays with the pages: level 4 only, 222 houses.
    let (_, houses) = api.page(&session, "/?level=4").await;
    assert!(houses.contains("Alle enheder (222)"), "{houses}");
    let next = next_of(&houses).unwrap();
    assert!(
        next.contains("level=4") && next.contains("page=2"),
        "{next}"
    );
    let (_, second) = api.page(&session, &next).await;
    assert!(second.contains("Viser 101–200 af 222"), "{second}");
    assert!(
        units_in(&second).iter().all(|u| u.starts_with('h')),
        "only houses"
    );

    // The API pages the same way: follow `Link: <…>; rel="next"` until there is none.
    let get = |path: String| {
        let req = Request::get(path)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        let app = api.app.clone();
        async move {
            let res = app.oneshot(req).await.unwrap();
            let link = res
                .headers()
                .get("link")
                .map(|v| v.to_str().unwrap().to_owned());
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), 16 << 20)
                .await
                .unwrap();
            let rows: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            (status, link, rows)
        }
    };
    let (answers, rows) = every_page(&get, "/api/v1/status?level=4&limit=100", "level=4").await;
    let ids: Vec<String> = rows
        .iter()
        .map(|r| r["unit_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(answers, 3);
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (222, 222), "every house once");
    // Without a limit one answer holds them all (up to 1,000), with no next page.
    let (_, link, rows) = get("/api/v1/status".to_owned()).await;
    assert_eq!((rows.as_array().unwrap().len(), link), (250, None));
    // A cursor the API did not give is refused with the field named.
    let (status, _, problem) = get("/api/v1/status?cursor=nonsense".to_owned()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    assert_eq!(problem["field"], "cursor", "{problem}");
    for limit in ["0", "1001"] {
        let (status, _, problem) = get(format!("/api/v1/status?limit={limit}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["field"], "limit", "{problem}");
    }

    // The list of units pages alike, by level and id.
    let (answers, rows) = every_page(&get, "/api/v1/units?limit=100", "limit=100").await;
    let units: Vec<(i64, String)> = rows
        .iter()
        .map(|r| {
            (
                r["level"].as_i64().unwrap(),
                r["unit_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!((answers, units.len()), (3, 250));
    assert!(units.is_sorted(), "by level and id, across pages");
    let (_, link, rows) = get("/api/v1/units".to_owned()).await;
    assert_eq!((rows.as_array().unwrap().len(), link), (250, None));
    for (query, field) in [("cursor=5:x", "cursor"), ("limit=0", "limit")] {
        let (status, _, problem) = get(format!("/api/v1/units?{query}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
        assert_eq!(problem["field"], field, "{problem}");
    }
}

/// Who records a department milestone is the wheel's to say (`responsible` in
/// `wheel.toml`), asked by the core for every front end: with the data collection given
/// to the director, the director records it and a chief is refused (403, in their
/// language); the focus themes stay the secretariat's. Each refusal is on record in the
/// audit log once, whichever part of the service refused it.
async fn the_wheel_names_who_records_a_milestone_and_a_refusal_is_on_record_once(db: TestDb) {
    let builtin = hjul_wheel::definition::BUILTIN_WHEEL_TOML;
    let text = builtin.replacen(
        "key = \"data_collected\"\nphase = \"data_collection\"\nresponsible = \"secretariat\"",
        "key = \"data_collected\"\nphase = \"data_collection\"\nresponsible = \"director\"",
        1,
    );
    assert_ne!(text, builtin, "the built-in wheel names the secretariat");
    let wheel = CurrentWheel {
        definition: hjul_wheel::WheelDefinition::from_toml(&text, "the test's wheel.toml").unwrap(),
        definition_toml: text,
        ..CurrentWheel::builtin()
    };
    let store = db.store_with(wheel.clone()).await;
    let org = hjul_wheel::Organisation::from_csv(ORGANISATION, |_| {}).unwrap();
    store
        .import_organisation(&org, &stamp("2026-05-15"), |_, _| {})
        .await
        .unwrap();
    let api = Api {
        app: hjul_tests::service(&db, wheel, now).await.router(),
        store,
    };
    let director = api.token(Role::Manager, "dorte.holm@skovby.dk").await;
    let chief = api.token(Role::Manager, "carsten.vang@skovby.dk").await;
    let path = "/api/v1/cycles/2025/milestones";
    let collected = serde_json::json!({ "milestone": "data_collected", "on": "2025-12-18" });

    let (status, body) = api
        .call(Method::POST, path, Some(&chief), Some(collected.clone()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("director"),
        "{body}"
    );
    let refused = |rows: Vec<hjul_store::AuditEntry>| {
        rows.into_iter().filter(|r| r.action == "refused").count()
    };
    let rows = api
        .store
        .audit_log(Some(("milestone", "2025/data_collected")), 100)
        .await
        .unwrap();
    assert_eq!(refused(rows), 1, "the chief's refusal, once");

    let (status, body) = api
        .call(Method::POST, path, Some(&director), Some(collected))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let themes = serde_json::json!({
        "milestone": "themes_published", "on": "2026-03-20", "themes": ["Sprog"]
    });
    let (status, body) = api
        .call(Method::POST, path, Some(&director), Some(themes))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let rows = api
        .store
        .audit_log(Some(("milestone", "2025/themes_published")), 100)
        .await
        .unwrap();
    assert_eq!(refused(rows), 1, "the director's refusal, once");
}

/// The secretariat started cycle 2023 to enter history. On his house's page (cycle 2025)
/// Bo types his dialogue's date with last year's year, 15 September 2025, which lies in
/// cycle 2023: hjul does not file it there silently. The form comes back with what he
/// typed, saying the date is in cycle 2023, and a button to record it there; pressed, it
/// is recorded in cycle 2023, and the page of cycle 2023 shows it with its "Ret" link.
async fn a_date_of_another_cycle_is_refused_on_a_pages_form_and_recorded_there_when_asked(
    db: TestDb,
) {
    let api = api(&db).await;
    api.store
        .start_cycle(2023, &stamp("2026-05-15"))
        .await
        .unwrap();
    let sec = api
        .sign_in(&api.token(Role::Secretariat, "sekretariat@skovby.dk").await)
        .await;
    let bo = api
        .sign_in(&api.token(Role::Leader, "bo.nielsen@skovby.dk").await)
        .await;
    let (_, page) = api.page(&bo, "/units/dt-nord-1").await;
    assert!(page.contains("name=\"cycle\" value=\"2025\""), "{page}");
    let csrf = csrf_in(&page);
    let before = events_of(
        &api,
        &api.token(Role::Secretariat, "sekretariat@skovby.dk").await,
        "dt-nord-1",
    )
    .await;
    let typed = [
        ("csrf", csrf.as_str()),
        ("cycle", "2025"),
        ("on", "2025-09-15"),
        ("text", "Sprog og trivsel."),
    ];
    let (s, page) = api.form(&bo, "/units/dt-nord-1/dialogue", &typed).await;
    assert!(s.is_client_error(), "{s}: {page}");
    assert!(
        page.contains("ligger i cyklus 2023, ikke i cyklus 2025"),
        "{page}"
    );
    assert!(
        page.contains("value=\"2025-09-15\""),
        "the date as typed: {page}"
    );
    assert!(
        page.contains("Sprog og trivsel."),
        "the notes as typed: {page}"
    );
    assert!(
        page.contains("id=\"dialogue-other-cycle\"")
            && page.contains("Registrér i cyklus 2023 i stedet"),
        "{page}"
    );
    let sec_token = api.token(Role::Secretariat, "sekretariat@skovby.dk").await;
    assert_eq!(events_of(&api, &sec_token, "dt-nord-1").await, before);
    // The button sends the form again with the cycle it names (the last one sent).
    let mut pressed = typed.to_vec();
    pressed.push(("cycle", "2023"));
    let (s, to) = api.form(&bo, "/units/dt-nord-1/dialogue", &pressed).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    assert!(to.ends_with("?done=dialogue&cycle=2023"), "{to}");
    let (s, page) = api.page(&sec, &to).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("Kvalitetssamtalen er registreret i cyklus 2023"),
        "{page}"
    );
    assert!(page.contains("Du ser cyklus 2023"), "{page}");
    assert!(page.contains("15.09.2025"), "{page}");
    assert!(page.contains("/correct\""), "the Ret link: {page}");
    // The running cycle's page links the other one.
    let (_, page) = api.page(&sec, "/units/dt-nord-1").await;
    assert!(
        page.contains("href=\"/units/dt-nord-1?cycle=2023\""),
        "{page}"
    );
    assert!(!page.contains("Du ser cyklus"), "{page}");
}

/// Deputies over the API: Anna, the area's manager, names one for Bo's house and ends
/// them; with a leader's token (her own unit's reach) she may not name one below it,
/// nor may Bo name one for his neighbour's house. A deputy whose period has passed does
/// not block naming the next "from now".
async fn deputies_are_named_by_whom_the_unit_answers_to_and_a_past_one_blocks_nothing(db: TestDb) {
    let api = api(&db).await;
    let anna = api.token(Role::Manager, "anna.bech@skovby.dk").await;
    let anna_as_leader = api.token(Role::Leader, "anna.bech@skovby.dk").await;
    let bo = api.token(Role::Leader, "bo.nielsen@skovby.dk").await;
    let body = serde_json::json!({
        "email": "camilla@skovby.dk", "name": "Camilla Lund", "ends_on": "2026-05-29"
    });
    let path = "/api/v1/units/dt-nord-1/deputies";
    let (s, _) = api
        .call(
            Method::POST,
            path,
            Some(&anna_as_leader),
            Some(body.clone()),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = api
        .call(
            Method::POST,
            "/api/v1/units/dt-nord-2/deputies",
            Some(&bo),
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "Bo does not see his neighbour's house"
    );
    let (s, d) = api
        .call(Method::POST, path, Some(&anna), Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{d}");
    assert_eq!(d["starts_on"], "2026-05-15", "from now is from today: {d}");
    let (s, list) = api.call(Method::GET, path, Some(&bo), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list[0]["name"], "Camilla Lund", "{list}");
    // Every deputy in one list: the secretariat's overview, in the API and on the
    // organisation's page; a leader of another house sees none of them.
    let sec = api.token(Role::Secretariat, "sekretariat@skovby.dk").await;
    let (_, all) = api
        .call(Method::GET, "/api/v1/deputies", Some(&sec), None)
        .await;
    assert_eq!(
        (all[0]["unit_id"].as_str(), all[0]["name"].as_str()),
        (Some("dt-nord-1"), Some("Camilla Lund")),
        "{all}"
    );
    let mette = api.token(Role::Leader, "mette.juhl@skovby.dk").await;
    let (_, theirs) = api
        .call(Method::GET, "/api/v1/deputies", Some(&mette), None)
        .await;
    assert_eq!(theirs, serde_json::json!([]));
    let (_, page) = api
        .page(&api.sign_in(&sec).await, "/admin/organisation")
        .await;
    let table = &page[page
        .find("id=\"all-deputies\"")
        .expect("the deputies' table")..];
    assert!(
        table.contains("Børnehuset Mariehønen") && table.contains("Camilla Lund"),
        "{table}"
    );
    // Overlapping days: 409, naming whose they are.
    let (s, p) = api
        .call(
            Method::POST,
            path,
            Some(&anna),
            Some(serde_json::json!({"email": "per@skovby.dk", "name": "Per Holm"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{p}");
    assert!(
        p["detail"].as_str().unwrap().contains("Camilla Lund"),
        "{p}"
    );
    let id = d["id"].as_str().unwrap();
    let (s, ended) = api
        .call(Method::DELETE, &format!("{path}/{id}"), Some(&anna), None)
        .await;
    assert_eq!(
        (s, ended["name"].as_str()),
        (StatusCode::OK, Some("Camilla Lund"))
    );
    let (_, list) = api.call(Method::GET, path, Some(&bo), None).await;
    assert_eq!(list, serde_json::json!([]));
    // The cycle a record is meant for, a whole number however JSON writes it: a date
    // of another cycle is refused naming it; a year with a fraction is no year.
    let dialogue = "/api/v1/units/dt-nord-1/dialogue";
    let (s, p) = api
        .call(
            Method::POST,
            dialogue,
            Some(&bo),
            Some(serde_json::json!({"on": "2026-03-14", "cycle": 2023.0})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("falls in cycle 2025, not in cycle 2023"),
        "{p}"
    );
    let (s, p) = api
        .call(
            Method::POST,
            dialogue,
            Some(&bo),
            Some(serde_json::json!({"on": "2026-03-14", "cycle": 2025.5})),
        )
        .await;
    assert_eq!(
        (s, p["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("cycle")),
        "{p}"
    );
    // A period that has passed blocks nothing: named on 15 May for two days, and on 1
    // June another "from now".
    let unit = unit_of("dt-nord-1");
    let new = |email: &str, ends: Option<&str>| hjul_store::NewDeputy {
        email: hjul_wheel::Email::parse(email).unwrap(),
        name: "Vikar".into(),
        language: hjul_wheel::Language::Da,
        period: hjul_wheel::deputy::Period::new(None, ends.map(hjul_tests::date)),
    };
    api.store
        .name_deputy(
            &unit,
            &new("a@skovby.dk", Some("2026-05-16")),
            &stamp("2026-05-15"),
        )
        .await
        .unwrap();
    api.store
        .name_deputy(&unit, &new("b@skovby.dk", None), &stamp("2026-06-01"))
        .await
        .unwrap();
}

/// Børnehuset Egern is added to the organisation on 15 May 2026, in the running cycle.
/// Its page tells everyone so; the secretariat presses the button that lets it take
/// part from cycle 2027 instead, and the page says it sits cycle 2025 out. The API
/// brings it back (the secretariat's only), and refuses for a house there from the start.
async fn a_late_joiner_is_put_into_the_next_cycle_from_its_page_and_back_by_the_api(db: TestDb) {
    let api = api(&db).await;
    let csv = format!(
        "{ORGANISATION}dt-nord-4,Børnehuset Egern,4,dt-nord,daycare,Eva Lund,eva@skovby.dk,da\n"
    );
    api.store
        .import_organisation(
            &hjul_wheel::Organisation::from_csv(&csv, |_| {}).unwrap(),
            &stamp("2026-05-15"),
            |_, _| {},
        )
        .await
        .unwrap();
    let sec_token = api.token(Role::Secretariat, "sekretariat@skovby.dk").await;
    let sec = api.sign_in(&sec_token).await;
    let (_, page) = api.page(&sec, "/units/dt-nord-4").await;
    assert!(page.contains("kom med i cyklus 2025 den"), "{page}");
    assert!(page.contains("id=\"sit-out-form\""), "{page}");
    let bo = api
        .sign_in(&api.token(Role::Leader, "bo.nielsen@skovby.dk").await)
        .await;
    let (_, theirs) = api.page(&bo, "/units/dt-nord-1").await;
    assert!(
        !theirs.contains("sit-out-form"),
        "a house there from the start"
    );
    let fields = [("csrf", csrf_in(&page)), ("sit_out", "yes".to_owned())];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, to) = api.form(&sec, "/units/dt-nord-4/next-cycle", &fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let (_, page) = api.page(&sec, &to).await;
    assert!(
        page.contains("Enheden er med fra cyklus 2027 og springer cyklus 2025 over"),
        "{page}"
    );
    assert!(
        page.contains("Enheden er med fra næste cyklus"),
        "the flash: {page}"
    );

    let path = "/api/v1/units/dt-nord-4/next-cycle";
    let eva = api.token(Role::Leader, "eva@skovby.dk").await;
    let body = serde_json::json!({ "sit_out": false });
    let (s, _) = api
        .call(Method::PUT, path, Some(&eva), Some(body.clone()))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, j) = api
        .call(Method::PUT, path, Some(&sec_token), Some(body))
        .await;
    assert_eq!(s, StatusCode::OK, "{j}");
    assert_eq!(
        (j["sits_out"].as_bool(), j["joined"].as_str()),
        (Some(false), Some("2026-05-15"))
    );
    let (s, p) = api
        .call(
            Method::PUT,
            "/api/v1/units/dt-nord-1/next-cycle",
            Some(&sec_token),
            Some(serde_json::json!({ "sit_out": true })),
        )
        .await;
    assert!(s.is_client_error(), "{s}: {p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("from its start"),
        "{p}"
    );
}

/// Anna, a manager, opens Bo's house's page, downloads the overview's overdue units as
/// Excel with the area filter, and asks the API for the status of level 4: the log of
/// reads has each, with who, whose data and the terms. Only the secretariat reads it
/// (a read too), on its page searched by a part of the house's name.
async fn every_read_of_personal_data_is_in_the_read_log_with_its_terms(db: TestDb) {
    let api = api(&db).await;
    let anna_token = api.token(Role::Manager, "anna.bech@skovby.dk").await;
    let anna = api.sign_in(&anna_token).await;
    let (s, _) = api.page(&anna, "/units/dt-nord-1").await;
    assert_eq!(s, StatusCode::OK);
    let req = Request::get("/export/overdue.xlsx?area=daycare")
        .header("cookie", &anna)
        .body(Body::empty())
        .unwrap();
    let res = api.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let (s, _) = api
        .call(
            Method::GET,
            "/api/v1/status?level=4",
            Some(&anna_token),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let bo = api.token(Role::Leader, "bo.nielsen@skovby.dk").await;
    let (s, _) = api
        .call(Method::GET, "/api/v1/reads", Some(&bo), None)
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let sec = api.token(Role::Secretariat, "sekretariat@skovby.dk").await;
    let (s, reads) = api
        .call(
            Method::GET,
            "/api/v1/reads?actor=anna.bech",
            Some(&sec),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{reads}");
    let find = |view: &str| {
        reads
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["view"] == view)
            .cloned()
            .unwrap_or_else(|| panic!("no {view} read: {reads}"))
    };
    let unit = find("unit");
    assert_eq!(unit["unit_id"], "dt-nord-1");
    assert_eq!(
        unit["person_email"], "bo.nielsen@skovby.dk",
        "whose data: {unit}"
    );
    assert_eq!(unit["terms"]["at"], "2026-05-15");
    let export = find("export");
    assert_eq!(
        (
            export["terms"]["area"].as_str(),
            export["terms"]["overdue"].as_str()
        ),
        (Some("daycare"), Some("true")),
        "{export}"
    );
    let status = find("status");
    assert_eq!(status["terms"]["level"], "4", "{status}");
    assert!(
        reads
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["actor"].as_str().unwrap().contains("anna.bech@skovby.dk")),
        "{reads}"
    );
    // The secretariat's page, searched by a part of the house's name; reading the log
    // is on it too.
    let page_session = api.sign_in(&sec).await;
    let (s, page) = api
        .page(&page_session, "/admin/reads?unit=Marieh%C3%B8nen")
        .await;
    assert_eq!(s, StatusCode::OK);
    let table = &page[page.find("id=\"reads\"").expect("the reads' table")..];
    assert!(
        table.contains("Enhedens side") && table.contains("bo.nielsen@skovby.dk"),
        "{table}"
    );
    let (_, again) = api
        .call(Method::GET, "/api/v1/reads?unit=-", Some(&sec), None)
        .await;
    assert_eq!(again, serde_json::json!([]), "no unit has the id -");
    let (_, own) = api
        .call(
            Method::GET,
            "/api/v1/reads?actor=sekretariat",
            Some(&sec),
            None,
        )
        .await;
    assert!(
        own.as_array()
            .unwrap()
            .iter()
            .any(|r| r["view"] == "read_log"),
        "reading the log is a read: {own}"
    );
}

/// Bo records his house's dialogue and tries to record his neighbour's. The secretary
/// finds both by the house's name ("Mariehønen") or Bo's: one sentence each, his name
/// not his token, the refusal's reason in the page's language; the same in English, and
/// as Excel.
async fn the_audit_log_reads_as_sentences_found_by_a_units_name_in_both_languages(db: TestDb) {
    let api = api(&db).await;
    let bo = api.token(Role::Leader, "bo.nielsen@skovby.dk").await;
    let (s, _) = api
        .call(
            Method::POST,
            "/api/v1/units/dt-nord-1/dialogue",
            Some(&bo),
            Some(serde_json::json!({"on": "2026-05-14"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = api
        .call(
            Method::POST,
            "/api/v1/units/dt-nord-1/dialogue",
            Some(&bo),
            Some(serde_json::json!({"on": "2026-05-20"})),
        )
        .await;
    assert!(s.is_client_error(), "a day ahead is refused");
    let sec = api
        .sign_in(&api.token(Role::Secretariat, "sekretariat@skovby.dk").await)
        .await;
    let (s, page) = api.page(&sec, "/admin/audit?unit=Marieh%C3%B8nen").await;
    assert_eq!(s, StatusCode::OK);
    let table = &page[page.find("id=\"audit\"").expect("the log's table")..];
    assert!(
        table.contains("Bo Nielsen registrerede kvalitetssamtalen for Børnehuset Mariehønen den"),
        "{table}"
    );
    assert!(
        table.contains("Bo Nielsen forsøgte at registrere en kvalitetssamtale – afvist:"),
        "{table}"
    );
    assert!(!table.contains("api:"), "names, not channels: {table}");
    assert!(!table.contains("\"cycle\""), "no raw JSON: {table}");
    // By the person's name, and by what happened.
    let (_, by_name) = api
        .page(
            &sec,
            "/admin/audit?person=Bo+Nielsen&action=unit.dialogue_held",
        )
        .await;
    assert!(
        by_name.contains("registrerede kvalitetssamtalen"),
        "{by_name}"
    );
    assert!(
        !by_name.contains("forsøgte"),
        "only the action asked: {by_name}"
    );
    // In English.
    let (_, english) = api
        .page(
            &format!("{sec}; hjul_lang=en"),
            "/admin/audit?unit=Marieh%C3%B8nen",
        )
        .await;
    assert!(
        english.contains("Bo Nielsen recorded the quality dialogue of Børnehuset Mariehønen on"),
        "{english}"
    );
    assert!(
        english.contains("Bo Nielsen tried to record a dialogue – refused:"),
        "{english}"
    );
    // As Excel, the rows found.
    let req = Request::get("/admin/audit/log.xlsx?unit=Marieh%C3%B8nen")
        .header("cookie", &sec)
        .body(Body::empty())
        .unwrap();
    let res = api.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml"),
        "{:?}",
        res.headers()
    );
}

/// Bo asks what hjul holds about him. He recorded his house's dialogue; Anna, his
/// manager, looked at his house's page. The secretariat's page shows it all, and the
/// files hold his units, what he did, and when and for what his data was read — not
/// by whom, and nothing of anyone else.
async fn an_access_request_gets_everything_about_the_person_and_nothing_of_anyone_else(db: TestDb) {
    let api = api(&db).await;
    let bo = api.token(Role::Leader, "bo.nielsen@skovby.dk").await;
    let (s, _) = api
        .call(
            Method::POST,
            "/api/v1/units/dt-nord-1/dialogue",
            Some(&bo),
            Some(serde_json::json!({"on": "2026-05-14"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let anna = api
        .sign_in(&api.token(Role::Manager, "anna.bech@skovby.dk").await)
        .await;
    let (s, _) = api.page(&anna, "/units/dt-nord-1").await;
    assert_eq!(s, StatusCode::OK);
    let sec = api
        .sign_in(&api.token(Role::Secretariat, "sekretariat@skovby.dk").await)
        .await;
    let (s, page) = api
        .page(&sec, "/admin/privacy?email=Bo.Nielsen%40skovby.dk")
        .await;
    assert_eq!(s, StatusCode::OK);
    let found = &page[page
        .find("id=\"privacy-found\"")
        .expect("the person's page")..];
    assert!(
        found.contains("Børnehuset Mariehønen (dt-nord-1)"),
        "{found}"
    );
    assert!(found.contains("Opslag i personens data"), "{found}");
    assert!(found.contains("Enhedens side"), "{found}");

    let req = Request::get("/admin/privacy/export.json?email=bo.nielsen%40skovby.dk")
        .header("cookie", &sec)
        .body(Body::empty())
        .unwrap();
    let res = api.app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let data: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(data["name"], "Bo Nielsen");
    assert_eq!(data["units_led"][0][0], "dt-nord-1");
    assert!(
        data["their_actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "unit.dialogue_held"),
        "{data:#}"
    );
    let reads = data["reads_of_their_data"].as_array().unwrap();
    assert!(reads.iter().any(|r| r["view"] == "unit"), "{data:#}");
    assert!(
        reads.iter().all(|r| r.get("actor").is_none()),
        "not who read"
    );
    assert!(!text.contains("anna.bech"), "nothing of Anna's: {text}");
    assert!(!text.contains("mette.juhl"), "nothing of Mette's: {text}");
    // A leader cannot ask for anyone's.
    let bo_session = api.sign_in(&bo).await;
    let (s, _) = api
        .page(&bo_session, "/admin/privacy?email=bo.nielsen%40skovby.dk")
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

/// The secretariat looks Bo up on the privacy page: while he leads his house the page
/// says why he cannot be anonymised. Once the organisation file gives the house a new
/// leader, the page says what would change; the button without the box ticked changes
/// nothing, with it the page shows what is left under his pseudonym, and nothing of his
/// address or name is found any more.
async fn a_person_who_left_is_anonymised_from_the_privacy_page_after_a_ticked_box(db: TestDb) {
    let api = api(&db).await;
    let sec = api
        .sign_in(&api.token(Role::Secretariat, "sekretariat@skovby.dk").await)
        .await;
    let bo = "/admin/privacy?email=bo.nielsen%40skovby.dk";
    let (s, page) = api.page(&sec, bo).await;
    assert_eq!(s, StatusCode::OK);
    let refused = &page[page.find("id=\"anonymise-refused\"").expect("why not")..];
    assert!(
        refused.contains("leder stadig Børnehuset Mariehønen (dt-nord-1)"),
        "{refused}"
    );
    assert!(!page.contains("id=\"anonymise-form\""));

    let org = ORGANISATION.replace(
        "Bo Nielsen,bo.nielsen@skovby.dk",
        "Lis Dam,lis.dam@skovby.dk",
    );
    api.store
        .import_organisation(
            &hjul_wheel::Organisation::from_csv(&org, |_| {}).unwrap(),
            &stamp("2026-05-15"),
            |_, _| {},
        )
        .await
        .unwrap();
    let (_, page) = api.page(&sec, bo).await;
    let would = &page[page
        .find("id=\"anonymise-would\"")
        .expect("what would change")..];
    assert!(would.contains("Det ændres: personen 1,"), "{would}");
    let csrf = csrf_in(&page);
    let fields = [("csrf", csrf.as_str()), ("email", "bo.nielsen@skovby.dk")];
    let (s, _) = api.form(&sec, "/admin/privacy/anonymise", &fields).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "the box not ticked");
    let (_, page) = api.page(&sec, bo).await;
    assert!(page.contains("Bo Nielsen"), "nothing changed");

    let mut ticked = fields.to_vec();
    ticked.push(("confirm", "yes"));
    let (s, location) = api.form(&sec, "/admin/privacy/anonymise", &ticked).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{location}");
    assert!(
        location.starts_with("/admin/privacy?email=tidligere-leder-")
            && location.ends_with("&done=anonymised"),
        "{location}"
    );
    let (s, page) = api.page(&sec, &location).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("Personen er anonymiseret"), "{page}");
    assert!(page.contains("Tidligere leder"), "{page}");
    assert!(!page.contains("id=\"privacy-anonymise\""), "done already");
    let (_, page) = api.page(&sec, bo).await;
    let found = &page[page.find("id=\"privacy-found\"").unwrap()..];
    assert!(!found.contains("Børnehuset Mariehønen"), "{found}");
}
