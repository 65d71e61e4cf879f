//! What every database command needs: the store's location, the wheel in force, who is
//! acting and what day it is.

use std::future::Future;

use anyhow::Context as _;
use hjul_store::{CurrentWheel, Location, Stamp, Store};
use hjul_wheel::Date;

use crate::Global;
use crate::config::Config;
use crate::settings::ReadSettings as _;

pub struct Context {
    pub location: Location,
    pub wheel: CurrentWheel,
    actor: String,
    /// `--as EMAIL`: the person acted as, instead of the secretariat.
    as_person: Option<String>,
    today: Option<Date>,
    /// Where the secretariat's deadlines go (from hjul.toml), for `status`.
    pub secretariat_email: String,
    /// The privacy threshold (hjul.toml `[data] min_responses`).
    pub min_responses: u32,
    /// How long each kind of record is kept (hjul.toml `[privacy]`).
    pub retention: hjul_store::Retention,
    /// The report templates' directory (hjul.toml `[report] templates`).
    report_templates: Option<std::path::PathBuf>,
    /// The hosts a report's links may go to (`[report] link_hosts`).
    report_link_hosts: Vec<String>,
    /// The clock: the system's, or one started at --now.
    clock: std::sync::Arc<dyn hjul_scheduler::Clock>,
    /// Whether the clock or the day was given (--now, --clock-file, --today).
    clock_given: bool,
    /// The demo's clock, once the database opened says it is the demo's: every command
    /// on `hjul-demo.db` then works as of the demo's day, as its dashboard does.
    demo_clock: std::sync::OnceLock<std::sync::Arc<dyn hjul_scheduler::Clock>>,
    runtime: tokio::runtime::Runtime,
}

impl Context {
    pub fn new(global: &Global, config: &Config) -> anyhow::Result<Self> {
        let actor = global.actor.clone().unwrap_or_else(|| {
            let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME"));
            format!("cli:{}", user.as_deref().unwrap_or("unknown"))
        });
        let settings = crate::settings::Settings::load(config.dir.as_deref())?;
        Ok(Self {
            location: Location::parse(&global.database_url),
            secretariat_email: settings.scheduler.secretariat.email,
            min_responses: settings.min_responses,
            retention: settings.retention,
            report_templates: settings.report_templates.clone(),
            report_link_hosts: settings.report_link_hosts.clone(),
            wheel: config.current_wheel()?,
            actor,
            as_person: global.as_person.clone(),
            today: global.today,
            clock_given: global.clock_file.is_some()
                || global.now.is_some()
                || global.today.is_some(),
            demo_clock: std::sync::OnceLock::new(),
            clock: match (&global.clock_file, global.now) {
                (Some(file), _) => std::sync::Arc::new(
                    hjul_scheduler::FileClock::new(file.clone()).map_err(anyhow::Error::msg)?,
                ),
                (None, Some(at)) => {
                    std::sync::Arc::new(hjul_scheduler::ShiftedClock::starting_at(at))
                }
                (None, None) => std::sync::Arc::new(hjul_scheduler::SystemClock),
            },
            // Several threads: while one request folds 10,000 units' status, `serve`
            // still answers the others and the scheduler still ticks.
            runtime: tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?,
        })
    }

    /// The report templates: those in `dir` (a command's --templates), else the
    /// configured ones, else the built-in; links only to the municipality's hosts.
    pub fn report_templates(
        &self,
        dir: Option<&std::path::Path>,
    ) -> anyhow::Result<hjul_report::Templates> {
        Ok(
            hjul_report::Templates::load(dir.or(self.report_templates.as_deref()))?
                .with_link_hosts(self.report_link_hosts.clone()),
        )
    }

    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// The clock this command works by: the one given, the demo's on the demo's
    /// database, else the system's.
    pub fn clock(&self) -> std::sync::Arc<dyn hjul_scheduler::Clock> {
        std::sync::Arc::clone(self.demo_clock.get().unwrap_or(&self.clock))
    }

    /// Today in the municipality's zone (or the date given with --today).
    pub fn today(&self) -> Date {
        self.today.unwrap_or_else(|| {
            self.clock()
                .now()
                .with_timezone(&self.wheel.definition.mail_time.zone)
                .date_naive()
        })
    }

