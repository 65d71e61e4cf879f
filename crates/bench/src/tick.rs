//! `hjul-bench tick`: the scheduler's tick over a large organisation.

use std::time::{Duration, Instant};

use hjul_scheduler::Scheduler;
use hjul_store::Store;
use hjul_tests::{TestDb, date, eight, stamp};
use hjul_wheel::{Deadline, Organisation};
use sea_orm::{ConnectionTrait, Statement};

use crate::{median, organisation, postgres_db};

struct Figures {
    backend: &'static str,
    first: Duration,
    created: usize,
    steady: Duration,
    raw: Duration,
}

/// The rows a tick reads, read bare: units, events, milestones, outbox keys.
async fn raw_read(store: &Store) -> anyhow::Result<usize> {
    let backend = store.backend();
    let mut rows = 0;
    for sql in [
        "SELECT id, level, area, active FROM unit WHERE active",
        "SELECT unit_id, kind, \"on\", id FROM unit_event WHERE cycle IN (2023, 2025) ORDER BY id",
        "SELECT deadline, met_on FROM milestone WHERE cycle IN (2023, 2025)",
        "SELECT key FROM outbox_item WHERE cycle IN (2023, 2025) OR cycle IS NULL",
    ] {
        rows += store
            .connection()
            .query_all_raw(Statement::from_string(backend, sql))
            .await?
            .len();
    }
    Ok(rows)
}

async fn measure(name: &'static str, db: TestDb, n: usize, runs: usize) -> anyhow::Result<Figures> {
    eprintln!("{name}: {n} units…");
    let store = db.store().await;
    let org =
        Organisation::from_csv(&organisation(n), |_| {}).map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .import_organisation(&org, &stamp("2026-07-15"), |_, _| {})
        .await?;
    let s = stamp("2026-07-15");
    store
        .record_milestone(2025, Deadline::DataCollected, date("2025-12-18"), None, &s)
        .await?;
    store
        .record_milestone(
            2025,
            Deadline::ThemesPublished,
            date("2026-03-20"),
            Some(vec!["Sprog".into()]),
            &s,
        )
        .await?;
    let scheduler = Scheduler::new(
        store,
        hjul_tests::scheduler_settings(),
        hjul_tests::mail_settings(1),
        hjul_mail::Templates::load(None)?,
    );
    // 15 July 2026: every level 3–4 unit is past its dialogue (opened, two reminders,
    // overdue, escalation): the first tick writes all of it.
    let at = eight("2026-07-15");
    let t = Instant::now();
    let report = scheduler.tick(at).await?;
    let first = t.elapsed();
    let mut steady = Vec::new();
    let mut raw = Vec::new();
    for i in 0..runs {
        let later = at + chrono::Duration::minutes(i64::try_from(i + 1).unwrap_or(1));
        let t = Instant::now();
        let r = scheduler.tick(later).await?;
        steady.push(t.elapsed());
        anyhow::ensure!(
            r.created.is_empty(),
            "a steady tick wrote {} items",
            r.created.len()
        );
        let t = Instant::now();
        raw_read(scheduler.store()).await?;
        raw.push(t.elapsed());
    }
    scheduler.close().await?;
    Ok(Figures {
        backend: name,
        first,
        created: report.created.len(),
        steady: median(steady),
        raw: median(raw),
    })
}

pub async fn run(units: usize, pg: Option<String>, runs: usize) -> anyhow::Result<()> {
    anyhow::ensure!(runs > 0, "--runs must be at least 1");
    let mut figures = vec![measure("sqlite", TestDb::sqlite("bench-tick"), units, runs).await?];
    if let Some(url) = pg {
        figures.push(measure("postgres", postgres_db(&url).await?, units, runs).await?);
    }
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    println!(
        "the scheduler's tick over {units} units on 2026-07-15 (dialogues overdue); median of {runs} steady ticks"
    );
    println!();
    println!(
        "{:<9} {:>12} {:>10} {:>12} {:>12} {:>8}",
        "backend", "first tick", "items", "steady tick", "raw read", "ratio"
    );
    for f in &figures {
        println!(
            "{:<9} {:>12} {:>10} {:>12} {:>12} {:>7.1}×",
            f.backend,
            ms(f.first),
            f.created,
            ms(f.steady),
            ms(f.raw),
            f.steady.as_secs_f64() / f.raw.as_secs_f64()
        );
    }
    println!();
    println!(
        "raw read: the rows a tick reads, fetched with bare SQL (the floor of a steady tick)."
    );
    Ok(())
}
