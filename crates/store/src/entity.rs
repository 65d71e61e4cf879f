//! The tables, as sea-orm entities. Relations are followed in code (by id), which keeps
//! the entities plain and the queries explicit.

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}

        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub mod person {
    use hjul_wheel::Language;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "person")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub email: String,
        pub name: String,
        pub language: Language,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// Since when they lead no active unit (set and cleared by the import).
        pub left_at: Option<DateTimeUtc>,
        /// When their name and address were replaced (`hjul privacy anonymise`).
        pub anonymised_at: Option<DateTimeUtc>,
    }

    no_relations!();
}

pub mod unit {
    use hjul_wheel::Area;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "unit")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub level: i16,
        pub parent_id: Option<String>,
        pub area: Area,
        pub leader_id: Uuid,
        pub active: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
        /// The municipality's date of the import that added it (none for units added
        /// before hjul kept it: `created_at` says it).
        pub joined_on: Option<Date>,
        /// For a unit that joined a running cycle late and takes part from the next
        /// instead: that cycle's first day.
        pub comes_on: Option<Date>,
    }

    no_relations!();
}

pub mod cycle {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "cycle")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub year: i32,
        pub started_at: DateTimeUtc,
        /// Who started it (`cli:anna`, `api:sekretariat@…`, the scheduler's name).
        pub started_by: String,
        pub started_how: StartedHow,
        pub definition_version: String,
        pub definition_toml: String,
        pub catalogue_version: String,
        pub catalogue_toml: String,
        /// Counted up by every change to what `status` shows for the cycle: a kept answer
        /// with an older count is out of date.
        pub standing_version: i64,
    }

    /// How a cycle was started.
    #[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
    #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum, serde::Serialize)]
    #[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
    #[serde(rename_all = "snake_case")]
    pub enum StartedHow {
        /// By the secretariat, before its first day (`hjul cycle start`).
        Early,
        /// On its own, on its first day.
        OnFirstDay,
    }

    no_relations!();
}

/// One row: counted up by every organisation import that changes a unit or a person.
pub mod organisation_version {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "organisation_version")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
        pub version: i64,
        /// When the organisation was first imported: its units are no late joiners.
        pub first_import_at: Option<DateTimeUtc>,
    }

    no_relations!();
}

pub mod milestone {
    use hjul_wheel::Deadline;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "milestone")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub cycle: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub deadline: Deadline,
        pub met_on: Date,
        /// The focus themes in priority order, as a JSON array (themes_published only).
        pub themes: Option<String>,
        pub recorded_at: DateTimeUtc,
        pub recorded_by: String,
    }

    no_relations!();
}

pub mod unit_event {
    use hjul_wheel::EventKind;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "unit_event")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub cycle: i32,
        pub unit_id: String,
        pub kind: EventKind,
        pub on: Date,
        pub revision: Option<i32>,
        pub notes: Option<String>,
        /// The notes may be quoted in the quality report: the leader marked them so.
        pub for_report: bool,
        pub recorded_at: DateTimeUtc,
        pub recorded_by: String,
        /// The correction that replaced or withdrew this event; it then no longer counts.
        pub superseded_by: Option<Uuid>,
    }

    no_relations!();
}

/// The standing projection: what `status` shows of a unit in a cycle, kept with every
/// change that moves it (`crate::standing`).
pub mod unit_standing {
    use hjul_wheel::{AgreementState, Deadline, Step};
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "unit_standing")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub cycle: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub unit_id: String,
        pub step: Option<Step>,
        pub next_deadline: Option<Deadline>,
        pub next_due: Option<Date>,
        /// The party to act, by key.
        pub responsible: String,
        /// The unit whose leader is to act; `None`: the secretariat.
        pub responsible_unit: Option<String>,
        pub agreement: Option<AgreementState>,
        /// The agreement's score in basis points.
        pub score: Option<i32>,
        /// The latest day of any fact counted.
        pub facts_through: Option<Date>,
        /// When the scheduler must next look at the unit: its next mail moment, the far
        /// future when none is left, empty when the row changed since the tick looked.
        pub mail_at: Option<DateTimeUtc>,
        /// Which rewrite of the row this is (random per refresh).
        pub revision: i64,
        /// The cycle's `standing_version` as counted by the change that wrote the row:
        /// a kept answer reads again only the rows written after it was read.
        pub counted: i64,
    }

    no_relations!();
}

