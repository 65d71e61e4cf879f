//! What one careless or hostile person can do to everyone else, on SQLite and
//! PostgreSQL: each finding of the abuse review as a story that failed before the fix.
//! Sizes and times are asserted with generous bounds (a debug build on a busy machine):
//! a hostile body is answered within a second, in under 64 KiB, and grows the database by
//! under 1 MiB.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Utc};
use hjul_store::{CurrentWheel, Location, Role, Store};
use hjul_tests::{TestDb, date, eight, skovby_with_themes, stamp, stories, unit_of};
use sea_orm::ConnectionTrait;
use tower::ServiceExt;

stories!(
    a_hostile_agreement_costs_milliseconds_and_kilobytes,
    a_backdated_event_starts_no_cycle,
    the_api_refuses_what_it_does_not_take_with_a_problem_report,
    redirects_stay_on_this_site_and_pages_carry_security_headers,
    a_long_chain_of_units_is_checked_in_linear_time,
);

fn now() -> DateTime<Utc> {
    eight("2026-05-15") + chrono::Duration::hours(2)
}

struct App {
    app: axum::Router,
    store: Store,
    location: Location,
}

async fn app(db: &TestDb) -> App {
    let store = skovby_with_themes(db, "2026-05-15").await;
    App {
        app: hjul_tests::service(db, CurrentWheel::builtin(), now)
            .await
            .router(),
        store,
        location: db.location.clone(),
    }
}

/// What a request cost: status, answer, time taken.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
    took: Duration,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

impl App {
    async fn send(&self, req: Request<Body>) -> Answer {
        let start = Instant::now();
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), 64 << 20)
            .await
            .unwrap()
            .to_vec();
        Answer {
            status,
            headers,
            body,
            took: start.elapsed(),
        }
    }

    async fn token(&self, role: Role, email: &str) -> String {
        self.store
            .create_token(role, email, None, &stamp("2026-05-15"))
            .await
            .unwrap()
            .0
    }

    /// The database's size in bytes.
    async fn size(&self) -> u64 {
        match &self.location {
            Location::Sqlite(path) => {
                let wal = path.with_extension("db-wal");
                std::fs::metadata(path).map_or(0, |m| m.len())
                    + std::fs::metadata(wal).map_or(0, |m| m.len())
            }
            Location::Postgres(_) => {
                let row = self
                    .store
                    .connection()
                    .query_one_raw(sea_orm::Statement::from_string(
                        self.store.backend(),
                        "SELECT pg_database_size(current_database()) AS n",
                    ))
                    .await
                    .unwrap()
                    .unwrap();
                u64::try_from(row.try_get::<i64>("", "n").unwrap()).unwrap()
            }
        }
    }
}

