//! The same stories against SQLite and PostgreSQL: import, a whole cycle of events,
//! status before and after each deadline, re-import, refusals, and crashes halfway.
#![allow(clippy::unwrap_used)]

use hjul_store::{CurrentWheel, FaultPoint, StatusFilter, StatusRow, Store, StoreError};
use hjul_tests::{
    AGREEMENT, GRADES, ORGANISATION, TestDb, count, counts, date, stamp, stories, unit_of,
};
use hjul_wheel::{Area, Deadline, Level, Organisation, Refusal, Step};

stories!(
    a_whole_cycle_with_status_before_and_after_each_deadline,
    reimport_updates_in_place_with_a_new_leader_and_deactivates,
    every_refused_event_says_why_and_writes_nothing,
    a_crash_halfway_leaves_the_database_as_it_was,
    a_cycle_keeps_the_wheel_it_started_with,
    the_schema_is_checked_and_migrating_twice_is_safe,
    the_audit_log_is_append_only_and_complete,
    status_filters_by_area_level_and_overdue,
    a_lease_has_one_holder_until_it_runs_out,
    leases_claimed_in_a_batch_keep_one_holder_each,
    a_batch_of_many_items_is_marked_past_the_limit_on_bound_values,
);

const TODAY: &str = "2027-09-01";

async fn imported(db: &TestDb) -> Store {
    let store = db.store().await;
    let org = Organisation::from_csv(ORGANISATION, |_| {}).unwrap();
    store
        .import_organisation(&org, &stamp(TODAY), |_, _| {})
        .await
        .unwrap();
    store
}

async fn row(store: &Store, unit: &str, at: &str) -> StatusRow {
    store
        .status(
            date(at),
            &StatusFilter::default(),
            Some("sekretariat@skovby.dk"),
        )
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.unit_id == unit)
        .unwrap_or_else(|| panic!("{unit} in status"))
}

/// (step, next deadline and its due date, overdue days)
async fn standing(
    store: &Store,
    unit: &str,
    at: &str,
) -> (Option<Step>, Option<(Deadline, String)>, i64) {
    let r = row(store, unit, at).await;
    (
        r.step,
        r.next_deadline.map(|n| (n.deadline, n.due.to_string())),
        r.overdue_days,
    )
}

