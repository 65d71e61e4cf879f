//! Upgrades: a database as the previous release left it (schema of migrations 1–3,
//! mid-cycle, 96 items sent on 7 April 2026; written by that release's own binary with
//! `tests/fixtures/make-previous-schema.sh`) is migrated, and its running cycle goes on
//! with the same deadlines and no mail sent again.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use hjul_mail::{Sender, SmtpSender};
use hjul_store::{Location, OutboxState, Store, StoreError};
use hjul_tests::smtp::SmtpServer;
use hjul_tests::{TestDb, date, eight, scheduler, smtp_settings, stories, unit_of};
use sea_orm::{ConnectionTrait, Database};

stories!(
    a_database_of_the_previous_release_is_migrated_and_its_cycle_goes_on,
    an_outbox_row_hjul_cannot_read_is_kept_and_told_not_guessed,
);

const FIXTURE_DB: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/previous-schema.db");
const FIXTURE_PG: &str = include_str!("../fixtures/previous-schema.pg.sql");
const FIXTURE_DEADLINES: &str = include_str!("../fixtures/previous-schema.deadlines.json");

/// Puts the previous release's database where `db` points.
async fn load_fixture(db: &TestDb) {
    match &db.location {
        Location::Sqlite(path) => {
            std::fs::copy(FIXTURE_DB, path).unwrap();
        }
        Location::Postgres(url) => {
            // The dump resets search_path on its connection: run it on one of its own.
            let c = Database::connect(url.as_str()).await.unwrap();
            c.execute_unprepared(FIXTURE_PG).await.unwrap();
            c.close().await.unwrap();
        }
    }
}

/// Every unit's deadlines (due dates, states, who) as the status read shows them.
async fn deadlines(store: &Store, at: NaiveDate) -> BTreeMap<String, serde_json::Value> {
    let units: Vec<String> = store
        .status(at, &hjul_store::StatusFilter::default(), None)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.unit_id)
        .collect();
    assert_eq!(units.len(), 16, "Skovby's 16 units");
    let mut out = BTreeMap::new();
    for u in units {
        let t = store.timeline(&unit_of(&u), at, None).await.unwrap();
        let mut v = serde_json::to_value(&t.deadlines).unwrap();
        // Added since the previous release: not part of the comparison.
        for d in v.as_array_mut().unwrap() {
            d.as_object_mut().unwrap().remove("who_name");
            d.as_object_mut().unwrap().remove("task");
        }
        out.insert(u, v);
    }
    out
}

/// Key → (state, Message-ID, sent at) of every item, read with the columns every
/// release has had, so a database of an earlier release can be read before it is
/// migrated.
async fn items_as_found(
    store: &Store,
) -> BTreeMap<String, (OutboxState, Option<String>, Option<String>)> {
    use sea_orm::ConnectionTrait;
    let rows = store
        .connection()
        .query_all_raw(sea_orm::Statement::from_string(
            store.backend(),
            "SELECT key, state, message_id, sent_at FROM outbox_item".to_owned(),
        ))
        .await
        .unwrap();
    rows.into_iter()
        .map(|r| {
            let sent: Option<chrono::DateTime<chrono::Utc>> = r.try_get("", "sent_at").unwrap();
            let state: String = r.try_get("", "state").unwrap();
            (
                r.try_get::<String>("", "key").unwrap(),
                (
                    OutboxState::parse(&state).unwrap(),
                    r.try_get::<Option<String>>("", "message_id").unwrap(),
                    sent.map(|s| s.to_rfc3339()),
                ),
            )
        })
        .collect()
}

/// Key → (state, Message-ID, sent at) of every item.
async fn items(store: &Store) -> BTreeMap<String, (OutboxState, Option<String>, Option<String>)> {
    store
        .outbox(None, u64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|i| {
            (
                i.key,
                (i.state, i.message_id, i.sent_at.map(|s| s.to_rfc3339())),
            )
        })
        .collect()
}

