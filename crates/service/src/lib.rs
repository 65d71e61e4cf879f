//! hjul's whole service as one value: the API and the dashboard, the scheduler, one store,
//! one clock and one stop signal. The binary, the demo and the tests start it alike.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hjul_mail::{MailSettings, Sender, SmtpSender, Templates};
use hjul_scheduler::{Clock, Scheduler, SchedulerError, SchedulerSettings};
use hjul_store::{CurrentWheel, Location, Stamp, Store, StoreError};

/// What the service is set to do: `hjul.toml` with the environment laid over it, as the
/// CLI reads it.
#[derive(Clone)]
pub struct Settings {
    pub scheduler: SchedulerSettings,
    pub mail: MailSettings,
    /// A value resting on fewer respondents than this is stored but never shown or
    /// exported, and counts in no average (`[data] min_responses`, default 5).
    pub min_responses: u32,
    /// The report templates' directory (`[report] templates`), or the built-in ones.
    pub report_templates: Option<PathBuf>,
    /// The hosts a report's links may go to (`[report] link_hosts`, else the
    /// dashboard's own host).
    pub report_link_hosts: Vec<String>,
    /// The municipality's accessibility statement (`[web] accessibility_statement`).
    pub accessibility_statement: Option<String>,
    /// How people sign in to the dashboard (`[auth]`): the municipality's login, and
    /// whether tokens are offered beside it.
    pub oidc: Option<hjul_app::OidcSettings>,
    pub token_sign_in: bool,
    /// How long each kind of record is kept (`[privacy]`); the service deletes what is
    /// past it once a day.
    pub retention: hjul_store::Retention,
    /// The HTTP server's timeouts and its cap on open connections (`[http]`).
    pub http: hjul_api::Limits,
    /// Where they were read from, for messages.
    pub source: String,
}

/// The database the service runs on, and the wheel it keeps.
#[derive(Clone)]
pub struct Database {
    pub location: Location,
    pub wheel: CurrentWheel,
    /// Who the audit log names for a cycle started when the service comes up.
    pub actor: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Scheduler(#[from] SchedulerError),
    #[error(transparent)]
    Mail(#[from] hjul_mail::MailError),
    #[error(transparent)]
    Report(#[from] hjul_report::ReportError),
    #[error(
        "cannot listen on {addr}: {source}; is another hjul running there? choose one with --listen"
    )]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "another hjul serve (process {pid}) already runs on {path}: stop it first. One SQLite \
         file takes one instance; for several, use PostgreSQL (docs/operations.md)"
    )]
    AlreadyServed { pid: String, path: String },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: String,
        source: std::io::Error,
    },
    #[error("the HTTP server failed: {0}")]
    Http(std::io::Error),
    #[error(transparent)]
    SignIn(#[from] hjul_app::SignInError),
}

/// One stop signal for every part of the service: the wait for the database, the API
/// (which finishes its requests) and the scheduler (which finishes its mail).
#[derive(Clone)]
pub struct Stop(tokio::sync::watch::Receiver<bool>);

/// What gives the stop signal.
pub struct StopHandle(tokio::sync::watch::Sender<bool>);

impl StopHandle {
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

impl Stop {
    /// A stop signal given by the handle (or when the handle is dropped).
    pub fn new() -> (StopHandle, Self) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (StopHandle(tx), Self(rx))
    }

    /// A stop signal given by Ctrl-C or SIGTERM. Needs a Tokio runtime.
    pub fn on_signal() -> Self {
        let (handle, stop) = Self::new();
        tokio::spawn(async move {
            signal().await;
            tracing::info!("asked to stop: finishing the mail in flight");
            handle.stop();
        });
        stop
    }