async fn a_whole_cycle_with_status_before_and_after_each_deadline(db: TestDb) {
    let store = imported(&db).await;
    let s = stamp(TODAY);
    store
        .record_milestone(2025, Deadline::DataCollected, date("2025-12-18"), None, &s)
        .await
        .unwrap();
    store
        .record_milestone(
            2025,
            Deadline::ThemesPublished,
            date("2026-03-20"),
            Some(vec!["Sprog".into(), "Fravær".into()]),
            &s,
        )
        .await
        .unwrap();
    store
        .record_milestone(2025, Deadline::ReportFinal, date("2026-09-24"), None, &s)
        .await
        .unwrap();

    // A daycare house: dialogue 14 March; the agreement opens with the themes on 20
    // March and is due 30 days later, 19 April, a Sunday: Friday 17 April.
    store
        .record_dialogue(
            &unit_of("dt-nord-1"),
            date("2026-03-14"),
            Some("referat".into()),
            &s,
        )
        .await
        .unwrap();
    assert_eq!(
        standing(&store, "dt-nord-1", "2026-03-01").await,
        (
            Some(Step::AwaitingDialogue),
            Some((Deadline::DialogueHeld, "2026-06-30".into())),
            0
        )
    );
    assert_eq!(
        standing(&store, "dt-nord-1", "2026-03-16").await,
        (Some(Step::AwaitingAgreement), None, 0),
        "the agreement waits for the themes"
    );
    assert_eq!(
        standing(&store, "dt-nord-1", "2026-04-17").await,
        (
            Some(Step::AwaitingAgreement),
            Some((Deadline::AgreementSigned, "2026-04-17".into())),
            0
        )
    );
    assert_eq!(standing(&store, "dt-nord-1", "2026-04-18").await.2, 1);
    let submitted = store
        .submit_agreement(
            &unit_of("dt-nord-1"),
            date("2026-04-09"),
            AGREEMENT,
            "agreement.toml",
            &s,
        )
        .await
        .unwrap();
    assert_eq!(submitted.revision, 1);
    assert!(submitted.warnings.is_empty(), "{:?}", submitted.warnings);
    assert_eq!(
        standing(&store, "dt-nord-1", "2026-04-18").await.0,
        Some(Step::AwaitingSignature)
    );
    store
        .sign_agreement(&unit_of("dt-nord-1"), date("2026-04-20"), &s)
        .await
        .unwrap();
    let r = row(&store, "dt-nord-1", "2026-04-21").await;
    assert_eq!(r.step, Some(Step::InForce));
    // Next is the first half-yearly status on the goals (the end of December 2026,
    // moved off New Year's Eve, a closing day), not the midway status of September 2027.
    assert_eq!(
        r.next_deadline.map(|n| (n.deadline, n.due.to_string())),
        Some((Deadline::GoalStatus, "2026-12-30".into()))
    );
    assert_eq!(r.agreement.as_ref().map(|a| a.score), Some(None));
    // Its leader answers for the agreement; the area leader for the dialogue.
    assert_eq!(r.responsible, "bo.nielsen@skovby.dk");
    assert_eq!(
        row(&store, "dt-nord-2", "2026-05-01").await.responsible,
        "anna.bech@skovby.dk"
    );

    // An area leader (level 3) whose dialogue never happens: overdue from 1 July.
    assert_eq!(standing(&store, "dt-syd", "2026-06-30").await.2, 0);
    assert_eq!(standing(&store, "dt-syd", "2026-07-01").await.2, 1);
    assert_eq!(
        row(&store, "dt-syd", "2026-07-01").await.responsible,
        "carsten.vang@skovby.dk"
    );

    // A chief (level 2): awaiting the report, then 30 days: 24 October is a Saturday.
    assert_eq!(
        standing(&store, "dt", "2026-09-01").await,
        (Some(Step::AwaitingReport), None, 0)
    );
    assert_eq!(
        standing(&store, "dt", "2026-10-23").await,
        (
            Some(Step::AwaitingAgreement),
            Some((Deadline::AgreementSigned, "2026-10-23".into())),
            0
        )
    );
    assert_eq!(standing(&store, "dt", "2026-10-26").await.2, 3);
    assert_eq!(
        row(&store, "dt", "2026-10-26").await.responsible,
        "carsten.vang@skovby.dk"
    );

    // The midway status in Q3 2027 with grades: 40 × 50 % + 30 × 100 % + 30 × 0 % = 50 %.
    store
        .give_midway(
            &unit_of("dt-nord-1"),
            date("2027-08-12"),
            GRADES,
            "grades.toml",
            &s,
        )
        .await
        .unwrap();
    let r = row(&store, "dt-nord-1", "2027-08-13").await;
    assert_eq!(r.step, Some(Step::MidwayGiven));
    let agreement = r.agreement.unwrap();
    assert_eq!(
        agreement.score.map(hjul_wheel::Score::basis_points),
        Some(5000)
    );
    // Before the midway date the score is not there yet.
    assert_eq!(
        row(&store, "dt-nord-1", "2027-08-11")
            .await
            .agreement
            .unwrap()
            .score,
        None
    );
    // The director has no steps.
    let bu = row(&store, "bu", "2026-05-01").await;
    assert_eq!(
        (bu.step, bu.next_deadline, bu.overdue_days),
        (None, None, 0)
    );

    let t = store
        .timeline(&unit_of("dt-nord-1"), date(TODAY), None)
        .await
        .unwrap();
    assert_eq!(t.events.len(), 4);
    assert_eq!(t.events[0].notes.as_deref(), Some("referat"));
    assert_eq!(t.agreements.len(), 1);
    assert_eq!(
        t.agreements[0].goals[0].grade,
        Some(hjul_wheel::Grade::Partly)
    );
    assert_eq!(t.milestones.len(), 3);
    assert!(
        t.milestones
            .iter()
            .any(|m| m.themes == vec!["Sprog".to_owned(), "Fravær".to_owned()])
    );
}

