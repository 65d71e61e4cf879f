//! Indicator data on SQLite and PostgreSQL: a measurement file imported all or nothing,
//! a period imported again superseding its values (the old ones kept, the import on
//! record), people's data refused, and a unit's sheet that hides what rests on too few.
#![allow(clippy::unwrap_used)]

use hjul_store::Store;
use hjul_tests::{TestDb, count, stamp, stories, unit_of};
use hjul_wheel::data::{self, DEFAULT_MIN_RESPONSES, Period, Row, Verdict};
use hjul_wheel::{IndicatorCatalogue, Organisation};

stories!(
    a_file_is_imported_and_a_period_again_supersedes_its_values,
    a_bad_file_changes_nothing_and_names_every_line,
    a_units_sheet_hides_what_rests_on_too_few,
    a_midway_grade_is_proposed_from_the_data_and_overridden_with_a_reason,
    a_hidden_latest_value_proposes_nothing,
    the_kept_averages_follow_each_import_and_the_organisation,
    the_retention_job_deletes_only_what_is_past_each_period,
);

const ORG: &str = include_str!("../../examples/organisation.csv");
const DATA: &str = include_str!("../../examples/data.csv");

async fn with_org(db: &TestDb) -> Store {
    let store = db.store().await;
    let org = Organisation::from_csv(ORG, |_| {}).unwrap();
    store
        .import_organisation(&org, &stamp("2025-09-01"), |_, _| {})
        .await
        .unwrap();
    store
}

async fn read(store: &Store, text: &str) -> Result<Vec<data::Measurement>, data::DataErrors> {
    let areas = store.unit_areas().await.unwrap();
    data::read_measurements(
        text,
        &IndicatorCatalogue::builtin(),
        |id| areas.get(id).copied(),
        |_| {},
    )
}

async fn a_file_is_imported_and_a_period_again_supersedes_its_values(db: TestDb) {
    let store = with_org(&db).await;
    let rows = read(&store, DATA).await.unwrap();
    let n = rows.len();
    let mut written = Vec::new();
    let report = store
        .import_measurements("data.csv", &rows, &stamp("2025-09-02"), |done, total| {
            written.push((done, total));
        })
        .await
        .unwrap();
    assert_eq!((report.rows, report.new, report.replaced), (n, n, 0));
    assert_eq!(written.last(), Some(&(n, n)));
    assert_eq!(store.measurements(None).await.unwrap().len(), n);

    // The school year 2024/25 of Byskolen's absence again, corrected: it supersedes the
    // value in force; the old one stays on record, marked with the import that did it.
    let again = "unit_id,measure,period,value,n\nsk-by,absence,2024/25,8.0,300\n";
    let rows = read(&store, again).await.unwrap();
    let before = store
        .measurements(Some(&["sk-by".to_owned()]))
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.measure == "absence" && m.period.to_string() == "2024/25")
        .unwrap();
    let second = store
        .import_measurements("rettelse.csv", &rows, &stamp("2025-09-03"), |_, _| {})
        .await
        .unwrap();
    assert_eq!((second.rows, second.new, second.replaced), (1, 0, 1));
    let in_force = store.measurements(None).await.unwrap();
    assert_eq!(
        in_force.len(),
        n,
        "one value in force per unit, measure and period"
    );
    let now = in_force
        .iter()
        .find(|m| {
            m.unit_id == "sk-by" && m.measure == "absence" && m.period.to_string() == "2024/25"
        })
        .unwrap();
    assert_eq!((now.value, now.n), (8.0, Some(300)));
    let history = store
        .measurement_history(
            &unit_of("sk-by"),
            "absence",
            Period::parse("2024/25").unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        history,
        [(before.value, Some(second.import_id)), (8.0, None)]
    );
    assert_eq!(
        count(&store, "measurement").await,
        i64::try_from(n).unwrap() + 1
    );
    // Each import is on record: what came from which file, by whom.
    let audit = store
        .audit_log_where(Some("data_import"), None, 10)
        .await
        .unwrap();
    assert_eq!(audit.len(), 2);
    let last = audit[0].after.as_deref().unwrap();
    assert!(
        last.contains("\"file\":\"rettelse.csv\"") && last.contains("\"replaced\":1"),
        "{last}"
    );
    assert_eq!(audit[0].actor, "test");
}