pub mod agreement {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "agreement")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub cycle: i32,
        pub unit_id: String,
        pub revision: i32,
        pub submitted_on: Date,
        pub signed_on: Option<Date>,
        /// The agreement file as submitted.
        pub source: String,
    }

    no_relations!();
}

pub mod goal {
    use hjul_wheel::{Dimension, GoalKind, Horizon};
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "goal")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub agreement_id: Uuid,
        pub position: i32,
        pub title: String,
        pub dimension: Dimension,
        pub kind: GoalKind,
        pub horizon: Horizon,
        pub weight: i32,
        pub indicator: Option<String>,
        pub baseline: String,
        pub partly_met: String,
        pub fully_met: String,
        /// A JSON array of texts.
        pub activities: String,
        pub target_date: Date,
        /// The criteria as numbers on the indicator, when given (all three or none).
        pub baseline_value: Option<f64>,
        pub partly_met_value: Option<f64>,
        pub fully_met_value: Option<f64>,
    }

    no_relations!();
}

pub mod grade {
    use hjul_wheel::Grade;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "grade")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub agreement_id: Uuid,
        pub goal_id: Uuid,
        pub grade: Grade,
        pub note: Option<String>,
        pub given_on: Date,
        /// The grade hjul proposed from the latest measurement, and what it rested on
        /// (JSON: measure, period, value), for a goal with numeric criteria.
        pub proposed: Option<String>,
        pub evidence: Option<String>,
    }

    no_relations!();
}

pub mod audit_log {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_log")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub at: DateTimeUtc,
        pub actor: String,
        pub action: String,
        pub entity: String,
        pub entity_id: String,
        /// JSON of the record before the change (none for a creation).
        pub before: Option<String>,
        /// JSON of the record after the change (none for a removal).
        pub after: Option<String>,
    }

    no_relations!();
}

pub mod outbox_item {
    use sea_orm::entity::prelude::*;
    use serde::Serialize;

