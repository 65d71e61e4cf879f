//! `hjul-bench data`: a measurement file of N units × 12 measures × 8 school years read,
//! checked and imported, imported again (every value replaced), and the pre-analysis'
//! patterns and one unit's data sheet read back, each beside a bare insert or read of
//! the same rows on the same database in the same run.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use hjul_store::Store;
use hjul_tests::{TestDb, date, organisation, stamp};
use hjul_wheel::{Area, Organisation};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};

const MEASURES: usize = 12;
const YEARS: i32 = 8;

/// The file: every unit, the first twelve measures collected for its area, eight school
/// years to 2024/25; values spread over each measure's range, and one value in fifty
/// from fewer than five respondents (hidden, as a real survey's small houses are).
pub(crate) fn file(store: &Store, org: &Organisation) -> (String, usize) {
    let catalogue = &store.wheel().catalogue;
    let mut csv = String::from("unit_id,measure,period,value,n,source\n");
    let mut rows = 0;
    for (i, u) in org.units().iter().enumerate() {
        let area: Area = u.area;
        for (k, m) in catalogue
            .all_measures()
            .filter(|m| m.applies_to(area))
            .take(MEASURES)
            .enumerate()
        {
            let hi = if m.max == f64::MAX { 100.0 } else { m.max };
            for y in 0..YEARS {
                let seed = (i * 31 + k * 7 + y as usize * 13) % 97;
                let value = m.min + (hi - m.min) * (0.2 + 0.6 * seed as f64 / 97.0);
                let n = if (i + y as usize).is_multiple_of(50) {
                    3
                } else {
                    20 + seed
                };
                let _ = writeln!(
                    csv,
                    "{},{},{}/{:02},{value:.2},{n},bench",
                    u.id,
                    m.code,
                    2017 + y,
                    (2018 + y) % 100
                );
                rows += 1;
            }
        }
    }
    (csv, rows)
}

/// The floor for writing: the same rows into a bare table, in one transaction, by
/// multi-row INSERT of 1,000 rows (no ids, no checks, no supersession, no audit).
async fn bare_insert(store: &Store, text: &str) -> anyhow::Result<Duration> {
    let db = store.connection();
    let backend = store.backend();
    db.execute_unprepared("DROP TABLE IF EXISTS bench_bare")
        .await?;
    db.execute_unprepared(
        "CREATE TABLE bench_bare (unit_id TEXT, measure TEXT, period TEXT, value DOUBLE PRECISION, n INTEGER)",
    )
    .await?;
    let lines: Vec<&str> = text.lines().skip(1).collect();
    let t = Instant::now();
    let txn = db.begin().await?;
    for chunk in lines.chunks(1000) {
        let mut sql = String::from("INSERT INTO bench_bare VALUES ");
        for (i, line) in chunk.iter().enumerate() {
            let f: Vec<&str> = line.split(',').collect();
            let _ = write!(
                sql,
                "{}('{}','{}','{}',{},{})",
                if i == 0 { "" } else { "," },
                f[0],
                f[1],
                f[2],
                f[3],
                f[4]
            );
        }
        txn.execute_raw(Statement::from_string(backend, sql))
            .await?;
    }
    txn.commit().await?;
    Ok(t.elapsed())
}

/// The floor for reading: the values in force, bare.
async fn bare_read(store: &Store) -> anyhow::Result<usize> {
    Ok(store
        .connection()
        .query_all_raw(Statement::from_string(
            store.backend(),
            "SELECT unit_id, measure, period, value, n FROM measurement WHERE replaced_by IS NULL",
        ))
        .await?
        .len())
}

struct Figures {
    backend: &'static str,
    rows: usize,
    check: Duration,
    import: Duration,
    reimport: Duration,
    bare_insert: Duration,
    patterns_cold: Duration,
    patterns: Duration,
    patterns_filtered: Duration,
    sheet_cold: Duration,
    sheet: Duration,
    bare_read: Duration,
}

