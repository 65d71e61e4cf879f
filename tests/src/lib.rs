//! Helpers for the end-to-end stories: a fresh database per test, on SQLite or on
//! PostgreSQL (`HJUL_TEST_PG_URL`, for example `postgres://postgres@127.0.0.1:5432/test`).

pub mod harness;
pub mod pg;
pub mod smtp;

/// Runs each story (an `async fn(TestDb)`) once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! stories {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(hjul_tests::TestDb::sqlite(stringify!($name))).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                #[cfg_attr(not(pg_tests), ignore = "HJUL_TEST_PG_URL is not set: PostgreSQL story skipped")]
                async fn $name() {
                    super::$name(hjul_tests::TestDb::postgres(stringify!($name)).await).await;
                }
            )*
        }
    };
}

use std::path::PathBuf;

use chrono::{NaiveDate, Utc};
use hjul_store::{CurrentWheel, Location, Stamp, Store};
use sea_orm::{ConnectionTrait, Database};

/// The example organisation, agreement and grades of `examples/`.
pub const ORGANISATION: &str = include_str!("../../examples/organisation.csv");
pub const AGREEMENT: &str = include_str!("../../examples/agreement.toml");
pub const GRADES: &str = include_str!("../../examples/grades.toml");

/// A database made afresh for one test.
pub struct TestDb {
    pub location: Location,
}

impl TestDb {
    /// A new SQLite file in a directory of its own.
    pub fn sqlite(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("hjul-story-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        Self {
            location: Location::Sqlite(dir.join("hjul.db")),
        }
    }

    /// A new PostgreSQL database named after the test, on the server of
    /// `HJUL_TEST_PG_URL`. A database left by an earlier run is dropped first.
    pub async fn postgres(name: &str) -> Self {
        let url =
            std::env::var("HJUL_TEST_PG_URL").expect("HJUL_TEST_PG_URL names a PostgreSQL server");
        let db_name = format!("hjul_t_{}", name.to_lowercase());
        let admin = Database::connect(url.as_str())
            .await
            .expect("connect to HJUL_TEST_PG_URL");
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {db_name} WITH (FORCE)"))
            .await
            .expect("drop the old test database");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {db_name}"))
            .await
            .expect("create the test database");
        admin.close().await.expect("close the admin connection");
        Self {
            location: Location::Postgres(with_database(&url, &db_name)),
        }
    }

    /// A store on this database with the schema in place and the built-in wheel.
    pub async fn store(&self) -> Store {
        self.store_with(CurrentWheel::builtin()).await
    }

    pub async fn store_with(&self, wheel: CurrentWheel) -> Store {
        let store = Store::open(&self.location, wheel, true)
            .await
            .expect("open the test database");
        store
            .migrate(|_, _| {})
            .await
            .expect("migrate the test database");
        store
    }

    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match &self.location {
            Location::Sqlite(p) => Some(p.clone()),
            Location::Postgres(_) => None,
        }
    }
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// An organisation of about `n` units: a director, three chiefs, a tenth of the rest as
/// leaders (level 3) and the others as daycare houses (level 4) under them.
pub fn organisation(n: usize) -> String {
    let mut csv = String::from("unit_id,name,level,parent_id,area,leader_name,leader_email\n");
    csv.push_str("bu,Børn & Unge,1,,department,Direktør,direktor@bench.dk\n");
    let chiefs = [("dt", "daycare"), ("sk", "school"), ("fr", "family")];
    for (id, area) in chiefs {
        csv.push_str(&format!(
            "{id},Chef {id},2,bu,{area},Chef {id},{id}@bench.dk\n"
        ));
    }
    let rest = n.saturating_sub(4);
    let leaders = (rest / 10).max(1);
    for i in 0..leaders {
        let (chief, area) = chiefs[i % 3];
        csv.push_str(&format!(
            "l{i},Leder {i},3,{chief},{area},Leder {i},l{i}@bench.dk\n"
        ));
    }
    for j in 0..rest.saturating_sub(leaders) {
        let parent = j % leaders;
        csv.push_str(&format!(
            "h{j},Hus {j},4,l{parent},daycare,Husleder {j},h{j}@bench.dk\n"
        ));
    }
    csv
}

