//! The fault harness: several `hjul serve` processes on a PostgreSQL server of the
//! harness's own and a local SMTP server, moved together through a cycle on a virtual
//! clock (a file they read), while instances are killed with SIGKILL at random moments,
//! PostgreSQL is restarted once and the SMTP server is down for a whole day. At the end
//! it counts, from the database and the SMTP server: the items due, the items accepted,
//! those lost, and the mails accepted twice, and whether a kill explains each duplicate
//! (a process killed after the server accepted a mail and before it marked it sent).
//!
//! Run by `crates/cli/tests/harness.rs` at a size that fits CI, and by
//! `hjul-bench harness` at any size (docs/benchmarks.md).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use chrono::{DateTime, NaiveDate, Utc};
use hjul_store::{CurrentWheel, Location, OutboxItem, OutboxState, Store};
use hjul_wheel::{Deadline, Organisation, WheelDefinition};

use crate::pg::PrivatePg;
use crate::smtp::SmtpServer;
use crate::{date, organisation, stamp};

pub struct Config {
    /// The `hjul` binary to run.
    pub hjul: PathBuf,
    /// A scratch directory (made afresh).
    pub dir: PathBuf,
    pub units: usize,
    pub instances: usize,
    pub seed: u64,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The chance, at each step, that one instance is killed (and started again).
    pub kill_chance: f64,
}

#[derive(Debug, Default)]
pub struct Report {
    pub steps: usize,
    pub kills: usize,
    pub pg_restarts: usize,
    pub smtp_down_on: Option<NaiveDate>,
    pub items_due: usize,
    pub items_accepted: usize,
    pub lost: usize,
    pub mails: usize,
    /// Receipts of a Message-ID after its first.
    pub duplicated: usize,
    /// Of those, the ones a kill between the receipts explains.
    pub explained: usize,
    pub elapsed: Duration,
    /// A few of the lost items, to start looking.
    pub lost_examples: Vec<String>,
}

impl Report {
    pub fn unexplained(&self) -> usize {
        self.duplicated - self.explained
    }

    pub fn print(&self, cfg: &Config) {
        println!(
            "hjul fault harness: {} instances, {} units, {} to {}, seed {}",
            cfg.instances, cfg.units, cfg.from, cfg.to, cfg.seed
        );
        println!(
            "  steps {}, kill -9 {}, PostgreSQL restarts {}, SMTP down on {}",
            self.steps,
            self.kills,
            self.pg_restarts,
            self.smtp_down_on
                .map_or_else(|| "no day".to_owned(), |d| d.to_string())
        );
        println!("  items due              {:>8}", self.items_due);
        println!("  items accepted by SMTP {:>8}", self.items_accepted);
        println!("  lost                   {:>8}", self.lost);
        println!("  mails accepted         {:>8}", self.mails);
        println!("  duplicated mails       {:>8}", self.duplicated);
        println!("    explained by a kill  {:>8}", self.explained);
        println!("    unexplained          {:>8}", self.unexplained());
        println!(
            "  elapsed                {:>7.1}s",
            self.elapsed.as_secs_f64()
        );
        for l in &self.lost_examples {
            println!("  lost: {l}");
        }
    }
}

/// A small, seeded random source (xorshift), so a run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n.max(1)).unwrap_or(1)).unwrap_or(0)
    }

    fn chance(&mut self, p: f64) -> bool {
        #[allow(clippy::cast_precision_loss)]
        let x = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        x < p
    }
}

/// One `hjul serve` process and what its log says.
struct Instance {
    child: Child,
    /// The latest instant it has done a round at.
    round: Arc<Mutex<Option<DateTime<Utc>>>>,
    /// Its last log lines, for a message if it dies on its own.
    tail: Arc<Mutex<Vec<String>>>,
}