async fn reimport_updates_in_place_with_a_new_leader_and_deactivates(db: TestDb) {
    let store = imported(&db).await;
    let s = stamp(TODAY);
    store
        .record_dialogue(&unit_of("dt-nord-2"), date("2026-04-02"), None, &s)
        .await
        .unwrap();
    let changed = ORGANISATION
        .replace(
            "Mette Juhl,mette.juhl@skovby.dk",
            "Ny Leder,ny.leder@skovby.dk",
        )
        .lines()
        .filter(|l| !l.starts_with("dt-syd-2,"))
        .collect::<Vec<_>>()
        .join("\n");
    let org = Organisation::from_csv(&changed, |_| {}).unwrap();
    let report = store
        .import_organisation(&org, &s, |_, _| {})
        .await
        .unwrap();
    assert_eq!(report.units_created, 0);
    assert_eq!(report.units_updated, 1);
    assert_eq!(report.units_deactivated, 1);
    assert_eq!(report.people_created, 1);
    assert_eq!(
        report.new_leaders,
        vec![(
            "dt-nord-2".into(),
            "mette.juhl@skovby.dk".into(),
            "ny.leder@skovby.dk".into()
        )]
    );
    // The new leader answers for what comes next; the history stays.
    let r = row(&store, "dt-nord-2", "2026-05-20").await;
    assert_eq!(r.responsible, "ny.leder@skovby.dk");
    assert_eq!(r.step, Some(Step::AwaitingAgreement));
    let rows = store
        .status(date("2026-05-20"), &StatusFilter::default(), None)
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.unit_id != "dt-syd-2"));
    assert_eq!(rows.len(), 15);
    let err = store
        .record_dialogue(&unit_of("dt-syd-2"), date("2026-04-02"), None, &s)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InactiveUnit(_)), "{err}");
    // The same file again changes nothing; the original brings dt-syd-2 back.
    let again = store
        .import_organisation(&org, &s, |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        (
            again.units_updated,
            again.units_unchanged,
            again.units_deactivated
        ),
        (0, 15, 0)
    );
    let org = Organisation::from_csv(ORGANISATION, |_| {}).unwrap();
    let back = store
        .import_organisation(&org, &s, |_, _| {})
        .await
        .unwrap();
    assert_eq!((back.units_reactivated, back.units_updated), (1, 1));
    // Every change is in the audit log.
    let log = audit_actions(&store).await;
    assert_eq!(log.iter().filter(|a| *a == "unit.create").count(), 16);
    assert_eq!(log.iter().filter(|a| *a == "unit.update").count(), 3);
    assert_eq!(log.iter().filter(|a| *a == "unit.deactivate").count(), 1);
    assert_eq!(log.iter().filter(|a| *a == "person.create").count(), 17);
}

