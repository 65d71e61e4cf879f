//! # hjul-app: the application core
//!
//! One function per use case, each taking the acting person ([`Actor`]) and a typed
//! command, and doing, in this order and nowhere else: access (asked of the wheel),
//! validation, the write (one transaction in the store, with its audit row), the audit
//! of a refusal, and what follows (the final report made and kept with its milestone).
//! The API, the dashboard and the command line are adapters over it: they parse, call
//! one function, and present the answer; reads go through it too, answered with what
//! the person sees. See the crate's README for the list.

mod access;
mod actor;
mod admin;
mod deputies;
mod read_log;
mod reads;
mod records;
mod reports;
mod sign_in;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use hjul_store::{Stamp, Store, StoreError, TokenHolder};

pub use access::{Opened, PersonSignIn};
pub use actor::{Actor, Denied};
pub use read_log::View;
pub use reads::{InForce, Seen};
pub use records::{AgreementText, FinalReport, GradesText, UnitRecord};
pub use reports::{Lane, REPORT_WAIT};
pub use sign_in::{Flow, Identity, Oidc, OidcSettings, SignInError};

/// Why a use case did not go through.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The actor may not (see the unit, record the event, do a secretariat's work).
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The store refused it (the wheel's rules, the input) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The report could not be made.
    #[error(transparent)]
    Report(#[from] hjul_report::ReportError),
    /// Another report is being laid out, and the wait for it ran out.
    #[error("{}", hjul_wheel::Text::new("report.busy"))]
    ReportBusy,
    /// The person already has a report in the queue or being laid out.
    #[error("{}", hjul_wheel::Text::new("report.queued"))]
    ReportQueued,
    /// The report's layout stopped (a panic in the layout thread): in the log.
    #[error("the report could not be made")]
    ReportStopped,
    /// Token sign-in cannot be turned off while it is the only way into the dashboard.
    #[error("{}", hjul_wheel::Text::new("access.tokens_needed"))]
    TokensNeeded,
}

impl CoreError {
    /// What to tell the person, in their language, when it is theirs to know; `None`
    /// for a failure that is the operator's (in the log).
    pub fn text(&self) -> Option<hjul_wheel::Text> {
        match self {
            Self::Denied(d) => Some(d.text()),
            Self::Store(e) => e.text(),
            Self::ReportBusy => Some(hjul_wheel::Text::new("report.busy")),
            Self::ReportQueued => Some(hjul_wheel::Text::new("report.queued")),
            Self::TokensNeeded => Some(hjul_wheel::Text::new("access.tokens_needed")),
            Self::Report(hjul_report::ReportError::Text { near, .. }) => {
                Some(hjul_wheel::Text::new("report.text_unfit").arg("near", near.as_str()))
            }
            Self::Report(_) | Self::ReportStopped => None,
        }
    }

    /// Whether the report could not be laid out (its text, its templates, or no turn at
    /// the layout in time), as opposed to refused or failed for what it reports on.
    pub fn is_layout_failure(&self) -> bool {
        use hjul_report::ReportError as R;
        matches!(
            self,
            Self::Report(R::Text { .. } | R::Template { .. } | R::Layout(_) | R::MarkdownNotUtf8)
                | Self::ReportBusy
                | Self::ReportStopped
        )
    }

    /// Whether it is a refusal to put on record (who tried what, and why): a denial,
    /// the wheel's rules, a person's input; not a failure of the server or the database.
    fn is_refusal(&self) -> bool {
        use hjul_report::ReportError as R;
        match self {
            Self::Denied(_) | Self::TokensNeeded => true,
            Self::Store(e) | Self::Report(R::Store(e)) => store_refusal(e),
            // Text in the record the layout cannot take: on record, with its words,
            // so the secretariat finds it.
            Self::Report(R::NoCycle(_) | R::UnknownUnit(_) | R::Cycle(_) | R::Text { .. }) => true,
            Self::Report(_) | Self::ReportBusy | Self::ReportQueued | Self::ReportStopped => false,
        }
    }
}

/// Whether the store turned a change away for what was asked (the wheel's rules, a
/// person's input or file, a unit or cycle that is not there), rather than failed (the
/// database, the schema, records contradicting themselves) or was busy (put on record
/// apart, after the answer).
fn store_refusal(e: &StoreError) -> bool {
    !matches!(
        e,
        StoreError::Db(_)
            | StoreError::OnRecord(_)
            | StoreError::StoredDefinition { .. }
            | StoreError::InjectedFault(_)
            | StoreError::NoDatabase { .. }
            | StoreError::NotMigrated(_)
            | StoreError::SchemaBehind(_)
            | StoreError::SchemaAhead(_)
            | StoreError::Busy
    )
}

/// What a use case is, for the audit log's record of a refused attempt: what was
/// attempted, on what kind of thing, and which.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub what: &'a str,
    pub entity: &'a str,
    pub id: &'a str,
}