    /// What an item tells its reader. Stored as its key; a CHECK constraint refuses any
    /// other text (migration `000006`).
    #[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = OutboxKind))]
    #[derive(
        Debug,
        Clone,
        Copy,
        PartialEq,
        Eq,
        Hash,
        PartialOrd,
        Ord,
        EnumIter,
        DeriveActiveEnum,
        Serialize,
    )]
    #[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
    #[serde(rename_all = "snake_case")]
    pub enum Kind {
        Opened,
        Reminder,
        Overdue,
        Escalation,
        Digest,
        DeadLetter,
        CycleEnded,
        /// A deadline is no longer the reader's (its calendar entry is cancelled).
        Withdrawn,
        /// A deadline is the reader's now, taken over from someone who had it (a new
        /// leader, a deputy stepping in, a leader back after a deputy's turn).
        TakenOver,
    }

    /// Where an item is in its life.
    #[cfg_attr(feature = "schema", derive(utoipa::ToSchema), schema(as = OutboxState))]
    #[derive(
        Debug,
        Clone,
        Copy,
        PartialEq,
        Eq,
        Hash,
        PartialOrd,
        Ord,
        EnumIter,
        DeriveActiveEnum,
        Serialize,
    )]
    #[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
    #[serde(rename_all = "snake_case")]
    pub enum State {
        Pending,
        Sent,
        Dead,
        /// A moment that passed while the service was down, folded into a later one.
        Folded,
        /// The deadline was met (or left the reader) before the mail went.
        Void,
    }

    macro_rules! keyed {
        ($($t:ident),*) => {$(
            impl $t {
                /// The text it is stored and shown as.
                pub fn key(self) -> String {
                    self.to_value()
                }

                /// The value a key names, if it names one.
                pub fn parse(text: &str) -> Option<Self> {
                    Self::try_from_value(&text.to_owned()).ok()
                }

                /// Every value, in the order declared.
                pub fn all() -> Vec<Self> {
                    <Self as sea_orm::Iterable>::iter().collect()
                }
            }
            impl std::fmt::Display for $t {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str(&self.to_value())
                }
            }
        )*};
    }
    keyed!(Kind, State);

    impl Kind {
        /// The kind of item a wheel moment writes.
        pub fn of(moment: hjul_wheel::reminders::MomentKind) -> Self {
            use hjul_wheel::reminders::MomentKind as M;
            match moment {
                M::Opened => Self::Opened,
                M::Reminder { .. } => Self::Reminder,
                M::Overdue => Self::Overdue,
                M::Escalation => Self::Escalation,
            }
        }
    }

    /// An outbox item's id: not just any UUID (an event's, a token's), so the outbox's
    /// functions cannot be handed the wrong one.
    #[derive(
        Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, DeriveValueType, Serialize,
    )]
    #[serde(transparent)]
    pub struct ItemId(pub Uuid);

    impl ItemId {
        /// A new id, in time order.
        pub fn new() -> Self {
            Self(Uuid::now_v7())
        }
    }

    impl Default for ItemId {
        fn default() -> Self {
            Self::new()
        }
    }

    impl sea_orm::TryFromU64 for ItemId {
        fn try_from_u64(_: u64) -> Result<Self, DbErr> {
            Err(DbErr::ConvertFromU64("ItemId"))
        }
    }

    impl std::fmt::Display for ItemId {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.fmt(f)
        }
    }

    impl std::str::FromStr for ItemId {
        type Err = uuid::Error;
        fn from_str(s: &str) -> Result<Self, Self::Err> {
            Uuid::parse_str(s).map(Self)
        }
    }

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox_item")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: ItemId,
        /// Unique: `cycle:unit:deadline:moment:party`, or `digest:DATE`, or `dead:ID`.
        #[sea_orm(unique)]
        pub key: String,
        pub cycle: Option<i32>,
        pub unit_id: Option<String>,
        pub deadline: Option<hjul_wheel::Deadline>,
        pub kind: Kind,
        pub days_before: Option<i32>,
        /// Who it is for, relative to the unit (resolved to an address when sent, so a
        /// new leader gets it).
        pub party: hjul_wheel::Party,
        /// The deadline's due date.
        pub due_on: Option<Date>,
        /// When the mail is due.
        pub due_at: DateTimeUtc,
        pub state: State,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        pub last_error: Option<String>,
        /// JSON content for digests and dead-letter notices.
        pub payload: Option<String>,
        pub recipient: Option<String>,
        pub message_id: Option<String>,
        pub sent_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
        /// A person it is addressed to by name (a cancellation of the entries they got,
        /// after the deadlines moved to someone else); none: the party when sent.
        pub to_email: Option<String>,
        pub to_name: Option<String>,
        pub to_language: Option<hjul_wheel::Language>,
    }

    no_relations!();
}

pub mod api_token {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_token")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// SHA-256 of the token, hex; the token itself is never stored.
        #[sea_orm(unique)]
        pub hash: String,
        /// secretariat, manager or leader.
        pub role: String,
        /// The person it acts as.
        pub email: String,
        pub note: Option<String>,
        pub created_at: DateTimeUtc,
        pub revoked_at: Option<DateTimeUtc>,
    }

    no_relations!();
}

pub mod session {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "session")]
    pub struct Model {
        /// The SHA-256 of the id the cookie holds.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// The token it was opened with; none for a person who signed in with the
        /// municipality's login.
        pub token_id: Option<Uuid>,
        /// That person's address.
        pub email: Option<String>,
        /// Whether the provider named that person a member of the secretariat.
        pub secretariat: bool,
        /// The provider's ID token, to end its session too at sign-out.
        pub id_token: Option<String>,
        pub csrf: String,
        pub created_at: DateTimeUtc,
        pub last_seen_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub ended_at: Option<DateTimeUtc>,
    }

    no_relations!();
}