async fn audit_actions(store: &Store) -> Vec<String> {
    store
        .audit_search(None, None, None, None, u64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect()
}

async fn every_refused_event_says_why_and_writes_nothing(db: TestDb) {
    let store = imported(&db).await;
    let s = stamp("2026-05-01");
    store
        .record_milestone(
            2025,
            Deadline::ThemesPublished,
            date("2026-03-20"),
            Some(vec!["A".into()]),
            &s,
        )
        .await
        .unwrap();
    store
        .record_dialogue(&unit_of("sk-vest"), date("2026-03-04"), None, &s)
        .await
        .unwrap();
    let before = counts(&store).await;

    let refused = |e: StoreError| match e {
        StoreError::Refused(r) => r,
        other => panic!("expected a refusal, got {other}"),
    };
    // Signing before the dialogue was held.
    let r = refused(
        store
            .sign_agreement(&unit_of("sk-oest"), date("2026-04-20"), &s)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        r,
        Refusal::Waiting {
            deadline: Deadline::AgreementSigned,
            waiting_for: vec![Deadline::DialogueHeld]
        }
    );
    // Submitting before the dialogue.
    let r = refused(
        store
            .submit_agreement(
                &unit_of("sk-oest"),
                date("2026-04-20"),
                AGREEMENT,
                "a.toml",
                &s,
            )
            .await
            .unwrap_err(),
    );
    assert!(matches!(
        r,
        Refusal::NeedsFirst {
            step: Step::AwaitingDialogue,
            ..
        }
    ));
    // A dialogue in the future, before its window, twice.
    assert!(matches!(
        refused(
            store
                .record_dialogue(&unit_of("sk-oest"), date("2026-05-02"), None, &s)
                .await
                .unwrap_err()
        ),
        Refusal::InFuture { .. }
    ));
    assert!(matches!(
        refused(
            store
                .record_dialogue(&unit_of("sk-oest"), date("2025-12-01"), None, &s)
                .await
                .unwrap_err()
        ),
        Refusal::NotOpenYet { .. }
    ));
    assert!(matches!(
        refused(
            store
                .record_dialogue(&unit_of("sk-vest"), date("2026-03-05"), None, &s)
                .await
                .unwrap_err()
        ),
        Refusal::AlreadyMet { .. }
    ));
    // A dialogue for a chief, who has none in this wheel, and for the director.
    assert!(matches!(
        refused(
            store
                .record_dialogue(&unit_of("sk"), date("2026-03-05"), None, &s)
                .await
                .unwrap_err()
        ),
        Refusal::NotApplicable { .. }
    ));
    assert!(matches!(
        refused(
            store
                .record_dialogue(&unit_of("bu"), date("2026-03-05"), None, &s)
                .await
                .unwrap_err()
        ),
        Refusal::NoWorkflow { .. }
    ));
    // Nothing to sign; signing before submission; a midway without an agreement.
    assert_eq!(
        refused(
            store
                .sign_agreement(&unit_of("sk-vest"), date("2026-04-01"), &s)
                .await
                .unwrap_err()
        ),
        Refusal::NothingToSign
    );
    assert_eq!(
        refused(
            store
                .give_midway(
                    &unit_of("sk-vest"),
                    date("2026-04-01"),
                    GRADES,
                    "g.toml",
                    &s
                )
                .await
                .unwrap_err()
        ),
        Refusal::NotInForce
    );
    // A chief's agreement before the report.
    assert!(matches!(
        refused(
            store
                .submit_agreement(&unit_of("sk"), date("2026-04-01"), AGREEMENT, "a.toml", &s)
                .await
                .unwrap_err()
        ),
        Refusal::NeedsFirst {
            step: Step::AwaitingReport,
            ..
        }
    ));
    // A milestone twice.
    assert!(matches!(
        refused(
            store
                .record_milestone(
                    2025,
                    Deadline::ThemesPublished,
                    date("2026-03-21"),
                    Some(vec!["B".into()]),
                    &s
                )
                .await
                .unwrap_err()
        ),
        Refusal::AlreadyMet { .. }
    ));
    // A bad agreement file: the error names the goal and the key.
    let bad = AGREEMENT.replace("weight = 40", "weight = 45");
    match store
        .submit_agreement(
            &unit_of("sk-vest"),
            date("2026-04-01"),
            &bad,
            "aftale.toml",
            &s,
        )
        .await
        .unwrap_err()
    {
        StoreError::File(e) => assert!(e.to_string().contains("add up to 105 %"), "{e}"),
        other => panic!("{other}"),
    }
    let bad = AGREEMENT.replace(
        "indicator = \"language_development\"",
        "indicator = \"sprog\"",
    );
    let e = store
        .submit_agreement(
            &unit_of("sk-vest"),
            date("2026-04-01"),
            &bad,
            "aftale.toml",
            &s,
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("aftale.toml:6: goal 1 \"Flere børn i positiv sproglig udvikling\".indicator: `sprog` is not in indicator catalogue"), "{e}");
    // Unknown units and cycles not started.
    assert!(matches!(
        store
            .record_dialogue(&unit_of("nowhere"), date("2026-03-05"), None, &s)
            .await
            .unwrap_err(),
        StoreError::UnknownUnit(_)
    ));
    assert!(matches!(
        store
            .record_milestone(2027, Deadline::DataCollected, date("2027-10-05"), None, &s)
            .await
            .unwrap_err(),
        StoreError::CycleNotStarted { year: 2027, .. }
    ));
    assert!(matches!(
        store
            .record_milestone(
                2025,
                Deadline::ThemesPublished,
                date("2026-03-21"),
                None,
                &s
            )
            .await
            .unwrap_err(),
        StoreError::ThemesRequired
    ));

    assert_eq!(
        counts(&store).await,
        before,
        "a refused event wrote something"
    );
}

async fn a_crash_halfway_leaves_the_database_as_it_was(db: TestDb) {
    let store = imported(&db).await;
    let s = stamp(TODAY);
    store
        .record_milestone(
            2025,
            Deadline::ThemesPublished,
            date("2026-03-20"),
            Some(vec!["A".into()]),
            &s,
        )
        .await
        .unwrap();
    let before = counts(&store).await;
    store.close().await.unwrap();

    // An import that adds a unit, changes a leader and drops another, stopped after the
    // units are written.
    let store = db.store().await.fail_at(FaultPoint::ImportAfterUnits);
    let changed = format!(
        "{}\ndt-syd-3,Nyt Hus,4,dt-syd,daycare,Ny,ny@skovby.dk,da\n",
        ORGANISATION
            .replace("Mette Juhl,mette.juhl@skovby.dk", "Anden,anden@skovby.dk")
            .trim_end()
    )
    .lines()
    .filter(|l| !l.starts_with("dt-nord-3,"))
    .collect::<Vec<_>>()
    .join("\n");
    let org = Organisation::from_csv(&changed, |_| {}).unwrap();
    let err = store
        .import_organisation(&org, &s, |_, _| {})
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::InjectedFault(_)), "{err}");
    assert_eq!(counts(&store).await, before);
    // An event, stopped after its row and before its audit row.
    let store = {
        store.close().await.unwrap();
        db.store().await.fail_at(FaultPoint::EventAfterInsert)
    };
    assert!(matches!(
        store
            .record_dialogue(&unit_of("dt-nord-1"), date("2026-03-14"), None, &s)
            .await,
        Err(StoreError::InjectedFault(_))
    ));
    assert!(matches!(
        store
            .record_milestone(2025, Deadline::ReportFinal, date("2026-09-24"), None, &s)
            .await,
        Err(StoreError::InjectedFault(_))
    ));
    assert_eq!(counts(&store).await, before);
    // And without the fault the same changes go through.
    store.close().await.unwrap();
    let store = db.store().await;
    store
        .record_dialogue(&unit_of("dt-nord-1"), date("2026-03-14"), None, &s)
        .await
        .unwrap();
    assert_eq!(count(&store, "unit_event").await, 1);
}