/// The application core: the store, the clock, the report's templates and its one
/// layout slot, shared by every front end of one service.
#[derive(Clone)]
pub struct Core(Arc<Inner>);

struct Inner {
    store: Store,
    now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    secretariat_email: String,
    reports: hjul_report::Templates,
    /// One report laid out at a time (see [`Core::render`]).
    report_slot: tokio::sync::Semaphore,
    /// Whose reports are in the queue or being laid out: one each.
    report_queue: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Final reports waiting for the slot, which requests let go first.
    first_waiting: std::sync::atomic::AtomicUsize,
    /// Told when a final report stops waiting.
    slot_freed: tokio::sync::Notify,
    /// The day to act on instead of the clock's (the command line's `--today`).
    today: Option<NaiveDate>,
    /// How people sign in to the dashboard; set once when the service is built.
    sign_in: std::sync::OnceLock<SignIn>,
    /// Reads waiting to go into the read log.
    reads: read_log::Pending,
    /// What the monitoring reads at `/metrics`; the scheduler of the same service counts
    /// into it too.
    metrics: hjul_metrics::Metrics,
}

/// How people sign in to the dashboard (`[auth]` in `hjul.toml`).
#[derive(Debug)]
pub struct SignIn {
    /// The municipality's login, when it is set up.
    pub oidc: Option<Oidc>,
    /// Whether people may sign in to the dashboard with a token (API tokens work
    /// either way).
    pub tokens: bool,
}

impl Default for SignIn {
    fn default() -> Self {
        Self {
            oidc: None,
            tokens: true,
        }
    }
}

impl Core {
    /// `now` is the clock (injected, so tests and demos run on another day).
    pub fn new(
        store: Store,
        now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
        secretariat_email: String,
        reports: hjul_report::Templates,
    ) -> Self {
        Self(Arc::new(Inner {
            store,
            now,
            secretariat_email,
            reports,
            report_slot: tokio::sync::Semaphore::new(1),
            report_queue: std::sync::Mutex::default(),
            first_waiting: std::sync::atomic::AtomicUsize::new(0),
            slot_freed: tokio::sync::Notify::new(),
            today: None,
            sign_in: std::sync::OnceLock::new(),
            reads: read_log::Pending::default(),
            metrics: hjul_metrics::Metrics::new(),
        }))
    }

    /// The service's figures for the monitoring (the API and the scheduler count into
    /// them; [`Core::monitoring`] writes them out).
    pub fn metrics(&self) -> &hjul_metrics::Metrics {
        &self.0.metrics
    }

    fn pending_reads(&self) -> &read_log::Pending {
        &self.0.reads
    }

    /// Sets how people sign in; once, before the core serves (a second call is ignored
    /// and logged). Unset: tokens only.
    pub fn set_sign_in(&self, sign_in: SignIn) {
        if self.0.sign_in.set(sign_in).is_err() {
            tracing::error!("the sign-in was set twice; the first stays");
        }
    }

