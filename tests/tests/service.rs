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
    the_monitoring_reads_a_morning_of_mail_and_a_dead_letter_at_metrics,
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
    let (status, _, body) = exchange(addr, &request).await;
    (status, body)
}

/// One request written as is over a fresh connection: the status, the header and the
/// body.
async fn exchange(addr: std::net::SocketAddr, raw: &str) -> (u16, String, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

/// The value of the series `series` (its name and labels as written) in a scrape.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no `{series}` in:\n{text}"))
        .parse()
        .unwrap()
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

/// A token of `role` for `email`, made on 20 March 2026.
async fn token(store: &hjul_store::Store, role: Role, email: &str) -> String {
    store
        .create_token(role, email, None, &stamp("2026-03-20"))
        .await
        .unwrap()
        .0
}

/// The running service on Monday 23 March 2026 at 08:05, the morning the dialogues'
/// deadlines open: its address, its stop, the task it runs in, and its clock.
async fn serve_monday_morning(
    settings: &Settings,
    database: Database,
) -> (
    std::net::SocketAddr,
    hjul_service::StopHandle,
    tokio::task::JoinHandle<Result<(), ServiceError>>,
    Arc<hjul_scheduler::ShiftedClock>,
) {
    let clock = Arc::new(hjul_scheduler::ShiftedClock::starting_at(
        eight("2026-03-23") + chrono::Duration::minutes(5),
    ));
    let (handle, stop) = Stop::new();
    let service = Service::build(
        settings,
        database,
        clock.clone(),
        "127.0.0.1:0".parse().unwrap(),
        stop,
    )
    .await
    .unwrap()
    .unwrap();
    let addr = service.local_addr().unwrap();
    (
        addr,
        handle,
        tokio::spawn(service.run_until_stopped()),
        clock,
    )
}

async fn the_service_serves_mails_and_stops_on_its_signal(db: TestDb) {
    let store = hjul_tests::skovby_with_themes(&db, "2026-03-20").await;
    let units = hjul_tests::count(&store, "unit").await;
    let token = token(&store, Role::Secretariat, "sekretariat@skovby.dk").await;
    store.close().await.unwrap();

    let smtp = SmtpServer::start().await;
    let (settings, database) = settings(&db, &smtp);
    // Just after the mail time: the dialogues' deadlines open.
    let (addr, handle, running, clock) = serve_monday_morning(&settings, database.clone()).await;
    assert_ne!(addr.port(), 0, "port 0 picks a free port");

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

/// The monitoring's view of a morning. The first tick writes the dialogues' mail and the
/// dispatcher sends it through a real SMTP server that refuses one leader for good; a
/// wrong token is tried at the sign-in and a scanner asks for a page that is not there.
/// `/metrics` answers only the secretariat's token, and holds the mail sent and dead as
/// the database has them, the notice to the secretariat waiting for the next round, the
/// tick, the requests by route pattern and status, and the refused sign-in; `promtool
/// check metrics` (Debian's `prometheus` package) accepts the text.
async fn the_monitoring_reads_a_morning_of_mail_and_a_dead_letter_at_metrics(db: TestDb) {
    let store = hjul_tests::skovby_with_themes(&db, "2026-03-20").await;
    let units = hjul_tests::count(&store, "unit WHERE active").await;
    let token = token(&store, Role::Secretariat, "sekretariat@skovby.dk").await;
    let leader = self::token(&store, Role::Leader, "anna.bech@skovby.dk").await;
    store.close().await.unwrap();

    let smtp = SmtpServer::start().await;
    smtp.refuse_to("anna.bech@skovby.dk", hjul_tests::smtp::Behaviour::PermFail);
    let (settings, database) = settings(&db, &smtp);
    // The next round is at 08:06, a minute away, so what the first round did stands
    // still while it is read.
    let (addr, handle, running, _) = serve_monday_morning(&settings, database).await;

    // Only the secretariat's token reads the figures.
    let (status, _) = get(addr, "/metrics", "").await;
    assert_eq!(status, 401);
    let (status, _) = get(addr, "/metrics", &leader).await;
    assert_eq!(status, 403);

    // The first round: sent once the dispatcher has counted its mail.
    let started = std::time::Instant::now();
    let scrape = loop {
        let (status, head, body) = exchange(
            addr,
            &format!("GET /metrics HTTP/1.1\r\nHost: hjul\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
            "{head}"
        );
        if value(&body, "hjul_mails_sent_total") > 0.0 {
            break body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "no mail counted:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = scrape;

    // A person's request, a wrong token at the sign-in, and a scanner's path.
    let (status, _) = get(addr, "/api/v1/status", &token).await;
    assert_eq!(status, 200);
    let (status, head, _) = exchange(
        addr,
        "GET /login HTTP/1.1\r\nHost: hjul\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 200);
    let csrf = head
        .lines()
        .filter_map(|l| l.split_once(": "))
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .find_map(|(_, v)| v.strip_prefix("hjul_login_csrf="))
        .and_then(|v| v.split(';').next())
        .unwrap()
        .to_owned();
    let form = format!("csrf={csrf}&token=not-a-token&next=%2F");
    let (status, _, _) = exchange(
        addr,
        &format!(
            "POST /login HTTP/1.1\r\nHost: hjul\r\nCookie: hjul_login_csrf={csrf}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        ),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = get(addr, "/wp-login.php", "").await;
    assert_eq!(status, 404);

    let (status, text) = get(addr, "/metrics", &token).await;
    assert_eq!(status, 200);
    // What the database holds, read beside the service.
    let store = db.store().await;
    let in_state = |state: &str| format!("outbox_item WHERE state = '{state}'");
    let dead = hjul_tests::count(&store, &in_state("dead")).await;
    assert!(dead >= 1, "the refused leader's mail is not dead");
    for state in ["pending", "sent", "dead", "folded", "void"] {
        let series = format!("hjul_mail_items{{state=\"{state}\"}}");
        let n = hjul_tests::count(&store, &in_state(state)).await;
        assert_eq!(value(&text, &series), n as f64, "{series}\n{text}");
    }
    let sent_mails = smtp.received().len() as f64;
    assert_eq!(value(&text, "hjul_mails_sent_total"), sent_mails, "{text}");
    assert_eq!(
        value(&text, "hjul_mail_items_dead_total"),
        dead as f64,
        "{text}"
    );
    // The secretariat's notice of the dead letter waits for the next round.
    let due = value(&text, "hjul_mail_due_items");
    let waited = value(&text, "hjul_mail_oldest_due_age_seconds");
    assert!(due >= 1.0, "{text}");
    assert!(waited > 0.0 && waited < 120.0, "{text}");
    // The tick: every active unit read on the process's first tick, just now.
    assert_eq!(value(&text, "hjul_tick_units_read"), units as f64, "{text}");
    assert!(
        value(&text, "hjul_tick_duration_seconds_count") >= 1.0,
        "{text}"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let last = value(&text, "hjul_tick_last_success_timestamp_seconds");
    assert!(
        now - last < 120.0 && last <= now + 1.0,
        "{last} against {now}"
    );
    assert_eq!(
        value(&text, "hjul_leases_held{kind=\"tick\"}"),
        1.0,
        "{text}"
    );
    assert_eq!(value(&text, "hjul_report_queue_length"), 0.0, "{text}");
    assert!(
        value(&text, "hjul_db_pool_max_connections") >= 1.0,
        "{text}"
    );
    // Requests by route pattern and status; the scanner's path is not a series of its own.
    for (series, n) in [
        (
            r#"hjul_http_requests_total{method="GET",route="/metrics",status="401"}"#,
            1.0,
        ),
        (
            r#"hjul_http_requests_total{method="GET",route="/metrics",status="403"}"#,
            1.0,
        ),
        (
            r#"hjul_http_requests_total{method="GET",route="/api/v1/status",status="200"}"#,
            1.0,
        ),
        (
            r#"hjul_http_requests_total{method="POST",route="/login",status="401"}"#,
            1.0,
        ),
        (
            r#"hjul_http_requests_total{method="GET",route="unmatched",status="404"}"#,
            1.0,
        ),
        (r#"hjul_sign_ins_refused_total{reason="token"}"#, 1.0),
    ] {
        assert_eq!(value(&text, series), n, "{series}\n{text}");
    }
    assert!(!text.contains("wp-login"), "{text}");
    assert!(
        value(
            &text,
            r#"hjul_http_request_duration_seconds_count{method="GET",route="/api/v1/status"}"#
        ) >= 1.0
    );
    store.close().await.unwrap();
    promtool_accepts(&text);

    handle.stop();
    tokio::time::timeout(Duration::from_secs(20), running)
        .await
        .expect("the service stops on its signal")
        .unwrap()
        .unwrap();
}

/// `promtool check metrics` reads the text as Prometheus would, with its lint. Under CI
/// it must be there (`.ci/run` installs Debian's `prometheus`); elsewhere its absence is
/// said, not hidden.
fn promtool_accepts(text: &str) {
    use std::io::Write;
    let Ok(mut child) = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool is missing; .ci/run installs it (apt-get install prometheus)"
        );
        eprintln!("promtool is not installed here: the metrics' format was not checked by it");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The alert rules `docs/operations.md` gives are rules Prometheus loads: `promtool check
/// rules` reads them from the guide as written.
#[test]
fn the_guides_alert_rules_are_ones_prometheus_loads() {
    let guide = include_str!("../../docs/operations.md");
    let start = guide
        .find("```yaml\ngroups:")
        .expect("the alert rules in the guide")
        + 8;
    let rules = &guide[start..start + guide[start..].find("```").unwrap()];
    for name in ["HjulMailWaitsTooLong", "HjulDeadMail", "HjulTickStopped"] {
        assert!(rules.contains(name), "{name} is not in the guide's rules");
    }
    let file = std::env::temp_dir().join(format!("hjul-rules-{}.yml", std::process::id()));
    std::fs::write(&file, rules).unwrap();
    let Ok(out) = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&file)
        .output()
    else {
        let _ = std::fs::remove_file(&file);
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool is missing; .ci/run installs it (apt-get install prometheus)"
        );
        eprintln!("promtool is not installed here: the guide's rules were not checked by it");
        return;
    };
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "promtool check rules: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
