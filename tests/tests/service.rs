//! The real service, in-process: `hjul_service::Service` built on port 0 over SQLite and
//! PostgreSQL, with a real SMTP server on loopback. It answers over HTTP, its scheduler
//! ticks and mails on the clock it shares with the API, a second instance on the same
//! SQLite file is refused, and it stops on its signal.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use hjul_service::{Database, Service, ServiceError, Settings, Stop};
use hjul_store::{CurrentWheel, Location, Role};
use hjul_tests::smtp::SmtpServer;
use hjul_tests::{TestDb, eight, mail_settings, scheduler_settings, stamp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

hjul_tests::stories!(
    the_service_serves_mails_and_stops_on_its_signal,
    people_writing_at_the_same_moment_each_get_an_answer_never_a_500,
);

/// One GET over a fresh connection: the status and the body.
async fn get(addr: std::net::SocketAddr, path: &str, token: &str) -> (u16, String) {
    request(addr, "GET", path, token, None).await
}

/// One request over a fresh connection, with a JSON body if given: the status and the
/// body.
async fn request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    json: Option<&serde_json::Value>,
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = json.map(ToString::to_string).unwrap_or_default();
    let kind = if json.is_some() {
        "Content-Type: application/json\r\n"
    } else {
        ""
    };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: hjul\r\nAuthorization: Bearer {token}\r\n{kind}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

/// The service's settings with the test SMTP server, and its database.
fn settings(db: &TestDb, smtp: &SmtpServer) -> (Settings, Database) {
    let settings = Settings {
        scheduler: scheduler_settings(),
        mail: mail_settings(smtp.port()),
        min_responses: 5,
        report_templates: None,
        report_link_hosts: Vec::new(),
        accessibility_statement: None,
        oidc: None,
        token_sign_in: true,
        retention: hjul_store::Retention::default(),
        http: hjul_api::Limits::default(),
        source: "the test".into(),
    };
    let database = Database {
        location: db.location.clone(),
        wheel: CurrentWheel::builtin(),
        actor: "test".into(),
    };
    (settings, database)
}

async fn the_service_serves_mails_and_stops_on_its_signal(db: TestDb) {
    let store = hjul_tests::skovby_with_themes(&db, "2026-03-20").await;
    let units = hjul_tests::count(&store, "unit").await;
    let (token, _) = store
        .create_token(
            Role::Secretariat,
            "sekretariat@skovby.dk",
            None,
            &stamp("2026-03-20"),
        )
        .await
        .unwrap();
    store.close().await.unwrap();

    let smtp = SmtpServer::start().await;
    let (settings, database) = settings(&db, &smtp);
    // Monday 23 March 2026, just after the mail time: the dialogues' deadlines open.
    let clock = Arc::new(hjul_scheduler::ShiftedClock::starting_at(
        eight("2026-03-23") + chrono::Duration::minutes(5),
    ));
    let (handle, stop) = Stop::new();
    let service = Service::build(
        &settings,
        database.clone(),
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
        stop,
    )
    .await
    .unwrap()
    .unwrap();
    let addr = service.local_addr().unwrap();
    assert_ne!(addr.port(), 0, "port 0 picks a free port");
    let running = tokio::spawn(service.run_until_stopped());

    let (status, body) = get(addr, "/healthz", "").await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    // The API reads the same database, on the same day as the scheduler's clock.
    let (status, body) = get(addr, "/api/v1/status", &token).await;
    assert_eq!(status, 200, "{body}");
    let rows: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        i64::try_from(rows.as_array().unwrap().len()).unwrap(),
        units
    );
    assert!(
        rows.as_array().unwrap().iter().all(|r| r["cycle"] == 2025),
        "{rows}"
    );

    // The scheduler's first tick, at once: each leader hears that their dialogue's
    // deadline is open, through the real SMTP server.
    let mut waited = Duration::ZERO;
    while smtp.received().is_empty() && waited < Duration::from_secs(20) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    let mails = smtp.received();
    assert!(!mails.is_empty(), "no mail within {waited:?}");
    assert!(
        mails.iter().any(|m| {
            let text = m.plain().unwrap_or_default();
            text.contains("Kvalitetssamtale") && text.contains("senest")
        }),
        "{:?}",
        mails
            .iter()
            .map(hjul_tests::smtp::Received::plain)
            .collect::<Vec<_>>()
    );

    // One SQLite file takes one instance; a second is refused with a reason.
    if let Location::Sqlite(_) = db.location {
        let (_second_handle, second_stop) = Stop::new();
        let refused = Service::build(
            &settings,
            database,
            clock,
            "127.0.0.1:0".parse().unwrap(),
            second_stop,
        )
        .await;
        let Err(e @ ServiceError::AlreadyServed { .. }) = refused else {
            panic!("a second instance on one SQLite file was not refused");
        };
        assert!(e.to_string().contains("already runs"), "{e}");
    }

    handle.stop();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the service stops on its signal")
        .unwrap()
        .unwrap();
    // Stopped: nothing listens any more.
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// Ten superiors record their units' quality dialogues at the same moment, while the
/// scheduler's first tick writes the cycle's mail, three rounds: every first record is
/// kept (201), every repeat is refused by the wheel (409, on record in the audit log),
/// and nobody gets a 500 or is turned away as "busy". On SQLite, writes that began as
/// reads failed when they turned into writes ("database is locked": 5 of 8 answers were
/// 500 before writes began as writes).
async fn people_writing_at_the_same_moment_each_get_an_answer_never_a_500(db: TestDb) {
    let store = hjul_tests::skovby_with_themes(&db, "2026-05-15").await;
    // Each unit and the superior who holds its dialogue (wheel.toml: `responsible =
    // "superior"`), each with a token of their own.
    let units = [
        ("dt-nord", "carsten.vang@skovby.dk"),
        ("dt-syd", "carsten.vang@skovby.dk"),
        ("dt-nord-1", "anna.bech@skovby.dk"),
        ("dt-nord-2", "anna.bech@skovby.dk"),
        ("dt-nord-3", "anna.bech@skovby.dk"),
        ("dt-syd-1", "ole.friis@skovby.dk"),
        ("dt-syd-2", "ole.friis@skovby.dk"),
        ("sk-vest", "susanne.kjaer@skovby.dk"),
        ("sk-oest", "susanne.kjaer@skovby.dk"),
        ("sk-by", "susanne.kjaer@skovby.dk"),
    ];
    let mut tokens = Vec::new();
    for (_, email) in units {
        let (token, _) = store
            .create_token(Role::Manager, email, None, &stamp("2026-05-15"))
            .await
            .unwrap();
        tokens.push(token);
    }
    let audit_before = hjul_tests::count(&store, "audit_log").await;
    store.close().await.unwrap();

    let smtp = SmtpServer::start().await;
    let (settings, database) = settings(&db, &smtp);
    let clock = Arc::new(hjul_scheduler::ShiftedClock::starting_at(
        eight("2026-05-15") + chrono::Duration::hours(2),
    ));
    let (handle, stop) = Stop::new();
    let service = Service::build(
        &settings,
        database.clone(),
        clock,
        "127.0.0.1:0".parse().unwrap(),
        stop,
    )
    .await
    .unwrap()
    .unwrap();
    let addr = service.local_addr().unwrap();
    let running = tokio::spawn(service.run_until_stopped());

    let body = serde_json::json!({ "on": "2026-05-14", "notes": "Samtalen gik godt." });
    for round in 1..=3 {
        let answers = futures_join_all(units.into_iter().zip(&tokens).map(|((unit, _), token)| {
            let (body, token) = (body.clone(), token.clone());
            async move {
                let path = format!("/api/v1/units/{unit}/dialogue");
                request(addr, "POST", &path, &token, Some(&body)).await
            }
        }))
        .await;
        let want = if round == 1 { 201 } else { 409 };
        for ((unit, _), (status, body)) in units.iter().zip(&answers) {
            assert_eq!(*status, want, "round {round}, {unit}: {body}");
        }
    }

    handle.stop();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the service stops on its signal")
        .unwrap()
        .unwrap();

    let store = hjul_store::Store::open_current(&db.location, CurrentWheel::builtin())
        .await
        .unwrap();
    for (unit, _) in units {
        let timeline = store
            .timeline(
                &hjul_tests::unit_of(unit),
                hjul_tests::date("2026-05-15"),
                None,
            )
            .await
            .unwrap();
        let held: Vec<_> = timeline
            .events
            .iter()
            .filter(|e| e.kind == hjul_wheel::EventKind::DialogueHeld)
            .collect();
        assert_eq!(held.len(), 1, "{unit}: {held:?}");
    }
    // The twenty repeats are on record as refused, with who tried.
    let refused = store
        .audit_log_where(Some("unit"), None, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| {
            r.action == "refused"
                && r.actor.starts_with("api:")
                && r.after
                    .as_deref()
                    .is_some_and(|a| a.contains("record a dialogue"))
        })
        .count();
    assert_eq!(refused, 20);
    assert!(hjul_tests::count(&store, "audit_log").await >= audit_before + 30);
}

/// Every future at once, their answers in order (what `futures::join_all` does, without
/// the crate).
async fn futures_join_all<F: Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// Clients that hold connections open do not take the server down: a header sent a byte
/// at a time is cut off after the header timeout; with 150 connections that sent half a
/// request each, `/healthz` still answers at once; past the cap a new connection is
/// answered 503 at once; and the half-open ones are closed after the timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_sheds_clients_that_hold_connections_open() {
    use std::time::Instant;
    let db = TestDb::sqlite("shed");
    hjul_tests::skovby_with_themes(&db, "2026-03-20")
        .await
        .close()
        .await
        .unwrap();
    let smtp = SmtpServer::start().await;
    let (mut settings, database) = settings(&db, &smtp);
    settings.http = hjul_api::Limits {
        header_read_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(30),
        max_connections: 200,
    };
    let (_handle, stop) = Stop::new();
    let service = Service::build(
        &settings,
        database,
        Arc::new(hjul_scheduler::SystemClock),
        "127.0.0.1:0".parse().unwrap(),
        stop,
    )
    .await
    .unwrap()
    .unwrap();
    let addr = service.local_addr().unwrap();
    tokio::spawn(service.run_until_stopped());
    let (status, _) = get(addr, "/healthz", "").await;
    assert_eq!(status, 200);

    // A header a byte every 300 ms: closed within the 2 s timeout (and a little).
    let slow = tokio::spawn(async move {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        let start = Instant::now();
        let header = b"GET /healthz HTTP/1.1\r\nHost: hjul\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
        for b in header {
            if s.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            if start.elapsed() > Duration::from_secs(8) {
                break;
            }
        }
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest)).await;
        (start.elapsed(), String::from_utf8_lossy(&rest).into_owned())
    });

    // 150 connections that each sent half a request.
    let mut half = Vec::new();
    for _ in 0..150 {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: hjul\r\n")
            .await
            .unwrap();
        half.push(s);
    }
    // /healthz still answers, at once.
    for _ in 0..5 {
        let start = Instant::now();
        let (status, _) = get(addr, "/healthz", "").await;
        assert_eq!(status, 200);
        // Generous for a debug build on a loaded machine; the point is "not stuck".
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "/healthz took {:?} beside 150 half-open connections",
            start.elapsed()
        );
    }
    // Past the cap (200 open): the next ones are told 503 at once and closed.
    let mut over = Vec::new();
    for _ in 0..60 {
        over.push(tokio::net::TcpStream::connect(addr).await.unwrap());
    }
    let answers: Vec<_> = over
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                let mut got = Vec::new();
                let read =
                    tokio::time::timeout(Duration::from_millis(1500), s.read_to_end(&mut got))
                        .await;
                matches!(read, Ok(Ok(_)))
                    && String::from_utf8_lossy(&got).starts_with("HTTP/1.1 503")
            })
        })
        .collect();
    let mut refused = 0;
    for a in answers {
        if a.await.unwrap() {
            refused += 1;
        }
    }
    assert!(
        refused >= 5,
        "{refused} connections past the cap were refused"
    );

    let (took, _) = slow.await.unwrap();
    assert!(
        took < Duration::from_secs(6),
        "a header a byte at a time was let go on for {took:?}"
    );
    // The half-open connections are closed by the server after the header timeout.
    for mut s in half {
        let mut got = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut got)).await;
        assert!(
            closed.is_ok(),
            "a half-open connection was kept past its timeout"
        );
    }
    let (status, _) = get(addr, "/healthz", "").await;
    assert_eq!(status, 200, "the server answers once they are gone");
}
