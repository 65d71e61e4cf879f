//! # hjul-wheel: the quality wheel (kvalitetshjulet) as a pure domain
//!
//! Everything hjul knows about the wheel lives here: quarters and cycles, the Danish
//! business-day calendar, the wheel definition (phases, deadlines, reminders) as data,
//! each unit's workflow as a state machine, reminder moments, coherence agreements with
//! their goals and grades, and the indicator catalogue.
//!
//! This crate does no IO, reads no clock and knows no database: every function that needs
//! "today" takes it as an argument, so the scheduler, `hjul simulate` and the tests can
//! move time freely.

pub mod agreement;
pub mod business_days;
pub mod calendar;
pub mod config_error;
pub mod data;
pub mod definition;
pub mod deputy;
pub mod indicators;
pub mod limits;
pub mod mail_plan;
pub mod names;
pub mod org;
pub mod organisation;
pub mod phase;
pub mod plan;
pub mod reminders;
pub mod standing;
pub mod text;
pub mod workflow;

pub use agreement::{
    Agreement, Dimension, Goal, GoalDraft, GoalKind, Grade, GradeDraft, Grading, Horizon, Score,
    TargetDates, Warning, Weight,
};
pub use business_days::{BusinessCalendar, ClosingDay, Closure, Holiday};
pub use calendar::{Cycle, CycleRule, NoCycle, Quarter};
pub use config_error::{ConfigError, Problem};
pub use definition::{
    DeadlineRule, Due, MailTime, Opens, PhaseWindow, ReminderRule, WheelDefinition,
};
pub use indicators::{
    Direction, Indicator, IndicatorCatalogue, IndicatorCode, MeasureUnit, Target,
};
pub use org::{Email, Language, OrgErrors, OrgUnit, Organisation, RowError, UnitId};
pub use organisation::{Area, Level, Party, Recipient, acting_unit, chain};
pub use phase::{Deadline, Milestone, Phase, Task};
pub use plan::Plan;
pub use reminders::{Moment, MomentKind};
pub use standing::{AgreementState, NextDeadline, Standing};
pub use text::{Arg, Catalogue, Text};
pub use workflow::{
    AgreementFacts, CyclePlan, DeadlineState, DeadlineStatus, EventKind, Milestones, Refusal, Step,
    UnitEvent, UnitFacts, days_overdue, next_deadline,
};

/// A calendar date in the municipality's zone.
pub use chrono::NaiveDate as Date;
