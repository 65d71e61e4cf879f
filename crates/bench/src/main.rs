//! `hjul-bench`: how long hjul's work takes, beside a baseline from the same run.

mod api;
mod cycle;
mod data;
mod mail;
mod report;
mod tick;
mod writers;

/// The allocator `hjul` runs with, so the figures are the service's. A heap profiler
/// (heaptrack) sees only the C library's malloc: build with `--features
/// system-allocator` to profile.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use hjul_store::{Location, StatusFilter, Store};
use hjul_tests::{AGREEMENT, GRADES, TestDb, date, organisation, stamp};
use hjul_wheel::{Deadline, Organisation};
use indicatif::{ProgressBar, ProgressStyle};
use sea_orm::{ConnectionTrait, Statement};

#[derive(Parser)]
#[command(about = "Benchmarks of hjul, each beside a baseline measured in the same run")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The scheduler's tick over N units: the first (which writes every passed item)
    /// and a steady one (nothing new), beside a bare read of the rows it needs.
    Tick {
        #[arg(long, default_value_t = 10_000)]
        units: usize,
        #[arg(long, value_name = "URL")]
        pg: Option<String>,
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Mails per second from the dispatcher to a local SMTP server, with and without
    /// TCP_NODELAY, beside a bare SMTP loop over one connection to the same server.
    Mail {
        /// Units in the organisation; about as many mails go out.
        #[arg(long, default_value_t = 1_000)]
        units: usize,
        /// Mails for the run without TCP_NODELAY (each waits ~40 ms).
        #[arg(long, default_value_t = 200)]
        slow_units: usize,
    },
    /// Requests per second and p50/p99 latency of the HTTP API and the dashboard over N
    /// units, beside `/healthz` on the same server and the store's status fold in-process.
    Api {
        #[arg(long, default_value_t = 10_000)]
        units: usize,
        /// A PostgreSQL server to measure too (a database `hjul_t_bench` is made afresh).
        #[arg(long, value_name = "URL")]
        pg: Option<String>,
        /// Requests of each status and dashboard measurement (×10 for one unit, ×100 for
        /// `/healthz` and `/api/v1/me`).
        #[arg(long, default_value_t = 20)]
        requests: usize,
        /// Connections sending at once.
        #[arg(long, default_value_t = 2)]
        connections: usize,
    },
    /// A whole two-year cycle of N units through the database and a local SMTP server:
    /// wall time, peak memory, ticks/s and mails/s, beside the database's raw rate
    /// (`pgbench -b simple-update`; a bare SQLite insert-and-commit loop).
    Cycle {
        #[arg(long, default_value_t = 20_000)]
        units: usize,
        /// A PostgreSQL server to measure too (databases `hjul_t_bench` and
        /// `hjul_t_pgbench` are made afresh).
        #[arg(long, value_name = "URL")]
        pg: Option<String>,
        /// Dispatchers sending at once, each with its own SMTP connection and database
        /// pool (as instances would); one run of the cycle per count.
        #[arg(long, value_delimiter = ',', default_value = "1,3")]
        senders: Vec<usize>,
        #[arg(long, default_value = "2025-10-01")]
        from: NaiveDate,
        #[arg(long, default_value = "2027-10-31")]
        to: NaiveDate,
    },
    /// The fault harness at any size: `hjul serve` processes on a private PostgreSQL with
    /// kill -9s, a database restart and a day without SMTP (build `hjul` first:
    /// `cargo build --release -p hjul`; it is looked for beside this program).
    Harness {
        #[arg(long, default_value_t = 3_000)]
        units: usize,
        #[arg(long, default_value_t = 3)]
        instances: usize,
        #[arg(long, default_value_t = 20_261_122)]
        seed: u64,
        /// The chance, at each step of the virtual clock, that an instance is killed.
        #[arg(long, default_value_t = 0.03)]
        kill_chance: f64,
        #[arg(long, default_value = "2025-10-01")]
        from: NaiveDate,
        #[arg(long, default_value = "2027-10-31")]
        to: NaiveDate,
    },
    /// Indicator data: a file of N units × 12 measures × 8 school years checked,
    /// imported and imported again, then the patterns and a unit's data sheet read,
    /// beside a bare insert and a bare read of the same rows.
    Data {
        #[arg(long, default_value_t = 10_000)]
        units: usize,
        /// A PostgreSQL server to measure too (a database `hjul_t_bench` is made afresh).
        #[arg(long, value_name = "URL")]
        pg: Option<String>,
        /// Timed reads of the patterns and the sheet; the median is reported.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// The department's quality report over N units (a whole cycle, eight years of
    /// figures): gathered, then written as Markdown, HTML and PDF, beside the same report
    /// over no units.
    Report {
        #[arg(long, default_value_t = 10_000)]
        units: usize,
        /// A PostgreSQL server to measure too (a database `hjul_t_bench` is made afresh).
        #[arg(long, value_name = "URL")]
        pg: Option<String>,
        /// Timed runs of each report; the median is reported.
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// A directory of report templates (laid out as config/report) to measure instead
        /// of the built-in ones: a municipality's own, or a variant of the frame.
        #[arg(long, value_name = "DIR")]
        templates: Option<std::path::PathBuf>,
        /// Lay the PDF out in parts of about this many KiB of Markdown instead of hjul's
        /// own (`hjul_report::pdf::PART_BYTES`); a large figure lays it out whole.
        #[arg(long, value_name = "KIB")]
        part_kib: Option<usize>,
    },
    /// People writing at the same moment: 1, 2, 4, 8 and 16 writers recording quality
    /// dialogues through the store, records/s and p50/p99, beside as many writers
    /// inserting one row a transaction into a bare table on the same database.
    Writers {
        #[arg(long, value_delimiter = ',', default_value = "1,2,4,8,16")]
        writers: Vec<usize>,
        /// Dialogues recorded for each count of writers.
        #[arg(long, default_value_t = 400)]
        records: usize,
        /// A PostgreSQL server to measure too (a database `hjul_t_bench` is made afresh).
        #[arg(long, value_name = "URL")]
        pg: Option<String>,
    },
    /// `hjul status` over N units with a whole cycle of events, on SQLite and PostgreSQL.
    Status {
        #[arg(long, default_value_t = 10_000)]
        units: usize,
        /// A PostgreSQL server to measure too (a database `hjul_t_bench` is made afresh).
        #[arg(long, value_name = "URL")]
        pg: Option<String>,
        /// Timed runs of status; its median and 99th percentile are reported.
        #[arg(long, default_value_t = 100)]
        runs: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Threads where several things must go on at once, as in `hjul serve`: the API's
    // server and its clients, senders on tasks of their own (as instances would be), the
    // harness's SMTP server while the driver blocks restarting PostgreSQL.
    let threaded = matches!(
        cli.command,
        Command::Api { .. }
            | Command::Cycle { .. }
            | Command::Harness { .. }
            | Command::Writers { .. }
    );
    let runtime = if threaded {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build()?;
    match cli.command {
        Command::Status { units, pg, runs } => runtime.block_on(status(units, pg, runs)),
        Command::Data { units, pg, runs } => runtime.block_on(data::run(units, pg, runs)),
        Command::Report {
            units,
            pg,
            runs,
            templates,
            part_kib,
        } => runtime.block_on(report::run(units, pg, runs, (templates, part_kib))),
        Command::Tick { units, pg, runs } => runtime.block_on(tick::run(units, pg, runs)),
        Command::Mail { units, slow_units } => runtime.block_on(mail::run(units, slow_units)),
        Command::Api {
            units,
            pg,
            requests,
            connections,
        } => runtime.block_on(api::run(units, pg, requests, connections)),
        Command::Cycle {
            units,
            pg,
            senders,
            from,
            to,
        } => runtime.block_on(cycle::run(units, pg, senders, from, to)),
        Command::Writers {
            writers,
            records,
            pg,
        } => runtime.block_on(writers::run(writers, records, pg)),
        Command::Harness {
            units,
            instances,
            seed,
            kill_chance,
            from,
            to,
        } => runtime.block_on(harness(units, instances, seed, kill_chance, (from, to))),
    }
}

async fn harness(
    units: usize,
    instances: usize,
    seed: u64,
    kill_chance: f64,
    (from, to): (NaiveDate, NaiveDate),
) -> anyhow::Result<()> {
    let hjul = std::env::current_exe()?.with_file_name("hjul");
    anyhow::ensure!(
        hjul.exists(),
        "{} is missing: build it first with `cargo build --release -p hjul`",
        hjul.display()
    );
    let cfg = hjul_tests::harness::Config {
        hjul,
        dir: std::env::temp_dir().join(format!("hjul-harness-{}", std::process::id())),
        units,
        instances,
        seed,
        from,
        to,
        kill_chance,
    };
    let report = hjul_tests::harness::run(&cfg)
        .await
        .map_err(|e| anyhow::anyhow!("the harness could not run: {e}"))?;
    report.print(&cfg);
    let _ = std::fs::remove_dir_all(&cfg.dir);
    anyhow::ensure!(
        report.lost == 0 && report.unexplained() == 0,
        "mail was lost or sent twice without a kill to explain it"
    );
    Ok(())
}

pub(crate) fn bar(total: usize, what: &str) -> ProgressBar {
    let b = ProgressBar::new(total as u64);
    if let Ok(style) = ProgressStyle::with_template("{msg:<28} [{bar:30}] {pos}/{len} ({eta} left)")
    {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message(what.to_owned());
    b
}

/// Records a whole cycle 2025 for every unit through the store's API.
async fn record_cycle(store: &Store, org: &Organisation) -> anyhow::Result<usize> {
    let s = stamp("2027-09-20");
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
    store
        .record_milestone(2025, Deadline::ReportFinal, date("2026-09-24"), None, &s)
        .await?;
    let b = bar(org.units().len(), "recording a cycle");
    let mut events = 3;
    for (i, u) in org.units().iter().enumerate() {
        b.inc(1);
        let id = &u.id;
        let level = u.level.number();
        if level == 1 {
            continue;
        }
        // Spread the dates so the units stand at different steps on different days.
        let shift = chrono::Duration::days(i64::try_from(i % 60).unwrap_or(0));
        let (sub, sign): (NaiveDate, NaiveDate) = if level == 2 {
            (date("2026-10-01"), date("2026-10-10"))
        } else {
            let held = date("2026-02-01") + shift;
            store.record_dialogue(id, held, None, &s).await?;
            events += 1;
            (date("2026-04-01") + shift, date("2026-04-10") + shift)
        };
        store
            .submit_agreement(id, sub, AGREEMENT, "agreement.toml", &s)
            .await?;
        store.sign_agreement(id, sign, &s).await?;
        // Most give their midway status; some are late.
        events += 2;
        if i % 10 != 0 {
            store
                .give_midway(
                    id,
                    date("2027-08-16") + chrono::Duration::days(i64::try_from(i % 20).unwrap_or(0)),
                    GRADES,
                    "grades.toml",
                    &s,
                )
                .await?;
            events += 1;
        }
    }
    b.finish_and_clear();
    Ok(events)
}

/// A change of one unit, as many times as asked: the last house's dialogue redated by
/// a day and back, each a correction in a transaction of its own that rewrites the
/// house's standing row (and counts up the cycle's changes).
pub(crate) struct Redate {
    unit: hjul_wheel::UnitId,
    event: uuid::Uuid,
    held: NaiveDate,
    done: u32,
}

impl Redate {
    pub(crate) async fn of_last_house(
        store: &Store,
        org: &Organisation,
        at: NaiveDate,
    ) -> anyhow::Result<Self> {
        let unit = org
            .units()
            .iter()
            .rev()
            .find(|u| u.level.number() == 4)
            .context("the organisation has no house")?
            .id
            .clone();
        let dialogue = store
            .timeline(&unit, at, None)
            .await?
            .events
            .into_iter()
            .find(|e| !e.superseded && e.kind == hjul_wheel::EventKind::DialogueHeld)
            .with_context(|| format!("{unit} has no dialogue on record"))?;
        Ok(Self {
            unit,
            event: dialogue.id,
            held: dialogue.on,
            done: 0,
        })
    }

    pub(crate) async fn next(&mut self, store: &Store) -> anyhow::Result<()> {
        self.done += 1;
        let on = self.held + chrono::Duration::days(i64::from(self.done % 2));
        let corrected = store
            .correct_event(
                &self.unit,
                self.event,
                hjul_store::Correction::Redate { on },
                "benchmark",
                &stamp("2027-09-20"),
            )
            .await?;
        self.event = corrected.new_event.context("a redate gave no new event")?;
        Ok(())
    }
}

pub(crate) fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// The baseline: the rows `status` reads, read bare (units, people, events, milestones,
/// agreements, goals, grades), with no wheel and no mapping into entities.
async fn raw_read(store: &Store) -> anyhow::Result<usize> {
    let backend = store.backend();
    let mut rows = 0;
    for sql in [
        "SELECT id, name, level, parent_id, area, leader_id, active FROM unit",
        "SELECT id, email FROM person",
        "SELECT unit_id, kind, \"on\", id FROM unit_event WHERE cycle = 2025 ORDER BY id",
        "SELECT deadline, met_on FROM milestone WHERE cycle = 2025",
        "SELECT id, unit_id, revision FROM agreement WHERE cycle = 2025",
        "SELECT id, weight FROM goal",
        "SELECT agreement_id, goal_id, grade FROM grade",
    ] {
        rows += store
            .connection()
            .query_all_raw(Statement::from_string(backend, sql))
            .await?
            .len();
    }
    Ok(rows)
}

/// The bare read of the projection: the query `status` makes (active units, their kept
/// standing, who acts), fetched with bare SQL and no mapping.
async fn projection_read(store: &Store) -> anyhow::Result<usize> {
    let sql = "SELECT u.id, u.name, u.level, u.area, s.cycle, s.step, s.next_deadline, \
               s.next_due, s.responsible, s.responsible_unit, s.agreement, s.score, \
               s.facts_through, p.email, p.name \
               FROM unit u \
               LEFT JOIN unit_standing s ON s.unit_id = u.id AND s.cycle = 2025 \
               LEFT JOIN unit r ON r.id = s.responsible_unit \
               LEFT JOIN person p ON p.id = r.leader_id \
               WHERE u.active";
    Ok(store
        .connection()
        .query_all_raw(Statement::from_string(store.backend(), sql))
        .await?
        .len())
}

struct Figures {
    backend: &'static str,
    /// `status` with nothing changed since the last: the kept answer.
    status: Vec<Duration>,
    /// `status` after a change: read from the projection again.
    read: Vec<Duration>,
    /// `status` after one unit's dialogue was redated: the kept answer with the rows
    /// written since read again.
    changed: Vec<Duration>,
    projection: Duration,
    folded: Duration,
    raw: Duration,
    events: usize,
    import: Duration,
    record: Duration,
}

/// The `q`-quantile of sorted durations (the largest at 1.0).
pub(crate) fn quantile(sorted: &[Duration], q: f64) -> Duration {
    let last = sorted.len().saturating_sub(1);
    // Rounded up: with few runs the 99th percentile is the slowest run, never less.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((last as f64) * q).ceil() as usize;
    sorted[i.min(last)]
}

async fn measure(name: &'static str, db: TestDb, n: usize, runs: usize) -> anyhow::Result<Figures> {
    eprintln!("{name}: building {n} units and a whole cycle of events…");
    let store = db.store().await;
    let org =
        Organisation::from_csv(&organisation(n), |_| {}).map_err(|e| anyhow::anyhow!("{e}"))?;
    let t = Instant::now();
    store
        .import_organisation(&org, &stamp("2027-09-20"), |_, _| {})
        .await?;
    let import = t.elapsed();
    let t = Instant::now();
    let events = record_cycle(&store, &org).await?;
    let record = t.elapsed();

    let at = date("2027-09-20");
    let filter = StatusFilter::default();
    // One untimed run of each to warm caches; the projection must give the fold's answer.
    let rows = store.status(at, &filter, None).await?;
    anyhow::ensure!(
        rows.len() == org.units().len(),
        "status returned {} rows for {} units",
        rows.len(),
        org.units().len()
    );
    anyhow::ensure!(
        rows == store.status_folded(at, &filter, None).await?,
        "the projection and the fold disagree"
    );
    anyhow::ensure!(projection_read(&store).await? == rows.len());
    raw_read(&store).await?;
    anyhow::ensure!(
        rows == store.status_read(at, &filter, None).await?,
        "the kept answer and a read of the projection disagree"
    );
    let (mut status_times, mut read_times, mut projection_times) =
        (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        // Alternate, so drift on a noisy machine hits all alike.
        let t = Instant::now();
        store.status(at, &filter, None).await?;
        status_times.push(t.elapsed());
        let t = Instant::now();
        store.status_read(at, &filter, None).await?;
        read_times.push(t.elapsed());
        let t = Instant::now();
        projection_read(&store).await?;
        projection_times.push(t.elapsed());
    }
    // One unit changes between runs (its dialogue redated, back and forth, as a
    // secretariat corrects a date): only what that change wrote is read again.
    let mut redate = Redate::of_last_house(&store, &org, at).await?;
    let mut changed_times = Vec::new();
    for _ in 0..runs {
        redate.next(&store).await?;
        let t = Instant::now();
        store.status(at, &filter, None).await?;
        changed_times.push(t.elapsed());
    }
    anyhow::ensure!(
        store.status(at, &filter, None).await? == store.status_folded(at, &filter, None).await?,
        "after the changes the kept answer and the fold disagree"
    );
    // The fold (what status did before the projection) and its floor: fewer runs, they
    // are slow.
    let (mut folded_times, mut raw_times) = (Vec::new(), Vec::new());
    for _ in 0..runs.min(5) {
        let t = Instant::now();
        store.status_folded(at, &filter, None).await?;
        folded_times.push(t.elapsed());
        let t = Instant::now();
        raw_read(&store).await?;
        raw_times.push(t.elapsed());
    }
    store.close().await?;
    status_times.sort();
    read_times.sort();
    changed_times.sort();
    Ok(Figures {
        backend: name,
        status: status_times,
        read: read_times,
        changed: changed_times,
        projection: median(projection_times),
        folded: median(folded_times),
        raw: median(raw_times),
        events,
        import,
        record,
    })
}

async fn status(units: usize, pg: Option<String>, runs: usize) -> anyhow::Result<()> {
    anyhow::ensure!(runs > 0, "--runs must be at least 1");
    let mut figures = vec![measure("sqlite", TestDb::sqlite("bench"), units, runs).await?];
    if let Some(url) = pg {
        let db = postgres_db(&url)
            .await
            .context("the PostgreSQL server of --pg")?;
        figures.push(measure("postgres", db, units, runs).await?);
    }
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    let ratio = |a: Duration, b: Duration| format!("{:.1}×", a.as_secs_f64() / b.as_secs_f64());
    println!("hjul status over {units} units, whole cycle 2025 on record; {runs} runs");
    println!();
    println!(
        "{:<9} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>10} {:>9} {:>6} {:>7} {:>8}",
        "backend",
        "events",
        "kept p50",
        "kept p99",
        "1 chg p50",
        "1 chg p99",
        "read p50",
        "read p99",
        "bare read",
        "ratio",
        "fold (old)",
        "its floor",
        "ratio",
        "import",
        "record"
    );
    for f in &figures {
        let read = quantile(&f.read, 0.5);
        println!(
            "{:<9} {:>7} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6} {:>10} {:>9} {:>6} {:>7} {:>8}",
            f.backend,
            f.events,
            ms(quantile(&f.status, 0.5)),
            ms(quantile(&f.status, 0.99)),
            ms(quantile(&f.changed, 0.5)),
            ms(quantile(&f.changed, 0.99)),
            ms(read),
            ms(quantile(&f.read, 0.99)),
            ms(f.projection),
            ratio(read, f.projection),
            ms(f.folded),
            ms(f.raw),
            ratio(f.folded, f.raw),
            format!("{:.1} s", f.import.as_secs_f64()),
            format!("{:.1} s", f.record.as_secs_f64()),
        );
    }
    println!();
    println!("kept: `status` with nothing changed since it was last asked (the answer the");
    println!("store keeps, checked against the cycle's count of changes, filtered and copied).");
    println!("1 chg: `status` after one unit's dialogue was redated: the kept answer with the");
    println!("rows that change wrote read again.");
    println!("read: `status` after a change: every row read from the standing projection");
    println!("(p50, p99 of the runs; the p99 of fewer than 100 runs is the slowest). bare");
    println!("read: the same query in bare SQL, no mapping; ratio: read p50 to it. fold (old):");
    println!("every event folded again, as status did before the projection (median of up to");
    println!("5 runs); its floor: the rows it reads, bare.");
    Ok(())
}

/// A fresh database `hjul_t_bench` on the server of `url`.
pub(crate) async fn postgres_db(url: &str) -> anyhow::Result<TestDb> {
    Ok(TestDb {
        location: Location::Postgres(fresh_database(url, "hjul_t_bench").await?),
    })
}

/// Makes the database `name` afresh on the server of `url`; returns its URL.
pub(crate) async fn fresh_database(url: &str, name: &str) -> anyhow::Result<String> {
    let admin = sea_orm::Database::connect(url).await?;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    admin.close().await?;
    Ok(hjul_tests::with_database(url, name))
}
