//! `hjul-bench cycle`: a whole two-year cycle of a large organisation through the real
//! database and a local SMTP server, beside the database's raw rate measured in the same
//! run (`pgbench -b simple-update` for PostgreSQL, a bare insert-and-commit loop for
//! SQLite).
//!
//! Each day of the cycle the tick runs at 08:00 and the dispatchers send what is due; the
//! driver records what a department records (milestones, half the dialogues), as the fault
//! harness does. With several senders, each is a scheduler of its own with its own
//! database pool and SMTP connection, as separate `hjul serve` instances would be; they
//! share the work under the per-recipient leases.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use hjul_mail::{Sender, SmtpSender};
use hjul_scheduler::Scheduler;
use hjul_store::{CurrentWheel, Store};
use hjul_tests::smtp::SmtpServer;
use hjul_tests::{TestDb, stamp};
use hjul_wheel::{Organisation, WheelDefinition};
use sea_orm::{ConnectionTrait, Statement};

use crate::{bar, fresh_database, organisation, postgres_db};

struct Figures {
    backend: &'static str,
    senders: usize,
    wall: Duration,
    peak_rss_mib: f64,
    ticks: usize,
    tick_time: Duration,
    items: usize,
    mails: usize,
    dispatch_time: Duration,
}

/// The process's peak resident memory in MiB (VmHWM), and a reset of it for the next run
/// (writing 5 to clear_refs; without it the figure is the peak since the process began).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

async fn cycle(
    backend: &'static str,
    db: TestDb,
    units: usize,
    senders: usize,
    (from, to): (NaiveDate, NaiveDate),
) -> anyhow::Result<Figures> {
    eprintln!("{backend}, {units} units, {senders} sender(s): a whole cycle {from} to {to}…");
    let store = db.store().await;
    let org =
        Organisation::from_csv(&organisation(units), |_| {}).map_err(|e| anyhow::anyhow!("{e}"))?;
    store
        .import_organisation(&org, &stamp(&from.to_string()), |_, _| {})
        .await?;
    let server = SmtpServer::start_counting().await;
    let mut settings = hjul_tests::scheduler_settings();
    // A person's mail may wait up to a day; the defaults (one try a minute) would leave
    // items retried while the clock jumps a day at a time.
    settings.batch = 100_000;
    // The first uses the store the organisation went in through; the others open their
    // own pools, as other processes would.
    let mut stores = vec![store];
    for _ in 1..senders {
        stores.push(Store::open(&db.location, CurrentWheel::builtin(), false).await?);
    }
    let mut schedulers = Vec::new();
    for store in stores {
        schedulers.push(Arc::new(Scheduler::new(
            store,
            settings.clone(),
            hjul_tests::mail_settings(server.port()),
            hjul_mail::Templates::load(None)?,
        )));
    }
    let smtp = || Sender::Smtp(SmtpSender::new(hjul_tests::smtp_settings(server.port())));
    let mail_senders: Vec<Arc<Sender>> = (0..senders).map(|_| Arc::new(smtp())).collect();

    let def = WheelDefinition::builtin();
    let days: Vec<NaiveDate> = from.iter_days().take_while(|d| *d <= to).collect();
    let b = bar(days.len(), &format!("{backend}, {senders} sender(s)"));
    reset_peak_rss();
    let started = Instant::now();
    let (mut tick_time, mut dispatch_time) = (Duration::ZERO, Duration::ZERO);
    let mut items = 0;
    for day in days.iter().copied() {
        b.inc(1);
        let at = hjul_wheel::reminders::mail_instant(def.mail_time, day);
        let t = Instant::now();
        items += schedulers[0].tick(at).await?.created.len();
        tick_time += t.elapsed();
        let t = Instant::now();
        // Each on a task of its own, on the runtime's threads, as separate instances
        // would send at once.
        let tasks: Vec<_> = schedulers
            .iter()
            .zip(&mail_senders)
            .map(|(s, m)| {
                let (s, m) = (Arc::clone(s), Arc::clone(m));
                tokio::spawn(async move { s.dispatch(&m, at).await })
            })
            .collect();
        let mut reports = Vec::new();
        for t in tasks {
            reports.push(t.await?);
        }
        dispatch_time += t.elapsed();
        for r in reports {
            let r = r?;
            anyhow::ensure!(
                r.retried == 0 && r.dead == 0,
                "{day}: the local SMTP server refused mail ({} retried, {} dead)",
                r.retried,
                r.dead
            );
        }
        hjul_tests::harness::record_events(schedulers[0].store(), &org, day).await;
    }
    let wall = started.elapsed();
    b.finish_and_clear();
    let peak = peak_rss_mib();
    let mails = server.accepted();
    for s in schedulers {
        if let Ok(s) = Arc::try_unwrap(s) {
            s.close().await?;
        }
    }
    Ok(Figures {
        backend,
        senders,
        wall,
        peak_rss_mib: peak,
        ticks: days.len(),
        tick_time,
        items,
        mails,
        dispatch_time,
    })
}