fn json_post(path: &str, token: &str, body: &serde_json::Value) -> Request<Body> {
    Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn a_hostile_agreement_costs_milliseconds_and_kilobytes(db: TestDb) {
    let app = app(&db).await;
    let bo = app.token(Role::Leader, "bo.nielsen@skovby.dk").await;
    app.store
        .record_dialogue(
            &unit_of("dt-nord-1"),
            date("2026-03-14"),
            None,
            &stamp("2026-05-15"),
        )
        .await
        .unwrap();
    let before = app.size().await;
    // The finding: 100,000 empty goals, 1 MB, took 25 s and wrote an 81 MB audit row.
    let hostile = "[[goal]]\n".repeat(100_000);
    for (name, body) in [
        (
            "100,000 empty goals",
            serde_json::json!({ "on": "2026-04-09", "agreement": hostile }),
        ),
        (
            "40 goals of the longest titles, all wrong",
            serde_json::json!({
                "on": "2026-04-09",
                "agreement": format!("[[goal]]\ntitle = \"{}\"\nweight = 0\n", "x".repeat(5_000)).repeat(40),
            }),
        ),
        (
            "a body over the limit",
            serde_json::json!({ "on": "2026-04-09", "agreement": "#".repeat(2 << 20) }),
        ),
    ] {
        let a = app
            .send(json_post("/api/v1/units/dt-nord-1/agreements", &bo, &body))
            .await;
        assert!(a.status.is_client_error(), "{name}: {}", a.status);
        assert!(a.took < Duration::from_secs(1), "{name}: took {:?}", a.took);
        assert!(
            a.body.len() < 64 * 1024,
            "{name}: answered {} bytes",
            a.body.len()
        );
        assert_eq!(
            a.headers["content-type"], "application/problem+json",
            "{name}"
        );
    }
    // The grades of the finding: thousands of wrong goal names.
    let grades: String = (0..3_000)
        .map(|i| {
            format!(
                "[[grade]]\ngoal = \"{}{i}\"\ngrade = \"full\"\n",
                "y".repeat(60)
            )
        })
        .collect();
    let a = app
        .send(json_post(
            "/api/v1/units/dt-nord-1/midway",
            &bo,
            &serde_json::json!({ "on": "2026-04-09", "grades": grades }),
        ))
        .await;
    assert!(
        a.status.is_client_error() && a.took < Duration::from_secs(1) && a.body.len() < 64 * 1024
    );
    // Every refusal is on record, each in a row of bounded size.
    let refused: Vec<_> = app
        .store
        .audit_log(Some(("unit", "dt-nord-1")), 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "refused")
        .collect();
    assert_eq!(refused.len(), 4);
    for r in &refused {
        let n = r.after.as_deref().map_or(0, str::len);
        assert!(n < 4 * 1024, "an audit row of {n} bytes");
    }
    let grown = app.size().await.saturating_sub(before);
    assert!(grown < 1 << 20, "the database grew by {grown} bytes");
}

async fn a_backdated_event_starts_no_cycle(db: TestDb) {
    let app = app(&db).await;
    let bo = app.token(Role::Leader, "bo.nielsen@skovby.dk").await;
    for (on, hint) in [
        ("2024-03-01", Some("did you mean 2026-03-01?")),
        ("2020-01-01", None),
        ("1650-01-01", None),
    ] {
        let a = app
            .send(json_post(
                "/api/v1/units/dt-nord-1/dialogue",
                &bo,
                &serde_json::json!({ "on": on }),
            ))
            .await;
        assert_eq!(a.status, StatusCode::CONFLICT, "{on}: {}", a.json());
        let detail = a.json()["detail"].as_str().unwrap().to_owned();
        match hint {
            Some(h) => assert!(detail.contains(h), "{detail}"),
            None => assert!(
                detail.contains("never started") || detail.contains("far outside"),
                "{detail}"
            ),
        }
    }
    // Only the running cycle is on record, and a tick queues nothing for another.
    let cycles: Vec<i32> = app
        .store
        .cycles()
        .await
        .unwrap()
        .iter()
        .map(|c| c.year)
        .collect();
    assert_eq!(cycles, [2025]);
    let s = hjul_tests::scheduler(app.store.clone(), 9);
    s.tick(now()).await.unwrap();
    let other = app
        .store
        .outbox(None, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.cycle.is_some_and(|c| c != 2025))
        .count();
    assert_eq!(other, 0);
}

async fn the_api_refuses_what_it_does_not_take_with_a_problem_report(db: TestDb) {
    let app = app(&db).await;
    let sec = app.token(Role::Secretariat, "sekretariat@skovby.dk").await;
    let bearer = format!("Bearer {sec}");
    let problem = |a: &Answer| {
        assert_eq!(a.headers["content-type"], "application/problem+json");
        a.json()
    };
    // A body that only looks like JSON by its name.
    let a = app
        .send(
            Request::post("/api/v1/units/dt-nord-1/dialogue")
                .header("authorization", &bearer)
                .header("content-type", "application/jsonfoo")
                .body(Body::from("{\"on\":\"2026-03-14\"}"))
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    problem(&a);
    // The organisation is a CSV, said as such.
    let a = app
        .send(
            Request::post("/api/v1/organisation")
                .header("authorization", &bearer)
                .header("content-type", "text/plain")
                .body(Body::from(hjul_tests::ORGANISATION))
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Over its limit: a problem report that names the limit.
    let a = app
        .send(
            Request::post("/api/v1/organisation")
                .header("authorization", &bearer)
                .header("content-type", "text/csv")
                .body(Body::from("x".repeat(5 << 20)))
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        problem(&a)["detail"].as_str().unwrap().contains("4 MiB"),
        "{}",
        a.json()
    );
    // Path and query values that are not what they should be.
    let get = |path: &str| {
        Request::get(path)
            .header("authorization", &bearer)
            .body(Body::empty())
            .unwrap()
    };
    let a = app.send(get("/api/v1/cycles/abc/plan")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(problem(&a)["field"], "year");
    let a = app.send(get("/api/v1/status?at=14-03-2026")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        problem(&a)["detail"],
        "`14-03-2026` is not a date: write it as YYYY-MM-DD"
    );
    let a = app.send(get("/api/v1/status?at=9999-01-01")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(
        problem(&a)["detail"]
            .as_str()
            .unwrap()
            .contains("check the year")
    );
    // No such endpoint, a method it does not take, an address it cannot read, no
    // token: problem reports all.
    let a = app.send(get("/api/v1/no-such-thing")).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    problem(&a);
    let a = app
        .send(
            Request::delete("/api/v1/status")
                .header("authorization", &bearer)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    problem(&a);
    let a = app.send(get("/api/v1/units/%FF/agreements")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    problem(&a);
    let a = app
        .send(Request::get("/api/v1/me").body(Body::empty()).unwrap())
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.headers["www-authenticate"], "Bearer");
    problem(&a);
    // Sending again a mail that does not exist: not found, not a bad request.
    let a = app
        .send(
            Request::post(format!("/api/v1/outbox/{}/retry", uuid::Uuid::now_v7()))
                .header("authorization", &bearer)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    problem(&a);
    // The refusals of a signed-in person are on record: the unsupported body and the
    // one over the limit too.
    let refused = app
        .store
        .audit_log(None, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action == "refused")
        .count();
    assert!(refused >= 4, "{refused}");
    // A token cannot be revoked by a character or two of its id.
    let e = app
        .store
        .revoke_token("a", &stamp("2026-05-15"))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("at least its first 8 characters"),
        "{e}"
    );
}

async fn redirects_stay_on_this_site_and_pages_carry_security_headers(db: TestDb) {
    let app = app(&db).await;
    for back in [
        "/%09/other.host/x",
        "/%01",
        "//other.host",
        "/%5C%5Cother.host",
        "https://x.dk",
    ] {
        let a = app
            .send(
                Request::get(format!("/lang/en?back={back}"))
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(a.status, StatusCode::SEE_OTHER, "{back}");
        assert_eq!(a.headers["location"], "/", "{back}");
    }
    let a = app
        .send(
            Request::get("/lang/en?back=/units/dt-nord-1")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(a.headers["location"], "/units/dt-nord-1");
    // Every page: no framing, nothing from elsewhere, nothing kept by a cache.
    let a = app
        .send(Request::get("/login").body(Body::empty()).unwrap())
        .await;
    assert_eq!(a.status, StatusCode::OK);
    let csp = a.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"),
        "{csp}"
    );
    assert_eq!(a.headers["x-frame-options"], "DENY");
    assert_eq!(a.headers["cache-control"], "no-store");
    assert_eq!(a.headers["x-content-type-options"], "nosniff");
    // A page that does not exist: the site's layout, not a bare answer.
    let a = app
        .send(Request::get("/no/such/page").body(Body::empty()).unwrap())
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    let html = String::from_utf8(a.body).unwrap();
    assert!(
        html.contains("<html lang=\"da\">") && html.contains("Siden findes ikke"),
        "{html}"
    );
}

async fn a_long_chain_of_units_is_checked_in_linear_time(db: TestDb) {
    let app = app(&db).await;
    let sec = app.token(Role::Secretariat, "sekretariat@skovby.dk").await;
    // The finding: a chain of 4,000 rows took 46 s to check.
    let mut csv = String::from(
        "unit_id,name,level,parent_id,area,leader_name,leader_email\nbu,Børn & Unge,1,,department,D,d@k.dk\n",
    );
    let n = 4_000;
    for i in 0..n {
        let parent = if i == 0 {
            format!("u{}", n - 1)
        } else {
            format!("u{}", i - 1)
        };
        csv.push_str(&format!("u{i},U{i},3,{parent},school,L,l@k.dk\n"));
    }
    let a = app
        .send(
            Request::post("/api/v1/organisation")
                .header("authorization", format!("Bearer {sec}"))
                .header("content-type", "text/csv")
                .body(Body::from(csv))
                .unwrap(),
        )
        .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.took < Duration::from_secs(1), "took {:?}", a.took);
    assert!(a.body.len() < 64 * 1024, "{} bytes", a.body.len());
    let errors = a.json()["errors"].as_array().unwrap().len();
    assert_eq!(errors, hjul_wheel::limits::MAX_PROBLEMS + 1);
}