/// An instance left when the harness stops early (a failed check, a panic) is killed,
/// so no `hjul serve` outlives the test and slows the next one down.
impl Drop for Instance {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

impl Instance {
    fn start(cfg: &Config, env: &[(String, String)]) -> Result<Self, String> {
        let mut child = Command::new(&cfg.hjul)
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .current_dir(&cfg.dir)
            .env_remove("HJUL_CONFIG_DIR")
            .env_remove("HJUL_NOW")
            .env_remove("HJUL_TODAY")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", cfg.hjul.display()))?;
        let round = Arc::new(Mutex::new(None));
        let tail = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (r, t) = (round.clone(), tail.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
                let fields = &v["fields"];
                if fields["message"] == "round"
                    && let Some(at) = fields["at"]
                        .as_str()
                        .and_then(|a| DateTime::parse_from_rfc3339(a).ok())
                {
                    *r.lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                        Some(at.with_timezone(&Utc));
                    continue;
                }
                let mut t = t.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                t.push(line);
                if t.len() > 20 {
                    t.remove(0);
                }
            }
        });
        Ok(Self { child, round, tail })
    }

    fn has_been_round_at(&self, at: DateTime<Utc>) -> bool {
        self.round
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|r| r >= at)
    }

    fn died(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "an instance exited by itself ({status}); its last lines:\n{}",
                self.tail
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .join("\n")
            )),
            _ => None,
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL on Unix: no chance to tidy up.
        let _ = self.child.wait();
    }

    /// Asks it to stop (SIGTERM) and waits, without blocking the runtime: the SMTP
    /// server it says QUIT to runs on this process's runtime. An instance that has not
    /// stopped within a minute is an error of its own.
    async fn stop(&mut self) -> Result<(), String> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.kill();
        Err(format!(
            "an instance did not stop within 60 s of SIGTERM; its last lines:\n{}",
            self.tail
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .join("\n")
        ))
    }
}

/// Writes the virtual clock: a new file renamed over the old, so no reader sees half.
fn set_clock(path: &Path, at: DateTime<Utc>) -> Result<(), String> {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, at.to_rfc3339()).map_err(|e| e.to_string())?;
    std::fs::rename(&tmp, path).map_err(|e| e.to_string())
}

/// Items pending and due by `at` (`None` when the database does not answer).
async fn pending_due(store: &Store, at: DateTime<Utc>) -> Option<usize> {
    // The dispatcher's own query: the database filters, not a read of the whole outbox
    // every few milliseconds.
    store
        .due_items(at, u64::MAX)
        .await
        .ok()
        .map(|items| items.len())
}

/// What the driver records during the cycle, so deadlines get met as in a real one:
/// the department's milestones, and a dialogue for every other leader's unit.
pub async fn record_events(store: &Store, org: &Organisation, day: NaiveDate) {
    let s = stamp(&day.to_string());
    let milestones = [
        ("2025-12-18", Deadline::DataCollected),
        ("2026-03-20", Deadline::ThemesPublished),
        ("2026-09-24", Deadline::ReportFinal),
    ];
    for (on, m) in milestones {
        if day == date(on) {
            let themes = (m == Deadline::ThemesPublished).then(|| vec!["Sprog".to_owned()]);
            let _ = store.record_milestone(2025, m, day, themes, &s).await;
        }
    }
    for (i, u) in org.units().iter().enumerate() {
        let when = date("2026-03-23") + chrono::Duration::days(i64::try_from(i % 60).unwrap_or(0));
        if u.level.number() >= 3 && i % 2 == 0 && when == day {
            // Refusals are possible (a rule the harness does not know); they change nothing.
            let _ = store.record_dialogue(&u.id, day, None, &s).await;
        }
    }
}