async fn a_cycle_keeps_the_wheel_it_started_with(db: TestDb) {
    let store = imported(&db).await;
    let s = stamp(TODAY);
    store
        .record_milestone(2025, Deadline::ReportFinal, date("2026-09-24"), None, &s)
        .await
        .unwrap();
    store.close().await.unwrap();
    // The municipality gives its chiefs 60 days from now on.
    let mut wheel = CurrentWheel::builtin();
    wheel.definition_toml = wheel.definition_toml.replace(
        "opens = { after = [\"report_final\"] }\ndue = { days_after = 30 }",
        "opens = { after = [\"report_final\"] }\ndue = { days_after = 60 }",
    );
    wheel.definition =
        hjul_wheel::WheelDefinition::from_toml(&wheel.definition_toml, "wheel.toml").unwrap();
    let store = db.store_with(wheel).await;
    // Cycle 2025 started with 30 days: still due 23 October.
    assert_eq!(
        row(&store, "sk", "2026-10-01")
            .await
            .next_deadline
            .map(|n| n.due.to_string()),
        Some("2026-10-23".into())
    );
    // Cycle 2027 starts under the new rule.
    let c = store.start_cycle(2027, &s).await.unwrap();
    assert!(c.definition_toml.contains("days_after = 60"));
    // Who started it, and how, each in a field of its own.
    assert_eq!(c.started_by, s.actor);
    assert_eq!(c.started_how, hjul_store::StartedHow::Early);
    let cycles = store.cycles().await.unwrap();
    assert_eq!(
        cycles.iter().map(|c| c.year).collect::<Vec<_>>(),
        vec![2025, 2027]
    );
    assert!(matches!(
        store.start_cycle(2027, &s).await,
        Err(StoreError::CycleAlreadyStarted { .. })
    ));
    assert!(matches!(
        store.start_cycle(2026, &s).await,
        Err(StoreError::NoCycle(_))
    ));
}