async fn a_bad_file_changes_nothing_and_names_every_line(db: TestDb) {
    let store = with_org(&db).await;
    let before = count(&store, "audit_log").await;
    // A Windows export, with a CPR number and a unit the organisation does not have.
    let bad = "unit_id;measure;period;value;n;source\r\n\
               sk-by;absence;2024/25;6,1;300;\r\n\
               sk-nord;absence;2024/25;6,1;300;\r\n\
               sk-by;absence;2023/24;6,1;300;elev 010203-1234\r\n\
               sk-by;academic_wellbeing;2024/25;7,2;300;\r\n";
    let e = read(&store, bad).await.unwrap_err();
    let lines: Vec<(Option<usize>, Option<String>)> =
        e.0.iter().map(|p| (p.line, p.field.clone())).collect();
    assert_eq!(
        lines,
        [
            (Some(3), Some("unit_id".to_owned())),
            (Some(4), None),
            (Some(5), Some("value".to_owned())),
        ],
        "{e}"
    );
    let text = e.to_string();
    assert!(
        text.contains("3 problems in the data file, nothing was imported"),
        "{text}"
    );
    assert!(
        text.contains("line 4: holds something shaped like a CPR number"),
        "{text}"
    );
    assert!(
        text.contains("7,2 cannot be a value of `academic_wellbeing`: it lies between 1 and 5"),
        "{text}"
    );
    // Refused before the store is asked: nothing was written, not even a log row.
    assert_eq!(count(&store, "measurement").await, 0);
    assert_eq!(count(&store, "data_import").await, 0);
    assert_eq!(count(&store, "audit_log").await, before);
}

async fn a_units_sheet_hides_what_rests_on_too_few(db: TestDb) {
    let store = with_org(&db).await;
    let rows = read(&store, DATA).await.unwrap();
    store
        .import_measurements("data.csv", &rows, &stamp("2025-09-02"), |_, _| {})
        .await
        .unwrap();
    let areas = store.unit_areas().await.unwrap();
    let stored = store.measurements(None).await.unwrap();
    let rows: Vec<Row<'_>> = stored
        .iter()
        .map(|m| Row {
            unit_id: &m.unit_id,
            area: areas[&m.unit_id],
            measure: &m.measure,
            period: m.period,
            value: m.value,
            n: m.n,
        })
        .collect();
    let catalogue = IndicatorCatalogue::builtin();
    // Byskolen's 2024/25 wellbeing rests on 4 respondents in the example file.
    let sheet = data::sheet(
        "sk-by",
        areas["sk-by"],
        &catalogue,
        &rows,
        DEFAULT_MIN_RESPONSES,
    );
    let wellbeing = sheet
        .iter()
        .find(|m| m.measure.as_str() == "academic_wellbeing")
        .unwrap();
    assert_eq!(wellbeing.latest_period.unwrap().to_string(), "2024/25");
    assert_eq!(
        (wellbeing.latest, wellbeing.verdict),
        (None, Verdict::Insufficient)
    );
    let last = wellbeing.series.last().unwrap();
    assert_eq!((last.value, last.n), (None, None));
    let hidden = stored
        .iter()
        .find(|m| m.unit_id == "sk-by" && m.measure == "academic_wellbeing" && m.n == Some(4))
        .unwrap()
        .value;
    let json = serde_json::to_string(&sheet).unwrap();
    assert!(
        !json.contains(&hidden.to_string()),
        "{hidden} shown in {json}"
    );
    // The area's average for that period counts the other schools only.
    let others: Vec<f64> = stored
        .iter()
        .filter(|m| {
            m.measure == "academic_wellbeing"
                && m.period == wellbeing.latest_period.unwrap()
                && m.unit_id != "sk-by"
        })
        .map(|m| m.value)
        .collect();
    let mean = others.iter().sum::<f64>() / others.len() as f64;
    assert!(
        (wellbeing.area_average.unwrap() - mean).abs() < 0.006,
        "{wellbeing:?}"
    );
    // A family unit's sheet has only what is collected for it.
    let family = data::sheet(
        "fr-fc",
        areas["fr-fc"],
        &catalogue,
        &rows,
        DEFAULT_MIN_RESPONSES,
    );
    let codes: Vec<&str> = family.iter().map(|m| m.measure.as_str()).collect();
    assert_eq!(codes, ["sick_leave"]);
}