async fn measure(name: &'static str, db: TestDb, n: usize, runs: usize) -> anyhow::Result<Figures> {
    eprintln!("{name}: {n} units…");
    let store = db.store().await;
    let org =
        Organisation::from_csv(&organisation(n), |_| {}).map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .import_organisation(&org, &stamp("2025-09-01"), |_, _| {})
        .await?;
    let (text, rows) = file(&store, &org);
    let areas = store.unit_areas().await?;
    let t = Instant::now();
    let checked = hjul_wheel::data::read_measurements(
        &text,
        &store.wheel().catalogue,
        |id| areas.get(id).copied(),
        |_| {},
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let check = t.elapsed();
    anyhow::ensure!(
        checked.len() == rows,
        "{} rows read of {rows}",
        checked.len()
    );
    let b = crate::bar(rows, "importing");
    let t = Instant::now();
    store
        .import_measurements("bench.csv", &checked, &stamp("2025-09-01"), |done, _| {
            b.set_position(done as u64);
        })
        .await?;
    let import = t.elapsed();
    b.finish_and_clear();
    let t = Instant::now();
    let again = store
        .import_measurements("bench.csv", &checked, &stamp("2025-09-02"), |_, _| {})
        .await?;
    let reimport = t.elapsed();
    anyhow::ensure!(
        again.replaced == rows,
        "{} replaced of {rows}",
        again.replaced
    );
    let bare_insert = bare_insert(&store, &text).await?;

    let before = date("2025-10-01");
    let unit = org
        .units()
        .last()
        .map(|u| u.id.clone())
        .ok_or_else(|| anyhow::anyhow!("the organisation has no unit"))?;
    // The first sheet and the first patterns after an import compute what is then kept;
    // a manager's patterns (here every unit, through the filter) are computed each time.
    let t = Instant::now();
    store.data_sheet(&unit).await?;
    let sheet_cold = t.elapsed();
    let t = Instant::now();
    store
        .data_patterns(before, hjul_store::Over::Everyone)
        .await?;
    let patterns_cold = t.elapsed();
    let read = bare_read(&store).await?;
    anyhow::ensure!(read == rows, "{read} values in force, not {rows}");
    // Alternate, so drift on a noisy machine hits every measurement alike.
    let every = |_: &str| true;
    let (mut p, mut f, mut s, mut r) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let patterns = store
            .data_patterns(before, hjul_store::Over::Everyone)
            .await?;
        p.push(t.elapsed());
        anyhow::ensure!(!patterns.is_empty(), "no patterns");
        let t = Instant::now();
        store
            .data_patterns(before, hjul_store::Over::Only(&every))
            .await?;
        f.push(t.elapsed());
        let t = Instant::now();
        bare_read(&store).await?;
        r.push(t.elapsed());
    }
    // The sheet in a loop of its own: right after a read of every value (the patterns
    // above) the first small query waits tens of milliseconds on the process, not on
    // the sheet; a page view is what follows.
    store.data_sheet(&unit).await?;
    for _ in 0..runs {
        let t = Instant::now();
        let sheet = store.data_sheet(&unit).await?;
        s.push(t.elapsed());
        anyhow::ensure!(!sheet.is_empty(), "an empty sheet for {unit}");
    }
    store.close().await?;
    Ok(Figures {
        backend: name,
        rows,
        check,
        import,
        reimport,
        bare_insert,
        patterns_cold,
        patterns: crate::median(p),
        patterns_filtered: crate::median(f),
        sheet_cold,
        sheet: crate::median(s),
        bare_read: crate::median(r),
    })
}

pub async fn run(units: usize, pg: Option<String>, runs: usize) -> anyhow::Result<()> {
    anyhow::ensure!(runs > 0, "--runs must be at least 1");
    let mut figures = vec![measure("sqlite", TestDb::sqlite("bench-data"), units, runs).await?];
    if let Some(url) = pg {
        figures.push(measure("postgres", crate::postgres_db(&url).await?, units, runs).await?);
    }
    let s = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let ratio = |a: Duration, b: Duration| format!("{:.1}×", a.as_secs_f64() / b.as_secs_f64());
    println!(
        "indicator data: {units} units × up to {MEASURES} measures × {YEARS} school years; median of {runs} reads"
    );
    println!();
    println!(
        "{:<9} {:>8} {:>8} {:>9} {:>9} {:>11} {:>7}",
        "writing", "rows", "check", "import", "again", "bare insert", "ratio"
    );
    for f in &figures {
        println!(
            "{:<9} {:>8} {:>8} {:>9} {:>9} {:>11} {:>7}",
            f.backend,
            f.rows,
            s(f.check),
            s(f.import),
            s(f.reimport),
            s(f.bare_insert),
            ratio(f.import, f.bare_insert),
        );
    }
    println!();
    println!(
        "{:<9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>7}",
        "reading",
        "bare read",
        "patt. cold",
        "patterns",
        "filtered",
        "sheet cold",
        "sheet",
        "ratio"
    );
    for f in &figures {
        println!(
            "{:<9} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>7}",
            f.backend,
            ms(f.bare_read),
            ms(f.patterns_cold),
            ms(f.patterns),
            ms(f.patterns_filtered),
            ms(f.sheet_cold),
            ms(f.sheet),
            ratio(f.patterns_filtered, f.bare_read),
        );
    }
    println!();
    println!(
        "check: reading and checking the CSV in memory. import: the store's one transaction \
         (ids, period start, supersession, audit row); again: the same file, every value \
         replacing its twin; bare insert: the same rows into a bare table, 1,000 a \
         statement, one transaction; ratio: import over it.\n\
         bare read: the values in force, selected with no mapping. patt. cold: the \
         secretariat's patterns right after an import (computed, then kept); patterns: the \
         same afterwards; filtered: a manager's (computed each time, here over every unit); \
         ratio: filtered over the bare read. sheet cold: a unit's sheet right after an import \
         (computes the averages it keeps); sheet: the same afterwards."
    );
    Ok(())
}