    /// The application core over `store`, on this command's clock and day, with the
    /// report templates given (the configured ones where a report is made).
    pub fn core(&self, store: &Store, reports: hjul_report::Templates) -> hjul_app::Core {
        let clock = self.clock();
        hjul_app::Core::new(
            store.clone(),
            std::sync::Arc::new(move || clock.now()),
            self.secretariat_email.clone(),
            reports,
        )
        .on_day(self.today)
        .reads_written_at_once()
    }

    /// The core over `store` (built-in report templates: no report is made) and who
    /// acts: what a command that changes something needs.
    pub async fn acting(&self, store: &Store) -> anyhow::Result<(hjul_app::Core, hjul_app::Actor)> {
        let core = self.core(store, hjul_report::Templates::load(None)?);
        let actor = self.actor(&core).await?;
        Ok((core, actor))
    }

    /// Who acts: the person at the terminal as the secretariat, named in the audit log
    /// as `cli:USER` (or `--actor`); with `--as EMAIL`, that person, with what the
    /// organisation gives them and no more.
    pub async fn actor(&self, core: &hjul_app::Core) -> anyhow::Result<hjul_app::Actor> {
        match &self.as_person {
            None => Ok(hjul_app::Actor::operator(
                &self.actor,
                &self.secretariat_email,
            )),
            Some(email) => Ok(core
                .person(email, &self.actor)
                .await
                .with_context(|| format!("cannot act as {email}"))?),
        }
    }

    pub fn stamp(&self) -> Stamp {
        Stamp {
            actor: self.actor.clone(),
            at: self.clock().now(),
            today: self.today(),
        }
    }

    /// Opens the database, refusing one whose schema is behind, and starts the cycle
    /// running today if its first day has come.
    pub async fn store(&self) -> anyhow::Result<Store> {
        let store = match Store::open_current(&self.location, self.wheel.clone()).await {
            Ok(s) => s,
            // In the demo's directory with no database of its own: say where the demo is.
            Err(hjul_store::StoreError::NoDatabase { path })
                if std::path::Path::new(crate::demo::DEMO_DATABASE).exists() =>
            {
                anyhow::bail!(
                    "there is no database at {path} here, but the demo's is: add --database-url {}",
                    crate::demo::DEMO_DATABASE
                );
            }
            Err(e) => return Err(e.into()),
        }
        .with_min_responses(self.min_responses);
        self.follow_the_demo(&store).await?;
        store.ensure_current_cycle(&self.stamp()).await?;
        Ok(store)
    }

    /// Before `serve` builds the service: follows the demo's day if the database is the
    /// demo's. A database that cannot be opened here is left for the service to report.
    pub async fn look_for_the_demo(&self) -> anyhow::Result<()> {
        if self.clock_given {
            return Ok(());
        }
        if let Ok(store) = Store::open(&self.location, self.wheel.clone(), false).await {
            // A database before the settings table (serve migrates it) is no demo.
            let followed = self.follow_the_demo(&store).await;
            store.close().await?;
            if let Err(e) = followed {
                eprintln!("hjul: not taken as the demo's database: {e:#}");
            }
        }
        Ok(())
    }

    /// On the demo's database (it says its day) and with no clock given, works as of
    /// the demo's day from 10:00 on, and says so once on stderr.
    async fn follow_the_demo(&self, store: &Store) -> anyhow::Result<()> {
        if self.clock_given || self.demo_clock.get().is_some() {
            return Ok(());
        }
        let Some(day) = store.setting(hjul_store::settings::DEMO_DAY).await? else {
            return Ok(());
        };
        let day: Date = day
            .parse()
            .with_context(|| format!("the demo's day on record ({day}) is not a date"))?;
        let at = hjul_wheel::reminders::mail_instant(self.wheel.definition.mail_time, day)
            + chrono::Duration::hours(2);
        let clock: std::sync::Arc<dyn hjul_scheduler::Clock> =
            std::sync::Arc::new(hjul_scheduler::ShiftedClock::starting_at(at));
        if self.demo_clock.set(clock).is_ok() {
            eprintln!(
                "hjul: this is the demo's database; it works as of its day, {day} (--now or --today for another)"
            );
        }
        Ok(())
    }
}