    fn sign_in(&self) -> &SignIn {
        self.0.sign_in.get_or_init(SignIn::default)
    }

    /// The municipality's login, when it is set up.
    pub fn oidc(&self) -> Option<&Oidc> {
        self.sign_in().oidc.as_ref()
    }

    /// Whether people may sign in to the dashboard with a token: as the secretariat set
    /// it on the dashboard, else as `hjul.toml` says. (A database that does not answer
    /// leaves `hjul.toml`'s word; the failure is in the log.)
    pub async fn token_sign_in(&self) -> bool {
        match self
            .0
            .store
            .setting(hjul_store::settings::TOKEN_SIGN_IN)
            .await
        {
            Ok(Some(v)) => v == "on",
            Ok(None) => self.sign_in().tokens,
            Err(e) => {
                tracing::warn!(error = %e, "the token sign-in setting could not be read");
                self.sign_in().tokens
            }
        }
    }

    /// The core acting on `today` whatever the clock's date (the command line's
    /// `--today`, for entering what happened on a day); changes are still stamped with
    /// the clock's instant. Call it before the core is shared.
    #[must_use]
    pub fn on_day(mut self, today: Option<NaiveDate>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.today = today;
        }
        self
    }

    /// The store, for what is not a person's use case: opening a service on it, the
    /// demo's made-up history.
    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0.now)()
    }

    /// The clock, to build another core on the same time.
    pub fn clock(&self) -> Arc<dyn Fn() -> DateTime<Utc> + Send + Sync> {
        Arc::clone(&self.0.now)
    }

    /// The municipality's date at `at`.
    pub fn today_at(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.0.store.wheel().definition.mail_time.zone)
            .date_naive()
    }

    pub fn today(&self) -> NaiveDate {
        self.0.today.unwrap_or_else(|| self.today_at(self.now()))
    }

    pub fn secretariat_email(&self) -> &str {
        &self.0.secretariat_email
    }

    pub fn report_templates(&self) -> &hjul_report::Templates {
        &self.0.reports
    }

    /// The stamp of a change `actor` makes now.
    pub fn stamp(&self, actor: &Actor) -> Stamp {
        let at = self.now();
        actor.stamp(at, self.0.today.unwrap_or_else(|| self.today_at(at)))
    }

    /// The stamp of a change `actor` makes now for `unit`: as a deputy, it says whom
    /// they stood in for.
    pub fn stamp_for(&self, actor: &Actor, unit: &str) -> Stamp {
        let at = self.now();
        actor.stamp_for(unit, at, self.0.today.unwrap_or_else(|| self.today_at(at)))
    }

    /// The person holding a token, with the part of the organisation they see (read
    /// from the kept directory; the secretariat sees all and reads nothing), and the
    /// units they stand in for today as a deputy.
    pub async fn actor(&self, holder: TokenHolder) -> Result<Actor, CoreError> {
        if holder.role == hjul_store::Role::Secretariat {
            return Ok(Actor::signed_in(holder, None));
        }
        let dir = self.0.store.directory().await?;
        let stands_in = dir.stands_in_for(&holder.email, self.today());
        let subtree = dir.subtree_led_by(&holder.email);
        let mut holder = holder;
        // A deputy not in the organisation file is named as they were named deputy.
        if holder.leads.is_empty()
            && let Some(name) = dir.deputy_name(&holder.email)
        {
            holder.name = name.to_owned();
        }
        let actor = Actor::signed_in(holder, Some(subtree));
        Ok(with_stand_ins(actor, &dir, stands_in))
    }

    /// A person of the organisation acting at the command line (`hjul --as EMAIL`):
    /// what they may do is what their units give them, as a manager's token would,
    /// and the audit log names both (`cli:USER as EMAIL`). Someone who leads no active
    /// unit cannot be acted as.
    pub async fn person(&self, email: &str, operator: &str) -> Result<Actor, CoreError> {
        let email = hjul_wheel::Email::parse(email)
            .map_err(StoreError::BadAddress)?
            .to_string();
        let recorded_as = format!("{operator} as {email}");
        self.person_recorded_as(&email, recorded_as).await
    }

    /// A person of the organisation by their (checked) address, named in the audit log
    /// as `recorded_as`: what their units give them. Someone who leads no active unit
    /// is `StoreError::LeadsNothing`.
    async fn person_recorded_as(
        &self,
        email: &str,
        recorded_as: String,
    ) -> Result<Actor, CoreError> {
        let email = email.to_owned();
        let store = &self.0.store;
        let leads = store.units_led_by(&email).await?;
        let dir = store.directory().await?;
        let stands_in = dir.stands_in_for(&email, self.today());
        if leads.is_empty() && stands_in.is_empty() {
            return Err(StoreError::LeadsNothing {
                email,
                role: hjul_store::Role::Manager,
            }
            .into());
        }
        let name = leads
            .first()
            .and_then(|u| dir.leader(u, 0))
            .map(|a| a.name)
            .or_else(|| dir.deputy_name(&email).map(str::to_owned))
            .unwrap_or_else(|| email.clone());
        let subtree = dir.subtree_led_by(&email);
        let actor = Actor::person(&email, name, leads, subtree, recorded_as);
        Ok(with_stand_ins(actor, &dir, stands_in))
    }

    /// Runs a use case; a refusal (not a failure) is put on record with who tried what
    /// and why. One turned away because others were writing is put on record when its
    /// turn comes, after the answer has gone: waiting for it would keep the person
    /// waiting twice.
    async fn audited<T>(
        &self,
        actor: &Actor,
        attempt: &Attempt<'_>,
        result: Result<T, CoreError>,
    ) -> Result<T, CoreError> {
        if let Err(e) = &result {
            let busy = matches!(e, CoreError::Store(StoreError::Busy));
            if e.is_refusal() || busy {
                let da = e.text().map(|t| t.render(hjul_wheel::Language::Da));
                self.audit_refusal_said(
                    self.stamp(actor),
                    attempt,
                    (&e.to_string(), da.as_deref()),
                    busy,
                )
                .await;
            }
        }
        result
    }

    /// Puts a refused attempt on record; in the background when `later`.
    pub async fn audit_refusal(
        &self,
        stamp: Stamp,
        attempt: &Attempt<'_>,
        reason: &str,
        later: bool,
    ) {
        self.audit_refusal_said(stamp, attempt, (reason, None), later)
            .await;
    }

    /// [`Core::audit_refusal`] with the reason in English and, when it was said to a
    /// person, in Danish (the log's page shows the reader's).
    async fn audit_refusal_said(
        &self,
        stamp: Stamp,
        attempt: &Attempt<'_>,
        (reason, reason_da): (&str, Option<&str>),
        later: bool,
    ) {
        let store = self.0.store.clone();
        let (what, entity, id, reason, reason_da) = (
            attempt.what.to_owned(),
            attempt.entity.to_owned(),
            attempt.id.to_owned(),
            reason.to_owned(),
            reason_da.map(str::to_owned),
        );
        let write = async move {
            if let Err(e) = store
                .audit_refusal(&stamp, &what, &entity, &id, (&reason, reason_da.as_deref()))
                .await
            {
                tracing::error!(error = %e, "could not record a refused attempt");
            }
        };
        if later {
            tokio::spawn(write);
        } else {
            write.await;
        }
    }
}

/// `actor` standing in for `units` today (each with the leader's name): the subtree
/// of each is added to what they see.
fn with_stand_ins(
    actor: Actor,
    dir: &hjul_store::Directory,
    units: Vec<(String, String)>,
) -> Actor {
    if units.is_empty() {
        return actor;
    }
    let subtree = dir.subtree_of(units.iter().map(|(u, _)| u.as_str()));
    actor.standing_in(units, subtree)
}
