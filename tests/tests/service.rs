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

hjul_tests::stories!(the_service_serves_mails_and_stops_on_its_signal);

/// One GET over a fresh connection: the status and the body.
async fn get(addr: std::net::SocketAddr, path: &str, token: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: hjul\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
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
    let settings = Settings {
        scheduler: scheduler_settings(),
        mail: mail_settings(smtp.port()),
        min_responses: 5,
        report_templates: None,
        source: "the test".into(),
    };
    let database = Database {
        location: db.location.clone(),
        wheel: CurrentWheel::builtin(),
        actor: "test".into(),
    };
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
