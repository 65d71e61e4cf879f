//! Indicator data on SQLite and PostgreSQL: a measurement file imported all or nothing,
//! a period imported again superseding its values (the old ones kept, the import on
//! record), people's data refused, and a unit's sheet that hides what rests on too few.
#![allow(clippy::unwrap_used)]

use hjul_store::Store;
use hjul_tests::{TestDb, count, stamp, stories};
use hjul_wheel::data::{self, DEFAULT_MIN_RESPONSES, Period, Row, Verdict};
use hjul_wheel::{IndicatorCatalogue, Organisation};

stories!(
    a_file_is_imported_and_a_period_again_supersedes_its_values,
    a_bad_file_changes_nothing_and_names_every_line,
    a_units_sheet_hides_what_rests_on_too_few,
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
        .measurement_history("sk-by", "absence", Period::parse("2024/25").unwrap())
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