    /// Resolves when the signal is given.
    pub async fn wait(mut self) {
        // A dropped handle is a stop too: `wait_for` then fails, and this returns.
        let _ = self.0.wait_for(|s| *s).await;
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The service, built and listening, not yet serving.
pub struct Service {
    scheduler: Scheduler,
    sender: Sender,
    api: hjul_api::AppState,
    listener: tokio::net::TcpListener,
    clock: Arc<dyn Clock>,
    stop: Stop,
    retention: hjul_store::Retention,
    http: hjul_api::Limits,
    /// Held while the service runs: the operating system lets go if the process dies.
    _only_one: Option<std::fs::File>,
}

impl Service {
    /// Builds the service on `database` with one clock for the API and the scheduler,
    /// listening on `listen` (port 0: a free one, see `local_addr`). Waits while the
    /// database does not answer; `None` if `stop` is given meanwhile.
    pub async fn build(
        settings: &Settings,
        database: Database,
        clock: Arc<dyn Clock>,
        listen: SocketAddr,
        stop: Stop,
    ) -> Result<Option<Self>, ServiceError> {
        let only_one = match &database.location {
            Location::Sqlite(path) => Some(single_instance(path)?),
            Location::Postgres(_) => None,
        };
        let Some(store) = open_when_it_answers(&database, settings, clock.as_ref(), &stop).await?
        else {
            return Ok(None);
        };
        match &settings.mail.smtp {
            Some(smtp) => tracing::info!(host = %smtp.host, port = smtp.port, "sending by SMTP"),
            None => tracing::info!(
                dir = %settings.mail.outbox_dir.display(),
                "no SMTP server configured: writing each mail as an .eml file"
            ),
        }
        tracing::info!(database = %database.location.display(), settings = %settings.source, "hjul serve");
        // Said once, at start: the mails still go, only without the way to the page.
        if settings.scheduler.web_url.is_none() {
            tracing::warn!(
                "no [web] url in {}: mails carry no links to the dashboard; set it (or HJUL__WEB__URL) to the address people open it at, such as https://hjul.kommune.dk",
                settings.source
            );
        }
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| ServiceError::Listen {
                addr: listen,
                source,
            })?;
        let now = clock.clone();
        let api = hjul_api::AppState::new(
            store.clone(),
            Arc::new(move || now.now()),
            settings.scheduler.secretariat.email.clone(),
        )
        .with_report_templates(
            hjul_report::Templates::load(settings.report_templates.as_deref())?
                .with_link_hosts(settings.report_link_hosts.clone()),
        )
        .with_accessibility_statement(settings.accessibility_statement.clone());
        api.core().set_sign_in(hjul_app::SignIn {
            oidc: settings.oidc.clone().map(hjul_app::Oidc::new).transpose()?,
            tokens: settings.token_sign_in,
        });
        let scheduler = Scheduler::new(
            store,
            settings.scheduler.clone(),
            settings.mail.clone(),
            Templates::load(settings.mail.templates.as_deref())?,
        )
        .with_metrics(api.core().metrics().clone());
        Ok(Some(Self {
            scheduler,
            sender: sender(&settings.mail),
            api,
            listener,
            clock,
            stop,
            retention: settings.retention,
            http: settings.http,
            _only_one: only_one,
        }))
    }

    /// The dashboard's and the API's routes of this service, for a caller in the same
    /// process that sends its requests without the network (the stories): the same
    /// state, clock and templates `run_until_stopped` serves.
    pub fn router(&self) -> axum::Router {
        hjul_api::router(self.api.clone())
    }

    /// The application core the routes answer through (the benchmark turns its read log
    /// off for a baseline).
    pub fn core(&self) -> &hjul_app::Core {
        self.api.core()
    }

    /// Where the dashboard and the API listen.
    pub fn local_addr(&self) -> Result<SocketAddr, ServiceError> {
        self.listener.local_addr().map_err(ServiceError::Http)
    }

    /// Serves the dashboard and the API and runs the scheduler until the stop signal;
    /// then the API finishes its requests and the scheduler its mail, and the database
    /// is closed.
    pub async fn run_until_stopped(self) -> Result<(), ServiceError> {
        tracing::info!(
            "the dashboard and the API listen on http://{}/",
            self.local_addr()?
        );
        // The read log is written every second, and once more as the service stops; what
        // is past its retention is deleted once a day (the first second of each day the
        // service runs).
        let core = self.api.core().clone();
        let stopped = self.stop.clone().wait();
        let (clock, retention) = (self.clock.clone(), self.retention);
        let secretariat = self.scheduler.settings().secretariat.email.clone();
        let reads = async move {
            tokio::pin!(stopped);
            let mut kept_on = None;
            loop {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {
                        core.flush_reads().await;
                        core.metrics().upkeep();
                    }
                    () = &mut stopped => break,
                }
                let today = core.today_at(clock.now());
                if kept_on != Some(today) {
                    kept_on = Some(today);
                    let job = hjul_app::Actor::operator("hjul:retention", &secretariat);
                    if let Err(e) = core.retention(&job, &retention, true).await {
                        tracing::error!(error = %e, "the retention job failed; it runs again tomorrow");
                    }
                }
            }
            core
        };
        let api = hjul_api::serve(self.listener, self.api, self.http, self.stop.clone().wait());
        let jobs = hjul_scheduler::serve(
            &self.scheduler,
            &self.sender,
            self.clock.as_ref(),
            self.stop.wait(),
        );
        let (api, jobs, core) = tokio::join!(api, jobs, reads);
        // After the last request: what it read is on record too.
        core.flush_reads().await;
        api.map_err(ServiceError::Http)?;
        jobs?;
        self.scheduler.close().await?;
        Ok(())
    }
}

