//! # hjul-scheduler: mail at the right moment, never twice, never lost
//!
//! The tick reads the clock (injected), starts a cycle whose first day has come, asks
//! the wheel which deadlines opened, are due soon, are overdue or need escalation, and
//! writes outbox items with unique keys. The dispatcher drains the outbox through a
//! [`Sender`]. `serve` runs both on a cron cadence until told to stop; `simulate` runs
//! them on a virtual clock over a scratch copy.

mod dispatch;
mod serve;
mod simulate;
mod tick;

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hjul_mail::{MailError, MailSettings, Sender, Templates};
use hjul_store::{Stamp, Store, StoreError};
use hjul_wheel::Language;
use tokio::sync::Mutex;

pub use dispatch::{DispatchReport, SentMail};
pub use serve::{Clock, FileClock, ShiftedClock, SystemClock, serve};
pub use simulate::{SimulatedItem, SimulatedMail, Simulation, Transition, simulate};
pub use tick::{CreatedItem, TickReport};

/// The secretariat: gets the department's deadlines, the digest and the dead-letter
/// notices.
#[derive(Debug, Clone)]
pub struct Secretariat {
    pub email: String,
    pub name: String,
    pub language: Language,
}

#[derive(Debug, Clone)]
pub struct SchedulerSettings {
    /// When to tick (cron, seconds first): every minute by default.
    pub tick: cron::Schedule,
    /// When the secretariat's digest goes (cron, in the wheel's zone); `None` for none.
    pub digest: Option<cron::Schedule>,
    pub secretariat: Secretariat,
    /// How the department is named in mails about its milestones.
    pub department_name: String,
    /// The dashboard's address as people reach it (`[web] url`), for the links in mails;
    /// `None`, mails carry no links.
    pub web_url: Option<String>,
    /// Failed sends before an item is given up.
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles with each.
    pub retry_after: Duration,
    /// Items read per dispatch.
    pub batch: u64,
    /// How long an instance holds the tick or one person's mail before another may take
    /// it over (on the database's clock). Longer than any one send can take.
    pub lease: Duration,
    /// Whether a leader gets a copy (Cc) of the mail that goes to their deputy while
    /// the deputy stands in (`[scheduler] deputy_copies_leader`, on by default).
    pub deputy_copies_leader: bool,
}

impl SchedulerSettings {
    pub fn new(secretariat: Secretariat) -> Self {
        Self {
            tick: parse_cron("0 * * * * *").unwrap_or_else(|_| unreachable_schedule()),
            digest: parse_cron("0 0 8 * * Mon").ok(),
            secretariat,
            department_name: "Børn & Unge".to_owned(),
            web_url: None,
            max_attempts: 8,
            retry_after: Duration::from_secs(60),
            batch: 5_000,
            lease: Duration::from_secs(300),
            deputy_copies_leader: true,
        }
    }
}

/// Parses a cron expression (6 or 7 fields, seconds first).
pub fn parse_cron(text: &str) -> Result<cron::Schedule, String> {
    text.parse::<cron::Schedule>()
        .map_err(|e| format!("`{text}` is not a cron expression (6 or 7 fields, seconds first, such as \"0 0 8 * * Mon\"): {e}"))
}

// The default expressions are literals that parse; this only satisfies the types.
fn unreachable_schedule() -> cron::Schedule {
    #[allow(clippy::expect_used)]
    "0 * * * * *".parse().expect("a valid cron expression")
}

/// A test hook: where to stop as if the process were killed.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// After the server accepted a mail, before it is marked sent.
    AfterSend,
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    NoCycle(#[from] hjul_wheel::NoCycle),
    #[error("cannot write a payload: {0}")]
    Json(#[from] serde_json::Error),
    #[error("stopped on purpose {0} (a test of a crash)")]
    InjectedFault(&'static str),
}

/// The lease of the instance that ticks.
pub const TICK_LEASE: &str = "tick";

pub struct Scheduler {
    store: Store,
    settings: SchedulerSettings,
    mail: MailSettings,
    templates: Templates,
    /// Outbox keys known to exist: the tick writes only what is not there yet. Another
    /// process writing the same key is harmless (the database keeps one).
    known: Mutex<HashSet<String>>,
    loaded: Mutex<Vec<i32>>,
    /// Whether a tick of this process has read every unit (the first one does).
    swept: AtomicBool,
    fault: Option<Fault>,
    /// This instance's name in leases: host, process and a random part.
    instance: String,
    /// Where the tick's duration and the mail sent are counted (the service shares the
    /// API's, so one `/metrics` shows both).
    metrics: hjul_metrics::Metrics,
}

/// A name for this process among the instances on one database.
fn instance_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map_or_else(|| "host".to_owned(), |h| h.trim().to_owned());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &random[..8])
}

impl Scheduler {
    pub fn new(
        store: Store,
        settings: SchedulerSettings,
        mail: MailSettings,
        templates: Templates,
    ) -> Self {
        Self {
            store,
            settings,
            mail,
            templates,
            known: Mutex::new(HashSet::new()),
            loaded: Mutex::new(Vec::new()),
            swept: AtomicBool::new(false),
            fault: None,
            instance: instance_name(),
            metrics: hjul_metrics::Metrics::new(),
        }
    }

    /// Counts into `metrics` (the service's, which `/metrics` writes out).
    #[must_use]
    pub fn with_metrics(mut self, metrics: hjul_metrics::Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn metrics(&self) -> &hjul_metrics::Metrics {
        &self.metrics
    }

    /// This instance's name in leases.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Names the instance (tests: the name decides where in the list of recipients it
    /// starts, see `dispatch::start_of`).
    #[doc(hidden)]
    #[must_use]
    pub fn named(mut self, instance: &str) -> Self {
        instance.clone_into(&mut self.instance);
        self
    }

    #[doc(hidden)]
    #[must_use]
    pub fn fail_at(mut self, fault: Fault) -> Self {
        self.fault = Some(fault);
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &SchedulerSettings {
        &self.settings
    }

    fn stamp(&self, now: DateTime<Utc>) -> Stamp {
        Stamp {
            actor: "scheduler".to_owned(),
            at: now,
            today: now
                .with_timezone(&self.store.wheel().definition.mail_time.zone)
                .date_naive(),
        }
    }

    /// A tick and a dispatch at `now`: what the service does each time it wakes.
    pub async fn run_once(
        &self,
        sender: &Sender,
        now: DateTime<Utc>,
    ) -> Result<(TickReport, DispatchReport), SchedulerError> {
        // One instance ticks at a time (the others would only write what it writes);
        // every instance dispatches, each person's mail under that person's lease.
        // The debug lines say how far a round came: a round that never ends shows where
        // it waits (the fault harness prints an instance's last lines when it is stuck).
        tracing::debug!("asking for the tick's lease");
        let tick = if self
            .store
            .try_lease(TICK_LEASE, &self.instance, self.settings.lease)
            .await?
        {
            tracing::debug!("ticking");
            let started = std::time::Instant::now();
            let tick = self.tick(now).await?;
            self.metrics.tick(started.elapsed(), tick.units_read);
            tick
        } else {
            TickReport::default()
        };
        tracing::debug!("dispatching");
        let dispatch = self.dispatch(sender, now).await?;
        self.metrics
            .dispatched(dispatch.sent.len(), dispatch.retried, dispatch.dead);
        Ok((tick, dispatch))
    }

    pub async fn close(self) -> Result<(), SchedulerError> {
        self.store.close().await?;
        Ok(())
    }
}