async fn a_database_of_the_previous_release_is_migrated_and_its_cycle_goes_on(db: TestDb) {
    load_fixture(&db).await;
    let wheel = hjul_store::CurrentWheel::builtin();

    // As found: behind by exactly the migrations added since, and refused until migrated.
    match Store::open_current(&db.location, wheel.clone()).await {
        Err(StoreError::SchemaBehind(pending)) => {
            assert_eq!(
                pending,
                [
                    "m20261201_000005_people",
                    "m20261202_000006_outbox_checked",
                    "m20261202_000007_measurement",
                    "m20261203_000008_measured_goals",
                    "m20261204_000009_follow_ups",
                    "m20261205_000010_final_report",
                    "m20261206_000011_dialogue_for_report",
                    "m20261207_000012_unit_standing",
                    "m20261208_000013_standing_mail",
                    "m20261209_000014_versions",
                    "m20261210_000015_standing_counted",
                    "m20261211_000016_standing_rebuilt",
                    "m20261212_000017_cycle_started_how",
                    "m20261213_000018_person_sessions",
                    "m20261214_000019_settings",
                    "m20261215_000020_deputies",
                    "m20261216_000021_unit_joined",
                    "m20261217_000022_outbox_addressed",
                    "m20261218_000023_outbox_taken_over",
                    "m20261219_000024_unit_comes_on",
                    "m20261220_000025_read_log",
                    "m20261221_000026_audit_retention",
                    "m20261222_000027_departed",
                    "m20261223_000028_sent_mail",
                ]
            );
        }
        other => panic!("expected the schema to be behind, got {:?}", other.err()),
    }
    let store = Store::open(&db.location, wheel.clone(), false)
        .await
        .unwrap();
    let at = date("2026-04-07");
    // What the previous release showed (it wrote this beside the database).
    let before: BTreeMap<String, serde_json::Value> =
        serde_json::from_str(FIXTURE_DEADLINES).unwrap();
    // Read as the previous release wrote them (its columns), not through today's rows.
    let items_before = items_as_found(&store).await;
    let sent_before: BTreeSet<String> = items_before
        .iter()
        .filter(|(_, (state, _, _))| *state == OutboxState::Sent)
        .map(|(k, _)| k.clone())
        .collect();
    assert_eq!(sent_before.len(), 96, "the fixture's first round of mail");

    let applied = store.migrate(|_, _| {}).await.unwrap();
    assert!(!applied.is_empty());
    store.close().await.unwrap();
    let store = Store::open_current(&db.location, wheel).await.unwrap();

    // How a cycle was started, once written into who started it, is a column of its own.
    let cycles = store.cycles().await.unwrap();
    assert_eq!(cycles.len(), 2, "{cycles:?}");
    for c in &cycles {
        assert_eq!(c.started_by, "fixture", "{c:?}");
        assert_eq!(c.started_how, hjul_store::StartedHow::OnFirstDay, "{c:?}");
    }

    // The standing projection was built for the cycles on record by the migration, and
    // gives what the events give; status reads it.
    assert!(hjul_tests::count(&store, "unit_standing").await >= 16);
    assert!(store.check_standing().await.unwrap().is_empty());
    let filter = hjul_store::StatusFilter::default();
    assert_eq!(
        store.status(at, &filter, None).await.unwrap(),
        store.status_folded(at, &filter, None).await.unwrap()
    );

    // The same deadlines, and the same due dates the mail already sent told people.
    let mut after = deadlines(&store, at).await;
    assert_eq!(before.len(), 16);
    // Changed on purpose since the previous release: a midway status without an
    // agreement in force waits for the signature (it cannot be given, and is never
    // late: the agreement is). Its opening and state are left out of the comparison;
    // its due date and who gives it are still compared.
    let mut before = before;
    let mut waiting = 0;
    for (unit, rows) in &mut after {
        for (i, row) in rows.as_array_mut().unwrap().iter_mut().enumerate() {
            let r = row.as_object_mut().unwrap();
            if r["deadline"] == "midway_status" && r["state"]["state"] == "waiting" {
                assert_eq!(r["waiting_for"], serde_json::json!(["agreement_signed"]));
                let old = before.get_mut(unit).unwrap()[i].as_object_mut().unwrap();
                assert_eq!(old["deadline"], "midway_status");
                for key in ["opens", "state", "waiting_for"] {
                    r.remove(key);
                    old.remove(key);
                }
                waiting += 1;
            }
        }
    }
    assert!(
        waiting > 0,
        "the fixture has units with no agreement in force"
    );
    assert_eq!(before, after);
    let mut checked = 0;
    for item in store
        .outbox(Some(OutboxState::Sent), u64::MAX)
        .await
        .unwrap()
    {
        let (Some(unit), Some(deadline), Some(due)) = (&item.unit_id, item.deadline, item.due_on)
        else {
            continue;
        };
        let t = store.timeline(&unit_of(unit), at, None).await.unwrap();
        if item.cycle != Some(t.cycle) {
            continue; // the cycle before: its deadlines are not the running cycle's
        }
        let d = t
            .deadlines
            .iter()
            .find(|d| d.status.deadline == deadline)
            .unwrap_or_else(|| panic!("{unit} has no deadline {deadline} after the upgrade"));
        assert_eq!(d.status.due, Some(due), "{}", item.key);
        checked += 1;
    }
    assert!(
        checked > 10,
        "only {checked} sent items name a unit's deadline"
    );

    // The service goes on: the rest of 7 April sends nothing of what went before the
    // upgrade; the following weeks send only what is new. New in this release: the
    // secretariat hears once that cycle 2023 (on record, ended) is over, and what it left
    // unmet; nobody else is mailed about it.
    let server = SmtpServer::start().await;
    let s = scheduler(store, server.port());
    let sender = Sender::Smtp(SmtpSender::new(smtp_settings(server.port())));
    let later = eight("2026-04-07") + chrono::Duration::minutes(5);
    let (tick, dispatch) = s.run_once(&sender, later).await.unwrap();
    let created: Vec<&str> = tick.created.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(created, vec!["cycle-ended:2023"], "{:?}", tick.created);
    assert_eq!(dispatch.sent.len(), 1, "{:?}", dispatch.sent);
    assert_eq!(dispatch.sent[0].kind, hjul_mail::MailKind::CycleEnded);
    assert_eq!(server.received().len(), 1);
    let (tick, dispatch) = s.run_once(&sender, later).await.unwrap();
    assert!(tick.created.is_empty() && dispatch.sent.is_empty(), "once");

    for day in date("2026-04-08")
        .iter_days()
        .take_while(|d| *d <= date("2026-05-31"))
    {
        s.run_once(&sender, eight(&day.to_string())).await.unwrap();
    }
    let items_after = items(s.store()).await;
    for (key, old) in &items_before {
        if old.0 == OutboxState::Sent {
            assert_eq!(
                items_after.get(key),
                Some(old),
                "{key} changed after sending"
            );
        }
    }
    let received = server.received();
    assert!(
        received.len() > 5,
        "the cycle went on: overdue dialogues and the rest ({} mails)",
        received.len()
    );
    let old_ids: BTreeSet<&str> = items_before
        .values()
        .filter_map(|(_, id, _)| id.as_deref())
        .collect();
    for r in &received {
        let id = r.header("Message-ID").unwrap();
        assert!(!old_ids.contains(id.as_str()), "{id} was sent again");
    }
    // Every key newly sent is one the previous release had not sent.
    let newly_sent: BTreeSet<&String> = items_after
        .iter()
        .filter(|(k, (state, _, _))| *state == OutboxState::Sent && !sent_before.contains(*k))
        .map(|(k, _)| k)
        .collect();
    assert!(!newly_sent.is_empty());
    // …and none tells again what a sent one told, whatever its key (a key changed by an
    // upgrade would slip past the unique index and send the same reminder twice).
    let what = |i: &hjul_store::OutboxItem| {
        format!(
            "{:?} {:?} {:?} {} {:?} {} {}",
            i.cycle, i.unit_id, i.deadline, i.kind, i.days_before, i.party, i.due_at
        )
    };
    let all = s.store().outbox(None, u64::MAX).await.unwrap();
    let told_before: BTreeSet<String> = all
        .iter()
        .filter(|i| sent_before.contains(&i.key))
        .map(what)
        .collect();
    for i in all.iter().filter(|i| newly_sent.contains(&i.key)) {
        assert!(
            !told_before.contains(&what(i)),
            "{} repeats {}",
            i.key,
            what(i)
        );
    }
    s.close().await.unwrap();
}

