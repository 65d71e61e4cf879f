//! # hjul-store: what happened, on record
//!
//! One repository API over SQLite (the embedded default, a file in WAL mode) and
//! PostgreSQL. Every state change is checked by `hjul-wheel` inside the transaction that
//! records it, and commits together with its audit row, or not at all.

/// Runs a change's block (one transaction, rolled back whole when it fails) again while
/// [`Store::try_again`] says so. A macro, not a function taking a closure: the block
/// borrows the change's arguments, and an async closure over them makes the handlers'
/// futures lose `Send`.
macro_rules! retrying {
    ($store:expr, $change:block) => {{
        let mut tries = 1;
        loop {
            match async $change.await {
                Err($crate::StoreError::Busy) if $store.try_again(&mut tries).await => {}
                other => break other,
            }
        }
    }};
}

mod archive;
mod audit;
mod backup;
mod copy;
mod corrections;
mod cycles;
mod data;
mod departed;
mod deputies;
mod directory;
mod drafts;
mod entity;
mod events;
mod facts;
mod lease;
mod monitor;
mod org;
mod outbox;
mod person_data;
mod reads;
mod reports;
mod retention;
pub mod sessions;
pub mod settings;
mod standing;
mod status;
pub mod tokens;
mod watch;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use hjul_migrations::{Migrator, MigratorTrait, SchemaManager};
use hjul_wheel::{ConfigError, IndicatorCatalogue, Refusal, WheelDefinition};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

pub use corrections::{Corrected, Correction, CorrectionAction};
// The rows the store gives out, as plain records under the domain's names. The sea-orm
// entities (their `Entity`, `Column` and `ActiveModel`) stay inside: nothing outside this
// crate reads or writes a table but through `Store`.
pub use archive::{Archive, ArchiveFile, Manifest, ManifestEntry};
pub use audit::AuditFilter;
pub use backup::{Backup, BackupManifest, Restored, file_digest as backup_digest};
pub use data::{DataImportReport, Over, StoredMeasurement};
pub use departed::{Anonymised, AnonymisedRows, FORMER_LEADER, PSEUDONYM_DOMAIN};
pub use deputies::{Deputy, NewDeputy};
pub use directory::{Acting, Addressee, Directory};
pub use drafts::{Draft, DraftKind};
pub use entity::api_token::Model as Token;
pub use entity::audit_log::Model as AuditEntry;
pub use entity::correction::Model as CorrectionRow;
pub use entity::cycle::Model as Cycle;
pub use entity::cycle::StartedHow;
pub use entity::outbox_item::Model as OutboxItem;
pub use entity::unit::Model as Unit;
pub use events::{Graded, Recorded, Submitted, UnitEventKind, check_themes};
pub use monitor::Monitored;
pub use org::{Handover, ImportReport, Joining};
pub use outbox::{
    ItemId, ItemPayload, Kind as OutboxKind, Moving, NewItem, SentEntries, SentMark, SentWords,
    State as OutboxState,
};
pub use person_data::{LoggedChange, MailSent, PersonData, ReadOfData};
pub use reads::{NewRead, ReadEntry, ReadFilter};
pub use reports::{FinalReportFile, KeptReport, sha256};
pub use retention::{MIN_RETENTION_DAYS, Retention, RetentionCounts};
pub use sessions::{Holder, Session};
pub use standing::{Projected, StandingDifference, UNIT_TREE_LOCK};
pub use status::{
    AgreementRevisionView, AgreementView, CycleState, DeadlineView, EventView, GoalView,
    MilestoneView, StatusFilter, StatusRow, Timeline, UnitRecords, UnitView,
};
pub use tokens::{Role, SubtreeUnit, TokenHolder};
pub use watch::{Looked, Watched};

/// The database file used when none is given.
pub const DEFAULT_DATABASE: &str = "hjul.db";

/// How long a change waits for its turn to write before it is answered "busy"
/// ([`StoreError::Busy`]): on SQLite first behind the other writes of this process, then
/// (SQLite's busy timeout) behind another process's.
pub const WRITE_WAIT: Duration = Duration::from_secs(10);

/// How many times a PostgreSQL transaction that was chosen as a deadlock's victim or
/// failed to serialize is tried before it is answered "busy".
pub const WRITE_TRIES: u32 = 4;

