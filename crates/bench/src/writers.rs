//! `hjul-bench writers`: people writing at the same moment. N writers (tasks on a
//! threaded runtime, as requests are in `hjul serve`) each record quality dialogues of
//! units of their own through the store, the path every front end takes; beside them,
//! in the same run on the same database, N writers each inserting one row a
//! transaction into a bare table. Records/s and each record's p50/p99.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hjul_store::Store;
use hjul_tests::{TestDb, date, stamp};
use hjul_wheel::{Deadline, Organisation, UnitId};
use sea_orm::{ConnectionTrait, Statement};

use crate::{organisation, postgres_db, quantile};

/// One count of writers: records/s and latencies, of hjul's write and of the bare one.
struct Row {
    writers: usize,
    records: usize,
    hjul: Rate,
    bare: Rate,
}

struct Rate {
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

impl Rate {
    fn of(wall: Duration, mut latencies: Vec<Duration>) -> Self {
        latencies.sort();
        Self {
            per_second: latencies.len() as f64 / wall.as_secs_f64(),
            p50: quantile(&latencies, 0.5),
            p99: quantile(&latencies, 0.99),
        }
    }
}

/// `writers` tasks share out `units` and record each one's dialogue; every latency.
async fn record_dialogues(
    store: &Store,
    units: &[UnitId],
    writers: usize,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let units: Arc<[UnitId]> = units.into();
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let (store, units) = (store.clone(), Arc::clone(&units));
            tokio::spawn(async move {
                let s = stamp("2026-05-15");
                let mut latencies = Vec::new();
                for unit in units.iter().skip(w).step_by(writers) {
                    let t = Instant::now();
                    store
                        .record_dialogue(unit, date("2026-05-14"), Some("Referat.".into()), &s)
                        .await?;
                    latencies.push(t.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((started.elapsed(), all))
}

/// The baseline: `writers` tasks inserting `records` rows between them, one a
/// transaction, into a table with nothing else on it.
async fn bare_inserts(
    store: &Store,
    records: usize,
    writers: usize,
    round: usize,
) -> anyhow::Result<(Duration, Vec<Duration>)> {
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let backend = store.backend();
                let mut latencies = Vec::new();
                for i in (w..records).step_by(writers) {
                    let sql = format!(
                        "INSERT INTO bench_bare (round, n, note) VALUES ({round}, {i}, 'Referat.')"
                    );
                    let t = Instant::now();
                    store
                        .connection()
                        .execute_raw(Statement::from_string(backend, sql))
                        .await?;
                    latencies.push(t.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await??);
    }
    Ok((started.elapsed(), all))
}

async fn measure(
    name: &'static str,
    db: TestDb,
    counts: &[usize],
    per_count: usize,
) -> anyhow::Result<Vec<Row>> {
    let n = counts.len() * per_count + 200;
    eprintln!("{name}: an organisation of about {n} units…");
    let store = db.store().await;
    let org =
        Organisation::from_csv(&organisation(n), |_| {}).map_err(|e| anyhow::anyhow!("{e}"))?;
    let s = stamp("2026-05-15");
    store.import_organisation(&org, &s, |_, _| {}).await?;
    store
        .record_milestone(
            2025,
            Deadline::ThemesPublished,
            date("2026-03-20"),
            Some(vec!["Sprog".into()]),
            &s,
        )
        .await?;
    store
        .connection()
        .execute_unprepared(
            "CREATE TABLE bench_bare (round INTEGER NOT NULL, n INTEGER NOT NULL, note TEXT NOT NULL, PRIMARY KEY (round, n))",
        )
        .await?;
    // Units whose dialogue a unit's superior holds (levels 3 and 4), a fresh share for
    // each count of writers.
    let units: Vec<UnitId> = org
        .units()
        .iter()
        .filter(|u| u.level.number() >= 3)
        .map(|u| u.id.clone())
        .collect();
    anyhow::ensure!(
        units.len() >= counts.len() * per_count,
        "the organisation has too few units"
    );
    let mut rows = Vec::new();
    for (round, (&writers, share)) in counts.iter().zip(units.chunks(per_count)).enumerate() {
        // In turn, so neither always runs on a warmer database.
        let (wall, latencies) = bare_inserts(&store, per_count, writers, round).await?;
        let bare = Rate::of(wall, latencies);
        let (wall, latencies) = record_dialogues(&store, share, writers).await?;
        let hjul = Rate::of(wall, latencies);
        eprintln!(
            "  {writers:>2} writers: {:>6.0} records/s (bare {:>6.0}/s)",
            hjul.per_second, bare.per_second
        );
        rows.push(Row {
            writers,
            records: share.len(),
            hjul,
            bare,
        });
    }
    store.close().await?;
    Ok(rows)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

pub(crate) async fn run(
    counts: Vec<usize>,
    per_count: usize,
    pg: Option<String>,
) -> anyhow::Result<()> {
    let mut results = vec![(
        "SQLite",
        measure(
            "SQLite",
            TestDb::sqlite("bench-writers"),
            &counts,
            per_count,
        )
        .await?,
    )];
    if let Some(url) = pg {
        results.push((
            "PostgreSQL",
            measure("PostgreSQL", postgres_db(&url).await?, &counts, per_count).await?,
        ));
    }
    println!(
        "| database | writers | records | dialogues/s | p50 ms | p99 ms | bare inserts/s | bare p99 ms | hjul ÷ bare |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, rows) in results {
        for r in rows {
            println!(
                "| {name} | {} | {} | {:.0} | {} | {} | {:.0} | {} | {:.2} |",
                r.writers,
                r.records,
                r.hjul.per_second,
                ms(r.hjul.p50),
                ms(r.hjul.p99),
                r.bare.per_second,
                ms(r.bare.p99),
                r.hjul.per_second / r.bare.per_second
            );
        }
    }
    Ok(())
}
