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
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "person")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        #[sea_orm(unique)]
        pub email: String,
        pub name: String,
        pub language: String,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
    }

    no_relations!();
}

pub mod unit {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "unit")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub name: String,
        pub level: i16,
        pub parent_id: Option<String>,
        pub area: String,
        pub leader_id: Uuid,
        pub active: bool,
        pub created_at: DateTimeUtc,
        pub updated_at: DateTimeUtc,
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
        pub started_by: String,
        pub definition_version: String,
        pub definition_toml: String,
        pub catalogue_version: String,
        pub catalogue_toml: String,
    }

    no_relations!();
}

pub mod milestone {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "milestone")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub cycle: i32,
        #[sea_orm(primary_key, auto_increment = false)]
        pub deadline: String,
        pub met_on: Date,
        /// The focus themes in priority order, as a JSON array (themes_published only).
        pub themes: Option<String>,
        pub recorded_at: DateTimeUtc,
        pub recorded_by: String,
    }

    no_relations!();
}

pub mod unit_event {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "unit_event")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub cycle: i32,
        pub unit_id: String,
        pub kind: String,
        pub on: Date,
        pub revision: Option<i32>,
        pub notes: Option<String>,
        pub recorded_at: DateTimeUtc,
        pub recorded_by: String,
        /// The correction that replaced or withdrew this event; it then no longer counts.
        pub superseded_by: Option<Uuid>,
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
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "goal")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub agreement_id: Uuid,
        pub position: i32,
        pub title: String,
        pub dimension: String,
        pub kind: String,
        pub horizon: String,
        pub weight: i32,
        pub indicator: Option<String>,
        pub baseline: String,
        pub partly_met: String,
        pub fully_met: String,
        /// A JSON array of texts.
        pub activities: String,
        pub target_date: Date,
    }

    no_relations!();
}

pub mod grade {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "grade")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub agreement_id: Uuid,
        pub goal_id: Uuid,
        pub grade: String,
        pub note: Option<String>,
        pub given_on: Date,
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

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox_item")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// Unique: `cycle:unit:deadline:moment:party`, or `digest:DATE`, or `dead:ID`.
        #[sea_orm(unique)]
        pub key: String,
        pub cycle: Option<i32>,
        pub unit_id: Option<String>,
        pub deadline: Option<String>,
        /// opened, reminder, overdue, escalation, digest or dead_letter.
        pub kind: String,
        pub days_before: Option<i32>,
        /// Who it is for, relative to the unit (resolved to an address when sent, so a
        /// new leader gets it).
        pub party: String,
        /// The deadline's due date.
        pub due_on: Option<Date>,
        /// When the mail is due.
        pub due_at: DateTimeUtc,
        /// pending, sent, dead, folded (passed during downtime, replaced by a later
        /// moment) or void (the deadline was met before it went).
        pub state: String,
        pub attempts: i32,
        pub next_attempt_at: DateTimeUtc,
        pub last_error: Option<String>,
        /// JSON content for digests and dead-letter notices.
        pub payload: Option<String>,
        pub recipient: Option<String>,
        pub message_id: Option<String>,
        pub sent_at: Option<DateTimeUtc>,
        pub created_at: DateTimeUtc,
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
        pub token_id: Uuid,
        pub csrf: String,
        pub created_at: DateTimeUtc,
        pub last_seen_at: DateTimeUtc,
        pub expires_at: DateTimeUtc,
        pub ended_at: Option<DateTimeUtc>,
    }

    no_relations!();
}

pub mod draft {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "draft")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub unit_id: String,
        /// `agreement` or `midway`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub kind: String,
        pub cycle: i32,
        /// The form as it was, as JSON.
        pub content: String,
        pub updated_at: DateTimeUtc,
        pub updated_by: String,
    }

    no_relations!();
}

pub mod correction {
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
        pub action: String,
        /// The event that takes its place (none for a withdrawal).
        pub new_event_id: Option<Uuid>,
        pub reason: String,
        pub recorded_at: DateTimeUtc,
        pub recorded_by: String,
    }

    no_relations!();
}