/// A write's turn on SQLite: held from `BEGIN IMMEDIATE` until the transaction ends, so
/// this process's writers queue in order on this lock instead of polling SQLite's file
/// lock, and a queued writer holds no connection that a reader could use. Nothing on
/// PostgreSQL, whose row locks let writers of different units go at once.
#[must_use = "the turn ends when it is dropped: keep it until the transaction ends"]
pub(crate) struct Turn(#[allow(dead_code)] Option<tokio::sync::OwnedMutexGuard<()>>);

/// Who does something, and when: every change is stamped with both.
#[derive(Debug, Clone)]
pub struct Stamp {
    /// Recorded in the audit log (a person's address, `cli:USER`, `scheduler`).
    pub actor: String,
    pub at: DateTime<Utc>,
    /// The municipality's date at `at`; events dated after it are refused.
    pub today: NaiveDate,
}

/// The wheel definition and catalogue a new cycle starts with, with their text, which the
/// cycle keeps so it goes on under the rules it started with.
#[derive(Debug, Clone)]
pub struct CurrentWheel {
    pub definition: WheelDefinition,
    pub definition_toml: String,
    pub catalogue: IndicatorCatalogue,
    pub catalogue_toml: String,
}

impl CurrentWheel {
    pub fn builtin() -> Self {
        Self {
            definition: WheelDefinition::builtin(),
            definition_toml: hjul_wheel::definition::BUILTIN_WHEEL_TOML.to_owned(),
            catalogue: IndicatorCatalogue::builtin(),
            catalogue_toml: hjul_wheel::indicators::BUILTIN_INDICATORS_TOML.to_owned(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "there is no database at {path}: run `hjul migrate` to create it, or give another with --database-url"
    )]
    NoDatabase { path: String },
    #[error("the database at {0} has no hjul schema: run `hjul migrate`")]
    NotMigrated(String),
    #[error("the database schema is behind ({} migration{} pending: {}): run `hjul migrate`", .0.len(), if .0.len() == 1 { "" } else { "s" }, .0.join(", "))]
    SchemaBehind(Vec<String>),
    #[error("the database was migrated by a newer hjul ({0}); use that version or newer")]
    SchemaAhead(String),
    /// The wheel's rules forbid it. (Not a `source`: the message already says it all.)
    #[error("refused: {0}")]
    Refused(Refusal),
    #[error("{}", self.words())]
    UnknownUnit(String),
    #[error("{}", self.words())]
    InactiveUnit(String),
    #[error("{}", self.words())]
    CycleNotStarted { year: i32, starts: NaiveDate },
    #[error("{}", self.words())]
    CycleAlreadyStarted { year: i32, on: NaiveDate },
    #[error(transparent)]
    NoCycle(#[from] hjul_wheel::NoCycle),
    #[error(transparent)]
    File(#[from] ConfigError),
    /// `themes_published` was recorded without its focus themes.
    #[error("{}", self.words())]
    ThemesRequired,
    /// The focus themes given are none (an empty file or form).
    #[error("{}", self.words())]
    NoThemes,
    /// Focus themes given with another milestone than `themes_published`.
    #[error("{}", self.words())]
    TakesNoThemes(hjul_wheel::Deadline),
    /// No outbox item has this id.
    #[error("{}", self.words())]
    NoSuchItem(ItemId),
    /// Only a dead item is sent again.
    #[error("{}", self.words())]
    ItemNotDead { id: ItemId, state: OutboxState },
    /// A token for a person whose address is not one (the text says how).
    #[error("{}", self.words())]
    BadAddress(hjul_wheel::Text),
    /// A manager's or leader's token for someone who leads no active unit.
    #[error("{}", self.words())]
    LeadsNothing { email: String, role: Role },
    /// Too little of a token's id to name one token for certain.
    #[error("{}", self.words())]
    TokenIdTooShort(String),
    /// No active token has an id beginning so.
    #[error("{}", self.words())]
    NoSuchToken(String),
    /// More than one active token has an id beginning so.
    #[error("{}", self.words())]
    AmbiguousToken { start: String, count: usize },
    /// A draft larger than is kept.
    #[error("{}", self.words())]
    DraftTooLarge { kb: usize },
    /// Something a person handed in is not acceptable; the text says what, in their
    /// language.
    #[error("{0}")]
    Input(hjul_wheel::Text),
    /// What is on record does not allow it (a correction that would break the wheel's
    /// rules, or the agreement's revisions).
    #[error("{0}")]
    Conflict(hjul_wheel::Text),
    /// No such event in force (corrected already, or of another unit).
    #[error("{0}")]
    NoEvent(hjul_wheel::Text),
    /// The records contradict themselves: a defect, or a database edited by hand. Not
    /// a person's mistake; the log says which.
    #[error("the records contradict themselves: {0}")]
    OnRecord(OnRecord),
    #[error("the definition stored with cycle {year} cannot be read: {problem}")]
    StoredDefinition { year: i32, problem: ConfigError },
    #[error("stopped on purpose at `{0}` (a test of what a crash leaves behind)")]
    InjectedFault(&'static str),
    /// A copy of the database that cannot be made or put back: the text says why and
    /// what to do (the operator's, on the command line).
    #[error("{0}")]
    Backup(String),
    /// Others were writing for longer than a write waits for its turn
    /// ([`WRITE_WAIT`] on SQLite), or PostgreSQL gave up on the transaction as a
    /// deadlock or a serialization failure as often as [`WRITE_TRIES`]: nothing was
    /// written, and the same change may well go through in a moment.
    #[error("{}", self.words())]
    Busy,
    #[error("database error: {0}")]
    Db(DbErr),
}

/// What on record contradicts the rest ([`StoreError::OnRecord`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnRecord {
    #[error("unit {unit} has level {level}")]
    UnitLevel { unit: String, level: i16 },
    /// A unit's deadline in the milestone table. (A kind none of the wheel's, in any
    /// column, is refused by the column's type when the row is read: a `DbErr`.)
    #[error("a milestone `{0}`")]
    Milestone(hjul_wheel::Deadline),
    #[error("cycle {0} is not on record")]
    Cycle(i32),
    #[error("goal \"{0}\" is not on record")]
    Goal(String),
    #[error("revision {revision} of the agreement of {unit} is not on record")]
    Revision { unit: String, revision: u32 },
    #[error("leader {0} was not written")]
    Leader(String),
}

impl StoreError {
    /// What to tell a person, as a catalogue key and its arguments, for the errors a
    /// person can meet and act on; `None` for the operator's and the developers' (the
    /// schema, a fault, the database), whose English text goes to the log. The English
    /// `Display` of each is this text, so the command line, the API and the dashboard
    /// say the same thing. Front ends add their own hints (the command line names its
    /// commands), never read the text.
    pub fn text(&self) -> Option<hjul_wheel::Text> {
        use hjul_wheel::Text;
        use hjul_wheel::limits::clip;
        Some(match self {
            Self::Refused(r) => r.text(),
            Self::UnknownUnit(u) => Text::new("record.unknown_unit").arg("unit", clip(u, 64)),
            Self::InactiveUnit(u) => Text::new("record.inactive_unit").arg("unit", u.clone()),
            Self::CycleNotStarted { year, starts } => Text::new("record.cycle_not_started")
                .arg("cycle", *year)
                .arg("starts", *starts),
            Self::CycleAlreadyStarted { year, on } => Text::new("record.cycle_started")
                .arg("cycle", *year)
                .arg("on", *on),
            Self::ThemesRequired => Text::new("store.themes_required"),
            Self::NoThemes => Text::new("store.no_themes"),
            Self::TakesNoThemes(m) => Text::new("store.takes_no_themes")
                .arg("milestone", hjul_wheel::text::key("deadline", m.key())),
            Self::NoSuchItem(id) => Text::new("store.no_such_item").arg("id", id.to_string()),
            Self::ItemNotDead { id, .. } => {
                Text::new("store.item_not_dead").arg("id", id.to_string())
            }
            Self::BadAddress(t) | Self::Input(t) | Self::Conflict(t) | Self::NoEvent(t) => {
                t.clone()
            }
            Self::LeadsNothing { email, .. } => {
                Text::new("store.leads_nothing").arg("email", clip(email, 80))
            }
            Self::TokenIdTooShort(start) => Text::new("store.token_id_too_short")
                .arg("start", clip(start, 40))
                .arg("least", tokens::MIN_ID_PREFIX),
            Self::NoSuchToken(start) => {
                Text::new("store.no_such_token").arg("start", clip(start, 40))
            }
            Self::AmbiguousToken { start, count } => Text::new("store.token_ambiguous")
                .arg("start", clip(start, 40))
                .arg("count", *count),
            Self::DraftTooLarge { kb } => Text::new("store.draft_too_large")
                .arg("kb", *kb)
                .arg("most", drafts::MAX_DRAFT_BYTES / 1024),
            Self::Busy => Text::new("store.busy"),
            Self::NoDatabase { .. }
            | Self::NotMigrated(_)
            | Self::SchemaBehind(_)
            | Self::SchemaAhead(_)
            | Self::NoCycle(_)
            | Self::File(_)
            | Self::OnRecord(_)
            | Self::StoredDefinition { .. }
            | Self::InjectedFault(_)
            | Self::Backup(_)
            | Self::Db(_) => return None,
        })
    }

    /// The English text of an error that has one ([`StoreError::text`]).
    fn words(&self) -> String {
        self.text().map(|t| t.to_string()).unwrap_or_default()
    }
}

impl From<DbErr> for StoreError {
    fn from(e: DbErr) -> Self {
        if db_is_busy(&e) {
            Self::Busy
        } else {
            Self::Db(e)
        }
    }
}

/// SQLite's "database is locked" after the busy timeout (SQLITE_BUSY and its extended
/// codes), or PostgreSQL's deadlock (40P01) and serialization failure (40001): another
/// writer was in the way, not a fault of this change.
fn db_is_busy(e: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    let (DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x))) = e else {
        return false;
    };
    let sea_orm::sqlx::Error::Database(d) = x.as_ref() else {
        return false;
    };
    d.code()
        .is_some_and(|c| matches!(c.as_ref(), "5" | "261" | "517" | "773" | "40001" | "40P01"))
}

impl From<Refusal> for StoreError {
    fn from(r: Refusal) -> Self {
        Self::Refused(r)
    }
}

impl StoreError {
    /// The database could not be reached (down, restarting, the network away): worth
    /// trying again later, unlike a refusal or a bad schema.
    pub fn is_unavailable(&self) -> bool {
        use sea_orm::RuntimeErr;
        use sea_orm::sqlx::Error as Sqlx;
        let Self::Db(e) = self else {
            return false;
        };
        match e {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
            DbErr::Exec(RuntimeErr::SqlxError(x)) | DbErr::Query(RuntimeErr::SqlxError(x)) => {
                matches!(
                    x.as_ref(),
                    Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed
                ) || matches!(x.as_ref(), Sqlx::Database(d) if d.code().is_some_and(|c| {
                    // PostgreSQL: shutting down (57P01–57P03), cannot connect now (08*).
                    c.starts_with("57P") || c.starts_with("08")
                }))
            }
            _ => false,
        }
    }
}

/// Where a test can make a change fail halfway, to show that nothing of it is kept.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// During an import, after the units are written and before the deactivations.
    ImportAfterUnits,
    /// During an event, after the event row is written and before its audit row.
    EventAfterInsert,
}

#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    wheel: CurrentWheel,
    fault: Option<FaultPoint>,
    /// The privacy threshold every read of indicator data applies.
    min_responses: u32,
    /// The averages of every unit's indicator values, kept until the data change.
    data_cache: std::sync::Arc<std::sync::Mutex<Option<data::DataCache>>>,
    /// `status` answers, kept until their cycle changes (`standing::KeptStatus`).
    status_cache: std::sync::Arc<std::sync::Mutex<standing::KeptAnswers>>,
    /// Who is who, kept until the organisation changes (`Store::directory`).
    directory_cache: std::sync::Arc<std::sync::Mutex<Option<directory::KeptDirectory>>>,
    /// The writers' queue on SQLite ([`Turn`]).
    writers: std::sync::Arc<tokio::sync::Mutex<()>>,
}

