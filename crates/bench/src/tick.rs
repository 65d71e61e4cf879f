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
    /// A tick a minute later, nothing changed: the service's every minute.
    steady: Duration,
    steady_read: usize,
    /// A tick after `CHANGES` units' dialogues were recorded.
    changed: Duration,
    changed_read: usize,
    /// A restarted process's first tick (every unit read, nothing new to write).
    restart: Duration,
    /// What the tick read every minute before it kept the next moment, read bare.
    raw: Duration,
}

/// Dialogues recorded between two ticks, for the tick that reads what changed.
const CHANGES: usize = 10;

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
    let new_scheduler = |store: Store| -> anyhow::Result<Scheduler> {
        Ok(Scheduler::new(
            store,
            hjul_tests::scheduler_settings(),
            hjul_tests::mail_settings(1),
            hjul_mail::Templates::load(None)?,
        ))
    };
    let scheduler = new_scheduler(store.clone())?;
    // 15 July 2026: every level 3–4 unit is past its dialogue (opened, two reminders,
    // overdue, escalation): the first tick writes all of it.
    let at = eight("2026-07-15");
    let t = Instant::now();
    let report = scheduler.tick(at).await?;
    let first = t.elapsed();
    let minute = |i: usize| at + chrono::Duration::minutes(i64::try_from(i + 1).unwrap_or(1));
    let (mut steady, mut steady_read) = (Vec::new(), 0);
    let (mut changed, mut changed_read) = (Vec::new(), 0);
    let mut raw = Vec::new();
    for i in 0..runs {
        let t = Instant::now();
        let r = scheduler.tick(minute(2 * i)).await?;
        steady.push(t.elapsed());
        steady_read = steady_read.max(r.units_read);
        anyhow::ensure!(
            r.created.is_empty(),
            "a steady tick wrote {} items",
            r.created.len()
        );
        // A busy minute: some leaders record their dialogue.
        let s = stamp("2026-07-15");
        for u in 0..CHANGES {
            let unit = hjul_wheel::UnitId::parse(&format!("h{}", i * CHANGES + u))
                .map_err(|problem| anyhow::anyhow!("{problem}"))?;
            store
                .record_dialogue(&unit, date("2026-07-14"), None, &s)
                .await?;
        }
        let t = Instant::now();
        let r = scheduler.tick(minute(2 * i + 1)).await?;
        changed.push(t.elapsed());
        changed_read = changed_read.max(r.units_read);
        let t = Instant::now();
        raw_read(&store).await?;
        raw.push(t.elapsed());
    }
    let restarted = new_scheduler(store.clone())?;
    let t = Instant::now();
    let r = restarted.tick(minute(2 * runs)).await?;
    let restart = t.elapsed();
    anyhow::ensure!(
        r.created.is_empty() && r.moments_kept == 0,
        "a restarted tick found {} items and {} moments not written",
        r.created.len(),
        r.moments_kept
    );
    scheduler.close().await?;
    Ok(Figures {
        backend: name,
        first,
        created: report.created.len(),
        steady: median(steady),
        steady_read,
        changed: median(changed),
        changed_read,
        restart,
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
        "the scheduler's tick over {units} units on 2026-07-15 (dialogues overdue); median of {runs} ticks each"
    );
    println!();
    println!(
        "{:<9} {:>11} {:>9} {:>13} {:>6} {:>16} {:>6} {:>11} {:>11} {:>7}",
        "backend",
        "first tick",
        "items",
        "steady tick",
        "read",
        "after changes",
        "read",
        "restart",
        "raw read",
        "ratio"
    );
    for f in &figures {
        println!(
            "{:<9} {:>11} {:>9} {:>13} {:>6} {:>16} {:>6} {:>11} {:>11} {:>6.3}×",
            f.backend,
            ms(f.first),
            f.created,
            ms(f.steady),
            f.steady_read,
            ms(f.changed),
            f.changed_read,
            ms(f.restart),
            ms(f.raw),
            f.steady.as_secs_f64() / f.raw.as_secs_f64()
        );
    }
    println!();
    println!("steady tick: a minute later, nothing changed; read: units whose facts it read.");
    println!("after changes: the tick after {CHANGES} units recorded their dialogue.");
    println!("restart: a new process's first tick, which reads every unit (and the outbox keys).");
    println!(
        "raw read: the rows every tick read before it kept each unit's next moment, fetched \
         with bare SQL (the floor of the old steady tick); ratio: steady tick over it."
    );
    Ok(())
}