/// A raw connection to the test database, to write what hjul itself never would.
async fn raw(db: &TestDb) -> sea_orm::DatabaseConnection {
    let url = match &db.location {
        Location::Sqlite(path) => format!("sqlite://{}?mode=rw", path.display()),
        Location::Postgres(url) => url.clone(),
    };
    Database::connect(url.as_str()).await.unwrap()
}

/// The text values one column of a query gives, in order.
async fn texts(c: &sea_orm::DatabaseConnection, sql: &str, column: &str) -> Vec<String> {
    c.query_all_raw(sea_orm::Statement::from_string(
        c.get_database_backend(),
        sql.to_owned(),
    ))
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.try_get::<String>("", column).unwrap())
    .collect()
}

/// The outbox's row count and index names, as the database holds them.
async fn outbox_shape(c: &sea_orm::DatabaseConnection) -> (usize, Vec<String>) {
    let rows = texts(c, "SELECT key FROM outbox_item", "key").await.len();
    let mut indexes =
        match c.get_database_backend() {
            sea_orm::DbBackend::Postgres => {
                texts(
                    c,
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'outbox_item' \
                 AND indexname IN ('outbox_due', 'outbox_deadline', 'outbox_recipient_sent')",
                    "indexname",
                )
                .await
            }
            _ => texts(
                c,
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox_item' \
                 AND name IN ('outbox_due', 'outbox_deadline', 'outbox_recipient_sent')",
                "name",
            )
            .await,
        };
    indexes.sort();
    (rows, indexes)
}