/// How the database is named: a PostgreSQL URL, an `sqlite:` URL or a plain file path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    pub fn parse(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::Postgres(url.to_owned());
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        let path = path.split('?').next().unwrap_or(path);
        Self::Sqlite(PathBuf::from(path))
    }

    /// For messages: never shows a password.
    pub fn display(&self) -> String {
        match self {
            Self::Sqlite(p) => p.display().to_string(),
            Self::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
                _ => url.clone(),
            },
        }
    }
}

impl Store {
    /// Opens the database; `create` makes a missing SQLite file (for `hjul migrate`).
    pub async fn open(
        location: &Location,
        wheel: CurrentWheel,
        create: bool,
    ) -> Result<Self, StoreError> {
        let db = match location {
            Location::Postgres(url) => {
                let mut opts = ConnectOptions::new(url.clone());
                opts.max_connections(8)
                    .connect_timeout(Duration::from_secs(10))
                    .sqlx_logging(false);
                Database::connect(opts).await?
            }
            Location::Sqlite(path) => {
                if !create && !path.exists() {
                    return Err(StoreError::NoDatabase {
                        path: path.display().to_string(),
                    });
                }
                let mut opts = ConnectOptions::new(format!("sqlite:{}", path.display()));
                opts.max_connections(4)
                    .sqlx_logging(false)
                    .map_sqlx_sqlite_opts(move |o| {
                        o.create_if_missing(create)
                            .journal_mode(SqliteJournalMode::Wal)
                            .synchronous(SqliteSynchronous::Normal)
                            .foreign_keys(true)
                            .busy_timeout(WRITE_WAIT)
                            // sqlx keeps 100 prepared statements a connection; each
                            // length of an `IN (…)` list is a statement of its own, up
                            // to 1,000 parameters, so the cache grew to tens of MB. The
                            // statements asked often stay among the 16.
                            .statement_cache_capacity(16)
                    });
                Database::connect(opts).await?
            }
        };
        Ok(Self {
            db,
            wheel,
            fault: None,
            min_responses: hjul_wheel::data::DEFAULT_MIN_RESPONSES,
            data_cache: std::sync::Arc::default(),
            status_cache: std::sync::Arc::default(),
            directory_cache: std::sync::Arc::default(),
            writers: std::sync::Arc::default(),
        })
    }