pub mod draft {
    use crate::DraftKind;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "draft")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub unit_id: String,
        /// `agreement` or `midway`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: DraftKind,
        pub cycle: i32,
        /// The form as it was, as JSON.
        pub content: String,
        pub updated_at: DateTimeUtc,
        pub updated_by: String,
    }

    no_relations!();
}

pub mod correction {
    use crate::CorrectionAction;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "correction")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub cycle: i32,
        pub unit_id: String,
        /// The event corrected.
        pub event_id: Uuid,
        /// `redate`, `move` or `withdraw`.
        pub action: CorrectionAction,
        /// The event that takes its place (none for a withdrawal).
        pub new_event_id: Option<Uuid>,
        pub reason: String,
        pub recorded_at: DateTimeUtc,
        pub recorded_by: String,
    }

    no_relations!();
}

pub mod final_report {
    use hjul_wheel::Language;
    use sea_orm::entity::prelude::*;

    /// A cycle's final quality report, as the committee read it; never changed.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "final_report")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub cycle: i32,
        pub made_on: Date,
        pub language: Language,
        pub sha256: String,
        pub pdf: Vec<u8>,
        pub markdown: String,
        pub created_at: DateTimeUtc,
        pub created_by: String,
    }

    no_relations!();
}

pub mod data_import {
    use sea_orm::entity::prelude::*;

    /// One measurement file imported: what it brought, when, by whom.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "data_import")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub file: String,
        pub rows: i32,
        /// Values for a unit, measure and period that had none.
        pub new: i32,
        /// Values that superseded one in force.
        pub replaced: i32,
        pub imported_at: DateTimeUtc,
        pub imported_by: String,
    }

    no_relations!();
}

pub mod measurement {
    use sea_orm::entity::prelude::*;

    /// One unit's value of one measure over one period. In force while `replaced_by` is
    /// empty; a later import of the same unit, measure and period supersedes it.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "measurement")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub unit_id: String,
        pub measure: String,
        /// As written: `2024/25`, `2025`, `2025H1`, `2025Q3`.
        pub period: String,
        /// Its first day, to order periods in the database.
        pub period_start: Date,
        pub value: f64,
        pub n: Option<i32>,
        pub source: Option<String>,
        pub import_id: Uuid,
        pub replaced_by: Option<Uuid>,
    }

    no_relations!();
}

/// A setting the secretariat changed on the dashboard (`crate::settings`).
pub mod setting {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "setting")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub name: String,
        pub value: String,
        pub updated_at: DateTimeUtc,
        pub updated_by: String,
    }

    no_relations!();
}

/// A deputy (stedfortræder) for a unit's leader, in force from `starts_on` to `ends_on`
/// (either open) unless ended early (`ended_at`).
pub mod deputy {
    use hjul_wheel::Language;
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "deputy")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub unit_id: String,
        pub email: String,
        pub name: String,
        pub language: Language,
        pub starts_on: Option<Date>,
        pub ends_on: Option<Date>,
        pub named_at: DateTimeUtc,
        pub named_by: String,
        pub ended_at: Option<DateTimeUtc>,
        pub ended_by: Option<String>,
    }

    no_relations!();
}

pub mod read_log {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "read_log")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub at: DateTimeUtc,
        /// Who read, as the audit log names them.
        pub actor: String,
        pub actor_email: Option<String>,
        /// Which kind of view (`unit`, `status`, `export`, …).
        pub view: String,
        pub unit_id: Option<String>,
        /// Whose data it was: the unit's leader when read.
        pub person_email: Option<String>,
        /// The terms of a search or filter, as JSON.
        pub terms: Option<String>,
    }

    no_relations!();
}

pub mod audit_retention {
    use sea_orm::entity::prelude::*;

    /// While a row is here, audit rows older than `before_at` may be deleted (the
    /// retention job's window, opened and closed in its transaction).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_retention")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub before_at: DateTimeUtc,
    }

    no_relations!();
}