/// The example agreement with its first goal (language development, higher is better)
/// measured: baseline 78, partly met at 80, fully met at 84.
fn measured_agreement(partly: &str) -> String {
    hjul_tests::AGREEMENT.replacen(
        "target_date = 2027-06-30\n",
        &format!(
            "target_date = 2027-06-30\nbaseline_value = 78\npartly_met_value = {partly}\nfully_met_value = 84\n"
        ),
        1,
    )
}

async fn a_midway_grade_is_proposed_from_the_data_and_overridden_with_a_reason(db: TestDb) {
    let store = hjul_tests::skovby_with_themes(&db, "2026-04-01").await;
    let rows = read(&store, DATA).await.unwrap();
    store
        .import_measurements("data.csv", &rows, &stamp("2026-04-01"), |_, _| {})
        .await
        .unwrap();
    let s = stamp("2027-08-20");
    let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    let unit = "dt-nord-1";
    store
        .record_dialogue(&unit_of(unit), day("2026-04-02"), None, &s)
        .await
        .unwrap();
    // Partly met (76) not better than the baseline (78) for a measure where higher is
    // better: refused, naming the field; nothing submitted.
    let e = store
        .submit_agreement(
            &unit_of(unit),
            day("2026-04-20"),
            &measured_agreement("76"),
            "a.toml",
            &s,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("partly_met_value") && e.contains("must be better than the baseline (78)"),
        "{e}"
    );
    store
        .submit_agreement(
            &unit_of(unit),
            day("2026-04-20"),
            &measured_agreement("80"),
            "a.toml",
            &s,
        )
        .await
        .unwrap();
    store
        .sign_agreement(&unit_of(unit), day("2026-04-25"), &s)
        .await
        .unwrap();
    let t = store
        .timeline(&unit_of(unit), day("2027-08-20"), None)
        .await
        .unwrap();
    let criteria = t.agreements[0].goals[0].measured.unwrap();
    assert_eq!(
        (criteria.baseline, criteria.partly_met, criteria.fully_met),
        (78.0, 80.0, 84.0)
    );
    assert_eq!(t.agreements[0].goals[1].measured, None);

    // The latest value, 2024/25: 80.0 from 47 children: partly met.
    let (_, agreement, proposals) = store
        .agreement_in_force(&unit_of(unit), &s)
        .await
        .unwrap()
        .unwrap();
    let title = agreement.goals()[0].title.clone();
    let p = &proposals[&title];
    assert_eq!(
        (p.grade, p.period.to_string(), p.value),
        (hjul_wheel::Grade::Partly, "2024/25".to_owned(), 80.0)
    );
    assert_eq!(proposals.len(), 1, "only the measured goal: {proposals:?}");

    let grades = |first: &str, note: &str| -> Vec<hjul_wheel::GradeDraft> {
        agreement
            .goals()
            .iter()
            .enumerate()
            .map(|(i, g)| hjul_wheel::GradeDraft {
                goal: g.title.clone(),
                grade: if i == 0 { first.into() } else { "full".into() },
                note: if i == 0 { note.into() } else { String::new() },
            })
            .collect()
    };
    // Full without a reason, against the proposal: refused, nothing recorded.
    let events = count(&store, "unit_event").await;
    let e = store
        .give_grades(&unit_of(unit), day("2027-08-16"), &grades("full", ""), &s)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("hjul proposes \"Partly met\""), "{e}");
    assert_eq!(count(&store, "unit_event").await, events);
    // With the reason: recorded, and the proposal and its evidence beside the grade.
    store
        .give_grades(
            &unit_of(unit),
            day("2027-08-16"),
            &grades("full", "Sprogvurderingen i foråret 2027 viste 85 %"),
            &s,
        )
        .await
        .unwrap();
    let t = store
        .timeline(&unit_of(unit), day("2027-08-20"), None)
        .await
        .unwrap();
    let g = &t.agreements[0].goals[0];
    assert_eq!(g.grade, Some(hjul_wheel::Grade::Full));
    assert_eq!(g.proposed.as_deref(), Some("partly"));
    let evidence = g.evidence.as_ref().unwrap();
    assert_eq!(evidence["period"], "2024/25");
    assert_eq!(evidence["value"], 80.0);
    assert_eq!(evidence["measure"], "language_development");
    assert!(g.grade_note.as_deref().unwrap().contains("85 %"), "{g:?}");
    assert_eq!(t.agreements[0].goals[1].proposed, None);
}