async fn the_schema_is_checked_and_migrating_twice_is_safe(db: TestDb) {
    // No schema yet.
    let fresh = Store::open(&db.location, CurrentWheel::builtin(), true)
        .await
        .unwrap();
    fresh.close().await.unwrap();
    match Store::open_current(&db.location, CurrentWheel::builtin()).await {
        Err(StoreError::NotMigrated(_)) => {}
        other => panic!("expected NotMigrated, got {:?}", other.err()),
    }
    let store = db.store().await;
    assert!(
        store.migrate(|_, _| {}).await.unwrap().is_empty(),
        "a second migrate applies nothing"
    );
    store.close().await.unwrap();
    assert!(
        Store::open_current(&db.location, CurrentWheel::builtin())
            .await
            .is_ok()
    );
    // A schema behind: forget the last migration.
    let store = db.store().await;
    use sea_orm::ConnectionTrait;
    store
        .connection()
        .execute_unprepared(
            "DELETE FROM seaql_migrations WHERE version = 'm20261122_000001_initial'",
        )
        .await
        .unwrap();
    store.close().await.unwrap();
    match Store::open_current(&db.location, CurrentWheel::builtin()).await {
        Err(e @ StoreError::SchemaBehind(_)) => {
            assert!(e.to_string().contains("run `hjul migrate`"), "{e}");
        }
        other => panic!("expected SchemaBehind, got {:?}", other.err()),
    }
    // A schema ahead: a migration this hjul does not know.
    let store = Store::open(&db.location, CurrentWheel::builtin(), false)
        .await
        .unwrap();
    store
        .connection()
        .execute_unprepared("INSERT INTO seaql_migrations (version, applied_at) VALUES ('m20991231_000001_future', 0)")
        .await
        .unwrap();
    assert!(matches!(
        store.pending_migrations().await,
        Err(StoreError::SchemaAhead(_))
    ));
    if let Some(path) = db.sqlite_path() {
        // The embedded default is a WAL file.
        let mode = store
            .connection()
            .query_one_raw(sea_orm::Statement::from_string(
                store.backend(),
                "PRAGMA journal_mode",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get_by_index::<String>(0)
            .unwrap();
        assert_eq!(mode, "wal", "{}", path.display());
    }
}

async fn the_audit_log_is_append_only_and_complete(db: TestDb) {
    let store = imported(&db).await;
    let s = stamp(TODAY);
    store
        .record_dialogue(&unit_of("dt-nord-1"), date("2026-03-14"), None, &s)
        .await
        .unwrap();
    use sea_orm::ConnectionTrait;
    let rows: Vec<hjul_store::AuditEntry> = store
        .audit_search(Some("dt-nord-1"), None, None, None, u64::MAX)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "unit.dialogue_held")
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].actor, "test");
    assert_eq!(rows[0].entity_id, "dt-nord-1");
    let after: serde_json::Value = serde_json::from_str(rows[0].after.as_deref().unwrap()).unwrap();
    assert_eq!(after["on"], "2026-03-14");
    assert_eq!(after["cycle"], 2025);
    // The database refuses to change or remove the record.
    assert!(
        store
            .connection()
            .execute_unprepared("UPDATE audit_log SET actor = 'someone else'")
            .await
            .is_err()
    );
    assert!(
        store
            .connection()
            .execute_unprepared("DELETE FROM audit_log")
            .await
            .is_err()
    );
    assert!(count(&store, "audit_log").await > 30);
}