async fn an_outbox_row_hjul_cannot_read_is_kept_and_told_not_guessed(db: TestDb) {
    load_fixture(&db).await;
    // As another build might have left them: an item still to go of a kind this one does
    // not know, a sent one for a party it does not know, and a dead one (already told of
    // when it died) of a kind it does not know.
    let c = raw(&db).await;
    let first =
        |state: &str| format!("SELECT key FROM outbox_item WHERE state = '{state}' ORDER BY key");
    let folded = texts(&c, &first("folded"), "key").await;
    let (waiting, old_dead) = (folded[0].clone(), folded[1].clone());
    let sent = texts(&c, &first("sent"), "key").await[0].clone();
    for update in [
        format!(
            "UPDATE outbox_item SET state = 'pending', kind = 'reminder_v0' WHERE key = '{waiting}'"
        ),
        format!("UPDATE outbox_item SET party = 'chief' WHERE key = '{sent}'"),
        format!("UPDATE outbox_item SET state = 'dead', kind = 'nudge' WHERE key = '{old_dead}'"),
    ] {
        c.execute_unprepared(&update).await.unwrap();
    }
    let shape_before = outbox_shape(&c).await;
    assert_eq!(shape_before.1.len(), 3, "{shape_before:?}");
    c.close().await.unwrap();

    let wheel = hjul_store::CurrentWheel::builtin();
    let store = Store::open(&db.location, wheel.clone(), false)
        .await
        .unwrap();
    store.migrate(|_, _| {}).await.unwrap();
    store.close().await.unwrap();
    let store = Store::open_current(&db.location, wheel).await.unwrap();
    let all = store.outbox(None, u64::MAX).await.unwrap();
    let find = |key: &str| all.iter().find(|i| i.key == key).unwrap().clone();

    // The one still to go is a dead letter that says what was stored; nothing is guessed.
    let dead = find(&waiting);
    assert_eq!(dead.state, OutboxState::Dead);
    let error = dead.last_error.clone().unwrap();
    assert!(error.contains("kind 'reminder_v0'"), "{error}");
    // The sent one stays sent, and keeps what it held.
    let kept = find(&sent);
    assert_eq!(kept.state, OutboxState::Sent);
    assert!(kept.last_error.unwrap().contains("party 'chief'"));
    // The secretariat is told of the first (of the sent one there is nothing to do, and
    // the dead one was told of when it died).
    let notice = find(&format!("dead:{}", dead.id));
    assert_eq!(notice.state, OutboxState::Pending);
    assert!(all.iter().filter(|i| i.key.starts_with("dead:")).count() == 1);
    let still_dead = find(&old_dead);
    assert_eq!(still_dead.state, OutboxState::Dead);
    assert!(
        still_dead
            .last_error
            .clone()
            .unwrap()
            .contains("kind 'nudge'")
    );
    // The rebuilt table kept every row (one notice more) and its indexes.
    let c = raw(&db).await;
    let shape_after = outbox_shape(&c).await;
    c.close().await.unwrap();
    assert_eq!(shape_after, (shape_before.0 + 1, shape_before.1.clone()));

    // …in the next morning's mail, which says what it is and what to do.
    let server = SmtpServer::start().await;
    let s = scheduler(store, server.port());
    let sender = Sender::Smtp(SmtpSender::new(smtp_settings(server.port())));
    s.run_once(&sender, eight("2026-04-08")).await.unwrap();
    let to_secretariat: Vec<String> = server
        .received()
        .iter()
        .filter(|m| m.to.iter().any(|t| t.starts_with("sekretariat")))
        .map(|m| m.plain().unwrap())
        .collect();
    assert_eq!(to_secretariat.len(), 1, "{to_secretariat:#?}");
    let text = &to_secretariat[0];
    for part in [
        "En post i hjuls udbakke kunne ikke læses, og den er ikke sendt",
        waiting.as_str(),
        "kind 'reminder_v0'",
        "Sig det til den, der driver hjul",
    ] {
        assert!(text.contains(part), "{part:?} in\n{text}");
    }
    // Any number of ticks later, and in any database, the kind column holds only keys.
    let c = raw(&db).await;
    let refused = c
        .execute_unprepared(&format!(
            "UPDATE outbox_item SET kind = 'reminder_v0' WHERE key = '{sent}'"
        ))
        .await;
    assert!(
        refused.is_err(),
        "the CHECK constraint refuses an unknown kind"
    );
    c.close().await.unwrap();
    s.close().await.unwrap();
}