async fn a_hidden_latest_value_proposes_nothing(db: TestDb) {
    let store = hjul_tests::skovby_with_themes(&db, "2026-04-01").await;
    let s = stamp("2027-08-20");
    let day = |d: &str| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
    let unit = "dt-nord-1";
    // The latest period rests on three children: no proposal, not one from 2024/25.
    let file = format!("{DATA}dt-nord-1;language_development;2025/26;95,0;3;Sprogvurdering\n");
    let rows = read(&store, &file).await.unwrap();
    store
        .import_measurements("data.csv", &rows, &s, |_, _| {})
        .await
        .unwrap();
    store
        .record_dialogue(&unit_of(unit), day("2026-04-02"), None, &s)
        .await
        .unwrap();
    store
        .submit_agreement(
            &unit_of(unit),
            day("2026-04-20"),
            &measured_agreement("80"),
            "a.toml",
            &s,
        )
        .await
        .unwrap();
    store
        .sign_agreement(&unit_of(unit), day("2026-04-25"), &s)
        .await
        .unwrap();
    let (_, _, proposals) = store
        .agreement_in_force(&unit_of(unit), &s)
        .await
        .unwrap()
        .unwrap();
    assert!(proposals.is_empty(), "{proposals:?}");
}

/// A unit's page reads the averages kept from the last time they were computed; an
/// import, and a unit leaving the organisation, make them be computed again.
async fn the_kept_averages_follow_each_import_and_the_organisation(db: TestDb) {
    let store = with_org(&db).await;
    let import = |text: &'static str| {
        let store = store.clone();
        async move {
            let rows = read(&store, text).await.unwrap();
            store
                .import_measurements("d.csv", &rows, &stamp("2025-09-02"), |_, _| {})
                .await
                .unwrap();
        }
    };
    let area_average = |store: Store| async move {
        store
            .data_sheet(&unit_of("dt-nord-1"))
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.measure.as_str() == "absence")
            .unwrap()
            .area_average
    };
    import(
        "unit_id,measure,period,value,n\n\
         dt-nord-1,absence,2024/25,4.0,40\n\
         dt-nord-2,absence,2024/25,8.0,40\n",
    )
    .await;
    assert_eq!(area_average(store.clone()).await, Some(6.0));
    // Read again, unchanged: the same (from the kept averages).
    assert_eq!(area_average(store.clone()).await, Some(6.0));
    // Another instance on the same database imports: this one sees it too.
    let other = db.store().await;
    let rows = read(
        &other,
        "unit_id,measure,period,value,n\ndt-nord-2,absence,2024/25,10.0,40\n",
    )
    .await
    .unwrap();
    other
        .import_measurements("d.csv", &rows, &stamp("2025-09-03"), |_, _| {})
        .await
        .unwrap();
    assert_eq!(area_average(store.clone()).await, Some(7.0));
    // The secretariat's patterns are kept the same way and follow the import too.
    let average = |p: std::sync::Arc<Vec<data::AreaPattern>>| {
        p.iter()
            .find(|x| x.measure.as_str() == "absence")
            .and_then(|x| x.pattern.average)
    };
    let before = chrono::NaiveDate::from_ymd_opt(2025, 10, 1).unwrap();
    let kept = store
        .data_patterns(before, hjul_store::Over::Everyone)
        .await
        .unwrap();
    assert_eq!(average(kept), Some(7.0));
    let rows = read(
        &other,
        "unit_id,measure,period,value,n\ndt-nord-2,absence,2024/25,12.0,40\n",
    )
    .await
    .unwrap();
    other
        .import_measurements("d.csv", &rows, &stamp("2025-09-03"), |_, _| {})
        .await
        .unwrap();
    let again = store
        .data_patterns(before, hjul_store::Over::Everyone)
        .await
        .unwrap();
    assert_eq!(average(again), Some(8.0));
    // Only the units a manager sees: here dt-nord-1 alone.
    let one = |u: &str| u == "dt-nord-1";
    let theirs = store
        .data_patterns(before, hjul_store::Over::Only(&one))
        .await
        .unwrap();
    assert_eq!(average(theirs), Some(4.0));
    // dt-nord-2 leaves the organisation: its value counts no more.
    let org = Organisation::from_csv(
        &ORG.lines()
            .filter(|l| !l.starts_with("dt-nord-2,"))
            .collect::<Vec<_>>()
            .join("\n"),
        |_| {},
    )
    .unwrap();
    store
        .import_organisation(&org, &stamp("2025-09-04"), |_, _| {})
        .await
        .unwrap();
    assert_eq!(area_average(store.clone()).await, Some(4.0));
}