    /// This process's turn to write, waited for at most [`WRITE_WAIT`]. Taken by every
    /// change before it writes; on PostgreSQL there is no queue.
    pub(crate) async fn turn(&self) -> Result<Turn, StoreError> {
        if self.backend() != DbBackend::Sqlite {
            return Ok(Turn(None));
        }
        let queue = std::sync::Arc::clone(&self.writers);
        match tokio::time::timeout(WRITE_WAIT, queue.lock_owned()).await {
            Ok(guard) => Ok(Turn(Some(guard))),
            Err(_) => Err(StoreError::Busy),
        }
    }

    /// A write transaction with its turn. On SQLite it begins as a write (`BEGIN
    /// IMMEDIATE`): a transaction begun as a read fails at once ("database is locked")
    /// when it turns into a write while another process writes, whatever the busy
    /// timeout; begun as a write, it waits for the lock within the timeout.
    pub(crate) async fn write(&self) -> Result<(DatabaseTransaction, Turn), StoreError> {
        let turn = self.turn().await?;
        let txn = if self.backend() == DbBackend::Sqlite {
            self.db
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..TransactionOptions::default()
                })
                .await?
        } else {
            self.db.begin().await?
        };
        Ok((txn, turn))
    }

    /// Whether a change PostgreSQL gave up as a deadlock's victim or a serialization
    /// failure is to be tried again (after a short wait), at most [`WRITE_TRIES`] times
    /// in all. On SQLite a busy answer has waited its [`WRITE_WAIT`] already and is not
    /// tried again. Used by [`retrying!`].
    pub(crate) async fn try_again(&self, tries: &mut u32) -> bool {
        if self.backend() != DbBackend::Postgres || *tries >= WRITE_TRIES {
            return false;
        }
        // Apart a little, so the transactions that met do not meet again.
        let jitter = u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 20;
        tokio::time::sleep(Duration::from_millis(10 * u64::from(*tries) + jitter)).await;
        *tries += 1;
        true
    }

    /// The privacy threshold (hjul.toml `[data] min_responses`): a value resting on
    /// fewer respondents is kept but never shown, exported, counted in an average or used
    /// for a proposal.
    #[must_use]
    pub fn with_min_responses(mut self, n: u32) -> Self {
        self.min_responses = n.max(1);
        // Averages kept under another threshold are not these.
        self.data_cache = std::sync::Arc::default();
        self
    }

    pub fn min_responses(&self) -> u32 {
        self.min_responses
    }

    /// Opens an existing database and checks that its schema is current.
    pub async fn open_current(
        location: &Location,
        wheel: CurrentWheel,
    ) -> Result<Self, StoreError> {
        let store = Self::open(location, wheel, false).await?;
        store.check_schema(location).await?;
        Ok(store)
    }

    #[doc(hidden)]
    #[must_use]
    pub fn fail_at(mut self, point: FaultPoint) -> Self {
        self.fault = Some(point);
        self
    }

    fn fault(&self, point: FaultPoint, name: &'static str) -> Result<(), StoreError> {
        if self.fault == Some(point) {
            Err(StoreError::InjectedFault(name))
        } else {
            Ok(())
        }
    }

    pub fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    pub fn wheel(&self) -> &CurrentWheel {
        &self.wheel
    }

    /// The migrations not yet applied, by name.
    pub async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        let manager = SchemaManager::new(&self.db);
        if !manager.has_table("seaql_migrations").await? {
            return Ok(Migrator::migrations()
                .iter()
                .map(|m| m.name().to_owned())
                .collect());
        }
        match Migrator::get_pending_migrations(&self.db).await {
            Ok(p) => Ok(p.iter().map(|m| m.name().to_owned()).collect()),
            Err(DbErr::Custom(msg)) if msg.contains("missing") => Err(StoreError::SchemaAhead(msg)),
            Err(e) => Err(e.into()),
        }
    }

    async fn check_schema(&self, location: &Location) -> Result<(), StoreError> {
        let manager = SchemaManager::new(&self.db);
        if !manager.has_table("seaql_migrations").await? {
            return Err(StoreError::NotMigrated(location.display()));
        }
        let pending = self.pending_migrations().await?;
        if pending.is_empty() {
            Ok(())
        } else {
            Err(StoreError::SchemaBehind(pending))
        }
    }

    /// Applies pending migrations one at a time, calling `progress(done, total)` after
    /// each; safe to run again. Returns the names applied.
    pub async fn migrate(
        &self,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<Vec<String>, StoreError> {
        let pending = self.pending_migrations().await?;
        let total = pending.len();
        for (i, _) in pending.iter().enumerate() {
            Migrator::up(&self.db, Some(1)).await?;
            progress(i + 1, total);
        }
        // The standing projection is computed by the wheel's rules, which a migration
        // does not know: the cycles on record get theirs once the schema is in place.
        if !pending.is_empty() {
            self.build_missing_standing().await?;
        }
        Ok(pending)
    }

    pub async fn close(self) -> Result<(), StoreError> {
        self.db.close().await?;
        Ok(())
    }
}