/// Skovby Kommune from `examples/` imported, and cycle 2025's focus themes published on
/// 2026-03-20: where the API, dashboard and browser tests begin.
pub async fn skovby_with_themes(db: &TestDb, today: &str) -> Store {
    with_themes(db, ORGANISATION, today).await
}

/// A store with the organisation `csv` imported on `today` and cycle 2025's focus themes
/// published.
pub async fn with_themes(db: &TestDb, csv: &str, today: &str) -> Store {
    let store = db.store().await;
    let org = hjul_wheel::Organisation::from_csv(csv, |_| {}).expect("a test's organisation");
    let s = stamp(today);
    store
        .import_organisation(&org, &s, |_, _| {})
        .await
        .expect("import the example organisation");
    store
        .record_milestone(
            2025,
            hjul_wheel::Deadline::ThemesPublished,
            date("2026-03-20"),
            Some(vec!["Sprog".into()]),
            &s,
        )
        .await
        .expect("publish the themes");
    store
}

/// The application core over `store`, acting on `stamp`'s day, with the built-in report
/// templates, and the operator (the secretariat) named as `stamp` names the actor.
pub fn core(store: &Store, stamp: &Stamp) -> (hjul_app::Core, hjul_app::Actor) {
    core_with(
        store,
        stamp,
        hjul_report::Templates::load(None).expect("the built-in report templates"),
    )
}

/// The application core as [`core`], with the report templates `templates` (a
/// municipality's changed copy).
pub fn core_with(
    store: &Store,
    stamp: &Stamp,
    templates: hjul_report::Templates,
) -> (hjul_app::Core, hjul_app::Actor) {
    let at = stamp.at;
    let core = hjul_app::Core::new(
        store.clone(),
        std::sync::Arc::new(move || at),
        "sekretariat@skovby.dk".into(),
        templates,
    )
    .on_day(Some(stamp.today));
    let actor = hjul_app::Actor::operator(&stamp.actor, "sekretariat@skovby.dk");
    (core, actor)
}

/// Records `report_final` of cycle `year` on `on` through the core, as the dashboard, the
/// API and the command line do: the department's report made and kept with it.
pub async fn record_final(
    store: &Store,
    year: i32,
    on: NaiveDate,
    stamp: &Stamp,
) -> Result<Option<hjul_app::FinalReport>, hjul_app::CoreError> {
    let (core, actor) = core(store, stamp);
    core.record_milestone(&actor, (year, hjul_wheel::Deadline::ReportFinal, on), None)
        .await
}

/// A unit's id as a test writes it; a test's ids are always well formed.
pub fn unit_of(id: &str) -> hjul_wheel::UnitId {
    hjul_wheel::UnitId::parse(id).expect("a well-formed unit id")
}

pub fn date(s: &str) -> NaiveDate {
    s.parse().expect("a date in the test")
}

/// Acting as the secretariat on `today`.
pub fn stamp(today: &str) -> Stamp {
    Stamp {
        actor: "test".into(),
        at: Utc::now(),
        today: date(today),
    }
}

/// How many rows a table has (to show that a refused change wrote nothing).
pub async fn count(store: &Store, table: &str) -> i64 {
    let backend = store.backend();
    let row = store
        .connection()
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .expect("count rows")
        .expect("one row");
    row.try_get::<i64>("", "n").expect("a count")
}

/// Row counts of every table, to compare before and after.
pub async fn counts(store: &Store) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    for t in [
        "person",
        "unit",
        "cycle",
        "milestone",
        "unit_event",
        "agreement",
        "goal",
        "grade",
        "audit_log",
    ] {
        out.push((t.to_owned(), count(store, t).await));
    }
    out
}