fn sender(mail: &MailSettings) -> Sender {
    match &mail.smtp {
        Some(smtp) => Sender::Smtp(SmtpSender::new(smtp.clone())),
        None => Sender::Files(mail.outbox_dir.clone()),
    }
}

/// Opens the database, waiting (1, 2, 4… up to 60 s apart) while it does not answer, so
/// a service started before its database, or with it, comes up by itself instead of
/// exiting into a restart loop. Anything else (a schema to migrate, say) is an error at
/// once. Starts the cycle whose first day has come. `None` if told to stop while waiting.
async fn open_when_it_answers(
    database: &Database,
    settings: &Settings,
    clock: &dyn Clock,
    stop: &Stop,
) -> Result<Option<Store>, ServiceError> {
    let stopped = stop.clone().wait();
    tokio::pin!(stopped);
    let mut wait = Duration::from_secs(1);
    loop {
        match Store::open_current(&database.location, database.wheel.clone()).await {
            Ok(store) => {
                let store = store.with_min_responses(settings.min_responses);
                let at = clock.now();
                let stamp = Stamp {
                    actor: database.actor.clone(),
                    at,
                    today: at
                        .with_timezone(&database.wheel.definition.mail_time.zone)
                        .date_naive(),
                };
                store.ensure_current_cycle(&stamp).await?;
                return Ok(Some(store));
            }
            Err(e) if e.is_unavailable() => {
                tracing::warn!(error = %e, retry_in_secs = wait.as_secs(), "the database does not answer; waiting for it");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = &mut stopped => return Ok(None),
                }
                wait = (wait * 2).min(Duration::from_secs(60));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// SQLite serves one instance: a second service on the same file is refused, with the
/// process that has it. (Several instances share a PostgreSQL database instead.)
/// `hjul restore` holds the same lock while it puts a copy in place, so it is refused
/// while a service runs on the file, and a service cannot start while it works. Held
/// until the file returned is dropped (or the process ends).
pub fn single_instance(db: &Path) -> Result<std::fs::File, ServiceError> {
    use std::io::{Read, Seek, Write};
    let path = PathBuf::from(format!("{}.serve-lock", db.display()));
    let lock_error = |source| ServiceError::Lock {
        path: path.display().to_string(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(lock_error)?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0).map_err(lock_error)?;
            file.rewind().map_err(lock_error)?;
            write!(file, "{}", std::process::id()).map_err(lock_error)?;
            file.flush().map_err(lock_error)?;
            Ok(file)
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            Err(ServiceError::AlreadyServed {
                pid: pid.trim().to_owned(),
                path: db.display().to_string(),
            })
        }
        Err(std::fs::TryLockError::Error(e)) => Err(lock_error(e)),
    }
}