/// A JSON text of a value for the audit log and JSON columns.
pub(crate) fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| format!("\"unserialisable: {e}\""))
}

#[cfg(test)]
mod tests {
    /// A column holds a kind by the key the domain names it with (`key()`), as the text
    /// columns did before they were typed: rows written by an older hjul read back, and
    /// a key the API or a file uses is the key on record.
    #[test]
    fn columns_hold_the_domains_keys() {
        use sea_orm::{ActiveEnum, Iterable};
        macro_rules! same {
            ($($t:ty),*) => {$(
                let all: Vec<$t> = <$t>::iter().collect();
                assert!(!all.is_empty());
                for v in all {
                    assert_eq!(v.to_value(), v.key(), "{}", stringify!($t));
                }
            )*};
        }
        use crate::{CorrectionAction, DraftKind};
        use hjul_wheel::*;
        same!(
            Area,
            Language,
            EventKind,
            Deadline,
            Step,
            AgreementState,
            Dimension,
            GoalKind,
            Horizon,
            Grade,
            Party,
            DraftKind,
            CorrectionAction
        );
    }

    /// The store's modules import one another one way only: a module never imports one
    /// that imports it back, directly or round a circle (`facts` and `entity` at the
    /// bottom). Read from the sources, outside their test modules.
    #[test]
    fn modules_import_one_another_one_way() {
        use std::collections::{BTreeMap, BTreeSet};
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut sources = BTreeMap::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.extension().is_some_and(|e| e == "rs") && name != "lib" {
                let text = std::fs::read_to_string(&path).unwrap();
                // Code only: comments name modules without importing them.
                let code: String = text
                    .split("#[cfg(test)]")
                    .next()
                    .unwrap_or("")
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                sources.insert(name, code);
            }
        }
        let names: BTreeSet<String> = sources.keys().cloned().collect();
        let mut imports: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (name, code) in &sources {
            let mut uses = BTreeSet::new();
            for (at, _) in code.match_indices("crate::") {
                let rest = &code[at + "crate::".len()..];
                let mut heads = Vec::new();
                if let Some(group) = rest.strip_prefix('{') {
                    let group = &group[..group.find('}').unwrap_or(group.len())];
                    heads.extend(group.split(',').map(str::trim));
                } else {
                    heads.push(rest);
                }
                for head in heads {
                    let module: String = head
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if names.contains(&module) && module != *name {
                        uses.insert(module);
                    }
                }
            }
            imports.insert(name.clone(), uses);
        }
        // A circle: a module reachable from itself.
        for start in &names {
            let mut seen = BTreeSet::new();
            let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
            while let Some((at, path)) = stack.pop() {
                for next in &imports[&at] {
                    assert!(
                        next != start,
                        "the store's modules import in a circle: {} → {start}",
                        path.join(" → ")
                    );
                    if seen.insert(next.clone()) {
                        let mut p = path.clone();
                        p.push(next.clone());
                        stack.push((next.clone(), p));
                    }
                }
            }
        }
        assert!(
            imports["facts"].iter().all(|m| m == "entity"),
            "{:?}",
            imports["facts"]
        );
        assert!(imports["standing"].contains("facts"));
    }

    use super::*;

    /// Every error a person can meet has its words in both catalogues, each placeholder
    /// filled, and its English `Display` is those words.
    #[test]
    fn each_error_a_person_meets_has_its_words_in_both_languages() {
        use hjul_wheel::{Deadline, Language, Text};
        let id = ItemId(uuid::Uuid::nil());
        let errors = [
            StoreError::UnknownUnit("x".into()),
            StoreError::InactiveUnit("x".into()),
            StoreError::CycleNotStarted {
                year: 2027,
                starts: NaiveDate::from_ymd_opt(2027, 10, 1).unwrap_or_default(),
            },
            StoreError::CycleAlreadyStarted {
                year: 2025,
                on: NaiveDate::from_ymd_opt(2025, 10, 1).unwrap_or_default(),
            },
            StoreError::ThemesRequired,
            StoreError::NoThemes,
            StoreError::TakesNoThemes(Deadline::ReportFinal),
            StoreError::NoSuchItem(id),
            StoreError::ItemNotDead {
                id,
                state: OutboxState::Sent,
            },
            StoreError::BadAddress(Text::new("email.empty")),
            StoreError::LeadsNothing {
                email: "a@b.dk".into(),
                role: Role::Leader,
            },
            StoreError::TokenIdTooShort("01".into()),
            StoreError::NoSuchToken("0123456789".into()),
            StoreError::AmbiguousToken {
                start: "01234567".into(),
                count: 2,
            },
            StoreError::DraftTooLarge { kb: 600 },
            StoreError::Busy,
        ];
        for e in errors {
            let text = e.text().unwrap_or_else(|| panic!("{e:?} has no words"));
            for lang in [Language::Da, Language::En] {
                let words = text.render(lang);
                assert!(
                    hjul_wheel::text::Catalogue::wheel(lang)
                        .get(text.key)
                        .is_some(),
                    "{e:?}: `{}` is not in the {lang:?} catalogue",
                    text.key
                );
                assert!(!words.contains('{'), "{e:?} in {lang:?}: {words}");
            }
            assert_eq!(e.to_string(), text.render(Language::En));
        }
        // The operator's and the developers' errors go to the log in English only.
        assert!(StoreError::OnRecord(OnRecord::Cycle(2025)).text().is_none());
    }

    #[test]
    fn locations_parse_paths_and_urls() {
        assert_eq!(
            Location::parse("hjul.db"),
            Location::Sqlite("hjul.db".into())
        );
        assert_eq!(
            Location::parse("sqlite://x/y.db?mode=rwc"),
            Location::Sqlite("x/y.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:/tmp/a.db"),
            Location::Sqlite("/tmp/a.db".into())
        );
        let pg = Location::parse("postgres://hjul:secret@db.local:5432/hjul");
        assert!(matches!(pg, Location::Postgres(_)));
        assert_eq!(pg.display(), "postgres://***@db.local:5432/hjul");
    }
}