async fn status_filters_by_area_level_and_overdue(db: TestDb) {
    let store = imported(&db).await;
    let at = date("2026-07-15");
    let all = store
        .status(at, &StatusFilter::default(), None)
        .await
        .unwrap();
    assert_eq!(all.len(), 16);
    let daycare = store
        .status(
            at,
            &StatusFilter {
                area: Some(Area::Daycare),
                ..StatusFilter::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(daycare.len(), 8);
    let houses = store
        .status(
            at,
            &StatusFilter {
                level: Level::new(4),
                ..StatusFilter::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(houses.len(), 5);
    assert!(houses.iter().all(|r| r.level == 4 && r.overdue_days == 15));
    // Every level 3–4 unit is past its dialogue; chiefs and the director are not late.
    let overdue = store
        .status(
            at,
            &StatusFilter {
                overdue: true,
                ..StatusFilter::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(overdue.len(), 12);
    assert!(overdue.iter().all(|r| r.level >= 3));
}

/// The dispatcher claims a batch of recipients' leases in one statement: each lease still
/// has one holder, another's is left out, one's own is renewed, a lapsed one is taken.
async fn leases_claimed_in_a_batch_keep_one_holder_each(db: TestDb) {
    let a = db.store().await;
    let b = db.store().await;
    let long = std::time::Duration::from_secs(60);
    let short = std::time::Duration::from_millis(200);
    let names = |ns: &[&str]| -> Vec<String> { ns.iter().map(|n| format!("mail:{n}")).collect() };
    let set =
        |ns: &[&str]| -> std::collections::HashSet<String> { names(ns).into_iter().collect() };
    assert!(a.try_lease("mail:x", "a", long).await.unwrap());
    assert!(a.try_lease("mail:lapsing", "a", short).await.unwrap());
    // b asks for five: x is a's, the rest are free.
    let got = b
        .try_leases(&names(&["v", "w", "x", "y", "z"]), "b", long)
        .await
        .unwrap();
    assert_eq!(got, set(&["v", "w", "y", "z"]));
    assert_eq!(
        b.lease_holder("mail:x").await.unwrap().as_deref(),
        Some("a")
    );
    // a's batch: x renewed, b's refused, and the lapsed one taken back once it ran out.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let got = a
        .try_leases(&names(&["w", "x", "lapsing"]), "a", long)
        .await
        .unwrap();
    assert_eq!(got, set(&["x", "lapsing"]));
    // More names than one statement holds (500 a statement).
    let many: Vec<String> = (0..1_200).map(|i| format!("mail:p{i}")).collect();
    assert_eq!(b.try_leases(&many, "b", long).await.unwrap().len(), 1_200);
    assert!(a.try_leases(&many, "a", long).await.unwrap().is_empty());
    // Letting go of a batch: only one's own.
    a.release_leases(&names(&["v", "x"]), "a").await.unwrap();
    assert_eq!(a.lease_holder("mail:x").await.unwrap(), None);
    assert_eq!(
        a.lease_holder("mail:v").await.unwrap().as_deref(),
        Some("b")
    );
    b.release_leases(&many, "b").await.unwrap();
    assert_eq!(a.try_leases(&many, "a", long).await.unwrap().len(), 1_200);
}

/// A mail may carry thousands of items (a chief hears of every house's escalation), and a
/// batch many mails: more ids than one statement may bind. The dispatcher's writes take
/// them in parts, in one transaction.
async fn a_batch_of_many_items_is_marked_past_the_limit_on_bound_values(db: TestDb) {
    use hjul_store::{NewItem, OutboxKind, OutboxState, SentMark};
    let store = db.store().await;
    let now = hjul_tests::eight("2026-04-07");
    let items: Vec<NewItem> = (0..40_000)
        .map(|i| NewItem::to_secretariat(format!("many:{i}"), OutboxKind::Digest, now, "{}".into()))
        .collect();
    store
        .write_tick(items, &[], &[], &[], now, None)
        .await
        .unwrap();
    let mut ids: Vec<_> = store
        .outbox(Some(OutboxState::Pending), u64::MAX)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids.len(), 40_000);
    assert_eq!(store.still_pending(&ids).await.unwrap().len(), 40_000);
    store
        .postpone(&ids, now + chrono::Duration::days(1))
        .await
        .unwrap();
    assert!(store.due_items(now, u64::MAX).await.unwrap().is_empty());
    // One mail of 35,000 items, two small ones, marked at once; the rest voided.
    let rest = ids.split_off(35_006);
    let mark = |ids: &[hjul_store::ItemId], to: &str| SentMark {
        ids: ids.to_vec(),
        recipient: to.to_owned(),
        message_id: format!("<{to}>"),
        at: now,
        subject: format!("Til {to}"),
        text: format!("Kære {to}"),
    };
    store
        .mark_sent_many(&[
            mark(&ids[..35_000], "chef@skovby.dk"),
            mark(&ids[35_000..35_003], "a@skovby.dk"),
            mark(&ids[35_003..], "b@skovby.dk"),
        ])
        .await
        .unwrap();
    store.void(&rest).await.unwrap();
    let all = store.outbox(None, u64::MAX).await.unwrap();
    let count = |state: OutboxState, to: Option<&str>| {
        all.iter()
            .filter(|i| i.state == state && i.recipient.as_deref() == to)
            .count()
    };
    assert_eq!(count(OutboxState::Sent, Some("chef@skovby.dk")), 35_000);
    assert_eq!(count(OutboxState::Sent, Some("a@skovby.dk")), 3);
    assert_eq!(count(OutboxState::Sent, Some("b@skovby.dk")), 3);
    assert_eq!(count(OutboxState::Void, None), 4_994);
    assert!(store.still_pending(&rest).await.unwrap().is_empty());
    // Each mail's words are kept once, the big one's too, for the queue to show.
    let words = store.sent_words("<chef@skovby.dk>").await.unwrap().unwrap();
    assert_eq!(
        (
            words.recipient.as_str(),
            words.subject.as_str(),
            words.text.as_str()
        ),
        (
            "chef@skovby.dk",
            "Til chef@skovby.dk",
            "Kære chef@skovby.dk"
        )
    );
    assert_eq!(words.sent_at.timestamp(), now.timestamp());
    assert!(store.sent_words("<nobody>").await.unwrap().is_none());
}

async fn a_lease_has_one_holder_until_it_runs_out(db: TestDb) {
    let a = db.store().await;
    let b = db.store().await;
    let long = std::time::Duration::from_secs(60);
    assert!(a.try_lease("mail:x@skovby.dk", "a", long).await.unwrap());
    // Taken: another holder is refused, the holder renews.
    assert!(!b.try_lease("mail:x@skovby.dk", "b", long).await.unwrap());
    assert!(a.try_lease("mail:x@skovby.dk", "a", long).await.unwrap());
    assert_eq!(
        b.lease_holder("mail:x@skovby.dk").await.unwrap().as_deref(),
        Some("a")
    );
    // Another name is another lease.
    assert!(b.try_lease("mail:y@skovby.dk", "b", long).await.unwrap());
    // Letting go: only the holder can, and then anyone may take it.
    b.release_lease("mail:x@skovby.dk", "b").await.unwrap();
    assert!(!b.try_lease("mail:x@skovby.dk", "b", long).await.unwrap());
    a.release_lease("mail:x@skovby.dk", "a").await.unwrap();
    assert_eq!(b.lease_holder("mail:x@skovby.dk").await.unwrap(), None);
    assert!(b.try_lease("mail:x@skovby.dk", "b", long).await.unwrap());
    // A holder that dies: its lease runs out on the database's clock.
    let short = std::time::Duration::from_millis(200);
    assert!(a.try_lease("tick", "a", short).await.unwrap());
    assert!(!b.try_lease("tick", "b", long).await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(b.lease_holder("tick").await.unwrap(), None);
    assert!(b.try_lease("tick", "b", long).await.unwrap());
    assert!(!a.try_lease("tick", "a", long).await.unwrap());
}