/// `hjul backup` while a tick and ten writes run: the copy is one moment's records, whole
/// by its manifest; restored elsewhere it agrees with itself (what `hjul doctor` asks); a
/// copy that is not what its manifest says is refused; restoring over a database moves
/// that one aside; and the previous release's database, restored, is migrated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_made_while_others_write_is_restored_whole_and_an_older_one_migrated() {
    use hjul_store::{Backup, CurrentWheel};
    let db = TestDb::sqlite("backup");
    let store = hjul_tests::skovby_with_themes(&db, "2026-03-20").await;
    let Location::Sqlite(live) = &db.location else {
        unreachable!()
    };
    let dir = live.parent().unwrap().to_path_buf();
    let copy = dir.join("kopi.db");
    let s = hjul_tests::stamp("2026-03-20");
    let writes = {
        let (store, s) = (store.clone(), s.clone());
        tokio::spawn(async move {
            for (i, unit) in [
                "dt-nord",
                "dt-syd",
                "dt-nord-1",
                "dt-nord-2",
                "dt-nord-3",
                "dt-syd-1",
                "dt-syd-2",
                "sk-vest",
                "sk-oest",
                "sk-by",
            ]
            .iter()
            .enumerate()
            {
                let on = date("2026-03-02") + chrono::Duration::days(i as i64);
                store
                    .record_dialogue(&unit_of(unit), on, Some(format!("samtale {i}")), &s)
                    .await
                    .unwrap();
            }
        })
    };
    let tick = {
        let sched = scheduler(store.clone(), 9);
        tokio::spawn(async move { sched.tick(eight("2026-03-20")).await.unwrap() })
    };
    let made = store
        .backup_to(&copy, chrono::Utc::now(), "test")
        .await
        .unwrap();
    writes.await.unwrap();
    tick.await.unwrap();
    let Backup::Copied(manifest) = made else {
        panic!("SQLite is copied")
    };
    let newest = Store::open(&db.location, CurrentWheel::builtin(), false)
        .await
        .unwrap();
    assert!(newest.pending_migrations().await.unwrap().is_empty());
    assert_eq!(manifest.schema, "m20261223_000028_sent_mail");
    assert_eq!(manifest.counts["unit"], 16);
    assert!(manifest.counts["unit_event"] <= 10, "{manifest:?}");
    assert_eq!(
        (manifest.bytes, manifest.sha256.clone()),
        hjul_store::backup_digest(&copy).unwrap()
    );
    // A copy is never written over.
    assert!(
        store
            .backup_to(&copy, chrono::Utc::now(), "test")
            .await
            .is_err()
    );

    // Restored elsewhere: the same rows, and every unit's standing agrees with its events.
    let target = dir.join("restored.db");
    let (restored, r) = Store::restore_from(
        &copy,
        Some(&manifest),
        &target,
        CurrentWheel::builtin(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert!(r.migrated.is_empty() && r.moved_aside.is_none(), "{r:?}");
    for (table, n) in &manifest.counts {
        assert_eq!(
            hjul_tests::count(&restored, table).await,
            *n as i64,
            "{table}"
        );
    }
    assert!(restored.check_standing().await.unwrap().is_empty());
    restored.close().await.unwrap();
    // Again over it: the one there is moved aside, not lost.
    let (again, r) = Store::restore_from(
        &copy,
        Some(&manifest),
        &target,
        CurrentWheel::builtin(),
        chrono::Utc::now() + chrono::Duration::seconds(2),
    )
    .await
    .unwrap();
    let aside = r.moved_aside.expect("the database there is moved aside");
    assert!(aside.exists() && target.exists());
    again.close().await.unwrap();

    // Not the copy its manifest describes: refused, nothing put in place.
    let mut other = manifest.clone();
    other.sha256 = "0".repeat(64);
    let elsewhere = dir.join("never.db");
    let err = Store::restore_from(
        &copy,
        Some(&other),
        &elsewhere,
        CurrentWheel::builtin(),
        chrono::Utc::now(),
    )
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("damaged"), "{err}");
    assert!(!elsewhere.exists());

    // A copy made by a newer hjul (a migration this one does not know): refused, nothing
    // put in place and no working file left beside.
    let ahead = dir.join("ahead.db");
    std::fs::copy(&copy, &ahead).unwrap();
    let newer = Store::open(
        &Location::Sqlite(ahead.clone()),
        CurrentWheel::builtin(),
        false,
    )
    .await
    .unwrap();
    newer
        .connection()
        .execute_unprepared(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('m29991231_000099_from_a_newer_hjul', 0)",
        )
        .await
        .unwrap();
    newer.close().await.unwrap();
    let err = Store::restore_from(
        &ahead,
        None,
        &elsewhere,
        CurrentWheel::builtin(),
        chrono::Utc::now(),
    )
    .await
    .err()
    .unwrap();
    assert!(matches!(err, StoreError::SchemaAhead(_)), "{err:?}");
    assert!(!elsewhere.exists());
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.contains("restoring"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // The previous release's database: migrated as it is put back, the file given left
    // as it was.
    let before = hjul_store::backup_digest(std::path::Path::new(FIXTURE_DB)).unwrap();
    let old = dir.join("old.db");
    let (older, r) = Store::restore_from(
        std::path::Path::new(FIXTURE_DB),
        None,
        &old,
        CurrentWheel::builtin(),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert!(r.migrated.len() > 20, "{r:?}");
    assert!(older.pending_migrations().await.unwrap().is_empty());
    assert!(older.check_standing().await.unwrap().is_empty());
    assert_eq!(
        hjul_store::backup_digest(std::path::Path::new(FIXTURE_DB)).unwrap(),
        before
    );
}