/// Runs the harness. An error means the harness itself could not run; the report says
/// what happened to the mail.
#[allow(clippy::too_many_lines)]
pub async fn run(cfg: &Config) -> Result<Report, String> {
    let started = Instant::now();
    let mut report = Report::default();
    let mut rng = Rng(cfg.seed.max(1));
    let _ = std::fs::remove_dir_all(&cfg.dir);
    std::fs::create_dir_all(&cfg.dir).map_err(|e| e.to_string())?;
    let pg = PrivatePg::start(&cfg.dir.join("pg"))?;
    let location = Location::Postgres(pg.url());
    let store = Store::open(&location, CurrentWheel::builtin(), true)
        .await
        .map_err(|e| e.to_string())?;
    store.migrate(|_, _| {}).await.map_err(|e| e.to_string())?;
    let org =
        Organisation::from_csv(&organisation(cfg.units), |_| {}).map_err(|e| e.to_string())?;
    store
        .import_organisation(&org, &stamp(&cfg.from.to_string()), |_, _| {})
        .await
        .map_err(|e| e.to_string())?;

    let mut smtp = SmtpServer::start().await;
    let clock = cfg.dir.join("clock");
    let def = WheelDefinition::builtin();
    let eight = |d: NaiveDate| hjul_wheel::reminders::mail_instant(def.mail_time, d);
    set_clock(&clock, eight(cfg.from))?;
    let env: Vec<(String, String)> = [
        ("HJUL_DATABASE_URL", pg.url()),
        ("HJUL_CLOCK_FILE", clock.display().to_string()),
        ("HJUL_LOG", "info,hjul_scheduler=debug".to_owned()),
        ("HJUL__SMTP__HOST", "127.0.0.1".to_owned()),
        ("HJUL__SMTP__PORT", smtp.port().to_string()),
        ("HJUL__SMTP__TLS", "none".to_owned()),
        ("HJUL__SMTP__TIMEOUT_SECS", "5".to_owned()),
        // Real seconds: a killed instance's work is taken over 2 s later.
        ("HJUL__SCHEDULER__LEASE_SECS", "2".to_owned()),
        // The SMTP server is down for a day: nothing may be given up meanwhile.
        ("HJUL__SCHEDULER__MAX_ATTEMPTS", "1000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let mut instances = Vec::new();
    for _ in 0..cfg.instances {
        instances.push(Instance::start(cfg, &env)?);
    }

    // The faults' days: the SMTP server down on a business day in the busiest half
    // year; PostgreSQL restarted once on another.
    let days: Vec<NaiveDate> = cfg.from.iter_days().take_while(|d| *d <= cfg.to).collect();
    let business: Vec<NaiveDate> = days
        .iter()
        .copied()
        .filter(|d| def.calendar.is_business_day(*d))
        .collect();
    let pick = |rng: &mut Rng, lo: f64, hi: f64| -> Option<NaiveDate> {
        #[allow(
            clippy::cast_precision_loss,
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss
        )]
        let (a, b) = (
            (business.len() as f64 * lo) as usize,
            (business.len() as f64 * hi) as usize,
        );
        (b > a).then(|| business[a + rng.below(b - a)])
    };
    report.smtp_down_on = pick(&mut rng, 0.2, 0.5);
    let pg_restart_on = pick(&mut rng, 0.5, 0.8);
    let mut kills: Vec<SystemTime> = Vec::new();

    // The virtual clock only moves forward.
    let mut now = eight(cfg.from);
    for day in days.iter().copied() {
        if Some(day) == report.smtp_down_on {
            smtp.stop();
        }
        let times: &[(u32, u32)] = if def.calendar.is_business_day(day) {
            &[(0, 0), (0, 1), (0, 30)]
        } else {
            &[(4, 0)]
        };
        for (n, (hours, minutes)) in times.iter().enumerate() {
            let at = eight(day)
                + chrono::Duration::hours(i64::from(*hours))
                + chrono::Duration::minutes(i64::from(*minutes));
            if Some(day) == pg_restart_on && n == 0 {
                pg.restart()?;
                report.pg_restarts += 1;
            }
            now = now.max(at);
            set_clock(&clock, now)?;
            report.steps += 1;
            if rng.chance(cfg.kill_chance) {
                // Somewhere in the round: before, during or after its mail.
                tokio::time::sleep(Duration::from_millis(rng.below(40) as u64)).await;
                let i = rng.below(instances.len());
                instances[i].kill();
                kills.push(SystemTime::now());
                report.kills += 1;
                instances[i] = Instance::start(cfg, &env)?;
            }
            let down = report.smtp_down_on == Some(day);
            wait_quiet(&store, &pg.url(), &mut instances, &clock, &mut now, down).await?;
        }
        if Some(day) == report.smtp_down_on {
            smtp.restart().await;
        }
        record_events(&store, &org, day).await;
    }
    // The end: one more morning after the last day, every instance alive, nothing due left.
    now = now.max(eight(def.calendar.after(cfg.to)) + chrono::Duration::minutes(5));
    set_clock(&clock, now)?;
    wait_quiet(&store, &pg.url(), &mut instances, &clock, &mut now, false).await?;
    for i in &mut instances {
        i.stop().await?;
    }

    count(&store, &smtp, now, &kills, &mut report).await?;
    store.close().await.map_err(|e| e.to_string())?;
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Waits until every instance has been round at the clock's instant and nothing due is
/// pending (unless the SMTP server is down, when what is due waits for its next try).
/// While something due stays pending (a round failed with the database away, or a killed
/// instance's lease has not run out), the clock moves on a minute every 300 ms, as time
/// would, so the instances' next rounds come.
async fn wait_quiet(
    store: &Store,
    pg_url: &str,
    instances: &mut [Instance],
    clock: &Path,
    now: &mut DateTime<Utc>,
    smtp_down: bool,
) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut nudge = Instant::now() + Duration::from_millis(300);
    loop {
        for i in instances.iter_mut() {
            if let Some(why) = i.died() {
                return Err(why);
            }
        }
        if instances.iter().all(|i| i.has_been_round_at(*now)) {
            if smtp_down || pending_due(store, *now).await == Some(0) {
                return Ok(());
            }
            if Instant::now() > nudge {
                *now += chrono::Duration::minutes(1);
                set_clock(clock, *now)?;
                nudge = Instant::now() + Duration::from_millis(300);
            }
        }
        if Instant::now() > deadline {
            // What the instances that have not come round said last.
            let behind: Vec<String> = instances
                .iter()
                .filter(|i| !i.has_been_round_at(*now))
                .map(|i| {
                    i.tail
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .join("\n")
                })
                .collect();
            return Err(format!(
                "stuck at {now}: {} of {} instances have been round, {:?} items pending and due; the last lines of those behind:\n{}\nwhat the database's sessions do:\n{}",
                instances.len() - behind.len(),
                instances.len(),
                pending_due(store, *now).await,
                behind.join("\n---\n"),
                sessions(pg_url),
            ));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// What each session on the database is doing, and what it waits for: where a round that
/// does not end waits, if it waits on the database.
fn sessions(url: &str) -> String {
    let out = Command::new("psql")
        .args([
            url,
            "-X",
            "-c",
            "SELECT pid, state, wait_event_type, wait_event, now() - xact_start AS in_transaction, \
             left(query, 160) AS query FROM pg_stat_activity WHERE datname IS NOT NULL \
             AND pid <> pg_backend_pid()",
        ])
        .output();
    match out {
        Ok(o) => {
            String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
        }
        Err(e) => format!("(psql did not run: {e})"),
    }
}

/// Items due, accepted and lost; mails accepted more than once, and whether a kill
/// between the receipts explains them.
async fn count(
    store: &Store,
    smtp: &SmtpServer,
    end: DateTime<Utc>,
    kills: &[SystemTime],
    report: &mut Report,
) -> Result<(), String> {
    let received = smtp.received();
    report.mails = received.len();
    let mut receipts: HashMap<String, Vec<SystemTime>> = HashMap::new();
    for r in &received {
        if let Some(id) = r.header("Message-ID") {
            receipts.entry(id).or_default().push(r.at);
        }
    }
    for times in receipts.values() {
        for pair in times.windows(2) {
            report.duplicated += 1;
            if kills.iter().any(|k| *k >= pair[0] && *k <= pair[1]) {
                report.explained += 1;
            }
        }
    }
    let all: Vec<OutboxItem> = store
        .outbox(None, u64::MAX)
        .await
        .map_err(|e| e.to_string())?;
    for item in &all {
        let due = match item.state {
            OutboxState::Sent | OutboxState::Dead => true,
            OutboxState::Pending => item.next_attempt_at <= end,
            OutboxState::Folded | OutboxState::Void => false, // meant never to go
        };
        if !due {
            continue;
        }
        report.items_due += 1;
        let accepted = item.state == OutboxState::Sent
            && item
                .message_id
                .as_ref()
                .is_some_and(|id| receipts.contains_key(id));
        if accepted {
            report.items_accepted += 1;
        } else {
            report.lost += 1;
            if report.lost_examples.len() < 5 {
                report.lost_examples.push(format!(
                    "{} ({}, next try {})",
                    item.key, item.state, item.next_attempt_at
                ));
            }
        }
    }
    Ok(())
}