/// On 1 January 2031, with short periods for the test, the retention job deletes of each
/// kind only what is older than its period: reads, audit rows, ended sessions, mail sent
/// about cycle 2025 (ended; what waits stays), indicator data of old periods, and old
/// drafts. What is younger stays; the standing is intact after; the job puts one row in
/// the audit log with how much went, and run again finds nothing.
async fn the_retention_job_deletes_only_what_is_past_each_period(db: TestDb) {
    use chrono::TimeZone;
    let store = with_org(&db).await;
    let at = |y, m, d| chrono::Utc.with_ymd_and_hms(y, m, d, 9, 0, 0).unwrap();
    let stamp_at = |t: chrono::DateTime<chrono::Utc>| hjul_store::Stamp {
        actor: "test".into(),
        at: t,
        today: t.date_naive(),
    };
    let retention = hjul_store::Retention {
        read_log_days: 30,
        audit_log_days: 3 * 365,
        sessions_days: 30,
        mail_days: 365,
        data_days: 3 * 365,
        drafts_days: 90,
        departed_days: 365,
    };
    let now = at(2031, 1, 1);

    // Reads: one old, one recent.
    let read = |t| hjul_store::NewRead {
        at: t,
        actor: "api:anna.bech@skovby.dk".into(),
        actor_email: None,
        view: "unit",
        unit_id: Some("dt-nord-1".into()),
        person_email: Some("bo.nielsen@skovby.dk".into()),
        terms: None,
    };
    store
        .write_reads(&[read(at(2030, 10, 1)), read(at(2030, 12, 20))])
        .await
        .unwrap();
    // Sessions: one ended long ago, one open at the turn of the year.
    let (token, _) = store
        .create_token(
            hjul_store::Role::Leader,
            "bo.nielsen@skovby.dk",
            None,
            &stamp_at(at(2030, 12, 1)),
        )
        .await
        .unwrap();
    store.open_session(&token, at(2029, 1, 1)).await.unwrap();
    store.open_session(&token, at(2030, 12, 31)).await.unwrap();
    // Indicator data: the example file's old periods, and one period of 2030/31.
    let rows = read_rows(&store, DATA).await;
    let old_values = rows.len() as u64;
    store
        .import_measurements("data.csv", &rows, &stamp("2025-09-02"), |_, _| {})
        .await
        .unwrap();
    let recent = read_rows(
        &store,
        "unit_id,measure,period,value,n\nsk-by,absence,2030/31,7.0,300\n",
    )
    .await;
    store
        .import_measurements("ny.csv", &recent, &stamp_at(at(2030, 12, 1)), |_, _| {})
        .await
        .unwrap();
    // Drafts: one saved long ago, one lately.
    for (unit, t) in [
        ("dt-nord-1", at(2030, 6, 1)),
        ("dt-nord-2", at(2030, 12, 20)),
    ] {
        store
            .save_draft(
                &unit_of(unit),
                hjul_store::DraftKind::Agreement,
                2029,
                "{}",
                &stamp_at(t),
            )
            .await
            .unwrap();
    }
    // Mail about cycle 2025: written by the tick, some sent, some still waiting.
    let sched = hjul_tests::scheduler(store.clone(), 9);
    sched.tick(hjul_tests::eight("2026-05-15")).await.unwrap();
    let pending = store
        .outbox(Some(hjul_store::OutboxState::Pending), 10_000)
        .await
        .unwrap();
    let sent: Vec<_> = pending.iter().take(3).map(|i| i.id).collect();
    store
        .mark_sent_many(&[hjul_store::SentMark {
            ids: sent.clone(),
            recipient: "anna.bech@skovby.dk".into(),
            message_id: "<x@hjul>".into(),
            at: at(2026, 5, 15),
            subject: String::new(),
            text: String::new(),
        }])
        .await
        .unwrap();
    let audit_before = count(&store, "audit_log").await;
    // Folded items (moments overtaken before they went) never go: not waiting either.
    let waiting = pending.len() - sent.len();
    let not_waiting = count(&store, "outbox_item").await as usize - waiting;

    let due = store
        .retention_due(&retention, now, now.date_naive())
        .await
        .unwrap();
    assert_eq!(due.read_log, 1);
    assert_eq!(due.sessions, 1);
    assert_eq!(
        due.mail, not_waiting as u64,
        "only what no longer waits, of the ended cycle"
    );
    assert!(not_waiting >= sent.len());
    assert_eq!(due.data, old_values);
    assert_eq!(due.drafts, 1);
    // Every audit row but the token's and the import's of 1 December 2030 is older than
    // three years.
    assert_eq!(due.audit_log, audit_before as u64 - 2);

    let gone = store
        .apply_retention(&retention, &stamp_at(now))
        .await
        .unwrap();
    assert_eq!(gone, due, "it deletes what it said would go");
    assert_eq!(count(&store, "read_log").await, 1);
    assert_eq!(count(&store, "session").await, 1);
    assert_eq!(count(&store, "measurement").await, 1);
    assert_eq!(count(&store, "draft").await, 1);
    assert_eq!(
        count(&store, "outbox_item").await as usize,
        waiting,
        "what still waits is kept"
    );
    // The token's and the import's rows, and the job's own.
    let log = store.audit_log(None, 10).await.unwrap();
    assert_eq!(log.len(), 3, "{log:#?}");
    assert_eq!(log[0].action, "retention.apply");
    assert!(
        store.check_standing().await.unwrap().is_empty(),
        "the standing is intact"
    );
    // Outside the job's window the audit log is as append-only as ever.
    use sea_orm::ConnectionTrait;
    assert!(
        store
            .connection()
            .execute_unprepared("DELETE FROM audit_log")
            .await
            .is_err()
    );
    assert_eq!(count(&store, "audit_log").await, 3);
    let again = store
        .retention_due(&retention, now, now.date_naive())
        .await
        .unwrap();
    assert_eq!(again.total(), 0);
}

async fn read_rows(store: &Store, text: &str) -> Vec<data::Measurement> {
    read(store, text).await.unwrap()
}