/// Commits per second of a bare loop: one row inserted and committed at a time, on a
/// SQLite file opened with hjul's settings (WAL, synchronous NORMAL).
async fn sqlite_raw(n: usize) -> anyhow::Result<f64> {
    let db = TestDb::sqlite("bench-cycle-raw");
    let store = Store::open(&db.location, CurrentWheel::builtin(), true).await?;
    let c = store.connection();
    let backend = store.backend();
    c.execute_unprepared(
        "CREATE TABLE raw (id INTEGER PRIMARY KEY, key TEXT NOT NULL, at TEXT NOT NULL)",
    )
    .await?;
    let t = Instant::now();
    for i in 0..n {
        c.execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO raw (key, at) VALUES (?, ?)",
            [
                format!("2025:u{i}:dialogue").into(),
                "2026-03-23T07:00:00Z".into(),
            ],
        ))
        .await?;
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    store.close().await?;
    Ok(rate)
}

/// `pgbench -b simple-update` for `secs` seconds with `clients` connections, on a
/// database of its own on the server of `url`: transactions per second.
async fn pgbench(url: &str, clients: usize, secs: u32) -> anyhow::Result<f64> {
    let db = fresh_database(url, "hjul_t_pgbench").await?;
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", "1", &db])
        .output()
        .map_err(|e| anyhow::anyhow!("pgbench (the PostgreSQL client tools): {e}"))?;
    anyhow::ensure!(
        init.status.success(),
        "pgbench -i: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let out = Command::new("pgbench")
        .args([
            "-b",
            "simple-update",
            "-c",
            &clients.to_string(),
            "-j",
            &clients.min(2).to_string(),
            "-T",
            &secs.to_string(),
            &db,
        ])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "pgbench: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.split_whitespace().nth(2))
        .and_then(|x| x.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no tps in pgbench's output:\n{text}"))
}

pub async fn run(
    units: usize,
    pg: Option<String>,
    senders: Vec<usize>,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        !senders.is_empty() && senders.iter().all(|s| *s > 0),
        "--senders lists one or more counts above 0, such as 1,3"
    );
    anyhow::ensure!(from < to, "--from must come before --to");
    let mut figures = Vec::new();
    let mut baselines = Vec::new();
    eprintln!("sqlite: a bare insert-and-commit loop…");
    let raw = sqlite_raw(20_000).await?;
    baselines.push(format!(
        "sqlite    bare insert+commit loop, 1 connection: {raw:.0} commits/s"
    ));
    for s in &senders {
        figures.push(
            cycle(
                "sqlite",
                TestDb::sqlite("bench-cycle"),
                units,
                *s,
                (from, to),
            )
            .await?,
        );
    }
    if let Some(url) = &pg {
        for clients in [1, senders.iter().copied().max().unwrap_or(1)] {
            eprintln!("postgres: pgbench -b simple-update, {clients} client(s)…");
            let tps = pgbench(url, clients, 20).await?;
            baselines.push(format!(
                "postgres  pgbench -b simple-update, {clients} client(s): {tps:.0} tps"
            ));
            if clients == senders.iter().copied().max().unwrap_or(1) {
                break;
            }
        }
        for s in &senders {
            figures.push(cycle("postgres", postgres_db(url).await?, units, *s, (from, to)).await?);
        }
    }
    println!(
        "a whole cycle, {from} to {to}, of {units} units through the database and a local SMTP server"
    );
    println!();
    println!(
        "{:<9} {:>7} {:>9} {:>9} {:>7} {:>8} {:>8} {:>8} {:>8}",
        "backend", "senders", "wall", "peak RSS", "ticks", "ticks/s", "items", "mails", "mails/s"
    );
    for f in &figures {
        println!(
            "{:<9} {:>7} {:>8.0}s {:>6.0}MiB {:>7} {:>8.2} {:>8} {:>8} {:>8.0}",
            f.backend,
            f.senders,
            f.wall.as_secs_f64(),
            f.peak_rss_mib,
            f.ticks,
            f.ticks as f64 / f.tick_time.as_secs_f64(),
            f.items,
            f.mails,
            f.mails as f64 / f.dispatch_time.as_secs_f64(),
        );
    }
    println!();
    println!("the databases' raw rates, measured in this run:");
    for b in &baselines {
        println!("  {b}");
    }
    println!();
    println!("ticks/s: ticks over the time spent ticking (one tick per day at 08:00);");
    println!("mails/s: mails the SMTP server accepted over the time spent dispatching;");
    println!("peak RSS: this process (hjul, the driver and the SMTP server) during the cycle.");
    Ok(())
}