/// The scheduler's settings for tests: the secretariat of Skovby.
pub fn scheduler_settings() -> hjul_scheduler::SchedulerSettings {
    hjul_scheduler::SchedulerSettings::new(hjul_scheduler::Secretariat {
        email: "sekretariat@skovby.dk".into(),
        name: "Sekretariatet".into(),
        language: hjul_wheel::Language::Da,
    })
}

/// Mail settings that send to the test server on `port` (plain SMTP on loopback).
pub fn mail_settings(port: u16) -> hjul_mail::MailSettings {
    hjul_mail::MailSettings {
        from: "Kvalitetshjulet <hjul@skovby.dk>"
            .parse()
            .expect("an address"),
        reply_to: Some("sekretariat@skovby.dk".parse().expect("an address")),
        smtp: Some(smtp_settings(port)),
        outbox_dir: std::env::temp_dir().join("hjul-test-outbox"),
        templates: None,
    }
}

pub fn smtp_settings(port: u16) -> hjul_mail::SmtpSettings {
    hjul_mail::SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        tls: hjul_mail::TlsMode::None,
        user: None,
        password: None,
        timeout_secs: 5,
        tcp_nodelay: true,
    }
}

/// A scheduler on `store` that sends to the test server on `port`.
pub fn scheduler(store: Store, port: u16) -> hjul_scheduler::Scheduler {
    hjul_scheduler::Scheduler::new(
        store,
        scheduler_settings(),
        mail_settings(port),
        hjul_mail::Templates::load(None).expect("the built-in templates"),
    )
}

/// The service as `hjul serve` builds it (`Service::build`, on port 0) over this database
/// with `wheel`, on the test's clock; its mail goes to files in a directory of its own.
/// Where the test service's accessibility statement is (Skovby's, made in the WAS-Tool).
pub const ACCESSIBILITY_STATEMENT: &str = "https://www.was.digst.dk/hjul-skovby-dk";

/// Its stop signal is never given: a story ends with its process.
pub async fn service(
    db: &TestDb,
    wheel: CurrentWheel,
    clock: impl hjul_scheduler::Clock + 'static,
) -> hjul_service::Service {
    service_with(db, wheel, clock, None, true).await
}

/// [`service`] with people signing in through the municipality's login (`oidc`), and
/// with tokens on the dashboard or not (`token_sign_in`).
pub async fn service_with(
    db: &TestDb,
    wheel: CurrentWheel,
    clock: impl hjul_scheduler::Clock + 'static,
    oidc: Option<hjul_app::OidcSettings>,
    token_sign_in: bool,
) -> hjul_service::Service {
    let settings = hjul_service::Settings {
        scheduler: scheduler_settings(),
        mail: hjul_mail::MailSettings {
            smtp: None,
            outbox_dir: std::env::temp_dir().join(format!("hjul-service-{}", std::process::id())),
            ..mail_settings(0)
        },
        min_responses: 5,
        report_templates: None,
        report_link_hosts: vec!["skovby.dk".to_owned()],
        accessibility_statement: Some(ACCESSIBILITY_STATEMENT.to_owned()),
        oidc,
        token_sign_in,
        retention: hjul_store::Retention::default(),
        http: hjul_api::Limits::default(),
        source: "the test".into(),
    };
    let database = hjul_service::Database {
        location: db.location.clone(),
        wheel,
        actor: "test".into(),
    };
    let (handle, stop) = hjul_service::Stop::new();
    // A dropped handle is a stop: kept for the life of the process instead.
    std::mem::forget(handle);
    hjul_service::Service::build(
        &settings,
        database,
        std::sync::Arc::new(clock),
        "127.0.0.1:0".parse().expect("an address"),
        stop,
    )
    .await
    .expect("the service builds")
    .expect("no stop was given")
}

/// 08:00 in Copenhagen on `day`, as UTC.
pub fn eight(day: &str) -> chrono::DateTime<Utc> {
    let def = hjul_wheel::WheelDefinition::builtin();
    hjul_wheel::reminders::mail_instant(def.mail_time, date(day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced_in_urls() {
        assert_eq!(
            with_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
